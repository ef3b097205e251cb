"""The slow path: ARP (RFC 826) replies, learning, requests on a miss with held
packets, and ICMP echo replies (RFC 792) for dpfwd's own addresses."""
from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw

from dpfwd_run import (CLIENT_MAC, GW_MAC, HOST_MAC, LAN_MAC, TWO_PORT_CONFIG, WAN_MAC,
                       run_dpfwd)

NEW_MAC = "02:00:00:00:00:50"  # 192.168.1.50: a lan host with no static entry
BCAST = "ff:ff:ff:ff:ff:ff"


def arp_request(psrc, pdst, hwsrc=NEW_MAC, dst=BCAST):
    return Ether(src=hwsrc, dst=dst) / ARP(op=1, hwsrc=hwsrc, psrc=psrc, pdst=pdst)


def arp_reply(psrc, hwsrc, pdst, hwdst, dst):
    return Ether(src=hwsrc, dst=dst) / ARP(op=2, hwsrc=hwsrc, psrc=psrc, hwdst=hwdst, pdst=pdst)


def to_lan_host(dst, ttl=30):
    return Ether(src=GW_MAC, dst=WAN_MAC) / IP(src="8.8.8.8", dst=dst, ttl=ttl) / UDP() / Raw(b"d")


def recomputed(layer):
    """The checksum scapy computes for LAYER (and what follows it) from scratch."""
    fresh = layer.copy()
    fresh.chksum = None
    return type(layer)(bytes(fresh)).chksum


def arps(pkts):
    return [p for p in pkts if ARP in p]


def test_arp_request_for_our_address_is_answered(tmp_path):
    r = run_dpfwd(tmp_path, {"lan": [arp_request("192.168.1.50", "192.168.1.1")]})
    [reply] = r.out["lan"]
    assert reply[Ether].dst == NEW_MAC and reply[Ether].src == LAN_MAC
    a = reply[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == \
        (2, LAN_MAC, "192.168.1.1", NEW_MAC, "192.168.1.50")
    assert len(reply) == 42  # no padding of ours: the NIC pads to 60
    sp = r.stats["slow_path"]
    assert (sp["arp_replies"], sp["consumed"], sp["generated"]) == (1, 1, 1)
    assert sp["neighbours_learned"] == 1  # the requester, since it asked us (RFC 826)


def test_arp_not_for_us_gets_no_answer(tmp_path):
    sent = [arp_request("192.168.1.50", "192.168.1.99"),   # another host
            arp_request("192.168.1.50", "203.0.113.1"),    # our address on another port
            Ether(src=NEW_MAC, dst=LAN_MAC) / ARP(op=1, hwtype=6, psrc="192.168.1.50",
                                                 pdst="192.168.1.1")]  # not Ethernet
    r = run_dpfwd(tmp_path, {"lan": sent})
    assert r.out["lan"] == [] and r.out["wan"] == []
    assert r.stats["slow_path"]["consumed"] == 2
    assert r.stats["slow_path"]["neighbours_learned"] == 0
    assert r.nonzero_drops() == {"arp_invalid": 1}


def test_gratuitous_arp_creates_no_entry(tmp_path):
    r = run_dpfwd(tmp_path, {"lan": [arp_request("192.168.1.60", "192.168.1.60")]})
    assert r.stats["slow_path"]["neighbours_learned"] == 0
    assert r.out["lan"] == []


def test_miss_sends_request_and_drops_when_unanswered(tmp_path):
    r = run_dpfwd(tmp_path, {"wan": [to_lan_host("192.168.1.77")]})
    [req] = arps(r.out["lan"])
    assert req[Ether].dst == BCAST and req[Ether].src == LAN_MAC
    a = req[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.pdst) == (1, LAN_MAC, "192.168.1.1", "192.168.1.77")
    assert r.nonzero_drops() == {"neighbour_unresolved": 1}
    # The sender hears that the host is unreachable (RFC 1812 4.3.3.1).
    [unreach] = r.out["wan"]
    assert (unreach[ICMP].type, unreach[ICMP].code) == (3, 1)
    assert unreach[IP].src == "203.0.113.1" and unreach[IP].dst == "8.8.8.8"


def test_request_is_repeated_three_times_then_given_up(tmp_path):
    r = run_dpfwd(tmp_path, {"wan": [to_lan_host("192.168.1.77")]}, idle_ms=3600)
    assert len(arps(r.out["lan"])) == 3
    assert r.nonzero_drops() == {"neighbour_unresolved": 1}
    assert r.stats["slow_path"]["arp_requests"] == 3


def test_hold_queue_is_bounded(tmp_path):
    r = run_dpfwd(tmp_path, {"wan": [to_lan_host("192.168.1.77") for _ in range(11)]})
    assert r.nonzero_drops() == {"neighbour_unresolved": 8, "neighbour_hold_full": 3}
    assert len(arps(r.out["lan"])) == 1


def test_connected_host_resolved_and_held_packets_sent(tmp_path):
    """Whatever the order in which dpfwd sees them, the data packets end up at the MAC
    the host's ARP reply gave: held and released, or forwarded after learning."""
    data = [to_lan_host("192.168.1.50", ttl=20 + i) for i in range(3)]
    reply = arp_reply("192.168.1.50", NEW_MAC, "192.168.1.1", LAN_MAC, LAN_MAC)
    r = run_dpfwd(tmp_path, {"wan": data, "lan": [reply]})
    got = [p for p in r.out["lan"] if IP in p]
    assert [p[IP].ttl for p in got] == [19, 20, 21]
    assert all(p[Ether].dst == NEW_MAC and p[Ether].src == LAN_MAC for p in got)
    assert r.nonzero_drops() == {}
    assert r.stats["slow_path"]["neighbours_learned"] == 1


def test_gateway_resolved_by_arp(tmp_path):
    config = TWO_PORT_CONFIG.replace(
        '  - {ip: 203.0.113.254, mac: "02:00:00:00:00:fe", port: wan}\n', "")
    data = [Ether(src=HOST_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="8.8.8.8") / UDP()]
    reply = arp_reply("203.0.113.254", GW_MAC, "203.0.113.1", WAN_MAC, WAN_MAC)
    r = run_dpfwd(tmp_path, {"lan": data, "wan": [reply]}, config_text=config)
    [got] = [p for p in r.out["wan"] if IP in p]
    assert got[Ether].dst == GW_MAC and got[IP].ttl == 63
    assert got[IP].chksum == recomputed(got[IP])


def test_static_neighbour_wins_over_arp(tmp_path):
    liar = arp_request("192.168.1.10", "192.168.1.1", hwsrc="02:00:00:00:00:66")
    r = run_dpfwd(tmp_path, {"lan": [liar], "wan": [to_lan_host("192.168.1.10")]})
    [got] = [p for p in r.out["lan"] if IP in p]
    assert got[Ether].dst == HOST_MAC
    assert r.stats["slow_path"]["neighbours_learned"] == 0


def test_echo_request_to_each_of_our_addresses_is_answered(tmp_path):
    sent = [Ether(src=CLIENT_MAC, dst=LAN_MAC) /
            IP(src="192.168.1.10", dst=dst, ttl=5, id=99) /
            ICMP(type=8, id=0x1234, seq=i) / Raw(b"ping" * 10)
            for i, dst in enumerate(["192.168.1.1", "203.0.113.1"])]
    r = run_dpfwd(tmp_path, {"lan": sent})
    assert len(r.out["lan"]) == 2
    for s, g in zip(sent, r.out["lan"]):
        assert g[Ether].dst == CLIENT_MAC and g[Ether].src == LAN_MAC
        assert (g[IP].src, g[IP].dst) == (s[IP].dst, "192.168.1.10")
        assert g[ICMP].type == 0 and g[ICMP].id == 0x1234 and g[ICMP].seq == s[ICMP].seq
        assert bytes(g[ICMP].payload) == bytes(s[ICMP].payload)
        assert g[ICMP].chksum == recomputed(g[ICMP])
        assert g[IP].chksum == recomputed(g[IP])
    assert r.stats["slow_path"]["echo_replies"] == 2


def test_other_traffic_for_us_is_counted(tmp_path):
    bad_ck = Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="192.168.1.1") / \
        ICMP(type=8, chksum=0x1111)
    sent = [bad_ck,
            Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="192.168.1.1") / UDP(),
            Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="192.168.1.1") /
            ICMP(type=0)]
    r = run_dpfwd(tmp_path, {"lan": sent})
    [unreach] = r.out["lan"]  # UDP: port unreachable (test_icmp.py)
    assert unreach[ICMP].type == 3 and unreach[ICMP].code == 3
    assert r.nonzero_drops() == {"local_destination": 3}


def test_ttl_one_to_our_address_is_answered(tmp_path):
    """RFC 1812 4.2.2.9: a packet for the router is the router's, whatever its TTL."""
    req = Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="192.168.1.1", ttl=1) / \
        ICMP(type=8, id=1, seq=1)
    r = run_dpfwd(tmp_path, {"lan": [req]})
    [rep] = r.out["lan"]
    assert rep[ICMP].type == 0 and rep[IP].src == "192.168.1.1"
    assert r.nonzero_drops() == {}


def test_directed_broadcast_is_not_forwarded(tmp_path):
    sent = [to_lan_host("192.168.1.255"), to_lan_host("192.168.1.0")]
    r = run_dpfwd(tmp_path, {"wan": sent})
    assert r.out["lan"] == []  # and no ARP for them either
    assert r.nonzero_drops() == {"ipv4_directed_broadcast": 2}


JUMBO = TWO_PORT_CONFIG.replace("    mac: \"02:00:00:00:01:01\"\n",
                                "    mac: \"02:00:00:00:01:01\"\n    mtu: 9000\n")


def test_chained_frames(tmp_path):
    """Frames larger than one mbuf arrive as chains: padding is cut across segments and
    a large echo request is checked and answered across them."""
    padded = Ether(bytes(Ether(src=GW_MAC, dst=WAN_MAC) /
                         IP(src="8.8.8.8", dst="192.168.1.10") / UDP() / Raw(b"p" * 10))
                   + b"\0" * 3000)
    ping = Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="192.168.1.1") / \
        ICMP(type=8, id=9, seq=9) / Raw(bytes(range(256)) * 16)
    r = run_dpfwd(tmp_path, {"wan": [padded], "lan": [ping]}, config_text=JUMBO)
    fwd = [p for p in r.out["lan"] if UDP in p]
    rep = [p for p in r.out["lan"] if ICMP in p]
    assert len(fwd) == 1 and len(fwd[0]) == 14 + 38
    assert len(rep) == 1 and rep[0][ICMP].type == 0
    assert bytes(rep[0][ICMP].payload) == bytes(ping[ICMP].payload)
    assert recomputed(rep[0][ICMP]) == rep[0][ICMP].chksum


def test_learned_neighbour_is_probed_then_expires(tmp_path):
    config = TWO_PORT_CONFIG + "slow_path: {neighbour_timeout: 1}\n"
    r = run_dpfwd(tmp_path, {"lan": [arp_request("192.168.1.50", "192.168.1.1")]},
                  config_text=config, idle_ms=5500)
    reply, *probes = arps(r.out["lan"])
    assert reply[ARP].op == 2
    assert len(probes) == 3
    for p in probes:  # unicast probes to the MAC we have (RFC 1122 2.3.2.1)
        assert p[Ether].dst == NEW_MAC and p[ARP].op == 1 and p[ARP].pdst == "192.168.1.50"
    sp = r.stats["slow_path"]
    assert sp["neighbours_learned"] == 1 and sp["neighbours_expired"] == 1


def test_unsolicited_arp_cannot_fill_the_neighbour_table(tmp_path):
    """ARP requests from made-up senders on the link may fill slow_path.neighbours up to
    three quarters; the rest stays for the neighbours dpfwd asks for itself, so a host
    it resolves is still learned, and its later packets go without asking again."""
    cfg = TWO_PORT_CONFIG.replace("192.168.1.1/24", "192.168.1.1/16") + \
        "slow_path: {neighbours: 64}\n"
    lan = [arp_request(f"192.168.{100 + i // 250}.{1 + i % 250}", "192.168.1.1",
                       hwsrc="02:00:00:aa:00:01") for i in range(200)]
    lan.append(arp_reply("192.168.1.50", NEW_MAC, "192.168.1.1", LAN_MAC, LAN_MAC))
    filler = Ether(src=GW_MAC, dst=WAN_MAC) / IP(src="8.8.8.8", dst="9.9.9.9") / UDP()
    # The first packet for .50 waits for its ARP reply; the last ones come long after.
    wan = [to_lan_host("192.168.1.50", ttl=20)] + [filler] * 3000 + \
        [to_lan_host("192.168.1.50", ttl=21)] * 5
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": wan}, config_text=cfg)
    got = [p for p in r.out["lan"] if IP in p]
    assert len(got) == 6 and all(p[Ether].dst == NEW_MAC for p in got)
    assert r.stats["slow_path"]["arp_requests"] == 1
    assert r.nonzero_drops() == {}
