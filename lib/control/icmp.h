/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/control: building the ICMP errors the router sends. */
#ifndef DPFWD_CONTROL_ICMP_H
#define DPFWD_CONTROL_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

/* ICMP (RFC 792) and ICMPv6 (RFC 4443) types and codes dpfwd sends. */
#define ICMP4_DEST_UNREACH 3
#define ICMP4_NET_UNREACH 0
#define ICMP4_HOST_UNREACH 1
#define ICMP4_PORT_UNREACH 3
#define ICMP4_FRAG_NEEDED 4
#define ICMP4_TIME_EXCEEDED 11
#define ICMP6_DEST_UNREACH 1
#define ICMP6_NO_ROUTE 0
#define ICMP6_ADDR_UNREACH 3
#define ICMP6_PORT_UNREACH 4
#define ICMP6_REJECT_ROUTE 6
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROBLEM 4
#define ICMP6_ERRONEOUS_FIELD 0

struct icmp_bucket {
	uint32_t tokens, burst;
	uint64_t tsc_per_token;
	uint64_t last_tsc;
};

void icmp_bucket_init(struct icmp_bucket *b, uint32_t rate, uint32_t burst);
bool icmp_bucket_take(struct icmp_bucket *b);

bool icmp4_error_allowed(const struct rte_ipv4_hdr *ip);
bool icmp6_error_allowed(const struct rte_ipv6_hdr *ip, uint32_t avail);

/* An error about ORIG (an Ethernet frame) from SRC_MAC/SRC_IP back to the hop it came
 * from; REST is the 32-bit word after the checksum (e.g. the next-hop MTU). */
struct rte_mbuf *icmp4_error_build(struct rte_mempool *pool, const struct rte_mbuf *orig,
				   uint8_t type, uint8_t code, uint32_t rest,
				   const struct rte_ether_addr *src_mac, uint32_t src_ip);
struct rte_mbuf *icmp6_error_build(struct rte_mempool *pool, const struct rte_mbuf *orig,
				   uint8_t type, uint8_t code, uint32_t rest,
				   const struct rte_ether_addr *src_mac, const uint8_t src_ip[16]);

#endif
