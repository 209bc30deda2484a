/*
 * Keyset pagination. The `offset` a client sends back is opaque: a version
 * byte, the time it was issued, and the sort key of the last row returned,
 * with a keyed BLAKE2b MAC so forged or altered offsets are rejected. Offsets
 * expire after PAGE_OFFSET_TTL_US, except those of streams such as the audit
 * log. Each is bound to the caller (the user or service account), the
 * endpoint's route and the path, so an offset of one tag's tasks fails on
 * another tag's. Except for streams, it is also bound to the query
 * parameters other than offset, limit, opt_fields and opt_pretty.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/app.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Version 2 binds the caller, the path and the parameters; version 1, issued before, only the route. */
#define PAGE_TOKEN_VERSION 2
#define PAGE_TOKEN_VERSION_ROUTE 1
#define PAGE_PAYLOAD_BYTES (1 + 8 + 8 + 8)
#define PAGE_MAC_BYTES 16
#define PAGE_OFFSET_TTL_US (24LL * 3600 * 1000000)
#define PAGE_TOKEN_CHARS 96

static void put64(unsigned char *p, int64_t value)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)value >> (56 - 8 * i));
}

static int64_t get64(const unsigned char *p)
{
	uint64_t value = 0;

	for (int i = 0; i < 8; i++)
		value = (value << 8) | p[i];
	return (int64_t)value;
}

/* One query parameter, for sorting them by name. */
struct page_param {
	const char *name;
	const char *value;
};

struct page_params {
	struct page_param items[HTTP_QUERY_PARAMS_MAX];
	int count;
};

/* Collects the parameters that define which rows a list returns. */
static int collect_param(void *opaque, const char *name, const char *value)
{
	struct page_params *params = opaque;
	static const char *const paging[] = { "offset", "limit", "opt_fields", "opt_pretty", NULL };

	for (const char *const *p = paging; *p; p++)
		if (strcmp(name, *p) == 0)
			return 0;
	if (name[0] == '\0' || params->count == HTTP_QUERY_PARAMS_MAX)
		return 0;
	params->items[params->count].name = name;
	params->items[params->count].value = value;
	params->count++;
	return 0;
}

static int param_compare(const void *a, const void *b)
{
	return strcmp(((const struct page_param *)a)->name, ((const struct page_param *)b)->name);
}

/* Adds `text` and a NUL, which no path or parameter contains, so that adjacent pieces cannot run together. */
static void mac_piece(crypto_generichash_state *state, const char *text)
{
	crypto_generichash_update(state, (const unsigned char *)text, strlen(text) + 1);
}

/* Computes the MAC of `payload` for this request's route and, from version 2 on, its caller, path and parameters. */
static void page_mac(api_ctx *ctx, const unsigned char *payload, int stream, unsigned char *mac)
{
	const char *route = ctx->route ? ctx->route->pattern : "";
	crypto_generichash_state state;

	crypto_generichash_init(&state, ctx->app->page_key, APP_KEY_BYTES, PAGE_MAC_BYTES);
	crypto_generichash_update(&state, payload, PAGE_PAYLOAD_BYTES);
	if (payload[0] == PAGE_TOKEN_VERSION_ROUTE) {
		crypto_generichash_update(&state, (const unsigned char *)route, strlen(route));
	} else {
		char caller[24];

		/* The caller too: another user's offset would skip rows that this caller may see. */
		snprintf(caller, sizeof(caller), "%lld", (long long)ctx->who.user_gid);
		mac_piece(&state, caller);
		mac_piece(&state, route);
		mac_piece(&state, ctx->req->path);
		if (!stream) {
			struct page_params params;

			params.count = 0;
			http_request_query_each(ctx->req, collect_param, &params);
			qsort(params.items, (size_t)params.count, sizeof(params.items[0]), param_compare);
			for (int i = 0; i < params.count; i++) {
				mac_piece(&state, params.items[i].name);
				mac_piece(&state, params.items[i].value);
			}
		}
	}
	crypto_generichash_final(&state, mac, PAGE_MAC_BYTES);
}

static void token_encode(api_ctx *ctx, int stream, int64_t after, int64_t after2, char *out, size_t len)
{
	unsigned char raw[PAGE_PAYLOAD_BYTES + PAGE_MAC_BYTES];

	raw[0] = PAGE_TOKEN_VERSION;
	put64(raw + 1, time_now_us());
	put64(raw + 9, after);
	put64(raw + 17, after2);
	page_mac(ctx, raw, stream, raw + PAGE_PAYLOAD_BYTES);
	sodium_bin2base64(out, len, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Returns 0, -1 when malformed or forged, -2 when older than ttl_us (0: never expires). */
static int token_decode(api_ctx *ctx, int stream, const char *token, int64_t ttl_us, int64_t *after_r,
			int64_t *after2_r)
{
	unsigned char raw[PAGE_PAYLOAD_BYTES + PAGE_MAC_BYTES], mac[PAGE_MAC_BYTES];
	size_t raw_len = 0;
	int64_t issued;

	if (strlen(token) > PAGE_TOKEN_CHARS ||
	    sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL, &raw_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    raw_len != sizeof(raw) || (raw[0] != PAGE_TOKEN_VERSION && raw[0] != PAGE_TOKEN_VERSION_ROUTE))
		return -1;
	page_mac(ctx, raw, stream, mac);
	if (sodium_memcmp(mac, raw + PAGE_PAYLOAD_BYTES, PAGE_MAC_BYTES) != 0)
		return -1;
	issued = get64(raw + 1);
	if (ttl_us > 0 && time_now_us() - issued > ttl_us)
		return -2;
	*after_r = get64(raw + 9);
	*after2_r = get64(raw + 17);
	return 0;
}

static int page_parse(api_ctx *ctx, struct api_page *page, int64_t ttl_us)
{
	const char *limit = api_query(ctx, "limit");
	const char *offset = api_query(ctx, "offset");

	memset(page, 0, sizeof(*page));
	page->stream = ttl_us == 0;
	page->limit = API_UNPAGED_MAX;
	if (limit != NULL) {
		char *end = NULL;
		long value = strtol(limit, &end, 10);

		/* strtol skips leading spaces and takes a sign, which a limit must not have. */
		if (limit[0] < '0' || limit[0] > '9' || *end != '\0' || value < 1 || value > API_PAGE_LIMIT_MAX) {
			api_error(ctx, 400, "limit: must be an integer from 1 to %d, got \"%.20s\".", API_PAGE_LIMIT_MAX,
				  limit);
			return -1;
		}
		page->limit = (int)value;
		page->paged = 1;
	}
	if (offset != NULL) {
		int result = token_decode(ctx, page->stream, offset, ttl_us, &page->after, &page->after2);

		if (result == -2) {
			api_error(ctx, 400, "offset: this offset has expired. Start again from the first page, without "
					    "offset.");
			return -1;
		}
		if (result != 0) {
			api_error(ctx, 400, "offset: invalid offset. Pass the `offset` value from the previous page's "
					    "next_page unchanged, to the same path with the same query parameters.");
			return -1;
		}
		if (!page->paged) {
			page->limit = API_PAGE_LIMIT_MAX;
			page->paged = 1;
		}
	}
	return 0;
}

int api_page_parse(api_ctx *ctx, struct api_page *page)
{
	return page_parse(ctx, page, PAGE_OFFSET_TTL_US);
}

int api_page_parse_stream(api_ctx *ctx, struct api_page *page)
{
	return page_parse(ctx, page, 0);
}

int api_page_rows(struct api_page *page, int fetched)
{
	if (fetched > page->limit) {
		page->has_next = 1;
		return page->limit;
	}
	page->has_next = 0;
	return fetched;
}

size_t url_encode(const char *text, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && used + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~' || *p == ',') {
			out[used++] = (char)*p;
		} else {
			out[used++] = '%';
			out[used++] = hex[*p >> 4];
			out[used++] = hex[*p & 15];
		}
	}
	out[used] = '\0';
	return used;
}

/* The query string of next_page, grown as needed: a value can be as long as the request line allows. */
struct query_builder {
	char *text;
	size_t used;
	size_t size;
	int params; /* query parameters appended */
	int failed; /* out of memory */
};

/* Appends `text`, percent-encoded when `encode` is set. */
static void builder_append(struct query_builder *b, const char *text, int encode)
{
	/* url_encode stops 4 bytes before the end of its buffer, so it gets room for every byte as %HH, plus 4. */
	size_t len = strlen(text), need = b->used + (encode ? 3 * len + 4 : len + 1);

	if (b->failed)
		return;
	if (need > b->size) {
		size_t size = b->size ? b->size : 256;
		char *grown;

		while (size < need)
			size *= 2;
		grown = realloc(b->text, size);
		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		b->text = grown;
		b->size = size;
	}
	if (encode) {
		b->used += url_encode(text, b->text + b->used, b->size - b->used);
	} else {
		memcpy(b->text + b->used, text, len + 1);
		b->used += len;
	}
}

static int add_param(void *opaque, const char *name, const char *value)
{
	struct query_builder *b = opaque;

	/* An empty segment (`a=1&&b=2`) names no parameter, so it is not repeated. */
	if (strcmp(name, "offset") == 0 || name[0] == '\0')
		return 0;
	builder_append(b, b->params++ ? "&" : "?", 0);
	builder_append(b, name, 1);
	builder_append(b, "=", 0);
	builder_append(b, value, 1);
	return 0;
}

json_t *page_next_json(api_ctx *ctx, const struct api_page *page)
{
	char token[PAGE_TOKEN_CHARS + 8], base[API_BASE_URL_MAX];
	struct query_builder b = { NULL, 0, 0, 0, 0 };
	json_t *next;

	if (!page->has_next)
		return json_null();
	token_encode(ctx, page->stream, page->next_after, page->next_after2, token, sizeof(token));
	builder_append(&b, ctx->req->path + strlen(API_BASE_PATH), 0);
	http_request_query_each(ctx->req, add_param, &b);
	builder_append(&b, b.params ? "&offset=" : "?offset=", 0);
	builder_append(&b, token, 0);
	next = json_object();
	json_object_set_new(next, "offset", json_string(token));
	/* Out of memory, the offset alone still lets a client go on. */
	if (!b.failed) {
		json_object_set_new(next, "path", json_string(b.text));
		json_object_set_new(next, "uri", json_sprintf("%s%s%s", api_base_url(ctx, base, sizeof(base)),
								API_BASE_PATH, b.text));
	}
	free(b.text);
	return next;
}

int app_load_page_key(struct app *app, char *err, size_t errlen)
{
	db_conn *c = db_acquire(app->db, 5000);
	char hex[APP_KEY_BYTES * 2 + 1];
	db_stmt *s;
	int status;

	if (c == NULL) {
		snprintf(err, errlen, "no database connection");
		return -1;
	}
	/* Insert a fresh key unless one exists; every node then reads the same key. */
	randombytes_buf(app->page_key, APP_KEY_BYTES);
	sodium_bin2hex(hex, sizeof(hex), app->page_key, APP_KEY_BYTES);
	s = db_query(c, "INSERT INTO settings (key, value) VALUES ('page_key', ?) ON CONFLICT (key) DO NOTHING");
	status = s ? (db_bind_text(s, 0, hex), db_run(s)) : DB_ERROR;
	if (status == DB_OK) {
		s = db_query(c, "SELECT value FROM settings WHERE key = 'page_key'");
		status = s ? db_step(s) : DB_ERROR;
		if (status == DB_ROW) {
			const char *stored = db_column_text(s, 0);
			size_t bin_len = 0;

			if (stored == NULL || sodium_hex2bin(app->page_key, APP_KEY_BYTES, stored, strlen(stored), NULL,
							     &bin_len, NULL) != 0 || bin_len != APP_KEY_BYTES)
				status = DB_ERROR;
		}
		if (s)
			db_stmt_done(s);
	}
	if (status != DB_ROW)
		snprintf(err, errlen, "cannot load the pagination key: %s", db_conn_errmsg(c));
	db_release(app->db, c);
	return status == DB_ROW ? 0 : -1;
}
