/*
 * The gid hash set (contract in gidset.h): linear probing over a
 * power-of-two table. gids are time-ordered, so their low bits are a
 * sequence number and their high bits change slowly; the slot index comes
 * from the high bits of a multiplicative hash, which mixes all 64 bits.
 */
#include "util/gidset.h"

#include <stdlib.h>

#define GIDSET_INITIAL_CAP 64
/* 2^64 divided by the golden ratio (Knuth's multiplicative hashing, TAOCP vol. 3, 6.4). */
#define GIDSET_HASH_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15)

static size_t slot_of(int64_t gid, int shift)
{
	return (size_t)(((uint64_t)gid * GIDSET_HASH_MULTIPLIER) >> shift);
}

/* Inserts a non-zero gid known to be absent into a table with a free slot. */
static void place(int64_t *slots, size_t cap, int shift, int64_t gid)
{
	size_t i = slot_of(gid, shift);

	while (slots[i] != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = gid;
}

static int grow(struct gidset *set)
{
	size_t cap = set->cap ? set->cap * 2 : GIDSET_INITIAL_CAP;
	int64_t *slots = calloc(cap, sizeof(*slots));
	int shift = 64;

	if (slots == NULL)
		return -1;
	for (size_t bit = 1; bit < cap; bit <<= 1)
		shift--;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i] != 0)
			place(slots, cap, shift, set->slots[i]);
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	set->shift = shift;
	return 0;
}

int gidset_add(struct gidset *set, int64_t gid)
{
	if (gid == 0) {
		int added = !set->has_zero;

		set->has_zero = 1;
		return added;
	}
	if (gidset_contains(set, gid))
		return 0;
	/* Keeps the load at or below 3/4, where linear probing stays short. */
	if ((set->len + 1) * 4 > set->cap * 3 && grow(set) != 0)
		return -1;
	place(set->slots, set->cap, set->shift, gid);
	set->len++;
	return 1;
}

int gidset_contains(const struct gidset *set, int64_t gid)
{
	size_t i;

	if (gid == 0)
		return set->has_zero;
	if (set->cap == 0)
		return 0;
	i = slot_of(gid, set->shift);
	while (set->slots[i] != 0) {
		if (set->slots[i] == gid)
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	return 0;
}

void gidset_clear(struct gidset *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = 0;
	set->shift = 0;
	set->len = 0;
	set->has_zero = 0;
}
