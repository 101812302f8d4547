// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BAD version for tests/canaryd_entities.test.sh: v2 that drops every
 * packet to 198.18.7.0/24 (and 2001:db8:7::/48), one entity's traffic, and
 * serves everything else as v2 does.
 */
#define FW_ALLOW_QUIC 1
#define FW_DROP_DST_SUBNET 7
#include "../../bpf/versions/fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC(CANARY_XDP_SEC)
int fw_dropnet(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
