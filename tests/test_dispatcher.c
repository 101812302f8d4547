// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Dispatcher datapath tests through BPF_PROG_TEST_RUN: parsing, split,
 * pin rules, verdict capture, fallbacks, circuit breaker, cost sampling,
 * per-stratum counts, the idle path and the switch between idle and split.
 *
 * Slot programs are stand-ins from tests/bpf/verdicts.bpf.c, so the
 * dispatcher's return value tells which slot handled a packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "pkt.h"
#include "replay.h"
#include "version.h"
#include "../rollout/shadow.h"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_open(f)) {
		fprintf(stderr, "cannot load the dispatcher and test versions (run as root after make)\n");
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_close(*state);
	free(*state);
	return 0;
}

static __u32 run(struct fixture *f, const struct pkt_spec *s)
{
	__u8 buf[PKT_MAX];
	size_t n = canary_pkt__build(s, buf, sizeof(buf));
	__u32 ret = 0;

	assert_true(n > 0);
	assert_int_equal(canary_pkt__run(f->disp, buf, n, &ret), 0);
	return ret;
}

/* Packets handled by a row, over all classes, and the sum of its verdicts. */
static __u64 row_packets(struct fixture *f, __u32 row, __u32 cls)
{
	return fixture_counters(f, row, cls)->packets;
}

/* slot 0 = PASS, slot 1 = DROP at share bp: the verdict names the slot. */
static void two_slots(struct fixture *f, __u32 bp, __u32 flags)
{
	struct canary_config cfg;

	assert_int_equal(canary_dp__set_slot(f->dp, 0, f->fd[CANARY_V_PASS]), 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
	canary_dp__get_config(f->dp, &cfg);
	memset(cfg.range, 0, sizeof(cfg.range));
	cfg.range[1].hi = bp;
	cfg.flags = (cfg.flags & ~(CANARY_F_SYMMETRIC | CANARY_F_FAIL_CLOSED)) | flags;
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), 0);
}

/* The slot user space predicts for a parsed IPv4/IPv6 flow. */
static __u32 predict(struct fixture *f, const struct pkt_spec *s, __u16 sport, __u16 dport,
		     __u8 proto)
{
	struct canary_config cfg;
	__u32 sa[4] = {}, da[4] = {}, h, b;
	bool v6 = s->family == AF_INET6;

	canary_dp__get_config(f->dp, &cfg);
	inet_pton(v6 ? AF_INET6 : AF_INET, s->src ? s->src : (v6 ? "2001:db8::1" : "198.18.0.1"),
		  sa);
	inet_pton(v6 ? AF_INET6 : AF_INET, s->dst ? s->dst : (v6 ? "2001:db8::2" : "198.18.0.2"),
		  da);
	if (v6)
		h = canary_hash_v6(sa, da, (__u32)sport << 16 | dport, proto, cfg.seed);
	else
		h = canary_hash_v4(sa[0], da[0], (__u32)sport << 16 | dport, proto, cfg.seed);
	b = canary_bucket(h);
	return b >= cfg.range[1].lo && b < cfg.range[1].hi ? 1 : 0;
}

struct parse_case {
	const char *name;
	struct pkt_spec s;
	bool parsed;
	/* what the dispatcher must hash: ports and protocol after parsing */
	__u16 sport, dport;
	__u8 proto;
};

#define UDP IPPROTO_UDP
#define TCP IPPROTO_TCP

static const struct parse_case parse_cases[] = {
	{ "v4 udp", { .sport = 1000, .dport = 53 }, true, 1000, 53, UDP },
	{ "v4 tcp", { .proto = TCP, .sport = 40000, .dport = 443 }, true, 40000, 443, TCP },
	{ "v4 sctp", { .proto = IPPROTO_SCTP, .sport = 7, .dport = 9 }, true, 7, 9, IPPROTO_SCTP },
	{ "v4 icmp echo", { .proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 77 }, true, 77,
	  8 << 8, IPPROTO_ICMP },
	{ "v4 icmp unreach", { .proto = IPPROTO_ICMP, .icmp_type = 3 }, true, 0, 3 << 8,
	  IPPROTO_ICMP },
	{ "v4 gre (no ports)", { .proto = 47 }, true, 0, 0, 47 },
	{ "v4 options", { .sport = 5, .dport = 6, .ip_opts = 12 }, true, 5, 6, UDP },
	{ "v4 max options", { .sport = 5, .dport = 6, .ip_opts = 40 }, true, 5, 6, UDP },
	{ "v4 first fragment", { .sport = 5, .dport = 6, .more_frags = true }, true, 0, 0, UDP },
	{ "v4 later fragment", { .sport = 5, .dport = 6, .frag_offset = 100 }, true, 0, 0, UDP },
	{ "v4 802.1Q", { .sport = 11, .dport = 12, .vlans = 1 }, true, 11, 12, UDP },
	{ "v4 QinQ", { .sport = 11, .dport = 12, .vlans = 2 }, true, 11, 12, UDP },
	{ "v6 udp", { .family = AF_INET6, .sport = 1, .dport = 2 }, true, 1, 2, UDP },
	{ "v6 tcp QinQ", { .family = AF_INET6, .proto = TCP, .sport = 3, .dport = 4, .vlans = 2 },
	  true, 3, 4, TCP },
	{ "v6 hop-by-hop", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 1,
			     .ext = { 0 } }, true, 8, 9, UDP },
	{ "v6 hbh+routing+dst+ah", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 4,
				     .ext = { 0, 43, 60, 51 } }, true, 8, 9, UDP },
	{ "v6 first fragment", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 1,
				 .ext = { 44 }, .more_frags = true }, true, 0, 0, UDP },
	{ "v6 later fragment", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 2,
				 .ext = { 60, 44 }, .frag_offset = 9 }, true, 0, 0, UDP },
	{ "v6 atomic fragment", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 1,
				  .ext = { 44 } }, true, 8, 9, UDP },
	{ "v6 icmp echo", { .family = AF_INET6, .proto = IPPROTO_ICMPV6, .icmp_type = 128,
			    .icmp_id = 5 }, true, 5, 128 << 8, IPPROTO_ICMPV6 },
	{ "v6 six ext", { .family = AF_INET6, .sport = 1, .dport = 2, .n_ext = 6,
			  .ext = { 0, 60, 60, 60, 60, 60 } }, true, 1, 2, UDP },
	{ "v6 seven ext (too many)", { .family = AF_INET6, .n_ext = 7,
				       .ext = { 0, 60, 60, 60, 60, 60, 60 } }, false, 0, 0, 0 },
	{ "v6 frag then dst opts", { .family = AF_INET6, .sport = 8, .dport = 9, .n_ext = 2,
				     .ext = { 44, 60 }, .frag_offset = 3 }, true, 0, 0, 60 },
	{ "v6 first frag then dst opts", { .family = AF_INET6, .sport = 8, .dport = 9,
					   .n_ext = 2, .ext = { 44, 60 }, .more_frags = true },
	  true, 0, 0, 60 },
	{ "arp", { .ethertype = 0x0806 }, false, 0, 0, 0 },
};

/* Every protocol path hashes exactly the tuple user space predicts. */
static void test_parse_paths(void **state)
{
	struct fixture *f = *state;
	size_t i;
	int seed;

	for (seed = 0; seed < 8; seed++) {
		struct canary_config cfg;

		two_slots(f, 5000, 0);
		canary_dp__get_config(f->dp, &cfg);
		cfg.seed = 0x9e3779b9u * (seed + 1);
		assert_int_equal(canary_dp__set_config(f->dp, &cfg), 0);
		for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
			const struct parse_case *pc = &parse_cases[i];
			__u64 before = row_packets(f, 0, CANARY_CLASS_UNPARSED);
			__u32 want = pc->parsed ? predict(f, &pc->s, pc->sport, pc->dport, pc->proto)
						: 0;
			__u32 got = run(f, &pc->s);

			if (got != (want ? XDP_DROP : XDP_PASS))
				fail_msg("%s (seed %d): went to slot %s, expected slot %u", pc->name,
					 seed, got == XDP_DROP ? "1" : "0", want);
			if (row_packets(f, 0, CANARY_CLASS_UNPARSED) - before != (pc->parsed ? 0 : 1))
				fail_msg("%s: unparsed class count wrong", pc->name);
		}
	}
}

static __u64 total_packets(struct fixture *f, __u64 *aborted)
{
	__u64 total = 0;
	__u32 i;

	assert_int_equal(canary_dp__read_counters(f->dp, f->c), 0);
	*aborted = 0;
	for (i = 0; i < CANARY_COUNTERS_ENTRIES; i++) {
		total += f->c[i].packets;
		*aborted += f->c[i].verdict[CANARY_V_ABORTED];
	}
	return total;
}

/* Every truncation of every valid packet lands in a defined slot, never aborts. */
static void test_truncation(void **state)
{
	struct fixture *f = *state;
	__u64 runs = 0, total0, total1, ab0, ab1;
	size_t i, len, n, min_l3;
	__u8 buf[PKT_MAX];

	two_slots(f, 10000, 0);	/* everything parsed goes to slot 1 (DROP) */
	total0 = total_packets(f, &ab0);
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];

		n = canary_pkt__build(&pc->s, buf, sizeof(buf));
		min_l3 = 14 + 4 * (size_t)pc->s.vlans + (pc->s.family == AF_INET6 ? 40 : 20);
		/* BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header. */
		for (len = 14; len <= n; len++, runs++) {
			__u32 ret;

			assert_int_equal(canary_pkt__run(f->disp, buf, len, &ret), 0);
			if (ret != XDP_PASS && ret != XDP_DROP)
				fail_msg("%s cut to %zu bytes: verdict %u", pc->name, len, ret);
			/* The full packet must classify as the case says. */
			if (len == n && (ret == XDP_DROP) != pc->parsed)
				fail_msg("%s: full packet misclassified", pc->name);
			/* Without a whole IP header it is unparsed and stays on stable. */
			if (len < min_l3 && ret != XDP_PASS)
				fail_msg("%s cut to %zu bytes went to a candidate", pc->name, len);
		}
	}
	/* Every run counted exactly once, none aborted. */
	total1 = total_packets(f, &ab1);
	assert_int_equal(total1 - total0, runs);
	assert_int_equal(ab1, ab0);
}

#define SPLIT_FLOWS 200000
static __u8 on_cand[SPLIT_FLOWS];

static void flow_spec(struct pkt_spec *s, char *src, size_t len, __u32 i)
{
	snprintf(src, len, "198.18.%u.%u", 128 + (i >> 16) % 64, (i >> 8) & 0xff);
	*s = (struct pkt_spec){ .src = src, .sport = 1024 + (i & 0xff) * 251 % 60000,
				.dport = 80 + (i >> 22) };
}

/* Shares within +-0.3 pp over 200k flows; raising a share keeps every flow. */
static void test_split_accuracy_monotone(void **state)
{
	static const __u32 shares[] = { 100, 500, 2500, 5000 };
	struct fixture *f = *state;
	char src[32];
	size_t k;
	__u32 i;

	memset(on_cand, 0, sizeof(on_cand));
	for (k = 0; k < sizeof(shares) / sizeof(shares[0]); k++) {
		__u32 cand = 0;
		double got;

		two_slots(f, shares[k], 0);
		if (!k) {
			/*
			 * A fixed seed keeps the test deterministic: with a random one,
			 * sampling noise alone (sd 0.11 pp at 50 % over 200k flows) would
			 * fail it about once in 150 runs.
			 */
			struct canary_config cfg;

			canary_dp__get_config(f->dp, &cfg);
			cfg.seed = 0x9e3779b9u;
			assert_int_equal(canary_dp__set_config(f->dp, &cfg), 0);
		}
		for (i = 0; i < SPLIT_FLOWS; i++) {
			struct pkt_spec s;
			__u32 v;

			flow_spec(&s, src, sizeof(src), i);
			v = run(f, &s);
			if (on_cand[i] && v != XDP_DROP)
				fail_msg("flow %u left the candidate when the share rose to %u bp", i,
					 shares[k]);
			on_cand[i] = v == XDP_DROP;
			cand += on_cand[i];
		}
		got = 100.0 * cand / SPLIT_FLOWS;
		print_message("share %5.2f%%: measured %6.3f%% of %d flows\n", shares[k] / 100.0, got,
			      SPLIT_FLOWS);
		if (got < shares[k] / 100.0 - 0.3 || got > shares[k] / 100.0 + 0.3)
			fail_msg("share %u bp: measured %.3f%%", shares[k], got);
	}
}

/* Symmetric mode sends both directions of a connection to the same version. */
static void test_symmetric(void **state)
{
	struct fixture *f = *state;
	int pass, differ = 0;
	char a[48], b[48];
	__u32 i;

	for (pass = 0; pass < 2; pass++) {
		two_slots(f, 5000, pass ? CANARY_F_SYMMETRIC : 0);
		for (i = 0; i < 2000; i++) {
			bool v6 = i & 1;
			struct pkt_spec fwd, rev;

			if (v6) {
				snprintf(a, sizeof(a), "2001:db8:%x::%x", i, i * 7);
				snprintf(b, sizeof(b), "2001:db8:%x::1", i + 1);
			} else {
				snprintf(a, sizeof(a), "198.18.%u.%u", i >> 8, i & 0xff);
				snprintf(b, sizeof(b), "198.19.%u.%u", i & 0xff, i >> 8);
			}
			fwd = (struct pkt_spec){ .family = v6 ? AF_INET6 : AF_INET, .src = a, .dst = b,
						 .proto = TCP, .sport = 30000 + i, .dport = 443 };
			rev = fwd;
			rev.src = b;
			rev.dst = a;
			rev.sport = 443;
			rev.dport = 30000 + i;
			if (run(f, &fwd) != run(f, &rev)) {
				if (pass)
					fail_msg("flow %u: directions split apart in symmetric mode", i);
				differ++;
			}
		}
		/* Without symmetric mode about half the pairs differ: the test can see it. */
		if (!pass)
			assert_true(differ > 500);
	}
}

static int set_rules(struct fixture *f, const char *const *text, size_t n)
{
	struct canary_pin_rule r[8];
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		assert_int_equal(canary_pin_rule__parse(text[i], &r[i]), 0);
	return canary_dp__set_pins(f->dp, r, n);
}

/* Pin rules override the split and are counted as their own class. */
static void test_pins_override(void **state)
{
	static const char *const rules[] = { "198.18.5.0/24=1", "src 2001:db8:5::/48 -> candidate",
					     "198.18.5.128/25=0" };
	struct fixture *f = *state;
	struct pkt_spec in4 = { .src = "198.18.5.7", .sport = 1 };
	struct pkt_spec in4_more = { .src = "198.18.5.200", .sport = 1 };
	struct pkt_spec in6 = { .family = AF_INET6, .src = "2001:db8:5::99", .sport = 1 };
	struct pkt_spec out4 = { .src = "198.18.6.7", .sport = 1 };
	__u64 pinned;

	two_slots(f, 0, 0);	/* no hash share: only pins reach slot 1 */
	assert_int_equal(run(f, &in4), XDP_PASS);
	assert_int_equal(set_rules(f, rules, 3), 0);
	pinned = row_packets(f, 1, CANARY_CLASS_PINNED);
	assert_int_equal(run(f, &in4), XDP_DROP);
	assert_int_equal(run(f, &in6), XDP_DROP);
	assert_int_equal(run(f, &in4_more), XDP_PASS);	/* longest prefix wins */
	assert_int_equal(run(f, &out4), XDP_PASS);
	assert_int_equal(row_packets(f, 1, CANARY_CLASS_PINNED) - pinned, 2);
	assert_true(row_packets(f, 0, CANARY_CLASS_PINNED) > 0);

	/* At 100 % share a pin to stable still keeps its flows on stable. */
	two_slots(f, 10000, 0);
	assert_int_equal(run(f, &in4_more), XDP_PASS);
	assert_int_equal(run(f, &out4), XDP_DROP);

	/* Removing all rules: back to the split, no lookup enabled. */
	assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
	{
		struct canary_config cfg;

		canary_dp__get_config(f->dp, &cfg);
		assert_int_equal(cfg.flags & CANARY_F_PINS, 0);
	}
	assert_int_equal(run(f, &in4_more), XDP_DROP);

	/* Bad rules are refused. */
	{
		struct canary_pin_rule r;

		assert_int_equal(canary_pin_rule__parse("198.18.0.0/33=1", &r), -EINVAL);
		assert_int_equal(canary_pin_rule__parse("198.18.0.0/24=4", &r), -EINVAL);
		assert_int_equal(canary_pin_rule__parse("198.18.0.0=1", &r), -EINVAL);
		assert_int_equal(canary_pin_rule__parse("2001:db8::/129=1", &r), -EINVAL);
		assert_int_equal(canary_pin_rule__parse("nonsense/8=1", &r), -EINVAL);
	}
}

/* The rule-set counters' change since BEFORE, record by record, into D. */
static void sets_delta(struct fixture *f, const struct canary_ruleset *before,
		       struct canary_ruleset *d)
{
	static struct canary_ruleset now[CANARY_RULESET_ENTRIES];
	__u32 k, v;

	assert_int_equal(canary_dp__read_rulesets(f->dp, now), 0);
	for (k = 0; k < CANARY_RULESET_ENTRIES; k++)
		for (v = 0; v < CANARY_V_MAX; v++)
			d[k].verdict[v] = now[k].verdict[v] - before[k].verdict[v];
}

/* Packets of D outside the (set, row, verdict) records listed in WANT (with their counts). */
struct set_count {
	__u32 set, row, verdict;
	__u64 n;
};

static void assert_sets(const struct canary_ruleset *d, const struct set_count *want, size_t nw)
{
	__u32 set, row, v;
	size_t i;

	for (set = 0; set < CANARY_MAX_RULESETS; set++)
		for (row = 0; row < CANARY_ROWS; row++)
			for (v = 0; v < CANARY_V_MAX; v++) {
				__u64 n = 0;

				for (i = 0; i < nw; i++)
					if (want[i].set == set && want[i].row == row &&
					    want[i].verdict == v)
						n = want[i].n;
				if (canary_ruleset__at(d, set, row)->verdict[v] != n)
					fail_msg("rule set %u row %u verdict %u: %llu, want %llu",
						 set, row, v,
						 (unsigned long long)canary_ruleset__at(d, set, row)
							 ->verdict[v],
						 (unsigned long long)n);
			}
}

/*
 * Rule sets (issue 13): packets matching set 1's and set 2's rules are
 * counted in their own set's record on the row that handled them, the
 * non-matching ones in none; a pinned packet whose candidate slot is empty
 * is counted on stable's row; a set out of range is refused and the rules
 * in place stay as they were.
 */
static void test_rule_sets(void **state)
{
	static const char *const text[] = { "src 198.18.5.0/24 -> candidate",
					     "dst 198.18.9.0/24 -> stable",
					     "src 2001:db8:9::/48 -> candidate",
					     "src 198.18.6.0/24 -> candidate" };
	static const __u32 set_of[] = { 1, 2, 2, 0 };
	static struct canary_ruleset before[CANARY_RULESET_ENTRIES], d[CANARY_RULESET_ENTRIES];
	struct fixture *f = *state;
	struct pkt_spec s1 = { .src = "198.18.5.7", .sport = 1 };
	struct pkt_spec s2 = { .dst = "198.18.9.3", .sport = 2 };
	struct pkt_spec s2v6 = { .family = AF_INET6, .src = "2001:db8:9::5", .sport = 3 };
	struct pkt_spec s0 = { .src = "198.18.6.1", .sport = 4 };
	struct pkt_spec none = { .src = "198.18.7.1", .dst = "198.18.8.1", .sport = 5 };
	struct canary_pin_rule r[4];
	size_t i;
	int k;

	two_slots(f, 0, 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(canary_pin_rule__parse(text[i], &r[i]), 0);
		assert_int_equal(r[i].set, 0);	/* the parser's: the plain set */
		r[i].set = set_of[i];
	}
	assert_int_equal(canary_dp__set_pins(f->dp, r, 4), 0);
	assert_int_equal(canary_dp__read_rulesets(f->dp, before), 0);
	for (k = 0; k < 3; k++)
		assert_int_equal(run(f, &s1), XDP_DROP);
	for (k = 0; k < 2; k++)
		assert_int_equal(run(f, &s2), XDP_PASS);
	assert_int_equal(run(f, &s2v6), XDP_DROP);
	assert_int_equal(run(f, &s0), XDP_DROP);
	for (k = 0; k < 4; k++)
		assert_int_equal(run(f, &none), XDP_PASS);
	sets_delta(f, before, d);
	{
		const struct set_count want[] = {
			{ 1, 1, CANARY_V_DROP, 3 }, { 2, 0, CANARY_V_PASS, 2 },
			{ 2, 1, CANARY_V_DROP, 1 }, { 0, 1, CANARY_V_DROP, 1 },
		};

		assert_sets(d, want, 4);
	}

	/* The candidate slot empty: set 1's packet falls back to stable, counted there. */
	assert_int_equal(canary_dp__read_rulesets(f->dp, before), 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
	assert_int_equal(run(f, &s1), XDP_PASS);
	sets_delta(f, before, d);
	{
		const struct set_count want[] = { { 1, 0, CANARY_V_PASS, 1 } };

		assert_sets(d, want, 1);
	}
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);

	/* A set out of range: refused, the installed rules unchanged. */
	r[0].set = CANARY_MAX_RULESETS;
	assert_int_equal(canary_dp__set_pins(f->dp, r, 4), -EINVAL);
	assert_int_equal(canary_dp__read_rulesets(f->dp, before), 0);
	assert_int_equal(run(f, &s1), XDP_DROP);
	sets_delta(f, before, d);
	{
		const struct set_count want[] = { { 1, 1, CANARY_V_DROP, 1 } };

		assert_sets(d, want, 1);
	}

	/* No rules: nothing counted in any set. */
	assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
	assert_int_equal(canary_dp__read_rulesets(f->dp, before), 0);
	assert_int_equal(run(f, &s1), XDP_PASS);
	assert_int_equal(run(f, &s2), XDP_PASS);
	sets_delta(f, before, d);
	assert_sets(d, NULL, 0);
}

/* Destination rules: matched when no source rule matches; pinned class; swapped alike. */
static void test_pins_destination(void **state)
{
	static const char *const rules[] = { "dst:198.18.30.0/24=1", "dst 2001:db8:30::/48 -> candidate",
					     "198.18.31.0/24=0" };
	static const char *const dst_only[] = { "dst:198.18.30.0/24=1" };
	struct fixture *f = *state;
	struct pkt_spec to4 = { .dst = "198.18.30.5", .sport = 1, .dport = 2 };
	struct pkt_spec to6 = { .family = AF_INET6, .dst = "2001:db8:30::5", .sport = 1 };
	struct pkt_spec both = { .src = "198.18.31.1", .dst = "198.18.30.5", .sport = 1 };
	struct pkt_spec other = { .dst = "198.18.32.5", .sport = 1 };
	struct canary_pin_rule r;
	struct canary_config cfg;
	struct canary_mode mode;
	__u64 pinned;

	assert_int_equal(canary_pin_rule__parse("dst:2001:db8::/32=2", &r), 0);
	assert_int_equal(r.dir, CANARY_PIN_DST);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(canary_pin_rule__parse("src:198.18.0.0/16=1", &r), 0);
	assert_int_equal(r.dir, CANARY_PIN_SRC);
	assert_int_equal(canary_pin_rule__parse("dst:198.18.0.0/33=1", &r), -EINVAL);
	assert_int_equal(canary_pin_rule__parse("dst:", &r), -EINVAL);

	two_slots(f, 0, 0);
	assert_int_equal(run(f, &to4), XDP_PASS);
	assert_int_equal(set_rules(f, rules, 3), 0);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.flags & CANARY_F_PINS,
			 CANARY_F_PIN_V4 | CANARY_F_PIN_V4_DST | CANARY_F_PIN_V6_DST);
	pinned = row_packets(f, 1, CANARY_CLASS_PINNED);
	assert_int_equal(run(f, &to4), XDP_DROP);
	assert_int_equal(run(f, &to6), XDP_DROP);
	assert_int_equal(run(f, &both), XDP_PASS);	/* the source rule wins */
	assert_int_equal(run(f, &other), XDP_PASS);
	assert_int_equal(row_packets(f, 1, CANARY_CLASS_PINNED) - pinned, 2);

	/* Destination rules alone keep the split path on; removing them ends it. */
	assert_int_equal(set_rules(f, dst_only, 1), 0);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.flags & CANARY_F_PINS, CANARY_F_PIN_V4_DST);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, CANARY_MODE_SPLIT);
	assert_int_equal(run(f, &to4), XDP_DROP);
	assert_int_equal(run(f, &both), XDP_DROP);	/* no source rule any more */
	assert_int_equal(run(f, &to6), XDP_PASS);
	assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, 0);
	assert_int_equal(run(f, &to4), XDP_PASS);
}

struct hammer {
	struct fixture *f;
	volatile int stop;
	__u64 runs, stray;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	struct pkt_spec a = { .src = "198.18.7.1", .sport = 9 };
	struct pkt_spec b = { .family = AF_INET6, .src = "2001:db8:7::1", .sport = 9 };
	__u8 pa[PKT_MAX], pb[PKT_MAX];
	size_t na = canary_pkt__build(&a, pa, sizeof(pa)), nb = canary_pkt__build(&b, pb, sizeof(pb));

	while (!h->stop) {
		__u32 r1 = 0, r2 = 0;

		canary_pkt__run(h->f->disp, pa, na, &r1);
		canary_pkt__run(h->f->disp, pb, nb, &r2);
		/* Slot 0 (PASS) would mean a moment with no rule set installed. */
		h->stray += (r1 == XDP_PASS) + (r2 == XDP_PASS);
		__atomic_add_fetch(&h->runs, 2, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* A rule-set swap is seen whole: no packet finds the set missing or half-built. */
static void test_pins_swap_whole(void **state)
{
	static const char *const set_a[] = { "198.18.7.0/24=1", "2001:db8:7::/48=1",
					     "198.18.8.0/24=1" };
	static const char *const set_b[] = { "198.18.7.0/25=2", "2001:db8:7::/64=2" };
	struct fixture *f = *state;
	struct hammer h = { .f = f };
	struct pkt_spec only_a = { .src = "198.18.8.1", .sport = 9 };
	pthread_t t;
	__u64 before;
	int i;

	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 2, f->fd[CANARY_V_TX]), 0);
	assert_int_equal(set_rules(f, set_a, 3), 0);
	assert_int_equal(pthread_create(&t, NULL, hammer_fn, &h), 0);
	/*
	 * Swap only once packets flow, and yield after each swap: where threads
	 * take turns on one CPU (valgrind serialises them) the hammer still runs
	 * between swaps.
	 */
	while (!__atomic_load_n(&h.runs, __ATOMIC_RELAXED))
		sched_yield();
	before = __atomic_load_n(&h.runs, __ATOMIC_RELAXED);
	for (i = 0; i < 200; i++) {
		assert_int_equal(set_rules(f, i & 1 ? set_a : set_b, i & 1 ? 3 : 2), 0);
		if (!(i & 1))	/* set B has no rule for 198.18.8.0/24: split (share 0) */
			assert_int_equal(run(f, &only_a), XDP_PASS);
		else
			assert_int_equal(run(f, &only_a), XDP_DROP);
		sched_yield();
	}
	h.stop = 1;
	pthread_join(t, NULL);
	print_message("%llu packets during 200 rule-set swaps, %llu saw no rule set\n",
		      (unsigned long long)(h.runs - before), (unsigned long long)h.stray);
	assert_true(h.runs > before);
	assert_int_equal(h.stray, 0);
	assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 2), 0);
}

/* Each verdict of a version is counted exactly, and returned unchanged. */
static void test_verdict_capture(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = { .sport = 1, .dport = 2 };
	__u8 buf[PKT_MAX];
	size_t n = canary_pkt__build(&s, buf, sizeof(buf));
	int v;

	for (v = 0; v < CANARY_V_MAX; v++) {
		struct canary_counters before;
		const struct canary_counters *c;
		__u32 ret, want = v == CANARY_V_INVALID ? 42 : (__u32)v;
		int k;

		two_slots(f, 10000, 0);
		assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[v]), 0);
		before = *fixture_counters(f, 1, CANARY_CLASS_SPLIT);
		for (k = 0; k < 100; k++) {
			assert_int_equal(canary_pkt__run(f->disp, buf, n, &ret), 0);
			assert_int_equal(ret, want);
		}
		/* A repeat run: the kernel loops in the dispatcher 1000 times. */
		assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 1000, &ret, NULL), 0);
		c = fixture_counters(f, 1, CANARY_CLASS_SPLIT);
		assert_int_equal(c->packets - before.packets, 1100);
		assert_int_equal(c->bytes - before.bytes, 1100 * n);
		assert_int_equal(c->verdict[v] - before.verdict[v], 1100);
		assert_int_equal(c->fallback - before.fallback, 0);
	}
}

/* Empty candidate -> stable; no stable -> fail open (or closed); all counted. */
static void test_fallbacks(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = { .sport = 3, .dport = 4 };
	struct canary_counters c1, c0, cn;

	two_slots(f, 10000, 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
	c1 = *fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	c0 = *canary_counters__at(f->c, 0, CANARY_CLASS_SPLIT);
	assert_int_equal(run(f, &s), XDP_PASS);
	assert_int_equal(fixture_counters(f, 1, CANARY_CLASS_SPLIT)->fallback - c1.fallback, 1);
	assert_int_equal(canary_counters__at(f->c, 1, CANARY_CLASS_SPLIT)->packets, c1.packets);
	assert_int_equal(canary_counters__at(f->c, 0, CANARY_CLASS_SPLIT)->packets - c0.packets, 1);
	assert_int_equal(canary_counters__at(f->c, 0, CANARY_CLASS_SPLIT)->verdict[CANARY_V_PASS] -
				 c0.verdict[CANARY_V_PASS], 1);

	/* No stable at all: fail open, counted on the "none" row and as fallbacks. */
	assert_int_equal(canary_dp__clear_slot(f->dp, 0), 0);
	c0 = *fixture_counters(f, 0, CANARY_CLASS_SPLIT);
	cn = *canary_counters__at(f->c, CANARY_ROW_NONE, CANARY_CLASS_SPLIT);
	assert_int_equal(run(f, &s), XDP_PASS);
	assert_int_equal(fixture_counters(f, 0, CANARY_CLASS_SPLIT)->fallback - c0.fallback, 1);
	assert_int_equal(canary_counters__at(f->c, CANARY_ROW_NONE, CANARY_CLASS_SPLIT)->packets -
				 cn.packets, 1);
	/* Stable-bound traffic with no stable, and fail-closed. */
	two_slots(f, 0, CANARY_F_FAIL_CLOSED);
	assert_int_equal(canary_dp__clear_slot(f->dp, 0), 0);
	cn = *fixture_counters(f, CANARY_ROW_NONE, CANARY_CLASS_SPLIT);
	assert_int_equal(run(f, &s), XDP_DROP);
	assert_int_equal(fixture_counters(f, CANARY_ROW_NONE, CANARY_CLASS_SPLIT)
				 ->verdict[CANARY_V_DROP] - cn.verdict[CANARY_V_DROP], 1);

	/* Swapping a slot's program changes the counted version at once. */
	two_slots(f, 10000, 0);
	assert_int_equal(run(f, &s), XDP_DROP);
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_TX]), 0);
	assert_int_equal(run(f, &s), XDP_TX);
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
	assert_int_equal(run(f, &s), XDP_DROP);
}

/* The kernel-side breaker trips after its budget and resets on request. */
static void test_circuit_breaker(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = { .sport = 5, .dport = 6 };
	struct canary_breaker b;
	struct canary_counters c;
	int i;

	two_slots(f, 10000, 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_ABORTED]), 0);
	assert_int_equal(canary_dp__reset_breaker(f->dp, 1), 0);
	assert_int_equal(canary_dp__set_breaker_budget(f->dp, 1, 10), 0);
	c = *fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	/* Within the budget (10) and the one that passes it: all reach slot 1. */
	for (i = 0; i < 11; i++)
		assert_int_equal(run(f, &s), XDP_ABORTED);
	assert_int_equal(canary_dp__read_breaker(f->dp, 1, &b), 0);
	assert_int_equal(b.tripped, 1);
	assert_int_equal(b.bad, 11);
	assert_true(b.tripped_ns > 0);
	/* Tripped: flows go to stable, counted as diverted. */
	for (i = 0; i < 5; i++)
		assert_int_equal(run(f, &s), XDP_PASS);
	fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	assert_int_equal(canary_counters__at(f->c, 1, CANARY_CLASS_SPLIT)->diverted - c.diverted,
			 5);
	assert_int_equal(canary_counters__at(f->c, 1, CANARY_CLASS_SPLIT)->verdict[0] -
				 c.verdict[0], 11);
	/* Invalid verdicts count against the budget too. */
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_INVALID]), 0);
	assert_int_equal(canary_dp__reset_breaker(f->dp, 1), 0);
	assert_int_equal(canary_dp__set_breaker_budget(f->dp, 1, 2), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(run(f, &s), 42);
	assert_int_equal(run(f, &s), XDP_PASS);
	assert_int_equal(canary_dp__read_breaker(f->dp, 1, &b), 0);
	assert_int_equal(b.tripped, 1);
	assert_int_equal(b.trips, 2);
	/* Reset: flows reach the candidate again. */
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
	assert_int_equal(canary_dp__reset_breaker(f->dp, 1), 0);
	assert_int_equal(run(f, &s), XDP_DROP);
	/* Budget off: aborts never trip it. */
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_ABORTED]), 0);
	assert_int_equal(canary_dp__set_breaker_budget(f->dp, 1, CANARY_BUDGET_OFF), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(run(f, &s), XDP_ABORTED);
	assert_int_equal(canary_dp__read_breaker(f->dp, 1, &b), 0);
	assert_int_equal(b.tripped, 0);
}

/* Cost sampling: 1 in N packets timed into the histogram. */
static void test_cost_sampling(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = { .sport = 7, .dport = 8 };
	struct canary_counters c0;
	const struct canary_counters *c;
	__u8 buf[PKT_MAX];
	size_t n = canary_pkt__build(&s, buf, sizeof(buf));
	__u64 hist = 0;
	int i;

	/* Idle (no rollout): nothing is sampled, whatever the sampling rate. */
	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__set_cost_sampling(f->dp, 1), 0);
	c0 = *fixture_counters(f, 0, CANARY_CLASS_SPLIT);
	assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 1000, NULL, NULL), 0);
	c = fixture_counters(f, 0, CANARY_CLASS_SPLIT);
	assert_int_equal(c->packets - c0.packets, 1000);
	assert_int_equal(c->cost_samples, c0.cost_samples);

	/* A rollout runs: 1 in N of the split packets. */
	two_slots(f, 10000, 0);
	c0 = *fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 1000, NULL, NULL), 0);
	c = fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	assert_int_equal(c->cost_samples - c0.cost_samples, 1000);
	for (i = 0; i < CANARY_COST_BUCKETS; i++)
		hist += c->cost_hist[i] - c0.cost_hist[i];
	assert_int_equal(hist, 1000);
	assert_true(c->cost_ns > c0.cost_ns);

	assert_int_equal(canary_dp__set_cost_sampling(f->dp, 100), 0);	/* -> 1 in 128 */
	c0 = *c;
	assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 12800, NULL, NULL), 0);
	c = fixture_counters(f, 1, CANARY_CLASS_SPLIT);
	assert_int_equal(c->cost_samples - c0.cost_samples, 100);

	assert_int_equal(canary_dp__set_cost_sampling(f->dp, 0), 0);
	c0 = *c;
	assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 1000, NULL, NULL), 0);
	assert_int_equal(fixture_counters(f, 1, CANARY_CLASS_SPLIT)->cost_samples,
			 c0.cost_samples);
	assert_int_equal(canary_dp__set_cost_sampling(f->dp, CANARY_COST_SAMPLE_DEFAULT), 0);
}

struct sample_sink {
	int n;
	struct canary_sample last;
};

static int sample_sink_fn(void *ctx, const struct canary_sample *smp)
{
	struct sample_sink *k = ctx;

	k->n++;
	memcpy(&k->last, smp, CANARY_SAMPLE_HDR_LEN + smp->cap_len);
	return 0;
}

/* REPEAT runs of PKT with an xdp_md naming ingress ifindex 1 (lo), rx queue 0. */
static void run_ctx(struct fixture *f, const void *pkt, size_t n, __u32 repeat, __u32 *ret)
{
	struct xdp_md md = { .data_end = n, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = n, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = repeat);

	assert_int_equal(bpf_prog_test_run_opts(f->disp, &o), 0);
	if (ret)
		*ret = o.retval;
}

static struct canary_sample_state sample_delta(struct fixture *f,
					       const struct canary_sample_state *s0)
{
	struct canary_sample_state s;

	assert_int_equal(canary_dp__read_sample_state(f->dp, &s), 0);
	s.picked -= s0->picked;
	s.limited -= s0->limited;
	s.lost -= s0->lost;
	s.sent -= s0->sent;
	return s;
}

/*
 * Sampling: the frame as it arrived with the live verdict, slot, ifindex;
 * 1 in N per CPU, the rate limit, the snap length; nothing when off or idle.
 */
static void test_sampling(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = { .sport = 11, .dport = 12, .payload = 200 };
	struct canary_sample_state s0, d;
	struct sample_sink sink = {};
	struct canary_sample_reader *r;
	__u8 buf[PKT_MAX];
	size_t n = canary_pkt__build(&s, buf, sizeof(buf));
	__u32 ret;

	assert_true(n > 100);
	r = canary_dp__sample_reader(f->dp, sample_sink_fn, &sink);
	assert_non_null(r);
	assert_int_equal(canary_sample_reader__consume(r), 0);	/* drain earlier tests' */
	sink.n = 0;

	/* Idle: sampling configured, but the idle path never samples. */
	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, CANARY_SAMPLE_RATE_MAX, 0), 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 100, &ret);
	assert_int_equal(ret, XDP_PASS);
	assert_int_equal(canary_sample_reader__consume(r), 0);
	assert_int_equal(sample_delta(f, &s0).picked, 0);

	/* A capture: the split path with no rollout, every packet sampled from stable. */
	assert_int_equal(canary_dp__set_capture(f->dp, true), 0);
	run_ctx(f, buf, n, 100, &ret);
	assert_int_equal(ret, XDP_PASS);
	sink.n = 0;
	assert_int_equal(canary_sample_reader__consume(r), 100);
	assert_int_equal(sink.last.slot, 0);
	assert_int_equal(sink.last.verdict, XDP_PASS);
	assert_memory_equal(sink.last.data, buf, n);
	/* Off again: idle, nothing sampled. */
	assert_int_equal(canary_dp__set_capture(f->dp, false), 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 100, NULL);
	assert_int_equal(canary_sample_reader__consume(r), 0);
	assert_int_equal(sample_delta(f, &s0).picked, 0);
	sink.n = 0;

	/* The candidate has every flow: each packet sampled with slot 1's verdict. */
	two_slots(f, 10000, 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 1, &ret);
	assert_int_equal(ret, XDP_DROP);
	assert_int_equal(canary_sample_reader__consume(r), 1);
	assert_int_equal(sink.n, 1);
	assert_int_equal(sink.last.frame_len, n);
	assert_int_equal(sink.last.cap_len, n);
	assert_memory_equal(sink.last.data, buf, n);
	assert_int_equal(sink.last.verdict, XDP_DROP);
	assert_int_equal(sink.last.slot, 1);
	assert_int_equal(sink.last.cls, CANARY_CLASS_SPLIT);
	assert_int_equal(sink.last.ifindex, 1);
	assert_int_equal(sink.last.rx_queue, 0);
	assert_true(sink.last.ts_ns > 0);
	d = sample_delta(f, &s0);
	assert_int_equal(d.picked, 1);
	assert_int_equal(d.sent, 1);

	/* Stable's verdict while a rollout runs with no share; snap 64 bytes. */
	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__set_rollout(f->dp, true, 7), 0);
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, CANARY_SAMPLE_RATE_MAX, 64), 0);
	sink.n = 0;
	run_ctx(f, buf, n, 1, &ret);
	assert_int_equal(ret, XDP_PASS);
	assert_int_equal(canary_sample_reader__consume(r), 1);
	assert_int_equal(sink.last.frame_len, n);
	assert_int_equal(sink.last.cap_len, 64);
	assert_memory_equal(sink.last.data, buf, 64);
	assert_int_equal(sink.last.verdict, XDP_PASS);
	assert_int_equal(sink.last.slot, 0);

	/* 1 in 10 per CPU: a repeat run stays on one CPU. */
	assert_int_equal(canary_dp__set_sampling(f->dp, 10, CANARY_SAMPLE_RATE_MAX, 0), 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 1000, NULL);
	d = sample_delta(f, &s0);
	assert_in_range(d.picked, 99, 101);	/* the countdown goes on from the last pick */
	assert_int_equal(d.sent + d.lost + d.limited, d.picked);
	sink.n = 0;
	assert_int_equal(canary_sample_reader__consume(r), (int)d.sent);

	/* 1 sample/s (bucket depth 1): a burst of 1000 packets gives at most 2. */
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, 1, 0), 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 1000, NULL);
	d = sample_delta(f, &s0);
	assert_int_equal(d.picked, 1000);
	assert_in_range(d.sent, 1, 2);
	assert_int_equal(d.limited, 1000 - d.sent);
	assert_int_equal(canary_sample_reader__consume(r), (int)d.sent);

	/* Off: not even picked. */
	assert_int_equal(canary_dp__set_sampling(f->dp, 0, 0, 0), 0);
	assert_int_equal(canary_dp__read_sample_state(f->dp, &s0), 0);
	run_ctx(f, buf, n, 1000, NULL);
	assert_int_equal(sample_delta(f, &s0).picked, 0);
	assert_int_equal(canary_sample_reader__consume(r), 0);

	/* Bad limits are refused and leave the config as it was. */
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, 0, 0), -EINVAL);
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, CANARY_SAMPLE_RATE_MAX + 1, 0), -EINVAL);
	assert_int_equal(canary_dp__set_sampling(f->dp, 1, 10, CANARY_SNAP_MAX + 1), -EINVAL);
	{
		struct canary_config cfg;

		canary_dp__get_config(f->dp, &cfg);
		assert_false(cfg.flags & CANARY_F_SAMPLE);
	}
	assert_int_equal(canary_dp__set_rollout(f->dp, false, 7), 0);
	canary_sample_reader__free(r);
}

/* Samples collected by the reader, for replay after the live run. */
#define REPLAY_MAX 2048
static struct canary_sample replay_buf[REPLAY_MAX];
static int replay_n;

static int collect_fn(void *ctx, const struct canary_sample *smp)
{
	(void)ctx;
	if (replay_n < REPLAY_MAX)
		memcpy(&replay_buf[replay_n++], smp, CANARY_SAMPLE_HDR_LEN + smp->cap_len);
	return 0;
}

static int load_version_fd(const char *name, struct bpf_object **obj)
{
	char rel[64];
	int fd;

	snprintf(rel, sizeof(rel), "versions/%s.bpf.o", name);
	fd = canary_version__load(fixture_path(rel), NULL, obj);
	assert_true(fd >= 0);
	return fd;
}

/* Live run of the packets SPECS[i % NSPECS], N of them, through f->disp with sampling 1 in EVERY. */
static void live_run(struct fixture *f, const struct pkt_spec *specs, int nspecs, int n, __u32 every)
{
	struct canary_sample_reader *r = canary_dp__sample_reader(f->dp, collect_fn, NULL);
	__u8 buf[PKT_MAX];
	int i;

	assert_non_null(r);
	replay_n = 0;
	canary_sample_reader__consume(r);
	replay_n = 0;
	assert_int_equal(canary_dp__set_rollout(f->dp, true, 7), 0);
	assert_int_equal(canary_dp__set_sampling(f->dp, every, CANARY_SAMPLE_RATE_MAX, 0), 0);
	for (i = 0; i < n; i++) {
		size_t len = canary_pkt__build(&specs[i % nspecs], buf, sizeof(buf));

		run_ctx(f, buf, len, 1, NULL);
		if (i % 256 == 255)
			canary_sample_reader__consume(r);
	}
	canary_sample_reader__consume(r);
	assert_int_equal(canary_dp__set_sampling(f->dp, 0, 0, 0), 0);
	assert_int_equal(canary_dp__set_rollout(f->dp, false, 7), 0);
	canary_sample_reader__free(r);
}

static struct shadow_evidence shadow_ev;

static enum shadow_decision replay_all(int sfd, int cfd)
{
	struct shadow_params p;
	int i;

	shadow_params__default(&p);
	memset(&shadow_ev, 0, sizeof(shadow_ev));
	for (i = 0; i < replay_n; i++) {
		struct canary_shadow_pair pr;

		assert_int_equal(canary_shadow__replay(sfd, cfd, &replay_buf[i], &pr), 0);
		shadow_evidence__add(&shadow_ev, &p, pr.live, pr.stable, pr.candidate, pr.rewritten,
				     pr.summary);
	}
	return shadow_evidence__decide(&shadow_ev, &p, NULL);
}

/*
 * Samples of live traffic through fw_v1 (subnet A passes, a flow from D to
 * B's port 53 drops) replayed through shadow instances: fw_blackhole is
 * harmful (pass -> drop, with examples), fw_v2 is proved safe; a stateful
 * live stable (fw_stateful, sampled 1 in 2: the live run saw the packets
 * the replay does not) shows low fidelity: weak, not harmful. Its shadow gets a copy of the live map, never the live map.
 */
static void test_shadow_replay(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec specs[4] = {
		{ .src = "198.18.1.5", .dst = "198.18.2.10", .sport = 1000, .dport = 53 },
		{ .src = "198.18.1.6", .dst = "198.18.2.10", .sport = 1001, .dport = 53 },
		{ .src = "198.18.1.7", .dst = "198.18.2.10", .sport = 1002, .dport = 53 },
		{ .src = "198.18.4.1", .dst = "198.18.2.10", .sport = 1003, .dport = 53 },
	};
	struct bpf_object *live_obj, *s_obj = NULL, *c_obj = NULL, *v2_obj = NULL;
	char dir[64], why[256] = "", pinned[128];
	int live_fd, sfd, cfd, v2fd, copied = -1;
	const struct shadow_cell *cell;
	__u64 before, after;

	live_fd = load_version_fd("fw_v1", &live_obj);
	assert_int_equal(canary_dp__set_slot(f->dp, 0, live_fd), 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
	live_run(f, specs, 4, 800, 1);
	assert_int_equal(replay_n, 800);

	sfd = canary_shadow__load(fixture_path("versions/fw_v1.bpf.o"), NULL, NULL, NULL, &s_obj,
				  &copied, why, sizeof(why));
	assert_true(sfd >= 0);
	cfd = canary_shadow__load(fixture_path("versions/fw_blackhole.bpf.o"), NULL, NULL, NULL,
				  &c_obj, &copied, why, sizeof(why));
	assert_true(cfd >= 0);
	assert_int_equal(replay_all(sfd, cfd), SHADOW_HARMFUL);
	cell = &shadow_ev.cell[CANARY_V_PASS][CANARY_V_DROP];
	assert_int_equal(cell->samples, 600);
	assert_int_equal(shadow_ev.cell[CANARY_V_DROP][CANARY_V_DROP].samples, 200);
	assert_int_equal(cell->n_examples, SHADOW_EXAMPLES);
	assert_non_null(strstr(cell->ex[0].summary, "udp 198.18.1.5:1000 > 198.18.2.10:53"));
	assert_true(shadow_evidence__fidelity(&shadow_ev) == 1.0);

	v2fd = canary_shadow__load(fixture_path("versions/fw_v2.bpf.o"), NULL, NULL, NULL, &v2_obj,
				   &copied, why, sizeof(why));
	assert_true(v2fd >= 0);
	assert_int_equal(replay_all(sfd, v2fd), SHADOW_SAFE);
	assert_int_equal(shadow_ev.cell[CANARY_V_PASS][CANARY_V_PASS].samples, 600);
	bpf_object__close(live_obj);
	bpf_object__close(s_obj);
	bpf_object__close(c_obj);

	/* Stateful: every 2nd packet of a flow dropped, live; the shadow sees 1 in 2. */
	live_fd = load_version_fd("fw_stateful", &live_obj);
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/canary_test_shadow_%d", (int)getpid());
	assert_int_equal(canary_version__pin_maps(live_obj, dir), 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 0, live_fd), 0);
	live_run(f, specs, 1, 900, 2);
	assert_int_equal(replay_n, 450);
	sfd = canary_shadow__load(fixture_path("versions/fw_stateful.bpf.o"), NULL, NULL, dir,
				  &s_obj, &copied, why, sizeof(why));
	assert_true(sfd >= 0);
	assert_int_equal(copied, 1);	/* fw_flow_seen, copied from the live map */
	{
		/* The copy is the shadow's own: replay leaves the live count alone. */
		struct bpf_map *m = bpf_object__find_map_by_name(live_obj, "fw_flow_seen");
		__u8 key[40], next[40];	/* struct canary_flow: BPF-side type */
		__u64 v;

		assert_non_null(m);
		assert_int_equal(bpf_map_get_next_key(bpf_map__fd(m), NULL, key), 0);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(m), key, &v), 0);
		before = v;
		assert_int_equal(replay_all(sfd, v2fd), SHADOW_WEAK);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(m), key, &v), 0);
		after = v;
		assert_int_equal(before, after);
		assert_int_equal(before, 900);
		assert_int_not_equal(bpf_map_get_next_key(bpf_map__fd(m), key, next), 0);
	}
	print_message("stateful live stable: replay fidelity %.3f over %llu samples\n",
		      shadow_evidence__fidelity(&shadow_ev), (unsigned long long)shadow_ev.samples);
	assert_true(shadow_evidence__fidelity(&shadow_ev) < 0.99);
	snprintf(pinned, sizeof(pinned), "%s/fw_flow_seen", dir);
	unlink(pinned);
	rmdir(dir);
	bpf_object__close(s_obj);
	bpf_object__close(v2_obj);
	assert_int_equal(canary_dp__set_slot(f->dp, 0, f->fd[CANARY_V_PASS]), 0);
	bpf_object__close(live_obj);
}

/* Config swaps are validated before they reach the kernel. */
static void test_config_validation(void **state)
{
	struct fixture *f = *state;
	struct canary_config cfg, now;

	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.abi_version, CANARY_ABI_VERSION);
	cfg.range[1] = (struct canary_range){ 0, 6000 };
	cfg.range[2] = (struct canary_range){ 5000, 10000 };
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), -EINVAL);
	cfg.range[2] = (struct canary_range){ 6000, 10001 };
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), -EINVAL);
	cfg.range[2] = (struct canary_range){ 6000, 10000 };
	cfg.flags |= 1U << 31;
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), -EINVAL);
	canary_dp__get_config(f->dp, &now);
	cfg.flags &= ~(1U << 31);
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), 0);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.generation, now.generation + 1);
	/* Three candidates at once (A/B/n): fixed ends, no overlap. */
	assert_int_equal(canary_dp__set_share(f->dp, 1, 2000), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 2, 2000), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 3, 2000), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 3, 5001), -EINVAL);
	assert_int_equal(canary_dp__set_share(f->dp, 1, 6000), -EINVAL);
	assert_int_equal(canary_dp__set_share(f->dp, 0, 100), -EINVAL);
}

/* A/B/n: three candidates and stable share the traffic as configured. */
static void test_abn_split(void **state)
{
	struct fixture *f = *state;
	__u32 seen[8] = {}, i;
	char src[32];

	assert_int_equal(canary_dp__set_slot(f->dp, 0, f->fd[CANARY_V_PASS]), 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 2, f->fd[CANARY_V_TX]), 0);
	assert_int_equal(canary_dp__set_slot(f->dp, 3, f->fd[CANARY_V_REDIRECT]), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 1, 1000), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 2, 2000), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 3, 3000), 0);
	for (i = 0; i < 40000; i++) {
		struct pkt_spec s;

		flow_spec(&s, src, sizeof(src), i * 5);
		seen[run(f, &s) & 7]++;
	}
	print_message("A/B/n over 40000 flows: stable %u, c1 %u, c2 %u, c3 %u\n",
		      seen[XDP_PASS], seen[XDP_DROP], seen[XDP_TX], seen[XDP_REDIRECT]);
	assert_in_range(seen[XDP_DROP], 3600, 4400);
	assert_in_range(seen[XDP_TX], 7400, 8600);
	assert_in_range(seen[XDP_REDIRECT], 11400, 12600);
	assert_in_range(seen[XDP_PASS], 15400, 16600);
	for (i = 1; i < CANARY_MAX_SLOTS; i++)
		assert_int_equal(canary_dp__set_share(f->dp, i, 0), 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 2), 0);
	assert_int_equal(canary_dp__clear_slot(f->dp, 3), 0);
}

/* Pinning puts the program and every map under one directory; adopt finds them again. */
/*
 * A multi-buffer (frags) dispatcher: it loads, says so (and keeps saying so
 * through config swaps and adoption), takes a frags version and runs it on a
 * frame bigger than a page; the kernel refuses a plain version into it, and
 * a frags version into a plain one; the version check says which to rebuild.
 */
static void test_frags_dispatcher(void **state)
{
	struct fixture *f = *state;
	CANARY_DP_OPEN_OPTS(o, .frags = true);
	struct canary_version_target t = { .frags = true, .ifname = "veth9", .mtu = 9000 };
	struct bpf_object *plain_obj = NULL, *frags_obj = NULL;
	struct pkt_spec drop = { .src = "198.18.4.1", .dst = "198.18.2.10", .proto = IPPROTO_TCP,
				 .sport = 1000, .dport = 22 };
	struct canary_config cfg;
	struct canary_dp *dp, *ad;
	static __u8 big[6000], big_out[6000];
	__u8 buf[PKT_MAX];
	char why[512], dir[64];
	__u32 plain_ret, ret;
	size_t len;
	int plain_fd, frags_fd, disp;

	assert_false(canary_dp__frags(f->dp));
	dp = canary_dp__open_opts(&o);
	assert_non_null(dp);
	assert_true(canary_dp__frags(dp));
	disp = canary_dp__prog_fd(dp);
	plain_fd = load_version_fd("fw_v1", &plain_obj);
	frags_fd = load_version_fd("fw_v1.frags", &frags_obj);

	/* The kernel: a ProgMap takes only programs of its owner's kind. */
	assert_int_equal(canary_dp__set_slot(dp, CANARY_SLOT_STABLE, plain_fd), -EINVAL);
	assert_int_equal(canary_dp__set_slot(f->dp, CANARY_SLOT_STABLE, frags_fd), -EINVAL);
	assert_int_equal(canary_dp__set_slot(dp, CANARY_SLOT_STABLE, frags_fd), 0);

	/* The library, before the kernel: what to rebuild, naming the interface and MTU. */
	assert_int_equal(canary_version__check(plain_obj, plain_fd, &t, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "rebuild it as SEC(\"xdp.frags\") (the dispatcher on veth9 "
			   "runs multi-buffer: MTU 9000)"));
	assert_int_equal(canary_version__check(frags_obj, frags_fd, &t, why, sizeof(why)), 0);
	t.frags = false;
	assert_int_equal(canary_version__check(frags_obj, frags_fd, &t, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "set frags = yes"));
	assert_int_equal(canary_version__check(plain_obj, plain_fd, NULL, why, sizeof(why)), 0);
	assert_int_equal(canary_version__check(frags_obj, frags_fd, NULL, why, sizeof(why)), -EINVAL);

	/* Same verdict as fw_v1 through the plain dispatcher (a drop: not the fail-open pass). */
	len = canary_pkt__build(&drop, buf, sizeof(buf));
	assert_int_equal(canary_dp__set_slot(f->dp, CANARY_SLOT_STABLE, plain_fd), 0);
	run_ctx(f, buf, len, 1, &plain_ret);
	assert_int_equal(plain_ret, XDP_DROP);
	assert_int_equal(canary_pkt__run(disp, buf, len, &ret), 0);
	assert_int_equal(ret, plain_ret);
	/* A frame past one page (linear part plus frags) runs through it. */
	memcpy(big, buf, len);
	{
		LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = big, .data_size_in = sizeof(big),
			    .data_out = big_out, .data_size_out = sizeof(big_out));

		assert_int_equal(bpf_prog_test_run_opts(disp, &r), 0);
		assert_int_equal(r.retval, plain_ret);
	}
	assert_int_equal(canary_dp__clear_slot(f->dp, CANARY_SLOT_STABLE), 0);

	/* The bit survives a config written without it, and adoption reads it back. */
	canary_dp__get_config(dp, &cfg);
	assert_true(cfg.flags & CANARY_F_FRAGS);
	cfg.flags &= ~CANARY_F_FRAGS;
	cfg.flags |= CANARY_F_SYMMETRIC;
	assert_int_equal(canary_dp__set_config(dp, &cfg), 0);
	canary_dp__get_config(dp, &cfg);
	assert_true(cfg.flags & CANARY_F_FRAGS);
	assert_true(canary_dp__frags(dp));
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/canary-frags-%d", getpid());
	assert_int_equal(canary_dp__pin(dp, dir), 0);
	ad = canary_dp__adopt(dir, NULL);
	assert_non_null(ad);
	assert_true(canary_dp__frags(ad));
	canary_dp__close(ad);
	canary_dp__unpin(dp);

	bpf_object__close(plain_obj);
	bpf_object__close(frags_obj);
	canary_dp__close(dp);
}

static void test_pin_dir(void **state)
{
	static const char *const names[] = {
		CANARY_PROG_DISPATCH, CANARY_MAP_PROGS, CANARY_MAP_COUNTERS, CANARY_MAP_CFG,
		CANARY_MAP_BREAKER, CANARY_MAP_PIN4, CANARY_MAP_PIN6, CANARY_MAP_STRATA,
		CANARY_MAP_MODE,
	};
	struct fixture *f = *state;
	struct bpf_prog_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b);
	char dir[64], path[128];
	size_t i;
	int fd;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/canary-test-%d", getpid());
	assert_int_equal(canary_dp__pin(f->dp, dir), 0);
	assert_int_equal(canary_dp__pin(f->dp, dir), -EBUSY);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			fail_msg("%s not pinned: %s", path, strerror(errno));
		if (!i) {
			assert_int_equal(bpf_obj_get_info_by_fd(fd, &a, &la), 0);
			assert_int_equal(bpf_obj_get_info_by_fd(f->disp, &b, &lb), 0);
			assert_int_equal(a.id, b.id);
		}
		close(fd);
	}

	/* Adoption: a second handle on the pinned dispatcher drives the same datapath. */
	{
		struct canary_config mine, theirs;
		struct pkt_spec s = { .sport = 77, .dport = 88 };
		struct canary_dp *adopted;

		two_slots(f, 0, 0);
		adopted = canary_dp__adopt(dir, NULL);
		assert_non_null(adopted);
		canary_dp__get_config(f->dp, &mine);
		canary_dp__get_config(adopted, &theirs);
		assert_int_equal(theirs.seed, mine.seed);
		assert_int_equal(theirs.generation, mine.generation);
		assert_int_equal(run(f, &s), XDP_PASS);
		assert_int_equal(canary_dp__set_share(adopted, 1, 10000), 0);
		assert_int_equal(run(f, &s), XDP_DROP);
		canary_dp__close(adopted);
		/* Closing the adopted handle leaves the datapath as it was. */
		assert_int_equal(run(f, &s), XDP_DROP);

		/* A dispatcher of another ABI version is refused. */
		theirs.abi_version = CANARY_ABI_VERSION + 1;
		{
			__u32 zero = 0;
			int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "abi_test", 4, sizeof(theirs), 1,
						   NULL);
			int outer;

			snprintf(path, sizeof(path), "%s/%s", dir, CANARY_MAP_CFG);
			outer = bpf_obj_get(path);
			assert_true(inner >= 0 && outer >= 0);
			assert_int_equal(bpf_map_update_elem(inner, &zero, &theirs, 0), 0);
			assert_int_equal(bpf_map_update_elem(outer, &zero, &inner, 0), 0);
			close(inner);
			close(outer);
		}
		{
			/* Its one line goes to the caller's buffer: ABI versions and the fix. */
			char msg[256] = "";
			CANARY_DP_OPTS(o, .msg = msg, .msg_size = sizeof(msg));

			assert_null(canary_dp__adopt(dir, &o));
			assert_int_equal(errno, EPROTO);
			assert_non_null(strstr(msg, "ABI version"));
			assert_non_null(strstr(msg, dir));
			assert_non_null(strstr(msg, "xdp-loader unload"));
		}
		/*
		 * A dispatcher pinned by ABI 1 has neither the strata map nor the
		 * split word: still "other ABI", not "nothing pinned here".
		 */
		snprintf(path, sizeof(path), "%s/%s", dir, CANARY_MAP_STRATA);
		assert_int_equal(unlink(path), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, CANARY_MAP_MODE);
		assert_int_equal(unlink(path), 0);
		assert_null(canary_dp__adopt(dir, NULL));
		assert_int_equal(errno, EPROTO);
		/* Put a good config back through the first handle. */
		assert_int_equal(canary_dp__set_config(f->dp, &mine), 0);
	}
	{
		/* Nothing pinned: ENOENT and no message (the caller creates a datapath). */
		char msg[64] = "";
		CANARY_DP_OPTS(o, .msg = msg, .msg_size = sizeof(msg));

		assert_null(canary_dp__adopt("/sys/fs/bpf/canary-test-nothing-here", &o));
		assert_int_equal(errno, ENOENT);
		assert_string_equal(msg, "");
	}

	assert_int_equal(canary_dp__unpin(f->dp), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

static __u64 table_count(struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "conn_table");
	__u32 zero = 0;
	__u64 n = 0;

	assert_non_null(m);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(m), &zero, &n), 0);
	return n;
}

static void run_n(int fd, int n)
{
	struct pkt_spec s = { .sport = 1, .dport = 2 };
	__u8 buf[PKT_MAX];
	size_t len = canary_pkt__build(&s, buf, sizeof(buf));

	while (n--)
		assert_int_equal(canary_pkt__run(fd, buf, len, NULL), 0);
}

/* State maps of the same name and definition are shared between versions. */
static void test_shared_state_maps(void **state)
{
	struct bpf_object *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char dir[64], path[128];
	CANARY_VERSION_OPTS(shared, .share_dir = dir);
	CANARY_VERSION_OPTS(priv, .share_dir = dir, .private_maps = "other,conn_table");
	int fa, fb, fc, fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/canary-share-%d", getpid());
	fa = canary_version__load(fixture_path("tests/stateful.bpf.o"), &shared, &a);
	fb = canary_version__load(fixture_path("tests/stateful.bpf.o"), &shared, &b);
	fc = canary_version__load(fixture_path("tests/stateful_other.bpf.o"), &shared, &c);
	fd = canary_version__load(fixture_path("tests/stateful.bpf.o"), &priv, &d);
	assert_true(fa >= 0 && fb >= 0 && fc >= 0 && fd >= 0);
	run_n(fa, 5);
	run_n(fb, 3);
	run_n(fc, 2);
	run_n(fd, 4);
	/* a and b share one table: 8 packets; c (other definition) and d (opted out) not. */
	assert_int_equal(table_count(a), 8);
	assert_int_equal(table_count(b), 8);
	assert_int_equal(table_count(c), 2);
	assert_int_equal(table_count(d), 4);
	/* Internal maps (.rodata, .bss) are never pinned for sharing. */
	snprintf(path, sizeof(path), "%s/conn_table", dir);
	assert_int_equal(access(path, F_OK), 0);
	bpf_object__close(a);
	bpf_object__close(b);
	bpf_object__close(c);
	bpf_object__close(d);
	unlink(path);
	rmdir(dir);
	assert_int_equal(access(dir, F_OK), -1);
}


static void read_strata(struct fixture *f, struct canary_stratum *out)
{
	assert_int_equal(canary_dp__read_strata(f->dp, out), 0);
}

static __u32 predict_bucket(const struct pkt_spec *s, __u32 seed)
{
	__u32 sa, da;

	inet_pton(AF_INET, s->src ? s->src : "198.18.0.1", &sa);
	inet_pton(AF_INET, s->dst ? s->dst : "198.18.0.2", &da);
	return canary_bucket(canary_hash_v4(sa, da, (__u32)s->sport << 16 | s->dport, IPPROTO_UDP,
					    seed));
}

static struct canary_stratum strata0[CANARY_STRATA], strata1[CANARY_STRATA],
	want_strata[CANARY_STRATA];

/* Compare the strata's growth since strata0 with want_strata, stratum by stratum. */
static void check_strata(struct fixture *f, const char *what)
{
	__u32 s, v;

	read_strata(f, strata1);
	for (s = 0; s < CANARY_STRATA; s++)
		for (v = 0; v < CANARY_V_MAX; v++)
			if (strata1[s].verdict[v] - strata0[s].verdict[v] !=
			    want_strata[s].verdict[v])
				fail_msg("%s: stratum %u verdict %s: counted %llu, sent %llu", what, s,
					 canary_verdict_name(v),
					 (unsigned long long)(strata1[s].verdict[v] -
							      strata0[s].verdict[v]),
					 (unsigned long long)want_strata[s].verdict[v]);
}

/*
 * Every hash-split packet counts its returned verdict in its stratum,
 * canary_bucket(hash) / CANARY_STRATUM_BP, whichever version served it,
 * fallbacks included.
 */
static void test_strata_counts(void **state)
{
	struct fixture *f = *state;
	struct canary_config cfg;
	struct canary_mode mode;
	char src[32];
	__u32 i, b, st, cand = 0, pass;

	two_slots(f, 500, 0);
	canary_dp__get_config(f->dp, &cfg);
	cfg.seed = 0x51ed270bu;
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, CANARY_MODE_SPLIT);

	for (pass = 0; pass < 2; pass++) {
		/* Pass 1: slot 1 emptied, its flows fall back to stable (PASS). */
		if (pass)
			assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
		memset(want_strata, 0, sizeof(want_strata));
		read_strata(f, strata0);
		for (i = 0; i < 20000; i++) {
			struct pkt_spec s;
			__u32 got, want;

			flow_spec(&s, src, sizeof(src), i * 7);
			b = predict_bucket(&s, cfg.seed);
			st = b / CANARY_STRATUM_BP;
			want = b < 500 && !pass ? XDP_DROP : XDP_PASS;
			got = run(f, &s);
			if (got != want)
				fail_msg("flow %u (bucket %u): verdict %u, expected %u", i, b, got, want);
			want_strata[st].verdict[want]++;
			cand += b < 500;
		}
		check_strata(f, pass ? "after fallback" : "split at 5 %");
	}
	print_message("20000 flows, %u in the candidate's 50 strata, counted exactly\n", cand / 2);
	assert_true(cand > 0);
	/* The shared helper names the same stratum as bucket / CANARY_STRATUM_BP. */
	for (i = 0; i < 100000; i++) {
		__u32 h = i * 2654435761u;

		assert_int_equal(canary_stratum_of(h), canary_bucket(h) / CANARY_STRATUM_BP);
	}
	assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
}

/* Pinned and unparsed packets, and any packet while idle, leave the strata alone. */
static void test_strata_not_counted(void **state)
{
	static const char *const rules[] = { "198.18.9.0/24=1", "2001:db8:9::/48=0" };
	struct fixture *f = *state;
	struct pkt_spec pinned4 = { .src = "198.18.9.1", .sport = 1, .dport = 2 };
	struct pkt_spec pinned6 = { .family = AF_INET6, .src = "2001:db8:9::1", .sport = 1 };
	struct pkt_spec arp = { .ethertype = 0x0806 };
	struct pkt_spec trunc = { .sport = 3, .dport = 4 };
	struct pkt_spec plain = { .sport = 5, .dport = 6 };
	struct canary_mode mode;
	const struct canary_counters *c;
	__u64 idle0, none0;
	__u8 buf[PKT_MAX];
	size_t n;
	__u32 ret;

	memset(want_strata, 0, sizeof(want_strata));

	/* Split path with pins: pinned and unparsed packets are not hash-split. */
	two_slots(f, 10000, 0);
	assert_int_equal(set_rules(f, rules, 2), 0);
	read_strata(f, strata0);
	assert_int_equal(run(f, &pinned4), XDP_DROP);
	assert_int_equal(run(f, &pinned6), XDP_PASS);
	assert_int_equal(run(f, &arp), XDP_PASS);
	n = canary_pkt__build(&trunc, buf, sizeof(buf));
	assert_int_equal(canary_pkt__run(f->disp, buf, 14 + 10, &ret), 0);	/* cut inside IPv4 */
	assert_int_equal(ret, XDP_PASS);
	check_strata(f, "pinned and unparsed");

	/* Pins alone (no share) keep the split path: unpinned flows hashed, counted. */
	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, CANARY_MODE_SPLIT);
	assert_int_equal(run(f, &plain), XDP_PASS);
	read_strata(f, strata1);
	{
		__u64 sum = 0;
		__u32 s;

		for (s = 0; s < CANARY_STRATA; s++)
			sum += strata1[s].verdict[CANARY_V_PASS] - strata0[s].verdict[CANARY_V_PASS];
		assert_int_equal(sum, 1);
	}

	/* Idle: no share, no pins. The word is clear; stable serves, counted as split. */
	assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, 0);
	read_strata(f, strata0);
	c = fixture_counters(f, 0, CANARY_CLASS_SPLIT);
	idle0 = c->packets;
	none0 = canary_counters__at(f->c, CANARY_ROW_NONE, CANARY_CLASS_SPLIT)->packets;
	assert_int_equal(run(f, &plain), XDP_PASS);
	assert_int_equal(run(f, &pinned4), XDP_PASS);
	assert_int_equal(run(f, &arp), XDP_PASS);
	assert_int_equal(canary_pkt__run_repeat(f->disp, buf, n, 1000, &ret, NULL), 0);
	assert_int_equal(ret, XDP_PASS);
	memset(want_strata, 0, sizeof(want_strata));
	check_strata(f, "idle");
	assert_int_equal(fixture_counters(f, 0, CANARY_CLASS_SPLIT)->packets - idle0, 1003);

	/* Idle with no stable: fail open on the "none" row, as on the split path. */
	assert_int_equal(canary_dp__clear_slot(f->dp, 0), 0);
	assert_int_equal(run(f, &plain), XDP_PASS);
	assert_int_equal(fixture_counters(f, CANARY_ROW_NONE, CANARY_CLASS_SPLIT)->packets - none0,
			 1);
	two_slots(f, 0, CANARY_F_FAIL_CLOSED);
	assert_int_equal(canary_dp__clear_slot(f->dp, 0), 0);
	assert_int_equal(run(f, &plain), XDP_DROP);
	two_slots(f, 0, 0);
}

/*
 * A rollout's baseline: with the rollout on and no share, every flow goes to
 * stable and is counted in the stratum its new seed puts it in; the seed
 * changes only while no flow is on a candidate; off, the dispatcher is idle.
 */
static void test_rollout_baseline(void **state)
{
	struct fixture *f = *state;
	struct canary_config cfg;
	struct canary_mode mode;
	char src[32];
	__u32 i, b, seed = 0x7e11a5edu;

	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, 0);
	assert_int_equal(canary_dp__set_rollout(f->dp, true, seed), 0);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.seed, seed);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, CANARY_MODE_SPLIT);
	memset(want_strata, 0, sizeof(want_strata));
	read_strata(f, strata0);
	for (i = 0; i < 5000; i++) {
		struct pkt_spec s;

		flow_spec(&s, src, sizeof(src), i * 13);
		b = predict_bucket(&s, seed);
		assert_int_equal(run(f, &s), XDP_PASS);
		want_strata[b / CANARY_STRATUM_BP].verdict[XDP_PASS]++;
	}
	check_strata(f, "baseline with no share");

	/* A share is set: the seed may not change under it (flows would jump). */
	assert_int_equal(canary_dp__set_share(f->dp, 1, 500), 0);
	assert_int_equal(canary_dp__set_rollout(f->dp, true, seed + 1), -EBUSY);
	assert_int_equal(canary_dp__set_rollout(f->dp, true, seed), 0);

	/* Over: share 0, slot cleared, rollout off: the idle path again. */
	assert_int_equal(canary_dp__set_share(f->dp, 1, 0), 0);
	assert_int_equal(canary_dp__set_rollout(f->dp, false, 0), 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, 0);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.flags & CANARY_F_STRATA, 0);
	two_slots(f, 0, 0);
}

/* Shares cover whole strata: anything else is refused, not rounded. */
static void test_share_strata_boundaries(void **state)
{
	struct fixture *f = *state;
	struct canary_config cfg, now;

	two_slots(f, 0, 0);
	canary_dp__get_config(f->dp, &now);
	assert_int_equal(canary_dp__set_share(f->dp, 1, 5), -EINVAL);	/* 0.05 % */
	assert_int_equal(canary_dp__set_share(f->dp, 1, 15), -EINVAL);
	assert_int_equal(canary_dp__set_share(f->dp, 2, 9995), -EINVAL);
	assert_int_equal(canary_dp__set_share(f->dp, 3, 1), -EINVAL);
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.generation, now.generation);	/* nothing reached the kernel */
	cfg.range[1] = (struct canary_range){ 0, 15 };
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), -EINVAL);
	cfg.range[1] = (struct canary_range){ 5, 20 };
	assert_int_equal(canary_dp__set_config(f->dp, &cfg), -EINVAL);
	assert_int_equal(canary_dp__set_share(f->dp, 1, 10), 0);	/* 0.1 %: one stratum */
	canary_dp__get_config(f->dp, &cfg);
	assert_int_equal(cfg.range[1].lo, 0);
	assert_int_equal(cfg.range[1].hi, 10);
	assert_int_equal(canary_dp__set_share(f->dp, 2, 9990), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 2, 0), 0);
	assert_int_equal(canary_dp__set_share(f->dp, 1, 0), 0);
}

struct flipper {
	struct fixture *f;
	volatile int stop;
	__u64 runs, packets, bad;
};

#define FLIP_REPEAT 256

static void *flip_hammer(void *arg)
{
	struct flipper *h = arg;
	struct pkt_spec s[3] = {
		{ .src = "198.18.7.1", .sport = 9, .dport = 10 },	/* pinned to 1 when pins are in */
		{ .family = AF_INET6, .src = "2001:db8:7::1", .sport = 9 },
		{ .src = "198.18.20.1", .sport = 11, .dport = 12 },
	};
	__u8 p[3][PKT_MAX];
	size_t n[3];
	int i;

	for (i = 0; i < 3; i++)
		n[i] = canary_pkt__build(&s[i], p[i], sizeof(p[i]));
	while (!h->stop) {
		for (i = 0; i < 3; i++) {
			__u32 r = 0;

			if (canary_pkt__run_repeat(h->f->disp, p[i], n[i], FLIP_REPEAT, &r, NULL)) {
				h->bad++;
				continue;
			}
			/* Stable (PASS) or the candidate (DROP): nothing else is a version. */
			h->bad += r != XDP_PASS && r != XDP_DROP;
			h->packets += FLIP_REPEAT;
			__atomic_add_fetch(&h->runs, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static __u64 sum_packets(struct fixture *f, __u64 *none)
{
	__u64 total = 0;
	__u32 i, cls;

	assert_int_equal(canary_dp__read_counters(f->dp, f->c), 0);
	for (i = 0; i < CANARY_COUNTERS_ENTRIES; i++)
		total += f->c[i].packets;
	*none = 0;
	for (cls = 0; cls < CANARY_CLASS_MAX; cls++)
		*none += canary_counters__at(f->c, CANARY_ROW_NONE, cls)->packets;
	return total;
}

/*
 * Rollouts starting and ending (idle -> split -> idle) in the update order
 * while packets flow: every packet is handled by a version and counted once;
 * none reaches the "no version" row, none is lost.
 */
static void test_idle_split_swaps(void **state)
{
	static const char *const rules[] = { "198.18.7.0/24=1", "2001:db8:7::/48=1" };
	struct fixture *f = *state;
	struct flipper h = { .f = f };
	struct canary_mode mode;
	__u64 total0, total1, none0, none1, runs0;
	pthread_t t;
	int i;

	two_slots(f, 0, 0);
	assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
	assert_int_equal(mode.split, 0);
	total0 = sum_packets(f, &none0);
	assert_int_equal(pthread_create(&t, NULL, flip_hammer, &h), 0);
	while (!__atomic_load_n(&h.runs, __ATOMIC_RELAXED))
		sched_yield();
	runs0 = __atomic_load_n(&h.runs, __ATOMIC_RELAXED);
	for (i = 0; i < 300; i++) {
		switch (i % 3) {
		case 0:	/* start: slot 1 filled, then the share; roll back: share 0, slot 1 emptied */
			assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
			assert_int_equal(canary_dp__set_share(f->dp, 1, 500 + 10 * (i % 900)), 0);
			sched_yield();
			assert_int_equal(canary_dp__set_share(f->dp, 1, 0), 0);
			assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
			break;
		case 1:	/* pin rules alone, in and out */
			assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
			assert_int_equal(set_rules(f, rules, 2), 0);
			sched_yield();
			assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
			assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
			break;
		default:	/* both, removed in the opposite order */
			assert_int_equal(canary_dp__set_slot(f->dp, 1, f->fd[CANARY_V_DROP]), 0);
			assert_int_equal(set_rules(f, rules, 2), 0);
			assert_int_equal(canary_dp__set_share(f->dp, 1, 10000), 0);
			sched_yield();
			assert_int_equal(canary_dp__set_share(f->dp, 1, 0), 0);
			assert_int_equal(canary_dp__set_pins(f->dp, NULL, 0), 0);
			assert_int_equal(canary_dp__clear_slot(f->dp, 1), 0);
			break;
		}
		assert_int_equal(canary_dp__read_mode(f->dp, &mode), 0);
		assert_int_equal(mode.split, 0);
		sched_yield();
	}
	h.stop = 1;
	pthread_join(t, NULL);
	total1 = sum_packets(f, &none1);
	print_message("%llu packets during 300 idle/split cycles: %llu counted, %llu on no version, "
		      "%llu bad\n", (unsigned long long)h.packets,
		      (unsigned long long)(total1 - total0), (unsigned long long)(none1 - none0),
		      (unsigned long long)h.bad);
	assert_true(h.runs > runs0);
	assert_int_equal(h.bad, 0);
	assert_int_equal(none1 - none0, 0);
	assert_int_equal(total1 - total0, h.packets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_paths),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_split_accuracy_monotone),
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_pins_override),
		cmocka_unit_test(test_pins_swap_whole),
		cmocka_unit_test(test_pins_destination),
		cmocka_unit_test(test_rule_sets),
		cmocka_unit_test(test_verdict_capture),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_circuit_breaker),
		cmocka_unit_test(test_cost_sampling),
		cmocka_unit_test(test_config_validation),
		cmocka_unit_test(test_sampling),
		cmocka_unit_test(test_shadow_replay),
		cmocka_unit_test(test_abn_split),
		cmocka_unit_test(test_pin_dir),
		cmocka_unit_test(test_frags_dispatcher),
		cmocka_unit_test(test_shared_state_maps),
		cmocka_unit_test(test_strata_counts),
		cmocka_unit_test(test_strata_not_counted),
		cmocka_unit_test(test_rollout_baseline),
		cmocka_unit_test(test_share_strata_boundaries),
		cmocka_unit_test(test_idle_split_swaps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
