#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Webhooks end to end, live traffic on a veth pair in namespaces made here,
# with build/webhook_receiver as the endpoint (in the DUT namespace, on lo):
#  - signed bodies: the signature checks with the secret, not with another;
#    schema_version, ids, shares, SHA-256 of both objects, metadata present;
#    event ids unique per event, the same on every retry of one event;
#  - a step gate answering 403 holds the rollout at its share (status and
#    canaryctl show the gate) until it answers 200; the promote gate then passes;
#  - a gate answering 5xx beyond its retries rolls back (on_failure =
#    rollback) or holds, paused at the gate (on_failure = hold);
#  - dead endpoints (no listener; a listener that never answers) never stall
#    the counter reads: status keeps changing at the interval, traffic flows;
#  - a config reload while a gate waits asks it again at the new URL;
#  - the interface removed during a rollout: the rollout fails through the
#    engine, so the failed notification is sent and counted in
#    canary_decisions_total;
#  - the history names who decided: the gate, an operator's uid/pid, canaryd.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

SECRET=webhook-test-secret
cb_create 5,50,100 1s 200ms || fail "cannot create the test bed"
cp "$CB_TMP/canaryd.ini" "$CB_TMP/base.ini"
printf '%s\n' "$SECRET" >"$CB_TMP/secret"
chmod 600 "$CB_TMP/secret"
LOG=$CB_TMP/hooks.jsonl
CONTROL=$CB_TMP/control
: >"$CONTROL"

# The interface's webhook list, then [webhook] sections from stdin.
configure() {
	{ cat "$CB_TMP/base.ini"; echo "webhook = $1"; cat; } >"$CB_TMP/canaryd.ini"
}
reload() {
	kill -HUP "$CB_DAEMON_PID"
	for _ in $(seq 50); do
		[ "$(grep -c 'reloaded' "$CB_TMP/canaryd.log")" -gt "${reloads:-0}" ] && break
		sleep 0.1
	done
	reloads=$(grep -c 'reloaded' "$CB_TMP/canaryd.log")
}
status() { $CTL -j status "$TB_DUT_IF"; }
# Wait up to $1 s for the jq expression $2 on the status to be true.
wait_for() {
	local i
	for i in $(seq $(($1 * 10))); do
		status | jq -e ".interfaces[0] | $2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
hooks() { jq -c "select($1)" "$LOG"; }

configure gate <<INI
[webhook gate]
url = http://127.0.0.1:8080/canary
gates = step,promote
secret_file = $CB_TMP/secret
timeout = 1s
retries = 2
backoff = 100ms
on_failure = hold
metadata.team = netops
metadata.ticket = CHG-42
INI
cb_traffic 100000
tb_bg "$TB_DUT" $B/webhook_receiver --port 8080 --log "$LOG" --secret-file "$CB_TMP/secret" \
	--control "$CONTROL" --answer started=500x2,200 >/dev/null
cb_start_daemon || fail "canaryd did not come up"

# ---- a step gate that says "not yet", then yes; the promote gate says yes.
echo "gate.step=403" >"$CONTROL"
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "start refused"
wait_for 30 '.rollout.gate.name == "step"' || { status; fail "no wait on gate step"; }
sleep 2
s=$(status)
echo "$s" | jq -e '.interfaces[0].rollout | .step == 1 and .share_pct == 5 and .phase == "progressing"' \
	>/dev/null || { echo "$s"; fail "a 403 gate did not hold the rollout at step 1 (5 %)"; }
$CTL status "$TB_DUT_IF" | grep -q "waiting for gate step" ||
	{ $CTL status "$TB_DUT_IF"; fail "canaryctl status does not show the gate"; }
asks=$(hooks '.event == "gate.step"' | wc -l)
ids=$(hooks '.event == "gate.step"' | jq -r '.headers["Idempotency-Key"]' | sort -u | wc -l)
[ "$asks" -ge 5 ] && [ "$ids" -eq 1 ] ||
	fail "gate step asked $asks times with $ids event ids; want >= 5 asks (every 200 ms), one id"
# Each re-ask carries the rollout as it is then (fresh counters and time),
# under the same event id, signed anew (every signature is checked below).
bodies=$(hooks '.event == "gate.step"' | jq -r '.body.time_ms' | sort -u | wc -l)
[ "$bodies" -ge $((asks - 1)) ] ||
	fail "gate step re-asked $asks times with only $bodies distinct bodies; want a fresh one each time"
n=$(grep -c "gate step not yet (HTTP 403)" "$CB_TMP/canaryd.log")
[ "$n" -eq 1 ] || fail "a held gate logged 'not yet' $n times; want once, when it starts"
echo "gate step held at 5 % for 2 s: asked $asks times (403), one event id, $bodies fresh bodies, logged once"
echo "gate.step=200" >"$CONTROL"
timeout 60 $CTL -j status "$TB_DUT_IF" --watch >"$CB_TMP/wait1.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$CB_TMP/wait1.out"; status; fail "released gate: wait exited $rc, want 0 (promoted)"; }
hooks '.event == "gate.promote" and .status == 200' | grep -q . || fail "gate promote never asked"

# Signatures: valid with the secret, and a wrong secret is detected.
[ "$(hooks '.signature_ok != true' | wc -l)" -eq 0 ] || fail "a request with a bad signature"
line=$(hooks '.event == "promoted"' | head -1)
[ -n "$line" ] || fail "no promoted notification"
raw=$(echo "$line" | jq -j .raw)
sig=$(echo "$line" | jq -r '.headers["X-Canary-Signature"]')
good=$(printf '%s' "$raw" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')
bad=$(printf '%s' "$raw" | openssl dgst -sha256 -hmac "not-$SECRET" | awk '{print $NF}')
[ "$sig" = "sha256=$good" ] || fail "signature $sig is not HMAC-SHA256(secret, body) $good"
[ "$sig" != "sha256=$bad" ] || fail "a wrong secret gives the same signature"
echo "signatures: HMAC-SHA256 of the body checks with the secret (openssl), not with another"

# Body contents.
echo "$line" | jq -e --arg c "$(sha256sum $B/versions/fw_v2.bpf.o | cut -d' ' -f1)" \
	--arg s "$(sha256sum $B/versions/fw_v1.bpf.o | cut -d' ' -f1)" --arg i "$TB_DUT_IF" '.body |
	.schema_version == 1 and .type == "notification" and .event == "promoted" and
	.interface == $i and .phase == "promoted" and (.rollout_id | startswith($i)) and
	.candidate.sha256 == $c and .stable.sha256 == $c and .previous.sha256 == $s and
	.shares_pct == [5, 50, 100] and
	.metadata == {"team": "netops", "ticket": "CHG-42"} and (.totals.candidate_packets > 0) and
	(.counters.candidate.packets > 0) and (.tests | type == "array")' >/dev/null ||
	{ echo "$line" | jq .body; fail "promoted body lacks a field"; }
echo "$line" | jq -e '.body | .event_id == .rollout_id + "-" + (.event_id | split("-") | last) and
	(.candidate.sha256 | length) == 64 and (.verdict | length) > 0' >/dev/null ||
	{ echo "$line" | jq .body; fail "event id or evidence malformed"; }

# Event ids: one per event, repeated on retries. "started" got 500, 500, 200.
started=$(hooks '.event == "started"')
[ "$(echo "$started" | wc -l)" -eq 3 ] || { echo "$started"; fail "started: want 3 tries (500, 500, 200)"; }
[ "$(echo "$started" | jq -r '.headers["Idempotency-Key"]' | sort -u | wc -l)" -eq 1 ] ||
	fail "a retried event changed its id"
[ "$(echo "$started" | jq -r '.headers["X-Canary-Attempt"]' | tr '\n' ' ')" = "1 2 3 " ] ||
	fail "attempt numbers not 1 2 3"
[ "$(echo "$started" | jq -r .raw | sort -u | wc -l)" -eq 1 ] || fail "a retry changed the body"
distinct=$(jq -r 'select(.status < 300) | .headers["Idempotency-Key"]' "$LOG" | sort | uniq -d | wc -l)
[ "$distinct" -eq 0 ] || fail "two answered events share an id"
echo "event ids: $(jq -r '.headers["Idempotency-Key"]' "$LOG" | sort -u | wc -l) events in \
$(wc -l <"$LOG") requests; 'started' retried twice with one id and one body"

# ---- 5xx beyond the retries: on_failure = rollback rolls back.
configure gate <<INI
[webhook gate]
url = http://127.0.0.1:8080/canary
gates = step
secret_file = $CB_TMP/secret
timeout = 1s
retries = 2
backoff = 100ms
on_failure = rollback
INI
reload
echo "gate.step=503" >"$CONTROL"
timeout 60 $CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o --wait >"$CB_TMP/rb.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$CB_TMP/rb.out"; fail "503 gate with on_failure=rollback: exit $rc, want 2"; }
status | jq -e '.interfaces[0].rollout.reason | test("gate step failed \\(HTTP 503 after 2 retries\\); rolled back")' \
	>/dev/null || { status; fail "rollback reason does not name the gate"; }
id=$(hooks '.event == "gate.step" and .status == 503' | tail -1 | jq -r '.headers["Idempotency-Key"]')
[ "$(hooks ".headers[\"Idempotency-Key\"] == \"$id\"" | wc -l)" -eq 3 ] ||
	fail "gate with retries = 2 was not asked exactly 3 times"
echo "503 gate, on_failure = rollback: rolled back after 1 + 2 tries"

# ---- the same with on_failure = hold: paused at the gate, then aborted.
sed -i 's/on_failure = rollback/on_failure = hold/' "$CB_TMP/canaryd.ini"
reload
$CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o >/dev/null || fail "start refused"
wait_for 30 '.rollout.phase == "paused" and .rollout.gate.name == "step"' ||
	{ status; fail "503 gate with on_failure=hold did not pause at the gate"; }
sleep 1
status | jq -e '.interfaces[0].rollout | .phase == "paused" and .step == 1 and .gate.asking == false' \
	>/dev/null || { status; fail "held gate moved on or kept asking"; }
$CTL abort "$TB_DUT_IF" >/dev/null || fail "abort refused while held at a gate"
wait_for 5 '.rollout.phase == "aborted" and .rollout.gate == null' || fail "abort at a gate"
echo "503 gate, on_failure = hold: paused at gate step; abort still works"

# ---- dead endpoints: no listener, and a listener that never answers.
tb_bg "$TB_DUT" $B/webhook_receiver --port 8081 --blackhole >/dev/null
configure "refused, silent" <<INI
[webhook refused]
url = http://127.0.0.1:8089/nobody
retries = 20
backoff = 10ms
[webhook silent]
url = http://127.0.0.1:8081/never
gates = step
timeout = 2s
retries = 20
backoff = 100ms
INI
reload
$CTL start "$TB_DUT_IF" $B/versions/fw_v1.bpf.o >/dev/null || fail "start refused"
wait_for 30 '.rollout.gate.name == "step"' || { status; fail "no wait on the silent gate"; }
prev="" changes=0 slow=0 worst=0
for _ in $(seq 30); do
	t0=$(date +%s%N)
	cur=$(status | jq -c '.interfaces[0] | [.versions.stable.packets, .read_interval_ms]')
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -gt 1000 ] && slow=$((slow + 1))
	[ "${cur%,*}" != "${prev%,*}" ] && changes=$((changes + 1))
	gap=$(echo "$cur" | jq '.[1]')
	[ "$gap" -gt "$worst" ] && worst=$gap
	prev=$cur
	sleep 0.2
done
pps=$(status | jq '.interfaces[0].versions.stable.pps | floor')
# 30 reads 200 ms apart against an interval of 200 ms: nearly all see new
# counters, and no two counter reads lie much more than the interval apart
# (a request blocking the loop would show its 2 s timeout here).
[ "$changes" -ge 20 ] && [ "$slow" -eq 0 ] && [ "$worst" -le 400 ] ||
	fail "dead webhooks stalled the daemon: counters changed $changes of 30 reads, \
$slow replies slower than 1 s, longest gap between counter reads $worst ms"
awk -v p="$pps" 'BEGIN{exit !(p > 1000)}' || fail "traffic stalled ($pps pps)"
grep -q "webhook refused: .*Couldn't connect\|webhook refused: .*Connection refused\|webhook refused: .*Failed to connect" \
	"$CB_TMP/canaryd.log" || fail "no log line for the refused endpoint"
status | jq -e '.interfaces[0].rollout.phase == "progressing"' >/dev/null || fail "rollout left its gate"
echo "dead endpoints: counters changed on $changes of 30 status reads 200 ms apart, \
longest gap between counter reads $worst ms (interval 200 ms), stable at $pps pps"

# ---- SIGHUP while a gate is being asked: asked again at the new URL.
LOG2=$CB_TMP/hooks2.jsonl
tb_bg "$TB_DUT" $B/webhook_receiver --port 8082 --log "$LOG2" >/dev/null
configure "silent" <<INI
[webhook silent]
url = http://127.0.0.1:8082/fixed
gates = step
timeout = 2s
INI
reload
wait_for 30 '.rollout.phase == "promoted"' ||
	{ status; fail "a gate fixed by SIGHUP was not asked again at its new URL"; }
grep '"event":"gate.step"' "$LOG2" | grep -q '"status":200' ||
	{ cat "$LOG2"; fail "the new endpoint never saw the step gate"; }
echo "SIGHUP while a gate waited on a silent endpoint: asked again at the new URL, promoted"
# ---- a restart while the rollout waits at its start gate: it still waits
# (slot 1 empty, share 0 is how a gated start looks), the gate is asked
# again, and the rollout goes on when it says yes: not a false "rolled back".
echo "gate.start=403" >"$CONTROL"
configure gate <<INI
[webhook gate]
url = http://127.0.0.1:8080/canary
gates = start
timeout = 1s
INI
reload
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start the gated rollout"
wait_for 30 '.rollout.gate.name == "start"' || { status; fail "no wait on gate start"; }
kill -TERM "$CB_DAEMON_PID"
for _ in $(seq 100); do kill -0 "$CB_DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CB_DAEMON_PID" 2>/dev/null && fail "canaryd did not stop on SIGTERM"
cb_start_daemon || fail "canaryd did not come back"
reloads=0
wait_for 30 '.rollout.gate.name == "start"' || { status; fail "after a restart, the rollout no longer waits at gate start"; }
status | jq -e '.interfaces[0].rollout.phase == "progressing"' >/dev/null ||
	{ status; fail "a restart at the start gate ended the rollout"; }
[ "$(cb_kernel_share)" -eq 0 ] || fail "share $(cb_kernel_share) bp before the start gate passed"
echo "gate.start=200" >"$CONTROL"
wait_for 30 '.rollout.phase == "promoted"' ||
	{ status; fail "the start gate answered yes after a restart: not promoted"; }
echo "restart at the start gate: still waiting after it (share 0), promoted once the gate said yes"
# ---- the interface removed mid-rollout: the failed webhook, counted.
LOG3=$CB_TMP/hooks3.jsonl
tb_bg "$TB_DUT" $B/webhook_receiver --port 8083 --log "$LOG3" >/dev/null
configure "notes" <<INI
[webhook notes]
url = http://127.0.0.1:8083/events
events = started,failed
timeout = 1s
INI
reload
$CTL start "$TB_DUT_IF" $B/versions/fw_v2.bpf.o --step-time 600s >/dev/null || fail "start refused"
wait_for 10 '.rollout.phase == "progressing"' || { status; fail "the rollout did not start"; }
for _ in $(seq 50); do
	grep -q '"event":"started"' "$LOG3" 2>/dev/null && break
	sleep 0.1
done
grep -q '"event":"started"' "$LOG3" || fail "the notification endpoint never saw started"
failed_before=$(tb_dut curl -s -m 2 http://127.0.0.1:9464/metrics |
	awk -v k="canary_decisions_total{interface=\"$TB_DUT_IF\",decision=\"failed\"}" \
	'$1 == k { print $2 }')
ip -n "$TB_DUT" link del "$TB_DUT_IF" || fail "cannot remove $TB_DUT_IF"
for _ in $(seq 100); do
	grep -q '"event":"failed"' "$LOG3" && break
	sleep 0.1
done
body=$(grep '"event":"failed"' "$LOG3" | head -1)
[ -n "$body" ] || { cat "$LOG3"; fail "no failed notification after the interface was removed"; }
jq -e '.body | .phase == "failed" and .event == "failed" and
	(.reason | test("interface was removed"))' <<<"$body" >/dev/null ||
	{ echo "$body"; fail "failed notification: want phase failed, the reason"; }
failed_after=$(tb_dut curl -s -m 2 http://127.0.0.1:9464/metrics |
	awk -v k="canary_decisions_total{interface=\"$TB_DUT_IF\",decision=\"failed\"}" \
	'$1 == k { print $2 }')
[ "${failed_after:-0}" -eq $((${failed_before:-0} + 1)) ] ||
	fail "canary_decisions_total failed: ${failed_before:-0} -> ${failed_after:-0}, want one more"
echo "interface removed mid-rollout: failed notification sent, canary_decisions_total{failed} \
${failed_before:-0} -> $failed_after"

# The history names who decided: the gate, an operator (uid/pid), canaryd itself.
H=$($B/canaryctl -j history "$TB_DUT_IF" --state-dir "$CB_TMP/state") || fail "history: $H"
hist() { jq -e "$1" <<<"$H" >/dev/null || { jq -c '[.rollouts[] | {outcome, decided_by}]' <<<"$H"; fail "history: $2"; }; }
hist 'any(.rollouts[]; .outcome == "rolled_back" and .decided_by == "gate" and
	(.reason | test("gate step failed")))' "the 503 gate's rollback is not decided by the gate"
hist 'any(.rollouts[]; .outcome == "aborted" and (.decided_by | test("^uid=[0-9]+ pid=[0-9]+$")))' \
	"the abort at the held gate is not decided by a client"
hist '.rollouts[-1] | .outcome == "failed" and .decided_by == "canaryd"' \
	"the interface's removal is not decided by canaryd"
echo "history: $(jq -c '[.rollouts[] | "\(.outcome) by \(.decided_by)"]' <<<"$H")"
exit 0
