// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-flow receive counter (the BPF side of build/flowcount).
 *
 * Attached at TC ingress (clsact) of the device under test, it runs after
 * XDP: it sees exactly the packets the XDP program passed. Each IPv4/IPv6
 * TCP/UDP packet is counted under its (family, proto, source address, source
 * port, destination port); anything else in one "other" counter. GRO may
 * have merged segments, so a packet counts as gso_segs packets.
 *
 * By default the packet is then dropped (TC_ACT_SHOT): the counter is the
 * far end, and the host stack need not spend a core on traffic addressed to
 * nobody. keep = 1 lets packets go on.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "flowcount.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct {
	__u32 keep;		/* 1: TC_ACT_OK instead of TC_ACT_SHOT */
} fc = {};

/* Packets per flow. No pre-allocation: entries appear as flows do. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct flowcount_key);
	__type(value, __u64);
} fc_flows SEC(".maps");

/* [0] packets that are no IPv4/IPv6 TCP/UDP flow, [1] flows that did not fit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} fc_other SEC(".maps");

static __always_inline int count_other(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&fc_other, &idx);

	if (v)
		*v += n;
	return fc.keep ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int fc_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct flowcount_key k = {};
	struct ethhdr *eth = data;
	__u64 n = skb->gso_segs ? skb->gso_segs : 1, *v;
	__u16 *ports;

	if ((void *)(eth + 1) > end)
		return count_other(0, n);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5 || ip->frag_off & bpf_htons(0x3fff))
			return count_other(0, n);
		k.family = 4;
		k.proto = ip->protocol;
		k.saddr[0] = ip->saddr;
		ports = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return count_other(0, n);
		k.family = 6;
		k.proto = ip6->nexthdr;
		__builtin_memcpy(k.saddr, &ip6->saddr, 16);
		ports = (void *)(ip6 + 1);
	} else {
		return count_other(0, n);
	}
	if ((k.proto != IPPROTO_UDP && k.proto != IPPROTO_TCP) || (void *)(ports + 2) > end)
		return count_other(0, n);
	k.sport = bpf_ntohs(ports[0]);
	k.dport = bpf_ntohs(ports[1]);

	v = bpf_map_lookup_elem(&fc_flows, &k);
	if (v) {
		*v += n;
	} else if (bpf_map_update_elem(&fc_flows, &k, &n, BPF_NOEXIST)) {
		/* Another CPU added it first (EEXIST), or the map is full. */
		v = bpf_map_lookup_elem(&fc_flows, &k);
		if (!v)
			return count_other(1, n);
		*v += n;
	}
	return fc.keep ? TC_ACT_OK : TC_ACT_SHOT;
}
