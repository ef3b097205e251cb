#!/usr/bin/python3
"""The table of test/bench/run-bench.sh, from the JSON files its runs left in OUTDIR.

    bench_report.py OUTDIR ROUNDS WARMUP WINDOW

Reads NAME-SCEN.R.rate.json (telemetry_rate.py's output for program NAME, scenario
SCEN, round R) and dpfwd-SCEN.R.stats.json (dpfwd's --stats-json), prints the table
and the notes below it. Missing files show as n/a: a program that was not built or
failed to run leaves a hole, not an error.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SCENARIOS = (("v4", "IPv4 UDP 64B"), ("v6", "IPv6 UDP 66B"))
# A round counts as clean when the forwarding thread had its core for at least this
# share of the window and the hypervisor stole at most STEAL_MAX of it.
SHARE_MIN = 0.97
STEAL_MAX = 0.03


def clean(r):
    return (r.get("fwd_thread_share", 1.0) >= SHARE_MIN
            and r.get("steal_share", 0.0) <= STEAL_MAX)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rates(out, rounds, name, scen):
    """Median forwarded Mpps over the clean rounds (over all if none is clean), whether
    it is over clean rounds, every round's result, and forwarded/received."""
    rs = [load(f"{out}/{name}-{scen}.{r}.rate.json") for r in range(1, rounds + 1)]
    rs = [r for r in rs if r]
    if not rs:
        return None, False, [], None
    good = [r["tx_mpps"] for r in rs if clean(r)]
    mpps = good or [r["tx_mpps"] for r in rs]
    fwd = sum(r["tx_packets"] for r in rs) / max(1, sum(r["rx_packets"] for r in rs))
    return statistics.median(mpps), bool(good), rs, fwd


def per_round(rs):
    """'29.64 (cpu 1.00)' per round; '!' marks a disturbed one."""
    return "[" + ", ".join(
        f"{r['tx_mpps']:.2f}" + ("" if clean(r) else
                                 f"! (core {r.get('fwd_thread_share', 1):.2f},"
                                 f" steal {r.get('steal_share', 0):.2f})")
        for r in rs) + "]"


def dpfwd_stats(out, rounds, scen):
    """Median busy_cycles / rx_packets of the worker (over the clean rounds, if any: the
    TSC runs on while the thread is preempted), summed drops, whole-run Mpps."""
    cyc, cyc_clean, drops, run_mpps = [], [], {}, []
    for r in range(1, rounds + 1):
        s = load(f"{out}/dpfwd-{scen}.{r}.stats.json")
        if not s:
            continue
        w = s["workers"][0]
        if w["rx_packets"]:
            cyc.append(w["busy_cycles"] / w["rx_packets"])
            if clean(load(f"{out}/dpfwd-{scen}.{r}.rate.json") or {}):
                cyc_clean.append(cyc[-1])
        if s["seconds"]:
            run_mpps.append(s["totals"]["tx_packets"] / s["seconds"] / 1e6)
        for k, v in s["drops"].items():
            if v:
                drops[k] = drops.get(k, 0) + v
    cyc = cyc_clean or cyc
    return (statistics.median(cyc) if cyc else None), drops, run_mpps


def fmt(v, spec, ok=True):
    """V formatted to SPEC, or n/a; a trailing '*' when it comes from disturbed runs."""
    width = int(spec.split(".")[0])
    if v is None:
        return format("n/a", f">{width}")
    return format(v, f"{width - 1}.{spec.split('.')[1]}") + (" " if ok else "*")


def cpu_info():
    model, mhz = "?", None
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key.strip() == "model name" and model == "?":
                model = val.strip()
            elif key.strip() == "cpu MHz" and mhz is None:
                mhz = float(val)
    return model, mhz


def main():
    out, rounds, warmup, window = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    model, mhz = cpu_info()
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                          text=True, check=False).stdout.strip()
    print(f"dpfwd vs l3fwd (LPM), {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()}")
    print(f"CPU: {model}, {os.cpu_count()} CPUs, {mhz or '?'} MHz; DPDK {dpdk}; 2 MB hugepages")
    print("one forwarding lcore each, 2 x net_pcap (infinite_rx, TX dropped by the PMD);")
    print(f"Mpps = packets forwarded in a {window} s telemetry window after {warmup} s of "
          f"traffic; {rounds} round(s), median of the clean ones")
    print()
    cols = [("scenario", 14), ("dpfwd Mpps", 10), ("dpfwd cyc/pkt", 13),
            ("l3fwd Mpps", 10), ("dpfwd/l3fwd", 11), ("testpmd io Mpps", 15)]
    hdr = "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(cols))
    print(hdr)
    print("-" * len(hdr))
    notes = []
    disturbed = False
    for scen, label in SCENARIOS:
        d, d_ok, d_all, d_fwd = rates(out, rounds, "dpfwd", scen)
        l, l_ok, l_all, l_fwd = rates(out, rounds, "l3fwd", scen)
        t, t_ok, t_all, _ = rates(out, rounds, "testpmd", scen)
        cyc, drops, run_mpps = dpfwd_stats(out, rounds, scen)
        ratio = d / l if d and l else None
        print("  ".join([f"{label:<14}", fmt(d, "10.2f", d_ok), fmt(cyc, "13.1f"),
                         fmt(l, "10.2f", l_ok), fmt(ratio, "11.2f", d_ok and l_ok),
                         fmt(t, "15.2f", t_ok)]))
        disturbed |= not all(clean(r) for r in d_all + l_all + t_all)
        rnd = lambda xs: "[" + ", ".join(f"{x:.2f}" for x in xs) + "]"  # noqa: E731
        notes.append(f"{label}: Mpps per round: dpfwd {per_round(d_all)}, "
                     f"l3fwd {per_round(l_all)}, testpmd {per_round(t_all)}")
        if d_fwd is not None:
            notes.append(f"{label}: dpfwd sent {100 * d_fwd:.2f}% of what it received; "
                         f"drops {drops or 'none'}; whole-run Mpps from --stats-json "
                         f"(start-up included) {rnd(run_mpps)}")
        if l_fwd is not None:
            cyc_l = f", ~{mhz / l:.0f} cycles/pkt at {mhz:.0f} MHz" if mhz and l else ""
            notes.append(f"{label}: l3fwd sent {100 * l_fwd:.2f}% of what it received{cyc_l}")
    print()
    print("64B/66B are wire sizes with the FCS (60 and 62 bytes in the capture; IPv6 is")
    print("Ether/IPv6/UDP without payload, the smallest). 1024 flows per port, 256 hosts,")
    print("every frame routed to the other port by both programs.")
    print("cyc/pkt = dpfwd worker busy_cycles / rx_packets (TSC cycles, whole run).")
    print("testpmd io = the harness ceiling: forwarding without looking at the packets.")
    print(f"Medians are over clean rounds: the forwarding thread had its core for >= "
          f"{SHARE_MIN:.0%} of the window")
    print(f"and the hypervisor stole <= {STEAL_MAX:.0%}; '*' = no clean round, median of all.")
    if disturbed:
        print("WARNING: some rounds were disturbed (marked '!' below): something else ran on")
        print("the forwarding core, or the hypervisor took it. Figures from a quiet machine")
        print("are worth more; BENCH_ROUNDS=5 helps.")
    for n in notes:
        print("  " + n)


if __name__ == "__main__":
    main()
