#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Scenario 1: canaryd promotes a good candidate under traffic and not one
# packet is lost, counted per flow.
#
# canaryd runs fw_v1 on the DUT veth; four generators send at the same time
# (IPv4 UDP, IPv4 TCP, IPv6 UDP, IPv6 TCP; 16384 flows each from subnet A,
# which every version passes, plus 20 % attack frames from subnet D, which
# every version drops); build/flowcount counts per flow at TC ingress, after
# XDP. canaryctl start fw_v2 --wait walks the plan 1,5,25,50,100 % (config
# swaps) and promotes (the ProgMap swap of slot 0, then share 0 and slot 1
# cleared). After the promotion the generators stop and tb_loss_check
# accounts for every frame: veth, dispatcher counters (read from canaryd's
# pins with dpctl --adopt, before and after), and per flow: every legit flow
# received exactly what it was sent, every attack flow nothing.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh
PPS=${PPS:-50000}		# per generator
FLOWS=${FLOWS:-16384}		# per generator

cb_create 1,5,25,50,100 1s 200ms || fail "cannot create the test bed"
tb_quiet || fail "cannot disable IPv6 chatter on the test bed"
cb_start_daemon || fail "canaryd did not come up"
pins=$CB_PIN/$TB_DUT_IF
tb_flowcount_start "$CB_TMP/rx" || fail "flowcount did not start"

$B/dpctl --adopt "$pins" -j >"$CB_TMP/dp0.json" || fail "cannot read canaryd's counters"
xerr0=$(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors)
xdp0=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)

# All generators on one CPU: see tb_gen_cpu.
CB_GEN_CPU=$(tb_gen_cpu)
v4=(--family 4 --src 198.18.1.1 --dst 198.18.2.10 --attack-src 198.18.4.1)
v6=(--family 6 --src 2001:db8:1::1 --dst 2001:db8:2::10 --attack-src 2001:db8:4::1)
cb_gen udp4 "${v4[@]}" --proto udp
cb_gen tcp4 "${v4[@]}" --proto tcp
cb_gen udp6 "${v6[@]}" --proto udp
cb_gen tcp6 "${v6[@]}" --proto tcp
seen=$(tb_wait_rx 20000 20) || fail "the generators' traffic does not arrive (${seen% *} packets)"

t0=$(date +%s.%N)
timeout 120 $CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --wait >"$CB_TMP/start.out" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || { cat "$CB_TMP/start.out"; fail "fw_v2: canaryctl start --wait exited $rc, want 0"; }
$CTL -j status "$TB_DUT_IF" >"$CB_TMP/status.json"
[ "$(jq -r '.interfaces[0].rollout.phase' "$CB_TMP/status.json")" = promoted ] ||
	fail "status does not say promoted"
echo "fw_v2 promoted in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
	"($(grep -c . "$CB_TMP/start.out") lines of progress)"
# Traffic on the promoted version too.
seen=$(tb_wait_rx 20000 20) || fail "no traffic after the promotion (${seen% *} packets)"

# Frames still in flight are waited for (the receive counter stops moving).
cb_gen_stop
sent=$CB_SENT
xerr1=$(tb_veth_stat "$TB_GEN" "$TB_GEN_IF" tx_queue_0_xdp_xmit_errors)
xdp1=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)
tb_flowcount_stop || fail "flowcount failed"
$B/dpctl --adopt "$pins" -j >"$CB_TMP/dp1.json" || fail "cannot read canaryd's counters"

tb_loss_check "$sent" $((xdp1 - xdp0)) $((xerr1 - xerr0)) "$CB_TMP/dp1.json" "$CB_TMP/dp0.json" \
	"$CB_TMP/rx" "${CB_GEN_LOGS[@]}" || fail "loss accounting (above)"
# fw_v2 in slot 0 handled traffic after the promotion: the stable row grew on
# both sides of the swap, and the candidate row saw its share before it.
cand=$(jq '[.rows.candidate1[].packets] | add' "$CB_TMP/dp1.json")
[ "$cand" -gt 0 ] || fail "the candidate handled no packet during the rollout"
echo "candidate slot handled $cand packets during the ramp"
echo "zero_loss: OK"
