/*
 * What service_accounts.c (accounts) and service_account_tokens.c (tokens,
 * rotation, idempotency) share; nothing outside those two files uses it.
 */
#ifndef KONTOR_API_SERVICE_ACCOUNTS_INTERNAL_H
#define KONTOR_API_SERVICE_ACCOUNTS_INTERNAL_H

#include "api/api.h"
#include "auth/token.h"

#include <jansson.h>
#include <stdint.h>

#define SA_NAME_MAX_CHARS 255
#define SA_LIVE_TOKENS_MAX 2                          /* live = not revoked and not expired */
#define SA_TOKEN_LIFETIME_MAX_US (730LL * 86400 * 1000000) /* expiry at most 730 days (2 years) ahead */
#define SA_INACTIVE_TOKENS_SHOWN 10                   /* revoked or expired tokens embedded in an account */

/* Route handlers of service_account_tokens.c, listed in the route table of service_accounts.c. */
int sa_tokens_list(api_ctx *ctx);
int sa_token_rotate(api_ctx *ctx);
int sa_token_revoke(api_ctx *ctx);
int sa_deauthorize(api_ctx *ctx);

/*
 * Builds a token object from the current row of a statement whose columns
 * follow SA_TOKEN_COLUMNS, with `status` computed against `now`. Returns a
 * new reference.
 */
#define SA_TOKEN_COLUMNS \
	"t.gid, t.name, t.created_at, t.created_by, cu.name, t.expires_at, t.last_used_at, t.last_used_ip," \
	" t.revoked_at, t.user_gid"
enum { TC_GID, TC_NAME, TC_CREATED_AT, TC_CREATED_BY, TC_CREATED_BY_NAME, TC_EXPIRES_AT, TC_LAST_USED_AT,
       TC_LAST_USED_IP, TC_REVOKED_AT, TC_USER_GID };
json_t *sa_token_from_row(db_stmt *s, int64_t now);
/* 1 when a token row is live: not revoked and not expired at `now`. */
int sa_token_row_live(db_stmt *s, int64_t now);

/*
 * Checks an optional expiry field of the body (`field`: "token_expires_at"
 * or "expires_at"): absent or null gives 0 (never expires). Replies 400 and
 * returns -1 unless it is in the future and at most SA_TOKEN_LIFETIME_MAX_US
 * ahead.
 */
int sa_expiry_parse(api_ctx *ctx, const char *field, int64_t *expires_at_r);

/*
 * Mints a service-account token for `sa_gid` and stores its hash, inside
 * the caller's open transaction. Writes the token into `token_out`
 * (TOKEN_MAX bytes; wipe it after use) and its gid into *token_gid_r.
 * Returns a db status.
 */
int sa_token_insert(api_ctx *ctx, int64_t sa_gid, const char *name, int64_t expires_at, char *token_out,
		    int64_t *token_gid_r);

/* Counts the live tokens of a service account into *count_r. Returns a db status. */
int sa_live_token_count(api_ctx *ctx, int64_t sa_gid, int64_t *count_r);

/*
 * Revokes every unrevoked token of an account inside the caller's open
 * transaction and lists their gids in a new JSON array (*revoked_gids_r,
 * set even on failure). Returns a db status.
 */
int sa_tokens_revoke_all(api_ctx *ctx, int64_t sa_gid, int64_t now, json_t **revoked_gids_r);

/*
 * Checks a name (of an account or a token) and writes it, trimmed of
 * surrounding spaces, into `out`: 1 to SA_NAME_MAX_CHARS characters, no
 * control characters. Replies 400 naming `name` and returns -1 when invalid.
 */
int sa_name_parse(api_ctx *ctx, const char *raw, char *out, size_t len);

/* Reads the name of a service account of the caller's organization into `out`. Returns DB_ROW, DB_DONE or an error. */
int sa_name_get(api_ctx *ctx, int64_t sa_gid, char *out, size_t len);

#endif
