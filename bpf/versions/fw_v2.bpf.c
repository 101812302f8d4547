// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Correct v2: the v1 rules plus one, UDP 443 (QUIC) to the web servers in
 * subnet B is allowed for every source.
 */
#define FW_ALLOW_QUIC 1
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC(CANARY_XDP_SEC)
int fw_v2(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
