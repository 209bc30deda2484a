/*
 * The API layer's visibility checks: the rules of auth/visibility.c applied
 * to the request's caller, on the request's connection.
 */
#include "api/api.h"
#include "auth/visibility.h"

int api_is_full_access(const api_ctx *ctx)
{
	return visibility_full_access(&ctx->who);
}

int api_caller_is_guest(const api_ctx *ctx)
{
	return ctx->who.role == ROLE_GUEST && !api_is_full_access(ctx);
}

int api_can_see_project(api_ctx *ctx, int64_t project_gid, int *exists_r)
{
	return visibility_project(ctx->db, &ctx->who, project_gid, exists_r);
}

int api_can_see_task(api_ctx *ctx, int64_t task_gid, int *exists_r)
{
	return visibility_task(ctx->db, &ctx->who, task_gid, exists_r);
}

int api_can_see_team(api_ctx *ctx, int64_t team_gid, int *exists_r)
{
	return visibility_team(ctx->db, &ctx->who, team_gid, exists_r);
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

int api_require_active_member(api_ctx *ctx, const char *field, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT is_active FROM workspace_memberships WHERE workspace_gid = ? AND user_gid = ?");
	int status, active = 0;

	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	status = db_step(s);
	if (status == DB_ROW)
		active = db_column_int64(s, 0) == 1;
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE) {
		api_fail_db(ctx, status);
		return -1;
	}
	if (!active) {
		api_error(ctx, 400, "%s: user %lld is not an active member of this organization (removed or deactivated); "
				    "choose a current member, or reactivate the user first.",
			  field, (long long)user_gid);
		return -1;
	}
	return 0;
}
