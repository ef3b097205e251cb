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

/* The live capture the control thread writes out (capture.c). */
struct control_capture {
	struct rte_pcapng *pcapng; /* NULL: none running */
	unsigned int port;
	uint64_t count;   /* stop after this many packets; 0: until stopped */
	uint64_t written; /* packets in the file */
	uint64_t dropped; /* copies the rings had no room for (once stopped) */
	uint64_t dropped_before;
	char path[512];
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
	uint64_t last_reclaim_tsc; /* neighbour slots: at most once a second */
	struct icmp_bucket icmp_bucket;
	struct pending pending[PENDING_MAX];
	struct control_call_slot call;
	struct control_capture capture;
};

/* Live capture (capture.c). Start: PORT's packets into PATH (pcapng), COUNT of them
 * (0: until stopped); -1 and a message in ERR if that cannot be. */
int control_capture_start(struct control *c, unsigned int port, uint64_t count,
			  const char *path, char *err, size_t len);
void control_capture_stop(struct control *c);
void control_capture_poll(struct control *c);
void control_capture_free(struct control *c);
uint64_t capture_dropped_total(const struct control *c);

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
