"""Forwarding: right port, MACs, TTL / hop limit, checksums, payload, LPM, ECMP."""
from collections import Counter, defaultdict

from scapy.all import IP, IPv6, TCP, UDP, Ether, Raw
from scapy.layers.inet import IPOption_NOP

from dpfwd_run import (GW_MAC, HOST2_MAC, HOST_MAC, LAN_MAC, WAN_MAC, CLIENT_MAC,
                       run_dpfwd)


def from_lan(l3):
    return Ether(src=CLIENT_MAC, dst=LAN_MAC) / l3


def from_wan(l3):
    return Ether(src=GW_MAC, dst=WAN_MAC) / l3


def recompute(ip):
    fresh = ip.copy()
    fresh.chksum = None
    return IP(bytes(fresh)).chksum


def test_ipv4_forwarded_to_gateway_with_rewrite(tmp_path):
    payload = bytes(range(256)) * 3
    sent = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", ttl=64, id=7) /
                    UDP(sport=1234, dport=53) / Raw(payload))
    r = run_dpfwd(tmp_path, {"lan": [sent]})
    assert r.out["lan"] == []
    [got] = r.out["wan"]
    assert got[Ether].dst == GW_MAC and got[Ether].src == WAN_MAC
    assert got[IP].ttl == 63
    assert got[IP].chksum == recompute(got[IP])
    assert got[IP].src == "192.168.1.10" and got[IP].dst == "8.8.8.8" and got[IP].id == 7
    assert bytes(got[IP].payload) == bytes(sent[IP].payload)
    assert r.stats["ports"]["lan"]["rx_packets"] == 1
    assert r.stats["ports"]["wan"]["tx_packets"] == 1
    assert r.stats["ports"]["wan"]["tx_bytes"] == len(sent)
    assert r.nonzero_drops() == {}


def test_ipv6_forwarded_with_hop_limit_decrement(tmp_path):
    sent = from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::8888", hlim=64) /
                    TCP(sport=5, dport=443, flags="S") / Raw(b"hello"))
    r = run_dpfwd(tmp_path, {"lan": [sent]})
    [got] = r.out["wan"]
    assert got[Ether].dst == GW_MAC and got[Ether].src == WAN_MAC
    assert got[IPv6].hlim == 63
    assert bytes(got[IPv6].payload) == bytes(sent[IPv6].payload)
    assert got[IPv6].src == sent[IPv6].src and got[IPv6].dst == sent[IPv6].dst


def test_checksum_after_ttl_decrement_for_many_headers(tmp_path):
    """Incremental update (RFC 1624) equals recomputation across TTLs, IDs and options."""
    sent = []
    for i in range(300):
        opts = [] if i % 3 else [IPOption_NOP()] * 4 * (i % 4 + 1)  # IHL 6..9
        ip = IP(src=f"192.168.1.{i % 200 + 2}", dst=f"9.{i % 250}.{i % 7}.1", ttl=2 + i % 254,
                id=(i * 257) % 65536, tos=i % 256, flags="DF" if i % 2 else 0,
                options=opts)
        sent.append(from_lan(ip / UDP(sport=i, dport=9) / Raw(b"x" * (i % 50))))
    r = run_dpfwd(tmp_path, {"lan": sent})
    assert len(r.out["wan"]) == len(sent)
    for s, g in zip(sent, r.out["wan"]):
        assert g[IP].ttl == s[IP].ttl - 1
        assert g[IP].chksum == recompute(g[IP])
        assert bytes(g[IP].payload) == bytes(s[IP].payload)


def test_ipv4_and_ipv6_in_one_run_both_directions(tmp_path):
    lan_in = [from_lan(IP(src="192.168.1.10", dst=f"8.8.{i}.8") / UDP(sport=i)) for i in range(20)]
    lan_in += [from_lan(IPv6(src="2001:db8:1::10", dst=f"2001:4860::{i + 1:x}") / UDP(sport=i))
               for i in range(20)]
    wan_in = [from_wan(IP(src=f"8.8.{i}.8", dst="192.168.1.10") / UDP(sport=i)) for i in range(15)]
    wan_in += [from_wan(IPv6(src="2001:4860::1", dst="2001:db8:30::1") / UDP(sport=i))
               for i in range(15)]
    r = run_dpfwd(tmp_path, {"lan": lan_in, "wan": wan_in})
    assert len(r.out["wan"]) == 40 and len(r.out["lan"]) == 30
    assert sum(IP in p for p in r.out["wan"]) == 20 and sum(IPv6 in p for p in r.out["wan"]) == 20
    assert all(p[Ether].dst == HOST_MAC and p[Ether].src == LAN_MAC for p in r.out["lan"])


def test_connected_destination_goes_to_its_own_neighbour(tmp_path):
    sent = [from_wan(IP(src="8.8.8.8", dst="192.168.1.11") / UDP()),
            from_wan(IP(src="8.8.8.8", dst="192.168.1.10") / UDP()),
            from_wan(IPv6(src="2001:4860::1", dst="2001:db8:1::10") / UDP())]
    r = run_dpfwd(tmp_path, {"wan": sent})
    assert [p[Ether].dst for p in r.out["lan"]] == [HOST2_MAC, HOST_MAC, HOST_MAC]


def test_longest_prefix_precedence(tmp_path):
    # 10.20.30.0/24 via .11 beats 10.20.0.0/16 via .10, which beats 0.0.0.0/0.
    sent = [from_wan(IP(src="8.8.8.8", dst=d) / UDP())
            for d in ("10.20.30.5", "10.20.31.5", "10.21.0.1", "10.20.30.255")]
    r = run_dpfwd(tmp_path, {"wan": sent})
    assert [p[Ether].dst for p in r.out["lan"]] == [HOST2_MAC, HOST_MAC, HOST2_MAC]
    assert [p[Ether].dst for p in r.out["wan"]] == [GW_MAC]


def test_ecmp_flows_stick_to_one_path_and_spread(tmp_path):
    sent, flow_of = [], []
    for rep in range(3):
        for f in range(200):
            sent.append(from_wan(IP(src=f"8.8.{f // 100}.{f % 100 + 1}", dst="10.30.1.1") /
                                 TCP(sport=1000 + f, dport=80) / Raw(bytes([rep]))))
            flow_of.append(f)
    r = run_dpfwd(tmp_path, {"wan": sent})
    assert len(r.out["lan"]) == len(sent)
    paths = defaultdict(set)
    for p in r.out["lan"]:
        paths[(p[IP].src, p[TCP].sport)].add(p[Ether].dst)
    assert len(paths) == 200
    assert all(len(macs) == 1 for macs in paths.values()), "a flow took two paths"
    share = Counter(next(iter(m)) for m in paths.values())
    assert set(share) == {HOST_MAC, HOST2_MAC}
    assert min(share.values()) >= 60, f"uneven spread: {share}"


def test_ethernet_padding_is_trimmed(tmp_path):
    ip = IP(src="192.168.1.10", dst="8.8.8.8") / UDP(sport=1, dport=2)  # 28 bytes
    frame = bytes(from_lan(ip)) + b"\x00" * 18  # padded to the 60-byte minimum
    r = run_dpfwd(tmp_path, {"lan": [Ether(frame)]})
    [got] = r.out["wan"]
    assert len(got) == 14 + 28
    assert r.stats["ports"]["lan"]["rx_bytes"] == 60
    assert r.stats["ports"]["wan"]["tx_bytes"] == 42


def test_mtu_limit_with_df_counts_oversized(tmp_path):
    fits = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", flags="DF") / UDP() /
                    Raw(b"x" * (1500 - 28)))
    over = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", flags="DF") / UDP() /
                    Raw(b"x" * (1501 - 28)))
    r = run_dpfwd(tmp_path, {"lan": [fits, over]})
    assert len(r.out["wan"]) == 1 and len(r.out["wan"][0][IP]) == 1500
    assert r.nonzero_drops() == {"mtu_exceeded": 1}


def test_three_workers_on_two_cpus_same_result(tmp_path):
    lan_in = [from_lan(IP(src="192.168.1.10", dst=f"8.{i % 50}.{i // 50}.1", ttl=9) /
                       UDP(sport=i, dport=53) / Raw(i.to_bytes(2, "big"))) for i in range(300)]
    lan_in += [from_lan(IP(src="192.168.1.10", dst="198.51.100.1") / UDP(sport=i)) for i in range(30)]
    wan_in = [from_wan(IPv6(src="2001:4860::1", dst="2001:db8:30::5") / UDP(sport=i) /
                       Raw(i.to_bytes(2, "big"))) for i in range(200)]
    wan_in += [from_wan(IP(src="8.8.8.8", dst="10.30.0.1") / TCP(sport=i)) for i in range(100)]
    inputs = {"lan": lan_in, "wan": wan_in}
    one = run_dpfwd(tmp_path / "one", inputs)
    three = run_dpfwd(tmp_path / "three", inputs, lcores="0@0,1@1,2@0,3@1", queues=3)
    assert len(three.stats["workers"]) == 3
    assert all(w["rx_packets"] > 0 for w in three.stats["workers"])
    for port in ("lan", "wan"):
        assert sorted(bytes(p) for p in one.out[port]) == sorted(bytes(p) for p in three.out[port])
    assert one.stats["drops"] == three.stats["drops"]
    assert one.stats["drops"]["blackhole"] == 30


def test_fewer_tx_queues_than_workers_runs_fewer_workers(tmp_path):
    """Three worker lcores, but each pcap port has one TX queue: dpfwd runs one worker,
    says so, and forwards everything."""
    sent = [from_lan(IP(src="192.168.1.10", dst=f"8.8.{i}.8") / UDP(sport=i)) for i in range(50)]
    r = run_dpfwd(tmp_path, {"lan": sent}, lcores="0@0,1@1,2@0,3@1")
    assert len(r.stats["workers"]) == 1
    assert "offers 1 TX queues: running 1 of 3 workers" in r.stderr + r.stdout
    assert len(r.out["wan"]) == 50
