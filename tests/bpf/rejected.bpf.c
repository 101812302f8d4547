// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A candidate the verifier must refuse: it reads the packet without a bounds check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int unchecked_read(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;

	return data[20] == 6 ? XDP_DROP : XDP_PASS;
}
