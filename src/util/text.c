/* Bounded, valid UTF-8 copies of client-supplied text (see text.h). */
#include "util/text.h"

#include <string.h>

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
