// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BAD version: v1, except it returns XDP_ABORTED for every TCP/UDP/SCTP flow
 * whose source port has (sport & 0x3f) == 0x2a: 1 flow in 64 is
 * deterministically aborted.
 */
#define FW_ABORT_SPORT 1
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int fw_aborts(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
