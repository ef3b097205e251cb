#!/bin/sh
# The demo: install what is missing, build, generate traffic, run dpfwd on two
# net_pcap ports with config/demo.yaml, and print what happened.
set -eu
cd "$(dirname "$0")/../.."
test/tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
out=out/demo
rm -rf "$out" && mkdir -p "$out"
/usr/bin/python3 test/tools/gen_demo_traffic.py "$out"
build/app/dpfwd/dpfwd --no-huge -m 512 --no-pci --no-shconf --file-prefix "dpfwd_demo_$$" \
	-l 0-1 --log-level pmd.net.pcap:error \
	--vdev "net_pcap0,rx_pcap=$out/lan.pcap,tx_pcap=$out/lan-out.pcap" \
	--vdev "net_pcap1,rx_pcap=$out/wan.pcap,tx_pcap=$out/wan-out.pcap" \
	-- -c config/demo.yaml --idle-exit 500 --stats-json "$out/stats.json"
echo "output captures: $out/lan-out.pcap $out/wan-out.pcap (tcpdump -nr FILE)"
echo "counters as JSON: $out/stats.json"
