/*
 * Password sign-in. The slow step, Argon2id verification, runs outside any
 * transaction so that it never holds SQLite's write lock. The throttling
 * counters and the audit records live in the database, so the limits hold
 * across every node that shares it.
 */
#include "auth/login.h"
#include "auth/password.h"
#include "store/audit.h"
#include "store/org.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMAIL_MAX 254

/* The account behind an e-mail address, as far as sign-in needs it. */
struct account {
	int found;
	int64_t gid;
	int64_t workspace_gid;
	int is_person;
	int is_active;
	char *name;
	char *email;
	char *password_hash; /* NULL when none is set */
};

static void account_free(struct account *a)
{
	free(a->name);
	free(a->email);
	if (a->password_hash != NULL) {
		sodium_memzero(a->password_hash, strlen(a->password_hash));
		free(a->password_hash);
	}
	memset(a, 0, sizeof(*a));
}

static char *dup_or_null(const char *text)
{
	return text ? strdup(text) : NULL;
}

static int account_load(db_conn *c, const char *email_lower, struct account *a)
{
	db_stmt *s;
	int status;

	memset(a, 0, sizeof(*a));
	s = db_query(c, "SELECT u.gid, u.workspace_gid, u.name, u.email, u.kind, u.password_hash,"
			" COALESCE(m.is_active, 0)"
			" FROM users u"
			" LEFT JOIN workspace_memberships m ON m.user_gid = u.gid AND m.workspace_gid = u.workspace_gid"
			" WHERE u.email_lower = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, email_lower);
	status = db_step(s);
	if (status == DB_ROW) {
		a->found = 1;
		a->gid = db_column_int64(s, 0);
		a->workspace_gid = db_column_int64(s, 1);
		a->name = dup_or_null(db_column_text(s, 2));
		a->email = dup_or_null(db_column_text(s, 3));
		a->is_person = db_column_text(s, 4) != NULL && strcmp(db_column_text(s, 4), "person") == 0;
		a->password_hash = dup_or_null(db_column_text(s, 5));
		a->is_active = db_column_int64(s, 6) == 1;
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return status;
	return DB_OK;
}

/*
 * Finds the organization that lists the e-mail address's domain in its
 * email_domains, so a failed sign-in with an unknown address of that domain
 * still reaches the organization's audit log. Sets *gid_r to 0 when none does.
 */
static int workspace_for_domain(db_conn *c, const char *email_lower, int64_t *gid_r)
{
	const char *domain = strrchr(email_lower, '@');
	char pattern[2 * EMAIL_MAX + 8];
	size_t used = 0;
	db_stmt *s;
	int status;

	*gid_r = 0;
	if (domain == NULL || domain[1] == '\0')
		return DB_OK;

	/* LIKE pattern ",<domain>," with '!' escaping the wildcards, matched against ",a.test,b.test,". */
	pattern[used++] = '%';
	pattern[used++] = ',';
	for (const char *p = domain + 1; *p && used + 4 < sizeof(pattern); p++) {
		if (*p == '%' || *p == '_' || *p == '!')
			pattern[used++] = '!';
		pattern[used++] = *p;
	}
	pattern[used++] = ',';
	pattern[used++] = '%';
	pattern[used] = '\0';

	s = db_query(c, "SELECT gid FROM workspaces"
			" WHERE ',' || replace(lower(email_domains), ' ', '') || ',' LIKE ? ESCAPE '!'"
			" ORDER BY gid LIMIT 1");
	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, pattern);
	status = db_step(s);
	if (status == DB_ROW)
		*gid_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/* ---------- throttling ---------- */

static int failure_insert(db_conn *c, int64_t gid, const char *email_lower, const char *client_ip, int64_t now)
{
	db_stmt *s = db_query(c, "INSERT INTO login_failures (gid, email_lower, client_ip, created_at)"
				 " VALUES (?, ?, ?, ?)");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	db_bind_text(s, 1, email_lower);
	db_bind_text(s, 2, client_ip);
	db_bind_int64(s, 3, now);
	return db_run(s);
}

static int failure_delete(db_conn *c, int64_t gid)
{
	db_stmt *s = db_query(c, "DELETE FROM login_failures WHERE gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid);
	return db_run(s);
}

/* Counts the failures since `since` and finds the oldest of them (0 when none). */
static int failure_count(db_conn *c, const char *sql, const char *key, int64_t since, int64_t *count_r,
			 int64_t *oldest_r)
{
	db_stmt *s = db_query(c, sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, key);
	db_bind_int64(s, 1, since);
	status = db_step(s);
	if (status == DB_ROW) {
		*count_r = db_column_int64(s, 0);
		*oldest_r = db_column_int64(s, 1);
	}
	db_stmt_done(s);
	return status == DB_ROW ? DB_OK : (status == DB_DONE ? DB_ERROR : status);
}

/* Seconds until the oldest failure leaves the window, at least 1. */
static int retry_after(int64_t oldest, int64_t now)
{
	int64_t us = oldest + LOGIN_WINDOW_US - now;

	return us <= 1000000 ? 1 : (int)((us + 999999) / 1000000);
}

/*
 * Records this attempt as a failure and checks both limits. Sets
 * *throttled_r and *retry_after_r when one is exceeded; the attempt's row is
 * then removed again, so attempts refused for throttling do not extend it.
 */
static int throttle_check(db_conn *c, int64_t attempt_gid, const char *email_lower, const char *client_ip,
			  int64_t now, int *throttled_r, int *retry_after_r)
{
	int64_t email_count = 0, email_oldest = 0, ip_count = 0, ip_oldest = 0;
	int status;

	*throttled_r = 0;
	status = failure_insert(c, attempt_gid, email_lower, client_ip, now);
	if (status != DB_OK)
		return status;

	status = failure_count(c,
			       "SELECT count(*), COALESCE(min(created_at), 0) FROM login_failures"
			       " WHERE email_lower = ? AND created_at > ?",
			       email_lower, now - LOGIN_WINDOW_US, &email_count, &email_oldest);
	if (status != DB_OK)
		return status;
	status = failure_count(c,
			       "SELECT count(*), COALESCE(min(created_at), 0) FROM login_failures"
			       " WHERE client_ip = ? AND created_at > ?",
			       client_ip, now - LOGIN_WINDOW_US, &ip_count, &ip_oldest);
	if (status != DB_OK)
		return status;

	if (email_count <= LOGIN_EMAIL_FAILURES_MAX && ip_count <= LOGIN_IP_FAILURES_MAX)
		return DB_OK;
	*throttled_r = 1;
	*retry_after_r = 1;
	if (email_count > LOGIN_EMAIL_FAILURES_MAX)
		*retry_after_r = retry_after(email_oldest, now);
	if (ip_count > LOGIN_IP_FAILURES_MAX && retry_after(ip_oldest, now) > *retry_after_r)
		*retry_after_r = retry_after(ip_oldest, now);
	return failure_delete(c, attempt_gid);
}

/* ---------- outcomes ---------- */

static int audit_failure(db_conn *c, const struct login_request *r, const struct account *a, const char *email_lower,
			 const char *reason)
{
	struct audit_event event;
	int64_t workspace_gid = a->workspace_gid;
	json_t *details;
	int status;

	if (!a->found) {
		status = workspace_for_domain(c, email_lower, &workspace_gid);
		if (status != DB_OK || workspace_gid == 0)
			return status;
	}

	memset(&event, 0, sizeof(event));
	event.workspace_gid = workspace_gid;
	event.event_category = "logins";
	event.actor_type = "anonymous";
	event.auth_method = "password";
	event.client_ip = r->client_ip;
	event.user_agent = r->user_agent;
	event.resource_type = "user";
	if (a->found && !a->is_person) {
		event.event_type = "service_account_login_refused";
		event.resource_subtype = "service_account";
	} else {
		event.event_type = "user_login_failed";
	}
	event.resource_gid = a->found ? a->gid : 0;
	event.resource_name = a->name;
	event.resource_email = a->found ? a->email : NULL;
	details = json_object();
	json_object_set_new(details, "email", json_string(r->email));
	if (reason != NULL)
		json_object_set_new(details, "reason", json_string(reason));
	event.details = details;
	status = store_audit_append(c, &event);
	json_decref(details);
	return status;
}

/* Writes the failure's audit record and deletes failures that left the window, in one transaction. */
static int record_failure(db_conn *c, const struct login_request *r, const struct account *a, const char *email_lower,
			  const char *reason, int64_t now)
{
	db_stmt *s;
	int status = db_begin_write(c);

	if (status != DB_OK)
		return status;
	status = audit_failure(c, r, a, email_lower, reason);
	if (status == DB_OK) {
		s = db_query(c, "DELETE FROM login_failures WHERE created_at < ?");
		status = s ? DB_OK : DB_ERROR;
		if (s != NULL) {
			db_bind_int64(s, 0, now - LOGIN_WINDOW_US);
			status = db_run(s);
		}
	}
	if (status != DB_OK) {
		db_rollback(c);
		return status;
	}
	return db_commit(c);
}

static int update_password_hash(db_conn *c, int64_t user_gid, const char *hash)
{
	db_stmt *s = db_query(c, "UPDATE users SET password_hash = ? WHERE gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, hash);
	db_bind_int64(s, 1, user_gid);
	return db_run(s);
}

/*
 * Clears the address's failures, creates the session, stores a rehashed
 * password when `new_hash` is set and writes user_login_succeeded, in one
 * transaction.
 */
static int record_success(db_conn *c, const struct login_request *r, const struct account *a, const char *email_lower,
			  const char *new_hash, struct login_outcome *out)
{
	struct audit_event event;
	db_stmt *s;
	int status = db_begin_write(c);

	if (status != DB_OK)
		return status;

	s = db_query(c, "DELETE FROM login_failures WHERE email_lower = ?");
	if (s == NULL) {
		status = DB_ERROR;
		goto fail;
	}
	db_bind_text(s, 0, email_lower);
	status = db_run(s);
	if (status != DB_OK)
		goto fail;

	status = session_create(c, r->pepper, a->workspace_gid, a->gid, r->client_ip, r->user_agent, out->cookie,
				out->csrf);
	if (status != DB_OK)
		goto fail;

	if (new_hash != NULL) {
		status = update_password_hash(c, a->gid, new_hash);
		if (status != DB_OK)
			goto fail;
	}

	memset(&event, 0, sizeof(event));
	event.workspace_gid = a->workspace_gid;
	event.event_type = "user_login_succeeded";
	event.event_category = "logins";
	event.actor_type = "user";
	event.actor_gid = a->gid;
	event.actor_name = a->name;
	event.actor_email = a->email;
	event.resource_type = "user";
	event.resource_gid = a->gid;
	event.resource_name = a->name;
	event.resource_email = a->email;
	event.auth_method = "password";
	event.client_ip = r->client_ip;
	event.user_agent = r->user_agent;
	status = store_audit_append(c, &event);
	if (status != DB_OK)
		goto fail;
	return db_commit(c);

fail:
	db_rollback(c);
	sodium_memzero(out->cookie, sizeof(out->cookie));
	sodium_memzero(out->csrf, sizeof(out->csrf));
	return status;
}

enum login_result auth_login(db_conn *c, const struct login_request *r, struct login_outcome *out)
{
	char email_lower[EMAIL_MAX + 1], new_hash[PASSWORD_HASH_MAX];
	const char *reason = NULL;
	struct account a;
	int64_t now = time_now_us(), attempt_gid = gid_next();
	int status, throttled = 0, verified, rehash = 0;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	store_email_lower(r->email, email_lower, sizeof(email_lower));

	status = throttle_check(c, attempt_gid, email_lower, r->client_ip, now, &throttled, &out->retry_after_s);
	if (status != DB_OK)
		goto db_fail;
	if (throttled) {
		log_warn("auth", "sign-in rejected: too many failed attempts", "request_id", r->request_id, "ip",
			 r->client_ip, "retry_after_s", LOG_NUM(out->retry_after_s), NULL);
		return LOGIN_THROTTLED;
	}

	status = account_load(c, email_lower, &a);
	if (status != DB_OK)
		goto db_fail;

	/* Every path runs exactly one Argon2id verification, so all failures take the same time. */
	if (a.found && a.is_person && a.password_hash != NULL)
		verified = password_verify(a.password_hash, r->password, r->password_len);
	else
		verified = password_verify(NULL, r->password, r->password_len);

	if (!a.found)
		reason = "unknown_email";
	else if (!a.is_person)
		reason = NULL;
	else if (a.password_hash == NULL)
		reason = "no_password";
	else if (!verified)
		reason = "wrong_password";
	else if (!a.is_active)
		reason = "deactivated";

	if (!a.found || !a.is_person || a.password_hash == NULL || !verified || !a.is_active) {
		status = record_failure(c, r, &a, email_lower, reason, now);
		log_info("auth", a.found && !a.is_person ? "sign-in rejected: service accounts cannot sign in"
							  : "sign-in failed",
			 "request_id", r->request_id, "ip", r->client_ip, "user_gid", a.found ? LOG_INT(a.gid) : NULL,
			 "reason", reason, NULL);
		account_free(&a);
		if (status != DB_OK) {
			out->db_status = status;
			return LOGIN_DB_ERROR;
		}
		return LOGIN_INVALID;
	}

	/* Hashing is slow, so the new hash is made before the transaction opens. */
	if (password_needs_rehash(a.password_hash))
		rehash = password_hash(r->password, r->password_len, new_hash) == 0;

	status = record_success(c, r, &a, email_lower, rehash ? new_hash : NULL, out);
	sodium_memzero(new_hash, sizeof(new_hash));
	if (status != DB_OK)
		goto db_fail;
	out->user_gid = a.gid;
	out->workspace_gid = a.workspace_gid;
	log_info("auth", "sign-in succeeded", "request_id", r->request_id, "ip", r->client_ip, "user_gid",
		 LOG_INT(a.gid), "rehashed", rehash ? "true" : "false", NULL);
	account_free(&a);
	return LOGIN_OK;

db_fail:
	account_free(&a);
	out->db_status = status;
	return LOGIN_DB_ERROR;
}
