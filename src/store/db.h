/*
 * Storage seam: one small SQL API over interchangeable drivers.
 *
 * A `db` is a pool of connections to one database, opened from a location:
 * a file path selects the SQLite driver, a `postgresql://` or `postgres://`
 * URI selects the PostgreSQL driver. SQL is written once, in the dialect that
 * SQLite >= 3.40 and PostgreSQL >= 15 share, with `?` placeholders; drivers
 * translate placeholders where their engine needs another form.
 *
 * Threading: a `db` may be shared by all threads. A `db_conn` is used by one
 * thread at a time, between db_acquire() and db_release().
 *
 * Errors: functions return an `enum db_status`. The message of the last
 * failure is kept on the connection (db_conn_errmsg).
 *
 * Portability rules the drivers cannot hide:
 * - A failed statement inside a transaction ends that transaction on
 *   PostgreSQL (SQLite undoes only the statement), so after any failure in a
 *   transaction, roll back. Avoid expected failures with
 *   `INSERT ... ON CONFLICT DO NOTHING` instead of catching DB_CONSTRAINT.
 * - PostgreSQL infers parameter types from context: where the context gives
 *   none (`? IS NULL` alone, `? + 1`), write `CAST(? AS BIGINT)`.
 * - db_column_count is valid only after db_step returned DB_ROW.
 * - A PostgreSQL location may contain a password: never log it.
 */
#ifndef KONTOR_STORE_DB_H
#define KONTOR_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_status {
	DB_OK = 0,
	DB_ROW = 1,         /* db_step produced a row */
	DB_DONE = 2,        /* db_step finished the statement */
	DB_ERROR = -1,      /* any other failure: a bug or a bad statement */
	DB_CONSTRAINT = -2, /* unique, foreign key or check constraint violated */
	DB_UNAVAILABLE = -3,/* database unreachable, busy past the timeout, or the pool is exhausted */
};

typedef struct db db;
typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

/*
 * Driver: a constant table of functions, one per backend file. `native` is
 * the driver's connection handle, `stmt` its statement handle. Column and
 * parameter indexes start at 0. Text returned by column_text stays valid until
 * the next step, reset or finalize of that statement.
 */
struct db_driver {
	const char *name; /* "sqlite" or "postgresql" */
	int (*connect)(const char *location, void **native_r, char *err, size_t errlen);
	void (*disconnect)(void *native);
	/* Runs one or more statements with no parameters and no result rows. */
	int (*exec)(void *native, const char *sql);
	int (*prepare)(void *native, const char *sql, void **stmt_r);
	int (*bind_int64)(void *stmt, int index, int64_t value);
	int (*bind_double)(void *stmt, int index, double value);
	int (*bind_text)(void *stmt, int index, const char *text, size_t len);
	int (*bind_blob)(void *stmt, int index, const void *data, size_t len);
	int (*bind_null)(void *stmt, int index);
	int (*step)(void *stmt);
	int (*reset)(void *stmt);
	void (*finalize)(void *stmt);
	int (*column_count)(void *stmt);
	int (*column_is_null)(void *stmt, int index);
	int64_t (*column_int64)(void *stmt, int index);
	double (*column_double)(void *stmt, int index);
	const char *(*column_text)(void *stmt, int index);
	/* Blob bytes; *len_r receives the length. */
	const void *(*column_blob)(void *stmt, int index, size_t *len_r);
	/* Rows changed by the last INSERT, UPDATE or DELETE of this statement. */
	int64_t (*changes)(void *stmt);
	const char *(*errmsg)(void *native);
	/* Nonzero when the connection is broken and must be reopened. */
	int (*is_broken)(void *native);
	/* SQL that starts a write transaction ("BEGIN IMMEDIATE" or "BEGIN"). */
	const char *begin_write_sql;
	/*
	 * Nonzero when the reads of one request should share one transaction
	 * (db_begin_read). An embedded engine then takes its snapshot and locks
	 * once instead of once per statement. A server would pay two more round
	 * trips per request, so its driver leaves this 0.
	 */
	int reads_in_transaction;
	/* Nonzero when the statement cannot change the database; needed with reads_in_transaction. */
	int (*stmt_readonly)(void *stmt);
	/*
	 * A counter that changes whenever the content of the open read
	 * transaction's database may differ from the last read transaction's.
	 * A commit by this connection, another one or another process moves it.
	 * NULL where the engine cannot tell (PostgreSQL).
	 */
	int (*data_version)(void *native, uint64_t *version_r);
	/*
	 * Sends the bound statements `stmts[0..n)` of one connection in one round
	 * trip, so that each one's next step reads a result already received.
	 * A statement it could not run is left to run on its own first step.
	 * NULL where every statement costs no round trip (SQLite).
	 */
	void (*execute_batch)(void *native, void **stmts, int n);
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pgsql_driver;

/* Returns the driver for a location: PostgreSQL for postgres(ql):// URIs, else SQLite. */
const struct db_driver *db_driver_for(const char *location);

/*
 * Opens a pool of up to `pool_size` connections to `location` and runs the
 * schema migrations. On failure returns DB_ERROR or DB_UNAVAILABLE with a
 * message in `err`. The caller frees the pool with db_close().
 */
int db_open(const char *location, int pool_size, db **db_r, char *err, size_t errlen);
/* Closes every connection and frees the pool; clears the caller's pointer. */
void db_close(db **dbp);
const struct db_driver *db_get_driver(const db *d);
const char *db_get_location(const db *d);

/*
 * Takes a connection from the pool, waiting up to `timeout_ms`. Reconnects
 * a broken connection. Returns NULL when none could be had (the database is
 * down or every connection is busy): callers reply 503.
 */
db_conn *db_acquire(db *d, int timeout_ms);
/* Returns a connection to the pool, rolling back an open transaction. */
void db_release(db *d, db_conn *c);

const char *db_conn_errmsg(const db_conn *c);
/*
 * Returns the status of the connection's last failure since db_acquire, or
 * DB_OK, so that a caller that got NULL from db_query can tell whether the database
 * was unavailable (a timeout or a lost connection) or the statement was bad.
 */
int db_conn_last_status(const db_conn *c);
const struct db_driver *db_conn_driver(const db_conn *c);

/*
 * Returns a prepared statement for `sql`, reset and with its bindings
 * cleared. Statements are cached per connection by SQL text, so `sql` should
 * be a string literal. The statement is borrowed: call db_stmt_done() when
 * finished with its rows. Asking again for the same SQL on the same
 * connection resets the statement, so never nest two uses of one SQL text.
 * Returns NULL on failure (message on the connection).
 */
db_stmt *db_query(db_conn *c, const char *sql);
/* Resets a statement from db_query() so the connection can reuse it. */
void db_stmt_done(db_stmt *s);

int db_bind_int64(db_stmt *s, int index, int64_t value);
int db_bind_double(db_stmt *s, int index, double value);
/* Binds NUL-terminated text; NULL binds SQL NULL. */
int db_bind_text(db_stmt *s, int index, const char *text);
int db_bind_textn(db_stmt *s, int index, const char *text, size_t len);
int db_bind_blob(db_stmt *s, int index, const void *data, size_t len);
int db_bind_null(db_stmt *s, int index);
/* Binds 0 as NULL, anything else as the integer: for optional gids. */
int db_bind_gid(db_stmt *s, int index, int64_t gid);

/* Advances: DB_ROW, DB_DONE or an error status. */
int db_step(db_stmt *s);
/*
 * Runs the bound statements `stmts[0..n)` (at most DB_BATCH_MAX) of one
 * connection in one round trip to a database server, before their first
 * step, which then reads the rows already received. Use it for reads whose
 * parameters are all known up front. Nothing changes for SQLite. A
 * statement that fails in the batch runs again on its first step, which
 * reports the failure as usual, so the caller checks steps as always.
 */
#define DB_BATCH_MAX 8
void db_execute_batch(db_stmt *const *stmts, int n);
int db_column_count(db_stmt *s);
int db_column_is_null(db_stmt *s, int index);
int64_t db_column_int64(db_stmt *s, int index);
double db_column_double(db_stmt *s, int index);
/* Returns borrowed text, or NULL for SQL NULL. */
const char *db_column_text(db_stmt *s, int index);
const void *db_column_blob(db_stmt *s, int index, size_t *len_r);
int64_t db_changes(db_stmt *s);

/*
 * Steps a statement that returns no rows (or ignores them) and marks it done.
 * Returns DB_OK or an error status.
 */
int db_run(db_stmt *s);

/* Runs SQL without parameters or results (DDL, PRAGMA, SET). */
int db_exec(db_conn *c, const char *sql);

/* Transactions. db_begin_write takes the write lock up front on SQLite. */
int db_begin(db_conn *c);
int db_begin_write(db_conn *c);
int db_commit(db_conn *c);
int db_rollback(db_conn *c);
int db_in_transaction(const db_conn *c);

/*
 * A read snapshot around the statements of one request, on drivers that set
 * reads_in_transaction; elsewhere both calls do nothing. The snapshot ends
 * at db_end_read or db_release, and before anything that writes: db_begin,
 * db_begin_write, or a statement that can change the database (such as
 * recording a token's last use), which then runs on its own as it would
 * without the snapshot. db_in_transaction does not count the snapshot.
 */
int db_begin_read(db_conn *c);
int db_end_read(db_conn *c);

/*
 * Identifies the content the connection's read snapshot (db_begin_read)
 * sees, starting the snapshot if no statement has yet. Two calls on the same
 * connection that give the same version saw the same committed content, so
 * a value read in the first holds in the second. Returns DB_OK, or
 * DB_ERROR when the engine or the moment cannot tell (PostgreSQL, no open
 * snapshot, or after a write left the snapshot): callers then read afresh.
 */
struct db_version {
	uint64_t epoch; /* the connection's number in the process, new on every connect */
	uint64_t data;
};
int db_content_version(db_conn *c, struct db_version *version_r);

/* Applies the schema migrations not yet recorded in schema_migrations. */
int db_migrate(db_conn *c, char *err, size_t errlen);

#endif
