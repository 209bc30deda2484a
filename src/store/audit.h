/*
 * The audit log: append-only records of security-relevant actions, served
 * later by the audit log API in Asana's shape (event_type, actor, resource,
 * details, context). Records are written inside the transaction of the
 * change they describe, so a change and its record commit together.
 */
#ifndef KONTOR_STORE_AUDIT_H
#define KONTOR_STORE_AUDIT_H

#include "store/db.h"

#include <jansson.h>
#include <stdint.h>

struct audit_event {
	int64_t workspace_gid;
	const char *event_type;     /* "service_account_created", "user_login_succeeded" ... */
	const char *event_category; /* "access_control", "logins", "admin_settings", "user_access" ... */
	const char *actor_type;     /* "user" or "anonymous" */
	int64_t actor_gid;          /* 0 when anonymous */
	const char *actor_name;
	const char *actor_email;
	const char *resource_type;  /* "user", "service_account", "token", "workspace" ... */
	const char *resource_subtype;
	int64_t resource_gid;
	const char *resource_name;
	const char *resource_email; /* a user resource's address at the time of the event */
	json_t *details;            /* borrowed; NULL writes {} */
	const char *auth_method;    /* "personal_access_token", "service_account", "cookie", "password" */
	const char *client_ip;
	const char *user_agent;
	int64_t token_gid;          /* the token that acted, 0 for none */
};

/*
 * Appends one record with a new gid, the current time and the organization's
 * next sequence number, the key the audit log API pages by. Called inside a
 * transaction, it holds the organization's counter row until that
 * transaction ends, so sequence order is commit order; called outside one,
 * it opens and commits its own. The only function that writes audit_log.
 * Returns a db status.
 */
int store_audit_append(db_conn *c, const struct audit_event *event);

#endif
