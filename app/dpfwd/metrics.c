/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus / OpenMetrics text at GET /metrics, served by libmicrohttpd from its own
 * thread. The text is rendered on the control thread (control_call), which owns the
 * config and tables, from counters the workers keep per worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <rte_cycles.h>

#include "dpfwd.h"
#include "nat.h"

#define CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct metrics {
	struct MHD_Daemon *daemon;
	struct control *ctl;
};

/* A growing text buffer; on allocation failure it stops growing and says so. */
struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0 || t->failed) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		char *bigger = realloc(t->buf, t->cap * 2 + (size_t)n);

		if (!bigger) {
			t->failed = true;
			return;
		}
		t->buf = bigger;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

/* Label values are names from the config ([A-Za-z0-9_.-]) and drop reason names: no
 * character needs escaping, but a value is never trusted to be one. */
static const char *label(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 2 < len; i++) {
		if (s[i] == '"' || s[i] == '\\' || s[i] == '\n')
			buf[o++] = '\\';
		buf[o++] = s[i] == '\n' ? 'n' : s[i];
	}
	buf[o] = '\0';
	return buf;
}

static void ports(struct text *t, const struct config *cfg, const struct worker_stats *sum)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} counters[] = {
		{ "dpfwd_port_rx_packets", "Packets received on a port.",
		  offsetof(struct port_counters, rx_packets) },
		{ "dpfwd_port_rx_bytes", "Bytes received on a port.",
		  offsetof(struct port_counters, rx_bytes) },
		{ "dpfwd_port_tx_packets", "Packets sent on a port.",
		  offsetof(struct port_counters, tx_packets) },
		{ "dpfwd_port_tx_bytes", "Bytes sent on a port.",
		  offsetof(struct port_counters, tx_bytes) },
	};
	char name[CFG_NAME_MAX * 2];
	unsigned int c, p;

	for (c = 0; c < RTE_DIM(counters); c++) {
		family(t, counters[c].name, "counter", counters[c].help);
		for (p = 0; p < cfg->n_ports; p++) {
			uint64_t v;

			memcpy(&v, (const uint8_t *)&sum->port[p] + counters[c].offset, sizeof(v));
			put(t, "%s_total{port=\"%s\"} %" PRIu64 "\n", counters[c].name,
			    label(cfg->ports[p].name, name, sizeof(name)), v);
		}
	}
}

static void drops(struct text *t, const struct worker_stats *sum)
{
	unsigned int r;

	family(t, "dpfwd_drops", "counter", "Packets dropped, by reason (see the README).");
	for (r = DROP_NONE + 1; r < DROP_REASON_COUNT; r++)
		put(t, "dpfwd_drops_total{reason=\"%s\"} %" PRIu64 "\n", drop_reason_name(r),
		    sum->drops[r]);
	family(t, "dpfwd_punted", "counter", "Packets workers handed to the slow path.");
	put(t, "dpfwd_punted_total %" PRIu64 "\n", sum->punted);
}

static void slow_path(struct text *t, const struct control_stats *cs)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} counters[] = {
#define SP(field, help) { "dpfwd_slow_path_" #field, help, offsetof(struct control_stats, field) }
		SP(arp_requests, "ARP requests sent."),
		SP(arp_replies, "ARP replies sent."),
		SP(neighbour_solicitations, "Neighbour solicitations sent."),
		SP(neighbour_adverts, "Neighbour advertisements sent."),
		SP(echo_replies, "ICMP and ICMPv6 echo replies sent."),
		SP(icmp_errors, "ICMP and ICMPv6 errors sent."),
		SP(icmp_rate_limited, "ICMP errors not sent: over the rate limit."),
		SP(fragments, "IPv4 fragments sent."),
		SP(neighbours_learned, "Neighbours learned by ARP or ND."),
		SP(neighbours_expired, "Learned neighbours that stopped answering."),
		SP(released, "Held packets sent once their neighbour resolved."),
#undef SP
	};
	unsigned int c;

	for (c = 0; c < RTE_DIM(counters); c++) {
		uint64_t v;

		memcpy(&v, (const uint8_t *)cs + counters[c].offset, sizeof(v));
		family(t, counters[c].name, "counter", counters[c].help);
		put(t, "%s_total %" PRIu64 "\n", counters[c].name, v);
	}
}

static void config_state(struct text *t, struct control *c)
{
	const struct control_config_info *info = control_config_info(c);
	const struct control_stats *cs = control_stats_get(c);
	const struct route_table *rt = control_routes(c);
	uint64_t learned = 0, statics = 0;
	uint32_t i;

	family(t, "dpfwd_reloads", "counter", "Config reloads that took effect.");
	put(t, "dpfwd_reloads_total %" PRIu64 "\n", cs->reloads);
	family(t, "dpfwd_reload_failures", "counter", "Config reloads refused.");
	put(t, "dpfwd_reload_failures_total %" PRIu64 "\n", cs->reload_failures);
	family(t, "dpfwd_config_generation", "gauge", "Generation of the running config.");
	put(t, "dpfwd_config_generation %" PRIu64 "\n", info->generation);
	family(t, "dpfwd_config_loaded_timestamp_seconds", "gauge",
	       "When the running config was loaded.");
	put(t, "dpfwd_config_loaded_timestamp_seconds %" PRIu64 "\n", (uint64_t)info->loaded_at);
	family(t, "dpfwd_config", "info", "The running config file.");
	put(t, "dpfwd_config_info{sha256=\"%s\"} 1\n", info->sha256);
	family(t, "dpfwd_routes", "gauge", "Routes in the config.");
	put(t, "dpfwd_routes %u\n", control_config(c)->n_routes);
	for (i = 0; i < rt->n_nh; i++) {
		if (rt->nh[i].type != NH_FORWARD || !rt->nh_meta[i].ip.family ||
		    route_neighbour_find(rt, &rt->nh_meta[i].ip) != &rt->nh[i])
			continue;
		statics += rt->nh_meta[i].is_static;
		learned += rt->nh_meta[i].learned;
	}
	family(t, "dpfwd_neighbours", "gauge", "Resolved neighbour entries.");
	put(t, "dpfwd_neighbours{state=\"static\"} %" PRIu64 "\n", statics);
	put(t, "dpfwd_neighbours{state=\"learned\"} %" PRIu64 "\n", learned);
}

static void workers(struct text *t, const struct dataplane *dp)
{
	uint64_t elapsed = rte_rdtsc() - dp->start_tsc;
	unsigned int w;

	family(t, "dpfwd_workers", "gauge", "Worker lcores.");
	put(t, "dpfwd_workers %u\n", dp->n_workers);
	family(t, "dpfwd_worker_busy_ratio", "gauge",
	       "Share of the time since start a worker spent on loops that carried packets.");
	for (w = 0; w < dp->n_workers; w++)
		put(t, "dpfwd_worker_busy_ratio{worker=\"%u\"} %.6f\n", w,
		    elapsed ? (double)dp->workers[w]->stats.busy_cycles / (double)elapsed : 0.0);
	family(t, "dpfwd_worker_busy_cycles", "counter", "TSC cycles spent on busy loops.");
	for (w = 0; w < dp->n_workers; w++)
		put(t, "dpfwd_worker_busy_cycles_total{worker=\"%u\"} %" PRIu64 "\n", w,
		    dp->workers[w]->stats.busy_cycles);
	family(t, "dpfwd_worker_loops", "counter", "Polling loops of a worker.");
	for (w = 0; w < dp->n_workers; w++)
		put(t, "dpfwd_worker_loops_total{worker=\"%u\"} %" PRIu64 "\n", w,
		    dp->workers[w]->stats.loops);
}

static void nat(struct text *t, const struct dataplane *dp, const struct config *cfg)
{
	struct napt_stats sum;
	uint64_t ports = 0;
	unsigned int i;

	if (!cfg->nat.enabled)
		return;
	dataplane_napt_stats_sum(dp, &sum);
	for (i = 0; i < cfg->nat.n_snat; i++)
		ports += (uint64_t)(cfg->nat.snat[i].pool_last - cfg->nat.snat[i].pool_first + 1) *
			 (cfg->nat.snat[i].port_last - cfg->nat.snat[i].port_first + 1u);
	family(t, "dpfwd_nat_sessions", "gauge", "NAPT sessions now.");
	put(t, "dpfwd_nat_sessions %" PRIu64 "\n", sum.sessions);
	family(t, "dpfwd_nat_max_sessions", "gauge", "nat.max_sessions.");
	put(t, "dpfwd_nat_max_sessions %u\n", cfg->nat.max_sessions);
	family(t, "dpfwd_nat_pool_ports", "gauge",
	       "Outside ports (address and port pairs) of the snat pools, by use.");
	put(t, "dpfwd_nat_pool_ports{state=\"used\"} %" PRIu64 "\n", sum.mappings);
	put(t, "dpfwd_nat_pool_ports{state=\"total\"} %" PRIu64 "\n", ports);
	family(t, "dpfwd_nat_sessions_created", "counter", "NAPT sessions made.");
	put(t, "dpfwd_nat_sessions_created_total %" PRIu64 "\n", sum.sessions_created);
	family(t, "dpfwd_nat_sessions_expired", "counter", "NAPT sessions that timed out.");
	put(t, "dpfwd_nat_sessions_expired_total %" PRIu64 "\n", sum.expired);
	family(t, "dpfwd_nat_fast_path", "counter",
	       "Packets NAPT translated and sent by its fast path (next hop cached).");
	put(t, "dpfwd_nat_fast_path_total %" PRIu64 "\n", sum.fast_path);
}

/* On the control thread. */
static int render(struct control *c, void *arg)
{
	struct text *t = arg;
	struct dataplane *dp = control_dataplane(c);
	struct worker_stats sum;

	dataplane_stats_sum(dp, &sum);
	ports(t, control_config(c), &sum);
	drops(t, &sum);
	slow_path(t, control_stats_get(c));
	config_state(t, c);
	workers(t, dp);
	nat(t, dp, control_config(c));
	put(t, "# EOF\n");
	return t->failed ? -ENOMEM : 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **state)
{
	static char not_found[] = "not found: try /metrics\n";
	static char unavailable[] = "dpfwd is stopping\n";
	struct metrics *m = cls;
	struct text t = { .cap = 16384 };

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_found, 0,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	t.buf = malloc(t.cap);
	if (!t.buf || control_call(m->ctl, render, &t) != 0) {
		free(t.buf);
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, unavailable, strlen(unavailable),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	}
	return reply(conn, MHD_HTTP_OK, t.buf, t.len, MHD_RESPMEM_MUST_FREE, CONTENT_TYPE);
}

#define METRICS_MAX_CONNECTIONS 64u
#define METRICS_MAX_PER_CLIENT 8u
#define METRICS_IDLE_TIMEOUT_S 10u

struct metrics *metrics_start(const struct config *cfg, struct control *ctl)
{
	struct sockaddr_storage ss = { 0 };
	struct metrics *m;
	/* poll(), not select(): descriptors above 1023 (hugepage files take many). */
	unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (cfg->metrics.addr.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(cfg->metrics.port);
		in->sin_addr.s_addr = htonl(cfg->metrics.addr.v4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->metrics.port);
		memcpy(&in6->sin6_addr, cfg->metrics.addr.v6, 16);
		flags |= MHD_USE_IPv6;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->ctl = ctl;
	errno = 0;
	/* Bounded, so that idle or slow clients cannot take every file descriptor (the
	 * config file, telemetry and capture files need some) or every slot. */
	m->daemon = MHD_start_daemon(flags, cfg->metrics.port, NULL, NULL, answer, m,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, METRICS_MAX_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, METRICS_MAX_PER_CLIENT,
				     MHD_OPTION_CONNECTION_TIMEOUT, METRICS_IDLE_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!m->daemon) {
		fprintf(stderr, "%s:%d:%d: cannot listen on %s: %s\n", cfg->path,
			cfg->metrics.loc.line, cfg->metrics.loc.column, cfg->metrics.listen,
			errno ? strerror(errno) : "refused");
		free(m);
		return NULL;
	}
	DPFWD_LOG(INFO, "metrics on http://%s/metrics", cfg->metrics.listen);
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}
