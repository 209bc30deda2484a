/*
 * Tests of the demo data generator (store/demo.c). The small organization
 * is generated into a temporary SQLite file and checked for its counts and
 * structure. Two files with the same seed must contain the same data, and a
 * database that is not empty is rejected. With KONTOR_TEST_PG_URI set, the
 * small organization is also generated on PostgreSQL, in a schema of its
 * own that is dropped afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/demo.h"
#include "util/timeutil.h"

#define SEED 20240501
#define DAY_US ((int64_t)86400 * 1000000)
#define PG_SCHEMA "kontor_demo_test"

struct fixture {
	char dir[64];
	char path[96];
	db *d;
	struct demo_result result;
	int64_t generated_at;
	int64_t cache_size; /* PRAGMA cache_size before generation */
};

static struct fixture fx;

/* ---------------------------------------------------------------- helpers */

/* Runs a query that returns one integer, binding `value` to each of its `nparams` placeholders. */
static int64_t query_int(db *d, const char *sql, int nparams, int64_t value)
{
	db_conn *c = db_acquire(d, 1000);
	db_stmt *s;
	int64_t n = -1;

	assert_non_null(c);
	s = db_query(c, sql);
	if (s == NULL)
		fail_msg("prepare failed: %s: %s", sql, db_conn_errmsg(c));
	for (int i = 0; i < nparams; i++)
		assert_int_equal(db_bind_int64(s, i, value), DB_OK);
	if (db_step(s) == DB_ROW)
		n = db_column_int64(s, 0);
	else
		fail_msg("no row: %s: %s", sql, db_conn_errmsg(c));
	db_stmt_done(s);
	db_release(d, c);
	return n;
}

static int64_t count_rows(db *d, const char *sql)
{
	return query_int(d, sql, 0, 0);
}

/* Concatenates the names and e-mail addresses of all users in gid order. */
static char *user_names(db *d)
{
	db_conn *c = db_acquire(d, 1000);
	db_stmt *s;
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);

	assert_non_null(c);
	assert_non_null(out);
	out[0] = '\0';
	s = db_query(c, "SELECT name, email FROM users ORDER BY gid");
	assert_non_null(s);
	while (db_step(s) == DB_ROW) {
		const char *name = db_column_text(s, 0);
		const char *email = db_column_text(s, 1);
		size_t need = strlen(name) + strlen(email) + 3;

		if (len + need >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		len += (size_t)snprintf(out + len, cap - len, "%s\t%s\n", name, email);
	}
	db_stmt_done(s);
	db_release(d, c);
	return out;
}

/* FNV-1a over the text of one column of a query, so that long lists compare cheaply. */
static uint64_t hash_column(db *d, const char *sql)
{
	db_conn *c = db_acquire(d, 1000);
	db_stmt *s;
	uint64_t h = 1469598103934665603ULL;

	assert_non_null(c);
	s = db_query(c, sql);
	assert_non_null(s);
	while (db_step(s) == DB_ROW) {
		const char *text = db_column_text(s, 0);

		for (const char *p = text ? text : ""; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
		h ^= '\n';
		h *= 1099511628211ULL;
	}
	db_stmt_done(s);
	db_release(d, c);
	return h;
}

static db *open_file(const char *path)
{
	char err[512];
	db *d = NULL;

	if (db_open(path, 2, &d, err, sizeof(err)) != DB_OK)
		fail_msg("db_open %s: %s", path, err);
	return d;
}

/*
 * Checks the shape every small organization must have, on any driver.
 * `generated_at` is a time taken just before generation.
 */
static void check_small(db *d, const struct demo_result *r, int64_t generated_at)
{
	int64_t old = generated_at - 120 * DAY_US;
	int64_t n;

	/* Counts reported and counts stored. */
	assert_in_range(r->users, 180, 220);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM users"), r->users);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM workspace_memberships"), r->users);
	assert_int_equal(r->teams, 12);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM teams"), 12);
	assert_int_equal(r->projects, 150);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM projects"), 150);
	assert_in_range(r->tasks, 19000, 21000);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks"), r->tasks);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks WHERE parent_gid IS NOT NULL"), r->subtasks);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM divisions"), 1);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tags"), 30);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM stories WHERE type = 'comment'"), r->comments);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM task_followers"), r->task_followers);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM task_tags"), r->task_tags);

	/* Organization, division and roles. */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM workspaces WHERE name = 'Exempel AB'"
				       " AND plan = 'enterprise_plus'"), 1);
	assert_string_equal(r->super_admin_email, "admin@exempel.se");
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM workspace_memberships m JOIN users u ON u.gid = m.user_gid"
				       " WHERE m.role = 'super_admin' AND u.email = 'admin@exempel.se'"), 1);
	assert_int_equal(query_int(d, "SELECT COUNT(*) FROM users WHERE gid = ? AND email = 'admin@exempel.se'", 1,
				   r->super_admin_gid), 1);
	assert_in_range(count_rows(d, "SELECT COUNT(*) FROM workspace_memberships WHERE role = 'admin'"), 2, 10);
	assert_in_range(count_rows(d, "SELECT COUNT(*) FROM workspace_memberships WHERE role = 'guest'"), 2, 20);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM users u JOIN workspace_memberships m ON m.user_gid = u.gid"
				       " WHERE m.role = 'guest' AND u.email LIKE '%@exempel.se'"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM divisions WHERE name = 'Exempel Nord' AND plan = 'enterprise'"), 1);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM teams t JOIN divisions v ON v.gid = t.division_gid"), 2);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM division_admins a JOIN users u ON u.gid = a.user_gid"
				       " JOIN workspace_memberships m ON m.user_gid = u.gid"
				       " WHERE u.email = 'nord.admin@exempel.se' AND m.role = 'member'"), 1);

	/* Users: ASCII lowercase addresses, unique, and names with Swedish letters. */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM users WHERE email <> email_lower OR email <> LOWER(email)"
				       " OR kind <> 'person'"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(DISTINCT email_lower) FROM users"), r->users);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM users WHERE name LIKE '%ö%' OR name LIKE '%å%'"
				  " OR name LIKE '%ä%' OR name LIKE '%Å%' OR name LIKE '%Ö%'") > 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM users WHERE email LIKE '%ö%' OR email LIKE '%å%'"
				       " OR email LIKE '%ä%' OR email LIKE '%é%'"), 0);

	/* Teams all have members; projects have 2 to 5 sections and an owner who follows them. */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM teams t WHERE NOT EXISTS"
				       " (SELECT 1 FROM team_memberships m WHERE m.team_gid = t.gid)"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM projects p WHERE"
				       " (SELECT COUNT(*) FROM sections s WHERE s.project_gid = p.gid) NOT BETWEEN 2 AND 5"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM project_followers f"
				       " WHERE f.project_gid = p.gid AND f.user_gid = p.owner_gid)"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM project_memberships m"
				       " WHERE m.project_gid = p.gid AND m.user_gid = p.owner_gid AND m.access_level = 'admin')"), 0);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM projects WHERE privacy_setting = 'private'") > 0);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM projects WHERE privacy_setting = 'private_to_team'") > 0);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM projects WHERE privacy_setting = 'public_to_workspace'") > 75);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM projects p WHERE privacy_setting = 'private' AND"
				       " (SELECT COUNT(*) FROM project_memberships m WHERE m.project_gid = p.gid) < 2"), 0);

	/* Archived and old projects, with tasks and stories as old as the project. */
	n = count_rows(d, "SELECT COUNT(*) FROM projects WHERE archived = 1");
	assert_int_equal(n, r->archived_projects);
	assert_in_range(n, 5, 30);
	n = query_int(d, "SELECT COUNT(*) FROM projects WHERE modified_at < ?", 1, old);
	assert_int_equal(n, r->untouched_projects);
	assert_in_range(n, 8, 40);
	assert_int_equal(query_int(d, "SELECT COUNT(*) FROM tasks t JOIN task_projects tp"
				      " ON tp.task_gid = COALESCE(t.parent_gid, t.gid) JOIN projects p ON p.gid = tp.project_gid"
				      " WHERE p.modified_at < ? AND (t.modified_at >= ? OR t.created_at >= ?)", 3, old), 0);
	assert_int_equal(query_int(d, "SELECT COUNT(*) FROM stories s JOIN tasks t ON t.gid = s.task_gid JOIN task_projects tp"
				      " ON tp.task_gid = COALESCE(t.parent_gid, t.gid) JOIN projects p ON p.gid = tp.project_gid"
				      " WHERE p.modified_at < ? AND s.created_at >= ?", 2, old), 0);
	assert_int_equal(query_int(d, "SELECT COUNT(*) FROM projects WHERE created_at < ?", 1,
				   generated_at - 740 * DAY_US), 0);
	assert_int_equal(query_int(d, "SELECT COUNT(*) FROM tasks WHERE modified_at > ? OR created_at > modified_at", 1,
				   time_now_us()), 0);

	/* Tasks: every top-level task in one project and a section, positions 1 << 20 apart. */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks WHERE parent_gid IS NULL"), r->task_projects);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM task_projects"), r->task_projects);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM task_projects WHERE section_gid IS NULL"
				       " OR position % 1048576 <> 0"), 0);
	assert_in_range(r->subtasks, r->tasks / 10, r->tasks / 4);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks t WHERE (SELECT COUNT(*) FROM task_followers f"
				       " WHERE f.task_gid = t.gid) NOT BETWEEN 1 AND 3"), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks t WHERE (SELECT COUNT(*) FROM task_tags g"
				       " WHERE g.task_gid = t.gid) > 2"), 0);
	assert_in_range(count_rows(d, "SELECT COUNT(*) FROM tasks WHERE assignee_gid IS NOT NULL"),
			r->tasks * 3 / 4, r->tasks * 19 / 20);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM tasks WHERE completed = 1 AND completed_at IS NULL"), 0);
	assert_true(r->completed_tasks > r->tasks / 5);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM tasks WHERE due_on IS NOT NULL") > r->tasks / 3);

	/* Stories: about one comment per two tasks, plus system stories. */
	assert_in_range(r->comments, r->tasks * 2 / 5, r->tasks * 3 / 5);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM stories WHERE type = 'comment'"
				       " AND resource_subtype <> 'comment_added'"), 0);
	assert_true(count_rows(d, "SELECT COUNT(*) FROM stories WHERE type = 'system'") > 0);
}

/* ---------------------------------------------------------------- fixture */

/* Generates the small organization once; most tests only read it. */
static int group_setup(void **state)
{
	char err[512];
	int status;

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/kontor-demo-test.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/a.db", fx.dir);
	fx.d = open_file(fx.path);
	fx.cache_size = count_rows(fx.d, "PRAGMA cache_size");
	fx.generated_at = time_now_us();
	status = store_demo_create(fx.d, "small", SEED, &fx.result, err, sizeof(err));
	if (status != DB_OK) {
		fprintf(stderr, "store_demo_create: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[128];

	(void)state;
	db_close(&fx.d);
	for (int i = 0; i < 3; i++) {
		static const char *const files[] = { "a.db", "b.db", "c.db" };
		static const char *const suffixes[] = { "", "-wal", "-shm" };

		for (int j = 0; j < 3; j++) {
			snprintf(path, sizeof(path), "%s/%s%s", fx.dir, files[i], suffixes[j]);
			unlink(path);
		}
	}
	rmdir(fx.dir);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void small_counts_and_shape(void **state)
{
	(void)state;
	check_small(fx.d, &fx.result, fx.generated_at);
}

static void small_nonempty_database_rejected(void **state)
{
	struct demo_result r;
	char err[512];

	(void)state;
	assert_int_equal(store_demo_create(fx.d, "small", SEED, &r, err, sizeof(err)), DB_CONSTRAINT);
	assert_non_null(strstr(err, "database is not empty"));
	assert_int_equal(count_rows(fx.d, "SELECT COUNT(*) FROM workspaces"), 1);
}

static void unknown_size_rejected(void **state)
{
	struct demo_result r;
	char err[512];

	(void)state;
	assert_int_equal(store_demo_create(fx.d, "medium", SEED, &r, err, sizeof(err)), DB_ERROR);
	assert_non_null(strstr(err, "medium"));
}

static void same_seed_same_data(void **state)
{
	char path[128], err[512];
	struct demo_result r;
	char *names_a, *names_b;
	db *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/b.db", fx.dir);
	d = open_file(path);
	assert_int_equal(store_demo_create(d, "small", SEED, &r, err, sizeof(err)), DB_OK);

	names_a = user_names(fx.d);
	names_b = user_names(d);
	assert_string_equal(names_a, names_b);
	assert_int_equal(hash_column(fx.d, "SELECT name FROM projects ORDER BY gid"),
			 hash_column(d, "SELECT name FROM projects ORDER BY gid"));
	assert_int_equal(hash_column(fx.d, "SELECT name FROM tasks ORDER BY gid"),
			 hash_column(d, "SELECT name FROM tasks ORDER BY gid"));
	assert_int_equal(hash_column(fx.d, "SELECT text FROM stories ORDER BY gid"),
			 hash_column(d, "SELECT text FROM stories ORDER BY gid"));

	/* Every count matches; only gids differ. */
	assert_int_equal(r.users, fx.result.users);
	assert_int_equal(r.team_memberships, fx.result.team_memberships);
	assert_int_equal(r.project_memberships, fx.result.project_memberships);
	assert_int_equal(r.archived_projects, fx.result.archived_projects);
	assert_int_equal(r.untouched_projects, fx.result.untouched_projects);
	assert_int_equal(r.sections, fx.result.sections);
	assert_int_equal(r.tasks, fx.result.tasks);
	assert_int_equal(r.subtasks, fx.result.subtasks);
	assert_int_equal(r.completed_tasks, fx.result.completed_tasks);
	assert_int_equal(r.task_followers, fx.result.task_followers);
	assert_int_equal(r.task_tags, fx.result.task_tags);
	assert_int_equal(r.comments, fx.result.comments);
	assert_int_equal(r.system_stories, fx.result.system_stories);

	free(names_a);
	free(names_b);
	db_close(&d);
}

static void other_seed_other_names(void **state)
{
	char path[128], err[512];
	struct demo_result r;
	char *names_a, *names_c;
	db *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.db", fx.dir);
	d = open_file(path);
	assert_int_equal(store_demo_create(d, "small", SEED + 1, &r, err, sizeof(err)), DB_OK);
	names_a = user_names(fx.d);
	names_c = user_names(d);
	assert_string_not_equal(names_a, names_c);
	free(names_a);
	free(names_c);
	db_close(&d);
}

/* Generation relaxes fsync and enlarges the page cache; both must be back to normal after. */
static void sqlite_settings_restored(void **state)
{
	db_conn *c = db_acquire(fx.d, 1000);
	db_stmt *s;

	(void)state;
	assert_non_null(c);
	s = db_query(c, "PRAGMA synchronous");
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2); /* FULL */
	db_stmt_done(s);
	s = db_query(c, "PRAGMA cache_size");
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), fx.cache_size);
	db_stmt_done(s);
	db_release(fx.d, c);
}

/*
 * The small organization on PostgreSQL, in a fresh schema so that data of
 * other tests in the same database cannot make it "not empty".
 */
static void small_on_postgresql(void **state)
{
	const char *base = getenv("KONTOR_TEST_PG_URI");
	char uri[1024], err[512];
	struct demo_result r;
	int64_t generated_at;
	db *admin = NULL, *d = NULL;
	db_conn *c;

	(void)state;
	if (base == NULL || base[0] == '\0')
		skip();

	if (db_open(base, 1, &admin, err, sizeof(err)) != DB_OK)
		fail_msg("db_open %s: %s", base, err);
	c = db_acquire(admin, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec(c, "DROP SCHEMA IF EXISTS " PG_SCHEMA " CASCADE; CREATE SCHEMA " PG_SCHEMA), DB_OK);
	db_release(admin, c);

	snprintf(uri, sizeof(uri), "%s%coptions=-csearch_path%%3D" PG_SCHEMA, base, strchr(base, '?') ? '&' : '?');
	if (db_open(uri, 2, &d, err, sizeof(err)) != DB_OK)
		fail_msg("db_open in schema " PG_SCHEMA ": %s", err);
	generated_at = time_now_us();
	if (store_demo_create(d, "small", SEED, &r, err, sizeof(err)) != DB_OK)
		fail_msg("store_demo_create on PostgreSQL: %s", err);
	check_small(d, &r, generated_at);
	assert_int_equal(r.tasks, fx.result.tasks);
	db_close(&d);

	c = db_acquire(admin, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec(c, "DROP SCHEMA " PG_SCHEMA " CASCADE"), DB_OK);
	db_release(admin, c);
	db_close(&admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_counts_and_shape),
		cmocka_unit_test(small_nonempty_database_rejected),
		cmocka_unit_test(sqlite_settings_restored),
		cmocka_unit_test(unknown_size_rejected),
		cmocka_unit_test(same_seed_same_data),
		cmocka_unit_test(other_seed_other_names),
		cmocka_unit_test(small_on_postgresql),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
