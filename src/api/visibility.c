/*
 * Who may see what, by Asana's rules. A member sees public projects of the
 * organization, private_to_team projects of teams they belong to, and
 * private projects only as a project member; a guest sees only projects
 * they were added to. A task is visible through a visible project, to its
 * assignee, creator and followers, and through a visible parent. Admins see
 * no private content by being admins. A service account with `full` or
 * `read` sees everything in its organization. Nothing crosses organizations.
 */
#include "api/api.h"

#define PARENT_DEPTH_MAX 16

int api_is_full_access(const api_ctx *ctx)
{
	return ctx->who.kind == PRINCIPAL_SERVICE_ACCOUNT && (ctx->who.scopes & (SCOPE_FULL | SCOPE_READ)) != 0;
}

/* Runs a visibility query whose row holds (exists, visible). Returns visible; -1 on storage failure. */
static int run_check(api_ctx *ctx, db_stmt *s, int *exists_r)
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
	(void)ctx;
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

int api_can_see_project(api_ctx *ctx, int64_t project_gid, int *exists_r)
{
	db_stmt *s = db_query(ctx->db, project_visible_sql);

	if (s != NULL) {
		db_bind_int64(s, 0, api_is_full_access(ctx));
		db_bind_int64(s, 1, ctx->who.user_gid);
		db_bind_int64(s, 2, ctx->who.role);
		db_bind_int64(s, 3, ctx->who.role);
		db_bind_int64(s, 4, ctx->who.user_gid);
		db_bind_int64(s, 5, project_gid);
		db_bind_int64(s, 6, ctx->who.workspace_gid);
	}
	return run_check(ctx, s, exists_r);
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

int api_can_see_task(api_ctx *ctx, int64_t task_gid, int *exists_r)
{
	int64_t gid = task_gid;

	*exists_r = 0;
	/* A subtask outside any visible project is visible through its parent. */
	for (int depth = 0; depth < PARENT_DEPTH_MAX && gid != 0; depth++) {
		db_stmt *s = db_query(ctx->db, task_visible_sql);
		int status, visible;
		int64_t parent;

		if (s == NULL)
			return -1;
		db_bind_int64(s, 0, api_is_full_access(ctx));
		db_bind_int64(s, 1, ctx->who.user_gid);
		db_bind_int64(s, 2, ctx->who.user_gid);
		db_bind_int64(s, 3, ctx->who.user_gid);
		db_bind_int64(s, 4, ctx->who.user_gid);
		db_bind_int64(s, 5, ctx->who.role);
		db_bind_int64(s, 6, ctx->who.role);
		db_bind_int64(s, 7, ctx->who.user_gid);
		db_bind_int64(s, 8, gid);
		db_bind_int64(s, 9, ctx->who.workspace_gid);
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

int api_can_see_team(api_ctx *ctx, int64_t team_gid, int *exists_r)
{
	db_stmt *s = db_query(ctx->db, team_visible_sql);

	if (s != NULL) {
		db_bind_int64(s, 0, api_is_full_access(ctx));
		db_bind_int64(s, 1, ctx->who.user_gid);
		db_bind_int64(s, 2, ctx->who.role);
		db_bind_int64(s, 3, team_gid);
		db_bind_int64(s, 4, ctx->who.workspace_gid);
	}
	return run_check(ctx, s, exists_r);
}

int api_user_in_org(api_ctx *ctx, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM users WHERE gid = ? AND workspace_gid = ?");
	int status;

	if (s == NULL)
		return 0;
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	db_stmt_done(s);
	return status == DB_ROW;
}
