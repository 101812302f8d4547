#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Live capture (issue 15) on a veth pair in namespaces made here, with the
# bed's firewall traffic: canaryctl capture writes pcapng (and classic pcap
# for .pcap) that preflight reads, COUNT samples each with its comment; the
# split path and sampling are off again afterwards; --version candidate in a
# rollout keeps only candidate packets; bad input changes nothing (neither
# the datapath nor an existing FILE), with no dispatcher too. Then the
# "same matrix": fw_blackhole's shadow phase on the bed's traffic while a
# capture of the same traffic runs, and preflight on that capture, agree:
# the same non-zero cells, each cell's fraction within 5 standard errors.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 1s 200ms || fail "cannot create the test bed"
cb_traffic 50000
cb_start_daemon || fail "canaryd did not come up"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 20 "stable forwarding" ||
	fail "no traffic through stable"
V1=$B/versions/fw_v1.bpf.o BH=$B/versions/fw_blackhole.bpf.o
# CANARY_F_SAMPLE | CANARY_F_CAPTURE (canary_abi.h) in the installed config's flags.
SAMPLE_BITS=$(((1 << 9) | (1 << 11)))
flags() { cb_kernel_cfg 'le32(4)'; }
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling on before any capture: flags $(flags)"

# comments FILE WHAT: how many per-packet comments of FILE contain WHAT.
comments() { grep -a -o "canary: version=[a-z]* slot=[0-9] verdict=[a-z]*" "$1" | grep -c "$2"; }

# Bad input: one line naming the thing, nothing changed in the datapath.
before=$(flags)
bad() {
	local want=$1 out rc
	shift
	out=$($CTL capture "$@" 2>&1)
	rc=$?
	[ $rc = 1 ] || fail "capture $*: exit $rc, want 1: $out"
	[ "$(wc -l <<<"$out")" -ge 1 ] && grep -q -- "$want" <<<"$(head -1 <<<"$out")" ||
		fail "capture $*: '$out' does not say '$want'"
	[ "$(flags)" = "$before" ] || fail "capture $*: the dispatcher's flags changed: $(flags)"
	echo "refused: capture $* -> $(head -1 <<<"$out")"
}
bad "iface nosuch0 is not managed" nosuch0 -w "$CB_TMP/x.pcapng" -c 10
bad "cannot create it" "$TB_DUT_IF" -w /nonexistent/dir/x.pcapng -c 10
bad "bad -c '0'" "$TB_DUT_IF" -w "$CB_TMP/x.pcapng" -c 0
bad "bad -c '100001'" "$TB_DUT_IF" -w "$CB_TMP/x.pcapng" -c 100001
bad "bad --version 'both'" "$TB_DUT_IF" -w "$CB_TMP/x.pcapng" --version both
bad "no rollout runs" "$TB_DUT_IF" -w "$CB_TMP/x.pcapng" --version candidate
[ ! -e "$CB_TMP/x.pcapng" ] || fail "a refused capture left $CB_TMP/x.pcapng"
# An existing file: as it was after a refused capture, replaced by a taken one (a.pcapng below).
echo "an earlier file" >"$CB_TMP/a.pcapng"
bad "no rollout runs" "$TB_DUT_IF" -w "$CB_TMP/a.pcapng" --version candidate
[ "$(cat "$CB_TMP/a.pcapng")" = "an earlier file" ] || fail "a refused capture changed a.pcapng"

# 2000 samples as pcapng: preflight (libpcap) reads 2000 Ethernet frames, each has its comment.
t0=$(date +%s%N)
$CTL -j capture "$TB_DUT_IF" -w "$CB_TMP/a.pcapng" -c 2000 >"$CB_TMP/a.json" ||
	fail "capture -c 2000 failed: $(cat "$CB_TMP/a.json")"
ms=$((($(date +%s%N) - t0) / 1000000))
jq -e '.ok and .samples == 2000 and .format == "pcapng"' "$CB_TMP/a.json" >/dev/null ||
	fail "capture -c 2000: $(cat "$CB_TMP/a.json")"
$CTL -j preflight --pcap "$CB_TMP/a.pcapng" "$V1" "$V1" >"$CB_TMP/a.pf" ||
	fail "preflight cannot read the capture: $(cat "$CB_TMP/a.pf")"
jq -e '.capture.linktype == "EN10MB" and .capture.packets == 2000 and .capture.run == 2000
	and .differing == 0' "$CB_TMP/a.pf" >/dev/null || fail "preflight of the capture: $(cat "$CB_TMP/a.pf")"
n=$(comments "$CB_TMP/a.pcapng" "version=stable slot=0")
[ "$n" = 2000 ] || fail "a.pcapng: $n stable comments, want 2000"
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling still on after the capture: flags $(flags)"
echo "capture -c 2000: $(jq -c '{samples, lost, limited, overflow}' "$CB_TMP/a.json") in $ms ms;" \
	"preflight reads $(jq .capture.packets "$CB_TMP/a.pf") frames, $n comments; sampling off again"

# Classic pcap for .pcap, a snap length: frames cut, their original length kept.
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/b.pcap" -c 500 -s 40 2>"$CB_TMP/b.err" ||
	fail "capture .pcap failed: $(cat "$CB_TMP/b.err")"
[ "$(head -c 4 "$CB_TMP/b.pcap" | od -An -tx1 | tr -d ' ')" = 4d3cb2a1 ] ||
	fail "b.pcap is not a nanosecond classic pcap"
$CTL -j preflight --pcap "$CB_TMP/b.pcap" "$V1" "$V1" >"$CB_TMP/b.pf" ||
	fail "preflight cannot read b.pcap: $(cat "$CB_TMP/b.pf")"
jq -e '.capture.packets == 500 and .capture.snapped == 500' "$CB_TMP/b.pf" >/dev/null ||
	fail "b.pcap: $(jq -c .capture "$CB_TMP/b.pf")"
echo "capture -s 40 .pcap: $(jq -c .capture "$CB_TMP/b.pf")"

# --timeout before COUNT (--rate 5 per second per CPU, 1 s): exit 1, the file
# a valid capture of what was taken, the session stopped, sampling off again.
$CTL -j capture "$TB_DUT_IF" -w "$CB_TMP/t.pcapng" -c 1000 --rate 5 --timeout 1s >"$CB_TMP/t.json"
rc=$?
[ $rc = 1 ] || fail "capture --timeout 1s of 1000 at --rate 5: exit $rc, want 1: $(cat "$CB_TMP/t.json")"
nt=$(jq -e 'select(.ok == false and .samples > 0 and .samples < 1000) | .samples' "$CB_TMP/t.json") ||
	fail "capture --timeout 1s: $(cat "$CB_TMP/t.json")"
$CTL -j preflight --pcap "$CB_TMP/t.pcapng" "$V1" "$V1" >"$CB_TMP/t.pf" ||
	fail "preflight cannot read the timed-out capture: $(cat "$CB_TMP/t.pf")"
[ "$(jq .capture.packets "$CB_TMP/t.pf")" = "$nt" ] || fail "t.pcapng: $(jq -c .capture "$CB_TMP/t.pf"), want $nt"
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling still on after a timed-out capture: flags $(flags)"
echo "--timeout 1s at --rate 5: $nt of 1000 samples, $(jq .limited "$CB_TMP/t.json") limited, exit 1, file read"

# One capture at a time; a client killed mid-capture loses its session after
# 10 s without a read, then the next capture is taken.
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/k.pcapng" -c 100000 --rate 5 --timeout 60s 2>/dev/null &
kpid=$!
began() {
	grep -q "capture [0-9]* by .*: 100000 samples" "$CB_TMP/canaryd.log" && return 0
	kill -0 $kpid 2>/dev/null || fail "the capture to be killed ended by itself"
	return 1
}
tb_until 10 began || fail "the capture never began"
echo "an earlier file" >"$CB_TMP/busy.pcapng"
before=$(flags)
bad "is running; one at a time" "$TB_DUT_IF" -w "$CB_TMP/busy.pcapng" -c 10
[ "$(cat "$CB_TMP/busy.pcapng")" = "an earlier file" ] || fail "a refused capture changed busy.pcapng"
kill -9 $kpid 2>/dev/null
wait $kpid 2>/dev/null
take_k2() { $CTL capture "$TB_DUT_IF" -w "$CB_TMP/k2.pcapng" -c 10 2>/dev/null; }
t0=$(date +%s%N)
tb_until 15 take_k2 || fail "15 s after its client was killed the capture still blocks the next one"
freed=$((($(date +%s%N) - t0) / 1000000))
grep -q "capture [0-9]* over (no read for 10 s)" "$CB_TMP/canaryd.log" ||
	fail "the killed client's capture did not end for want of reads"
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling on after the killed client's capture: flags $(flags)"
echo "a client killed mid-capture: the next capture taken $freed ms later"

# --version during a rollout held at 50 %: only that version's packets.
$CTL start "$TB_DUT_IF" "$B/versions/fw_v2.bpf.o" --steps 50,100 --step-time 120s >/dev/null ||
	fail "cannot start fw_v2"
cb_wait_status "$TB_DUT_IF" '.rollout.share_pct == 50 and .versions.candidate.pps > 1000' 30 \
	"fw_v2 at 50 %" || fail "fw_v2 never got 50 %"
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/c.pcapng" -c 1000 --version candidate 2>/dev/null ||
	fail "capture --version candidate failed"
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/s.pcapng" -c 1000 --version stable 2>/dev/null ||
	fail "capture --version stable failed"
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/m.pcapng" -c 1000 2>/dev/null || fail "capture (both) failed"
nc=$(comments "$CB_TMP/c.pcapng" "version=candidate") ns=$(comments "$CB_TMP/c.pcapng" "version=stable")
[ "$nc" = 1000 ] && [ "$ns" = 0 ] || fail "--version candidate: $nc candidate, $ns stable samples"
nc=$(comments "$CB_TMP/s.pcapng" "version=candidate") ns=$(comments "$CB_TMP/s.pcapng" "version=stable")
[ "$nc" = 0 ] && [ "$ns" = 1000 ] || fail "--version stable: $nc candidate, $ns stable samples"
# The negative check: without --version both are there.
nc=$(comments "$CB_TMP/m.pcapng" "version=candidate") ns=$(comments "$CB_TMP/m.pcapng" "version=stable")
[ "$nc" -gt 100 ] && [ "$ns" -gt 100 ] || fail "no --version at 50 %: $nc candidate, $ns stable samples"
echo "at 50 %: --version candidate 1000 candidate samples, --version stable 1000 stable," \
	"both: $nc candidate + $ns stable"
# The rollout's own sampling (none: no shadow phase) untouched, the split path still on.
$CTL abort "$TB_DUT_IF" >/dev/null || fail "abort failed"
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "aborted"' 10 "aborted" || fail "not aborted"
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling on after the rollout: flags $(flags)"

# The same matrix: fw_blackhole's shadow phase, a capture of the same traffic
# taken while it runs (its samples reach the capture through the shadow
# phase's drain, then through the capture's own), preflight on the capture.
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/sh.pcapng" -c 20000 --timeout 60s 2>"$CB_TMP/sh.err" &
cap_pid=$!
timeout 60 $CTL start "$TB_DUT_IF" "$BH" --shadow 10s --wait >"$CB_TMP/bh.out" 2>&1
rc=$?
[ $rc = 2 ] || fail "fw_blackhole --shadow: exit $rc, want 2: $(cat "$CB_TMP/bh.out")"
wait $cap_pid || fail "the capture during the shadow phase failed: $(cat "$CB_TMP/sh.err")"
$CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0].rollout.shadow' >"$CB_TMP/shadow.json"
jq -e '.decision == "harmful"' "$CB_TMP/shadow.json" >/dev/null ||
	fail "the shadow phase: $(cat "$CB_TMP/shadow.json")"
$CTL -j preflight --pcap "$CB_TMP/sh.pcapng" "$V1" "$BH" >"$CB_TMP/sh.pf"
[ $? = 2 ] || fail "preflight of the capture: not beyond: $(cat "$CB_TMP/sh.pf")"
$CTL -j preflight --pcap "$CB_TMP/sh.pcapng" "$V1" "$V1" >"$CB_TMP/aa.pf" ||
	fail "preflight v1 v1 of the capture: $(cat "$CB_TMP/aa.pf")"

# compare SHADOW PREFLIGHT: the shadow phase's cells against preflight's matrix.
# The same non-zero cells; each cell's fraction within 5 standard errors of a
# difference of two proportions, sqrt(p(1-p)(1/n1 + 1/n2)), p(1-p) <= 1/4.
compare() {
	jq -n -r --slurpfile sh "$1" --slurpfile pf "$2" '
		$sh[0] as $s | $pf[0] as $p |
		["aborted","drop","pass","tx","redirect","invalid"] as $v |
		($s.samples) as $n1 | ($p.capture.run) as $n2 |
		(5 * (0.25 * (1 / $n1 + 1 / $n2) | sqrt)) as $tol |
		[range(6) as $i | range(6) as $j |
		 {cell: "\($v[$i])->\($v[$j])",
		  a: ((($s.cells | map(select(.stable == $v[$i] and .candidate == $v[$j])) |
		       .[0].samples) // 0) / $n1),
		  b: ($p.matrix[$i][$j] / $n2)} |
		 select(.a > 0 or .b > 0)] as $cells |
		($cells | map(select((.a > 0) != (.b > 0) or ((.a - .b) | fabs) > $tol))) as $bad |
		"\(if ($bad | length) == 0 then "agree" else "DIFFER" end) n_shadow=\($n1)" +
		" n_capture=\($n2) tol=\($tol * 1000 | round / 1000) " +
		($cells | map("\(.cell) \(.a * 1000 | round / 1000)/\(.b * 1000 | round / 1000)") |
		 join(", "))'
}
res=$(compare "$CB_TMP/shadow.json" "$CB_TMP/sh.pf")
[[ $res == agree* ]] || fail "shadow phase and preflight of the capture: $res"
echo "fw_blackhole, shadow phase vs preflight of the capture (fractions shadow/capture): $res"
# The negative check: the same comparison against an A/A preflight must differ.
res=$(compare "$CB_TMP/shadow.json" "$CB_TMP/aa.pf")
[[ $res == DIFFER* ]] || fail "the comparison cannot tell fw_blackhole from fw_v1: $res"
[ $(($(flags) & SAMPLE_BITS)) = 0 ] || fail "sampling on after the shadow phase and the capture"
grep -q "capture [0-9]* over (all read)" "$CB_TMP/canaryd.log" || fail "no capture over line in the log"

# canaryd killed mid-capture (no rollout runs): the split path and sampling
# stay on while it is dead (the negative check); the next canaryd turns them off.
$CTL capture "$TB_DUT_IF" -w "$CB_TMP/d.pcapng" -c 100000 --rate 5 --timeout 60s 2>/dev/null &
dpid=$!
sampling_on() { [ $(($(flags) & SAMPLE_BITS)) = $SAMPLE_BITS ]; }
sampling_off() { [ $(($(flags) & SAMPLE_BITS)) = 0 ]; }
tb_until 10 sampling_on || fail "the capture never turned sampling on"
kill -9 "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
wait $dpid && fail "canaryctl capture went on without canaryd"
sampling_on || fail "sampling went off with canaryd dead: flags $(flags)"
cb_start_daemon || fail "canaryd did not come back"
t0=$(date +%s%N)
tb_until 5 sampling_off || fail "5 s after the restart a dead canaryd's capture still samples: flags $(flags)"
cleared=$((($(date +%s%N) - t0) / 1000000))
grep -q "a capture of an earlier canaryd left the split path and sampling on: off" \
	"$CB_TMP/canaryd.log" || fail "the restarted canaryd did not say it turned the capture off"
echo "canaryd killed mid-capture: sampling on while dead, off $cleared ms after the restart came up"

# No dispatcher (released: the stable attached directly): refused naming the
# interface, no file, the attached program the same.
$CTL release "$TB_DUT_IF" >"$CB_TMP/rel.out" 2>&1 || fail "release failed: $(cat "$CB_TMP/rel.out")"
xdp=$(cb_xdp_id)
out=$($CTL capture "$TB_DUT_IF" -w "$CB_TMP/r.pcapng" -c 10 2>&1) && fail "capture with no dispatcher: $out"
grep -q "iface $TB_DUT_IF is not managed: .*released" <<<"$out" || fail "capture with no dispatcher: '$out'"
[ "$(wc -l <<<"$out")" = 1 ] || fail "capture with no dispatcher: more than one line: $out"
[ ! -e "$CB_TMP/r.pcapng" ] || fail "a capture with no dispatcher left r.pcapng"
[ "$(cb_xdp_id)" = "$xdp" ] || fail "a capture with no dispatcher changed the attached program"
echo "refused: capture with the dispatcher released -> $out"
exit 0
