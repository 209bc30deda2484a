/*
 * Checks and bounded copies of text that people and programs send. Display
 * names (service-account names, SCIM user names) are checked for characters
 * that could disguise a name in a list; the API files turn the result into
 * a 400 that names their field. Client text that kontor stores as it comes,
 * such as the User-Agent header in audit records and sessions, may have any
 * length and any bytes, while PostgreSQL accepts only valid UTF-8 in text
 * columns, so it is cut to a size and made valid first. No I/O.
 */
#ifndef KONTOR_UTIL_TEXT_H
#define KONTOR_UTIL_TEXT_H

#include <stddef.h>

/*
 * Checks `len` bytes of valid UTF-8 for C1 control characters, Unicode
 * line and paragraph separators, bidirectional embeddings, overrides,
 * isolates and marks, and for text with no visible character. Returns NULL
 * when the name is acceptable, else a static phrase such as "contains
 * bidirectional control characters; remove them." for the caller to put
 * after the field name.
 */
const char *text_name_problem(const char *text, size_t len);

/* Bytes of an e-mail address (RFC 5321 section 4.5.3.1.3: a 256-octet path less its angle brackets). */
#define TEXT_EMAIL_MAX 254
/* Bytes of an address's local part (RFC 5321 section 4.5.3.1.1). */
#define TEXT_EMAIL_LOCAL_MAX 64

/*
 * Returns 1 when `text` has the form of an e-mail address: one '@' after a
 * local part of at most TEXT_EMAIL_LOCAL_MAX bytes, a dotted domain that
 * neither starts nor ends with a dot, no spaces, controls or characters that
 * need quoting, and at most TEXT_EMAIL_MAX bytes. kontor sends no mail, so
 * only the form is checked.
 */
int text_email_valid(const char *text);

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

/* Returns the value of hexadecimal digit `c` (either case), or -1 for any other character. */
int text_hex_value(char c);

#endif
