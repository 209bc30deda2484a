/*
 * Service-account tokens: list, rotate (mint a new token, with an optional
 * Idempotency-Key), revoke one, and deauthorize (revoke all). An account has
 * at most SA_LIVE_TOKENS_MAX live tokens, so a script can switch to a new
 * token before the old one is revoked. Token strings appear only in the
 * response that mints them, and the database keeps their keyed hash. A
 * retried rotation gets its token back from idempotency_keys, which stores
 * it encrypted under a key derived from the pepper. Authentication
 * (src/auth/auth.c) reads the token row on every request, so revocation
 * takes effect on the next request.
 */
#include "api/app.h"
#include "api/service_accounts.h"
#include "api/service_accounts_internal.h"
#include "auth/auth.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDEMPOTENCY_HEADER "Idempotency-Key"
#define IDEMPOTENCY_KEY_MAX 255
#define IDEMPOTENCY_TTL_US (24LL * 3600 * 1000000)
#define REQUEST_HASH_BYTES 32
/* libsodium key-derivation context: exactly crypto_kdf_CONTEXTBYTES (8) characters. */
#define SEAL_KDF_CONTEXT "kontidem"
#define SEAL_KDF_ID 1

_Static_assert(APP_KEY_BYTES == crypto_kdf_KEYBYTES, "the pepper must be usable as a libsodium KDF key");

/* ---------- token representation ---------- */

static const char *const token_fields[] = {
	"name", "created_at", "created_by", "expires_at", "last_used_at", "last_used_ip", "revoked_at", "status", NULL,
};
static const char *const token_compact[] = { "name", "status", "expires_at", NULL };
static const struct api_type_ref token_refs[] = {
	{ "created_by", &api_user_type },
	{ NULL, NULL },
};

int sa_token_row_live(db_stmt *s, int64_t now)
{
	return db_column_is_null(s, TC_REVOKED_AT) &&
	       (db_column_is_null(s, TC_EXPIRES_AT) || db_column_int64(s, TC_EXPIRES_AT) > now);
}

json_t *sa_token_from_row(db_stmt *s, int64_t now)
{
	json_t *token = api_object_new("service_account_token", db_column_int64(s, TC_GID));
	const char *status = "active";

	if (!db_column_is_null(s, TC_REVOKED_AT))
		status = "revoked";
	else if (!sa_token_row_live(s, now))
		status = "expired";

	json_object_set_new(token, "name", json_string(db_column_text(s, TC_NAME) ? db_column_text(s, TC_NAME) : ""));
	json_object_set_new(token, "created_at", api_time(db_column_int64(s, TC_CREATED_AT)));
	json_object_set_new(token, "created_by",
			    db_column_is_null(s, TC_CREATED_BY)
				    ? json_null()
				    : api_ref("user", db_column_int64(s, TC_CREATED_BY), db_column_text(s, TC_CREATED_BY_NAME)));
	json_object_set_new(token, "expires_at", api_time(db_column_int64(s, TC_EXPIRES_AT)));
	json_object_set_new(token, "last_used_at", api_time(db_column_int64(s, TC_LAST_USED_AT)));
	json_object_set_new(token, "last_used_ip", api_string_or_null(db_column_text(s, TC_LAST_USED_IP)));
	json_object_set_new(token, "revoked_at", api_time(db_column_int64(s, TC_REVOKED_AT)));
	json_object_set_new(token, "status", json_string(status));
	return token;
}

/*
 * Loads one token of the caller's organization; `sa_gid` 0 accepts any
 * service account. Returns a new reference or NULL.
 */
static json_t *token_fetch(api_ctx *ctx, int64_t sa_gid, int64_t token_gid)
{
	json_t *token = NULL;
	db_stmt *s;

	s = db_query(ctx->db, "SELECT " SA_TOKEN_COLUMNS
			      " FROM tokens t LEFT JOIN users cu ON cu.gid = t.created_by"
			      " JOIN service_accounts sa ON sa.user_gid = t.user_gid AND sa.workspace_gid = t.workspace_gid"
			      " WHERE t.gid = ? AND t.workspace_gid = ? AND t.kind = 'service_account'");
	if (s == NULL)
		return NULL;
	db_bind_int64(s, 0, token_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	if (db_step(s) == DB_ROW && (sa_gid == 0 || db_column_int64(s, TC_USER_GID) == sa_gid))
		token = sa_token_from_row(s, time_now_us());
	db_stmt_done(s);
	return token;
}

/* For opt_fields expansion: only super admins see tokens, on any plan like GET .../tokens. */
static json_t *token_load(api_ctx *ctx, int64_t gid)
{
	if (ctx->who.kind != PRINCIPAL_PERSON || ctx->who.role != ROLE_SUPER_ADMIN)
		return NULL;
	return token_fetch(ctx, 0, gid);
}

const struct api_type api_service_account_token_type = {
	.name = "service_account_token",
	.fields = token_fields,
	.compact = token_compact,
	.refs = token_refs,
	.load = token_load,
};

/* ---------- shared with service_accounts.c ---------- */

int sa_expiry_parse(api_ctx *ctx, const char *field, int64_t *expires_at_r)
{
	const char *text = api_body_string(ctx, field);
	int64_t now = time_now_us(), us;

	*expires_at_r = 0;
	if (text == NULL)
		return 0;
	if (time_parse_iso(text, &us) != 0) {
		api_error(ctx, 400, "%s: must be an ISO 8601 date-time such as 2026-05-01T12:00:00.000Z.", field);
		return -1;
	}
	if (us <= now) {
		api_error(ctx, 400, "%s: must be in the future, got %.40s. Send a later time, or null for a token "
				    "that does not expire.",
			  field, text);
		return -1;
	}
	if (us - now > SA_TOKEN_LIFETIME_MAX_US) {
		api_error(ctx, 400, "%s: must be at most 730 days (2 years) from now, got %.40s. Rotate the token "
				    "before then instead.",
			  field, text);
		return -1;
	}
	*expires_at_r = us;
	return 0;
}

int sa_token_insert(api_ctx *ctx, int64_t sa_gid, const char *name, int64_t expires_at, char *token_out,
		    int64_t *token_gid_r)
{
	char hash[TOKEN_HASH_HEX];
	db_stmt *s;
	int status;

	*token_gid_r = gid_next();
	token_mint(TOKEN_SERVICE_ACCOUNT, *token_gid_r, ctx->app->pepper, token_out, hash);
	s = db_query(ctx->db, "INSERT INTO tokens (gid, workspace_gid, user_gid, kind, name, hash, created_by,"
			      " created_at, expires_at) VALUES (?, ?, ?, 'service_account', ?, ?, ?, ?, ?)");
	if (s == NULL) {
		sodium_memzero(hash, sizeof(hash));
		return DB_ERROR;
	}
	db_bind_int64(s, 0, *token_gid_r);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, sa_gid);
	db_bind_text(s, 3, name);
	db_bind_text(s, 4, hash);
	db_bind_int64(s, 5, ctx->who.user_gid);
	db_bind_int64(s, 6, time_now_us());
	if (expires_at != 0)
		db_bind_int64(s, 7, expires_at);
	else
		db_bind_null(s, 7);
	status = db_run(s);
	sodium_memzero(hash, sizeof(hash));
	return status;
}

int sa_live_token_count(api_ctx *ctx, int64_t sa_gid, int64_t *count_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT COUNT(*) FROM tokens WHERE workspace_gid = ? AND user_gid = ?"
				       " AND kind = 'service_account' AND revoked_at IS NULL"
				       " AND (expires_at IS NULL OR expires_at > ?)");
	int status;

	*count_r = 0;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, sa_gid);
	db_bind_int64(s, 2, time_now_us());
	status = db_step(s);
	if (status == DB_ROW)
		*count_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW ? DB_OK : status;
}

/* Lists the gids of the account's unrevoked tokens into a new JSON array. Returns a db status. */
static int unrevoked_token_gids(api_ctx *ctx, int64_t sa_gid, json_t **gids_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT gid FROM tokens WHERE workspace_gid = ? AND user_gid = ?"
				       " AND revoked_at IS NULL ORDER BY gid");
	int status;

	*gids_r = json_array();
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, sa_gid);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		json_array_append_new(*gids_r, api_gid(db_column_int64(s, 0)));
	}
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

int sa_tokens_revoke_all(api_ctx *ctx, int64_t sa_gid, int64_t now, json_t **revoked_gids_r)
{
	db_stmt *s;
	int status;

	status = unrevoked_token_gids(ctx, sa_gid, revoked_gids_r);
	if (status != DB_OK)
		return status;
	s = db_query(ctx->db, "UPDATE tokens SET revoked_at = ?, revoked_by = ?"
			      " WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, ctx->who.user_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, sa_gid);
	return db_run(s);
}

/* ---------- GET /service_accounts/{service_account_gid}/tokens ---------- */

int sa_tokens_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t sa_gid, now = time_now_us(), last = 0;
	json_t *items;
	db_stmt *s;
	int fetched = 0, status;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) || sa_require_target(ctx, sa_gid))
		return 0;
	if (api_page_parse(ctx, &page))
		return 0;

	s = db_query(ctx->db, "SELECT " SA_TOKEN_COLUMNS
			      " FROM tokens t LEFT JOIN users cu ON cu.gid = t.created_by"
			      " WHERE t.workspace_gid = ? AND t.user_gid = ? AND t.kind = 'service_account' AND t.gid > ?"
			      " ORDER BY t.gid LIMIT ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, sa_gid);
	db_bind_int64(s, 2, page.after);
	db_bind_int64(s, 3, (int64_t)page.limit + 1);

	items = json_array();
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		if (fetched < page.limit) {
			last = db_column_int64(s, TC_GID);
			json_array_append_new(items,
					      api_present(ctx, &api_service_account_token_type, sa_token_from_row(s, now)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (status != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, status);
	}
	api_page_rows(&page, fetched);
	page.next_after = last;
	return api_reply_list(ctx, items, &page);
}

/* ---------- idempotency ---------- */

static void seal_key(const unsigned char *pepper, unsigned char *key)
{
	crypto_kdf_derive_from_key(key, crypto_secretbox_KEYBYTES, SEAL_KDF_ID, SEAL_KDF_CONTEXT, pepper);
}

/*
 * Encrypts a token for idempotency_keys: base64 of nonce || secretbox.
 * Returns a malloc'd string the caller frees, or NULL when out of memory.
 */
static char *token_seal(const unsigned char *pepper, const char *token)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char raw[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_MAX];
	size_t len = strlen(token), total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len, b64_len;
	char *out;

	b64_len = sodium_base64_ENCODED_LEN(total, sodium_base64_VARIANT_ORIGINAL);
	out = malloc(b64_len);
	if (out == NULL)
		return NULL;
	seal_key(pepper, key);
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, (const unsigned char *)token, len, raw, key);
	sodium_bin2base64(out, b64_len, raw, total, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	return out;
}

/*
 * Decrypts a sealed token into `token_out` (TOKEN_MAX bytes) and checks that
 * it is a service-account token with gid `token_gid`. Returns 0 or -1.
 */
static int token_unseal(const unsigned char *pepper, const char *sealed, int64_t token_gid, char *token_out)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char raw[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_MAX];
	size_t total = 0, len;
	enum token_kind kind;
	int64_t gid;
	int rc;

	if (sodium_base642bin(raw, sizeof(raw), sealed, strlen(sealed), NULL, &total, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    total <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -1;
	len = total - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (len >= TOKEN_MAX)
		return -1;
	seal_key(pepper, key);
	rc = crypto_secretbox_open_easy((unsigned char *)token_out, raw + crypto_secretbox_NONCEBYTES,
					total - crypto_secretbox_NONCEBYTES, raw, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return -1;
	token_out[len] = '\0';
	if (token_parse(token_out, &kind, &gid) != 0 || kind != TOKEN_SERVICE_ACCOUNT || gid != token_gid) {
		sodium_memzero(token_out, TOKEN_MAX);
		return -1;
	}
	return 0;
}

/* Checks the Idempotency-Key header: absent gives NULL; 1 to 255 printable ASCII characters. */
static int idempotency_key_get(api_ctx *ctx, const char **key_r)
{
	const char *key = http_request_header(ctx->req, IDEMPOTENCY_HEADER);
	size_t len;

	*key_r = key;
	if (key == NULL)
		return 0;
	len = strlen(key);
	for (size_t i = 0; i < len; i++) {
		if (key[i] < 0x20 || key[i] > 0x7e)
			len = 0;
	}
	if (len == 0 || len > IDEMPOTENCY_KEY_MAX) {
		api_error(ctx, 400, IDEMPOTENCY_HEADER ": must be 1 to %d printable ASCII characters; a UUID is a "
				   "good choice. Send a new key for each new rotation and the same key when retrying.",
			  IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	return 0;
}

/*
 * Hashes what makes two rotations "the same request": the account (in the
 * route) and the body with its keys sorted, so whitespace and key order do
 * not matter. Writes hex into `out` (2 * REQUEST_HASH_BYTES + 1 bytes).
 */
static int request_hash(api_ctx *ctx, const char *route, char *out)
{
	unsigned char digest[REQUEST_HASH_BYTES];
	crypto_generichash_state state;
	json_t *empty = json_object();
	char *body = json_dumps(ctx->body ? ctx->body : empty, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(empty);
	if (body == NULL)
		return -1;
	crypto_generichash_init(&state, NULL, 0, sizeof(digest));
	crypto_generichash_update(&state, (const unsigned char *)route, strlen(route) + 1);
	crypto_generichash_update(&state, (const unsigned char *)body, strlen(body));
	crypto_generichash_final(&state, digest, sizeof(digest));
	free(body);
	sodium_bin2hex(out, 2 * REQUEST_HASH_BYTES + 1, digest, sizeof(digest));
	return 0;
}

/* A stored rotation, as idempotency_lookup reads it. */
struct stored_rotation {
	int same_request;
	int64_t token_gid;
	char *sealed; /* malloc'd */
};

/*
 * Looks up an unexpired idempotency key of the caller. Returns DB_ROW with
 * *stored filled (free stored->sealed), DB_DONE when absent, or an error.
 */
static int idempotency_lookup(api_ctx *ctx, const char *key, const char *route, const char *hash,
			      struct stored_rotation *stored)
{
	db_stmt *s = db_query(ctx->db, "SELECT route, request_hash, token_gid, sealed_response FROM idempotency_keys"
				       " WHERE principal_gid = ? AND idempotency_key = ? AND workspace_gid = ?"
				       " AND expires_at > ?");
	int status;

	memset(stored, 0, sizeof(*stored));
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.user_gid);
	db_bind_text(s, 1, key);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, time_now_us());
	status = db_step(s);
	if (status == DB_ROW) {
		const char *stored_route = db_column_text(s, 0), *stored_hash = db_column_text(s, 1);

		stored->same_request = stored_route && stored_hash && strcmp(stored_route, route) == 0 &&
				       strcmp(stored_hash, hash) == 0;
		stored->token_gid = db_column_int64(s, 2);
		stored->sealed = strdup(db_column_text(s, 3) ? db_column_text(s, 3) : "");
		if (stored->sealed == NULL)
			status = DB_ERROR;
	}
	db_stmt_done(s);
	return status;
}

/* Replies 201 with a token object and the token string. Wipes `token`. */
static int reply_token(api_ctx *ctx, int64_t sa_gid, int64_t token_gid, char *token, int replayed)
{
	json_t *object = token_fetch(ctx, sa_gid, token_gid);

	if (object == NULL) {
		sodium_memzero(token, TOKEN_MAX);
		return api_fail_db(ctx, DB_ERROR);
	}
	object = api_present(ctx, &api_service_account_token_type, object);
	json_object_set_new(object, "token", json_string(token));
	sodium_memzero(token, TOKEN_MAX);
	api_reply(ctx, 201, object);
	/* The header name Stripe and the IETF Idempotency-Key draft use for a repeated response. */
	if (replayed)
		http_response_add_header(ctx->res, "Idempotent-Replayed", "true");
	return 0;
}

/*
 * Replies to a retry from a stored rotation: the same token when the request
 * matches, 409 when the key was used for another request. Frees stored->sealed.
 */
static int replay(api_ctx *ctx, int64_t sa_gid, struct stored_rotation *stored)
{
	char token[TOKEN_MAX];
	int rc;

	if (!stored->same_request) {
		free(stored->sealed);
		return api_error(ctx, 409, IDEMPOTENCY_HEADER ": this key was already used in the last 24 hours for "
					   "a different request (another body or another service account). Send a new "
					   "key for a new rotation.");
	}
	rc = token_unseal(ctx->app->pepper, stored->sealed, stored->token_gid, token);
	free(stored->sealed);
	if (rc != 0) {
		log_error("service_accounts", "cannot decrypt a stored rotation (was the pepper file replaced?)",
			  "request_id", ctx->req->request_id, "token_gid", LOG_INT(stored->token_gid), NULL);
		return api_error(ctx, 409, IDEMPOTENCY_HEADER ": the response stored for this key can no longer be "
					   "read. Send the rotation with a new key.");
	}
	log_info("service_accounts", "token rotation replayed", "request_id", ctx->req->request_id,
		 "service_account", LOG_INT(sa_gid), "token_gid", LOG_INT(stored->token_gid), NULL);
	return reply_token(ctx, sa_gid, stored->token_gid, token, 1);
}

/* Stores a rotation under its key. Sets *stored_r to 0 when a concurrent request stored the key first. */
static int idempotency_store(api_ctx *ctx, const char *key, const char *route, const char *hash,
			     int64_t token_gid, const char *token, int *stored_r)
{
	int64_t now = time_now_us();
	char *sealed = token_seal(ctx->app->pepper, token);
	db_stmt *s;
	int status;

	*stored_r = 0;
	if (sealed == NULL)
		return DB_ERROR;
	s = db_query(ctx->db, "INSERT INTO idempotency_keys (workspace_gid, principal_gid, idempotency_key, route,"
			      " request_hash, token_gid, sealed_response, created_at, expires_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
			      " ON CONFLICT (principal_gid, idempotency_key) DO NOTHING");
	if (s == NULL) {
		free(sealed);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, ctx->who.user_gid);
	db_bind_text(s, 2, key);
	db_bind_text(s, 3, route);
	db_bind_text(s, 4, hash);
	db_bind_int64(s, 5, token_gid);
	db_bind_text(s, 6, sealed);
	db_bind_int64(s, 7, now);
	db_bind_int64(s, 8, now + IDEMPOTENCY_TTL_US);
	status = db_run(s);
	free(sealed);
	if (status == DB_OK)
		*stored_r = db_changes(s) > 0;
	return status;
}

/* Deletes the organization's expired idempotency keys, so their keys can be used again. */
static int idempotency_purge(api_ctx *ctx)
{
	db_stmt *s = db_query(ctx->db, "DELETE FROM idempotency_keys WHERE workspace_gid = ? AND expires_at <= ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, time_now_us());
	return db_run(s);
}

/*
 * Takes the account's row lock for the rest of the transaction. SQLite's
 * BEGIN IMMEDIATE already serializes writers. On PostgreSQL the lock makes
 * concurrent rotations of one account wait for each other, so the live
 * token count and the idempotency lookup see the other's committed result.
 * Returns DB_OK, DB_DONE when the account is gone, or an error status.
 */
static int account_lock(api_ctx *ctx, int64_t sa_gid)
{
	db_stmt *s = db_query(ctx->db, "UPDATE service_accounts SET modified_at = modified_at"
				       " WHERE user_gid = ? AND workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_run(s);
	if (status == DB_OK && db_changes(s) == 0)
		return DB_DONE;
	return status;
}

/*
 * Reads whether the account's membership is active, inside the open
 * transaction, after taking the membership's row lock. On PostgreSQL a
 * concurrent removeUser, which updates that row first, then either waits
 * until this rotation commits and revokes its new token too, or commits
 * first so that this read sees the deactivation. Returns DB_ROW with
 * *active_r set, DB_DONE when it has no membership, or an error status.
 */
static int account_active(api_ctx *ctx, int64_t sa_gid, int *active_r)
{
	db_stmt *s;
	int status;

	*active_r = 0;
	s = db_query(ctx->db, "UPDATE workspace_memberships SET is_active = is_active WHERE workspace_gid = ? AND user_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, sa_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	s = db_query(ctx->db, "SELECT is_active FROM workspace_memberships WHERE workspace_gid = ? AND user_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, sa_gid);
	status = db_step(s);
	if (status == DB_ROW)
		*active_r = db_column_int64(s, 0) != 0;
	db_stmt_done(s);
	return status;
}

/* ---------- POST /service_accounts/{service_account_gid}/tokens ---------- */

static const struct api_field rotate_fields[] = {
	{ "name", AF_STRING, AF_NULLABLE, 1024, NULL },
	{ "expires_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/*
 * Mints a new token. With an Idempotency-Key, a retry of the same request
 * within 24 hours returns the token of the first try instead of minting
 * another; the same key with a different request gets 409. A deactivated
 * account (removed with removeUser) gets 409 before the key is looked up,
 * because authentication would reject any token it has.
 */
int sa_token_rotate(api_ctx *ctx)
{
	char route[96], hash[2 * REQUEST_HASH_BYTES + 1], token[TOKEN_MAX], name[1025] = "", sa_name[1024] = "";
	char gid_text[GID_STRING_MAX], workspace_text[GID_STRING_MAX];
	int64_t sa_gid, expires_at, token_gid, live;
	struct stored_rotation stored;
	const char *key;
	json_t *details;
	int status, stored_now, active;

	if (sa_require_manager(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) || sa_require_target(ctx, sa_gid))
		return 0;
	if (api_check_body(ctx, rotate_fields))
		return 0;
	if (api_body_string(ctx, "name") != NULL && sa_name_parse(ctx, api_body_string(ctx, "name"), name, sizeof(name)))
		return 0;
	if (sa_expiry_parse(ctx, "expires_at", &expires_at))
		return 0;
	if (idempotency_key_get(ctx, &key))
		return 0;
	snprintf(route, sizeof(route), "POST /service_accounts/%s/tokens", gid_format(sa_gid, gid_text));
	if (key != NULL && request_hash(ctx, route, hash) != 0)
		return api_error(ctx, 500, "Server error: out of memory.");

	if (api_begin_write(ctx))
		return 0;
	/* The membership row is locked before the account row, in the order DELETE /service_accounts/{gid} takes them. */
	status = account_active(ctx, sa_gid, &active);
	if (status != DB_ROW && status != DB_DONE)
		return api_fail_db(ctx, status);
	status = account_lock(ctx, sa_gid);
	if (status == DB_DONE) {
		db_rollback(ctx->db);
		return api_not_found(ctx, "service account", sa_gid);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (!active) {
		db_rollback(ctx->db);
		return api_error(ctx, 409, "This service account is deactivated (removed from the organization), so it "
					   "cannot get tokens. Reactivate it first with POST /workspaces/%s/addUser and "
					   "{\"data\": {\"user\": \"%s\"}}, then rotate again.",
				 gid_format(ctx->who.workspace_gid, workspace_text), gid_text);
	}

	if (key != NULL) {
		status = idempotency_purge(ctx);
		if (status == DB_OK)
			status = idempotency_lookup(ctx, key, route, hash, &stored);
		if (status == DB_ROW) {
			/* A retry changes nothing but the purge, which may as well be kept. */
			if (api_commit(ctx)) {
				free(stored.sealed);
				return 0;
			}
			return replay(ctx, sa_gid, &stored);
		}
		if (status != DB_DONE)
			return api_fail_db(ctx, status);
	}

	status = sa_live_token_count(ctx, sa_gid, &live);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (live >= SA_LIVE_TOKENS_MAX) {
		db_rollback(ctx->db);
		return api_error(ctx, 409, "This service account already has %d live tokens, the maximum. Revoke one "
					   "first (DELETE /service_accounts/%s/tokens/{token_gid}), then rotate again.",
				 SA_LIVE_TOKENS_MAX, gid_text);
	}

	status = sa_token_insert(ctx, sa_gid, name, expires_at, token, &token_gid);
	if (status == DB_OK && key != NULL) {
		status = idempotency_store(ctx, key, route, hash, token_gid, token, &stored_now);
		if (status == DB_OK && !stored_now) {
			/* Another request with this key committed first: undo this token and answer as that one did. */
			sodium_memzero(token, sizeof(token));
			db_rollback(ctx->db);
			status = idempotency_lookup(ctx, key, route, hash, &stored);
			if (status == DB_ROW)
				return replay(ctx, sa_gid, &stored);
			return api_fail_db(ctx, status == DB_DONE ? DB_ERROR : status);
		}
	}
	if (status == DB_OK)
		status = sa_name_get(ctx, sa_gid, sa_name, sizeof(sa_name)) == DB_ROW ? DB_OK : DB_ERROR;
	if (status == DB_OK) {
		details = json_object();
		json_object_set_new(details, "token_gid", api_gid(token_gid));
		json_object_set_new(details, "expires_at", api_time(expires_at));
		json_object_set_new(details, "live_tokens", json_integer(live + 1));
		status = sa_audit(ctx, "service_account_token_rotated", sa_gid, sa_name, details);
	}
	if (status != DB_OK) {
		sodium_memzero(token, sizeof(token));
		return api_fail_db(ctx, status);
	}
	if (api_commit(ctx)) {
		sodium_memzero(token, sizeof(token));
		return 0;
	}
	log_info("service_accounts", "token rotated", "request_id", ctx->req->request_id, "service_account",
		 LOG_INT(sa_gid), "token_gid", LOG_INT(token_gid), "actor", LOG_INT(ctx->who.user_gid), NULL);
	return reply_token(ctx, sa_gid, token_gid, token, 0);
}

/* ---------- DELETE /service_accounts/{service_account_gid}/tokens/{token_gid} ---------- */

/*
 * Revokes one token. Revoking a token that is already revoked changes
 * nothing and returns 200, so a retried request succeeds.
 */
int sa_token_revoke(api_ctx *ctx)
{
	char sa_name[1024] = "";
	int64_t sa_gid, token_gid;
	json_t *details;
	db_stmt *s;
	int status, changed;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) || sa_require_target(ctx, sa_gid))
		return 0;
	if (api_param_gid(ctx, "token_gid", &token_gid))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	s = db_query(ctx->db, "UPDATE tokens SET revoked_at = ?, revoked_by = ?"
			      " WHERE gid = ? AND workspace_gid = ? AND user_gid = ? AND kind = 'service_account'"
			      " AND revoked_at IS NULL");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, ctx->who.user_gid);
	db_bind_int64(s, 2, token_gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	db_bind_int64(s, 4, sa_gid);
	status = db_run(s);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	changed = db_changes(s) > 0;

	if (!changed) {
		json_t *token = token_fetch(ctx, sa_gid, token_gid);

		db_rollback(ctx->db);
		if (token == NULL)
			return api_not_found(ctx, "service account token", token_gid);
		json_decref(token);
		return api_reply_empty(ctx);
	}

	status = sa_name_get(ctx, sa_gid, sa_name, sizeof(sa_name)) == DB_ROW ? DB_OK : DB_ERROR;
	if (status == DB_OK) {
		details = json_object();
		json_object_set_new(details, "token_gid", api_gid(token_gid));
		status = sa_audit(ctx, "service_account_token_revoked", sa_gid, sa_name, details);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	log_info("service_accounts", "token revoked", "request_id", ctx->req->request_id, "service_account",
		 LOG_INT(sa_gid), "token_gid", LOG_INT(token_gid), "actor", LOG_INT(ctx->who.user_gid), NULL);
	return api_reply_empty(ctx);
}

/* ---------- POST /service_accounts/{service_account_gid}/deauthorize ---------- */

static const struct api_field no_fields[] = {
	{ NULL, 0, 0, 0, NULL },
};

/* Revokes every token of the account and replies with the account. */
int sa_deauthorize(api_ctx *ctx)
{
	char sa_name[1024] = "";
	int64_t sa_gid;
	json_t *revoked = NULL, *details, *account;
	int status;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) || sa_require_target(ctx, sa_gid))
		return 0;
	if (api_check_body(ctx, no_fields))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	status = sa_name_get(ctx, sa_gid, sa_name, sizeof(sa_name));
	if (status == DB_DONE) {
		db_rollback(ctx->db);
		return api_not_found(ctx, "service account", sa_gid);
	}
	if (status != DB_ROW)
		return api_fail_db(ctx, status);
	status = sa_tokens_revoke_all(ctx, sa_gid, time_now_us(), &revoked);
	if (status != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, status);
	}
	details = json_object();
	json_object_set_new(details, "revoked_token_gids", revoked);
	status = sa_audit(ctx, "service_account_deauthorized", sa_gid, sa_name, details);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	log_info("service_accounts", "service account deauthorized", "request_id", ctx->req->request_id,
		 "service_account", LOG_INT(sa_gid), "actor", LOG_INT(ctx->who.user_gid), NULL);

	account = sa_present(ctx, sa_gid);
	if (account == NULL)
		return api_not_found(ctx, "service account", sa_gid);
	return api_reply(ctx, 200, api_present(ctx, &api_service_account_type, account));
}
