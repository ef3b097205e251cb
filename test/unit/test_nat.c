/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat: stateless translations. Every rewritten packet's checksums are verified by
 * full recomputation (DPDK's rte_ipv4_cksum / rte_ipv4_udptcp_cksum_verify), not by
 * the increments under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "nat.h"

#define LAN 0
#define WAN 1

static struct config cfg;
static struct nat_rules *nr;

/* A packet buffer with the IP header at an odd 16-bit offset, as in a frame. */
static uint8_t frame[2 + 14 + 128] __attribute__((aligned(8)));
static struct rte_ipv4_hdr *const ip4 = (struct rte_ipv4_hdr *)(frame + 2 + 14);
static struct rte_ipv6_hdr *const ip6 = (struct rte_ipv6_hdr *)(frame + 2 + 14);

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
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN), NAT_TRANSLATED);
	a6("2001:db8:1:d550::1234", want);
	assert_memory_equal(ip6->src_addr, want, 16);
	/* And back: a reply to that address reaches the inside host. */
	memcpy(ip6->dst_addr, want, 16);
	assert_int_equal(nat_ipv6_in(nr, ip6, sizeof(*ip6), WAN), NAT_TRANSLATED);
	assert_memory_equal(ip6->dst_addr, inside, 16);
	assert_int_equal(nat_ipv6_in(nr, ip6, sizeof(*ip6), LAN), NAT_PASS);
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
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN), NAT_TRANSLATED);
	assert_int_equal(ip6->src_addr[0], 0x20);
	assert_int_equal(ip6->src_addr[7], 0x11); /* the subnet bits past /56 are kept */
	assert_int_equal(sum16(ip6->src_addr) % 0xffff, sum16(before) % 0xffff);
}

/* RFC 6296 3.5: a /48 subnet word of 0xFFFF cannot be mapped. */
static void test_nptv6_ffff_subnet_refused(void **state)
{
	memset(frame, 0, sizeof(frame));
	a6("fd01:203:405:ffff::1", ip6->src_addr);
	assert_int_equal(nat_ipv6_out(nr, ip6, sizeof(*ip6), WAN), NAT_UNTRANSLATABLE);
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
	if (!nr)
		fprintf(stderr, "%s\n", err);
	return nr ? 0 : -1;
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
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
