#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# State maps survive a promotion through canaryd, with live traffic: stable
# and candidate are versions that count every packet in a map "conn_table"
# of the same definition, so canaryd shares it (pinned under the interface's
# maps/). During the rollout both programs use the one map; after the
# promotion, with traffic stopped, the map holds every packet either version
# handled, so no session state was lost or reset by the switch.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,50,100 1s 200ms || fail "cannot create the test bed"
sed -i "s|^stable = .*|stable = $B/tests/stateful.bpf.o|" "$CB_TMP/canaryd.ini"
# These versions drop nothing: there is no drop rate to prove.
printf '[judge]\ndrop = off\n' >>"$CB_TMP/canaryd.ini"
cb_traffic 100000
gen_pid=${TB_PIDS[-1]}
cb_start_daemon || fail "canaryd did not come up"

pin="$CB_PIN/$TB_DUT_IF"
map_ids() {
	bpftool -j prog show pinned "$1" | jq -c '.map_ids // [] | sort'
}
timeout 120 $CTL start "$TB_DUT_IF" $B/tests/stateful.bpf.o --wait >"$CB_TMP/wait.out" 2>&1 &
waiter=$!
for _ in $(seq 50); do
	[ -e "$pin/candidate" ] && break
	sleep 0.1
done
[ -e "$pin/candidate" ] || fail "no candidate pinned at $pin/candidate"
s_maps=$(map_ids "$pin/stable") c_maps=$(map_ids "$pin/candidate")
shared=$(bpftool -j map show pinned "$pin/maps/conn_table" | jq .id)
[ -n "$shared" ] || fail "conn_table is not pinned under $pin/maps"
jq -e --argjson id "$shared" 'index($id) != null' <<<"$s_maps" >/dev/null ||
	fail "stable does not use the shared conn_table (maps $s_maps, shared $shared)"
jq -e --argjson id "$shared" 'index($id) != null' <<<"$c_maps" >/dev/null ||
	fail "candidate does not use the shared conn_table (maps $c_maps, shared $shared)"
echo "during the rollout stable and candidate share conn_table (map id $shared)"

wait "$waiter"
rc=$?
[ $rc -eq 0 ] || { cat "$CB_TMP/wait.out"; fail "--wait exited $rc, want 0 (promoted)"; }
kill "$gen_pid"
wait "$gen_pid" 2>/dev/null
sleep 0.5

st=$($CTL -j status "$TB_DUT_IF")
handled=$(jq '.interfaces[0].versions | .stable.packets + .candidate.packets' <<<"$st")
# With BTF bpftool prints the value formatted; else as little-endian bytes.
counted=$(bpftool -j map lookup pinned "$pin/maps/conn_table" key 0 0 0 0 |
	jq -r '.formatted.value // ("16#" + (.value | reverse | map(ltrimstr("0x")) | join("")))')
counted=$((counted))
echo "after promotion: versions handled $handled packets, conn_table counted $counted"
[ "$handled" -gt 100000 ] || fail "too little traffic ($handled packets)"
[ "$counted" = "$handled" ] || fail "conn_table lost state across the promotion ($counted != $handled)"
new_maps=$(map_ids "$pin/stable")
jq -e --argjson id "$shared" 'index($id) != null' <<<"$new_maps" >/dev/null ||
	fail "the promoted stable does not use the shared conn_table"
exit 0
