/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live capture: what one port receives and sends, written as pcapng (librte_pcapng)
 * by the control thread. Workers copy packets of the captured port into their
 * capture ring (dataplane.c: capture_copy) while dp->capture.port names it; this file
 * starts and stops that, and writes the copies out. One capture at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "control_internal.h"

#define CAPTURE_POOL_SIZE 4095 /* copies in flight: rings plus writing */
#define CAPTURE_BURST 64

int control_capture_start(struct control *c, unsigned int port, uint64_t count,
			  const char *path, char *err, size_t len)
{
	struct control_capture *cap = &c->capture;
	struct dp_capture *dpc = &c->dp->capture;
	struct stat st;
	int fd;

	if (cap->pcapng) {
		snprintf(err, len, "a capture of port '%s' is running",
			 c->cfg->ports[dpc->port].name);
		return -1;
	}
	if (port >= c->dp->n_ports) {
		snprintf(err, len, "no such port");
		return -1;
	}
	if (!dpc->pool) {
		unsigned int p;

		/* The largest frame any port carries, so that copies are whole. */
		dpc->snaplen = 0;
		for (p = 0; p < c->cfg->n_ports; p++)
			dpc->snaplen = RTE_MAX(dpc->snaplen, (uint32_t)c->cfg->ports[p].mtu);
		dpc->snaplen += RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;
		dpc->pool = rte_pktmbuf_pool_create("capture", CAPTURE_POOL_SIZE, 0, 0,
						    rte_pcapng_mbuf_size(dpc->snaplen),
						    (int)rte_socket_id());
		if (!dpc->pool) {
			snprintf(err, len, "no memory for capture buffers");
			return -1;
		}
	}
	/* A regular file only: opening a FIFO would block the control thread until a
	 * reader comes, and its writes until the reader keeps up. Not through a symlink
	 * either (dpfwd runs as root, often writing to /tmp). */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, len, "%s: not a regular file", path);
		return -1;
	}
	cap->pcapng = rte_pcapng_fdopen(fd, NULL, NULL, "dpfwd " DPFWD_VERSION, NULL);
	if (!cap->pcapng) {
		close(fd);
		snprintf(err, len, "%s: cannot start a pcapng file", path);
		return -1;
	}
	snprintf(cap->path, sizeof(cap->path), "%s", path);
	cap->count = count;
	cap->written = 0;
	cap->dropped_before = capture_dropped_total(c);
	cap->port = port;
	__atomic_store_n(&dpc->port, (int)port, __ATOMIC_RELEASE);
	DPFWD_LOG(INFO, "capturing port %s into %s", c->cfg->ports[port].name, path);
	return 0;
}

uint64_t capture_dropped_total(const struct control *c)
{
	uint64_t n = 0;
	unsigned int w;

	for (w = 0; w < c->dp->n_workers; w++)
		n += __atomic_load_n(&c->dp->workers[w]->stats.capture_dropped, __ATOMIC_RELAXED);
	return n;
}

/* Write what the workers copied, up to the count asked for; the rest is freed. */
static unsigned int capture_write(struct control *c)
{
	struct control_capture *cap = &c->capture;
	struct rte_mbuf *pkts[CAPTURE_BURST];
	unsigned int w, n, keep, total = 0;

	for (w = 0; w < c->dp->n_workers; w++) {
		n = rte_ring_sc_dequeue_burst(c->dp->workers[w]->capture, (void **)pkts,
					      CAPTURE_BURST, NULL);
		keep = cap->count ? (unsigned int)RTE_MIN((uint64_t)n, cap->count - cap->written)
				  : n;
		/* rte_pcapng_write_packets frees what it is given, written or not. */
		if (keep && rte_pcapng_write_packets(cap->pcapng, pkts, keep) >= 0)
			cap->written += keep;
		if (n > keep)
			rte_pktmbuf_free_bulk(&pkts[keep], n - keep);
		total += n;
	}
	return total;
}

void control_capture_stop(struct control *c)
{
	struct control_capture *cap = &c->capture;

	if (!cap->pcapng)
		return;
	__atomic_store_n(&c->dp->capture.port, -1, __ATOMIC_RELEASE);
	/* Once every worker has passed a quiescent state none is copying any more. */
	rte_rcu_qsbr_synchronize(c->dp->qsbr, RTE_QSBR_THRID_INVALID);
	while (capture_write(c))
		;
	rte_pcapng_close(cap->pcapng);
	cap->pcapng = NULL;
	cap->dropped = capture_dropped_total(c) - cap->dropped_before;
	DPFWD_LOG(INFO, "capture of port %s stopped: %" PRIu64 " packets in %s, %" PRIu64
		  " not captured (no room)", c->cfg->ports[cap->port].name, cap->written,
		  cap->path, cap->dropped);
}

void control_capture_poll(struct control *c)
{
	struct control_capture *cap = &c->capture;

	if (!cap->pcapng)
		return;
	capture_write(c);
	if (cap->count && cap->written >= cap->count)
		control_capture_stop(c);
}

void control_capture_free(struct control *c)
{
	control_capture_stop(c);
	rte_mempool_free(c->dp->capture.pool);
	c->dp->capture.pool = NULL;
}
