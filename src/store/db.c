/*
 * The driver-independent half of the storage seam: a pool of connections,
 * a per-connection cache of prepared statements, transactions and the
 * migration runner. Drivers (db_sqlite.c, db_pgsql.c) only talk to their
 * engine; everything shared lives here.
 */
#include "store/db.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Statements cached per connection, in an open-addressing table that grows
 * and never evicts: SQL texts are literals, so their number is bounded by
 * the program, and evicting could reset a statement a caller is reading.
 */
#define STMT_CACHE_INITIAL 256

struct db_stmt {
	db_conn *conn;
	const char *sql_key; /* the caller's SQL pointer: the cache key */
	char *sql;           /* owned copy, compared when pointers differ */
	void *native;
};

/*
 * A second table finds statements by the address of their SQL, so that a
 * hit skips hashing the text, which for a long query costs more than running
 * it. It grows like the first and never evicts: an earlier fixed-size table
 * let two statements of one request evict each other on every request.
 */
#define STMT_BY_ADDRESS_INITIAL_BITS 8

struct stmt_address {
	const char *sql;
	db_stmt *stmt;
};

struct db_conn {
	db *pool;
	void *native;
	int in_transaction;
	int in_read; /* a db_begin_read snapshot is open */
	uint64_t epoch; /* this connect's number in the process, for db_content_version */
	atomic_int busy; /* taken with a compare-and-swap, so the fast path needs no lock */
	char errmsg[1024];
	int last_status;    /* status of the last failure since db_acquire, DB_OK if none */
	db_stmt **cache;    /* capacity entries, NULL where empty */
	size_t capacity;    /* a power of two */
	size_t cached;
	struct stmt_address *by_address; /* 2^address_bits entries, sql NULL where empty */
	unsigned address_bits;
	size_t addresses;
};

/*
 * After a failed connect, the pool waits before the next attempt: 100 ms,
 * doubling up to 2 s. In between, db_acquire() returns NULL at once, so
 * during an outage requests get 503 without each waiting for a connect
 * timeout, and a restarted database is found within 2 s.
 */
#define CONNECT_BACKOFF_MIN_US 100000
#define CONNECT_BACKOFF_MAX_US 2000000

struct db {
	const struct db_driver *driver;
	char *location;
	int size;
	db_conn **conns;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	atomic_int waiters; /* threads waiting on `freed`, changed under lock */
	/* Guarded by lock: connect backoff on the monotonic clock. */
	int64_t connect_not_before_us;
	int64_t connect_backoff_us;
	int connect_failing;
};

const struct db_driver *db_driver_for(const char *location)
{
	if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
		return &db_pgsql_driver;
	return &db_sqlite_driver;
}

static void conn_set_error(db_conn *c, const char *prefix)
{
	const char *msg = c->native ? c->pool->driver->errmsg(c->native) : "not connected";

	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", prefix, msg ? msg : "unknown error");
}

static void conn_clear_cache(db_conn *c)
{
	for (size_t i = 0; i < c->capacity; i++) {
		db_stmt *s = c->cache[i];

		if (s == NULL)
			continue;
		if (c->native)
			c->pool->driver->finalize(s->native);
		free(s->sql);
		free(s);
	}
	free(c->cache);
	c->cache = NULL;
	c->capacity = 0;
	c->cached = 0;
	free(c->by_address);
	c->by_address = NULL;
	c->address_bits = 0;
	c->addresses = 0;
}

/* Numbers every connect in the process, so a version of one connection never equals another's. */
static atomic_uint_fast64_t connects;

static int conn_connect(db_conn *c)
{
	char err[512];
	int status;

	status = c->pool->driver->connect(c->pool->location, &c->native, err, sizeof(err));
	if (status != DB_OK) {
		c->native = NULL;
		snprintf(c->errmsg, sizeof(c->errmsg), "connect failed: %s", err);
		return status;
	}
	c->epoch = atomic_fetch_add(&connects, 1) + 1;
	return DB_OK;
}

static void conn_disconnect(db_conn *c)
{
	conn_clear_cache(c);
	if (c->native)
		c->pool->driver->disconnect(c->native);
	c->native = NULL;
	c->in_transaction = 0;
	c->in_read = 0;
}

int db_open(const char *location, int pool_size, db **db_r, char *err, size_t errlen)
{
	db *d;
	db_conn *first;
	int status;

	*db_r = NULL;
	if (pool_size < 1)
		pool_size = 1;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return DB_ERROR;
	}
	d->driver = db_driver_for(location);
	d->location = strdup(location);
	d->size = pool_size;
	d->conns = calloc((size_t)pool_size, sizeof(*d->conns));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->freed, NULL);
	if (d->location == NULL || d->conns == NULL) {
		snprintf(err, errlen, "out of memory");
		db_close(&d);
		return DB_ERROR;
	}
	for (int i = 0; i < pool_size; i++) {
		d->conns[i] = calloc(1, sizeof(db_conn));
		if (d->conns[i] == NULL) {
			snprintf(err, errlen, "out of memory");
			db_close(&d);
			return DB_ERROR;
		}
		d->conns[i]->pool = d;
	}

	/* Connect one now so a wrong location fails at start, then migrate. */
	first = d->conns[0];
	status = conn_connect(first);
	if (status != DB_OK) {
		snprintf(err, errlen, "%s", first->errmsg);
		db_close(&d);
		return status;
	}
	status = db_migrate(first, err, errlen);
	if (status != DB_OK) {
		db_close(&d);
		return status;
	}
	/* Migrations changed session settings; the next db_acquire opens a fresh connection. */
	conn_disconnect(first);
	*db_r = d;
	return DB_OK;
}

void db_close(db **dbp)
{
	db *d = *dbp;

	if (d == NULL)
		return;
	for (int i = 0; d->conns && i < d->size; i++) {
		if (d->conns[i] == NULL)
			continue;
		conn_disconnect(d->conns[i]);
		free(d->conns[i]);
	}
	free(d->conns);
	free(d->location);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->freed);
	free(d);
	*dbp = NULL;
}

const struct db_driver *db_get_driver(const db *d)
{
	return d->driver;
}

const char *db_get_location(const db *d)
{
	return d->location;
}

/*
 * Connects `c` unless the pool is backing off after a failure. While
 * connects fail, one thread at a time tries, because each attempt moves
 * connect_not_before_us first; otherwise connections open in parallel as
 * the pool grows.
 */
static int pool_connect(db *d, db_conn *c)
{
	int64_t now = time_mono_us();
	int status, was_failing;

	pthread_mutex_lock(&d->lock);
	if (d->connect_failing) {
		if (now < d->connect_not_before_us) {
			pthread_mutex_unlock(&d->lock);
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "database unreachable; the next connect attempt is due shortly");
			return DB_UNAVAILABLE;
		}
		d->connect_not_before_us = now + d->connect_backoff_us;
	}
	pthread_mutex_unlock(&d->lock);

	status = conn_connect(c);

	pthread_mutex_lock(&d->lock);
	was_failing = d->connect_failing;
	if (status == DB_OK) {
		d->connect_backoff_us = 0;
		d->connect_not_before_us = 0;
		d->connect_failing = 0;
	} else {
		d->connect_backoff_us = d->connect_backoff_us ? d->connect_backoff_us * 2 : CONNECT_BACKOFF_MIN_US;
		if (d->connect_backoff_us > CONNECT_BACKOFF_MAX_US)
			d->connect_backoff_us = CONNECT_BACKOFF_MAX_US;
		d->connect_not_before_us = time_mono_us() + d->connect_backoff_us;
		d->connect_failing = 1;
	}
	pthread_mutex_unlock(&d->lock);

	/* Logged on the first failure and on recovery, not on every retry of an outage. */
	if (status != DB_OK && !was_failing)
		log_error("store", "database connect failed; retrying with backoff", "error", c->errmsg, NULL);
	else if (status != DB_OK)
		log_debug("store", "database connect failed again", "error", c->errmsg, NULL);
	else if (was_failing)
		log_info("store", "database connection restored", NULL);
	return status;
}

/*
 * The connection each thread used last, and its pool. A request thread that
 * takes the same connection again needs no lock, finds its statements and
 * pages warm, and does not contend with the other threads for the pool.
 */
static _Thread_local const db *affinity_pool;
static _Thread_local int affinity_index;

static int conn_try_take(db_conn *c)
{
	int idle = 0;

	return atomic_compare_exchange_strong_explicit(&c->busy, &idle, 1, memory_order_acquire,
						       memory_order_relaxed);
}

/* Takes an idle connection, a connected one first so that the pool grows lazily. Returns -1 when all are busy. */
static int pool_take_any(db *d)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < d->size; i++) {
			db_conn *c = d->conns[i];

			if ((pass == 1 || c->native != NULL) && atomic_load_explicit(&c->busy, memory_order_relaxed) == 0 &&
			    conn_try_take(c))
				return i;
		}
	return -1;
}

/* Waits under the pool's lock until a connection is free. Returns -1 when the timeout passes first. */
static int pool_wait_take(db *d, int timeout_ms)
{
	struct timespec deadline;
	int index;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&d->lock);
	/* Counted before the scan, so a release after the scan sees a waiter and signals. */
	atomic_fetch_add(&d->waiters, 1);
	atomic_thread_fence(memory_order_seq_cst);
	for (;;) {
		index = pool_take_any(d);
		if (index >= 0)
			break;
		if (pthread_cond_timedwait(&d->freed, &d->lock, &deadline) == ETIMEDOUT) {
			index = pool_take_any(d);
			break;
		}
	}
	atomic_fetch_sub(&d->waiters, 1);
	pthread_mutex_unlock(&d->lock);
	return index;
}

db_conn *db_acquire(db *d, int timeout_ms)
{
	int index = -1;
	db_conn *c;

	if (affinity_pool == d && affinity_index < d->size && conn_try_take(d->conns[affinity_index]))
		index = affinity_index;
	if (index < 0)
		index = pool_take_any(d);
	if (index < 0)
		index = pool_wait_take(d, timeout_ms);
	if (index < 0) {
		log_warn("store", "no database connection free", "timeout_ms", LOG_INT(timeout_ms), NULL);
		return NULL;
	}
	affinity_pool = d;
	affinity_index = index;
	c = d->conns[index];
	c->last_status = DB_OK;

	if (c->native && d->driver->is_broken(c->native)) {
		log_warn("store", "database connection broken, reconnecting", NULL);
		conn_disconnect(c);
	}
	if (c->native == NULL && pool_connect(d, c) != DB_OK) {
		db_release(d, c);
		return NULL;
	}
	return c;
}

void db_release(db *d, db_conn *c)
{
	if (c == NULL)
		return;
	if (c->in_read)
		db_end_read(c);
	if (c->in_transaction)
		db_rollback(c);
	atomic_store_explicit(&c->busy, 0, memory_order_release);
	/* Pairs with the fence in pool_wait_take: either the waiter sees this connection free or we see the waiter. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&d->waiters, memory_order_relaxed) > 0) {
		pthread_mutex_lock(&d->lock);
		pthread_cond_signal(&d->freed);
		pthread_mutex_unlock(&d->lock);
	}
}

int db_conn_last_status(const db_conn *c)
{
	return c->last_status;
}

const char *db_conn_errmsg(const db_conn *c)
{
	return c->errmsg;
}

const struct db_driver *db_conn_driver(const db_conn *c)
{
	return c->pool->driver;
}

/* FNV-1a over the SQL text, so equal texts at different addresses share an entry. */
static size_t hash_sql(const char *sql)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* Returns the slot holding `sql`, or the empty slot where it belongs. */
static size_t cache_slot(const db_conn *c, const char *sql)
{
	size_t mask = c->capacity - 1, i = hash_sql(sql) & mask;

	while (c->cache[i] != NULL && c->cache[i]->sql_key != sql && strcmp(c->cache[i]->sql, sql) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Doubles the table when it is half full; returns -1 when out of memory. */
static int cache_reserve(db_conn *c)
{
	db_stmt **old = c->cache;
	size_t old_capacity = c->capacity;

	if (c->capacity != 0 && (c->cached + 1) * 2 <= c->capacity)
		return 0;
	c->capacity = old_capacity ? old_capacity * 2 : STMT_CACHE_INITIAL;
	c->cache = calloc(c->capacity, sizeof(*c->cache));
	if (c->cache == NULL) {
		c->cache = old;
		c->capacity = old_capacity;
		return -1;
	}
	for (size_t i = 0; i < old_capacity; i++)
		if (old[i] != NULL)
			c->cache[cache_slot(c, old[i]->sql)] = old[i];
	free(old);
	return 0;
}

/* Returns the by-address slot holding `sql`, or the empty slot where it belongs. */
static size_t address_slot(const struct stmt_address *table, unsigned bits, const char *sql)
{
	size_t mask = ((size_t)1 << bits) - 1;
	size_t i = (size_t)(((uint64_t)(uintptr_t)sql * 0x9E3779B97F4A7C15ULL) >> (64 - bits));

	while (table[i].sql != NULL && table[i].sql != sql)
		i = (i + 1) & mask;
	return i;
}

/* Files `stmt` under the address `sql`, doubling the table when half full. Out of memory only skips the entry. */
static void address_remember(db_conn *c, const char *sql, db_stmt *stmt)
{
	if (c->by_address == NULL || (c->addresses + 1) * 2 > ((size_t)1 << c->address_bits)) {
		unsigned bits = c->by_address ? c->address_bits + 1 : STMT_BY_ADDRESS_INITIAL_BITS;
		struct stmt_address *grown = calloc((size_t)1 << bits, sizeof(*grown));

		if (grown == NULL)
			return;
		for (size_t i = 0; c->by_address && i < ((size_t)1 << c->address_bits); i++)
			if (c->by_address[i].sql != NULL)
				grown[address_slot(grown, bits, c->by_address[i].sql)] = c->by_address[i];
		free(c->by_address);
		c->by_address = grown;
		c->address_bits = bits;
	}
	c->by_address[address_slot(c->by_address, c->address_bits, sql)] = (struct stmt_address){ sql, stmt };
	c->addresses++;
}

db_stmt *db_query(db_conn *c, const char *sql)
{
	const struct db_driver *drv = c->pool->driver;
	db_stmt *s;
	void *native;
	size_t slot;

	if (c->native == NULL) {
		snprintf(c->errmsg, sizeof(c->errmsg), "not connected");
		return NULL;
	}
	if (c->by_address != NULL) {
		const struct stmt_address *hit = &c->by_address[address_slot(c->by_address, c->address_bits, sql)];

		if (hit->sql != NULL) {
			drv->reset(hit->stmt->native);
			return hit->stmt;
		}
	}
	if (cache_reserve(c) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
		return NULL;
	}
	slot = cache_slot(c, sql);
	if (c->cache[slot] != NULL) {
		drv->reset(c->cache[slot]->native);
		address_remember(c, sql, c->cache[slot]);
		return c->cache[slot];
	}

	c->last_status = drv->prepare(c->native, sql, &native);
	if (c->last_status != DB_OK) {
		conn_set_error(c, "prepare failed");
		log_error("store", "prepare failed", "error", c->errmsg, NULL);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s != NULL)
		s->sql = strdup(sql);
	if (s == NULL || s->sql == NULL) {
		free(s);
		drv->finalize(native);
		snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
		return NULL;
	}
	s->conn = c;
	s->sql_key = sql;
	s->native = native;
	c->cache[slot] = s;
	c->cached++;
	address_remember(c, sql, s);
	return s;
}

void db_stmt_done(db_stmt *s)
{
	if (s)
		s->conn->pool->driver->reset(s->native);
}

static int bind_result(db_stmt *s, int status)
{
	if (status != DB_OK)
		conn_set_error(s->conn, "bind failed");
	return status;
}

int db_bind_int64(db_stmt *s, int index, int64_t value)
{
	return bind_result(s, s->conn->pool->driver->bind_int64(s->native, index, value));
}

int db_bind_double(db_stmt *s, int index, double value)
{
	return bind_result(s, s->conn->pool->driver->bind_double(s->native, index, value));
}

int db_bind_text(db_stmt *s, int index, const char *text)
{
	if (text == NULL)
		return db_bind_null(s, index);
	return db_bind_textn(s, index, text, strlen(text));
}

int db_bind_textn(db_stmt *s, int index, const char *text, size_t len)
{
	return bind_result(s, s->conn->pool->driver->bind_text(s->native, index, text, len));
}

int db_bind_blob(db_stmt *s, int index, const void *data, size_t len)
{
	return bind_result(s, s->conn->pool->driver->bind_blob(s->native, index, data, len));
}

int db_bind_null(db_stmt *s, int index)
{
	return bind_result(s, s->conn->pool->driver->bind_null(s->native, index));
}

int db_bind_gid(db_stmt *s, int index, int64_t gid)
{
	return gid == 0 ? db_bind_null(s, index) : db_bind_int64(s, index, gid);
}

int db_step(db_stmt *s)
{
	const struct db_driver *drv = s->conn->pool->driver;
	int status;

	/* A write leaves the read snapshot, so it never fails for a snapshot that went stale. */
	if (s->conn->in_read && !drv->stmt_readonly(s->native))
		db_end_read(s->conn);
	status = drv->step(s->native);

	if (status < 0) {
		s->conn->last_status = status;
		conn_set_error(s->conn, "statement failed");
	}
	return status;
}

void db_execute_batch(db_stmt *const *stmts, int n)
{
	const struct db_driver *drv;
	void *natives[DB_BATCH_MAX];

	if (n < 2 || n > DB_BATCH_MAX)
		return;
	drv = stmts[0]->conn->pool->driver;
	if (drv->execute_batch == NULL || stmts[0]->conn->native == NULL)
		return;
	for (int i = 0; i < n; i++) {
		/* Only statements of one connection share its round trip. */
		if (stmts[i]->conn != stmts[0]->conn)
			return;
		natives[i] = stmts[i]->native;
	}
	drv->execute_batch(stmts[0]->conn->native, natives, n);
}

int db_column_count(db_stmt *s)
{
	return s->conn->pool->driver->column_count(s->native);
}

int db_column_is_null(db_stmt *s, int index)
{
	return s->conn->pool->driver->column_is_null(s->native, index);
}

int64_t db_column_int64(db_stmt *s, int index)
{
	return s->conn->pool->driver->column_int64(s->native, index);
}

double db_column_double(db_stmt *s, int index)
{
	return s->conn->pool->driver->column_double(s->native, index);
}

const char *db_column_text(db_stmt *s, int index)
{
	if (s->conn->pool->driver->column_is_null(s->native, index))
		return NULL;
	return s->conn->pool->driver->column_text(s->native, index);
}

const void *db_column_blob(db_stmt *s, int index, size_t *len_r)
{
	return s->conn->pool->driver->column_blob(s->native, index, len_r);
}

int64_t db_changes(db_stmt *s)
{
	return s->conn->pool->driver->changes(s->native);
}

int db_run(db_stmt *s)
{
	int status;

	do
		status = db_step(s);
	while (status == DB_ROW);
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

int db_exec(db_conn *c, const char *sql)
{
	int status;

	if (c->native == NULL) {
		snprintf(c->errmsg, sizeof(c->errmsg), "not connected");
		return DB_UNAVAILABLE;
	}
	status = c->pool->driver->exec(c->native, sql);

	if (status != DB_OK) {
		c->last_status = status;
		conn_set_error(c, "exec failed");
	}
	return status;
}

int db_begin(db_conn *c)
{
	int status;

	if (c->in_read)
		db_end_read(c);
	status = db_exec(c, "BEGIN");

	if (status == DB_OK)
		c->in_transaction = 1;
	return status;
}

int db_begin_write(db_conn *c)
{
	int status;

	if (c->in_read)
		db_end_read(c);
	status = db_exec(c, c->pool->driver->begin_write_sql);

	if (status == DB_OK)
		c->in_transaction = 1;
	return status;
}

int db_commit(db_conn *c)
{
	int status = db_exec(c, "COMMIT");

	/* A failed COMMIT leaves no transaction open on either engine after ROLLBACK. */
	if (status != DB_OK) {
		char saved[sizeof(c->errmsg)];

		memcpy(saved, c->errmsg, sizeof(saved));
		c->pool->driver->exec(c->native, "ROLLBACK");
		memcpy(c->errmsg, saved, sizeof(saved));
	}
	c->in_transaction = 0;
	return status;
}

int db_rollback(db_conn *c)
{
	int status = DB_OK;

	if (c->native)
		status = c->pool->driver->exec(c->native, "ROLLBACK");
	c->in_transaction = 0;
	c->in_read = 0;
	return status;
}

int db_in_transaction(const db_conn *c)
{
	return c->in_transaction;
}

/* Runs BEGIN or COMMIT through the statement cache: they run on every request, so they are not parsed each time. */
static int run_cached(db_conn *c, const char *sql)
{
	db_stmt *s = db_query(c, sql);

	if (s == NULL)
		return DB_ERROR;
	return db_run(s);
}

int db_begin_read(db_conn *c)
{
	int status;

	if (!c->pool->driver->reads_in_transaction || c->in_transaction || c->in_read)
		return DB_OK;
	status = run_cached(c, "BEGIN");
	if (status == DB_OK)
		c->in_read = 1;
	return status;
}

int db_content_version(db_conn *c, struct db_version *version_r)
{
	const struct db_driver *drv = c->pool->driver;
	db_stmt *s;
	int status;

	if (drv->data_version == NULL || !c->in_read || c->native == NULL)
		return DB_ERROR;
	/*
	 * The pager learns of other connections' commits when a read transaction
	 * starts, and a deferred BEGIN has not started one yet. This pragma
	 * does, and it only reads, so the snapshot stays open.
	 */
	s = db_query(c, "PRAGMA data_version");
	if (s == NULL)
		return DB_ERROR;
	status = db_step(s);
	db_stmt_done(s);
	if (status != DB_ROW || !c->in_read)
		return DB_ERROR;
	if (drv->data_version(c->native, &version_r->data) != DB_OK)
		return DB_ERROR;
	version_r->epoch = c->epoch;
	return DB_OK;
}

int db_end_read(db_conn *c)
{
	int status;

	if (!c->in_read)
		return DB_OK;
	c->in_read = 0;
	status = run_cached(c, "COMMIT");
	/* A snapshot that cannot commit (a statement left running) must not outlive the request. */
	if (status != DB_OK && c->native)
		c->pool->driver->exec(c->native, "ROLLBACK");
	return status;
}

static int migration_applied(db_conn *c, int version, int *applied_r)
{
	db_stmt *s = db_query(c, "SELECT 1 FROM schema_migrations WHERE version = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, version);
	status = db_step(s);
	*applied_r = status == DB_ROW;
	db_stmt_done(s);
	return status < 0 ? status : DB_OK;
}

/* Returns the SQLite code that replaces migration `version`'s SQL, or NULL. */
static const struct db_sqlite_rebuild *sqlite_rebuild_for(int version)
{
	for (int i = 0; i < db_sqlite_rebuild_count; i++)
		if (db_sqlite_rebuilds[i].version == version)
			return &db_sqlite_rebuilds[i];
	return NULL;
}

/* Checks every foreign key, which SQLite does not while they are off. Returns a db status. */
static int foreign_keys_intact(db_conn *c)
{
	db_stmt *s = db_query(c, "PRAGMA foreign_key_check");
	int status;

	if (s == NULL)
		return DB_ERROR;
	status = db_step(s);
	if (status == DB_ROW) {
		snprintf(c->errmsg, sizeof(c->errmsg), "a row of %s refers to a missing row",
			 db_column_text(s, 0) ? db_column_text(s, 0) : "a table");
		status = DB_CONSTRAINT;
	}
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

static int migrate_all(db_conn *c, char *err, size_t errlen)
{
	int is_pg = c->pool->driver == &db_pgsql_driver;
	int status;

	status = db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
	if (status != DB_OK) {
		snprintf(err, errlen, "%s", c->errmsg);
		return status;
	}

	for (int i = 0; i < db_migration_count; i++) {
		const struct db_migration *m = &db_migrations[i];
		const char *override = is_pg ? m->pgsql : m->sqlite;
		const char *sql = override ? override : m->common;
		const struct db_sqlite_rebuild *rebuild = is_pg ? NULL : sqlite_rebuild_for(m->version);
		int applied = 0;
		db_stmt *s;

		/* SQLite changes this setting only outside a transaction. */
		if (rebuild != NULL && db_exec(c, "PRAGMA foreign_keys=OFF") != DB_OK) {
			snprintf(err, errlen, "migration %d (%s) cannot turn foreign keys off: %s", m->version, m->name,
				 c->errmsg);
			return DB_ERROR;
		}

		/* Serialise concurrent starters: the write lock is taken before the check. */
		status = db_begin_write(c);
		if (status == DB_OK && is_pg)
			status = db_exec(c, "LOCK TABLE schema_migrations IN EXCLUSIVE MODE");
		if (status == DB_OK)
			status = migration_applied(c, m->version, &applied);
		if (status == DB_OK && !applied && rebuild != NULL) {
			log_info("store", "migration started: it rewrites tables and can take a while on a large database",
				 "version", LOG_INT(m->version), "name", m->name, NULL);
			status = rebuild->apply(c);
			if (status == DB_OK)
				status = foreign_keys_intact(c);
		} else if (status == DB_OK && !applied) {
			status = db_exec(c, sql);
		}
		if (status == DB_OK && !applied) {
			s = db_query(c, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
			if (s != NULL) {
				db_bind_int64(s, 0, m->version);
				db_bind_text(s, 1, m->name);
				db_bind_int64(s, 2, (int64_t)time(NULL) * 1000000);
				status = db_run(s);
			} else {
				status = DB_ERROR;
			}
		}
		if (status != DB_OK) {
			snprintf(err, errlen, "migration %d (%s) failed: %s", m->version, m->name, c->errmsg);
			db_rollback(c);
			if (rebuild != NULL)
				db_exec(c, "PRAGMA foreign_keys=ON");
			return status;
		}
		status = db_commit(c);
		if (rebuild != NULL) {
			db_exec(c, "PRAGMA foreign_keys=ON");
			/* The rebuild passed every row through the WAL: give that space back now. */
			if (status == DB_OK && !applied && db_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)") != DB_OK)
				log_warn("store", "cannot truncate the WAL after a migration; it shrinks at a later checkpoint",
					 "error", c->errmsg, NULL);
		}
		if (status != DB_OK) {
			snprintf(err, errlen, "migration %d (%s) commit failed: %s", m->version, m->name, c->errmsg);
			return status;
		}
		if (!applied)
			log_info("store", "migration applied", "version", LOG_INT(m->version), "name", m->name, NULL);
	}
	return DB_OK;
}

/* Any fixed number works: it names the lock that kontor processes share. */
#define MIGRATION_LOCK_KEY "7011965341"

int db_migrate(db_conn *c, char *err, size_t errlen)
{
	int status;

	if (c->pool->driver != &db_pgsql_driver)
		return migrate_all(c, err, errlen);

	/*
	 * On PostgreSQL two first starts would both create schema_migrations
	 * before either could lock it, so a session advisory lock serialises
	 * all starters. A migration may also outlast the statement timeout;
	 * db_open reconnects this connection afterwards, which restores it.
	 */
	status = db_exec(c, "SET statement_timeout = 0");
	if (status == DB_OK)
		status = db_exec(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")");
	if (status != DB_OK) {
		snprintf(err, errlen, "cannot lock the schema for migrations: %s", c->errmsg);
		return status;
	}
	status = migrate_all(c, err, errlen);
	if (db_exec(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")") != DB_OK)
		log_warn("store", "cannot release the migration lock; it ends with the connection", "error", c->errmsg,
			 NULL);
	return status;
}
