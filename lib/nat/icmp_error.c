/* SPDX-License-Identifier: BSD-3-Clause */
/* ICMP errors about translated packets: see icmp_error.h. */
#include <stddef.h>
#include <string.h>

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "icmp_error.h"
#include "pkt.h"

bool is_icmp_error(const struct rte_ipv4_hdr *ip, uint32_t ip_len)
{
	const uint8_t *icmp = (const uint8_t *)ip + rte_ipv4_hdr_len(ip);

	return ip->next_proto_id == IPPROTO_ICMP &&
	       !pkt_ipv4_is_later_fragment(ip) &&
	       ip_len >= rte_ipv4_hdr_len(ip) + 8u &&
	       (icmp[0] == 3 || icmp[0] == 11 || icmp[0] == 12); /* unreachable, time, param */
}

bool icmp_error_parse(struct rte_ipv4_hdr *ip, uint32_t ip_len, struct icmp_error_view *e)
{
	uint32_t hl = rte_ipv4_hdr_len(ip), ihl;
	uint8_t *l4;

	if (!is_icmp_error(ip, ip_len) || ip_len < hl + 8u + sizeof(struct rte_ipv4_hdr) + 8u)
		return false;
	e->icmp = (uint8_t *)ip + hl;
	e->inner = (struct rte_ipv4_hdr *)(e->icmp + 8);
	e->inner_len = ip_len - hl - 8;
	ihl = rte_ipv4_hdr_len(e->inner);
	if ((e->inner->version_ihl >> 4) != 4 || ihl < 20 || e->inner_len < ihl + 8u)
		return false;
	l4 = (uint8_t *)e->inner + ihl;
	e->l4.proto = e->inner->next_proto_id;
	e->l4.cksum = NULL;
	e->l4.sport = l4;
	e->l4.dport = l4 + 2;
	if (e->l4.proto == IPPROTO_UDP)
		e->l4.cksum = l4 + offsetof(struct rte_udp_hdr, dgram_cksum);
	else if (e->l4.proto == IPPROTO_ICMP &&
		 (l4[0] == RTE_IP_ICMP_ECHO_REQUEST || l4[0] == RTE_IP_ICMP_ECHO_REPLY))
		e->l4.sport = e->l4.dport = l4 + offsetof(struct rte_icmp_hdr, icmp_ident);
	else if (e->l4.proto != IPPROTO_TCP)
		return false;
	else if (e->inner_len >= ihl + offsetof(struct rte_tcp_hdr, cksum) + 2u)
		/* TCP's checksum is past the 8 bytes RFC 792 quotes; many quote more. */
		e->l4.cksum = l4 + offsetof(struct rte_tcp_hdr, cksum);
	if (e->l4.proto == IPPROTO_ICMP)
		e->l4.cksum = l4 + offsetof(struct rte_icmp_hdr, icmp_cksum);
	return true;
}

/* A 16-bit word inside the ICMP message changes: the ICMP checksum follows (RFC 1624). */
static void icmp_word(uint8_t *icmp, uint8_t *word, uint16_t new)
{
	uint16_t ck = pkt_load16(icmp + 2);

	pkt_store16(icmp + 2, pkt_cksum_update16(ck, pkt_load16(word), new));
	pkt_store16(word, new);
}

void icmp_error_rewrite(struct rte_ipv4_hdr *ip, const struct icmp_error_view *e, uint8_t *addr,
			uint8_t *port, rte_be32_t new_ip, rte_be16_t new_port, size_t outer_off,
			rte_be32_t outer_ip)
{
	uint8_t *outer = (uint8_t *)ip + outer_off;
	uint16_t ck;

	/* A zero UDP checksum is none (RFC 768); TCP's and ICMP's may be zero. */
	if (e->l4.cksum && (e->l4.proto != IPPROTO_UDP || pkt_load16(e->l4.cksum))) {
		ck = pkt_load16(e->l4.cksum);
		if (e->l4.proto != IPPROTO_ICMP)
			ck = pkt_cksum_update32(ck, pkt_load32(addr), new_ip);
		ck = pkt_cksum_update16(ck, pkt_load16(port), new_port);
		icmp_word(e->icmp, e->l4.cksum, e->l4.proto == IPPROTO_UDP && !ck ? 0xffff : ck);
	}
	icmp_word(e->icmp, port, new_port);
	ck = pkt_cksum_update32(e->inner->hdr_checksum, pkt_load32(addr), new_ip);
	icmp_word(e->icmp, (uint8_t *)&e->inner->hdr_checksum, ck);
	icmp_word(e->icmp, addr, (uint16_t)new_ip);
	icmp_word(e->icmp, addr + 2, (uint16_t)(new_ip >> 16));
	ip->hdr_checksum = pkt_cksum_update32(ip->hdr_checksum, pkt_load32(outer), outer_ip);
	memcpy(outer, &outer_ip, sizeof(outer_ip));
}
