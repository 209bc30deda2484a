/*
 * Prunes the change log. Per organization it deletes the events older than
 * the retention as a prefix in seq order, in windows of EVENT_PRUNE_BATCH
 * seq numbers, then the event_targets rows below the oldest event kept.
 * Deleting a prefix keeps the events API honest: for a sync token whose
 * next events are gone, the oldest kept seq lies beyond it, so the token
 * gets 412, never a silent gap. Targets left behind by a crash between the two steps match
 * no event, so readers (which join events) never see them, and the next run
 * deletes them.
 */
#include "jobs/event_prune.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stdio.h>

/* How often the job runs. */
#define EVENT_PRUNE_EVERY_US (10 * 60 * 1000000LL)
/* seq numbers per delete statement, so one statement never holds locks on a huge set. */
#define EVENT_PRUNE_BATCH 1000
#define DAY_US (24LL * 3600 * 1000000)

static int retention_days = EVENT_RETENTION_DAYS_DEFAULT;

void jobs_event_prune_set_retention_days(int days)
{
	if (days < EVENT_RETENTION_DAYS_MIN)
		days = EVENT_RETENTION_DAYS_MIN;
	if (days > EVENT_RETENTION_DAYS_MAX)
		days = EVENT_RETENTION_DAYS_MAX;
	retention_days = days;
}

/* Runs `sql` with the int64 parameters and reads one int64 column, 0 when NULL or no row. Returns a db status. */
static int query_int64(db_conn *c, const char *sql, const int64_t *params, int count, int64_t *value_r)
{
	db_stmt *s = db_query(c, sql);
	int status;

	*value_r = 0;
	if (s == NULL)
		return DB_ERROR;
	for (int i = 0; i < count; i++)
		db_bind_int64(s, i, params[i]);
	status = db_step(s);
	if (status == DB_ROW && !db_column_is_null(s, 0))
		*value_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return (status == DB_ROW || status == DB_DONE) ? DB_OK : status;
}

/*
 * Deletes rows of `sql` (binding workspace, low and high seq) for every seq
 * from `low` to `high`, one window at a time. Adds the rows deleted to
 * *deleted_r. Returns a db status.
 */
static int delete_windows(db_conn *c, const char *sql, int64_t workspace_gid, int64_t low, int64_t high,
			  int64_t *deleted_r)
{
	while (low <= high) {
		int64_t top = low + EVENT_PRUNE_BATCH - 1 < high ? low + EVENT_PRUNE_BATCH - 1 : high;
		db_stmt *s = db_query(c, sql);
		int status;

		if (s == NULL)
			return DB_ERROR;
		db_bind_int64(s, 0, workspace_gid);
		db_bind_int64(s, 1, low);
		db_bind_int64(s, 2, top);
		status = db_step(s);
		if (status == DB_DONE)
			*deleted_r += db_changes(s);
		db_stmt_done(s);
		if (status != DB_DONE)
			return status;
		low = top + 1;
	}
	return DB_OK;
}

/* Prunes one organization's events created before `cutoff_us`, then its targets below the oldest event kept. */
static int prune_workspace(db_conn *c, int64_t workspace_gid, int64_t cutoff_us, int64_t *events_r,
			   int64_t *targets_r)
{
	int64_t params[2] = { workspace_gid, cutoff_us };
	int64_t oldest = 0, last_old = 0, floor = 0;
	int status;

	status = query_int64(c, "SELECT MIN(seq) FROM events WHERE workspace_gid = ?", params, 1, &oldest);
	if (status == DB_OK)
		status = query_int64(c, "SELECT MAX(seq) FROM events WHERE workspace_gid = ? AND created_at < ?", params, 2,
				     &last_old);
	if (status == DB_OK && last_old > 0)
		status = delete_windows(c, "DELETE FROM events WHERE workspace_gid = ? AND seq >= ? AND seq <= ?",
					workspace_gid, oldest, last_old, events_r);
	if (status != DB_OK)
		return status;

	/* Targets go below the oldest event kept, or below the counter when none is kept. */
	status = query_int64(c, "SELECT MIN(seq) FROM events WHERE workspace_gid = ?", params, 1, &floor);
	if (status == DB_OK && floor == 0)
		status = query_int64(c, "SELECT last_seq + 1 FROM event_counters WHERE workspace_gid = ?", params, 1, &floor);
	if (status == DB_OK)
		status = query_int64(c, "SELECT MIN(seq) FROM event_targets WHERE workspace_gid = ?", params, 1, &oldest);
	if (status == DB_OK && oldest > 0 && oldest < floor)
		status = delete_windows(c, "DELETE FROM event_targets WHERE workspace_gid = ? AND seq >= ? AND seq <= ?",
					workspace_gid, oldest, floor - 1, targets_r);
	return status;
}

static enum job_result event_prune_run(db_conn *c, const struct job *job, char *err, size_t errlen)
{
	int64_t cutoff = time_now_us() - retention_days * DAY_US;
	int64_t workspace_gid = 0, events = 0, targets = 0;
	int status;

	(void)job;
	/* One organization at a time, in gid order, from the counters: every organization with events has one. */
	for (;;) {
		int64_t params[1] = { workspace_gid };

		status = query_int64(c, "SELECT MIN(workspace_gid) FROM event_counters WHERE workspace_gid > ?", params, 1,
				     &workspace_gid);
		if (status != DB_OK || workspace_gid == 0)
			break;
		status = prune_workspace(c, workspace_gid, cutoff, &events, &targets);
		if (status != DB_OK)
			break;
	}
	if (status != DB_OK) {
		snprintf(err, errlen, "%s", db_conn_errmsg(c));
		return JOB_RETRY;
	}
	if (events + targets > 0)
		log_info("jobs", "old events pruned", "events_deleted", LOG_INT(events), "event_targets_deleted",
			 LOG_INT(targets), "retention_days", LOG_INT(retention_days), NULL);
	return JOB_DONE;
}

const struct job_kind jobs_event_prune_kind = { "event_prune", event_prune_run, 0, EVENT_PRUNE_EVERY_US };
