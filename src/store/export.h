/*
 * Organization export and restore: the kontor-export file format, version 1
 * (docs/export-format.md). The writer reads one organization table by table
 * in keyset batches and streams the rows as JSON through a gzip deflate
 * stream into a caller's sink, so memory stays flat whatever the size of the
 * organization. The reader parses such a file row by row and inserts it into
 * an empty database. Both the background export job (src/jobs/export_job.c)
 * and the command line (`kontor export`, `kontor restore`) use this module.
 *
 * Left out on purpose: password hashes, token hashes, sessions and the token
 * pepper, because a backup file must not carry credentials. Restored people
 * need new passwords and tokens. Webhooks are left out too, because their
 * signing secrets are sealed with a key derived from the pepper, which the
 * restored database need not share. The change log (events and their
 * counters) is left out as well: the restored database starts a new event
 * stream, and sync tokens issued before the restore get 412.
 */
#ifndef KONTOR_STORE_EXPORT_H
#define KONTOR_STORE_EXPORT_H

#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

#define EXPORT_FORMAT_NAME "kontor-export"
#define EXPORT_FORMAT_VERSION 1

/*
 * Receives compressed bytes in order. Returns 0, or -1 to stop the export
 * (the writer then fails with the sink's message in `err`).
 */
typedef int (*export_sink_fn)(void *ctx, const unsigned char *data, size_t len, char *err, size_t errlen);

/*
 * Called after each batch of rows with the running row count. Returns 0 to
 * go on, 1 to stop early (store_export_write then returns EXPORT_STOPPED),
 * or -1 to fail with a message in `err`.
 */
typedef int (*export_progress_fn)(void *ctx, int64_t rows, char *err, size_t errlen);

enum export_result {
	EXPORT_OK = 0,
	EXPORT_FAILED = -1,  /* message in err */
	EXPORT_STOPPED = -2, /* the progress callback asked to stop */
	EXPORT_NOT_FOUND = -3,
};

struct export_stats {
	int64_t rows;  /* rows written, the organization included */
	int64_t bytes; /* compressed bytes passed to the sink */
};

/*
 * Writes organization `org_gid` as a gzip-compressed kontor-export document
 * to `sink`. Reads on `c` inside one read transaction (REPEATABLE READ on
 * PostgreSQL), so the file is one consistent snapshot. `c` must have no
 * transaction open, and has none afterwards. `progress` may be NULL.
 */
enum export_result store_export_write(db_conn *c, int64_t org_gid, export_sink_fn sink, void *sink_ctx,
				      export_progress_fn progress, void *progress_ctx, struct export_stats *stats,
				      char *err, size_t errlen);

/*
 * Restores a gzip-compressed kontor-export file (plain JSON is read too),
 * read from the open descriptor `fd`, into the database of `c`, which must
 * contain no organization. Closes `fd` in every case. Everything is
 * inserted in one transaction, so a failure leaves the database as it was.
 * On success *org_gid_r receives the organization's gid and *rows_r the rows
 * inserted. Returns 0, or -1 with a message in `err`.
 */
int store_export_restore(db_conn *c, int fd, int64_t *org_gid_r, int64_t *rows_r, char *err, size_t errlen);

#endif
