/*
 * Token buckets in a fixed open-addressing table under one mutex. The table
 * has room for RATELIMIT_SLOTS principals; when it is full, idle entries
 * (bucket full, nothing in flight) are reused, and a request with no free
 * slot at all is admitted unlimited rather than refused.
 */
#include "http/ratelimit.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdlib.h>

#define RATELIMIT_SLOTS 8192
#define RATELIMIT_PROBES 32
#define RATELIMIT_FULL_LOG_EVERY 1000

struct bucket {
	int64_t key; /* 0: empty */
	double tokens;
	int64_t refilled_us;
	int reads;
	int writes;
};

struct ratelimit {
	struct ratelimit_config config;
	pthread_mutex_t lock;
	long admitted_unlimited;
	struct bucket slots[RATELIMIT_SLOTS];
};

struct ratelimit *ratelimit_new(const struct ratelimit_config *config)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	rl->config = *config;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit **rlp)
{
	if (*rlp == NULL)
		return;
	pthread_mutex_destroy(&(*rlp)->lock);
	free(*rlp);
	*rlp = NULL;
}

static void refill(struct ratelimit *rl, struct bucket *b, int64_t now)
{
	double capacity = rl->config.per_minute;

	b->tokens += (double)(now - b->refilled_us) * capacity / 60e6;
	if (b->tokens > capacity)
		b->tokens = capacity;
	b->refilled_us = now;
}

static struct bucket *find(struct ratelimit *rl, int64_t key, int64_t now)
{
	uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ULL;
	struct bucket *reusable = NULL;

	for (int i = 0; i < RATELIMIT_PROBES; i++) {
		struct bucket *b = &rl->slots[(h + (uint64_t)i) % RATELIMIT_SLOTS];

		if (b->key == key)
			return b;
		if (b->key == 0) {
			reusable = reusable ? reusable : b;
			break;
		}
		if (reusable == NULL && b->reads == 0 && b->writes == 0) {
			refill(rl, b, now);
			if (b->tokens >= rl->config.per_minute)
				reusable = b;
		}
	}
	if (reusable) {
		reusable->key = key;
		reusable->tokens = rl->config.per_minute;
		reusable->refilled_us = now;
		reusable->reads = 0;
		reusable->writes = 0;
	}
	return reusable;
}

int ratelimit_acquire(struct ratelimit *rl, int64_t key, int is_write, int *retry_after_r)
{
	int64_t now = time_mono_us();
	struct bucket *b;
	int result = 0;

	pthread_mutex_lock(&rl->lock);
	b = find(rl, key, now);
	if (b == NULL) {
		/* Logged once per RATELIMIT_FULL_LOG_EVERY admissions, with the running count. */
		long admitted = ++rl->admitted_unlimited;

		pthread_mutex_unlock(&rl->lock);
		if (admitted % RATELIMIT_FULL_LOG_EVERY == 1)
			log_warn("ratelimit", "rate-limit table full: request admitted without a limit", "principal",
				 LOG_INT(key), "admitted_unlimited", LOG_NUM(admitted), NULL);
		return 0;
	}
	refill(rl, b, now);
	if (b->tokens < 1.0) {
		double missing = 1.0 - b->tokens;

		*retry_after_r = (int)(missing * 60.0 / rl->config.per_minute) + 1;
		result = -1;
	} else if (is_write ? b->writes >= rl->config.writes_in_flight : b->reads >= rl->config.reads_in_flight) {
		*retry_after_r = 1;
		result = -1;
	} else {
		b->tokens -= 1.0;
		if (is_write)
			b->writes++;
		else
			b->reads++;
	}
	pthread_mutex_unlock(&rl->lock);
	return result;
}

void ratelimit_release(struct ratelimit *rl, int64_t key, int is_write)
{
	int64_t now = time_mono_us();
	struct bucket *b;

	pthread_mutex_lock(&rl->lock);
	b = find(rl, key, now);
	if (b != NULL) {
		if (is_write && b->writes > 0)
			b->writes--;
		else if (!is_write && b->reads > 0)
			b->reads--;
	}
	pthread_mutex_unlock(&rl->lock);
}
