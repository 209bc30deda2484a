/*
 * The API dispatcher: matches a route, authenticates, applies rate limits,
 * parses the JSON body and opt_fields, runs the handler with a database
 * connection, and writes the access-log line. Also the reply, error and
 * body-checking helpers every handler uses.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/app.h"
#include "api/form.h"
#include "api/json_out.h"
#include "api/scim.h"
#include "api/service_accounts.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "store/audit.h"
#include "util/text.h"
#include "store/events.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_DEPTH_MAX 32
#define JSON_BODY_MAX (1024 * 1024)
#define UPLOAD_BODY_MAX (6 * 1024 * 1024)
#define ADMIN_SESSION_BODY_MAX 4096

#define CONTENT_TYPE_JSON "application/json; charset=UTF-8"

static const struct api_route *const route_tables[] = {
	api_users_routes, api_workspaces_routes, api_teams_routes, api_projects_routes,
	api_sections_routes, api_tasks_routes, api_stories_routes, api_tags_routes,
	api_service_accounts_routes, api_photos_routes, api_admin_routes, api_audit_log_routes,
	api_status_updates_routes, api_scim_routes, api_scim_users_routes, api_scim_groups_routes,
	api_scim_settings_routes, api_events_routes,
	api_webhooks_routes, api_organization_exports_routes, api_typeahead_routes,
};

/* ---------- routing ---------- */

/* Matches `path` against a pattern, capturing {name} segments into ctx. */
static int route_match(const char *pattern, const char *path, api_ctx *ctx)
{
	const char *p = pattern, *s = path;
	int count = 0;

	while (*p && *s) {
		if (*p == '{') {
			const char *name_end = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (name_end == NULL || len == 0 || count >= API_MAX_PARAMS)
				return 0;
			ctx->param_names[count] = p + 1;
			ctx->param_values[count] = strndup(s, len);
			count++;
			ctx->param_count = count;
			p = name_end + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	/* Accept one trailing slash. */
	if (*s == '/' && s[1] == '\0')
		s++;
	return *p == '\0' && *s == '\0';
}

static void params_clear(api_ctx *ctx)
{
	for (int i = 0; i < ctx->param_count; i++)
		free(ctx->param_values[i]);
	ctx->param_count = 0;
}

/*
 * Finds the route for a method and path; HEAD is served by the GET route.
 * When the path exists under other methods only, writes them into `allow`
 * (comma-separated) and sets *path_matched.
 */
static const struct api_route *route_find(api_ctx *ctx, const char *method, const char *path, int *path_matched,
					  char *allow, size_t allow_len)
{
	const char *wanted = strcmp(method, "HEAD") == 0 ? "GET" : method;
	size_t used = 0;

	*path_matched = 0;
	allow[0] = '\0';
	for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]); t++) {
		for (const struct api_route *r = route_tables[t]; r->method; r++) {
			int matched = route_match(r->pattern, path, ctx);

			if (matched && strcmp(r->method, wanted) == 0)
				return r;
			if (matched) {
				*path_matched = 1;
				if (strstr(allow, r->method) == NULL && used + strlen(r->method) + 3 < allow_len)
					used += (size_t)snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
								 r->method);
			}
			params_clear(ctx);
		}
	}
	return NULL;
}

const char *api_param(api_ctx *ctx, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < ctx->param_count; i++)
		if (strncmp(ctx->param_names[i], name, len) == 0 && ctx->param_names[i][len] == '}')
			return ctx->param_values[i];
	return NULL;
}

int api_param_gid(api_ctx *ctx, const char *name, int64_t *gid_r)
{
	const char *value = api_param(ctx, name);

	if (value == NULL || gid_parse(value, gid_r) != 0) {
		api_error(ctx, 400, "%s: not a valid gid: \"%.40s\". A gid is a positive number below 2^63 in digits, "
				    "without a leading zero, as returned in the `gid` field of an object.",
			  name, value ? value : "");
		return -1;
	}
	return 0;
}

/* ---------- query parameters ---------- */

const char *api_query(api_ctx *ctx, const char *name)
{
	return http_request_query(ctx->req, name);
}

int api_query_gid(api_ctx *ctx, const char *name, int64_t *gid_r)
{
	const char *value = api_query(ctx, name);

	*gid_r = 0;
	if (value == NULL)
		return 0;
	if (gid_parse(value, gid_r) != 0) {
		api_error(ctx, 400, "%s: not a valid gid: \"%.40s\". Pass the gid string of the object.", name, value);
		return -1;
	}
	return 0;
}

int api_query_bool(api_ctx *ctx, const char *name)
{
	const char *value = api_query(ctx, name);

	if (value == NULL)
		return -1;
	if (strcmp(value, "true") == 0)
		return 1;
	if (strcmp(value, "false") == 0)
		return 0;
	api_error(ctx, 400, "%s: expected true or false, got \"%.40s\".", name, value);
	return -2;
}

int api_query_time(api_ctx *ctx, const char *name, int64_t *us_r)
{
	const char *value = api_query(ctx, name);

	if (value == NULL)
		return 0;
	if (strcmp(value, "now") == 0) {
		*us_r = time_now_us();
		return 1;
	}
	if (time_parse_iso(value, us_r) != 0) {
		api_error(ctx, 400, "%s: not a valid ISO 8601 date-time: \"%.60s\". Use a form like "
				    "2024-05-01T12:00:00.000Z.",
			  name, value);
		return -1;
	}
	return 1;
}

/* ---------- replies ---------- */

/* The reply when the body could not be written: says nothing about the cause. */
static void reply_server_error(api_ctx *ctx)
{
	http_response_set_text(ctx->res, 500, CONTENT_TYPE_JSON, "{\"errors\":[{\"message\":\"Server error\"}]}");
}

static void reply_json(api_ctx *ctx, int status, json_t *document)
{
	size_t len = 0;
	char *text;

	if (ctx->pretty) {
		text = json_dumps(document, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		len = text ? strlen(text) : 0;
	} else {
		text = json_out_compact_new(document, &len);
	}
	json_decref(document);
	if (text == NULL) {
		reply_server_error(ctx);
		return;
	}
	http_response_set_body(ctx->res, status, CONTENT_TYPE_JSON, text, len);
}

void api_reply_json_out(api_ctx *ctx, int status, struct json_out *o)
{
	size_t len = 0;
	char *text = json_out_take(o, &len);

	if (text == NULL) {
		reply_server_error(ctx);
		return;
	}
	http_response_set_body(ctx->res, status, CONTENT_TYPE_JSON, text, len);
}

int api_reply(api_ctx *ctx, int status, json_t *data)
{
	json_t *document = json_object();

	json_object_set_new(document, "data", data ? data : json_object());
	reply_json(ctx, status, document);
	return 0;
}

int api_reply_created(api_ctx *ctx, json_t *data, const char *location_path)
{
	char location[512];

	api_reply(ctx, 201, data);
	snprintf(location, sizeof(location), "%s%s", API_BASE_PATH, location_path);
	http_response_add_header(ctx->res, "Location", location);
	return 0;
}

int api_reply_document(api_ctx *ctx, int status, json_t *document)
{
	reply_json(ctx, status, document);
	return 0;
}

int api_reply_empty(api_ctx *ctx)
{
	return api_reply(ctx, 200, json_object());
}

int api_reply_object(api_ctx *ctx, const struct api_type *type, json_t *full, const char *collection, int64_t gid,
		     int status)
{
	char location[96], gid_text[GID_STRING_MAX];
	json_t *shaped = api_present(ctx, type, full);

	if (status != 201)
		return api_reply(ctx, status, shaped);
	snprintf(location, sizeof(location), "%s/%s", collection, gid_format(gid, gid_text));
	return api_reply_created(ctx, shaped, location);
}

int api_reply_list(api_ctx *ctx, json_t *items, const struct api_page *page)
{
	json_t *document;

	if (page != NULL && !page->paged && page->has_next) {
		json_decref(items);
		return api_error(ctx, 400, "The result is too large (more than %d objects). Use pagination: pass "
					   "limit (1 to %d) and follow next_page.offset.",
				 API_UNPAGED_MAX, API_PAGE_LIMIT_MAX);
	}
	document = json_object();
	json_object_set_new(document, "data", items);
	if (page != NULL && page->paged)
		json_object_set_new(document, "next_page", page_next_json(ctx, page));
	reply_json(ctx, 200, document);
	return 0;
}

static const char *help_for(int status)
{
	switch (status) {
	case 400: return "Check the request against the Asana API reference; the message names the field to fix.";
	case 401: return "Send a valid token in the header `Authorization: Bearer <token>`.";
	case 402: return "This feature needs another plan for the organization.";
	case 403: return "Ask a super admin of the organization for access.";
	case 404: return "Check the gid; the object does not exist or is not visible to this token.";
	case 405: return "Use one of the methods in the Allow header.";
	case 409: return "The request conflicts with the current state; read the object again and retry.";
	case 413: return "Send a smaller request body.";
	case 429: return "Wait for the number of seconds in the Retry-After header, then retry.";
	case 503: return "The server cannot reach its database; retry after the Retry-After delay.";
	default: return "Retry later; if it persists, give the request id to the server's operator.";
	}
}

/* Replies with an error whose help text is given; api_error picks the help by status. */
static int api_error_help_v(api_ctx *ctx, int status, const char *help, const char *fmt, va_list ap)
{
	json_t *document, *error;
	char formatted[1024], message[1024];

	/*
	 * A message may quote request bytes that are not UTF-8, or be cut inside
	 * a character, and json_string would then drop it: such bytes become '?'.
	 */
	vsnprintf(formatted, sizeof(formatted), fmt, ap);
	text_utf8_copy(message, sizeof(message), formatted);

	/* SCIM clients parse only SCIM's error form (RFC 7644 section 3.12), so every error under /scim takes it. */
	if (scim_is_request(ctx)) {
		scim_error_text(ctx, status, status == 400 ? "invalidSyntax" : NULL, message);
		return 0;
	}

	error = json_object();
	json_object_set_new(error, "message", json_string(message));
	json_object_set_new(error, "help", json_string(help));
	if (status >= 500) {
		char phrase[64];

		snprintf(phrase, sizeof(phrase), "request id %s", ctx->req->request_id);
		json_object_set_new(error, "phrase", json_string(phrase));
	}
	document = json_object();
	json_object_set_new(document, "errors", json_pack("[o]", error));
	/* The error body replaces anything a handler built before failing. */
	for (int i = 0; i < ctx->res->header_count; i++) {
		free(ctx->res->headers[i].name);
		free(ctx->res->headers[i].value);
	}
	ctx->res->header_count = 0;
	reply_json(ctx, status, document);
	return 0;
}

int api_error(api_ctx *ctx, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_error_help_v(ctx, status, help_for(status), fmt, ap);
	va_end(ap);
	return 0;
}

int api_error_help(api_ctx *ctx, int status, const char *help, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_error_help_v(ctx, status, help, fmt, ap);
	va_end(ap);
	return 0;
}

int api_not_found(api_ctx *ctx, const char *what, int64_t gid)
{
	return api_error(ctx, 404, "%s not found: %lld. Check the gid; objects of other organizations and objects "
				   "this token cannot see are not found either.",
			 what, (long long)gid);
}

int api_forbidden(api_ctx *ctx, const char *why)
{
	return api_error(ctx, 403, "%s", why);
}

int api_fail_db(api_ctx *ctx, int status)
{
	const char *detail = ctx->db ? db_conn_errmsg(ctx->db) : "no connection";

	/* Handlers pass DB_ERROR when db_query returned NULL; a timeout or lost connection there is still 503. */
	if (status == DB_ERROR && ctx->db && db_conn_last_status(ctx->db) == DB_UNAVAILABLE)
		status = DB_UNAVAILABLE;

	if (ctx->db && db_in_transaction(ctx->db))
		db_rollback(ctx->db);
	if (status == DB_UNAVAILABLE) {
		log_warn("api", "database unavailable", "request_id", ctx->req->request_id, "error", detail, NULL);
		api_error(ctx, 503, "The database is unavailable or busy. Retry shortly.");
		http_response_add_header(ctx->res, "Retry-After", "1");
		return 0;
	}
	if (status == DB_CONSTRAINT) {
		log_info("api", "constraint violation", "request_id", ctx->req->request_id, "error", detail, NULL);
		return api_error(ctx, 409, "The change conflicts with existing data (a duplicate or a reference to "
					   "an object that no longer exists). Read the objects again and retry.");
	}
	log_error("api", "database error", "request_id", ctx->req->request_id, "error", detail, NULL);
	return api_error(ctx, 500, "Server error.");
}

int api_begin_write(api_ctx *ctx)
{
	int status = db_begin_write(ctx->db);

	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	return 0;
}

int api_commit(api_ctx *ctx)
{
	int status = db_commit(ctx->db);

	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	return 0;
}

/* ---------- representation helpers ---------- */

/*
 * These run for every object of every response, so text that is ASCII by
 * construction (digits, times, the code's own names) skips jansson's UTF-8
 * check.
 */
json_t *api_gid(int64_t gid)
{
	char buf[GID_STRING_MAX];

	return json_string_nocheck(gid_format(gid, buf));
}

json_t *api_object_new(const char *resource_type, int64_t gid)
{
	json_t *object = json_object();

	json_object_set_new_nocheck(object, "gid", api_gid(gid));
	json_object_set_new_nocheck(object, "resource_type", json_string_nocheck(resource_type));
	return object;
}

json_t *api_ref(const char *resource_type, int64_t gid, const char *name)
{
	json_t *object;

	if (gid == 0)
		return json_null();
	object = api_object_new(resource_type, gid);
	if (name != NULL)
		json_object_set_new_nocheck(object, "name", json_string(name));
	return object;
}

json_t *api_time(int64_t us)
{
	char buf[40];

	if (us == 0)
		return json_null();
	return json_string_nocheck(time_format_iso(us, buf, sizeof(buf)));
}

json_t *api_string_or_null(const char *text)
{
	return text ? json_string(text) : json_null();
}

/* ---------- request bodies ---------- */

/* Refuses nesting deeper than JSON_DEPTH_MAX before jansson recurses into it. */
static int json_depth_ok(const char *text, size_t len)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if (c == '{' || c == '[') {
			if (++depth > JSON_DEPTH_MAX)
				return 0;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return 1;
}

/*
 * Decodes a form body into ctx->document, {"data": {...}} with string
 * values, and points ctx->body at its data. Returns 0, or -1 after replying.
 */
static int parse_form_body(api_ctx *ctx, enum form_kind kind, const char *content_type)
{
	char message[512];
	int status;

	if (kind == FORM_URLENCODED)
		status = form_urlencoded_parse(ctx->req->body, ctx->req->body_len, &ctx->document, message,
					       sizeof(message));
	else
		status = form_multipart_parse(content_type, ctx->req->body, ctx->req->body_len, &ctx->document,
					      message, sizeof(message));
	if (status != 0) {
		api_error(ctx, 400, "%s", message);
		return -1;
	}
	ctx->body = json_object_get(ctx->document, "data");
	ctx->body_form = 1;
	return 0;
}

/*
 * Returns 1 when a body sent as a urlencoded form is JSON instead: `curl -d`
 * labels every body as a form, and scripts that send JSON that way worked
 * before kontor read forms. No form field name starts with '{'.
 */
static int form_is_json(const char *body, size_t len)
{
	size_t i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	return i < len && body[i] == '{';
}

static int parse_body(api_ctx *ctx)
{
	json_error_t error;
	json_t *data;
	char message[256];
	const char *content_type;
	enum form_kind form;

	if (ctx->req->body_len == 0 || (ctx->route->flags & API_RAW_BODY))
		return 0;
	if ((ctx->route->flags & API_BARE_BODY) && scim_content_type_check(ctx))
		return -1;
	if (ctx->req->body_len > JSON_BODY_MAX) {
		api_error(ctx, 413, "Request body is too large: at most %d bytes are accepted.", JSON_BODY_MAX);
		return -1;
	}
	if (!(ctx->route->flags & API_BARE_BODY)) {
		content_type = http_request_header(ctx->req, "Content-Type");
		if (form_content_type_check(content_type, message, sizeof(message)) != 0) {
			api_error(ctx, 400, "%s", message);
			return -1;
		}
		form = form_kind_of(content_type);
		if (form == FORM_MULTIPART || (form == FORM_URLENCODED && !form_is_json(ctx->req->body, ctx->req->body_len)))
			return parse_form_body(ctx, form, content_type);
	}
	if (!json_depth_ok(ctx->req->body, ctx->req->body_len)) {
		api_error(ctx, 400, "Request body is nested too deeply: at most %d levels of objects and arrays.",
			  JSON_DEPTH_MAX);
		return -1;
	}
	ctx->document = json_loadb(ctx->req->body, ctx->req->body_len, JSON_REJECT_DUPLICATES, &error);
	if (ctx->document == NULL && strstr(error.text, "JSON_ALLOW_NUL") != NULL) {
		api_error(ctx, 400, "Request body contains a NUL character (\\u0000) in a string (line %d, column %d); "
				    "remove it.",
			  error.line, error.column);
		return -1;
	}
	if (ctx->document == NULL) {
		api_error(ctx, 400, "Request body is not valid JSON (line %d, column %d): %s. Send a JSON object%s "
				    "encoded in UTF-8.",
			  error.line, error.column, error.text,
			  (ctx->route->flags & API_BARE_BODY) ? "" : " like {\"data\": {...}}");
		return -1;
	}
	if (!json_is_object(ctx->document)) {
		api_error(ctx, 400, "Request body must be a JSON object%s.",
			  (ctx->route->flags & API_BARE_BODY) ? "" : " like {\"data\": {...}}");
		return -1;
	}
	if (ctx->route->flags & API_BARE_BODY)
		return 0;
	data = json_object_get(ctx->document, "data");
	if (data == NULL) {
		api_error(ctx, 400, "data: missing. Wrap the fields in {\"data\": {...}}.");
		return -1;
	}
	if (!json_is_object(data)) {
		api_error(ctx, 400, "data: must be a JSON object of fields.");
		return -1;
	}
	ctx->body = data;
	return 0;
}

static const struct api_field *field_find(const struct api_field *fields, const char *name)
{
	for (const struct api_field *f = fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static void list_field_names(const struct api_field *fields, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (const struct api_field *f = fields; f->name && used + 2 < len; f++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", f->name);
}

/* Rejects control characters, except newline and tab in multi-line text. */
static int text_ok(const char *text, int multiline)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (!multiline)
				return 0;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
	return 1;
}

static int check_gid_value(api_ctx *ctx, const struct api_field *f, json_t *value, const char *what)
{
	const char *text;
	int64_t gid;

	if (!json_is_string(value)) {
		api_error(ctx, 400, "%s: %s must be a gid string%s.", f->name, what,
			  (f->flags & AF_USER) ? ", \"me\" or an e-mail address" : "");
		return -1;
	}
	text = json_string_value(value);
	if ((f->flags & AF_USER) && (strcmp(text, "me") == 0 || strchr(text, '@') != NULL))
		return 0;
	if (gid_parse(text, &gid) != 0) {
		api_error(ctx, 400, "%s: \"%.40s\" is not a valid gid. Pass the `gid` string of the object%s.", f->name,
			  text, (f->flags & AF_USER) ? ", \"me\" or an e-mail address" : "");
		return -1;
	}
	return 0;
}

static int check_field(api_ctx *ctx, const struct api_field *f, json_t *value)
{
	if (json_is_null(value)) {
		if (f->flags & AF_NULLABLE)
			return 0;
		api_error(ctx, 400, "%s: may not be null.", f->name);
		return -1;
	}
	switch (f->type) {
	case AF_STRING: {
		size_t max = f->max_len ? f->max_len : API_NAME_MAX;

		if (!json_is_string(value)) {
			api_error(ctx, 400, "%s: must be a string.", f->name);
			return -1;
		}
		if (json_string_length(value) > max) {
			api_error(ctx, 400, "%s: must be at most %zu bytes long; send a shorter value.", f->name, max);
			return -1;
		}
		if (strlen(json_string_value(value)) != json_string_length(value) ||
		    !text_ok(json_string_value(value), f->flags & AF_MULTILINE)) {
			api_error(ctx, 400, "%s: contains control characters%s; remove them.", f->name,
				  (f->flags & AF_MULTILINE) ? " other than newline and tab" : "");
			return -1;
		}
		return 0;
	}
	case AF_BOOL:
		if (!json_is_boolean(value)) {
			api_error(ctx, 400, "%s: must be true or false.", f->name);
			return -1;
		}
		return 0;
	case AF_INT:
		if (!json_is_integer(value)) {
			api_error(ctx, 400, "%s: must be an integer.", f->name);
			return -1;
		}
		return 0;
	case AF_GID:
		return check_gid_value(ctx, f, value, "the value");
	case AF_GID_ARRAY: {
		size_t max = f->max_len ? f->max_len : 100, i;
		json_t *item;

		if (!json_is_array(value)) {
			api_error(ctx, 400, "%s: must be an array of gid strings.", f->name);
			return -1;
		}
		if (json_array_size(value) > max) {
			api_error(ctx, 400, "%s: at most %zu items are accepted in one request.", f->name, max);
			return -1;
		}
		json_array_foreach(value, i, item)
			if (check_gid_value(ctx, f, item, "each item") != 0)
				return -1;
		return 0;
	}
	case AF_DATE:
		if (!json_is_string(value) || time_check_date(json_string_value(value)) != 0) {
			api_error(ctx, 400, "%s: must be a calendar date in the form YYYY-MM-DD.", f->name);
			return -1;
		}
		return 0;
	case AF_DATETIME: {
		int64_t us;

		if (!json_is_string(value) || time_parse_iso(json_string_value(value), &us) != 0) {
			api_error(ctx, 400, "%s: must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z.",
				  f->name);
			return -1;
		}
		return 0;
	}
	case AF_ENUM:
		if (json_is_string(value))
			for (const char *const *v = f->values; *v; v++)
				if (strcmp(*v, json_string_value(value)) == 0)
					return 0;
		{
			char allowed[512];
			size_t used = 0;

			allowed[0] = '\0';
			for (const char *const *v = f->values; *v && used + 2 < sizeof(allowed); v++)
				used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
							 used ? ", " : "", *v);
			api_error(ctx, 400, "%s: must be one of: %s.", f->name, allowed);
		}
		return -1;
	case AF_ANY:
		return 0;
	}
	return 0;
}

int api_check_body(api_ctx *ctx, const struct api_field *fields)
{
	const char *name;
	json_t *value;

	if (ctx->body != NULL && ctx->body_form) {
		char message[512];

		if (form_coerce(ctx->body, fields, message, sizeof(message)) != 0) {
			api_error(ctx, 400, "%s", message);
			return -1;
		}
	}
	if (ctx->body != NULL) {
		json_object_foreach(ctx->body, name, value) {
			const struct api_field *f = field_find(fields, name);

			if (f == NULL) {
				char allowed[768];

				list_field_names(fields, allowed, sizeof(allowed));
				api_error(ctx, 400, "data.%.80s: unknown field. Remove it; this endpoint accepts: %s.", name,
					  allowed[0] ? allowed : "no fields");
				return -1;
			}
			if (check_field(ctx, f, value) != 0)
				return -1;
		}
	}
	for (const struct api_field *f = fields; f->name; f++) {
		if ((f->flags & AF_REQUIRED) && (ctx->body == NULL || json_object_get(ctx->body, f->name) == NULL)) {
			api_error(ctx, 400, "%s: missing input. This field is required.", f->name);
			return -1;
		}
	}
	return 0;
}

const char *api_body_string(api_ctx *ctx, const char *name)
{
	json_t *value = ctx->body ? json_object_get(ctx->body, name) : NULL;

	return json_is_string(value) ? json_string_value(value) : NULL;
}

int api_body_has(api_ctx *ctx, const char *name)
{
	return ctx->body != NULL && json_object_get(ctx->body, name) != NULL;
}

int api_body_is_null(api_ctx *ctx, const char *name)
{
	return ctx->body != NULL && json_is_null(json_object_get(ctx->body, name));
}

int api_body_bool(api_ctx *ctx, const char *name, int fallback)
{
	json_t *value = ctx->body ? json_object_get(ctx->body, name) : NULL;

	return json_is_boolean(value) ? json_is_true(value) : fallback;
}

int64_t api_body_gid(api_ctx *ctx, const char *name)
{
	const char *text = api_body_string(ctx, name);
	int64_t gid;

	if (text == NULL || gid_parse(text, &gid) != 0)
		return 0;
	return gid;
}

int api_resolve_user(api_ctx *ctx, const char *field, const char *ref, int64_t *gid_r)
{
	db_stmt *s;
	int status;
	int64_t gid = 0;

	if (ref == NULL) {
		api_error(ctx, 400, "%s: missing user; pass a user gid, \"me\" or an e-mail address.", field);
		return -1;
	}
	if (strcmp(ref, "me") == 0) {
		*gid_r = ctx->who.user_gid;
		return 0;
	}
	if (strchr(ref, '@') != NULL) {
		char lower[320];
		size_t i;

		for (i = 0; ref[i] && i + 1 < sizeof(lower); i++)
			lower[i] = (char)((ref[i] >= 'A' && ref[i] <= 'Z') ? ref[i] + 32 : ref[i]);
		lower[i] = '\0';
		s = db_query(ctx->db, "SELECT gid FROM users WHERE email_lower = ? AND workspace_gid = ?");
		if (s == NULL) {
			api_fail_db(ctx, DB_ERROR);
			return -1;
		}
		db_bind_text(s, 0, lower);
	} else {
		if (gid_parse(ref, &gid) != 0) {
			api_error(ctx, 400, "%s: \"%.60s\" is not a user gid, \"me\" or an e-mail address.", field, ref);
			return -1;
		}
		s = db_query(ctx->db, "SELECT gid FROM users WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL) {
			api_fail_db(ctx, DB_ERROR);
			return -1;
		}
		db_bind_int64(s, 0, gid);
	}
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		*gid_r = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status == DB_DONE) {
		api_error(ctx, 404, "%s: user not found: \"%.60s\". Check the gid or e-mail address; users of other "
				    "organizations are not found either.",
			  field, ref);
		return -1;
	}
	if (status != DB_ROW) {
		api_fail_db(ctx, status);
		return -1;
	}
	return 0;
}

/* ---------- the dispatcher ---------- */

void dispatch_access_log(api_ctx *ctx, const char *route)
{
	/* With the access log off (level warn or above), its numbers are not even formatted. */
	if (!log_enabled(LOG_INFO))
		return;
	log_info("http", "request", "request_id", ctx->req->request_id, "method", ctx->req->method, "route", route,
		 "status", LOG_NUM(ctx->res->status), "duration_us", LOG_NUM(time_mono_us() - ctx->req->started_us),
		 "principal",
		 ctx->who.user_gid ? LOG_INT(ctx->who.user_gid) : NULL, "ip", ctx->req->client_ip, "peer_ip", ctx->req->peer_ip, NULL);
}

static int is_safe_method(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
}

/* Bearer tokens first; without one, the admin console's session cookie (with CSRF on changes). */
int dispatch_authenticate(api_ctx *ctx)
{
	int db_status = DB_OK, csrf_ok = 0;
	enum auth_result result;

	/* Two credentials could be read differently by a proxy and by kontor, so neither is used. */
	if (http_request_header_count(ctx->req, "Authorization") > 1) {
		api_error(ctx, 400, "Authorization: the request has more than one Authorization header. Send exactly one.");
		return -1;
	}
	result = auth_bearer(ctx->db, ctx->app->pepper, ctx->req, &ctx->who, &db_status);

	if (result == AUTH_MISSING)
		result = auth_session(ctx->db, ctx->app->pepper, ctx->req, &ctx->who, &csrf_ok, &db_status);
	if (result == AUTH_OK && ctx->who.token_gid == 0 && !csrf_ok && !is_safe_method(ctx->req->method)) {
		log_warn("api", "request rejected: missing or wrong CSRF token", "request_id", ctx->req->request_id,
			 "principal", LOG_INT(ctx->who.user_gid), NULL);
		api_error_help(ctx, 403, "Read csrf_token from GET /admin/session and send it with every change.",
			       "Missing or invalid CSRF token: send the session's token in the %s header.", CSRF_HEADER);
		return -1;
	}
	/* A service-account token of an organization that left the eligible plans gets 402 until it returns. */
	if (result == AUTH_OK && ctx->who.plan_blocked) {
		sa_reply_plan_required(ctx);
		return -1;
	}
	if (result == AUTH_OK)
		return 0;
	if (result == AUTH_DB_ERROR) {
		api_fail_db(ctx, db_status);
		return -1;
	}
	api_error(ctx, 401, result == AUTH_MISSING
				    ? "Not Authorized: no credentials. Send `Authorization: Bearer <token>`."
				    : "Not Authorized: the token or session is invalid, expired or revoked.");
	http_response_add_header(ctx->res, "WWW-Authenticate", "Bearer realm=\"kontor\"");
	return -1;
}

int api_event(api_ctx *ctx, struct change_event *event)
{
	event->workspace_gid = ctx->who.workspace_gid;
	if (event->actor_gid == 0)
		event->actor_gid = ctx->who.user_gid;
	return store_event_append(ctx->db, event, NULL);
}

int api_audit(api_ctx *ctx, struct audit_event *event)
{
	char actor_name[API_NAME_MAX + 1], actor_email[320], resource_email[320];
	int status;

	event->workspace_gid = ctx->who.workspace_gid;
	if (event->actor_type == NULL)
		event->actor_type = ctx->who.user_gid ? "user" : "anonymous";
	if (event->actor_gid == 0)
		event->actor_gid = ctx->who.user_gid;
	/* The caller's name and e-mail, when the handler did not name the actor itself. */
	if (event->actor_gid != 0 && event->actor_name == NULL) {
		db_stmt *s = db_query(ctx->db, "SELECT name, email FROM users WHERE gid = ?");

		if (s == NULL)
			return DB_ERROR;
		db_bind_int64(s, 0, event->actor_gid);
		status = db_step(s);
		if (status == DB_ROW) {
			snprintf(actor_name, sizeof(actor_name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
			snprintf(actor_email, sizeof(actor_email), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
			event->actor_name = actor_name;
			event->actor_email = actor_email;
		}
		db_stmt_done(s);
		if (status != DB_ROW && status != DB_DONE)
			return status;
	}
	/* A user resource's e-mail address as it is now, so the record keeps it after a change. */
	if (event->resource_email == NULL && event->resource_gid != 0 && event->resource_type != NULL &&
	    strcmp(event->resource_type, "user") == 0) {
		db_stmt *s = db_query(ctx->db, "SELECT email FROM users WHERE gid = ? AND workspace_gid = ?");

		if (s == NULL)
			return DB_ERROR;
		db_bind_int64(s, 0, event->resource_gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		status = db_step(s);
		if (status == DB_ROW && db_column_text(s, 0) != NULL) {
			snprintf(resource_email, sizeof(resource_email), "%s", db_column_text(s, 0));
			event->resource_email = resource_email;
		}
		db_stmt_done(s);
		if (status != DB_ROW && status != DB_DONE)
			return status;
	}
	if (event->auth_method == NULL)
		event->auth_method = ctx->who.auth_method;
	if (event->client_ip == NULL)
		event->client_ip = ctx->req->client_ip;
	if (event->user_agent == NULL)
		event->user_agent = http_request_header(ctx->req, "User-Agent");
	if (event->token_gid == 0)
		event->token_gid = ctx->who.token_gid;
	status = store_audit_append(ctx->db, event);
	/* The buffers end with this call; a caller that reuses the event must not see them. */
	if (event->actor_name == actor_name) {
		event->actor_name = NULL;
		event->actor_email = NULL;
	}
	if (event->resource_email == resource_email)
		event->resource_email = NULL;
	return status;
}

/*
 * Routes for one scope (SCIM, exports, audit log) serve only service
 * accounts holding that scope or `full`; some also need a top plan.
 */
static int authorize_special_scope(api_ctx *ctx)
{
	static const struct {
		unsigned flag, scope;
		const char *name;
	} special[] = {
		{ API_SCOPE_SCIM, SCOPE_SCIM, "scim" },
		{ API_SCOPE_EXPORTS, SCOPE_EXPORTS, "exports" },
		{ API_SCOPE_AUDIT_LOGS, SCOPE_AUDIT_LOGS, "audit_logs" },
	};
	unsigned flags = ctx->route->flags;

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		if (!(flags & special[i].flag))
			continue;
		if (ctx->who.kind != PRINCIPAL_SERVICE_ACCOUNT) {
			api_error_help(ctx, 403, "A super admin creates one under Apps > Service accounts in the admin console.",
				       "Only a service account with the `%s` or `full` permission may use this endpoint.",
				       special[i].name);
			return -1;
		}
		if (!(ctx->who.scopes & (SCOPE_FULL | special[i].scope))) {
			api_error(ctx, 403, "This service account lacks the scope `%s` for this endpoint. A super admin "
					    "can change its permissions in the admin console.",
				  special[i].name);
			return -1;
		}
		if ((flags & API_PLAN_PLUS) && strcmp(ctx->who.plan, "enterprise_plus") != 0 &&
		    strcmp(ctx->who.plan, "legacy_enterprise") != 0) {
			api_error_help(ctx, 402, "Upgrade the organization to enterprise_plus to use it.",
				       "This endpoint needs the plan enterprise_plus or legacy_enterprise; this "
				       "organization is on %s.",
				       ctx->who.plan);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* Scope check for service accounts: `read` may not write; only `full` and `read` reach ordinary data. */
static int authorize_scope(api_ctx *ctx)
{
	int special = authorize_special_scope(ctx);

	if (special != 0)
		return special < 0 ? -1 : 0;
	if (ctx->who.kind != PRINCIPAL_SERVICE_ACCOUNT)
		return 0;
	if (ctx->who.scopes & SCOPE_FULL)
		return 0;
	if ((ctx->who.scopes & SCOPE_READ) && !(ctx->route->flags & API_WRITE))
		return 0;
	api_error(ctx, 403, "This service account lacks the scope `%s` for this endpoint. A super admin can change "
			    "its permissions in the admin console.",
		  (ctx->route->flags & API_WRITE) ? "full" : "read");
	return -1;
}

/*
 * API_SUPER_ADMIN routes serve super admins who are people. Everyone else
 * gets that reason, before the scope check, so a service account learns
 * that no permission would let it in.
 */
static int authorize_super_admin(api_ctx *ctx)
{
	if (!(ctx->route->flags & API_SUPER_ADMIN))
		return 0;
	if (ctx->who.kind == PRINCIPAL_PERSON && ctx->who.role == ROLE_SUPER_ADMIN)
		return 0;
	api_forbidden(ctx, "Only super admins of the organization can use this endpoint; service accounts cannot, "
			   "whatever their permissions.");
	return -1;
}

/*
 * Applies opt_fields and opt_pretty written in a form body, which Asana
 * reads as it reads them in a query string. The query string wins when
 * both are given.
 */
static void form_options_apply(api_ctx *ctx, const char **opt_fields)
{
	json_t *options = json_object_get(ctx->document, "options");
	const char *pretty = json_string_value(json_object_get(options, "pretty"));

	if (*opt_fields == NULL)
		*opt_fields = json_string_value(json_object_get(options, "fields"));
	if (pretty != NULL && api_query(ctx, "opt_pretty") == NULL)
		ctx->pretty = strcmp(pretty, "false") != 0;
}

/*
 * Rejects a query parameter given more than once, in any case. libmicrohttpd
 * returns the first copy, but a proxy or cache in front may read the last
 * one, so the two would disagree on the request. A form body gets the same
 * 400 (form.c). Returns 0, or -1 after replying.
 */
static int query_params_once(api_ctx *ctx)
{
	int too_many = 0;
	const char *repeated = http_request_query_repeated(ctx->req, &too_many);

	if (too_many) {
		api_error(ctx, 400, "The query string has more than %d parameters; send only the parameters this "
				    "endpoint reads.",
			  HTTP_QUERY_PARAMS_MAX);
		return -1;
	}
	if (repeated == NULL)
		return 0;
	if (strcasecmp(repeated, "opt_fields") == 0)
		api_error(ctx, 400, "opt_fields: given more than once in the query string; send it once, with the "
				    "field names separated by commas, such as opt_fields=name,notes.");
	else
		api_error(ctx, 400, "%s: given more than once in the query string; send it once.", repeated);
	return -1;
}

static void dispatch(api_ctx *ctx, const char *path)
{
	int path_matched, retry_after = 0;
	int is_write, limited = 0;
	char allow[64];
	const char *pretty, *opt_fields;

	ctx->route = route_find(ctx, ctx->req->method, path, &path_matched, allow, sizeof(allow));
	if (ctx->route == NULL) {
		if (path_matched) {
			api_error(ctx, 405, "Method %s is not allowed on %s%s; this path accepts %s.", ctx->req->method,
				  API_BASE_PATH, path, allow);
			http_response_add_header(ctx->res, "Allow", allow);
		} else if (scim_is_request(ctx)) {
			scim_error(ctx, 404, NULL, "No such SCIM endpoint: %s %s%s. kontor serves " SCIM_PATH "/Users, "
						   SCIM_PATH "/Groups, " SCIM_PATH "/ServiceProviderConfig, " SCIM_PATH
						   "/ResourceTypes and " SCIM_PATH "/Schemas under " API_BASE_PATH ".",
				   ctx->req->method, API_BASE_PATH, path);
		} else {
			api_error_help(ctx, 404, "kontor implements the endpoints listed in docs/api.md.",
				       "No such endpoint: %s %s%s. Check the method and path against the Asana API "
				       "reference.",
				       ctx->req->method, API_BASE_PATH, path);
		}
		return;
	}
	is_write = (ctx->route->flags & API_WRITE) != 0;

	pretty = api_query(ctx, "opt_pretty");
	ctx->pretty = pretty != NULL && strcmp(pretty, "false") != 0;

	ctx->db = db_acquire(ctx->app->db, ctx->app->db_timeout_ms);
	if (ctx->db == NULL) {
		api_error(ctx, 503, "The database is unavailable or busy. Retry shortly.");
		http_response_add_header(ctx->res, "Retry-After", "1");
		return;
	}
	/*
	 * A request that writes nothing reads from one snapshot, authentication
	 * included: on SQLite that takes the snapshot and its locks once instead
	 * of once per statement. Recording a token's last use ends the snapshot
	 * first (store/db.h), so that write never joins it.
	 */
	if (!is_write) {
		int status = db_begin_read(ctx->db);

		if (status != DB_OK) {
			api_fail_db(ctx, status);
			return;
		}
	}

	if (!(ctx->route->flags & API_PUBLIC) && dispatch_authenticate(ctx) != 0)
		return;

	if (ctx->who.user_gid != 0) {
		if (ratelimit_acquire(ctx->app->limits, ctx->who.token_gid ? ctx->who.token_gid : ctx->who.user_gid,
				      is_write, &retry_after) != 0) {
			char seconds[16];

			snprintf(seconds, sizeof(seconds), "%d", retry_after);
			api_error(ctx, 429, "Rate limit exceeded for this token. Retry after %d seconds.", retry_after);
			http_response_add_header(ctx->res, "Retry-After", seconds);
			return;
		}
		limited = 1;
	}

	if (authorize_super_admin(ctx) == 0 && authorize_scope(ctx) == 0 && query_params_once(ctx) == 0 &&
	    parse_body(ctx) == 0) {
		opt_fields = api_query(ctx, "opt_fields");
		if (ctx->body_form)
			form_options_apply(ctx, &opt_fields);
		if (opt_fields == NULL || fields_parse(ctx, opt_fields, ctx->route->type) == 0)
			ctx->route->handler(ctx);
	}
	if (ctx->db && db_end_read(ctx->db) != DB_OK)
		log_warn("api", "cannot end the read snapshot", "request_id", ctx->req->request_id, "error",
			 db_conn_errmsg(ctx->db), NULL);
	if (ctx->db && db_in_transaction(ctx->db)) {
		log_error("api", "handler left a transaction open; rolled back", "request_id", ctx->req->request_id,
			  "route", ctx->route->pattern, NULL);
		db_rollback(ctx->db);
	}
	/* A deferred request stays in flight until its resume step has run. */
	if (limited && ctx->deferral != NULL)
		defer_keep_ratelimit(ctx->deferral, ctx->who.token_gid ? ctx->who.token_gid : ctx->who.user_gid,
				     is_write);
	else if (limited)
		ratelimit_release(ctx->app->limits, ctx->who.token_gid ? ctx->who.token_gid : ctx->who.user_gid,
				  is_write);
}

static void handle_api(struct app *app, http_request *req, http_response *res)
{
	api_ctx ctx;
	const char *path = req->path + strlen(API_BASE_PATH);

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.res = res;
	ctx.app = app;
	dispatch(&ctx, path[0] ? path : "/");
	/* A deferred request replies, and writes its access-log line, when it resumes (defer.c). */
	if (ctx.deferral == NULL) {
		if (res->status == 0)
			api_error(&ctx, 500, "Server error: the handler sent no reply.");
		dispatch_access_log(&ctx, ctx.route ? ctx.route->pattern : "-");
	}

	params_clear(&ctx);
	fields_free(&ctx.fields);
	json_decref(ctx.document);
	if (ctx.db)
		db_release(app->db, ctx.db);
}

static void handle_health(struct app *app, http_request *req, http_response *res)
{
	db_conn *c = db_acquire(app->db, app->db_timeout_ms);
	db_stmt *s = c ? db_query(c, "SELECT 1") : NULL;
	int status = s ? db_step(s) : DB_UNAVAILABLE;

	if (s)
		db_stmt_done(s);
	if (c)
		db_release(app->db, c);
	if (status == DB_ROW) {
		http_response_set_text(res, 200, CONTENT_TYPE_JSON, "{\"status\":\"ok\"}");
		return;
	}
	log_warn("http", "health check failed: database unreachable", "request_id", req->request_id, NULL);
	http_response_set_text(res, 503, CONTENT_TYPE_JSON, "{\"status\":\"database unavailable\"}");
	http_response_add_header(res, "Retry-After", "1");
}

/* Replies 413 to a request whose body the server discarded, in the error form of the path's API. */
static void reply_body_too_large(struct app *app, http_request *req, http_response *res)
{
	size_t base_len = strlen(API_BASE_PATH);
	api_ctx ctx;

	if (strncmp(req->path, API_BASE_PATH, base_len) != 0 || (req->path[base_len] != '/' && req->path[base_len] != '\0')) {
		http_response_set_text(res, 413, CONTENT_TYPE_JSON,
				       "{\"errors\":[{\"message\":\"Request body is too large. Send a smaller body.\","
				       "\"help\":\"Send a smaller request body.\"}]}");
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.res = res;
	ctx.app = app;
	api_error(&ctx, 413, "Request body is too large: the limit for this endpoint is %zu bytes. Send a smaller body.",
		  req->body_too_large);
	dispatch_access_log(&ctx, "-");
}

void app_handle(http_request *req, http_response *res, void *opaque)
{
	struct app *app = opaque;
	size_t base_len = strlen(API_BASE_PATH);

	if (req->body_too_large != 0) {
		reply_body_too_large(app, req, res);
		return;
	}

	if (strcmp(req->path, "/healthz") == 0) {
		handle_health(app, req, res);
		return;
	}
	if (app_admin_console(app, req, res))
		return;
	if (strncmp(req->path, API_BASE_PATH, base_len) == 0 &&
	    (req->path[base_len] == '/' || req->path[base_len] == '\0')) {
		handle_api(app, req, res);
		return;
	}
	http_response_set_text(res, 404, CONTENT_TYPE_JSON,
			       "{\"errors\":[{\"message\":\"Not found. The API is served under /api/1.0.\"}]}");
}

size_t app_body_limit(const char *method, const char *path, void *opaque)
{
	size_t len = strlen(path);

	(void)opaque;
	if (strcmp(method, "PUT") == 0 && len > 6 && strcmp(path + len - 6, "/photo") == 0)
		return UPLOAD_BODY_MAX;
	/* Sign-in bodies are tiny; refusing big ones early saves buffering 1 MiB per attempt. */
	if (strcmp(path, "/admin/session") == 0)
		return ADMIN_SESSION_BODY_MAX;
	return JSON_BODY_MAX;
}
