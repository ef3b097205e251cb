/* SPDX-License-Identifier: BSD-3-Clause */
/* What the control thread's parts (slow path, reload, telemetry) share; not public. */
#ifndef DPFWD_CONTROL_INTERNAL_H
#define DPFWD_CONTROL_INTERNAL_H

#include <pthread.h>

#include "control.h"
#include "icmp.h"

#define PENDING_MAX 256 /* neighbours being resolved at once */

/* A neighbour being resolved: requests sent so far and the packets waiting. */
struct pending {
	struct cfg_ip ip; /* family 0: free slot */
	uint16_t port;
	uint8_t tries;
	uint8_t n_held;
	uint64_t next_tsc; /* when to ask again, or give up */
	struct rte_mbuf *held[CONTROL_HOLD_MAX];
};

/* One function another thread wants run on the control thread (control_call). */
struct control_call_slot {
	pthread_mutex_t lock; /* one caller at a time */
	pthread_mutex_t done_lock;
	pthread_cond_t done;
	int (*fn)(struct control *c, void *arg);
	void *arg;
	int rc;
	bool pending;  /* set by the caller, cleared by the control thread when done */
	bool closed;   /* the control thread serves no more calls */
};

struct control {
	struct dataplane *dp;
	struct config *cfg;     /* the running config; a reload swaps its contents */
	struct route_table *rt; /* the table set this thread works with (see reload.c) */
	struct rte_mempool *pool;
	struct control_stats stats;
	struct control_config_info info;
	struct worker_stats counters; /* drops, summed with the workers' */
	uint64_t arp_interval_tsc;
	uint64_t reachable_tsc; /* slow_path.neighbour_timeout */
	uint64_t last_aging_tsc;
	struct icmp_bucket icmp_bucket;
	struct pending pending[PENDING_MAX];
	struct control_call_slot call;
};

/* Settings derived from the config (timers, ICMP bucket): at start and on reload. */
void control_apply_settings(struct control *c);

/* control_call's other end (call.c): set up, run what is asked, refuse from now on. */
int control_calls_init(struct control *c);
void control_calls_serve(struct control *c);
void control_calls_close(struct control *c);
void control_calls_destroy(struct control *c);

/* Record c->cfg as loaded now: generation + 1, time, hash. */
void control_info_loaded(struct control *c);

/* /dpfwd/ telemetry commands served by C (telemetry.c); unregister after
 * control_calls_close(). */
void control_telemetry_register(struct control *c);
void control_telemetry_unregister(void);

/* Handle one punted packet with c->rt and c->cfg. */
void control_punt_handle(struct control *c, struct rte_mbuf *m);

/* Handle everything the workers punted so far; returns how many packets. */
unsigned int control_punts_handle(struct control *c);

#endif
