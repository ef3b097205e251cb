/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat: stateless translations. Every rewritten packet's checksums are verified by
 * full recomputation (DPDK's rte_ipv4_cksum / rte_ipv4_udptcp_cksum_verify), not by
 * the increments under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "flow_table.h"
#include "nat.h"

#define LAN 0
#define WAN 1

static struct config cfg;
static struct nat_rules *nr;
static struct nat_rules *snat_nr; /* NAPT: 192.168.1.0/24 out of wan, pool .10-.11 */

/* A packet buffer with the IP header at an odd 16-bit offset, as in a frame. */
static uint8_t frame[2 + 14 + 128] __attribute__((aligned(8)));
static struct rte_ipv4_hdr *const ip4 = (struct rte_ipv4_hdr *)(frame + 2 + 14);
static struct rte_ipv6_hdr *const ip6 = (struct rte_ipv6_hdr *)(frame + 2 + 14);
static uint32_t problem; /* what NPTv6 reports about an address it cannot map */

static uint32_t a4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static void a6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* IPv4 + TCP or UDP, checksums computed in full. */
static uint32_t make4(uint8_t proto, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, bool udp_zero_cksum)
{
	uint32_t l4_len = proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr) + 4
					       : sizeof(struct rte_udp_hdr) + 4;
	uint8_t *l4 = (uint8_t *)(ip4 + 1);

	memset(frame, 0, sizeof(frame));
	ip4->version_ihl = 0x45;
	ip4->total_length = rte_cpu_to_be_16(sizeof(*ip4) + l4_len);
	ip4->time_to_live = 64;
	ip4->next_proto_id = proto;
	ip4->src_addr = rte_cpu_to_be_32(a4(src));
	ip4->dst_addr = rte_cpu_to_be_32(a4(dst));
	memcpy(l4 + l4_len - 4, "data", 4);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4;

		t->src_port = rte_cpu_to_be_16(sport);
		t->dst_port = rte_cpu_to_be_16(dport);
		t->data_off = 0x50;
		t->cksum = rte_ipv4_udptcp_cksum(ip4, t);
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;

		u->src_port = rte_cpu_to_be_16(sport);
		u->dst_port = rte_cpu_to_be_16(dport);
		u->dgram_len = rte_cpu_to_be_16(l4_len);
		u->dgram_cksum = udp_zero_cksum ? 0 : rte_ipv4_udptcp_cksum(ip4, u);
	}
	ip4->hdr_checksum = rte_ipv4_cksum(ip4);
	return sizeof(*ip4) + l4_len;
}

static void assert_checksums_valid(void)
{
	struct rte_ipv4_hdr copy = *ip4;

	copy.hdr_checksum = 0;
	assert_int_equal(ip4->hdr_checksum, rte_ipv4_cksum(&copy));
	if (ip4->next_proto_id == IPPROTO_UDP &&
	    ((struct rte_udp_hdr *)(ip4 + 1))->dgram_cksum == 0)
		return;
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip4, ip4 + 1), 0);
}

static void assert_addr4(uint32_t field_be, const char *want)
{
	assert_int_equal(rte_be_to_cpu_32(field_be), a4(want));
}

static uint16_t port_at(unsigned int offset)
{
	uint16_t p;

	memcpy(&p, (uint8_t *)(ip4 + 1) + offset, 2);
	return rte_be_to_cpu_16(p);
}

static void test_static_out_and_in(void **state)
{
	uint32_t len = make4(IPPROTO_TCP, "192.168.1.50", 40000, "198.51.100.7", 80, false);

	assert_int_equal(nat_ipv4_out(nr, ip4, len, WAN), NAT_TRANSLATED);
	assert_addr4(ip4->src_addr, "203.0.113.50");
	assert_int_equal(port_at(0), 40000); /* 1:1 keeps ports */
	assert_checksums_valid();

	len = make4(IPPROTO_UDP, "198.51.100.7", 53, "203.0.113.50", 5353, false);
	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_TRANSLATED);
	assert_addr4(ip4->dst_addr, "192.168.1.50");
	assert_checksums_valid();
}

static void test_static_only_towards_outside(void **state)
{
	uint32_t len = make4(IPPROTO_UDP, "192.168.1.50", 1, "192.168.1.60", 2, false);

	/* lan is the inside: nothing changes there. */
	assert_int_equal(nat_ipv4_out(nr, ip4, len, LAN), NAT_PASS);
	assert_addr4(ip4->src_addr, "192.168.1.50");
}

static void test_udp_zero_checksum_stays_zero(void **state)
{
	uint32_t len = make4(IPPROTO_UDP, "192.168.1.50", 1000, "198.51.100.7", 53, true);

	assert_int_equal(nat_ipv4_out(nr, ip4, len, WAN), NAT_TRANSLATED);
	assert_int_equal(((struct rte_udp_hdr *)(ip4 + 1))->dgram_cksum, 0);
	assert_checksums_valid();
}

static void test_port_forward_both_ways(void **state)
{
	uint32_t len = make4(IPPROTO_TCP, "198.51.100.7", 50000, "203.0.113.1", 443, false);

	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_TRANSLATED);
	assert_addr4(ip4->dst_addr, "192.168.1.20");
	assert_int_equal(port_at(2), 8443);
	assert_checksums_valid();

	len = make4(IPPROTO_TCP, "192.168.1.20", 8443, "198.51.100.7", 50000, false);
	assert_int_equal(nat_ipv4_out(nr, ip4, len, WAN), NAT_TRANSLATED);
	assert_addr4(ip4->src_addr, "203.0.113.1");
	assert_int_equal(port_at(0), 443);
	assert_checksums_valid();
}

static void test_port_forward_matches_proto_and_port(void **state)
{
	uint32_t len = make4(IPPROTO_UDP, "198.51.100.7", 50000, "203.0.113.1", 443, false);

	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_PASS); /* the forward is TCP */
	len = make4(IPPROTO_TCP, "198.51.100.7", 50000, "203.0.113.1", 22, false);
	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_PASS);
	len = make4(IPPROTO_UDP, "198.51.100.7", 50000, "203.0.113.1", 53, false);
	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_TRANSLATED);
	assert_addr4(ip4->dst_addr, "192.168.1.21");
	assert_checksums_valid();
}

/* A non-first fragment has no ports: a forward cannot match it; 1:1 still applies. */
static void test_fragments(void **state)
{
	struct rte_ipv4_hdr copy;
	uint32_t len = make4(IPPROTO_UDP, "198.51.100.7", 1, "203.0.113.50", 2, false);

	ip4->fragment_offset = rte_cpu_to_be_16(100);
	ip4->hdr_checksum = 0;
	ip4->hdr_checksum = rte_ipv4_cksum(ip4);
	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_TRANSLATED);
	assert_addr4(ip4->dst_addr, "192.168.1.50");
	copy = *ip4;
	copy.hdr_checksum = 0;
	assert_int_equal(ip4->hdr_checksum, rte_ipv4_cksum(&copy));
	len = make4(IPPROTO_TCP, "198.51.100.7", 1, "203.0.113.1", 443, false);
	ip4->fragment_offset = rte_cpu_to_be_16(100);
	assert_int_equal(nat_ipv4_in(nr, ip4, len), NAT_PASS);
}

/* RFC 6296 appendix B's example: FD01:0203:0405:0001::1234 behind the /48
 * FD01:0203:0405::/48 <-> 2001:0DB8:0001::/48 leaves as 2001:0DB8:0001:D550::1234. */
static void test_nptv6_rfc6296_example(void **state)
{
	uint8_t want[16], inside[16];

	memset(frame, 0, sizeof(frame));
	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	a6("fd01:203:405:1::1234", ip6->src_addr);
	memcpy(inside, ip6->src_addr, 16);
	a6("2001:db8:ffff::1", ip6->dst_addr);
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_TRANSLATED);
	a6("2001:db8:1:d550::1234", want);
	assert_memory_equal(ip6->src_addr, want, 16);
	/* And back: a reply to that address reaches the inside host. */
	memcpy(ip6->dst_addr, want, 16);
	assert_int_equal(nat_ipv6_in(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_TRANSLATED);
	assert_memory_equal(ip6->dst_addr, inside, 16);
	assert_int_equal(nat_ipv6_in(nr, ip6, sizeof(*ip6), LAN, &problem), NAT_PASS);
}

static uint32_t sum16(const uint8_t *a)
{
	uint32_t s = 0;

	for (int i = 0; i < 16; i += 2)
		s += (uint32_t)a[i] << 8 | a[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Longer than /48: the adjustment goes into the interface identifier, and the
 * address keeps its one's complement sum (checksum-neutral, RFC 6296 2.6). */
static void test_nptv6_long_prefix_is_checksum_neutral(void **state)
{
	uint8_t before[16];

	memset(frame, 0, sizeof(frame));
	a6("fd00:aa:bb:cc11::42", ip6->src_addr); /* inside fd00:aa:bb:cc00::/56 */
	memcpy(before, ip6->src_addr, 16);
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_TRANSLATED);
	assert_int_equal(ip6->src_addr[0], 0x20);
	assert_int_equal(ip6->src_addr[7], 0x11); /* the subnet bits past /56 are kept */
	assert_int_equal(sum16(ip6->src_addr) % 0xffff, sum16(before) % 0xffff);
}

/* RFC 6296 3.5: a /48 subnet word of 0xFFFF cannot be mapped. */
static void test_nptv6_ffff_subnet_refused(void **state)
{
	memset(frame, 0, sizeof(frame));
	a6("fd01:203:405:ffff::1", ip6->src_addr);
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_UNTRANSLATABLE);
	/* The parameter problem points at the source's subnet word. */
	assert_int_equal(problem, offsetof(struct rte_ipv6_hdr, src_addr) + 6);
	a6("fd01:203:405:1::1", ip6->src_addr);
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_TRANSLATED);
	a6("2001:db8:1:ffff::1", ip6->dst_addr);
	assert_int_equal(nat_ipv6_in(nr, ip6, sizeof(*ip6), WAN, &problem), NAT_UNTRANSLATABLE);
	assert_int_equal(problem, offsetof(struct rte_ipv6_hdr, dst_addr) + 6);
}


/* ---- NAPT (napt.c) ---- */

#define POOL_PORT_FIRST 1024
#define POOL_PORT_LAST 1031 /* eight ports: exhaustion is quick to reach */
#define UDP_TIMEOUT_S 30

static uint64_t at(double seconds)
{
	return (uint64_t)(seconds * (double)rte_get_tsc_hz()) + (UINT64_C(1) << 40);
}

static struct napt_table *napt_new(unsigned int worker, unsigned int n_workers,
				   uint32_t max_sessions)
{
	struct napt_table *t = napt_table_create(worker, n_workers, max_sessions, SOCKET_ID_ANY);

	assert_non_null(t);
	return t;
}

/* Outbound UDP from 192.168.1.10:SPORT to DST:53 through T: napt_out's result. */
static int out_udp(struct napt_table *t, uint16_t sport, const char *dst, uint64_t now)
{
	uint32_t len = make4(IPPROTO_UDP, "192.168.1.10", sport, dst, 53, false);
	const struct nat_snat *r = napt_rule_for(snat_nr, ip4->src_addr, WAN);

	assert_non_null(r);
	return napt_out(t, snat_nr, r, ip4, len, now);
}

static void expire_all(struct napt_table *t, uint64_t now)
{
	for (uint32_t i = 0; i <= napt_capacity(t); i++)
		napt_expire(t, snat_nr, now);
}

/* RFC 4787 REQ-1 and REQ-3: one outside endpoint for an inside one, whatever the
 * destination, with the inside port kept when it is free and in range. */
static void test_napt_mapping_reused_port_kept(void **state)
{
	struct napt_table *t = napt_new(0, 1, 64);
	struct napt_stats st;
	rte_be32_t pool;

	assert_int_equal(out_udp(t, 1025, "198.51.100.7", at(0)), 0);
	pool = ip4->src_addr;
	assert_true(rte_be_to_cpu_32(pool) == a4("203.0.113.10") ||
		    rte_be_to_cpu_32(pool) == a4("203.0.113.11"));
	assert_int_equal(port_at(0), 1025);
	assert_checksums_valid();
	assert_int_equal(out_udp(t, 1025, "198.51.100.8", at(1)), 0);
	assert_int_equal(ip4->src_addr, pool);
	assert_int_equal(port_at(0), 1025);
	/* Out of the configured range: another port of the range. */
	assert_int_equal(out_udp(t, 5000, "198.51.100.7", at(1)), 0);
	assert_true(port_at(0) >= POOL_PORT_FIRST && port_at(0) <= POOL_PORT_LAST);
	napt_stats_get(t, &st);
	assert_int_equal(st.mappings, 2);
	assert_int_equal(st.sessions, 3);
	napt_table_free(t);
}

/* With several workers, each hands out only the ports p with p % workers == itself,
 * so that an arriving packet's port names the owner. */
static void test_napt_ports_by_worker(void **state)
{
	for (unsigned int w = 0; w < 3; w++) {
		struct napt_table *t = napt_new(w, 3, 64);

		/* 1024-1031 holds two or three ports of each worker's. */
		for (uint16_t sport = 1024; sport < 1026; sport++) {
			assert_int_equal(out_udp(t, sport, "198.51.100.7", at(0)), 0);
			assert_int_equal(port_at(0) % 3, w);
			assert_int_equal(nat_owner_of_outside(rte_cpu_to_be_16(port_at(0)), 3), w);
		}
		napt_table_free(t);
	}
}

/* An exhausted pool is a counted refusal; a port comes back only once its mapping
 * expired, and then it is handed out again. */
static void test_napt_ports_exhausted_then_expired(void **state)
{
	const unsigned int n_ports = POOL_PORT_LAST - POOL_PORT_FIRST + 1;
	struct napt_table *t = napt_new(0, 1, 64);
	struct napt_stats st;
	unsigned int i;

	/* One inside host: one pool address (paired pooling), eight ports. */
	for (i = 0; i < n_ports; i++)
		assert_int_equal(out_udp(t, (uint16_t)(2000 + i), "198.51.100.7", at(i)), 0);
	assert_int_equal(out_udp(t, 3000, "198.51.100.7", at(n_ports)),
			 -NAPT_DROP_PORTS_EXHAUSTED);
	/* Expiry before the timeout frees nothing. */
	expire_all(t, at(UDP_TIMEOUT_S - 1));
	napt_stats_get(t, &st);
	assert_int_equal(st.expired, 0);
	assert_int_equal(st.ports_exhausted, 1);
	/* The first flow (used at 0 s) times out at 30 s; the others later. */
	expire_all(t, at(UDP_TIMEOUT_S + 0.5));
	napt_stats_get(t, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.sessions, n_ports - 1);
	assert_int_equal(st.mappings, n_ports - 1);
	assert_int_equal(out_udp(t, 3000, "198.51.100.7", at(UDP_TIMEOUT_S + 1)), 0);
	napt_table_free(t);
}

/* A rule set like snat_nr's, but for inside 10.0.0.0/8 and pool FIRST..FIRST+255. */
static struct nat_rules *pool_rules(const char *first)
{
	static struct cfg_snat rule;
	struct config c = cfg;
	char err[CFG_ERR_MAX];
	struct nat_rules *r;

	rule = (struct cfg_snat){ .out = WAN, .pool_first = a4(first),
				  .pool_last = a4(first) + CFG_MAX_POOL_ADDRS - 1,
				  .port_first = 1024, .port_last = 65535 };
	rule.from.addr.family = AF_INET;
	rule.from.addr.v4 = a4("10.0.0.0");
	rule.from.len = 8;
	c.nat = (struct cfg_nat){ .enabled = true, .n_snat = 1, .snat = &rule,
				  .max_sessions = 4096, .timeouts = { 100, 1, UDP_TIMEOUT_S, 1 } };
	r = nat_rules_build(&c, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(r);
	return r;
}

/* Outbound UDP from inside host 10.1.H/256.H%256 through T by rules R. */
static int out_udp_host(struct napt_table *t, const struct nat_rules *r, unsigned int h,
			uint64_t now)
{
	char src[INET_ADDRSTRLEN];
	uint32_t len;

	snprintf(src, sizeof(src), "10.1.%u.%u", h / 256, h % 256);
	len = make4(IPPROTO_UDP, src, 4000, "198.51.100.7", 53, false);
	return napt_out(t, r, napt_rule_for(r, ip4->src_addr, WAN), ip4, len, now);
}

/* A worker has port bitmaps for CFG_MAX_POOL_ADDRS pool addresses. After a reload put
 * other addresses in the pool, a new one takes over the bitmap of an old one only
 * once no port of that one is in use. */
static void test_napt_pool_bitmaps_taken_over(void **state)
{
	struct nat_rules *old = pool_rules("10.9.0.0"), *new = pool_rules("10.10.0.0");
	struct napt_table *t = napt_new(0, 1, 4096);
	bool used[CFG_MAX_POOL_ADDRS] = { false };
	unsigned int h, n_used = 0;
	struct napt_stats st;

	(void)state;
	/* Inside hosts until every old pool address hands out ports. */
	for (h = 0; n_used < CFG_MAX_POOL_ADDRS; h++) {
		assert_true(h < 4000);
		assert_int_equal(out_udp_host(t, old, h, at(0)), 0);
		bool *u = &used[rte_be_to_cpu_32(ip4->src_addr) - a4("10.9.0.0")];

		n_used += !*u;
		*u = true;
	}
	/* The reloaded rules' addresses find no bitmap while the old ones are in use... */
	assert_int_equal(out_udp_host(t, new, h, at(1)), -NAPT_DROP_PORTS_EXHAUSTED);
	/* ...and take them over once their mappings expired. */
	expire_all(t, at(UDP_TIMEOUT_S + 2));
	napt_stats_get(t, &st);
	assert_int_equal(st.mappings, 0);
	assert_int_equal(out_udp_host(t, new, h, at(UDP_TIMEOUT_S + 3)), 0);
	assert_int_equal(rte_be_to_cpu_32(ip4->src_addr) >> 8, a4("10.10.0.0") >> 8);
	assert_checksums_valid();
	napt_table_free(t);
	nat_rules_free(old);
	nat_rules_free(new);
}

/* max_sessions bounds the table: a new flow beyond it is refused, the existing ones
 * still translate. */
static void test_napt_table_full(void **state)
{
	struct napt_table *t = napt_new(0, 1, 4);
	struct napt_stats st;

	for (uint16_t p = 0; p < 4; p++)
		assert_int_equal(out_udp(t, (uint16_t)(1024 + p), "198.51.100.7", at(0)), 0);
	assert_int_equal(out_udp(t, 1029, "198.51.100.7", at(0)), -NAPT_DROP_TABLE_FULL);
	assert_int_equal(out_udp(t, 1025, "198.51.100.8", at(0)), -NAPT_DROP_TABLE_FULL);
	assert_int_equal(out_udp(t, 1025, "198.51.100.7", at(1)), 0);
	napt_stats_get(t, &st);
	assert_int_equal(st.table_full, 2);
	assert_int_equal(st.sessions, 4);
	napt_table_free(t);
}

/* Which packets the fast path looks at, and which way: towards the pool in, from the
 * inside prefix out; an inside host sending to the pool (a hairpin: its source gets its
 * own mapping first) and unrelated traffic not at all. The pool's range is inclusive. */
static void test_napt_direction(void **state)
{
	static const struct { const char *src, *dst; int dir; } cases[] = {
		{ "198.51.100.7", "203.0.113.10", 1 }, { "198.51.100.7", "203.0.113.11", 1 },
		{ "198.51.100.7", "203.0.113.12", -1 }, { "198.51.100.7", "203.0.113.9", -1 },
		{ "192.168.1.10", "198.51.100.7", 0 },  { "192.168.2.10", "198.51.100.7", -1 },
		{ "192.168.1.10", "203.0.113.10", -1 }, { "10.0.0.1", "10.0.0.2", -1 },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(cases); i++) {
		make4(IPPROTO_UDP, cases[i].src, 1024, cases[i].dst, 53, false);
		assert_int_equal(napt_direction(snat_nr, ip4), cases[i].dir);
	}
}

/* An ICMP error goes to the worker of the mapping it is about: the quoted packet's
 * inside endpoint (its destination, from inside) or outside port (its source, from
 * outside); any other packet by its own endpoints. */
static void test_napt_owner_of_icmp_errors(void **state)
{
	const unsigned int n = 7;
	struct rte_ipv4_hdr *inner;
	unsigned int owner;
	uint32_t len;

	for (uint16_t port = 1024; port < 1100; port++) {
		len = make4(IPPROTO_UDP, "192.168.1.10", port, "198.51.100.7", 53, false);
		assert_true(napt_owner(ip4, len, true, n, &owner));
		assert_int_equal(owner, nat_owner_of_inside(IPPROTO_UDP, ip4->src_addr,
							    rte_cpu_to_be_16(port), n));
		/* The same packet, quoted in an error from the remote's side ... */
		memmove((uint8_t *)(ip4 + 1) + 8, ip4, len);
		inner = (struct rte_ipv4_hdr *)((uint8_t *)(ip4 + 1) + 8);
		memset(ip4 + 1, 0, 8);
		*(uint8_t *)(ip4 + 1) = 3; /* destination unreachable */
		ip4->next_proto_id = IPPROTO_ICMP;
		ip4->total_length = rte_cpu_to_be_16(sizeof(*ip4) + 8 + len);
		assert_true(napt_owner(ip4, sizeof(*ip4) + 8 + len, false, n, &owner));
		assert_int_equal(owner, nat_owner_of_outside(rte_cpu_to_be_16(port), n));
		/* ... and as if it had come in to the inside host, which reports it. */
		inner->dst_addr = inner->src_addr;
		memcpy((uint8_t *)(inner + 1) + 2, (uint8_t *)(inner + 1), 2);
		assert_true(napt_owner(ip4, sizeof(*ip4) + 8 + len, true, n, &owner));
		assert_int_equal(owner, nat_owner_of_inside(IPPROTO_UDP, inner->dst_addr,
							    rte_cpu_to_be_16(port), n));
	}
}

#define N_BULK 6
static uint8_t bulk_frames[N_BULK][sizeof(frame)] __attribute__((aligned(8)));
static char bulk_pool[INET_ADDRSTRLEN]; /* the inside host's pool address */

/* Packet I of a mix: UDP, UDP without checksum, TCP ACK, TCP SYN (not for the fast
 * path), ICMP echo, and a UDP flow that has no session. */
static uint32_t bulk_packet(unsigned int i, bool reply)
{
	static const char *const remote = "198.51.100.7";
	uint16_t sport = (uint16_t)(1024 + i);
	uint32_t len;

	if (i == 4) { /* echo request / reply, identifier = sport */
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip4 + 1);

		len = make4(IPPROTO_UDP, reply ? remote : "192.168.1.10", 0,
			    reply ? bulk_pool : remote, 0, false);
		ip4->next_proto_id = IPPROTO_ICMP;
		memset(icmp, 0, sizeof(*icmp));
		icmp->icmp_type = reply ? RTE_IP_ICMP_ECHO_REPLY : RTE_IP_ICMP_ECHO_REQUEST;
		icmp->icmp_ident = rte_cpu_to_be_16(sport);
		icmp->icmp_seq_nb = rte_cpu_to_be_16(7);
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len - sizeof(*ip4));
		ip4->hdr_checksum = 0;
		ip4->hdr_checksum = rte_ipv4_cksum(ip4);
		return len;
	}
	len = make4(i == 2 || i == 3 ? IPPROTO_TCP : IPPROTO_UDP,
		    reply ? remote : "192.168.1.10", reply ? 53 : sport,
		    reply ? bulk_pool : remote, reply ? sport : 53, i == 1);
	if (i == 2 || i == 3) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip4 + 1);

		tcp->tcp_flags = i == 2 ? RTE_TCP_ACK_FLAG : RTE_TCP_SYN_FLAG;
		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(ip4, tcp);
	}
	return len;
}

/* Learn, for session I's packets going REPLY (in) or out, next hop 100 + I in route
 * generation GEN: as the dataplane does after the full path translated one. */
static void bulk_learn(struct napt_table *t, unsigned int i, bool reply, uint32_t gen)
{
	uint32_t len = bulk_packet(i, reply);

	assert_int_equal(reply ? napt_in(t, snat_nr, ip4, len, at(1))
			       : napt_out(t, snat_nr, napt_rule_for(snat_nr, ip4->src_addr, WAN),
					  ip4, len, at(1)), 0);
	napt_route_learn(t, ip4, len, reply, gen, 100 + i);
}

/* Candidates for packets 0-5 going REPLY (in) or out, at BULK_FRAMES; the SYN (3) is
 * none: it changes state, the full path's. Noted at positions 10 + i: DONE is by the
 * caller's positions. */
static void bulk_note(struct napt_table *t, struct napt_candidates *c, bool reply,
		      struct rte_ipv4_hdr **ips, uint32_t *lens)
{
	unsigned int i;

	c->n = 0;
	for (i = 0; i < N_BULK; i++) {
		lens[i] = bulk_packet(i, reply);
		memcpy(bulk_frames[i], frame, sizeof(frame));
		ips[i] = (struct rte_ipv4_hdr *)(bulk_frames[i] + 2 + 14);
		assert_int_equal(napt_candidate(t, c, ips[i], lens[i], reply, 10 + i), i != 3);
	}
	/* Candidates 0-4 are packets 0, 1, 2, 4 and 5 (5: a flow without a session). */
	assert_int_equal(c->n, 5);
	assert_int_equal(c->pos[3], 10 + 4);
}

/* The fast path translates exactly what napt_out / napt_in would, byte for byte, and
 * only packets of existing sessions that change no TCP state and whose next hop their
 * session learnt in the route table in use, for their direction. */
static void test_napt_bulk_matches_slow_path(void **state)
{
	struct napt_table *t = napt_new(0, 1, 64);
	static struct napt_candidates c;
	struct rte_ipv4_hdr *ips[N_BULK];
	uint32_t lens[N_BULK], nh[NAPT_CANDIDATES_MAX];
	uint64_t done[NAPT_CANDIDATES_MAX / 64];
	unsigned int i;

	/* Sessions for packets 0-4, made by the slow path; the inside host's pool address
	 * is the one its replies must go to. */
	for (i = 0; i < 5; i++) {
		uint32_t len = bulk_packet(i, false);

		assert_int_equal(napt_out(t, snat_nr, napt_rule_for(snat_nr, ip4->src_addr, WAN),
					  ip4, len, at(0)), 0);
		inet_ntop(AF_INET, &ip4->src_addr, bulk_pool, sizeof(bulk_pool));
	}
	/* No route learnt yet: nothing for the fast path. */
	for (int dir = 0; dir < 2; dir++) {
		bulk_note(t, &c, dir, ips, lens);
		done[0] = 0;
		napt_translate(t, &c, 7, at(1), done, nh);
		assert_int_equal(done[0], 0);
		for (i = 0; i < N_BULK; i++) {
			bulk_packet(i, dir);
			assert_memory_equal(ips[i], ip4, lens[i]);
		}
	}
	/* Routes learnt in generation 7, but not for packet 2 going out, nor for packet 4
	 * (echo) coming in; and packet 1's outbound route was learnt in generation 6, then
	 * its inbound one in 7: the outbound one is of an older table, forgotten. */
	bulk_learn(t, 1, false, 6);
	for (i = 0; i < 5; i++) {
		if (i != 2 && i != 1)
			bulk_learn(t, i, false, 7);
		if (i != 4)
			bulk_learn(t, i, true, 7);
	}
	for (int dir = 0; dir < 2; dir++) {
		uint64_t expect = dir == 0 ? 0x9 : 0x7; /* candidates (packets) 0, 3 (4); 0-2 */

		bulk_note(t, &c, dir, ips, lens);
		done[0] = 0;
		napt_translate(t, &c, 8, at(1), done, nh); /* another table in use */
		assert_int_equal(done[0], 0);
		napt_translate(t, &c, 7, at(1), done, nh);
		assert_int_equal(done[0], expect);
		for (i = 0; i < N_BULK; i++) {
			unsigned int cand = i < 3 ? i : i - 1;
			int rc;

			bulk_packet(i, dir);
			if (i == 3 || i == 5 || !(expect >> cand & 1)) { /* left as it was */
				assert_memory_equal(ips[i], ip4, lens[i]);
				continue;
			}
			assert_int_equal(nh[cand], 100 + i);
			rc = dir == 0 ? napt_out(t, snat_nr, napt_rule_for(snat_nr, ip4->src_addr, WAN),
						 ip4, lens[i], at(1))
				      : napt_in(t, snat_nr, ip4, lens[i], at(1));
			assert_int_equal(rc, 0);
			assert_memory_equal(ips[i], ip4, lens[i]);
			if (i != 4)
				assert_checksums_valid();
		}
	}
	napt_table_free(t);
}

/* A fragment's next hop is not learnt: ECMP picks a fragment's path without its ports,
 * so it may not be its flow's. */
static void test_napt_fragment_route_not_learnt(void **state)
{
	struct napt_table *t = napt_new(0, 1, 64);
	static struct napt_candidates c;
	struct rte_ipv4_hdr *ips[N_BULK];
	uint32_t lens[N_BULK], nh[NAPT_CANDIDATES_MAX], len;
	uint64_t done[NAPT_CANDIDATES_MAX / 64] = { 0 };

	static uint8_t out[sizeof(frame)] __attribute__((aligned(8)));
	struct rte_ipv4_hdr *sent = (struct rte_ipv4_hdr *)(out + 2 + 14);

	len = bulk_packet(0, false);
	assert_int_equal(napt_out(t, snat_nr, napt_rule_for(snat_nr, ip4->src_addr, WAN), ip4,
				  len, at(0)), 0);
	inet_ntop(AF_INET, &ip4->src_addr, bulk_pool, sizeof(bulk_pool));
	memcpy(out, frame, sizeof(frame)); /* as it left, translated */
	sent->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG); /* as a first fragment */
	napt_route_learn(t, sent, len, false, 7, 100);
	bulk_note(t, &c, false, ips, lens);
	napt_translate(t, &c, 7, at(1), done, nh);
	assert_int_equal(done[0], 0);
	sent->fragment_offset = 0; /* unfragmented: learnt */
	napt_route_learn(t, sent, len, false, 7, 100);
	napt_translate(t, &c, 7, at(1), done, nh);
	assert_int_equal(done[0], 1);
	assert_int_equal(nh[0], 100);
	napt_table_free(t);
}

/* A fragment record made again, the same, is no new record (the waiting later
 * fragments are not tried again for it); another one, or the same after it expired, is;
 * a later fragment takes it, both the address and the header checksum. */
static void test_napt_fragment_record_again(void **state)
{
	struct napt_table *t = napt_new(0, 1, 64);
	struct napt_stats st;
	rte_be32_t orig;
	uint16_t ck;

	(void)state;
	bulk_packet(0, false);
	orig = ip4->src_addr;
	ip4->src_addr = rte_cpu_to_be_32(a4("203.0.113.9")); /* as translated */
	ip4->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	napt_fragment_record(t, ip4, orig, true, at(0));
	napt_fragment_record(t, ip4, orig, true, at(1));
	napt_stats_get(t, &st);
	assert_int_equal(st.fragments_recorded, 1);
	napt_fragment_record(t, ip4, orig, true, at(12)); /* the first expired at 10 s */
	napt_stats_get(t, &st);
	assert_int_equal(st.fragments_recorded, 2);
	ip4->src_addr = orig; /* a later fragment as it arrives */
	ip4->fragment_offset = RTE_BE16(100);
	ip4->hdr_checksum = 0;
	ip4->hdr_checksum = rte_ipv4_cksum(ip4);
	assert_true(napt_fragment_take(t, ip4, true, at(13)));
	assert_int_equal(ip4->src_addr, rte_cpu_to_be_32(a4("203.0.113.9")));
	ck = ip4->hdr_checksum;
	ip4->hdr_checksum = 0;
	assert_int_equal(ck, rte_ipv4_cksum(ip4)); /* the incremental update, as recomputed */
	napt_table_free(t);
}

/* With several workers, the fast path notes only the packets of mappings its worker
 * owns (the others are handed over by the full path): the same owner as napt_owner's,
 * for TCP, UDP and echo, going out (inside endpoint) and coming in (outside port). */
static void test_napt_candidate_owner(void **state)
{
	enum { N = 3 };
	static struct napt_candidates c;
	struct napt_table *t[N];
	unsigned int w, port, owner, noted[2] = { 0, 0 };

	for (w = 0; w < N; w++)
		t[w] = napt_new(w, N, 64);
	for (port = 1024; port < 1064; port++) {
		for (int in = 0; in < 2; in++) {
			uint8_t proto = port % 3 == 0 ? IPPROTO_TCP : IPPROTO_UDP;
			uint32_t len = make4(proto, in ? "198.51.100.7" : "192.168.1.10", port,
					     in ? "203.0.113.10" : "198.51.100.7", port + 7, false);

			if (port % 5 == 0) { /* echo: the identifier is the port */
				struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip4 + 1);

				ip4->next_proto_id = IPPROTO_ICMP;
				memset(icmp, 0, sizeof(*icmp));
				icmp->icmp_type = in ? RTE_IP_ICMP_ECHO_REPLY : RTE_IP_ICMP_ECHO_REQUEST;
				icmp->icmp_ident = rte_cpu_to_be_16(port);
			}
			assert_true(napt_owner(ip4, len, !in, N, &owner));
			for (w = 0; w < N; w++) {
				c.n = 0;
				assert_int_equal(napt_candidate(t[w], &c, ip4, len, in, 0), w == owner);
				noted[in] += c.n;
			}
		}
	}
	assert_int_equal(noted[0], 40); /* each packet by exactly one worker */
	assert_int_equal(noted[1], 40);
	for (w = 0; w < N; w++)
		napt_table_free(t[w]);
}

/* ---- the flow table (flow_table.c), against a plain array of what it should hold ---- */

static struct flow_key random_key(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return flow_key_make((rte_be32_t)*x, (rte_be32_t)(*x >> 32), (rte_be16_t)(*x >> 8),
			     (rte_be16_t)(*x >> 24), IPPROTO_UDP, *x >> 63);
}

static void test_flow_table_full_load_and_churn(void **state)
{
	/* 3277 keys in 1024 buckets of four: 80% of the slots, where cuckoo moves are
	 * common. */
	enum { MAX = 3277 };
	static struct flow_key keys[MAX];
	static bool present[MAX];
	struct flow_table *ft = flow_table_create("test_ft", MAX, SOCKET_ID_ANY);
	uint64_t x = 88172645463325252ull;
	unsigned int i, round, n_present = 0;

	assert_non_null(ft);
	for (i = 0; i < MAX; i++) {
		keys[i] = random_key(&x);
		assert_int_equal(flow_table_add(ft, keys[i], i), 0);
		present[i] = true;
	}
	assert_int_equal(flow_table_add(ft, random_key(&x), 1), -ENOSPC);
	for (round = 0; round < 20; round++) {
		for (i = 0; i < MAX; i++) /* single and bulk lookups agree with the model */
			assert_int_equal(flow_table_lookup(ft, keys[i]), present[i] ? (int64_t)i : -1);
		for (i = 0; i < MAX; i++) { /* and the fast path's, first bucket then second */
			uint32_t hash = flow_key_hash(keys[i]), value = UINT32_MAX;
			bool found = flow_table_find_first(ft, keys[i], hash, &value) ||
				     flow_table_find_second(ft, keys[i], hash, &value);

			assert_int_equal(found, present[i]);
			if (present[i])
				assert_int_equal(value, i);
		}
		/* The other direction of a key is another key. */
		struct flow_key other = keys[round];

		other.rest ^= (uint64_t)FLOW_DIR_IN << 32;
		assert_int_equal(flow_table_lookup(ft, other), -1);
		/* Churn: a third of the keys leave, new ones take their places. */
		for (i = round % 3; i < MAX; i += 3) {
			if (present[i])
				assert_int_equal(flow_table_del(ft, keys[i]), 0);
			else
				assert_int_equal(flow_table_del(ft, keys[i]), -ENOENT);
			present[i] = false;
		}
		for (i = (round + 1) % 3; i < MAX; i += 3) {
			if (present[i])
				continue;
			keys[i] = random_key(&x);
			assert_int_equal(flow_table_add(ft, keys[i], i), 0);
			present[i] = true;
		}
	}
	for (i = 0; i < MAX; i++)
		n_present += present[i];
	assert_int_equal(flow_table_count(ft), n_present);
	assert_int_equal(flow_table_add(ft, keys[0], FLOW_VALUE_MAX + 1u), -ENOSPC);
	assert_int_equal(flow_table_del(ft, keys[1]), present[1] ? 0 : -ENOENT);
	assert_int_equal(flow_table_add(ft, keys[1], 1), 0);
	assert_int_equal(flow_table_add(ft, keys[1], 2), -EEXIST);
	assert_int_equal(flow_table_lookup(ft, keys[1]), 1);
	flow_table_free(ft);
}

static void prefix6(struct cfg_prefix *p, const char *s, uint8_t len)
{
	p->addr.family = AF_INET6;
	a6(s, p->addr.v6);
	p->len = len;
}

static void port(struct cfg_port *p, const char *name, const char *addr, uint8_t len)
{
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->n_ipv4 = 1;
	p->ipv4[0].addr.family = AF_INET;
	p->ipv4[0].addr.v4 = a4(addr);
	p->ipv4[0].len = len;
}

static int setup(void **state)
{
	static struct cfg_static_nat statics[1];
	static struct cfg_dnat dnat[2];
	static struct cfg_nptv6 npt[2];
	static struct cfg_snat snat[1];
	static struct config snat_cfg;
	char err[CFG_ERR_MAX], prefix[64];
	char *argv[] = { "test_nat", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
			 "--log-level", "error", "--file-prefix", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "test_nat_%d", getpid());
	if (rte_eal_init(RTE_DIM(argv) - 1, argv) < 0)
		return -1;
	cfg.n_ports = 2;
	port(&cfg.ports[LAN], "lan", "192.168.1.1", 24);
	port(&cfg.ports[WAN], "wan", "203.0.113.1", 24);
	statics[0] = (struct cfg_static_nat){ .inside = a4("192.168.1.50"),
					      .outside = a4("203.0.113.50") };
	dnat[0] = (struct cfg_dnat){ .proto = IPPROTO_TCP, .match_ip = a4("203.0.113.1"),
				     .to_ip = a4("192.168.1.20"), .match_port = 443,
				     .to_port = 8443 };
	dnat[1] = (struct cfg_dnat){ .proto = IPPROTO_UDP, .match_ip = a4("203.0.113.1"),
				     .to_ip = a4("192.168.1.21"), .match_port = 53, .to_port = 53 };
	prefix6(&npt[0].inside, "fd01:203:405::", 48);
	prefix6(&npt[0].outside, "2001:db8:1::", 48);
	npt[0].port = WAN;
	prefix6(&npt[1].inside, "fd00:aa:bb:cc00::", 56);
	prefix6(&npt[1].outside, "2001:db8:2:ff00::", 56);
	npt[1].port = WAN;
	cfg.nat = (struct cfg_nat){ .enabled = true, .n_static = 1, .statics = statics,
				    .n_dnat = 2, .dnat = dnat, .n_nptv6 = 2, .nptv6 = npt };
	nr = nat_rules_build(&cfg, SOCKET_ID_ANY, err, sizeof(err));
	if (!nr) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* NAPT only, with its own timeouts. */
	snat_cfg = cfg;
	snat[0] = (struct cfg_snat){ .out = WAN, .pool_first = a4("203.0.113.10"),
				     .pool_last = a4("203.0.113.11"),
				     .port_first = POOL_PORT_FIRST, .port_last = POOL_PORT_LAST };
	snat[0].from.addr.family = AF_INET;
	snat[0].from.addr.v4 = a4("192.168.1.0");
	snat[0].from.len = 24;
	snat_cfg.nat = (struct cfg_nat){ .enabled = true, .n_snat = 1, .snat = snat,
					 .max_sessions = 64,
					 .timeouts = { 100, 1, UDP_TIMEOUT_S, 1 } };
	snat_nr = nat_rules_build(&snat_cfg, SOCKET_ID_ANY, err, sizeof(err));
	if (!snat_nr)
		fprintf(stderr, "%s\n", err);
	return snat_nr ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_out_and_in),
		cmocka_unit_test(test_static_only_towards_outside),
		cmocka_unit_test(test_udp_zero_checksum_stays_zero),
		cmocka_unit_test(test_port_forward_both_ways),
		cmocka_unit_test(test_port_forward_matches_proto_and_port),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_nptv6_rfc6296_example),
		cmocka_unit_test(test_nptv6_long_prefix_is_checksum_neutral),
		cmocka_unit_test(test_nptv6_ffff_subnet_refused),
		cmocka_unit_test(test_napt_mapping_reused_port_kept),
		cmocka_unit_test(test_napt_ports_by_worker),
		cmocka_unit_test(test_napt_ports_exhausted_then_expired),
		cmocka_unit_test(test_napt_table_full),
		cmocka_unit_test(test_napt_owner_of_icmp_errors),
		cmocka_unit_test(test_napt_bulk_matches_slow_path),
		cmocka_unit_test(test_napt_direction),
		cmocka_unit_test(test_napt_fragment_route_not_learnt),
		cmocka_unit_test(test_napt_fragment_record_again),
		cmocka_unit_test(test_napt_candidate_owner),
		cmocka_unit_test(test_flow_table_full_load_and_churn),
		cmocka_unit_test(test_napt_pool_bitmaps_taken_over),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
