/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet header checks and checksum helpers: pure functions over bytes, no globals,
 * no mbufs, so that unit tests and fuzzers can call them on plain buffers.
 */
#ifndef DPFWD_PKT_H
#define DPFWD_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ip.h>

/*
 * Why a packet fails validation. The dataplane's drop reasons begin with this list in
 * this order (lib/dataplane/drop.h), so a check's result is directly a counter index.
 * X(ID, "name", "what it means")
 */
#define PKT_CHECK_LIST(X)                                                                  \
	X(IPV4_TRUNCATED, "ipv4_truncated", "IPv4 packet shorter than 20 bytes")            \
	X(IPV4_VERSION, "ipv4_bad_version", "IPv4 ethertype but version is not 4")          \
	X(IPV4_IHL, "ipv4_bad_ihl", "IHL below 5 or header longer than the frame")          \
	X(IPV4_TOTAL_LENGTH, "ipv4_bad_total_length",                                       \
	  "total length below IHL*4 or beyond the frame")                                   \
	X(IPV4_CHECKSUM, "ipv4_bad_checksum", "IPv4 header checksum does not verify")       \
	X(IPV4_SOURCE, "ipv4_bad_source",                                                   \
	  "source in 0/8, 127/8, 169.254/16, 224/4, 240/4 or 255.255.255.255 (RFC 1812 5.3.7)") \
	X(IPV4_DESTINATION, "ipv4_bad_destination",                                         \
	  "destination in 0/8, 127/8, 169.254/16, 224/4, 240/4 or 255.255.255.255")         \
	X(IPV4_TTL, "ipv4_ttl_expired", "TTL 0 or 1: not forwarded (RFC 1812 5.3.1)")       \
	X(IPV6_TRUNCATED, "ipv6_truncated", "IPv6 packet shorter than 40 bytes")            \
	X(IPV6_VERSION, "ipv6_bad_version", "IPv6 ethertype but version is not 6")          \
	X(IPV6_PAYLOAD_LENGTH, "ipv6_bad_payload_length",                                   \
	  "payload length beyond the frame, or 0 with hop-by-hop (jumbograms unsupported)") \
	X(IPV6_SOURCE, "ipv6_bad_source",                                                   \
	  "source multicast, unspecified, loopback or link-local (RFC 4291)")              \
	X(IPV6_DESTINATION, "ipv6_bad_destination",                                         \
	  "destination multicast, unspecified, loopback or link-local (RFC 4291)")          \
	X(IPV6_HOP_LIMIT, "ipv6_hop_limit_expired", "hop limit 0 or 1: not forwarded")

enum pkt_check {
	PKT_OK = 0,
#define PKT_CHECK_ENUM(id, name, help) PKT_##id,
	PKT_CHECK_LIST(PKT_CHECK_ENUM)
#undef PKT_CHECK_ENUM
	PKT_CHECK_END
};

/*
 * Validate the IPv4 header at IP, which has LEN bytes of frame after the Ethernet
 * header (padding included). HDR_CKSUM_CHECKED: the NIC already verified the header
 * checksum as good, skip the software check. On PKT_OK, *IP_LEN is the total length
 * (the frame may be longer: Ethernet padding).
 * RFC 1812 5.2.2 (header checks), 4.2.2.11 and 5.3.7 (martian addresses), 5.3.1 (TTL).
 */
enum pkt_check pkt_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len,
			      bool hdr_cksum_checked, uint32_t *ip_len);

/*
 * Validate the IPv6 header at IP with LEN bytes of frame after the Ethernet header.
 * On PKT_OK, *IP_LEN is 40 + payload length. RFC 8200 section 3, RFC 4291 2.5.
 */
enum pkt_check pkt_ipv6_check(const struct rte_ipv6_hdr *ip, uint32_t len, uint32_t *ip_len);

/* Decrement the TTL and patch the header checksum incrementally, RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m'). The TTL is the high byte of the word it shares with the
 * protocol, so ~m + m' = ~m + m - 0x0100 = 0xfeff. Eqn. 3 (unlike HC + 0x0100) never
 * yields 0xffff, so the result equals a full recomputation bit for bit. TTL must be
 * nonzero (callers drop TTL <= 1 first): 0 -> 255 is not a -0x0100 change. */
static inline void pkt_ipv4_ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint32_t sum = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum) + 0xfeffu;

	sum = (sum & 0xffff) + (sum >> 16);
	ip->time_to_live--;
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~sum);
}

/* Full IPv4 header checksum as it belongs in the header (0 in the field assumed):
 * network byte order, directly storable into hdr_checksum; equal to what
 * rte_ipv4_cksum() returns for the same header with the field zeroed. IHL >= 5. */
uint16_t pkt_ipv4_header_checksum(const struct rte_ipv4_hdr *ip);

/* RFC 1624 eqn. 3: checksum field value after a 16-bit word changes OLD -> NEW.
 * All values in the same byte order. */
static inline uint16_t pkt_cksum_update16(uint16_t cksum, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~cksum + (uint16_t)~old_word + new_word;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
