/*
 * A small pool of helper threads for blocking steps (an outbound HTTP
 * request, say) that must not run on the HTTP server's worker threads,
 * each of which serves many connections. The server (http/server.c) hands
 * it the blocking step of a suspended request; nothing here knows HTTP.
 */
#ifndef KONTOR_HTTP_WORKPOOL_H
#define KONTOR_HTTP_WORKPOOL_H

/*
 * A job. `stopping` becomes nonzero when the pool shuts down; a long job
 * polls it and returns early. Runs on a helper thread.
 */
typedef void (*workpool_fn)(void *arg, const volatile int *stopping);

struct workpool;

/* Starts `threads` helper threads that take at most `queue_max` jobs waiting or running. Returns NULL on failure. */
struct workpool *workpool_new(int threads, int queue_max);
/*
 * Reserves room for one job. Returns 0, or -1 when `queue_max` jobs are
 * already reserved, waiting or running. A reservation ends with
 * workpool_submit or workpool_cancel.
 */
int workpool_reserve(struct workpool *pool);
/* Queues a job in a reserved place; it never fails. */
void workpool_submit(struct workpool *pool, workpool_fn fn, void *arg);
/* Gives a reserved place back unused. */
void workpool_cancel(struct workpool *pool);
/*
 * Raises the stopping flag, runs every job still queued (with the flag
 * raised, so they end quickly), joins the threads and frees the pool.
 * Clears the caller's pointer.
 */
void workpool_free(struct workpool **pool);

#endif
