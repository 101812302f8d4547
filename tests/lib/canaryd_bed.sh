# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# canaryd on the test bed (source tests/lib/testbed.sh first):
#
#   cb_create STEPS STEP_TIME INTERVAL   test bed, temp dir, config; sets CB_TMP, CTL
#   cb_traffic PPS                       firewall traffic: subnet A plus 20 % attack
#   cb_start_daemon                      canaryd in the DUT namespace; sets CB_DAEMON_PID
#   cb_wait_status IFACE EXPR SECS WHAT  poll status until a jq condition holds
#   fail MESSAGE                         print it and canaryd's log, exit 1
#
# Everything (namespaces, pins, temp dir, processes) goes on exit. Binaries
# and objects come from $B: $CANARY_BUILD (make SANITIZE=1 test: build-san/).


fail() {
	echo "FAIL: $*" >&2
	[ -f "${CB_TMP:-}/canaryd.log" ] && sed 's/^/  canaryd| /' "$CB_TMP/canaryd.log" >&2
	exit 1
}

cb_cleanup() {
	tb_cleanup
	rm -rf "$CB_PIN" "$CB_TMP"
}

cb_create() {
	CB_TMP=$(mktemp -d /tmp/canaryd-bed.XXXXXX)
	CB_PIN=/sys/fs/bpf/canaryd-bed-$$
	tb_create || return 1
	trap cb_cleanup EXIT
	cat >"$CB_TMP/canaryd.ini" <<INI
[daemon]
socket = $CB_TMP/canaryd.sock
pin_root = $CB_PIN
state_dir = $CB_TMP/state
interval = $3

[rollout]
steps = $1
step_time = $2
max_step_time = 60s
# A short baseline: the beds' traffic fills it in well under a second.
warmup = 1s
min_packets = 2000
breaker_budget = 1000

[interface $TB_DUT_IF]
mode = native
stable = $B/versions/fw_v1.bpf.o
INI
	CTL="$B/canaryctl --socket $CB_TMP/canaryd.sock"
}

# PPS packets/s over 65536 flows from subnet A (every version allows it) to a
# web server, 20 % of them attack traffic from subnet D (every version drops it).
cb_traffic() {
	tb_bg "$TB_GEN" $B/trafficgen --dev "$TB_GEN_IF" --pps "$1" --flows 65536 \
		--src 198.18.1.1 --dst 198.18.2.10 --attack-share 200 --attack-src 198.18.4.1 \
		>/dev/null
}

# cb_wait_status IFACE JQ_EXPR SECONDS WHAT: poll `canaryctl -j status IFACE`
# until the jq expression (on .interfaces[0]) is true; on the deadline print
# what was awaited and the last value of .versions, and return 1. Rates are
# null until canaryd has measured them, so "> N" waits for the measurement.
cb_wait_status() {
	local ifc=$1 expr=$2 secs=$3 what=$4 deadline last
	deadline=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		last=$($CTL -j status "$ifc" 2>/dev/null)
		jq -e ".interfaces[0] | $expr" >/dev/null 2>&1 <<<"$last" && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || break
		sleep 0.1
	done
	echo "timed out after ${secs}s waiting for $what ($expr); versions:" \
		"$(jq -c '.interfaces[0].versions | map_values({pps, packets})' <<<"$last" 2>/dev/null)" >&2
	return 1
}

cb_start_daemon() {
	tb_bg "$TB_DUT" $B/canaryd -c "$CB_TMP/canaryd.ini" >>"$CB_TMP/canaryd.log" 2>&1
	CB_DAEMON_PID=${TB_PIDS[-1]}
	for _ in $(seq 100); do
		[ -S "$CB_TMP/canaryd.sock" ] && $CTL status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "canaryd did not come up:" >&2
	cat "$CB_TMP/canaryd.log" >&2
	return 1
}

# The datapath as the kernel has it, read with bpftool from canaryd's pins
# (IFACE defaults to TB_DUT_IF):
#   cb_slot_id SLOT [IFACE]     program id in that ProgMap slot, 0 when empty
#   cb_pin_id NAME [IFACE]      id of the program pinned as NAME (stable,
#                               candidate, previous), 0 when none
#   cb_kernel_share [IFACE]     slot 1's share in basis points, from the
#                               installed struct canary_config
#   cb_kernel_seed [IFACE]      the flow-hash seed of the installed struct canary_config
#   cb_xdp_id [IFACE]           id of the XDP program attached to the interface
# (grep rather than jq: these run in loops, and jq is slow to start.)
cb_slot_id() {
	local id
	id=$(bpftool -j map dump pinned "$CB_PIN/${2:-$TB_DUT_IF}/canary_progs" 2>/dev/null |
		grep -o "\"formatted\":{\"key\":$1,\"value\":[0-9]*" | grep -o '[0-9]*$')
	echo "${id:-0}"
}

cb_pin_id() {
	local id
	id=$(bpftool -j prog show pinned "$CB_PIN/${2:-$TB_DUT_IF}/$1" 2>/dev/null |
		grep -o '^{"id":[0-9]*' | grep -o '[0-9]*$')
	echo "${id:-0}"
}

# jq: a bpftool -j hex byte array -> the little-endian u32 at byte OFF.
CB_JQ_LE32='def le32($o): .[$o:$o + 4] | map(ltrimstr("0x") | explode |
	map(if . >= 97 then . - 87 else . - 48 end) | .[0] * 16 + .[1]) |
	.[0] + .[1] * 256 + .[2] * 65536 + .[3] * 16777216;'

# cb_kernel_cfg JQ [IFACE]: JQ (with le32) on the installed struct
# canary_config's bytes: 4 x u32 (abi, flags, seed, cost mask), u64
# generation, then range[slot] {lo, hi}.
cb_kernel_cfg() {
	local inner out i
	# The inner map may be swapped (and freed) between the two reads: again.
	for i in 1 2 3 4 5; do
		inner=$(bpftool -j map dump pinned "$CB_PIN/${2:-$TB_DUT_IF}/canary_cfg" |
			jq "$CB_JQ_LE32 .[0].value | le32(0)")
		out=$(bpftool -j map dump id "$inner" 2>/dev/null |
			jq "$CB_JQ_LE32 .[0].value | $1" 2>/dev/null) && break
	done
	echo "$out"
}

cb_kernel_share() { cb_kernel_cfg 'le32(36) - le32(32)' "${1:-}"; }
cb_kernel_seed() { cb_kernel_cfg 'le32(8)' "${1:-}"; }

cb_xdp_id() {
	tb_dut ip -j link show "${1:-$TB_DUT_IF}" | jq '.[0].xdp.prog.id // 0'
}

# cb_gen NAME ARGS...: a trafficgen of the loss scenarios in the background,
# on CPU $CB_GEN_CPU (tb_gen_cpu), at $PPS over $FLOWS flows, 2 % attack,
# logging every flow it sends to $CB_TMP/tx.NAME for tb_flow_compare; its
# pid is appended to CB_GENS, its flow log to CB_GEN_LOGS.
CB_GENS=() CB_GEN_LOGS=()
cb_gen() {
	local name=$1
	shift
	tb_bg "$TB_GEN" taskset -c "$CB_GEN_CPU" $B/trafficgen --dev "$TB_GEN_IF" --pps "$PPS" \
		--flows "$FLOWS" --attack-share 200 --flow-log "$CB_TMP/tx.$name" -j "$@" \
		>"$CB_TMP/gen.$name.json" 2>"$CB_TMP/gen.$name.err"
	CB_GENS+=("${TB_PIDS[-1]}")
	CB_GEN_LOGS+=("$CB_TMP/tx.$name")
}

# cb_gen_stop: stop every cb_gen generator (each must exit 0), CB_SENT the
# frames they sent, then wait until the DUT's XDP receive counter stops moving
# (frames still in flight), at most 5 s.
cb_gen_stop() {
	local i n name prev=-1 cur
	CB_SENT=0
	for i in "${!CB_GENS[@]}"; do
		name=${CB_GEN_LOGS[$i]##*.}
		kill -INT "${CB_GENS[$i]}"
		wait "${CB_GENS[$i]}" || fail "trafficgen $name failed: $(cat "$CB_TMP/gen.$name.err")"
		n=$(jq -r .packets "$CB_TMP/gen.$name.json")
		echo "generator $name: $n frames, $(jq -r .pps "$CB_TMP/gen.$name.json") pps"
		CB_SENT=$((CB_SENT + n))
	done
	for _ in $(seq 100); do
		cur=$(tb_veth_stat "$TB_DUT" "$TB_DUT_IF" rx_queue_0_xdp_packets)
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.05
	done
}
