#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# An interface canaryd cannot attach to: a second DUT veth already has an XDP
# program attached in native mode outside libxdp (ip link set ... xdpdrv),
# so the dispatcher cannot join it. canaryd manages the other interface;
# this one is reported unmanaged, and the library's own line (what failed,
# on which interface, what to try: canary_dp__attach's message through its
# caller-owned buffer) reaches `canaryctl status`, not only the daemon's log.
# The program already there stays attached, untouched.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 50,100 60s 200ms || fail "cannot create the test bed"
GEN2="${TB_ID}g1" DUT2="${TB_ID}d1"
ip link add "$GEN2" netns "$TB_GEN" type veth peer name "$DUT2" netns "$TB_DUT" ||
	fail "cannot create the second veth pair"
ip -n "$TB_GEN" link set "$GEN2" up
ip -n "$TB_DUT" link set "$DUT2" up
# Someone else's program, attached the plain way (no libxdp dispatcher).
ip -n "$TB_DUT" link set dev "$DUT2" xdpdrv obj "$B/versions/fw_v1.bpf.o" sec xdp ||
	fail "cannot attach fw_v1 to $DUT2 with ip link"
theirs=$(cb_xdp_id "$DUT2")
[ "$theirs" -gt 0 ] || fail "no XDP program on $DUT2"
printf '\n[interface %s]\nmode = native\nstable = %s\n' "$DUT2" "$B/versions/fw_v1.bpf.o" \
	>>"$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come up"

st=$($CTL -j status) || fail "canaryctl status failed"
err1=$(jq -r --arg i "$TB_DUT_IF" '.interfaces[] | select(.iface == $i) | .error' <<<"$st")
err2=$(jq -r --arg i "$DUT2" '.interfaces[] | select(.iface == $i) | .error' <<<"$st")
[ "$err1" = null ] || fail "$TB_DUT_IF is not managed: $err1"
[[ $err2 == "cannot attach dispatcher in native mode"*"try skb mode"* ]] ||
	fail "$DUT2's status error is not the library's line: '$err2' ($st)"
# Refused where it is: not listed as waiting for it to appear.
jq -e '.waiting == []' >/dev/null <<<"$st" || fail "$DUT2 is listed as waiting: $(jq -c .waiting <<<"$st")"
# The plain text view shows it too.
$CTL status 2>&1 | grep -qF "cannot attach dispatcher in native mode" ||
	fail "canaryctl status (text) does not show the attach failure: $($CTL status 2>&1)"
[ "$(cb_xdp_id "$DUT2")" = "$theirs" ] || fail "the program on $DUT2 was replaced or detached"
# A rollout there is refused, naming why.
out=$($CTL start "$DUT2" "$B/versions/fw_v2.bpf.o" 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "start on an unmanaged interface succeeded: $out"
[ "$(cb_xdp_id "$DUT2")" = "$theirs" ] || fail "start touched the program on $DUT2"
echo "unmanaged $DUT2: '$err2'; start refused (exit $rc): $(head -1 <<<"$out")"
