/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet header checks and checksum helpers: pure functions over bytes, no globals,
 * no mbufs, so that unit tests and fuzzers can call them on plain buffers.
 */
#ifndef DPFWD_PKT_H
#define DPFWD_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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
	X(IPV4_TTL, "ipv4_ttl_expired",                                                     \
	  "TTL 0 or 1 and not for dpfwd itself (RFC 1812 5.3.1): answered with time exceeded") \
	X(IPV6_TRUNCATED, "ipv6_truncated", "IPv6 packet shorter than 40 bytes")            \
	X(IPV6_VERSION, "ipv6_bad_version", "IPv6 ethertype but version is not 6")          \
	X(IPV6_PAYLOAD_LENGTH, "ipv6_bad_payload_length",                                   \
	  "payload length beyond the frame, or 0 with hop-by-hop (jumbograms unsupported)") \
	X(IPV6_SOURCE, "ipv6_bad_source",                                                   \
	  "source multicast, unspecified, loopback or link-local (RFC 4291)")              \
	X(IPV6_DESTINATION, "ipv6_bad_destination",                                         \
	  "destination multicast, unspecified, loopback or link-local (RFC 4291)")          \
	X(IPV6_HOP_LIMIT, "ipv6_hop_limit_expired",                                         \
	  "hop limit 0 or 1 and not for dpfwd itself: answered with time exceeded")

enum pkt_check {
	PKT_OK = 0,
#define PKT_CHECK_ENUM(id, name, help) PKT_##id,
	PKT_CHECK_LIST(PKT_CHECK_ENUM)
#undef PKT_CHECK_ENUM
	PKT_CHECK_END
};

/*
 * The per-packet checks are defined here, always inlined: the dataplane calls them
 * from every copy of its receive loop, and an out-of-line call (or a check that is
 * inlined only while it has a single caller, as LTO decides) costs the fast path.
 * Helpers ending in _ are internal to this header.
 */
#define PKT_IPV4_MIN_HDR_LEN 20u
#define PKT_IPV6_HDR_LEN 40u
#define PKT_IPV6_NEXT_HOP_BY_HOP 0

/* MASK is nonzero: rte_bsf32 (count trailing zeros) is undefined on 0. */
static inline enum pkt_check pkt_first_failure_(enum pkt_check base, uint32_t mask)
{
	return (enum pkt_check)(base + rte_bsf32(mask));
}

/*
 * One's complement sum of a buffer taken as 32-bit words: 2^16 = 1 (mod 2^16 - 1),
 * so folding the wide sum gives the same result as adding 16-bit words, with half
 * the loads. Native byte order throughout; the one's complement sum is byte order
 * independent (RFC 1071 2.(B)), so the result is in memory order.
 */
static inline uint16_t pkt_cksum_fold_(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The header need not be 4-byte aligned (IP after a 14-byte Ethernet header):
 * memcpy compiles to a plain load. */
static inline uint32_t pkt_load32_(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Options are rare: their loop stays out of line, in pkt.c. */
uint64_t pkt_ipv4_options_sum(const uint8_t *opt, unsigned int words);

/* Unfolded sum of the IHL*4 header bytes, checksum field included. IHL >= 5. */
static inline uint64_t pkt_ipv4_header_sum_(const struct rte_ipv4_hdr *ip, unsigned int ihl)
{
	const uint8_t *p = (const uint8_t *)ip;
	uint64_t sum;

	sum = (uint64_t)pkt_load32_(p) + pkt_load32_(p + 4) + pkt_load32_(p + 8) +
	      pkt_load32_(p + 12) + pkt_load32_(p + 16);
	if (unlikely(ihl > 5))
		sum += pkt_ipv4_options_sum(p + PKT_IPV4_MIN_HDR_LEN, ihl - 5);
	return sum;
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
static inline uint32_t pkt_ipv4_martian_(rte_be32_t addr)
{
	uint32_t host = rte_be_to_cpu_32(addr);
	uint8_t a = (uint8_t)(host >> 24);

	/* 169.254/16 link-local: RFC 3927 7, a router MUST NOT forward it. */
	return ((uint8_t)(a - 1) >= 223) | (a == 127) | ((host >> 16) == 0xa9fe);
}

/*
 * First address bytes that may begin a martian address, as bits: PKT_MARTIAN4_FIRST for
 * IPv4 (0, 127, 169 for 169.254/16, 224-255), PKT_MARTIAN6_FIRST for IPv6 (0x00 for ::
 * and ::1, 0xfe for fe80::/10, 0xff). One byte load and one table load per address keep
 * ordinary addresses off the exact tests, which run only on a hit. In pkt.c.
 */
#define PKT_MARTIAN4_FIRST 1u
#define PKT_MARTIAN6_FIRST 2u
extern const uint8_t pkt_martian_first[256];

/*
 * Validate the IPv4 header at IP, which has LEN bytes of frame after the Ethernet
 * header (padding included). HDR_CKSUM_CHECKED: the NIC already verified the header
 * checksum as good, skip the software check. On PKT_OK, *IP_LEN is the total length
 * (the frame may be longer: Ethernet padding).
 * RFC 1812 5.2.2 (header checks), 4.2.2.11 and 5.3.7 (martian addresses), 5.3.1 (TTL).
 */
static __rte_always_inline enum pkt_check
pkt_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len, bool hdr_cksum_checked,
	       uint32_t *ip_len)
{
	unsigned int ihl, hlen, tlen;
	uint32_t bad;

	/* RFC 1812 5.2.2 (1): at least a minimal header; guards every read below. */
	if (unlikely(len < PKT_IPV4_MIN_HDR_LEN))
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
		return pkt_first_failure_(PKT_IPV4_VERSION, bad);

	/* RFC 1812 5.2.2 (2): header checksum, unless the NIC verified it. Per port
	 * this branch always goes the same way. */
	bad = 0;
	if (!hdr_cksum_checked)
		bad = pkt_cksum_fold_(pkt_ipv4_header_sum_(ip, ihl)) != 0xffff;
	/* RFC 1812 5.3.7, 4.2.2.11: martian source and destination (the first byte of
	 * an address in network order is its first octet). */
	if (unlikely((pkt_martian_first[((const uint8_t *)&ip->src_addr)[0]] |
		      pkt_martian_first[((const uint8_t *)&ip->dst_addr)[0]]) &
		     PKT_MARTIAN4_FIRST))
		bad |= pkt_ipv4_martian_(ip->src_addr) << 1 | pkt_ipv4_martian_(ip->dst_addr) << 2;
	/* RFC 1812 5.3.1: a TTL that would reach 0 here is not forwarded. */
	bad |= (uint32_t)(ip->time_to_live <= 1) << 3;
	if (unlikely(bad))
		return pkt_first_failure_(PKT_IPV4_CHECKSUM, bad);

	*ip_len = tlen;
	return PKT_OK;
}

/*
 * Addresses an IPv6 router must not forward from or to (RFC 4291 2.5.2 unspecified
 * ::, 2.5.3 loopback ::1, 2.5.6 link-local fe80::/10, 2.7 multicast ff00::/8; the
 * dataplane only forwards unicast). Compared as two 64-bit halves: fe80::/10 is
 * "top 10 bits == 0x3fa", so fec0:: (site-local, deprecated) is not matched.
 */
static inline uint32_t pkt_ipv6_martian_(const uint8_t *addr)
{
	uint64_t hi, lo;

	memcpy(&hi, addr, sizeof(hi));
	memcpy(&lo, addr + 8, sizeof(lo));
	hi = rte_be_to_cpu_64(hi);
	lo = rte_be_to_cpu_64(lo);
	return ((hi >> 56) == 0xff) | ((hi >> 54) == 0x3fa) | ((hi == 0) & (lo <= 1));
}

/*
 * Validate the IPv6 header at IP with LEN bytes of frame after the Ethernet header.
 * On PKT_OK, *IP_LEN is 40 + payload length. RFC 8200 section 3, RFC 4291 2.5.
 */
static __rte_always_inline enum pkt_check
pkt_ipv6_check(const struct rte_ipv6_hdr *ip, uint32_t len, uint32_t *ip_len)
{
	uint32_t plen, bad;

	/* RFC 8200 sec 3: the fixed header is 40 bytes; guards every read below. */
	if (unlikely(len < PKT_IPV6_HDR_LEN))
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
	bad |= (uint32_t)((PKT_IPV6_HDR_LEN + plen > len) |
			  ((plen == 0) & (ip->proto == PKT_IPV6_NEXT_HOP_BY_HOP))) << 1;
	/* RFC 4291 2.5.2, 2.5.3, 2.5.6, 2.7: not a forwardable source, not a forwardable
	 * unicast destination. */
	if (unlikely((pkt_martian_first[ip->src_addr[0]] | pkt_martian_first[ip->dst_addr[0]]) &
		     PKT_MARTIAN6_FIRST))
		bad |= pkt_ipv6_martian_(ip->src_addr) << 2 | pkt_ipv6_martian_(ip->dst_addr) << 3;
	/* RFC 8200 sec 3: a hop limit that would reach 0 here is not forwarded. */
	bad |= (uint32_t)(ip->hop_limits <= 1) << 4;
	if (unlikely(bad))
		return pkt_first_failure_(PKT_IPV6_VERSION, bad);

	*ip_len = PKT_IPV6_HDR_LEN + plen;
	return PKT_OK;
}

/* Whether IP is a fragment (RFC 791: more fragments, or an offset), and whether the
 * first of several (more fragments at offset 0). */
static inline bool pkt_ipv4_is_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset &
		RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) != 0;
}

/* Whether IP is a fragment after the first (it has an offset, and no L4 header). */
static inline bool pkt_ipv4_is_later_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

static inline bool pkt_ipv4_is_first_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) ==
	       RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
}

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

/* The same for a 32-bit field (an IPv4 address), both halves as they are in memory. */
static inline uint16_t pkt_cksum_update32(uint16_t cksum, uint32_t old_word, uint32_t new_word)
{
	cksum = pkt_cksum_update16(cksum, (uint16_t)(old_word >> 16), (uint16_t)(new_word >> 16));
	return pkt_cksum_update16(cksum, (uint16_t)old_word, (uint16_t)new_word);
}

/*
 * RFC 1624 eqn. 3 in two steps, for one change made to many packets (a NAT session
 * rewrites every packet of its flow alike): the adjustment ~m + m' is summed once, then
 * each packet's checksum becomes ~(~HC + adjustment). One's complement addition is
 * associative and its sum is 0 only when every term is, so the result is bit for bit
 * what pkt_cksum_update16/32 give for the same change (unit-tested).
 */
static inline uint16_t pkt_cksum_fold2_(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

/* The same for the sum of two 16-bit terms (at most 0x1fffe): one fold is enough. */
static inline uint16_t pkt_cksum_fold1_(uint32_t sum)
{
	return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

static inline uint16_t pkt_cksum_adjust16(uint16_t old_word, uint16_t new_word)
{
	return pkt_cksum_fold1_((uint32_t)(uint16_t)~old_word + new_word);
}

static inline uint16_t pkt_cksum_adjust32(uint32_t old_word, uint32_t new_word)
{
	return pkt_cksum_fold2_((uint32_t)(uint16_t)~(old_word >> 16) + (new_word >> 16) +
				(uint16_t)~old_word + (new_word & 0xffff));
}

/* Two changes to the same checksum as one adjustment. */
static inline uint16_t pkt_cksum_adjust_add(uint16_t a, uint16_t b)
{
	return pkt_cksum_fold1_((uint32_t)a + b);
}

static inline uint16_t pkt_cksum_apply(uint16_t cksum, uint16_t adjust)
{
	return (uint16_t)~pkt_cksum_fold1_((uint32_t)(uint16_t)~cksum + adjust);
}

/* Header fields sit at any even offset in a frame: loads and stores through memcpy,
 * never through a cast pointer. Values stay in network byte order. */
static inline uint16_t pkt_load16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void pkt_store16(void *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline uint32_t pkt_load32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
