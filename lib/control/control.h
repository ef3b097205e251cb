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
#include <time.h>

#include <rte_log.h>
#include <rte_mempool.h>

#include "config.h"
#include "dataplane.h"

/* dpfwd's rte_log type ("dpfwd"), for the program and its libraries. */
extern int dpfwd_logtype;
#define DPFWD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dpfwd_logtype, "dpfwd: " fmt "\n", ##__VA_ARGS__)

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
	uint64_t reloads, reload_failures;
};

/* The configuration running now. */
struct control_config_info {
	char sha256[65];      /* of the file's bytes, as sha256sum prints it */
	uint64_t generation;  /* 1 for the file loaded at start, + 1 per good reload */
	time_t loaded_at;     /* when this generation was published */
	char last_error[CFG_ERR_MAX]; /* why the last refused reload was refused */
};

struct control;

/* Rings for every worker of DP; call before the workers start. NULL on failure. */
struct control *control_create(struct dataplane *dp, struct config *cfg,
			       struct rte_mempool *pool);

/* Handle what the workers punted and run due timers. Call often. */
void control_poll(struct control *c);

/* Stop: call after the workers stopped receiving (dp->rx_stop) and before they stop.
 * Handles everything still punted; held packets are dropped as unresolved. */
void control_drain(struct control *c);

/* After the workers returned: what is still in a ring between workers (NAT
 * hand-overs) or to this thread is dropped and counted, so that the counters
 * balance. */
void control_finish(struct control *c);

const struct control_stats *control_stats_get(const struct control *c);

/*
 * A complete table set for CFG: routes, neighbours and NAT rules. NULL with a message
 * in ERR on failure. The set is freed whole by control_tables_free.
 */
struct route_table *control_tables_build(const struct config *cfg,
					 const struct rte_ether_addr *port_macs, char *err,
					 size_t err_len);
void control_tables_free(struct route_table *rt);

/*
 * Control thread: re-read the config file and, if it is good and needs no restart,
 * swap routes, static neighbours and slow-path settings without pausing the workers.
 * Returns 0, or -1 with "FILE:LINE:COLUMN: message" in ERR and the running config
 * unchanged. Logged either way.
 */
int control_reload(struct control *c, char *err, size_t len);

/*
 * Run FN(C, ARG) on the control thread and return its result. For other threads
 * (telemetry, metrics) that need the control thread's state: it is the only writer
 * of tables, neighbours and the config, so what FN reads is consistent. Blocks until
 * the control thread has run FN (within one control_poll); returns -ENOTCONN once
 * the control thread has stopped serving (shutdown).
 */
int control_call(struct control *c, int (*fn)(struct control *c, void *arg), void *arg);

/* For functions run by control_call, and for the control thread itself. */
struct dataplane *control_dataplane(const struct control *c);
const struct config *control_config(const struct control *c);
const struct route_table *control_routes(const struct control *c);
const struct control_config_info *control_config_info(const struct control *c);

void control_free(struct control *c);

#endif
