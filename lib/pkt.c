// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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
