"""config/dpfwd.service: systemd accepts the unit, its reload sends SIGHUP and its
start-up check is dpfwd --check. (No systemd runs here as PID 1, so the unit itself
is not started; what its commands do is tested in test_reload.py and test_cli.py.)"""
import re
import shutil
import subprocess

import pytest

from dpfwd_run import DPFWD, REPO

UNIT = REPO / "config" / "dpfwd.service.in"


def unit_for_this_build(tmp_path):
    text = UNIT.read_text().replace("@BINDIR@", str(DPFWD.parent)).replace("@DOCDIR@", str(REPO))
    path = tmp_path / "dpfwd.service"
    path.write_text(text)
    return path, text


def test_systemd_accepts_the_unit(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed (package systemd)")
    path, _ = unit_for_this_build(tmp_path)
    r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and str(path) not in r.stderr, r.stderr


def test_unit_commands(tmp_path):
    _, text = unit_for_this_build(tmp_path)
    service = dict(re.findall(r"^(\w+)=(.*)$", text.split("[Service]")[1].split("[Install]")[0],
                              re.M))
    assert service["Type"] == "simple"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "Environment=DPFWD_CONFIG=/etc/dpfwd/dpfwd.yaml" in text
    assert service["ExecStartPre"] == f"{DPFWD} --check -c ${{DPFWD_CONFIG}}"
    assert service["ExecStart"].startswith(f"{DPFWD} $DPFWD_EAL -- -c ${{DPFWD_CONFIG}}")
