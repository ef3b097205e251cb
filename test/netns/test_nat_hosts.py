"""NAT with real Linux hosts: h1 behind dpfwd's NAPT (lan), h2 outside (wan) with no
route back to h1's network, so every answer it gives reaches h1 only if dpfwd
translated h1's address to the pool address (which h2 finds by ARP: dpfwd answers for
it). Each test runs its own dpfwd and namespaces (test_hosts.Net)."""
import subprocess
import time

import pytest

from test_hosts import CONFIG, Net, ping

POOL = "203.0.113.100"
NAT = CONFIG + f"""\
nat:
  snat:
    - {{from: 192.168.1.0/24, out: wan, pool: [{POOL}]}}
  max_sessions: 4096
  dnat:
    - {{proto: tcp, match: "203.0.113.1:8080", to: "192.168.1.10:8080"}}
"""


@pytest.fixture
def nat_net(tmp_path):
    n = Net(tmp_path, NAT)
    try:
        n.start()
        # h2 can answer only addresses on its own link: the pool address, not h1's.
        n.run("h2", "ip", "route", "del", "default")
        yield n
    finally:
        stats = n.stop()
    n.check_exit(stats)


def http_server(net, host, addr, log):
    """python3 -m http.server in HOST on ADDR:8080, its access log into LOG."""
    return subprocess.Popen(["ip", "netns", "exec", net.ns[host], "/usr/bin/python3", "-m",
                             "http.server", "8080", "--bind", addr, "--directory",
                             str(net.tmp)], stdout=subprocess.DEVNULL, stderr=log.open("w"))


def fetch(net, host, url, out):
    for _ in range(50):  # until the server listens
        r = net.run(host, "curl", "-s", "--max-time", "30", "-o", str(out), url, check=False)
        if r.returncode != 7:
            return r
        time.sleep(0.1)
    return r


def test_inside_host_fetches_from_outside_seen_as_pool_address(nat_net):
    (nat_net.tmp / "file").write_bytes(b"hello from outside\n" * 1000)
    log = nat_net.tmp / "h2-access.log"
    server = http_server(nat_net, "h2", "203.0.113.10", log)
    try:
        r = fetch(nat_net, "h1", "http://203.0.113.10:8080/file", nat_net.tmp / "got")
        assert r.returncode == 0, r.stderr
        assert (nat_net.tmp / "got").read_bytes() == (nat_net.tmp / "file").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
    access = log.read_text()
    assert f"{POOL} - - " in access and "192.168.1.10" not in access, access


def test_outside_host_reaches_inside_server_through_port_forward(nat_net):
    (nat_net.tmp / "inside").write_bytes(b"inside server\n" * 100)
    log = nat_net.tmp / "h1-access.log"
    server = http_server(nat_net, "h1", "192.168.1.10", log)
    try:
        r = fetch(nat_net, "h2", "http://203.0.113.1:8080/inside", nat_net.tmp / "got")
        assert r.returncode == 0, r.stderr
        assert (nat_net.tmp / "got").read_bytes() == (nat_net.tmp / "inside").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "203.0.113.10 - - " in log.read_text()  # the client as it is: a forward


def test_ping_through_the_nat(nat_net):
    r = ping(nat_net, "h1", "203.0.113.10")
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr
