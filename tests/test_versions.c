// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The example versions in bpf/versions/: each one loads as a single XDP
 * program and gives exactly the verdicts its rules say.
 *
 * Subnets (n = 1..4 is 198.18.n.0/24 and 2001:db8:n::/48):
 *   A = 1 always allowed, B = 2 web servers, C = 3 clients with 8443,
 *   D = 4 the "attack" subnet fw_leaky lets through.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "version.h"
#include "log.h"
#include "lib/fixture.h"
#include "pkt.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

enum { V1, V2, BLACKHOLE, ABORTS, LEAKY, SLOW, NV };

static const char *const names[NV] = {
	"fw_v1", "fw_v2", "fw_blackhole", "fw_aborts", "fw_leaky", "fw_slow",
};

struct versions {
	struct bpf_object *obj[NV];
	int fd[NV];
};

#define P XDP_PASS
#define D XDP_DROP
#define X XDP_ABORTED

static const char *verdict_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED: return "ABORTED";
	case XDP_DROP: return "DROP";
	case XDP_PASS: return "PASS";
	case XDP_TX: return "TX";
	case XDP_REDIRECT: return "REDIRECT";
	default: return "?";
	}
}

/* Run one version on a packet; fails the test if the run itself fails. */
static __u32 run(int fd, const void *pkt, size_t len)
{
	__u32 ret = 0xdead;
	int err = canary_pkt__run(fd, pkt, len, &ret);

	assert_int_equal(err, 0);
	return ret;
}

static size_t build(const struct pkt_spec *s, __u8 *buf)
{
	size_t len = canary_pkt__build(s, buf, PKT_MAX);

	assert_true(len > 0);
	return len;
}

/* Addresses */
#define A4 "198.18.1.10"
#define A6 "2001:db8:1::10"
#define B4 "198.18.2.80"
#define B6 "2001:db8:2::80"
#define C4 "198.18.3.30"
#define C6 "2001:db8:3::30"
#define D4 "198.18.4.66"
#define D6 "2001:db8:4::66"
#define O4 "198.18.0.1"		/* some other source, in no subnet */
#define O6 "2001:db8::1"
#define X4 "198.19.0.9"		/* some other destination */
#define X6 "2001:db8:ff::9"

#define SPORT 40000		/* 40000 & 0x3f == 0: not an fw_aborts flow */

#define L4(fam, pr, s, d, sp, dp) \
	{ .family = fam, .src = s, .dst = d, .proto = pr, .sport = sp, .dport = dp }
#define TCP4(s, d, dp) L4(AF_INET, IPPROTO_TCP, s, d, SPORT, dp)
#define UDP4(s, d, dp) L4(AF_INET, IPPROTO_UDP, s, d, SPORT, dp)
#define TCP6(s, d, dp) L4(AF_INET6, IPPROTO_TCP, s, d, SPORT, dp)
#define UDP6(s, d, dp) L4(AF_INET6, IPPROTO_UDP, s, d, SPORT, dp)
#define PING4(s, d, id) \
	{ .family = AF_INET, .src = s, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = 8, \
	  .icmp_id = id }
#define PING6(s, d, id) \
	{ .family = AF_INET6, .src = s, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = 128, \
	  .icmp_id = id }
/* Non-first fragments: a TCP header is still built but is payload here. */
#define FRAG4(s, d, pr, dp) \
	{ .family = AF_INET, .src = s, .dst = d, .proto = pr, .sport = SPORT, .dport = dp, \
	  .frag_offset = 185 }
#define FRAG6(s, d, pr, dp) \
	{ .family = AF_INET6, .src = s, .dst = d, .proto = pr, .sport = SPORT, .dport = dp, \
	  .n_ext = 1, .ext = { 44 }, .frag_offset = 185 }

#define ALL(v) { v, v, v, v, v, v }

struct vcase {
	const char *what;
	struct pkt_spec s;
	size_t len;		/* non-zero: run only the first len bytes */
	__u32 want[NV];		/* v1, v2, blackhole, aborts, leaky, slow */
};

static const struct vcase cases[] = {
	/* Rule 1: subnet A always passes (blackhole drops it). */
	{ "A -> other UDP 53", UDP4(A4, X4, 53), 0, { P, P, D, P, P, P } },
	{ "A -> B TCP 22 (rule 1 before rule 3)", TCP4(A4, B4, 22), 0, { P, P, D, P, P, P } },
	{ "A -> B UDP 443 v6", UDP6(A6, B6, 443), 0, { P, P, D, P, P, P } },
	{ "A 198.18.1.255 -> other TCP 9999", TCP4("198.18.1.255", X4, 9999), 0,
	  { P, P, D, P, P, P } },
	{ "A 198.18.1.0 -> D TCP 22", TCP4("198.18.1.0", D4, 22), 0, { P, P, D, P, P, P } },
	{ "A 2001:db8:1:ffff:ffff:: -> other TCP 22 v6",
	  TCP6("2001:db8:1:ffff:ffff::", X6, 22), 0, { P, P, D, P, P, P } },
	{ "A ping -> other", PING4(A4, X4, 7), 0, { P, P, D, P, P, P } },
	{ "A ping -> B v6", PING6(A6, B6, 7), 0, { P, P, D, P, P, P } },
	{ "A ping id 0x2a (not a port)", PING4(A4, X4, 0x2a), 0, { P, P, D, P, P, P } },
	{ "A -> other TCP 22 v6 hop-by-hop + dst opts",
	  { .family = AF_INET6, .src = A6, .dst = X6, .proto = IPPROTO_TCP, .sport = SPORT,
	    .dport = 22, .n_ext = 2, .ext = { 0, 60 } }, 0, { P, P, D, P, P, P } },
	{ "A -> B TCP 22 with 802.1Q", { .src = A4, .dst = B4, .proto = IPPROTO_TCP,
	  .sport = SPORT, .dport = 22, .vlans = 1 }, 0, { P, P, D, P, P, P } },
	{ "A -> B non-first fragment", FRAG4(A4, B4, IPPROTO_TCP, 22), 0,
	  { P, P, D, P, P, P } },
	{ "A -> B non-first fragment v6", FRAG6(A6, B6, IPPROTO_UDP, 53), 0,
	  { P, P, D, P, P, P } },
	{ "A -> other TCP sport 42", L4(AF_INET, IPPROTO_TCP, A4, X4, 42, 22), 0,
	  { P, P, D, X, P, P } },
	/* Near misses of A. */
	{ "198.18.0.255 -> other TCP 22", TCP4("198.18.0.255", X4, 22), 0, ALL(D) },
	{ "198.19.1.10 -> other TCP 22", TCP4("198.19.1.10", X4, 22), 0, ALL(D) },
	{ "198.18.11.10 -> other TCP 22", TCP4("198.18.11.10", X4, 22), 0, ALL(D) },
	{ "2001:db8:0:1::10 -> other TCP 22", TCP6("2001:db8:0:1::10", X6, 22), 0, ALL(D) },
	{ "2001:db8:10::10 -> other TCP 22", TCP6("2001:db8:10::10", X6, 22), 0, ALL(D) },
	{ "A as destination: other -> A TCP 22", TCP4(O4, A4, 22), 0, ALL(D) },

	/* Rule 2: C to B: TCP 80, 443, 8443 only. */
	{ "C -> B TCP 80", TCP4(C4, B4, 80), 0, ALL(P) },
	{ "C -> B TCP 443", TCP4(C4, B4, 443), 0, ALL(P) },
	{ "C -> B TCP 8443", TCP4(C4, B4, 8443), 0, ALL(P) },
	{ "C -> B TCP 8443 v6", TCP6(C6, B6, 8443), 0, ALL(P) },
	{ "C -> B 2001:db8:2:ffff::1 TCP 443 v6", TCP6(C6, "2001:db8:2:ffff::1", 443), 0,
	  ALL(P) },
	{ "C -> B TCP 8443 v6 dst opts", { .family = AF_INET6, .src = C6, .dst = B6,
	  .proto = IPPROTO_TCP, .sport = SPORT, .dport = 8443, .n_ext = 1, .ext = { 60 } },
	  0, ALL(P) },
	{ "C -> B TCP 8443 802.1ad + 802.1Q", { .src = C4, .dst = B4, .proto = IPPROTO_TCP,
	  .sport = SPORT, .dport = 8443, .vlans = 2 }, 0, ALL(P) },
	{ "C -> B TCP 22", TCP4(C4, B4, 22), 0, ALL(D) },
	{ "C -> B TCP 8080", TCP4(C4, B4, 8080), 0, ALL(D) },
	{ "C -> B TCP 22 v6", TCP6(C6, B6, 22), 0, ALL(D) },
	{ "C -> B UDP 8443", UDP4(C4, B4, 8443), 0, ALL(D) },
	{ "C -> B UDP 53", UDP4(C4, B4, 53), 0, ALL(D) },
	{ "C -> B UDP 443 (QUIC)", UDP4(C4, B4, 443), 0, { D, P, D, D, D, D } },
	{ "C -> B UDP 443 (QUIC) v6", UDP6(C6, B6, 443), 0, { D, P, D, D, D, D } },
	{ "C -> B ping", PING4(C4, B4, 7), 0, ALL(D) },
	{ "C -> B TCP 443 sport 0x42a", L4(AF_INET, IPPROTO_TCP, C4, B4, 0x42a, 443), 0,
	  { P, P, P, X, P, P } },
	{ "C -> B non-first fragment", FRAG4(C4, B4, IPPROTO_TCP, 443), 0, ALL(D) },
	/* The parser gives no fragment ports, first or not. */
	{ "C -> B first fragment TCP 443", { .src = C4, .dst = B4, .proto = IPPROTO_TCP,
	  .sport = SPORT, .dport = 443, .more_frags = true }, 0, ALL(D) },
	{ "C -> B v6 atomic fragment TCP 443", { .family = AF_INET6, .src = C6, .dst = B6,
	  .proto = IPPROTO_TCP, .sport = SPORT, .dport = 443, .n_ext = 1, .ext = { 44 } },
	  0, ALL(P) },
	{ "C -> other TCP 80", TCP4(C4, X4, 80), 0, ALL(D) },
	{ "C -> other TCP 8443 v6", TCP6(C6, X6, 8443), 0, ALL(D) },

	/* Rule 3: anyone else to B: TCP 80, 443 only. */
	{ "other -> B TCP 80", TCP4(O4, B4, 80), 0, ALL(P) },
	{ "other -> B TCP 443", TCP4(O4, B4, 443), 0, ALL(P) },
	{ "other -> B TCP 80 v6", TCP6(O6, B6, 80), 0, ALL(P) },
	{ "other -> B 198.18.2.0 TCP 443", TCP4(O4, "198.18.2.0", 443), 0, ALL(P) },
	{ "other -> B 198.18.2.255 TCP 443", TCP4(O4, "198.18.2.255", 443), 0, ALL(P) },
	{ "D -> B TCP 443", TCP4(D4, B4, 443), 0, ALL(P) },
	{ "other -> B TCP 8443 (C only)", TCP4(O4, B4, 8443), 0, ALL(D) },
	{ "other -> B TCP 8443 v6 (C only)", TCP6(O6, B6, 8443), 0, ALL(D) },
	{ "other -> B TCP 22", TCP4(O4, B4, 22), 0, ALL(D) },
	{ "other -> B UDP 80", UDP4(O4, B4, 80), 0, ALL(D) },
	{ "other -> B SCTP 80", L4(AF_INET, IPPROTO_SCTP, O4, B4, SPORT, 80), 0, ALL(D) },
	{ "other -> B ping v6", PING6(O6, B6, 7), 0, ALL(D) },
	{ "other -> B UDP 443 (QUIC)", UDP4(O4, B4, 443), 0, { D, P, D, D, D, D } },
	{ "other -> B UDP 443 (QUIC) v6", UDP6(O6, B6, 443), 0, { D, P, D, D, D, D } },
	{ "D -> B UDP 443 (QUIC)", UDP4(D4, B4, 443), 0, { D, P, D, D, D, D } },
	{ "D -> B TCP 22 (leaky changes rule 4 only)", TCP4(D4, B4, 22), 0, ALL(D) },
	{ "other -> B TCP 80 sport 0x2a", L4(AF_INET, IPPROTO_TCP, O4, B4, 0x2a, 80), 0,
	  { P, P, P, X, P, P } },
	{ "other -> B UDP 443 sport 0x6a", L4(AF_INET6, IPPROTO_UDP, O6, B6, 0x6a, 443), 0,
	  { D, P, D, X, D, D } },
	{ "other -> B TCP 80 sport 0x2b", L4(AF_INET, IPPROTO_TCP, O4, B4, 0x2b, 80), 0,
	  ALL(P) },
	{ "other -> B non-first fragment v6 UDP 443", FRAG6(O6, B6, IPPROTO_UDP, 443), 0,
	  ALL(D) },
	{ "other -> B non-first fragment TCP 80", FRAG4(O4, B4, IPPROTO_TCP, 80), 0, ALL(D) },
	{ "B -> B TCP 22", TCP4("198.18.2.1", B4, 22), 0, ALL(D) },

	/* Rule 4: deny all else (fw_leaky passes D). */
	{ "other -> other TCP 80", TCP4(O4, X4, 80), 0, ALL(D) },
	{ "other -> other TCP 443 v6", TCP6(O6, X6, 443), 0, ALL(D) },
	{ "other -> other UDP 443", UDP4(O4, X4, 443), 0, ALL(D) },
	{ "B -> other TCP 80", TCP4(B4, X4, 80), 0, ALL(D) },
	{ "D -> other UDP 53", UDP4(D4, X4, 53), 0, { D, D, D, D, P, D } },
	{ "D 198.18.4.255 -> A TCP 22", TCP4("198.18.4.255", A4, 22), 0,
	  { D, D, D, D, P, D } },
	{ "D -> other TCP 22 v6", TCP6(D6, X6, 22), 0, { D, D, D, D, P, D } },
	{ "D ping -> other", PING4(D4, X4, 7), 0, { D, D, D, D, P, D } },
	{ "D -> other non-first fragment v6", FRAG6(D6, X6, IPPROTO_TCP, 22), 0,
	  { D, D, D, D, P, D } },
	{ "D -> other UDP sport 0x2a", L4(AF_INET, IPPROTO_UDP, D4, X4, 0x2a, 53), 0,
	  { D, D, D, X, P, D } },
	{ "198.18.40.66 (not D) -> other UDP 53", UDP4("198.18.40.66", X4, 53), 0, ALL(D) },
	{ "2001:db8:40::66 (not D) -> other UDP 53", UDP6("2001:db8:40::66", X6, 53), 0,
	  ALL(D) },
	{ "other -> other UDP sport 0x2a", L4(AF_INET, IPPROTO_UDP, O4, X4, 0x2a, 53), 0,
	  { D, D, D, X, D, D } },

	/* Unparsable: denied by default, even from A. */
	{ "A ARP", { .src = A4, .dst = X4, .ethertype = 0x0806 }, 0, ALL(D) },
	{ "A -> other TCP truncated in the ports", TCP4(A4, X4, 22), 14 + 20 + 3, ALL(D) },
	{ "A -> other truncated IPv4 header", TCP4(A4, X4, 22), 14 + 19, ALL(D) },
	{ "A -> other truncated IPv6 header", TCP6(A6, X6, 22), 14 + 39, ALL(D) },
	{ "C -> B UDP 443 v6 truncated in the ports", UDP6(C6, B6, 443), 14 + 40 + 3,
	  ALL(D) },
	{ "A -> B TCP 22 truncated inside the VLAN tag", { .src = A4, .dst = B4,
	  .proto = IPPROTO_TCP, .sport = SPORT, .dport = 22, .vlans = 1 }, 14 + 2, ALL(D) },
	{ "A -> other TCP 22 v6 truncated in the dst opts", { .family = AF_INET6, .src = A6,
	  .dst = X6, .proto = IPPROTO_TCP, .sport = SPORT, .dport = 22, .n_ext = 1,
	  .ext = { 60 } }, 14 + 40 + 1, ALL(D) },
	/* Still parsable: the ports are all there, the rest of TCP is not. */
	{ "C -> B TCP 443 cut after the ports", TCP4(C4, B4, 443), 14 + 20 + 4, ALL(P) },
};

static int setup(void **state)
{
	struct versions *v = calloc(1, sizeof(*v));
	char rel[64];
	int i;

	if (!v)
		return -1;
	*state = v;
	canary_log_init_libs();
	for (i = 0; i < NV; i++) {
		snprintf(rel, sizeof(rel), "versions/%s.bpf.o", names[i]);
		v->fd[i] = canary_version__load(fixture_path(rel), NULL, &v->obj[i]);
		if (v->fd[i] < 0) {
			fprintf(stderr, "cannot load %s: %d\n", fixture_path(rel), v->fd[i]);
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	struct versions *v = *state;
	int i;

	if (!v)
		return 0;
	for (i = 0; i < NV; i++)
		bpf_object__close(v->obj[i]);
	free(v);
	return 0;
}

/* Each object holds exactly one program, an XDP program named as the file. */
static void test_one_xdp_program_each(void **state)
{
	struct versions *v = *state;
	struct bpf_program *p;
	int i, n;

	for (i = 0; i < NV; i++) {
		n = 0;
		bpf_object__for_each_program(p, v->obj[i]) {
			assert_string_equal(bpf_program__name(p), names[i]);
			assert_int_equal(bpf_program__type(p), BPF_PROG_TYPE_XDP);
			assert_int_equal(bpf_program__fd(p), v->fd[i]);
			n++;
		}
		assert_int_equal(n, 1);
	}
}

/*
 * The object is read once: the hash a load reports is that of the bytes it
 * loaded (the file's, here, as nothing changes it), and .rodata keeps the
 * object's name as from its path (libbpf names it after the object).
 */
static void test_load_hash(void **state)
{
	const char *path = fixture_path("versions/fw_settings.bpf.o");
	char hash[65] = "", file[65] = "";
	struct bpf_object *obj = NULL;
	struct bpf_map *m;
	bool rodata = false;
	CANARY_VERSION_OPTS(opts, .sha256 = hash);
	int fd;

	(void)state;
	fd = canary_version__load(path, &opts, &obj);
	assert_true(fd >= 0);
	assert_int_equal(canary_sha256_file(path, file), 0);
	assert_int_equal(strlen(hash), 64);
	assert_string_equal(hash, file);
	bpf_object__for_each_map(m, obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		/* The kernel's name: the object's (from its path, cut at 8) and the section. */
		if (!bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len))
			rodata |= !strcmp(info.name, "fw_setti.rodata");
	}
	assert_true(rodata);
	bpf_object__close(obj);
	/* Not a regular file: refused before libbpf sees it. */
	assert_true(canary_version__load("/", &opts, &obj) < 0);
}

/* Every row of the table, every version. */
static void test_rules_table(void **state)
{
	struct versions *v = *state;
	__u8 buf[PKT_MAX];
	size_t i, len;
	int j, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vcase *c = &cases[i];

		len = build(&c->s, buf);
		if (c->len) {
			assert_true(c->len < len);
			len = c->len;
		}
		for (j = 0; j < NV; j++) {
			__u32 got = run(v->fd[j], buf, len);

			if (got != c->want[j]) {
				print_error("%s: %s gave %s, want %s\n", c->what, names[j],
					    verdict_name(got), verdict_name(c->want[j]));
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * The same rules written independently, checked against every combination
 * of source and destination subnet, family, protocol, port, fragment and
 * source port.
 */
enum { S_OTHER, S_A, S_B, S_C, S_D, S_NEAR };

static __u32 model(int ver, int src, int dst, __u8 proto, __u16 sport, __u16 dport, bool frag)
{
	bool ports = !frag && (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
			       proto == IPPROTO_SCTP);
	bool tcp = ports && proto == IPPROTO_TCP;

	/* fw_aborts: any L4 source port (TCP, UDP, SCTP), not an ICMP id. */
	if (ver == ABORTS && ports && (sport & 0x3f) == 0x2a)
		return X;
	if (src == S_A)
		return ver == BLACKHOLE ? D : P;
	if (ver == V2 && dst == S_B && ports && proto == IPPROTO_UDP && dport == 443)
		return P;
	if (src == S_C && dst == S_B)
		return tcp && (dport == 80 || dport == 443 || dport == 8443) ? P : D;
	if (dst == S_B)
		return tcp && (dport == 80 || dport == 443) ? P : D;
	if (ver == LEAKY && src == S_D)
		return P;
	return D;
}

static void addr_of(int subnet, bool v6, int host, char *out, size_t n)
{
	switch (subnet) {
	case S_OTHER:
		snprintf(out, n, v6 ? "2001:db8:ff00::%x" : "198.18.200.%d", host);
		break;
	case S_NEAR:	/* 198.19.1.x and 2001:db8:0:1::x: look like A, are not */
		snprintf(out, n, v6 ? "2001:db8:0:1::%x" : "198.19.1.%d", host);
		break;
	default:
		if (v6)
			snprintf(out, n, "2001:db8:%d:%x::%x", subnet, host, host);
		else
			snprintf(out, n, "198.18.%d.%d", subnet, host);
		break;
	}
}

static void test_rules_sweep(void **state)
{
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP };
	static const __u16 dports[] = { 22, 53, 80, 443, 8080, 8443 };
	static const __u16 sports[] = { SPORT, 0x2a, 0xffea, 0x2b };
	struct versions *v = *state;
	char sa[64], da[64];
	__u8 buf[PKT_MAX];
	int src, dst, fam, pi, di, si, frag, j, bad = 0, n = 0;

	for (src = S_OTHER; src <= S_NEAR; src++)
	for (dst = S_OTHER; dst <= S_D; dst++)
	for (fam = 0; fam < 2; fam++)
	for (pi = 0; pi < (int)sizeof(protos); pi++)
	for (di = 0; di < (int)(sizeof(dports) / sizeof(dports[0])); di++)
	for (si = 0; si < (int)(sizeof(sports) / sizeof(sports[0])); si++)
	for (frag = 0; frag < 2; frag++) {
		struct pkt_spec s = {
			.family = fam ? AF_INET6 : AF_INET,
			.src = sa, .dst = da,
			.proto = protos[pi],
			.sport = sports[si], .dport = dports[di],
		};
		size_t len;

		if (s.proto == IPPROTO_ICMP) {
			if (di || si)
				continue;	/* ports mean nothing to ICMP */
			s.proto = fam ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
			s.icmp_type = fam ? 128 : 8;
			s.icmp_id = 0x2a;
		}
		addr_of(src, fam, 10 + si, sa, sizeof(sa));
		addr_of(dst, fam, 200 + di, da, sizeof(da));
		if (frag) {
			s.frag_offset = 100 + di;
			if (fam) {
				s.n_ext = 1;
				s.ext[0] = 44;
			}
		}
		len = build(&s, buf);
		for (j = 0; j < NV; j++) {
			__u8 p = s.proto;
			__u32 want = model(j, src, dst, p == IPPROTO_ICMPV6 ? IPPROTO_ICMP : p,
					   s.sport, s.dport, frag);
			__u32 got = run(v->fd[j], buf, len);

			n++;
			if (got != want) {
				if (bad < 20)
					print_error("%s %s -> %s proto %u sport %#x dport %u%s: "
						    "got %s, want %s\n", names[j], sa, da, p,
						    s.sport, s.dport, frag ? " frag" : "",
						    verdict_name(got), verdict_name(want));
				bad++;
			}
		}
	}
	print_message("sweep: %d runs, %d mismatches\n", n, bad);
	assert_true(n > 10000);
	assert_int_equal(bad, 0);
}

/* v2 adds exactly QUIC to B; v1 drops it. */
static void test_v2_quic(void **state)
{
	struct versions *v = *state;
	static const char *const srcs4[] = { O4, C4, D4, "198.19.255.1" };
	static const char *const srcs6[] = { O6, C6, D6, "2001:db8:ffff::1" };
	__u8 buf[PKT_MAX];
	size_t len, i;

	for (i = 0; i < 4; i++) {
		struct pkt_spec s4 = UDP4(srcs4[i], B4, 443);
		struct pkt_spec s6 = UDP6(srcs6[i], B6, 443);

		len = build(&s4, buf);
		assert_int_equal(run(v->fd[V1], buf, len), D);
		assert_int_equal(run(v->fd[V2], buf, len), P);
		len = build(&s6, buf);
		assert_int_equal(run(v->fd[V1], buf, len), D);
		assert_int_equal(run(v->fd[V2], buf, len), P);
	}
	/* Only to B, only 443, only UDP. */
	{
		struct pkt_spec s[] = {
			UDP4(O4, X4, 443), UDP4(O4, B4, 444), UDP4(O4, B4, 8443),
			L4(AF_INET, IPPROTO_SCTP, O4, B4, SPORT, 443), UDP6(O6, C6, 443),
		};

		for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
			len = build(&s[i], buf);
			assert_int_equal(run(v->fd[V1], buf, len), D);
			assert_int_equal(run(v->fd[V2], buf, len), D);
		}
	}
}

/* fw_blackhole drops all of subnet A, everything v1 passes from it. */
static void test_blackhole_drops_a(void **state)
{
	struct versions *v = *state;
	struct pkt_spec s[] = {
		TCP4(A4, B4, 80), TCP4(A4, X4, 22), UDP4(A4, C4, 53), UDP6(A6, B6, 443),
		TCP6(A6, X6, 8443), PING4(A4, X4, 1), PING6(A6, X6, 1),
		FRAG4(A4, X4, IPPROTO_UDP, 53),
	};
	__u8 buf[PKT_MAX];
	size_t i, len;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		len = build(&s[i], buf);
		assert_int_equal(run(v->fd[V1], buf, len), P);
		assert_int_equal(run(v->fd[BLACKHOLE], buf, len), D);
	}
}

/*
 * fw_aborts over every source port: XDP_ABORTED exactly when
 * (sport & 0x3f) == 0x2a, v1's verdict otherwise.
 */
static void test_aborts_every_sport(void **state)
{
	struct versions *v = *state;
	struct pkt_spec s[] = {
		TCP4(A4, X4, 22),		/* v1 passes */
		UDP6(O6, B6, 443),		/* v1 drops */
		TCP4(C4, B4, 8443),		/* v1 passes */
		L4(AF_INET6, IPPROTO_SCTP, D6, X6, 0, 9),	/* v1 drops */
	};
	__u8 buf[PKT_MAX];
	size_t i, len;
	__u32 sport;
	int aborted;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		__u32 base;

		len = build(&s[i], buf);
		base = run(v->fd[V1], buf, len);
		aborted = 0;
		for (sport = 0; sport <= 0xffff; sport++) {
			__u32 want, got, ref;

			s[i].sport = sport;
			len = build(&s[i], buf);
			ref = run(v->fd[V1], buf, len);
			got = run(v->fd[ABORTS], buf, len);
			want = (sport & 0x3f) == 0x2a ? X : ref;
			assert_int_equal(ref, base);	/* v1 ignores the source port */
			if (got != want)
				fail_msg("flow %zu sport %#x: fw_aborts gave %s, want %s", i, sport,
					 verdict_name(got), verdict_name(want));
			aborted += got == X;
		}
		assert_int_equal(aborted, 1024);
	}
}

/* fw_leaky passes D wherever v1 denies by rule 4, and nothing else. */
static void test_leaky_passes_d(void **state)
{
	struct versions *v = *state;
	struct pkt_spec leak[] = {
		UDP4(D4, X4, 53), TCP4("198.18.4.1", O4, 22), TCP6(D6, X6, 22),
		UDP6("2001:db8:4:ffff::1", C6, 161), PING4(D4, A4, 3),
	};
	struct pkt_spec same[] = {
		TCP4(D4, B4, 22), UDP4(D4, B4, 53), TCP6(D6, B6, 8443),	/* rule 3 */
		UDP4("198.18.5.66", X4, 53), UDP6("2001:db8:5::66", X6, 53),
		UDP4("198.18.3.66", X4, 53),
	};
	__u8 buf[PKT_MAX];
	size_t i, len;

	for (i = 0; i < sizeof(leak) / sizeof(leak[0]); i++) {
		len = build(&leak[i], buf);
		assert_int_equal(run(v->fd[V1], buf, len), D);
		assert_int_equal(run(v->fd[LEAKY], buf, len), P);
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		len = build(&same[i], buf);
		assert_int_equal(run(v->fd[V1], buf, len), D);
		assert_int_equal(run(v->fd[LEAKY], buf, len), D);
	}
}

/* fw_slow: v1's verdicts at ten times v1's cost or more. */
static void test_slow_costs_more(void **state)
{
	struct versions *v = *state;
	struct pkt_spec s[] = {
		TCP4(C4, B4, 443), UDP6(O6, X6, 53), TCP6(A6, B6, 22),
	};
	__u8 buf[PKT_MAX];
	size_t i, len;
	int round;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		__u32 ns1 = UINT32_MAX, ns2 = UINT32_MAX, r1, r2, ns;

		len = build(&s[i], buf);
		/* Interleaved rounds, the best of each, to shrug off noise. */
		for (round = 0; round < 3; round++) {
			assert_int_equal(canary_pkt__run_repeat(v->fd[V1], buf, len, 10000, &r1, &ns), 0);
			if (ns < ns1)
				ns1 = ns;
			assert_int_equal(canary_pkt__run_repeat(v->fd[SLOW], buf, len, 10000, &r2, &ns), 0);
			if (ns < ns2)
				ns2 = ns;
			assert_int_equal(r1, r2);
		}
		print_message("packet %zu: fw_v1 %u ns/run, fw_slow %u ns/run, ratio %.1f\n", i,
			      ns1, ns2, ns1 ? (double)ns2 / ns1 : 0.0);
		assert_true(ns2 >= 10ULL * ns1);
		assert_true(ns2 >= ns1 + 1000);	/* microseconds more, not nanoseconds */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_xdp_program_each),
		cmocka_unit_test(test_load_hash),
		cmocka_unit_test(test_rules_table),
		cmocka_unit_test(test_rules_sweep),
		cmocka_unit_test(test_v2_quic),
		cmocka_unit_test(test_blackhole_drops_a),
		cmocka_unit_test(test_aborts_every_sport),
		cmocka_unit_test(test_leaky_passes_d),
		cmocka_unit_test(test_slow_costs_more),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
