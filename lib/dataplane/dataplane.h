/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop: receive a burst, validate, look routes up in bulk, rewrite, buffer
 * for transmit. Workers never lock, block, log or allocate; every packet they do not
 * transmit is counted under exactly one drop reason.
 */
#ifndef DPFWD_DATAPLANE_H
#define DPFWD_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "pkt.h"
#include "nat.h"
#include "route.h"

#define DP_MAX_PORTS CFG_MAX_PORTS
#define DP_MAX_BURST 256
#define DP_MAX_RXQ_PER_WORKER 64

/* Reasons the dataplane itself drops for; they follow PKT_CHECK_LIST. */
#define DP_DROP_LIST(X)                                                                     \
	X(L2_RUNT, "l2_runt", "frame shorter than an Ethernet header")                       \
	X(L2_SPLIT, "l2_split_headers",                                                      \
	  "chained frame whose headers do not fit in its first segment")                    \
	X(L2_OTHER_HOST, "l2_other_host", "unicast frame for another MAC address")           \
	X(L2_MULTICAST, "l2_multicast",                                                      \
	  "broadcast or multicast frame other than a broadcast ARP or IPv6 neighbour "      \
	  "discovery")                                                                      \
	X(L2_VLAN, "l2_vlan", "VLAN-tagged frame (802.1Q/802.1ad): not supported yet")      \
	X(L2_ETHERTYPE, "l2_unknown_ethertype", "neither IPv4, IPv6 nor ARP")                \
	X(LOCAL, "local_destination",                                                        \
	  "for one of dpfwd's own addresses but not an echo request (UDP also gets port "    \
	  "unreachable)")                                                                    \
	X(NO_ROUTE, "no_route", "no route covers the destination (answered with net "        \
	  "unreachable / no route)")                                                         \
	X(DIRECTED_BCAST, "ipv4_directed_broadcast",                                         \
	  "to a connected subnet's network or broadcast address (RFC 1812 5.3.5.2)")         \
	X(BLACKHOLE, "blackhole", "route with action: blackhole")                            \
	X(UNREACHABLE, "unreachable", "route with action: unreachable")                      \
	X(HOLD_FULL, "neighbour_hold_full",                                                  \
	  "8 packets already wait for this neighbour, or 256 neighbours are being resolved") \
	X(UNRESOLVED, "neighbour_unresolved",                                                \
	  "the neighbour did not answer 3 ARP requests / solicitations (or dpfwd stopped)") \
	X(ARP_INVALID, "arp_invalid", "ARP packet that is not Ethernet/IPv4 or is truncated") \
	X(ND_INVALID, "nd_invalid",                                                          \
	  "neighbour discovery message with a bad hop limit, checksum, code or option")     \
	X(PUNT_FULL, "punt_ring_full", "the slow path's queue was full")                      \
	X(MTU_EXCEEDED, "mtu_exceeded",                                                      \
	  "larger than the egress MTU and DF set (IPv4) or IPv6 (answered with the MTU)")   \
	X(NAT_NO_RULE, "nat_no_rule",                                                        \
	  "to a NAT outside address or prefix that no rule translates for this packet")     \
	X(NAT_UNTRANSLATABLE, "nat_untranslatable",                                          \
	  "a NAT rule matched but cannot apply (NPTv6 word 0xFFFF, RFC 6296 3.5; for NAPT: " \
	  "neither TCP, UDP, ICMP echo nor an ICMP error about a mapping)")                \
	X(NAT_TABLE_FULL, "nat_table_full", "a new NAT session over nat.max_sessions")        \
	X(NAT_PORTS_EXHAUSTED, "nat_ports_exhausted",                                        \
	  "no free port left on the pool address of this inside host")                      \
	X(NAT_FILTERED, "nat_filtered",                                                      \
	  "from outside to a NAT mapping, refused by nat.filtering (RFC 4787 5)")            \
	X(NAT_FRAGMENT_UNMATCHED, "nat_fragment_unmatched",                                  \
	  "a later fragment to a NAT pool or port forward address whose first fragment "   \
	  "was not seen (or not within 10 s)")                                              \
	X(NAT_HANDOFF_FULL, "nat_handoff_full",                                              \
	  "the ring to the worker owning this NAT mapping was full")                         \
	X(TX_FULL, "tx_full", "the egress queue did not take the packet")

enum drop_reason {
	DROP_NONE = 0, /* not a reason: index 0 mirrors PKT_OK */
#define DROP_ENUM(id, name, help) DROP_##id,
	PKT_CHECK_LIST(DROP_ENUM) DP_DROP_LIST(DROP_ENUM)
#undef DROP_ENUM
	DROP_REASON_COUNT
};

/* A packet check's result is its drop reason. */
#define DROP_FROM_CHECK(check) ((enum drop_reason)(check))
static_assert((int)DROP_IPV4_TRUNCATED == (int)PKT_IPV4_TRUNCATED, "drop/pkt order");
static_assert((int)DROP_IPV6_HOP_LIMIT == (int)PKT_IPV6_HOP_LIMIT, "drop/pkt order");

const char *drop_reason_name(enum drop_reason reason);
const char *drop_reason_help(enum drop_reason reason);

struct port_counters {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
};

/* One worker's counters: written by that worker alone, summed by readers. */
struct worker_stats {
	uint64_t drops[DROP_REASON_COUNT];
	uint64_t punted; /* handed to the control thread */
	uint64_t captured, capture_dropped; /* copies for a live capture (not packets) */
	struct port_counters port[DP_MAX_PORTS];
	uint64_t loops, busy_loops;
	uint64_t busy_cycles; /* TSC cycles spent on bursts that carried packets */
	uint64_t rx_cycles;   /* the part of them inside the receive call (the PMD's) */
} __rte_cache_aligned;

struct dp_port {
	uint16_t port_id; /* DPDK port */
	struct rte_ether_addr mac;
	bool rx_ipv4_cksum; /* the NIC verifies IPv4 header checksums */
};

struct dp_rxq {
	uint16_t port;    /* config port index */
	uint16_t port_id; /* DPDK port */
	uint16_t queue;
};

struct tx_buffer {
	uint16_t n;
	struct rte_mbuf *pkts[DP_MAX_BURST];
};

struct dataplane;

/* Later fragments to a pool address that found no record of their datagram yet: its
 * first fragment may still be on its way through another worker (its mapping's owner).
 * They are looked at again every loop, up to DP_FRAG_WAIT_MS after they came. */
#define DP_FRAG_WAIT_MAX 64
#define DP_FRAG_WAIT_MS 10

struct frag_wait {
	unsigned int n;
	struct rte_mbuf *pkts[DP_FRAG_WAIT_MAX];
	uint64_t since[DP_FRAG_WAIT_MAX]; /* TSC when each first found no record */
};

struct worker {
	struct dataplane *dp;
	unsigned int id;   /* 0 .. n_workers - 1, also its RCU thread id */
	unsigned int lcore_id;
	uint16_t txq; /* this worker's TX queue, the same number on every port */
	unsigned int n_rxq;
	struct dp_rxq rxq[DP_MAX_RXQ_PER_WORKER];
	struct rte_ring *punt;   /* to the control thread: ARP, local, unresolved */
	struct rte_ring *inject; /* from the control thread: packets to transmit */
	struct rte_ring *capture; /* to the control thread: copies for a live capture */
	struct napt_table *napt;  /* the NAPT mappings this worker owns (NULL: no NAT) */
	struct rte_ring **handoff_from; /* per source worker: packets for mappings we own */
	struct frag_wait frag_wait;
	uint64_t frag_retry_since; /* while one of frag_wait is processed again: its since */
	uint64_t frag_records_seen; /* NAPT's fragments_recorded when frag_wait was last tried */
	volatile bool rx_stopped; /* saw dp->rx_stop: punts nothing more */
	struct worker_stats stats;
	struct tx_buffer tx[DP_MAX_PORTS];
} __rte_cache_aligned;

/*
 * Why a packet went to the slow path, kept in the mbuf's hash.usr with the config
 * port it arrived on and, for PUNT_RESOLVE, the next hop it waits for.
 * Injected packets carry their egress config port in mbuf->port.
 */
enum punt_kind {
	PUNT_ARP = 1,  /* ARP for this port */
	PUNT_LOCAL,    /* IP packet for one of our addresses */
	PUNT_RESOLVE,  /* next hop or connected destination without a MAC yet */
	PUNT_ERROR,    /* dropped, and worth an ICMP error: the nh field is the reason */
	PUNT_TOO_BIG,  /* over the egress MTU, IPv4 without DF: fragmented; nh as for RESOLVE */
	PUNT_ND,       /* IPv6 neighbour discovery (RFC 4861) */
	/* Over the egress MTU and not to be fragmented (DF, IPv6): an ICMP error carrying
	 * the MTU of the egress config port, in the nh field. The port, not the next hop:
	 * a neighbour's slot may be reclaimed and taken by another port's neighbour before
	 * the slow path looks. */
	PUNT_TOO_BIG_ERROR,
};
_Static_assert(PUNT_TOO_BIG_ERROR < 8, "kinds fit in three bits");

/* PUNT_ERROR's nh field: the drop reason, and above it, for a parameter problem, the
 * pointer it carries (RFC 4443 3.4). */
#define PUNT_ERROR_POINTER_SHIFT 8
_Static_assert(DROP_REASON_COUNT <= 1 << PUNT_ERROR_POINTER_SHIFT, "reasons fit below");

static inline void punt_meta_set(struct rte_mbuf *m, enum punt_kind kind, uint16_t in_port,
				 uint32_t nh)
{
	m->hash.usr = (uint32_t)kind << 29 | (uint32_t)in_port << 24 | (nh & 0xffffff);
}

static inline enum punt_kind punt_meta_kind(const struct rte_mbuf *m)
{
	return (enum punt_kind)(m->hash.usr >> 29);
}

static inline uint16_t punt_meta_port(const struct rte_mbuf *m)
{
	return (m->hash.usr >> 24) & 0x1f;
}

static inline uint32_t punt_meta_nh(const struct rte_mbuf *m)
{
	return m->hash.usr & 0xffffff;
}

/* The generation of the route table a punted packet's next hop index belongs to
 * (the second word of the hash union, free once the packet is ours). */
static inline void punt_meta_set_generation(struct rte_mbuf *m, uint32_t generation)
{
	m->hash.fdir.hi = generation;
}

static inline uint32_t punt_meta_generation(const struct rte_mbuf *m)
{
	return m->hash.fdir.hi;
}

/* A live capture: while port is a config port index, workers copy what it receives
 * and sends (rte_pcapng_copy) into their capture ring. */
struct dp_capture {
	int port; /* -1: no capture; read by workers once per burst */
	uint32_t snaplen;
	struct rte_mempool *pool; /* the copies: never the forwarding pool */
};

struct dataplane {
	unsigned int n_ports;
	struct dp_port ports[DP_MAX_PORTS];
	uint16_t burst;    /* TX buffers flush at this many packets */
	uint16_t rx_burst; /* at least 4: vector RX paths round down to a multiple of 4 */
	struct route_table *routes; /* read once per loop by workers; a reload replaces it */
	struct rte_rcu_qsbr *qsbr;  /* workers report a quiescent state once per loop */
	struct worker_stats *extra_stats; /* the control thread's drops, summed in */
	struct dp_capture capture;
	volatile bool rx_stop; /* shutting down: receive no more, keep transmitting */
	volatile bool stop;
	uint64_t start_tsc; /* when the workers were launched */
	unsigned int n_workers;
	struct worker *workers[RTE_MAX_LCORE];
};

/* rte_eal_remote_launch() entry point; ARG is a struct worker. Returns when dp->stop
 * is set, after flushing its TX buffers. */
int dataplane_worker_main(void *arg);

/* NAPT counters summed over the workers' tables (zeros without NAT). */
void dataplane_napt_stats_sum(const struct dataplane *dp, struct napt_stats *sum);

/* Counters summed over all workers. */
void dataplane_stats_sum(const struct dataplane *dp, struct worker_stats *sum);

#endif
