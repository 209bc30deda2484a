/*
 * Admin-console sessions: a cookie set at sign-in, stored only as a keyed
 * hash, and a CSRF token derived from the session that every state-changing
 * request must echo in the X-CSRF-Token header.
 */
#ifndef KONTOR_AUTH_SESSION_H
#define KONTOR_AUTH_SESSION_H

#include "auth/auth.h"

#define SESSION_COOKIE "kontor_session"
#define CSRF_HEADER "X-CSRF-Token"

/*
 * Authenticates the session cookie. Returns AUTH_MISSING without a cookie.
 * On AUTH_OK, fills `who` (auth_method "cookie") and sets *csrf_ok_r to 1
 * when the request carries the session's CSRF token.
 */
enum auth_result auth_session(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			      int *csrf_ok_r, int *db_status_r);

#endif
