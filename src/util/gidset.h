/*
 * A set of gids in one open-addressing hash table, for checks that run
 * once per row over millions of rows (the restore's references between
 * sections) where a query per row would cost too much.
 */
#ifndef KONTOR_UTIL_GIDSET_H
#define KONTOR_UTIL_GIDSET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Memory: 8 bytes per slot, and the table doubles when it is three quarters
 * full, so a set of n gids holds between 4n/3 and 8n/3 slots (about 11 to 22
 * bytes per gid), and 1.5 times that while it grows.
 */
struct gidset {
	int64_t *slots; /* 0 marks an empty slot, so 0 itself is kept in has_zero */
	size_t cap;     /* a power of two, or 0 before the first add */
	int shift;      /* 64 minus log2(cap): the hash's top bits index the table */
	size_t len;
	int has_zero;
};

/* Adds `gid`. Returns 1 when added, 0 when it was already present, -1 when out of memory. */
int gidset_add(struct gidset *set, int64_t gid);

/* Returns 1 when `gid` is in the set, 0 when not. */
int gidset_contains(const struct gidset *set, int64_t gid);

/* Frees the table and leaves an empty set, which can be used again. */
void gidset_clear(struct gidset *set);

#endif
