"""Malformed input, at random: whatever arrives, dpfwd neither crashes nor loses count.

Valid packets of every kind dpfwd parses (forwarded IPv4 and IPv6, NAPT both ways, port
forwards, 1:1, NPTv6 and its hairpin, ICMP errors quoting translated packets, fragments,
a port forward's fragments both ways and to a hairpinning client, forged inside sources,
IPv4 options, IPv6 extension headers, ARP, ND, echo to the router, VLAN tags) are sent
whole and, interleaved, cut short, with bytes flipped in their headers, with length
fields set to extremes, or with garbage appended. The seeds are fixed, so a failure repeats. Every
run checks conservation (each packet in left exactly one way, every drop under a named
reason, no mbuf left behind: dpfwd_run); these tests also check that what leaves is a
frame from the egress port's MAC with an IPv4 or IPv6 header that would pass dpfwd's
own checks. The suite also runs against the ASan+UBSan build (tools/run-tests.sh), where a
read past a packet's end fails the run.
"""
import random

import pytest
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6EchoRequest,
                       ICMPv6ND_NS, IPOption_RR, IPv6, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, Raw, checksum, fragment)

from dpfwd_run import GW_MAC, HOST_MAC, LAN_MAC, WAN_MAC, run_dpfwd
from test_nat import POOL, REMOTE, SERVER_MAC, forward_config, in4, out4

PORT_MACS = {"lan": LAN_MAC, "wan": WAN_MAC}


def lan_seeds():
    lan = lambda: Ether(dst=LAN_MAC, src=HOST_MAC)  # noqa: E731
    big = IP(src="192.168.1.10", dst=REMOTE, id=77) / UDP(sport=5002, dport=53) / Raw(b"f" * 1200)
    server = lambda: Ether(dst=LAN_MAC, src=SERVER_MAC)  # noqa: E731
    # A forwarded server's datagrams in fragments: a reply through the forward, one of
    # its own (NAPT; with 3 workers its mapping's owner, 2, is not its records', 0), a
    # reply to a hairpinning client.
    served = [IP(src="192.168.1.20", dst=dst, id=ip_id) / UDP(sport=sport, dport=dport) /
              Raw(b"s" * 1000) for dst, sport, dport, ip_id in
              ((REMOTE, 53, 999, 80), (REMOTE, 6001, 999, 72), (POOL, 53, 5004, 81))]
    return [
        out4("192.168.1.10", 5000, REMOTE, 53),
        out4("192.168.1.10", 5001, REMOTE, 80, proto=TCP, flags="S"),
        out4("192.168.1.10", 5001, REMOTE, 80, proto=TCP, flags="A"),
        out4("192.168.1.10", 5001, REMOTE, 80, proto=TCP, flags="FA"),
        out4("192.168.1.10", 5003, REMOTE, 80, proto=TCP, flags="R"),
        lan() / IP(src="192.168.1.10", dst=REMOTE) / ICMP(id=9, seq=1),
        out4("192.168.1.50", 4000, REMOTE, 53),                       # 1:1
        out4("192.168.1.20", 8443, REMOTE, 40000, proto=TCP, flags="SA"),  # port forward
        out4("192.168.1.10", 5004, POOL, 5000),                      # hairpin
        lan() / IP(src="192.168.1.10", dst=REMOTE, options=[IPOption_RR()]) / UDP(sport=5000, dport=53),
        lan() / IP(src="192.168.1.10", dst="192.168.1.1") / ICMP(),  # to the router
        lan() / IP(src="192.168.1.10", dst=REMOTE, ttl=1) / UDP(),   # ICMP time exceeded back
        # An inside host's error about an inbound packet of a mapping (RFC 5508).
        lan() / IP(src="192.168.1.10", dst=REMOTE) / ICMP(type=3, code=3) /
        IP(src=REMOTE, dst="192.168.1.10") / UDP(sport=53, dport=5000),
        lan() / IPv6(src="fd00:1::10", dst="2001:db8:ff::99") / UDP(sport=1, dport=2),  # NPTv6
        lan() / IPv6(src="fd00:1::10", dst="2001:db8:ff::99") / IPv6ExtHdrHopByHop() / UDP(),
        lan() / IPv6(src="fd00:1::10", dst="2001:db8:ff::99") / IPv6ExtHdrFragment(m=1) / UDP(),
        lan() / IPv6(src="fd00:1::10", dst="fd00:1::1") / ICMPv6EchoRequest(),
        Ether(dst="33:33:ff:00:00:01", src=HOST_MAC) / IPv6(src="fd00:1::10", dst="ff02::1:ff00:1") /
        ICMPv6ND_NS(tgt="fd00:1::1"),
        Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC) / ARP(psrc="192.168.1.10", pdst="192.168.1.1",
                                                           hwsrc=HOST_MAC),
        lan() / Dot1Q(vlan=5) / IP(src="192.168.1.10", dst=REMOTE) / UDP(),
        out4("192.168.1.10", 5004, "203.0.113.1", 5353),              # hairpin to a forward
        lan() / IPv6(src="fd00:1::10", dst="2001:db8:100::11") / UDP(),  # NPTv6 hairpin
        lan() / IPv6(src="fd00:1:0:ffff::10", dst="2001:db8:ff::99") / UDP(),  # unmappable
    ] + [lan() / f for f in fragment(big, fragsize=600)] + \
        [server() / f for d in served for f in fragment(d, fragsize=400)]


def wan_seeds():
    wan = lambda: Ether(dst=WAN_MAC, src=GW_MAC)  # noqa: E731
    return [
        in4(REMOTE, 53, POOL, 5000),
        in4(REMOTE, 80, POOL, 5001, proto=TCP, flags="SA"),
        in4(REMOTE, 40000, "203.0.113.1", 443, proto=TCP, flags="S"),  # port forward
        in4(REMOTE, 53, "203.0.113.50", 4000),                        # 1:1
        wan() / IP(src=REMOTE, dst=POOL) / ICMP(type=0, id=9, seq=1),
        # RFC 5508: an error about an outbound translated packet.
        wan() / IP(src=REMOTE, dst=POOL) / ICMP(type=3, code=1) /
        IP(src=POOL, dst=REMOTE) / UDP(sport=5000, dport=53),
        wan() / IP(src=REMOTE, dst=POOL, id=5, flags="MF") / UDP(sport=53, dport=5000) / Raw(b"a" * 16),
        wan() / IP(src=REMOTE, dst=POOL, id=5, frag=3) / Raw(b"b" * 16),
        # A fragmented request to a port forward on the router's address.
        wan() / IP(src=REMOTE, dst="203.0.113.1", id=6, flags="MF") /
        UDP(sport=999, dport=5353) / Raw(b"c" * 16),
        wan() / IP(src=REMOTE, dst="203.0.113.1", id=6, frag=3) / Raw(b"d" * 16),
        in4("192.168.1.77", 7000, POOL, 5000),  # a forged inside source
        wan() / IPv6(src="2001:db8:ff::99", dst="2001:db8:100::10") / UDP(sport=2, dport=1),  # NPTv6
        wan() / IP(src=REMOTE, dst="8.8.8.8") / UDP(),  # routed back out of wan
        Ether(dst=WAN_MAC, src=GW_MAC) / ARP(op=2, psrc="203.0.113.254", pdst="203.0.113.1",
                                             hwsrc=GW_MAC, hwdst=WAN_MAC),
    ]


def mutate(frame, rng):
    """FRAME's bytes, maybe damaged (about one in six is left whole)."""
    b = bytearray(bytes(frame))
    kind = rng.randrange(6)
    if kind == 1:  # cut short anywhere
        return bytes(b[:rng.randrange(1, len(b))])
    if kind == 2:  # a few bytes of the headers flipped
        for _ in range(rng.randrange(1, 5)):
            b[rng.randrange(min(len(b), 96))] ^= rng.randrange(1, 256)
    elif kind == 3:  # a 16-bit field past L2 at an extreme
        at = rng.randrange(14, min(len(b), 80) - 1)
        b[at:at + 2] = rng.choice([b"\x00\x00", b"\xff\xff", b"\x00\x01", b"\x05\xdc"])
    elif kind == 4:  # garbage after the packet
        b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    elif kind == 5:  # the IPv4 or IPv6 header's first byte (version, IHL)
        if len(b) > 14:
            b[14] = rng.randrange(256)
    return bytes(b)


def stream(seeds, rng, n):
    return [Raw(mutate(rng.choice(seeds), rng)) for _ in range(n)]


def ipv4_ok(frame):
    """A header dpfwd would accept: version, IHL, total length within the frame, header
    checksum, TTL."""
    ihl, total = (frame[14] & 0xf) * 4, int.from_bytes(frame[16:18], "big")
    return frame[14] >> 4 == 4 and ihl >= 20 and ihl <= total <= len(frame) - 14 and \
        checksum(frame[14:14 + ihl]) == 0 and frame[22] >= 1


def ipv6_ok(frame):
    return len(frame) >= 54 and frame[14] >> 4 == 6 and frame[21] >= 1 and \
        int.from_bytes(frame[18:20], "big") <= len(frame) - 54


@pytest.mark.parametrize("seed,workers", [(1, 1), (2, 1), (3, 3)])
def test_random_damage_is_dropped_or_forwarded_never_lost(tmp_path, seed, workers):
    rng = random.Random(seed)
    inputs = {"lan": stream(lan_seeds(), rng, 1500), "wan": stream(wan_seeds(), rng, 1500)}
    kw = {"lcores": "(0-3)@(0,1)", "queues": workers} if workers > 1 else {}
    r = run_dpfwd(tmp_path, inputs, forward_config(), **kw)
    t = r.stats["totals"]
    assert t["tx_packets"] > 300 and t["dropped"] > 300, t  # both ways were taken
    # Hand-offs between workers end: a packet bouncing between two would fill a ring.
    assert r.drops("nat_handoff_full") == 0
    for port, frames in r.out.items():
        for p in frames:
            frame = bytes(p)
            assert frame[6:12] == bytes.fromhex(PORT_MACS[port].replace(":", "")), p
            if frame[12:14] == b"\x08\x00":
                assert ipv4_ok(frame), frame.hex()
            elif frame[12:14] == b"\x86\xdd":
                assert ipv6_ok(frame), frame.hex()
