// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canary_abi.h"
#include "pkt.h"

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

size_t canary_pkt__build(const struct pkt_spec *s, void *buf, size_t cap)
{
	bool v6 = s->family == AF_INET6;
	__u8 proto = s->proto ? s->proto : IPPROTO_UDP;
	__u8 *p = buf, *l3, *l4;
	size_t off = 12, l4len, iplen;
	int i;

	if (cap < PKT_MAX)
		return 0;
	memset(buf, 0, PKT_MAX);
	/* dst 02:00:00:00:00:02, src 02:00:00:00:00:01: locally administered */
	p[0] = 0x02; p[5] = 0x02; p[6] = 0x02; p[11] = 0x01;
	if (s->vlans >= 2) {
		put16(p + off, 0x88a8);
		put16(p + off + 2, 100);
		off += 4;
	}
	if (s->vlans >= 1) {
		put16(p + off, 0x8100);
		put16(p + off + 2, 200);
		off += 4;
	}
	put16(p + off, s->ethertype ? s->ethertype : (v6 ? 0x86dd : 0x0800));
	off += 2;
	l3 = p + off;

	switch (proto) {
	case IPPROTO_TCP: l4len = 20; break;
	case IPPROTO_UDP: l4len = 8; break;
	case IPPROTO_SCTP: l4len = 12; break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6: l4len = 8; break;
	default: l4len = 0; break;
	}
	l4len += s->payload;

	if (!v6) {
		int ihl = 5 + s->ip_opts / 4;
		__u16 frag = (s->more_frags ? 0x2000 : 0) | (s->frag_offset & 0x1fff);

		if (s->ip_opts % 4 || s->ip_opts > 40)
			return 0;
		iplen = ihl * 4 + l4len;
		if (off + iplen > PKT_MAX)
			return 0;
		l3[0] = 0x40 | ihl;
		put16(l3 + 2, iplen);
		put16(l3 + 6, frag);
		l3[8] = 64;
		l3[9] = proto;
		inet_pton(AF_INET, s->src ? s->src : "198.18.0.1", l3 + 12);
		inet_pton(AF_INET, s->dst ? s->dst : "198.18.0.2", l3 + 16);
		memset(l3 + 20, 1, s->ip_opts);	/* NOPs */
		l4 = l3 + ihl * 4;
	} else {
		__u8 *cur = l3 + 40, *nh = l3 + 6;
		size_t ext_len = 0;

		for (i = 0; i < s->n_ext; i++)
			ext_len += s->ext[i] == 51 ? 16 : 8;
		iplen = 40 + ext_len + l4len;
		if (off + iplen > PKT_MAX)
			return 0;
		l3[0] = 0x60;
		put16(l3 + 4, ext_len + l4len);
		l3[7] = 64;
		inet_pton(AF_INET6, s->src ? s->src : "2001:db8::1", l3 + 8);
		inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8::2", l3 + 24);
		for (i = 0; i < s->n_ext; i++) {
			*nh = s->ext[i];
			nh = cur;	/* next-header byte is first in every ext header */
			if (s->ext[i] == 44) {
				put16(cur + 2, (s->frag_offset << 3) | (s->more_frags ? 1 : 0));
				cur += 8;
			} else if (s->ext[i] == 51) {
				cur[1] = 2;	/* (2 + 2) * 4 = 16 bytes */
				cur += 16;
			} else {
				cur[1] = 0;	/* (0 + 1) * 8 = 8 bytes */
				cur[2] = 1;	/* PadN */
				cur[3] = 4;
				cur += 8;
			}
		}
		*nh = proto;
		l4 = cur;
	}

	switch (proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4[12] = 5 << 4;
		l4[13] = 0x02;	/* SYN */
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, l4len);
		break;
	case IPPROTO_SCTP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		put16(l4 + 4, s->icmp_id);
		break;
	}
	return off + iplen;
}

int canary_pkt__run_repeat(int prog_fd, const void *pkt, size_t len, __u32 repeat, __u32 *retval,
		   __u32 *ns_per_run)
{
	__u8 out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return -errno;
	if (retval)
		*retval = opts.retval;
	if (ns_per_run)
		*ns_per_run = opts.duration;
	return 0;
}

int canary_pkt__run(int prog_fd, const void *pkt, size_t len, __u32 *retval)
{
	return canary_pkt__run_repeat(prog_fd, pkt, len, 1, retval, NULL);
}

/* ---- one-line packet summaries (preflight's examples, shadow's) ---------- */

#define CANARY_ETH_HLEN 14

static __u16 rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static const char *l4_name(__u8 proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmp6";
	}
	snprintf(buf, len, "proto %u", proto);
	return buf;
}

/*
 * "udp 198.18.1.5:1234 > 198.18.2.10:443 len 64", "tcp [2001:db8:1::5]:1234 >
 * [2001:db8:2::10]:80 len 94", "vlan 100 icmp 198.18.1.5 > 198.18.2.10 type 8
 * len 98", "arp len 42", "short frame len 10". LEN is the length on the wire.
 */
void canary_pkt__summary(const __u8 *p, __u32 caplen, __u32 wirelen, char *out, size_t outlen)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[16], vlan[32] = "";
	const __u8 *l4 = NULL, *end = p + caplen;
	__u32 off = 12, nvlan = 0;
	bool v6 = false, frag = false;
	__u16 type;
	__u8 proto = 0;

	if (caplen < CANARY_ETH_HLEN) {
		snprintf(out, outlen, "short frame len %u", wirelen);
		return;
	}
	type = rd16(p + off);
	while ((type == 0x8100 || type == 0x88a8) && nvlan < 2 && off + 6 <= caplen) {
		if (!nvlan)
			snprintf(vlan, sizeof(vlan), "vlan %u ", rd16(p + off + 2) & 0xfff);
		nvlan++;
		off += 4;
		type = rd16(p + off);
	}
	off += 2;
	if (type == 0x0800 && off + 20 <= caplen) {
		const __u8 *ip = p + off;
		__u32 ihl = (ip[0] & 0xf) * 4;

		inet_ntop(AF_INET, ip + 12, src, sizeof(src));
		inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
		proto = ip[9];
		frag = rd16(ip + 6) & 0x1fff;
		l4 = ip + (ihl >= 20 ? ihl : 20);
	} else if (type == 0x86dd && off + 40 <= caplen) {
		const __u8 *ip = p + off, *h = ip + 40;
		int i;

		v6 = true;
		inet_ntop(AF_INET6, ip + 8, src, sizeof(src));
		inet_ntop(AF_INET6, ip + 24, dst, sizeof(dst));
		proto = ip[6];
		/* Skip the common extension headers, as the dispatcher's parser does. */
		for (i = 0; i < 8 && h + 8 <= end; i++) {
			if (proto == 0 || proto == 43 || proto == 60) {
				proto = h[0];
				h += (h[1] + 1) * 8;
			} else if (proto == 51) {
				proto = h[0];
				h += (h[1] + 2) * 4;
			} else if (proto == 44) {
				frag = frag || (rd16(h + 2) & 0xfff8);
				proto = h[0];
				h += 8;
			} else {
				break;
			}
		}
		l4 = h;
	} else {
		if (type == 0x0806)
			snprintf(out, outlen, "%sarp len %u", vlan, wirelen);
		else if (type == 0x0800 || type == 0x86dd)
			snprintf(out, outlen, "%s%s (truncated header) len %u", vlan,
				 type == 0x0800 ? "ipv4" : "ipv6", wirelen);
		else
			snprintf(out, outlen, "%sethertype 0x%04x len %u", vlan, type, wirelen);
		return;
	}

	if (frag) {
		snprintf(out, outlen, "%s%s fragment %s > %s len %u", vlan,
			 l4_name(proto, pbuf, sizeof(pbuf)), src, dst, wirelen);
	} else if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
		   l4 + 4 <= end) {
		snprintf(out, outlen, "%s%s %s%s%s:%u > %s%s%s:%u len %u", vlan,
			 l4_name(proto, pbuf, sizeof(pbuf)), v6 ? "[" : "", src, v6 ? "]" : "",
			 rd16(l4), v6 ? "[" : "", dst, v6 ? "]" : "", rd16(l4 + 2), wirelen);
	} else if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && l4 + 1 <= end) {
		snprintf(out, outlen, "%s%s %s > %s type %u len %u", vlan,
			 l4_name(proto, pbuf, sizeof(pbuf)), src, dst, l4[0], wirelen);
	} else {
		snprintf(out, outlen, "%s%s %s > %s len %u", vlan, l4_name(proto, pbuf, sizeof(pbuf)),
			 src, dst, wirelen);
	}
}

int canary_pkt__replay(int fd, const void *pkt, __u32 len, void *out, __u32 out_cap,
		       __u32 *verdict, __u32 *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = out_cap, .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*verdict = o.retval <= XDP_REDIRECT ? o.retval : CANARY_V_INVALID;
	*out_len = o.data_size_out;
	return 0;
}

bool canary_pkt__rewritten(__u32 vs, const void *out_s, __u32 ls, __u32 vc, const void *out_c,
			   __u32 lc)
{
	return vs == vc && (vs == XDP_PASS || vs == XDP_TX || vs == XDP_REDIRECT) &&
	       (ls != lc || memcmp(out_s, out_c, ls));
}
