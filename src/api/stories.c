/*
 * Stories: the activity feed of a task. A story is either a comment that a
 * user wrote (type "comment", resource_subtype "comment_added") or a system
 * story that another handler records through api_story_add_system() when it
 * changes a task (type "system", resource_subtype such as "assigned").
 * Comments accept plain text or Asana's rich text, a small XML dialect rooted
 * at <body>; the rich form is checked against the allow-list in richtext.c,
 * stored as sent, and reduced to plain text for the `text` field.
 * Visibility follows the task: a caller who may see the task sees its stories.
 * A system story that names a project the caller cannot see is shown with a
 * text that leaves out the names (private_project_text).
 */
#include "api/api.h"
#include "api/richtext.h"
#include "store/events.h"

#include "util/gid.h"
#include "util/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- representation ---------- */

/* One story row, as every story query in this file selects it (STORY_COLUMNS). */
enum {
	ST_GID,
	ST_TASK_GID,
	ST_TYPE,
	ST_SUBTYPE,
	ST_TEXT,
	ST_HTML_TEXT,
	ST_IS_PINNED,
	ST_IS_EDITED,
	ST_CREATED_BY,
	ST_CREATED_AT,
	ST_AUTHOR_NAME,
	ST_TASK_NAME,
	ST_TASK_SUBTYPE,
	ST_PROJECT_GID,
};

#define STORY_COLUMNS                                                                                              \
	"s.gid, s.task_gid, s.type, s.resource_subtype, s.text, s.html_text, s.is_pinned, s.is_edited, "          \
	"s.created_by, s.created_at, u.name, t.name, t.resource_subtype, s.project_gid "
#define STORY_FROM                                                                                                 \
	"FROM stories s JOIN tasks t ON t.gid = s.task_gid LEFT JOIN users u ON u.gid = s.created_by "

/* The text of a system story about a project the reader cannot see, by resource_subtype. */
static const char *private_project_text(const char *subtype)
{
	if (subtype != NULL && strcmp(subtype, "added_to_project") == 0)
		return "added this task to a private project";
	if (subtype != NULL && strcmp(subtype, "removed_from_project") == 0)
		return "removed this task from a private project";
	if (subtype != NULL && strcmp(subtype, "section_changed") == 0)
		return "moved this task to another section of a private project";
	return "changed this task in a private project";
}

/*
 * 1 when the story on the current row names a project (project_gid, set on
 * system stories since migration 18) that the caller cannot see, so its
 * text must not show that project's or its sections' names; 0 otherwise.
 * A failed check counts as hidden, so an error never shows a private name.
 */
static int names_hidden_project(api_ctx *ctx, db_stmt *s)
{
	int exists;

	if (db_column_is_null(s, ST_PROJECT_GID))
		return 0;
	return api_can_see_project(ctx, db_column_int64(s, ST_PROJECT_GID), &exists) != 1;
}

/* Builds the full representation of the story on the current row of `s`, as the caller may read it. */
static json_t *story_from_row(api_ctx *ctx, db_stmt *s)
{
	const char *type = db_column_text(s, ST_TYPE);
	const char *text = db_column_text(s, ST_TEXT);
	const char *html = db_column_text(s, ST_HTML_TEXT);
	int64_t author = db_column_is_null(s, ST_CREATED_BY) ? 0 : db_column_int64(s, ST_CREATED_BY);
	bool is_comment = type != NULL && strcmp(type, "comment") == 0;
	json_t *story = api_object_new("story", db_column_int64(s, ST_GID));
	json_t *target;

	if (text == NULL)
		text = "";
	if (!is_comment && names_hidden_project(ctx, s)) {
		/* The stored text names the project; this reader gets a text without names, and html built from it. */
		text = private_project_text(db_column_text(s, ST_SUBTYPE));
		html = NULL;
	}
	json_object_set_new(story, "created_at", api_time(db_column_int64(s, ST_CREATED_AT)));
	json_object_set_new(story, "created_by", api_ref("user", author, db_column_text(s, ST_AUTHOR_NAME)));
	json_object_set_new(story, "resource_subtype", api_string_or_null(db_column_text(s, ST_SUBTYPE)));
	json_object_set_new(story, "text", json_string(text));
	if (html != NULL) {
		json_object_set_new(story, "html_text", json_string(html));
	} else {
		char *generated = richtext_from_text(text);

		json_object_set_new(story, "html_text", json_string(generated ? generated : "<body></body>"));
		free(generated);
	}
	json_object_set_new(story, "type", json_string(is_comment ? "comment" : "system"));
	json_object_set_new(story, "is_pinned", json_boolean(db_column_int64(s, ST_IS_PINNED) != 0));
	json_object_set_new(story, "is_edited", json_boolean(db_column_int64(s, ST_IS_EDITED) != 0));
	json_object_set_new(story, "is_editable", json_boolean(is_comment && author == ctx->who.user_gid));

	/* Every story kontor records comes through its API. */
	json_object_set_new(story, "source", json_string("api"));

	target = api_ref("task", db_column_int64(s, ST_TASK_GID), db_column_text(s, ST_TASK_NAME));
	json_object_set_new(target, "resource_subtype", api_string_or_null(db_column_text(s, ST_TASK_SUBTYPE)));
	json_object_set_new(story, "target", target);

	/* kontor has no likes, hearts, reactions or link previews yet: their empty values. */
	json_object_set_new(story, "liked", json_false());
	json_object_set_new(story, "likes", json_array());
	json_object_set_new(story, "num_likes", json_integer(0));
	json_object_set_new(story, "hearted", json_false());
	json_object_set_new(story, "hearts", json_array());
	json_object_set_new(story, "num_hearts", json_integer(0));
	json_object_set_new(story, "reaction_summary", json_array());
	if (is_comment)
		json_object_set_new(story, "previews", json_array());
	return story;
}

/*
 * Returns the full story if it exists in the caller's organization and the
 * caller may see its task, else NULL. *status_r receives DB_OK, or the
 * failure of a query (NULL then means a database error, not "not found").
 */
static json_t *story_fetch(api_ctx *ctx, int64_t gid, int *status_r)
{
	db_stmt *s;
	json_t *story = NULL;
	int64_t task_gid = 0;
	int visible;
	int exists;
	int rc;

	*status_r = DB_OK;
	s = db_query(ctx->db, "SELECT " STORY_COLUMNS STORY_FROM "WHERE s.gid = ? AND s.workspace_gid = ?");
	if (s == NULL) {
		*status_r = DB_ERROR;
		return NULL;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		task_gid = db_column_int64(s, ST_TASK_GID);
		story = story_from_row(ctx, s);
	}
	db_stmt_done(s);
	if (rc < 0) {
		*status_r = rc;
		return NULL;
	}

	if (story == NULL)
		return NULL;
	visible = api_can_see_task(ctx, task_gid, &exists);
	if (visible != 1) {
		json_decref(story);
		if (visible < 0)
			*status_r = DB_ERROR;
		return NULL;
	}
	return story;
}

static json_t *story_load(api_ctx *ctx, int64_t gid)
{
	int status;

	return story_fetch(ctx, gid, &status);
}

/*
 * Every field of StoryResponse, so that any opt_fields an Asana client sends
 * is accepted. kontor records only the subtype and text of a system story.
 * So the type-specific fields (assignee, old_name, new_section ...) and
 * sticker_name are never filled in and are left out of the objects.
 */
static const char *const story_fields[] = {
	"created_at", "created_by", "resource_subtype", "text", "html_text", "type", "is_pinned", "is_edited",
	"is_editable", "source", "target", "sticker_name", "liked", "likes", "num_likes", "hearted", "hearts",
	"num_hearts", "reaction_summary", "previews", "old_name", "new_name", "old_dates", "new_dates",
	"old_resource_subtype", "new_resource_subtype", "story", "assignee", "follower", "old_section",
	"new_section", "task", "project", "tag", "custom_field", "old_text_value", "new_text_value",
	"old_number_value", "new_number_value", "old_enum_value", "new_enum_value", "old_date_value",
	"new_date_value", "old_people_value", "new_people_value", "old_multi_enum_values",
	"new_multi_enum_values", "new_approval_status", "old_approval_status", "duplicate_of", "duplicated_from",
	"dependency", NULL,
};

static const char *const story_compact[] = { "created_at", "created_by", "resource_subtype", "text", NULL };

static const struct api_type_ref story_refs[] = {
	{ "created_by", &api_user_type },
	{ "target", &api_task_type },
	{ NULL, NULL },
};

const struct api_type api_story_type = {
	.name = "story",
	.fields = story_fields,
	.compact = story_compact,
	.refs = story_refs,
	.load = story_load,
};

/* ---------- shared writes ---------- */

/* Sets tasks.modified_at, because a new, changed or deleted story counts as a change of its task. */
static int story_task_touch(api_ctx *ctx, int64_t task_gid, int64_t now)
{
	db_stmt *s = db_query(ctx->db, "UPDATE tasks SET modified_at = ? WHERE gid = ? AND workspace_gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, task_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	return db_run(s);
}

/* Inserts one story row and touches its task; `project_gid` is the project a system story names, or 0. */
static int story_insert(api_ctx *ctx, int64_t gid, int64_t task_gid, const char *type, const char *subtype,
			const char *text, const char *html, int is_pinned, int64_t project_gid, int64_t now)
{
	struct change_event event = { .resource_type = "story", .resource_subtype = subtype, .resource_gid = gid,
				      .action = "added", .parent_type = "task", .parent_gid = task_gid };
	db_stmt *s;
	int rc;

	s = db_query(ctx->db, "INSERT INTO stories (gid, workspace_gid, task_gid, type, resource_subtype, text, "
			      "html_text, is_pinned, is_edited, created_by, created_at, project_gid) "
			      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, task_gid);
	db_bind_text(s, 3, type);
	db_bind_text(s, 4, subtype);
	db_bind_text(s, 5, text);
	db_bind_text(s, 6, html);
	db_bind_int64(s, 7, is_pinned);
	db_bind_gid(s, 8, ctx->who.user_gid);
	db_bind_int64(s, 9, now);
	db_bind_gid(s, 10, project_gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return rc;

	rc = api_event(ctx, &event);
	if (rc != DB_OK)
		return rc;
	return story_task_touch(ctx, task_gid, now);
}

int api_story_add_system_project(api_ctx *ctx, int64_t task_gid, const char *resource_subtype, const char *text,
				 int64_t project_gid)
{
	char *html;
	int rc;

	if (resource_subtype == NULL || text == NULL)
		return DB_ERROR;
	html = richtext_from_text(text);
	if (html == NULL)
		return DB_ERROR;
	rc = story_insert(ctx, gid_next(), task_gid, "system", resource_subtype, text, html, 0, project_gid,
			  time_now_us());
	free(html);
	return rc;
}

int api_story_add_system(api_ctx *ctx, int64_t task_gid, const char *resource_subtype, const char *text)
{
	return api_story_add_system_project(ctx, task_gid, resource_subtype, text, 0);
}

/* ---------- handlers ---------- */

static const char *const sticker_names[] = {
	"green_checkmark", "people_dancing", "dancing_unicorn", "heart", "party_popper", "people_waving_flags",
	"splashing_narwhal", "trophy", "yeti_riding_unicorn", "celebrating_people", "determined_climbers",
	"phoenix_spreading_love", NULL,
};

static const struct api_field story_write_fields[] = {
	{ "text", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_text", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "is_pinned", AF_BOOL, 0, 0, NULL },
	{ "sticker_name", AF_ENUM, AF_NULLABLE, 0, sticker_names },
	{ NULL, 0, 0, 0, NULL },
};

/* The comment text of a checked body: plain and rich form, both allocated. */
struct comment_text {
	char *text;
	char *html;
};

static void comment_text_free(struct comment_text *c)
{
	free(c->text);
	free(c->html);
	c->text = NULL;
	c->html = NULL;
}

static bool blank(const char *text)
{
	for (; *text != '\0'; text++) {
		if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
			return false;
	}
	return true;
}

/*
 * Reads text or html_text from the body into `out`. Returns 1 when the body
 * has neither, 0 when `out` is filled, -1 after replying 400.
 */
static int comment_text_parse(api_ctx *ctx, struct comment_text *out)
{
	const char *text = api_body_string(ctx, "text");
	const char *html = api_body_string(ctx, "html_text");
	char err[256];

	out->text = NULL;
	out->html = NULL;
	if (api_body_has(ctx, "sticker_name") && !api_body_is_null(ctx, "sticker_name")) {
		api_error(ctx, 400, "sticker_name: stickers are not supported; send the comment as text or html_text");
		return -1;
	}
	if (text != NULL && html != NULL) {
		api_error(ctx, 400, "text, html_text: send only one of them");
		return -1;
	}
	if ((api_body_has(ctx, "text") && text == NULL) || (api_body_has(ctx, "html_text") && html == NULL)) {
		api_error(ctx, 400, "%s: must be a string, not null", text == NULL ? "text" : "html_text");
		return -1;
	}
	if (text == NULL && html == NULL)
		return 1;

	if (text != NULL) {
		if (blank(text)) {
			api_error(ctx, 400, "text: must not be empty; send the comment's text");
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
		if (out->text == NULL) {
			api_fail_db(ctx, DB_ERROR);
			return -1;
		}
		if (blank(out->text)) {
			comment_text_free(out);
			api_error(ctx, 400, "html_text: the comment has no text; write it inside <body>...</body>");
			return -1;
		}
		out->html = strdup(html);
	}
	if (out->text == NULL || out->html == NULL) {
		comment_text_free(out);
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	return 0;
}

/* Adds the caller to the task's followers, as Asana does for commenters. */
static int task_follow(api_ctx *ctx, int64_t task_gid)
{
	db_stmt *s = db_query(ctx->db, "INSERT INTO task_followers (workspace_gid, task_gid, user_gid) "
				       "VALUES (?, ?, ?) ON CONFLICT (task_gid, user_gid) DO NOTHING");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, task_gid);
	db_bind_int64(s, 2, ctx->who.user_gid);
	return db_run(s);
}

/* Ends the open write transaction, if any, after a reply that is not a database failure. */
static void rollback(api_ctx *ctx)
{
	if (db_in_transaction(ctx->db))
		db_rollback(ctx->db);
}

/* Replies with the story just written, as the caller sees it. */
static int reply_story(api_ctx *ctx, int status, int64_t gid)
{
	json_t *story;
	int rc;

	story = story_fetch(ctx, gid, &rc);
	if (story == NULL)
		return api_fail_db(ctx, rc != DB_OK ? rc : DB_ERROR);
	return api_reply_object(ctx, &api_story_type, story, "/stories", gid, status);
}

/* GET /tasks/{task_gid}/stories: oldest first, which is gid order because gids grow with time. */
static int stories_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t task_gid;
	json_t *items;
	db_stmt *s;
	int exists;
	int fetched = 0;
	int emit;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) < 0)
		return 0;
	if (api_page_parse(ctx, &page) < 0)
		return 0;
	rc = api_can_see_task(ctx, task_gid, &exists);
	if (rc < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (rc == 0)
		return api_not_found(ctx, "task", task_gid);

	s = db_query(ctx->db, "SELECT " STORY_COLUMNS STORY_FROM
			      "WHERE s.task_gid = ? AND s.workspace_gid = ? AND s.gid > ? ORDER BY s.gid LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, task_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	db_bind_int64(s, 3, (int64_t)page.limit + 1);

	items = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		if (fetched < page.limit) {
			page.next_after = db_column_int64(s, ST_GID);
			json_array_append_new(items, api_present(ctx, &api_story_type, story_from_row(ctx, s)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc < 0) {
		json_decref(items);
		return api_fail_db(ctx, rc);
	}

	emit = api_page_rows(&page, fetched);
	while ((int)json_array_size(items) > emit)
		json_array_remove(items, json_array_size(items) - 1);
	return api_reply_list(ctx, items, &page);
}

/* POST /tasks/{task_gid}/stories: adds a comment. */
static int story_create(api_ctx *ctx)
{
	struct comment_text comment;
	int64_t task_gid;
	int64_t gid;
	int64_t now;
	int exists;
	int rc;

	if (api_param_gid(ctx, "task_gid", &task_gid) < 0)
		return 0;
	if (api_check_body(ctx, story_write_fields) < 0)
		return 0;
	rc = comment_text_parse(ctx, &comment);
	if (rc < 0)
		return 0;
	if (rc == 1)
		return api_error(ctx, 400, "text: missing; send the comment as text or html_text");

	if (api_begin_write(ctx) < 0) {
		comment_text_free(&comment);
		return 0;
	}
	rc = api_can_see_task(ctx, task_gid, &exists);
	if (rc != 1) {
		comment_text_free(&comment);
		if (rc < 0)
			return api_fail_db(ctx, DB_ERROR);
		rollback(ctx);
		return api_not_found(ctx, "task", task_gid);
	}

	gid = gid_next();
	now = time_now_us();
	rc = story_insert(ctx, gid, task_gid, "comment", "comment_added", comment.text, comment.html,
			  api_body_bool(ctx, "is_pinned", 0), 0, now);
	comment_text_free(&comment);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	rc = task_follow(ctx, task_gid);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return reply_story(ctx, 201, gid);
}

/* The facts about an existing story that the write handlers check. */
struct story_meta {
	int64_t task_gid;
	int64_t author;
	bool is_comment;
};

/*
 * Loads the story's task, author and type. Returns 0 when the caller may see
 * it, -1 after replying 404 or a database failure.
 */
static int story_meta_load(api_ctx *ctx, int64_t gid, struct story_meta *m)
{
	db_stmt *s;
	int exists;
	int rc;

	s = db_query(ctx->db, "SELECT task_gid, created_by, type FROM stories WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		const char *type = db_column_text(s, 2);

		m->task_gid = db_column_int64(s, 0);
		m->author = db_column_is_null(s, 1) ? 0 : db_column_int64(s, 1);
		m->is_comment = type != NULL && strcmp(type, "comment") == 0;
	}
	db_stmt_done(s);
	if (rc < 0) {
		api_fail_db(ctx, rc);
		return -1;
	}
	if (rc == DB_ROW)
		rc = api_can_see_task(ctx, m->task_gid, &exists);
	else
		rc = 0;
	if (rc < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (rc == 0) {
		api_not_found(ctx, "story", gid);
		return -1;
	}
	return 0;
}

/*
 * A full service account may moderate comments (pin, unpin, delete) of
 * anyone in its organization; it never rewrites another author's words.
 */
static bool may_moderate(const api_ctx *ctx, const struct story_meta *m)
{
	return m->author == ctx->who.user_gid ||
	       (ctx->who.kind == PRINCIPAL_SERVICE_ACCOUNT && (ctx->who.scopes & SCOPE_FULL) != 0);
}

static int story_get(api_ctx *ctx)
{
	int64_t gid;
	json_t *story;
	int rc;

	if (api_param_gid(ctx, "story_gid", &gid) < 0)
		return 0;
	story = story_fetch(ctx, gid, &rc);
	if (story == NULL && rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (story == NULL)
		return api_not_found(ctx, "story", gid);
	return api_reply(ctx, 200, api_present(ctx, &api_story_type, story));
}

/* Records a change event on a comment: "deleted", or "changed" on `field`. Returns a db status. */
static int comment_event(api_ctx *ctx, int64_t gid, const char *action, const char *field)
{
	struct change_event event = { .resource_type = "story", .resource_subtype = "comment_added",
				      .resource_gid = gid, .action = action, .change_field = field,
				      .change_action = field ? "changed" : NULL };

	return api_event(ctx, &event);
}

/* PUT /stories/{story_gid}: edits a comment's text (author only) or pins it. */
static int story_update(api_ctx *ctx)
{
	struct comment_text comment = { 0 };
	struct story_meta meta;
	int64_t gid;
	db_stmt *s;
	int has_text;
	int rc;

	if (api_param_gid(ctx, "story_gid", &gid) < 0)
		return 0;
	if (api_check_body(ctx, story_write_fields) < 0)
		return 0;
	rc = comment_text_parse(ctx, &comment);
	if (rc < 0)
		return 0;
	has_text = rc == 0;

	if (api_begin_write(ctx) < 0)
		goto done;
	if (story_meta_load(ctx, gid, &meta) < 0) {
		rollback(ctx);
		goto done;
	}

	/* Asana lets only comments change after creation; system stories record what happened. */
	if (!meta.is_comment) {
		rollback(ctx);
		api_forbidden(ctx, "story: system stories cannot be edited; only comments can");
		goto done;
	}
	if (has_text && meta.author != ctx->who.user_gid) {
		rollback(ctx);
		api_forbidden(ctx, "text: only the author of a comment can edit its text");
		goto done;
	}
	/* NOTE: pinning is allowed to anyone who can see the task; kontor does not check project access levels here. */

	if (has_text) {
		s = db_query(ctx->db, "UPDATE stories SET text = ?, html_text = ?, is_edited = 1 "
				      "WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL) {
			api_fail_db(ctx, DB_ERROR);
			goto done;
		}
		db_bind_text(s, 0, comment.text);
		db_bind_text(s, 1, comment.html);
		db_bind_int64(s, 2, gid);
		db_bind_int64(s, 3, ctx->who.workspace_gid);
		rc = db_run(s);
		if (rc != DB_OK) {
			api_fail_db(ctx, rc);
			goto done;
		}
	}
	if (api_body_has(ctx, "is_pinned")) {
		s = db_query(ctx->db, "UPDATE stories SET is_pinned = ? WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL) {
			api_fail_db(ctx, DB_ERROR);
			goto done;
		}
		db_bind_int64(s, 0, api_body_bool(ctx, "is_pinned", 0));
		db_bind_int64(s, 1, gid);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		rc = db_run(s);
		if (rc != DB_OK) {
			api_fail_db(ctx, rc);
			goto done;
		}
	}
	rc = story_task_touch(ctx, meta.task_gid, time_now_us());
	if (rc == DB_OK && has_text)
		rc = comment_event(ctx, gid, "changed", "text");
	if (rc == DB_OK && api_body_has(ctx, "is_pinned"))
		rc = comment_event(ctx, gid, "changed", "is_pinned");
	if (rc != DB_OK) {
		api_fail_db(ctx, rc);
		goto done;
	}
	if (api_commit(ctx) < 0)
		goto done;

	reply_story(ctx, 200, gid);

done:
	comment_text_free(&comment);
	return 0;
}

/* DELETE /stories/{story_gid}: removes a comment; system stories stay. */
static int story_delete(api_ctx *ctx)
{
	struct story_meta meta;
	int64_t gid;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "story_gid", &gid) < 0)
		return 0;

	if (api_begin_write(ctx) < 0)
		return 0;
	if (story_meta_load(ctx, gid, &meta) < 0) {
		rollback(ctx);
		return 0;
	}
	if (!meta.is_comment) {
		rollback(ctx);
		return api_forbidden(ctx, "story: system stories cannot be deleted; only comments can");
	}
	if (!may_moderate(ctx, &meta)) {
		rollback(ctx);
		return api_forbidden(ctx, "story: only the author of a comment can delete it");
	}

	/* Recorded while the story still exists, so the event reaches its task and the task's projects. */
	rc = comment_event(ctx, gid, "deleted", NULL);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	s = db_query(ctx->db, "DELETE FROM stories WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	rc = story_task_touch(ctx, meta.task_gid, time_now_us());
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return api_reply_empty(ctx);
}

const struct api_route api_stories_routes[] = {
	{ "GET", "/tasks/{task_gid}/stories", stories_list, API_LIST, &api_story_type },
	{ "POST", "/tasks/{task_gid}/stories", story_create, API_WRITE | API_BODY, &api_story_type },
	{ "GET", "/stories/{story_gid}", story_get, 0, &api_story_type },
	{ "PUT", "/stories/{story_gid}", story_update, API_WRITE | API_BODY, &api_story_type },
	{ "DELETE", "/stories/{story_gid}", story_delete, API_WRITE, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
