/*
 * The webhook delivery thread: settings from the environment, the claim of
 * a due webhook per dialect, reading and filtering events after the cursor,
 * the signed POST, and the bookkeeping of success, retry with backoff,
 * heartbeat and disabling. The contract is in webhooks.h.
 */
#include "jobs/webhooks.h"
#include "auth/visibility.h"
#include "jobs/webhook_send.h"
#include "store/audit.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PEPPER_BYTES 32
#define ACQUIRE_TIMEOUT_MS 2000
/* Events read per claim; filtered-out events move the cursor without a delivery. */
#define SCAN_MAX 500
/* A claim outlives the longest request (timeout_ms) by this much. */
#define CLAIM_MARGIN_US (60 * 1000000LL)

struct webhook_worker {
	db *db;
	unsigned char pepper[PEPPER_BYTES];
	struct webhook_config config;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	volatile int stopping;
	int failing; /* the last database call failed; logged once until it recovers */
};

/* A claimed webhook row; strings owned until claimed_free(). */
struct claimed {
	int64_t gid;
	int64_t workspace_gid;
	int64_t resource_gid;
	char *resource_type;
	char *target;
	char *sealed_secret;
	char *filters;
	int64_t cursor_seq;
	int retry_count;
	int64_t first_failure_at; /* 0 when the last attempt succeeded */
	int64_t last_sent_at;
	int64_t owner_gid;
};

/* ---- settings ---------------------------------------------------------- */

static int env_number(const char *name, int64_t fallback, int64_t min, int64_t max, int64_t *value_r, char *err,
		      size_t errlen)
{
	const char *text = getenv(name);
	char *end = NULL;
	long long value;

	*value_r = fallback;
	if (text == NULL || *text == '\0')
		return 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
		snprintf(err, errlen, "invalid %s \"%.32s\": expected an integer from %lld to %lld", name, text,
			 (long long)min, (long long)max);
		return -1;
	}
	*value_r = value;
	return 0;
}

int webhook_config_load(struct webhook_config *config, char *err, size_t errlen)
{
	int64_t poll, timeout, allow;

	memset(config, 0, sizeof(*config));
	if (env_number("KONTOR_WEBHOOK_POLL_MS", 1000, 10, 60000, &poll, err, errlen) != 0 ||
	    env_number("KONTOR_WEBHOOK_TIMEOUT_MS", 10000, 100, 60000, &timeout, err, errlen) != 0 ||
	    env_number("KONTOR_WEBHOOK_RETRY_BASE_MS", 30000, 10, 86400000, &config->retry_base_ms, err, errlen) != 0 ||
	    env_number("KONTOR_WEBHOOK_RETRY_MAX_MS", 3600000, 10, 86400000, &config->retry_max_ms, err, errlen) != 0 ||
	    env_number("KONTOR_WEBHOOK_DISABLE_AFTER_MS", 24LL * 3600000, 100, 30LL * 86400000,
		       &config->disable_after_ms, err, errlen) != 0 ||
	    env_number("KONTOR_WEBHOOK_HEARTBEAT_MS", 8LL * 3600000, 100, 30LL * 86400000, &config->heartbeat_ms, err,
		       errlen) != 0 ||
	    env_number("KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS", 0, 0, 1, &allow, err, errlen) != 0)
		return -1;
	config->poll_ms = (int)poll;
	config->timeout_ms = (int)timeout;
	config->allow_private = (int)allow;
	return 0;
}

/* ---- filters and event shape ------------------------------------------- */

static int string_field_passes(const json_t *filter, const char *key, const char *value)
{
	const char *expected = json_string_value(json_object_get(filter, key));

	return expected == NULL || (value != NULL && strcmp(expected, value) == 0);
}

int webhook_filters_pass(const json_t *filters, const char *resource_type, const char *resource_subtype,
			 const char *action, const char *change_field)
{
	const json_t *filter;
	size_t i;

	if (!json_is_array(filters) || json_array_size(filters) == 0)
		return 1;
	json_array_foreach(filters, i, filter) {
		const json_t *fields = json_object_get(filter, "fields");
		int field_ok = 1;

		if (!string_field_passes(filter, "resource_type", resource_type) ||
		    !string_field_passes(filter, "resource_subtype", resource_subtype) ||
		    !string_field_passes(filter, "action", action))
			continue;
		/* `fields` narrows changed events to the listed fields. */
		if (json_is_array(fields) && json_array_size(fields) > 0) {
			const json_t *field;
			size_t j;

			field_ok = 0;
			json_array_foreach(fields, j, field) {
				if (change_field != NULL && json_string_value(field) != NULL &&
				    strcmp(json_string_value(field), change_field) == 0)
					field_ok = 1;
			}
		}
		if (field_ok)
			return 1;
	}
	return 0;
}

static json_t *reference(const char *resource_type, int64_t gid)
{
	char text[GID_STRING_MAX];
	json_t *object = json_object();

	json_object_set_new(object, "gid", json_string(gid_format(gid, text)));
	json_object_set_new(object, "resource_type", json_string(resource_type));
	return object;
}

enum {
	EV_SEQ, EV_CREATED_AT, EV_ACTOR, EV_RESOURCE_TYPE, EV_RESOURCE_SUBTYPE, EV_RESOURCE_GID, EV_ACTION,
	EV_PARENT_TYPE, EV_PARENT_GID, EV_CHANGE_FIELD, EV_CHANGE_ACTION, EV_VALUE_TYPE, EV_VALUE_GID,
};
#define EVENT_COLUMNS \
	"e.seq, e.created_at, e.actor_gid, e.resource_type, e.resource_subtype, e.resource_gid, e.action," \
	" e.parent_type, e.parent_gid, e.change_field, e.change_action, e.value_type, e.value_gid"

/*
 * Builds one event as webhooks deliver it: resources carry only gid and
 * resource_type (and the resource its subtype), unlike the compact records
 * of the events API.
 */
static json_t *event_from_row(db_stmt *s)
{
	json_t *event = json_object(), *resource;
	const char *subtype = db_column_text(s, EV_RESOURCE_SUBTYPE);
	const char *action = db_column_text(s, EV_ACTION);
	const char *parent_type = db_column_text(s, EV_PARENT_TYPE);
	const char *change_field = db_column_text(s, EV_CHANGE_FIELD);
	char when[40];

	json_object_set_new(event, "user", db_column_is_null(s, EV_ACTOR)
						  ? json_null()
						  : reference("user", db_column_int64(s, EV_ACTOR)));
	json_object_set_new(event, "created_at",
			    json_string(time_format_iso(db_column_int64(s, EV_CREATED_AT), when, sizeof(when))));
	json_object_set_new(event, "action", json_string(action ? action : ""));
	resource = reference(db_column_text(s, EV_RESOURCE_TYPE), db_column_int64(s, EV_RESOURCE_GID));
	if (subtype != NULL)
		json_object_set_new(resource, "resource_subtype", json_string(subtype));
	json_object_set_new(event, "resource", resource);
	/* Only added and removed events have a parent. The key is left out otherwise, as GET /events does. */
	if (parent_type != NULL && !db_column_is_null(s, EV_PARENT_GID))
		json_object_set_new(event, "parent", reference(parent_type, db_column_int64(s, EV_PARENT_GID)));
	if (action != NULL && strcmp(action, "changed") == 0 && change_field != NULL) {
		const char *change_action = db_column_text(s, EV_CHANGE_ACTION);
		const char *value_type = db_column_text(s, EV_VALUE_TYPE);
		json_t *change = json_object();

		json_object_set_new(change, "field", json_string(change_field));
		json_object_set_new(change, "action", json_string(change_action ? change_action : "changed"));
		if (value_type != NULL && !db_column_is_null(s, EV_VALUE_GID)) {
			const char *key = "new_value";

			if (change_action != NULL && strcmp(change_action, "added") == 0)
				key = "added_value";
			else if (change_action != NULL && strcmp(change_action, "removed") == 0)
				key = "removed_value";
			json_object_set_new(change, key, reference(value_type, db_column_int64(s, EV_VALUE_GID)));
		}
		json_object_set_new(event, "change", change);
	}
	return event;
}

/* 1 when the webhook's owner may see every resource the event on the current row names, -1 on a db error. */
static int event_visible_to(db_conn *c, const principal *owner, db_stmt *s)
{
	struct visibility_event event = {
		.action = db_column_text(s, EV_ACTION),
		.resource_type = db_column_text(s, EV_RESOURCE_TYPE),
		.resource_gid = db_column_int64(s, EV_RESOURCE_GID),
		.parent_type = db_column_text(s, EV_PARENT_TYPE),
		.parent_gid = db_column_is_null(s, EV_PARENT_GID) ? 0 : db_column_int64(s, EV_PARENT_GID),
		.value_type = db_column_text(s, EV_VALUE_TYPE),
		.value_gid = db_column_is_null(s, EV_VALUE_GID) ? 0 : db_column_int64(s, EV_VALUE_GID),
	};

	return visibility_event_check(c, owner, &event);
}

/*
 * Reads up to SCAN_MAX events after the cursor and appends to `events`, at
 * most WEBHOOK_BATCH_MAX, those the filters pass and the owner may see now
 * (the rules of GET /events). *last_seq_r receives the seq of the last
 * event considered (the new cursor after a 2xx), *more_r whether the read
 * stopped before the end. Returns a db status.
 */
static int collect_events(db_conn *c, const struct claimed *w, const principal *owner, const json_t *filters,
			  json_t *events, int64_t *last_seq_r, int *more_r)
{
	int workspace_wide = strcmp(w->resource_type, "workspace") == 0;
	db_stmt *s;
	int status, rows = 0;

	*last_seq_r = w->cursor_seq;
	*more_r = 0;
	if (workspace_wide) {
		s = db_query(c, "SELECT " EVENT_COLUMNS " FROM events e WHERE e.workspace_gid = ? AND e.seq > ?"
				" ORDER BY e.seq LIMIT ?");
	} else {
		s = db_query(c, "SELECT " EVENT_COLUMNS " FROM event_targets t JOIN events e"
				" ON e.workspace_gid = t.workspace_gid AND e.seq = t.seq"
				" WHERE t.target_gid = ? AND t.workspace_gid = ? AND t.seq > ? ORDER BY t.seq LIMIT ?");
	}
	if (s == NULL)
		return DB_ERROR;
	if (workspace_wide) {
		db_bind_int64(s, 0, w->workspace_gid);
		db_bind_int64(s, 1, w->cursor_seq);
		db_bind_int64(s, 2, SCAN_MAX);
	} else {
		db_bind_int64(s, 0, w->resource_gid);
		db_bind_int64(s, 1, w->workspace_gid);
		db_bind_int64(s, 2, w->cursor_seq);
		db_bind_int64(s, 3, SCAN_MAX);
	}
	for (;;) {
		int visible = 1;

		status = db_step(s);
		if (status != DB_ROW)
			break;
		rows++;
		if (webhook_filters_pass(filters, db_column_text(s, EV_RESOURCE_TYPE),
					 db_column_text(s, EV_RESOURCE_SUBTYPE), db_column_text(s, EV_ACTION),
					 db_column_text(s, EV_CHANGE_FIELD))) {
			visible = event_visible_to(c, owner, s);
			if (visible < 0) {
				status = DB_ERROR;
				break;
			}
			if (visible)
				json_array_append_new(events, event_from_row(s));
		}
		*last_seq_r = db_column_int64(s, EV_SEQ);
		if (json_array_size(events) >= WEBHOOK_BATCH_MAX) {
			*more_r = 1;
			break;
		}
	}
	db_stmt_done(s);
	if (rows == SCAN_MAX)
		*more_r = 1;
	return status == DB_ROW || status == DB_DONE ? DB_OK : status;
}

/* ---- claims and outcomes ----------------------------------------------- */

static const char claim_pgsql_sql[] =
	"UPDATE webhooks SET claimed_by = ?, claimed_until = ? WHERE gid = (SELECT w.gid FROM webhooks w"
	" WHERE w.active = 1 AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until < ?)"
	" ORDER BY w.next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING gid, workspace_gid, resource_gid, resource_type, target, sealed_secret, filters, cursor_seq,"
	" delivery_retry_count, first_failure_at, last_sent_at, owner_gid";
static const char claim_sqlite_sql[] =
	"UPDATE webhooks SET claimed_by = ?, claimed_until = ? WHERE gid = (SELECT w.gid FROM webhooks w"
	" WHERE w.active = 1 AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until < ?)"
	" ORDER BY w.next_attempt_at LIMIT 1)"
	" RETURNING gid, workspace_gid, resource_gid, resource_type, target, sealed_secret, filters, cursor_seq,"
	" delivery_retry_count, first_failure_at, last_sent_at, owner_gid";

static void claimed_free(struct claimed *w)
{
	free(w->resource_type);
	free(w->target);
	free(w->sealed_secret);
	free(w->filters);
	memset(w, 0, sizeof(*w));
}

static char *column_dup(db_stmt *s, int index)
{
	const char *text = db_column_text(s, index);

	return strdup(text ? text : "");
}

/* Claims the webhook due first. Returns 1 with *w filled, 0 when none is due, or an error status. */
static int claim(struct webhook_worker *worker, db_conn *c, struct claimed *w)
{
	int is_pg = db_conn_driver(c) == &db_pgsql_driver;
	int64_t now = time_now_us();
	db_stmt *s;
	int status, found = 0;

	memset(w, 0, sizeof(*w));
	status = db_begin_write(c);
	if (status != DB_OK)
		return status;
	s = db_query(c, is_pg ? claim_pgsql_sql : claim_sqlite_sql);
	if (s == NULL) {
		db_rollback(c);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, gid_get_node());
	db_bind_int64(s, 1, now + (int64_t)worker->config.timeout_ms * 1000 + CLAIM_MARGIN_US);
	db_bind_int64(s, 2, now);
	db_bind_int64(s, 3, now);
	status = db_step(s);
	if (status == DB_ROW) {
		found = 1;
		w->gid = db_column_int64(s, 0);
		w->workspace_gid = db_column_int64(s, 1);
		w->resource_gid = db_column_int64(s, 2);
		w->resource_type = column_dup(s, 3);
		w->target = column_dup(s, 4);
		w->sealed_secret = column_dup(s, 5);
		w->filters = column_dup(s, 6);
		w->cursor_seq = db_column_int64(s, 7);
		w->retry_count = (int)db_column_int64(s, 8);
		w->first_failure_at = db_column_is_null(s, 9) ? 0 : db_column_int64(s, 9);
		w->last_sent_at = db_column_int64(s, 10);
		w->owner_gid = db_column_int64(s, 11);
		status = w->resource_type && w->target && w->sealed_secret && w->filters ? DB_OK : DB_ERROR;
	} else if (status == DB_DONE) {
		status = DB_OK;
	}
	db_stmt_done(s);
	if (status != DB_OK) {
		db_rollback(c);
		claimed_free(w);
		return status;
	}
	status = db_commit(c);
	if (status != DB_OK) {
		claimed_free(w);
		return status;
	}
	return found;
}

/* Ends the claim with nothing sent: the cursor moves to `cursor_seq`, the next look is at `next_at`. */
static int release(db_conn *c, const struct claimed *w, int64_t cursor_seq, int64_t next_at)
{
	db_stmt *s = db_query(c, "UPDATE webhooks SET cursor_seq = ?, next_attempt_at = ?, claimed_until = NULL"
				 " WHERE gid = ? AND claimed_by = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, cursor_seq);
	db_bind_int64(s, 1, next_at);
	db_bind_int64(s, 2, w->gid);
	db_bind_int64(s, 3, gid_get_node());
	return db_run(s);
}

static int record_success(db_conn *c, const struct claimed *w, int64_t cursor_seq, int64_t now, int64_t next_at)
{
	db_stmt *s = db_query(c, "UPDATE webhooks SET cursor_seq = ?, last_success_at = ?, last_sent_at = ?,"
				 " delivery_retry_count = 0, first_failure_at = NULL, next_attempt_at = ?,"
				 " claimed_until = NULL WHERE gid = ? AND claimed_by = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, cursor_seq);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, now);
	db_bind_int64(s, 3, next_at);
	db_bind_int64(s, 4, w->gid);
	db_bind_int64(s, 5, gid_get_node());
	return db_run(s);
}

/* The wait before attempt `failures` + 1, after `failures` failed attempts in a row. */
static int64_t backoff_us(const struct webhook_config *config, int failures)
{
	int64_t delay = config->retry_base_ms;

	for (int i = 1; i < failures && delay < config->retry_max_ms; i++)
		delay *= 2;
	if (delay > config->retry_max_ms)
		delay = config->retry_max_ms;
	return delay * 1000;
}

/* Writes the webhook_disabled audit record inside the open transaction; `reason` is a short phrase. */
static int audit_disabled(db_conn *c, const struct claimed *w, const char *reason, const char *summary)
{
	json_t *details = json_object();
	struct audit_event event;
	int status;

	json_object_set_new(details, "reason", json_string(reason));
	json_object_set_new(details, "last_failure_content", json_string(summary));
	memset(&event, 0, sizeof(event));
	event.workspace_gid = w->workspace_gid;
	event.event_type = "webhook_disabled";
	event.event_category = "apps";
	/* Asana's audit log names the service itself as actor_type "asana"; the server acted here, not a person. */
	event.actor_type = "asana";
	event.resource_type = "webhook";
	event.resource_gid = w->gid;
	event.resource_name = w->target;
	event.details = details;
	status = store_audit_append(c, &event);
	json_decref(details);
	return status;
}

/*
 * Records a failed attempt: counts it, schedules the retry, and disables the
 * webhook when the streak has lasted disable_after_ms.
 */
static int record_failure(struct webhook_worker *worker, db_conn *c, const struct claimed *w, const char *summary,
			  int64_t now)
{
	int64_t first = w->first_failure_at ? w->first_failure_at : now;
	int failures = w->retry_count + 1;
	int disable = now - first >= worker->config.disable_after_ms * 1000;
	db_stmt *s;
	int status;

	status = db_begin_write(c);
	if (status != DB_OK)
		return status;
	s = db_query(c, "UPDATE webhooks SET delivery_retry_count = ?, first_failure_at = ?, last_failure_at = ?,"
			" last_failure_content = ?, next_attempt_at = ?, active = ?, claimed_until = NULL"
			" WHERE gid = ? AND claimed_by = ?");
	if (s == NULL) {
		db_rollback(c);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, failures);
	db_bind_int64(s, 1, first);
	db_bind_int64(s, 2, now);
	db_bind_text(s, 3, summary);
	db_bind_int64(s, 4, now + backoff_us(&worker->config, failures));
	db_bind_int64(s, 5, disable ? 0 : 1);
	db_bind_int64(s, 6, w->gid);
	db_bind_int64(s, 7, gid_get_node());
	status = db_run(s);
	if (status == DB_OK && disable)
		status = audit_disabled(c, w, "deliveries kept failing", summary);
	if (status != DB_OK) {
		db_rollback(c);
		return status;
	}
	status = db_commit(c);
	if (status != DB_OK)
		return status;

	if (disable)
		log_warn("webhooks", "webhook disabled after failing deliveries; create it again once the target works",
			 "webhook_gid", LOG_INT(w->gid), "workspace_gid", LOG_INT(w->workspace_gid), "failures",
			 LOG_NUM(failures), "last_failure", summary, NULL);
	else
		log_info("webhooks", "webhook delivery failed; retrying later", "webhook_gid", LOG_INT(w->gid),
			 "failures", LOG_NUM(failures), "last_failure", summary, NULL);
	return DB_OK;
}

/*
 * Disables the webhook because its owner may no longer receive its events,
 * as Asana drops a webhook whose owner lost access to the resource:
 * active = 0, `why` in last_failure_content, and an audit record.
 */
static int disable_for_access(db_conn *c, const struct claimed *w, const char *why, int64_t now)
{
	db_stmt *s;
	int status;

	status = db_begin_write(c);
	if (status != DB_OK)
		return status;
	s = db_query(c, "UPDATE webhooks SET active = 0, last_failure_at = ?, last_failure_content = ?,"
			" claimed_until = NULL WHERE gid = ? AND claimed_by = ?");
	if (s == NULL) {
		db_rollback(c);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, now);
	db_bind_text(s, 1, why);
	db_bind_int64(s, 2, w->gid);
	db_bind_int64(s, 3, gid_get_node());
	status = db_run(s);
	if (status == DB_OK)
		status = audit_disabled(c, w, "the owner lost access", why);
	if (status != DB_OK) {
		db_rollback(c);
		return status;
	}
	status = db_commit(c);
	if (status != DB_OK)
		return status;
	log_info("webhooks", "webhook disabled because its owner lost access", "webhook_gid", LOG_INT(w->gid),
		 "workspace_gid", LOG_INT(w->workspace_gid), "owner_gid", LOG_INT(w->owner_gid), "reason", why, NULL);
	return DB_OK;
}

/*
 * Loads the principal the webhook's owner is now and checks that it may
 * still watch the resource: an active member (or an existing service
 * account) that can see it, and for an organization webhook a service
 * account with full or read access. Returns 1 when it may, 0 with the
 * reason in `why`, or a negative db status.
 */
static int owner_check(db_conn *c, const struct claimed *w, principal *owner, char *why, size_t why_len)
{
	int status = visibility_principal_load(c, w->workspace_gid, w->owner_gid, owner);

	if (status < 0)
		return status;
	if (status == 0) {
		snprintf(why, why_len, "disabled: the owner of this webhook was deactivated or removed from the "
				       "organization; a member who can see the resource must create it again");
		return 0;
	}
	if (strcmp(w->resource_type, "workspace") == 0)
		status = visibility_full_access(owner);
	else
		status = visibility_resource(c, owner, w->resource_type, w->resource_gid);
	if (status < 0)
		return DB_ERROR;
	if (status == 0) {
		snprintf(why, why_len, "disabled: the owner of this webhook can no longer see the %s it watches; "
				       "a member who can see it must create the webhook again",
			 w->resource_type);
		return 0;
	}
	return 1;
}

/* ---- one delivery ------------------------------------------------------ */

/* POSTs `body` signed with the webhook's secret. Returns the send status; `response` gets the details. */
static enum webhook_send_status send_signed(struct webhook_worker *worker, const struct claimed *w, const char *body,
					    struct webhook_response *response)
{
	char secret[WEBHOOK_SECRET_HEX + 1], signature[WEBHOOK_SIGNATURE_HEX + 1];
	char signature_header[32 + WEBHOOK_SIGNATURE_HEX];
	const char *headers[] = { "Content-Type: application/json", signature_header, NULL };
	struct webhook_send_options options = { worker->config.timeout_ms, worker->config.allow_private,
						&worker->stopping };
	size_t len = strlen(body);

	if (webhook_secret_unseal(worker->pepper, w->sealed_secret, secret) != 0) {
		memset(response, 0, sizeof(*response));
		snprintf(response->summary, sizeof(response->summary),
			 "the signing secret cannot be decrypted: the server's pepper file changed");
		return WEBHOOK_FAILED;
	}
	webhook_sign(secret, body, len, signature);
	sodium_memzero(secret, sizeof(secret));
	snprintf(signature_header, sizeof(signature_header), "X-Hook-Signature: %s", signature);
	return webhook_post(w->target, headers, body, len, &options, response);
}

/* Works on one claimed webhook. Returns a db status of the bookkeeping. */
static int deliver(struct webhook_worker *worker, db_conn *c, const struct claimed *w)
{
	int64_t poll_us = (int64_t)worker->config.poll_ms * 1000, now, last_seq;
	json_t *filters = json_loads(w->filters, 0, NULL);
	json_t *events = json_array(), *document;
	struct webhook_response response;
	enum webhook_send_status sent;
	char why[WEBHOOK_SUMMARY_MAX];
	principal owner;
	char *body;
	int more, status;

	status = owner_check(c, w, &owner, why, sizeof(why));
	if (status == 0) {
		json_decref(filters);
		json_decref(events);
		return disable_for_access(c, w, why, time_now_us());
	}
	if (status == 1)
		status = collect_events(c, w, &owner, filters, events, &last_seq, &more);
	json_decref(filters);
	if (status != DB_OK) {
		json_decref(events);
		release(c, w, w->cursor_seq, time_now_us() + poll_us);
		return status;
	}
	now = time_now_us();
	if (json_array_size(events) == 0) {
		int heartbeat_due = now - w->last_sent_at >= worker->config.heartbeat_ms * 1000;

		/* Events the filters dropped move the cursor; a quiet webhook only waits, or gets its heartbeat. */
		if (last_seq != w->cursor_seq || !heartbeat_due) {
			json_decref(events);
			return release(c, w, last_seq, more ? now : now + poll_us);
		}
	}

	document = json_object();
	json_object_set_new(document, "events", events);
	body = json_dumps(document, JSON_COMPACT);
	json_decref(document);
	if (body == NULL) {
		release(c, w, w->cursor_seq, now + poll_us);
		return DB_ERROR;
	}
	sent = send_signed(worker, w, body, &response);
	free(body);
	now = time_now_us();

	if (sent == WEBHOOK_ABORTED)
		return release(c, w, w->cursor_seq, now);
	if (sent == WEBHOOK_SENT && response.http_status >= 200 && response.http_status < 300) {
		log_debug("webhooks", "webhook delivered", "webhook_gid", LOG_INT(w->gid), "through_seq",
			  LOG_INT(last_seq), NULL);
		return record_success(c, w, last_seq, now, more ? now : now + poll_us);
	}
	if (sent == WEBHOOK_SENT && response.http_status >= 300 && response.http_status < 400) {
		/* Redirects are not followed, so that a redirect cannot lead to an address that was not checked. */
		snprintf(response.summary, sizeof(response.summary), "HTTP %ld: redirects are not followed; register "
								      "the final URL as the target", response.http_status);
	}
	return record_failure(worker, c, w, response.summary, now);
}

/* Claims and works on one webhook. Returns 1 when one was claimed, 0 when none was due, or a db error status. */
static int deliver_one(struct webhook_worker *worker)
{
	db_conn *c = db_acquire(worker->db, ACQUIRE_TIMEOUT_MS);
	struct claimed w;
	int status;

	if (c == NULL)
		return DB_UNAVAILABLE;
	status = claim(worker, c, &w);
	if (status == 1) {
		int recorded = deliver(worker, c, &w);

		if (recorded != DB_OK)
			log_warn("webhooks", "cannot record a webhook delivery; it is retried when its claim runs out",
				 "webhook_gid", LOG_INT(w.gid), "error", db_conn_errmsg(c), NULL);
		claimed_free(&w);
	}
	db_release(worker->db, c);
	return status;
}

/* ---- the thread -------------------------------------------------------- */

static void note_status(struct webhook_worker *worker, int status)
{
	if (status >= 0) {
		if (worker->failing)
			log_info("webhooks", "webhook worker reaches the database again", NULL);
		worker->failing = 0;
		return;
	}
	if (!worker->failing)
		log_warn("webhooks", "webhook worker cannot reach the database; retrying", "status", LOG_INT(status),
			 NULL);
	worker->failing = 1;
}

static void *worker_loop(void *arg)
{
	struct webhook_worker *worker = arg;
	struct timespec deadline;

	pthread_mutex_lock(&worker->lock);
	while (!worker->stopping) {
		int ran;

		pthread_mutex_unlock(&worker->lock);
		ran = deliver_one(worker);
		note_status(worker, ran);
		pthread_mutex_lock(&worker->lock);
		if (ran == 1)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += worker->config.poll_ms / 1000;
		deadline.tv_nsec += (long)(worker->config.poll_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (!worker->stopping && pthread_cond_timedwait(&worker->wake, &worker->lock, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&worker->lock);
	return NULL;
}

struct webhook_worker *webhook_worker_start(db *d, const unsigned char *pepper, const struct webhook_config *config,
					    char *err, size_t errlen)
{
	struct webhook_worker *worker = calloc(1, sizeof(*worker));
	pthread_condattr_t attr;

	if (worker == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	worker->db = d;
	memcpy(worker->pepper, pepper, PEPPER_BYTES);
	worker->config = *config;
	pthread_mutex_init(&worker->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&worker->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&worker->thread, NULL, worker_loop, worker) != 0) {
		snprintf(err, errlen, "cannot start the webhook delivery thread");
		pthread_cond_destroy(&worker->wake);
		pthread_mutex_destroy(&worker->lock);
		sodium_memzero(worker->pepper, sizeof(worker->pepper));
		free(worker);
		return NULL;
	}
	log_info("webhooks", "webhook worker started", "poll_ms", LOG_INT(config->poll_ms), "timeout_ms",
		 LOG_INT(config->timeout_ms), "private_targets_allowed", config->allow_private ? "true" : "false", NULL);
	return worker;
}

void webhook_worker_stop(struct webhook_worker **workerp)
{
	struct webhook_worker *worker = *workerp;

	if (worker == NULL)
		return;
	pthread_mutex_lock(&worker->lock);
	worker->stopping = 1;
	pthread_cond_signal(&worker->wake);
	pthread_mutex_unlock(&worker->lock);
	pthread_join(worker->thread, NULL);
	pthread_cond_destroy(&worker->wake);
	pthread_mutex_destroy(&worker->lock);
	sodium_memzero(worker->pepper, sizeof(worker->pepper));
	free(worker);
	*workerp = NULL;
}
