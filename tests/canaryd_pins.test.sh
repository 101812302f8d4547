#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Pin rules, live: a destination rule from the config ([interface] pin) and
# a source rule from canaryctl start --pin send exactly the matching flows to
# the candidate (the dispatcher's pinned counters against fixed frame counts;
# the share is 0 through a long warm-up, so nothing else reaches it);
# canaryctl pin replaces the set mid-rollout (an IPv6 destination rule; the
# old IPv4 one no longer pins); a bad rule changes nothing; a canaryd restart
# keeps the rules; an abort removes them (status, the kernel's pin flags and
# tries).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 50,100 60s 200ms || fail "cannot create the test bed"
echo "pin = dst 198.18.5.0/24 -> candidate" >>"$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come up"
IF=$TB_DUT_IF

# send COUNT SRC DST [FAMILY]: COUNT frames over 64 flows, in the foreground.
send() {
	tb_gen $B/trafficgen --dev "$TB_GEN_IF" --pps 20000 --count "$1" --flows 64 \
		--src "$2" --dst "$3" --family "${4:-4}" >/dev/null ||
		fail "trafficgen $*: failed"
}
rules() { $CTL -j status "$IF" | jq -c '.interfaces[0].rollout.pins.rules'; }

$CTL start "$IF" $B/versions/fw_v2.bpf.o --warmup 600s \
	--pin 'src 198.18.7.0/24 -> candidate' >/dev/null || fail "cannot start the rollout"
want='["dst 198.18.5.0/24 -> candidate","src 198.18.7.0/24 -> candidate"]'
[ "$(rules)" = "$want" ] || fail "status rules $(rules), want $want"
[ "$(cb_kernel_share)" = 0 ] || fail "share $(cb_kernel_share) bp in the warm-up, want 0"
# The kernel: source and destination IPv4 lookups on (CANARY_F_PIN_V4 | _V4_DST).
flags=$(cb_kernel_cfg 'le32(4)')
[ $((flags & 0x44)) = $((0x44)) ] || fail "config flags $flags: the IPv4 pin lookups are off"
$CTL status "$IF" | grep -q '^  pin  *dst 198.18.5.0/24 -> candidate$' ||
	fail "canaryctl status does not list the rule"

send 3000 198.18.1.1 198.18.2.10	# no rule
send 2000 198.18.1.1 198.18.5.10	# dst rule
send 1000 198.18.7.3 198.18.2.10	# src rule
send 1000 2001:db8:1::1 2001:db8:2::10 6	# no rule (yet)
cb_wait_status "$IF" '.rollout.pins.pinned.candidate.packets >= 3000 and
	.versions.stable.packets >= 4000' 20 "the frames counted" ||
	fail "the frames were not counted"
st=$($CTL -j status "$IF" | jq -c '.interfaces[0] | {pc: .rollout.pins.pinned.candidate.packets,
	ps: .rollout.pins.pinned.stable.packets, c: .versions.candidate.packets,
	s: .versions.stable.packets}')
echo "rules from the config and --pin: $st"
[ "$(jq .pc <<<"$st")" = 3000 ] || fail "pinned to the candidate: $st, want exactly 3000"
[ "$(jq .ps <<<"$st")" = 0 ] || fail "pinned to stable: $st, want 0"
[ "$(jq .c <<<"$st")" = 0 ] || fail "hash-split packets on the candidate at share 0: $st"
# Per rule set: the plain rules are set 0, "plain", with the same counts, and the only set.
sets=$($CTL -j status "$IF" | jq -c '[.interfaces[0].rollout.pins.pinned.sets[] |
	{set, name, c: .candidate.packets, s: .stable.packets}]')
echo "per rule set: $sets"
[ "$sets" = '[{"set":0,"name":"plain","c":3000,"s":0}]' ] ||
	fail "per-rule-set counters: $sets, want set 0 (plain) with the 3000 pinned packets"
$CTL status "$IF" | grep -q '^  set  *plain  stable 0 packets (drop 0, pass 0, aborted 0, invalid 0), candidate 3000 packets (drop ' ||
	fail "canaryctl status has no rule-set line: $($CTL status "$IF" | grep -E '^  (set|pin)')"

# A bad rule: refused, the set unchanged.
$CTL pin "$IF" 'dst 198.18.5.0/33 -> candidate' 2>/dev/null && fail "a /33 rule was accepted"
$CTL pin "$IF" 'dst 198.18.5.0/24 -> canary' 2>/dev/null && fail "'-> canary' was accepted"
[ "$(rules)" = "$want" ] || fail "a refused rule changed the set to $(rules)"

# Replaced mid-rollout: the IPv6 destination pins, the IPv4 one no longer does.
$CTL pin "$IF" 'dst 2001:db8:2::/48 -> candidate' >/dev/null || fail "canaryctl pin failed"
[ "$(rules)" = '["dst 2001:db8:2::/48 -> candidate"]' ] || fail "after pin: rules $(rules)"
flags=$(cb_kernel_cfg 'le32(4)')
[ $((flags & 0xCC)) = $((0x80)) ] || fail "config flags $flags: want the IPv6 dst lookup alone"
send 2000 198.18.1.1 198.18.5.10
send 1000 2001:db8:1::1 2001:db8:2::10 6
cb_wait_status "$IF" '.rollout.pins.pinned.candidate.packets >= 4000 and
	.versions.stable.packets >= 6000' 20 "the frames counted" ||
	fail "the frames after canaryctl pin were not counted"
pc=$($CTL -j status "$IF" | jq '.interfaces[0].rollout.pins.pinned.candidate.packets')
echo "after canaryctl pin: $pc packets pinned to the candidate"
[ "$pc" = 4000 ] || fail "pinned to the candidate after the change: $pc, want exactly 4000"

# A restart keeps the rules (state file) and the kernel's tries (pinned dispatcher).
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
cb_start_daemon || fail "canaryd did not come back"
[ "$(rules)" = '["dst 2001:db8:2::/48 -> candidate"]' ] || fail "after the restart: rules $(rules)"
[ "$($CTL -j status "$IF" | jq -r '.interfaces[0].rollout.phase')" = progressing ] ||
	fail "the rollout did not survive the restart"
# The pinned counts restart from canaryd's first read: wait for it.
cb_wait_status "$IF" '.read_interval_ms != null' 10 "the first counter read" ||
	fail "canaryd did not read the counters after the restart"
send 500 2001:db8:1::1 2001:db8:2::10 6
cb_wait_status "$IF" '.rollout.pins.pinned.candidate.packets >= 500' 20 "pinned after restart" ||
	fail "the IPv6 rule no longer pins after the restart"

# The end: rules removed (status, kernel flags, tries), the flows back on stable.
$CTL abort "$IF" >/dev/null || fail "cannot abort"
[ "$(rules)" = '[]' ] || fail "after the abort: rules $(rules)"
flags=$(cb_kernel_cfg 'le32(4)')
[ $((flags & 0xCC)) = 0 ] || fail "config flags $flags after the abort: a pin lookup is on"
for m in canary_pin4 canary_pin6; do
	n=$(bpftool -j map dump pinned "$CB_PIN/$IF/$m" | jq length)
	[ "$n" = 0 ] || fail "$m holds $n tries after the abort"
done
[ "$(cb_slot_id 1)" = 0 ] || fail "slot 1 not emptied"
s0=$($CTL -j status "$IF" | jq '.interfaces[0].versions.stable.packets')
send 1000 2001:db8:1::1 2001:db8:2::10 6
cb_wait_status "$IF" ".versions.stable.packets >= $s0 + 1000" 20 "the flows on stable" ||
	fail "the formerly pinned flows did not reach stable after the abort"
pc=$($CTL -j status "$IF" | jq '.interfaces[0].rollout.pins.pinned.candidate.packets')
[ "$pc" = 500 ] || fail "pinned to the candidate after the abort: $pc, want still 500"
$CTL pin "$IF" 'dst 198.18.5.0/24 -> candidate' 2>/dev/null &&
	fail "pin accepted with no running rollout"

# Pinned traffic's own hard limit: a candidate that aborts on its pinned flows
# (fw_aborts: 1 source port in 64) trips the breaker (budget 1000 here) and
# is rolled back at share 0, the rules removed; the judge saw no split packet.
$CTL start "$IF" $B/versions/fw_aborts.bpf.o --warmup 600s \
	--pin 'src 198.18.9.0/24 -> candidate' >/dev/null || fail "cannot start fw_aborts"
# (2 rules: this one and the config's dst rule)
tb_gen $B/trafficgen --dev "$TB_GEN_IF" --pps 50000 --count 150000 --flows 65536 \
	--src 198.18.9.1 --dst 198.18.2.10 >/dev/null || fail "trafficgen failed"
cb_wait_status "$IF" '.rollout.phase == "rolled_back"' 30 "the breaker's rollback" ||
	fail "an aborting pinned candidate was not rolled back"
st=$($CTL -j status "$IF" | jq -c '.interfaces[0] | {reason: .rollout.reason,
	rules: .rollout.pins.rules, ab: .rollout.pins.pinned.candidate.aborted,
	split: .versions.candidate.packets}')
echo "aborting pinned candidate: $st"
[ "$(jq -c .rules <<<"$st")" = '[]' ] || fail "rules left after the rollback: $st"
jq -r .reason <<<"$st" | grep -q 'the rest on the flows of its 2 pin rules' ||
	fail "the reason does not name the pinned flows: $st"
[ "$(jq .ab <<<"$st")" -gt 1000 ] || fail "fewer aborts than the budget pinned: $st"
[ "$(cb_slot_id 1)" = 0 ] || fail "slot 1 not emptied after the rollback"
flags=$(cb_kernel_cfg 'le32(4)')
[ $((flags & 0xCC)) = 0 ] || fail "config flags $flags after the rollback: a pin lookup is on"
echo "canaryd_pins: ok"
