/*
 * Sections: the ordered parts of a project (list headers or board columns).
 * List, create, read, rename, move and delete them, and place a task in one
 * (POST /sections/{section_gid}/addTask, which the task handlers' placement
 * code carries out).
 *
 * Sections are ordered by (position, gid), with BIGINT positions spaced
 * PROJECT_POSITION_STEP apart. An insert takes the midpoint between its
 * neighbours; when they touch, the project's sections are renumbered in the
 * same transaction. A section is visible with its project; creating,
 * renaming, moving and deleting sections needs edit access to the project.
 */
#include "api/api.h"
#include "api/projects.h"
#include "api/task_internal.h"

#include "store/events.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ends the open write transaction before a reply that is not a storage failure. */
static void rollback(api_ctx *ctx)
{
	if (db_in_transaction(ctx->db))
		db_rollback(ctx->db);
}

/* ---------- ordering ---------- */

/*
 * Reads the position of the section next to an anchor at `anchor_position`
 * in (position, gid) order: the one before it when `before`, else the one
 * after it, leaving out `moving`. Sets *found_r. Returns DB_OK or an error.
 */
static int section_neighbour(api_ctx *ctx, int64_t project_gid, int64_t moving, int64_t anchor,
			     int64_t anchor_position, int before, int64_t *position_r, int *found_r)
{
	db_stmt *st;
	int status;

	*found_r = 0;
	if (before)
		st = db_query(ctx->db, "SELECT position FROM sections WHERE project_gid = ? AND workspace_gid = ? AND gid <> ?"
				       " AND (position < ? OR (position = ? AND gid < ?)) ORDER BY position DESC, gid DESC LIMIT 1");
	else
		st = db_query(ctx->db, "SELECT position FROM sections WHERE project_gid = ? AND workspace_gid = ? AND gid <> ?"
				       " AND (position > ? OR (position = ? AND gid > ?)) ORDER BY position, gid LIMIT 1");
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, moving);
	db_bind_int64(st, 3, anchor_position);
	db_bind_int64(st, 4, anchor_position);
	db_bind_int64(st, 5, anchor);
	status = db_step(st);
	if (status == DB_ROW) {
		*position_r = db_column_int64(st, 0);
		*found_r = 1;
	}
	db_stmt_done(st);
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/* Reads the position of the project's last section other than `moving`. Sets *found_r. Returns a db status. */
static int section_last(api_ctx *ctx, int64_t project_gid, int64_t moving, int64_t *position_r, int *found_r)
{
	db_stmt *st = db_query(ctx->db, "SELECT position FROM sections WHERE project_gid = ? AND workspace_gid = ?"
					" AND gid <> ? ORDER BY position DESC, gid DESC LIMIT 1");
	int status;

	*found_r = 0;
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, moving);
	status = db_step(st);
	if (status == DB_ROW) {
		*position_r = db_column_int64(st, 0);
		*found_r = 1;
	}
	db_stmt_done(st);
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/* Spreads the project's sections out to STEP, 2 * STEP, ... keeping their order. Returns a db status. */
static int sections_renumber(api_ctx *ctx, int64_t project_gid)
{
	int64_t *gids = NULL;
	size_t count = 0, capacity = 0;
	db_stmt *st;
	int status;

	st = db_query(ctx->db, "SELECT gid FROM sections WHERE project_gid = ? AND workspace_gid = ?"
			       " ORDER BY position, gid");
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		if (count == capacity) {
			size_t grown = capacity ? capacity * 2 : 64;
			int64_t *bigger = realloc(gids, grown * sizeof(*gids));

			if (bigger == NULL) {
				status = DB_ERROR;
				break;
			}
			gids = bigger;
			capacity = grown;
		}
		gids[count++] = db_column_int64(st, 0);
	}
	db_stmt_done(st);
	if (status != DB_DONE) {
		free(gids);
		return status;
	}

	status = DB_OK;
	for (size_t i = 0; status == DB_OK && i < count; i++) {
		st = db_query(ctx->db, "UPDATE sections SET position = ? WHERE gid = ? AND workspace_gid = ?");
		if (st == NULL) {
			status = DB_ERROR;
			break;
		}
		db_bind_int64(st, 0, (int64_t)(i + 1) * PROJECT_POSITION_STEP);
		db_bind_int64(st, 1, gids[i]);
		db_bind_int64(st, 2, ctx->who.workspace_gid);
		status = db_run(st);
	}
	free(gids);
	return status;
}

static int section_locate(api_ctx *ctx, int64_t gid, int64_t *project_r, int64_t *position_r);

/*
 * Picks the position for section `moving` (0 for a new one) right before or
 * after section `anchor`, or at the end of the project when anchor is 0.
 * When the neighbours leave no gap, renumbers the project's sections once
 * and reads the anchor's new position. Returns a db status.
 */
static int section_slot(api_ctx *ctx, int64_t project_gid, int64_t moving, int64_t anchor, int before,
			int64_t *position_r)
{
	int64_t neighbour = 0, anchor_position = 0, anchor_project;
	int found, status;

	if (anchor == 0) {
		status = section_last(ctx, project_gid, moving, &neighbour, &found);
		*position_r = found ? neighbour + PROJECT_POSITION_STEP : PROJECT_POSITION_STEP;
		return status;
	}

	for (int attempt = 0; attempt < 2; attempt++) {
		status = section_locate(ctx, anchor, &anchor_project, &anchor_position);
		if (status != DB_ROW)
			return status == DB_DONE ? DB_ERROR : status;
		status = section_neighbour(ctx, project_gid, moving, anchor, anchor_position, before, &neighbour, &found);
		if (status != DB_OK)
			return status;
		if (!found) {
			*position_r = before ? anchor_position - PROJECT_POSITION_STEP
					     : anchor_position + PROJECT_POSITION_STEP;
			return DB_OK;
		}
		/* A position lies strictly between two neighbours only when they differ by at least 2. */
		if ((before ? anchor_position - neighbour : neighbour - anchor_position) >= 2) {
			*position_r = before ? neighbour + (anchor_position - neighbour) / 2
					     : anchor_position + (neighbour - anchor_position) / 2;
			return DB_OK;
		}
		status = sections_renumber(ctx, project_gid);
		if (status != DB_OK)
			return status;
	}
	/* After a renumbering every gap is PROJECT_POSITION_STEP, so the loop returns before this. */
	return DB_ERROR;
}

/* ---------- representation ---------- */

static const char *const section_fields[] = { "name", "created_at", "project", "projects", NULL };
static const char *const section_compact[] = { "name", NULL };
static const struct api_type_ref section_refs[] = {
	{ "project", &api_project_type },
	{ "projects", &api_project_type },
	{ NULL, NULL },
};

#define SECTION_SELECT                                                                        \
	"SELECT s.gid, s.name, s.created_at, s.project_gid, p.name, s.position FROM sections s" \
	" JOIN projects p ON p.gid = s.project_gid"

enum { COL_GID, COL_NAME, COL_CREATED_AT, COL_PROJECT, COL_PROJECT_NAME, COL_POSITION };

static json_t *section_from_row(db_stmt *st)
{
	json_t *section = api_object_new("section", db_column_int64(st, COL_GID));
	int64_t project_gid = db_column_int64(st, COL_PROJECT);
	const char *project_name = db_column_text(st, COL_PROJECT_NAME);

	json_object_set_new(section, "name", json_string(db_column_text(st, COL_NAME)));
	json_object_set_new(section, "created_at", api_time(db_column_int64(st, COL_CREATED_AT)));
	json_object_set_new(section, "project", api_ref("project", project_gid, project_name));
	json_object_set_new(section, "projects", json_pack("[o]", api_ref("project", project_gid, project_name)));
	return section;
}

/* Reads a section of the caller's organization whose project they may see. Returns DB_ROW, DB_DONE or an error. */
static int section_fetch(api_ctx *ctx, int64_t gid, json_t **section_r)
{
	db_stmt *st = db_query(ctx->db, SECTION_SELECT " WHERE s.gid = ? AND s.workspace_gid = ?");
	int64_t project_gid = 0;
	int status, exists = 0, visible;

	*section_r = NULL;
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW) {
		project_gid = db_column_int64(st, COL_PROJECT);
		*section_r = section_from_row(st);
	}
	db_stmt_done(st);
	if (status != DB_ROW)
		return status;
	visible = api_can_see_project(ctx, project_gid, &exists);
	if (visible != 1) {
		json_decref(*section_r);
		*section_r = NULL;
		return visible < 0 ? DB_ERROR : DB_DONE;
	}
	return DB_ROW;
}

static json_t *section_load(api_ctx *ctx, int64_t gid)
{
	json_t *section;

	if (section_fetch(ctx, gid, &section) != DB_ROW)
		return NULL;
	return section;
}

const struct api_type api_section_type = {
	.name = "section",
	.fields = section_fields,
	.compact = section_compact,
	.refs = section_refs,
	.load = section_load,
};

/* Replies with a section: 200, or 201 with a Location header when `created`. */
static int section_reply(api_ctx *ctx, int64_t gid, int created)
{
	json_t *section;
	int status = section_fetch(ctx, gid, &section);

	if (status == DB_DONE)
		return api_not_found(ctx, "section", gid);
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	return api_reply_object(ctx, &api_section_type, section, "/sections", gid, created ? 201 : 200);
}

/* ---------- lookups ---------- */

/* Reads a section's project and position in the caller's organization. Returns DB_ROW, DB_DONE or an error. */
static int section_locate(api_ctx *ctx, int64_t gid, int64_t *project_r, int64_t *position_r)
{
	db_stmt *st = db_query(ctx->db, "SELECT project_gid, position FROM sections WHERE gid = ? AND workspace_gid = ?");
	int status;

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW) {
		*project_r = db_column_int64(st, 0);
		*position_r = db_column_int64(st, 1);
	}
	db_stmt_done(st);
	return status;
}

/*
 * Requires that the section named by body field `field` lies in
 * project_gid: 404 when it is missing or its project is invisible, 400 when
 * it belongs to another project. Sets its position. Returns 0, or -1 after
 * replying.
 */
static int section_require_in(api_ctx *ctx, const char *field, int64_t section_gid, int64_t project_gid,
			      int64_t *position_r)
{
	int64_t actual_project = 0;
	int status = section_locate(ctx, section_gid, &actual_project, position_r);
	int exists = 0, visible = 1;

	if (status == DB_ROW && actual_project != project_gid)
		visible = api_can_see_project(ctx, actual_project, &exists);
	if ((status != DB_ROW && status != DB_DONE) || visible < 0) {
		api_fail_db(ctx, visible < 0 ? DB_ERROR : status);
		return -1;
	}
	if (status == DB_DONE || !visible) {
		api_error(ctx, 404, "%s: section not found: %lld. Check the gid.", field, (long long)section_gid);
		return -1;
	}
	if (actual_project != project_gid) {
		api_error(ctx, 400, "%s: section %lld belongs to another project. Sections cannot be moved between "
				    "projects; name a section of this project.",
			  field, (long long)section_gid);
		return -1;
	}
	return 0;
}

/*
 * Reads the anchor of an insert from two mutually exclusive body fields:
 * *anchor_r is 0 when neither is sent, *before_r is 1 for `before_field`.
 * Returns 0, or -1 after replying.
 */
static int anchor_from_body(api_ctx *ctx, const char *before_field, const char *after_field, int64_t *anchor_r,
			    int *before_r)
{
	int64_t before = api_body_gid(ctx, before_field), after = api_body_gid(ctx, after_field);

	if (before != 0 && after != 0) {
		api_error(ctx, 400, "%s, %s: send at most one of them.", before_field, after_field);
		return -1;
	}
	*anchor_r = before != 0 ? before : after;
	*before_r = before != 0;
	return 0;
}

/* ---------- list and create ---------- */

/* GET /projects/{project_gid}/sections, in project order. */
static int sections_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t project_gid, last_position = 0, last_gid = 0;
	int status, fetched = 0;
	json_t *items;
	db_stmt *st;

	if (api_param_gid(ctx, "project_gid", &project_gid))
		return 0;
	if (api_page_parse(ctx, &page))
		return 0;
	if (api_project_require(ctx, project_gid, PROJECT_READ))
		return 0;

	/* The key is (position, gid); after2 is 0 only on the first page, since no gid is 0. */
	st = db_query(ctx->db, SECTION_SELECT " WHERE s.project_gid = ? AND s.workspace_gid = ?"
					      " AND (? = 0 OR s.position > ? OR (s.position = ? AND s.gid > ?))"
					      " ORDER BY s.position, s.gid LIMIT ?");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, page.after2 != 0);
	db_bind_int64(st, 3, page.after);
	db_bind_int64(st, 4, page.after);
	db_bind_int64(st, 5, page.after2);
	db_bind_int64(st, 6, page.limit + 1);

	items = json_array();
	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		if (++fetched > page.limit)
			continue;
		last_position = db_column_int64(st, COL_POSITION);
		last_gid = db_column_int64(st, COL_GID);
		json_array_append_new(items, api_present(ctx, &api_section_type, section_from_row(st)));
	}
	db_stmt_done(st);
	if (status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}

	api_page_rows(&page, fetched);
	if (page.has_next && !page.paged) {
		json_decref(items);
		return api_error(ctx, 400, "More than %d sections match. Pass limit (1 to %d) and follow "
					   "next_page.offset to read them page by page.",
				 API_UNPAGED_MAX, API_PAGE_LIMIT_MAX);
	}
	page.next_after = last_position;
	page.next_after2 = last_gid;
	return api_reply_list(ctx, items, &page);
}

static const struct api_field section_create_fields[] = {
	{ "name", AF_STRING, AF_REQUIRED, 0, NULL },
	{ "insert_before", AF_GID, 0, 0, NULL },
	{ "insert_after", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* POST /projects/{project_gid}/sections: at the end, unless insert_before or insert_after names a neighbour. */
/*
 * Records a change event on a section: "added" to or "removed" from its
 * project, "changed" with `field`, or "deleted". Returns a db status.
 */
static int section_event(api_ctx *ctx, int64_t gid, const char *action, int64_t project_gid, const char *field)
{
	struct change_event event = { .resource_type = "section", .resource_gid = gid, .action = action };

	if (strcmp(action, "added") == 0 || strcmp(action, "removed") == 0) {
		event.parent_type = "project";
		event.parent_gid = project_gid;
	}
	if (field != NULL) {
		event.change_field = field;
		event.change_action = "changed";
	}
	return api_event(ctx, &event);
}

static int section_create(api_ctx *ctx)
{
	int64_t project_gid, anchor, anchor_position = 0, position, gid;
	int before, status;
	db_stmt *st;

	/* Validate and authorize. */
	if (api_param_gid(ctx, "project_gid", &project_gid))
		return 0;
	if (api_check_body(ctx, section_create_fields))
		return 0;
	if (api_body_string(ctx, "name") == NULL || api_body_string(ctx, "name")[0] == '\0')
		return api_error(ctx, 400, "name: may not be empty. Send the text of the section header.");
	if (anchor_from_body(ctx, "insert_before", "insert_after", &anchor, &before))
		return 0;
	if (api_project_require(ctx, project_gid, PROJECT_EDIT))
		return 0;

	/* Act. The anchor is checked inside the transaction, so a concurrent move or delete cannot slip in between. */
	if (api_begin_write(ctx))
		return 0;
	if (anchor != 0 &&
	    section_require_in(ctx, before ? "insert_before" : "insert_after", anchor, project_gid, &anchor_position)) {
		rollback(ctx);
		return 0;
	}
	status = section_slot(ctx, project_gid, 0, anchor, anchor != 0 && before, &position);
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	gid = gid_next();
	st = db_query(ctx->db, "INSERT INTO sections (gid, workspace_gid, project_gid, name, position, created_at)"
			       " VALUES (?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, project_gid);
	db_bind_text(st, 3, api_body_string(ctx, "name"));
	db_bind_int64(st, 4, position);
	db_bind_int64(st, 5, time_now_us());
	status = db_run(st);
	if (status == DB_OK)
		status = section_event(ctx, gid, "added", project_gid, NULL);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;

	return section_reply(ctx, gid, 1);
}

/* ---------- read, update, delete ---------- */

/*
 * Reads path parameter section_gid and requires `needed` access to its
 * project. Returns 0 with the section's project and position, or -1 after
 * replying (404 for a section the caller cannot see).
 */
static int section_param(api_ctx *ctx, enum project_access needed, int64_t *gid_r, int64_t *project_r,
			 int64_t *position_r)
{
	int status, level;

	if (api_param_gid(ctx, "section_gid", gid_r))
		return -1;
	status = section_locate(ctx, *gid_r, project_r, position_r);
	if (status == DB_DONE) {
		api_not_found(ctx, "section", *gid_r);
		return -1;
	}
	if (status != DB_ROW) {
		api_fail_db(ctx, status);
		return -1;
	}
	level = api_project_access(ctx, *project_r);
	if (level < 0) {
		api_fail_db(ctx, level);
		return -1;
	}
	if (level == PROJECT_HIDDEN) {
		api_not_found(ctx, "section", *gid_r);
		return -1;
	}
	if (level < (int)needed) {
		api_forbidden(ctx, "Only the project's owner and its admin and editor members may change its sections. "
				   "Ask one of them to add you as an editor.");
		return -1;
	}
	return 0;
}

/* GET /sections/{section_gid} */
static int section_get(api_ctx *ctx)
{
	int64_t gid, project_gid, position;

	if (section_param(ctx, PROJECT_READ, &gid, &project_gid, &position))
		return 0;
	return section_reply(ctx, gid, 0);
}

static const struct api_field section_update_fields[] = {
	{ "name", AF_STRING, 0, 0, NULL },
	{ "insert_before", AF_GID, 0, 0, NULL },
	{ "insert_after", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Moves a section next to `anchor` in its project, inside the caller's transaction. Returns 0, or -1 after replying. */
static int section_move(api_ctx *ctx, int64_t gid, int64_t project_gid, const char *field, int64_t anchor, int before)
{
	int64_t anchor_position, position;
	int status;
	db_stmt *st;

	if (anchor == gid) {
		rollback(ctx);
		api_error(ctx, 400, "%s: names the section being moved; name another section of the project.", field);
		return -1;
	}
	if (section_require_in(ctx, field, anchor, project_gid, &anchor_position)) {
		rollback(ctx);
		return -1;
	}
	status = section_slot(ctx, project_gid, gid, anchor, before, &position);
	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	st = db_query(ctx->db, "UPDATE sections SET position = ? WHERE gid = ? AND workspace_gid = ?");
	if (st == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(st, 0, position);
	db_bind_int64(st, 1, gid);
	db_bind_int64(st, 2, ctx->who.workspace_gid);
	status = db_run(st);
	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	return 0;
}

/* PUT /sections/{section_gid}: renames, and moves when insert_before or insert_after is sent. */
static int section_update(api_ctx *ctx)
{
	int64_t gid, project_gid, position, anchor;
	const char *name;
	int before, status;
	db_stmt *st;

	if (section_param(ctx, PROJECT_EDIT, &gid, &project_gid, &position))
		return 0;
	if (api_check_body(ctx, section_update_fields))
		return 0;
	name = api_body_string(ctx, "name");
	if (name != NULL && name[0] == '\0')
		return api_error(ctx, 400, "name: may not be empty. Send the new text of the section header.");
	if (anchor_from_body(ctx, "insert_before", "insert_after", &anchor, &before))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	if (name != NULL) {
		st = db_query(ctx->db, "UPDATE sections SET name = ? WHERE gid = ? AND workspace_gid = ?");
		if (st == NULL)
			return api_fail_db(ctx, DB_ERROR);
		db_bind_text(st, 0, name);
		db_bind_int64(st, 1, gid);
		db_bind_int64(st, 2, ctx->who.workspace_gid);
		status = db_run(st);
		if (status == DB_OK)
			status = section_event(ctx, gid, "changed", project_gid, "name");
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (anchor != 0 && section_move(ctx, gid, project_gid, before ? "insert_before" : "insert_after", anchor, before))
		return 0;
	/* A section moved within its project is reported as added to it again, as Asana reports moved tasks. */
	if (anchor != 0) {
		status = section_event(ctx, gid, "added", project_gid, NULL);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (api_commit(ctx))
		return 0;

	return section_reply(ctx, gid, 0);
}

/* Runs `sql`, which binds one gid and the caller's organization and returns no rows. Returns a db status. */
static int run_with_gid(api_ctx *ctx, const char *sql, int64_t gid)
{
	db_stmt *st = db_query(ctx->db, sql);

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	return db_run(st);
}

/* Counts rows of `sql`, which binds one gid, up to its LIMIT. Returns a db status. */
static int count_rows(api_ctx *ctx, const char *sql, int64_t gid, int *count_r)
{
	db_stmt *st = db_query(ctx->db, sql);
	int status;

	*count_r = 0;
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		(*count_r)++;
	}
	db_stmt_done(st);
	return status == DB_DONE ? DB_OK : status;
}

/* DELETE /sections/{section_gid}: only an empty section, and never the project's last one. */
static int section_delete(api_ctx *ctx)
{
	int64_t gid, project_gid, position;
	int tasks, sections, status;

	if (section_param(ctx, PROJECT_EDIT, &gid, &project_gid, &position))
		return 0;

	/* The checks run inside the transaction so that no task arrives between them and the delete. */
	if (api_begin_write(ctx))
		return 0;
	status = count_rows(ctx, "SELECT task_gid FROM task_projects WHERE section_gid = ? LIMIT 1", gid, &tasks);
	if (status == DB_OK)
		status = count_rows(ctx, "SELECT gid FROM sections WHERE project_gid = ? LIMIT 2", project_gid, &sections);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (tasks > 0) {
		rollback(ctx);
		return api_error(ctx, 400, "Section %lld is not empty. Move its tasks to another section (POST "
					   "/sections/{section_gid}/addTask) or remove them from the project, then delete it.",
				 (long long)gid);
	}
	if (sections < 2) {
		rollback(ctx);
		return api_error(ctx, 400, "Section %lld is the last section of its project, which cannot be deleted. "
					   "Rename it instead.",
				 (long long)gid);
	}

	/* "removed" carries the project, so the deletion reaches the project's stream too. */
	status = section_event(ctx, gid, "removed", project_gid, NULL);
	if (status == DB_OK)
		status = section_event(ctx, gid, "deleted", 0, NULL);
	if (status == DB_OK)
		status = run_with_gid(ctx, "DELETE FROM sections WHERE gid = ? AND workspace_gid = ?", gid);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	return api_reply_empty(ctx);
}

/* ---------- move sections ---------- */

static const struct api_field section_insert_fields[] = {
	{ "section", AF_GID, AF_REQUIRED, 0, NULL },
	{ "before_section", AF_GID, 0, 0, NULL },
	{ "after_section", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* POST /projects/{project_gid}/sections/insert */
static int section_insert(api_ctx *ctx)
{
	int64_t project_gid, section_gid, position, anchor;
	int before, status;

	if (api_param_gid(ctx, "project_gid", &project_gid))
		return 0;
	if (api_check_body(ctx, section_insert_fields))
		return 0;
	if (anchor_from_body(ctx, "before_section", "after_section", &anchor, &before))
		return 0;
	if (anchor == 0)
		return api_error(ctx, 400, "before_section, after_section: missing. Send one of them with the gid of the "
					   "section to place this one next to.");
	if (api_project_require(ctx, project_gid, PROJECT_EDIT))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	if (section_require_in(ctx, "section", api_body_gid(ctx, "section"), project_gid, &position)) {
		rollback(ctx);
		return 0;
	}
	section_gid = api_body_gid(ctx, "section");
	if (section_move(ctx, section_gid, project_gid, before ? "before_section" : "after_section", anchor, before))
		return 0;
	status = section_event(ctx, section_gid, "added", project_gid, NULL);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	return api_reply_empty(ctx);
}

/* ---------- place a task ---------- */

static const struct api_field add_task_fields[] = {
	{ "task", AF_GID, AF_REQUIRED, 0, NULL },
	{ "insert_before", AF_GID, 0, 0, NULL },
	{ "insert_after", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* 1 when the task is a separator (resource_subtype "section"), which addTask does not take. */
static int task_is_separator(api_ctx *ctx, int64_t task_gid, int *status_r)
{
	db_stmt *st = db_query(ctx->db, "SELECT resource_subtype FROM tasks WHERE gid = ? AND workspace_gid = ?");
	int separator = 0;

	*status_r = DB_ERROR;
	if (st == NULL)
		return 0;
	db_bind_int64(st, 0, task_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	*status_r = db_step(st);
	if (*status_r == DB_ROW) {
		const char *subtype = db_column_text(st, 0);

		separator = subtype != NULL && strcmp(subtype, "section") == 0;
		*status_r = DB_OK;
	}
	db_stmt_done(st);
	return separator;
}

/*
 * POST /sections/{section_gid}/addTask
 *
 * Puts a task into the section, at its top unless insert_before or
 * insert_after names a task of the section, and so out of the project's
 * other sections. A task not yet in the project is added to it, since the
 * spec asks only for an existing section. Placement, positions and the
 * stories ("added_to_project", "section_changed") are the task handlers'
 * task_project_place, so addTask and POST /tasks/{task_gid}/addProject
 * order tasks the same way. Access follows addProject too: the caller must
 * be able to edit the task and the project's tasks.
 */
static int section_add_task(api_ctx *ctx)
{
	struct task_placement where;
	enum task_access access;
	int64_t gid, project_gid, section_position, task_gid, anchor;
	int before, status;

	/* Validate. */
	if (api_param_gid(ctx, "section_gid", &gid))
		return 0;
	if (api_check_body(ctx, add_task_fields))
		return 0;
	if (anchor_from_body(ctx, "insert_before", "insert_after", &anchor, &before))
		return 0;
	task_gid = api_body_gid(ctx, "task");

	/* Authorize inside the transaction, as addProject does, so the checks hold for the write. */
	if (api_begin_write(ctx))
		return 0;
	status = section_locate(ctx, gid, &project_gid, &section_position);
	if (status == DB_DONE) {
		rollback(ctx);
		return api_not_found(ctx, "section", gid);
	}
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	status = task_project_access(ctx, project_gid, &access);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (access == ACCESS_NONE) {
		rollback(ctx);
		return api_not_found(ctx, "section", gid);
	}
	if (access == ACCESS_READ) {
		rollback(ctx);
		return api_forbidden(ctx, "You have comment-only or view-only access to this project, so you cannot move "
					  "its tasks. Ask a project admin for edit access.");
	}
	if (task_require_edit(ctx, task_gid))
		return 0;
	if (task_is_separator(ctx, task_gid, &status)) {
		rollback(ctx);
		return api_error(ctx, 400, "task: %lld is a separator (resource_subtype \"section\"), which cannot be "
					   "placed in a section.",
				 (long long)task_gid);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	/* Act. */
	memset(&where, 0, sizeof(where));
	where.section_gid = gid;
	where.insert_before = before ? anchor : 0;
	where.insert_after = before ? 0 : anchor;
	where.at_start = 1;
	if (task_project_place(ctx, task_gid, project_gid, &where))
		return 0;
	if (api_commit(ctx))
		return 0;
	return api_reply_empty(ctx);
}

/* ---------- routes ---------- */

const struct api_route api_sections_routes[] = {
	{ "GET", "/projects/{project_gid}/sections", sections_list, API_LIST, &api_section_type },
	{ "POST", "/projects/{project_gid}/sections", section_create, API_WRITE | API_BODY, &api_section_type },
	{ "POST", "/projects/{project_gid}/sections/insert", section_insert, API_WRITE | API_BODY, NULL },
	{ "GET", "/sections/{section_gid}", section_get, 0, &api_section_type },
	{ "PUT", "/sections/{section_gid}", section_update, API_WRITE | API_BODY, &api_section_type },
	{ "DELETE", "/sections/{section_gid}", section_delete, API_WRITE, NULL },
	{ "POST", "/sections/{section_gid}/addTask", section_add_task, API_WRITE | API_BODY, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
