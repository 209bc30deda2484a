/*
 * Who may see what, by Asana's rules (contract in visibility.h). A member
 * sees public projects of the organization, private_to_team projects of
 * teams they belong to, and private projects only as a project member; a
 * guest sees only projects they were added to. A task is visible through a
 * visible project, to its assignee, creator and followers, and through a
 * visible parent. Admins see no private content by being admins. A service
 * account with `full` or `read` sees everything in its organization.
 */
#include "auth/visibility.h"
#include "auth/auth.h"

#include <stdio.h>
#include <string.h>

/* Subtasks nest; deeper chains than this are not followed when looking for a visible parent. */
#define PARENT_DEPTH_MAX 16

int visibility_full_access(const principal *who)
{
	return who->kind == PRINCIPAL_SERVICE_ACCOUNT && (who->scopes & (SCOPE_FULL | SCOPE_READ)) != 0;
}

/* Runs a visibility query whose one column is the visible flag. Returns it, or -1 on storage failure. */
static int run_check(db_stmt *s, int *exists_r)
{
	int status, visible = 0;

	*exists_r = 0;
	if (s == NULL)
		return -1;
	status = db_step(s);
	if (status == DB_ROW) {
		*exists_r = 1;
		visible = db_column_int64(s, 0) != 0;
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return -1;
	return visible;
}

static const char project_visible_sql[] =
	"SELECT CASE WHEN ? = 1"
	"  OR EXISTS (SELECT 1 FROM project_memberships pm WHERE pm.project_gid = p.gid AND pm.user_gid = ?)"
	"  OR (? >= 1 AND p.privacy_setting = 'public_to_workspace')"
	"  OR (? >= 1 AND p.privacy_setting = 'private_to_team' AND EXISTS (SELECT 1 FROM team_memberships tm"
	"       WHERE tm.team_gid = p.team_gid AND tm.user_gid = ?))"
	" THEN 1 ELSE 0 END"
	" FROM projects p WHERE p.gid = ? AND p.workspace_gid = ?";

int visibility_project(db_conn *c, const principal *who, int64_t project_gid, int *exists_r)
{
	db_stmt *s = db_query(c, project_visible_sql);

	if (s != NULL) {
		db_bind_int64(s, 0, visibility_full_access(who));
		db_bind_int64(s, 1, who->user_gid);
		db_bind_int64(s, 2, who->role);
		db_bind_int64(s, 3, who->role);
		db_bind_int64(s, 4, who->user_gid);
		db_bind_int64(s, 5, project_gid);
		db_bind_int64(s, 6, who->workspace_gid);
	}
	return run_check(s, exists_r);
}

static const char task_visible_sql[] =
	"SELECT CASE WHEN ? = 1 OR t.assignee_gid = ? OR t.created_by = ?"
	"  OR EXISTS (SELECT 1 FROM task_followers f WHERE f.task_gid = t.gid AND f.user_gid = ?)"
	"  OR EXISTS (SELECT 1 FROM task_projects tp JOIN projects p ON p.gid = tp.project_gid"
	"       WHERE tp.task_gid = t.gid AND ("
	"         EXISTS (SELECT 1 FROM project_memberships pm WHERE pm.project_gid = p.gid AND pm.user_gid = ?)"
	"         OR (? >= 1 AND p.privacy_setting = 'public_to_workspace')"
	"         OR (? >= 1 AND p.privacy_setting = 'private_to_team' AND EXISTS (SELECT 1 FROM team_memberships tm"
	"              WHERE tm.team_gid = p.team_gid AND tm.user_gid = ?))))"
	" THEN 1 ELSE 0 END, COALESCE(t.parent_gid, 0)"
	" FROM tasks t WHERE t.gid = ? AND t.workspace_gid = ?";

int visibility_task(db_conn *c, const principal *who, int64_t task_gid, int *exists_r)
{
	int64_t gid = task_gid;

	*exists_r = 0;
	/* A subtask outside any visible project is visible through its parent. */
	for (int depth = 0; depth < PARENT_DEPTH_MAX && gid != 0; depth++) {
		db_stmt *s = db_query(c, task_visible_sql);
		int status, visible;
		int64_t parent;

		if (s == NULL)
			return -1;
		db_bind_int64(s, 0, visibility_full_access(who));
		db_bind_int64(s, 1, who->user_gid);
		db_bind_int64(s, 2, who->user_gid);
		db_bind_int64(s, 3, who->user_gid);
		db_bind_int64(s, 4, who->user_gid);
		db_bind_int64(s, 5, who->role);
		db_bind_int64(s, 6, who->role);
		db_bind_int64(s, 7, who->user_gid);
		db_bind_int64(s, 8, gid);
		db_bind_int64(s, 9, who->workspace_gid);
		status = db_step(s);
		if (status != DB_ROW) {
			db_stmt_done(s);
			return status == DB_DONE ? 0 : -1;
		}
		if (depth == 0)
			*exists_r = 1;
		visible = db_column_int64(s, 0) != 0;
		parent = db_column_int64(s, 1);
		db_stmt_done(s);
		if (visible)
			return 1;
		gid = parent;
	}
	return 0;
}

static const char team_visible_sql[] =
	"SELECT CASE WHEN ? = 1"
	"  OR EXISTS (SELECT 1 FROM team_memberships tm WHERE tm.team_gid = t.gid AND tm.user_gid = ?)"
	"  OR (? >= 1 AND t.visibility <> 'secret')"
	" THEN 1 ELSE 0 END"
	" FROM teams t WHERE t.gid = ? AND t.workspace_gid = ?";

int visibility_team(db_conn *c, const principal *who, int64_t team_gid, int *exists_r)
{
	db_stmt *s = db_query(c, team_visible_sql);

	if (s != NULL) {
		db_bind_int64(s, 0, visibility_full_access(who));
		db_bind_int64(s, 1, who->user_gid);
		db_bind_int64(s, 2, who->role);
		db_bind_int64(s, 3, team_gid);
		db_bind_int64(s, 4, who->workspace_gid);
	}
	return run_check(s, exists_r);
}

/* Reads the owning task of a story or the project of a section: 0 when the row is gone, -1 on a db error. */
static int64_t owner_of(db_conn *c, const principal *who, int is_story, int64_t gid)
{
	db_stmt *s = db_query(c, is_story ? "SELECT task_gid FROM stories WHERE gid = ? AND workspace_gid = ?"
					  : "SELECT project_gid FROM sections WHERE gid = ? AND workspace_gid = ?");
	int64_t owner = 0;
	int status;

	if (s == NULL)
		return -1;
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, who->workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		owner = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return -1;
	return owner;
}

/*
 * The visibility of any resource an event can name, with *exists_r set
 * when it still exists. Types without a row to check (users, the
 * workspace, tags, unknown types) count as existing.
 */
static int resource_check(db_conn *c, const principal *who, const char *resource_type, int64_t gid, int *exists_r)
{
	*exists_r = 1;
	if (resource_type == NULL || gid == 0 || visibility_full_access(who))
		return 1;
	if (strcmp(resource_type, "task") == 0)
		return visibility_task(c, who, gid, exists_r);
	if (strcmp(resource_type, "project") == 0)
		return visibility_project(c, who, gid, exists_r);
	if (strcmp(resource_type, "team") == 0)
		return visibility_team(c, who, gid, exists_r);
	if (strcmp(resource_type, "tag") == 0)
		return who->role != ROLE_GUEST;
	if (strcmp(resource_type, "story") == 0 || strcmp(resource_type, "section") == 0) {
		int is_story = strcmp(resource_type, "story") == 0;
		int64_t owner = owner_of(c, who, is_story, gid);

		if (owner < 0)
			return -1;
		if (owner == 0) {
			*exists_r = 0;
			return 0;
		}
		return resource_check(c, who, is_story ? "task" : "project", owner, exists_r);
	}
	return 1;
}

int visibility_resource(db_conn *c, const principal *who, const char *resource_type, int64_t gid)
{
	int exists = 0;
	int visible = resource_check(c, who, resource_type, gid, &exists);

	/*
	 * A resource that no longer exists passes here: the callers (stream
	 * and webhook checks) decide about deleted resources themselves, and
	 * events about them go through visibility_event_check.
	 */
	if (visible == 0 && !exists)
		return 1;
	return visible;
}

/* 1 for the deleted event of a task, story or section, which its streams' readers keep seeing. */
static int deletion_kept(const struct visibility_event *event)
{
	const char *type = event->resource_type;

	if (event->action == NULL || strcmp(event->action, "deleted") != 0 || type == NULL)
		return 0;
	return strcmp(type, "task") == 0 || strcmp(type, "story") == 0 || strcmp(type, "section") == 0;
}

int visibility_event_check(db_conn *c, const principal *who, const struct visibility_event *event)
{
	const char *types[3] = { event->resource_type, event->parent_type, event->value_type };
	const int64_t gids[3] = { event->resource_gid, event->parent_gid, event->value_gid };

	if (visibility_full_access(who))
		return 1;
	for (int i = 0; i < 3; i++) {
		int exists = 0;
		int visible = resource_check(c, who, types[i], gids[i], &exists);

		if (visible < 0)
			return -1;
		/*
		 * Once an object is gone, nothing tells any more who could see
		 * it, so its events are left out. The deleted event of a task,
		 * story or section stays: it is filed only under the streams the
		 * object belonged to (its projects, parent task or task), and
		 * the reader of such a stream could see the object through it.
		 *
		 * NOTE: the deleted event of a project or team is left out too.
		 * Asana shows it to readers who can see the team, but the
		 * project's team is gone with its row (the event carries no
		 * parent), so only full and read service accounts receive it.
		 */
		if (!exists && !(i == 0 && deletion_kept(event)))
			return 0;
		if (exists && visible == 0)
			return 0;
	}
	return 1;
}

static const char principal_sql[] =
	"SELECT u.kind, m.role, m.is_active, w.plan, sa.scopes FROM users u"
	" JOIN workspace_memberships m ON m.user_gid = u.gid AND m.workspace_gid = ?"
	" JOIN workspaces w ON w.gid = m.workspace_gid"
	" LEFT JOIN service_accounts sa ON sa.user_gid = u.gid AND sa.workspace_gid = m.workspace_gid"
	" WHERE u.gid = ?";

int visibility_principal_load(db_conn *c, int64_t workspace_gid, int64_t user_gid, principal *who_r)
{
	db_stmt *s = db_query(c, principal_sql);
	int status, active = 0;

	memset(who_r, 0, sizeof(*who_r));
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, workspace_gid);
	db_bind_int64(s, 1, user_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		const char *kind = db_column_text(s, 0);
		int role = role_from_name(db_column_text(s, 1) ? db_column_text(s, 1) : "");

		active = db_column_int64(s, 2) == 1;
		who_r->user_gid = user_gid;
		who_r->workspace_gid = workspace_gid;
		who_r->role = role < 0 ? ROLE_GUEST : (enum role)role;
		snprintf(who_r->plan, sizeof(who_r->plan), "%s", db_column_text(s, 3) ? db_column_text(s, 3) : "");
		if (kind != NULL && strcmp(kind, "service_account") == 0) {
			who_r->kind = PRINCIPAL_SERVICE_ACCOUNT;
			who_r->scopes = auth_scopes_parse(db_column_text(s, 4));
			/* A deleted service account keeps its user row but loses its service_accounts row. */
			if (db_column_is_null(s, 4))
				active = 0;
		} else {
			who_r->kind = PRINCIPAL_PERSON;
			who_r->scopes = SCOPE_PERSON;
		}
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE)
		return status;
	return active;
}
