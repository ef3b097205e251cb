/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP errors about translated packets (RFC 5508 section 4), internal to lib/nat: an
 * error quotes the packet it is about, as that packet was when it met the error, so
 * NAT translates the quote back along with the outer header, or its sender would not
 * recognise it. NAPT and the stateless rules (1:1, port forwards) both use this.
 */
#ifndef DPFWD_NAT_ICMP_ERROR_H
#define DPFWD_NAT_ICMP_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>

/* Where the ports (or echo identifier) and the checksum of a packet are. */
struct napt_l4 {
	uint8_t proto;
	uint8_t tcp_flags;
	uint8_t *sport, *dport, *cksum;
};

struct icmp_error_view {
	uint8_t *icmp;               /* the outer ICMP header */
	struct rte_ipv4_hdr *inner;  /* the quoted packet, as it was translated */
	struct napt_l4 l4;           /* its ports (or echo identifier) */
	uint32_t inner_len;          /* quoted bytes from inner on */
};

/* Whether IP (IP_LEN bytes) is an ICMP destination unreachable, time exceeded or
 * parameter problem. */
bool is_icmp_error(const struct rte_ipv4_hdr *ip, uint32_t ip_len);

/* The quoted packet of an ICMP error with at least its header and 8 bytes (RFC 792),
 * and its ports: false if IP is none, or quotes neither TCP, UDP nor ICMP echo. */
bool icmp_error_parse(struct rte_ipv4_hdr *ip, uint32_t ip_len, struct icmp_error_view *e);

/* RFC 5508 4.2: the quoted packet's endpoint (address at ADDR, port or echo identifier
 * at PORT) becomes NEW_IP:NEW_PORT, with the quoted transport checksum (it covers the
 * pseudo-header; echo: only the identifier), the quoted IP checksum, and the ICMP
 * checksum over all of it; then the outer header's address at OUTER_OFF becomes
 * OUTER_IP, with the IP header checksum only (ICMP has no pseudo-header). */
void icmp_error_rewrite(struct rte_ipv4_hdr *ip, const struct icmp_error_view *e, uint8_t *addr,
			uint8_t *port, rte_be32_t new_ip, rte_be16_t new_port, size_t outer_off,
			rte_be32_t outer_ip);

#endif
