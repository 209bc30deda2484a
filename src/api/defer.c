/*
 * api_defer (api/api.h): a handler's blocking step runs on one of the HTTP
 * server's helper threads (http_request_defer) while the connection is
 * suspended, and the rest of the handler runs afterwards with a fresh
 * api_ctx. Also the caps on steps in flight, per kind, in this process and
 * per caller, so that no caller can take every helper.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/app.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deferred request between its handler and its resume step. */
struct api_deferral {
	struct app *app;
	const struct api_route *route;
	principal who;   /* the caller as first authenticated */
	int pretty;
	struct api_defer step;
	int64_t limit_key; /* the caller's key in step.limit */
	int ratelimit_held;
	int64_t ratelimit_key;
	int ratelimit_write;
};

enum cap_result { CAP_OK, CAP_SERVER, CAP_PRINCIPAL };

static enum cap_result cap_acquire(struct api_defer_limit *limit, int64_t key)
{
	enum cap_result result = CAP_OK;
	int found = -1, free_slot = -1;

	pthread_mutex_lock(&limit->lock);
	for (int i = 0; i < API_DEFER_SLOTS; i++) {
		if (limit->slots[i].count > 0 && limit->slots[i].key == key)
			found = i;
		else if (limit->slots[i].count == 0 && free_slot < 0)
			free_slot = i;
	}
	if (limit->in_flight >= limit->server_max) {
		result = CAP_SERVER;
	} else if (found >= 0 && limit->slots[found].count >= limit->principal_max) {
		result = CAP_PRINCIPAL;
	} else if (found >= 0) {
		limit->slots[found].count++;
		limit->in_flight++;
	} else if (free_slot >= 0) {
		limit->slots[free_slot].key = key;
		limit->slots[free_slot].count = 1;
		limit->in_flight++;
	} else {
		/* Only when server_max exceeds API_DEFER_SLOTS, a programming error. */
		result = CAP_SERVER;
	}
	pthread_mutex_unlock(&limit->lock);
	return result;
}

static void cap_release(struct api_defer_limit *limit, int64_t key)
{
	pthread_mutex_lock(&limit->lock);
	for (int i = 0; i < API_DEFER_SLOTS; i++) {
		if (limit->slots[i].count > 0 && limit->slots[i].key == key) {
			limit->slots[i].count--;
			limit->in_flight--;
			break;
		}
	}
	pthread_mutex_unlock(&limit->lock);
}

static void deferral_work(void *arg, const volatile int *stopping)
{
	struct api_deferral *deferral = arg;

	deferral->step.work(deferral->step.arg, stopping);
}

/* Prepares a fresh ctx for the resume step and runs it. */
static void resume_step(api_ctx *ctx, struct api_deferral *deferral)
{
	const char *opt_fields;

	ctx->db = db_acquire(ctx->app->db, ctx->app->db_timeout_ms);
	if (ctx->db == NULL) {
		api_error(ctx, 503, "The database is unavailable or busy. Retry shortly.");
		http_response_add_header(ctx->res, "Retry-After", "1");
		return;
	}
	/* Authenticate again: a token revoked during the step must not complete the request. */
	if (deferral->route->flags & API_PUBLIC) {
		ctx->who = deferral->who;
	} else {
		if (dispatch_authenticate(ctx) != 0)
			return;
		if (ctx->who.user_gid != deferral->who.user_gid) {
			api_error(ctx, 401, "Not Authorized: the credentials changed while the request was in progress.");
			return;
		}
	}
	opt_fields = api_query(ctx, "opt_fields");
	if (opt_fields != NULL && fields_parse(ctx, opt_fields, deferral->route->type) != 0)
		return;

	deferral->step.resume(ctx, deferral->step.arg);
	if (db_in_transaction(ctx->db)) {
		log_error("api", "resume step left a transaction open; rolled back", "request_id", ctx->req->request_id,
			  "route", deferral->route->pattern, NULL);
		db_rollback(ctx->db);
	}
}

static void deferral_resume(http_request *req, http_response *res, void *arg)
{
	struct api_deferral *deferral = arg;
	api_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.res = res;
	ctx.app = deferral->app;
	ctx.route = deferral->route;
	ctx.pretty = deferral->pretty;
	resume_step(&ctx, deferral);
	if (res->status == 0)
		api_error(&ctx, 500, "Server error: the handler sent no reply.");
	dispatch_access_log(&ctx, deferral->route->pattern);

	fields_free(&ctx.fields);
	if (ctx.db)
		db_release(ctx.app->db, ctx.db);
}

static void deferral_release(http_request *req, void *arg, int resumed)
{
	struct api_deferral *deferral = arg;

	if (!resumed)
		log_info("http", "request ended without a reply: the connection closed during a deferred step",
			 "request_id", req->request_id, "route", deferral->route->pattern, "duration_us",
			 LOG_NUM(time_mono_us() - req->started_us), NULL);
	if (deferral->ratelimit_held)
		ratelimit_release(deferral->app->limits, deferral->ratelimit_key, deferral->ratelimit_write);
	cap_release(deferral->step.limit, deferral->limit_key);
	deferral->step.free_arg(deferral->step.arg);
	free(deferral);
}

void defer_keep_ratelimit(struct api_deferral *deferral, int64_t key, int is_write)
{
	deferral->ratelimit_held = 1;
	deferral->ratelimit_key = key;
	deferral->ratelimit_write = is_write;
}

int api_defer(api_ctx *ctx, const struct api_defer *step)
{
	int64_t key = ctx->who.token_gid ? ctx->who.token_gid : ctx->who.user_gid;
	struct api_deferral *deferral;
	enum cap_result cap;
	char seconds[16];

	cap = cap_acquire(step->limit, key);
	if (cap != CAP_OK) {
		step->free_arg(step->arg);
		log_warn("api", "deferred step rejected: too many in flight", "request_id", ctx->req->request_id, "kind",
			 step->limit->what, "scope", cap == CAP_SERVER ? "server" : "caller", NULL);
		if (cap == CAP_SERVER)
			api_error(ctx, 429, "Too many %s in flight on this server (at most %d); retry after %d seconds.",
				  step->limit->what, step->limit->server_max, step->retry_after_s);
		else
			api_error(ctx, 429, "Too many %s in flight for this token (at most %d at once); wait for them "
					    "to finish, or retry after %d seconds.",
				  step->limit->what, step->limit->principal_max, step->retry_after_s);
		/* After api_error, which drops the headers set before it. */
		snprintf(seconds, sizeof(seconds), "%d", step->retry_after_s);
		http_response_add_header(ctx->res, "Retry-After", seconds);
		return -1;
	}

	deferral = calloc(1, sizeof(*deferral));
	if (deferral == NULL) {
		cap_release(step->limit, key);
		step->free_arg(step->arg);
		log_error("api", "out of memory deferring a step", "request_id", ctx->req->request_id, NULL);
		api_error(ctx, 500, "Server error.");
		return -1;
	}
	deferral->app = ctx->app;
	deferral->route = ctx->route;
	deferral->who = ctx->who;
	deferral->pretty = ctx->pretty;
	deferral->step = *step;
	deferral->limit_key = key;
	if (http_request_defer(ctx->req, deferral_work, deferral_resume, deferral_release, deferral) != 0) {
		cap_release(step->limit, key);
		step->free_arg(step->arg);
		free(deferral);
		log_warn("api", "deferred step rejected: no helper thread free", "request_id", ctx->req->request_id,
			 "kind", step->limit->what, NULL);
		api_error(ctx, 503, "The server is busy with other %s or stopping. Retry shortly.", step->limit->what);
		http_response_add_header(ctx->res, "Retry-After", "1");
		return -1;
	}
	ctx->deferral = deferral;
	return 0;
}
