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

static int is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void encode_crc(uint32_t crc, char *out)
{
	for (int i = 5; i >= 0; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
}

/*
 * The hash state after absorbing the key depends on the pepper alone, which
 * never changes while the process runs, so each thread derives it once and
 * copies it for every token: for BLAKE2b that saves one of the two
 * compressions per token, for HMAC-SHA256 two of five. The cache is keyed
 * by the pepper's bytes, so a caller with another pepper gets its own
 * state. It holds nothing a request could change: no token, user or
 * decision.
 */
struct keyed_states {
	unsigned char pepper[crypto_auth_hmacsha256_KEYBYTES];
	crypto_generichash_blake2b_state blake2b;
	crypto_auth_hmacsha256_state hmac;
	int ready;
};

static _Thread_local struct keyed_states keyed;

static void keyed_prepare(const unsigned char *pepper)
{
	/* Both sides are the server's own key, so a plain comparison leaks nothing to a client. */
	if (keyed.ready && memcmp(keyed.pepper, pepper, sizeof(keyed.pepper)) == 0)
		return;
	crypto_generichash_blake2b_init(&keyed.blake2b, pepper, crypto_auth_hmacsha256_KEYBYTES,
					crypto_generichash_blake2b_BYTES);
	crypto_auth_hmacsha256_init(&keyed.hmac, pepper, crypto_auth_hmacsha256_KEYBYTES);
	memcpy(keyed.pepper, pepper, sizeof(keyed.pepper));
	keyed.ready = 1;
}

/*
 * BLAKE2b rather than HMAC-SHA256: a token fits one BLAKE2b block, and
 * libsodium's BLAKE2b uses the CPU's vector units. Checking a token took
 * about a quarter of the instructions of the HMAC-SHA256 check (callgrind,
 * libsodium 1.0.18 on x86-64).
 */
void token_hash(const char *text, const unsigned char *pepper, char *hash_hex)
{
	unsigned char mac[crypto_generichash_blake2b_BYTES];
	crypto_generichash_blake2b_state state;

	keyed_prepare(pepper);
	state = keyed.blake2b;
	crypto_generichash_blake2b_update(&state, (const unsigned char *)text, strlen(text));
	crypto_generichash_blake2b_final(&state, mac, sizeof(mac));
	memcpy(hash_hex, TOKEN_HASH_PREFIX, strlen(TOKEN_HASH_PREFIX));
	sodium_bin2hex(hash_hex + strlen(TOKEN_HASH_PREFIX), TOKEN_HASH_HEX - strlen(TOKEN_HASH_PREFIX), mac,
		       sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(&state, sizeof(state));
}

void token_hash_legacy(const char *text, const unsigned char *pepper, char *hash_hex)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state state;

	keyed_prepare(pepper);
	state = keyed.hmac;
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
		if (!is_base62(text[i]))
			return -1;
	encode_crc((uint32_t)crc32(0L, (const Bytef *)text, (uInt)(len - 6)), expected);
	if (memcmp(expected, text + len - 6, 6) != 0)
		return -1;
	if (gid == 0 || gid > INT64_MAX)
		return -1;
	*gid_r = (int64_t)gid;
	return 0;
}

/* The length of a complete stored hash of either scheme, or 0 for anything else. */
static size_t stored_hash_length(const char *hash)
{
	size_t len = strlen(hash);

	if (len == TOKEN_HASH_HEX - 1 && strncmp(hash, TOKEN_HASH_PREFIX, strlen(TOKEN_HASH_PREFIX)) == 0)
		return len;
	if (len == TOKEN_HASH_HEX - 1 - strlen(TOKEN_HASH_PREFIX) && strchr(hash, ':') == NULL)
		return len;
	return 0;
}

int token_hash_equal(const char *a, const char *b)
{
	size_t len = stored_hash_length(a);

	if (len == 0 || stored_hash_length(b) != len)
		return 0;
	return sodium_memcmp(a, b, len) == 0;
}

int token_verify(const char *text, const unsigned char *pepper, const char *stored, int *legacy_r)
{
	char presented[TOKEN_HASH_HEX];
	int ok;

	*legacy_r = strncmp(stored, TOKEN_HASH_PREFIX, strlen(TOKEN_HASH_PREFIX)) != 0;
	if (*legacy_r)
		token_hash_legacy(text, pepper, presented);
	else
		token_hash(text, pepper, presented);
	ok = token_hash_equal(presented, stored);
	sodium_memzero(presented, sizeof(presented));
	return ok;
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
