#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: every figure is a difference or ratio measured side by side in
# this run, never a lone absolute time. Ends with one machine-readable line:
# bench-summary: bare_ns=B floor_added=F idle_added=I split_added=S pins_added=P
#   v6_added=V real_overhead_pct=W live_idle=L1 live_split=L2
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (BPF, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
B=${CANARY_BUILD:-build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== dispatcher vs bare program, BPF_PROG_TEST_RUN"
"$B/bench_dispatch" | tee "$out"
disp=$(sed -n 's/^dispatch-summary: //p' "$out")
[ -n "$disp" ] || { echo "bench: bench_dispatch printed no summary" >&2; exit 1; }
echo
echo "== dispatcher vs bare program, live frames through a veth"
bash tests/bench_live.sh | tee "$out"
live=$(sed -n 's/^live-summary: //p' "$out")
[ -n "$live" ] || { echo "bench: bench_live printed no summary" >&2; exit 1; }
echo
echo "bench-summary: $disp $live"
