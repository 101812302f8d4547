// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Live-frame traffic generator (the BPF side of build/trafficgen).
 *
 * User space runs this program with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES on a template frame, repeat N times. Every run
 * gets a fresh frame from the kernel's page pool (a copy of the template, or a
 * recycled frame of an earlier run: its contents are NOT reset), rewrites the
 * source port and optionally the source address to put the frame on flow
 * (n mod flows), fixes the checksums incrementally, and redirects it out of
 * the egress device.
 *
 * Flow f uses source port (sport_base + f) mod 2^16; flows beyond 65536 also
 * add f >> 16 to the source address (last 32-bit word). A frame whose sequence
 * number n has (n * 7919) mod 1000 < attack_permille uses the attack source
 * instead: exactly attack_permille of every 1000 consecutive frames, spread
 * out rather than in a burst.
 *
 * tg_seq is per CPU (the run stays on one CPU, but the process may move
 * between runs), so user space recovers exactly which frames went to which
 * flow from the per-CPU sequence numbers at the end.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_HLEN 14

/*
 * All parameters in one struct, as loose const volatile globals may be laid
 * out in any order. Anonymous, so that the skeleton spells out its fields.
 */
const volatile struct {
	__u32 ifindex;		/* egress device */
	__u32 flows;		/* >= 1 */
	__u32 family;		/* 4 or 6 */
	__u32 proto;		/* IPPROTO_UDP or IPPROTO_TCP */
	__u32 sport_base;	/* source port of flow 0 */
	__u32 attack_permille;	/* 0..1000 */
	__u32 raw;		/* 1: send the template as it is (--malformed) */
	__u32 src[4];		/* network byte order; IPv4 in [0] */
	__u32 attack[4];
} tg = {};

/* Frame sequence number; the test run stays on one CPU, so no atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tg_seq SEC(".maps");

/*
 * One's complement sum arithmetic works on 16-bit words in either byte order
 * (RFC 1071), so old and new words are used as they lie in memory.
 */
static __always_inline __u32 csum_word32(__u32 acc, __u32 from, __u32 to)
{
	return acc + (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);
}

static __always_inline __u32 csum_word16(__u32 acc, __u16 from, __u16 to)
{
	return acc + (__u16)~from + to;
}

static __always_inline __u16 csum_fold(__u32 acc)
{
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (__u16)~acc;
}

SEC("xdp")
int tg_xmit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = 0, flow, attack, addr_add, l3len, l4need, acc_l4;
	__u16 *sport, *l4check, new_sport;
	__u64 *seq, n;
	void *l4;

	seq = bpf_map_lookup_elem(&tg_seq, &key);
	if (!seq)
		return XDP_ABORTED;
	n = (*seq)++;
	/* Malformed templates are sent as they are: nothing here may parse them. */
	if (tg.raw)
		return bpf_redirect(tg.ifindex, 0);
	flow = n % tg.flows;
	addr_add = flow >> 16;
	new_sport = bpf_htons((__u16)(tg.sport_base + flow));
	attack = tg.attack_permille && (n * 7919) % 1000 < tg.attack_permille;

	l3len = tg.family == 6 ? 40 : 20;
	l4need = tg.proto == IPPROTO_TCP ? 18 : 8;
	l4 = data + ETH_HLEN + l3len;
	if (l4 + l4need > end)
		return XDP_ABORTED;
	sport = l4;
	l4check = l4 + (tg.proto == IPPROTO_TCP ? 16 : 6);
	acc_l4 = (__u16)~*l4check;

	if (tg.family == 6) {
		__u32 *saddr = data + ETH_HLEN + 8, w;
		int i;

#pragma unroll
		for (i = 0; i < 4; i++) {
			w = attack ? tg.attack[i] : tg.src[i];
			if (i == 3)
				w = bpf_htonl(bpf_ntohl(w) + addr_add);
			acc_l4 = csum_word32(acc_l4, saddr[i], w);
			saddr[i] = w;
		}
	} else {
		__u32 *saddr = data + ETH_HLEN + 12, w;
		__u16 *ipcheck = data + ETH_HLEN + 10;

		w = attack ? tg.attack[0] : tg.src[0];
		w = bpf_htonl(bpf_ntohl(w) + addr_add);
		*ipcheck = csum_fold(csum_word32((__u16)~*ipcheck, *saddr, w));
		acc_l4 = csum_word32(acc_l4, *saddr, w);
		*saddr = w;
	}
	acc_l4 = csum_word16(acc_l4, *sport, new_sport);
	*sport = new_sport;
	*l4check = csum_fold(acc_l4);
	/* UDP sends a computed zero as 0xffff: zero means "no checksum". */
	if (tg.proto == IPPROTO_UDP && *l4check == 0)
		*l4check = 0xffff;

	return bpf_redirect(tg.ifindex, 0);
}
