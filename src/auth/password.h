/*
 * Passwords for the admin console: Argon2id hashes in libsodium's string
 * format, verified with a bounded number of hashes running at once, since
 * each one takes crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB) of memory.
 */
#ifndef KONTOR_AUTH_PASSWORD_H
#define KONTOR_AUTH_PASSWORD_H

#include <sodium.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES /* bytes of a hash string, NUL included */
#define PASSWORD_BYTES_MAX 1024                  /* maximum password length, in bytes */
#define PASSWORD_CONCURRENT_MAX 4                /* Argon2id computations at one time in a process */

/*
 * Hashes `password` with Argon2id at libsodium's interactive limits into
 * `out` (PASSWORD_HASH_MAX bytes). Returns 0, or -1 when out of memory.
 */
int password_hash(const char *password, size_t len, char *out);

/*
 * Verifies `password` against `hash`. A NULL `hash` (no such user, or no
 * password set) verifies against a fixed dummy hash of the same cost and
 * returns 0, so the time taken does not show whether the account exists.
 * Returns 1 on a match, 0 otherwise.
 */
int password_verify(const char *hash, const char *password, size_t len);

/* Returns 1 when `hash` was made with other limits than password_hash uses now. */
int password_needs_rehash(const char *hash);

#endif
