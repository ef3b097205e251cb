#!/bin/bash
# dpfwd throughput benchmark, side by side with DPDK's own l3fwd (LPM) as a baseline.
#
#   test/bench/run-bench.sh            (as root; about six minutes)
#
# Environment: BENCH_WARMUP (s, default 1), BENCH_WINDOW (s, default 4),
#              BENCH_ROUNDS (default 3), BENCH_CEILING (default 1),
#              BENCH_QUIET_BUDGET (s, default 60), BENCH_RELOADS (default 100; 0: none),
#              BENCH_NAT (default 1: the NAT scenario; 0: skip it),
#              BENCH_NAT_FLOWS (default 64512: its flows; a list, e.g. "256 4096 64512",
#              runs it once per count: fewer flows keep NAT's tables in the caches),
#              BENCH_FWD (default 1; 0: skip the forwarding scenarios and l3fwd).
# Output: the table on stdout and in build/bench/results.txt; every run's log, rate
# and stats JSON in build/bench/.
#
# Both programs forward between two net_pcap ports that replay a capture from memory
# (infinite_rx=1) and drop on transmit (no tx_pcap), with one forwarding lcore each,
# on the same core (CPU 1): the numbers compare per-core forwarding cost, not NICs.
# The rate is read the same way for both: /ethdev/stats on the DPDK telemetry socket
# at the start and end of a BENCH_WINDOW seconds window, after BENCH_WARMUP seconds of
# traffic (test/bench/telemetry_rate.py), so start-up and shutdown are never counted.
# dpfwd's cycles per packet come from its --stats-json (busy_cycles / rx_packets).
#
# Noise: on a shared VM the rate swings by up to a third from one second to the next.
# So each round runs every program once per scenario, interleaved; the table gives the
# median over the rounds, and a second table the 90th percentile of 0.5 s slices, the
# rate when nothing interferes. Runs wait for a quiet machine first, and the rounds in
# which something visibly took the core away are flagged and left out of the medians
# (test/bench/bench_report.py).
# With BENCH_CEILING=1 testpmd's io forwarding (no lookup, no header access) runs on
# the same captures too: the most this harness (the pcap PMD's copy into fresh mbufs
# and the drop on TX) lets any program forward on one core.
#
# The bench reports; it never fails on a threshold. It exits non-zero only when it
# could not measure (no hugepages, a build or a run failed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

PY=/usr/bin/python3 # Debian's, which has scapy; the pyenv python3 on PATH has not
OUT=build/bench
WARMUP=${BENCH_WARMUP:-1}
WINDOW=${BENCH_WINDOW:-4}
ROUNDS=${BENCH_ROUNDS:-3}
CEILING=${BENCH_CEILING:-1}
HUGEPAGES=1024 # 2 MB pages: 2 GB, far more than one run needs (a few hundred MB)
FWD_CPU=1      # where each program's forwarding lcore runs
CTL_CPU=0      # dpfwd's main lcore, DPDK's control threads and the telemetry reader

L3FWD_SRC=/usr/share/dpdk/examples/l3fwd
L3FWD_DIR=$OUT/l3fwd-src
L3FWD=$L3FWD_DIR/build/l3fwd
DPFWD=build/app/dpfwd/dpfwd
TESTPMD=/usr/bin/dpdk-testpmd

die() { echo "run-bench: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (hugepages, /var/run/dpdk)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: one forwarding, one for control"
$PY -c 'import scapy' 2>/dev/null || die "$PY has no scapy (apt-get install python3-scapy)"
mkdir -p "$OUT"

# --- cleanup: every process we start is recorded here and stopped on any exit -----
PIDS=()
PREFIXES=()
cleanup() {
	local pid p
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null || continue
		kill -INT "$pid" 2>/dev/null || true
		sleep 1
		kill -KILL "$pid" 2>/dev/null || true
	done
	# DPDK leaves its runtime dir (telemetry and mp sockets, config) behind.
	for p in "${PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. hugepages --------------------------------------------------------------------
# Without them DPDK falls back to 4 kB pages (--no-huge) and runs at about half speed,
# which would measure the TLB rather than the forwarding code.
setup_hugepages() {
	local have free
	have=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$have" -lt "$HUGEPAGES" ]; then
		echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	fi
	if ! mountpoint -q /dev/hugepages 2>/dev/null; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null ||
			die "cannot mount hugetlbfs on /dev/hugepages"
	fi
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	[ "$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)" = 2048 ] ||
		die "default huge page size is not 2 MB"
	[ "$free" -ge 256 ] ||
		die "only $free free 2 MB huge pages (wanted $HUGEPAGES): free memory, or run on a host that allows hugepages"
	log "hugepages: $free of $(cat /proc/sys/vm/nr_hugepages) x 2 MB free, hugetlbfs on /dev/hugepages"
}

# --- 2a. dpfwd ------------------------------------------------------------------------
build_dpfwd() {
	log "building dpfwd (meson/ninja in build/)"
	{ [ -f build/build.ninja ] || meson setup build; } >"$OUT/dpfwd-build.log" 2>&1 &&
		ninja -C build >>"$OUT/dpfwd-build.log" 2>&1
}

# --- 2b. l3fwd ------------------------------------------------------------------------
# DPDK's example, copied and built with its own Makefile, i.e. with exactly the flags
# pkg-config gives (-O3 and the same -march as dpfwd gets through meson's libdpdk
# dependency). Two patches, each marked "dpfwd bench patch" in the copy:
#  - Rx offloads: l3fwd asks for RTE_ETH_RX_OFFLOAD_CHECKSUM unconditionally, which
#    net_pcap does not offer, so rte_eth_dev_configure fails. Mask the request by
#    dev_info.rx_offload_capa (both the port's copy and the global used for the queue
#    set-up), as l3fwd already does for rss_hf. With no checksum offload l3fwd simply
#    does not check IPv4 checksums (it leaves that to the NIC), while dpfwd verifies
#    them in software: that work is part of dpfwd's figure and not of l3fwd's.
#  - mbuf pool floor 8192 -> 16383, the size dpfwd's bench config uses: infinite_rx
#    preloads every capture frame into an mbuf of the RX queue's pool (2 x 1024 here),
#    and equal pools keep the comparison even. 8192 would also work with these
#    captures; the patch only removes a difference.
# RSS needs no patch: l3fwd masks rss_hf by the device's capabilities itself and
# drops to MQ_RX_NONE on single-queue devices.
build_l3fwd() {
	local script=test/bench/run-bench.sh
	# Rebuilt when this script (which holds the patches) or DPDK's copy changed.
	if [ -x "$L3FWD" ] && [ "$L3FWD" -nt "$script" ] && [ "$L3FWD" -nt "$L3FWD_SRC/main.c" ]; then
		return 0
	fi
	log "building l3fwd from $L3FWD_SRC"
	[ -d "$L3FWD_SRC" ] || die "no $L3FWD_SRC (apt-get install dpdk-doc)"
	rm -rf "$L3FWD_DIR" "$OUT/common"
	cp -r "$L3FWD_SRC" "$L3FWD_DIR"
	cp -r "$L3FWD_SRC/../common" "$OUT/common" # its Makefile adds -I../common
	sed -i \
		-e '/^\t\tlocal_port_conf.rx_adv_conf.rss_conf.rss_hf &=$/i\
\t\t/* dpfwd bench patch: request only the Rx offloads the device has. */\
\t\tlocal_port_conf.rxmode.offloads \&= dev_info.rx_offload_capa;\
\t\tport_conf.rxmode.offloads \&= dev_info.rx_offload_capa;' \
		-e 's/^\t(unsigned)8192)$/\t(unsigned)16383) \/* dpfwd bench patch: was 8192 *\//' \
		"$L3FWD_DIR/main.c"
	[ "$(grep -c 'dpfwd bench patch' "$L3FWD_DIR/main.c")" = 2 ] ||
		die "patching $L3FWD_DIR/main.c failed: has l3fwd changed? see build_l3fwd()"
	make -C "$L3FWD_DIR" >"$OUT/l3fwd-build.log" 2>&1 ||
		die "l3fwd does not build: see $OUT/l3fwd-build.log"
}

# --- waiting for a quiet machine --------------------------------------------------------
# Anything else running (a build, a test suite) takes the forwarding core away for part
# of the window and the rate drops by as much. Before each run, wait while the machine
# is more than QUIET_MAX_PCT busy, for QUIET_BUDGET seconds in all at most; what still
# gets disturbed is flagged in the table (telemetry_rate.py measures it).
QUIET_MAX_PCT=10
QUIET_BUDGET=${BENCH_QUIET_BUDGET:-60}
QUIET_WAITED=0
busy_pct() { # share of all CPUs' time not idle over the next second, in percent
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	echo "$a $b" | awk '{busy = $3 - $1; idle = $4 - $2;
		print (busy + idle > 0) ? int(100 * busy / (busy + idle)) : 0}'
}
wait_quiet() {
	local pct
	while [ "$QUIET_WAITED" -lt "$QUIET_BUDGET" ]; do
		pct=$(busy_pct)
		[ "$pct" -le "$QUIET_MAX_PCT" ] && return 0
		[ "$QUIET_WAITED" = 0 ] && log "machine ${pct}% busy: waiting for it to calm down (at most ${QUIET_BUDGET}s in all)"
		QUIET_WAITED=$((QUIET_WAITED + 1))
	done
}

# --- 4. one measured run ---------------------------------------------------------------
# run_one NAME SCENARIO CMD...: start CMD in the background, measure it through
# telemetry, stop it with SIGINT (so dpfwd writes its stats JSON), wait for it.
# Writes $OUT/NAME-SCENARIO.rate.json and .log.
run_one() {
	local name=$1 scen=$2 prefix=$3
	shift 3
	local base=$OUT/$name-$scen pid rc=0
	PREFIXES+=("$prefix")
	rm -f "$base.rate.json" "$base.stats.json"
	wait_quiet
	"$@" >"$base.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	taskset -c "$CTL_CPU" $PY test/bench/telemetry_rate.py "$prefix" --ports 0,1 \
		--warmup "$WARMUP" --window "$WINDOW" --timeout 60 --pid "$pid" --cpu "$FWD_CPU" --other-cpu "$CTL_CPU" \
		>"$base.rate.json" || rc=1
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 100); do # up to 10 s for an orderly exit
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run-bench: $name did not stop on SIGINT, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		rc=1
	fi
	wait "$pid" 2>/dev/null || rc=1
	rm -rf "/var/run/dpdk/$prefix"
	if [ $rc != 0 ]; then
		echo "run-bench: $name $scen failed; its output ($base.log) ends with:" >&2
		tail -n 15 "$base.log" >&2
	fi
	return $rc
}

# EAL arguments all programs share: the two replaying ports, hugepages (the default;
# --huge-unlink so that no hugepage file outlives the process, even a killed one),
# no PCI scan, quiet pcap PMD.
eal_common() {
	local scen=$1 prefix=$2
	echo --file-prefix "$prefix" --huge-unlink --no-pci --log-level pmd.net.pcap:error \
		--vdev "net_pcap0,rx_pcap=$ROOT/$OUT/traffic/$scen-p0.pcap,infinite_rx=1" \
		--vdev "net_pcap1,rx_pcap=$ROOT/$OUT/traffic/$scen-p1.pcap,infinite_rx=1"
}

run_dpfwd() { # SCENARIO ROUND [NAME CONFIG]: NAME-SCENARIO files, the CONFIG given
	local scen=$1 round=$2 name=${3:-dpfwd} cfg=${4:-$OUT/traffic/dpfwd.yaml}
	local prefix="bench_${name}_${scen}_$$_$round"
	# shellcheck disable=SC2046 # eal_common's words are meant to split
	run_one "$name" "$scen" "$prefix" "$DPFWD" -l "$CTL_CPU,$FWD_CPU" $(eal_common "$scen" "$prefix") \
		-- -c "$cfg" --stats-json "$OUT/$name-$scen.stats.json"
}

run_l3fwd() {
	local scen=$1 round=$2
	local prefix="bench_l3fwd_${scen}_$$_$round"
	# One lcore, which is l3fwd's main lcore and forwards (l3fwd runs its loop on
	# every lcore, main included). It must be the only one: l3fwd sets up a TX queue
	# per lcore and a net_pcap port without tx_pcap has exactly one.
	# No -P: net_pcap does no MAC filtering, so promiscuous mode changes nothing.
	# LPM handles IPv4 and IPv6 by packet type; --ipv6 only matters for exact match.
	# shellcheck disable=SC2046
	run_one l3fwd "$scen" "$prefix" "$L3FWD" -l "$FWD_CPU" $(eal_common "$scen" "$prefix") \
		-- -p 0x3 --lookup lpm --parse-ptype --config "(0,0,$FWD_CPU),(1,0,$FWD_CPU)"
}

run_testpmd() {
	local scen=$1 round=$2
	local prefix="bench_testpmd_${scen}_$$_$round"
	# io mode: received bursts go out of the paired port untouched. A --stats-period
	# keeps testpmd from reading stdin (it would exit at once on /dev/null) and it
	# stops on SIGINT. Same pool size as the other two.
	# shellcheck disable=SC2046
	run_one testpmd "$scen" "$prefix" "$TESTPMD" -l "$CTL_CPU,$FWD_CPU" $(eal_common "$scen" "$prefix") \
		-- --forward-mode=io --auto-start --stats-period 3600 --total-num-mbufs 16383
}

# run_reload SCENARIO: dpfwd forwarding at full rate while its config is reloaded
# BENCH_RELOADS times (test/bench/reload_under_load.py); then its stats JSON must show
# nothing dropped and every packet accounted for (dpfwd itself exits 1 otherwise).
run_reload() {
	local scen=$1 prefix="bench_reload_${1}_$$" base=$OUT/dpfwd-reload-$1 pid rc=0
	local cfg=$OUT/traffic/dpfwd-reload.yaml
	cp "$OUT/traffic/dpfwd.yaml" "$cfg"
	PREFIXES+=("$prefix")
	wait_quiet
	# shellcheck disable=SC2046
	"$DPFWD" -l "$CTL_CPU,$FWD_CPU" $(eal_common "$scen" "$prefix") \
		-- -c "$cfg" --stats-json "$base.stats.json" >"$base.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	taskset -c "$CTL_CPU" $PY test/bench/reload_under_load.py "$prefix" "$cfg" \
		--reloads "${BENCH_RELOADS:-100}" --warmup "$WARMUP" >"$base.json" || rc=1
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || rc=1
	rm -rf "/var/run/dpdk/$prefix"
	[ $rc = 0 ] || { tail -n 15 "$base.log" >&2; return 1; }
	$PY - "$base.json" "$base.stats.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
t = s["totals"]
dropped = {k: v for k, v in s["drops"].items() if v}
print(f"reload under load ({sys.argv[1].split('-')[-1][:-5]}): {r['reloads']} reloads "
      f"({r['refused']} refused) in {r['seconds']} s while forwarding {r['tx_mpps']} Mpps; "
      f"received {t['rx_packets']} = sent {t['tx_packets']} + dropped {t['dropped']} "
      f"{dropped or ''}")
sys.exit(1 if r["refused"] or t["dropped"] or t["rx_packets"] != t["tx_packets"] else 0)
PYEOF
}

# --- main --------------------------------------------------------------------------------
setup_hugepages
DPFWD_OK=1
build_dpfwd || {
	DPFWD_OK=0
	echo "run-bench: dpfwd does not build (see $OUT/dpfwd-build.log): measuring l3fwd only" >&2
}
build_l3fwd
if [ "$CEILING" = 1 ] && [ ! -x "$TESTPMD" ]; then
	echo "run-bench: no $TESTPMD (package dpdk): no harness ceiling" >&2
	CEILING=0
fi

# --- 3. captures and dpfwd's config ----------------------------------------------------
log "generating captures in $OUT/traffic"
rm -rf "$OUT/traffic" "$OUT"/*.rate.json "$OUT"/*.stats.json
$PY test/bench/gen_bench_traffic.py "$OUT/traffic"

FAILED=0
FWD_SCENARIOS="v4 v6"
[ "${BENCH_FWD:-1}" = 1 ] || FWD_SCENARIOS=""
for round in $(seq "$ROUNDS"); do
	for scen in $FWD_SCENARIOS; do
		if [ $DPFWD_OK = 1 ]; then
			log "round $round: dpfwd, $scen"
			run_dpfwd "$scen" "$round" || FAILED=1
			cp "$OUT/dpfwd-$scen.rate.json" "$OUT/dpfwd-$scen.$round.rate.json" 2>/dev/null || true
			cp "$OUT/dpfwd-$scen.stats.json" "$OUT/dpfwd-$scen.$round.stats.json" 2>/dev/null || true
		fi
		log "round $round: l3fwd, $scen"
		run_l3fwd "$scen" "$round" || FAILED=1
		cp "$OUT/l3fwd-$scen.rate.json" "$OUT/l3fwd-$scen.$round.rate.json" 2>/dev/null || true
		if [ "$CEILING" = 1 ]; then
			log "round $round: testpmd io, $scen"
			run_testpmd "$scen" "$round" || FAILED=1
			cp "$OUT/testpmd-$scen.rate.json" "$OUT/testpmd-$scen.$round.rate.json" 2>/dev/null || true
		fi
	done
done

# --- 4c. NAT: established flows through NAPT, next to plain forwarding --------------------
# Scenario "nat" is 64512 flows, "natF" the first F of them.
NAT_FLOWS=${BENCH_NAT_FLOWS:-64512}
nat_scen() { if [ "$1" = 64512 ]; then echo nat; else echo "nat$1"; fi; }
if [ $DPFWD_OK = 1 ] && [ "${BENCH_NAT:-1}" = 1 ]; then
	for flows in $NAT_FLOWS; do
		$PY test/bench/gen_nat_traffic.py "$OUT/traffic" "$flows" "$(nat_scen "$flows")"
	done
	for round in $(seq "$ROUNDS"); do
		for flows in $NAT_FLOWS; do
			scen=$(nat_scen "$flows")
			for name in dpfwd-plain dpfwd-nat; do
				log "round $round: $name, $flows flows"
				run_dpfwd "$scen" "$round" "$name" "$OUT/traffic/$name.yaml" || FAILED=1
				cp "$OUT/$name-$scen.rate.json" "$OUT/$name-$scen.$round.rate.json" 2>/dev/null || true
				cp "$OUT/$name-$scen.stats.json" "$OUT/$name-$scen.$round.stats.json" 2>/dev/null || true
			done
		done
	done
fi

# --- 5. the table ----------------------------------------------------------------------
: >"$OUT/results.txt"
[ -z "$FWD_SCENARIOS" ] ||
	$PY test/bench/bench_report.py "$OUT" "$ROUNDS" "$WARMUP" "$WINDOW" | tee "$OUT/results.txt"
if [ $DPFWD_OK = 1 ] && [ "${BENCH_NAT:-1}" = 1 ]; then
	for flows in $NAT_FLOWS; do
		$PY - "$OUT" "$ROUNDS" "$flows" "$(nat_scen "$flows")" <<'PYEOF' | tee -a "$OUT/results.txt"
import json, statistics, sys
out, rounds, flows, scen = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def rates(name):
    found = []
    for r in range(1, rounds + 1):
        try:
            found.append(json.load(open(f"{out}/{name}-{scen}.{r}.rate.json"))["tx_mpps"])
        except (OSError, ValueError, KeyError):
            found.append(None)
    return found
def split(name):
    """Median cycles a packet (TSC) in the PMD's receive call and in the rest of the
    worker's busy loops (dpfwd's own processing, transmit included), over the rounds."""
    rx, own = [], []
    for r in range(1, rounds + 1):
        try:
            w = json.load(open(f"{out}/{name}-{scen}.{r}.stats.json"))["workers"][0]
        except (OSError, ValueError, KeyError, IndexError):
            continue
        if w["rx_packets"]:
            rx.append(w["rx_cycles"] / w["rx_packets"])
            own.append((w["busy_cycles"] - w["rx_cycles"]) / w["rx_packets"])
    return (statistics.median(rx), statistics.median(own)) if rx else (None, None)
plain, nat = rates("dpfwd-plain"), rates("dpfwd-nat")
s = json.load(open(f"{out}/dpfwd-nat-{scen}.stats.json"))
drops = {k: v for k, v in s["drops"].items() if v}
if None not in plain + nat:
    p, n = statistics.median(plain), statistics.median(nat)
    per_round = ", ".join(f"{b / a:.2f}" for a, b in zip(plain, nat))
    print(f"NAT: {flows} established UDP flows through NAPT, one worker: {n:.2f} Mpps, plain "
          f"forwarding of the same frames {p:.2f} Mpps: {n / p:.2f}x (medians of {rounds}; "
          f"per round {per_round}; target >= 0.75x); drops {drops or 'none'}")
    (prx, pown), (nrx, nown) = split("dpfwd-plain"), split("dpfwd-nat")
    if None not in (prx, nrx):
        print(f"NAT: {flows} flows, cycles a packet (TSC, medians): the rest of the worker loop "
              f"(dpfwd, transmit included) {nown:.1f} "
              f"with NAT, {pown:.1f} plain ({pown / nown:.2f}x); the pcap PMD's receive "
              f"{nrx:.1f} with NAT, {prx:.1f} plain")
else:
    print(f"NAT: {flows} flows not measured (a run failed)")
PYEOF
	done
fi
if [ $DPFWD_OK = 1 ] && [ "${BENCH_RELOADS:-100}" -gt 0 ]; then
	log "dpfwd, v4, reloading its config ${BENCH_RELOADS:-100} times at full rate"
	run_reload v4 | tee -a "$OUT/results.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || FAILED=1
fi
[ "$QUIET_WAITED" = 0 ] || log "waited ${QUIET_WAITED}s in all for other load to pass"

if [ $DPFWD_OK = 0 ]; then
	echo "run-bench: dpfwd was not measured: it does not build" >&2
	exit 1
fi
[ $FAILED = 0 ] || die "some runs failed (see the messages above and $OUT/*.log)"
