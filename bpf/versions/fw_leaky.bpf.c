// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BAD version: v1, except rule 4 passes instead of drops for sources in the
 * "attack" subnet 198.18.4.0/24 and 2001:db8:4::/48, letting through traffic
 * that stable drops.
 */
#define FW_LEAK_SUBNET_D 1
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int fw_leaky(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
