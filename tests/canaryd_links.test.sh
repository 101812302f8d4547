#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Interfaces that come and go under a running canaryd (RTNETLINK):
#   late: an [interface] that does not exist at start is waiting (status,
#     STATUS list), and attached with its stable once created;
#   a rollout on it ends as failed when it is deleted; it is lost, then
#     attached again when re-created (a new ifindex), the failed rollout kept;
#     deleted and re-created at once: attached on the new ifindex;
#   renamed: followed by ifindex (status ifname), the dispatcher untouched;
#   detached (ip link set dev X xdp off): its rollout ends failed; reported
#     in status, log and metrics, and left alone with reattach = no;
#     repaired at once after a SIGHUP sets reattach = yes, and again when
#     detached again; another program put in its place is reported and never
#     replaced, and the dispatcher comes back once that program is removed.
# (The STATUS= line naming a waiting interface: tests/systemd.test.sh.)
# canaryd's interval is 5 s and each change must be acted on within 2 s: the
# RTNETLINK messages drive it, not the tick. The time each took is printed.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 2s 5s || fail "cannot create the test bed"
LATE="${TB_ID}d1"
LATE_GEN="${TB_ID}g1"
RENAMED="${TB_ID}rn"
LOG=$CB_TMP/canaryd.log
# The last section of cb_create's config is $TB_DUT_IF's.
cat >>"$CB_TMP/canaryd.ini" <<INI
reattach = no

[interface $LATE]
mode = native
stable = $B/versions/fw_v1.bpf.o
INI

FAST=2	# seconds: under the interval
ms() { echo $(($(date +%s%N) / 1000000)); }

# st IFACE JQ: the jq expression on IFACE's status entry.
st() { $CTL -j status "$1" | jq -r ".interfaces[0] | $2"; }

# wait_for WHAT SECS CMD...: until CMD succeeds; prints the milliseconds it took.
wait_for() {
	local what=$1 secs=$2 t0 deadline
	shift 2
	t0=$(ms)
	deadline=$((t0 + secs * 1000))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(ms)" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
	echo "  $what: $(($(ms) - t0)) ms"
}

attached_with_stable() {	# IFACE: the dispatcher on it, the stable pin in slot 0
	local d
	d=$(bpftool -j prog show pinned "$CB_PIN/$1/canary_dispatch" 2>/dev/null | jq '.id')
	[ -n "$d" ] && [ "$(cb_xdp_id "$1")" = "$d" ] && [ "$(cb_slot_id 0 "$1")" != 0 ] &&
		[ "$(cb_slot_id 0 "$1")" = "$(cb_pin_id stable "$1")" ] &&
		[ "$(st "$1" '.link + " " + (.managed | tostring)')" = "managed true" ]
}

make_late() {
	ip link add "$LATE_GEN" netns "$TB_GEN" type veth peer name "$LATE" netns "$TB_DUT" ||
		fail "cannot create $LATE"
	ip -n "$TB_GEN" link set "$LATE_GEN" up
	ip -n "$TB_DUT" link set "$LATE" up
}

cb_start_daemon || fail "canaryd did not come up"

echo "late interface:"
[ "$(st "$LATE" '.link')" = waiting ] || fail "$LATE: link $(st "$LATE" '.link'), want waiting"
[ "$(st "$LATE" '.managed')" = false ] || fail "$LATE: managed before it exists"
$CTL -j status | jq -e --arg l "$LATE" '.waiting == [$l]' >/dev/null ||
	fail "status does not list $LATE as waiting: $($CTL -j status | jq -c .waiting)"
$CTL status | grep -q "waiting for: $LATE" || fail "canaryctl status does not say $LATE is waiting"
grep -q "iface $LATE: interface $LATE not found; waiting for it to appear" "$LOG" ||
	fail "no clear log line for the waiting interface"
attached_with_stable "$TB_DUT_IF" || fail "$TB_DUT_IF is not managed with its stable"
make_late
wait_for "created -> attached with its stable" $FAST attached_with_stable "$LATE"
$CTL -j status | jq -e '.waiting == []' >/dev/null || fail "$LATE still listed as waiting"
idx1=$(st "$LATE" '.ifindex')

echo "a rollout on a deleted interface, then re-created:"
$CTL start "$LATE" $B/versions/fw_v2.bpf.o --step-time 60s >/dev/null ||
	fail "cannot start a rollout on $LATE"
[ "$(st "$LATE" '.rollout.phase')" = progressing ] || fail "rollout on $LATE not progressing"
ip -n "$TB_DUT" link del "$LATE" || fail "cannot delete $LATE"
wait_for "deleted -> lost, rollout failed" $FAST \
	bash -c "[ \"\$($CTL -j status $LATE | jq -r '.interfaces[0] | .link + \" \" + .rollout.phase')\" = 'lost failed' ]"
grep -q "iface $LATE: rollout failed: failed: the interface was removed during the rollout" "$LOG" ||
	fail "no log line for the failed rollout"
$CTL -j status | jq -e --arg l "$LATE" '.waiting == [$l]' >/dev/null ||
	fail "a lost $LATE is not listed as waiting"
out=$($CTL start "$LATE" $B/versions/fw_v2.bpf.o 2>&1) && fail "a start on a lost interface was accepted"
echo "  start on it: $out"
make_late
wait_for "re-created -> attached again" $FAST attached_with_stable "$LATE"
idx2=$(st "$LATE" '.ifindex')
[ "$idx1" != "$idx2" ] || fail "the re-created interface has the same ifindex $idx1"
[ "$(st "$LATE" '.rollout.phase')" = failed ] || fail "the failed rollout was not kept"
[ "$(cb_slot_id 1 "$LATE")" = 0 ] || fail "slot 1 of $LATE is not empty after the failure"
# Counted through the engine (kept across the re-attach), and persisted (the
# re-created interface's rollout was read back from the state file).
tb_dut curl -s -m 5 http://127.0.0.1:9464/metrics >"$CB_TMP/metrics" || fail "no metrics"
grep -q "^canary_decisions_total{interface=\"$LATE\",decision=\"failed\"} 1" "$CB_TMP/metrics" ||
	fail "the failed rollout is not counted: $(grep "canary_decisions_total{interface=\"$LATE\"" "$CB_TMP/metrics")"
grep -q "^canary_interface_link{interface=\"$LATE\",state=\"managed\"} 1" "$CB_TMP/metrics" ||
	fail "metrics do not say $LATE is managed"
echo "  ifindex $idx1 -> $idx2, rollout $(st "$LATE" '.rollout.phase')"

echo "deleted and re-created at once (one look may see both):"
ip -n "$TB_DUT" link del "$LATE" || fail "cannot delete $LATE"
make_late
wait_for "re-created -> attached on the new ifindex" $FAST \
	bash -c "[ \"\$($CTL -j status $LATE | jq -r '.interfaces[0].ifindex')\" != $idx2 ] &&
		[ \"\$($CTL -j status $LATE | jq -r '.interfaces[0].link')\" = managed ]"
attached_with_stable "$LATE" || fail "$LATE not attached with its stable after a quick re-create"
echo "  ifindex $idx2 -> $(st "$LATE" '.ifindex')"

echo "renamed:"
xdp0=$(cb_xdp_id)
idx0=$(st "$TB_DUT_IF" '.ifindex')
ip -n "$TB_DUT" link set "$TB_DUT_IF" down
ip -n "$TB_DUT" link set "$TB_DUT_IF" name "$RENAMED" || fail "cannot rename $TB_DUT_IF"
ip -n "$TB_DUT" link set "$RENAMED" up
wait_for "renamed -> followed" $FAST \
	bash -c "[ \"\$($CTL -j status $TB_DUT_IF | jq -r '.interfaces[0] | .ifname + \" \" + .link')\" = '$RENAMED managed' ]"
[ "$(cb_xdp_id "$RENAMED")" = "$xdp0" ] || fail "the dispatcher on the renamed interface changed"
[ "$(st "$TB_DUT_IF" '.ifindex')" = "$idx0" ] || fail "ifindex changed across the rename"
grep -q "iface $TB_DUT_IF: renamed $TB_DUT_IF -> $RENAMED (ifindex $idx0); followed" "$LOG" ||
	fail "no log line for the rename"
ip -n "$TB_DUT" link set "$RENAMED" down
ip -n "$TB_DUT" link set "$RENAMED" name "$TB_DUT_IF"
ip -n "$TB_DUT" link set "$TB_DUT_IF" up
wait_for "renamed back -> followed" $FAST \
	bash -c "[ \"\$($CTL -j status $TB_DUT_IF | jq -r '.interfaces[0].ifname')\" = '$TB_DUT_IF' ]"

echo "detached by another tool (reattach = no), a rollout running:"
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --step-time 60s >/dev/null ||
	fail "cannot start a rollout on $TB_DUT_IF"
tb_dut ip link set dev "$TB_DUT_IF" xdp off || fail "ip link set xdp off failed"
wait_for "xdp off -> detached in status" $FAST \
	bash -c "[ \"\$($CTL -j status $TB_DUT_IF | jq -r '.interfaces[0] | .link + \" \" + (.managed | tostring)')\" = 'detached false' ]"
grep -q "iface $TB_DUT_IF: dispatcher (program $xdp0) detached by someone else: no XDP program" "$LOG" ||
	fail "no log line for the detachment"
[ "$(st "$TB_DUT_IF" '.rollout.phase')" = failed ] || fail "the rollout did not end failed"
grep -q "iface $TB_DUT_IF: rollout failed: failed: the dispatcher was detached" "$LOG" ||
	fail "no log line for the failed rollout"
[ "$(cb_slot_id 1)" = 0 ] || fail "slot 1 still holds the candidate after the detachment"
tb_dut curl -s -m 5 http://127.0.0.1:9464/metrics >"$CB_TMP/metrics" || fail "no metrics"
grep -q "^canary_interface_link{interface=\"$TB_DUT_IF\",state=\"detached\"} 1" "$CB_TMP/metrics" ||
	fail "metrics do not say detached: $(grep "canary_interface_link{interface=\"$TB_DUT_IF\"" "$CB_TMP/metrics")"
grep -q "^canary_interface_managed{interface=\"$TB_DUT_IF\"} 0" "$CB_TMP/metrics" ||
	fail "metrics still say managed"
# Negative check: with reattach = no it stays detached, through a tick's look
# too (a window longer than the 5 s interval, watched every 0.1 s).
t_end=$(($(ms) + 5500))
while [ "$(ms)" -lt "$t_end" ]; do
	[ "$(cb_xdp_id)" = 0 ] || fail "reattached although reattach = no"
	sleep 0.1
done
[ "$(st "$TB_DUT_IF" '.link')" = detached ] || fail "no longer reported detached"
echo "  still detached after 5.5 s (one interval and more) with reattach = no"

echo "reattach = yes by SIGHUP:"
sed -i 's/^reattach = no/reattach = yes/' "$CB_TMP/canaryd.ini"
kill -HUP "$CB_DAEMON_PID"
wait_for "SIGHUP -> reattached" $FAST attached_with_stable "$TB_DUT_IF"
grep -q "iface $TB_DUT_IF: dispatcher reattached (reattach = yes)" "$LOG" || fail "no reattach log line"
tb_dut ip link set dev "$TB_DUT_IF" xdp off || fail "ip link set xdp off failed"
wait_for "xdp off again -> repaired" $FAST attached_with_stable "$TB_DUT_IF"
[ "$(grep -c "iface $TB_DUT_IF: dispatcher reattached" "$LOG")" = 2 ] ||
	fail "want two reattach lines"
cb_wait_status "$TB_DUT_IF" '.managed' 5 "managed" || fail "not managed after the repair"

echo "another program put in its place (reattach = yes): reported, never replaced:"
ip -force -n "$TB_DUT" link set dev "$TB_DUT_IF" xdpdrv obj $B/versions/fw_v1.bpf.o sec xdp ||
	fail "cannot attach another program"
other=$(cb_xdp_id)
wait_for "replaced -> detached in status" $FAST \
	bash -c "$CTL -j status $TB_DUT_IF | jq -e '.interfaces[0] | .link == \"detached\" and
		(.error | test(\"another XDP program is attached\"))'"
t_end=$(($(ms) + 1000))
while [ "$(ms)" -lt "$t_end" ]; do
	[ "$(cb_xdp_id)" = "$other" ] || fail "the other program (id $other) was replaced"
	sleep 0.1
done
echo "  program $other left in place: $(st "$TB_DUT_IF" '.error')"
tb_dut ip link set dev "$TB_DUT_IF" xdp off || fail "ip link set xdp off failed"
wait_for "the other program removed -> reattached" $FAST attached_with_stable "$TB_DUT_IF"
kill -0 "$CB_DAEMON_PID" || fail "canaryd died"
echo "ok"
