/*
 * SCIM 2.0 (RFC 7643 schema, RFC 7644 protocol) as the files of the SCIM
 * endpoints share it: replies and errors in SCIM's JSON form with the media
 * type application/scim+json, bodies without Asana's {"data": ...} wrapper,
 * meta and weak ETags, If-Match, startIndex/count paging and the subset of
 * the filter language kontor supports. scim.c holds these helpers and the
 * discovery endpoints, scim_users.c maps Users to the organization's people,
 * scim_groups.c maps Groups to teams, and scim_settings.c holds the super
 * admin's setting for deprovisioning.
 */
#ifndef KONTOR_API_SCIM_H
#define KONTOR_API_SCIM_H

#include "api/api.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SCIM_PATH "/scim"
#define SCIM_SCHEMA_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_SCHEMA_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_SCHEMA_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
/* The extension URN Microsoft Entra ID lists in the groups it creates. */
#define SCIM_SCHEMA_ENTRA_GROUP "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
#define SCIM_SCHEMA_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_SCHEMA_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_SCHEMA_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

#define SCIM_COUNT_MAX 100      /* resources in one list page, announced as filter.maxResults */
#define SCIM_FILTER_TERMS_MAX 4 /* comparisons joined by `and` in one filter */
#define SCIM_VALUE_MAX 512      /* bytes in one filter value or external id */
#define SCIM_PATCH_OPS_MAX 100  /* operations in one PATCH request */
#define SCIM_ETAG_MAX 40        /* W/"<32 hex digits>" and a NUL */

/*
 * Replies with a SCIM error (RFC 7644 section 3.12): status as a string,
 * scimType when not NULL, and the formatted detail. Drops headers set
 * before. Returns 0.
 */
int scim_error(api_ctx *ctx, int status, const char *scim_type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Like scim_error with a finished detail text; the dispatcher calls it for every error under /scim. */
void scim_error_text(api_ctx *ctx, int status, const char *scim_type, const char *detail);
/* 1 when the request's path is under /api/1.0/scim. */
int scim_is_request(const api_ctx *ctx);

/* Replies `document` (stolen) as application/scim+json with `status`. Returns 0. */
int scim_reply(api_ctx *ctx, int status, json_t *document);
/*
 * Replies one resource (stolen) that carries meta (scim_meta_set): an ETag
 * header with meta.version, a Location header on 201, and the attributes
 * and excludedAttributes query parameters applied. Answers 304 without a
 * body when If-None-Match names the current version of a GET. Returns 0.
 */
int scim_reply_resource(api_ctx *ctx, int status, json_t *resource);
/* Replies 204 No Content. Returns 0. */
int scim_reply_no_content(api_ctx *ctx);

/*
 * Writes the absolute URL of a SCIM resource ("https://host/api/1.0/scim/Users/123")
 * into `buf`, or of the collection when gid is 0. Returns buf.
 */
char *scim_location(api_ctx *ctx, const char *collection, int64_t gid, char *buf, size_t len);
/*
 * Adds meta to `resource`: resourceType, created, lastModified, location and
 * version, a weak ETag computed from the resource's attributes as they are
 * when called, so any change of a returned attribute changes it.
 */
void scim_meta_set(api_ctx *ctx, json_t *resource, const char *resource_type, const char *collection, int64_t gid,
		   int64_t created_us, int64_t modified_us);
/* Borrowed meta.version of a resource, or "". */
const char *scim_version_of(json_t *resource);
/*
 * Checks If-Match against the current version `etag`: a missing header or
 * "*" passes, as does any listed tag equal to it (weak comparison). Replies
 * 412 and returns -1 on a mismatch.
 */
int scim_if_match(api_ctx *ctx, const char *etag);

/* ---------- request bodies ---------- */

/*
 * Checks the Content-Type of a request with a body: application/scim+json
 * (RFC 7644 section 3.1) or application/json, with any parameters. Replies
 * 415 in SCIM form and returns -1 for any other type or none; the
 * dispatcher calls it before parsing a SCIM body.
 */
int scim_content_type_check(api_ctx *ctx);
/* Returns the parsed body object (borrowed), or replies 400 invalidSyntax and returns NULL. */
json_t *scim_body(api_ctx *ctx);
/* Case-insensitive member lookup: SCIM attribute names are case-insensitive (RFC 7643 section 2.1). Borrowed. */
json_t *scim_get(json_t *object, const char *name);
/*
 * Checks that the body's "schemas" array lists `urn` and no URN other than
 * `urn`, the enterprise extension for users and Entra ID's group URN for
 * groups. Replies 400 invalidSyntax
 * and returns -1 otherwise.
 */
int scim_require_schema(api_ctx *ctx, json_t *body, const char *urn);
/*
 * Reads a boolean: JSON true/false, or the strings "true"/"false" in any case
 * (Microsoft Entra ID sends "False"). Returns 0, or -1 when it is neither.
 */
int scim_bool(json_t *value, int *out);
/*
 * Checks a string attribute: a JSON string of at most `max` bytes without
 * control characters. Sets *text_r (borrowed). Replies 400 invalidValue
 * naming `attribute` and returns -1 otherwise.
 */
int scim_string(api_ctx *ctx, json_t *value, const char *attribute, size_t max, const char **text_r);
/* Parses path parameter `name` as a resource id; replies 404 naming `what` and returns -1 when it is none. */
int scim_id_param(api_ctx *ctx, const char *name, const char *what, int64_t *gid_r);

/* ---------- PATCH ---------- */

enum scim_patch_op { SCIM_OP_ADD, SCIM_OP_REPLACE, SCIM_OP_REMOVE };

/* Reads an op name in any case (Entra ID sends "Replace"). Returns -1 when it is none of add, replace, remove. */
int scim_patch_op_parse(json_t *value);
/*
 * Checks that a PATCH body lists the PatchOp schema and carries an array of
 * 1 to SCIM_PATCH_OPS_MAX Operations. Returns that array (borrowed), or
 * replies 400 and returns NULL.
 */
json_t *scim_patch_operations(api_ctx *ctx, json_t *body);

/* ---------- lists ---------- */

/* startIndex (1-based) and count, clamped as RFC 7644 section 3.4.2.4 says. */
struct scim_page {
	int64_t start_index;
	int count;
};

/* Reads startIndex and count; replies 400 invalidValue and returns -1 when they are not integers. */
int scim_page_parse(api_ctx *ctx, struct scim_page *page);
/* Replies a ListResponse with `resources` (stolen, each already carrying meta). Returns 0. */
int scim_reply_list(api_ctx *ctx, json_t *resources, int64_t total, const struct scim_page *page);

/* ---------- filters ---------- */

/*
 * One attribute a resource type can be filtered on, with a path that names
 * it, spelled as in the schema (paths compare case-insensitively).
 */
struct scim_filter_attr {
	const char *path;
	int id;
};

struct scim_filter_term {
	int id;
	json_t *value; /* owned */
};

/* A conjunction of `eq` comparisons. `never` is set when two terms on one attribute disagree. */
struct scim_filter {
	int count;
	int never;
	struct scim_filter_term terms[SCIM_FILTER_TERMS_MAX];
};

/*
 * Parses the `filter` query parameter: comparisons `ATTR eq VALUE` joined
 * by `and`, where ATTR is one of `attrs` (terminated by { NULL, 0 }) and a
 * `members[value eq "X"]` form counts as members.value eq "X". An absent
 * filter gives an empty one. Replies 400 invalidFilter naming the problem
 * and returns -1 on anything else. The caller frees with scim_filter_free.
 */
int scim_filter_parse(api_ctx *ctx, const struct scim_filter_attr *attrs, struct scim_filter *filter);
void scim_filter_free(struct scim_filter *filter);
/* The value of the term on attribute `id` (borrowed), or NULL when the filter has none. */
json_t *scim_filter_value(const struct scim_filter *filter, int id);
/*
 * Binds a filter term on a resource id to parameters `index` and
 * `index + 1` (the `(CAST(? AS BIGINT) IS NULL OR col = ?)` form): NULL
 * when the filter has no such term, -1 (never a gid, so nothing matches)
 * when its value is not a gid.
 */
void scim_filter_bind_gid(db_stmt *s, int index, json_t *value);
/* Binds a resource type's filter terms from parameter `first` on, in the order of its SQL. */
typedef void scim_filter_binder(db_stmt *s, int first, const struct scim_filter *filter);
/*
 * Runs `count_sql` (a `SELECT count(*)` over the caller's organization,
 * bound as parameter 0, and the filter bound by `bind` from 1 on) for a
 * ListResponse's totalResults. Returns DB_OK with *total_r set, or the
 * failed db status.
 */
int scim_list_total(api_ctx *ctx, const char *count_sql, scim_filter_binder *bind, const struct scim_filter *filter,
		    int64_t *total_r);

/* ---------- audit and shared writes ---------- */

/*
 * Appends an audit record (category user_access) about a user or team
 * inside the open transaction, with the calling service account as actor.
 * Borrows `details` (NULL writes {}). Returns a db status.
 */
int scim_audit(api_ctx *ctx, const char *event_type, const char *resource_type, int64_t gid, const char *name,
	       json_t *details);
/* Rolls back the open transaction, if any, before a reply that is not a storage failure. */
void scim_rollback(api_ctx *ctx);

#endif
