/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Crafted packets, run with BPF_PROG_TEST_RUN: for the tests, the traffic generator, the bench. */
#ifndef CANARY_PKT_H
#define CANARY_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 512

struct pkt_spec {
	int family;		/* AF_INET (default when 0) or AF_INET6 */
	const char *src;	/* textual address; defaults 198.18.0.1 / 2001:db8::1 */
	const char *dst;	/* defaults 198.18.0.2 / 2001:db8::2 */
	__u8 proto;		/* IPPROTO_UDP when 0 */
	__u16 sport, dport;
	__u8 icmp_type;		/* for ICMP/ICMPv6 */
	__u16 icmp_id;
	int vlans;		/* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) */
	int ip_opts;		/* IPv4 option bytes, multiple of 4, <= 40 */
	int n_ext;		/* IPv6 extension headers before L4 */
	__u8 ext[8];		/* their types: 0 hop-by-hop, 43 routing, 60 dst, 44 frag, 51 AH */
	__u16 frag_offset;	/* fragment offset in 8-byte units */
	bool more_frags;
	__u16 ethertype;	/* override, e.g. 0x0806; 0 = from family */
	int payload;		/* L4 payload bytes */
};

/* Build the packet into buf (cap >= PKT_MAX); returns its length, or 0 on a bad spec. */
size_t canary_pkt__build(const struct pkt_spec *s, void *buf, size_t cap);

/* Run prog_fd once on the packet with BPF_PROG_TEST_RUN; 0 or -errno. */
int canary_pkt__run(int prog_fd, const void *pkt, size_t len, __u32 *retval);

/* Same, repeated; *ns_per_run gets the kernel's average duration. */
int canary_pkt__run_repeat(int prog_fd, const void *pkt, size_t len, __u32 repeat, __u32 *retval,
		   __u32 *ns_per_run);

/*
 * One line about a frame for examples: "udp 198.18.1.5:1234 > 198.18.2.10:443
 * len 64", "tcp [2001:db8:1::5]:1234 > [2001:db8:2::10]:80 len 94", "vlan 100
 * icmp 198.18.1.5 > 198.18.2.10 type 8 len 98", "arp len 42", "short frame
 * len 10". CAPLEN bytes at P; WIRELEN is the length on the wire.
 */
void canary_pkt__summary(const __u8 *p, __u32 caplen, __u32 wirelen, char *out, size_t outlen);

/*
 * Replay one frame through PROG_FD with BPF_PROG_TEST_RUN: *verdict the
 * enum canary_verdict index (anything above XDP_REDIRECT is
 * CANARY_V_INVALID), OUT (OUT_CAP bytes) the frame as the program left it,
 * *out_len its length. 0 or -errno.
 */
int canary_pkt__replay(int prog_fd, const void *pkt, __u32 len, void *out, __u32 out_cap,
		       __u32 *verdict, __u32 *out_len);

/*
 * Do two replays differ in the bytes only: the same verdict, one that sends
 * the frame on (pass, tx, redirect), but different output frames?
 */
bool canary_pkt__rewritten(__u32 vs, const void *out_s, __u32 ls, __u32 vc, const void *out_c,
			   __u32 lc);

#endif
