// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BAD version: v1 verdicts, but every packet also runs a bounded loop of 2000
 * rounds of dependent arithmetic on packet bytes, costing microseconds more
 * per packet than v1.
 */
#define FW_BURN_ITERS 2000
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int fw_slow(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
