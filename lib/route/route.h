/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route tables: the FIBs, next hops, ECMP groups and neighbours built from a config.
 *
 * A table set is built whole by the control thread and then only read by workers, so
 * nothing in here locks. rte_fib / rte_fib6 map a destination to a 64-bit value that
 * is either a next-hop index or, with ROUTE_NH_ECMP set, an ECMP group index.
 */
#ifndef DPFWD_ROUTE_H
#define DPFWD_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "config.h"

/* What a next hop tells the worker to do with a packet. */
enum nh_type {
	NH_NO_ROUTE = 0, /* the FIB default: no route covers the destination */
	NH_FORWARD,      /* send to dst_mac on port */
	NH_CONNECTED,    /* destination is on port's subnet: its own neighbour entry decides */
	NH_UNRESOLVED,   /* gateway without a known MAC (ARP/ND come with the slow path) */
	NH_LOCAL,        /* one of dpfwd's own addresses */
	NH_BLACKHOLE,    /* `action: blackhole` */
	NH_UNREACHABLE,  /* `action: unreachable` */
	NH_NAT,          /* a NAT outside address or prefix: translate, then route again */
};

/* Next hop as the worker reads it: both MACs together so the rewrite is one copy. */
struct nexthop {
	struct rte_ether_addr dst_mac;
	struct rte_ether_addr src_mac; /* the egress port's MAC */
	uint16_t port;                 /* config port index */
	uint16_t mtu;                  /* the egress port's MTU */
	uint8_t type;                  /* enum nh_type */
} __rte_aligned(32);

#define ROUTE_NH_ECMP (UINT64_C(1) << 30)

struct ecmp_group {
	uint32_t n;
	uint32_t nh[CFG_MAX_ECMP];
};

/* What the control thread keeps beside each next hop (workers never read it). */
struct nexthop_meta {
	struct cfg_ip ip; /* the gateway or neighbour address; family 0 for none */
	bool is_static;   /* from the config: learning never overrides it */
	bool learned;     /* a neighbour entry ARP or ND made: it ages */
	uint8_t probes;   /* sent since it was last confirmed */
	int32_t key_pos;  /* reclaimed: its hash key's position, freed after the grace period */
	uint64_t confirmed_tsc;
};

struct nat_rules;

struct route_table {
	struct nat_rules *nat; /* built and freed with the set by the control thread */
	uint32_t nat_out_ports; /* egress ports where NAT may translate a source */
	struct rte_fib *fib4;
	struct rte_fib6 *fib6;
	struct nexthop *nh; /* index 0 is the NH_NO_ROUTE default */
	uint32_t n_nh, nh_cap; /* room is kept for neighbours learned at run time */
	uint32_t *nh_free, n_free; /* slots of reclaimed neighbours, used first */
	struct nexthop_meta *nh_meta;
	struct ecmp_group *ecmp;
	uint32_t n_ecmp;
	struct rte_hash *neigh4; /* host-order IPv4 -> next-hop index */
	struct rte_hash *neigh6; /* 16-byte IPv6 -> next-hop index */
	uint16_t port_mtu[CFG_MAX_PORTS];
	struct rte_ether_addr port_mac[CFG_MAX_PORTS];
	uint32_t generation; /* the config generation it was built from; tags punts */
	/* Changes (never to 0) whenever a next-hop index may come to mean another next
	 * hop: a new table, a neighbour slot reclaimed. Whatever remembers next-hop indexes
	 * across bursts (NAPT's route cache) keeps them with the tag it read at the start
	 * of the burst, and trusts them only while it is the same. */
	uint32_t cache_tag;
};

static inline uint32_t route_cache_tag(const struct route_table *rt)
{
	return __atomic_load_n(&rt->cache_tag, __ATOMIC_ACQUIRE);
}

/*
 * Build a complete table set from CFG. PORT_MACS[i] is the MAC of config port i.
 * Returns NULL and a message in ERR on failure (out of memory, FIB limits).
 */
struct route_table *route_table_build(const struct config *cfg,
				      const struct rte_ether_addr *port_macs, int socket_id,
				      char *err, size_t err_len);

void route_table_free(struct route_table *rt);

/*
 * Control thread only: IP on config port PORT is at MAC (learned by ARP or ND). Adds
 * or refreshes its neighbour entry (static ones are never overridden) and completes
 * every gateway next hop waiting for it. Workers see each change whole: a new entry
 * is written before the hash publishes it, a MAC changes in one 8-byte store and a
 * gateway turns NH_FORWARD only after its MAC is in place. Returns the number of next
 * hops changed (0 if nothing changed), or -1 when the tables are full.
 */
int route_neighbour_learn(struct route_table *rt, const struct cfg_ip *ip, unsigned int port,
			  const struct rte_ether_addr *mac);

/* Control thread only: how many more neighbours the tables can learn (of
 * slow_path.neighbours). */
uint32_t route_neighbour_room(const struct route_table *rt);

/*
 * Control thread only: free the slots of the learned neighbours that expired (stopped
 * answering: NH_UNRESOLVED), so that other neighbours can be learned. Their hash keys
 * go first, then the cache tag changes, then QSBR (the workers' quiescent states;
 * NULL: no workers) tells when no worker can still hold their indexes from a lookup
 * or a cache; only then are the slots and keys free for reuse. Returns how many.
 */
struct rte_rcu_qsbr;
unsigned int route_neighbours_reclaim(struct route_table *rt, struct rte_rcu_qsbr *qsbr);

/* Control thread only: IP stopped answering. Its neighbour entry and the gateways
 * through it turn NH_UNRESOLVED, so that traffic for it is resolved afresh. */
void route_neighbour_expire(struct route_table *rt, const struct cfg_ip *ip);

/* Control thread only, before TO is published: copy FROM's learned neighbours whose
 * port in CFG (TO's config) still has a subnet holding them, so that a reload does not
 * make every next hop resolve afresh; as many as TO has room for. Returns how many. */
int route_neighbours_carry(struct route_table *to, const struct route_table *from,
			   const struct config *cfg);

/* Control thread only: the neighbour entry for IP, or NULL. */
const struct nexthop *route_neighbour_find(const struct route_table *rt, const struct cfg_ip *ip);

/* The next-hop index a FIB value stands for; FLOW_HASH picks among ECMP members so
 * that one flow always takes the same path. */
static inline uint32_t route_nh_index(const struct route_table *rt, uint64_t fib_value,
				      uint32_t flow_hash)
{
	const struct ecmp_group *g;

	if (likely(!(fib_value & ROUTE_NH_ECMP)))
		return (uint32_t)fib_value;
	g = &rt->ecmp[fib_value & ~ROUTE_NH_ECMP];
	/* Multiply-shift maps the hash onto [0, n) without a division. */
	return g->nh[((uint64_t)flow_hash * g->n) >> 32];
}

/* CRC32 of a 4- or 16-byte key (or any multiple of 4) that need not be aligned:
 * rte_hash_crc() loads 8 bytes at a time through a cast, which is undefined on
 * an unaligned key (an IPv6 address inside a packet is one). */
static inline uint32_t route_key_hash(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *p = key;
	uint64_t w8;
	uint32_t w4;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w8, p, sizeof(w8));
		init = rte_hash_crc_8byte(w8, init);
	}
	if (len >= 4) {
		memcpy(&w4, p, sizeof(w4));
		init = rte_hash_crc_4byte(w4, init);
	}
	return init;
}

/* The name users see for a next-hop type ("forward", "blackhole", ...). */
const char *nh_type_name(enum nh_type type);

#endif
