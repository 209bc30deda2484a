/*
 * Argon2id password hashing and verification for admin-console sign-in.
 * Hashes use libsodium's interactive limits, the same ones `kontor init`
 * and `kontor user set-password` use, so a verification costs about as much
 * as the hash that created it.
 */
#include "auth/password.h"

#include <pthread.h>
#include <string.h>

#define OPS_LIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM_LIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_free = PTHREAD_COND_INITIALIZER;
static int slots_used;

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_MAX];

/*
 * Waits for one of PASSWORD_CONCURRENT_MAX slots. A burst of sign-ins then
 * queues instead of allocating 64 MiB per request at once.
 */
static void slot_take(void)
{
	pthread_mutex_lock(&slots_lock);
	while (slots_used >= PASSWORD_CONCURRENT_MAX)
		pthread_cond_wait(&slots_free, &slots_lock);
	slots_used++;
	pthread_mutex_unlock(&slots_lock);
}

static void slot_give(void)
{
	pthread_mutex_lock(&slots_lock);
	slots_used--;
	pthread_cond_signal(&slots_free);
	pthread_mutex_unlock(&slots_lock);
}

/* Hashes a random password that no account has, once per process, at the cost of real hashes. */
static void dummy_init(void)
{
	unsigned char secret[32];

	randombytes_buf(secret, sizeof(secret));
	if (crypto_pwhash_str(dummy_hash, (const char *)secret, sizeof(secret), OPS_LIMIT, MEM_LIMIT) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(secret, sizeof(secret));
}

int password_hash(const char *password, size_t len, char *out)
{
	int result;

	slot_take();
	result = crypto_pwhash_str(out, password, len, OPS_LIMIT, MEM_LIMIT);
	slot_give();
	return result == 0 ? 0 : -1;
}

int password_verify(const char *hash, const char *password, size_t len)
{
	int result;

	pthread_once(&dummy_once, dummy_init);
	slot_take();
	if (hash == NULL || hash[0] == '\0') {
		/* The dummy never matches a real account: only the time spent matters. */
		result = crypto_pwhash_str_verify(dummy_hash, password, len);
		result = -1;
	} else {
		result = crypto_pwhash_str_verify(hash, password, len);
	}
	slot_give();
	return result == 0;
}

int password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, OPS_LIMIT, MEM_LIMIT) != 0;
}
