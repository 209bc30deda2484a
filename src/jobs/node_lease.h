/*
 * Node-id leases. Every gid carries the node id of the process that minted
 * it (util/gid.h), so two processes that share a database must never use the
 * same id at the same time. A process claims its id as a row of node_leases
 * that expires NODE_LEASE_TTL_US after its last renewal; a background thread
 * renews it every NODE_LEASE_RENEW_US and deletes it on stop. An id whose
 * row has expired is free again, which is how the id of a killed process is
 * taken over.
 *
 * The expiry times are wall-clock times from each node, so the nodes' clocks
 * must agree to well within NODE_LEASE_TTL_US (NTP does this).
 */
#ifndef KONTOR_JOBS_NODE_LEASE_H
#define KONTOR_JOBS_NODE_LEASE_H

#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

/* Pass as `requested` to take the lowest id that no live lease holds. */
#define NODE_ID_AUTO (-1)

#define NODE_LEASE_TTL_US (30 * 1000000LL)
#define NODE_LEASE_RENEW_US (10 * 1000000LL)

struct node_lease;

/*
 * Claims node id `requested` (0..GID_NODE_MAX), or the lowest free id when
 * it is NODE_ID_AUTO, sets it with gid_set_node() and starts the renewal
 * thread. Returns NULL with a message in `err` when the requested id is held
 * by a live holder, when every id is held, or when the database fails.
 * The caller stops the lease with node_lease_stop() before closing `d`.
 *
 * If a renewal finds that another process took the id (this process could
 * not reach the database for longer than the TTL), the lease switches to
 * another free id in NODE_ID_AUTO mode. With a requested id it logs an error
 * and sends SIGTERM to this process, because serving on with a shared id
 * would mint colliding gids.
 */
struct node_lease *node_lease_start(db *d, int requested, char *err, size_t errlen);

/* Returns the node id currently held. */
int node_lease_id(struct node_lease *lease);

/* Stops renewing, deletes the lease row so the id is free at once, and frees the lease; clears *leasep. */
void node_lease_stop(struct node_lease **leasep);

#endif
