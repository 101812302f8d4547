/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parser shared by the dispatcher and the example versions (BPF only).
 *
 * Bounds-checked cursor parsing in the style of xdp-tools'
 * parsing_helpers.h: every read is preceded by a check against data_end, and
 * every path ends in a defined result. canary_parse() returns 0 with *fl
 * filled in, or -1 when the packet is not IPv4/IPv6 or its headers are
 * truncated or malformed. *fl need not be zeroed first: every field the
 * result depends on is written (zeroing it costs the dispatcher a
 * nanosecond per packet); of saddr/daddr only [0] is written for IPv4.
 */
#ifndef CANARY_PARSE_H
#define CANARY_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#define CANARY_ETH_P_8021Q 0x8100
#define CANARY_ETH_P_8021AD 0x88A8
#define CANARY_IP_MF 0x2000
#define CANARY_IP_OFFSET 0x1FFF
#define CANARY_IPV6_MAX_EXT 6

struct canary_flow {
	__u32 saddr[4];		/* network byte order; IPv4 uses [0] */
	__u32 daddr[4];
	__u16 sport;		/* host order; ICMP echo: identifier; else 0 */
	__u16 dport;		/* host order; ICMP: type << 8 | code */
	__u8 proto;		/* L4 protocol after extension headers */
	__u8 is_v6;
	/*
	 * Any fragment, first or not. All fragments of a datagram must reach the
	 * same version, and only the first has ports, so fragments are hashed
	 * without ports.
	 */
	__u8 frag;
	__u8 pad;
};

struct canary_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct canary_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct canary_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset << 3 | M */
	__be32 id;
};

static __always_inline int canary__parse_l4(void *l4, void *data_end, struct canary_flow *fl)
{
	__u8 *p = l4;

	fl->sport = 0;
	fl->dport = 0;
	if (fl->frag)
		return 0;
	switch (fl->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		/* The ports are the first four bytes of all three headers: one load. */
		if (p + 4 > (__u8 *)data_end)
			return -1;
		{
			__u32 ports = bpf_ntohl(*(__u32 *)p);

			fl->sport = (__u16)(ports >> 16);
			fl->dport = (__u16)ports;
		}
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (p + 4 > (__u8 *)data_end)
			return -1;
		fl->dport = (__u16)(p[0] << 8 | p[1]);
		/* Echo request/reply: the identifier keeps a ping session together. */
		if ((fl->proto == IPPROTO_ICMP && (p[0] == 8 || p[0] == 0)) ||
		    (fl->proto == IPPROTO_ICMPV6 && (p[0] == 128 || p[0] == 129))) {
			if (p + 8 > (__u8 *)data_end)
				return -1;
			fl->sport = (__u16)(p[4] << 8 | p[5]);
		}
		return 0;
	default:
		return 0;
	}
}

static __always_inline int canary__parse_v4(void *l3, void *data_end, struct canary_flow *fl)
{
	struct iphdr *iph = l3;
	__u32 ihl;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4)
		return -1;
	ihl = iph->ihl;
	if (ihl < 5)
		return -1;
	if ((__u8 *)l3 + ihl * 4 > (__u8 *)data_end)
		return -1;
	fl->saddr[0] = iph->saddr;
	fl->daddr[0] = iph->daddr;
	fl->is_v6 = 0;
	fl->proto = iph->protocol;
	fl->frag = (iph->frag_off & bpf_htons(CANARY_IP_MF | CANARY_IP_OFFSET)) != 0;
	return canary__parse_l4((__u8 *)l3 + ihl * 4, data_end, fl);
}

static __always_inline int canary__parse_v6(void *l3, void *data_end, struct canary_flow *fl)
{
	struct ipv6hdr *ip6h = l3;
	__u8 *cur = (__u8 *)(ip6h + 1);
	__u8 nexthdr;
	int i;

	if ((void *)cur > data_end)
		return -1;
	if (ip6h->version != 6)
		return -1;
	__builtin_memcpy(fl->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(fl->daddr, &ip6h->daddr, 16);
	fl->is_v6 = 1;
	fl->frag = 0;
	nexthdr = ip6h->nexthdr;

#pragma unroll
	for (i = 0; i < CANARY_IPV6_MAX_EXT; i++) {
		struct canary_ipv6_ext *ext = (struct canary_ipv6_ext *)cur;

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(ext + 1) > data_end)
				return -1;
			nexthdr = ext->nexthdr;
			cur += (ext->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(ext + 1) > data_end)
				return -1;
			nexthdr = ext->nexthdr;
			cur += (ext->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			struct canary_ipv6_frag *fh = (struct canary_ipv6_frag *)cur;

			if ((void *)(fh + 1) > data_end)
				return -1;
			nexthdr = fh->nexthdr;
			cur += sizeof(*fh);
			/*
			 * A real fragment (not an atomic one): stop here. Later
			 * fragments carry payload, not headers, and every fragment
			 * must hash alike, so all take the protocol named here.
			 */
			if (fh->frag_off & bpf_htons(0xFFF9)) {
				fl->frag = 1;
				goto done;
			}
			break;
		}
		default:
			goto done;
		}
	}
	/* CANARY_IPV6_MAX_EXT headers skipped; one more is too many. */
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return -1;
	}
done:
	if ((void *)cur > data_end)
		return -1;
	fl->proto = nexthdr;
	return canary__parse_l4(cur, data_end, fl);
}

static __always_inline int canary_parse(struct xdp_md *ctx, struct canary_flow *fl)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u16 h_proto;
	int i;

	if (cur > data_end)
		return -1;
	h_proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < 2; i++) {
		struct canary_vlan_hdr *vh = cur;

		if (h_proto != bpf_htons(CANARY_ETH_P_8021Q) &&
		    h_proto != bpf_htons(CANARY_ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		h_proto = vh->proto;
		cur = vh + 1;
	}

	if (h_proto == bpf_htons(ETH_P_IP))
		return canary__parse_v4(cur, data_end, fl);
	if (h_proto == bpf_htons(ETH_P_IPV6))
		return canary__parse_v6(cur, data_end, fl);
	return -1;
}

#endif /* CANARY_PARSE_H */
