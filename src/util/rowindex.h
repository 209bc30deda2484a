/*
 * A hash index from a 64-bit key to the number of the row that first had
 * it, for the restore's checks that a section repeats no unique key. The
 * key is a gid or integer itself, or a fingerprint of a longer key (a
 * pair of gids, a lower-cased e-mail address) that the caller confirms on
 * a match. Built like gidset: open addressing over a power-of-two table.
 */
#ifndef KONTOR_UTIL_ROWINDEX_H
#define KONTOR_UTIL_ROWINDEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Memory: 12 bytes per slot (the key and a 32-bit row number), and the
 * table doubles when it is three quarters full, so an index of n keys
 * has between 4n/3 and 8n/3 slots (16 to 32 bytes per key), and 1.5
 * times that while it grows.
 */
struct rowindex {
	uint64_t *keys;
	uint32_t *rows; /* 0 marks an empty slot, because rows are numbered from 1 */
	size_t cap;     /* a power of two, or 0 before the first add */
	int shift;      /* 64 minus log2(cap): the hash's top bits index the table */
	size_t len;
};

/*
 * Adds `key`, first seen in `row` (1 or more). Returns 1 when added; 0 when
 * the key is present already, and then *earlier_r receives its row, or 0
 * when that row's number was above UINT32_MAX - 1 and was not kept; -1 when
 * out of memory.
 */
int rowindex_add(struct rowindex *index, uint64_t key, int64_t row, int64_t *earlier_r);

/* Frees the table and leaves an empty index, which can be used again. */
void rowindex_clear(struct rowindex *index);

#endif
