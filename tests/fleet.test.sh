#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fleet waves on Ansible: examples/fleet/rollout.yml, unchanged, drives five
# "hosts", each a pair of network namespaces with its own veth, traffic and
# canaryd (own socket, pin root, state dir), through an inventory with
# ansible_connection: local and per-host variables for the socket, the
# interface and the object directory. canaryctl only talks to the unix
# socket, so it needs no namespace. Waves (serial: 1, 10 %, 50 %, 100 % of 5
# hosts): h1 | h2 | h3 h4 | h5.
#
# Traffic: every host gets subnet A to the web servers (B) plus 20 % attack
# from D to B; h3 also gets attack traffic from D to a host outside B, which
# only rule 4 drops and fw_leaky's rule 4 passes: fw_leaky harms h3 alone.
#
#   good       fw_v2 over fw_v1 (pre-flight on a capture first): promoted on
#              every host, waves in order
#   preflight  fw_blackhole fails the pre-flight: no host is touched
#   rerun      fw_v2 again: every host is skipped (stable already), no rollout
#   bad        fw_blackhole: rolled back on the canary host h1; no other host
#              has a rollout
#   error      an operator's rollout in progress on h2: canaryctl start
#              exits 1 there; h1 reverted, h3-h5 never started
#   host3      fw_leaky with canary_fleet_revert=true: promoted on h1, h2,
#              h4 (h4 shares h3's wave), rolled back on h3, h5 never
#              started, then h1, h2, h4 reverted to fw_v1
set -u
cd "$(dirname "$0")/.."
B=${CANARY_BUILD:-$PWD/build}
N=5
FL_ID="fl$(printf '%x%02x' $$ $((RANDOM % 256)))"
FL_TMP=$(mktemp -d /tmp/canary-fleet.XXXXXX)
FL_PIDS=()
CTL=$B/canaryctl

command -v ansible-playbook >/dev/null ||
	{ echo "FAIL: ansible-playbook missing (scripts/install-deps.sh installs ansible-core)"; exit 1; }

fleet_down() {
	local p i
	for p in "${FL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${FL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	FL_PIDS=()
	for i in $(seq $N); do
		ip netns del "${FL_ID}g$i" 2>/dev/null
		ip netns del "${FL_ID}d$i" 2>/dev/null
		rm -rf "/sys/fs/bpf/canary-fleet-$$-$i"
	done
	return 0
}
cleanup() {
	fleet_down
	rm -rf "$FL_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	local i
	echo "FAIL: $*" >&2
	for i in $(seq $N); do
		[ -f "$FL_TMP/h$i/canaryd.log" ] && tail -n 15 "$FL_TMP/h$i/canaryd.log" | sed "s/^/  h$i canaryd| /" >&2
	done
	exit 1
}

sock() { echo "$FL_TMP/h$1/canaryd.sock"; }
dut_if() { echo "${FL_ID}d$1"; }
st() { $CTL --socket "$(sock "$1")" -j status "$(dut_if "$1")"; }

# A fresh fleet: N hosts on fw_v1, traffic flowing, canaryd up; the inventory.
fleet_up() {
	local i g d dir
	fleet_down
	rm -rf "$FL_TMP"/h*
	for i in $(seq $N); do
		g="${FL_ID}g$i" d="${FL_ID}d$i" dir=$FL_TMP/h$i
		mkdir -p "$dir/objects"
		ip netns add "$g" && ip netns add "$d" || return 1
		ip link add "$g" netns "$g" type veth peer name "$d" netns "$d" || return 1
		ip -n "$g" addr add 198.18.0.1/30 dev "$g"
		ip -n "$d" addr add 198.18.0.2/30 dev "$d"
		ip -n "$g" link set "$g" up
		ip -n "$d" link set "$d" up
		ip -n "$d" link set lo up
		cat >"$dir/canaryd.ini" <<INI
[daemon]
socket = $dir/canaryd.sock
pin_root = /sys/fs/bpf/canary-fleet-$$-$i
state_dir = $dir/state
interval = 200ms
metrics = off

[rollout]
steps = 50,100
step_time = 1s
# A baseline of a few seconds: the judge compares each stratum with its own
# past, which a one-second baseline at 50 kpps knows too poorly to promote.
warmup = 5s
max_step_time = 120s
min_packets = 2000
breaker_budget = 1000

# A test of the playbook, not of the judge: fewer false rollbacks of the
# verdict-identical rollouts (fw_v2, and fw_leaky off host 3); the bad
# candidates change a third or more of the verdicts and are still caught
# in a second or two.
[judge]
alpha = 0.001

[interface $d]
mode = native
stable = $B/versions/fw_v1.bpf.o
INI
		nsenter --net="/run/netns/$d" $B/canaryd -c "$dir/canaryd.ini" >>"$dir/canaryd.log" 2>&1 &
		FL_PIDS+=("$!")
		nsenter --net="/run/netns/$g" $B/trafficgen --dev "$g" --pps 20000 --flows 65536 \
			--src 198.18.1.1 --dst 198.18.2.10 --attack-share 200 --attack-src 198.18.4.1 \
			>/dev/null 2>&1 &
		FL_PIDS+=("$!")
		if [ "$i" = 3 ]; then
			nsenter --net="/run/netns/$g" $B/trafficgen --dev "$g" --pps 8000 --flows 65536 \
				--src 198.18.4.1 --dst 198.18.5.10 >/dev/null 2>&1 &
			FL_PIDS+=("$!")
		fi
	done
	for i in $(seq $N); do
		wait_host "$i" '.managed and .versions.stable.pps > 1000' 20 "canaryd up, traffic on stable" ||
			return 1
	done
	{
		echo "xdp_fleet:"
		echo "  hosts:"
		for i in $(seq $N); do
			echo "    h$i:"
			echo "      canary_socket: $(sock "$i")"
			echo "      canary_iface: $(dut_if "$i")"
			echo "      canary_object_dir: $FL_TMP/h$i/objects"
		done
		echo "  vars:"
		echo "    ansible_connection: local"
		echo "    ansible_python_interpreter: /usr/bin/python3"
		echo "    canary_ctl: $CTL"
		echo "    canary_steps: '50,100'"
		echo "    canary_step_time: 1s"
		echo "    canary_timeout: 300"
		echo "    canary_poll: 1"
	} >"$FL_TMP/inventory.yml"
}

# wait_host I JQ_EXPR SECS WHAT: poll host I's status until the expression
# (on .interfaces[0]) holds.
wait_host() {
	local deadline=$(($(date +%s) + $3)) last
	while :; do
		last=$(st "$1" 2>/dev/null)
		jq -e ".interfaces[0] | $2" >/dev/null 2>&1 <<<"$last" && return 0
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.2
	done
	echo "h$1: timed out after $3 s waiting for $4 ($2): $(jq -c '.interfaces[0] | {managed, stable, phase: .rollout.phase}' <<<"$last" 2>/dev/null)" >&2
	return 1
}

# play NAME ARGS...: run the playbook; its output goes to $FL_TMP/NAME.out,
# its exit code to $rc and its wall time to $secs.
play() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	ANSIBLE_CONFIG=$PWD/examples/fleet/ansible.cfg ANSIBLE_LOCAL_TEMP=$FL_TMP/ansible-local \
		ANSIBLE_REMOTE_TEMP=$FL_TMP/ansible-remote ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
		timeout 600 ansible-playbook -i "$FL_TMP/inventory.yml" examples/fleet/rollout.yml "$@" \
		>"$FL_TMP/$name.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
}

show_play() {
	sed 's/^/  ansible| /' "$FL_TMP/$1.out" >&2
}

# host_is I PHASE STABLE_BASENAME: the host's rollout phase (null: none) and
# the basename of its stable object.
host_is() {
	local s phase stable
	s=$(st "$1") || { echo "h$1: no status" >&2; return 1; }
	phase=$(jq -r '.interfaces[0].rollout.phase // "null"' <<<"$s")
	stable=$(jq -r '.interfaces[0].stable.object' <<<"$s")
	[ "$phase" = "$2" ] && [ "$(basename "$stable")" = "$3" ] && return 0
	echo "h$1: phase $phase, stable $stable; want $2, $3" >&2
	return 1
}

# summary_has NAME LINE...: each "hN: outcome" appears in the play's summary.
summary_has() {
	local name=$1 l
	shift
	for l in "$@"; do
		grep -q "\"$l" "$FL_TMP/$name.out" || { echo "summary lacks '$l'" >&2; return 1; }
	done
}

# A capture for the pre-flight, Ethernet: legitimate traffic (subnet A to B,
# UDP 443 and TCP 80) and attack (D to B, UDP 9).
write_pcap() {
	python3 - "$1" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(src, dst, proto, sport, dport):
    l4 = struct.pack("!HHHH", sport, dport, 8 + 18, 0) + b"x" * 18 if proto == 17 else \
         struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + l4
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
n = 0
for i in range(2000):
    if i % 5 == 0:  # attack: D to B, UDP 9 (every version drops it)
        f = frame([198, 18, 4, 1 + i % 200], [198, 18, 2, 10], 17, 1024 + i, 9)
    else:
        f = frame([198, 18, 1, 1 + i % 200], [198, 18, 2, 10], 6 if i % 3 == 0 else 17, 1024 + i,
                  80 if i % 3 == 0 else 443)
    out.write(struct.pack("<IIII", 1, i, len(f), len(f)) + f)
PY
}

scenario_good() {
	fleet_up || fail "good: cannot build the fleet"
	write_pcap "$FL_TMP/traffic.pcap" || fail "cannot write the capture"
	play good -e canary_candidate="$B/versions/fw_v2.bpf.o" -e canary_preflight_pcap="$FL_TMP/traffic.pcap"
	[ $rc -eq 0 ] || { show_play good; fail "good: ansible-playbook exited $rc, want 0"; }
	grep -q 'TASK \[canary_rollout : Pre-flight (canaryctl preflight)\]' "$FL_TMP/good.out" ||
		{ show_play good; fail "good: no pre-flight"; }
	for i in $(seq $N); do
		host_is "$i" promoted fw_v2.bpf.o || { show_play good; fail "good: h$i not promoted"; }
	done
	summary_has good "h1: promoted" "h2: promoted" "h3: promoted" "h4: promoted" "h5: promoted" ||
		{ show_play good; fail "good: summary"; }
	# Waves in order: each wave's rollout task names its hosts, 1 | 1 | 2 | 1.
	waves=$(awk '/^TASK \[canary_rollout : Canary rollout/ { t = 1; next }
		t && /^(changed|ok|fatal|failed):/ { gsub(/[\[\]:]/, "", $2); line = line " " $2; next }
		t && /^$/ && line != "" { print line; line = ""; t = 0 }' "$FL_TMP/good.out" | sed 's/^ //' |
		paste -sd '|')
	[ "$waves" = "h1|h2|h3 h4|h5" ] && [ -n "$waves" ] ||
		[ "$waves" = "h1|h2|h4 h3|h5" ] ||
		{ show_play good; fail "good: waves '$waves', want h1|h2|h3 h4|h5"; }
	per_host=$(for i in $(seq $N); do
		st "$i" | jq -r --arg h "h$i" '"\($h) \(.interfaces[0].rollout.elapsed_ms / 1000) s"'
	done | paste -sd ',' | sed 's/,/, /g')
	echo "good: fw_v2 promoted on all $N hosts in waves $waves, pre-flight passed ($secs s;" \
		"rollouts: $per_host; load $(cut -d' ' -f1-3 /proc/loadavg))"
}

scenario_preflight() {
	# The fleet of the good scenario (all on fw_v2): nothing may change.
	play preflight -e canary_candidate="$B/versions/fw_blackhole.bpf.o" \
		-e canary_preflight_pcap="$FL_TMP/traffic.pcap"
	[ $rc -ne 0 ] || { show_play preflight; fail "preflight: ansible-playbook exited 0"; }
	grep -q 'fatal: \[h1\]' "$FL_TMP/preflight.out" || { show_play preflight; fail "preflight: h1 not failed"; }
	grep -q 'TASK \[canary_rollout : Canary rollout' "$FL_TMP/preflight.out" &&
		{ show_play preflight; fail "preflight: a rollout started after a failed pre-flight"; }
	for i in $(seq $N); do
		host_is "$i" promoted fw_v2.bpf.o || fail "preflight: h$i changed"
	done
	echo "preflight: fw_blackhole failed the pre-flight (exit $rc), no host touched ($secs s)"
}

scenario_rerun() {
	# The fleet of the good scenario again: every host is already on fw_v2.
	local ids0 ids1
	ids0=$(for i in $(seq $N); do st "$i" | jq -r '.interfaces[0].rollout.id'; done)
	play rerun -e canary_candidate="$B/versions/fw_v2.bpf.o"
	[ $rc -eq 0 ] || { show_play rerun; fail "rerun: ansible-playbook exited $rc, want 0"; }
	ids1=$(for i in $(seq $N); do st "$i" | jq -r '.interfaces[0].rollout.id'; done)
	[ "$ids0" = "$ids1" ] || { show_play rerun; fail "rerun: a host got a new rollout"; }
	summary_has rerun "h1: already_stable" "h3: already_stable" "h5: already_stable" ||
		{ show_play rerun; fail "rerun: summary"; }
	echo "rerun: fw_v2 again, every host already stable on it, no new rollout ($secs s)"
}

scenario_bad() {
	fleet_up || fail "bad: cannot build the fleet"
	play bad -e canary_candidate="$B/versions/fw_blackhole.bpf.o"
	[ $rc -ne 0 ] || { show_play bad; fail "bad: ansible-playbook exited 0"; }
	host_is 1 rolled_back fw_v1.bpf.o || { show_play bad; fail "bad: h1 not rolled back"; }
	for i in $(seq 2 $N); do
		host_is "$i" null fw_v1.bpf.o || { show_play bad; fail "bad: h$i was touched"; }
	done
	summary_has bad "h1: rolled_back (exit 2)" "h2: not reached" "h5: not reached" ||
		{ show_play bad; fail "bad: summary"; }
	echo "bad: fw_blackhole rolled back on the canary host h1, h2-h$N have no rollout (exit $rc, $secs s)"
}

scenario_error() {
	# The fleet of the bad scenario (h1 rolled back, the others untouched),
	# with an operator's rollout in progress on h2: canaryctl start exits 1
	# there. fw_v2 with canary_fleet_revert=true: h1 promoted then reverted,
	# h2 an error (its own rollout left alone), h3-h5 never started.
	$CTL --socket "$(sock 2)" start "$(dut_if 2)" "$B/versions/fw_v2.bpf.o" --step-time 10m >/dev/null ||
		fail "error: cannot start the operator's rollout on h2"
	play error -e canary_candidate="$B/versions/fw_v2.bpf.o" -e canary_fleet_revert=true
	[ $rc -ne 0 ] || { show_play error; fail "error: ansible-playbook exited 0"; }
	host_is 1 aborted fw_v1.bpf.o || { show_play error; fail "error: h1 not reverted"; }
	host_is 2 progressing fw_v1.bpf.o || { show_play error; fail "error: h2's own rollout was touched"; }
	for i in $(seq 3 $N); do
		host_is "$i" null fw_v1.bpf.o || { show_play error; fail "error: h$i was touched"; }
	done
	summary_has error "h1: reverted" "h2: error (exit 1)" "h3: not reached" "h5: not reached" ||
		{ show_play error; fail "error: summary"; }
	echo "error: canaryctl start exited 1 on h2 (a rollout in progress), h1 reverted, h3-h$N never started (exit $rc, $secs s)"
}

scenario_host3() {
	fleet_up || fail "host3: cannot build the fleet"
	play host3 -e canary_candidate="$B/versions/fw_leaky.bpf.o" -e canary_fleet_revert=true
	[ $rc -ne 0 ] || { show_play host3; fail "host3: ansible-playbook exited 0"; }
	host_is 3 rolled_back fw_v1.bpf.o || { show_play host3; fail "host3: h3 not rolled back"; }
	for i in 1 2 4; do
		host_is "$i" aborted fw_v1.bpf.o || { show_play host3; fail "host3: h$i not reverted"; }
		jq -e '.interfaces[0].rollout.reason | test("reverted")' >/dev/null <<<"$(st "$i")" ||
			fail "host3: h$i's rollout ended otherwise than by a revert"
	done
	host_is 5 null fw_v1.bpf.o || { show_play host3; fail "host3: h5 was touched"; }
	summary_has host3 "h1: reverted" "h2: reverted" "h3: rolled_back (exit 2)" "h4: reverted" \
		"h5: not reached" || { show_play host3; fail "host3: summary"; }
	reason=$(jq -r '[.interfaces[0].rollout.tests[] | select(.decided) | "\(.metric)/\(.dir)"] | join(" ")' \
		<<<"$(st 3)")
	echo "host3: fw_leaky rolled back on h3 ($reason), h5 never started, h1 h2 h4 reverted to fw_v1 (exit $rc, $secs s)"
}

echo "ansible: $(ansible-playbook --version 2>/dev/null | sed -n 1p)"
# The example inventory parses, into the group the playbook targets.
hosts=$(ansible-inventory -i examples/fleet/inventory.example.yml --list 2>/dev/null |
	jq -r '.xdp_fleet.hosts | length') || hosts=0
[ "$hosts" -ge 2 ] || fail "examples/fleet/inventory.example.yml: group xdp_fleet has $hosts hosts"
ANSIBLE_CONFIG=$PWD/examples/fleet/ansible.cfg ansible-playbook --syntax-check \
	-i examples/fleet/inventory.example.yml examples/fleet/rollout.yml >/dev/null ||
	fail "examples/fleet/rollout.yml: syntax check"
scenario_good
scenario_preflight
scenario_rerun
scenario_bad
scenario_error
scenario_host3
echo "PASS"
