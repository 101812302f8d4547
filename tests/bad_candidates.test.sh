#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 2: four bad candidates under live traffic (200 kpps: 160 kpps to
# web servers in subnet B, 20 % of it attack from subnet D, plus 40 kpps from
# subnet D to a host outside B, which only the last rule drops), each rolled back by the judge (canaryctl --wait exits 2)
# for the reason its defect predicts:
#   fw_slow       ~400x the per-packet cost    -> slow-sample rate, up
#   fw_blackhole  drops legitimate subnet A    -> drop rate, up
#   fw_aborts     XDP_ABORTED for 1 flow in 64 -> abort hard limit
#   fw_leaky      passes attack subnet D       -> drop rate, down
# and for each prints the time to rollback, the candidate's packets and the
# packets it harmed, measured from the dispatcher's counters (for fw_slow:
# the extra CPU time it cost).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 2s 200ms || fail "cannot create the test bed"
cb_traffic 160000
# Attack traffic from D to a host outside B: rule 3 (destination B) does
# not see it, rule 4 drops it, and fw_leaky's rule 4 passes it.
tb_bg "$TB_GEN" $B/trafficgen --dev "$TB_GEN_IF" --pps 40000 --flows 4096 \
	--src 198.18.4.1 --dst 198.18.5.10 >/dev/null
cb_start_daemon || fail "canaryd did not come up"

st() { $CTL -j status "$TB_DUT_IF"; }

# fw_slow goes first: the candidate row's cost counters then hold only its
# own samples, so their cumulative average is fw_slow's cost.
declare -A secs wall pkts harm reason
for name in fw_slow fw_blackhole fw_aborts fw_leaky; do
	t0=$(date +%s.%N)
	timeout 120 $CTL start "$TB_DUT_IF" "$B/versions/$name.bpf.o" --wait >"$CB_TMP/$name.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	[ $rc -eq 2 ] || { cat "$CB_TMP/$name.out"; fail "$name: --wait exited $rc, want 2 (rolled back)"; }
	s=$(st)
	[ "$(jq -r '.interfaces[0].rollout.phase' <<<"$s")" = rolled_back ] ||
		fail "$name: status phase is not rolled_back"
	reason[$name]=$(jq -r '.interfaces[0].rollout.reason' <<<"$s")
	# The decisive test of the judge: metric and direction.
	decided=$(jq -r '[.interfaces[0].rollout.tests[] | select(.decided) |
		"\(.metric)/\(.dir)/\(.test)"] | join(" ")' <<<"$s")
	case $name in
	fw_slow) want='cost/up' ;;
	fw_blackhole) want='drop/up' ;;
	fw_leaky) want='drop/down' ;;
	fw_aborts) want='abort' ;;
	esac
	[[ " $decided ${reason[$name]}" == *"$want"* ]] ||
		fail "$name: rolled back for '$decided' (${reason[$name]}), want $want"
	secs[$name]=$(jq -r '.interfaces[0].rollout.elapsed_ms / 1000' <<<"$s")
	wall[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	pkts[$name]=$(jq -r '.interfaces[0].rollout.totals.candidate_packets' <<<"$s")
	case $name in
	fw_blackhole | fw_aborts)
		# Drops and aborts beyond what stable would have dropped of the same packets.
		harm[$name]=$(jq -r '.interfaces[0].rollout.totals |
			(.candidate_drops + .candidate_aborted -
			 .candidate_packets * .stable_drops / .stable_packets) | floor |
			"\(.) excess drops+aborts"' <<<"$s") ;;
	fw_leaky)
		# Attack packets passed that stable would have dropped.
		harm[$name]=$(jq -r '.interfaces[0].rollout.totals |
			(.candidate_packets * .stable_drops / .stable_packets - .candidate_drops) |
			floor | "\(.) attack packets passed"' <<<"$s") ;;
	fw_slow)
		# Extra CPU time: (candidate - stable) average cost times its packets.
		harm[$name]=$(jq -r '.interfaces[0] |
			(.versions.candidate.cost_ns_avg - .versions.stable.cost_ns_avg) as $d |
			"\($d | floor) ns/packet extra (\(.versions.candidate.cost_ns_avg | floor) vs " +
			"\(.versions.stable.cost_ns_avg | floor) ns), " +
			"\($d * .rollout.totals.candidate_packets / 1e6 | floor) ms CPU in all"' <<<"$s")
		awk -v c="$(jq '.interfaces[0].versions.candidate.cost_ns_avg' <<<"$s")" \
			-v b="$(jq '.interfaces[0].versions.stable.cost_ns_avg' <<<"$s")" \
			'BEGIN { exit !(c > 10 * b) }' || fail "fw_slow does not cost more than stable" ;;
	esac
	# Stable alone carries the traffic again: nothing reaches the candidate slot.
	cb_wait_status "$TB_DUT_IF" '.versions.candidate.pps == 0 and .versions.stable.pps > 1000' \
		10 "stable alone carrying the traffic" || fail "$name: after the rollback"
done

echo "bad candidates under 200 kpps (steps 5,25,50,100; 2 s per step; interval 200 ms):"
printf '  %-13s %9s %9s %13s  %s\n' candidate "rollback" "--wait" "cand. pkts" "harmed"
for name in fw_slow fw_blackhole fw_aborts fw_leaky; do
	printf '  %-13s %8.1fs %8.1fs %13s  %s\n' "$name" "${secs[$name]}" "${wall[$name]}" \
		"${pkts[$name]}" "${harm[$name]}"
done
for name in fw_slow fw_blackhole fw_aborts fw_leaky; do
	echo "  $name: ${reason[$name]}"
done
exit 0
