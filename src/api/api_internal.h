/* Pieces of the API layer shared between its own files, not used by resource handlers. */
#ifndef KONTOR_API_INTERNAL_H
#define KONTOR_API_INTERNAL_H

#include "api/api.h"

#include <stddef.h>

#define FIELDS_MAX 100
#define FIELD_PATH_MAX 128

/* Parses opt_fields ("name,assignee.name"); replies 400 and returns -1 when invalid. */
int fields_parse(api_ctx *ctx, const char *text, const struct api_type *type);
void fields_free(struct fields **fields);

/* Builds next_page for a list reply; returns a new reference or json null. */
json_t *page_next_json(api_ctx *ctx, const struct api_page *page);

/* Authenticates the request (bearer token, else session cookie and CSRF token); 0, or -1 after replying. */
int dispatch_authenticate(api_ctx *ctx);
/* Writes the access-log line of a finished request: status and microseconds since it arrived. */
void dispatch_access_log(api_ctx *ctx, const char *route);
/*
 * Keeps a deferred request's rate-limit place (ratelimit_acquire's key and
 * kind) until the request ends; defer.c releases it. Called by the
 * dispatcher after a handler deferred.
 */
void defer_keep_ratelimit(struct api_deferral *deferral, int64_t key, int is_write);

/* Percent-encodes `text` for a query string into `out`; returns the length written. */
size_t url_encode(const char *text, char *out, size_t len);

#endif
