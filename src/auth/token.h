/*
 * API tokens. Format, fixed length so secret scanners can match it:
 *
 *   kontor_pat_<16 hex: token gid><32 base62: secret><6 base62: CRC32>   (people)
 *   kontor_sa_<16 hex: token gid><32 base62: secret><6 base62: CRC32>    (service accounts)
 *
 * The CRC32 covers everything before it, so a scanner can tell a real token
 * from a look-alike offline. Scanner regex:
 *   \bkontor_(pat|sa)_[0-9a-f]{16}[0-9A-Za-z]{38}\b
 * The database keeps only HMAC-SHA256(pepper, token) in hex; the pepper
 * lives outside the database.
 */
#ifndef KONTOR_AUTH_TOKEN_H
#define KONTOR_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX_PERSON "kontor_pat_"
#define TOKEN_PREFIX_SERVICE "kontor_sa_"
#define TOKEN_SECRET_CHARS 32
#define TOKEN_MAX 80         /* longest token plus NUL */
#define TOKEN_HASH_HEX 65    /* 64 hex digits and a NUL */

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

/* Computes the stored hash of a token string. */
void token_hash(const char *text, const unsigned char *pepper, char *hash_hex);

/* Compares two hex hashes in constant time; returns 1 when equal. */
int token_hash_equal(const char *a, const char *b);

/*
 * Loads the pepper from `path`, creating the file (mode 0600, 32 random
 * bytes) when it does not exist and `create` is set. Returns 0 or -1 with a
 * message in err.
 */
int token_pepper_load(const char *path, int create, unsigned char *pepper, char *err, size_t errlen);

#endif
