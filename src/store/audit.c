/*
 * Appends audit log records, numbering each organization's records in
 * commit order. Nothing in kontor updates or deletes them, and triggers in
 * the database reject any attempt (migrations 11 and 19).
 */
#include "store/audit.h"
#include "store/counter.h"
#include "util/gid.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <stdlib.h>

static int append(db_conn *c, const struct audit_event *e)
{
	char user_agent[TEXT_USER_AGENT_MAX + 1];
	db_stmt *s;
	char *details;
	int64_t seq = 0;
	int status;

	status = store_counter_next(c, STORE_COUNTER_AUDIT, e->workspace_gid, &seq);
	if (status != DB_OK)
		return status;

	s = db_query(c, "INSERT INTO audit_log (gid, workspace_gid, seq, created_at, event_type, event_category,"
			" actor_type, actor_gid, actor_name, actor_email, resource_type, resource_subtype,"
			" resource_gid, resource_name, resource_email, details, auth_method, client_ip, user_agent,"
			" token_gid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	details = e->details ? json_dumps(e->details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, e->workspace_gid);
	db_bind_int64(s, 2, seq);
	/* Read after the counter lock, so created_at follows seq on one node. */
	db_bind_int64(s, 3, time_now_us());
	db_bind_text(s, 4, e->event_type);
	db_bind_text(s, 5, e->event_category);
	db_bind_text(s, 6, e->actor_type ? e->actor_type : "user");
	db_bind_gid(s, 7, e->actor_gid);
	db_bind_text(s, 8, e->actor_name);
	db_bind_text(s, 9, e->actor_email);
	db_bind_text(s, 10, e->resource_type);
	db_bind_text(s, 11, e->resource_subtype);
	db_bind_gid(s, 12, e->resource_gid);
	db_bind_text(s, 13, e->resource_name);
	db_bind_text(s, 14, e->resource_email);
	db_bind_text(s, 15, details ? details : "{}");
	db_bind_text(s, 16, e->auth_method);
	db_bind_text(s, 17, e->client_ip);
	/* Client text of any length and bytes: cut to a bound and made valid UTF-8 for PostgreSQL. */
	db_bind_text(s, 18, e->user_agent ? text_utf8_copy(user_agent, sizeof(user_agent), e->user_agent) : NULL);
	db_bind_gid(s, 19, e->token_gid);
	status = db_run(s);
	free(details);
	return status;
}

int store_audit_append(db_conn *c, const struct audit_event *e)
{
	int status;

	if (db_in_transaction(c))
		return append(c, e);

	/* Counter and record must commit together, or a reader could see a later number first. */
	status = db_begin_write(c);
	if (status != DB_OK)
		return status;
	status = append(c, e);
	if (status != DB_OK) {
		db_rollback(c);
		return status;
	}
	return db_commit(c);
}
