/*
 * The HTTP layer's view of a request and a response. Only src/http knows
 * libmicrohttpd: handlers receive a finished request (headers, query, the
 * whole body) and fill in a response, which the server then sends.
 */
#ifndef KONTOR_HTTP_HTTP_H
#define KONTOR_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 12
#define HTTP_REQUEST_ID_LEN 17 /* 16 hex digits and a NUL */

typedef struct http_request {
	const char *method;
	const char *path;  /* decoded path, without the query string */
	const char *body;  /* the whole body with a NUL after it, or NULL when empty */
	size_t body_len;
	/*
	 * The body limit in bytes when the body exceeded it, else 0. The server
	 * then discards the body (body is NULL) and the handler replies 413 in
	 * the form its clients parse.
	 */
	size_t body_too_large;
	char request_id[HTTP_REQUEST_ID_LEN];
	/*
	 * The client's address: the TCP peer's, or, when the peer is a trusted
	 * proxy (http_server_config.trusted_proxies), the one it reports in
	 * X-Forwarded-For.
	 */
	char client_ip[64];
	char peer_ip[64];          /* the TCP peer's address, the proxy's when there is one */
	int peer_is_trusted_proxy; /* the peer is in http_server_config.trusted_proxies */
	int64_t started_us; /* monotonic clock, for the duration in the access log */
	int is_tls;
	void *native;       /* the library's connection; only src/http uses it */
} http_request;

struct proxy_trust;

struct http_header {
	char *name;
	char *value;
};

/*
 * Produces a streamed body: copies up to `max` bytes from byte `offset` into
 * `buf` and returns how many (at least 1), or -1 to abort the connection.
 * Called from the server's threads, one call at a time per response.
 */
typedef long (*http_body_reader)(void *ctx, uint64_t offset, char *buf, size_t max);

typedef struct http_response {
	int status;
	char *body; /* owned, freed by the server after sending */
	size_t body_len;
	/* A streamed body instead of `body`: see http_response_set_stream. */
	http_body_reader stream_read;
	void *stream_ctx;
	void (*stream_free)(void *ctx);
	uint64_t stream_len;
	const char *content_type;
	struct http_header headers[HTTP_MAX_HEADERS];
	int header_count;
} http_response;

/* Returns a borrowed query parameter value (decoded), or NULL if absent. */
const char *http_request_query(const http_request *r, const char *name);
/* Maximum number of query parameters in one request. No endpoint reads more than a dozen. */
#define HTTP_QUERY_PARAMS_MAX 64
/*
 * Returns the name of the first query parameter that the query string gives
 * more than once, comparing names without regard to case, or NULL. Sets
 * *too_many when the query string has more than HTTP_QUERY_PARAMS_MAX
 * parameters, and then returns NULL. No allocation.
 */
const char *http_request_query_repeated(const http_request *r, int *too_many);
/* Calls fn for each query parameter; stops early when fn returns nonzero. */
int http_request_query_each(const http_request *r, int (*fn)(void *ctx, const char *name, const char *value),
			    void *ctx);
/*
 * Calls fn for each header field in the order received, so that a caller
 * can join repeated fields (RFC 7230 section 3.2.2). Stops early when fn
 * returns nonzero, and then returns 1.
 */
int http_request_header_each(const http_request *r, int (*fn)(void *ctx, const char *name, const char *value),
			     void *ctx);
/* Returns a borrowed header value (name is case-insensitive), or NULL. When repeated, the first. */
const char *http_request_header(const http_request *r, const char *name);
/* Counts the request's header fields named `name`, ignoring case; more than one Authorization is an error. */
int http_request_header_count(const http_request *r, const char *name);
/* Returns a borrowed cookie value, or NULL. */
const char *http_request_cookie(const http_request *r, const char *name);

/* Adds a response header; both strings are copied. Extra headers past the limit are dropped. */
void http_response_add_header(http_response *res, const char *name, const char *value);
/* Sets the body, taking ownership of `body` (allocated with malloc). */
void http_response_set_body(http_response *res, int status, const char *content_type, char *body, size_t len);
/*
 * Sets a body of `len` bytes that `read` produces while it is sent, so a
 * large body never sits in memory whole. The response owns `ctx` and calls
 * `free_ctx(ctx)` once sending has ended, or when the response is cleared
 * unsent.
 */
void http_response_set_stream(http_response *res, int status, const char *content_type, uint64_t len,
			      http_body_reader read, void *ctx, void (*free_ctx)(void *ctx));
/* Sets a body copied from a string. */
void http_response_set_text(http_response *res, int status, const char *content_type, const char *text);
void http_response_clear(http_response *res);

/* ---------- blocking steps off the worker threads ---------- */

/*
 * A handler that must block (an outbound request that may take seconds)
 * calls http_request_defer and returns without a reply. The server then
 * suspends the connection, so its worker thread serves other connections,
 * and runs `work` on a helper thread. When `work` returns, the server
 * resumes the connection and, on its worker thread, calls `resume` to fill
 * in the response, which it then sends. `release` runs exactly once, after
 * `resume` (resumed 1) or when the connection ended before `resume` could
 * run (resumed 0: the client went away, or the server stopped); it frees
 * `arg`.
 *
 * `work` gets a flag that becomes nonzero when the server stops; it should
 * then return soon (http_server_stop waits for it).
 */
typedef void (*http_work_fn)(void *arg, const volatile int *stopping);
typedef void (*http_resume_fn)(http_request *req, http_response *res, void *arg);
typedef void (*http_release_fn)(http_request *req, void *arg, int resumed);

/*
 * Reserves a helper for the request. Returns 0 (the handler then returns
 * without a reply, and the server owns `arg` from here on), or -1 when the
 * helpers are all taken or queued for, or the server is stopping; the
 * caller then keeps `arg` and replies itself (503). At most one call per
 * request.
 */
int http_request_defer(http_request *req, http_work_fn work, http_resume_fn resume, http_release_fn release,
		       void *arg);

/* The application's entry point for one finished request. */
typedef void (*http_handler)(http_request *req, http_response *res, void *app);
/* Returns the largest body accepted for a request, from its method and path. */
typedef size_t (*http_body_limit_fn)(const char *method, const char *path, void *app);

struct http_server_config {
	const char *host;       /* numeric address to bind, IPv4 or IPv6 */
	int port;               /* 0 picks a free port */
	int threads;            /* worker threads; each handles requests to completion unless deferred */
	int helper_threads;     /* threads for deferred blocking steps (http_request_defer) */
	int helper_queue_max;   /* deferred steps waiting or running at once; more get -1 from http_request_defer */
	int connection_limit;
	int per_ip_connection_limit; /* open connections from one TCP peer address; 0 means no limit */
	int connection_timeout_s;   /* idle time before a connection is closed */
	/* Peers whose X-Forwarded-For names the client (http/proxy.h); NULL or empty trusts none. */
	const struct proxy_trust *trusted_proxies;
	http_body_limit_fn body_limit;
	http_handler handler;
	void *app;
};

typedef struct http_server http_server;

/* Starts serving; returns 0 or -1 with a log line saying why. */
int http_server_start(const struct http_server_config *config, http_server **server_r);
/* Returns the port actually bound. */
int http_server_port(const http_server *server);
/*
 * Stops accepting, ends deferred steps (raising their stopping flag),
 * finishes requests in flight and frees the server; clears the pointer.
 */
void http_server_stop(http_server **server);

/* Returns the reason phrase for a status code. */
const char *http_status_text(int status);

#endif
