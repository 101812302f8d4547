// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Versions for the pre-flight test (tests/test_preflight.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A load balancer's move: same verdict as ret_tx, but the MACs are swapped. */
SEC("xdp")
int swap_macs(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;
	unsigned char *end = (unsigned char *)(long)ctx->data_end;
	unsigned char t;
	int i;

	if (data + 12 > end)
		return XDP_DROP;
	for (i = 0; i < 6; i++) {
		t = data[i];
		data[i] = data[i + 6];
		data[i + 6] = t;
	}
	return XDP_TX;
}

/* Built for multi-buffer frames: the dispatcher's ProgMap can't take it. */
SEC("xdp.frags")
int frags_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Not XDP at all. */
SEC("tc")
int not_xdp(struct __sk_buff *skb)
{
	return 0;
}

/* XDP, but for a devmap entry: another attach type than the dispatcher's. */
SEC("xdp/devmap")
int devmap_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
