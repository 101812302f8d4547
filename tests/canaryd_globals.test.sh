#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Globals: fw_settings has const volatile settings in .rodata. canaryd sets
# them by their BTF names before each load (config `set`, start --set):
#   - a mistyped name is refused, naming the object and its variables
#   - a value out of range or of the wrong kind is refused
#   - stable loads with the config's set (label=from_config, read back)
#   - --set subnet_a_verdict=1 (XDP_DROP) turns it into a blackhole: rolled
#     back for the drop rate, up (the global took effect)
#   - the same object with the defaults (fw_v1's rules) is promoted
#   - after a 'reboot', a stable whose config set names no variable is not
#     loaded: interface not managed, the error lists the variables
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,50,100 1s 200ms || fail "cannot create the test bed"
sed -i "s|^stable = .*|stable = $B/versions/fw_settings.bpf.o\nset = label=from_config,leak_subnet_d=false|" \
	"$CB_TMP/canaryd.ini"
cb_traffic 100000
cb_start_daemon || fail "canaryd did not come up"
obj=$B/versions/fw_settings.bpf.o

# Stable's .rodata holds the config's label.
rodata=$(bpftool -j prog show pinned "$CB_PIN/$TB_DUT_IF/stable" | jq -r '.map_ids[]' |
	while read -r id; do
		bpftool -j map show id "$id" | jq -r 'select(.name | endswith(".rodata")) | .id'
	done)
[ -n "$rodata" ] || fail "stable has no .rodata map"
bpftool map dump id "$rodata" | grep -q from_config ||
	fail "stable's label is not the config's: $(bpftool map dump id "$rodata")"
echo "stable loaded with set = label=from_config (read back from .rodata map $rodata)"

out=$($CTL start "$TB_DUT_IF" "$obj" --set subnet_a_verdikt=1 2>&1) &&
	fail "a mistyped global was accepted"
[[ $out == *"$obj"* && $out == *subnet_a_verdikt* && $out == *"subnet_a_verdict, leak_subnet_d, label"* ]] ||
	fail "the error does not name the object and list its variables: $out"
echo "mistyped: $out"
out=$($CTL start "$TB_DUT_IF" "$obj" --set leak_subnet_d=2 2>&1) && fail "bool 2 was accepted"
[[ $out == *leak_subnet_d* && $out == *"out of range"* ]] || fail "bool 2: $out"
out=$($CTL start "$TB_DUT_IF" "$obj" --set subnet_a_verdict=-1 2>&1) && fail "-1 for a __u32 accepted"
out=$($CTL start "$TB_DUT_IF" "$obj" --set label=a_label_longer_than_16 2>&1) &&
	fail "a label longer than its array was accepted"
[[ $out == *"at most 15 characters"* ]] || fail "long label: $out"
[ "$(cb_slot_id 1)" = 0 ] && [ "$(cb_kernel_share)" = 0 ] || fail "a refused start changed the datapath"
echo "out of range, wrong sign and too long refused; slot 1 empty, share 0"

timeout 60 $CTL start "$TB_DUT_IF" "$obj" --set subnet_a_verdict=1 --set label=blackhole --wait \
	>"$CB_TMP/drop.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$CB_TMP/drop.out"; fail "--set subnet_a_verdict=1: --wait exited $rc, want 2"; }
s=$($CTL -j status "$TB_DUT_IF")
reason=$(jq -r .interfaces[0].rollout.reason <<<"$s")
[[ $reason == *"drop up harm"* ]] || fail "subnet_a_verdict=1 rolled back for '$reason', want drop up harm"
echo "--set subnet_a_verdict=1 (XDP_DROP for subnet A): rolled back:" \
	"$(jq -r .interfaces[0].rollout.reason <<<"$s")"

timeout 60 $CTL start "$TB_DUT_IF" "$obj" --wait >"$CB_TMP/ok.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$CB_TMP/ok.out"; fail "defaults: --wait exited $rc, want 0"; }
echo "defaults: promoted"

# Stable too: after a 'reboot' (pins gone), a config set naming no variable
# leaves the interface unmanaged with that error, and nothing attached.
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
tb_dut ip link set dev "$TB_DUT_IF" xdp off
rm -rf "${CB_PIN:?}/$TB_DUT_IF"
sed -i "s|^set = .*|set = label=x,leak_subnet=1|" "$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come up"
s=$($CTL -j status "$TB_DUT_IF")
err=$(jq -r '.interfaces[0].error' <<<"$s")
[ "$(jq -r '.interfaces[0].managed' <<<"$s")" = false ] || fail "a stable with a bad set is managed"
[[ $err == *leak_subnet* && $err == *"subnet_a_verdict, leak_subnet_d, label"* ]] ||
	fail "the stable's error does not name the variable and list those it has: $err"
[ "$(cb_xdp_id)" = 0 ] || fail "something is attached after a refused stable"
echo "stable with set = leak_subnet=1: not managed, nothing attached: $err"
exit 0
