#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# canaryd end to end, live traffic on a veth pair in namespaces made here:
# a good candidate is promoted (canaryctl --wait exits 0), a black-holing one
# rolled back (exits 2), a verifier-rejected one refused with stable
# untouched, an operator abort exits 3; then canaryd is killed and the
# datapath keeps forwarding, and a restarted canaryd adopts it.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 2s 200ms || fail "cannot create the test bed"
cb_traffic 100000
start_daemon() {
	cb_start_daemon || fail "canaryd did not come up"
	DAEMON_PID=$CB_DAEMON_PID
}
start_daemon

t0=$(date +%s.%N)
timeout 120 $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --wait >"$CB_TMP/good.out" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || { cat "$CB_TMP/good.out"; fail "good candidate: --wait exited $rc, want 0"; }
echo "good candidate promoted in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
$CTL -j status "$TB_DUT_IF" | grep -q '"phase": *"promoted"' || fail "status does not say promoted"
stable_now() { $CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0].stable.object'; }
[[ $(stable_now) == */fw_v2.bpf.o ]] || fail "after the promotion status names $(stable_now) as stable"
SEED0=$($CTL -j status "$TB_DUT_IF" | jq '.interfaces[0].rollout.seed')

timeout 120 $CTL start "$TB_DUT_IF" $B/versions/fw_blackhole.bpf.o --wait >"$CB_TMP/bad.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$CB_TMP/bad.out"; fail "black-holing candidate: --wait exited $rc, want 2"; }
status=$($CTL -j status "$TB_DUT_IF")
echo "black-holing candidate rolled back: $(echo "$status" | grep -o '"elapsed_ms": *[0-9]*' | head -1), \
$(echo "$status" | grep -o '"candidate_packets": *[0-9]*')"
echo "$status" | grep -q '"phase": *"rolled_back"' || fail "status does not say rolled_back"
# Each rollout draws its own flows: a new seed, the one the kernel hashes with.
seed1=$(jq '.interfaces[0].rollout.seed' <<<"$status")
[ "$seed1" = "$(cb_kernel_seed)" ] || fail "status seed $seed1, kernel seed $(cb_kernel_seed)"
[ "$seed1" != "$SEED0" ] || fail "the second rollout hashed with the first one's seed $SEED0"
echo "seeds: $SEED0, then $seed1 (the kernel's)"

# A candidate the verifier refuses: error, exit 1, stable untouched.
before=$($CTL -j status "$TB_DUT_IF")
$CTL start "$TB_DUT_IF" $B/tests/rejected.bpf.o >"$CB_TMP/rej.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "rejected candidate: exit $rc, want 1"
grep -q "rejected.bpf.o" "$CB_TMP/rej.out" || { cat "$CB_TMP/rej.out"; fail "error does not name the object"; }
after=$($CTL -j status "$TB_DUT_IF")
echo "$after" | grep -q '"phase": *"rolled_back"' || fail "a refused start changed the rollout"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "stable forwarding" ||
	fail "stable stopped forwarding after a refused start"

# Operator abort: exit 3.
# The abort waits for the rollout it aborts to be under way, however long the load takes.
id0=$($CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0].rollout.id // "-"')
( cb_wait_status "$TB_DUT_IF" ".rollout.id != \"$id0\" and .rollout.phase == \"progressing\"" 60 \
	"the rollout to abort" && $CTL abort "$TB_DUT_IF" >/dev/null ) &
aborter=$!
timeout 120 $CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o --steps 5,100 --step-time 30s --wait \
	>"$CB_TMP/abort.out" 2>&1
rc=$?
wait "$aborter"
[ $rc -eq 3 ] || { cat "$CB_TMP/abort.out"; fail "operator abort: --wait exited $rc, want 3"; }

# Fail static: kill -9 canaryd, traffic still flows through the dispatcher.
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
prog_id=$(tb_dut ip -j link show "$TB_DUT_IF" | grep -o '"prog":{"id":[0-9]*' | grep -o '[0-9]*$')
[ -n "$prog_id" ] || tb_dut ip link show "$TB_DUT_IF" | grep -q "prog/xdp" || \
	fail "dispatcher detached when canaryd died"
seen=$(tb_wait_rx 10000 10) || fail "traffic stopped when canaryd died (${seen% *} packets in 10 s)"
echo "canaryd killed: datapath kept forwarding (${seen% *} packets in ${seen#* } s)"
start_daemon
grep -q "adopted the pinned dispatcher" "$CB_TMP/canaryd.log" || fail "restarted canaryd did not adopt"
$CTL -j status "$TB_DUT_IF" | grep -q '"phase": *"aborted"' || fail "state not resumed after restart"
[[ $(stable_now) == */fw_v2.bpf.o ]] || fail "after a restart status names $(stable_now) as stable"
echo "restart: adopted without detaching, rollout state resumed, stable still fw_v2"
# A second canaryd on the same interface is refused; the first carries on
# with its rollout (same rollout, still progressing, candidate still served).
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --step-time 600s >/dev/null ||
	fail "cannot start a rollout for the second-canaryd check"
cb_wait_status "$TB_DUT_IF" '.rollout.share_pct > 0' 30 "the first step after the warm-up" ||
	fail "the rollout did not reach its first step"
ro_of() { $CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0].rollout | {id, phase, step, share_pct}'; }
ro0=$(ro_of)
xdp_of() { tb_dut ip -j link show "$TB_DUT_IF" | jq '.[0].xdp.prog.id'; }
xdp0=$(xdp_of)
cand0=$($CTL -j status "$TB_DUT_IF" | jq '.interfaces[0].versions.candidate.packets')
tb_dut $B/canaryd -c "$CB_TMP/canaryd.ini" >"$CB_TMP/second.log" 2>&1 && fail "second canaryd started"
grep -q "another canaryd" "$CB_TMP/second.log" || { cat "$CB_TMP/second.log"; fail "no clear message"; }
[ "$(wc -l <"$CB_TMP/second.log")" = 1 ] || { cat "$CB_TMP/second.log"; fail "second canaryd: want one line"; }
kill -0 "$DAEMON_PID" || fail "first canaryd died"
cb_wait_status "$TB_DUT_IF" ".versions.candidate.packets > $((cand0 + 1000))" 10 \
	"1,000 more candidate packets" || fail "candidate traffic no longer counted"
[ "$(ro_of)" = "$ro0" ] || fail "first canaryd's rollout changed: $ro0 -> $(ro_of)"
[[ $ro0 == *'"phase":"progressing"'* ]] || fail "rollout not progressing: $ro0"
cand1=$($CTL -j status "$TB_DUT_IF" | jq '.interfaces[0].versions.candidate.packets')
[ "$cand1" -gt $((cand0 + 1000)) ] || fail "candidate traffic no longer counted ($cand0 -> $cand1)"
[ "$(xdp_of)" = "$xdp0" ] ||
	fail "the second canaryd changed the attached program"
echo "second canaryd refused: $(head -1 "$CB_TMP/second.log"); first still at $ro0, \
candidate counted $((cand1 - cand0)) more packets"
exit 0
