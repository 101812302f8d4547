#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Jumbo MTU in native mode (issue 12): the veth pair at MTU 9000 (both ends:
# veth checks the peer's), canaryd with frags = auto opens the multi-buffer
# dispatcher (status frags true, CANARY_F_FRAGS in the installed config),
# stable fw_v1.frags forwards traffic; a plain candidate (fw_v2.bpf.o) is
# refused with what to rebuild, a frags one (fw_v1.frags.bpf.o as candidate) is
# promoted. A second pair at MTU 9000 with frags = no is not managed: its
# error says what to set, and nothing is attached there. canaryd killed and
# restarted adopts the dispatcher as frags (a plain candidate still refused).
# MTU changes under a running canaryd (a third pair at MTU 1500, frags =
# auto, so a single-buffer dispatcher in native mode): the kernel refuses
# raising the peer's MTU above 3506 (veth caps it while a plain native
# program is attached); the DUT's own MTU raised to 9000 is taken by the
# kernel, and canaryd reads it again on the link message: status mtu 9000,
# mtu_fit needs_frags, the warning with what to do, canary_dispatcher_mtu_fits
# 0, the dispatcher left attached; back to 1500: mtu_fit ok, "fits it
# again", the metric 1. The frags dispatcher's MTU lowered to 1500: mtu_fit
# frags_unneeded, logged, still managed.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 50,100 1s 200ms || fail "cannot create the test bed"
GEN2="${TB_ID}g1" DUT2="${TB_ID}d1" GEN3="${TB_ID}g2" DUT3="${TB_ID}d2"
ip link add "$GEN2" netns "$TB_GEN" type veth peer name "$DUT2" netns "$TB_DUT" ||
	fail "cannot create the second veth pair"
ip link add "$GEN3" netns "$TB_GEN" type veth peer name "$DUT3" netns "$TB_DUT" ||
	fail "cannot create the third veth pair"
ip -n "$TB_GEN" link set "$GEN3" up && ip -n "$TB_DUT" link set "$DUT3" up ||
	fail "cannot bring the third pair up"
for l in "$TB_GEN $TB_GEN_IF" "$TB_DUT $TB_DUT_IF" "$TB_GEN $GEN2" "$TB_DUT $DUT2"; do
	set -- $l
	ip -n "$1" link set "$2" mtu 9000 up || fail "cannot set MTU 9000 on $2"
done
sed -i "s|^stable = .*|stable = $B/versions/fw_v1.frags.bpf.o\nfrags = auto|" "$CB_TMP/canaryd.ini"
printf '\n[interface %s]\nmode = native\nfrags = no\nstable = %s\n' "$DUT2" \
	"$B/versions/fw_v1.bpf.o" >>"$CB_TMP/canaryd.ini"
printf '\n[interface %s]\nmode = native\nstable = %s\n' "$DUT3" \
	"$B/versions/fw_v1.bpf.o" >>"$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come up"

st=$($CTL -j status) || fail "canaryctl status failed"
one=$(jq -c --arg i "$TB_DUT_IF" '.interfaces[] | select(.iface == $i)' <<<"$st")
jq -e '.error == null and .frags == true and .mtu == 9000' >/dev/null <<<"$one" ||
	fail "$TB_DUT_IF is not managed with a frags dispatcher at MTU 9000: $one"
grep -qF "iface $TB_DUT_IF: multi-buffer (frags) dispatcher (MTU 9000, frags = auto: native mode and MTU above 3506)" \
	"$CB_TMP/canaryd.log" || fail "the log does not say which dispatcher and why"
flags=$(cb_kernel_cfg 'le32(4)')
[ $((flags & 1024)) -ne 0 ] || fail "the installed config lacks CANARY_F_FRAGS (flags $flags)"

# frags = no at MTU 9000: the clear error, nothing attached, still unmanaged.
err2=$(jq -r --arg i "$DUT2" '.interfaces[] | select(.iface == $i) | .error' <<<"$st")
[[ $err2 == *"MTU 9000 needs a multi-buffer dispatcher: set frags = yes (or auto) and build versions as SEC(\"xdp.frags\")"* ]] ||
	fail "$DUT2 (frags = no) error is not the MTU hint: '$err2'"
[ "$(cb_xdp_id "$DUT2")" = 0 ] || fail "something is attached to $DUT2 after the refused attach"

cb_traffic 20000
rx=$(tb_wait_rx 5000 10) || fail "no traffic through the frags dispatcher ($rx)"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "stable fw_v1.frags forwarding" ||
	fail "stable does not see the traffic"

# A plain candidate into the frags dispatcher: refused, with what to rebuild.
out=$($CTL start "$TB_DUT_IF" "$B/versions/fw_v2.bpf.o" 2>&1) && fail "a plain candidate started: $out"
[[ $out == *"rebuild it as SEC(\"xdp.frags\") (the dispatcher on $TB_DUT_IF runs multi-buffer: MTU 9000)"* ]] ||
	fail "the plain candidate's refusal has no hint: $out"
[ "$(cb_slot_id 1)" = 0 ] || fail "slot 1 is not empty after the refusal"

t0=$(date +%s.%N)
# The same program as a frags candidate (an A/A): the judge proves it fast on
# this bed's traffic; fw_v2.frags differs from fw_v1 by a few per cent of
# drops, which can take longer than a short test allows on a loaded machine.
timeout 60 $CTL start "$TB_DUT_IF" "$B/versions/fw_v1.frags.bpf.o" --steps 50,100 --step-time 1s \
	--wait >"$CB_TMP/good.out" 2>&1 || fail "fw_v1.frags as candidate not promoted: $(cat "$CB_TMP/good.out"); status: $($CTL -j status "$TB_DUT_IF" | jq -c ".interfaces[0].rollout | {phase, reason, verdict, evidence, exposure}")"
t1=$(date +%s.%N)
$CTL -j status "$TB_DUT_IF" | jq -e '.interfaces[0].rollout.phase == "promoted"' >/dev/null ||
	fail "status does not say promoted"
cb_wait_status "$TB_DUT_IF" '.versions.stable.pps > 1000' 10 "the promoted frags candidate forwarding" ||
	fail "the promoted stable does not see the traffic"
# Restarted (killed): the adopted dispatcher is known as frags from its own config.
xdp0=$(cb_xdp_id)
{ kill -9 "$CB_DAEMON_PID"; wait "$CB_DAEMON_PID"; } 2>/dev/null
cb_start_daemon || fail "canaryd did not come back"
grep -q "iface $TB_DUT_IF: adopted the pinned dispatcher" "$CB_TMP/canaryd.log" ||
	fail "the restarted canaryd did not adopt the dispatcher"
[ "$(cb_xdp_id)" = "$xdp0" ] || fail "the XDP program changed across the restart"
$CTL -j status "$TB_DUT_IF" | jq -e '.interfaces[0] | .frags == true and .error == null' >/dev/null ||
	fail "the adopted dispatcher is not reported frags: $($CTL -j status "$TB_DUT_IF")"
out=$($CTL start "$TB_DUT_IF" "$B/versions/fw_v1.bpf.o" 2>&1) &&
	fail "a plain candidate started on the adopted frags dispatcher: $out"
[[ $out == *'rebuild it as SEC("xdp.frags")'* ]] || fail "no rebuild hint after adoption: $out"

# MTU changes under canaryd, on the third pair (single-buffer, native).
metric() { tb_dut curl -sf -m 5 http://127.0.0.1:9464/metrics | grep "^$1{interface=\"$2\"}" | cut -d' ' -f2; }
cb_wait_status "$DUT3" '.frags == false and .mtu == 1500 and .mtu_fit == "ok" and .error == null' 5 \
	"$DUT3 managed single-buffer at MTU 1500" || fail "$DUT3 is not managed single-buffer"
[ "$(metric canary_dispatcher_mtu_fits "$DUT3")" = 1 ] || fail "canary_dispatcher_mtu_fits is not 1 at MTU 1500"
xdp3=$(cb_xdp_id "$DUT3")
peer=$(ip -n "$TB_GEN" link set "$GEN3" mtu 9000 2>&1) && fail "the kernel took the peer's MTU 9000 over a plain native program"
echo "peer MTU 9000 with a plain native program on $DUT3: refused by the kernel: $peer"
ip -n "$TB_DUT" link set "$DUT3" mtu 9000 || fail "the kernel refused $DUT3's own MTU 9000"
m0=$(date +%s%N)
cb_wait_status "$DUT3" '.mtu == 9000 and .mtu_fit == "needs_frags"' 5 "mtu_fit needs_frags at MTU 9000" ||
	fail "canaryd did not notice the MTU change on $DUT3"
m1=$(date +%s%N)
grep -qF "iface $DUT3: MTU 1500 -> 9000: the single-buffer dispatcher cannot take frames above 3506 bytes in native mode (mtu_fit needs_frags); canaryd cannot make it multi-buffer in place" \
	"$CB_TMP/canaryd.log" || fail "no warning for the MTU change on $DUT3"
grep -qF "lower the MTU to 3506 or less, or move to SEC(\"xdp.frags\") builds in a datapath created anew" \
	"$CB_TMP/canaryd.log" || fail "the warning does not say what to do"
[ "$(metric canary_dispatcher_mtu_fits "$DUT3")" = 0 ] || fail "canary_dispatcher_mtu_fits is not 0 at MTU 9000"
[ "$(metric canary_interface_mtu_bytes "$DUT3")" = 9000 ] || fail "canary_interface_mtu_bytes is not 9000"
[ "$(cb_xdp_id "$DUT3")" = "$xdp3" ] || fail "the dispatcher on $DUT3 changed with the MTU"
ip -n "$TB_DUT" link set "$DUT3" mtu 1500 || fail "cannot set $DUT3's MTU back to 1500"
cb_wait_status "$DUT3" '.mtu == 1500 and .mtu_fit == "ok"' 5 "mtu_fit ok at MTU 1500 again" ||
	fail "canaryd did not notice the MTU back at 1500"
grep -qF "iface $DUT3: MTU 9000 -> 1500: the single-buffer dispatcher fits it again (mtu_fit ok)" \
	"$CB_TMP/canaryd.log" || fail "no line saying the dispatcher fits again"
[ "$(metric canary_dispatcher_mtu_fits "$DUT3")" = 1 ] || fail "canary_dispatcher_mtu_fits is not 1 again"
# The multi-buffer one at MTU 1500: it works; logged, nothing to do.
ip -n "$TB_DUT" link set "$TB_DUT_IF" mtu 1500 || fail "cannot lower $TB_DUT_IF's MTU"
cb_wait_status "$TB_DUT_IF" '.mtu == 1500 and .mtu_fit == "frags_unneeded" and .error == null' 5 \
	"mtu_fit frags_unneeded" || fail "canaryd did not notice $TB_DUT_IF's MTU at 1500"
grep -qF "iface $TB_DUT_IF: MTU 9000 -> 1500: the multi-buffer dispatcher keeps running" "$CB_TMP/canaryd.log" ||
	fail "no line for the frags dispatcher at MTU 1500"
[ "$(metric canary_dispatcher_mtu_fits "$TB_DUT_IF")" = 1 ] || fail "a frags dispatcher reported as not fitting"
echo "MTU 1500 -> 9000 on $DUT3 (plain, native): needs_frags in status within" \
	"$(( (m1 - m0) / 1000000 )) ms, warned, metric 0, dispatcher kept; back to 1500: ok"

echo "frags = auto at MTU 9000: rx $rx (packets s); plain candidate refused; frags candidate" \
	"promoted in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; adopted as frags;" \
	"frags = no: '$err2'"
