// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trafficgen: a live-frame traffic generator.
 *
 * Runs tools/trafficgen.bpf.c with BPF_PROG_TEST_RUN in live-frame mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES): the kernel makes `repeat` real frames from a
 * template, the program spreads them over flows and redirects them out of
 * --dev. A veth only takes such frames when its peer runs an XDP program or
 * has GRO on (`ethtool -K PEER gro on`); otherwise they vanish silently.
 *
 * Each call costs a fixed set-up (tens of ms), so frames go out in big
 * batches; --pps paces between calls, so traffic comes in bursts of --batch.
 *
 * --flow-log FILE writes how many frames each flow got, from the program's
 * per-CPU sequence numbers (which say exactly which frame went to which flow),
 * in the key format of build/flowcount, so loss is counted per flow.
 * --malformed cycles through broken frames (truncated, bad IHL, lying
 * lengths, bogus IPv6 extension chains, fragments, stacked VLANs, non-IP
 * ethertypes, runts), one template per call, sent unmodified.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "params.h"
#include "pkt.h"
#include "trafficgen.skel.h"

#define SPORT_BASE 1024
#define DPORT 9			/* discard */
#define FRAME_MAX 1514
#define MAX_FLOWS (1U << 24)

struct opts {
	const char *dev;
	__u32 flows;
	__u64 count;		/* 0: until SIGINT/SIGTERM */
	__u32 batch;		/* 0: default */
	__u64 pps;
	int family;
	int proto;
	const char *src, *dst, *attack_src;
	__u32 size;		/* 0: default */
	__u32 attack_permille;
	double duration;	/* 0: no time limit */
	const char *flow_log;
	bool malformed;
	bool json, verbose, help;
	/* As given; checked and converted after the parse. */
	const char *flows_arg, *count_arg, *batch_arg, *pps_arg, *family_arg, *proto_arg;
	const char *size_arg, *ashare_arg, *duration_arg;
};

_Static_assert(MAX_FLOWS == 16777216, "--flows help text");

#define OPT(name, arg, field, help) CANARY_OPTION(struct opts, name, 0, arg, field, help)
static const struct canary_opt trafficgen_opts[] = {
	OPT("dev", "DEV", dev, "egress interface (in the current network namespace)"),
	OPT("flows", "N", flows_arg, "flows to spread frames over (default 1024, max 16777216)"),
	OPT("count", "N", count_arg, "frames to send (default 0: until SIGINT/SIGTERM)"),
	OPT("batch", "N", batch_arg, "frames per BPF_PROG_TEST_RUN call (default 100000;\n"
	    "with --pps, pps/20 clamped to 1000..100000)"),
	OPT("pps", "N", pps_arg, "rate cap, paced between calls (0: as fast as possible)"),
	OPT("family", "4|6", family_arg, "IP version (default 4)"),
	OPT("proto", "udp|tcp", proto_arg, "L4 protocol (default udp)"),
	OPT("src", "ADDR", src, "source address (198.18.0.1, or 2001:db8::1)"),
	OPT("dst", "ADDR", dst, "destination address (198.18.0.2, or 2001:db8::2)"),
	OPT("size", "BYTES", size_arg, "frame size without FCS (default 64 or the header size)"),
	OPT("attack-share", "PERMILLE", ashare_arg, "that share of frames comes from\n"
	    "--attack-src instead"),
	OPT("attack-src", "ADDR", attack_src, "the attack frames' source address"),
	OPT("duration", "SECONDS", duration_arg, "stop after this long (checked between calls)"),
	OPT("flow-log", "FILE", flow_log, "write FAMILY PROTO SRC SPORT DPORT FRAMES legit|attack\n"
	    "per flow (the key format of flowcount --out)"),
	OPT("malformed", NULL, malformed, "cycle through malformed frames, one kind per call"),
	CANARY_OPTION(struct opts, "json", 'j', NULL, json, "JSON summary"),
	CANARY_OPTION(struct opts, "verbose", 'v', NULL, verbose, "verbose (libbpf messages)"),
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};
#undef OPT

static void usage(FILE *f)
{
	fputs("usage: trafficgen --dev DEV [options]\n", f);
	canary_opts__print(f, trafficgen_opts);
}

static int parse_u64(const char *opt, const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		pr_warn("trafficgen: %s '%s': expected a number from %llu to %llu\n", opt, s,
			(unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	char *end;
	__u64 v;
	int err;

	*o = (struct opts){ .flows = 1024, .family = AF_INET, .proto = IPPROTO_UDP };
	err = canary_opts__parse_tool(argc, argv, "trafficgen", trafficgen_opts, o, &o->help,
				      &o->verbose, usage);
	if (err > 0)
		exit(0);
	if (err)
		return err;
	if (o->flows_arg) {
		if (parse_u64("--flows", o->flows_arg, 1, MAX_FLOWS, &v))
			return -EINVAL;
		o->flows = v;
	}
	if (o->count_arg && parse_u64("--count", o->count_arg, 0, ~0ULL, &o->count))
		return -EINVAL;
	if (o->batch_arg) {
		if (parse_u64("--batch", o->batch_arg, 1, UINT_MAX, &v))
			return -EINVAL;
		o->batch = v;
	}
	if (o->pps_arg && parse_u64("--pps", o->pps_arg, 0, ~0ULL, &o->pps))
		return -EINVAL;
	if (o->family_arg) {
		if (!strcmp(o->family_arg, "4")) {
			o->family = AF_INET;
		} else if (!strcmp(o->family_arg, "6")) {
			o->family = AF_INET6;
		} else {
			pr_warn("trafficgen: --family '%s': use 4 or 6\n", o->family_arg);
			return -EINVAL;
		}
	}
	if (o->proto_arg) {
		if (!strcmp(o->proto_arg, "udp")) {
			o->proto = IPPROTO_UDP;
		} else if (!strcmp(o->proto_arg, "tcp")) {
			o->proto = IPPROTO_TCP;
		} else {
			pr_warn("trafficgen: --proto '%s': use udp or tcp\n", o->proto_arg);
			return -EINVAL;
		}
	}
	if (o->size_arg) {
		if (parse_u64("--size", o->size_arg, 0, FRAME_MAX, &v))
			return -EINVAL;
		o->size = v;
	}
	if (o->ashare_arg) {
		if (parse_u64("--attack-share", o->ashare_arg, 0, 1000, &v))
			return -EINVAL;
		o->attack_permille = v;
	}
	if (o->duration_arg) {
		errno = 0;
		o->duration = strtod(o->duration_arg, &end);
		if (errno || end == o->duration_arg || *end || !(o->duration > 0) ||
		    o->duration > 1e6) {
			pr_warn("trafficgen: --duration '%s': expected seconds > 0\n",
				o->duration_arg);
			return -EINVAL;
		}
	}
	if (!o->dev) {
		pr_warn("trafficgen: --dev DEV is required (the egress interface)\n");
		return -EINVAL;
	}
	if (!o->src)
		o->src = o->family == AF_INET6 ? "2001:db8::1" : "198.18.0.1";
	if (!o->dst)
		o->dst = o->family == AF_INET6 ? "2001:db8::2" : "198.18.0.2";
	if (o->attack_permille && !o->attack_src) {
		pr_warn("trafficgen: --attack-share needs --attack-src ADDR\n");
		return -EINVAL;
	}
	if (o->attack_src && !o->attack_permille) {
		pr_warn("trafficgen: --attack-src needs --attack-share PERMILLE (1..1000)\n");
		return -EINVAL;
	}
	if (o->malformed && (o->flow_log || o->attack_permille)) {
		pr_warn("trafficgen: --malformed frames belong to no flow; drop --flow-log and "
			"--attack-share\n");
		return -EINVAL;
	}
	if (!o->batch) {
		o->batch = 100000;
		if (o->pps) {
			__u64 b = o->pps / 20;

			o->batch = b < 1000 ? 1000 : b > 100000 ? 100000 : b;
		}
	}
	return 0;
}

static int parse_addr(const char *opt, const char *text, int family, __u32 out[4])
{
	memset(out, 0, 16);
	if (inet_pton(family, text, out) != 1) {
		pr_warn("trafficgen: %s '%s' is not an IPv%d address (match --family)\n", opt,
			text, family == AF_INET6 ? 6 : 4);
		return -EINVAL;
	}
	return 0;
}

static __u32 csum_add(__u32 acc, const __u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (__u32)p[len - 1] << 8;
	return acc;
}

static __u16 csum_fold(__u32 acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (__u16)~acc;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/*
 * The template frame: pkt_build's headers (no VLAN, no options) padded to
 * SIZE, with valid IPv4 header and L4 checksums so that frames passed to a
 * stack are well formed. Returns the length or a negative errno.
 */
static int build_frame(const struct opts *o, __u8 *buf, size_t cap)
{
	bool v6 = o->family == AF_INET6, tcp = o->proto == IPPROTO_TCP;
	size_t l3len = v6 ? 40 : 20, l4len = tcp ? 20 : 8;
	size_t hdr = 14 + l3len + l4len, size = o->size ? o->size : (hdr > 64 ? hdr : 64);
	struct pkt_spec s = {
		.family = o->family, .src = o->src, .dst = o->dst, .proto = o->proto,
		.sport = SPORT_BASE, .dport = DPORT,
	};
	__u8 *l3 = buf + 14, *l4 = buf + 14 + l3len;
	__u32 acc;
	size_t len;

	if (size < hdr || size > cap) {
		pr_warn("trafficgen: --size %zu: %s over IPv%d needs %zu to %d bytes\n", size,
			tcp ? "tcp" : "udp", v6 ? 6 : 4, hdr, FRAME_MAX);
		return -EINVAL;
	}
	/* pkt_build stops at PKT_MAX; bigger frames get their length fields here. */
	s.payload = size <= PKT_MAX ? size - hdr : 0;
	memset(buf, 0, cap);
	len = canary_pkt__build(&s, buf, cap);
	if (!len) {
		pr_warn("trafficgen: cannot build a %zu-byte frame\n", size);
		return -EINVAL;
	}
	if (len != size) {
		if (v6)
			put16(l3 + 4, size - 14 - l3len);
		else
			put16(l3 + 2, size - 14);
		if (!tcp)
			put16(l4 + 4, size - 14 - l3len);
	}
	if (!v6) {
		put16(l3 + 10, 0);
		put16(l3 + 10, csum_fold(csum_add(0, l3, 20)));
	}
	/* Pseudo header, then the whole L4 segment with a zero checksum field. */
	put16(l4 + (tcp ? 16 : 6), 0);
	acc = csum_add(0, l3 + (v6 ? 8 : 12), v6 ? 32 : 8);
	acc += o->proto + (__u32)(size - 14 - l3len);
	acc = csum_add(acc, l4, size - 14 - l3len);
	acc = csum_fold(acc);
	put16(l4 + (tcp ? 16 : 6), !tcp && acc == 0 ? 0xffff : acc);
	return size;
}

/*
 * Malformed frames for --malformed. Each starts as a well-formed frame from
 * pkt_build (subnet A to subnet B, so a parser that gets it wrong would pass
 * it) and is then broken in one way; len is the frame length actually sent.
 */
#define MALFORMED_KINDS 24

static const char *const malformed_names[MALFORMED_KINDS] = {
	"runt-eth-only", "ipv4-trunc-l3", "ipv4-ihl-0", "ipv4-ihl-4", "ipv4-ihl-beyond",
	"ipv4-totlen-long", "ipv4-totlen-short", "ipv4-udp-trunc", "ipv4-tcp-trunc",
	"ipv4-tcp-doff-0", "ipv4-frag-first", "ipv4-frag-later", "ipv4-version-6",
	"ipv6-trunc-l3", "ipv6-ext-chain-8", "ipv6-ext-len-beyond", "ipv6-frag-later",
	"ipv6-no-next-header", "ipv6-paylen-lies", "vlan-in-vlan", "vlan-3-tags",
	"vlan-trunc", "arp", "mpls",
};

static int build_malformed(int kind, __u8 *buf, size_t cap)
{
	struct pkt_spec s = {
		.family = AF_INET, .src = "198.18.1.1", .dst = "198.18.2.10",
		.proto = IPPROTO_UDP, .sport = SPORT_BASE, .dport = 443, .payload = 22,
	};
	__u8 *l3 = buf + 14;
	size_t len;

	switch (kind) {
	case 8: case 9: s.proto = IPPROTO_TCP; s.payload = 10; break;
	case 10: s.more_frags = true; break;
	case 11: s.frag_offset = 100; break;
	case 13: case 17: case 18:
		s.family = AF_INET6; s.src = "2001:db8:1::1"; s.dst = "2001:db8:2::10";
		break;
	case 14:
		s.family = AF_INET6; s.src = "2001:db8:1::1"; s.dst = "2001:db8:2::10";
		/* More than the parser walks, hop-by-hop out of place. */
		s.n_ext = 8;
		memcpy(s.ext, (const __u8[8]){ 0, 60, 43, 60, 0, 43, 60, 60 }, 8);
		break;
	case 15:
		s.family = AF_INET6; s.src = "2001:db8:1::1"; s.dst = "2001:db8:2::10";
		s.n_ext = 1; s.ext[0] = 0;
		break;
	case 16:
		s.family = AF_INET6; s.src = "2001:db8:1::1"; s.dst = "2001:db8:2::10";
		s.n_ext = 1; s.ext[0] = 44; s.frag_offset = 100;
		break;
	case 19: s.vlans = 2; break;
	case 20: case 21: s.vlans = 2; break;
	case 22: s.ethertype = 0x0806; break;
	case 23: s.ethertype = 0x8847; break;
	}
	len = canary_pkt__build(&s, buf, cap);
	if (!len)
		return -EINVAL;
	if (len < 64)
		len = 64;	/* pkt_build zeroed the padding */
	if (s.vlans)
		l3 += 8;
	switch (kind) {
	case 0: len = 14; break;				/* Ethernet header only */
	case 1: len = 14 + 12; break;				/* IPv4 header cut short */
	case 2: l3[0] = 0x40; break;				/* IHL 0 */
	case 3: l3[0] = 0x44; break;				/* IHL 4 < 5 */
	case 4: l3[0] = 0x4f; len = 14 + 28; break;		/* IHL 15: 60 B in 28 */
	case 5: put16(l3 + 2, 1500); break;			/* total length > frame */
	case 6: put16(l3 + 2, 8); break;			/* total length < header */
	case 7: len = 14 + 20 + 4; break;			/* half a UDP header */
	case 8: len = 14 + 20 + 12; break;			/* TCP header cut short */
	case 9: l3[20 + 12] = 0; break;				/* TCP data offset 0 */
	case 12: l3[0] = 0x65; break;				/* version 6 in an IPv4 frame */
	case 13: len = 14 + 30; break;				/* IPv6 header cut short */
	case 15: l3[40 + 1] = 255; break;			/* hop-by-hop of 2048 B */
	case 17: l3[6] = 59; break;				/* no next header */
	case 18: put16(l3 + 4, 0xffff); break;			/* payload length > frame */
	case 20:						/* a third tag */
		memmove(buf + 20, buf + 16, len - 16);
		put16(buf + 16, 0x8100);
		put16(buf + 18, 300);
		len += 4;
		break;
	case 21: len = 14 + 2; break;				/* VLAN tag cut short */
	}
	return len;
}

/*
 * Frames per flow, legit and attack, recovered from the per-CPU sequence
 * numbers: on each CPU, frame n went to flow n mod flows and was an attack
 * frame when (n * 7919) mod 1000 < attack_permille (trafficgen.bpf.c).
 */
static int write_flow_log(const struct opts *o, const struct trafficgen_bpf *skel, __u64 *total)
{
	int ncpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.tg_seq), err = 0;
	__u64 *seq = NULL, *count = NULL, n;
	__u32 key = 0, f, kind;
	char addr[INET6_ADDRSTRLEN];
	FILE *out = NULL;

	*total = 0;
	if (ncpus < 1)
		return ncpus;
	seq = calloc(ncpus, sizeof(*seq));
	count = calloc((size_t)o->flows * 2, sizeof(*count));
	if (!seq || !count) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &key, seq)) {
		err = -errno;
		pr_warn("trafficgen: cannot read the sequence numbers: %s\n", strerror(-err));
		goto out;
	}
	for (int c = 0; c < ncpus; c++) {
		for (n = 0; n < seq[c]; n++) {
			kind = o->attack_permille && (n * 7919) % 1000 < o->attack_permille;
			count[(n % o->flows) * 2 + kind]++;
		}
		*total += seq[c];
	}
	out = fopen(o->flow_log, "w");
	if (!out) {
		err = -errno;
		pr_warn("trafficgen: cannot write %s: %s\n", o->flow_log, strerror(-err));
		goto out;
	}
	for (f = 0; f < o->flows; f++) {
		for (kind = 0; kind < 2; kind++) {
			__u32 a[4];
			int w = o->family == AF_INET6 ? 3 : 0;

			if (!count[f * 2 + kind])
				continue;
			parse_addr("--src", kind ? o->attack_src : o->src, o->family, a);
			a[w] = htonl(ntohl(a[w]) + (f >> 16));
			inet_ntop(o->family, a, addr, sizeof(addr));
			fprintf(out, "%d %s %s %u %u %llu %s\n", o->family == AF_INET6 ? 6 : 4,
				o->proto == IPPROTO_TCP ? "tcp" : "udp", addr,
				(SPORT_BASE + f) & 0xffff, DPORT,
				(unsigned long long)count[f * 2 + kind], kind ? "attack" : "legit");
		}
	}
	if (fclose(out)) {
		err = -errno;
		pr_warn("trafficgen: cannot write %s: %s\n", o->flow_log, strerror(-err));
	}
out:
	free(count);
	free(seq);
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * This thread's CPU time. The receiving veth's NAPI poll runs in the test
 * run's system call (softirq on this CPU, charged to this thread: no IRQ
 * time accounting), so it covers generator and receiver both, and unlike
 * the wall clock it stops while a neighbour has the CPU.
 */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait up to SECONDS (0: just poll) for SIGINT/SIGTERM; true when one came. */
static bool stop_requested(const sigset_t *set, double seconds)
{
	struct timespec ts = { 0, 0 };

	if (seconds > 0) {
		ts.tv_sec = (time_t)seconds;
		ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
	}
	for (;;) {
		int sig = sigtimedwait(set, NULL, &ts);

		if (sig > 0)
			return true;
		if (errno != EINTR)
			return false;	/* EAGAIN: timed out */
	}
}

int main(int argc, char **argv)
{
	struct trafficgen_bpf *skel = NULL;
	__u8 frame[FRAME_MAX], bad[MALFORMED_KINDS][FRAME_MAX];
	int bad_len[MALFORMED_KINDS];
	__u64 bad_sent[MALFORMED_KINDS] = {};
	struct xdp_md ctx_in = {};
	struct opts o;
	sigset_t sigs;
	__u64 sent = 0, calls = 0, run_ns = 0;
	double t0, t1, secs, c0, cpu_secs;
	int ifindex, len, err, prog_fd;
	bool stopped = false;

	canary_log_set_level(CANARY_LOG_WARN);
	canary_log_init_libs();
	err = parse_opts(argc, argv, &o);
	if (err)
		return 1;

	ifindex = if_nametoindex(o.dev);
	if (!ifindex) {
		pr_warn("trafficgen: device %s: not found in this network namespace "
			"(run inside it, e.g. nsenter --net=/run/netns/NAME)\n", o.dev);
		return 1;
	}
	len = build_frame(&o, frame, sizeof(frame));
	if (len < 0)
		return 1;
	for (int k = 0; o.malformed && k < MALFORMED_KINDS; k++) {
		bad_len[k] = build_malformed(k, bad[k], sizeof(bad[k]));
		if (bad_len[k] < 0) {
			pr_warn("trafficgen: cannot build malformed frame %s\n", malformed_names[k]);
			return 1;
		}
	}

	skel = trafficgen_bpf__open();
	if (!skel) {
		pr_warn("trafficgen: cannot open the generator program: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->tg.ifindex = ifindex;
	skel->rodata->tg.flows = o.flows;
	skel->rodata->tg.family = o.family == AF_INET6 ? 6 : 4;
	skel->rodata->tg.proto = o.proto;
	skel->rodata->tg.sport_base = SPORT_BASE;
	skel->rodata->tg.attack_permille = o.attack_permille;
	skel->rodata->tg.raw = o.malformed;
	err = parse_addr("--src", o.src, o.family, (__u32 *)skel->rodata->tg.src);
	if (!err && o.attack_src)
		err = parse_addr("--attack-src", o.attack_src, o.family,
				 (__u32 *)skel->rodata->tg.attack);
	if (!err) {
		__u32 dst[4];

		err = parse_addr("--dst", o.dst, o.family, dst);
	}
	if (err)
		goto out;
	err = trafficgen_bpf__load(skel);
	if (err) {
		pr_warn("trafficgen: the kernel refused the generator program: %s "
			"(run as root; -v shows the verifier log)\n", strerror(-err));
		goto out;
	}
	prog_fd = bpf_program__fd(skel->progs.tg_xmit);

	/* Signals are taken between calls only, so every call's frames are counted. */
	signal(SIGINT, SIG_DFL);	/* may be inherited as ignored: see dpctl.c */
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	ctx_in.data_end = len;
	ctx_in.ingress_ifindex = ifindex;
	t0 = now_s();
	c0 = cpu_s();
	while (!o.count || sent < o.count) {
		__u64 n = o.count ? o.count - sent : o.batch;
		int kind = o.malformed ? calls % MALFORMED_KINDS : 0;
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame, .data_size_in = len,
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (n > o.batch)
			n = o.batch;
		topts.repeat = n;
		if (o.malformed) {
			topts.data_in = bad[kind];
			topts.data_size_in = bad_len[kind];
			ctx_in.data_end = bad_len[kind];
		}
		if (bpf_prog_test_run_opts(prog_fd, &topts)) {
			err = -errno;
			if (err == -EINTR)
				continue;	/* a stray signal: nothing was counted, retry */
			pr_warn("trafficgen: device %s: live-frame test run failed: %s "
				"(needs kernel >= 5.18 and an interface that takes XDP frames)\n",
				o.dev, strerror(-err));
			goto out;
		}
		sent += n;
		bad_sent[kind] += n;
		calls++;
		run_ns += (__u64)topts.duration * n;
		if (o.count && sent >= o.count)
			break;
		if (o.duration && now_s() - t0 >= o.duration)
			break;
		/* Pace: the next call starts when the frames sent so far are due. */
		if (stop_requested(&sigs, o.pps ? t0 + (double)sent / o.pps - now_s() : 0)) {
			stopped = true;
			break;
		}
	}
	t1 = now_s();
	cpu_secs = cpu_s() - c0;
	secs = t1 - t0;
	err = 0;
	if (o.flow_log) {
		__u64 logged;

		err = write_flow_log(&o, skel, &logged);
		if (err)
			goto out;
		if (logged != sent) {
			pr_warn("trafficgen: the program ran %llu times for %llu frames sent\n",
				(unsigned long long)logged, (unsigned long long)sent);
			err = -EPROTO;
			goto out;
		}
	}

	if (o.json) {
		printf("{\"dev\": \"%s\", \"packets\": %llu, \"seconds\": %.6f, \"pps\": %.0f, "
		       "\"flows\": %u, \"frame_bytes\": %d, \"calls\": %llu, "
		       "\"run_seconds\": %.6f, \"cpu_seconds\": %.6f, \"interrupted\": %s",
		       o.dev, (unsigned long long)sent, secs, secs > 0 ? sent / secs : 0.0,
		       o.flows, len, (unsigned long long)calls, run_ns / 1e9, cpu_secs,
		       stopped ? "true" : "false");
		for (int k = 0; o.malformed && k < MALFORMED_KINDS; k++)
			printf("%s\"%s\": %llu", k ? ", " : ", \"malformed\": {",
			       malformed_names[k], (unsigned long long)bad_sent[k]);
		printf("%s}\n", o.malformed ? "}" : "");
	} else {
		printf("sent %llu frames of %d bytes over %u flows in %.3f s: %.3f Mpps "
		       "(%llu calls)%s\n",
		       (unsigned long long)sent, len, o.flows, secs,
		       secs > 0 ? sent / secs / 1e6 : 0.0, (unsigned long long)calls,
		       stopped ? ", interrupted" : "");
	}
	fflush(stdout);
out:
	trafficgen_bpf__destroy(skel);
	return err ? 1 : 0;
}
