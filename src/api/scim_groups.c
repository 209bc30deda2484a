/*
 * SCIM Groups (RFC 7643 section 4.2) mapped to the teams of the caller's
 * organization: GET, POST, PUT, PATCH and DELETE under
 * /api/1.0/scim/Groups. displayName is the team's name, members are the
 * people in the team (service accounts in a team are not listed and never
 * removed), externalId is kept in scim_groups. Every team of the
 * organization is a group, so an identity provider can link its groups to
 * teams that already exist.
 *
 * DELETE removes every person from the team and hides it from SCIM; the
 * team and its projects stay in kontor, where an admin can rename or
 * archive them, because deleting a team would take its projects with it.
 */
#include "api/scim.h"
#include "util/gid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MEMBERS_MAX 10000 /* members named in one request */

enum { F_DISPLAY_NAME, F_EXTERNAL_ID, F_ID, F_MEMBER };

static const struct scim_filter_attr group_filter_attrs[] = {
	{ "displayName", F_DISPLAY_NAME },
	{ "externalId", F_EXTERNAL_ID },
	{ "id", F_ID },
	{ "members.value", F_MEMBER },
	{ "members", F_MEMBER },
	{ NULL, 0 },
};

struct scim_group {
	int64_t gid;
	char name[API_NAME_MAX + 1];
	char external_id[SCIM_VALUE_MAX + 1];
	int has_external_id;
	int64_t created_at, modified_at;
};

/* ---------- loading and representation ---------- */

#define GROUP_COLUMNS "SELECT t.gid, t.name, t.created_at, t.modified_at, sg.external_id"
#define GROUP_FROM                                                                                                    \
	" FROM teams t LEFT JOIN scim_groups sg ON sg.team_gid = t.gid"                                               \
	" WHERE t.workspace_gid = ? AND sg.deleted_at IS NULL"
#define GROUP_FILTER                                                                                                  \
	" AND (CAST(? AS TEXT) IS NULL OR lower(t.name) = lower(CAST(? AS TEXT)))"                                    \
	" AND (CAST(? AS TEXT) IS NULL OR sg.external_id = ?)"                                                        \
	" AND (CAST(? AS BIGINT) IS NULL OR t.gid = ?)"                                                               \
	" AND (CAST(? AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM team_memberships tm"                                \
	"   JOIN users mu ON mu.gid = tm.user_gid LEFT JOIN scim_users msu ON msu.user_gid = tm.user_gid"           \
	"   WHERE tm.team_gid = t.gid AND tm.user_gid = ? AND mu.kind = 'person' AND msu.deleted_at IS NULL))"

static void group_from_row(db_stmt *s, struct scim_group *g)
{
	const char *text;

	memset(g, 0, sizeof(*g));
	g->gid = db_column_int64(s, 0);
	text = db_column_text(s, 1);
	snprintf(g->name, sizeof(g->name), "%s", text ? text : "");
	g->created_at = db_column_int64(s, 2);
	g->modified_at = db_column_int64(s, 3);
	text = db_column_text(s, 4);
	g->has_external_id = text != NULL;
	snprintf(g->external_id, sizeof(g->external_id), "%s", text ? text : "");
}

static int group_load(api_ctx *ctx, int64_t gid, struct scim_group *g)
{
	db_stmt *s = db_query(ctx->db, GROUP_COLUMNS GROUP_FROM " AND t.gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gid);
	status = db_step(s);
	if (status == DB_ROW)
		group_from_row(s, g);
	db_stmt_done(s);
	return status;
}

/*
 * Builds the members array of a team: its people, not deleted from SCIM.
 * The members.value filter in GROUP_FILTER matches the same people.
 * Returns a db status.
 */
static int members_load(api_ctx *ctx, int64_t team_gid, json_t *members)
{
	char location[API_BASE_URL_MAX + 128];
	db_stmt *s = db_query(ctx->db, "SELECT u.gid, u.name FROM team_memberships tm JOIN users u ON u.gid = tm.user_gid"
				       " LEFT JOIN scim_users su ON su.user_gid = u.gid"
				       " WHERE tm.workspace_gid = ? AND tm.team_gid = ? AND u.kind = 'person'"
				       " AND su.deleted_at IS NULL ORDER BY u.gid");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, team_gid);
	for (;;) {
		int64_t user_gid;

		status = db_step(s);
		if (status != DB_ROW)
			break;
		user_gid = db_column_int64(s, 0);
		json_array_append_new(members, json_pack("{s:o, s:s, s:s, s:s}", "value", api_gid(user_gid), "display",
							 db_column_text(s, 1) ? db_column_text(s, 1) : "", "type", "User",
							 "$ref", scim_location(ctx, "Users", user_gid, location, sizeof(location))));
	}
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

/* Returns the group with members and meta (a new reference), or NULL with *status_r set. */
static json_t *group_json(api_ctx *ctx, const struct scim_group *g, int *status_r)
{
	json_t *group = json_object();
	json_t *members = json_array();

	*status_r = members_load(ctx, g->gid, members);
	if (*status_r != DB_OK) {
		json_decref(group);
		json_decref(members);
		return NULL;
	}
	json_object_set_new(group, "schemas", json_pack("[s]", SCIM_SCHEMA_GROUP));
	json_object_set_new(group, "id", api_gid(g->gid));
	if (g->has_external_id)
		json_object_set_new(group, "externalId", json_string(g->external_id));
	json_object_set_new(group, "displayName", json_string(g->name));
	json_object_set_new(group, "members", members);
	scim_meta_set(ctx, group, "Group", "Groups", g->gid, g->created_at, g->modified_at);
	return group;
}

static int group_load_or_reply(api_ctx *ctx, int64_t gid, struct scim_group *g)
{
	int status = group_load(ctx, gid, g);

	if (status == DB_ROW)
		return 0;
	if (status == DB_DONE) {
		scim_rollback(ctx);
		scim_error(ctx, 404, NULL, "Group not found: %lld. Use the id that kontor returned for the group.",
			   (long long)gid);
	} else {
		api_fail_db(ctx, status);
	}
	return -1;
}

/* Replies with the group as stored, after a commit or for a GET. */
static int reply_group(api_ctx *ctx, int64_t gid, int status_code)
{
	struct scim_group g;
	json_t *group;
	int status;

	if (group_load_or_reply(ctx, gid, &g))
		return 0;
	group = group_json(ctx, &g, &status);
	if (group == NULL)
		return api_fail_db(ctx, status);
	return scim_reply_resource(ctx, status_code, group);
}

/* ---------- GET ---------- */

/* GET /scim/Groups/{id} */
static int groups_get(api_ctx *ctx)
{
	int64_t gid;

	if (scim_id_param(ctx, "id", "Group", &gid))
		return 0;
	return reply_group(ctx, gid, 200);
}

static void bind_group_filter(db_stmt *s, int first, const struct scim_filter *filter)
{
	json_t *name = scim_filter_value(filter, F_DISPLAY_NAME);
	json_t *external_id = scim_filter_value(filter, F_EXTERNAL_ID);

	db_bind_text(s, first, json_string_value(name));
	db_bind_text(s, first + 1, json_string_value(name));
	db_bind_text(s, first + 2, json_string_value(external_id));
	db_bind_text(s, first + 3, json_string_value(external_id));
	scim_filter_bind_gid(s, first + 4, scim_filter_value(filter, F_ID));
	scim_filter_bind_gid(s, first + 6, scim_filter_value(filter, F_MEMBER));
}

/* GET /scim/Groups. NOTE: positional paging (startIndex) uses OFFSET, as for Users. */
static int groups_list(api_ctx *ctx)
{
	struct scim_filter filter;
	struct scim_page page;
	struct scim_group g;
	json_t *resources, *group;
	int64_t total = 0;
	db_stmt *s;
	int status;

	if (scim_page_parse(ctx, &page) || scim_filter_parse(ctx, group_filter_attrs, &filter))
		return 0;
	if (filter.never) {
		scim_filter_free(&filter);
		return scim_reply_list(ctx, json_array(), 0, &page);
	}
	status = scim_list_total(ctx, "SELECT count(*)" GROUP_FROM GROUP_FILTER, bind_group_filter, &filter, &total);
	if (status != DB_OK) {
		scim_filter_free(&filter);
		return api_fail_db(ctx, status);
	}

	/* Rows are read first and members after, so that no two statements are open on one connection. */
	resources = json_array();
	if (page.count > 0 && page.start_index <= total) {
		struct scim_group *rows = malloc(SCIM_COUNT_MAX * sizeof(*rows));
		int n = 0;

		if (rows == NULL) {
			scim_filter_free(&filter);
			json_decref(resources);
			return api_fail_db(ctx, DB_ERROR);
		}
		s = db_query(ctx->db, GROUP_COLUMNS GROUP_FROM GROUP_FILTER " ORDER BY t.gid LIMIT ? OFFSET ?");
		if (s == NULL) {
			free(rows);
			scim_filter_free(&filter);
			json_decref(resources);
			return api_fail_db(ctx, DB_ERROR);
		}
		db_bind_int64(s, 0, ctx->who.workspace_gid);
		bind_group_filter(s, 1, &filter);
		db_bind_int64(s, 9, page.count);
		db_bind_int64(s, 10, page.start_index - 1);
		for (;;) {
			status = db_step(s);
			if (status != DB_ROW || n >= SCIM_COUNT_MAX)
				break;
			group_from_row(s, &rows[n++]);
		}
		db_stmt_done(s);
		for (int i = 0; (status == DB_DONE || status == DB_ROW) && i < n; i++) {
			g = rows[i];
			group = group_json(ctx, &g, &status);
			if (group == NULL)
				break;
			json_array_append_new(resources, group);
			status = DB_DONE;
		}
		free(rows);
		if (status != DB_DONE && status != DB_ROW && status != DB_OK) {
			scim_filter_free(&filter);
			json_decref(resources);
			return api_fail_db(ctx, status);
		}
	}
	scim_filter_free(&filter);
	return scim_reply_list(ctx, resources, total, &page);
}

/* ---------- members ---------- */

/* A member reference's user gid: {"value": "<gid>"}. Returns 0, or -1 after replying 400. */
static int member_gid(api_ctx *ctx, json_t *member, int64_t *gid_r)
{
	json_t *value = json_is_object(member) ? scim_get(member, "value") : member;

	if (!json_is_string(value) || gid_parse(json_string_value(value), gid_r) != 0) {
		scim_error(ctx, 400, "invalidValue", "members: each member must be an object like {\"value\": \"<user "
						     "id>\"} with the id kontor returned for the user.");
		return -1;
	}
	return 0;
}

/* Checks that `user_gid` is a SCIM user of the organization. Returns 0, or -1 after replying. */
static int member_check(api_ctx *ctx, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM users u LEFT JOIN scim_users su ON su.user_gid = u.gid"
				       " WHERE u.gid = ? AND u.workspace_gid = ? AND u.kind = 'person' AND su.deleted_at IS NULL");
	int status;

	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 0;
	if (status != DB_DONE)
		return api_fail_db(ctx, status), -1;
	scim_rollback(ctx);
	scim_error(ctx, 400, "invalidValue", "members: user %lld is not a user of this organization. Provision the "
					     "user before adding them to a group.",
		   (long long)user_gid);
	return -1;
}

static int member_audit(api_ctx *ctx, const struct scim_group *g, const char *event_type, int64_t user_gid)
{
	json_t *details = json_pack("{s:o}", "user_gid", api_gid(user_gid));
	int status = scim_audit(ctx, event_type, "team", g->gid, g->name, details);

	json_decref(details);
	return status;
}

/* Adds a person to the team unless present, auditing the change. Returns 0, or -1 after replying. */
static int member_add(api_ctx *ctx, const struct scim_group *g, int64_t user_gid, int *changed_r)
{
	db_stmt *s;
	int status;

	if (member_check(ctx, user_gid))
		return -1;
	s = db_query(ctx->db, "INSERT INTO team_memberships (gid, workspace_gid, team_gid, user_gid, is_admin, is_guest,"
			      " created_at) SELECT ?, m.workspace_gid, ?, m.user_gid, 0,"
			      " CASE WHEN m.role = 'guest' THEN 1 ELSE 0 END, ? FROM workspace_memberships m"
			      " WHERE m.workspace_gid = ? AND m.user_gid = ?"
			      " ON CONFLICT (team_gid, user_gid) DO NOTHING");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, g->gid);
	db_bind_int64(s, 2, time_now_us());
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	db_bind_int64(s, 4, user_gid);
	status = db_run(s);
	if (status == DB_OK && db_changes(s) > 0) {
		*changed_r = 1;
		status = member_audit(ctx, g, "team_member_added", user_gid);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status), -1;
	return 0;
}

/* Removes a person from the team if present, auditing the change. Returns 0, or -1 after replying. */
static int member_remove(api_ctx *ctx, const struct scim_group *g, int64_t user_gid, int *changed_r)
{
	db_stmt *s = db_query(ctx->db, "DELETE FROM team_memberships WHERE workspace_gid = ? AND team_gid = ? AND user_gid = ?"
				       " AND user_gid IN (SELECT gid FROM users WHERE kind = 'person')");
	int status;

	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, g->gid);
	db_bind_int64(s, 2, user_gid);
	status = db_run(s);
	if (status == DB_OK && db_changes(s) > 0) {
		*changed_r = 1;
		status = member_audit(ctx, g, "team_member_removed", user_gid);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status), -1;
	return 0;
}

/* Reads the team's people (gids) into a new array of `*count_r` entries. Returns a db status. */
static int current_members(api_ctx *ctx, int64_t team_gid, int64_t **gids_r, size_t *count_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT tm.user_gid FROM team_memberships tm JOIN users u ON u.gid = tm.user_gid"
				       " WHERE tm.workspace_gid = ? AND tm.team_gid = ? AND u.kind = 'person' ORDER BY tm.user_gid");
	size_t cap = 16;
	int status;

	*count_r = 0;
	*gids_r = malloc(cap * sizeof(**gids_r));
	if (*gids_r == NULL)
		return DB_ERROR;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, team_gid);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		if (*count_r == cap) {
			int64_t *grown = realloc(*gids_r, 2 * cap * sizeof(**gids_r));

			if (grown == NULL) {
				status = DB_ERROR;
				break;
			}
			*gids_r = grown;
			cap *= 2;
		}
		(*gids_r)[(*count_r)++] = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

/*
 * Applies a members value (an array of references, or one reference) with
 * `op`: add adds, remove removes those listed, replace makes the team's
 * people exactly those listed. Returns 0, or -1 after replying.
 */
static int members_apply(api_ctx *ctx, const struct scim_group *g, json_t *value, enum scim_patch_op op, int *changed_r)
{
	json_t *list = json_is_array(value) ? json_incref(value) : json_pack("[O]", value);
	int64_t *wanted = NULL, *current = NULL;
	size_t count = json_array_size(list), current_count = 0, i;
	int rc = 0, status;

	if (count > MEMBERS_MAX) {
		json_decref(list);
		scim_rollback(ctx);
		return scim_error(ctx, 400, "invalidValue", "members: at most %d members per request.", MEMBERS_MAX), -1;
	}
	wanted = malloc((count + 1) * sizeof(*wanted));
	if (wanted == NULL) {
		json_decref(list);
		return api_fail_db(ctx, DB_ERROR), -1;
	}
	for (i = 0; i < count; i++) {
		if (member_gid(ctx, json_array_get(list, i), &wanted[i])) {
			scim_rollback(ctx);
			rc = -1;
			break;
		}
	}
	json_decref(list);

	if (rc == 0 && op == SCIM_OP_REPLACE) {
		qsort(wanted, count, sizeof(*wanted), gid_compare);
		status = current_members(ctx, g->gid, &current, &current_count);
		if (status != DB_OK) {
			api_fail_db(ctx, status);
			rc = -1;
		}
		for (size_t k = 0; rc == 0 && k < current_count; k++)
			if (bsearch(&current[k], wanted, count, sizeof(*wanted), gid_compare) == NULL)
				rc = member_remove(ctx, g, current[k], changed_r);
	}
	for (i = 0; rc == 0 && i < count; i++)
		rc = op == SCIM_OP_REMOVE ? member_remove(ctx, g, wanted[i], changed_r) : member_add(ctx, g, wanted[i], changed_r);
	free(wanted);
	free(current);
	return rc;
}

/* Removes every person from the team. Returns 0, or -1 after replying. */
static int members_clear(api_ctx *ctx, const struct scim_group *g, int *changed_r)
{
	json_t *none = json_array();
	int rc = members_apply(ctx, g, none, SCIM_OP_REPLACE, changed_r);

	json_decref(none);
	return rc;
}

/* ---------- writes ---------- */

/* Writes the team's name and the scim_groups row, auditing a rename. Returns a db status. */
static int group_save(api_ctx *ctx, const struct scim_group *old, const struct scim_group *next, int64_t now)
{
	db_stmt *s;
	int status;

	s = db_query(ctx->db, "UPDATE teams SET name = ?, modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, next->name);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, next->gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;
	s = db_query(ctx->db, "INSERT INTO scim_groups (team_gid, workspace_gid, external_id, deleted_at, modified_at)"
			      " VALUES (?, ?, ?, NULL, ?) ON CONFLICT (team_gid) DO UPDATE SET"
			      " external_id = excluded.external_id, modified_at = excluded.modified_at");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, next->gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, next->has_external_id ? next->external_id : NULL);
	db_bind_int64(s, 3, now);
	status = db_run(s);
	if (status == DB_OK && old != NULL && strcmp(old->name, next->name) != 0) {
		json_t *details = json_pack("{s:s, s:s}", "old_name", old->name, "new_name", next->name);

		status = scim_audit(ctx, "team_name_changed", "team", next->gid, next->name, details);
		json_decref(details);
	}
	return status;
}

/* Reads displayName into g->name. Returns 0, or -1 after replying. */
static int read_display_name(api_ctx *ctx, json_t *value, struct scim_group *g)
{
	const char *text;

	if (scim_string(ctx, value, "displayName", API_NAME_MAX, &text))
		return -1;
	if (*text == '\0') {
		scim_error(ctx, 400, "invalidValue", "displayName: must not be empty.");
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%s", text);
	return 0;
}

static int read_external_id(api_ctx *ctx, json_t *value, struct scim_group *g)
{
	const char *text;

	if (value == NULL || json_is_null(value)) {
		g->has_external_id = 0;
		g->external_id[0] = '\0';
		return 0;
	}
	if (scim_string(ctx, value, "externalId", SCIM_VALUE_MAX, &text))
		return -1;
	g->has_external_id = 1;
	snprintf(g->external_id, sizeof(g->external_id), "%s", text);
	return 0;
}

/*
 * Checks the attributes of a POST or PUT body and reads displayName and
 * externalId into `g`; *members_r borrows the members value (NULL when
 * absent). Returns 0, or -1 after replying.
 */
static int group_read_body(api_ctx *ctx, json_t *body, struct scim_group *g, json_t **members_r)
{
	const char *key;
	json_t *value;

	*members_r = NULL;
	json_object_foreach(body, key, value) {
		if (strcasecmp(key, "displayName") == 0) {
			if (read_display_name(ctx, value, g))
				return -1;
		} else if (strcasecmp(key, "externalId") == 0) {
			if (read_external_id(ctx, value, g))
				return -1;
		} else if (strcasecmp(key, "members") == 0) {
			if (!json_is_array(value) && !json_is_null(value))
				return scim_error(ctx, 400, "invalidValue", "members: must be an array."), -1;
			*members_r = json_is_null(value) ? NULL : value;
		} else if (strcasecmp(key, "schemas") != 0 && strcasecmp(key, "id") != 0 && strcasecmp(key, "meta") != 0) {
			/* Identity providers may add their own schema's attributes (Entra ID's group extension). */
			if (strncasecmp(key, "urn:", 4) == 0 || strncasecmp(key, "http://schemas.microsoft.com/", 29) == 0)
				continue;
			return scim_error(ctx, 400, "invalidSyntax", "%.80s: not an attribute of the Group schema (%s). "
								     "kontor accepts displayName, externalId and members.",
					  key, SCIM_SCHEMA_GROUP),
			       -1;
		}
	}
	if (g->name[0] == '\0')
		return scim_error(ctx, 400, "invalidValue", "displayName: missing. Send the team's name."), -1;
	return 0;
}

/* POST /scim/Groups: creates a team (visibility request_to_join) with the listed people. */
static int groups_create(api_ctx *ctx)
{
	struct scim_group g;
	json_t *body = scim_body(ctx);
	json_t *members, *details;
	int64_t now = time_now_us();
	int changed = 0, status;
	db_stmt *s;

	if (body == NULL || scim_require_schema(ctx, body, SCIM_SCHEMA_GROUP))
		return 0;
	memset(&g, 0, sizeof(g));
	if (group_read_body(ctx, body, &g, &members))
		return 0;
	if (json_array_size(members) > MEMBERS_MAX)
		return scim_error(ctx, 400, "invalidValue", "members: at most %d members per request.", MEMBERS_MAX);

	if (api_begin_write(ctx))
		return 0;
	g.gid = gid_next();
	s = db_query(ctx->db, "INSERT INTO teams (gid, workspace_gid, name, description, html_description, visibility,"
			      " created_at, modified_at) VALUES (?, ?, ?, '', '', 'request_to_join', ?, ?)");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_int64(s, 0, g.gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, g.name);
	db_bind_int64(s, 3, now);
	db_bind_int64(s, 4, now);
	status = db_run(s);
	if (status == DB_OK)
		status = group_save(ctx, NULL, &g, now);
	if (status == DB_OK) {
		details = json_pack("{s:s}", "source", "scim");
		status = scim_audit(ctx, "team_created", "team", g.gid, g.name, details);
		json_decref(details);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (members != NULL && members_apply(ctx, &g, members, SCIM_OP_ADD, &changed))
		return 0;
	if (api_commit(ctx))
		return 0;
	return reply_group(ctx, g.gid, 201);
}

/* Loads the group inside the open transaction and checks If-Match. Returns 0, or -1 after replying. */
static int group_load_for_write(api_ctx *ctx, int64_t gid, struct scim_group *g)
{
	json_t *current;
	int status;

	if (group_load_or_reply(ctx, gid, g))
		return -1;
	current = group_json(ctx, g, &status);
	if (current == NULL)
		return api_fail_db(ctx, status), -1;
	status = scim_if_match(ctx, scim_version_of(current));
	json_decref(current);
	if (status) {
		scim_rollback(ctx);
		return -1;
	}
	return 0;
}

/* Bumps the team's modified time after a membership change, so lastModified moves with the version. */
static int touch_team(api_ctx *ctx, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, "UPDATE teams SET modified_at = ? WHERE gid = ? AND workspace_gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	return db_run(s);
}

/* PUT /scim/Groups/{id}: replaces displayName and externalId, and members when the body has them. */
static int groups_replace(api_ctx *ctx)
{
	struct scim_group old, next;
	json_t *body = scim_body(ctx);
	json_t *members;
	int64_t gid;
	int changed = 0, status;

	if (body == NULL || scim_id_param(ctx, "id", "Group", &gid) || scim_require_schema(ctx, body, SCIM_SCHEMA_GROUP))
		return 0;
	memset(&next, 0, sizeof(next));
	if (group_read_body(ctx, body, &next, &members))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	if (group_load_for_write(ctx, gid, &old))
		return 0;
	next.gid = gid;
	status = group_save(ctx, &old, &next, time_now_us());
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	/* NOTE: a PUT without members keeps the team's people, where RFC 7644 also allows clearing them. */
	if (members != NULL && members_apply(ctx, &old, members, SCIM_OP_REPLACE, &changed))
		return 0;
	if (api_commit(ctx))
		return 0;
	return reply_group(ctx, gid, 200);
}

/*
 * Applies one attribute of a PATCH to `next` (displayName, externalId) or
 * to the team's members. Returns 0, or -1 after replying.
 */
static int group_patch_attr(api_ctx *ctx, struct scim_group *old, struct scim_group *next, const char *name,
			    json_t *value, enum scim_patch_op op, int *changed_r)
{
	if (strcasecmp(name, "displayName") == 0) {
		if (op == SCIM_OP_REMOVE)
			return scim_rollback(ctx), scim_error(ctx, 400, "mutability", "displayName: is required and cannot be "
										  "removed."),
			       -1;
		return read_display_name(ctx, value, next) ? (scim_rollback(ctx), -1) : 0;
	}
	if (strcasecmp(name, "externalId") == 0)
		return read_external_id(ctx, op == SCIM_OP_REMOVE ? NULL : value, next) ? (scim_rollback(ctx), -1) : 0;
	if (strcasecmp(name, "members") == 0) {
		/* A remove with a value lists the members to remove: Microsoft Entra ID sends it that way. */
		if (op == SCIM_OP_REMOVE && value == NULL)
			return members_clear(ctx, old, changed_r);
		return members_apply(ctx, old, value, op, changed_r);
	}
	if (strcasecmp(name, "id") == 0 || strcasecmp(name, "schemas") == 0 || strcasecmp(name, "meta") == 0)
		return 0;
	scim_rollback(ctx);
	scim_error(ctx, 400, "invalidPath", "%.80s: not an attribute of the Group schema; use displayName, externalId or "
					    "members.",
		   name);
	return -1;
}

/* Applies one PATCH operation. Returns 0, or -1 after replying. */
static int group_patch_op(api_ctx *ctx, struct scim_group *old, struct scim_group *next, json_t *operation,
			  size_t index, int *changed_r)
{
	json_t *path_value = scim_get(operation, "path");
	json_t *value = scim_get(operation, "value");
	int op = scim_patch_op_parse(scim_get(operation, "op"));
	const char *path;
	const char *key;
	json_t *item;

	if (!json_is_object(operation) || op < 0)
		return scim_rollback(ctx),
		       scim_error(ctx, 400, "invalidSyntax", "Operations[%zu].op: must be add, replace or remove.", index), -1;
	if (op != SCIM_OP_REMOVE && value == NULL)
		return scim_rollback(ctx),
		       scim_error(ctx, 400, "invalidValue", "Operations[%zu].value: missing; add and replace need a value.",
				  index),
		       -1;
	if (path_value == NULL) {
		if (op == SCIM_OP_REMOVE || !json_is_object(value))
			return scim_rollback(ctx),
			       scim_error(ctx, 400, "invalidValue", "Operations[%zu]: without a path, the value must be an "
								    "object of attributes and op add or replace.",
					  index),
			       -1;
		json_object_foreach(value, key, item)
			if (group_patch_attr(ctx, old, next, key, item, (enum scim_patch_op)op, changed_r))
				return -1;
		return 0;
	}
	if (!json_is_string(path_value))
		return scim_rollback(ctx),
		       scim_error(ctx, 400, "invalidPath", "Operations[%zu].path: must be a string.", index), -1;
	path = json_string_value(path_value);

	/* members[value eq "<id>"] names one member: Okta removes members this way. */
	if (strncasecmp(path, "members[", 8) == 0) {
		char filter_text[SCIM_VALUE_MAX + 32];
		const char *start = path + 8;
		size_t len = strlen(start);
		int64_t gid;

		if (len < 2 || start[len - 1] != ']' || strncasecmp(start, "value eq \"", 10) != 0 ||
		    start[len - 2] != '"' || len - 12 >= sizeof(filter_text))
			return scim_rollback(ctx),
			       scim_error(ctx, 400, "invalidPath", "Operations[%zu].path: kontor supports members[value eq "
								   "\"<user id>\"].",
					  index),
			       -1;
		snprintf(filter_text, sizeof(filter_text), "%.*s", (int)(len - 12), start + 10);
		if (gid_parse(filter_text, &gid) != 0)
			return scim_rollback(ctx),
			       scim_error(ctx, 400, "noTarget", "Operations[%zu].path: \"%.40s\" is not a user id.", index,
					  filter_text),
			       -1;
		if (op != SCIM_OP_REMOVE)
			return scim_rollback(ctx),
			       scim_error(ctx, 400, "invalidPath", "Operations[%zu]: only remove applies to one member; add "
								   "members with path members.",
					  index),
			       -1;
		return member_remove(ctx, old, gid, changed_r);
	}
	return group_patch_attr(ctx, old, next, path, value, (enum scim_patch_op)op, changed_r);
}

/* PATCH /scim/Groups/{id}: the operations apply together or not at all (RFC 7644 section 3.5.2). */
static int groups_patch(api_ctx *ctx)
{
	struct scim_group old, next;
	json_t *body = scim_body(ctx);
	json_t *operations, *operation;
	int64_t gid;
	size_t i;
	int changed = 0, status;

	if (body == NULL || scim_id_param(ctx, "id", "Group", &gid))
		return 0;
	operations = scim_patch_operations(ctx, body);
	if (operations == NULL)
		return 0;

	if (api_begin_write(ctx))
		return 0;
	if (group_load_for_write(ctx, gid, &old))
		return 0;
	next = old;
	json_array_foreach(operations, i, operation)
		if (group_patch_op(ctx, &old, &next, operation, i, &changed))
			return 0;
	if (strcmp(old.name, next.name) != 0 || old.has_external_id != next.has_external_id ||
	    strcmp(old.external_id, next.external_id) != 0) {
		status = group_save(ctx, &old, &next, time_now_us());
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	} else if (changed) {
		status = touch_team(ctx, gid);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (api_commit(ctx))
		return 0;
	return reply_group(ctx, gid, 200);
}

/* DELETE /scim/Groups/{id} */
static int groups_delete(api_ctx *ctx)
{
	struct scim_group g;
	int64_t gid, now = time_now_us();
	int changed = 0, status;
	db_stmt *s;

	if (scim_id_param(ctx, "id", "Group", &gid))
		return 0;
	if (api_begin_write(ctx))
		return 0;
	if (group_load_for_write(ctx, gid, &g))
		return 0;
	if (members_clear(ctx, &g, &changed))
		return 0;
	status = group_save(ctx, NULL, &g, now);
	if (status == DB_OK) {
		s = db_query(ctx->db, "UPDATE scim_groups SET deleted_at = ? WHERE team_gid = ? AND workspace_gid = ?");
		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR);
		db_bind_int64(s, 0, now);
		db_bind_int64(s, 1, gid);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		status = db_run(s);
	}
	if (status == DB_OK)
		status = scim_audit(ctx, "team_deleted", "team", gid, g.name, NULL);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	return scim_reply_no_content(ctx);
}

const struct api_route api_scim_groups_routes[] = {
	{ "GET", SCIM_PATH "/Groups", groups_list, API_SCOPE_SCIM, NULL },
	{ "POST", SCIM_PATH "/Groups", groups_create, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "GET", SCIM_PATH "/Groups/{id}", groups_get, API_SCOPE_SCIM, NULL },
	{ "PUT", SCIM_PATH "/Groups/{id}", groups_replace, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "PATCH", SCIM_PATH "/Groups/{id}", groups_patch, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "DELETE", SCIM_PATH "/Groups/{id}", groups_delete, API_SCOPE_SCIM | API_WRITE, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
