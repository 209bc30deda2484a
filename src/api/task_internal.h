/*
 * Helpers shared by the task files: tasks.c (the representation and reads),
 * task_write.c (create, update, delete) and task_actions.c (setParent, addProject,
 * removeProject, addTag, removeTag, addFollowers, removeFollowers). Not for
 * other resource files, which use api_task_type and the routes only, except
 * typeahead.c, which filters its search with the visibility SQL below.
 */
#ifndef KONTOR_API_TASK_INTERNAL_H
#define KONTOR_API_TASK_INTERNAL_H

#include "api/api.h"

#include <stdint.h>

#define TASK_PROJECTS_MAX 20   /* Asana's limit on projects per task */
#define TASK_DEPTH_MAX 16      /* levels of subtasks below a top-level task */
#define TASK_POSITION_GAP 65536 /* distance between neighbours after appending or renumbering */

/* The caller's access to a task or project; each level includes the rights of the lower ones. */
enum task_access {
	ACCESS_NONE = 0, /* missing, in another organization, or invisible: reply 404 */
	ACCESS_READ = 1, /* visible, but no right to change it: reply 403 to writes */
	ACCESS_EDIT = 2,
};

/*
 * Sets *access_r to the caller's access to a task. Visibility comes from
 * api_can_see_task. The right to edit comes from being assignee, creator or
 * follower, from edit access to one of the task's projects, or, for a
 * subtask outside any project, from edit access to its parent. Returns a db
 * status (DB_OK on success).
 */
int task_access_get(api_ctx *ctx, int64_t task_gid, enum task_access *access_r);

/*
 * Sets *access_r to the caller's access to a project's tasks. Editor
 * and admin members edit, and commenter and viewer members read. Members of
 * the organization who are not project members edit public projects, and
 * team members edit team-only projects. Returns a db status.
 */
int task_project_access(api_ctx *ctx, int64_t project_gid, enum task_access *access_r);

/*
 * Checks that the caller may change a task: replies 404 when it is
 * invisible, 403 when it is read-only to them, rolling back an open
 * transaction first. Returns 0 when allowed, -1 after replying.
 */
int task_require_edit(api_ctx *ctx, int64_t task_gid);

/* Sets modified_at of a task to now. Returns a db status. */
int task_touch(api_ctx *ctx, int64_t task_gid);

/* Adds a follower unless already following. Returns a db status. */
int task_follower_add(api_ctx *ctx, int64_t task_gid, int64_t user_gid);

/*
 * Records a change event on a task (store/events.h) inside the open
 * transaction: `action` "added" or "removed" with the parent it was added
 * to or removed from, or "deleted" (parent_type NULL). Returns a db status.
 */
int task_event(api_ctx *ctx, int64_t task_gid, const char *action, const char *parent_type, int64_t parent_gid);

/*
 * Records a "changed" event on a task's `field`. `change_action` is
 * "changed", "added" or "removed"; `value_type` and `value_gid` name the
 * resource value (new_value, added_value or removed_value), value_type NULL
 * when the field is not a resource, value_gid 0 when it was cleared.
 */
int task_event_change(api_ctx *ctx, int64_t task_gid, const char *field, const char *change_action,
		      const char *value_type, int64_t value_gid);

/* Rolls back the open transaction, if any, before a reply that is not a storage failure. */
void task_rollback(api_ctx *ctx);

/*
 * SQL conditions that mirror api_can_see_project and the direct part of
 * api_can_see_task for use inside list queries, so that pagination stays
 * keyset. `p` and `t` are the aliases of the projects and tasks rows. Bind
 * their parameters with task_bind_project_visible / task_bind_task_visible,
 * which return the index after the last one bound.
 *
 * The terms are ordered so that SQLite's short-circuit OR tries the cheap
 * ones first: a column test before an index lookup, and the task's projects
 * (public ones answer at once) before its followers.
 */
#define TASK_PROJECT_VISIBLE_SQL(p)                                                                            \
	"(? = 1 OR (? >= 1 AND " p ".privacy_setting = 'public_to_workspace')"                               \
	" OR EXISTS (SELECT 1 FROM project_memberships vpm WHERE vpm.project_gid = " p ".gid"                \
	" AND vpm.user_gid = ?)"                                                                              \
	" OR (? >= 1 AND " p ".privacy_setting = 'private_to_team' AND EXISTS (SELECT 1 FROM team_memberships" \
	" vtm WHERE vtm.team_gid = " p ".team_gid AND vtm.user_gid = ?)))"
#define TASK_VISIBLE_SQL(t)                                                                                    \
	"(? = 1 OR " t ".assignee_gid = ? OR " t ".created_by = ? OR EXISTS (SELECT 1 FROM task_projects vtp"  \
	" JOIN projects vp ON vp.gid = vtp.project_gid WHERE vtp.task_gid = " t ".gid AND "                  \
	TASK_PROJECT_VISIBLE_SQL("vp") ") OR EXISTS (SELECT 1 FROM task_followers vf"                        \
	" WHERE vf.task_gid = " t ".gid AND vf.user_gid = ?))"

int task_bind_project_visible(api_ctx *ctx, db_stmt *s, int index);
int task_bind_task_visible(api_ctx *ctx, db_stmt *s, int index);

/*
 * The place of a task inside a project. A section_gid or anchor of 0 means
 * none was given, and at_start requests the beginning (Asana's
 * insert_after: null).
 */
struct task_placement {
	int64_t section_gid;
	int64_t insert_before;
	int64_t insert_after;
	int at_start;
	int silent; /* record no stories: the task is being created */
};

/*
 * Takes the project's row lock for the rest of the open transaction. SQLite
 * already lets one writer in at a time. On PostgreSQL, two transactions
 * placing tasks in one project would otherwise read the same last position
 * and give two tasks the same one, and a page of the project's tasks that
 * ends between them skips the second. Lock several projects in gid order,
 * so that two transactions never wait for each other in a cycle (a
 * deadlock). Returns a db status.
 */
int task_project_lock(api_ctx *ctx, int64_t project_gid);

/*
 * Adds a task to a project, or moves it when it is already there, at the
 * place `where` describes, and records the system stories (added to the
 * project, moved between sections). The caller has checked edit access to
 * the task and the project and opened the transaction. It takes the
 * project's lock (task_project_lock). Returns 0, or -1 after replying (400
 * for anchors or a section outside the project).
 */
int task_project_place(api_ctx *ctx, int64_t task_gid, int64_t project_gid, const struct task_placement *where);

/*
 * Computes the position of a new last subtask of `parent_gid`. Returns a db
 * status.
 */
int task_subtask_end(api_ctx *ctx, int64_t parent_gid, int64_t *position_r);

/*
 * Builds the full representation of a task without checking visibility.
 * Sets *task_r to a new reference, or NULL when the task does not exist in
 * the caller's organization. Returns a db status.
 */
int task_build(api_ctx *ctx, int64_t task_gid, json_t **task_r);

/*
 * Replies `status` (200, or 201 with a Location header) with the task's full
 * representation, shaped by opt_fields. Returns 0.
 */
int task_reply(api_ctx *ctx, int status, int64_t task_gid);

/* Handlers defined in task_write.c and task_actions.c, routed in tasks.c. */
int task_create(api_ctx *ctx);
int subtask_create(api_ctx *ctx);
int task_update(api_ctx *ctx);
int task_delete(api_ctx *ctx);
int task_set_parent(api_ctx *ctx);
int task_add_project(api_ctx *ctx);
int task_remove_project(api_ctx *ctx);
int task_add_tag(api_ctx *ctx);
int task_remove_tag(api_ctx *ctx);
int task_add_followers(api_ctx *ctx);
int task_remove_followers(api_ctx *ctx);

#endif
