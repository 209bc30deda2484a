/*
 * The organization_export and organization_export_cleanup job kinds
 * (contract in export_job.h). The export job streams the organization with
 * store_export_write() into fixed-size chunks that it inserts as they fill,
 * renews its claim between batches, and hands the export back to the queue
 * when the node stops.
 */
#include "jobs/export_job.h"
#include "jobs/jobs.h"
#include "store/export.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT_ACQUIRE_TIMEOUT_MS 5000
/* Renew the claim at most this often; well inside EXPORT_CLAIM_US. */
#define EXPORT_HEARTBEAT_US (2 * 1000000LL)
#define EXPORT_THROTTLE_MS_MAX 10000

/* The pool the chunks are written through, set once by export_jobs_register before the worker starts. */
static db *chunk_db;
/* KONTOR_EXPORT_THROTTLE_MS: a pause after each batch of rows, to lower an export's load on a busy server. */
static int throttle_ms;

struct chunk_writer {
	db_conn *w;
	const struct job *job;
	int64_t export_gid;
	int64_t workspace_gid;
	unsigned char *buf;
	size_t len;
	int seq;
	int64_t heartbeat_at;
	int claim_lost; /* another node runs the export now: leave its row alone */
};

static int chunk_flush(struct chunk_writer *cw, char *err, size_t errlen)
{
	db_stmt *s = db_query(cw->w, "INSERT INTO organization_export_chunks (export_gid, seq, workspace_gid, data)"
				     " VALUES (?, ?, ?, ?)");

	if (s == NULL) {
		snprintf(err, errlen, "storing export data failed: %s", db_conn_errmsg(cw->w));
		return -1;
	}
	db_bind_int64(s, 0, cw->export_gid);
	db_bind_int64(s, 1, cw->seq);
	db_bind_int64(s, 2, cw->workspace_gid);
	db_bind_blob(s, 3, cw->buf, cw->len);
	if (db_run(s) != DB_OK) {
		snprintf(err, errlen, "storing export data failed: %s", db_conn_errmsg(cw->w));
		return -1;
	}
	cw->seq++;
	cw->len = 0;
	return 0;
}

static int chunk_sink(void *ctx, const unsigned char *data, size_t len, char *err, size_t errlen)
{
	struct chunk_writer *cw = ctx;

	while (len > 0) {
		size_t room = EXPORT_CHUNK_BYTES - cw->len;
		size_t n = len < room ? len : room;

		memcpy(cw->buf + cw->len, data, n);
		cw->len += n;
		data += n;
		len -= n;
		if (cw->len == EXPORT_CHUNK_BYTES && chunk_flush(cw, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Extends this node's claim on the job. Returns 0, or -1 when the claim was lost to another node. */
static int renew_claim(struct chunk_writer *cw, char *err, size_t errlen)
{
	int64_t now = time_now_us();
	db_stmt *s = db_query(cw->w, "UPDATE jobs SET claimed_until = ? WHERE gid = ? AND claimed_by = ?");
	int status;
	int64_t changed;

	if (s == NULL) {
		snprintf(err, errlen, "renewing the job claim failed: %s", db_conn_errmsg(cw->w));
		return -1;
	}
	db_bind_int64(s, 0, now + EXPORT_CLAIM_US);
	db_bind_int64(s, 1, cw->job->gid);
	db_bind_int64(s, 2, cw->job->node_id);
	status = db_step(s);
	changed = status == DB_DONE ? db_changes(s) : 0;
	db_stmt_done(s);
	if (status != DB_DONE) {
		snprintf(err, errlen, "renewing the job claim failed: %s", db_conn_errmsg(cw->w));
		return -1;
	}
	if (changed == 0) {
		cw->claim_lost = 1;
		snprintf(err, errlen, "another node took the export over");
		return -1;
	}
	cw->heartbeat_at = now;
	return 0;
}

static int export_progress(void *ctx, int64_t rows, char *err, size_t errlen)
{
	struct chunk_writer *cw = ctx;

	(void)rows;
	if (jobs_stopping())
		return 1;
	if (time_now_us() - cw->heartbeat_at >= EXPORT_HEARTBEAT_US && renew_claim(cw, err, errlen) != 0)
		return -1;
	if (throttle_ms > 0) {
		struct timespec pause_for = { throttle_ms / 1000, (long)(throttle_ms % 1000) * 1000000L };

		nanosleep(&pause_for, NULL);
	}
	return 0;
}

/* Runs one UPDATE of the export's row that takes (..., export_gid, workspace_gid) as its last two parameters. */
static int export_set_state(db_conn *w, const char *state, const char *error, int64_t export_gid,
			    int64_t workspace_gid)
{
	db_stmt *s = db_query(w, "UPDATE organization_exports SET state = ?, error = ?,"
				 " finished_at = CASE WHEN ? = 'error' THEN CAST(? AS BIGINT) ELSE finished_at END"
				 " WHERE gid = ? AND workspace_gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, state);
	db_bind_text(s, 1, error);
	db_bind_text(s, 2, state);
	db_bind_int64(s, 3, time_now_us());
	db_bind_int64(s, 4, export_gid);
	db_bind_int64(s, 5, workspace_gid);
	return db_run(s);
}

/* Deletes the chunks of an earlier, interrupted run and marks the export started. */
static int export_begin(struct chunk_writer *cw)
{
	db_stmt *s = db_query(cw->w, "DELETE FROM organization_export_chunks WHERE export_gid = ? AND workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, cw->export_gid);
	db_bind_int64(s, 1, cw->workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;
	s = db_query(cw->w, "UPDATE organization_exports SET state = 'started', started_at = ?, error = NULL"
			    " WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, cw->export_gid);
	db_bind_int64(s, 2, cw->workspace_gid);
	return db_run(s);
}

static char *payload_for(int64_t export_gid)
{
	char gid_text[GID_STRING_MAX], *text;
	json_t *payload = json_pack("{s:s}", "export_gid", gid_format(export_gid, gid_text));

	text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	return text;
}

/* Records the finished export and queues the deletion of its data, in one transaction. */
static int export_finish(struct chunk_writer *cw, const struct export_stats *stats)
{
	int64_t now = time_now_us(), expires_at = now + EXPORT_DATA_RETENTION_US;
	char *payload = payload_for(cw->export_gid);
	db_stmt *s;
	int status;

	if (payload == NULL)
		return DB_ERROR;
	status = db_begin_write(cw->w);
	if (status != DB_OK)
		goto done;
	s = db_query(cw->w, "UPDATE organization_exports SET state = 'finished', finished_at = ?, row_count = ?,"
			    " size_bytes = ?, chunk_count = ?, data_expires_at = ?, error = NULL"
			    " WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		status = DB_ERROR;
		goto done;
	}
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, stats->rows);
	db_bind_int64(s, 2, stats->bytes);
	db_bind_int64(s, 3, cw->seq);
	db_bind_int64(s, 4, expires_at);
	db_bind_int64(s, 5, cw->export_gid);
	db_bind_int64(s, 6, cw->workspace_gid);
	status = db_run(s);
	if (status == DB_OK)
		status = jobs_enqueue(cw->w, cw->workspace_gid, EXPORT_CLEANUP_KIND, payload, expires_at, NULL);
	if (status == DB_OK)
		status = db_commit(cw->w);

done:
	if (db_in_transaction(cw->w))
		db_rollback(cw->w);
	free(payload);
	return status;
}

/* Hands the export back to the queue as a new job due now, so the next node to run starts it at once. */
static int export_requeue(struct chunk_writer *cw)
{
	char *payload = payload_for(cw->export_gid);
	int64_t job_gid = 0;
	db_stmt *s;
	int status;

	if (payload == NULL)
		return DB_ERROR;
	status = db_begin_write(cw->w);
	if (status == DB_OK)
		status = jobs_enqueue(cw->w, cw->workspace_gid, EXPORT_JOB_KIND, payload, 0, &job_gid);
	if (status == DB_OK) {
		s = db_query(cw->w, "UPDATE organization_exports SET state = 'pending', job_gid = ?"
				    " WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL) {
			status = DB_ERROR;
		} else {
			db_bind_int64(s, 0, job_gid);
			db_bind_int64(s, 1, cw->export_gid);
			db_bind_int64(s, 2, cw->workspace_gid);
			status = db_run(s);
		}
	}
	if (status == DB_OK)
		status = db_commit(cw->w);
	if (db_in_transaction(cw->w))
		db_rollback(cw->w);
	free(payload);
	return status;
}

/* Reads export_gid from a job payload; 0 when it is missing or invalid. */
static int64_t payload_export_gid(const char *payload)
{
	json_t *root = json_loads(payload, 0, NULL);
	int64_t gid = 0;

	if (json_is_string(json_object_get(root, "export_gid")))
		gid_parse(json_string_value(json_object_get(root, "export_gid")), &gid);
	json_decref(root);
	return gid;
}

/* Returns the export's state into `state` (empty when the row is gone), or -1 on a database failure. */
static int export_state(db_conn *c, int64_t export_gid, int64_t workspace_gid, char *state, size_t len)
{
	db_stmt *s = db_query(c, "SELECT state FROM organization_exports WHERE gid = ? AND workspace_gid = ?");
	int status;

	state[0] = '\0';
	if (s == NULL)
		return -1;
	db_bind_int64(s, 0, export_gid);
	db_bind_int64(s, 1, workspace_gid);
	status = db_step(s);
	if (status == DB_ROW && db_column_text(s, 0))
		snprintf(state, len, "%s", db_column_text(s, 0));
	db_stmt_done(s);
	return status == DB_ROW || status == DB_DONE ? 0 : -1;
}

/* Marks the export failed for good; the reason stays in the row for operators, never in API replies. */
static enum job_result export_give_up(struct chunk_writer *cw, const char *reason)
{
	if (export_set_state(cw->w, "error", reason, cw->export_gid, cw->workspace_gid) != DB_OK)
		log_error("jobs", "cannot mark an export failed", "export_gid", LOG_INT(cw->export_gid), "error",
			  db_conn_errmsg(cw->w), NULL);
	log_error("jobs", "organization export failed", "export_gid", LOG_INT(cw->export_gid), "organization_gid",
		  LOG_INT(cw->workspace_gid), "error", reason, NULL);
	return JOB_FAILED;
}

static enum job_result export_run(db_conn *c, const struct job *job, char *err, size_t errlen)
{
	struct chunk_writer cw;
	struct export_stats stats = { 0, 0 };
	enum export_result result;
	enum job_result outcome;
	char state[16];

	memset(&cw, 0, sizeof(cw));
	cw.job = job;
	cw.workspace_gid = job->workspace_gid;
	cw.export_gid = payload_export_gid(job->payload);
	if (cw.export_gid == 0) {
		snprintf(err, errlen, "payload has no valid export_gid");
		return JOB_FAILED;
	}
	if (export_state(c, cw.export_gid, cw.workspace_gid, state, sizeof(state)) != 0) {
		snprintf(err, errlen, "reading the export failed: %s", db_conn_errmsg(c));
		return JOB_RETRY;
	}
	if (strcmp(state, "pending") != 0 && strcmp(state, "started") != 0)
		return JOB_DONE; /* gone, finished or failed already: a duplicate job */

	cw.w = db_acquire(chunk_db, EXPORT_ACQUIRE_TIMEOUT_MS);
	if (cw.w == NULL) {
		snprintf(err, errlen, "no database connection for the export data");
		return JOB_RETRY;
	}
	/* Counts runs that ended without an outcome too, such as a node that died mid-export. */
	if (job->attempts > EXPORT_MAX_ATTEMPTS) {
		snprintf(err, errlen, "gave up after %d attempts", EXPORT_MAX_ATTEMPTS);
		outcome = export_give_up(&cw, err);
		goto done;
	}
	cw.buf = malloc(EXPORT_CHUNK_BYTES);
	if (cw.buf == NULL) {
		snprintf(err, errlen, "out of memory");
		outcome = JOB_RETRY;
		goto done;
	}
	if (export_begin(&cw) != DB_OK || renew_claim(&cw, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "starting the export failed: %s", db_conn_errmsg(cw.w));
		outcome = JOB_RETRY;
		goto done;
	}
	log_info("jobs", "organization export started", "export_gid", LOG_INT(cw.export_gid), "organization_gid",
		 LOG_INT(cw.workspace_gid), "attempt", LOG_INT(job->attempts), NULL);

	result = store_export_write(c, cw.workspace_gid, chunk_sink, &cw, export_progress, &cw, &stats, err, errlen);
	if (result == EXPORT_OK && cw.len > 0 && chunk_flush(&cw, err, errlen) != 0)
		result = EXPORT_FAILED;
	if (result == EXPORT_OK) {
		if (export_finish(&cw, &stats) != DB_OK) {
			snprintf(err, errlen, "recording the finished export failed: %s", db_conn_errmsg(cw.w));
			outcome = JOB_RETRY;
			goto done;
		}
		log_info("jobs", "organization export finished", "export_gid", LOG_INT(cw.export_gid), "rows",
			 LOG_INT(stats.rows), "bytes", LOG_INT(stats.bytes), NULL);
		outcome = JOB_DONE;
	} else if (result == EXPORT_STOPPED) {
		if (export_requeue(&cw) != DB_OK) {
			/* The claim runs out within EXPORT_CLAIM_US and the export is then taken over. */
			snprintf(err, errlen, "handing the export back failed: %s", db_conn_errmsg(cw.w));
			outcome = JOB_RETRY;
			goto done;
		}
		log_info("jobs", "organization export handed back to the queue: the node is stopping", "export_gid",
			 LOG_INT(cw.export_gid), NULL);
		outcome = JOB_DONE;
	} else if (cw.claim_lost) {
		outcome = JOB_RETRY; /* recorded nowhere: the outcome statements check claimed_by */
	} else if (result == EXPORT_NOT_FOUND) {
		outcome = export_give_up(&cw, err);
	} else if (job->attempts >= EXPORT_MAX_ATTEMPTS) {
		outcome = export_give_up(&cw, err);
	} else {
		/* Back to pending while the job waits for its retry, so the API never shows a stale "started". */
		if (export_set_state(cw.w, "pending", err, cw.export_gid, cw.workspace_gid) != DB_OK)
			log_warn("jobs", "cannot mark an export pending", "export_gid", LOG_INT(cw.export_gid), NULL);
		outcome = JOB_RETRY;
	}

done:
	free(cw.buf);
	db_release(chunk_db, cw.w);
	return outcome;
}

/* Deletes an expired export's data; the export's row stays, with data_deleted set. */
static enum job_result cleanup_run(db_conn *c, const struct job *job, char *err, size_t errlen)
{
	int64_t export_gid = payload_export_gid(job->payload);
	db_stmt *s;
	int status;

	if (export_gid == 0) {
		snprintf(err, errlen, "payload has no valid export_gid");
		return JOB_FAILED;
	}
	status = db_begin_write(c);
	if (status != DB_OK)
		goto fail;
	s = db_query(c, "DELETE FROM organization_export_chunks WHERE export_gid = ? AND workspace_gid = ?");
	if (s == NULL)
		goto fail;
	db_bind_int64(s, 0, export_gid);
	db_bind_int64(s, 1, job->workspace_gid);
	if (db_run(s) != DB_OK)
		goto fail;
	s = db_query(c, "UPDATE organization_exports SET data_deleted = 1 WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		goto fail;
	db_bind_int64(s, 0, export_gid);
	db_bind_int64(s, 1, job->workspace_gid);
	if (db_run(s) != DB_OK || db_commit(c) != DB_OK)
		goto fail;
	log_info("jobs", "expired export data deleted", "export_gid", LOG_INT(export_gid), NULL);
	return JOB_DONE;

fail:
	snprintf(err, errlen, "%s", db_conn_errmsg(c));
	if (db_in_transaction(c))
		db_rollback(c);
	return JOB_RETRY;
}

/* Retries are counted by export_run itself, so that a final failure also marks the export. */
static const struct job_kind export_kind = { EXPORT_JOB_KIND, export_run, 0, 0 };
static const struct job_kind cleanup_kind = { EXPORT_CLEANUP_KIND, cleanup_run, 10, 0 };

static int read_throttle(void)
{
	const char *env = getenv("KONTOR_EXPORT_THROTTLE_MS");
	char *end = NULL;
	long value;

	if (env == NULL || *env == '\0')
		return 0;
	errno = 0;
	value = strtol(env, &end, 10);
	if (errno != 0 || end == env || *end != '\0' || value < 0 || value > EXPORT_THROTTLE_MS_MAX) {
		log_warn("jobs", "invalid KONTOR_EXPORT_THROTTLE_MS ignored: expected milliseconds from 0 to 10000",
			 "value", env, NULL);
		return 0;
	}
	return (int)value;
}

int export_jobs_register(db *d)
{
	chunk_db = d;
	throttle_ms = read_throttle();
	if (jobs_register(&export_kind) != 0 || jobs_register(&cleanup_kind) != 0)
		return -1;
	return 0;
}

int export_job_enqueue(db_conn *c, int64_t workspace_gid, int64_t export_gid, int64_t *job_gid_r)
{
	char *payload = payload_for(export_gid);
	int status;

	if (payload == NULL)
		return DB_ERROR;
	status = jobs_enqueue(c, workspace_gid, EXPORT_JOB_KIND, payload, 0, job_gid_r);
	free(payload);
	return status;
}
