/*
 * The API layer's contract: routes, the per-request context, replies in
 * Asana's envelope, request-body checks, opt_fields projection and
 * keyset pagination. Resource files (src/api/<resource>.c) each export a
 * route table and use only what is declared here, src/store/db.h and jansson.
 *
 * Handler shape: validate, load, authorize, act, respond. A handler returns
 * 0 after setting the reply with api_reply*() or api_error*(); the
 * dispatcher sends it. A write runs inside one transaction the handler opens
 * with api_begin_write() and closes with api_commit().
 */
#ifndef KONTOR_API_API_H
#define KONTOR_API_API_H

#include "auth/principal.h"
#include "http/http.h"
#include "store/db.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define API_BASE_PATH "/api/1.0"
#define API_MAX_PARAMS 4
#define API_NAME_MAX 1024        /* characters in a name (task, project, tag ...) */
#define API_TEXT_MAX 65536       /* bytes in notes, descriptions and comment text */
#define API_PAGE_LIMIT_MAX 100
#define API_UNPAGED_MAX 1000     /* results returned without `limit`; more gets a 400 that requests paging */

typedef struct api_ctx api_ctx;
struct app;
struct fields;
struct api_deferral;

typedef int (*api_handler)(api_ctx *ctx);

/*
 * A resource type as opt_fields uses it: every field name it has, which of
 * them form the compact form, and which are nested resources. `load` returns
 * the full representation of one object the caller may see (a new
 * reference), or NULL; it expands nested fields requested with dotted paths.
 */
struct api_type_ref {
	const char *field;
	const struct api_type *type;
};

struct api_type {
	const char *name; /* resource_type */
	const char *const *fields;   /* NULL-terminated, excluding gid and resource_type */
	const char *const *compact;  /* NULL-terminated, excluding gid and resource_type */
	const struct api_type_ref *refs; /* terminated by { NULL, NULL } */
	json_t *(*load)(api_ctx *ctx, int64_t gid);
};

/* Route flags. */
#define API_WRITE 0x01u    /* changes data: write limits, refused to read-only tokens */
#define API_PUBLIC 0x02u   /* no authentication */
#define API_BODY 0x04u     /* requires a body: JSON {"data": {...}} or a form (api/form.h) */
#define API_LIST 0x08u     /* returns a list: compact by default, pagination */
#define API_RAW_BODY 0x10u /* the body is not JSON: the handler reads ctx->req->body itself */
/*
 * Service-account-only routes: reachable only by a service account holding
 * the named scope or `full` (anyone else gets 403). API_PLAN_PLUS further
 * requires the plan enterprise_plus or legacy_enterprise (else 402).
 */
#define API_SCOPE_SCIM 0x20u
#define API_SCOPE_EXPORTS 0x40u
#define API_SCOPE_AUDIT_LOGS 0x80u
#define API_PLAN_PLUS 0x100u
/*
 * The body is a bare JSON object, not wrapped in {"data": ...} (SCIM's form):
 * the dispatcher parses it with the usual size and depth limits into
 * ctx->document and leaves ctx->body NULL.
 */
#define API_BARE_BODY 0x200u
/* Only super admins who are people (token or session); anyone else gets 403 before the scope check. */
#define API_SUPER_ADMIN 0x400u

struct api_route {
	const char *method;
	const char *pattern; /* below API_BASE_PATH, with {name} for a path parameter: "/tasks/{task_gid}" */
	api_handler handler;
	unsigned flags;
	const struct api_type *type; /* what the response contains, for opt_fields; NULL if none */
};

struct api_ctx {
	http_request *req;
	http_response *res;
	struct app *app;
	db_conn *db;
	principal who;
	const struct api_route *route;
	int param_count;
	const char *param_names[API_MAX_PARAMS];
	char *param_values[API_MAX_PARAMS];
	json_t *body;        /* the request's "data" object (borrowed from the parsed document), or NULL */
	json_t *document;    /* the whole parsed body; owned by the dispatcher */
	int body_form;       /* the body was a form: its values are strings until api_check_body converts them */
	struct fields *fields; /* parsed opt_fields, or NULL when absent */
	int pretty;
	struct api_deferral *deferral; /* set by api_defer; the dispatcher's */
};

/* ---------- path parameters ---------- */

/* Returns the raw value of path parameter `name` ("task_gid"), or NULL. */
const char *api_param(api_ctx *ctx, const char *name);
/*
 * Parses path parameter `name` as a gid. On failure replies 400 (not a gid)
 * and returns -1; the handler then returns 0.
 */
int api_param_gid(api_ctx *ctx, const char *name, int64_t *gid_r);

/* ---------- query parameters ---------- */

/* Returns a query parameter or NULL. */
const char *api_query(api_ctx *ctx, const char *name);
/* Parses an optional gid query parameter: 0 when absent; replies 400 and returns -1 when invalid. */
int api_query_gid(api_ctx *ctx, const char *name, int64_t *gid_r);
/* Parses an optional boolean query parameter ("true"/"false"): -1 absent, 0, 1; -2 after replying 400. */
int api_query_bool(api_ctx *ctx, const char *name);
/* Parses an optional ISO 8601 date-time query parameter into *us_r; returns 0 absent (us untouched), 1 set, -1 after 400. */
int api_query_time(api_ctx *ctx, const char *name, int64_t *us_r);

/* ---------- request body ---------- */

enum api_field_type {
	AF_STRING,      /* a JSON string; max_len bytes; control characters refused unless AF_MULTILINE */
	AF_BOOL,
	AF_INT,
	AF_GID,         /* a gid string */
	AF_GID_ARRAY,   /* an array of gid strings (or, for users, e-mail or "me"); max_len elements */
	AF_DATE,        /* "YYYY-MM-DD" */
	AF_DATETIME,    /* ISO 8601 */
	AF_ENUM,        /* a string from `values` */
	AF_ANY,         /* anything: the handler checks it */
};

/* Field flags. */
#define AF_REQUIRED 0x01u
#define AF_NULLABLE 0x02u
#define AF_MULTILINE 0x04u /* AF_STRING may contain newlines and tabs */
#define AF_USER 0x08u      /* AF_GID / AF_GID_ARRAY also accept "me" and e-mail addresses */
#define AF_FORM_LIST 0x10u /* AF_ANY that takes a string or a list: a form value is split at commas into a list */

struct api_field {
	const char *name;
	enum api_field_type type;
	unsigned flags;
	size_t max_len;                 /* AF_STRING: bytes (0 = API_NAME_MAX); AF_GID_ARRAY: elements (0 = 100) */
	const char *const *values;      /* AF_ENUM: NULL-terminated */
};

/*
 * Checks ctx->body against `fields` (terminated by { NULL }): rejects unknown
 * fields, wrong types, missing required fields, over-long or non-UTF-8 text
 * and control characters, each with a 400 naming the field and the fix.
 * A form body's string values are first converted to the fields' types
 * (form_coerce in api/form.h). Returns 0 when valid, -1 after replying. A
 * missing body counts as {}.
 */
int api_check_body(api_ctx *ctx, const struct api_field *fields);

/* Borrowed accessors for checked bodies. */
const char *api_body_string(api_ctx *ctx, const char *name); /* NULL if absent or null */
int api_body_has(api_ctx *ctx, const char *name);             /* present, even if null */
int api_body_is_null(api_ctx *ctx, const char *name);
int api_body_bool(api_ctx *ctx, const char *name, int fallback);
int64_t api_body_gid(api_ctx *ctx, const char *name);         /* 0 if absent or null */

/*
 * Resolves a user reference (gid string, "me" or an e-mail address) to a
 * user gid in the caller's organization. Returns 0 and sets *gid_r, or
 * replies 400/404 naming `field` and returns -1.
 */
int api_resolve_user(api_ctx *ctx, const char *field, const char *ref, int64_t *gid_r);

/* ---------- replies ---------- */

/* Replies {"data": data} with `status` (200, 201). Steals `data`. */
int api_reply(api_ctx *ctx, int status, json_t *data);
/* Replies 201 with {"data": data} and a Location header for the new object's path. */
int api_reply_created(api_ctx *ctx, json_t *data, const char *location_path);
/*
 * Shapes `full` with api_present and replies with `status`. A 201 gets the
 * Location <collection>/<gid>, for example "/stories". Steals `full`.
 */
int api_reply_object(api_ctx *ctx, const struct api_type *type, json_t *full, const char *collection, int64_t gid,
		     int status);
/*
 * Replies with a whole document the handler built, for replies with
 * top-level members beside data or errors (the events API's sync and
 * has_more). Steals `document`.
 */
int api_reply_document(api_ctx *ctx, int status, json_t *document);
/* Replies {"data": {}} with 200, Asana's response to deletes and actions. */
int api_reply_empty(api_ctx *ctx);

struct api_page;
/*
 * Replies {"data": items, "next_page": ...}; steals `items`. Without `limit`
 * a list contains at most API_UNPAGED_MAX objects: when more exist, the reply is
 * a 400 that requests pagination.
 */
int api_reply_list(api_ctx *ctx, json_t *items, const struct api_page *page);

/*
 * Replies {"errors": [{"message": ..., "help": ...}]}. The message should state
 * what is wrong with which field or value and what to do. Always returns 0.
 */
int api_error(api_ctx *ctx, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like api_error, with a help text of the caller's instead of the one for the status. */
int api_error_help(api_ctx *ctx, int status, const char *help, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Replies 404 "<what> not found: <gid>. Check the gid; ...". */
int api_not_found(api_ctx *ctx, const char *what, int64_t gid);
/* Replies 403 with a message. */
int api_forbidden(api_ctx *ctx, const char *why);
/*
 * Replies to a storage failure: 503 with Retry-After when the database is
 * unavailable, 409 on a constraint violation, else 500 (detail only in the
 * log, with the request id). Rolls back an open transaction. Returns 0.
 */
int api_fail_db(api_ctx *ctx, int status);

/* ---------- blocking steps off the worker threads ---------- */

#define API_DEFER_SLOTS 16 /* the largest server_max of an api_defer_limit */

/*
 * Caps on the deferred steps of one kind, shared by all requests. Define
 * one static object per kind, with the mutex set to
 * PTHREAD_MUTEX_INITIALIZER and the counters zero.
 */
struct api_defer_limit {
	const char *what;  /* plural noun for the 429 message: "webhook handshakes" */
	int server_max;    /* in flight in this process; at most API_DEFER_SLOTS */
	int principal_max; /* in flight per token, or per user for a session */
	pthread_mutex_t lock;
	int in_flight;
	struct {
		int64_t key;
		int count; /* 0: a free slot */
	} slots[API_DEFER_SLOTS];
};

/* The blocking part: runs on a helper thread with no ctx and no database. See http_work_fn for `stopping`. */
typedef void (*api_blocking_fn)(void *arg, const volatile int *stopping);
/* The rest of the handler after the blocking part: replies as a handler does, and returns 0. */
typedef int (*api_resume_fn)(api_ctx *ctx, void *arg);

struct api_defer {
	struct api_defer_limit *limit;
	int retry_after_s;       /* Retry-After of the 429: about how long one step may take */
	api_blocking_fn work;
	api_resume_fn resume;
	void (*free_arg)(void *arg);
	void *arg;
};

/*
 * Runs step->work off the worker thread, then step->resume as the rest of
 * this request, so a step that blocks for seconds holds no worker thread.
 * A handler calls it last, after validation, and returns 0 without a
 * reply when it returns 0. The dispatcher then releases what the request
 * holds (database connection, parsed body, path parameters, opt_fields),
 * keeping only its rate-limit place, and resume gets a fresh ctx: a
 * database connection, the caller authenticated again (a token revoked
 * meanwhile gets 401) and opt_fields, but no body or path parameters, so
 * `arg` carries what resume needs. Returns 0, or -1 after replying 429
 * (step->limit reached, with Retry-After) or 503 (no helper thread free).
 * api_defer owns `arg` from the call on and calls free_arg exactly once,
 * also when the client disconnects during the step.
 */
int api_defer(api_ctx *ctx, const struct api_defer *step);

/* ---------- transactions ---------- */

int api_begin_write(api_ctx *ctx); /* 0, or -1 after replying */
int api_commit(api_ctx *ctx);      /* 0, or -1 after replying */

/* ---------- representation ---------- */

/* Sets "gid" and "resource_type" on a new object and returns it. */
json_t *api_object_new(const char *resource_type, int64_t gid);
/* A compact reference {gid, resource_type, name}; returns json null for gid 0. */
json_t *api_ref(const char *resource_type, int64_t gid, const char *name);
/* Formats a time (microseconds) as ISO 8601, or json null for 0. */
json_t *api_time(int64_t us);
/* json string or null. */
json_t *api_string_or_null(const char *text);
/* gid as a JSON string. */
json_t *api_gid(int64_t gid);

/*
 * Shapes a full representation for the reply: with opt_fields, keeps gid,
 * resource_type and the requested fields (expanding nested ones through
 * their type's load); without, keeps the compact fields when the route is a
 * list and everything otherwise. Steals `full`, returns a new reference.
 */
json_t *api_present(api_ctx *ctx, const struct api_type *type, json_t *full);
/* 1 if opt_fields requests `field` of the top-level object (or there is no opt_fields and the route is not a list). */
int api_wants(api_ctx *ctx, const char *field);

/* ---------- pagination ---------- */

/*
 * Keyset pagination: `after` is the sort key of the last row returned (gid,
 * or a position and a gid). Handlers read one more row than `limit` to learn
 * whether a next page exists, then call api_page_next with the key of the
 * last row they return.
 */
struct api_page {
	int limit;          /* rows for this page */
	int paged;          /* the caller sent `limit` */
	int64_t after;      /* 0: from the start */
	int64_t after2;     /* second key component, for (position, gid) orders */
	int has_next;
	int64_t next_after;
	int64_t next_after2;
	int stream;         /* api_page_parse_stream: offsets bound to the path only */
};

/* Reads `limit` and `offset`; replies 400 on invalid, forged or expired values and returns -1. */
int api_page_parse(api_ctx *ctx, struct api_page *page);
/*
 * Like api_page_parse for a stream that a client polls with its last offset
 * (the audit log): these offsets never expire, so a poller may resume after
 * any pause.
 */
int api_page_parse_stream(api_ctx *ctx, struct api_page *page);
/*
 * Called with the number of rows fetched (up to limit + 1). Returns the
 * number of rows to emit; if more exist, remembers the key of the last one
 * emitted, which the handler passes in through next_after / next_after2.
 * Usage: fetch limit+1 rows; for each row i < api_page_rows(page, fetched), emit.
 */
int api_page_rows(struct api_page *page, int fetched);

/* ---------- absolute URLs ---------- */

#define API_BASE_URL_MAX 320 /* bytes for api_base_url's buffer, NUL included */

/*
 * Writes the server's base URL, such as "https://kontor.example.com" (no
 * trailing slash), into `buf` and returns `buf`. It is app->public_url when
 * set. Otherwise it is built from the request: https on TLS (or, with
 * app->trust_proxy, when X-Forwarded-Proto is https), and the Host header
 * when it is a valid host[:port], else "localhost". Every absolute URL in a
 * response starts with it. Defined in urls.c.
 */
char *api_base_url(api_ctx *ctx, char *buf, size_t len);
/*
 * Checks a --public-url value: http:// or https://, a host, an optional
 * port, and nothing after but one optional slash. Returns 0, or -1 with a
 * message in `err`.
 */
int api_public_url_check(const char *url, char *err, size_t errlen);

/* ---------- authorization helpers (visibility rules) ---------- */

int api_is_full_access(const api_ctx *ctx); /* a service account with `full` or `read` */
/* 1 when the caller is a guest, whose lists are narrowed to what it was added to (Asana's guest rule). */
int api_caller_is_guest(const api_ctx *ctx);
/*
 * Visibility checks. Each returns 1 if the caller may see the object, 0 if
 * not, and -1 when storage failed (reply with api_fail_db). *exists_r is set
 * when the object exists in the caller's organization.
 */
/* Projects: public ones to non-guests, private_to_team ones to team members, any to project members. */
int api_can_see_project(api_ctx *ctx, int64_t project_gid, int *exists_r);
/* Tasks: through a visible project or parent, or as assignee, follower or creator. */
int api_can_see_task(api_ctx *ctx, int64_t task_gid, int *exists_r);
/* Teams: public or request_to_join ones to non-guests, any to team members. */
int api_can_see_team(api_ctx *ctx, int64_t team_gid, int *exists_r);
/* 1 if the user belongs to the caller's organization (active or not). */
int api_user_in_org(api_ctx *ctx, int64_t user_gid);
/*
 * Checks that a user is an active member of the caller's organization, as
 * assignees, followers and project members must be: a person removed from
 * the organization or deprovisioned is not. Returns 0, or -1 after replying
 * 400 naming `field` (or 500 when storage failed).
 */
int api_require_active_member(api_ctx *ctx, const char *field, int64_t user_gid);

/* ---------- audit log ---------- */

struct audit_event;
/*
 * Appends an audit record inside the caller's open transaction, filling in
 * the workspace, the actor and the request context (authentication method,
 * client IP, user agent, token) from ctx. Returns a db status.
 */
int api_audit(api_ctx *ctx, struct audit_event *event);
/*
 * Appends an audit record about one resource with api_audit: the shorthand
 * for the common case. `details` is borrowed and may be NULL. Returns a db
 * status. Defined in audit_log.c.
 */
int api_audit_resource(api_ctx *ctx, const char *event_type, const char *event_category, const char *resource_type,
		       int64_t resource_gid, const char *resource_name, json_t *details);

/* ---------- change events ---------- */

struct change_event;
/*
 * Appends a change event (store/events.h) inside the caller's open write
 * transaction, filling in the organization and, when unset, the acting
 * user from ctx. Feeds the events API and webhooks. Returns a db status.
 */
int api_event(api_ctx *ctx, struct change_event *event);

/* ---------- shared writes ---------- */

/*
 * Records a system story ("assigned", "marked_complete", "name_changed",
 * "section_changed", "added_to_project" ...) on a task, authored by the
 * caller, inside the caller's open transaction. Returns a db status.
 */
int api_story_add_system(api_ctx *ctx, int64_t task_gid, const char *resource_subtype, const char *text);
/*
 * Like api_story_add_system for a story whose text names project
 * `project_gid` or its sections. Readers who cannot see that project get
 * the story with a text that leaves the names out.
 */
int api_story_add_system_project(api_ctx *ctx, int64_t task_gid, const char *resource_subtype, const char *text,
				 int64_t project_gid);

/* Formats a gid into a caller's buffer of GID_STRING_MAX bytes. */
#define API_GID_BUF 21

/* ---------- route tables, one per resource file ---------- */

extern const struct api_route api_users_routes[];
extern const struct api_route api_workspaces_routes[];
extern const struct api_route api_teams_routes[];
extern const struct api_route api_projects_routes[];
extern const struct api_route api_sections_routes[];
extern const struct api_route api_tasks_routes[];
extern const struct api_route api_stories_routes[];
extern const struct api_route api_tags_routes[];
extern const struct api_route api_service_accounts_routes[];
extern const struct api_route api_photos_routes[];
extern const struct api_route api_admin_routes[];
extern const struct api_route api_audit_log_routes[];
extern const struct api_route api_status_updates_routes[];
/* SCIM 2.0 under /scim (scim_discovery.c, scim_users.c, scim_groups.c) and its settings (scim_settings.c). */
extern const struct api_route api_scim_routes[];
extern const struct api_route api_scim_users_routes[];
extern const struct api_route api_scim_groups_routes[];
extern const struct api_route api_scim_settings_routes[];
extern const struct api_route api_events_routes[];
extern const struct api_route api_webhooks_routes[];
extern const struct api_route api_organization_exports_routes[];
extern const struct api_route api_typeahead_routes[];

/* Resource types, defined beside their routes. */
extern const struct api_type api_user_type;
extern const struct api_type api_workspace_type;
extern const struct api_type api_workspace_membership_type;
extern const struct api_type api_division_type;
extern const struct api_type api_team_type;
extern const struct api_type api_team_membership_type;
extern const struct api_type api_project_type;
extern const struct api_type api_project_membership_type;
extern const struct api_type api_section_type;
extern const struct api_type api_task_type;
extern const struct api_type api_story_type;
extern const struct api_type api_tag_type;
extern const struct api_type api_status_update_type;
extern const struct api_type api_event_type;
extern const struct api_type api_webhook_type;
extern const struct api_type api_organization_export_type;

#endif
