/* Appends change-log events and files them under the resources they bubble up to. */
#include "store/events.h"
#include "store/counter.h"
#include "util/timeutil.h"

#include <string.h>

static int file_under(db_conn *c, int64_t workspace_gid, int64_t seq, int64_t target_gid)
{
	db_stmt *s = db_query(c, "INSERT INTO event_targets (target_gid, workspace_gid, seq) VALUES (?, ?, ?)"
				 " ON CONFLICT (target_gid, workspace_gid, seq) DO NOTHING");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, target_gid);
	db_bind_int64(s, 1, workspace_gid);
	db_bind_int64(s, 2, seq);
	return db_run(s);
}

/*
 * Files the event under the task, its parent task and the projects of
 * both, leaving out `skip_a` and `skip_b`, which the caller files itself.
 */
static int file_under_task(db_conn *c, int64_t workspace_gid, int64_t seq, int64_t task_gid, int64_t skip_a,
			   int64_t skip_b)
{
	db_stmt *s = db_query(c, "INSERT INTO event_targets (target_gid, workspace_gid, seq)"
				 " SELECT u.target_gid, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM ("
				 "  SELECT CAST(? AS BIGINT) AS target_gid"
				 "  UNION SELECT project_gid FROM task_projects WHERE task_gid = ?"
				 "  UNION SELECT parent_gid FROM tasks WHERE gid = ? AND parent_gid IS NOT NULL"
				 "  UNION SELECT tp.project_gid FROM tasks t JOIN task_projects tp ON tp.task_gid = t.parent_gid"
				 "   WHERE t.gid = ?"
				 " ) u WHERE u.target_gid <> ? AND u.target_gid <> ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, seq);
	db_bind_int64(s, 2, task_gid);
	db_bind_int64(s, 3, task_gid);
	db_bind_int64(s, 4, task_gid);
	db_bind_int64(s, 5, task_gid);
	db_bind_int64(s, 6, skip_a);
	db_bind_int64(s, 7, skip_b);
	return db_run(s);
}

static int64_t story_task(db_conn *c, int64_t story_gid, int *status_r)
{
	db_stmt *s = db_query(c, "SELECT task_gid FROM stories WHERE gid = ?");
	int64_t task_gid = 0;
	int status;

	if (s == NULL) {
		*status_r = DB_ERROR;
		return 0;
	}
	db_bind_int64(s, 0, story_gid);
	status = db_step(s);
	if (status == DB_ROW)
		task_gid = db_column_int64(s, 0);
	db_stmt_done(s);
	*status_r = (status == DB_ROW || status == DB_DONE) ? DB_OK : status;
	return task_gid;
}

int store_event_append(db_conn *c, const struct change_event *e, int64_t *seq_r)
{
	db_stmt *s;
	int64_t seq = 0, task_gid = 0;
	int status = store_counter_next(c, STORE_COUNTER_EVENTS, e->workspace_gid, &seq);

	if (status != DB_OK)
		return status;

	s = db_query(c, "INSERT INTO events (workspace_gid, seq, created_at, actor_gid, resource_type,"
			" resource_subtype, resource_gid, action, parent_type, parent_gid, change_field, change_action,"
			" value_type, value_gid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, e->workspace_gid);
	db_bind_int64(s, 1, seq);
	db_bind_int64(s, 2, time_now_us());
	db_bind_gid(s, 3, e->actor_gid);
	db_bind_text(s, 4, e->resource_type);
	db_bind_text(s, 5, e->resource_subtype);
	db_bind_int64(s, 6, e->resource_gid);
	db_bind_text(s, 7, e->action);
	db_bind_text(s, 8, e->parent_type);
	db_bind_gid(s, 9, e->parent_gid);
	db_bind_text(s, 10, e->change_field);
	db_bind_text(s, 11, e->change_action);
	db_bind_text(s, 12, e->value_type);
	db_bind_gid(s, 13, e->value_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	status = file_under(c, e->workspace_gid, seq, e->resource_gid);
	if (status == DB_OK && e->parent_gid != 0 && e->parent_gid != e->resource_gid)
		status = file_under(c, e->workspace_gid, seq, e->parent_gid);
	if (status != DB_OK)
		return status;

	/* Changes to tasks and their stories bubble up to the parent task and the projects. */
	if (strcmp(e->resource_type, "task") == 0) {
		task_gid = e->resource_gid;
	} else if (strcmp(e->resource_type, "story") == 0 && e->parent_type && strcmp(e->parent_type, "task") == 0) {
		/* A new story names its task as parent, so no lookup is needed. */
		task_gid = e->parent_gid;
	} else if (strcmp(e->resource_type, "story") == 0) {
		task_gid = story_task(c, e->resource_gid, &status);
		if (status != DB_OK)
			return status;
	}
	if (task_gid != 0)
		status = file_under_task(c, e->workspace_gid, seq, task_gid, e->resource_gid, e->parent_gid);
	if (status == DB_OK && seq_r)
		*seq_r = seq;
	return status;
}
