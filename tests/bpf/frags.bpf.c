// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A candidate built for multi-buffer frames: its frags flag differs from the dispatcher's. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp.frags")
int frags_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
