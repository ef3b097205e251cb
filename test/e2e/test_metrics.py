"""Prometheus metrics: `metrics: {listen: ...}` serves OpenMetrics text at /metrics
whose counters match dpfwd's own stats."""
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from scapy.all import IP, UDP, Ether

from dpfwd_run import HOST_MAC, LAN_MAC, TWO_PORT_CONFIG, run_config_only, start_dpfwd

SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text):
    """Strict enough for OpenMetrics: every sample belongs to a family declared with
    TYPE before it, counters' samples end in _total, the text ends with # EOF.
    Returns {(name, labels): value}."""
    lines = text.split("\n")
    assert lines[-2:] == ["# EOF", ""], "must end with # EOF"
    types, samples = {}, {}
    for line in lines[:-2]:
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "info"), line
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        fam = re.sub(r"_(total|info)$", "", name)
        assert fam in types, f"{name} has no TYPE"
        if types[fam] == "counter":
            assert name.endswith("_total"), name
        assert (name, labels) not in samples, f"duplicate {name}{labels}"
        samples[(name, labels)] = value
    return samples


def metrics_config(port):
    return TWO_PORT_CONFIG + f'metrics: {{listen: "127.0.0.1:{port}"}}\n'


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        return parse(r.read().decode())


def test_metrics_match_stats(tmp_path):
    port = free_port()
    pkts = [Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=f"10.99.0.{i}") /
            UDP(dport=53) for i in range(7)] + \
           [Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst="198.51.100.1") /
            UDP(dport=53)] * 3
    run = start_dpfwd(tmp_path, {"lan": pkts}, metrics_config(port))
    try:
        for _ in range(500):
            m = scrape(port)
            if m[("dpfwd_port_rx_packets_total", '{port="lan"}')] == 10:
                break
            time.sleep(0.01)
        curl = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/metrics"],
                              capture_output=True, text=True, timeout=30)
        assert curl.returncode == 0 and parse(curl.stdout)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
        assert e.value.code == 404
    finally:
        result = run.stop()
    s = result.stats
    for name in ("lan", "wan"):
        for c in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
            assert m[(f"dpfwd_port_{c}_total", f'{{port="{name}"}}')] == s["ports"][name][c]
    for reason, count in s["drops"].items():
        assert m[("dpfwd_drops_total", f'{{reason="{reason}"}}')] == count
    assert m[("dpfwd_drops_total", '{reason="blackhole"}')] == 3
    assert m[("dpfwd_workers", "")] == 1
    assert m[("dpfwd_config_generation", "")] == 1
    assert m[("dpfwd_routes", "")] == 9
    assert m[("dpfwd_neighbours", '{state="static"}')] == 5
    assert 0 <= m[("dpfwd_worker_busy_ratio", '{worker="0"}')] <= 1


def test_reloads_counted(tmp_path):
    port = free_port()
    run = start_dpfwd(tmp_path, {}, metrics_config(port))
    try:
        run.signal(signal.SIGHUP)
        run.wait_log("reloaded")
        m = scrape(port)
        assert m[("dpfwd_reloads_total", "")] == 1 and m[("dpfwd_config_generation", "")] == 2
        run.cfg.write_text("bogus: [\n")
        run.signal(signal.SIGHUP)
        run.wait_log("reload refused")
        m = scrape(port)
        assert m[("dpfwd_reload_failures_total", "")] == 1
        assert m[("dpfwd_config_generation", "")] == 2
    finally:
        run.stop()


def test_port_in_use_is_a_located_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_config_only(tmp_path, metrics_config(port))
    assert r.returncode == 1
    assert re.search(rf"dpfwd\.yaml:\d+:\d+: cannot listen on 127\.0\.0\.1:{port}: ", r.stderr), \
        r.stderr


def test_idle_clients_cannot_take_every_descriptor(tmp_path):
    """Connections are bounded (64, 8 per client address, 10 s idle): a client holding
    hundreds open costs dpfwd a handful of file descriptors, and scrapes work again once
    it lets go."""
    import os
    port = free_port()
    run = start_dpfwd(tmp_path, {}, metrics_config(port))
    fds = lambda: len(os.listdir(f"/proc/{run.proc.pid}/fd"))  # noqa: E731
    try:
        scrape(port)
        before = fds()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
        time.sleep(0.5)
        assert fds() <= before + 10, (before, fds())
        for s in idle:
            s.close()
        for _ in range(100):
            try:
                scrape(port)
                break
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        assert scrape(port)
    finally:
        run.stop()
