/*
 * Character checks on display names, shared by the service-account and
 * SCIM endpoints so that both reject the same disguising characters, and
 * bounded, valid UTF-8 copies of client text that kontor stores.
 */
#include "util/text.h"

#include <stdint.h>
#include <string.h>

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

/*
 * Returns the length of the valid UTF-8 sequence that starts at `p`, or 0
 * when none does. The string is NUL-terminated and a NUL is never a
 * continuation byte, so each check stops before reading past its end.
 */
static size_t utf8_sequence_len(const unsigned char *p)
{
	unsigned char lead = p[0], low, high;

	if (lead < 0x80)
		return 1;
	if (lead >= 0xc2 && lead <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (lead >= 0xe0 && lead <= 0xef) {
		/* E0 needs A0..BF (no overlong forms); ED needs 80..9F (no surrogates). */
		low = lead == 0xe0 ? 0xa0 : 0x80;
		high = lead == 0xed ? 0x9f : 0xbf;
		return p[1] >= low && p[1] <= high && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (lead >= 0xf0 && lead <= 0xf4) {
		/* F0 needs 90..BF (no overlong forms); F4 needs 80..8F (nothing above U+10FFFF). */
		low = lead == 0xf0 ? 0x90 : 0x80;
		high = lead == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= low && p[1] <= high && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

char *text_utf8_copy(char *out, size_t out_size, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t used = 0;

	while (*p != '\0') {
		size_t len = utf8_sequence_len(p);

		if (len == 0) {
			if (used + 1 >= out_size)
				break;
			out[used++] = '?';
			p++;
			continue;
		}
		if (used + len >= out_size)
			break;
		memcpy(out + used, p, len);
		used += len;
		p += len;
	}
	out[used] = '\0';
	return out;
}

int text_email_valid(const char *text)
{
	const char *at = strchr(text, '@');
	size_t len = strlen(text);

	if (len > TEXT_EMAIL_MAX || at == NULL || at == text || (size_t)(at - text) > TEXT_EMAIL_LOCAL_MAX)
		return 0;
	if (strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL || at[1] == '.' || text[len - 1] == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("\"(),:;<>[\\]", *p) != NULL)
			return 0;
	return 1;
}

int text_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
