#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 6, bad input: each case is refused with one clear line naming the
# object, interface or file, and traffic is untouched (same XDP program
# attached, same ProgMap slots and share, the rollout as it was, stable
# still forwarding):
#   candidates: refused by the verifier, a tc program, an xdp.frags program,
#     a missing object, no such program in it, and unreadable ones (root
#     reads a chmod 000 file, so: a directory and a file that is not ELF);
#   config: a typo'd key and an out-of-range value (canaryd -c refuses to
#     start, naming file:line:key); pin_root not on a bpffs (the real
#     /sys/fs/bpf is never unmounted: other tests use it);
#   an [interface] that does not exist: waiting alone (one clear line; it is
#     attached if it appears: tests/canaryd_links.test.sh), the others managed;
#   an interface removed mid-rollout: one line, the rollout failed, the
#     interface reported unmanaged, canaryd and the other interface go on;
#   a corrupt and a truncated state file: moved aside, stable only.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 1s 200ms || fail "cannot create the test bed"
# A second veth pair, to be removed mid-rollout, and a missing interface.
GEN2="${TB_ID}g1"
DUT2="${TB_ID}d1"
MISSING="${TB_ID}zz"
ip link add "$GEN2" netns "$TB_GEN" type veth peer name "$DUT2" netns "$TB_DUT" ||
	fail "cannot create the second veth pair"
ip -n "$TB_GEN" link set "$GEN2" up
ip -n "$TB_DUT" link set "$DUT2" up
cat >>"$CB_TMP/canaryd.ini" <<INI

[interface $MISSING]
stable = $B/versions/fw_v1.bpf.o

[interface $DUT2]
stable = $B/versions/fw_v1.bpf.o
INI
cb_traffic 100000
# (It fails when $GEN2 goes with $DUT2: quiet.)
tb_bg "$TB_GEN" $B/trafficgen --dev "$GEN2" --pps 20000 --flows 4096 \
	--src 198.18.1.1 --dst 198.18.2.10 >/dev/null 2>&1
cb_start_daemon || fail "canaryd did not come up"
DAEMON_PID=$CB_DAEMON_PID
LOG=$CB_TMP/canaryd.log
STATE=$CB_TMP/state/$TB_DUT_IF.state

# ---- a missing interface: waiting, alone ---------------------------------
[ "$(grep -c "iface $MISSING:" "$LOG")" = 1 ] || fail "missing interface: want one log line"
grep -q "iface $MISSING: interface $MISSING not found; waiting for it to appear (attached then); traffic untouched" "$LOG" ||
	fail "missing interface: no clear line"
$CTL -j status "$MISSING" | jq -e '.interfaces[0] | .managed == false and
	.link == "waiting" and (.error | test("not found"))' >/dev/null ||
	fail "missing interface: status does not say so"
$CTL -j status | jq -e '[.interfaces[] | select(.managed)] | length == 2' >/dev/null ||
	fail "missing interface: the other two are not managed"
out=$($CTL start "$MISSING" "$B/versions/fw_v2.bpf.o" 2>&1) &&
	fail "missing interface: a start was accepted"
echo "missing interface: $(grep "iface $MISSING:" "$LOG" | head -1)"
echo "  start on it: $out"

# A rollout held at its first step by a long bake, to be left untouched.
$CTL start "$TB_DUT_IF" "$B/versions/fw_v2.bpf.o" --step-time 600s >/dev/null ||
	fail "cannot start the rollout"
cb_wait_status "$TB_DUT_IF" '.rollout.share_pct > 0' 30 "the first step after the warm-up" ||
	fail "the rollout did not reach its first step"

# What must not change: XDP program, slots, share, rollout; stable forwarding.
snapshot() {
	echo "xdp $(cb_xdp_id) slot0 $(cb_slot_id 0) slot1 $(cb_slot_id 1) share $(cb_kernel_share)" \
		"$($CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0].rollout | {id, phase, step}')"
}
BEFORE=$(snapshot)
untouched() {
	local now
	now=$(snapshot)
	[ "$now" = "$BEFORE" ] || fail "$1 changed the datapath or rollout: $BEFORE -> $now"
	cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "stable forwarding" ||
		fail "$1: stable is not forwarding"
}

# One line, exit 1, naming WHAT, containing TEXT.
refused() {
	local name=$1 what=$2 text=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -eq 1 ] || fail "$name: exit $rc, want 1: $out"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "$name: want one line, got: $out"
	[[ $out == *"$what"* && $out == *"$text"* ]] ||
		fail "$name: '$out' does not name $what with '$text'"
	printf '  %-18s %s\n' "$name:" "$out"
}

echo "bad candidates (canaryctl start, rollout of fw_v2 under way):"
echo "not a BPF object" >"$CB_TMP/junk.bpf.o"
mkdir "$CB_TMP/dir.bpf.o"
START="$CTL start $DUT2"
# The verifier's refusal: canaryctl's one line, then the verifier's log itself.
out=$($START $B/tests/rejected.bpf.o 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "verifier: exit $rc, want 1: $out"
[[ $(head -1 <<<"$out") == *rejected.bpf.o*"refused by the kernel"*"the verifier's log follows" ]] ||
	fail "verifier: '$(head -1 <<<"$out")' does not name rejected.bpf.o and the log"
grep -q "invalid access to packet" <<<"$out" || fail "verifier: its log did not reach canaryctl: $out"
printf '  %-18s %s (+ %d lines of verifier log)\n' "verifier:" "$(head -1 <<<"$out")" \
	$(($(wc -l <<<"$out") - 1))
refused "tc program" wrong_type.bpf.o 'holds no XDP program (tc_pass is sched_cls' \
	$START $B/tests/wrong_type.bpf.o
refused "xdp.frags" frags.bpf.o 'multi-buffer frames (SEC("xdp.frags"))' \
	$START $B/tests/frags.bpf.o
refused "missing" nosuch.bpf.o "No such file or directory" $START "$CB_TMP/nosuch.bpf.o"
refused "no such program" fw_v2.bpf.o "has no program named nosuch" \
	$START $B/versions/fw_v2.bpf.o:nosuch
refused "directory" dir.bpf.o "is not a regular file (a directory)" $START "$CB_TMP/dir.bpf.o"
refused "not ELF" junk.bpf.o "is not an ELF BPF object" $START "$CB_TMP/junk.bpf.o"
# The same, sent to the interface that has a rollout under way.
refused "busy interface" "$TB_DUT_IF" "abort or promote it first" \
	$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o
untouched "a refused candidate"
[ "$($CTL -j status "$DUT2" | jq -r '.interfaces[0].rollout')" = null ] ||
	fail "a refused candidate left a rollout on $DUT2"

echo "bad config (a second canaryd -c, refused before touching anything):"
bad_config() {
	local name=$1 sedexpr=$2 want=$3 out line
	sed "$sedexpr" "$CB_TMP/canaryd.ini" >"$CB_TMP/bad.ini"
	out=$(tb_dut $B/canaryd -c "$CB_TMP/bad.ini" 2>&1) && fail "$name: canaryd started"
	line=$(grep -c "^$CB_TMP/bad.ini:[0-9]*:" <<<"$out")
	[ "$line" = 1 ] || fail "$name: want one file:line error, got: $out"
	grep -q "^$CB_TMP/bad.ini:[0-9]*: .*$want" <<<"$out" || fail "$name: '$out' lacks '$want'"
	grep -q "refused; nothing was changed" <<<"$out" || fail "$name: no closing line: $out"
	printf '  %-18s %s\n' "$name:" "$(head -1 <<<"$out")"
}
bad_config "typo" 's/^step_time = /step_tiem = /' "step_tiem"
bad_config "out of range" 's/^interval = .*/interval = 10ms/' "interval"
untouched "a refused config"

# pin_root on a file system that is not bpffs.
sed "s|^pin_root = .*|pin_root = $CB_TMP/not-bpffs|; s|^socket = .*|socket = $CB_TMP/other.sock|" \
	"$CB_TMP/canaryd.ini" >"$CB_TMP/nobpffs.ini"
out=$(tb_dut $B/canaryd -c "$CB_TMP/nobpffs.ini" 2>&1) && fail "pin_root on tmpfs: canaryd started"
[ "$(wc -l <<<"$out")" = 1 ] || fail "pin_root not bpffs: want one line, got: $out"
[[ $out == *"$CB_TMP/not-bpffs is not on a bpffs"*"mount -t bpf bpf /sys/fs/bpf"* ]] ||
	fail "pin_root not bpffs: unclear: $out"
[ -e "$CB_TMP/not-bpffs" ] && fail "pin_root not bpffs: left $CB_TMP/not-bpffs behind"
printf '  %-18s %s\n' "pin_root not bpffs:" "$out"
untouched "a pin_root that is not bpffs"

# ---- an interface removed mid-rollout ------------------------------------
$CTL start "$DUT2" "$B/versions/fw_v2.bpf.o" --step-time 600s >/dev/null ||
	fail "cannot start the rollout on $DUT2"
ip -n "$TB_DUT" link del "$DUT2" || fail "cannot remove $DUT2"
for _ in $(seq 50); do
	grep -q "iface $DUT2: interface $DUT2 (ifindex [0-9]*) was removed" "$LOG" && break
	sleep 0.1
done
[ "$(grep -c "iface $DUT2: interface $DUT2 .* was removed" "$LOG")" = 1 ] ||
	fail "removed interface: want one log line"
kill -0 "$DAEMON_PID" || fail "canaryd died when $DUT2 was removed"
s=$($CTL -j status "$DUT2") || fail "removed interface: no status"
jq -e '.interfaces[0] | .managed == false and (.error | test("was removed")) and
	.link == "lost" and .rollout.phase == "failed"' <<<"$s" >/dev/null ||
	fail "removed interface: status is $s"
untouched "removing another interface"
echo "interface removed mid-rollout: $(grep "iface $DUT2: interface" "$LOG")"
echo "  status: $(jq -c '.interfaces[0] | {managed, error, phase: .rollout.phase,
	reason: .rollout.reason}' <<<"$s")"

# ---- corrupt and truncated state files -----------------------------------
state_case() {
	local name=$1 why=$2 xdp0 slot0 now
	shift 2
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	xdp0=$(cb_xdp_id)
	slot0=$(cb_slot_id 0)
	[ "$(cb_slot_id 1)" -gt 0 ] && [ "$(cb_kernel_share)" -gt 0 ] || fail "$name: no candidate"
	"$@"	# damage the file
	cb_start_daemon || fail "$name: canaryd did not start"
	DAEMON_PID=$CB_DAEMON_PID
	[ "$(grep -c "state file $STATE refused ($why)" "$LOG")" = 1 ] ||
		fail "$name: no clear line about the state file"
	[ -f "$STATE.corrupt" ] || fail "$name: the file was not kept aside"
	rm -f "$STATE.corrupt"
	now="xdp $(cb_xdp_id) slot0 $(cb_slot_id 0) slot1 $(cb_slot_id 1) share $(cb_kernel_share)"
	[ "$now" = "xdp $xdp0 slot0 $slot0 slot1 0 share 0" ] ||
		fail "$name: want stable only on the same dispatcher, got $now"
	$CTL -j status "$TB_DUT_IF" | jq -e '.interfaces[0] | .managed and .rollout == null' \
		>/dev/null || fail "$name: interface not managed, or a rollout left"
	echo "$name: $(grep "state file $STATE refused ($why)" "$LOG" | sed 's/^iface [^:]*: //')"
}
flip_byte() { printf '\xff' | dd of="$STATE" bs=1 seek=200 conv=notrunc status=none; }
halve() { truncate -s $(($(stat -c %s "$STATE") / 2)) "$STATE"; }
state_case "corrupt state file" "checksum mismatch (corrupt)" flip_byte
$CTL start "$TB_DUT_IF" "$B/versions/fw_v2.bpf.o" --step-time 600s >/dev/null ||
	fail "cannot start the rollout again"
cb_wait_status "$TB_DUT_IF" '.rollout.share_pct > 0' 30 "the first step after the warm-up" ||
	fail "the rollout did not reach its first step"
state_case "truncated state file" "truncated" halve
seen=$(tb_wait_rx 10000 10) || fail "traffic stopped (${seen% *} packets in 10 s)"
exit 0
