#!/usr/bin/python3
"""Write the demo's input captures: a few hundred IPv4 and IPv6 flows in both
directions, a few packets for the slow path (ARP, ping, an expiring TTL, an oversized
packet to fragment) and a sprinkling of packets a router must refuse.

usage: gen_demo_traffic.py OUTDIR   (writes OUTDIR/lan.pcap and OUTDIR/wan.pcap)
"""
import random
import sys
from pathlib import Path

from scapy.all import IP, IPv6, TCP, UDP, ICMP, Ether, Raw, Dot1Q, ARP
from scapy.utils import wrpcap

LAN_MAC, WAN_MAC = "02:00:00:00:01:01", "02:00:00:00:02:01"
HOST_MAC, GW_MAC = "02:00:00:00:00:10", "02:00:00:00:00:fe"


def flows(rng):
    lan, wan = [], []
    for i in range(200):  # inside hosts talking to the internet, and the replies
        src = f"192.168.1.{10 + i % 2}"
        dst = f"198.18.{i // 250}.{i % 250 + 1}"
        sport, dport = 20000 + i, rng.choice([80, 443, 53])
        l4 = UDP(sport=sport, dport=53) if dport == 53 else TCP(sport=sport, dport=dport)
        lan.append(Ether(src=HOST_MAC, dst=LAN_MAC) / IP(src=src, dst=dst, ttl=64) / l4 /
                   Raw(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))))
        back = UDP(sport=53, dport=sport) if dport == 53 else TCP(sport=dport, dport=sport)
        wan.append(Ether(src=GW_MAC, dst=WAN_MAC) / IP(src=dst, dst="10.20.0.5", ttl=50) /
                   back / Raw(b"reply" * 4))
    for i in range(100):  # IPv6 both ways
        lan.append(Ether(src=HOST_MAC, dst=LAN_MAC) /
                   IPv6(src="2001:db8:1::10", dst=f"2001:db8:99::{i + 1:x}", hlim=64) /
                   UDP(sport=30000 + i, dport=4789) / Raw(b"v6" * 10))
        wan.append(Ether(src=GW_MAC, dst=WAN_MAC) /
                   IPv6(src=f"2001:db8:99::{i + 1:x}", dst="2001:db8:20::1", hlim=60) /
                   TCP(sport=443, dport=40000 + i))
    return lan, wan


def malformed():
    """One packet per thing a router must refuse (each lands under its own reason), and
    a few for the slow path."""
    e = Ether(src=HOST_MAC, dst=LAN_MAC)
    good = IP(src="192.168.1.10", dst="198.18.0.1") / UDP()
    bad_ck = e / IP(bytes(good))
    raw = bytearray(bytes(bad_ck))
    raw[14 + 10] ^= 0xff  # break the header checksum
    return [
        Ether(src=HOST_MAC, dst="02:00:00:00:09:09") / good,        # l2_other_host
        Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") /
        ARP(psrc="192.168.1.10", pdst="192.168.1.1"),                # ARP reply
        e / Dot1Q(vlan=5) / good,                                    # l2_vlan
        Ether(bytes(raw)),                                           # ipv4_bad_checksum
        e / IP(src="192.168.1.10", dst="198.18.0.1", ttl=1) / UDP(),  # time exceeded
        e / IP(src="127.0.0.1", dst="198.18.0.1") / UDP(),           # ipv4_bad_source
        e / IP(src="192.168.1.10", dst="224.0.0.5") / UDP(),         # ipv4_bad_destination
        e / IP(src="192.168.1.10", dst="198.51.100.9") / UDP(),      # blackhole
        e / IP(src="192.168.1.10", dst="100.64.1.1") / ICMP(),       # host unreachable
        e / IP(src="192.168.1.10", dst="192.168.1.200") / UDP(),     # ARP, unresolved
        e / IP(src="192.168.1.10", dst="192.168.1.1") / ICMP(),      # echo reply
        e / IPv6(src="fe80::1", dst="2001:db8:99::1") / UDP(),       # ipv6_bad_source
        e / IPv6(src="2001:db8:1::10", dst="2001:db8:99::1", hlim=1) / UDP(),  # hop limit
        e / IP(src="192.168.1.10", dst="198.18.0.1") / UDP() / Raw(b"x" * 1600),  # fragmented
    ]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    lan, wan = flows(rng)
    lan += malformed()
    rng.shuffle(lan)
    wrpcap(str(out / "lan.pcap"), lan)
    wrpcap(str(out / "wan.pcap"), wan)
    print(f"wrote {len(lan)} packets to {out / 'lan.pcap'}, {len(wan)} to {out / 'wan.pcap'}")


if __name__ == "__main__":
    main()
