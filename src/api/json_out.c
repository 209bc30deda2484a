/*
 * Compact JSON output (json_out.h): the writer behind every JSON reply.
 * It writes the same bytes as json_dumps with JSON_COMPACT |
 * JSON_REAL_PRECISION(17), in one buffer that becomes the response body,
 * without jansson's callback per token and its final copy: serialising was
 * the largest single cost of a small GET.
 */
#include "api/json_out.h"

#include "util/gid.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first buffer fits a typical single object without growing. */
#define JSON_OUT_INITIAL 4096
#define JSON_NESTING_MAX 64

int json_out_reserve(struct json_out *o, size_t more)
{
	size_t cap = o->cap;
	char *grown;

	if (o->len + more <= o->cap)
		return 0;
	while (cap < o->len + more)
		cap *= 2;
	grown = realloc(o->text, cap);
	if (grown == NULL) {
		o->failed = 1;
		return -1;
	}
	o->text = grown;
	o->cap = cap;
	return 0;
}

static inline void out_char(struct json_out *o, char c)
{
	if (json_out_reserve(o, 1) != 0)
		return;
	o->text[o->len++] = c;
}

static inline int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

#define BYTES_OF(b) (UINT64_C(0x0101010101010101) * (b))
#define HIGH_BITS BYTES_OF(0x80)

/* Reads 8 bytes in machine order without an alignment requirement. */
static inline uint64_t load8(const char *p)
{
	uint64_t word;

	memcpy(&word, p, sizeof(word));
	return word;
}

/*
 * Non-zero when one of the 8 bytes of `word` needs an escape. Each test
 * leaves a byte's high bit set where the byte matches: below 0x20, or equal
 * to '"' or '\\' (a zero after the XOR). Bytes of 0x80 and above are
 * excluded by the final mask, as needs_escape() excludes them.
 */
static inline uint64_t word_needs_escape(uint64_t word)
{
	uint64_t quote = word ^ BYTES_OF('"'), backslash = word ^ BYTES_OF('\\');
	uint64_t hits = (word - BYTES_OF(0x20)) | (quote - BYTES_OF(1)) | (backslash - BYTES_OF(1));

	return hits & ~word & HIGH_BITS;
}

/* Appends the escape of one byte: jansson's short forms, else \u00XX with upper-case hex. */
static void out_escape(struct json_out *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = o->text + o->len;

	p[0] = '\\';
	switch (c) {
	case '"': p[1] = '"'; break;
	case '\\': p[1] = '\\'; break;
	case '\b': p[1] = 'b'; break;
	case '\f': p[1] = 'f'; break;
	case '\n': p[1] = 'n'; break;
	case '\r': p[1] = 'r'; break;
	case '\t': p[1] = 't'; break;
	default:
		memcpy(p + 1, "u00", 3);
		p[4] = hex[c >> 4];
		p[5] = hex[c & 0xf];
		o->len += 6;
		return;
	}
	o->len += 2;
}

/*
 * Appends a quoted string with the escapes JSON requires; other bytes,
 * UTF-8 included, are copied as they are, as jansson does without
 * JSON_ENSURE_ASCII. The buffer always has room for the rest of the text
 * and the closing quote, so runs without escapes are copied in one piece.
 */
void json_out_string(struct json_out *o, const char *text, size_t len)
{
	size_t i = 0;

	if (json_out_reserve(o, len + 2) != 0)
		return;
	o->text[o->len++] = '"';
	while (i < len) {
		size_t run = i;

		/* Eight bytes at a time while none needs an escape, then byte by byte to the one that does. */
		while (run + 8 <= len && word_needs_escape(load8(text + run)) == 0)
			run += 8;
		while (run < len && !needs_escape((unsigned char)text[run]))
			run++;
		memcpy(o->text + o->len, text + i, run - i);
		o->len += run - i;
		if (run == len)
			break;

		/* The escape takes up to 6 bytes where the room for 1 was counted. */
		if (json_out_reserve(o, len - run + 6) != 0)
			return;
		out_escape(o, (unsigned char)text[run]);
		i = run + 1;
	}
	o->text[o->len++] = '"';
}

void json_out_integer(struct json_out *o, json_int_t value)
{
	char digits[24];
	size_t n = sizeof(digits);
	unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

	do {
		digits[--n] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	if (value < 0)
		digits[--n] = '-';
	json_out_bytes(o, digits + n, sizeof(digits) - n);
}

static void out_value(struct json_out *o, const json_t *value, int depth)
{
	if (depth > JSON_NESTING_MAX) {
		o->failed = 1;
		return;
	}
	switch (json_typeof(value)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *member;
		int first = 1;

		out_char(o, '{');
		json_object_foreach((json_t *)value, key, member) {
			if (!first)
				out_char(o, ',');
			first = 0;
			json_out_string(o, key, strlen(key));
			out_char(o, ':');
			out_value(o, member, depth + 1);
		}
		out_char(o, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t count = json_array_size(value);

		out_char(o, '[');
		for (size_t i = 0; i < count; i++) {
			if (i > 0)
				out_char(o, ',');
			out_value(o, json_array_get(value, i), depth + 1);
		}
		out_char(o, ']');
		break;
	}
	case JSON_STRING:
		json_out_string(o, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		json_out_integer(o, json_integer_value(value));
		break;
	case JSON_REAL: {
		/* Rare in responses: jansson formats them, so the digits stay exactly its own. */
		char number[64];
		size_t len = json_dumpb(value, number, sizeof(number), JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

		if (len == 0 || len > sizeof(number))
			o->failed = 1;
		else
			json_out_bytes(o, number, len);
		break;
	}
	case JSON_TRUE:
		json_out_bytes(o, "true", 4);
		break;
	case JSON_FALSE:
		json_out_bytes(o, "false", 5);
		break;
	case JSON_NULL:
		json_out_bytes(o, "null", 4);
		break;
	}
}

void json_out_value(struct json_out *o, const json_t *value)
{
	out_value(o, value, 0);
}

char *json_out_compact_new(const json_t *document, size_t *len_r)
{
	struct json_out o;

	if (json_out_init(&o, JSON_OUT_INITIAL) != 0)
		return NULL;
	out_value(&o, document, 0);
	return json_out_take(&o, len_r);
}


int json_out_init(struct json_out *o, size_t initial)
{
	o->len = 0;
	o->cap = initial > 0 ? initial : 1;
	o->failed = 0;
	o->text = malloc(o->cap);
	if (o->text == NULL) {
		o->cap = 0;
		o->failed = 1;
		return -1;
	}
	return 0;
}

void json_out_free(struct json_out *o)
{
	free(o->text);
	o->text = NULL;
	o->len = 0;
	o->cap = 0;
}

char *json_out_take(struct json_out *o, size_t *len_r)
{
	char *text = o->text;

	if (o->failed) {
		json_out_free(o);
		return NULL;
	}
	*len_r = o->len;
	o->text = NULL;
	o->len = 0;
	o->cap = 0;
	return text;
}

void json_out_gid(struct json_out *o, int64_t gid)
{
	char buf[GID_STRING_MAX];
	const char *text = gid_format(gid, buf);

	json_out_string(o, text, strlen(text));
}

/*
 * RFC 3629 UTF-8, which is what jansson's json_string accepts: no
 * overlong forms, no surrogates, nothing above U+10FFFF. ASCII runs are
 * the common case and take one comparison per byte.
 */
int json_out_utf8_valid(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;

	while (p < end) {
		unsigned c = *p, need, min;
		uint32_t cp;

		if (c < 0x80) {
			/* Eight ASCII bytes at a time, the common case. */
			while (end - p >= 8 && (load8((const char *)p) & HIGH_BITS) == 0)
				p += 8;
			if (p < end && *p < 0x80)
				p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1, min = 0x80, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2, min = 0x800, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return 0;
		}
		if ((size_t)(end - p) <= need)
			return 0;
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += need + 1;
	}
	return 1;
}
