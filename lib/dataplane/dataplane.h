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

#include "pkt.h"
#include "route.h"

#define DP_MAX_PORTS CFG_MAX_PORTS
#define DP_MAX_BURST 256
#define DP_MAX_RXQ_PER_WORKER 64

/* Reasons the dataplane itself drops for; they follow PKT_CHECK_LIST. */
#define DP_DROP_LIST(X)                                                                     \
	X(L2_RUNT, "l2_runt", "frame shorter than an Ethernet header")                       \
	X(L2_OTHER_HOST, "l2_other_host", "unicast frame for another MAC address")           \
	X(L2_MULTICAST, "l2_multicast",                                                      \
	  "broadcast or multicast frame (ARP and ND come with the slow path)")              \
	X(L2_VLAN, "l2_vlan", "VLAN-tagged frame (802.1Q/802.1ad): not supported yet")      \
	X(L2_ETHERTYPE, "l2_unknown_ethertype", "neither IPv4 nor IPv6 (ARP included, for now)") \
	X(LOCAL, "local_destination",                                                        \
	  "addressed to one of dpfwd's own addresses (answered by the slow path, later)")   \
	X(NO_ROUTE, "no_route", "no route covers the destination")                           \
	X(BLACKHOLE, "blackhole", "route with action: blackhole")                            \
	X(UNREACHABLE, "unreachable", "route with action: unreachable")                      \
	X(NO_NEIGHBOUR, "no_neighbour", "next hop or connected destination has no known MAC") \
	X(MTU_EXCEEDED, "mtu_exceeded", "packet larger than the egress port's MTU")          \
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
	struct port_counters port[DP_MAX_PORTS];
	uint64_t loops, busy_loops;
	uint64_t busy_cycles; /* TSC cycles spent on bursts that carried packets */
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

struct worker {
	struct dataplane *dp;
	unsigned int lcore_id;
	uint16_t txq; /* this worker's TX queue, the same number on every port */
	unsigned int n_rxq;
	struct dp_rxq rxq[DP_MAX_RXQ_PER_WORKER];
	struct worker_stats stats;
	struct tx_buffer tx[DP_MAX_PORTS];
} __rte_cache_aligned;

struct dataplane {
	unsigned int n_ports;
	struct dp_port ports[DP_MAX_PORTS];
	uint16_t burst;
	struct route_table *routes; /* read once per burst by workers */
	volatile bool stop;
	unsigned int n_workers;
	struct worker *workers[RTE_MAX_LCORE];
};

/* rte_eal_remote_launch() entry point; ARG is a struct worker. Returns when dp->stop
 * is set, after flushing its TX buffers. */
int dataplane_worker_main(void *arg);

/* Counters summed over all workers. */
void dataplane_stats_sum(const struct dataplane *dp, struct worker_stats *sum);

#endif
