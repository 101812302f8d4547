#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The demo: canaryd runs live rollouts on a veth test bed. Traffic from
# subnet A (which every firewall version allows) plus 20 % attack traffic
# flows through the dispatcher; fw_v2 is rolled out and promoted, then
# fw_blackhole (drops subnet A) and fw_aborts (aborts 1 flow in 64) are
# rolled out and rolled back by the judge. Progress shows as the steps go.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (XDP, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

cb_create 1,5,25,50,100 3s 250ms || { echo "demo: cannot create the test bed" >&2; exit 1; }
echo "test bed: namespaces $TB_GEN -> $TB_DUT, veth $TB_GEN_IF -> $TB_DUT_IF"
cb_traffic 200000
cb_start_daemon || exit 1
echo "canaryd is up; stable fw_v1 on $TB_DUT_IF in native XDP mode"

declare -A decision seconds packets harmed
rollout() {
	local obj=$1 name rc st
	name=$(basename "$obj" .bpf.o)
	echo
	echo "== rollout of $name: shares 1% 5% 25% 50% then promotion, 3 s minimum per step"
	timeout 120 $CTL start "$TB_DUT_IF" "$obj" --wait
	rc=$?
	st=$($CTL -j status "$TB_DUT_IF")
	decision[$name]=$(jq -r '.interfaces[0].rollout.phase' <<<"$st")
	seconds[$name]=$(jq -r '.interfaces[0].rollout.elapsed_ms / 1000' <<<"$st")
	packets[$name]=$(jq -r '.interfaces[0].rollout.totals.candidate_packets' <<<"$st")
	# Packets the candidate dropped or aborted beyond what stable would have.
	harmed[$name]=$(jq -r '.interfaces[0].rollout.totals |
		(.candidate_drops + .candidate_aborted -
		 (if .stable_packets > 0 then .candidate_packets * .stable_drops / .stable_packets
		  else 0 end)) | if . < 0 then 0 else floor end' <<<"$st")
	$CTL status "$TB_DUT_IF" | sed 's/^/  /'
	echo "== $name: ${decision[$name]} (canaryctl --wait exit code $rc)"
}

rollout build/versions/fw_v2.bpf.o
rollout build/versions/fw_blackhole.bpf.o
rollout build/versions/fw_aborts.bpf.o

echo
echo "== summary"
printf '  %-14s %-12s %10s %16s %20s\n' candidate decision seconds "cand. packets" "excess drops+aborts"
for n in fw_v2 fw_blackhole fw_aborts; do
	printf '  %-14s %-12s %10.1f %16s %20s\n' "$n" "${decision[$n]}" "${seconds[$n]}" \
		"${packets[$n]}" "${harmed[$n]}"
done
[ "${decision[fw_v2]}" = promoted ] && [ "${decision[fw_blackhole]}" = rolled_back ] &&
	[ "${decision[fw_aborts]}" = rolled_back ]
