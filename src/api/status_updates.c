/*
 * Status updates: a dated note on a project's progress with a status_type
 * (on_track, at_risk, off_track, on_hold, complete, dropped), as Asana's
 * project_status_update. POST /status_updates, GET /status_updates?parent=,
 * and GET and DELETE /status_updates/{status_update_gid}. Only projects can
 * be parents, because kontor has no portfolios or goals.
 *
 * Visibility follows the parent project: a caller who can see the project
 * can read its status updates. Posting one needs edit access to the project, and deleting
 * one needs to be its author or an admin of the project. Posting does not
 * change the project's modified_at, so a script that comments on idle
 * projects does not make them look active. Text is plain text or Asana's
 * rich text (html_text), checked as for comments.
 */
#include "api/api.h"
#include "api/projects.h"
#include "api/richtext.h"

#include "util/gid.h"
#include "util/timeutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------- representation ---------- */

static const char *const status_types[] = {
	"on_track", "at_risk", "off_track", "on_hold", "complete", "dropped", NULL,
};

static const char *const status_update_fields[] = {
	"title", "resource_subtype", "text", "html_text", "status_type", "author", "created_at", "created_by",
	"hearted", "hearts", "liked", "likes", "reaction_summary", "modified_at", "num_hearts", "num_likes",
	"parent", NULL,
};
static const char *const status_update_compact[] = { "title", "resource_subtype", NULL };
static const struct api_type_ref status_update_refs[] = {
	{ "author", &api_user_type },
	{ "created_by", &api_user_type },
	{ "parent", &api_project_type },
	{ NULL, NULL },
};

/* One row, as every query in this file selects it (SU_COLUMNS). */
enum {
	SU_GID,
	SU_PARENT_GID,
	SU_PARENT_NAME,
	SU_SUBTYPE,
	SU_TITLE,
	SU_TEXT,
	SU_HTML_TEXT,
	SU_STATUS_TYPE,
	SU_CREATED_BY,
	SU_AUTHOR_NAME,
	SU_CREATED_AT,
	SU_MODIFIED_AT,
};

#define SU_COLUMNS                                                                                                 \
	"su.gid, su.parent_gid, p.name, su.resource_subtype, su.title, su.text, su.html_text, su.status_type, "   \
	"su.created_by, u.name, su.created_at, su.modified_at "
#define SU_FROM "FROM status_updates su JOIN projects p ON p.gid = su.parent_gid LEFT JOIN users u ON u.gid = su.created_by "

/* Builds the full status update on the current row of `s`. Returns a new reference. */
static json_t *status_update_from_row(api_ctx *ctx, db_stmt *s)
{
	json_t *update = api_object_new("status_update", db_column_int64(s, SU_GID));
	int64_t author = db_column_is_null(s, SU_CREATED_BY) ? 0 : db_column_int64(s, SU_CREATED_BY);
	const char *text = db_column_text(s, SU_TEXT);
	const char *title = db_column_text(s, SU_TITLE);

	json_object_set_new(update, "title", json_string(title ? title : ""));
	json_object_set_new(update, "resource_subtype", api_string_or_null(db_column_text(s, SU_SUBTYPE)));
	json_object_set_new(update, "text", json_string(text ? text : ""));
	/* html_text is opt-in in Asana's schema: only an explicit opt_fields request returns it. */
	if (ctx->fields != NULL && api_wants(ctx, "html_text"))
		json_object_set_new(update, "html_text", api_string_or_null(db_column_text(s, SU_HTML_TEXT)));
	json_object_set_new(update, "status_type", api_string_or_null(db_column_text(s, SU_STATUS_TYPE)));
	json_object_set_new(update, "author", api_ref("user", author, db_column_text(s, SU_AUTHOR_NAME)));
	json_object_set_new(update, "created_by", api_ref("user", author, db_column_text(s, SU_AUTHOR_NAME)));
	json_object_set_new(update, "created_at", api_time(db_column_int64(s, SU_CREATED_AT)));
	json_object_set_new(update, "modified_at", api_time(db_column_int64(s, SU_MODIFIED_AT)));
	json_object_set_new(update, "parent",
			    api_ref("project", db_column_int64(s, SU_PARENT_GID), db_column_text(s, SU_PARENT_NAME)));

	/* kontor has no likes, hearts or reactions yet: their empty values. */
	json_object_set_new(update, "liked", json_false());
	json_object_set_new(update, "likes", json_array());
	json_object_set_new(update, "num_likes", json_integer(0));
	json_object_set_new(update, "hearted", json_false());
	json_object_set_new(update, "hearts", json_array());
	json_object_set_new(update, "num_hearts", json_integer(0));
	json_object_set_new(update, "reaction_summary", json_array());
	return update;
}

/*
 * Returns the full status update if it exists in the caller's organization
 * and the caller sees its project, else NULL. *status_r receives DB_OK or
 * the status of a failed query.
 */
static json_t *status_update_fetch(api_ctx *ctx, int64_t gid, int *status_r)
{
	json_t *update = NULL;
	int64_t parent_gid = 0;
	db_stmt *s;
	int visible;
	int exists;
	int rc;

	*status_r = DB_OK;
	s = db_query(ctx->db, "SELECT " SU_COLUMNS SU_FROM "WHERE su.gid = ? AND su.workspace_gid = ?");
	if (s == NULL) {
		*status_r = DB_ERROR;
		return NULL;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		parent_gid = db_column_int64(s, SU_PARENT_GID);
		update = status_update_from_row(ctx, s);
	}
	db_stmt_done(s);
	if (rc < 0) {
		*status_r = rc;
		return NULL;
	}
	if (update == NULL)
		return NULL;

	visible = api_can_see_project(ctx, parent_gid, &exists);
	if (visible != 1) {
		json_decref(update);
		if (visible < 0)
			*status_r = DB_ERROR;
		return NULL;
	}
	return update;
}

static json_t *status_update_load(api_ctx *ctx, int64_t gid)
{
	int status;

	return status_update_fetch(ctx, gid, &status);
}

const struct api_type api_status_update_type = {
	.name = "status_update",
	.fields = status_update_fields,
	.compact = status_update_compact,
	.refs = status_update_refs,
	.load = status_update_load,
};

/* ---------- helpers ---------- */

static bool blank(const char *text)
{
	for (; *text != '\0'; text++) {
		if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
			return false;
	}
	return true;
}

/* Replies with the status update as the caller sees it, with `status` (200 or 201). */
static int reply_status_update(api_ctx *ctx, int status, int64_t gid)
{
	json_t *update;
	int rc;

	update = status_update_fetch(ctx, gid, &rc);
	if (update == NULL && rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (update == NULL)
		return api_not_found(ctx, "status update", gid);
	return api_reply_object(ctx, &api_status_update_type, update, "/status_updates", gid, status);
}

/* The text of a new status update in both forms; each string is the caller's to free. */
struct update_text {
	char *text;
	char *html;
};

static void update_text_free(struct update_text *t)
{
	free(t->text);
	free(t->html);
	t->text = NULL;
	t->html = NULL;
}

/*
 * Reads text or html_text from the checked body into `out`. Returns 0 when
 * `out` is filled, -1 after replying (400, or 500 when memory ran out).
 */
static int update_text_parse(api_ctx *ctx, struct update_text *out)
{
	const char *text = api_body_string(ctx, "text");
	const char *html = api_body_string(ctx, "html_text");
	char err[256];

	out->text = NULL;
	out->html = NULL;
	if (text != NULL && html != NULL) {
		api_error(ctx, 400, "text, html_text: send only one of them");
		return -1;
	}
	if (text == NULL && html == NULL) {
		api_error(ctx, 400, "text: missing; send the status update's text as text or html_text");
		return -1;
	}

	if (text != NULL) {
		if (blank(text)) {
			api_error(ctx, 400, "text: must not be empty; send the status update's text");
			return -1;
		}
		out->text = strdup(text);
		out->html = richtext_from_text(text);
	} else {
		if (richtext_check(html, RICHTEXT_COMMENT, err, sizeof(err)) < 0) {
			api_error(ctx, 400, "html_text: %s", err);
			return -1;
		}
		out->text = richtext_to_text(html);
		if (out->text != NULL && blank(out->text)) {
			update_text_free(out);
			api_error(ctx, 400, "html_text: the status update has no text; write it inside <body>...</body>");
			return -1;
		}
		out->html = strdup(html);
	}
	if (out->text == NULL || out->html == NULL) {
		update_text_free(out);
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	return 0;
}

/* ---------- handlers ---------- */

static const struct api_field status_update_create_fields[] = {
	{ "parent", AF_GID, AF_REQUIRED, 0, NULL },
	{ "title", AF_STRING, 0, 0, NULL },
	{ "text", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_text", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "status_type", AF_ENUM, AF_REQUIRED, 0, status_types },
	{ NULL, 0, 0, 0, NULL },
};

/* POST /status_updates: posts a status update on a project the caller may edit. */
static int status_update_create(api_ctx *ctx)
{
	struct update_text body_text;
	const char *title;
	int64_t parent_gid;
	int64_t gid;
	int64_t now;
	db_stmt *s;
	int rc;

	if (api_check_body(ctx, status_update_create_fields) < 0)
		return 0;
	parent_gid = api_body_gid(ctx, "parent");
	title = api_body_string(ctx, "title");
	if (update_text_parse(ctx, &body_text) < 0)
		return 0;

	/*
	 * A parent that was deleted after this check makes the insert fail the
	 * foreign key, and api_fail_db replies 409 to that.
	 */
	if (api_project_require(ctx, parent_gid, PROJECT_EDIT) < 0) {
		update_text_free(&body_text);
		return 0;
	}

	if (api_begin_write(ctx) < 0) {
		update_text_free(&body_text);
		return 0;
	}
	gid = gid_next();
	now = time_now_us();
	s = db_query(ctx->db, "INSERT INTO status_updates (gid, workspace_gid, parent_gid, resource_subtype, title, "
			      "text, html_text, status_type, created_by, created_at, modified_at) "
			      "VALUES (?, ?, ?, 'project_status_update', ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL) {
		update_text_free(&body_text);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, parent_gid);
	db_bind_text(s, 3, title ? title : "");
	db_bind_text(s, 4, body_text.text);
	db_bind_text(s, 5, body_text.html);
	db_bind_text(s, 6, api_body_string(ctx, "status_type"));
	db_bind_gid(s, 7, ctx->who.user_gid);
	db_bind_int64(s, 8, now);
	db_bind_int64(s, 9, now);
	rc = db_run(s);
	update_text_free(&body_text);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return reply_status_update(ctx, 201, gid);
}

/* GET /status_updates?parent=&created_since=: a project's status updates, newest first. */
static int status_updates_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t parent_gid;
	int64_t created_since = 0;
	json_t *items;
	db_stmt *s;
	int fetched = 0;
	int visible;
	int exists;
	int rc;

	if (api_query_gid(ctx, "parent", &parent_gid) < 0)
		return 0;
	if (parent_gid == 0)
		return api_error(ctx, 400, "parent: missing; pass the gid of the project whose status updates to list");
	if (api_query_time(ctx, "created_since", &created_since) < 0)
		return 0;
	if (api_page_parse(ctx, &page) < 0)
		return 0;
	visible = api_can_see_project(ctx, parent_gid, &exists);
	if (visible < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (visible == 0)
		return api_not_found(ctx, "project", parent_gid);

	/* Newest first, keyed by gid (time-ordered); `? = 1` is a 0/1 flag for "after a previous page". */
	s = db_query(ctx->db, "SELECT " SU_COLUMNS SU_FROM "WHERE su.parent_gid = ? AND su.workspace_gid = ? "
			      "AND su.created_at >= ? AND (? = 0 OR su.gid < ?) ORDER BY su.gid DESC LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, parent_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, created_since);
	db_bind_int64(s, 3, page.after != 0);
	db_bind_int64(s, 4, page.after);
	db_bind_int64(s, 5, (int64_t)page.limit + 1);

	items = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		if (fetched < page.limit) {
			page.next_after = db_column_int64(s, SU_GID);
			json_array_append_new(items,
					      api_present(ctx, &api_status_update_type, status_update_from_row(ctx, s)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc < 0) {
		json_decref(items);
		return api_fail_db(ctx, rc);
	}

	api_page_rows(&page, fetched);
	return api_reply_list(ctx, items, &page);
}

static int status_update_get(api_ctx *ctx)
{
	int64_t gid;

	if (api_param_gid(ctx, "status_update_gid", &gid) < 0)
		return 0;
	return reply_status_update(ctx, 200, gid);
}

/*
 * Loads the project and author of a status update the caller can see.
 * Returns 0, or -1 after replying 404 or a database failure.
 */
static int status_update_meta(api_ctx *ctx, int64_t gid, int64_t *parent_r, int64_t *author_r)
{
	db_stmt *s;
	int visible = 0;
	int exists;
	int rc;

	s = db_query(ctx->db, "SELECT parent_gid, created_by FROM status_updates WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*parent_r = db_column_int64(s, 0);
		*author_r = db_column_is_null(s, 1) ? 0 : db_column_int64(s, 1);
	}
	db_stmt_done(s);
	if (rc < 0) {
		api_fail_db(ctx, rc);
		return -1;
	}

	if (rc == DB_ROW)
		visible = api_can_see_project(ctx, *parent_r, &exists);
	if (visible < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (visible == 0) {
		api_not_found(ctx, "status update", gid);
		return -1;
	}
	return 0;
}

/* DELETE /status_updates/{status_update_gid}: by its author or an admin of the project. */
static int status_update_delete(api_ctx *ctx)
{
	int64_t gid;
	int64_t author = 0;
	int64_t parent_gid = 0;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "status_update_gid", &gid) < 0)
		return 0;
	if (status_update_meta(ctx, gid, &parent_gid, &author) < 0)
		return 0;
	if (author == 0 || author != ctx->who.user_gid) {
		rc = api_project_access(ctx, parent_gid);
		if (rc < 0)
			return api_fail_db(ctx, rc);
		if (rc < PROJECT_ADMIN)
			return api_forbidden(ctx, "Only the author of a status update and the project's owner and admin "
						  "members may delete it. Ask one of them.");
	}

	if (api_begin_write(ctx) < 0)
		return 0;
	s = db_query(ctx->db, "DELETE FROM status_updates WHERE gid = ? AND workspace_gid = ?");
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

const struct api_route api_status_updates_routes[] = {
	{ "GET", "/status_updates", status_updates_list, API_LIST, &api_status_update_type },
	{ "POST", "/status_updates", status_update_create, API_WRITE | API_BODY, &api_status_update_type },
	{ "GET", "/status_updates/{status_update_gid}", status_update_get, 0, &api_status_update_type },
	{ "DELETE", "/status_updates/{status_update_gid}", status_update_delete, API_WRITE, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
