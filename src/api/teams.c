/*
 * Teams and team memberships: POST /teams, GET and PUT /teams/{team_gid},
 * GET /workspaces/{workspace_gid}/teams and /users/{user_gid}/teams,
 * POST /teams/{team_gid}/addUser and removeUser, and the four
 * team-membership reads (/team_memberships, /team_memberships/{gid},
 * /teams/{team_gid}/team_memberships, /users/{user_gid}/team_memberships).
 * It also defines api_team_type and api_team_membership_type, through which
 * opt_fields and the other resource files expand nested teams.
 *
 * Visibility follows Asana. Members of the organization see its public and
 * request_to_join teams, and a secret team only as its member. Guests see
 * only the teams they belong to, and a full-access service account sees
 * every team. A team membership is visible when its team is. Single objects go through
 * api_can_see_team; lists carry the same rule in SQL (TEAM_VISIBLE_SQL) so that
 * keyset pagination stays exact.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/richtext.h"
#include "store/audit.h"
#include "store/events.h"

#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- representation ---------- */

static const char *const team_visibilities[] = { "secret", "request_to_join", "public", NULL };

/*
 * kontor's fixed team policy, in the terms of Asana's access-level fields:
 * only team admins (and organization admins) rename a team, change its
 * visibility or remove other members. The fields accept only this value.
 */
static const char *const team_admin_only[] = { "only_team_admins", NULL };

static const char *const team_fields[] = {
	"name",
	"description",
	"html_description",
	"organization",
	"visibility",
	"edit_team_name_or_description_access_level",
	"edit_team_visibility_or_trash_team_access_level",
	"team_member_removal_access_level",
	"custom_field_settings",
	NULL,
};
static const char *const team_compact[] = { "name", NULL };
static const struct api_type_ref team_refs[] = {
	{ "organization", &api_workspace_type },
	{ NULL, NULL },
};

static const char *const membership_fields[] = { "user", "team", "is_guest", "is_limited_access", "is_admin", NULL };
/* TeamMembershipCompact in the spec lists every field, so lists show them all. */
static const char *const membership_compact[] = { "user", "team", "is_guest", "is_limited_access", "is_admin", NULL };
static const struct api_type_ref membership_refs[] = {
	{ "user", &api_user_type },
	{ "team", &api_team_type },
	{ NULL, NULL },
};

/* One team row, as every team query in this file selects it (TEAM_COLUMNS). */
enum { TEAM_GID, TEAM_NAME, TEAM_DESCRIPTION, TEAM_HTML_DESCRIPTION, TEAM_VISIBILITY, TEAM_ORG_GID, TEAM_ORG_NAME };

#define TEAM_COLUMNS "t.gid, t.name, t.description, t.html_description, t.visibility, w.gid, w.name"
#define TEAM_FROM " FROM teams t JOIN workspaces w ON w.gid = t.workspace_gid"

/* One team-membership row (MEMBERSHIP_COLUMNS). */
enum { MS_GID, MS_IS_ADMIN, MS_IS_GUEST, MS_USER_GID, MS_USER_NAME, MS_TEAM_GID, MS_TEAM_NAME };

#define MEMBERSHIP_COLUMNS "m.gid, m.is_admin, m.is_guest, u.gid, u.name, t.gid, t.name"
#define MEMBERSHIP_FROM                                                       \
	" FROM team_memberships m JOIN users u ON u.gid = m.user_gid"         \
	" JOIN teams t ON t.gid = m.team_gid"

void api_bind_team_visible(api_ctx *ctx, db_stmt *s, int first)
{
	db_bind_int64(s, first, api_is_full_access(ctx) ? 1 : 0);
	db_bind_int64(s, first + 1, api_caller_is_guest(ctx));
	db_bind_int64(s, first + 2, ctx->who.user_gid);
}

/* Builds the full team in the current row of `s` (TEAM_COLUMNS). Returns a new reference. */
static json_t *team_from_row(db_stmt *s)
{
	json_t *team;

	team = api_object_new("team", db_column_int64(s, TEAM_GID));
	json_object_set_new(team, "name", api_string_or_null(db_column_text(s, TEAM_NAME)));
	json_object_set_new(team, "description", api_string_or_null(db_column_text(s, TEAM_DESCRIPTION)));
	json_object_set_new(team, "html_description", api_string_or_null(db_column_text(s, TEAM_HTML_DESCRIPTION)));
	json_object_set_new(team, "organization",
			    api_ref("workspace", db_column_int64(s, TEAM_ORG_GID), db_column_text(s, TEAM_ORG_NAME)));
	json_object_set_new(team, "visibility", api_string_or_null(db_column_text(s, TEAM_VISIBILITY)));
	json_object_set_new(team, "edit_team_name_or_description_access_level", json_string(team_admin_only[0]));
	json_object_set_new(team, "edit_team_visibility_or_trash_team_access_level", json_string(team_admin_only[0]));
	json_object_set_new(team, "team_member_removal_access_level", json_string(team_admin_only[0]));

	/* NOTE: permalink_url is left out because the server does not know its public base URL. */

	/* kontor has no custom fields, so no team has custom field settings. */
	json_object_set_new(team, "custom_field_settings", json_array());
	return team;
}

/* Builds the full team membership in the current row of `s` (MEMBERSHIP_COLUMNS). */
static json_t *membership_from_row(db_stmt *s)
{
	json_t *membership;

	membership = api_object_new("team_membership", db_column_int64(s, MS_GID));
	json_object_set_new(membership, "user",
			    api_ref("user", db_column_int64(s, MS_USER_GID), db_column_text(s, MS_USER_NAME)));
	json_object_set_new(membership, "team",
			    api_ref("team", db_column_int64(s, MS_TEAM_GID), db_column_text(s, MS_TEAM_NAME)));
	json_object_set_new(membership, "is_guest", json_boolean(db_column_int64(s, MS_IS_GUEST) != 0));
	/* Limited access comes from project-only access, which kontor does not grant. */
	json_object_set_new(membership, "is_limited_access", json_false());
	json_object_set_new(membership, "is_admin", json_boolean(db_column_int64(s, MS_IS_ADMIN) != 0));
	return membership;
}

/*
 * Reads one team of the caller's organization into *team_r, without a
 * visibility check. Returns DB_ROW, DB_DONE (no such team) or an error status.
 */
static int team_fetch(api_ctx *ctx, int64_t gid, json_t **team_r)
{
	db_stmt *s;
	int rc;

	*team_r = NULL;
	s = db_query(ctx->db, "SELECT " TEAM_COLUMNS TEAM_FROM " WHERE t.gid = ? AND t.workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*team_r = team_from_row(s);
	}
	db_stmt_done(s);
	return rc;
}

static json_t *team_load(api_ctx *ctx, int64_t gid)
{
	json_t *team;
	int exists;

	if (api_can_see_team(ctx, gid, &exists) != 1) {
		return NULL;
	}
	if (team_fetch(ctx, gid, &team) != DB_ROW) {
		return NULL;
	}
	return team;
}

/* Reads one team membership of the caller's organization, without a visibility check. */
static int membership_fetch(api_ctx *ctx, int64_t gid, json_t **membership_r, int64_t *team_gid_r)
{
	db_stmt *s;
	int rc;

	*membership_r = NULL;
	*team_gid_r = 0;
	s = db_query(ctx->db, "SELECT " MEMBERSHIP_COLUMNS MEMBERSHIP_FROM " WHERE m.gid = ? AND m.workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*membership_r = membership_from_row(s);
		*team_gid_r = db_column_int64(s, MS_TEAM_GID);
	}
	db_stmt_done(s);
	return rc;
}

static json_t *membership_load(api_ctx *ctx, int64_t gid)
{
	json_t *membership;
	int64_t team_gid;
	int exists;

	if (membership_fetch(ctx, gid, &membership, &team_gid) != DB_ROW) {
		return NULL;
	}
	if (api_can_see_team(ctx, team_gid, &exists) != 1) {
		json_decref(membership);
		return NULL;
	}
	return membership;
}

const struct api_type api_team_type = {
	.name = "team",
	.fields = team_fields,
	.compact = team_compact,
	.refs = team_refs,
	.load = team_load,
};

const struct api_type api_team_membership_type = {
	.name = "team_membership",
	.fields = membership_fields,
	.compact = membership_compact,
	.refs = membership_refs,
	.load = membership_load,
};

/* ---------- shared checks ---------- */

/*
 * Checks that the caller may see the team. Returns 0, or -1 after replying
 * 404 (missing and invisible teams look the same) or a database error.
 */
static int team_require_visible(api_ctx *ctx, int64_t team_gid)
{
	int exists = 0;
	int seen;

	seen = api_can_see_team(ctx, team_gid, &exists);
	if (seen < 0) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	if (seen == 0) {
		api_not_found(ctx, "team", team_gid);
		return -1;
	}
	return 0;
}

/*
 * Checks a workspace gid given by the client: kontor serves one organization
 * per caller, so any other gid is unknown. Returns 0, or -1 after replying 404.
 */
static int require_own_workspace(api_ctx *ctx, int64_t workspace_gid)
{
	if (workspace_gid != ctx->who.workspace_gid) {
		api_not_found(ctx, "workspace", workspace_gid);
		return -1;
	}
	return 0;
}

/*
 * Reads a required workspace query parameter (`organization` or `workspace`)
 * and checks that it is the caller's organization. Returns 0, or -1 after replying.
 */
static int require_workspace_query(api_ctx *ctx, const char *name)
{
	int64_t workspace_gid;

	if (api_query_gid(ctx, name, &workspace_gid)) {
		return -1;
	}
	if (workspace_gid == 0) {
		api_error(ctx, 400, "%s: missing required query parameter. Send the gid of your organization, as in ?%s=%lld.",
			  name, name, (long long)ctx->who.workspace_gid);
		return -1;
	}
	return require_own_workspace(ctx, workspace_gid);
}

/*
 * Reads the caller's own membership of a team. *is_member_r and *is_admin_r
 * are set to 0 or 1. Returns DB_OK or an error status.
 */
static int caller_team_role(api_ctx *ctx, int64_t team_gid, int *is_member_r, int *is_admin_r)
{
	db_stmt *s;
	int rc;

	*is_member_r = 0;
	*is_admin_r = 0;
	s = db_query(ctx->db, "SELECT is_admin FROM team_memberships WHERE team_gid = ? AND user_gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, ctx->who.user_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*is_member_r = 1;
		*is_admin_r = db_column_int64(s, 0) != 0;
	}
	db_stmt_done(s);
	return rc == DB_ROW || rc == DB_DONE ? DB_OK : rc;
}

/*
 * Decides whether the caller manages the team: renames it, changes its
 * visibility, adds and removes others. Team admins, organization admins and
 * super admins, and full-access service accounts do; guests never do.
 * Returns 1 or 0, or a negative db status.
 */
static int caller_manages_team(api_ctx *ctx, int64_t team_gid, int *is_member_r)
{
	int is_admin;
	int rc;

	*is_member_r = 0;
	rc = caller_team_role(ctx, team_gid, is_member_r, &is_admin);
	if (rc != DB_OK) {
		return rc;
	}
	if (api_is_full_access(ctx)) {
		return 1;
	}
	if (ctx->who.role == ROLE_GUEST) {
		return 0;
	}
	return ctx->who.role >= ROLE_ADMIN || is_admin;
}

/* ---------- descriptions ---------- */

/*
 * Asana stores a team's description twice, as text and as HTML, and
 * derives whichever one the client leaves out. Sets *text_r and *html_r to
 * new strings (or NULL when the body has neither field) for the caller to
 * free. Returns 0, or -1 after replying 400 or 500.
 */
static int read_descriptions(api_ctx *ctx, char **text_r, char **html_r)
{
	const char *text = api_body_string(ctx, "description");
	const char *html = api_body_string(ctx, "html_description");
	char err[256];

	*text_r = NULL;
	*html_r = NULL;
	if (html != NULL && richtext_check(html, RICHTEXT_NOTES, err, sizeof(err)) < 0) {
		api_error(ctx, 400, "html_description: %s", err);
		return -1;
	}

	if (text != NULL) {
		*text_r = strdup(text);
	} else if (html != NULL) {
		*text_r = richtext_to_text(html);
	}
	if (html != NULL) {
		*html_r = strdup(html);
	} else if (text != NULL) {
		*html_r = richtext_from_text(text);
	}

	if ((text != NULL || html != NULL) && (*text_r == NULL || *html_r == NULL)) {
		free(*text_r);
		free(*html_r);
		*text_r = NULL;
		*html_r = NULL;
		log_error("api", "out of memory while copying a team description", "request_id", ctx->req->request_id,
			  NULL);
		api_error(ctx, 500, "Out of memory while storing the description. Retry the request.");
		return -1;
	}
	return 0;
}

/*
 * Checks `name` when present: it must contain more than white space.
 * Returns 0, or -1 after replying 400.
 */
static int check_team_name(api_ctx *ctx, const char *name)
{
	if (name == NULL) {
		return 0;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (*p != ' ' && *p != '\t') {
			return 0;
		}
	}
	api_error(ctx, 400, "name: must not be empty. Send the name of the team.");
	return -1;
}

/* ---------- teams ---------- */

static const struct api_field team_create_fields[] = {
	{ "name", AF_STRING, AF_REQUIRED, 0, NULL },
	{ "description", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_description", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "organization", AF_GID, AF_REQUIRED, 0, NULL },
	{ "visibility", AF_ENUM, 0, 0, team_visibilities },
	{ "edit_team_name_or_description_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ "edit_team_visibility_or_trash_team_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ "team_member_removal_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ NULL, 0, 0, 0, NULL },
};

static const struct api_field team_update_fields[] = {
	{ "name", AF_STRING, 0, 0, NULL },
	{ "description", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "html_description", AF_STRING, AF_MULTILINE, API_TEXT_MAX, NULL },
	{ "organization", AF_GID, 0, 0, NULL },
	{ "visibility", AF_ENUM, 0, 0, team_visibilities },
	{ "edit_team_name_or_description_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ "edit_team_visibility_or_trash_team_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ "team_member_removal_access_level", AF_ENUM, 0, 0, team_admin_only },
	{ NULL, 0, 0, 0, NULL },
};

/* Replies with the full team (or its opt_fields) after a write; status 200 or 201. */
static int reply_team(api_ctx *ctx, int64_t gid, int status)
{
	json_t *team;
	int rc;

	rc = team_fetch(ctx, gid, &team);
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc == DB_DONE ? DB_ERROR : rc);
	}
	return api_reply_object(ctx, &api_team_type, team, "/teams", gid, status);
}

/*
 * Records a change event on a team or its members: the team "added" to the
 * organization or "changed" on `field`, or a user "added" to or "removed"
 * from the team (resource_type "user", parent the team). Returns a db status.
 */
static int team_event(api_ctx *ctx, const char *resource_type, int64_t gid, const char *action, const char *parent_type,
		      int64_t parent_gid, const char *field)
{
	struct change_event event = { .resource_type = resource_type, .resource_gid = gid, .action = action,
				      .parent_type = parent_type, .parent_gid = parent_gid, .change_field = field,
				      .change_action = field ? "changed" : NULL };

	return api_event(ctx, &event);
}

/*
 * Appends user_added_to_team or user_removed_from_team: the user is the
 * resource (subtype service_account for one), the team is in the details.
 * Returns a db status.
 */
static int team_member_audit(api_ctx *ctx, const char *event_type, int64_t team_gid, int64_t user_gid)
{
	char team_name[API_NAME_MAX + 1] = "", user_name[API_NAME_MAX + 1] = "";
	struct audit_event event;
	int is_person = 1;
	json_t *details;
	db_stmt *s;
	int rc;

	s = db_query(ctx->db, "SELECT t.name, u.name, u.kind FROM teams t JOIN users u ON u.workspace_gid = t.workspace_gid"
			      " WHERE t.gid = ? AND t.workspace_gid = ? AND u.gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(team_name, sizeof(team_name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
		snprintf(user_name, sizeof(user_name), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
		is_person = db_column_text(s, 2) == NULL || strcmp(db_column_text(s, 2), "person") == 0;
	}
	db_stmt_done(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		return rc;
	}

	details = json_pack("{s:{s:o, s:s}}", "team", "gid", api_gid(team_gid), "name", team_name);
	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "user_access";
	event.resource_type = "user";
	event.resource_subtype = is_person ? NULL : "service_account";
	event.resource_gid = user_gid;
	event.resource_name = user_name;
	event.details = details;
	rc = api_audit(ctx, &event);
	json_decref(details);
	return rc;
}

/* POST /teams: the creator becomes the team's first member and admin. */
static int teams_create(api_ctx *ctx)
{
	const char *name;
	const char *visibility;
	char *text = NULL;
	char *html = NULL;
	int64_t gid;
	int64_t now;
	db_stmt *s;
	int rc;

	if (api_check_body(ctx, team_create_fields)) {
		return 0;
	}
	name = api_body_string(ctx, "name");
	if (check_team_name(ctx, name)) {
		return 0;
	}
	if (require_own_workspace(ctx, api_body_gid(ctx, "organization"))) {
		return 0;
	}
	visibility = api_body_string(ctx, "visibility");
	if (visibility == NULL) {
		visibility = "request_to_join";
	}

	if (api_caller_is_guest(ctx)) {
		return api_forbidden(ctx, "Guests cannot create teams. Ask a member of the organization to create the team.");
	}

	if (read_descriptions(ctx, &text, &html)) {
		return 0;
	}
	gid = gid_next();
	now = time_now_us();
	if (api_begin_write(ctx)) {
		free(text);
		free(html);
		return 0;
	}

	s = db_query(ctx->db,
		     "INSERT INTO teams (gid, workspace_gid, name, description, html_description, visibility,"
		     " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL) {
		free(text);
		free(html);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, name);
	db_bind_text(s, 3, text != NULL ? text : "");
	db_bind_text(s, 4, html != NULL ? html : "");
	db_bind_text(s, 5, visibility);
	db_bind_int64(s, 6, now);
	db_bind_int64(s, 7, now);
	rc = db_run(s);
	free(text);
	free(html);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	/* Guests were turned away above, so the creator is never a guest of the team. */
	s = db_query(ctx->db,
		     "INSERT INTO team_memberships (gid, workspace_gid, team_gid, user_gid, is_admin, is_guest, created_at)"
		     " VALUES (?, ?, ?, ?, 1, 0, ?)");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, gid);
	db_bind_int64(s, 3, ctx->who.user_gid);
	db_bind_int64(s, 4, now);
	rc = db_run(s);
	if (rc == DB_OK) {
		rc = team_event(ctx, "team", gid, "added", "workspace", ctx->who.workspace_gid, NULL);
	}
	if (rc == DB_OK) {
		rc = team_event(ctx, "user", ctx->who.user_gid, "added", "team", gid, NULL);
	}
	if (rc == DB_OK) {
		rc = team_member_audit(ctx, "user_added_to_team", gid, ctx->who.user_gid);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	if (api_commit(ctx)) {
		return 0;
	}
	return reply_team(ctx, gid, 201);
}

/* GET /teams/{team_gid} */
static int teams_get(api_ctx *ctx)
{
	json_t *team;
	int64_t gid;
	int rc;

	if (api_param_gid(ctx, "team_gid", &gid)) {
		return 0;
	}
	if (team_require_visible(ctx, gid)) {
		return 0;
	}

	rc = team_fetch(ctx, gid, &team);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "team", gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_team_type, team));
}

/* PUT /teams/{team_gid}: only fields present in the body change. */
static int teams_update(api_ctx *ctx)
{
	const char *name;
	char *text = NULL;
	char *html = NULL;
	int64_t gid;
	int64_t organization;
	int is_member;
	int manages;
	db_stmt *s;
	int rc;

	if (api_param_gid(ctx, "team_gid", &gid)) {
		return 0;
	}
	if (api_check_body(ctx, team_update_fields)) {
		return 0;
	}
	name = api_body_string(ctx, "name");
	if (check_team_name(ctx, name)) {
		return 0;
	}
	organization = api_body_gid(ctx, "organization");
	if (organization != 0 && organization != ctx->who.workspace_gid) {
		return api_error(ctx, 400, "organization: a team cannot move to another organization. Leave the field out.");
	}

	if (team_require_visible(ctx, gid)) {
		return 0;
	}
	manages = caller_manages_team(ctx, gid, &is_member);
	if (manages < 0) {
		return api_fail_db(ctx, manages);
	}
	if (!manages) {
		return api_forbidden(ctx, "Only team admins and organization admins can change a team. Ask a team admin.");
	}

	if (read_descriptions(ctx, &text, &html)) {
		return 0;
	}
	if (api_begin_write(ctx)) {
		free(text);
		free(html);
		return 0;
	}

	/* NULL leaves a column as it is: the body had no such field. */
	s = db_query(ctx->db,
		     "UPDATE teams SET name = COALESCE(?, name), description = COALESCE(?, description),"
		     " html_description = COALESCE(?, html_description), visibility = COALESCE(?, visibility),"
		     " modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		free(text);
		free(html);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_text(s, 0, name);
	db_bind_text(s, 1, text);
	db_bind_text(s, 2, html);
	db_bind_text(s, 3, api_body_string(ctx, "visibility"));
	db_bind_int64(s, 4, time_now_us());
	db_bind_int64(s, 5, gid);
	db_bind_int64(s, 6, ctx->who.workspace_gid);
	rc = db_run(s);
	/* NOTE: a field sent with its current value is still recorded as changed. */
	if (rc == DB_OK && name != NULL) {
		rc = team_event(ctx, "team", gid, "changed", NULL, 0, "name");
	}
	if (rc == DB_OK && text != NULL) {
		rc = team_event(ctx, "team", gid, "changed", NULL, 0, "description");
	}
	if (rc == DB_OK && api_body_string(ctx, "visibility") != NULL) {
		rc = team_event(ctx, "team", gid, "changed", NULL, 0, "visibility");
	}
	free(text);
	free(html);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	if (api_commit(ctx)) {
		return 0;
	}
	return reply_team(ctx, gid, 200);
}

/*
 * Replies with the page of teams that the bound statement `s` returns
 * (at most limit + 1 rows in TEAM_COLUMNS order), then marks it done.
 */
static int teams_reply_page(api_ctx *ctx, db_stmt *s, struct api_page *page)
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
			last = db_column_int64(s, TEAM_GID);
			json_array_append_new(items, api_present(ctx, &api_team_type, team_from_row(s)));
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

/* GET /workspaces/{workspace_gid}/teams: the organization's teams the caller can see. */
static int teams_list_workspace(api_ctx *ctx)
{
	struct api_page page;
	int64_t workspace_gid;
	db_stmt *s;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid)) {
		return 0;
	}
	if (require_own_workspace(ctx, workspace_gid)) {
		return 0;
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT " TEAM_COLUMNS TEAM_FROM " WHERE t.workspace_gid = ? AND t.gid > ? AND" TEAM_VISIBLE_SQL
		     " ORDER BY t.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, page.after);
	api_bind_team_visible(ctx, s, 2);
	db_bind_int64(s, 5, (int64_t)page.limit + 1);
	return teams_reply_page(ctx, s, &page);
}

/* GET /users/{user_gid}/teams?organization=: the user's teams, narrowed to those the caller can see. */
static int teams_list_user(api_ctx *ctx)
{
	struct api_page page;
	int64_t user_gid;
	db_stmt *s;

	if (api_resolve_user(ctx, "user_gid", api_param(ctx, "user_gid"), &user_gid)) {
		return 0;
	}
	if (require_workspace_query(ctx, "organization")) {
		return 0;
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT " TEAM_COLUMNS TEAM_FROM " JOIN team_memberships um ON um.team_gid = t.gid"
		     " WHERE um.workspace_gid = ? AND um.user_gid = ? AND t.workspace_gid = ? AND t.gid > ? AND"
		     TEAM_VISIBLE_SQL " ORDER BY t.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, page.after);
	api_bind_team_visible(ctx, s, 4);
	db_bind_int64(s, 7, (int64_t)page.limit + 1);
	return teams_reply_page(ctx, s, &page);
}

/* ---------- adding and removing members ---------- */

static const struct api_field team_user_fields[] = {
	{ "user", AF_GID, AF_REQUIRED | AF_USER, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/*
 * Reads the team and user of an addUser or removeUser request and checks
 * that the caller sees the team. Returns 0, or -1 after replying.
 */
static int read_team_user(api_ctx *ctx, int64_t *team_gid_r, int64_t *user_gid_r)
{
	if (api_param_gid(ctx, "team_gid", team_gid_r)) {
		return -1;
	}
	if (api_check_body(ctx, team_user_fields)) {
		return -1;
	}
	if (team_require_visible(ctx, *team_gid_r)) {
		return -1;
	}
	return api_resolve_user(ctx, "user", api_body_string(ctx, "user"), user_gid_r);
}

/* Reads a team's visibility into `buf`. Returns DB_ROW, DB_DONE or an error status. */
static int team_visibility(api_ctx *ctx, int64_t team_gid, char *buf, size_t len)
{
	db_stmt *s;
	int rc;

	buf[0] = '\0';
	s = db_query(ctx->db, "SELECT visibility FROM teams WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(buf, len, "%s", db_column_text(s, 0) != NULL ? db_column_text(s, 0) : "");
	}
	db_stmt_done(s);
	return rc;
}

/*
 * Reads a user's standing in the caller's organization: *is_guest_r and
 * *is_active_r. Returns DB_ROW, DB_DONE (no membership) or an error status.
 */
static int user_standing(api_ctx *ctx, int64_t user_gid, int *is_guest_r, int *is_active_r)
{
	db_stmt *s;
	int rc;

	*is_guest_r = 0;
	*is_active_r = 0;
	s = db_query(ctx->db, "SELECT role, is_active FROM workspace_memberships WHERE workspace_gid = ? AND user_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		const char *role = db_column_text(s, 0);

		*is_guest_r = role != NULL && strcmp(role, "guest") == 0;
		*is_active_r = db_column_int64(s, 1) != 0;
	}
	db_stmt_done(s);
	return rc;
}

/*
 * Decides whether the caller may add `user_gid` to the team. Managers add
 * anyone; a member of the organization may add only themselves, and only
 * to a public team (joining it). Returns 0, or -1 after replying 403 or a
 * database error.
 */
static int authorize_add(api_ctx *ctx, int64_t team_gid, int64_t user_gid)
{
	char visibility[32];
	int is_member;
	int manages;
	int rc;

	if (api_caller_is_guest(ctx)) {
		api_forbidden(ctx, "Guests cannot add users to teams. Ask a team admin.");
		return -1;
	}
	manages = caller_manages_team(ctx, team_gid, &is_member);
	if (manages < 0) {
		api_fail_db(ctx, manages);
		return -1;
	}
	if (manages) {
		return 0;
	}
	if (user_gid != ctx->who.user_gid) {
		api_forbidden(ctx, "Only team admins and organization admins can add other users to a team. Ask a team admin.");
		return -1;
	}

	rc = team_visibility(ctx, team_gid, visibility, sizeof(visibility));
	if (rc != DB_ROW) {
		api_fail_db(ctx, rc == DB_DONE ? DB_ERROR : rc);
		return -1;
	}
	if (strcmp(visibility, "public") != 0) {
		api_forbidden(ctx, "This team admits members by request only. Ask a team admin to add you.");
		return -1;
	}
	return 0;
}

/* POST /teams/{team_gid}/addUser: returns the new membership, or the existing one if the user is already in the team. */
static int teams_add_user(api_ctx *ctx)
{
	json_t *membership;
	int64_t team_gid;
	int64_t user_gid;
	int64_t membership_gid;
	int64_t membership_team;
	int64_t added;
	int is_guest;
	int is_active;
	db_stmt *s;
	int rc;

	if (read_team_user(ctx, &team_gid, &user_gid)) {
		return 0;
	}
	if (authorize_add(ctx, team_gid, user_gid)) {
		return 0;
	}

	rc = user_standing(ctx, user_gid, &is_guest, &is_active);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "user", user_gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	if (!is_active) {
		return api_error(ctx, 400, "user: user %lld is deactivated in this organization. Reactivate the user first.",
				 (long long)user_gid);
	}

	if (api_begin_write(ctx)) {
		return 0;
	}
	s = db_query(ctx->db,
		     "INSERT INTO team_memberships (gid, workspace_gid, team_gid, user_gid, is_admin, is_guest, created_at)"
		     " VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (team_gid, user_gid) DO NOTHING");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, team_gid);
	db_bind_int64(s, 3, user_gid);
	db_bind_int64(s, 4, is_guest);
	db_bind_int64(s, 5, time_now_us());
	rc = db_step(s);
	added = rc == DB_DONE ? db_changes(s) : 0;
	db_stmt_done(s);
	rc = rc == DB_DONE ? DB_OK : rc;
	/* A user already in the team changes nothing, so no audit record and no event. */
	if (rc == DB_OK && added > 0) {
		rc = team_member_audit(ctx, "user_added_to_team", team_gid, user_gid);
	}
	if (rc == DB_OK && added > 0) {
		rc = team_event(ctx, "user", user_gid, "added", "team", team_gid, NULL);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	/* Read back inside the transaction: the insert may have found an existing membership. */
	s = db_query(ctx->db, "SELECT gid FROM team_memberships WHERE team_gid = ? AND user_gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, user_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	rc = db_step(s);
	membership_gid = rc == DB_ROW ? db_column_int64(s, 0) : 0;
	db_stmt_done(s);
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc == DB_DONE ? DB_ERROR : rc);
	}

	if (api_commit(ctx)) {
		return 0;
	}

	rc = membership_fetch(ctx, membership_gid, &membership, &membership_team);
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc == DB_DONE ? DB_ERROR : rc);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_team_membership_type, membership));
}

/*
 * POST /teams/{team_gid}/removeUser. Managers remove anyone and every
 * member may leave, guests included. Removing a user who is not in the
 * team succeeds without a change, so a retried request does no harm.
 * Removing the last team admin is allowed: organization admins still
 * manage the team, so it is never left without anyone able to change it.
 */
static int teams_remove_user(api_ctx *ctx)
{
	int64_t team_gid;
	int64_t user_gid;
	int64_t removed;
	int is_member;
	int manages;
	db_stmt *s;
	int rc;

	if (read_team_user(ctx, &team_gid, &user_gid)) {
		return 0;
	}
	if (user_gid != ctx->who.user_gid) {
		manages = caller_manages_team(ctx, team_gid, &is_member);
		if (manages < 0) {
			return api_fail_db(ctx, manages);
		}
		if (!manages) {
			return api_forbidden(ctx,
					     "Only team admins and organization admins can remove other users from a team. Ask a team admin.");
		}
	}

	if (api_begin_write(ctx)) {
		return 0;
	}
	s = db_query(ctx->db, "DELETE FROM team_memberships WHERE team_gid = ? AND user_gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, user_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	rc = db_step(s);
	removed = rc == DB_DONE ? db_changes(s) : 0;
	db_stmt_done(s);
	rc = rc == DB_DONE ? DB_OK : rc;
	if (rc == DB_OK && removed > 0) {
		rc = team_member_audit(ctx, "user_removed_from_team", team_gid, user_gid);
	}
	if (rc == DB_OK && removed > 0) {
		rc = team_event(ctx, "user", user_gid, "removed", "team", team_gid, NULL);
	}
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

/* ---------- team memberships ---------- */

/* GET /team_memberships/{team_membership_gid} */
static int memberships_get(api_ctx *ctx)
{
	json_t *membership;
	int64_t gid;
	int64_t team_gid;
	int exists;
	int seen;
	int rc;

	if (api_param_gid(ctx, "team_membership_gid", &gid)) {
		return 0;
	}

	rc = membership_fetch(ctx, gid, &membership, &team_gid);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "team membership", gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}

	seen = api_can_see_team(ctx, team_gid, &exists);
	if (seen != 1) {
		json_decref(membership);
		if (seen < 0) {
			return api_fail_db(ctx, DB_ERROR);
		}
		return api_not_found(ctx, "team membership", gid);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_team_membership_type, membership));
}

/*
 * Replies with the page of memberships that the bound statement `s`
 * returns (at most limit + 1 rows in MEMBERSHIP_COLUMNS order), then marks it done.
 */
static int memberships_reply_page(api_ctx *ctx, db_stmt *s, struct api_page *page)
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
			last = db_column_int64(s, MS_GID);
			json_array_append_new(items, api_present(ctx, &api_team_membership_type, membership_from_row(s)));
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

/*
 * Replies with a page of a team's memberships, all of them or only the one
 * of `user_gid` when that is not 0. The caller checked that the team is visible.
 */
static int memberships_list_team(api_ctx *ctx, int64_t team_gid, int64_t user_gid)
{
	struct api_page page;
	db_stmt *s;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	if (user_gid == 0) {
		s = db_query(ctx->db,
			     "SELECT " MEMBERSHIP_COLUMNS MEMBERSHIP_FROM
			     " WHERE m.team_gid = ? AND m.workspace_gid = ? AND m.gid > ? ORDER BY m.gid LIMIT ?");
	} else {
		s = db_query(ctx->db,
			     "SELECT " MEMBERSHIP_COLUMNS MEMBERSHIP_FROM
			     " WHERE m.team_gid = ? AND m.workspace_gid = ? AND m.gid > ? AND m.user_gid = ?"
			     " ORDER BY m.gid LIMIT ?");
	}
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, team_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	if (user_gid == 0) {
		db_bind_int64(s, 3, (int64_t)page.limit + 1);
	} else {
		db_bind_int64(s, 3, user_gid);
		db_bind_int64(s, 4, (int64_t)page.limit + 1);
	}
	return memberships_reply_page(ctx, s, &page);
}

/* Replies with a page of a user's memberships in the teams the caller can see. */
static int memberships_list_user(api_ctx *ctx, int64_t user_gid)
{
	struct api_page page;
	db_stmt *s;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db,
		     "SELECT " MEMBERSHIP_COLUMNS MEMBERSHIP_FROM
		     " WHERE m.workspace_gid = ? AND m.user_gid = ? AND m.gid > ? AND" TEAM_VISIBLE_SQL
		     " ORDER BY m.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	db_bind_int64(s, 2, page.after);
	api_bind_team_visible(ctx, s, 3);
	db_bind_int64(s, 6, (int64_t)page.limit + 1);
	return memberships_reply_page(ctx, s, &page);
}

/*
 * GET /team_memberships?team=&user=&workspace=: by team (optionally narrowed
 * to one user), or by user, which the spec requires together with workspace.
 */
static int memberships_list(api_ctx *ctx)
{
	const char *user_ref = api_query(ctx, "user");
	int64_t team_gid;
	int64_t workspace_gid;
	int64_t user_gid = 0;

	if (api_query_gid(ctx, "team", &team_gid)) {
		return 0;
	}
	if (api_query_gid(ctx, "workspace", &workspace_gid)) {
		return 0;
	}
	if (team_gid == 0 && (user_ref == NULL || workspace_gid == 0)) {
		return api_error(ctx, 400,
				 "team, or user with workspace: missing query parameters. Send team=<team gid>, or"
				 " user=<gid, e-mail or me> together with workspace=<workspace gid>.");
	}
	if (workspace_gid != 0 && require_own_workspace(ctx, workspace_gid)) {
		return 0;
	}
	if (user_ref != NULL && api_resolve_user(ctx, "user", user_ref, &user_gid)) {
		return 0;
	}

	if (team_gid == 0) {
		return memberships_list_user(ctx, user_gid);
	}
	if (team_require_visible(ctx, team_gid)) {
		return 0;
	}
	return memberships_list_team(ctx, team_gid, user_gid);
}

/* GET /teams/{team_gid}/team_memberships */
static int memberships_list_for_team(api_ctx *ctx)
{
	int64_t team_gid;

	if (api_param_gid(ctx, "team_gid", &team_gid)) {
		return 0;
	}
	if (team_require_visible(ctx, team_gid)) {
		return 0;
	}
	return memberships_list_team(ctx, team_gid, 0);
}

/* GET /users/{user_gid}/team_memberships?workspace= */
static int memberships_list_for_user(api_ctx *ctx)
{
	int64_t user_gid;

	if (api_resolve_user(ctx, "user_gid", api_param(ctx, "user_gid"), &user_gid)) {
		return 0;
	}
	if (require_workspace_query(ctx, "workspace")) {
		return 0;
	}
	return memberships_list_user(ctx, user_gid);
}

/* ---------- routes ---------- */

const struct api_route api_teams_routes[] = {
	{ "POST", "/teams", teams_create, API_WRITE | API_BODY, &api_team_type },
	{ "GET", "/teams/{team_gid}", teams_get, 0, &api_team_type },
	{ "PUT", "/teams/{team_gid}", teams_update, API_WRITE | API_BODY, &api_team_type },
	{ "GET", "/workspaces/{workspace_gid}/teams", teams_list_workspace, API_LIST, &api_team_type },
	{ "GET", "/users/{user_gid}/teams", teams_list_user, API_LIST, &api_team_type },
	{ "POST", "/teams/{team_gid}/addUser", teams_add_user, API_WRITE | API_BODY, &api_team_membership_type },
	{ "POST", "/teams/{team_gid}/removeUser", teams_remove_user, API_WRITE | API_BODY, NULL },
	{ "GET", "/team_memberships", memberships_list, API_LIST, &api_team_membership_type },
	{ "GET", "/team_memberships/{team_membership_gid}", memberships_get, 0, &api_team_membership_type },
	{ "GET", "/teams/{team_gid}/team_memberships", memberships_list_for_team, API_LIST, &api_team_membership_type },
	{ "GET", "/users/{user_gid}/team_memberships", memberships_list_for_user, API_LIST, &api_team_membership_type },
	{ NULL, NULL, NULL, 0, NULL },
};
