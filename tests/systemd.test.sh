#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# canaryd under systemd, without systemd: build/notify_listen plays the
# NOTIFY_SOCKET end. READY=1 comes only when the control socket answers and
# the interface is set up (not waiting for a configured one that does not
# exist: STATUS= names it); SIGHUP gives RELOADING=1 then READY=1 (also when
# the new file is refused); SIGTERM gives STOPPING=1. Under JOURNAL_STREAM
# every log line carries its journald priority. Then `make install` into a
# staging DESTDIR gives the expected tree, and the installed unit passes
# `systemd-analyze verify` without a single warning.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

cb_create 5,100 60s 200ms || fail "cannot create the test bed"
# An interface that does not exist: READY=1 does not wait for it, STATUS= names it.
WAITING="${TB_ID}w"
printf '\n[interface %s]\nstable = %s\n' "$WAITING" "$B/versions/fw_v1.bpf.o" >>"$CB_TMP/canaryd.ini"
NOTIFY=$CB_TMP/notify.sock
LOG=$CB_TMP/notify.log

$B/notify_listen "$NOTIFY" "$CB_TMP/canaryd.sock" 60 >"$LOG" 2>&1 &
TB_PIDS+=("$!")
listener=$!
for _ in $(seq 50); do
	grep -q '^bound' "$LOG" && break
	sleep 0.1
done
grep -q '^bound' "$LOG" || fail "notify_listen did not bind: $(cat "$LOG")"

# canaryd's stderr is this file; JOURNAL_STREAM names it as journald's stream.
: >"$CB_TMP/canaryd.log"
tb_bg "$TB_DUT" env NOTIFY_SOCKET="$NOTIFY" JOURNAL_STREAM="$(stat -c %d:%i "$CB_TMP/canaryd.log")" \
	$B/canaryd -c "$CB_TMP/canaryd.ini" >/dev/null 2>>"$CB_TMP/canaryd.log"
pid=${TB_PIDS[-1]}

# wait_for N PATTERN: until the log has N lines matching PATTERN.
wait_for() {
	for _ in $(seq 100); do
		[ "$(grep -c -- "$2" "$LOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "no $2 (#$1) from canaryd; notifications: $(cat "$LOG")"
}
wait_for 1 'READY=1'
ready=$(grep -m1 'READY=1' "$LOG")
[[ $ready == *control=ok* ]] || fail "READY=1 before the control socket answered: $ready"
[[ $ready == *"STATUS=managing 1 of 2 interfaces; waiting for $WAITING"* ]] ||
	fail "READY=1 before the interface was set up, or without the waiting one: $ready"
echo "ready: $ready"

kill -HUP "$pid"
wait_for 2 'READY=1'
grep -A1 'RELOADING=1' "$LOG" | grep -q 'READY=1.*control=ok' || fail "no RELOADING=1 then READY=1: $(cat "$LOG")"
echo "bogus = 1" >>"$CB_TMP/canaryd.ini"
kill -HUP "$pid"
wait_for 3 'READY=1'
[ "$(grep -c 'RELOADING=1' "$LOG")" = 2 ] || fail "second reload not announced: $(cat "$LOG")"
$CTL status >/dev/null || fail "canaryd not answering after a refused reload"

kill -TERM "$pid"
wait "$listener"
rc=$?
[ $rc -eq 0 ] || fail "no STOPPING=1 (notify_listen exited $rc): $(cat "$LOG")"
echo "notifications: $(grep -c . "$LOG") lines, $(tr '\n' '|' <"$LOG")"

# Journald priorities: info <6>, warnings <4>, on every line of a multi-line message.
grep -q '^<6>canaryd: managing 1 of 2 interfaces' "$CB_TMP/canaryd.log" || fail "no <6> on the start line"
grep -q '^<6>SIGHUP: config .* reloaded' "$CB_TMP/canaryd.log" || fail "no <6> on the reload line"
grep -q "^<4>SIGHUP: config .* not reloaded" "$CB_TMP/canaryd.log" || fail "no <4> on the refused reload"
grep -q "^<4>.*key 'bogus'" "$CB_TMP/canaryd.log" || fail "no <4> on the second line of a message"
unprefixed=$(grep -v '^<[0-7]>' "$CB_TMP/canaryd.log")
[ -z "$unprefixed" ] || fail "log lines without a priority: $unprefixed"
echo "journal: every line prefixed, e.g. $(head -1 "$CB_TMP/canaryd.log")"

# make install into a staging directory.
DEST=$CB_TMP/dest
make -s install DESTDIR="$DEST" PREFIX=/usr >/dev/null || fail "make install failed"
want="etc/canaryd/canaryd.ini.example
usr/bin/canaryctl
usr/bin/canary-webhook-receiver
$(for v in $B/versions/*.bpf.o; do echo "usr/lib/canaryd/versions/$(basename "$v")"; done)
usr/lib/systemd/system/canaryd.service
usr/sbin/canaryd
usr/share/bash-completion/completions/canaryctl
usr/share/doc/canaryd/DESIGN.md
usr/share/doc/canaryd/JUDGE.md
usr/share/doc/canaryd/README.md
usr/share/doc/canaryd/kubernetes.md
usr/share/doc/canaryd/webhook-receiver.md
usr/share/man/man1/canary-webhook-receiver.1
usr/share/man/man5/canaryd.ini.5
usr/share/man/man8/canaryctl.8
usr/share/man/man8/canaryd.8"
got=$(cd "$DEST" && find . -type f | sed 's|^\./||' | sort)
[ "$got" = "$(sort <<<"$want")" ] || fail "installed tree differs: $(diff <(sort <<<"$want") <(echo "$got"))"
[ -x "$DEST/usr/sbin/canaryd" ] && [ -x "$DEST/usr/bin/canaryctl" ] || fail "binaries not executable"
unit=$DEST/usr/lib/systemd/system/canaryd.service
grep -qx 'ExecStart=/usr/sbin/canaryd -c /etc/canaryd/canaryd.ini' "$unit" || fail "ExecStart not substituted"
grep -q '@PREFIX@' "$unit" && fail "@PREFIX@ left in the unit"
grep -qx 'Type=notify' "$unit" || fail "unit is not Type=notify"
# The example config points at the installed versions, and they exist.
for obj in $(sed -n 's/^stable = \([^:]*\).*/\1/p' "$DEST/etc/canaryd/canaryd.ini.example"); do
	[ -f "$DEST$obj" ] || fail "example config names $obj, not installed"
done
echo "make install: $(wc -l <<<"$got") files, unit ExecStart=/usr/sbin/canaryd"

# systemd-analyze verify on a copy whose ExecStart points into DESTDIR (the
# binary must exist); any warning counts as a failure. It runs man for each
# man: page of Documentation=: MANPATH is the staged tree's, so those are the
# pages make install put there.
mkdir -p "$CB_TMP/verify"
sed "s|^ExecStart=/usr/sbin/|ExecStart=$DEST/usr/sbin/|" "$unit" >"$CB_TMP/verify/canaryd.service"
out=$(MANPATH=$DEST/usr/share/man systemd-analyze verify "$CB_TMP/verify/canaryd.service" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"
# ...which it would say about a broken unit.
sed 's/^KillMode=/KillMod=/' "$CB_TMP/verify/canaryd.service" >"$CB_TMP/verify/broken.service"
[ -n "$(MANPATH=$DEST/usr/share/man systemd-analyze verify "$CB_TMP/verify/broken.service" 2>&1)" ] ||
	fail "systemd-analyze verify says nothing about an unknown key"
echo "systemd-analyze verify: clean"
exit 0
