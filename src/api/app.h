/* Process-wide state shared by every request: the database pool, keys and limits. */
#ifndef KONTOR_API_APP_H
#define KONTOR_API_APP_H

#include "http/http.h"
#include "http/ratelimit.h"
#include "store/db.h"

#include <stddef.h>

#define APP_KEY_BYTES 32

struct webhook_config;

struct app {
	db *db;
	unsigned char pepper[APP_KEY_BYTES];   /* token hash key, kept outside the database */
	unsigned char page_key[APP_KEY_BYTES]; /* MAC key for pagination offsets, shared by all nodes via settings */
	struct ratelimit *limits;
	int db_timeout_ms;                     /* wait for a pooled connection before replying 503 */
	const char *web_dir;                   /* the admin console's files (index.html, i18n/ ...) */
	const char *public_url;                /* base of absolute URLs in responses, or NULL: see api_base_url */
	int trust_proxy;                       /* honour X-Forwarded-Proto from the reverse proxy in front */
	int has_trusted_proxies;               /* --trusted-proxy was given: X-Forwarded-Proto only from those peers */
	const struct webhook_config *webhooks; /* handshake timeout, private-target rule, retry limits (jobs/webhooks.h) */
};

/* The HTTP entry point: routes /healthz, /api/1.0/... and static files. */
void app_handle(http_request *req, http_response *res, void *app);
/*
 * Serves the admin console (static files and its pages under /admin).
 * Returns 1 when it handled the request, 0 when the path is not its own.
 */
int app_admin_console(struct app *app, http_request *req, http_response *res);

/* Returns the body size limit for a request. */
size_t app_body_limit(const char *method, const char *path, void *app);

/*
 * Loads (or creates on first use) the pagination key from the settings
 * table. Returns 0, or -1 with a message in err.
 */
int app_load_page_key(struct app *app, char *err, size_t errlen);

#endif
