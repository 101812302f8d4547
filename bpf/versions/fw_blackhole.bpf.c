// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BAD version: v1 with rule 1 inverted. Subnet A, which must always be
 * allowed, is dropped: the whole subnet is black-holed.
 */
#define FW_SUBNET_A_VERDICT XDP_DROP
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int fw_blackhole(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
