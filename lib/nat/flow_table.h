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
#include <rte_hash_crc.h>

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

/* N keys (at most 64) with their HASHES (flow_key_hash) at once, their first buckets
 * asked for already (flow_table_prefetch); a key not there is looked for in its second
 * bucket after all the first ones, so that those misses overlap too. VALUES[i] is set
 * for each key found; returns the mask of those. */
uint64_t flow_table_lookup_bulk(const struct flow_table *ft, const struct flow_key *keys,
				const uint32_t *hashes, unsigned int n, uint32_t *values);

uint32_t flow_table_count(const struct flow_table *ft);

/* Start loading the first bucket of the key with HASH, for a lookup soon after. */
void flow_table_prefetch(const struct flow_table *ft, uint32_t hash);

#endif
