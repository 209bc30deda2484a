/*
 * The job worker: a registry of job kinds, the claim statement per dialect,
 * the outcome bookkeeping with exponential backoff, the worker thread of
 * each node, and the built-in kinds token_expiry and noop (event_prune
 * lives in event_prune.c). The contract is in jobs.h.
 */
#include "jobs/jobs.h"
#include "jobs/event_prune.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS_POLL_MS_DEFAULT 1000
#define JOBS_POLL_MS_MIN 10
#define JOBS_POLL_MS_MAX 60000
#define JOBS_ACQUIRE_TIMEOUT_MS 2000
/* How often the worker checks that the recurring jobs are queued. */
#define JOBS_SCHEDULE_EVERY_US (60 * 1000000LL)
/* Retry delays: 10 s after the first failed run, doubling up to an hour. */
#define JOBS_BACKOFF_BASE_US (10 * 1000000LL)
#define JOBS_BACKOFF_MAX_US (3600 * 1000000LL)
/* A job of a kind this node does not know goes back to the queue for a node that does. */
#define JOBS_UNKNOWN_KIND_DELAY_US (60 * 1000000LL)
#define JOBS_ERROR_MAX 512

/*
 * The recurring token_expiry and event_prune jobs have these fixed gids, so
 * that nodes starting together queue each once: the insert does nothing on a
 * conflict. Minted gids carry a timestamp in their high bits and are far
 * larger.
 */
#define TOKEN_EXPIRY_GID 1
#define EVENT_PRUNE_GID 2
#define TOKEN_EXPIRY_EVERY_US (5 * 60 * 1000000LL)
/* Rows deleted per statement, so one run never holds locks on a huge set. */
#define CLEANUP_BATCH 1000
#define NOOP_SLEEP_MAX_MS 1000

struct jobs {
	db *db;
	int poll_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	int failing; /* the last database call failed; logged once until it recovers */
};

/* A claimed row, with strings owned until claimed_free(). */
struct claimed {
	int64_t gid;
	int64_t workspace_gid;
	char *kind;
	char *payload;
	int attempts;
};

static const struct job_kind *registry[JOBS_KIND_MAX];
static int registry_count;
/* Set by jobs_stop() before it waits for the running job; read by that job's thread. */
static atomic_int stop_requested;

static const char due_sql[] =
	"SELECT 1 FROM jobs WHERE state IN ('pending', 'running') AND run_at <= ?"
	" AND (claimed_until IS NULL OR claimed_until < ?) LIMIT 1";

/*
 * The claim, per dialect. SKIP LOCKED lets concurrent PostgreSQL claimers
 * pass over a row another node is taking instead of queueing behind it.
 * SQLite has no row locks: the claim runs under BEGIN IMMEDIATE, which
 * admits one writer at a time.
 */
static const char claim_pgsql_sql[] =
	"UPDATE jobs SET claimed_by = ?, claimed_until = ?, state = 'running', attempts = attempts + 1"
	" WHERE gid = (SELECT gid FROM jobs WHERE state IN ('pending', 'running') AND run_at <= ?"
	" AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING gid, workspace_gid, kind, payload, attempts";
static const char claim_sqlite_sql[] =
	"UPDATE jobs SET claimed_by = ?, claimed_until = ?, state = 'running', attempts = attempts + 1"
	" WHERE gid = (SELECT gid FROM jobs WHERE state IN ('pending', 'running') AND run_at <= ?"
	" AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY run_at LIMIT 1)"
	" RETURNING gid, workspace_gid, kind, payload, attempts";

/* Outcomes. Each checks claimed_by, so a node whose claim ran out cannot overwrite the next runner's result. */
static const char finish_sql[] =
	"UPDATE jobs SET state = 'finished', finished_at = ?, claimed_until = NULL, last_error = NULL"
	" WHERE gid = ? AND claimed_by = ?";
static const char repeat_sql[] =
	"UPDATE jobs SET state = 'pending', run_at = ?, attempts = 0, claimed_until = NULL, last_error = NULL"
	" WHERE gid = ? AND claimed_by = ?";
static const char retry_sql[] =
	"UPDATE jobs SET state = 'pending', run_at = ?, claimed_until = NULL, last_error = ?"
	" WHERE gid = ? AND claimed_by = ?";
static const char fail_sql[] =
	"UPDATE jobs SET state = 'failed', finished_at = ?, claimed_until = NULL, last_error = ?"
	" WHERE gid = ? AND claimed_by = ?";
static const char defer_sql[] =
	"UPDATE jobs SET state = 'pending', run_at = ?, attempts = attempts - 1, claimed_until = NULL, last_error = ?"
	" WHERE gid = ? AND claimed_by = ?";

static const char enqueue_sql[] =
	"INSERT INTO jobs (gid, workspace_gid, kind, state, payload, run_at, attempts, created_at)"
	" VALUES (?, ?, ?, 'pending', ?, ?, 0, ?)";
static const char schedule_sql[] =
	"INSERT INTO jobs (gid, workspace_gid, kind, state, payload, run_at, attempts, created_at)"
	" VALUES (?, 0, ?, 'pending', '{}', ?, 0, ?) ON CONFLICT (gid) DO NOTHING";
/* A recurring job left finished or failed (by an older version, or by hand) is queued again. */
static const char revive_sql[] =
	"UPDATE jobs SET state = 'pending', run_at = ?, attempts = 0, claimed_until = NULL"
	" WHERE gid = ? AND state IN ('finished', 'failed')";

/* ---- registry ---------------------------------------------------------- */

static const struct job_kind *kind_find(const char *name)
{
	for (int i = 0; i < registry_count; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

int jobs_register(const struct job_kind *kind)
{
	if (kind_find(kind->name) != NULL || registry_count >= JOBS_KIND_MAX)
		return -1;
	registry[registry_count++] = kind;
	return 0;
}

/* ---- queue ------------------------------------------------------------- */

int jobs_enqueue(db_conn *c, int64_t workspace_gid, const char *kind, const char *payload, int64_t run_at,
		 int64_t *gid_r)
{
	int64_t now = time_now_us();
	int64_t gid = gid_next();
	db_stmt *s = db_query(c, enqueue_sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, workspace_gid);
	db_bind_text(s, 2, kind);
	db_bind_text(s, 3, payload ? payload : "{}");
	db_bind_int64(s, 4, run_at > 0 ? run_at : now);
	db_bind_int64(s, 5, now);
	status = db_run(s);
	if (status == DB_OK && gid_r)
		*gid_r = gid;
	return status;
}

/* Queues the recurring built-in jobs unless they are queued already. */
static int schedule_recurring(db_conn *c)
{
	static const struct {
		int64_t gid;
		const char *kind;
	} recurring[] = {
		{ TOKEN_EXPIRY_GID, "token_expiry" },
		{ EVENT_PRUNE_GID, "event_prune" },
	};
	int64_t now = time_now_us();
	int status = DB_OK;

	for (size_t i = 0; i < sizeof(recurring) / sizeof(recurring[0]) && status == DB_OK; i++) {
		db_stmt *s = db_query(c, schedule_sql);

		if (s == NULL)
			return DB_ERROR;
		db_bind_int64(s, 0, recurring[i].gid);
		db_bind_text(s, 1, recurring[i].kind);
		db_bind_int64(s, 2, now);
		db_bind_int64(s, 3, now);
		status = db_run(s);
		if (status != DB_OK)
			return status;

		s = db_query(c, revive_sql);
		if (s == NULL)
			return DB_ERROR;
		db_bind_int64(s, 0, now);
		db_bind_int64(s, 1, recurring[i].gid);
		status = db_run(s);
	}
	return status;
}

/* ---- claiming and running ---------------------------------------------- */

static void claimed_free(struct claimed *job)
{
	free(job->kind);
	free(job->payload);
	memset(job, 0, sizeof(*job));
}

/* Returns 1 when some job is due, 0 when none is, or an error status. A plain read, so idle polls take no write lock. */
static int any_due(db_conn *c, int64_t now)
{
	db_stmt *s = db_query(c, due_sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, now);
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 1;
	return status == DB_DONE ? 0 : status;
}

/* Claims the oldest due job. Returns 1 with *job filled, 0 when none was due, or an error status. */
static int claim(db_conn *c, int node_id, struct claimed *job)
{
	int is_pg = db_conn_driver(c) == &db_pgsql_driver;
	int64_t now = time_now_us();
	db_stmt *s;
	int status, found = 0;

	memset(job, 0, sizeof(*job));
	status = any_due(c, now);
	if (status <= 0)
		return status;

	status = db_begin_write(c);
	if (status != DB_OK)
		return status;
	s = db_query(c, is_pg ? claim_pgsql_sql : claim_sqlite_sql);
	if (s == NULL) {
		db_rollback(c);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, node_id);
	db_bind_int64(s, 1, now + JOBS_CLAIM_US);
	db_bind_int64(s, 2, now);
	db_bind_int64(s, 3, now);
	status = db_step(s);
	if (status == DB_ROW) {
		const char *kind = db_column_text(s, 2), *payload = db_column_text(s, 3);

		found = 1;
		job->gid = db_column_int64(s, 0);
		job->workspace_gid = db_column_int64(s, 1);
		job->kind = strdup(kind ? kind : "");
		job->payload = strdup(payload ? payload : "{}");
		job->attempts = (int)db_column_int64(s, 4);
		status = job->kind && job->payload ? DB_OK : DB_ERROR;
	} else if (status == DB_DONE) {
		status = DB_OK;
	}
	db_stmt_done(s);
	if (status != DB_OK) {
		db_rollback(c);
		claimed_free(job);
		return status;
	}
	status = db_commit(c);
	if (status != DB_OK) {
		claimed_free(job);
		return status;
	}
	return found;
}

/* The delay before run number attempts + 1, after `attempts` failed runs. */
static int64_t backoff_us(int attempts)
{
	int64_t delay = JOBS_BACKOFF_BASE_US;

	for (int i = 1; i < attempts && delay < JOBS_BACKOFF_MAX_US; i++)
		delay *= 2;
	return delay < JOBS_BACKOFF_MAX_US ? delay : JOBS_BACKOFF_MAX_US;
}

/* Runs one of the outcome statements; `text` is bound only when the statement takes it. */
static int record(db_conn *c, const char *sql, int64_t time, const char *text, int64_t gid, int node_id)
{
	db_stmt *s = db_query(c, sql);
	int index = 0;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, index++, time);
	if (sql == retry_sql || sql == fail_sql || sql == defer_sql)
		db_bind_text(s, index++, text);
	db_bind_int64(s, index++, gid);
	db_bind_int64(s, index, node_id);
	return db_run(s);
}

/* Runs a claimed job and stores its outcome. Returns DB_OK or the status of the failed bookkeeping. */
static int run_claimed(db_conn *c, const struct claimed *claimed, int node_id)
{
	const struct job_kind *kind = kind_find(claimed->kind);
	char err[JOBS_ERROR_MAX] = "";
	struct job job = { claimed->gid, claimed->workspace_gid, claimed->kind, claimed->payload, claimed->attempts,
			   node_id };
	enum job_result result;
	int64_t now;
	int retry;

	if (kind == NULL) {
		snprintf(err, sizeof(err), "no handler for job kind \"%.64s\" on node %d; left for a node that has one",
			 claimed->kind, node_id);
		log_warn("jobs", "job of an unknown kind deferred", "job_gid", LOG_INT(claimed->gid), "kind",
			 claimed->kind, NULL);
		return record(c, defer_sql, time_now_us() + JOBS_UNKNOWN_KIND_DELAY_US, err, claimed->gid, node_id);
	}

	/* Runs whose node died before recording an outcome count as failed attempts too. */
	if (kind->repeat_us == 0 && kind->max_attempts > 0 && claimed->attempts > kind->max_attempts) {
		snprintf(err, sizeof(err), "gave up after %d attempts", kind->max_attempts);
		result = JOB_FAILED;
	} else {
		result = kind->run(c, &job, err, sizeof(err));
	}
	if (db_in_transaction(c)) {
		log_error("jobs", "job left a transaction open; rolled back", "kind", claimed->kind, NULL);
		db_rollback(c);
	}

	now = time_now_us();
	if (result == JOB_DONE) {
		log_debug("jobs", "job finished", "job_gid", LOG_INT(claimed->gid), "kind", claimed->kind, NULL);
		if (kind->repeat_us > 0)
			return record(c, repeat_sql, now + kind->repeat_us, NULL, claimed->gid, node_id);
		return record(c, finish_sql, now, NULL, claimed->gid, node_id);
	}
	/* Recurring kinds are never failed for good: they retry with backoff. */
	retry = kind->repeat_us > 0 ||
		(result == JOB_RETRY && (kind->max_attempts == 0 || claimed->attempts < kind->max_attempts));
	if (retry) {
		log_warn("jobs", "job failed; retrying later", "job_gid", LOG_INT(claimed->gid), "kind", claimed->kind,
			 "attempts", LOG_INT(claimed->attempts), "error", err, NULL);
		return record(c, retry_sql, now + backoff_us(claimed->attempts), err, claimed->gid, node_id);
	}
	log_error("jobs", "job failed for good", "job_gid", LOG_INT(claimed->gid), "kind", claimed->kind, "attempts",
		  LOG_INT(claimed->attempts), "error", err, NULL);
	return record(c, fail_sql, now, err, claimed->gid, node_id);
}

int jobs_run_one(db *d, int node_id)
{
	db_conn *c = db_acquire(d, JOBS_ACQUIRE_TIMEOUT_MS);
	struct claimed job;
	int status;

	if (c == NULL)
		return DB_UNAVAILABLE;
	status = claim(c, node_id, &job);
	if (status == 1) {
		int recorded = run_claimed(c, &job, node_id);

		/* The claim runs out on its own, and then another node runs the job again. */
		if (recorded != DB_OK)
			log_warn("jobs", "cannot record a job's outcome; it will run again when its claim runs out",
				 "job_gid", LOG_INT(job.gid), "error", db_conn_errmsg(c), NULL);
		claimed_free(&job);
	}
	db_release(d, c);
	return status;
}

/* ---- built-in kinds ---------------------------------------------------- */

/* Deletes expired rows in batches with `sql`, which takes (now, batch); returns the rows deleted or -1. */
static int64_t delete_expired(db_conn *c, const char *sql, int64_t now)
{
	int64_t total = 0, changed;
	db_stmt *s;
	int status;

	do {
		s = db_query(c, sql);
		if (s == NULL)
			return -1;
		db_bind_int64(s, 0, now);
		db_bind_int64(s, 1, CLEANUP_BATCH);
		status = db_step(s);
		changed = status == DB_DONE ? db_changes(s) : 0;
		db_stmt_done(s);
		if (status != DB_DONE)
			return -1;
		total += changed;
	} while (changed == CLEANUP_BATCH);
	return total;
}

/*
 * Deletes expired idempotency keys and sessions. Expired tokens stay as they
 * are: authentication rejects them by expires_at, and token lists show them
 * as expired, which a revoked_at stamp would turn into "revoked".
 */
static enum job_result token_expiry_run(db_conn *c, const struct job *job, char *err, size_t errlen)
{
	int64_t now = time_now_us(), keys, sessions;

	(void)job;
	keys = delete_expired(c,
			      "DELETE FROM idempotency_keys WHERE (principal_gid, idempotency_key) IN"
			      " (SELECT principal_gid, idempotency_key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
			      now);
	if (keys < 0)
		goto fail;
	sessions = delete_expired(c, "DELETE FROM sessions WHERE gid IN"
				     " (SELECT gid FROM sessions WHERE expires_at <= ? LIMIT ?)",
				  now);
	if (sessions < 0)
		goto fail;

	if (keys + sessions > 0)
		log_info("jobs", "expired credentials cleaned up", "idempotency_keys_deleted", LOG_INT(keys),
			 "sessions_deleted", LOG_INT(sessions), NULL);
	return JOB_DONE;

fail:
	snprintf(err, errlen, "%s", db_conn_errmsg(c));
	return JOB_RETRY;
}

/*
 * Payload fields, all optional: "sleep_ms" (up to NOOP_SLEEP_MAX_MS) to hold
 * the claim for a while, and "fail_times" to return JOB_RETRY on the first
 * runs. Each run appends its node id to the array "ran_by".
 */
static enum job_result noop_run(db_conn *c, const struct job *job, char *err, size_t errlen)
{
	json_error_t parse_error;
	json_t *payload = json_loads(job->payload, 0, &parse_error);
	json_t *ran_by;
	json_int_t sleep_ms, fail_times;
	char *text;
	db_stmt *s;
	int status;

	if (!json_is_object(payload)) {
		json_decref(payload);
		snprintf(err, errlen, "payload is not a JSON object");
		return JOB_FAILED;
	}
	sleep_ms = json_integer_value(json_object_get(payload, "sleep_ms"));
	fail_times = json_integer_value(json_object_get(payload, "fail_times"));
	if (sleep_ms > 0) {
		struct timespec pause_for;

		if (sleep_ms > NOOP_SLEEP_MAX_MS)
			sleep_ms = NOOP_SLEEP_MAX_MS;
		pause_for.tv_sec = (time_t)(sleep_ms / 1000);
		pause_for.tv_nsec = (long)(sleep_ms % 1000) * 1000000L;
		nanosleep(&pause_for, NULL);
	}

	ran_by = json_object_get(payload, "ran_by");
	if (!json_is_array(ran_by)) {
		ran_by = json_array();
		json_object_set_new(payload, "ran_by", ran_by);
	}
	json_array_append_new(ran_by, json_integer(job->node_id));
	text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return JOB_RETRY;
	}
	s = db_query(c, "UPDATE jobs SET payload = ? WHERE gid = ? AND claimed_by = ?");
	if (s == NULL) {
		free(text);
		snprintf(err, errlen, "%s", db_conn_errmsg(c));
		return JOB_RETRY;
	}
	db_bind_text(s, 0, text);
	db_bind_int64(s, 1, job->gid);
	db_bind_int64(s, 2, job->node_id);
	status = db_run(s);
	free(text);
	if (status != DB_OK) {
		snprintf(err, errlen, "%s", db_conn_errmsg(c));
		return JOB_RETRY;
	}
	if (job->attempts <= fail_times) {
		snprintf(err, errlen, "failed on purpose: attempt %d of the %lld the payload asks to fail", job->attempts,
			 (long long)fail_times);
		return JOB_RETRY;
	}
	return JOB_DONE;
}

static const struct job_kind token_expiry_kind = { "token_expiry", token_expiry_run, 0, TOKEN_EXPIRY_EVERY_US };
static const struct job_kind noop_kind = { "noop", noop_run, 5, 0 };

/* ---- the worker thread ------------------------------------------------- */

/* Logs a failure once, and the recovery after it. */
static void note_status(struct jobs *jobs, int status, const char *what)
{
	if (status >= 0) {
		if (jobs->failing)
			log_info("jobs", "job worker reaches the database again", NULL);
		jobs->failing = 0;
		return;
	}
	if (!jobs->failing)
		log_warn("jobs", "job worker cannot reach the database; retrying", "step", what, "status",
			 LOG_INT(status), NULL);
	jobs->failing = 1;
}

static void *worker_loop(void *arg)
{
	struct jobs *jobs = arg;
	int64_t scheduled_at = 0;
	struct timespec deadline;

	pthread_mutex_lock(&jobs->lock);
	while (!jobs->stopping) {
		int ran;

		pthread_mutex_unlock(&jobs->lock);
		if (scheduled_at == 0 || time_mono_us() - scheduled_at >= JOBS_SCHEDULE_EVERY_US) {
			db_conn *c = db_acquire(jobs->db, JOBS_ACQUIRE_TIMEOUT_MS);
			int status = c ? schedule_recurring(c) : DB_UNAVAILABLE;

			if (c)
				db_release(jobs->db, c);
			note_status(jobs, status, "scheduling recurring jobs");
			if (status == DB_OK)
				scheduled_at = time_mono_us();
		}
		ran = jobs_run_one(jobs->db, gid_get_node());
		note_status(jobs, ran, "claiming a job");
		pthread_mutex_lock(&jobs->lock);

		/* After a job, look for the next one at once; otherwise wait a poll interval. */
		if (ran == 1)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += jobs->poll_ms / 1000;
		deadline.tv_nsec += (long)(jobs->poll_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (!jobs->stopping && pthread_cond_timedwait(&jobs->wake, &jobs->lock, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&jobs->lock);
	return NULL;
}

static int poll_interval_ms(int *ms_r, char *err, size_t errlen)
{
	const char *env = getenv("KONTOR_JOBS_POLL_MS");
	char *end = NULL;
	long value;

	*ms_r = JOBS_POLL_MS_DEFAULT;
	if (env == NULL || *env == '\0')
		return 0;
	errno = 0;
	value = strtol(env, &end, 10);
	if (errno != 0 || end == env || *end != '\0' || value < JOBS_POLL_MS_MIN || value > JOBS_POLL_MS_MAX) {
		snprintf(err, errlen, "invalid KONTOR_JOBS_POLL_MS \"%.32s\": expected milliseconds from %d to %d", env,
			 JOBS_POLL_MS_MIN, JOBS_POLL_MS_MAX);
		return -1;
	}
	*ms_r = (int)value;
	return 0;
}

struct jobs *jobs_start(db *d, char *err, size_t errlen)
{
	struct jobs *jobs;
	pthread_condattr_t attr;
	int poll_ms;

	if (poll_interval_ms(&poll_ms, err, errlen) != 0)
		return NULL;
	atomic_store(&stop_requested, 0);
	if (kind_find(token_expiry_kind.name) == NULL)
		jobs_register(&token_expiry_kind);
	if (kind_find(noop_kind.name) == NULL)
		jobs_register(&noop_kind);
	if (kind_find(jobs_event_prune_kind.name) == NULL)
		jobs_register(&jobs_event_prune_kind);

	jobs = calloc(1, sizeof(*jobs));
	if (jobs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	jobs->db = d;
	jobs->poll_ms = poll_ms;
	pthread_mutex_init(&jobs->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&jobs->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&jobs->thread, NULL, worker_loop, jobs) != 0) {
		snprintf(err, errlen, "cannot start the job worker thread");
		pthread_cond_destroy(&jobs->wake);
		pthread_mutex_destroy(&jobs->lock);
		free(jobs);
		return NULL;
	}
	log_info("jobs", "job worker started", "poll_ms", LOG_INT(poll_ms), NULL);
	return jobs;
}

int jobs_stopping(void)
{
	return atomic_load(&stop_requested);
}

void jobs_stop(struct jobs **jobsp)
{
	struct jobs *jobs = *jobsp;

	if (jobs == NULL)
		return;
	atomic_store(&stop_requested, 1);
	pthread_mutex_lock(&jobs->lock);
	jobs->stopping = 1;
	pthread_cond_signal(&jobs->wake);
	pthread_mutex_unlock(&jobs->lock);
	pthread_join(jobs->thread, NULL);
	pthread_cond_destroy(&jobs->wake);
	pthread_mutex_destroy(&jobs->lock);
	free(jobs);
	*jobsp = NULL;
}
