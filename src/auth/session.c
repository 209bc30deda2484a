/*
 * Session-cookie authentication for the admin console, and the creation and
 * revocation of sessions. Every request reads the session row with the
 * user's kind, the membership and the plan in one query. Nothing is cached,
 * so sign-out and deactivation take effect on the next request.
 */
#include "auth/session.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define GID_HEX_CHARS 16
#define HASH_HEX_MAX (crypto_auth_hmacsha256_BYTES * 2 + 1)

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const char session_lookup_sql[] =
	"SELECT s.hash, s.user_gid, s.workspace_gid, s.expires_at, s.last_seen_at, s.revoked_at,"
	" u.kind, m.role, m.is_active, w.plan"
	" FROM sessions s"
	" JOIN users u ON u.gid = s.user_gid"
	" JOIN workspace_memberships m ON m.user_gid = s.user_gid AND m.workspace_gid = s.workspace_gid"
	" JOIN workspaces w ON w.gid = s.workspace_gid"
	" WHERE s.gid = ?";

/* The `last_seen_at < ?` condition keeps concurrent requests of one session from all writing. */
static const char session_touch_sql[] = "UPDATE sessions SET last_seen_at = ? WHERE gid = ? AND last_seen_at < ?";

/* Writes hex HMAC-SHA256(pepper, prefix || text) into `out` (HASH_HEX_MAX bytes). */
static void keyed_hash(const unsigned char *pepper, const char *prefix, const char *text, char *out)
{
	crypto_auth_hmacsha256_state state;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&state, pepper, crypto_auth_hmacsha256_KEYBYTES);
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)prefix, strlen(prefix));
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)text, strlen(text));
	crypto_auth_hmacsha256_final(&state, mac);
	sodium_bin2hex(out, HASH_HEX_MAX, mac, sizeof(mac));
	sodium_memzero(&state, sizeof(state));
	sodium_memzero(mac, sizeof(mac));
}

/* Compares two NUL-terminated secrets in time that depends only on their lengths. */
static int secret_equal(const char *a, const char *b)
{
	size_t len = strlen(a);

	if (len == 0 || len != strlen(b))
		return 0;
	return sodium_memcmp(a, b, len) == 0;
}

/*
 * Splits a cookie value into the session gid and a pointer to the secret.
 * Returns 0, or -1 when it does not have the exact format.
 */
static int cookie_parse(const char *value, int64_t *gid_r, const char **secret_r)
{
	uint64_t gid = 0;

	if (strlen(value) != GID_HEX_CHARS + 1 + SESSION_SECRET_CHARS || value[GID_HEX_CHARS] != '.')
		return -1;
	for (int i = 0; i < GID_HEX_CHARS; i++) {
		char ch = value[i];
		int digit;

		if (ch >= '0' && ch <= '9')
			digit = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			digit = ch - 'a' + 10;
		else
			return -1;
		gid = gid << 4 | (uint64_t)digit;
	}
	for (int i = GID_HEX_CHARS + 1; value[i]; i++)
		if (strchr(base62, value[i]) == NULL)
			return -1;
	if (gid == 0 || gid > INT64_MAX)
		return -1;
	*gid_r = (int64_t)gid;
	*secret_r = value + GID_HEX_CHARS + 1;
	return 0;
}

/* Fills `out` with `count` uniformly random base62 characters and a NUL. */
static void random_base62(char *out, size_t count)
{
	size_t filled = 0;

	while (filled < count) {
		unsigned char bytes[64];

		randombytes_buf(bytes, sizeof(bytes));
		/* Bytes of 248 and above are skipped: 248 is the largest multiple of 62 below 256, so no letter is favoured. */
		for (size_t i = 0; i < sizeof(bytes) && filled < count; i++)
			if (bytes[i] < 248)
				out[filled++] = base62[bytes[i] % 62];
		sodium_memzero(bytes, sizeof(bytes));
	}
	out[count] = '\0';
}

enum auth_result session_check(db_conn *c, const unsigned char *pepper, const char *cookie, const char *csrf,
				principal *who, struct session_info *info, int *db_status_r)
{
	const char *secret;
	char presented[HASH_HEX_MAX];
	int64_t gid, now, last_seen;
	db_stmt *s;
	int status, ok;

	memset(who, 0, sizeof(*who));
	memset(info, 0, sizeof(*info));
	if (cookie == NULL || cookie[0] == '\0')
		return AUTH_MISSING;
	if (cookie_parse(cookie, &gid, &secret) != 0)
		return AUTH_INVALID;

	s = db_query(c, session_lookup_sql);
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

	keyed_hash(pepper, "session:", cookie, presented);
	now = time_now_us();
	ok = secret_equal(presented, db_column_text(s, 0) ? db_column_text(s, 0) : "");
	ok = ok && db_column_is_null(s, 5);
	ok = ok && db_column_int64(s, 3) > now;
	ok = ok && db_column_int64(s, 8) == 1;
	ok = ok && db_column_text(s, 6) != NULL && strcmp(db_column_text(s, 6), "person") == 0;
	if (ok) {
		int role = role_from_name(db_column_text(s, 7) ? db_column_text(s, 7) : "");

		who->kind = PRINCIPAL_PERSON;
		who->user_gid = db_column_int64(s, 1);
		who->workspace_gid = db_column_int64(s, 2);
		who->token_gid = 0;
		who->role = role < 0 ? ROLE_GUEST : (enum role)role;
		who->scopes = SCOPE_PERSON;
		who->auth_method = "cookie";
		snprintf(who->plan, sizeof(who->plan), "%s", db_column_text(s, 9) ? db_column_text(s, 9) : "");
		info->gid = gid;
		info->expires_at = db_column_int64(s, 3);
	}
	last_seen = db_column_int64(s, 4);
	db_stmt_done(s);
	sodium_memzero(presented, sizeof(presented));
	if (!ok) {
		memset(who, 0, sizeof(*who));
		memset(info, 0, sizeof(*info));
		return AUTH_INVALID;
	}

	keyed_hash(pepper, "csrf:", secret, info->csrf);
	info->csrf_ok = csrf != NULL && secret_equal(csrf, info->csrf);

	if (now - last_seen >= SESSION_SEEN_INTERVAL_US) {
		s = db_query(c, session_touch_sql);
		if (s != NULL) {
			db_bind_int64(s, 0, now);
			db_bind_int64(s, 1, gid);
			db_bind_int64(s, 2, now - SESSION_SEEN_INTERVAL_US);
			status = db_run(s);
			/* Losing one last-seen update is harmless; the request goes on. */
			if (status != DB_OK)
				log_warn("auth", "cannot record session use", "session_gid", LOG_INT(gid), "error",
					 db_conn_errmsg(c), NULL);
		}
	}
	return AUTH_OK;
}

enum auth_result session_authenticate(db_conn *c, const unsigned char *pepper, const http_request *req,
				      principal *who, struct session_info *info, int *db_status_r)
{
	return session_check(c, pepper, http_request_cookie(req, SESSION_COOKIE), http_request_header(req, CSRF_HEADER),
			     who, info, db_status_r);
}

enum auth_result auth_session(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			      int *csrf_ok_r, int *db_status_r)
{
	struct session_info info;
	enum auth_result result = session_authenticate(c, pepper, req, who, &info, db_status_r);

	*csrf_ok_r = result == AUTH_OK && info.csrf_ok;
	sodium_memzero(&info, sizeof(info));
	return result;
}

int session_create(db_conn *c, const unsigned char *pepper, int64_t workspace_gid, int64_t user_gid,
		   const char *client_ip, const char *user_agent, char *cookie_out, char *csrf_out)
{
	char secret[SESSION_SECRET_CHARS + 1], hash[HASH_HEX_MAX], agent[TEXT_USER_AGENT_MAX + 1];
	int64_t gid = gid_next(), now = time_now_us();
	db_stmt *s;
	int status;

	s = db_query(c, "DELETE FROM sessions WHERE user_gid = ? AND expires_at < ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, now);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	random_base62(secret, SESSION_SECRET_CHARS);
	snprintf(cookie_out, SESSION_COOKIE_MAX, "%016llx.%s", (unsigned long long)gid, secret);
	keyed_hash(pepper, "session:", cookie_out, hash);
	keyed_hash(pepper, "csrf:", secret, csrf_out);
	sodium_memzero(secret, sizeof(secret));

	s = db_query(c, "INSERT INTO sessions (gid, workspace_gid, user_gid, hash, created_at, expires_at, last_seen_at,"
			" client_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, workspace_gid);
	db_bind_int64(s, 2, user_gid);
	db_bind_text(s, 3, hash);
	db_bind_int64(s, 4, now);
	db_bind_int64(s, 5, now + SESSION_LIFETIME_US);
	db_bind_int64(s, 6, now);
	db_bind_text(s, 7, client_ip);
	/* User agents are client text of any length and bytes: cut to a bound and made valid UTF-8. */
	if (user_agent != NULL)
		db_bind_text(s, 8, text_utf8_copy(agent, sizeof(agent), user_agent));
	else
		db_bind_null(s, 8);
	return db_run(s);
}

int session_revoke(db_conn *c, int64_t session_gid)
{
	db_stmt *s = db_query(c, "UPDATE sessions SET revoked_at = ? WHERE gid = ? AND revoked_at IS NULL");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, session_gid);
	return db_run(s);
}

void session_set_cookie(const char *value, int secure, char *out)
{
	snprintf(out, SESSION_SET_COOKIE_MAX, "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s",
		 SESSION_COOKIE, value ? value : "", value ? (long long)(SESSION_LIFETIME_US / 1000000) : 0LL,
		 secure ? "; Secure" : "");
}
