/*
 * The read snapshot of store/db.h (db_begin_read, db_end_read) on SQLite,
 * the driver that sets reads_in_transaction: statements inside a snapshot
 * see one state of the database, and anything that writes leaves the
 * snapshot first, so that a write never fails because the snapshot went
 * stale. PostgreSQL's driver leaves the flag 0, so both calls do nothing
 * there and need no test.
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
#include "util/log.h"

#define POOL_SIZE 2
#define ACQUIRE_MS 2000

struct fixture {
	char dir[64];
	char location[128];
	db *d;
	db_conn *reader;
	db_conn *writer;
};

static const char count_sql[] = "SELECT COUNT(*) FROM unit_snapshot";
static const char insert_sql[] = "INSERT INTO unit_snapshot (id) VALUES (?)";
static const char update_sql[] = "UPDATE unit_snapshot SET id = id + 100 WHERE id = ?";

static int64_t count_rows(db_conn *c)
{
	db_stmt *s = db_query(c, count_sql);
	int64_t count;

	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	count = db_column_int64(s, 0);
	db_stmt_done(s);
	return count;
}

static void insert_row(db_conn *c, int64_t id)
{
	db_stmt *s = db_query(c, insert_sql);

	assert_non_null(s);
	db_bind_int64(s, 0, id);
	assert_int_equal(db_run(s), DB_OK);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[512];

	if (fx == NULL)
		return -1;
	*state = fx;
	log_set_level(LOG_WARN);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kontor-snapshot-test.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->location, sizeof(fx->location), "%s/snapshot.db", fx->dir);
	if (db_open(fx->location, POOL_SIZE, &fx->d, err, sizeof(err)) != DB_OK) {
		fprintf(stderr, "test_read_snapshot: db_open failed: %s\n", err);
		return -1;
	}
	fx->reader = db_acquire(fx->d, ACQUIRE_MS);
	fx->writer = db_acquire(fx->d, ACQUIRE_MS);
	if (fx->reader == NULL || fx->writer == NULL)
		return -1;
	return db_exec(fx->writer, "CREATE TABLE unit_snapshot (id BIGINT PRIMARY KEY)") == DB_OK ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[160];

	if (fx == NULL)
		return 0;
	if (fx->d != NULL) {
		db_release(fx->d, fx->reader);
		db_release(fx->d, fx->writer);
		db_close(&fx->d);
	}
	if (fx->dir[0] != '\0') {
		static const char *const suffixes[] = { "", "-wal", "-shm" };

		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", fx->location, suffixes[i]);
			unlink(path);
		}
		rmdir(fx->dir);
	}
	free(fx);
	return 0;
}

static int empty_table(void **state)
{
	struct fixture *fx = *state;

	return db_exec(fx->writer, "DELETE FROM unit_snapshot") == DB_OK ? 0 : -1;
}

static void snapshot_sees_one_state(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 0);
	insert_row(fx->writer, 1);
	assert_int_equal(count_rows(fx->reader), 0);
	assert_int_equal(db_in_transaction(fx->reader), 0);

	assert_int_equal(db_end_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 1);
}

static void write_leaves_stale_snapshot(void **state)
{
	struct fixture *fx = *state;
	db_stmt *s;

	insert_row(fx->writer, 1);
	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 1);

	/* Another connection commits, so the snapshot could no longer become a write transaction. */
	insert_row(fx->writer, 2);
	s = db_query(fx->reader, update_sql);
	assert_non_null(s);
	db_bind_int64(s, 0, 2);
	assert_int_equal(db_run(s), DB_OK);
	assert_int_equal(db_changes(s), 1);

	/* The write ran on its own: it is committed, and later reads see the present state. */
	assert_int_equal(db_end_read(fx->reader), DB_OK);
	s = db_query(fx->writer, "SELECT COUNT(*) FROM unit_snapshot WHERE id = 102");
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	db_stmt_done(s);
}

static void begin_write_ends_snapshot(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 0);
	insert_row(fx->writer, 1);

	assert_int_equal(db_begin_write(fx->reader), DB_OK);
	assert_int_equal(db_in_transaction(fx->reader), 1);
	assert_int_equal(count_rows(fx->reader), 1);
	insert_row(fx->reader, 2);
	assert_int_equal(db_commit(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->writer), 2);
}

static void release_ends_snapshot(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 0);
	db_release(fx->d, fx->reader);
	insert_row(fx->writer, 1);

	fx->reader = db_acquire(fx->d, ACQUIRE_MS);
	assert_non_null(fx->reader);
	assert_int_equal(count_rows(fx->reader), 1);
}

/* Returns the reader's content version inside a fresh snapshot, ending the snapshot again. */
static struct db_version version_in_snapshot(db_conn *c)
{
	struct db_version version;

	assert_int_equal(db_begin_read(c), DB_OK);
	assert_int_equal(db_content_version(c, &version), DB_OK);
	assert_int_equal(db_end_read(c), DB_OK);
	return version;
}

static int same_version(struct db_version a, struct db_version b)
{
	return a.epoch == b.epoch && a.data == b.data;
}

/*
 * The content version moves whenever committed content may differ: after a
 * commit by another connection, after a write by the same connection, and
 * across a reconnect. Without commits it stays, and asking for it keeps
 * the snapshot open.
 */
static void content_version_follows_commits(void **state)
{
	struct fixture *fx = *state;
	struct db_version first, again, version;

	first = version_in_snapshot(fx->reader);
	again = version_in_snapshot(fx->reader);
	assert_true(same_version(first, again));

	/* Another connection's commit. */
	insert_row(fx->writer, 1);
	version = version_in_snapshot(fx->reader);
	assert_false(same_version(first, version));

	/* This connection's own write, outside and inside a snapshot. */
	first = version;
	insert_row(fx->reader, 2);
	version = version_in_snapshot(fx->reader);
	assert_false(same_version(first, version));
	first = version;
	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	insert_row(fx->reader, 3);
	assert_int_equal(db_content_version(fx->reader, &version), DB_ERROR);
	assert_int_equal(db_end_read(fx->reader), DB_OK);
	version = version_in_snapshot(fx->reader);
	assert_false(same_version(first, version));

	/* The snapshot stays open: a commit made after the version was read is not seen. */
	assert_int_equal(db_begin_read(fx->reader), DB_OK);
	assert_int_equal(db_content_version(fx->reader, &version), DB_OK);
	insert_row(fx->writer, 4);
	assert_int_equal(count_rows(fx->reader), 3);
	assert_int_equal(db_end_read(fx->reader), DB_OK);
	assert_int_equal(count_rows(fx->reader), 4);

	/* No version outside a snapshot. */
	assert_int_equal(db_content_version(fx->reader, &version), DB_ERROR);
}

/* A reopened connection never repeats a version of its earlier life, nor another connection's. */
static void content_version_differs_between_connections(void **state)
{
	struct fixture *fx = *state;
	struct db_version reader, writer, reopened;
	db *other = NULL;
	db_conn *c;
	char err[512];

	reader = version_in_snapshot(fx->reader);
	writer = version_in_snapshot(fx->writer);
	assert_true(reader.epoch != writer.epoch);

	assert_int_equal(db_open(fx->location, 1, &other, err, sizeof(err)), DB_OK);
	c = db_acquire(other, ACQUIRE_MS);
	assert_non_null(c);
	reopened = version_in_snapshot(c);
	assert_true(reopened.epoch != reader.epoch && reopened.epoch != writer.epoch);
	db_release(other, c);
	db_close(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(snapshot_sees_one_state, empty_table),
		cmocka_unit_test_setup(write_leaves_stale_snapshot, empty_table),
		cmocka_unit_test_setup(begin_write_ends_snapshot, empty_table),
		cmocka_unit_test_setup(release_ends_snapshot, empty_table),
		cmocka_unit_test_setup(content_version_follows_commits, empty_table),
		cmocka_unit_test_setup(content_version_differs_between_connections, empty_table),
	};

	return cmocka_run_group_tests_name("read snapshot on SQLite", tests, setup, teardown);
}
