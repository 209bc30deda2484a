/*
 * Webhook delivery. Each node runs one delivery thread beside the job
 * worker. It claims one due, active webhook at a time (claimed_by and
 * claimed_until on its row, taken the way jobs are claimed, so nodes that
 * share a database never deliver the same webhook at once and a claim of a
 * dead node runs out), reads the events after the webhook's cursor, keeps
 * those its filters pass, POSTs them as {"events": [...]} signed with
 * X-Hook-Signature, and moves the cursor only after a 2xx. Delivery is
 * therefore at least once: a crash between the receiver's 2xx and the
 * cursor update sends that batch again.
 *
 * Failures retry with exponential backoff. A failure streak that lasts
 * disable_after_ms disables the webhook (active = 0) and writes a
 * webhook_disabled audit record. An idle webhook gets a heartbeat, an empty
 * {"events": []}, every heartbeat_ms.
 */
#ifndef KONTOR_JOBS_WEBHOOKS_H
#define KONTOR_JOBS_WEBHOOKS_H

#include "store/db.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_BATCH_MAX 100 /* events in one delivery */

/* The delivery settings, read from the environment (see webhook_config_load). */
struct webhook_config {
	int poll_ms;              /* KONTOR_WEBHOOK_POLL_MS: how often each webhook is checked for new events */
	int timeout_ms;           /* KONTOR_WEBHOOK_TIMEOUT_MS: one handshake or delivery request, in total */
	int64_t retry_base_ms;    /* KONTOR_WEBHOOK_RETRY_BASE_MS: delay after the first failure, doubling after each */
	int64_t retry_max_ms;     /* KONTOR_WEBHOOK_RETRY_MAX_MS: the longest delay between attempts */
	int64_t disable_after_ms; /* KONTOR_WEBHOOK_DISABLE_AFTER_MS: failure streak after which the webhook is disabled */
	int64_t heartbeat_ms;     /* KONTOR_WEBHOOK_HEARTBEAT_MS: idle time before a heartbeat */
	int allow_private;        /* --allow-private-webhook-targets / KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS=1 */
};

/*
 * Fills `config` with defaults overridden by the environment variables
 * named above. Returns 0, or -1 with a message naming the variable in `err`.
 */
int webhook_config_load(struct webhook_config *config, char *err, size_t errlen);

struct webhook_worker;

/*
 * Starts this node's delivery thread on `d`, which must have a connection
 * to spare for it. `pepper` (APP_KEY_BYTES) opens the stored secrets and is
 * copied. Returns NULL with a message in `err` on failure. Stop the worker
 * with webhook_worker_stop() before closing `d`.
 */
struct webhook_worker *webhook_worker_start(db *d, const unsigned char *pepper, const struct webhook_config *config,
					    char *err, size_t errlen);

/* Aborts a delivery in flight, stops the thread and frees the worker; clears *workerp. */
void webhook_worker_stop(struct webhook_worker **workerp);

/*
 * Returns 1 when the event passes `filters` (a JSON array of WebhookFilter
 * objects; an empty array passes everything), else 0. Exposed for tests.
 */
int webhook_filters_pass(const json_t *filters, const char *resource_type, const char *resource_subtype,
			 const char *action, const char *change_field);

#endif
