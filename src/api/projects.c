/*
 * Projects, their members and followers, and project memberships: list (by
 * organization or team, with the archived filter), create, read, update and
 * delete projects, add and remove members and followers, read memberships,
 * and count a project's tasks.
 *
 * Visibility follows Asana. Every non-guest of the organization sees a
 * public_to_workspace project, the members of its team see a private_to_team
 * one, and only its members see a private one. A service account with full or
 * read access sees every project. Lists carry that rule in their SQL so
 * keyset pagination stays exact. Changing a project needs an admin or editor
 * membership, ownership, or a full service account; deleting it needs admin.
 * A new project starts with one section, because in Asana every project has
 * at least one and the last one cannot be deleted.
 */
#include "api/api.h"
#include "api/projects.h"
#include "api/richtext.h"

#include "store/audit.h"
#include "store/events.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* User references accepted in one `members` or `followers` value. */
#define PROJECT_USERS_MAX 100
/* Bytes in one user reference: an e-mail address has at most 254. */
#define USER_REF_MAX 320

/* ---------- shared pieces ---------- */

static const char *const privacy_values[] = { "public_to_workspace", "private_to_team", "private", NULL };
static const char *const view_values[] = { "list", "board", "calendar", "timeline", NULL };
static const char *const color_values[] = {
	"dark-pink",  "dark-green",  "dark-blue",   "dark-red",	"dark-teal",	   "dark-brown",  "dark-orange",
	"dark-purple", "dark-warm-gray", "light-pink", "light-green", "light-blue",    "light-red",   "light-teal",
	"light-brown", "light-orange", "light-purple", "light-warm-gray", "none", NULL,
};
static const char *const access_values[] = { "admin", "editor", "commenter", "viewer", NULL };
static const char *const admin_editor_values[] = { "admin", "editor", NULL };

/* 1 for a service account that may read and write everything in its organization. */
static int caller_is_full_writer(const api_ctx *ctx)
{
	return ctx->who.kind == PRINCIPAL_SERVICE_ACCOUNT && (ctx->who.scopes & SCOPE_FULL) != 0;
}

/* Runs a statement with two gid parameters and no result rows; returns a db status. */
static int run_with_gids(api_ctx *ctx, const char *sql, int64_t first, int64_t second)
{
	db_stmt *st = db_query(ctx->db, sql);

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, first);
	db_bind_int64(st, 1, second);
	return db_run(st);
}

/*
 * Finishes a list: refuses an unpaged result that was cut at API_UNPAGED_MAX,
 * else replies with the items and the key of the last one emitted.
 */
static int reply_page(api_ctx *ctx, json_t *items, struct api_page *page, int fetched, int64_t last_gid,
		      const char *what)
{
	api_page_rows(page, fetched);
	if (page->has_next && !page->paged) {
		json_decref(items);
		return api_error(ctx, 400, "More than %d %s match. Pass limit (1 to %d) and follow next_page.offset "
					   "to read them page by page.",
				 API_UNPAGED_MAX, what, API_PAGE_LIMIT_MAX);
	}
	page->next_after = last_gid;
	return api_reply_list(ctx, items, page);
}

/* Builds "<base URL>/api/1.0/<collection>/<gid>", the API address of an object. */
static json_t *permalink(api_ctx *ctx, const char *collection, int64_t gid)
{
	char gid_text[GID_STRING_MAX], base[API_BASE_URL_MAX], url[API_BASE_URL_MAX + 128];

	snprintf(url, sizeof(url), "%s%s/%s/%s", api_base_url(ctx, base, sizeof(base)), API_BASE_PATH, collection,
		 gid_format(gid, gid_text));
	return json_string(url);
}

/* ---------- access ---------- */

int api_project_access(api_ctx *ctx, int64_t project_gid)
{
	db_stmt *st;
	int exists = 0, status, level, visible;
	int64_t owner;
	const char *member_level;

	visible = api_can_see_project(ctx, project_gid, &exists);
	if (visible < 0)
		return DB_ERROR;
	if (!visible)
		return PROJECT_HIDDEN;
	if (caller_is_full_writer(ctx))
		return PROJECT_ADMIN;

	st = db_query(ctx->db, "SELECT p.owner_gid, pm.access_level FROM projects p"
			       " LEFT JOIN project_memberships pm ON pm.project_gid = p.gid AND pm.user_gid = ?"
			       " WHERE p.gid = ? AND p.workspace_gid = ?");
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, ctx->who.user_gid);
	db_bind_int64(st, 1, project_gid);
	db_bind_int64(st, 2, ctx->who.workspace_gid);
	status = db_step(st);
	if (status != DB_ROW) {
		db_stmt_done(st);
		return status == DB_DONE ? PROJECT_HIDDEN : status;
	}

	owner = db_column_is_null(st, 0) ? 0 : db_column_int64(st, 0);
	member_level = db_column_text(st, 1);
	level = PROJECT_READ;
	if (member_level != NULL && strcmp(member_level, "editor") == 0)
		level = PROJECT_EDIT;
	if ((member_level != NULL && strcmp(member_level, "admin") == 0) || owner == ctx->who.user_gid)
		level = PROJECT_ADMIN;
	db_stmt_done(st);
	return level;
}

int api_project_require(api_ctx *ctx, int64_t project_gid, enum project_access needed)
{
	int level = api_project_access(ctx, project_gid);

	if (level < 0) {
		api_fail_db(ctx, level);
		return -1;
	}
	if (level == PROJECT_HIDDEN) {
		api_not_found(ctx, "project", project_gid);
		return -1;
	}
	if (level < (int)needed) {
		api_forbidden(ctx, needed == PROJECT_ADMIN
					   ? "Only the project's owner and its admin members may do this. Ask one of them."
					   : "Only the project's owner and its admin and editor members may change it. Ask "
					     "one of them to add you as an editor.");
		return -1;
	}
	return 0;
}

/* ---------- representation ---------- */

static const char *const project_fields[] = {
	"name", "archived", "color", "completed", "completed_at", "completed_by", "created_at", "created_from_template",
	"current_status", "current_status_update", "custom_field_settings", "custom_fields", "default_access_level",
	"default_view", "due_date", "due_on", "followers", "html_notes", "icon", "members",
	"minimum_access_level_for_customization", "minimum_access_level_for_sharing", "modified_at", "notes", "owner",
	"permalink_url", "privacy_setting", "project_brief", "public", "start_on", "team", "workspace", NULL,
};
static const char *const project_compact[] = { "name", NULL };
static const struct api_type_ref project_refs[] = {
	{ "completed_by", &api_user_type }, { "followers", &api_user_type }, { "members", &api_user_type },
	{ "owner", &api_user_type },	    { "team", &api_team_type },	     { "workspace", &api_workspace_type },
	{ NULL, NULL },
};

/* Every projection of a project row selects these columns, in this order. */
#define PROJECT_SELECT                                                                                       \
	"SELECT p.gid, p.name, p.notes, p.html_notes, p.color, p.default_view, p.archived, p.completed,"   \
	" p.completed_at, p.privacy_setting, p.owner_gid, o.name, p.team_gid, t.name, p.due_on, p.start_on," \
	" p.created_at, p.modified_at, p.workspace_gid, w.name"                                              \
	" FROM projects p JOIN workspaces w ON w.gid = p.workspace_gid"                                      \
	" LEFT JOIN users o ON o.gid = p.owner_gid LEFT JOIN teams t ON t.gid = p.team_gid"

enum {
	COL_GID,
	COL_NAME,
	COL_NOTES,
	COL_HTML_NOTES,
	COL_COLOR,
	COL_VIEW,
	COL_ARCHIVED,
	COL_COMPLETED,
	COL_COMPLETED_AT,
	COL_PRIVACY,
	COL_OWNER,
	COL_OWNER_NAME,
	COL_TEAM,
	COL_TEAM_NAME,
	COL_DUE_ON,
	COL_START_ON,
	COL_CREATED_AT,
	COL_MODIFIED_AT,
	COL_WORKSPACE,
	COL_WORKSPACE_NAME,
};

/*
 * The visibility rule as SQL for lists, after a WHERE. Binds, in order: 1
 * for a full or read service account, 1 when the caller is not a guest
 * (twice), and the caller's user gid (twice).
 */
#define PROJECT_VISIBLE                                                                                  \
	" AND (? = 1"                                                                                      \
	" OR (? = 1 AND p.privacy_setting = 'public_to_workspace')"                                        \
	" OR (? = 1 AND p.privacy_setting = 'private_to_team' AND EXISTS (SELECT 1 FROM team_memberships tm" \
	" WHERE tm.team_gid = p.team_gid AND tm.user_gid = ?))"                                            \
	" OR EXISTS (SELECT 1 FROM project_memberships pm WHERE pm.project_gid = p.gid AND pm.user_gid = ?))"

/* Binds PROJECT_VISIBLE's parameters from index `first`; returns the next free index. */
static int bind_visible(api_ctx *ctx, db_stmt *st, int first)
{
	int full = api_is_full_access(ctx);
	int non_guest = ctx->who.role != ROLE_GUEST;

	db_bind_int64(st, first, full);
	db_bind_int64(st, first + 1, non_guest);
	db_bind_int64(st, first + 2, non_guest);
	db_bind_int64(st, first + 3, ctx->who.user_gid);
	db_bind_int64(st, first + 4, ctx->who.user_gid);
	return first + 5;
}

/* Returns compact user references from `sql`, which selects (gid, name) for one project gid, or NULL on failure. */
static json_t *project_users(api_ctx *ctx, const char *sql, int64_t project_gid, int *status_r)
{
	db_stmt *st = db_query(ctx->db, sql);
	json_t *users;
	int status;

	if (st == NULL) {
		*status_r = DB_ERROR;
		return NULL;
	}
	db_bind_int64(st, 0, project_gid);
	users = json_array();
	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		json_array_append_new(users, api_ref("user", db_column_int64(st, 0), db_column_text(st, 1)));
	}
	db_stmt_done(st);
	if (status != DB_DONE) {
		json_decref(users);
		*status_r = status;
		return NULL;
	}
	return users;
}

static json_t *text_or_null(db_stmt *st, int column)
{
	return api_string_or_null(db_column_text(st, column));
}

/*
 * Builds the full representation of the project in the current row of `st`
 * (a PROJECT_SELECT). Members and followers cost one query each, so lists
 * (complete == 0) include them only when opt_fields requests them. Returns NULL and
 * sets *status_r when the database failed.
 */
static json_t *project_from_row(api_ctx *ctx, db_stmt *st, int complete, int *status_r)
{
	int64_t gid = db_column_int64(st, COL_GID);
	const char *privacy = db_column_text(st, COL_PRIVACY);
	json_t *project = api_object_new("project", gid), *users;

	json_object_set_new(project, "name", json_string(db_column_text(st, COL_NAME)));
	json_object_set_new(project, "archived", json_boolean(db_column_int64(st, COL_ARCHIVED)));
	json_object_set_new(project, "color", text_or_null(st, COL_COLOR));
	json_object_set_new(project, "completed", json_boolean(db_column_int64(st, COL_COMPLETED)));
	json_object_set_new(project, "completed_at",
			    api_time(db_column_is_null(st, COL_COMPLETED_AT) ? 0 : db_column_int64(st, COL_COMPLETED_AT)));
	/* The API cannot mark a project complete, so no project has a completing user. */
	json_object_set_new(project, "completed_by", json_null());
	json_object_set_new(project, "created_at", api_time(db_column_int64(st, COL_CREATED_AT)));
	json_object_set_new(project, "created_from_template", json_null());
	json_object_set_new(project, "current_status", json_null());
	json_object_set_new(project, "current_status_update", json_null());
	json_object_set_new(project, "custom_field_settings", json_array());
	json_object_set_new(project, "custom_fields", json_array());
	/* kontor's fixed sharing rules: new members join as editors, and editors customize and share. */
	json_object_set_new(project, "default_access_level", json_string("editor"));
	json_object_set_new(project, "default_view", json_string(db_column_text(st, COL_VIEW)));
	json_object_set_new(project, "due_date", text_or_null(st, COL_DUE_ON));
	json_object_set_new(project, "due_on", text_or_null(st, COL_DUE_ON));
	json_object_set_new(project, "html_notes", json_string(db_column_text(st, COL_HTML_NOTES)));
	json_object_set_new(project, "icon", json_null());
	json_object_set_new(project, "minimum_access_level_for_customization", json_string("editor"));
	json_object_set_new(project, "minimum_access_level_for_sharing", json_string("editor"));
	json_object_set_new(project, "modified_at", api_time(db_column_int64(st, COL_MODIFIED_AT)));
	json_object_set_new(project, "notes", json_string(db_column_text(st, COL_NOTES)));
	json_object_set_new(project, "owner",
			    api_ref("user", db_column_is_null(st, COL_OWNER) ? 0 : db_column_int64(st, COL_OWNER),
				    db_column_text(st, COL_OWNER_NAME)));
	json_object_set_new(project, "permalink_url", permalink(ctx, "projects", gid));
	json_object_set_new(project, "privacy_setting", json_string(privacy));
	json_object_set_new(project, "project_brief", json_null());
	json_object_set_new(project, "public", json_boolean(strcmp(privacy, "public_to_workspace") == 0));
	json_object_set_new(project, "start_on", text_or_null(st, COL_START_ON));
	json_object_set_new(project, "team",
			    api_ref("team", db_column_is_null(st, COL_TEAM) ? 0 : db_column_int64(st, COL_TEAM),
				    db_column_text(st, COL_TEAM_NAME)));
	json_object_set_new(project, "workspace", api_ref("workspace", db_column_int64(st, COL_WORKSPACE),
							  db_column_text(st, COL_WORKSPACE_NAME)));

	if (complete || api_wants(ctx, "members")) {
		users = project_users(ctx,
				      "SELECT u.gid, u.name FROM project_memberships pm JOIN users u ON u.gid = pm.user_gid"
				      " WHERE pm.project_gid = ? ORDER BY pm.gid",
				      gid, status_r);
		if (users == NULL) {
			json_decref(project);
			return NULL;
		}
		json_object_set_new(project, "members", users);
	}
	if (complete || api_wants(ctx, "followers")) {
		users = project_users(ctx,
				      "SELECT u.gid, u.name FROM project_followers f JOIN users u ON u.gid = f.user_gid"
				      " WHERE f.project_gid = ? ORDER BY u.gid",
				      gid, status_r);
		if (users == NULL) {
			json_decref(project);
			return NULL;
		}
		json_object_set_new(project, "followers", users);
	}
	return project;
}

/* Reads one project of the caller's organization, without a visibility check. Returns DB_ROW, DB_DONE or an error. */
static int project_fetch(api_ctx *ctx, int64_t gid, json_t **project_r)
{
	db_stmt *st = db_query(ctx->db, PROJECT_SELECT " WHERE p.gid = ? AND p.workspace_gid = ?");
	int status;

	*project_r = NULL;
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW) {
		*project_r = project_from_row(ctx, st, 1, &status);
		if (*project_r != NULL)
			status = DB_ROW;
	}
	db_stmt_done(st);
	return status;
}

static json_t *project_load(api_ctx *ctx, int64_t gid)
{
	json_t *project;
	int exists = 0;

	if (api_can_see_project(ctx, gid, &exists) != 1)
		return NULL;
	if (project_fetch(ctx, gid, &project) != DB_ROW)
		return NULL;
	return project;
}

const struct api_type api_project_type = {
	.name = "project",
	.fields = project_fields,
	.compact = project_compact,
	.refs = project_refs,
	.load = project_load,
};

/* Replies with a project the caller may see: 200, or 201 with a Location header when `created`. */
static int project_reply(api_ctx *ctx, int64_t gid, int created)
{
	json_t *project;
	int status = project_fetch(ctx, gid, &project);

	if (status == DB_DONE)
		return api_not_found(ctx, "project", gid);
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	return api_reply_object(ctx, &api_project_type, project, "/projects", gid, created ? 201 : 200);
}

/* ---------- lists ---------- */

/* Replies 404 unless the caller may see the team, which must belong to their organization. Returns -1 after replying. */
static int team_require_visible(api_ctx *ctx, int64_t team_gid)
{
	int exists = 0;
	int visible = api_can_see_team(ctx, team_gid, &exists);

	if (visible < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (!visible) {
		api_not_found(ctx, "team", team_gid);
		return -1;
	}
	return 0;
}

/* Replies 404 unless the caller may see the project. Returns -1 after replying. */
static int project_require_visible(api_ctx *ctx, int64_t project_gid)
{
	int exists = 0;
	int visible = api_can_see_project(ctx, project_gid, &exists);

	if (visible < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (!visible) {
		api_not_found(ctx, "project", project_gid);
		return -1;
	}
	return 0;
}

/* Replies with one page of the projects that `st` selects (PROJECT_SELECT columns, one row past the page). */
static int reply_project_rows(api_ctx *ctx, db_stmt *st, struct api_page *page)
{
	json_t *items = json_array(), *item;
	int status, fetched = 0;
	int64_t last_gid = 0;

	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		if (++fetched > page->limit)
			continue;
		last_gid = db_column_int64(st, COL_GID);
		item = project_from_row(ctx, st, 0, &status);
		if (item == NULL)
			break;
		json_array_append_new(items, api_present(ctx, &api_project_type, item));
	}
	db_stmt_done(st);
	if (status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}
	return reply_page(ctx, items, page, fetched, last_gid, "projects");
}

/* Lists the projects the caller can see, in one team when team_gid is set; honours `archived`. */
static int list_projects(api_ctx *ctx, int64_t team_gid)
{
	struct api_page page;
	db_stmt *st;
	int archived, index;

	archived = api_query_bool(ctx, "archived");
	if (archived == -2)
		return 0;
	if (api_page_parse(ctx, &page))
		return 0;

	st = db_query(ctx->db, PROJECT_SELECT " WHERE p.workspace_gid = ? AND p.gid > ?"
					      " AND (? = 0 OR p.team_gid = ?) AND (? < 0 OR p.archived = ?)" PROJECT_VISIBLE
					      " ORDER BY p.gid LIMIT ?");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, ctx->who.workspace_gid);
	db_bind_int64(st, 1, page.after);
	db_bind_int64(st, 2, team_gid != 0);
	db_bind_int64(st, 3, team_gid);
	db_bind_int64(st, 4, archived);
	db_bind_int64(st, 5, archived);
	index = bind_visible(ctx, st, 6);
	db_bind_int64(st, index, page.limit + 1);
	return reply_project_rows(ctx, st, &page);
}

/*
 * GET /tasks/{task_gid}/projects: the projects a visible task is in, those
 * the caller may see, as the task's own `projects` field shows them.
 */
static int task_projects_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t task_gid;
	db_stmt *st;
	int visible, exists, index;

	if (api_param_gid(ctx, "task_gid", &task_gid) || api_page_parse(ctx, &page))
		return 0;
	visible = api_can_see_task(ctx, task_gid, &exists);
	if (visible < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (visible == 0)
		return api_not_found(ctx, "task", task_gid);

	st = db_query(ctx->db, PROJECT_SELECT " JOIN task_projects tp ON tp.project_gid = p.gid"
					      " WHERE tp.task_gid = ? AND tp.workspace_gid = ? AND p.gid > ?" PROJECT_VISIBLE
					      " ORDER BY p.gid LIMIT ?");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, task_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, page.after);
	index = bind_visible(ctx, st, 3);
	db_bind_int64(st, index, page.limit + 1);
	return reply_project_rows(ctx, st, &page);
}

/* GET /projects?workspace=&team=&archived= */
static int projects_list(api_ctx *ctx)
{
	int64_t workspace_gid, team_gid;

	if (api_query_gid(ctx, "workspace", &workspace_gid) || api_query_gid(ctx, "team", &team_gid))
		return 0;
	if (workspace_gid != 0 && workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	if (team_gid != 0 && team_require_visible(ctx, team_gid))
		return 0;
	return list_projects(ctx, team_gid);
}

/* GET /teams/{team_gid}/projects */
static int team_projects_list(api_ctx *ctx)
{
	int64_t team_gid;

	if (api_param_gid(ctx, "team_gid", &team_gid) || team_require_visible(ctx, team_gid))
		return 0;
	return list_projects(ctx, team_gid);
}

/* GET /workspaces/{workspace_gid}/projects */
static int workspace_projects_list(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid))
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	return list_projects(ctx, 0);
}

/* ---------- request bodies ---------- */

/*
 * ProjectRequest and ProjectUpdateRequest. `followers` is create-only and
 * `workspace` cannot change, so both stay out of the update table;
 * `followers` stays in it only to reject it with a pointer to addFollowers.
 */
#define PROJECT_COMMON_FIELDS                                                                  \
	{ "name", AF_STRING, 0, 0, NULL }, { "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL }, \
		{ "html_notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },                       \
		{ "color", AF_ENUM, AF_NULLABLE, 0, color_values },                                  \
		{ "default_view", AF_ENUM, 0, 0, view_values }, { "archived", AF_BOOL, 0, 0, NULL },   \
		{ "public", AF_BOOL, 0, 0, NULL }, { "privacy_setting", AF_ENUM, 0, 0, privacy_values }, \
		{ "due_on", AF_DATE, AF_NULLABLE, 0, NULL }, { "due_date", AF_DATE, AF_NULLABLE, 0, NULL }, \
		{ "start_on", AF_DATE, AF_NULLABLE, 0, NULL },                                       \
		{ "owner", AF_GID, AF_USER | AF_NULLABLE, 0, NULL }, { "team", AF_GID, 0, 0, NULL },     \
		{ "followers", AF_ANY, 0, 0, NULL }, { "custom_fields", AF_ANY, 0, 0, NULL },          \
		{ "default_access_level", AF_ENUM, 0, 0, access_values },                            \
		{ "minimum_access_level_for_customization", AF_ENUM, 0, 0, admin_editor_values },    \
		{ "minimum_access_level_for_sharing", AF_ENUM, 0, 0, admin_editor_values }

static const struct api_field project_create_fields[] = {
	PROJECT_COMMON_FIELDS,
	{ "workspace", AF_GID, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct api_field project_update_fields[] = {
	PROJECT_COMMON_FIELDS,
	{ NULL, 0, 0, 0, NULL },
};

/*
 * Rejects values kontor cannot store: custom field values (no custom
 * fields exist) and sharing levels other than its fixed "editor".
 * Returns -1 after replying.
 */
static int check_unsupported(api_ctx *ctx)
{
	static const char *const fixed[] = { "default_access_level", "minimum_access_level_for_customization",
					     "minimum_access_level_for_sharing", NULL };
	json_t *custom = ctx->body ? json_object_get(ctx->body, "custom_fields") : NULL;

	if (custom != NULL && !(json_is_object(custom) && json_object_size(custom) == 0)) {
		api_error(ctx, 400, "custom_fields: this server has no custom fields; leave the field out or send {}.");
		return -1;
	}
	for (const char *const *name = fixed; *name; name++) {
		const char *value = api_body_string(ctx, *name);

		if (value != NULL && strcmp(value, "editor") != 0) {
			api_error(ctx, 400, "%s: only \"editor\" is supported on this server; leave the field out.", *name);
			return -1;
		}
	}
	return 0;
}

/*
 * Parses a list of user references, sent as Asana documents it (one string,
 * comma-separated) or as an array of strings, and resolves each to a user
 * of the organization. Returns 0, or -1 after replying.
 */
static int resolve_user_list(api_ctx *ctx, const char *field, int64_t *gids, int *count_r)
{
	json_t *value = ctx->body ? json_object_get(ctx->body, field) : NULL;
	char ref[USER_REF_MAX];
	int count = 0;

	*count_r = 0;
	if (value == NULL || json_is_null(value))
		return 0;
	if (json_is_string(value)) {
		const char *p = json_string_value(value);

		while (*p) {
			size_t len = strcspn(p, ",");
			const char *start = p, *end = p + len;

			while (start < end && (*start == ' ' || *start == '\t'))
				start++;
			while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (end > start) {
				if ((size_t)(end - start) >= sizeof(ref)) {
					api_error(ctx, 400, "%s: an entry is longer than %d bytes; pass user gids, \"me\" or "
							    "e-mail addresses.",
						  field, USER_REF_MAX - 1);
					return -1;
				}
				if (count >= PROJECT_USERS_MAX) {
					api_error(ctx, 400, "%s: at most %d users per request; split the list.", field,
						  PROJECT_USERS_MAX);
					return -1;
				}
				memcpy(ref, start, (size_t)(end - start));
				ref[end - start] = '\0';
				if (api_resolve_user(ctx, field, ref, &gids[count]))
					return -1;
				count++;
			}
			p += len;
			if (*p == ',')
				p++;
		}
	} else if (json_is_array(value)) {
		size_t i;
		json_t *item;

		if (json_array_size(value) > PROJECT_USERS_MAX) {
			api_error(ctx, 400, "%s: at most %d users per request; split the list.", field, PROJECT_USERS_MAX);
			return -1;
		}
		json_array_foreach(value, i, item) {
			if (!json_is_string(item)) {
				api_error(ctx, 400, "%s: each entry must be a string: a user gid, \"me\" or an e-mail "
						    "address.",
					  field);
				return -1;
			}
			if (api_resolve_user(ctx, field, json_string_value(item), &gids[count]))
				return -1;
			count++;
		}
	} else {
		api_error(ctx, 400, "%s: must be a comma-separated string or an array of user gids, \"me\" or e-mail "
				    "addresses.",
			  field);
		return -1;
	}
	*count_r = count;
	return 0;
}

/* ---------- notes and html_notes ---------- */

/*
 * Reads notes or html_notes from the body into both forms (allocated, the
 * caller frees them), as Asana keeps them in step. Sets *given_r when either
 * was sent. With neither, both stay NULL. Returns 0, or -1 after replying.
 */
static int notes_from_body(api_ctx *ctx, char **notes_r, char **html_r, int *given_r)
{
	const char *notes = api_body_string(ctx, "notes");
	const char *html = api_body_string(ctx, "html_notes");
	char err[256];

	*notes_r = NULL;
	*html_r = NULL;
	*given_r = notes != NULL || html != NULL;
	if (notes != NULL && html != NULL) {
		api_error(ctx, 400, "notes, html_notes: send only one of them; the other is derived from it.");
		return -1;
	}
	if (html != NULL) {
		if (richtext_check(html, RICHTEXT_NOTES, err, sizeof(err)) < 0) {
			api_error(ctx, 400, "html_notes: %s", err);
			return -1;
		}
		*html_r = strdup(html);
		*notes_r = richtext_to_text(html);
	} else if (notes != NULL) {
		*notes_r = strdup(notes);
		*html_r = richtext_from_text(notes);
	} else {
		return 0;
	}
	if (*notes_r == NULL || *html_r == NULL) {
		free(*notes_r);
		free(*html_r);
		*notes_r = NULL;
		*html_r = NULL;
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	return 0;
}

/* ---------- validation shared by create and update ---------- */

/*
 * The project's dates after this request: `due_on` (or its deprecated alias
 * `due_date`) and `start_on`, merged with the current values. Asana needs a
 * due date beside a start date, and the start before the due date.
 */
struct project_dates {
	char due_on[16];
	char start_on[16];
};

static int dates_apply(api_ctx *ctx, struct project_dates *dates)
{
	const char *due_on = api_body_string(ctx, "due_on");
	const char *due_date = api_body_string(ctx, "due_date");
	const char *start_on = api_body_string(ctx, "start_on");

	if (api_body_has(ctx, "due_on") && api_body_has(ctx, "due_date") &&
	    !(due_on == NULL ? due_date == NULL : (due_date != NULL && strcmp(due_on, due_date) == 0))) {
		api_error(ctx, 400, "due_date: differs from due_on; send only due_on (due_date is its deprecated alias).");
		return -1;
	}
	if (api_body_has(ctx, "due_on"))
		snprintf(dates->due_on, sizeof(dates->due_on), "%s", due_on ? due_on : "");
	else if (api_body_has(ctx, "due_date"))
		snprintf(dates->due_on, sizeof(dates->due_on), "%s", due_date ? due_date : "");
	if (api_body_has(ctx, "start_on"))
		snprintf(dates->start_on, sizeof(dates->start_on), "%s", start_on ? start_on : "");

	if (dates->start_on[0] != '\0' && dates->due_on[0] == '\0') {
		api_error(ctx, 400, "start_on: a project with a start date needs a due date too; send due_on as well.");
		return -1;
	}
	if (dates->start_on[0] != '\0' && strcmp(dates->start_on, dates->due_on) >= 0) {
		api_error(ctx, 400, "start_on: must be before due_on (%s); send an earlier start date.", dates->due_on);
		return -1;
	}
	return 0;
}

/*
 * Chooses the privacy setting from `privacy_setting` or the deprecated
 * `public` (true: public_to_workspace; false: private_to_team in a team,
 * else private), keeping *privacy_r when neither is sent. private_to_team
 * needs a team. Returns 0, or -1 after replying.
 */
static int privacy_apply(api_ctx *ctx, int64_t team_gid, const char **privacy_r)
{
	const char *privacy = api_body_string(ctx, "privacy_setting");

	if (api_body_has(ctx, "public")) {
		int is_public = api_body_bool(ctx, "public", 0);

		if (privacy != NULL && is_public != (strcmp(privacy, "public_to_workspace") == 0)) {
			api_error(ctx, 400, "public: contradicts privacy_setting \"%s\"; send only privacy_setting.", privacy);
			return -1;
		}
		if (privacy == NULL && is_public)
			privacy = "public_to_workspace";
		else if (privacy == NULL && team_gid != 0)
			privacy = "private_to_team";
		else if (privacy == NULL)
			privacy = "private";
	}
	if (privacy != NULL)
		*privacy_r = privacy;
	if (strcmp(*privacy_r, "private_to_team") == 0 && team_gid == 0) {
		api_error(ctx, 400, "privacy_setting: private_to_team needs a team; send team as well, or choose "
				    "private or public_to_workspace.");
		return -1;
	}
	return 0;
}

/*
 * Requires that the caller may put a project into the team: the team is
 * visible, and the caller is a member of it or a full service account.
 * Returns 0, or -1 after replying.
 */
static int team_require_member(api_ctx *ctx, int64_t team_gid)
{
	db_stmt *st;
	int status;

	if (team_require_visible(ctx, team_gid))
		return -1;
	if (caller_is_full_writer(ctx))
		return 0;
	st = db_query(ctx->db, "SELECT 1 FROM team_memberships WHERE team_gid = ? AND user_gid = ? AND workspace_gid = ?");
	if (st == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(st, 0, team_gid);
	db_bind_int64(st, 1, ctx->who.user_gid);
	db_bind_int64(st, 2, ctx->who.workspace_gid);
	status = db_step(st);
	db_stmt_done(st);
	if (status == DB_DONE) {
		api_forbidden(ctx, "team: you are not a member of this team. Join the team first, or pick a team you "
				   "belong to.");
		return -1;
	}
	if (status != DB_ROW) {
		api_fail_db(ctx, status);
		return -1;
	}
	return 0;
}

/*
 * Reads the owner field: *owner_r is kept when absent, 0 for null, else the
 * resolved user, who must be an active member of the organization when the
 * owner changes (a kept owner who was deactivated since does not block other
 * updates). Returns -1 after replying.
 */
static int owner_apply(api_ctx *ctx, int64_t *owner_r)
{
	int64_t owner = 0;

	if (!api_body_has(ctx, "owner"))
		return 0;
	if (api_body_is_null(ctx, "owner")) {
		*owner_r = 0;
		return 0;
	}
	if (api_resolve_user(ctx, "owner", api_body_string(ctx, "owner"), &owner))
		return -1;
	if (owner != *owner_r && api_require_active_member(ctx, "owner", owner))
		return -1;
	*owner_r = owner;
	return 0;
}

/* Reads a project's name into `name` (API_NAME_MAX + 1 bytes); empty when absent. Returns a db status. */
static int project_name_read(api_ctx *ctx, int64_t project_gid, char *name)
{
	db_stmt *st = db_query(ctx->db, "SELECT name FROM projects WHERE gid = ? AND workspace_gid = ?");
	int status;

	name[0] = '\0';
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW && db_column_text(st, 0) != NULL)
		snprintf(name, API_NAME_MAX + 1, "%s", db_column_text(st, 0));
	db_stmt_done(st);
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/*
 * Appends user_added_to_project or user_removed_from_project: the user is
 * the resource (subtype service_account for one), the project is in the
 * details. Returns a db status.
 */
static int project_member_audit(api_ctx *ctx, const char *event_type, int64_t project_gid, int64_t user_gid)
{
	char project_name[API_NAME_MAX + 1], user_name[API_NAME_MAX + 1] = "";
	struct audit_event event;
	int is_person = 1;
	json_t *details;
	db_stmt *st;
	int status;

	status = project_name_read(ctx, project_gid, project_name);
	if (status != DB_OK)
		return status;
	st = db_query(ctx->db, "SELECT name, kind FROM users WHERE gid = ? AND workspace_gid = ?");
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, user_gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW && db_column_text(st, 0) != NULL)
		snprintf(user_name, sizeof(user_name), "%s", db_column_text(st, 0));
	if (status == DB_ROW && db_column_text(st, 1) != NULL)
		is_person = strcmp(db_column_text(st, 1), "person") == 0;
	db_stmt_done(st);
	if (status != DB_ROW && status != DB_DONE)
		return status;

	details = json_pack("{s:{s:o, s:s}}", "project", "gid", api_gid(project_gid), "name", project_name);
	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "user_access";
	event.resource_type = "user";
	event.resource_subtype = is_person ? NULL : "service_account";
	event.resource_gid = user_gid;
	event.resource_name = user_name;
	event.details = details;
	status = api_audit(ctx, &event);
	json_decref(details);
	return status;
}

/*
 * Adds a member, or raises an existing membership to `level` when `raise` is
 * set. A new membership gets a user_added_to_project audit record, because
 * every path that makes someone a member comes through here (creation,
 * owner changes, addMembers, addFollowers). Sets *added_r, when given, if a
 * membership was created. Returns a db status.
 */
static int member_add(api_ctx *ctx, int64_t project_gid, int64_t user_gid, const char *level, int raise, int *added_r)
{
	int status, added;
	db_stmt *st;

	st = db_query(ctx->db, "INSERT INTO project_memberships (gid, workspace_gid, project_gid, user_gid,"
			       " access_level, created_at) VALUES (?, ?, ?, ?, ?, ?)"
			       " ON CONFLICT (project_gid, user_gid) DO NOTHING");
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid_next());
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, project_gid);
	db_bind_int64(st, 3, user_gid);
	db_bind_text(st, 4, level);
	db_bind_int64(st, 5, time_now_us());
	status = db_run(st);
	added = status == DB_OK && db_changes(st) > 0;
	if (added_r != NULL)
		*added_r = added;
	if (status != DB_OK)
		return status;
	if (added)
		return project_member_audit(ctx, "user_added_to_project", project_gid, user_gid);
	if (!raise)
		return DB_OK;

	st = db_query(ctx->db, "UPDATE project_memberships SET access_level = ? WHERE project_gid = ? AND user_gid = ?"
			       " AND workspace_gid = ?");
	if (st == NULL)
		return DB_ERROR;
	db_bind_text(st, 0, level);
	db_bind_int64(st, 1, project_gid);
	db_bind_int64(st, 2, user_gid);
	db_bind_int64(st, 3, ctx->who.workspace_gid);
	return db_run(st);
}

static int follower_add(api_ctx *ctx, int64_t project_gid, int64_t user_gid)
{
	db_stmt *st = db_query(ctx->db, "INSERT INTO project_followers (workspace_gid, project_gid, user_gid)"
					" VALUES (?, ?, ?) ON CONFLICT (project_gid, user_gid) DO NOTHING");

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, ctx->who.workspace_gid);
	db_bind_int64(st, 1, project_gid);
	db_bind_int64(st, 2, user_gid);
	return db_run(st);
}

/* 1 when the caller's organization is an organization rather than a plain workspace. */
static int workspace_is_organization(api_ctx *ctx, int *status_r)
{
	db_stmt *st = db_query(ctx->db, "SELECT is_organization FROM workspaces WHERE gid = ?");
	int result = 1;

	*status_r = DB_ERROR;
	if (st == NULL)
		return 1;
	db_bind_int64(st, 0, ctx->who.workspace_gid);
	*status_r = db_step(st);
	if (*status_r == DB_ROW)
		result = db_column_int64(st, 0) != 0;
	db_stmt_done(st);
	return result;
}

/* ---------- create ---------- */

/* ---------- change events ---------- */

/*
 * Records a change event on a project: "added" to or "removed" from a team,
 * "changed" on `field` (with a resource value when value_type is set), or
 * "deleted". Returns a db status.
 */
static int project_event(api_ctx *ctx, int64_t gid, const char *action, const char *field, const char *change_action,
			 const char *value_type, int64_t value_gid)
{
	struct change_event event = { .resource_type = "project", .resource_gid = gid, .action = action,
				      .change_field = field, .change_action = change_action };

	if (strcmp(action, "changed") == 0) {
		event.value_type = value_type;
		event.value_gid = value_gid;
	} else if (value_type != NULL) {
		event.parent_type = value_type;
		event.parent_gid = value_gid;
	}
	return api_event(ctx, &event);
}

/* The project's plain fields as they were before an update, to tell which ones changed. */
struct project_snapshot {
	char *values[6];
};

static const char *const project_snapshot_fields[] = { "name", "notes", "color", "default_view", "archived",
						       "privacy_setting" };

static void project_snapshot_free(struct project_snapshot *snap)
{
	for (size_t i = 0; i < sizeof(snap->values) / sizeof(snap->values[0]); i++) {
		free(snap->values[i]);
		snap->values[i] = NULL;
	}
}

static int project_snapshot_read(api_ctx *ctx, int64_t gid, struct project_snapshot *snap)
{
	db_stmt *st = db_query(ctx->db, "SELECT name, notes, COALESCE(color, ''), default_view,"
					" CAST(archived AS TEXT), privacy_setting FROM projects"
					" WHERE gid = ? AND workspace_gid = ?");
	int status;

	memset(snap, 0, sizeof(*snap));
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	for (int i = 0; status == DB_ROW && i < 6; i++)
		snap->values[i] = strdup(db_column_text(st, i) ? db_column_text(st, i) : "");
	db_stmt_done(st);
	return status == DB_ROW ? DB_OK : (status == DB_DONE ? DB_ERROR : status);
}

/* Records one "changed" event per plain field that differs from `before`. Returns a db status. */
static int project_record_changes(api_ctx *ctx, int64_t gid, const struct project_snapshot *before)
{
	struct project_snapshot after;
	int status = project_snapshot_read(ctx, gid, &after);

	for (int i = 0; status == DB_OK && i < 6; i++) {
		if (before->values[i] == NULL || after.values[i] == NULL || strcmp(before->values[i], after.values[i]) != 0)
			status = project_event(ctx, gid, "changed", project_snapshot_fields[i], "changed", NULL, 0);
	}
	project_snapshot_free(&after);
	return status;
}

/* Creates a project; path_team and path_workspace come from the route (0 when absent). */
static int create_project(api_ctx *ctx, int64_t path_team, int64_t path_workspace)
{
	struct project_dates dates = { "", "" };
	int64_t followers[PROJECT_USERS_MAX];
	int64_t workspace_gid, team_gid, owner_gid, gid;
	const char *privacy = "public_to_workspace";
	const char *color, *view;
	char *notes = NULL, *html = NULL;
	int follower_count = 0, notes_given, status, i;
	int64_t now;
	db_stmt *st;

	/* Validate. */
	if (api_check_body(ctx, project_create_fields) || check_unsupported(ctx))
		return 0;
	if (api_body_string(ctx, "name") == NULL || api_body_string(ctx, "name")[0] == '\0')
		return api_error(ctx, 400, "name: missing or empty. Send the name of the project.");

	workspace_gid = api_body_gid(ctx, "workspace");
	if (path_workspace != 0 && workspace_gid != 0 && workspace_gid != path_workspace)
		return api_error(ctx, 400, "workspace: differs from the workspace in the path; leave it out.");
	if (workspace_gid == 0)
		workspace_gid = path_workspace != 0 ? path_workspace : ctx->who.workspace_gid;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);

	team_gid = api_body_gid(ctx, "team");
	if (path_team != 0 && team_gid != 0 && team_gid != path_team)
		return api_error(ctx, 400, "team: differs from the team in the path; leave it out.");
	if (team_gid == 0)
		team_gid = path_team;
	if (team_gid != 0) {
		if (team_require_member(ctx, team_gid))
			return 0;
	} else {
		int is_organization = workspace_is_organization(ctx, &status);

		if (status != DB_ROW)
			return api_fail_db(ctx, status == DB_DONE ? DB_ERROR : status);
		if (is_organization)
			return api_error(ctx, 400, "team: missing. A project in an organization must be shared with a "
						   "team; send the gid of a team you belong to.");
	}

	if (privacy_apply(ctx, team_gid, &privacy) || dates_apply(ctx, &dates))
		return 0;
	owner_gid = ctx->who.user_gid;
	if (owner_apply(ctx, &owner_gid) || resolve_user_list(ctx, "followers", followers, &follower_count))
		return 0;
	for (int f = 0; f < follower_count; f++)
		if (api_require_active_member(ctx, "followers", followers[f]))
			return 0;
	if (notes_from_body(ctx, &notes, &html, &notes_given))
		return 0;
	color = api_body_string(ctx, "color");
	view = api_body_string(ctx, "default_view");

	/* Act: the project, its first members and followers, and its first section, in one transaction. */
	if (api_begin_write(ctx)) {
		free(notes);
		free(html);
		return 0;
	}
	gid = gid_next();
	now = time_now_us();
	st = db_query(ctx->db, "INSERT INTO projects (gid, workspace_gid, team_gid, name, notes, html_notes, color,"
			       " default_view, archived, privacy_setting, owner_gid, created_by, due_on, start_on,"
			       " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL) {
		free(notes);
		free(html);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, workspace_gid);
	db_bind_gid(st, 2, team_gid);
	db_bind_text(st, 3, api_body_string(ctx, "name"));
	db_bind_text(st, 4, notes ? notes : "");
	db_bind_text(st, 5, html ? html : "<body></body>");
	db_bind_text(st, 6, color);
	db_bind_text(st, 7, view ? view : "list");
	db_bind_int64(st, 8, api_body_bool(ctx, "archived", 0));
	db_bind_text(st, 9, privacy);
	db_bind_gid(st, 10, owner_gid);
	db_bind_int64(st, 11, ctx->who.user_gid);
	db_bind_text(st, 12, dates.due_on[0] ? dates.due_on : NULL);
	db_bind_text(st, 13, dates.start_on[0] ? dates.start_on : NULL);
	db_bind_int64(st, 14, now);
	db_bind_int64(st, 15, now);
	status = db_run(st);
	free(notes);
	free(html);
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	/* The creator and the owner administer the project; followers are members, as Asana defines them. */
	status = member_add(ctx, gid, ctx->who.user_gid, "admin", 1, NULL);
	if (status == DB_OK && owner_gid != 0)
		status = member_add(ctx, gid, owner_gid, "admin", 1, NULL);
	if (status == DB_OK)
		status = follower_add(ctx, gid, ctx->who.user_gid);
	for (i = 0; status == DB_OK && i < follower_count; i++) {
		status = member_add(ctx, gid, followers[i], "editor", 0, NULL);
		if (status == DB_OK)
			status = follower_add(ctx, gid, followers[i]);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	st = db_query(ctx->db, "INSERT INTO sections (gid, workspace_gid, project_gid, name, position, created_at)"
			       " VALUES (?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, gid_next());
	db_bind_int64(st, 1, workspace_gid);
	db_bind_int64(st, 2, gid);
	db_bind_text(st, 3, PROJECT_DEFAULT_SECTION_NAME);
	db_bind_int64(st, 4, PROJECT_POSITION_STEP);
	db_bind_int64(st, 5, now);
	status = db_run(st);
	if (status == DB_OK)
		status = project_event(ctx, gid, "added", NULL, NULL, team_gid ? "team" : NULL, team_gid);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;

	return project_reply(ctx, gid, 1);
}

/* POST /projects */
static int projects_create(api_ctx *ctx)
{
	return create_project(ctx, 0, 0);
}

/* POST /teams/{team_gid}/projects */
static int team_projects_create(api_ctx *ctx)
{
	int64_t team_gid;

	if (api_param_gid(ctx, "team_gid", &team_gid))
		return 0;
	return create_project(ctx, team_gid, 0);
}

/* POST /workspaces/{workspace_gid}/projects */
static int workspace_projects_create(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid))
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	return create_project(ctx, 0, workspace_gid);
}

/* ---------- read, update, delete ---------- */

/* GET /projects/{project_gid} */
static int project_get(api_ctx *ctx)
{
	int64_t gid;

	if (api_param_gid(ctx, "project_gid", &gid) || project_require_visible(ctx, gid))
		return 0;
	return project_reply(ctx, gid, 0);
}

/*
 * The reply of GET /projects/{project_gid}/task_counts, for opt_fields: it
 * has no gid, and every field is left out unless opt_fields requests it.
 */
static const char *const task_count_fields[] = {
	"num_tasks", "num_incomplete_tasks", "num_completed_tasks",
	"num_milestones", "num_incomplete_milestones", "num_completed_milestones", NULL,
};
static const char *const task_count_compact[] = { NULL };
static const struct api_type task_count_type = {
	.name = "task_count",
	.fields = task_count_fields,
	.compact = task_count_compact,
	.refs = NULL,
	.load = NULL,
};

/*
 * GET /projects/{project_gid}/task_counts. Counts the tasks that belong to
 * the project (task_projects): a subtask counts when it was added to the
 * project itself, not when only its parent was. Milestones are tasks, so
 * they count in num_tasks too.
 */
static int project_task_counts(api_ctx *ctx)
{
	int64_t gid;
	db_stmt *st;
	json_t *counts;
	int64_t tasks, completed, milestones, completed_milestones;
	int status;

	if (api_param_gid(ctx, "project_gid", &gid) || project_require_visible(ctx, gid))
		return 0;
	if (ctx->fields == NULL)
		return api_reply(ctx, 200, json_object());

	st = db_query(ctx->db,
		      "SELECT COUNT(*), COALESCE(SUM(t.completed), 0),"
		      " COALESCE(SUM(CASE WHEN t.resource_subtype = 'milestone' THEN 1 ELSE 0 END), 0),"
		      " COALESCE(SUM(CASE WHEN t.resource_subtype = 'milestone' THEN t.completed ELSE 0 END), 0)"
		      " FROM task_projects tp JOIN tasks t ON t.gid = tp.task_gid"
		      " WHERE tp.project_gid = ? AND tp.workspace_gid = ?");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status != DB_ROW) {
		db_stmt_done(st);
		return api_fail_db(ctx, status == DB_DONE ? DB_ERROR : status);
	}
	tasks = db_column_int64(st, 0);
	completed = db_column_int64(st, 1);
	milestones = db_column_int64(st, 2);
	completed_milestones = db_column_int64(st, 3);
	db_stmt_done(st);

	counts = json_object();
	json_object_set_new(counts, "num_tasks", json_integer(tasks));
	json_object_set_new(counts, "num_incomplete_tasks", json_integer(tasks - completed));
	json_object_set_new(counts, "num_completed_tasks", json_integer(completed));
	json_object_set_new(counts, "num_milestones", json_integer(milestones));
	json_object_set_new(counts, "num_incomplete_milestones", json_integer(milestones - completed_milestones));
	json_object_set_new(counts, "num_completed_milestones", json_integer(completed_milestones));
	return api_reply(ctx, 200, api_present(ctx, &task_count_type, counts));
}

/* The columns an update merges with the request before it checks the rules that span fields. */
struct project_current {
	int64_t team_gid;
	int64_t owner_gid;
	char privacy[24];
	struct project_dates dates;
};

static int project_current_read(api_ctx *ctx, int64_t gid, struct project_current *current)
{
	db_stmt *st = db_query(ctx->db, "SELECT team_gid, owner_gid, privacy_setting, due_on, start_on FROM projects"
					" WHERE gid = ? AND workspace_gid = ?");
	int status;

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW) {
		const char *due_on = db_column_text(st, 3), *start_on = db_column_text(st, 4);

		current->team_gid = db_column_is_null(st, 0) ? 0 : db_column_int64(st, 0);
		current->owner_gid = db_column_is_null(st, 1) ? 0 : db_column_int64(st, 1);
		snprintf(current->privacy, sizeof(current->privacy), "%s", db_column_text(st, 2));
		snprintf(current->dates.due_on, sizeof(current->dates.due_on), "%s", due_on ? due_on : "");
		snprintf(current->dates.start_on, sizeof(current->dates.start_on), "%s", start_on ? start_on : "");
	}
	db_stmt_done(st);
	return status;
}

/* PUT /projects/{project_gid} */
static int project_update(api_ctx *ctx)
{
	struct project_current current;
	struct project_snapshot before;
	char current_due_on[sizeof(current.dates.due_on)], current_start_on[sizeof(current.dates.start_on)];
	const char *privacy;
	char *notes = NULL, *html = NULL;
	int64_t gid, team_gid, owner_gid;
	int notes_given, status;
	db_stmt *st;

	/* Validate. */
	if (api_param_gid(ctx, "project_gid", &gid))
		return 0;
	if (api_check_body(ctx, project_update_fields) || check_unsupported(ctx))
		return 0;
	if (api_body_has(ctx, "followers"))
		return api_error(ctx, 400, "followers: can be set only when a project is created. Use POST "
					   "/projects/{project_gid}/addFollowers or removeFollowers.");
	if (api_body_has(ctx, "name") && api_body_string(ctx, "name")[0] == '\0')
		return api_error(ctx, 400, "name: may not be empty. Send the new name of the project.");

	/* Authorize, then merge the request with the current values. */
	if (api_project_require(ctx, gid, PROJECT_EDIT))
		return 0;
	status = project_current_read(ctx, gid, &current);
	if (status == DB_DONE)
		return api_not_found(ctx, "project", gid);
	if (status != DB_ROW)
		return api_fail_db(ctx, status);

	memcpy(current_due_on, current.dates.due_on, sizeof(current_due_on));
	memcpy(current_start_on, current.dates.start_on, sizeof(current_start_on));
	team_gid = current.team_gid;
	if (api_body_has(ctx, "team") && api_body_gid(ctx, "team") != current.team_gid) {
		team_gid = api_body_gid(ctx, "team");
		if (team_require_member(ctx, team_gid))
			return 0;
	}
	privacy = current.privacy;
	if (privacy_apply(ctx, team_gid, &privacy) || dates_apply(ctx, &current.dates))
		return 0;
	owner_gid = current.owner_gid;
	if (owner_apply(ctx, &owner_gid))
		return 0;
	if (notes_from_body(ctx, &notes, &html, &notes_given))
		return 0;

	/* Act. */
	if (api_begin_write(ctx)) {
		free(notes);
		free(html);
		return 0;
	}
	status = project_snapshot_read(ctx, gid, &before);
	if (status != DB_OK) {
		free(notes);
		free(html);
		project_snapshot_free(&before);
		return api_fail_db(ctx, status);
	}
	st = db_query(ctx->db, "UPDATE projects SET"
			       " name = CASE WHEN ? = 1 THEN ? ELSE name END,"
			       " notes = CASE WHEN ? = 1 THEN ? ELSE notes END,"
			       " html_notes = CASE WHEN ? = 1 THEN ? ELSE html_notes END,"
			       " color = CASE WHEN ? = 1 THEN ? ELSE color END,"
			       " default_view = CASE WHEN ? = 1 THEN ? ELSE default_view END,"
			       " archived = CASE WHEN ? = 1 THEN ? ELSE archived END,"
			       " privacy_setting = ?, team_gid = ?, owner_gid = ?, due_on = ?, start_on = ?,"
			       " modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	if (st == NULL) {
		free(notes);
		free(html);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(st, 0, api_body_has(ctx, "name"));
	db_bind_text(st, 1, api_body_string(ctx, "name"));
	db_bind_int64(st, 2, notes_given);
	db_bind_text(st, 3, notes);
	db_bind_int64(st, 4, notes_given);
	db_bind_text(st, 5, html);
	db_bind_int64(st, 6, api_body_has(ctx, "color"));
	db_bind_text(st, 7, api_body_string(ctx, "color"));
	db_bind_int64(st, 8, api_body_has(ctx, "default_view"));
	db_bind_text(st, 9, api_body_string(ctx, "default_view"));
	db_bind_int64(st, 10, api_body_has(ctx, "archived"));
	db_bind_int64(st, 11, api_body_bool(ctx, "archived", 0));
	db_bind_text(st, 12, privacy);
	db_bind_gid(st, 13, team_gid);
	db_bind_gid(st, 14, owner_gid);
	db_bind_text(st, 15, current.dates.due_on[0] ? current.dates.due_on : NULL);
	db_bind_text(st, 16, current.dates.start_on[0] ? current.dates.start_on : NULL);
	db_bind_int64(st, 17, time_now_us());
	db_bind_int64(st, 18, gid);
	db_bind_int64(st, 19, ctx->who.workspace_gid);
	status = db_run(st);
	free(notes);
	free(html);
	if (status == DB_OK)
		status = project_record_changes(ctx, gid, &before);
	project_snapshot_free(&before);
	if (status == DB_OK && team_gid != current.team_gid)
		status = project_event(ctx, gid, "changed", "team", "changed", "team", team_gid);
	if (status == DB_OK && owner_gid != current.owner_gid)
		status = project_event(ctx, gid, "changed", "owner", "changed", "user", owner_gid);
	if (status == DB_OK && strcmp(current_due_on, current.dates.due_on) != 0)
		status = project_event(ctx, gid, "changed", "due_on", "changed", NULL, 0);
	if (status == DB_OK && strcmp(current_start_on, current.dates.start_on) != 0)
		status = project_event(ctx, gid, "changed", "start_on", "changed", NULL, 0);
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	/* A new owner administers the project, as the creator does. */
	if (owner_gid != 0 && owner_gid != current.owner_gid) {
		status = member_add(ctx, gid, owner_gid, "admin", 1, NULL);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (api_commit(ctx))
		return 0;

	return project_reply(ctx, gid, 0);
}

/*
 * DELETE /projects/{project_gid}
 *
 * The project's sections, memberships, followers and task placements go
 * with it. Its tasks stay, also those in no other project: the spec does not
 * say they are deleted, kontor has no trash to restore them from, and their
 * assignees, followers and creators can still reach them.
 */
static int project_delete(api_ctx *ctx)
{
	static const char *const deletes[] = {
		"DELETE FROM task_projects WHERE project_gid = ? AND workspace_gid = ?",
		"DELETE FROM sections WHERE project_gid = ? AND workspace_gid = ?",
		"DELETE FROM project_followers WHERE project_gid = ? AND workspace_gid = ?",
		"DELETE FROM project_memberships WHERE project_gid = ? AND workspace_gid = ?",
		"DELETE FROM projects WHERE gid = ? AND workspace_gid = ?",
	};
	char name[API_NAME_MAX + 1];
	int64_t gid;
	int status;

	if (api_param_gid(ctx, "project_gid", &gid))
		return 0;
	if (api_project_require(ctx, gid, PROJECT_ADMIN))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	/* Recorded before the rows go, like every deletion. */
	status = project_name_read(ctx, gid, name);
	if (status == DB_OK)
		status = api_audit_resource(ctx, "project_deleted", "deletion", "project", gid, name, NULL);
	if (status == DB_OK)
		status = project_event(ctx, gid, "deleted", NULL, NULL, NULL, 0);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	for (size_t i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++) {
		status = run_with_gids(ctx, deletes[i], gid, ctx->who.workspace_gid);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (api_commit(ctx))
		return 0;
	return api_reply_empty(ctx);
}

/* ---------- members and followers ---------- */

enum user_change { ADD_MEMBERS, REMOVE_MEMBERS, ADD_FOLLOWERS, REMOVE_FOLLOWERS };

static const struct api_field members_fields[] = {
	{ "members", AF_ANY, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct api_field followers_fields[] = {
	{ "followers", AF_ANY, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Ends a membership; sets *removed_r if there was one. Returns a db status. */
static int member_remove(api_ctx *ctx, int64_t project_gid, int64_t user_gid, int *removed_r)
{
	db_stmt *st = db_query(ctx->db, "DELETE FROM project_memberships WHERE project_gid = ? AND user_gid = ?"
					" AND workspace_gid = ?");
	int status;

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, project_gid);
	db_bind_int64(st, 1, user_gid);
	db_bind_int64(st, 2, ctx->who.workspace_gid);
	status = db_run(st);
	*removed_r = status == DB_OK && db_changes(st) > 0;
	return status;
}

/*
 * Adds or removes members or followers and replies with the project.
 * Editors may change anyone; anybody who sees the project may remove
 * themselves. Removing a member also ends their following, and adding a
 * follower makes them a member, because followers are a subset of members.
 */
static int change_users(api_ctx *ctx, enum user_change change)
{
	const char *field = (change == ADD_MEMBERS || change == REMOVE_MEMBERS) ? "members" : "followers";
	int64_t users[PROJECT_USERS_MAX];
	int64_t gid;
	int count, level, only_self = 1, status = DB_OK, i;

	if (api_param_gid(ctx, "project_gid", &gid))
		return 0;
	if (api_check_body(ctx, change == ADD_MEMBERS || change == REMOVE_MEMBERS ? members_fields : followers_fields))
		return 0;
	if (resolve_user_list(ctx, field, users, &count))
		return 0;
	if (count == 0)
		return api_error(ctx, 400, "%s: empty. Pass one or more user gids, \"me\" or e-mail addresses.", field);
	/* Removing someone who has left the organization stays possible. */
	for (i = 0; (change == ADD_MEMBERS || change == ADD_FOLLOWERS) && i < count; i++)
		if (api_require_active_member(ctx, field, users[i]))
			return 0;

	level = api_project_access(ctx, gid);
	if (level < 0)
		return api_fail_db(ctx, level);
	if (level == PROJECT_HIDDEN)
		return api_not_found(ctx, "project", gid);
	for (i = 0; i < count; i++)
		if (users[i] != ctx->who.user_gid)
			only_self = 0;
	if (level < PROJECT_EDIT && !((change == REMOVE_MEMBERS || change == REMOVE_FOLLOWERS) && only_self))
		return api_forbidden(ctx, "Only the project's owner and its admin and editor members may change its "
					  "members and followers. Ask one of them.");

	if (api_begin_write(ctx))
		return 0;
	for (i = 0; status == DB_OK && i < count; i++) {
		int changed = 0;

		switch (change) {
		case ADD_MEMBERS:
			status = member_add(ctx, gid, users[i], "editor", 0, &changed);
			break;
		case ADD_FOLLOWERS:
			status = member_add(ctx, gid, users[i], "editor", 0, &changed);
			if (status == DB_OK)
				status = follower_add(ctx, gid, users[i]);
			break;
		case REMOVE_MEMBERS:
			status = member_remove(ctx, gid, users[i], &changed);
			if (status == DB_OK)
				status = run_with_gids(ctx, "DELETE FROM project_followers WHERE project_gid = ? AND user_gid = ?",
						       gid, users[i]);
			break;
		case REMOVE_FOLLOWERS:
			status = run_with_gids(ctx, "DELETE FROM project_followers WHERE project_gid = ? AND user_gid = ?",
					       gid, users[i]);
			break;
		}
		/* member_add records the memberships it creates, addFollowers' included. */
		if (status == DB_OK && changed && change == REMOVE_MEMBERS)
			status = project_member_audit(ctx, "user_removed_from_project", gid, users[i]);
		if (status == DB_OK)
			status = project_event(ctx, gid, "changed", field,
					       change == ADD_MEMBERS || change == ADD_FOLLOWERS ? "added" : "removed", "user",
					       users[i]);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;

	/* A caller who just left a private project can no longer see it. */
	if (api_project_access(ctx, gid) == PROJECT_HIDDEN)
		return api_reply_empty(ctx);
	return project_reply(ctx, gid, 0);
}

static int project_add_members(api_ctx *ctx)
{
	return change_users(ctx, ADD_MEMBERS);
}

static int project_remove_members(api_ctx *ctx)
{
	return change_users(ctx, REMOVE_MEMBERS);
}

static int project_add_followers(api_ctx *ctx)
{
	return change_users(ctx, ADD_FOLLOWERS);
}

static int project_remove_followers(api_ctx *ctx)
{
	return change_users(ctx, REMOVE_FOLLOWERS);
}

/* ---------- project memberships ---------- */

static const char *const membership_fields[] = { "parent", "member", "access_level", "user", "project", "write_access",
						  NULL };
static const char *const membership_compact[] = { "parent", "member", "access_level", NULL };
static const struct api_type_ref membership_refs[] = {
	{ "parent", &api_project_type }, { "member", &api_user_type }, { "user", &api_user_type },
	{ "project", &api_project_type }, { NULL, NULL },
};

#define MEMBERSHIP_SELECT                                                                                 \
	"SELECT pm.gid, pm.access_level, pm.project_gid, p.name, pm.user_gid, u.name FROM project_memberships pm" \
	" JOIN projects p ON p.gid = pm.project_gid JOIN users u ON u.gid = pm.user_gid"

static json_t *membership_from_row(db_stmt *st)
{
	const char *level = db_column_text(st, 1);
	int64_t project_gid = db_column_int64(st, 2), user_gid = db_column_int64(st, 4);
	json_t *membership = api_object_new("project_membership", db_column_int64(st, 0));
	int full_write = strcmp(level, "admin") == 0 || strcmp(level, "editor") == 0;

	json_object_set_new(membership, "parent", api_ref("project", project_gid, db_column_text(st, 3)));
	json_object_set_new(membership, "member", api_ref("user", user_gid, db_column_text(st, 5)));
	json_object_set_new(membership, "access_level", json_string(level));
	json_object_set_new(membership, "user", api_ref("user", user_gid, db_column_text(st, 5)));
	json_object_set_new(membership, "project", api_ref("project", project_gid, db_column_text(st, 3)));
	json_object_set_new(membership, "write_access", json_string(full_write ? "full_write" : "comment_only"));
	return membership;
}

/* Reads a membership the caller may see (through its project). Returns DB_ROW, DB_DONE or an error status. */
static int membership_fetch(api_ctx *ctx, int64_t gid, json_t **membership_r)
{
	db_stmt *st = db_query(ctx->db, MEMBERSHIP_SELECT " WHERE pm.gid = ? AND pm.workspace_gid = ?");
	int64_t project_gid = 0;
	int status, exists = 0, visible;

	*membership_r = NULL;
	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	status = db_step(st);
	if (status == DB_ROW) {
		project_gid = db_column_int64(st, 2);
		*membership_r = membership_from_row(st);
	}
	db_stmt_done(st);
	if (status != DB_ROW)
		return status;
	visible = api_can_see_project(ctx, project_gid, &exists);
	if (visible != 1) {
		json_decref(*membership_r);
		*membership_r = NULL;
		return visible < 0 ? DB_ERROR : DB_DONE;
	}
	return DB_ROW;
}

static json_t *membership_load(api_ctx *ctx, int64_t gid)
{
	json_t *membership;

	if (membership_fetch(ctx, gid, &membership) != DB_ROW)
		return NULL;
	return membership;
}

const struct api_type api_project_membership_type = {
	.name = "project_membership",
	.fields = membership_fields,
	.compact = membership_compact,
	.refs = membership_refs,
	.load = membership_load,
};

/* GET /project_memberships/{project_membership_gid} */
static int membership_get(api_ctx *ctx)
{
	json_t *membership;
	int64_t gid;
	int status;

	if (api_param_gid(ctx, "project_membership_gid", &gid))
		return 0;
	status = membership_fetch(ctx, gid, &membership);
	if (status == DB_DONE)
		return api_not_found(ctx, "project membership", gid);
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	return api_reply(ctx, 200, api_present(ctx, &api_project_membership_type, membership));
}

/* GET /projects/{project_gid}/project_memberships?user= */
static int project_memberships_list(api_ctx *ctx)
{
	struct api_page page;
	const char *user = api_query(ctx, "user");
	int64_t gid, user_gid = 0, last_gid = 0;
	int status, fetched = 0;
	json_t *items;
	db_stmt *st;

	if (api_param_gid(ctx, "project_gid", &gid))
		return 0;
	if (api_page_parse(ctx, &page))
		return 0;
	if (user != NULL && api_resolve_user(ctx, "user", user, &user_gid))
		return 0;
	if (project_require_visible(ctx, gid))
		return 0;

	st = db_query(ctx->db, MEMBERSHIP_SELECT " WHERE pm.project_gid = ? AND pm.workspace_gid = ? AND pm.gid > ?"
						 " AND (? = 0 OR pm.user_gid = ?) ORDER BY pm.gid LIMIT ?");
	if (st == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(st, 0, gid);
	db_bind_int64(st, 1, ctx->who.workspace_gid);
	db_bind_int64(st, 2, page.after);
	db_bind_int64(st, 3, user_gid != 0);
	db_bind_int64(st, 4, user_gid);
	db_bind_int64(st, 5, page.limit + 1);

	items = json_array();
	for (;;) {
		status = db_step(st);
		if (status != DB_ROW)
			break;
		if (++fetched > page.limit)
			continue;
		last_gid = db_column_int64(st, 0);
		json_array_append_new(items, api_present(ctx, &api_project_membership_type, membership_from_row(st)));
	}
	db_stmt_done(st);
	if (status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}
	return reply_page(ctx, items, &page, fetched, last_gid, "project memberships");
}

/* ---------- routes ---------- */

const struct api_route api_projects_routes[] = {
	{ "GET", "/projects", projects_list, API_LIST, &api_project_type },
	{ "POST", "/projects", projects_create, API_WRITE | API_BODY, &api_project_type },
	{ "GET", "/projects/{project_gid}", project_get, 0, &api_project_type },
	{ "GET", "/projects/{project_gid}/task_counts", project_task_counts, 0, &task_count_type },
	{ "PUT", "/projects/{project_gid}", project_update, API_WRITE | API_BODY, &api_project_type },
	{ "DELETE", "/projects/{project_gid}", project_delete, API_WRITE, NULL },
	{ "POST", "/projects/{project_gid}/addMembers", project_add_members, API_WRITE | API_BODY, &api_project_type },
	{ "POST", "/projects/{project_gid}/removeMembers", project_remove_members, API_WRITE | API_BODY,
	  &api_project_type },
	{ "POST", "/projects/{project_gid}/addFollowers", project_add_followers, API_WRITE | API_BODY,
	  &api_project_type },
	{ "POST", "/projects/{project_gid}/removeFollowers", project_remove_followers, API_WRITE | API_BODY,
	  &api_project_type },
	{ "GET", "/projects/{project_gid}/project_memberships", project_memberships_list, API_LIST,
	  &api_project_membership_type },
	{ "GET", "/project_memberships/{project_membership_gid}", membership_get, 0, &api_project_membership_type },
	{ "GET", "/teams/{team_gid}/projects", team_projects_list, API_LIST, &api_project_type },
	{ "GET", "/tasks/{task_gid}/projects", task_projects_list, API_LIST, &api_project_type },
	{ "POST", "/teams/{team_gid}/projects", team_projects_create, API_WRITE | API_BODY, &api_project_type },
	{ "GET", "/workspaces/{workspace_gid}/projects", workspace_projects_list, API_LIST, &api_project_type },
	{ "POST", "/workspaces/{workspace_gid}/projects", workspace_projects_create, API_WRITE | API_BODY,
	  &api_project_type },
	{ NULL, NULL, NULL, 0, NULL },
};
