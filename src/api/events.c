/*
 * The events API: GET /events?resource=GID&sync=TOKEN (Asana's) and
 * GET /workspaces/{workspace_gid}/events (kontor's own, for service
 * accounts). Both read the change log of store/events.h: a stream on one
 * resource reads the events filed under it in event_targets, the workspace
 * stream reads every event of the organization. A sync token carries the
 * last seq its reader has seen, its resource and organization, and the time
 * it was issued. A keyed BLAKE2b MAC covers all of it, so a forged, foreign
 * or expired token gets 412 with a fresh token, never a silent gap.
 */
#include "api/api.h"
#include "api/app.h"
#include "auth/visibility.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PAGE_MAX 100           /* events per call on a resource, as Asana caps it */
#define EVENTS_WORKSPACE_MAX 1000     /* events per call on the workspace stream */
#define SYNC_TTL_US_DEFAULT (24LL * 3600 * 1000000)
#define SYNC_VERSION 1
#define SYNC_PAYLOAD_BYTES (1 + 8 + 8 + 8 + 8)
#define SYNC_MAC_BYTES 16
#define SYNC_TOKEN_CHARS 96
/* Separates sync-token MACs from pagination-offset MACs, which use the same key. */
#define SYNC_MAC_CONTEXT "kontor events sync v1"

struct sync_token {
	int64_t issued_us;
	int64_t workspace_gid;
	int64_t resource_gid; /* the workspace gid for the workspace stream */
	int64_t seq;          /* the last event the reader has seen */
};

/* ---------- sync tokens ---------- */

static void put64(unsigned char *p, int64_t value)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)value >> (56 - 8 * i));
}

static int64_t get64(const unsigned char *p)
{
	uint64_t value = 0;

	for (int i = 0; i < 8; i++)
		value = (value << 8) | p[i];
	return (int64_t)value;
}

/*
 * Token lifetime: 24 hours, as Asana's. KONTOR_EVENT_SYNC_TTL_SECONDS
 * shortens it (1 to 86400), which tests use to see tokens expire.
 */
static int64_t sync_ttl_us(void)
{
	const char *env = getenv("KONTOR_EVENT_SYNC_TTL_SECONDS");
	char *end = NULL;
	long seconds;

	if (env == NULL || *env == '\0')
		return SYNC_TTL_US_DEFAULT;
	errno = 0;
	seconds = strtol(env, &end, 10);
	if (errno != 0 || *end != '\0' || seconds < 1 || seconds > 86400)
		return SYNC_TTL_US_DEFAULT;
	return seconds * 1000000LL;
}

static void sync_mac(const unsigned char *key, const unsigned char *payload, unsigned char *mac)
{
	crypto_generichash_state state;

	crypto_generichash_init(&state, key, APP_KEY_BYTES, SYNC_MAC_BYTES);
	crypto_generichash_update(&state, (const unsigned char *)SYNC_MAC_CONTEXT, strlen(SYNC_MAC_CONTEXT));
	crypto_generichash_update(&state, payload, SYNC_PAYLOAD_BYTES);
	crypto_generichash_final(&state, mac, SYNC_MAC_BYTES);
}

/* Returns a new JSON string holding a token for `resource_gid` at `seq`, issued now. */
static json_t *sync_encode(api_ctx *ctx, int64_t resource_gid, int64_t seq)
{
	unsigned char raw[SYNC_PAYLOAD_BYTES + SYNC_MAC_BYTES];
	char text[SYNC_TOKEN_CHARS + 1];

	raw[0] = SYNC_VERSION;
	put64(raw + 1, time_now_us());
	put64(raw + 9, ctx->who.workspace_gid);
	put64(raw + 17, resource_gid);
	put64(raw + 25, seq);
	sync_mac(ctx->app->page_key, raw, raw + SYNC_PAYLOAD_BYTES);
	sodium_bin2base64(text, sizeof(text), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return json_string(text);
}

/*
 * Decodes and checks a token: its MAC, its organization and resource, and
 * its age. Returns 0 when it is valid for this stream, -1 otherwise.
 */
static int sync_decode(api_ctx *ctx, const char *text, int64_t resource_gid, struct sync_token *token)
{
	unsigned char raw[SYNC_PAYLOAD_BYTES + SYNC_MAC_BYTES], mac[SYNC_MAC_BYTES];
	size_t raw_len = 0, len = strlen(text);

	if (len > SYNC_TOKEN_CHARS)
		return -1;
	if (sodium_base642bin(raw, sizeof(raw), text, len, NULL, &raw_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	if (raw_len != sizeof(raw) || raw[0] != SYNC_VERSION)
		return -1;
	sync_mac(ctx->app->page_key, raw, mac);
	if (sodium_memcmp(mac, raw + SYNC_PAYLOAD_BYTES, SYNC_MAC_BYTES) != 0)
		return -1;
	token->issued_us = get64(raw + 1);
	token->workspace_gid = get64(raw + 9);
	token->resource_gid = get64(raw + 17);
	token->seq = get64(raw + 25);
	if (token->workspace_gid != ctx->who.workspace_gid || token->resource_gid != resource_gid)
		return -1;
	if (time_now_us() - token->issued_us > sync_ttl_us() || token->seq < 0)
		return -1;
	return 0;
}

/* Returns the organization's last event number in this request's snapshot, or -1 on a db error. */
static int64_t last_seq(api_ctx *ctx, int *status_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT last_seq FROM event_counters WHERE workspace_gid = ?");
	int64_t seq = 0;
	int status;

	if (s == NULL) {
		*status_r = DB_ERROR;
		return -1;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		seq = db_column_int64(s, 0);
	db_stmt_done(s);
	*status_r = (status == DB_ROW || status == DB_DONE) ? DB_OK : status;
	return seq;
}

/*
 * 1 when events after `seq` were pruned, so a reader at `seq` would miss
 * some: the oldest kept event lies further on, or none is kept although
 * newer ones were written. 0 when nothing is missing, -1 on a db error.
 */
static int has_gap(api_ctx *ctx, int64_t seq, int64_t newest)
{
	db_stmt *s = db_query(ctx->db, "SELECT MIN(seq) FROM events WHERE workspace_gid = ?");
	int64_t oldest = 0;
	int status, found = 0;

	if (s == NULL)
		return -1;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW && !db_column_is_null(s, 0)) {
		oldest = db_column_int64(s, 0);
		found = 1;
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return -1;
	if (found)
		return oldest > seq + 1;
	return newest > seq;
}

/* Replies 412 with a fresh token at the current end of the stream, in Asana's shape. */
static int reply_sync_required(api_ctx *ctx, int64_t resource_gid, const char *message)
{
	json_t *document, *error;
	int64_t seq;
	int status;

	seq = last_seq(ctx, &status);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	error = json_object();
	json_object_set_new(error, "message", json_string(message));
	json_object_set_new(error, "help", json_string("Fetch the full data set for this resource now, then pass the "
							 "`sync` value of this response on the next call."));
	document = json_object();
	json_object_set_new(document, "errors", json_pack("[o]", error));
	json_object_set_new(document, "sync", sync_encode(ctx, resource_gid, seq));
	return api_reply_document(ctx, 412, document);
}

/*
 * Reads the sync parameter. Returns 0 with *token set when it is valid and
 * nothing after it was pruned, or -1 after replying (412, or an error).
 */
static int read_sync(api_ctx *ctx, int64_t resource_gid, struct sync_token *token)
{
	/* The server leaves %00 undecoded (http/server.c), so the value holds no NUL byte to cut it short. */
	const char *text = http_request_query(ctx->req, "sync");
	int64_t newest;
	int status, gap;

	if (text == NULL || *text == '\0') {
		reply_sync_required(ctx, resource_gid, "Sync token missing. Use the `sync` value of this response "
						       "on the next call to receive the events after now.");
		return -1;
	}
	if (sync_decode(ctx, text, resource_gid, token) != 0) {
		reply_sync_required(ctx, resource_gid,
				    "Sync token invalid or too old (tokens last 24 hours and belong to one resource). "
				    "Fetch the full data set for this query now and use the new sync token for the "
				    "next call.");
		return -1;
	}
	newest = last_seq(ctx, &status);
	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	gap = has_gap(ctx, token->seq, newest);
	if (gap < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (gap || token->seq > newest) {
		reply_sync_required(ctx, resource_gid,
				    "Sync token too old: events after it were pruned. Fetch the full data set for this "
				    "query now and use the new sync token for the next call.");
		return -1;
	}
	return 0;
}

/* ---------- presenting one event ---------- */

/* The name of a resource, or NULL (a story, a deleted object, an unknown type). The caller frees it. */
static char *resource_name(api_ctx *ctx, const char *type, int64_t gid)
{
	static const struct {
		const char *type;
		const char *sql;
	} tables[] = {
		{ "task", "SELECT name FROM tasks WHERE gid = ? AND workspace_gid = ?" },
		{ "project", "SELECT name FROM projects WHERE gid = ? AND workspace_gid = ?" },
		{ "section", "SELECT name FROM sections WHERE gid = ? AND workspace_gid = ?" },
		{ "tag", "SELECT name FROM tags WHERE gid = ? AND workspace_gid = ?" },
		{ "team", "SELECT name FROM teams WHERE gid = ? AND workspace_gid = ?" },
		{ "user", "SELECT u.name FROM users u JOIN workspace_memberships m ON m.user_gid = u.gid"
			  " WHERE u.gid = ? AND m.workspace_gid = ?" },
		{ "workspace", "SELECT name FROM workspaces WHERE gid = ? AND gid = ?" },
	};
	char *name = NULL;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		db_stmt *s;

		if (strcmp(tables[i].type, type) != 0)
			continue;
		s = db_query(ctx->db, tables[i].sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		if (db_step(s) == DB_ROW && db_column_text(s, 0) != NULL)
			name = strdup(db_column_text(s, 0));
		db_stmt_done(s);
		break;
	}
	return name;
}

/* A compact reference, with the name when the resource has one and still exists; `subtype` may be NULL. */
static json_t *named_ref(api_ctx *ctx, const char *type, int64_t gid, const char *subtype)
{
	json_t *ref = api_object_new(type, gid);
	char *name = resource_name(ctx, type, gid);

	/* A story has no name, and a deleted resource's name is gone; the spec's name is never null, so it is left out. */
	if (name != NULL)
		json_object_set_new(ref, "name", json_string(name));
	if (subtype != NULL)
		json_object_set_new(ref, "resource_subtype", json_string(subtype));
	free(name);
	return ref;
}

/* Column order of EVENT_COLUMNS, shared by both streams' queries. */
enum {
	COL_SEQ, COL_CREATED, COL_ACTOR, COL_TYPE, COL_SUBTYPE, COL_GID, COL_ACTION, COL_PARENT_TYPE, COL_PARENT_GID,
	COL_FIELD, COL_CHANGE_ACTION, COL_VALUE_TYPE, COL_VALUE_GID,
};

/* Builds an event from the current row, in the shape of Asana's EventResponse. */
static json_t *event_json(api_ctx *ctx, db_stmt *s)
{
	json_t *event = json_object();
	const char *type = db_column_text(s, COL_TYPE);
	const char *action = db_column_text(s, COL_ACTION);
	int64_t actor = db_column_is_null(s, COL_ACTOR) ? 0 : db_column_int64(s, COL_ACTOR);

	json_object_set_new(event, "user", actor ? named_ref(ctx, "user", actor, NULL) : json_null());
	json_object_set_new(event, "resource",
			    named_ref(ctx, type, db_column_int64(s, COL_GID), db_column_text(s, COL_SUBTYPE)));
	json_object_set_new(event, "type", json_string(type));
	json_object_set_new(event, "action", json_string(action));
	/*
	 * Asana sends "parent": null on events other than added and removed, but
	 * its OpenAPI schema does not allow null there, so the key is left out.
	 */
	if (!db_column_is_null(s, COL_PARENT_GID) && db_column_text(s, COL_PARENT_TYPE) != NULL)
		json_object_set_new(event, "parent", named_ref(ctx, db_column_text(s, COL_PARENT_TYPE),
							       db_column_int64(s, COL_PARENT_GID), NULL));
	json_object_set_new(event, "created_at", api_time(db_column_int64(s, COL_CREATED)));

	/* change is present only on changed events; the value key follows how the field changed. */
	if (strcmp(action, "changed") == 0 && db_column_text(s, COL_FIELD) != NULL) {
		const char *change_action = db_column_text(s, COL_CHANGE_ACTION);
		json_t *change = json_object();

		if (change_action == NULL)
			change_action = "changed";
		json_object_set_new(change, "field", json_string(db_column_text(s, COL_FIELD)));
		json_object_set_new(change, "action", json_string(change_action));
		if (db_column_text(s, COL_VALUE_TYPE) != NULL && !db_column_is_null(s, COL_VALUE_GID)) {
			const char *key = strcmp(change_action, "added") == 0	  ? "added_value"
					  : strcmp(change_action, "removed") == 0 ? "removed_value"
										  : "new_value";

			json_object_set_new(change, key, named_ref(ctx, db_column_text(s, COL_VALUE_TYPE),
								   db_column_int64(s, COL_VALUE_GID), NULL));
		} else if (strcmp(change_action, "changed") == 0 && db_column_text(s, COL_VALUE_TYPE) != NULL) {
			/* A resource field set to nothing: the assignee cleared, the parent removed. */
			json_object_set_new(change, "new_value", json_null());
		}
		json_object_set_new(event, "change", change);
	}
	return event;
}

/* ---------- visibility ---------- */

/*
 * 1 when the caller may see every resource the event on the current row
 * names, by the rules webhook deliveries also apply (auth/visibility.h).
 */
static int event_visible(api_ctx *ctx, db_stmt *s)
{
	struct visibility_event event = {
		.action = db_column_text(s, COL_ACTION),
		.resource_type = db_column_text(s, COL_TYPE),
		.resource_gid = db_column_int64(s, COL_GID),
		.parent_type = db_column_text(s, COL_PARENT_TYPE),
		.parent_gid = db_column_is_null(s, COL_PARENT_GID) ? 0 : db_column_int64(s, COL_PARENT_GID),
		.value_type = db_column_text(s, COL_VALUE_TYPE),
		.value_gid = db_column_is_null(s, COL_VALUE_GID) ? 0 : db_column_int64(s, COL_VALUE_GID),
	};

	return visibility_event_check(ctx->db, &ctx->who, &event);
}

/*
 * Finds which resource `gid` is and whether the caller may see it: tasks,
 * projects, sections, tags and teams have streams. Returns 1 visible, 0 not
 * found or not visible, -1 on a db error.
 */
static int stream_visible(api_ctx *ctx, int64_t gid)
{
	static const struct {
		const char *type;
		const char *sql;
	} kinds[] = {
		{ "task", "SELECT 1 FROM tasks WHERE gid = ? AND workspace_gid = ?" },
		{ "project", "SELECT 1 FROM projects WHERE gid = ? AND workspace_gid = ?" },
		{ "section", "SELECT 1 FROM sections WHERE gid = ? AND workspace_gid = ?" },
		{ "tag", "SELECT 1 FROM tags WHERE gid = ? AND workspace_gid = ?" },
		{ "team", "SELECT 1 FROM teams WHERE gid = ? AND workspace_gid = ?" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		db_stmt *s = db_query(ctx->db, kinds[i].sql);
		int status;

		if (s == NULL)
			return -1;
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		status = db_step(s);
		db_stmt_done(s);
		if (status == DB_ROW)
			return visibility_resource(ctx->db, &ctx->who, kinds[i].type, gid) == 1 ? 1 : 0;
		if (status != DB_DONE)
			return -1;
	}
	return 0;
}

/* ---------- handlers ---------- */

#define EVENT_COLUMNS                                                                                         \
	"e.seq, e.created_at, e.actor_gid, e.resource_type, e.resource_subtype, e.resource_gid, e.action,"    \
	" e.parent_type, e.parent_gid, e.change_field, e.change_action, e.value_type, e.value_gid"

/*
 * Runs the prepared query `s` (bound to fetch max + 1 rows after the token)
 * and replies {data, sync, has_more}; `filter` leaves out events the caller
 * may not see. The new token is at the last event read, shown or not.
 */
static int reply_events(api_ctx *ctx, db_stmt *s, int max, int filter, int64_t resource_gid, int64_t seq)
{
	json_t *items = json_array(), *document;
	int count = 0, status, has_more = 0;

	while ((status = db_step(s)) == DB_ROW) {
		int visible = 1;

		if (count == max) {
			has_more = 1;
			break;
		}
		count++;
		seq = db_column_int64(s, COL_SEQ);
		if (filter)
			visible = event_visible(ctx, s);
		if (visible < 0) {
			status = DB_ERROR;
			break;
		}
		if (visible)
			json_array_append_new(items, api_present(ctx, &api_event_type, event_json(ctx, s)));
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}

	document = json_object();
	json_object_set_new(document, "data", items);
	json_object_set_new(document, "sync", sync_encode(ctx, resource_gid, seq));
	json_object_set_new(document, "has_more", json_boolean(has_more));
	return api_reply_document(ctx, 200, document);
}

/* GET /events?resource=GID&sync=TOKEN */
static int get_events(api_ctx *ctx)
{
	struct sync_token token;
	int64_t resource_gid;
	db_stmt *s;
	int visible;

	if (api_query_gid(ctx, "resource", &resource_gid))
		return 0;
	if (resource_gid == 0)
		return api_error(ctx, 400, "resource: missing input. Pass the gid of a task, project, section, tag "
					   "or team as the `resource` query parameter.");

	visible = stream_visible(ctx, resource_gid);
	if (visible < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (visible == 0)
		return api_not_found(ctx, "resource", resource_gid);
	if (read_sync(ctx, resource_gid, &token))
		return 0;

	s = db_query(ctx->db, "SELECT " EVENT_COLUMNS " FROM event_targets t"
			      " JOIN events e ON e.workspace_gid = t.workspace_gid AND e.seq = t.seq"
			      " WHERE t.target_gid = ? AND t.workspace_gid = ? AND t.seq > ? ORDER BY t.seq LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, resource_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, token.seq);
	db_bind_int64(s, 3, EVENTS_PAGE_MAX + 1);
	return reply_events(ctx, s, EVENTS_PAGE_MAX, 1, resource_gid, token.seq);
}

/* GET /workspaces/{workspace_gid}/events?sync=TOKEN&limit=N: every change, for service accounts. */
static int get_workspace_events(api_ctx *ctx)
{
	const char *limit_text = api_query(ctx, "limit");
	struct sync_token token;
	int64_t workspace_gid;
	long limit = EVENTS_WORKSPACE_MAX;
	db_stmt *s;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid))
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	if (ctx->who.kind != PRINCIPAL_SERVICE_ACCOUNT)
		return api_error_help(ctx, 403, "A super admin creates one under Apps > Service accounts in the admin "
						"console; people follow one resource with GET /events?resource=GID.",
				      "Only a service account with the `full` or `read` permission may read the "
				      "organization's event stream.");
	if (limit_text != NULL) {
		char *end = NULL;

		errno = 0;
		limit = strtol(limit_text, &end, 10);
		/* strtol skips leading spaces and takes a sign, which a limit must not have. */
		if (errno != 0 || limit_text[0] < '0' || limit_text[0] > '9' || *end != '\0' || limit < 1 ||
		    limit > EVENTS_WORKSPACE_MAX)
			return api_error(ctx, 400, "limit: must be an integer from 1 to %d, got \"%.20s\".",
					 EVENTS_WORKSPACE_MAX, limit_text);
	}
	if (read_sync(ctx, workspace_gid, &token))
		return 0;

	s = db_query(ctx->db, "SELECT " EVENT_COLUMNS " FROM events e"
			      " WHERE e.workspace_gid = ? AND e.seq > ? ORDER BY e.seq LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, token.seq);
	db_bind_int64(s, 2, limit + 1);
	return reply_events(ctx, s, (int)limit, 0, workspace_gid, token.seq);
}

static const char *const event_fields[] = { "user", "resource", "type", "action", "parent", "created_at", "change",
					    NULL };
static const struct api_type_ref event_refs[] = { { "user", &api_user_type }, { NULL, NULL } };

const struct api_type api_event_type = { "event", event_fields, event_fields, event_refs, NULL };

const struct api_route api_events_routes[] = {
	{ "GET", "/events", get_events, 0, &api_event_type },
	{ "GET", "/workspaces/{workspace_gid}/events", get_workspace_events, 0, &api_event_type },
	{ NULL, NULL, NULL, 0, NULL },
};
