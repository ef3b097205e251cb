#!/usr/bin/python3
"""Reload dpfwd's config N times while it forwards at full rate; report the rate.

    reload_under_load.py FILE_PREFIX CONFIG [--reloads N] [--warmup S]

Alternates CONFIG and CONFIG with one more route (a blackhole for a prefix the
traffic never uses), so every reload builds and publishes a new table set, through
dpfwd's /dpfwd/reload telemetry command (which returns when the old set is freed).
Prints one JSON object: reloads done, refused ones, the seconds they took and the
forwarding rate (Mpps, from /ethdev/stats) over that time. Whether anything was lost
is for dpfwd's --stats-json to say (drops by reason, received = sent + dropped).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from telemetry_rate import RUNTIME_DIR, SOCKET_NAME, Telemetry  # noqa: E402

EXTRA_ROUTE = "  - {prefix: 203.0.113.0/24, action: blackhole}\n"


def wait_socket(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"reload_under_load: no {path}")
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("config")
    ap.add_argument("--reloads", type=int, default=100)
    ap.add_argument("--warmup", type=float, default=1.0)
    args = ap.parse_args()
    path = os.path.join(RUNTIME_DIR, args.prefix, SOCKET_NAME)
    wait_socket(path)
    time.sleep(0.5)  # the socket exists before the commands are registered
    tel = Telemetry(path)
    while tel.query("/dpfwd/stats") is None or sum(tel.query("/dpfwd/stats")["rx_packets"]) == 0:
        time.sleep(0.1)
    time.sleep(args.warmup)
    original = open(args.config, encoding="utf-8").read()
    assert "\nroutes:\n" in original, "expects a block-style routes: list"
    variant = original.replace("\nroutes:\n", "\nroutes:\n" + EXTRA_ROUTE, 1)
    t0, before = tel.stats([0, 1])
    refused = 0
    try:
        for i in range(args.reloads):
            with open(args.config, "w", encoding="utf-8") as f:
                f.write(variant if i % 2 == 0 else original)
            reply = tel.query("/dpfwd/reload")
            refused += not (reply and reply.get("ok"))
    finally:
        with open(args.config, "w", encoding="utf-8") as f:
            f.write(original)
    t1, after = tel.stats([0, 1])
    sent = sum(after[p][1] - before[p][1] for p in (0, 1))
    print(json.dumps({"reloads": args.reloads, "refused": refused,
                      "seconds": round(t1 - t0, 3), "tx_mpps": round(sent / (t1 - t0) / 1e6, 2)}))


if __name__ == "__main__":
    main()
