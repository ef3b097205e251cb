/* SPDX-License-Identifier: BSD-3-Clause */
/* What the parts of the dpfwd program share: ports set-up and the exit report. */
#ifndef DPFWD_APP_H
#define DPFWD_APP_H

#include <stdio.h>

#include <rte_mempool.h>

#include "config.h"
#include "control.h"
#include "dataplane.h"

/*
 * Find each configured device and its MAC, plan queues, create workers and the mbuf
 * pool; no port is touched yet. On a config problem (unknown device) prints
 * "FILE:LINE:COLUMN: message" to stderr and returns -1.
 */
int ports_prepare(const struct config *cfg, struct dataplane *dp, struct rte_mempool **pool);

/* Configure queues and start every port; deal RX queues to the workers. */
int ports_start(const struct config *cfg, struct dataplane *dp, struct rte_mempool *pool);

/* Stop and close every port. */
void ports_close(const struct dataplane *dp);

/* The summary on stdout, and with PATH the same in JSON. MBUFS_IN_USE: pool size minus
 * what is back in the pool after the ports closed. */
void stats_print(const struct config *cfg, const struct dataplane *dp,
		 const struct control_stats *cs, double seconds, unsigned int mbufs_in_use,
		 FILE *out);
/* Read each port's NIC counters (missed, errors, no mbuf); call before closing. */
void stats_nic_read(const struct dataplane *dp);

/* Conservation: received + generated = transmitted + dropped + consumed. */
bool stats_balanced(const struct dataplane *dp, const struct control_stats *cs);
int stats_write_json(const char *path, const struct config *cfg, const struct dataplane *dp,
		     const struct control_stats *cs, double seconds, unsigned int mbufs_in_use);

/* Prometheus metrics (cfg->metrics): NULL when disabled or, after printing
 * "FILE:LINE:COLUMN: cannot listen ...", when the address cannot be had. Stop it only
 * after the control thread stopped serving calls (control_drain). */
struct metrics;
struct metrics *metrics_start(const struct config *cfg, struct control *ctl);
void metrics_stop(struct metrics *m);

#endif
