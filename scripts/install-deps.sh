#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs every Debian 12 package the project needs to build, test and demo,
# and mounts bpffs if it is absent. Run as root.
set -euo pipefail

PKGS=(
	make gcc clang llvm pkg-config libclang-rt-14-dev valgrind
	libbpf-dev libxdp-dev bpftool xdp-tools libelf-dev zlib1g-dev
	libinih-dev libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libssl-dev
	libpcap-dev libcmocka-dev libsystemd-dev libmnl-dev
	iproute2 ethtool util-linux procps jq python3 python3-yaml
	curl systemd stress-ng
	ansible-core prometheus bash-completion
	scdoc man-db groff-base bsdextrautils debhelper dpkg-dev fakeroot lintian
	chromium
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get and bpffs need it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${PKGS[@]}"

if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi
