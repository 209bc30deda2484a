/*
 * Bearer-token authentication. The token row is read with the user's
 * organization membership, plan and (for service accounts) scopes in one
 * query; nothing is cached, so a revoked token, a deactivated user, a
 * deleted service account or changed permissions take effect on the very
 * next request.
 */
#include "auth/auth.h"
#include "auth/token.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
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

static const char token_touch_sql[] = "UPDATE tokens SET last_used_at = ?, last_used_ip = ? WHERE gid = ?";

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
		log_warn("auth", "cannot replace a token's hash with the current scheme", "token_gid", LOG_INT(gid),
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

enum auth_result auth_bearer(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			     int *db_status_r)
{
	const char *text = bearer_of(req);
	enum token_kind kind;
	int64_t gid, now, last_used;
	db_stmt *s;
	int status, ok, legacy = 0;

	memset(who, 0, sizeof(*who));
	if (text == NULL)
		return AUTH_MISSING;
	if (token_parse(text, &kind, &gid) != 0)
		return AUTH_INVALID;

	s = db_query(c, token_lookup_sql);
	if (s == NULL) {
		*db_status_r = DB_ERROR;
		return AUTH_DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	status = db_step(s);
	if (status != DB_ROW) {
		db_stmt_done(s);
		if (status == DB_DONE)
			return AUTH_INVALID;
		*db_status_r = status;
		return AUTH_DB_ERROR;
	}

	now = time_now_us();
	ok = token_verify(text, pepper, db_column_text(s, COL_HASH) ? db_column_text(s, COL_HASH) : "", &legacy);
	ok = ok && db_column_is_null(s, COL_REVOKED);
	ok = ok && (db_column_is_null(s, COL_EXPIRES) || db_column_int64(s, COL_EXPIRES) > now);
	ok = ok && db_column_int64(s, COL_ACTIVE) == 1;
	if (ok) {
		const char *user_kind = db_column_text(s, COL_KIND);
		int role = role_from_name(db_column_text(s, COL_ROLE) ? db_column_text(s, COL_ROLE) : "");

		who->user_gid = db_column_int64(s, COL_USER);
		who->workspace_gid = db_column_int64(s, COL_WORKSPACE);
		who->token_gid = gid;
		who->role = role < 0 ? ROLE_GUEST : (enum role)role;
		snprintf(who->plan, sizeof(who->plan), "%s",
			 db_column_text(s, COL_PLAN) ? db_column_text(s, COL_PLAN) : "");
		if (user_kind && strcmp(user_kind, "service_account") == 0) {
			who->kind = PRINCIPAL_SERVICE_ACCOUNT;
			who->auth_method = "service_account";
			who->scopes = auth_scopes_parse(db_column_text(s, COL_SCOPES));
			/* A deleted account has no service_accounts row; its tokens are dead even if a revocation was missed. */
			if (db_column_is_null(s, COL_SCOPES))
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
	last_used = db_column_is_null(s, COL_LAST_USED) ? 0 : db_column_int64(s, COL_LAST_USED);
	db_stmt_done(s);
	if (!ok) {
		memset(who, 0, sizeof(*who));
		return AUTH_INVALID;
	}

	if (legacy)
		upgrade_hash(c, text, pepper, gid);
	if (now - last_used >= AUTH_LAST_USED_INTERVAL_US) {
		s = db_query(c, token_touch_sql);
		if (s != NULL) {
			db_bind_int64(s, 0, now);
			db_bind_text(s, 1, req->client_ip);
			db_bind_int64(s, 2, gid);
			status = db_run(s);
			/* Losing one last-use update is harmless; the request goes on. */
			if (status != DB_OK)
				log_warn("auth", "cannot record token use", "token_gid", LOG_INT(gid), "error",
					 db_conn_errmsg(c), NULL);
		}
	}
	return AUTH_OK;
}
