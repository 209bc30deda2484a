/*
 * Admin-console sessions: a cookie set at sign-in, stored only as a keyed
 * hash, and a CSRF token derived from the session that every state-changing
 * request must echo in the X-CSRF-Token header.
 *
 * Cookie value: <16 hex digits: session gid>.<43 base62 characters: secret>.
 * The sessions row keeps hex HMAC-SHA256(pepper, "session:" || cookie value);
 * the CSRF token is hex HMAC-SHA256(pepper, "csrf:" || secret), so it needs
 * no storage and changes with every session.
 */
#ifndef KONTOR_AUTH_SESSION_H
#define KONTOR_AUTH_SESSION_H

#include "auth/auth.h"

#include <stddef.h>
#include <stdint.h>

#define SESSION_COOKIE "kontor_session"
#define CSRF_HEADER "X-CSRF-Token"

#define SESSION_SECRET_CHARS 43                    /* base62 characters, about 256 bits */
#define SESSION_COOKIE_MAX 64                      /* cookie value and its NUL */
#define SESSION_CSRF_MAX 65                        /* 64 hex digits and a NUL */
#define SESSION_LIFETIME_US (12LL * 3600 * 1000000) /* from sign-in, not extended by use */
#define SESSION_SEEN_INTERVAL_US (60LL * 1000000)   /* last_seen_at is written at most this often */
#define SESSION_SET_COOKIE_MAX 160                 /* a Set-Cookie header value and its NUL */

/* Session details that session_authenticate returns besides the principal. */
struct session_info {
	int64_t gid;
	int64_t expires_at;             /* microseconds since the epoch */
	int csrf_ok;                    /* the request carries the session's CSRF token */
	char csrf[SESSION_CSRF_MAX];    /* the session's CSRF token */
};

/*
 * Authenticates the session cookie. Returns AUTH_MISSING without a cookie.
 * On AUTH_OK, fills `who` (auth_method "cookie") and sets *csrf_ok_r to 1
 * when the request carries the session's CSRF token.
 */
enum auth_result auth_session(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			      int *csrf_ok_r, int *db_status_r);

/*
 * Does what auth_session does and also fills `info`. The session is refused
 * (AUTH_INVALID) when the cookie is malformed or unknown, the hash differs,
 * it was revoked or is past expires_at, the user is a service account, or the
 * user's membership is inactive. These are checked on every call, so signing
 * out or deactivating a person takes effect on the next request.
 */
enum auth_result session_authenticate(db_conn *c, const unsigned char *pepper, const http_request *req,
				      principal *who, struct session_info *info, int *db_status_r);

/*
 * Does what session_authenticate does for a cookie value and a presented
 * CSRF token (NULL when none) given directly rather than in a request.
 */
enum auth_result session_check(db_conn *c, const unsigned char *pepper, const char *cookie, const char *csrf,
				principal *who, struct session_info *info, int *db_status_r);

/*
 * Inserts a session for a person inside the caller's open transaction and
 * deletes that user's sessions that expired. Writes the cookie value into
 * `cookie_out` (SESSION_COOKIE_MAX bytes) and its CSRF token into `csrf_out`
 * (SESSION_CSRF_MAX bytes). Returns a db status.
 */
int session_create(db_conn *c, const unsigned char *pepper, int64_t workspace_gid, int64_t user_gid,
		   const char *client_ip, const char *user_agent, char *cookie_out, char *csrf_out);

/* Marks a session revoked. Returns a db status. */
int session_revoke(db_conn *c, int64_t session_gid);

/*
 * Formats the Set-Cookie header value into `out` (SESSION_SET_COOKIE_MAX
 * bytes): HttpOnly, SameSite=Strict, Path=/, Max-Age of the session lifetime
 * and Secure when `secure`. A NULL `value` formats a cookie that deletes
 * the browser's copy (empty value, Max-Age=0).
 */
void session_set_cookie(const char *value, int secure, char *out);

#endif
