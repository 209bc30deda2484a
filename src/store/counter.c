/* Per-organization sequence counters of the audit log and the change events. The contract is in counter.h. */
#include "store/counter.h"

int store_counter_next(db_conn *c, enum store_counter counter, int64_t workspace_gid, int64_t *seq_r)
{
	db_stmt *s;
	int status;

	/* Two literals rather than one formatted text, because the statement cache keys on the pointer. */
	if (counter == STORE_COUNTER_AUDIT)
		s = db_query(c, "INSERT INTO audit_counters (workspace_gid, last_seq) VALUES (?, 1)"
				" ON CONFLICT (workspace_gid) DO UPDATE SET last_seq = audit_counters.last_seq + 1"
				" RETURNING last_seq");
	else
		s = db_query(c, "INSERT INTO event_counters (workspace_gid, last_seq) VALUES (?, 1)"
				" ON CONFLICT (workspace_gid) DO UPDATE SET last_seq = event_counters.last_seq + 1"
				" RETURNING last_seq");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		*seq_r = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status == DB_ROW)
		return DB_OK;
	return status == DB_DONE ? DB_ERROR : status;
}
