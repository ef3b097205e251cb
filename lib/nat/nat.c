/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stateless NAT: static 1:1, port forwards and NPTv6. Rule tables are built by the
 * control thread and only read by workers.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "icmp_error.h"
#include "nat.h"
#include "pkt.h"

/* A port forward's key: protocol, address and port as they are in the packet. */
struct dnat_key {
	rte_be32_t ip;
	rte_be16_t port;
	uint8_t proto;
	uint8_t zero;
};

/* ---- checksums (RFC 1624) ---- */

/* Where IP's TCP or UDP checksum is, or NULL: another protocol, a non-first
 * fragment, or too short to hold it. */
static uint8_t *l4_cksum(struct rte_ipv4_hdr *ip, uint32_t ip_len)
{
	uint32_t hl = rte_ipv4_hdr_len(ip);
	uint8_t *l4 = (uint8_t *)ip + hl;

	if (pkt_ipv4_is_later_fragment(ip))
		return NULL;
	if (ip->next_proto_id == IPPROTO_TCP && ip_len >= hl + sizeof(struct rte_tcp_hdr))
		return l4 + offsetof(struct rte_tcp_hdr, cksum);
	if (ip->next_proto_id == IPPROTO_UDP && ip_len >= hl + sizeof(struct rte_udp_hdr))
		return l4 + offsetof(struct rte_udp_hdr, dgram_cksum);
	return NULL;
}

/* The TCP/UDP port at OFFSET (0: source, 2: destination), or NULL as above. */
static uint8_t *l4_port(struct rte_ipv4_hdr *ip, uint32_t ip_len, unsigned int offset)
{
	if (!l4_cksum(ip, ip_len))
		return NULL;
	return (uint8_t *)ip + rte_ipv4_hdr_len(ip) + offset;
}

/* A TCP/UDP checksum changes with the data; a zero UDP checksum means "none" and
 * stays zero, and a computed zero is sent as 0xffff (RFC 768). */
static void l4_cksum_update(struct rte_ipv4_hdr *ip, uint8_t *ck, uint32_t old, uint32_t new,
			    bool word32)
{
	bool udp = ip->next_proto_id == IPPROTO_UDP;
	uint16_t sum = pkt_load16(ck);

	if (udp && sum == 0)
		return;
	sum = word32 ? pkt_cksum_update32(sum, old, new)
		     : pkt_cksum_update16(sum, (uint16_t)old, (uint16_t)new);
	pkt_store16(ck, udp && sum == 0 ? 0xffff : sum);
}

/* The address at ADDR (IP's source or destination) becomes NEW (network order);
 * header and TCP/UDP checksums follow. */
static void ipv4_rewrite_addr(struct rte_ipv4_hdr *ip, uint32_t ip_len, uint8_t *addr,
			      rte_be32_t new)
{
	uint8_t *ck = l4_cksum(ip, ip_len);
	uint32_t old = pkt_load32(addr);

	ip->hdr_checksum = pkt_cksum_update32(ip->hdr_checksum, old, new);
	if (ck)
		l4_cksum_update(ip, ck, old, new, true);
	memcpy(addr, &new, sizeof(new));
}

static void ipv4_rewrite_port(struct rte_ipv4_hdr *ip, uint32_t ip_len, uint8_t *port,
			      rte_be16_t new)
{
	l4_cksum_update(ip, l4_cksum(ip, ip_len), pkt_load16(port), new, false);
	pkt_store16(port, new);
}

static uint8_t *src_field(struct rte_ipv4_hdr *ip)
{
	return (uint8_t *)ip + offsetof(struct rte_ipv4_hdr, src_addr);
}

static uint8_t *dst_field(struct rte_ipv4_hdr *ip)
{
	return (uint8_t *)ip + offsetof(struct rte_ipv4_hdr, dst_addr);
}

/* ---- lookups ---- */

static int hash_find(const struct rte_hash *h, const void *key)
{
	void *data;

	if (!h || rte_hash_lookup_data(h, key, &data) < 0)
		return -1;
	return (int)(uintptr_t)data;
}

static int dnat_find(const struct rte_hash *h, uint8_t proto, rte_be32_t ip, rte_be16_t port)
{
	struct dnat_key k = { .ip = ip, .port = port, .proto = proto };

	return hash_find(h, &k);
}

static bool prefix6_match(const uint8_t *addr, const uint8_t *prefix, unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;

	if (memcmp(addr, prefix, bytes))
		return false;
	return !bits || !((addr[bytes] ^ prefix[bytes]) & (uint8_t)(0xff00 >> bits));
}

/* ---- towards the inside ---- */

/* The port forward that takes IP inwards (its destination port at *PORT), or -1. */
static int dnat_in_rule(const struct nat_rules *nr, struct rte_ipv4_hdr *ip, uint32_t ip_len,
			uint8_t **port)
{
	*port = nr->n_dnat ? l4_port(ip, ip_len, 2) : NULL;
	return *port ? dnat_find(nr->dnat_match, ip->next_proto_id, pkt_load32(dst_field(ip)),
				 pkt_load16(*port))
		     : -1;
}

/* The 1:1 rule of IP's destination, or -1. */
static int static_in_rule(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip)
{
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);

	return nr->n_static ? hash_find(nr->static_out, &dst) : -1;
}

/* The port forward in TABLE (dnat_match or dnat_to) of an error's quoted packet's
 * endpoint, its address at ADDR and port at PORT: TCP and UDP only. -1 if none. */
static int quoted_dnat(const struct nat_rules *nr, const struct rte_hash *table,
		       const struct icmp_error_view *e, const uint8_t *addr, const uint8_t *port)
{
	if (!nr->n_dnat || (e->l4.proto != IPPROTO_TCP && e->l4.proto != IPPROTO_UDP))
		return -1;
	return dnat_find(table, e->l4.proto, pkt_load32(addr), pkt_load16(port));
}

/* RFC 5508 4.2 for the stateless rules: an error from outside about a packet a rule
 * translated on its way out quotes it with its outside source; that and the outer
 * destination go back to the inside endpoint. With E: IP's error view. */
static bool error_in(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
		     const struct icmp_error_view *e, bool translate)
{
	uint8_t *src = (uint8_t *)e->inner + offsetof(struct rte_ipv4_hdr, src_addr);
	uint32_t quoted = rte_be_to_cpu_32(pkt_load32(src));
	int i = quoted_dnat(nr, nr->dnat_match, e, src, e->l4.sport);
	rte_be32_t to;

	if (i >= 0) {
		to = rte_cpu_to_be_32(nr->dnat[i].to_ip);
		if (translate)
			icmp_error_rewrite(ip, e, src, e->l4.sport, to,
					   rte_cpu_to_be_16(nr->dnat[i].to_port),
					   offsetof(struct rte_ipv4_hdr, dst_addr), to);
		return true;
	}
	i = nr->n_static ? hash_find(nr->static_out, &quoted) : -1;
	if (i < 0)
		return false;
	to = rte_cpu_to_be_32(nr->statics[i].inside);
	if (translate)
		icmp_error_rewrite(ip, e, src, e->l4.sport, to, pkt_load16(e->l4.sport),
				   offsetof(struct rte_ipv4_hdr, dst_addr), to);
	return true;
}

enum nat_result nat_ipv4_in(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			    uint32_t ip_len)
{
	struct icmp_error_view e;
	uint8_t *port;
	int i;

	if (icmp_error_parse(ip, ip_len, &e) && error_in(nr, ip, &e, true))
		return NAT_TRANSLATED;
	i = dnat_in_rule(nr, ip, ip_len, &port);

	if (i >= 0) {
		ipv4_rewrite_port(ip, ip_len, port, rte_cpu_to_be_16(nr->dnat[i].to_port));
		ipv4_rewrite_addr(ip, ip_len, dst_field(ip), rte_cpu_to_be_32(nr->dnat[i].to_ip));
		return NAT_TRANSLATED;
	}
	i = static_in_rule(nr, ip);
	if (i < 0)
		return NAT_PASS;
	ipv4_rewrite_addr(ip, ip_len, dst_field(ip), rte_cpu_to_be_32(nr->statics[i].inside));
	return NAT_TRANSLATED;
}

bool nat_ipv4_to_inside(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			uint32_t ip_len, bool from_inside)
{
	struct rte_ipv4_hdr *hdr = (struct rte_ipv4_hdr *)(uintptr_t)ip; /* only read */
	struct icmp_error_view e;
	uint8_t *port;

	if (dnat_in_rule(nr, hdr, ip_len, &port) >= 0 || static_in_rule(nr, ip) >= 0 ||
	    (pkt_ipv4_is_later_fragment(ip) && nat_ipv4_forward_address(nr, ip->dst_addr)) ||
	    (icmp_error_parse(hdr, ip_len, &e) && error_in(nr, hdr, &e, false)))
		return true;
	if (nat_ipv4_in_pool(nr, ip->dst_addr)) /* TCP, UDP: a mapping; an error about one */
		return !from_inside || l4_cksum(hdr, ip_len) || icmp_error_parse(hdr, ip_len, &e);
	return false;
}

bool nat_ipv4_forward_takes(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			    uint32_t ip_len)
{
	uint8_t *port;

	return dnat_in_rule(nr, (struct rte_ipv4_hdr *)(uintptr_t)ip, ip_len, &port) >= 0;
}

bool nat_ipv4_outside_address(const struct nat_rules *nr, rte_be32_t ip)
{
	return nr->from_covers_outside &&
	       (nat_ipv4_in_pool(nr, ip) || nat_ipv4_forward_address(nr, ip) ||
		nat_ipv4_static_outside(nr, ip));
}

bool nat_ipv4_outside_on(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			 uint32_t ip_len, uint16_t port)
{
	uint32_t a = rte_be_to_cpu_32(ip->dst_addr);
	unsigned int i;
	uint8_t *l4;
	int k;

	for (i = 0; i < nr->n_snat; i++)
		if (nr->snat[i].out == port &&
		    a - nr->snat[i].pool_first <= nr->snat[i].pool_last - nr->snat[i].pool_first)
			return true;
	/* The forward that takes it (forwards on one routed address may have different
	 * outsides); without ports, any forward of the address. */
	k = dnat_in_rule(nr, (struct rte_ipv4_hdr *)(uintptr_t)ip, ip_len, &l4);
	if (k < 0 && nr->n_dnat)
		k = dnat_find(nr->dnat_match, 0, ip->dst_addr, 0);
	if (k >= 0 && (nr->dnat_port_mask[k] >> port & 1))
		return true;
	k = nr->n_static ? hash_find(nr->static_out, &a) : -1;
	return k >= 0 && (nr->static_port_mask[k] >> port & 1);
}

/* Whether an snat rule's `from` covers an outside address (0.0.0.0/0 does): only then
 * may a source be an outside address NAT gave, to be left alone. */
static bool from_covers_outside(const struct nat_rules *nr)
{
	unsigned int i, j;

	for (i = 0; i < nr->n_snat; i++) {
		const struct nat_snat *r = &nr->snat[i];
		uint32_t last = r->from | ~r->from_mask;

		for (j = 0; j < nr->n_snat; j++)
			if (nr->snat[j].pool_first <= last && nr->snat[j].pool_last >= r->from)
				return true;
		for (j = 0; j < nr->n_dnat; j++)
			if ((nr->dnat[j].match_ip & r->from_mask) == r->from)
				return true;
		for (j = 0; j < nr->n_static; j++)
			if ((nr->statics[j].outside & r->from_mask) == r->from)
				return true;
	}
	return false;
}

bool nat_ipv4_in_pool(const struct nat_rules *nr, rte_be32_t ip)
{
	uint32_t a = rte_be_to_cpu_32(ip);
	unsigned int i;

	for (i = 0; i < nr->n_snat; i++)
		if (a - nr->snat[i].pool_first <= nr->snat[i].pool_last - nr->snat[i].pool_first)
			return true;
	return false;
}

bool nat_ipv4_forward_address(const struct nat_rules *nr, rte_be32_t ip)
{
	return nr->n_dnat && dnat_find(nr->dnat_match, 0, ip, 0) >= 0;
}

bool nat_ipv4_forward_server(const struct nat_rules *nr, rte_be32_t ip)
{
	return nr->n_dnat && dnat_find(nr->dnat_to, 0, ip, 0) >= 0;
}

bool nat_ipv4_static_outside(const struct nat_rules *nr, rte_be32_t ip)
{
	uint32_t a = rte_be_to_cpu_32(ip);

	return nr->n_static && hash_find(nr->static_out, &a) >= 0;
}

bool nat_port_forwarded(const struct nat_rules *nr, rte_be32_t ip, rte_be16_t port)
{
	return nr->n_dnat && (dnat_find(nr->dnat_match, IPPROTO_TCP, ip, port) >= 0 ||
			      dnat_find(nr->dnat_match, IPPROTO_UDP, ip, port) >= 0);
}

/* ---- towards the outside ---- */

/* The other way: an inside endpoint's error about an inbound packet a rule translated
 * quotes it with its inside destination; that becomes the outside endpoint, and the
 * outer source the rule's outside address (as NAPT does, RFC 5508 4.2). */
static bool error_out(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
		      const struct icmp_error_view *e, uint32_t ports)
{
	uint8_t *dst = (uint8_t *)e->inner + offsetof(struct rte_ipv4_hdr, dst_addr);
	uint32_t quoted = rte_be_to_cpu_32(pkt_load32(dst));
	int i = quoted_dnat(nr, nr->dnat_to, e, dst, e->l4.dport);
	rte_be32_t to;

	if (i >= 0 && (nr->dnat_port_mask[i] & ports)) {
		to = rte_cpu_to_be_32(nr->dnat[i].match_ip);
		icmp_error_rewrite(ip, e, dst, e->l4.dport, to,
				   rte_cpu_to_be_16(nr->dnat[i].match_port),
				   offsetof(struct rte_ipv4_hdr, src_addr), to);
		return true;
	}
	i = nr->n_static ? hash_find(nr->static_in, &quoted) : -1;
	if (i < 0 || !(nr->static_port_mask[i] & ports))
		return false;
	to = rte_cpu_to_be_32(nr->statics[i].outside);
	icmp_error_rewrite(ip, e, dst, e->l4.dport, to, pkt_load16(e->l4.dport),
			   offsetof(struct rte_ipv4_hdr, src_addr), to);
	return true;
}

/* A port forward reply or 1:1 source of IP leaving through one of the ports in PORTS
 * (a bit each): its source becomes the rule's outside endpoint. */
static enum nat_result ipv4_out_by(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
				   uint32_t ip_len, uint32_t ports)
{
	uint32_t src = rte_be_to_cpu_32(pkt_load32(src_field(ip)));
	uint8_t *port = nr->n_dnat ? l4_port(ip, ip_len, 0) : NULL;
	int i;

	if (port) {
		i = dnat_find(nr->dnat_to, ip->next_proto_id, pkt_load32(src_field(ip)),
			      pkt_load16(port));
		if (i >= 0 && (nr->dnat_port_mask[i] & ports)) {
			ipv4_rewrite_port(ip, ip_len, port,
					  rte_cpu_to_be_16(nr->dnat[i].match_port));
			ipv4_rewrite_addr(ip, ip_len, src_field(ip),
					  rte_cpu_to_be_32(nr->dnat[i].match_ip));
			return NAT_TRANSLATED;
		}
	}
	i = nr->n_static ? hash_find(nr->static_in, &src) : -1;
	if (i < 0 || !(nr->static_port_mask[i] & ports))
		return NAT_PASS;
	ipv4_rewrite_addr(ip, ip_len, src_field(ip), rte_cpu_to_be_32(nr->statics[i].outside));
	return NAT_TRANSLATED;
}

enum nat_result nat_ipv4_out(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			     uint32_t ip_len, uint16_t out_port)
{
	struct icmp_error_view e;

	if (icmp_error_parse(ip, ip_len, &e) && error_out(nr, ip, &e, UINT32_C(1) << out_port))
		return NAT_TRANSLATED;
	return ipv4_out_by(nr, ip, ip_len, UINT32_C(1) << out_port);
}

enum nat_result nat_ipv4_hairpin_source(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
					uint32_t ip_len)
{
	struct icmp_error_view e;

	if (icmp_error_parse(ip, ip_len, &e) && error_out(nr, ip, &e, UINT32_MAX))
		return NAT_TRANSLATED;
	return ipv4_out_by(nr, ip, ip_len, UINT32_MAX);
}

bool nat_ipv4_stateless_host(const struct nat_rules *nr, rte_be32_t src, uint16_t in_port)
{
	uint32_t a = rte_be_to_cpu_32(src);
	int s = nr->n_static ? hash_find(nr->static_in, &a) : -1;
	int d = nr->n_dnat ? dnat_find(nr->dnat_to, 0, src, 0) : -1;

	return (s >= 0 || d >= 0) &&
	       !(s >= 0 && (nr->static_port_mask[s] >> in_port & 1)) &&
	       !(d >= 0 && (nr->dnat_server_mask[d] >> in_port & 1));
}

/* ---- NPTv6 (RFC 6296) ---- */

uint16_t nat_nptv6_adjustment(const uint8_t from[16], const uint8_t to[16])
{
	uint32_t sum = 0;
	unsigned int i;

	/* Sum of the "from" words minus sum of the "to" words (one's complement); only
	 * the prefix bits differ, the rest cancel out. */
	for (i = 0; i < 16; i += 2) {
		sum += (uint32_t)from[i] << 8 | from[i + 1];
		sum += (uint16_t)~((uint32_t)to[i] << 8 | to[i + 1]);
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * The 16-bit word of ADDR that NPTv6 adjusts so that the one's complement sum of the
 * address is unchanged (RFC 6296 3.2), behind a LEN-bit prefix: for /48 and shorter the
 * subnet word (bits 48-63), where 0xFFFF cannot be mapped (3.5); for longer prefixes the
 * first word of the interface identifier that is not 0xFFFF (3.7). -1 if there is none:
 * then *PROBLEM is the offset in the address of the word at fault.
 */
static int nptv6_word(const uint8_t addr[16], unsigned int len, uint32_t *problem)
{
	unsigned int w = len <= 48 ? 3 : 4;

	if (len > 48)
		while (w < 8 && addr[2 * w] == 0xff && addr[2 * w + 1] == 0xff)
			w++;
	if (w == 8 || (addr[2 * w] == 0xff && addr[2 * w + 1] == 0xff)) {
		*problem = len <= 48 ? 6 : 8; /* the subnet word, the interface identifier */
		return -1;
	}
	return (int)w;
}

/* Replace ADDR's prefix with TO (LEN bits) and add ADJ to its word W (nptv6_word). */
static void nptv6_apply(uint8_t addr[16], const uint8_t to[16], unsigned int len, uint16_t adj,
			int w)
{
	unsigned int bytes = len / 8, bits = len % 8;
	uint32_t word;

	memcpy(addr, to, bytes);
	if (bits)
		addr[bytes] = (uint8_t)((to[bytes] & (0xff00 >> bits)) |
					(addr[bytes] & ~(0xff00 >> bits)));
	word = ((uint32_t)addr[2 * w] << 8 | addr[2 * w + 1]) + adj;
	word = (word & 0xffff) + (word >> 16);
	if (word == 0xffff)
		word = 0; /* the same value in one's complement, and mappable back */
	addr[2 * w] = (uint8_t)(word >> 8);
	addr[2 * w + 1] = (uint8_t)word;
}

/* ADDR (the IPv6 header's field at offset AT) mapped to TO: NAT_UNTRANSLATABLE with
 * *PROBLEM the offset of the word at fault in the header if it cannot be. */
static enum nat_result nptv6_map(uint8_t addr[16], const uint8_t to[16], unsigned int len,
				 uint16_t adj, size_t at, uint32_t *problem)
{
	int w = nptv6_word(addr, len, problem);

	if (w < 0) {
		*problem += (uint32_t)at;
		return NAT_UNTRANSLATABLE;
	}
	nptv6_apply(addr, to, len, adj, w);
	return NAT_TRANSLATED;
}

/*
 * An ICMPv6 error IP (IP_LEN bytes), just translated by rule R going INBOUND or out,
 * quotes the packet it is about as that packet was translated: its address on R's far
 * side (the source coming in, the destination going out) is mapped back too, so that
 * its sender recognises it (path MTU discovery above all). RFC 6296 leaves quotes
 * alone; this is what RFC 5508 4.2 asks of NAT44. Checksum-neutral like the rest:
 * nothing else changes.
 */
static void nptv6_quote(struct rte_ipv6_hdr *ip, uint32_t ip_len, const struct nat_nptv6 *r,
			bool inbound)
{
	const uint8_t *icmp = (const uint8_t *)(ip + 1);
	struct rte_ipv6_hdr *quoted = (struct rte_ipv6_hdr *)(uintptr_t)(icmp + 8);
	uint8_t *addr = inbound ? quoted->src_addr : quoted->dst_addr;
	uint32_t unmappable; /* left as it is */

	if (ip->proto != IPPROTO_ICMPV6 || ip_len < sizeof(*ip) + 8 + sizeof(*quoted) ||
	    icmp[0] >= 128) /* errors are types 0-127 (RFC 4443 2.1) */
		return;
	if (prefix6_match(addr, inbound ? r->outside : r->inside, r->len))
		nptv6_map(addr, inbound ? r->inside : r->outside, r->len,
			  inbound ? r->adj_in : r->adj_out, 0, &unmappable);
}

#define SRC6 offsetof(struct rte_ipv6_hdr, src_addr)
#define DST6 offsetof(struct rte_ipv6_hdr, dst_addr)

/* The NPTv6 rule whose inside prefix holds ADDR, or NULL. */
static const struct nat_nptv6 *nptv6_inside_rule(const struct nat_rules *nr, const uint8_t *addr)
{
	unsigned int i;

	for (i = 0; i < nr->n_nptv6; i++)
		if (prefix6_match(addr, nr->nptv6[i].inside, nr->nptv6[i].len))
			return &nr->nptv6[i];
	return NULL;
}

/*
 * An inside host's packet to the outside address of another (hairpinning, which RFC
 * 6296 leaves open), arrived on port IN_PORT: the destination is mapped inside by R, and
 * the source outside by its own rule, so that each host sees the other's outside
 * address, as a host outside would, and the answer comes back the same way. Only from
 * a port where the source's rule's inside lives (lan_ports), which is not that rule's
 * outside: elsewhere the source is forged (NAT_PASS, as for an outside source).
 */
static enum nat_result nptv6_hairpin(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
				     uint32_t ip_len, uint16_t in_port, const struct nat_nptv6 *r,
				     uint32_t *problem)
{
	const struct nat_nptv6 *own = nptv6_inside_rule(nr, ip->src_addr);
	int w_src, w_dst;

	if (!own || own->port == in_port || !(own->lan_ports >> in_port & 1))
		return NAT_PASS;
	w_src = nptv6_word(ip->src_addr, own->len, problem);
	if (w_src < 0) {
		*problem += SRC6;
		return NAT_UNTRANSLATABLE;
	}
	w_dst = nptv6_word(ip->dst_addr, r->len, problem);
	if (w_dst < 0) {
		*problem += DST6;
		return NAT_UNTRANSLATABLE;
	}
	nptv6_apply(ip->src_addr, own->outside, own->len, own->adj_out, w_src);
	nptv6_apply(ip->dst_addr, r->inside, r->len, r->adj_in, w_dst);
	/* An error's quote: what the other host sent, its outside source and our inside
	 * destination, back to our inside source and its outside destination. */
	nptv6_quote(ip, ip_len, r, true);
	nptv6_quote(ip, ip_len, own, false);
	return NAT_TRANSLATED;
}

enum nat_result nat_ipv6_in(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			    uint32_t ip_len, uint16_t in_port, uint32_t *problem)
{
	enum nat_result res;
	unsigned int i;

	for (i = 0; i < nr->n_nptv6; i++) {
		const struct nat_nptv6 *r = &nr->nptv6[i];

		if (!prefix6_match(ip->dst_addr, r->outside, r->len))
			continue;
		if (r->port != in_port)
			return nptv6_hairpin(nr, ip, ip_len, in_port, r, problem);
		res = nptv6_map(ip->dst_addr, r->inside, r->len, r->adj_in, DST6, problem);
		if (res == NAT_TRANSLATED)
			nptv6_quote(ip, ip_len, r, true);
		return res;
	}
	return NAT_PASS;
}

enum nat_result nat_ipv6_out(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			     uint32_t ip_len, uint16_t out_port, uint32_t *problem)
{
	enum nat_result res;
	unsigned int i;

	for (i = 0; i < nr->n_nptv6; i++) {
		const struct nat_nptv6 *r = &nr->nptv6[i];

		if (r->port == out_port && prefix6_match(ip->src_addr, r->inside, r->len)) {
			res = nptv6_map(ip->src_addr, r->outside, r->len, r->adj_out, SRC6, problem);
			if (res == NAT_TRANSLATED)
				nptv6_quote(ip, ip_len, r, false);
			return res;
		}
	}
	return NAT_PASS;
}

bool nat_is_outside_address(const struct config *cfg, uint32_t ip)
{
	const struct cfg_nat *nat = &cfg->nat;
	unsigned int i;

	for (i = 0; i < nat->n_snat; i++)
		if (ip >= nat->snat[i].pool_first && ip <= nat->snat[i].pool_last)
			return true;
	for (i = 0; i < nat->n_static; i++)
		if (nat->statics[i].outside == ip)
			return true;
	for (i = 0; i < nat->n_dnat; i++)
		if (nat->dnat[i].match_ip == ip)
			return true;
	return false;
}

/* ---- building ---- */

static bool port_holds(const struct cfg_port *p, uint32_t ip)
{
	struct cfg_ip a = { .family = AF_INET, .v4 = ip };
	unsigned int i;

	for (i = 0; i < p->n_ipv4; i++)
		if (cfg_prefix_contains(&p->ipv4[i], &a))
			return true;
	return false;
}

/* The egress ports that are a rule's outside: those on OUTSIDE's subnet; without one,
 * every port not on INSIDE's subnet. */
static uint32_t outside_ports(const struct config *cfg, uint32_t outside, uint32_t inside)
{
	uint32_t mask = 0, p;

	for (p = 0; p < cfg->n_ports; p++)
		if (port_holds(&cfg->ports[p], outside))
			mask |= 1u << p;
	if (mask)
		return mask;
	for (p = 0; p < cfg->n_ports; p++)
		if (!port_holds(&cfg->ports[p], inside))
			mask |= 1u << p;
	return mask;
}

static struct rte_hash *hash_new(const char *what, uint32_t entries, uint32_t key_len,
				 int socket_id)
{
	static uint32_t seq;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters params = {
		.name = name,
		.entries = RTE_MAX(entries * 2, 64u),
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
	};

	snprintf(name, sizeof(name), "nat_%s_%u", what, seq++);
	return rte_hash_create(&params);
}

static int add(struct rte_hash *h, const void *key, unsigned int i)
{
	return rte_hash_add_key_data(h, key, (void *)(uintptr_t)i);
}

static int build_static(struct nat_rules *nr, const struct config *cfg, int socket_id)
{
	const struct cfg_nat *nat = &cfg->nat;
	unsigned int i;

	nr->statics = rte_calloc("nat", nat->n_static + 1, sizeof(*nr->statics), 0);
	nr->static_port_mask = rte_calloc("nat", nat->n_static + 1, sizeof(uint32_t), 0);
	nr->static_in = hash_new("sin", nat->n_static, 4, socket_id);
	nr->static_out = hash_new("sout", nat->n_static, 4, socket_id);
	nr->n_static = nat->n_static;
	if (!nr->statics || !nr->static_port_mask || !nr->static_in || !nr->static_out)
		return -1;
	for (i = 0; i < nat->n_static; i++) {
		const struct cfg_static_nat *s = &nat->statics[i];

		nr->statics[i] = *s;
		nr->static_port_mask[i] = outside_ports(cfg, s->outside, s->inside);
		nr->out_ports |= nr->static_port_mask[i];
		if (add(nr->static_in, &s->inside, i) || add(nr->static_out, &s->outside, i))
			return -1;
	}
	return 0;
}

static int build_dnat(struct nat_rules *nr, const struct config *cfg, int socket_id)
{
	const struct cfg_nat *nat = &cfg->nat;
	unsigned int i;

	nr->dnat = rte_calloc("nat", nat->n_dnat + 1, sizeof(*nr->dnat), 0);
	nr->dnat_port_mask = rte_calloc("nat", nat->n_dnat + 1, sizeof(uint32_t), 0);
	nr->dnat_server_mask = rte_calloc("nat", nat->n_dnat + 1, sizeof(uint32_t), 0);
	/* Twice the rules: a key of each address alone too (protocol and port 0). */
	nr->dnat_match = hash_new("dm", 2 * nat->n_dnat, sizeof(struct dnat_key), socket_id);
	nr->dnat_to = hash_new("dt", 2 * nat->n_dnat, sizeof(struct dnat_key), socket_id);
	nr->n_dnat = nat->n_dnat;
	if (!nr->dnat || !nr->dnat_port_mask || !nr->dnat_server_mask || !nr->dnat_match ||
	    !nr->dnat_to)
		return -1;
	for (i = 0; i < nat->n_dnat; i++) {
		const struct cfg_dnat *d = &nat->dnat[i];
		struct dnat_key match = { rte_cpu_to_be_32(d->match_ip),
					  rte_cpu_to_be_16(d->match_port), d->proto, 0 };
		struct dnat_key to = { rte_cpu_to_be_32(d->to_ip), rte_cpu_to_be_16(d->to_port),
				       d->proto, 0 };

		nr->dnat[i] = *d;
		nr->dnat_port_mask[i] = outside_ports(cfg, d->match_ip, d->to_ip);
		nr->out_ports |= nr->dnat_port_mask[i];
		/* Two forwards to one inside server port: its replies go out as the first. */
		if (add(nr->dnat_match, &match, i) ||
		    (hash_find(nr->dnat_to, &to) < 0 && add(nr->dnat_to, &to, i)))
			return -1;
		/* The addresses alone, for fragments, which have no ports after the first. */
		match.port = to.port = 0;
		match.proto = to.proto = 0;
		if (add(nr->dnat_match, &match, i) || add(nr->dnat_to, &to, i))
			return -1;
	}
	/* The outside ports of every forward to a server's address, under the rule index
	 * its address-alone key holds. */
	for (i = 0; i < nat->n_dnat; i++) {
		int k = dnat_find(nr->dnat_to, 0, rte_cpu_to_be_32(nat->dnat[i].to_ip), 0);

		if (k >= 0)
			nr->dnat_server_mask[k] |= nr->dnat_port_mask[i];
	}
	return 0;
}

/* Where hosts of PREFIX/LEN live: the ports with an IPv6 subnet that overlaps it, and
 * those that routes to a part of it leave by (not wider routes: a default route would
 * make every uplink one). */
static uint32_t inside_ports6(const struct config *cfg, const uint8_t prefix[16], uint8_t len)
{
	uint32_t mask = 0, p;
	unsigned int i, v;

	for (p = 0; p < cfg->n_ports; p++)
		for (i = 0; i < cfg->ports[p].n_ipv6; i++) {
			const struct cfg_prefix *net = &cfg->ports[p].ipv6[i];

			if (prefix6_match(net->addr.v6, prefix, RTE_MIN(net->len, len)))
				mask |= 1u << p;
		}
	for (i = 0; i < cfg->n_routes; i++) {
		const struct cfg_route *r = &cfg->routes[i];

		if (r->prefix.addr.family == AF_INET6 && r->prefix.len >= len &&
		    prefix6_match(r->prefix.addr.v6, prefix, len))
			for (v = 0; v < r->n_via; v++)
				mask |= 1u << r->via_port[v];
	}
	return mask;
}

static int build_nptv6(struct nat_rules *nr, const struct config *cfg)
{
	const struct cfg_nat *nat = &cfg->nat;
	unsigned int i;

	nr->nptv6 = rte_calloc("nat", nat->n_nptv6 + 1, sizeof(*nr->nptv6), 0);
	if (!nr->nptv6)
		return -1;
	for (i = 0; i < nat->n_nptv6; i++) {
		struct nat_nptv6 *r = &nr->nptv6[i];

		memcpy(r->inside, nat->nptv6[i].inside.addr.v6, 16);
		memcpy(r->outside, nat->nptv6[i].outside.addr.v6, 16);
		r->len = nat->nptv6[i].inside.len;
		r->port = (uint16_t)nat->nptv6[i].port;
		r->adj_out = nat_nptv6_adjustment(r->inside, r->outside);
		r->adj_in = nat_nptv6_adjustment(r->outside, r->inside);
		r->lan_ports = inside_ports6(cfg, r->inside, r->len);
		nr->out_ports |= 1u << r->port;
	}
	nr->n_nptv6 = nat->n_nptv6;
	return 0;
}

static int build_snat(struct nat_rules *nr, const struct config *cfg)
{
	const struct cfg_nat *nat = &cfg->nat;
	uint64_t hz = rte_get_tsc_hz();
	unsigned int i;

	nr->snat = rte_calloc("nat", nat->n_snat + 1, sizeof(*nr->snat), 0);
	if (!nr->snat)
		return -1;
	for (i = 0; i < nat->n_snat; i++) {
		const struct cfg_snat *c = &nat->snat[i];
		struct nat_snat *r = &nr->snat[i];

		r->from_mask = c->from.len ? UINT32_MAX << (32 - c->from.len) : 0;
		r->from = c->from.addr.v4 & r->from_mask;
		r->out = (uint16_t)c->out;
		r->pool_first = c->pool_first;
		r->pool_last = c->pool_last;
		r->port_first = c->port_first;
		r->port_last = c->port_last;
		nr->out_ports |= 1u << r->out;
	}
	nr->n_snat = nat->n_snat;
	nr->filtering = nat->filtering;
	nr->max_sessions = nat->max_sessions;
	nr->timeout_tsc.tcp_established = hz * nat->timeouts.tcp_established;
	nr->timeout_tsc.tcp_transitory = hz * nat->timeouts.tcp_transitory;
	nr->timeout_tsc.udp = hz * nat->timeouts.udp;
	nr->timeout_tsc.icmp = hz * nat->timeouts.icmp;
	return 0;
}

struct nat_rules *nat_rules_build(const struct config *cfg, int socket_id, char *err,
				  size_t err_len)
{
	struct nat_rules *nr = rte_zmalloc("nat", sizeof(*nr), 0);

	if (!nr) {
		snprintf(err, err_len, "no memory for NAT rules");
		return NULL;
	}
	nr->enabled = cfg->nat.enabled;
	if (!nr->enabled)
		return nr;
	if (build_static(nr, cfg, socket_id) || build_dnat(nr, cfg, socket_id) ||
	    build_nptv6(nr, cfg) || build_snat(nr, cfg)) {
		snprintf(err, err_len, "building NAT rules: %s", rte_strerror(rte_errno));
		nat_rules_free(nr);
		return NULL;
	}
	nr->from_covers_outside = from_covers_outside(nr);
	return nr;
}

void nat_rules_free(struct nat_rules *nr)
{
	if (!nr)
		return;
	rte_hash_free(nr->static_in);
	rte_hash_free(nr->static_out);
	rte_hash_free(nr->dnat_match);
	rte_hash_free(nr->dnat_to);
	rte_free(nr->statics);
	rte_free(nr->static_port_mask);
	rte_free(nr->dnat);
	rte_free(nr->dnat_port_mask);
	rte_free(nr->dnat_server_mask);
	rte_free(nr->nptv6);
	rte_free(nr->snat);
	rte_free(nr);
}
