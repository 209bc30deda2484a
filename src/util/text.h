/*
 * Checks on display names that people and programs enter (service-account
 * names, SCIM user names): which characters could disguise a name in a
 * list. The API files turn the result into a 400 that names their field.
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

#endif
