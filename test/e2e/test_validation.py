"""Every packet a router must not forward is absent from the output and counted under
its own reason (RFC 1812 5.2.2, 5.3.1, 5.3.7; RFC 8200; RFC 4291)."""
import pytest
from scapy.all import ARP, IP, IPv6, UDP, Dot1Q, Ether, Raw

from dpfwd_run import CLIENT_MAC, LAN_MAC, run_dpfwd

GOOD4 = IP(src="192.168.1.10", dst="8.8.8.8", ttl=64) / UDP(sport=1, dport=2) / Raw(b"p" * 20)
GOOD6 = IPv6(src="2001:db8:1::10", dst="2001:4860::1", hlim=64) / UDP(sport=1, dport=2)


def eth(dst=LAN_MAC, **kw):
    return Ether(src=CLIENT_MAC, dst=dst, **kw)


def raw4(**fields):
    """GOOD4 with header fields forced (checksum recomputed unless given)."""
    ip = GOOD4.copy()
    for k, v in fields.items():
        setattr(ip, k, v)
    return eth() / IP(bytes(ip))


def patched(pkt, offset, data):
    b = bytearray(bytes(pkt))
    b[offset:offset + len(data)] = data
    return Ether(bytes(b))


def v4(src="192.168.1.10", dst="8.8.8.8", ttl=64):
    return eth() / IP(src=src, dst=dst, ttl=ttl) / UDP()


def v6(src="2001:db8:1::10", dst="2001:4860::1", hlim=64):
    return eth() / IPv6(src=src, dst=dst, hlim=hlim) / UDP()


CASES = {
    "l2_runt": [Raw(b"\x02\x00\x00\x00\x01\x01\x02\x00\x00\x00\x00\x99\x08")],
    "l2_other_host": [eth(dst="02:00:00:00:05:05") / GOOD4],
    "l2_multicast": [eth(dst="ff:ff:ff:ff:ff:ff") / GOOD4, eth(dst="33:33:00:00:00:01") / GOOD6,
                     eth(dst="01:00:5e:00:00:05") / ARP()],
    "l2_vlan": [eth() / Dot1Q(vlan=7) / GOOD4, eth(type=0x88a8) / Raw(bytes(Dot1Q() / GOOD4))],
    "l2_unknown_ethertype": [eth(type=0x8847) / Raw(b"mpls" * 10),
                             eth(type=0x88cc) / Raw(b"lldp" * 10)],
    # 19 bytes of IPv4 header: truncated (frame otherwise all there)
    "ipv4_truncated": [eth(type=0x0800) / Raw(bytes(GOOD4)[:19])],
    "ipv4_bad_version": [patched(eth() / GOOD4, 14, b"\x55")],
    "ipv4_bad_ihl": [raw4(ihl=4), raw4(ihl=15)],
    "ipv4_bad_total_length": [raw4(len=19), raw4(len=len(GOOD4) + 1)],
    "ipv4_bad_checksum": [raw4(chksum=0x1234)],
    "ipv4_bad_source": [v4(src=s) for s in
                        ("0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.1", "240.0.0.1",
                         "255.255.255.255")],
    "ipv4_bad_destination": [v4(dst=d) for d in
                             ("0.0.0.1", "127.1.1.1", "169.254.9.9", "239.1.1.1", "250.0.0.1",
                              "255.255.255.255")],
    "ipv4_ttl_expired": [v4(ttl=1), v4(ttl=0)],
    "ipv6_truncated": [eth(type=0x86dd) / Raw(bytes(GOOD6)[:39])],
    "ipv6_bad_version": [patched(eth() / GOOD6, 14, b"\x40")],
    "ipv6_bad_payload_length": [patched(eth() / GOOD6, 18, b"\x00\x09")],
    "ipv6_bad_source": [v6(src=s) for s in ("ff02::1", "::", "::1", "fe80::1")],
    "ipv6_bad_destination": [v6(dst=d) for d in ("ff0e::1", "::", "::1", "fe80::2")],
    "ipv6_hop_limit_expired": [v6(hlim=1), v6(hlim=0)],
    "local_destination": [v4(dst="192.168.1.1"), v4(dst="203.0.113.1"), v6(dst="2001:db8:1::1")],
    "blackhole": [v4(dst="198.51.100.1"), v4(dst="198.51.100.255")],
    "unreachable": [v4(dst="100.64.0.1"), v4(dst="100.127.255.254")],
    "mtu_exceeded": [eth() / IP(src="192.168.1.10", dst="8.8.8.8", flags="DF") / Raw(b"x" * 1481)],
}

# A config without default routes, so that "no route" can happen.
NO_DEFAULT = """\
ports:
  - {name: lan, device: net_pcap0, mac: "02:00:00:00:01:01", ipv4: [192.168.1.1/24]}
  - {name: wan, device: net_pcap1, mac: "02:00:00:00:02:01", ipv4: [203.0.113.1/24]}
routes:
  - {prefix: 10.0.0.0/8, via: 203.0.113.254}
"""


@pytest.mark.parametrize("reason", list(CASES))
def test_illegal_packet_dropped_under_its_reason(tmp_path, reason):
    bad = CASES[reason]
    r = run_dpfwd(tmp_path, {"lan": [eth() / GOOD4] + bad + [eth() / GOOD6]})
    assert r.nonzero_drops() == {reason: len(bad)}
    # Only the two good packets came out, untouched apart from the rewrite.
    assert [p[IP].ttl if IP in p else p[IPv6].hlim for p in r.out["wan"]] == [63, 63]


def test_no_route(tmp_path):
    sent = [v4(dst="11.0.0.1"), v6(dst="2001:4860::1"), v4(dst="12.1.1.1")]
    r = run_dpfwd(tmp_path, {"lan": sent}, config_text=NO_DEFAULT)
    assert r.nonzero_drops() == {"no_route": 3}
    assert r.out["wan"] == []


def test_boundaries_that_must_pass(tmp_path):
    """The legal side of each boundary is forwarded."""
    ok = [
        v4(ttl=2), v6(hlim=2),
        v4(src="1.0.0.0"), v4(src="126.255.255.255"), v4(src="223.255.255.255"),
        v4(dst="1.0.0.1"), v4(dst="223.255.255.255"), v4(dst="128.0.0.1"),
        v6(src="fec0::1"), v6(dst="fec0::1"), v6(src="2001:db8:1::77"),
        eth() / IP(src="192.168.1.10", dst="8.8.8.8") / Raw(b"x" * 1480),  # exactly MTU
        raw4(ihl=5),
    ]
    r = run_dpfwd(tmp_path, {"lan": ok})
    assert r.nonzero_drops() == {}
    assert len(r.out["wan"]) == len(ok)


def test_stats_json_lists_every_reason_with_zeros(tmp_path):
    r = run_dpfwd(tmp_path, {"lan": [eth() / GOOD4]})
    names = set(CASES) | {"no_route", "tx_full", "neighbour_unresolved"}
    assert names <= set(r.stats["drops"])
    assert all(v == 0 for v in r.stats["drops"].values())
    # What the NICs counted on their own side (pcap ports count none of these).
    for port in r.stats["ports"].values():
        assert set(port["nic"]) == {"imissed", "ierrors", "rx_nombuf", "oerrors"}
