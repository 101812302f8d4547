#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# What canaryd checks before it touches any interface, and what it survives:
# - a busy metrics port: canaryd comes up anyway, manages its interface, logs
#   one line naming the address, says "unbound" in status, and listens once
#   the port is free (it tries every 10 s);
# - a second canaryd on the same control socket (another interface, pin root
#   and state dir): it exits 1 naming the socket and the first one's pid,
#   attaches nothing, and the first one's socket stays and answers;
# - a control socket that cannot be bound: exit 1, nothing attached.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,100 60s 200ms || fail "cannot create the test bed"
PIN2=$CB_PIN-2
trap 'cb_cleanup; rm -rf "$PIN2"' EXIT
IF=$TB_DUT_IF
IF2=${TB_ID}x0
tb_dut ip link add "$IF2" type veth peer name "${TB_ID}x1" || fail "cannot create $IF2"
tb_dut ip link set "$IF2" up
tb_dut ip link set "${TB_ID}x1" up

# The metrics port taken by someone else before canaryd starts.
tb_bg "$TB_DUT" python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9464)); s.listen(1); print("bound", flush=True); time.sleep(60)' \
	>"$CB_TMP/squatter.out"
squatter=${TB_PIDS[-1]}
for _ in $(seq 50); do grep -q bound "$CB_TMP/squatter.out" && break; sleep 0.1; done
grep -q bound "$CB_TMP/squatter.out" || fail "the squatter could not bind 127.0.0.1:9464"

cb_start_daemon || fail "canaryd did not come up with its metrics port busy"
cb_wait_status "$IF" '.managed and .reads > 2' 10 "the interface managed and read" ||
	fail "the interface is not managed with the metrics port busy"
[ "$($CTL -j status | jq -r .metrics)" = unbound ] ||
	fail "status metrics: $($CTL -j status | jq -c .metrics), want unbound"
grep -q 'metrics 127.0.0.1:9464: cannot listen: Address already in use' "$CB_TMP/canaryd.log" ||
	fail "no log line naming the busy metrics address"
[ "$(grep -c 'metrics 127.0.0.1:9464: cannot listen' "$CB_TMP/canaryd.log")" = 1 ] ||
	fail "the busy port is logged more than once"
kill -0 "$CB_DAEMON_PID" || fail "canaryd exited"
echo "busy metrics port: managed, status says unbound, logged once:"
grep 'metrics 127.0.0.1:9464: cannot' "$CB_TMP/canaryd.log" | sed 's/^/  /'

# The port freed: canaryd listens within its retry period.
kill "$squatter"
wait "$squatter" 2>/dev/null
t0=$(date +%s)
for _ in $(seq 150); do
	[ "$($CTL -j status | jq -r .metrics)" = listening ] && break
	sleep 0.1
done
[ "$($CTL -j status | jq -r .metrics)" = listening ] || fail "metrics not listening 15 s after the port was freed"
tb_dut curl -sf -m 5 http://127.0.0.1:9464/metrics | grep -q "^canary_interface_managed{interface=\"$IF\"} 1" ||
	fail "no metrics after the port was freed"
echo "port freed: listening after $(($(date +%s) - t0)) s, metrics served"

# A second canaryd on the same socket, with another interface, pin root and state dir.
sed -e "s|^pin_root = .*|pin_root = $PIN2|" -e "s|^state_dir = .*|state_dir = $CB_TMP/state2|" \
	-e "s|^\[interface .*\]|[interface $IF2]|" -e "/^\[daemon\]/a metrics = off" \
	"$CB_TMP/canaryd.ini" >"$CB_TMP/second.ini"
tb_dut timeout 10 $B/canaryd -c "$CB_TMP/second.ini" >"$CB_TMP/second.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "the second canaryd exited $rc, want 1: $(cat "$CB_TMP/second.log")"
grep -q "control socket $CB_TMP/canaryd.sock: another canaryd (pid $CB_DAEMON_PID) holds its lock" \
	"$CB_TMP/second.log" || fail "the second canaryd does not say who holds the socket: $(cat "$CB_TMP/second.log")"
[ "$(cb_xdp_id "$IF2")" = 0 ] || fail "the second canaryd attached XDP to $IF2"
[ -e "$PIN2/$IF2" ] && fail "the second canaryd pinned something for $IF2"
[ -S "$CB_TMP/canaryd.sock" ] || fail "the first canaryd's socket is gone"
$CTL status "$IF" >/dev/null || fail "the first canaryd does not answer after the second exited"
echo "second canaryd: exit $rc, $(cat "$CB_TMP/second.log")"

# A socket that cannot be bound: exit 1 before any interface is touched.
sed -e "s|^socket = .*|socket = $CB_TMP/no-such-dir/canaryd.sock|" "$CB_TMP/second.ini" \
	>"$CB_TMP/third.ini"
tb_dut timeout 10 $B/canaryd -c "$CB_TMP/third.ini" >"$CB_TMP/third.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "canaryd with an unbindable socket exited $rc, want 1"
[ "$(cb_xdp_id "$IF2")" = 0 ] || fail "canaryd with an unbindable socket attached XDP to $IF2"
echo "unbindable socket: exit $rc, $(cat "$CB_TMP/third.log")"

# The first one still runs and manages its interface; SIGTERM: exit 0, socket removed.
kill -0 "$CB_DAEMON_PID" || fail "the first canaryd exited"
kill -TERM "$CB_DAEMON_PID"
wait "$CB_DAEMON_PID"
rc=$?
[ $rc = 0 ] || fail "canaryd exited $rc on SIGTERM, want 0"
[ -e "$CB_TMP/canaryd.sock" ] && fail "the socket is left behind after SIGTERM"
echo "first canaryd: exit 0 on SIGTERM, its socket removed"
exit 0
