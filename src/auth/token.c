/* Token minting, parsing and hashing; the format is described in token.h. */
#include "auth/token.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void encode_crc(uint32_t crc, char *out)
{
	for (int i = 5; i >= 0; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
}

/*
 * The HMAC state after absorbing the key depends on the pepper alone, which
 * never changes while the process runs, so each thread derives it once and
 * copies it for every token: that saves the two SHA-256 blocks that absorb
 * the key on every authenticated request. The cache is keyed by
 * the pepper's bytes, so a caller with another pepper gets its own state.
 * It holds nothing a request could change: no token, user or decision.
 */
struct keyed_hmac {
	unsigned char pepper[crypto_auth_hmacsha256_KEYBYTES];
	crypto_auth_hmacsha256_state state;
	int ready;
};

static _Thread_local struct keyed_hmac keyed;

void token_hash(const char *text, const unsigned char *pepper, char *hash_hex)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state state;

	/* Both sides are the server's own key, so a plain comparison leaks nothing to a client. */
	if (!keyed.ready || memcmp(keyed.pepper, pepper, sizeof(keyed.pepper)) != 0) {
		crypto_auth_hmacsha256_init(&keyed.state, pepper, crypto_auth_hmacsha256_KEYBYTES);
		memcpy(keyed.pepper, pepper, sizeof(keyed.pepper));
		keyed.ready = 1;
	}
	state = keyed.state;
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)text, strlen(text));
	crypto_auth_hmacsha256_final(&state, mac);
	sodium_bin2hex(hash_hex, TOKEN_HASH_HEX, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(&state, sizeof(state));
}

void token_mint(enum token_kind kind, int64_t gid, const unsigned char *pepper, char *out, char *hash_hex)
{
	const char *prefix = kind == TOKEN_PERSON ? TOKEN_PREFIX_PERSON : TOKEN_PREFIX_SERVICE;
	size_t len;
	uint32_t crc;

	len = (size_t)snprintf(out, TOKEN_MAX, "%s%016" PRIx64, prefix, (uint64_t)gid);
	/* Rejection sampling keeps every base62 character uniformly likely. */
	for (int i = 0; i < TOKEN_SECRET_CHARS;) {
		unsigned char byte;

		randombytes_buf(&byte, 1);
		if (byte >= 248)
			continue;
		out[len++] = base62[byte % 62];
		i++;
	}
	crc = (uint32_t)crc32(0L, (const Bytef *)out, (uInt)len);
	encode_crc(crc, out + len);
	out[len + 6] = '\0';
	token_hash(out, pepper, hash_hex);
}

int token_parse(const char *text, enum token_kind *kind_r, int64_t *gid_r)
{
	size_t prefix_len, len;
	uint64_t gid = 0;
	char expected[6];
	const char *p;

	if (strncmp(text, TOKEN_PREFIX_PERSON, strlen(TOKEN_PREFIX_PERSON)) == 0) {
		*kind_r = TOKEN_PERSON;
		prefix_len = strlen(TOKEN_PREFIX_PERSON);
	} else if (strncmp(text, TOKEN_PREFIX_SERVICE, strlen(TOKEN_PREFIX_SERVICE)) == 0) {
		*kind_r = TOKEN_SERVICE_ACCOUNT;
		prefix_len = strlen(TOKEN_PREFIX_SERVICE);
	} else {
		return -1;
	}
	len = strlen(text);
	if (len != prefix_len + 16 + TOKEN_SECRET_CHARS + 6)
		return -1;
	p = text + prefix_len;
	for (int i = 0; i < 16; i++) {
		char c = p[i];
		int digit;

		if (c >= '0' && c <= '9')
			digit = c - '0';
		else if (c >= 'a' && c <= 'f')
			digit = c - 'a' + 10;
		else
			return -1;
		gid = gid * 16 + (uint64_t)digit;
	}
	for (size_t i = prefix_len + 16; i < len; i++)
		if (strchr(base62, text[i]) == NULL || text[i] == '\0')
			return -1;
	encode_crc((uint32_t)crc32(0L, (const Bytef *)text, (uInt)(len - 6)), expected);
	if (memcmp(expected, text + len - 6, 6) != 0)
		return -1;
	if (gid == 0 || gid > INT64_MAX)
		return -1;
	*gid_r = (int64_t)gid;
	return 0;
}

int token_hash_equal(const char *a, const char *b)
{
	if (strlen(a) != TOKEN_HASH_HEX - 1 || strlen(b) != TOKEN_HASH_HEX - 1)
		return 0;
	return sodium_memcmp(a, b, TOKEN_HASH_HEX - 1) == 0;
}

int token_pepper_load(const char *path, int create, unsigned char *pepper, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0 && errno == ENOENT && create) {
		unsigned char fresh[crypto_auth_hmacsha256_KEYBYTES];

		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "cannot create pepper file %s: %s", path, strerror(errno));
			return -1;
		}
		randombytes_buf(fresh, sizeof(fresh));
		if (write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) || fsync(fd) != 0) {
			snprintf(err, errlen, "cannot write pepper file %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		close(fd);
		memcpy(pepper, fresh, sizeof(fresh));
		sodium_memzero(fresh, sizeof(fresh));
		return 0;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open pepper file %s: %s", path, strerror(errno));
		return -1;
	}
	got = read(fd, pepper, crypto_auth_hmacsha256_KEYBYTES);
	close(fd);
	if (got != crypto_auth_hmacsha256_KEYBYTES) {
		snprintf(err, errlen, "pepper file %s is damaged: expected %d bytes", path,
			 crypto_auth_hmacsha256_KEYBYTES);
		return -1;
	}
	return 0;
}
