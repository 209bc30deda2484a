/*
 * Organization exports. POST /organization_exports starts an export of the
 * caller's organization as a background job (src/jobs/export_job.c). GET
 * /organization_exports/{organization_export_gid} returns its state and, once
 * finished, a signed download_url. GET .../download sends the gzip file from
 * the database to any client that presents that URL.
 *
 * The first two routes serve only service accounts with the `exports` or
 * `full` scope on the plans enterprise_plus and legacy_enterprise (route
 * flags). The download route needs no token, like Asana's pre-signed URLs,
 * so its URL carries an expiry, the gid of the service account it was
 * issued to (issued_to) and an HMAC-SHA256 over the export gid, its
 * organization, that expiry and that gid, keyed with a key derived from the
 * server's pepper, which every node sharing the database has.
 */
#include "api/api.h"
#include "api/app.h"
#include "auth/visibility.h"
#include "jobs/export_job.h"
#include "store/audit.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A download_url is valid for one hour after the GET that returned it. */
#define DOWNLOAD_URL_TTL_S 3600
/* Exports of one organization that may be pending or started at once. */
#define EXPORTS_UNFINISHED_MAX 3
/* Seconds a client is asked to wait after that limit's 429. */
#define EXPORTS_RETRY_AFTER_S "10"
#define SIGNATURE_HEX_LEN (crypto_auth_hmacsha256_BYTES * 2)

/* ---------- representation ---------- */

static const char *const export_fields[] = { "created_at", "download_url", "organization", "state", NULL };
static const char *const export_compact[] = { NULL };
static const struct api_type_ref export_refs[] = {
	{ "organization", &api_workspace_type },
	{ NULL, NULL },
};

/*
 * Computes the hex signature of a download URL for (export, organization,
 * expiry in Unix seconds, the account the URL was issued to).
 */
static void download_signature(const struct app *app, int64_t export_gid, int64_t workspace_gid, int64_t expires,
			       int64_t issued_to, char hex[SIGNATURE_HEX_LEN + 1])
{
	/* v2 added issued_to, so a URL of the v1 form (without it) never verifies. */
	static const char label[] = "kontor organization export download v2";
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
	char message[128];
	int len;

	/* A key of its own, so a signature can never double as a token hash or a page offset MAC. */
	crypto_auth_hmacsha256(key, (const unsigned char *)label, sizeof(label) - 1, app->pepper);
	len = snprintf(message, sizeof(message), "%lld.%lld.%lld.%lld", (long long)export_gid,
		       (long long)workspace_gid, (long long)expires, (long long)issued_to);
	crypto_auth_hmacsha256(mac, (const unsigned char *)message, (unsigned long long)len, key);
	sodium_bin2hex(hex, SIGNATURE_HEX_LEN + 1, mac, sizeof(mac));
	sodium_memzero(key, sizeof(key));
}

/* A fresh download_url, or json null when the data is not (or no longer) there. */
static json_t *download_url(api_ctx *ctx, int64_t export_gid, int64_t data_expires_at)
{
	char base[API_BASE_URL_MAX], hex[SIGNATURE_HEX_LEN + 1], url[API_BASE_URL_MAX + 256];
	int64_t now_s = time_now_us() / 1000000, expires = now_s + DOWNLOAD_URL_TTL_S;

	if (data_expires_at / 1000000 <= now_s)
		return json_null();
	if (expires > data_expires_at / 1000000)
		expires = data_expires_at / 1000000;
	download_signature(ctx->app, export_gid, ctx->who.workspace_gid, expires, ctx->who.user_gid, hex);
	snprintf(url, sizeof(url),
		 "%s" API_BASE_PATH "/organization_exports/%lld/download?expires=%lld&issued_to=%lld&signature=%s",
		 api_base_url(ctx, base, sizeof(base)), (long long)export_gid, (long long)expires,
		 (long long)ctx->who.user_gid, hex);
	return json_string(url);
}

static json_t *export_load(api_ctx *ctx, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT e.state, e.created_at, e.data_deleted, e.data_expires_at, w.gid, w.name"
				       " FROM organization_exports e JOIN workspaces w ON w.gid = e.workspace_gid"
				       " WHERE e.gid = ? AND e.workspace_gid = ?");
	json_t *item = NULL;
	const char *state;

	if (s == NULL)
		return NULL;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	if (db_step(s) != DB_ROW) {
		db_stmt_done(s);
		return NULL;
	}
	state = db_column_text(s, 0);
	item = api_object_new("organization_export", gid);
	json_object_set_new(item, "created_at", api_time(db_column_int64(s, 1)));
	if (state && strcmp(state, "finished") == 0 && db_column_int64(s, 2) == 0)
		json_object_set_new(item, "download_url", download_url(ctx, gid, db_column_int64(s, 3)));
	else
		json_object_set_new(item, "download_url", json_null());
	json_object_set_new(item, "state", json_string(state ? state : "error"));
	json_object_set_new(item, "organization", api_ref("workspace", db_column_int64(s, 4), db_column_text(s, 5)));
	db_stmt_done(s);
	return item;
}

const struct api_type api_organization_export_type = {
	"organization_export", export_fields, export_compact, export_refs, export_load,
};

/* ---------- POST /organization_exports ---------- */

static const struct api_field export_create_fields[] = {
	{ "organization", AF_GID, AF_REQUIRED, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Counts the caller organization's exports that are pending or started. Returns the count or -1. */
static int64_t unfinished_exports(api_ctx *ctx)
{
	db_stmt *s = db_query(ctx->db, "SELECT count(*) FROM organization_exports"
				       " WHERE workspace_gid = ? AND state IN ('pending', 'started')");
	int64_t count = -1;

	if (s == NULL)
		return -1;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	if (db_step(s) == DB_ROW)
		count = db_column_int64(s, 0);
	db_stmt_done(s);
	return count;
}

static int export_create(api_ctx *ctx)
{
	struct audit_event event;
	int64_t org_gid, export_gid, job_gid = 0, now, unfinished;
	db_stmt *s;
	int status;

	if (api_check_body(ctx, export_create_fields) < 0)
		return 0;
	org_gid = api_body_gid(ctx, "organization");
	/* Another organization's gid gets the same 404 as a gid that does not exist. */
	if (org_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "organization", org_gid);

	if (api_begin_write(ctx) < 0)
		return 0;
	unfinished = unfinished_exports(ctx);
	if (unfinished < 0)
		return api_fail_db(ctx, DB_ERROR);
	if (unfinished >= EXPORTS_UNFINISHED_MAX) {
		db_rollback(ctx->db);
		api_error(ctx, 429,
			  "organization: %lld exports of this organization are still pending or started, the "
			  "most allowed at once; wait until one has finished",
			  (long long)unfinished);
		/* An estimate: a small organization exports in seconds, so a client polls again soon. */
		http_response_add_header(ctx->res, "Retry-After", EXPORTS_RETRY_AFTER_S);
		return 0;
	}
	export_gid = gid_next();
	now = time_now_us();
	status = export_job_enqueue(ctx->db, ctx->who.workspace_gid, export_gid, &job_gid);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	s = db_query(ctx->db, "INSERT INTO organization_exports (gid, workspace_gid, state, requested_by, job_gid,"
			      " created_at) VALUES (?, ?, 'pending', ?, ?, ?)");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, export_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, ctx->who.user_gid);
	db_bind_int64(s, 3, job_gid);
	db_bind_int64(s, 4, now);
	status = db_run(s);
	if (status != DB_OK)
		return api_fail_db(ctx, status);

	/* Asana's audit log documents this event as workspace_export_started, under Content Export. */
	memset(&event, 0, sizeof(event));
	event.event_type = "workspace_export_started";
	event.event_category = "content_export";
	event.resource_type = "workspace";
	event.resource_gid = ctx->who.workspace_gid;
	status = api_audit(ctx, &event);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx) < 0)
		return 0;

	return api_reply_object(ctx, &api_organization_export_type, export_load(ctx, export_gid),
				"/organization_exports", export_gid, 201);
}

/* ---------- GET /organization_exports/{organization_export_gid} ---------- */

static int export_get(api_ctx *ctx)
{
	json_t *item;
	int64_t gid;

	if (api_param_gid(ctx, "organization_export_gid", &gid) < 0)
		return 0;
	item = export_load(ctx, gid);
	if (item == NULL) {
		if (db_conn_last_status(ctx->db) != DB_OK)
			return api_fail_db(ctx, db_conn_last_status(ctx->db));
		return api_not_found(ctx, "organization_export", gid);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_organization_export_type, item));
}

/* ---------- GET /organization_exports/{organization_export_gid}/download ---------- */

/* The state of one download, owned by the HTTP response. It caches one chunk. */
struct download {
	db *db;
	int64_t export_gid;
	int64_t workspace_gid;
	int chunk_count;
	int64_t cached_seq;
	unsigned char *chunk;
	size_t chunk_len;
};

/* Loads chunk `seq` into the cache on a pooled connection held only for the copy. Returns 0 or -1. */
static int download_load_chunk(struct download *dl, int64_t seq)
{
	db_conn *c = db_acquire(dl->db, 5000);
	db_stmt *s;
	const void *data;
	size_t len = 0;
	int result = -1;

	if (c == NULL)
		return -1;
	s = db_query(c, "SELECT data FROM organization_export_chunks WHERE export_gid = ? AND seq = ?"
			" AND workspace_gid = ?");
	if (s != NULL) {
		db_bind_int64(s, 0, dl->export_gid);
		db_bind_int64(s, 1, seq);
		db_bind_int64(s, 2, dl->workspace_gid);
		if (db_step(s) == DB_ROW) {
			data = db_column_blob(s, 0, &len);
			if (len <= EXPORT_CHUNK_BYTES) {
				memcpy(dl->chunk, data, len);
				dl->chunk_len = len;
				dl->cached_seq = seq;
				result = 0;
			}
		}
		db_stmt_done(s);
	}
	db_release(dl->db, c);
	return result;
}

static long download_read(void *ctx, uint64_t offset, char *buf, size_t max)
{
	struct download *dl = ctx;
	int64_t seq = (int64_t)(offset / EXPORT_CHUNK_BYTES);
	size_t within = (size_t)(offset % EXPORT_CHUNK_BYTES), n;

	if (seq != dl->cached_seq && download_load_chunk(dl, seq) != 0) {
		log_warn("api", "export download aborted: a chunk could not be read", "export_gid",
			 LOG_INT(dl->export_gid), "seq", LOG_INT(seq), NULL);
		return -1;
	}
	if (within >= dl->chunk_len)
		return -1;
	n = dl->chunk_len - within;
	if (n > max)
		n = max;
	memcpy(buf, dl->chunk + within, n);
	return (long)n;
}

static void download_free(void *ctx)
{
	struct download *dl = ctx;

	free(dl->chunk);
	free(dl);
}

/* Parses the expires parameter: Unix seconds. Returns 0, or -1 when missing or invalid. */
static int parse_expires(const char *text, int64_t *expires_r)
{
	char *end = NULL;
	long long value;

	if (text == NULL || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || value <= 0)
		return -1;
	*expires_r = value;
	return 0;
}

/* 1 when the user holds an unrevoked, unexpired token in the organization, 0 when not, or a negative db status. */
static int has_live_token(api_ctx *ctx, int64_t workspace_gid, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM tokens WHERE workspace_gid = ? AND user_gid = ?"
				       " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) LIMIT 1");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, user_gid);
	db_bind_int64(s, 2, time_now_us());
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 1;
	return status == DB_DONE ? 0 : status;
}

/*
 * Re-checks at download time what the API checked when it issued the link,
 * for one account (`role` names it in messages): the organization's plan
 * allows exports, and the account still exists, is active, holds `exports`
 * or `full` and has a live token (deauthorizing revokes them all). Without
 * this a link would outlive a plan change, a deleted or deauthorized account
 * by up to DOWNLOAD_URL_TTL_S. Returns 0, or -1 after replying.
 */
static int download_still_allowed(api_ctx *ctx, int64_t workspace_gid, int64_t account_gid, const char *role)
{
	principal requester;
	int active = visibility_principal_load(ctx->db, workspace_gid, account_gid, &requester);

	if (active < 0) {
		api_fail_db(ctx, active);
		return -1;
	}
	if (active == 1) {
		active = has_live_token(ctx, workspace_gid, account_gid);
		if (active < 0) {
			api_fail_db(ctx, active);
			return -1;
		}
	}
	if (active == 1 && strcmp(requester.plan, "enterprise_plus") != 0 &&
	    strcmp(requester.plan, "legacy_enterprise") != 0) {
		api_error_help(ctx, 402, "Ask the organization's owner to move it to enterprise_plus or legacy_enterprise.",
			       "This download link no longer works: exports need the plan enterprise_plus or "
			       "legacy_enterprise, and the organization's plan is %s.",
			       requester.plan);
		return -1;
	}
	if (active != 1 || requester.kind != PRINCIPAL_SERVICE_ACCOUNT ||
	    (requester.scopes & (SCOPE_FULL | SCOPE_EXPORTS)) == 0) {
		api_error_help(ctx, 403, "Start a new export with a service account that has the exports or full scope.",
			       "This download link no longer works: the service account that %s was deleted, "
			       "deactivated or deauthorized, or lost the exports scope.",
			       role);
		return -1;
	}
	return 0;
}

static int export_download(api_ctx *ctx)
{
	static const char help[] = "Fetch the export with GET /organization_exports/{organization_export_gid} and "
				   "use its download_url unchanged; each one is valid for an hour.";
	static const char invalid_message[] = "This download link is invalid: its signature does not match. It was "
					       "changed or was not issued by this server.";
	const char *signature = api_query(ctx, "signature");
	char expected[SIGNATURE_HEX_LEN + 1], when[40], disposition[128];
	int64_t gid, expires, issued_to = 0, workspace_gid = 0, size = 0, data_expires_at = 0, requested_by = 0;
	int64_t now = time_now_us();
	int chunk_count = 0, data_deleted = 0, finished = 0, status;
	struct download *dl;
	db_stmt *s;

	if (api_param_gid(ctx, "organization_export_gid", &gid) < 0)
		return 0;
	if (parse_expires(api_query(ctx, "expires"), &expires) != 0 || signature == NULL || signature[0] == '\0' ||
	    api_query(ctx, "issued_to") == NULL || gid_parse(api_query(ctx, "issued_to"), &issued_to) != 0)
		return api_error_help(ctx, 403, help,
				      "This download link is incomplete: expires, issued_to and signature are required.");
	if (strlen(signature) != SIGNATURE_HEX_LEN)
		return api_error_help(ctx, 403, help, "%s", invalid_message);

	/* The row is found by gid alone, because the link carries no token; the signature binds its organization. */
	s = db_query(ctx->db, "SELECT workspace_gid, state, size_bytes, chunk_count, data_deleted, data_expires_at,"
			      " COALESCE(requested_by, 0) FROM organization_exports WHERE gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, gid);
	status = db_step(s);
	if (status == DB_ROW) {
		const char *state = db_column_text(s, 1);

		workspace_gid = db_column_int64(s, 0);
		finished = state && strcmp(state, "finished") == 0;
		size = db_column_int64(s, 2);
		chunk_count = (int)db_column_int64(s, 3);
		data_deleted = db_column_int64(s, 4) != 0;
		data_expires_at = db_column_int64(s, 5);
		requested_by = db_column_int64(s, 6);
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return api_fail_db(ctx, status);

	/* Checked before anything about the export is revealed; a missing export fails the same way. */
	download_signature(ctx->app, gid, workspace_gid, expires, issued_to, expected);
	if (status != DB_ROW || sodium_memcmp(expected, signature, SIGNATURE_HEX_LEN) != 0)
		return api_error_help(ctx, 403, help, "%s", invalid_message);
	if (expires < now / 1000000)
		return api_error_help(ctx, 403, help, "This download link expired at %s.",
				      time_format_iso(expires * 1000000, when, sizeof(when)));
	if (download_still_allowed(ctx, workspace_gid, requested_by, "requested the export") != 0)
		return 0;
	if (issued_to != requested_by &&
	    download_still_allowed(ctx, workspace_gid, issued_to, "received this download link") != 0)
		return 0;
	if (!finished || data_deleted || data_expires_at <= now)
		return api_error_help(ctx, 404, "Start a new export with POST /organization_exports.",
				      "The data of organization export %lld was deleted when it expired at %s.",
				      (long long)gid, time_format_iso(data_expires_at, when, sizeof(when)));

	dl = calloc(1, sizeof(*dl));
	if (dl != NULL)
		dl->chunk = malloc(EXPORT_CHUNK_BYTES);
	if (dl == NULL || dl->chunk == NULL) {
		free(dl);
		return api_error(ctx, 500, "Server error: out of memory. Retry shortly.");
	}
	dl->db = ctx->app->db;
	dl->export_gid = gid;
	dl->workspace_gid = workspace_gid;
	dl->chunk_count = chunk_count;
	dl->cached_seq = -1;
	/*
	 * The bytes are the .gz file itself (Content-Type application/gzip, no
	 * Content-Encoding), so `curl -o export.json.gz URL` saves a valid gzip
	 * file and no client decompresses it on the way.
	 */
	http_response_set_stream(ctx->res, 200, "application/gzip", (uint64_t)size, download_read, dl, download_free);
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"kontor-export-%lld-%lld.json.gz\"",
		 (long long)workspace_gid, (long long)gid);
	http_response_add_header(ctx->res, "Content-Disposition", disposition);
	http_response_add_header(ctx->res, "Cache-Control", "no-store");
	return 0;
}

const struct api_route api_organization_exports_routes[] = {
	{ "POST", "/organization_exports", export_create,
	  API_WRITE | API_BODY | API_SCOPE_EXPORTS | API_PLAN_PLUS, &api_organization_export_type },
	{ "GET", "/organization_exports/{organization_export_gid}", export_get, API_SCOPE_EXPORTS | API_PLAN_PLUS,
	  &api_organization_export_type },
	{ "GET", "/organization_exports/{organization_export_gid}/download", export_download, API_PUBLIC, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
