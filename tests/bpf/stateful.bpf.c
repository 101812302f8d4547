// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Versions with state: each counts packets in a map named "conn_table". */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* stateful_other.bpf.c builds this file with another table size. */
#ifndef CONN_TABLE_ENTRIES
#define CONN_TABLE_ENTRIES 4
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CONN_TABLE_ENTRIES);
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
