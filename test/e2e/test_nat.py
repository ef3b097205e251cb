"""NAT end to end: NAPT (RFC 4787 / 5382 / 5508 behaviours), port forwards, 1:1 and
NPTv6, on pcap ports.

With one worker the order is deterministic: each loop takes a burst from lan, then
one from wan, so a request early in lan's capture is translated before a reply in
wan's capture is looked at. The pool has one address and the inside ports are kept
(port preservation), so the tests know the outside endpoint in advance.
"""
import json
import time

import pytest
from scapy.all import ICMP, IP, TCP, UDP, Ether, IPv6, Raw

from dpfwd_run import GW_MAC, HOST_MAC, LAN_MAC, WAN_MAC, run_dpfwd, start_dpfwd

HOST11_MAC = "02:00:00:00:00:11"
SERVER_MAC = "02:00:00:00:00:20"
STATIC_MAC = "02:00:00:00:00:50"
POOL = "203.0.113.10"
REMOTE = "198.51.100.7"
REMOTE2 = "198.51.100.8"


def nat_config(filtering="address-dependent", extra="", ports="1024-65535", max_sessions=1000,
               timeouts="", stateless=True):
    """STATELESS: with the port forward and the 1:1 rule (NAPT's fast path then leaves
    outbound packets to the NAT stage, where those rules come first)."""
    rules = f"""\
  dnat:
    - {{proto: tcp, match: "203.0.113.1:443", to: "192.168.1.20:8443"}}
  static:
    - {{inside: 192.168.1.50, outside: 203.0.113.50}}
""" if stateless else ""
    return f"""\
ports:
  - name: lan
    device: net_pcap0
    mac: "{LAN_MAC}"
    ipv4: [192.168.1.1/24]
    ipv6: ["fd00:1::1/64"]
  - name: wan
    device: net_pcap1
    mac: "{WAN_MAC}"
    ipv4: [203.0.113.1/24]
    ipv6: ["2001:db8:ff::1/64"]
neighbours:
  - {{ip: 203.0.113.254, mac: "{GW_MAC}", port: wan}}
  - {{ip: "2001:db8:ff::fe", mac: "{GW_MAC}", port: wan}}
  - {{ip: 192.168.1.10, mac: "{HOST_MAC}", port: lan}}
  - {{ip: 192.168.1.11, mac: "{HOST11_MAC}", port: lan}}
  - {{ip: 192.168.1.20, mac: "{SERVER_MAC}", port: lan}}
  - {{ip: 192.168.1.50, mac: "{STATIC_MAC}", port: lan}}
  - {{ip: "fd00:1::10", mac: "{HOST_MAC}", port: lan}}
routes:
  - {{prefix: 0.0.0.0/0, via: 203.0.113.254}}
  - {{prefix: "::/0", via: "2001:db8:ff::fe"}}
nat:
  snat:
    - {{from: 192.168.1.0/24, out: wan, pool: [{POOL}], ports: {ports}}}
{rules}  nptv6:
    - {{inside: "fd00:1::/48", outside: "2001:db8:100::/48", port: wan}}
  filtering: {filtering}
  max_sessions: {max_sessions}
{timeouts}{extra}dataplane:
  mbufs: 8191
"""


def wait_until(check, tries=500):
    """CHECK() until it is true (a running dpfwd catching up), at most TRIES times 10 ms;
    its last value."""
    for _ in range(tries):
        got = check()
        if got:
            return got
        time.sleep(0.01)
    return check()


def one_flow_running(tmp_path, config, reply_to):
    """dpfwd replaying, forever, one UDP flow out (192.168.1.10:5000 to REMOTE:53) and
    its replies to REPLY_TO:5000, once the flow has its session."""
    run = start_dpfwd(tmp_path, {"lan": [out4("192.168.1.10", 5000, REMOTE, 53)],
                                 "wan": [in4(REMOTE, 53, reply_to, 5000)]},
                      config, infinite=True, capture_tx=False)
    wait_until(lambda: run.telemetry("/dpfwd/nat")["sessions"] == 1)
    return run


def out4(src, sport, dst, dport, proto=UDP, mac=HOST_MAC, **kw):
    return Ether(dst=LAN_MAC, src=mac) / IP(src=src, dst=dst, ttl=64) / \
        proto(sport=sport, dport=dport, **kw) / Raw(b"x" * 8)


def in4(src, sport, dst, dport, proto=UDP, **kw):
    return Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=src, dst=dst, ttl=64) / \
        proto(sport=sport, dport=dport, **kw) / Raw(b"y" * 8)


def assert_checksums(p):
    """IP and L4 checksums as scapy computes them from scratch."""
    fresh = p.__class__(bytes(p))
    for layer in (IP, TCP, UDP, ICMP):
        if layer in fresh:
            got = fresh[layer].chksum
            del fresh[layer].chksum
            assert fresh.__class__(bytes(fresh))[layer].chksum == got, f"{layer.__name__} checksum"
            fresh = p.__class__(bytes(p))


def test_mapping_reused_across_destinations(tmp_path):
    """RFC 4787 REQ-1: one inside endpoint, one outside endpoint, whatever the destination."""
    sent = [out4("192.168.1.10", 5000, REMOTE, 53), out4("192.168.1.10", 5000, REMOTE2, 123),
            out4("192.168.1.10", 5001, REMOTE, 53)]
    r = run_dpfwd(tmp_path, {"lan": sent}, nat_config())
    wan = r.out["wan"]
    assert len(wan) == 3
    assert {(p[IP].src, p[UDP].sport) for p in wan[:2]} == {(POOL, 5000)}
    assert (wan[2][IP].src, wan[2][UDP].sport) == (POOL, 5001)  # ports kept (REQ-3)
    assert [p[IP].dst for p in wan] == [REMOTE, REMOTE2, REMOTE]
    for p in wan:
        assert p[Ether].src == WAN_MAC and p[Ether].dst == GW_MAC and p[IP].ttl == 63
        assert_checksums(p)


def test_reply_translated_back(tmp_path):
    sent_lan = [out4("192.168.1.10", 5000, REMOTE, 53)]
    sent_wan = [in4(REMOTE, 53, POOL, 5000)]
    r = run_dpfwd(tmp_path, {"lan": sent_lan, "wan": sent_wan}, nat_config())
    (p,) = r.out["lan"]
    assert (p[IP].src, p[IP].dst, p[UDP].sport, p[UDP].dport) == (REMOTE, "192.168.1.10", 53, 5000)
    assert p[Ether].dst == HOST_MAC
    assert_checksums(p)


FILTER_CASES = {
    # filtering: which of (same endpoint, same address other port, other address) get in
    "endpoint-independent": (True, True, True),
    "address-dependent": (True, True, False),
    "address-and-port-dependent": (True, False, False),
}


@pytest.mark.parametrize("mode", FILTER_CASES)
def test_filtering(tmp_path, mode):
    """RFC 4787 REQ-8: who may send in through a mapping made towards REMOTE:53."""
    sent_lan = [out4("192.168.1.10", 5000, REMOTE, 53)]
    probes = [in4(REMOTE, 53, POOL, 5000), in4(REMOTE, 54, POOL, 5000),
              in4(REMOTE2, 53, POOL, 5000)]
    r = run_dpfwd(tmp_path, {"lan": sent_lan, "wan": probes}, nat_config(filtering=mode))
    passed = {(p[IP].src, p[UDP].sport) for p in r.out["lan"]}
    want = [(REMOTE, 53), (REMOTE, 54), (REMOTE2, 53)]
    assert passed == {w for w, ok in zip(want, FILTER_CASES[mode]) if ok}
    assert r.drops("nat_filtered") == FILTER_CASES[mode].count(False)


def test_unsolicited_inbound_dropped(tmp_path):
    r = run_dpfwd(tmp_path, {"wan": [in4(REMOTE, 53, POOL, 6000)]}, nat_config())
    assert r.out["lan"] == [] and r.drops("nat_no_rule") == 1


def test_icmp_echo_by_identifier(tmp_path):
    """RFC 5508: echo request out with the identifier as port, reply back in."""
    req = Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=REMOTE) / \
        ICMP(type=8, id=5777, seq=1) / Raw(b"ping")
    rep = Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=REMOTE, dst=POOL) / \
        ICMP(type=0, id=5777, seq=1) / Raw(b"ping")
    r = run_dpfwd(tmp_path, {"lan": [req], "wan": [rep]}, nat_config())
    (o,) = r.out["wan"]
    assert o[IP].src == POOL and o[ICMP].id == 5777
    assert_checksums(o)
    (i,) = r.out["lan"]
    assert i[IP].dst == "192.168.1.10" and i[ICMP].id == 5777 and i[ICMP].type == 0
    assert_checksums(i)


def test_tcp_checksums_and_syn(tmp_path):
    syn = out4("192.168.1.10", 40000, REMOTE, 80, proto=TCP, flags="S", seq=1)
    synack = in4(REMOTE, 80, POOL, 40000, proto=TCP, flags="SA", seq=9, ack=2)
    r = run_dpfwd(tmp_path, {"lan": [syn], "wan": [synack]}, nat_config())
    (o,) = r.out["wan"]
    assert (o[IP].src, o[TCP].sport) == (POOL, 40000)
    assert_checksums(o)
    (i,) = r.out["lan"]
    assert (i[IP].dst, i[TCP].dport, i[TCP].flags) == ("192.168.1.10", 40000, "SA")
    assert_checksums(i)


def test_udp_zero_checksum_stays_zero(tmp_path):
    p = out4("192.168.1.10", 5000, REMOTE, 53)
    p[UDP].chksum = 0
    r = run_dpfwd(tmp_path, {"lan": [p]}, nat_config())
    (o,) = r.out["wan"]
    assert o[UDP].chksum == 0 and o[IP].src == POOL


def test_hairpin(tmp_path):
    """RFC 4787 REQ-9: .11 reaches .10 through .10's outside endpoint and is seen from
    its own outside endpoint."""
    lan = [out4("192.168.1.10", 5000, REMOTE, 53),
           out4("192.168.1.11", 6000, POOL, 5000, mac=HOST11_MAC)]
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config(filtering="endpoint-independent"))
    hair = [p for p in r.out["lan"]]
    assert len(hair) == 1
    p = hair[0]
    assert (p[IP].dst, p[UDP].dport) == ("192.168.1.10", 5000)
    assert (p[IP].src, p[UDP].sport) == (POOL, 6000)
    assert p[Ether].dst == HOST_MAC
    assert_checksums(p)


def test_table_full_new_flows_dropped_old_ones_kept(tmp_path):
    lan = [out4("192.168.1.10", 5000 + i, REMOTE, 53) for i in range(3)] + \
          [out4("192.168.1.10", 5000, REMOTE, 53)]
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config(max_sessions=2))
    assert r.drops("nat_table_full") == 1
    assert [p[UDP].sport for p in r.out["wan"]] == [5000, 5001, 5000]


def test_ports_exhausted(tmp_path):
    lan = [out4("192.168.1.10", 7000 + i, REMOTE, 53) for i in range(3)] + \
          [out4("192.168.1.10", 7000, REMOTE2, 53)]
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config(ports="1024-1025"))
    assert r.drops("nat_ports_exhausted") == 1
    assert sorted(p[UDP].sport for p in r.out["wan"]) == [1024, 1024, 1025]


def test_port_forward_both_ways(tmp_path):
    syn = in4(REMOTE, 50000, "203.0.113.1", 443, proto=TCP, flags="S")
    reply = out4("192.168.1.20", 8443, REMOTE, 50000, proto=TCP, flags="SA", mac=SERVER_MAC)
    r = run_dpfwd(tmp_path, {"wan": [syn], "lan": [reply]}, nat_config())
    (i,) = r.out["lan"]
    assert (i[IP].dst, i[TCP].dport, i[Ether].dst) == ("192.168.1.20", 8443, SERVER_MAC)
    assert_checksums(i)
    (o,) = r.out["wan"]
    assert (o[IP].src, o[TCP].sport) == ("203.0.113.1", 443)
    assert_checksums(o)


def test_static_one_to_one_both_ways(tmp_path):
    out = out4("192.168.1.50", 1234, REMOTE, 80, proto=TCP, flags="S", mac=STATIC_MAC)
    inb = Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=REMOTE, dst="203.0.113.50") / \
        ICMP(type=8, id=5) / Raw(b"hi")
    r = run_dpfwd(tmp_path, {"lan": [out], "wan": [inb]}, nat_config())
    (o,) = r.out["wan"]
    assert (o[IP].src, o[TCP].sport) == ("203.0.113.50", 1234)
    assert_checksums(o)
    (i,) = r.out["lan"]
    assert i[IP].dst == "192.168.1.50" and i[ICMP].id == 5
    assert_checksums(i)


def test_nptv6_both_ways(tmp_path):
    """RFC 6296: fd00:1::/48 <-> 2001:db8:100::/48, checksum-neutral: the UDP checksum
    is untouched and still right."""
    out = Ether(dst=LAN_MAC, src=HOST_MAC) / IPv6(src="fd00:1::10", dst="2001:db8:99::1") / \
        UDP(sport=1, dport=2) / Raw(b"v6")
    r = run_dpfwd(tmp_path, {"lan": [out]}, nat_config())
    (o,) = r.out["wan"]
    outside = o[IPv6].src
    assert outside.startswith("2001:db8:100:")
    fresh = Ether(bytes(o))
    got = fresh[UDP].chksum
    del fresh[UDP].chksum
    assert Ether(bytes(fresh))[UDP].chksum == got
    back = Ether(dst=WAN_MAC, src=GW_MAC) / IPv6(src="2001:db8:99::1", dst=outside) / \
        UDP(sport=2, dport=1) / Raw(b"v6")
    r = run_dpfwd(tmp_path / "back", {"wan": [back]}, nat_config())
    (i,) = r.out["lan"]
    assert i[IPv6].dst == "fd00:1::10"


def test_sessions_expire_by_state(tmp_path):
    """Timeouts (RFC 4787 REQ-5, RFC 5382): a lone SYN is transitory, a UDP flow has
    its own timeout; expired sessions and their mappings are reclaimed."""
    timeouts = "  timeouts: {tcp_established: 3600, tcp_transitory: 1, udp: 2, icmp: 1}\n"
    lan = [out4("192.168.1.10", 40000, REMOTE, 80, proto=TCP, flags="S"),
           out4("192.168.1.10", 5000, REMOTE, 53),
           out4("192.168.1.10", 41000, REMOTE, 443, proto=TCP, flags="S")]
    wan = [in4(REMOTE, 443, POOL, 41000, proto=TCP, flags="SA")]
    run = start_dpfwd(tmp_path, {"lan": lan, "wan": wan},
                      nat_config(extra=timeouts))
    try:
        for _ in range(200):
            nat = run.telemetry("/dpfwd/nat")
            if nat["sessions_created"] == 3:
                break
            time.sleep(0.01)
        assert nat["sessions"] == 3 and nat["mappings"] == 3
        deadline = time.monotonic() + 10
        while run.telemetry("/dpfwd/nat")["expired"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        nat = run.telemetry("/dpfwd/nat")
        # The half-open TCP and the UDP flow are gone; the established one stays.
        assert nat["expired"] == 2 and nat["sessions"] == 1 and nat["mappings"] == 1
    finally:
        run.stop()


def test_closed_tcp_session_reopens(tmp_path):
    """RFC 5382: after a FIN the session is transitory; a new connection between the
    same endpoints (SYN both ways) makes it established again, with that timeout."""
    lan = [out4("192.168.1.10", 40000, REMOTE, 80, proto=TCP, flags="S"),
           out4("192.168.1.10", 40000, REMOTE, 80, proto=TCP, flags="FA"),
           out4("192.168.1.10", 40000, REMOTE, 80, proto=TCP, flags="S")]
    wan = [in4(REMOTE, 80, POOL, 40000, proto=TCP, flags="SA")]
    run = start_dpfwd(tmp_path, {"lan": lan, "wan": wan}, nat_config())
    try:
        assert wait_until(lambda: run.telemetry("/dpfwd/nat_sessions").get("state") ==
                          ["tcp_established"])
    finally:
        run.stop()


def crc32c_4byte(data: bytes, crc: int) -> int:
    """DPDK's rte_hash_crc_4byte: CRC-32C over 4 bytes, no inversion (the SSE4.2
    crc32 instruction)."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def frag_owner(src, dst, ip_id, n_workers):
    """napt_fragment_owner(): the worker keeping a UDP datagram's fragment records."""
    h = crc32c_4byte(bytes(int(x) for x in src.split(".")), 17)
    h = crc32c_4byte(bytes(int(x) for x in dst.split(".")), h)
    return crc32c_4byte(ip_id.to_bytes(2, "big") + b"\0\0", h) % n_workers


def owner_of_inside(proto, ip, port, n_workers):
    """nat_owner_of_inside() in lib/nat/napt.c, to know which ports a worker keeps."""
    h = crc32c_4byte(bytes(int(x) for x in ip.split(".")), proto)
    h = crc32c_4byte(port.to_bytes(2, "big") + b"\0\0", h)
    return h % n_workers


def test_several_workers(tmp_path):
    """Three workers on two CPUs; RX from one queue per port lands on two of them, so
    most packets meet a worker that does not own their mapping and are handed over.
    Endpoint-independent mappings stay one per inside endpoint, replies find them."""
    n = 3
    # Inside ports the owner can keep (p % n == owner): the outside port is known.
    ports = [p for p in range(20000, 20400) if p % n == owner_of_inside(17, "192.168.1.10", p, n)]
    ports = ports[:24]
    assert len(ports) == 24
    lan = [out4("192.168.1.10", p, dst, 53) for p in ports for dst in (REMOTE, REMOTE2)]
    wan = [in4(REMOTE, 53, POOL, p) for p in ports]
    run = start_dpfwd(tmp_path, {"lan": lan, "wan": wan}, nat_config(), lcores="(0-3)@(0,1)",
                      queues=n, infinite=True, capture_tx=False)
    assert "forwarding with 3 worker(s)" in run.log()
    try:
        wait_until(lambda: run.telemetry("/dpfwd/nat")["mappings"] == len(ports))
        for port, count in (("lan", 60), ("wan", 60)):
            out = tmp_path / f"{port}.pcapng"
            assert run.telemetry(f"/dpfwd/capture_start,{port},{count},{out}") == {"ok": 1}
            for _ in range(500):
                if not run.telemetry("/dpfwd/capture")["running"]:
                    break
                time.sleep(0.01)
        nat = run.telemetry("/dpfwd/nat")
    finally:
        result = run.stop()  # conservation and no leak, across the hand-overs
    from scapy.all import rdpcap
    # One mapping per inside endpoint, though two destinations and three workers saw it.
    assert nat["mappings"] == len(ports) and nat["mappings_created"] == len(ports)
    sent = [p for p in rdpcap(str(tmp_path / "wan.pcapng")) if p[Ether].src == WAN_MAC]
    assert sent and all(p[IP].src == POOL and p[UDP].sport in ports for p in sent)
    back = [p for p in rdpcap(str(tmp_path / "lan.pcapng")) if p[Ether].src == LAN_MAC]
    assert back
    for p in back:
        assert p[IP].dst == "192.168.1.10" and p[UDP].dport in ports and p[IP].src == REMOTE
        assert_checksums(p)
    # Replies that came before their mapping existed, and hand-overs beyond a full ring
    # under this overload, are the only drops.
    assert set(result.nonzero_drops()) <= {"nat_no_rule", "nat_handoff_full", "nat_filtered"}


def test_sessions_survive_reload(tmp_path):
    """A reload swaps the rules; the sessions stay (none is made again) and replies keep
    finding their mapping. Enabling or sizing NAT differently needs a restart."""
    import subprocess
    from dpfwd_run import DPFWDCTL
    config = nat_config()
    run = one_flow_running(tmp_path, config, POOL)
    try:
        before = run.telemetry("/dpfwd/nat")
        run.cfg.write_text(config.replace("routes:\n", "routes:\n  - {prefix: 10.9.0.0/16, "
                                          "action: blackhole}\n"))
        assert run.telemetry("/dpfwd/reload") == {"ok": 1, "generation": 2}
        tx_lan = run.telemetry("/dpfwd/stats")["tx_packets"][0]
        time.sleep(0.2)
        after = run.telemetry("/dpfwd/nat")
        assert run.telemetry("/dpfwd/stats")["tx_packets"][0] > tx_lan  # replies still in
        assert after["sessions"] == 1 and after["mappings"] == 1
        assert after["sessions_created"] == before["sessions_created"] == 1
        ctl = subprocess.run([str(DPFWDCTL), "-p", run.prefix, "--json", "nat"],
                             capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 0 and json.loads(ctl.stdout)["mappings"] == 1
        for text, what in ((config.replace("  max_sessions: 1000\n", "  max_sessions: 99\n"),
                            "nat.max_sessions"),
                           (config.split("nat:\n")[0] + "dataplane:\n  mbufs: 8191\n",
                            "nat (added or removed)")):
            run.cfg.write_text(text)
            reply = run.telemetry("/dpfwd/reload")
            assert reply["ok"] == 0 and what in reply["error"], reply
            if "max_sessions: 99" in text:  # the refusal names the line of the change
                line = text.splitlines().index("  max_sessions: 99") + 1
                assert f"dpfwd.yaml:{line}:" in reply["error"], reply
    finally:
        result = run.stop()
    assert set(result.nonzero_drops()) <= {"nat_no_rule"}


def test_icmp_error_translated_back(tmp_path):
    """RFC 5508 4.2: an ICMP error from outside about a translated flow reaches the inside
    host with the outer destination, the quoted source and port and every checksum
    (outer IP, ICMP, quoted IP, quoted UDP) translated."""
    from scapy.all import IPerror, UDPerror
    request = out4("192.168.1.10", 5000, REMOTE, 53)
    quoted = IP(src=POOL, dst=REMOTE, ttl=63, id=1) / UDP(sport=5000, dport=53) / Raw(b"x" * 8)
    error = Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=REMOTE, dst=POOL) / \
        ICMP(type=3, code=3) / IP(bytes(quoted))
    r = run_dpfwd(tmp_path, {"lan": [request], "wan": [error]}, nat_config())
    (p,) = r.out["lan"]
    assert p[IP].dst == "192.168.1.10" and p[ICMP].type == 3 and p[ICMP].code == 3
    assert p[IPerror].src == "192.168.1.10" and p[UDPerror].sport == 5000
    assert p[IPerror].dst == REMOTE and p[UDPerror].dport == 53
    raw = Ether(bytes(p))
    icmp = raw[ICMP]
    ck = icmp.chksum
    del icmp.chksum
    assert Ether(bytes(raw))[ICMP].chksum == ck, "ICMP checksum"
    inner = IP(bytes(p[IPerror]))
    inner_ck = inner.chksum
    del inner.chksum
    assert IP(bytes(inner)).chksum == inner_ck, "quoted IP checksum"
    inner = IP(bytes(p[IPerror]))
    udp_ck = inner[UDP].chksum
    del inner[UDP].chksum
    assert IP(bytes(inner))[UDP].chksum == udp_ck, "quoted UDP checksum"
    assert_checksums(p)


def test_icmp_error_quoting_a_whole_tcp_header(tmp_path):
    """Many stacks quote more than RFC 792's 8 bytes: a quote that holds the TCP
    checksum gets it translated too, so the quoted segment stays consistent."""
    from scapy.all import IPerror
    syn = out4("192.168.1.10", 5002, REMOTE, 80, proto=TCP, flags="S")
    quoted = IP(src=POOL, dst=REMOTE, ttl=63) / TCP(sport=5002, dport=80, flags="S", seq=7)
    error = Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=REMOTE, dst=POOL) / \
        ICMP(type=3, code=1) / IP(bytes(quoted))
    r = run_dpfwd(tmp_path, {"lan": [syn], "wan": [error]}, nat_config())
    (p,) = r.out["lan"]
    inner = IP(bytes(p[IPerror]))
    assert (inner.src, inner[TCP].sport) == ("192.168.1.10", 5002)
    tcp_ck = inner[TCP].chksum
    del inner[TCP].chksum
    assert IP(bytes(inner))[TCP].chksum == tcp_ck, "quoted TCP checksum"
    assert_checksums(p)


def test_icmp_error_from_inside_translated(tmp_path):
    """RFC 5508: an inside host's ICMP error about an inbound packet of a mapping leaves
    with the outer source, the quoted destination address and port and every checksum
    translated to the mapping's outside endpoint; one about a packet no mapping covers
    is dropped (REQ-3: no active mapping for the embedded payload)."""
    from scapy.all import IPerror, UDPerror
    # Ports 6000-6010: the inside port 5000 is not kept, so the port rewrite shows.
    request = out4("192.168.1.10", 5000, REMOTE, 53)

    def error_about(dport):
        quoted = IP(src=REMOTE, dst="192.168.1.10", ttl=62, id=9) / UDP(sport=53, dport=dport) / \
            Raw(b"y" * 8)
        return Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=REMOTE) / \
            ICMP(type=3, code=3) / IP(bytes(quoted))

    r = run_dpfwd(tmp_path, {"lan": [request, error_about(5000), error_about(5999)]},
                  nat_config(ports="6000-6010"))
    out, err = r.out["wan"]
    assert (out[IP].src, out[UDP].sport) == (POOL, 6000)
    assert err[IP].src == POOL and err[IP].dst == REMOTE and err[ICMP].type == 3
    assert (err[IPerror].src, err[UDPerror].sport) == (REMOTE, 53)
    assert (err[IPerror].dst, err[UDPerror].dport) == (POOL, 6000)
    raw = Ether(bytes(err))
    ck = raw[ICMP].chksum
    del raw[ICMP].chksum
    assert Ether(bytes(raw))[ICMP].chksum == ck, "ICMP checksum"
    inner = IP(bytes(err[IPerror]))
    inner_ck, udp_ck = inner.chksum, inner[UDP].chksum
    del inner.chksum
    del inner[UDP].chksum
    fresh = IP(bytes(inner))
    assert fresh.chksum == inner_ck, "quoted IP checksum"
    assert fresh[UDP].chksum == udp_ck, "quoted UDP checksum"
    assert_checksums(err)
    assert r.drops("nat_untranslatable") == 1


def test_forged_inside_sources_from_outside_make_no_mappings(tmp_path):
    """A packet from the outside link with an inside source (forged) to a pool address is
    no hairpin: it gets no NAPT mapping of its own (anyone outside could fill the table
    and the pool), and without a mapping for its destination it is nat_no_rule."""
    wan = [Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=f"192.168.1.{100 + k}", dst=POOL) /
           UDP(sport=7000 + k, dport=5000) / Raw(b"f") for k in range(20)]
    r = run_dpfwd(tmp_path, {"wan": wan}, nat_config(filtering="endpoint-independent"))
    assert r.stats["nat"]["mappings_created"] == 0
    assert r.out["lan"] == [] and r.drops("nat_no_rule") == 20


def third_port_config(name, mac, ipv4, stateless=False):
    """nat_config(stateless=STATELESS) with a third port NAME (net_pcap2; MAC, IPV4/len)."""
    return nat_config(stateless=stateless).replace("""  - name: wan
    device: net_pcap1""", f"""  - name: {name}
    device: net_pcap2
    mac: "{mac}"
    ipv4: [{ipv4}]
  - name: wan
    device: net_pcap1""")


def test_hairpin_answers_of_hosts_no_snat_rule_covers(tmp_path):
    """A port forward's server and a 1:1 host that no snat `from` covers answer a LAN
    client's hairpin from their rule's outside endpoint all the same, so the client's
    mapping (address-dependent filtering) lets the answers in."""
    cfg = nat_config().replace("from: 192.168.1.0/24", "from: 192.168.1.0/28")
    lan = [out4("192.168.1.10", 4000, "203.0.113.1", 443, proto=TCP, flags="S"),
           out4("192.168.1.10", 4001, "203.0.113.50", 7),
           Ether(dst=LAN_MAC, src=SERVER_MAC) / IP(src="192.168.1.20", dst=POOL) /
           TCP(sport=8443, dport=4000, flags="SA"),
           Ether(dst=LAN_MAC, src=STATIC_MAC) / IP(src="192.168.1.50", dst=POOL) /
           UDP(sport=7, dport=4001) / Raw(b"a")]
    r = run_dpfwd(tmp_path, {"lan": lan}, cfg)
    to_client = [p for p in r.out["lan"] if p[Ether].dst == HOST_MAC]
    assert len(to_client) == 2, r.nonzero_drops()
    assert {(p[IP].src, p[IP].sport, p[IP].dst, p[IP].dport) for p in to_client} == \
        {("203.0.113.1", 443, "192.168.1.10", 4000), ("203.0.113.50", 7, "192.168.1.10", 4001)}
    for p in to_client:
        assert_checksums(p)


@pytest.mark.parametrize("covered", [True, False])
@pytest.mark.parametrize("host", ["static", "forward"])
def test_hairpinned_icmp_error_from_a_static_host_or_server(tmp_path, host, covered):
    """A LAN client's packet reaches the 1:1 host (or the port forward's server) through
    its outside address (a hairpin); that host's ICMP error about it comes back to the
    client translated both ways, RFC 5508 4.2 style: from the outside address, quoting
    the packet as the client sent it (its own endpoint, the outside endpoint), checksums
    and all; whether or not an snat `from` covers the host (COVERED)."""
    from scapy.layers.inet import IPerror, TCPerror, UDPerror
    cfg = nat_config(filtering="endpoint-independent")
    if not covered:
        cfg = cfg.replace("from: 192.168.1.0/24", "from: 192.168.1.0/28")
    if host == "static":
        outside, inside, mac = ("203.0.113.50", 7), ("192.168.1.50", 7), STATIC_MAC
        proto, quoted_l4 = UDP, UDPerror
    else:
        outside, inside, mac = ("203.0.113.1", 443), ("192.168.1.20", 8443), SERVER_MAC
        proto, quoted_l4 = TCP, TCPerror
    hairpin = out4("192.168.1.10", 4001, outside[0], outside[1], proto=proto)
    as_received = IP(src=POOL, dst=inside[0], ttl=63) / proto(sport=4001, dport=inside[1])
    error = Ether(dst=LAN_MAC, src=mac) / IP(src=inside[0], dst=POOL) / \
        ICMP(type=3, code=13) / as_received
    r = run_dpfwd(tmp_path, {"lan": [hairpin, error]}, cfg)
    errs = [p for p in r.out["lan"] if ICMP in p and p[Ether].dst == HOST_MAC]
    assert len(errs) == 1, r.nonzero_drops()
    (e,) = errs
    assert (e[IP].src, e[IP].dst) == (outside[0], "192.168.1.10")
    assert (e[IPerror].src, e[IPerror].dst) == ("192.168.1.10", outside[0])
    assert (e[quoted_l4].sport, e[quoted_l4].dport) == (4001, outside[1])
    assert_checksums(e)


def test_uncovered_server_fragments_to_a_static_address_keep_their_order(tmp_path):
    """The port forward's server, which no snat `from` covers, sends a fragmented
    datagram from another port than the forward's to the 1:1 host's outside address,
    then one more packet: its first fragment leaves untranslated and is recorded as
    such, so the later fragments follow at once, before the next packet (they do not
    wait for a record)."""
    cfg = nat_config().replace("from: 192.168.1.0/24", "from: 192.168.1.0/28")
    _, frags = fragmented(IP(src="192.168.1.20", dst="203.0.113.50", id=77) /
                          UDP(sport=6000, dport=7), LAN_MAC, SERVER_MAC)
    after = Ether(dst=LAN_MAC, src=SERVER_MAC) / IP(src="192.168.1.20", dst="203.0.113.50") / \
        UDP(sport=6000, dport=7) / Raw(b"next")
    r = run_dpfwd(tmp_path, {"lan": frags + [after]}, cfg)
    to_static = [p for p in r.out["lan"] if p[Ether].dst == STATIC_MAC]
    assert len(to_static) == 4, r.nonzero_drops()
    assert [p[IP].id for p in to_static[:3]] == [77] * 3 and Raw in to_static[3]
    assert to_static[3][Raw].load == b"next"
    assert {(p[IP].src, p[IP].dst) for p in to_static} == {("192.168.1.20", "192.168.1.50")}


@pytest.mark.parametrize("snat", ["lan to wan and dmz", "lan to wan", "none covers them"])
def test_forged_server_and_static_sources_from_a_dmz_are_no_hairpins(tmp_path, snat):
    """A DMZ host forging the port forward's server or the 1:1 host as its source, to a
    LAN client's mapping (made by hairpins to those hosts' outside addresses), is no
    hairpin: those hosts live on the LAN (reverse path), so it gets neither a mapping nor
    their outside endpoint, and the client's address-dependent filter refuses it,
    whichever snat rules cover them (SNAT: the DMZ another out of the LAN's, or not)."""
    dmz_mac = "02:00:00:00:04:01"
    cfg = third_port_config("dmz", dmz_mac, "172.16.0.1/24", stateless=True)
    if snat == "lan to wan and dmz":
        cfg = cfg.replace("ports: 1024-65535}\n", "ports: 1024-65535}\n"
                          "    - {from: 192.168.1.0/24, out: dmz, pool: [172.16.0.1]}\n")
    if snat == "none covers them":
        cfg = cfg.replace("from: 192.168.1.0/24", "from: 192.168.1.0/28")
    lan = [out4("192.168.1.10", 4000, "203.0.113.1", 443, proto=TCP, flags="S"),
           out4("192.168.1.10", 4001, "203.0.113.50", 7)]
    dmz = [Ether(dst=dmz_mac, src="02:00:00:00:04:02") / IP(src="192.168.1.20", dst=POOL) /
           TCP(sport=8443, dport=4000, flags="SA"),
           Ether(dst=dmz_mac, src="02:00:00:00:04:02") / IP(src="192.168.1.50", dst=POOL) /
           UDP(sport=7, dport=4001) / Raw(b"f")] * 20
    r = run_dpfwd(tmp_path, {"lan": lan, "dmz": dmz}, cfg, ports=("lan", "wan", "dmz"))
    assert [p for p in r.out["lan"] if p[Ether].dst == HOST_MAC] == []
    assert r.drops("nat_filtered") == 40
    assert r.stats["nat"]["mappings_created"] == 2  # the client's: none for forged sources


def test_hairpin_from_a_port_that_is_another_rules_outside(tmp_path):
    """A DMZ port is the outside of one snat rule (the LAN hidden from the DMZ) and the
    inside of another: a LAN client reaching a DMZ server through a port forward is
    still a hairpin (its own rule, LAN to WAN, does not have it arrive on its outside),
    and the server's reply comes back from the forward's address."""
    dmz_mac = "02:00:00:00:04:01"
    cfg = third_port_config("dmz", dmz_mac, "172.16.0.1/24").replace(
        "neighbours:\n", f'neighbours:\n  - {{ip: 172.16.0.5, mac: "{SERVER_MAC}", port: dmz}}\n'
    ).replace("  snat:\n", '  dnat:\n    - {proto: udp, match: "203.0.113.1:8080", '
              'to: "172.16.0.5:80"}\n  snat:\n').replace(
        "  nptv6:\n", "    - {from: 172.16.0.0/24, out: wan, pool: [203.0.113.11]}\n"
        "    - {from: 192.168.1.0/24, out: dmz, pool: [172.16.0.1]}\n  nptv6:\n")
    request = out4("192.168.1.10", 4000, "203.0.113.1", 8080)
    r = run_dpfwd(tmp_path, {"lan": [request]}, cfg, ports=("lan", "wan", "dmz"))
    (at_server,) = r.out["dmz"]
    assert (at_server[IP].dst, at_server[UDP].dport) == ("172.16.0.5", 80)
    assert (at_server[IP].src, at_server[UDP].sport) == (POOL, 4000)  # the client's mapping
    reply = Ether(dst=dmz_mac, src=SERVER_MAC) / IP(src="172.16.0.5", dst=POOL) / \
        UDP(sport=80, dport=4000) / Raw(b"r")
    r = run_dpfwd(tmp_path / "back", {"lan": [request], "dmz": [reply] * 40}, cfg,
                  ports=("lan", "wan", "dmz"))
    back = [p for p in r.out["lan"] if p[Ether].dst == HOST_MAC]
    assert back and {(p[IP].src, p[UDP].sport, p[IP].dst) for p in back} == \
        {("203.0.113.1", 8080, "192.168.1.10")}
    # Plain NAPT from the LAN into the DMZ: the DMZ host's replies to the LAN's DMZ pool
    # arrive on the DMZ, that rule's outside: inbound, not a hairpin of the DMZ host's.
    direct = out4("192.168.1.10", 4001, "172.16.0.5", 81)
    answer = Ether(dst=dmz_mac, src=SERVER_MAC) / IP(src="172.16.0.5", dst="172.16.0.1") / \
        UDP(sport=81, dport=4001) / Raw(b"a")
    r = run_dpfwd(tmp_path / "direct", {"lan": [direct], "dmz": [answer] * 40}, cfg,
                  ports=("lan", "wan", "dmz"))
    (out,) = r.out["dmz"]
    assert (out[IP].src, out[UDP].sport) == ("172.16.0.1", 4001)
    back = [p for p in r.out["lan"] if p[Ether].dst == HOST_MAC]
    assert len(back) == 40, r.nonzero_drops()
    assert {(p[IP].src, p[UDP].sport, p[IP].dst, p[UDP].dport) for p in back} == \
        {("172.16.0.5", 81, "192.168.1.10", 4001)}
    assert r.stats["nat"]["mappings_created"] == 1


def test_hairpin_to_a_routed_forward_address_with_forwards_to_two_sides(tmp_path):
    """Two forwards on one routed address (on no port's subnet), to a LAN server and to a
    DMZ server: each forward's own outside decides, so a LAN client reaching the LAN
    server through it is a hairpin (the server sees the client's pool endpoint)."""
    dmz_mac = "02:00:00:00:04:01"
    cfg = third_port_config("dmz", dmz_mac, "172.16.0.1/24").replace(
        "  snat:\n", '  dnat:\n    - {proto: udp, match: "198.18.0.1:80", to: "192.168.1.20:80"}\n'
        '    - {proto: udp, match: "198.18.0.1:81", to: "172.16.0.5:81"}\n  snat:\n')
    request = out4("192.168.1.10", 4000, "198.18.0.1", 80)
    r = run_dpfwd(tmp_path, {"lan": [request]}, cfg, ports=("lan", "wan", "dmz"))
    (at_server,) = r.out["lan"]
    assert (at_server[Ether].dst, at_server[IP].dst, at_server[UDP].dport) == \
        (SERVER_MAC, "192.168.1.20", 80)
    assert (at_server[IP].src, at_server[UDP].sport) == (POOL, 4000)


def test_from_everywhere_translates_once(tmp_path):
    """`from: 0.0.0.0/0` covers the outside addresses too: a source NAT already gave (a
    packet handed to another worker and processed there again) is not translated again,
    nor taken for a hairpin. Three workers; a later fragment from an inside host to a
    pool address whose first fragment never came, with two pool addresses paired with
    each other, once bounced between workers for good; now it waits and is dropped."""
    cfg = nat_config(stateless=False).replace(
        f"from: 192.168.1.0/24, out: wan, pool: [{POOL}]",
        "from: 0.0.0.0/0, out: wan, pool: [203.0.113.10-203.0.113.11]")
    stray = Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=POOL, id=1, frag=100,
                                                  proto=17) / Raw(b"z" * 16)
    lan = [stray] + [out4("192.168.1.10", 5000 + k, REMOTE, 53) for k in range(30)]
    r = run_dpfwd(tmp_path, {"lan": lan}, cfg, lcores="(0-3)@(0,1)", queues=3)
    assert r.drops("nat_handoff_full") == 0
    assert r.drops("nat_fragment_unmatched") == 1
    out = r.out["wan"]
    assert len(out) == 30 and {p[IP].src for p in out} <= {"203.0.113.10", "203.0.113.11"}
    assert r.stats["nat"]["mappings_created"] == 30


def test_one_mapping_per_uplink(tmp_path):
    """Two uplinks, each with an snat rule for the same inside prefix: an inside
    endpoint talking through both at once has a mapping on each (its own pool address,
    the port kept), new destinations behind either reuse it (REQ-1 holds behind each
    uplink: the flows out of one do not move the other's mapping), and the replies
    through each get in."""
    wan2_mac = "02:00:00:00:03:01"
    cfg = third_port_config("wan2", wan2_mac, "192.0.2.1/24").replace("routes:\n", "routes:\n"
                                   "  - {prefix: 198.51.100.8/31, via: 192.0.2.254}\n").replace(
        "neighbours:\n", f'neighbours:\n  - {{ip: 192.0.2.254, mac: "{GW_MAC}", port: wan2}}\n').replace(
        "  snat:\n", "  snat:\n    - {from: 192.168.1.0/24, out: wan2, pool: [192.0.2.10]}\n")
    # REMOTE and .6 go out of wan, REMOTE2 and .9 out of wan2, new ones in turn.
    lan = [out4("192.168.1.10", 5000, dst, 53)
           for dst in (REMOTE, REMOTE2, "198.51.100.6", "198.51.100.9")] * 2
    wan = [in4(REMOTE, 53, POOL, 5000)] * 40  # after the first burst: the mappings exist
    wan2 = [Ether(dst=wan2_mac, src=GW_MAC) / IP(src=REMOTE2, dst="192.0.2.10") /
            UDP(sport=53, dport=5000) / Raw(b"z")] * 40
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan, "wan2": wan2}, cfg,
                  ports=("lan", "wan", "wan2"))
    assert {(p[IP].src, p[UDP].sport) for p in r.out["wan"]} == {(POOL, 5000)}
    assert {(p[IP].src, p[UDP].sport) for p in r.out["wan2"]} == {("192.0.2.10", 5000)}
    assert len(r.out["wan"]) == len(r.out["wan2"]) == 4
    back = r.out["lan"]
    assert len(back) == 80 and {(p[IP].dst, p[UDP].dport) for p in back} == {("192.168.1.10", 5000)}
    assert r.stats["nat"]["mappings_created"] == 2 and r.nonzero_drops() == {}


def test_fragments_both_ways(tmp_path):
    """A fragmented datagram through NAPT: the first fragment by its ports, the later
    ones by (source, destination, protocol, IP ID) learned from it; both directions
    reassemble to the translated datagram with a right UDP checksum. A later fragment
    whose first one was never seen is dropped under its reason."""
    from scapy.all import defragment, fragment
    big_out = IP(src="192.168.1.10", dst=REMOTE, id=4242) / UDP(sport=5000, dport=53) / \
        Raw(b"o" * 2000)
    big_in = IP(src=REMOTE, dst=POOL, id=4343) / UDP(sport=53, dport=5000) / Raw(b"i" * 2000)
    stray = IP(src=REMOTE2, dst=POOL, id=7, frag=100, proto=17) / Raw(b"z" * 16)
    frags_out, frags_in = fragment(big_out, fragsize=1000), fragment(big_in, fragsize=1000)
    # What scapy reassembles from the fragments as sent (its payload view).
    want_out = defragment([IP(bytes(f)) for f in frags_out])[0][Raw].load
    want_in = defragment([IP(bytes(f)) for f in frags_in])[0][Raw].load
    lan = [Ether(dst=LAN_MAC, src=HOST_MAC) / f for f in frags_out]
    wan = [Ether(dst=WAN_MAC, src=GW_MAC) / f for f in frags_in] + \
          [Ether(dst=WAN_MAC, src=GW_MAC) / stray]
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan}, nat_config())
    assert r.drops("nat_fragment_unmatched") == 1
    out = defragment([p[IP] for p in r.out["wan"]])
    assert len(out) == 1
    (o,) = out
    assert (o[IP].src, o[UDP].sport, o[Raw].load) == (POOL, 5000, want_out)
    assert len(r.out["wan"]) == 3 and all(p[IP].src == POOL for p in r.out["wan"])
    ck = o[UDP].chksum
    del o[UDP].chksum
    assert IP(bytes(o))[UDP].chksum == ck
    back = defragment([p[IP] for p in r.out["lan"]])
    assert len(back) == 1
    (i,) = back
    assert (i[IP].dst, i[UDP].dport, i[Raw].load) == ("192.168.1.10", 5000, want_in)
    assert len(r.out["lan"]) == 3
    ck = i[UDP].chksum
    del i[UDP].chksum
    assert IP(bytes(i))[UDP].chksum == ck


UDP_FORWARD = '    - {proto: udp, match: "203.0.113.1:5353", to: "192.168.1.20:53"}\n'


def forward_config(**kw):
    """nat_config() with a UDP port forward too: 203.0.113.1:5353 (the router's WAN
    address) to the server 192.168.1.20:53."""
    return nat_config(**kw).replace("  static:\n", UDP_FORWARD + "  static:\n")


def fragmented(ip, mac_dst, mac_src, size=2000, fragsize=1000):
    """IP carrying SIZE bytes, cut into fragments: (what scapy reassembles from them as
    sent, the frames)."""
    from scapy.all import defragment, fragment
    frags = fragment(ip / Raw(bytes(range(256)) * (size // 256) + b"z" * (size % 256)),
                     fragsize=fragsize)
    return (defragment([IP(bytes(f)) for f in frags])[0][Raw].load,
            [Ether(dst=mac_dst, src=mac_src) / f for f in frags])


def reassembled(frames):
    """The datagrams FRAMES reassemble to, each checked for its UDP checksum."""
    from scapy.all import defragment
    got = defragment([p[IP] for p in frames])
    for d in got:
        ck = d[UDP].chksum
        del d[UDP].chksum
        assert IP(bytes(d))[UDP].chksum == ck, "UDP checksum of the reassembled datagram"
    return got


def test_fragments_through_port_forward_and_static(tmp_path):
    """Fragmented datagrams both ways through a port forward and a 1:1 rule: every
    fragment of each gets the address its first fragment got, so that the receiver
    reassembles it. A port forward's later fragments have no ports to match it by: they
    take the first fragment's record, coming in (to the router's own address) and going
    out (the server's reply); 1:1 takes them by address. A later fragment to the
    forward's address whose first fragment never came is nat_fragment_unmatched."""
    want_fin, wan_fw = fragmented(IP(src=REMOTE, dst="203.0.113.1", id=11) /
                                  UDP(sport=999, dport=5353), WAN_MAC, GW_MAC)
    want_sin, wan_st = fragmented(IP(src=REMOTE, dst="203.0.113.50", id=13) /
                                  UDP(sport=999, dport=7), WAN_MAC, GW_MAC)
    want_fout, lan_fw = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=12) /
                                   UDP(sport=53, dport=999), LAN_MAC, SERVER_MAC)
    want_sout, lan_st = fragmented(IP(src="192.168.1.50", dst=REMOTE, id=14) /
                                   UDP(sport=7, dport=999), LAN_MAC, STATIC_MAC)
    stray = Ether(dst=WAN_MAC, src=GW_MAC) / IP(src=REMOTE2, dst="203.0.113.1", id=7,
                                                  frag=100, proto=17) / Raw(b"z" * 16)
    r = run_dpfwd(tmp_path, {"lan": lan_fw + lan_st, "wan": wan_fw + wan_st + [stray]},
                  forward_config())
    assert len(r.out["lan"]) == 6 and len(r.out["wan"]) == 6
    inside = {(d[IP].dst, d[UDP].dport, d[Raw].load) for d in reassembled(r.out["lan"])}
    assert inside == {("192.168.1.20", 53, want_fin), ("192.168.1.50", 7, want_sin)}
    outside = {(d[IP].src, d[UDP].sport, d[Raw].load) for d in reassembled(r.out["wan"])}
    assert outside == {("203.0.113.1", 5353, want_fout), ("203.0.113.50", 7, want_sout)}
    assert r.drops("nat_fragment_unmatched") == 1


def test_forwarded_server_fragments_of_its_own_flows_take_the_pool(tmp_path):
    """A port forward's server is an inside host too: a datagram it sends from another
    port than the forward's goes through NAPT, all its fragments from the pool address."""
    want, lan = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=21) /
                           UDP(sport=6000, dport=999), LAN_MAC, SERVER_MAC)
    r = run_dpfwd(tmp_path, {"lan": lan}, forward_config())
    assert len(r.out["wan"]) == 3 and all(p[IP].src == POOL for p in r.out["wan"])
    (d,) = reassembled(r.out["wan"])
    assert (d[UDP].sport, d[Raw].load) == (6000, want)


@pytest.mark.parametrize("last_first", [False, True])
def test_forwarded_server_fragmented_reply_to_a_hairpin(tmp_path, last_first):
    """An inside client reaches the forwarded server through the forward's address (a
    hairpin: the server sees the client's pool endpoint); the server's fragmented replies
    reach the client whole, every fragment from the forward's address (the later ones by
    their first fragment's records: the source's, then the destination's), also when
    the server sent them LAST_FIRST. One worker: the request must make its mapping before
    the replies come (the records' hand-overs between workers are the other tests')."""
    lan = [out4("192.168.1.10", 4000, "203.0.113.1", 5353)]
    loads = {}
    for k in range(3):
        load, frames = fragmented(IP(src="192.168.1.20", dst=POOL, id=400 + k) /
                                  UDP(sport=53, dport=4000), LAN_MAC, SERVER_MAC, 1500, 600)
        lan += frames[::-1] if last_first else frames
        loads[400 + k] = load
    r = run_dpfwd(tmp_path, {"lan": lan}, forward_config(filtering="endpoint-independent"))
    to_client = [p for p in r.out["lan"] if p[Ether].dst == HOST_MAC]
    assert len(to_client) == 3 * len(loads), r.nonzero_drops()
    assert all(p[IP].src == "203.0.113.1" for p in to_client)
    got = {d[IP].id: (d[IP].dst, d[UDP].sport, d[UDP].dport, d[Raw].load)
           for d in reassembled(to_client)}
    assert got == {i: ("192.168.1.10", 5353, 4000, load) for i, load in loads.items()}


def test_forwarded_server_own_fragments_several_workers(tmp_path):
    """Three workers: a port forward's server sending fragmented datagrams of its own
    (through NAPT, not from the forward's port), whose mappings are owned by another
    worker than the one that keeps their fragment records: every fragment leaves (the
    first ones once bounced between those two workers forever), reassembling to the
    datagram from the pool address."""
    n = 3
    pairs = [(sport, 300 + k) for k, sport in enumerate(range(6000, 6040))
             if owner_of_inside(17, "192.168.1.20", sport, n) !=
             frag_owner("192.168.1.20", REMOTE, 300 + k, n)][:6]
    want, queues = {}, [[] for _ in range(n)]
    for k, (sport, ip_id) in enumerate(pairs):
        load, frames = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=ip_id) /
                                  UDP(sport=sport, dport=999), LAN_MAC, SERVER_MAC, 1500, 600)
        queues[k % n] += frames
        want[ip_id] = load
    lan = [p for row in zip(*queues) for p in row]
    r = run_dpfwd(tmp_path, {"lan": lan}, forward_config(), lcores="(0-3)@(0,1)", queues=n)
    assert len(r.out["wan"]) == 3 * len(pairs), r.nonzero_drops()
    assert all(p[IP].src == POOL for p in r.out["wan"])
    got = {d[IP].id: d[Raw].load for d in reassembled(r.out["wan"])}
    assert got == want


def test_port_forward_fragments_several_workers(tmp_path):
    """With three workers, a port forward's fragments go to the worker that keeps their
    datagram's record (by hand-over where it is another one than the one that received
    them), both ways: every datagram reassembles, translated."""
    n, datagrams = 3, 9
    queues = {"lan": [[] for _ in range(n)], "wan": [[] for _ in range(n)]}
    want_in, want_out = set(), set()
    for k in range(datagrams):
        load, frames = fragmented(IP(src=REMOTE, dst="203.0.113.1", id=100 + k) /
                                  UDP(sport=1000 + k, dport=5353), WAN_MAC, GW_MAC, 1500, 600)
        queues["wan"][k % n] += frames
        want_in.add(("192.168.1.20", 53, 1000 + k, load))
        load, frames = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=200 + k) /
                                  UDP(sport=53, dport=1000 + k), LAN_MAC, SERVER_MAC, 1500, 600)
        queues["lan"][k % n] += frames
        want_out.add(("203.0.113.1", 5353, 1000 + k, load))
    # pcap_vdevs deals a port's packets out to its queues in turn: each datagram's
    # fragments reach one queue, as RSS would have them (by addresses only).
    inputs = {port: [p for row in zip(*qs) for p in row] for port, qs in queues.items()}
    assert len({frag_owner(REMOTE, "203.0.113.1", 100 + k, n) for k in range(datagrams)}) == n
    r = run_dpfwd(tmp_path, inputs, forward_config(), lcores="(0-3)@(0,1)", queues=n)
    assert "forwarding with 3 worker(s)" in r.stdout + r.stderr
    assert len(r.out["lan"]) == len(r.out["wan"]) == 3 * datagrams, r.nonzero_drops()
    got_in = {(d[IP].dst, d[UDP].dport, d[UDP].sport, d[Raw].load)
              for d in reassembled(r.out["lan"])}
    got_out = {(d[IP].src, d[UDP].sport, d[UDP].dport, d[Raw].load)
               for d in reassembled(r.out["wan"])}
    assert (got_in, got_out) == (want_in, want_out)


@pytest.mark.parametrize("stateless", [False, True])
def test_flow_order_kept(tmp_path, stateless):
    """A flow's packets leave in the order they came, those of the fast path (an
    established session that knows its route) and those of the full path (fragments)
    alike. The first burst (32 packets, the default) makes the session and teaches it its
    next hop; in the second, a fragmented datagram comes before a small one of the same
    flow, which the fast path would send first if noting did not stop at the fragments.
    With and without stateless rules (which the full path tries first)."""
    from scapy.all import fragment
    lan = [out4("192.168.1.10", 5000, REMOTE, 53) for _ in range(32)]
    big = IP(src="192.168.1.10", dst=REMOTE, id=4242) / UDP(sport=5000, dport=53) / \
        Raw(b"o" * 2000)
    lan += [Ether(dst=LAN_MAC, src=HOST_MAC) / f for f in fragment(big, fragsize=1000)]
    lan.append(Ether(dst=LAN_MAC, src=HOST_MAC) /
               IP(src="192.168.1.10", dst=REMOTE, id=4343) / UDP(sport=5000, dport=53) /
               Raw(b"last"))
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config(stateless=stateless))
    wan = r.out["wan"]
    assert len(wan) == 36 and all(p[IP].src == POOL for p in wan)
    assert [(p[IP].id, p[IP].frag) for p in wan[32:]] == [(4242, 0), (4242, 125),
                                                         (4242, 250), (4343, 0)]
    last = wan[35]
    assert (last[UDP].sport, bytes(last[UDP].payload)) == (5000, b"last")
    assert_checksums(last)


def test_fast_and_full_path_in_one_burst(tmp_path):
    """A burst whose first packets take the fast path (an established session that knows
    its next hop) and whose last one does not (no session: routed as usual, here back
    to an inside host on the same port, untranslated): each goes where its own
    destination says."""
    lan = [out4("192.168.1.10", 5000, REMOTE, 53) for _ in range(36)]
    lan.append(out4("192.168.1.10", 6000, "192.168.1.11", 53))
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config(stateless=False))
    wan, back = r.out["wan"], r.out["lan"]
    assert len(wan) == 36 and all((p[IP].src, p[UDP].sport) == (POOL, 5000) for p in wan)
    for p in wan[32:]:
        assert_checksums(p)
    # The first burst (32) made the session and taught it its next hop; the second
    # burst's four packets of it took the fast path.
    assert r.stats["nat"]["fast_path"] == 4
    assert len(back) == 1
    assert (back[0][Ether].dst, back[0][IP].src, back[0][IP].dst, back[0][UDP].sport) == \
        (HOST11_MAC, "192.168.1.10", "192.168.1.11", 6000)


def tx_packets(run):
    return run.telemetry("/dpfwd/stats")["tx_packets"]


def wait_tx(run, at_least):
    """Wait until every port has sent AT_LEAST packets."""
    for _ in range(2000):
        if min(tx_packets(run)) >= at_least:
            return
    raise AssertionError(f"dpfwd sends too little: {tx_packets(run)}")


def test_route_cache_follows_reload(tmp_path):
    """NAPT's fast path sends an established session's packets to the next hop they
    took before, but only while the route table they took it in is in use: once a reload
    blackholes both ends of a flow whose packets went out and came back translated (the
    inside host is a connected neighbour, the remote behind a gateway), none of them is
    sent any more, either way."""
    cfg = nat_config(stateless=False)
    run = start_dpfwd(tmp_path, {"lan": [out4("192.168.1.10", 5000, REMOTE, 53)] * 8,
                                 "wan": [in4(REMOTE, 53, POOL, 5000)] * 8},
                      config_text=cfg, infinite=True, capture_tx=False)
    try:
        wait_tx(run, 1000)
        # Both ways, all but the first bursts (which made the session and taught it
        # its next hops) took the fast path.
        sent = sum(tx_packets(run))
        assert run.telemetry("/dpfwd/nat")["fast_path"] >= sent - 4 * 32
        run.cfg.write_text(cfg.replace("routes:\n", "routes:\n"
                                       f"  - {{prefix: {REMOTE}/32, action: blackhole}}\n"
                                       "  - {prefix: 192.168.1.10/32, action: blackhole}\n"))
        assert run.telemetry("/dpfwd/reload")["ok"]
        before = tx_packets(run)
        drops = run.telemetry("/dpfwd/drops")["blackhole"]
        for _ in range(2000):
            if run.telemetry("/dpfwd/drops")["blackhole"] >= drops + 10000:
                break
        assert tx_packets(run) == before
    finally:
        result = run.stop()
    assert result.drops("blackhole") >= 10000


def test_fragments_several_workers(tmp_path):
    """With three workers the first fragment's mapping owner tells the worker that
    keeps the datagram's records (by hand-over), and later fragments go there."""
    from scapy.all import fragment
    n = 3
    ports = [p for p in range(30000, 30300) if p % n == owner_of_inside(17, "192.168.1.10", p, n)]
    ports = ports[:6]
    lan = [out4("192.168.1.10", p, REMOTE, 53) for p in ports]
    wan = []
    for k, p in enumerate(ports):
        big = IP(src=REMOTE, dst=POOL, id=1000 + k) / UDP(sport=53, dport=p) / Raw(b"f" * 1500)
        wan += [Ether(dst=WAN_MAC, src=GW_MAC) / f for f in fragment(big, fragsize=800)]
    run = start_dpfwd(tmp_path, {"lan": lan, "wan": wan}, nat_config(), lcores="(0-3)@(0,1)",
                      queues=n, infinite=True, capture_tx=False)
    out = tmp_path / "lan.pcapng"
    assert "forwarding with 3 worker(s)" in run.log()
    try:
        wait_until(lambda: run.telemetry("/dpfwd/nat")["mappings"] == len(ports))
        assert run.telemetry(f"/dpfwd/capture_start,lan,2000,{out}") == {"ok": 1}
        for _ in range(500):
            if not run.telemetry("/dpfwd/capture")["running"]:
                break
            time.sleep(0.01)
    finally:
        result = run.stop()
    from scapy.all import rdpcap
    sent = [p for p in rdpcap(str(out)) if p[Ether].src == LAN_MAC]
    later = [p for p in sent if p[IP].frag > 0]
    # Later fragments get in, also those of datagrams whose record is kept by another
    # worker than the one owning the mapping (F != O: the record went over by hand-over).
    ids = {p[IP].id for p in later}
    handed = {1000 + k for k, p in enumerate(ports)
              if frag_owner(REMOTE, POOL, 1000 + k, n) != p % n}
    assert handed and ids & handed, (ids, handed)
    assert all(p[IP].dst == "192.168.1.10" for p in sent)
    assert set(result.nonzero_drops()) <= {"nat_no_rule", "nat_handoff_full",
                                           "nat_fragment_unmatched"}


def test_held_packet_is_translated(tmp_path):
    """A packet that waits for its gateway's MAC leaves from the slow path: it must be
    translated like any other (found by the real-host suite)."""
    from scapy.all import ARP
    config = nat_config().replace(f'  - {{ip: 203.0.113.254, mac: "{GW_MAC}", port: wan}}\n', "")
    arp_reply = Ether(dst=WAN_MAC, src=GW_MAC) / ARP(op=2, hwsrc=GW_MAC, psrc="203.0.113.254",
                                                     hwdst=WAN_MAC, pdst="203.0.113.1")
    r = run_dpfwd(tmp_path, {"lan": [out4("192.168.1.10", 5000, REMOTE, 53)],
                             "wan": [arp_reply]}, config)
    sent = [p for p in r.out["wan"] if UDP in p]
    assert len(sent) == 1 and r.stats["slow_path"]["released"] == 1
    assert (sent[0][IP].src, sent[0][UDP].sport, sent[0][Ether].dst) == (POOL, 5000, GW_MAC)
    assert_checksums(sent[0])


def test_session_list(tmp_path):
    """/dpfwd/nat_sessions pages through every session; dpfwdctl nat-sessions joins the
    pages into one table."""
    import subprocess
    from dpfwd_run import DPFWDCTL
    lan = [out4("192.168.1.10", 6000 + i, REMOTE, 53) for i in range(60)] + \
          [out4("192.168.1.10", 40000, REMOTE2, 80, proto=TCP, flags="S")]
    run = start_dpfwd(tmp_path, {"lan": lan}, nat_config())
    try:
        for _ in range(500):
            if run.telemetry("/dpfwd/nat")["sessions"] == 61:
                break
            time.sleep(0.01)
        page = run.telemetry("/dpfwd/nat_sessions")
        assert page["total"] == 61 and page["next"] == 50 and len(page["inside"]) == 50
        rest = run.telemetry("/dpfwd/nat_sessions,50")
        assert len(rest["inside"]) == 11 and "next" not in rest
        rows = list(zip(page["proto"] + rest["proto"], page["inside"] + rest["inside"],
                        page["outside"] + rest["outside"], page["remote"] + rest["remote"],
                        page["state"] + rest["state"]))
        assert ("tcp", "192.168.1.10:40000", f"{POOL}:40000", f"{REMOTE2}:80",
                "tcp_opening") in rows
        assert ("udp", "192.168.1.10:6001", f"{POOL}:6001", f"{REMOTE}:53", "udp") in rows
        ctl = subprocess.run([str(DPFWDCTL), "-p", run.prefix, "--json", "nat-sessions"],
                             capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 0, ctl.stderr
        assert len(json.loads(ctl.stdout)["inside"]) == 61
    finally:
        run.stop()


def test_inside_host_talks_to_the_router_untranslated(tmp_path):
    """A packet for the router's own address is the router's, not a hairpin: a ping is
    answered to the host itself, UDP gets its port unreachable there, and no mapping is
    made."""
    lan = [Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst="192.168.1.1") /
           ICMP(id=7, seq=1),
           out4("192.168.1.10", 5000, "192.168.1.1", 53)]
    r = run_dpfwd(tmp_path, {"lan": lan}, nat_config())
    rep, unreach = r.out["lan"]
    assert (rep[IP].src, rep[IP].dst, rep[ICMP].type, rep[ICMP].id) == \
        ("192.168.1.1", "192.168.1.10", 0, 7)
    assert (unreach[IP].dst, unreach[ICMP].type, unreach[ICMP].code) == ("192.168.1.10", 3, 3)
    assert r.out["wan"] == []
    assert r.nonzero_drops() == {"local_destination": 1}
    assert r.stats["nat"]["sessions_created"] == 0


def test_pool_on_the_router_address(tmp_path):
    """The usual home router: the pool is the WAN address. Pings to it from inside are
    the router's; TCP and UDP to its mapped ports still hairpin (RFC 4787 REQ-9)."""
    wan_ip = "203.0.113.1"
    cfg = nat_config(filtering="endpoint-independent", stateless=False).replace(
        f"pool: [{POOL}]", f"pool: [{wan_ip}]")
    lan = [out4("192.168.1.10", 5000, REMOTE, 53),
           Ether(dst=LAN_MAC, src=HOST11_MAC) / IP(src="192.168.1.11", dst=wan_ip) / ICMP(id=3),
           out4("192.168.1.11", 6000, wan_ip, 5000, mac=HOST11_MAC)]
    r = run_dpfwd(tmp_path, {"lan": lan}, cfg)
    (o,) = r.out["wan"]
    assert (o[IP].src, o[UDP].sport) == (wan_ip, 5000)
    ping = [p for p in r.out["lan"] if ICMP in p]
    hair = [p for p in r.out["lan"] if UDP in p]
    assert [(p[IP].src, p[IP].dst, p[ICMP].type) for p in ping] == [(wan_ip, "192.168.1.11", 0)]
    assert [(p[IP].src, p[UDP].sport, p[IP].dst, p[UDP].dport) for p in hair] == \
        [(wan_ip, 6000, "192.168.1.10", 5000)]
    assert_checksums(hair[0])


def test_hairpinned_icmp_error_to_a_forward_on_the_router_address(tmp_path):
    """The port forward's server starts a hairpin from its forwarded port to the 1:1
    host (its source becomes the forward's endpoint, the router's WAN address); the 1:1
    host's port unreachable about it, sent to that address, reaches the server
    translated both ways: from the 1:1 outside address, quoting the datagram as the
    server sent it."""
    from scapy.layers.inet import IPerror, UDPerror
    as_received = IP(src="203.0.113.1", dst="192.168.1.50", ttl=63) / \
        UDP(sport=5353, dport=7) / Raw(b"x" * 8)
    lan = [Ether(dst=LAN_MAC, src=SERVER_MAC) / IP(src="192.168.1.20", dst="203.0.113.50") /
           UDP(sport=53, dport=7) / Raw(b"x" * 8),
           Ether(dst=LAN_MAC, src=STATIC_MAC) / IP(src="192.168.1.50", dst="203.0.113.1") /
           ICMP(type=3, code=3) / as_received]
    r = run_dpfwd(tmp_path, {"lan": lan}, forward_config())
    (to_static,) = [p for p in r.out["lan"] if p[Ether].dst == STATIC_MAC]
    assert (to_static[IP].src, to_static[UDP].sport) == ("203.0.113.1", 5353)
    errs = [p for p in r.out["lan"] if ICMP in p and p[Ether].dst == SERVER_MAC]
    assert len(errs) == 1, r.nonzero_drops()
    (e,) = errs
    assert (e[IP].src, e[IP].dst) == ("203.0.113.50", "192.168.1.20")
    assert (e[IPerror].src, e[IPerror].dst) == ("192.168.1.20", "203.0.113.50")
    assert (e[UDPerror].sport, e[UDPerror].dport) == (53, 7)
    assert_checksums(e)


def test_hairpinned_icmp_error_to_the_router_address_pool(tmp_path):
    """With the pool on the router's WAN address, an inside host's ICMP error about a
    hairpinned datagram is NAPT's, not the router's: it reaches the other host, both
    ways translated (from the pool address, quoting the datagram as that host sent it)."""
    from scapy.layers.inet import IPerror, UDPerror
    wan_ip = "203.0.113.1"
    cfg = nat_config(filtering="endpoint-independent", stateless=False).replace(
        f"pool: [{POOL}]", f"pool: [{wan_ip}]")
    as_received = IP(src=wan_ip, dst="192.168.1.10", ttl=63) / UDP(sport=6000, dport=5000) / \
        Raw(b"x" * 8)
    lan = [out4("192.168.1.10", 5000, REMOTE, 53),
           out4("192.168.1.11", 6000, wan_ip, 5000, mac=HOST11_MAC),
           Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=wan_ip) /
           ICMP(type=3, code=3) / as_received]
    r = run_dpfwd(tmp_path, {"lan": lan}, cfg)
    errs = [p for p in r.out["lan"] if ICMP in p and p[Ether].dst == HOST11_MAC]
    assert len(errs) == 1, r.nonzero_drops()
    (e,) = errs
    assert (e[IP].src, e[IP].dst) == (wan_ip, "192.168.1.11")
    assert (e[IPerror].src, e[IPerror].dst) == ("192.168.1.11", wan_ip)
    assert (e[UDPerror].sport, e[UDPerror].dport) == (6000, 5000)
    assert_checksums(e)


def mtu_config(port, mtu):
    """nat_config() with PORT's MTU lowered."""
    mac = LAN_MAC if port == "lan" else WAN_MAC
    return nat_config().replace(f'    mac: "{mac}"\n', f'    mac: "{mac}"\n    mtu: {mtu}\n')


def big(pkt):
    """PKT (an out4/in4 packet) grown to 1400 bytes of IP with DF set."""
    p = pkt.copy()
    p[IP].flags = "DF"
    p[Raw].load = b"b" * (1400 - 20 - 8)
    return p


def assert_frag_needed(err, to, quoted_src, quoted_sport, quoted_dst, quoted_dport, mtu):
    """An ICMP "fragmentation needed" to TO whose quote is the packet as its sender
    sent it (RFC 1191, RFC 5508 4.2), so that the sender recognises its flow."""
    from scapy.layers.inet import IPerror, UDPerror
    assert (err[IP].dst, err[ICMP].type, err[ICMP].code, err[ICMP].nexthopmtu) == (to, 3, 4, mtu)
    assert (err[IPerror].src, err[UDPerror].sport) == (quoted_src, quoted_sport)
    assert (err[IPerror].dst, err[UDPerror].dport) == (quoted_dst, quoted_dport)


def test_path_mtu_discovery_through_napt_out(tmp_path):
    """Going out: a packet too big for the WAN with DF set is answered to the inside host
    with the packet it sent, not the translated one. Both paths: the first big packet
    takes the full path (a new session), the second the fast path (40 small packets
    before it teach the session its route)."""
    first = big(out4("192.168.1.10", 5000, REMOTE, 53))
    lan = [first] + [out4("192.168.1.10", 5001, REMOTE, 53)] * 40 + \
        [big(out4("192.168.1.10", 5001, REMOTE, 53))]
    r = run_dpfwd(tmp_path, {"lan": lan}, mtu_config("wan", 1280))
    errs = [p for p in r.out["lan"] if ICMP in p]
    assert len(errs) == 2
    assert_frag_needed(errs[0], "192.168.1.10", "192.168.1.10", 5000, REMOTE, 53, 1280)
    assert_frag_needed(errs[1], "192.168.1.10", "192.168.1.10", 5001, REMOTE, 53, 1280)
    assert errs[1][ICMP].chksum is not None and r.stats["nat"]["fast_path"] > 0
    assert len(r.out["wan"]) == 40 and r.drops("mtu_exceeded") == 2
    for e in errs:
        assert_checksums(e)


def test_path_mtu_discovery_through_napt_in(tmp_path):
    """Coming in: the remote sender is answered with its packet to the pool address.
    The full path (the first reply) and the fast path (after 40 small ones)."""
    lan = [out4("192.168.1.10", 5000, REMOTE, 53), out4("192.168.1.10", 5001, REMOTE, 53)]
    wan = [big(in4(REMOTE, 53, POOL, 5000))] + [in4(REMOTE, 53, POOL, 5001)] * 40 + \
        [big(in4(REMOTE, 53, POOL, 5001))]
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan}, mtu_config("lan", 1280))
    errs = [p for p in r.out["wan"] if ICMP in p]
    assert len(errs) == 2
    assert_frag_needed(errs[0], REMOTE, REMOTE, 53, POOL, 5000, 1280)
    assert_frag_needed(errs[1], REMOTE, REMOTE, 53, POOL, 5001, 1280)
    assert r.stats["nat"]["fast_path"] > 0
    assert len([p for p in r.out["lan"] if UDP in p]) == 40
    for e in errs:
        assert_checksums(e)


@pytest.mark.parametrize("server_known", [True, False])
def test_path_mtu_discovery_through_port_forward(tmp_path, server_known):
    """A port forward's stateless translation is undone for the error too, also when
    the server's MAC is not known yet (the packet would wait for it)."""
    syn = big(in4(REMOTE, 50000, "203.0.113.1", 443, proto=TCP, flags="S"))
    cfg = mtu_config("lan", 1280)
    if not server_known:
        cfg = cfg.replace(f'  - {{ip: 192.168.1.20, mac: "{SERVER_MAC}", port: lan}}\n', "")
    r = run_dpfwd(tmp_path, {"wan": [syn]}, cfg)
    from scapy.layers.inet import IPerror, TCPerror
    (err,) = r.out["wan"]
    assert (err[IP].dst, err[ICMP].type, err[ICMP].code) == (REMOTE, 3, 4)
    assert (err[IPerror].dst, err[TCPerror].dport) == ("203.0.113.1", 443)


def test_path_mtu_discovery_through_nptv6(tmp_path):
    """NPTv6 both ways: packet too big quotes the packet with its prefix as sent."""
    from scapy.all import ICMPv6PacketTooBig, IPerror6

    def v6(src, dst, size, mac):
        return Ether(dst=mac, src=HOST_MAC if mac == LAN_MAC else GW_MAC) / \
            IPv6(src=src, dst=dst) / UDP(sport=1, dport=2) / Raw(b"6" * size)
    small = v6("fd00:1::10", "2001:db8:99::1", 8, LAN_MAC)
    outside = run_dpfwd(tmp_path / "small", {"lan": [small]}, nat_config()).out["wan"][0][IPv6].src
    out6 = v6("fd00:1::10", "2001:db8:99::1", 1352, LAN_MAC)
    r = run_dpfwd(tmp_path / "out", {"lan": [out6]}, mtu_config("wan", 1280))
    (e,) = r.out["lan"]
    assert e[IPv6].dst == "fd00:1::10" and e[ICMPv6PacketTooBig].mtu == 1280
    assert e[IPerror6].src == "fd00:1::10"
    in6 = v6("2001:db8:99::1", outside, 1352, WAN_MAC)
    r = run_dpfwd(tmp_path / "in", {"wan": [in6]}, mtu_config("lan", 1280))
    (e,) = r.out["wan"]
    assert e[IPv6].dst == "2001:db8:99::1" and e[ICMPv6PacketTooBig].mtu == 1280
    assert e[IPerror6].dst == outside


def test_nptv6_hairpin(tmp_path):
    """Two inside hosts reach each other by their outside addresses: the destination is
    mapped inside and the source outside, so each sees the other's outside address (as
    from outside), checksums still right; an ICMPv6 error about a hairpinned packet has
    its quote mapped back to what its sender sent."""
    from scapy.all import ICMPv6DestUnreach, IPerror6, UDPerror
    cfg = nat_config().replace("neighbours:\n", "neighbours:\n"
                               f'  - {{ip: "fd00:1::11", mac: "{HOST11_MAC}", port: lan}}\n')

    def v6(src, dst, mac, payload=None):
        return Ether(dst=LAN_MAC, src=mac) / IPv6(src=src, dst=dst) / \
            (payload or UDP(sport=4000, dport=5000) / Raw(b"hp"))
    first = run_dpfwd(tmp_path / "first", {"lan": [v6("fd00:1::10", "2001:db8:99::1", HOST_MAC),
                                                   v6("fd00:1::11", "2001:db8:99::1", HOST11_MAC)]},
                      cfg).out["wan"]
    a_out, b_out = (p[IPv6].src for p in first)
    seen_by_b = IPv6(src=a_out, dst="fd00:1::11") / UDP(sport=4000, dport=5000) / Raw(b"hp")
    lan = [v6("fd00:1::10", b_out, HOST_MAC), v6("fd00:1::11", a_out, HOST11_MAC),
           v6("fd00:1::11", a_out, HOST11_MAC, ICMPv6DestUnreach(code=4) / seen_by_b)]
    r = run_dpfwd(tmp_path / "hairpin", {"lan": lan}, cfg)
    to_b, to_a, err = r.out["lan"]
    assert (to_b[Ether].dst, to_b[IPv6].src, to_b[IPv6].dst) == (HOST11_MAC, a_out, "fd00:1::11")
    assert (to_a[Ether].dst, to_a[IPv6].src, to_a[IPv6].dst) == (HOST_MAC, b_out, "fd00:1::10")
    assert (err[IPv6].src, err[IPv6].dst) == (b_out, "fd00:1::10")
    assert (err[IPerror6].src, err[IPerror6].dst) == ("fd00:1::10", b_out)
    for p, layer, field in ((to_b, UDP, "chksum"), (to_a, UDP, "chksum"),
                            (err, ICMPv6DestUnreach, "cksum")):
        fresh = Ether(bytes(p))
        got = getattr(fresh[layer], field)
        delattr(fresh[layer], field)
        assert getattr(Ether(bytes(fresh))[layer], field) == got, "checksum as recomputed"
    assert err[UDPerror].sport == 4000
    assert r.nonzero_drops() == {}


def test_nptv6_hairpin_only_from_where_the_inside_lives(tmp_path):
    """Hairpins are taken from a port where the source's rule's inside lives: a subnet
    there (fd00:1::/64) or a route to a part of it (fd00:2::/48 via a LAN router), even
    when that port is the outside of another NPTv6 rule (fd00:3::/48's). A source of an
    inside from anywhere else is forged: from the WAN (the first two rules' outside) to
    the third rule's outside prefix, or from a DMZ that has no NPTv6 rule, to an inside
    host's outside address, none is a hairpin."""
    router_mac, dmz_mac = "02:00:00:00:00:fd", "02:00:00:00:04:01"
    cfg = nat_config().replace("neighbours:\n", "neighbours:\n"
                               f'  - {{ip: "fd00:1::11", mac: "{HOST11_MAC}", port: lan}}\n'
                               f'  - {{ip: "fd00:1::fe", mac: "{router_mac}", port: lan}}\n'
                               ).replace("routes:\n", 'routes:\n  - {prefix: "fd00:2::/48", '
                                         'via: "fd00:1::fe"}\n'
                               ).replace("  filtering:", '    - {inside: "fd00:2::/48", '
                                         'outside: "2001:db8:200::/48", port: wan}\n'
                                         '    - {inside: "fd00:3::/48", '
                                         'outside: "2001:db8:300::/48", port: lan}\n  filtering:'
                               ).replace("""  - name: wan
    device: net_pcap1""", f"""  - name: dmz
    device: net_pcap2
    mac: "{dmz_mac}"
    ipv6: ["fd00:9::1/64"]
  - name: wan
    device: net_pcap1""")
    ports = ("lan", "wan", "dmz")

    def v6(src, dst, mac=HOST_MAC, to=LAN_MAC):
        return Ether(dst=to, src=mac) / IPv6(src=src, dst=dst) / UDP(sport=4000, dport=5000) / \
            Raw(b"hp")
    (b_out,) = (p[IPv6].src for p in run_dpfwd(
        tmp_path / "first", {"lan": [v6("fd00:1::11", "2001:db8:99::1", HOST11_MAC)]},
        cfg, ports=ports).out["wan"])
    lan = [v6("fd00:1::10", b_out), v6("fd00:2::5", b_out, router_mac)]
    wan = [v6(src, "2001:db8:300::5", GW_MAC, WAN_MAC) for src in ("fd00:1::10", "fd00:2::5")]
    dmz = [v6("fd00:1::10", b_out, "02:00:00:00:04:02", dmz_mac)]
    r = run_dpfwd(tmp_path / "hairpin", {"lan": lan, "wan": wan, "dmz": dmz}, cfg, ports=ports)
    to_b = r.out["lan"]
    assert len(to_b) == 2, r.nonzero_drops()
    assert {(p[Ether].dst, p[IPv6].dst) for p in to_b} == {(HOST11_MAC, "fd00:1::11")}
    assert [p[IPv6].src.split(":")[:3] for p in to_b] == \
        [["2001", "db8", "100"], ["2001", "db8", "200"]]
    assert r.out["wan"] == [] and r.out["dmz"] == [] and r.drops("nat_no_rule") == 3


def test_nptv6_unmappable_subnet_gets_parameter_problem(tmp_path):
    """RFC 6296 3.5: a /48 subnet word of 0xFFFF cannot be mapped, either way: the packet
    is dropped as nat_untranslatable and its sender gets a parameter problem (RFC 4443
    3.4, erroneous header field) pointing at that word of the address at fault."""
    from scapy.all import ICMPv6ParamProblem, IPerror6
    out6 = Ether(dst=LAN_MAC, src=HOST_MAC) / IPv6(src="fd00:1:0:ffff::10",
                                                  dst="2001:db8:99::1") / UDP() / Raw(b"o")
    in6 = Ether(dst=WAN_MAC, src=GW_MAC) / IPv6(src="2001:db8:99::1",
                                               dst="2001:db8:100:ffff::10") / UDP() / Raw(b"i")
    r = run_dpfwd(tmp_path, {"lan": [out6], "wan": [in6]}, nat_config())
    assert r.drops("nat_untranslatable") == 2
    (to_inside,) = r.out["lan"]
    (to_outside,) = r.out["wan"]
    for e, sender, ptr in ((to_inside, "fd00:1:0:ffff::10", 8 + 6),
                           (to_outside, "2001:db8:99::1", 24 + 6)):
        assert e[IPv6].dst == sender and e[IPerror6].src == sender
        assert (e[ICMPv6ParamProblem].code, e[ICMPv6ParamProblem].ptr) == (0, ptr)
    assert to_inside[IPv6].src == "fd00:1::1" and to_inside[Ether].dst == HOST_MAC


def test_later_fragment_waits_for_its_first(tmp_path):
    """Two workers; all fragments of a datagram come in on one queue (as RSS puts them),
    of worker 0, which also keeps their records, while the mapping is worker 1's: the
    first fragment goes through worker 1 and back before its record exists, after the
    later fragment was looked at. The later one waits for it instead of being dropped."""
    from scapy.all import fragment
    n = 2
    ports = [p for p in range(31001, 31400, 2) if owner_of_inside(17, "192.168.1.10", p, n) == 1]
    ids = [i for i in range(2000, 2100) if frag_owner(REMOTE, POOL, i, n) == 0]
    ports, ids = ports[:4], ids[:4]
    lan = [out4("192.168.1.10", p, REMOTE, 53) for p in ports]
    filler = in4(REMOTE, 1, "198.51.100.99", 2)  # routed back out of wan
    wan = [filler] * 200  # time for the mappings to be made
    for p, i in zip(ports, ids):
        big = IP(src=REMOTE, dst=POOL, id=i) / UDP(sport=53, dport=p) / Raw(b"f" * 1200)
        for f in fragment(big, fragsize=800):  # even places: queue 0
            wan += [Ether(dst=WAN_MAC, src=GW_MAC) / f, filler]
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan}, nat_config(), lcores="(0-2)@(0,1)",
                  queues=n)
    got = [(p[IP].id, p[IP].frag > 0) for p in r.out["lan"] if p[IP].dst == "192.168.1.10"]
    assert sorted(got) == sorted((i, later) for i in ids for later in (False, True))
    assert r.drops("nat_fragment_unmatched") == 0


def test_icmp_errors_through_static_and_port_forward(tmp_path):
    """RFC 5508 4.2 for 1:1 and port forwards too: an error's quoted packet is
    translated back along with its outer header, both ways, checksums and all."""
    from scapy.layers.inet import IPerror, TCPerror, UDPerror

    def err(src, dst, quoted, mac_dst, mac_src):
        return Ether(dst=mac_dst, src=mac_src) / IP(src=src, dst=dst) / ICMP(type=3, code=3) / \
            quoted
    wan = [  # from outside, about what the 1:1 host and the forwarded server sent out
        err(REMOTE, "203.0.113.50", IP(src="203.0.113.50", dst=REMOTE) / UDP(sport=4000, dport=53),
            WAN_MAC, GW_MAC),
        err(REMOTE, "203.0.113.1",
            IP(src="203.0.113.1", dst=REMOTE) / TCP(sport=443, dport=50000, flags="SA"),
            WAN_MAC, GW_MAC)]
    lan = [  # from inside, about what came in to them through the rules
        err("192.168.1.50", REMOTE, IP(src=REMOTE, dst="192.168.1.50") / UDP(sport=53, dport=4000),
            LAN_MAC, STATIC_MAC),
        err("192.168.1.20", REMOTE,
            IP(src=REMOTE, dst="192.168.1.20") / TCP(sport=50000, dport=8443, flags="S"),
            LAN_MAC, SERVER_MAC)]
    r = run_dpfwd(tmp_path, {"wan": wan, "lan": lan}, nat_config())
    inside = sorted(r.out["lan"], key=lambda p: p[IP].dst)
    assert [(p[IP].dst, p[IPerror].src) for p in inside] == \
        [("192.168.1.20", "192.168.1.20"), ("192.168.1.50", "192.168.1.50")]
    assert inside[0][TCPerror].sport == 8443 and inside[1][UDPerror].sport == 4000
    outside = sorted(r.out["wan"], key=lambda p: p[IP].src)
    assert [(p[IP].src, p[IPerror].dst) for p in outside] == \
        [("203.0.113.1", "203.0.113.1"), ("203.0.113.50", "203.0.113.50")]
    assert outside[0][TCPerror].dport == 443 and outside[1][UDPerror].dport == 4000
    for p in inside + outside:
        assert_checksums(p)
        q = IP(bytes(p[IPerror]))  # the quoted header's own checksum
        got = q.chksum
        del q.chksum
        assert IP(bytes(q)).chksum == got


def test_napt_never_takes_a_forwarded_port(tmp_path):
    """With the pool on the router's address, an inside host asking for a port that a
    port forward uses gets another one (port preservation gives way), and the forward
    keeps working for new senders."""
    wan_ip = "203.0.113.1"
    cfg = forward_config(filtering="endpoint-independent").replace(
        f"pool: [{POOL}]", f"pool: [{wan_ip}]")
    lan = [out4("192.168.1.10", 5353, REMOTE, 53)]
    wan = [in4(REMOTE, 53, wan_ip, 5353)] * 40  # a burst after the mapping was made
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan}, cfg)
    (o,) = r.out["wan"]
    assert o[IP].src == wan_ip and o[UDP].sport != 5353
    assert {(p[IP].dst, p[UDP].dport) for p in r.out["lan"]} == {("192.168.1.20", 53)}


def test_reload_with_a_new_pool_moves_live_flows_to_it(tmp_path):
    """A reload that takes the pool address away: an established flow's next packet out
    gets a mapping on the new pool address, and the replies to it come in (the old
    address no longer leads to NAT)."""
    new_pool = "203.0.113.11"
    config = nat_config()
    run = one_flow_running(tmp_path, config, new_pool)
    try:
        assert run.telemetry("/dpfwd/stats")["tx_packets"][0] == 0  # nothing for .11 yet
        run.cfg.write_text(config.replace(f"pool: [{POOL}]", f"pool: [{new_pool}]"))
        assert run.telemetry("/dpfwd/reload")["ok"] == 1
        assert wait_until(lambda: run.telemetry("/dpfwd/stats")["tx_packets"][0] > 100)
        # (the replies reach .10)
        nat = run.telemetry("/dpfwd/nat")
        assert nat["mappings_created"] == 2 and nat["mappings"] == 1
    finally:
        run.stop()


def test_nptv6_translates_the_quote_of_icmpv6_errors(tmp_path):
    """An ICMPv6 error about a translated packet quotes it as translated: the quote's
    address is mapped back as well (checksum-neutral, so the ICMPv6 checksum holds),
    both ways, so that a far router's packet too big reaches its sender usably."""
    from scapy.all import ICMPv6DestUnreach, ICMPv6PacketTooBig, IPerror6
    small = Ether(dst=LAN_MAC, src=HOST_MAC) / IPv6(src="fd00:1::10", dst="2001:db8:99::1") / \
        UDP(sport=1, dport=2) / Raw(b"6")
    outside = run_dpfwd(tmp_path / "a", {"lan": [small]}, nat_config()).out["wan"][0][IPv6].src
    ptb = Ether(dst=WAN_MAC, src=GW_MAC) / IPv6(src="2001:db8:99::fe", dst=outside) / \
        ICMPv6PacketTooBig(mtu=1280) / IPv6(src=outside, dst="2001:db8:99::1") / \
        UDP(sport=1, dport=2) / Raw(b"q" * 32)
    unreach = Ether(dst=LAN_MAC, src=HOST_MAC) / IPv6(src="fd00:1::10", dst="2001:db8:99::1") / \
        ICMPv6DestUnreach(code=4) / IPv6(src="2001:db8:99::1", dst="fd00:1::10") / \
        UDP(sport=2, dport=1) / Raw(b"q" * 32)
    r = run_dpfwd(tmp_path / "b", {"wan": [ptb], "lan": [unreach]}, nat_config())
    (i,) = r.out["lan"]
    assert i[IPv6].dst == "fd00:1::10" and i[IPerror6].src == "fd00:1::10"
    (o,) = r.out["wan"]
    assert o[IPv6].src == outside and o[IPerror6].dst == outside
    for p in (i, o):
        fresh = IPv6(bytes(p[IPv6]))
        ck = fresh.payload.cksum
        del fresh.payload.cksum
        assert IPv6(bytes(fresh)).payload.cksum == ck, "ICMPv6 checksum"


@pytest.mark.parametrize("filtering", ["address-dependent", "endpoint-independent"])
def test_hairpin_to_port_forward_and_static(tmp_path, filtering):
    """RFC 4787 REQ-9 with the stateless rules: an inside client reaching a forwarded
    server or a 1:1 host by its outside address gets the answer from that outside
    address (the rule's, not a NAPT mapping of the server's), whatever the filtering."""
    lan = [out4("192.168.1.10", 5555, "203.0.113.1", 443, proto=TCP, flags="S"),
           out4("192.168.1.10", 5556, "203.0.113.50", 53)]
    answers = [out4("192.168.1.20", 8443, POOL, 5555, proto=TCP, flags="SA", mac=SERVER_MAC),
               out4("192.168.1.50", 53, POOL, 5556, mac=STATIC_MAC)]
    r = run_dpfwd(tmp_path, {"lan": lan + [out4("192.168.1.10", 1, REMOTE, 1)] * 40 + answers},
                  nat_config(filtering=filtering))
    to_client = [p for p in r.out["lan"] if p[IP].dst == "192.168.1.10"]
    assert sorted((p[IP].src, p[IP].sport, p[IP].dport) for p in to_client) == \
        [("203.0.113.1", 443, 5555), ("203.0.113.50", 53, 5556)]
    for p in to_client:
        assert_checksums(p)
    assert "nat_filtered" not in r.nonzero_drops()


def test_forwarded_server_later_fragments_before_the_first(tmp_path):
    """Fragments that overtook their first on the inside: a port forward's server's
    reply, cut and sent last fragment first, leaves all from the forward's address (the
    later ones wait for the first fragment's record); its datagram of its own, through
    NAPT, all from the pool address. A later fragment whose first never comes leaves
    after its wait, as any inside host's: from the pool address."""
    want_fw, lan_fw = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=31) /
                                 UDP(sport=53, dport=999), LAN_MAC, SERVER_MAC)
    want_own, lan_own = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=32) /
                                   UDP(sport=6000, dport=999), LAN_MAC, SERVER_MAC)
    stray = Ether(dst=LAN_MAC, src=SERVER_MAC) / IP(src="192.168.1.20", dst=REMOTE, id=34,
                                                     frag=100, proto=17) / Raw(b"z" * 16)
    r = run_dpfwd(tmp_path, {"lan": [stray] + lan_fw[::-1] + lan_own[::-1]}, forward_config())
    assert len(r.out["wan"]) == 7, r.nonzero_drops()
    by_id = {}
    for p in r.out["wan"]:
        by_id.setdefault(p[IP].id, set()).add(p[IP].src)
    assert by_id == {31: {"203.0.113.1"}, 32: {POOL}, 34: {POOL}}
    got = {(d[IP].src, d[UDP].sport, d[Raw].load)
           for d in reassembled([p for p in r.out["wan"] if p[IP].id != 34])}
    assert got == {("203.0.113.1", 5353, want_fw), (POOL, 6000, want_own)}


def test_forwarded_server_later_fragments_before_the_first_wait_for_the_gateway(tmp_path):
    """The same with the gateway's MAC not known yet: the fragments wait for it in the
    slow path, the later ones having waited for their first fragment's record before."""
    from scapy.all import ARP
    cfg = forward_config().replace(f'  - {{ip: 203.0.113.254, mac: "{GW_MAC}", port: wan}}\n', "")
    arp_reply = Ether(dst=WAN_MAC, src=GW_MAC) / ARP(op=2, hwsrc=GW_MAC, psrc="203.0.113.254",
                                                     hwdst=WAN_MAC, pdst="203.0.113.1")
    want, lan = fragmented(IP(src="192.168.1.20", dst=REMOTE, id=35) /
                           UDP(sport=53, dport=999), LAN_MAC, SERVER_MAC)
    r = run_dpfwd(tmp_path, {"lan": lan[::-1], "wan": [arp_reply]}, cfg)
    sent = [p for p in r.out["wan"] if IP in p]
    assert len(sent) == 3 and {p[IP].src for p in sent} == {"203.0.113.1"}, r.nonzero_drops()
    (d,) = reassembled(sent)
    assert (d[UDP].sport, d[Raw].load) == (5353, want)


@pytest.mark.parametrize("to", ["forward", "mapping"])
def test_hairpin_later_fragments_before_the_first(tmp_path, to):
    """An inside client's fragmented datagram to the port forward's address, or to
    another inside host's NAPT mapping, last fragment first: the other host gets every
    fragment from the client's outside endpoint."""
    dst, dport, host, mac = {"forward": ("203.0.113.1", 5353, ("192.168.1.20", 53), SERVER_MAC),
                             "mapping": (POOL, 7000, ("192.168.1.11", 7000), HOST11_MAC)}[to]
    want, lan = fragmented(IP(src="192.168.1.10", dst=dst, id=33) /
                           UDP(sport=4000, dport=dport), LAN_MAC, HOST_MAC)
    mapping = out4("192.168.1.11", 7000, REMOTE, 53, mac=HOST11_MAC)
    r = run_dpfwd(tmp_path, {"lan": [mapping] + lan[::-1]},
                  forward_config(filtering="endpoint-independent"))
    to_host = [p for p in r.out["lan"] if p[Ether].dst == mac]
    assert len(to_host) == 3, r.nonzero_drops()
    (d,) = reassembled(to_host)
    assert (d[IP].src, d[IP].dst, d[UDP].sport, d[UDP].dport, d[Raw].load) == \
        (POOL, host[0], 4000, host[1], want)
