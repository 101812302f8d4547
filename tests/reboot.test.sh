#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A reboot keeps the promoted version (issue 12). A simulated reboot is what
# a boot does to canaryd: canaryd stopped, XDP detached, canaryd's bpffs pins
# emptied; state_dir kept. Checks:
#   1. fw_v2 promoted over the configured fw_v1; its copy is kept in
#      state_dir/versions/IFACE/SHA256.bpf.o (and fw_v1's, the first version);
#   2. after the reboot the dispatcher comes up with fw_v2 in slot 0 (its
#      program), the status names fw_v2 as stable and fw_v1 as
#      configured_stable, canaryd logs which stable it loaded and why, the
#      state file is still there and traffic flows;
#   3. a rollout in progress at the reboot ends as failed, the stable kept;
#      the previous stable fw_v1 is rebuilt from its kept copy and pinned
#      as "previous" (logged);
#   2b. canaryctl revert then runs fw_v1 in slot 0 (status, log, traffic);
#   2c. negative: fw_v1's copy gone at the reboot: the revert is refused
#      with the reason, slot 0 untouched; the copy put back, the revert
#      rebuilds the previous pin from it and runs it;
#   4. negative: the kept copy corrupted (hash mismatch): canaryd says so and
#      loads the config's fw_v1;
#   5. pruning: after fw_v1 is promoted back and then fw_settings, only the
#      stable's and the previous one's copies are left.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 50,100 1s 200ms || fail "cannot create the test bed"
cb_traffic 20000
cb_start_daemon || fail "canaryd did not come up"
STATE=$CB_TMP/state/$TB_DUT_IF.state
KEEP=$CB_TMP/state/versions/$TB_DUT_IF
LOG=$CB_TMP/canaryd.log
V1=$B/versions/fw_v1.bpf.o
V2=$B/versions/fw_v2.bpf.o
SHA1=$(sha256sum "$V1" | cut -c1-64)
SHA2=$(sha256sum "$V2" | cut -c1-64)
st() { $CTL -j status "$TB_DUT_IF" | jq -r ".interfaces[0] | $1"; }
slot0_name() { bpftool -j prog show id "$(cb_slot_id 0)" | jq -r .name; }

reboot() {
	kill "$CB_DAEMON_PID"
	wait "$CB_DAEMON_PID" 2>/dev/null
	tb_dut ip link set dev "$TB_DUT_IF" xdp off
	rm -rf "$CB_PIN/$TB_DUT_IF"
	[ "$(cb_xdp_id)" = 0 ] || fail "XDP still attached after the 'reboot'"
	: >"$LOG.mark"
	LOG_AT=$(wc -l <"$LOG")
	cb_start_daemon || fail "canaryd did not come up after the 'reboot'"
}
log_since() { tail -n +"$((LOG_AT + 1))" "$LOG"; }

# 1. Promote fw_v2.
P1=$(slot0_name)
[ -f "$KEEP/$SHA1.bpf.o" ] || fail "the configured stable's copy $KEEP/$SHA1.bpf.o is not kept"
timeout 60 $CTL start "$TB_DUT_IF" "$V2" --wait >"$CB_TMP/p.out" 2>&1 ||
	{ cat "$CB_TMP/p.out"; fail "fw_v2 was not promoted"; }
P2=$(st .stable.program)
[ "$P1" != "$P2" ] || fail "fw_v1 and fw_v2 have the same program name $P1: the test cannot tell them apart"
[ -f "$KEEP/$SHA2.bpf.o" ] || fail "fw_v2's copy $KEEP/$SHA2.bpf.o is not kept"
cmp -s "$KEEP/$SHA2.bpf.o" "$V2" || fail "the kept copy differs from fw_v2"
[ "$(slot0_name)" = "$P2" ] || fail "slot 0 runs $(slot0_name), not fw_v2's $P2 after the promotion"
echo "1. fw_v2 ($P2) promoted, kept as $SHA2.bpf.o"

# 2. Reboot: fw_v2 comes back.
reboot
[ "$(slot0_name)" = "$P2" ] ||
	fail "after the 'reboot' slot 0 runs $(slot0_name), not the promoted $P2"
[ "$(st .stable.sha256)" = "$SHA2" ] || fail "status stable is $(st .stable), not fw_v2"
[[ $(st .stable.object) == */fw_v2.bpf.o ]] || fail "status stable object $(st .stable.object)"
[[ $(st .configured_stable.object) == */fw_v1.bpf.o ]] ||
	fail "status configured_stable $(st .configured_stable)"
log_since | grep -q "loading promoted stable .*fw_v2.bpf.o (sha256 $SHA2) from state_dir: the config's stable .*fw_v1.bpf.o is only the first version" ||
	fail "no log line saying which stable was loaded and why"
[ -f "$STATE" ] || fail "the state file is gone after the 'reboot'"
[ "$(st .rollout.phase)" = promoted ] || fail "rollout after the 'reboot': $(st .rollout)"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "stable forwarding" ||
	fail "no traffic through fw_v2 after the 'reboot'"
$CTL status "$TB_DUT_IF" | grep -q "configured .*fw_v1.bpf.o" ||
	fail "canaryctl status does not show the configured stable"
log_since | grep -q "previous stable .*fw_v1.bpf.o (sha256 $SHA1) rebuilt from its kept copy $KEEP/$SHA1.bpf.o (program $(cb_pin_id previous)): canaryctl revert goes back to it" ||
	fail "no log line saying the previous stable fw_v1 was rebuilt from its kept copy"
echo "2. after a 'reboot': slot 0 runs $P2 (fw_v2), configured_stable fw_v1 ($P1), previous rebuilt"

# revert_to_v1 WHAT: canaryctl revert after a 'reboot': fw_v1 (program
# $PREV, pinned as "previous") runs in slot 0, status and log say so, traffic
# flows; then fw_v2 is promoted again for what follows.
revert_to_v1() {
	local rc
	$CTL revert "$TB_DUT_IF" --wait >"$CB_TMP/rev.out" 2>&1
	rc=$?
	[ $rc = 3 ] || { cat "$CB_TMP/rev.out"; fail "$1: revert exited $rc, want 3 (reverted)"; }
	[ "$(cb_slot_id 0)" = "$PREV" ] && [ "$(slot0_name)" = "$P1" ] ||
		fail "$1: slot 0 runs $(slot0_name) (id $(cb_slot_id 0)), not the rebuilt fw_v1 $PREV"
	[ "$(st .stable.sha256)" = "$SHA1" ] || fail "$1: status stable after the revert: $(st .stable)"
	[[ $(st .stable.object) == */fw_v1.bpf.o ]] || fail "$1: status stable object $(st .stable.object)"
	log_since | grep -q "rollout reverted: reverted to the previous stable by operator" ||
		fail "$1: the revert is not logged"
	cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "stable forwarding" ||
		fail "$1: no traffic through the reverted fw_v1"
	echo "$1: slot 0 runs $P1 (fw_v1, program $PREV loaded from $SHA1.bpf.o)"
	timeout 60 $CTL start "$TB_DUT_IF" "$V2" --wait >"$CB_TMP/p.out" 2>&1 ||
		{ cat "$CB_TMP/p.out"; fail "$1: fw_v2 was not promoted again after the revert"; }
	[ "$(slot0_name)" = "$P2" ] || fail "$1: slot 0 runs $(slot0_name), not fw_v2's $P2"
}

# 2b. Revert after the 'reboot': the previous pin rebuilt at start.
PREV=$(cb_pin_id previous)
[ "$(bpftool -j prog show id "$PREV" | jq -r .name)" = "$P1" ] ||
	fail "the rebuilt previous pin ($PREV) is not fw_v1's $P1"
revert_to_v1 "2b. revert after a 'reboot'"

# 2c. Negative: the previous stable's copy gone at the 'reboot': revert
# refused with the reason, slot 0 untouched; the copy put back: the revert
# rebuilds the previous pin from it then.
mv "$KEEP/$SHA1.bpf.o" "$CB_TMP/v1.kept"
reboot
log_since | grep -q "previous stable .*fw_v1.bpf.o (sha256 $SHA1) cannot be rebuilt after the datapath was created anew: its kept copy $KEEP/$SHA1.bpf.o: No such file or directory" ||
	fail "no log line saying why the previous stable cannot be rebuilt"
[ "$(cb_pin_id previous)" = 0 ] || fail "a previous pin without a kept copy"
$CTL revert "$TB_DUT_IF" >"$CB_TMP/rev.out" 2>&1 && fail "revert accepted with no previous pin"
grep -q "no previous stable to revert to: .*could not be rebuilt from its kept copy" "$CB_TMP/rev.out" ||
	{ cat "$CB_TMP/rev.out"; fail "revert: unclear refusal"; }
[ "$(slot0_name)" = "$P2" ] || fail "a refused revert changed slot 0"
[ "$(st .rollout.phase)" = promoted ] || fail "a refused revert changed the rollout: $(st .rollout)"
echo "2c. previous copy missing: $(cut -c1-120 "$CB_TMP/rev.out")"
mv "$CB_TMP/v1.kept" "$KEEP/$SHA1.bpf.o"
n0=$(log_since | grep -c "previous stable .*fw_v1.bpf.o (sha256 $SHA1) rebuilt from its kept copy")
PREV=
$CTL revert "$TB_DUT_IF" --wait >"$CB_TMP/rev.out" 2>&1
rc=$?
[ $rc = 3 ] || { cat "$CB_TMP/rev.out"; fail "2c: revert with the copy back exited $rc, want 3"; }
[ "$(log_since | grep -c "previous stable .*fw_v1.bpf.o (sha256 $SHA1) rebuilt from its kept copy")" = $((n0 + 1)) ] ||
	fail "2c: the revert did not rebuild the previous stable from its copy"
PREV=$(log_since | grep -o "rebuilt from its kept copy [^ ]* (program [0-9]*" | tail -1 | grep -o '[0-9]*$')
[ "$(cb_slot_id 0)" = "$PREV" ] && [ "$(slot0_name)" = "$P1" ] ||
	fail "2c: slot 0 runs $(slot0_name) (id $(cb_slot_id 0)), not the rebuilt fw_v1 $PREV"
echo "2c. copy put back: revert rebuilt fw_v1 (program $PREV) and runs it"
timeout 60 $CTL start "$TB_DUT_IF" "$V2" --wait >"$CB_TMP/p.out" 2>&1 ||
	{ cat "$CB_TMP/p.out"; fail "2c: fw_v2 was not promoted again after the revert"; }

# 3. A rollout under way at the reboot: failed, stable fw_v2 kept.
$CTL start "$TB_DUT_IF" "$V1" >/dev/null || fail "cannot start fw_v1"
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "progressing"' 10 "the rollout under way" ||
	fail "the rollout did not start"
reboot
[ "$(st .rollout.phase)" = failed ] || fail "a rollout cut by the 'reboot' is $(st .rollout.phase)"
[ "$(slot0_name)" = "$P2" ] || fail "slot 0 runs $(slot0_name) after a cut rollout, not $P2"
[ "$(cb_slot_id 1)" = 0 ] && [ "$(cb_kernel_share)" = 0 ] ||
	fail "the candidate is still in slot 1 after the cut rollout"
echo "3. a rollout cut by the 'reboot': $(st .rollout.reason)"

# 4. Negative: a corrupt copy is refused, the config's stable loaded.
cp "$KEEP/$SHA2.bpf.o" "$CB_TMP/good.o"
printf 'x' >>"$KEEP/$SHA2.bpf.o"
reboot
log_since | grep -q "kept copy .*$SHA2.bpf.o is corrupt (hash mismatch); loading the config's stable .*fw_v1.bpf.o instead" ||
	fail "no log line about the corrupt copy"
[ "$(slot0_name)" = "$P1" ] || fail "with a corrupt copy slot 0 runs $(slot0_name), not fw_v1's $P1"
[ "$(st .stable.sha256)" = "$SHA1" ] || fail "status stable $(st .stable) with a corrupt copy"
echo "4. corrupt copy refused: $(log_since | grep -o 'kept copy .*' | head -1 | cut -c1-120)"

# 5. Pruning: promote fw_v2 (copy rewritten), then fw_settings: fw_v1's copy goes.
timeout 60 $CTL start "$TB_DUT_IF" "$V2" --wait >"$CB_TMP/p.out" 2>&1 ||
	{ cat "$CB_TMP/p.out"; fail "fw_v2 was not promoted again"; }
cmp -s "$KEEP/$SHA2.bpf.o" "$CB_TMP/good.o" || fail "the corrupt copy was not replaced"
VS=$B/versions/fw_settings.bpf.o
SHAS=$(sha256sum "$VS" | cut -c1-64)
timeout 60 $CTL start "$TB_DUT_IF" "$VS" --wait >"$CB_TMP/p.out" 2>&1 ||
	{ cat "$CB_TMP/p.out"; fail "fw_settings was not promoted"; }
kept=$(ls "$KEEP" | sort | tr '\n' ' ')
want=$(printf '%s\n' "$SHA2.bpf.o" "$SHAS.bpf.o" | sort | tr '\n' ' ')
[ "$kept" = "$want" ] || fail "kept copies: $kept; want stable and previous only: $want"
echo "5. kept after two more promotions: stable and previous only"
exit 0
