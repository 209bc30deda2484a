/*
 * SQLite driver for the storage seam: the default, embedded database. Runs
 * in WAL mode so readers never wait for the writer, with a busy timeout so
 * concurrent writers queue instead of failing, and foreign keys enforced.
 * The only file that includes sqlite3.h.
 */
#include "store/db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* How long a writer waits for the write lock before the request gets 503. */
#define SQLITE_BUSY_TIMEOUT_MS 5000

static int map_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return DB_OK;
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return DB_UNAVAILABLE;
	default:
		return DB_ERROR;
	}
}

/*
 * Process-wide settings, which SQLite accepts only before its first use.
 * Memory statistics are off: they take a global mutex on every allocation,
 * which all request threads would contend for.
 */
static void configure_library(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_connect(const char *location, void **native_r, char *err, size_t errlen)
{
	static pthread_once_t configured = PTHREAD_ONCE_INIT;
	sqlite3 *handle = NULL;
	int rc;

	pthread_once(&configured, configure_library);
	rc = sqlite3_open_v2(location, &handle,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open SQLite database %s: %s", location,
			 handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
		sqlite3_close(handle);
		return DB_UNAVAILABLE;
	}
	sqlite3_busy_timeout(handle, SQLITE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(handle, 1);
	/* synchronous=FULL: a commit that returned is on disk, so a 2xx is durable. */
	rc = sqlite3_exec(handle,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			  " PRAGMA temp_store=MEMORY;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot configure SQLite database %s: %s", location, sqlite3_errmsg(handle));
		sqlite3_close(handle);
		return map_status(rc) == DB_ERROR ? DB_UNAVAILABLE : map_status(rc);
	}
	*native_r = handle;
	return DB_OK;
}

static void sq_disconnect(void *native)
{
	sqlite3_close_v2(native);
}

static int sq_exec(void *native, const char *sql)
{
	return map_status(sqlite3_exec(native, sql, NULL, NULL, NULL));
}

static int sq_prepare(void *native, const char *sql, void **stmt_r)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v3(native, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);

	*stmt_r = stmt;
	return map_status(rc);
}

static int sq_bind_int64(void *stmt, int index, int64_t value)
{
	return map_status(sqlite3_bind_int64(stmt, index + 1, value));
}

static int sq_bind_double(void *stmt, int index, double value)
{
	return map_status(sqlite3_bind_double(stmt, index + 1, value));
}

static int sq_bind_text(void *stmt, int index, const char *text, size_t len)
{
	return map_status(sqlite3_bind_text64(stmt, index + 1, text, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static int sq_bind_blob(void *stmt, int index, const void *data, size_t len)
{
	return map_status(sqlite3_bind_blob64(stmt, index + 1, data, len, SQLITE_TRANSIENT));
}

static int sq_bind_null(void *stmt, int index)
{
	return map_status(sqlite3_bind_null(stmt, index + 1));
}

static int sq_step(void *stmt)
{
	return map_status(sqlite3_step(stmt));
}

/* Clears bindings too, so a cached statement never leaks a value to its next use. */
static int sq_reset(void *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return DB_OK;
}

static void sq_finalize(void *stmt)
{
	sqlite3_finalize(stmt);
}

static int sq_column_count(void *stmt)
{
	return sqlite3_column_count(stmt);
}

static int sq_column_is_null(void *stmt, int index)
{
	return sqlite3_column_type(stmt, index) == SQLITE_NULL;
}

static int64_t sq_column_int64(void *stmt, int index)
{
	return sqlite3_column_int64(stmt, index);
}

static double sq_column_double(void *stmt, int index)
{
	return sqlite3_column_double(stmt, index);
}

static const char *sq_column_text(void *stmt, int index)
{
	return (const char *)sqlite3_column_text(stmt, index);
}

static const void *sq_column_blob(void *stmt, int index, size_t *len_r)
{
	const void *data = sqlite3_column_blob(stmt, index);

	*len_r = (size_t)sqlite3_column_bytes(stmt, index);
	return data;
}

static int64_t sq_changes(void *stmt)
{
	return sqlite3_changes64(sqlite3_db_handle(stmt));
}

static const char *sq_errmsg(void *native)
{
	return sqlite3_errmsg(native);
}

static int sq_stmt_readonly(void *stmt)
{
	return sqlite3_stmt_readonly(stmt);
}

static int sq_is_broken(void *native)
{
	(void)native;
	return 0;
}

/* The pager's data version, which moves on commits by this and every other connection (SQLite 3.26 and later). */
static int sq_data_version(void *native, uint64_t *version_r)
{
	unsigned int version = 0;

	if (sqlite3_file_control(native, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK)
		return DB_ERROR;
	*version_r = version;
	return DB_OK;
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.column_count = sq_column_count,
	.column_is_null = sq_column_is_null,
	.column_int64 = sq_column_int64,
	.column_double = sq_column_double,
	.column_text = sq_column_text,
	.column_blob = sq_column_blob,
	.changes = sq_changes,
	.errmsg = sq_errmsg,
	.is_broken = sq_is_broken,
	.begin_write_sql = "BEGIN IMMEDIATE",
	.reads_in_transaction = 1,
	.stmt_readonly = sq_stmt_readonly,
	.data_version = sq_data_version,
};
