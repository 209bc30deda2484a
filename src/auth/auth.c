/*
 * Bearer-token authentication. The token row is read with the user's
 * organization membership, plan and (for service accounts) scopes in one
 * query. A row is reused only while the database content it came from is
 * unchanged (token_memo), so a revoked token, a deactivated user, a
 * deleted service account or changed permissions take effect on the very
 * next request.
 */
#include "auth/auth.h"
#include "auth/token.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char token_lookup_sql[] =
	"SELECT t.hash, t.user_gid, t.workspace_gid, t.revoked_at, t.expires_at, t.last_used_at,"
	" u.kind, m.role, m.is_active, w.plan, sa.scopes"
	" FROM tokens t"
	" JOIN users u ON u.gid = t.user_gid"
	" JOIN workspace_memberships m ON m.user_gid = t.user_gid AND m.workspace_gid = t.workspace_gid"
	" JOIN workspaces w ON w.gid = t.workspace_gid"
	" LEFT JOIN service_accounts sa ON sa.user_gid = t.user_gid AND sa.workspace_gid = t.workspace_gid"
	" WHERE t.gid = ?";

/* Column order of token_lookup_sql. */
enum {
	COL_HASH, COL_USER, COL_WORKSPACE, COL_REVOKED, COL_EXPIRES, COL_LAST_USED,
	COL_KIND, COL_ROLE, COL_ACTIVE, COL_PLAN, COL_SCOPES,
};

/*
 * Records a token's last use unless another request, in this process or
 * another node, already did within the interval: the last parameter is
 * the time before which a recorded use counts as stale.
 */
static const char token_touch_sql[] = "UPDATE tokens SET last_used_at = ?, last_used_ip = ?"
				      " WHERE gid = ? AND (last_used_at IS NULL OR last_used_at <= ?)";

/*
 * Last-use updates claimed in this process, in slots picked by token gid.
 * A slot contains 32 bits of the gid's hash and the claim's time in seconds.
 * Without the claim, every request in flight when a token's last use turns
 * stale updates the same row. The updates wait on its row lock one after
 * another, each with its own commit: on PostgreSQL this stalled requests
 * at 64 connections for up to 1.8 s once a minute (wrk, bench/README.md).
 * A different token in the slot takes it over, so a collision costs an
 * extra update, never a missed one.
 */
#define TOUCH_SLOTS 1024
static _Atomic uint64_t touch_claims[TOUCH_SLOTS];

#define CLAIM_TAG_BITS UINT64_C(0xFFFFFFFF00000000)
#define CLAIM_TIME_BITS UINT64_C(0xFFFFFFFF)

/* Returns token `gid`'s slot and sets *claim_r to the slot's word for a claim at `now_us`. */
static _Atomic uint64_t *claim_slot(int64_t gid, int64_t now_us, uint64_t *claim_r)
{
	uint64_t mixed = (uint64_t)gid * UINT64_C(0x9E3779B97F4A7C15);

	*claim_r = (mixed & CLAIM_TAG_BITS) | ((uint64_t)(now_us / 1000000) & CLAIM_TIME_BITS);
	return &touch_claims[mixed >> 54];
}

int auth_last_use_claim(int64_t gid, int64_t now_us)
{
	uint64_t claim;
	_Atomic uint64_t *slot = claim_slot(gid, now_us, &claim);
	uint64_t seen = atomic_load_explicit(slot, memory_order_relaxed);

	if ((seen & CLAIM_TAG_BITS) == (claim & CLAIM_TAG_BITS) &&
	    (claim & CLAIM_TIME_BITS) - (seen & CLAIM_TIME_BITS) < (uint64_t)(AUTH_LAST_USED_INTERVAL_US / 1000000))
		return 0;
	return atomic_compare_exchange_strong_explicit(slot, &seen, claim, memory_order_relaxed, memory_order_relaxed);
}

void auth_last_use_release(int64_t gid, int64_t now_us)
{
	uint64_t claim;
	_Atomic uint64_t *slot = claim_slot(gid, now_us, &claim);

	/* Only this claim is cleared: a later one, or another token's, stays. */
	atomic_compare_exchange_strong_explicit(slot, &claim, 0, memory_order_relaxed, memory_order_relaxed);
}

int auth_plan_has_service_accounts(const char *plan)
{
	static const char *const plans[] = { "enterprise", "enterprise_plus", "legacy_enterprise", NULL };

	for (const char *const *p = plans; *p; p++)
		if (strcmp(*p, plan) == 0)
			return 1;
	return 0;
}

unsigned auth_scopes_parse(const char *text)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "full", SCOPE_FULL }, { "read", SCOPE_READ }, { "scim", SCOPE_SCIM },
		{ "exports", SCOPE_EXPORTS }, { "audit_logs", SCOPE_AUDIT_LOGS },
	};
	unsigned scopes = 0;

	while (text != NULL && *text) {
		size_t len = strcspn(text, ",");

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len && strncmp(names[i].name, text, len) == 0)
				scopes |= names[i].bit;
		text += len;
		if (*text == ',')
			text++;
	}
	return scopes;
}

/*
 * Replaces a token's hash of the earlier scheme (token.h) once the token
 * has been presented and verified, so that each token pays for HMAC-SHA256
 * once. The update names the old hash, so it changes nothing if another
 * node or request already replaced it.
 */
static void upgrade_hash(db_conn *c, const char *text, const unsigned char *pepper, int64_t gid)
{
	char legacy[TOKEN_HASH_HEX], current[TOKEN_HASH_HEX];
	db_stmt *s = db_query(c, "UPDATE tokens SET hash = ? WHERE gid = ? AND hash = ?");
	int status;

	if (s == NULL)
		return;
	token_hash_legacy(text, pepper, legacy);
	token_hash(text, pepper, current);
	db_bind_text(s, 0, current);
	db_bind_int64(s, 1, gid);
	db_bind_text(s, 2, legacy);
	status = db_run(s);
	sodium_memzero(legacy, sizeof(legacy));
	sodium_memzero(current, sizeof(current));
	/* The old hash still verifies, so a failed upgrade is retried on the next request. */
	if (status != DB_OK)
		log_warn("auth", "failed to replace a token's hash with the current scheme", "token_gid", LOG_INT(gid),
			 "error", db_conn_errmsg(c), NULL);
}

static const char *bearer_of(const http_request *req)
{
	const char *header = http_request_header(req, "Authorization");

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return header;
}

/* The columns of token_lookup_sql that authentication uses, copied out of the statement. */
struct token_row {
	int64_t gid;
	char hash[TOKEN_HASH_HEX];
	int64_t user_gid, workspace_gid, expires_at, last_used_at;
	int revoked, has_expiry, active, is_service_account, has_scopes;
	char role[16];
	char plan[24];
	char scopes[64];
};

/*
 * The last token row each thread read, with the content version of the
 * snapshot it came from (db_content_version). A request whose snapshot has
 * the same version would read the same row, because no connection or
 * process committed anything in between. A revocation, a deleted account
 * or a changed role moves the version. So the row is reused instead of
 * read again, and every check below still runs on it, the token's hash
 * included. Engines without a version (PostgreSQL) always read.
 */
struct token_memo {
	struct db_version version;
	struct token_row row;
	int valid;
};

static _Thread_local struct token_memo memo;

static void copy_text(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
		len = size - 1;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

/* Reads the row of token `gid` into `row`. Returns DB_ROW, DB_DONE (no such token) or a db error. */
static int token_row_read(db_conn *c, int64_t gid, struct token_row *row)
{
	struct db_version version;
	int versioned = db_content_version(c, &version) == DB_OK;
	db_stmt *s;
	int status;

	if (versioned && memo.valid && memo.row.gid == gid && memo.version.epoch == version.epoch &&
	    memo.version.data == version.data) {
		*row = memo.row;
		return DB_ROW;
	}
	memo.valid = 0;
	s = db_query(c, token_lookup_sql);
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	status = db_step(s);
	if (status == DB_ROW) {
		const char *kind = db_column_text(s, COL_KIND);

		memset(row, 0, sizeof(*row));
		row->gid = gid;
		copy_text(row->hash, sizeof(row->hash), db_column_text(s, COL_HASH));
		row->user_gid = db_column_int64(s, COL_USER);
		row->workspace_gid = db_column_int64(s, COL_WORKSPACE);
		row->revoked = !db_column_is_null(s, COL_REVOKED);
		row->has_expiry = !db_column_is_null(s, COL_EXPIRES);
		row->expires_at = row->has_expiry ? db_column_int64(s, COL_EXPIRES) : 0;
		row->last_used_at = db_column_is_null(s, COL_LAST_USED) ? 0 : db_column_int64(s, COL_LAST_USED);
		row->is_service_account = kind != NULL && strcmp(kind, "service_account") == 0;
		copy_text(row->role, sizeof(row->role), db_column_text(s, COL_ROLE));
		row->active = db_column_int64(s, COL_ACTIVE) == 1;
		copy_text(row->plan, sizeof(row->plan), db_column_text(s, COL_PLAN));
		row->has_scopes = !db_column_is_null(s, COL_SCOPES);
		copy_text(row->scopes, sizeof(row->scopes), db_column_text(s, COL_SCOPES));
	}
	db_stmt_done(s);
	/* Only a row read inside a versioned snapshot is kept, together with that snapshot's version. */
	if (status == DB_ROW && versioned) {
		memo.version = version;
		memo.row = *row;
		memo.valid = 1;
	}
	return status;
}

enum auth_result auth_bearer(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			     int *db_status_r)
{
	const char *header = bearer_of(req);
	char text[TOKEN_MAX];
	struct token_row row;
	enum token_kind kind;
	int64_t gid, now, last_used;
	size_t len;
	db_stmt *s;
	int status, ok, legacy = 0;

	memset(who, 0, sizeof(*who));
	if (header == NULL)
		return AUTH_MISSING;
	/* Whitespace after the token is not part of it (RFC 9110 section 5.5), as a pasted token often carries some. */
	len = strlen(header);
	while (len > 0 && (header[len - 1] == ' ' || header[len - 1] == '\t'))
		len--;
	if (len >= sizeof(text))
		return AUTH_INVALID;
	memcpy(text, header, len);
	text[len] = '\0';
	if (token_parse(text, &kind, &gid) != 0)
		return AUTH_INVALID;

	status = token_row_read(c, gid, &row);
	if (status == DB_DONE)
		return AUTH_INVALID;
	if (status != DB_ROW) {
		*db_status_r = status;
		return AUTH_DB_ERROR;
	}

	now = time_now_us();
	ok = token_verify(text, pepper, row.hash, &legacy);
	ok = ok && !row.revoked;
	ok = ok && (!row.has_expiry || row.expires_at > now);
	ok = ok && row.active;
	if (ok) {
		int role = role_from_name(row.role);

		who->user_gid = row.user_gid;
		who->workspace_gid = row.workspace_gid;
		who->token_gid = gid;
		who->role = role < 0 ? ROLE_GUEST : (enum role)role;
		snprintf(who->plan, sizeof(who->plan), "%s", row.plan);
		if (row.is_service_account) {
			who->kind = PRINCIPAL_SERVICE_ACCOUNT;
			who->auth_method = "service_account";
			who->scopes = auth_scopes_parse(row.scopes);
			/* A deleted account has no service_accounts row; its tokens are dead even if a revocation was missed. */
			if (!row.has_scopes)
				ok = 0;
			who->plan_blocked = !auth_plan_has_service_accounts(who->plan);
		} else {
			who->kind = PRINCIPAL_PERSON;
			who->auth_method = "personal_access_token";
			who->scopes = SCOPE_PERSON;
		}
		/* A token of the wrong kind for its user is not accepted. */
		if ((kind == TOKEN_SERVICE_ACCOUNT) != (who->kind == PRINCIPAL_SERVICE_ACCOUNT))
			ok = 0;
	}
	last_used = row.last_used_at;
	if (!ok) {
		memset(who, 0, sizeof(*who));
		return AUTH_INVALID;
	}

	if (legacy)
		upgrade_hash(c, text, pepper, gid);
	if (now - last_used >= AUTH_LAST_USED_INTERVAL_US && auth_last_use_claim(gid, now)) {
		s = db_query(c, token_touch_sql);
		status = DB_ERROR;
		if (s != NULL) {
			db_bind_int64(s, 0, now);
			db_bind_text(s, 1, req->client_ip);
			db_bind_int64(s, 2, gid);
			db_bind_int64(s, 3, now - AUTH_LAST_USED_INTERVAL_US);
			status = db_run(s);
		}
		/* Losing one last-use update is harmless, so the request goes on, and the next one tries again. */
		if (status != DB_OK) {
			log_warn("auth", "cannot record token use", "token_gid", LOG_INT(gid), "error", db_conn_errmsg(c),
				 NULL);
			auth_last_use_release(gid, now);
		}
	}
	return AUTH_OK;
}
