/* Turns a request's credentials into a principal. */
#ifndef KONTOR_AUTH_AUTH_H
#define KONTOR_AUTH_AUTH_H

#include "auth/principal.h"
#include "http/http.h"
#include "store/db.h"

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING = 1,   /* no credentials sent */
	AUTH_INVALID = 2,   /* malformed, unknown, revoked or expired token; inactive user */
	AUTH_DB_ERROR = 3,  /* storage failed; *db_status_r says how */
};

/*
 * Authenticates a Bearer token: checks format and checksum, looks the token
 * up by its embedded gid, compares the keyed hash in constant time, and
 * checks revocation, expiry and the user's membership on every call, so
 * revoking takes effect on the next request. Records last use (time, IP)
 * at most once a minute per token.
 */
enum auth_result auth_bearer(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			     int *db_status_r);

/* Minimum interval between last-use updates of one token. */
#define AUTH_LAST_USED_INTERVAL_US (60LL * 1000000)

#endif
