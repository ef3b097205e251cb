"""Live capture (/dpfwd/capture_start, what `dpfwdctl capture` uses): a pcapng file of
what one port receives and sends, readable by scapy (and so by tcpdump/Wireshark)."""
import time

from scapy.all import IP, UDP, Ether, rdpcap

from dpfwd_run import GW_MAC, HOST_MAC, LAN_MAC, WAN_MAC, start_dpfwd


def flows(n):
    return [Ether(dst=LAN_MAC, src=HOST_MAC) /
            IP(src="192.168.1.10", dst=f"10.99.0.{i}", ttl=64) / UDP(sport=1000 + i, dport=53)
            for i in range(n)]


def wait_capture_done(run):
    for _ in range(500):
        status = run.telemetry("/dpfwd/capture")
        if not status["running"]:
            return status
        time.sleep(0.01)
    raise AssertionError(f"capture still running: {status}")


def test_capture_count_packets_sent_and_received(tmp_path):
    """COUNT packets of a port land in the file, in and out, with their bytes."""
    sent = flows(8)
    run = start_dpfwd(tmp_path, {"lan": sent}, infinite=True, capture_tx=False)
    out = tmp_path / "lan.pcapng"
    assert run.telemetry(f"/dpfwd/capture_start,lan,50,{out}") == {"ok": 1}
    status = wait_capture_done(run)
    assert status["written"] == 50 and status["port"] == "lan"
    wan = tmp_path / "wan.pcapng"
    assert run.telemetry(f"/dpfwd/capture_start,wan,20,{wan}") == {"ok": 1}
    wait_capture_done(run)
    run.stop()
    got = rdpcap(str(out))
    assert len(got) == 50
    # lan only receives here: every captured packet is one of those sent, byte for byte.
    wanted = {bytes(p) for p in sent}
    assert all(bytes(p) in wanted for p in got)
    forwarded = rdpcap(str(wan))
    assert len(forwarded) == 20
    for p in forwarded:  # what wan sent: rewritten for the gateway, TTL decremented
        assert p[Ether].dst == GW_MAC and p[Ether].src == WAN_MAC and p[IP].ttl == 63


def test_capture_until_stopped_and_errors(tmp_path):
    run = start_dpfwd(tmp_path, {"lan": flows(4)}, infinite=True, capture_tx=False)
    out = tmp_path / "all.pcapng"
    assert run.telemetry(f"/dpfwd/capture_start,wan,0,{out}") == {"ok": 1}
    busy = run.telemetry(f"/dpfwd/capture_start,lan,0,{tmp_path / 'x.pcapng'}")
    assert busy["ok"] == 0 and "capture of port 'wan' is running" in busy["error"]
    time.sleep(0.2)
    final = run.telemetry("/dpfwd/capture_stop")
    assert final["running"] == 0 and final["written"] > 0
    assert run.telemetry("/dpfwd/capture_start,dmz,0,/tmp/x")["error"] == "no port named 'dmz'"
    assert "absolute FILE" in run.telemetry("/dpfwd/capture_start,lan,0,rel.pcapng")["error"]
    assert "No such file" in run.telemetry(
        "/dpfwd/capture_start,lan,0,/nonexistent/dir/x.pcapng")["error"]
    # Only a regular file: a FIFO without a reader would block the control thread, and
    # a symlink is not followed.
    import os
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "target.pcapng", tmp_path / "link.pcapng")
    for name in ("fifo", "link.pcapng"):
        reply = run.telemetry(f"/dpfwd/capture_start,lan,0,{tmp_path / name}")
        assert reply["ok"] == 0, (name, reply)
    assert not (tmp_path / "target.pcapng").exists()
    result = run.stop()  # conservation holds: copies are not packets
    assert len(rdpcap(str(out))) == final["written"]
    assert not result.nonzero_drops()


def test_dpfwdctl_capture(tmp_path):
    """`dpfwdctl capture PORT -c N -w FILE` (relative FILE: dpfwdctl's directory)."""
    import json
    import subprocess
    from dpfwd_run import DPFWDCTL
    run = start_dpfwd(tmp_path, {"lan": flows(4)}, infinite=True, capture_tx=False)
    try:
        r = subprocess.run([str(DPFWDCTL), "-p", run.prefix, "--json", "capture", "wan", "-c",
                            "30", "-w", "wan.pcapng"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        status = json.loads(r.stdout)
        assert status["written"] == 30 and status["file"] == str(tmp_path / "wan.pcapng")
        bad = subprocess.run([str(DPFWDCTL), "-p", run.prefix, "capture", "dmz"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1 and "no port named 'dmz'" in bad.stderr
        usage = subprocess.run([str(DPFWDCTL), "-p", run.prefix, "capture", "wan", "-c", "x"],
                               capture_output=True, text=True, timeout=60)
        assert usage.returncode == 2
    finally:
        run.stop()
    got = rdpcap(str(tmp_path / "wan.pcapng"))
    assert len(got) == 30 and all(p[Ether].dst == GW_MAC for p in got)
