// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Stable version: the four-rule firewall of fw_common.h as it stands. */
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC(CANARY_XDP_SEC)
int fw_v1(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
