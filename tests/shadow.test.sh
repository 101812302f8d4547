#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The shadow phase (issue 15) under live traffic on a veth pair in
# namespaces made here. fw_blackhole and fw_leaky with --shadow 10s: rolled
# back (exit 2) in the shadow phase, the candidate's live counters at 0
# packets, the matrix's pass->drop (drop->pass) cell with examples; fw_v2
# passes its shadow phase and is promoted. Then the packets a black-holing
# candidate harms (drops that stable passes) with --shadow and without.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 1s 200ms || fail "cannot create the test bed"
cb_traffic 50000
# Attack traffic from D to a host outside B: only rule 4 drops it, and
# fw_leaky's rule 4 passes it (as in bad_candidates).
tb_bg "$TB_GEN" $B/trafficgen --dev "$TB_GEN_IF" --pps 10000 --flows 4096 \
	--src 198.18.4.1 --dst 198.18.5.10 >/dev/null
# A webhook for the notifications: the rolled_back body carries the evidence.
LOG=$CB_TMP/hooks.jsonl
cat >>"$CB_TMP/canaryd.ini" <<INI
webhook = notes

[webhook notes]
url = http://127.0.0.1:8090/canary
INI
tb_bg "$TB_DUT" $B/webhook_receiver --port 8090 --log "$LOG" >/dev/null
cb_start_daemon || fail "canaryd did not come up"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 20 "stable forwarding" ||
	fail "no traffic through stable"

ro() { $CTL -j status "$TB_DUT_IF" | jq -c ".interfaces[0].$1"; }

# shadow_rollback OBJ ROW COL: rolled back in the shadow phase, 0 live candidate packets.
shadow_rollback() {
	local obj=$1 row=$2 col=$3 rc cand n ex
	timeout 60 $CTL start "$TB_DUT_IF" "$B/versions/$obj.bpf.o" --shadow 10s --wait \
		>"$CB_TMP/$obj.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || { cat "$CB_TMP/$obj.out"; fail "$obj --shadow 10s: --wait exited $rc, want 2"; }
	[ "$(ro rollout.phase)" = '"rolled_back"' ] || fail "$obj: phase $(ro rollout.phase)"
	ro rollout.reason | grep -q "shadow phase" ||
		fail "$obj: not rolled back in the shadow phase: $(ro rollout.reason)"
	[ "$(ro rollout.shadow.active)" = false ] || fail "$obj: the shadow phase still active"
	[ "$(ro rollout.shadow.decision)" = '"harmful"' ] || fail "$obj: decision $(ro rollout.shadow.decision)"
	cand=$(ro versions.candidate.packets)
	[ "$cand" = 0 ] || fail "$obj: the candidate handled $cand live packets, want 0"
	[ "$(ro rollout.totals.candidate_packets)" = 0 ] || fail "$obj: candidate totals $(ro rollout.totals)"
	n=$(ro "rollout.shadow.cells | map(select(.stable == \"$row\" and .candidate == \"$col\")) | .[0].samples // 0")
	[ "$n" -gt 0 ] || fail "$obj: no $row->$col cell: $(ro rollout.shadow.cells)"
	ex=$(ro "rollout.shadow.cells | map(select(.stable == \"$row\" and .candidate == \"$col\")) | .[0].examples[0].frame")
	[[ $ex == *198.18.* ]] || fail "$obj: the $row->$col cell has no example: $ex"
	# The kernel's share stayed 0 the whole time, sampling is off again.
	[ "$(cb_kernel_share)" = 0 ] || fail "$obj: kernel share $(cb_kernel_share) after the rollback"
	grep -q "iface $TB_DUT_IF: rollout rolled_back: harmful in the shadow phase" "$CB_TMP/canaryd.log" ||
		fail "$obj: the log has no shadow rollback line"
	# The webhook's rolled_back body: the decision, the harm and the cell.
	for _ in $(seq 50); do
		[ "$(jq -c "select(.event == \"rolled_back\" and (.body.candidate.object | endswith(\"/$obj.bpf.o\")))" \
			"$LOG" 2>/dev/null | wc -l)" -ge 1 ] && break
		sleep 0.1
	done
	jq -e "select(.event == \"rolled_back\" and (.body.candidate.object | endswith(\"/$obj.bpf.o\"))) |
		.body.shadow.decision == \"harmful\" and (.body.shadow.harm | contains(\"$row->$col\")) and
		(.body.shadow.cells | map(select(.stable == \"$row\" and .candidate == \"$col\")) |
		 .[0].examples | length) > 0" "$LOG" >/dev/null ||
		fail "$obj: the rolled_back webhook body lacks the shadow evidence"
	# The report draws the same matrix, from the history (canaryctl report).
	id=$(ro rollout.id | tr -d '"')
	$CTL report "$id" -o "$CB_TMP/$obj.html" --state-dir "$CB_TMP/state" >/dev/null ||
		fail "$obj: canaryctl report $id failed"
	grep -q "<tr><th>$row</th>.*<td class=\"differ\">$n</td>" "$CB_TMP/$obj.html" ||
		fail "$obj: the report's shadow matrix lacks the $row->$col cell ($n)"
	echo "$obj --shadow 10s: rolled back in $(ro rollout.elapsed_ms) ms, $(ro rollout.shadow.samples)" \
		"samples, fidelity $(ro rollout.shadow.fidelity), $row->$col $n, candidate live packets $cand;" \
		"reason: $(ro rollout.reason)"
	echo "  canaryctl status: $($CTL status "$TB_DUT_IF" | grep -E '^ *shadow ')"
}

shadow_rollback fw_blackhole pass drop
shadow_rollback fw_leaky drop pass

# A safe candidate: the shadow phase passes, then the live steps promote it.
timeout 120 $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --shadow 10s --wait >"$CB_TMP/v2.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$CB_TMP/v2.out"; fail "fw_v2 --shadow 10s: --wait exited $rc, want 0"; }
[ "$(ro rollout.shadow.decision)" = '"safe"' ] || fail "fw_v2: shadow decision $(ro rollout.shadow.decision)"
grep -q "shadow phase over: .* safe$" "$CB_TMP/canaryd.log" || fail "fw_v2: no safe shadow phase in the log"
[ "$(ro rollout.totals.candidate_packets)" -gt 0 ] || fail "fw_v2: never went live"
echo "fw_v2 --shadow 10s: safe after $(ro rollout.shadow.samples) samples" \
	"(fidelity $(ro rollout.shadow.fidelity)), then promoted; $(ro rollout.totals.candidate_packets) live candidate packets"

# Harmed packets: candidate drops beyond stable's drop rate on its own traffic.
harmed() {
	ro rollout.totals | jq -r 'if .candidate_packets == 0 then 0 else
		(.candidate_drops - .candidate_packets * .stable_drops / .stable_packets) | floor end'
}
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_blackhole.bpf.o --shadow 10s --wait >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "fw_blackhole --shadow 10s again: exit $rc, want 2"
with=$(harmed)
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_blackhole.bpf.o --wait >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "fw_blackhole without --shadow: exit $rc, want 2"
without=$(harmed)
# The negative check: without the shadow phase the candidate did harm live traffic.
[ "$without" -gt 0 ] || fail "fw_blackhole without --shadow harmed $without packets: the measure is wrong"
[ "$with" = 0 ] || fail "fw_blackhole with --shadow harmed $with packets, want 0"
echo "harmed packets (candidate drops of packets stable passes), fw_blackhole at 60 kpps:" \
	"with --shadow $with, without $without ($(ro rollout.totals.candidate_packets) live candidate packets," \
	"rolled back after $(ro rollout.elapsed_ms) ms)"
exit 0
