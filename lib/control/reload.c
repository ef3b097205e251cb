/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reload: re-read the config file and swap routes and static neighbours as one unit
 * while the workers keep forwarding (publish, then reclaim; ARCHITECTURE.md).
 *
 *   1. load and validate the whole file; refuse what needs a restart;
 *   2. build a complete new table set, carrying over the neighbours learned so far;
 *   3. publish it with one atomic store: each worker picks it up at its next loop;
 *   4. wait until every worker has passed a quiescent state (RCU QSBR): none can still
 *      hold the old set;
 *   5. handle what the workers punted with the old set (its next-hop indices mean
 *      something only there), then free it.
 * Nothing is changed until step 3, so a refused file leaves everything as it was.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_ring.h>

#include "control_internal.h"
#include "nat.h"

RTE_LOG_REGISTER(dpfwd_logtype, dpfwd, INFO);

struct route_table *control_tables_build(const struct config *cfg,
					 const struct rte_ether_addr *port_macs, char *err,
					 size_t err_len)
{
	struct route_table *rt = route_table_build(cfg, port_macs, (int)rte_socket_id(), err,
						   err_len);
	unsigned int i;

	if (!rt)
		return NULL;
	rt->nat = nat_rules_build(cfg, (int)rte_socket_id(), err, err_len);
	if (!rt->nat) {
		route_table_free(rt);
		return NULL;
	}
	for (i = 0; i < cfg->nat.n_snat; i++)
		rt->nat_out_ports |= 1u << cfg->nat.snat[i].out;
	rt->nat_out_ports |= rt->nat->out_ports;
	return rt;
}

void control_tables_free(struct route_table *rt)
{
	if (!rt)
		return;
	nat_rules_free(rt->nat);
	route_table_free(rt);
}

void control_info_loaded(struct control *c)
{
	unsigned int i;

	c->info.generation++;
	c->info.loaded_at = time(NULL);
	for (i = 0; i < 32; i++)
		snprintf(&c->info.sha256[2 * i], 3, "%02x", c->cfg->sha256[i]);
}

static int refuse_at(char *err, size_t len, const char *path, const struct cfg_loc *loc,
		     const char *what, const char *name)
{
	snprintf(err, len, "%s:%d:%d: %s '%s' changed: restart dpfwd to apply this change",
		 path, loc->line, loc->column, what, name);
	return -1;
}

/* Where a changed value is: VAL, or OUTER, the node that would hold it, when the new
 * file leaves it out (back to its default). */
static const struct cfg_loc *at(const struct cfg_loc *val, const struct cfg_loc *outer)
{
	return val->line ? val : outer;
}

/* Ports are bound to devices and queues at start; only their addresses may change. */
static int restart_needed(const struct config *run, const struct config *next, char *err,
			  size_t len)
{
	static const struct cfg_loc top = { 1, 1 };
	unsigned int i;

	if (next->n_ports != run->n_ports) {
		snprintf(err, len,
			 "%s:1:1: ports added or removed (%u now, %u running): restart dpfwd "
			 "to apply this change", next->path, next->n_ports, run->n_ports);
		return -1;
	}
	for (i = 0; i < run->n_ports; i++) {
		const struct cfg_port *a = &run->ports[i], *b = &next->ports[i];

		if (strcmp(a->name, b->name))
			return refuse_at(err, len, next->path, &b->loc, "port name of", a->name);
		if (strcmp(a->device, b->device))
			return refuse_at(err, len, next->path, &b->device_loc, "device of port",
					 a->name);
		if (a->has_mac != b->has_mac || memcmp(a->mac, b->mac, sizeof(a->mac)))
			return refuse_at(err, len, next->path, at(&b->mac_loc, &b->loc),
					 "mac of port", a->name);
		if (a->mtu != b->mtu)
			return refuse_at(err, len, next->path, at(&b->mtu_loc, &b->loc),
					 "mtu of port", a->name);
	}
	if (run->dataplane.burst != next->dataplane.burst)
		return refuse_at(err, len, next->path,
				 at(&next->dataplane.burst_loc, at(&next->dataplane.loc, &top)),
				 "setting", "dataplane.burst");
	if (run->dataplane.mbufs != next->dataplane.mbufs)
		return refuse_at(err, len, next->path,
				 at(&next->dataplane.mbufs_loc, at(&next->dataplane.loc, &top)),
				 "setting", "dataplane.mbufs");
	if (run->metrics.enabled != next->metrics.enabled || run->metrics.port != next->metrics.port ||
	    memcmp(&run->metrics.addr, &next->metrics.addr, sizeof(run->metrics.addr)))
		return refuse_at(err, len, next->path,
				 next->metrics.enabled ? &next->metrics.loc : &top, "setting",
				 "metrics.listen");
	/* NAT sessions live in tables sized at start. */
	if (run->nat.enabled != next->nat.enabled)
		return refuse_at(err, len, next->path, next->nat.enabled ? &next->nat.loc : &top,
				 "section", "nat (added or removed)");
	if (run->nat.max_sessions != next->nat.max_sessions)
		return refuse_at(err, len, next->path,
				 at(&next->nat.max_sessions_loc, &next->nat.loc), "setting",
				 "nat.max_sessions");
	return 0;
}

/* Punts whose next hop index belongs to the old table set are handled with it; the
 * other kinds carry no index and are handled with the new one. */
static void punts_handle_old(struct control *c, struct route_table *old)
{
	struct route_table *cur = c->rt;
	unsigned int w, n;
	struct rte_mbuf *m;

	for (w = 0; w < c->dp->n_workers; w++) {
		/* What is in the ring now includes every punt made with the old set. */
		for (n = rte_ring_count(c->dp->workers[w]->punt); n; n--) {
			if (rte_ring_sc_dequeue(c->dp->workers[w]->punt, (void **)&m))
				break;
			/* Only RESOLVE and TOO_BIG carry a next-hop index: what ARP or ND
			 * teaches must go into the new set, the old one is freed next. */
			if (punt_meta_generation(m) == old->generation &&
			    (punt_meta_kind(m) == PUNT_RESOLVE || punt_meta_kind(m) == PUNT_TOO_BIG))
				c->rt = old;
			control_punt_handle(c, m);
			c->rt = cur;
		}
	}
}

int control_reload(struct control *c, char *err, size_t len)
{
	struct rte_ether_addr macs[CFG_MAX_PORTS];
	struct route_table *next_rt, *old;
	struct config next, retired;
	char msg[CFG_ERR_MAX];
	unsigned int i;

	if (config_load(c->cfg->path, &next, err, len))
		goto refused;
	if (restart_needed(c->cfg, &next, err, len))
		goto refused_free;
	for (i = 0; i < c->dp->n_ports; i++)
		macs[i] = c->dp->ports[i].mac;
	next_rt = control_tables_build(&next, macs, msg, sizeof(msg));
	if (!next_rt) {
		snprintf(err, len, "%s: %s", next.path, msg);
		goto refused_free;
	}
	route_neighbours_carry(next_rt, c->rt, &next);
	next_rt->generation = (uint32_t)c->info.generation + 1;

	old = c->rt;
	retired = *c->cfg;
	*c->cfg = next;
	c->rt = next_rt;
	__atomic_store_n(&c->dp->routes, next_rt, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(c->dp->qsbr, RTE_QSBR_THRID_INVALID);
	punts_handle_old(c, old);
	control_tables_free(old);
	config_free(&retired);

	control_apply_settings(c);
	control_info_loaded(c);
	c->info.last_error[0] = '\0';
	c->stats.reloads++;
	DPFWD_LOG(NOTICE, "reloaded %s: generation %" PRIu64 ", %u routes, sha256 %s",
		  c->cfg->path, c->info.generation, c->cfg->n_routes, c->info.sha256);
	return 0;

refused_free:
	config_free(&next);
refused:
	snprintf(c->info.last_error, sizeof(c->info.last_error), "%s", err);
	c->stats.reload_failures++;
	DPFWD_LOG(ERR, "reload refused, generation %" PRIu64 " keeps running: %s",
		  c->info.generation, err);
	return -1;
}
