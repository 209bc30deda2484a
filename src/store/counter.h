/*
 * Per-organization sequence numbers for the append-only logs: the audit
 * log (audit.c) and the change events (events.c) each number an
 * organization's records 1, 2, 3 ... in commit order, from one counter row
 * per organization (audit_counters, event_counters).
 */
#ifndef KONTOR_STORE_COUNTER_H
#define KONTOR_STORE_COUNTER_H

#include "store/db.h"

#include <stdint.h>

enum store_counter { STORE_COUNTER_AUDIT, STORE_COUNTER_EVENTS };

/*
 * Takes the organization's next number from `counter` inside the open
 * transaction. The counter row stays locked until the transaction ends, so
 * a second writer of the same organization waits and gets the following
 * number only after the first has committed (or the same number after a
 * rollback). Returns DB_OK with *seq_r set, or a failed db status.
 */
int store_counter_next(db_conn *c, enum store_counter counter, int64_t workspace_gid, int64_t *seq_r);

#endif
