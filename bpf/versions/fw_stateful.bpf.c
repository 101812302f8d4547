// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * STATEFUL version, for the shadow step: v1's rules, but of every flow that
 * v1 passes, every 2nd packet is dropped. Its verdict depends on the
 * per-flow count it keeps in fw_flow_seen, so a replay out of its context
 * (a fresh copy of the map, packets in another order) gives other verdicts
 * than the live run: the shadow step shows low fidelity for it.
 */
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct canary_flow);
	__type(value, __u64);
} fw_flow_seen SEC(".maps");

SEC("xdp")
int fw_stateful(struct xdp_md *ctx)
{
	struct canary_flow fl = {};
	__u64 one = 1, *n;
	int verdict = fw_run(ctx);

	if (verdict != XDP_PASS || canary_parse(ctx, &fl) < 0)
		return verdict;
	n = bpf_map_lookup_elem(&fw_flow_seen, &fl);
	if (!n) {
		bpf_map_update_elem(&fw_flow_seen, &fl, &one, BPF_ANY);
		return XDP_PASS;
	}
	return __sync_fetch_and_add(n, 1) & 1 ? XDP_PASS : XDP_DROP;
}
