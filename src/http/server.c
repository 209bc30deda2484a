/*
 * libmicrohttpd glue: accepts connections, enforces size and time limits,
 * collects the whole request body, then hands a finished http_request to
 * the application handler and sends its http_response.
 *
 * The response is queued on a later call of the access handler, never on
 * the first: libmicrohttpd 0.9.x closes the connection when a response is
 * queued during the first call, which defeats keep-alive.
 *
 * A handler may defer a blocking step (http_request_defer): the connection
 * is then suspended (MHD_suspend_connection), the step runs on a helper
 * thread (http/workpool.h), and MHD_resume_connection makes libmicrohttpd
 * call the access handler again, which then builds and queues the reply.
 * A suspended connection is not polled, so its worker thread serves its
 * other connections meanwhile.
 */
#include "http/http.h"
#include "http/proxy.h"
#include "http/workpool.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/*
 * libmicrohttpd's memory per connection: it holds the request line and
 * headers and the response headers, and the library clears it for every
 * request, so a large one costs time on each. 16 KiB takes a request line
 * and headers of about 15 KiB together; larger ones get 431.
 */
#define CONNECTION_MEMORY (16 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct workpool *helpers; /* runs deferred steps */
	struct http_server_config config;
	int port;
};

/* The progress of a request's deferred step. */
enum defer_phase {
	DEFER_NONE,
	DEFER_RESERVED, /* the handler called http_request_defer */
	DEFER_RUNNING,  /* the connection is suspended and the step queued or running */
	DEFER_DONE,     /* the step returned and the connection was resumed; resume has not run yet */
	DEFER_FINISHED, /* resume and release have run */
};

/* Per-request state kept between calls of the access handler. */
struct request_state {
	http_request req; /* first, so that http_request_defer finds the state from the request */
	struct http_server *server;
	enum defer_phase defer_phase;
	http_work_fn defer_work;
	http_resume_fn defer_resume;
	http_release_fn defer_release;
	void *defer_arg;
	char *body;
	size_t body_len;
	size_t body_limit;
	int too_large;
	int first_call_done;
};

/* The first query parameter named exactly `name`. */
struct query_find {
	const char *name;
	size_t name_len;
	const char *value;
};

static enum MHD_Result query_find_cb(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_len,
				     const char *value, size_t value_len)
{
	struct query_find *find = cls;

	(void)kind;
	(void)value_len;
	if (key_len != find->name_len || memcmp(key, find->name, key_len) != 0)
		return MHD_YES;
	find->value = value ? value : "";
	return MHD_NO;
}

/*
 * Query parameter names match exactly, as in Asana's API: libmicrohttpd's
 * own lookup ignores case, so `OPT_FIELDS` would act as `opt_fields` for
 * kontor but not for a proxy or a log filter that reads the query string.
 */
const char *http_request_query(const http_request *r, const char *name)
{
	struct query_find find = { name, strlen(name), NULL };

	MHD_get_connection_values_n(r->native, MHD_GET_ARGUMENT_KIND, query_find_cb, &find);
	return find.value;
}

struct query_iter {
	int (*fn)(void *ctx, const char *name, const char *value);
	void *ctx;
	int stopped;
};

static enum MHD_Result query_iter_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_iter *it = cls;

	(void)kind;
	if (it->fn(it->ctx, key, value ? value : "") != 0) {
		it->stopped = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int http_request_query_each(const http_request *r, int (*fn)(void *ctx, const char *name, const char *value),
			    void *ctx)
{
	struct query_iter it = { fn, ctx, 0 };

	MHD_get_connection_values(r->native, MHD_GET_ARGUMENT_KIND, query_iter_cb, &it);
	return it.stopped;
}

struct query_repeat {
	const char *names[HTTP_QUERY_PARAMS_MAX];
	size_t count;
	const char *repeated;
	int too_many;
};

static enum MHD_Result query_repeat_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_repeat *state = cls;

	(void)kind;
	(void)value;
	/* An empty segment (`a=1&&b=2`) names no parameter. */
	if (key[0] == '\0')
		return MHD_YES;
	/* Caseless on purpose: a copy in other case is not read (http_request_query) but may confuse a proxy. */
	for (size_t i = 0; i < state->count; i++) {
		if (strcasecmp(key, state->names[i]) == 0) {
			state->repeated = state->names[i];
			return MHD_NO;
		}
	}
	if (state->count == HTTP_QUERY_PARAMS_MAX) {
		state->too_many = 1;
		return MHD_NO;
	}
	state->names[state->count++] = key;
	return MHD_YES;
}

const char *http_request_query_repeated(const http_request *r, int *too_many)
{
	struct query_repeat state = { { NULL }, 0, NULL, 0 };

	MHD_get_connection_values(r->native, MHD_GET_ARGUMENT_KIND, query_repeat_cb, &state);
	*too_many = state.too_many;
	return state.repeated;
}

int http_request_header_each(const http_request *r, int (*fn)(void *ctx, const char *name, const char *value),
			     void *ctx)
{
	struct query_iter it = { fn, ctx, 0 };

	MHD_get_connection_values(r->native, MHD_HEADER_KIND, query_iter_cb, &it);
	return it.stopped;
}

const char *http_request_header(const http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->native, MHD_HEADER_KIND, name);
}

struct header_count {
	const char *name;
	int count;
};

static enum MHD_Result header_count_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_count *counted = cls;

	(void)kind;
	(void)value;
	/* Field names ignore case (RFC 9110 section 5.1). */
	if (strcasecmp(key, counted->name) == 0)
		counted->count++;
	return MHD_YES;
}

int http_request_header_count(const http_request *r, const char *name)
{
	struct header_count counted = { name, 0 };

	MHD_get_connection_values(r->native, MHD_HEADER_KIND, header_count_cb, &counted);
	return counted.count;
}

const char *http_request_cookie(const http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->native, MHD_COOKIE_KIND, name);
}

void http_response_add_header(http_response *res, const char *name, const char *value)
{
	if (res->header_count >= HTTP_MAX_HEADERS) {
		log_warn("http", "response header dropped: too many headers", "header", name, NULL);
		return;
	}
	res->headers[res->header_count].name = strdup(name);
	res->headers[res->header_count].value = strdup(value);
	res->header_count++;
}

void http_response_set_body(http_response *res, int status, const char *content_type, char *body, size_t len)
{
	free(res->body);
	/* A body set after a stream (an error reply, say) replaces the stream. */
	if (res->stream_free && res->stream_ctx)
		res->stream_free(res->stream_ctx);
	res->stream_read = NULL;
	res->stream_ctx = NULL;
	res->stream_free = NULL;
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->body_len = len;
}

void http_response_set_stream(http_response *res, int status, const char *content_type, uint64_t len,
			      http_body_reader read, void *ctx, void (*free_ctx)(void *ctx))
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	if (res->stream_free && res->stream_ctx)
		res->stream_free(res->stream_ctx);
	res->status = status;
	res->content_type = content_type;
	res->stream_read = read;
	res->stream_ctx = ctx;
	res->stream_free = free_ctx;
	res->stream_len = len;
}

void http_response_set_text(http_response *res, int status, const char *content_type, const char *text)
{
	size_t len = strlen(text);

	http_response_set_body(res, status, content_type, strndup(text, len), len);
}

void http_response_clear(http_response *res)
{
	free(res->body);
	if (res->stream_free && res->stream_ctx)
		res->stream_free(res->stream_ctx);
	for (int i = 0; i < res->header_count; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	memset(res, 0, sizeof(*res));
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

/*
 * Decodes %HH in the path and in query names and values, as libmicrohttpd
 * does by default, except %00, which stays as the three characters. A
 * decoded NUL would end the C string there: `/users/me%00/x` would route as
 * `/users/me` and `?query=ab%00cd` would search for `ab`, while a proxy in
 * front sees the whole text. Kept literal, such a path matches no route and
 * such a value fails the parameter's own check.
 */
static size_t unescape_keeping_nul(void *cls, struct MHD_Connection *connection, char *text)
{
	char *read = text, *write = text;

	(void)cls;
	(void)connection;
	while (*read != '\0') {
		int high, low;

		if (read[0] == '%' && (high = text_hex_value(read[1])) >= 0 && (low = text_hex_value(read[2])) >= 0 &&
		    (high | low) != 0) {
			*write++ = (char)(high * 16 + low);
			read += 3;
			continue;
		}
		*write++ = *read++;
	}
	*write = '\0';
	return (size_t)(write - text);
}

/* Dotted decimal for the common case: inet_ntop goes through sprintf, a visible cost on a small GET. */
static void format_ipv4(const unsigned char *octets, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = octets[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

static void format_client_ip(const struct sockaddr *addr, char *buf, size_t len)
{
	buf[0] = '\0';
	if (addr == NULL)
		return;
	if (addr->sa_family == AF_INET && len >= INET_ADDRSTRLEN)
		format_ipv4((const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr, buf);
	else if (addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, buf, (socklen_t)len);
	else if (addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, buf, (socklen_t)len);
}

/* ---------- the client behind a trusted proxy ---------- */

/* At most one warning a minute about X-Forwarded-For, so that one bad proxy cannot flood the log. */
#define FORWARDED_WARNING_INTERVAL_US (60 * 1000000LL)

static _Atomic int64_t forwarded_warning_next_us;
static atomic_long forwarded_warnings_suppressed;

/* The X-Forwarded-For fields of a request, in the order received. */
struct forwarded_fields {
	const char *values[PROXY_HEADERS_MAX];
	int count;
	int too_many;
};

static enum MHD_Result collect_forwarded_for(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct forwarded_fields *fields = cls;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
		return MHD_YES;
	if (fields->count == PROXY_HEADERS_MAX) {
		fields->too_many = 1;
		return MHD_NO;
	}
	fields->values[fields->count++] = value;
	return MHD_YES;
}

static void warn_forwarded_for(const http_request *req, const char *problem, const char *entry, size_t entry_len)
{
	int64_t now = time_mono_us();
	int64_t next = atomic_load(&forwarded_warning_next_us);
	char text[72];
	long suppressed;

	if (now < next || !atomic_compare_exchange_strong(&forwarded_warning_next_us, &next,
							  now + FORWARDED_WARNING_INTERVAL_US)) {
		atomic_fetch_add(&forwarded_warnings_suppressed, 1);
		return;
	}
	suppressed = atomic_exchange(&forwarded_warnings_suppressed, 0);
	snprintf(text, sizeof(text), "%.*s", entry_len > 64 ? 64 : (int)entry_len, entry ? entry : "");
	log_warn("http",
		 "X-Forwarded-For from a trusted proxy is unusable, so the proxy's address stands for the client; "
		 "check what the proxies write into X-Forwarded-For. Repeats are logged at most once a minute",
		 "problem", problem, "entry", entry ? text : NULL, "request_id", req->request_id, "peer_ip",
		 req->peer_ip, "suppressed_since_last", LOG_NUM(suppressed), NULL);
}

/*
 * Sets req->peer_ip and req->client_ip. X-Forwarded-For is read only when
 * the peer is a trusted proxy, so that a client connecting directly cannot
 * choose its recorded address.
 */
static void resolve_client(const struct http_server *server, struct MHD_Connection *connection,
			   const struct sockaddr *peer, http_request *req)
{
	const struct proxy_trust *trust = server->config.trusted_proxies;
	struct forwarded_fields fields = { .count = 0 };
	struct proxy_address peer_address, client;
	enum proxy_walk_result result;
	const char *bad = NULL;
	size_t bad_len = 0;

	format_client_ip(peer, req->peer_ip, sizeof(req->peer_ip));
	memcpy(req->client_ip, req->peer_ip, sizeof(req->client_ip));
	if (trust == NULL || trust->count == 0)
		return;
	if (proxy_address_from_sockaddr(peer, &peer_address) != 0 || !proxy_trust_contains(trust, &peer_address))
		return;
	req->peer_is_trusted_proxy = 1;

	/* Repeated fields form one list in order (RFC 7230 section 3.2.2), and libmicrohttpd keeps each. */
	MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_forwarded_for, &fields);
	if (fields.too_many) {
		warn_forwarded_for(req, "more than 16 X-Forwarded-For fields", NULL, 0);
		return;
	}
	result = proxy_forwarded_for_walk(trust, fields.values, fields.count, &client, &bad, &bad_len);
	if (result == PROXY_WALK_FOUND)
		proxy_address_format(&client, req->client_ip, sizeof(req->client_ip));
	else if (result == PROXY_WALK_MALFORMED)
		warn_forwarded_for(req, "an entry is not an IP address", bad, bad_len);
}

/* A streamed body as libmicrohttpd's content reader sees it. */
struct stream {
	http_body_reader read;
	void *ctx;
	void (*free_ctx)(void *ctx);
};

#define STREAM_BLOCK_BYTES (64 * 1024)

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *stream = cls;
	long n = stream->read(stream->ctx, pos, buf, max);

	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream *stream = cls;

	if (stream->free_ctx)
		stream->free_ctx(stream->ctx);
	free(stream);
}

static struct MHD_Response *create_stream_response(http_response *res)
{
	struct stream *stream = malloc(sizeof(*stream));
	struct MHD_Response *response;

	if (stream == NULL)
		return NULL;
	stream->read = res->stream_read;
	stream->ctx = res->stream_ctx;
	stream->free_ctx = res->stream_free;
	response = MHD_create_response_from_callback(res->stream_len, STREAM_BLOCK_BYTES, stream_read, stream,
						     stream_free);
	if (response == NULL) {
		free(stream);
		return NULL;
	}
	/* The library now calls stream_free, which releases the context. */
	res->stream_ctx = NULL;
	res->stream_free = NULL;
	return response;
}

static enum MHD_Result send_response(struct MHD_Connection *connection, http_response *res)
{
	struct MHD_Response *response;
	enum MHD_Result result;

	if (res->stream_read) {
		response = create_stream_response(res);
	} else {
		response = MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (char *)"",
							   res->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (response != NULL)
			res->body = NULL; /* now owned by the library */
	}
	if (response == NULL) {
		log_error("http", "cannot create response", NULL);
		return MHD_NO;
	}
	if (res->content_type)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	for (int i = 0; i < res->header_count; i++)
		MHD_add_response_header(response, res->headers[i].name, res->headers[i].value);
	result = MHD_queue_response(connection, (unsigned)res->status, response);
	MHD_destroy_response(response);
	return result;
}

int http_request_defer(http_request *req, http_work_fn work, http_resume_fn resume, http_release_fn release,
		       void *arg)
{
	struct request_state *state = (struct request_state *)req;

	if (state->defer_phase != DEFER_NONE || workpool_reserve(state->server->helpers) != 0)
		return -1;
	state->defer_phase = DEFER_RESERVED;
	state->defer_work = work;
	state->defer_resume = resume;
	state->defer_release = release;
	state->defer_arg = arg;
	return 0;
}

/*
 * Runs on a helper thread. After MHD_resume_connection the worker thread
 * may finish the request and free the state at any moment, so nothing
 * touches it after that call. libmicrohttpd takes a mutex in
 * MHD_resume_connection and again before it calls the access handler, so
 * the worker thread reads everything written here.
 */
static void run_deferred(void *arg, const volatile int *stopping)
{
	struct request_state *state = arg;
	struct MHD_Connection *connection = state->req.native;

	state->defer_work(state->defer_arg, stopping);
	state->defer_phase = DEFER_DONE;
	MHD_resume_connection(connection);
}

/*
 * Request ids need only be unique, not secret: each thread starts at a
 * random point and steps a counter through a bijective mixer, so ids never
 * repeat within a thread, and a system call per request is saved.
 */
static void request_id_next(char *out)
{
	static const char hex[] = "0123456789abcdef";
	static _Thread_local uint64_t counter;
	static _Thread_local int seeded;
	uint64_t id;

	if (!seeded) {
		randombytes_buf(&counter, sizeof(counter));
		seeded = 1;
	}
	counter += 0x9e3779b97f4a7c15ULL;
	id = counter;
	id = (id ^ (id >> 30)) * 0xbf58476d1ce4e5b9ULL;
	id = (id ^ (id >> 27)) * 0x94d049bb133111ebULL;
	id ^= id >> 31;
	for (int i = HTTP_REQUEST_ID_LEN - 2; i >= 0; i--) {
		out[i] = hex[id & 0xf];
		id >>= 4;
	}
	out[HTTP_REQUEST_ID_LEN - 1] = '\0';
}

/* Sends the handler's response, or a 500 when it set none. */
static enum MHD_Result finish(struct MHD_Connection *connection, http_response *res)
{
	enum MHD_Result result;

	if (res->status == 0)
		http_response_set_text(res, 500, "application/json; charset=UTF-8",
				       "{\"errors\":[{\"message\":\"Server error\"}]}");
	result = send_response(connection, res);
	http_response_clear(res);
	return result;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct http_server *server = cls;
	struct request_state *state = *con_cls;
	http_response res = { 0 };

	(void)version;
	if (state == NULL) {
		const union MHD_ConnectionInfo *info;
		const char *length;

		state = calloc(1, sizeof(*state));
		if (state == NULL)
			return MHD_NO;
		state->req.method = method;
		state->req.path = url;
		state->req.native = connection;
		state->server = server;
		state->req.started_us = time_mono_us();
		request_id_next(state->req.request_id);
		info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		resolve_client(server, connection, info ? info->client_addr : NULL, &state->req);
		state->body_limit = server->config.body_limit(method, url, server->config.app);

		/* Refuse a declared oversized body before reading any of it. */
		length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length != NULL && strtoull(length, NULL, 10) > state->body_limit)
			state->too_large = 1;
		*con_cls = state;
		return MHD_YES;
	}

	/* The call after MHD_resume_connection: the deferred step is done. */
	if (state->defer_phase == DEFER_DONE) {
		state->defer_phase = DEFER_FINISHED;
		state->defer_resume(&state->req, &res, state->defer_arg);
		state->defer_release(&state->req, state->defer_arg, 1);
		state->defer_arg = NULL;
		return finish(connection, &res);
	}

	if (*upload_data_size != 0) {
		size_t chunk = *upload_data_size;

		*upload_data_size = 0;
		if (state->too_large || state->body_len + chunk > state->body_limit) {
			state->too_large = 1;
			return MHD_YES; /* discard the rest; the 413 goes out once the upload ends */
		}
		char *grown = realloc(state->body, state->body_len + chunk + 1);

		if (grown == NULL)
			return MHD_NO;
		state->body = grown;
		memcpy(state->body + state->body_len, upload_data, chunk);
		state->body_len += chunk;
		state->body[state->body_len] = '\0';
		return MHD_YES;
	}

	if (state->too_large) {
		log_warn("http", "request body too large", "request_id", state->req.request_id, "method", method,
			 "path", url, NULL);
		free(state->body);
		state->body = NULL;
		state->body_len = 0;
		state->req.body_too_large = state->body_limit;
	}

	state->req.body = state->body;
	state->req.body_len = state->body_len;
	server->config.handler(&state->req, &res, server->config.app);
	if (state->defer_phase == DEFER_RESERVED) {
		/* Suspend before queueing, so that the helper cannot resume a connection not yet suspended. */
		http_response_clear(&res);
		/* The handler has read the body; the resume step gets none. */
		free(state->body);
		state->body = NULL;
		state->body_len = 0;
		state->req.body = NULL;
		state->req.body_len = 0;
		state->defer_phase = DEFER_RUNNING;
		MHD_suspend_connection(connection);
		workpool_submit(server->helpers, run_deferred, state);
		return MHD_YES;
	}
	return finish(connection, &res);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct request_state *state = *con_cls;

	(void)cls;
	(void)connection;
	(void)code;
	if (state == NULL)
		return;
	if (state->defer_phase == DEFER_RUNNING) {
		/*
		 * http_server_stop ends every helper job before it stops the
		 * daemon, so this should not happen. The job still uses the
		 * state, so it is left allocated.
		 */
		log_error("http", "connection closed while its deferred step runs; its state is leaked",
			  "request_id", state->req.request_id, NULL);
		*con_cls = NULL;
		return;
	}
	if (state->defer_phase == DEFER_DONE)
		state->defer_release(&state->req, state->defer_arg, 0);
	free(state->body);
	free(state);
	*con_cls = NULL;
}

static void on_library_error(void *cls, const char *fmt, va_list ap)
{
	char message[512];

	(void)cls;
	vsnprintf(message, sizeof(message), fmt, ap);
	message[strcspn(message, "\n")] = '\0';
	log_warn("http", "libmicrohttpd", "detail", message, NULL);
}

int http_server_start(const struct http_server_config *config, http_server **server_r)
{
	struct http_server *server;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
			 MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, config->host, &((struct sockaddr_in *)&addr)->sin_addr) == 1) {
		((struct sockaddr_in *)&addr)->sin_family = AF_INET;
		((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)config->port);
		addr_len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, config->host, &((struct sockaddr_in6 *)&addr)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&addr)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)config->port);
		addr_len = sizeof(struct sockaddr_in6);
		flags |= MHD_USE_IPv6;
	} else {
		log_error("http", "invalid listen address: expected a numeric IPv4 or IPv6 address", "host",
			  config->host, NULL);
		return -1;
	}
	(void)addr_len;

	server = calloc(1, sizeof(*server));
	if (server == NULL)
		return -1;
	server->config = *config;
	server->helpers = workpool_new(config->helper_threads, config->helper_queue_max);
	if (server->helpers == NULL) {
		log_error("http", "cannot start the helper threads", NULL);
		free(server);
		return -1;
	}
	/* The logger comes first: libmicrohttpd warns about options it reads before it. */
	server->daemon = MHD_start_daemon(
		flags, (uint16_t)config->port, NULL, NULL, on_access, server, MHD_OPTION_EXTERNAL_LOGGER, on_library_error,
		server, MHD_OPTION_UNESCAPE_CALLBACK, unescape_keeping_nul,
		server, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)config->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)config->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)config->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)config->per_ip_connection_limit, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, server, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (server->daemon == NULL) {
		log_error("http", "cannot start HTTP server: is the address in use?", "host", config->host, "port",
			  LOG_INT(config->port), NULL);
		workpool_free(&server->helpers);
		free(server);
		return -1;
	}
	info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
	server->port = info ? info->port : config->port;
	*server_r = server;
	return 0;
}

int http_server_port(const http_server *server)
{
	return server->port;
}

void http_server_stop(http_server **serverp)
{
	http_server *server = *serverp;

	if (server == NULL)
		return;
	/*
	 * Helpers first: each deferred step reads the stopping flag, returns and
	 * resumes its connection. libmicrohttpd refuses to stop while a
	 * connection is still suspended, and MHD_stop_daemon takes in the
	 * connections resumed just before it.
	 */
	workpool_free(&server->helpers);
	MHD_stop_daemon(server->daemon);
	free(server);
	*serverp = NULL;
}
