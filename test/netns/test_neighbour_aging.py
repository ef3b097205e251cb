"""Neighbour aging against real hosts: dpfwd probes the neighbours it uses once their
entries are older than slow_path.neighbour_timeout, and Linux answers the probes, so
traffic never has to wait for a fresh resolution.

Each test runs its own dpfwd (neighbour_timeout 1 s) and namespaces from test_hosts
(whose module-level checks skip this module too where namespaces cannot be made).
"""
import time

import pytest

from test_hosts import CONFIG, Net, ping

# Linux answers a unicast neighbour solicitation with a solicited advertisement without
# the target link-layer address option (RFC 4861 7.2.4 allows it); RFC 4861 7.2.5 makes
# that a confirmation of the entry dpfwd has, which is what keeps IPv6 entries alive.


@pytest.mark.parametrize("dst", ["203.0.113.10", "2001:db8:ff::10"])
def test_neighbours_in_use_stay_resolved_while_they_answer_probes(tmp_path, dst):
    n = Net(tmp_path, CONFIG + "slow_path: {neighbour_timeout: 1}\n")
    try:
        n.start()
        r = ping(n, "h1", dst, count=30)  # 6 s: several probes of h1 and h2
    finally:
        stats = n.stop()
    n.check_exit(stats)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr
    sp = stats["slow_path"]
    asked = sp["neighbour_solicitations"] if ":" in dst else sp["arp_requests"]
    assert asked >= 4, sp  # h2's resolution, then probes: the aging did run
    assert sp["neighbours_expired"] == 0, sp


def test_expired_neighbours_give_their_slots_back(tmp_path):
    """With room for 16 neighbours (and one spare slot): h2 takes on 10 addresses and h1
    pings each through dpfwd, which learns them (with h1, and h2's own address when its
    kernel asks for the router from it: up to 12); h2 gives them up, dpfwd's probes go
    unanswered and they expire, and as the table is half used their slots go back; then
    10 new addresses of h2's are learned too. Without reclaiming, at most 17 could ever
    be learned (they were kept until a reload before)."""
    n = Net(tmp_path, CONFIG + "slow_path: {neighbour_timeout: 1, neighbours: 16}\n")
    first = [f"203.0.113.{100 + i}" for i in range(10)]
    second = [f"203.0.113.{150 + i}" for i in range(10)]
    try:
        n.start()
        for batch in (first, second):
            for addr in batch:
                n.run("h2", "ip", "addr", "add", addr + "/24", "dev", n.iface["h2"])
            for addr in batch:
                r = ping(n, "h1", addr, count=1)
                assert r.returncode == 0, r.stdout + r.stderr
            for addr in batch:
                n.run("h2", "ip", "addr", "del", addr + "/24", "dev", n.iface["h2"])
            if batch is first:
                # 1 s without news, 3 probes a second apart, unanswered; then the next
                # reclaim (at most once a second)
                time.sleep(6.5)
    finally:
        stats = n.stop()
    n.check_exit(stats)
    sp = stats["slow_path"]
    assert sp["neighbours_expired"] >= 10, sp
    assert sp["neighbours_learned"] >= 21, sp  # h1, then both batches
