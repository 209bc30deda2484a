/*
 * The change log behind the events API and webhooks: one row per change to
 * an organization's data, in Asana's event shape (resource, action, parent,
 * change), appended inside the transaction of the change it describes.
 *
 * Rows are numbered per organization by `seq`, taken from a counter row whose
 * lock is held until the writing transaction ends, so seq order is commit
 * order on every engine. A reader that has seen seq N and later reads
 * `seq > N` therefore misses nothing, however many nodes write. Each event is also
 * filed under every resource it bubbles up to (event_targets): a task's
 * event under the task, its parent task and all their projects; a story's
 * under the story, its task and on up. Event streams and webhooks on a
 * resource read event_targets; organization-wide readers read events.
 */
#ifndef KONTOR_STORE_EVENTS_H
#define KONTOR_STORE_EVENTS_H

#include "store/db.h"

#include <stdint.h>

struct change_event {
	int64_t workspace_gid;
	int64_t actor_gid;            /* the user who acted; 0 for the system */
	const char *resource_type;    /* "task", "story", "project", "section", "tag", "team", "user" ... */
	const char *resource_subtype; /* "default_task", "comment", "assigned" ...; NULL if none */
	int64_t resource_gid;
	const char *action;           /* "added", "removed", "changed", "deleted" or "undeleted" */
	/* For added and removed: what the resource was added to or removed from. */
	const char *parent_type;
	int64_t parent_gid;
	/* For changed: the field, how it changed ("changed", "added", "removed"), and a resource value if any. */
	const char *change_field;
	const char *change_action;
	const char *value_type;       /* resource_type of new_value / added_value / removed_value, or NULL */
	int64_t value_gid;
};

/*
 * Appends one event inside the caller's open write transaction, files it
 * under its targets and returns its seq in *seq_r (may be NULL). Call it
 * before deleting rows the targets derive from (a task's project
 * memberships, a story's task), so that a deleted task's event still
 * reaches its projects. Returns a db status.
 */
int store_event_append(db_conn *c, const struct change_event *event, int64_t *seq_r);

#endif
