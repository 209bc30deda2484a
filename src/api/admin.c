/*
 * The admin console's server side: its static files under /admin/, the
 * session endpoints /admin/session (sign in, read, sign out) that live
 * outside /api/1.0, and kontor's role-change extension
 * PUT /api/1.0/workspace_memberships/{workspace_membership_gid}.
 * app_handle calls app_admin_console for every path before the API.
 */
#include "api/api.h"
#include "api/app.h"
#include "api/photo_url.h"
#include "auth/login.h"
#include "auth/password.h"
#include "auth/session.h"
#include "http/static.h"
#include "store/audit.h"
#include "store/org.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CONSOLE_PREFIX "/admin/"
#define SESSION_PATH "/admin/session"
#define SESSION_BODY_MAX 4096 /* bytes in a sign-in body: an e-mail address and a password fit easily */
#define EMAIL_MAX 254         /* bytes in an e-mail address (RFC 5321's path limit less the brackets) */
#define JSON_TYPE "application/json; charset=UTF-8"
#define INVALID_CREDENTIALS "Invalid e-mail address or password"

/* Plans whose organizations have service accounts. */
static const char *const service_account_plans[] = { "enterprise", "enterprise_plus", "legacy_enterprise", NULL };

/* One request to /admin/session. */
struct console {
	struct app *app;
	http_request *req;
	http_response *res;
	db_conn *db;
	int64_t user_gid; /* the signed-in person, for the access log; 0 if none */
};

/* ---------- replies ---------- */

/* Sends `document` (stolen) with headers that keep the reply out of caches and frames. */
static void console_reply(struct console *con, int status, json_t *document)
{
	char *text = json_dumps(document, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(document);
	if (text == NULL) {
		http_response_set_text(con->res, 500, JSON_TYPE, "{\"errors\":[{\"message\":\"Server error\"}]}");
		return;
	}
	http_response_set_body(con->res, status, JSON_TYPE, text, strlen(text));
	http_static_security_headers(con->res);
	http_response_add_header(con->res, "Cache-Control", "no-store");
}

static void console_data(struct console *con, int status, json_t *data)
{
	json_t *document = json_object();

	json_object_set_new(document, "data", data);
	console_reply(con, status, document);
}

static void console_error(struct console *con, int status, const char *message, const char *help)
{
	json_t *error = json_object();

	json_object_set_new(error, "message", json_string(message));
	if (help != NULL)
		json_object_set_new(error, "help", json_string(help));
	console_reply(con, status, json_pack("{s:[o]}", "errors", error));
}

static void console_db_error(struct console *con, int status)
{
	if (status == DB_UNAVAILABLE) {
		log_warn("admin", "database unavailable", "request_id", con->req->request_id, NULL);
		console_error(con, 503, "The database is unavailable or busy. Retry shortly.", NULL);
		http_response_add_header(con->res, "Retry-After", "1");
		return;
	}
	log_error("admin", "database error", "request_id", con->req->request_id, "error",
		  con->db ? db_conn_errmsg(con->db) : "no connection", NULL);
	console_error(con, 500, "Server error.", "Retry later; if it persists, give the request id to the operator.");
}

static void clear_cookie(struct console *con)
{
	char header[SESSION_SET_COOKIE_MAX];

	session_set_cookie(NULL, con->req->is_tls, header);
	http_response_add_header(con->res, "Set-Cookie", header);
}

/* One line per request, in the fields of the API's access log. */
static void access_log(const http_request *req, const http_response *res, const char *route, int64_t user_gid)
{
	log_info("http", "request", "request_id", req->request_id, "method", req->method, "route", route, "status",
		 LOG_NUM(res->status), "duration_us", LOG_NUM(time_mono_us() - req->started_us), "principal",
		 user_gid ? LOG_INT(user_gid) : NULL, "ip", req->client_ip, "peer_ip", req->peer_ip, NULL);
}

/* ---------- the signed-in person ---------- */

static int plan_has_service_accounts(const char *plan)
{
	for (const char *const *p = service_account_plans; *p; p++)
		if (strcmp(*p, plan) == 0)
			return 1;
	return 0;
}

/* Builds a user's photo field through the helper the API's user representation uses. */
static json_t *photo_json(struct console *con, const char *photo_key)
{
	api_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = con->req;
	ctx.res = con->res;
	ctx.app = con->app;
	ctx.db = con->db;
	return api_photo_json(&ctx, photo_key);
}

/*
 * Builds the data of a session reply: the CSRF token, the person, the
 * organization, the role, whether the person administers a division and
 * whether the plan has service accounts. Returns a db status.
 */
static int session_view(struct console *con, const principal *who, const char *csrf, json_t **data_r)
{
	json_t *data, *user, *workspace;
	db_stmt *s;
	int status;

	*data_r = NULL;
	s = db_query(con->db, "SELECT u.name, u.email, u.photo_key, w.name, w.plan,"
			      " CASE WHEN EXISTS (SELECT 1 FROM division_admins d WHERE d.workspace_gid = u.workspace_gid"
			      " AND d.user_gid = u.gid) THEN 1 ELSE 0 END"
			      " FROM users u JOIN workspaces w ON w.gid = u.workspace_gid"
			      " WHERE u.gid = ? AND u.workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, who->user_gid);
	db_bind_int64(s, 1, who->workspace_gid);
	status = db_step(s);
	if (status != DB_ROW) {
		db_stmt_done(s);
		return status == DB_DONE ? DB_ERROR : status;
	}

	user = api_object_new("user", who->user_gid);
	json_object_set_new(user, "name", api_string_or_null(db_column_text(s, 0)));
	json_object_set_new(user, "email", api_string_or_null(db_column_text(s, 1)));
	json_object_set_new(user, "photo", photo_json(con, db_column_text(s, 2)));
	workspace = api_object_new("workspace", who->workspace_gid);
	json_object_set_new(workspace, "name", api_string_or_null(db_column_text(s, 3)));
	json_object_set_new(workspace, "plan", api_string_or_null(db_column_text(s, 4)));

	data = json_object();
	json_object_set_new(data, "csrf_token", json_string(csrf));
	json_object_set_new(data, "user", user);
	json_object_set_new(data, "workspace", workspace);
	json_object_set_new(data, "role", json_string(role_name(who->role)));
	json_object_set_new(data, "division_admin", json_boolean(db_column_int64(s, 5) != 0));
	json_object_set_new(data, "service_accounts_available",
			    json_boolean(plan_has_service_accounts(db_column_text(s, 4) ? db_column_text(s, 4) : "")));
	db_stmt_done(s);
	*data_r = data;
	return DB_OK;
}

/* ---------- /admin/session ---------- */

/* 1 when the Content-Type is application/json, with or without parameters. */
static int content_type_is_json(const http_request *req)
{
	const char *type = http_request_header(req, "Content-Type");
	size_t len = strlen("application/json");

	if (type == NULL || strncasecmp(type, "application/json", len) != 0)
		return 0;
	return type[len] == '\0' || type[len] == ';' || type[len] == ' ';
}

/*
 * 1 when the browser reports the request as coming from another site
 * (Fetch Metadata). SameSite=Strict and the JSON Content-Type already stop
 * cross-site posts; this refuses them before any work is done.
 */
static int cross_site(const http_request *req)
{
	const char *site = http_request_header(req, "Sec-Fetch-Site");

	return site != NULL && (strcmp(site, "cross-site") == 0 || strcmp(site, "same-site") == 0);
}

/* 1 for a plausible e-mail address: 3 to EMAIL_MAX bytes, one '@' inside, no spaces or control characters. */
static int email_valid(const char *email)
{
	const char *at = strchr(email, '@');
	size_t len = strlen(email);

	if (len < 3 || len > EMAIL_MAX || at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Overwrites a string held by jansson; the value is our own decoded copy. */
static void wipe_json_string(json_t *value)
{
	if (json_is_string(value))
		sodium_memzero((char *)json_string_value(value), json_string_length(value));
}

/* Frees a parsed sign-in body after overwriting the password in it. */
static void discard_document(json_t *document)
{
	json_t *data = json_object_get(document, "data");

	if (json_is_object(data))
		wipe_json_string(json_object_get(data, "password"));
	wipe_json_string(json_object_get(document, "password"));
	json_decref(document);
}

/*
 * Parses {"email", "password"} (also accepted wrapped in {"data": {...}}).
 * Returns the parsed document, or NULL after replying 400.
 */
static json_t *sign_in_parse(struct console *con, json_t **fields_r)
{
	json_error_t error;
	json_t *document, *fields, *email, *password;
	const char *name;
	json_t *value;

	document = json_loadb(con->req->body ? con->req->body : "", con->req->body_len, JSON_REJECT_DUPLICATES, &error);
	if (document == NULL || !json_is_object(document)) {
		discard_document(document);
		console_error(con, 400, "The body must be a JSON object: {\"email\": \"...\", \"password\": \"...\"}.",
			      NULL);
		return NULL;
	}
	fields = json_object_get(document, "data");
	if (fields == NULL || json_object_size(document) != 1)
		fields = document;
	if (!json_is_object(fields)) {
		discard_document(document);
		console_error(con, 400, "data: must be an object with email and password.", NULL);
		return NULL;
	}
	json_object_foreach(fields, name, value) {
		if (strcmp(name, "email") != 0 && strcmp(name, "password") != 0) {
			char message[160];

			snprintf(message, sizeof(message), "%.60s: unknown field. Send only email and password.", name);
			console_error(con, 400, message, NULL);
			discard_document(document);
			return NULL;
		}
	}

	email = json_object_get(fields, "email");
	password = json_object_get(fields, "password");
	if (!json_is_string(email) || strlen(json_string_value(email)) != json_string_length(email) ||
	    !email_valid(json_string_value(email))) {
		console_error(con, 400, "email: missing or not an e-mail address; send an address like name@example.com.",
			      NULL);
		discard_document(document);
		return NULL;
	}
	if (!json_is_string(password) || json_string_length(password) == 0 ||
	    json_string_length(password) > PASSWORD_BYTES_MAX ||
	    strlen(json_string_value(password)) != json_string_length(password)) {
		char message[160];

		snprintf(message, sizeof(message), "password: missing or invalid; send a string of 1 to %d bytes.",
			 PASSWORD_BYTES_MAX);
		console_error(con, 400, message, NULL);
		discard_document(document);
		return NULL;
	}
	*fields_r = fields;
	return document;
}

/* POST /admin/session */
static void session_sign_in(struct console *con)
{
	struct login_request request;
	struct login_outcome outcome;
	struct session_info info;
	enum login_result result;
	enum auth_result auth;
	principal who;
	json_t *document, *fields = NULL, *password, *data;
	char cookie_header[SESSION_SET_COOKIE_MAX], seconds[16];
	int status, db_status = DB_OK;

	if (!content_type_is_json(con->req)) {
		console_error(con, 415, "Content-Type must be application/json.", NULL);
		return;
	}
	if (con->req->body_len > SESSION_BODY_MAX) {
		console_error(con, 413, "The body is too large: a sign-in takes at most 4096 bytes.", NULL);
		return;
	}
	document = sign_in_parse(con, &fields);
	/* The password is not needed in the raw body any more; the buffer belongs to this request. */
	if (con->req->body != NULL)
		sodium_memzero((char *)con->req->body, con->req->body_len);
	if (document == NULL)
		return;
	password = json_object_get(fields, "password");

	memset(&request, 0, sizeof(request));
	request.email = json_string_value(json_object_get(fields, "email"));
	request.password = json_string_value(password);
	request.password_len = json_string_length(password);
	request.client_ip = con->req->client_ip;
	request.user_agent = http_request_header(con->req, "User-Agent");
	request.request_id = con->req->request_id;
	request.pepper = con->app->pepper;
	result = auth_login(con->db, &request, &outcome);
	discard_document(document);

	switch (result) {
	case LOGIN_OK:
		break;
	case LOGIN_INVALID:
		console_error(con, 401, INVALID_CREDENTIALS,
			      "Check the e-mail address and the password. Service accounts cannot sign in.");
		return;
	case LOGIN_THROTTLED:
		snprintf(seconds, sizeof(seconds), "%d", outcome.retry_after_s);
		console_error(con, 429, "Too many failed sign-in attempts. Wait for the number of seconds in the "
					"Retry-After header, then try again.",
			      NULL);
		http_response_add_header(con->res, "Retry-After", seconds);
		return;
	case LOGIN_DB_ERROR:
		console_db_error(con, outcome.db_status);
		return;
	}

	/* Reading the new session back fills the role and plan exactly as later requests see them. */
	auth = session_check(con->db, con->app->pepper, outcome.cookie, NULL, &who, &info, &db_status);
	status = auth == AUTH_OK ? DB_OK : (auth == AUTH_DB_ERROR ? db_status : DB_ERROR);
	if (status == DB_OK)
		status = session_view(con, &who, outcome.csrf, &data);
	if (status != DB_OK) {
		sodium_memzero(&outcome, sizeof(outcome));
		console_db_error(con, status);
		return;
	}
	con->user_gid = outcome.user_gid;
	console_data(con, 200, data);
	session_set_cookie(outcome.cookie, con->req->is_tls, cookie_header);
	http_response_add_header(con->res, "Set-Cookie", cookie_header);
	sodium_memzero(cookie_header, sizeof(cookie_header));
	sodium_memzero(&outcome, sizeof(outcome));
	sodium_memzero(&info, sizeof(info));
}

/* GET /admin/session */
static void session_get(struct console *con)
{
	struct session_info info;
	enum auth_result auth;
	principal who;
	json_t *data;
	int status = DB_OK;

	auth = session_authenticate(con->db, con->app->pepper, con->req, &who, &info, &status);
	if (auth == AUTH_DB_ERROR) {
		console_db_error(con, status);
		return;
	}
	if (auth != AUTH_OK) {
		console_error(con, 401, "Not signed in, or the session has expired. Sign in again.", NULL);
		if (auth == AUTH_INVALID)
			clear_cookie(con);
		return;
	}
	con->user_gid = who.user_gid;
	status = session_view(con, &who, info.csrf, &data);
	sodium_memzero(&info, sizeof(info));
	if (status != DB_OK) {
		console_db_error(con, status);
		return;
	}
	console_data(con, 200, data);
}

/* DELETE /admin/session: revokes the session, so its cookie fails from the next request on. */
static void session_sign_out(struct console *con)
{
	struct session_info info;
	enum auth_result auth;
	principal who;
	int status = DB_OK;

	auth = session_authenticate(con->db, con->app->pepper, con->req, &who, &info, &status);
	if (auth == AUTH_DB_ERROR) {
		console_db_error(con, status);
		return;
	}
	if (auth != AUTH_OK) {
		console_error(con, 401, "Not signed in, or the session has expired.", NULL);
		clear_cookie(con);
		return;
	}
	con->user_gid = who.user_gid;
	if (!info.csrf_ok) {
		log_warn("admin", "sign-out rejected: missing or wrong CSRF token", "request_id", con->req->request_id,
			 "principal", LOG_INT(who.user_gid), NULL);
		console_error(con, 403, "Missing or invalid CSRF token: send the session's token in the " CSRF_HEADER
					" header.",
			      NULL);
		return;
	}
	status = session_revoke(con->db, info.gid);
	sodium_memzero(&info, sizeof(info));
	if (status != DB_OK) {
		console_db_error(con, status);
		return;
	}
	log_info("auth", "signed out", "request_id", con->req->request_id, "user_gid", LOG_INT(who.user_gid), NULL);
	console_data(con, 200, json_object());
	clear_cookie(con);
}

static void session_endpoint(struct app *app, http_request *req, http_response *res)
{
	struct console con;
	const char *method = req->method;

	memset(&con, 0, sizeof(con));
	con.app = app;
	con.req = req;
	con.res = res;

	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "DELETE") != 0) {
		console_error(&con, 405, "Method not allowed: use GET, POST or DELETE on /admin/session.", NULL);
		http_response_add_header(res, "Allow", "GET, POST, DELETE");
		return;
	}
	if (strcmp(method, "GET") != 0 && cross_site(req)) {
		console_error(&con, 403, "Cross-site requests cannot sign in or out.", NULL);
		return;
	}

	con.db = db_acquire(app->db, app->db_timeout_ms);
	if (con.db == NULL) {
		console_db_error(&con, DB_UNAVAILABLE);
		return;
	}
	if (strcmp(method, "POST") == 0)
		session_sign_in(&con);
	else if (strcmp(method, "GET") == 0)
		session_get(&con);
	else
		session_sign_out(&con);
	db_release(app->db, con.db);
	access_log(req, res, SESSION_PATH, con.user_gid);
}

/* ---------- static files ---------- */

static void console_static(struct app *app, http_request *req, http_response *res)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_response_set_text(res, 405, JSON_TYPE,
				       "{\"errors\":[{\"message\":\"Method not allowed: the admin console's files are "
				       "read with GET or HEAD.\"}]}");
		http_response_add_header(res, "Allow", "GET, HEAD");
		return;
	}
	http_static_serve(app->web_dir ? app->web_dir : "web/admin", req->path + strlen(CONSOLE_PREFIX), req, res);
}

int app_admin_console(struct app *app, http_request *req, http_response *res)
{
	if (strcmp(req->path, "/admin") == 0) {
		http_response_set_text(res, 302, "text/plain; charset=utf-8", "See /admin/\n");
		http_response_add_header(res, "Location", CONSOLE_PREFIX);
		access_log(req, res, "/admin", 0);
		return 1;
	}
	if (strncmp(req->path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) != 0)
		return 0;
	if (strcmp(req->path, SESSION_PATH) == 0) {
		session_endpoint(app, req, res);
		return 1;
	}
	console_static(app, req, res);
	access_log(req, res, "/admin/{file}", 0);
	return 1;
}

/* ---------- PUT /workspace_memberships/{workspace_membership_gid} ---------- */

static const char *const role_names[] = { "super_admin", "admin", "member", "guest", NULL };

static const struct api_field role_fields[] = {
	{ "role", AF_ENUM, AF_REQUIRED, 0, role_names },
	{ NULL, 0, 0, 0, NULL },
};

/* The membership a role change targets, read inside the write transaction. */
struct role_target {
	int64_t user_gid;
	char role[16];
	int is_person;
	char name[256];
};

static int role_target_load(api_ctx *ctx, int64_t membership_gid, struct role_target *t)
{
	db_stmt *s = db_query(ctx->db, "SELECT m.user_gid, m.role, u.kind, u.name"
				       " FROM workspace_memberships m JOIN users u ON u.gid = m.user_gid"
				       " WHERE m.gid = ? AND m.workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, membership_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		t->user_gid = db_column_int64(s, 0);
		snprintf(t->role, sizeof(t->role), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
		t->is_person = db_column_text(s, 2) != NULL && strcmp(db_column_text(s, 2), "person") == 0;
		snprintf(t->name, sizeof(t->name), "%s", db_column_text(s, 3) ? db_column_text(s, 3) : "");
	}
	db_stmt_done(s);
	return status;
}

static int role_audit(api_ctx *ctx, int64_t membership_gid, const struct role_target *t, const char *new_role)
{
	struct audit_event event;
	json_t *details = json_object();
	int status;

	json_object_set_new(details, "old_role", json_string(t->role));
	json_object_set_new(details, "new_role", json_string(new_role));
	json_object_set_new(details, "workspace_membership_gid", api_gid(membership_gid));
	memset(&event, 0, sizeof(event));
	event.event_type = "user_role_changed";
	event.event_category = "user_access";
	event.resource_type = "user";
	event.resource_gid = t->user_gid;
	event.resource_name = t->name;
	event.details = details;
	status = api_audit(ctx, &event);
	json_decref(details);
	return status;
}

/*
 * PUT /workspace_memberships/{workspace_membership_gid} {"data": {"role": ...}}:
 * kontor's extension for changing a person's role. Only super admins (people,
 * by token or session) may change roles, but not their own. Service accounts
 * have no role, and the organization keeps at least one active super admin.
 */
static int membership_role_put(api_ctx *ctx)
{
	struct role_target target;
	const char *new_role;
	int64_t membership_gid, others = 0;
	json_t *membership;
	db_stmt *s;
	int status;

	if (api_param_gid(ctx, "workspace_membership_gid", &membership_gid))
		return 0;
	if (ctx->who.kind != PRINCIPAL_PERSON || ctx->who.role != ROLE_SUPER_ADMIN)
		return api_forbidden(ctx, "Only super admins of the organization can change roles.");
	if (api_check_body(ctx, role_fields))
		return 0;
	new_role = api_body_string(ctx, "role");

	if (api_begin_write(ctx))
		return 0;
	memset(&target, 0, sizeof(target));
	status = role_target_load(ctx, membership_gid, &target);
	if (status == DB_DONE) {
		db_rollback(ctx->db);
		return api_not_found(ctx, "workspace membership", membership_gid);
	}
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	if (target.user_gid == ctx->who.user_gid) {
		db_rollback(ctx->db);
		return api_forbidden(ctx, "You cannot change your own role; ask another super admin.");
	}
	if (!target.is_person) {
		db_rollback(ctx->db);
		return api_forbidden(ctx, "Service accounts have no role to change; edit their permissions in the "
					  "service account settings instead.");
	}

	if (strcmp(target.role, new_role) != 0) {
		if (strcmp(target.role, "super_admin") == 0) {
			status = store_org_other_super_admins(ctx->db, ctx->who.workspace_gid, target.user_gid, &others);
			if (status != DB_OK)
				return api_fail_db(ctx, status);
			if (others == 0) {
				db_rollback(ctx->db);
				return api_error(ctx, 409, "role: the organization needs at least one active super "
							   "admin; make someone else super admin first.");
			}
		}

		s = db_query(ctx->db, "UPDATE workspace_memberships SET role = ? WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR);
		db_bind_text(s, 0, new_role);
		db_bind_int64(s, 1, membership_gid);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		status = db_run(s);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
		status = role_audit(ctx, membership_gid, &target, new_role);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
		log_info("admin", "role changed", "request_id", ctx->req->request_id, "principal",
			 LOG_INT(ctx->who.user_gid), "user_gid", LOG_INT(target.user_gid), "old_role", target.role,
			 "new_role", new_role, NULL);
	}
	if (api_commit(ctx))
		return 0;

	membership = api_workspace_membership_type.load(ctx, membership_gid);
	if (membership == NULL)
		return api_fail_db(ctx, DB_ERROR);
	return api_reply(ctx, 200, api_present(ctx, &api_workspace_membership_type, membership));
}

const struct api_route api_admin_routes[] = {
	{ "PUT", "/workspace_memberships/{workspace_membership_gid}", membership_role_put, API_WRITE | API_BODY,
	  &api_workspace_membership_type },
	{ NULL, NULL, NULL, 0, NULL },
};
