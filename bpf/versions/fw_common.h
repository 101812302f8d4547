/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The example firewall shared by every version in this directory: the
 * prioritised 5-tuple firewall from the Gcore XDP article. First matching
 * rule wins:
 *
 *   1. source in subnet A (198.18.1.0/24, 2001:db8:1::/48): XDP_PASS.
 *   2. source in subnet C (198.18.3.0/24, 2001:db8:3::/48) to a web server
 *      in subnet B (198.18.2.0/24, 2001:db8:2::/48): TCP 80, 443, 8443
 *      pass, anything else drops.
 *   3. destination in subnet B: TCP 80 and 443 pass, anything else drops.
 *   4. everything else drops.
 *
 * Packets canary_parse() cannot parse are dropped (deny by default).
 * Fragments carry no ports (fl.frag; the parser leaves ports 0 for first
 * fragments too), so they never match a port rule.
 *
 * A version defines any of these before including this file:
 *
 *   FW_SUBNET_A_VERDICT  verdict of rule 1 (default XDP_PASS)
 *   FW_ALLOW_QUIC        1: UDP 443 to subnet B passes for every source;
 *                        checked right after rule 1, so clients in C get it
 *                        too
 *   FW_LEAK_SUBNET_D     1: rule 4 passes sources in 198.18.4.0/24 and
 *                        2001:db8:4::/48
 *   FW_ABORT_SPORT       1: XDP_ABORTED for TCP/UDP/SCTP flows whose
 *                        source port has (sport & 0x3f) == 0x2a
 *   FW_BURN_ITERS        N > 0: N rounds of dependent arithmetic on
 *                        packet bytes per packet; verdicts unchanged
 *   FW_DROP_DST_SUBNET   n > 0: destinations in subnet n dropped before
 *                        every rule (one customer's traffic broken)
 */
#ifndef FW_COMMON_H
#define FW_COMMON_H

#include "canary_parse.h"

#ifndef FW_SUBNET_A_VERDICT
#define FW_SUBNET_A_VERDICT XDP_PASS
#endif
#ifndef FW_ALLOW_QUIC
#define FW_ALLOW_QUIC 0
#endif
#ifndef FW_LEAK_SUBNET_D
#define FW_LEAK_SUBNET_D 0
#endif
#ifndef FW_ABORT_SPORT
#define FW_ABORT_SPORT 0
#endif
#ifndef FW_BURN_ITERS
#define FW_BURN_ITERS 0
#endif
#ifndef FW_DROP_DST_SUBNET
#define FW_DROP_DST_SUBNET 0
#endif

/* Subnet n is 198.18.n.0/24 and 2001:db8:n::/48. */
#define FW_SUBNET_A 1
#define FW_SUBNET_B 2
#define FW_SUBNET_C 3
#define FW_SUBNET_D 4

#define FW_ABORT_MASK 0x3f
#define FW_ABORT_MATCH 0x2a

static __always_inline int fw_in_subnet(const __u32 *addr, __u8 is_v6, __u32 n)
{
	if (!is_v6)
		return (addr[0] & bpf_htonl(0xffffff00)) == bpf_htonl(0xc6120000 | n << 8);
	return addr[0] == bpf_htonl(0x20010db8) &&
	       (addr[1] & bpf_htonl(0xffff0000)) == bpf_htonl(n << 16);
}

static __always_inline int fw_tcp_port(const struct canary_flow *fl, __u16 port)
{
	return fl->proto == IPPROTO_TCP && !fl->frag && fl->dport == port;
}

static __always_inline int fw_rules(const struct canary_flow *fl)
{
	int dst_b = fw_in_subnet(fl->daddr, fl->is_v6, FW_SUBNET_B);

	if (FW_DROP_DST_SUBNET && fw_in_subnet(fl->daddr, fl->is_v6, FW_DROP_DST_SUBNET))
		return XDP_DROP;

	/* 1. Always allow subnet A. */
	if (fw_in_subnet(fl->saddr, fl->is_v6, FW_SUBNET_A))
		return FW_SUBNET_A_VERDICT;

	/* v2: QUIC to the web servers, for everyone. */
	if (FW_ALLOW_QUIC && dst_b && fl->proto == IPPROTO_UDP && !fl->frag &&
	    fl->dport == 443)
		return XDP_PASS;

	/* 2. Clients in C reach B's web servers on 80, 443 and 8443 only. */
	if (dst_b && fw_in_subnet(fl->saddr, fl->is_v6, FW_SUBNET_C)) {
		if (fw_tcp_port(fl, 80) || fw_tcp_port(fl, 443) || fw_tcp_port(fl, 8443))
			return XDP_PASS;
		return XDP_DROP;
	}

	/* 3. Everyone else reaches B's web servers on 80 and 443 only. */
	if (dst_b) {
		if (fw_tcp_port(fl, 80) || fw_tcp_port(fl, 443))
			return XDP_PASS;
		return XDP_DROP;
	}

	/* 4. Deny all else. */
	if (FW_LEAK_SUBNET_D && fw_in_subnet(fl->saddr, fl->is_v6, FW_SUBNET_D))
		return XDP_PASS;
	return XDP_DROP;
}

/*
 * Wasted work: FW_BURN_ITERS rounds of a multiply/shift chain mixing in
 * packet bytes. Each round depends on the previous one and the asm barrier
 * makes the value opaque, so the compiler can neither fold nor drop it.
 */
static __always_inline void fw_burn(struct xdp_md *ctx, const struct canary_flow *fl)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u64 h = (__u64)fl->saddr[0] << 32 ^ fl->daddr[0] ^ fl->sport ^ (__u32)fl->dport << 16;
	int i;

	if ((void *)(p + 16) > data_end)
		return;
	for (i = 0; i < FW_BURN_ITERS; i++) {
		h = h * 0x9e3779b97f4a7c15ULL + (h >> 29) + p[i & 15];
		asm volatile("" : "+r"(h));
	}
}

static __always_inline int fw_run(struct xdp_md *ctx)
{
	struct canary_flow fl = {};
	int verdict = XDP_DROP;

	if (canary_parse(ctx, &fl) < 0)
		goto out;
	if (FW_ABORT_SPORT && !fl.frag &&
	    (fl.proto == IPPROTO_TCP || fl.proto == IPPROTO_UDP || fl.proto == IPPROTO_SCTP) &&
	    (fl.sport & FW_ABORT_MASK) == FW_ABORT_MATCH) {
		verdict = XDP_ABORTED;
		goto out;
	}
	verdict = fw_rules(&fl);
out:
	if (FW_BURN_ITERS > 0)
		fw_burn(ctx, &fl);
	return verdict;
}

/*
 * The section of a version's program: SEC("xdp"), or SEC("xdp.frags") when
 * built with -DCANARY_FRAGS (multi-buffer, for a dispatcher opened with
 * frags: jumbo MTU in native mode). The Makefile builds fw_v1 and fw_v2 both
 * ways (versions/NAME.frags.bpf.o).
 */
#ifdef CANARY_FRAGS
#define CANARY_XDP_SEC "xdp.frags"
#else
#define CANARY_XDP_SEC "xdp"
#endif

#endif /* FW_COMMON_H */
