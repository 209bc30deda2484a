/*
 * Service accounts as other API files use them: the management checks that
 * every service-account endpoint runs first, the full representation, and
 * the rule about which plans have service accounts. The endpoints themselves
 * are in service_accounts.c (accounts) and service_account_tokens.c (tokens).
 */
#ifndef KONTOR_API_SERVICE_ACCOUNTS_H
#define KONTOR_API_SERVICE_ACCOUNTS_H

#include "api/api.h"

#include <jansson.h>
#include <stdint.h>

/*
 * Checks that the caller may manage service accounts: a person (not a
 * service account) who is a super admin of an organization whose plan has
 * service accounts. Returns 0 when allowed. Otherwise replies 403 (service
 * account, division admin, admin, member or guest) or 402 (plan) and
 * returns -1; the handler then returns 0. Endpoints that create tokens or
 * change an account call it.
 */
int sa_require_manager(api_ctx *ctx);

/*
 * Checks the caller like sa_require_manager, but on any plan. The endpoints
 * that read accounts and tokens, revoke a token, deauthorize or delete an
 * account call it. A super admin can then end a leaked token's access while
 * the organization is on a plan without service accounts, instead of seeing
 * every old token work again when the plan returns.
 */
int sa_require_manager_any_plan(api_ctx *ctx);

/*
 * Checks that `sa_gid` is a service account of the caller's organization.
 * Returns 0 when it is; replies 404 and returns -1 when not (including
 * accounts of other organizations and deleted ones), or after a storage
 * failure reply.
 */
int sa_require_target(api_ctx *ctx, int64_t sa_gid);

/*
 * Builds the full representation of a service account of the caller's
 * organization (resource_type "service_account"). Returns a new reference,
 * or NULL when there is no such account or storage failed. It never
 * contains a token string.
 */
json_t *sa_present(api_ctx *ctx, int64_t sa_gid);

/*
 * Replies 402 saying that service accounts need an enterprise plan and
 * naming the plans. Returns 0. The dispatcher uses it for tokens of service
 * accounts whose organization left those plans (principal.plan_blocked).
 */
int sa_reply_plan_required(api_ctx *ctx);

/*
 * Appends an audit record about a service account inside the caller's open
 * transaction: event_type as in the audit log ("service_account_renamed" ...),
 * category access_control, the caller as actor (gid, name, e-mail), the
 * account as resource (resource_type "user", resource_subtype
 * "service_account"), and the request's authentication method and client
 * IP. Steals `details` (may be NULL). Returns a db status.
 */
int sa_audit(api_ctx *ctx, const char *event_type, int64_t sa_gid, const char *sa_name, json_t *details);

extern const struct api_type api_service_account_type;
extern const struct api_type api_service_account_token_type;

#endif
