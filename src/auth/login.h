/*
 * Password sign-in for the admin console: throttling, Argon2id verification,
 * audit records and the new session, in that order. The HTTP side (body,
 * cookie header, status codes) is in src/api/admin.c.
 */
#ifndef KONTOR_AUTH_LOGIN_H
#define KONTOR_AUTH_LOGIN_H

#include "auth/session.h"
#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

#define LOGIN_WINDOW_US (15LL * 60 * 1000000) /* sliding window over which failures count */
#define LOGIN_EMAIL_FAILURES_MAX 10           /* failed attempts per e-mail address in the window */
#define LOGIN_IP_FAILURES_MAX 50              /* failed attempts per client IP in the window */

enum login_result {
	LOGIN_OK = 0,
	LOGIN_INVALID = 1,   /* unknown e-mail, wrong password, no password, deactivated, or a service account */
	LOGIN_THROTTLED = 2, /* too many failures in the window; retry_after_s gives the wait */
	LOGIN_DB_ERROR = 3,  /* storage failed; db_status gives the db status */
};

struct login_request {
	const char *email;            /* checked by the caller: an address with '@', at most 254 bytes */
	const char *password;         /* at most PASSWORD_BYTES_MAX bytes; never stored or logged */
	size_t password_len;
	const char *client_ip;
	const char *user_agent;       /* may be NULL */
	const char *request_id;       /* for log lines */
	const unsigned char *pepper;  /* key of the session hash */
};

struct login_outcome {
	int64_t user_gid;                /* LOGIN_OK */
	int64_t workspace_gid;           /* LOGIN_OK */
	int retry_after_s;               /* LOGIN_THROTTLED */
	int db_status;                   /* LOGIN_DB_ERROR */
	char cookie[SESSION_COOKIE_MAX]; /* LOGIN_OK: the session cookie's value */
	char csrf[SESSION_CSRF_MAX];     /* LOGIN_OK: the session's CSRF token */
};

/*
 * Signs a person in with e-mail and password. Every attempt first counts as
 * a failure in login_failures, so parallel guesses cannot pass the limits.
 * A success removes the failures of that e-mail address, and an attempt
 * rejected for throttling is not counted. Unknown e-mail addresses and
 * accounts without a password are verified against a dummy hash, so timing
 * does not reveal which addresses exist. Writes the audit records
 * user_login_succeeded, user_login_failed and service_account_login_refused
 * and, on success, rehashes a password whose hash uses outdated limits.
 * Must not be called inside a transaction.
 */
enum login_result auth_login(db_conn *c, const struct login_request *request, struct login_outcome *out);

#endif
