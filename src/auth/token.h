/*
 * API tokens. Format, fixed length so secret scanners can match it:
 *
 *   kontor_pat_<16 hex: token gid><32 base62: secret><6 base62: CRC32>   (people)
 *   kontor_sa_<16 hex: token gid><32 base62: secret><6 base62: CRC32>    (service accounts)
 *
 * The CRC32 covers everything before it, so a scanner can tell a real token
 * from a look-alike offline. Scanner regex:
 *   \bkontor_(pat|sa)_[0-9a-f]{16}[0-9A-Za-z]{38}\b
 * The database keeps only a keyed hash of the token: "b2:" and the hex of
 * BLAKE2b-256 keyed with the pepper. Tokens stored before that scheme keep
 * the hex of HMAC-SHA256(pepper, token) until their next use, which
 * replaces it (auth.c). The pepper lives outside the database.
 */
#ifndef KONTOR_AUTH_TOKEN_H
#define KONTOR_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX_PERSON "kontor_pat_"
#define TOKEN_PREFIX_SERVICE "kontor_sa_"
#define TOKEN_SECRET_CHARS 32
#define TOKEN_MAX 80         /* longest token plus NUL */
#define TOKEN_HASH_PREFIX "b2:"
#define TOKEN_HASH_HEX 68    /* the longest stored hash ("b2:" and 64 hex digits) and a NUL */

enum token_kind { TOKEN_PERSON, TOKEN_SERVICE_ACCOUNT };

/*
 * Mints a new token string for token gid `gid` into `out` (TOKEN_MAX
 * bytes) and its hash into `hash_hex` (TOKEN_HASH_HEX bytes).
 */
void token_mint(enum token_kind kind, int64_t gid, const unsigned char *pepper, char *out, char *hash_hex);

/*
 * Parses a token string: checks prefix, length, alphabet and checksum.
 * Returns 0 with the kind and gid, or -1 if it is not a well-formed token.
 */
int token_parse(const char *text, enum token_kind *kind_r, int64_t *gid_r);

/* Computes the stored hash of a token string (TOKEN_HASH_HEX bytes). */
void token_hash(const char *text, const unsigned char *pepper, char *hash_hex);
/* Computes the hash of the earlier scheme, HMAC-SHA256 in hex, which older rows still hold. */
void token_hash_legacy(const char *text, const unsigned char *pepper, char *hash_hex);

/*
 * Compares two stored hashes in constant time; returns 1 when equal. Only
 * complete hashes of either scheme can be equal, so a truncated or empty
 * stored value never matches.
 */
int token_hash_equal(const char *a, const char *b);

/*
 * Checks a presented token against its stored hash, in the stored hash's
 * scheme. Returns 1 when they match; *legacy_r tells whether the stored
 * hash is of the earlier scheme and should be replaced.
 */
int token_verify(const char *text, const unsigned char *pepper, const char *stored, int *legacy_r);

/*
 * Loads the pepper from `path`, creating the file (mode 0600, 32 random
 * bytes) when it does not exist and `create` is set. Returns 0 or -1 with a
 * message in err.
 */
int token_pepper_load(const char *path, int create, unsigned char *pepper, char *err, size_t errlen);

#endif
