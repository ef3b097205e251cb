/* SPDX-License-Identifier: BSD-3-Clause */
/* The exit report: per-port packets and bytes, every drop reason, conservation. */
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>

#include "dpfwd.h"

/* What the NICs themselves counted, read before the ports close: drops that happen
 * before dpfwd sees a packet (no descriptor, no mbuf, bad frame) or after it let go. */
static struct rte_eth_stats nic[DP_MAX_PORTS];

void stats_nic_read(const struct dataplane *dp)
{
	unsigned int p;

	for (p = 0; p < dp->n_ports; p++)
		if (rte_eth_stats_get(dp->ports[p].port_id, &nic[p]) != 0)
			memset(&nic[p], 0, sizeof(nic[p]));
}

static uint64_t drops_total(const struct worker_stats *s)
{
	uint64_t n = 0;
	unsigned int r;

	for (r = 1; r < DROP_REASON_COUNT; r++)
		n += s->drops[r];
	return n;
}

static void totals(const struct dataplane *dp, const struct worker_stats *s, uint64_t *rx,
		   uint64_t *tx)
{
	unsigned int p;

	*rx = *tx = 0;
	for (p = 0; p < dp->n_ports; p++) {
		*rx += s->port[p].rx_packets;
		*tx += s->port[p].tx_packets;
	}
}

bool stats_balanced(const struct dataplane *dp, const struct control_stats *cs)
{
	struct worker_stats s;
	uint64_t rx, tx;

	dataplane_stats_sum(dp, &s);
	totals(dp, &s, &rx, &tx);
	return rx + cs->generated == tx + drops_total(&s) + cs->consumed;
}

void stats_print(const struct config *cfg, const struct dataplane *dp,
		 const struct control_stats *cs, double seconds, unsigned int mbufs_in_use,
		 FILE *out)
{
	struct worker_stats s;
	uint64_t rx, tx, dropped;
	unsigned int p, r;

	dataplane_stats_sum(dp, &s);
	totals(dp, &s, &rx, &tx);
	dropped = drops_total(&s);
	fprintf(out, "dpfwd: ran %.3f s with %u worker(s)\n", seconds, dp->n_workers);
	fprintf(out, "%-12s %12s %14s %12s %14s\n", "port", "rx_packets", "rx_bytes",
		"tx_packets", "tx_bytes");
	for (p = 0; p < dp->n_ports; p++)
		fprintf(out, "%-12s %12" PRIu64 " %14" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n",
			cfg->ports[p].name, s.port[p].rx_packets, s.port[p].rx_bytes,
			s.port[p].tx_packets, s.port[p].tx_bytes);
	for (p = 0; p < dp->n_ports; p++)
		if (nic[p].imissed || nic[p].ierrors || nic[p].rx_nombuf || nic[p].oerrors)
			fprintf(out, "%-12s NIC: missed %" PRIu64 ", rx errors %" PRIu64
				", no mbuf %" PRIu64 ", tx errors %" PRIu64 "\n",
				cfg->ports[p].name, nic[p].imissed, nic[p].ierrors,
				nic[p].rx_nombuf, nic[p].oerrors);
	fprintf(out, "drops:\n");
	for (r = 1; r < DROP_REASON_COUNT; r++)
		if (s.drops[r])
			fprintf(out, "  %-24s %12" PRIu64 "  %s\n", drop_reason_name(r), s.drops[r],
				drop_reason_help(r));
	fprintf(out, "slow path: %" PRIu64 " ARP replies, %" PRIu64 " ARP requests, %" PRIu64
		" echo replies, %" PRIu64 " neighbours learned, %" PRIu64 " held packets sent, %"
		PRIu64 " ICMP errors (%" PRIu64 " rate-limited), %" PRIu64 " fragments\n",
		cs->arp_replies, cs->arp_requests, cs->echo_replies, cs->neighbours_learned,
		cs->released, cs->icmp_errors, cs->icmp_rate_limited, cs->fragments);
	/* Every packet in (received, or made by the slow path) left exactly one way. */
	fprintf(out,
		"received %" PRIu64 " + generated %" PRIu64 " = transmitted %" PRIu64
		" + dropped %" PRIu64 " + consumed %" PRIu64 "%s\n",
		rx, cs->generated, tx, dropped, cs->consumed,
		rx + cs->generated == tx + dropped + cs->consumed ? "" : "  (MISMATCH)");
	fprintf(out, "mbufs in use at exit: %u\n", mbufs_in_use);
}

static void json_ports(FILE *f, const struct config *cfg, const struct dataplane *dp,
		       const struct worker_stats *s)
{
	unsigned int p;

	fprintf(f, "  \"ports\": {\n");
	for (p = 0; p < dp->n_ports; p++)
		fprintf(f,
			"    \"%s\": {\"rx_packets\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
			", \"tx_packets\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
			", \"nic\": {\"imissed\": %" PRIu64 ", \"ierrors\": %" PRIu64
			", \"rx_nombuf\": %" PRIu64 ", \"oerrors\": %" PRIu64 "}}%s\n",
			cfg->ports[p].name, s->port[p].rx_packets, s->port[p].rx_bytes,
			s->port[p].tx_packets, s->port[p].tx_bytes, nic[p].imissed,
			nic[p].ierrors, nic[p].rx_nombuf, nic[p].oerrors,
			p + 1 < dp->n_ports ? "," : "");
	fprintf(f, "  },\n");
}

static void json_drops(FILE *f, const struct worker_stats *s)
{
	unsigned int r;

	fprintf(f, "  \"drops\": {\n");
	for (r = 1; r < DROP_REASON_COUNT; r++)
		fprintf(f, "    \"%s\": %" PRIu64 "%s\n", drop_reason_name(r), s->drops[r],
			r + 1 < DROP_REASON_COUNT ? "," : "");
	fprintf(f, "  },\n");
}

static void json_workers(FILE *f, const struct dataplane *dp)
{
	unsigned int i;

	fprintf(f, "  \"workers\": [\n");
	for (i = 0; i < dp->n_workers; i++) {
		const struct worker *w = dp->workers[i];
		uint64_t rx = 0;
		unsigned int p;

		for (p = 0; p < dp->n_ports; p++)
			rx += w->stats.port[p].rx_packets;
		fprintf(f,
			"    {\"lcore\": %u, \"rx_queues\": %u, \"rx_packets\": %" PRIu64
			", \"loops\": %" PRIu64 ", \"busy_loops\": %" PRIu64
			", \"busy_cycles\": %" PRIu64 ", \"rx_cycles\": %" PRIu64 "}%s\n",
			w->lcore_id, w->n_rxq, rx, w->stats.loops, w->stats.busy_loops,
			w->stats.busy_cycles, w->stats.rx_cycles, i + 1 < dp->n_workers ? "," : "");
	}
	fprintf(f, "  ],\n");
}

static void json_slow_path(FILE *f, const struct control_stats *cs, uint64_t punted)
{
	fprintf(f,
		"  \"slow_path\": {\"punted\": %" PRIu64 ", \"consumed\": %" PRIu64
		", \"generated\": %" PRIu64 ", \"released\": %" PRIu64
		", \"arp_requests\": %" PRIu64 ", \"arp_replies\": %" PRIu64
		", \"echo_replies\": %" PRIu64 ", \"neighbours_learned\": %" PRIu64
		", \"icmp_errors\": %" PRIu64 ", \"icmp_rate_limited\": %" PRIu64
		", \"fragments\": %" PRIu64 ", \"neighbour_solicitations\": %" PRIu64
		", \"neighbour_adverts\": %" PRIu64 ", \"neighbours_expired\": %" PRIu64 "},\n",
		punted, cs->consumed, cs->generated, cs->released, cs->arp_requests,
		cs->arp_replies, cs->echo_replies, cs->neighbours_learned, cs->icmp_errors,
		cs->icmp_rate_limited, cs->fragments, cs->neighbour_solicitations,
		cs->neighbour_adverts, cs->neighbours_expired);
}

/* NAPT's counters, summed over the workers (zeros without NAT). */
static void json_nat(FILE *f, const struct dataplane *dp)
{
	struct napt_stats n;

	dataplane_napt_stats_sum(dp, &n);
	fprintf(f,
		"  \"nat\": {\"sessions\": %" PRIu64 ", \"mappings\": %" PRIu64
		", \"sessions_created\": %" PRIu64 ", \"mappings_created\": %" PRIu64
		", \"expired\": %" PRIu64 ", \"fast_path\": %" PRIu64 "},\n",
		n.sessions, n.mappings, n.sessions_created, n.mappings_created, n.expired,
		n.fast_path);
}

int stats_write_json(const char *path, const struct config *cfg, const struct dataplane *dp,
		     const struct control_stats *cs, double seconds, unsigned int mbufs_in_use)
{
	struct worker_stats s;
	uint64_t rx, tx;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	dataplane_stats_sum(dp, &s);
	totals(dp, &s, &rx, &tx);
	fprintf(f, "{\n  \"seconds\": %.6f,\n", seconds);
	json_ports(f, cfg, dp, &s);
	json_drops(f, &s);
	json_workers(f, dp);
	json_slow_path(f, cs, s.punted);
	json_nat(f, dp);
	fprintf(f,
		"  \"totals\": {\"rx_packets\": %" PRIu64 ", \"tx_packets\": %" PRIu64
		", \"dropped\": %" PRIu64 ", \"generated\": %" PRIu64 ", \"consumed\": %" PRIu64
		"},\n",
		rx, tx, drops_total(&s), cs->generated, cs->consumed);
	fprintf(f, "  \"mbufs_in_use\": %u\n}\n", mbufs_in_use);
	return fclose(f);
}
