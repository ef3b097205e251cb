/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands under /dpfwd/ (what dpfwdctl speaks). Telemetry runs its
 * own thread; each command is run on the control thread through control_call(), so it
 * sees tables and config whole and never races a reload.
 *
 * Replies are dicts of scalars and equal-length arrays (DPDK telemetry allows one
 * level of nesting): one array per column, one index per row. Long lists are paged:
 * "/dpfwd/routes,START" answers rows START.. with "total" and, when more remain,
 * "next".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "control_internal.h"
#include "nat.h"

#define PAGE_ROWS 50 /* rows per reply: well inside telemetry's 16 kB output */

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct control *tel_ctl; /* NULL while no dpfwd control thread serves */

struct tel_request {
	const char *params;
	struct rte_tel_data *d;
};

/* A column of a table reply. */
static struct rte_tel_data *column(enum rte_tel_value_type type)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a)
		rte_tel_data_start_array(a, type);
	return a;
}

/* N columns of TYPES; false if any could not be made (they are freed by columns_add). */
static bool columns_make(struct rte_tel_data **cols, const enum rte_tel_value_type *types,
			 unsigned int n)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < n; i++) {
		cols[i] = column(types[i]);
		ok = ok && cols[i];
	}
	return ok;
}

static int columns_add(struct rte_tel_data *d, const char *const *names,
		       struct rte_tel_data **cols, unsigned int n)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (!cols[i] || rc) {
			rte_tel_data_free(cols[i]);
			rc = -ENOMEM;
			continue;
		}
		rc = rte_tel_data_add_dict_container(d, names[i], cols[i], 0);
	}
	return rc;
}

/* START from "CMD,START"; 0 without one. */
static int page_start(const char *params, uint32_t *start)
{
	char *end;

	*start = 0;
	if (!params || !*params)
		return 0;
	*start = (uint32_t)strtoul(params, &end, 10);
	return *end || *params < '0' || *params > '9' ? -EINVAL : 0;
}

/* Paging fields; the generation lets a client see that a reload came between pages. */
static void page_info(const struct control *c, struct rte_tel_data *d, uint32_t total,
		      uint32_t start, uint32_t rows)
{
	rte_tel_data_add_dict_u64(d, "generation", c->info.generation);
	rte_tel_data_add_dict_u64(d, "total", total);
	rte_tel_data_add_dict_u64(d, "start", start);
	if (start + rows < total)
		rte_tel_data_add_dict_u64(d, "next", start + rows);
}

/* ---- /dpfwd/stats, /dpfwd/workers, /dpfwd/drops ---- */

static int fill_stats(struct control *c, void *arg)
{
	static const char *const names[] = { "port", "rx_packets", "rx_bytes", "tx_packets",
					     "tx_bytes" };
	static const enum rte_tel_value_type types[] = { RTE_TEL_STRING_VAL, RTE_TEL_U64_VAL,
							 RTE_TEL_U64_VAL, RTE_TEL_U64_VAL,
							 RTE_TEL_U64_VAL };
	struct rte_tel_data *d = ((struct tel_request *)arg)->d, *cols[RTE_DIM(names)];
	struct worker_stats sum;
	uint64_t dropped = 0;
	unsigned int p, i;

	dataplane_stats_sum(c->dp, &sum);
	for (i = 0; i < DROP_REASON_COUNT; i++)
		dropped += sum.drops[i];
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", c->dp->n_workers);
	rte_tel_data_add_dict_u64(d, "punted", sum.punted);
	rte_tel_data_add_dict_u64(d, "generated", c->stats.generated);
	rte_tel_data_add_dict_u64(d, "consumed", c->stats.consumed);
	rte_tel_data_add_dict_u64(d, "dropped", dropped);
	if (!columns_make(cols, types, RTE_DIM(cols)))
		return columns_add(d, names, cols, RTE_DIM(names));
	for (p = 0; p < c->dp->n_ports; p++) {
		rte_tel_data_add_array_string(cols[0], c->cfg->ports[p].name);
		rte_tel_data_add_array_u64(cols[1], sum.port[p].rx_packets);
		rte_tel_data_add_array_u64(cols[2], sum.port[p].rx_bytes);
		rte_tel_data_add_array_u64(cols[3], sum.port[p].tx_packets);
		rte_tel_data_add_array_u64(cols[4], sum.port[p].tx_bytes);
	}
	return columns_add(d, names, cols, RTE_DIM(names));
}

static int fill_workers(struct control *c, void *arg)
{
	static const char *const names[] = { "worker", "lcore", "rx_packets", "busy_permille",
					     "cycles_per_packet" };
	static const enum rte_tel_value_type types[] = { RTE_TEL_U64_VAL, RTE_TEL_U64_VAL,
							 RTE_TEL_U64_VAL, RTE_TEL_U64_VAL,
							 RTE_TEL_U64_VAL };
	struct rte_tel_data *d = ((struct tel_request *)arg)->d, *cols[RTE_DIM(names)];
	uint64_t elapsed = rte_rdtsc() - c->dp->start_tsc;
	unsigned int w, i;

	rte_tel_data_start_dict(d);
	if (!columns_make(cols, types, RTE_DIM(cols)))
		return columns_add(d, names, cols, RTE_DIM(names));
	for (w = 0; w < c->dp->n_workers; w++) {
		const struct worker_stats *s = &c->dp->workers[w]->stats;
		uint64_t rx = 0;

		for (i = 0; i < c->dp->n_ports; i++)
			rx += s->port[i].rx_packets;
		rte_tel_data_add_array_u64(cols[0], w);
		rte_tel_data_add_array_u64(cols[1], c->dp->workers[w]->lcore_id);
		rte_tel_data_add_array_u64(cols[2], rx);
		/* Busy: cycles spent on loops that carried packets, of all cycles so far. */
		rte_tel_data_add_array_u64(cols[3], elapsed ? s->busy_cycles * 1000 / elapsed : 0);
		rte_tel_data_add_array_u64(cols[4], rx ? s->busy_cycles / rx : 0);
	}
	return columns_add(d, names, cols, RTE_DIM(names));
}

static int fill_drops(struct control *c, void *arg)
{
	struct rte_tel_data *d = ((struct tel_request *)arg)->d;
	struct worker_stats sum;
	unsigned int i;

	dataplane_stats_sum(c->dp, &sum);
	rte_tel_data_start_dict(d);
	for (i = DROP_NONE + 1; i < DROP_REASON_COUNT; i++)
		rte_tel_data_add_dict_u64(d, drop_reason_name(i), sum.drops[i]);
	return 0;
}

/* ---- /dpfwd/routes ---- */

static void prefix_format(const struct cfg_prefix *p, char *buf, size_t len)
{
	char ip[64];

	snprintf(buf, len, "%s/%u", cfg_ip_format(&p->addr, ip, sizeof(ip)), p->len);
}

/* The via list ("a,b") and how many of its next hops have a MAC. */
static unsigned int via_format(const struct control *c, const struct cfg_route *r, char *buf,
			       size_t len)
{
	unsigned int i, resolved = 0;
	size_t used = 0;
	char ip[64];

	buf[0] = '\0';
	for (i = 0; i < r->n_via; i++) {
		const struct nexthop *nh = route_neighbour_find(c->rt, &r->via[i]);

		if (nh && nh->type == NH_FORWARD)
			resolved++;
		if (used < len)
			used += snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 cfg_ip_format(&r->via[i], ip, sizeof(ip)));
	}
	return resolved;
}

static const char *route_action_name(const struct cfg_route *r)
{
	static const char *const names[] = { [CFG_ROUTE_FORWARD] = "forward",
					     [CFG_ROUTE_BLACKHOLE] = "blackhole",
					     [CFG_ROUTE_UNREACHABLE] = "unreachable" };

	return names[r->action];
}

/* Row I of the route list: the connected subnets of every port, then the config's
 * routes in file order. */
static void route_row(const struct control *c, uint32_t row, struct rte_tel_data **cols)
{
	const struct config *cfg = c->cfg;
	char prefix[80], via[RTE_TEL_MAX_STRING_LEN], state[32];
	const struct cfg_route *r;
	unsigned int p;

	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *port = &cfg->ports[p];

		if (row < port->n_ipv4 + port->n_ipv6) {
			struct cfg_prefix net = cfg_prefix_network(
				row < port->n_ipv4 ? &port->ipv4[row] : &port->ipv6[row - port->n_ipv4]);

			prefix_format(&net, prefix, sizeof(prefix));
			rte_tel_data_add_array_string(cols[0], prefix);
			rte_tel_data_add_array_string(cols[1], "connected");
			rte_tel_data_add_array_string(cols[2], "");
			rte_tel_data_add_array_string(cols[3], port->name);
			rte_tel_data_add_array_string(cols[4], "");
			return;
		}
		row -= port->n_ipv4 + port->n_ipv6;
	}
	r = &cfg->routes[row];
	prefix_format(&r->prefix, prefix, sizeof(prefix));
	rte_tel_data_add_array_string(cols[0], prefix);
	rte_tel_data_add_array_string(cols[1], route_action_name(r));
	state[0] = '\0';
	if (r->action == CFG_ROUTE_FORWARD)
		snprintf(state, sizeof(state), "%u/%u resolved", via_format(c, r, via, sizeof(via)),
			 r->n_via);
	else
		via[0] = '\0';
	rte_tel_data_add_array_string(cols[2], via);
	rte_tel_data_add_array_string(cols[3],
				      r->n_via ? cfg->ports[r->via_port[0]].name : "");
	rte_tel_data_add_array_string(cols[4], state);
}

static int fill_routes(struct control *c, void *arg)
{
	static const char *const names[] = { "prefix", "type", "via", "port", "state" };
	static const enum rte_tel_value_type types[] = { RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL,
							 RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL,
							 RTE_TEL_STRING_VAL };
	struct tel_request *req = arg;
	struct rte_tel_data *cols[RTE_DIM(names)];
	uint32_t start, total = c->cfg->n_routes, row, rows = 0;
	unsigned int p;

	if (page_start(req->params, &start))
		return -EINVAL;
	for (p = 0; p < c->cfg->n_ports; p++)
		total += c->cfg->ports[p].n_ipv4 + c->cfg->ports[p].n_ipv6;
	rte_tel_data_start_dict(req->d);
	if (!columns_make(cols, types, RTE_DIM(cols)))
		return columns_add(req->d, names, cols, RTE_DIM(names));
	for (row = start; row < total && rows < PAGE_ROWS; row++, rows++)
		route_row(c, row, cols);
	page_info(c, req->d, total, start, rows);
	return columns_add(req->d, names, cols, RTE_DIM(names));
}

/* ---- /dpfwd/neighbours ---- */

/* Neighbour entries are the next hops the neighbour hash points at (gateways that
 * use one are separate next hops with the same address). */
static bool is_neighbour_entry(const struct route_table *rt, uint32_t i)
{
	return rt->nh_meta[i].ip.family &&
	       route_neighbour_find(rt, &rt->nh_meta[i].ip) == &rt->nh[i];
}

static void neighbour_row(const struct control *c, uint32_t i, uint64_t now,
			  struct rte_tel_data **cols)
{
	const struct nexthop *nh = &c->rt->nh[i];
	const struct nexthop_meta *meta = &c->rt->nh_meta[i];
	char ip[64], mac[RTE_ETHER_ADDR_FMT_SIZE] = "";
	const char *state = "incomplete";

	if (nh->type == NH_FORWARD) {
		rte_ether_format_addr(mac, sizeof(mac), &nh->dst_mac);
		state = meta->is_static ? "static" : meta->probes ? "probing" : "reachable";
	}
	rte_tel_data_add_array_string(cols[0], cfg_ip_format(&meta->ip, ip, sizeof(ip)));
	rte_tel_data_add_array_string(cols[1], mac);
	rte_tel_data_add_array_string(cols[2], c->cfg->ports[nh->port].name);
	rte_tel_data_add_array_string(cols[3], state);
	/* Seconds since the neighbour last confirmed its address (learned entries). */
	rte_tel_data_add_array_u64(cols[4], meta->learned ? (now - meta->confirmed_tsc) /
							       rte_get_tsc_hz()
							 : 0);
}

static int fill_neighbours(struct control *c, void *arg)
{
	static const char *const names[] = { "ip", "mac", "port", "state", "age_s" };
	static const enum rte_tel_value_type types[] = { RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL,
							 RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL,
							 RTE_TEL_U64_VAL };
	struct tel_request *req = arg;
	struct rte_tel_data *cols[RTE_DIM(names)];
	uint32_t start, total = 0, rows = 0, i;
	uint64_t now = rte_rdtsc();

	if (page_start(req->params, &start))
		return -EINVAL;
	rte_tel_data_start_dict(req->d);
	if (!columns_make(cols, types, RTE_DIM(cols)))
		return columns_add(req->d, names, cols, RTE_DIM(names));
	for (i = 0; i < c->rt->n_nh; i++) {
		if (!is_neighbour_entry(c->rt, i))
			continue;
		if (total++ < start || rows == PAGE_ROWS)
			continue;
		neighbour_row(c, i, now, cols);
		rows++;
	}
	page_info(c, req->d, total, start, rows);
	return columns_add(req->d, names, cols, RTE_DIM(names));
}

/* ---- /dpfwd/config, /dpfwd/reload ---- */

/* Keep messages (file names, errors quoting a config) valid JSON whatever they hold:
 * DPDK 22.11's telemetry escapes too little, and mis-handles bytes above 0x7f. */
static void add_message(struct rte_tel_data *d, const char *name, const char *msg)
{
	char buf[RTE_TEL_MAX_STRING_LEN];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", msg);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '"' || buf[i] == '\\' || (unsigned char)buf[i] < 0x20)
			buf[i] = '\'';
		else if ((unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	rte_tel_data_add_dict_string(d, name, buf);
}

/* Telemetry strings hold 127 characters: where a message would not fit, name the file
 * without its directory (the full path is in /dpfwd/config). */
static const char *short_message(const char *msg, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(path);

	if (strlen(msg) < RTE_TEL_MAX_STRING_LEN || !base || strncmp(msg, path, n))
		return msg;
	return msg + (base + 1 - path);
}

static int fill_config(struct control *c, void *arg)
{
	struct rte_tel_data *d = ((struct tel_request *)arg)->d;

	rte_tel_data_start_dict(d);
	add_message(d, "file", c->cfg->path);
	rte_tel_data_add_dict_string(d, "sha256", c->info.sha256);
	rte_tel_data_add_dict_u64(d, "generation", c->info.generation);
	rte_tel_data_add_dict_u64(d, "loaded_at", (uint64_t)c->info.loaded_at);
	rte_tel_data_add_dict_u64(d, "reloads", c->stats.reloads);
	rte_tel_data_add_dict_u64(d, "reload_failures", c->stats.reload_failures);
	add_message(d, "last_error", short_message(c->info.last_error, c->cfg->path));
	rte_tel_data_add_dict_u64(d, "ports", c->cfg->n_ports);
	rte_tel_data_add_dict_u64(d, "routes", c->cfg->n_routes);
	rte_tel_data_add_dict_u64(d, "static_neighbours", c->cfg->n_neighbours);
	return 0;
}

static int do_reload(struct control *c, void *arg)
{
	struct rte_tel_data *d = ((struct tel_request *)arg)->d;
	char err[CFG_ERR_MAX];
	int rc = control_reload(c, err, sizeof(err));

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "ok", rc == 0);
	rte_tel_data_add_dict_u64(d, "generation", c->info.generation);
	if (rc)
		add_message(d, "error", short_message(err, c->cfg->path));
	return 0;
}

/* ---- /dpfwd/nat ---- */

/* NAPT counters summed over the workers (each writes its own; read while they run). */
static int fill_nat(struct control *c, void *arg)
{
	struct rte_tel_data *d = ((struct tel_request *)arg)->d;
	struct napt_stats sum;

	dataplane_napt_stats_sum(c->dp, &sum);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "enabled", c->cfg->nat.enabled);
	rte_tel_data_add_dict_u64(d, "sessions", sum.sessions);
	rte_tel_data_add_dict_u64(d, "mappings", sum.mappings);
	rte_tel_data_add_dict_u64(d, "max_sessions", c->cfg->nat.max_sessions);
	rte_tel_data_add_dict_u64(d, "sessions_created", sum.sessions_created);
	rte_tel_data_add_dict_u64(d, "mappings_created", sum.mappings_created);
	rte_tel_data_add_dict_u64(d, "expired", sum.expired);
	rte_tel_data_add_dict_u64(d, "table_full", sum.table_full);
	rte_tel_data_add_dict_u64(d, "ports_exhausted", sum.ports_exhausted);
	rte_tel_data_add_dict_u64(d, "filtered", sum.filtered);
	rte_tel_data_add_dict_u64(d, "icmp_errors", sum.icmp_errors);
	rte_tel_data_add_dict_u64(d, "fast_path", sum.fast_path);
	return 0;
}

/* "ADDRESS:PORT" (network order in) into BUF. */
static const char *endpoint(rte_be32_t ip, rte_be16_t port, char *buf, size_t len)
{
	struct cfg_ip a = { .family = AF_INET, .v4 = rte_be_to_cpu_32(ip) };
	char addr[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", cfg_ip_format(&a, addr, sizeof(addr)),
		 rte_be_to_cpu_16(port));
	return buf;
}

static void session_row(const struct napt_session_info *s, unsigned int worker, uint64_t hz,
			struct rte_tel_data **cols)
{
	char buf[32];

	rte_tel_data_add_array_u64(cols[0], worker);
	rte_tel_data_add_array_string(cols[1], s->proto == IPPROTO_TCP   ? "tcp"
					       : s->proto == IPPROTO_UDP ? "udp"
									 : "icmp");
	rte_tel_data_add_array_string(cols[2], endpoint(s->in_ip, s->in_port, buf, sizeof(buf)));
	rte_tel_data_add_array_string(cols[3], endpoint(s->out_ip, s->out_port, buf, sizeof(buf)));
	rte_tel_data_add_array_string(cols[4],
				      endpoint(s->remote_ip, s->remote_port, buf, sizeof(buf)));
	rte_tel_data_add_array_string(cols[5], s->state);
	rte_tel_data_add_array_u64(cols[6], s->idle_tsc / hz);
}

/* The sessions of every worker, paged; a live view (see napt_session_info). */
static int fill_nat_sessions(struct control *c, void *arg)
{
	static const char *const names[] = { "worker", "proto", "inside", "outside", "remote",
					     "state", "idle_s" };
	static const enum rte_tel_value_type types[] = {
		RTE_TEL_U64_VAL, RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL,
		RTE_TEL_STRING_VAL, RTE_TEL_STRING_VAL, RTE_TEL_U64_VAL,
	};
	struct tel_request *req = arg;
	struct rte_tel_data *cols[RTE_DIM(names)];
	uint32_t start, total = 0, rows = 0, i;
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	struct napt_session_info s;
	unsigned int w;

	if (page_start(req->params, &start))
		return -EINVAL;
	rte_tel_data_start_dict(req->d);
	if (!columns_make(cols, types, RTE_DIM(cols)))
		return columns_add(req->d, names, cols, RTE_DIM(names));
	for (w = 0; w < c->dp->n_workers; w++) {
		const struct napt_table *t = c->dp->workers[w]->napt;

		for (i = 0; t && i < napt_capacity(t); i++) {
			if (!napt_session_info(t, i, now, &s))
				continue;
			if (total++ < start || rows == PAGE_ROWS)
				continue;
			session_row(&s, w, hz, cols);
			rows++;
		}
	}
	page_info(c, req->d, total, start, rows);
	return columns_add(req->d, names, cols, RTE_DIM(names));
}

/* ---- /dpfwd/capture, /dpfwd/capture_start, /dpfwd/capture_stop ---- */

static int fill_capture(struct control *c, void *arg)
{
	struct rte_tel_data *d = ((struct tel_request *)arg)->d;
	const struct control_capture *cap = &c->capture;
	bool running = cap->pcapng != NULL;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "running", running);
	if (!cap->path[0])
		return 0;
	rte_tel_data_add_dict_string(d, "port", c->cfg->ports[cap->port].name);
	add_message(d, "file", short_message(cap->path, cap->path));
	rte_tel_data_add_dict_u64(d, "count", cap->count);
	rte_tel_data_add_dict_u64(d, "written", cap->written);
	rte_tel_data_add_dict_u64(d, "not_captured",
				  running ? capture_dropped_total(c) - cap->dropped_before
					  : cap->dropped);
	return 0;
}

/* "PORT,COUNT,FILE": COUNT 0 captures until /dpfwd/capture_stop. */
static int do_capture_start(struct control *c, void *arg)
{
	struct tel_request *req = arg;
	char name[CFG_NAME_MAX], err[CFG_ERR_MAX] = "usage: PORT,COUNT,FILE";
	const char *p = req->params ? req->params : "", *comma = strchr(p, ',');
	unsigned long long count = 0;
	char *end = NULL;
	int port = -1, rc = -1;

	if (comma && (size_t)(comma - p) < sizeof(name)) {
		snprintf(name, sizeof(name), "%.*s", (int)(comma - p), p);
		count = strtoull(comma + 1, &end, 10);
		port = config_port_index(c->cfg, name);
		if (port < 0)
			snprintf(err, sizeof(err), "no port named '%s'", name);
	}
	if (port >= 0 && end && *end == ',' && end[1] == '/' && end != comma + 1)
		rc = control_capture_start(c, (unsigned int)port, count, end + 1, err,
					   sizeof(err));
	else if (port >= 0)
		snprintf(err, sizeof(err), "usage: PORT,COUNT,FILE with an absolute FILE");
	rte_tel_data_start_dict(req->d);
	rte_tel_data_add_dict_int(req->d, "ok", rc == 0);
	if (rc)
		add_message(req->d, "error", err);
	return 0;
}

static int do_capture_stop(struct control *c, void *arg)
{
	control_capture_stop(c);
	return fill_capture(c, arg);
}

/* ---- registration ---- */

static int tel_run(int (*fn)(struct control *, void *), const char *params,
		   struct rte_tel_data *d)
{
	struct tel_request req = { .params = params, .d = d };
	int rc = -ENOTCONN;

	pthread_mutex_lock(&tel_lock);
	if (tel_ctl)
		rc = control_call(tel_ctl, fn, &req);
	pthread_mutex_unlock(&tel_lock);
	return rc;
}

#define TEL_COMMAND(name, fn)                                                        \
	static int tel_##name(const char *cmd, const char *params, struct rte_tel_data *d) \
	{                                                                            \
		return tel_run(fn, params, d);                                       \
	}
TEL_COMMAND(stats, fill_stats)
TEL_COMMAND(workers, fill_workers)
TEL_COMMAND(drops, fill_drops)
TEL_COMMAND(routes, fill_routes)
TEL_COMMAND(neighbours, fill_neighbours)
TEL_COMMAND(config, fill_config)
TEL_COMMAND(reload, do_reload)
TEL_COMMAND(nat, fill_nat)
TEL_COMMAND(nat_sessions, fill_nat_sessions)
TEL_COMMAND(capture, fill_capture)
TEL_COMMAND(capture_start, do_capture_start)
TEL_COMMAND(capture_stop, do_capture_stop)

void control_telemetry_register(struct control *c)
{
	static bool registered;

	pthread_mutex_lock(&tel_lock);
	tel_ctl = c;
	pthread_mutex_unlock(&tel_lock);
	if (registered)
		return;
	registered = true;
	rte_telemetry_register_cmd("/dpfwd/stats", tel_stats,
				   "Per-port packets and bytes, totals. No parameters");
	rte_telemetry_register_cmd("/dpfwd/workers", tel_workers,
				   "Per-worker packets, busy share (permille), cycles per packet");
	rte_telemetry_register_cmd("/dpfwd/drops", tel_drops, "Dropped packets by reason");
	rte_telemetry_register_cmd("/dpfwd/routes", tel_routes,
				   "Connected and configured routes. Parameter: first row");
	rte_telemetry_register_cmd("/dpfwd/neighbours", tel_neighbours,
				   "Neighbour entries (static, learned). Parameter: first row");
	rte_telemetry_register_cmd("/dpfwd/config", tel_config,
				   "Loaded file, sha256, generation, reloads");
	rte_telemetry_register_cmd("/dpfwd/reload", tel_reload,
				   "Re-read the config file; ok, generation, error");
	rte_telemetry_register_cmd("/dpfwd/nat", tel_nat,
				   "NAT sessions and mappings now, created, expired, refused");
	rte_telemetry_register_cmd("/dpfwd/nat_sessions", tel_nat_sessions,
				   "NAPT sessions (live view). Parameter: first row");
	rte_telemetry_register_cmd("/dpfwd/capture", tel_capture,
				   "The live capture: running, port, file, written");
	rte_telemetry_register_cmd("/dpfwd/capture_start", tel_capture_start,
				   "Capture a port into a pcapng file. Parameters: PORT,COUNT,FILE");
	rte_telemetry_register_cmd("/dpfwd/capture_stop", tel_capture_stop,
				   "Stop the live capture; its final status");
}

/* After the control thread stopped serving (control_calls_close): a command that
 * is running returns at once, and later ones find no control thread. */
void control_telemetry_unregister(void)
{
	pthread_mutex_lock(&tel_lock);
	tel_ctl = NULL;
	pthread_mutex_unlock(&tel_lock);
}
