/*
 * kontor's SCIM settings for super admins, at /api/1.0/admin/scim_settings
 * (GET and PUT), for the admin console: the organization's deprovision
 * owner, who receives the tasks and owned projects of people that SCIM
 * deprovisions, and the SCIM base URL to enter in the identity provider.
 * `kontor org set-deprovision-owner` sets the same column from the command
 * line.
 */
#include "api/scim.h"
#include "store/audit.h"
#include "util/gid.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

/* Only super admins (people) manage the setting, as they manage service accounts. */
static int require_super_admin(api_ctx *ctx)
{
	if (ctx->who.kind == PRINCIPAL_PERSON && ctx->who.role == ROLE_SUPER_ADMIN)
		return 0;
	api_forbidden(ctx, "Only super admins of the organization can read or change the SCIM settings.");
	return -1;
}

/* Replies with the settings as stored. */
static int reply_settings(api_ctx *ctx)
{
	char url[API_BASE_URL_MAX + 32];
	json_t *settings, *owner = json_null();
	int owner_active = 0;
	db_stmt *s;
	int status;

	s = db_query(ctx->db, "SELECT u.gid, u.name, u.email, m.is_active, m.role, u.kind FROM workspaces w"
			      " JOIN users u ON u.gid = w.deprovision_owner_gid"
			      " LEFT JOIN workspace_memberships m ON m.workspace_gid = w.gid AND m.user_gid = u.gid"
			      " WHERE w.gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		const char *role = db_column_text(s, 4), *kind = db_column_text(s, 5);

		json_decref(owner);
		owner = api_ref("user", db_column_int64(s, 0), db_column_text(s, 1));
		json_object_set_new(owner, "email", api_string_or_null(db_column_text(s, 2)));
		/* The same test SCIM applies when it hands work over (scim_users.c deprovision_owner). */
		owner_active = db_column_int64(s, 3) == 1 && role != NULL && strcmp(role, "guest") != 0 && kind != NULL &&
			       strcmp(kind, "person") == 0;
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE) {
		json_decref(owner);
		return api_fail_db(ctx, status);
	}

	api_base_url(ctx, url, API_BASE_URL_MAX);
	strcat(url, API_BASE_PATH SCIM_PATH);
	settings = json_object();
	json_object_set_new(settings, "resource_type", json_string("scim_settings"));
	json_object_set_new(settings, "deprovision_owner_active", json_is_null(owner) ? json_null() : json_boolean(owner_active));
	json_object_set_new(settings, "deprovision_owner", owner);
	json_object_set_new(settings, "scim_base_url", json_string(url));
	return api_reply(ctx, 200, settings);
}

/* GET /admin/scim_settings */
static int scim_settings_get(api_ctx *ctx)
{
	if (require_super_admin(ctx))
		return 0;
	return reply_settings(ctx);
}

static const struct api_field settings_fields[] = {
	{ "deprovision_owner", AF_GID, AF_REQUIRED | AF_NULLABLE | AF_USER, 0, NULL },
	{ NULL, AF_ANY, 0, 0, NULL },
};

/*
 * PUT /admin/scim_settings {"data": {"deprovision_owner": <gid, e-mail or null>}}.
 * The owner must be an active member of the organization who is a person
 * (not a service account) and not a guest.
 */
static int scim_settings_put(api_ctx *ctx)
{
	const char *ref;
	int64_t owner = 0, old_owner = 0;
	json_t *details;
	db_stmt *s;
	int status;

	if (require_super_admin(ctx) || api_check_body(ctx, settings_fields))
		return 0;
	ref = api_body_string(ctx, "deprovision_owner");
	if (ref != NULL && api_resolve_user(ctx, "deprovision_owner", ref, &owner))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	if (owner != 0) {
		s = db_query(ctx->db, "SELECT m.role, m.is_active, u.kind FROM workspace_memberships m JOIN users u"
				      " ON u.gid = m.user_gid WHERE m.workspace_gid = ? AND m.user_gid = ?");
		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR);
		db_bind_int64(s, 0, ctx->who.workspace_gid);
		db_bind_int64(s, 1, owner);
		status = db_step(s);
		if (status == DB_ROW && db_column_text(s, 2) != NULL && strcmp(db_column_text(s, 2), "person") != 0) {
			db_stmt_done(s);
			db_rollback(ctx->db);
			return api_error(ctx, 400, "deprovision_owner: user %lld is a service account; the work of "
						   "deprovisioned people goes to a person. Pick an active member who is not "
						   "a guest.",
					 (long long)owner);
		}
		if (status == DB_ROW && (db_column_int64(s, 1) != 1 || db_column_text(s, 0) == NULL ||
					 strcmp(db_column_text(s, 0), "guest") == 0))
			status = DB_DONE;
		db_stmt_done(s);
		if (status == DB_DONE) {
			db_rollback(ctx->db);
			return api_error(ctx, 400, "deprovision_owner: user %lld is not an active member of the organization "
						   "(guests and deactivated users cannot own what others leave behind). "
						   "Pick an active member.",
					 (long long)owner);
		}
		if (status != DB_ROW)
			return api_fail_db(ctx, status);
	}

	s = db_query(ctx->db, "SELECT COALESCE(deprovision_owner_gid, 0) FROM workspaces WHERE gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		old_owner = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status != DB_ROW)
		return api_fail_db(ctx, status == DB_DONE ? DB_ERROR : status);

	s = db_query(ctx->db, "UPDATE workspaces SET deprovision_owner_gid = ? WHERE gid = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_gid(s, 0, owner);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_run(s);
	if (status == DB_OK && owner != old_owner) {
		struct audit_event event;

		details = json_object();
		json_object_set_new(details, "old_deprovision_owner_gid", old_owner ? api_gid(old_owner) : json_null());
		json_object_set_new(details, "new_deprovision_owner_gid", owner ? api_gid(owner) : json_null());
		memset(&event, 0, sizeof(event));
		event.event_type = "workspace_deprovision_owner_changed";
		event.event_category = "admin_settings";
		event.resource_type = "workspace";
		event.resource_gid = ctx->who.workspace_gid;
		event.details = details;
		status = api_audit(ctx, &event);
		json_decref(details);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	log_info("scim", "deprovision owner changed", "request_id", ctx->req->request_id, "principal",
		 LOG_INT(ctx->who.user_gid), "owner_gid", owner ? LOG_INT(owner) : NULL, NULL);
	return reply_settings(ctx);
}

const struct api_route api_scim_settings_routes[] = {
	{ "GET", "/admin/scim_settings", scim_settings_get, API_SUPER_ADMIN, NULL },
	{ "PUT", "/admin/scim_settings", scim_settings_put, API_SUPER_ADMIN | API_WRITE | API_BODY, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
