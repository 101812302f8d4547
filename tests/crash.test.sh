#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 4, crash safety: canaryd is killed with SIGKILL at a different
# moment of a rollout in each trial (CRASH_TRIALS: 5 under make test, the five
# chosen points; 20 under make test-long, tests/crash.long.sh: the chosen
# points, then random delays from a seed printed below; CRASH_SEED replays a
# run). Good candidates (fw_v1/fw_v2, whichever is not stable) and bad ones
# (fw_blackhole, fw_aborts) alternate, so kills land during the candidate
# load, at each step, around step changes, during promotions and rollbacks.
# Every trial checks:
#   - while canaryd is dead the same dispatcher stays attached and keeps
#     receiving packets;
#   - the restarted canaryd adopts it (same XDP program id) and the ProgMap
#     agrees with the persisted state: slot 0 is the pinned stable; slot 1 is
#     the candidate and the kernel's share the persisted step's only while
#     the rollout goes on, else slot 1 is empty and the share 0;
#   - the rollout ends consistent: a good candidate promoted (slot 0 = it),
#     a bad one rolled back, or a start that was never persisted undone.
# Then five trials cut exactly between a kernel write and its persist (the
# state file put back to its last persisted version, or the first kernel
# write of a promotion made with bpftool): a start, an advance, a promotion
# (whole or first write only) and a rollback, each completed or undone.
# Last, two kills inside a release (after the replace; after the marker):
# each completed at the restart, the dispatcher never attached again.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

TRIALS=${CRASH_TRIALS:-5}
SEED=${CRASH_SEED:-$(($(date +%s%N) / 1000 % 32768))}
RANDOM=$SEED
echo "crash trials: $TRIALS, seed $SEED (CRASH_SEED=$SEED replays the kill delays)"

cb_create 5,25,50,100 1s 200ms || fail "cannot create the test bed"
cb_traffic 100000
cb_start_daemon || fail "canaryd did not come up"
DAEMON_PID=$CB_DAEMON_PID
P=$CB_PIN/$TB_DUT_IF
STATE=$CB_TMP/state/$TB_DUT_IF.state
LOG=$CB_TMP/canaryd.log
XDP0=$(cb_xdp_id)
[ "$XDP0" -gt 0 ] || fail "no XDP program attached to $TB_DUT_IF"

st() { $CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0]'; }
prog_name() { bpftool -j prog show id "$1" | jq -r '.name'; }

# Wait (up to 15 s) until the status matches the jq condition $1.
wait_for() {
	local i
	for i in $(seq 750); do
		st | jq -e "$1" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

# The persisted state (status) and the kernel's ProgMap and share agree.
# Prints "PHASE STEP ID"; on a mismatch prints what differs and fails.
consistent() {
	local a b k s0 s1 stable cand kshare managed phase share step id
	for k in 1 2 3 4 5; do
		a=$($CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0] | "\(.managed) " +
			"\(.rollout.phase // "none") \(.rollout.share_pct // 0 | . * 100 | round) " +
			"\(.rollout.step // 0) \(.rollout.id // "-") \(.error)"')
		s0=$(cb_slot_id 0)
		s1=$(cb_slot_id 1)
		stable=$(cb_pin_id stable)
		cand=$(cb_pin_id candidate)
		kshare=$(cb_kernel_share)
		b=$($CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0] | "\(.managed) " +
			"\(.rollout.phase // "none") \(.rollout.share_pct // 0 | . * 100 | round) " +
			"\(.rollout.step // 0) \(.rollout.id // "-") \(.error)"')
		# A transition between the two reads: read again.
		[ "$a" = "$b" ] || continue
		read -r managed phase share step id _ <<<"$a"
		[ "$managed" = true ] || { echo "not managed: $a"; return 1; }
		[ "$s0" -gt 0 ] && [ "$s0" = "$stable" ] ||
			{ echo "$phase: slot 0 holds $s0, the stable pin is $stable"; return 1; }
		case $phase in
		progressing | paused)
			[ "$s1" -gt 0 ] && [ "$s1" = "$cand" ] ||
				{ echo "$phase: slot 1 holds $s1, the candidate pin is $cand"; return 1; }
			[ "$kshare" = "$share" ] ||
				{ echo "$phase at $share bp, the kernel has $kshare bp"; return 1; }
			;;
		*)
			[ "$s1" = 0 ] && [ "$kshare" = 0 ] ||
				{ echo "$phase: slot 1 holds $s1, the kernel share is $kshare bp"; return 1; }
			if [ "$phase" = promoted ]; then
				[ "$s0" = "$cand" ] ||
					{ echo "promoted, but slot 0 holds $s0, not the candidate $cand"; return 1; }
			elif [ "$phase" != none ] && [ "$s0" = "$cand" ]; then
				echo "$phase, but slot 0 holds the candidate $cand"
				return 1
			fi
			;;
		esac
		echo "$phase $step $id"
		return 0
	done
	echo "status kept changing while the datapath was read"
	return 1
}

kill_daemon() {
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
}

# The dispatcher stays attached and forwarding while canaryd is dead.
check_dead() {
	local seen
	[ "$(cb_xdp_id)" = "$XDP0" ] || fail "$1: XDP program changed while canaryd was dead"
	seen=$(tb_wait_rx 30000 10) ||
		fail "$1: traffic stopped while canaryd was dead (${seen% *} packets in 10 s)"
	DEAD_PKTS=${seen% *}
	DEAD_SECS=${seen#* }
}

restart_daemon() {
	local adopted
	adopted=$(grep -c "adopted the pinned dispatcher" "$LOG")
	cb_start_daemon || fail "$1: canaryd did not come back"
	DAEMON_PID=$CB_DAEMON_PID
	[ "$(grep -c "adopted the pinned dispatcher" "$LOG")" -gt "$adopted" ] ||
		fail "$1: the restarted canaryd did not adopt the dispatcher"
	[ "$(cb_xdp_id)" = "$XDP0" ] || fail "$1: XDP program id changed across the restart"
}

# Wait for the rollout's end; check the outcome; print it.
finish() {
	local name=$1 kind=$2 id_before=$3 end phase id
	# (No rollout, or the one before: nothing to wait for.)
	[ "$(st | jq -r '.rollout.id // "-"')" = "$id_before" ] ||
		timeout 60 $CTL status "$TB_DUT_IF" --watch >/dev/null 2>&1
	end=$(consistent) || fail "$name: at the end: $end"
	read -r phase _ id <<<"$end"
	if [ "$id" = "$id_before" ]; then
		OUTCOME="start undone"
	else
		case $kind in
		good) [ "$phase" = promoted ] || fail "$name: good candidate ended $phase" ;;
		bad) [ "$phase" = rolled_back ] || fail "$name: bad candidate ended $phase" ;;
		esac
		OUTCOME=$phase
	fi
}

good_candidate() {
	if [ "$(prog_name "$(cb_slot_id 0)")" = fw_v1 ]; then
		echo $B/versions/fw_v2.bpf.o
	else
		echo $B/versions/fw_v1.bpf.o
	fi
}

printf '%-6s %-13s %-10s %-30s %s\n' trial candidate "killed at" "found after the restart" "end"
declare -A at_restart
for n in $(seq "$TRIALS"); do
	case $((n % 4)) in
	1 | 3) kind=good obj=$(good_candidate) ;;
	2) kind=bad obj=$B/versions/fw_blackhole.bpf.o ;;
	0) kind=bad obj=$B/versions/fw_aborts.bpf.o ;;
	esac
	# Chosen points first, then random delays after the start request.
	case $n in
	1) when=0.005 ;;		# the candidate is being loaded and verified
	2) when=0.050 ;;
	3) when=step2 ;;		# right after a step change
	4) when=0.100 ;;		# around the abort decision
	5) when=step3 ;;		# the last step, around the promotion
	*) if [ $kind = good ]; then
		when=$(printf '%d.%03d' $((RANDOM % 4500 / 1000)) $((RANDOM % 1000)))
	   else
		when=$(printf '0.%03d' $((RANDOM % 1000)))
		[ $((RANDOM % 2)) = 0 ] && when=1${when#0}
	   fi ;;
	esac
	id_before=$(st | jq -r '.rollout.id // "-"')
	t_start=$(date +%s.%N)
	$CTL start "$TB_DUT_IF" "$obj" >/dev/null 2>&1 &
	starter=$!
	case $when in
	step2) wait_for '.rollout.step == 2' || fail "trial $n: no step 2" ;;
	step3) wait_for '.rollout.step == 3' || fail "trial $n: no step 3"
		sleep 0.$((900 + RANDOM % 200)) ;;
	*) sleep "$when" ;;
	esac
	kill_daemon
	wait "$starter" 2>/dev/null
	check_dead "trial $n"
	t_restart=$(date +%s.%N)
	restart_daemon "trial $n"
	t_up=$(date +%s.%N)
	now=$(consistent) || fail "trial $n (killed at $when): after the restart: $now"
	read -r phase step id <<<"$now"
	# What the restarted canaryd found, as it logged it.
	found=$(grep -E "resumed rollout|stopped inside|ahead of the persisted|not persisted" "$LOG" |
		tail -1)
	if [ "$id" = "$id_before" ]; then
		found="not started"
	else
		found=$(sed -E 's/.*(resumed rollout of [^:]*: |iface [^:]*: )//; s/, share .*//' <<<"$found")
	fi
	at_restart[$found]=$((${at_restart[$found]:-0} + 1))
	finish "trial $n" $kind "$id_before"
	printf '%-6s %-13s %-10s %-30s %s\n' "$n" "$(basename "$obj" .bpf.o)" "$when" \
		"${found:0:30}" "$OUTCOME; $DEAD_PKTS pkts in $DEAD_SECS s dead, back in \
$(awk -v a="$t_restart" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }') s; trial \
$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
done
echo "state found after the restarts: $(for k in "${!at_restart[@]}"; do
	printf '%s %s; ' "$k" "${at_restart[$k]}"; done)"

# ---- kills exactly between a kernel write and its persist ---------------
# Each case checks that its own restart logged the repair: the log is shared
# by every restart, and a random trial above may have logged the same one.
log_count() { grep -cF -- "$1" "$LOG"; }

# A start written to the kernel, not persisted: undone.
old_id=$(st | jq -r '.rollout.id')
cp "$STATE" "$STATE.keep"
$CTL start "$TB_DUT_IF" "$(good_candidate)" >/dev/null || fail "window start: cannot start"
wait_for '.rollout.share_pct > 0' || fail "window start: no first step after the warm-up"
kill_daemon
mv "$STATE.keep" "$STATE"
[ "$(cb_slot_id 1)" -gt 0 ] && [ "$(cb_kernel_share)" -gt 0 ] || fail "window start: not set up"
n0=$(log_count "a start that was not persisted); stable only again")
restart_daemon "window start"
[ "$(log_count "a start that was not persisted); stable only again")" -gt "$n0" ] ||
	fail "window start: no repair logged"
now=$(consistent) || fail "window start: $now"
[ "${now##* }" = "$old_id" ] || fail "window start: the rollout is $now, want $old_id"
echo "window start:     candidate in slot 1, state without it: stable only again; $now"

# An advance written to the kernel, not persisted: back to the persisted step.
obj=$(good_candidate)
$CTL start "$TB_DUT_IF" "$obj" --step-time 2s >/dev/null || fail "window advance: cannot start"
wait_for '.rollout.share_pct == 5' || fail "window advance: no step 1 after the warm-up"
cp "$STATE" "$STATE.keep"
wait_for '.rollout.step == 2' || fail "window advance: no step 2"
kill_daemon
mv "$STATE.keep" "$STATE"
ahead=$(cb_kernel_share)
n0=$(log_count "share $((ahead / 100)).00% was ahead of the persisted step's 5.00%")
restart_daemon "window advance"
[ "$(log_count "share $((ahead / 100)).00% was ahead of the persisted step's 5.00%")" -gt "$n0" ] ||
	fail "window advance: no repair to 5 % logged"
now=$(consistent) || fail "window advance: $now"
echo "window advance:   kernel at $ahead bp, state at step 1 (500 bp): back to step 1; $now"
finish "window advance" good "-"

# A promotion written to the kernel (whole), not persisted: completed.
old_stable=$(cb_pin_id stable)
obj=$(good_candidate)
$CTL start "$TB_DUT_IF" "$obj" >/dev/null || fail "window promotion: cannot start"
wait_for '.rollout.step == 3' || fail "window promotion: no step 3"
cp "$STATE" "$STATE.keep"
wait_for '.rollout.phase == "promoted"' || fail "window promotion: not promoted"
kill_daemon
mv "$STATE.keep" "$STATE"
n0=$(log_count "had stopped inside a promotion; promotion completed")
restart_daemon "window promotion"
[ "$(log_count "had stopped inside a promotion; promotion completed")" = $((n0 + 1)) ] ||
	fail "window promotion: no repair logged"
now=$(consistent) || fail "window promotion: $now"
[ "${now%% *}" = promoted ] || fail "window promotion: $now, want promoted"
[ "$(cb_pin_id previous)" = "$old_stable" ] ||
	fail "window promotion: previous is $(cb_pin_id previous), want the old stable $old_stable"
echo "window promotion: $now, previous = old stable $old_stable"

# A promotion cut after its first kernel write (slot 0): completed.
old_stable=$(cb_pin_id stable)
obj=$(good_candidate)
$CTL start "$TB_DUT_IF" "$obj" --step-time 5s >/dev/null || fail "window promotion 2: cannot start"
kill_daemon
rm -f "$P/previous"
bpftool prog pin pinned "$P/stable" "$P/previous" || fail "window promotion 2: bpftool pin"
bpftool map update pinned "$P/canary_progs" key 0 0 0 0 value pinned "$P/candidate" ||
	fail "window promotion 2: bpftool update"
n0=$(log_count "had stopped inside a promotion; promotion completed")
restart_daemon "window promotion 2"
[ "$(log_count "had stopped inside a promotion; promotion completed")" = $((n0 + 1)) ] ||
	fail "window promotion 2: no repair logged"
now=$(consistent) || fail "window promotion 2: $now"
[ "${now%% *}" = promoted ] || fail "window promotion 2: $now, want promoted"
[ "$(cb_pin_id previous)" = "$old_stable" ] || fail "window promotion 2: previous is not the old stable"
echo "window promotion, first write only: $now"

# A revert cut after its first kernel write (slot 0 = previous), not
# persisted (the state still says promoted): completed, not undone. Before
# the program ids were persisted, slot 0 went back to the stable pin: the
# rejected version at 100 % again.
rejected=$(cb_pin_id stable)
prev=$(cb_pin_id previous)
[ "$prev" -gt 0 ] && [ "$prev" != "$rejected" ] || fail "window revert: no previous pinned"
kill_daemon
bpftool map update pinned "$P/canary_progs" key 0 0 0 0 value pinned "$P/previous" ||
	fail "window revert: bpftool update"
n0=$(log_count "had stopped inside a revert")
restart_daemon "window revert"
[ "$(log_count "had stopped inside a revert")" = $((n0 + 1)) ] || fail "window revert: no repair logged"
now=$(consistent) || fail "window revert: $now"
[ "$(cb_slot_id 0)" = "$prev" ] && [ "$(cb_pin_id stable)" = "$prev" ] ||
	fail "window revert: slot 0 $(cb_slot_id 0), stable pin $(cb_pin_id stable); want the previous $prev, not the rejected $rejected"
[ "${now%% *}" = aborted ] || fail "window revert: $now, want aborted (reverted)"
st | jq -e '.rollout.reason | test("revert completed after a restart")' >/dev/null ||
	fail "window revert: reason $(st | jq -c .rollout.reason)"
echo "window revert, first write only: slot 0 = previous $prev (rejected $rejected stays out); $now"

# A rollback written to the kernel, not persisted: completed.
$CTL start "$TB_DUT_IF" "$B/versions/fw_blackhole.bpf.o" >/dev/null ||
	fail "window rollback: cannot start"
cp "$STATE" "$STATE.keep"
wait_for '.rollout.phase == "rolled_back"' || fail "window rollback: not rolled back"
kill_daemon
mv "$STATE.keep" "$STATE"
n0=$(log_count "had stopped inside a rollback")
restart_daemon "window rollback"
[ "$(log_count "had stopped inside a rollback")" -gt "$n0" ] || fail "window rollback: no repair logged"
now=$(consistent) || fail "window rollback: $now"
[ "${now%% *}" = rolled_back ] || fail "window rollback: $now, want rolled_back"
echo "window rollback:  $now"

# ---- a release cut short (canaryctl release: replace, marker, pins removed)
# The release's kernel write done by hand (the pinned stable attached in
# place of the dispatcher: ip -force swaps it in one attach, as the
# release's XDP_FLAGS_REPLACE does), canaryd dead before the marker: the
# restart completes the release (marker written, pins removed) and never
# attaches the dispatcher again over the hand-back.
MARK=$CB_TMP/state/$TB_DUT_IF.state.released
release_cut() {
	local what=$1 n0 sid
	sid=$(cb_pin_id stable)
	[ "$sid" -gt 0 ] && [ "$(cb_xdp_id)" != "$sid" ] || fail "window $what: not set up"
	kill_daemon
	tb_dut ip -force link set dev "$TB_DUT_IF" xdpdrv pinned "$P/stable" ||
		fail "window $what: cannot attach the stable pin in place of the dispatcher"
	[ "$(cb_xdp_id)" = "$sid" ] || fail "window $what: the stable is not attached"
	[ "$what" = "release marker" ] &&
		echo "stable fw (program $sid) attached directly by canaryctl release" >"$MARK"
	n0=$(log_count "canaryd had stopped inside a release")
	cb_start_daemon || fail "window $what: canaryd did not come back"
	DAEMON_PID=$CB_DAEMON_PID
	[ "$(log_count "canaryd had stopped inside a release")" = $((n0 + 1)) ] ||
		fail "window $what: no completion logged"
	[ "$(cb_xdp_id)" = "$sid" ] || fail "window $what: the restart attached $(cb_xdp_id) over the released stable $sid"
	[ -f "$MARK" ] || fail "window $what: no marker $MARK after the restart"
	[ ! -e "$P" ] || fail "window $what: the pins are still there: $(ls "$P")"
	st | jq -e '.managed == false and (.error | test("released"))' >/dev/null ||
		fail "window $what: status $(st)"
	seen=$(tb_wait_rx 30000 10) || fail "window $what: no traffic through the released stable"
	echo "window $what: stable $sid stays attached; $(grep -o "canaryd had stopped inside a release.*" "$LOG" | tail -1 | cut -c1-150)"
}
# Managed again: a datapath created anew (the released stable detached first).
manage_again() {
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	tb_dut ip link set dev "$TB_DUT_IF" xdp off
	rm -f "$MARK"
	cb_start_daemon || fail "canaryd did not come up to manage $TB_DUT_IF again"
	DAEMON_PID=$CB_DAEMON_PID
	st | jq -e '.managed' >/dev/null || fail "not managed again: $(st)"
}
release_cut release
grep -q "completed after a restart" "$MARK" || fail "window release: marker $(cat "$MARK")"
manage_again
release_cut "release marker"
exit 0
