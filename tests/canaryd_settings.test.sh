#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Dispatcher settings (symmetric, fail, cost_sample) reach a dispatcher
# canaryd did not create: read back from the kernel (the installed struct
# canary_config: flags and cost mask) after
#   - a restart that adopts the pinned dispatcher with changed settings;
#   - SIGHUP with changed settings;
#   - SIGHUP during a rollout: fail and cost_sample at once, symmetric only
#     once the rollout ends (it would move flows between the versions).
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,25,50,100 2s 200ms || fail "cannot create the test bed"
INI=$CB_TMP/canaryd.ini
LOG=$CB_TMP/canaryd.log
# The last section of cb_create's config is the interface's.
cat >>"$INI" <<INI
fail = open
symmetric = no
cost_sample = 128
INI
# CANARY_F_SYMMETRIC 1, CANARY_F_FAIL_CLOSED 2, CANARY_F_COST 16 (canary_abi.h).
settings() {
	local f m
	f=$(cb_kernel_cfg 'le32(4)')
	m=$(cb_kernel_cfg 'le32(12)')
	printf 'symmetric=%s fail=%s cost=%s' $(((f & 1) != 0)) \
		"$( ((f & 2)) && echo closed || echo open)" "$( ((f & 16)) && echo $((m + 1)) || echo 0)"
}
set_key() { sed -i "s/^$1 = .*/$1 = $2/" "$INI"; }
hup() {
	local n
	n=$(grep -c "config .* reloaded" "$LOG")
	kill -HUP "$CB_DAEMON_PID"
	for _ in $(seq 100); do
		[ "$(grep -c "config .* reloaded" "$LOG")" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "SIGHUP not taken"
}
expect() {
	local now
	now=$(settings)
	[ "$now" = "$1" ] || fail "$2: the dispatcher has $now, want $1"
	echo "  $2: $now"
}

cb_start_daemon || fail "canaryd did not come up"
expect "symmetric=0 fail=open cost=128" "created"
first=$(cb_xdp_id)

echo "restart with other settings (adopted):"
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
set_key fail closed
set_key symmetric yes
set_key cost_sample 16
cb_start_daemon || fail "canaryd did not come back"
grep -q "adopted the pinned dispatcher" "$LOG" || fail "the dispatcher was not adopted"
[ "$(cb_xdp_id)" = "$first" ] || fail "the dispatcher was replaced, not adopted"
expect "symmetric=1 fail=closed cost=16" "adopted"
grep -q "iface $TB_DUT_IF: fail open -> closed (adopted dispatcher)" "$LOG" ||
	fail "no log line for the adopted settings"

echo "SIGHUP:"
set_key fail open
set_key cost_sample 0
hup
expect "symmetric=1 fail=open cost=0" "SIGHUP"
grep -q "iface $TB_DUT_IF: cost_sample 16 -> 0 (SIGHUP)" "$LOG" || fail "no log line for SIGHUP"

echo "SIGHUP during a rollout:"
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --step-time 60s >/dev/null ||
	fail "cannot start the rollout"
set_key fail closed
set_key symmetric no
set_key cost_sample 64
hup
expect "symmetric=1 fail=closed cost=64" "rollout running"
grep -q "iface $TB_DUT_IF: symmetric yes -> no waits for the rollout to end" "$LOG" ||
	fail "no log line for the waiting symmetric change"
$CTL abort "$TB_DUT_IF" >/dev/null || fail "cannot abort"
t0=$(date +%s%N)
for _ in $(seq 100); do
	[ "$(settings)" = "symmetric=0 fail=closed cost=64" ] && break
	sleep 0.05
done
expect "symmetric=0 fail=closed cost=64" "rollout aborted ($((($(date +%s%N) - t0) / 1000000)) ms later)"
grep -q "iface $TB_DUT_IF: symmetric yes -> no (the rollout ended)" "$LOG" ||
	fail "no log line for the symmetric change"
# SIGHUP with nothing changed changes nothing and logs nothing.
n=$(grep -c "iface $TB_DUT_IF: .* -> " "$LOG")
hup
expect "symmetric=0 fail=closed cost=64" "SIGHUP, nothing changed"
[ "$(grep -c "iface $TB_DUT_IF: .* -> " "$LOG")" = "$n" ] || fail "an unchanged SIGHUP logged a change"
echo "ok"
