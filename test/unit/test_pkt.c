/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Header checks at each rule's boundary, the order the rules apply in, and the
 * checksum helpers against a straightforward full recomputation (RFC 1071 style,
 * 16-bit big-endian words, written independently of lib/pkt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "pkt.h"

/* Headers sit 14 bytes into the frame, as after an Ethernet header: unaligned. */
#define L2 14
#define SEED 0x9e3779b97f4a7c15ull

static uint8_t frame[L2 + 128] __rte_aligned(64);

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* ---- reference checksum: obviously correct, not fast ---- */

/* One's complement sum of big-endian 16-bit words, skipping the word at byte
 * offset SKIP (pass an odd value to skip nothing). 1..0xffff unless all zero. */
static uint16_t ref_sum(const uint8_t *p, size_t n, size_t skip)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		if (i != skip)
			sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static size_t hlen_of(const uint8_t *h)
{
	return (size_t)(h[0] & 0xf) * 4;
}

/* Checksum field value (host order) a full recomputation gives. */
static uint16_t ref_cksum(const uint8_t *h)
{
	return (uint16_t)~ref_sum(h, hlen_of(h), 10);
}

/* One's complement addition (end-around carry). */
static uint16_t oc_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ref_fill_cksum(uint8_t *h)
{
	put16(h + 10, ref_cksum(h));
}

/* Choose the identification field so that the header sum (checksum field
 * excluded) is exactly TARGET (1..0xffff): the checksum is then ~TARGET. */
static void force_sum(uint8_t *h, uint16_t target)
{
	put16(h + 4, 0);
	put16(h + 4, oc_add(target, (uint16_t)~ref_sum(h, hlen_of(h), 10)));
	assert_int_equal(ref_sum(h, hlen_of(h), 10), target);
	ref_fill_cksum(h);
}

/* Random IPv4 header with IHL in [min_ihl, 15] and a correct checksum. */
static uint8_t *rand_ipv4(uint8_t *h, unsigned int min_ihl)
{
	unsigned int ihl = min_ihl + rnd_below(16 - min_ihl);

	for (unsigned int i = 0; i < ihl * 4; i++)
		h[i] = (uint8_t)rnd();
	h[0] = (uint8_t)(0x40 | ihl);
	h[8] = (uint8_t)(1 + rnd_below(255)); /* TTL 1..255 */
	ref_fill_cksum(h);
	return h;
}

/* ---- IPv4 header builder ---- */

struct v4 {
	uint8_t version, ihl, ttl;
	uint16_t tlen;
	const char *src, *dst;
	bool bad_cksum;
};

static const struct v4 v4_good = {
	.version = 4, .ihl = 5, .ttl = 64, .tlen = 64, .src = "10.0.0.1", .dst = "10.0.0.2",
};

static const struct rte_ipv4_hdr *build4(const struct v4 *p)
{
	uint8_t *h = frame + L2;
	struct in_addr a;

	memset(frame, 0xee, sizeof(frame));
	memset(h, 0x01, 60); /* options: NOPs */
	h[0] = (uint8_t)(p->version << 4 | p->ihl);
	h[1] = 0;
	put16(h + 2, p->tlen);
	put16(h + 4, 0x1234);
	put16(h + 6, 0x4000);
	h[8] = p->ttl;
	h[9] = IPPROTO_UDP;
	assert_int_equal(inet_pton(AF_INET, p->src, &a), 1);
	memcpy(h + 12, &a, 4);
	assert_int_equal(inet_pton(AF_INET, p->dst, &a), 1);
	memcpy(h + 16, &a, 4);
	/* IHL < 5 is invalid anyway: give it a 20-byte checksum so only IHL fails. */
	put16(h + 10, (uint16_t)~ref_sum(h, p->ihl < 5 ? 20 : (size_t)p->ihl * 4, 10));
	if (p->bad_cksum)
		h[11] ^= 0x01;
	return (const struct rte_ipv4_hdr *)h;
}

static enum pkt_check check4(const struct v4 *p, uint32_t len)
{
	uint32_t ip_len = 0xdeadbeef;
	enum pkt_check r = pkt_ipv4_check(build4(p), len, false, &ip_len);

	if (r == PKT_OK)
		assert_int_equal(ip_len, p->tlen);
	return r;
}

/* ---- IPv4 checks ---- */

static void test_ipv4_ok(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	assert_int_equal(check4(&p, 64), PKT_OK);
	p.ihl = 15;
	assert_int_equal(check4(&p, 64), PKT_OK);
}

static void test_ipv4_truncated(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	p.tlen = 20;
	assert_int_equal(check4(&p, 0), PKT_IPV4_TRUNCATED);
	assert_int_equal(check4(&p, 19), PKT_IPV4_TRUNCATED);
	assert_int_equal(check4(&p, 20), PKT_OK);
}

static void test_ipv4_version(void **state)
{
	static const uint8_t bad[] = { 0, 1, 3, 5, 6, 15 };
	struct v4 p = v4_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(bad); i++) {
		p.version = bad[i];
		assert_int_equal(check4(&p, 64), PKT_IPV4_VERSION);
	}
	p.version = 4;
	assert_int_equal(check4(&p, 64), PKT_OK);
}

static void test_ipv4_ihl(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	for (p.ihl = 0; p.ihl < 5; p.ihl++)
		assert_int_equal(check4(&p, 64), PKT_IPV4_IHL);
	assert_int_equal(check4(&p, 64), PKT_OK);
	/* IHL*4 == len is fine, one byte short is not (IHL wins over total length). */
	p.ihl = 6;
	p.tlen = 24;
	assert_int_equal(check4(&p, 24), PKT_OK);
	assert_int_equal(check4(&p, 23), PKT_IPV4_IHL);
	p.ihl = 15;
	p.tlen = 60;
	assert_int_equal(check4(&p, 60), PKT_OK);
	assert_int_equal(check4(&p, 59), PKT_IPV4_IHL);
}

static void test_ipv4_total_length(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	p.tlen = 64;
	assert_int_equal(check4(&p, 64), PKT_OK);
	p.tlen = 65;
	assert_int_equal(check4(&p, 64), PKT_IPV4_TOTAL_LENGTH);
	p.tlen = 0xffff;
	assert_int_equal(check4(&p, 64), PKT_IPV4_TOTAL_LENGTH);
	/* Ethernet padding: a 28-byte datagram in a 46-byte minimum payload. */
	p.tlen = 28;
	assert_int_equal(check4(&p, 46), PKT_OK);
	/* Total length at least the header. */
	p.tlen = 20;
	assert_int_equal(check4(&p, 46), PKT_OK);
	p.tlen = 19;
	assert_int_equal(check4(&p, 46), PKT_IPV4_TOTAL_LENGTH);
	p.tlen = 0;
	assert_int_equal(check4(&p, 46), PKT_IPV4_TOTAL_LENGTH);
	p.ihl = 6;
	p.tlen = 24;
	assert_int_equal(check4(&p, 46), PKT_OK);
	p.tlen = 23;
	assert_int_equal(check4(&p, 46), PKT_IPV4_TOTAL_LENGTH);
}

static void test_ipv4_checksum(void **state)
{
	struct v4 p = v4_good;
	uint32_t ip_len;
	uint8_t *h = frame + L2;

	(void)state;
	p.bad_cksum = true;
	assert_int_equal(check4(&p, 64), PKT_IPV4_CHECKSUM);
	/* The NIC verified it: the software check is skipped, the others are not. */
	assert_int_equal(pkt_ipv4_check(build4(&p), 64, true, &ip_len), PKT_OK);
	p.ttl = 1;
	assert_int_equal(pkt_ipv4_check(build4(&p), 64, true, &ip_len), PKT_IPV4_TTL);

	/* Any single flipped bit outside version/IHL/total length is caught, for
	 * every header length (options included in the sum). */
	p = v4_good;
	for (p.ihl = 5; p.ihl <= 15; p.ihl++) {
		for (unsigned int byte = 1; byte < p.ihl * 4u; byte++) {
			if (byte == 2 || byte == 3)
				continue;
			for (unsigned int bit = 0; bit < 8; bit++) {
				build4(&p);
				h[byte] ^= (uint8_t)(1u << bit);
				assert_int_equal(pkt_ipv4_check((void *)h, 64, false, &ip_len),
						 PKT_IPV4_CHECKSUM);
			}
		}
	}

	/* 0xffff is the other zero of one's complement: a header whose checksum is
	 * 0x0000 also verifies with 0xffff in the field (RFC 1624 sec 3). */
	p = v4_good;
	build4(&p);
	force_sum(h, 0xffff);
	assert_int_equal(get16(h + 10), 0x0000);
	assert_int_equal(pkt_ipv4_check((void *)h, 64, false, &ip_len), PKT_OK);
	put16(h + 10, 0xffff);
	assert_int_equal(pkt_ipv4_check((void *)h, 64, false, &ip_len), PKT_OK);
}

struct addr_case {
	const char *addr;
	bool bad;
};

static const struct addr_case v4_addrs[] = {
	{ "0.0.0.0", true },	     { "0.255.255.255", true },	  { "1.0.0.0", false },
	{ "10.0.0.1", false },	     { "126.255.255.255", false }, { "127.0.0.0", true },
	{ "127.0.0.1", true },	     { "127.255.255.255", true },  { "128.0.0.0", false },
	{ "192.168.1.255", false },  { "223.255.255.255", false }, { "224.0.0.0", true },
	{ "224.0.0.1", true },	     { "239.255.255.255", true },  { "240.0.0.0", true },
	{ "255.255.255.254", true }, { "255.255.255.255", true },
	{ "169.253.255.255", false }, { "169.254.0.0", true },	  { "169.254.255.255", true },
	{ "169.255.0.0", false },
};

static void test_ipv4_source(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(v4_addrs); i++) {
		p.src = v4_addrs[i].addr;
		if (check4(&p, 64) != (v4_addrs[i].bad ? PKT_IPV4_SOURCE : PKT_OK))
			fail_msg("source %s", p.src);
	}
}

static void test_ipv4_destination(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(v4_addrs); i++) {
		p.dst = v4_addrs[i].addr;
		if (check4(&p, 64) != (v4_addrs[i].bad ? PKT_IPV4_DESTINATION : PKT_OK))
			fail_msg("destination %s", p.dst);
	}
}

static void test_ipv4_ttl(void **state)
{
	struct v4 p = v4_good;

	(void)state;
	p.ttl = 0;
	assert_int_equal(check4(&p, 64), PKT_IPV4_TTL);
	p.ttl = 1;
	assert_int_equal(check4(&p, 64), PKT_IPV4_TTL);
	p.ttl = 2;
	assert_int_equal(check4(&p, 64), PKT_OK);
	p.ttl = 255;
	assert_int_equal(check4(&p, 64), PKT_OK);
}

/* Everything wrong at once; fixing one rule at a time exposes the next. */
static void test_ipv4_order(void **state)
{
	struct v4 p = {
		.version = 6, .ihl = 4, .ttl = 0, .tlen = 65,
		.src = "127.0.0.1", .dst = "224.0.0.1", .bad_cksum = true,
	};

	(void)state;
	assert_int_equal(check4(&p, 19), PKT_IPV4_TRUNCATED);
	assert_int_equal(check4(&p, 64), PKT_IPV4_VERSION);
	p.version = 4;
	assert_int_equal(check4(&p, 64), PKT_IPV4_IHL);
	p.ihl = 5;
	assert_int_equal(check4(&p, 64), PKT_IPV4_TOTAL_LENGTH);
	p.tlen = 64;
	assert_int_equal(check4(&p, 64), PKT_IPV4_CHECKSUM);
	p.bad_cksum = false;
	assert_int_equal(check4(&p, 64), PKT_IPV4_SOURCE);
	p.src = "10.0.0.1";
	assert_int_equal(check4(&p, 64), PKT_IPV4_DESTINATION);
	p.dst = "10.0.0.2";
	assert_int_equal(check4(&p, 64), PKT_IPV4_TTL);
	p.ttl = 2;
	assert_int_equal(check4(&p, 64), PKT_OK);
}

/* ---- IPv6 header builder ---- */

struct v6 {
	uint8_t version, nh, hop;
	uint16_t plen;
	const char *src, *dst;
};

static const struct v6 v6_good = {
	.version = 6, .nh = IPPROTO_UDP, .hop = 64, .plen = 24,
	.src = "2001:db8::1", .dst = "2001:db8:1::2",
};

static const struct rte_ipv6_hdr *build6(const struct v6 *p)
{
	uint8_t *h = frame + L2;
	uint32_t vtc = (uint32_t)p->version << 28 | 0x0a5c3e1; /* TC and flow label */

	memset(frame, 0xee, sizeof(frame));
	h[0] = (uint8_t)(vtc >> 24);
	h[1] = (uint8_t)(vtc >> 16);
	h[2] = (uint8_t)(vtc >> 8);
	h[3] = (uint8_t)vtc;
	put16(h + 4, p->plen);
	h[6] = p->nh;
	h[7] = p->hop;
	assert_int_equal(inet_pton(AF_INET6, p->src, h + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, p->dst, h + 24), 1);
	return (const struct rte_ipv6_hdr *)h;
}

static enum pkt_check check6(const struct v6 *p, uint32_t len)
{
	uint32_t ip_len = 0xdeadbeef;
	enum pkt_check r = pkt_ipv6_check(build6(p), len, &ip_len);

	if (r == PKT_OK)
		assert_int_equal(ip_len, 40u + p->plen);
	return r;
}

/* ---- IPv6 checks ---- */

static void test_ipv6_ok(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	assert_int_equal(check6(&p, 64), PKT_OK);
	assert_int_equal(check6(&p, 80), PKT_OK); /* trailing padding */
}

static void test_ipv6_truncated(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	p.plen = 0;
	p.nh = 59; /* no next header */
	assert_int_equal(check6(&p, 0), PKT_IPV6_TRUNCATED);
	assert_int_equal(check6(&p, 39), PKT_IPV6_TRUNCATED);
	assert_int_equal(check6(&p, 40), PKT_OK);
}

static void test_ipv6_version(void **state)
{
	static const uint8_t bad[] = { 0, 4, 5, 7, 15 };
	struct v6 p = v6_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(bad); i++) {
		p.version = bad[i];
		assert_int_equal(check6(&p, 64), PKT_IPV6_VERSION);
	}
}

static void test_ipv6_payload_length(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	p.plen = 24;
	assert_int_equal(check6(&p, 64), PKT_OK);
	p.plen = 25;
	assert_int_equal(check6(&p, 64), PKT_IPV6_PAYLOAD_LENGTH);
	p.plen = 0xffff;
	assert_int_equal(check6(&p, 64), PKT_IPV6_PAYLOAD_LENGTH);
	/* Zero payload is legal, except as the jumbogram form (hop-by-hop next). */
	p.plen = 0;
	p.nh = 59;
	assert_int_equal(check6(&p, 40), PKT_OK);
	p.nh = IPPROTO_TCP;
	assert_int_equal(check6(&p, 64), PKT_OK);
	p.nh = IPPROTO_HOPOPTS;
	assert_int_equal(check6(&p, 64), PKT_IPV6_PAYLOAD_LENGTH);
	p.plen = 8; /* a hop-by-hop header with a real length is fine */
	assert_int_equal(check6(&p, 64), PKT_OK);
}

static const struct addr_case v6_addrs[] = {
	{ "::", true },
	{ "::1", true },
	{ "::2", false },
	{ "::1:0:0:0", false },
	{ "0:0:0:1::", false },
	{ "0:0:0:1::1", false },
	{ "::ffff:10.0.0.1", false },
	{ "2001:db8::1", false },
	{ "fc00::1", false },
	{ "fe00::", false },
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "fe80::", true },
	{ "fe80::1", true },
	{ "fea0::1", true },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "fec0::", false }, /* site-local, outside fe80::/10 */
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "ff00::", true },
	{ "ff02::1", true },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
};

static void test_ipv6_source(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(v6_addrs); i++) {
		p.src = v6_addrs[i].addr;
		if (check6(&p, 64) != (v6_addrs[i].bad ? PKT_IPV6_SOURCE : PKT_OK))
			fail_msg("source %s", p.src);
	}
}

static void test_ipv6_destination(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(v6_addrs); i++) {
		p.dst = v6_addrs[i].addr;
		if (check6(&p, 64) != (v6_addrs[i].bad ? PKT_IPV6_DESTINATION : PKT_OK))
			fail_msg("destination %s", p.dst);
	}
}

static void test_ipv6_hop_limit(void **state)
{
	struct v6 p = v6_good;

	(void)state;
	p.hop = 0;
	assert_int_equal(check6(&p, 64), PKT_IPV6_HOP_LIMIT);
	p.hop = 1;
	assert_int_equal(check6(&p, 64), PKT_IPV6_HOP_LIMIT);
	p.hop = 2;
	assert_int_equal(check6(&p, 64), PKT_OK);
	p.hop = 255;
	assert_int_equal(check6(&p, 64), PKT_OK);
}

static void test_ipv6_order(void **state)
{
	struct v6 p = {
		.version = 4, .nh = IPPROTO_UDP, .hop = 1, .plen = 25,
		.src = "ff02::1", .dst = "::1",
	};

	(void)state;
	assert_int_equal(check6(&p, 39), PKT_IPV6_TRUNCATED);
	assert_int_equal(check6(&p, 64), PKT_IPV6_VERSION);
	p.version = 6;
	assert_int_equal(check6(&p, 64), PKT_IPV6_PAYLOAD_LENGTH);
	p.plen = 24;
	assert_int_equal(check6(&p, 64), PKT_IPV6_SOURCE);
	p.src = "2001:db8::1";
	assert_int_equal(check6(&p, 64), PKT_IPV6_DESTINATION);
	p.dst = "2001:db8::2";
	assert_int_equal(check6(&p, 64), PKT_IPV6_HOP_LIMIT);
	p.hop = 2;
	assert_int_equal(check6(&p, 64), PKT_OK);
}

/* ---- checksum helpers ---- */

/* Full checksum: reference, DPDK's rte_ipv4_cksum and ours agree, whatever the
 * field held, at every alignment and header length. */
static void test_ipv4_header_checksum(void **state)
{
	uint8_t copy[60];

	(void)state;
	rng_state = SEED;
	for (unsigned int i = 0; i < 200000; i++) {
		uint8_t *h = rand_ipv4(frame + rnd_below(8), 5);
		uint16_t want = ref_cksum(h), got;

		put16(h + 10, (uint16_t)rnd()); /* garbage: must be ignored */
		got = pkt_ipv4_header_checksum((const struct rte_ipv4_hdr *)h);
		if (got != rte_cpu_to_be_16(want))
			fail_msg("iter %u: got %04x want %04x", i, got, rte_cpu_to_be_16(want));
		assert_int_not_equal(got, 0xffff);
		memcpy(copy, h, hlen_of(h));
		put16(copy + 10, 0);
		assert_int_equal(got, rte_ipv4_cksum((const struct rte_ipv4_hdr *)copy));
		/* Storing it directly makes the header verify. */
		memcpy(h + 10, &got, 2);
		assert_int_equal(ref_sum(h, hlen_of(h), 1), 0xffff);
	}
	/* A header whose checksum is 0x0000, 0xffff (the other zero) in the field. */
	rand_ipv4(frame + L2, 5);
	force_sum(frame + L2, 0xffff);
	put16(frame + L2 + 10, 0xffff);
	assert_int_equal(pkt_ipv4_header_checksum((void *)(frame + L2)), 0);
}

/* TTL decrement on H (valid checksum) against a full recomputation. */
static void ttl_dec_one(uint8_t *h, unsigned int iter)
{
	uint8_t before[60];
	size_t hl = hlen_of(h);
	uint16_t want;

	memcpy(before, h, hl);
	pkt_ipv4_ttl_dec((struct rte_ipv4_hdr *)h);
	assert_int_equal(h[8], (uint8_t)(before[8] - 1));
	want = ref_cksum(h);
	if (get16(h + 10) != want)
		fail_msg("iter %u ttl %u cksum %04x: got %04x want %04x", iter, before[8],
			 get16(before + 10), get16(h + 10), want);
	/* Nothing else moved. */
	before[8]--;
	memcpy(before + 10, h + 10, 2);
	assert_memory_equal(before, h, hl);
}

static void test_ipv4_ttl_dec_random(void **state)
{
	(void)state;
	rng_state = SEED + 1;
	for (unsigned int i = 0; i < 200000; i++) {
		uint8_t *h = rand_ipv4(frame + rnd_below(8), 5);

		/* Weight the extremes: TTL 255 and 2 (the last forwardable). */
		if (i % 8 == 0)
			h[8] = 255;
		else if (i % 8 == 1)
			h[8] = 2;
		ref_fill_cksum(h);
		ttl_dec_one(h, i);
	}
}

/*
 * Every header sum 1..0xffff, so every checksum value before and after, among
 * them 0x0000 before (sum 0xffff), 0x0000 after (sum 0x0100), 0xfffe after
 * (sum 0x0101) and 0x0100 after the 0xffff form.
 */
static void test_ipv4_ttl_dec_edges(void **state)
{
	uint8_t *h = frame + L2;
	static const uint8_t ttls[] = { 1, 2, 64, 128, 255 };

	(void)state;
	rng_state = SEED + 2;
	for (uint32_t sum = 1; sum <= 0xffff; sum++) {
		rand_ipv4(h, 5);
		h[8] = ttls[sum % RTE_DIM(ttls)];
		force_sum(h, (uint16_t)sum);
		ttl_dec_one(h, sum);
	}
	for (unsigned int t = 0; t < RTE_DIM(ttls); t++) {
		uint16_t s[] = { 0xffff, 0x0100, 0x0101, 0x00ff, 0x0001 };
		uint16_t c[] = { 0x0100, 0x0000, 0xfffe, 0x0001, 0x00ff };

		for (unsigned int k = 0; k < RTE_DIM(s); k++) {
			rand_ipv4(h, 5);
			h[8] = ttls[t];
			force_sum(h, s[k]);
			ttl_dec_one(h, k);
			assert_int_equal(get16(h + 10), c[k]);
		}
		/* The 0xffff form of a 0x0000 checksum comes out canonical. */
		rand_ipv4(h, 5);
		h[8] = ttls[t];
		force_sum(h, 0xffff);
		put16(h + 10, 0xffff);
		pkt_ipv4_ttl_dec((struct rte_ipv4_hdr *)h);
		assert_int_equal(get16(h + 10), ref_cksum(h));
	}
}

/* Headers with options, IHL 6..15: check, full checksum and TTL decrement. */
static void test_ipv4_options(void **state)
{
	uint32_t ip_len;

	(void)state;
	rng_state = SEED + 3;
	for (unsigned int ihl = 6; ihl <= 15; ihl++) {
		for (unsigned int i = 0; i < 1000; i++) {
			uint8_t *h = frame + L2;

			rand_ipv4(h, 15);
			h[0] = (uint8_t)(0x40 | ihl);
			h[8] = (uint8_t)(2 + rnd_below(254));
			put16(h + 2, (uint16_t)(ihl * 4 + rnd_below(64)));
			memcpy(h + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
			ref_fill_cksum(h);
			assert_int_equal(pkt_ipv4_check((void *)h, 128, false, &ip_len), PKT_OK);
			assert_int_equal(ip_len, get16(h + 2));
			assert_int_equal(pkt_ipv4_header_checksum((void *)h),
					 rte_cpu_to_be_16(ref_cksum(h)));
			ttl_dec_one(h, i);
			/* The last option word counts too. */
			h[ihl * 4 - 1] ^= 0x80;
			assert_int_equal(pkt_ipv4_check((void *)h, 128, false, &ip_len),
					 PKT_IPV4_CHECKSUM);
		}
	}
}

/*
 * Change word W of H (not version/IHL, not the checksum) to NEW (host order),
 * patching the checksum with pkt_cksum_update16 in the given byte order, and
 * compare with a full recomputation.
 */
static void update16_one(uint8_t *h, unsigned int w, uint16_t new_word, bool memory_order)
{
	uint16_t old_word = get16(h + 2 * w);
	uint16_t ck = get16(h + 10), want;

	put16(h + 2 * w, new_word);
	if (memory_order) {
		uint16_t c = rte_cpu_to_be_16(ck);

		c = pkt_cksum_update16(c, rte_cpu_to_be_16(old_word), rte_cpu_to_be_16(new_word));
		ck = rte_be_to_cpu_16(c);
	} else {
		ck = pkt_cksum_update16(ck, old_word, new_word);
	}
	put16(h + 10, ck);
	want = ref_cksum(h);
	if (ck != want)
		fail_msg("word %u %04x -> %04x: got %04x want %04x", w, old_word, new_word, ck,
			 want);
}

static unsigned int rand_word(const uint8_t *h)
{
	unsigned int w;

	do
		w = 1 + rnd_below((unsigned int)hlen_of(h) / 2 - 1);
	while (w == 5);
	return w;
}

static void test_cksum_update16_random(void **state)
{
	static const uint16_t special[] = { 0x0000, 0xffff, 0x0001, 0xfffe, 0x00ff, 0xff00 };

	(void)state;
	rng_state = SEED + 4;
	for (unsigned int i = 0; i < 200000; i++) {
		uint8_t *h = rand_ipv4(frame + rnd_below(8), 5);
		unsigned int w = rand_word(h);
		uint16_t nw = (uint16_t)rnd();

		if (i % 4 == 0)
			put16(h + 2 * w, special[rnd_below(RTE_DIM(special))]);
		if (i % 4 <= 1)
			nw = special[rnd_below(RTE_DIM(special))];
		if (i % 16 == 0)
			force_sum(h, (uint16_t)(i % 32 ? 0xffff : 0x0001));
		else
			ref_fill_cksum(h);
		update16_one(h, w, nw, i & 1);
		/* And back again. */
		update16_one(h, w, (uint16_t)~nw, !(i & 1));
	}
}

/* Every header sum, and the changes that land exactly on 0x0000 / 0xfffe. */
static void test_cksum_update16_edges(void **state)
{
	uint8_t *h = frame + L2;

	(void)state;
	rng_state = SEED + 5;
	for (uint32_t sum = 1; sum <= 0xffff; sum++) {
		rand_ipv4(h, 5);
		force_sum(h, (uint16_t)sum);
		update16_one(h, rand_word(h), (uint16_t)rnd(), sum & 1);
	}
	for (unsigned int i = 0; i < 10000; i++) {
		unsigned int w;
		uint16_t old_word, nw, target = i & 1 ? 0xffff : 0x0001;

		rand_ipv4(h, 5);
		w = rand_word(h);
		old_word = get16(h + 2 * w);
		ref_fill_cksum(h);
		/* NEW such that the new sum is TARGET: new = old + (target - sum), in
		 * one's complement. The checksum lands on ~TARGET: 0x0000 or 0xfffe. */
		nw = oc_add(old_word, oc_add(target, (uint16_t)~ref_sum(h, hlen_of(h), 10)));
		update16_one(h, w, nw, i & 2);
		assert_int_equal(get16(h + 10), (uint16_t)~target);
	}
}

/* The two-step form (an adjustment summed once, applied to each packet) gives bit for
 * bit what pkt_cksum_update16/32 give, for 16-bit words, addresses, and an address and
 * a port changed together (a NAT rewrite). */
static void test_cksum_adjust_matches_update(void **state)
{
	static const uint16_t special[] = { 0x0000, 0xffff, 0x0001, 0xfffe, 0x8000, 0x7fff };

	(void)state;
	rng_state = SEED + 6;
	for (unsigned int i = 0; i < 1000000; i++) {
		uint16_t w[5];
		uint32_t o32, n32;

		for (unsigned int j = 0; j < RTE_DIM(w); j++)
			w[j] = rnd_below(4) ? (uint16_t)rnd() : special[rnd_below(RTE_DIM(special))];
		o32 = (uint32_t)rnd() << 16 ^ (uint32_t)rnd();
		n32 = i % 3 ? (uint32_t)rnd() << 16 ^ (uint32_t)rnd() : o32 ^ (uint32_t)w[4] << 16;
		assert_int_equal(pkt_cksum_apply(w[0], pkt_cksum_adjust16(w[1], w[2])),
				 pkt_cksum_update16(w[0], w[1], w[2]));
		assert_int_equal(pkt_cksum_apply(w[0], pkt_cksum_adjust32(o32, n32)),
				 pkt_cksum_update32(w[0], o32, n32));
		assert_int_equal(pkt_cksum_apply(w[0], pkt_cksum_adjust_add(
							  pkt_cksum_adjust32(o32, n32),
							  pkt_cksum_adjust16(w[1], w[3]))),
				 pkt_cksum_update16(pkt_cksum_update32(w[0], o32, n32), w[1], w[3]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_ok),
		cmocka_unit_test(test_ipv4_truncated),
		cmocka_unit_test(test_ipv4_version),
		cmocka_unit_test(test_ipv4_ihl),
		cmocka_unit_test(test_ipv4_total_length),
		cmocka_unit_test(test_ipv4_checksum),
		cmocka_unit_test(test_ipv4_source),
		cmocka_unit_test(test_ipv4_destination),
		cmocka_unit_test(test_ipv4_ttl),
		cmocka_unit_test(test_ipv4_order),
		cmocka_unit_test(test_ipv6_ok),
		cmocka_unit_test(test_ipv6_truncated),
		cmocka_unit_test(test_ipv6_version),
		cmocka_unit_test(test_ipv6_payload_length),
		cmocka_unit_test(test_ipv6_source),
		cmocka_unit_test(test_ipv6_destination),
		cmocka_unit_test(test_ipv6_hop_limit),
		cmocka_unit_test(test_ipv6_order),
		cmocka_unit_test(test_ipv4_header_checksum),
		cmocka_unit_test(test_ipv4_ttl_dec_random),
		cmocka_unit_test(test_ipv4_ttl_dec_edges),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_cksum_update16_random),
		cmocka_unit_test(test_cksum_update16_edges),
		cmocka_unit_test(test_cksum_adjust_matches_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
