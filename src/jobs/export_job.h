/*
 * The background side of organization exports. An export is a row of
 * organization_exports (its state as the API shows it) and a job of kind
 * organization_export that produces the gzip file into
 * organization_export_chunks, so that every node sharing the database can
 * serve the download. A second, one-shot job of kind
 * organization_export_cleanup deletes the chunks once they expire.
 *
 * Restarts: a node that is stopped hands its running export back to the
 * queue (state pending), and any node starts it over. A node that dies
 * stops renewing its short claim, so another node takes the export over
 * within EXPORT_CLAIM_US. After EXPORT_MAX_ATTEMPTS failed runs the export
 * ends in state error; it never stays in state started.
 */
#ifndef KONTOR_JOBS_EXPORT_JOB_H
#define KONTOR_JOBS_EXPORT_JOB_H

#include "store/db.h"

#include <stdint.h>

#define EXPORT_JOB_KIND "organization_export"
#define EXPORT_CLEANUP_KIND "organization_export_cleanup"
/* Every chunk but the last has exactly this many bytes, so a byte offset maps to (seq, offset) directly. */
#define EXPORT_CHUNK_BYTES (256 * 1024)
/* How long the produced file stays downloadable after the export finished. */
#define EXPORT_DATA_RETENTION_US (24 * 3600 * 1000000LL)
/* The claim a running export keeps renewing; a dead node's export is taken over after this. */
#define EXPORT_CLAIM_US (30 * 1000000LL)
#define EXPORT_MAX_ATTEMPTS 3

/*
 * Registers both job kinds. The export job reads through the job worker's
 * connection and writes its chunks through a connection of `d`, so that
 * its snapshot stays open while the chunks commit. Call before jobs_start.
 * Returns 0, or -1 when the kinds cannot be registered.
 */
int export_jobs_register(db *d);

/*
 * Queues the job that produces export `export_gid`, inside the caller's
 * transaction. Returns a db status; *job_gid_r receives the job's gid.
 */
int export_job_enqueue(db_conn *c, int64_t workspace_gid, int64_t export_gid, int64_t *job_gid_r);

#endif
