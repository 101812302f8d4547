// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A version whose "conn_table" has another definition: it must stay private. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} conn_table SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&conn_table, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}
