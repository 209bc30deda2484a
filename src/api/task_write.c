/*
 * Task writes: POST /tasks, POST /tasks/{task_gid}/subtasks, PUT and DELETE
 * /tasks/{task_gid}. A request body is applied to the task's row in memory,
 * checked as a whole (dates, completion and approval state, subtype rules)
 * and written back in one statement. The differences become system stories
 * in the same transaction. Deleting a task removes its rows for good, with
 * its subtasks, stories, followers, tags and project links.
 */
#include "api/api.h"
#include "api/richtext.h"
#include "api/task_internal.h"
#include "store/events.h"

#include "util/gid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATE_LEN 10 /* "YYYY-MM-DD" */

/* ---------- the task row for writes ---------- */

/* The writable columns of one task. The text fields are owned, and an empty date string means NULL. */
struct task_row {
	int64_t gid;
	char *name;
	char *notes;
	char *html_notes;
	char subtype[16];
	int64_t assignee_gid;
	char assignee_status[16];
	int64_t assigned_by;
	int completed;
	int64_t completed_at;
	int64_t completed_by;
	char approval_status[24];
	char due_on[DATE_LEN + 1];
	int64_t due_at;
	char start_on[DATE_LEN + 1];
	int64_t start_at;
	int64_t parent_gid;
	int64_t position;
};

static void row_free(struct task_row *row)
{
	free(row->name);
	free(row->notes);
	free(row->html_notes);
	row->name = row->notes = row->html_notes = NULL;
}

/* Copies text into a fixed field; NULL gives the empty string. */
static void copy_text(char *out, size_t len, const char *text)
{
	snprintf(out, len, "%s", text ? text : "");
}

/* Replaces an owned string; returns -1 when out of memory. */
static int set_owned(char **field, const char *text)
{
	char *copy = strdup(text ? text : "");

	if (copy == NULL) {
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Loads the task's writable columns. Returns DB_ROW, DB_DONE when missing, or an error status. */
static int row_load(api_ctx *ctx, int64_t gid, struct task_row *row)
{
	db_stmt *s;
	int rc;

	memset(row, 0, sizeof(*row));
	s = db_query(ctx->db, "SELECT name, notes, html_notes, resource_subtype, assignee_gid, assignee_status,"
			      " assigned_by, completed, completed_at, completed_by, approval_status, due_on, due_at,"
			      " start_on, start_at, parent_gid, position FROM tasks WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		row->gid = gid;
		if (set_owned(&row->name, db_column_text(s, 0)) || set_owned(&row->notes, db_column_text(s, 1)) ||
		    set_owned(&row->html_notes, db_column_text(s, 2))) {
			rc = DB_ERROR;
		}
		copy_text(row->subtype, sizeof(row->subtype), db_column_text(s, 3));
		row->assignee_gid = db_column_int64(s, 4);
		copy_text(row->assignee_status, sizeof(row->assignee_status), db_column_text(s, 5));
		row->assigned_by = db_column_int64(s, 6);
		row->completed = db_column_int64(s, 7) != 0;
		row->completed_at = db_column_int64(s, 8);
		row->completed_by = db_column_int64(s, 9);
		copy_text(row->approval_status, sizeof(row->approval_status), db_column_text(s, 10));
		copy_text(row->due_on, sizeof(row->due_on), db_column_text(s, 11));
		row->due_at = db_column_int64(s, 12);
		copy_text(row->start_on, sizeof(row->start_on), db_column_text(s, 13));
		row->start_at = db_column_int64(s, 14);
		row->parent_gid = db_column_int64(s, 15);
		row->position = db_column_int64(s, 16);
	}
	db_stmt_done(s);
	return rc;
}

/* Binds NULL for an empty string. */
static void bind_text_or_null(db_stmt *s, int index, const char *text)
{
	db_bind_text(s, index, text[0] ? text : NULL);
}

/* Binds NULL for 0. */
static void bind_int_or_null(db_stmt *s, int index, int64_t value)
{
	if (value == 0) {
		db_bind_null(s, index);
	} else {
		db_bind_int64(s, index, value);
	}
}

/* ---------- applying a request body to a task row ---------- */

static const char *const subtype_values[] = { "default_task", "milestone", "approval", NULL };
static const char *const assignee_status_values[] = { "today", "upcoming", "later", "new", "inbox", NULL };
static const char *const approval_values[] = { "pending", "approved", "rejected", "changes_requested", NULL };

/* Writes the UTC date of a time into `out` (DATE_LEN + 1 bytes). */
static void date_of(int64_t us, char *out)
{
	char iso[40];

	time_format_iso(us, iso, sizeof(iso));
	snprintf(out, DATE_LEN + 1, "%.*s", DATE_LEN, iso);
}

/* Applies one pair of date fields (due_on/due_at or start_on/start_at). Returns -1 after replying. */
static int apply_date_pair(api_ctx *ctx, const char *on_field, const char *at_field, char *on, int64_t *at)
{
	const char *on_value = api_body_string(ctx, on_field);
	const char *at_value = api_body_string(ctx, at_field);

	if (on_value != NULL && at_value != NULL) {
		return api_error(ctx, 400, "%s, %s: send only one of them; %s is a date, %s a date and time.", on_field,
				 at_field, on_field, at_field),
		       -1;
	}
	if (api_body_has(ctx, on_field)) {
		copy_text(on, DATE_LEN + 1, on_value);
		*at = 0;
	}
	if (api_body_has(ctx, at_field)) {
		*at = 0;
		on[0] = '\0';
		if (at_value != NULL) {
			if (time_parse_iso(at_value, at) != 0) {
				return api_error(ctx, 400, "%s: not a valid ISO 8601 date-time.", at_field), -1;
			}
			/* Asana shows the date of a due time in due_on as well. */
			date_of(*at, on);
		}
	}
	return 0;
}

/* Applies completion, keeping completed_at, completed_by and approval_status in step. */
static void set_completed(api_ctx *ctx, struct task_row *row, int completed)
{
	if (completed && !row->completed) {
		row->completed_at = time_now_us();
		row->completed_by = ctx->who.user_gid;
	}
	if (!completed) {
		row->completed_at = 0;
		row->completed_by = 0;
	}
	row->completed = completed;
}

/*
 * Applies the checked body to `row`: text, subtype, assignee, completion
 * and dates, then the rules that span fields. Returns 0, or -1 after
 * replying (the transaction, if open, is rolled back).
 */
static int apply_body(api_ctx *ctx, struct task_row *row)
{
	const char *text;
	char *converted;

	if (api_body_has(ctx, "name") && set_owned(&row->name, api_body_string(ctx, "name"))) {
		goto oom;
	}

	/* notes and html_notes are two forms of one text, so one of them is enough. */
	if (api_body_has(ctx, "notes") && api_body_has(ctx, "html_notes")) {
		api_error(ctx, 400, "notes, html_notes: send only one of them; the other is derived from it.");
		goto fail;
	}
	text = api_body_string(ctx, "notes");
	if (text != NULL) {
		converted = richtext_from_text(text);
		if (converted == NULL || set_owned(&row->notes, text)) {
			free(converted);
			goto oom;
		}
		free(row->html_notes);
		row->html_notes = converted;
	}
	text = api_body_string(ctx, "html_notes");
	if (text != NULL) {
		char err[256];

		if (richtext_check(text, RICHTEXT_NOTES, err, sizeof(err)) < 0) {
			api_error(ctx, 400, "html_notes: %s", err);
			goto fail;
		}
		converted = richtext_to_text(text);
		if (converted == NULL || set_owned(&row->html_notes, text)) {
			free(converted);
			goto oom;
		}
		free(row->notes);
		row->notes = converted;
	}

	text = api_body_string(ctx, "resource_subtype");
	if (text != NULL) {
		copy_text(row->subtype, sizeof(row->subtype), text);
	}
	if (strcmp(row->subtype, "approval") != 0) {
		row->approval_status[0] = '\0';
	} else if (row->approval_status[0] == '\0') {
		copy_text(row->approval_status, sizeof(row->approval_status), row->completed ? "approved" : "pending");
	}

	if (api_body_has(ctx, "assignee")) {
		int64_t assignee = 0;

		text = api_body_string(ctx, "assignee");
		if (text != NULL && (api_resolve_user(ctx, "assignee", text, &assignee) ||
				     api_require_active_member(ctx, "assignee", assignee))) {
			goto fail;
		}
		if (assignee != row->assignee_gid) {
			row->assigned_by = assignee ? ctx->who.user_gid : 0;
		}
		row->assignee_gid = assignee;
	}
	text = api_body_string(ctx, "assignee_status");
	if (text != NULL) {
		if (row->assignee_gid == 0) {
			api_error(ctx, 400, "assignee_status: can only be set on an assigned task; send an assignee too.");
			goto fail;
		}
		copy_text(row->assignee_status, sizeof(row->assignee_status), text);
	}

	/*
	 * For approvals, completed and approval_status are one state: approved,
	 * rejected and changes_requested count as complete.
	 */
	if (api_body_has(ctx, "completed")) {
		set_completed(ctx, row, api_body_bool(ctx, "completed", 0));
		if (row->approval_status[0] != '\0') {
			copy_text(row->approval_status, sizeof(row->approval_status), row->completed ? "approved" : "pending");
		}
	}
	text = api_body_string(ctx, "approval_status");
	if (text != NULL) {
		int completed = strcmp(text, "pending") != 0;

		if (strcmp(row->subtype, "approval") != 0) {
			api_error(ctx, 400, "approval_status: only approvals have one; set resource_subtype to approval.");
			goto fail;
		}
		if (api_body_has(ctx, "completed") && api_body_bool(ctx, "completed", 0) != completed) {
			api_error(ctx, 400, "completed, approval_status: they disagree; approval_status %s means completed "
					    "is %s.",
				  text, completed ? "true" : "false");
			goto fail;
		}
		copy_text(row->approval_status, sizeof(row->approval_status), text);
		set_completed(ctx, row, completed);
	}

	if (apply_date_pair(ctx, "due_on", "due_at", row->due_on, &row->due_at) ||
	    apply_date_pair(ctx, "start_on", "start_at", row->start_on, &row->start_at)) {
		goto fail;
	}
	if (row->start_on[0] != '\0') {
		if (strcmp(row->subtype, "milestone") == 0) {
			api_error(ctx, 400, "start_on: a milestone marks a single moment and has no start date; remove it.");
			goto fail;
		}
		if (row->due_on[0] == '\0') {
			api_error(ctx, 400, "start_on: a start date needs a due date; send due_on or due_at as well.");
			goto fail;
		}
		if (strcmp(row->start_on, row->due_on) > 0 || (row->start_at && row->due_at && row->start_at > row->due_at)) {
			api_error(ctx, 400, "start_on: the start (%s) is after the due date (%s); move one of them.",
				  row->start_on, row->due_on);
			goto fail;
		}
	}
	return 0;

oom:
	api_fail_db(ctx, DB_ERROR);
	return -1;
fail:
	task_rollback(ctx);
	return -1;
}

/* ---------- create ---------- */

static const struct api_field task_create_fields[] = {
	{ "name", AF_STRING, 0, API_NAME_MAX, NULL },
	{ "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "resource_subtype", AF_ENUM, 0, 0, subtype_values },
	{ "approval_status", AF_ENUM, 0, 0, approval_values },
	{ "assignee", AF_GID, AF_NULLABLE | AF_USER, 0, NULL },
	{ "assignee_status", AF_ENUM, 0, 0, assignee_status_values },
	{ "completed", AF_BOOL, 0, 0, NULL },
	{ "due_on", AF_DATE, AF_NULLABLE, 0, NULL },
	{ "due_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ "start_on", AF_DATE, AF_NULLABLE, 0, NULL },
	{ "start_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ "followers", AF_GID_ARRAY, AF_USER, 100, NULL },
	{ "parent", AF_GID, AF_NULLABLE, 0, NULL },
	{ "projects", AF_GID_ARRAY, 0, TASK_PROJECTS_MAX, NULL },
	{ "memberships", AF_ANY, 0, 0, NULL },
	{ "tags", AF_GID_ARRAY, 0, 100, NULL },
	{ "workspace", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* One project the new task goes into, with its section (0: the project's default). */
struct new_membership {
	int64_t project_gid;
	int64_t section_gid;
};

/* Adds a project to the list unless present; a section given later wins. Returns -1 when the list is full. */
static int membership_add(struct new_membership *list, int *count, int64_t project_gid, int64_t section_gid)
{
	for (int i = 0; i < *count; i++) {
		if (list[i].project_gid == project_gid) {
			if (section_gid != 0) {
				list[i].section_gid = section_gid;
			}
			return 0;
		}
	}
	if (*count >= TASK_PROJECTS_MAX) {
		return -1;
	}
	list[*count].project_gid = project_gid;
	list[*count].section_gid = section_gid;
	(*count)++;
	return 0;
}

/* Reads projects and memberships into `list`. Returns -1 after replying 400. */
static int read_memberships(api_ctx *ctx, struct new_membership *list, int *count)
{
	json_t *projects = ctx->body ? json_object_get(ctx->body, "projects") : NULL;
	json_t *memberships = ctx->body ? json_object_get(ctx->body, "memberships") : NULL;
	json_t *item;
	size_t i;
	int64_t project_gid, section_gid;

	*count = 0;
	json_array_foreach(projects, i, item) {
		gid_parse(json_string_value(item), &project_gid);
		if (membership_add(list, count, project_gid, 0)) {
			return api_error(ctx, 400, "projects: a task can be in at most %d projects.", TASK_PROJECTS_MAX), -1;
		}
	}

	if (memberships == NULL) {
		return 0;
	}
	if (!json_is_array(memberships)) {
		return api_error(ctx, 400, "memberships: must be an array of {\"project\": gid, \"section\": gid} "
					   "objects."),
		       -1;
	}
	json_array_foreach(memberships, i, item) {
		json_t *project = json_object_get(item, "project"), *section = json_object_get(item, "section");

		if (!json_is_object(item) || json_object_size(item) != (size_t)(1 + (section != NULL)) ||
		    !json_is_string(project) || gid_parse(json_string_value(project), &project_gid) != 0) {
			return api_error(ctx, 400, "memberships[%zu]: must be an object with a project gid and, "
						   "optionally, a section gid, and nothing else.",
					 i),
			       -1;
		}
		section_gid = 0;
		if (section != NULL && !json_is_null(section) &&
		    (!json_is_string(section) || gid_parse(json_string_value(section), &section_gid) != 0)) {
			return api_error(ctx, 400, "memberships[%zu].section: not a valid gid.", i), -1;
		}
		if (membership_add(list, count, project_gid, section_gid)) {
			return api_error(ctx, 400, "memberships: a task can be in at most %d projects.", TASK_PROJECTS_MAX),
			       -1;
		}
	}
	return 0;
}

/* Checks that the caller may add tasks to each project. Returns -1 after replying (404 or 403). */
static int check_projects(api_ctx *ctx, const struct new_membership *list, int count)
{
	for (int i = 0; i < count; i++) {
		enum task_access access;
		int rc = task_project_access(ctx, list[i].project_gid, &access);

		if (rc != DB_OK) {
			return api_fail_db(ctx, rc), -1;
		}
		if (access == ACCESS_NONE) {
			task_rollback(ctx);
			return api_error(ctx, 404, "projects: project not found: %lld. Check the gid; projects you "
						   "cannot see are not found either.",
					 (long long)list[i].project_gid),
			       -1;
		}
		if (access == ACCESS_READ) {
			task_rollback(ctx);
			return api_error(ctx, 403, "projects: you have comment-only or view-only access to project "
						   "%lld and cannot add tasks to it. Ask a project admin for edit access.",
					 (long long)list[i].project_gid),
			       -1;
		}
	}
	return 0;
}

/* Adds tags to a task, checking that each exists in the organization. Returns -1 after replying. */
static int add_tags(api_ctx *ctx, int64_t task_gid)
{
	json_t *tags = ctx->body ? json_object_get(ctx->body, "tags") : NULL, *item;
	size_t i;

	json_array_foreach(tags, i, item) {
		int64_t tag_gid = 0;
		db_stmt *s;
		int rc;

		gid_parse(json_string_value(item), &tag_gid);
		s = db_query(ctx->db, "INSERT INTO task_tags (workspace_gid, task_gid, tag_gid)"
				      " SELECT ?, ?, gid FROM tags WHERE gid = ? AND workspace_gid = ?"
				      " ON CONFLICT (task_gid, tag_gid) DO NOTHING");
		if (s == NULL) {
			return api_fail_db(ctx, DB_ERROR), -1;
		}
		db_bind_int64(s, 0, ctx->who.workspace_gid);
		db_bind_int64(s, 1, task_gid);
		db_bind_int64(s, 2, tag_gid);
		db_bind_int64(s, 3, ctx->who.workspace_gid);
		rc = db_step(s);
		/* Zero rows: the tag is not in this organization. A repeated tag in the list also gives zero. */
		if (rc == DB_DONE && db_changes(s) == 0) {
			int repeated = 0;

			for (size_t j = 0; j < i; j++) {
				repeated |= strcmp(json_string_value(json_array_get(tags, j)), json_string_value(item)) == 0;
			}
			if (!repeated) {
				db_stmt_done(s);
				task_rollback(ctx);
				return api_error(ctx, 404, "tags: tag not found: %lld. Check the gid.", (long long)tag_gid), -1;
			}
		}
		db_stmt_done(s);
		if (rc != DB_DONE) {
			return api_fail_db(ctx, rc), -1;
		}
	}
	return 0;
}

/* Adds the followers listed in the body. Returns -1 after replying. */
static int add_listed_followers(api_ctx *ctx, int64_t task_gid)
{
	json_t *followers = ctx->body ? json_object_get(ctx->body, "followers") : NULL, *item;
	size_t i;

	json_array_foreach(followers, i, item) {
		int64_t user_gid;
		int rc;

		if (api_resolve_user(ctx, "followers", json_string_value(item), &user_gid) ||
		    api_require_active_member(ctx, "followers", user_gid)) {
			task_rollback(ctx);
			return -1;
		}
		rc = task_follower_add(ctx, task_gid, user_gid);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc), -1;
		}
	}
	return 0;
}

/* Inserts a new task row. Returns a db status. */
static int row_insert(api_ctx *ctx, const struct task_row *row, int64_t now)
{
	db_stmt *s;

	s = db_query(ctx->db, "INSERT INTO tasks (gid, workspace_gid, name, notes, html_notes, resource_subtype,"
			      " assignee_gid, assignee_status, assigned_by, completed, completed_at, completed_by,"
			      " approval_status, due_on, due_at, start_on, start_at, parent_gid, position, created_by,"
			      " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, row->gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, row->name);
	db_bind_text(s, 3, row->notes);
	db_bind_text(s, 4, row->html_notes);
	db_bind_text(s, 5, row->subtype);
	bind_int_or_null(s, 6, row->assignee_gid);
	db_bind_text(s, 7, row->assignee_status);
	bind_int_or_null(s, 8, row->assigned_by);
	db_bind_int64(s, 9, row->completed);
	bind_int_or_null(s, 10, row->completed_at);
	bind_int_or_null(s, 11, row->completed_by);
	bind_text_or_null(s, 12, row->approval_status);
	bind_text_or_null(s, 13, row->due_on);
	bind_int_or_null(s, 14, row->due_at);
	bind_text_or_null(s, 15, row->start_on);
	bind_int_or_null(s, 16, row->start_at);
	bind_int_or_null(s, 17, row->parent_gid);
	db_bind_int64(s, 18, row->position);
	db_bind_int64(s, 19, ctx->who.user_gid);
	db_bind_int64(s, 20, now);
	db_bind_int64(s, 21, now);
	return db_run(s);
}

/*
 * Creates a task from the checked body under `parent_gid` (0: none): the
 * shared part of POST /tasks and POST /tasks/{task_gid}/subtasks.
 */
/*
 * A new task is "added" to each of its projects and to its parent task, as
 * Asana reports it; a task with neither is "added" with no parent.
 */
static int record_created(api_ctx *ctx, const struct task_row *row, const struct new_membership *memberships,
			  int count)
{
	struct change_event event = { .resource_type = "task", .resource_subtype = row->subtype,
				      .resource_gid = row->gid, .action = "added" };
	int rc = DB_OK;

	for (int i = 0; i < count && rc == DB_OK; i++) {
		event.parent_type = "project";
		event.parent_gid = memberships[i].project_gid;
		rc = api_event(ctx, &event);
	}
	if (rc == DB_OK && row->parent_gid != 0) {
		event.parent_type = "task";
		event.parent_gid = row->parent_gid;
		rc = api_event(ctx, &event);
	}
	if (rc == DB_OK && count == 0 && row->parent_gid == 0) {
		event.parent_type = NULL;
		event.parent_gid = 0;
		rc = api_event(ctx, &event);
	}
	return rc;
}

static int create_task(api_ctx *ctx, int64_t parent_gid)
{
	struct new_membership memberships[TASK_PROJECTS_MAX];
	struct task_row row;
	int64_t workspace_gid, now = time_now_us();
	int count, rc;

	workspace_gid = api_body_gid(ctx, "workspace");
	if (workspace_gid != 0 && workspace_gid != ctx->who.workspace_gid) {
		return api_not_found(ctx, "workspace", workspace_gid);
	}
	if (read_memberships(ctx, memberships, &count)) {
		return 0;
	}
	if (workspace_gid == 0 && count == 0 && parent_gid == 0) {
		return api_error(ctx, 400, "workspace: missing input. Send the workspace gid, projects, memberships "
					   "or a parent, so the task has a place.");
	}

	if (api_begin_write(ctx)) {
		return 0;
	}
	if (parent_gid != 0 && task_require_edit(ctx, parent_gid)) {
		return 0;
	}
	if (check_projects(ctx, memberships, count)) {
		return 0;
	}

	memset(&row, 0, sizeof(row));
	row.gid = gid_next();
	copy_text(row.subtype, sizeof(row.subtype), "default_task");
	copy_text(row.assignee_status, sizeof(row.assignee_status), "inbox");
	if (set_owned(&row.name, "") || set_owned(&row.notes, "") || set_owned(&row.html_notes, "")) {
		row_free(&row);
		return api_fail_db(ctx, DB_ERROR);
	}
	if (apply_body(ctx, &row)) {
		row_free(&row);
		return 0;
	}
	row.parent_gid = parent_gid;
	if (parent_gid != 0) {
		rc = task_subtask_end(ctx, parent_gid, &row.position);
		if (rc != DB_OK) {
			row_free(&row);
			return api_fail_db(ctx, rc);
		}
	}
	rc = row_insert(ctx, &row, now);
	if (rc != DB_OK) {
		row_free(&row);
		return api_fail_db(ctx, rc);
	}

	/* Each placement locks its project: take them all first, in gid order (task_project_lock). */
	if (count > 1) {
		int64_t order[TASK_PROJECTS_MAX];

		for (int i = 0; i < count; i++) {
			order[i] = memberships[i].project_gid;
		}
		qsort(order, (size_t)count, sizeof(order[0]), gid_compare);
		for (int i = 0; i < count; i++) {
			rc = task_project_lock(ctx, order[i]);
			if (rc != DB_OK) {
				row_free(&row);
				return api_fail_db(ctx, rc);
			}
		}
	}
	for (int i = 0; i < count; i++) {
		struct task_placement where = { memberships[i].section_gid, 0, 0, 0, 1 };

		if (task_project_place(ctx, row.gid, memberships[i].project_gid, &where)) {
			row_free(&row);
			return 0;
		}
	}
	if (add_tags(ctx, row.gid) || add_listed_followers(ctx, row.gid)) {
		row_free(&row);
		return 0;
	}

	rc = record_created(ctx, &row, memberships, count);
	if (rc != DB_OK) {
		row_free(&row);
		return api_fail_db(ctx, rc);
	}

	/* The creator and the assignee follow the task, as in Asana. */
	rc = task_follower_add(ctx, row.gid, ctx->who.user_gid);
	if (rc == DB_OK && row.assignee_gid != 0) {
		rc = task_follower_add(ctx, row.gid, row.assignee_gid);
	}
	row_free(&row);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return task_reply(ctx, 201, row.gid);
}

/* POST /tasks */
int task_create(api_ctx *ctx)
{
	int64_t parent_gid;

	if (api_check_body(ctx, task_create_fields)) {
		return 0;
	}
	parent_gid = api_body_gid(ctx, "parent");
	return create_task(ctx, parent_gid);
}

/* POST /tasks/{task_gid}/subtasks */
int subtask_create(api_ctx *ctx)
{
	int64_t parent_gid;

	if (api_param_gid(ctx, "task_gid", &parent_gid) || api_check_body(ctx, task_create_fields)) {
		return 0;
	}
	if (api_body_has(ctx, "parent") && api_body_gid(ctx, "parent") != parent_gid) {
		return api_error(ctx, 400, "parent: the parent is the task in the path; leave parent out of the body.");
	}
	return create_task(ctx, parent_gid);
}

/* ---------- update ---------- */

static const struct api_field task_update_fields[] = {
	{ "name", AF_STRING, 0, API_NAME_MAX, NULL },
	{ "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "resource_subtype", AF_ENUM, 0, 0, subtype_values },
	{ "approval_status", AF_ENUM, 0, 0, approval_values },
	{ "assignee", AF_GID, AF_NULLABLE | AF_USER, 0, NULL },
	{ "assignee_status", AF_ENUM, 0, 0, assignee_status_values },
	{ "completed", AF_BOOL, 0, 0, NULL },
	{ "due_on", AF_DATE, AF_NULLABLE, 0, NULL },
	{ "due_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ "start_on", AF_DATE, AF_NULLABLE, 0, NULL },
	{ "start_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Fields of a task that PUT does not change, with the endpoint that does. */
static const struct {
	const char *field;
	const char *endpoint;
} create_only_fields[] = {
	{ "projects", "POST /tasks/{task_gid}/addProject and removeProject" },
	{ "memberships", "POST /tasks/{task_gid}/addProject and removeProject" },
	{ "tags", "POST /tasks/{task_gid}/addTag and removeTag" },
	{ "followers", "POST /tasks/{task_gid}/addFollowers and removeFollowers" },
	{ "parent", "POST /tasks/{task_gid}/setParent" },
	{ "workspace", "nothing: a task stays in its workspace" },
};

/* Writes the changed row back. Returns a db status. */
static int row_update(api_ctx *ctx, const struct task_row *row, int64_t now)
{
	db_stmt *s;

	s = db_query(ctx->db, "UPDATE tasks SET name = ?, notes = ?, html_notes = ?, resource_subtype = ?,"
			      " assignee_gid = ?, assignee_status = ?, assigned_by = ?, completed = ?, completed_at = ?,"
			      " completed_by = ?, approval_status = ?, due_on = ?, due_at = ?, start_on = ?, start_at = ?,"
			      " modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_text(s, 0, row->name);
	db_bind_text(s, 1, row->notes);
	db_bind_text(s, 2, row->html_notes);
	db_bind_text(s, 3, row->subtype);
	bind_int_or_null(s, 4, row->assignee_gid);
	db_bind_text(s, 5, row->assignee_status);
	bind_int_or_null(s, 6, row->assigned_by);
	db_bind_int64(s, 7, row->completed);
	bind_int_or_null(s, 8, row->completed_at);
	bind_int_or_null(s, 9, row->completed_by);
	bind_text_or_null(s, 10, row->approval_status);
	bind_text_or_null(s, 11, row->due_on);
	bind_int_or_null(s, 12, row->due_at);
	bind_text_or_null(s, 13, row->start_on);
	bind_int_or_null(s, 14, row->start_at);
	db_bind_int64(s, 15, now);
	db_bind_int64(s, 16, row->gid);
	db_bind_int64(s, 17, ctx->who.workspace_gid);
	return db_run(s);
}

/* Copies a user's name into `out`, or "someone" when the user is gone. Returns a db status. */
static int user_name(api_ctx *ctx, int64_t user_gid, char *out, size_t len)
{
	db_stmt *s = db_query(ctx->db, "SELECT name FROM users WHERE gid = ? AND workspace_gid = ?");
	int rc;

	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	copy_text(out, len, rc == DB_ROW ? db_column_text(s, 0) : "someone");
	db_stmt_done(s);
	return (rc == DB_ROW || rc == DB_DONE) ? DB_OK : rc;
}

/* Records the system stories for the differences between `before` and `after`. Returns a db status. */
static int record_changes(api_ctx *ctx, const struct task_row *before, const struct task_row *after)
{
	char text[API_NAME_MAX + 128], name[256];
	int rc = DB_OK;

	if (strcmp(before->name, after->name) != 0) {
		snprintf(text, sizeof(text), "changed the name to \"%s\"", after->name);
		rc = api_story_add_system(ctx, after->gid, "name_changed", text);
	}
	if (rc == DB_OK && before->assignee_gid != after->assignee_gid) {
		if (after->assignee_gid != 0) {
			rc = user_name(ctx, after->assignee_gid, name, sizeof(name));
			snprintf(text, sizeof(text), "assigned to %s", name);
			if (rc == DB_OK) {
				rc = api_story_add_system(ctx, after->gid, "assigned", text);
			}
		} else {
			rc = user_name(ctx, before->assignee_gid, name, sizeof(name));
			snprintf(text, sizeof(text), "unassigned from %s", name);
			if (rc == DB_OK) {
				rc = api_story_add_system(ctx, after->gid, "unassigned", text);
			}
		}
	}
	if (rc == DB_OK && before->completed != after->completed) {
		rc = api_story_add_system(ctx, after->gid, after->completed ? "marked_complete" : "marked_incomplete",
					  after->completed ? "marked this task complete" : "marked this task incomplete");
	}
	if (rc == DB_OK && (strcmp(before->due_on, after->due_on) != 0 || before->due_at != after->due_at)) {
		if (after->due_at != 0) {
			char iso[40];

			snprintf(text, sizeof(text), "changed the due date to %s", time_format_iso(after->due_at, iso, sizeof(iso)));
		} else if (after->due_on[0] != '\0') {
			snprintf(text, sizeof(text), "changed the due date to %s", after->due_on);
		} else {
			snprintf(text, sizeof(text), "removed the due date");
		}
		rc = api_story_add_system(ctx, after->gid, "due_date_changed", text);
	}
	return rc;
}

/* Records one "changed" event per field that differs between `before` and `after`. Returns a db status. */
static int record_change_events(api_ctx *ctx, const struct task_row *before, const struct task_row *after)
{
	const struct {
		const char *field;
		int differs;
	} plain[] = {
		{ "name", strcmp(before->name, after->name) != 0 },
		{ "notes", strcmp(before->notes ? before->notes : "", after->notes ? after->notes : "") != 0 },
		{ "completed", before->completed != after->completed },
		{ "due_on", strcmp(before->due_on, after->due_on) != 0 },
		{ "due_at", before->due_at != after->due_at },
		{ "start_on", strcmp(before->start_on, after->start_on) != 0 },
		{ "start_at", before->start_at != after->start_at },
		{ "assignee_status", strcmp(before->assignee_status, after->assignee_status) != 0 },
		{ "approval_status", strcmp(before->approval_status, after->approval_status) != 0 },
		{ "resource_subtype", strcmp(before->subtype, after->subtype) != 0 },
	};
	int rc = DB_OK;

	if (before->assignee_gid != after->assignee_gid) {
		rc = task_event_change(ctx, after->gid, "assignee", "changed", "user", after->assignee_gid);
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && rc == DB_OK; i++) {
		if (plain[i].differs) {
			rc = task_event_change(ctx, after->gid, plain[i].field, "changed", NULL, 0);
		}
	}
	return rc;
}

/* PUT /tasks/{task_gid} */
int task_update(api_ctx *ctx)
{
	struct task_row before, after;
	int64_t gid;
	int rc;

	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	if (api_param_gid(ctx, "task_gid", &gid)) {
		return 0;
	}
	for (size_t i = 0; i < sizeof(create_only_fields) / sizeof(create_only_fields[0]); i++) {
		if (api_body_has(ctx, create_only_fields[i].field)) {
			return api_error(ctx, 400, "%s: cannot be changed with PUT; use %s.", create_only_fields[i].field,
					 create_only_fields[i].endpoint);
		}
	}
	if (api_check_body(ctx, task_update_fields)) {
		return 0;
	}

	if (api_begin_write(ctx) || task_require_edit(ctx, gid)) {
		return 0;
	}
	rc = row_load(ctx, gid, &before);
	if (rc == DB_ROW) {
		rc = row_load(ctx, gid, &after);
	}
	if (rc != DB_ROW) {
		row_free(&before);
		row_free(&after);
		return api_fail_db(ctx, rc == DB_DONE ? DB_ERROR : rc);
	}

	if (apply_body(ctx, &after)) {
		row_free(&before);
		row_free(&after);
		return 0;
	}
	rc = row_update(ctx, &after, time_now_us());
	if (rc == DB_OK) {
		rc = record_changes(ctx, &before, &after);
	}
	if (rc == DB_OK) {
		rc = record_change_events(ctx, &before, &after);
	}
	/* A new assignee follows the task, as in Asana. */
	if (rc == DB_OK && after.assignee_gid != 0 && after.assignee_gid != before.assignee_gid) {
		rc = task_follower_add(ctx, gid, after.assignee_gid);
	}
	row_free(&before);
	row_free(&after);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return task_reply(ctx, 200, gid);
}

/* ---------- delete ---------- */

/*
 * Each statement removes the rows of the task and of all its subtasks, which
 * one recursive query finds. The tasks themselves go last and in one
 * statement, so the parent references are consistent when it ends.
 */
#define DOOMED_TASKS                                                                                           \
	"WITH RECURSIVE doomed(gid) AS (SELECT gid FROM tasks WHERE gid = ? AND workspace_gid = ?"               \
	" UNION SELECT c.gid FROM tasks c JOIN doomed d ON c.parent_gid = d.gid) "

static const char *const delete_sql[] = {
	DOOMED_TASKS "DELETE FROM stories WHERE task_gid IN (SELECT gid FROM doomed)",
	DOOMED_TASKS "DELETE FROM task_followers WHERE task_gid IN (SELECT gid FROM doomed)",
	DOOMED_TASKS "DELETE FROM task_tags WHERE task_gid IN (SELECT gid FROM doomed)",
	DOOMED_TASKS "DELETE FROM task_projects WHERE task_gid IN (SELECT gid FROM doomed)",
	DOOMED_TASKS "DELETE FROM tasks WHERE gid IN (SELECT gid FROM doomed)",
};

/*
 * Checks that deleting the task changes only projects the caller may edit.
 * The task and its subtasks leave every project they are in, and without
 * this check a task shared with a private project would let a non-member
 * remove it from that project. Returns 0, -1 after replying.
 */
static int check_projects_editable(api_ctx *ctx, int64_t gid)
{
	int64_t project_gid = 0;

	if (api_is_full_access(ctx)) {
		return 0;
	}

	/* One project per query, in gid order, since the access check runs its own queries. */
	for (;;) {
		enum task_access access;
		db_stmt *s;
		int rc;

		s = db_query(ctx->db, DOOMED_TASKS "SELECT tp.project_gid FROM task_projects tp"
						   " WHERE tp.task_gid IN (SELECT gid FROM doomed) AND tp.project_gid > ?"
						   " ORDER BY tp.project_gid LIMIT 1");
		if (s == NULL) {
			return api_fail_db(ctx, DB_ERROR), -1;
		}
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		db_bind_int64(s, 2, project_gid);
		rc = db_step(s);
		if (rc == DB_ROW) {
			project_gid = db_column_int64(s, 0);
		}
		db_stmt_done(s);
		if (rc == DB_DONE) {
			return 0;
		}
		if (rc != DB_ROW) {
			return api_fail_db(ctx, rc), -1;
		}

		rc = task_project_access(ctx, project_gid, &access);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc), -1;
		}
		if (access != ACCESS_EDIT) {
			task_rollback(ctx);
			return api_forbidden(ctx, "This task or one of its subtasks is also in a project you cannot edit, so "
						  "deleting it would change that project. Remove the task from your projects "
						  "with removeProject instead, or ask that project's admin to delete it."),
			       -1;
		}
	}
}

/*
 * Checks that the caller may edit the parent of a subtask, because deleting
 * the subtask changes the parent's subtasks, as setParent does when it
 * moves a subtask out. Returns 0, -1 after replying.
 */
static int check_parent_editable(api_ctx *ctx, int64_t gid)
{
	enum task_access access;
	int64_t parent_gid = 0;
	db_stmt *s;
	int rc;

	s = db_query(ctx->db, "SELECT COALESCE(parent_gid, 0) FROM tasks WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR), -1;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		parent_gid = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		return api_fail_db(ctx, rc), -1;
	}
	if (parent_gid == 0) {
		return 0;
	}

	rc = task_access_get(ctx, parent_gid, &access);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (access != ACCESS_EDIT) {
		task_rollback(ctx);
		return api_forbidden(ctx, "You cannot edit this subtask's parent task, so you cannot delete the subtask. "
					  "Ask someone with edit access to the parent."),
		       -1;
	}
	return 0;
}

/*
 * Records a "deleted" event for the task and each of its subtasks, before
 * the rows go, so that each event still reaches the projects and parents it
 * bubbles up to. Subtasks are taken one per query in gid order, because
 * appending an event runs statements of its own. Returns a db status.
 */
static int record_deleted(api_ctx *ctx, int64_t gid)
{
	int64_t after = 0;

	for (;;) {
		db_stmt *s = db_query(ctx->db, DOOMED_TASKS "SELECT gid FROM doomed WHERE gid > ? ORDER BY gid LIMIT 1");
		int rc;

		if (s == NULL) {
			return DB_ERROR;
		}
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		db_bind_int64(s, 2, after);
		rc = db_step(s);
		if (rc == DB_ROW) {
			after = db_column_int64(s, 0);
		}
		db_stmt_done(s);
		if (rc == DB_DONE) {
			return DB_OK;
		}
		if (rc != DB_ROW) {
			return rc;
		}
		rc = task_event(ctx, after, "deleted", NULL, 0);
		if (rc != DB_OK) {
			return rc;
		}
	}
}

/* DELETE /tasks/{task_gid} */
int task_delete(api_ctx *ctx)
{
	int64_t gid;
	int status;

	if (api_param_gid(ctx, "task_gid", &gid)) {
		return 0;
	}
	if (api_begin_write(ctx) || task_require_edit(ctx, gid) || check_parent_editable(ctx, gid) ||
	    check_projects_editable(ctx, gid)) {
		return 0;
	}
	status = record_deleted(ctx, gid);
	if (status != DB_OK) {
		return api_fail_db(ctx, status);
	}

	for (size_t i = 0; i < sizeof(delete_sql) / sizeof(delete_sql[0]); i++) {
		db_stmt *s = db_query(ctx->db, delete_sql[i]);
		int rc;

		if (s == NULL) {
			return api_fail_db(ctx, DB_ERROR);
		}
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		rc = db_run(s);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

