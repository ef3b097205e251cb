"""Command line: --help, --version, --check, bad configs, unknown devices, signals."""
import json
import re
import signal
import subprocess
import time

import pytest
from scapy.all import IP, UDP, Ether
from scapy.utils import wrpcap

from dpfwd_run import (CLIENT_MAC, DPFWD, LAN_MAC, TWO_PORT_CONFIG, eal_args, run_config_only)


def dpfwd(*args, **kw):
    return subprocess.run([str(DPFWD), *args], capture_output=True, text=True, timeout=30, **kw)


def test_help_and_version():
    h = dpfwd("--help")
    assert h.returncode == 0 and "usage: dpfwd" in h.stdout and "--stats-json" in h.stdout
    v = dpfwd("--version")
    assert v.returncode == 0 and re.match(r"dpfwd \d+\.\d+\.\d+", v.stdout)


def test_check_accepts_a_good_file(tmp_path):
    cfg = tmp_path / "good.yaml"
    cfg.write_text(TWO_PORT_CONFIG)
    r = dpfwd("--check", "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{cfg}: OK (2 ports, 5 neighbours, 9 routes)\n"
    # Anywhere on the line, without EAL arguments.
    assert dpfwd("-c", str(cfg), "--check").stdout == r.stdout


def test_check_accepts_the_shipped_configs():
    from dpfwd_run import REPO
    for name in ("demo.yaml", "router.yaml"):
        r = dpfwd("--check", "-c", str(REPO / "config" / name))
        assert r.returncode == 0, r.stderr


# (config text, line, column, words in the message)
BAD_CONFIGS = {
    "syntax": ("ports:\n  - {name: lan, device: x\n", 3, 1, "did not find expected"),
    "unknown_key": ("ports:\n  - {name: lan, device: d, ipv4: [10.0.0.1/8]}\nroutez: []\n",
                    3, 1, "unknown key 'routez'"),
    "nat": ("ports:\n  - {name: lan, device: d, ipv4: [10.0.0.1/8]}\nnat: {snat: [{from: "
            "10.0.0.0/8, out: wan, pool: [1.2.3.4]}]}\n", 3, 38, "unknown port 'wan'"),
    "bad_prefix": ("ports:\n  - {name: lan, device: d, ipv4: [10.0.0.1/33]}\n", 2, 35, ""),
    "duplicate_port": ("ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/8]}\n"
                       "  - {name: a, device: d1, ipv4: [11.0.0.1/8]}\n", 3, 12, "duplicate"),
    "via_not_connected": ("ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/8]}\n"
                          "routes:\n  - {prefix: 0.0.0.0/0, via: 11.0.0.1}\n", 4, 30,
                          "connected"),
    "neighbour_unknown_port": ("ports:\n  - {name: a, device: d0, ipv4: [10.0.0.1/8]}\n"
                               "neighbours:\n  - {ip: 10.0.0.2, mac: \"02:00:00:00:00:01\","
                               " port: b}\n", 4, 52, "unknown port"),
}


@pytest.mark.parametrize("kind", list(BAD_CONFIGS))
def test_check_rejects_bad_config_with_location(tmp_path, kind):
    text, line, col, words = BAD_CONFIGS[kind]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    r = dpfwd("--check", "-c", str(cfg))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{cfg}:{line}:{col}: "), r.stderr
    assert words in r.stderr


@pytest.mark.parametrize("kind", ["syntax", "via_not_connected", "unknown_device"])
def test_bad_config_starts_no_port(tmp_path, kind):
    if kind == "unknown_device":
        text = TWO_PORT_CONFIG.replace("device: net_pcap1", "device: net_pcap7")
        where = r"dpfwd\.yaml:8:13: unknown device 'net_pcap7'"
    else:
        text, line, col, _ = BAD_CONFIGS[kind]
        where = rf"dpfwd\.yaml:{line}:{col}: "
    r = run_config_only(tmp_path, text)
    assert r.returncode != 0
    assert re.search(where, r.stderr), r.stderr
    assert "RX /" not in r.stdout + r.stderr  # no port was configured and started
    assert "forwarding with" not in r.stdout + r.stderr


def test_missing_config_file(tmp_path):
    r = dpfwd("--check", "-c", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1 and "nope.yaml" in r.stderr


def test_usage_errors():
    assert dpfwd("--check").returncode == 1
    assert dpfwd("--no-huge", "--", "--bogus").returncode == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_writes_stats(tmp_path, sig):
    cfg = tmp_path / "dpfwd.yaml"
    cfg.write_text(TWO_PORT_CONFIG)
    pkts = [Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="8.8.8.8") / UDP()
            for _ in range(50)]
    wrpcap(str(tmp_path / "in.pcap"), pkts)
    wrpcap(str(tmp_path / "empty.pcap"), [])
    vdevs = [f"net_pcap0,rx_pcap={tmp_path / 'in.pcap'},tx_pcap={tmp_path / 'lan.pcap'}",
             f"net_pcap1,rx_pcap={tmp_path / 'empty.pcap'},tx_pcap={tmp_path / 'wan.pcap'}"]
    stats = tmp_path / "stats.json"
    p = subprocess.Popen([str(DPFWD)] + eal_args(tmp_path, vdevs) +
                         ["--", "-c", str(cfg), "--stats-json", str(stats)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    out = ""
    # Wait until it forwards, then signal it.
    while time.time() < deadline and not (tmp_path / "wan.pcap").exists():
        time.sleep(0.05)
    time.sleep(1.0)
    p.send_signal(sig)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    s = json.loads(stats.read_text())
    assert s["totals"]["rx_packets"] == 50 and s["totals"]["tx_packets"] == 50
    assert s["mbufs_in_use"] == 0
    assert "received 50 + generated 0 = transmitted 50 + dropped 0 + consumed 0" in out


def test_rx_queues_beyond_the_workers_are_all_read(tmp_path):
    """net_pcap makes one RX queue per rx_pcap file: with fewer workers, each reads
    several, and no file is left unread."""
    from dpfwd_run import HOST_MAC, run_dpfwd
    p = Ether(src=HOST_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="8.8.8.8") / UDP()
    r = run_dpfwd(tmp_path, {"lan": [p] * 6}, lcores="0-1", queues=3)
    assert "port lan (net_pcap0) has 3 RX queues, read by 1 worker(s)" in r.stdout + r.stderr
    assert r.stats["totals"]["rx_packets"] == 6 and len(r.out["wan"]) == 6
