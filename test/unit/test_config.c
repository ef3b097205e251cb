/* SPDX-License-Identifier: BSD-3-Clause */
/* The config loader: what a good file turns into, and every error with its location. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"

static const char good[] =
	"ports:\n"
	"  - name: lan\n"
	"    device: net_pcap0\n"
	"    mac: 02:00:00:00:01:01\n"
	"    ipv4: [192.168.1.1/24]\n"
	"    ipv6: [\"2001:db8:1::1/64\"]\n"
	"  - name: wan\n"
	"    device: \"0000:3b:00.0\"\n"
	"    mtu: 9000\n"
	"    ipv4: [203.0.113.1/24, 198.18.0.1/15]\n"
	"neighbours:\n"
	"  - {ip: 203.0.113.254, mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: \"2001:db8:1::fe\", mac: \"02:00:00:00:00:fe\", port: lan}\n"
	"routes:\n"
	"  - {prefix: 0.0.0.0/0, via: 203.0.113.254}\n"
	"  - {prefix: \"::/0\", via: \"2001:db8:1::fe\"}\n"
	"  - {prefix: 10.30.0.0/16, via: [192.168.1.10, 198.18.1.1]}\n"
	"  - {prefix: 198.51.100.0/24, action: blackhole}\n"
	"  - {prefix: 100.64.0.0/10, action: unreachable}\n";

static struct config cfg;
static char err[CFG_ERR_MAX];

static int load(const char *yaml)
{
	return config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
}

static void test_good_file(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 1, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };

	assert_int_equal(load(good), 0);
	assert_int_equal(cfg.n_ports, 2);
	assert_string_equal(cfg.ports[0].name, "lan");
	assert_string_equal(cfg.ports[1].device, "0000:3b:00.0");
	assert_true(cfg.ports[0].has_mac);
	assert_memory_equal(cfg.ports[0].mac, mac, 6);
	assert_false(cfg.ports[1].has_mac);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_int_equal(cfg.ports[1].mtu, 9000);
	assert_int_equal(cfg.ports[0].ipv4[0].addr.v4, 0xc0a80101);
	assert_int_equal(cfg.ports[0].ipv4[0].len, 24);
	assert_memory_equal(cfg.ports[0].ipv6[0].addr.v6, v6, 16);
	assert_int_equal(cfg.ports[1].n_ipv4, 2);
	assert_int_equal(cfg.ports[1].device_loc.line, 8);
	assert_int_equal(cfg.ports[1].device_loc.column, 13);
	assert_int_equal(cfg.n_neighbours, 2);
	assert_int_equal(cfg.neighbours[0].port, 1);
	assert_int_equal(cfg.neighbours[1].ip.family, AF_INET6);
	assert_int_equal(cfg.n_routes, 5);
	assert_int_equal(cfg.routes[0].action, CFG_ROUTE_FORWARD);
	assert_int_equal(cfg.routes[0].via_port[0], 1);
	assert_int_equal(cfg.routes[1].prefix.len, 0);
	assert_int_equal(cfg.routes[2].n_via, 2);
	assert_int_equal(cfg.routes[2].via_port[0], 0);
	assert_int_equal(cfg.routes[2].via_port[1], 1); /* 198.18.0.0/15 covers 198.18.1.1 */
	assert_int_equal(cfg.routes[3].action, CFG_ROUTE_BLACKHOLE);
	assert_int_equal(cfg.routes[4].action, CFG_ROUTE_UNREACHABLE);
	assert_int_equal(cfg.routes[4].prefix.addr.v4, 0x64400000);
	assert_int_equal(cfg.dataplane.burst, 32);
	assert_int_equal(cfg.dataplane.mbufs, 65535);
	config_free(&cfg);
}

static void test_dataplane_section(void **state)
{
	assert_int_equal(load("ports: [{name: a, device: d}]\n"
			      "dataplane: {burst: 64, mbufs: 4096}\n"), 0);
	assert_int_equal(cfg.dataplane.burst, 64);
	assert_int_equal(cfg.dataplane.mbufs, 4096);
	config_free(&cfg);
}

static void test_section_order_is_free(void **state)
{
	assert_int_equal(load("routes: [{prefix: 0.0.0.0/0, via: 10.0.0.2}]\n"
			      "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"), 0);
	assert_int_equal(cfg.n_routes, 1);
	config_free(&cfg);
}

/* Each bad file, and the exact error it must produce. */
static const struct bad {
	const char *yaml;
	const char *error;
} bad_files[] = {
	{ "ports: [{name: a, device: d}\n", "t.yaml:2:1: did not find expected ',' or ']' while parsing a flow sequence" },
	{ "", "t.yaml:1:1: empty configuration: 'ports' is required" },
	{ "- a\n", "t.yaml:1:1: expected a mapping" },
	{ "ports: 5\n", "t.yaml:1:8: expected a list" },
	{ "ports: []\n", "t.yaml:1:8: at least one port is needed" },
	{ "routes: []\n", "t.yaml:1:1: missing key 'ports'" },
	{ "ports: [{name: a, device: d}]\nroutez: []\n", "t.yaml:2:1: unknown key 'routez'" },
	{ "ports: [{name: a, device: d, speed: 10}]\n", "t.yaml:1:30: unknown key 'speed'" },
	{ "ports: [{name: a, device: d}]\nnat: {}\n",
	  "t.yaml:2:6: nat: NAT is not implemented in this version of dpfwd" },
	{ "ports: [{name: a}]\n", "t.yaml:1:9: missing key 'device'" },
	{ "ports: [{name: a, device: d, mtu: abc}]\n",
	  "t.yaml:1:35: expected an integer from 68 to 16110" },
	{ "ports: [{name: a, device: d, mtu: 67}]\n",
	  "t.yaml:1:35: expected an integer from 68 to 16110" },
	{ "ports: [{name: a, device: d, ipv4: 10.0.0.1/8}]\n", "t.yaml:1:36: expected a list" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.256/8]}]\n",
	  "t.yaml:1:37: invalid address '10.0.0.256' in prefix" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/33]}]\n",
	  "t.yaml:1:37: invalid prefix length '/33'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1]}]\n",
	  "t.yaml:1:37: invalid prefix '10.0.0.1': expected ADDRESS/LENGTH" },
	{ "ports: [{name: a, device: d, ipv6: [10.0.0.1/8]}]\n",
	  "t.yaml:1:37: '10.0.0.1/8' is not an IPv6 address" },
	{ "ports: [{name: a, device: d, mac: \"02:00:00:00:01\"}]\n",
	  "t.yaml:1:35: invalid MAC address '02:00:00:00:01'" },
	{ "ports: [{name: a, device: d, mac: \"01:00:5e:00:00:01\"}]\n",
	  "t.yaml:1:35: MAC address '01:00:5e:00:00:01' is multicast" },
	{ "ports: [{name: a, device: d}, {name: a, device: e}]\n",
	  "t.yaml:1:38: duplicate port name 'a'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 0.0.0.0/0, via: 11.0.0.1}]\n",
	  "t.yaml:2:35: next hop 11.0.0.1 is not on any connected subnet" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 0.0.0.0/0, via: 10.0.0.1}]\n",
	  "t.yaml:2:35: next hop 10.0.0.1 is one of dpfwd's own addresses" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8], ipv6: [\"2001:db8::1/64\"]}]\n"
	  "routes: [{prefix: \"::/0\", via: 10.0.0.2}]\n",
	  "t.yaml:2:32: next hop 10.0.0.2 is not of the prefix's family" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 10.1.0.1/16, action: blackhole}]\n",
	  "t.yaml:2:19: prefix 10.1.0.1/16 has host bits set" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 10.1.0.0/16, action: drop}]\n",
	  "t.yaml:2:40: unknown action 'drop': expected blackhole or unreachable" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 10.1.0.0/16, action: blackhole, via: 10.0.0.2}]\n",
	  "t.yaml:2:10: a route needs exactly one of 'via' and 'action'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 10.1.0.0/16}]\n",
	  "t.yaml:2:10: a route needs exactly one of 'via' and 'action'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "routes: [{prefix: 10.1.0.0/16, action: blackhole},\n"
	  "         {prefix: 10.1.0.0/16, action: unreachable}]\n",
	  "t.yaml:3:19: duplicate route for 10.1.0.0/16" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "neighbours: [{ip: 10.0.0.2, mac: \"02:00:00:00:00:01\", port: b}]\n",
	  "t.yaml:2:61: unknown port 'b'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "neighbours: [{ip: 11.0.0.2, mac: \"02:00:00:00:00:01\", port: a}]\n",
	  "t.yaml:2:19: neighbour 11.0.0.2 is not on a connected subnet of port 'a'" },
	{ "ports: [{name: a, device: d, ipv4: [10.0.0.1/8]}]\n"
	  "neighbours: [{ip: 10.0.0.2, port: a}]\n",
	  "t.yaml:2:14: missing key 'mac'" },
	{ "ports: [{name: a, device: d}]\ndataplane: {burst: 257}\n",
	  "t.yaml:2:20: expected an integer from 1 to 256" },
	{ "ports: [{name: a, device: d}]\ndataplane: {burst: -1}\n",
	  "t.yaml:2:20: expected an integer from 1 to 256" },
	{ "ports: [{name: a, device: d}]\ndataplane: {bursts: 3}\n",
	  "t.yaml:2:13: unknown key 'bursts'" },
};

static void test_bad_files(void **state)
{
	static const char zero[sizeof(struct config)];
	unsigned int i;

	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		memset(err, 0, sizeof(err));
		if (load(bad_files[i].yaml) != -1 || strcmp(err, bad_files[i].error)) {
			fprintf(stderr, "case %u:\n%s\nwant: %s\ngot:  %s\n", i, bad_files[i].yaml,
				bad_files[i].error, err);
			fail();
		}
		/* A failed load leaves nothing behind and freeing it again is harmless. */
		assert_memory_equal(&cfg, zero, sizeof(cfg));
		config_free(&cfg);
	}
}

static void test_missing_file(void **state)
{
	assert_int_equal(config_load("/nonexistent/x.yaml", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.yaml:1:1: cannot read file: No such file or directory");
}

static void test_prefix_contains(void **state)
{
	struct cfg_prefix p = { .addr = { .family = AF_INET, .v4 = 0x0a000000 }, .len = 8 };
	struct cfg_ip in = { .family = AF_INET, .v4 = 0x0affffff };
	struct cfg_ip out = { .family = AF_INET, .v4 = 0x0b000000 };
	struct cfg_prefix all = { .addr = { .family = AF_INET }, .len = 0 };
	struct cfg_ip v6 = { .family = AF_INET6 };

	assert_true(cfg_prefix_contains(&p, &in));
	assert_false(cfg_prefix_contains(&p, &out));
	assert_true(cfg_prefix_contains(&all, &out));
	assert_false(cfg_prefix_contains(&all, &v6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_dataplane_section),
		cmocka_unit_test(test_section_order_is_free),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_prefix_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
