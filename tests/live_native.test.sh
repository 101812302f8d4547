#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Live traffic through the dispatcher in native XDP mode on a veth pair.
#
# Two namespaces made here, one veth pair with an end in each (the root
# namespace is never touched). The receiving end runs build/dpctl: the
# dispatcher with stable = ret_drop in slot 0 and candidate = ret_pass in
# slot 1 at 2500 bp. build/trafficgen sends COUNT live frames over FLOWS flows
# from the other end. Then:
#   (a) delivery is exact: the sending veth reports COUNT frames transmitted
#       and no transmit error, the receiving veth COUNT XDP packets, and the
#       dispatcher's stable + candidate split rows hold exactly COUNT packets
#       with every other row and class at zero. IPv6 is disabled on both ends
#       so that no MLD/ND packet of the kernel's own joins the count. (The
#       veth ring does not overflow here: the receiver's NAPI poll runs on
#       the generator's CPU at the end of every batch, so the exact check
#       holds; if it ever fails on xmit errors, the ring did overflow.)
#   (b) the candidate's packet share is 25 % +- 2 points. The generator gives
#       every flow the same number of packets (+-1), so the packet share is
#       the share of flows hashing into [0, 2500): with FLOWS = 16384 its
#       standard deviation is 0.34 points (1024 flows would give 1.35 points,
#       a spurious failure in about one run of seven).
#   (c) verdicts: stable drop == stable packets, candidate pass == candidate
#       packets, no other verdict, no fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
COUNT=${COUNT:-2000000}
FLOWS=${FLOWS:-16384}
SHARE_BP=2500

fail() {
	echo "live_native: FAIL: $*" >&2
	exit 1
}

for f in dpctl trafficgen tests/verdicts.bpf.o; do
	[ -e "$B/$f" ] || fail "$B/$f is missing: run make"
done
command -v jq >/dev/null || fail "jq is needed to read the JSON output: apt-get install jq"
command -v ethtool >/dev/null || fail "ethtool is needed for veth counters: apt-get install ethtool"

tmp=$(mktemp -d)
dp_pid=

cleanup() {
	local rc=$?

	trap - EXIT INT TERM
	if [ -n "$dp_pid" ] && kill -0 "$dp_pid" 2>/dev/null; then
		kill -TERM "$dp_pid" 2>/dev/null || true
		wait "$dp_pid" 2>/dev/null || true
	fi
	tb_cleanup || true
	rm -rf "$tmp"
	exit "$rc"
}
tb_create || fail "cannot create the test bed"
trap cleanup EXIT
trap 'exit 130' INT TERM
# No IPv6: the kernel's own MLD/ND packets would join the counts.
tb_quiet || fail "cannot disable IPv6 on the test veths"
NS_GEN=$TB_GEN NS_RX=$TB_DUT DEV_GEN=$TB_GEN_IF DEV_RX=$TB_DUT_IF

# nsenter execs dpctl, so $! is dpctl itself (a shell function here would put
# a subshell in between that the signals would reach instead).
nsenter --net="/run/netns/$NS_RX" "$B/dpctl" --dev "$DEV_RX" --mode native \
	--stable "$B/tests/verdicts.bpf.o:ret_drop" \
	--candidate "$B/tests/verdicts.bpf.o:ret_pass" --share "$SHARE_BP" -j \
	>"$tmp/dp.out" 2>"$tmp/dp.err" &
dp_pid=$!
for _ in $(seq 100); do
	grep -qx ready "$tmp/dp.out" && break
	kill -0 "$dp_pid" 2>/dev/null || fail "dpctl exited before ready: $(cat "$tmp/dp.err")"
	sleep 0.1
done
grep -qx ready "$tmp/dp.out" || fail "dpctl not ready after 10 s: $(cat "$tmp/dp.err")"
ip -n "$NS_RX" link show "$DEV_RX" | grep -q 'prog/xdp ' ||
	fail "no native XDP program on $DEV_RX after ready"

tx0=$(tb_veth_stat "$NS_GEN" "$DEV_GEN" tx_queue_0_xdp_xmit)
txerr0=$(tb_veth_stat "$NS_GEN" "$DEV_GEN" tx_queue_0_xdp_xmit_errors)
rx0=$(tb_veth_stat "$NS_RX" "$DEV_RX" rx_queue_0_xdp_packets)

tb_gen "$B/trafficgen" --dev "$DEV_GEN" --count "$COUNT" --flows "$FLOWS" -j \
	>"$tmp/gen.json" 2>"$tmp/gen.err" || fail "trafficgen failed: $(cat "$tmp/gen.err")"
sent=$(jq -r .packets "$tmp/gen.json")
echo "generator: $(jq -c . "$tmp/gen.json")"
[ "$sent" -eq "$COUNT" ] || fail "trafficgen sent $sent of $COUNT packets"

# Let the receiver drain whatever is still in the veth ring (normally nothing).
for _ in $(seq 50); do
	rx1=$(tb_veth_stat "$NS_RX" "$DEV_RX" rx_queue_0_xdp_packets)
	[ $((rx1 - rx0)) -ge "$sent" ] && break
	sleep 0.1
done
tx1=$(tb_veth_stat "$NS_GEN" "$DEV_GEN" tx_queue_0_xdp_xmit)
txerr1=$(tb_veth_stat "$NS_GEN" "$DEV_GEN" tx_queue_0_xdp_xmit_errors)
rx1=$(tb_veth_stat "$NS_RX" "$DEV_RX" rx_queue_0_xdp_packets)

kill -INT "$dp_pid"
dp_rc=0
wait "$dp_pid" || dp_rc=$?
dp_pid=
[ "$dp_rc" -eq 0 ] || fail "dpctl exited with $dp_rc: $(cat "$tmp/dp.err")"
tail -n +2 "$tmp/dp.out" >"$tmp/dp.json"
jq -e .rows "$tmp/dp.json" >/dev/null || fail "dpctl printed no counters: $(cat "$tmp/dp.out")"

q() { jq -r "$1" "$tmp/dp.json"; }
stable=$(q .rows.stable.split.packets)
cand=$(q .rows.candidate1.split.packets)
total=$(q '[.rows[][].packets] | add')

echo "veth: xmit $((tx1 - tx0)), xmit errors $((txerr1 - txerr0)), received $((rx1 - rx0))"
echo "dispatcher: stable $stable, candidate $cand, all rows $total"

# (a) exact delivery and accounting
[ $((txerr1 - txerr0)) -eq 0 ] ||
	fail "veth ring overflowed: $((txerr1 - txerr0)) xmit errors on $DEV_GEN"
[ $((tx1 - tx0)) -eq "$sent" ] || fail "$DEV_GEN transmitted $((tx1 - tx0)) of $sent frames"
[ $((rx1 - rx0)) -eq "$sent" ] || fail "$DEV_RX received $((rx1 - rx0)) of $sent frames"
[ $((stable + cand)) -eq "$sent" ] ||
	fail "split rows hold $((stable + cand)) packets, generator sent $sent"
[ "$total" -eq "$sent" ] ||
	fail "dispatcher rows hold $total packets in all, $((total - stable - cand)) outside split"

# (b) share: 25 % +- 2 points, in basis points to stay in integers
share_bp=$((cand * 10000 / sent))
echo "candidate share: $share_bp bp (want $SHARE_BP +- 200)"
[ "$share_bp" -ge $((SHARE_BP - 200)) ] && [ "$share_bp" -le $((SHARE_BP + 200)) ] ||
	fail "candidate share $share_bp bp is not within 200 bp of $SHARE_BP"

# (c) verdicts match each row's packets; nothing else happened
[ "$(q .rows.stable.split.verdict.drop)" -eq "$stable" ] ||
	fail "stable drop verdicts $(q .rows.stable.split.verdict.drop) != stable packets $stable"
[ "$(q .rows.candidate1.split.verdict.pass)" -eq "$cand" ] ||
	fail "candidate pass verdicts $(q .rows.candidate1.split.verdict.pass) != candidate packets $cand"
verdicts=$(q '[.rows[][].verdict[]] | add')
[ "$verdicts" -eq "$sent" ] || fail "$verdicts verdicts counted for $sent packets"
fallback=$(q '[.rows[][].fallback] | add')
[ "$fallback" -eq 0 ] || fail "$fallback fallbacks (a slot was empty or a tail call failed)"

echo "live_native: OK"
