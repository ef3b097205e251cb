/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4/IPv6 header validation and the IPv4 header checksum.
 *
 * These run once per packet, so the good path is kept to a handful of compares
 * and a single well-predicted branch: each group of checks sets one bit per
 * failure reason, in list order, and the lowest set bit picks the reason. That
 * gives the same answer as testing the rules one after another (the first
 * failing rule wins) without a branch per rule. Only checks that guard memory
 * accesses (truncation, header length) need a branch of their own.
 */
#include <assert.h>
#include <string.h>

#include "pkt.h"

/* The bit tricks below map bit N of a failure mask onto enum value BASE + N. */
static_assert(PKT_IPV4_IHL == PKT_IPV4_VERSION + 1 &&
	      PKT_IPV4_TOTAL_LENGTH == PKT_IPV4_VERSION + 2,
	      "IPv4 header-structure checks must be consecutive");
static_assert(PKT_IPV4_SOURCE == PKT_IPV4_CHECKSUM + 1 &&
	      PKT_IPV4_DESTINATION == PKT_IPV4_CHECKSUM + 2 &&
	      PKT_IPV4_TTL == PKT_IPV4_CHECKSUM + 3,
	      "IPv4 content checks must be consecutive");
static_assert(PKT_IPV6_PAYLOAD_LENGTH == PKT_IPV6_VERSION + 1 &&
	      PKT_IPV6_SOURCE == PKT_IPV6_VERSION + 2 &&
	      PKT_IPV6_DESTINATION == PKT_IPV6_VERSION + 3 &&
	      PKT_IPV6_HOP_LIMIT == PKT_IPV6_VERSION + 4,
	      "IPv6 checks must be consecutive");

#define IPV4_MIN_HDR_LEN 20u
#define IPV6_HDR_LEN 40u
#define IPV6_NEXT_HOP_BY_HOP 0

/* MASK is nonzero: rte_bsf32 (count trailing zeros) is undefined on 0. */
static inline enum pkt_check first_failure(enum pkt_check base, uint32_t mask)
{
	return (enum pkt_check)(base + rte_bsf32(mask));
}

/*
 * One's complement sum of a buffer taken as 32-bit words: 2^16 = 1 (mod 2^16 - 1),
 * so folding the wide sum gives the same result as adding 16-bit words, with half
 * the loads. Native byte order throughout; the one's complement sum is byte order
 * independent (RFC 1071 2.(B)), so the result is in memory order.
 */
static inline uint16_t cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The header need not be 4-byte aligned (IP after a 14-byte Ethernet header):
 * memcpy compiles to a plain load. */
static inline uint32_t load32(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Options are rare: keep their loop out of the inlined fast path. */
static __rte_noinline uint64_t ipv4_options_sum(const uint8_t *opt, unsigned int words)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < words; i++)
		sum += load32(opt + 4 * i);
	return sum;
}

/* Unfolded sum of the IHL*4 header bytes, checksum field included. IHL >= 5. */
static inline uint64_t ipv4_header_sum(const struct rte_ipv4_hdr *ip, unsigned int ihl)
{
	const uint8_t *p = (const uint8_t *)ip;
	uint64_t sum;

	sum = (uint64_t)load32(p) + load32(p + 4) + load32(p + 8) + load32(p + 12) +
	      load32(p + 16);
	if (unlikely(ihl > 5))
		sum += ipv4_options_sum(p + IPV4_MIN_HDR_LEN, ihl - 5);
	return sum;
}

/*
 * Same value rte_ipv4_cksum() gives in DPDK 22.11 for the header with its checksum
 * field zeroed (~rte_raw_cksum, no 0xffff special case), but without writing the
 * field: its value is subtracted from the unfolded sum. The sum holds it as C or
 * C << 16 depending on host byte order, equal modulo 0xffff, and at least C, so
 * the subtraction cannot wrap. Never 0xffff: the sum of a header with a nonzero
 * version nibble folds to 1..0xffff.
 */
uint16_t pkt_ipv4_header_checksum(const struct rte_ipv4_hdr *ip)
{
	uint64_t sum = ipv4_header_sum(ip, ip->version_ihl & 0xf);

	return (uint16_t)~cksum_fold(sum - ip->hdr_checksum);
}

/*
 * Martian IPv4 addresses, for source and destination alike (host byte order):
 * 0/8 "this network" (RFC 1812 4.2.2.11 (a)/(b), 5.3.7), 127/8 loopback
 * (4.2.2.11 (g), 5.3.7), 224/4 multicast (5.3.7 for the source; a multicast
 * destination is not unicast-forwarded by this router), 240/4 reserved and
 * 255.255.255.255 limited broadcast, which lies in 240/4 (4.2.2.11 (c), 5.3.7),
 * and 169.254/16 link-local (RFC 3927 7).
 * "a == 0 || a >= 224" is one unsigned compare after subtracting 1 (0 wraps to 255).
 */
static inline uint32_t ipv4_martian(rte_be32_t addr)
{
	uint32_t host = rte_be_to_cpu_32(addr);
	uint8_t a = (uint8_t)(host >> 24);

	/* 169.254/16 link-local: RFC 3927 7, a router MUST NOT forward it. */
	return ((uint8_t)(a - 1) >= 223) | (a == 127) | ((host >> 16) == 0xa9fe);
}

enum pkt_check pkt_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len,
			      bool hdr_cksum_checked, uint32_t *ip_len)
{
	unsigned int ihl, hlen, tlen;
	uint32_t bad;

	/* RFC 1812 5.2.2 (1): at least a minimal header; guards every read below. */
	if (unlikely(len < IPV4_MIN_HDR_LEN))
		return PKT_IPV4_TRUNCATED;

	ihl = ip->version_ihl & 0xf;
	hlen = ihl * 4;
	tlen = rte_be_to_cpu_16(ip->total_length);

	/* RFC 1812 5.2.2 (3): version 4. */
	bad = (ip->version_ihl >> 4) != 4;
	/* RFC 1812 5.2.2 (4): IHL at least 5; the header must also lie in the frame
	 * before the checksum below may read options. */
	bad |= (uint32_t)(ihl < 5 || hlen > len) << 1;
	/* RFC 1812 5.2.2 (5): total length covers the header and fits in the frame;
	 * the frame may be longer (Ethernet pads short frames). */
	bad |= (uint32_t)(tlen < hlen || tlen > len) << 2;
	if (unlikely(bad))
		return first_failure(PKT_IPV4_VERSION, bad);

	/* RFC 1812 5.2.2 (2): header checksum, unless the NIC verified it. Per port
	 * this branch always goes the same way. */
	bad = 0;
	if (!hdr_cksum_checked)
		bad = cksum_fold(ipv4_header_sum(ip, ihl)) != 0xffff;
	/* RFC 1812 5.3.7, 4.2.2.11: martian source. */
	bad |= ipv4_martian(ip->src_addr) << 1;
	/* RFC 1812 5.3.7, 4.2.2.11: martian destination. */
	bad |= ipv4_martian(ip->dst_addr) << 2;
	/* RFC 1812 5.3.1: a TTL that would reach 0 here is not forwarded. */
	bad |= (uint32_t)(ip->time_to_live <= 1) << 3;
	if (unlikely(bad))
		return first_failure(PKT_IPV4_CHECKSUM, bad);

	*ip_len = tlen;
	return PKT_OK;
}

/*
 * Addresses an IPv6 router must not forward from or to (RFC 4291 2.5.2 unspecified
 * ::, 2.5.3 loopback ::1, 2.5.6 link-local fe80::/10, 2.7 multicast ff00::/8; the
 * dataplane only forwards unicast). Compared as two 64-bit halves: fe80::/10 is
 * "top 10 bits == 0x3fa", so fec0:: (site-local, deprecated) is not matched.
 */
static inline uint32_t ipv6_martian(const uint8_t *addr)
{
	uint64_t hi, lo;

	memcpy(&hi, addr, sizeof(hi));
	memcpy(&lo, addr + 8, sizeof(lo));
	hi = rte_be_to_cpu_64(hi);
	lo = rte_be_to_cpu_64(lo);
	return ((hi >> 56) == 0xff) | ((hi >> 54) == 0x3fa) | ((hi == 0) & (lo <= 1));
}

enum pkt_check pkt_ipv6_check(const struct rte_ipv6_hdr *ip, uint32_t len, uint32_t *ip_len)
{
	uint32_t plen, bad;

	/* RFC 8200 sec 3: the fixed header is 40 bytes; guards every read below. */
	if (unlikely(len < IPV6_HDR_LEN))
		return PKT_IPV6_TRUNCATED;

	plen = rte_be_to_cpu_16(ip->payload_len);

	/* RFC 8200 sec 3: version 6. */
	bad = (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6;
	/*
	 * RFC 8200 sec 3: the payload must fit in the frame (padding allowed).
	 * Payload length 0 is legal in itself (e.g. next header 59, "no next
	 * header"), but 0 followed by a hop-by-hop header is how a jumbogram is
	 * sent (RFC 2675 sec 3), and jumbograms are not supported: drop those.
	 */
	bad |= (uint32_t)((IPV6_HDR_LEN + plen > len) |
			  ((plen == 0) & (ip->proto == IPV6_NEXT_HOP_BY_HOP))) << 1;
	/* RFC 4291 2.5.2, 2.5.3, 2.5.6, 2.7: not a forwardable source. */
	bad |= ipv6_martian(ip->src_addr) << 2;
	/* RFC 4291 2.5.2, 2.5.3, 2.5.6, 2.7: not a forwardable unicast destination. */
	bad |= ipv6_martian(ip->dst_addr) << 3;
	/* RFC 8200 sec 3: a hop limit that would reach 0 here is not forwarded. */
	bad |= (uint32_t)(ip->hop_limits <= 1) << 4;
	if (unlikely(bad))
		return first_failure(PKT_IPV6_VERSION, bad);

	*ip_len = IPV6_HDR_LEN + plen;
	return PKT_OK;
}
