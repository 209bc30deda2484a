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
