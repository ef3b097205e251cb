"""dpfwdctl: the telemetry client, against a running dpfwd and against a stand-in server.

The stand-in speaks DPDK's telemetry v2 protocol with canned replies, so that paging,
reload failures and odd values are tested whatever the /dpfwd/ commands look like today.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from scapy.all import IP, UDP, Ether, Raw

from dpfwd_run import CLIENT_MAC, DPFWDCTL, LAN_MAC, TWO_PORT_CONFIG, start_dpfwd

SENT = 5  # packets forwarded lan -> wan before the tests look at the counters
EXTRA_ROUTES = 1000  # more than one 16 KiB reply: routes come in several pages


def ctl(*args, env=None):
    if not DPFWDCTL.exists():
        pytest.fail(f"{DPFWDCTL} not built: run ninja -C build")
    return subprocess.run([str(DPFWDCTL), *args], capture_output=True, text=True,
                          timeout=60, env=env)


class Telemetry:
    """A client of the socket, as DPDK's usertools/dpdk-telemetry.py is."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(str(path))
        self.max_len = json.loads(self.sock.recv(1024))["max_output_len"]

    def query(self, cmd):
        self.sock.send(cmd.encode())
        return json.loads(self.sock.recv(self.max_len))[cmd.split(",")[0]]

    def pages(self, cmd):
        """Every page of a paged command, columns concatenated."""
        merged, start = None, 0
        while True:
            page = self.query(f"{cmd},{start}")
            if merged is None:
                merged = page
            else:
                for k, v in page.items():
                    if isinstance(v, list):
                        merged[k] += v
            if "next" not in page:
                merged.pop("next", None)
                return merged
            start = page["next"]


def config_with_routes():
    routes = "".join(f"  - {{prefix: 10.99.{i // 250}.{i % 250}/32, via: 192.168.1.10}}\n"
                     for i in range(EXTRA_ROUTES))
    return TWO_PORT_CONFIG.replace("dataplane:", routes + "dataplane:")


@pytest.fixture(scope="module")
def dpfwd(tmp_path_factory):
    pkt = Ether(src=CLIENT_MAC, dst=LAN_MAC) / IP(src="192.168.1.10", dst="8.8.8.8") / \
        UDP(sport=1000, dport=53) / Raw(b"x" * 40)
    run = start_dpfwd(tmp_path_factory.mktemp("dpfwdctl"), {"lan": [pkt] * SENT},
                      config_text=config_with_routes())
    try:
        tel = Telemetry(run.telemetry_socket)
        # The counters compared below must have stopped moving: wait for the last packet.
        deadline = time.monotonic() + 30
        while tel.query("/ethdev/stats,1")["opackets"] < SENT:
            assert time.monotonic() < deadline, "dpfwd never forwarded the packets"
            time.sleep(0.05)
        run.tel = tel
        yield run
    finally:
        run.stop()


def needs(run, cmd):
    if cmd not in run.tel.query("/"):
        pytest.skip(f"needs the /dpfwd telemetry commands ({cmd} is not registered)")


# ---- without dpfwd ----

def test_help_and_version():
    h = ctl("--help")
    assert h.returncode == 0 and h.stdout.startswith("usage: dpfwdctl")
    for word in ("stats", "routes", "neighbours", "config", "reload", "raw", "-p", "--json"):
        assert word in h.stdout
    v = ctl("--version")
    assert v.returncode == 0 and re.fullmatch(r"dpfwdctl \d+\.\d+\.\d+\n", v.stdout)


# A prefix nothing runs with: a usage error must be reported before any connection.
ABSENT = "dpfwd_test_absent_" + uuid.uuid4().hex[:8]


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["stats", "extra"], ["raw"], ["raw", "/a", "/b"],
    ["raw", "ethdev/list"], ["raw", "/" + "x" * 1100], ["--bogus", "stats"], ["-p"],
    ["-p", "a/b", "stats"], ["-p", "", "stats"],
], ids=lambda a: " ".join(a)[:30] or "none")
def test_usage_errors_exit_2(args):
    r = ctl(*(["-p", ABSENT] if args[:1] != ["-p"] else []), *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("dpfwdctl") or "usage" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("cmd", [["stats"], ["routes"], ["raw", "/ethdev/list"]])
def test_not_running_exits_3_and_says_where_it_looked(cmd):
    r = ctl("-p", ABSENT, *cmd)
    assert r.returncode == 3
    assert "dpfwd is not running" in r.stderr
    assert f"/var/run/dpdk/{ABSENT}/dpdk_telemetry.v2" in r.stderr
    assert "-p" in r.stderr
    assert r.stdout == ""


def test_stale_socket_is_not_running(tmp_path):
    """A socket nobody listens on: what a killed dpfwd leaves behind."""
    prefix = "stale"
    path = tmp_path / "dpdk" / prefix / "dpdk_telemetry.v2"
    path.parent.mkdir(parents=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(str(path))
    s.close()
    r = ctl("-p", prefix, "stats", env=dict(os.environ, RUNTIME_DIRECTORY=str(tmp_path)))
    assert r.returncode == 3
    assert "not running" in r.stderr and str(path) in r.stderr


# ---- against dpfwd: DPDK's own commands ----

def test_raw_list_is_one_value_per_line(dpfwd):
    direct = dpfwd.tel.query("/ethdev/list")
    r = ctl("-p", dpfwd.prefix, "raw", "/ethdev/list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(p) for p in direct] == ["0", "1"]
    j = ctl("-p", dpfwd.prefix, "--json", "raw", "/ethdev/list")
    assert j.returncode == 0 and json.loads(j.stdout) == direct


def test_raw_json_is_the_reply_value_in_server_order(dpfwd):
    for port in (0, 1):
        direct = dpfwd.tel.query(f"/ethdev/stats,{port}")
        # options may also follow the command
        r = ctl("-p", dpfwd.prefix, "raw", f"/ethdev/stats,{port}", "--json")
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        assert got == direct and list(got) == list(direct)
    assert direct["opackets"] == SENT


def test_raw_mixed_dict_is_lines_then_a_table(dpfwd):
    for port, busy in ((0, "q_ipackets"), (1, "q_opackets")):
        direct = dpfwd.tel.query(f"/ethdev/stats,{port}")
        r = ctl("-p", dpfwd.prefix, "raw", f"/ethdev/stats,{port}")
        assert r.returncode == 0, r.stderr
        head, table = r.stdout.split("\n\n")
        scalars = [k for k, v in direct.items() if not isinstance(v, list)]
        columns = [k for k, v in direct.items() if isinstance(v, list)]
        lines = head.splitlines()
        assert [line.split(":")[0] for line in lines] == scalars
        assert [line.split(":", 1)[1].strip() for line in lines] == \
            [str(direct[k]) for k in scalars]
        # values start in one column
        assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}) == 1
        rows = table.splitlines()
        assert rows[0].split() == columns == ["q_ipackets", "q_opackets", "q_ibytes",
                                              "q_obytes", "q_errors"]
        assert len(rows) == 1 + len(direct["q_ipackets"])
        for i, row in enumerate(rows[1:]):
            assert row.split() == [str(direct[c][i]) for c in columns]
        # every row as wide as the header: numbers right-aligned under it
        assert len({len(row) for row in rows}) == 1
        assert direct[busy][0] == SENT and rows[1].split()[columns.index(busy)] == str(SENT)


def test_raw_root_lists_the_commands(dpfwd):
    r = ctl("-p", dpfwd.prefix, "raw", "/")
    assert r.returncode == 0
    assert r.stdout.splitlines() == dpfwd.tel.query("/")
    assert "/ethdev/stats" in r.stdout.splitlines()


def test_raw_unknown_command_and_bad_parameter_fail(dpfwd):
    r = ctl("-p", dpfwd.prefix, "raw", "/no/such/command")
    assert r.returncode == 1 and "no command /no/such/command" in r.stderr
    r = ctl("-p", dpfwd.prefix, "raw", "/ethdev/stats,99")
    assert r.returncode == 1 and "/ethdev/stats,99 failed" in r.stderr
    assert r.stdout == ""


# ---- against dpfwd: its own commands ----

def test_stats_sections(dpfwd):
    needs(dpfwd, "/dpfwd/stats")
    r = ctl("-p", dpfwd.prefix, "stats")
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stdout.splitlines() if line.startswith("[")][:3] == \
        ["[stats]", "[workers]", "[drops]"]
    j = ctl("-p", dpfwd.prefix, "--json", "stats")
    got = json.loads(j.stdout)
    assert list(got) == ["stats", "workers", "drops"]
    for name in got:
        direct = dpfwd.tel.query(f"/dpfwd/{name}")
        assert type(got[name]) is type(direct)
        if isinstance(direct, dict):
            assert list(got[name]) == list(direct)
    assert got["drops"] == dpfwd.tel.query("/dpfwd/drops")  # no traffic: they stay put


@pytest.mark.parametrize("cmd", ["routes", "neighbours"])
def test_paged_tables_are_merged(dpfwd, cmd):
    needs(dpfwd, f"/dpfwd/{cmd}")
    direct = dpfwd.tel.pages(f"/dpfwd/{cmd}")
    j = ctl("-p", dpfwd.prefix, "--json", cmd)
    assert j.returncode == 0, j.stderr
    got = json.loads(j.stdout)
    assert got == direct and "next" not in got
    columns = [k for k, v in got.items() if isinstance(v, list)]
    assert columns and all(len(got[c]) == got["total"] for c in columns)
    r = ctl("-p", dpfwd.prefix, cmd)
    lines = r.stdout.splitlines()
    assert not any(re.match(r"(total|start|next):", line) for line in lines)
    header = lines.index(next(line for line in lines if line.split() == columns))
    assert len(lines) - header - 1 == got["total"]
    if cmd == "routes":
        assert got["total"] >= EXTRA_ROUTES + 9
        assert dpfwd.tel.query("/dpfwd/routes,0").get("next"), "one page: paging untested"
        assert "10.99.3.249/32" in r.stdout
    else:
        assert got["total"] >= 5


def test_config(dpfwd):
    needs(dpfwd, "/dpfwd/config")
    j = ctl("-p", dpfwd.prefix, "--json", "config")
    assert j.returncode == 0, j.stderr
    assert json.loads(j.stdout) == dpfwd.tel.query("/dpfwd/config")
    assert ctl("-p", dpfwd.prefix, "config").returncode == 0


def test_reload_refused_then_accepted(dpfwd):
    needs(dpfwd, "/dpfwd/reload")
    good = dpfwd.cfg.read_text()
    try:
        dpfwd.cfg.write_text(good.replace("routes:", "routez:"))
        r = ctl("-p", dpfwd.prefix, "reload")
        assert r.returncode == 1
        # the file's path, or its name where the whole path would make it too long
        assert re.search(r"reload failed: (\S*/)?dpfwd\.yaml:\d+:\d+: ", r.stderr), r.stderr
    finally:
        dpfwd.cfg.write_text(good)
    j = ctl("-p", dpfwd.prefix, "--json", "reload")
    assert j.returncode == 0, j.stderr
    assert json.loads(j.stdout)["ok"] in (1, True)


# ---- against a stand-in server ----

class FakeTelemetry:
    """Telemetry v2 at DIR/dpdk/PREFIX/dpdk_telemetry.v2. REPLY(request) gives the
    value to answer with, or bytes to send as they are."""

    def __init__(self, runtime_dir, reply, hello=True):
        self.prefix = "fake_" + uuid.uuid4().hex[:8]
        self.path = runtime_dir / "dpdk" / self.prefix / "dpdk_telemetry.v2"
        self.path.parent.mkdir(parents=True)
        self.env = dict(os.environ, RUNTIME_DIRECTORY=str(runtime_dir))
        self.reply, self.hello, self.requests = reply, hello, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.bind(str(self.path))
        self.sock.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                if not self.hello:
                    continue  # hangs up at once, as DPDK does when it has too many clients
                conn.send(json.dumps({"version": "fake", "pid": os.getpid(),
                                      "max_output_len": 16384}).encode())
                while req := conn.recv(1024).decode():
                    self.requests.append(req)
                    value = self.reply(req)
                    conn.send(value if isinstance(value, bytes) else
                              json.dumps({req.split(",")[0]: value}).encode())

    def ctl(self, *args):
        return ctl("-p", self.prefix, *args, env=self.env)

    def close(self):
        self.sock.close()


@pytest.fixture
def fake(tmp_path):
    servers = []

    def make(reply, runtime_dir=tmp_path, **kw):
        servers.append(FakeTelemetry(runtime_dir, reply, **kw))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


ROUTES = [f"10.0.{i}.0/24" for i in range(7)]


def routes_pages(page_size, generation=lambda n: 4):
    """/dpfwd/routes,START in pages of PAGE_SIZE; GENERATION(request number)."""
    count = [0]

    def reply(req):
        cmd, _, arg = req.partition(",")
        if cmd == "/":
            return ["/", "/dpfwd/routes"]
        count[0] += 1
        start = int(arg)
        rows = ROUTES[start:start + page_size]
        page = {"total": len(ROUTES), "start": start, "generation": generation(count[0]),
                "prefix": rows, "via": ["192.0.2.1"] * len(rows),
                "port": list(range(start, start + len(rows)))}
        if start + page_size < len(ROUTES):
            page["next"] = start + page_size
        return page
    return reply


def test_every_page_is_fetched_and_merged(fake):
    srv = fake(routes_pages(3))
    j = srv.ctl("--json", "routes")
    assert j.returncode == 0, j.stderr
    assert srv.requests == ["/dpfwd/routes,0", "/dpfwd/routes,3", "/dpfwd/routes,6"]
    got = json.loads(j.stdout)
    assert got == {"total": 7, "start": 0, "generation": 4, "prefix": ROUTES,
                   "via": ["192.0.2.1"] * 7, "port": list(range(7))}
    assert list(got) == ["total", "start", "generation", "prefix", "via", "port"]
    r = srv.ctl("routes")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == (
        ["generation: 4", "", "prefix       via        port"] +
        [f"{p:<11}  192.0.2.1  {i:>4}" for i, p in enumerate(ROUTES)])


def test_a_table_that_changes_between_pages_is_read_again(fake):
    srv = fake(routes_pages(3, generation=lambda n: 4 if n == 1 else 5))
    j = srv.ctl("--json", "routes")
    assert j.returncode == 0, j.stderr
    assert srv.requests == ["/dpfwd/routes,0", "/dpfwd/routes,3"] + \
        ["/dpfwd/routes,0", "/dpfwd/routes,3", "/dpfwd/routes,6"]
    assert json.loads(j.stdout)["prefix"] == ROUTES


def test_a_table_that_never_holds_still_fails(fake):
    srv = fake(routes_pages(3, generation=lambda n: n))
    r = srv.ctl("routes")
    assert r.returncode == 1 and "kept changing" in r.stderr


def test_a_next_that_does_not_move_on_fails(fake):
    srv = fake(lambda req: ["/"] if req == "/" else
               {"total": 9, "start": 0, "next": 0, "prefix": ["a"]})
    r = srv.ctl("routes")
    assert r.returncode == 1 and "does not move on" in r.stderr
    assert len(srv.requests) == 1


def test_reload_failure_prints_the_error_and_exits_1(fake):
    err = "/etc/dpfwd.yaml:12:7: unknown key 'routez'"
    srv = fake(lambda req: {"ok": 0, "generation": 3, "error": err})
    r = srv.ctl("reload")
    assert r.returncode == 1
    assert f"reload failed: {err}" in r.stderr and r.stdout == ""
    j = srv.ctl("--json", "reload")
    assert j.returncode == 1 and json.loads(j.stdout)["error"] == err


def test_reload_success(fake):
    srv = fake(lambda req: {"ok": 1, "generation": 4})
    r = srv.ctl("reload")
    assert r.returncode == 0 and r.stdout.splitlines() == ["ok:         1", "generation: 4"]
    assert srv.requests == ["/dpfwd/reload"]


def test_stats_prints_three_sections(fake):
    replies = {"/dpfwd/stats": {"uptime_s": 12, "rx_packets": 100},
               "/dpfwd/workers": {"lcore": [1, 2], "loops": [1000, 20]},
               "/dpfwd/drops": {"ttl_exceeded": 3, "no_route": 0}}
    srv = fake(lambda req: replies[req])
    r = srv.ctl("stats")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("[stats]\nuptime_s:   12\nrx_packets: 100\n\n"
                        "[workers]\nlcore  loops\n    1   1000\n    2     20\n\n"
                        "[drops]\nttl_exceeded: 3\nno_route:     0\n")
    j = srv.ctl("--json", "stats")
    assert json.loads(j.stdout) == {k.split("/")[2]: v for k, v in replies.items()}


def test_unknown_dpfwd_command_is_named(fake):
    srv = fake(lambda req: ["/", "/ethdev/list"] if req == "/" else None)
    r = srv.ctl("config")
    assert r.returncode == 1 and "no command /dpfwd/config" in r.stderr


def test_odd_values(fake):
    """Strings with blanks and escapes, empty cells, nested and ragged arrays, u64
    counters past jansson's signed integers."""
    value = {"name": "a \"b\"\tc", "big": 18446744073709551615, "small": 7, "ratio": 0.25,
             "flag": True, "none": None, "empty": "", "ragged": [1, 2, 3], "short": [1]}
    srv = fake(lambda req: value)
    r = srv.ctl("raw", "/odd")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        'name:   a "b"\tc', "big:    1.84467440737096e+19", "small:  7", "ratio:  0.25",
        "flag:   true", "none:   null", "empty:", "ragged: [1,2,3]", "short:  [1]"]
    got = json.loads(srv.ctl("--json", "raw", "/odd").stdout)
    assert got["small"] == 7 and isinstance(got["small"], int)
    assert got["big"] == pytest.approx(18446744073709551615)
    assert {k: v for k, v in got.items() if k != "big"} == \
        {k: v for k, v in value.items() if k != "big"}

    table = {"total": 2, "name": ["", "x y"], "n": [1, 22]}
    r = fake(lambda req: table).ctl("raw", "/t")
    assert r.stdout.splitlines() == ["total: 2", "", "name   n", "-      1", "x y   22"]


def test_garbage_fails(fake):
    srv = fake(lambda req: b"{not json")
    r = srv.ctl("raw", "/x")
    assert r.returncode == 1 and "not JSON" in r.stderr


def test_server_that_hangs_up_fails(fake):
    srv = fake(lambda req: None, hello=False)
    r = srv.ctl("stats")
    assert r.returncode == 1 and "closed the connection" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv, to run dpfwdctl as another user")
def test_a_user_looks_under_xdg_runtime_dir(fake):
    """EAL puts a non-root process's runtime directory under $XDG_RUNTIME_DIR."""
    xdg = tempfile.mkdtemp(prefix="dpfwdctl_xdg_")
    try:
        srv = fake(lambda req: ["/", "/x"], runtime_dir=Path(xdg))
        for d in (xdg, srv.path.parent.parent, srv.path.parent):
            os.chmod(d, 0o755)
        os.chmod(srv.path, 0o777)
        env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"}
        env["XDG_RUNTIME_DIR"] = xdg
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                  str(DPFWDCTL)]
        r = subprocess.run(nobody + ["-p", srv.prefix, "raw", "/"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["/", "/x"]
        r = subprocess.run(nobody + ["-p", "absent", "raw", "/"], env=env,
                           capture_output=True, text=True, timeout=60)
        # root's runtime directory is tried too: not running, or not to be known
        try:
            open_to_all = os.stat("/var/run/dpdk").st_mode & 0o001
        except FileNotFoundError:
            open_to_all = True
        assert r.returncode == (3 if open_to_all else 1), r.stderr
        assert f"{xdg}/dpdk/absent/dpdk_telemetry.v2" in r.stderr
        assert "/var/run/dpdk/absent/dpdk_telemetry.v2" in r.stderr
    finally:
        shutil.rmtree(xdg)
