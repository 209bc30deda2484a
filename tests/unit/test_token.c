/*
 * Tests of API tokens (auth/token.c): minting and parsing both kinds, the
 * CRC32 checksum that lets a scanner reject look-alikes offline, the keyed
 * hash stored in place of the token (BLAKE2b, and HMAC-SHA256 for older
 * rows), and the pepper file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "auth/auth.h"
#include "auth/token.h"

#define PEPPER_BYTES 32
#define GID_HEX_CHARS 16
#define CHECKSUM_CHARS 6

static const char base62_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const unsigned char pepper_a[PEPPER_BYTES] = "unit-test pepper A, 32 bytes...";
static const unsigned char pepper_b[PEPPER_BYTES] = "unit-test pepper B, 32 bytes...";

static size_t token_length(enum token_kind kind)
{
	const char *prefix = kind == TOKEN_PERSON ? TOKEN_PREFIX_PERSON : TOKEN_PREFIX_SERVICE;

	return strlen(prefix) + GID_HEX_CHARS + TOKEN_SECRET_CHARS + CHECKSUM_CHARS;
}

/*
 * Writes `body` followed by the checksum token.h specifies: CRC32 of the
 * body as 6 base62 digits, most significant first. Lets a test build a
 * token that fails only the check it targets.
 */
static void with_checksum(const char *body, char *out, size_t outlen)
{
	uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)body, (uInt)strlen(body));
	char digits[CHECKSUM_CHARS + 1];

	for (int i = CHECKSUM_CHARS - 1; i >= 0; i--) {
		digits[i] = base62_alphabet[crc % 62];
		crc /= 62;
	}
	digits[CHECKSUM_CHARS] = '\0';
	snprintf(out, outlen, "%s%s", body, digits);
}

static void assert_rejected(const char *text)
{
	enum token_kind kind;
	int64_t gid = 0;

	if (token_parse(text, &kind, &gid) != -1)
		fail_msg("token_parse accepted \"%s\" (gid %" PRId64 ")", text, gid);
}

/* ---------------------------------------------------------------- mint and parse */

static void mint_parse_round_trip(void **state)
{
	const enum token_kind kinds[] = { TOKEN_PERSON, TOKEN_SERVICE_ACCOUNT };
	const int64_t gids[] = { 1, 255, 1234567890123456789LL, INT64_MAX };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (size_t g = 0; g < sizeof(gids) / sizeof(gids[0]); g++) {
			char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], expected_hash[TOKEN_HASH_HEX];
			char gid_hex[GID_HEX_CHARS + 1];
			const char *prefix = kinds[k] == TOKEN_PERSON ? TOKEN_PREFIX_PERSON : TOKEN_PREFIX_SERVICE;
			enum token_kind kind;
			int64_t gid = 0;

			token_mint(kinds[k], gids[g], pepper_a, token, hash);

			assert_int_equal(strlen(token), token_length(kinds[k]));
			assert_memory_equal(token, prefix, strlen(prefix));
			snprintf(gid_hex, sizeof(gid_hex), "%016" PRIx64, (uint64_t)gids[g]);
			assert_memory_equal(token + strlen(prefix), gid_hex, GID_HEX_CHARS);
			for (size_t i = strlen(prefix) + GID_HEX_CHARS; token[i]; i++)
				assert_non_null(strchr(base62_alphabet, token[i]));

			assert_int_equal(token_parse(token, &kind, &gid), 0);
			assert_int_equal(kind, kinds[k]);
			assert_int_equal(gid, gids[g]);

			token_hash(token, pepper_a, expected_hash);
			assert_string_equal(hash, expected_hash);
		}
	}
}

/* Two tokens for the same gid differ in their secret. */
static void mint_secrets_differ(void **state)
{
	char first[TOKEN_MAX], second[TOKEN_MAX], hash[TOKEN_HASH_HEX];

	(void)state;
	token_mint(TOKEN_PERSON, 77, pepper_a, first, hash);
	token_mint(TOKEN_PERSON, 77, pepper_a, second, hash);
	assert_string_not_equal(first, second);
}

/* CRC32 catches every error confined to 32 bits, so any one-character change must fail. */
static void parse_rejects_any_one_char_change(void **state)
{
	const enum token_kind kinds[] = { TOKEN_PERSON, TOKEN_SERVICE_ACCOUNT };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		char token[TOKEN_MAX], hash[TOKEN_HASH_HEX];
		size_t len;

		token_mint(kinds[k], 123456789, pepper_a, token, hash);
		len = strlen(token);
		for (size_t i = 0; i < len; i++) {
			char original = token[i];

			for (int c = 1; c < 256; c++) {
				enum token_kind kind;
				int64_t gid;

				if (c == (unsigned char)original)
					continue;
				token[i] = (char)c;
				if (token_parse(token, &kind, &gid) != -1)
					fail_msg("token_parse accepted %s with byte %zu changed to 0x%02x", token, i, c);
			}
			token[i] = original;
		}
	}
}

static void parse_rejects_wrong_prefix(void **state)
{
	const char *prefixes[] = { "kontor_xx_", "Kontor_pat_", "kontor_PAT_", "kontor-pat-", "kontor_pa_", "ghp_", "" };
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX];
	const char *rest;

	(void)state;
	token_mint(TOKEN_PERSON, 42, pepper_a, token, hash);
	rest = token + strlen(TOKEN_PREFIX_PERSON);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char body[TOKEN_MAX + 16], forged[TOKEN_MAX + 32];

		/* A valid checksum over the wrong prefix, so only the prefix check can reject it. */
		snprintf(body, sizeof(body), "%s%.*s", prefixes[i], GID_HEX_CHARS + TOKEN_SECRET_CHARS, rest);
		with_checksum(body, forged, sizeof(forged));
		assert_rejected(forged);
	}
}

/* A person's gid and secret under the service prefix: valid length and checksum only if recomputed. */
static void parse_kind_follows_prefix(void **state)
{
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX];
	char body[TOKEN_MAX], forged[TOKEN_MAX];
	enum token_kind kind;
	int64_t gid = 0;

	(void)state;
	token_mint(TOKEN_PERSON, 42, pepper_a, token, hash);
	snprintf(body, sizeof(body), "%s%.*s", TOKEN_PREFIX_SERVICE, GID_HEX_CHARS + TOKEN_SECRET_CHARS,
		 token + strlen(TOKEN_PREFIX_PERSON));
	with_checksum(body, forged, sizeof(forged));
	assert_int_equal(token_parse(forged, &kind, &gid), 0);
	assert_int_equal(kind, TOKEN_SERVICE_ACCOUNT);
	assert_int_equal(gid, 42);

	/* Without recomputing the checksum the swapped prefix fails. */
	snprintf(forged, sizeof(forged), "%s%s", TOKEN_PREFIX_SERVICE, token + strlen(TOKEN_PREFIX_PERSON));
	assert_rejected(forged);
}

/* The checksum helper reproduces a minted token, so the forged tokens above are fair. */
static void checksum_helper_matches_mint(void **state)
{
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], body[TOKEN_MAX], rebuilt[TOKEN_MAX];

	(void)state;
	token_mint(TOKEN_SERVICE_ACCOUNT, 987654321, pepper_a, token, hash);
	snprintf(body, sizeof(body), "%.*s", (int)(strlen(token) - CHECKSUM_CHARS), token);
	with_checksum(body, rebuilt, sizeof(rebuilt));
	assert_string_equal(rebuilt, token);
}

static void parse_rejects_wrong_length(void **state)
{
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], body[TOKEN_MAX + 8], forged[TOKEN_MAX + 16];
	size_t body_len;

	(void)state;
	token_mint(TOKEN_PERSON, 42, pepper_a, token, hash);
	body_len = strlen(token) - CHECKSUM_CHARS;

	/* One character short and one too many, each with a correct checksum. */
	snprintf(body, sizeof(body), "%.*s", (int)(body_len - 1), token);
	with_checksum(body, forged, sizeof(forged));
	assert_rejected(forged);
	snprintf(body, sizeof(body), "%.*sA", (int)body_len, token);
	with_checksum(body, forged, sizeof(forged));
	assert_rejected(forged);

	/* Truncated and extended copies of a real token. */
	snprintf(forged, sizeof(forged), "%.*s", (int)(strlen(token) - 1), token);
	assert_rejected(forged);
	snprintf(forged, sizeof(forged), "%sA", token);
	assert_rejected(forged);
	snprintf(forged, sizeof(forged), "%s ", token);
	assert_rejected(forged);
	assert_rejected("");
	assert_rejected(TOKEN_PREFIX_PERSON);
	assert_rejected(TOKEN_PREFIX_SERVICE);
}

/* Characters outside the alphabets, each under a correct checksum. */
static void parse_rejects_bad_alphabet(void **state)
{
	const char bad_secret_chars[] = { '-', '_', '+', '/', '=', ' ', '.', '~', '\x80', '\xff' };
	const char bad_hex_chars[] = { 'A', 'F', 'g', 'x', ' ', '-' };
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], body[TOKEN_MAX], forged[TOKEN_MAX];
	size_t prefix_len = strlen(TOKEN_PREFIX_PERSON);
	size_t body_len;

	(void)state;
	token_mint(TOKEN_PERSON, 0xabcdef, pepper_a, token, hash);
	body_len = strlen(token) - CHECKSUM_CHARS;

	for (size_t i = 0; i < sizeof(bad_secret_chars); i++) {
		snprintf(body, sizeof(body), "%.*s", (int)body_len, token);
		body[prefix_len + GID_HEX_CHARS + 5] = bad_secret_chars[i];
		with_checksum(body, forged, sizeof(forged));
		assert_rejected(forged);
	}

	/* The gid is lowercase hex only, so an uppercase digit makes a different token. */
	for (size_t i = 0; i < sizeof(bad_hex_chars); i++) {
		snprintf(body, sizeof(body), "%.*s", (int)body_len, token);
		body[prefix_len + GID_HEX_CHARS - 1] = bad_hex_chars[i];
		with_checksum(body, forged, sizeof(forged));
		assert_rejected(forged);
	}

	/* A checksum character outside base62. */
	snprintf(forged, sizeof(forged), "%s", token);
	forged[strlen(forged) - 1] = '-';
	assert_rejected(forged);
}

/* gid 0 and gids above INT64_MAX are not token gids, even with a valid checksum. */
static void parse_rejects_out_of_range_gid(void **state)
{
	const char *gid_hex[] = { "0000000000000000", "8000000000000000", "ffffffffffffffff" };
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], body[TOKEN_MAX], forged[TOKEN_MAX];
	size_t prefix_len = strlen(TOKEN_PREFIX_PERSON);

	(void)state;
	token_mint(TOKEN_PERSON, 1, pepper_a, token, hash);
	for (size_t i = 0; i < sizeof(gid_hex) / sizeof(gid_hex[0]); i++) {
		snprintf(body, sizeof(body), "%s%s%.*s", TOKEN_PREFIX_PERSON, gid_hex[i], TOKEN_SECRET_CHARS,
			 token + prefix_len + GID_HEX_CHARS);
		with_checksum(body, forged, sizeof(forged));
		assert_rejected(forged);
	}
}

/* ---------------------------------------------------------------- hash */

static int is_lower_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void hash_depends_on_pepper(void **state)
{
	char token[TOKEN_MAX], minted_hash[TOKEN_HASH_HEX];
	char a1[TOKEN_HASH_HEX], a2[TOKEN_HASH_HEX], b[TOKEN_HASH_HEX];

	(void)state;
	token_mint(TOKEN_PERSON, 99, pepper_a, token, minted_hash);
	token_hash(token, pepper_a, a1);
	token_hash(token, pepper_a, a2);
	token_hash(token, pepper_b, b);

	assert_int_equal(strlen(a1), TOKEN_HASH_HEX - 1);
	assert_memory_equal(a1, TOKEN_HASH_PREFIX, strlen(TOKEN_HASH_PREFIX));
	assert_true(is_lower_hex(a1 + strlen(TOKEN_HASH_PREFIX)));
	assert_string_equal(a1, a2);
	assert_string_equal(a1, minted_hash);
	assert_string_not_equal(a1, b);
}

/* The earlier scheme is HMAC-SHA256: RFC 4231 test case 2, key "Jefe" padded with zeros to 32 bytes. */
static void legacy_hash_is_hmac_sha256(void **state)
{
	unsigned char key[PEPPER_BYTES] = "Jefe";
	char hash[TOKEN_HASH_HEX];

	(void)state;
	token_hash_legacy("what do ya want for nothing?", key, hash);
	assert_string_equal(hash, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* The current scheme is BLAKE2b-256 keyed with the pepper, as libsodium's one-shot call computes it. */
static void hash_is_keyed_blake2b(void **state)
{
	const char *text = "kontor_pat_00000000000000070123456789abcdefghijABCDEFGHIJ012345";
	unsigned char mac[32];
	char expected[TOKEN_HASH_HEX], hash[TOKEN_HASH_HEX];

	(void)state;
	crypto_generichash(mac, sizeof(mac), (const unsigned char *)text, strlen(text), pepper_a, PEPPER_BYTES);
	memcpy(expected, TOKEN_HASH_PREFIX, strlen(TOKEN_HASH_PREFIX));
	sodium_bin2hex(expected + strlen(TOKEN_HASH_PREFIX), sizeof(expected) - strlen(TOKEN_HASH_PREFIX), mac,
		       sizeof(mac));
	token_hash(text, pepper_a, hash);
	assert_string_equal(hash, expected);
	/* The state cached per thread follows a change of pepper. */
	token_hash(text, pepper_b, hash);
	assert_string_not_equal(hash, expected);
	token_hash(text, pepper_a, hash);
	assert_string_equal(hash, expected);
}

/* A stored hash of either scheme verifies; only the earlier one asks to be replaced. */
/* One request per interval records a token's use, and a token sharing its slot never loses its turn. */
static void last_use_claimed_once(void **state)
{
	const int64_t now = INT64_C(1796000000) * 1000000, gid = 916785610130194432;
	int64_t other = gid + 1;

	(void)state;
	assert_int_equal(auth_last_use_claim(gid, now), 1);
	assert_int_equal(auth_last_use_claim(gid, now), 0);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US - 1000000), 0);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US), 1);

	/* Find another gid in the same slot: the slot index is the top 10 bits of the product. */
	while (((uint64_t)other * UINT64_C(0x9E3779B97F4A7C15)) >> 54 !=
	       ((uint64_t)gid * UINT64_C(0x9E3779B97F4A7C15)) >> 54)
		other++;
	assert_int_equal(auth_last_use_claim(other, now + AUTH_LAST_USED_INTERVAL_US), 1);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US), 1);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US), 0);

	/* A claim whose update failed is given back: the next request claims again. */
	auth_last_use_release(gid, now + AUTH_LAST_USED_INTERVAL_US);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US + 1000000), 1);
	/* Giving back an older claim leaves the newer one. */
	auth_last_use_release(gid, now + AUTH_LAST_USED_INTERVAL_US);
	assert_int_equal(auth_last_use_claim(gid, now + AUTH_LAST_USED_INTERVAL_US + 2000000), 0);
}

static void verify_both_schemes(void **state)
{
	char token[TOKEN_MAX], current[TOKEN_HASH_HEX], legacy_hash[TOKEN_HASH_HEX], mixed[TOKEN_HASH_HEX + 8];
	int legacy = -1;

	(void)state;
	token_mint(TOKEN_SERVICE_ACCOUNT, 77, pepper_a, token, current);
	token_hash_legacy(token, pepper_a, legacy_hash);

	assert_int_equal(token_verify(token, pepper_a, current, &legacy), 1);
	assert_int_equal(legacy, 0);
	assert_int_equal(token_verify(token, pepper_a, legacy_hash, &legacy), 1);
	assert_int_equal(legacy, 1);

	/* Another pepper, another token, or a hash of one scheme labelled as the other never verifies. */
	assert_int_equal(token_verify(token, pepper_b, current, &legacy), 0);
	assert_int_equal(token_verify(token, pepper_b, legacy_hash, &legacy), 0);
	token[strlen(token) - 7] = token[strlen(token) - 7] == 'a' ? 'b' : 'a';
	assert_int_equal(token_verify(token, pepper_a, current, &legacy), 0);
	token_mint(TOKEN_SERVICE_ACCOUNT, 77, pepper_a, token, current);
	snprintf(mixed, sizeof(mixed), "%s%s", TOKEN_HASH_PREFIX, legacy_hash);
	assert_int_equal(token_verify(token, pepper_a, mixed, &legacy), 0);
	assert_int_equal(token_verify(token, pepper_a, current + strlen(TOKEN_HASH_PREFIX), &legacy), 0);
	assert_int_equal(token_verify(token, pepper_a, "", &legacy), 0);
	assert_int_equal(token_verify(token, pepper_a, TOKEN_HASH_PREFIX, &legacy), 0);
}

static void hash_equal_cases(void **state)
{
	char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], copy[TOKEN_HASH_HEX], other[TOKEN_HASH_HEX];

	(void)state;
	token_mint(TOKEN_PERSON, 5, pepper_a, token, hash);
	memcpy(copy, hash, sizeof(copy));
	token_hash(token, pepper_b, other);

	assert_int_equal(token_hash_equal(hash, copy), 1);
	assert_int_equal(token_hash_equal(hash, other), 0);

	copy[TOKEN_HASH_HEX - 2] = copy[TOKEN_HASH_HEX - 2] == '0' ? '1' : '0';
	assert_int_equal(token_hash_equal(hash, copy), 0);
	copy[TOKEN_HASH_HEX - 2] = hash[TOKEN_HASH_HEX - 2];
	copy[0] = copy[0] == '0' ? '1' : '0';
	assert_int_equal(token_hash_equal(hash, copy), 0);

	/* Only full-length hashes compare equal, so a truncated stored value never matches. */
	assert_int_equal(token_hash_equal("", ""), 0);
	assert_int_equal(token_hash_equal("abc", "abc"), 0);
	memcpy(copy, hash, sizeof(copy));
	copy[10] = '\0';
	assert_int_equal(token_hash_equal(copy, copy), 0);
	assert_int_equal(token_hash_equal(hash, copy), 0);
}

/* ---------------------------------------------------------------- pepper file */

struct pepper_dir {
	char dir[64];
	char path[128];
};

static int pepper_setup(void **state)
{
	struct pepper_dir *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	snprintf(p->dir, sizeof(p->dir), "/tmp/kontor-token-test.XXXXXX");
	if (mkdtemp(p->dir) == NULL) {
		free(p);
		return -1;
	}
	snprintf(p->path, sizeof(p->path), "%s/pepper", p->dir);
	*state = p;
	return 0;
}

static int pepper_teardown(void **state)
{
	struct pepper_dir *p = *state;

	unlink(p->path);
	rmdir(p->dir);
	free(p);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void pepper_created_and_reloaded(void **state)
{
	struct pepper_dir *p = *state;
	unsigned char created[PEPPER_BYTES], reloaded[PEPPER_BYTES];
	unsigned char zero[PEPPER_BYTES] = { 0 };
	char err[256] = "";
	struct stat st;
	mode_t old_mask = umask(022);

	assert_int_equal(token_pepper_load(p->path, 1, created, err, sizeof(err)), 0);
	umask(old_mask);
	assert_int_equal(stat(p->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, PEPPER_BYTES);
	assert_memory_not_equal(created, zero, PEPPER_BYTES);

	assert_int_equal(token_pepper_load(p->path, 0, reloaded, err, sizeof(err)), 0);
	assert_memory_equal(created, reloaded, PEPPER_BYTES);

	/* Loading with create set must not replace an existing pepper. */
	assert_int_equal(token_pepper_load(p->path, 1, reloaded, err, sizeof(err)), 0);
	assert_memory_equal(created, reloaded, PEPPER_BYTES);
}

/* A token minted with the created pepper verifies with the reloaded one. */
static void pepper_reload_verifies_token(void **state)
{
	struct pepper_dir *p = *state;
	unsigned char created[PEPPER_BYTES], reloaded[PEPPER_BYTES];
	char token[TOKEN_MAX], stored[TOKEN_HASH_HEX], presented[TOKEN_HASH_HEX];
	char err[256] = "";

	assert_int_equal(token_pepper_load(p->path, 1, created, err, sizeof(err)), 0);
	token_mint(TOKEN_SERVICE_ACCOUNT, 31337, created, token, stored);
	assert_int_equal(token_pepper_load(p->path, 0, reloaded, err, sizeof(err)), 0);
	token_hash(token, reloaded, presented);
	assert_int_equal(token_hash_equal(stored, presented), 1);
}

static void pepper_missing_without_create(void **state)
{
	struct pepper_dir *p = *state;
	unsigned char pepper[PEPPER_BYTES];
	char err[256] = "";

	assert_int_equal(token_pepper_load(p->path, 0, pepper, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p->path));
	assert_int_equal(access(p->path, F_OK), -1);
}

static void pepper_short_file_rejected(void **state)
{
	struct pepper_dir *p = *state;
	unsigned char pepper[PEPPER_BYTES];
	char err[256] = "";

	write_file(p->path, "only sixteen byt", 16);
	assert_int_equal(token_pepper_load(p->path, 1, pepper, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p->path));

	/* create must not overwrite a damaged file either: the old tokens would all stop working. */
	{
		struct stat st;

		assert_int_equal(stat(p->path, &st), 0);
		assert_int_equal(st.st_size, 16);
	}

	write_file(p->path, "", 0);
	err[0] = '\0';
	assert_int_equal(token_pepper_load(p->path, 0, pepper, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

static void pepper_unreadable_dir_rejected(void **state)
{
	unsigned char pepper[PEPPER_BYTES];
	char err[256] = "";

	(void)state;
	assert_int_equal(token_pepper_load("/nonexistent-kontor-dir/pepper", 1, pepper, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-kontor-dir/pepper"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mint_parse_round_trip),
		cmocka_unit_test(mint_secrets_differ),
		cmocka_unit_test(checksum_helper_matches_mint),
		cmocka_unit_test(parse_rejects_any_one_char_change),
		cmocka_unit_test(parse_rejects_wrong_prefix),
		cmocka_unit_test(parse_kind_follows_prefix),
		cmocka_unit_test(parse_rejects_wrong_length),
		cmocka_unit_test(parse_rejects_bad_alphabet),
		cmocka_unit_test(parse_rejects_out_of_range_gid),
		cmocka_unit_test(hash_depends_on_pepper),
		cmocka_unit_test(legacy_hash_is_hmac_sha256),
		cmocka_unit_test(hash_is_keyed_blake2b),
		cmocka_unit_test(verify_both_schemes),
		cmocka_unit_test(last_use_claimed_once),
		cmocka_unit_test(hash_equal_cases),
		cmocka_unit_test_setup_teardown(pepper_created_and_reloaded, pepper_setup, pepper_teardown),
		cmocka_unit_test_setup_teardown(pepper_reload_verifies_token, pepper_setup, pepper_teardown),
		cmocka_unit_test_setup_teardown(pepper_missing_without_create, pepper_setup, pepper_teardown),
		cmocka_unit_test_setup_teardown(pepper_short_file_rejected, pepper_setup, pepper_teardown),
		cmocka_unit_test(pepper_unreadable_dir_rejected),
	};

	if (sodium_init() < 0) {
		fprintf(stderr, "test_token: sodium_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
