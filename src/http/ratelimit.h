/*
 * Per-principal request limits, kept in this process's memory: a token
 * bucket of requests per minute and caps on reads and writes in flight.
 * With several nodes each node enforces its own share.
 */
#ifndef KONTOR_HTTP_RATELIMIT_H
#define KONTOR_HTTP_RATELIMIT_H

#include <stdint.h>

struct ratelimit_config {
	int per_minute;      /* default 1500 */
	int reads_in_flight; /* default 50 */
	int writes_in_flight;/* default 15 */
};

struct ratelimit;

struct ratelimit *ratelimit_new(const struct ratelimit_config *config);
void ratelimit_free(struct ratelimit **rl);

/*
 * Admits one request of principal `key` (nonzero: 0 marks an empty slot). Returns 0 when admitted (call
 * ratelimit_release when done), or -1 with the seconds to wait in
 * *retry_after_r.
 */
int ratelimit_acquire(struct ratelimit *rl, int64_t key, int is_write, int *retry_after_r);
void ratelimit_release(struct ratelimit *rl, int64_t key, int is_write);

#endif
