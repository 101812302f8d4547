#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Scenario 7: malformed packets at rate never make the dispatcher abort.
#
# build/dpctl runs the dispatcher on the DUT veth, fw_v1 in slot 0 and fw_v2
# in slot 1 at 50 %; trafficgen --malformed sends as fast as it can, cycling
# through 24 kinds of broken frames (runts of 14 B, truncated IPv4/IPv6/UDP/
# TCP headers, IHL 0, 4 and beyond the frame, total and payload lengths
# that lie, 8 IPv6 extension headers, an extension header longer than the
# frame, fragments, VLAN in VLAN, three tags, a cut tag, ARP, MPLS, version
# 6 in an IPv4 frame); build/flowcount sits at TC ingress after XDP. Then:
#   every frame reached XDP (no ring drop) and the dispatcher counted each
#   one; each got a verdict from a version: pass + drop == packets, no
#   aborted, invalid, TX or redirect verdict, none handled by no version, no
#   fallback; the unparsable ones went to stable (unparsed class > 0); and
#   TC ingress saw exactly the packets XDP passed.
# The rate (dispatcher packets / generator seconds) must reach MIN_PPS;
# a run short of it with every other check passed is retried, as in
# swaps_at_rate (load slows the generator; it never excuses an abort).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
# Two whole cycles of the 24 kinds (one batch of 20,000 frames each), by
# count: a run by time on a busy machine could end before every kind was sent.
FRAMES=${FRAMES:-960000}
# The floor a machine with every core busy still reaches (stress-ng --cpu 2:
# see make test-stress); idle, the rate is 1.2 Mpps, and MIN_PPS=1000000
# checks that.
MIN_PPS=${MIN_PPS:-100000}
ATTEMPTS=${ATTEMPTS:-3}

fail() {
	echo "malformed_at_rate: FAIL: $*" >&2
	exit 1
}

tmp=$(mktemp -d)
tb_create || fail "cannot create the test bed"
trap 'tb_cleanup; rm -rf "$tmp"' EXIT
tb_quiet || fail "cannot disable IPv6 chatter on the test bed"

attempt() {
	local dp_pid sent secs xdp0 xdp1 xerr0 xerr1 xdp xerr rcvd other unparsed
	local packets pass drop aborted invalid tx redirect none fallback

	tb_bg "$TB_DUT" $B/dpctl --dev "$TB_DUT_IF" --stable "${STABLE:-$B/versions/fw_v1.bpf.o}" \
		--candidate $B/versions/fw_v2.bpf.o --share 5000 -j >"$tmp/dp.out" 2>"$tmp/dp.err"
	dp_pid=${TB_PIDS[-1]}
	tb_wait_line "$tmp/dp.out" ready "$dp_pid" || fail "dpctl not ready: $(cat "$tmp/dp.err")"
	tb_flowcount_start "$tmp/rx" || fail "flowcount did not start"
	xerr0=$(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors)
	xdp0=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)

	tb_gen $B/trafficgen --dev "$TB_GEN_IF" --malformed --batch 20000 \
		--count "$FRAMES" -j >"$tmp/gen.json" 2>"$tmp/gen.err" ||
		fail "trafficgen failed: $(cat "$tmp/gen.err")"
	sleep 0.2
	xerr1=$(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors)
	xdp1=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)
	tb_flowcount_stop || fail "flowcount failed"
	kill -INT "$dp_pid"
	wait "$dp_pid" || fail "dpctl failed: $(cat "$tmp/dp.err")"
	tail -n +2 "$tmp/dp.out" >"$tmp/dp.json"

	sent=$(jq -r .packets "$tmp/gen.json")
	secs=$(jq -r .seconds "$tmp/gen.json")
	xdp=$((xdp1 - xdp0)) xerr=$((xerr1 - xerr0))
	eval "$(tb_dp_summary "$tmp/dp.json")"
	rcvd=$(jq -r '.packets + .other' "$tmp/rx.sum")
	pps=$(awk -v n="$packets" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
	echo "generator: $sent malformed frames in $secs s; per kind:" \
		"$(jq -c .malformed "$tmp/gen.json")"
	echo "veth: DUT XDP saw $xdp, xmit errors (ring full, before XDP) $xerr"
	echo "dispatcher: packets $packets ($pps pps), unparsed $unparsed, pass $pass, drop $drop," \
		"aborted $aborted, invalid $invalid, tx $tx, redirect $redirect, none $none," \
		"fallback $fallback; TC ingress saw $rcvd"

	[ "$(jq '[.malformed[]] | map(select(. == 0)) | length' "$tmp/gen.json")" -eq 0 ] ||
		fail "some malformed kinds were never sent: run longer"
	[ "$sent" -eq $((xdp + xerr)) ] || fail "sent $sent != XDP saw $xdp + xmit errors $xerr"
	[ "$xerr" -eq 0 ] || fail "the veth ring dropped $xerr frames before XDP"
	[ "$packets" -eq "$xdp" ] || fail "dispatcher counted $packets packets, XDP saw $xdp"
	[ "$aborted" -eq 0 ] && [ "$invalid" -eq 0 ] ||
		fail "aborted $aborted, invalid $invalid verdicts on malformed frames"
	[ "$tx" -eq 0 ] && [ "$redirect" -eq 0 ] || fail "tx $tx, redirect $redirect verdicts"
	[ $((pass + drop)) -eq "$packets" ] || fail "pass $pass + drop $drop != packets $packets"
	[ "$none" -eq 0 ] || fail "$none packets handled by no version"
	[ "$fallback" -eq 0 ] || fail "$fallback fallbacks"
	[ "$(jq '.rows.stable.unparsed.packets' "$tmp/dp.json")" -gt 0 ] ||
		fail "no unparsable frame reached stable"
	[ "$unparsed" -eq "$(jq '.rows.stable.unparsed.packets' "$tmp/dp.json")" ] ||
		fail "unparsable frames went to a candidate"
	[ "$pass" -eq "$rcvd" ] || fail "XDP passed $pass packets, TC ingress saw $rcvd"
	awk -v p="$pps" -v m="$MIN_PPS" 'BEGIN { exit !(p >= m) }'
}

for n in $(seq "$ATTEMPTS"); do
	echo "== run $n"
	attempt && { echo "malformed_at_rate: OK at $pps pps"; exit 0; }
	echo "rate $pps pps is below $MIN_PPS with every check passed: the machine is busy, again"
done
fail "rate below $MIN_PPS pps in $ATTEMPTS runs (from the dispatcher's counters; MIN_PPS overrides)"
