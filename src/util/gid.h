/*
 * gids: 63-bit, time-ordered identifiers, unique across nodes. Layout from
 * the high bit down: 0, 41 bits of milliseconds since 2020-01-01 UTC (good
 * until 2089), 10 bits of node id, 12 bits of sequence within the
 * millisecond. Printed as decimal strings in the API.
 */
#ifndef KONTOR_UTIL_GID_H
#define KONTOR_UTIL_GID_H

#include <stddef.h>
#include <stdint.h>

#define GID_NODE_MAX 1023
#define GID_STRING_MAX 21 /* 19 digits and a NUL, with room to spare */

/* Sets this process's node id (0..GID_NODE_MAX); returns -1 if out of range. */
int gid_set_node(int node);
int gid_get_node(void);

/* Returns a new gid; thread-safe, strictly increasing within one process. */
int64_t gid_next(void);

/* Writes the decimal form into buf (GID_STRING_MAX bytes); returns buf. */
char *gid_format(int64_t gid, char *buf);

/*
 * Parses a decimal gid: 1 to 19 digits, no sign, no spaces, no leading zero, > 0.
 * Returns 0 on success, -1 on anything else.
 */
int gid_parse(const char *text, int64_t *gid_r);

/* Orders two int64_t gids for qsort and bsearch. */
int gid_compare(const void *a, const void *b);

#endif
