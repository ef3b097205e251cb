#!/usr/bin/python3
"""Captures and configs for run-bench.sh's NAT scenario.

    gen_nat_traffic.py OUTDIR [FLOWS [NAME]]

nat-p0.pcap: 64512 UDP flows from inside hosts (10.0.H.1, H < 252, each with its own
256 source ports so that every flow keeps its port) to servers behind port 1;
nat-p1.pcap: the servers' replies to the outside endpoints those flows get through
NAPT (pool 198.51.100.16-31, the address paired with each host by the same CRC as
lib/nat/napt.c). Both directions are translated once the mappings exist: 64512
established flows.
dpfwd-nat.yaml NATs them; dpfwd-plain.yaml forwards the same frames untranslated
(the pool's /28 routed back to port 0), for the ratio.
With FLOWS, only the first FLOWS flows (of the same order: consecutive packets belong
to different hosts), written as NAME-p0.pcap and NAME-p1.pcap (default "nat"): fewer
flows show what NAT costs when its tables stay in the caches.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_bench_traffic import PORTS, V4_FRAME, config  # noqa: E402
from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402  type: ignore

HOSTS = 252
PORTS_PER_HOST = 256
POOL_FIRST, POOL_SIZE = (198 << 24) | (51 << 16) | (100 << 8) | 16, 16
SERVERS = 256


def crc32c_4byte(data, crc):
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def pool_address(inside):
    """napt.c's paired pooling: pool_first + crc(inside address, 0) % pool size."""
    a = POOL_FIRST + crc32c_4byte(bytes(int(x) for x in inside.split(".")), 0) % POOL_SIZE
    return ".".join(str(a >> s & 255) for s in (24, 16, 8, 0))


def pad(pkt):
    return pkt / Raw(b"\x00" * (V4_FRAME - len(pkt)))


def flows(count):
    p0, p1 = PORTS
    out, back = [], []
    for n in range(count):
        k, h = divmod(n, HOSTS)
        inside, port = f"10.0.{h}.1", 1024 + h * PORTS_PER_HOST + k
        server = f"{p1['net4']}.{(h + k) % SERVERS}"
        out.append(pad(Ether(src=p0["nh_mac"], dst=p0["mac"]) /
                       IP(src=inside, dst=server, ttl=64) / UDP(sport=port, dport=9)))
        back.append(pad(Ether(src=p1["nh_mac"], dst=p1["mac"]) /
                        IP(src=server, dst=pool_address(inside), ttl=64) /
                        UDP(sport=9, dport=port)))
    return out, back


def main():
    if not 2 <= len(sys.argv) <= 4:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else HOSTS * PORTS_PER_HOST
    name = sys.argv[3] if len(sys.argv) > 3 else "nat"
    if not 1 <= count <= HOSTS * PORTS_PER_HOST:
        sys.exit(f"FLOWS: 1 to {HOSTS * PORTS_PER_HOST}")
    os.makedirs(out_dir, exist_ok=True)
    out, back = flows(count)
    wrpcap(os.path.join(out_dir, f"{name}-p0.pcap"), out)
    wrpcap(os.path.join(out_dir, f"{name}-p1.pcap"), back)
    p0 = PORTS[0]
    # Both captures are preloaded into mbufs (2 x 64512), plus the queues.
    base = config(262143).replace("routes:\n", "routes:\n  - {prefix: 198.51.100.16/28, "
                                  f"via: {p0['nh4']}}}\n  - {{prefix: 10.0.0.0/16, via: {p0['nh4']}}}\n")
    with open(os.path.join(out_dir, "dpfwd-plain.yaml"), "w", encoding="utf-8") as f:
        f.write(base)
    with open(os.path.join(out_dir, "dpfwd-nat.yaml"), "w", encoding="utf-8") as f:
        f.write(base + "nat:\n  snat:\n    - {from: 10.0.0.0/16, out: p1, "
                "pool: [198.51.100.16-198.51.100.31], ports: 1024-65535}\n"
                "  max_sessions: 131072\n")


if __name__ == "__main__":
    main()
