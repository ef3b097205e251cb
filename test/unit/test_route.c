/* SPDX-License-Identifier: BSD-3-Clause */
/* Route building: connected resolution, gateways, local addresses, LPM, ECMP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <rte_eal.h>

#include "route.h"

static const char *const yaml =
	"ports:\n"
	"  - {name: lan, device: d0, mac: \"02:00:00:00:01:01\", mtu: 9000,\n"
	"     ipv4: [192.168.1.1/24], ipv6: [\"2001:db8:1::1/64\"]}\n"
	"  - {name: wan, device: d1, ipv4: [203.0.113.1/24], ipv6: [\"2001:db8:ff::1/64\"]}\n"
	"neighbours:\n"
	"  - {ip: 203.0.113.254, mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: \"2001:db8:ff::fe\", mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: 192.168.1.10, mac: \"02:00:00:00:00:10\", port: lan}\n"
	"routes:\n"
	"  - {prefix: 0.0.0.0/0, via: 203.0.113.254}\n"
	"  - {prefix: 10.20.0.0/16, via: 192.168.1.10}\n"
	"  - {prefix: 10.20.30.0/24, via: 192.168.1.11}\n"
	"  - {prefix: 10.30.0.0/16, via: [192.168.1.10, 192.168.1.11, 203.0.113.254]}\n"
	"  - {prefix: 198.51.100.0/24, action: blackhole}\n"
	"  - {prefix: 100.64.0.0/10, action: unreachable}\n"
	"  - {prefix: \"2001:db8:30::/48\", via: \"2001:db8:ff::fe\"}\n";

static const struct rte_ether_addr port_macs[2] = {
	{ { 0x02, 0, 0, 0, 1, 1 } },
	{ { 0x02, 0, 0, 0, 2, 1 } },
};

static struct config cfg;
static struct route_table *rt;

static uint32_t v4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static const struct nexthop *lookup4(const char *s, uint32_t flow_hash)
{
	uint32_t ip = v4(s);
	uint64_t value;

	assert_int_equal(rte_fib_lookup_bulk(rt->fib4, &ip, &value, 1), 0);
	return &rt->nh[route_nh_index(rt, value, flow_hash)];
}

static const struct nexthop *lookup6(const char *s)
{
	uint8_t ip[1][16];
	uint64_t value;

	assert_int_equal(inet_pton(AF_INET6, s, ip[0]), 1);
	assert_int_equal(rte_fib6_lookup_bulk(rt->fib6, ip, &value, 1), 0);
	return &rt->nh[route_nh_index(rt, value, 0)];
}

static void assert_mac(const struct rte_ether_addr *mac, uint8_t last)
{
	const uint8_t want[6] = { 0x02, 0, 0, 0, 0, last };

	assert_memory_equal(mac->addr_bytes, want, 6);
}

static void test_gateway_resolves_through_static_neighbour(void **state)
{
	const struct nexthop *nh = lookup4("8.8.8.8", 0);

	assert_int_equal(nh->type, NH_FORWARD);
	assert_int_equal(nh->port, 1);
	assert_mac(&nh->dst_mac, 0xfe);
	assert_memory_equal(&nh->src_mac, &port_macs[1], 6);
	assert_int_equal(nh->mtu, 1500);
}

static void test_gateway_without_neighbour_is_unresolved(void **state)
{
	const struct nexthop *nh = lookup4("10.20.30.40", 0);

	assert_int_equal(nh->type, NH_UNRESOLVED);
	assert_int_equal(nh->port, 0); /* 192.168.1.11 is on lan */
}

static void test_longest_prefix_wins(void **state)
{
	const struct nexthop *nh = lookup4("10.20.1.1", 0);

	assert_int_equal(nh->type, NH_FORWARD);
	assert_mac(&nh->dst_mac, 0x10);
	assert_int_equal(nh->mtu, 9000);
	assert_int_equal(lookup4("10.20.30.1", 0)->type, NH_UNRESOLVED);
	assert_int_equal(lookup4("10.21.0.1", 0)->port, 1); /* default route */
}

static void test_connected_destination_uses_its_own_neighbour(void **state)
{
	uint32_t ip = v4("192.168.1.10"), unknown = v4("192.168.1.77");
	const struct nexthop *nh = lookup4("192.168.1.10", 0);
	void *data;

	assert_int_equal(nh->type, NH_CONNECTED);
	assert_int_equal(nh->port, 0);
	assert_true(rte_hash_lookup_data(rt->neigh4, &ip, &data) >= 0);
	nh = &rt->nh[(uintptr_t)data];
	assert_int_equal(nh->type, NH_FORWARD);
	assert_mac(&nh->dst_mac, 0x10);
	assert_true(rte_hash_lookup_data(rt->neigh4, &unknown, &data) < 0);
	assert_int_equal(lookup4("192.168.1.77", 0)->type, NH_CONNECTED);
}

static void test_own_addresses_are_local(void **state)
{
	assert_int_equal(lookup4("192.168.1.1", 0)->type, NH_LOCAL);
	assert_int_equal(lookup4("203.0.113.1", 0)->type, NH_LOCAL);
	assert_int_equal(lookup6("2001:db8:1::1")->type, NH_LOCAL);
	assert_int_equal(lookup6("2001:db8:1::2")->type, NH_CONNECTED);
}

static void test_actions(void **state)
{
	assert_int_equal(lookup4("198.51.100.7", 0)->type, NH_BLACKHOLE);
	assert_int_equal(lookup4("100.127.255.255", 0)->type, NH_UNREACHABLE);
	assert_int_equal(lookup4("100.128.0.0", 0)->type, NH_FORWARD);
}

static void test_ipv6_routes(void **state)
{
	const struct nexthop *nh = lookup6("2001:db8:30:1::5");

	assert_int_equal(nh->type, NH_FORWARD);
	assert_int_equal(nh->port, 1);
	assert_mac(&nh->dst_mac, 0xfe);
	/* No IPv6 default route: everything else has none. */
	assert_int_equal(lookup6("2001:db8:31::1")->type, NH_NO_ROUTE);
}

static void test_ecmp_is_deterministic_and_spreads(void **state)
{
	unsigned int seen[3] = { 0 }, h;

	for (h = 0; h < 3000; h++) {
		uint32_t hash = h * 2654435761u;
		const struct nexthop *a = lookup4("10.30.1.1", hash);
		const struct nexthop *b = lookup4("10.30.1.1", hash);

		assert_ptr_equal(a, b);
		if (a->type == NH_FORWARD && a->port == 0)
			seen[0]++;
		else if (a->type == NH_UNRESOLVED)
			seen[1]++;
		else if (a->type == NH_FORWARD && a->port == 1)
			seen[2]++;
		else
			fail();
	}
	for (h = 0; h < 3; h++)
		assert_in_range(seen[h], 700, 1300);
}

static void test_no_route_without_default(void **state)
{
	static const char *const small =
		"ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/8]}\n";
	struct config c;
	struct route_table *t;
	char err[CFG_ERR_MAX];
	uint32_t ip = v4("11.0.0.1");
	uint64_t value = 99;

	assert_int_equal(config_load_string("small.yaml", small, strlen(small), &c, err,
					    sizeof(err)), 0);
	t = route_table_build(&c, port_macs, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(t);
	rte_fib_lookup_bulk(t->fib4, &ip, &value, 1);
	assert_int_equal(t->nh[value].type, NH_NO_ROUTE);
	route_table_free(t);
	config_free(&c);
}

/* Many long prefixes: each needs its own second-level tables (up to 13 for a /128). */
static void test_large_tables_build(void **state)
{
	size_t cap = 1 << 20, len = 0;
	char *y = malloc(cap), err[CFG_ERR_MAX];
	struct config c;
	struct route_table *t;
	unsigned int i;

	len += snprintf(y + len, cap - len,
			"ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/8], "
			"ipv6: [\"2001:db8::1/64\"]}\nroutes:\n");
	for (i = 0; i < 1000; i++)
		len += snprintf(y + len, cap - len, "  - {prefix: \"2001:%x:%x::/64\", via: "
				"\"2001:db8::2\"}\n", i + 1, i * 7);
	for (i = 0; i < 300; i++)
		len += snprintf(y + len, cap - len, "  - {prefix: \"2001:ffff::%x/128\", via: "
				"\"2001:db8::2\"}\n", i * 97 + 1);
	for (i = 0; i < 100; i++)
		len += snprintf(y + len, cap - len, "  - {prefix: 172.%u.%u.%u/32, via: 10.0.0.2}\n",
				16 + i / 65536 % 16, i / 256 % 256, i % 256);
	assert_int_equal(config_load_string("big.yaml", y, len, &c, err, sizeof(err)), 0);
	t = route_table_build(&c, port_macs, SOCKET_ID_ANY, err, sizeof(err));
	if (!t)
		fprintf(stderr, "%s\n", err);
	assert_non_null(t);
	route_table_free(t);
	config_free(&c);
	free(y);
}

/* Learned neighbours fill slow_path.neighbours; those that expired give their slots
 * back (route_neighbours_reclaim), their keys go, the route cache tag changes, and
 * new neighbours take the slots; the others stay as they were. */
static void test_expired_neighbours_are_reclaimed(void **state)
{
	static const char *const y = "ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/16]}\n"
				     "slow_path: {neighbours: 16}\n";
	struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0 } };
	char err[CFG_ERR_MAX];
	struct route_table *t;
	struct cfg_ip ip = { .family = AF_INET };
	uint32_t tag, i, room;
	struct config c;

	assert_int_equal(config_load_string("n.yaml", y, strlen(y), &c, err, sizeof(err)), 0);
	t = route_table_build(&c, port_macs, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(t);
	room = route_neighbour_room(t); /* 16, and a slot NAT would have used */
	assert_in_range(room, 16, 17);
	for (i = 0; i < room; i++) {
		ip.v4 = v4("10.0.1.0") + i;
		mac.addr_bytes[5] = (uint8_t)i;
		assert_int_equal(route_neighbour_learn(t, &ip, 0, &mac), 1);
	}
	ip.v4 = v4("10.0.2.0");
	assert_int_equal(route_neighbour_learn(t, &ip, 0, &mac), -1); /* full */
	assert_int_equal(route_neighbours_reclaim(t, NULL), 0); /* none expired */
	for (i = 3; i < 6; i++) {
		ip.v4 = v4("10.0.1.0") + i;
		route_neighbour_expire(t, &ip);
	}
	tag = route_cache_tag(t);
	assert_int_equal(route_neighbours_reclaim(t, NULL), 3);
	assert_int_not_equal(route_cache_tag(t), tag);
	assert_int_not_equal(route_cache_tag(t), 0);
	assert_int_equal(route_neighbour_room(t), 3);
	ip.v4 = v4("10.0.1.4");
	assert_null(route_neighbour_find(t, &ip));
	for (i = 0; i < 3; i++) {
		ip.v4 = v4("10.0.2.0") + i;
		mac.addr_bytes[5] = (uint8_t)(0x80 + i);
		assert_int_equal(route_neighbour_learn(t, &ip, 0, &mac), 1);
		assert_non_null(route_neighbour_find(t, &ip));
		assert_int_equal(route_neighbour_find(t, &ip)->type, NH_FORWARD);
		assert_mac(&route_neighbour_find(t, &ip)->dst_mac, (uint8_t)(0x80 + i));
	}
	assert_int_equal(route_neighbour_room(t), 0);
	ip.v4 = v4("10.0.1.7"); /* untouched */
	assert_mac(&route_neighbour_find(t, &ip)->dst_mac, 7);
	route_table_free(t);
	config_free(&c);
}

/* Many rounds of a full table expiring and filling again with other neighbours, on the
 * other port: no slot or hash key is lost on the way (the hash has room for a few
 * rounds only if keys were not freed), and a reused slot is wholly the new one's. */
static void test_neighbour_slots_survive_many_reclaims(void **state)
{
	static const char *const y = "ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/16]}\n"
				     "  - {name: b, device: d1, ipv4: [10.1.0.1/16], mtu: 9000}\n"
				     "slow_path: {neighbours: 16}\n";
	struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0 } };
	struct cfg_ip ip = { .family = AF_INET };
	char err[CFG_ERR_MAX];
	struct route_table *t;
	uint32_t round, i, room;
	struct config c;

	assert_int_equal(config_load_string("n.yaml", y, strlen(y), &c, err, sizeof(err)), 0);
	t = route_table_build(&c, port_macs, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(t);
	room = route_neighbour_room(t);
	for (round = 0; round < 50; round++) {
		unsigned int port = round % 2;

		for (i = 0; i < room; i++) {
			ip.v4 = v4(port ? "10.1.0.0" : "10.0.0.0") + 256 * round + 2 + i;
			mac.addr_bytes[5] = (uint8_t)round;
			assert_int_equal(route_neighbour_learn(t, &ip, port, &mac), 1);
			assert_int_equal(route_neighbour_find(t, &ip)->port, port);
			assert_int_equal(route_neighbour_find(t, &ip)->mtu, port ? 9000 : 1500);
			assert_memory_equal(&route_neighbour_find(t, &ip)->src_mac, &port_macs[port], 6);
		}
		assert_int_equal(route_neighbour_room(t), 0);
		for (i = 0; i < room; i++) {
			ip.v4 = v4(port ? "10.1.0.0" : "10.0.0.0") + 256 * round + 2 + i;
			route_neighbour_expire(t, &ip);
		}
		assert_int_equal(route_neighbours_reclaim(t, NULL), room);
	}
	route_table_free(t);
	config_free(&c);
}

static int setup(void **state)
{
	char err[CFG_ERR_MAX], prefix[64];
	char *argv[] = { "test_route", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			 "--log-level", "error", "--file-prefix", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "test_route_%d", getpid());
	if (rte_eal_init(RTE_DIM(argv) - 1, argv) < 0)
		return -1;
	if (config_load_string("route.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	rt = route_table_build(&cfg, port_macs, SOCKET_ID_ANY, err, sizeof(err));
	if (!rt)
		fprintf(stderr, "%s\n", err);
	return rt ? 0 : -1;
}

static int teardown(void **state)
{
	route_table_free(rt);
	config_free(&cfg);
	rte_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_resolves_through_static_neighbour),
		cmocka_unit_test(test_gateway_without_neighbour_is_unresolved),
		cmocka_unit_test(test_longest_prefix_wins),
		cmocka_unit_test(test_connected_destination_uses_its_own_neighbour),
		cmocka_unit_test(test_own_addresses_are_local),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_ipv6_routes),
		cmocka_unit_test(test_ecmp_is_deterministic_and_spreads),
		cmocka_unit_test(test_no_route_without_default),
		cmocka_unit_test(test_large_tables_build),
		cmocka_unit_test(test_expired_neighbours_are_reclaimed),
		cmocka_unit_test(test_neighbour_slots_survive_many_reclaims),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
