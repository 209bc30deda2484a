/*
 * Workspaces and divisions. Each caller sees exactly one workspace, their own
 * organization, and any other workspace gid gets 404. Admins and super admins
 * rename the organization and add or remove people (POST addUser and
 * removeUser). Removing deactivates the membership and revokes the person's
 * tokens, so their name stays on the objects they touched. Deactivating and
 * reactivating write audit records under Asana's names (user_deprovisioned,
 * user_reprovisioned), and adding an address no user has writes user_invited.
 * Divisions are kontor's read-only view of an organization's divisions,
 * with their teams and division admins. Workspace memberships live in
 * users.c.
 */
#include "api/api.h"
#include "api/service_accounts.h"

#include "store/audit.h"
#include "store/events.h"
#include "store/org.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EMAIL_MAX 254       /* RFC 5321 section 4.5.3.1.3: a 256-octet path, less its angle brackets */
#define EMAIL_LOCAL_MAX 64  /* RFC 5321 section 4.5.3.1.1 */

/*
 * 1 for admins, super admins and service accounts with full access: who may
 * rename the organization and add or remove people.
 */
static int caller_is_admin(const api_ctx *ctx)
{
	if (ctx->who.kind == PRINCIPAL_SERVICE_ACCOUNT) {
		return (ctx->who.scopes & SCOPE_FULL) != 0;
	}
	return ctx->who.role >= ROLE_ADMIN;
}

/* Ends the open write transaction before a reply that is not a storage failure. */
static void rollback(api_ctx *ctx)
{
	if (db_in_transaction(ctx->db)) {
		db_rollback(ctx->db);
	}
}

/* Reads path parameter workspace_gid. Any gid but the caller's organization gets 404. Returns -1 after replying. */
static int workspace_param(api_ctx *ctx, int64_t *gid_r)
{
	if (api_param_gid(ctx, "workspace_gid", gid_r)) {
		return -1;
	}
	if (*gid_r != ctx->who.workspace_gid) {
		api_not_found(ctx, "workspace", *gid_r);
		return -1;
	}
	return 0;
}

/* ---------- workspaces ---------- */

static const char *const workspace_fields[] = { "name", "is_organization", "email_domains", NULL };
static const char *const workspace_compact[] = { "name", NULL };
static const struct api_type_ref no_refs[] = { { NULL, NULL } };

/* Splits the comma-separated email_domains column into a JSON array, skipping blanks. */
static json_t *email_domains_array(const char *text)
{
	json_t *domains;
	const char *start;
	const char *end;
	const char *stop;

	domains = json_array();
	start = text != NULL ? text : "";
	while (*start != '\0') {
		stop = strchr(start, ',');
		if (stop == NULL) {
			stop = start + strlen(start);
		}

		end = stop;
		while (start < end && (*start == ' ' || *start == '\t')) {
			start++;
		}
		while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
			end--;
		}
		if (end > start) {
			json_array_append_new(domains, json_stringn(start, (size_t)(end - start)));
		}

		start = *stop == ',' ? stop + 1 : stop;
	}
	return domains;
}

/* Loads the caller's organization into *workspace_r. Returns DB_ROW, DB_DONE or an error status. */
static int workspace_fetch(api_ctx *ctx, json_t **workspace_r)
{
	db_stmt *s;
	json_t *workspace;
	int rc;

	*workspace_r = NULL;
	s = db_query(ctx->db, "SELECT gid, name, is_organization, email_domains FROM workspaces WHERE gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		workspace = api_object_new("workspace", db_column_int64(s, 0));
		json_object_set_new(workspace, "name", api_string_or_null(db_column_text(s, 1)));
		json_object_set_new(workspace, "is_organization", json_boolean(db_column_int64(s, 2) != 0));
		json_object_set_new(workspace, "email_domains", email_domains_array(db_column_text(s, 3)));
		*workspace_r = workspace;
	}
	db_stmt_done(s);
	return rc;
}

static json_t *workspace_load(api_ctx *ctx, int64_t gid)
{
	json_t *workspace;

	if (gid != ctx->who.workspace_gid) {
		return NULL;
	}
	if (workspace_fetch(ctx, &workspace) != DB_ROW) {
		return NULL;
	}
	return workspace;
}

const struct api_type api_workspace_type = {
	.name = "workspace",
	.fields = workspace_fields,
	.compact = workspace_compact,
	.refs = no_refs,
	.load = workspace_load,
};

/* Replies with the caller's organization, in full or as opt_fields requests. */
static int workspace_reply(api_ctx *ctx)
{
	json_t *workspace;
	int rc;

	rc = workspace_fetch(ctx, &workspace);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "workspace", ctx->who.workspace_gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_workspace_type, workspace));
}

/* GET /workspaces: a list of one, the caller's organization. */
static int workspaces_list(api_ctx *ctx)
{
	struct api_page page;
	json_t *items;
	json_t *workspace;
	int fetched = 0;
	int rc;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	items = json_array();
	if (page.after < ctx->who.workspace_gid) {
		rc = workspace_fetch(ctx, &workspace);
		if (rc != DB_ROW && rc != DB_DONE) {
			json_decref(items);
			return api_fail_db(ctx, rc);
		}
		if (rc == DB_ROW) {
			json_array_append_new(items, api_present(ctx, &api_workspace_type, workspace));
			fetched = 1;
		}
	}

	api_page_rows(&page, fetched);
	page.next_after = ctx->who.workspace_gid;
	return api_reply_list(ctx, items, &page);
}

/* GET /workspaces/{workspace_gid} */
static int workspace_get(api_ctx *ctx)
{
	int64_t workspace_gid;

	if (workspace_param(ctx, &workspace_gid)) {
		return 0;
	}
	return workspace_reply(ctx);
}

static const struct api_field workspace_update_fields[] = {
	{ "name", AF_STRING, 0, 0, NULL },
	{ NULL, AF_ANY, 0, 0, NULL },
};

/* PUT /workspaces/{workspace_gid}: only the name can change, as in Asana. */
static int workspace_update(api_ctx *ctx)
{
	int64_t workspace_gid;
	const char *name;
	db_stmt *s;
	int rc;

	if (workspace_param(ctx, &workspace_gid)) {
		return 0;
	}
	if (api_check_body(ctx, workspace_update_fields)) {
		return 0;
	}
	name = api_body_string(ctx, "name");
	if (api_body_has(ctx, "name") && (name == NULL || name[strspn(name, " \t")] == '\0')) {
		return api_error(ctx, 400, "name: must not be empty or blank; send the new name of the organization");
	}
	if (!caller_is_admin(ctx)) {
		return api_forbidden(ctx, "Only admins and super admins can rename the organization; ask one of them.");
	}

	if (name != NULL) {
		if (api_begin_write(ctx)) {
			return 0;
		}
		s = db_query(ctx->db, "UPDATE workspaces SET name = ? WHERE gid = ?");
		if (s == NULL) {
			return api_fail_db(ctx, DB_ERROR);
		}
		db_bind_text(s, 0, name);
		db_bind_int64(s, 1, workspace_gid);
		rc = db_run(s);
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
		if (api_commit(ctx)) {
			return 0;
		}
	}
	return workspace_reply(ctx);
}

/* ---------- adding and removing people ---------- */

/* Finds a user of the caller's organization by lower-cased e-mail. Returns DB_ROW (gid set), DB_DONE or an error. */
static int user_find_by_email(api_ctx *ctx, const char *email_lower, int64_t *gid_r)
{
	db_stmt *s;
	int rc;

	s = db_query(ctx->db, "SELECT gid FROM users WHERE workspace_gid = ? AND email_lower = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_text(s, 1, email_lower);

	rc = db_step(s);
	if (rc == DB_ROW) {
		*gid_r = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	return rc;
}

/*
 * Creates a person with a member's membership, named after the e-mail's
 * local part, inside the open transaction. Returns a db status.
 */
static int user_create(api_ctx *ctx, const char *email, int64_t *gid_r)
{
	char name[EMAIL_LOCAL_MAX + 1];
	size_t len;

	len = (size_t)(strchr(email, '@') - email);
	memcpy(name, email, len);
	name[len] = '\0';
	return store_user_create(ctx->db, ctx->who.workspace_gid, email, name, "member", NULL, gid_r);
}

/* A user's membership facts that decide who may add or remove them. */
struct member_state {
	int found;
	int is_active;
	int is_super_admin;
	int is_service_account;
	int is_deleted_service_account; /* a service account whose account row was deleted */
};

static int member_state_load(api_ctx *ctx, int64_t user_gid, struct member_state *state)
{
	db_stmt *s;
	const char *role;
	const char *kind;
	int rc;

	memset(state, 0, sizeof(*state));
	s = db_query(ctx->db,
		     "SELECT m.role, m.is_active, u.kind,"
		     " EXISTS (SELECT 1 FROM service_accounts a WHERE a.user_gid = u.gid)"
		     " FROM workspace_memberships m"
		     " JOIN users u ON u.gid = m.user_gid"
		     " WHERE m.workspace_gid = ? AND m.user_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);

	rc = db_step(s);
	if (rc == DB_ROW) {
		role = db_column_text(s, 0);
		kind = db_column_text(s, 2);
		state->found = 1;
		state->is_active = db_column_int64(s, 1) != 0;
		state->is_super_admin = role != NULL && strcmp(role, "super_admin") == 0;
		state->is_service_account = kind != NULL && strcmp(kind, "service_account") == 0;
		state->is_deleted_service_account = state->is_service_account && db_column_int64(s, 3) == 0;
	}
	db_stmt_done(s);
	return rc;
}

/* Super admins and service accounts are managed by super admins only, never by a service account. */
static int caller_may_manage(const api_ctx *ctx, const struct member_state *state)
{
	if (!state->is_super_admin && !state->is_service_account) {
		return 1;
	}
	return ctx->who.kind == PRINCIPAL_PERSON && ctx->who.role == ROLE_SUPER_ADMIN;
}

static int membership_set_active(api_ctx *ctx, int64_t user_gid, int active)
{
	db_stmt *s;

	s = db_query(ctx->db, "UPDATE workspace_memberships SET is_active = ? WHERE workspace_gid = ? AND user_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, active);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	return db_run(s);
}

/* Lists the gids of a user's unrevoked tokens into a new JSON array (*gids_r, set even on failure). Returns a db status. */
static int unrevoked_token_gids(api_ctx *ctx, int64_t user_gid, json_t **gids_r)
{
	db_stmt *s;
	int rc;

	*gids_r = json_array();
	s = db_query(ctx->db, "SELECT gid FROM tokens WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL ORDER BY gid");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		json_array_append_new(*gids_r, api_gid(db_column_int64(s, 0)));
	}
	db_stmt_done(s);
	return rc == DB_DONE ? DB_OK : rc;
}

/*
 * Appends a user_access audit record ("user_deprovisioned", "user_reprovisioned", "user_invited")
 * about `user_gid` inside the open transaction, and copies the user's name
 * into `name` (`name_len` bytes) for a second record. Borrows `details` (NULL
 * writes {}). Returns a db status.
 */
static int membership_audit(api_ctx *ctx, const char *event_type, int64_t user_gid, const struct member_state *state,
			    json_t *details, char *name, size_t name_len)
{
	struct audit_event event;
	db_stmt *s;
	int rc;

	name[0] = '\0';
	s = db_query(ctx->db, "SELECT name FROM users WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(name, name_len, "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	}
	db_stmt_done(s);
	if (rc != DB_ROW) {
		return rc == DB_DONE ? DB_ERROR : rc;
	}

	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "user_access";
	event.resource_type = "user";
	event.resource_subtype = state->is_service_account ? "service_account" : NULL;
	event.resource_gid = user_gid;
	event.resource_name = name;
	event.details = details;
	return api_audit(ctx, &event);
}

static const struct api_field user_ref_fields[] = {
	{ "user", AF_GID, AF_REQUIRED | AF_USER, 0, NULL },
	{ NULL, AF_ANY, 0, 0, NULL },
};

/*
 * Resolves body field `user` for addUser: a gid, "me", or an e-mail address.
 * An e-mail address that no user of the organization has creates a new
 * member, the way Asana invites, and sets *created_r. Runs inside the open
 * transaction. Returns 0 with *gid_r set, or -1 after replying.
 */
static int add_user_resolve(api_ctx *ctx, const char *ref, int64_t *gid_r, int *created_r)
{
	char email_lower[EMAIL_MAX + 1];
	int rc;

	*created_r = 0;
	if (strchr(ref, '@') == NULL) {
		return api_resolve_user(ctx, "user", ref, gid_r);
	}
	if (!text_email_valid(ref)) {
		api_error(ctx, 400, "user: %s is not a valid e-mail address; send a gid, \"me\" or an address like name@example.com",
			  ref);
		return -1;
	}

	store_email_lower(ref, email_lower, sizeof(email_lower));
	rc = user_find_by_email(ctx, email_lower, gid_r);
	if (rc == DB_DONE) {
		rc = user_create(ctx, ref, gid_r);
		*created_r = rc == DB_OK;
	}

	if (rc == DB_CONSTRAINT) {
		/* E-mail addresses are unique across the server, so this one belongs to another organization. */
		rollback(ctx);
		api_error(ctx, 409, "user: %s cannot be added because the address is already in use; a person belongs to one organization only",
			  ref);
		return -1;
	}
	if (rc != DB_ROW && rc != DB_OK) {
		api_fail_db(ctx, rc);
		return -1;
	}
	return 0;
}

/* Records a user "added" to or "removed" from the organization (parent the workspace). Returns a db status. */
static int workspace_user_event(api_ctx *ctx, int64_t user_gid, const char *action)
{
	struct change_event event = { .resource_type = "user", .resource_gid = user_gid, .action = action,
				      .parent_type = "workspace", .parent_gid = ctx->who.workspace_gid };

	return api_event(ctx, &event);
}

/* POST /workspaces/{workspace_gid}/addUser */
static int workspace_add_user(api_ctx *ctx)
{
	int64_t workspace_gid;
	int64_t user_gid = 0;
	struct member_state state;
	const struct member_state invited = { .found = 1, .is_active = 1 };
	char name[1024];
	json_t *user;
	int created = 0;
	int rc;

	if (workspace_param(ctx, &workspace_gid)) {
		return 0;
	}
	if (api_check_body(ctx, user_ref_fields)) {
		return 0;
	}
	if (!caller_is_admin(ctx)) {
		return api_forbidden(ctx, "Only admins and super admins can add people to the organization; ask one of them.");
	}

	if (api_begin_write(ctx)) {
		return 0;
	}
	if (add_user_resolve(ctx, api_body_string(ctx, "user"), &user_gid, &created)) {
		rollback(ctx);
		return 0;
	}
	if (created) {
		rc = membership_audit(ctx, "user_invited", user_gid, &invited, NULL, name, sizeof(name));
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}

	rc = member_state_load(ctx, user_gid, &state);
	if (rc != DB_ROW && rc != DB_DONE) {
		return api_fail_db(ctx, rc);
	}
	if (state.is_deleted_service_account) {
		rollback(ctx);
		return api_error(ctx, 409, "user: this service account was deleted and cannot be added back. Create a new "
					   "service account instead.");
	}
	if (state.found && !state.is_active) {
		if (!caller_may_manage(ctx, &state)) {
			rollback(ctx);
			return api_forbidden(ctx, "Only super admins can add back super admins and service accounts.");
		}
		rc = membership_set_active(ctx, user_gid, 1);
		if (rc == DB_OK) {
			rc = membership_audit(ctx, "user_reprovisioned", user_gid, &state, NULL, name, sizeof(name));
		}
		if (rc == DB_OK) {
			rc = workspace_user_event(ctx, user_gid, "added");
		}
		if (rc != DB_OK) {
			return api_fail_db(ctx, rc);
		}
	}
	/* NOTE: a user of the organization without a membership row (created outside kontor's tools) is left without one. */
	if (api_commit(ctx)) {
		return 0;
	}

	user = api_user_type.load(ctx, user_gid);
	if (user == NULL) {
		return api_not_found(ctx, "user", user_gid);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_user_type, user));
}

/* POST /workspaces/{workspace_gid}/removeUser */
static int workspace_remove_user(api_ctx *ctx)
{
	int64_t workspace_gid;
	int64_t user_gid;
	struct member_state state;
	char name[1024];
	json_t *revoked = NULL;
	json_t *details;
	db_stmt *s;
	int rc;

	if (workspace_param(ctx, &workspace_gid)) {
		return 0;
	}
	if (api_check_body(ctx, user_ref_fields)) {
		return 0;
	}
	if (!caller_is_admin(ctx)) {
		return api_forbidden(ctx, "Only admins and super admins can remove people from the organization; ask one of them.");
	}
	if (api_resolve_user(ctx, "user", api_body_string(ctx, "user"), &user_gid)) {
		return 0;
	}
	if (user_gid == ctx->who.user_gid) {
		return api_forbidden(ctx, "You cannot remove yourself from the organization; ask another admin to remove you.");
	}

	if (api_begin_write(ctx)) {
		return 0;
	}
	rc = member_state_load(ctx, user_gid, &state);
	if (rc != DB_ROW && rc != DB_DONE) {
		return api_fail_db(ctx, rc);
	}
	if (!state.found) {
		rollback(ctx);
		return api_not_found(ctx, "user", user_gid);
	}
	if (!caller_may_manage(ctx, &state)) {
		rollback(ctx);
		return api_forbidden(ctx, "Only super admins can remove super admins and service accounts.");
	}

	rc = membership_set_active(ctx, user_gid, 0);
	if (rc == DB_OK) {
		rc = unrevoked_token_gids(ctx, user_gid, &revoked);
	}
	if (rc != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, rc);
	}

	/*
	 * Authentication already rejects the tokens of inactive members. Revoking
	 * them too keeps old tokens dead when the person is added back later.
	 */
	s = db_query(ctx->db,
		     "UPDATE tokens SET revoked_at = ? WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL");
	if (s == NULL) {
		json_decref(revoked);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	rc = db_run(s);
	if (rc != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, rc);
	}

	/* Admin-console sessions end too, so adding the person back later does not revive a stolen cookie. */
	s = db_query(ctx->db,
		     "UPDATE sessions SET revoked_at = ? WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL");
	if (s == NULL) {
		json_decref(revoked);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	rc = db_run(s);
	if (rc != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, rc);
	}

	/*
	 * Removing a user who is already inactive and has no live token changes
	 * nothing and writes no record. A service account gets two records: the
	 * deactivation, like a person's, and service_account_deauthorized, the
	 * record that the deauthorize endpoint also writes when it revokes
	 * every token of an account.
	 */
	details = json_object();
	json_object_set_new(details, "revoked_token_gids", revoked);
	rc = DB_OK;
	if (state.is_active || json_array_size(revoked) > 0) {
		rc = membership_audit(ctx, "user_deprovisioned", user_gid, &state, details, name, sizeof(name));
		if (rc == DB_OK && state.is_service_account) {
			json_object_set_new(details, "reason", json_string("user_deprovisioned"));
			rc = sa_audit(ctx, "service_account_deauthorized", user_gid, name, json_incref(details));
		}
	}
	if (rc == DB_OK && state.is_active) {
		rc = workspace_user_event(ctx, user_gid, "removed");
	}
	json_decref(details);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}

	if (api_commit(ctx)) {
		return 0;
	}
	return api_reply_empty(ctx);
}

/* ---------- divisions ---------- */

static const char *const division_fields[] = { "name", "plan", "teams", "admins", NULL };
static const char *const division_compact[] = { "name", NULL };
static const struct api_type_ref division_refs[] = {
	{ "teams", &api_team_type },
	{ "admins", &api_user_type },
	{ NULL, NULL },
};

/*
 * Fills the `teams` and `admins` arrays of `divisions`, whose gids are in
 * `gids` (ascending, count `n`), with two queries over the gid range
 * instead of two per division. Teams follow api_can_see_team's rule: a
 * secret team only to its members, any other team to non-guests, and all
 * of them to full access. Returns a db status.
 */
static int divisions_fill(api_ctx *ctx, json_t *divisions, const int64_t *gids, size_t n)
{
	db_stmt *s;
	size_t i;
	int64_t division_gid;
	int rc;

	if (n == 0) {
		return DB_OK;
	}

	s = db_query(ctx->db,
		     "SELECT t.division_gid, t.gid, t.name FROM teams t"
		     " WHERE t.workspace_gid = ? AND t.division_gid >= ? AND t.division_gid <= ?"
		     " AND (? = 1 OR (? = 0 AND t.visibility <> 'secret') OR EXISTS ("
		     "   SELECT 1 FROM team_memberships tm WHERE tm.team_gid = t.gid AND tm.user_gid = ?))"
		     " ORDER BY t.division_gid, t.gid");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gids[0]);
	db_bind_int64(s, 2, gids[n - 1]);
	db_bind_int64(s, 3, api_is_full_access(ctx));
	db_bind_int64(s, 4, api_caller_is_guest(ctx));
	db_bind_int64(s, 5, ctx->who.user_gid);

	/* Both the rows and `gids` ascend by division gid, so one forward pass matches them. */
	i = 0;
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		division_gid = db_column_int64(s, 0);
		while (i < n && gids[i] < division_gid) {
			i++;
		}
		if (i < n && gids[i] == division_gid) {
			json_array_append_new(json_object_get(json_array_get(divisions, i), "teams"),
					      api_ref("team", db_column_int64(s, 1), db_column_text(s, 2)));
		}
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		return rc;
	}

	s = db_query(ctx->db,
		     "SELECT a.division_gid, u.gid, u.name FROM division_admins a"
		     " JOIN users u ON u.gid = a.user_gid"
		     " WHERE a.workspace_gid = ? AND a.division_gid >= ? AND a.division_gid <= ?"
		     " ORDER BY a.division_gid, u.gid");
	if (s == NULL) {
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gids[0]);
	db_bind_int64(s, 2, gids[n - 1]);

	i = 0;
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		division_gid = db_column_int64(s, 0);
		while (i < n && gids[i] < division_gid) {
			i++;
		}
		if (i < n && gids[i] == division_gid) {
			json_array_append_new(json_object_get(json_array_get(divisions, i), "admins"),
					      api_ref("user", db_column_int64(s, 1), db_column_text(s, 2)));
		}
	}
	db_stmt_done(s);
	return rc == DB_DONE ? DB_OK : rc;
}

/* Builds a division without its teams and admins, which divisions_fill adds. */
static json_t *division_from_row(db_stmt *s)
{
	json_t *division;

	division = api_object_new("division", db_column_int64(s, 0));
	json_object_set_new(division, "name", api_string_or_null(db_column_text(s, 1)));
	json_object_set_new(division, "plan", api_string_or_null(db_column_text(s, 2)));
	json_object_set_new(division, "teams", json_array());
	json_object_set_new(division, "admins", json_array());
	return division;
}

/* Guests see no divisions: Asana shows them only what they were added to, and a division is never shared. */
static json_t *division_load(api_ctx *ctx, int64_t gid)
{
	json_t *list;
	json_t *division = NULL;
	db_stmt *s;
	int rc;

	if (api_caller_is_guest(ctx)) {
		return NULL;
	}
	s = db_query(ctx->db, "SELECT gid, name, plan FROM divisions WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return NULL;
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		division = division_from_row(s);
	}
	db_stmt_done(s);
	if (division == NULL) {
		return NULL;
	}

	list = json_array();
	json_array_append_new(list, division);
	if (divisions_fill(ctx, list, &gid, 1) != DB_OK) {
		json_decref(list);
		return NULL;
	}
	division = json_incref(json_array_get(list, 0));
	json_decref(list);
	return division;
}

const struct api_type api_division_type = {
	.name = "division",
	.fields = division_fields,
	.compact = division_compact,
	.refs = division_refs,
	.load = division_load,
};

/* GET /workspaces/{workspace_gid}/divisions */
static int divisions_list(api_ctx *ctx)
{
	int64_t workspace_gid;
	struct api_page page;
	json_t *divisions;
	json_t *items;
	int64_t *gids;
	db_stmt *s;
	size_t n = 0;
	size_t i;
	int fetched = 0;
	int rc;

	if (workspace_param(ctx, &workspace_gid)) {
		return 0;
	}
	if (api_caller_is_guest(ctx)) {
		return api_forbidden(ctx, "Guests cannot list the organization's divisions.");
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	gids = calloc((size_t)page.limit + 1, sizeof(*gids));
	if (gids == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	s = db_query(ctx->db, "SELECT gid, name, plan FROM divisions WHERE workspace_gid = ? AND gid > ? ORDER BY gid LIMIT ?");
	if (s == NULL) {
		free(gids);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, page.after);
	db_bind_int64(s, 2, (int64_t)page.limit + 1);

	divisions = json_array();
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (fetched < page.limit) {
			gids[n++] = db_column_int64(s, 0);
			json_array_append_new(divisions, division_from_row(s));
		}
		fetched++;
	}
	db_stmt_done(s);
	if (rc == DB_DONE) {
		rc = divisions_fill(ctx, divisions, gids, n);
	}
	if (rc != DB_DONE && rc != DB_OK) {
		free(gids);
		json_decref(divisions);
		return api_fail_db(ctx, rc);
	}

	api_page_rows(&page, fetched);
	page.next_after = n > 0 ? gids[n - 1] : 0;
	free(gids);

	items = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(items, api_present(ctx, &api_division_type, json_incref(json_array_get(divisions, i))));
	}
	json_decref(divisions);
	return api_reply_list(ctx, items, &page);
}

/* ---------- routes ---------- */

const struct api_route api_workspaces_routes[] = {
	{ "GET", "/workspaces", workspaces_list, API_LIST, &api_workspace_type },
	{ "GET", "/workspaces/{workspace_gid}", workspace_get, 0, &api_workspace_type },
	{ "PUT", "/workspaces/{workspace_gid}", workspace_update, API_WRITE | API_BODY, &api_workspace_type },
	{ "POST", "/workspaces/{workspace_gid}/addUser", workspace_add_user, API_WRITE | API_BODY, &api_user_type },
	{ "POST", "/workspaces/{workspace_gid}/removeUser", workspace_remove_user, API_WRITE | API_BODY, NULL },
	{ "GET", "/workspaces/{workspace_gid}/divisions", divisions_list, API_LIST, &api_division_type },
	{ NULL, NULL, NULL, 0, NULL },
};
