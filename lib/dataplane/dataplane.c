/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop. One burst goes through three passes: classify (L2 and IP checks,
 * sorting packets by family), one bulk FIB lookup per family, then next hop,
 * rewrite and transmit. With NAPT, the packets that may belong to established
 * sessions are noted after classify, and those whose session knows its next hop are
 * translated together and sent before the lookup, which the rest go through. Other
 * IPv4 packets NAT may translate are set aside in the last pass for the burst's NAT
 * stages, which take them one by one.
 * Per-burst arrays live on the stack; nothing here allocates or locks.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_memcpy.h>
#include <rte_pcapng.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dataplane.h"
#include "nat.h"

#define PREFETCH_AHEAD 4
#define HEADERS_MAX (RTE_ETHER_HDR_LEN + 60u + 8u) /* the most of a frame the path reads */

static const char *const drop_names[DROP_REASON_COUNT] = {
	[DROP_NONE] = "none",
#define DROP_NAME(id, name, help) [DROP_##id] = name,
	PKT_CHECK_LIST(DROP_NAME) DP_DROP_LIST(DROP_NAME)
#undef DROP_NAME
};

static const char *const drop_helps[DROP_REASON_COUNT] = {
	[DROP_NONE] = "",
#define DROP_HELP(id, name, help) [DROP_##id] = help,
	PKT_CHECK_LIST(DROP_HELP) DP_DROP_LIST(DROP_HELP)
#undef DROP_HELP
};

const char *drop_reason_name(enum drop_reason reason)
{
	return (unsigned int)reason < DROP_REASON_COUNT ? drop_names[reason] : "?";
}

const char *drop_reason_help(enum drop_reason reason)
{
	return (unsigned int)reason < DROP_REASON_COUNT ? drop_helps[reason] : "?";
}

/* What a next hop that cannot forward means as a drop. */
static const uint8_t nh_drop_reason[] = {
	[NH_NO_ROUTE] = DROP_NO_ROUTE,     [NH_FORWARD] = DROP_NONE,
	[NH_CONNECTED] = DROP_UNRESOLVED,  [NH_UNRESOLVED] = DROP_UNRESOLVED, /* punted first */
	[NH_LOCAL] = DROP_LOCAL,           [NH_BLACKHOLE] = DROP_BLACKHOLE,
	[NH_UNREACHABLE] = DROP_UNREACHABLE, [NH_NAT] = DROP_NAT_NO_RULE,
};

/* One family's packets of a burst, in arrival order. */
struct family_batch {
	uint16_t n;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	uint64_t fib_value[DP_MAX_BURST];
};

/* IPv4 packets set aside for the burst's NAT stage, with their next hop; LEARN: the
 * next hop is its route lookup's (not of an address NAT changed on the way in), one
 * NAPT's route cache may keep. */
struct nat_batch {
	uint16_t n;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	uint32_t nh[DP_MAX_BURST];
	bool learn[DP_MAX_BURST];
};

#define NAT_ORIG_MAX 128 /* IP header, L4 ports and checksum; an ICMP error's quote */

struct burst {
	struct worker *w;
	const struct route_table *rt;
	uint64_t now; /* TSC at the start of the loop: NAT session times */
	uint32_t cache_tag; /* rt's, read once: what NAPT's route cache is valid for */
	uint16_t in_port;
	uint16_t n_drop, n_punt;
	struct rte_mbuf *drop[DP_MAX_BURST];
	struct rte_mbuf *punt[DP_MAX_BURST];
	struct family_batch v4, v6;
	/* Towards a NAT outside address (in), leaving through a port with NAT rules (out). */
	struct nat_batch nat_in, nat_out;
	bool translated; /* routing what the NAT stage just translated: NAT again is a loop */
	/* The packet NAT towards the inside is translating, and its leading bytes as they
	 * arrived: an ICMP error about it must quote those (nat_in_forward). */
	struct rte_mbuf *orig_m;
	uint16_t orig_len;
	uint8_t orig[NAT_ORIG_MAX];
	struct napt_candidates napt; /* NAPT's fast path: noted after classify */
	uint32_t dst4[DP_MAX_BURST];
	uint8_t dst6[DP_MAX_BURST][16];
};

static inline void drop(struct burst *b, struct rte_mbuf *m, enum drop_reason reason)
{
	b->w->stats.drops[reason]++;
	b->drop[b->n_drop++] = m;
}

static inline void punt(struct burst *b, struct rte_mbuf *m, enum punt_kind kind,
			uint16_t in_port, uint32_t nh)
{
	punt_meta_set(m, kind, in_port, nh);
	punt_meta_set_generation(m, b->rt->generation);
	b->punt[b->n_punt++] = m;
}

static inline struct rte_ipv4_hdr *ipv4_hdr(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
}

static inline struct rte_ipv6_hdr *ipv6_hdr(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
}

/* Cut Ethernet padding so that what we transmit is exactly the IP packet. */
static void trim_chain(struct rte_mbuf *m, uint32_t new_len)
{
	struct rte_mbuf *seg = m;
	uint32_t left = new_len;
	uint16_t n_segs = 1;

	while (left > seg->data_len) {
		left -= seg->data_len;
		seg = seg->next;
		n_segs++;
	}
	seg->data_len = (uint16_t)left;
	rte_pktmbuf_free(seg->next); /* the segments that held only padding */
	seg->next = NULL;
	m->nb_segs = n_segs;
	m->pkt_len = new_len;
}

static inline void trim_to(struct rte_mbuf *m, uint32_t ip_len)
{
	uint32_t l3_len = rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN;

	/* rte_pktmbuf_trim only cuts within the last segment. */
	if (unlikely(l3_len > ip_len) &&
	    rte_pktmbuf_trim(m, (uint16_t)(l3_len - ip_len)) != 0)
		trim_chain(m, RTE_ETHER_HDR_LEN + ip_len);
}

/* ICMPv6 neighbour discovery (RS, RA, NS, NA, redirect: types 133-137) right after the
 * fixed header. Validation refuses most of it (link-local sources, multicast or
 * link-local destinations), so it is looked for only there, off the forwarding path;
 * ND to a global address of ours reaches the slow path as local traffic. */
static inline bool is_nd(const struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *,
								 RTE_ETHER_HDR_LEN);
	uint8_t type;

	if (ip->proto != IPPROTO_ICMPV6 ||
	    rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + sizeof(*ip) + 1)
		return false;
	type = *(const uint8_t *)(ip + 1);
	return type >= 133 && type <= 137;
}

/* An expired TTL / hop limit is the last check, so such a packet is otherwise valid:
 * the slow path drops it and answers with time exceeded. */
static __rte_noinline void check_failed(struct burst *b, struct rte_mbuf *m, enum pkt_check check)
{
	if (check == PKT_IPV4_TTL)
		trim_to(m, rte_be_to_cpu_16(ipv4_hdr(m)->total_length));
	else if (check == PKT_IPV6_HOP_LIMIT)
		trim_to(m, sizeof(struct rte_ipv6_hdr) + rte_be_to_cpu_16(ipv6_hdr(m)->payload_len));
	else if ((check == PKT_IPV6_SOURCE || check == PKT_IPV6_DESTINATION) && is_nd(m))
		return punt(b, m, PUNT_ND, b->in_port, 0);
	else
		return drop(b, m, DROP_FROM_CHECK(check));
	punt(b, m, PUNT_ERROR, b->in_port, DROP_FROM_CHECK(check));
}

static __rte_always_inline void accept_ipv4(struct burst *b, struct rte_mbuf *m,
					       const struct dp_port *in)
{
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	uint64_t cksum = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	enum pkt_check check;
	uint32_t ip_len;

	if (unlikely(in->rx_ipv4_cksum && cksum == RTE_MBUF_F_RX_IP_CKSUM_BAD))
		return drop(b, m, DROP_IPV4_CHECKSUM);
	check = pkt_ipv4_check(ip, rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN,
			       cksum == RTE_MBUF_F_RX_IP_CKSUM_GOOD, &ip_len);
	if (unlikely(check != PKT_OK))
		return check_failed(b, m, check);
	trim_to(m, ip_len);
	b->dst4[b->v4.n] = rte_be_to_cpu_32(ip->dst_addr);
	b->v4.pkts[b->v4.n++] = m;
}

static __rte_always_inline void accept_ipv6(struct burst *b, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = ipv6_hdr(m);
	enum pkt_check check;
	uint32_t ip_len;

	check = pkt_ipv6_check(ip, rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN, &ip_len);
	if (unlikely(check != PKT_OK))
		return check_failed(b, m, check);
	trim_to(m, ip_len);
	memcpy(b->dst6[b->v6.n], ip->dst_addr, 16);
	b->v6.pkts[b->v6.n++] = m;
}

/* Frames not for our MAC: ARP broadcasts and IPv6 multicast ND go to the slow path,
 * the rest are dropped. */
static __rte_noinline void classify_other_l2(struct burst *b, struct rte_mbuf *m,
					     const struct rte_ether_hdr *eth)
{
	if (!rte_is_multicast_ether_addr(&eth->dst_addr))
		return drop(b, m, DROP_L2_OTHER_HOST);
	if (rte_is_broadcast_ether_addr(&eth->dst_addr) &&
	    eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return punt(b, m, PUNT_ARP, b->in_port, 0);
	if (eth->dst_addr.addr_bytes[0] == 0x33 && eth->dst_addr.addr_bytes[1] == 0x33 &&
	    eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6) && is_nd(m))
		return punt(b, m, PUNT_ND, b->in_port, 0);
	return drop(b, m, DROP_L2_MULTICAST);
}

/* Frames for our MAC that are neither IPv4 nor IPv6: ARP goes to the slow path. */
static __rte_noinline void classify_other_type(struct burst *b, struct rte_mbuf *m,
					       rte_be16_t ether_type)
{
	switch (ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		return punt(b, m, PUNT_ARP, b->in_port, 0);
	case RTE_BE16(RTE_ETHER_TYPE_VLAN):
	case RTE_BE16(RTE_ETHER_TYPE_QINQ):
		return drop(b, m, DROP_L2_VLAN);
	default:
		return drop(b, m, DROP_L2_ETHERTYPE);
	}
}

/* The ingress port is b->in_port: the slow paths read it from there, so that the
 * per-packet loop does not carry it. IPv4 and IPv6 are tested first and alone; every
 * other ethertype costs its own out-of-line call. */
static __rte_always_inline void classify(struct burst *b, struct rte_mbuf *m,
					    const struct dp_port *in)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	rte_be16_t ether_type;

	if (unlikely(rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN))
		return drop(b, m, DROP_L2_RUNT);
	/* Headers are read from the first segment: a chained frame must hold them there. */
	if (unlikely(m->nb_segs > 1) &&
	    rte_pktmbuf_data_len(m) < RTE_MIN(rte_pktmbuf_pkt_len(m), HEADERS_MAX))
		return drop(b, m, DROP_L2_SPLIT);
	if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr, &in->mac)))
		return classify_other_l2(b, m, eth);
	ether_type = eth->ether_type;
	if (likely(ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)))
		return accept_ipv4(b, m, in);
	if (likely(ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)))
		return accept_ipv6(b, m);
	return classify_other_type(b, m, ether_type);
}

/* Per-flow hash for ECMP: CRC32 over the addresses, protocol and (for unfragmented
 * TCP/UDP) ports, so that every packet of a flow, and every fragment of a packet, takes
 * the same path. Not the NIC's RSS hash: that one exists only with several queues and
 * differs between NICs, and a flow's path must not depend on either. */
static inline uint32_t flow_hash_ipv4(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = ipv4_hdr((struct rte_mbuf *)(uintptr_t)m);
	uint32_t h;

	h = rte_hash_crc_4byte(ip->src_addr, ip->dst_addr);
	h = rte_hash_crc_4byte(ip->next_proto_id, h);
	if ((ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) &&
	    !pkt_ipv4_is_fragment(ip)) {
		const uint8_t *l4 = (const uint8_t *)ip + rte_ipv4_hdr_len(ip);
		uint32_t ports;

		if (rte_ipv4_hdr_len(ip) + 4u <= rte_be_to_cpu_16(ip->total_length)) {
			memcpy(&ports, l4, sizeof(ports));
			h = rte_hash_crc_4byte(ports, h);
		}
	}
	return h;
}

static inline uint32_t flow_hash_ipv6(const struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip = ipv6_hdr((struct rte_mbuf *)(uintptr_t)m);
	uint32_t h;

	h = route_key_hash(ip->src_addr, 32, ip->proto); /* source and destination */
	if ((ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP) &&
	    rte_be_to_cpu_16(ip->payload_len) >= 4) {
		uint32_t ports;

		memcpy(&ports, ip + 1, sizeof(ports));
		h = rte_hash_crc_4byte(ports, h);
	}
	return h;
}

/* Copies of PKTS for the live capture; a copy that finds no room is counted, and the
 * packets themselves go on untouched. */
static __rte_noinline void capture_copy(struct worker *w, uint16_t port, uint16_t queue,
					struct rte_mbuf *const *pkts, uint16_t n,
					enum rte_pcapng_direction dir)
{
	const struct dp_capture *cap = &w->dp->capture;
	struct rte_mbuf *copies[DP_MAX_BURST];
	uint64_t now = rte_get_tsc_cycles();
	uint16_t i, n_copies = 0;
	unsigned int queued;

	for (i = 0; i < n; i++) {
		copies[n_copies] = rte_pcapng_copy(w->dp->ports[port].port_id, queue, pkts[i],
						   cap->pool, cap->snaplen, now, dir);
		if (copies[n_copies])
			n_copies++;
	}
	queued = rte_ring_sp_enqueue_burst(w->capture, (void **)copies, n_copies, NULL);
	w->stats.captured += queued;
	w->stats.capture_dropped += n - queued;
	if (queued < n_copies)
		rte_pktmbuf_free_bulk(&copies[queued], n_copies - queued);
}

static inline bool capturing(const struct worker *w, uint16_t port)
{
	return unlikely(__atomic_load_n(&w->dp->capture.port, __ATOMIC_ACQUIRE) == port);
}

static inline void tx_flush(struct worker *w, uint16_t port)
{
	struct tx_buffer *buf = &w->tx[port];
	struct port_counters *pc = &w->stats.port[port];
	uint16_t sent, i;

	if (capturing(w, port))
		capture_copy(w, port, w->txq, buf->pkts, buf->n, RTE_PCAPNG_DIRECTION_OUT);
	sent = rte_eth_tx_burst(w->dp->ports[port].port_id, w->txq, buf->pkts, buf->n);
	if (unlikely(sent < buf->n)) {
		for (i = sent; i < buf->n; i++)
			pc->tx_bytes -= rte_pktmbuf_pkt_len(buf->pkts[i]);
		pc->tx_packets -= buf->n - sent;
		w->stats.drops[DROP_TX_FULL] += buf->n - sent;
		rte_pktmbuf_free_bulk(&buf->pkts[sent], buf->n - sent);
	}
	buf->n = 0;
}

/* Counted as sent when buffered; tx_flush takes back what the NIC refused. */
static inline void tx_enqueue(struct worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct tx_buffer *buf = &w->tx[port];
	struct port_counters *pc = &w->stats.port[port];

	pc->tx_packets++;
	pc->tx_bytes += rte_pktmbuf_pkt_len(m);
	buf->pkts[buf->n++] = m;
	if (unlikely(buf->n >= w->dp->burst))
		tx_flush(w, port);
}

/* Destination and source MAC are adjacent in both the header and the next hop. */
static inline void rewrite_l2(struct rte_mbuf *m, const struct nexthop *nh)
{
	memcpy(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), &nh->dst_mac,
	       2 * RTE_ETHER_ADDR_LEN);
}

static inline void forward_one(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4);
static void forward_batch(struct burst *b, struct family_batch *f, bool v4);

static inline void nat_defer(struct nat_batch *q, struct rte_mbuf *m, uint32_t nh_idx,
			     bool learn)
{
	q->learn[q->n] = learn;
	q->nh[q->n] = nh_idx;
	q->pkts[q->n++] = m;
}

/* Whether M, over the MTU of the next hop it goes to, may not be fragmented (IPv4 with
 * DF, or IPv6): the slow path answers it with an ICMP error instead, which must quote
 * M as it arrived (RFC 5508 4.2: the sender must recognise its packet), before NAT. */
static inline bool dont_fragment(struct rte_mbuf *m, bool v4)
{
	return !v4 || (ipv4_hdr(m)->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
}

/* M, over the MTU of next hop NH_IDX (as it arrived if it may not be fragmented), to the
 * slow path: fragmented for that next hop, or answered with an ICMP error. */
static void punt_too_big(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4)
{
	if (dont_fragment(m, v4))
		punt(b, m, PUNT_TOO_BIG_ERROR, b->in_port, b->rt->nh[nh_idx].port);
	else
		punt(b, m, PUNT_TOO_BIG, b->in_port, nh_idx);
}

static inline bool over_mtu(const struct burst *b, const struct rte_mbuf *m, uint32_t nh_idx)
{
	return rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN > b->rt->nh[nh_idx].mtu;
}

/* M, if NAT towards the inside is translating it (nat_in_forward), back as it arrived:
 * an ICMP error about it must quote that. */
static inline void nat_in_untranslate(struct burst *b, struct rte_mbuf *m)
{
	if (m == b->orig_m)
		rte_memcpy(rte_pktmbuf_mtod_offset(m, void *, RTE_ETHER_HDR_LEN), b->orig,
			   b->orig_len);
}

/* M goes to next hop NH_IDX, NAT done: over the egress MTU to the slow path, else TTL
 * or hop limit, MACs and the TX buffer. */
static __rte_always_inline void forward_tail(struct burst *b, struct rte_mbuf *m,
					     uint32_t nh_idx, bool v4)
{
	const struct nexthop *nh = &b->rt->nh[nh_idx];

	if (unlikely(over_mtu(b, m, nh_idx))) {
		if (dont_fragment(m, v4))
			nat_in_untranslate(b, m);
		return punt_too_big(b, m, nh_idx, v4);
	}
	if (v4)
		pkt_ipv4_ttl_dec(ipv4_hdr(m));
	else
		ipv6_hdr(m)->hop_limits--; /* no checksum in the IPv6 header */
	rewrite_l2(m, nh);
	tx_enqueue(b->w, nh->port, m);
}

/* The bytes of M's IP packet that the first segment holds: what NAT may touch. */
static inline uint32_t ip_reach(const struct rte_mbuf *m)
{
	return rte_pktmbuf_data_len(m) - RTE_ETHER_HDR_LEN;
}

static const uint8_t napt_drop_reason[] = {
	[NAPT_DROP_TABLE_FULL] = DROP_NAT_TABLE_FULL,
	[NAPT_DROP_PORTS_EXHAUSTED] = DROP_NAT_PORTS_EXHAUSTED,
	[NAPT_DROP_FILTERED] = DROP_NAT_FILTERED,
	[NAPT_DROP_UNTRANSLATABLE] = DROP_NAT_UNTRANSLATABLE,
};

/* A handed-over packet that is a first fragment already translated: the receiver
 * records it for the later fragments (the original destination, or going out, source,
 * in hash.fdir.hi). */
#define HANDOFF_FRAGMENT_RECORD UINT32_MAX
#define HANDOFF_FRAGMENT_RECORD_OUT (UINT32_MAX - 1)

/* M belongs to a NAPT mapping another worker owns: it goes there whole, before its
 * TTL was touched, and that worker processes it from the start (in_port kept). */
static void handoff_marked(struct burst *b, struct rte_mbuf *m, unsigned int owner,
			   uint32_t mark)
{
	struct worker *to = b->w->dp->workers[owner];

	m->port = b->in_port;
	m->hash.usr = mark;
	if (rte_ring_sp_enqueue(to->handoff_from[b->w->id], m) != 0)
		drop(b, m, DROP_NAT_HANDOFF_FULL);
}

static void handoff(struct burst *b, struct rte_mbuf *m, unsigned int owner)
{
	handoff_marked(b, m, owner, 0);
}

/* NAPT for a source that rule R covers; false when M left (dropped, handed off). */
static bool napt_source(struct burst *b, struct rte_mbuf *m, const struct nat_snat *r)
{
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	unsigned int owner;
	int rc;

	if (pkt_ipv4_is_later_fragment(ip)) { /* its ports went with the first fragment */
		napt_fragment_out(r, ip);
		return true;
	}
	if (!napt_owner(ip, ip_reach(m), true, b->w->dp->n_workers, &owner)) {
		drop(b, m, DROP_NAT_UNTRANSLATABLE);
		return false;
	}
	if (owner != b->w->id) {
		handoff(b, m, owner);
		return false;
	}
	rc = napt_out(b->w->napt, b->rt->nat, r, ip, ip_reach(m), b->now);
	if (rc == 0)
		return true;
	drop(b, m, napt_drop_reason[-rc]);
	return false;
}

/* The snat rule that covers the source of IP (IP_LEN bytes), a packet to an outside
 * address of ours that came in on IN_PORT, if it is an inside host's hairpin. None if IN_PORT is the
 * outside link of the rule whose outside address it is for (inbound traffic of that
 * rule: a reply from a DMZ host to the LAN's pool on the DMZ, say), nor if a rule that
 * covers the source has IN_PORT as its out (there an inside source is forged, and
 * taking it for a hairpin would let anyone outside make mappings), nor if the source is
 * an outside address (one NAT gave already: a packet handed to another worker, when
 * `from` covers the outside addresses). */
static const struct nat_snat *hairpin_rule(const struct nat_rules *nr,
					   const struct rte_ipv4_hdr *ip, uint32_t ip_len,
					   uint16_t in_port)
{
	const struct nat_snat *own = NULL;
	uint32_t a = rte_be_to_cpu_32(ip->src_addr);
	unsigned int i;

	if (nat_ipv4_outside_on(nr, ip, ip_len, in_port))
		return NULL;
	for (i = 0; i < nr->n_snat; i++)
		if ((a & nr->snat[i].from_mask) == nr->snat[i].from) {
			if (nr->snat[i].out == in_port)
				return NULL;
			own = own ? own : &nr->snat[i];
		}
	return own && !nat_ipv4_outside_address(nr, ip->src_addr) ? own : NULL;
}

static bool nh_leaves_by(const struct nexthop *nh, uint16_t port)
{
	uint8_t type = __atomic_load_n(&nh->type, __ATOMIC_ACQUIRE);

	return (type == NH_FORWARD || type == NH_CONNECTED || type == NH_UNRESOLVED) &&
	       nh->port == port;
}

/* Whether the route back to SRC leaves by IN_PORT (strict reverse path, RFC 3704 2.2):
 * an inside source that arrives anywhere else is forged. */
static bool source_behind(const struct route_table *rt, rte_be32_t src, uint16_t in_port)
{
	uint32_t a = rte_be_to_cpu_32(src);
	const struct ecmp_group *g;
	uint64_t v;
	unsigned int i;

	rte_fib_lookup_bulk(rt->fib4, &a, &v, 1);
	if (!(v & ROUTE_NH_ECMP))
		return nh_leaves_by(&rt->nh[v], in_port);
	g = &rt->ecmp[v & ~ROUTE_NH_ECMP];
	for (i = 0; i < g->n; i++)
		if (nh_leaves_by(&rt->nh[g->nh[i]], in_port))
			return true;
	return false;
}

/* Whether IP, from IN_PORT to an outside address of ours, is an inside host's hairpin
 * (RFC 4787 REQ-9): one whose snat rule says so (*OWN: hairpin_rule), or one of a port
 * forward's server or a 1:1 host, which takes its rule's outside endpoint (or, a first
 * fragment, is recorded for its later ones) whatever snat covers it (*OWN NULL if none
 * does); either only where the source lives (source_behind): forged elsewhere, it would
 * get an inside host's mapping or outside endpoint, and through its filter. */
static bool inside_hairpin(const struct route_table *rt, const struct rte_ipv4_hdr *ip,
			   uint32_t ip_len, uint16_t in_port, const struct nat_snat **own)
{
	const struct nat_rules *nr = rt->nat;

	*own = hairpin_rule(nr, ip, ip_len, in_port);
	if (!*own && (nat_ipv4_outside_on(nr, ip, ip_len, in_port) ||
		      !nat_ipv4_stateless_host(nr, ip->src_addr, in_port)))
		return false;
	if (source_behind(rt, ip->src_addr, in_port))
		return true;
	*own = NULL;
	return false;
}

/* Whether a later fragment first looked at SINCE has waited its time by NOW. */
static inline bool frag_wait_over(uint64_t since, uint64_t now)
{
	return now - since >= rte_get_tsc_hz() / 1000 * DP_FRAG_WAIT_MS;
}

/* M, a later fragment without a record, waits in W's list (as it arrived, on in_port)
 * if it came less than DP_FRAG_WAIT_MS ago and there is room. */
static bool frag_wait_park(struct burst *b, struct rte_mbuf *m)
{
	struct frag_wait *fw = &b->w->frag_wait;
	uint64_t since = b->w->frag_retry_since ? b->w->frag_retry_since : b->now;

	if (frag_wait_over(since, b->now) || fw->n == DP_FRAG_WAIT_MAX)
		return false;
	m->port = b->in_port;
	fw->since[fw->n] = since;
	fw->pkts[fw->n++] = m;
	return true;
}

/* M, a later fragment, goes to the worker that keeps its datagram's records (-1: it
 * went there) and is translated there by its first fragment's record going OUTBOUND or
 * in: 1, or 0 without a record. */
static int later_fragment_take(struct burst *b, struct rte_mbuf *m, bool outbound)
{
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	unsigned int owner = napt_fragment_owner(ip, ip->src_addr, ip->dst_addr,
						 b->w->dp->n_workers);

	if (owner != b->w->id) {
		handoff(b, m, owner);
		return -1;
	}
	return napt_fragment_take(b->w->napt, ip, outbound, b->now);
}

/* A later fragment to a pool address or a port forward's: translated by its first
 * fragment's record. Without one, it waits a little: with several workers, the first
 * fragment goes through its mapping's owner before its record is made, and may arrive
 * after it. Returns as below. */
static int napt_later_fragment_in(struct burst *b, struct rte_mbuf *m)
{
	int rc = later_fragment_take(b, m, false);

	if (rc)
		return rc;
	if (!frag_wait_park(b, m))
		drop(b, m, DROP_NAT_FRAGMENT_UNMATCHED);
	return -1;
}

/* M, the first fragment of a datagram, was just translated going OUTBOUND (from source
 * ORIG) or towards the inside (from destination ORIG): the worker that will see its
 * later fragments learns what they become. False if M went to that worker, translated,
 * to be recorded there (and to go on from there). */
static bool fragment_record(struct burst *b, struct rte_mbuf *m, rte_be32_t orig, bool outbound)
{
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	unsigned int owner = napt_fragment_owner(ip, outbound ? orig : ip->src_addr,
						 outbound ? ip->dst_addr : orig, b->w->dp->n_workers);

	if (owner == b->w->id) {
		napt_fragment_record(b->w->napt, ip, orig, outbound, b->now);
		return true;
	}
	m->hash.fdir.hi = orig;
	handoff_marked(b, m, owner,
		       outbound ? HANDOFF_FRAGMENT_RECORD_OUT : HANDOFF_FRAGMENT_RECORD);
	return false;
}

/* The stateless rules for M's source (1:1, port forward replies), going out through
 * PORT, or with HAIRPIN to one of NAT's outside addresses. A port forward's server's
 * first fragment is recorded (on the worker that keeps its datagram's records: handed
 * there translated), here if a rule translates it, else where it leaves
 * (napt_source_recorded), and its later ones, without ports to match the forward by,
 * go to that worker and take the record. A later one without a record, as it arrived
 * (AS_ARRIVED), waits a little for its first fragment, which may have been overtaken;
 * then, or not as it arrived, it goes on as any other source's (NAPT's pairing, or
 * untranslated). -1 if M went to another worker or waits. */
static int nat_ipv4_source_recorded(struct burst *b, struct rte_mbuf *m, uint16_t port,
				    bool hairpin, bool as_arrived)
{
	const struct nat_rules *nr = b->rt->nat;
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	rte_be32_t orig_src = ip->src_addr;
	bool server_fragment = pkt_ipv4_is_fragment(ip) && nat_ipv4_forward_server(nr, orig_src);
	enum nat_result r;

	if (server_fragment && pkt_ipv4_is_later_fragment(ip)) {
		int rc = later_fragment_take(b, m, true);

		if (rc)
			return rc < 0 ? -1 : NAT_TRANSLATED;
		if (as_arrived && frag_wait_park(b, m))
			return -1;
	}
	r = hairpin ? nat_ipv4_hairpin_source(nr, ip, ip_reach(m))
		    : nat_ipv4_out(nr, ip, ip_reach(m), port);
	/* Translated, its source is no server's any more: it cannot come back here. */
	if (r == NAT_TRANSLATED && server_fragment && !pkt_ipv4_is_later_fragment(ip) &&
	    !fragment_record(b, m, orig_src, true))
		return -1;
	return (int)r;
}

/* NAPT for M's source by rule R (NULL: none covers it, M leaves untranslated) where
 * no stateless rule took it: a port forward's server's first fragment leaving so (a
 * datagram of its own) is recorded too, for its later ones, which would otherwise
 * wait for a record (nat_ipv4_source_recorded). False when M left (dropped, handed
 * off). */
static bool napt_source_recorded(struct burst *b, struct rte_mbuf *m, const struct nat_snat *r)
{
	rte_be32_t orig_src = ipv4_hdr(m)->src_addr;

	if (r && !napt_source(b, m, r))
		return false;
	return !pkt_ipv4_is_first_fragment(ipv4_hdr(m)) ||
	       !nat_ipv4_forward_server(b->rt->nat, orig_src) ||
	       fragment_record(b, m, orig_src, true);
}

/* NAPT towards the inside: 1 translated, 0 no mapping (try the stateless rules), -1
 * M left (dropped, handed to its owner). RFC 4787 REQ-9: a HAIRPIN's inside source is
 * first given its outside endpoint, so that the other inside host sees it as from
 * outside: its 1:1 or port forward one if a rule covers it, else its own NAPT mapping
 * by OWN (see inside_hairpin()). A later fragment takes its first fragment's record
 * (NAPT's or a port forward's), except to a 1:1 address, whose rule takes it whole. */
static int napt_destination(struct burst *b, struct rte_mbuf *m, bool hairpin,
			    const struct nat_snat *own)
{
	struct rte_ipv4_hdr *ip;
	rte_be32_t orig_dst;
	unsigned int owner;
	int rc;

	if (hairpin) {
		rc = nat_ipv4_source_recorded(b, m, 0, true, true);
		if (rc < 0 || (rc == NAT_PASS && !napt_source_recorded(b, m, own)))
			return -1;
	}
	ip = ipv4_hdr(m);
	if (pkt_ipv4_is_later_fragment(ip))
		return nat_ipv4_static_outside(b->rt->nat, ip->dst_addr) ? 0
									: napt_later_fragment_in(b, m);
	/* No mapping but on a pool address, none on a forwarded port: a port forward's
	 * packet stays on this worker. */
	if (!nat_ipv4_in_pool(b->rt->nat, ip->dst_addr) ||
	    nat_ipv4_forward_takes(b->rt->nat, ip, ip_reach(m)) ||
	    !napt_owner(ip, ip_reach(m), false, b->w->dp->n_workers, &owner))
		return 0;
	if (owner != b->w->id) {
		handoff(b, m, owner);
		return -1;
	}
	orig_dst = ip->dst_addr;
	rc = napt_in(b->w->napt, b->rt->nat, ip, ip_reach(m), b->now);
	if (rc == 0)
		return pkt_ipv4_is_first_fragment(ip) && !fragment_record(b, m, orig_dst, false) ? -1 : 1;
	if (rc == NAPT_NO_MAPPING)
		return 0;
	drop(b, m, napt_drop_reason[-rc]);
	return -1;
}

/* The stateless rules towards the inside (1:1, port forwards): a port forward's first
 * fragment is recorded for the later ones, which have no ports to match it by (1:1
 * takes them by address). -1 if M went to the worker that keeps the record. */
static int nat_ipv4_in_recorded(struct burst *b, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = ipv4_hdr(m);
	rte_be32_t orig_dst = ip->dst_addr;
	enum nat_result r = nat_ipv4_in(b->rt->nat, ip, ip_reach(m));

	if (r == NAT_TRANSLATED && pkt_ipv4_is_first_fragment(ip) &&
	    !nat_ipv4_static_outside(b->rt->nat, orig_dst) && !fragment_record(b, m, orig_dst, false))
		return -1;
	return (int)r;
}

static void punt_resolve(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4);

/* The next hop that M, translated towards the inside, takes after the route lookup
 * of its new destination: through its neighbour entry for a connected one (-1 when
 * that is not known: M was handed to the slow path). */
static int64_t nat_in_next_hop(struct burst *b, struct rte_mbuf *m, bool v4)
{
	const struct route_table *rt = b->rt;
	uint64_t value;
	void *data;
	int rc;

	if (v4) {
		uint32_t dst = rte_be_to_cpu_32(ipv4_hdr(m)->dst_addr);

		rte_fib_lookup_bulk(rt->fib4, &dst, &value, 1);
	} else {
		uint8_t dst[1][16];

		memcpy(dst[0], ipv6_hdr(m)->dst_addr, 16);
		rte_fib6_lookup_bulk(rt->fib6, dst, &value, 1);
	}
	if (value & ROUTE_NH_ECMP) /* the flow hash only where a path must be picked */
		value = route_nh_index(rt, value, v4 ? flow_hash_ipv4(m) : flow_hash_ipv6(m));
	if (rt->nh[value].type != NH_CONNECTED)
		return (int64_t)value;
	if (v4) {
		uint32_t dst4 = rte_be_to_cpu_32(ipv4_hdr(m)->dst_addr);

		rc = rte_hash_lookup_data(rt->neigh4, &dst4, &data);
	} else {
		uint8_t dst6[16];

		memcpy(dst6, ipv6_hdr(m)->dst_addr, 16);
		rc = rte_hash_lookup_data(rt->neigh6, dst6, &data);
	}
	if (rc >= 0)
		return (int64_t)(uintptr_t)data;
	punt_resolve(b, m, (uint32_t)value, v4);
	return -1;
}

/* M, refused by NAT: IPv6's (an address NPTv6 cannot map, RFC 6296 3.5) is answered
 * with a parameter problem pointing at the word at fault (PROBLEM), IPv4's dropped. */
static void nat_refuse(struct burst *b, struct rte_mbuf *m, bool v4, uint32_t problem)
{
	if (v4)
		drop(b, m, DROP_NAT_UNTRANSLATABLE);
	else
		punt(b, m, PUNT_ERROR, b->in_port,
		     DROP_NAT_UNTRANSLATABLE | problem << PUNT_ERROR_POINTER_SHIFT);
}

/* Destination NAT (towards the inside): translate, then route by the new destination.
 * Returns false when no rule applied and M is still the caller's. */
static bool nat_in_translate_forward(struct burst *b, struct rte_mbuf *m, bool v4)
{
	const struct route_table *rt = b->rt;
	const struct nexthop *nh;
	enum nat_result r;
	uint32_t problem = 0;
	bool napt = false;
	int64_t nh_idx;

	if (v4 && b->w->napt) {
		const struct nat_snat *own;
		bool pin = inside_hairpin(rt, ipv4_hdr(m), ip_reach(m), b->in_port, &own);
		int rc = napt_destination(b, m, pin, own);

		if (rc == 0) /* no NAPT mapping: the stateless rules' */
			rc = nat_ipv4_in_recorded(b, m);
		else
			napt = rc > 0 && !pin;
		if (rc < 0)
			return true; /* dropped or handed off */
		r = (enum nat_result)rc; /* NAPT's 1 is NAT_TRANSLATED */
	} else if (v4) {
		r = nat_ipv4_in(rt->nat, ipv4_hdr(m), ip_reach(m));
	} else {
		r = nat_ipv6_in(rt->nat, ipv6_hdr(m), ip_reach(m), b->in_port, &problem);
	}
	if (r == NAT_PASS)
		return false;
	if (r == NAT_UNTRANSLATABLE) {
		nat_refuse(b, m, v4, problem);
		return true;
	}
	nh_idx = nat_in_next_hop(b, m, v4);
	if (nh_idx < 0)
		return true; /* waits for its neighbour in the slow path */
	nh = &rt->nh[nh_idx];
	/* Translated to yet another NAT or local address: a loop in the rules. */
	if (nh->type == NH_NAT || nh->type == NH_LOCAL) {
		drop(b, m, DROP_NAT_NO_RULE);
		return true;
	}
	/* NAPT's later packets of this session may go straight to this next hop, if
	 * nothing but transmission happens to them there (no source NAT on the way out). */
	if (napt && __atomic_load_n(&nh->type, __ATOMIC_ACQUIRE) == NH_FORWARD &&
	    !(rt->nat_out_ports >> nh->port & 1))
		napt_route_learn(b->w->napt, ipv4_hdr(m), ip_reach(m), true, b->cache_tag,
				 (uint32_t)nh_idx);
	b->translated = true;
	forward_one(b, m, (uint32_t)nh_idx, v4);
	b->translated = false;
	return true;
}

/* nat_in_translate_forward, with M's leading bytes kept until it left: if it is too big
 * for where it goes, the ICMP error quotes it untranslated. */
static __rte_noinline bool nat_in_forward(struct burst *b, struct rte_mbuf *m, bool v4)
{
	bool taken;

	b->orig_m = m;
	b->orig_len = (uint16_t)RTE_MIN(ip_reach(m), (uint32_t)NAT_ORIG_MAX);
	rte_memcpy(b->orig, rte_pktmbuf_mtod_offset(m, void *, RTE_ETHER_HDR_LEN), b->orig_len);
	taken = nat_in_translate_forward(b, m, v4);
	b->orig_m = NULL;
	return taken;
}

/* Source NAT (towards the outside) on an egress port that has rules; false when M
 * left (dropped, or handed to the worker that owns its mapping). */
static __rte_noinline bool nat_out(struct burst *b, struct rte_mbuf *m, uint16_t port, bool v4)
{
	uint32_t problem = 0;
	enum nat_result r;

	if (v4 && b->w->napt) { /* from punt_resolve, M as it arrived unless NAT took it in */
		int rc = nat_ipv4_source_recorded(b, m, port, false,
						  !b->translated && b->orig_m != m);

		if (rc < 0)
			return false;
		r = (enum nat_result)rc;
	} else if (v4) {
		r = nat_ipv4_out(b->rt->nat, ipv4_hdr(m), ip_reach(m), port);
	} else {
		r = nat_ipv6_out(b->rt->nat, ipv6_hdr(m), ip_reach(m), port, &problem);
	}
	if (r == NAT_UNTRANSLATABLE) {
		nat_refuse(b, m, v4, problem);
		return false;
	}
	if (r == NAT_TRANSLATED || !v4 || !b->w->napt)
		return true;
	return napt_source_recorded(b, m, napt_rule_for(b->rt->nat, ipv4_hdr(m)->src_addr, port));
}

/* ---- NAPT's fast path: established sessions whose route is known, before routing ----
 * After classify, napt_note noted the packets that may belong to sessions; those whose
 * session knows the next hop its packets take (learnt in the NAT stages below, for the
 * route table in use) are translated with one bulk lookup and sent, without a route
 * lookup. The others go on as if there were no fast path. */

_Static_assert(NAPT_CANDIDATES_MAX >= DP_MAX_BURST, "a burst's candidates must fit");

/* Candidate I of C (packet M), translated, goes to NH_IDX: a next hop that took its
 * session's packets before in this route table, so a gateway or a neighbour, whose MAC
 * may have been forgotten since (NH_UNRESOLVED): then the slow path resolves it, as it
 * would for the full path. Too big to go unfragmented: back as it arrived, for the
 * ICMP error. */
static inline void napt_fast_send(struct burst *b, const struct napt_candidates *c,
				  unsigned int i, uint32_t nh_idx)
{
	struct rte_mbuf *m = b->v4.pkts[c->pos[i]];

	if (unlikely(over_mtu(b, m, nh_idx) && dont_fragment(m, true))) {
		napt_untranslate(c, i);
		punt_too_big(b, m, nh_idx, true);
	} else if (likely(__atomic_load_n(&b->rt->nh[nh_idx].type, __ATOMIC_ACQUIRE) ==
			  NH_FORWARD)) {
		forward_tail(b, m, nh_idx, true);
	} else {
		punt(b, m, PUNT_RESOLVE, b->in_port, nh_idx);
	}
}

static __rte_noinline void napt_fast_forward(struct burst *b)
{
	const struct napt_candidates *c = &b->napt;
	uint64_t done[NAPT_CANDIDATES_MAX / 64] = { 0 };
	uint32_t nh[NAPT_CANDIDATES_MAX];
	unsigned int i, w, k, sent = 0;

	napt_translate(b->w->napt, c, b->cache_tag, b->now, done, nh);
	for (w = 0; w * 64 < c->n; w++)
		for (uint64_t bits = done[w]; bits; bits &= bits - 1) {
			i = w * 64 + rte_bsf64(bits);
			napt_fast_send(b, c, i, nh[i]);
			b->v4.pkts[c->pos[i]] = NULL;
			sent++;
		}
	if (!sent)
		return;
	if (sent == b->v4.n) { /* all of them: nothing left for the route lookup */
		b->v4.n = 0;
		return;
	}
	for (i = 0, k = 0; i < b->v4.n; i++) /* the rest, in order, for the route lookup */
		if (b->v4.pkts[i]) {
			b->v4.pkts[k] = b->v4.pkts[i];
			b->dst4[k++] = b->dst4[i];
		}
	b->v4.n = (uint16_t)k;
}

/* ---- the NAT stages: the IPv4 packets NAT may translate that the fast path did
 * not, one by one, after the burst was forwarded ---- */

/* Towards NAT outside addresses: hairpins, fragments, ICMP errors, packets another
 * worker owns or of no session (NAPT makes mappings going out), and stateless rules. */
static __rte_noinline void nat_in_stage(struct burst *b)
{
	struct nat_batch *q = &b->nat_in;
	unsigned int i;

	for (i = 0; i < q->n; i++) {
		if (nat_in_forward(b, q->pkts[i], true))
			continue;
		if (b->rt->nh[q->nh[i]].type == NH_LOCAL) /* no rule took it: the router's */
			punt(b, q->pkts[i], PUNT_LOCAL, b->in_port, q->nh[i]);
		else
			drop(b, q->pkts[i], DROP_NAT_NO_RULE);
	}
	/* Nothing above defers to nat_in again: what is translated twice is dropped. */
	q->n = 0;
}

/* Leaving through ports with NAT rules: stateless rules first, then NAPT for sources
 * an snat rule covers, in arrival order. NAPT's session learns the next hop, for its
 * later packets' fast path. */
static __rte_noinline void nat_out_stage(struct burst *b)
{
	const struct nat_rules *nr = b->rt->nat;
	struct nat_batch *q = &b->nat_out;
	unsigned int i;

	for (i = 0; i < q->n; i++) {
		struct rte_mbuf *m = q->pkts[i];
		uint16_t port = b->rt->nh[q->nh[i]].port;
		const struct nat_snat *rule;
		enum nat_result r = NAT_PASS;

		if (unlikely(over_mtu(b, m, q->nh[i]) && dont_fragment(m, true))) {
			punt_too_big(b, m, q->nh[i], true); /* untranslated */
			continue;
		}

		if (nr->n_static || nr->n_dnat) {
			int rc = nat_ipv4_source_recorded(b, m, port, false, q->learn[i]);

			if (rc < 0)
				continue; /* to the worker that keeps its datagram's record */
			r = (enum nat_result)rc;
		}
		if (r == NAT_UNTRANSLATABLE) {
			drop(b, m, DROP_NAT_UNTRANSLATABLE);
			continue;
		}
		rule = r == NAT_PASS && b->w->napt ? napt_rule_for(nr, ipv4_hdr(m)->src_addr, port)
						   : NULL;
		if (r == NAT_PASS && b->w->napt && !napt_source_recorded(b, m, rule))
			continue; /* dropped, or handed to the worker that owns its mapping */
		if (rule) {
			if (q->learn[i])
				napt_route_learn(b->w->napt, ipv4_hdr(m), ip_reach(m), false,
						 b->cache_tag, q->nh[i]);
		}
		forward_tail(b, m, q->nh[i], true);
	}
	q->n = 0;
}

/* M waits for next hop NH_IDX's MAC in the slow path, which sends it as it is then:
 * NAT translates it before. */
static void punt_resolve(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4)
{
	uint16_t port = b->rt->nh[nh_idx].port;

	if (over_mtu(b, m, nh_idx) && dont_fragment(m, v4)) { /* answered now, untranslated */
		nat_in_untranslate(b, m);
		punt_too_big(b, m, nh_idx, v4);
	} else if (!(b->rt->nat_out_ports >> port & 1) || nat_out(b, m, port, v4)) {
		punt(b, m, PUNT_RESOLVE, b->in_port, nh_idx);
	}
}

/* Whether a NAT rule may take IP, for one of the router's own addresses, inside
 * (arrived on IN_PORT). */
static bool local_nat_in(const struct route_table *rt, const struct rte_ipv4_hdr *ip,
			 uint32_t ip_len, uint16_t in_port)
{
	const struct nat_snat *own;

	return nat_ipv4_to_inside(rt->nat, ip, ip_len,
				  inside_hairpin(rt, ip, ip_len, in_port, &own));
}

/* Next hops that cannot transmit: our own addresses, unresolved neighbours and what
 * deserves an ICMP error go to the slow path, the rest are dropped. Returns
 * true when the next hop was resolved meanwhile and M should go after all. */
static __rte_noinline bool forward_not(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4)
{
	uint8_t type = __atomic_load_n(&b->rt->nh[nh_idx].type, __ATOMIC_ACQUIRE);

	if (type == NH_FORWARD) /* the control thread put its MAC in place first */
		return true;
	if (unlikely(b->translated) && (type == NH_NAT || type == NH_LOCAL)) {
		drop(b, m, DROP_NAT_NO_RULE); /* translated to yet another NAT or local address */
		return false;
	}
	if (b->rt->nat->enabled && (type == NH_NAT || (type == NH_LOCAL && v4 &&
						       local_nat_in(b->rt, ipv4_hdr(m), ip_reach(m),
								    b->in_port)))) {
		if (v4 && b->w->napt) { /* after the out stage made this burst's mappings */
			nat_defer(&b->nat_in, m, nh_idx, false);
			return false;
		}
		if (nat_in_forward(b, m, v4))
			return false;
	}
	if (type == NH_LOCAL) {
		punt(b, m, PUNT_LOCAL, b->in_port, nh_idx);
	} else if (type == NH_UNRESOLVED || type == NH_CONNECTED) {
		punt_resolve(b, m, nh_idx, v4);
	}
	else if (type == NH_NO_ROUTE || type == NH_UNREACHABLE)
		punt(b, m, PUNT_ERROR, b->in_port, nh_drop_reason[type]);
	else
		drop(b, m, nh_drop_reason[type]);
	return false;
}

/* Transmit M to next hop NH_IDX, or hand it on / count why it cannot go.
 * NAT_CHECK false: the caller knows that no egress port of this table has NAT rules
 * (rt->nat_out_ports == 0), and the per-packet test is compiled out. */
static __rte_always_inline void forward_one_nat(struct burst *b, struct rte_mbuf *m,
						uint32_t nh_idx, bool v4, bool nat_check)
{
	const struct nexthop *nh = &b->rt->nh[nh_idx];

	/* Acquire: the control thread completes a next hop's MAC before it stores its
	 * type (release), and the MAC must not be read before the type. On x86 this costs
	 * no instruction, only the compiler's freedom to load the MAC early. */
	if (unlikely(__atomic_load_n(&nh->type, __ATOMIC_ACQUIRE) != NH_FORWARD) &&
	    !forward_not(b, m, nh_idx, v4))
		return;
	/* NAT first: what the slow path fragments or answers must be translated. IPv4
	 * waits for the burst's NAT stage. */
	if (nat_check && unlikely(b->rt->nat_out_ports >> nh->port & 1)) {
		if (v4)
			return nat_defer(&b->nat_out, m, nh_idx, !b->translated);
		if (over_mtu(b, m, nh_idx)) /* IPv6: never fragmented, answered untranslated */
			return punt_too_big(b, m, nh_idx, v4);
		if (!nat_out(b, m, nh->port, v4))
			return;
	}
	forward_tail(b, m, nh_idx, v4);
}

static inline void forward_one(struct burst *b, struct rte_mbuf *m, uint32_t nh_idx, bool v4)
{
	forward_one_nat(b, m, nh_idx, v4, true);
}

/* Destinations on a connected subnet: their own neighbour entries, in bulk. */
static void forward_connected(struct burst *b, struct family_batch *f, const uint16_t *idx,
			      const uint32_t *conn_nh, unsigned int n_idx, bool v4)
{
	const struct rte_hash *neigh = v4 ? b->rt->neigh4 : b->rt->neigh6;
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned int done, i;

	for (done = 0; done < n_idx; done += RTE_HASH_LOOKUP_BULK_MAX) {
		unsigned int n = RTE_MIN(n_idx - done, (unsigned int)RTE_HASH_LOOKUP_BULK_MAX);
		uint64_t hits = 0;

		for (i = 0; i < n; i++)
			keys[i] = v4 ? (const void *)&b->dst4[idx[done + i]]
				     : (const void *)b->dst6[idx[done + i]];
		rte_hash_lookup_bulk_data(neigh, keys, n, &hits, data);
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = f->pkts[idx[done + i]];

			if ((hits >> i) & 1)
				forward_one(b, m, (uint32_t)(uintptr_t)data[i], v4);
			else
				punt_resolve(b, m, conn_nh[done + i], v4);
		}
	}
}

/* FIB values -> next hops -> transmit. ECMP members are picked by flow hash; packets
 * for connected destinations are set aside for one bulk neighbour lookup. */
static __rte_always_inline void forward_batch_loop(struct burst *b, struct family_batch *f,
						   bool v4, bool nat_check)
{
	const struct route_table *rt = b->rt;
	uint16_t conn[DP_MAX_BURST];
	uint32_t conn_nh[DP_MAX_BURST];
	unsigned int i, n_conn = 0;

	for (i = 0; i < f->n; i++) {
		uint64_t v = f->fib_value[i];
		uint32_t hash = 0, nh;

		if (unlikely(v & ROUTE_NH_ECMP))
			hash = v4 ? flow_hash_ipv4(f->pkts[i]) : flow_hash_ipv6(f->pkts[i]);
		nh = route_nh_index(rt, v, hash);
		if (unlikely(rt->nh[nh].type == NH_CONNECTED)) {
			conn_nh[n_conn] = nh;
			conn[n_conn++] = i;
			continue;
		}
		forward_one_nat(b, f->pkts[i], nh, v4, nat_check);
	}
	if (unlikely(n_conn))
		forward_connected(b, f, conn, conn_nh, n_conn, v4);
}

/* Whether any egress port translates is a property of the table set: decided once per
 * batch, so that a router without source NAT pays nothing for it per packet. */
static void forward_batch(struct burst *b, struct family_batch *f, bool v4)
{
	if (b->rt->nat_out_ports)
		forward_batch_loop(b, f, v4, true);
	else
		forward_batch_loop(b, f, v4, false);
}

static void forward_ipv4(struct burst *b)
{
	if (b->napt.n)
		napt_fast_forward(b);
	rte_fib_lookup_bulk(b->rt->fib4, b->dst4, b->v4.fib_value, b->v4.n);
	forward_batch(b, &b->v4, true);
	/* Out first: a hairpinned packet may need the mapping an earlier packet of the
	 * burst makes on its way out. What the in stage translates may leave through a port
	 * with NAT rules: out once more then. */
	if (unlikely(b->nat_out.n))
		nat_out_stage(b);
	if (unlikely(b->nat_in.n)) {
		nat_in_stage(b);
		if (b->nat_out.n)
			nat_out_stage(b);
	}
}

static void forward_ipv6(struct burst *b)
{
	rte_fib6_lookup_bulk(b->rt->fib6, b->dst6, b->v6.fib_value, b->v6.n);
	forward_batch(b, &b->v6, false);
}

/* Hand the burst's slow-path packets over; what the ring cannot take is dropped. */
static void punt_flush(struct burst *b)
{
	unsigned int n = rte_ring_sp_enqueue_burst(b->w->punt, (void **)b->punt, b->n_punt, NULL);

	b->w->stats.punted += n;
	while (n < b->n_punt)
		drop(b, b->punt[n++], DROP_PUNT_FULL);
}

static __rte_always_inline void classify_burst(struct burst *b, struct rte_mbuf **pkts,
						  uint16_t n, const struct dp_port *in, bool handed)
{
	struct port_counters *pc = &b->w->stats.port[b->in_port];
	uint16_t i;

	for (i = 0; i < RTE_MIN(n, PREFETCH_AHEAD); i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		pc->rx_bytes += handed ? 0 : rte_pktmbuf_pkt_len(pkts[i]);
		classify(b, pkts[i], in);
	}
	pc->rx_packets += handed ? 0 : n;
}

/* HANDED: packets another worker received (and counted) and handed over because
 * this worker owns their NAT mapping. */
static __rte_noinline void process_burst(struct worker *w, const struct route_table *rt,
					 const struct dp_rxq *q, struct rte_mbuf **pkts,
					 uint16_t n, uint64_t now, bool handed)
{
	const struct dp_port *in = &w->dp->ports[q->port];
	struct burst b;

	b.w = w;
	b.rt = rt;
	b.cache_tag = route_cache_tag(rt);
	b.now = now;
	b.in_port = q->port;
	b.n_drop = 0;
	b.n_punt = 0;
	b.v4.n = 0;
	b.v6.n = 0;
	b.nat_in.n = 0;
	b.nat_out.n = 0;
	b.translated = false;
	b.orig_m = NULL; /* forward_tail compares every too-big packet with it */
	b.napt.n = 0;
	if (capturing(w, q->port) && !handed)
		capture_copy(w, q->port, q->queue, pkts, n, RTE_PCAPNG_DIRECTION_IN);
	classify_burst(&b, pkts, n, in, handed);
	/* NAPT's fast path: its flow table lines start loading now. */
	if (w->napt && b.v4.n)
		napt_note(w->napt, rt->nat, &b.napt, b.v4.pkts, b.v4.n, RTE_ETHER_HDR_LEN);
	if (b.v4.n)
		forward_ipv4(&b);
	if (b.v6.n)
		forward_ipv6(&b);
	if (unlikely(b.n_punt))
		punt_flush(&b);
	if (b.n_drop)
		rte_pktmbuf_free_bulk(b.drop, b.n_drop);
}

static void flush_all(struct worker *w)
{
	uint16_t p;

	for (p = 0; p < w->dp->n_ports; p++)
		if (w->tx[p].n)
			tx_flush(w, p);
}

/* Packets other workers handed over for NAT mappings this worker owns: processed as
 * if received here, in runs of one ingress port (kept in mbuf->port). */
static void handoff_drain(struct worker *w, const struct route_table *rt, uint64_t now)
{
	struct rte_mbuf *pkts[DP_MAX_BURST];
	unsigned int src, n, i, run;

	for (src = 0; src < w->dp->n_workers; src++) {
		if (src == w->id) /* no ring to itself */
			continue;
		n = rte_ring_sc_dequeue_burst(w->handoff_from[src], (void **)pkts, DP_MAX_BURST,
					      NULL);
		for (i = 0; i < n; i++)
			if (unlikely(pkts[i]->hash.usr == HANDOFF_FRAGMENT_RECORD ||
				     pkts[i]->hash.usr == HANDOFF_FRAGMENT_RECORD_OUT)) {
				napt_fragment_record(w->napt, ipv4_hdr(pkts[i]),
						     pkts[i]->hash.fdir.hi,
						     pkts[i]->hash.usr == HANDOFF_FRAGMENT_RECORD_OUT,
						     now);
				pkts[i]->hash.usr = 0;
			}
		for (i = 0; i < n; i += run) {
			struct dp_rxq q = { .port = pkts[i]->port,
					    .port_id = w->dp->ports[pkts[i]->port].port_id };

			for (run = 1; i + run < n && pkts[i + run]->port == q.port; run++)
				;
			process_burst(w, rt, &q, &pkts[i], (uint16_t)run, now, true);
		}
	}
}

/* The waiting fragments PENDING, processed again from the start, each with the time it
 * has waited: the ones still without a record wait on if their time is not up. */
static void frag_wait_retry(struct worker *w, const struct route_table *rt,
			    const struct frag_wait *pending, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < pending->n; i++) {
		struct rte_mbuf *m = pending->pkts[i];
		struct dp_rxq q = { .port = m->port, .port_id = w->dp->ports[m->port].port_id };

		w->frag_retry_since = pending->since[i];
		process_burst(w, rt, &q, &m, 1, now, true);
	}
	w->frag_retry_since = 0;
}

/* Without a new record since they were last tried: the waiting fragments whose time
 * is up are tried a last time (coming in, they are dropped then; going out from a port
 * forward's server, they go on as any other source's), the others wait on. */
static void frag_wait_expire(struct worker *w, const struct route_table *rt, uint64_t now)
{
	struct frag_wait *fw = &w->frag_wait;
	struct frag_wait over;
	unsigned int i, k = 0;

	over.n = 0;
	for (i = 0; i < fw->n; i++) {
		if (!frag_wait_over(fw->since[i], now)) {
			fw->pkts[k] = fw->pkts[i];
			fw->since[k++] = fw->since[i];
			continue;
		}
		over.pkts[over.n] = fw->pkts[i];
		over.since[over.n++] = fw->since[i];
	}
	fw->n = k;
	if (over.n)
		frag_wait_retry(w, rt, &over, now);
}

/* The later fragments that waited for a record: processed again from the start when a
 * record was made since they were last tried, so that a full list costs a loop little. */
static void frag_wait_drain(struct worker *w, const struct route_table *rt, uint64_t now)
{
	struct frag_wait pending;
	struct napt_stats st;

	napt_stats_get(w->napt, &st);
	if (st.fragments_recorded == w->frag_records_seen)
		return frag_wait_expire(w, rt, now);
	w->frag_records_seen = st.fragments_recorded;
	pending = w->frag_wait;
	w->frag_wait.n = 0;
	frag_wait_retry(w, rt, &pending, now);
}

/* Packets the control thread built or released, transmitted like forwarded ones. */
static unsigned int inject_drain(struct worker *w)
{
	struct rte_mbuf *pkts[DP_MAX_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->inject, (void **)pkts, DP_MAX_BURST, NULL);
	for (i = 0; i < n; i++)
		tx_enqueue(w, pkts[i]->port, pkts[i]);
	return n;
}

int dataplane_worker_main(void *arg)
{
	struct worker *w = arg;
	struct dataplane *dp = w->dp;
	struct rte_mbuf *pkts[DP_MAX_BURST];

	rte_rcu_qsbr_thread_register(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->id);
	while (!dp->stop) {
		/* One table set per loop: a reload publishes a new pointer, and this worker
		 * sees either the old set or the new one, never a mix. */
		const struct route_table *rt = __atomic_load_n(&dp->routes, __ATOMIC_ACQUIRE);
		bool busy = false;
		uint64_t start = rte_rdtsc(), polled = start;
		unsigned int q;

		if (unlikely(dp->rx_stop))
			w->rx_stopped = true;
		for (q = 0; q < w->n_rxq && !w->rx_stopped; q++) {
			const struct dp_rxq *rxq = &w->rxq[q];
			uint16_t n = rte_eth_rx_burst(rxq->port_id, rxq->queue, pkts, dp->rx_burst);

			if (n) {
				w->stats.rx_cycles += rte_rdtsc() - polled;
				process_burst(w, rt, rxq, pkts, n, start, false);
				busy = true;
				polled = rte_rdtsc();
			}
		}
		if (w->napt) {
			handoff_drain(w, rt, start);
			if (unlikely(w->frag_wait.n))
				frag_wait_drain(w, rt, start);
			napt_expire(w->napt, rt->nat, start);
		}
		if (unlikely(!rte_ring_empty(w->inject)))
			inject_drain(w);
		flush_all(w);
		/* Done with this loop's table set: a reload may free it once every worker
		 * has said so. */
		rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
		w->stats.loops++;
		if (busy) {
			w->stats.busy_loops++;
			w->stats.busy_cycles += rte_rdtsc() - start;
		}
	}
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->id);
	while (inject_drain(w)) /* the slow path's last packets */
		;
	flush_all(w);
	w->stats.drops[DROP_NAT_FRAGMENT_UNMATCHED] += w->frag_wait.n; /* their time is up */
	rte_pktmbuf_free_bulk(w->frag_wait.pkts, w->frag_wait.n);
	w->frag_wait.n = 0;
	return 0;
}

void dataplane_stats_sum(const struct dataplane *dp, struct worker_stats *sum)
{
	unsigned int i, j;

	memset(sum, 0, sizeof(*sum));
	if (dp->extra_stats)
		for (j = 0; j < DROP_REASON_COUNT; j++)
			sum->drops[j] += dp->extra_stats->drops[j];
	for (i = 0; i < dp->n_workers; i++) {
		const struct worker_stats *s = &dp->workers[i]->stats;

		for (j = 0; j < DROP_REASON_COUNT; j++)
			sum->drops[j] += s->drops[j];
		for (j = 0; j < dp->n_ports; j++) {
			sum->port[j].rx_packets += s->port[j].rx_packets;
			sum->port[j].rx_bytes += s->port[j].rx_bytes;
			sum->port[j].tx_packets += s->port[j].tx_packets;
			sum->port[j].tx_bytes += s->port[j].tx_bytes;
		}
		sum->punted += s->punted;
		sum->captured += s->captured;
		sum->capture_dropped += s->capture_dropped;
		sum->loops += s->loops;
		sum->busy_loops += s->busy_loops;
		sum->busy_cycles += s->busy_cycles;
		sum->rx_cycles += s->rx_cycles;
	}
}

void dataplane_napt_stats_sum(const struct dataplane *dp, struct napt_stats *sum)
{
	struct napt_stats s;
	unsigned int w;

	memset(sum, 0, sizeof(*sum));
	for (w = 0; w < dp->n_workers; w++) {
		if (!dp->workers[w]->napt)
			continue;
		napt_stats_get(dp->workers[w]->napt, &s);
		sum->sessions += s.sessions;
		sum->mappings += s.mappings;
		sum->sessions_created += s.sessions_created;
		sum->mappings_created += s.mappings_created;
		sum->expired += s.expired;
		sum->table_full += s.table_full;
		sum->ports_exhausted += s.ports_exhausted;
		sum->filtered += s.filtered;
		sum->icmp_errors += s.icmp_errors;
		sum->fragments_unmatched += s.fragments_unmatched;
		sum->fast_path += s.fast_path;
	}
}
