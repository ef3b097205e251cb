/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports and queues: each port is configured from what its device says it can do
 * (dev_info), and each worker gets RX queues round-robin plus its own TX queue on
 * every port, so that no two lcores ever share a queue.
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dpfwd.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define POOL_CACHE 256

/* Offloads and queue counts chosen for one port. */
struct port_plan {
	uint16_t port_id;
	struct rte_eth_dev_info info;
	uint16_t n_rxq, n_txq;
	uint16_t n_rxd, n_txd;
};

static int find_devices(const struct config *cfg, struct dataplane *dp,
			struct port_plan *plan)
{
	unsigned int i, j;

	for (i = 0; i < cfg->n_ports; i++) {
		const struct cfg_port *p = &cfg->ports[i];

		if (rte_eth_dev_get_port_by_name(p->device, &plan[i].port_id) != 0) {
			fprintf(stderr,
				"%s:%d:%d: unknown device '%s': neither a PCI device bound to "
				"DPDK nor a --vdev given to EAL\n",
				cfg->path, p->device_loc.line, p->device_loc.column, p->device);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (plan[j].port_id == plan[i].port_id) {
				fprintf(stderr, "%s:%d:%d: device '%s' is already port '%s'\n",
					cfg->path, p->device_loc.line, p->device_loc.column,
					p->device, cfg->ports[j].name);
				return -1;
			}
		if (rte_eth_dev_info_get(plan[i].port_id, &plan[i].info) != 0) {
			fprintf(stderr, "%s:%d:%d: cannot query device '%s'\n", cfg->path,
				p->device_loc.line, p->device_loc.column, p->device);
			return -1;
		}
		dp->ports[i].port_id = plan[i].port_id;
		if (p->has_mac)
			memcpy(dp->ports[i].mac.addr_bytes, p->mac, RTE_ETHER_ADDR_LEN);
		else if (rte_eth_macaddr_get(plan[i].port_id, &dp->ports[i].mac) != 0)
			return -1;
	}
	dp->n_ports = cfg->n_ports;
	return 0;
}

/* Every worker needs a TX queue of its own on every port; where a device offers fewer
 * than there are worker lcores, run fewer workers rather than share a queue. */
static unsigned int plan_workers(const struct config *cfg, struct port_plan *plan)
{
	unsigned int lcores = rte_lcore_count() - 1, n = lcores, i;

	for (i = 0; i < cfg->n_ports; i++)
		if (plan[i].info.max_tx_queues < n) {
			DPFWD_LOG(WARNING,
				  "port %s (%s) offers %u TX queues: running %u of %u workers",
				  cfg->ports[i].name, cfg->ports[i].device,
				  plan[i].info.max_tx_queues, plan[i].info.max_tx_queues, lcores);
			n = plan[i].info.max_tx_queues;
		}
	for (i = 0; i < cfg->n_ports; i++) {
		plan[i].n_txq = n;
		plan[i].n_rxq = RTE_MIN(plan[i].info.max_rx_queues, n);
		if (plan[i].n_rxq < n)
			DPFWD_LOG(INFO, "port %s offers %u RX queues: %u workers receive from it",
				  cfg->ports[i].name, plan[i].info.max_rx_queues, plan[i].n_rxq);
		/* A vdev may come with its RX queues made (net_pcap: one per rx_pcap file):
		 * all of them are read, some workers reading several. */
		if (plan[i].info.nb_rx_queues > plan[i].n_rxq) {
			plan[i].n_rxq = plan[i].info.nb_rx_queues;
			DPFWD_LOG(INFO, "port %s (%s) has %u RX queues, read by %u worker(s)",
				  cfg->ports[i].name, cfg->ports[i].device, plan[i].n_rxq, n);
		}
	}
	return n;
}

static void eth_conf_from_caps(const struct port_plan *plan, struct rte_eth_conf *conf,
			       struct dp_port *port)
{
	const struct rte_eth_dev_info *info = &plan->info;
	uint64_t rss = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
		       info->flow_type_rss_offloads;

	memset(conf, 0, sizeof(*conf));
	if (plan->n_rxq > 1 && rss) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = rss;
		if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
	/* Checksums the NIC verifies are ones the worker need not compute. */
	if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		port->rx_ipv4_cksum = true;
	}
	/* All mbufs come from one pool with refcount 1: the NIC may free them fast. */
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
}

/* PORT->mac is already what the config asks (find_devices). */
static int set_mac(const struct cfg_port *p, struct port_plan *plan, struct dp_port *port)
{
	if (!p->has_mac)
		return 0;
	if (rte_eth_dev_default_mac_addr_set(plan->port_id, &port->mac) != 0) {
		/* The device keeps its own MAC: see every frame and filter in software. */
		DPFWD_LOG(NOTICE, "port %s: device refuses MAC change, using promiscuous mode",
			  p->name);
		rte_eth_promiscuous_enable(plan->port_id);
	}
	return 0;
}

static int port_start(const struct cfg_port *p, struct port_plan *plan, struct dp_port *port,
		      struct rte_mempool *pool)
{
	uint16_t id = plan->port_id, q;
	int socket = rte_eth_dev_socket_id(id);
	struct rte_eth_conf conf;
	int rc;

	eth_conf_from_caps(plan, &conf, port);
	rc = rte_eth_dev_configure(id, plan->n_rxq, plan->n_txq, &conf);
	if (rc == 0) {
		plan->n_rxd = RX_DESC;
		plan->n_txd = TX_DESC;
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &plan->n_rxd, &plan->n_txd);
	}
	for (q = 0; rc == 0 && q < plan->n_rxq; q++)
		rc = rte_eth_rx_queue_setup(id, q, plan->n_rxd, socket, NULL, pool);
	for (q = 0; rc == 0 && q < plan->n_txq; q++)
		rc = rte_eth_tx_queue_setup(id, q, plan->n_txd, socket, NULL);
	if (rc == 0 && rte_eth_dev_set_mtu(id, p->mtu) != 0)
		DPFWD_LOG(NOTICE, "port %s: device does not take MTU %u; dpfwd enforces it",
			  p->name, p->mtu);
	if (rc == 0)
		rc = set_mac(p, plan, port);
	if (rc == 0)
		rc = rte_eth_dev_start(id);
	if (rc != 0) {
		DPFWD_LOG(ERR, "port %s (%s): set-up failed: %s", p->name, p->device,
			  rte_strerror(-rc));
		return -1;
	}
	DPFWD_LOG(INFO, "port %s (%s): %u RX / %u TX queues, offloads rx 0x%" PRIx64
		  " tx 0x%" PRIx64, p->name, p->device, plan->n_rxq, plan->n_txq,
		  conf.rxmode.offloads, conf.txmode.offloads);
	return 0;
}

static int workers_create(struct dataplane *dp, unsigned int n_workers)
{
	unsigned int lcore, i = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w;

		if (i == n_workers)
			break;
		w = rte_zmalloc_socket("worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
				       rte_lcore_to_socket_id(lcore));
		if (!w)
			return -1;
		w->dp = dp;
		w->id = i;
		w->lcore_id = lcore;
		w->txq = i;
		dp->workers[i++] = w;
	}
	dp->n_workers = i;
	/* Reloads wait on the workers' quiescent states before freeing old tables. */
	dp->qsbr = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(RTE_MAX(i, 1u)),
			       RTE_CACHE_LINE_SIZE);
	if (!dp->qsbr || rte_rcu_qsbr_init(dp->qsbr, RTE_MAX(i, 1u)) != 0)
		return -1;
	return 0;
}

/* RX queues of all ports dealt round-robin over the workers. */
static void rx_queues_assign(struct dataplane *dp, const struct port_plan *plan)
{
	unsigned int p, q, k = 0;

	for (p = 0; p < dp->n_ports; p++)
		for (q = 0; q < plan[p].n_rxq; q++) {
			struct worker *w = dp->workers[k++ % dp->n_workers];

			if (w->n_rxq == DP_MAX_RXQ_PER_WORKER) {
				DPFWD_LOG(WARNING, "port %u RX queue %u not read: a worker reads "
					  "at most %d queues", p, q, DP_MAX_RXQ_PER_WORKER);
				continue;
			}
			w->rxq[w->n_rxq++] = (struct dp_rxq){
				.port = p, .port_id = plan[p].port_id, .queue = q };
		}
}

/* Enough mbufs for every descriptor, every buffer and every lcore cache, or what the
 * config asks, whichever is more. */
static struct rte_mempool *pool_create(const struct config *cfg, const struct port_plan *plan,
				       unsigned int n_workers)
{
	unsigned int need = n_workers * DP_MAX_BURST * (cfg->n_ports + 2) +
			    rte_lcore_count() * POOL_CACHE * 3 / 2;
	unsigned int i, n;

	for (i = 0; i < cfg->n_ports; i++)
		need += plan[i].n_rxq * RX_DESC + plan[i].n_txq * TX_DESC;
	n = RTE_MAX(need, cfg->dataplane.mbufs);
	if (n > cfg->dataplane.mbufs)
		DPFWD_LOG(NOTICE, "dataplane.mbufs %u is below what the queues need: using %u",
			  cfg->dataplane.mbufs, n);
	return rte_pktmbuf_pool_create("mbufs", n, POOL_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
}

/* Between ports_prepare() and ports_start(). */
static struct port_plan plan[CFG_MAX_PORTS];

int ports_prepare(const struct config *cfg, struct dataplane *dp, struct rte_mempool **pool)
{
	unsigned int n_workers;

	memset(plan, 0, sizeof(plan));
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "dpfwd: needs a worker lcore besides the main one (e.g. -l 0-1)\n");
		return -1;
	}
	if (find_devices(cfg, dp, plan))
		return -1;
	n_workers = plan_workers(cfg, plan);
	if (n_workers == 0 || workers_create(dp, n_workers)) {
		fprintf(stderr, "dpfwd: cannot create workers\n");
		return -1;
	}
	*pool = pool_create(cfg, plan, n_workers);
	if (!*pool) {
		fprintf(stderr, "dpfwd: cannot create the mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int ports_start(const struct config *cfg, struct dataplane *dp, struct rte_mempool *pool)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++)
		if (port_start(&cfg->ports[i], &plan[i], &dp->ports[i], pool))
			return -1;
	rx_queues_assign(dp, plan);
	return 0;
}

void ports_close(const struct dataplane *dp)
{
	unsigned int i;

	for (i = 0; i < dp->n_ports; i++) {
		rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
	}
}
