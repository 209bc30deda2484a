/*
 * Bounded copies of client-supplied text that kontor stores, such as the
 * User-Agent header kept in audit records and sessions. Clients send any
 * length and any bytes, while PostgreSQL accepts only valid UTF-8 in text
 * columns, so the copy is cut to a size and made valid first. No I/O.
 */
#ifndef KONTOR_UTIL_TEXT_H
#define KONTOR_UTIL_TEXT_H

#include <stddef.h>

/* Bytes of a User-Agent header kept in audit records and sessions; enough to identify a browser. */
#define TEXT_USER_AGENT_MAX 512

/*
 * Copies the NUL-terminated `in` into `out` (out_size bytes, at least 1),
 * at most out_size - 1 bytes and never part of a character: the copy ends
 * before the first UTF-8 sequence that does not fit whole. Each byte that
 * does not start a valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) is copied as '?'. Returns `out`.
 */
char *text_utf8_copy(char *out, size_t out_size, const char *in);

#endif
