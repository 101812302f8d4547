#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Paired evidence in the live steps (issue 15) under live traffic on a veth
# pair in namespaces made here. fw_v2 over fw_v1 with a 5 % first step, the
# split judge alone and then with --shadow-live on the same traffic: the
# 5 % step takes at least twice as long without (measured here, reported);
# fw_blackhole at 1 % with --shadow-live is rolled back, and the test
# reports which evidence came first and the packets it harmed.
#
# The bed's traffic at 5,000 packets/s (250/s and 50 drops/s on the
# candidate at 5 %): at 50,000 the split judge proves this A/A step at its
# bake time too, and there is nothing to compare. min_packets = 200 (the
# step's exposure, 0.8 s at 5 %); shadow_live_every = 1 (at 5,000
# packets/s the default 1 in 64 gives 78 samples a second, and a proof
# needs about 800).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,100 1s 200ms || fail "cannot create the test bed"
sed -i "s|^min_packets = .*|min_packets = 200|" "$CB_TMP/canaryd.ini"
sed -i "s|^warmup = .*|&\nshadow_live_every = 1|" "$CB_TMP/canaryd.ini"
grep -q "^shadow_live_every = 1$" "$CB_TMP/canaryd.ini" || fail "cannot set shadow_live_every"
cb_traffic 5000
cb_start_daemon || fail "canaryd did not come up"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 20 "stable forwarding" ||
	fail "no traffic through stable"

ro() { $CTL -j status "$TB_DUT_IF" | jq -c ".interfaces[0].$1"; }

# The split judge alone first (at most CAP s), then back to fw_v1 as stable.
CAP=30
t0=$(date +%s%N)
timeout "$CAP" $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --wait >"$CB_TMP/split.out" 2>&1
rc=$?
without_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(ro rollout.shadow)" = null ] || fail "without --shadow-live: rollout.shadow $(ro rollout.shadow)"
# The judge's time in the 5 % step, from the reason ("(step 1, 4.2 s)").
step_s() { sed -n 's/.*(step 1, \([0-9.]*\) s).*/\1/p' <<<"$1"; }
if [ $rc -eq 124 ]; then
	without_step=$CAP
	split="not proven within $CAP s ($(ro rollout.phase), step $(ro rollout.step): $(ro rollout.reason | cut -c1-200))"
	$CTL abort "$TB_DUT_IF" >/dev/null || fail "cannot abort the split-only rollout"
else
	[ $rc -eq 0 ] || { cat "$CB_TMP/split.out"; fail "fw_v2 without --shadow-live: exit $rc"; }
	ro rollout.reason | grep -q paired && fail "without --shadow-live, a paired reason: $(ro rollout.reason)"
	without_step=$(step_s "$(ro rollout.reason)")
	[ -n "$without_step" ] || fail "without --shadow-live: no step time in $(ro rollout.reason)"
	split="promoted in $without_ms ms, $without_step s in the 5 % step: $(ro rollout.reason | cut -c1-300)"
	$CTL revert "$TB_DUT_IF" >/dev/null || fail "cannot revert to fw_v1"
fi
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "aborted" and (.stable.object | endswith("/fw_v1.bpf.o"))' \
	10 "fw_v1 stable again" || fail "fw_v1 is not the stable version again"
echo "fw_v2 over fw_v1, steps 5,100, the split judge alone: $split"

# With paired evidence, on the same traffic: promoted, the 5 % step proven on it.
t0=$(date +%s%N)
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --shadow-live --wait \
	>"$CB_TMP/live.out" 2>&1
rc=$?
with_ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] || { cat "$CB_TMP/live.out"; fail "fw_v2 --shadow-live: --wait exited $rc, want 0"; }
[ "$(ro rollout.phase)" = '"promoted"' ] || fail "fw_v2 --shadow-live: phase $(ro rollout.phase)"
reason=$(ro rollout.reason)
[[ $reason == *"promoted on paired evidence"* ]] ||
	fail "fw_v2 --shadow-live: not promoted on paired evidence: $reason"
with_step=$(step_s "$reason")
[ -n "$with_step" ] || fail "fw_v2 --shadow-live: no step time in $reason"
live=$(ro rollout.shadow.live)
jq -e '.active == false and .loaded and .samples > 0 and .stale >= 0 and .stable_flows > 0 and
	.candidate_flows > 0 and .fidelity == 1 and .this_step.samples > 0 and
	(.cells | map(select(.stable != .candidate)) | length) == 0 and .alpha == 0.005' \
	<<<"$live" >/dev/null || fail "fw_v2 --shadow-live: rollout.shadow.live: $live"
grep -q "iface $TB_DUT_IF: paired evidence: replaying samples (1 in 1, at most 2000/s per CPU)" \
	"$CB_TMP/canaryd.log" || fail "fw_v2 --shadow-live: no paired evidence line in the log"
grep -q "iface $TB_DUT_IF: paired evidence over after 2 live steps: " "$CB_TMP/canaryd.log" ||
	fail "fw_v2 --shadow-live: the pairing did not end with the rollout"
[ "$(cb_kernel_share)" = 0 ] || fail "fw_v2: kernel share $(cb_kernel_share) after the promotion"
echo "fw_v2 over fw_v1 --shadow-live, steps 5,100: promoted in $with_ms ms, $with_step s in the 5 % step;" \
	"live steps $(jq -r '"\(.samples) samples (\(.stable_flows) of stable'"'"'s flows, \(.candidate_flows) of the candidate'"'"'s), fidelity \(.fidelity)"' <<<"$live");" \
	"reason: $reason"
# The direction, with a margin: the 5 % step at least twice as long without (or not proven in CAP s).
awk -v w="$with_step" -v wo="$without_step" 'BEGIN { exit !(wo >= 2 * w) }' ||
	fail "paired evidence did not speed the 5 % step: $with_step s with, $without_step s without"

# A black hole at 1 %: rolled back; which evidence first, and the packets it harmed.
harmed() {
	ro rollout.totals | jq -r 'if .candidate_packets == 0 then 0 else
		(.candidate_drops - .candidate_packets * .stable_drops / .stable_packets) | floor end'
}
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_blackhole.bpf.o --steps 1,100 --shadow-live \
	--wait >"$CB_TMP/bh.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$CB_TMP/bh.out"; fail "fw_blackhole --shadow-live: --wait exited $rc, want 2"; }
reason=$(ro rollout.reason)
[[ $reason == *"harmful on paired evidence"* || $reason == '"harmful: '* ]] ||
	fail "fw_blackhole: not rolled back on harm: $reason"
if [[ $reason == *"paired evidence"* ]]; then
	first=paired
	[ "$(ro rollout.shadow.live.decision)" = '"harmful"' ] ||
		fail "fw_blackhole: decision $(ro rollout.shadow.live.decision)"
	ro rollout.shadow.live.harm | grep -q "pass->drop" ||
		fail "fw_blackhole: the harm names no pass->drop cell: $(ro rollout.shadow.live.harm)"
else
	first=split
fi
[ "$(cb_kernel_share)" = 0 ] || fail "fw_blackhole: kernel share $(cb_kernel_share) after the rollback"
echo "fw_blackhole --shadow-live at 1 %: rolled back after $(ro rollout.elapsed_ms) ms," \
	"first by the $first evidence, harmed packets $(harmed) ($(ro rollout.totals.candidate_packets)" \
	"live candidate packets); reason: $reason"
echo "  canaryctl status: $($CTL status "$TB_DUT_IF" | grep -E '^ *paired ')"
exit 0
