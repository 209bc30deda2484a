/*
 * The audit log API: GET /workspaces/{workspace_gid}/audit_log_events in
 * Asana's shape, for service accounts with `full` or `audit_logs` on the
 * plans that include it (the dispatcher checks both through the route
 * flags). Records are written by store_audit_append and never changed.
 *
 * The list is a stream. It pages by each organization's sequence number,
 * which follows commit order, and next_page is always present: a client
 * that polls again with the last offset gets only the records committed
 * since, and an empty page means it has caught up. Offsets are signed by
 * page.c, bound to the organization, and never expire.
 */
#include "api/api.h"
#include "store/audit.h"

#include <stdio.h>
#include <string.h>

/* Events per page without `limit`; Asana documents 1000 as this endpoint's default. */
#define AUDIT_PAGE_DEFAULT 1000
#define AUDIT_EVENT_TYPE_MAX 100

struct audit_filters {
	int64_t start_at; /* inclusive; valid when has_start */
	int64_t end_at;   /* exclusive; valid when has_end */
	int has_start;
	int has_end;
	const char *event_type;
	const char *actor_type;
	int64_t actor_gid;
	int64_t resource_gid;
	int64_t token_gid;
};

/* ---------- recording ---------- */

int api_audit_resource(api_ctx *ctx, const char *event_type, const char *event_category, const char *resource_type,
		       int64_t resource_gid, const char *resource_name, json_t *details)
{
	struct audit_event event;

	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = event_category;
	event.resource_type = resource_type;
	event.resource_gid = resource_gid;
	event.resource_name = resource_name;
	event.details = details;
	return api_audit(ctx, &event);
}

/* ---------- query parameters ---------- */

static int event_type_valid(const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len > AUDIT_EVENT_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

static int actor_type_valid(const char *text)
{
	static const char *const types[] = { "user", "asana", "asana_support", "anonymous", "external_administrator" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(text, types[i]) == 0)
			return 1;
	return 0;
}

/* Reads the filters; replies 400 naming the parameter and returns -1 when one is invalid. */
static int filters_parse(api_ctx *ctx, struct audit_filters *f)
{
	int result;

	memset(f, 0, sizeof(*f));
	result = api_query_time(ctx, "start_at", &f->start_at);
	if (result < 0)
		return -1;
	f->has_start = result;
	result = api_query_time(ctx, "end_at", &f->end_at);
	if (result < 0)
		return -1;
	f->has_end = result;
	if (f->has_start && f->has_end && f->end_at <= f->start_at) {
		api_error(ctx, 400, "end_at: must be later than start_at; end_at is exclusive, start_at inclusive.");
		return -1;
	}

	f->event_type = api_query(ctx, "event_type");
	if (f->event_type != NULL && !event_type_valid(f->event_type)) {
		api_error(ctx, 400, "event_type: \"%.40s\" is not an event type; pass a name such as user_login_succeeded "
				    "(a-z, 0-9 and _, at most %d characters).",
			  f->event_type, AUDIT_EVENT_TYPE_MAX);
		return -1;
	}
	f->actor_type = api_query(ctx, "actor_type");
	if (f->actor_type != NULL && !actor_type_valid(f->actor_type)) {
		api_error(ctx, 400, "actor_type: \"%.40s\" is not an actor type; pass user, asana, asana_support, "
				    "anonymous or external_administrator.",
			  f->actor_type);
		return -1;
	}

	if (api_query_gid(ctx, "actor_gid", &f->actor_gid) || api_query_gid(ctx, "resource_gid", &f->resource_gid) ||
	    api_query_gid(ctx, "token_gid", &f->token_gid))
		return -1;
	return 0;
}

/*
 * Reads limit and offset. An offset must come from this organization's
 * stream, so its second key component must contain the organization's gid.
 */
static int page_parse(api_ctx *ctx, int64_t workspace_gid, struct api_page *page)
{
	if (api_page_parse_stream(ctx, page))
		return -1;
	if (api_query(ctx, "offset") != NULL && page->after2 != workspace_gid) {
		api_error(ctx, 400, "offset: this offset belongs to another organization's audit log. Start without "
				    "offset, or pass an offset this endpoint returned for this workspace.");
		return -1;
	}
	if (api_query(ctx, "limit") == NULL)
		page->limit = AUDIT_PAGE_DEFAULT;
	page->paged = 1;
	return 0;
}

/* ---------- representation ---------- */

enum {
	COL_SEQ, COL_GID, COL_CREATED_AT, COL_EVENT_TYPE, COL_EVENT_CATEGORY, COL_ACTOR_TYPE, COL_ACTOR_GID,
	COL_ACTOR_NAME, COL_ACTOR_EMAIL, COL_RESOURCE_TYPE, COL_RESOURCE_SUBTYPE, COL_RESOURCE_GID, COL_RESOURCE_NAME,
	COL_RESOURCE_EMAIL, COL_DETAILS, COL_AUTH_METHOD, COL_CLIENT_IP, COL_USER_AGENT, COL_TOKEN_GID,
};

/* Sets `key` to the column's text when it is not NULL. */
static void set_text(json_t *object, const char *key, db_stmt *s, int column)
{
	const char *text = db_column_text(s, column);

	if (text != NULL)
		json_object_set_new(object, key, json_string(text));
}

static json_t *actor_json(db_stmt *s)
{
	json_t *actor = json_object();

	set_text(actor, "actor_type", s, COL_ACTOR_TYPE);
	if (!db_column_is_null(s, COL_ACTOR_GID))
		json_object_set_new(actor, "gid", api_gid(db_column_int64(s, COL_ACTOR_GID)));
	set_text(actor, "name", s, COL_ACTOR_NAME);
	set_text(actor, "email", s, COL_ACTOR_EMAIL);
	return actor;
}

static json_t *resource_json(db_stmt *s)
{
	json_t *resource = json_object();

	set_text(resource, "resource_type", s, COL_RESOURCE_TYPE);
	set_text(resource, "resource_subtype", s, COL_RESOURCE_SUBTYPE);
	if (!db_column_is_null(s, COL_RESOURCE_GID)) {
		json_object_set_new(resource, "gid", api_gid(db_column_int64(s, COL_RESOURCE_GID)));
		json_object_set_new(resource, "name", api_string_or_null(db_column_text(s, COL_RESOURCE_NAME)));
	} else {
		set_text(resource, "name", s, COL_RESOURCE_NAME);
	}
	set_text(resource, "email", s, COL_RESOURCE_EMAIL);
	return resource;
}

/*
 * Maps kontor's authentication methods to Asana's context types: tokens are
 * `api`, the admin console (session cookie, password sign-in) is `web`, and
 * the command line at the server, which Asana has no type for, is `asana`.
 * Asana sets api_authentication_method only for `api`.
 */
static json_t *context_json(db_stmt *s)
{
	const char *method = db_column_text(s, COL_AUTH_METHOD);
	json_t *context = json_object();
	const char *type = "asana";

	if (method != NULL && (strcmp(method, "personal_access_token") == 0 || strcmp(method, "service_account") == 0))
		type = "api";
	else if (method != NULL && (strcmp(method, "cookie") == 0 || strcmp(method, "password") == 0))
		type = "web";
	json_object_set_new(context, "context_type", json_string(type));
	if (strcmp(type, "api") == 0)
		json_object_set_new(context, "api_authentication_method", json_string(method));
	set_text(context, "client_ip_address", s, COL_CLIENT_IP);
	set_text(context, "user_agent", s, COL_USER_AGENT);
	/* kontor's addition: which token acted, for following one token's use. */
	if (!db_column_is_null(s, COL_TOKEN_GID))
		json_object_set_new(context, "token_gid", api_gid(db_column_int64(s, COL_TOKEN_GID)));
	return context;
}

static json_t *event_json(db_stmt *s)
{
	const char *details_text = db_column_text(s, COL_DETAILS);
	json_t *event = json_object();
	json_t *details = details_text ? json_loads(details_text, 0, NULL) : NULL;

	/* store_audit_append writes an object; anything else would be a damaged row, shown as {}. */
	if (!json_is_object(details)) {
		json_decref(details);
		details = json_object();
	}
	json_object_set_new(event, "gid", api_gid(db_column_int64(s, COL_GID)));
	json_object_set_new(event, "created_at", api_time(db_column_int64(s, COL_CREATED_AT)));
	set_text(event, "event_type", s, COL_EVENT_TYPE);
	set_text(event, "event_category", s, COL_EVENT_CATEGORY);
	json_object_set_new(event, "actor", actor_json(s));
	json_object_set_new(event, "resource", resource_json(s));
	json_object_set_new(event, "details", details);
	json_object_set_new(event, "context", context_json(s));
	return event;
}

/* ---------- the stream ---------- */

/* Binds a pair of parameters for "(CAST(? AS ...) IS NULL OR column = ?)": both the value, or both NULL. */
static void bind_optional_gid(db_stmt *s, int index, int64_t gid)
{
	db_bind_gid(s, index, gid);
	db_bind_gid(s, index + 1, gid);
}

static void bind_optional_time(db_stmt *s, int index, int set, int64_t us)
{
	if (set) {
		db_bind_int64(s, index, us);
		db_bind_int64(s, index + 1, us);
	} else {
		db_bind_null(s, index);
		db_bind_null(s, index + 1);
	}
}

static void bind_optional_text(db_stmt *s, int index, const char *text)
{
	db_bind_text(s, index, text);
	db_bind_text(s, index + 1, text);
}

/*
 * The organization's highest sequence number. Every record up to it has
 * committed, because sequence order is commit order.
 */
static int last_seq_read(api_ctx *ctx, int64_t *seq_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT last_seq FROM audit_counters WHERE workspace_gid = ?");
	int status;

	*seq_r = 0;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		*seq_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/* GET /workspaces/{workspace_gid}/audit_log_events */
static int audit_log_events_list(api_ctx *ctx)
{
	struct audit_filters f;
	struct api_page page;
	int64_t workspace_gid, last_seq, next_after;
	int fetched = 0, status;
	json_t *items;
	db_stmt *s;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid))
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	if (filters_parse(ctx, &f) || page_parse(ctx, workspace_gid, &page))
		return 0;

	/* Read before the records because each PostgreSQL statement has its own snapshot, so this value is the lower one. */
	status = last_seq_read(ctx, &last_seq);
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	/*
	 * NOTE: the optional filters share one statement, so a selective filter
	 * over a long log scans (workspace_gid, seq) and tests each row instead
	 * of using the actor, resource or token index.
	 */
	s = db_query(ctx->db,
		     "SELECT seq, gid, created_at, event_type, event_category, actor_type, actor_gid, actor_name,"
		     " actor_email, resource_type, resource_subtype, resource_gid, resource_name, resource_email, details,"
		     " auth_method, client_ip, user_agent, token_gid"
		     " FROM audit_log WHERE workspace_gid = ? AND seq > ?"
		     " AND (CAST(? AS BIGINT) IS NULL OR created_at >= ?)"
		     " AND (CAST(? AS BIGINT) IS NULL OR created_at < ?)"
		     " AND (CAST(? AS TEXT) IS NULL OR event_type = ?)"
		     " AND (CAST(? AS TEXT) IS NULL OR actor_type = ?)"
		     " AND (CAST(? AS BIGINT) IS NULL OR actor_gid = ?)"
		     " AND (CAST(? AS BIGINT) IS NULL OR resource_gid = ?)"
		     " AND (CAST(? AS BIGINT) IS NULL OR token_gid = ?)"
		     " ORDER BY seq LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, page.after);
	bind_optional_time(s, 2, f.has_start, f.start_at);
	bind_optional_time(s, 4, f.has_end, f.end_at);
	bind_optional_text(s, 6, f.event_type);
	bind_optional_text(s, 8, f.actor_type);
	bind_optional_gid(s, 10, f.actor_gid);
	bind_optional_gid(s, 12, f.resource_gid);
	bind_optional_gid(s, 14, f.token_gid);
	db_bind_int64(s, 16, page.limit + 1);

	items = json_array();
	next_after = page.after;
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		fetched++;
		if (fetched > page.limit)
			break;
		json_array_append_new(items, event_json(s));
		next_after = db_column_int64(s, COL_SEQ);
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}

	/*
	 * A full page continues after its last record. A short page read every
	 * match up to last_seq, so the next poll can skip those rows too.
	 */
	api_page_rows(&page, fetched);
	if (!page.has_next && last_seq > next_after)
		next_after = last_seq;
	page.has_next = 1;
	page.next_after = next_after;
	page.next_after2 = workspace_gid;
	return api_reply_list(ctx, items, &page);
}

const struct api_route api_audit_log_routes[] = {
	{ "GET", "/workspaces/{workspace_gid}/audit_log_events", audit_log_events_list,
	  API_LIST | API_SCOPE_AUDIT_LOGS | API_PLAN_PLUS, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
