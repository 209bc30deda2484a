/*
 * Users and workspace memberships: GET /users, /users/{user_gid},
 * /workspaces/{workspace_gid}/users, /workspaces/{workspace_gid}/users/{user_gid},
 * /teams/{team_gid}/users and the three workspace-membership reads, with
 * api_user_type and api_workspace_membership_type, the representations that
 * opt_fields and the other resource files expand through. A user belongs to
 * exactly one organization, so `workspaces` always contains that one
 * organization. User lists show active members only, ordered by gid for
 * keyset pagination. A deactivated user still resolves by gid, because Asana
 * shows former members on the objects they touched.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/photo_url.h"

#include "util/gid.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *const user_fields[] = { "name", "email", "photo", "workspaces", "custom_fields", NULL };
static const char *const user_compact[] = { "name", NULL };
static const struct api_type_ref user_refs[] = {
	{ "workspaces", &api_workspace_type },
	{ NULL, NULL },
};

int api_bind_guest_sees(api_ctx *ctx, db_stmt *s, int index)
{
	db_bind_int64(s, index, api_caller_is_guest(ctx));
	db_bind_int64(s, index + 1, ctx->who.user_gid);
	db_bind_int64(s, index + 2, ctx->who.workspace_gid);
	db_bind_int64(s, index + 3, ctx->who.user_gid);
	db_bind_int64(s, index + 4, ctx->who.workspace_gid);
	db_bind_int64(s, index + 5, ctx->who.user_gid);
	return index + 6;
}

/* One user row, as every query in this file selects it. */
enum { COL_GID, COL_NAME, COL_EMAIL, COL_WORKSPACE_GID, COL_WORKSPACE_NAME, COL_PHOTO_KEY };

/*
 * Builds the full representation of the user in the current row of `s`,
 * whose columns follow the COL_ order. Returns a new reference.
 */
static json_t *user_from_row(api_ctx *ctx, db_stmt *s)
{
	json_t *user;
	json_t *workspaces;

	user = api_object_new("user", db_column_int64(s, COL_GID));
	json_object_set_new(user, "name", api_string_or_null(db_column_text(s, COL_NAME)));
	json_object_set_new(user, "email", api_string_or_null(db_column_text(s, COL_EMAIL)));

	json_object_set_new(user, "photo", api_photo_json(ctx, db_column_text(s, COL_PHOTO_KEY)));

	workspaces = json_array();
	json_array_append_new(workspaces, api_ref("workspace", db_column_int64(s, COL_WORKSPACE_GID),
						  db_column_text(s, COL_WORKSPACE_NAME)));
	json_object_set_new(user, "workspaces", workspaces);

	/* kontor has no custom fields, so the list is always empty. */
	json_object_set_new(user, "custom_fields", json_array());
	return user;
}

/*
 * Loads one user of the caller's organization, active or not, into *user_r,
 * when the caller may see them (GUEST_SEES_USER_SQL). Returns DB_ROW when
 * found, DB_DONE when not, or an error status.
 */
static int user_fetch(api_ctx *ctx, int64_t gid, json_t **user_r)
{
	db_stmt *s;
	int rc;

	*user_r = NULL;
	s = db_query(ctx->db,
		     "SELECT u.gid, u.name, u.email, w.gid, w.name, u.photo_key"
		     " FROM users u JOIN workspaces w ON w.gid = u.workspace_gid"
		     " WHERE u.gid = ? AND u.workspace_gid = ? AND " GUEST_SEES_USER_SQL("u.gid"));
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	api_bind_guest_sees(ctx, s, 2);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*user_r = user_from_row(ctx, s);
	}
	db_stmt_done(s);
	return rc;
}

/* Members see every user of the organization, guests only those GUEST_SEES_USER_SQL allows. */
static json_t *user_load(api_ctx *ctx, int64_t gid)
{
	json_t *user;

	if (user_fetch(ctx, gid, &user) != DB_ROW) {
		return NULL;
	}
	return user;
}

const struct api_type api_user_type = {
	.name = "user",
	.fields = user_fields,
	.compact = user_compact,
	.refs = user_refs,
	.load = user_load,
};

/*
 * Replies with the page of users that the executed statement `s` returns
 * (limit + 1 rows at most, columns in COL_ order), then marks it done.
 */
static int users_reply_page(api_ctx *ctx, db_stmt *s, struct api_page *page)
{
	json_t *items;
	int64_t last = 0;
	int fetched = 0;
	int rc;

	items = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (fetched < page->limit) {
			last = db_column_int64(s, COL_GID);
			json_array_append_new(items, api_present(ctx, &api_user_type, user_from_row(ctx, s)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, rc);
	}

	api_page_rows(page, fetched);
	page->next_after = last;
	return api_reply_list(ctx, items, page);
}

/* Replies with a page of the organization's active users. */
static int users_list_org(api_ctx *ctx)
{
	struct api_page page;
	db_stmt *s;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT u.gid, u.name, u.email, w.gid, w.name, u.photo_key"
		     " FROM users u"
		     " JOIN workspace_memberships m ON m.workspace_gid = u.workspace_gid AND m.user_gid = u.gid"
		     " JOIN workspaces w ON w.gid = u.workspace_gid"
		     " WHERE u.workspace_gid = ? AND m.is_active = 1 AND u.gid > ?"
		     " AND " GUEST_SEES_USER_SQL("u.gid")
		     " ORDER BY u.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, page.after);
	db_bind_int64(s, api_bind_guest_sees(ctx, s, 2), (int64_t)page.limit + 1);
	return users_reply_page(ctx, s, &page);
}

/* Replies with a page of a team's active members. The caller has checked that the team is visible. */
static int users_list_team(api_ctx *ctx, int64_t team_gid)
{
	struct api_page page;
	db_stmt *s;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT u.gid, u.name, u.email, w.gid, w.name, u.photo_key"
		     " FROM team_memberships t"
		     " JOIN users u ON u.gid = t.user_gid"
		     " JOIN workspace_memberships m ON m.workspace_gid = u.workspace_gid AND m.user_gid = u.gid"
		     " JOIN workspaces w ON w.gid = u.workspace_gid"
		     " WHERE t.team_gid = ? AND t.workspace_gid = ? AND u.workspace_gid = ?"
		     " AND m.is_active = 1 AND t.user_gid > ?"
		     " ORDER BY t.user_gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, page.after);
	db_bind_int64(s, 4, (int64_t)page.limit + 1);
	return users_reply_page(ctx, s, &page);
}

/* Checks that a team the caller named is visible; replies 404 and returns -1 when not. */
static int check_team(api_ctx *ctx, int64_t team_gid)
{
	int exists = 0;

	if (!api_can_see_team(ctx, team_gid, &exists)) {
		api_not_found(ctx, "team", team_gid);
		return -1;
	}
	return 0;
}

/*
 * Checks a workspace gid the caller sent: only the caller's own
 * organization exists for them. Replies 404 and returns -1 otherwise.
 */
static int check_workspace(api_ctx *ctx, int64_t workspace_gid)
{
	if (workspace_gid != ctx->who.workspace_gid) {
		api_not_found(ctx, "workspace", workspace_gid);
		return -1;
	}
	return 0;
}

/* GET /users?workspace=&team= */
static int users_list(api_ctx *ctx)
{
	int64_t workspace_gid;
	int64_t team_gid;

	if (api_query_gid(ctx, "workspace", &workspace_gid)) {
		return 0;
	}
	if (workspace_gid != 0 && check_workspace(ctx, workspace_gid)) {
		return 0;
	}
	if (api_query_gid(ctx, "team", &team_gid)) {
		return 0;
	}

	if (team_gid != 0) {
		if (check_team(ctx, team_gid)) {
			return 0;
		}
		return users_list_team(ctx, team_gid);
	}
	return users_list_org(ctx);
}

/* GET /workspaces/{workspace_gid}/users */
static int workspace_users_list(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid)) {
		return 0;
	}
	if (check_workspace(ctx, workspace_gid)) {
		return 0;
	}
	return users_list_org(ctx);
}

/* GET /teams/{team_gid}/users */
static int team_users_list(api_ctx *ctx)
{
	int64_t team_gid;

	if (api_param_gid(ctx, "team_gid", &team_gid)) {
		return 0;
	}
	if (check_team(ctx, team_gid)) {
		return 0;
	}
	return users_list_team(ctx, team_gid);
}

/*
 * Resolves `ref` (a gid, "me" or an e-mail address that the client sent in
 * `field`) to a user the caller may see. A user hidden from a guest gets the
 * same 404 as a missing one, so a guest cannot probe gids or e-mail
 * addresses. Returns 0 and sets *gid_r, or -1 after replying.
 */
static int resolve_visible_user(api_ctx *ctx, const char *field, const char *ref, int64_t *gid_r)
{
	db_stmt *s;
	int rc;

	if (api_resolve_user(ctx, field, ref, gid_r)) {
		return -1;
	}
	if (!api_caller_is_guest(ctx)) {
		return 0;
	}

	s = db_query(ctx->db, "SELECT 1 FROM users u WHERE u.gid = ? AND u.workspace_gid = ? AND "
			      GUEST_SEES_USER_SQL("u.gid"));
	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, *gid_r);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	api_bind_guest_sees(ctx, s, 2);
	rc = db_step(s);
	db_stmt_done(s);
	if (rc == DB_ROW) {
		return 0;
	}
	if (rc != DB_DONE) {
		api_fail_db(ctx, rc);
		return -1;
	}
	/* The wording of api_resolve_user's 404, so hidden and missing users read alike. */
	api_error(ctx, 404, "%s: user not found: \"%.60s\". Check the gid or e-mail address; users of other "
			    "organizations are not found either.",
		  field, ref);
	return -1;
}

/* Replies with the user that path parameter user_gid names. */
static int user_reply(api_ctx *ctx)
{
	int64_t gid;
	json_t *user;
	int rc;

	if (resolve_visible_user(ctx, "user_gid", api_param(ctx, "user_gid"), &gid)) {
		return 0;
	}

	rc = user_fetch(ctx, gid, &user);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "user", gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_user_type, user));
}

/* GET /users/{user_gid}?workspace= */
static int user_get(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_query_gid(ctx, "workspace", &workspace_gid)) {
		return 0;
	}
	if (workspace_gid != 0 && check_workspace(ctx, workspace_gid)) {
		return 0;
	}
	return user_reply(ctx);
}

/* GET /workspaces/{workspace_gid}/users/{user_gid} */
static int workspace_user_get(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid)) {
		return 0;
	}
	if (check_workspace(ctx, workspace_gid)) {
		return 0;
	}
	return user_reply(ctx);
}

/* ---------- workspace memberships ---------- */

static const char *const membership_fields[] = {
	"user", "workspace", "is_active", "is_admin", "is_guest", "is_view_only", "vacation_dates", "created_at",
	"role", NULL,
};
static const char *const membership_compact[] = { "user", "workspace", NULL };
static const struct api_type_ref membership_refs[] = {
	{ "user", &api_user_type },
	{ "workspace", &api_workspace_type },
	{ NULL, NULL },
};

/*
 * Columns every membership query selects, in this order. A guest sees the
 * memberships of the users GUEST_SEES_USER_SQL allows.
 */
enum { MC_GID, MC_USER_GID, MC_USER_NAME, MC_WORKSPACE_GID, MC_WORKSPACE_NAME, MC_ROLE, MC_ACTIVE, MC_CREATED };

/*
 * Builds the full representation of the membership in the current row.
 * NOTE: user_task_list is left out because kontor has no user task lists yet.
 */
static json_t *membership_from_row(db_stmt *s)
{
	json_t *membership;
	const char *role;

	role = db_column_text(s, MC_ROLE);
	if (role == NULL) {
		role = "";
	}

	membership = api_object_new("workspace_membership", db_column_int64(s, MC_GID));
	json_object_set_new(membership, "user",
			    api_ref("user", db_column_int64(s, MC_USER_GID), db_column_text(s, MC_USER_NAME)));
	json_object_set_new(membership, "workspace",
			    api_ref("workspace", db_column_int64(s, MC_WORKSPACE_GID), db_column_text(s, MC_WORKSPACE_NAME)));
	json_object_set_new(membership, "is_active", json_boolean(db_column_int64(s, MC_ACTIVE) != 0));
	json_object_set_new(membership, "is_admin",
			    json_boolean(strcmp(role, "admin") == 0 || strcmp(role, "super_admin") == 0));
	json_object_set_new(membership, "is_guest", json_boolean(strcmp(role, "guest") == 0));
	json_object_set_new(membership, "is_view_only", json_false());
	json_object_set_new(membership, "vacation_dates", json_null());
	json_object_set_new(membership, "created_at", api_time(db_column_int64(s, MC_CREATED)));
	/* kontor's extension: super_admin, admin, member or guest, as PUT /workspace_memberships/{gid} sets it. */
	json_object_set_new(membership, "role", json_string(role));
	return membership;
}

/* Loads one membership the caller may see into *membership_r. Returns DB_ROW, DB_DONE or an error status. */
static int membership_fetch(api_ctx *ctx, int64_t gid, json_t **membership_r)
{
	db_stmt *s;
	int rc;

	*membership_r = NULL;
	s = db_query(ctx->db,
		     "SELECT m.gid, m.user_gid, u.name, m.workspace_gid, w.name, m.role, m.is_active, m.created_at"
		     " FROM workspace_memberships m"
		     " JOIN users u ON u.gid = m.user_gid"
		     " JOIN workspaces w ON w.gid = m.workspace_gid"
		     " WHERE m.gid = ? AND m.workspace_gid = ? AND " GUEST_SEES_USER_SQL("m.user_gid"));
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	api_bind_guest_sees(ctx, s, 2);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*membership_r = membership_from_row(s);
	}
	db_stmt_done(s);
	return rc;
}

static json_t *membership_load(api_ctx *ctx, int64_t gid)
{
	json_t *membership;

	if (membership_fetch(ctx, gid, &membership) != DB_ROW) {
		return NULL;
	}
	return membership;
}

const struct api_type api_workspace_membership_type = {
	.name = "workspace_membership",
	.fields = membership_fields,
	.compact = membership_compact,
	.refs = membership_refs,
	.load = membership_load,
};

/*
 * Replies with a page of the organization's memberships, active or not.
 * A user_gid of 0 lists everyone's. A user has one membership per organization,
 * so the pages are keyed and ordered by user gid, which the unique index on
 * (workspace_gid, user_gid) serves.
 */
static int memberships_list(api_ctx *ctx, int64_t user_gid)
{
	struct api_page page;
	json_t *items;
	db_stmt *s;
	int64_t last = 0;
	int fetched = 0;
	int rc;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT m.gid, m.user_gid, u.name, m.workspace_gid, w.name, m.role, m.is_active, m.created_at"
		     " FROM workspace_memberships m"
		     " JOIN users u ON u.gid = m.user_gid"
		     " JOIN workspaces w ON w.gid = m.workspace_gid"
		     " WHERE m.workspace_gid = ? AND m.user_gid > ? AND (? = 0 OR m.user_gid = ?)"
		     " AND " GUEST_SEES_USER_SQL("m.user_gid")
		     " ORDER BY m.user_gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, page.after);
	/* A 0/1 flag rather than the gid itself, because PostgreSQL types the parameter of `? = 0` as integer. */
	db_bind_int64(s, 2, user_gid != 0);
	db_bind_int64(s, 3, user_gid);
	db_bind_int64(s, api_bind_guest_sees(ctx, s, 4), (int64_t)page.limit + 1);

	items = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (fetched < page.limit) {
			last = db_column_int64(s, MC_USER_GID);
			json_array_append_new(items, api_present(ctx, &api_workspace_membership_type, membership_from_row(s)));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		json_decref(items);
		return api_fail_db(ctx, rc);
	}

	api_page_rows(&page, fetched);
	page.next_after = last;
	return api_reply_list(ctx, items, &page);
}

/* GET /workspaces/{workspace_gid}/workspace_memberships?user= */
static int workspace_memberships_list(api_ctx *ctx)
{
	int64_t workspace_gid;
	int64_t user_gid = 0;
	const char *user;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid)) {
		return 0;
	}
	if (check_workspace(ctx, workspace_gid)) {
		return 0;
	}
	user = api_query(ctx, "user");
	if (user != NULL && resolve_visible_user(ctx, "user", user, &user_gid)) {
		return 0;
	}
	return memberships_list(ctx, user_gid);
}

/* GET /users/{user_gid}/workspace_memberships */
static int user_memberships_list(api_ctx *ctx)
{
	int64_t user_gid;

	if (resolve_visible_user(ctx, "user_gid", api_param(ctx, "user_gid"), &user_gid)) {
		return 0;
	}
	return memberships_list(ctx, user_gid);
}

/* GET /workspace_memberships/{workspace_membership_gid} */
static int membership_get(api_ctx *ctx)
{
	int64_t gid;
	json_t *membership;
	int rc;

	if (api_param_gid(ctx, "workspace_membership_gid", &gid)) {
		return 0;
	}

	rc = membership_fetch(ctx, gid, &membership);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "workspace membership", gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_workspace_membership_type, membership));
}

/* ---------- routes ---------- */

/*
 * NOTE: GET /users/{user_gid}/favorites and the PUT routes that set a
 * user's custom field values are not served, because kontor has neither
 * favorites nor custom fields.
 */
const struct api_route api_users_routes[] = {
	{ "GET", "/users", users_list, API_LIST, &api_user_type },
	{ "GET", "/users/{user_gid}", user_get, 0, &api_user_type },
	{ "GET", "/workspaces/{workspace_gid}/users", workspace_users_list, API_LIST, &api_user_type },
	{ "GET", "/workspaces/{workspace_gid}/users/{user_gid}", workspace_user_get, 0, &api_user_type },
	{ "GET", "/teams/{team_gid}/users", team_users_list, API_LIST, &api_user_type },
	{ "GET", "/workspaces/{workspace_gid}/workspace_memberships", workspace_memberships_list, API_LIST,
	  &api_workspace_membership_type },
	{ "GET", "/users/{user_gid}/workspace_memberships", user_memberships_list, API_LIST,
	  &api_workspace_membership_type },
	{ "GET", "/workspace_memberships/{workspace_membership_gid}", membership_get, 0, &api_workspace_membership_type },
	{ NULL, NULL, NULL, 0, NULL },
};
