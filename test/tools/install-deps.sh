#!/bin/sh
# Install, from Debian's archive, whatever dpfwd needs that this machine lacks.
#   install-deps.sh          build + demo packages
#   install-deps.sh --tests  also what the tests need
set -eu
pkgs="dpdk dpdk-dev libdpdk-dev libyaml-dev libpcap-dev libjansson-dev libmicrohttpd-dev meson ninja-build
      pkg-config gcc python3 python3-scapy"
# Tests: unit and end-to-end, and the real-host suite's hosts (test/netns).
[ "${1:-}" = "--tests" ] && pkgs="$pkgs python3-pytest libcmocka-dev iproute2 iputils-ping
      iputils-tracepath traceroute curl systemd"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (or with sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
