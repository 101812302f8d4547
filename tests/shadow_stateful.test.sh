#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The shadow phase with a stateful stable (issue 15): fw_stateful drops every
# 2nd packet of a flow by a per-flow count. Its shadow instance starts from a
# copy of the live map but sees only the sampled packets, so its verdicts
# part from the live ones: low fidelity, the evidence is weak, and the
# candidate is not judged as if the versions were stateless: no rollback in
# the shadow phase (the decision harm would give: fw_v1 passes what it
# drops), the live steps follow at the end of the shadow time. A canaryd
# restarted in the phase takes it up again (instances loaded anew).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 30s 200ms || fail "cannot create the test bed"
sed -i "s|^stable = .*|stable = $B/versions/fw_stateful.bpf.o|" "$CB_TMP/canaryd.ini"
# 2,000 samples per second per CPU: the shadow sees a few of each flow's packets
# whatever the machine's speed (at 20,000 it might see them all, and then its
# count keeps step with the live one: fidelity 1, a faithful replay).
sed -i "s|^warmup = .*|&\nshadow_rate = 2000|" "$CB_TMP/canaryd.ini"
grep -q "^shadow_rate = 2000$" "$CB_TMP/canaryd.ini" || fail "cannot set shadow_rate"
# 4,096 flows: fw_stateful's LRU map (65,536 entries) holds every one, so
# it does drop every 2nd packet of each (with more flows than entries the
# LRU forgets them and it passes nearly all).
tb_bg "$TB_GEN" $B/trafficgen --dev "$TB_GEN_IF" --pps 60000 --flows 4096 \
	--src 198.18.1.1 --dst 198.18.2.10 --attack-share 200 --attack-src 198.18.4.1 >/dev/null
cb_start_daemon || fail "canaryd did not come up"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 20 "stable forwarding" ||
	fail "no traffic through stable"

ro() { $CTL -j status "$TB_DUT_IF" | jq -c ".interfaces[0].$1"; }

$CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o --shadow 6s >/dev/null || fail "cannot start fw_v1 --shadow 6s"
cb_wait_status "$TB_DUT_IF" '.rollout.shadow.active == true and .rollout.shadow.samples > 0' 10 \
	"the shadow phase" || fail "no shadow phase"
[ "$(cb_kernel_share)" = 0 ] || fail "kernel share $(cb_kernel_share) in the shadow phase, want 0"
# Restart canaryd in the phase: it is taken up again, the candidate still at share 0.
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
cb_start_daemon || fail "canaryd did not come back"
cb_wait_status "$TB_DUT_IF" '.rollout.shadow.active == true and .rollout.shadow.samples > 0' 10 \
	"the shadow phase after the restart" || fail "the shadow phase was not taken up after a restart"
[ "$(grep -c "shadow phase: replaying samples" "$CB_TMP/canaryd.log")" = 2 ] ||
	fail "the shadow instances were not loaded again after the restart"
[ "$(cb_kernel_share)" = 0 ] || fail "kernel share $(cb_kernel_share) after the restart, want 0"
[ "$(ro versions.candidate.packets)" = 0 ] || fail "the candidate got $(ro versions.candidate.packets) packets"
echo "restart in the shadow phase: taken up again, $(ro rollout.shadow.samples) samples since"
cb_wait_status "$TB_DUT_IF" '.rollout.shadow.active == false' 20 "the end of the shadow phase" ||
	fail "the shadow phase did not end"
[ "$(ro rollout.phase)" = '"progressing"' ] ||
	fail "phase $(ro rollout.phase) after the shadow phase, want progressing: $(ro rollout.reason)"
[ "$(ro rollout.shadow.decision)" = '"weak"' ] || fail "decision $(ro rollout.shadow.decision), want weak"
fid=$(ro rollout.shadow.fidelity)
awk -v f="$fid" 'BEGIN { exit !(f < 0.99) }' || fail "fidelity $fid, want < 0.99"
# The engine's reason says so until the warm-up ends; the log keeps it.
grep -q "iface $TB_DUT_IF: shadow phase over: .* weak$" "$CB_TMP/canaryd.log" ||
	fail "canaryd's log has no weak end of the shadow phase"
n=$(ro 'rollout.shadow.cells | map(select(.stable == "drop" and .candidate == "pass")) | .[0].samples // 0')
# The negative check: the pairs a stateless judgement would call harmful are there.
[ "$n" -gt 0 ] || fail "no drop->pass pair: the weak decision is not the fidelity's"
echo "stateful stable: fidelity $fid over $(ro rollout.shadow.samples) samples, $n drop->pass pairs," \
	"decision weak, not rolled back; then: $(ro rollout.reason) (phase $(ro rollout.phase))"
echo "  sampler: $(ro rollout.shadow.sampler)"
$CTL abort "$TB_DUT_IF" >/dev/null || fail "cannot abort"
exit 0
