"""Debian's dpdk-dumpcap attaches to a dpfwd running on hugepages (rte_pdump_init)
and captures what a port sends. Needs root, 2 MB hugepages (made here if missing)
and dpdk-dumpcap (package dpdk); skipped with the reason otherwise."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from scapy.all import IP, UDP, Ether, rdpcap

from dpfwd_run import GW_MAC, HOST_MAC, LAN_MAC, start_dpfwd

PAGES = 512  # 1 GiB of 2 MB pages: dpfwd takes 512 MB


def hugepages_ready():
    """Make hugepages and mount hugetlbfs as the benchmark does; the reason if not."""
    if os.geteuid() != 0:
        return "needs root to make hugepages"
    nr = Path("/proc/sys/vm/nr_hugepages")
    try:
        if int(nr.read_text()) < PAGES:
            nr.write_text(str(PAGES))
        if int(nr.read_text()) < PAGES:
            return f"the kernel gave fewer than {PAGES} hugepages"
        if "hugetlbfs" not in Path("/proc/mounts").read_text():
            os.makedirs("/dev/hugepages", exist_ok=True)
            subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"cannot set up hugepages: {e}"
    return None


def test_dpdk_dumpcap_captures_a_port(tmp_path):
    if not shutil.which("dpdk-dumpcap"):
        pytest.skip("dpdk-dumpcap not installed (package dpdk)")
    reason = hugepages_ready()
    if reason:
        pytest.skip(reason)
    sent = [Ether(dst=LAN_MAC, src=HOST_MAC) / IP(src="192.168.1.10", dst=f"10.99.0.{i}") /
            UDP(dport=53) for i in range(8)]
    # A secondary process probes the primary's vdevs again from their arguments, which
    # DPDK keeps only so long: short paths.
    short = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
    run = start_dpfwd(short, {"lan": sent}, infinite=True, capture_tx=False, hugepages=True)
    out = tmp_path / "dumpcap.pcapng"
    try:
        dump = subprocess.run(["dpdk-dumpcap", "--file-prefix", run.prefix, "-i", "net_pcap1",
                               "-c", "20", "-w", str(out)],
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    finally:
        run.stop()
        shutil.rmtree(short, ignore_errors=True)
    assert dump.returncode == 0, dump.stdout + dump.stderr
    got = rdpcap(str(out))
    assert len(got) >= 20
    assert all(p[Ether].dst == GW_MAC and p[IP].ttl == 63 for p in got)
