/*
 * Webhooks: GET and POST /webhooks, GET, PUT and DELETE
 * /webhooks/{webhook_gid}, in Asana's shapes (WebhookRequest,
 * WebhookResponse, WebhookUpdateRequest). Creation runs the X-Hook-Secret
 * handshake with the target before anything is stored; the delivery worker
 * in jobs/webhooks.c does the rest. This file defines api_webhook_type.
 *
 * A webhook belongs to the user who created it. That user and service
 * accounts with full or read access see and manage it, and anyone else gets
 * 404. Webhooks can watch a project, section, task or team the creator can
 * see, or the whole organization; team and organization webhooks need
 * filters, and organization webhooks are for service accounts with full
 * access, since they carry every change regardless of privacy.
 */
#include "api/api.h"
#include "api/app.h"
#include "auth/visibility.h"
#include "jobs/webhook_send.h"
#include "jobs/webhooks.h"
#include "store/audit.h"

#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTERS_MAX 20       /* filters on one webhook */
#define FILTER_FIELDS_MAX 50 /* entries in one filter's `fields` */
#define FILTER_NAME_MAX 64   /* bytes in a resource type, subtype, action or field name */

/* ---------- representation ---------- */

static const char *const webhook_fields[] = {
	"active", "resource", "target", "created_at", "last_failure_at", "last_failure_content", "last_success_at",
	"delivery_retry_count", "next_attempt_after", "failure_deletion_timestamp", "filters", NULL,
};
static const char *const webhook_compact[] = { "active", "resource", "target", NULL };
static const struct api_type_ref webhook_refs[] = { { NULL, NULL } };

enum {
	WH_GID, WH_ACTIVE, WH_RESOURCE_GID, WH_RESOURCE_TYPE, WH_TARGET, WH_CREATED_AT, WH_LAST_FAILURE_AT,
	WH_LAST_FAILURE_CONTENT, WH_LAST_SUCCESS_AT, WH_RETRY_COUNT, WH_NEXT_ATTEMPT_AT, WH_FIRST_FAILURE_AT,
	WH_FILTERS, WH_OWNER,
};
#define WEBHOOK_COLUMNS \
	"gid, active, resource_gid, resource_type, target, created_at, last_failure_at, last_failure_content," \
	" last_success_at, delivery_retry_count, next_attempt_at, first_failure_at, filters, owner_gid "

/* Used only when the server started without settings (app->webhooks NULL): the documented defaults. */
static const struct webhook_config default_settings = {
	.poll_ms = 1000,
	.timeout_ms = 10000,
	.retry_base_ms = 30000,
	.retry_max_ms = 3600000,
	.disable_after_ms = 24LL * 3600000,
	.heartbeat_ms = 8LL * 3600000,
	.allow_private = 0,
};

static const struct webhook_config *settings(api_ctx *ctx)
{
	return ctx->app->webhooks != NULL ? ctx->app->webhooks : &default_settings;
}

/*
 * Finds a resource a webhook can watch in the caller's organization:
 * writes its type (a static string) and name. Returns 1 when found, 0 when
 * not, or a negative db status.
 */
static int resource_lookup(api_ctx *ctx, int64_t gid, const char **type_r, char *name, size_t name_len)
{
	static const char *const types[] = { "workspace", "team", "project", "section", "task" };
	db_stmt *s = db_query(ctx->db, "SELECT 0, name FROM workspaces WHERE gid = ? AND gid = ?"
				       " UNION ALL SELECT 1, name FROM teams WHERE gid = ? AND workspace_gid = ?"
				       " UNION ALL SELECT 2, name FROM projects WHERE gid = ? AND workspace_gid = ?"
				       " UNION ALL SELECT 3, name FROM sections WHERE gid = ? AND workspace_gid = ?"
				       " UNION ALL SELECT 4, name FROM tasks WHERE gid = ? AND workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	for (int i = 0; i < 5; i++) {
		db_bind_int64(s, 2 * i, gid);
		db_bind_int64(s, 2 * i + 1, ctx->who.workspace_gid);
	}
	status = db_step(s);
	if (status == DB_ROW) {
		int64_t index = db_column_int64(s, 0);
		const char *text = db_column_text(s, 1);

		*type_r = index >= 0 && index < 5 ? types[index] : "task";
		snprintf(name, name_len, "%s", text ? text : "");
	}
	db_stmt_done(s);
	if (status == DB_ROW)
		return 1;
	return status == DB_DONE ? 0 : status;
}

static json_t *time_or_null(db_stmt *s, int index)
{
	return db_column_is_null(s, index) ? json_null() : api_time(db_column_int64(s, index));
}

/* Builds the full webhook on the current row of `s` (WEBHOOK_COLUMNS). Returns a new reference. */
static json_t *webhook_from_row(api_ctx *ctx, db_stmt *s, const char *resource_name)
{
	json_t *webhook = api_object_new("webhook", db_column_int64(s, WH_GID));
	const char *content = db_column_text(s, WH_LAST_FAILURE_CONTENT);
	const char *filters_text = db_column_text(s, WH_FILTERS);
	int retrying = db_column_int64(s, WH_RETRY_COUNT) > 0 && db_column_int64(s, WH_ACTIVE) != 0;
	json_t *filters = filters_text ? json_loads(filters_text, 0, NULL) : NULL;

	json_object_set_new(webhook, "active", json_boolean(db_column_int64(s, WH_ACTIVE) != 0));
	json_object_set_new(webhook, "resource", api_ref(db_column_text(s, WH_RESOURCE_TYPE),
							 db_column_int64(s, WH_RESOURCE_GID), resource_name));
	json_object_set_new(webhook, "target", json_string(db_column_text(s, WH_TARGET)));
	json_object_set_new(webhook, "created_at", api_time(db_column_int64(s, WH_CREATED_AT)));
	json_object_set_new(webhook, "last_failure_at", time_or_null(s, WH_LAST_FAILURE_AT));
	json_object_set_new(webhook, "last_failure_content", api_string_or_null(content));
	json_object_set_new(webhook, "last_success_at", time_or_null(s, WH_LAST_SUCCESS_AT));
	json_object_set_new(webhook, "delivery_retry_count", json_integer(db_column_int64(s, WH_RETRY_COUNT)));
	/* Both times describe a failure streak, so they are null while deliveries succeed. */
	json_object_set_new(webhook, "next_attempt_after",
			    retrying ? api_time(db_column_int64(s, WH_NEXT_ATTEMPT_AT)) : json_null());
	json_object_set_new(webhook, "failure_deletion_timestamp",
			    retrying && !db_column_is_null(s, WH_FIRST_FAILURE_AT)
				    ? api_time(db_column_int64(s, WH_FIRST_FAILURE_AT) +
					       settings(ctx)->disable_after_ms * 1000)
				    : json_null());
	json_object_set_new(webhook, "filters", json_is_array(filters) ? filters : json_array());
	if (!json_is_array(filters))
		json_decref(filters);
	return webhook;
}

/*
 * Sets the watched resource's name on `resource` when the caller may see
 * that resource now: a webhook outlives its owner's access, and a full
 * service account manages webhooks on resources of every privacy. Returns
 * 0, or a negative db status.
 */
static int resource_name_set(api_ctx *ctx, json_t *resource, const char *type, int64_t gid, const char *name)
{
	int visible = strcmp(type, "workspace") == 0 ? 1 : visibility_resource(ctx->db, &ctx->who, type, gid);

	if (visible < 0)
		return DB_ERROR;
	if (visible)
		json_object_set_new(resource, "name", json_string(name));
	return 0;
}

/* 1 when the caller manages the webhook owned by `owner_gid`. */
static int caller_manages(const api_ctx *ctx, int64_t owner_gid)
{
	return owner_gid == ctx->who.user_gid || api_is_full_access(ctx);
}

/*
 * Returns the full webhook when it exists in the caller's organization and
 * the caller manages it, else NULL. *status_r receives DB_OK or the status
 * of a failed query.
 */
static json_t *webhook_fetch(api_ctx *ctx, int64_t gid, int *status_r)
{
	char name[API_NAME_MAX + 1] = "";
	const char *type = NULL;
	json_t *webhook = NULL;
	int64_t resource_gid = 0;
	db_stmt *s;
	int rc;

	*status_r = DB_OK;
	s = db_query(ctx->db, "SELECT " WEBHOOK_COLUMNS "FROM webhooks WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		*status_r = DB_ERROR;
		return NULL;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW && caller_manages(ctx, db_column_int64(s, WH_OWNER))) {
		resource_gid = db_column_int64(s, WH_RESOURCE_GID);
		webhook = webhook_from_row(ctx, s, NULL);
	}
	db_stmt_done(s);
	if (rc < 0) {
		*status_r = rc;
		return NULL;
	}
	if (webhook == NULL)
		return NULL;

	/* The name is looked up after the row's statement is done, because one connection runs one statement. */
	rc = resource_lookup(ctx, resource_gid, &type, name, sizeof(name));
	if (rc < 0) {
		json_decref(webhook);
		*status_r = rc;
		return NULL;
	}
	if (rc == 1)
		rc = resource_name_set(ctx, json_object_get(webhook, "resource"), type, resource_gid, name);
	if (rc < 0) {
		json_decref(webhook);
		*status_r = rc;
		return NULL;
	}
	return webhook;
}

static json_t *webhook_load(api_ctx *ctx, int64_t gid)
{
	int status;

	return webhook_fetch(ctx, gid, &status);
}

const struct api_type api_webhook_type = {
	.name = "webhook",
	.fields = webhook_fields,
	.compact = webhook_compact,
	.refs = webhook_refs,
	.load = webhook_load,
};

static int reply_webhook(api_ctx *ctx, int status, int64_t gid)
{
	json_t *webhook;
	int rc;

	webhook = webhook_fetch(ctx, gid, &rc);
	if (webhook == NULL && rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (webhook == NULL)
		return api_not_found(ctx, "webhook", gid);
	return api_reply_object(ctx, &api_webhook_type, webhook, "/webhooks", gid, status);
}

/* ---------- filters ---------- */

static const char *const filter_actions[] = { "changed", "added", "removed", "deleted", "undeleted", NULL };

/*
 * Resource types a filter may name: those kontor's events name, and
 * attachment, custom_field, goal and portfolio, which Asana's events name
 * and kontor does not record yet, so that filters written for Asana are
 * accepted.
 */
static const char *const filter_types[] = { "attachment", "custom_field", "goal", "portfolio", "project", "section",
					    "story", "tag", "task", "team", "user", "workspace", NULL };
#define FILTER_TYPES_TEXT                                                                                      \
	"attachment, custom_field, goal, portfolio, project, section, story, tag, task, team, user or workspace"

static int known_resource_type(const char *type)
{
	for (int i = 0; filter_types[i] != NULL; i++)
		if (strcmp(filter_types[i], type) == 0)
			return 1;
	return 0;
}

/* 1 when `text` is a name of 1..FILTER_NAME_MAX characters from a-z, 0-9 and _. */
static int name_ok(const char *text)
{
	size_t len = text ? strlen(text) : 0;

	if (len == 0 || len > FILTER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Checks one optional string member of filter number `index`; copies it into `out`. Returns 0 or -1 after replying. */
static int filter_name(api_ctx *ctx, json_t *filter, const char *key, size_t index, json_t *out)
{
	json_t *value = json_object_get(filter, key);

	if (value == NULL || json_is_null(value))
		return 0;
	if (!json_is_string(value) || !name_ok(json_string_value(value))) {
		api_error(ctx, 400, "filters[%zu].%s: must be a name of 1 to %d characters from a-z, 0-9 and _, such as "
				    "\"task\"; fix or remove it",
			  index, key, FILTER_NAME_MAX);
		return -1;
	}
	json_object_set(out, key, value);
	return 0;
}

/*
 * Checks the body's `filters` for a webhook on a resource of `resource_type`
 * and returns them as a new JSON array (empty when absent), or NULL after
 * replying 400.
 */
static json_t *filters_check(api_ctx *ctx, const char *resource_type)
{
	json_t *requested = ctx->body ? json_object_get(ctx->body, "filters") : NULL;
	int higher_level = strcmp(resource_type, "workspace") == 0 || strcmp(resource_type, "team") == 0;
	json_t *result = json_array(), *filter;
	size_t i;

	if (requested != NULL && !json_is_null(requested) && !json_is_array(requested)) {
		api_error(ctx, 400, "filters: must be an array of filter objects such as "
				    "[{\"resource_type\": \"task\", \"action\": \"added\"}]");
		goto fail;
	}
	if (json_array_size(requested) > FILTERS_MAX) {
		api_error(ctx, 400, "filters: at most %d filters are allowed; merge or remove some", FILTERS_MAX);
		goto fail;
	}
	if (higher_level && json_array_size(requested) == 0) {
		api_error(ctx, 400, "filters: required for a webhook on a %s; send at least one filter with a "
				    "resource_type, such as [{\"resource_type\": \"project\", \"action\": \"added\"}]",
			  resource_type);
		goto fail;
	}
	json_array_foreach(requested, i, filter) {
		json_t *clean = json_object(), *fields;
		const char *key, *action, *type;
		json_t *value;

		json_array_append_new(result, clean);
		if (!json_is_object(filter)) {
			api_error(ctx, 400, "filters[%zu]: must be an object with resource_type, resource_subtype, action "
					    "or fields",
				  i);
			goto fail;
		}
		json_object_foreach(filter, key, value) {
			if (strcmp(key, "resource_type") != 0 && strcmp(key, "resource_subtype") != 0 &&
			    strcmp(key, "action") != 0 && strcmp(key, "fields") != 0) {
				api_error(ctx, 400, "filters[%zu].%.64s: unknown field; a filter takes resource_type, "
						    "resource_subtype, action and fields",
					  i, key);
				goto fail;
			}
		}
		if (filter_name(ctx, filter, "resource_type", i, clean) < 0 ||
		    filter_name(ctx, filter, "resource_subtype", i, clean) < 0)
			goto fail;
		type = json_string_value(json_object_get(clean, "resource_type"));
		if (type != NULL && !known_resource_type(type)) {
			api_error(ctx, 400, "filters[%zu].resource_type: \"%s\" is not a resource type that events "
					    "name; use one of " FILTER_TYPES_TEXT,
				  i, type);
			goto fail;
		}
		if (higher_level && json_object_get(clean, "resource_type") == NULL) {
			api_error(ctx, 400, "filters[%zu].resource_type: required on a %s webhook; name the type of "
					    "resource to deliver, such as \"project\"",
				  i, resource_type);
			goto fail;
		}
		action = json_string_value(json_object_get(filter, "action"));
		if (json_object_get(filter, "action") != NULL && !json_is_null(json_object_get(filter, "action"))) {
			int known = 0;

			for (int a = 0; action != NULL && filter_actions[a]; a++)
				known |= strcmp(action, filter_actions[a]) == 0;
			if (!known) {
				api_error(ctx, 400, "filters[%zu].action: must be one of changed, added, removed, deleted "
						    "or undeleted",
					  i);
				goto fail;
			}
			json_object_set_new(clean, "action", json_string(action));
		}
		fields = json_object_get(filter, "fields");
		if (fields != NULL && !json_is_null(fields)) {
			json_t *field, *list = json_array();
			size_t j;

			json_object_set_new(clean, "fields", list);
			if (higher_level) {
				api_error(ctx, 400, "filters[%zu].fields: not supported on a %s webhook; remove fields or "
						    "watch a project or task instead",
					  i, resource_type);
				goto fail;
			}
			if (action == NULL || strcmp(action, "changed") != 0) {
				api_error(ctx, 400, "filters[%zu].fields: only valid with \"action\": \"changed\"; add that "
						    "action or remove fields",
					  i);
				goto fail;
			}
			if (!json_is_array(fields) || json_array_size(fields) > FILTER_FIELDS_MAX) {
				api_error(ctx, 400, "filters[%zu].fields: must be an array of at most %d field names such "
						    "as [\"due_on\", \"assignee\"]",
					  i, FILTER_FIELDS_MAX);
				goto fail;
			}
			json_array_foreach(fields, j, field) {
				if (!json_is_string(field) || !name_ok(json_string_value(field))) {
					api_error(ctx, 400, "filters[%zu].fields[%zu]: must be a field name from a-z, 0-9 "
							    "and _, such as \"due_on\"",
						  i, j);
					goto fail;
				}
				json_array_append(list, field);
			}
		}
		/* A filter without members would pass every event, which is what no filter at all does. */
		if (json_object_size(clean) == 0) {
			api_error(ctx, 400, "filters[%zu]: empty; give the filter a resource_type, resource_subtype or "
					    "action, or remove it",
				  i);
			goto fail;
		}
	}
	return result;

fail:
	json_decref(result);
	return NULL;
}

/* ---------- handlers ---------- */

/* GET /webhooks?workspace=...&resource=...: the caller's webhooks (all of them for full-access service accounts). */
static int webhooks_list(api_ctx *ctx)
{
	int64_t workspace_gid, resource_gid;
	struct api_page page;
	json_t *items, *rows;
	int fetched = 0, rc;
	db_stmt *s;
	size_t i;

	if (api_query_gid(ctx, "workspace", &workspace_gid) < 0 || api_query_gid(ctx, "resource", &resource_gid) < 0)
		return 0;
	if (workspace_gid == 0)
		return api_error(ctx, 400, "workspace: missing; pass the gid of your organization as the workspace "
					   "query parameter");
	if (api_page_parse(ctx, &page) < 0)
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);

	s = db_query(ctx->db, "SELECT " WEBHOOK_COLUMNS "FROM webhooks WHERE workspace_gid = ? AND gid > ?"
			      " AND (CAST(? AS BIGINT) = 1 OR owner_gid = ?) AND (CAST(? AS BIGINT) = 0 OR resource_gid = ?)"
			      " ORDER BY gid LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, page.after);
	db_bind_int64(s, 2, api_is_full_access(ctx));
	db_bind_int64(s, 3, ctx->who.user_gid);
	db_bind_int64(s, 4, resource_gid);
	db_bind_int64(s, 5, resource_gid);
	db_bind_int64(s, 6, (int64_t)page.limit + 1);
	rows = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		if (fetched < page.limit) {
			page.next_after = db_column_int64(s, WH_GID);
			json_array_append_new(rows, webhook_from_row(ctx, s, NULL));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc < 0) {
		json_decref(rows);
		return api_fail_db(ctx, rc);
	}

	/* Resource names, after the list statement is done. */
	items = json_array();
	for (i = 0; i < json_array_size(rows); i++) {
		json_t *webhook = json_array_get(rows, i), *resource = json_object_get(webhook, "resource");
		char name[API_NAME_MAX + 1];
		const char *type = NULL;
		int64_t gid = 0;

		gid_parse(json_string_value(json_object_get(resource, "gid")), &gid);
		rc = resource_lookup(ctx, gid, &type, name, sizeof(name));
		if (rc < 0) {
			json_decref(rows);
			json_decref(items);
			return api_fail_db(ctx, rc);
		}
		if (rc == 1)
			rc = resource_name_set(ctx, resource, type, gid, name);
		if (rc < 0) {
			json_decref(rows);
			json_decref(items);
			return api_fail_db(ctx, rc);
		}
		json_array_append_new(items, api_present(ctx, &api_webhook_type, json_incref(webhook)));
	}
	json_decref(rows);
	api_page_rows(&page, fetched);
	return api_reply_list(ctx, items, &page);
}

static int webhook_get(api_ctx *ctx)
{
	int64_t gid;

	if (api_param_gid(ctx, "webhook_gid", &gid) < 0)
		return 0;
	return reply_webhook(ctx, 200, gid);
}

/* 1 when `gid` is a tag of the caller's organization that the caller may see, 0 when not, or a db status. */
static int tag_visible(api_ctx *ctx, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM tags WHERE gid = ? AND workspace_gid = ?");
	int rc;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	db_stmt_done(s);
	if (rc == DB_DONE)
		return 0;
	if (rc != DB_ROW)
		return rc;
	return visibility_resource(ctx->db, &ctx->who, "tag", gid) == 1;
}

/*
 * Checks that the caller may watch the resource, which must exist in the
 * caller's organization and be visible to the caller (else 404). An
 * organization-wide webhook needs a service account with full access (else
 * 403). Returns 0, or -1 after replying.
 */
static int resource_check(api_ctx *ctx, int64_t gid, const char **type_r, char *name, size_t name_len)
{
	int found = resource_lookup(ctx, gid, type_r, name, name_len);
	int visible = 1, exists = 0;

	if (found < 0)
		return api_fail_db(ctx, found), -1;
	if (found == 0) {
		found = tag_visible(ctx, gid);
		if (found < 0)
			return api_fail_db(ctx, found), -1;
		if (found == 1) {
			api_error(ctx, 400, "resource: %lld is a tag, and webhooks cannot watch tags; watch a project, "
					    "section, task or team instead, with a filter on resource_type \"tag\" if needed",
				  (long long)gid);
			return -1;
		}
		api_error(ctx, 404, "resource: %lld not found; pass the gid of a project, section, task, team or your "
				    "organization that you can see",
			  (long long)gid);
		return -1;
	}
	if (strcmp(*type_r, "workspace") == 0) {
		if (ctx->who.kind != PRINCIPAL_SERVICE_ACCOUNT || !(ctx->who.scopes & SCOPE_FULL)) {
			api_forbidden(ctx, "resource: a webhook on the whole organization delivers every change regardless "
					   "of privacy, so only a service account with full access may create one; watch "
					   "a project, task or team instead");
			return -1;
		}
		return 0;
	}
	if (strcmp(*type_r, "project") == 0) {
		visible = api_can_see_project(ctx, gid, &exists);
	} else if (strcmp(*type_r, "task") == 0) {
		visible = api_can_see_task(ctx, gid, &exists);
	} else if (strcmp(*type_r, "team") == 0) {
		visible = api_can_see_team(ctx, gid, &exists);
	} else if (strcmp(*type_r, "section") == 0) {
		db_stmt *s = db_query(ctx->db, "SELECT project_gid FROM sections WHERE gid = ? AND workspace_gid = ?");
		int64_t project_gid = 0;
		int rc;

		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR), -1;
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		rc = db_step(s);
		if (rc == DB_ROW)
			project_gid = db_column_int64(s, 0);
		db_stmt_done(s);
		if (rc < 0)
			return api_fail_db(ctx, rc), -1;
		visible = api_can_see_project(ctx, project_gid, &exists);
	}
	if (visible < 0)
		return api_fail_db(ctx, DB_ERROR), -1;
	if (visible == 0) {
		api_error(ctx, 404, "resource: %lld not found; pass the gid of a project, section, task, team or your "
				    "organization that you can see",
			  (long long)gid);
		return -1;
	}
	return 0;
}

/*
 * A creation between its checks and its storage: what the handshake needs
 * on the helper thread, its outcome, and what the insert needs afterwards.
 */
struct pending_webhook {
	int64_t resource_gid;
	const char *resource_type; /* a static string from resource_check */
	char *target;
	char *filters_text;
	char secret[WEBHOOK_SECRET_HEX + 1];
	struct webhook_send_options options;
	enum webhook_send_status sent;
	struct webhook_response response;
};

static struct api_defer_limit handshake_limit = {
	.what = "webhook handshakes",
	.server_max = WEBHOOK_HANDSHAKES_MAX,
	.principal_max = WEBHOOK_HANDSHAKES_PER_PRINCIPAL,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static void pending_free(void *arg)
{
	struct pending_webhook *pending = arg;

	sodium_memzero(pending->secret, sizeof(pending->secret));
	sodium_memzero(pending->response.hook_secret, sizeof(pending->response.hook_secret));
	free(pending->target);
	free(pending->filters_text);
	free(pending);
}

/*
 * Runs the handshake on a helper thread: POSTs an empty body, without a
 * Content-Type, with X-Hook-Secret. Server shutdown aborts it.
 */
static void handshake_send(void *arg, const volatile int *stopping)
{
	struct pending_webhook *pending = arg;
	char header[32 + WEBHOOK_SECRET_HEX];
	/* "Content-Type:" with no value stops libcurl from labelling the empty body as a form. */
	const char *headers[] = { header, "Content-Type:", NULL };

	snprintf(header, sizeof(header), "X-Hook-Secret: %s", pending->secret);
	pending->options.abort_flag = stopping;
	pending->sent = webhook_post(pending->target, headers, "", 0, &pending->options, &pending->response);
	pending->options.abort_flag = NULL;
	sodium_memzero(header, sizeof(header));
}

/*
 * Checks the handshake's outcome: a 2xx that echoes X-Hook-Secret. Returns
 * 0, or -1 after replying 400 or 403 with what the receiver must do (503
 * when the server stopped during the handshake).
 */
static int handshake_check(api_ctx *ctx, struct pending_webhook *pending)
{
	const struct webhook_response *response = &pending->response;
	const char *target = pending->target;
	int echoed;

	if (pending->sent == WEBHOOK_FORBIDDEN_ADDRESS) {
		api_forbidden(ctx, "target: the host is or resolves to a private, loopback, link-local or otherwise "
				   "non-public address, which kontor does not send webhooks to; use a public host, or ask "
				   "the operator to start kontor with --allow-private-webhook-targets");
		return -1;
	}
	if (pending->sent == WEBHOOK_ABORTED) {
		api_error(ctx, 503, "The server stopped during the handshake with %.200s; retry the request.", target);
		http_response_add_header(ctx->res, "Retry-After", "1");
		return -1;
	}
	if (pending->sent != WEBHOOK_SENT) {
		api_error(ctx, 400, "target: the handshake request to %.200s failed (%s); the receiver must be reachable "
				    "and answer the POST with 200 or 204 and the same X-Hook-Secret header",
			  target, response->summary);
		return -1;
	}
	if (response->http_status < 200 || response->http_status >= 300) {
		api_error(ctx, 400, "target: the receiver at %.200s answered the handshake with HTTP %ld; it must "
				    "answer 200 or 204 and echo the X-Hook-Secret request header in its response",
			  target, response->http_status);
		return -1;
	}
	echoed = strlen(response->hook_secret) == WEBHOOK_SECRET_HEX &&
		 sodium_memcmp(response->hook_secret, pending->secret, WEBHOOK_SECRET_HEX) == 0;
	if (!echoed && response->hook_secret_seen) {
		api_error(ctx, 400, "target: the receiver at %.200s answered the handshake with an X-Hook-Secret "
				    "header that differs from the one sent; it must echo the value of this request's "
				    "header unchanged",
			  target);
		return -1;
	}
	if (!echoed) {
		api_error(ctx, 400, "target: the receiver at %.200s answered the handshake without echoing the "
				    "X-Hook-Secret header; it must copy that request header into its response",
			  target);
		return -1;
	}
	return 0;
}

static int webhook_audit(api_ctx *ctx, const char *event_type, int64_t gid, const char *target, int64_t resource_gid,
			 const char *resource_type)
{
	json_t *details = json_object();
	struct audit_event event;
	int status;

	json_object_set_new(details, "resource", api_ref(resource_type, resource_gid, NULL));
	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "apps";
	event.resource_type = "webhook";
	event.resource_gid = gid;
	event.resource_name = target;
	event.details = details;
	status = api_audit(ctx, &event);
	json_decref(details);
	return status;
}

static const struct api_field webhook_create_fields[] = {
	{ "resource", AF_GID, AF_REQUIRED, 0, NULL },
	{ "target", AF_STRING, AF_REQUIRED, WEBHOOK_TARGET_MAX, NULL },
	{ "filters", AF_ANY, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/*
 * The second half of POST /webhooks, after the handshake: with a fresh
 * transaction, stores the webhook and replies 201.
 */
static int webhook_store(api_ctx *ctx, void *arg)
{
	struct pending_webhook *pending = arg;
	int64_t gid, now;
	char *sealed;
	db_stmt *s;
	int rc;

	if (handshake_check(ctx, pending) < 0)
		return 0;
	sealed = webhook_secret_seal(ctx->app->pepper, pending->secret);
	sodium_memzero(pending->secret, sizeof(pending->secret));
	if (sealed == NULL)
		return api_fail_db(ctx, DB_ERROR);

	if (api_begin_write(ctx) < 0) {
		free(sealed);
		return 0;
	}
	gid = gid_next();
	now = time_now_us();
	/* Deliveries start after the newest event that exists now. */
	s = db_query(ctx->db, "INSERT INTO webhooks (gid, workspace_gid, owner_gid, resource_gid, resource_type, target,"
			      " sealed_secret, filters, active, cursor_seq, created_at, next_attempt_at, last_sent_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, COALESCE((SELECT last_seq FROM event_counters"
			      " WHERE workspace_gid = ?), 0), ?, ?, ?)");
	if (s == NULL) {
		free(sealed);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, ctx->who.user_gid);
	db_bind_int64(s, 3, pending->resource_gid);
	db_bind_text(s, 4, pending->resource_type);
	db_bind_text(s, 5, pending->target);
	db_bind_text(s, 6, sealed);
	db_bind_text(s, 7, pending->filters_text);
	db_bind_int64(s, 8, ctx->who.workspace_gid);
	db_bind_int64(s, 9, now);
	db_bind_int64(s, 10, now);
	db_bind_int64(s, 11, now);
	rc = db_run(s);
	free(sealed);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	rc = webhook_audit(ctx, "webhook_created", gid, pending->target, pending->resource_gid,
			   pending->resource_type);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return reply_webhook(ctx, 201, gid);
}

/*
 * POST /webhooks: checks the request, then hands the handshake to a helper
 * thread (api_defer), so that a slow receiver occupies neither a worker
 * thread nor a database connection; webhook_store finishes the request.
 */
static int webhook_create(api_ctx *ctx)
{
	int64_t resource_gid;
	char name[API_NAME_MAX + 1], err[256];
	const char *target, *resource_type = NULL;
	struct pending_webhook *pending;
	struct api_defer step;
	json_t *filters;

	if (api_check_body(ctx, webhook_create_fields) < 0)
		return 0;
	resource_gid = api_body_gid(ctx, "resource");
	target = api_body_string(ctx, "target");
	if (target == NULL)
		return api_error(ctx, 400, "target: missing; send the https:// URL that receives the events");
	if (webhook_target_check(target, err, sizeof(err)) != 0)
		return api_error(ctx, 400, "%s", err);
	if (resource_check(ctx, resource_gid, &resource_type, name, sizeof(name)) < 0)
		return 0;
	filters = filters_check(ctx, resource_type);
	if (filters == NULL)
		return 0;

	pending = calloc(1, sizeof(*pending));
	if (pending == NULL) {
		json_decref(filters);
		return api_fail_db(ctx, DB_ERROR);
	}
	pending->filters_text = json_dumps(filters, JSON_COMPACT);
	json_decref(filters);
	pending->target = strdup(target);
	if (pending->filters_text == NULL || pending->target == NULL) {
		pending_free(pending);
		return api_fail_db(ctx, DB_ERROR);
	}
	pending->resource_gid = resource_gid;
	pending->resource_type = resource_type;
	pending->options.timeout_ms = settings(ctx)->timeout_ms;
	pending->options.allow_private = settings(ctx)->allow_private;
	webhook_secret_new(pending->secret);

	memset(&step, 0, sizeof(step));
	step.limit = &handshake_limit;
	step.retry_after_s = (settings(ctx)->timeout_ms + 999) / 1000;
	step.work = handshake_send;
	step.resume = webhook_store;
	step.free_arg = pending_free;
	step.arg = pending;
	/* api_defer owns `pending` now and has replied when it failed. */
	api_defer(ctx, &step);
	return 0;
}

/*
 * Loads, inside the open write transaction, the webhook's resource and
 * target when the caller manages it. Returns 0, or -1 after replying 404
 * (rolled back) or failing.
 */
static int webhook_require_managed(api_ctx *ctx, int64_t gid, int64_t *resource_gid_r, char *resource_type,
				   size_t type_len, char *target, size_t target_len)
{
	db_stmt *s = db_query(ctx->db, "SELECT owner_gid, resource_gid, resource_type, target FROM webhooks"
				       " WHERE gid = ? AND workspace_gid = ?");
	int rc, managed = 0;

	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW && caller_manages(ctx, db_column_int64(s, 0))) {
		managed = 1;
		*resource_gid_r = db_column_int64(s, 1);
		snprintf(resource_type, type_len, "%s", db_column_text(s, 2) ? db_column_text(s, 2) : "");
		snprintf(target, target_len, "%s", db_column_text(s, 3) ? db_column_text(s, 3) : "");
	}
	db_stmt_done(s);
	if (rc < 0) {
		api_fail_db(ctx, rc);
		return -1;
	}
	if (!managed) {
		db_rollback(ctx->db);
		api_not_found(ctx, "webhook", gid);
		return -1;
	}
	return 0;
}

static const struct api_field webhook_update_fields[] = {
	{ "filters", AF_ANY, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* PUT /webhooks/{webhook_gid}: replaces the filters, the only field Asana lets a caller change. */
static int webhook_update(api_ctx *ctx)
{
	char resource_type[32], target[WEBHOOK_TARGET_MAX + 1];
	int64_t gid, resource_gid;
	char *filters_text;
	json_t *filters;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "webhook_gid", &gid) < 0)
		return 0;
	if (api_check_body(ctx, webhook_update_fields) < 0)
		return 0;

	if (api_begin_write(ctx) < 0)
		return 0;
	if (webhook_require_managed(ctx, gid, &resource_gid, resource_type, sizeof(resource_type), target,
				    sizeof(target)) < 0)
		return 0;
	filters = filters_check(ctx, resource_type);
	if (filters == NULL) {
		db_rollback(ctx->db);
		return 0;
	}
	filters_text = json_dumps(filters, JSON_COMPACT);
	json_decref(filters);
	if (filters_text == NULL)
		return api_fail_db(ctx, DB_ERROR);
	s = db_query(ctx->db, "UPDATE webhooks SET filters = ? WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		free(filters_text);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_text(s, 0, filters_text);
	db_bind_int64(s, 1, gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	rc = db_run(s);
	free(filters_text);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return reply_webhook(ctx, 200, gid);
}

/* DELETE /webhooks/{webhook_gid}: deliveries stop at once; a delivery in flight may still arrive. */
static int webhook_delete(api_ctx *ctx)
{
	char resource_type[32], target[WEBHOOK_TARGET_MAX + 1];
	int64_t gid, resource_gid;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "webhook_gid", &gid) < 0)
		return 0;

	if (api_begin_write(ctx) < 0)
		return 0;
	if (webhook_require_managed(ctx, gid, &resource_gid, resource_type, sizeof(resource_type), target,
				    sizeof(target)) < 0)
		return 0;
	s = db_query(ctx->db, "DELETE FROM webhooks WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_run(s);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	rc = webhook_audit(ctx, "webhook_deleted", gid, target, resource_gid, resource_type);
	if (rc != DB_OK)
		return api_fail_db(ctx, rc);
	if (api_commit(ctx) < 0)
		return 0;

	return api_reply_empty(ctx);
}

const struct api_route api_webhooks_routes[] = {
	{ "GET", "/webhooks", webhooks_list, API_LIST, &api_webhook_type },
	{ "POST", "/webhooks", webhook_create, API_WRITE | API_BODY, &api_webhook_type },
	{ "GET", "/webhooks/{webhook_gid}", webhook_get, 0, &api_webhook_type },
	{ "PUT", "/webhooks/{webhook_gid}", webhook_update, API_WRITE | API_BODY, &api_webhook_type },
	{ "DELETE", "/webhooks/{webhook_gid}", webhook_delete, API_WRITE, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
