#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The demo: a live rollout on a veth test bed. Traffic from subnet A (which
# every firewall version allows) plus 20 % attack traffic flows through the
# dispatcher; fw_v2 is rolled out and promoted, then fw_aborts is rolled out
# and stopped by the kernel circuit breaker and rolled back.
set -eu
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (XDP, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

STEP_MS=${STEP_MS:-3000}
tb_create
echo "test bed: namespaces $TB_GEN -> $TB_DUT, veth $TB_GEN_IF -> $TB_DUT_IF"

# 200k packets/s over 4096 flows: subnet A to a web server, 20 % attack from D.
tb_bg "$TB_GEN" build/trafficgen --dev "$TB_GEN_IF" --pps 200000 --flows 4096 \
	--src 198.18.1.1 --dst 198.18.2.10 --attack-share 200 --attack-src 198.18.4.1

tb_dut build/canary_demo --dev "$TB_DUT_IF" --step-ms "$STEP_MS" --budget 50 \
	--stable build/versions/fw_v1.bpf.o \
	--good build/versions/fw_v2.bpf.o \
	--bad build/versions/fw_aborts.bpf.o
