/*
 * Organization, user and token rows created outside the API (by the CLI,
 * the demo and tests), and the queries on them that API files share.
 */
#ifndef KONTOR_STORE_ORG_H
#define KONTOR_STORE_ORG_H

#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

/* Plans an organization may have. */
extern const char *const store_plans[];
int store_plan_valid(const char *plan);

#define STORE_EMAIL_DOMAINS_MAX 50 /* domains one organization may list */
#define STORE_DOMAIN_MAX 253       /* bytes in one domain name (RFC 1035, section 2.3.4) */
/* Bytes of a buffer for the stored list, NUL included. */
#define STORE_EMAIL_DOMAINS_BYTES (STORE_EMAIL_DOMAINS_MAX * (STORE_DOMAIN_MAX + 1))

/*
 * Inserts an organization whose email_domains column is `email_domains`,
 * in the form store_email_domains_normalize writes ("" for none). Returns a
 * db status and sets *gid_r.
 */
int store_org_create(db_conn *c, const char *name, const char *plan, const char *email_domains, int64_t *gid_r);

/*
 * Normalizes a comma-separated list of e-mail domains such as
 * "Example.se, b.se" into the stored form "example.se,b.se": blanks
 * trimmed, lowercased, duplicates and empty entries dropped. Each domain
 * must be a host name (labels of 1 to 63 letters, digits and inner hyphens,
 * joined by dots). Writes into `out` (STORE_EMAIL_DOMAINS_BYTES bytes) and
 * returns 0, or returns -1 with a message naming the bad value in `err`.
 */
int store_email_domains_normalize(const char *list, char *out, size_t out_len, char *err, size_t errlen);

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

/*
 * Counts the organization's active super admins who are people, leaving
 * out `except_user_gid`, so that callers can keep at least one. Returns a
 * db status (DB_OK with *count_r set).
 */
int store_org_other_super_admins(db_conn *c, int64_t org_gid, int64_t except_user_gid, int64_t *count_r);
/* Lowercases an e-mail address into `out`. */
void store_email_lower(const char *email, char *out, size_t len);

#endif
