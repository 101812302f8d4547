# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Test bed: two network namespaces joined by a veth pair, both ends inside
# namespaces made here, unique names, removed on exit even after a failure.
#
#   . tests/lib/testbed.sh
#   tb_create            # sets TB_GEN, TB_DUT (namespaces), TB_GEN_IF, TB_DUT_IF
#   tb_gen CMD...        # run CMD in the generator's namespace
#   tb_dut CMD...        # run CMD in the device-under-test's namespace
#
# Commands run through nsenter --net, not ip netns exec: the latter gives a
# fresh mount namespace, and bpffs pins made under it vanish with it.
# Addresses: 198.18.0.0/15 and 2001:db8::/32 only.

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
