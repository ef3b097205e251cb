/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAPT's flow table, internal to lib/nat: a packet's addresses, ports, protocol and
 * direction as it arrives -> the session it belongs to.
 *
 * Built for the fast path's one question per packet at one cache line per answer: a
 * bucket is one 64-byte line of four 16-byte entries, each a whole key with its value,
 * so a lookup compares in the line it loaded. rte_hash reads a bucket and then the key
 * in a separate key store, and its bulk lookup prefetches both candidate buckets of
 * every key: four lines a packet where this reads one, which on a table far larger than
 * the caches is most of the cost. A key lives in one of two buckets (bucketized cuckoo
 * hashing, as rte_hash and MemC3); the second is read only when the first lacks the key,
 * rare at the load the table is sized for (at most 80% of its slots, 50% when the size
 * rounds up). One writer and reader, the worker that owns it: no atomics, no locks.
 */
#ifndef DPFWD_FLOW_TABLE_H
#define DPFWD_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

/*
 * A key, in the byte order of the packet: ADDRS is the IPv4 header's source and
 * destination (the 8 bytes at offset 12, as a little-endian load gives them), REST the
 * first 4 bytes of the L4 header (source and destination port; ICMP echo: the identifier
 * twice), then the protocol with the direction in its top bit. The top 24 bits of REST
 * hold the value in the table and are 0 in a key looked for.
 */
struct flow_key {
	uint64_t addrs;
	uint64_t rest;
};

#define FLOW_DIR_IN 0x80u /* in the protocol byte: the key of an inbound packet */
#define FLOW_VALUE_MAX ((1u << 24) - 1)

static inline struct flow_key flow_key_make(rte_be32_t src, rte_be32_t dst, rte_be16_t sport,
					    rte_be16_t dport, uint8_t proto, bool inbound)
{
	return (struct flow_key){
		.addrs = (uint64_t)src | (uint64_t)dst << 32,
		.rest = (uint64_t)sport | (uint64_t)dport << 16 |
			(uint64_t)(proto | (inbound ? FLOW_DIR_IN : 0)) << 32,
	};
}

#define FLOW_KEY_MASK UINT64_C(0xffffffffff) /* REST's key part: ports, protocol, direction */

/* The hash that places KEY: computed once per packet by the caller, which passes it to
 * the prefetch and the lookup. */
static inline uint32_t flow_key_hash(struct flow_key k)
{
	return rte_hash_crc_8byte(k.rest & FLOW_KEY_MASK, rte_hash_crc_8byte(k.addrs, 0));
}

struct flow_table;

/* A table for up to MAX_ENTRIES keys (NULL if out of memory). */
struct flow_table *flow_table_create(const char *name, uint32_t max_entries, int socket_id);
void flow_table_free(struct flow_table *ft);

/* KEY -> VALUE (at most FLOW_VALUE_MAX): 0; -EEXIST if KEY is there already; -ENOSPC
 * when MAX_ENTRIES are there or no slot could be made free. */
int flow_table_add(struct flow_table *ft, struct flow_key key, uint32_t value);
/* 0, or -ENOENT. */
int flow_table_del(struct flow_table *ft, struct flow_key key);
/* KEY's value, or -1. */
int64_t flow_table_lookup(const struct flow_table *ft, struct flow_key key);

uint32_t flow_table_count(const struct flow_table *ft);

/* ---- the fast path's lookup, in steps its caller interleaves over a burst ---- */

#define FLOW_TABLE_SLOTS 4 /* entries in a bucket: one cache line */
#define FLOW_VALUE_SHIFT 40

struct flow_bucket {
	struct flow_key slot[FLOW_TABLE_SLOTS]; /* a free slot is all zeros: no key has protocol 0 */
} __rte_cache_aligned;

struct flow_table {
	uint32_t mask;  /* buckets - 1 */
	uint32_t count, max_entries;
	uint32_t kick;  /* which slot an insertion displaces next */
	struct flow_bucket *buckets;
};

static inline uint32_t flow_table_first_bucket(const struct flow_table *ft, uint32_t h)
{
	return h & ft->mask;
}

/* The other bucket depends on the hash's high bits, which differ between the keys that
 * share a first bucket: they spread over many second buckets (an XOR with a constant
 * would pair buckets up, and pairs fill together). */
static inline uint32_t flow_table_second_bucket(const struct flow_table *ft, uint32_t h)
{
	uint32_t b1 = h & ft->mask, b2 = (b1 ^ ((h >> 16 | 1) * 0x5bd1e995u)) & ft->mask;

	return b2 != b1 ? b2 : b1 ^ 1;
}

/* Whether SLOT holds key K (and any value). */
static inline bool flow_key_equal(const struct flow_key *slot, struct flow_key k)
{
	return slot->addrs == k.addrs && ((slot->rest ^ k.rest) & FLOW_KEY_MASK) == 0;
}

/* KEY in bucket B: its value in *VALUE. */
static inline bool flow_bucket_find(const struct flow_bucket *b, struct flow_key k,
				    uint32_t *value)
{
	unsigned int i;

	for (i = 0; i < FLOW_TABLE_SLOTS; i++)
		if (flow_key_equal(&b->slot[i], k)) {
			*value = (uint32_t)(b->slot[i].rest >> FLOW_VALUE_SHIFT);
			return true;
		}
	return false;
}

/* Start loading the first bucket of the key with HASH, for a lookup soon after. */
static inline void flow_table_prefetch(const struct flow_table *ft, uint32_t hash)
{
	rte_prefetch0(&ft->buckets[flow_table_first_bucket(ft, hash)]);
}

static inline void flow_table_prefetch_second(const struct flow_table *ft, uint32_t hash)
{
	rte_prefetch0(&ft->buckets[flow_table_second_bucket(ft, hash)]);
}

/* KEY (with its HASH) in its first bucket, where it almost always is at the load the
 * table is sized for; if not, in its second: both may be asked for first. */
static inline bool flow_table_find_first(const struct flow_table *ft, struct flow_key key,
					 uint32_t hash, uint32_t *value)
{
	return flow_bucket_find(&ft->buckets[flow_table_first_bucket(ft, hash)], key, value);
}

static inline bool flow_table_find_second(const struct flow_table *ft, struct flow_key key,
					  uint32_t hash, uint32_t *value)
{
	return flow_bucket_find(&ft->buckets[flow_table_second_bucket(ft, hash)], key, value);
}

#endif
