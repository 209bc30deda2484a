/*
 * Task access checks, ordering, and the actions that link a task to other
 * objects: setParent, addProject, removeProject, addTag, removeTag,
 * addFollowers and removeFollowers.
 *
 * Order: a task's place in a project is task_projects.position and a
 * subtask's place under its parent is tasks.position. Both are integers
 * spaced TASK_POSITION_GAP apart when appended, so an insertion between two
 * neighbours takes the midpoint. When no integer is left between them, the
 * whole list is renumbered once and the midpoint taken again.
 */
#include "api/api.h"
#include "api/task_internal.h"

#include "store/events.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- access ---------- */

int task_bind_project_visible(api_ctx *ctx, db_stmt *s, int index)
{
	db_bind_int64(s, index, api_is_full_access(ctx));
	db_bind_int64(s, index + 1, ctx->who.role);
	db_bind_int64(s, index + 2, ctx->who.user_gid);
	db_bind_int64(s, index + 3, ctx->who.role);
	db_bind_int64(s, index + 4, ctx->who.user_gid);
	return index + 5;
}

int task_bind_task_visible(api_ctx *ctx, db_stmt *s, int index)
{
	db_bind_int64(s, index, api_is_full_access(ctx));
	db_bind_int64(s, index + 1, ctx->who.user_gid);
	db_bind_int64(s, index + 2, ctx->who.user_gid);
	index = task_bind_project_visible(ctx, s, index + 3);
	db_bind_int64(s, index, ctx->who.user_gid);
	return index + 1;
}

void task_rollback(api_ctx *ctx)
{
	if (db_in_transaction(ctx->db)) {
		db_rollback(ctx->db);
	}
}

/*
 * Edit access to the project aliased `p`: an editor or admin membership, or
 * no membership at all and access through the organization (public
 * projects) or the team (team-only projects). A commenter or viewer
 * membership limits the caller even where the organization would let them
 * edit. Five parameters, bound by bind_project_editable.
 */
#define PROJECT_EDITABLE_SQL(p)                                                                                \
	"(EXISTS (SELECT 1 FROM project_memberships em WHERE em.project_gid = " p ".gid AND em.user_gid = ?"  \
	" AND em.access_level IN ('admin', 'editor')) OR (NOT EXISTS (SELECT 1 FROM project_memberships en"    \
	" WHERE en.project_gid = " p ".gid AND en.user_gid = ?) AND ((? >= 1 AND " p ".privacy_setting ="     \
	" 'public_to_workspace') OR (? >= 1 AND " p ".privacy_setting = 'private_to_team' AND EXISTS (SELECT"  \
	" 1 FROM team_memberships et WHERE et.team_gid = " p ".team_gid AND et.user_gid = ?)))))"

static int bind_project_editable(api_ctx *ctx, db_stmt *s, int index)
{
	db_bind_int64(s, index, ctx->who.user_gid);
	db_bind_int64(s, index + 1, ctx->who.user_gid);
	db_bind_int64(s, index + 2, ctx->who.role);
	db_bind_int64(s, index + 3, ctx->who.role);
	db_bind_int64(s, index + 4, ctx->who.user_gid);
	return index + 5;
}

int task_project_access(api_ctx *ctx, int64_t project_gid, enum task_access *access_r)
{
	db_stmt *s;
	int exists = 0, visible, rc;

	*access_r = ACCESS_NONE;
	visible = api_can_see_project(ctx, project_gid, &exists);
	if (visible < 0) {
		return DB_ERROR;
	}
	if (!visible) {
		return DB_OK;
	}
	if (api_is_full_access(ctx)) {
		*access_r = ACCESS_EDIT;
		return DB_OK;
	}

	s = db_query(ctx->db, "SELECT CASE WHEN " PROJECT_EDITABLE_SQL("p") " THEN 1 ELSE 0 END"
			      " FROM projects p WHERE p.gid = ? AND p.workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	bind_project_editable(ctx, s, 0);
	db_bind_int64(s, 5, project_gid);
	db_bind_int64(s, 6, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*access_r = db_column_int64(s, 0) ? ACCESS_EDIT : ACCESS_READ;
	}
	db_stmt_done(s);
	return (rc == DB_ROW || rc == DB_DONE) ? DB_OK : rc;
}

int task_access_get(api_ctx *ctx, int64_t task_gid, enum task_access *access_r)
{
	int64_t gid = task_gid;
	int exists = 0, visible;

	*access_r = ACCESS_NONE;
	visible = api_can_see_task(ctx, task_gid, &exists);
	if (visible < 0) {
		return DB_ERROR;
	}
	if (!visible) {
		return DB_OK;
	}
	*access_r = ACCESS_READ;
	if (api_is_full_access(ctx)) {
		*access_r = ACCESS_EDIT;
		return DB_OK;
	}

	/* A subtask outside any project takes its rights from the nearest ancestor that decides. */
	for (int depth = 0; depth <= TASK_DEPTH_MAX && gid != 0; depth++) {
		db_stmt *s;
		int rc, personal, in_projects, editable;

		s = db_query(ctx->db,
			     "SELECT CASE WHEN t.assignee_gid = ? OR t.created_by = ? OR EXISTS (SELECT 1 FROM"
			     " task_followers f WHERE f.task_gid = t.gid AND f.user_gid = ?) THEN 1 ELSE 0 END,"
			     " (SELECT COUNT(*) FROM task_projects c WHERE c.task_gid = t.gid),"
			     " CASE WHEN EXISTS (SELECT 1 FROM task_projects tp JOIN projects p ON p.gid = tp.project_gid"
			     " WHERE tp.task_gid = t.gid AND " PROJECT_EDITABLE_SQL("p") ") THEN 1 ELSE 0 END,"
			     " COALESCE(t.parent_gid, 0) FROM tasks t WHERE t.gid = ? AND t.workspace_gid = ?");
		if (s == NULL) {
			return DB_ERROR;
		}
		db_bind_int64(s, 0, ctx->who.user_gid);
		db_bind_int64(s, 1, ctx->who.user_gid);
		db_bind_int64(s, 2, ctx->who.user_gid);
		bind_project_editable(ctx, s, 3);
		db_bind_int64(s, 8, gid);
		db_bind_int64(s, 9, ctx->who.workspace_gid);
		rc = db_step(s);
		if (rc != DB_ROW) {
			db_stmt_done(s);
			return rc == DB_DONE ? DB_OK : rc;
		}
		personal = db_column_int64(s, 0) != 0;
		in_projects = db_column_int64(s, 1) != 0;
		editable = db_column_int64(s, 2) != 0;
		gid = db_column_int64(s, 3);
		db_stmt_done(s);

		if (personal || editable) {
			*access_r = ACCESS_EDIT;
			return DB_OK;
		}
		if (in_projects) {
			return DB_OK;
		}
	}
	return DB_OK;
}

int task_require_edit(api_ctx *ctx, int64_t task_gid)
{
	enum task_access access;
	int rc = task_access_get(ctx, task_gid, &access);

	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (access == ACCESS_NONE) {
		task_rollback(ctx);
		return api_not_found(ctx, "task", task_gid), -1;
	}
	if (access == ACCESS_READ) {
		task_rollback(ctx);
		return api_forbidden(ctx, "You have comment-only or view-only access to this task's projects, so you "
					  "cannot change it. Ask a project admin for edit access."),
		       -1;
	}
	return 0;
}

int task_touch(api_ctx *ctx, int64_t task_gid)
{
	db_stmt *s = db_query(ctx->db, "UPDATE tasks SET modified_at = ? WHERE gid = ? AND workspace_gid = ?");

	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, task_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	return db_run(s);
}

/* Fills in the task's resource_subtype, which event readers show beside its gid. */
static int task_event_append(api_ctx *ctx, int64_t task_gid, struct change_event *event)
{
	db_stmt *s = db_query(ctx->db, "SELECT resource_subtype FROM tasks WHERE gid = ? AND workspace_gid = ?");
	char subtype[24] = "default_task";
	int rc;

	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, task_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW && db_column_text(s, 0) != NULL) {
		snprintf(subtype, sizeof(subtype), "%s", db_column_text(s, 0));
	}
	db_stmt_done(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		return rc;
	}
	event->resource_type = "task";
	event->resource_subtype = subtype;
	event->resource_gid = task_gid;
	return api_event(ctx, event);
}

int task_event(api_ctx *ctx, int64_t task_gid, const char *action, const char *parent_type, int64_t parent_gid)
{
	struct change_event event = { .action = action, .parent_type = parent_type, .parent_gid = parent_gid };

	return task_event_append(ctx, task_gid, &event);
}

int task_event_change(api_ctx *ctx, int64_t task_gid, const char *field, const char *change_action,
		      const char *value_type, int64_t value_gid)
{
	struct change_event event = { .action = "changed", .change_field = field, .change_action = change_action,
				      .value_type = value_type, .value_gid = value_gid };

	return task_event_append(ctx, task_gid, &event);
}

int task_follower_add(api_ctx *ctx, int64_t task_gid, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, "INSERT INTO task_followers (workspace_gid, task_gid, user_gid) VALUES (?, ?, ?)"
				       " ON CONFLICT (task_gid, user_gid) DO NOTHING");

	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, task_gid);
	db_bind_int64(s, 2, user_gid);
	return db_run(s);
}

/* ---------- positions ---------- */

/*
 * The statements of one ordered list: the tasks of one section of a project
 * (scope: project, and section or 0 for none) or the subtasks of a task
 * (scope: parent). Every statement takes the scope and the workspace first.
 * Then `position_of` takes the item, `before` and `after` a position and the
 * item to ignore, `last` the item to ignore, and `ties` a position. `set`
 * takes the new position before the scope and the item after it.
 */
struct position_sql {
	const char *position_of;
	const char *before;
	const char *after;
	const char *last;
	const char *ties;
	const char *items;
	const char *set;
};

#define SECTION_SCOPE " FROM task_projects WHERE project_gid = ? AND COALESCE(section_gid, 0) = ? AND workspace_gid = ?"

static const struct position_sql section_sql = {
	"SELECT position" SECTION_SCOPE " AND task_gid = ?",
	"SELECT MAX(position)" SECTION_SCOPE " AND position < ? AND task_gid <> ?",
	"SELECT MIN(position)" SECTION_SCOPE " AND position > ? AND task_gid <> ?",
	"SELECT MAX(position)" SECTION_SCOPE " AND task_gid <> ?",
	"SELECT COUNT(*)" SECTION_SCOPE " AND position = ?",
	"SELECT task_gid" SECTION_SCOPE " ORDER BY position, task_gid",
	"UPDATE task_projects SET position = ? WHERE project_gid = ? AND COALESCE(section_gid, 0) = ?"
	" AND workspace_gid = ? AND task_gid = ?",
};

#define SUBTASK_SCOPE " FROM tasks WHERE parent_gid = ? AND workspace_gid = ?"

static const struct position_sql subtask_sql = {
	"SELECT position" SUBTASK_SCOPE " AND gid = ?",
	"SELECT MAX(position)" SUBTASK_SCOPE " AND position < ? AND gid <> ?",
	"SELECT MIN(position)" SUBTASK_SCOPE " AND position > ? AND gid <> ?",
	"SELECT MAX(position)" SUBTASK_SCOPE " AND gid <> ?",
	"SELECT COUNT(*)" SUBTASK_SCOPE " AND position = ?",
	"SELECT gid" SUBTASK_SCOPE " ORDER BY position, gid",
	"UPDATE tasks SET position = ? WHERE parent_gid = ? AND workspace_gid = ? AND gid = ?",
};

/* One ordered list: its statements and its scope values (one for subtasks, two for a section). */
struct position_list {
	const struct position_sql *sql;
	int64_t scope[2];
	int scope_count;
};

static struct position_list section_list(int64_t project_gid, int64_t section_gid)
{
	struct position_list list = { &section_sql, { project_gid, section_gid }, 2 };

	return list;
}

static struct position_list subtask_list(int64_t parent_gid)
{
	struct position_list list = { &subtask_sql, { parent_gid, 0 }, 1 };

	return list;
}

/* Binds the scope and the workspace from `index` on; returns the next index. */
static int bind_scope(api_ctx *ctx, db_stmt *s, int index, const struct position_list *list)
{
	for (int i = 0; i < list->scope_count; i++) {
		db_bind_int64(s, index++, list->scope[i]);
	}
	db_bind_int64(s, index++, ctx->who.workspace_gid);
	return index;
}

/*
 * Runs a one-value statement of a list with `count` more parameters after
 * the scope. Sets *value_r and *found_r (0 when there is no row or the
 * value is NULL). Returns a db status.
 */
static int list_value(api_ctx *ctx, const struct position_list *list, const char *sql, const int64_t *params,
		      int count, int64_t *value_r, int *found_r)
{
	db_stmt *s = db_query(ctx->db, sql);
	int rc, index;

	*value_r = 0;
	*found_r = 0;
	if (s == NULL) {
		return DB_ERROR;
	}
	index = bind_scope(ctx, s, 0, list);
	for (int i = 0; i < count; i++) {
		db_bind_int64(s, index + i, params[i]);
	}
	rc = db_step(s);
	if (rc == DB_ROW && !db_column_is_null(s, 0)) {
		*value_r = db_column_int64(s, 0);
		*found_r = 1;
	}
	db_stmt_done(s);
	return (rc == DB_ROW || rc == DB_DONE) ? DB_OK : rc;
}

/* Respaces the whole list TASK_POSITION_GAP apart, keeping its order. Returns a db status. */
static int renumber(api_ctx *ctx, const struct position_list *list)
{
	int64_t *items = NULL;
	size_t count = 0, cap = 0;
	db_stmt *s;
	int rc;

	/* Read first, then write: updating the sort column while the ordered scan runs could revisit rows. */
	s = db_query(ctx->db, list->sql->items);
	if (s == NULL) {
		return DB_ERROR;
	}
	bind_scope(ctx, s, 0, list);
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (count == cap) {
			size_t grown_cap = cap ? cap * 2 : 256;
			int64_t *grown = realloc(items, grown_cap * sizeof(*items));

			if (grown == NULL) {
				rc = DB_ERROR;
				break;
			}
			items = grown;
			cap = grown_cap;
		}
		items[count++] = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		free(items);
		return rc;
	}

	rc = DB_OK;
	for (size_t i = 0; i < count && rc == DB_OK; i++) {
		int index;

		s = db_query(ctx->db, list->sql->set);
		if (s == NULL) {
			rc = DB_ERROR;
			break;
		}
		db_bind_int64(s, 0, (int64_t)(i + 1) * TASK_POSITION_GAP);
		index = bind_scope(ctx, s, 1, list);
		db_bind_int64(s, index, items[i]);
		rc = db_run(s);
	}
	free(items);
	return rc;
}

/* Computes the position after the last item of the list other than `self`. Returns a db status. */
static int position_end(api_ctx *ctx, const struct position_list *list, int64_t self, int64_t *position_r)
{
	int64_t last;
	int found, rc;

	rc = list_value(ctx, list, list->sql->last, &self, 1, &last, &found);
	*position_r = found ? last + TASK_POSITION_GAP : TASK_POSITION_GAP;
	return rc;
}

/*
 * Computes a free position right before (`after` 0) or right after (`after`
 * 1) the item `anchor`, ignoring `self`, the item being moved. Positions
 * stay above 0, so after a renumbering there is always room before the
 * first item. Returns a db status.
 */
static int position_next_to(api_ctx *ctx, const struct position_list *list, int64_t anchor, int64_t self, int after,
			    int64_t *position_r)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int64_t anchor_position, neighbour, ties;
		int found, rc;

		rc = list_value(ctx, list, list->sql->position_of, &anchor, 1, &anchor_position, &found);
		if (rc != DB_OK || !found) {
			return rc != DB_OK ? rc : DB_ERROR;
		}

		/* Equal positions are ordered by gid, which a midpoint cannot express: spread them out first. */
		rc = list_value(ctx, list, list->sql->ties, &anchor_position, 1, &ties, &found);
		if (rc != DB_OK) {
			return rc;
		}
		if (ties <= 1) {
			int64_t params[] = { anchor_position, self };

			rc = list_value(ctx, list, after ? list->sql->after : list->sql->before, params, 2, &neighbour,
					&found);
			if (rc != DB_OK) {
				return rc;
			}
			if (after && !found) {
				*position_r = anchor_position + TASK_POSITION_GAP;
				return DB_OK;
			}
			if (!found) {
				neighbour = 0;
			}
			if (after && neighbour - anchor_position >= 2) {
				*position_r = anchor_position + (neighbour - anchor_position) / 2;
				return DB_OK;
			}
			if (!after && anchor_position - neighbour >= 2) {
				*position_r = neighbour + (anchor_position - neighbour) / 2;
				return DB_OK;
			}
		}
		rc = renumber(ctx, list);
		if (rc != DB_OK) {
			return rc;
		}
	}
	return DB_ERROR;
}

/* Computes the position before the first item other than `self`, or the end position when there is none. */
static int position_start(api_ctx *ctx, const struct position_list *list, int64_t self, int64_t *position_r)
{
	db_stmt *s;
	int64_t first = 0;
	int rc, index;

	s = db_query(ctx->db, list->sql->items);
	if (s == NULL) {
		return DB_ERROR;
	}
	index = bind_scope(ctx, s, 0, list);
	(void)index;
	/* The ordered item list, read until the first item that is not `self`. */
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		first = db_column_int64(s, 0);
		if (first != self) {
			break;
		}
		first = 0;
	}
	db_stmt_done(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		return rc;
	}
	if (first == 0) {
		return position_end(ctx, list, self, position_r);
	}
	return position_next_to(ctx, list, first, self, 0, position_r);
}

int task_subtask_end(api_ctx *ctx, int64_t parent_gid, int64_t *position_r)
{
	struct position_list list = subtask_list(parent_gid);

	return position_end(ctx, &list, 0, position_r);
}

/* ---------- placing a task in a project ---------- */

/*
 * Reads one row of (gid, name) from a query with `count` integer
 * parameters into *gid_r and `name` (when name_len > 0). *gid_r is 0 when
 * there is no row. Returns a db status.
 */
static int query_ref(api_ctx *ctx, const char *sql, const int64_t *params, int count, int64_t *gid_r, char *name,
		     size_t name_len)
{
	db_stmt *s = db_query(ctx->db, sql);
	int rc;

	*gid_r = 0;
	if (name_len > 0) {
		name[0] = '\0';
	}
	if (s == NULL) {
		return DB_ERROR;
	}
	for (int i = 0; i < count; i++) {
		db_bind_int64(s, i, params[i]);
	}
	rc = db_step(s);
	if (rc == DB_ROW) {
		const char *text = db_column_text(s, 1);

		*gid_r = db_column_int64(s, 0);
		if (name_len > 0) {
			snprintf(name, name_len, "%s", text ? text : "");
		}
	}
	db_stmt_done(s);
	return (rc == DB_ROW || rc == DB_DONE) ? DB_OK : rc;
}

/* The facts task_project_place loads before it moves the task. */
struct place_state {
	char project_name[256];
	int was_in;          /* the task was already in the project */
	int64_t old_section; /* its section then, 0 for none */
	int64_t section;     /* the section it ends in, 0 for none */
	char section_name[256];
};

/*
 * Checks an anchor task: it must be in the project, not be the task itself,
 * and be in the section when one was given. Sets *anchor_section_r.
 * Returns 0, -1 after replying.
 */
static int check_anchor(api_ctx *ctx, const char *field, int64_t task_gid, int64_t project_gid, int64_t anchor,
			int64_t section_gid, int64_t *anchor_section_r)
{
	int64_t params[] = { project_gid, ctx->who.workspace_gid, anchor }, section, found;
	int rc;

	if (anchor == task_gid) {
		task_rollback(ctx);
		return api_error(ctx, 400, "%s: the task cannot be placed next to itself; name another task.", field), -1;
	}
	rc = query_ref(ctx, "SELECT task_gid, COALESCE(section_gid, 0) FROM task_projects"
			    " WHERE project_gid = ? AND workspace_gid = ? AND task_gid = ?",
		       params, 3, &found, NULL, 0);
	if (rc == DB_OK && found != 0) {
		rc = query_ref(ctx, "SELECT COALESCE(section_gid, 0), '' FROM task_projects"
				    " WHERE project_gid = ? AND workspace_gid = ? AND task_gid = ?",
			       params, 3, &section, NULL, 0);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (found == 0) {
		task_rollback(ctx);
		return api_error(ctx, 400, "%s: task %lld is not in project %lld; name a task of that project.", field,
				 (long long)anchor, (long long)project_gid),
		       -1;
	}
	if (section_gid != 0 && section != section_gid) {
		task_rollback(ctx);
		return api_error(ctx, 400, "%s: task %lld is not in section %lld; name a task of that section or leave "
					   "the section out.",
				 field, (long long)anchor, (long long)section_gid),
		       -1;
	}
	*anchor_section_r = section;
	return 0;
}

/* Loads the project's name and the task's current membership. Returns -1 after replying. */
static int place_load(api_ctx *ctx, int64_t task_gid, int64_t project_gid, struct place_state *st)
{
	int64_t project_params[] = { project_gid, ctx->who.workspace_gid };
	int64_t member_params[] = { project_gid, ctx->who.workspace_gid, task_gid };
	int64_t gid;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = query_ref(ctx, "SELECT gid, name FROM projects WHERE gid = ? AND workspace_gid = ?", project_params, 2,
		       &gid, st->project_name, sizeof(st->project_name));
	if (rc == DB_OK && gid == 0) {
		rc = DB_ERROR; /* the caller checked access, so the project exists */
	}
	if (rc == DB_OK) {
		rc = query_ref(ctx, "SELECT task_gid, '' FROM task_projects WHERE project_gid = ? AND workspace_gid = ?"
				    " AND task_gid = ?",
			       member_params, 3, &gid, NULL, 0);
		st->was_in = gid != 0;
	}
	if (rc == DB_OK && st->was_in) {
		rc = query_ref(ctx, "SELECT COALESCE(section_gid, 0), '' FROM task_projects WHERE project_gid = ?"
				    " AND workspace_gid = ? AND task_gid = ?",
			       member_params, 3, &st->old_section, NULL, 0);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	return 0;
}

/* Checks that a section belongs to the project and loads its name. Returns -1 after replying. */
static int section_load(api_ctx *ctx, int64_t project_gid, int64_t section_gid, struct place_state *st)
{
	int64_t params[] = { section_gid, project_gid, ctx->who.workspace_gid }, gid;
	int rc;

	st->section = section_gid;
	st->section_name[0] = '\0';
	if (section_gid == 0) {
		return 0;
	}
	rc = query_ref(ctx, "SELECT gid, name FROM sections WHERE gid = ? AND project_gid = ? AND workspace_gid = ?",
		       params, 3, &gid, st->section_name, sizeof(st->section_name));
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (gid == 0) {
		task_rollback(ctx);
		return api_error(ctx, 400, "section: section %lld is not in project %lld; name a section of that "
					   "project.",
				 (long long)section_gid, (long long)project_gid),
		       -1;
	}
	return 0;
}

/*
 * Records the stories of a placement. They name the project and its
 * sections, so they carry the project's gid for readers who cannot see it.
 * Returns a db status.
 */
static int place_stories(api_ctx *ctx, int64_t task_gid, int64_t project_gid, const struct place_state *st)
{
	char text[900];
	char old_name[256] = "";

	if (!st->was_in) {
		snprintf(text, sizeof(text), "added this task to %s", st->project_name);
		return api_story_add_system_project(ctx, task_gid, "added_to_project", text, project_gid);
	}
	if (st->old_section == st->section) {
		return DB_OK;
	}
	if (st->old_section != 0) {
		int64_t params[] = { st->old_section, ctx->who.workspace_gid }, gid;
		int rc = query_ref(ctx, "SELECT gid, name FROM sections WHERE gid = ? AND workspace_gid = ?", params, 2,
				   &gid, old_name, sizeof(old_name));

		if (rc != DB_OK) {
			return rc;
		}
	}
	snprintf(text, sizeof(text), "moved this task from \"%s\" to \"%s\" in %s", old_name, st->section_name,
		 st->project_name);
	return api_story_add_system_project(ctx, task_gid, "section_changed", text, project_gid);
}

/*
 * Records the events of a placement as Asana reports them. A task new to the
 * project is "added" to the project and to its section. A task moved to
 * another section of the same project is "added" to that section.
 */
static int place_events(api_ctx *ctx, int64_t task_gid, int64_t project_gid, const struct place_state *st)
{
	int rc = DB_OK;

	if (!st->was_in) {
		rc = task_event(ctx, task_gid, "added", "project", project_gid);
	}
	if (rc == DB_OK && st->section != 0 && (!st->was_in || st->old_section != st->section)) {
		rc = task_event(ctx, task_gid, "added", "section", st->section);
	}
	return rc;
}

/* Returns 400 when the task is already in TASK_PROJECTS_MAX projects. Returns -1 after replying. */
static int check_project_count(api_ctx *ctx, int64_t task_gid)
{
	int64_t params[] = { task_gid, ctx->who.workspace_gid }, count = 0;
	db_stmt *s = db_query(ctx->db, "SELECT COUNT(*) FROM task_projects WHERE task_gid = ? AND workspace_gid = ?");
	int rc;

	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR), -1;
	}
	db_bind_int64(s, 0, params[0]);
	db_bind_int64(s, 1, params[1]);
	rc = db_step(s);
	if (rc == DB_ROW) {
		count = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc), -1;
	}
	if (count >= TASK_PROJECTS_MAX) {
		task_rollback(ctx);
		return api_error(ctx, 400, "project: a task can be in at most %d projects; remove it from one first.",
				 TASK_PROJECTS_MAX),
		       -1;
	}
	return 0;
}

int task_project_lock(api_ctx *ctx, int64_t project_gid)
{
	db_stmt *s = db_query(ctx->db, "UPDATE projects SET modified_at = modified_at WHERE gid = ? AND workspace_gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, project_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	return db_run(s);
}

int task_project_place(api_ctx *ctx, int64_t task_gid, int64_t project_gid, const struct task_placement *where)
{
	struct place_state st;
	struct position_list list;
	int64_t position = 0, anchor_section = 0, anchor = where->insert_before ? where->insert_before : where->insert_after;
	int64_t section_gid = where->section_gid;
	db_stmt *s;
	int rc = DB_OK;

	rc = task_project_lock(ctx, project_gid);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (place_load(ctx, task_gid, project_gid, &st)) {
		return -1;
	}
	if (anchor != 0 && check_anchor(ctx, where->insert_before ? "insert_before" : "insert_after", task_gid,
					project_gid, anchor, where->section_gid, &anchor_section)) {
		return -1;
	}
	if (!st.was_in && check_project_count(ctx, task_gid)) {
		return -1;
	}

	/*
	 * The section: the one named, else the anchor's, else the current one
	 * when the task only moves, else the first section for the start of the
	 * project and the last one for its end (Asana's "end of the project").
	 */
	if (section_gid == 0) {
		int64_t params[] = { project_gid, ctx->who.workspace_gid };

		if (anchor != 0) {
			section_gid = anchor_section;
		} else if (st.was_in && !where->at_start) {
			section_gid = st.old_section;
		} else {
			rc = query_ref(ctx,
				       where->at_start ? "SELECT gid, name FROM sections WHERE project_gid = ? AND workspace_gid = ?"
							 " ORDER BY position, gid LIMIT 1"
						       : "SELECT gid, name FROM sections WHERE project_gid = ? AND workspace_gid = ?"
							 " ORDER BY position DESC, gid DESC LIMIT 1",
				       params, 2, &section_gid, NULL, 0);
			if (rc != DB_OK) {
				return api_fail_db(ctx, rc), -1;
			}
		}
	}
	if (section_load(ctx, project_gid, section_gid, &st)) {
		return -1;
	}

	/* The position within the section: next to the anchor, else first or last. */
	list = section_list(project_gid, section_gid);
	if (anchor != 0) {
		rc = position_next_to(ctx, &list, anchor, task_gid, where->insert_after != 0, &position);
	} else if (where->at_start) {
		rc = position_start(ctx, &list, task_gid, &position);
	} else {
		rc = position_end(ctx, &list, task_gid, &position);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}

	s = db_query(ctx->db, st.was_in ? "UPDATE task_projects SET position = ?, section_gid = ?"
					  " WHERE workspace_gid = ? AND task_gid = ? AND project_gid = ?"
					: "INSERT INTO task_projects (position, section_gid, workspace_gid, task_gid, project_gid)"
					  " VALUES (?, ?, ?, ?, ?)");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR), -1;
	}
	db_bind_int64(s, 0, position);
	db_bind_gid(s, 1, st.section);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, task_gid);
	db_bind_int64(s, 4, project_gid);
	rc = db_run(s);
	/* A new task (silent) records its own events and stories once it is complete. */
	if (rc == DB_OK && !where->silent) {
		rc = place_stories(ctx, task_gid, project_gid, &st);
	}
	if (rc == DB_OK && !where->silent) {
		rc = place_events(ctx, task_gid, project_gid, &st);
	}
	if (rc == DB_OK) {
		rc = task_touch(ctx, task_gid);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	return 0;
}

/* ---------- setParent ---------- */

static const struct api_field set_parent_fields[] = {
	{ "parent", AF_GID, AF_REQUIRED | AF_NULLABLE, 0, NULL },
	{ "insert_before", AF_GID, AF_NULLABLE, 0, NULL },
	{ "insert_after", AF_GID, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/*
 * Rejects a parent that would put the task below itself, or nest deeper
 * than TASK_DEPTH_MAX. Returns 0, -1 after replying.
 */
static int check_ancestry(api_ctx *ctx, int64_t task_gid, int64_t parent_gid)
{
	int64_t gid = parent_gid;

	for (int depth = 0; gid != 0; depth++) {
		int64_t params[] = { gid, ctx->who.workspace_gid };
		int rc;

		if (gid == task_gid) {
			task_rollback(ctx);
			return api_error(ctx, 400, "parent: task %lld is the task itself or one of its subtasks; making it "
						   "the parent would create a cycle. Choose a task outside this one's subtasks.",
					 (long long)parent_gid),
			       -1;
		}
		if (depth >= TASK_DEPTH_MAX) {
			task_rollback(ctx);
			return api_error(ctx, 400, "parent: subtasks nest at most %d levels deep; choose a parent higher up.",
					 TASK_DEPTH_MAX),
			       -1;
		}
		rc = query_ref(ctx, "SELECT COALESCE(parent_gid, 0), '' FROM tasks WHERE gid = ? AND workspace_gid = ?",
			       params, 2, &gid, NULL, 0);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc), -1;
		}
	}
	return 0;
}

/* Checks that an anchor is a subtask of `parent_gid` other than the task. Returns 0, -1 after replying. */
static int check_subtask_anchor(api_ctx *ctx, const char *field, int64_t task_gid, int64_t parent_gid,
				int64_t anchor)
{
	struct position_list list = subtask_list(parent_gid);
	int64_t position;
	int found, rc;

	rc = list_value(ctx, &list, list.sql->position_of, &anchor, 1, &position, &found);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (!found || anchor == task_gid) {
		task_rollback(ctx);
		return api_error(ctx, 400, "%s: task %lld is not another subtask of the parent %lld; name one of its "
					   "other subtasks.",
				 field, (long long)anchor, (long long)parent_gid),
		       -1;
	}
	return 0;
}

/*
 * Checks that the caller may take the task out of its current parent, which
 * changes that parent's subtasks: it needs edit access to the parent, like
 * to a new one. A parent the caller cannot see (in a private project, say)
 * gives 403, since the subtask itself is visible and its parent's gid is
 * shown. Returns 0, -1 after replying.
 */
static int check_old_parent(api_ctx *ctx, int64_t task_gid, int64_t new_parent_gid)
{
	int64_t params[] = { task_gid, ctx->who.workspace_gid };
	enum task_access access;
	int64_t old_parent_gid;
	int rc;

	rc = query_ref(ctx, "SELECT COALESCE(parent_gid, 0), '' FROM tasks WHERE gid = ? AND workspace_gid = ?", params,
		       2, &old_parent_gid, NULL, 0);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (old_parent_gid == 0 || old_parent_gid == new_parent_gid) {
		return 0;
	}
	rc = task_access_get(ctx, old_parent_gid, &access);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (access != ACCESS_EDIT) {
		task_rollback(ctx);
		return api_forbidden(ctx, "parent: you cannot edit this subtask's current parent task, so you cannot "
					  "move the subtask out of it. Ask someone with edit access to the parent."),
		       -1;
	}
	return 0;
}

/* POST /tasks/{task_gid}/setParent */
int task_set_parent(api_ctx *ctx)
{
	struct position_list list;
	int64_t task_gid, parent_gid, old_parent = 0, before, after, position = 0;
	int64_t params[2];
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_check_body(ctx, set_parent_fields)) {
		return 0;
	}
	parent_gid = api_body_gid(ctx, "parent");
	before = api_body_gid(ctx, "insert_before");
	after = api_body_gid(ctx, "insert_after");
	if (api_body_has(ctx, "insert_before") && api_body_has(ctx, "insert_after")) {
		return api_error(ctx, 400, "insert_before, insert_after: send at most one of them.");
	}
	if (parent_gid == 0 && (before != 0 || after != 0)) {
		return api_error(ctx, 400, "%s: only subtasks have an order; send a parent too.",
				 before ? "insert_before" : "insert_after");
	}

	if (api_begin_write(ctx) || task_require_edit(ctx, task_gid) || check_old_parent(ctx, task_gid, parent_gid)) {
		return 0;
	}
	if (parent_gid != 0) {
		/* Access first, so that the ancestry messages describe only tasks the caller may see. */
		if (task_require_edit(ctx, parent_gid) || check_ancestry(ctx, task_gid, parent_gid)) {
			return 0;
		}
		if ((before != 0 && check_subtask_anchor(ctx, "insert_before", task_gid, parent_gid, before)) ||
		    (after != 0 && check_subtask_anchor(ctx, "insert_after", task_gid, parent_gid, after))) {
			return 0;
		}

		/* insert_after: null puts the task first; no anchor at all puts it last. */
		list = subtask_list(parent_gid);
		if (before != 0 || after != 0) {
			rc = position_next_to(ctx, &list, before ? before : after, task_gid, after != 0, &position);
		} else if (api_body_has(ctx, "insert_after")) {
			rc = position_start(ctx, &list, task_gid, &position);
		} else {
			rc = position_end(ctx, &list, task_gid, &position);
		}
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}

	params[0] = task_gid;
	params[1] = ctx->who.workspace_gid;
	rc = query_ref(ctx, "SELECT COALESCE(parent_gid, 0), '' FROM tasks WHERE gid = ? AND workspace_gid = ?", params,
		       2, &old_parent, NULL, 0);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	/* The removal is recorded while the old parent is still set, so it reaches the old parent's projects. */
	if (old_parent != 0 && old_parent != parent_gid) {
		rc = task_event(ctx, task_gid, "removed", "task", old_parent);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}
	s = db_query(ctx->db, "UPDATE tasks SET parent_gid = ?, position = ?, modified_at = ?"
			      " WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_gid(s, 0, parent_gid);
	db_bind_int64(s, 1, position);
	db_bind_int64(s, 2, time_now_us());
	db_bind_int64(s, 3, task_gid);
	db_bind_int64(s, 4, ctx->who.workspace_gid);
	rc = db_run(s);
	if (rc == DB_OK && parent_gid != 0 && parent_gid != old_parent) {
		rc = task_event(ctx, task_gid, "added", "task", parent_gid);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return task_reply(ctx, 200, task_gid);
}

/* ---------- projects ---------- */

static const struct api_field add_project_fields[] = {
	{ "project", AF_GID, AF_REQUIRED, 0, NULL },
	{ "section", AF_GID, AF_NULLABLE, 0, NULL },
	{ "insert_before", AF_GID, AF_NULLABLE, 0, NULL },
	{ "insert_after", AF_GID, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct api_field remove_project_fields[] = {
	{ "project", AF_GID, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Checks that the caller may change the task and the project. Opens the transaction. Returns -1 after replying. */
static int begin_project_change(api_ctx *ctx, int64_t task_gid, int64_t project_gid)
{
	enum task_access access;
	int rc;

	if (api_begin_write(ctx) || task_require_edit(ctx, task_gid)) {
		return -1;
	}
	rc = task_project_access(ctx, project_gid, &access);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc), -1;
	}
	if (access == ACCESS_NONE) {
		task_rollback(ctx);
		return api_not_found(ctx, "project", project_gid), -1;
	}
	if (access == ACCESS_READ) {
		task_rollback(ctx);
		return api_forbidden(ctx, "You have comment-only or view-only access to this project, so you cannot "
					  "change its tasks. Ask a project admin for edit access."),
		       -1;
	}
	return 0;
}

/* POST /tasks/{task_gid}/addProject */
int task_add_project(api_ctx *ctx)
{
	struct task_placement where;
	int64_t task_gid, project_gid;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_check_body(ctx, add_project_fields)) {
		return 0;
	}
	if (api_body_has(ctx, "insert_before") && api_body_has(ctx, "insert_after")) {
		return api_error(ctx, 400, "insert_before, insert_after: send at most one of them.");
	}
	project_gid = api_body_gid(ctx, "project");
	memset(&where, 0, sizeof(where));
	where.section_gid = api_body_gid(ctx, "section");
	where.insert_before = api_body_gid(ctx, "insert_before");
	where.insert_after = api_body_gid(ctx, "insert_after");
	where.at_start = api_body_is_null(ctx, "insert_after");

	if (begin_project_change(ctx, task_gid, project_gid)) {
		return 0;
	}
	if (task_project_place(ctx, task_gid, project_gid, &where)) {
		return 0;
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

/* POST /tasks/{task_gid}/removeProject */
int task_remove_project(api_ctx *ctx)
{
	char name[256], text[300];
	int64_t task_gid, project_gid, gid;
	int64_t params[2];
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_check_body(ctx, remove_project_fields)) {
		return 0;
	}
	project_gid = api_body_gid(ctx, "project");
	if (begin_project_change(ctx, task_gid, project_gid)) {
		return 0;
	}

	s = db_query(ctx->db, "DELETE FROM task_projects WHERE task_gid = ? AND project_gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, task_gid);
	db_bind_int64(s, 1, project_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	rc = db_step(s);
	/* Removing a task from a project it is not in changes nothing and succeeds, so a retry is harmless. */
	if (rc == DB_DONE && db_changes(s) == 0) {
		db_stmt_done(s);
		task_rollback(ctx);
		return api_reply_empty(ctx);
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		return api_fail_db(ctx, rc);
	}

	params[0] = project_gid;
	params[1] = ctx->who.workspace_gid;
	rc = query_ref(ctx, "SELECT gid, name FROM projects WHERE gid = ? AND workspace_gid = ?", params, 2, &gid, name,
		       sizeof(name));
	if (rc == DB_OK) {
		snprintf(text, sizeof(text), "removed this task from %s", name);
		rc = api_story_add_system_project(ctx, task_gid, "removed_from_project", text, project_gid);
	}
	if (rc == DB_OK) {
		rc = task_event(ctx, task_gid, "removed", "project", project_gid);
	}
	if (rc == DB_OK) {
		rc = task_touch(ctx, task_gid);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

/* ---------- tags ---------- */

static const struct api_field tag_fields[] = {
	{ "tag", AF_GID, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Adds (`add` 1) or removes a tag. Tags are visible to the whole organization, so the tag only has to exist. */
static int change_tag(api_ctx *ctx, int add)
{
	int64_t task_gid, tag_gid, params[2], found_gid, changed;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_check_body(ctx, tag_fields)) {
		return 0;
	}
	tag_gid = api_body_gid(ctx, "tag");
	if (api_begin_write(ctx) || task_require_edit(ctx, task_gid)) {
		return 0;
	}
	params[0] = tag_gid;
	params[1] = ctx->who.workspace_gid;
	rc = query_ref(ctx, "SELECT gid, '' FROM tags WHERE gid = ? AND workspace_gid = ?", params, 2, &found_gid, NULL,
		       0);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (found_gid == 0) {
		task_rollback(ctx);
		return api_not_found(ctx, "tag", tag_gid);
	}

	s = db_query(ctx->db, add ? "INSERT INTO task_tags (workspace_gid, task_gid, tag_gid) VALUES (?, ?, ?)"
				    " ON CONFLICT (task_gid, tag_gid) DO NOTHING"
				  : "DELETE FROM task_tags WHERE workspace_gid = ? AND task_gid = ? AND tag_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, task_gid);
	db_bind_int64(s, 2, tag_gid);
	rc = db_step(s);
	changed = rc == DB_DONE ? db_changes(s) : 0;
	db_stmt_done(s);
	rc = rc == DB_DONE ? DB_OK : rc;
	/* A tag already on the task (or already off it) changes nothing, so it records no event. */
	if (rc == DB_OK && changed > 0) {
		rc = task_event_change(ctx, task_gid, "tags", add ? "added" : "removed", "tag", tag_gid);
	}
	if (rc == DB_OK) {
		rc = task_touch(ctx, task_gid);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

/* POST /tasks/{task_gid}/addTag */
int task_add_tag(api_ctx *ctx)
{
	return change_tag(ctx, 1);
}

/* POST /tasks/{task_gid}/removeTag */
int task_remove_tag(api_ctx *ctx)
{
	return change_tag(ctx, 0);
}

/* ---------- followers ---------- */

static const struct api_field follower_fields[] = {
	{ "followers", AF_GID_ARRAY, AF_REQUIRED | AF_USER, 100, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/*
 * Adds (`add` 1) or removes followers. Anyone who can see the task may
 * change its followers, commenters included. A user added as a follower can
 * then see the task.
 */
static int change_followers(api_ctx *ctx, int add)
{
	enum task_access access;
	json_t *followers, *item;
	int64_t task_gid;
	size_t i;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_check_body(ctx, follower_fields)) {
		return 0;
	}
	if (api_begin_write(ctx)) {
		return 0;
	}
	rc = task_access_get(ctx, task_gid, &access);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (access == ACCESS_NONE) {
		task_rollback(ctx);
		return api_not_found(ctx, "task", task_gid);
	}

	followers = json_object_get(ctx->body, "followers");
	json_array_foreach(followers, i, item) {
		int64_t user_gid;
		db_stmt *s;

		/* Removing a follower who has left the organization stays possible. */
		if (api_resolve_user(ctx, "followers", json_string_value(item), &user_gid) ||
		    (add && api_require_active_member(ctx, "followers", user_gid))) {
			task_rollback(ctx);
			return 0;
		}
		if (add) {
			rc = task_follower_add(ctx, task_gid, user_gid);
		} else {
			s = db_query(ctx->db, "DELETE FROM task_followers WHERE workspace_gid = ? AND task_gid = ? AND user_gid = ?");
			if (s == NULL) {
				return api_fail_db(ctx, DB_ERROR);
			}
			db_bind_int64(s, 0, ctx->who.workspace_gid);
			db_bind_int64(s, 1, task_gid);
			db_bind_int64(s, 2, user_gid);
			rc = db_run(s);
		}
		if (rc == DB_OK) {
			rc = task_event_change(ctx, task_gid, "followers", add ? "added" : "removed", "user", user_gid);
		}
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}
	rc = task_touch(ctx, task_gid);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx)) {
		return 0;
	}
	return task_reply(ctx, 200, task_gid);
}

/* POST /tasks/{task_gid}/addFollowers */
int task_add_followers(api_ctx *ctx)
{
	return change_followers(ctx, 1);
}

/* POST /tasks/{task_gid}/removeFollowers */
int task_remove_followers(api_ctx *ctx)
{
	return change_followers(ctx, 0);
}
