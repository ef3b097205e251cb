/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpfwd configuration: the YAML file turned into plain C structs.
 *
 * The loader does all validation that needs nothing but the file itself; anything
 * that needs the running system (does the device exist?) is checked by the caller,
 * which reports it with the location kept in struct cfg_loc. No DPDK types here, so
 * the loader and its tests build and run without EAL.
 */
#ifndef DPFWD_CONFIG_H
#define DPFWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_PORTS 32
#define CFG_MAX_PORT_ADDRS 8 /* per family, per port */
#define CFG_MAX_ECMP 16      /* next hops in one `via:` list */
#define CFG_NAME_MAX 32      /* port name, including the NUL */
#define CFG_DEVICE_MAX 128   /* device name, including the NUL */
#define CFG_ERR_MAX 512      /* one "FILE:LINE:COLUMN: message" */

/* Where a node starts in the file: 1-based, like compilers print it. */
struct cfg_loc {
	int line;
	int column;
};

/* An address of either family. IPv4 is kept in host byte order (what rte_fib takes);
 * IPv6 in network byte order (what rte_fib6 takes). */
struct cfg_ip {
	uint8_t family; /* AF_INET or AF_INET6 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

struct cfg_prefix {
	struct cfg_ip addr; /* for interface addresses: the address itself, host bits kept */
	uint8_t len;
};

struct cfg_port {
	char name[CFG_NAME_MAX];
	char device[CFG_DEVICE_MAX];
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu; /* default 1500 */
	unsigned int n_ipv4, n_ipv6;
	struct cfg_prefix ipv4[CFG_MAX_PORT_ADDRS];
	struct cfg_prefix ipv6[CFG_MAX_PORT_ADDRS];
	struct cfg_loc loc;        /* the port's mapping */
	struct cfg_loc device_loc; /* its `device:` value, for "unknown device" */
	struct cfg_loc mac_loc, mtu_loc; /* their values; line 0 where not given */
};

struct cfg_neighbour {
	struct cfg_ip ip;
	uint8_t mac[6];
	unsigned int port; /* index into config.ports */
	struct cfg_loc loc;
};

enum cfg_route_action {
	CFG_ROUTE_FORWARD = 0, /* `via:` one address or an ECMP list */
	CFG_ROUTE_BLACKHOLE,   /* drop silently, counted */
	CFG_ROUTE_UNREACHABLE, /* drop, counted (ICMP unreachable comes with the slow path) */
};

struct cfg_route {
	struct cfg_prefix prefix; /* host bits cleared */
	enum cfg_route_action action;
	unsigned int n_via;
	struct cfg_ip via[CFG_MAX_ECMP];
	unsigned int via_port[CFG_MAX_ECMP]; /* port whose connected subnet covers via[i] */
	struct cfg_loc loc;
};

struct cfg_dataplane {
	uint16_t burst;    /* packets per rx/tx burst, 1..256, default 32 */
	uint32_t mbufs;    /* mbufs in the packet pool, default 65535 */
	struct cfg_loc loc, burst_loc, mbufs_loc; /* the key, the values; line 0: absent */
};

struct cfg_slow_path {
	uint32_t neighbour_timeout; /* s a learned neighbour stays without news, default 300 */
	uint32_t icmp_rate;         /* ICMP errors per second, 0 = none, default 100 */
	uint32_t icmp_burst;        /* token bucket depth, default 50 */
	uint32_t neighbours;        /* neighbour entries ARP/ND may learn, default 4096 */
};

/* ---- nat: (see lib/nat) ---- */

/* RFC 4787 section 5: which outside endpoints may send through a mapping. */
enum cfg_nat_filtering {
	CFG_NAT_FILTER_ADDRESS = 0,      /* "address-dependent" (the default) */
	CFG_NAT_FILTER_ENDPOINT,         /* "endpoint-independent" */
	CFG_NAT_FILTER_ADDRESS_AND_PORT, /* "address-and-port-dependent" */
};

/* NAPT: sources in FROM leaving through port OUT get an address of the pool
 * [pool_first, pool_last] and a port of [port_first, port_last]. */
struct cfg_snat {
	struct cfg_prefix from; /* IPv4, host bits cleared */
	unsigned int out;       /* index into config.ports */
	uint32_t pool_first, pool_last; /* host order, first <= last */
	uint16_t port_first, port_last; /* 1..65535, first <= last */
	struct cfg_loc loc;
};

/* Port forward: PROTO traffic to MATCH_IP:MATCH_PORT goes to TO_IP:TO_PORT. */
struct cfg_dnat {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t match_ip, to_ip; /* host order */
	uint16_t match_port, to_port;
	struct cfg_loc loc;
};

/* 1:1, both directions, all protocols. */
struct cfg_static_nat {
	uint32_t inside, outside; /* host order */
	struct cfg_loc loc;
};

/* RFC 6296 prefix translation on port PORT: INSIDE <-> OUTSIDE, same length. */
struct cfg_nptv6 {
	struct cfg_prefix inside, outside; /* host bits cleared */
	unsigned int port;
	struct cfg_loc loc;
};

#define CFG_NAT_TIMEOUT_MAX 1000000 /* s */
#define CFG_MAX_POOL_ADDRS 256 /* snat pool addresses, all rules together */

struct cfg_nat_timeouts {
	uint32_t tcp_established; /* s, default 7440 (RFC 5382 REQ-5) */
	uint32_t tcp_transitory;  /* s, default 240 */
	uint32_t udp;             /* s, default 300 (RFC 4787 REQ-5) */
	uint32_t icmp;            /* s, default 60 (RFC 5508 REQ-1) */
};

struct cfg_nat {
	bool enabled; /* a nat: section is present */
	unsigned int n_snat, n_dnat, n_static, n_nptv6;
	struct cfg_snat *snat; /* malloc'd, as the others */
	struct cfg_dnat *dnat;
	struct cfg_static_nat *statics;
	struct cfg_nptv6 *nptv6;
	struct cfg_nat_timeouts timeouts;
	uint32_t max_sessions;   /* default 1048576 */
	enum cfg_nat_filtering filtering;
	struct cfg_loc loc;      /* the nat: key */
	struct cfg_loc max_sessions_loc; /* its value; line 0 where not given */
};

/* metrics: OpenMetrics over HTTP on LISTEN ("ADDR:PORT", "[ADDR6]:PORT"). */
struct cfg_metrics {
	bool enabled;
	struct cfg_ip addr;
	uint16_t port;
	char listen[64]; /* as written, for messages */
	struct cfg_loc loc;
};

struct config {
	char path[512];
	uint8_t sha256[32]; /* of the file's bytes */
	unsigned int n_ports;
	struct cfg_port ports[CFG_MAX_PORTS];
	unsigned int n_neighbours;
	struct cfg_neighbour *neighbours; /* malloc'd */
	unsigned int n_routes;
	struct cfg_route *routes; /* malloc'd */
	struct cfg_dataplane dataplane;
	struct cfg_slow_path slow_path;
	struct cfg_nat nat;
	struct cfg_metrics metrics;
};

/*
 * Parse and validate PATH into CFG. Returns 0 on success; on failure returns -1, leaves
 * CFG empty (nothing to free) and writes "PATH:LINE:COLUMN: message" into ERR.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t err_len);

/* Same as config_load, from a string; NAME stands for the file name in messages. */
int config_load_string(const char *name, const char *yaml, size_t len, struct config *cfg,
		       char *err, size_t err_len);

void config_free(struct config *cfg);

/* SHA-256 of LEN bytes at DATA (what sha256sum prints, in binary). */
void config_sha256(const void *data, size_t len, uint8_t out[32]);

/* Index of the port named NAME, or -1. */
int config_port_index(const struct config *cfg, const char *name);

/* The port whose subnet holding IP is the longest (as routing picks a connected port),
 * only ONLY_PORT's if >= 0; -1 if none. */
int config_connected_port(const struct config *cfg, const struct cfg_ip *ip, int only_port);

/* PREFIX with its host bits cleared (192.0.2.1/24 -> 192.0.2.0/24). */
struct cfg_prefix cfg_prefix_network(const struct cfg_prefix *p);

/* True if A and B are the same address (and family). */
bool cfg_ip_equal(const struct cfg_ip *a, const struct cfg_ip *b);

/* True if ADDR lies inside PREFIX (same family, first LEN bits equal). */
bool cfg_prefix_contains(const struct cfg_prefix *prefix, const struct cfg_ip *addr);

/* "192.0.2.1" or "2001:db8::1" into BUF; returns BUF. */
const char *cfg_ip_format(const struct cfg_ip *ip, char *buf, size_t len);

#endif
