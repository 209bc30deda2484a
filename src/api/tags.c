/*
 * Tags: organization-wide labels for tasks. GET and POST /tags and
 * /workspaces/{workspace_gid}/tags, GET, PUT and DELETE /tags/{tag_gid}, and
 * GET /tasks/{task_gid}/tags. Adding a tag to a task and removing it are task
 * actions (addTag, removeTag) and live with the tasks. This file defines
 * api_tag_type, which those actions and opt_fields use to show tags.
 *
 * Every member of the organization sees and edits every tag, as in Asana.
 * Guests see a tag only on a task they can see: GET /tasks/{task_gid}/tags
 * and GET /tags/{tag_gid} for such a tag work for them, while the
 * organization-wide lists return no tags to guests, and guests cannot create,
 * change or delete tags.
 */
#include "api/api.h"
#include "store/events.h"

#include "util/gid.h"
#include "util/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* How many of a tag's tasks a guest's visibility check looks at. */
#define TAG_GUEST_TASKS_CHECKED 100

/* ---------- representation ---------- */

static const char *const tag_colors[] = {
	"dark-pink", "dark-green", "dark-blue", "dark-red", "dark-teal", "dark-brown", "dark-orange",
	"dark-purple", "dark-warm-gray", "light-pink", "light-green", "light-blue", "light-red", "light-teal",
	"light-brown", "light-orange", "light-purple", "light-warm-gray", NULL,
};

static const char *const tag_fields[] = {
	"name", "color", "notes", "created_at", "followers", "workspace", "permalink_url", NULL,
};
static const char *const tag_compact[] = { "name", NULL };
static const struct api_type_ref tag_refs[] = {
	{ "workspace", &api_workspace_type },
	{ "followers", &api_user_type },
	{ NULL, NULL },
};

/* One tag row, as every tag query in this file selects it (TAG_COLUMNS). */
enum { TAG_GID, TAG_NAME, TAG_COLOR, TAG_NOTES, TAG_CREATED_AT, TAG_WORKSPACE_GID, TAG_WORKSPACE_NAME };

#define TAG_COLUMNS "tg.gid, tg.name, tg.color, tg.notes, tg.created_at, w.gid, w.name "
#define TAG_FROM "FROM tags tg JOIN workspaces w ON w.gid = tg.workspace_gid "

/* Builds the full tag on the current row of `s` (TAG_COLUMNS). Returns a new reference. */
static json_t *tag_from_row(db_stmt *s)
{
	json_t *tag = api_object_new("tag", db_column_int64(s, TAG_GID));
	const char *notes = db_column_text(s, TAG_NOTES);

	json_object_set_new(tag, "name", json_string(db_column_text(s, TAG_NAME) ? db_column_text(s, TAG_NAME) : ""));
	json_object_set_new(tag, "color", api_string_or_null(db_column_text(s, TAG_COLOR)));
	json_object_set_new(tag, "notes", json_string(notes ? notes : ""));
	json_object_set_new(tag, "created_at", api_time(db_column_int64(s, TAG_CREATED_AT)));

	/* NOTE: tag followers are not stored, so followers is always empty; see tag_followers_check. */
	json_object_set_new(tag, "followers", json_array());
	json_object_set_new(tag, "workspace", api_ref("workspace", db_column_int64(s, TAG_WORKSPACE_GID),
						     db_column_text(s, TAG_WORKSPACE_NAME)));

	/* NOTE: permalink_url is left out because the server does not know its public base URL. */
	return tag;
}

/*
 * Returns 1 when a guest may see the tag: it is on one of the first
 * TAG_GUEST_TASKS_CHECKED tasks carrying it that the guest can see. Returns
 * 0 otherwise and a negative db status on failure.
 */
static int guest_sees_tag(api_ctx *ctx, int64_t tag_gid)
{
	int64_t tasks[TAG_GUEST_TASKS_CHECKED];
	int count = 0;
	db_stmt *s;
	int rc;
	int i;

	s = db_query(ctx->db, "SELECT task_gid FROM task_tags WHERE tag_gid = ? AND workspace_gid = ? "
			      "ORDER BY task_gid LIMIT ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, tag_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, TAG_GUEST_TASKS_CHECKED);
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		tasks[count++] = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	if (rc < 0)
		return rc;

	/* NOTE: a guest whose visible tasks all lie beyond the first TAG_GUEST_TASKS_CHECKED of a tag gets 404 for it. */
	for (i = 0; i < count; i++) {
		int exists;
		int visible = api_can_see_task(ctx, tasks[i], &exists);

		if (visible < 0)
			return DB_ERROR;
		if (visible == 1)
			return 1;
	}
	return 0;
}

/*
 * Returns the full tag if it exists in the caller's organization and the
 * caller may see it, else NULL. *status_r receives DB_OK or the status of a
 * failed query.
 */
static json_t *tag_fetch(api_ctx *ctx, int64_t gid, int *status_r)
{
	json_t *tag = NULL;
	db_stmt *s;
	int rc;

	*status_r = DB_OK;
	s = db_query(ctx->db, "SELECT " TAG_COLUMNS TAG_FROM "WHERE tg.gid = ? AND tg.workspace_gid = ?");
	if (s == NULL) {
		*status_r = DB_ERROR;
		return NULL;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW)
		tag = tag_from_row(s);
	db_stmt_done(s);
	if (rc < 0) {
		*status_r = rc;
		return NULL;
	}

	if (tag != NULL && api_caller_is_guest(ctx)) {
		rc = guest_sees_tag(ctx, gid);
		if (rc != 1) {
			json_decref(tag);
			*status_r = rc < 0 ? rc : DB_OK;
			return NULL;
		}
	}
	return tag;
}

static json_t *tag_load(api_ctx *ctx, int64_t gid)
{
	int status;

	return tag_fetch(ctx, gid, &status);
}

const struct api_type api_tag_type = {
	.name = "tag",
	.fields = tag_fields,
	.compact = tag_compact,
	.refs = tag_refs,
	.load = tag_load,
};

/* ---------- helpers ---------- */

/* Ends the open write transaction, if any, before a reply that is not a database failure. */
static void rollback(api_ctx *ctx)
{
	if (db_in_transaction(ctx->db))
		db_rollback(ctx->db);
}

static bool blank(const char *text)
{
	for (; *text != '\0'; text++) {
		if (*text != ' ' && *text != '\t')
			return false;
	}
	return true;
}

/* Replies 404 unless `workspace_gid` is the caller's organization. Returns 0 when it is. */
static int check_workspace(api_ctx *ctx, int64_t workspace_gid)
{
	if (workspace_gid != ctx->who.workspace_gid) {
		api_not_found(ctx, "workspace", workspace_gid);
		return -1;
	}
	return 0;
}

/* Replies 403 to guests, who cannot change tags. Returns 0 for everyone else. */
static int require_member(api_ctx *ctx)
{
	if (api_caller_is_guest(ctx)) {
		api_forbidden(ctx, "tags: guests cannot create, change or delete tags; ask a member of the organization");
		return -1;
	}
	return 0;
}

/*
 * Resolves each entry of the body's followers to a user of the organization,
 * so that a wrong entry gets the same 400 or 404 as elsewhere. Returns 0, or
 * -1 after replying.
 */
static int tag_followers_check(api_ctx *ctx)
{
	json_t *followers = ctx->body ? json_object_get(ctx->body, "followers") : NULL;
	json_t *item;
	size_t i;

	/* NOTE: checked but not stored, because the schema has no table for tag followers. */
	json_array_foreach(followers, i, item) {
		int64_t user_gid;

		if (api_resolve_user(ctx, "followers", json_string_value(item), &user_gid) < 0)
			return -1;
	}
	return 0;
}

/* Replies with the tag as the caller sees it, with `status` (200 or 201). */
static int reply_tag(api_ctx *ctx, int status, int64_t gid)
{
	json_t *tag;
	int rc;

	tag = tag_fetch(ctx, gid, &rc);
	if (tag == NULL && rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (tag == NULL)
		return api_not_found(ctx, "tag", gid);
	return api_reply_object(ctx, &api_tag_type, tag, "/tags", gid, status);
}

/*
 * Steps a statement of TAG_COLUMNS rows into a list reply, keyed by tag gid.
 * The statement must fetch page->limit + 1 rows. Returns 0 after replying.
 */
static int reply_tag_rows(api_ctx *ctx, db_stmt *s, struct api_page *page)
{
	json_t *items = json_array();
	int fetched = 0;
	int rc;

	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		if (fetched < page->limit) {
			page->next_after = db_column_int64(s, TAG_GID);
			json_array_append_new(items, api_present(ctx, &api_tag_type, tag_from_row(s)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc < 0) {
		json_decref(items);
		return api_fail_db(ctx, rc);
	}

	api_page_rows(page, fetched);
	return api_reply_list(ctx, items, page);
}

/* Lists the tags of the caller's organization in gid order; guests get an empty list. */
static int tags_list_workspace(api_ctx *ctx, int64_t workspace_gid)
{
	struct api_page page;
	db_stmt *s;

	if (api_page_parse(ctx, &page) < 0)
		return 0;
	if (check_workspace(ctx, workspace_gid) < 0)
		return 0;

	/*
	 * NOTE: guests get no tags here, although Asana would list the tags on
	 * the tasks they see, because that rule does not fit a keyset query.
	 */
	if (api_caller_is_guest(ctx)) {
		page.has_next = 0;
		return api_reply_list(ctx, json_array(), &page);
	}

	s = db_query(ctx->db, "SELECT " TAG_COLUMNS TAG_FROM "WHERE tg.workspace_gid = ? AND tg.gid > ? "
			      "ORDER BY tg.gid LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, page.after);
	db_bind_int64(s, 2, (int64_t)page.limit + 1);
	return reply_tag_rows(ctx, s, &page);
}

/* ---------- handlers ---------- */

/* GET /tags?workspace=...: Asana requires the workspace filter. */
static int tags_list(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_query_gid(ctx, "workspace", &workspace_gid) < 0)
		return 0;
	if (workspace_gid == 0)
		return api_error(ctx, 400, "workspace: missing; pass the gid of your organization as the workspace "
					   "query parameter");
	return tags_list_workspace(ctx, workspace_gid);
}

static int workspace_tags_list(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid) < 0)
		return 0;
	return tags_list_workspace(ctx, workspace_gid);
}

/* GET /tasks/{task_gid}/tags: the tags on a task the caller can see, in tag gid order. */
static int task_tags_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t task_gid;
	db_stmt *s;
	int visible;
	int exists;

	if (api_param_gid(ctx, "task_gid", &task_gid) < 0)
		return 0;
	if (api_page_parse(ctx, &page) < 0)
		return 0;
	visible = api_can_see_task(ctx, task_gid, &exists);
	if (visible < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (visible == 0)
		return api_not_found(ctx, "task", task_gid);

	s = db_query(ctx->db, "SELECT " TAG_COLUMNS TAG_FROM "JOIN task_tags tt ON tt.tag_gid = tg.gid "
			      "WHERE tt.task_gid = ? AND tt.workspace_gid = ? AND tg.gid > ? ORDER BY tg.gid LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, task_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	db_bind_int64(s, 3, (int64_t)page.limit + 1);
	return reply_tag_rows(ctx, s, &page);
}

static const struct api_field tag_create_fields[] = {
	{ "name", AF_STRING, AF_REQUIRED, 0, NULL },
	{ "color", AF_ENUM, AF_NULLABLE, 0, tag_colors },
	{ "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "followers", AF_GID_ARRAY, AF_USER, 0, NULL },
	{ "workspace", AF_GID, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* POST /workspaces/{workspace_gid}/tags takes the workspace from the path. */
static const struct api_field workspace_tag_create_fields[] = {
	{ "name", AF_STRING, AF_REQUIRED, 0, NULL },
	{ "color", AF_ENUM, AF_NULLABLE, 0, tag_colors },
	{ "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "followers", AF_GID_ARRAY, AF_USER, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct api_field tag_update_fields[] = {
	{ "name", AF_STRING, 0, 0, NULL },
	{ "color", AF_ENUM, AF_NULLABLE, 0, tag_colors },
	{ "notes", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Records a change event on a tag: "added", "deleted", or "changed" on `field`. Returns a db status. */
static int tag_event(api_ctx *ctx, int64_t gid, const char *action, const char *field)
{
	struct change_event event = { .resource_type = "tag", .resource_gid = gid, .action = action,
				      .change_field = field, .change_action = field ? "changed" : NULL };

	return api_event(ctx, &event);
}

/* Inserts a tag from a checked body into `workspace_gid` and replies 201 with it. */
static int tag_insert(api_ctx *ctx, int64_t workspace_gid)
{
	const char *name = api_body_string(ctx, "name");
	const char *notes = api_body_string(ctx, "notes");
	int64_t gid;
	db_stmt *s;
	int rc;

	if (check_workspace(ctx, workspace_gid) < 0)
		return 0;
	if (require_member(ctx) < 0)
		return 0;
	if (name == NULL || blank(name))
		return api_error(ctx, 400, "name: must not be empty; send the tag's name");
	if (tag_followers_check(ctx) < 0)
		return 0;

	if (api_begin_write(ctx) < 0)
		return 0;
	gid = gid_next();
	s = db_query(ctx->db, "INSERT INTO tags (gid, workspace_gid, name, color, notes, created_by, created_at) "
			      "VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, workspace_gid);
	db_bind_text(s, 2, name);
	db_bind_text(s, 3, api_body_string(ctx, "color"));
	db_bind_text(s, 4, notes ? notes : "");
	db_bind_gid(s, 5, ctx->who.user_gid);
	db_bind_int64(s, 6, time_now_us());
	rc = db_run(s);
	if (rc == DB_OK)
		rc = tag_event(ctx, gid, "added", NULL);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return reply_tag(ctx, 201, gid);
}

static int tag_create(api_ctx *ctx)
{
	if (api_check_body(ctx, tag_create_fields) < 0)
		return 0;
	return tag_insert(ctx, api_body_gid(ctx, "workspace"));
}

static int workspace_tag_create(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid) < 0)
		return 0;
	if (api_check_body(ctx, workspace_tag_create_fields) < 0)
		return 0;
	return tag_insert(ctx, workspace_gid);
}

static int tag_get(api_ctx *ctx)
{
	int64_t gid;

	if (api_param_gid(ctx, "tag_gid", &gid) < 0)
		return 0;
	return reply_tag(ctx, 200, gid);
}

/*
 * Checks, inside the open write transaction, that the tag exists in the
 * caller's organization, that the caller sees it, and that the caller may
 * change it. Returns 0, or -1 after replying 404 or 403 (rolled back).
 */
static int tag_require_writable(api_ctx *ctx, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM tags WHERE gid = ? AND workspace_gid = ?");
	int rc;

	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	db_stmt_done(s);
	if (rc == DB_ROW && api_caller_is_guest(ctx)) {
		int visible = guest_sees_tag(ctx, gid);

		if (visible == 0)
			rc = DB_DONE;
		else if (visible < 0)
			rc = visible;
	}
	if (rc < 0) {
		api_fail_db(ctx, rc);
		return -1;
	}
	if (rc != DB_ROW) {
		rollback(ctx);
		api_not_found(ctx, "tag", gid);
		return -1;
	}
	if (require_member(ctx) < 0) {
		rollback(ctx);
		return -1;
	}
	return 0;
}

/* Runs one single-column UPDATE of a tag, binding `value` (NULL binds SQL NULL) and the tag. */
static int tag_set(api_ctx *ctx, const char *sql, const char *value, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, sql);

	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, value);
	db_bind_int64(s, 1, gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	return db_run(s);
}

/* PUT /tags/{tag_gid}: changes the fields present in the body. */
static int tag_update(api_ctx *ctx)
{
	static const char *const tag_event_fields[] = { "name", "color", "notes" };
	const char *name;
	int64_t gid;
	int rc;

	if (api_param_gid(ctx, "tag_gid", &gid) < 0)
		return 0;
	if (api_check_body(ctx, tag_update_fields) < 0)
		return 0;
	name = api_body_string(ctx, "name");
	if (api_body_has(ctx, "name") && (name == NULL || blank(name)))
		return api_error(ctx, 400, "name: must not be empty; send the tag's new name or leave name out");

	if (api_begin_write(ctx) < 0)
		return 0;
	if (tag_require_writable(ctx, gid) < 0)
		return 0;

	if (name != NULL) {
		rc = tag_set(ctx, "UPDATE tags SET name = ? WHERE gid = ? AND workspace_gid = ?", name, gid);
		if (rc != DB_OK)
			return api_fail_db(ctx, rc);
	}
	if (api_body_has(ctx, "color")) {
		rc = tag_set(ctx, "UPDATE tags SET color = ? WHERE gid = ? AND workspace_gid = ?",
			     api_body_string(ctx, "color"), gid);
		if (rc != DB_OK)
			return api_fail_db(ctx, rc);
	}
	if (api_body_has(ctx, "notes")) {
		const char *notes = api_body_string(ctx, "notes");

		rc = tag_set(ctx, "UPDATE tags SET notes = ? WHERE gid = ? AND workspace_gid = ?", notes ? notes : "",
			     gid);
		if (rc != DB_OK)
			return api_fail_db(ctx, rc);
	}
	/* NOTE: a field sent with its current value is still recorded as changed. */
	for (size_t i = 0; i < sizeof(tag_event_fields) / sizeof(tag_event_fields[0]); i++) {
		if (!api_body_has(ctx, tag_event_fields[i]))
			continue;
		rc = tag_event(ctx, gid, "changed", tag_event_fields[i]);
		if (rc != DB_OK)
			return api_fail_db(ctx, rc);
	}
	if (api_commit(ctx) < 0)
		return 0;

	return reply_tag(ctx, 200, gid);
}

/* DELETE /tags/{tag_gid}: removes the tag from its tasks, then the tag. */
static int tag_delete(api_ctx *ctx)
{
	int64_t gid;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "tag_gid", &gid) < 0)
		return 0;

	if (api_begin_write(ctx) < 0)
		return 0;
	if (tag_require_writable(ctx, gid) < 0)
		return 0;

	rc = tag_event(ctx, gid, "deleted", NULL);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);

	/* The tasks that lose the tag change, so their modified_at moves, as for removeTag. */
	s = db_query(ctx->db, "UPDATE tasks SET modified_at = ? WHERE workspace_gid = ? AND gid IN "
			      "(SELECT task_gid FROM task_tags WHERE tag_gid = ?)");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);

	s = db_query(ctx->db, "DELETE FROM task_tags WHERE tag_gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);

	s = db_query(ctx->db, "DELETE FROM tags WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return api_reply_empty(ctx);
}

const struct api_route api_tags_routes[] = {
	{ "GET", "/tags", tags_list, API_LIST, &api_tag_type },
	{ "POST", "/tags", tag_create, API_WRITE | API_BODY, &api_tag_type },
	{ "GET", "/tags/{tag_gid}", tag_get, 0, &api_tag_type },
	{ "PUT", "/tags/{tag_gid}", tag_update, API_WRITE | API_BODY, &api_tag_type },
	{ "DELETE", "/tags/{tag_gid}", tag_delete, API_WRITE, NULL },
	{ "GET", "/workspaces/{workspace_gid}/tags", workspace_tags_list, API_LIST, &api_tag_type },
	{ "POST", "/workspaces/{workspace_gid}/tags", workspace_tag_create, API_WRITE | API_BODY, &api_tag_type },
	{ "GET", "/tasks/{task_gid}/tags", task_tags_list, API_LIST, &api_tag_type },
	{ NULL, NULL, NULL, 0, NULL },
};
