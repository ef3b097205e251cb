/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4/IPv6 header validation and the IPv4 header checksum. The validation itself
 * is inline in pkt.h (always inlined into the dataplane); this file holds what it
 * keeps out of line (IPv4 options, the martian first-byte table) and the checks on
 * its enum.
 *
 * The checks run once per packet, so the good path is kept to a handful of compares
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

const uint8_t pkt_martian_first[256] = {
	[0x00] = PKT_MARTIAN4_FIRST | PKT_MARTIAN6_FIRST, /* 0/8; ::, ::1 */
	[127] = PKT_MARTIAN4_FIRST,                     /* 127/8 */
	[169] = PKT_MARTIAN4_FIRST,                     /* 169.254/16 */
	[224 ... 253] = PKT_MARTIAN4_FIRST,             /* 224/4, 240/4 */
	[0xfe ... 0xff] = PKT_MARTIAN4_FIRST | PKT_MARTIAN6_FIRST, /* fe80::/10, ff00::/8 */
};

/* Options are rare: keep their loop out of the inlined fast path. */
__rte_noinline uint64_t pkt_ipv4_options_sum(const uint8_t *opt, unsigned int words)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < words; i++)
		sum += pkt_load32_(opt + 4 * i);
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
	uint64_t sum = pkt_ipv4_header_sum_(ip, ip->version_ihl & 0xf);

	return (uint16_t)~pkt_cksum_fold_(sum - ip->hdr_checksum);
}
