"""Run dpfwd on net_pcap ports and collect what came out.

Every run checks conservation before returning: packets received plus packets the
slow path generated (ARP, ICMP) equal packets transmitted plus packets dropped (summed
over reasons) plus packets the slow path consumed (ARP and echo requests it answered);
every mbuf is back in its pool; each output capture holds exactly what dpfwd counted
as transmitted.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from scapy.all import PcapReader, PcapWriter  # noqa: F401  (PcapWriter re-exported)
from scapy.utils import wrpcap

REPO = Path(__file__).resolve().parents[2]
DPFWD = Path(os.environ.get("DPFWD_BIN", REPO / "build" / "app" / "dpfwd" / "dpfwd")).absolute()
# dpfwdctl from the same build as dpfwd (build/app/dpfwdctl/dpfwdctl unless DPFWD_BIN
# points at another build), or DPFWDCTL_BIN.
DPFWDCTL = Path(os.environ.get("DPFWDCTL_BIN",
                               DPFWD.parents[1] / "dpfwdctl" / "dpfwdctl")).absolute()

# Addresses of the standard two-port test topology (see two_port_config()).
LAN_MAC = "02:00:00:00:01:01"
WAN_MAC = "02:00:00:00:02:01"
HOST_MAC = "02:00:00:00:00:10"   # 192.168.1.10 / 2001:db8:1::10 on lan
HOST2_MAC = "02:00:00:00:00:11"  # 192.168.1.11 on lan
GW_MAC = "02:00:00:00:00:fe"     # 203.0.113.254 / 2001:db8:ff::fe on wan
CLIENT_MAC = "02:00:00:00:00:99"  # a sender on any port

TWO_PORT_CONFIG = """\
ports:
  - name: lan
    device: net_pcap0
    mac: "02:00:00:00:01:01"
    ipv4: [192.168.1.1/24]
    ipv6: ["2001:db8:1::1/64"]
  - name: wan
    device: net_pcap1
    mac: "02:00:00:00:02:01"
    mtu: 1500
    ipv4: [203.0.113.1/24]
    ipv6: ["2001:db8:ff::1/64"]
neighbours:
  - {ip: 203.0.113.254, mac: "02:00:00:00:00:fe", port: wan}
  - {ip: "2001:db8:ff::fe", mac: "02:00:00:00:00:fe", port: wan}
  - {ip: 192.168.1.10, mac: "02:00:00:00:00:10", port: lan}
  - {ip: 192.168.1.11, mac: "02:00:00:00:00:11", port: lan}
  - {ip: "2001:db8:1::10", mac: "02:00:00:00:00:10", port: lan}
routes:
  - {prefix: 0.0.0.0/0, via: 203.0.113.254}
  - {prefix: "::/0", via: "2001:db8:ff::fe"}
  - {prefix: 10.20.0.0/16, via: 192.168.1.10}
  - {prefix: 10.20.30.0/24, via: 192.168.1.11}
  - {prefix: 10.30.0.0/16, via: [192.168.1.10, 192.168.1.11]}
  - {prefix: "2001:db8:30::/48", via: "2001:db8:1::10"}
  - {prefix: 198.51.100.0/24, action: blackhole}
  - {prefix: 100.64.0.0/10, action: unreachable}
  - {prefix: 172.16.0.0/12, via: 192.168.1.99}
dataplane:
  burst: 32
  mbufs: 8191
"""


class Result:
    def __init__(self, rc, stdout, stderr, stats, outputs, workdir):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.stats = stats
        self.out = outputs  # port name -> list of scapy packets
        self.workdir = workdir

    def drops(self, reason):
        return self.stats["drops"][reason]

    def nonzero_drops(self):
        return {k: v for k, v in self.stats["drops"].items() if v}


def eal_args(tmp, vdevs, lcores="0-1", prefix=None, memory_mb=512, hugepages=False):
    """HUGEPAGES: run as a primary process on 2 MB pages, which secondaries (such as
    dpdk-dumpcap) can attach to; the default is 4 kB pages and no shared config."""
    prefix = prefix or "dpfwd_test_" + uuid.uuid4().hex[:12]
    args = [] if hugepages else ["--no-huge", "--no-shconf"]
    args += ["-m", str(memory_mb), "--no-pci",
             "--log-level", "pmd.net.pcap:error", "--file-prefix", prefix]
    args += ["--lcores", lcores] if "@" in lcores or "(" in lcores else ["-l", lcores]
    for v in vdevs:
        args += ["--vdev", v]
    return args


def run_config_only(tmp, config_text, extra_app_args=(), vdev_ports=2, lcores="0-1", timeout=60):
    """Run dpfwd with CONFIG_TEXT on empty pcap ports; returns the CompletedProcess."""
    tmp = Path(tmp)
    cfg = tmp / "dpfwd.yaml"
    cfg.write_text(config_text)
    vdevs = []
    for i in range(vdev_ports):
        empty = tmp / f"empty{i}.pcap"
        wrpcap(str(empty), [])
        vdevs.append(f"net_pcap{i},rx_pcap={empty},tx_pcap={tmp / f'null{i}.pcap'}")
    cmd = [str(DPFWD)] + eal_args(tmp, vdevs, lcores) + ["--", "-c", str(cfg),
                                                        "--idle-exit", "200"] + list(extra_app_args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def pcap_vdevs(tmp, inputs, ports, queues=1, infinite=False, capture_tx=True):
    """One net_pcap vdev per port name: RX from the port's input packets (dealt over
    QUEUES files; replayed forever with INFINITE), TX into out_<name>_<q>.pcap (with
    CAPTURE_TX; without, into /dev/null)."""
    vdevs = []
    for i, name in enumerate(ports):
        pkts = list(inputs.get(name, []))
        args = [f"net_pcap{i}"]
        for q in range(queues):
            rx = tmp / f"in_{name}_{q}.pcap"
            wrpcap(str(rx), pkts[q::queues])
            args.append(f"rx_pcap={rx}")
        # net_pcap's infinite replay of an empty file takes a burst of mbufs from the
        # pool on every poll and never gives them back (DPDK 22.11): only replay data.
        if infinite and pkts:
            args.append("infinite_rx=1")
        # Without a capture, TX goes to /dev/null: still one TX queue per queue (a
        # net_pcap port has as many TX queues as tx_pcap files, and dpfwd runs no more
        # workers than that).
        for q in range(queues):
            args.append(f"tx_pcap={tmp / f'out_{name}_{q}.pcap' if capture_tx else '/dev/null'}")
        vdevs.append(",".join(args))
    return vdevs


def read_outputs(tmp, ports, queues=1, capture_tx=True):
    outputs = {}
    for name in ports if capture_tx else ():
        pkts = []
        for q in range(queues):
            path = tmp / f"out_{name}_{q}.pcap"
            if path.exists() and path.stat().st_size > 0:
                with PcapReader(str(path)) as r:
                    pkts += list(r)
        outputs[name] = pkts
    return outputs


class Running:
    """dpfwd in the background: talk to it (telemetry, signals), then stop() it. Every
    one started is in STARTED, so that a test that failed before stopping its dpfwd does
    not leave it running for the next ones (conftest kills what is left)."""

    STARTED = []

    def __init__(self, tmp, proc, prefix, cfg, ports, queues, inputs, stdout, stderr,
                 capture_tx):
        self.tmp, self.proc, self.prefix, self.cfg = tmp, proc, prefix, cfg
        self.ports, self.queues, self.inputs = ports, queues, inputs
        self._stdout, self._stderr = stdout, stderr
        self.capture_tx = capture_tx
        self._sock = None
        Running.STARTED.append(self)

    def kill(self):
        """Kill it if it still runs, and remove what EAL left in /dev/hugepages."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in Path("/dev/hugepages").glob(f"{self.prefix}map_*"):
            f.unlink(missing_ok=True)

    def telemetry(self, cmd):
        """Send CMD ("/dpfwd/stats", "/dpfwd/routes,50") on DPDK's telemetry socket
        and return the reply's value (None when the command failed)."""
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._sock.connect(str(self.telemetry_socket))
            json.loads(self._sock.recv(16384))  # the greeting: version, pid
        self._sock.send(cmd.encode())
        reply = json.loads(self._sock.recv(65536))
        return reply[cmd.split(",")[0]]

    @property
    def telemetry_socket(self):
        return Path("/var/run/dpdk") / self.prefix / "dpdk_telemetry.v2"

    def log(self):
        return self._stdout.read_text() + self._stderr.read_text()

    def wait_log(self, pattern, timeout=20, count=1):
        """Wait until PATTERN (a regex) has appeared COUNT times in the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.log())) >= count:
                return
            assert self.proc.poll() is None, f"dpfwd exited:\n{self.log()}"
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} x{count} in dpfwd's output:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, check=True, timeout=60):
        """SIGTERM, wait, and return a Result (conservation checked with CHECK)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Killed, so that a hung dpfwd does not go on taking a CPU (and hugepages)
            # from every later test.
            self.kill()
            raise AssertionError(f"dpfwd did not stop within {timeout} s of SIGTERM:\n"
                                 f"{self.log()}") from None
        self.kill()  # on hugepages, a primary leaves its files behind for secondaries
        stats_path = self.tmp / "stats.json"
        assert rc == 0, f"dpfwd failed ({rc}):\n{self.log()}"
        stats = json.loads(stats_path.read_text())
        result = Result(rc, self._stdout.read_text(), self._stderr.read_text(), stats,
                        read_outputs(self.tmp, self.ports, self.queues, self.capture_tx),
                        self.tmp)
        if check:
            check_conservation(result, self.inputs)
        return result


def start_dpfwd(tmp, inputs=None, config_text=TWO_PORT_CONFIG, ports=("lan", "wan"),
                lcores="0-1", queues=1, infinite=False, extra_args=(), memory_mb=512,
                capture_tx=True, hugepages=False):
    """Start dpfwd on pcap ports and return once it forwards. With INFINITE the inputs
    replay forever (conservation then cannot compare against the packets sent)."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "dpfwd.yaml"
    cfg.write_text(config_text)
    inputs = inputs or {}
    prefix = "dpfwd_test_" + uuid.uuid4().hex[:12]
    vdevs = pcap_vdevs(tmp, inputs, ports, queues, infinite, capture_tx)
    cmd = [str(DPFWD)] + eal_args(tmp, vdevs, lcores, prefix, memory_mb, hugepages) + [
        "--", "-c", str(cfg), "--stats-json", str(tmp / "stats.json")] + list(extra_args)
    stdout, stderr = tmp / "dpfwd.stdout", tmp / "dpfwd.stderr"
    proc = subprocess.Popen(cmd, stdout=stdout.open("w"), stderr=stderr.open("w"),
                            stdin=subprocess.DEVNULL)
    run = Running(tmp, proc, prefix, cfg, ports, queues, None if infinite else inputs,
                  stdout, stderr, capture_tx)
    try:
        run.wait_log("forwarding with")
    except AssertionError:
        proc.kill()
        raise
    return run


def run_dpfwd(tmp, inputs, config_text=TWO_PORT_CONFIG, ports=("lan", "wan"), lcores="0-1",
              queues=1, idle_ms=300, timeout=120, check=True):
    """Feed INPUTS (port name -> list of packets) to dpfwd and return a Result.

    Port i of PORTS is net_pcap<i>. With QUEUES > 1 each port gets that many RX and TX
    pcap files (one queue each): input packets are dealt round-robin over the RX files
    and the TX files are read back in order and concatenated.
    """
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "dpfwd.yaml"
    cfg.write_text(config_text)
    vdevs = pcap_vdevs(tmp, inputs, ports, queues)
    stats_path = tmp / "stats.json"
    cmd = [str(DPFWD)] + eal_args(tmp, vdevs, lcores) + [
        "--", "-c", str(cfg), "--idle-exit", str(idle_ms), "--stats-json", str(stats_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"dpfwd failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    stats = json.loads(stats_path.read_text())
    result = Result(proc.returncode, proc.stdout, proc.stderr, stats,
                    read_outputs(tmp, ports, queues), tmp)
    if check:
        check_conservation(result, inputs)
    return result


def check_conservation(result, inputs):
    """INPUTS None: the packets sent are not known (infinite replay)."""
    s = result.stats
    t = s["totals"]
    if inputs is not None:
        sent_in = sum(len(v) for v in inputs.values())
        assert t["rx_packets"] == sent_in, f"dpfwd received {t['rx_packets']} of {sent_in}"
    # Every packet in (received, or made by the slow path) left exactly one way.
    assert t["rx_packets"] + t["generated"] == \
        t["tx_packets"] + t["dropped"] + t["consumed"], f"conservation broken: {t}"
    assert t["dropped"] == sum(s["drops"].values())
    assert s["mbufs_in_use"] == 0, f"{s['mbufs_in_use']} mbufs leaked"
    for w in s["workers"]:  # receive time is a part of busy time, there when packets were
        assert w["rx_cycles"] <= w["busy_cycles"] and (w["rx_cycles"] > 0) == (w["rx_packets"] > 0), w
    for name, pkts in result.out.items():
        assert len(pkts) == s["ports"][name]["tx_packets"], \
            f"{name}: capture has {len(pkts)}, counted {s['ports'][name]['tx_packets']}"
        assert sum(len(p) for p in pkts) == s["ports"][name]["tx_bytes"]
