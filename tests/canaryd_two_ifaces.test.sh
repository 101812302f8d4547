#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Two interfaces, two independent rollouts under one canaryd (and SIGHUP): rolling back a
# black-holing candidate on one leaves the other's rollout (step, share,
# candidate) and datapath untouched.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 2s 200ms || fail "cannot create the test bed"
# A second veth pair between the same two namespaces.
GEN2="${TB_ID}g1"
DUT2="${TB_ID}d1"
ip link add "$GEN2" netns "$TB_GEN" type veth peer name "$DUT2" netns "$TB_DUT" ||
	fail "cannot create the second veth pair"
ip -n "$TB_GEN" link set "$GEN2" up
ip -n "$TB_DUT" link set "$DUT2" up
cat >>"$CB_TMP/canaryd.ini" <<INI

[interface $DUT2]
mode = native
stable = $B/versions/fw_v1.bpf.o
INI

cb_traffic 50000
tb_bg "$TB_GEN" $B/trafficgen --dev "$GEN2" --pps 50000 --flows 65536 \
	--src 198.18.1.1 --dst 198.18.2.10 --attack-share 200 --attack-src 198.18.4.1 >/dev/null
cb_start_daemon || fail "canaryd did not come up"

phase_of() {
	$CTL -j status "$1" | jq -r '.interfaces[0].rollout.phase'
}

# Interface 1: a good candidate held at its first step by a long bake time.
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --step-time 60s >/dev/null ||
	fail "cannot start the rollout on $TB_DUT_IF"
cb_wait_status "$TB_DUT_IF" '.rollout.share_pct > 0' 30 "the first step after the warm-up" ||
	fail "the rollout did not reach its first step"
before=$($CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0].rollout | {id, step, share_pct}')

# Interface 2: a black-holing candidate, rolled back.
timeout 120 $CTL start "$DUT2" $B/versions/fw_blackhole.bpf.o --wait >/dev/null
rc=$?
[ $rc -eq 2 ] || fail "black-holing candidate on $DUT2: --wait exited $rc, want 2"

after=$($CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0].rollout | {id, step, share_pct}')
[ "$before" = "$after" ] || fail "rollout on $TB_DUT_IF changed: $before -> $after"
[ "$(phase_of "$TB_DUT_IF")" = progressing ] || fail "rollout on $TB_DUT_IF is $(phase_of "$TB_DUT_IF")"
cb_wait_status "$TB_DUT_IF" '.versions.candidate.pps > 100' 10 "the candidate's traffic" ||
	fail "candidate on $TB_DUT_IF stopped receiving traffic"
cand_pps=$($CTL -j status "$TB_DUT_IF" | jq '.interfaces[0].versions.candidate.pps')
# (A rate floor would measure the generator, which a busy machine slows.)
cb_wait_status "$DUT2" '.versions.candidate.pps == 0 and .versions.stable.pps > 1000' 10 \
	"stable alone carrying the traffic" ||
	fail "stable on $DUT2 is not carrying the traffic after the rollback"
echo "rollback on $DUT2 left $TB_DUT_IF at $after, candidate still at $cand_pps pps"

$CTL abort "$TB_DUT_IF" >/dev/null || fail "cannot abort the rollout on $TB_DUT_IF"
[ "$(phase_of "$TB_DUT_IF")" = aborted ] || fail "abort on $TB_DUT_IF did not take"

# SIGHUP: new rollout defaults apply to the next rollout; a broken file is refused.
sed -i 's/^steps = .*/steps = 10,100/' "$CB_TMP/canaryd.ini"
kill -HUP "$CB_DAEMON_PID"
for _ in $(seq 50); do
	grep -q "reloaded" "$CB_TMP/canaryd.log" && break
	sleep 0.1
done
grep -q "config .* reloaded" "$CB_TMP/canaryd.log" || fail "SIGHUP did not reload"
$CTL start "$DUT2" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start after reload"
shares=$($CTL -j status "$DUT2" | jq -c '.interfaces[0].rollout.shares_pct')
[ "$shares" = "[10,100]" ] || fail "reloaded steps not used: $shares"
$CTL abort "$DUT2" >/dev/null
echo "bogus = 1" >>"$CB_TMP/canaryd.ini"
kill -HUP "$CB_DAEMON_PID"
for _ in $(seq 50); do
	grep -q "not reloaded" "$CB_TMP/canaryd.log" && break
	sleep 0.1
done
grep -q "not reloaded, keeping the old one" "$CB_TMP/canaryd.log" || fail "bad config on SIGHUP not refused"
$CTL status >/dev/null || fail "canaryd died on a bad config reload"
echo "SIGHUP: new steps used by the next rollout; a broken file refused, daemon kept running"
exit 0
