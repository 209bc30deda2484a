/*
 * The row index (contract in rowindex.h): linear probing over a
 * power-of-two table, with the keys and their row numbers in two arrays so
 * that a slot takes 12 bytes instead of a padded 16. The slot comes from
 * the high bits of a multiplicative hash, as in gidset.c.
 */
#include "util/rowindex.h"

#include <stdlib.h>

#define ROWINDEX_INITIAL_CAP 64
/* 2^64 divided by the golden ratio (Knuth's multiplicative hashing, TAOCP vol. 3, 6.4). */
#define ROWINDEX_HASH_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15)
/* Rows from this number on are stored as it and reported as unknown (0). */
#define ROWINDEX_ROW_UNKNOWN UINT32_MAX

static size_t slot_of(uint64_t key, int shift)
{
	return (size_t)((key * ROWINDEX_HASH_MULTIPLIER) >> shift);
}

static int grow(struct rowindex *index)
{
	size_t cap = index->cap ? index->cap * 2 : ROWINDEX_INITIAL_CAP;
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint32_t *rows = calloc(cap, sizeof(*rows));
	int shift = 64;

	if (keys == NULL || rows == NULL) {
		free(keys);
		free(rows);
		return -1;
	}
	for (size_t bit = 1; bit < cap; bit <<= 1)
		shift--;
	for (size_t i = 0; i < index->cap; i++) {
		size_t slot;

		if (index->rows[i] == 0)
			continue;
		slot = slot_of(index->keys[i], shift);
		while (rows[slot] != 0)
			slot = (slot + 1) & (cap - 1);
		keys[slot] = index->keys[i];
		rows[slot] = index->rows[i];
	}
	free(index->keys);
	free(index->rows);
	index->keys = keys;
	index->rows = rows;
	index->cap = cap;
	index->shift = shift;
	return 0;
}

int rowindex_add(struct rowindex *index, uint64_t key, int64_t row, int64_t *earlier_r)
{
	size_t slot;

	/* Keeps the load at or below 3/4, where linear probing stays short. */
	if ((index->len + 1) * 4 > index->cap * 3 && grow(index) != 0)
		return -1;
	slot = slot_of(key, index->shift);
	while (index->rows[slot] != 0) {
		if (index->keys[slot] == key) {
			uint32_t earlier = index->rows[slot];

			*earlier_r = earlier == ROWINDEX_ROW_UNKNOWN ? 0 : (int64_t)earlier;
			return 0;
		}
		slot = (slot + 1) & (index->cap - 1);
	}
	index->keys[slot] = key;
	index->rows[slot] = row < 1 || row >= (int64_t)ROWINDEX_ROW_UNKNOWN ? ROWINDEX_ROW_UNKNOWN : (uint32_t)row;
	index->len++;
	return 1;
}

void rowindex_clear(struct rowindex *index)
{
	free(index->keys);
	free(index->rows);
	index->keys = NULL;
	index->rows = NULL;
	index->cap = 0;
	index->shift = 0;
	index->len = 0;
}
