/*
 * The kontor-export writer and reader (contract in export.h, format in
 * docs/export-format.md). One table of sections drives both directions.
 * Each section names its columns with a JSON type, the keyset SELECT that
 * reads it in batches and the INSERT that restores it. The writer formats
 * JSON by hand because it runs once per row of the whole organization. The
 * reader parses one row at a time with jansson.
 */
#include "store/export.h"
#include "auth/auth.h"
#include "auth/principal.h"
#include "media/photo.h"
#include "store/org.h"
#include "util/gid.h"
#include "util/gidset.h"
#include "util/rowindex.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/*
 * Rows per SELECT. PostgreSQL's driver reads a whole result into memory, so
 * this bounds the memory of one batch: rows times the widest row (task notes
 * may reach 64 KiB).
 */
#define EXPORT_BATCH_ROWS 500
#define EXPORT_BUFFER_BYTES (64 * 1024)
/* Fast compression: the export is bound by deflate, and level 1 is several times faster than the default. */
#define EXPORT_GZIP_LEVEL 1
/* deflateInit2's windowBits: 15 bits of window plus 16 selects the gzip wrapper (RFC 1952). */
#define GZIP_WINDOW_BITS (15 + 16)
#define READER_BUFFER_BYTES (256 * 1024)
/* Largest single JSON value (one row) the reader accepts. */
#define READER_VALUE_MAX (16 * 1024 * 1024)
#define KEY_NAME_MAX 64
/* Bytes before the end of the buffer within which a JSON error may come from a value cut by the buffer's end. */
#define READER_CUT_MARGIN 16
/* Levels of subtasks below a top-level task that the API allows (TASK_DEPTH_MAX in src/api/task_internal.h). */
#define RESTORE_TASK_DEPTH_MAX 16

enum col_type {
	COL_GID,  /* BIGINT id, written as a decimal string */
	COL_INT,  /* BIGINT or INTEGER, written as a number */
	COL_BOOL, /* INTEGER 0/1, written as false/true */
	COL_TEXT,
	COL_BLOB, /* written as standard base64 */
	COL_JSON, /* TEXT holding JSON, written as the JSON value itself */
};

/*
 * The section whose rows a gid column refers to, for the restore's check
 * that every reference names a row of the file. Only the columns with a
 * foreign key in the schema have one. created_by, assigned_by and the like
 * have no foreign key, so they may name a deleted user and are kept as
 * they are.
 */
enum ref_target {
	REF_NONE,
	REF_DIVISION,
	REF_USER,
	REF_TEAM,
	REF_PROJECT,
	REF_SECTION,
	REF_TASK,
	REF_TAG,
	REF_COUNT,
};

/* What the restore's messages call a row of each reference target, and the target's section. */
static const struct {
	const char *record;
	const char *section;
} ref_names[REF_COUNT] = {
	[REF_NONE] = { "row", "" },
	[REF_DIVISION] = { "division", "divisions" },
	[REF_USER] = { "user", "users" },
	[REF_TEAM] = { "team", "teams" },
	[REF_PROJECT] = { "project", "projects" },
	[REF_SECTION] = { "section", "sections" },
	[REF_TASK] = { "task", "tasks" },
	[REF_TAG] = { "tag", "tags" },
};

/* NOT NULL in the schema: the restore rejects a null value before the insert. */
#define COL_REQUIRED 1u

struct col {
	const char *name;
	enum col_type type;
	unsigned flags;
	enum ref_target ref;
};

/*
 * A table of the organization. The first `key_count` columns are its
 * primary key, in the order of select_sql's ORDER BY. select_sql takes
 * (workspace_gid, key..., limit). insert_sql takes workspace_gid followed by
 * the columns, plus email_lower for users. `record` names one row in
 * messages, and `defines` is the reference target that the section's gid
 * column defines.
 */
struct section {
	const char *name;
	const struct col *cols;
	int key_count;
	const char *select_sql;
	const char *insert_sql;
	const char *record;
	enum ref_target defines;
};

/* deprovision_owner_gid refers to a user further on; the column has no foreign key, so order does not matter. */
static const struct col organization_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "is_organization", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "plan", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "email_domains", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "deprovision_owner_gid", COL_GID, 0, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col division_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "plan", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
/* No password_hash: see export.h. email_lower is derived from email on restore. */
static const struct col user_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "email", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "kind", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "photo_key", COL_TEXT, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col service_account_cols[] = {
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "scopes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col scim_user_cols[] = {
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "external_id", COL_TEXT, 0, REF_NONE },
	{ "given_name", COL_TEXT, 0, REF_NONE },
	{ "family_name", COL_TEXT, 0, REF_NONE },
	{ "deleted_at", COL_INT, 0, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col workspace_membership_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "role", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "is_active", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col division_admin_cols[] = {
	{ "division_gid", COL_GID, COL_REQUIRED, REF_DIVISION },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col photo_cols[] = {
	{ "photo_key", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "size", COL_INT, COL_REQUIRED, REF_NONE },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "png", COL_BLOB, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col team_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "division_gid", COL_GID, 0, REF_DIVISION },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "description", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "html_description", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "visibility", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col team_membership_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "team_gid", COL_GID, COL_REQUIRED, REF_TEAM },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "is_admin", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "is_guest", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col scim_group_cols[] = {
	{ "team_gid", COL_GID, COL_REQUIRED, REF_TEAM },
	{ "external_id", COL_TEXT, 0, REF_NONE },
	{ "deleted_at", COL_INT, 0, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col project_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "team_gid", COL_GID, 0, REF_TEAM },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "notes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "html_notes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "color", COL_TEXT, 0, REF_NONE },
	{ "default_view", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "archived", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "completed", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "completed_at", COL_INT, 0, REF_NONE },
	{ "privacy_setting", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "owner_gid", COL_GID, 0, REF_USER },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "due_on", COL_TEXT, 0, REF_NONE },
	{ "start_on", COL_TEXT, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col project_membership_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "project_gid", COL_GID, COL_REQUIRED, REF_PROJECT },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ "access_level", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col project_follower_cols[] = {
	{ "project_gid", COL_GID, COL_REQUIRED, REF_PROJECT },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col status_update_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "parent_gid", COL_GID, COL_REQUIRED, REF_PROJECT },
	{ "resource_subtype", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "title", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "text", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "html_text", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "status_type", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col section_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "project_gid", COL_GID, COL_REQUIRED, REF_PROJECT },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "position", COL_INT, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col tag_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "color", COL_TEXT, 0, REF_NONE },
	{ "notes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col task_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "name", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "notes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "html_notes", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "resource_subtype", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "assignee_gid", COL_GID, 0, REF_USER },
	{ "assignee_status", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "assigned_by", COL_GID, 0, REF_NONE },
	{ "completed", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "completed_at", COL_INT, 0, REF_NONE },
	{ "completed_by", COL_GID, 0, REF_NONE },
	{ "approval_status", COL_TEXT, 0, REF_NONE },
	{ "due_on", COL_TEXT, 0, REF_NONE },
	{ "due_at", COL_INT, 0, REF_NONE },
	{ "start_on", COL_TEXT, 0, REF_NONE },
	{ "start_at", COL_INT, 0, REF_NONE },
	{ "parent_gid", COL_GID, 0, REF_TASK },
	{ "position", COL_INT, COL_REQUIRED, REF_NONE },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "modified_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
/* Index of parent_gid in task_cols: the restore resolves forward references to parents. */
#define TASK_PARENT_COL 16
static const struct col task_project_cols[] = {
	{ "task_gid", COL_GID, COL_REQUIRED, REF_TASK },
	{ "project_gid", COL_GID, COL_REQUIRED, REF_PROJECT },
	{ "section_gid", COL_GID, 0, REF_SECTION },
	{ "position", COL_INT, COL_REQUIRED, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col task_follower_cols[] = {
	{ "task_gid", COL_GID, COL_REQUIRED, REF_TASK },
	{ "user_gid", COL_GID, COL_REQUIRED, REF_USER },
	{ NULL, 0, 0, REF_NONE },
};
static const struct col task_tag_cols[] = {
	{ "task_gid", COL_GID, COL_REQUIRED, REF_TASK },
	{ "tag_gid", COL_GID, COL_REQUIRED, REF_TAG },
	{ NULL, 0, 0, REF_NONE },
};
/* project_gid has no foreign key: a system story may name a project deleted since. */
static const struct col story_cols[] = {
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "task_gid", COL_GID, COL_REQUIRED, REF_TASK },
	{ "type", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "resource_subtype", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "text", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "html_text", COL_TEXT, 0, REF_NONE },
	{ "is_pinned", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "is_edited", COL_BOOL, COL_REQUIRED, REF_NONE },
	{ "created_by", COL_GID, 0, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "project_gid", COL_GID, 0, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};
/*
 * Index of project_gid in story_cols: the project a system story names
 * (migration 18). It is the one field a file may leave out, because
 * writers before that migration did not know it.
 */
#define STORY_PROJECT_COL 10
/*
 * Keyed by seq, the order the audit log API pages in. Every row has one:
 * store_audit_append and the restore are the only writers of audit_log, and
 * migration 11 numbered the rows written before it.
 */
static const struct col audit_cols[] = {
	{ "seq", COL_INT, COL_REQUIRED, REF_NONE },
	{ "gid", COL_GID, COL_REQUIRED, REF_NONE },
	{ "created_at", COL_INT, COL_REQUIRED, REF_NONE },
	{ "event_type", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "event_category", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "actor_type", COL_TEXT, COL_REQUIRED, REF_NONE },
	{ "actor_gid", COL_GID, 0, REF_NONE },
	{ "actor_name", COL_TEXT, 0, REF_NONE },
	{ "actor_email", COL_TEXT, 0, REF_NONE },
	{ "resource_type", COL_TEXT, 0, REF_NONE },
	{ "resource_subtype", COL_TEXT, 0, REF_NONE },
	{ "resource_gid", COL_GID, 0, REF_NONE },
	{ "resource_name", COL_TEXT, 0, REF_NONE },
	{ "resource_email", COL_TEXT, 0, REF_NONE },
	{ "details", COL_JSON, COL_REQUIRED, REF_NONE },
	{ "auth_method", COL_TEXT, 0, REF_NONE },
	{ "client_ip", COL_TEXT, 0, REF_NONE },
	{ "user_agent", COL_TEXT, 0, REF_NONE },
	{ "token_gid", COL_GID, 0, REF_NONE },
	{ NULL, 0, 0, REF_NONE },
};

#define KEYSET1(cols, table) \
	"SELECT " cols " FROM " table " WHERE workspace_gid = ? AND gid > ? ORDER BY gid LIMIT ?"
#define KEYSET2(cols, table, k1, k2)                                                                       \
	"SELECT " cols " FROM " table " WHERE workspace_gid = ? AND (" k1 ", " k2 ") > (?, ?) ORDER BY " k1 \
	", " k2 " LIMIT ?"

/* Restore order: every section comes after the sections its rows refer to. */
static const struct section sections[] = {
	{ "divisions", division_cols, 1, KEYSET1("gid, name, plan, created_at", "divisions"),
	  "INSERT INTO divisions (workspace_gid, gid, name, plan, created_at) VALUES (?, ?, ?, ?, ?)",
	  "division", REF_DIVISION },
	{ "users", user_cols, 1,
	  KEYSET1("gid, email, name, kind, photo_key, created_at, modified_at", "users"),
	  "INSERT INTO users (workspace_gid, gid, email, name, kind, photo_key, created_at, modified_at, email_lower)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "user", REF_USER },
	{ "service_accounts", service_account_cols, 1,
	  "SELECT user_gid, scopes, created_by, created_at, modified_at FROM service_accounts"
	  " WHERE workspace_gid = ? AND user_gid > ? ORDER BY user_gid LIMIT ?",
	  "INSERT INTO service_accounts (workspace_gid, user_gid, scopes, created_by, created_at, modified_at)"
	  " VALUES (?, ?, ?, ?, ?, ?)",
	  "service account", REF_NONE },
	{ "scim_users", scim_user_cols, 1,
	  "SELECT user_gid, external_id, given_name, family_name, deleted_at, modified_at FROM scim_users"
	  " WHERE workspace_gid = ? AND user_gid > ? ORDER BY user_gid LIMIT ?",
	  "INSERT INTO scim_users (workspace_gid, user_gid, external_id, given_name, family_name, deleted_at,"
	  " modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	  "SCIM user", REF_NONE },
	{ "workspace_memberships", workspace_membership_cols, 1,
	  KEYSET1("gid, user_gid, role, is_active, created_at", "workspace_memberships"),
	  "INSERT INTO workspace_memberships (workspace_gid, gid, user_gid, role, is_active, created_at)"
	  " VALUES (?, ?, ?, ?, ?, ?)",
	  "workspace membership", REF_NONE },
	{ "division_admins", division_admin_cols, 2,
	  KEYSET2("division_gid, user_gid", "division_admins", "division_gid", "user_gid"),
	  "INSERT INTO division_admins (workspace_gid, division_gid, user_gid) VALUES (?, ?, ?)",
	  "division admin", REF_NONE },
	{ "photos", photo_cols, 2,
	  KEYSET2("photo_key, size, user_gid, png, created_at", "photos", "photo_key", "size"),
	  "INSERT INTO photos (workspace_gid, photo_key, size, user_gid, png, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	  "photo", REF_NONE },
	{ "teams", team_cols, 1,
	  KEYSET1("gid, division_gid, name, description, html_description, visibility, created_at, modified_at",
		  "teams"),
	  "INSERT INTO teams (workspace_gid, gid, division_gid, name, description, html_description, visibility,"
	  " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "team", REF_TEAM },
	{ "team_memberships", team_membership_cols, 1,
	  KEYSET1("gid, team_gid, user_gid, is_admin, is_guest, created_at", "team_memberships"),
	  "INSERT INTO team_memberships (workspace_gid, gid, team_gid, user_gid, is_admin, is_guest, created_at)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?)",
	  "team membership", REF_NONE },
	{ "scim_groups", scim_group_cols, 1,
	  "SELECT team_gid, external_id, deleted_at, modified_at FROM scim_groups"
	  " WHERE workspace_gid = ? AND team_gid > ? ORDER BY team_gid LIMIT ?",
	  "INSERT INTO scim_groups (workspace_gid, team_gid, external_id, deleted_at, modified_at)"
	  " VALUES (?, ?, ?, ?, ?)",
	  "SCIM group", REF_NONE },
	{ "projects", project_cols, 1,
	  KEYSET1("gid, team_gid, name, notes, html_notes, color, default_view, archived, completed, completed_at,"
		  " privacy_setting, owner_gid, created_by, due_on, start_on, created_at, modified_at",
		  "projects"),
	  "INSERT INTO projects (workspace_gid, gid, team_gid, name, notes, html_notes, color, default_view, archived,"
	  " completed, completed_at, privacy_setting, owner_gid, created_by, due_on, start_on, created_at, modified_at)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "project", REF_PROJECT },
	{ "project_memberships", project_membership_cols, 1,
	  KEYSET1("gid, project_gid, user_gid, access_level, created_at", "project_memberships"),
	  "INSERT INTO project_memberships (workspace_gid, gid, project_gid, user_gid, access_level, created_at)"
	  " VALUES (?, ?, ?, ?, ?, ?)",
	  "project membership", REF_NONE },
	{ "project_followers", project_follower_cols, 2,
	  KEYSET2("project_gid, user_gid", "project_followers", "project_gid", "user_gid"),
	  "INSERT INTO project_followers (workspace_gid, project_gid, user_gid) VALUES (?, ?, ?)",
	  "project follower", REF_NONE },
	{ "status_updates", status_update_cols, 1,
	  KEYSET1("gid, parent_gid, resource_subtype, title, text, html_text, status_type, created_by, created_at,"
		  " modified_at",
		  "status_updates"),
	  "INSERT INTO status_updates (workspace_gid, gid, parent_gid, resource_subtype, title, text, html_text,"
	  " status_type, created_by, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "status update", REF_NONE },
	{ "sections", section_cols, 1, KEYSET1("gid, project_gid, name, position, created_at", "sections"),
	  "INSERT INTO sections (workspace_gid, gid, project_gid, name, position, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	  "section", REF_SECTION },
	{ "tags", tag_cols, 1, KEYSET1("gid, name, color, notes, created_by, created_at", "tags"),
	  "INSERT INTO tags (workspace_gid, gid, name, color, notes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	  "tag", REF_TAG },
	{ "tasks", task_cols, 1,
	  KEYSET1("gid, name, notes, html_notes, resource_subtype, assignee_gid, assignee_status, assigned_by,"
		  " completed, completed_at, completed_by, approval_status, due_on, due_at, start_on, start_at,"
		  " parent_gid, position, created_by, created_at, modified_at",
		  "tasks"),
	  "INSERT INTO tasks (workspace_gid, gid, name, notes, html_notes, resource_subtype, assignee_gid,"
	  " assignee_status, assigned_by, completed, completed_at, completed_by, approval_status, due_on, due_at,"
	  " start_on, start_at, parent_gid, position, created_by, created_at, modified_at)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "task", REF_TASK },
	{ "task_projects", task_project_cols, 2,
	  KEYSET2("task_gid, project_gid, section_gid, position", "task_projects", "task_gid", "project_gid"),
	  "INSERT INTO task_projects (workspace_gid, task_gid, project_gid, section_gid, position) VALUES (?, ?, ?, ?, ?)",
	  "task project", REF_NONE },
	{ "task_followers", task_follower_cols, 2,
	  KEYSET2("task_gid, user_gid", "task_followers", "task_gid", "user_gid"),
	  "INSERT INTO task_followers (workspace_gid, task_gid, user_gid) VALUES (?, ?, ?)",
	  "task follower", REF_NONE },
	{ "task_tags", task_tag_cols, 2, KEYSET2("task_gid, tag_gid", "task_tags", "task_gid", "tag_gid"),
	  "INSERT INTO task_tags (workspace_gid, task_gid, tag_gid) VALUES (?, ?, ?)",
	  "task tag", REF_NONE },
	{ "stories", story_cols, 1,
	  KEYSET1("gid, task_gid, type, resource_subtype, text, html_text, is_pinned, is_edited, created_by, created_at,"
		  " project_gid",
		  "stories"),
	  "INSERT INTO stories (workspace_gid, gid, task_gid, type, resource_subtype, text, html_text, is_pinned,"
	  " is_edited, created_by, created_at, project_gid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "story", REF_NONE },
	{ "audit_log", audit_cols, 1,
	  "SELECT seq, gid, created_at, event_type, event_category, actor_type, actor_gid, actor_name, actor_email,"
	  " resource_type, resource_subtype, resource_gid, resource_name, resource_email, details, auth_method,"
	  " client_ip, user_agent, token_gid FROM audit_log WHERE workspace_gid = ? AND seq > ? ORDER BY seq LIMIT ?",
	  "INSERT INTO audit_log (workspace_gid, seq, gid, created_at, event_type, event_category, actor_type,"
	  " actor_gid, actor_name, actor_email, resource_type, resource_subtype, resource_gid, resource_name,"
	  " resource_email, details, auth_method, client_ip, user_agent, token_gid)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	  "audit record", REF_NONE },
};

#define SECTION_COUNT ((int)(sizeof(sections) / sizeof(sections[0])))

static const char organization_select_sql[] =
	"SELECT gid, name, is_organization, plan, email_domains, created_at, deprovision_owner_gid FROM workspaces"
	" WHERE gid = ?";
static const char organization_insert_sql[] =
	"INSERT INTO workspaces (gid, name, is_organization, plan, email_domains, created_at, deprovision_owner_gid)"
	" VALUES (?, ?, ?, ?, ?, ?, ?)";

/* ======================================================================
 * Writer
 * ====================================================================== */

struct writer {
	z_stream zs;
	unsigned char in[EXPORT_BUFFER_BYTES];
	size_t in_len;
	unsigned char out[EXPORT_BUFFER_BYTES];
	export_sink_fn sink;
	void *sink_ctx;
	int64_t bytes;
	int failed; /* the sink or deflate failed: later writes do nothing, the message is in err */
	char *err;
	size_t errlen;
};

/* Compresses the input buffer with `flush` and hands every output block to the sink. */
static void writer_deflate(struct writer *w, int flush)
{
	int status;

	if (w->failed)
		return;
	w->zs.next_in = w->in;
	w->zs.avail_in = (uInt)w->in_len;
	do {
		size_t produced;

		w->zs.next_out = w->out;
		w->zs.avail_out = sizeof(w->out);
		status = deflate(&w->zs, flush);
		if (status == Z_STREAM_ERROR) {
			snprintf(w->err, w->errlen, "compression failed");
			w->failed = 1;
			return;
		}
		produced = sizeof(w->out) - w->zs.avail_out;
		if (produced > 0) {
			if (w->sink(w->sink_ctx, w->out, produced, w->err, w->errlen) != 0) {
				w->failed = 1;
				return;
			}
			w->bytes += (int64_t)produced;
		}
	} while (w->zs.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
	w->in_len = 0;
}

static void put(struct writer *w, const char *data, size_t len)
{
	while (len > 0 && !w->failed) {
		size_t room = sizeof(w->in) - w->in_len;
		size_t n = len < room ? len : room;

		memcpy(w->in + w->in_len, data, n);
		w->in_len += n;
		data += n;
		len -= n;
		if (w->in_len == sizeof(w->in))
			writer_deflate(w, Z_NO_FLUSH);
	}
}

static void put_str(struct writer *w, const char *text)
{
	put(w, text, strlen(text));
}

static void put_int(struct writer *w, int64_t value)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)value);

	put(w, digits, (size_t)n);
}

/* Writes `text` as a JSON string (RFC 8259 section 7): quotes, backslashes and control characters escaped. */
static void put_json_string(struct writer *w, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)text, *run = p;

	put(w, "\"", 1);
	for (; *p; p++) {
		char escape[6];
		size_t escape_len = 2;

		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		put(w, (const char *)run, (size_t)(p - run));
		escape[0] = '\\';
		switch (*p) {
		case '"': escape[1] = '"'; break;
		case '\\': escape[1] = '\\'; break;
		case '\n': escape[1] = 'n'; break;
		case '\r': escape[1] = 'r'; break;
		case '\t': escape[1] = 't'; break;
		default:
			memcpy(escape, "\\u00", 4);
			escape[4] = hex[*p >> 4];
			escape[5] = hex[*p & 0xf];
			escape_len = 6;
			break;
		}
		put(w, escape, escape_len);
		run = p + 1;
	}
	put(w, (const char *)run, (size_t)(p - run));
	put(w, "\"", 1);
}

static void put_blob(struct writer *w, const void *data, size_t len)
{
	size_t encoded_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *encoded = malloc(encoded_len);

	if (encoded == NULL) {
		snprintf(w->err, w->errlen, "out of memory encoding a photo");
		w->failed = 1;
		return;
	}
	sodium_bin2base64(encoded, encoded_len, data, len, sodium_base64_VARIANT_ORIGINAL);
	put(w, "\"", 1);
	put_str(w, encoded);
	put(w, "\"", 1);
	free(encoded);
}

/* Writes stored JSON text normalised (compact, sorted keys), so an export of a restore matches byte for byte. */
static void put_stored_json(struct writer *w, const char *text)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
	char *normal;

	/* Text that is not JSON (never written by kontor) is kept as a string rather than dropped. */
	if (value == NULL) {
		put_json_string(w, text);
		return;
	}
	normal = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(value);
	if (normal == NULL) {
		snprintf(w->err, w->errlen, "out of memory encoding audit details");
		w->failed = 1;
		return;
	}
	put_str(w, normal);
	free(normal);
}

/* Writes the current row of `s` as a JSON object with the columns of `cols`. */
static void put_row(struct writer *w, db_stmt *s, const struct col *cols)
{
	put(w, "{", 1);
	for (int i = 0; cols[i].name; i++) {
		if (i > 0)
			put(w, ",", 1);
		put(w, "\"", 1);
		put_str(w, cols[i].name);
		put(w, "\":", 2);
		if (db_column_is_null(s, i)) {
			put(w, "null", 4);
			continue;
		}
		switch (cols[i].type) {
		case COL_GID:
			put(w, "\"", 1);
			put_int(w, db_column_int64(s, i));
			put(w, "\"", 1);
			break;
		case COL_INT:
			put_int(w, db_column_int64(s, i));
			break;
		case COL_BOOL:
			put_str(w, db_column_int64(s, i) ? "true" : "false");
			break;
		case COL_TEXT:
			put_json_string(w, db_column_text(s, i));
			break;
		case COL_BLOB: {
			size_t len = 0;
			const void *data = db_column_blob(s, i, &len);

			put_blob(w, data, len);
			break;
		}
		case COL_JSON:
			put_stored_json(w, db_column_text(s, i));
			break;
		}
	}
	put(w, "}", 1);
}

/* The last key read from a section, for the next batch's `>` comparison. */
struct keyset {
	int64_t gid[2];
	char *text; /* first key when it is a text column (photos) */
};

static int keyset_save(struct keyset *k, db_stmt *s, const struct section *sec)
{
	for (int i = 0; i < sec->key_count; i++) {
		if (sec->cols[i].type == COL_TEXT) {
			const char *text = db_column_text(s, i);

			free(k->text);
			k->text = strdup(text ? text : "");
			if (k->text == NULL)
				return -1;
		} else {
			k->gid[i] = db_column_int64(s, i);
		}
	}
	return 0;
}

static void keyset_bind(const struct keyset *k, db_stmt *s, const struct section *sec)
{
	for (int i = 0; i < sec->key_count; i++) {
		if (sec->cols[i].type == COL_TEXT)
			db_bind_text(s, 1 + i, k->text ? k->text : "");
		else
			db_bind_int64(s, 1 + i, k->gid[i]);
	}
}

struct export_run {
	db_conn *c;
	int64_t org_gid;
	struct writer *w;
	export_progress_fn progress;
	void *progress_ctx;
	int64_t rows;
	int64_t counts[SECTION_COUNT];
	char *err;
	size_t errlen;
};

static enum export_result db_failure(struct export_run *run, const char *what)
{
	snprintf(run->err, run->errlen, "reading %s failed: %s", what, db_conn_errmsg(run->c));
	return EXPORT_FAILED;
}

/* Writes one section as `"name":[rows]`, batch by batch. */
static enum export_result write_section(struct export_run *run, int index)
{
	const struct section *sec = &sections[index];
	/* Below every key: gids, audit seqs and photo sizes are positive. INT64_MIN would overflow PostgreSQL's INTEGER columns. */
	struct keyset keys = { { -1, -1 }, NULL };
	enum export_result result = EXPORT_OK;
	int64_t written = 0;

	put(run->w, ",\n\"", 3);
	put_str(run->w, sec->name);
	put(run->w, "\":[", 3);
	for (;;) {
		db_stmt *s = db_query(run->c, sec->select_sql);
		int status, fetched = 0;

		if (s == NULL) {
			result = db_failure(run, sec->name);
			break;
		}
		db_bind_int64(s, 0, run->org_gid);
		keyset_bind(&keys, s, sec);
		db_bind_int64(s, 1 + sec->key_count, EXPORT_BATCH_ROWS);
		while ((status = db_step(s)) == DB_ROW) {
			put(run->w, written > 0 ? ",\n" : "\n", written > 0 ? 2 : 1);
			put_row(run->w, s, sec->cols);
			if (keyset_save(&keys, s, sec) != 0) {
				status = DB_ERROR;
				break;
			}
			fetched++;
			written++;
		}
		db_stmt_done(s);
		if (status != DB_DONE) {
			result = db_failure(run, sec->name);
			break;
		}
		run->rows += fetched;
		if (run->w->failed) {
			result = EXPORT_FAILED;
			break;
		}
		if (run->progress) {
			int verdict = run->progress(run->progress_ctx, run->rows, run->err, run->errlen);

			if (verdict != 0) {
				result = verdict > 0 ? EXPORT_STOPPED : EXPORT_FAILED;
				break;
			}
		}
		if (fetched < EXPORT_BATCH_ROWS)
			break;
	}
	free(keys.text);
	put(run->w, "]", 1);
	run->counts[index] = written;
	return result;
}

/* Writes `{"format":...,"organization":{...}` and counts the organization row. */
static enum export_result write_header(struct export_run *run)
{
	char now[40];
	db_stmt *s = db_query(run->c, organization_select_sql);
	int status;

	if (s == NULL)
		return db_failure(run, "the organization");
	db_bind_int64(s, 0, run->org_gid);
	status = db_step(s);
	if (status == DB_DONE) {
		db_stmt_done(s);
		snprintf(run->err, run->errlen, "organization %lld not found", (long long)run->org_gid);
		return EXPORT_NOT_FOUND;
	}
	if (status != DB_ROW) {
		db_stmt_done(s);
		return db_failure(run, "the organization");
	}
	put_str(run->w, "{\"format\":\"" EXPORT_FORMAT_NAME "\",\"version\":");
	put_int(run->w, EXPORT_FORMAT_VERSION);
	put_str(run->w, ",\"exported_at\":");
	put_json_string(run->w, time_format_iso(time_now_us(), now, sizeof(now)));
	put_str(run->w, ",\n\"organization\":");
	put_row(run->w, s, organization_cols);
	db_stmt_done(s);
	run->rows = 1;
	return EXPORT_OK;
}

static void write_trailer(struct export_run *run)
{
	put_str(run->w, ",\n\"row_counts\":{");
	for (int i = 0; i < SECTION_COUNT; i++) {
		if (i > 0)
			put(run->w, ",", 1);
		put(run->w, "\"", 1);
		put_str(run->w, sections[i].name);
		put(run->w, "\":", 2);
		put_int(run->w, run->counts[i]);
	}
	put_str(run->w, "}}\n");
}

/* Opens the read transaction that gives the whole export one snapshot. */
static int begin_snapshot(db_conn *c)
{
	int status = db_begin(c);

	if (status != DB_OK)
		return status;
	/* Must be the transaction's first statement. SQLite's snapshot starts at its first read instead. */
	if (db_conn_driver(c) == &db_pgsql_driver) {
		status = db_exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
		if (status != DB_OK)
			db_rollback(c);
	}
	return status;
}

enum export_result store_export_write(db_conn *c, int64_t org_gid, export_sink_fn sink, void *sink_ctx,
				      export_progress_fn progress, void *progress_ctx, struct export_stats *stats,
				      char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof(*w));
	struct export_run run;
	enum export_result result;

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return EXPORT_FAILED;
	}
	w->sink = sink;
	w->sink_ctx = sink_ctx;
	w->err = err;
	w->errlen = errlen;
	if (deflateInit2(&w->zs, EXPORT_GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(w);
		snprintf(err, errlen, "cannot start compression");
		return EXPORT_FAILED;
	}
	memset(&run, 0, sizeof(run));
	run.c = c;
	run.org_gid = org_gid;
	run.w = w;
	run.progress = progress;
	run.progress_ctx = progress_ctx;
	run.err = err;
	run.errlen = errlen;

	if (begin_snapshot(c) != DB_OK) {
		result = db_failure(&run, "a snapshot");
		goto done;
	}
	result = write_header(&run);
	for (int i = 0; i < SECTION_COUNT && result == EXPORT_OK; i++)
		result = write_section(&run, i);
	db_rollback(c);
	if (result != EXPORT_OK)
		goto done;
	write_trailer(&run);
	writer_deflate(w, Z_FINISH);
	if (w->failed)
		result = EXPORT_FAILED;

done:
	if (stats) {
		stats->rows = run.rows;
		stats->bytes = w->bytes;
	}
	deflateEnd(&w->zs);
	free(w);
	return result;
}

/* ======================================================================
 * Reader
 * ====================================================================== */

struct reader {
	gzFile file;
	char *buf;
	size_t cap, pos, len;
	int eof;
	int64_t consumed; /* bytes before buf[0], for positions in messages */
	/* The section and row being read, for messages about a row that does not parse; section is NULL outside rows. */
	const char *section;
	int64_t row;
	char *err;
	size_t errlen;
};

/*
 * Reads the rest of the file after a parse error. A damaged gzip stream can
 * inflate to garbage that fails as JSON long before gzip detects the bad CRC at
 * the end of the stream, so a read error found here replaces the JSON
 * message with the real cause. Costs one pass over the rest of the file,
 * on the error path only.
 */
static void reader_check_damage(struct reader *r)
{
	char scratch[64 * 1024];
	int n, code;

	do
		n = gzread(r->file, scratch, sizeof(scratch));
	while (n > 0);
	if (n < 0)
		snprintf(r->err, r->errlen, "the file is damaged: %s. Restore from another copy of the export",
			 gzerror(r->file, &code));
}

/* Moves unread bytes to the front and reads more. Returns 0, or -1 with a message. */
static int reader_fill(struct reader *r)
{
	int n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->consumed += (int64_t)r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t cap = r->cap * 2;
		char *grown;

		if (cap > READER_VALUE_MAX + 1) {
			snprintf(r->err, r->errlen, "a value at byte %lld is larger than %d bytes; the file is not a "
						    "kontor export",
				 (long long)r->consumed, READER_VALUE_MAX);
			reader_check_damage(r);
			return -1;
		}
		grown = realloc(r->buf, cap);
		if (grown == NULL) {
			snprintf(r->err, r->errlen, "out of memory");
			return -1;
		}
		r->buf = grown;
		r->cap = cap;
	}
	n = gzread(r->file, r->buf + r->len, (unsigned)(r->cap - r->len));
	if (n < 0) {
		int code;

		snprintf(r->err, r->errlen, "reading the file failed: %s", gzerror(r->file, &code));
		return -1;
	}
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return 0;
}

/* Skips white space. Returns the next byte without consuming it, -1 at the end of the file, or -2 after a read error. */
static int reader_peek(struct reader *r)
{
	for (;;) {
		while (r->pos < r->len) {
			char ch = r->buf[r->pos];

			if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t')
				return (unsigned char)ch;
			r->pos++;
		}
		if (r->eof)
			return -1;
		if (reader_fill(r) != 0)
			return -2;
	}
}

static int reader_expect(struct reader *r, char expected, const char *where)
{
	int ch = reader_peek(r);

	if (ch == -2)
		return -1;
	if (ch != expected) {
		snprintf(r->err, r->errlen, "invalid file at byte %lld: expected '%c' %s", (long long)(r->consumed + (int64_t)r->pos),
			 expected, where);
		return -1;
	}
	r->pos++;
	return 0;
}

/* Reads an object key made of lowercase letters and underscores, the only keys the format uses at top level. */
static int reader_key(struct reader *r, char *out, size_t outlen)
{
	size_t n = 0;

	if (reader_expect(r, '"', "before a key") != 0)
		return -1;
	for (;;) {
		char ch;

		if (r->pos == r->len && (r->eof || reader_fill(r) != 0 || r->pos == r->len)) {
			snprintf(r->err, r->errlen, "the file ends inside a key; it is truncated");
			return -1;
		}
		ch = r->buf[r->pos++];
		if (ch == '"')
			break;
		if (!((ch >= 'a' && ch <= 'z') || ch == '_') || n + 1 >= outlen) {
			snprintf(r->err, r->errlen, "invalid key at byte %lld: top-level keys are lowercase names",
				 (long long)(r->consumed + (int64_t)r->pos));
			return -1;
		}
		out[n++] = ch;
	}
	out[n] = '\0';
	return reader_expect(r, ':', "after a key");
}

/* Parses the next JSON value with jansson. Returns a new reference, or NULL with a message. */
static json_t *reader_value(struct reader *r)
{
	if (reader_peek(r) == -2)
		return NULL;
	for (;;) {
		json_error_t parse_error;
		json_t *value = json_loadb(r->buf + r->pos, r->len - r->pos,
					   JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &parse_error);

		/* A value that reaches the end of the buffer may continue past it (a number cut in two). */
		if (value != NULL && (r->eof || r->pos + (size_t)parse_error.position < r->len)) {
			r->pos += (size_t)parse_error.position;
			return value;
		}
		json_decref(value);
		/*
		 * An error that jansson finds well before the end of the buffered
		 * bytes is in the file, not an effect of a value cut at the buffer's
		 * end: report it now instead of reading on. The margin covers a
		 * \uXXXX escape or a UTF-8 sequence cut in two.
		 */
		if (r->eof || (value == NULL && (size_t)parse_error.position + READER_CUT_MARGIN < r->len - r->pos)) {
			long long at = (long long)(r->consumed + (int64_t)r->pos + parse_error.position);

			/* The database's text columns cannot hold NUL: PostgreSQL rejects it in text. */
			if (json_error_code(&parse_error) == json_error_null_character && r->section != NULL)
				snprintf(r->err, r->errlen,
					 "%s, row %lld: a string contains the NUL character (U+0000, written \\u0000) at byte "
					 "%lld; text fields must not contain NUL: remove it from the string",
					 r->section, (long long)r->row, at);
			else if (json_error_code(&parse_error) == json_error_null_character)
				snprintf(r->err, r->errlen,
					 "a string contains the NUL character (U+0000, written \\u0000) at byte %lld; text "
					 "fields must not contain NUL: remove it from the string",
					 at);
			else
				snprintf(r->err, r->errlen, "invalid JSON at byte %lld: %s", at, parse_error.text);
			if (!r->eof)
				reader_check_damage(r);
			return NULL;
		}
		if (reader_fill(r) != 0)
			return NULL;
	}
}

/* Most unique_rules of one section: a gid and a pair of gids that the schema also keeps unique. */
#define UNIQUE_RULES_PER_SECTION 2

/* A subtask whose parent had not been read when the subtask's row was inserted. */
struct pending_parent {
	int64_t task;
	int64_t parent;
	int64_t row; /* the subtask's row in section tasks, for the message */
};

/*
 * The restore's state. Besides the current row, it keeps the gid of every
 * row of the seven sections that others refer to (divisions, users, teams,
 * projects, sections, tags, tasks). A set takes at most 22 bytes per gid,
 * and 32 while it grows (see gidset.h): for 3 million such rows, at most
 * 64 MB, and 96 MB for a moment. pending takes 24 bytes per subtask that
 * precedes its parent in the file. `unique` stores the current section's
 * other unique keys, 16 to 32 bytes per row and key (see rowindex.h).
 */
struct restore {
	db_conn *c;
	struct reader r;
	int64_t org_gid;
	int64_t rows;
	int64_t counts[SECTION_COUNT];
	struct gidset seen[REF_COUNT];       /* gids restored so far, by the target they define */
	struct gidset service_account_users; /* users of kind service_account restored so far */
	/* The keys of the current section's unique_rules, emptied when the section ends. */
	struct rowindex unique[UNIQUE_RULES_PER_SECTION];
	struct pending_parent *pending;
	size_t pending_len, pending_cap;
	/* The row being checked, which messages identify by its key; row_object is NULL between rows. */
	const struct section *row_section; /* NULL: the organization */
	json_t *row_object;
	char *err;
	size_t errlen;
};

/* Appends " (task 1204)" or " (task 12, user 34)": the row's key values, the fields that identify it. */
static void describe_key(const struct section *sec, json_t *object, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < sec->key_count && used < outlen; i++) {
		const struct col *col = &sec->cols[i];
		json_t *value = json_object_get(object, col->name);
		const char *label = col->ref != REF_NONE		  ? ref_names[col->ref].record
				    : strcmp(col->name, "gid") == 0 ? sec->record
								      : col->name;
		const char *glue = used == 0 ? " (" : ", ";
		int n;

		if (json_is_string(value))
			n = snprintf(out + used, outlen - used, "%s%s %.40s", glue, label, json_string_value(value));
		else if (json_is_integer(value))
			n = snprintf(out + used, outlen - used, "%s%s %lld", glue, label,
				     (long long)json_integer_value(value));
		else
			continue;
		if (n < 0)
			return;
		used += (size_t)n;
	}
	if (used > 0 && used + 1 < outlen) {
		out[used] = ')';
		out[used + 1] = '\0';
	}
}

/*
 * Writes "section, row N (key): detail" into the error buffer and returns
 * -1. Rows are numbered from 1 within their section; row 0 names the section
 * as a whole. The key comes from the row being checked, if any.
 */
__attribute__((format(printf, 4, 5))) static int restore_fail(struct restore *rs, const char *section, int64_t row,
							       const char *fmt, ...)
{
	char detail[768], key[160] = "";
	va_list args;

	va_start(args, fmt);
	vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);
	if (rs->row_object != NULL && rs->row_section != NULL)
		describe_key(rs->row_section, rs->row_object, key, sizeof(key));
	if (row > 0 && rs->row_section != NULL)
		snprintf(rs->err, rs->errlen, "%s, row %lld%s: %s", section, (long long)row, key, detail);
	else
		snprintf(rs->err, rs->errlen, "%s: %s", section, detail);
	return -1;
}

/* Binds one JSON field of a row by its column type. */
static int bind_field(struct restore *rs, db_stmt *s, int index, const struct col *col, json_t *value,
		      const char *section, int64_t row, void **blob_r)
{
	/* Files written before stories had project_gid leave it out: such a story keeps its stored text for all. */
	if (value == NULL && col == &story_cols[STORY_PROJECT_COL])
		return db_bind_null(s, index) == DB_OK ? 0 : -1;
	if (value == NULL)
		return restore_fail(rs, section, row, "field \"%s\" is missing; every row has all the fields of its section, "
				    "null where the value is unset", col->name);
	if (json_is_null(value))
		return db_bind_null(s, index) == DB_OK ? 0 : -1;
	switch (col->type) {
	case COL_GID: {
		int64_t gid;

		/* "0" round-trips a stored 0, which some optional gid columns hold instead of NULL. */
		if (json_is_string(value) && strcmp(json_string_value(value), "0") == 0)
			gid = 0;
		else if (!json_is_string(value) || gid_parse(json_string_value(value), &gid) != 0)
			return restore_fail(rs, section, row, "field \"%s\" must be a gid string or null", col->name);
		db_bind_int64(s, index, gid);
		return 0;
	}
	case COL_INT:
		if (!json_is_integer(value))
			return restore_fail(rs, section, row, "field \"%s\" must be an integer or null", col->name);
		db_bind_int64(s, index, (int64_t)json_integer_value(value));
		return 0;
	case COL_BOOL:
		if (!json_is_boolean(value))
			return restore_fail(rs, section, row, "field \"%s\" must be true or false", col->name);
		db_bind_int64(s, index, json_is_true(value) ? 1 : 0);
		return 0;
	case COL_TEXT:
		if (!json_is_string(value))
			return restore_fail(rs, section, row, "field \"%s\" must be a string or null", col->name);
		db_bind_textn(s, index, json_string_value(value), json_string_length(value));
		return 0;
	case COL_BLOB: {
		const char *text = json_string_value(value);
		size_t text_len = json_string_length(value), bin_len = 0;
		unsigned char *bin;

		if (text == NULL)
			return restore_fail(rs, section, row, "field \"%s\" must be a base64 string", col->name);
		bin = malloc(text_len / 4 * 3 + 3);
		if (bin == NULL)
			return restore_fail(rs, section, row, "out of memory decoding \"%s\"", col->name);
		if (sodium_base642bin(bin, text_len / 4 * 3 + 3, text, text_len, NULL, &bin_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bin);
			return restore_fail(rs, section, row, "field \"%s\" is not valid base64", col->name);
		}
		*blob_r = bin;
		db_bind_blob(s, index, bin, bin_len);
		return 0;
	}
	case COL_JSON: {
		char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

		if (text == NULL)
			return restore_fail(rs, section, row, "cannot encode field \"%s\"", col->name);
		db_bind_text(s, index, text);
		free(text);
		return 0;
	}
	}
	return -1;
}

/*
 * Value checks of the restore, the same the API makes on input, so a
 * restored database holds only what the API could have written. The
 * enumerations below are static in the API files (projects.c, teams.c,
 * task_write.c), which src/store does not include, so they are repeated
 * here and must change with them.
 */
enum value_check {
	CHECK_NOT_NULL,   /* a gid that must be present and positive */
	CHECK_TEXT,       /* text that must be present */
	CHECK_ENUM,       /* one of `values` */
	CHECK_DATE,       /* null or a calendar date YYYY-MM-DD (time_check_date) */
	CHECK_EMAIL,      /* an e-mail address (text_email_valid) */
	CHECK_PLAN,       /* an organization plan (store_plan_valid) */
	CHECK_ROLE,       /* a workspace role (role_from_name) */
	CHECK_SCOPES,     /* comma-separated service-account scopes (auth_scopes_parse) */
	CHECK_SA_USER,    /* the gid of a user of kind service_account */
};

struct value_rule {
	const struct col *cols;
	const char *column;
	enum value_check check;
	const char *const *values; /* CHECK_ENUM: NULL-terminated */
};

static const char *const user_kinds[] = { "person", "service_account", NULL };
static const char *const team_visibilities[] = { "secret", "request_to_join", "public", NULL };
static const char *const privacy_settings[] = { "public_to_workspace", "private_to_team", "private", NULL };
static const char *const project_views[] = { "list", "board", "calendar", "timeline", NULL };
static const char *const access_levels[] = { "admin", "editor", "commenter", "viewer", NULL };
static const char *const task_subtypes[] = { "default_task", "milestone", "approval", NULL };
static const char *const assignee_statuses[] = { "today", "upcoming", "later", "new", "inbox", NULL };

/* Key columns (the first key_count of a section) are checked as CHECK_NOT_NULL without a rule. */
static const struct value_rule value_rules[] = {
	{ organization_cols, "name", CHECK_TEXT, NULL },
	{ organization_cols, "plan", CHECK_PLAN, NULL },
	{ user_cols, "email", CHECK_EMAIL, NULL },
	{ user_cols, "name", CHECK_TEXT, NULL },
	{ user_cols, "kind", CHECK_ENUM, user_kinds },
	{ service_account_cols, "user_gid", CHECK_SA_USER, NULL },
	{ service_account_cols, "scopes", CHECK_SCOPES, NULL },
	{ workspace_membership_cols, "user_gid", CHECK_NOT_NULL, NULL },
	{ workspace_membership_cols, "role", CHECK_ROLE, NULL },
	{ team_cols, "name", CHECK_TEXT, NULL },
	{ team_cols, "visibility", CHECK_ENUM, team_visibilities },
	{ team_membership_cols, "team_gid", CHECK_NOT_NULL, NULL },
	{ team_membership_cols, "user_gid", CHECK_NOT_NULL, NULL },
	{ project_cols, "name", CHECK_TEXT, NULL },
	{ project_cols, "default_view", CHECK_ENUM, project_views },
	{ project_cols, "privacy_setting", CHECK_ENUM, privacy_settings },
	{ project_cols, "due_on", CHECK_DATE, NULL },
	{ project_cols, "start_on", CHECK_DATE, NULL },
	{ project_membership_cols, "project_gid", CHECK_NOT_NULL, NULL },
	{ project_membership_cols, "user_gid", CHECK_NOT_NULL, NULL },
	{ project_membership_cols, "access_level", CHECK_ENUM, access_levels },
	{ section_cols, "project_gid", CHECK_NOT_NULL, NULL },
	{ task_cols, "resource_subtype", CHECK_ENUM, task_subtypes },
	{ task_cols, "assignee_status", CHECK_ENUM, assignee_statuses },
	{ task_cols, "due_on", CHECK_DATE, NULL },
	{ task_cols, "start_on", CHECK_DATE, NULL },
	{ story_cols, "task_gid", CHECK_NOT_NULL, NULL },
	{ audit_cols, "gid", CHECK_NOT_NULL, NULL },
	{ NULL, NULL, 0, NULL },
};

static int enum_contains(const char *const *values, const char *text)
{
	for (; *values; values++)
		if (strcmp(*values, text) == 0)
			return 1;
	return 0;
}

/* Writes "a, b or c" into `out`, for messages that list the allowed values. */
static void enum_describe(const char *const *values, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; values[i] && used < outlen; i++) {
		const char *glue = i == 0 ? "" : values[i + 1] ? ", " : " or ";
		int n = snprintf(out + used, outlen - used, "%s\"%s\"", glue, values[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* 1 when every comma-separated name in `text` is a service-account scope, and there is at least one. */
static int scopes_valid(const char *text)
{
	char name[32];

	if (*text == '\0')
		return 0;
	while (*text) {
		size_t len = strcspn(text, ",");

		if (len == 0 || len >= sizeof(name))
			return 0;
		memcpy(name, text, len);
		name[len] = '\0';
		if (auth_scopes_parse(name) == 0)
			return 0;
		text += len;
		if (*text == ',')
			text++;
	}
	return 1;
}

/* Applies one check to a field whose JSON type bind_field has already accepted. */
static int check_value(struct restore *rs, const struct value_rule *rule, json_t *value, const char *section,
		       int64_t row)
{
	const char *text = json_string_value(value);
	char allowed[256];
	int64_t gid = 0;

	if (rule->check == CHECK_DATE)
		return text == NULL || time_check_date(text) == 0
			       ? 0
			       : restore_fail(rs, section, row, "field \"%s\" must be a date YYYY-MM-DD or null",
					      rule->column);
	if (value == NULL || json_is_null(value))
		return restore_fail(rs, section, row, "field \"%s\" must not be null", rule->column);
	switch (rule->check) {
	case CHECK_NOT_NULL:
	case CHECK_SA_USER:
		if (text == NULL || gid_parse(text, &gid) != 0 || gid <= 0)
			return restore_fail(rs, section, row, "field \"%s\" must be a gid string", rule->column);
		/* check_reference has found the user in the file. */
		if (rule->check == CHECK_SA_USER && !gidset_contains(&rs->service_account_users, gid))
			return restore_fail(rs, section, row,
					    "field \"user_gid\" refers to user %s, whose kind is not \"service_account\"; "
					    "set that user's kind to \"service_account\" or remove this row",
					    text);
		return 0;
	case CHECK_TEXT:
		return 0;
	case CHECK_ENUM:
		if (enum_contains(rule->values, text))
			return 0;
		enum_describe(rule->values, allowed, sizeof(allowed));
		return restore_fail(rs, section, row, "field \"%s\" is \"%.60s\"; it must be one of %s", rule->column,
				    text, allowed);
	case CHECK_EMAIL:
		if (text_email_valid(text))
			return 0;
		return restore_fail(rs, section, row, "field \"email\" is not an e-mail address: \"%.80s\"", text);
	case CHECK_PLAN:
		if (store_plan_valid(text))
			return 0;
		enum_describe(store_plans, allowed, sizeof(allowed));
		return restore_fail(rs, section, row, "field \"plan\" is \"%.60s\"; it must be one of %s", text,
				    allowed);
	case CHECK_ROLE:
		if (role_from_name(text) >= 0)
			return 0;
		return restore_fail(rs, section, row, "field \"role\" is not a workspace role: \"%.60s\"", text);
	case CHECK_SCOPES:
		if (scopes_valid(text))
			return 0;
		return restore_fail(rs, section, row,
				    "field \"scopes\" is \"%.80s\"; it must list full, or one or more of read, scim, "
				    "exports and audit_logs, separated by commas",
				    text);
	case CHECK_DATE:
		break;
	}
	return 0;
}

/* Writes what a null in a NOT NULL column should become, for the message that rejects it. */
static void describe_null_fix(const struct col *cols, const struct col *col, char *out, size_t outlen)
{
	char allowed[256];
	size_t name_len = strlen(col->name);

	if (col->ref != REF_NONE) {
		snprintf(out, outlen, "write the gid of a %s in section \"%s\", or remove the row", ref_names[col->ref].record,
			 ref_names[col->ref].section);
		return;
	}
	for (const struct value_rule *rule = value_rules; rule->cols; rule++) {
		if (rule->cols != cols || strcmp(rule->column, col->name) != 0)
			continue;
		if (rule->check == CHECK_ENUM || rule->check == CHECK_PLAN) {
			enum_describe(rule->check == CHECK_ENUM ? rule->values : store_plans, allowed, sizeof(allowed));
			snprintf(out, outlen, "write one of %s", allowed);
			return;
		}
		if (rule->check == CHECK_ROLE) {
			snprintf(out, outlen, "write one of \"super_admin\", \"admin\", \"member\" or \"guest\"");
			return;
		}
		if (rule->check == CHECK_EMAIL) {
			snprintf(out, outlen, "write the user's e-mail address");
			return;
		}
		if (rule->check == CHECK_SCOPES) {
			snprintf(out, outlen, "write full, or a comma-separated list of read, scim, exports and audit_logs");
			return;
		}
	}
	switch (col->type) {
	case COL_GID:
		snprintf(out, outlen, "write a gid that no other row of the section has");
		return;
	case COL_INT:
		if (name_len > 3 && strcmp(col->name + name_len - 3, "_at") == 0)
			snprintf(out, outlen, "write the time in microseconds since the Unix epoch");
		else
			snprintf(out, outlen, "write an integer");
		return;
	case COL_BOOL:
		snprintf(out, outlen, "write true or false");
		return;
	case COL_TEXT:
		snprintf(out, outlen, "write a string, \"\" for no text");
		return;
	case COL_BLOB:
		snprintf(out, outlen, "write the image in base64, or remove the row");
		return;
	case COL_JSON:
		snprintf(out, outlen, "write a JSON object, {} for none");
		return;
	}
	out[0] = '\0';
}

/*
 * Checks that a reference (a column with a foreign key) names a row restored
 * before it, so the insert cannot fail on the foreign key. Sections come
 * after the ones they refer to, so a gid not seen yet is not in the file.
 * The exception is tasks.parent_gid: a parent not seen yet may come later
 * in section tasks, so *later_parent_r receives it and the section's end
 * checks it. A value that is not a gid string is left to bind_field.
 */
static int check_reference(struct restore *rs, const struct col *col, json_t *value, const char *section,
			   int64_t row, int *has_later_parent_r, int64_t *later_parent_r)
{
	const char *text = json_string_value(value);
	const char *record = ref_names[col->ref].record;
	int64_t gid = 0;

	if (text == NULL || (strcmp(text, "0") != 0 && gid_parse(text, &gid) != 0))
		return 0;
	if (gidset_contains(&rs->seen[col->ref], gid))
		return 0;
	if (col == &task_cols[TASK_PARENT_COL]) {
		*has_later_parent_r = 1;
		*later_parent_r = gid;
		return 0;
	}
	if (col->flags & COL_REQUIRED)
		return restore_fail(rs, section, row,
				    "field \"%s\" refers to %s %s, which is not in the file; add %s %s to section \"%s\" "
				    "or remove this row",
				    col->name, record, text, record, text, ref_names[col->ref].section);
	return restore_fail(rs, section, row,
			    "field \"%s\" refers to %s %s, which is not in the file; set the field to null or add %s %s "
			    "to section \"%s\"",
			    col->name, record, text, record, text, ref_names[col->ref].section);
}

/*
 * Checks each field of a row in one pass over the object, because this runs
 * for every row of the file. Rejects fields the format does not define, so a
 * file from a newer writer is not restored with losses. Rejects null in key
 * columns and in the columns that the schema declares NOT NULL, and checks
 * references (check_reference). The insert then cannot fail on a NOT NULL
 * or foreign-key constraint with the database's own message, which names
 * no row.
 */
static int check_row_fields(struct restore *rs, const struct section *sec, json_t *object, const char *section,
			    int64_t row, int *has_later_parent_r, int64_t *later_parent_r)
{
	const struct col *cols = sec ? sec->cols : organization_cols;
	const char *key;
	json_t *value;
	char fix[320];

	if (!json_is_object(object))
		return restore_fail(rs, section, row, "%s", "expected a JSON object");
	json_object_foreach (object, key, value) {
		int found = -1, is_key;

		for (int i = 0; cols[i].name && found < 0; i++)
			if (strcmp(cols[i].name, key) == 0)
				found = i;
		if (found < 0)
			return restore_fail(rs, section, row, "unknown field \"%.64s\"", key);
		is_key = sec != NULL && found < sec->key_count;
		if (json_is_null(value) && (is_key || (cols[found].flags & COL_REQUIRED))) {
			describe_null_fix(cols, &cols[found], fix, sizeof(fix));
			return restore_fail(rs, section, row, "field \"%s\" must not be null%s; %s", key,
					    is_key ? " because it is part of the row's key" : "", fix);
		}
		if (cols[found].ref != REF_NONE &&
		    check_reference(rs, &cols[found], value, section, row, has_later_parent_r, later_parent_r) != 0)
			return -1;
	}
	return 0;
}

/* Checks that the row has its key fields, and that a key gid is a positive gid string. */
static int check_key_fields(struct restore *rs, const struct section *sec, json_t *object, int64_t row)
{
	for (int i = 0; i < sec->key_count; i++) {
		json_t *value = json_object_get(object, sec->cols[i].name);
		int64_t gid = 0;

		if (value == NULL)
			return restore_fail(rs, sec->name, row, "field \"%s\" is missing; it is part of the row's key",
					    sec->cols[i].name);
		if (sec->cols[i].type == COL_GID &&
		    (!json_is_string(value) || gid_parse(json_string_value(value), &gid) != 0 || gid <= 0))
			return restore_fail(rs, sec->name, row, "field \"%s\" must be a gid string", sec->cols[i].name);
	}
	return 0;
}

/*
 * Checks the values of one row against the rules of its section, after
 * check_row_fields. bind_field checks the JSON types afterwards, so a
 * rule sees a string where it reads one or fails on the type first.
 */
static int check_row_values(struct restore *rs, const struct col *cols, json_t *object, const char *section,
			    int64_t row)
{
	for (const struct value_rule *rule = value_rules; rule->cols; rule++) {
		json_t *value;

		if (rule->cols != cols)
			continue;
		value = json_object_get(object, rule->column);
		/* A wrong JSON type is reported by bind_field, with the type it expects. */
		if (value != NULL && !json_is_null(value) && !json_is_string(value))
			continue;
		if (check_value(rs, rule, value, section, row) != 0)
			return -1;
	}
	if (cols == user_cols) {
		const char *kind = json_string_value(json_object_get(object, "kind"));
		json_t *name = json_object_get(object, "name");
		const char *problem;

		/* The API checks the names of service accounts with text_name_problem; people's names come from many places. */
		if (kind && strcmp(kind, "service_account") == 0 && json_is_string(name)) {
			problem = text_name_problem(json_string_value(name), json_string_length(name));
			if (problem)
				return restore_fail(rs, section, row, "field \"name\" %s", problem);
		}
	}
	return 0;
}

/*
 * Checks that a photo's size is one that kontor renders. The column is
 * INTEGER, which PostgreSQL keeps to 32 bits, so a larger value would
 * otherwise fail in the insert on PostgreSQL alone.
 */
static int check_photo_size(struct restore *rs, json_t *object, int64_t row)
{
	json_t *size = json_object_get(object, "size");
	char allowed[96];
	size_t used = 0;

	/* A size that is not an integer is reported by bind_field. */
	if (!json_is_integer(size))
		return 0;
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		if (json_integer_value(size) == photo_sizes[i])
			return 0;
		used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%d", i == 0 ? "" : ", ", photo_sizes[i]);
	}
	return restore_fail(rs, "photos", row, "field \"size\" is %lld; it must be one of %s, the sizes in pixels that "
					       "kontor renders",
			    (long long)json_integer_value(size), allowed);
}

/* Checks that a task's parent is not the task itself; longer cycles are found once the section is read. */
static int check_task_parent(struct restore *rs, json_t *object, int64_t row)
{
	const char *gid = json_string_value(json_object_get(object, "gid"));
	const char *parent = json_string_value(json_object_get(object, "parent_gid"));

	if (gid && parent && strcmp(gid, parent) == 0)
		return restore_fail(rs, "tasks", row, "field \"parent_gid\" is the task's own gid %s; a task cannot be "
						      "its own parent",
				    gid);
	return 0;
}

static int remember_parent(struct restore *rs, int64_t task, int64_t parent, int64_t row)
{
	if (rs->pending_len == rs->pending_cap) {
		size_t cap = rs->pending_cap ? rs->pending_cap * 2 : 64;
		struct pending_parent *grown = realloc(rs->pending, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		rs->pending = grown;
		rs->pending_cap = cap;
	}
	rs->pending[rs->pending_len].task = task;
	rs->pending[rs->pending_len].parent = parent;
	rs->pending[rs->pending_len].row = row;
	rs->pending_len++;
	return 0;
}

/*
 * Adds the row's own gid to the set of its section, which later rows'
 * references are checked against, and the gid of a service account's user
 * to service_account_users. Rejects a gid that an earlier row of the
 * section has.
 */
static int remember_row(struct restore *rs, const struct section *sec, json_t *object, int64_t row)
{
	int64_t gid = 0;
	int added;

	/* check_key_fields has checked the key gid. */
	gid_parse(json_string_value(json_object_get(object, sec->cols[0].name)), &gid);
	added = gidset_add(&rs->seen[sec->defines], gid);
	if (added < 0)
		return restore_fail(rs, sec->name, row, "%s", "out of memory");
	if (added == 0)
		return restore_fail(rs, sec->name, row,
				    "field \"gid\" repeats the gid of an earlier row; gids must be unique within section "
				    "\"%s\": remove one of the two rows or give it an unused gid",
				    sec->name);
	if (sec->cols == user_cols) {
		const char *kind = json_string_value(json_object_get(object, "kind"));

		if (kind && strcmp(kind, "service_account") == 0 && gidset_add(&rs->service_account_users, gid) < 0)
			return restore_fail(rs, sec->name, row, "%s", "out of memory");
	}
	return 0;
}

/*
 * The unique keys of the schema that remember_row does not cover: composite
 * primary keys, the primary keys of the sections that no other section
 * refers to, and the unique indexes beside a primary key. check_unique
 * finds a repeated key before the insert, which would otherwise fail with
 * the database's own message. At most UNIQUE_RULES_PER_SECTION per section.
 */
struct unique_rule {
	const struct col *cols;
	const char *fields[2]; /* the key's fields; the second is NULL for a one-field key */
	const char *names;     /* what the fields name, for the message: "task and user" */
	const char *fix;       /* the end of the message, after the semicolon */
	/*
	 * Confirms a key whose fingerprint is in the index: the query takes
	 * workspace_gid and the fields in order. NULL for a key of one gid or
	 * integer field, which the index stores exactly.
	 */
	const char *exists_sql;
};

#define UNIQUE_GID_FIX "gids must be unique within a section: remove one of the rows or give one an unused gid"

static const struct unique_rule unique_rules[] = {
	{ user_cols, { "email", NULL }, "e-mail address",
	  "e-mail addresses are compared without regard to case, and each user needs an address of their own: "
	  "change the address or remove one of the users",
	  "SELECT 1 FROM users WHERE workspace_gid = ? AND email_lower = ?" },
	{ service_account_cols, { "user_gid", NULL }, "user",
	  "a user has at most one row in section \"service_accounts\": remove one of the rows", NULL },
	{ scim_user_cols, { "user_gid", NULL }, "user",
	  "a user has at most one row in section \"scim_users\": remove one of the rows", NULL },
	{ workspace_membership_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ workspace_membership_cols, { "user_gid", NULL }, "user",
	  "a user has one workspace membership: remove one of the rows", NULL },
	{ division_admin_cols, { "division_gid", "user_gid" }, "division and user", "remove one of the rows",
	  "SELECT 1 FROM division_admins WHERE workspace_gid = ? AND division_gid = ? AND user_gid = ?" },
	{ photo_cols, { "photo_key", "size" }, "photo key and size", "remove one of the rows",
	  "SELECT 1 FROM photos WHERE workspace_gid = ? AND photo_key = ? AND size = ?" },
	{ team_membership_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ team_membership_cols, { "team_gid", "user_gid" }, "team and user",
	  "a user has one membership per team: remove one of the rows",
	  "SELECT 1 FROM team_memberships WHERE workspace_gid = ? AND team_gid = ? AND user_gid = ?" },
	{ scim_group_cols, { "team_gid", NULL }, "team",
	  "a team has at most one row in section \"scim_groups\": remove one of the rows", NULL },
	{ project_membership_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ project_membership_cols, { "project_gid", "user_gid" }, "project and user",
	  "a user has one membership per project: remove one of the rows",
	  "SELECT 1 FROM project_memberships WHERE workspace_gid = ? AND project_gid = ? AND user_gid = ?" },
	{ project_follower_cols, { "project_gid", "user_gid" }, "project and user", "remove one of the rows",
	  "SELECT 1 FROM project_followers WHERE workspace_gid = ? AND project_gid = ? AND user_gid = ?" },
	{ status_update_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ task_project_cols, { "task_gid", "project_gid" }, "task and project", "remove one of the rows",
	  "SELECT 1 FROM task_projects WHERE workspace_gid = ? AND task_gid = ? AND project_gid = ?" },
	{ task_follower_cols, { "task_gid", "user_gid" }, "task and user", "remove one of the rows",
	  "SELECT 1 FROM task_followers WHERE workspace_gid = ? AND task_gid = ? AND user_gid = ?" },
	{ task_tag_cols, { "task_gid", "tag_gid" }, "task and tag", "remove one of the rows",
	  "SELECT 1 FROM task_tags WHERE workspace_gid = ? AND task_gid = ? AND tag_gid = ?" },
	{ story_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ audit_cols, { "seq", NULL }, "seq",
	  "seq numbers are unique within the audit log: remove one of the records or give one an unused seq", NULL },
	{ audit_cols, { "gid", NULL }, "gid", UNIQUE_GID_FIX, NULL },
	{ NULL, { NULL, NULL }, NULL, NULL, NULL },
};

/* One field of a unique key: a gid or integer in `number`, or text (then `text` is not NULL). */
struct key_part {
	const struct col *col;
	int64_t number;
	const char *text;
	size_t len;
};

/* Reads one key field. Returns -1 for a value of another type, which bind_field reports with the type it expects. */
static int read_key_part(const struct col *cols, const char *field, json_t *object, struct key_part *part)
{
	json_t *value = json_object_get(object, field);

	part->col = NULL;
	for (int i = 0; cols[i].name && part->col == NULL; i++)
		if (strcmp(cols[i].name, field) == 0)
			part->col = &cols[i];
	part->number = 0;
	part->text = NULL;
	part->len = 0;
	if (part->col == NULL)
		return -1;
	switch (part->col->type) {
	case COL_GID:
		return json_is_string(value) && gid_parse(json_string_value(value), &part->number) == 0 ? 0 : -1;
	case COL_INT:
		if (!json_is_integer(value))
			return -1;
		part->number = (int64_t)json_integer_value(value);
		return 0;
	case COL_TEXT:
		if (!json_is_string(value))
			return -1;
		part->text = json_string_value(value);
		part->len = json_string_length(value);
		return 0;
	default:
		return -1;
	}
}

/* The splitmix64 finalizer (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xBF58476D1CE4E5B9);
	x ^= x >> 27;
	x *= UINT64_C(0x94D049BB133111EB);
	x ^= x >> 31;
	return x;
}

/* A 64-bit fingerprint of a key of text or several fields; equal keys have equal fingerprints. */
static uint64_t key_fingerprint(const struct key_part *parts, int count)
{
	uint64_t hash = 0;

	for (int i = 0; i < count; i++) {
		uint64_t part = (uint64_t)parts[i].number;

		if (parts[i].text != NULL) {
			/* FNV-1a, 64-bit (offset basis and prime from the FNV reference). */
			part = UINT64_C(0xCBF29CE484222325);
			for (size_t b = 0; b < parts[i].len; b++)
				part = (part ^ (unsigned char)parts[i].text[b]) * UINT64_C(0x100000001B3);
		}
		hash = mix64(hash ^ mix64(part + (uint64_t)i));
	}
	return hash;
}

/* Returns 1 when a row with the key is in the database, 0 when not, and -1 with a message on failure. */
static int key_exists(struct restore *rs, const struct section *sec, const struct unique_rule *rule,
		      const struct key_part *parts, int count, int64_t row)
{
	db_stmt *s = db_query(rs->c, rule->exists_sql);
	int status;

	if (s == NULL)
		return restore_fail(rs, sec->name, row, "cannot check for a repeated key: %s", db_conn_errmsg(rs->c));
	db_bind_int64(s, 0, rs->org_gid);
	for (int i = 0; i < count; i++) {
		if (parts[i].text != NULL)
			db_bind_textn(s, i + 1, parts[i].text, parts[i].len);
		else
			db_bind_int64(s, i + 1, parts[i].number);
	}
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 1;
	if (status == DB_DONE)
		return 0;
	return restore_fail(rs, sec->name, row, "checking for a repeated key failed: %s", db_conn_errmsg(rs->c));
}

/* Writes "team 12 and user 34" or "e-mail address "a@b.se"": the values of a key that is not the row's own. */
static void describe_key_values(const struct key_part *parts, int count, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < count && used < outlen; i++) {
		const struct col *col = parts[i].col;
		const char *glue = i == 0 ? "" : " and ";
		int n;

		if (col->type == COL_TEXT && strcmp(col->name, "email") == 0)
			n = snprintf(out + used, outlen - used, "%se-mail address \"%.80s\"", glue, parts[i].text);
		else if (parts[i].text != NULL)
			n = snprintf(out + used, outlen - used, "%s%s \"%.60s\"", glue, col->name, parts[i].text);
		else
			n = snprintf(out + used, outlen - used, "%s%s %lld", glue,
				     col->ref != REF_NONE ? ref_names[col->ref].record : col->name, (long long)parts[i].number);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

/*
 * Adds the row's key of `rule` to `index` and rejects it when an earlier row
 * of the section has it. A fingerprint match is confirmed in the database,
 * where the earlier row is inserted already, because two keys may share a
 * fingerprint.
 */
static int check_unique_rule(struct restore *rs, const struct section *sec, const struct unique_rule *rule,
			     struct rowindex *index, json_t *object, int64_t row)
{
	struct key_part parts[2];
	int count = rule->fields[1] != NULL ? 2 : 1;
	int exact, added, is_row_key;
	int64_t earlier = 0;
	uint64_t key;
	char lower[320], where[48], values[200];

	for (int i = 0; i < count; i++)
		if (read_key_part(sec->cols, rule->fields[i], object, &parts[i]) != 0)
			return 0;
	/* The users_email index is on the lower-cased address, the value insert_row binds to email_lower. */
	if (sec->cols == user_cols) {
		store_email_lower(parts[0].text, lower, sizeof(lower));
		parts[0].text = lower;
		parts[0].len = strlen(lower);
	}
	exact = count == 1 && parts[0].text == NULL;
	key = exact ? (uint64_t)parts[0].number : key_fingerprint(parts, count);
	added = rowindex_add(index, key, row, &earlier);
	if (added < 0)
		return restore_fail(rs, sec->name, row, "%s", "out of memory");
	if (added == 1)
		return 0;
	if (!exact) {
		int found = key_exists(rs, sec, rule, parts, count, row);

		if (found <= 0)
			return found; /* 0: another key with the same fingerprint */
	}
	if (earlier > 0)
		snprintf(where, sizeof(where), "row %lld", (long long)earlier);
	else
		snprintf(where, sizeof(where), "an earlier row");
	is_row_key = count == sec->key_count && strcmp(rule->fields[0], sec->cols[0].name) == 0;
	if (is_row_key)
		return restore_fail(rs, sec->name, row, "the same %s appear%s in %s; %s", rule->names,
				    count == 1 ? "s" : "", where, rule->fix);
	if (sec->cols == user_cols)
		parts[0].text = json_string_value(json_object_get(object, "email"));
	describe_key_values(parts, count, values, sizeof(values));
	return restore_fail(rs, sec->name, row, "%s appear%s in %s as well; %s", values, count == 1 ? "s" : "", where,
			    rule->fix);
}

/* Checks the row against every unique_rules entry of its section. */
static int check_unique(struct restore *rs, const struct section *sec, json_t *object, int64_t row)
{
	int slot = 0;

	for (const struct unique_rule *rule = unique_rules; rule->cols; rule++) {
		if (rule->cols != sec->cols)
			continue;
		if (check_unique_rule(rs, sec, rule, &rs->unique[slot++], object, row) != 0)
			return -1;
	}
	return 0;
}

/* Empties the indexes of check_unique when a section ends; its keys cannot repeat in another section. */
static void clear_unique(struct restore *rs)
{
	for (int i = 0; i < UNIQUE_RULES_PER_SECTION; i++)
		rowindex_clear(&rs->unique[i]);
}

/* Runs every check on one row before its insert; the database's own constraint messages name no row. */
static int check_row(struct restore *rs, const struct section *sec, json_t *object, int64_t row,
		     int *has_later_parent_r, int64_t *later_parent_r)
{
	const struct col *cols = sec ? sec->cols : organization_cols;
	const char *name = sec ? sec->name : "organization";

	if (check_row_fields(rs, sec, object, name, row, has_later_parent_r, later_parent_r) != 0)
		return -1;
	if (sec && check_key_fields(rs, sec, object, row) != 0)
		return -1;
	/* The audit log API pages by seq, so a record without a positive one could never be read. */
	if (cols == audit_cols) {
		json_t *seq = json_object_get(object, "seq");

		if (!json_is_integer(seq) || json_integer_value(seq) < 1)
			return restore_fail(rs, name, row, "%s", "field \"seq\" must be an integer of 1 or more");
	}
	if (cols == photo_cols && check_photo_size(rs, object, row) != 0)
		return -1;
	if (check_row_values(rs, cols, object, name, row) != 0)
		return -1;
	if (cols == task_cols && check_task_parent(rs, object, row) != 0)
		return -1;
	if (sec && sec->defines != REF_NONE && remember_row(rs, sec, object, row) != 0)
		return -1;
	if (sec && check_unique(rs, sec, object, row) != 0)
		return -1;
	return 0;
}

/* Inserts one row of `sec` (NULL: the organization). */
static int insert_row(struct restore *rs, const struct section *sec, json_t *object, int64_t row)
{
	const struct col *cols = sec ? sec->cols : organization_cols;
	const char *name = sec ? sec->name : "organization";
	void *blobs[8] = { NULL };
	int first = sec ? 1 : 0, nblobs = 0, failed = 0, status, i, has_later_parent = 0;
	int64_t later_parent = 0;
	db_stmt *s;

	if (check_row(rs, sec, object, row, &has_later_parent, &later_parent) != 0)
		return -1;
	s = db_query(rs->c, sec ? sec->insert_sql : organization_insert_sql);
	if (s == NULL)
		return restore_fail(rs, name, row, "cannot prepare the insert: %s", db_conn_errmsg(rs->c));
	if (sec)
		db_bind_int64(s, 0, rs->org_gid);
	for (i = 0; cols[i].name && !failed; i++) {
		json_t *value = json_object_get(object, cols[i].name);
		void *blob = NULL;

		failed = bind_field(rs, s, first + i, &cols[i], value, name, row, &blob) != 0;
		if (blob)
			blobs[nblobs++] = blob;
	}
	/* A parent not read yet does not exist in the database: link it once the section is complete. */
	if (!failed && has_later_parent) {
		int64_t gid = 0;

		gid_parse(json_string_value(json_object_get(object, "gid")), &gid);
		db_bind_null(s, first + TASK_PARENT_COL);
		failed = remember_parent(rs, gid, later_parent, row) != 0;
		if (failed)
			restore_fail(rs, name, row, "%s", "out of memory");
	}
	if (!failed && cols == user_cols) {
		char lower[320];

		store_email_lower(json_string_value(json_object_get(object, "email")), lower, sizeof(lower));
		db_bind_text(s, first + i, lower);
	}
	if (failed) {
		db_stmt_done(s);
		for (int b = 0; b < nblobs; b++)
			free(blobs[b]);
		return -1;
	}
	status = db_run(s);
	for (int b = 0; b < nblobs; b++)
		free(blobs[b]);
	if (status != DB_OK)
		return restore_fail(rs, name, row, "insert failed: %s", db_conn_errmsg(rs->c));
	rs->rows++;
	return 0;
}

/*
 * Links the subtasks whose parent came after them, once section tasks is
 * complete, and rejects a parent that is not in the file.
 */
static int link_pending_parents(struct restore *rs)
{
	char gid_text[GID_STRING_MAX];

	for (size_t i = 0; i < rs->pending_len; i++) {
		const struct pending_parent *p = &rs->pending[i];

		if (!gidset_contains(&rs->seen[REF_TASK], p->parent)) {
			gid_format(p->parent, gid_text);
			snprintf(rs->err, rs->errlen,
				 "tasks, row %lld (task %lld): field \"parent_gid\" refers to task %s, which is not in the "
				 "file; set the field to null or add task %s to section \"tasks\"",
				 (long long)p->row, (long long)p->task, gid_text, gid_text);
			return -1;
		}
	}
	for (size_t i = 0; i < rs->pending_len; i++) {
		db_stmt *s = db_query(rs->c, "UPDATE tasks SET parent_gid = ? WHERE gid = ? AND workspace_gid = ?");

		if (s == NULL)
			return restore_fail(rs, "tasks", 0, "cannot link parents: %s", db_conn_errmsg(rs->c));
		db_bind_int64(s, 0, rs->pending[i].parent);
		db_bind_int64(s, 1, rs->pending[i].task);
		db_bind_int64(s, 2, rs->org_gid);
		if (db_run(s) != DB_OK)
			return restore_fail(rs, "tasks", 0, "linking a subtask to its parent failed: %s",
					    db_conn_errmsg(rs->c));
	}
	rs->pending_len = 0;
	return 0;
}

/*
 * Rejects parent links that form a cycle or nest deeper than the API
 * allows: its setParent checks both, and the read paths of subtasks assume
 * a tree. Walks up from every subtask at most RESTORE_TASK_DEPTH_MAX + 1
 * levels, so the query ends on a cycle too.
 */
static int check_task_ancestry(struct restore *rs)
{
	db_stmt *s = db_query(rs->c, "WITH RECURSIVE chain (task_gid, ancestor_gid, depth) AS ("
				     " SELECT gid, parent_gid, 1 FROM tasks WHERE workspace_gid = ? AND parent_gid IS NOT NULL"
				     " UNION ALL"
				     " SELECT c.task_gid, t.parent_gid, c.depth + 1 FROM chain c"
				     " JOIN tasks t ON t.gid = c.ancestor_gid AND t.workspace_gid = ?"
				     " WHERE t.parent_gid IS NOT NULL AND c.ancestor_gid <> c.task_gid AND c.depth <= ?)"
				     " SELECT task_gid, CASE WHEN ancestor_gid = task_gid THEN 1 ELSE 0 END FROM chain"
				     " WHERE ancestor_gid = task_gid OR depth > ? ORDER BY task_gid LIMIT 1");
	int status;
	int64_t task_gid = 0, is_cycle = 0;

	if (s == NULL)
		return restore_fail(rs, "tasks", 0, "cannot check the parents: %s", db_conn_errmsg(rs->c));
	db_bind_int64(s, 0, rs->org_gid);
	db_bind_int64(s, 1, rs->org_gid);
	db_bind_int64(s, 2, RESTORE_TASK_DEPTH_MAX);
	db_bind_int64(s, 3, RESTORE_TASK_DEPTH_MAX);
	status = db_step(s);
	if (status == DB_ROW) {
		task_gid = db_column_int64(s, 0);
		is_cycle = db_column_int64(s, 1);
	}
	db_stmt_done(s);
	if (status == DB_DONE)
		return 0;
	if (status != DB_ROW)
		return restore_fail(rs, "tasks", 0, "checking the parents failed: %s", db_conn_errmsg(rs->c));
	if (is_cycle)
		snprintf(rs->err, rs->errlen,
			 "tasks, task %lld: field \"parent_gid\" leads back to the task itself through its parents; "
			 "parents must form a tree: set parent_gid to null on one task of the cycle",
			 (long long)task_gid);
	else
		snprintf(rs->err, rs->errlen,
			 "tasks, task %lld: field \"parent_gid\" nests the task more than %d levels below a top-level "
			 "task, which the API does not allow: set parent_gid to a task higher up",
			 (long long)task_gid, RESTORE_TASK_DEPTH_MAX);
	return -1;
}

/*
 * Sets the organization's audit counter to its highest restored seq, so the
 * next record continues the sequence. No audit rows: no counter row, which
 * store_audit_append creates at 1.
 */
static int rebuild_audit_counter(struct restore *rs)
{
	db_stmt *s = db_query(rs->c, "INSERT INTO audit_counters (workspace_gid, last_seq)"
				     " SELECT workspace_gid, max(seq) FROM audit_log WHERE workspace_gid = ?"
				     " GROUP BY workspace_gid"
				     " ON CONFLICT (workspace_gid) DO UPDATE SET last_seq = excluded.last_seq");

	if (s == NULL)
		return restore_fail(rs, "audit_log", 0, "cannot prepare the audit counter: %s", db_conn_errmsg(rs->c));
	db_bind_int64(s, 0, rs->org_gid);
	if (db_run(s) != DB_OK)
		return restore_fail(rs, "audit_log", 0, "setting the audit counter failed: %s", db_conn_errmsg(rs->c));
	return 0;
}

static int read_section(struct restore *rs, int index)
{
	const struct section *sec = &sections[index];
	int64_t row = 0;
	int ch;

	if (reader_expect(&rs->r, '[', "to open a section") != 0)
		return -1;
	ch = reader_peek(&rs->r);
	if (ch == ']') {
		rs->r.pos++;
		return 0;
	}
	for (;;) {
		json_t *object;
		int failed;

		rs->r.section = sec->name;
		rs->r.row = row + 1;
		object = reader_value(&rs->r);
		rs->r.section = NULL;
		if (object == NULL)
			return -1;
		row++;
		rs->row_section = sec;
		rs->row_object = object;
		failed = insert_row(rs, sec, object, row);
		rs->row_object = NULL;
		rs->row_section = NULL;
		json_decref(object);
		if (failed)
			return -1;
		ch = reader_peek(&rs->r);
		if (ch == ',') {
			rs->r.pos++;
			continue;
		}
		if (reader_expect(&rs->r, ']', "or ',' after a row") != 0)
			return -1;
		break;
	}
	rs->counts[index] = row;
	clear_unique(rs);
	if (sec->cols == task_cols && (link_pending_parents(rs) != 0 || check_task_ancestry(rs) != 0))
		return -1;
	return 0;
}

static int check_counts(struct restore *rs, json_t *counts)
{
	if (!json_is_object(counts)) {
		snprintf(rs->err, rs->errlen, "row_counts must be an object");
		return -1;
	}
	for (int i = 0; i < SECTION_COUNT; i++) {
		json_t *expected = json_object_get(counts, sections[i].name);

		if (!json_is_integer(expected) || json_integer_value(expected) != rs->counts[i]) {
			snprintf(rs->err, rs->errlen,
				 "section %s contains %lld rows but row_counts records %s; the file is incomplete or "
				 "was changed",
				 sections[i].name, (long long)rs->counts[i],
				 json_is_integer(expected) ? "another number" : "none");
			return -1;
		}
	}
	return 0;
}

/* Checks a top-level scalar of the header: the format name and the version. */
static int check_header_value(struct restore *rs, const char *key, json_t *value)
{
	if (strcmp(key, "format") == 0) {
		if (!json_is_string(value) || strcmp(json_string_value(value), EXPORT_FORMAT_NAME) != 0) {
			snprintf(rs->err, rs->errlen, "not a kontor export: \"format\" must be \"%s\"", EXPORT_FORMAT_NAME);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "version") == 0) {
		if (!json_is_integer(value) || json_integer_value(value) != EXPORT_FORMAT_VERSION) {
			char found[32] = "a version that is not an integer";

			if (json_is_integer(value))
				snprintf(found, sizeof(found), "version %lld", (long long)json_integer_value(value));
			snprintf(rs->err, rs->errlen,
				 "unsupported export version: the file has %s, and this kontor reads version %d. "
				 "Restore with the kontor release that wrote the file",
				 found, EXPORT_FORMAT_VERSION);
			return -1;
		}
		return 0;
	}
	return 0; /* exported_at: informational */
}

/*
 * Rejects a file that lacks the sections before `next_key` from
 * `next_section` on. The writer writes every section, [] when it has no
 * rows, so a missing one means the file was cut or edited; the message
 * says so before the rows after the gap fail their reference checks.
 */
static int check_missing_section(struct restore *rs, int next_section, int found_index, const char *next_key)
{
	const char *previous = next_section > 0 ? sections[next_section - 1].name : "organization";
	char before[KEY_NAME_MAX + 8];

	if (found_index <= next_section)
		return 0;
	if (next_key != NULL)
		snprintf(before, sizeof(before), "\"%s\"", next_key);
	else
		snprintf(before, sizeof(before), "the end of the file");
	snprintf(rs->err, rs->errlen,
		 "section \"%s\" is missing: it must come after \"%s\" and before %s; every export has all its "
		 "sections, with [] for one without rows. Restore from a complete export file, or add the section",
		 sections[next_section].name, previous, before);
	return -1;
}

/* Walks the top-level object. Sections must follow in the writer's order, each after the ones it refers to. */
static int read_document(struct restore *rs)
{
	char key[KEY_NAME_MAX];
	int next_section = 0, have_format = 0, have_version = 0, have_counts = 0;

	if (reader_expect(&rs->r, '{', "at the start of the file") != 0)
		return -1;
	for (;;) {
		int ch, index = -1;

		if (reader_key(&rs->r, key, sizeof(key)) != 0)
			return -1;
		for (int i = 0; i < SECTION_COUNT; i++)
			if (strcmp(sections[i].name, key) == 0)
				index = i;
		if (index >= 0) {
			if (rs->org_gid == 0 || index < next_section) {
				snprintf(rs->err, rs->errlen, "section %s is out of order: it must follow \"organization\" "
							      "and the sections before it in docs/export-format.md",
					 key);
				return -1;
			}
			if (check_missing_section(rs, next_section, index, key) != 0)
				return -1;
			next_section = index + 1;
			if (read_section(rs, index) != 0)
				return -1;
		} else if (strcmp(key, "format") == 0 || strcmp(key, "version") == 0 || strcmp(key, "exported_at") == 0 ||
			   strcmp(key, "organization") == 0 || strcmp(key, "row_counts") == 0) {
			json_t *value = reader_value(&rs->r);
			int failed;

			if (value == NULL)
				return -1;
			if (strcmp(key, "organization") == 0) {
				if (!have_format || !have_version || rs->org_gid != 0) {
					json_decref(value);
					snprintf(rs->err, rs->errlen, "\"organization\" must follow \"format\" and \"version\" "
								      "and appear once");
					return -1;
				}
				if (json_is_string(json_object_get(value, "gid")))
					gid_parse(json_string_value(json_object_get(value, "gid")), &rs->org_gid);
				rs->row_object = value;
				failed = insert_row(rs, NULL, value, 1);
				rs->row_object = NULL;
				if (!failed && rs->org_gid == 0) {
					snprintf(rs->err, rs->errlen, "organization: \"gid\" is missing");
					failed = 1;
				}
			} else if (strcmp(key, "row_counts") == 0) {
				failed = check_missing_section(rs, next_section, SECTION_COUNT, key) != 0 ||
					 check_counts(rs, value) != 0;
				have_counts = 1;
			} else {
				failed = check_header_value(rs, key, value);
				have_format |= strcmp(key, "format") == 0;
				have_version |= strcmp(key, "version") == 0;
			}
			json_decref(value);
			if (failed)
				return -1;
		} else {
			snprintf(rs->err, rs->errlen, "unknown top-level key \"%s\"; this kontor reads export version %d",
				 key, EXPORT_FORMAT_VERSION);
			return -1;
		}
		ch = reader_peek(&rs->r);
		if (ch == ',') {
			rs->r.pos++;
			continue;
		}
		if (reader_expect(&rs->r, '}', "or ',' after a value") != 0)
			return -1;
		break;
	}
	if (reader_peek(&rs->r) != -1) {
		snprintf(rs->err, rs->errlen, "unexpected data after the end of the document");
		return -1;
	}
	if (rs->org_gid != 0 && check_missing_section(rs, next_section, SECTION_COUNT, NULL) != 0)
		return -1;
	if (rs->org_gid == 0 || !have_counts) {
		snprintf(rs->err, rs->errlen, "the file is incomplete: %s is missing",
			 rs->org_gid == 0 ? "\"organization\"" : "\"row_counts\"");
		return -1;
	}
	return 0;
}

/* Returns 1 when the database contains an organization or a user, 0 when not, -1 on failure. */
static int database_in_use(db_conn *c)
{
	db_stmt *s = db_query(c, "SELECT (SELECT count(*) FROM workspaces) + (SELECT count(*) FROM users)");
	int status;
	int64_t count = 0;

	if (s == NULL)
		return -1;
	status = db_step(s);
	if (status == DB_ROW)
		count = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status != DB_ROW)
		return -1;
	return count > 0;
}

int store_export_restore(db_conn *c, int fd, int64_t *org_gid_r, int64_t *rows_r, char *err, size_t errlen)
{
	struct restore rs;
	int in_use, result = -1;

	memset(&rs, 0, sizeof(rs));
	rs.c = c;
	rs.err = err;
	rs.errlen = errlen;
	rs.r.err = err;
	rs.r.errlen = errlen;

	rs.r.file = gzdopen(fd, "rb");
	if (rs.r.file == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rs.r.cap = READER_BUFFER_BYTES;
	rs.r.buf = malloc(rs.r.cap);
	if (rs.r.buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (db_begin_write(c) != DB_OK) {
		snprintf(err, errlen, "cannot start a transaction: %s", db_conn_errmsg(c));
		goto done;
	}
	/* Checked inside the write transaction, so nothing can add an organization in between. */
	in_use = database_in_use(c);
	if (in_use != 0) {
		snprintf(err, errlen, "%s",
			 in_use > 0 ? "the database is not empty: it already contains an organization or users. Restore "
				      "into a new, empty database"
				    : db_conn_errmsg(c));
		db_rollback(c);
		goto done;
	}
	if (read_document(&rs) != 0 || rebuild_audit_counter(&rs) != 0) {
		db_rollback(c);
		goto done;
	}
	if (db_commit(c) != DB_OK) {
		snprintf(err, errlen, "commit failed: %s", db_conn_errmsg(c));
		goto done;
	}
	*org_gid_r = rs.org_gid;
	*rows_r = rs.rows;
	result = 0;

done:
	for (int i = 0; i < REF_COUNT; i++)
		gidset_clear(&rs.seen[i]);
	gidset_clear(&rs.service_account_users);
	clear_unique(&rs);
	free(rs.pending);
	free(rs.r.buf);
	gzclose(rs.r.file);
	return result;
}
