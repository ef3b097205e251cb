/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT: the rules of the config's nat: section, built into lookup tables by the control
 * thread (as part of a table set: a reload swaps them with the routes), and the
 * header rewrites workers apply.
 *
 * Stateless translations, both directions, with incremental checksums (RFC 1624):
 *  - static 1:1 (all protocols),
 *  - port forwards (dnat:, TCP/UDP): outside MATCH -> inside TO, and replies back,
 *  - NPTv6 (RFC 6296), checksum-neutral prefix translation.
 * Where a packet is translated:
 *  - towards the inside ("in"): on arrival, when the FIB says its destination is a NAT
 *    outside address (next hop NH_NAT) or one of ours that a port forward matches;
 *    the packet is then routed by its new destination;
 *  - towards the outside ("out"): after routing, when its egress port is an outside
 *    port of a rule that matches its source.
 */
#ifndef DPFWD_NAT_H
#define DPFWD_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "config.h"

/* Why NAT refused a packet: the caller counts it under its drop reason. */
enum nat_result {
	NAT_PASS = 0,       /* no rule: leave it as it is */
	NAT_TRANSLATED,     /* rewritten */
	NAT_UNTRANSLATABLE, /* a rule matched but cannot apply (RFC 6296 3.5, truncated L4) */
};

struct nat_nptv6 {
	uint8_t inside[16], outside[16]; /* prefixes, host bits clear */
	uint8_t len;
	uint16_t port;       /* config port: the outside */
	uint16_t adj_out;    /* one's complement: inside -> outside (RFC 6296 3.1) */
	uint16_t adj_in;     /* outside -> inside */
};

struct nat_rules {
	bool enabled;
	/* Egress ports where an "out" translation may apply: one test per packet. */
	uint32_t out_ports;
	struct rte_hash *static_in;  /* inside IPv4 -> rule index */
	struct rte_hash *static_out; /* outside IPv4 -> rule index */
	struct cfg_static_nat *statics;
	uint32_t *static_port_mask;  /* per rule: egress ports that are its outside */
	struct rte_hash *dnat_match; /* {proto, match ip, match port} -> rule index */
	struct rte_hash *dnat_to;    /* {proto, to ip, to port} -> rule index */
	struct cfg_dnat *dnat;
	uint32_t *dnat_port_mask;
	unsigned int n_nptv6;
	struct nat_nptv6 *nptv6;
};

/*
 * Build CFG's NAT rules (NULL-safe to free). Returns NULL with a message in ERR on
 * failure; a config without nat: gives rules with enabled false.
 */
struct nat_rules *nat_rules_build(const struct config *cfg, int socket_id, char *err,
				  size_t err_len);
void nat_rules_free(struct nat_rules *nr);

/* Towards the inside: IP (with L4 after it, IP_LEN bytes in all) arrived on config
 * port IN_PORT for an outside address. */
enum nat_result nat_ipv4_in(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			    uint32_t ip_len);
enum nat_result nat_ipv6_in(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			    uint32_t ip_len, uint16_t in_port);

/* Towards the outside: IP leaves through config port OUT_PORT. */
enum nat_result nat_ipv4_out(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			     uint32_t ip_len, uint16_t out_port);
enum nat_result nat_ipv6_out(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			     uint32_t ip_len, uint16_t out_port);

/* RFC 6296 section 3.1: the one's complement difference that makes a prefix change
 * checksum-neutral; exposed for the unit tests. */
uint16_t nat_nptv6_adjustment(const uint8_t from[16], const uint8_t to[16]);

#endif
