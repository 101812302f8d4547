// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The firewall of fw_common.h with load-time settings, const volatile
 * globals in .rodata that canaryd sets by name before the load (config
 * `set = NAME=VALUE,...`, canaryctl start --set NAME=VALUE). With the
 * defaults it is fw_v1.
 *
 *   subnet_a_verdict  verdict of rule 1 (default XDP_PASS; 1 is XDP_DROP)
 *   leak_subnet_d     1: rule 4 passes the attack subnet D
 *   label             a name for the operator's tools (char[16])
 */
#include <linux/bpf.h>

const volatile __u32 subnet_a_verdict = XDP_PASS;
const volatile _Bool leak_subnet_d = 0;
const volatile char label[16] = "fw_settings";

#define FW_SUBNET_A_VERDICT subnet_a_verdict
#define FW_LEAK_SUBNET_D leak_subnet_d
#include "fw_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int fw_settings(struct xdp_md *ctx)
{
	return fw_run(ctx);
}
