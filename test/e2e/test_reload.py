"""Reload (SIGHUP and /dpfwd/reload): a good file swaps routes and static neighbours
while traffic flows, a bad one or one that needs a restart is refused with its
FILE:LINE:COLUMN message and the running configuration stays, and 100 reloads under
continuous traffic lose nothing."""
import hashlib
import re
import signal

import pytest
from scapy.all import IP, UDP, Ether

from dpfwd_run import GW_MAC, HOST2_MAC, HOST_MAC, LAN_MAC, TWO_PORT_CONFIG, start_dpfwd

# Set A sends 10.99.0.0/16 out of wan (the default route); set B adds a route for it
# through 192.168.1.11 on lan.
SET_B = TWO_PORT_CONFIG.replace(
    "  - {prefix: 198.51.100.0/24, action: blackhole}\n",
    "  - {prefix: 198.51.100.0/24, action: blackhole}\n"
    "  - {prefix: 10.99.0.0/16, via: 192.168.1.11}\n")
assert SET_B != TWO_PORT_CONFIG

FLOWS = [Ether(dst=LAN_MAC, src=HOST_MAC) /
         IP(src="192.168.1.10", dst=f"10.99.{i}.1", ttl=64) / UDP(sport=1000 + i, dport=53)
         for i in range(16)]


def wait_rx(run, at_least):
    """Wait until dpfwd has received AT_LEAST packets in all."""
    for _ in range(2000):
        if sum(run.telemetry("/dpfwd/stats")["rx_packets"]) >= at_least:
            return
    raise AssertionError("dpfwd receives nothing")


def routes(run):
    page = run.telemetry("/dpfwd/routes")
    return list(zip(page["prefix"], page["type"], page["via"]))


def reload(run, text):
    run.cfg.write_text(text)
    return run.telemetry("/dpfwd/reload")


def test_sighup_swaps_routes_while_forwarding(tmp_path):
    run = start_dpfwd(tmp_path, {"lan": FLOWS}, infinite=True, capture_tx=False)
    wait_rx(run, 1000)
    assert run.telemetry("/dpfwd/stats")["tx_packets"][0] == 0, "set A sends nothing to lan"
    run.cfg.write_text(SET_B)
    run.signal(signal.SIGHUP)
    run.wait_log(r"reloaded .*generation 2")
    before = run.telemetry("/dpfwd/stats")
    wait_rx(run, 2 * sum(before["rx_packets"]))
    after = run.telemetry("/dpfwd/stats")
    assert after["tx_packets"][0] > before["tx_packets"][0], "set B sends 10.99/16 to lan"
    cfg = run.telemetry("/dpfwd/config")
    assert cfg["generation"] == 2 and cfg["reloads"] == 1
    assert cfg["sha256"] == hashlib.sha256(SET_B.encode()).hexdigest()
    assert ("10.99.0.0/16", "forward", "192.168.1.11") in routes(run)
    result = run.stop()
    assert not result.nonzero_drops()


BAD_FILES = {
    "yaml syntax": (TWO_PORT_CONFIG + "routes: [\n", r"dpfwd\.yaml:\d+:\d+: "),
    "unknown key": (TWO_PORT_CONFIG + "colour: blue\n", r"dpfwd\.yaml:\d+:1: unknown key 'colour'"),
    # Not ASCII: the replies stay JSON (telemetry shows such bytes as '?').
    "unknown key, not ASCII": (TWO_PORT_CONFIG + "couleur_\u00e9: bleu\n",
                               r"dpfwd\.yaml:\d+:1: unknown key 'couleur_\?\?'"),
    "bad prefix": (TWO_PORT_CONFIG.replace("10.20.30.0/24", "10.20.300.0/24"),
                   r"dpfwd\.yaml:\d+:\d+: "),
    "gateway not on a connected subnet": (
        TWO_PORT_CONFIG.replace("via: 192.168.1.99", "via: 192.0.2.99"), r"dpfwd\.yaml:\d+:\d+: "),
    "unknown port": (TWO_PORT_CONFIG.replace("mac: \"02:00:00:00:00:11\", port: lan",
                                             "mac: \"02:00:00:00:00:11\", port: dmz"),
                     r"dpfwd\.yaml:\d+:\d+: "),
    "file gone": (None, r"dpfwd\.yaml:1:1: cannot read file"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_refused_running_config_kept(tmp_path, kind):
    text, message = BAD_FILES[kind]
    run = start_dpfwd(tmp_path, {"lan": FLOWS[:1]}, infinite=True, capture_tx=False)
    before = routes(run), run.telemetry("/dpfwd/config")
    if text is None:
        run.cfg.unlink()
        reply = run.telemetry("/dpfwd/reload")
    else:
        reply = reload(run, text)
    assert reply["ok"] == 0 and reply["generation"] == 1
    assert re.search(message, reply["error"]), reply["error"]
    assert routes(run) == before[0]
    cfg = run.telemetry("/dpfwd/config")
    assert cfg["generation"] == 1 and cfg["sha256"] == before[1]["sha256"]
    assert cfg["reload_failures"] == 1 and cfg["last_error"] == reply["error"]
    # Still forwarding with the old tables: 10.99/16 out of wan.
    tx = run.telemetry("/dpfwd/stats")["tx_packets"][1]
    wait_rx(run, 2 * sum(run.telemetry("/dpfwd/stats")["rx_packets"]))
    assert run.telemetry("/dpfwd/stats")["tx_packets"][1] > tx
    result = run.stop()
    assert "reload refused, generation 1 keeps running" in result.stderr
    assert not result.nonzero_drops()


# kind: (text in the running config, what the reload has instead, the message, the
# line of the new file the refusal must name: that of the text marked by AT)
RESTART_ONLY = {
    "device": ("device: net_pcap1", "device: net_pcap7", "device of port 'wan'", "net_pcap7"),
    "mtu": ("    mtu: 1500\n", "    mtu: 1400\n", "mtu of port 'wan'", "mtu: 1400"),
    "mac removed": ('    mac: "02:00:00:00:01:01"\n', "", "mac of port 'lan'", "- name: lan"),
    "mac": ('mac: "02:00:00:00:01:01"', 'mac: "02:00:00:00:01:02"', "mac of port 'lan'",
            "01:02"),
    "port added": ("neighbours:\n", "  - {name: dmz, device: net_pcap2}\nneighbours:\n",
                   "ports added or removed", None),
    "dataplane": ("burst: 32", "burst: 16", "setting 'dataplane.burst'", "burst: 16"),
}


@pytest.mark.parametrize("kind", RESTART_ONLY)
def test_restart_only_change_refused(tmp_path, kind):
    """Refused with the place of the change: the new value's line, or where the value
    would be when it is left out (the port's mapping), or line 1 for the port list."""
    old, new, message, mark = RESTART_ONLY[kind]
    assert old in TWO_PORT_CONFIG
    text = TWO_PORT_CONFIG.replace(old, new)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if mark in s) if mark else 1
    run = start_dpfwd(tmp_path, {"lan": FLOWS[:1]}, infinite=True, capture_tx=False)
    reply = reload(run, text)
    assert reply["ok"] == 0 and reply["generation"] == 1
    assert message in reply["error"] and "restart dpfwd to apply" in reply["error"]
    assert re.match(rf".*dpfwd\.yaml:{line}:\d+: ", reply["error"]), reply["error"]
    run.stop()


def test_port_addresses_may_change(tmp_path):
    """Addresses are not bound to the device: a reload may add one."""
    run = start_dpfwd(tmp_path, {"lan": FLOWS[:1]}, infinite=True, capture_tx=False)
    reply = reload(run, TWO_PORT_CONFIG.replace("ipv4: [192.168.1.1/24]",
                                                "ipv4: [192.168.1.1/24, 172.31.0.1/24]"))
    assert reply == {"ok": 1, "generation": 2}
    assert ("172.31.0.0/24", "connected", "") in routes(run)
    run.stop()


def test_learned_neighbours_survive_reload(tmp_path):
    """A neighbour learned by ARP before the reload is still resolved after it."""
    from scapy.all import ARP
    config = TWO_PORT_CONFIG.replace(
        '  - {ip: 192.168.1.11, mac: "02:00:00:00:00:11", port: lan}\n', "")
    garp_reply = Ether(dst=LAN_MAC, src=HOST2_MAC) / ARP(
        op=2, hwsrc=HOST2_MAC, psrc="192.168.1.11", hwdst=LAN_MAC, pdst="192.168.1.1")
    to_host2 = Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst="10.20.30.5") / UDP()
    # The packet for 10.20.30.0/24 (via .11) makes dpfwd ask; the reply teaches it.
    run = start_dpfwd(tmp_path, {"lan": [to_host2, garp_reply]}, config_text=config)
    for _ in range(2000):
        n = run.telemetry("/dpfwd/neighbours")
        if "192.168.1.11" in n["ip"] and n["state"][n["ip"].index("192.168.1.11")] != "incomplete":
            break
    else:
        raise AssertionError(f"192.168.1.11 not learned: {n}")
    assert reload(run, config + "# touched\n")["ok"] == 1
    n = run.telemetry("/dpfwd/neighbours")
    i = n["ip"].index("192.168.1.11")
    assert n["mac"][i].lower() == HOST2_MAC and n["state"][i] == "reachable"
    assert ("10.20.30.0/24", "forward", "192.168.1.11") in routes(run)
    assert dict(zip(n["ip"], n["state"]))["192.168.1.10"] == "static"
    run.stop()


def test_hundred_reloads_under_traffic_lose_nothing(tmp_path):
    """Continuous traffic, 100 reloads alternating two route sets, two workers: every
    packet left on a port one of the sets allows, none dropped, no mbuf leaked."""
    run = start_dpfwd(tmp_path, {"lan": FLOWS}, infinite=True, capture_tx=False,
                      lcores="(0-2)@(0,1)", queues=2, memory_mb=1024)
    assert "forwarding with 2 worker(s)" in run.log()
    wait_rx(run, 1000)
    for i in range(100):
        reply = reload(run, SET_B if i % 2 == 0 else TWO_PORT_CONFIG)
        assert reply == {"ok": 1, "generation": i + 2}, reply
    stats = run.telemetry("/dpfwd/stats")
    result = run.stop()  # conservation: received = transmitted + dropped; no mbuf left
    assert not result.nonzero_drops(), result.nonzero_drops()
    ports = result.stats["ports"]
    assert ports["lan"]["tx_packets"] > 0 and ports["wan"]["tx_packets"] > 0
    assert ports["lan"]["tx_packets"] + ports["wan"]["tx_packets"] == ports["lan"]["rx_packets"]
    assert stats["rx_packets"][0] > 0
    assert "generation 101" in result.stderr
