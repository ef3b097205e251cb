"""ICMP and ICMPv6 errors the router sends (RFC 1812 4.3, RFC 4443), what they quote,
when they are not sent, their rate limit, and IPv4 fragmentation (RFC 791)."""
import pytest
from scapy.all import ICMP, IP, IPv6, UDP, Ether, Raw, TCP, defragment
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6PacketTooBig, ICMPv6TimeExceeded, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment, IPv6ExtHdrHopByHop)

from dpfwd_run import CLIENT_MAC, LAN_MAC, run_dpfwd


def from_lan(l3):
    return Ether(src=CLIENT_MAC, dst=LAN_MAC) / l3


def recomputed(layer):
    fresh = layer.copy()
    fresh.chksum = None
    return type(layer)(bytes(fresh)).chksum


def v6_cksum_ok(pkt):
    ip = pkt[IPv6]
    fresh = IPv6(bytes(ip))
    l4 = fresh.payload
    want = l4.cksum
    del l4.cksum
    return IPv6(bytes(fresh))[type(l4)].cksum == want


def assert_icmp4_error(err, orig, type_, code, src="192.168.1.1"):
    assert err[Ether].dst == CLIENT_MAC and err[Ether].src == LAN_MAC
    assert (err[IP].src, err[IP].dst) == (src, orig[IP].src)
    assert (err[ICMP].type, err[ICMP].code) == (type_, code)
    assert err[IP].chksum == recomputed(err[IP])
    assert err[ICMP].chksum == recomputed(err[ICMP])
    quoted = bytes(err[ICMP].payload)
    want = bytes(orig[IP])[:576 - 28]
    assert quoted == want, "the error must quote the packet as it arrived"


def test_ttl_expired_gets_time_exceeded(tmp_path):
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", ttl=1) / UDP(sport=33434, dport=33435) /
                    Raw(b"trace"))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    [err] = r.out["lan"]
    assert_icmp4_error(err, orig, 11, 0)
    assert r.nonzero_drops() == {"ipv4_ttl_expired": 1}
    assert r.out["wan"] == []


def test_error_quote_is_capped_at_576_bytes(tmp_path):
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", ttl=1) / UDP() / Raw(b"q" * 1400))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    [err] = r.out["lan"]
    assert len(err[IP]) == 576
    assert_icmp4_error(err, orig, 11, 0)


def test_hop_limit_expired_gets_icmpv6_time_exceeded(tmp_path):
    orig = from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1", hlim=1) / UDP() / Raw(b"6"))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    [err] = r.out["lan"]
    assert err[IPv6].src == "2001:db8:1::1" and err[IPv6].dst == "2001:db8:1::10"
    assert ICMPv6TimeExceeded in err and err[ICMPv6TimeExceeded].code == 0
    assert v6_cksum_ok(err)
    assert bytes(err[ICMPv6TimeExceeded].payload) == bytes(orig[IPv6])


def test_unreachable_errors(tmp_path):
    sent = [from_lan(IP(src="192.168.1.10", dst="100.64.0.1") / UDP()),   # action unreachable
            from_lan(IP(src="192.168.1.10", dst="198.51.100.1") / UDP())]  # blackhole: silent
    r = run_dpfwd(tmp_path, {"lan": sent})
    [err] = r.out["lan"]
    assert_icmp4_error(err, sent[0], 3, 1)
    assert r.nonzero_drops() == {"unreachable": 1, "blackhole": 1}


NO_DEFAULT = """\
ports:
  - {name: lan, device: net_pcap0, mac: "02:00:00:00:01:01", ipv4: [192.168.1.1/24],
     ipv6: ["2001:db8:1::1/64"]}
  - {name: wan, device: net_pcap1, mac: "02:00:00:00:02:01", ipv4: [203.0.113.1/24]}
"""


def test_no_route_gets_net_unreachable(tmp_path):
    sent = [from_lan(IP(src="192.168.1.10", dst="8.8.8.8") / TCP()),
            from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1") / TCP())]
    r = run_dpfwd(tmp_path, {"lan": sent}, config_text=NO_DEFAULT)
    e4, e6 = r.out["lan"]
    assert_icmp4_error(e4, sent[0], 3, 0)
    assert ICMPv6DestUnreach in e6 and e6[ICMPv6DestUnreach].code == 0 and v6_cksum_ok(e6)


def test_df_too_big_gets_frag_needed_with_mtu(tmp_path):
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", flags="DF") / UDP() / Raw(b"x" * 1600))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    [err] = r.out["lan"]
    assert_icmp4_error(err, orig, 3, 4)
    assert err[ICMP].nexthopmtu == 1500  # RFC 1191
    assert r.out["wan"] == []


def test_ipv6_too_big_gets_packet_too_big(tmp_path):
    orig = from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1") / UDP() / Raw(b"x" * 1500))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    [err] = r.out["lan"]
    assert ICMPv6PacketTooBig in err and err[ICMPv6PacketTooBig].mtu == 1500
    assert v6_cksum_ok(err)
    assert len(err[IPv6]) <= 1280
    assert r.nonzero_drops() == {"mtu_exceeded": 1}


def test_too_big_without_df_is_fragmented(tmp_path):
    payload = bytes(range(256)) * 16  # 4096 bytes
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", id=4242, ttl=20) /
                    UDP(sport=7, dport=9) / Raw(payload))
    r = run_dpfwd(tmp_path, {"lan": [orig]})
    frags = r.out["wan"]
    assert len(frags) == 3
    for f in frags:
        assert len(f[IP]) <= 1500 and f[IP].ttl == 19 and f[IP].id == 4242
        assert f[IP].chksum == recomputed(f[IP])
        assert f[Ether].src == "02:00:00:00:02:01" and f[Ether].dst == "02:00:00:00:00:fe"
    assert [f[IP].flags.MF for f in frags] == [1, 1, 0]
    [whole] = defragment([f[IP] for f in frags])
    assert bytes(whole[UDP].payload) == payload
    assert whole[UDP].chksum == Ether(bytes(orig))[UDP].chksum
    assert r.stats["slow_path"]["fragments"] == 3


@pytest.mark.parametrize("wan_mtu,options", [(4000, 0), (2100, 40)])
def test_fragments_fit_their_buffers_with_jumbo_mtus(tmp_path, wan_mtu, options):
    """Each fragment is one mbuf of about 2 KB: with an egress MTU above that, fragments
    are cut to fit the buffer (with the header, options too), not to the MTU."""
    from dpfwd_run import TWO_PORT_CONFIG
    from scapy.all import IPOption
    cfg = TWO_PORT_CONFIG.replace('    mac: "02:00:00:00:01:01"\n',
                                  '    mac: "02:00:00:00:01:01"\n    mtu: 9000\n') \
        .replace("    mtu: 1500\n", f"    mtu: {wan_mtu}\n")
    payload = bytes(range(256)) * 20  # 5120 bytes
    opts = [IPOption(b"\x82\x0b" + b"\x00" * 9)] * (options // 11) + \
        [IPOption(b"\x01")] * (options % 11)
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", id=4343, options=opts) /
                    UDP(sport=7, dport=9) / Raw(payload))
    r = run_dpfwd(tmp_path, {"lan": [orig]}, config_text=cfg)
    frags = r.out["wan"]
    assert len(frags) == 3 and all(len(f[IP]) <= 2048 for f in frags), \
        [len(f[IP]) for f in frags]
    [whole] = defragment([f[IP] for f in frags])
    assert bytes(whole[UDP].payload) == payload


def test_no_error_about_errors_or_non_first_fragments(tmp_path):
    quoted = IP(src="8.8.8.8", dst="192.168.1.10") / UDP()
    sent = [from_lan(IP(src="192.168.1.10", dst="8.8.4.4", ttl=1) / ICMP(type=3, code=1) /
                     Raw(bytes(quoted))),
            from_lan(IP(src="192.168.1.10", dst="8.8.4.4", ttl=1) / ICMP(type=11) /
                     Raw(bytes(quoted))),
            from_lan(IP(src="192.168.1.10", dst="8.8.4.4", ttl=1, frag=100) / Raw(b"f" * 40)),
            from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1", hlim=1) /
                     ICMPv6DestUnreach() / Raw(b"x" * 40)),
            # the same behind extension headers (RFC 8200 4): an error, a later fragment
            from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1", hlim=1) /
                     IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / ICMPv6DestUnreach() /
                     Raw(b"x" * 40)),
            from_lan(IPv6(src="2001:db8:1::10", dst="2001:4860::1", hlim=1) /
                     IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=10, nh=17) /
                     Raw(b"x" * 40)),
            # to a connected subnet's broadcast address (RFC 1812 4.3.2.7)
            Ether(src="02:00:00:00:00:fe", dst="02:00:00:00:02:01") /
            IP(src="8.8.8.8", dst="192.168.1.255", ttl=1) / UDP(),
            # an echo request is no error: it does get one
            from_lan(IP(src="192.168.1.10", dst="8.8.4.4", ttl=1) / ICMP(type=8))]
    r = run_dpfwd(tmp_path, {"lan": sent[:6] + sent[7:], "wan": [sent[6]]})
    [err] = r.out["lan"]
    assert_icmp4_error(err, sent[-1], 11, 0)
    assert r.out["wan"] == []
    assert r.nonzero_drops() == {"ipv4_ttl_expired": 5, "ipv6_hop_limit_expired": 3}


def test_errors_are_rate_limited(tmp_path):
    sent = [from_lan(IP(src="192.168.1.10", dst="8.8.8.8", ttl=1) / UDP(sport=i))
            for i in range(150)]
    r = run_dpfwd(tmp_path, {"lan": sent})
    n = len(r.out["lan"])
    assert 50 <= n <= 60, n  # burst 50, 100 per second
    sp = r.stats["slow_path"]
    assert sp["icmp_errors"] == n and sp["icmp_rate_limited"] == 150 - n
    assert r.nonzero_drops() == {"ipv4_ttl_expired": 150}


def test_udp_to_our_address_gets_port_unreachable(tmp_path):
    sent = [from_lan(IP(src="192.168.1.10", dst="192.168.1.1") / UDP(dport=53)),
            from_lan(IPv6(src="2001:db8:1::10", dst="2001:db8:1::1") / UDP(dport=53))]
    r = run_dpfwd(tmp_path, {"lan": sent})
    e4, e6 = r.out["lan"]
    assert_icmp4_error(e4, sent[0], 3, 3)
    assert ICMPv6DestUnreach in e6 and e6[ICMPv6DestUnreach].code == 4 and v6_cksum_ok(e6)


def test_icmpv6_echo_reply(tmp_path):
    req = from_lan(IPv6(src="2001:db8:1::10", dst="2001:db8:1::1") /
                   ICMPv6EchoRequest(id=7, seq=3, data=b"ping6"))
    r = run_dpfwd(tmp_path, {"lan": [req]})
    [rep] = r.out["lan"]
    assert rep[Ether].dst == CLIENT_MAC
    assert (rep[IPv6].src, rep[IPv6].dst) == ("2001:db8:1::1", "2001:db8:1::10")
    assert ICMPv6EchoReply in rep and rep[ICMPv6EchoReply].id == 7
    assert rep[ICMPv6EchoReply].data == b"ping6"
    assert v6_cksum_ok(rep)


def test_icmp_rate_zero_sends_no_errors(tmp_path):
    from dpfwd_run import TWO_PORT_CONFIG
    config = TWO_PORT_CONFIG + "slow_path: {icmp_rate: 0}\n"
    orig = from_lan(IP(src="192.168.1.10", dst="8.8.8.8", ttl=1) / UDP())
    r = run_dpfwd(tmp_path, {"lan": [orig]}, config_text=config)
    assert r.out["lan"] == []
    assert r.stats["slow_path"]["icmp_rate_limited"] == 1
