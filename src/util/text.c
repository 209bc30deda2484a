/*
 * Character checks on display names, shared by the service-account and
 * SCIM endpoints so that both reject the same disguising characters.
 */
#include "util/text.h"

#include <stdint.h>

/* Decodes the UTF-8 character at p (the caller has validated the encoding); sets *len_r to its byte length. */
static uint32_t utf8_decode(const unsigned char *p, size_t *len_r)
{
	if (p[0] < 0x80) {
		*len_r = 1;
		return p[0];
	}
	if ((p[0] & 0xE0) == 0xC0) {
		*len_r = 2;
		return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
	}
	if ((p[0] & 0xF0) == 0xE0) {
		*len_r = 3;
		return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
	}
	*len_r = 4;
	return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
	       (p[3] & 0x3F);
}

/* 1 for the implicit bidi marks LRM, RLM and ALM, which reorder text without showing. */
static int is_bidi_mark(uint32_t c)
{
	return c == 0x200E || c == 0x200F || c == 0x061C;
}

/* 1 for characters that show nothing: spaces, zero-width and format characters, fillers, tags, selectors. */
static int is_invisible(uint32_t c)
{
	return c == 0x20 || c == 0xA0 || c == 0xAD || c == 0x115F || c == 0x1160 || c == 0x1680 || c == 0x180E ||
	       (c >= 0x2000 && c <= 0x200D) || c == 0x202F || (c >= 0x205F && c <= 0x2064) || c == 0x3000 ||
	       c == 0x3164 || c == 0xFEFF || c == 0xFFA0 || (c >= 0xFE00 && c <= 0xFE0F) ||
	       (c >= 0xE0000 && c <= 0xE007F) || (c >= 0xE0100 && c <= 0xE01EF);
}

const char *text_name_problem(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	int visible = 0;
	size_t step;

	for (; p < end; p += step) {
		uint32_t c = utf8_decode(p, &step);

		if (p + step > end)
			return "is not valid UTF-8; send the name in UTF-8.";
		if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
			return "contains control characters; remove them.";
		/* U+2028..U+202E: line and paragraph separators, bidi embeddings and overrides; U+2066..U+2069: isolates. */
		if ((c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
			return "contains line separators or bidirectional control characters; remove them.";
		if (is_bidi_mark(c))
			return "contains bidirectional marks (U+200E, U+200F or U+061C); remove them.";
		if (!is_invisible(c))
			visible = 1;
	}
	if (!visible)
		return "has no visible characters; send a name that shows in a list.";
	return NULL;
}
