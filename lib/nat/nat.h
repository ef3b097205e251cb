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
#include "flow_table.h" /* struct flow_key, in struct napt_candidates */

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
	uint32_t lan_ports;  /* config ports where the inside lives (subnets, routes) */
	uint16_t adj_out;    /* one's complement: inside -> outside (RFC 6296 3.1) */
	uint16_t adj_in;     /* outside -> inside */
};

/* An snat: rule as the worker reads it. */
struct nat_snat {
	uint32_t from, from_mask; /* host order */
	uint16_t out;             /* config port */
	uint32_t pool_first, pool_last; /* host order */
	uint16_t port_first, port_last;
};

struct nat_rules {
	bool enabled;
	unsigned int n_snat;
	struct nat_snat *snat;
	enum cfg_nat_filtering filtering;
	struct {
		uint64_t tcp_established, tcp_transitory, udp, icmp;
	} timeout_tsc;
	uint32_t max_sessions;
	/* Egress ports where an "out" translation may apply: one test per packet. */
	uint32_t out_ports;
	bool from_covers_outside; /* an snat `from` holds an outside address (0.0.0.0/0) */
	unsigned int n_static, n_dnat; /* none: their lookups are skipped */
	struct rte_hash *static_in;  /* inside IPv4 -> rule index */
	struct rte_hash *static_out; /* outside IPv4 -> rule index */
	struct cfg_static_nat *statics;
	uint32_t *static_port_mask;  /* per rule: egress ports that are its outside */
	struct rte_hash *dnat_match; /* {proto, match ip, match port} -> rule index */
	struct rte_hash *dnat_to;    /* {proto, to ip, to port} -> rule index */
	struct cfg_dnat *dnat;
	uint32_t *dnat_port_mask;
	uint32_t *dnat_server_mask;  /* per rule: every outside port of its server's forwards */
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
 * port IN_PORT for an outside address. NPTv6 from an inside source on another port
 * than the rule's is a hairpin: its source is mapped outside too. */
enum nat_result nat_ipv4_in(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			    uint32_t ip_len);
enum nat_result nat_ipv6_in(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			    uint32_t ip_len, uint16_t in_port, uint32_t *problem);

/* Whether a NAT rule may take IP, a packet to one of the router's own addresses,
 * inside: a port forward or 1:1 rule of that address (a fragment after the first: any
 * forward of that address, by its first fragment's record), or NAPT's, if the address
 * is in a pool. From an inside host (FROM_INSIDE, a hairpin), NAPT's only for TCP and UDP,
 * which may have mappings, and ICMP errors (about a hairpinned packet): anything else, a
 * ping above all, is for the router itself and no NAT touches it, so that its answer
 * goes to the host, not to its pool address. */
bool nat_ipv4_to_inside(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			uint32_t ip_len, bool from_inside);

/* Whether IP is a port forward's outside address (match) / the address of one's
 * inside server (to) / a 1:1 rule's outside address: for fragments after the first,
 * which have no ports to match a forward by. */
bool nat_ipv4_forward_address(const struct nat_rules *nr, rte_be32_t ip);
bool nat_ipv4_forward_server(const struct nat_rules *nr, rte_be32_t ip);
bool nat_ipv4_static_outside(const struct nat_rules *nr, rte_be32_t ip);
/* Whether IP is an address of an snat pool: only there may NAPT have mappings. */
bool nat_ipv4_in_pool(const struct nat_rules *nr, rte_be32_t ip);
/* Whether IP is any outside address of NR's rules (a pool's, a port forward's, a 1:1
 * rule's) that an snat `from` covers: a source NAT gave, never an inside host's. */
bool nat_ipv4_outside_address(const struct nat_rules *nr, rte_be32_t ip);
/* Whether IP (IP_LEN bytes) is for an outside address of a rule whose outside link is
 * PORT: arriving there, it is that rule's inbound traffic, never a hairpin. */
bool nat_ipv4_outside_on(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			 uint32_t ip_len, uint16_t port);
/* Whether a port forward takes IP (IP_LEN bytes) inwards: NAPT never has a mapping on a
 * forwarded port. */
bool nat_ipv4_forward_takes(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip,
			    uint32_t ip_len);

/* Whether a port forward takes (TCP or UDP) traffic to IP:PORT: NAPT never hands that
 * port of a pool address out, or the mapping would shadow the forward. */
bool nat_port_forwarded(const struct nat_rules *nr, rte_be32_t ip, rte_be16_t port);

/* A hairpin (an inside host's packet to one of NAT's outside addresses) whose source
 * a port forward (a server's reply) or a 1:1 rule covers: its source becomes the rule's
 * outside endpoint, as if it had left, whatever the port (an ICMP error about what such
 * a host received: its quote's destination too); NAT_PASS if none covers it. */
enum nat_result nat_ipv4_hairpin_source(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
					uint32_t ip_len);
/* Whether SRC is a port forward's server or a 1:1 rule's inside host, and config port
 * IN_PORT none of those rules' outside (where such a source is forged): a packet from
 * it to one of NAT's outside addresses, arrived on IN_PORT, is its hairpin (with the
 * reverse-path check the caller makes), whatever snat covers it. */
bool nat_ipv4_stateless_host(const struct nat_rules *nr, rte_be32_t src, uint16_t in_port);

/* Towards the outside: IP leaves through config port OUT_PORT. */
enum nat_result nat_ipv4_out(const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
			     uint32_t ip_len, uint16_t out_port);
/* NPTv6, here and in nat_ipv6_in: NAT_UNTRANSLATABLE for an address RFC 6296 cannot map
 * (3.5: a 0xFFFF subnet word; 3.7: an interface identifier of all ones), with *PROBLEM
 * the offset in IP of the word at fault, for the parameter problem (RFC 4443 3.4). */
enum nat_result nat_ipv6_out(const struct nat_rules *nr, struct rte_ipv6_hdr *ip,
			     uint32_t ip_len, uint16_t out_port, uint32_t *problem);

/* ---- NAPT (napt.c): per-worker state, see the comment there ---- */

/* Why NAPT refused a packet (returned negated). */
enum napt_drop {
	NAPT_NO_MAPPING = 1,        /* inbound: no mapping for it (not an error of NAPT's) */
	NAPT_DROP_TABLE_FULL,       /* max_sessions reached */
	NAPT_DROP_PORTS_EXHAUSTED,  /* no free port on the pool address */
	NAPT_DROP_FILTERED,         /* inbound, refused by the filtering mode */
	NAPT_DROP_UNTRANSLATABLE,   /* outbound, nothing NAPT can translate (no ports) */
};

struct napt_stats {
	uint64_t sessions, mappings; /* live now */
	uint64_t sessions_created, mappings_created, expired;
	uint64_t table_full, ports_exhausted, filtered;
	uint64_t icmp_errors; /* about a NAPT flow, translated either way (RFC 5508) */
	uint64_t fragments_unmatched;
	uint64_t fragments_recorded; /* first fragments' records made */
	uint64_t fast_path; /* packets translated and sent by the fast path (route cached) */
};

struct napt_table;

/* WORKER's table (of N_WORKERS), holding up to MAX_SESSIONS / N_WORKERS sessions. */
struct napt_table *napt_table_create(unsigned int worker, unsigned int n_workers,
				     uint32_t max_sessions, int socket_id);
void napt_table_free(struct napt_table *t);

/* The worker that owns the mapping of an inside endpoint / an outside port. */
unsigned int nat_owner_of_inside(uint8_t proto, rte_be32_t ip, rte_be16_t port,
				 unsigned int n_workers);
unsigned int nat_owner_of_outside(rte_be16_t port, unsigned int n_workers);

/* The snat rule for a source leaving through OUT_PORT, or NULL. */
const struct nat_snat *napt_rule_for(const struct nat_rules *nr, rte_be32_t src,
				     uint16_t out_port);

/* The worker that owns the mapping IP belongs to, going out (its source endpoint; for
 * an ICMP error, the quoted packet's destination) or coming in (its destination port;
 * for an ICMP error, the quoted packet's source port): false if IP has no ports NAPT
 * knows (another protocol, a non-first fragment). */
bool napt_owner(const struct rte_ipv4_hdr *ip, uint32_t ip_len, bool outbound,
		unsigned int n_workers, unsigned int *owner);

/* Translate an outbound packet by rule R (source -> pool address and port), making
 * the mapping and session if needed; an ICMP error about an inbound packet of a
 * mapping is translated by that mapping (RFC 5508): 0, or a negated enum napt_drop. */
int napt_out(struct napt_table *t, const struct nat_rules *nr, const struct nat_snat *r,
	     struct rte_ipv4_hdr *ip, uint32_t ip_len, uint64_t now);

/* Translate an inbound packet for a mapping (destination -> inside endpoint): 0,
 * NAPT_NO_MAPPING, or a negated enum napt_drop. */
int napt_in(struct napt_table *t, const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
	    uint32_t ip_len, uint64_t now);

/*
 * The fast path, for a burst. Once the burst is classified, each packet that may
 * belong to an established session is noted with its flow table key and hash
 * (napt_note, napt_candidate), and the table line it needs starts loading. Then
 * napt_translate translates, with one bulk lookup, those of them whose session knows
 * the next hop its packets take that way (the route cache, napt_route_learn): they
 * leave without a route lookup. The others are left untouched for napt_out / napt_in
 * (which also make sessions, filter, and handle fragments and ICMP errors) and the
 * route lookup; the dataplane then teaches their sessions the next hop they took.
 */
#define NAPT_CANDIDATES_MAX 256 /* a burst */

#define NAPT_CKSUM_UDP 0x80 /* in cksum_at: UDP's checksum (zero: none) */

struct napt_candidates {
	unsigned int n;
	uint16_t pos[NAPT_CANDIDATES_MAX]; /* where the caller has each packet */
	bool inbound[NAPT_CANDIDATES_MAX];
	/* Where the translation writes, from the IP header on: the port, the L4 checksum. */
	uint8_t port_at[NAPT_CANDIDATES_MAX], cksum_at[NAPT_CANDIDATES_MAX];
	struct rte_ipv4_hdr *ip[NAPT_CANDIDATES_MAX];
	struct flow_key key[NAPT_CANDIDATES_MAX];
	uint32_t hash[NAPT_CANDIDATES_MAX];
};

/* Which way NR's snat rules would translate IP: 1 in (towards a pool address), 0 out
 * (from an inside prefix), -1 neither, or both (a hairpin: its source is translated
 * first, by the full path). A few compares per rule, inline: every IPv4 packet of a
 * router with NAPT asks. */
static inline int napt_direction_by(const struct nat_snat *rules, unsigned int n_rules,
				    const struct rte_ipv4_hdr *ip)
{
	uint32_t src = rte_be_to_cpu_32(ip->src_addr), dst = rte_be_to_cpu_32(ip->dst_addr);
	bool to_pool = false, from_inside = false;
	unsigned int i;

	for (i = 0; i < n_rules; i++) {
		const struct nat_snat *r = &rules[i];

		to_pool |= dst - r->pool_first <= r->pool_last - r->pool_first;
		from_inside |= (src & r->from_mask) == r->from;
	}
	return to_pool == from_inside ? -1 : to_pool;
}

static inline int napt_direction(const struct nat_rules *nr, const struct rte_ipv4_hdr *ip)
{
	return napt_direction_by(nr->snat, nr->n_snat, ip);
}

/* Note IP (IP_LEN bytes, the caller's packet POS) in C if it may take the fast path
 * going INBOUND or out: TCP (but no SYN, FIN or RST), UDP or ICMP echo, not a fragment,
 * and owned by T. Starts loading its flow table line. Returns whether it was noted. */
bool napt_candidate(const struct napt_table *t, struct napt_candidates *c,
		    struct rte_ipv4_hdr *ip, uint32_t ip_len, bool inbound, uint16_t pos);

/* The same for the N IPv4 packets PKTS of a burst (their IP header after L2_LEN bytes;
 * POS: their index in PKTS), with napt_direction: what a burst's classify pass calls.
 * It stops at the first packet NAPT may translate that is no candidate: what the full
 * path takes leaves after the fast path's packets, and none of its flow may overtake it. */
void napt_note(const struct napt_table *t, const struct nat_rules *nr,
	       struct napt_candidates *c, struct rte_mbuf *const *pkts, unsigned int n,
	       unsigned int l2_len);

/* Translate the candidates of C whose session knows its next hop under the route cache
 * tag ROUTE_TAG (route_cache_tag): sets bit i of DONE (NAPT_CANDIDATES_MAX bits, cleared
 * by the caller) and NH[i] for each candidate i translated. */
void napt_translate(struct napt_table *t, const struct napt_candidates *c, uint32_t route_tag,
		    uint64_t now, uint64_t *done, uint32_t *nh);

/* Candidate I of C, translated by napt_translate, back as it arrived (its address and
 * port from its key, and their checksums): for an ICMP error that quotes it. */
void napt_untranslate(const struct napt_candidates *c, unsigned int i);

/* IP (IP_LEN bytes), a packet of a session that napt_out or napt_in (INBOUND) just
 * translated, leaves through next hop NH, read under the route cache tag ROUTE_TAG, as
 * every packet of its session going that way will while that tag holds: the
 * session remembers it for napt_translate. The caller vouches that nothing else (no
 * other NAT rule, no neighbour resolution) happens to them on the way. Fragments are
 * not remembered. */
void napt_route_learn(struct napt_table *t, struct rte_ipv4_hdr *ip, uint32_t ip_len,
		      bool inbound, uint32_t route_tag, uint32_t nh);

/*
 * Fragments (shallow virtual reassembly). A non-first fragment has no ports: going
 * out, its source becomes the pool address its inside host is paired with (the one
 * the first fragment got); coming in, it is matched by (source, destination, protocol,
 * IP ID) to what the first fragment was translated to. So is one a port forward's
 * server sends (going out, its source). Records live on the worker
 * napt_fragment_owner() names, in a bounded table (the oldest is overwritten).
 */
/* The worker that keeps the records of IP's datagram, which arrived from SRC to DST (a
 * record is found by the addresses a datagram arrives with). */
unsigned int napt_fragment_owner(const struct rte_ipv4_hdr *ip, rte_be32_t src, rte_be32_t dst,
				 unsigned int n_workers);
void napt_fragment_out(const struct nat_snat *r, struct rte_ipv4_hdr *ip);
/* IP, the first fragment of a datagram, was translated going OUTBOUND (from source
 * ORIG to IP's) or coming in (from destination ORIG to IP's): later fragments of it
 * take the same address. */
void napt_fragment_record(struct napt_table *t, const struct rte_ipv4_hdr *ip,
			  rte_be32_t orig, bool outbound, uint64_t now);
/* Translate a later fragment by its datagram's record: false if there is none. */
bool napt_fragment_take(struct napt_table *t, struct rte_ipv4_hdr *ip, bool outbound,
			uint64_t now);

/* Reclaim a few expired sessions (and mappings left without one); once per loop. */
void napt_expire(struct napt_table *t, const struct nat_rules *nr, uint64_t now);

void napt_stats_get(const struct napt_table *t, struct napt_stats *s);

/* One session as the control thread may list it, read while the worker runs: a
 * session being made or reclaimed at that moment may show half old, half new. */
struct napt_session_info {
	uint8_t proto;
	rte_be32_t in_ip, out_ip, remote_ip;
	rte_be16_t in_port, out_port, remote_port;
	const char *state; /* "udp", "icmp", "tcp_opening", "tcp_established", "tcp_closing" */
	uint64_t idle_tsc; /* since the last packet */
};

uint32_t napt_capacity(const struct napt_table *t);
/* Slot I of T's sessions, if one is there. */
bool napt_session_info(const struct napt_table *t, uint32_t i, uint64_t now,
		       struct napt_session_info *out);

/* True if IP (host order) is an outside address of CFG's NAT: a pool address, a 1:1
 * outside address or a port forward's address. The slow path answers ARP for them. */
bool nat_is_outside_address(const struct config *cfg, uint32_t ip);

/* RFC 6296 section 3.1: the one's complement difference that makes a prefix change
 * checksum-neutral; exposed for the unit tests. */
uint16_t nat_nptv6_adjustment(const uint8_t from[16], const uint8_t to[16]);

#endif
