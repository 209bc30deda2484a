/*
 * Node-id leases in the node_leases table: the claim at start, the renewal
 * thread and the release at stop. The claim is one upsert that succeeds only
 * when the row is missing, expired or already this holder's, so two
 * processes racing for one id cannot both win on either engine.
 */
#include "jobs/node_lease.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long the renewal thread waits for a pooled connection. */
#define LEASE_ACQUIRE_TIMEOUT_MS 2000
#define HOLDER_MAX 160

struct node_lease {
	db *db;
	int requested;         /* NODE_ID_AUTO or a fixed id */
	int node_id;           /* written only by the renewal thread once it runs */
	char holder[HOLDER_MAX];
	pthread_t thread;
	int thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	int64_t renewed_at;    /* wall-clock time of the last successful renewal */
	int failing;           /* a renewal failed and the recovery is not logged yet */
};

static const char claim_sql[] =
	"INSERT INTO node_leases (node_id, holder, expires_at) VALUES (?, ?, ?)"
	" ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
	" WHERE node_leases.expires_at < ? OR node_leases.holder = excluded.holder";
static const char live_sql[] = "SELECT node_id FROM node_leases WHERE expires_at >= ? ORDER BY node_id";
static const char holder_sql[] = "SELECT holder, expires_at FROM node_leases WHERE node_id = ?";
static const char renew_sql[] = "UPDATE node_leases SET expires_at = ? WHERE node_id = ? AND holder = ?";
static const char release_sql[] = "DELETE FROM node_leases WHERE node_id = ? AND holder = ?";

/* Tries to take `id`; *claimed_r is 1 when this holder now has it. Returns DB_OK or an error status. */
static int claim_id(db_conn *c, int id, const char *holder, int *claimed_r)
{
	int64_t now = time_now_us();
	db_stmt *s = db_query(c, claim_sql);
	int status;

	*claimed_r = 0;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, id);
	db_bind_text(s, 1, holder);
	db_bind_int64(s, 2, now + NODE_LEASE_TTL_US);
	db_bind_int64(s, 3, now);
	status = db_step(s);
	if (status == DB_DONE)
		*claimed_r = db_changes(s) == 1;
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

/* Takes the lowest id without a live lease. Another process may win an id between the read and the claim, so a lost id is skipped. */
static int claim_lowest_free(db_conn *c, const char *holder, int *id_r, char *err, size_t errlen)
{
	unsigned char used[GID_NODE_MAX + 1];
	db_stmt *s;
	int status, claimed;

	memset(used, 0, sizeof(used));
	s = db_query(c, live_sql);
	if (s == NULL) {
		snprintf(err, errlen, "reading node leases failed: %s", db_conn_errmsg(c));
		return DB_ERROR;
	}
	db_bind_int64(s, 0, time_now_us());
	while ((status = db_step(s)) == DB_ROW) {
		int64_t id = db_column_int64(s, 0);

		if (id >= 0 && id <= GID_NODE_MAX)
			used[id] = 1;
	}
	db_stmt_done(s);
	if (status != DB_DONE) {
		snprintf(err, errlen, "reading node leases failed: %s", db_conn_errmsg(c));
		return status;
	}

	for (int id = 0; id <= GID_NODE_MAX; id++) {
		if (used[id])
			continue;
		status = claim_id(c, id, holder, &claimed);
		if (status != DB_OK) {
			snprintf(err, errlen, "claiming node id %d failed: %s", id, db_conn_errmsg(c));
			return status;
		}
		if (claimed) {
			*id_r = id;
			return DB_OK;
		}
	}
	snprintf(err, errlen, "every node id from 0 to %d is held by a running process; stop some, or wait %lld s "
			      "for the leases of stopped ones to expire",
		 GID_NODE_MAX, NODE_LEASE_TTL_US / 1000000);
	return DB_ERROR;
}

/* Writes the start-up error that names the current holder of `id`. */
static void describe_holder(db_conn *c, int id, char *err, size_t errlen)
{
	db_stmt *s = db_query(c, holder_sql);
	char until[40] = "an unknown time";
	char holder[HOLDER_MAX] = "another process";

	if (s != NULL) {
		db_bind_int64(s, 0, id);
		if (db_step(s) == DB_ROW) {
			snprintf(holder, sizeof(holder), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "?");
			time_format_iso(db_column_int64(s, 1), until, sizeof(until));
		}
		db_stmt_done(s);
	}
	snprintf(err, errlen,
		 "node id %d is held by %s until %s. Stop that process, choose another --node-id, or leave "
		 "--node-id out to take a free id. The lease of a killed process expires %lld s after its last "
		 "renewal.",
		 id, holder, until, NODE_LEASE_TTL_US / 1000000);
}

/* Extends the lease; *lost_r is set when the row no longer belongs to this holder. */
static int renew(db_conn *c, const struct node_lease *lease, int *lost_r)
{
	db_stmt *s = db_query(c, renew_sql);
	int status;

	*lost_r = 0;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, time_now_us() + NODE_LEASE_TTL_US);
	db_bind_int64(s, 1, lease->node_id);
	db_bind_text(s, 2, lease->holder);
	status = db_step(s);
	if (status == DB_DONE)
		*lost_r = db_changes(s) == 0;
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

/*
 * Handles a renewal that found the row gone or taken. The same id is tried
 * first; then an automatic lease moves to another id, and a requested one
 * stops the process.
 */
static void recover_lost_lease(db_conn *c, struct node_lease *lease)
{
	char err[512];
	int claimed = 0, id;

	if (claim_id(c, lease->node_id, lease->holder, &claimed) == DB_OK && claimed) {
		log_warn("lease", "node lease had expired; claimed the same node id again", "node_id",
			 LOG_INT(lease->node_id), NULL);
		return;
	}
	if (lease->requested == NODE_ID_AUTO && claim_lowest_free(c, lease->holder, &id, err, sizeof(err)) == DB_OK) {
		log_warn("lease", "node lease was taken by another process; switched to a free node id", "old_node_id",
			 LOG_INT(lease->node_id), "node_id", LOG_INT(id), NULL);
		gid_set_node(id);
		pthread_mutex_lock(&lease->lock);
		lease->node_id = id;
		pthread_mutex_unlock(&lease->lock);
		return;
	}
	log_error("lease", "node lease was taken by another process; stopping, because serving on would mint "
			   "gids that collide with it",
		  "node_id", LOG_INT(lease->node_id), NULL);
	raise(SIGTERM);
}

static void renew_once(struct node_lease *lease)
{
	db_conn *c = db_acquire(lease->db, LEASE_ACQUIRE_TIMEOUT_MS);
	int status = DB_UNAVAILABLE, lost = 0;
	int64_t now = time_now_us();

	if (c != NULL)
		status = renew(c, lease, &lost);
	if (status == DB_OK && lost)
		recover_lost_lease(c, lease);
	if (status == DB_OK) {
		if (lease->failing)
			log_info("lease", "node lease renewed again", "node_id", LOG_INT(lease->node_id), NULL);
		lease->failing = 0;
		lease->renewed_at = now;
	} else if (!lease->failing || now - lease->renewed_at > NODE_LEASE_TTL_US) {
		/* Logged when renewals start failing, then on each try once the lease has run out. */
		log_warn("lease", "cannot renew the node lease; retrying", "node_id", LOG_INT(lease->node_id),
			 "expired", now - lease->renewed_at > NODE_LEASE_TTL_US ? "true" : "false", "error",
			 c ? db_conn_errmsg(c) : "no database connection", NULL);
		lease->failing = 1;
	}
	if (c != NULL)
		db_release(lease->db, c);
}

static void *renew_loop(void *arg)
{
	struct node_lease *lease = arg;
	struct timespec deadline;

	pthread_mutex_lock(&lease->lock);
	while (!lease->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += NODE_LEASE_RENEW_US / 1000000;
		while (!lease->stopping && pthread_cond_timedwait(&lease->wake, &lease->lock, &deadline) != ETIMEDOUT)
			;
		if (lease->stopping)
			break;
		pthread_mutex_unlock(&lease->lock);
		renew_once(lease);
		pthread_mutex_lock(&lease->lock);
	}
	pthread_mutex_unlock(&lease->lock);
	return NULL;
}

static void make_holder(char *out, size_t len)
{
	char host[64];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown-host");
	host[sizeof(host) - 1] = '\0';
	/* The random part tells apart two processes that reuse a pid, such as in containers. */
	snprintf(out, len, "%s pid %ld (%08x)", host, (long)getpid(), (unsigned)randombytes_random());
}

struct node_lease *node_lease_start(db *d, int requested, char *err, size_t errlen)
{
	struct node_lease *lease;
	pthread_condattr_t attr;
	db_conn *c;
	int status, claimed = 0;

	if (requested != NODE_ID_AUTO && (requested < 0 || requested > GID_NODE_MAX)) {
		snprintf(err, errlen, "invalid node id %d: expected 0 to %d", requested, GID_NODE_MAX);
		return NULL;
	}
	lease = calloc(1, sizeof(*lease));
	if (lease == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	lease->db = d;
	lease->requested = requested;
	make_holder(lease->holder, sizeof(lease->holder));
	pthread_mutex_init(&lease->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&lease->wake, &attr);
	pthread_condattr_destroy(&attr);

	c = db_acquire(d, LEASE_ACQUIRE_TIMEOUT_MS * 5);
	if (c == NULL) {
		snprintf(err, errlen, "claiming a node id failed: no database connection");
		goto fail;
	}
	if (requested == NODE_ID_AUTO) {
		status = claim_lowest_free(c, lease->holder, &lease->node_id, err, errlen);
	} else {
		lease->node_id = requested;
		status = claim_id(c, requested, lease->holder, &claimed);
		if (status != DB_OK)
			snprintf(err, errlen, "claiming node id %d failed: %s", requested, db_conn_errmsg(c));
		else if (!claimed) {
			describe_holder(c, requested, err, errlen);
			status = DB_CONSTRAINT;
		}
	}
	db_release(d, c);
	if (status != DB_OK)
		goto fail;

	gid_set_node(lease->node_id);
	lease->renewed_at = time_now_us();
	if (pthread_create(&lease->thread, NULL, renew_loop, lease) != 0) {
		snprintf(err, errlen, "cannot start the node lease thread");
		lease->thread_started = 0;
		node_lease_stop(&lease);
		return NULL;
	}
	lease->thread_started = 1;
	log_debug("lease", "node id claimed", "node_id", LOG_INT(lease->node_id), "holder", lease->holder, NULL);
	return lease;

fail:
	pthread_cond_destroy(&lease->wake);
	pthread_mutex_destroy(&lease->lock);
	free(lease);
	return NULL;
}

int node_lease_id(struct node_lease *lease)
{
	int id;

	pthread_mutex_lock(&lease->lock);
	id = lease->node_id;
	pthread_mutex_unlock(&lease->lock);
	return id;
}

void node_lease_stop(struct node_lease **leasep)
{
	struct node_lease *lease = *leasep;
	db_conn *c;
	db_stmt *s;
	int status = DB_UNAVAILABLE;

	if (lease == NULL)
		return;
	if (lease->thread_started) {
		pthread_mutex_lock(&lease->lock);
		lease->stopping = 1;
		pthread_cond_signal(&lease->wake);
		pthread_mutex_unlock(&lease->lock);
		pthread_join(lease->thread, NULL);
	}

	/* Without this delete the id would stay taken until the lease expires. */
	c = db_acquire(lease->db, LEASE_ACQUIRE_TIMEOUT_MS);
	s = c ? db_query(c, release_sql) : NULL;
	if (s != NULL) {
		db_bind_int64(s, 0, lease->node_id);
		db_bind_text(s, 1, lease->holder);
		status = db_run(s);
	}
	if (status == DB_OK)
		log_debug("lease", "node id released", "node_id", LOG_INT(lease->node_id), NULL);
	else
		log_warn("lease", "cannot release the node lease; it expires on its own", "node_id",
			 LOG_INT(lease->node_id), "error", c ? db_conn_errmsg(c) : "no database connection", NULL);
	if (c != NULL)
		db_release(lease->db, c);

	pthread_cond_destroy(&lease->wake);
	pthread_mutex_destroy(&lease->lock);
	free(lease);
	*leasep = NULL;
}
