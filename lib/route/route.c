/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building route tables from a validated config. Runs on the control thread only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "route.h"

#define FIB_TBL8_MIN 1024u

struct build {
	struct route_table *rt;
	const struct config *cfg;
	const struct rte_ether_addr *port_macs;
	uint32_t nh_local; /* shared next hops, one of each kind */
	uint32_t nh_blackhole;
	uint32_t nh_unreachable;
	uint32_t *nh_connected; /* per port */
	char *err;
	size_t err_len;
};

static const char *const nh_type_names[] = {
	[NH_NO_ROUTE] = "no_route",   [NH_FORWARD] = "forward",
	[NH_CONNECTED] = "connected", [NH_UNRESOLVED] = "unresolved",
	[NH_LOCAL] = "local",         [NH_BLACKHOLE] = "blackhole",
	[NH_UNREACHABLE] = "unreachable", [NH_NAT] = "nat",
};

const char *nh_type_name(enum nh_type type)
{
	if ((unsigned int)type >= RTE_DIM(nh_type_names))
		return "?";
	return nh_type_names[type];
}

/* A tag no table had before (route_cache_tag), never 0. */
static uint32_t cache_tag_next(void)
{
	static uint32_t last;

	if (++last == 0)
		last = 1;
	return last;
}

/* A new next hop in slot I, written whole before it can be found (its type last, as
 * every change of a next hop: a reclaimed slot was read before its grace period). */
static uint32_t nh_write(struct route_table *rt, uint32_t i, enum nh_type type, unsigned int port,
			 const uint8_t *dst_mac, const struct cfg_ip *ip, bool is_static)
{
	struct nexthop *nh = &rt->nh[i];

	nh->port = port;
	if (type != NH_LOCAL && type != NH_BLACKHOLE && type != NH_UNREACHABLE &&
	    type != NH_NAT) {
		nh->mtu = rt->port_mtu[port];
		rte_ether_addr_copy(&rt->port_mac[port], &nh->src_mac);
	}
	if (dst_mac)
		memcpy(nh->dst_mac.addr_bytes, dst_mac, RTE_ETHER_ADDR_LEN);
	if (ip)
		rt->nh_meta[i].ip = *ip;
	rt->nh_meta[i].is_static = is_static;
	__atomic_store_n(&nh->type, type, __ATOMIC_RELEASE);
	return i;
}

static uint32_t nh_new(struct route_table *rt, enum nh_type type, unsigned int port,
		       const uint8_t *dst_mac, const struct cfg_ip *ip, bool is_static)
{
	RTE_VERIFY(rt->n_nh < rt->nh_cap);
	return nh_write(rt, rt->n_nh++, type, port, dst_mac, ip, is_static);
}

static uint32_t nh_add(struct build *b, enum nh_type type, unsigned int port,
		       const uint8_t *dst_mac)
{
	return nh_new(b->rt, type, port, dst_mac, NULL, false);
}

static int fail(struct build *b, const char *what, int rc)
{
	snprintf(b->err, b->err_len, "%s: %s", what, rte_strerror(rc < 0 ? -rc : rte_errno));
	return -1;
}

static int fib_add(struct build *b, const struct cfg_prefix *p, uint64_t value)
{
	int rc;

	if (p->addr.family == AF_INET)
		rc = rte_fib_add(b->rt->fib4, p->addr.v4, p->len, value);
	else
		rc = rte_fib6_add(b->rt->fib6, p->addr.v6, p->len, value);
	return rc < 0 ? fail(b, "adding a route to the FIB", rc) : 0;
}

static struct cfg_prefix host_prefix(const struct cfg_ip *ip)
{
	struct cfg_prefix p = { .addr = *ip, .len = ip->family == AF_INET ? 32 : 128 };

	return p;
}

static struct rte_hash *neigh_table(struct build *b, int family, int socket_id)
{
	static uint32_t seq;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters params = {
		.name = name,
		.entries = RTE_MAX(2u * (b->cfg->n_neighbours + b->cfg->slow_path.neighbours), 64u),
		.key_len = family == AF_INET ? 4 : 16,
		.hash_func = route_key_hash,
		.socket_id = socket_id,
		/* Workers read while the control thread adds learned neighbours. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	snprintf(name, sizeof(name), "neigh%d_%u", family == AF_INET ? 4 : 6, seq++);
	return rte_hash_create(&params);
}

static int neigh_add(struct build *b, const struct cfg_neighbour *n)
{
	struct route_table *rt = b->rt;
	uint32_t idx = nh_new(rt, NH_FORWARD, n->port, n->mac, &n->ip, true);
	void *data = (void *)(uintptr_t)idx;
	int rc;

	if (n->ip.family == AF_INET)
		rc = rte_hash_add_key_data(rt->neigh4, &n->ip.v4, data);
	else
		rc = rte_hash_add_key_data(rt->neigh6, n->ip.v6, data);
	return rc < 0 ? fail(b, "adding a neighbour", rc) : 0;
}

static const struct cfg_neighbour *neigh_find(const struct config *cfg, const struct cfg_ip *ip)
{
	unsigned int i;

	for (i = 0; i < cfg->n_neighbours; i++) {
		const struct cfg_ip *n = &cfg->neighbours[i].ip;

		if (n->family == ip->family &&
		    (ip->family == AF_INET ? n->v4 == ip->v4 : !memcmp(n->v6, ip->v6, 16)))
			return &cfg->neighbours[i];
	}
	return NULL;
}

/* The next hop for one gateway address: its static neighbour's MAC if there is one. */
static uint32_t via_nh(struct build *b, const struct cfg_route *r, unsigned int i)
{
	const struct cfg_neighbour *n = neigh_find(b->cfg, &r->via[i]);

	if (n)
		return nh_new(b->rt, NH_FORWARD, n->port, n->mac, &r->via[i], true);
	return nh_new(b->rt, NH_UNRESOLVED, r->via_port[i], NULL, &r->via[i], false);
}

static uint64_t route_value(struct build *b, const struct cfg_route *r)
{
	struct route_table *rt = b->rt;
	struct ecmp_group *g;
	unsigned int i;

	if (r->action == CFG_ROUTE_BLACKHOLE)
		return b->nh_blackhole;
	if (r->action == CFG_ROUTE_UNREACHABLE)
		return b->nh_unreachable;
	if (r->n_via == 1)
		return via_nh(b, r, 0);
	g = &rt->ecmp[rt->n_ecmp];
	for (i = 0; i < r->n_via; i++)
		g->nh[i] = via_nh(b, r, i);
	g->n = r->n_via;
	return ROUTE_NH_ECMP | rt->n_ecmp++;
}

static int fib_add_host4(struct build *b, uint32_t ip, uint64_t value)
{
	struct cfg_prefix host = { .addr = { .family = AF_INET, .v4 = ip }, .len = 32 };

	return fib_add(b, &host, value);
}

/* NAT's outside addresses and prefixes lead to NH_NAT: the worker translates the
 * destination and looks the route up again. Our own addresses (a port forward on the
 * router's address) stay local and come after, so they win. */
static int fill_nat(struct build *b)
{
	const struct cfg_nat *nat = &b->cfg->nat;
	uint32_t nh;
	unsigned int i;

	if (!nat->enabled)
		return 0;
	nh = nh_add(b, NH_NAT, 0, NULL);
	for (i = 0; i < nat->n_static; i++)
		if (fib_add_host4(b, nat->statics[i].outside, nh))
			return -1;
	for (i = 0; i < nat->n_dnat; i++)
		if (fib_add_host4(b, nat->dnat[i].match_ip, nh))
			return -1;
	for (i = 0; i < nat->n_snat; i++)
		for (uint32_t a = nat->snat[i].pool_first; a - 1 != nat->snat[i].pool_last; a++)
			if (fib_add_host4(b, a, nh))
				return -1;
	for (i = 0; i < nat->n_nptv6; i++)
		if (fib_add(b, &nat->nptv6[i].outside, nh))
			return -1;
	return 0;
}

/* Connected subnets first, then configured routes (a configured route for the same
 * prefix replaces the connected one), then our own addresses as host routes, which
 * nothing may override. */
static int fill_tables(struct build *b)
{
	const struct config *cfg = b->cfg;
	unsigned int p, i;

	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *port = &cfg->ports[p];
		struct cfg_prefix net;

		b->nh_connected[p] = nh_add(b, NH_CONNECTED, p, NULL);
		for (i = 0; i < port->n_ipv4 + port->n_ipv6; i++) {
			net = cfg_prefix_network(i < port->n_ipv4 ? &port->ipv4[i]
							      : &port->ipv6[i - port->n_ipv4]);
			if (fib_add(b, &net, b->nh_connected[p]))
				return -1;
		}
	}
	for (i = 0; i < cfg->n_neighbours; i++)
		if (neigh_add(b, &cfg->neighbours[i]))
			return -1;
	for (i = 0; i < cfg->n_routes; i++)
		if (fib_add(b, &cfg->routes[i].prefix, route_value(b, &cfg->routes[i])))
			return -1;
	if (fill_nat(b))
		return -1;
	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *port = &cfg->ports[p];

		for (i = 0; i < port->n_ipv4 + port->n_ipv6; i++) {
			const struct cfg_prefix *a = i < port->n_ipv4 ? &port->ipv4[i]
								      : &port->ipv6[i - port->n_ipv4];
			struct cfg_prefix host = host_prefix(&a->addr);

			if (fib_add(b, &host, b->nh_local))
				return -1;
		}
	}
	return 0;
}

/* Second-level tables a prefix may need: one per 8 bits past the 24-bit first level
 * (DIR24_8 has one level more at most; TRIE up to 13 for a /128). */
static uint32_t tbl8_need(const struct cfg_prefix *p)
{
	return p->len > 24 ? (p->len - 24 + 7) / 8 : 0;
}

/* Worst case, as if no two prefixes shared a table: configured routes, connected
 * subnets and our own addresses as host routes. */
static void tbl8_count(const struct config *cfg, uint32_t *v4, uint32_t *v6)
{
	unsigned int i, j;

	*v4 = cfg->nat.n_static + cfg->nat.n_dnat;
	*v6 = 0;
	for (i = 0; i < cfg->nat.n_snat; i++) /* a pool's /32s share a table per /24 */
		*v4 += (cfg->nat.snat[i].pool_last >> 8) - (cfg->nat.snat[i].pool_first >> 8) + 1;
	for (i = 0; i < cfg->nat.n_nptv6; i++)
		*v6 += tbl8_need(&cfg->nat.nptv6[i].outside);
	for (i = 0; i < cfg->n_routes; i++) {
		const struct cfg_prefix *p = &cfg->routes[i].prefix;

		*(p->addr.family == AF_INET ? v4 : v6) += tbl8_need(p);
	}
	for (i = 0; i < cfg->n_ports; i++) {
		const struct cfg_port *port = &cfg->ports[i];

		for (j = 0; j < port->n_ipv4; j++)
			*v4 += tbl8_need(&port->ipv4[j]) + 1;
		for (j = 0; j < port->n_ipv6; j++)
			*v6 += tbl8_need(&port->ipv6[j]) + (128 - 24) / 8;
	}
}

static int create_fibs(struct build *b, int socket_id)
{
	static uint32_t seq;
	const struct config *cfg = b->cfg;
	int max_routes = (int)(cfg->n_routes + cfg->n_ports * CFG_MAX_PORT_ADDRS * 4 + 16 +
			       cfg->nat.n_static + cfg->nat.n_dnat + cfg->nat.n_nptv6);
	unsigned int i;

	for (i = 0; i < cfg->nat.n_snat; i++)
		max_routes += (int)(cfg->nat.snat[i].pool_last - cfg->nat.snat[i].pool_first + 1);
	uint32_t tbl8_v4, tbl8_v6;

	tbl8_count(cfg, &tbl8_v4, &tbl8_v6);
	struct rte_fib_conf conf4 = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = 0,
		.max_routes = max_routes,
		.dir24_8 = { .nh_sz = RTE_FIB_DIR24_8_4B,
			     .num_tbl8 = RTE_MAX(FIB_TBL8_MIN, tbl8_v4 + 64) },
	};
	struct rte_fib6_conf conf6 = {
		.type = RTE_FIB6_TRIE,
		.default_nh = 0,
		.max_routes = max_routes,
		.trie = { .nh_sz = RTE_FIB6_TRIE_4B,
			  .num_tbl8 = RTE_MAX(FIB_TBL8_MIN, tbl8_v6 + 64) },
	};
	char name[64];

	snprintf(name, sizeof(name), "fib4_%u", seq);
	b->rt->fib4 = rte_fib_create(name, socket_id, &conf4);
	if (!b->rt->fib4)
		return fail(b, "creating the IPv4 FIB", 0);
	snprintf(name, sizeof(name), "fib6_%u", seq++);
	b->rt->fib6 = rte_fib6_create(name, socket_id, &conf6);
	if (!b->rt->fib6)
		return fail(b, "creating the IPv6 FIB", 0);
	return 0;
}

static int alloc_arrays(struct build *b, int socket_id)
{
	const struct config *cfg = b->cfg;
	struct route_table *rt = b->rt;
	uint32_t i;

	/* default + local + blackhole + unreachable + nat, one connected per port, one per
	 * neighbour, one per gateway, and room for the neighbours learned later. */
	rt->nh_cap = 5 + cfg->n_ports + cfg->n_neighbours + cfg->slow_path.neighbours;
	for (i = 0; i < cfg->n_routes; i++)
		rt->nh_cap += cfg->routes[i].n_via;
	rt->nh = rte_zmalloc_socket("nexthops", rt->nh_cap * sizeof(*rt->nh),
				    RTE_CACHE_LINE_SIZE, socket_id);
	rt->nh_meta = rte_zmalloc_socket("nexthop_meta", rt->nh_cap * sizeof(*rt->nh_meta), 0,
					 socket_id);
	rt->nh_free = rte_zmalloc_socket("nexthop_free", rt->nh_cap * sizeof(*rt->nh_free), 0,
					 socket_id);
	rt->cache_tag = cache_tag_next();
	for (i = 0; i < cfg->n_ports; i++) {
		rt->port_mtu[i] = cfg->ports[i].mtu;
		rte_ether_addr_copy(&b->port_macs[i], &rt->port_mac[i]);
	}
	rt->ecmp = rte_zmalloc_socket("ecmp", (cfg->n_routes + 1) * sizeof(*rt->ecmp),
				      RTE_CACHE_LINE_SIZE, socket_id);
	b->nh_connected = calloc(cfg->n_ports + 1, sizeof(*b->nh_connected));
	rt->neigh4 = neigh_table(b, AF_INET, socket_id);
	rt->neigh6 = neigh_table(b, AF_INET6, socket_id);
	if (!rt->nh || !rt->nh_meta || !rt->nh_free || !rt->ecmp || !b->nh_connected ||
	    !rt->neigh4 || !rt->neigh6)
		return fail(b, "allocating route tables", -ENOMEM);
	return 0;
}

struct route_table *route_table_build(const struct config *cfg,
				      const struct rte_ether_addr *port_macs, int socket_id,
				      char *err, size_t err_len)
{
	struct build b = { .cfg = cfg, .port_macs = port_macs, .err = err, .err_len = err_len };
	int rc;

	b.rt = rte_zmalloc_socket("route_table", sizeof(*b.rt), RTE_CACHE_LINE_SIZE, socket_id);
	if (!b.rt) {
		snprintf(err, err_len, "allocating route tables: out of memory");
		return NULL;
	}
	rc = alloc_arrays(&b, socket_id);
	if (!rc)
		rc = create_fibs(&b, socket_id);
	if (!rc) {
		nh_add(&b, NH_NO_ROUTE, 0, NULL); /* index 0: the FIB default */
		b.nh_local = nh_add(&b, NH_LOCAL, 0, NULL);
		b.nh_blackhole = nh_add(&b, NH_BLACKHOLE, 0, NULL);
		b.nh_unreachable = nh_add(&b, NH_UNREACHABLE, 0, NULL);
		rc = fill_tables(&b);
	}
	free(b.nh_connected);
	if (rc) {
		route_table_free(b.rt);
		return NULL;
	}
	return b.rt;
}

void route_table_free(struct route_table *rt)
{
	if (!rt)
		return;
	rte_fib_free(rt->fib4);
	rte_fib6_free(rt->fib6);
	rte_hash_free(rt->neigh4);
	rte_hash_free(rt->neigh6);
	rte_free(rt->nh);
	rte_free(rt->nh_meta);
	rte_free(rt->nh_free);
	rte_free(rt->ecmp);
	rte_free(rt);
}

static int neigh_lookup(const struct route_table *rt, const struct cfg_ip *ip)
{
	void *data;

	if (ip->family == AF_INET) {
		if (rte_hash_lookup_data(rt->neigh4, &ip->v4, &data) < 0)
			return -1;
	} else if (rte_hash_lookup_data(rt->neigh6, ip->v6, &data) < 0) {
		return -1;
	}
	return (int)(uintptr_t)data;
}

void route_neighbour_expire(struct route_table *rt, const struct cfg_ip *ip)
{
	uint32_t i;

	for (i = 0; i < rt->n_nh; i++)
		if (!rt->nh_meta[i].is_static && cfg_ip_equal(&rt->nh_meta[i].ip, ip) &&
		    rt->nh[i].type == NH_FORWARD)
			__atomic_store_n(&rt->nh[i].type, NH_UNRESOLVED, __ATOMIC_RELEASE);
}

const struct nexthop *route_neighbour_find(const struct route_table *rt, const struct cfg_ip *ip)
{
	int idx = neigh_lookup(rt, ip);

	return idx < 0 ? NULL : &rt->nh[idx];
}

/* dst_mac is the first 6 bytes of a 32-byte aligned next hop: one 8-byte store
 * replaces it (the 2 bytes after it, the start of src_mac, are written unchanged). */
static void nh_set_mac(struct nexthop *nh, const struct rte_ether_addr *mac)
{
	uint64_t word;

	memcpy(&word, nh, sizeof(word));
	memcpy(&word, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	__atomic_store_n((uint64_t *)(void *)nh, word, __ATOMIC_RELEASE);
}

static int neigh_insert(struct route_table *rt, const struct cfg_ip *ip, unsigned int port,
			const struct rte_ether_addr *mac)
{
	bool reused = rt->n_free > 0;
	uint32_t idx;
	int rc;

	if (reused)
		idx = nh_write(rt, rt->nh_free[--rt->n_free], NH_FORWARD, port, mac->addr_bytes,
			       ip, false);
	else if (rt->n_nh < rt->nh_cap)
		idx = nh_new(rt, NH_FORWARD, port, mac->addr_bytes, ip, false);
	else
		return -1;
	rt->nh_meta[idx].learned = true;
	rt->nh_meta[idx].confirmed_tsc = rte_rdtsc();
	if (ip->family == AF_INET)
		rc = rte_hash_add_key_data(rt->neigh4, &ip->v4, (void *)(uintptr_t)idx);
	else
		rc = rte_hash_add_key_data(rt->neigh6, ip->v6, (void *)(uintptr_t)idx);
	if (rc < 0) { /* no lookup can reach it: the slot is free again */
		memset(&rt->nh_meta[idx], 0, sizeof(rt->nh_meta[idx]));
		rt->nh[idx].type = NH_UNRESOLVED;
		if (reused)
			rt->nh_free[rt->n_free++] = idx;
		else
			rt->n_nh--;
		return -1;
	}
	return 1;
}

uint32_t route_neighbour_room(const struct route_table *rt)
{
	return rt->nh_cap - rt->n_nh + rt->n_free;
}

unsigned int route_neighbours_reclaim(struct route_table *rt, struct rte_rcu_qsbr *qsbr)
{
	uint32_t i, first = rt->n_free;

	for (i = 0; i < rt->n_nh; i++) {
		struct nexthop_meta *meta = &rt->nh_meta[i];

		if (!meta->learned || rt->nh[i].type != NH_UNRESOLVED)
			continue;
		/* The key's position stays taken until the grace period is over (the hash is
		 * lock-free: a reader may be comparing that key). */
		meta->key_pos = meta->ip.family == AF_INET
					? rte_hash_del_key(rt->neigh4, &meta->ip.v4)
					: rte_hash_del_key(rt->neigh6, meta->ip.v6);
		meta->learned = false;
		rt->nh_free[rt->n_free++] = i;
	}
	if (rt->n_free == first)
		return 0;
	__atomic_store_n(&rt->cache_tag, cache_tag_next(), __ATOMIC_RELEASE);
	if (qsbr)
		rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
	for (i = first; i < rt->n_free; i++) {
		struct nexthop_meta *meta = &rt->nh_meta[rt->nh_free[i]];

		if (meta->key_pos >= 0)
			rte_hash_free_key_with_position(
				meta->ip.family == AF_INET ? rt->neigh4 : rt->neigh6, meta->key_pos);
		memset(meta, 0, sizeof(*meta));
	}
	return rt->n_free - first;
}

int route_neighbour_learn(struct route_table *rt, const struct cfg_ip *ip, unsigned int port,
			  const struct rte_ether_addr *mac)
{
	int idx = neigh_lookup(rt, ip), changed = 0;
	uint32_t i;

	if (idx >= 0) {
		struct nexthop *nh = &rt->nh[idx];
		struct nexthop_meta *meta = &rt->nh_meta[idx];

		if (meta->is_static)
			return 0;
		meta->confirmed_tsc = rte_rdtsc();
		meta->probes = 0;
		if (nh->type != NH_FORWARD || !rte_is_same_ether_addr(&nh->dst_mac, mac)) {
			nh_set_mac(nh, mac);
			__atomic_store_n(&nh->type, NH_FORWARD, __ATOMIC_RELEASE);
			changed++;
		}
	} else if (neigh_insert(rt, ip, port, mac) < 0) {
		return -1;
	} else {
		changed++;
	}
	/* Gateways through this neighbour. */
	for (i = 0; i < rt->n_nh; i++) {
		struct nexthop *nh = &rt->nh[i];

		if (rt->nh_meta[i].is_static || !cfg_ip_equal(&rt->nh_meta[i].ip, ip) ||
		    (nh->type != NH_UNRESOLVED && nh->type != NH_FORWARD) ||
		    (nh->type == NH_FORWARD && rte_is_same_ether_addr(&nh->dst_mac, mac)))
			continue;
		nh_set_mac(nh, mac);
		__atomic_store_n(&nh->type, NH_FORWARD, __ATOMIC_RELEASE);
		changed++;
	}
	return changed;
}

int route_neighbours_carry(struct route_table *to, const struct route_table *from,
			   const struct config *cfg)
{
	uint32_t i, a;
	int n = 0;

	for (i = 0; i < from->n_nh; i++) {
		const struct nexthop_meta *meta = &from->nh_meta[i];
		const struct nexthop *nh = &from->nh[i];
		const struct cfg_port *port = &cfg->ports[nh->port];
		bool on_link = false;

		if (!meta->learned || nh->type != NH_FORWARD || nh->port >= cfg->n_ports)
			continue;
		for (a = 0; a < port->n_ipv4 + port->n_ipv6 && !on_link; a++)
			on_link = cfg_prefix_contains(a < port->n_ipv4 ? &port->ipv4[a]
								: &port->ipv6[a - port->n_ipv4],
						     &meta->ip);
		if (!on_link)
			continue;
		if (route_neighbour_learn(to, &meta->ip, nh->port, &nh->dst_mac) < 0)
			break; /* TO is full: the others are resolved again when used */
		n++;
	}
	return n;
}
