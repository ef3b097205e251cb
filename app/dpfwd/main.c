/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpfwd: arguments, EAL, ports, worker launch, signals and an orderly shutdown.
 *
 *   dpfwd [EAL options] -- -c FILE [--idle-exit MS] [--stats-json FILE]
 *   dpfwd --check -c FILE | --help | --version
 *
 * The config is loaded and validated before EAL starts, so a bad file costs nothing
 * and starts no port.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_pdump.h>

#include "control.h"
#include "dpfwd.h"

struct options {
	const char *config;
	const char *stats_json;
	unsigned long idle_exit_ms; /* 0: run until a signal */
	bool check;
};

static volatile sig_atomic_t quit_signal, reload_signal;

static void on_signal(int sig)
{
	quit_signal = sig;
}

static void on_sighup(int sig)
{
	reload_signal = sig;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dpfwd [EAL options] -- -c FILE [--idle-exit MS] [--stats-json FILE]\n"
		"       dpfwd --check -c FILE\n"
		"       dpfwd --help | --version\n"
		"\n"
		"  -c, --config FILE      the YAML configuration (ports, neighbours, routes)\n"
		"      --check            validate FILE and exit: 0 if good, 1 and the errors if not\n"
		"      --idle-exit MS     stop once no port has received for MS milliseconds\n"
		"      --stats-json FILE  at exit, write per-port counters and drops as JSON\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version\n"
		"\n"
		"EAL options are DPDK's (e.g. -l 0-2 --vdev net_pcap0,rx_pcap=in.pcap,...).\n"
		"The first EAL lcore is the control thread; every other lcore is a worker.\n");
}

/* Returns -1 on a usage error, 1 when the program should exit 0 (help, version). */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "idle-exit", required_argument, NULL, 'i' },
		{ "stats-json", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->config = optarg;
			break;
		case 'k':
			opt->check = true;
			break;
		case 'i':
			errno = 0;
			opt->idle_exit_ms = strtoul(optarg, &end, 10);
			if (errno || *end || *optarg < '0' || *optarg > '9') {
				fprintf(stderr, "dpfwd: --idle-exit takes milliseconds\n");
				return -1;
			}
			break;
		case 's':
			opt->stats_json = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("dpfwd %s\n", DPFWD_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || !opt->config) {
		fprintf(stderr, optind < argc ? "dpfwd: unexpected argument '%s'\n"
					      : "dpfwd: -c FILE is required%s\n",
			optind < argc ? argv[optind] : "");
		usage(stderr);
		return -1;
	}
	return 0;
}

static bool needs_no_eal(const char *arg)
{
	return !strcmp(arg, "--check") || !strcmp(arg, "--help") || !strcmp(arg, "-h") ||
	       !strcmp(arg, "--version") || !strcmp(arg, "-V");
}

/* Where the application's own arguments begin: after "--"; without one, at argv[1] if
 * any argument is one that needs no EAL (--check, --help, --version), so that
 * "dpfwd -c FILE --check" works as well as "dpfwd --check -c FILE". */
static int app_args_start(int argc, char **argv)
{
	bool ours = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i + 1;
		ours |= needs_no_eal(argv[i]);
	}
	return ours ? 1 : argc;
}

static uint64_t rx_total(const struct dataplane *dp)
{
	uint64_t n = 0;
	unsigned int i, p;

	for (i = 0; i < dp->n_workers; i++)
		for (p = 0; p < dp->n_ports; p++)
			n += __atomic_load_n(&dp->workers[i]->stats.port[p].rx_packets,
					     __ATOMIC_RELAXED);
	return n;
}

/* The control thread's loop: the slow path, until a signal or idle ports. */
static void control_loop(const struct dataplane *dp, struct control *ctl,
			 const struct options *opt)
{
	uint64_t hz = rte_get_tsc_hz(), now, last_change = rte_rdtsc(), last_check = 0;
	uint64_t last_rx = 0, rx;

	while (!quit_signal) {
		usleep(100);
		control_poll(ctl);
		if (reload_signal) {
			char err[CFG_ERR_MAX];

			reload_signal = 0;
			control_reload(ctl, err, sizeof(err)); /* logs either way */
		}
		now = rte_rdtsc();
		/* Reading the workers' counters pulls their cache lines: every 10 ms only. */
		if (!opt->idle_exit_ms || now - last_check < hz / 100)
			continue;
		last_check = now;
		rx = rx_total(dp);
		if (rx != last_rx) {
			last_rx = rx;
			last_change = now;
		} else if ((now - last_change) * 1000 / hz >= opt->idle_exit_ms) {
			break;
		}
	}
}

/* Workers stop receiving first, so that the slow path can finish what they punted
 * and they can still transmit its last packets; then they stop. */
static void workers_stop(struct dataplane *dp, struct control *ctl)
{
	unsigned int i;

	dp->rx_stop = true;
	for (i = 0; i < dp->n_workers; i++)
		while (!dp->workers[i]->rx_stopped)
			rte_pause();
	control_drain(ctl);
	dp->stop = true;
	rte_eal_mp_wait_lcore(); /* workers flush their TX buffers before returning */
	control_finish(ctl);
}

static void workers_launch(struct dataplane *dp)
{
	unsigned int i;

	for (i = 0; i < dp->n_workers; i++)
		rte_eal_remote_launch(dataplane_worker_main, dp->workers[i],
				      dp->workers[i]->lcore_id);
}

static int run(struct config *cfg, const struct options *opt)
{
	static struct dataplane dp;
	struct rte_ether_addr macs[CFG_MAX_PORTS];
	struct rte_mempool *pool = NULL;
	struct control *ctl = NULL;
	struct metrics *metrics = NULL;
	char err[CFG_ERR_MAX];
	unsigned int i, in_use = 0;
	uint64_t start;
	int rc = 1;

	dp.burst = cfg->dataplane.burst;
	dp.rx_burst = RTE_MAX(cfg->dataplane.burst, (uint16_t)4);
	if (ports_prepare(cfg, &dp, &pool))
		goto out;
	/* Tables before ports: a config too big for them starts no port either. */
	for (i = 0; i < dp.n_ports; i++)
		macs[i] = dp.ports[i].mac;
	dp.routes = control_tables_build(cfg, macs, err, sizeof(err));
	if (!dp.routes) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		goto out;
	}
	if (ports_start(cfg, &dp, pool))
		goto out;
	ctl = control_create(&dp, cfg, pool);
	if (!ctl) {
		fprintf(stderr, "dpfwd: cannot create the slow-path rings or the NAT tables "
				"(nat.max_sessions needs 220 to 300 bytes a session, and each worker "
				"about 2 MB, of EAL memory)\n");
		goto out;
	}
	if (cfg->metrics.enabled) {
		metrics = metrics_start(cfg, ctl);
		if (!metrics)
			goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_sighup);
	DPFWD_LOG(INFO, "forwarding with %u worker(s) on %u port(s)", dp.n_workers, dp.n_ports);
	start = rte_rdtsc();
	dp.start_tsc = start;
	workers_launch(&dp);
	control_loop(&dp, ctl, opt);
	workers_stop(&dp, ctl); /* the control thread serves no calls from here on */
	metrics_stop(metrics);
	metrics = NULL;
	stats_nic_read(&dp);
	rc = 0;
out:
	ports_close(&dp);
	if (pool)
		in_use = pool->size - rte_mempool_avail_count(pool);
	if (rc == 0) {
		double secs = (double)(rte_rdtsc() - start) / rte_get_tsc_hz();

		const struct control_stats *cs = control_stats_get(ctl);

		stats_print(cfg, &dp, cs, secs, in_use, stdout);
		if (opt->stats_json &&
		    stats_write_json(opt->stats_json, cfg, &dp, cs, secs, in_use)) {
			fprintf(stderr, "dpfwd: cannot write %s: %s\n", opt->stats_json,
				strerror(errno));
			rc = 1;
		}
		/* A leak or an uncounted packet is a bug: make it fail loudly. */
		if (in_use || !stats_balanced(&dp, cs)) {
			fprintf(stderr, "dpfwd: counters do not balance or %u mbufs leaked\n", in_use);
			rc = 1;
		}
	}
	control_free(ctl);
	control_tables_free(dp.routes);
	for (i = 0; i < dp.n_workers; i++)
		rte_free(dp.workers[i]);
	rte_free(dp.qsbr);
	rte_mempool_free(pool);
	return rc;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct options opt = { 0 };
	char err[CFG_ERR_MAX];
	int app = app_args_start(argc, argv), rc;

	rc = parse_options(argc - app + 1, argv + app - 1, &opt);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (config_load(opt.config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (opt.check) {
		printf("%s: OK (%u ports, %u neighbours, %u routes)\n", opt.config, cfg.n_ports,
		       cfg.n_neighbours, cfg.n_routes);
		config_free(&cfg);
		return 0;
	}
	if (rte_eal_init(app > 1 && app <= argc ? app - 1 : argc, argv) < 0) {
		fprintf(stderr, "dpfwd: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		config_free(&cfg);
		return 1;
	}
	/* Lets Debian's dpdk-dumpcap (a secondary process) attach; that needs DPDK's
	 * multi-process support, which --no-shconf / --in-memory rule out. */
	if (rte_pdump_init() != 0)
		DPFWD_LOG(INFO, "dpdk-dumpcap cannot attach (%s): use dpfwdctl capture",
			  rte_strerror(rte_errno));
	rc = run(&cfg, &opt);
	rte_pdump_uninit();
	config_free(&cfg);
	rte_eal_cleanup();
	return rc;
}
