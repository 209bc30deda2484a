/*
 * Tests of the per-principal request limits (http/ratelimit.c): the token
 * bucket of requests per minute, its refill, and the separate caps on reads
 * and writes in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "http/ratelimit.h"
#include "util/log.h"

#define READ 0
#define WRITE 1

static struct ratelimit *new_limit(int per_minute, int reads, int writes)
{
	struct ratelimit_config config = {
		.per_minute = per_minute,
		.reads_in_flight = reads,
		.writes_in_flight = writes,
	};
	struct ratelimit *rl = ratelimit_new(&config);

	assert_non_null(rl);
	return rl;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A bucket of N per minute admits N requests in a burst, then rejects with a wait of at least 1 s. */
static void bucket_admits_n_then_rejects(void **state)
{
	const int per_minute[] = { 1, 10, 60, 1500 };

	(void)state;
	for (size_t i = 0; i < sizeof(per_minute) / sizeof(per_minute[0]); i++) {
		int n = per_minute[i];
		struct ratelimit *rl = new_limit(n, 1000, 1000);
		int retry_after = -1;

		for (int k = 0; k < n; k++) {
			if (ratelimit_acquire(rl, 7, k % 2, &retry_after) != 0)
				fail_msg("%d per minute: request %d of %d rejected", n, k + 1, n);
			ratelimit_release(rl, 7, k % 2);
		}
		assert_int_equal(ratelimit_acquire(rl, 7, READ, &retry_after), -1);
		assert_true(retry_after >= 1);
		/* One token comes back every 60/N seconds, so the wait must not promise sooner. */
		assert_true(retry_after <= 60 / n + 1);
		assert_int_equal(ratelimit_acquire(rl, 7, WRITE, &retry_after), -1);
		assert_true(retry_after >= 1);
		ratelimit_free(&rl);
		assert_null(rl);
	}
}

/* Each principal has its own bucket. */
static void bucket_per_principal(void **state)
{
	struct ratelimit *rl = new_limit(3, 100, 100);
	int retry_after = 0;

	(void)state;
	for (int k = 0; k < 3; k++) {
		assert_int_equal(ratelimit_acquire(rl, 1001, READ, &retry_after), 0);
		ratelimit_release(rl, 1001, READ);
	}
	assert_int_equal(ratelimit_acquire(rl, 1001, READ, &retry_after), -1);

	for (int k = 0; k < 3; k++) {
		assert_int_equal(ratelimit_acquire(rl, 1002, READ, &retry_after), 0);
		ratelimit_release(rl, 1002, READ);
	}
	ratelimit_free(&rl);
}

/* 600 per minute is one token per 100 ms, so an empty bucket admits again after 250 ms. */
static void bucket_refills_over_time(void **state)
{
	struct ratelimit *rl = new_limit(600, 1000, 1000);
	int retry_after = 0;
	int admitted = 0;

	(void)state;
	for (int k = 0; k < 600; k++) {
		assert_int_equal(ratelimit_acquire(rl, 5, READ, &retry_after), 0);
		ratelimit_release(rl, 5, READ);
	}
	assert_int_equal(ratelimit_acquire(rl, 5, READ, &retry_after), -1);

	sleep_ms(250);
	while (ratelimit_acquire(rl, 5, READ, &retry_after) == 0) {
		ratelimit_release(rl, 5, READ);
		admitted++;
		assert_true(admitted <= 600);
	}
	/* At least two tokens have refilled, and a slow machine may have refilled a few more. */
	assert_true(admitted >= 2);
	assert_true(admitted < 600);
	ratelimit_free(&rl);
}

/* Reads and writes in flight are capped separately, and a rejected request takes no token. */
static void in_flight_caps_independent(void **state)
{
	struct ratelimit *rl = new_limit(1000, 3, 2);
	int retry_after = 0;

	(void)state;
	for (int k = 0; k < 3; k++)
		assert_int_equal(ratelimit_acquire(rl, 9, READ, &retry_after), 0);
	retry_after = 0;
	assert_int_equal(ratelimit_acquire(rl, 9, READ, &retry_after), -1);
	assert_true(retry_after >= 1);

	/* The read cap being full leaves writes alone. */
	for (int k = 0; k < 2; k++)
		assert_int_equal(ratelimit_acquire(rl, 9, WRITE, &retry_after), 0);
	retry_after = 0;
	assert_int_equal(ratelimit_acquire(rl, 9, WRITE, &retry_after), -1);
	assert_true(retry_after >= 1);

	/* Another principal is not affected by principal 9's requests in flight. */
	assert_int_equal(ratelimit_acquire(rl, 10, READ, &retry_after), 0);
	assert_int_equal(ratelimit_acquire(rl, 10, WRITE, &retry_after), 0);
	ratelimit_release(rl, 10, READ);
	ratelimit_release(rl, 10, WRITE);

	for (int k = 0; k < 3; k++)
		ratelimit_release(rl, 9, READ);
	for (int k = 0; k < 2; k++)
		ratelimit_release(rl, 9, WRITE);
	ratelimit_free(&rl);
}

static void release_frees_slot(void **state)
{
	struct ratelimit *rl = new_limit(1000, 1, 1);
	int retry_after = 0;

	(void)state;
	assert_int_equal(ratelimit_acquire(rl, 11, READ, &retry_after), 0);
	assert_int_equal(ratelimit_acquire(rl, 11, READ, &retry_after), -1);
	assert_int_equal(ratelimit_acquire(rl, 11, WRITE, &retry_after), 0);
	assert_int_equal(ratelimit_acquire(rl, 11, WRITE, &retry_after), -1);

	/* Releasing a read frees a read slot only. */
	ratelimit_release(rl, 11, READ);
	assert_int_equal(ratelimit_acquire(rl, 11, WRITE, &retry_after), -1);
	assert_int_equal(ratelimit_acquire(rl, 11, READ, &retry_after), 0);

	ratelimit_release(rl, 11, WRITE);
	assert_int_equal(ratelimit_acquire(rl, 11, WRITE, &retry_after), 0);

	ratelimit_release(rl, 11, READ);
	ratelimit_release(rl, 11, WRITE);
	ratelimit_free(&rl);
}

/* A release with nothing in flight must not open an extra slot. */
static void extra_release_ignored(void **state)
{
	struct ratelimit *rl = new_limit(1000, 1, 1);
	int retry_after = 0;

	(void)state;
	ratelimit_release(rl, 12, READ);
	ratelimit_release(rl, 12, READ);
	assert_int_equal(ratelimit_acquire(rl, 12, READ, &retry_after), 0);
	assert_int_equal(ratelimit_acquire(rl, 12, READ, &retry_after), -1);
	ratelimit_release(rl, 12, READ);
	ratelimit_free(&rl);
}

/* More busy principals than the table has slots: the overflow is admitted, not rejected. */
static void full_table_admits(void **state)
{
	enum { PRINCIPALS = 10000 };
	struct ratelimit *rl = new_limit(5, 1, 1);
	int retry_after = 0;

	(void)state;
	/* ratelimit.c logs a warning for every request admitted without a slot. */
	log_set_level(LOG_ERROR);
	for (int64_t key = 1; key <= PRINCIPALS; key++)
		if (ratelimit_acquire(rl, key, READ, &retry_after) != 0)
			fail_msg("principal %d rejected on its first request", (int)key);
	for (int64_t key = 1; key <= PRINCIPALS; key++)
		ratelimit_release(rl, key, READ);
	log_set_level(LOG_INFO);

	/* Principal 1 took a slot before the table filled, so its limit still holds. */
	for (int k = 0; k < 5; k++) {
		if (ratelimit_acquire(rl, 1, READ, &retry_after) != 0)
			break;
		ratelimit_release(rl, 1, READ);
		assert_true(k < 4);
	}
	assert_int_equal(ratelimit_acquire(rl, 1, READ, &retry_after), -1);
	ratelimit_free(&rl);
}

static void free_null_is_safe(void **state)
{
	struct ratelimit *rl = NULL;

	(void)state;
	ratelimit_free(&rl);
	assert_null(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_admits_n_then_rejects),
		cmocka_unit_test(bucket_per_principal),
		cmocka_unit_test(bucket_refills_over_time),
		cmocka_unit_test(in_flight_caps_independent),
		cmocka_unit_test(release_frees_slot),
		cmocka_unit_test(extra_release_ignored),
		cmocka_unit_test(full_table_admits),
		cmocka_unit_test(free_null_is_safe),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
