/*
 * The recurring event_prune job: deletes change-log rows (events and
 * event_targets, see store/events.h) older than the retention. Readers rely
 * on it: a sync token lives 24 hours and webhook deliveries retry for 24
 * hours, so the retention is at least EVENT_RETENTION_DAYS_MIN days.
 */
#ifndef KONTOR_JOBS_EVENT_PRUNE_H
#define KONTOR_JOBS_EVENT_PRUNE_H

#include "jobs/jobs.h"

#define EVENT_RETENTION_DAYS_DEFAULT 7
#define EVENT_RETENTION_DAYS_MIN 7
#define EVENT_RETENTION_DAYS_MAX 3650

/* The job kind, registered by jobs_start() and queued with a fixed gid like token_expiry. */
extern const struct job_kind jobs_event_prune_kind;

/*
 * Sets how many days events are kept (EVENT_RETENTION_DAYS_MIN to
 * EVENT_RETENTION_DAYS_MAX; other values are clamped). Call before
 * jobs_start().
 */
void jobs_event_prune_set_retention_days(int days);

#endif
