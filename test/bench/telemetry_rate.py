#!/usr/bin/python3
"""Steady-state packet rate of a running DPDK process, from its telemetry socket.

    telemetry_rate.py FILE_PREFIX --ports 0,1 [--warmup S] [--window S] [--timeout S]
                      [--pid PID --cpu N --other-cpu M]

Waits for the process's telemetry socket (/var/run/dpdk/PREFIX/dpdk_telemetry.v2),
waits until its ports count received packets, lets it run WARMUP more seconds, then
reads /ethdev/stats for every port at the start and end of a WINDOW seconds long
window, and prints one JSON object: the window's length and the packets received and
sent in it, with the rates in Mpps. The window is read in SLICE second steps as well,
and "slice_tx_mpps" lists the rate of each step: on a shared host the rate swings from
one second to the next, and the faster slices show what the code does undisturbed. Start-up (EAL init, the pcap PMD preloading captures) is therefore never part
of the rate, and the same method measures every program alike: it needs nothing from
the program but ethdev, which any DPDK application has.

With --pid and --cpu it also says how undisturbed the window was, since a shared
machine can take the forwarding core away: "fwd_thread_share", the CPU time the busiest
thread of PID got (the forwarding lcore polls non-stop, so 1.0 when nothing else ran
there), "steal_share", the time the hypervisor took from CPU N, and "other_cpu_busy",
how busy CPU M was (on a VM, M and N can be hyperthreads of one physical core: load on
M then slows N down without taking anything from it that Linux could see).

Exits non-zero, with a message on stderr, if the socket or the traffic never shows up.
"""
import argparse
import json
import os
import socket
import sys
import time

RUNTIME_DIR = "/var/run/dpdk"  # root's; a non-root run would use $XDG_RUNTIME_DIR/dpdk
SOCKET_NAME = "dpdk_telemetry.v2"


class Telemetry:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        # On connect the server says who it is and how long a reply may be.
        hello = json.loads(self.sock.recv(1024).decode())
        self.max_len = int(hello.get("max_output_len", 16384))

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        return reply[cmd.split(",")[0]]

    def stats(self, ports):
        """{port: (ipackets, opackets)} and the monotonic time half-way through."""
        t0 = time.monotonic()
        out = {}
        for p in ports:
            s = self.query(f"/ethdev/stats,{p}")
            out[p] = (int(s["ipackets"]), int(s["opackets"]))
        return (t0 + time.monotonic()) / 2, out


def busiest_thread_ns(pid):
    """CPU time (ns) of each thread of PID, from /proc/PID/task/*/schedstat."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                out[tid] = int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return out


def cpu_ticks(cpu):
    """(busy, idle, steal) clock ticks of CPU so far, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:9]]
                # user nice system idle iowait irq softirq steal
                return v[0] + v[1] + v[2] + v[5] + v[6], v[3] + v[4], v[7]
    return 0, 0, 0


def connect(path, deadline):
    while True:
        try:
            return Telemetry(path)
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                sys.exit(f"telemetry_rate: no telemetry socket at {path}")
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("prefix", help="the process's EAL --file-prefix")
    ap.add_argument("--ports", default="0,1", help="ethdev port ids, comma separated")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds after traffic starts")
    ap.add_argument("--window", type=float, default=5.0, help="seconds between the reads")
    ap.add_argument("--slice", type=float, default=0.5, help="seconds per slice of the window")
    ap.add_argument("--pid", type=int, help="the process, to see whether it kept its core")
    ap.add_argument("--cpu", type=int, default=0,
                    help="its forwarding CPU, for the hypervisor's steal")
    ap.add_argument("--other-cpu", type=int, default=0, help="the CPU whose load to report")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="give up if traffic has not started after this long")
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    deadline = time.monotonic() + args.timeout
    tel = connect(os.path.join(RUNTIME_DIR, args.prefix, SOCKET_NAME), deadline)

    # The socket opens during EAL init, before the ports exist or forward anything.
    while True:
        try:
            _, s = tel.stats(ports)
            if sum(rx for rx, _ in s.values()) > 0:
                break
        except (KeyError, TypeError, json.JSONDecodeError):
            pass  # port not created yet: the command answers null
        if time.monotonic() > deadline:
            sys.exit("telemetry_rate: the ports never received a packet")
        time.sleep(0.05)

    time.sleep(args.warmup)
    if args.pid:
        run1, fwd1, other1 = busiest_thread_ns(args.pid), cpu_ticks(args.cpu), \
            cpu_ticks(args.other_cpu)
    t1, s1 = tel.stats(ports)
    n_slices = max(1, round(args.window / args.slice))
    slices, tp, sp = [], t1, s1
    for i in range(1, n_slices + 1):
        # Sleep to the slice's planned end, so that read time does not stretch the window.
        time.sleep(max(0.0, t1 + i * args.window / n_slices - time.monotonic()))
        tn, sn = tel.stats(ports)
        slices.append(sum(sn[p][1] - sp[p][1] for p in ports) / (tn - tp) / 1e6)
        tp, sp = tn, sn
    t2, s2 = tp, sp
    dt = t2 - t1
    sched = {}
    if args.pid:
        run2, fwd2, other2 = busiest_thread_ns(args.pid), cpu_ticks(args.cpu), \
            cpu_ticks(args.other_cpu)
        busiest = max((run2[t] - run1[t] for t in run2 if t in run1), default=0)
        other_busy, other_idle = other2[0] - other1[0], other2[1] - other1[1]
        sched = {"fwd_thread_share": round(busiest / 1e9 / dt, 4),
                 "steal_share": round((fwd2[2] - fwd1[2]) / os.sysconf("SC_CLK_TCK") / dt, 4),
                 "other_cpu_busy": round(other_busy / max(1, other_busy + other_idle), 4)}
    rx = sum(s2[p][0] - s1[p][0] for p in ports)
    tx = sum(s2[p][1] - s1[p][1] for p in ports)
    print(json.dumps({
        "window_s": round(dt, 6),
        "rx_packets": rx,
        "tx_packets": tx,
        "rx_mpps": rx / dt / 1e6,
        "tx_mpps": tx / dt / 1e6,
        "slice_tx_mpps": [round(x, 3) for x in slices],
        "ports": {str(p): {"rx_packets": s2[p][0] - s1[p][0],
                           "tx_packets": s2[p][1] - s1[p][1]} for p in ports},
        **sched,
    }))


if __name__ == "__main__":
    main()
