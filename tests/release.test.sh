#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# canaryctl release IFACE under traffic (issue 12): the interface handed
# back with its stable attached directly in place of the dispatcher (one
# XDP_FLAGS_REPLACE attach), canaryd's pins removed. Checks:
#   - refused while a rollout runs (negative), nothing changed;
#   - after the release the attached XDP program is the stable (fw_v2,
#     promoted first), the pin dir is gone, status says released;
#   - zero loss: every legit frame the generators sent during the release
#     was received (trafficgen --flow-log against flowcount, per flow), no
#     attack frame passed, the veth ring dropped nothing;
#   - a restarted canaryd with the config still listing the interface says
#     it is released and leaves the stable attached.
# RELEASE_MODE=skb (tests/release_skb.test.sh): the same in skb (generic)
# mode, GRO on at the DUT end so the generator's frames reach it; the stable
# is then attached in generic mode.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh
PPS=${PPS:-50000}
FLOWS=${FLOWS:-16384}
MODE=${RELEASE_MODE:-native}

cb_create 50,100 1s 200ms || fail "cannot create the test bed"
tb_quiet || fail "cannot disable IPv6 chatter on the test bed"
if [ "$MODE" = skb ]; then
	sed -i 's/^mode = native/mode = skb/' "$CB_TMP/canaryd.ini"
	# trafficgen's frames (XDP redirect into the veth) need NAPI on the DUT
	# end: a native XDP program, or GRO on.
	tb_dut ethtool -K "$TB_DUT_IF" gro on >/dev/null || fail "cannot turn GRO on"
fi
cb_start_daemon || fail "canaryd did not come up"
pins=$CB_PIN/$TB_DUT_IF
LOG=$CB_TMP/canaryd.log
cb_traffic 20000	# for the rollouts; stopped before the counted run
bg_gen=${TB_PIDS[-1]}
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --wait >"$CB_TMP/p.out" 2>&1 ||
	{ cat "$CB_TMP/p.out"; fail "fw_v2 was not promoted"; }
stable_id=$(cb_pin_id stable)
disp_id=$(cb_xdp_id)

# Refused while a rollout runs.
$CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o >/dev/null || fail "cannot start fw_v1"
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "progressing"' 10 "the rollout under way" ||
	fail "the rollout did not start"
$CTL release "$TB_DUT_IF" >"$CB_TMP/r.out" 2>&1 && fail "release accepted during a rollout"
grep -q "abort or promote it first" "$CB_TMP/r.out" || { cat "$CB_TMP/r.out"; fail "unclear refusal"; }
[ "$(cb_xdp_id)" = "$disp_id" ] && [ -d "$pins" ] || fail "a refused release changed the datapath"
echo "release during a rollout refused: $(cat "$CB_TMP/r.out")"
$CTL abort "$TB_DUT_IF" --wait >/dev/null 2>&1
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "aborted"' 10 "the abort" || fail "abort failed"

kill -INT "$bg_gen"
wait "$bg_gen" 2>/dev/null

# Traffic, counted per flow.
tb_flowcount_start "$CB_TMP/rx" || fail "flowcount did not start"
xerr0=$(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors)
xdp0=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)
CB_GEN_CPU=$(tb_gen_cpu)
cb_gen udp4 --family 4 --src 198.18.1.1 --dst 198.18.2.10 --attack-src 198.18.4.1 --proto udp
cb_gen tcp4 --family 4 --src 198.18.1.1 --dst 198.18.2.10 --attack-src 198.18.4.1 --proto tcp
seen=$(tb_wait_rx 20000 20) || fail "the generators' traffic does not arrive (${seen% *} packets)"

$CTL release "$TB_DUT_IF" >"$CB_TMP/r.out" 2>&1 || { cat "$CB_TMP/r.out"; fail "release failed"; }
seen=$(tb_wait_rx 20000 20) || fail "no traffic after the release (${seen% *} packets)"

cb_gen_stop
sent=$CB_SENT
xerr=$(($(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors) - xerr0))
xdp=$(($(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets) - xdp0))
tb_flowcount_stop || fail "flowcount failed"

# The kernel's view: the stable attached, canaryd's pins gone.
now_id=$(cb_xdp_id)
[ "$now_id" = "$stable_id" ] || fail "attached XDP program $now_id, want the stable $stable_id (dispatcher was $disp_id)"
# ip's XDP attach modes: 1 driver (native), 2 generic (skb).
want_mode=1
[ "$MODE" = skb ] && want_mode=2
now_mode=$(tb_dut ip -j link show "$TB_DUT_IF" | jq '.[0].xdp.mode')
[ "$now_mode" = "$want_mode" ] || fail "the stable is attached in XDP mode $now_mode, want $want_mode ($MODE)"
[ ! -e "$pins" ] || fail "pin dir $pins still there: $(ls "$pins")"
st=$($CTL -j status "$TB_DUT_IF" | jq -c '.interfaces[0]')
jq -e '.managed == false and (.error | test("released"))' <<<"$st" >/dev/null ||
	fail "status after the release: $st"

# Zero loss, per flow.
eval "$(tb_flow_compare "$CB_TMP/rx" "${CB_GEN_LOGS[@]}")"
echo "release ($MODE mode) under $((2 * PPS)) pps: sent $sent, XDP saw $xdp, ring drops $xerr; legit sent" \
	"$legit_sent, received $legit_rcvd, lost $lost in $lost_flows flows; attack sent" \
	"$attack_sent, passed $attack_rcvd"
[ "$sent" -eq $((xdp + xerr)) ] || fail "sent $sent != XDP saw $xdp + ring drops $xerr"
[ "$xerr" -eq 0 ] || fail "the veth ring dropped $xerr frames: loss cannot be attributed"
[ "$legit_sent" -gt 0 ] || fail "no legit frame sent"
[ "$lost" -eq 0 ] || fail "$lost legit frames lost across the release"
[ "$attack_rcvd" -eq 0 ] || fail "$attack_rcvd attack frames passed"
[ "$gained_flows" -eq 0 ] && [ "$stray_rcvd" -eq 0 ] || fail "frames on unexpected flows"

# A restart with the config still listing it: released, left alone.
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
[ "$(cb_xdp_id)" = "$stable_id" ] || fail "canaryd's exit changed the attached program"
cb_start_daemon || fail "canaryd did not come up after the release"
grep -q "iface $TB_DUT_IF: released (stable .*fw_v2.bpf.o.*); remove it from the config" "$LOG" ||
	fail "no log line saying the interface is released"
[ "$(cb_xdp_id)" = "$stable_id" ] || fail "a restarted canaryd replaced the released stable"
[ ! -e "$pins" ] || fail "a restarted canaryd pinned $pins again"
echo "restart: $(grep -o "iface $TB_DUT_IF: released.*" "$LOG" | tail -1 | cut -c1-160)"
exit 0
