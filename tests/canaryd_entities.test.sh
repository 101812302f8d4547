#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Per-entity plans, live (issue 13): steps pin:net-a, pin:net-b, 50, 100
# with [entity net-a] dst 198.18.6.0/24 and [entity net-b] dst 198.18.7.0/24,
# each entity's traffic 10 % dropped (attack sources in subnet D), beside the
# bed's hash-split traffic. fw_v2 is promoted through both entity steps and
# the shares (canaryd restarted in net-b's step: states and rules kept); fw_dropnet (drops every packet to 198.18.7.0/24) is rolled back
# at net-b, net-a's step passed, with no hash-split packet on the candidate
# and every entity rule removed.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 'pin:net-a, pin:net-b, 50, 100' 2s 200ms || fail "cannot create the test bed"
cat >>"$CB_TMP/canaryd.ini" <<INI
[entity net-a]
rules = dst 198.18.6.0/24
[entity net-b]
rules = dst 198.18.7.0/24
INI
cb_start_daemon || fail "canaryd did not come up"
IF=$TB_DUT_IF

# Split traffic (subnet A to B, 20 % attack) and each entity's (10 % attack).
cb_traffic 20000
for n in 6 7; do
	tb_bg "$TB_GEN" $B/trafficgen --dev "$TB_GEN_IF" --pps 5000 --flows 1024 \
		--src 198.18.1.$n --dst 198.18.$n.10 --attack-share 100 \
		--attack-src 198.18.4.$n >/dev/null
done
ents() { $CTL -j status "$IF" | jq -c '[.interfaces[0].rollout.entities[] | {name, state}]'; }

# An unknown entity: refused naming it and the known ones; nothing started.
out=$($CTL start "$IF" $B/versions/fw_v2.bpf.o --steps pin:net-x,50,100 2>&1) &&
	fail "a plan with an unknown entity started"
grep -q 'no \[entity net-x\] section for step pin:net-x (known: net-a, net-b)' <<<"$out" ||
	fail "the refusal does not name the entity and the known ones: $out"
[ "$(cb_slot_id 1)" = 0 ] || fail "a refused start filled slot 1"

$CTL start "$IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start fw_v2"
cb_wait_status "$IF" '.rollout.entities[0].state == "judging"' 30 "net-a judged" ||
	fail "net-a's rules never moved to the candidate"
$CTL status "$IF" | grep -q '^  entity  *net-a  judging  dst 198.18.6.0/24: baseline' ||
	fail "canaryctl status has no entity line: $($CTL status "$IF")"
# A canaryd restart in net-b's step keeps the entity states and rules (state file).
cb_wait_status "$IF" '.rollout.entities[1].state == "baseline"' 30 "net-b's baseline" ||
	fail "net-b's step never began"
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
cb_start_daemon || fail "canaryd did not come back"
[ "$(ents)" = '[{"name":"net-a","state":"passed"},{"name":"net-b","state":"baseline"}]' ] ||
	[ "$(ents)" = '[{"name":"net-a","state":"passed"},{"name":"net-b","state":"judging"}]' ] ||
	fail "entity states after the restart: $(ents)"
[ "$($CTL -j status "$IF" | jq -c .interfaces[0].rollout.pins.rules)" != '[]' ] ||
	fail "the entity rules were lost in the restart"
cb_wait_status "$IF" '.rollout.phase == "promoted"' 120 "fw_v2 promoted" ||
	fail "fw_v2 was not promoted: $(ents) $($CTL -j status "$IF" | jq -r '.interfaces[0].rollout.reason')"
st=$($CTL -j status "$IF" | jq -c '.interfaces[0].rollout |
	{e: [.entities[] | {name, state, baseline, before, after, ratio}], rules: .pins.rules}')
echo "fw_v2: $st"
[ "$(ents)" = '[{"name":"net-a","state":"passed"},{"name":"net-b","state":"passed"}]' ] ||
	fail "entity states after the promotion: $(ents)"
[ "$(jq -c .rules <<<"$st")" = '[]' ] || fail "rules left after the promotion: $st"
# The history's events name each entity step.
history=$($CTL -j history "$IF" --config "$CB_TMP/canaryd.ini" 2>&1) || fail "history: $history"
for w in 'entity net-a: baseline' 'passed: entity net-a' 'passed: entity net-b'; do
	grep -q "$w" <<<"$history" || fail "the history does not say '$w': $history"
done

# fw_dropnet breaks net-b only: rolled back at net-b, net-a passed.
$CTL start "$IF" $B/tests/fw_dropnet.bpf.o >/dev/null || fail "cannot start fw_dropnet"
cb_wait_status "$IF" '.rollout.phase == "rolled_back"' 120 "fw_dropnet rolled back" ||
	fail "fw_dropnet was not rolled back: $(ents)"
st=$($CTL -j status "$IF" | jq -c '.interfaces[0].rollout | {reason,
	e: [.entities[] | {name, state, before, after, ratio}], rules: .pins.rules,
	split: .totals.candidate_packets}')
echo "fw_dropnet: $st"
[ "$(ents)" = '[{"name":"net-a","state":"passed"},{"name":"net-b","state":"harmful"}]' ] ||
	fail "entity states after the rollback: $(ents)"
jq -r .reason <<<"$st" | grep -q '^harmful: entity net-b: drop rate' ||
	fail "the reason does not name net-b: $st"
[ "$(jq .split <<<"$st")" = 0 ] || fail "hash-split packets reached the candidate: $st"
[ "$(jq -c .rules <<<"$st")" = '[]' ] || fail "rules left after the rollback: $st"
[ "$(cb_slot_id 1)" = 0 ] || fail "slot 1 not emptied after the rollback"
echo "canaryd_entities: ok"
