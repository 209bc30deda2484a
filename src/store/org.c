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

int store_org_create(db_conn *c, const char *name, const char *plan, const char *email_domains, int64_t *gid_r)
{
	db_stmt *s = db_query(c, "INSERT INTO workspaces (gid, name, is_organization, plan, email_domains, created_at)"
				 " VALUES (?, ?, 1, ?, ?, ?)");

	if (s == NULL)
		return DB_ERROR;
	*gid_r = gid_next();
	db_bind_int64(s, 0, *gid_r);
	db_bind_text(s, 1, name);
	db_bind_text(s, 2, plan);
	db_bind_text(s, 3, email_domains);
	db_bind_int64(s, 4, time_now_us());
	return db_run(s);
}

/* 1 when the lowercased `domain` (len bytes) is a host name: dot-separated labels of [a-z0-9-], no edge hyphens. */
static int domain_valid(const char *domain, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > STORE_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = domain[i];

		if (ch == '.') {
			if (label == 0 || domain[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && domain[len - 1] != '-';
}

/* 1 when the stored list `list` ("a.se,b.se") already contains `domain`. */
static int domain_listed(const char *list, const char *domain, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t entry = strcspn(p, ",");

		if (entry == len && memcmp(p, domain, len) == 0)
			return 1;
		p += entry;
		if (*p == ',')
			p++;
	}
	return 0;
}

int store_email_domains_normalize(const char *list, char *out, size_t out_len, char *err, size_t errlen)
{
	char domain[STORE_DOMAIN_MAX + 1];
	size_t used = 0;
	int count = 0;
	const char *p = list;

	out[0] = '\0';
	while (*p != '\0') {
		size_t entry = strcspn(p, ","), start = 0, end = entry, len;

		while (start < end && (p[start] == ' ' || p[start] == '\t'))
			start++;
		while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		len = end - start;
		if (len > STORE_DOMAIN_MAX) {
			snprintf(err, errlen, "\"%.40s...\" is longer than %d bytes, the maximum for a domain name", p + start,
				 STORE_DOMAIN_MAX);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			domain[i] = (char)tolower((unsigned char)p[start + i]);
		domain[len] = '\0';
		if (len > 0 && !domain_valid(domain, len)) {
			snprintf(err, errlen, "\"%.80s\" is not a domain name: use labels of letters, digits and inner "
					      "hyphens joined by dots, such as example.se", domain);
			return -1;
		}
		if (len > 0 && !domain_listed(out, domain, len)) {
			if (++count > STORE_EMAIL_DOMAINS_MAX) {
				snprintf(err, errlen, "more than %d domains; list at most %d", STORE_EMAIL_DOMAINS_MAX,
					 STORE_EMAIL_DOMAINS_MAX);
				return -1;
			}
			/* At most STORE_EMAIL_DOMAINS_MAX entries of STORE_DOMAIN_MAX bytes plus a separator fit. */
			if (used + len + 2 > out_len) {
				snprintf(err, errlen, "the list is too long");
				return -1;
			}
			if (used > 0)
				out[used++] = ',';
			memcpy(out + used, domain, len);
			used += len;
			out[used] = '\0';
		}
		p += entry;
		if (*p == ',')
			p++;
	}
	if (count == 0) {
		snprintf(err, errlen, "no domain given; pass one or more names such as example.se, separated by commas");
		return -1;
	}
	return 0;
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

int store_org_other_super_admins(db_conn *c, int64_t org_gid, int64_t except_user_gid, int64_t *count_r)
{
	db_stmt *s = db_query(c, "SELECT count(*) FROM workspace_memberships m JOIN users u ON u.gid = m.user_gid"
				 " WHERE m.workspace_gid = ? AND m.role = 'super_admin' AND m.is_active = 1"
				 " AND u.kind = 'person' AND m.user_gid <> ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, org_gid);
	db_bind_int64(s, 1, except_user_gid);
	status = db_step(s);
	if (status == DB_ROW)
		*count_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW ? DB_OK : (status == DB_DONE ? DB_ERROR : status);
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
