"""Real Linux hosts routed through dpfwd.

Two network namespaces, h1 (lan) and h2 (wan), each holding the kernel side of one of
dpfwd's net_tap ports. The config has no static neighbours: everything below needs
dpfwd's ARP and neighbour discovery. The wan port's MTU is 1400 (the far link), the
hosts' links 1500 on h1's side.

The tap PMD gives the kernel end of each tap the same MAC as dpfwd's port; each host
gets a MAC of its own here, so a frame dpfwd addresses to the wrong MAC is dropped by
the host's kernel and a wrong rewrite shows as a failed test.

Needs root, iproute2 and network namespaces; skipped with the reason otherwise.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DPFWD = Path(os.environ.get("DPFWD_BIN", REPO / "build" / "app" / "dpfwd" / "dpfwd"))
TOOLS = ("ip", "ping", "traceroute", "traceroute6", "tracepath", "curl")

CONFIG = """\
ports:
  - {name: lan, device: net_tap0, ipv4: [192.168.1.1/24], ipv6: ["2001:db8:1::1/64"]}
  - {name: wan, device: net_tap1, mtu: 1400, ipv4: [203.0.113.1/24],
     ipv6: ["2001:db8:ff::1/64"]}
"""
# host namespace suffix -> (tap iface index, IPv4, IPv6, router IPv4, router IPv6, MAC)
HOSTS = {
    "h1": (0, "192.168.1.10/24", "2001:db8:1::10/64", "192.168.1.1", "2001:db8:1::1",
           "02:00:00:00:01:10"),
    "h2": (1, "203.0.113.10/24", "2001:db8:ff::10/64", "203.0.113.1", "2001:db8:ff::1",
           "02:00:00:00:02:10"),
}
# More addresses of h2's that only one test talks to, so dpfwd meets them unresolved.
FRESH = {"h2": ("203.0.113.11/24", "2001:db8:ff::11/64")}


def sh(*args, check=True, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout,
                          **kw)


def why_skip():
    if os.geteuid() != 0:
        return "needs root (network namespaces, tap devices)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return "missing tools: " + ", ".join(missing) + " (test/tools/install-deps.sh --tests)"
    if not Path("/dev/net/tun").exists():
        return "no /dev/net/tun: net_tap cannot work here"
    name = "dpfwd-probe-" + uuid.uuid4().hex[:6]
    r = sh("ip", "netns", "add", name, check=False)
    if r.returncode != 0:
        return "cannot create network namespaces: " + r.stderr.strip()
    sh("ip", "netns", "del", name, check=False)
    return None


SKIP = why_skip()
if SKIP:
    print(f"test/netns skipped: {SKIP}")
    pytest.skip(SKIP, allow_module_level=True)


class Net:
    def __init__(self, tmp, config=CONFIG):
        tag = uuid.uuid4().hex[:6]
        self.tmp = tmp
        self.config = config
        self.stats = tmp / "stats.json"
        self.ns = {h: f"dpfwd-{h}-{tag}" for h in HOSTS}
        self.iface = {h: f"dpf{i}{tag}"[:15] for h, (i, *_rest) in HOSTS.items()}
        self.proc = None

    def run(self, host, *args, **kw):
        return sh("ip", "netns", "exec", self.ns[host], *args, **kw)

    def start(self):
        cfg = self.tmp / "dpfwd.yaml"
        cfg.write_text(self.config)
        cmd = [str(DPFWD), "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
               "--file-prefix", "dpfwd_netns_" + uuid.uuid4().hex[:8], "-l", "0-1",
               "--log-level", "pmd.net.tap:error"]
        for h, (i, *_rest) in HOSTS.items():
            cmd += ["--vdev", f"net_tap{i},iface={self.iface[h]}"]
        cmd += ["--", "-c", str(cfg), "--stats-json", str(self.stats)]
        self.log = open(self.tmp / "dpfwd.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        # Only once the ports have started may their interfaces move: the tap driver
        # opens its queues by interface name, in dpfwd's own namespace.
        deadline = time.time() + 30
        while "forwarding with" not in (self.tmp / "dpfwd.log").read_text():
            assert self.proc.poll() is None, (self.tmp / "dpfwd.log").read_text()
            assert time.time() < deadline, "dpfwd did not start forwarding"
            time.sleep(0.1)
        for h, (_i, v4, v6, gw4, gw6, mac) in HOSTS.items():
            ns, dev = self.ns[h], self.iface[h]
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", dev, "netns", ns)
            for knob in ("all", "default", dev):
                self.run(h, "sysctl", "-qw", f"net.ipv6.conf.{knob}.accept_dad=0")
            self.run(h, "ip", "link", "set", "lo", "up")
            # Before the link is up, so the link-local address derives from it too.
            self.run(h, "ip", "link", "set", dev, "address", mac)
            self.run(h, "ip", "link", "set", dev, "up")
            for addr in (v4, *FRESH.get(h, ())[:1]):
                self.run(h, "ip", "addr", "add", addr, "dev", dev)
            for addr in (v6, *FRESH.get(h, ())[1:]):
                self.run(h, "ip", "-6", "addr", "add", addr, "dev", dev, "nodad")
            self.run(h, "ip", "route", "add", "default", "via", gw4)
            self.run(h, "ip", "-6", "route", "add", "default", "via", gw6)

    def stop(self):
        stats = None
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:  # hung: the exit code check fails
                    self.proc.kill()
                    self.proc.wait(timeout=30)
            if self.proc:
                self.log.close()
                if self.stats.exists():
                    stats = json.loads(self.stats.read_text())
        finally:
            for ns in self.ns.values():
                sh("ip", "netns", "del", ns, check=False)
        return stats

    def check_exit(self, stats):
        """A clean exit and every packet accounted for."""
        log = (self.tmp / "dpfwd.log").read_text()
        assert self.proc.returncode == 0, log
        assert stats, "no stats JSON written\n" + log
        t = stats["totals"]
        assert t["rx_packets"] + t["generated"] == \
            t["tx_packets"] + t["dropped"] + t["consumed"], log
        assert stats["mbufs_in_use"] == 0, log


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    n = Net(tmp_path_factory.mktemp("netns"))
    try:
        n.start()
        yield n
    finally:
        stats = n.stop()
    n.check_exit(stats)  # after every test of the module


def ping(net, host, addr, count=3):
    six = ["-6"] if ":" in addr else []
    return net.run(host, "ping", *six, "-c", str(count), "-W", "2", "-i", "0.2", addr,
                   check=False)


@pytest.mark.parametrize("addr", ["192.168.1.1", "2001:db8:1::1", "203.0.113.1",
                                  "2001:db8:ff::1"])
def test_ping_the_router(net, addr):
    r = ping(net, "h1", addr)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("addr", ["203.0.113.10", "2001:db8:ff::10"])
def test_ping_a_host_through_the_router(net, addr):
    r = ping(net, "h1", addr)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("tool,dst,hop", [("traceroute", "203.0.113.10", "192.168.1.1"),
                                          ("traceroute6", "2001:db8:ff::10", "2001:db8:1::1")])
def test_traceroute_shows_the_router(net, tool, dst, hop):
    r = net.run("h1", tool, "-n", "-w", "2", "-q", "1", "-m", "5", dst, check=False)
    hops = re.findall(r"^\s*(\d+)\s+(\S+)", r.stdout, re.M)
    assert hops[:2] == [("1", hop), ("2", dst)], r.stdout + r.stderr


@pytest.mark.parametrize("dst", ["203.0.113.10", "2001:db8:ff::10"])
def test_tracepath_finds_the_smaller_mtu_on_the_far_link(net, dst):
    six = ["-6"] if ":" in dst else []
    r = net.run("h1", "tracepath", *six, "-n", dst, check=False, timeout=60)
    assert re.search(r"Resume: pmtu 1400\b", r.stdout), r.stdout + r.stderr


def test_tcp_transfer_of_10_mb(net):
    blob = net.tmp / "blob"
    blob.write_bytes(os.urandom(10 * 1024 * 1024))
    server = subprocess.Popen(["ip", "netns", "exec", net.ns["h2"], "/usr/bin/python3", "-m",
                               "http.server", "8080", "--bind", "203.0.113.10", "--directory",
                               str(net.tmp)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        got = net.tmp / "got"
        for _ in range(50):  # until the server listens
            r = net.run("h1", "curl", "-s", "--max-time", "60", "-o", str(got),
                        "http://203.0.113.10:8080/blob", check=False)
            if r.returncode != 7:  # 7: could not connect (yet)
                break
            time.sleep(0.1)
        assert r.returncode == 0, r.stderr
        assert hashlib.sha256(got.read_bytes()).digest() == \
            hashlib.sha256(blob.read_bytes()).digest()
    finally:
        server.terminate()
        server.wait(timeout=10)


# A packet that waited for its next hop's MAC leaves through the slow path, which must
# treat it like the workers do one over the egress MTU: fragment it (IPv4 without DF)
# or answer (frag needed / packet too big). 203.0.113.11 and 2001:db8:ff::11 are
# talked to only here, so their first packet is always held.
def test_first_packet_to_an_unresolved_host_over_the_mtu_is_fragmented(net):
    """1500 bytes without DF to a host dpfwd has not resolved: held, then cut to fit the
    wan port's 1400 once the host answers (RFC 1812 5.2.6)."""
    r = net.run("h1", "ping", "-c", "1", "-W", "3", "-s", "1472", "-M", "dont", "203.0.113.11",
                check=False)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr


def test_first_packet_to_an_unresolved_host_over_the_mtu_gets_packet_too_big(net):
    """1500 bytes of IPv6 to a host dpfwd has not resolved: packet too big with the wan
    port's MTU (RFC 4443 3.2)."""
    r = net.run("h1", "ping", "-6", "-c", "1", "-W", "3", "-s", "1452", "2001:db8:ff::11",
                check=False)
    assert "Packet too big: mtu=1400" in r.stdout, r.stdout + r.stderr


def test_nic_checksum_verdicts(tmp_path):
    """net_tap verifies IPv4 header checksums and flags each frame good or bad (dpfwd
    turns the offload on where a port offers it, and then trusts the flag instead of
    checking again): frames with a bad header checksum are ipv4_bad_checksum, one with a
    good one goes through. Sent raw from h1 (a socket would fix the checksum)."""
    n = Net(tmp_path)
    try:
        n.start()
        assert ping(n, "h1", "192.168.1.1", count=1).returncode == 0  # learns the MAC
        neigh = n.run("h1", "ip", "neigh", "show", "192.168.1.1").stdout.split()
        router_mac = neigh[neigh.index("lladdr") + 1]
        send = ("import sys\nfrom scapy.all import Ether, IP, UDP, Raw, sendp\n"
                "mac, iface = sys.argv[1:3]\n"
                "def frame(ck): return Ether(dst=mac) / IP(src='192.168.1.10', "
                "dst='203.0.113.10', chksum=ck) / UDP(sport=9, dport=9) / Raw(b'x')\n"
                "good = Ether(bytes(frame(None)))\n"
                "bad = [frame(good[IP].chksum ^ k) for k in (1, 0x100, 0xffff)]\n"
                "sendp(bad + [good], iface=iface, verbose=False)\n")
        listen = subprocess.Popen(
            ["ip", "netns", "exec", n.ns["h2"], "/usr/bin/python3", "-c",
             "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "s.bind(('203.0.113.10', 9))\ns.settimeout(10)\nprint('ready', flush=True)\n"
             "print(s.recv(100))\n"], stdout=subprocess.PIPE, text=True)
        assert listen.stdout.readline().strip() == "ready"
        n.run("h1", "/usr/bin/python3", "-c", send, router_mac, n.iface["h1"])
        got = listen.communicate(timeout=15)[0]
    finally:
        stats = n.stop()
    n.check_exit(stats)
    log = (tmp_path / "dpfwd.log").read_text()
    assert "offloads rx 0x2" in log, log  # RTE_ETH_RX_OFFLOAD_IPV4_CKSUM on both ports
    assert stats["drops"]["ipv4_bad_checksum"] == 3, stats["drops"]
    assert got.strip() == "b'x'", got  # the good one, and only it: recv takes the first
