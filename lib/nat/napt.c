/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAPT (snat:): inside sources share pool addresses and ports.
 *
 * State is per worker and touched by that worker alone (no locks, no atomics): a
 * mapping (proto, inside address, inside port) -> (pool address, outside port) and,
 * under it, one session per remote endpoint. Ownership is decided by arithmetic, so
 * that every packet of a mapping meets the same worker whatever queue it came in on:
 * the mapping of an inside endpoint belongs to worker hash(proto, address, port) % n,
 * and that worker only hands out outside ports p with p % n == itself, so an
 * arriving packet's destination port names its owner (nat_owner_*). The dataplane
 * hands packets to their owner through a ring.
 *
 * Sessions are found by a packet's addresses, ports and protocol as it arrives, one key
 * per direction, in a flow table built for one cache line per lookup (flow_table.h); what
 * the session's packets are rewritten to sits in a dense 32-byte record beside it. So a
 * packet of an established flow reads two lines: its key is made and its line asked
 * for once the burst is classified (napt_note), and napt_translate does the
 * whole burst at once, its cache misses overlapping. The mapping tables (by inside and by
 * outside endpoint) and the filtering table are read only for a packet without a
 * session, or one that changes TCP state (SYN, FIN, RST).
 *
 * RFC 4787: endpoint-independent mapping (REQ-1), paired pooling (REQ-2: an inside
 * address always gets the same pool address, by hash), filtering as configured
 * (REQ-8), mapping refreshed by outbound traffic and kept while sessions live
 * (REQ-5/6), hairpinning (REQ-9) by the dataplane. RFC 5382: TCP sessions are
 * transitory until both sides sent SYN, established then, transitory again after a
 * FIN or RST. RFC 5508: ICMP echo translated by identifier.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "flow_table.h"
#include "icmp_error.h"
#include "nat.h"
#include "pkt.h"

#define EXPIRY_SCAN 16 /* session slots looked at per worker loop */
#define FRAG_SLOTS 1024 /* fragment records per worker: a direct-mapped cache */
#define FRAG_LIFETIME_S 10

struct endpoint_key {
	rte_be32_t ip;
	rte_be16_t port; /* TCP/UDP port, ICMP echo identifier */
	uint8_t proto;
	uint8_t uplink; /* inside endpoints: the config port the mapping leaves by; else 0 */
};

/* Directions, as indexes of struct napt_xlate's arrays. */
#define FLOW_OUT 0u
#define FLOW_IN 1u

struct permit_key { /* address-dependent filtering: who may answer */
	uint32_t mapping;
	rte_be32_t remote_ip;
};

enum session_state {
	S_FREE = 0,
	S_UDP,
	S_ICMP,
	S_TCP_OPENING,     /* transitory: not both SYNs seen yet */
	S_TCP_ESTABLISHED,
	S_TCP_CLOSING,     /* transitory: FIN or RST seen */
};

#define SYN_OUT 1
#define SYN_IN 2

struct napt_mapping {
	rte_be32_t in_ip, out_ip;
	rte_be16_t in_port, out_port;
	uint8_t proto;
	uint8_t uplink; /* its rule's out: an inside endpoint has a mapping per uplink */
	bool used;
	bool retired; /* outside its rule's pool or ports since a reload: gets no sessions */
	uint32_t sessions; /* live sessions; the mapping goes with the last */
};

struct napt_session {
	uint32_t mapping;
	rte_be32_t remote_ip;
	rte_be16_t remote_port; /* 0 for echo: the identifier is the mapping's */
	uint8_t state; /* enum session_state */
	uint8_t syn;   /* SYN_OUT | SYN_IN seen */
};

/*
 * All the fast path reads or writes of a session: 32 bytes, two to a cache line.
 * By direction (FLOW_OUT, FLOW_IN): going out, the source becomes the mapping's outside
 * endpoint; coming in, the destination becomes its inside one. The checksum
 * adjustments (RFC 1624's ~m + m', summed once when the session is made) are going
 * out's; coming in undoes that change, so it adds their one's complement. The route
 * cache: the next hop each direction's packets took under the route cache tag ROUTE_TAG
 * (route_cache_tag; nh 0: none known yet), so that later ones skip the route lookup.
 */
struct napt_xlate {
	rte_be32_t addr[2];
	rte_be16_t port[2];
	uint16_t ip_adjust, l4_adjust;
	uint32_t last; /* ticks (TSC >> tick_shift) of the last packet, either way */
	uint32_t route_tag;
	uint32_t nh[2];
} __rte_aligned(32);

_Static_assert(sizeof(struct napt_xlate) == 32, "two sessions to a cache line");

struct napt_table {
	unsigned int worker, n_workers;
	uint32_t capacity; /* sessions, and mappings, this worker may hold */
	struct rte_hash *by_inside;  /* endpoint_key (inside) -> mapping */
	struct rte_hash *by_outside; /* endpoint_key (outside) -> mapping */
	struct flow_table *flows;    /* flow_key (direction included) -> session */
	struct rte_hash *permits;    /* permit_key -> sessions with that remote address */
	struct rte_hash *pools;      /* pool address (host order) -> bitmap index */
	struct napt_mapping *maps;
	struct napt_session *sess;
	struct napt_xlate *xlate;    /* by session index too */
	unsigned int tick_shift;     /* a tick is 2^tick_shift TSC cycles, about 1 ms */
	uint32_t *free_maps, *free_sess;
	uint32_t n_free_maps, n_free_sess;
	uint64_t (*bitmaps)[65536 / 64]; /* outside ports in use, per pool address */
	uint32_t pool_addr[CFG_MAX_POOL_ADDRS]; /* whose bitmap each is (host order) */
	unsigned int n_pools;
	bool no_unused_bitmap; /* none found since the last mapping went: do not scan again */
	uint32_t port_hint;
	uint32_t scan; /* expiry cursor */
	struct napt_stats stats;
	struct frag_record { /* a datagram's addresses as it arrives, what one becomes */
		rte_be32_t src, dst, to;
		rte_be16_t id;
		uint8_t proto;
		bool outbound; /* TO replaces the source (else the destination) */
		uint64_t expires_tsc; /* 0: free */
	} frags[FRAG_SLOTS];
};

/* ---- the L4 fields NAPT works on ---- */

/* The ports (or echo identifier) of IP and where its checksum is; false if IP has
 * none NAPT can translate. */
static bool l4_view(struct rte_ipv4_hdr *ip, uint32_t ip_len, struct napt_l4 *v)
{
	uint32_t hl = rte_ipv4_hdr_len(ip);
	uint8_t *l4 = (uint8_t *)ip + hl;

	if (pkt_ipv4_is_later_fragment(ip))
		return false;
	v->proto = ip->next_proto_id;
	if (v->proto == IPPROTO_TCP && ip_len >= hl + sizeof(struct rte_tcp_hdr)) {
		v->sport = l4;
		v->dport = l4 + 2;
		v->cksum = l4 + offsetof(struct rte_tcp_hdr, cksum);
		v->tcp_flags = l4[offsetof(struct rte_tcp_hdr, tcp_flags)];
		return true;
	}
	if (v->proto == IPPROTO_UDP && ip_len >= hl + sizeof(struct rte_udp_hdr)) {
		v->sport = l4;
		v->dport = l4 + 2;
		v->cksum = l4 + offsetof(struct rte_udp_hdr, dgram_cksum);
		return true;
	}
	/* RFC 5508 3.1: echo request and reply, by identifier (both "ports"). */
	if (v->proto == IPPROTO_ICMP && ip_len >= hl + sizeof(struct rte_icmp_hdr) &&
	    (l4[0] == RTE_IP_ICMP_ECHO_REQUEST || l4[0] == RTE_IP_ICMP_ECHO_REPLY) && !l4[1]) {
		v->sport = v->dport = l4 + offsetof(struct rte_icmp_hdr, icmp_ident);
		v->cksum = l4 + offsetof(struct rte_icmp_hdr, icmp_cksum);
		return true;
	}
	return false;
}

/* ---- ownership ---- */

unsigned int nat_owner_of_inside(uint8_t proto, rte_be32_t ip, rte_be16_t port,
				 unsigned int n_workers)
{
	uint32_t h = rte_hash_crc_4byte(ip, proto);

	h = rte_hash_crc_4byte(port, h);
	return n_workers > 1 ? h % n_workers : 0;
}

unsigned int nat_owner_of_outside(rte_be16_t port, unsigned int n_workers)
{
	return n_workers > 1 ? rte_be_to_cpu_16(port) % n_workers : 0;
}

/* ---- table ---- */

static struct rte_hash *hash_new(const char *what, unsigned int worker, uint32_t entries,
				 uint32_t key_len, int socket_id)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters params = {
		.name = name,
		.entries = entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
	};

	snprintf(name, sizeof(name), "napt_%s_%u", what, worker);
	return rte_hash_create(&params);
}

struct napt_table *napt_table_create(unsigned int worker, unsigned int n_workers,
				     uint32_t max_sessions, int socket_id)
{
	struct napt_table *t = rte_zmalloc_socket("napt", sizeof(*t), RTE_CACHE_LINE_SIZE,
						  socket_id);
	unsigned int workers = n_workers ? n_workers : 1;
	/* This worker's share of the bound; the hashes get room to spare. */
	uint32_t cap = RTE_MAX(max_sessions / workers, 1u), i, room = RTE_MAX(cap + cap / 4, 64u);

	if (!t)
		return NULL;
	t->worker = worker;
	t->n_workers = workers;
	t->tick_shift = rte_fls_u64(rte_get_tsc_hz() / 1000) - 1; /* 0.5 to 1 ms */
	t->capacity = cap;
	t->by_inside = hash_new("in", worker, room, sizeof(struct endpoint_key), socket_id);
	t->by_outside = hash_new("out", worker, room, sizeof(struct endpoint_key), socket_id);
	t->flows = flow_table_create("napt_flows", 2 * cap, socket_id);
	t->permits = hash_new("per", worker, room, sizeof(struct permit_key), socket_id);
	t->pools = hash_new("pool", worker, CFG_MAX_POOL_ADDRS * 2, sizeof(uint32_t), socket_id);
	t->maps = rte_zmalloc_socket("napt", cap * sizeof(*t->maps), 0, socket_id);
	t->sess = rte_zmalloc_socket("napt", cap * sizeof(*t->sess), 0, socket_id);
	t->xlate = rte_zmalloc_socket("napt", cap * sizeof(*t->xlate), RTE_CACHE_LINE_SIZE,
				      socket_id);
	t->free_maps = rte_malloc_socket("napt", cap * sizeof(uint32_t), 0, socket_id);
	t->free_sess = rte_malloc_socket("napt", cap * sizeof(uint32_t), 0, socket_id);
	t->bitmaps = rte_zmalloc_socket("napt", CFG_MAX_POOL_ADDRS * sizeof(*t->bitmaps), 0,
					socket_id);
	if (!t->by_inside || !t->by_outside || !t->flows || !t->permits || !t->pools ||
	    !t->maps || !t->sess || !t->xlate || !t->free_maps || !t->free_sess || !t->bitmaps) {
		napt_table_free(t);
		return NULL;
	}
	for (i = 0; i < cap; i++) {
		t->free_maps[i] = cap - 1 - i;
		t->free_sess[i] = cap - 1 - i;
	}
	t->n_free_maps = t->n_free_sess = cap;
	return t;
}

void napt_table_free(struct napt_table *t)
{
	if (!t)
		return;
	rte_hash_free(t->by_inside);
	rte_hash_free(t->by_outside);
	flow_table_free(t->flows);
	rte_hash_free(t->permits);
	rte_hash_free(t->pools);
	rte_free(t->maps);
	rte_free(t->sess);
	rte_free(t->xlate);
	rte_free(t->free_maps);
	rte_free(t->free_sess);
	rte_free(t->bitmaps);
	rte_free(t);
}

static int find(const struct rte_hash *h, const void *key)
{
	void *data;

	return rte_hash_lookup_data(h, key, &data) < 0 ? -1 : (int)(uintptr_t)data;
}

/* ---- ports ---- */

/* A bitmap with no port in use, or CFG_MAX_POOL_ADDRS. */
static unsigned int pool_bitmap_unused(const struct napt_table *t)
{
	unsigned int i, w;

	for (i = 0; i < t->n_pools; i++) {
		for (w = 0; w < RTE_DIM(t->bitmaps[i]) && !t->bitmaps[i][w]; w++)
			;
		if (w == RTE_DIM(t->bitmaps[i]))
			return i;
	}
	return CFG_MAX_POOL_ADDRS;
}

/* The port bitmap of pool address ADDR (host order), made on first use. There is room
 * for the pool addresses a config may have; once reloads changed the pools, an
 * address with no port in use gives its bitmap up. NULL if none can be had. */
static uint64_t *pool_bitmap(struct napt_table *t, uint32_t addr)
{
	int i = find(t->pools, &addr);
	unsigned int b = t->n_pools;

	if (i >= 0)
		return t->bitmaps[i];
	if (b == CFG_MAX_POOL_ADDRS) {
		b = t->no_unused_bitmap ? CFG_MAX_POOL_ADDRS : pool_bitmap_unused(t);
		t->no_unused_bitmap = b == CFG_MAX_POOL_ADDRS;
		if (b == CFG_MAX_POOL_ADDRS)
			return NULL;
		rte_hash_del_key(t->pools, &t->pool_addr[b]);
	}
	if (rte_hash_add_key_data(t->pools, &addr, (void *)(uintptr_t)b) < 0)
		return NULL;
	t->pool_addr[b] = addr;
	if (b == t->n_pools)
		t->n_pools++;
	return t->bitmaps[b];
}

static bool bit_get(const uint64_t *b, uint16_t port)
{
	return b[port >> 6] >> (port & 63) & 1;
}

static void bit_set(uint64_t *b, uint16_t port, bool on)
{
	if (on)
		b[port >> 6] |= UINT64_C(1) << (port & 63);
	else
		b[port >> 6] &= ~(UINT64_C(1) << (port & 63));
}

/* A free outside port of this worker (p % n == worker) in [first, last]: the inside
 * port itself if it can be (port preservation, RFC 4787 REQ-3 prefers it), else the
 * next free one after the last handed out, so that a port freed by expiry is not
 * reused at once. Returns 0 when none is left. */
/* Whether port P of pool address ADDR (host order) may be handed out by this worker. */
static bool port_free(const struct napt_table *t, const struct nat_rules *nr,
		      const uint64_t *bits, uint32_t addr, uint32_t p)
{
	return p % t->n_workers == t->worker && !bit_get(bits, (uint16_t)p) &&
	       !nat_port_forwarded(nr, rte_cpu_to_be_32(addr), rte_cpu_to_be_16((uint16_t)p));
}

static uint16_t port_alloc(struct napt_table *t, const struct nat_rules *nr, uint64_t *bits,
			   const struct nat_snat *r, uint32_t addr, uint16_t want)
{
	uint32_t first = r->port_first, last = r->port_last, span, i, p;

	if (want >= first && want <= last && port_free(t, nr, bits, addr, want))
		return want;
	span = last - first + 1;
	for (i = 0; i < span; i++) {
		p = first + (t->port_hint + i) % span;
		if (!port_free(t, nr, bits, addr, p))
			continue;
		t->port_hint = (p - first + 1) % span;
		return (uint16_t)p;
	}
	return 0;
}

/* ---- mappings and sessions ---- */

static uint64_t timeout_tsc(const struct nat_rules *nr, uint8_t state)
{
	switch (state) {
	case S_TCP_ESTABLISHED:
		return nr->timeout_tsc.tcp_established;
	case S_TCP_OPENING:
	case S_TCP_CLOSING:
		return nr->timeout_tsc.tcp_transitory;
	case S_ICMP:
		return nr->timeout_tsc.icmp;
	default:
		return nr->timeout_tsc.udp;
	}
}

/* Session times are 32-bit ticks of about 1 ms: they wrap after 25 days or more, twice
 * the longest timeout the configuration allows, so that "now - last" is always right. */
static inline uint32_t ticks(const struct napt_table *t, uint64_t tsc)
{
	return (uint32_t)(tsc >> t->tick_shift);
}

static struct endpoint_key inside_key(const struct napt_mapping *m)
{
	return (struct endpoint_key){ m->in_ip, m->in_port, m->proto, m->uplink };
}

static void mapping_release(struct napt_table *t, uint32_t mi)
{
	struct napt_mapping *m = &t->maps[mi];
	struct endpoint_key in = inside_key(m);
	struct endpoint_key out = { m->out_ip, m->out_port, m->proto, 0 };
	uint64_t *bits = pool_bitmap(t, rte_be_to_cpu_32(m->out_ip));

	if (!m->retired) /* a retired one's inside endpoint may have a new mapping */
		rte_hash_del_key(t->by_inside, &in);
	rte_hash_del_key(t->by_outside, &out);
	if (bits)
		bit_set(bits, rte_be_to_cpu_16(m->out_port), false);
	t->no_unused_bitmap = false; /* that bitmap may be empty now */
	m->used = false;
	t->free_maps[t->n_free_maps++] = mi;
	t->stats.mappings--;
}

/* The keys session S of mapping M is found under, by direction. */
static void session_keys(const struct napt_mapping *m, const struct napt_session *s,
			 struct flow_key k[2])
{
	bool echo = m->proto == IPPROTO_ICMP;

	k[FLOW_OUT] = flow_key_make(m->in_ip, s->remote_ip, m->in_port,
				    echo ? m->in_port : s->remote_port, m->proto, false);
	k[FLOW_IN] = flow_key_make(s->remote_ip, m->out_ip, echo ? m->out_port : s->remote_port,
				   m->out_port, m->proto, true);
}

static void session_release(struct napt_table *t, uint32_t si)
{
	struct napt_session *s = &t->sess[si];
	struct permit_key pk = { s->mapping, s->remote_ip };
	int permits = find(t->permits, &pk);
	struct flow_key k[2];

	session_keys(&t->maps[s->mapping], s, k);
	flow_table_del(t->flows, k[FLOW_OUT]);
	flow_table_del(t->flows, k[FLOW_IN]);
	if (permits <= 1)
		rte_hash_del_key(t->permits, &pk);
	else
		rte_hash_add_key_data(t->permits, &pk, (void *)(uintptr_t)(permits - 1));
	s->state = S_FREE;
	t->free_sess[t->n_free_sess++] = si;
	t->stats.sessions--;
	if (--t->maps[s->mapping].sessions == 0)
		mapping_release(t, s->mapping);
}

void napt_expire(struct napt_table *t, const struct nat_rules *nr, uint64_t now)
{
	uint32_t now_ticks = ticks(t, now);
	unsigned int i;

	for (i = 0; i < EXPIRY_SCAN; i++) {
		struct napt_session *s = &t->sess[t->scan];
		uint32_t si = t->scan;

		t->scan = t->scan + 1 == t->capacity ? 0 : t->scan + 1;
		if (s->state != S_FREE && now_ticks - t->xlate[si].last >
					      ticks(t, timeout_tsc(nr, s->state))) {
			session_release(t, si);
			t->stats.expired++;
		}
	}
}

static int mapping_new(struct napt_table *t, const struct nat_rules *nr, const struct nat_snat *r,
		       uint8_t proto, rte_be32_t in_ip, rte_be16_t in_port)
{
	uint32_t pool_n = r->pool_last - r->pool_first + 1, out_host, mi;
	struct endpoint_key in = { in_ip, in_port, proto, (uint8_t)r->out }, out;
	uint64_t *bits;
	uint16_t port;

	if (!t->n_free_maps) {
		t->stats.table_full++;
		return -NAPT_DROP_TABLE_FULL;
	}
	/* REQ-2, paired pooling: the pool address depends on the inside address only. */
	out_host = r->pool_first + rte_hash_crc_4byte(in_ip, 0) % pool_n;
	bits = pool_bitmap(t, out_host);
	port = bits ? port_alloc(t, nr, bits, r, out_host, rte_be_to_cpu_16(in_port)) : 0;
	if (!port) {
		t->stats.ports_exhausted++;
		return -NAPT_DROP_PORTS_EXHAUSTED;
	}
	mi = t->free_maps[--t->n_free_maps];
	t->maps[mi] = (struct napt_mapping){ .in_ip = in_ip, .in_port = in_port,
					     .out_ip = rte_cpu_to_be_32(out_host),
					     .out_port = rte_cpu_to_be_16(port), .proto = proto,
					     .uplink = (uint8_t)r->out, .used = true };
	out = (struct endpoint_key){ t->maps[mi].out_ip, t->maps[mi].out_port, proto, 0 };
	if (rte_hash_add_key_data(t->by_inside, &in, (void *)(uintptr_t)mi) < 0 ||
	    rte_hash_add_key_data(t->by_outside, &out, (void *)(uintptr_t)mi) < 0) {
		rte_hash_del_key(t->by_inside, &in);
		t->maps[mi].used = false;
		t->free_maps[t->n_free_maps++] = mi;
		t->stats.table_full++;
		return -NAPT_DROP_TABLE_FULL;
	}
	bit_set(bits, port, true);
	t->stats.mappings++;
	t->stats.mappings_created++;
	return (int)mi;
}

/* Going out, address IN_IP and port (echo: identifier) IN_PORT become OUT_IP and
 * OUT_PORT: the session's rewrites. ICMP has no pseudo-header: only the identifier
 * counts in its checksum. */
static struct napt_xlate xlate_for(uint8_t proto, rte_be32_t in_ip, rte_be16_t in_port,
				   rte_be32_t out_ip, rte_be16_t out_port)
{
	uint16_t ip_adjust = pkt_cksum_adjust32(in_ip, out_ip);
	uint16_t port_adjust = pkt_cksum_adjust16(in_port, out_port);

	return (struct napt_xlate){
		.addr = { [FLOW_OUT] = out_ip, [FLOW_IN] = in_ip },
		.port = { [FLOW_OUT] = out_port, [FLOW_IN] = in_port },
		.ip_adjust = ip_adjust,
		.l4_adjust = proto == IPPROTO_ICMP ? port_adjust
						   : pkt_cksum_adjust_add(ip_adjust, port_adjust),
	};
}

/* A session of mapping MI with remote endpoint RIP:RPORT (RPORT 0 for echo). */
static int session_new(struct napt_table *t, uint32_t mi, rte_be32_t rip, rte_be16_t rport,
		       uint8_t state)
{
	const struct napt_mapping *m = &t->maps[mi];
	struct permit_key pk = { mi, rip };
	int permits = find(t->permits, &pk);
	struct napt_session *s;
	struct flow_key k[2];
	uint32_t si;

	if (!t->n_free_sess) {
		t->stats.table_full++;
		return -NAPT_DROP_TABLE_FULL;
	}
	si = t->free_sess[--t->n_free_sess];
	s = &t->sess[si];
	*s = (struct napt_session){ .mapping = mi, .remote_ip = rip, .remote_port = rport,
				    .state = state };
	t->xlate[si] = xlate_for(m->proto, m->in_ip, m->in_port, m->out_ip, m->out_port);
	session_keys(m, s, k);
	/* Undone in reverse on failure: only what this call added, never a key that was
	 * there already (flow_table_add refuses those). */
	if (flow_table_add(t->flows, k[FLOW_OUT], si) < 0)
		goto fail;
	if (flow_table_add(t->flows, k[FLOW_IN], si) < 0)
		goto fail_out;
	if (rte_hash_add_key_data(t->permits, &pk,
				  (void *)(uintptr_t)(permits < 0 ? 1 : permits + 1)) < 0)
		goto fail_in;
	t->maps[mi].sessions++;
	t->stats.sessions++;
	t->stats.sessions_created++;
	return (int)si;
fail_in:
	flow_table_del(t->flows, k[FLOW_IN]);
fail_out:
	flow_table_del(t->flows, k[FLOW_OUT]);
fail:
	s->state = S_FREE;
	t->free_sess[t->n_free_sess++] = si;
	t->stats.table_full++;
	return -NAPT_DROP_TABLE_FULL;
}

/* RFC 5382: a TCP session is established once both sides sent SYN, and transitory
 * again after a FIN or RST from either side. A SYN after that opens a new connection
 * between the same endpoints (a port reused out of TIME_WAIT): opening again. */
static void session_touch(struct napt_session *s, const struct napt_l4 *v, bool outbound)
{
	if (v->proto != IPPROTO_TCP)
		return;
	if (v->tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)) {
		s->state = S_TCP_CLOSING;
		return;
	}
	if ((v->tcp_flags & RTE_TCP_SYN_FLAG) && s->state == S_TCP_CLOSING) {
		s->state = S_TCP_OPENING;
		s->syn = 0;
	}
	if (v->tcp_flags & RTE_TCP_SYN_FLAG)
		s->syn |= outbound ? SYN_OUT : SYN_IN;
	if (s->state == S_TCP_OPENING && s->syn == (SYN_OUT | SYN_IN))
		s->state = S_TCP_ESTABLISHED;
}

static uint8_t first_state(uint8_t proto)
{
	return proto == IPPROTO_TCP ? S_TCP_OPENING : proto == IPPROTO_ICMP ? S_ICMP : S_UDP;
}

/* IP's key as it arrives going DIR (V: its l4_view). */
static inline struct flow_key packet_key(const struct rte_ipv4_hdr *ip, const struct napt_l4 *v,
					 unsigned int dir)
{
	return flow_key_make(ip->src_addr, ip->dst_addr, pkt_load16(v->sport),
			     pkt_load16(v->dport), v->proto, dir == FLOW_IN);
}

/* A packet of session X going DIR: its source (out) or destination (in) address and
 * the port (echo: identifier) at PORT become what the session says, with the checksums,
 * the L4 one at CKSUM (UDP: a zero checksum means none and stays zero, a computed zero
 * is sent as 0xffff: RFC 768), and the session was used at NOW_TICKS. */
static __rte_always_inline void rewrite(struct napt_xlate *x, struct rte_ipv4_hdr *ip,
					uint8_t *port, uint8_t *cksum, bool udp, unsigned int dir,
					uint32_t now_ticks)
{
	uint8_t *addr = (uint8_t *)ip + (dir == FLOW_OUT ? offsetof(struct rte_ipv4_hdr, src_addr)
							 : offsetof(struct rte_ipv4_hdr, dst_addr));
	uint16_t ip_adjust = dir == FLOW_OUT ? x->ip_adjust : (uint16_t)~x->ip_adjust;
	uint16_t l4_adjust = dir == FLOW_OUT ? x->l4_adjust : (uint16_t)~x->l4_adjust;
	uint16_t ck = pkt_load16(cksum);

	x->last = now_ticks;
	ip->hdr_checksum = pkt_cksum_apply(ip->hdr_checksum, ip_adjust);
	memcpy(addr, &x->addr[dir], sizeof(x->addr[dir]));
	pkt_store16(port, x->port[dir]);
	if (udp && ck == 0)
		return;
	ck = pkt_cksum_apply(ck, l4_adjust);
	pkt_store16(cksum, udp && ck == 0 ? 0xffff : ck);
}

static inline void session_translate(struct napt_xlate *x, struct rte_ipv4_hdr *ip,
				     const struct napt_l4 *v, unsigned int dir, uint32_t now_ticks)
{
	rewrite(x, ip, dir == FLOW_OUT ? v->sport : v->dport, v->cksum, v->proto == IPPROTO_UDP,
		dir, now_ticks);
}

/* The slow path's half: a packet of session SI, which may change its TCP state. */
static void session_use(struct napt_table *t, uint32_t si, struct rte_ipv4_hdr *ip,
			const struct napt_l4 *v, unsigned int dir, uint64_t now)
{
	session_touch(&t->sess[si], v, dir == FLOW_OUT);
	session_translate(&t->xlate[si], ip, v, dir, ticks(t, now));
}

/* ---- translation ---- */

const struct nat_snat *napt_rule_for(const struct nat_rules *nr, rte_be32_t src,
				     uint16_t out_port)
{
	uint32_t a = rte_be_to_cpu_32(src);
	unsigned int i;

	for (i = 0; i < nr->n_snat; i++) {
		const struct nat_snat *r = &nr->snat[i];

		if (r->out == out_port && (a & r->from_mask) == r->from)
			/* A source NAT gave already (a packet handed to another worker, with
			 * `from` covering the outside addresses, 0.0.0.0/0 say) is not NAT'd
			 * again. */
			return nat_ipv4_outside_address(nr, src) ? NULL : r;
	}
	return NULL;
}

static int icmp_error_out(struct napt_table *t, const struct nat_snat *r,
			  struct rte_ipv4_hdr *ip, uint32_t ip_len);

/* Whether mapping M may still serve rule R: a reload may have changed R's pool or
 * ports, or put a port forward on M's outside endpoint. */
static bool mapping_fits(const struct nat_rules *nr, const struct napt_mapping *m,
			 const struct nat_snat *r)
{
	uint32_t addr = rte_be_to_cpu_32(m->out_ip);
	uint16_t port = rte_be_to_cpu_16(m->out_port);

	return addr - r->pool_first <= r->pool_last - r->pool_first &&
	       port >= r->port_first && port <= r->port_last &&
	       !nat_port_forwarded(nr, m->out_ip, m->out_port);
}

/* Mapping MI no longer fits its rule: its inside endpoint gets a new one on its next
 * packet out, while what is left of it (sessions about to be released or to expire)
 * keeps its outside endpoint. */
static void mapping_retire(struct napt_table *t, uint32_t mi)
{
	struct napt_mapping *m = &t->maps[mi];
	struct endpoint_key in = inside_key(m);

	if (m->retired)
		return;
	rte_hash_del_key(t->by_inside, &in);
	m->retired = true;
}

int napt_out(struct napt_table *t, const struct nat_rules *nr, const struct nat_snat *r,
	     struct rte_ipv4_hdr *ip, uint32_t ip_len, uint64_t now)
{
	struct napt_l4 v;
	struct endpoint_key in;
	struct flow_key k;
	int mi, si;

	if (is_icmp_error(ip, ip_len))
		return icmp_error_out(t, r, ip, ip_len);
	if (!l4_view(ip, ip_len, &v))
		return -NAPT_DROP_UNTRANSLATABLE;
	k = packet_key(ip, &v, FLOW_OUT);
	si = (int)flow_table_lookup(t->flows, k);
	if (si >= 0 && t->maps[t->sess[si].mapping].uplink != r->out) {
		session_release(t, (uint32_t)si); /* rerouted: the other uplink's mapping */
		si = -1;
	}
	if (si >= 0 && !mapping_fits(nr, &t->maps[t->sess[si].mapping], r)) {
		mapping_retire(t, t->sess[si].mapping);
		session_release(t, (uint32_t)si);
		si = -1;
	}
	if (si < 0) {
		in = (struct endpoint_key){ ip->src_addr, pkt_load16(v.sport), v.proto,
					    (uint8_t)r->out };
		/* REQ-1: one mapping whatever the destination (behind this uplink) */
		mi = find(t->by_inside, &in);
		if (mi >= 0 && !mapping_fits(nr, &t->maps[mi], r)) {
			mapping_retire(t, (uint32_t)mi);
			mi = -1;
		}
		if (mi < 0) {
			mi = mapping_new(t, nr, r, v.proto, in.ip, in.port);
			if (mi < 0)
				return mi;
		}
		/* Echo: the remote "port" is the identifier both ways; it stays ours. */
		si = session_new(t, (uint32_t)mi, ip->dst_addr,
				 v.proto == IPPROTO_ICMP ? 0 : pkt_load16(v.dport),
				 first_state(v.proto));
		if (si < 0) {
			if (!t->maps[mi].sessions)
				mapping_release(t, (uint32_t)mi);
			return si;
		}
	}
	session_use(t, (uint32_t)si, ip, &v, FLOW_OUT, now);
	return 0;
}

/* ---- ICMP errors about a translated flow (RFC 5508 section 4; icmp_error.h) ---- */

/* An error from outside about one of our outbound packets: the quoted source (the
 * outside endpoint) and the outer destination go back to the inside host. */
static int icmp_error_in(struct napt_table *t, struct rte_ipv4_hdr *ip, uint32_t ip_len)
{
	struct icmp_error_view e;
	struct endpoint_key out;
	const struct napt_mapping *m;
	int mi;

	if (!icmp_error_parse(ip, ip_len, &e))
		return NAPT_NO_MAPPING;
	out = (struct endpoint_key){ e.inner->src_addr, pkt_load16(e.l4.sport), e.l4.proto, 0 };
	mi = find(t->by_outside, &out);
	if (mi < 0)
		return NAPT_NO_MAPPING;
	m = &t->maps[mi];
	icmp_error_rewrite(ip, &e, (uint8_t *)e.inner + offsetof(struct rte_ipv4_hdr, src_addr),
			   e.l4.sport, m->in_ip, m->in_port,
			   offsetof(struct rte_ipv4_hdr, dst_addr), m->in_ip);
	t->stats.icmp_errors++;
	return 0;
}

/* The other way: an inside host's (or router's) error about an inbound packet of a
 * mapping. The quoted destination (the inside endpoint) becomes the outside one, the
 * outer source the mapping's outside address. The mapping is the session's that took
 * the quoted packet in (whichever uplink the error leaves by), else the inside
 * endpoint's behind R's uplink. Without one the error is dropped (RFC 5508 REQ-3:
 * "SHOULD silently drop"; counted here). */
static int icmp_error_out(struct napt_table *t, const struct nat_snat *r,
			  struct rte_ipv4_hdr *ip, uint32_t ip_len)
{
	struct icmp_error_view e;
	struct endpoint_key in;
	const struct napt_mapping *m;
	int64_t si;
	int mi;

	if (!icmp_error_parse(ip, ip_len, &e))
		return -NAPT_DROP_UNTRANSLATABLE;
	/* The session's outbound key: the quoted packet's endpoints the other way. */
	si = flow_table_lookup(t->flows, flow_key_make(e.inner->dst_addr, e.inner->src_addr,
							pkt_load16(e.l4.dport),
							pkt_load16(e.l4.sport), e.l4.proto, false));
	in = (struct endpoint_key){ e.inner->dst_addr, pkt_load16(e.l4.dport), e.l4.proto,
				    (uint8_t)r->out };
	mi = si >= 0 ? (int)t->sess[si].mapping : find(t->by_inside, &in);
	if (mi < 0)
		return -NAPT_DROP_UNTRANSLATABLE;
	m = &t->maps[mi];
	icmp_error_rewrite(ip, &e, (uint8_t *)e.inner + offsetof(struct rte_ipv4_hdr, dst_addr),
			   e.l4.dport, m->out_ip, m->out_port,
			   offsetof(struct rte_ipv4_hdr, src_addr), m->out_ip);
	t->stats.icmp_errors++;
	return 0;
}

/* REQ-8 filtering: may REMOTE send in through mapping MI without a session for it? */
static bool filter_allows(const struct napt_table *t, const struct nat_rules *nr, uint32_t mi,
			  rte_be32_t remote_ip)
{
	struct permit_key pk = { mi, remote_ip };

	if (nr->filtering == CFG_NAT_FILTER_ENDPOINT)
		return true;
	if (nr->filtering == CFG_NAT_FILTER_ADDRESS)
		return find(t->permits, &pk) > 0;
	return false; /* address and port: only an existing session */
}

int napt_in(struct napt_table *t, const struct nat_rules *nr, struct rte_ipv4_hdr *ip,
	    uint32_t ip_len, uint64_t now)
{
	struct endpoint_key out;
	struct napt_l4 v;
	struct flow_key k;
	int mi, si;

	if (is_icmp_error(ip, ip_len))
		return icmp_error_in(t, ip, ip_len);
	if (!l4_view(ip, ip_len, &v))
		return NAPT_NO_MAPPING;
	k = packet_key(ip, &v, FLOW_IN);
	si = (int)flow_table_lookup(t->flows, k);
	if (si < 0) {
		out = (struct endpoint_key){ ip->dst_addr, pkt_load16(v.dport), v.proto, 0 };
		mi = find(t->by_outside, &out);
		if (mi < 0)
			return NAPT_NO_MAPPING;
		if (!filter_allows(t, nr, (uint32_t)mi, ip->src_addr)) {
			t->stats.filtered++;
			return -NAPT_DROP_FILTERED;
		}
		si = session_new(t, (uint32_t)mi, ip->src_addr,
				 v.proto == IPPROTO_ICMP ? 0 : pkt_load16(v.sport),
				 first_state(v.proto));
		if (si < 0)
			return si;
	}
	session_use(t, (uint32_t)si, ip, &v, FLOW_IN, now);
	return 0;
}

/* The key of a packet that may take the fast path: not a fragment (their records are
 * the full path's), and not a TCP segment that changes its session's state. Where its
 * translation writes, from IP on: the port (echo: identifier) going DIR at *PORT_AT,
 * the L4 checksum at *CKSUM_AT, with NAPT_CKSUM_UDP for UDP's. */
static inline bool fast_key(const struct rte_ipv4_hdr *ip, uint32_t ip_len, unsigned int dir,
			    struct flow_key *k, uint8_t *port_at, uint8_t *cksum_at)
{
	uint32_t hl = rte_ipv4_hdr_len(ip), ports;
	const uint8_t *l4 = (const uint8_t *)ip + hl;
	uint8_t proto = ip->next_proto_id;

	if (pkt_ipv4_is_fragment(ip))
		return false;
	switch (proto) {
	case IPPROTO_UDP:
		if (ip_len < hl + sizeof(struct rte_udp_hdr))
			return false;
		ports = pkt_load32(l4);
		*port_at = (uint8_t)(hl + (dir == FLOW_IN ? 2 : 0));
		*cksum_at = (uint8_t)(hl + offsetof(struct rte_udp_hdr, dgram_cksum)) | NAPT_CKSUM_UDP;
		break;
	case IPPROTO_TCP:
		if (ip_len < hl + sizeof(struct rte_tcp_hdr) ||
		    (l4[offsetof(struct rte_tcp_hdr, tcp_flags)] &
		     (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)))
			return false;
		ports = pkt_load32(l4);
		*port_at = (uint8_t)(hl + (dir == FLOW_IN ? 2 : 0));
		*cksum_at = (uint8_t)(hl + offsetof(struct rte_tcp_hdr, cksum));
		break;
	case IPPROTO_ICMP: /* echo: the identifier as both ports, as l4_view has it */
		if (ip_len < hl + sizeof(struct rte_icmp_hdr) || l4[1] ||
		    (l4[0] != RTE_IP_ICMP_ECHO_REQUEST && l4[0] != RTE_IP_ICMP_ECHO_REPLY))
			return false;
		ports = pkt_load16(l4 + offsetof(struct rte_icmp_hdr, icmp_ident)) * 0x10001u;
		*port_at = (uint8_t)(hl + offsetof(struct rte_icmp_hdr, icmp_ident));
		*cksum_at = (uint8_t)(hl + offsetof(struct rte_icmp_hdr, icmp_cksum));
		break;
	default:
		return false;
	}
	/* Source and destination are adjacent in the header: as flow_key_make has them. */
	memcpy(&k->addrs, &ip->src_addr, sizeof(k->addrs));
	k->rest = ports | (uint64_t)(proto | (dir == FLOW_IN ? FLOW_DIR_IN : 0)) << 32;
	return true;
}

/* Note IP in C: 1; 0 if T's worker does not own its mapping (the full path hands it
 * over); -1 if it is the full path's (fast_key). */
static __rte_always_inline int candidate_add(const struct napt_table *t,
					     struct napt_candidates *c, struct rte_ipv4_hdr *ip,
					     uint32_t ip_len, bool inbound, uint16_t pos)
{
	unsigned int n = c->n;
	struct flow_key *k = &c->key[n];

	if (!fast_key(ip, ip_len, inbound ? FLOW_IN : FLOW_OUT, k, &c->port_at[n],
		      &c->cksum_at[n]))
		return -1;
	/* The ports as napt_owner reads them: the first two bytes of REST are the source
	 * port (or echo identifier), the next two the destination port. */
	if (t->n_workers > 1 &&
	    (inbound ? nat_owner_of_outside((rte_be16_t)(k->rest >> 16), t->n_workers)
		     : nat_owner_of_inside(ip->next_proto_id, ip->src_addr,
					   (rte_be16_t)k->rest, t->n_workers)) != t->worker)
		return 0;
	c->hash[n] = flow_key_hash(*k);
	flow_table_prefetch(t->flows, c->hash[n]);
	c->pos[n] = pos;
	c->inbound[n] = inbound;
	c->ip[n] = ip;
	c->n = n + 1;
	return 1;
}

bool napt_candidate(const struct napt_table *t, struct napt_candidates *c,
		    struct rte_ipv4_hdr *ip, uint32_t ip_len, bool inbound, uint16_t pos)
{
	return candidate_add(t, c, ip, ip_len, inbound, pos) > 0;
}

/* napt_note for packet I, ONE: the only snat rule, kept in registers by the caller.
 * False if the full path takes it. */
static __rte_always_inline bool note_one(const struct napt_table *t, const struct nat_rules *nr,
					 const struct nat_snat *one, struct napt_candidates *c,
					 struct rte_mbuf *m, unsigned int i, unsigned int l2_len)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2_len);
	int dir = one ? napt_direction_by(one, 1, ip) : napt_direction(nr, ip);

	return dir < 0 ||
	       candidate_add(t, c, ip, rte_pktmbuf_data_len(m) - l2_len, dir, (uint16_t)i) >= 0;
}

/* Noting stops at the first packet the full path takes: a packet of its flow behind it
 * (the data after a FIN, a fragment's next) must not overtake it. */
void napt_note(const struct napt_table *t, const struct nat_rules *nr,
	       struct napt_candidates *c, struct rte_mbuf *const *pkts, unsigned int n,
	       unsigned int l2_len)
{
	unsigned int i;

	if (nr->n_snat == 1) { /* the common case, without the loop over rules */
		const struct nat_snat one = nr->snat[0];

		for (i = 0; i < n && note_one(t, nr, &one, c, pkts[i], i, l2_len); i++)
			;
	} else {
		for (i = 0; i < n && note_one(t, nr, NULL, c, pkts[i], i, l2_len); i++)
			;
	}
}

/* The lookups of up to 64 candidates from FIRST: a key's first bucket was asked for
 * when it was noted; the second one is read only for keys not in their first, after all
 * the first ones, so that those misses overlap too. A found session's record is asked
 * for at once. SESSION[i]: candidate FIRST + i's session; returns the mask of those
 * found. */
static uint64_t lookup_some(const struct napt_table *t, const struct napt_candidates *c,
			    unsigned int first, unsigned int n, uint32_t *session)
{
	uint64_t found = 0, second = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (flow_table_find_first(t->flows, c->key[first + i], c->hash[first + i],
					  &session[i])) {
			rte_prefetch0(&t->xlate[session[i]]);
			found |= UINT64_C(1) << i;
		} else {
			flow_table_prefetch_second(t->flows, c->hash[first + i]);
			second |= UINT64_C(1) << i;
		}
	}
	for (; second; second &= second - 1) {
		i = (unsigned int)rte_bsf64(second);
		if (flow_table_find_second(t->flows, c->key[first + i], c->hash[first + i],
					   &session[i])) {
			rte_prefetch0(&t->xlate[session[i]]);
			found |= UINT64_C(1) << i;
		}
	}
	return found;
}

/* Up to 64 candidates from FIRST: every key's bucket is read before the first is
 * compared, and every session's record before the first is used: the misses overlap. */
static void translate_some(struct napt_table *t, const struct napt_candidates *c,
			   unsigned int first, unsigned int n, uint32_t route_tag,
			   uint32_t now_ticks, uint64_t *done, uint32_t *nh)
{
	uint32_t session[64];
	uint64_t found = lookup_some(t, c, first, n, session), translated = 0;

	for (; found; found &= found - 1) {
		unsigned int j = rte_bsf64(found), k = first + j;
		unsigned int dir = c->inbound[k] ? FLOW_IN : FLOW_OUT;
		struct napt_xlate *x = &t->xlate[session[j]];
		uint8_t *ip = (uint8_t *)c->ip[k];

		if (x->route_tag != route_tag || !x->nh[dir])
			continue; /* its route is not known: the full path's */
		rewrite(x, c->ip[k], ip + c->port_at[k], ip + (c->cksum_at[k] & ~NAPT_CKSUM_UDP),
			c->cksum_at[k] & NAPT_CKSUM_UDP, dir, now_ticks);
		nh[k] = x->nh[dir];
		translated |= UINT64_C(1) << j;
	}
	done[first / 64] = translated; /* FIRST is a multiple of 64 */
	t->stats.fast_path += (uint64_t)__builtin_popcountll(translated);
}

void napt_translate(struct napt_table *t, const struct napt_candidates *c, uint32_t route_tag,
		    uint64_t now, uint64_t *done, uint32_t *nh)
{
	uint32_t now_ticks = ticks(t, now);
	unsigned int i;

	for (i = 0; i < c->n; i += 64)
		translate_some(t, c, i, RTE_MIN(c->n - i, 64u), route_tag, now_ticks, done, nh);
}

void napt_untranslate(const struct napt_candidates *c, unsigned int i)
{
	struct rte_ipv4_hdr *ip = c->ip[i];
	bool in = c->inbound[i];
	/* The key's addresses and ports are the packet's as it arrived (flow_key_make). */
	rte_be32_t addr = (rte_be32_t)(in ? c->key[i].addrs >> 32 : c->key[i].addrs);
	rte_be16_t port = (rte_be16_t)(in ? c->key[i].rest >> 16 : c->key[i].rest);
	uint8_t *at = (uint8_t *)ip + (in ? offsetof(struct rte_ipv4_hdr, dst_addr)
					  : offsetof(struct rte_ipv4_hdr, src_addr));
	uint8_t *port_at = (uint8_t *)ip + c->port_at[i];
	uint8_t *cksum = (uint8_t *)ip + (c->cksum_at[i] & ~NAPT_CKSUM_UDP);
	bool udp = c->cksum_at[i] & NAPT_CKSUM_UDP;
	uint16_t ck = pkt_load16(cksum);

	if (!udp || ck) {
		if (ip->next_proto_id != IPPROTO_ICMP) /* ICMP has no pseudo-header */
			ck = pkt_cksum_update32(ck, pkt_load32(at), addr);
		ck = pkt_cksum_update16(ck, pkt_load16(port_at), port);
		pkt_store16(cksum, udp && ck == 0 ? 0xffff : ck);
	}
	ip->hdr_checksum = pkt_cksum_update32(ip->hdr_checksum, pkt_load32(at), addr);
	memcpy(at, &addr, sizeof(addr));
	pkt_store16(port_at, port);
}

void napt_route_learn(struct napt_table *t, struct rte_ipv4_hdr *ip, uint32_t ip_len,
		      bool inbound, uint32_t route_tag, uint32_t nh)
{
	struct napt_l4 v;
	struct napt_xlate *x;
	int64_t si;

	/* A fragment's ECMP path is not its flow's: flow_hash_ipv4 leaves its ports out. */
	if (!route_tag || !nh ||
	    pkt_ipv4_is_fragment(ip) ||
	    !l4_view(ip, ip_len, &v))
		return;
	/* Translated, IP is its session's other direction seen backwards. */
	si = flow_table_lookup(t->flows, flow_key_make(ip->dst_addr, ip->src_addr,
						       pkt_load16(v.dport), pkt_load16(v.sport),
						       v.proto, !inbound));
	if (si < 0)
		return;
	x = &t->xlate[si];
	if (x->route_tag != route_tag) { /* the other direction's next hop is of older routes */
		x->route_tag = route_tag;
		x->nh[FLOW_OUT] = x->nh[FLOW_IN] = 0;
	}
	x->nh[inbound ? FLOW_IN : FLOW_OUT] = nh;
}

bool napt_owner(const struct rte_ipv4_hdr *ip, uint32_t ip_len, bool outbound,
		unsigned int n_workers, unsigned int *owner)
{
	struct rte_ipv4_hdr *hdr = (struct rte_ipv4_hdr *)(uintptr_t)ip;
	struct icmp_error_view e;
	struct napt_l4 v;

	if (icmp_error_parse(hdr, ip_len, &e)) {
		/* The quoted packet went the other way: its destination is the inside
		 * endpoint (an error from inside), its source the outside one (from outside). */
		*owner = outbound ? nat_owner_of_inside(e.l4.proto, e.inner->dst_addr,
							pkt_load16(e.l4.dport), n_workers)
				  : nat_owner_of_outside(pkt_load16(e.l4.sport), n_workers);
		return true;
	}
	if (!l4_view(hdr, ip_len, &v))
		return false;
	*owner = outbound ? nat_owner_of_inside(v.proto, ip->src_addr, pkt_load16(v.sport),
						n_workers)
			  : nat_owner_of_outside(pkt_load16(v.dport), n_workers);
	return true;
}

/* ---- fragments ---- */

static uint32_t frag_hash(rte_be32_t src, rte_be32_t dst, uint8_t proto, rte_be16_t id)
{
	uint32_t h = rte_hash_crc_4byte(src, proto);

	h = rte_hash_crc_4byte(dst, h);
	return rte_hash_crc_4byte(id, h);
}

unsigned int napt_fragment_owner(const struct rte_ipv4_hdr *ip, rte_be32_t src, rte_be32_t dst,
				 unsigned int n_workers)
{
	if (n_workers < 2)
		return 0;
	return frag_hash(src, dst, ip->next_proto_id, ip->packet_id) % n_workers;
}

/* Only the address: the ports are in the first fragment. */
void napt_fragment_out(const struct nat_snat *r, struct rte_ipv4_hdr *ip)
{
	rte_be32_t pool = rte_cpu_to_be_32(r->pool_first + rte_hash_crc_4byte(ip->src_addr, 0) %
						     (r->pool_last - r->pool_first + 1));
	uint32_t old = pkt_load32((uint8_t *)ip + offsetof(struct rte_ipv4_hdr, src_addr));

	ip->hdr_checksum = pkt_cksum_update32(ip->hdr_checksum, old, pool);
	memcpy((uint8_t *)ip + offsetof(struct rte_ipv4_hdr, src_addr), &pool, 4);
}

static struct frag_record *frag_slot(struct napt_table *t, rte_be32_t src, rte_be32_t dst,
				     uint8_t proto, rte_be16_t id)
{
	return &t->frags[frag_hash(src, dst, proto, id) % FRAG_SLOTS];
}

void napt_fragment_record(struct napt_table *t, const struct rte_ipv4_hdr *ip,
			  rte_be32_t orig, bool outbound, uint64_t now)
{
	rte_be32_t src = outbound ? orig : ip->src_addr, dst = outbound ? ip->dst_addr : orig;
	struct frag_record *f = frag_slot(t, src, dst, ip->next_proto_id, ip->packet_id);
	struct frag_record r = { .src = src, .dst = dst,
				 .to = outbound ? ip->src_addr : ip->dst_addr,
				 .id = ip->packet_id, .proto = ip->next_proto_id,
				 .outbound = outbound,
				 .expires_tsc = now + rte_get_tsc_hz() * FRAG_LIFETIME_S };
	/* The same again (a first fragment that left untranslated, recorded where it was
	 * handed and once more as it went on): not news for the fragments that wait. */
	bool same = f->expires_tsc && now <= f->expires_tsc && f->src == r.src &&
		    f->dst == r.dst && f->to == r.to && f->id == r.id && f->proto == r.proto &&
		    f->outbound == r.outbound;

	*f = r;
	if (!same)
		t->stats.fragments_recorded++;
}

bool napt_fragment_take(struct napt_table *t, struct rte_ipv4_hdr *ip, bool outbound,
			uint64_t now)
{
	struct frag_record *f = frag_slot(t, ip->src_addr, ip->dst_addr, ip->next_proto_id,
					  ip->packet_id);
	uint8_t *at = (uint8_t *)ip + (outbound ? offsetof(struct rte_ipv4_hdr, src_addr)
					       : offsetof(struct rte_ipv4_hdr, dst_addr));

	if (!f->expires_tsc || now > f->expires_tsc || f->src != ip->src_addr ||
	    f->dst != ip->dst_addr || f->proto != ip->next_proto_id || f->id != ip->packet_id ||
	    f->outbound != outbound) {
		if (!outbound)
			t->stats.fragments_unmatched++;
		return false;
	}
	ip->hdr_checksum = pkt_cksum_update32(ip->hdr_checksum, pkt_load32(at), f->to);
	memcpy(at, &f->to, sizeof(f->to));
	return true;
}

void napt_stats_get(const struct napt_table *t, struct napt_stats *s)
{
	*s = t->stats;
}

uint32_t napt_capacity(const struct napt_table *t)
{
	return t->capacity;
}

bool napt_session_info(const struct napt_table *t, uint32_t i, uint64_t now,
		       struct napt_session_info *out)
{
	static const char *const names[] = {
		[S_UDP] = "udp", [S_ICMP] = "icmp", [S_TCP_OPENING] = "tcp_opening",
		[S_TCP_ESTABLISHED] = "tcp_established", [S_TCP_CLOSING] = "tcp_closing",
	};
	struct napt_session s = t->sess[i];
	uint32_t idle = ticks(t, now) - t->xlate[i].last; /* < 0: used since NOW was read */
	struct napt_mapping m;

	if (s.state == S_FREE || s.state >= RTE_DIM(names) || s.mapping >= t->capacity)
		return false;
	m = t->maps[s.mapping];
	*out = (struct napt_session_info){
		.proto = m.proto, .in_ip = m.in_ip, .out_ip = m.out_ip, .remote_ip = s.remote_ip,
		.in_port = m.in_port, .out_port = m.out_port, .remote_port = s.remote_port,
		.state = names[s.state], .idle_tsc = (int32_t)idle < 0 ? 0 : (uint64_t)idle << t->tick_shift,
	};
	return true;
}
