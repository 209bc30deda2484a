/*
 * The storage contract suite (store/db.h): one list of tests that every
 * driver must pass. It always runs on SQLite, in a temporary file. With
 * KONTOR_TEST_PG_URI set it runs again on PostgreSQL, in a database created
 * for this run (kontor_unit_<pid>_<time>) and dropped at the end, so the
 * migrations start from nothing and no other test's rows are in the way.
 * The database is created through the driver table rather than db_open(),
 * because db_open() would first run the migrations in the server's own
 * database. The role in the URI therefore needs CREATEDB.
 *
 * The tests work on two scratch tables, unit_items and unit_children,
 * created beside the schema and emptied before each test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/timeutil.h"

#define POOL_SIZE 4
#define ACQUIRE_MS 2000

/* The suite's log level: warnings and errors only, since migration progress lines bury the output. */
#define TEST_LOG_LEVEL LOG_WARN
/* Above every level, so nothing is written: for steps whose errors are expected. */
#define LOG_SILENT ((enum log_level)(LOG_ERROR + 1))

struct store_fixture {
	int is_pg;
	char location[1024];
	char dir[64];         /* SQLite: the temporary folder */
	char server_uri[1024]; /* PostgreSQL: KONTOR_TEST_PG_URI */
	char dbname[64];      /* PostgreSQL: the database of this run */
	db *d;
};

static const char create_tables_sqlite[] =
	"CREATE TABLE unit_items (id BIGINT PRIMARY KEY, name TEXT UNIQUE, num BIGINT,"
	" real_value DOUBLE PRECISION, data BLOB);"
	"CREATE TABLE unit_children (id BIGINT PRIMARY KEY,"
	" item_id BIGINT NOT NULL REFERENCES unit_items (id))";
static const char create_tables_pgsql[] =
	"CREATE TABLE unit_items (id BIGINT PRIMARY KEY, name TEXT UNIQUE, num BIGINT,"
	" real_value DOUBLE PRECISION, data BYTEA);"
	"CREATE TABLE unit_children (id BIGINT PRIMARY KEY,"
	" item_id BIGINT NOT NULL REFERENCES unit_items (id))";

/* Statements used by several tests. Cached by pointer, so each is one literal. */
static const char insert_item_sql[] = "INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?)";
static const char count_items_sql[] = "SELECT COUNT(*) FROM unit_items";

/* ---------------------------------------------------------------- helpers */

static int64_t elapsed_ms(int64_t since_us)
{
	return (time_mono_us() - since_us) / 1000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static db_conn *acquire(db *d)
{
	db_conn *c = db_acquire(d, ACQUIRE_MS);

	if (c == NULL)
		fail_msg("db_acquire returned NULL within %d ms", ACQUIRE_MS);
	return c;
}

static db_stmt *query(db_conn *c, const char *sql)
{
	db_stmt *s = db_query(c, sql);

	if (s == NULL)
		fail_msg("db_query failed: %s: %s", sql, db_conn_errmsg(c));
	return s;
}

/* Runs a query whose first row's first column is an integer. */
static int64_t query_int64(db_conn *c, const char *sql)
{
	db_stmt *s = query(c, sql);
	int64_t value;
	int status = db_step(s);

	if (status != DB_ROW)
		fail_msg("expected a row from %s, got status %d: %s", sql, status, db_conn_errmsg(c));
	value = db_column_int64(s, 0);
	db_stmt_done(s);
	return value;
}

static int64_t count_items(db_conn *c)
{
	return query_int64(c, count_items_sql);
}

/* Inserts one item and returns the status, so that callers can expect a failure. */
static int insert_item(db_conn *c, int64_t id, const char *name, int64_t num)
{
	db_stmt *s = query(c, insert_item_sql);

	assert_int_equal(db_bind_int64(s, 0, id), DB_OK);
	assert_int_equal(db_bind_text(s, 1, name), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, num), DB_OK);
	return db_run(s);
}

static void insert_item_ok(db_conn *c, int64_t id, const char *name, int64_t num)
{
	int status = insert_item(c, id, name, num);

	if (status != DB_OK)
		fail_msg("insert of item %" PRId64 " failed with status %d: %s", id, status, db_conn_errmsg(c));
}

/* Returns the num of item `id`, or -999 when the row is missing. */
static int64_t item_num(db_conn *c, int64_t id)
{
	db_stmt *s = query(c, "SELECT num FROM unit_items WHERE id = ?");
	int64_t num = -999;

	assert_int_equal(db_bind_int64(s, 0, id), DB_OK);
	if (db_step(s) == DB_ROW)
		num = db_column_int64(s, 0);
	db_stmt_done(s);
	return num;
}

/* ---------------------------------------------------------------- fixtures */

/*
 * Writes `uri` with its database name replaced by `name`: the path after the
 * host, up to any query string. A dbname given in the query string is not
 * handled.
 */
static int uri_with_database(const char *uri, const char *name, char *out, size_t outlen)
{
	const char *authority = strstr(uri, "://");
	const char *path, *rest;
	int n;

	if (authority == NULL)
		return -1;
	authority += 3;
	path = authority + strcspn(authority, "/?#");
	rest = path + strcspn(path, "?#");
	n = snprintf(out, outlen, "%.*s/%s%s", (int)(path - uri), uri, name, rest);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Runs one statement on the server database named in KONTOR_TEST_PG_URI, outside any pool. */
static int server_exec(const struct store_fixture *fx, const char *sql)
{
	const struct db_driver *drv = &db_pgsql_driver;
	void *native = NULL;
	char err[512];
	int status;

	status = drv->connect(fx->server_uri, &native, err, sizeof(err));
	if (status != DB_OK) {
		fprintf(stderr, "test_store: cannot connect to %s: %s\n", fx->server_uri, err);
		return status;
	}
	status = drv->exec(native, sql);
	if (status != DB_OK)
		fprintf(stderr, "test_store: %s: %s\n", sql, drv->errmsg(native));
	drv->disconnect(native);
	return status;
}

static int create_tables(struct store_fixture *fx)
{
	db_conn *c = db_acquire(fx->d, ACQUIRE_MS);
	int status;

	if (c == NULL)
		return -1;
	status = db_exec(c, fx->is_pg ? create_tables_pgsql : create_tables_sqlite);
	if (status != DB_OK)
		fprintf(stderr, "test_store: creating the scratch tables failed: %s\n", db_conn_errmsg(c));
	db_release(fx->d, c);
	return status == DB_OK ? 0 : -1;
}

static int open_fixture(struct store_fixture *fx)
{
	char err[512];

	if (db_open(fx->location, POOL_SIZE, &fx->d, err, sizeof(err)) != DB_OK) {
		fprintf(stderr, "test_store: db_open %s failed: %s\n", fx->location, err);
		return -1;
	}
	return create_tables(fx);
}

static int sqlite_setup(void **state)
{
	struct store_fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kontor-store-test.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		fx->dir[0] = '\0';
		return -1;
	}
	snprintf(fx->location, sizeof(fx->location), "%s/store.db", fx->dir);
	return open_fixture(fx);
}

static int pg_setup(void **state)
{
	struct store_fixture *fx = calloc(1, sizeof(*fx));
	char sql[128];

	if (fx == NULL)
		return -1;
	*state = fx;
	fx->is_pg = 1;
	snprintf(fx->server_uri, sizeof(fx->server_uri), "%s", getenv("KONTOR_TEST_PG_URI"));
	snprintf(fx->dbname, sizeof(fx->dbname), "kontor_unit_%ld_%" PRId64, (long)getpid(),
		 time_now_us() % INT64_C(1000000000000));
	if (uri_with_database(fx->server_uri, fx->dbname, fx->location, sizeof(fx->location)) != 0) {
		fprintf(stderr, "test_store: cannot derive a database URI from %s\n", fx->server_uri);
		fx->dbname[0] = '\0';
		return -1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->dbname);
	if (server_exec(fx, sql) != DB_OK) {
		fprintf(stderr, "test_store: the role in KONTOR_TEST_PG_URI needs CREATEDB\n");
		fx->dbname[0] = '\0';
		return -1;
	}
	return open_fixture(fx);
}

static int fixture_teardown(void **state)
{
	struct store_fixture *fx = *state;
	char path[sizeof(fx->location) + 16], sql[128];

	if (fx == NULL)
		return 0;
	db_close(&fx->d);
	if (fx->is_pg && fx->dbname[0]) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->dbname);
		server_exec(fx, sql);
	}
	if (!fx->is_pg && fx->dir[0]) {
		const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", fx->location, suffixes[i]);
			unlink(path);
		}
		rmdir(fx->dir);
	}
	free(fx);
	return 0;
}

/* Empties the scratch tables before each test. */
static int clear_tables(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = db_acquire(fx->d, ACQUIRE_MS);
	int status;

	if (c == NULL)
		return -1;
	status = db_exec(c, "DELETE FROM unit_children; DELETE FROM unit_items");
	db_release(fx->d, c);
	return status == DB_OK ? 0 : -1;
}

/* ---------------------------------------------------------------- opening and migrations */

static void migrations_applied_once(void **state)
{
	struct store_fixture *fx = *state;
	const int last_version = db_migrations[db_migration_count - 1].version;
	db *again = NULL;
	db_conn *c;
	int64_t applied_sum;
	char err[512] = "";

	c = acquire(fx->d);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM schema_migrations"), db_migration_count);
	assert_int_equal(query_int64(c, "SELECT MAX(version) FROM schema_migrations"), last_version);
	applied_sum = query_int64(c, "SELECT SUM(applied_at) FROM schema_migrations");
	db_release(fx->d, c);

	/* A second open of a migrated database applies nothing and records nothing. */
	if (db_open(fx->location, 1, &again, err, sizeof(err)) != DB_OK)
		fail_msg("second db_open failed: %s", err);
	c = acquire(again);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM schema_migrations"), db_migration_count);
	assert_int_equal(query_int64(c, "SELECT SUM(applied_at) FROM schema_migrations"), applied_sum);
	db_release(again, c);
	db_close(&again);
	assert_null(again);

	/* db_migrate on a live connection is a no-op as well. */
	c = acquire(fx->d);
	assert_int_equal(db_migrate(c, err, sizeof(err)), DB_OK);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM schema_migrations"), db_migration_count);
	assert_false(db_in_transaction(c));
	db_release(fx->d, c);
}

/*
 * SQLite: migration 20 clusters a task's links on their primary key. The
 * test turns task_followers back into an ordinary table holding rows,
 * forgets the migration and opens the database again: the rows, the
 * secondary index and the foreign keys must survive the rebuild.
 */
static void links_rebuilt_without_rowid(void **state)
{
	struct store_fixture *fx = *state;
	db *again = NULL;
	db_conn *c;
	char err[512] = "";
	int status;

	if (fx->is_pg)
		skip();
	c = acquire(fx->d);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
					" ('task_followers', 'task_tags', 'task_projects') AND sql LIKE '%WITHOUT ROWID'"),
			 3);
	assert_int_equal(db_exec(c, "PRAGMA foreign_keys=OFF"), DB_OK);
	status = db_exec(c, "BEGIN;"
				    "CREATE TABLE old_followers (workspace_gid BIGINT NOT NULL,"
				    " task_gid BIGINT NOT NULL REFERENCES tasks(gid),"
				    " user_gid BIGINT NOT NULL REFERENCES users(gid), PRIMARY KEY (task_gid, user_gid));"
				    "DROP TABLE task_followers;"
				    "ALTER TABLE old_followers RENAME TO task_followers;"
				    "CREATE INDEX task_followers_user ON task_followers(user_gid, task_gid);"
				    "INSERT INTO workspaces (gid, name, plan, created_at) VALUES (7001, 'W', 'enterprise', 1);"
				    "INSERT INTO users (gid, workspace_gid, name, email, email_lower, created_at, modified_at)"
				    " VALUES (7002, 7001, 'U', 'u@example.com', 'u@example.com', 1, 1);"
				    "INSERT INTO tasks (gid, workspace_gid, name, created_at, modified_at)"
				    " VALUES (7003, 7001, 'T', 1, 1);"
				    "INSERT INTO task_followers (workspace_gid, task_gid, user_gid) VALUES (7001, 7003, 7002);"
				    "DELETE FROM schema_migrations WHERE version = 20;"
				    "COMMIT");
	if (status != DB_OK)
		fail_msg("turning task_followers back failed: %s", db_conn_errmsg(c));
	assert_int_equal(db_exec(c, "PRAGMA foreign_keys=ON"), DB_OK);
	db_release(fx->d, c);

	if (db_open(fx->location, 1, &again, err, sizeof(err)) != DB_OK)
		fail_msg("db_open after forgetting migration 20 failed: %s", err);
	c = acquire(again);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'task_followers'"
					" AND sql LIKE '%WITHOUT ROWID'"),
			 1);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM task_followers WHERE task_gid = 7003 AND user_gid = 7002"
					" AND workspace_gid = 7001"),
			 1);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'task_followers_user'"), 1);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM schema_migrations WHERE version = 20"), 1);
	assert_int_equal(db_exec(c, "DELETE FROM task_followers; DELETE FROM tasks WHERE gid = 7003;"
				    "DELETE FROM users WHERE gid = 7002; DELETE FROM workspaces WHERE gid = 7001"),
			 DB_OK);
	db_release(again, c);
	db_close(&again);
}

static void open_unreachable_fails(void **state)
{
	struct store_fixture *fx = *state;
	/* Port 1 on loopback: nothing listens there, so the connection is refused at once. */
	const char *location = fx->is_pg ? "postgresql://kontor@127.0.0.1:1/kontor?connect_timeout=2"
					 : "/nonexistent-kontor-dir/store.db";
	db *d = (db *)1;
	char err[512] = "";
	int status;

	log_set_level(LOG_ERROR);
	status = db_open(location, 2, &d, err, sizeof(err));
	log_set_level(TEST_LOG_LEVEL);
	assert_int_equal(status, DB_UNAVAILABLE);
	assert_null(d);
	assert_true(err[0] != '\0');
}

static void driver_matches_location(void **state)
{
	struct store_fixture *fx = *state;

	assert_ptr_equal(db_get_driver(fx->d), fx->is_pg ? &db_pgsql_driver : &db_sqlite_driver);
	assert_string_equal(db_get_location(fx->d), fx->location);
	assert_ptr_equal(db_driver_for("postgresql://u@127.0.0.1/x"), &db_pgsql_driver);
	assert_ptr_equal(db_driver_for("postgres://u@127.0.0.1/x"), &db_pgsql_driver);
	assert_ptr_equal(db_driver_for("/var/lib/kontor/kontor.db"), &db_sqlite_driver);
	assert_ptr_equal(db_driver_for("kontor.db"), &db_sqlite_driver);
	assert_ptr_equal(db_driver_for("postgresql:/no-slashes"), &db_sqlite_driver);
}

/* ---------------------------------------------------------------- statements */

/* The same literal returns the same cached statement, reset for its next use. */
static void statement_cache_reuses(void **state)
{
	struct store_fixture *fx = *state;
	static const char select_sql[] = "SELECT id FROM unit_items ORDER BY id";
	char same_text[sizeof(select_sql)];
	db_conn *c = acquire(fx->d);
	db_stmt *first, *second, *other;

	insert_item_ok(c, 1, "one", 10);
	insert_item_ok(c, 2, "two", 20);

	first = query(c, select_sql);
	assert_int_equal(db_step(first), DB_ROW);
	assert_int_equal(db_column_int64(first, 0), 1);
	db_stmt_done(first);

	second = query(c, select_sql);
	assert_ptr_equal(first, second);
	/* Reset: the walk starts again from the first row. */
	assert_int_equal(db_step(second), DB_ROW);
	assert_int_equal(db_column_int64(second, 0), 1);
	assert_int_equal(db_step(second), DB_ROW);
	assert_int_equal(db_column_int64(second, 0), 2);
	assert_int_equal(db_step(second), DB_DONE);
	db_stmt_done(second);

	/* The same text at another address also works, whether or not the cache shares the statement. */
	memcpy(same_text, select_sql, sizeof(select_sql));
	other = query(c, same_text);
	assert_int_equal(db_step(other), DB_ROW);
	assert_int_equal(db_column_int64(other, 0), 1);
	db_stmt_done(other);

	db_release(fx->d, c);
}

/* db.h: db_query returns a statement "with its bindings cleared", so an unbound parameter is NULL. */
static void statement_bindings_cleared(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;
	int status;

	insert_item_ok(c, 1, "first", 7);

	s = query(c, insert_item_sql);
	assert_int_equal(db_bind_int64(s, 0, 2), DB_OK);
	status = db_run(s);
	if (status != DB_OK)
		fail_msg("insert with parameters 1 and 2 unbound failed with status %d (%s):"
			 " the values of the previous use were probably still bound",
			 status, db_conn_errmsg(c));

	s = query(c, "SELECT name, num FROM unit_items WHERE id = 2");
	assert_int_equal(db_step(s), DB_ROW);
	assert_true(db_column_is_null(s, 0));
	assert_true(db_column_is_null(s, 1));
	db_stmt_done(s);
	db_release(fx->d, c);
}

static void int64_round_trip(void **state)
{
	struct store_fixture *fx = *state;
	const int64_t values[] = {
		INT64_MIN, INT64_MIN + 1, -4294967296LL, -2147483649LL, -1, 0, 1,
		2147483648LL, 4294967296LL, 9007199254740993LL, INT64_MAX - 1, INT64_MAX,
	};
	const size_t n = sizeof(values) / sizeof(values[0]);
	db_conn *c = acquire(fx->d);
	db_stmt *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = query(c, "INSERT INTO unit_items (id, num) VALUES (?, ?)");
		assert_int_equal(db_bind_int64(s, 0, (int64_t)i + 1), DB_OK);
		assert_int_equal(db_bind_int64(s, 1, values[i]), DB_OK);
		assert_int_equal(db_run(s), DB_OK);
	}

	s = query(c, "SELECT id, num FROM unit_items ORDER BY num");
	for (i = 0; i < n; i++) {
		assert_int_equal(db_step(s), DB_ROW);
		assert_int_equal(db_column_int64(s, 0), (int64_t)i + 1);
		if (db_column_int64(s, 1) != values[i])
			fail_msg("row %zu: read %" PRId64 ", wrote %" PRId64, i, db_column_int64(s, 1), values[i]);
	}
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);

	/* Extremes also work as bound comparison values, and as a primary key. */
	s = query(c, "SELECT COUNT(*) FROM unit_items WHERE num = ? OR num = ?");
	assert_int_equal(db_bind_int64(s, 0, INT64_MIN), DB_OK);
	assert_int_equal(db_bind_int64(s, 1, INT64_MAX), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	db_stmt_done(s);

	insert_item_ok(c, INT64_MAX, "max", 1);
	insert_item_ok(c, INT64_MIN, "min", 2);
	assert_int_equal(item_num(c, INT64_MAX), 1);
	assert_int_equal(item_num(c, INT64_MIN), 2);
	db_release(fx->d, c);
}

static void double_round_trip(void **state)
{
	struct store_fixture *fx = *state;
	const double values[] = { 0.0, 0.1, -2.5e-300, 1e300, 3.141592653589793, -123456789.125, 4503599627370497.0 };
	const size_t n = sizeof(values) / sizeof(values[0]);
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	for (size_t i = 0; i < n; i++) {
		s = query(c, "INSERT INTO unit_items (id, real_value) VALUES (?, ?)");
		assert_int_equal(db_bind_int64(s, 0, (int64_t)i + 1), DB_OK);
		assert_int_equal(db_bind_double(s, 1, values[i]), DB_OK);
		assert_int_equal(db_run(s), DB_OK);
	}
	s = query(c, "SELECT real_value FROM unit_items ORDER BY id");
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(db_step(s), DB_ROW);
		if (db_column_double(s, 0) != values[i])
			fail_msg("row %zu: read %.17g, wrote %.17g", i, db_column_double(s, 0), values[i]);
	}
	db_stmt_done(s);
	db_release(fx->d, c);
}

static void text_round_trip(void **state)
{
	struct store_fixture *fx = *state;
	enum { LONG_TEXT = 100000 };
	/* Static, so that a failed assertion leaks nothing. */
	static char long_text[LONG_TEXT + 1];
	const char *values[] = {
		"plain",
		"O'Reilly said \"hi\"; -- not a comment /* nor this */",
		"''; DROP TABLE unit_items; --",
		"Gr\xc3\xbc\xc3\x9f" "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, emoji \xf0\x9f\x98\x80",
		"",
		"back\\slash, a ? mark, $1 and ?2",
		"tab\tnewline\ncarriage return\r",
		long_text,
	};
	const size_t n = sizeof(values) / sizeof(values[0]);
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	for (size_t i = 0; i < LONG_TEXT; i++)
		long_text[i] = (char)('a' + i % 26);
	long_text[LONG_TEXT] = '\0';

	for (size_t i = 0; i < n; i++)
		insert_item_ok(c, (int64_t)i + 1, values[i], 0);

	s = query(c, "SELECT name FROM unit_items ORDER BY id");
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(db_step(s), DB_ROW);
		/* The empty string stays a string: it must not come back as NULL. */
		assert_false(db_column_is_null(s, 0));
		assert_non_null(db_column_text(s, 0));
		assert_string_equal(db_column_text(s, 0), values[i]);
	}
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);

	/* A bound value matches its stored copy exactly. */
	s = query(c, "SELECT id FROM unit_items WHERE name = ?");
	assert_int_equal(db_bind_text(s, 0, values[3]), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 4);
	db_stmt_done(s);

	/* db_bind_textn binds only the first len bytes. */
	s = query(c, "INSERT INTO unit_items (id, name) VALUES (100, ?)");
	assert_int_equal(db_bind_textn(s, 0, "abcdef", 3), DB_OK);
	assert_int_equal(db_run(s), DB_OK);
	s = query(c, "SELECT name FROM unit_items WHERE id = 100");
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "abc");
	db_stmt_done(s);

	db_release(fx->d, c);
}

/* A `?` inside a string literal of the SQL is text, not a parameter. */
static void placeholder_in_literal(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	insert_item_ok(c, 1, "it's ?", 1);
	insert_item_ok(c, 2, "other", 5);
	insert_item_ok(c, 3, "third", 9);

	s = query(c, "SELECT COUNT(*) FROM unit_items WHERE name = 'it''s ?' OR num = ?");
	assert_int_equal(db_bind_int64(s, 0, 5), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	db_stmt_done(s);

	/* LIMIT takes a bound value on both engines. */
	s = query(c, "SELECT id FROM unit_items WHERE id > ? ORDER BY id LIMIT ?");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_int64(s, 1, 1), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);
	db_release(fx->d, c);
}

static void null_round_trip(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;
	size_t len = 99;

	s = query(c, "INSERT INTO unit_items (id, name, num, real_value, data) VALUES (?, ?, ?, ?, ?)");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_text(s, 1, NULL), DB_OK);
	assert_int_equal(db_bind_gid(s, 2, 0), DB_OK);
	assert_int_equal(db_bind_null(s, 3), DB_OK);
	assert_int_equal(db_bind_null(s, 4), DB_OK);
	assert_int_equal(db_run(s), DB_OK);

	s = query(c, "SELECT name, num, real_value, data FROM unit_items WHERE id = 1");
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_count(s), 4);
	for (int i = 0; i < 4; i++)
		assert_true(db_column_is_null(s, i));
	assert_null(db_column_text(s, 0));
	assert_int_equal(db_column_int64(s, 1), 0);
	assert_true(db_column_double(s, 2) == 0.0);
	assert_null(db_column_blob(s, 3, &len));
	assert_int_equal(len, 0);
	db_stmt_done(s);

	/* IS NULL matches them as SQL NULL, and db_bind_gid binds a nonzero gid as an integer. */
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM unit_items WHERE name IS NULL AND num IS NULL"), 1);
	s = query(c, "UPDATE unit_items SET num = ? WHERE id = 1");
	assert_int_equal(db_bind_gid(s, 0, 1234567890123LL), DB_OK);
	assert_int_equal(db_run(s), DB_OK);
	assert_int_equal(item_num(c, 1), 1234567890123LL);
	db_release(fx->d, c);
}

static void blob_round_trip(void **state)
{
	struct store_fixture *fx = *state;
	enum { LARGE = 65536 };
	static const unsigned char zeros_inside[] = { 0x00, 'a', 0x00, 0xff, 0x00 };
	unsigned char all_bytes[256];
	static unsigned char large[LARGE];
	const struct {
		const void *data;
		size_t len;
	} blobs[] = {
		{ zeros_inside, sizeof(zeros_inside) },
		{ all_bytes, sizeof(all_bytes) },
		{ "", 0 },
		{ large, LARGE },
	};
	const size_t n = sizeof(blobs) / sizeof(blobs[0]);
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	for (int i = 0; i < 256; i++)
		all_bytes[i] = (unsigned char)i;
	for (size_t i = 0; i < LARGE; i++)
		large[i] = (unsigned char)((i * 131) ^ (i >> 8));

	for (size_t i = 0; i < n; i++) {
		s = query(c, "INSERT INTO unit_items (id, data) VALUES (?, ?)");
		assert_int_equal(db_bind_int64(s, 0, (int64_t)i + 1), DB_OK);
		assert_int_equal(db_bind_blob(s, 1, blobs[i].data, blobs[i].len), DB_OK);
		assert_int_equal(db_run(s), DB_OK);
	}

	s = query(c, "SELECT data FROM unit_items ORDER BY id");
	for (size_t i = 0; i < n; i++) {
		const void *data;
		size_t len = 12345;

		assert_int_equal(db_step(s), DB_ROW);
		/* An empty blob is a value, not NULL. */
		assert_false(db_column_is_null(s, 0));
		data = db_column_blob(s, 0, &len);
		assert_int_equal(len, blobs[i].len);
		if (len > 0) {
			assert_non_null(data);
			assert_memory_equal(data, blobs[i].data, len);
		}
		/* Reading the column again returns the same bytes. */
		data = db_column_blob(s, 0, &len);
		assert_int_equal(len, blobs[i].len);
		if (len > 0)
			assert_memory_equal(data, blobs[i].data, len);
	}
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);

	/* A bound blob compares equal to the stored one. */
	s = query(c, "SELECT id FROM unit_items WHERE data = ?");
	assert_int_equal(db_bind_blob(s, 0, zeros_inside, sizeof(zeros_inside)), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	db_stmt_done(s);

	db_release(fx->d, c);
}

/* ---------------------------------------------------------------- errors */

static void constraint_violations(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;
	int status;

	insert_item_ok(c, 1, "unique name", 1);

	/* Duplicate primary key. */
	status = insert_item(c, 1, "another name", 2);
	assert_int_equal(status, DB_CONSTRAINT);
	assert_true(db_conn_errmsg(c)[0] != '\0');

	/* Duplicate value of a UNIQUE column. */
	assert_int_equal(insert_item(c, 2, "unique name", 2), DB_CONSTRAINT);

	/* Foreign key to a missing row. */
	s = query(c, "INSERT INTO unit_children (id, item_id) VALUES (?, ?)");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_int64(s, 1, 999), DB_OK);
	assert_int_equal(db_run(s), DB_CONSTRAINT);

	/* NOT NULL. */
	s = query(c, "INSERT INTO unit_children (id, item_id) VALUES (?, ?)");
	assert_int_equal(db_bind_int64(s, 0, 2), DB_OK);
	assert_int_equal(db_bind_null(s, 1), DB_OK);
	assert_int_equal(db_run(s), DB_CONSTRAINT);

	/* Deleting a parent that still has a child. */
	s = query(c, "INSERT INTO unit_children (id, item_id) VALUES (?, ?)");
	assert_int_equal(db_bind_int64(s, 0, 3), DB_OK);
	assert_int_equal(db_bind_int64(s, 1, 1), DB_OK);
	assert_int_equal(db_run(s), DB_OK);
	s = query(c, "DELETE FROM unit_items WHERE id = ?");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_run(s), DB_CONSTRAINT);

	/* The connection is still usable, and only the valid rows exist. */
	assert_int_equal(count_items(c), 1);
	assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM unit_children"), 1);
	insert_item_ok(c, 2, "second", 2);
	assert_int_equal(count_items(c), 2);
	db_release(fx->d, c);
}

static void bad_sql_fails_prepare(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);

	log_set_level(LOG_SILENT);
	assert_null(db_query(c, "SELEC 1"));
	assert_true(db_conn_errmsg(c)[0] != '\0');
	assert_null(db_query(c, "SELECT nothing FROM no_such_table"));
	assert_true(db_conn_errmsg(c)[0] != '\0');
	assert_int_not_equal(db_exec(c, "CREATE TABLE broken ("), DB_OK);
	log_set_level(TEST_LOG_LEVEL);

	/* A failed prepare leaves the connection as it was. */
	assert_int_equal(count_items(c), 0);
	insert_item_ok(c, 1, "after errors", 1);
	assert_int_equal(count_items(c), 1);
	db_release(fx->d, c);
}

/* ---------------------------------------------------------------- changes, upserts, RETURNING */

static void changes_after_update(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	insert_item_ok(c, 1, "a", 1);
	insert_item_ok(c, 2, "b", 2);
	insert_item_ok(c, 3, "c", 3);

	s = query(c, "UPDATE unit_items SET num = num + 10 WHERE num >= ?");
	assert_int_equal(db_bind_int64(s, 0, 2), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 2);
	db_stmt_done(s);

	/* An UPDATE that matches nothing changes 0 rows, not the count of the last statement. */
	s = query(c, "UPDATE unit_items SET num = 0 WHERE id = ?");
	assert_int_equal(db_bind_int64(s, 0, 404), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 0);
	db_stmt_done(s);

	/* Setting a column to the value it has still counts the row, as both engines do. */
	s = query(c, "UPDATE unit_items SET num = num WHERE id = ?");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 1);
	db_stmt_done(s);

	s = query(c, "DELETE FROM unit_items WHERE id > ?");
	assert_int_equal(db_bind_int64(s, 0, 0), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 3);
	db_stmt_done(s);
	db_release(fx->d, c);
}

static void on_conflict_do_nothing(void **state)
{
	struct store_fixture *fx = *state;
	static const char upsert_ignore[] =
		"INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING";
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	s = query(c, upsert_ignore);
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "kept"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 1), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 1);
	db_stmt_done(s);

	/* The conflicting insert succeeds, changes nothing and reports 0 rows. */
	s = query(c, upsert_ignore);
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "ignored"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 2), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 0);
	db_stmt_done(s);
	assert_int_equal(item_num(c, 1), 1);

	/* ON CONFLICT ... DO UPDATE with excluded, also shared by both dialects. */
	s = query(c, "INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?)"
		     " ON CONFLICT (id) DO UPDATE SET num = excluded.num");
	assert_int_equal(db_bind_int64(s, 0, 1), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "kept"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 3), DB_OK);
	assert_int_equal(db_run(s), DB_OK);
	assert_int_equal(item_num(c, 1), 3);
	assert_int_equal(count_items(c), 1);

	/* DO NOTHING without a conflict target also covers the UNIQUE name. */
	s = query(c, "INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
	assert_int_equal(db_bind_int64(s, 0, 2), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "kept"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 4), DB_OK);
	assert_int_equal(db_run(s), DB_OK);
	assert_int_equal(count_items(c), 1);
	db_release(fx->d, c);
}

static void returning_clause(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *s;

	s = query(c, "INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?) RETURNING id, name");
	assert_int_equal(db_bind_int64(s, 0, 42), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "answer"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 1), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 42);
	assert_string_equal(db_column_text(s, 1), "answer");
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);
	assert_int_equal(count_items(c), 1);

	s = query(c, "UPDATE unit_items SET num = num + 1 WHERE id = ? RETURNING num");
	assert_int_equal(db_bind_int64(s, 0, 42), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);

	/* RETURNING on a conflict that did nothing returns no row. */
	s = query(c, "INSERT INTO unit_items (id, name, num) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id");
	assert_int_equal(db_bind_int64(s, 0, 42), DB_OK);
	assert_int_equal(db_bind_text(s, 1, "again"), DB_OK);
	assert_int_equal(db_bind_int64(s, 2, 9), DB_OK);
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);

	s = query(c, "DELETE FROM unit_items WHERE id = ? RETURNING name");
	assert_int_equal(db_bind_int64(s, 0, 42), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "answer");
	assert_int_equal(db_step(s), DB_DONE);
	db_stmt_done(s);
	assert_int_equal(count_items(c), 0);
	db_release(fx->d, c);
}

/* Handlers walk one result while running other statements on the same connection. */
static void interleaved_statements(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *outer;
	int rows = 0;

	for (int i = 1; i <= 5; i++)
		insert_item_ok(c, i, NULL, 0);

	outer = query(c, "SELECT id FROM unit_items ORDER BY id");
	while (db_step(outer) == DB_ROW) {
		int64_t id = db_column_int64(outer, 0);
		db_stmt *update = query(c, "UPDATE unit_items SET num = ? WHERE id = ?");

		assert_int_equal(db_bind_int64(update, 0, id * 100), DB_OK);
		assert_int_equal(db_bind_int64(update, 1, id), DB_OK);
		assert_int_equal(db_run(update), DB_OK);
		/* The outer row is still readable after the inner statement ran. */
		assert_int_equal(db_column_int64(outer, 0), id);
		rows++;
	}
	db_stmt_done(outer);
	assert_int_equal(rows, 5);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(item_num(c, i), i * 100);
	db_release(fx->d, c);
}

/* Statements of the batch tests: one literal each, so each is one cached statement. */
static const char batch_name_sql[] = "SELECT name FROM unit_items WHERE id = ?";
static const char batch_ids_sql[] = "SELECT id FROM unit_items WHERE num >= ? ORDER BY id";
/* abs() of the smallest 64-bit integer fails while running, on both engines, after a good prepare. */
static const char batch_fails_sql[] = "SELECT abs(CAST(? AS BIGINT)) FROM unit_items WHERE id = 1";

/* Binds the two good batch statements: item 1's name, and the ids of items with num >= 2. */
static void batch_bind(db_conn *c, db_stmt **name_r, db_stmt **ids_r)
{
	*name_r = query(c, batch_name_sql);
	*ids_r = query(c, batch_ids_sql);
	assert_int_equal(db_bind_int64(*name_r, 0, 1), DB_OK);
	assert_int_equal(db_bind_int64(*ids_r, 0, 2), DB_OK);
}

/* Steps the two good batch statements and checks every row. */
static void batch_check(db_stmt *name, db_stmt *ids)
{
	assert_int_equal(db_step(name), DB_ROW);
	assert_string_equal(db_column_text(name, 0), "first");
	assert_int_equal(db_step(name), DB_DONE);
	assert_int_equal(db_step(ids), DB_ROW);
	assert_int_equal(db_column_int64(ids, 0), 2);
	assert_int_equal(db_step(ids), DB_ROW);
	assert_int_equal(db_column_int64(ids, 0), 3);
	assert_int_equal(db_step(ids), DB_DONE);
	db_stmt_done(name);
	db_stmt_done(ids);
}

/*
 * Statements run as one batch give the rows each gives alone: in any order
 * of stepping, and inside a transaction, where PostgreSQL runs them one by one.
 */
static void batch_gives_each_result(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *name, *ids, *batch[2];

	insert_item_ok(c, 1, "first", 1);
	insert_item_ok(c, 2, "second", 2);
	insert_item_ok(c, 3, "third", 3);

	batch_bind(c, &name, &ids);
	batch[0] = name;
	batch[1] = ids;
	db_execute_batch(batch, 2);
	batch_check(name, ids);

	/* Stepped in the other order than sent. */
	batch_bind(c, &name, &ids);
	batch[0] = ids;
	batch[1] = name;
	db_execute_batch(batch, 2);
	batch_check(name, ids);

	assert_int_equal(db_begin(c), DB_OK);
	batch_bind(c, &name, &ids);
	batch[0] = name;
	batch[1] = ids;
	db_execute_batch(batch, 2);
	batch_check(name, ids);
	assert_int_equal(db_commit(c), DB_OK);

	/* The connection takes ordinary statements afterwards. */
	assert_int_equal(item_num(c, 3), 3);
	db_release(fx->d, c);
}

/*
 * A statement that fails in a batch reports its failure on its step, and
 * the other statements, before or after it, still give their rows.
 */
static void batch_failure_stays_with_statement(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	db_stmt *name, *ids, *fails, *batch[3];

	insert_item_ok(c, 1, "first", 1);
	insert_item_ok(c, 2, "second", 2);
	insert_item_ok(c, 3, "third", 3);

	batch_bind(c, &name, &ids);
	fails = query(c, batch_fails_sql);
	assert_int_equal(db_bind_int64(fails, 0, INT64_MIN), DB_OK);
	batch[0] = name;
	batch[1] = fails;
	batch[2] = ids;
	db_execute_batch(batch, 3);
	assert_true(db_step(fails) < 0);
	db_stmt_done(fails);
	batch_check(name, ids);

	assert_int_equal(item_num(c, 2), 2);
	db_release(fx->d, c);
}

/*
 * A statement being walked keeps its rows while other SQL texts are
 * prepared on the same connection. The cache keys on the text's address, so
 * 8192 texts at distinct addresses, 16 times the 512 slots of db.c, make it
 * near certain that a cache which evicts reaches the walked statement too.
 */
static void walked_statement_survives_cache(void **state)
{
	struct store_fixture *fx = *state;
	/* Static, so that a failed assertion, which jumps out of the test, leaks nothing. */
	static char texts[8192][24];
	const int count = (int)(sizeof(texts) / sizeof(texts[0]));
	db_conn *c = acquire(fx->d);
	db_stmt *outer;

	insert_item_ok(c, 1, "first", 1);
	insert_item_ok(c, 2, "second", 2);
	outer = query(c, "SELECT id FROM unit_items ORDER BY id");
	assert_int_equal(db_step(outer), DB_ROW);
	assert_int_equal(db_column_int64(outer, 0), 1);

	for (int i = 0; i < count; i++) {
		db_stmt *inner;

		/* Values away from 1 and 2, so that rows of the walked statement cannot pass for them. */
		snprintf(texts[i], sizeof(texts[i]), "SELECT %d", 1000 + i);
		inner = query(c, texts[i]);
		assert_int_equal(db_step(inner), DB_ROW);
		assert_int_equal(db_column_int64(inner, 0), 1000 + i);
		db_stmt_done(inner);
	}

	if (db_column_int64(outer, 0) != 1)
		fail_msg("the walked statement's row read %" PRId64 " instead of 1 after %d other statements were"
			 " prepared: the cache replaced a statement that was still in use",
			 db_column_int64(outer, 0), count);
	assert_int_equal(db_step(outer), DB_ROW);
	assert_int_equal(db_column_int64(outer, 0), 2);
	assert_int_equal(db_step(outer), DB_DONE);
	db_stmt_done(outer);
	db_release(fx->d, c);
}

/* ---------------------------------------------------------------- transactions */

static void transaction_visibility(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *writer = acquire(fx->d);
	db_conn *reader = acquire(fx->d);

	assert_ptr_not_equal(writer, reader);
	assert_false(db_in_transaction(writer));

	/* Uncommitted rows are invisible to another connection, committed ones visible. */
	assert_int_equal(db_begin_write(writer), DB_OK);
	assert_true(db_in_transaction(writer));
	insert_item_ok(writer, 1, "committed", 1);
	assert_int_equal(count_items(writer), 1);
	assert_int_equal(count_items(reader), 0);
	assert_int_equal(db_commit(writer), DB_OK);
	assert_false(db_in_transaction(writer));
	assert_int_equal(count_items(reader), 1);

	/* A rolled-back insert is gone for both. */
	assert_int_equal(db_begin_write(writer), DB_OK);
	insert_item_ok(writer, 2, "rolled back", 2);
	assert_int_equal(count_items(writer), 2);
	assert_int_equal(db_rollback(writer), DB_OK);
	assert_false(db_in_transaction(writer));
	assert_int_equal(count_items(writer), 1);
	assert_int_equal(count_items(reader), 1);

	/* db_begin (a read transaction) commits and rolls back the same way. */
	assert_int_equal(db_begin(reader), DB_OK);
	assert_true(db_in_transaction(reader));
	assert_int_equal(count_items(reader), 1);
	assert_int_equal(db_commit(reader), DB_OK);
	assert_false(db_in_transaction(reader));

	db_release(fx->d, reader);
	db_release(fx->d, writer);
}

/*
 * After a failed statement inside a transaction, rollback leaves the
 * connection usable. PostgreSQL aborts the whole transaction at the error,
 * while SQLite undoes only the statement, so there the rollback itself
 * undoes the earlier insert.
 */
static void failed_statement_then_rollback(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);

	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 10, "first", 1);
	assert_int_equal(insert_item(c, 10, "duplicate", 2), DB_CONSTRAINT);
	assert_true(db_in_transaction(c));
	assert_int_equal(db_rollback(c), DB_OK);
	assert_false(db_in_transaction(c));

	assert_int_equal(count_items(c), 0);
	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 10, "second try", 3);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(item_num(c, 10), 3);
	db_release(fx->d, c);
}

/*
 * COMMIT after a failed statement: SQLite commits the statements that
 * succeeded, PostgreSQL rolls everything back. Either way db_commit must
 * say what happened, and the connection must be usable afterwards.
 */
static void commit_after_failed_statement(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);
	int status;

	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 20, "good", 1);
	assert_int_equal(insert_item(c, 20, "duplicate", 2), DB_CONSTRAINT);
	status = db_commit(c);
	assert_false(db_in_transaction(c));
	if (status == DB_OK)
		assert_int_equal(item_num(c, 20), 1);
	else
		assert_int_equal(count_items(c), 0);
	if (fx->is_pg)
		assert_int_not_equal(status, DB_OK);

	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 21, "next", 1);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(item_num(c, 21), 1);
	db_release(fx->d, c);
}

/* db_release rolls back a transaction the caller left open. */
static void release_rolls_back(void **state)
{
	struct store_fixture *fx = *state;
	db_conn *c = acquire(fx->d);

	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 1, "abandoned", 1);
	db_release(fx->d, c);

	c = acquire(fx->d);
	assert_false(db_in_transaction(c));
	assert_int_equal(count_items(c), 0);
	/* And the write lock is free again. */
	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 2, "kept", 1);
	assert_int_equal(db_commit(c), DB_OK);
	db_release(fx->d, c);
}

struct second_writer {
	db *d;
	int begin_status;
	int insert_status;
	int commit_status;
};

static void *run_second_writer(void *arg)
{
	struct second_writer *w = arg;
	db_conn *c = db_acquire(w->d, ACQUIRE_MS);

	if (c == NULL)
		return NULL;
	w->begin_status = db_begin_write(c);
	if (w->begin_status == DB_OK) {
		w->insert_status = insert_item(c, 2, "second writer", 2);
		w->commit_status = db_commit(c);
	}
	db_release(w->d, c);
	return NULL;
}

/* A second writer waits for the first (SQLite's busy timeout) instead of failing. */
static void concurrent_writers(void **state)
{
	struct store_fixture *fx = *state;
	struct second_writer w = { .d = fx->d, .begin_status = -100, .insert_status = -100, .commit_status = -100 };
	db_conn *c = acquire(fx->d);
	pthread_t thread;

	assert_int_equal(db_begin_write(c), DB_OK);
	insert_item_ok(c, 1, "first writer", 1);
	assert_int_equal(pthread_create(&thread, NULL, run_second_writer, &w), 0);
	sleep_ms(150);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(pthread_join(thread, NULL), 0);

	assert_int_equal(w.begin_status, DB_OK);
	assert_int_equal(w.insert_status, DB_OK);
	assert_int_equal(w.commit_status, DB_OK);
	assert_int_equal(count_items(c), 2);
	db_release(fx->d, c);
}

/* ---------------------------------------------------------------- pool */

struct waiter {
	db *d;
	db_conn *got;
	int64_t waited_ms;
};

static void *wait_for_connection(void *arg)
{
	struct waiter *w = arg;
	int64_t start = time_mono_us();

	w->got = db_acquire(w->d, 5000);
	w->waited_ms = elapsed_ms(start);
	return NULL;
}

static void pool_exhaustion_and_wakeup(void **state)
{
	struct store_fixture *fx = *state;
	enum { SIZE = 2 };
	db *d = NULL;
	db_conn *held[SIZE];
	struct waiter w = { 0 };
	pthread_t thread;
	char err[512] = "";
	int64_t start, waited;

	if (db_open(fx->location, SIZE, &d, err, sizeof(err)) != DB_OK)
		fail_msg("db_open failed: %s", err);

	/* Up to the pool size: distinct, working connections. */
	for (int i = 0; i < SIZE; i++) {
		held[i] = acquire(d);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(held[i], held[j]);
		assert_int_equal(query_int64(held[i], count_items_sql), 0);
	}

	/* One more times out, promptly: 100 ms asked for, well under a second taken. */
	log_set_level(LOG_ERROR);
	start = time_mono_us();
	assert_null(db_acquire(d, 100));
	waited = elapsed_ms(start);
	assert_true(waited >= 90);
	assert_true(waited < 1000);
	start = time_mono_us();
	assert_null(db_acquire(d, 0));
	assert_true(elapsed_ms(start) < 500);
	log_set_level(TEST_LOG_LEVEL);

	/* A release wakes a waiting thread, which gets the freed connection. */
	w.d = d;
	assert_int_equal(pthread_create(&thread, NULL, wait_for_connection, &w), 0);
	sleep_ms(150);
	db_release(d, held[0]);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_ptr_equal(w.got, held[0]);
	assert_true(w.waited_ms >= 100);
	assert_true(w.waited_ms < 4000);
	assert_int_equal(query_int64(w.got, count_items_sql), 0);

	db_release(d, w.got);
	db_release(d, held[1]);
	db_release(d, NULL);
	db_close(&d);
	assert_null(d);
}

/*
 * Threads that outnumber the connections take and return them many times.
 * Each connection has an owner counter, which a second holder would find
 * non-zero, because the lock-free fast path must never hand one connection
 * to two threads. A release must also wake a waiter, or the long timeout
 * would show up as a NULL.
 */
enum { CHURN_THREADS = 6, CHURN_ROUNDS = 2000, CHURN_POOL = 2 };

struct churn {
	db *d;
	db_conn *conns[CHURN_POOL];
	atomic_int owners[CHURN_POOL];
	atomic_int failures;
};

static void *churn_pool(void *arg)
{
	struct churn *ch = arg;

	for (int round = 0; round < CHURN_ROUNDS; round++) {
		db_conn *c = db_acquire(ch->d, 10000);
		int slot = -1;

		if (c == NULL) {
			atomic_fetch_add(&ch->failures, 1);
			continue;
		}
		for (int i = 0; i < CHURN_POOL; i++)
			if (ch->conns[i] == c)
				slot = i;
		if (slot < 0 || atomic_fetch_add(&ch->owners[slot], 1) != 0)
			atomic_fetch_add(&ch->failures, 1);
		if (round % 64 == 0 && query_int64(c, count_items_sql) != 0)
			atomic_fetch_add(&ch->failures, 1);
		if (slot >= 0)
			atomic_fetch_sub(&ch->owners[slot], 1);
		db_release(ch->d, c);
	}
	return NULL;
}

static void pool_contention_keeps_connections_exclusive(void **state)
{
	struct store_fixture *fx = *state;
	struct churn ch = { 0 };
	pthread_t threads[CHURN_THREADS];
	char err[512] = "";

	if (db_open(fx->location, CHURN_POOL, &ch.d, err, sizeof(err)) != DB_OK)
		fail_msg("db_open failed: %s", err);
	/* Connect both now and learn their addresses. */
	for (int i = 0; i < CHURN_POOL; i++)
		ch.conns[i] = acquire(ch.d);
	for (int i = 0; i < CHURN_POOL; i++)
		db_release(ch.d, ch.conns[i]);

	for (int i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, churn_pool, &ch), 0);
	for (int i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	assert_int_equal(atomic_load(&ch.failures), 0);
	db_close(&ch.d);
}

/* Ends the server process behind connection `pid` from the second pool `killer`. */
static void terminate_backend(db *killer, int64_t pid)
{
	db_conn *k = acquire(killer);
	db_stmt *s = query(k, "SELECT pg_terminate_backend(?)");

	assert_int_equal(db_bind_int64(s, 0, pid), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	db_stmt_done(s);
	db_release(killer, k);
	sleep_ms(100);
}

/*
 * A connection whose server process ended: while a request uses it, its
 * next statement fails with DB_UNAVAILABLE (503) and the next acquire
 * reconnects. While it is idle in the pool, the server's FATAL message
 * marks it, and the acquire replaces it before any statement fails.
 */
static void broken_connection_reconnects(void **state)
{
	struct store_fixture *fx = *state;
	db *d = NULL, *killer = NULL;
	db_conn *c;
	db_stmt *s;
	int64_t pid, second;
	char err[512] = "";

	if (!fx->is_pg)
		skip();
	if (db_open(fx->location, 1, &d, err, sizeof(err)) != DB_OK)
		fail_msg("db_open failed: %s", err);
	if (db_open(fx->location, 1, &killer, err, sizeof(err)) != DB_OK)
		fail_msg("db_open failed: %s", err);

	c = acquire(d);
	pid = query_int64(c, "SELECT pg_backend_pid()");
	terminate_backend(killer, pid);
	log_set_level(LOG_SILENT);
	s = db_query(c, "SELECT pg_backend_pid()");
	if (s != NULL) {
		assert_int_equal(db_step(s), DB_UNAVAILABLE);
		db_stmt_done(s);
	}
	db_release(d, c);
	c = acquire(d);
	log_set_level(TEST_LOG_LEVEL);
	second = query_int64(c, "SELECT pg_backend_pid()");
	assert_int_not_equal(second, pid);
	assert_int_equal(count_items(c), 0);
	db_release(d, c);

	terminate_backend(killer, second);
	log_set_level(LOG_SILENT);
	c = acquire(d);
	log_set_level(TEST_LOG_LEVEL);
	assert_int_not_equal(query_int64(c, "SELECT pg_backend_pid()"), second);
	db_release(d, c);

	db_close(&killer);
	db_close(&d);
}

/* ---------------------------------------------------------------- main */

#define STORE_TEST(name) cmocka_unit_test_setup(name, clear_tables)

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(migrations_applied_once),
		STORE_TEST(open_unreachable_fails),
		STORE_TEST(driver_matches_location),
		STORE_TEST(statement_cache_reuses),
		STORE_TEST(statement_bindings_cleared),
		STORE_TEST(int64_round_trip),
		STORE_TEST(double_round_trip),
		STORE_TEST(text_round_trip),
		STORE_TEST(placeholder_in_literal),
		STORE_TEST(null_round_trip),
		STORE_TEST(blob_round_trip),
		STORE_TEST(constraint_violations),
		STORE_TEST(bad_sql_fails_prepare),
		STORE_TEST(changes_after_update),
		STORE_TEST(on_conflict_do_nothing),
		STORE_TEST(returning_clause),
		STORE_TEST(interleaved_statements),
		STORE_TEST(walked_statement_survives_cache),
		STORE_TEST(batch_gives_each_result),
		STORE_TEST(batch_failure_stays_with_statement),
		STORE_TEST(transaction_visibility),
		STORE_TEST(failed_statement_then_rollback),
		STORE_TEST(commit_after_failed_statement),
		STORE_TEST(release_rolls_back),
		STORE_TEST(concurrent_writers),
		STORE_TEST(pool_exhaustion_and_wakeup),
		STORE_TEST(pool_contention_keeps_connections_exclusive),
		STORE_TEST(links_rebuilt_without_rowid),
		STORE_TEST(broken_connection_reconnects),
	};
	const char *pg_uri = getenv("KONTOR_TEST_PG_URI");
	int failed;

	log_set_level(TEST_LOG_LEVEL);
	printf("store on SQLite\n");
	failed = cmocka_run_group_tests_name("store on SQLite", tests, sqlite_setup, fixture_teardown);
	if (pg_uri != NULL && pg_uri[0] != '\0') {
		printf("store on PostgreSQL\n");
		failed += cmocka_run_group_tests_name("store on PostgreSQL", tests, pg_setup, fixture_teardown);
	} else {
		printf("store on PostgreSQL: skipped, KONTOR_TEST_PG_URI is not set\n");
	}
	return failed;
}
