#!/usr/bin/python3
"""The table of test/bench/run-bench.sh, from the JSON files its runs left in OUTDIR.

    bench_report.py OUTDIR ROUNDS WARMUP WINDOW

Reads NAME-SCEN.R.rate.json (telemetry_rate.py's output for program NAME, scenario
SCEN, round R) and dpfwd-SCEN.R.stats.json (dpfwd's --stats-json), prints the tables
and the notes below them. Missing files show as n/a: a program that was not built or
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
PROGRAMS = ("dpfwd", "l3fwd", "testpmd")
# A round is clean when, during its window, the forwarding thread had its core for at
# least SHARE_MIN of the time, the hypervisor stole at most STEAL_MAX of that core and
# the other CPU (maybe its hyperthread sibling) was at most OTHER_MAX busy.
SHARE_MIN = 0.97
STEAL_MAX = 0.03
OTHER_MAX = 0.10
PEAK_PCT = 90  # the "undisturbed" rate: this percentile of all 0.5 s slices


def clean(r):
    return (r.get("fwd_thread_share", 1.0) >= SHARE_MIN
            and r.get("steal_share", 0.0) <= STEAL_MAX
            and r.get("other_cpu_busy", 0.0) <= OTHER_MAX)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Result:
    """One program in one scenario, over the rounds."""

    def __init__(self, out, rounds, name, scen):
        self.rounds = [(r, load(f"{out}/{name}-{scen}.{r}.rate.json"))
                       for r in range(1, rounds + 1)]
        self.rounds = [(r, x) for r, x in self.rounds if x]
        good = [x["tx_mpps"] for _, x in self.rounds if clean(x)]
        every = [x["tx_mpps"] for _, x in self.rounds]
        self.all_disturbed = bool(every) and not good
        # Median of the clean rounds' window rates; of all rounds if none is clean.
        self.mpps = statistics.median(good or every) if every else None
        slices = sorted(s for _, x in self.rounds for s in x.get("slice_tx_mpps", []))
        self.peak = (slices[min(len(slices) - 1, len(slices) * PEAK_PCT // 100)]
                     if slices else None)
        rx = sum(x["rx_packets"] for _, x in self.rounds)
        self.sent_share = sum(x["tx_packets"] for _, x in self.rounds) / rx if rx else None

    def clean_rounds(self):
        return {r for r, x in self.rounds if clean(x)}

    def per_round(self):
        """'29.64' per round, with what disturbed it after a '!'."""
        def one(x):
            if clean(x):
                return f"{x['tx_mpps']:.2f}"
            return (f"{x['tx_mpps']:.2f}! (core {x.get('fwd_thread_share', 1):.2f}, "
                    f"steal {x.get('steal_share', 0):.2f}, "
                    f"other cpu {x.get('other_cpu_busy', 0):.2f})")
        return "[" + ", ".join(one(x) for _, x in self.rounds) + "]"


def dpfwd_stats(out, rounds, scen, clean_rounds):
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
            if r in clean_rounds:
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


def ratio(a, b):
    return a / b if a and b else None


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


def table(cols, rows):
    hdr = "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(cols))
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        print("  ".join(row))


def main():
    out, rounds, warmup, window = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    model, mhz = cpu_info()
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                          text=True, check=False).stdout.strip()
    print(f"dpfwd vs l3fwd (LPM), {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()}")
    print(f"CPU: {model}, {os.cpu_count()} CPUs, {mhz or '?'} MHz; DPDK {dpdk}; 2 MB hugepages")
    print("one forwarding lcore each, 2 x net_pcap (infinite_rx, TX dropped by the PMD);")
    print(f"Mpps = packets forwarded in a {window} s telemetry window after {warmup} s of "
          f"traffic; {rounds} round(s)")
    print()

    res = {(n, s): Result(out, rounds, n, s) for n in PROGRAMS for s, _ in SCENARIOS}
    rows, peak_rows, notes = [], [], []
    disturbed = False
    for scen, label in SCENARIOS:
        d, l, t = (res[(n, scen)] for n in PROGRAMS)
        cyc, drops, run_mpps = dpfwd_stats(out, rounds, scen, d.clean_rounds())
        rows.append([f"{label:<14}", fmt(d.mpps, "10.2f", not d.all_disturbed),
                     fmt(cyc, "13.1f", not d.all_disturbed),
                     fmt(l.mpps, "10.2f", not l.all_disturbed),
                     fmt(ratio(d.mpps, l.mpps), "11.2f", not (d.all_disturbed or l.all_disturbed)),
                     fmt(t.mpps, "15.2f", not t.all_disturbed)])
        peak_rows.append([f"{label:<14}", fmt(d.peak, "10.2f"),
                          fmt(mhz / d.peak if mhz and d.peak else None, "13.1f"),
                          fmt(l.peak, "10.2f"),
                          fmt(mhz / l.peak if mhz and l.peak else None, "13.1f"),
                          fmt(ratio(d.peak, l.peak), "11.2f"), fmt(t.peak, "15.2f")])
        disturbed |= any(not clean(x) for r in (d, l, t) for _, x in r.rounds)
        notes.append(f"{label}: Mpps per round: dpfwd {d.per_round()}, "
                     f"l3fwd {l.per_round()}, testpmd {t.per_round()}")
        if d.sent_share is not None:
            notes.append(f"{label}: dpfwd sent {100 * d.sent_share:.2f}% of what it received; "
                         f"drops {drops or 'none'}; whole-run Mpps from --stats-json "
                         f"(start-up included) "
                         f"[{', '.join(f'{x:.2f}' for x in run_mpps)}]")
        if l.sent_share is not None:
            notes.append(f"{label}: l3fwd sent {100 * l.sent_share:.2f}% of what it received")
        if mhz and t.peak and (d.peak or l.peak):
            # testpmd io pays for the harness only (the pcap PMD copying each frame into
            # a fresh mbuf, the TX drop freeing it): what a program takes beyond that is,
            # roughly, the cost of its own forwarding code.
            own = lambda r: f"{mhz / r.peak - mhz / t.peak:.0f}" if r.peak else "n/a"  # noqa: E731
            notes.append(f"{label}: undisturbed, the harness alone takes {mhz / t.peak:.0f} "
                         f"cycles/pkt (testpmd io); beyond that dpfwd spends {own(d)} and "
                         f"l3fwd {own(l)}")

    print("Steady state: median over the clean rounds ('*': no clean round, all of them)")
    table([("scenario", 14), ("dpfwd Mpps", 10), ("dpfwd cyc/pkt", 13), ("l3fwd Mpps", 10),
           ("dpfwd/l3fwd", 11), ("testpmd io Mpps", 15)], rows)
    print()
    print(f"Undisturbed: {PEAK_PCT}th percentile of the 0.5 s slices of all rounds; "
          f"cyc/pkt = {mhz or 0:.0f} MHz / rate")
    table([("scenario", 14), ("dpfwd Mpps", 10), ("dpfwd cyc/pkt", 13), ("l3fwd Mpps", 10),
           ("l3fwd cyc/pkt", 13), ("dpfwd/l3fwd", 11), ("testpmd io Mpps", 15)], peak_rows)
    print()
    print("64B/66B are wire sizes with the FCS (60 and 62 bytes in the capture; IPv6 is")
    print("Ether/IPv6/UDP without payload, the smallest). 1024 flows per port, 256 hosts,")
    print("every frame routed to the other port by both programs.")
    print("Steady-state cyc/pkt = dpfwd worker busy_cycles / rx_packets over the run (TSC).")
    print("testpmd io = the harness ceiling: forwarding without looking at the packets.")
    print(f"A round is clean when its forwarding thread had the core >= {SHARE_MIN:.0%} of "
          f"the window, steal <= {STEAL_MAX:.0%}")
    print(f"and the other CPU was <= {OTHER_MAX:.0%} busy. On a shared host the rate also "
          "swings with load Linux")
    print("cannot see (other guests): compare the two tables, and rerun on a quiet machine.")
    if disturbed:
        print("WARNING: some rounds were disturbed (marked '!' below).")
    for n in notes:
        print("  " + n)


if __name__ == "__main__":
    main()
