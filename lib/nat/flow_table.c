/* SPDX-License-Identifier: BSD-3-Clause */
/* NAPT's flow table: see flow_table.h. */
#include <errno.h>
#include <stdbool.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "flow_table.h"

#define MAX_MOVES 256   /* entries an insertion may move before it gives up */

static inline int find_in(const struct flow_bucket *b, struct flow_key k)
{
	unsigned int i;

	for (i = 0; i < FLOW_TABLE_SLOTS; i++)
		if (flow_key_equal(&b->slot[i], k))
			return (int)i;
	return -1;
}

static inline bool is_free(const struct flow_key *slot)
{
	return slot->rest == 0;
}

static struct flow_key *free_slot(struct flow_bucket *b)
{
	unsigned int i;

	for (i = 0; i < FLOW_TABLE_SLOTS; i++)
		if (is_free(&b->slot[i]))
			return &b->slot[i];
	return NULL;
}

struct flow_table *flow_table_create(const char *name, uint32_t max_entries, int socket_id)
{
	struct flow_table *ft = rte_zmalloc_socket(name, sizeof(*ft), 0, socket_id);
	/* At most 80% of the slots in use. */
	uint64_t want = RTE_MAX((uint64_t)max_entries * 5 / 4 / FLOW_TABLE_SLOTS, UINT64_C(2));

	if (!ft || want > (UINT64_C(1) << 31))
		goto fail;
	ft->mask = rte_align32pow2((uint32_t)want) - 1;
	ft->max_entries = max_entries;
	ft->buckets = rte_zmalloc_socket(name, ((size_t)ft->mask + 1) * sizeof(struct flow_bucket),
					 RTE_CACHE_LINE_SIZE, socket_id);
	if (!ft->buckets)
		goto fail;
	return ft;
fail:
	rte_free(ft);
	return NULL;
}

void flow_table_free(struct flow_table *ft)
{
	if (!ft)
		return;
	rte_free(ft->buckets);
	rte_free(ft);
}

uint32_t flow_table_count(const struct flow_table *ft)
{
	return ft->count;
}

int64_t flow_table_lookup(const struct flow_table *ft, struct flow_key key)
{
	uint32_t h = flow_key_hash(key), value;

	if (flow_table_find_first(ft, key, h, &value) || flow_table_find_second(ft, key, h, &value))
		return value;
	return -1;
}

/*
 * Cuckoo insertion: when both of the key's buckets are full, it takes a slot of one of
 * them and the entry there moves to its own other bucket, and so on until one finds a
 * free slot. The moves are remembered, so that a walk that finds none is undone and the
 * table stays as it was.
 */
int flow_table_add(struct flow_table *ft, struct flow_key key, uint32_t value)
{
	struct { uint32_t bucket; uint8_t slot; } path[MAX_MOVES];
	struct flow_key entry = { key.addrs, (key.rest & FLOW_KEY_MASK) |
						 (uint64_t)value << FLOW_VALUE_SHIFT };
	uint32_t h = flow_key_hash(key), b;
	uint32_t b1 = flow_table_first_bucket(ft, h), b2 = flow_table_second_bucket(ft, h);
	struct flow_key *slot;
	int n;

	if (ft->count >= ft->max_entries || value > FLOW_VALUE_MAX || !(key.rest & FLOW_KEY_MASK))
		return -ENOSPC;
	if (flow_table_lookup(ft, key) >= 0) /* a second entry would outlive its deletion */
		return -EEXIST;
	slot = free_slot(&ft->buckets[b1]);
	if (!slot)
		slot = free_slot(&ft->buckets[b2]);
	for (n = 0, b = b1; !slot && n < MAX_MOVES; n++) {
		struct flow_key evicted;

		path[n].bucket = b;
		path[n].slot = ft->kick++ % FLOW_TABLE_SLOTS;
		evicted = ft->buckets[b].slot[path[n].slot];
		ft->buckets[b].slot[path[n].slot] = entry;
		entry = evicted;
		h = flow_key_hash(entry);
		b = flow_table_first_bucket(ft, h) == b ? flow_table_second_bucket(ft, h)
							: flow_table_first_bucket(ft, h);
		slot = free_slot(&ft->buckets[b]);
	}
	if (!slot) {
		while (n-- > 0) { /* undo: each entry back where it was, the new one out */
			struct flow_key *s = &ft->buckets[path[n].bucket].slot[path[n].slot];
			struct flow_key moved = *s;

			*s = entry;
			entry = moved;
		}
		return -ENOSPC;
	}
	*slot = entry;
	ft->count++;
	return 0;
}

int flow_table_del(struct flow_table *ft, struct flow_key key)
{
	uint32_t h = flow_key_hash(key), b = flow_table_first_bucket(ft, h);
	int i = find_in(&ft->buckets[b], key);

	if (i < 0) {
		b = flow_table_second_bucket(ft, h);
		i = find_in(&ft->buckets[b], key);
	}
	if (i < 0)
		return -ENOENT;
	ft->buckets[b].slot[i] = (struct flow_key){ 0, 0 };
	ft->count--;
	return 0;
}
