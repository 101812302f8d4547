#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: every figure is a ratio or difference measured side by side in
# this run, never a lone absolute time.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (BPF, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "== dispatcher vs bare program, BPF_PROG_TEST_RUN"
build/bench_dispatch
echo
echo "== dispatcher vs bare program, live frames through a veth"
bash tests/bench_live.sh
