/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's slow path: packets the workers punt (ARP, packets for our own
 * addresses, packets waiting for a neighbour) are handled here, and what this thread
 * sends goes back through a worker's inject ring, so that every transmit queue keeps
 * exactly one writer.
 *
 * Implemented so far: ARP (RFC 826) replies for our addresses, learning, requests on a
 * miss with up to 8 packets held per neighbour, ICMP echo replies (RFC 792), ICMP and
 * ICMPv6 errors (rate-limited), IPv4 fragmentation, IPv6 neighbour discovery
 * (RFC 4861) answers and resolution, aging of learned entries.
 */
#ifndef DPFWD_CONTROL_H
#define DPFWD_CONTROL_H

#include <stdint.h>

#include <rte_mempool.h>

#include "config.h"
#include "dataplane.h"

#define CONTROL_RING_SIZE 1024
#define CONTROL_HOLD_MAX 8        /* packets held per unresolved neighbour */
#define CONTROL_ARP_TRIES 3       /* requests before a neighbour counts as unreachable */
#define CONTROL_ARP_INTERVAL_MS 1000

struct control_stats {
	uint64_t consumed;  /* punted packets that ended here (answered or not) */
	uint64_t generated; /* packets this thread created and sent */
	uint64_t released;  /* held packets sent once their neighbour resolved */
	uint64_t arp_requests, arp_replies, echo_replies, neighbours_learned;
	uint64_t icmp_errors, icmp_rate_limited, fragments;
	uint64_t neighbour_solicitations, neighbour_adverts, neighbours_expired;
};

struct control;

/* Rings for every worker of DP; call before the workers start. NULL on failure. */
struct control *control_create(struct dataplane *dp, const struct config *cfg,
			       struct rte_mempool *pool);

/* Handle what the workers punted and run due timers. Call often. */
void control_poll(struct control *c);

/* Stop: call after the workers stopped receiving (dp->rx_stop) and before they stop.
 * Handles everything still punted; held packets are dropped as unresolved. */
void control_drain(struct control *c);

const struct control_stats *control_stats_get(const struct control *c);

void control_free(struct control *c);

#endif
