/* Organization, user and token rows created outside the API: by the CLI, the demo and tests. */
#ifndef KONTOR_STORE_ORG_H
#define KONTOR_STORE_ORG_H

#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

/* Plans an organization may have. */
extern const char *const store_plans[];
int store_plan_valid(const char *plan);

/* Inserts an organization; returns a db status and sets *gid_r. */
int store_org_create(db_conn *c, const char *name, const char *plan, int64_t *gid_r);

/*
 * Inserts a person with a workspace membership of `role`. `password_hash`
 * may be NULL. Returns a db status (DB_CONSTRAINT when the e-mail is taken).
 */
int store_user_create(db_conn *c, int64_t org_gid, const char *email, const char *name, const char *role,
		      const char *password_hash, int64_t *gid_r);

/* Looks up a user by e-mail (case-insensitive); DB_DONE when absent. */
int store_user_find_by_email(db_conn *c, const char *email, int64_t *gid_r, int64_t *org_gid_r);

/*
 * Mints a personal access token for the user, storing only its hash.
 * Writes the token into `token_out` (TOKEN_MAX bytes) and its gid into
 * *gid_r when gid_r is not NULL. Returns a db status.
 */
int store_token_create_personal(db_conn *c, const unsigned char *pepper, int64_t user_gid, int64_t org_gid,
				const char *name, char *token_out, int64_t *gid_r);

/* Lowercases an e-mail address into `out`. */
void store_email_lower(const char *email, char *out, size_t len);

#endif
