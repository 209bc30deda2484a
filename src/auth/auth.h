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
	AUTH_DB_ERROR = 3,  /* storage failed; *db_status_r gives the status */
};

/*
 * Authenticates a Bearer token: checks format and checksum, looks the token
 * up by its embedded gid, compares the keyed hash in constant time, and
 * checks revocation, expiry and the user's membership on every call, so
 * revoking takes effect on the next request. Records last use (time, IP)
 * at most once a minute per token.
 *
 * A service account's token also needs the account's service_accounts row
 * (gone once the account is deleted), and fills who->scopes from it. When
 * the organization's plan has no service accounts, the result is still
 * AUTH_OK but who->plan_blocked is set: the caller answers 402.
 */
enum auth_result auth_bearer(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			     int *db_status_r);

/*
 * Returns 1 when an organization on `plan` may have service accounts
 * (enterprise, enterprise_plus, legacy_enterprise), else 0.
 */
int auth_plan_has_service_accounts(const char *plan);
/* The plans of auth_plan_has_service_accounts, as a phrase for messages. */
#define AUTH_SERVICE_ACCOUNT_PLANS "enterprise, enterprise_plus or legacy_enterprise"

/*
 * Converts the stored scopes of a service account ("full", or a
 * comma-separated subset of read, scim, exports, audit_logs) into SCOPE_
 * bits. Unknown names add nothing, so a damaged value grants less, never more.
 */
unsigned auth_scopes_parse(const char *text);

/* Minimum interval between last-use updates of one token. */
#define AUTH_LAST_USED_INTERVAL_US (60LL * 1000000)

/*
 * Returns 1 when the caller should record token `gid`'s use at `now_us`,
 * 0 when a request of this process claimed it less than the interval ago.
 */
int auth_last_use_claim(int64_t gid, int64_t now_us);
/* Gives back the claim made at `now_us` after its update failed, so that the next request records the use. */
void auth_last_use_release(int64_t gid, int64_t now_us);

#endif
