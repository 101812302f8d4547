# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Test bed: two network namespaces joined by a veth pair, both ends inside
# namespaces made here, unique names, removed on exit even after a failure.
#
#   . tests/lib/testbed.sh
#   tb_create            # sets TB_GEN, TB_DUT (namespaces), TB_GEN_IF, TB_DUT_IF
#   tb_gen CMD...        # run CMD in the generator's namespace
#   tb_dut CMD...        # run CMD in the device-under-test's namespace
#   tb_wait_rx MIN SECS  # wait for MIN packets received on TB_DUT_IF
#
# Commands run through nsenter --net, not ip netns exec: the latter gives a
# fresh mount namespace, and bpffs pins made under it vanish with it.
# Addresses: 198.18.0.0/15 and 2001:db8::/32 only.

# Binaries and objects: $CANARY_BUILD (make SANITIZE=1 test: build-san/), else build/.
B=${CANARY_BUILD:-$PWD/build}

TB_ID="cn$$$(printf '%04x' $((RANDOM)))"
TB_GEN="${TB_ID}g"
TB_DUT="${TB_ID}d"
TB_GEN_IF="${TB_ID}g0"
TB_DUT_IF="${TB_ID}d0"
TB_PIDS=()

tb_cleanup() {
	local p
	for p in "${TB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${TB_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$TB_GEN" 2>/dev/null
	ip netns del "$TB_DUT" 2>/dev/null
	return 0
}

tb_create() {
	trap 'tb_cleanup' EXIT
	trap 'exit 130' INT TERM
	ip netns add "$TB_GEN" && ip netns add "$TB_DUT" || return 1
	ip link add "$TB_GEN_IF" netns "$TB_GEN" type veth peer name "$TB_DUT_IF" netns "$TB_DUT" ||
		return 1
	ip -n "$TB_GEN" addr add 198.18.0.1/30 dev "$TB_GEN_IF"
	ip -n "$TB_DUT" addr add 198.18.0.2/30 dev "$TB_DUT_IF"
	ip -n "$TB_GEN" -6 addr add 2001:db8::1/64 dev "$TB_GEN_IF" nodad
	ip -n "$TB_DUT" -6 addr add 2001:db8::2/64 dev "$TB_DUT_IF" nodad
	ip -n "$TB_GEN" link set "$TB_GEN_IF" up
	ip -n "$TB_DUT" link set "$TB_DUT_IF" up
	ip -n "$TB_GEN" link set lo up
	ip -n "$TB_DUT" link set lo up
}

# tb_wait_rx MIN SECS: wait until the DUT interface has received MIN more
# packets (from /proc/net/dev, which follows the reader's namespace), for at
# most SECS seconds. Prints the packets seen and the seconds it took; 1 on
# the deadline. "Traffic flows" is a condition, not a time.
tb_wait_rx() {
	local min=$1 secs=$2 rx0 rx t0 now
	rx0=$(tb_dut awk -v d="$TB_DUT_IF:" '$1 == d { print $3 }' /proc/net/dev)
	t0=$(date +%s%N)
	while :; do
		sleep 0.05
		rx=$(tb_dut awk -v d="$TB_DUT_IF:" '$1 == d { print $3 }' /proc/net/dev)
		now=$(date +%s%N)
		if [ "$((rx - rx0))" -ge "$min" ]; then
			echo "$((rx - rx0)) $(awk -v n=$((now - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')"
			return 0
		fi
		[ $((now - t0)) -lt $((secs * 1000000000)) ] || break
	done
	echo "$((rx - rx0)) $secs"
	return 1
}

tb_gen() {
	nsenter --net="/run/netns/$TB_GEN" "$@"
}

tb_dut() {
	nsenter --net="/run/netns/$TB_DUT" "$@"
}

# Start CMD in the background in a namespace; its pid is killed on exit.
tb_bg() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" &
	TB_PIDS+=("$!")
}

# --- Counting helpers for the loss scenarios -------------------------------

# Keep the kernel's own packets (IPv6 router/neighbour solicitations, MLD)
# off the test veths, so their counters hold only generated frames. The
# generator's IPv6 frames are XDP frames: they need no IPv6 on the devices.
tb_quiet() {
	local ns dev
	for ns in "$TB_GEN:$TB_GEN_IF" "$TB_DUT:$TB_DUT_IF"; do
		dev=${ns#*:}
		nsenter --net="/run/netns/${ns%%:*}" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf."$dev".disable_ipv6=1 ||
			return 1
	done
}

# ethtool -S counter NAME of DEV in namespace NS: tb_veth_stat NS DEV NAME.
tb_veth_stat() {
	nsenter --net="/run/netns/$1" ethtool -S "$2" |
		awk -v k="$3:" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'
}

# Run CMD ARGS... every 0.1 s until it succeeds, for at most SECS seconds: a
# condition with a deadline (tb_until SECS CMD ARGS...); 1 at the deadline.
tb_until() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Wait up to SECONDS (default 10) for a line equal to LINE in FILE while PID
# lives: tb_wait_line FILE LINE PID [SECONDS].
tb_wait_line() {
	local file=$1 line=$2 pid=$3
	for _ in $(seq $((${4:-10} * 10))); do
		grep -qx "$line" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# build/flowcount at TC ingress of the DUT veth (after XDP: it counts what
# XDP passed). Per-flow counts go to FILE and its summary to FILE.json when
# tb_flowcount_stop is called. Sets TB_FC_PID.
tb_flowcount_start() {
	TB_FC_OUT=$1
	tb_bg "$TB_DUT" $B/flowcount --dev "$TB_DUT_IF" --out "$1" -j >"$1.json" 2>"$1.err"
	TB_FC_PID=${TB_PIDS[-1]}
	tb_wait_line "$1.json" ready "$TB_FC_PID" || { cat "$1.err" >&2; return 1; }
}

tb_flowcount_stop() {
	kill -INT "$TB_FC_PID" && wait "$TB_FC_PID" || { cat "$TB_FC_OUT.err" >&2; return 1; }
	tail -n +2 "$TB_FC_OUT.json" >"$TB_FC_OUT.sum"
}

# Compare frames sent per flow (trafficgen --flow-log files: key, frames,
# legit|attack) with frames received per flow (flowcount --out: key,
# packets): tb_flow_compare RX TX... prints key=value pairs:
#   legit_flows legit_sent legit_rcvd lost lost_flows gained_flows
#   attack_sent attack_rcvd stray_rcvd (received on keys no generator sent)
tb_flow_compare() {
	awk 'FILENAME == ARGV[1] { r[$1 " " $2 " " $3 " " $4 " " $5] += $6; next }
	     { k = $1 " " $2 " " $3 " " $4 " " $5; s[k] += $6; kind[k] = $7 }
	     END {
		for (k in s) {
			got = (k in r) ? r[k] : 0
			if (kind[k] == "legit") {
				lf++; ls += s[k]; lr += got
				if (got < s[k]) { lost += s[k] - got; lostf++ }
				if (got > s[k]) gainf++
			} else {
				as += s[k]; ar += got
			}
		}
		for (k in r)
			if (!(k in s))
				stray += r[k]
		printf "legit_flows=%d legit_sent=%.0f legit_rcvd=%.0f lost=%.0f lost_flows=%d ", lf, ls, lr, lost, lostf
		printf "gained_flows=%d attack_sent=%.0f attack_rcvd=%.0f stray_rcvd=%.0f\n", gainf, as, ar, stray
	     }' "$@"
}

# The first CPU this shell may run on. Generators started with
# taskset -c "$(tb_gen_cpu)" take turns on one CPU, so the DUT's NAPI poll,
# which runs on that CPU after each batch, drains the veth ring between them;
# on two CPUs at once they overflow its 256 slots.
tb_gen_cpu() {
	taskset -pc $$ | sed 's/.*: *//; s/[,-].*//'
}

# Dispatcher counters (dpctl -j JSON in FILE, summed over rows and classes)
# as key=value pairs: packets pass drop aborted invalid tx redirect none
# (packets no version handled) fallback unparsed.
tb_dp_summary() {
	jq -r '[.rows[][]] as $c | def s(f): [$c[] | f] | add;
		"packets=\(s(.packets)) pass=\(s(.verdict.pass)) drop=\(s(.verdict.drop)) " +
		"aborted=\(s(.verdict.aborted)) invalid=\(s(.verdict.invalid)) " +
		"tx=\(s(.verdict.tx)) redirect=\(s(.verdict.redirect)) " +
		"none=\([.rows.none[].packets] | add) fallback=\(s(.fallback)) " +
		"unparsed=\([.rows[].unparsed.packets] | add)"' "$1"
}

# The loss accounting of one run, all exact, printed as it goes:
#   tb_loss_check SENT XDP XERR DP_AFTER DP_BEFORE RX TX...
# SENT frames the generators sent, XDP frames the DUT veth ran through XDP,
# XERR the generator veth's xmit errors (ring full: dropped before any XDP
# program, not by a swap), DP_* dpctl -j counters (DP_BEFORE may be "" for
# zero), RX flowcount --out, TX trafficgen --flow-log files. Checks:
#   SENT == XDP + XERR; dispatcher packets == XDP; none handled by no
#   version, no fallback, no aborted/invalid verdict; PASS verdicts ==
#   packets flowcount received; every legit flow received what it was sent;
#   no attack packet passed; and XERR == 0. Frames the ring drops are lost
#   before XDP, whatever the versions do, and they hit legit and attack
#   frames alike: with any, a legit frame missing at flowcount could be the
#   ring's or a wrong DROP, and no counter tells which. So a run with ring
#   drops proves nothing per flow and fails (they are still reported apart);
#   generators pinned to one CPU (tb_gen_cpu) leave the ring none.
# Sets TB_PACKETS (dispatcher packets in the run). Returns 1 on a failure,
# with the reason on stderr.
tb_loss_check() {
	local sent=$1 xdp=$2 xerr=$3 after=$4 before=$5 rx=$6 k v rcvd
	shift 6
	local -A d=()
	while IFS='=' read -r k v; do d[$k]=$v; done < <(tb_dp_summary "$after" | tr ' ' '\n')
	if [ -n "$before" ]; then
		while IFS='=' read -r k v; do
			d[$k]=$((d[$k] - v))
		done < <(tb_dp_summary "$before" | tr ' ' '\n')
	fi
	local legit_flows legit_sent legit_rcvd lost lost_flows gained_flows attack_sent
	local attack_rcvd stray_rcvd
	eval "$(tb_flow_compare "$rx" "$@")"
	rcvd=$(awk '{ n += $6 } END { printf "%.0f", n }' "$rx")
	TB_PACKETS=${d[packets]}
	echo "veth: generators sent $sent, DUT XDP saw $xdp, xmit errors (ring full, before XDP) $xerr"
	echo "dispatcher: packets ${d[packets]}, pass ${d[pass]}, drop ${d[drop]}," \
		"aborted ${d[aborted]}, invalid ${d[invalid]}, none ${d[none]}, fallback ${d[fallback]}"
	echo "per flow: $legit_flows legit flows, sent $legit_sent, received $legit_rcvd," \
		"lost $lost in $lost_flows flows; attack sent $attack_sent, received $attack_rcvd;" \
		"flowcount total $rcvd"
	_tb_bad() { echo "$*" >&2; return 1; }
	[ "$sent" -eq $((xdp + xerr)) ] ||
		_tb_bad "sent $sent != XDP saw $xdp + xmit errors $xerr: frames vanished on the veth" ||
		return 1
	[ "${d[packets]}" -eq "$xdp" ] ||
		_tb_bad "dispatcher counted ${d[packets]} packets, XDP saw $xdp" || return 1
	[ "${d[none]}" -eq 0 ] || _tb_bad "${d[none]} packets handled by no version" || return 1
	[ "${d[fallback]}" -eq 0 ] ||
		_tb_bad "${d[fallback]} packets fell back to stable (slot empty under a share)" ||
		return 1
	[ "${d[aborted]}" -eq 0 ] && [ "${d[invalid]}" -eq 0 ] ||
		_tb_bad "aborted ${d[aborted]}, invalid ${d[invalid]} verdicts" || return 1
	[ $((d[pass] + d[drop])) -eq "${d[packets]}" ] ||
		_tb_bad "pass ${d[pass]} + drop ${d[drop]} != packets ${d[packets]}" || return 1
	[ "${d[pass]}" -eq "$rcvd" ] ||
		_tb_bad "dispatcher passed ${d[pass]} packets, flowcount received $rcvd" || return 1
	[ "$stray_rcvd" -eq 0 ] ||
		_tb_bad "$stray_rcvd packets received on flows no generator sent" || return 1
	[ "$attack_rcvd" -eq 0 ] || _tb_bad "$attack_rcvd attack packets passed" || return 1
	[ "$gained_flows" -eq 0 ] ||
		_tb_bad "$gained_flows flows received more than they were sent" || return 1
	[ "$xerr" -eq 0 ] ||
		_tb_bad "the veth ring dropped $xerr frames before XDP (generators on several" \
			"CPUs at once?): per-flow loss cannot be told from them" || return 1
	[ "$lost" -eq 0 ] || _tb_bad "$lost legit packets lost in $lost_flows flows" || return 1
	[ "$legit_sent" -gt 0 ] || _tb_bad "no legit packet was sent" || return 1
}
