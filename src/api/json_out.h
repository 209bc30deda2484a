/*
 * Compact JSON output into one growing buffer. It writes the same bytes as
 * json_dumps with JSON_COMPACT | JSON_REAL_PRECISION(17) (keys in insertion
 * order, the same escapes), either from a jansson tree (json_out_value) or
 * piece by piece for a hot read that skips the tree (GET /tasks/{gid}).
 * The buffer becomes the response body through api_reply_json_out.
 *
 * Errors are sticky: after a failed allocation every call does nothing and
 * json_out_take returns NULL.
 */
#ifndef KONTOR_API_JSON_OUT_H
#define KONTOR_API_JSON_OUT_H

#include "api/api.h"

#include <stddef.h>
#include <string.h>

struct json_out {
	char *text;
	size_t len;
	size_t cap;
	int failed;
};

/* Starts an empty buffer of `initial` bytes (at least 1). Returns -1 when out of memory. */
int json_out_init(struct json_out *o, size_t initial);
/* Frees the buffer of an output that is not taken. */
void json_out_free(struct json_out *o);
/*
 * Hands over the text (the caller frees it) and its length, leaving `o`
 * empty. Returns NULL after a failure, having freed the buffer.
 */
char *json_out_take(struct json_out *o, size_t *len_r);

/* Makes room for `more` bytes. Returns -1 (and marks the output failed) when out of memory. */
int json_out_reserve(struct json_out *o, size_t more);

static inline void json_out_bytes(struct json_out *o, const char *bytes, size_t len)
{
	if (json_out_reserve(o, len) != 0)
		return;
	memcpy(o->text + o->len, bytes, len);
	o->len += len;
}

/* Appends a string literal, such as a key with its quotes and colon. */
#define json_out_lit(o, literal) json_out_bytes((o), (literal), sizeof(literal) - 1)

/* Appends a quoted, escaped string. The text is copied as it is: check UTF-8 first where it matters. */
void json_out_string(struct json_out *o, const char *text, size_t len);
void json_out_integer(struct json_out *o, json_int_t value);
/* Appends a gid as a JSON string, as api_gid makes it. */
void json_out_gid(struct json_out *o, int64_t gid);
/* Appends a jansson value. */
void json_out_value(struct json_out *o, const json_t *value);
/* Returns the compact text of `document` (the caller frees it) with its length, or NULL. */
char *json_out_compact_new(const json_t *document, size_t *len_r);

/* 1 when `text` is valid UTF-8 by jansson's rules, which json_string applies. */
int json_out_utf8_valid(const char *text, size_t len);

/* Replies `status` with the written document as the body, taking the buffer; 500 if it failed. */
void api_reply_json_out(api_ctx *ctx, int status, struct json_out *o);

#endif
