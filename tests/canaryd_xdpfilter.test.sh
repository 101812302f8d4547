#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Real third-party programs: xdp-filter's (Debian xdp-tools), whose rules
# live in maps declared LIBBPF_PIN_BY_NAME. Stable is xdpfilt_alw_ip (policy
# allow: a matching rule drops) with its filter_ipv4 filled by the prepare step (deny source 198.18.4.1, the
# bed's attack source); filter_ipv4 is private, so each candidate gets its
# own, empty until its prepare step fills it.
#   1. a prepare step that fails, or hangs past prepare_timeout (killed with
#      its process group), refuses the start: stable untouched
#   2. a candidate whose prepare leaves out the deny rule is rolled back
#      for passing what stable drops (drop rate, down)
#   3. the same candidate with the full prepare is promoted; paused on the
#      way, its deleted rule is refilled by canaryctl prepare
#   4. copy_maps (after a restart with copy_maps = filter_ipv4, stable's map
#      dir removed: the adopted stable's maps are pinned again): a candidate
#      whose prepare adds nothing carries stable's rules, promoted
#   5. after a "reboot" (pins gone) the stable's prepare runs again
# and every map lives under canaryd's pin root, none under /sys/fs/bpf/NAME.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

XF=/usr/lib/x86_64-linux-gnu/bpf
[ -r $XF/xdpfilt_alw_ip.o ] && [ -r $XF/xdpfilt_alw_all.o ] ||
	fail "xdp-tools' programs are missing ($XF/xdpfilt_*.o): apt-get install xdp-tools"

cb_create 5,50,100 1s 200ms || fail "cannot create the test bed"
# The deny rule: source 198.18.4.1, flag MAP_FLAG_SRC (1), in the version's own map.
cat >"$CB_TMP/fill.sh" <<'SH'
#!/bin/sh
env | grep '^CANARY_' | sort >"$CANARY_ENV_LOG.$CANARY_ROLE.$CANARY_VERSION_ID"
exec bpftool map update pinned "$CANARY_MAP_DIR/filter_ipv4" key 198 18 4 1 value 1 0 0 0 0 0 0 0
SH
# The same without the deny rule: only an unrelated address.
cat >"$CB_TMP/nodeny.sh" <<'SH'
#!/bin/sh
exec bpftool map update pinned "$CANARY_MAP_DIR/filter_ipv4" key 198 18 9 9 value 1 0 0 0 0 0 0 0
SH
chmod +x "$CB_TMP/fill.sh" "$CB_TMP/nodeny.sh"
sed -i "s|^stable = .*|stable = $XF/xdpfilt_alw_ip.o\nprepare = CANARY_ENV_LOG=$CB_TMP/env $CB_TMP/fill.sh\nprivate_maps = filter_ipv4\nprepare_timeout = 1s|" \
	"$CB_TMP/canaryd.ini"
# xdp-filter passes or drops; no program of it aborts or is slow by design.
printf '[judge]\ncost = off\n' >>"$CB_TMP/canaryd.ini"
had_global=0
[ -e /sys/fs/bpf/filter_ipv4 ] && had_global=$(bpftool -j map show pinned /sys/fs/bpf/filter_ipv4 | jq .id)
cb_traffic 100000
cb_start_daemon || fail "canaryd did not come up"
pin="$CB_PIN/$TB_DUT_IF"
# The attack source is 20 % of the traffic: stable drops it, and nothing else.
drops_attack='.versions.stable.drop_rate > 0.15 and .versions.stable.drop_rate < 0.25'
st() { $CTL -j status "$TB_DUT_IF"; }

# Stable's prepare ran once, before traffic, with its map dir.
sid=$(cb_pin_id stable)
sdir="$pin/versions/$sid/maps"
[ -f "$CB_TMP/env.stable.$sid" ] || fail "stable's prepare did not run (no env.stable.$sid)"
grep -qx "CANARY_MAP_DIR=$sdir" "$CB_TMP/env.stable.$sid" ||
	fail "stable's CANARY_MAP_DIR is not $sdir: $(cat "$CB_TMP/env.stable.$sid")"
grep -qx "CANARY_PROGRAM=xdpfilt_alw_ip" "$CB_TMP/env.stable.$sid" || fail "CANARY_PROGRAM"
[ "$(jq -r ".interfaces[0].maps.stable.maps.filter_ipv4" <<<"$(st)")" = "$sdir/filter_ipv4" ] ||
	fail "status does not show stable's filter_ipv4 at $sdir: $(st | jq -c .interfaces[0].maps)"
cb_wait_status "$TB_DUT_IF" "$drops_attack" 10 "stable dropping the attack (20 %) only" ||
	fail "stable does not drop the attack source"
echo "stable xdpfilt_alw_ip (version $sid) drops the attack; its maps in $sdir"

# 1. A failing prepare refuses the start; nothing changes.
out=$($CTL start "$TB_DUT_IF" $XF/xdpfilt_alw_all.o --prepare 'echo "rules server unreachable" >&2; exit 3' 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a failing prepare did not refuse the start"
[[ $out == *"exited 3"* && $out == *"rules server unreachable"* ]] ||
	fail "the start's error does not carry the prepare's exit and output: $out"
[ "$(cb_slot_id 1)" = 0 ] && [ "$(cb_kernel_share)" = 0 ] && [ "$(cb_pin_id stable)" = "$sid" ] ||
	fail "a refused start changed the datapath (slot 1 $(cb_slot_id 1), share $(cb_kernel_share))"
[ "$(ls "$pin/versions")" = "$sid" ] || fail "a refused candidate left map dirs: $(ls "$pin/versions")"
echo "1. failing prepare refused: $out"
# A prepare that hangs is killed with its process group after prepare_timeout (1s).
t0=$(date +%s%N)
out=$($CTL start "$TB_DUT_IF" $XF/xdpfilt_alw_all.o --prepare "echo filling; sleep 30.$$; echo never" 2>&1) &&
	fail "a hanging prepare did not refuse the start"
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $out == *"timed out after 1000 ms"* && $out == *filling* && $out != *never* ]] ||
	fail "the hanging prepare's error: $out"
[ "$ms" -lt 5000 ] || fail "the hanging prepare took $ms ms to refuse, want about 1 s"
pgrep -f "sleep 30.$$" >/dev/null && fail "the hanging prepare's child survived"
[ "$(cb_slot_id 1)" = 0 ] && [ "$(cb_kernel_share)" = 0 ] || fail "a timed-out start changed the datapath"
echo "   hanging prepare killed, start refused in $ms ms: $out"

# 2. The candidate's prepare leaves out the deny rule: it passes what stable drops.
timeout 60 $CTL start "$TB_DUT_IF" $XF/xdpfilt_alw_all.o --prepare "$CB_TMP/nodeny.sh" --wait \
	>"$CB_TMP/nodeny.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$CB_TMP/nodeny.out"; fail "no-deny candidate: --wait exited $rc, want 2"; }
s=$(st)
reason=$(jq -r .interfaces[0].rollout.reason <<<"$s")
[[ $reason == *"drop down harm"* ]] || fail "no-deny candidate rolled back for '$reason', want drop down harm"
pass_c=$(jq '.interfaces[0].versions.candidate.pass_rate' <<<"$s")
echo "2. candidate without the deny rule (pass rate $pass_c) rolled back after" \
	"$(jq '.interfaces[0].rollout.totals.candidate_packets' <<<"$s") candidate packets:" \
	"$(jq -r .interfaces[0].rollout.reason <<<"$s")"

# 3. The same candidate with the full prepare (the config's): promoted. On
# the way, paused, its rules are lost (its agent restarted) and refilled
# with canaryctl prepare.
$CTL start "$TB_DUT_IF" $XF/xdpfilt_alw_all.o >/dev/null || fail "full-prepare start refused"
$CTL pause "$TB_DUT_IF" >/dev/null || fail "cannot pause"
cid=$(cb_pin_id candidate)
cmap="$pin/versions/$cid/maps/filter_ipv4"
bpftool map delete pinned "$cmap" key 198 18 4 1 || fail "cannot delete the candidate's rule"
bpftool map lookup pinned "$cmap" key 198 18 4 1 >/dev/null 2>&1 && fail "the rule is still there"
$CTL prepare "$TB_DUT_IF" >/dev/null || fail "canaryctl prepare failed"
bpftool map lookup pinned "$cmap" key 198 18 4 1 >/dev/null 2>&1 ||
	fail "canaryctl prepare did not refill the candidate's filter_ipv4"
echo "3. paused; candidate's rule deleted and refilled by canaryctl prepare"
$CTL resume "$TB_DUT_IF" >/dev/null || fail "cannot resume"
cb_wait_status "$TB_DUT_IF" '.rollout.phase == "promoted"' 60 "the promotion" ||
	fail "full-prepare candidate not promoted: $($CTL status "$TB_DUT_IF")"
[ "$(cb_pin_id stable)" = "$cid" ] || fail "stable is not the promoted candidate"
$CTL prepare "$TB_DUT_IF" 2>/dev/null && fail "canaryctl prepare with no loaded candidate succeeded"
[ "$cid" != "$sid" ] || fail "stable did not change with the promotion"
grep -qx CANARY_ROLE=candidate "$CB_TMP/env.candidate.$cid" ||
	fail "the candidate's prepare did not run as candidate"
grep -qx "CANARY_STABLE_MAP_DIR=$sdir" "$CB_TMP/env.candidate.$cid" ||
	fail "the candidate's CANARY_STABLE_MAP_DIR is not $sdir"
m_old=$(bpftool -j map show pinned "$sdir/filter_ipv4" 2>/dev/null | jq .id)
m_new=$(bpftool -j map show pinned "$pin/versions/$cid/maps/filter_ipv4" | jq .id)
[ -n "$m_new" ] && [ "$m_new" != "$m_old" ] || fail "the candidate's filter_ipv4 is not private"
echo "   candidate with the deny rule promoted (version $cid, its own filter_ipv4 map $m_new)"

# 4. copy_maps: restart with it; the next candidate's prepare adds nothing.
# Stable's map dir is removed first, as if an older canaryd had pinned it:
# the restarted canaryd pins the adopted stable's maps again.
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
rm -r "$pin/versions/$cid"
sed -i 's|^\[rollout\]$|[rollout]\ncopy_maps = filter_ipv4|' "$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come back"
[ "$(bpftool -j map show pinned "$pin/versions/$cid/maps/filter_ipv4" 2>/dev/null | jq .id)" = "$m_new" ] ||
	fail "the adopted stable's filter_ipv4 (map $m_new) is not pinned in its map dir again"
timeout 60 $CTL start "$TB_DUT_IF" $XF/xdpfilt_alw_ip.o --prepare true --wait >"$CB_TMP/copy.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$CB_TMP/copy.out"; fail "copy_maps candidate: --wait exited $rc, want 0"; }
nid=$(cb_pin_id stable)
rule=$(bpftool -j map lookup pinned "$pin/versions/$nid/maps/filter_ipv4" key 198 18 4 1 2>/dev/null |
	jq -c '.value // .values' 2>/dev/null)
[ -n "$rule" ] || fail "the copy_maps candidate's filter_ipv4 lacks stable's deny rule"
grep -q "map filter_ipv4 copied from stable's" "$CB_TMP/canaryd.log" || fail "no copy logged"
cb_wait_status "$TB_DUT_IF" "$drops_attack and .versions.stable.pps > 50000" 10 \
	"the promoted copy dropping the attack only" || fail "the copied rules do not drop the attack"
echo "4. copy_maps: candidate (version $nid) promoted with stable's rules copied"

# Nothing of ours under /sys/fs/bpf/NAME; old versions' map dirs are gone.
for m in filter_ipv4 xdp_stats_map; do
	[ -e /sys/fs/bpf/$m ] || continue
	id=$(bpftool -j map show pinned /sys/fs/bpf/$m | jq .id)
	for v in "$pin"/versions/*/maps/$m; do
		[ "$(bpftool -j map show pinned "$v" | jq .id)" != "$id" ] ||
			fail "map $m is pinned under /sys/fs/bpf/$m too"
	done
done
[ "$had_global" = 0 ] && [ -e /sys/fs/bpf/filter_ipv4 ] && fail "/sys/fs/bpf/filter_ipv4 was created"
dirs=$(ls "$pin/versions" | sort -n | tr '\n' ' ')
[ "$dirs" = "$(printf '%s\n' "$cid" "$nid" | sort -n | tr '\n' ' ')" ] ||
	fail "map dirs $dirs, want those of stable $nid and previous $cid only"
echo "map dirs: $dirs(stable and previous)"

# 5. A reboot (canaryd stopped, XDP detached, bpffs empty): the stable is
# loaded anew and its prepare step fills its fresh map before any traffic.
kill "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID" 2>/dev/null
tb_dut ip link set dev "$TB_DUT_IF" xdp off
rm -rf "$pin"
cb_start_daemon || fail "canaryd did not come up after the 'reboot'"
rid=$(cb_pin_id stable)
[ "$rid" != 0 ] && [ "$rid" != "$nid" ] || fail "no new stable after the 'reboot' ($rid)"
[ -f "$CB_TMP/env.stable.$rid" ] || fail "stable's prepare did not run after the 'reboot'"
bpftool map lookup pinned "$pin/versions/$rid/maps/filter_ipv4" key 198 18 4 1 >/dev/null 2>&1 ||
	fail "stable's filter_ipv4 is not filled after the 'reboot'"
cb_wait_status "$TB_DUT_IF" "$drops_attack" 10 "stable dropping the attack (20 %) only" ||
	fail "stable does not drop the attack after the 'reboot'"
echo "5. after a 'reboot': stable loaded anew (version $rid), prepared, dropping the attack"
exit 0
