/*
 * Who may see what, by Asana's rules, for any principal on any connection:
 * the API layer checks its caller (api_can_see_* in api/visibility.c wraps
 * these), and the webhook worker checks a webhook's owner, who is not
 * making a request. One set of rules serves GET /events and webhook
 * deliveries, so both show a reader the same events.
 *
 * Every check returns 1 when `who` may see the object, 0 when not, and -1
 * when storage failed. *exists_r, where present, is set when the object
 * exists in who->workspace_gid. Nothing crosses organizations.
 */
#ifndef KONTOR_AUTH_VISIBILITY_H
#define KONTOR_AUTH_VISIBILITY_H

#include "auth/principal.h"
#include "store/db.h"

#include <stdint.h>

/* 1 for a service account with `full` or `read`: it sees everything in its organization. */
int visibility_full_access(const principal *who);

/* Projects: public ones to non-guests, private_to_team ones to team members, any to project members. */
int visibility_project(db_conn *c, const principal *who, int64_t project_gid, int *exists_r);
/* Tasks: through a visible project or parent, or as assignee, follower or creator. */
int visibility_task(db_conn *c, const principal *who, int64_t task_gid, int *exists_r);
/* Teams: public or request_to_join ones to non-guests, any to team members. */
int visibility_team(db_conn *c, const principal *who, int64_t team_gid, int *exists_r);

/*
 * Any resource an event can name, by its resource_type: tasks, projects
 * and teams as above, sections through their project, stories through
 * their task, tags to non-guests. Users, the workspace and unknown types
 * count as visible. A resource that no longer exists counts as visible
 * here (the callers check streams and webhooks, whose resource may have
 * just been deleted); events about it go through visibility_event_check.
 */
int visibility_resource(db_conn *c, const principal *who, const char *resource_type, int64_t gid);

/* The resources one change event names; a type of NULL or a gid of 0 means none. */
struct visibility_event {
	const char *action;
	const char *resource_type;
	int64_t resource_gid;
	const char *parent_type;
	int64_t parent_gid;
	const char *value_type;
	int64_t value_gid;
};

/*
 * 1 when `who` may see every resource the event names: the resource, the
 * parent it was added to or removed from, and the resource value of a
 * changed field. An event that names one hidden resource is left out
 * whole, as GET /events and webhook deliveries both do. For readers
 * without full access, an event that names a resource that no longer
 * exists is left out too, except the deleted event of a task, story or
 * section (the streams it is filed under could see the object).
 */
int visibility_event_check(db_conn *c, const principal *who, const struct visibility_event *event);

/*
 * Builds the principal that user `user_gid` acts as in organization
 * `workspace_gid`, from its membership (role, is_active) and, for a service
 * account, its scopes. Returns 1 with *who_r filled when the user is an
 * active member (and, for a service account, the account still exists), 0
 * when not, or a negative db status.
 */
int visibility_principal_load(db_conn *c, int64_t workspace_gid, int64_t user_gid, principal *who_r);

#endif
