/* Creation of organizations, people and personal tokens, shared by the CLI and the demo generator. */
#include "store/org.h"
#include "auth/token.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

const char *const store_plans[] = { "personal", "starter", "advanced", "enterprise", "enterprise_plus",
				    "legacy_enterprise", NULL };

int store_plan_valid(const char *plan)
{
	for (const char *const *p = store_plans; *p; p++)
		if (strcmp(*p, plan) == 0)
			return 1;
	return 0;
}

void store_email_lower(const char *email, char *out, size_t len)
{
	size_t i;

	for (i = 0; email[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)email[i]);
	out[i] = '\0';
}

int store_org_create(db_conn *c, const char *name, const char *plan, int64_t *gid_r)
{
	db_stmt *s = db_query(c, "INSERT INTO workspaces (gid, name, is_organization, plan, email_domains, created_at)"
				 " VALUES (?, ?, 1, ?, '', ?)");

	if (s == NULL)
		return DB_ERROR;
	*gid_r = gid_next();
	db_bind_int64(s, 0, *gid_r);
	db_bind_text(s, 1, name);
	db_bind_text(s, 2, plan);
	db_bind_int64(s, 3, time_now_us());
	return db_run(s);
}

int store_user_create(db_conn *c, int64_t org_gid, const char *email, const char *name, const char *role,
		      const char *password_hash, int64_t *gid_r)
{
	char lower[320];
	int64_t now = time_now_us();
	db_stmt *s;
	int status;

	store_email_lower(email, lower, sizeof(lower));
	*gid_r = gid_next();
	s = db_query(c, "INSERT INTO users (gid, workspace_gid, email, email_lower, name, kind, password_hash,"
			" created_at, modified_at) VALUES (?, ?, ?, ?, ?, 'person', ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, *gid_r);
	db_bind_int64(s, 1, org_gid);
	db_bind_text(s, 2, email);
	db_bind_text(s, 3, lower);
	db_bind_text(s, 4, name);
	db_bind_text(s, 5, password_hash);
	db_bind_int64(s, 6, now);
	db_bind_int64(s, 7, now);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	s = db_query(c, "INSERT INTO workspace_memberships (gid, workspace_gid, user_gid, role, is_active, created_at)"
			" VALUES (?, ?, ?, ?, 1, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, org_gid);
	db_bind_int64(s, 2, *gid_r);
	db_bind_text(s, 3, role);
	db_bind_int64(s, 4, now);
	return db_run(s);
}

int store_user_find_by_email(db_conn *c, const char *email, int64_t *gid_r, int64_t *org_gid_r)
{
	char lower[320];
	db_stmt *s = db_query(c, "SELECT gid, workspace_gid FROM users WHERE email_lower = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	store_email_lower(email, lower, sizeof(lower));
	db_bind_text(s, 0, lower);
	status = db_step(s);
	if (status == DB_ROW) {
		*gid_r = db_column_int64(s, 0);
		*org_gid_r = db_column_int64(s, 1);
	}
	db_stmt_done(s);
	return status;
}

int store_token_create_personal(db_conn *c, const unsigned char *pepper, int64_t user_gid, int64_t org_gid,
				const char *name, char *token_out, int64_t *gid_r)
{
	char hash[TOKEN_HASH_HEX];
	int64_t gid = gid_next();
	db_stmt *s;

	if (gid_r != NULL)
		*gid_r = gid;

	token_mint(TOKEN_PERSON, gid, pepper, token_out, hash);
	s = db_query(c, "INSERT INTO tokens (gid, workspace_gid, user_gid, kind, name, hash, created_by, created_at)"
			" VALUES (?, ?, ?, 'personal', ?, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, org_gid);
	db_bind_int64(s, 2, user_gid);
	db_bind_text(s, 3, name ? name : "");
	db_bind_text(s, 4, hash);
	db_bind_int64(s, 5, user_gid);
	db_bind_int64(s, 6, time_now_us());
	sodium_memzero(hash, sizeof(hash));
	return db_run(s);
}
