#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# History and reports, live traffic on a veth pair in namespaces made here:
#  - a good candidate promoted and a black-holing one rolled back; then
#    canaryd is stopped and `canaryctl history IFACE -j` (state_dir read
#    directly, through --state-dir and through --config) lists both with
#    their outcomes, who = "uid=U pid=P" of the canaryctl client that
#    started each, "judge" for the verdicts, and the evidence that decided;
#    an operator's abort is decided by the uid/pid of that canaryctl; that
#    rollout's series goes on across a restart of canaryd;
#  - `canaryctl report ID -o x.html` writes one self-contained page (no
#    script, no external reference) with the series' polylines;
#  - headless Chromium opens it and takes a screenshot, in which the
#    stable, candidate and share colours are drawn (tests/lib/png_colours.py);
#    negative control: the report of the same rollout without its series
#    file draws no rate lines and fails that check.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

COL_STABLE=1f77b4 COL_CAND=ff7f0e COL_SHARE=2ca02c
# A polyline 2.5 px wide across the plot is thousands of pixels; the legend's
# squares of the same colours are about a hundred and fifty.
MIN_PIXELS=800

command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps.sh)"
# Two steps, the first at 25 %: enough candidate events that the judge proves
# fw_v2 within the step even on a loaded machine (at 5 % it could time out).
cb_create 25,100 1s 200ms || fail "cannot create the test bed"
cb_traffic 50000
cb_start_daemon || fail "canaryd did not come up"
STATE=$CB_TMP/state

# start IFACE OBJECT PHASE: started by a canaryctl whose pid is kept in SPID.
run_rollout() {
	$CTL start "$TB_DUT_IF" "$1" >"$CB_TMP/start.out" 2>&1 &
	SPID=$!
	wait "$SPID" || { cat "$CB_TMP/start.out"; fail "start $1 failed"; }
	cb_wait_status "$TB_DUT_IF" ".rollout.phase == \"$2\"" 90 "$2" || fail "$1 was not $2"
}
run_rollout "$B/versions/fw_v2.bpf.o" promoted
PID_GOOD=$SPID
run_rollout "$B/versions/fw_blackhole.bpf.o" rolled_back
PID_BAD=$SPID
BAD_ID=$($CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0].rollout.id')
# A restart in the middle of a rollout keeps its series (written at exit,
# reloaded at the next interval), then an operator's abort: decided by that client.
$CTL start "$TB_DUT_IF" "$B/versions/fw_v2.bpf.o" --step-time 60s >/dev/null || fail "third start failed"
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "progressing" and .rollout.elapsed_ms > 2000' 30 \
	"the third rollout" || fail "the third rollout did not start"
AB_ID=$($CTL -j status "$TB_DUT_IF" | jq -r '.interfaces[0].rollout.id')
kill "$CB_DAEMON_PID"
for _ in $(seq 50); do kill -0 "$CB_DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
AB_SERIES=$STATE/series.$AB_ID.json
n_before=$(jq '.points | length' "$AB_SERIES") || fail "no series $AB_SERIES after canaryd stopped"
t0_before=$(jq '.points[0].t0_ms' "$AB_SERIES")
[ "$n_before" -ge 8 ] || fail "$n_before points in the series of 2 s of 200 ms intervals"
cb_start_daemon || fail "canaryd did not come back"
cb_wait_status "$TB_DUT_IF" ".rollout.elapsed_ms > $(($($CTL -j status "$TB_DUT_IF" |
	jq '.interfaces[0].rollout.elapsed_ms') + 1500))" 30 "the rollout after the restart" ||
	fail "the rollout did not go on after the restart"
$CTL abort "$TB_DUT_IF" >/dev/null &
APID=$!
wait "$APID" || fail "abort failed"

# The record is in state_dir: canaryd is not needed to read it.
kill "$CB_DAEMON_PID"
for _ in $(seq 50); do kill -0 "$CB_DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CB_DAEMON_PID" 2>/dev/null && fail "canaryd did not stop"

H=$($B/canaryctl -j history "$TB_DUT_IF" --state-dir "$STATE") || fail "history -j failed: $H"
echo "history: $(jq -c '[.rollouts[] | {rollout_id, started_by, outcome, decided_by,
	events: [.events[] | .event]}]' <<<"$H")"
[ "$(jq '.rollouts | length' <<<"$H")" -eq 3 ] || fail "history lists not 3 rollouts: $H"
check() { jq -e "$1" <<<"$H" >/dev/null || fail "history: $2 ($1)"; }
check ".rollouts[0].started_by == \"uid=$(id -u) pid=$PID_GOOD\"" "the first start's who"
check ".rollouts[0].events[0] | .event == \"started\" and .uid == $(id -u) and .pid == $PID_GOOD" \
	"the started line's uid and pid"
check '.rollouts[0].outcome == "promoted" and .rollouts[0].decided_by == "judge"' \
	"the good candidate promoted by the judge"
check ".rollouts[1].started_by == \"uid=$(id -u) pid=$PID_BAD\"" "the second start's who"
check '.rollouts[1].outcome == "rolled_back" and .rollouts[1].decided_by == "judge"' \
	"the black hole rolled back by the judge"
check ".rollouts[1].rollout_id == \"$BAD_ID\"" "the rolled-back rollout's id"
check ".rollouts[2].outcome == \"aborted\" and .rollouts[2].decided_by == \"uid=$(id -u) pid=$APID\"" \
	"the abort decided by its client"
n_after=$(jq '.points | length' "$AB_SERIES")
echo "series across the restart: $n_before points before, $n_after at the abort"
[ "$n_after" -gt $((n_before + 5)) ] && [ "$(jq '.points[0].t0_ms' "$AB_SERIES")" = "$t0_before" ] ||
	fail "the series did not go on across the restart ($n_before -> $n_after points)"
echo "the rollback's line: $(jq -c '.rollouts[1].events[-1] | del(.tests)' <<<"$H")"
# After the transition: stable only (share 0), at the step that decided.
check '.rollouts[1].events[-1] | .verdict == "harmful" and (.evidence | length) > 0
	and (.tests | length) > 0 and .share_pct == 0 and .step >= 1' "the rollback's verdict and evidence"
check '[.rollouts[].events[] | .time_ms, .step, .steps, .share_pct, .phase, .candidate.object,
	.stable.object] | all(. != null)' "every line's fields"
# The config's state_dir, and a table for people.
$B/canaryctl history "$TB_DUT_IF" -c "$CB_TMP/canaryd.ini" >"$CB_TMP/history.txt" ||
	fail "history --config failed"
cat "$CB_TMP/history.txt"
grep -q "rolled_back *judge" "$CB_TMP/history.txt" || fail "the table does not show the rollback"
# A bad interface: one line, exit 1.
out=$($B/canaryctl history nosuch0 --state-dir "$STATE" 2>&1) && fail "history nosuch0 succeeded"
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "no history of iface nosuch0" <<<"$out" ||
	fail "history nosuch0 said: $out"

# The reports: the rollback's decision and evidence; the promotion's picture
# (two steps of both versions; the rollback's candidate lived one interval).
GOOD_ID=$(jq -r '.rollouts[0].rollout_id' <<<"$H")
BAD_PAGE=$CB_TMP/rollback.html
$B/canaryctl report "$BAD_ID" -o "$BAD_PAGE" --state-dir "$STATE" || fail "report $BAD_ID failed"
grep -q '<b>rolled_back</b> by <b>judge</b>' "$BAD_PAGE" || fail "the rollback's report names no decision"
grep -q 'drop up harm' "$BAD_PAGE" && grep -q '<th>metric</th>' "$BAD_PAGE" ||
	fail "the rollback's report has no evidence"
SERIES=$STATE/series.$GOOD_ID.json
[ -f "$SERIES" ] || fail "no series file $SERIES"
echo "series: $(jq '.points | length' "$SERIES") points of at most $(jq .max_points "$SERIES")"
PAGE=$CB_TMP/report.html
$B/canaryctl report "$GOOD_ID" -o "$PAGE" --state-dir "$STATE" || fail "report $GOOD_ID failed"
echo "report: $(wc -c <"$PAGE") bytes, $(grep -c '<polyline' "$PAGE") polylines"
grep -Eiq '<script|<link|<img|https?:|src=|href=|url\(' "$PAGE" &&
	fail "the report is not self-contained: $(grep -Eio '<script|<link|<img|https?:[^"]*|src=|href=|url\(' "$PAGE" | head -3)"
for cls in "stable pass" "candidate pass" "stable drop" "candidate drop" "share"; do
	grep -Eq "<polyline class=\"series $cls\"[^>]* points=\"[0-9.]+,[0-9.]+ [0-9]" "$PAGE" ||
		fail "the report has no $cls polyline"
done
grep -q 'class="decision"' "$PAGE" || fail "the report marks no decision"
grep -q 'this rollout had no shadow phase' "$PAGE" || fail "the report does not say why no paired matrix"

# shot HTML PNG: headless Chromium's screenshot of the page, no network.
shot() {
	rm -f "$2"
	timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$CB_TMP/chromium" --screenshot="$2" --window-size=1200,900 \
		"file://$1" >"$CB_TMP/chromium.log" 2>&1
	[ -s "$2" ] || { cat "$CB_TMP/chromium.log"; fail "chromium wrote no screenshot of $1"; }
}
shot "$PAGE" "$CB_TMP/report.png"
python3 tests/lib/png_colours.py "$CB_TMP/report.png" $MIN_PIXELS $COL_STABLE $COL_CAND \
	$COL_SHARE || fail "the screenshot does not show the series"

# Negative control: the same rollout without its series: no rate lines drawn.
mv "$SERIES" "$SERIES.away"
$B/canaryctl report "$GOOD_ID" -o "$CB_TMP/noseries.html" --state-dir "$STATE" ||
	fail "report without series failed"
shot "$CB_TMP/noseries.html" "$CB_TMP/noseries.png"
python3 tests/lib/png_colours.py "$CB_TMP/noseries.png" $MIN_PIXELS $COL_STABLE $COL_CAND \
	$COL_SHARE
rc=$?
[ $rc -eq 1 ] || fail "the check passed a page without series (exit $rc)"
# HISTORY_TEST_OUT=DIR keeps the pages and screenshots, to look at.
[ -n "${HISTORY_TEST_OUT:-}" ] && cp "$CB_TMP"/*.html "$CB_TMP"/*.png "$HISTORY_TEST_OUT"/
echo "PASS: history and report"
