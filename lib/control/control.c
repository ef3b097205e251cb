/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path on the control thread. It owns the neighbour state machine (pending
 * resolutions and their held packets); the tables workers read are changed only
 * through route_neighbour_learn(), which publishes each change whole.
 */
#include <string.h>
#include <sys/socket.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <rte_ip_frag.h>

#include "control_internal.h"
#include "nat.h"

static void drop(struct control *c, struct rte_mbuf *m, enum drop_reason reason)
{
	c->counters.drops[reason]++;
	rte_pktmbuf_free(m);
}

static void consume(struct control *c, struct rte_mbuf *m)
{
	c->stats.consumed++;
	rte_pktmbuf_free(m);
}

/* Transmit M on config port PORT through the worker that owns that port's slot. */
static void inject(struct control *c, struct rte_mbuf *m, uint16_t port)
{
	struct worker *w = c->dp->workers[port % c->dp->n_workers];

	m->port = port;
	if (rte_ring_sp_enqueue(w->inject, m) != 0)
		drop(c, m, DROP_TX_FULL);
}

/* ---- ICMP errors ---- */

/* Send an ICMP or ICMPv6 error about M (which the caller then drops) out of the port M
 * came in on, from that port's first address, within the rate limit. */
static bool subnet_edge_anywhere(const struct control *c, uint32_t ip);

static void error_send(struct control *c, const struct rte_mbuf *m, uint8_t type, uint8_t code,
		       uint32_t rest)
{
	uint16_t port = punt_meta_port(m);
	const struct cfg_port *cp = &c->cfg->ports[port];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const void *l3 = eth + 1;
	struct rte_mbuf *err = NULL;

	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = l3;

		/* RFC 1812 4.3.2.7: nor about a packet to or from a subnet broadcast. */
		if (!cp->n_ipv4 || !icmp4_error_allowed(l3) ||
		    subnet_edge_anywhere(c, rte_be_to_cpu_32(ip->dst_addr)) ||
		    subnet_edge_anywhere(c, rte_be_to_cpu_32(ip->src_addr)))
			return;
	} else if (!cp->n_ipv6 ||
		   !icmp6_error_allowed(l3, rte_pktmbuf_data_len(m) - RTE_ETHER_HDR_LEN)) {
		return;
	}
	if (!icmp_bucket_take(&c->icmp_bucket)) {
		c->stats.icmp_rate_limited++;
		return;
	}
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		err = icmp4_error_build(c->pool, m, type, code, rest, &c->dp->ports[port].mac,
					cp->ipv4[0].addr.v4);
	else
		err = icmp6_error_build(c->pool, m, type, code, rest, &c->dp->ports[port].mac,
					cp->ipv6[0].addr.v6);
	if (!err)
		return;
	c->stats.generated++;
	c->stats.icmp_errors++;
	inject(c, err, port);
}

static bool is_ipv4(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->ether_type ==
	       RTE_BE16(RTE_ETHER_TYPE_IPV4);
}

static void handle_local(struct control *c, struct rte_mbuf *m);
static void handle_nd(struct control *c, struct rte_mbuf *m);

/* Whether M's destination is one of our addresses (the FIB's local host routes). */
static bool is_for_us(struct control *c, const struct rte_mbuf *m, bool v4)
{
	const struct route_table *rt = c->rt;
	uint64_t value = 0;

	if (v4) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
			m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);

		rte_fib_lookup_bulk(rt->fib4, &dst, &value, 1);
	} else {
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(
			m, const struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
		uint8_t dst[1][16];

		memcpy(dst[0], ip->dst_addr, 16);
		rte_fib6_lookup_bulk(rt->fib6, dst, &value, 1);
	}
	return !(value & ROUTE_NH_ECMP) && rt->nh[value].type == NH_LOCAL;
}

/* Dropped by a worker for REASON: time exceeded (RFC 1812 5.3.1, RFC 4443 3.3),
 * destination unreachable (RFC 1812 5.2.7.1, RFC 4443 3.1) or, for an address NPTv6
 * cannot map, parameter problem (RFC 6296 3.5, RFC 4443 3.4). */
static void handle_error(struct control *c, struct rte_mbuf *m)
{
	uint32_t meta = punt_meta_nh(m);
	enum drop_reason reason = (enum drop_reason)(meta & ((1u << PUNT_ERROR_POINTER_SHIFT) - 1));
	bool v4 = is_ipv4(m);

	switch (reason) {
	case DROP_IPV4_TTL:
	case DROP_IPV6_HOP_LIMIT:
		/* RFC 1812 4.2.2.9: a packet for us is ours whatever its TTL. */
		if (is_for_us(c, m, v4))
			return handle_local(c, m);
		error_send(c, m, v4 ? ICMP4_TIME_EXCEEDED : ICMP6_TIME_EXCEEDED, 0, 0);
		break;
	case DROP_NO_ROUTE:
		error_send(c, m, v4 ? ICMP4_DEST_UNREACH : ICMP6_DEST_UNREACH,
			   v4 ? ICMP4_NET_UNREACH : ICMP6_NO_ROUTE, 0);
		break;
	case DROP_UNREACHABLE:
		error_send(c, m, v4 ? ICMP4_DEST_UNREACH : ICMP6_DEST_UNREACH,
			   v4 ? ICMP4_HOST_UNREACH : ICMP6_REJECT_ROUTE, 0);
		break;
	case DROP_NAT_UNTRANSLATABLE:
		if (!v4)
			error_send(c, m, ICMP6_PARAM_PROBLEM, ICMP6_ERRONEOUS_FIELD,
				   meta >> PUNT_ERROR_POINTER_SHIFT);
		break;
	default:
		break;
	}
	drop(c, m, reason < DROP_REASON_COUNT ? reason : DROP_LOCAL);
}

/* RFC 791 / RFC 1812 5.2.6: cut an IPv4 packet without DF into fragments that fit. Each
 * fragment is one mbuf of the pool: no larger than its data room, whatever the MTU (the
 * library checks only the payload against it, not the header), so a jumbo MTU gives
 * fragments of at most about 2 KB. The smallest MTU (68) cuts the largest packet
 * (16110) into 336. */
static void fragment_send(struct control *c, struct rte_mbuf *m, uint16_t port,
			  const struct rte_ether_addr *mac)
{
	uint16_t mtu = RTE_MIN(c->cfg->ports[port].mtu,
			       (uint16_t)(rte_pktmbuf_data_room_size(c->pool) - RTE_PKTMBUF_HEADROOM));
	struct rte_mbuf *frags[384];
	int n, i;

	pkt_ipv4_ttl_dec(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN));
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	n = rte_ipv4_fragment_copy_nonseg_packet(m, frags, RTE_DIM(frags), mtu, c->pool);
	if (n < 0)
		return drop(c, m, DROP_MTU_EXCEEDED);
	for (i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(
			frags[i], RTE_ETHER_HDR_LEN);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		ip->hdr_checksum = 0; /* the library leaves it to the NIC or to us */
		ip->hdr_checksum = pkt_ipv4_header_checksum(ip);
		eth->dst_addr = *mac;
		eth->src_addr = c->dp->ports[port].mac;
		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		inject(c, frags[i], port);
	}
	c->stats.generated += n;
	c->stats.fragments += n;
	consume(c, m);
}

/* Over PORT's MTU on the way to MAC: fragment (IPv4 without DF), else "fragmentation
 * needed" with the next-hop MTU (RFC 1191) or "packet too big" (RFC 8201, RFC 4443 3.2). */
static void too_big(struct control *c, struct rte_mbuf *m, uint16_t port,
		    const struct rte_ether_addr *mac)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
								 RTE_ETHER_HDR_LEN);
	uint16_t mtu = c->cfg->ports[port].mtu;

	if (!is_ipv4(m)) {
		error_send(c, m, ICMP6_PACKET_TOO_BIG, 0, mtu);
		return drop(c, m, DROP_MTU_EXCEEDED);
	}
	if (!(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)))
		return fragment_send(c, m, port, mac);
	error_send(c, m, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED, mtu);
	drop(c, m, DROP_MTU_EXCEEDED);
}

static void handle_resolve(struct control *c, struct rte_mbuf *m);
static struct cfg_ip punt_target(const struct control *c, const struct rte_mbuf *m,
				 uint32_t nh_idx);
static uint16_t punt_port(const struct control *c, uint32_t nh_idx, const struct cfg_ip *target);
static const struct rte_ether_addr *resolved_mac(struct control *c, uint32_t nh_idx,
						const struct cfg_ip *ip);

/* Too big for its next hop, to be fragmented: that needs the next hop's MAC. If its
 * neighbour's slot was reclaimed meanwhile, the packet is resolved afresh (and
 * fragmented when sent). */
static void handle_too_big(struct control *c, struct rte_mbuf *m)
{
	uint32_t nh_idx = punt_meta_nh(m);
	struct cfg_ip target;
	const struct rte_ether_addr *mac;

	target = punt_target(c, m, nh_idx);
	mac = resolved_mac(c, nh_idx, &target);
	if (!mac)
		return handle_resolve(c, m);
	too_big(c, m, punt_port(c, nh_idx, &target), mac);
}

static bool port_has_ipv4(const struct cfg_port *p, uint32_t ip)
{
	unsigned int i;

	for (i = 0; i < p->n_ipv4; i++)
		if (p->ipv4[i].addr.v4 == ip)
			return true;
	return false;
}

/* The port's own address (with its prefix) whose subnet holds IP, or NULL: IP is on
 * that port's link, and the address is what we speak to it from. */
static const struct cfg_prefix *port_subnet_of(const struct cfg_port *p, const struct cfg_ip *ip)
{
	const struct cfg_prefix *addrs = ip->family == AF_INET ? p->ipv4 : p->ipv6;
	unsigned int n = ip->family == AF_INET ? p->n_ipv4 : p->n_ipv6, i;

	for (i = 0; i < n; i++)
		if (cfg_prefix_contains(&addrs[i], ip))
			return &addrs[i];
	return NULL;
}

/* The source of our ARP requests for IP: our address on its subnet, else the first. */
static uint32_t port_source_for(const struct cfg_port *p, uint32_t ip)
{
	struct cfg_ip a = { .family = AF_INET, .v4 = ip };
	const struct cfg_prefix *subnet = port_subnet_of(p, &a);

	if (subnet)
		return subnet->addr.v4;
	return p->n_ipv4 ? p->ipv4[0].addr.v4 : 0;
}

/* The network or broadcast address of one of the port's subnets (below /31, where
 * both exist). RFC 1812 5.3.5.2: directed broadcasts are not forwarded by default. */
static bool is_subnet_edge(const struct cfg_port *p, uint32_t ip)
{
	unsigned int i;

	for (i = 0; i < p->n_ipv4; i++) {
		const struct cfg_prefix *a = &p->ipv4[i];
		uint32_t host_mask = a->len ? UINT32_MAX >> a->len : UINT32_MAX;

		if (a->len < 31 && (ip & ~host_mask) == (a->addr.v4 & ~host_mask) &&
		    ((ip & host_mask) == 0 || (ip & host_mask) == host_mask))
			return true;
	}
	return false;
}

/* Whether IP is the network or broadcast address of a subnet of any port. */
static bool subnet_edge_anywhere(const struct control *c, uint32_t ip)
{
	unsigned int p;

	for (p = 0; p < c->cfg->n_ports; p++)
		if (is_subnet_edge(&c->cfg->ports[p], ip))
			return true;
	return false;
}

/* The entry for IP; with IP NULL, a free one. */
static struct pending *pending_find(struct control *c, const struct cfg_ip *ip)
{
	unsigned int i;

	for (i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &c->pending[i];

		if (ip ? cfg_ip_equal(&p->ip, ip) : !p->ip.family)
			return p;
	}
	return NULL;
}

static struct cfg_ip ip4(uint32_t host_order)
{
	struct cfg_ip a = { .family = AF_INET, .v4 = host_order };

	return a;
}

static struct cfg_ip ip6(const uint8_t *addr)
{
	struct cfg_ip a = { .family = AF_INET6 };

	memcpy(a.v6, addr, 16);
	return a;
}

/* ---- sending ---- */

static void arp_fill(struct rte_arp_hdr *arp, uint16_t op, const struct rte_ether_addr *sha,
		     uint32_t sip, const struct rte_ether_addr *tha, uint32_t tip)
{
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *sha;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	arp->arp_data.arp_tha = *tha;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
}

/* RFC 826: "who has IP" from our address on that subnet, broadcast or (a probe of an
 * entry we have) to TO. */
static void arp_request_send(struct control *c, uint16_t port, uint32_t ip,
			     const struct rte_ether_addr *to)
{
	const struct rte_ether_addr *mac = &c->dp->ports[port].mac;
	static const struct rte_ether_addr zero, bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);
	struct rte_ether_hdr *eth;

	if (!m)
		return; /* the next retry asks again */
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	eth->dst_addr = to ? *to : bcast;
	eth->src_addr = *mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp_fill((struct rte_arp_hdr *)(eth + 1), RTE_ARP_OP_REQUEST, mac,
		 port_source_for(&c->cfg->ports[port], ip), &zero, ip);
	c->stats.generated++;
	c->stats.arp_requests++;
	inject(c, m, port);
}

static void ns_send(struct control *c, uint16_t port, const uint8_t target[16],
		    const struct rte_ether_addr *to);

/* Ask who has IP: to everyone, or (a probe) to the MAC we have for it. */
static void solicit_send(struct control *c, uint16_t port, const struct cfg_ip *ip,
			 const struct rte_ether_addr *to)
{
	if (ip->family == AF_INET)
		arp_request_send(c, port, ip->v4, to);
	else
		ns_send(c, port, ip->v6, to);
}

/* Send a held or late packet to MAC: the rewrite a worker would have done. */
static void forward_to(struct control *c, struct rte_mbuf *m, uint16_t port,
		       const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN > c->cfg->ports[port].mtu)
		return too_big(c, m, port, mac); /* held before its size was looked at */
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		pkt_ipv4_ttl_dec((struct rte_ipv4_hdr *)(eth + 1));
	else
		((struct rte_ipv6_hdr *)(eth + 1))->hop_limits--;
	eth->dst_addr = *mac;
	eth->src_addr = c->dp->ports[port].mac;
	c->stats.released++;
	inject(c, m, port);
}

/* ---- neighbours ---- */

static void pending_release(struct control *c, struct pending *p, const struct rte_ether_addr *mac)
{
	unsigned int i;

	for (i = 0; i < p->n_held; i++)
		forward_to(c, p->held[i], p->port, mac);
	memset(p, 0, sizeof(*p));
}

static void pending_fail(struct control *c, struct pending *p)
{
	unsigned int i;

	for (i = 0; i < p->n_held; i++) {
		/* RFC 1812 4.3.3.1, RFC 4443 3.1: unreachable for what was not delivered. */
		if (p->ip.family == AF_INET)
			error_send(c, p->held[i], ICMP4_DEST_UNREACH, ICMP4_HOST_UNREACH, 0);
		else
			error_send(c, p->held[i], ICMP6_DEST_UNREACH, ICMP6_ADDR_UNREACH, 0);
		drop(c, p->held[i], DROP_UNRESOLVED);
	}
	memset(p, 0, sizeof(*p));
}

/* Whether an unsolicited ARP request or neighbour solicitation may still add an entry:
 * not in the last quarter of the room, kept for the neighbours dpfwd resolves itself,
 * so that any host on a link cannot fill the table with made-up senders. */
static bool may_learn_unsolicited(const struct control *c)
{
	return route_neighbour_room(c->rt) > c->cfg->slow_path.neighbours / 4;
}

/* IP on PORT is at MAC: tell the tables and send what waited for it. */
static void neighbour_learn(struct control *c, uint16_t port, const struct cfg_ip *ip,
			    const struct rte_ether_addr *mac)
{
	struct pending *p = pending_find(c, ip);

	if (route_neighbour_learn(c->rt, ip, port, mac) > 0)
		c->stats.neighbours_learned++;
	if (p)
		pending_release(c, p, mac);
}

/* The MAC a punt for next hop NH_IDX, going to IP, can use right away, if the tables
 * know it by now (the next hop's own only while it is still IP's: a neighbour's slot
 * may have been reclaimed and given to another since the punt). */
static const struct rte_ether_addr *resolved_mac(struct control *c, uint32_t nh_idx,
						const struct cfg_ip *ip)
{
	const struct route_table *rt = c->rt;
	const struct nexthop *nh = &rt->nh[nh_idx];

	if (__atomic_load_n(&nh->type, __ATOMIC_ACQUIRE) == NH_FORWARD &&
	    cfg_ip_equal(&rt->nh_meta[nh_idx].ip, ip))
		return &nh->dst_mac;
	nh = route_neighbour_find(rt, ip);
	return nh && nh->type == NH_FORWARD ? &nh->dst_mac : NULL;
}

/* Whom a packet punted for next hop NH_IDX waits for: a gateway's address, or its own
 * destination for a connected one or a neighbour entry (learned, or a slot reclaimed
 * since: the packet, not the slot, still knows whom it is for). */
static struct cfg_ip punt_target(const struct control *c, const struct rte_mbuf *m,
				 uint32_t nh_idx)
{
	const struct nexthop_meta *meta = &c->rt->nh_meta[nh_idx];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (c->rt->nh[nh_idx].type != NH_CONNECTED && !meta->learned && meta->ip.family)
		return meta->ip;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return ip4(rte_be_to_cpu_32(((const struct rte_ipv4_hdr *)(eth + 1))->dst_addr));
	return ip6(((const struct rte_ipv6_hdr *)(eth + 1))->dst_addr);
}

/* The port a packet punted for next hop NH_IDX, going to TARGET (punt_target), leaves
 * by: the next hop's, unless that was a neighbour's slot reclaimed since (free, or
 * another neighbour's, maybe on another link): then the port of the longest subnet
 * holding TARGET, as routing has it. */
static uint16_t punt_port(const struct control *c, uint32_t nh_idx, const struct cfg_ip *target)
{
	const struct nexthop_meta *meta = &c->rt->nh_meta[nh_idx];
	const struct nexthop *nh = &c->rt->nh[nh_idx];
	int port;

	if (nh->type == NH_CONNECTED || cfg_ip_equal(&meta->ip, target) ||
	    (!meta->learned && meta->ip.family))
		return nh->port;
	port = config_connected_port(c->cfg, target, -1);
	return port >= 0 ? (uint16_t)port : nh->port;
}

/* A packet whose next hop has no MAC yet: hold it and ask (RFC 1812 3.3.2). */
static void handle_resolve(struct control *c, struct rte_mbuf *m)
{
	const struct route_table *rt = c->rt;
	uint32_t nh_idx = punt_meta_nh(m);
	const struct nexthop *nh = &rt->nh[nh_idx];
	struct cfg_ip target = punt_target(c, m, nh_idx);
	const struct rte_ether_addr *mac;
	struct pending *p;

	if (nh->type == NH_CONNECTED && target.family == AF_INET &&
	    is_subnet_edge(&c->cfg->ports[nh->port], target.v4))
		return drop(c, m, DROP_DIRECTED_BCAST);
	mac = resolved_mac(c, nh_idx, &target);
	if (mac)
		return forward_to(c, m, punt_port(c, nh_idx, &target), mac);
	p = pending_find(c, &target);
	if (!p) {
		p = pending_find(c, NULL);
		if (!p)
			return drop(c, m, DROP_HOLD_FULL);
		p->ip = target;
		p->port = punt_port(c, nh_idx, &target);
		p->tries = 1;
		p->next_tsc = rte_rdtsc() + c->arp_interval_tsc;
		solicit_send(c, p->port, &target, NULL);
	}
	if (p->n_held == CONTROL_HOLD_MAX)
		return drop(c, m, DROP_HOLD_FULL);
	p->held[p->n_held++] = m;
}

/* RFC 826 "packet reception", for Ethernet/IPv4 only. */
static void handle_arp(struct control *c, struct rte_mbuf *m)
{
	uint16_t port = punt_meta_port(m);
	const struct cfg_port *cp = &c->cfg->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_ether_addr sender;
	uint32_t sip, tip;
	bool for_us;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return drop(c, m, DROP_ARP_INVALID);
	sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
	/* Ours, or a NAT outside address on this port's link (proxy ARP for it). */
	for_us = port_has_ipv4(cp, tip) ||
		 (c->cfg->nat.enabled && nat_is_outside_address(c->cfg, tip) &&
		  port_subnet_of(cp, &(struct cfg_ip){ .family = AF_INET, .v4 = tip }));
	/* Merge: update a sender we know (or wait for); add it if the packet is for us.
	 * A gratuitous ARP (sip == tip) therefore only refreshes existing entries. */
	if (sip && !port_has_ipv4(cp, sip) && rte_is_unicast_ether_addr(&arp->arp_data.arp_sha)) {
		struct cfg_ip a = ip4(sip);

		if (port_subnet_of(cp, &a) &&
		    ((for_us && sip != tip && may_learn_unsolicited(c)) ||
		     route_neighbour_find(c->rt, &a) || pending_find(c, &a)))
			neighbour_learn(c, port, &a, &arp->arp_data.arp_sha);
	}
	if (!for_us || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
		return consume(c, m);
	/* Answer in place: the request becomes the reply. */
	sender = arp->arp_data.arp_sha;
	arp_fill(arp, RTE_ARP_OP_REPLY, &c->dp->ports[port].mac, tip, &sender, sip);
	eth->dst_addr = sender;
	eth->src_addr = c->dp->ports[port].mac;
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - sizeof(*eth) - sizeof(*arp));
	c->stats.consumed++;
	c->stats.generated++;
	c->stats.arp_replies++;
	inject(c, m, port);
}

/* The ICMP checksum over the whole message, which may span chained segments. */
static bool icmp4_cksum_ok(const struct rte_mbuf *m, uint16_t ip_hlen, uint32_t len)
{
	uint16_t sum;

	return rte_raw_cksum_mbuf(m, RTE_ETHER_HDR_LEN + ip_hlen, len, &sum) == 0 &&
	       sum == 0xffff;
}

/* Both echo replies go back to the sender's MAC out of the port the request came in. */
static void echo_reply_send(struct control *c, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t port = punt_meta_port(m);

	eth->dst_addr = eth->src_addr;
	eth->src_addr = c->dp->ports[port].mac;
	c->stats.consumed++;
	c->stats.generated++;
	c->stats.echo_replies++;
	inject(c, m, port);
}

/* RFC 792 echo: the request becomes the reply. UDP gets port unreachable (RFC 1812
 * 4.3.2.1: we run no UDP service); anything else for us is dropped. */
static void local_ipv4(struct control *c, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							   RTE_ETHER_HDR_LEN);
	uint16_t ip_len = rte_be_to_cpu_16(ip->total_length), hlen = rte_ipv4_hdr_len(ip);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hlen);
	rte_be32_t addr;

	if (ip->next_proto_id == IPPROTO_UDP)
		error_send(c, m, ICMP4_DEST_UNREACH, ICMP4_PORT_UNREACH, 0);
	if (ip->next_proto_id != IPPROTO_ICMP || ip_len < hlen + sizeof(*icmp) ||
	    pkt_ipv4_is_fragment(ip) ||
	    icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0 ||
	    !icmp4_cksum_ok(m, hlen, ip_len - hlen))
		return drop(c, m, DROP_LOCAL);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = pkt_cksum_update16(icmp->icmp_cksum,
					      RTE_BE16(RTE_IP_ICMP_ECHO_REQUEST << 8),
					      RTE_BE16(RTE_IP_ICMP_ECHO_REPLY << 8));
	addr = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = addr;
	ip->time_to_live = 64;
	ip->hdr_checksum = pkt_ipv4_header_checksum(ip);
	echo_reply_send(c, m);
}

/* RFC 4443 4.1/4.2 echo; UDP gets port unreachable (3.1 code 4). Swapping source and
 * destination leaves the pseudo-header sum as it was: only the type word changes. */
static void local_ipv6(struct control *c, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *,
							   RTE_ETHER_HDR_LEN);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint8_t addr[16];

	/* ND to one of our global addresses passed validation and came as local traffic. */
	if (ip->proto == IPPROTO_ICMPV6 && rte_be_to_cpu_16(ip->payload_len) >= 1 &&
	    icmp->icmp_type >= 133 && icmp->icmp_type <= 137)
		return handle_nd(c, m);
	if (ip->proto == IPPROTO_UDP)
		error_send(c, m, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH, 0);
	if (ip->proto != IPPROTO_ICMPV6 || rte_be_to_cpu_16(ip->payload_len) < sizeof(*icmp) ||
	    icmp->icmp_type != ICMP6_ECHO_REQUEST || icmp->icmp_code != 0 ||
	    rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, RTE_ETHER_HDR_LEN + sizeof(*ip)) != 0)
		return drop(c, m, DROP_LOCAL);
	icmp->icmp_type = ICMP6_ECHO_REPLY;
	icmp->icmp_cksum = pkt_cksum_update16(icmp->icmp_cksum, RTE_BE16(ICMP6_ECHO_REQUEST << 8),
					      RTE_BE16(ICMP6_ECHO_REPLY << 8));
	memcpy(addr, ip->src_addr, 16);
	memcpy(ip->src_addr, ip->dst_addr, 16);
	memcpy(ip->dst_addr, addr, 16);
	ip->hop_limits = 64;
	echo_reply_send(c, m);
}

static void handle_local(struct control *c, struct rte_mbuf *m)
{
	if (is_ipv4(m))
		return local_ipv4(c, m);
	local_ipv6(c, m);
}

/* ---- IPv6 neighbour discovery (RFC 4861) ---- */

#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_NA_ROUTER 0x80000000u
#define ND_NA_SOLICITED 0x40000000u
#define ND_NA_OVERRIDE 0x20000000u
#define ND_MSG_LEN 24 /* type, code, checksum, flags/reserved, target */

/* fe80::/64 with the modified EUI-64 of MAC (RFC 4291 2.5.1 and appendix A). */
static void link_local_of(const struct rte_ether_addr *mac, uint8_t out[16])
{
	const uint8_t *b = mac->addr_bytes;

	memset(out, 0, 16);
	out[0] = 0xfe;
	out[1] = 0x80;
	out[8] = b[0] ^ 0x02;
	out[9] = b[1];
	out[10] = b[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = b[3];
	out[14] = b[4];
	out[15] = b[5];
}

static bool port_owns_ipv6(struct control *c, uint16_t port, const uint8_t *ip)
{
	const struct cfg_port *cp = &c->cfg->ports[port];
	uint8_t ll[16];
	unsigned int i;

	for (i = 0; i < cp->n_ipv6; i++)
		if (!memcmp(cp->ipv6[i].addr.v6, ip, 16))
			return true;
	link_local_of(&c->dp->ports[port].mac, ll);
	return !memcmp(ll, ip, 16);
}


/* Our address to solicit IP from: the one on its subnet, else the link-local. */
static void port_source6_for(struct control *c, uint16_t port, const uint8_t *ip,
			     uint8_t out[16])
{
	struct cfg_ip a = ip6(ip);
	const struct cfg_prefix *subnet = port_subnet_of(&c->cfg->ports[port], &a);

	if (subnet)
		memcpy(out, subnet->addr.v6, 16);
	else
		link_local_of(&c->dp->ports[port].mac, out);
}

/* An NS or NA with one link-layer address option (ours), hop limit 255 (RFC 4861 7.1). */
static void nd_send(struct control *c, uint16_t port, uint8_t type, uint32_t flags,
		    const uint8_t src[16], const uint8_t dst[16],
		    const struct rte_ether_addr *eth_dst, const uint8_t target[16])
{
	const struct rte_ether_addr *mac = &c->dp->ports[port].mac;
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip;
	uint8_t *nd;

	if (!m)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*ip) +
							 ND_MSG_LEN + 8);
	eth->dst_addr = *eth_dst;
	eth->src_addr = *mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip = (struct rte_ipv6_hdr *)(eth + 1);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = RTE_BE16(ND_MSG_LEN + 8);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	nd = (uint8_t *)(ip + 1);
	memset(nd, 0, ND_MSG_LEN + 8);
	nd[0] = type;
	flags = rte_cpu_to_be_32(flags);
	memcpy(nd + 4, &flags, 4);
	memcpy(nd + 8, target, 16);
	nd[24] = type == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	nd[25] = 1; /* in units of 8 bytes */
	memcpy(nd + 26, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	*(uint16_t *)(nd + 2) = rte_ipv6_udptcp_cksum(ip, nd);
	c->stats.generated++;
	inject(c, m, port);
}

/* RFC 4861 7.2.2: to the target's solicited-node group ff02::1:ffXX:XXXX, or (a probe,
 * 7.3.3) to the target itself at TO. */
static void ns_send(struct control *c, uint16_t port, const uint8_t target[16],
		    const struct rte_ether_addr *to)
{
	uint8_t dst[16] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff }, src[16];
	struct rte_ether_addr eth_dst = { { 0x33, 0x33, 0xff, target[13], target[14], target[15] } };

	memcpy(dst + 13, target + 13, 3);
	if (to) {
		memcpy(dst, target, 16);
		eth_dst = *to;
	}
	port_source6_for(c, port, target, src);
	c->stats.neighbour_solicitations++;
	nd_send(c, port, ND_NS, 0, src, dst, &eth_dst, target);
}

/* The link-layer address option of TYPE in an ND message, or NULL; false when an
 * option is malformed (RFC 4861 7.1.1: length 0). */
static bool nd_option(const uint8_t *opt, uint32_t len, uint8_t type,
		      const struct rte_ether_addr **mac)
{
	*mac = NULL;
	while (len >= 2) {
		uint32_t olen = opt[1] * 8u;

		if (olen == 0 || olen > len)
			return false;
		if (opt[0] == type && olen >= 8)
			*mac = (const struct rte_ether_addr *)(opt + 2);
		opt += olen;
		len -= olen;
	}
	return true;
}

/* RFC 4861 7.2.3-7.2.5: answer solicitations for our addresses, learn from them and
 * from advertisements for entries that exist or are being resolved. */
static void handle_nd(struct control *c, struct rte_mbuf *m)
{
	static const uint8_t unspecified[16], all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	static const uint8_t solicited_node[13] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };
	uint16_t port = punt_meta_port(m);
	const struct cfg_port *cp = &c->cfg->ports[port];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(eth + 1);
	const uint8_t *nd = (const uint8_t *)(ip + 1), *target = nd + 8;
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	const struct rte_ether_addr *lladdr;
	struct cfg_ip who;
	bool dad;

	if (nd[0] != ND_NS && nd[0] != ND_NA)
		return consume(c, m); /* router solicitations, adverts, redirects: ignored */
	if (plen < ND_MSG_LEN || rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*ip) + plen ||
	    ip->hop_limits != 255 || nd[1] != 0 ||
	    rte_ipv6_udptcp_cksum_verify(ip, nd) != 0 ||
	    !nd_option(nd + ND_MSG_LEN, plen - ND_MSG_LEN,
		       nd[0] == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA, &lladdr))
		return drop(c, m, DROP_ND_INVALID);
	if (nd[0] == ND_NA) {
		const struct nexthop *known;
		struct rte_ether_addr mac;

		who = ip6(target);
		known = route_neighbour_find(c->rt, &who);
		/* RFC 4861 7.2.5: an answer to a unicast probe may leave the address out; it
		 * still confirms the entry we have. */
		if (!lladdr && known && known->type == NH_FORWARD) {
			mac = known->dst_mac;
			lladdr = &mac;
		}
		/* Without the override flag, an answer does not replace a MAC we have. */
		if (!(nd[4] & ND_NA_OVERRIDE >> 24) && lladdr && known &&
		    known->type == NH_FORWARD && !rte_is_same_ether_addr(lladdr, &known->dst_mac))
			return consume(c, m);
		if (lladdr && port_subnet_of(cp, &who) && (known || pending_find(c, &who)))
			neighbour_learn(c, port, &who, lladdr);
		return consume(c, m);
	}
	if (!port_owns_ipv6(c, port, target))
		return consume(c, m);
	dad = !memcmp(ip->src_addr, unspecified, 16);
	/* RFC 4861 7.1.1: a duplicate address check goes to the solicited-node multicast
	 * address (ff02::1:ffXX:XXXX) without a source link-layer address. */
	if (dad && (memcmp(ip->dst_addr, solicited_node, sizeof(solicited_node)) || lladdr))
		return drop(c, m, DROP_ND_INVALID);
	who = ip6(ip->src_addr);
	if (!dad && lladdr && port_subnet_of(cp, &who) && !port_owns_ipv6(c, port, ip->src_addr) &&
	    (may_learn_unsolicited(c) || route_neighbour_find(c->rt, &who) ||
	     pending_find(c, &who)))
		neighbour_learn(c, port, &who, lladdr);
	/* A duplicate address check gets its answer on all-nodes, unsolicited. */
	nd_send(c, port, ND_NA, ND_NA_ROUTER | ND_NA_OVERRIDE | (dad ? 0 : ND_NA_SOLICITED),
		target, dad ? all_nodes : ip->src_addr,
		dad ? &(struct rte_ether_addr){ { 0x33, 0x33, 0, 0, 0, 1 } }
		    : (lladdr ? lladdr : &eth->src_addr),
		target);
	c->stats.neighbour_adverts++;
	consume(c, m);
}

void control_punt_handle(struct control *c, struct rte_mbuf *m)
{
	switch (punt_meta_kind(m)) {
	case PUNT_ARP:
		return handle_arp(c, m);
	case PUNT_LOCAL:
		return handle_local(c, m);
	case PUNT_RESOLVE:
		return handle_resolve(c, m);
	case PUNT_ERROR:
		return handle_error(c, m);
	case PUNT_TOO_BIG:
		return handle_too_big(c, m);
	case PUNT_TOO_BIG_ERROR: /* an ICMP error, no MAC needed */
		return too_big(c, m, (uint16_t)punt_meta_nh(m), NULL);
	case PUNT_ND:
		return handle_nd(c, m);
	}
	drop(c, m, DROP_LOCAL);
}

/* The slots of expired neighbours go back to the table once it is half full, at most
 * once a second: each reclaim makes every NAPT session look its route up afresh. */
static void neighbours_reclaim(struct control *c, uint64_t now)
{
	if (route_neighbour_room(c->rt) > c->cfg->slow_path.neighbours / 2 ||
	    now - c->last_reclaim_tsc < rte_get_tsc_hz())
		return;
	c->last_reclaim_tsc = now;
	route_neighbours_reclaim(c->rt, c->dp->qsbr);
}

/* Learned neighbours without news for neighbour_timeout are probed (unicast, once a
 * second, 3 times) while still in use; without an answer they turn unresolved (the
 * next packet for them starts a fresh resolution), and their slots are reclaimed for
 * other neighbours. Static entries never age. */
static void neighbours_age(struct control *c, uint64_t now)
{
	struct route_table *rt = c->rt;
	uint32_t i;

	for (i = 0; i < rt->n_nh; i++) {
		struct nexthop_meta *meta = &rt->nh_meta[i];
		const struct nexthop *nh = &rt->nh[i];

		if (!meta->learned || nh->type != NH_FORWARD ||
		    now - meta->confirmed_tsc < c->reachable_tsc + meta->probes * c->arp_interval_tsc)
			continue;
		if (meta->probes == CONTROL_ARP_TRIES) {
			route_neighbour_expire(rt, &meta->ip);
			c->stats.neighbours_expired++;
			continue;
		}
		meta->probes++;
		solicit_send(c, nh->port, &meta->ip, &nh->dst_mac);
	}
	neighbours_reclaim(c, now);
}

/* Ask again, or give up on neighbours that did not answer. */
static void timers_run(struct control *c, uint64_t now)
{
	unsigned int i;

	if (now - c->last_aging_tsc >= c->arp_interval_tsc / 10) {
		c->last_aging_tsc = now;
		neighbours_age(c, now);
	}

	for (i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &c->pending[i];

		if (!p->ip.family || now < p->next_tsc)
			continue;
		if (p->tries == CONTROL_ARP_TRIES) {
			pending_fail(c, p);
			continue;
		}
		p->tries++;
		p->next_tsc = now + c->arp_interval_tsc;
		solicit_send(c, p->port, &p->ip, NULL);
	}
}

unsigned int control_punts_handle(struct control *c)
{
	struct rte_mbuf *pkts[64];
	unsigned int w, n, i, total = 0;

	for (w = 0; w < c->dp->n_workers; w++) {
		n = rte_ring_sc_dequeue_burst(c->dp->workers[w]->punt, (void **)pkts, RTE_DIM(pkts),
					      NULL);
		for (i = 0; i < n; i++)
			control_punt_handle(c, pkts[i]);
		total += n;
	}
	return total;
}

void control_poll(struct control *c)
{
	control_punts_handle(c);
	timers_run(c, rte_rdtsc());
	control_capture_poll(c);
	control_calls_serve(c);
}

void control_drain(struct control *c)
{
	unsigned int i;

	control_calls_close(c);
	control_capture_stop(c);
	while (control_punts_handle(c))
		;
	for (i = 0; i < PENDING_MAX; i++)
		if (c->pending[i].ip.family)
			pending_fail(c, &c->pending[i]);
}

const struct control_stats *control_stats_get(const struct control *c)
{
	return &c->stats;
}

/* NAPT state lives as long as the program (sessions outlive reloads): one table per
 * worker, and a ring from every worker to every other for packets whose mapping that
 * one owns. */
static int napt_create(struct control *c)
{
	struct dataplane *dp = c->dp;
	char name[RTE_RING_NAMESIZE];
	unsigned int i, j;

	for (i = 0; i < dp->n_workers; i++) {
		struct worker *w = dp->workers[i];

		w->napt = napt_table_create(i, dp->n_workers, c->cfg->nat.max_sessions,
					    (int)rte_socket_id());
		w->handoff_from = rte_calloc("handoff", dp->n_workers, sizeof(void *), 0);
		if (!w->napt || !w->handoff_from)
			return -1;
		for (j = 0; j < dp->n_workers; j++) {
			if (j == i)
				continue;
			snprintf(name, sizeof(name), "handoff%u_%u", j, i);
			w->handoff_from[j] = rte_ring_create(name, CONTROL_RING_SIZE,
							     rte_socket_id(),
							     RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!w->handoff_from[j])
				return -1;
		}
	}
	return 0;
}

void control_finish(struct control *c)
{
	struct dataplane *dp = c->dp;
	unsigned int i, j;
	struct rte_mbuf *m;

	for (i = 0; i < dp->n_workers; i++) {
		struct worker *w = dp->workers[i];

		/* Punted by the workers' last hand-overs, after control_drain. */
		while (w->punt && rte_ring_dequeue(w->punt, (void **)&m) == 0)
			drop(c, m, DROP_PUNT_FULL);
		for (j = 0; w->handoff_from && j < dp->n_workers; j++)
			while (w->handoff_from[j] &&
			       rte_ring_dequeue(w->handoff_from[j], (void **)&m) == 0)
				drop(c, m, DROP_NAT_HANDOFF_FULL);
	}
}

static void napt_free(struct control *c)
{
	struct dataplane *dp = c->dp;
	unsigned int i, j;

	control_finish(c);
	for (i = 0; i < dp->n_workers; i++) {
		struct worker *w = dp->workers[i];

		for (j = 0; w->handoff_from && j < dp->n_workers; j++)
			rte_ring_free(w->handoff_from[j]);
		rte_free(w->handoff_from);
		w->handoff_from = NULL;
		napt_table_free(w->napt);
		w->napt = NULL;
	}
}

void control_apply_settings(struct control *c)
{
	const struct cfg_slow_path *sp = &c->cfg->slow_path;

	c->reachable_tsc = rte_get_tsc_hz() * sp->neighbour_timeout;
	icmp_bucket_init(&c->icmp_bucket, sp->icmp_rate, sp->icmp_burst);
}

struct control *control_create(struct dataplane *dp, struct config *cfg,
			       struct rte_mempool *pool)
{
	struct control *c = rte_zmalloc("control", sizeof(*c), RTE_CACHE_LINE_SIZE);
	unsigned int i;
	char name[RTE_RING_NAMESIZE];

	if (!c)
		return NULL;
	c->dp = dp;
	c->cfg = cfg;
	c->rt = dp->routes;
	c->pool = pool;
	c->arp_interval_tsc = rte_get_tsc_hz() * CONTROL_ARP_INTERVAL_MS / 1000;
	control_apply_settings(c);
	if (control_calls_init(c)) {
		rte_free(c);
		return NULL;
	}
	/* Before any worker reads the table: NAPT's route cache keys on it. */
	c->rt->generation = (uint32_t)c->info.generation + 1;
	control_info_loaded(c);
	control_telemetry_register(c);
	for (i = 0; i < dp->n_workers; i++) {
		struct worker *w = dp->workers[i];

		snprintf(name, sizeof(name), "punt%u", i);
		w->punt = rte_ring_create(name, CONTROL_RING_SIZE, rte_socket_id(),
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "inject%u", i);
		w->inject = rte_ring_create(name, CONTROL_RING_SIZE, rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "capture%u", i);
		w->capture = rte_ring_create(name, CONTROL_RING_SIZE, rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!w->punt || !w->inject || !w->capture) {
			control_free(c);
			return NULL;
		}
	}
	if (cfg->nat.enabled && napt_create(c)) {
		control_free(c);
		return NULL;
	}
	dp->extra_stats = &c->counters;
	dp->capture.port = -1;
	return c;
}

void control_free(struct control *c)
{
	unsigned int i;

	if (!c)
		return;
	control_calls_close(c); /* first: a telemetry command waiting on us returns */
	control_telemetry_unregister();
	control_capture_free(c);
	napt_free(c);
	for (i = 0; i < c->dp->n_workers; i++) {
		struct rte_mbuf *m;

		/* Normally empty by now (control_drain, workers' last drain). */
		while (c->dp->workers[i]->punt &&
		       rte_ring_dequeue(c->dp->workers[i]->punt, (void **)&m) == 0)
			drop(c, m, DROP_PUNT_FULL);
		while (c->dp->workers[i]->inject &&
		       rte_ring_dequeue(c->dp->workers[i]->inject, (void **)&m) == 0)
			drop(c, m, DROP_TX_FULL);
		rte_ring_free(c->dp->workers[i]->punt);
		rte_ring_free(c->dp->workers[i]->inject);
		rte_ring_free(c->dp->workers[i]->capture);
		c->dp->workers[i]->punt = c->dp->workers[i]->inject = NULL;
		c->dp->workers[i]->capture = NULL;
	}
	c->dp->extra_stats = NULL;
	control_calls_destroy(c);
	rte_free(c);
}
