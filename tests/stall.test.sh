#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Nothing on the control socket stalls canaryd's loop: during a live rollout
# a slow-loris client (one byte every 1.9 s, never a newline), a silent one
# (connects, sends nothing) and clients that send a request and never read
# the reply, each connecting again when closed, attack it until the rollout
# has advanced (12 s at least), while the counters keep being read
# (status "max_read_gap_ms" stays under two intervals, or at what it was
# before the attack), status answers
# within a second and the rollout advances; the slow and silent clients are
# closed at the request deadline (5 s) with a one-line error. 17 clients at
# once: the 17th is refused with a one-line error.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

INTERVAL_MS=200
cb_create 10,25,50,100 4s ${INTERVAL_MS}ms || fail "cannot create the test bed"
cb_traffic 20000
cb_start_daemon || fail "canaryd did not come up"
IF=$TB_DUT_IF
SOCK=$CB_TMP/canaryd.sock

# attack.py MODE OUT STOP SOCKET: one attacker of the control socket until the
# file STOP exists, connecting again whenever canaryd closes it; the first
# connection's end (closed or held, seconds, what canaryd said) goes to OUT.
cat >"$CB_TMP/attack.py" <<'PY'
import os, socket, sys, time
mode, out, stop, path = sys.argv[1:5]
first = None
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
def done():
    return os.path.exists(stop)
held = []
while not done():
    s, t0, got, how = conn(), time.monotonic(), b"", "held"
    if mode == "noread":
        # A request, then never a read: up to 5 such connections open.
        s.send(b'{"cmd":"status"}\n')
        held = (held + [s])[-5:]
        time.sleep(0.5)
        continue
    s.settimeout(1.9)
    req = b'{"cmd":"status"' + b" " * 1000
    i = 0
    while not done():
        if mode == "loris":
            try:
                s.send(req[i:i + 1])
                i += 1
            except OSError:
                how = "closed"
                break
        try:
            d = s.recv(4096)
            got += d
            if not d:
                how = "closed"
                break
        except socket.timeout:
            pass
    s.close()
    if first is None:
        first = "%s %.1f %s\n" % (how, time.monotonic() - t0, got.decode(errors="replace").strip())
        open(out, "w").write(first)
PY

$CTL start "$IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start the rollout"
cb_wait_status "$IF" '.reads > 10 and .rollout.phase == "progressing"' 15 "10 counter reads" ||
	fail "no counter reads"
before=$($CTL -j status "$IF") || fail "status"
step0=$(jq '.interfaces[0].rollout.step' <<<"$before")
gap0=$(jq '.interfaces[0].max_read_gap_ms' <<<"$before")
echo "before the attack: step $step0, max_read_gap_ms $gap0"

# The attack lasts until the rollout has advanced a step, 12 s at least, 40 s at most.
t_attack=$(date +%s%N)
for m in silent loris noread; do
	tb_bg "$TB_DUT" python3 "$CB_TMP/attack.py" $m "$CB_TMP/$m.out" "$CB_TMP/stop" "$SOCK"
done
attackers=("${TB_PIDS[@]: -3}")
# While they are connected: status answers within a second, and the rollout goes on.
worst=0 answered=0 step=$step0 phase=progressing
while :; do
	el=$((($(date +%s%N) - t_attack) / 1000000))
	[ $el -ge 12000 ] && { [ "$step" -gt "$step0" ] || [ "$phase" != progressing ]; } && break
	[ $el -ge 40000 ] && break
	t0=$(date +%s%N)
	st=$(timeout 5 $CTL -j status "$IF")
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	[ $ms -gt $worst ] && worst=$ms
	if [ -n "$st" ]; then
		answered=$((answered + 1))
		step=$(jq '.interfaces[0].rollout.step' <<<"$st")
		phase=$(jq -r '.interfaces[0].rollout.phase' <<<"$st")
	fi
	sleep 0.5
done
touch "$CB_TMP/stop"
for pid in "${attackers[@]}"; do wait "$pid"; done
echo "attack: $((el / 1000)) s; $answered status replies, the slowest in $worst ms"
after=$($CTL -j status "$IF") || fail "status after the attack"
gap=$(jq '.interfaces[0].max_read_gap_ms' <<<"$after")
step1=$(jq '.interfaces[0].rollout.step' <<<"$after")
phase=$(jq -r '.interfaces[0].rollout.phase' <<<"$after")
echo "longest poll-loop stall (max_read_gap_ms since start): $gap ms at a $INTERVAL_MS ms interval"
echo "rollout: step $step0 -> $step1 ($phase)"
for f in silent loris; do echo "$f client: $(cat "$CB_TMP/$f.out")"; done

# max_read_gap_ms is the longest gap since canaryd started. A gap before the
# attack is not the attack's (seen once: 2,238 ms, on this 2-core machine
# while other builds and tests ran; the rollout's start, which loads and
# verifies the candidate in the loop, comes before it): the attack must not
# make a longer one.
[ "$gap" -lt $((2 * INTERVAL_MS)) ] || [ "$gap" -le "$gap0" ] ||
	fail "counter reads paused for $gap ms during the attack (more than two intervals of $INTERVAL_MS ms; $gap0 ms before it)"
[ "$worst" -lt 1000 ] || fail "a status request took $worst ms during the attack"
[ "$step1" -gt "$step0" ] || [ "$phase" = promoted ] ||
	fail "the rollout did not advance during the attack (step $step0 -> $step1, $phase)"
for f in silent loris; do
	read -r how secs msg <"$CB_TMP/$f.out"
	[ "$how" = closed ] || fail "the $f client was not closed by canaryd: $how $secs $msg"
	awk -v s="$secs" 'BEGIN { exit !(s >= 4.5 && s < 8) }' ||
		fail "the $f client was closed after $secs s, not at the 5 s deadline"
	jq -e '.ok == false and (.error | test("5 s"))' >/dev/null <<<"$msg" ||
		fail "the $f client got no one-line error: $msg"
done

# 17 silent clients at once: 16 are kept, the 17th is told and closed.
rm -f "$CB_TMP/stop"
for n in $(seq 17); do
	tb_bg "$TB_DUT" python3 "$CB_TMP/attack.py" silent "$CB_TMP/many$n.out" "$CB_TMP/stop" "$SOCK"
done
many=("${TB_PIDS[@]: -17}")
for _ in $(seq 100); do
	[ "$(cat "$CB_TMP"/many*.out 2>/dev/null | wc -l)" -ge 17 ] && break
	sleep 0.1
done
touch "$CB_TMP/stop"
for pid in "${many[@]}"; do wait "$pid"; done
refused=$(grep -l '"errno":16' "$CB_TMP"/many*.out | wc -l)
[ "$refused" -ge 1 ] || fail "no client refused beyond 16: $(cat "$CB_TMP"/many*.out)"
grep -h '"errno":16' "$CB_TMP"/many*.out | head -1 | sed 's/^/refused: /'
$CTL status >/dev/null || fail "status after 17 clients"
echo "max_read_gap_ms at the end: $($CTL -j status "$IF" | jq '.interfaces[0].max_read_gap_ms') ms"
exit 0
