/*
 * Tasks: the task representation (api_task_type), the single read and the
 * lists. The actions that link a task to other objects
 * (setParent, addProject, addTag, addFollowers and their inverses) and the
 * access checks live in task_actions.c.
 *
 * A task in projects is ordered there by task_projects.position, a subtask
 * under its parent by tasks.position. Both are integers with gaps, and lists
 * page by a key that contains the position. A task in no project is private to its
 * creator, assignee and followers, like Asana's "My tasks". The writes
 * (create, update, delete) are in task_write.c.
 */
#include "api/api.h"
#include "api/json_out.h"
#include "api/task_internal.h"

#include "util/gid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- the representation ---------- */

static const char *const task_fields[] = {
	"name", "resource_subtype", "approval_status", "assignee", "assignee_status", "assignee_section",
	"assigned_by", "completed", "completed_at", "completed_by", "created_at", "created_by", "modified_at",
	"due_at", "due_on", "start_at", "start_on", "followers", "hearted", "hearts", "liked", "likes",
	"num_likes", "num_hearts", "num_subtasks", "html_notes", "notes", "parent", "projects", "memberships",
	"tags", "workspace", "custom_fields", "custom_type", "custom_type_status_option", "dependencies",
	"dependents", "external", "is_rendered_as_separator", "permalink_url", "actual_time_minutes", NULL,
};
static const char *const task_compact[] = { "name", "resource_subtype", NULL };
static const struct api_type_ref task_refs[] = {
	{ "assignee", &api_user_type },   { "assigned_by", &api_user_type }, { "completed_by", &api_user_type },
	{ "created_by", &api_user_type }, { "followers", &api_user_type },   { "parent", &api_task_type },
	{ "projects", &api_project_type }, { "tags", &api_tag_type },        { "workspace", &api_workspace_type },
	{ NULL, NULL },
};

/*
 * The task row with the names of the objects it refers to, as every query
 * that builds representations selects it. List queries append their sort
 * key after these columns. ASSIGNEE, COMPLETED_BY, PARENT_NAME and
 * PARENT_SUBTYPE are the expressions for those names.
 */
#define TASK_COLUMNS_HEAD(ASSIGNEE, COMPLETED_BY, PARENT_NAME, PARENT_SUBTYPE)                                 \
	"t.gid, t.name, t.notes, t.html_notes, t.resource_subtype, t.assignee_gid, " ASSIGNEE ","               \
	" t.assignee_status, t.completed, t.completed_at, t.completed_by, " COMPLETED_BY ", t.approval_status," \
	" t.due_on, t.due_at, t.start_on, t.start_at, t.parent_gid, " PARENT_NAME ", " PARENT_SUBTYPE ","       \
	" t.created_by, t.created_at, t.modified_at, (SELECT COUNT(*) FROM tasks st WHERE st.parent_gid = t.gid)"
/*
 * The names come from scalar subqueries rather than joins. PostgreSQL plans
 * these prepared statements again for each execution's values. With four
 * more joined tables, that took about 3 ms per list query, twenty times its
 * run time. With subqueries it takes about 0.6 ms (the large demo).
 */
#define TASK_COLUMNS                                                                                           \
	TASK_COLUMNS_HEAD("(SELECT a.name FROM users a WHERE a.gid = t.assignee_gid)",                         \
			  "(SELECT cb.name FROM users cb WHERE cb.gid = t.completed_by)",                      \
			  "(SELECT pt.name FROM tasks pt WHERE pt.gid = t.parent_gid)",                        \
			  "(SELECT pt.resource_subtype FROM tasks pt WHERE pt.gid = t.parent_gid)")            \
	", t.assigned_by, (SELECT ab.name FROM users ab WHERE ab.gid = t.assigned_by), t.workspace_gid, w.name"
#define TASK_JOINS " JOIN workspaces w ON w.gid = t.workspace_gid"
/*
 * The same columns without assigned_by, which only opt_fields shows, for the
 * text path of GET /tasks/{gid}. It keeps the joins: a lookup by primary key
 * plans in about 0.1 ms, and the instruction counts of this path were
 * measured with them.
 */
#define TASK_COLUMNS_DEFAULT                                                                                   \
	TASK_COLUMNS_HEAD("a.name", "cb.name", "pt.name", "pt.resource_subtype")                               \
	", CAST(NULL AS BIGINT), CAST(NULL AS TEXT), t.workspace_gid, w.name"
#define TASK_JOINS_DEFAULT                                                                                     \
	" JOIN workspaces w ON w.gid = t.workspace_gid LEFT JOIN users a ON a.gid = t.assignee_gid"              \
	" LEFT JOIN users cb ON cb.gid = t.completed_by LEFT JOIN tasks pt ON pt.gid = t.parent_gid"

enum {
	COL_GID,
	COL_NAME,
	COL_NOTES,
	COL_HTML_NOTES,
	COL_SUBTYPE,
	COL_ASSIGNEE,
	COL_ASSIGNEE_NAME,
	COL_ASSIGNEE_STATUS,
	COL_COMPLETED,
	COL_COMPLETED_AT,
	COL_COMPLETED_BY,
	COL_COMPLETED_BY_NAME,
	COL_APPROVAL_STATUS,
	COL_DUE_ON,
	COL_DUE_AT,
	COL_START_ON,
	COL_START_AT,
	COL_PARENT,
	COL_PARENT_NAME,
	COL_PARENT_SUBTYPE,
	COL_CREATED_BY,
	COL_CREATED_AT,
	COL_MODIFIED_AT,
	COL_NUM_SUBTASKS,
	COL_ASSIGNED_BY,
	COL_ASSIGNED_BY_NAME,
	COL_WORKSPACE,
	COL_WORKSPACE_NAME,
	COL_EXTRA, /* the first column a query appends: a list's sort key, or a visibility flag */
};

/* The linked lists of a representation, which cost a query beyond the task row. */
enum {
	LINK_PROJECTS = 0x1u,    /* projects and memberships */
	LINK_FOLLOWERS = 0x2u,
	LINK_TAGS = 0x4u,
	LINK_ALL = 0x7u,
};

/*
 * Sets permalink_url to the task's API address, as projects do. Asana's
 * link opens its web app, and kontor has no task page to open.
 */
static const char *text_permalink(api_ctx *ctx, int64_t task_gid, char *base, size_t base_len, char *url,
				  size_t url_len)
{
	static const char tasks_path[] = API_BASE_PATH "/tasks/";
	char digits[GID_STRING_MAX];
	size_t len = strlen(api_base_url(ctx, base, base_len)), gid_len = strlen(gid_format(task_gid, digits));

	/* Copied in pieces: snprintf cost about a sixth of writing the whole task row (callgrind). */
	if (len + sizeof(tasks_path) - 1 + gid_len + 1 > url_len) {
		snprintf(url, url_len, "%s%s%s", base, tasks_path, digits);
		return url;
	}
	memcpy(url, base, len);
	memcpy(url + len, tasks_path, sizeof(tasks_path) - 1);
	len += sizeof(tasks_path) - 1;
	memcpy(url + len, digits, gid_len + 1);
	return url;
}

static void set_permalink(api_ctx *ctx, json_t *task, int64_t task_gid)
{
	char base[API_BASE_URL_MAX], url[API_BASE_URL_MAX + 64];

	json_object_set_new(task, "permalink_url",
			    json_string(text_permalink(ctx, task_gid, base, sizeof(base), url, sizeof(url))));
}

/* A user reference with a name, or json null for a NULL column. */
static json_t *user_ref_column(db_stmt *s, int gid_col, int name_col)
{
	if (db_column_is_null(s, gid_col)) {
		return json_null();
	}
	return api_ref("user", db_column_int64(s, gid_col), db_column_text(s, name_col));
}

/* A time column as ISO 8601 or json null. */
static json_t *time_column(db_stmt *s, int col)
{
	return db_column_is_null(s, col) ? json_null() : api_time(db_column_int64(s, col));
}

/*
 * Builds the representation of the task in the current row of `s` (columns
 * in COL_ order), without the linked lists. Returns a new reference.
 */
static json_t *task_from_row(api_ctx *ctx, db_stmt *s)
{
	int64_t gid = db_column_int64(s, COL_GID);
	const char *subtype = db_column_text(s, COL_SUBTYPE);
	json_t *task, *ref;

	task = api_object_new("task", gid);
	json_object_set_new(task, "name", api_string_or_null(db_column_text(s, COL_NAME)));
	json_object_set_new(task, "resource_subtype", api_string_or_null(subtype));

	/* approval_status is conditional: Asana shows it on approvals only. */
	if (subtype != NULL && strcmp(subtype, "approval") == 0) {
		json_object_set_new(task, "approval_status", api_string_or_null(db_column_text(s, COL_APPROVAL_STATUS)));
	}

	json_object_set_new(task, "assignee", user_ref_column(s, COL_ASSIGNEE, COL_ASSIGNEE_NAME));
	json_object_set_new(task, "assignee_status", api_string_or_null(db_column_text(s, COL_ASSIGNEE_STATUS)));
	json_object_set_new(task, "assignee_section", json_null());
	if (ctx->fields != NULL && api_wants(ctx, "assigned_by")) {
		json_object_set_new(task, "assigned_by", user_ref_column(s, COL_ASSIGNED_BY, COL_ASSIGNED_BY_NAME));
	}
	json_object_set_new(task, "completed", json_boolean(db_column_int64(s, COL_COMPLETED) != 0));
	json_object_set_new(task, "completed_at", time_column(s, COL_COMPLETED_AT));
	json_object_set_new(task, "completed_by", user_ref_column(s, COL_COMPLETED_BY, COL_COMPLETED_BY_NAME));
	json_object_set_new(task, "created_at", api_time(db_column_int64(s, COL_CREATED_AT)));
	json_object_set_new(task, "created_by",
			    db_column_is_null(s, COL_CREATED_BY) ? json_null()
								 : api_object_new("user", db_column_int64(s, COL_CREATED_BY)));
	json_object_set_new(task, "modified_at", api_time(db_column_int64(s, COL_MODIFIED_AT)));
	json_object_set_new(task, "due_at", time_column(s, COL_DUE_AT));
	json_object_set_new(task, "due_on", api_string_or_null(db_column_text(s, COL_DUE_ON)));
	json_object_set_new(task, "start_at", time_column(s, COL_START_AT));
	json_object_set_new(task, "start_on", api_string_or_null(db_column_text(s, COL_START_ON)));

	/* kontor has no likes (hearts), custom fields or time tracking: their empty values. */
	json_object_set_new(task, "hearted", json_false());
	json_object_set_new(task, "hearts", json_array());
	json_object_set_new(task, "liked", json_false());
	json_object_set_new(task, "likes", json_array());
	json_object_set_new(task, "num_hearts", json_integer(0));
	json_object_set_new(task, "num_likes", json_integer(0));
	json_object_set_new(task, "num_subtasks", json_integer(db_column_int64(s, COL_NUM_SUBTASKS)));
	json_object_set_new(task, "notes", api_string_or_null(db_column_text(s, COL_NOTES)));
	json_object_set_new(task, "html_notes", api_string_or_null(db_column_text(s, COL_HTML_NOTES)));

	if (db_column_is_null(s, COL_PARENT)) {
		json_object_set_new(task, "parent", json_null());
	} else {
		ref = api_ref("task", db_column_int64(s, COL_PARENT), db_column_text(s, COL_PARENT_NAME));
		json_object_set_new(ref, "resource_subtype", api_string_or_null(db_column_text(s, COL_PARENT_SUBTYPE)));
		json_object_set_new(task, "parent", ref);
	}

	json_object_set_new(task, "workspace",
			    api_ref("workspace", db_column_int64(s, COL_WORKSPACE), db_column_text(s, COL_WORKSPACE_NAME)));
	json_object_set_new(task, "custom_fields", json_array());
	json_object_set_new(task, "is_rendered_as_separator", json_false());
	json_object_set_new(task, "actual_time_minutes", json_null());

	/* Opt-in fields: kontor keeps no dependencies between tasks, so the lists are empty. */
	if (ctx->fields != NULL && api_wants(ctx, "dependencies")) {
		json_object_set_new(task, "dependencies", json_array());
	}
	if (ctx->fields != NULL && api_wants(ctx, "dependents")) {
		json_object_set_new(task, "dependents", json_array());
	}

	set_permalink(ctx, task, gid);
	return task;
}

/* The task row of build(), with the direct visibility rule as its last column. */
#define TASK_ROW_SQL                                                                                           \
	"SELECT " TASK_COLUMNS ", CASE WHEN " TASK_VISIBLE_SQL("t") " THEN 1 ELSE 0 END"                        \
	" FROM tasks t" TASK_JOINS " WHERE t.gid = ? AND t.workspace_gid = ?"
static const char task_row_sql[] = TASK_ROW_SQL;
/* The task row of build_text: no assigned_by, so no lookup of its user. */
static const char task_row_default_sql[] =
	"SELECT " TASK_COLUMNS_DEFAULT ", CASE WHEN " TASK_VISIBLE_SQL("t") " THEN 1 ELSE 0 END"
	" FROM tasks t" TASK_JOINS_DEFAULT " WHERE t.gid = ? AND t.workspace_gid = ?";

/*
 * Returns the membership (project and section) in the current row of a
 * links query, whose project gid is column `first`, followed by the
 * project's name, the section's gid and the section's name.
 */
static json_t *membership_from_row(db_stmt *s, int first)
{
	json_t *membership = json_object();

	json_object_set_new(membership, "project",
			    api_ref("project", db_column_int64(s, first), db_column_text(s, first + 1)));

	/* The spec's section is not nullable, so a project without sections gives no section key. */
	if (!db_column_is_null(s, first + 2)) {
		json_object_set_new(membership, "section",
				    api_ref("section", db_column_int64(s, first + 2), db_column_text(s, first + 3)));
	}
	return membership;
}

/* One row of a links query, held until the rows are sorted: the place of its task in the page, and the link. */
struct link_row {
	int task;
	int64_t kind;
	int64_t gid;
	json_t *ref;
	json_t *membership; /* for a project, else NULL */
};

/* Rows on the stack before add_links allocates: a task rarely has more links. */
#define LINK_ROWS_LOCAL 16

/* Orders links as the lists show them: by task, then by kind, then by gid. */
static int link_row_compare(const void *a, const void *b)
{
	const struct link_row *x = a, *y = b;

	if (x->task != y->task) {
		return x->task < y->task ? -1 : 1;
	}
	if (x->kind != y->kind) {
		return x->kind < y->kind ? -1 : 1;
	}
	if (x->gid != y->gid) {
		return x->gid < y->gid ? -1 : 1;
	}
	return 0;
}

/* Makes room for one more row; returns -1 when out of memory. */
static int link_rows_reserve(struct link_row **rows, size_t count, size_t *capacity, struct link_row *local)
{
	struct link_row *grown;

	if (count < *capacity) {
		return 0;
	}
	if (*rows == local) {
		grown = malloc(2 * *capacity * sizeof(**rows));
		if (grown != NULL) {
			memcpy(grown, local, count * sizeof(**rows));
		}
	} else {
		grown = realloc(*rows, 2 * *capacity * sizeof(**rows));
	}
	if (grown == NULL) {
		return -1;
	}
	*rows = grown;
	*capacity *= 2;
	return 0;
}

/* The links query of add_links and text_links: one text, so one cached statement. */
#define LINKS_SQL                                                                                              \
	"SELECT 0, f.user_gid, u.name, CAST(NULL AS BIGINT), CAST(NULL AS TEXT)"                                 \
	" FROM task_followers f JOIN users u ON u.gid = f.user_gid"                                              \
	" WHERE f.task_gid = ? AND f.workspace_gid = ?"                                                          \
	" UNION ALL SELECT 1, tt.tag_gid, g.name, CAST(NULL AS BIGINT), CAST(NULL AS TEXT)"                      \
	" FROM task_tags tt JOIN tags g ON g.gid = tt.tag_gid"                                                   \
	" WHERE tt.task_gid = ? AND tt.workspace_gid = ?"                                                        \
	" UNION ALL SELECT 2, tp.project_gid, p.name, tp.section_gid, sc.name FROM task_projects tp"             \
	" JOIN projects p ON p.gid = tp.project_gid LEFT JOIN sections sc ON sc.gid = tp.section_gid"            \
	" WHERE tp.task_gid = ? AND tp.workspace_gid = ? AND " TASK_PROJECT_VISIBLE_SQL("p")

static const char links_sql[] = LINKS_SQL;

/* Returns the links query for `task_gid`, bound, or NULL when preparing it failed. */
static db_stmt *links_query(api_ctx *ctx, int64_t task_gid)
{
	db_stmt *s = db_query(ctx->db, links_sql);

	if (s == NULL)
		return NULL;
	db_bind_int64(s, 0, task_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, task_gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	db_bind_int64(s, 4, task_gid);
	db_bind_int64(s, 5, ctx->who.workspace_gid);
	task_bind_project_visible(ctx, s, 6);
	return s;
}

/* Ten and a hundred placeholders, for the task gids of one page. */
#define LINKS_PAGE_Q10 "?,?,?,?,?,?,?,?,?,?"
#define LINKS_PAGE_IN                                                                                          \
	"(" LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 ","      \
	LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 "," LINKS_PAGE_Q10 ")"
/* Tasks per page links query: the largest page. Unused places are bound to gid 0, which no task has. */
#define LINKS_PAGE_MAX 100

/*
 * The links query of a page of tasks: the rows of links_sql with the task's
 * gid first, for up to LINKS_PAGE_MAX tasks in one query. One query instead
 * of one per task saves a round trip per task to a database server.
 */
static const char links_page_sql[] =
	"SELECT f.task_gid, 0, f.user_gid, u.name, CAST(NULL AS BIGINT), CAST(NULL AS TEXT)"
	" FROM task_followers f JOIN users u ON u.gid = f.user_gid"
	" WHERE f.task_gid IN " LINKS_PAGE_IN " AND f.workspace_gid = ?"
	" UNION ALL SELECT tt.task_gid, 1, tt.tag_gid, g.name, CAST(NULL AS BIGINT), CAST(NULL AS TEXT)"
	" FROM task_tags tt JOIN tags g ON g.gid = tt.tag_gid"
	" WHERE tt.task_gid IN " LINKS_PAGE_IN " AND tt.workspace_gid = ?"
	" UNION ALL SELECT tp.task_gid, 2, tp.project_gid, p.name, tp.section_gid, sc.name FROM task_projects tp"
	" JOIN projects p ON p.gid = tp.project_gid LEFT JOIN sections sc ON sc.gid = tp.section_gid"
	" WHERE tp.task_gid IN " LINKS_PAGE_IN " AND tp.workspace_gid = ? AND " TASK_PROJECT_VISIBLE_SQL("p");

/*
 * Reads the rows (kind, gid, name, section gid, section name) of the links
 * query `s` into *rows_r, which starts as `local` with `capacity` places, and
 * marks `s` done. Kind 0 is a follower, 1 a tag, and 2 a project the caller
 * may see, with the task's section in it. With `gids`, each row starts with
 * its task's gid, whose place in `gids` (of `count`) becomes the row's task;
 * without, every row is task 0. The rows are sorted here rather than with
 * ORDER BY, for which SQLite sorts each branch of the UNION ALL in a
 * temporary b-tree: that was about a tenth of the instructions of
 * GET /tasks/{gid}. Returns a db status.
 */
static int links_read(db_stmt *s, const int64_t *gids, int count, struct link_row **rows_r, size_t *nrows_r,
		      size_t capacity, struct link_row *local)
{
	static const char *const ref_types[] = { "user", "tag", "project" };
	int first = gids != NULL ? 1 : 0;
	int rc;

	for (;;) {
		struct link_row *row;
		int64_t kind;
		int task = 0;

		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (gids != NULL) {
			int64_t task_gid = db_column_int64(s, 0);

			for (task = 0; task < count && gids[task] != task_gid; task++) {
			}
		}
		kind = db_column_int64(s, first);
		if (task == count || kind < 0 || kind > 2 || link_rows_reserve(rows_r, *nrows_r, &capacity, local) != 0) {
			rc = DB_ERROR;
			break;
		}
		row = &(*rows_r)[(*nrows_r)++];
		row->task = task;
		row->kind = kind;
		row->gid = db_column_int64(s, first + 1);
		row->ref = api_ref(ref_types[kind], row->gid, db_column_text(s, first + 2));
		row->membership = kind == 2 ? membership_from_row(s, first + 1) : NULL;
	}
	db_stmt_done(s);
	if (rc != DB_DONE) {
		return rc;
	}
	qsort(*rows_r, *nrows_r, sizeof(**rows_r), link_row_compare);
	return DB_OK;
}

/* Releases the rows of links_read. */
static void link_rows_free(struct link_row *rows, size_t count, struct link_row *local)
{
	for (size_t i = 0; i < count; i++) {
		json_decref(rows[i].ref);
		json_decref(rows[i].membership);
	}
	if (rows != local) {
		free(rows);
	}
}

/* Sets the lists named in `links` (LINK_ flags) on `task` from its sorted rows. */
static void links_set(json_t *task, const struct link_row *rows, size_t count, unsigned links)
{
	json_t *lists[] = { json_array(), json_array(), json_array() }; /* followers, tags, projects */
	json_t *memberships = json_array();

	for (size_t i = 0; i < count; i++) {
		json_array_append(lists[rows[i].kind], rows[i].ref);
		if (rows[i].membership != NULL) {
			json_array_append(memberships, rows[i].membership);
		}
	}
	if (links & LINK_PROJECTS) {
		json_object_set(task, "projects", lists[2]);
		json_object_set(task, "memberships", memberships);
	}
	if (links & LINK_FOLLOWERS) {
		json_object_set(task, "followers", lists[0]);
	}
	if (links & LINK_TAGS) {
		json_object_set(task, "tags", lists[1]);
	}
	for (int i = 0; i < 3; i++) {
		json_decref(lists[i]);
	}
	json_decref(memberships);
}

/* Adds the linked lists named in `links` (LINK_ flags) to one task, read in one query. Returns a db status. */
static int add_links(api_ctx *ctx, json_t *task, int64_t task_gid, unsigned links)
{
	struct link_row local[LINK_ROWS_LOCAL], *rows = local;
	size_t count = 0;
	db_stmt *s = links_query(ctx, task_gid);
	int rc;

	if (s == NULL) {
		return DB_ERROR;
	}
	rc = links_read(s, NULL, 1, &rows, &count, LINK_ROWS_LOCAL, local);
	if (rc == DB_OK) {
		links_set(task, rows, count, links);
	}
	link_rows_free(rows, count, local);
	return rc;
}

/*
 * Adds the linked lists named in `links` to the `count` tasks of `tasks`,
 * whose gids are `gids` (at most LINKS_PAGE_MAX), with the same content and
 * order as add_links gives each one, from one query. Returns a db status.
 */
static int add_links_page(api_ctx *ctx, json_t *const *tasks, const int64_t *gids, int count, unsigned links)
{
	struct link_row local[LINK_ROWS_LOCAL], *rows = local;
	size_t nrows = 0, start = 0;
	db_stmt *s = db_query(ctx->db, links_page_sql);
	int rc, index = 0;

	if (s == NULL) {
		return DB_ERROR;
	}
	for (int part = 0; part < 3; part++) {
		for (int i = 0; i < LINKS_PAGE_MAX; i++) {
			db_bind_int64(s, index++, i < count ? gids[i] : 0);
		}
		db_bind_int64(s, index++, ctx->who.workspace_gid);
	}
	task_bind_project_visible(ctx, s, index);
	rc = links_read(s, gids, count, &rows, &nrows, LINK_ROWS_LOCAL, local);
	for (int task = 0; rc == DB_OK && task < count; task++) {
		size_t end = start;

		while (end < nrows && rows[end].task == task) {
			end++;
		}
		links_set(tasks[task], rows + start, end - start, links);
		start = end;
	}
	link_rows_free(rows, nrows, local);
	return rc;
}

/* Returns the linked lists that opt_fields requests, or all of them for a full representation. */
static unsigned wanted_links(api_ctx *ctx)
{
	unsigned links = 0;

	if (api_wants(ctx, "projects") || api_wants(ctx, "memberships")) {
		links |= LINK_PROJECTS;
	}
	if (api_wants(ctx, "followers")) {
		links |= LINK_FOLLOWERS;
	}
	if (api_wants(ctx, "tags")) {
		links |= LINK_TAGS;
	}
	return links;
}

/* The last parent whose visibility a request looked up, since the tasks of one list often share a parent. */
struct parent_seen {
	int64_t gid;
	int visible;
};

/* Returns 1 when the caller may see the parent, 0 when not, -1 on a storage failure; `seen` remembers the last answer. */
static int parent_visible(api_ctx *ctx, int64_t parent_gid, struct parent_seen *seen)
{
	int exists = 0;

	if (seen->gid != parent_gid) {
		seen->visible = api_can_see_task(ctx, parent_gid, &exists);
		if (seen->visible < 0) {
			return -1;
		}
		seen->gid = parent_gid;
	}
	return seen->visible;
}

/*
 * Cuts the parent reference of `task` down to gid and resource_type when
 * the caller may not see the parent. A subtask can be visible through its
 * own project or as its assignee while its parent sits in a private
 * project, and the parent's name must not leak through it. Returns a db
 * status.
 */
static int parent_redact(api_ctx *ctx, json_t *task, struct parent_seen *seen)
{
	const char *gid_text = json_string_value(json_object_get(json_object_get(task, "parent"), "gid"));
	int64_t parent_gid;
	int visible;

	if (gid_text == NULL || api_is_full_access(ctx) || gid_parse(gid_text, &parent_gid) != 0) {
		return DB_OK;
	}
	visible = parent_visible(ctx, parent_gid, seen);
	if (visible < 0) {
		return DB_ERROR;
	}
	if (!visible) {
		json_object_set_new(task, "parent", api_object_new("task", parent_gid));
	}
	return DB_OK;
}

/*
 * Builds the full task into *task_r, or leaves it NULL when the task is
 * missing or, with `check`, invisible to the caller. The task row query
 * also evaluates the direct visibility rule, so the common read needs no
 * separate check. Only a subtask that fails it goes on to api_can_see_task,
 * which also looks at its ancestors. Returns a db status.
 */
static int build(api_ctx *ctx, int64_t task_gid, int check, json_t **task_r)
{
	struct parent_seen seen = { 0, 0 };
	json_t *task = NULL;
	db_stmt *s;
	int64_t parent_gid = 0;
	int rc, visible = 1, has_parent = 0;

	*task_r = NULL;
	s = db_query(ctx->db, task_row_sql);
	if (s == NULL) {
		return DB_ERROR;
	}
	task_bind_task_visible(ctx, s, 0);
	db_bind_int64(s, 9, task_gid);
	db_bind_int64(s, 10, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		visible = db_column_int64(s, COL_EXTRA) != 0;
		has_parent = !db_column_is_null(s, COL_PARENT);
		parent_gid = has_parent ? db_column_int64(s, COL_PARENT) : 0;
		if (visible || !check || has_parent) {
			task = task_from_row(ctx, s);
		}
	}
	db_stmt_done(s);
	if (rc == DB_DONE) {
		return DB_OK;
	}
	if (rc != DB_ROW) {
		return rc;
	}
	if (check && !visible) {
		int exists = 0;

		/* A subtask may be visible through an ancestor. */
		visible = has_parent ? api_can_see_task(ctx, task_gid, &exists) : 0;
		if (visible != 1) {
			json_decref(task);
			return visible < 0 ? DB_ERROR : DB_OK;
		}

		/* Visible through an ancestor only, so the parent is visible. */
		seen.gid = parent_gid;
		seen.visible = 1;
	}

	rc = parent_redact(ctx, task, &seen);
	if (rc == DB_OK) {
		rc = add_links(ctx, task, task_gid, LINK_ALL);
	}
	if (rc != DB_OK) {
		json_decref(task);
		return rc;
	}
	*task_r = task;
	return DB_OK;
}

int task_build(api_ctx *ctx, int64_t task_gid, json_t **task_r)
{
	return build(ctx, task_gid, 0, task_r);
}

/* api_task_type's loader: the full task when the caller may see it, else NULL. */
static json_t *task_load(api_ctx *ctx, int64_t gid)
{
	json_t *task;

	if (build(ctx, gid, 1, &task) != DB_OK) {
		return NULL;
	}
	return task;
}

const struct api_type api_task_type = {
	.name = "task",
	.fields = task_fields,
	.compact = task_compact,
	.refs = task_refs,
	.load = task_load,
};

int task_reply(api_ctx *ctx, int status, int64_t task_gid)
{
	json_t *task;
	int rc;

	rc = task_build(ctx, task_gid, &task);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (task == NULL) {
		return api_not_found(ctx, "task", task_gid);
	}
	return api_reply_object(ctx, &api_task_type, task, "/tasks", task_gid, status);
}

/* ---------- the full task written without a jansson tree ---------- */

/*
 * GET /tasks/{gid} without opt_fields or opt_pretty is the hottest read, and
 * building its jansson tree, writing it and freeing it took about a third of
 * its instructions (callgrind, large demo). These functions write the same
 * bytes straight from the rows:
 * the keys in the order task_from_row, parent_redact and add_links give
 * them. tests/api/read_path.test.js compares both paths. A text that is not
 * valid UTF-8, which json_string would refuse (dropping the key), sends the
 * request back to the tree, so even such a row reads alike.
 */

/* Status of the text path beyond the db statuses: the tree path must answer. */
#define TEXT_FALLBACK 100

struct task_text {
	struct json_out *o;
	int bad_text; /* a text that is not valid UTF-8 was met */
};

static void text_string(struct task_text *t, const char *text)
{
	size_t len;

	if (text == NULL) {
		json_out_lit(t->o, "null");
		return;
	}
	len = strlen(text);
	if (!json_out_utf8_valid(text, len))
		t->bad_text = 1;
	json_out_string(t->o, text, len);
}

/* Writes an api_ref object for a gid other than 0 without its closing brace, so that keys can follow. */
static void text_ref_open(struct task_text *t, const char *resource_type, int64_t gid, const char *name)
{
	json_out_lit(t->o, "{\"gid\":");
	json_out_gid(t->o, gid);
	json_out_lit(t->o, ",\"resource_type\":\"");
	json_out_bytes(t->o, resource_type, strlen(resource_type));
	json_out_lit(t->o, "\"");
	if (name != NULL) {
		json_out_lit(t->o, ",\"name\":");
		text_string(t, name);
	}
}

/* As api_ref: null for gid 0, the name only when there is one. */
static void text_ref(struct task_text *t, const char *resource_type, int64_t gid, const char *name)
{
	if (gid == 0) {
		json_out_lit(t->o, "null");
		return;
	}
	text_ref_open(t, resource_type, gid, name);
	json_out_lit(t->o, "}");
}

/* As api_time: null for 0. */
static void text_time(struct task_text *t, int64_t us)
{
	char buf[40];

	if (us == 0) {
		json_out_lit(t->o, "null");
		return;
	}
	time_format_iso(us, buf, sizeof(buf));
	json_out_string(t->o, buf, strlen(buf));
}

static void text_time_column(struct task_text *t, db_stmt *s, int col)
{
	if (db_column_is_null(s, col))
		json_out_lit(t->o, "null");
	else
		text_time(t, db_column_int64(s, col));
}

static void text_user_column(struct task_text *t, db_stmt *s, int gid_col, int name_col)
{
	if (db_column_is_null(s, gid_col))
		json_out_lit(t->o, "null");
	else
		text_ref(t, "user", db_column_int64(s, gid_col), db_column_text(s, name_col));
}

/* Offsets of the parent's value in the output, so it can be cut when the parent is hidden. */
struct text_span {
	size_t start, end;
};

/*
 * Writes `{"data":` and the task in the current row of `s` up to
 * permalink_url, as task_from_row builds it with no opt_fields.
 */
static void text_task_row(api_ctx *ctx, struct task_text *t, db_stmt *s, struct text_span *parent)
{
	char base[API_BASE_URL_MAX], url[API_BASE_URL_MAX + 64];
	int64_t gid = db_column_int64(s, COL_GID);
	const char *subtype = db_column_text(s, COL_SUBTYPE);
	struct json_out *o = t->o;

	json_out_lit(o, "{\"data\":{\"gid\":");
	json_out_gid(o, gid);
	json_out_lit(o, ",\"resource_type\":\"task\",\"name\":");
	text_string(t, db_column_text(s, COL_NAME));
	json_out_lit(o, ",\"resource_subtype\":");
	text_string(t, subtype);
	if (subtype != NULL && strcmp(subtype, "approval") == 0) {
		json_out_lit(o, ",\"approval_status\":");
		text_string(t, db_column_text(s, COL_APPROVAL_STATUS));
	}
	json_out_lit(o, ",\"assignee\":");
	text_user_column(t, s, COL_ASSIGNEE, COL_ASSIGNEE_NAME);
	json_out_lit(o, ",\"assignee_status\":");
	text_string(t, db_column_text(s, COL_ASSIGNEE_STATUS));
	json_out_lit(o, ",\"assignee_section\":null,\"completed\":");
	if (db_column_int64(s, COL_COMPLETED) != 0)
		json_out_lit(o, "true");
	else
		json_out_lit(o, "false");
	json_out_lit(o, ",\"completed_at\":");
	text_time_column(t, s, COL_COMPLETED_AT);
	json_out_lit(o, ",\"completed_by\":");
	text_user_column(t, s, COL_COMPLETED_BY, COL_COMPLETED_BY_NAME);
	json_out_lit(o, ",\"created_at\":");
	text_time(t, db_column_int64(s, COL_CREATED_AT));
	json_out_lit(o, ",\"created_by\":");
	if (db_column_is_null(s, COL_CREATED_BY)) {
		json_out_lit(o, "null");
	} else {
		/* As api_object_new, which has no null for gid 0. */
		json_out_lit(o, "{\"gid\":");
		json_out_gid(o, db_column_int64(s, COL_CREATED_BY));
		json_out_lit(o, ",\"resource_type\":\"user\"}");
	}
	json_out_lit(o, ",\"modified_at\":");
	text_time(t, db_column_int64(s, COL_MODIFIED_AT));
	json_out_lit(o, ",\"due_at\":");
	text_time_column(t, s, COL_DUE_AT);
	json_out_lit(o, ",\"due_on\":");
	text_string(t, db_column_text(s, COL_DUE_ON));
	json_out_lit(o, ",\"start_at\":");
	text_time_column(t, s, COL_START_AT);
	json_out_lit(o, ",\"start_on\":");
	text_string(t, db_column_text(s, COL_START_ON));
	json_out_lit(o, ",\"hearted\":false,\"hearts\":[],\"liked\":false,\"likes\":[],\"num_hearts\":0,"
			"\"num_likes\":0,\"num_subtasks\":");
	json_out_integer(o, db_column_int64(s, COL_NUM_SUBTASKS));
	json_out_lit(o, ",\"notes\":");
	text_string(t, db_column_text(s, COL_NOTES));
	json_out_lit(o, ",\"html_notes\":");
	text_string(t, db_column_text(s, COL_HTML_NOTES));

	json_out_lit(o, ",\"parent\":");
	parent->start = o->len;
	if (db_column_is_null(s, COL_PARENT) || db_column_int64(s, COL_PARENT) == 0) {
		json_out_lit(o, "null");
	} else {
		/* api_ref followed by resource_subtype, as task_from_row adds it. */
		text_ref_open(t, "task", db_column_int64(s, COL_PARENT), db_column_text(s, COL_PARENT_NAME));
		json_out_lit(o, ",\"resource_subtype\":");
		text_string(t, db_column_text(s, COL_PARENT_SUBTYPE));
		json_out_lit(o, "}");
	}
	parent->end = o->len;

	json_out_lit(o, ",\"workspace\":");
	text_ref(t, "workspace", db_column_int64(s, COL_WORKSPACE), db_column_text(s, COL_WORKSPACE_NAME));
	json_out_lit(o, ",\"custom_fields\":[],\"is_rendered_as_separator\":false,\"actual_time_minutes\":null,"
			"\"permalink_url\":");
	text_string(t, text_permalink(ctx, gid, base, sizeof(base), url, sizeof(url)));
}

/* Replaces the parent's value with its gid and resource_type, as parent_redact does. */
static void text_parent_cut(struct json_out *o, const struct text_span *parent, int64_t parent_gid)
{
	struct json_out cut;
	size_t tail;

	if (o->failed)
		return;
	if (json_out_init(&cut, 64) != 0) {
		o->failed = 1;
		return;
	}
	json_out_lit(&cut, "{\"gid\":");
	json_out_gid(&cut, parent_gid);
	json_out_lit(&cut, ",\"resource_type\":\"task\"}");
	tail = o->len - parent->end;
	/* The cut form is never longer than the full reference, which also has a name and a subtype. */
	if (!cut.failed && cut.len <= parent->end - parent->start) {
		memmove(o->text + parent->start + cut.len, o->text + parent->end, tail);
		memcpy(o->text + parent->start, cut.text, cut.len);
		o->len = parent->start + cut.len + tail;
	} else {
		o->failed = 1;
	}
	json_out_free(&cut);
}

/* One row of the links query, written to a scratch buffer until the rows are sorted. */
struct link_text {
	int64_t kind;
	int64_t gid;
	size_t ref_start, ref_end;
	size_t membership_start, membership_end; /* for a project, else equal */
};

static int link_text_compare(const void *a, const void *b)
{
	const struct link_text *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->gid != y->gid)
		return x->gid < y->gid ? -1 : 1;
	return 0;
}

/* Writes the rows of `kind` from the scratch buffer as a JSON array; `membership` picks that part. */
static void text_link_array(struct json_out *o, const struct json_out *scratch, const struct link_text *rows,
			    size_t count, int64_t kind, int membership)
{
	int first = 1;

	json_out_lit(o, "[");
	for (size_t i = 0; i < count; i++) {
		size_t start = membership ? rows[i].membership_start : rows[i].ref_start;
		size_t end = membership ? rows[i].membership_end : rows[i].ref_end;

		if (rows[i].kind != kind)
			continue;
		if (!first)
			json_out_lit(o, ",");
		first = 0;
		json_out_bytes(o, scratch->text + start, end - start);
	}
	json_out_lit(o, "]");
}

/*
 * Writes projects, memberships, followers and tags, as add_links sets them,
 * from `s`, the links query (links_query). Returns a db status.
 */
static int text_links(struct task_text *t, db_stmt *s)
{
	static const char *const ref_types[] = { "user", "tag", "project" };
	struct link_text local[LINK_ROWS_LOCAL], *rows = local;
	size_t count = 0, capacity = LINK_ROWS_LOCAL;
	struct task_text scratch_text;
	struct json_out scratch;
	int rc = DB_ERROR;

	if (json_out_init(&scratch, 1024) != 0)
		return DB_ERROR;
	scratch_text.o = &scratch;
	scratch_text.bad_text = 0;
	if (s == NULL)
		goto done;
	for (;;) {
		struct link_text *row;
		int64_t kind;

		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		kind = db_column_int64(s, 0);
		if (kind < 0 || kind > 2) {
			rc = DB_ERROR;
			break;
		}
		if (count == capacity) {
			struct link_text *grown = rows == local ? malloc(2 * capacity * sizeof(*rows))
								: realloc(rows, 2 * capacity * sizeof(*rows));

			if (grown == NULL) {
				rc = DB_ERROR;
				break;
			}
			if (rows == local)
				memcpy(grown, local, count * sizeof(*rows));
			rows = grown;
			capacity *= 2;
		}
		row = &rows[count++];
		row->kind = kind;
		row->gid = db_column_int64(s, 1);
		row->ref_start = scratch.len;
		text_ref(&scratch_text, ref_types[kind], row->gid, db_column_text(s, 2));
		row->ref_end = scratch.len;
		row->membership_start = scratch.len;
		if (kind == 2) {
			/* As membership_from_row: the section only when the row has one. */
			json_out_lit(&scratch, "{\"project\":");
			text_ref(&scratch_text, "project", db_column_int64(s, 1), db_column_text(s, 2));
			if (!db_column_is_null(s, 3)) {
				json_out_lit(&scratch, ",\"section\":");
				text_ref(&scratch_text, "section", db_column_int64(s, 3), db_column_text(s, 4));
			}
			json_out_lit(&scratch, "}");
		}
		row->membership_end = scratch.len;
	}
	db_stmt_done(s);
	if (rc != DB_DONE)
		goto done;
	rc = DB_OK;
	if (scratch.failed) {
		rc = DB_ERROR;
		goto done;
	}
	if (scratch_text.bad_text) {
		rc = TEXT_FALLBACK;
		goto done;
	}
	qsort(rows, count, sizeof(*rows), link_text_compare);
	json_out_lit(t->o, ",\"projects\":");
	text_link_array(t->o, &scratch, rows, count, 2, 0);
	json_out_lit(t->o, ",\"memberships\":");
	text_link_array(t->o, &scratch, rows, count, 2, 1);
	json_out_lit(t->o, ",\"followers\":");
	text_link_array(t->o, &scratch, rows, count, 0, 0);
	json_out_lit(t->o, ",\"tags\":");
	text_link_array(t->o, &scratch, rows, count, 1, 0);

done:
	if (rows != local)
		free(rows);
	json_out_free(&scratch);
	return rc;
}

/*
 * The text path of build(ctx, task_gid, 1, ...): writes {"data": task} into
 * `o` and sets *found_r when the caller may see the task. Returns a db
 * status, or TEXT_FALLBACK when the tree path must answer instead.
 */
static int build_text(api_ctx *ctx, int64_t task_gid, struct json_out *o, int *found_r)
{
	struct task_text t = { o, 0 };
	struct text_span parent = { 0, 0 };
	struct parent_seen seen = { 0, 0 };
	int64_t parent_gid = 0;
	int rc, visible = 1, has_parent = 0;
	db_stmt *s, *links, *batch[2];

	*found_r = 0;
	s = db_query(ctx->db, task_row_default_sql);
	if (s == NULL)
		return DB_ERROR;
	task_bind_task_visible(ctx, s, 0);
	db_bind_int64(s, 9, task_gid);
	db_bind_int64(s, 10, ctx->who.workspace_gid);
	/*
	 * The links are read with the row, in one round trip to a database
	 * server, and left unused when the task turns out to be hidden.
	 */
	links = links_query(ctx, task_gid);
	if (links == NULL)
		return DB_ERROR;
	batch[0] = s;
	batch[1] = links;
	db_execute_batch(batch, 2);
	rc = db_step(s);
	if (rc == DB_ROW) {
		visible = db_column_int64(s, COL_EXTRA) != 0;
		has_parent = !db_column_is_null(s, COL_PARENT);
		parent_gid = has_parent ? db_column_int64(s, COL_PARENT) : 0;
		if (visible || has_parent)
			text_task_row(ctx, &t, s, &parent);
	}
	db_stmt_done(s);
	if (rc == DB_DONE)
		return DB_OK;
	if (rc != DB_ROW)
		return rc;
	if (!visible) {
		int exists = 0;

		/* A subtask may be visible through an ancestor. */
		visible = has_parent ? api_can_see_task(ctx, task_gid, &exists) : 0;
		if (visible != 1)
			return visible < 0 ? DB_ERROR : DB_OK;
		seen.gid = parent_gid;
		seen.visible = 1;
	}
	if (t.bad_text)
		return TEXT_FALLBACK;

	/* As parent_redact, which reads the parent gid from the representation's parent. */
	if (parent.end - parent.start > 4 && !api_is_full_access(ctx)) {
		rc = parent_visible(ctx, parent_gid, &seen);
		if (rc < 0)
			return DB_ERROR;
		if (rc == 0)
			text_parent_cut(o, &parent, parent_gid);
	}
	rc = text_links(&t, links);
	if (rc != DB_OK)
		return rc;
	json_out_lit(o, "}}");
	if (o->failed)
		return DB_ERROR;
	*found_r = 1;
	return DB_OK;
}

/* ---------- reads ---------- */

/* GET /tasks/{task_gid} */
static int task_get(api_ctx *ctx)
{
	json_t *task;
	int64_t gid;
	int rc;

	if (api_param_gid(ctx, "task_gid", &gid)) {
		return 0;
	}
	if (ctx->fields == NULL && !ctx->pretty) {
		struct json_out out;
		int found;

		if (json_out_init(&out, 4096) != 0)
			return api_fail_db(ctx, DB_ERROR);
		rc = build_text(ctx, gid, &out, &found);
		if (rc == DB_OK && found) {
			api_reply_json_out(ctx, 200, &out);
			return 0;
		}
		json_out_free(&out);
		if (rc == DB_OK)
			return api_not_found(ctx, "task", gid);
		if (rc != TEXT_FALLBACK)
			return api_fail_db(ctx, rc);
	}
	rc = build(ctx, gid, 1, &task);
	if (rc != DB_OK) {
		return api_fail_db(ctx, rc);
	}
	if (task == NULL) {
		return api_not_found(ctx, "task", gid);
	}
	return api_reply(ctx, 200, api_present(ctx, &api_task_type, task));
}

/* Filters every task list accepts. */
struct task_filter {
	int completed_since_set;
	int64_t completed_since; /* incomplete tasks, or completed at or after this time */
	int64_t modified_since;  /* 0: no filter */
};

/* SQL for struct task_filter, with its three parameters bound by bind_filter. */
#define TASK_FILTER_SQL " AND (? = 0 OR t.completed = 0 OR t.completed_at >= ?) AND t.modified_at >= ?"

/* Reads completed_since and modified_since. Returns -1 after replying 400. */
static int filter_parse(api_ctx *ctx, struct task_filter *filter)
{
	int rc;

	memset(filter, 0, sizeof(*filter));

	/* "now" is accepted as Asana does: only incomplete tasks then pass. */
	rc = api_query_time(ctx, "completed_since", &filter->completed_since);
	if (rc < 0) {
		return -1;
	}
	filter->completed_since_set = rc;

	rc = api_query_time(ctx, "modified_since", &filter->modified_since);
	if (rc < 0) {
		return -1;
	}
	return 0;
}

static int bind_filter(db_stmt *s, int index, const struct task_filter *filter)
{
	db_bind_int64(s, index, filter->completed_since_set);
	db_bind_int64(s, index + 1, filter->completed_since);
	db_bind_int64(s, index + 2, filter->modified_since);
	return index + 3;
}

/* One task of a page, kept until the statement is done so that links can be queried. */
struct list_item {
	int64_t gid;
	json_t *task;
};

/* The sort key of a list, which becomes the next page's offset. */
enum list_key {
	KEY_GID,              /* after = gid */
	KEY_POSITION_GID,     /* after = position, after2 = gid: sections and subtasks */
	KEY_POSITION_SECTION, /* after = position, after2 = section gid or 0: projects */
};

/*
 * Replies with the page of tasks that the executed statement `s` returns
 * (limit + 1 rows at most, columns in COL_ order, then the position and the
 * section for the positional keys), and marks it done.
 */
static int reply_page(api_ctx *ctx, db_stmt *s, struct api_page *page, enum list_key key)
{
	struct parent_seen seen = { 0, 0 };
	struct list_item *rows;
	json_t *items;
	unsigned links = 0;
	int fetched = 0, count, rc;
	int64_t last_position = 0, last_section = 0;

	rows = calloc((size_t)page->limit, sizeof(*rows));
	if (rows == NULL) {
		db_stmt_done(s);
		return api_fail_db(ctx, DB_ERROR);
	}
	for (;;) {
		rc = db_step(s);
		if (rc != DB_ROW) {
			break;
		}
		if (fetched < page->limit) {
			rows[fetched].gid = db_column_int64(s, COL_GID);
			rows[fetched].task = task_from_row(ctx, s);
			if (key != KEY_GID) {
				last_position = db_column_int64(s, COL_EXTRA);
			}
			if (key == KEY_POSITION_SECTION) {
				last_section = db_column_int64(s, COL_EXTRA + 1);
			}
		}
		fetched++;
	}
	db_stmt_done(s);
	count = api_page_rows(page, fetched);
	if (rc != DB_DONE) {
		goto fail;
	}

	/* Asana rejects an unpaged request whose result is too large with 400 rather than cutting it short. */
	if (!page->paged && page->has_next) {
		for (int i = 0; i < count; i++) {
			json_decref(rows[i].task);
		}
		free(rows);
		return api_error(ctx, 400, "The result has more than %d tasks. Send limit (1 to %d) and follow "
					   "next_page.offset to read it in pages.",
				 API_UNPAGED_MAX, API_PAGE_LIMIT_MAX);
	}

	/* Lists are compact unless opt_fields requests more, and only then are the linked lists queried. */
	if (ctx->fields != NULL) {
		links = wanted_links(ctx);
	}
	for (int first = 0; links != 0 && first < count; first += LINKS_PAGE_MAX) {
		json_t *tasks[LINKS_PAGE_MAX];
		int64_t gids[LINKS_PAGE_MAX];
		int n = count - first < LINKS_PAGE_MAX ? count - first : LINKS_PAGE_MAX;

		for (int i = 0; i < n; i++) {
			tasks[i] = rows[first + i].task;
			gids[i] = rows[first + i].gid;
		}
		rc = add_links_page(ctx, tasks, gids, n, links);
		if (rc != DB_OK) {
			goto fail;
		}
	}
	items = json_array();
	for (int i = 0; i < count; i++) {
		if (api_wants(ctx, "parent")) {
			rc = parent_redact(ctx, rows[i].task, &seen);
			if (rc != DB_OK) {
				json_decref(items);
				goto fail;
			}
		}
		json_array_append_new(items, api_present(ctx, &api_task_type, rows[i].task));
		rows[i].task = NULL;
	}
	if (count > 0) {
		page->next_after = key == KEY_GID ? rows[count - 1].gid : last_position;
		page->next_after2 = key == KEY_POSITION_GID ? rows[count - 1].gid : last_section;
	}
	free(rows);
	return api_reply_list(ctx, items, page);

fail:
	for (int i = 0; i < count; i++) {
		json_decref(rows[i].task);
	}
	free(rows);
	return api_fail_db(ctx, rc);
}

/*
 * Lists the tasks of a project the caller may see, in project order: by
 * section, then by position within the section (tasks without a section
 * first). The page key is the last task's section and position, so a task
 * deleted between two pages does not break the next one.
 * NOTE: the key contains no task gid, so a page boundary between two tasks
 * with equal positions in one section would skip the second. The midpoint
 * inserts of task_actions.c and sections.c keep positions distinct, and
 * task_project_lock keeps concurrent placements from sharing one.
 */
static int list_project(api_ctx *ctx, int64_t project_gid, const struct task_filter *filter)
{
	struct api_page page;
	db_stmt *s;
	int64_t section_position = -2; /* below every key: the first page */
	int exists = 0, visible, index, rc;

	visible = api_can_see_project(ctx, project_gid, &exists);
	if (visible < 0) {
		return api_fail_db(ctx, DB_ERROR);
	}
	if (!visible) {
		return api_not_found(ctx, "project", project_gid);
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	/* A later page starts after the last section and position; tasks without a section sort as section -1. */
	if (page.after2 != 0) {
		s = db_query(ctx->db, "SELECT position FROM sections WHERE gid = ? AND project_gid = ? AND workspace_gid = ?");
		if (s == NULL) {
			return api_fail_db(ctx, DB_ERROR);
		}
		db_bind_int64(s, 0, page.after2);
		db_bind_int64(s, 1, project_gid);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		rc = db_step(s);
		if (rc == DB_ROW) {
			section_position = db_column_int64(s, 0);
		}
		db_stmt_done(s);
		if (rc == DB_DONE) {
			return api_error(ctx, 400, "offset: the section this page ended in was deleted. Start again from "
						   "the first page, without offset.");
		}
		if (rc != DB_ROW) {
			return api_fail_db(ctx, rc);
		}
	} else if (page.after != 0) {
		section_position = -1;
	}

	s = db_query(ctx->db, "SELECT " TASK_COLUMNS ", tp.position, COALESCE(tp.section_gid, 0) FROM task_projects tp"
			      " JOIN tasks t ON t.gid = tp.task_gid" TASK_JOINS
			      " LEFT JOIN sections sc ON sc.gid = tp.section_gid"
			      " WHERE tp.project_gid = ? AND tp.workspace_gid = ?"
			      " AND (COALESCE(sc.position, -1), COALESCE(tp.section_gid, 0), tp.position) > (?, ?, ?)"
			      TASK_FILTER_SQL
			      " ORDER BY COALESCE(sc.position, -1), COALESCE(tp.section_gid, 0), tp.position, tp.task_gid"
			      " LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, project_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, section_position);
	db_bind_int64(s, 3, page.after2);
	db_bind_int64(s, 4, page.after);
	index = bind_filter(s, 5, filter);
	db_bind_int64(s, index, (int64_t)page.limit + 1);
	return reply_page(ctx, s, &page, KEY_POSITION_SECTION);
}

/* Lists the tasks of a section, in project order. */
static int list_section(api_ctx *ctx, int64_t section_gid, const struct task_filter *filter)
{
	struct api_page page;
	db_stmt *s;
	int64_t project_gid = 0;
	int exists = 0, visible = 0, rc, index;

	s = db_query(ctx->db, "SELECT project_gid FROM sections WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, section_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	if (rc == DB_ROW) {
		project_gid = db_column_int64(s, 0);
	}
	db_stmt_done(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		return api_fail_db(ctx, rc);
	}
	if (project_gid != 0) {
		visible = api_can_see_project(ctx, project_gid, &exists);
		if (visible < 0) {
			return api_fail_db(ctx, DB_ERROR);
		}
	}
	if (!visible) {
		return api_not_found(ctx, "section", section_gid);
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db, "SELECT " TASK_COLUMNS ", tp.position FROM task_projects tp"
			      " JOIN tasks t ON t.gid = tp.task_gid" TASK_JOINS
			      " WHERE tp.section_gid = ? AND tp.workspace_gid = ? AND (tp.position, tp.task_gid) > (?, ?)"
			      TASK_FILTER_SQL " ORDER BY tp.position, tp.task_gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, section_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	db_bind_int64(s, 3, page.after2);
	index = bind_filter(s, 4, filter);
	db_bind_int64(s, index, (int64_t)page.limit + 1);
	return reply_page(ctx, s, &page, KEY_POSITION_GID);
}

/*
 * Lists the tasks with a tag that the caller may see, by gid.
 * NOTE: a subtask visible only through its parent is left out here, because
 * the list query checks visibility one level deep; GET /tasks/{gid} shows it.
 */
static int list_tag(api_ctx *ctx, int64_t tag_gid, const struct task_filter *filter)
{
	struct api_page page;
	db_stmt *s;
	int rc, index;

	s = db_query(ctx->db, "SELECT 1 FROM tags WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, tag_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	rc = db_step(s);
	db_stmt_done(s);
	if (rc == DB_DONE) {
		return api_not_found(ctx, "tag", tag_gid);
	}
	if (rc != DB_ROW) {
		return api_fail_db(ctx, rc);
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db, "SELECT " TASK_COLUMNS " FROM task_tags tg JOIN tasks t ON t.gid = tg.task_gid" TASK_JOINS
			      " WHERE tg.tag_gid = ? AND tg.workspace_gid = ? AND tg.task_gid > ?"
			      " AND " TASK_VISIBLE_SQL("t") TASK_FILTER_SQL " ORDER BY tg.task_gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, tag_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	index = task_bind_task_visible(ctx, s, 3);
	index = bind_filter(s, index, filter);
	db_bind_int64(s, index, (int64_t)page.limit + 1);
	return reply_page(ctx, s, &page, KEY_GID);
}

/* Lists the tasks assigned to a user that the caller may see, by gid. The same NOTE as list_tag applies. */
static int list_assignee(api_ctx *ctx, int64_t assignee_gid, const struct task_filter *filter)
{
	struct api_page page;
	db_stmt *s;
	int index;

	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db, "SELECT " TASK_COLUMNS " FROM tasks t" TASK_JOINS
			      " WHERE t.assignee_gid = ? AND t.workspace_gid = ? AND t.gid > ?"
			      " AND " TASK_VISIBLE_SQL("t") TASK_FILTER_SQL " ORDER BY t.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, assignee_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	index = task_bind_task_visible(ctx, s, 3);
	index = bind_filter(s, index, filter);
	db_bind_int64(s, index, (int64_t)page.limit + 1);
	return reply_page(ctx, s, &page, KEY_GID);
}

/* GET /tasks?project= | section= | tag= | assignee=&workspace= */
static int tasks_list(api_ctx *ctx)
{
	struct task_filter filter;
	const char *assignee;
	int64_t project_gid, section_gid, tag_gid, workspace_gid, assignee_gid;
	int chosen;

	if (api_query_gid(ctx, "project", &project_gid) || api_query_gid(ctx, "section", &section_gid) ||
	    api_query_gid(ctx, "tag", &tag_gid) || api_query_gid(ctx, "workspace", &workspace_gid)) {
		return 0;
	}
	assignee = api_query(ctx, "assignee");
	if (filter_parse(ctx, &filter)) {
		return 0;
	}

	chosen = (project_gid != 0) + (section_gid != 0) + (tag_gid != 0) + (assignee != NULL || workspace_gid != 0);
	if (chosen != 1) {
		return api_error(ctx, 400, "Send exactly one of: project, section, tag, or assignee together with "
					   "workspace, to choose which tasks to list.");
	}
	if (project_gid != 0) {
		return list_project(ctx, project_gid, &filter);
	}
	if (section_gid != 0) {
		return list_section(ctx, section_gid, &filter);
	}
	if (tag_gid != 0) {
		return list_tag(ctx, tag_gid, &filter);
	}

	if (assignee == NULL) {
		return api_error(ctx, 400, "assignee: missing input. Listing by workspace needs an assignee too, for "
					   "example assignee=me.");
	}
	if (workspace_gid == 0) {
		return api_error(ctx, 400, "workspace: missing input. Listing by assignee needs the workspace gid too.");
	}
	if (workspace_gid != ctx->who.workspace_gid) {
		return api_not_found(ctx, "workspace", workspace_gid);
	}
	if (api_resolve_user(ctx, "assignee", assignee, &assignee_gid)) {
		return 0;
	}
	return list_assignee(ctx, assignee_gid, &filter);
}

/* GET /projects/{project_gid}/tasks */
static int project_tasks(api_ctx *ctx)
{
	struct task_filter filter;
	int64_t gid;

	if (api_param_gid(ctx, "project_gid", &gid) || filter_parse(ctx, &filter)) {
		return 0;
	}
	return list_project(ctx, gid, &filter);
}

/* GET /sections/{section_gid}/tasks */
static int section_tasks(api_ctx *ctx)
{
	struct task_filter filter;
	int64_t gid;

	if (api_param_gid(ctx, "section_gid", &gid) || filter_parse(ctx, &filter)) {
		return 0;
	}
	return list_section(ctx, gid, &filter);
}

/* GET /tags/{tag_gid}/tasks */
static int tag_tasks(api_ctx *ctx)
{
	struct task_filter filter;
	int64_t gid;

	if (api_param_gid(ctx, "tag_gid", &gid) || filter_parse(ctx, &filter)) {
		return 0;
	}
	return list_tag(ctx, gid, &filter);
}

/* GET /tasks/{task_gid}/subtasks: every subtask of a visible task, in their order; subtasks inherit visibility. */
static int subtasks_list(api_ctx *ctx)
{
	struct api_page page;
	db_stmt *s;
	int64_t gid;
	int exists = 0, visible;

	if (api_param_gid(ctx, "task_gid", &gid)) {
		return 0;
	}
	visible = api_can_see_task(ctx, gid, &exists);
	if (visible < 0) {
		return api_fail_db(ctx, DB_ERROR);
	}
	if (!visible) {
		return api_not_found(ctx, "task", gid);
	}
	if (api_page_parse(ctx, &page)) {
		return 0;
	}

	s = db_query(ctx->db, "SELECT " TASK_COLUMNS ", t.position FROM tasks t" TASK_JOINS
			      " WHERE t.parent_gid = ? AND t.workspace_gid = ? AND (t.position, t.gid) > (?, ?)"
			      " ORDER BY t.position, t.gid LIMIT ?");
	if (s == NULL) {
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, page.after);
	db_bind_int64(s, 3, page.after2);
	db_bind_int64(s, 4, (int64_t)page.limit + 1);
	return reply_page(ctx, s, &page, KEY_POSITION_GID);
}

/* ---------- routes ---------- */

const struct api_route api_tasks_routes[] = {
	{ "GET", "/tasks", tasks_list, API_LIST, &api_task_type },
	{ "POST", "/tasks", task_create, API_WRITE | API_BODY, &api_task_type },
	{ "GET", "/tasks/{task_gid}", task_get, 0, &api_task_type },
	{ "PUT", "/tasks/{task_gid}", task_update, API_WRITE | API_BODY, &api_task_type },
	{ "DELETE", "/tasks/{task_gid}", task_delete, API_WRITE, NULL },
	{ "GET", "/projects/{project_gid}/tasks", project_tasks, API_LIST, &api_task_type },
	{ "GET", "/sections/{section_gid}/tasks", section_tasks, API_LIST, &api_task_type },
	{ "GET", "/tags/{tag_gid}/tasks", tag_tasks, API_LIST, &api_task_type },
	{ "GET", "/tasks/{task_gid}/subtasks", subtasks_list, API_LIST, &api_task_type },
	{ "POST", "/tasks/{task_gid}/subtasks", subtask_create, API_WRITE | API_BODY, &api_task_type },
	{ "POST", "/tasks/{task_gid}/setParent", task_set_parent, API_WRITE | API_BODY, &api_task_type },
	{ "POST", "/tasks/{task_gid}/addProject", task_add_project, API_WRITE | API_BODY, NULL },
	{ "POST", "/tasks/{task_gid}/removeProject", task_remove_project, API_WRITE | API_BODY, NULL },
	{ "POST", "/tasks/{task_gid}/addTag", task_add_tag, API_WRITE | API_BODY, NULL },
	{ "POST", "/tasks/{task_gid}/removeTag", task_remove_tag, API_WRITE | API_BODY, NULL },
	{ "POST", "/tasks/{task_gid}/addFollowers", task_add_followers, API_WRITE | API_BODY, &api_task_type },
	{ "POST", "/tasks/{task_gid}/removeFollowers", task_remove_followers, API_WRITE | API_BODY, &api_task_type },
	{ NULL, NULL, NULL, 0, NULL },
};
