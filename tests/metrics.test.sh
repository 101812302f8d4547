#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prometheus metrics during a live rollout: the endpoint listens on
# 127.0.0.1:9464 by default and nowhere else; a scrape is well formed
# (build/promcheck) and agrees with `canaryctl -j status` taken between two
# scrapes: counters lie between the two, share, step, phase and judge
# statistics are equal; decision totals count the rollouts that end; a stuck
# scraper neither stalls canaryd nor keeps its connection.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 60s 200ms || fail "cannot create the test bed"
cb_traffic 50000
cb_start_daemon || fail "canaryd did not come up"
IF=$TB_DUT_IF
URL=http://127.0.0.1:9464/metrics

# The default: loopback only.
listen=$(tb_dut ss -ltnH)
echo "$listen" | grep -q ' 127\.0\.0\.1:9464 ' || fail "not listening on 127.0.0.1:9464: $listen"
echo "$listen" | grep ':9464 ' | grep -vq ' 127\.0\.0\.1:9464 ' && fail "listens beyond loopback: $listen"
tb_gen curl -s -m 2 -o /dev/null "http://198.18.0.2:9464/metrics" &&
	fail "the metrics endpoint answers on the veth address"
echo "listens on 127.0.0.1:9464 only"

scrape() {
	tb_dut curl -sf -m 5 "$URL"
}
# value PAGE SERIES: the value of the series written exactly so.
value() {
	awk -v k="$2" 'index($0, k " ") == 1 { print $2; found = 1 } END { exit !found }' <<<"$1"
}

$CTL start "$IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start the rollout"
# Judgements, so there is evidence to scrape, and candidate traffic to count.
cb_wait_status "$IF" '((.rollout.tests // []) | length > 0) and .versions.candidate.packets > 2000' \
	30 "the judge's evidence and 2,000 candidate packets" || fail "no evidence or candidate traffic"

# A scraper that sends half a request and then nothing, started after the
# waits above so that canaryd's 5 s idle timeout cannot close it first on a
# slow machine; the check waits (with a deadline) until it is connected.
tb_bg "$TB_DUT" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464; printf "GET /metrics HTTP/1.1\r\n" >&3; sleep 30'
stuck_pid=${TB_PIDS[-1]}
for _ in $(seq 50); do
	[ -n "$(tb_dut ss -tnH state established '( sport = :9464 )')" ] && break
	sleep 0.1
done
[ -n "$(tb_dut ss -tnH state established '( sport = :9464 )')" ] ||
	fail "the stuck scraper is not connected after 5 s"
t0=$(date +%s%N)
$CTL status >/dev/null || fail "status with a stuck scraper connected"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fail "status took $(((t1 - t0) / 1000000)) ms with a stuck scraper"

# judge_matches PAGE: the judge's verdict and every test of status $st are
# in PAGE with the same values; else 1 with $why set.
judge_matches() {
	local metric dir test stat threshold decided l a t d verdict
	verdict=$(jq -r '.interfaces[0].rollout.verdict' <<<"$st")
	[ "$(value "$1" "canary_judge_verdict{interface=\"$IF\",verdict=\"$verdict\"}")" = 1 ] ||
		{ why="judge verdict $verdict not 1"; return 1; }
	ntests=0
	while read -r metric dir test stat threshold decided; do
		l="interface=\"$IF\",metric=\"$metric\",dir=\"$dir\",test=\"$test\""
		a=$(value "$1" "canary_judge_statistic{$l}") || { why="no judge statistic for $l"; return 1; }
		t=$(value "$1" "canary_judge_threshold{$l}") || { why="no judge threshold for $l"; return 1; }
		d=$(value "$1" "canary_judge_decided{$l}") || { why="no judge decided for $l"; return 1; }
		# Status writes the infinities as the largest doubles (JSON has none).
		case $a in +Inf) a=1e308 ;; -Inf) a=-1e308 ;; esac
		awk -v a="$a" -v b="$stat" -v t="$t" -v u="$threshold" 'function ok(x, y) {
			return x == y || (x - y < 1e-9 * (y < 0 ? -y : y) + 1e-12 && y - x < 1e-9 * (y < 0 ? -y : y) + 1e-12) }
			BEGIN { exit !(ok(a, b) && ok(t, u)) }' ||
			{ why="judge $metric/$dir/$test: scrape $a vs $t, status $stat vs $threshold"; return 1; }
		[ "$d" = "$([ "$decided" = true ] && echo 1 || echo 0)" ] ||
			{ why="judge $metric/$test decided: scrape $d, status $decided"; return 1; }
		ntests=$((ntests + 1))
	done < <(jq -r '.interfaces[0].rollout.tests[] | "\(.metric) \(.dir) \(.test) \(.stat) \(.threshold) \(.decided)"' <<<"$st")
	[ "$ntests" -ge 2 ] || { why="status has only $ntests judge tests"; return 1; }
}

# Scrape, status, scrape, in one quick go. The judge runs every 200 ms, so
# status's judge statistics are those of the first scrape or of the second;
# if a second judgement fell in between, again (up to 10 times).
for attempt in $(seq 10); do
	all=$(tb_dut bash -c "curl -sf -m 5 $URL && echo '#--' && $CTL -j status $IF && echo '#--' &&
		curl -sf -m 5 $URL") || fail "scrape, status, scrape failed"
	s1=$(awk '/^#--$/ { n++; next } n == 0' <<<"$all")
	st=$(awk '/^#--$/ { n++; next } n == 1' <<<"$all")
	s2=$(awk '/^#--$/ { n++; next } n == 2' <<<"$all")
	judge_matches "$s1" && break
	judge_matches "$s2" && break
	[ "$attempt" = 10 ] && fail "$why"
done
echo "scrape, status, scrape: attempt $attempt, $(wc -l <<<"$s1") lines"
echo "one scrape: $(tb_dut curl -s -o /dev/null -w '%{size_download} bytes in %{time_total} s' "$URL")"
for s in "$s1" "$s2"; do
	printf '%s\n' "$s" | $B/promcheck || fail "scrape is not well formed"
done

jq -e '.interfaces[0].rollout.phase == "progressing"' >/dev/null <<<"$st" ||
	fail "rollout is not progressing: $(jq -c .interfaces[0].rollout <<<"$st")"
checked=0
for version in stable candidate; do
	labels="interface=\"$IF\",version=\"$version\",class=\"split\""
	for pair in packets:packets_total bytes:bytes_total fallback:fallbacks_total \
		    aborted:verdicts_total:aborted drop:verdicts_total:drop pass:verdicts_total:pass \
		    tx:verdicts_total:tx redirect:verdicts_total:redirect invalid:verdicts_total:invalid; do
		IFS=: read -r field family verdict <<<"$pair"
		series="canary_${family}{$labels${verdict:+,verdict=\"$verdict\"}}"
		a=$(value "$s1" "$series") || fail "no $series"
		b=$(value "$s2" "$series") || fail "no $series in the second scrape"
		m=$(jq ".interfaces[0].versions.$version.$field" <<<"$st")
		awk -v a="$a" -v m="$m" -v b="$b" 'BEGIN { exit !(a <= m && m <= b) }' ||
			fail "$series: status $m not between scrapes $a and $b"
		checked=$((checked + 1))
	done
	p=$(value "$s1" "canary_packets_total{$labels}")
	[ "$p" -gt 1000 ] || fail "$version saw only $p packets"
done
# Cost: the histogram's mean is status's cost_ns_avg (the same snapshot).
labels="interface=\"$IF\",version=\"stable\",class=\"split\""
sum=$(value "$s2" "canary_packet_cost_seconds_sum{$labels}") || fail "no cost histogram"
cnt=$(value "$s2" "canary_packet_cost_seconds_count{$labels}") || fail "no cost histogram"
avg=$(jq '.interfaces[0].versions.stable.cost_ns_avg' <<<"$st")
[ "$cnt" -gt 10 ] || fail "only $cnt cost samples"
awk -v s="$sum" -v c="$cnt" -v a="$avg" 'BEGIN { m = s / c * 1e9; exit !(m > 0.99 * a && m < 1.01 * a) }' ||
	[ "$(value "$s1" "canary_packet_cost_seconds_count{$labels}")" != "$cnt" ] ||
	fail "histogram mean $sum/$cnt s differs from status cost_ns_avg $avg ns"

# Rollout and judge state: equal.
step=$(jq '.interfaces[0].rollout.step' <<<"$st")
[ "$(value "$s1" "canary_rollout_step{interface=\"$IF\"}")" = "$step" ] || fail "step differs from status ($step)"
steps=$(jq '.interfaces[0].rollout.steps' <<<"$st")
[ "$(value "$s1" "canary_rollout_steps{interface=\"$IF\"}")" = "$steps" ] || fail "steps differ"
share=$(jq '.interfaces[0].rollout.share_pct' <<<"$st")
ratio=$(value "$s1" "canary_rollout_share_ratio{interface=\"$IF\"}")
awk -v r="$ratio" -v s="$share" 'BEGIN { d = r * 100 - s; exit !(d < 1e-9 && d > -1e-9) }' ||
	fail "share ratio $ratio, status $share %"
[ "$(value "$s1" "canary_rollout_phase{interface=\"$IF\",phase=\"progressing\"}")" = 1 ] || fail "phase not 1"
[ "$(grep -c "^canary_rollout_phase{interface=\"$IF\",.* 1$" <<<"$s1")" = 1 ] || fail "not exactly one phase"
echo "$checked counters between two scrapes; step $step/$steps, share $share %, phase, verdict and $ntests judge tests equal"
# Per-entity counters: the family is declared, with no series in a plan without entity
# steps (canaryd_entities.test.sh checks its values in one with them).
grep -q '^# TYPE canary_entity_packets_total counter$' <<<"$s1" ||
	fail "canary_entity_packets_total is not declared"
grep -q '^canary_entity_packets_total{' <<<"$s1" &&
	fail "canary_entity_packets_total has series without entity steps"

# Decision totals since canaryd started.
$CTL abort "$IF" >/dev/null || fail "cannot abort"
timeout 120 $CTL start "$IF" $B/versions/fw_blackhole.bpf.o --step-time 2s --wait >/dev/null
rc=$?
[ $rc -eq 2 ] || fail "black-holing candidate: --wait exited $rc, want 2"
s3=$(scrape) || fail "scrape failed"
for d in aborted:1 rolled_back:1 promoted:0 failed:0; do
	v=$(value "$s3" "canary_decisions_total{interface=\"$IF\",decision=\"${d%%:*}\"}")
	[ "$v" = "${d#*:}" ] || fail "decisions ${d%%:*} = $v, want ${d#*:}"
done
[ "$(value "$s3" "canary_rollout_phase{interface=\"$IF\",phase=\"rolled_back\"}")" = 1 ] ||
	fail "phase rolled_back not 1"
echo "decisions: aborted 1, rolled_back 1, promoted 0"

# The stuck scraper's connection is closed by canaryd's idle timeout (5 s).
for _ in $(seq 100); do
	[ -z "$(tb_dut ss -tnH state established '( sport = :9464 )')" ] && break
	sleep 0.1
done
[ -z "$(tb_dut ss -tnH state established '( sport = :9464 )')" ] ||
	fail "the stuck scraper's connection is still open: $(tb_dut ss -tn)"
kill "$stuck_pid" 2>/dev/null
echo "stuck scraper: status answered in $(((t1 - t0) / 1000000)) ms, its connection closed by the timeout"
exit 0
