/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config loader tests: a full valid file parsed field by field, then one test per kind
 * of error, each pinning the exact "FILE:LINE:COLUMN: message" a user would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"

/* The design's example (config-example.yaml) without its nat: section. */
static const char example[] =
	"ports:\n"
	"  - name: lan                     # unique\n"
	"    device: net_pcap0\n"
	"    mac: 02:00:00:00:01:01\n"
	"    mtu: 1500\n"
	"    ipv4: [192.168.1.1/24]\n"
	"    ipv6: [\"2001:db8:1::1/64\"]\n"
	"  - name: wan\n"
	"    device: net_pcap1\n"
	"    ipv4: [203.0.113.1/24]\n"
	"    ipv6: [\"2001:db8:ff::1/64\"]\n"
	"\n"
	"neighbours:\n"
	"  - {ip: 203.0.113.254, mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: \"2001:db8:ff::fe\", mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: 192.168.1.10, mac: \"02:00:00:00:00:10\", port: lan}\n"
	"\n"
	"routes:\n"
	"  - {prefix: 0.0.0.0/0, via: 203.0.113.254}\n"
	"  - {prefix: \"::/0\", via: \"2001:db8:ff::fe\"}\n"
	"  - {prefix: 10.20.0.0/16, via: 192.168.1.10}\n"
	"  - {prefix: 10.30.0.0/16, via: [192.168.1.10, 192.168.1.11]}\n"
	"  - {prefix: 198.51.100.0/24, action: blackhole}\n"
	"  - {prefix: 100.64.0.0/10, action: unreachable}\n"
	"\n"
	"dataplane:\n"
	"  burst: 32\n"
	"  mbufs: 65535\n";

/* Two ports, lines 1-9; what a test appends starts on line 10. */
#define PORTS                                \
	"ports:\n"                           \
	"  - name: lan\n"                    \
	"    device: net_pcap0\n"            \
	"    ipv4: [192.168.1.1/24]\n"       \
	"    ipv6: [\"2001:db8:1::1/64\"]\n" \
	"  - name: wan\n"                    \
	"    device: net_pcap1\n"            \
	"    ipv4: [203.0.113.1/24]\n"       \
	"    ipv6: [\"2001:db8:ff::1/64\"]\n"

static int load(const char *yaml, struct config *cfg, char *err)
{
	return config_load_string("t.yaml", yaml, strlen(yaml), cfg, err, CFG_ERR_MAX);
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* The load must fail with exactly WANT and leave the config empty. */
static void check_error(const char *yaml, const char *want)
{
	char err[CFG_ERR_MAX] = "";
	struct config cfg;

	memset(&cfg, 0xa5, sizeof(cfg)); /* garbage in: the loader must not rely on it */
	if (load(yaml, &cfg, err) != -1)
		fail_msg("loaded, expected error '%s'", want);
	if (strcmp(err, want))
		fail_msg("error\n  got:  '%s'\n  want: '%s'", err, want);
	assert_true(all_zero(&cfg, sizeof(cfg)));
	config_free(&cfg);
}

/* Same, for messages whose wording comes from libyaml: pin location and our prefix. */
static void check_error_prefix(const char *yaml, const char *want)
{
	char err[CFG_ERR_MAX] = "";
	struct config cfg;

	assert_int_equal(load(yaml, &cfg, err), -1);
	if (strncmp(err, want, strlen(want)))
		fail_msg("error\n  got:  '%s'\n  want: '%s...'", err, want);
	assert_true(all_zero(&cfg, sizeof(cfg)));
}

static void load_ok(const char *yaml, struct config *cfg)
{
	char err[CFG_ERR_MAX] = "";

	if (load(yaml, cfg, err))
		fail_msg("unexpected error: %s", err);
}

static struct cfg_ip ip4(const char *s)
{
	struct cfg_ip ip = { .family = AF_INET };
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	ip.v4 = ntohl(a.s_addr);
	return ip;
}

static struct cfg_ip ip6(const char *s)
{
	struct cfg_ip ip = { .family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, s, ip.v6), 1);
	return ip;
}

static void assert_ip(const struct cfg_ip *ip, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(cfg_ip_format(ip, buf, sizeof(buf)), want);
}

/* ---- valid files ---- */

static void test_example_ports(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 1, 1 };
	struct config cfg;

	(void)state;
	load_ok(example, &cfg);
	assert_string_equal(cfg.path, "t.yaml");
	assert_int_equal(cfg.n_ports, 2);
	assert_string_equal(cfg.ports[0].name, "lan");
	assert_string_equal(cfg.ports[0].device, "net_pcap0");
	assert_true(cfg.ports[0].has_mac);
	assert_memory_equal(cfg.ports[0].mac, mac, 6);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_int_equal(cfg.ports[0].loc.line, 2);
	assert_int_equal(cfg.ports[0].loc.column, 5);
	assert_int_equal(cfg.ports[0].device_loc.line, 3);
	assert_int_equal(cfg.ports[0].device_loc.column, 13);
	assert_int_equal(cfg.ports[0].n_ipv4, 1);
	assert_int_equal(cfg.ports[0].ipv4[0].addr.family, AF_INET);
	assert_int_equal(cfg.ports[0].ipv4[0].addr.v4, 0xc0a80101); /* host order, host bits kept */
	assert_int_equal(cfg.ports[0].ipv4[0].len, 24);
	assert_int_equal(cfg.ports[0].n_ipv6, 1);
	assert_ip(&cfg.ports[0].ipv6[0].addr, "2001:db8:1::1");
	assert_int_equal(cfg.ports[0].ipv6[0].len, 64);

	assert_string_equal(cfg.ports[1].name, "wan");
	assert_false(cfg.ports[1].has_mac);
	assert_int_equal(cfg.ports[1].mtu, 1500); /* the default */
	assert_ip(&cfg.ports[1].ipv4[0].addr, "203.0.113.1");
	assert_ip(&cfg.ports[1].ipv6[0].addr, "2001:db8:ff::1");
	assert_int_equal(config_port_index(&cfg, "wan"), 1);
	assert_int_equal(config_port_index(&cfg, "lan"), 0);
	assert_int_equal(config_port_index(&cfg, "dmz"), -1);
	config_free(&cfg);
}

static void test_example_neighbours(void **state)
{
	static const uint8_t mac_fe[6] = { 2, 0, 0, 0, 0, 0xfe };
	struct config cfg;

	(void)state;
	load_ok(example, &cfg);
	assert_int_equal(cfg.n_neighbours, 3);
	assert_ip(&cfg.neighbours[0].ip, "203.0.113.254");
	assert_memory_equal(cfg.neighbours[0].mac, mac_fe, 6);
	assert_int_equal(cfg.neighbours[0].port, 1);
	assert_int_equal(cfg.neighbours[0].loc.line, 14);
	assert_int_equal(cfg.neighbours[0].loc.column, 5);
	assert_int_equal(cfg.neighbours[1].ip.family, AF_INET6);
	assert_ip(&cfg.neighbours[1].ip, "2001:db8:ff::fe");
	assert_int_equal(cfg.neighbours[1].port, 1);
	assert_ip(&cfg.neighbours[2].ip, "192.168.1.10");
	assert_int_equal(cfg.neighbours[2].port, 0);
	config_free(&cfg);
}

static void test_example_routes(void **state)
{
	const struct cfg_route *r;
	struct config cfg;

	(void)state;
	load_ok(example, &cfg);
	assert_int_equal(cfg.n_routes, 6);
	r = cfg.routes;
	assert_ip(&r[0].prefix.addr, "0.0.0.0");
	assert_int_equal(r[0].prefix.len, 0);
	assert_int_equal(r[0].action, CFG_ROUTE_FORWARD);
	assert_int_equal(r[0].n_via, 1);
	assert_ip(&r[0].via[0], "203.0.113.254");
	assert_int_equal(r[0].via_port[0], 1);
	assert_int_equal(r[0].loc.line, 19);
	assert_int_equal(r[0].loc.column, 5);

	assert_int_equal(r[1].prefix.addr.family, AF_INET6);
	assert_ip(&r[1].prefix.addr, "::");
	assert_int_equal(r[1].prefix.len, 0);
	assert_int_equal(r[1].via_port[0], 1);

	assert_int_equal(r[2].prefix.addr.v4, 0x0a140000);
	assert_int_equal(r[2].prefix.len, 16);
	assert_int_equal(r[2].via_port[0], 0);

	assert_int_equal(r[3].n_via, 2); /* ECMP */
	assert_ip(&r[3].via[0], "192.168.1.10");
	assert_ip(&r[3].via[1], "192.168.1.11");
	assert_int_equal(r[3].via_port[0], 0);
	assert_int_equal(r[3].via_port[1], 0);

	assert_int_equal(r[4].action, CFG_ROUTE_BLACKHOLE);
	assert_int_equal(r[4].n_via, 0);
	assert_int_equal(r[5].action, CFG_ROUTE_UNREACHABLE);
	assert_ip(&r[5].prefix.addr, "100.64.0.0");
	assert_int_equal(r[5].prefix.len, 10);

	assert_int_equal(cfg.dataplane.burst, 32);
	assert_int_equal(cfg.dataplane.mbufs, 65535);
	config_free(&cfg);
}

/* Only ports are required; everything else has a default. Block and flow mappings mix. */
static void test_minimal_and_defaults(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("ports: [{name: p0, device: d0}]\n", &cfg);
	assert_int_equal(cfg.n_ports, 1);
	assert_int_equal(cfg.ports[0].n_ipv4, 0);
	assert_int_equal(cfg.n_neighbours, 0);
	assert_int_equal(cfg.n_routes, 0);
	assert_int_equal(cfg.dataplane.burst, 32);
	assert_int_equal(cfg.dataplane.mbufs, 65535);
	assert_int_equal(cfg.slow_path.neighbour_timeout, 300);
	assert_int_equal(cfg.slow_path.icmp_rate, 100);
	assert_int_equal(cfg.slow_path.icmp_burst, 50);
	assert_int_equal(cfg.slow_path.neighbours, 4096);
	config_free(&cfg);

	load_ok("ports: [{name: p0, device: d0}]\n"
		"slow_path: {neighbour_timeout: 5, icmp_rate: 0, icmp_burst: 7, neighbours: 16}\n",
		&cfg);
	assert_int_equal(cfg.slow_path.neighbour_timeout, 5);
	assert_int_equal(cfg.slow_path.icmp_rate, 0);
	assert_int_equal(cfg.slow_path.icmp_burst, 7);
	assert_int_equal(cfg.slow_path.neighbours, 16);
	config_free(&cfg);

	load_ok("dataplane: {burst: 256}\n"
		"ports:\n"
		"  - {name: p0, device: d0, mtu: 9000}\n"
		"  - name: p1\n"
		"    device: d1\n"
		"    mtu: 68\n"
		"neighbours: []\n"
		"routes: []\n",
		&cfg);
	assert_int_equal(cfg.ports[0].mtu, 9000);
	assert_int_equal(cfg.ports[1].mtu, 68);
	assert_int_equal(cfg.dataplane.burst, 256);
	assert_int_equal(cfg.dataplane.mbufs, 65535);
	config_free(&cfg);
}

/* A next hop covered by two ports' subnets goes out the one with the longer prefix. */
static void test_via_longest_prefix(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("ports:\n"
		"  - {name: a, device: d0, ipv4: [10.0.0.1/8], ipv6: [\"fe80::1/64\"]}\n"
		"  - {name: b, device: d1, ipv4: [10.1.0.1/16, 10.2.0.1/31],"
		" ipv6: [\"fe80::2/64\"]}\n"
		"routes:\n"
		"  - {prefix: 1.0.0.0/8, via: 10.1.2.3}\n"
		"  - {prefix: 2.0.0.0/8, via: [10.2.3.4, 10.1.0.9, 10.2.0.0]}\n"
		"  - {prefix: \"2001:db8::/32\", via: \"fe80::9\"}\n"
		"  - {prefix: 3.3.3.3/32, action: blackhole}\n",
		&cfg);
	assert_int_equal(cfg.routes[0].via_port[0], 1);
	assert_int_equal(cfg.routes[1].n_via, 3);
	assert_int_equal(cfg.routes[1].via_port[0], 0);
	assert_int_equal(cfg.routes[1].via_port[1], 1);
	assert_int_equal(cfg.routes[1].via_port[2], 1); /* /31: both addresses are hosts */
	assert_int_equal(cfg.routes[2].via_port[0], 0); /* same link-local subnet: first port */
	assert_int_equal(cfg.routes[3].prefix.len, 32);
	config_free(&cfg);
}

/* ---- random damage: every field of every section, cut, spliced and garbled ---- */

static const char every_section[] =
	"ports:\n"
	"  - {name: lan, device: net_pcap0, mac: 02:00:00:00:01:01, mtu: 9000,\n"
	"     ipv4: [192.168.1.1/24], ipv6: [\"2001:db8:1::1/64\"]}\n"
	"  - name: wan\n"
	"    device: net_pcap1\n"
	"    ipv4: [203.0.113.1/24, 198.18.0.1/31]\n"
	"    ipv6: [\"2001:db8:ff::1/64\"]\n"
	"neighbours:\n"
	"  - {ip: 203.0.113.254, mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"  - {ip: \"2001:db8:ff::fe\", mac: \"02:00:00:00:00:fe\", port: wan}\n"
	"routes:\n"
	"  - {prefix: 0.0.0.0/0, via: 203.0.113.254}\n"
	"  - {prefix: \"::/0\", via: \"2001:db8:ff::fe\"}\n"
	"  - {prefix: 10.30.0.0/16, via: [192.168.1.10, 192.168.1.11]}\n"
	"  - {prefix: 198.51.100.0/24, action: blackhole}\n"
	"  - {prefix: 100.64.0.0/10, action: unreachable}\n"
	"nat:\n"
	"  snat:\n"
	"    - {from: 192.168.1.0/24, out: wan, pool: [203.0.113.10-203.0.113.11], ports: 1024-65535}\n"
	"  dnat:\n"
	"    - {proto: tcp, match: \"203.0.113.1:443\", to: \"192.168.1.20:8443\"}\n"
	"  static:\n"
	"    - {inside: 192.168.1.50, outside: 203.0.113.50}\n"
	"  nptv6:\n"
	"    - {inside: \"fd00:1::/48\", outside: \"2001:db8:100::/48\", port: wan}\n"
	"  filtering: address-dependent\n"
	"  timeouts: {tcp_established: 7440, tcp_transitory: 240, udp: 300, icmp: 60}\n"
	"  max_sessions: 1048576\n"
	"dataplane: {burst: 32, mbufs: 65535}\n"
	"metrics: {listen: \"127.0.0.1:9100\"}\n"
	"slow_path: {neighbour_timeout: 300, icmp_rate: 100, icmp_burst: 50}\n";

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* One random change to the LEN bytes at BUF (room for CAP): a span cut out, a YAML
 * token or an extreme value put in, a line repeated, or the end cut off. */
static size_t damage(char *buf, size_t len, size_t cap, uint32_t *rng)
{
	static const char *const tokens[] = {
		":", "- ", "[", "]", "{", "}", ",", "#", "\"", "'", " ", "\n", "\t", "\n  ",
		"0", "-1", "4294967296", "99999999999999999999", "1e9", "0x10", "::", "/", "/129",
		"255.255.255.256", "&a ", "*a", "!!str ", "~", "null", "yes", "\xff\xfe", "%",
		"\\", "..", "---\n", "? ", "|\n", "\0",
	};
	size_t at = len ? xorshift(rng) % len : 0, n, end;
	const char *tok;

	switch (xorshift(rng) % 4) {
	case 0: /* cut a span */
		n = 1 + xorshift(rng) % 12;
		n = n < len - at ? n : len - at;
		memmove(buf + at, buf + at + n, len - at - n);
		return len - n;
	case 1: /* put a token in */
		tok = tokens[xorshift(rng) % (sizeof(tokens) / sizeof(tokens[0]))];
		n = tok[0] ? strlen(tok) : 1; /* "\0": one NUL byte */
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		memcpy(buf + at, tok, n);
		return len + n;
	case 2: /* repeat the line AT is in */
		while (at && buf[at - 1] != '\n')
			at--;
		for (end = at; end < len && buf[end] != '\n'; end++)
			;
		n = end - at + (end < len);
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		return len + n;
	default: /* the end cut off */
		return at;
	}
}

/* "t.yaml:LINE:COLUMN: message", LINE and COLUMN from 1. */
static bool located(const char *err)
{
	unsigned int line, col;
	int end = 0;

	return sscanf(err, "t.yaml:%u:%u: %n", &line, &col, &end) == 2 && end > 0 && line >= 1 &&
	       col >= 1 && err[end] != '\0';
}

static void test_random_damage_loads_or_says_where(void **state)
{
	enum { ROUNDS = 20000 };
	static char buf[sizeof(every_section) + 512];
	char err[CFG_ERR_MAX];
	uint32_t rng = 2463534242u;
	unsigned int round, loaded = 0, changes;
	struct config cfg;
	size_t len;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		len = sizeof(every_section) - 1;
		memcpy(buf, every_section, len);
		for (changes = 1 + xorshift(&rng) % 3; changes; changes--)
			len = damage(buf, len, sizeof(buf), &rng);
		err[0] = '\0';
		memset(&cfg, 0xa5, sizeof(cfg));
		if (config_load_string("t.yaml", buf, len, &cfg, err, sizeof(err)) == 0) {
			loaded++;
			config_free(&cfg);
			continue;
		}
		if (!located(err))
			fail_msg("round %u: error without a location: '%s'\n%.*s", round, err,
				 (int)len, buf);
		assert_true(all_zero(&cfg, sizeof(cfg)));
	}
	/* Both outcomes were exercised: damage that still loads (a comment, a repeated
	 * neighbour...) and damage that must not. */
	print_message("loaded %u of %u\n", loaded, ROUNDS);
	assert_true(loaded > 0 && loaded < ROUNDS);
}

static void test_shipped_configs(void **state)
{
	char err[CFG_ERR_MAX] = "";
	struct config cfg;

	(void)state;
	if (config_load(TEST_SRC_DIR "/../../config/demo.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg.n_ports, 2);
	assert_int_equal(cfg.n_neighbours, 5);
	assert_int_equal(cfg.n_routes, 7);
	assert_int_equal(cfg.dataplane.mbufs, 16383);
	assert_string_equal(cfg.path, TEST_SRC_DIR "/../../config/demo.yaml");
	config_free(&cfg);
	if (config_load(TEST_SRC_DIR "/../../config/router.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(cfg.ports[0].device, "0000:3b:00.0");
	config_free(&cfg);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/dpfwd-test-config-XXXXXX", want[CFG_ERR_MAX], err[CFG_ERR_MAX];
	struct config cfg;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(example, f);
	fclose(f);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.n_routes, 6);
	config_free(&cfg);

	unlink(path);
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1:1: cannot read file: No such file or directory", path);
	assert_string_equal(err, want);
	assert_true(all_zero(&cfg, sizeof(cfg)));

	assert_int_equal(config_load("/tmp", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp:1:1: cannot read file: Is a directory");

	/* A path that would not fit where reloads find it again is refused. */
	char longpath[600];

	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(config_load(longpath, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "...:1:1: path longer than 511 characters"));
}

/* ---- helpers ---- */

static void test_prefix_contains(void **state)
{
	struct cfg_prefix any4 = { .addr = ip4("0.0.0.0"), .len = 0 };
	struct cfg_prefix any6 = { .addr = ip6("::"), .len = 0 };
	struct cfg_prefix lan = { .addr = ip4("192.168.1.1"), .len = 24 };
	struct cfg_prefix host = { .addr = ip4("192.168.1.1"), .len = 32 };
	struct cfg_prefix v6 = { .addr = ip6("2001:db8:1::1"), .len = 65 };
	struct cfg_prefix host6 = { .addr = ip6("2001:db8::1"), .len = 128 };
	struct cfg_ip a = ip4("192.168.1.77"), b = ip4("192.168.2.1");

	(void)state;
	assert_true(cfg_prefix_contains(&any4, &a));
	assert_false(cfg_prefix_contains(&any4, &host6.addr)); /* other family */
	assert_true(cfg_prefix_contains(&any6, &host6.addr));
	assert_false(cfg_prefix_contains(&any6, &a));
	assert_true(cfg_prefix_contains(&lan, &a));
	assert_false(cfg_prefix_contains(&lan, &b));
	assert_true(cfg_prefix_contains(&host, &host.addr));
	assert_false(cfg_prefix_contains(&host, &a));
	a = ip6("2001:db8:1:0:7fff::9");
	assert_true(cfg_prefix_contains(&v6, &a));
	a = ip6("2001:db8:1:0:8000::");
	assert_false(cfg_prefix_contains(&v6, &a));
	assert_true(cfg_prefix_contains(&host6, &host6.addr));
	a = ip6("2001:db8::2");
	assert_false(cfg_prefix_contains(&host6, &a));
}

static void test_ip_format(void **state)
{
	struct cfg_ip a = ip4("10.1.2.3"), b = ip6("2001:db8::1");
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(a.v4, 0x0a010203);
	assert_string_equal(cfg_ip_format(&a, buf, sizeof(buf)), "10.1.2.3");
	assert_string_equal(cfg_ip_format(&b, buf, sizeof(buf)), "2001:db8::1");
}

/* ---- errors: document and keys ---- */

static void test_err_yaml_syntax(void **state)
{
	(void)state;
	check_error_prefix(PORTS "routes: [\n", "t.yaml:11:1: invalid YAML: ");
	check_error_prefix("ports:\n  - name: lan\n   device: d0\n", "t.yaml:3:4: invalid YAML: ");
	check_error_prefix("ports: [{name: \"lan}]\n", "t.yaml:2:1: invalid YAML: ");
	check_error_prefix("ports: \"\x01\"\n", "t.yaml:1:9: invalid YAML: ");
}

static void test_err_empty(void **state)
{
	(void)state;
	check_error("", "t.yaml:1:1: empty configuration: 'ports' is required");
	check_error("# nothing\n\n", "t.yaml:1:1: empty configuration: 'ports' is required");
	check_error("\n- a\n", "t.yaml:2:1: expected a mapping");
	check_error("routes: []\n", "t.yaml:1:1: missing key 'ports'");
	check_error("ports: []\n", "t.yaml:1:8: at least one port is needed");
	check_error(PORTS "---\nports: []\n", "t.yaml:11:1: only one YAML document is allowed");
}

static void test_err_unknown_keys(void **state)
{
	(void)state;
	check_error(PORTS "route:\n", "t.yaml:10:1: unknown key 'route'");
	check_error("ports:\n  - name: lan\n    devise: d0\n", "t.yaml:3:5: unknown key 'devise'");
	check_error(PORTS "neighbours: [{ip: 192.168.1.2, mac: \"02:00:00:00:00:01\", port: lan,"
			  " vlan: 3}]\n",
		    "t.yaml:10:69: unknown key 'vlan'");
	check_error(PORTS "routes: [{prefix: 10.0.0.0/8, via: 192.168.1.2, metric: 1}]\n",
		    "t.yaml:10:49: unknown key 'metric'");
	check_error(PORTS "dataplane: {burst: 32, mbuf: 1024}\n",
		    "t.yaml:10:24: unknown key 'mbuf'");
	check_error(PORTS "routes: []\nroutes: []\n", "t.yaml:11:1: duplicate key 'routes'");
	check_error("ports: [{name: a, device: b, name: c}]\n",
		    "t.yaml:1:30: duplicate key 'name'");
}

/* The design's nat: example, every field. */
static void test_nat_example(void **state)
{
	static const char yaml[] = PORTS
		"nat:\n"
		"  snat:\n"
		"    - {from: 192.168.1.0/24, out: wan, pool: [203.0.113.10-203.0.113.11], ports: 1024-65535}\n"
		"  dnat:\n"
		"    - {proto: tcp, match: \"203.0.113.1:443\", to: \"192.168.1.20:8443\"}\n"
		"    - {proto: udp, match: \"203.0.113.1:53\", to: \"192.168.1.21:53\"}\n"
		"  static:\n"
		"    - {inside: 192.168.1.50, outside: 203.0.113.50}\n"
		"  nptv6:\n"
		"    - {inside: \"fd00:1::/48\", outside: \"2001:db8:100::/48\", port: wan}\n"
		"  timeouts: {tcp_established: 7000, tcp_transitory: 200, udp: 30, icmp: 10}\n"
		"  max_sessions: 1000\n"
		"  filtering: endpoint-independent\n";
	struct config cfg;

	(void)state;
	load_ok(yaml, &cfg);
	assert_true(cfg.nat.enabled);
	assert_int_equal(cfg.nat.loc.line, 10);
	assert_int_equal(cfg.nat.n_snat, 1);
	assert_int_equal(cfg.nat.snat[0].from.addr.v4, 0xc0a80100);
	assert_int_equal(cfg.nat.snat[0].from.len, 24);
	assert_int_equal(cfg.nat.snat[0].out, 1);
	assert_int_equal(cfg.nat.snat[0].pool_first, 0xcb00710a);
	assert_int_equal(cfg.nat.snat[0].pool_last, 0xcb00710b);
	assert_int_equal(cfg.nat.snat[0].port_first, 1024);
	assert_int_equal(cfg.nat.snat[0].port_last, 65535);
	assert_int_equal(cfg.nat.n_dnat, 2);
	assert_int_equal(cfg.nat.dnat[0].proto, IPPROTO_TCP);
	assert_int_equal(cfg.nat.dnat[0].match_ip, 0xcb007101);
	assert_int_equal(cfg.nat.dnat[0].match_port, 443);
	assert_int_equal(cfg.nat.dnat[0].to_ip, 0xc0a80114);
	assert_int_equal(cfg.nat.dnat[0].to_port, 8443);
	assert_int_equal(cfg.nat.dnat[1].proto, IPPROTO_UDP);
	assert_int_equal(cfg.nat.n_static, 1);
	assert_int_equal(cfg.nat.statics[0].inside, 0xc0a80132);
	assert_int_equal(cfg.nat.statics[0].outside, 0xcb007132);
	assert_int_equal(cfg.nat.n_nptv6, 1);
	assert_ip(&cfg.nat.nptv6[0].inside.addr, "fd00:1::");
	assert_ip(&cfg.nat.nptv6[0].outside.addr, "2001:db8:100::");
	assert_int_equal(cfg.nat.nptv6[0].inside.len, 48);
	assert_int_equal(cfg.nat.nptv6[0].port, 1);
	assert_int_equal(cfg.nat.timeouts.tcp_established, 7000);
	assert_int_equal(cfg.nat.timeouts.tcp_transitory, 200);
	assert_int_equal(cfg.nat.timeouts.udp, 30);
	assert_int_equal(cfg.nat.timeouts.icmp, 10);
	assert_int_equal(cfg.nat.max_sessions, 1000);
	assert_int_equal(cfg.nat.filtering, CFG_NAT_FILTER_ENDPOINT);
	config_free(&cfg);
}

/* Defaults: RFC 4787 / 5382 / 5508 timeouts, 2^20 sessions, address-dependent filtering,
 * ports 1024-65535, a single pool address. */
static void test_nat_defaults(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(PORTS "nat:\n  snat: [{from: 10.0.0.0/8, out: wan, pool: [203.0.113.9]}]\n", &cfg);
	assert_int_equal(cfg.nat.timeouts.tcp_established, 7440);
	assert_int_equal(cfg.nat.timeouts.tcp_transitory, 240);
	assert_int_equal(cfg.nat.timeouts.udp, 300);
	assert_int_equal(cfg.nat.timeouts.icmp, 60);
	assert_int_equal(cfg.nat.max_sessions, 1u << 20);
	assert_int_equal(cfg.nat.filtering, CFG_NAT_FILTER_ADDRESS);
	assert_int_equal(cfg.nat.snat[0].pool_first, cfg.nat.snat[0].pool_last);
	assert_int_equal(cfg.nat.snat[0].port_first, 1024);
	assert_int_equal(cfg.nat.snat[0].port_last, 65535);
	config_free(&cfg);
	load_ok(PORTS "nat: {}\n", &cfg);
	assert_true(cfg.nat.enabled);
	config_free(&cfg);
	load_ok(PORTS, &cfg);
	assert_false(cfg.nat.enabled);
	config_free(&cfg);
}

static void test_metrics_listen(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(PORTS "metrics: {listen: \"127.0.0.1:9464\"}\n", &cfg);
	assert_true(cfg.metrics.enabled);
	assert_ip(&cfg.metrics.addr, "127.0.0.1");
	assert_int_equal(cfg.metrics.port, 9464);
	config_free(&cfg);
	load_ok(PORTS "metrics: {listen: \"[::1]:80\"}\n", &cfg);
	assert_ip(&cfg.metrics.addr, "::1");
	assert_int_equal(cfg.metrics.port, 80);
	config_free(&cfg);
	check_error(PORTS "metrics: {listen: \"localhost:9464\"}\n",
		    "t.yaml:10:19: invalid listen address 'localhost:9464': expected ADDRESS:PORT "
		    "or [IPv6ADDRESS]:PORT");
	check_error(PORTS "metrics: {listen: \"::1:9464\"}\n",
		    "t.yaml:10:19: invalid listen address '::1:9464': expected ADDRESS:PORT or "
		    "[IPv6ADDRESS]:PORT");
	check_error(PORTS "metrics: {listen: \"127.0.0.1\"}\n",
		    "t.yaml:10:19: invalid listen address '127.0.0.1': expected ADDRESS:PORT or "
		    "[IPv6ADDRESS]:PORT");
	check_error(PORTS "metrics: {listen: \"127.0.0.1:0\"}\n",
		    "t.yaml:10:19: invalid port in '127.0.0.1:0': expected 1 to 65535");
	check_error(PORTS "metrics: {listen: \"127.0.0.1:70000\"}\n",
		    "t.yaml:10:19: invalid port in '127.0.0.1:70000': expected 1 to 65535");
	check_error(PORTS "metrics: {port: 1}\n", "t.yaml:10:11: unknown key 'port'");
	check_error(PORTS "metrics: {}\n", "t.yaml:10:10: missing key 'listen'");
}

#define SNAT(fields) PORTS "nat:\n  snat:\n    - {" fields "}\n"

static void test_err_nat(void **state)
{
	struct config cfg;

	(void)state;
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.2.3.4], color: red"),
		    "t.yaml:12:53: unknown key 'color'");
	check_error(SNAT("from: 10.0.0.0/8, out: wan"), "t.yaml:12:7: missing key 'pool'");
	check_error(SNAT("from: 10.0.0.1/8, out: wan, pool: [1.2.3.4]"),
		    "t.yaml:12:14: prefix 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?");
	check_error(SNAT("from: \"fd00::/8\", out: wan, pool: [1.2.3.4]"),
		    "t.yaml:12:14: expected an IPv4 prefix");
	check_error(SNAT("from: 10.0.0.0/8, out: dmz, pool: [1.2.3.4]"),
		    "t.yaml:12:31: unknown port 'dmz'");
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.2.3.9-1.2.3.4]"),
		    "t.yaml:12:43: address range '1.2.3.9-1.2.3.4' ends before it starts");
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.2.3.4, 1.2.3.6]"),
		    "t.yaml:12:42: expected one address range: [FIRST-LAST]");
	check_error(PORTS "routes:\n  - {prefix: \"10.0.0.0/8\\0junk\", action: blackhole}\n",
		    "t.yaml:11:14: a value with a NUL character in it");
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.0.0.0-1.1.0.0]"),
		    "t.yaml:12:43: address range '1.0.0.0-1.1.0.0' holds 65537 addresses: at most "
		    "256");
	load_ok(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.0.0.0-1.0.0.255]"), &cfg);
	config_free(&cfg);
	check_error(PORTS "nat:\n  snat:\n"
		    "    - {from: 10.0.0.0/8, out: wan, pool: [1.0.0.0-1.0.0.199]}\n"
		    "    - {from: 10.1.0.0/16, out: wan, pool: [1.0.1.0-1.0.1.56]}\n",
		    "t.yaml:13:7: the snat pools hold 257 addresses in all: at most 256");
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.2.3.4], ports: 0-10"),
		    "t.yaml:12:60: invalid port range '0-10': expected FIRST-LAST within 1-65535");
	check_error(SNAT("from: 10.0.0.0/8, out: wan, pool: [1.2.3.4], ports: 1024-65536"),
		    "t.yaml:12:60: invalid port range '1024-65536': expected FIRST-LAST within "
		    "1-65535");
	check_error(PORTS "nat:\n  dnat: [{proto: sctp, match: \"1.2.3.4:1\", to: \"10.0.0.1:1\"}]\n",
		    "t.yaml:11:18: unknown proto 'sctp': expected tcp or udp");
	check_error(PORTS "nat:\n  dnat: [{proto: tcp, match: \"1.2.3.4\", to: \"10.0.0.1:1\"}]\n",
		    "t.yaml:11:30: invalid endpoint '1.2.3.4': expected IPv4ADDRESS:PORT");
	check_error(PORTS "nat:\n  dnat:\n"
			  "    - {proto: tcp, match: \"1.2.3.4:80\", to: \"10.0.0.1:80\"}\n"
			  "    - {proto: tcp, match: \"1.2.3.4:80\", to: \"10.0.0.2:80\"}\n",
		    "t.yaml:13:27: duplicate port forward for 1.2.3.4:80");
	check_error(PORTS "nat:\n  static:\n    - {inside: 10.0.0.1, outside: 1.2.3.4}\n"
			  "    - {inside: 10.0.0.1, outside: 1.2.3.5}\n",
		    "t.yaml:13:7: inside address used by another 1:1 rule");
	check_error(PORTS "nat:\n  nptv6: [{inside: \"fd00::/48\", outside: \"2001:db8::/56\","
			  " port: wan}]\n",
		    "t.yaml:11:11: inside and outside prefixes must have the same length");
	check_error(PORTS "nat:\n  filtering: symmetric\n",
		    "t.yaml:11:14: unknown filtering 'symmetric': expected endpoint-independent, "
		    "address-dependent or address-and-port-dependent");
	check_error(PORTS "nat:\n  max_sessions: 0\n",
		    "t.yaml:11:17: expected an integer from 1 to 16777216");
	check_error(PORTS "nat:\n  timeouts: {udp: 0}\n",
		    "t.yaml:11:19: expected an integer from 1 to 1000000");
	check_error(PORTS "nat:\n  timeouts: {tcp_established: 1000001}\n",
		    "t.yaml:11:31: expected an integer from 1 to 1000000");
}

static void test_err_missing_key(void **state)
{
	(void)state;
	check_error("ports:\n  - name: lan\n    mtu: 1500\n", "t.yaml:2:5: missing key 'device'");
	check_error("ports: [{device: d0}]\n", "t.yaml:1:9: missing key 'name'");
	check_error(PORTS "neighbours:\n  - {ip: 192.168.1.2, port: lan}\n",
		    "t.yaml:11:5: missing key 'mac'");
	check_error(PORTS "routes:\n  - {via: 192.168.1.2}\n", "t.yaml:11:5: missing key 'prefix'");
}

/* ---- errors: types and integers ---- */

static void test_err_wrong_type(void **state)
{
	(void)state;
	check_error("ports: 5\n", "t.yaml:1:8: expected a list");
	check_error("ports: [lan]\n", "t.yaml:1:9: expected a mapping");
	check_error("ports:\n  - name: lan\n    device: d0\n    mtu: abc\n",
		    "t.yaml:4:10: expected an integer from 68 to 16110");
	check_error("ports:\n  - name: lan\n    device: d0\n    ipv4: 10.0.0.1/24\n",
		    "t.yaml:4:11: expected a list");
	check_error("ports: [{name: [lan], device: d0}]\n",
		    "t.yaml:1:16: expected a single value, not a list or mapping");
	check_error(PORTS "dataplane: 5\n", "t.yaml:10:12: expected a mapping");
	check_error(PORTS "neighbours: {ip: 1.2.3.4}\n", "t.yaml:10:13: expected a list");
}

static void test_err_integers(void **state)
{
	static const char *const bad[] = { "67", "16111", "-1", "+1500", "0x5dc", "1_500",
					   "1500.0", "99999999999999999999999", "\"\"", "[1500]" };
	char yaml[256];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), "ports: [{name: a, device: b, mtu: %s}]\n", bad[i]);
		check_error(yaml, "t.yaml:1:35: expected an integer from 68 to 16110");
	}
	check_error(PORTS "dataplane:\n  burst: 0\n", "t.yaml:11:10: expected an integer from 1 to 256");
	check_error(PORTS "dataplane:\n  burst: 257\n",
		    "t.yaml:11:10: expected an integer from 1 to 256");
	check_error(PORTS "dataplane:\n  mbufs: 1023\n",
		    "t.yaml:11:10: expected an integer from 1024 to 16777215");
	check_error(PORTS "slow_path:\n  neighbour_timeout: 0\n",
		    "t.yaml:11:22: expected an integer from 1 to 86400");
	check_error(PORTS "slow_path:\n  neighbours: 15\n",
		    "t.yaml:11:15: expected an integer from 16 to 1048576");
	check_error(PORTS "slow_path:\n  icmp_burst: 0\n",
		    "t.yaml:11:15: expected an integer from 1 to 1000000");
	check_error(PORTS "slow_path:\n  icmp_ratee: 5\n", "t.yaml:11:3: unknown key 'icmp_ratee'");
}

/* ---- errors: ports ---- */

static void test_err_port_fields(void **state)
{
	char yaml[512];

	(void)state;
	check_error(PORTS "  - {name: lan, device: d2}\n", "t.yaml:10:12: duplicate port name 'lan'");
	check_error("ports: [{name: \"a b\", device: d}]\n",
		    "t.yaml:1:16: port name 'a b': use letters, digits, '_', '-', '.'");
	check_error("ports: [{name: \"\", device: d}]\n",
		    "t.yaml:1:16: a port name must be 1 to 31 characters");
	memset(yaml, 0, sizeof(yaml));
	snprintf(yaml, sizeof(yaml), "ports: [{name: a, device: %0128d}]\n", 0);
	check_error(yaml, "t.yaml:1:27: a device name must be 1 to 127 characters");
}

static void test_err_mac(void **state)
{
	(void)state;
	check_error("ports: [{name: a, device: b, mac: 02:00:00:00:01}]\n",
		    "t.yaml:1:35: invalid MAC address '02:00:00:00:01': expected xx:xx:xx:xx:xx:xx");
	check_error("ports: [{name: a, device: b, mac: \"02:00:00:00:01:0g\"}]\n",
		    "t.yaml:1:35: invalid MAC address '02:00:00:00:01:0g': "
		    "expected xx:xx:xx:xx:xx:xx");
	check_error("ports: [{name: a, device: b, mac: \"02-00-00-00-01-01\"}]\n",
		    "t.yaml:1:35: invalid MAC address '02-00-00-00-01-01': "
		    "expected xx:xx:xx:xx:xx:xx");
	check_error("ports: [{name: a, device: b, mac: \"01:00:5e:00:00:01\"}]\n",
		    "t.yaml:1:35: MAC address '01:00:5e:00:00:01' is multicast");
	check_error("ports: [{name: a, device: b, mac: \"ff:ff:ff:ff:ff:ff\"}]\n",
		    "t.yaml:1:35: MAC address 'ff:ff:ff:ff:ff:ff' is multicast");
	check_error("ports: [{name: a, device: b, mac: \"00:00:00:00:00:00\"}]\n",
		    "t.yaml:1:35: MAC address '00:00:00:00:00:00' is all zeros");
}

static void test_err_port_address(void **state)
{
	(void)state;
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.300/24]}]\n",
		    "t.yaml:1:37: invalid IP address '192.168.1.300' in '192.168.1.300/24'");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.1]}]\n",
		    "t.yaml:1:37: invalid prefix '192.168.1.1': expected ADDRESS/LENGTH");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.1/33]}]\n",
		    "t.yaml:1:37: invalid prefix length in '192.168.1.1/33': expected 1 to 32");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.1/0]}]\n",
		    "t.yaml:1:37: invalid prefix length in '192.168.1.1/0': expected 1 to 32");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.1/]}]\n",
		    "t.yaml:1:37: invalid prefix length in '192.168.1.1/': expected 1 to 32");
	check_error("ports: [{name: a, device: b, ipv6: [\"2001:db8::1/129\"]}]\n",
		    "t.yaml:1:37: invalid prefix length in '2001:db8::1/129': expected 1 to 128");
	check_error("ports: [{name: a, device: b, ipv4: [\"2001:db8::1/64\"]}]\n",
		    "t.yaml:1:37: '2001:db8::1/64' is not an IPv4 address");
	check_error("ports: [{name: a, device: b, ipv6: [10.0.0.1/8]}]\n",
		    "t.yaml:1:37: '10.0.0.1/8' is not an IPv6 address");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.0/24]}]\n",
		    "t.yaml:1:37: 192.168.1.0/24 is a subnet address; an interface needs a host "
		    "address");
	check_error("ports: [{name: a, device: b, ipv4: [192.168.1.255/24]}]\n",
		    "t.yaml:1:37: 192.168.1.255/24 is a broadcast address; an interface needs a "
		    "host address");
	check_error("ports: [{name: a, device: b, ipv6: [\"2001:db8::/64\"]}]\n",
		    "t.yaml:1:37: 2001:db8::/64 is a subnet address; an interface needs a host "
		    "address");
	check_error(PORTS "  - {name: dmz, device: d2, ipv4: [192.168.1.2/24]}\n",
		    "t.yaml:10:36: subnet 192.168.1.0/24 is already connected on port 'lan'");
	check_error(PORTS "  - {name: dmz, device: d2, ipv4: [10.0.0.1/8, 10.0.0.1/16]}\n",
		    "t.yaml:10:48: address 10.0.0.1 is already on this port");
	check_error("ports: [{name: a, device: b, ipv4: [1.0.0.1/8, 1.0.0.2/8, 1.0.0.3/8, "
		    "1.0.0.4/8, 1.0.0.5/8, 1.0.0.6/8, 1.0.0.7/8, 1.0.0.8/8, 1.0.0.9/8]}]\n",
		    "t.yaml:1:36: at most 8 addresses per family");
}

/* ---- errors: neighbours ---- */

static void test_err_neighbour(void **state)
{
	(void)state;
	check_error(PORTS "neighbours:\n  - {ip: 192.168.1.2, mac: \"02:00:00:00:00:01\", port: dmz}\n",
		    "t.yaml:11:55: unknown port 'dmz'");
	check_error(PORTS "neighbours:\n  - {ip: 192.168.1.2, mac: \"02:00:00:00:00:01\", port: wan}\n",
		    "t.yaml:11:10: neighbour 192.168.1.2 is not on a connected subnet of port 'wan'");
	check_error(PORTS "neighbours:\n"
			  "  - {ip: \"2001:db8:1::2\", mac: \"02:00:00:00:00:01\", port: lan}\n"
			  "  - {ip: \"2001:db8:1:0::2\", mac: \"02:00:00:00:00:02\", port: lan}\n",
		    "t.yaml:12:10: duplicate neighbour 2001:db8:1::2");
	check_error(PORTS "neighbours:\n  - {ip: 192.168.1.1, mac: \"02:00:00:00:00:01\", port: lan}\n",
		    "t.yaml:11:10: neighbour 192.168.1.1 is one of dpfwd's own addresses");
	check_error(PORTS "neighbours:\n  - {ip: 192.168.1, mac: \"02:00:00:00:00:01\", port: lan}\n",
		    "t.yaml:11:10: invalid IP address '192.168.1'");
}

/* ---- errors: routes ---- */

static void test_err_route_prefix(void **state)
{
	(void)state;
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.1/8, action: blackhole}\n",
		    "t.yaml:11:14: prefix 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?");
	check_error(PORTS "routes:\n  - {prefix: \"2001:db8::1/32\", action: blackhole}\n",
		    "t.yaml:11:14: prefix 2001:db8::1/32 has host bits set; did you mean "
		    "2001:db8::/32?");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/33, action: blackhole}\n",
		    "t.yaml:11:14: invalid prefix length in '10.0.0.0/33': expected 0 to 32");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/-1, action: blackhole}\n",
		    "t.yaml:11:14: invalid prefix length in '10.0.0.0/-1': expected 0 to 32");
	check_error(PORTS "routes:\n"
			  "  - {prefix: 10.0.0.0/8, action: blackhole}\n"
			  "  - {prefix: 10.0.0.0/8, via: 192.168.1.2}\n",
		    "t.yaml:12:14: duplicate route for 10.0.0.0/8");
	/* The same address with another length, or another family, is another route; the
	 * same IPv6 prefix written differently is not. */
	check_error(PORTS "routes:\n"
			  "  - {prefix: 10.0.0.0/8, action: blackhole}\n"
			  "  - {prefix: 10.0.0.0/16, action: blackhole}\n"
			  "  - {prefix: \"2001:db8::/32\", action: blackhole}\n"
			  "  - {prefix: \"2001:0db8:0::/32\", action: blackhole}\n",
		    "t.yaml:14:14: duplicate route for 2001:0db8:0::/32");
}

static void test_err_route_via(void **state)
{
	(void)state;
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: 172.16.0.1}\n",
		    "t.yaml:11:31: next hop 172.16.0.1 is not on any connected subnet");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: [192.168.1.2, 172.16.0.1]}\n",
		    "t.yaml:11:45: next hop 172.16.0.1 is not on any connected subnet");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: \"2001:db8:1::2\"}\n",
		    "t.yaml:11:31: next hop 2001:db8:1::2 is IPv6 but prefix 10.0.0.0/8 is IPv4");
	check_error(PORTS "routes:\n  - {prefix: \"::/0\", via: 192.168.1.2}\n",
		    "t.yaml:11:27: next hop 192.168.1.2 is IPv4 but prefix ::/0 is IPv6");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: 192.168.1.1}\n",
		    "t.yaml:11:31: next hop 192.168.1.1 is one of dpfwd's own addresses");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: [192.168.1.2, 192.168.1.2]}\n",
		    "t.yaml:11:45: duplicate next hop 192.168.1.2");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: []}\n",
		    "t.yaml:11:31: expected an address or a list of 1 to 16 addresses");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: [192.168.1.1, 192.168.1.2, "
			  "192.168.1.3, 192.168.1.4, 192.168.1.5, 192.168.1.6, 192.168.1.7, "
			  "192.168.1.8, 192.168.1.9, 192.168.1.10, 192.168.1.11, 192.168.1.12, "
			  "192.168.1.13, 192.168.1.14, 192.168.1.15, 192.168.1.16, "
			  "192.168.1.17]}\n",
		    "t.yaml:11:31: expected an address or a list of 1 to 16 addresses");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: gateway}\n",
		    "t.yaml:11:31: invalid IP address 'gateway'");
}

static void test_err_route_action(void **state)
{
	(void)state;
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, via: 192.168.1.2, action: blackhole}\n",
		    "t.yaml:11:44: a route takes 'via' or 'action', not both");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, action: blackhole, via: 192.168.1.2}\n",
		    "t.yaml:11:45: a route takes 'via' or 'action', not both");
	check_error(PORTS "routes:\n  - prefix: 10.0.0.0/8\n",
		    "t.yaml:11:5: a route needs 'via' or 'action'");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, action: drop}\n",
		    "t.yaml:11:34: unknown action 'drop': expected blackhole or unreachable");
	check_error(PORTS "routes:\n  - {prefix: 10.0.0.0/8, action: forward}\n",
		    "t.yaml:11:34: unknown action 'forward': expected blackhole or unreachable");
}

/* A failed load leaves nothing to free, and freeing anyway (twice) is harmless. */
static void test_failed_load_is_empty(void **state)
{
	char err[CFG_ERR_MAX];
	struct config cfg;

	(void)state;
	/* Fails after neighbours and routes were allocated and partly filled. */
	assert_int_equal(load(PORTS "neighbours:\n"
				    "  - {ip: 192.168.1.2, mac: \"02:00:00:00:00:01\", port: lan}\n"
				    "routes:\n"
				    "  - {prefix: 10.0.0.0/8, via: 192.168.1.2}\n"
				    "  - {prefix: 11.0.0.0/8, via: 10.0.0.1}\n",
			      &cfg, err),
			 -1);
	assert_string_equal(err, "t.yaml:14:31: next hop 10.0.0.1 is not on any connected subnet");
	assert_true(all_zero(&cfg, sizeof(cfg)));
	assert_null(cfg.routes);
	config_free(&cfg);
	config_free(&cfg);

	load_ok(example, &cfg);
	config_free(&cfg);
	assert_true(all_zero(&cfg, sizeof(cfg)));
	config_free(&cfg);
}

/* A short error buffer truncates, never overflows. */
static void test_short_err_buffer(void **state)
{
	struct config cfg;
	char err[8];

	(void)state;
	assert_int_equal(config_load_string("t.yaml", "ports: 5", 8, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:");
}

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* FIPS 180-4 examples, and lengths around the padding boundary (55/56/64 bytes). */
static void test_sha256(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	};
	uint8_t d[32];
	char got[65];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_sha256(cases[i].in, strlen(cases[i].in), d);
		hex(d, got);
		assert_string_equal(got, cases[i].want);
	}
}

/* The loaded config carries the hash of the file's bytes. */
static void test_loaded_sha256(void **state)
{
	static const char yaml[] = "ports: [{name: a, device: d}]\n";
	struct config cfg;
	char err[CFG_ERR_MAX], got[65], want[65];
	uint8_t d[32];

	assert_int_equal(config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)), 0);
	config_sha256(yaml, strlen(yaml), d);
	hex(cfg.sha256, got);
	hex(d, want);
	assert_string_equal(got, want);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_ports),
		cmocka_unit_test(test_example_neighbours),
		cmocka_unit_test(test_example_routes),
		cmocka_unit_test(test_nat_example),
		cmocka_unit_test(test_nat_defaults),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_via_longest_prefix),
		cmocka_unit_test(test_shipped_configs),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_ip_format),
		cmocka_unit_test(test_err_yaml_syntax),
		cmocka_unit_test(test_err_empty),
		cmocka_unit_test(test_err_unknown_keys),
		cmocka_unit_test(test_err_nat),
		cmocka_unit_test(test_err_missing_key),
		cmocka_unit_test(test_err_wrong_type),
		cmocka_unit_test(test_err_integers),
		cmocka_unit_test(test_err_port_fields),
		cmocka_unit_test(test_err_mac),
		cmocka_unit_test(test_err_port_address),
		cmocka_unit_test(test_err_neighbour),
		cmocka_unit_test(test_err_route_prefix),
		cmocka_unit_test(test_err_route_via),
		cmocka_unit_test(test_err_route_action),
		cmocka_unit_test(test_failed_load_is_empty),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_loaded_sha256),
		cmocka_unit_test(test_random_damage_loads_or_says_where),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
