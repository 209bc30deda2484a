/*
 * Background jobs. Jobs are rows of the `jobs` table, so any node that
 * shares the database can run them and a job survives the node that queued
 * it. Each node runs one worker thread that claims a due job, runs the
 * function registered for its kind, and records the outcome: finished,
 * retried later with exponential backoff, or failed for good.
 *
 * A claim sets claimed_by (the node id) and claimed_until in one statement.
 * On PostgreSQL it takes the row with FOR UPDATE SKIP LOCKED, so nodes never
 * wait for each other. On SQLite the write lock of BEGIN IMMEDIATE makes
 * claims take turns. A running job whose claim has run out, because its node
 * died, is claimed again by any node.
 *
 * Built-in kinds:
 *   event_prune   recurring maintenance: deletes events past their retention
 *                 (jobs/event_prune.h)
 *   token_expiry  recurring maintenance: marks expired tokens as revoked and
 *                 deletes expired idempotency_keys and sessions rows
 *   noop          does nothing but record the running node id in its payload;
 *                 for tests and for checking that workers run
 */
#ifndef KONTOR_JOBS_JOBS_H
#define KONTOR_JOBS_JOBS_H

#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

#define JOBS_KIND_MAX 32

/* How long a claim lasts. A job that runs longer may be started again by another node. */
#define JOBS_CLAIM_US (5 * 60 * 1000000LL)

enum job_result {
	JOB_DONE = 0,   /* finished; a recurring kind is scheduled again */
	JOB_RETRY = 1,  /* failed, but may succeed later: run again after a backoff */
	JOB_FAILED = 2, /* failed for good: never run again */
};

/* A claimed job, passed to its kind's run function. Its strings are borrowed for the call. */
struct job {
	int64_t gid;
	int64_t workspace_gid; /* 0 for server-wide jobs */
	const char *kind;
	const char *payload;   /* JSON text */
	int attempts;          /* runs so far, this one included */
	int node_id;           /* the node running it */
};

/*
 * Runs one job on `c`, which has no open transaction; the function opens
 * and commits its own. On JOB_RETRY or JOB_FAILED it writes the reason to
 * `err`, which is stored in last_error.
 */
typedef enum job_result (*job_run_fn)(db_conn *c, const struct job *job, char *err, size_t errlen);

struct job_kind {
	const char *name;
	job_run_fn run;
	int max_attempts;  /* after this many runs a JOB_RETRY counts as JOB_FAILED; 0 retries forever */
	/*
	 * > 0 makes the kind recurring: after JOB_DONE it runs again this much
	 * later instead of finishing, and after a failure it always retries.
	 */
	int64_t repeat_us;
};

/*
 * Adds a kind to the registry. Call before jobs_start(); the registry is not
 * locked. `kind` must outlive the workers. Returns 0, or -1 when the name is
 * already registered or JOBS_KIND_MAX kinds exist.
 */
int jobs_register(const struct job_kind *kind);

/*
 * Queues a job to run at `run_at` (microseconds since the epoch; 0 = now).
 * Runs on the caller's connection, inside the caller's transaction if one is
 * open. Returns DB_OK or an error status; *gid_r receives the job's gid.
 */
int jobs_enqueue(db_conn *c, int64_t workspace_gid, const char *kind, const char *payload, int64_t run_at,
		 int64_t *gid_r);

/*
 * Claims one due job for `node_id` and runs it. Returns 1 when a job ran,
 * 0 when none was due, or a negative db_status when the database failed.
 */
int jobs_run_one(db *d, int node_id);

struct jobs;

/*
 * Registers the built-in kinds and starts this node's worker thread, which
 * polls every KONTOR_JOBS_POLL_MS milliseconds (default 1000) while idle and
 * keeps the recurring token_expiry and event_prune jobs queued. The worker
 * takes its node id from gid_get_node() on each claim. Returns NULL with a message in `err` on
 * failure. The caller stops the worker with jobs_stop() before closing `d`.
 */
struct jobs *jobs_start(db *d, char *err, size_t errlen);

/*
 * Returns nonzero once jobs_stop() has been called in this process. A long
 * job checks it between steps and hands its work back to the queue, so that
 * stopping a node does not wait for the job to finish.
 */
int jobs_stopping(void);

/* Waits for a running job to end, stops the worker and frees it; clears *jobsp. */
void jobs_stop(struct jobs **jobsp);

#endif
