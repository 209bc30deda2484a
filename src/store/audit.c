/* Appends audit log records; nothing in kontor updates or deletes them. */
#include "store/audit.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <stdlib.h>

int store_audit_append(db_conn *c, const struct audit_event *e)
{
	db_stmt *s = db_query(c, "INSERT INTO audit_log (gid, workspace_gid, created_at, event_type, event_category,"
				 " actor_type, actor_gid, actor_name, actor_email, resource_type, resource_subtype,"
				 " resource_gid, resource_name, details, auth_method, client_ip, user_agent, token_gid)"
				 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	char *details;
	int status;

	if (s == NULL)
		return DB_ERROR;
	details = e->details ? json_dumps(e->details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, e->workspace_gid);
	db_bind_int64(s, 2, time_now_us());
	db_bind_text(s, 3, e->event_type);
	db_bind_text(s, 4, e->event_category);
	db_bind_text(s, 5, e->actor_type ? e->actor_type : "user");
	db_bind_gid(s, 6, e->actor_gid);
	db_bind_text(s, 7, e->actor_name);
	db_bind_text(s, 8, e->actor_email);
	db_bind_text(s, 9, e->resource_type);
	db_bind_text(s, 10, e->resource_subtype);
	db_bind_gid(s, 11, e->resource_gid);
	db_bind_text(s, 12, e->resource_name);
	db_bind_text(s, 13, details ? details : "{}");
	db_bind_text(s, 14, e->auth_method);
	db_bind_text(s, 15, e->client_ip);
	db_bind_text(s, 16, e->user_agent);
	db_bind_gid(s, 17, e->token_gid);
	status = db_run(s);
	free(details);
	return status;
}
