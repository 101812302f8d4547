// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A candidate of the wrong program type: a tc classifier, not XDP. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
