// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The judge through the engine on held-out traffic: the session-level
 * simulator (tests/lib/flowsim2.c, docs/SIM2.md), written from a different
 * model than test_sim's, with its own families and harms. What generalizes
 * from test_sim should hold here too.
 *
 *   test_sim2            reduced counts (1 A/A per family, 1 per harm, ~35 s), the
 *                        tables only (make test runs it); the main judge of
 *                        8d0facb fails the loose bounds (docs/SIM2.md)
 *   test_sim2 --assert   reduced counts with the loose bounds (false rollbacks
 *                        <= 5 %, power >= 50 %)
 *   test_sim2 --tables   200 A/A per family, 50 per harm, tables only (make sim2)
 *   test_sim2 --full     as --tables, with the bounds of issue 11
 *   test_sim2 --runs N   N rollouts per family and per harm
 *   test_sim2 --only NAME  one family or harm
 *   SIM_VERBOSE=1        a line per rollout that was not promoted (A/A) or was
 *                        missed (harm): its traffic, the reason and the evidence
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "flowsim2.h"

/*
 * Reduced mode: bounds a broken judge fails (one that rolls back on noise,
 * or one that never rolls back), loose enough for 12-rollout noise. Not
 * tuned to the judge: the issue's own bounds are --full's.
 */
static int aa_runs = 1, power_runs = 1;
static double max_false = 0.05, min_power = 0.5, min_promoted = 0;
static bool assert_on;
static const char *only;

/*
 * Families are the web template (WEB) with a few fields overridden: the
 * later initializer wins on purpose.
 */
#pragma GCC diagnostic ignored "-Woverride-init"

/* Web-like: sessions of 3 flows, 10-60 s, 20 % IPv6, 15 % UDP, a few denied nets and ports. */
#define WEB                                                                               \
	.pps_lo = 20000, .pps_hi = 500000, .sess_lo = 30, .sess_hi = 300, .per_sess = 3,  \
	.life = SIM2_EXP, .life_lo = 10, .life_hi = 60, .hostile_pps = 5, .rate_sigma = 1.2, .onoff = 0.1,   \
	.v6 = 0.2, .udp = 0.15, .icmp = 0.01, .dns = 0.5, .hosts_lo = 2000,               \
	.hosts_hi = 30000, .host_alpha = 1.5, .deny_frac = 0.05, .deny_port_frac = 0.02,  \
	.pkt_drop_lo = 0.0005, .pkt_drop_hi = 0.002, .cold_lo = 1.0, .cold_hi = 1.7

static const struct sim2_family aa[] = {
	{ .name = "web", .what = "sessions of 3 flows, exp. 10-60 s, 30-300/s, 20-500k pps", WEB },
	{ .name = "web_clean", .what = "web without denied sources or ports", WEB,
	  .deny_frac = 0, .deny_port_frac = 0 },
	{ .name = "keepalive", .what = "web, connections of 10-30 min, 5-50 sessions/s", WEB,
	  .life_lo = 600, .life_hi = 1800, .sess_lo = 5, .sess_hi = 50 },
	{ .name = "elephants", .what = "3-20 TCP elephants carry 60 %, web background",
	  WEB, .sess_lo = 20, .sess_hi = 200, .elephants = 0.6 },
	{ .name = "scan_bursts", .what = "web + port scans of 15 % for 10-60 s",
	  WEB, .scan_frac = 0.15 },
	{ .name = "synflood_waves", .what = "web + SYN floods of 20 %, 20-120 s on",
	  WEB, .flood_frac = 0.2 },
	{ .name = "ratelimited", .what = "heavy hitters (Pareto 1.1) above a per-source limit",
	  WEB, .host_alpha = 1.1, .limit_frac = 0.01 },
	{ .name = "ipv6_heavy", .what = "80 % of sources IPv6", WEB, .v6 = 0.8 },
	{ .name = "diurnal_pareto", .what = "Pareto(1.3) lifetimes, clustered arrivals, diurnal 0.5",
	  WEB, .life = SIM2_PARETO, .life_alpha = 1.3, .life_lo = 10, .life_hi = 60,
	  .sess_lo = 30, .sess_hi = 200, .clustered = true, .diurnal_amp = 0.5 },
	{ .name = "lowrate", .what = "50-500 pps, 50-500 hosts", WEB, .pps_lo = 50, .pps_hi = 500,
	  .sess_lo = 0.5, .sess_hi = 5, .life_lo = 30, .life_hi = 120, .hosts_lo = 50,
	  .hosts_hi = 500 },
	{ .name = "mix_shift", .what = "denied ports and UDP x3 in new sessions mid-rollout",
	  WEB, .deny_port_frac = 0.05, .udp = 0.2, .shift = 2 },
	{ .name = "host_move", .what = "the busiest host moves to another /24 mid-rollout",
	  WEB, .host_alpha = 1.1, .host_move = true },
	{ .name = "dns_heavy", .what = "half the sessions UDP, 80 % of those DNS, 1 flow each",
	  WEB, .per_sess = 1, .sess_lo = 150, .sess_hi = 1200, .udp = 0.5, .dns = 0.8 },
	{ .name = "onoff_video", .what = "80 % on/off flows of 30-300 s", WEB, .onoff = 0.8,
	  .life_lo = 30, .life_hi = 300, .sess_lo = 10, .sess_hi = 80 },
	{ .name = "mixed", .what = "Pareto, clustered, limiter, floods, scans, diurnal, shift",
	  WEB, .life = SIM2_PARETO, .life_alpha = 1.5, .clustered = true, .host_alpha = 1.2,
	  .limit_frac = 0.01, .flood_frac = 0.1, .scan_frac = 0.05, .diurnal_amp = 0.3,
	  .shift = 1 },
};

static const struct sim2_family harms[] = {
	{ .name = "blackhole24", .what = "one source /24 with 0.5-2 % of packets, TCP backs off",
	  WEB, .bh_lo = 0.005, .bh_hi = 0.02, .harm = SIM2_BLACKHOLE },
	{ .name = "leaky", .what = "passes half of what stable drops", WEB, .harm = SIM2_LEAKY },
	{ .name = "drop1.3x", .what = "per-packet drops to 1.3x stable's rate", WEB,
	  .harm = SIM2_DROP_MULT, .harm_mult = 1.3 },
	{ .name = "drop1.3x_flood", .what = "1.3x, SYN flood of 20 % during step 1", WEB,
	  .flood_frac = 0.2, .flood_first_step = true, .harm = SIM2_DROP_MULT,
	  .harm_mult = 1.3 },
	{ .name = "drop2x", .what = "per-packet drops to 2x stable's rate", WEB,
	  .harm = SIM2_DROP_MULT, .harm_mult = 2 },
	{ .name = "drop2x_flood", .what = "2x, SYN flood of 20 % during step 1", WEB,
	  .flood_frac = 0.2, .flood_first_step = true, .harm = SIM2_DROP_MULT,
	  .harm_mult = 2 },
	{ .name = "aborts1e-5", .what = "aborts 1e-5 of its passes, 100k-1M pps", WEB,
	  .pps_lo = 100000, .pps_hi = 1000000, .harm = SIM2_ABORTS, .harm_mult = 1e-5 },
	{ .name = "cost2x", .what = "2x the cost (times cold caches)", WEB, .harm = SIM2_COST,
	  .harm_mult = 2 },
	{ .name = "limit_half", .what = "the per-source limit halved (heavy hitters)", WEB,
	  .host_alpha = 1.1, .limit_frac = 0.01, .harm = SIM2_LIMIT_HALF },
	{ .name = "dns_dropped", .what = "a rule drops UDP port 53; resolvers retry",
	  WEB, .udp = 0.3, .dns = 0.6, .harm = SIM2_DROP_PORT },
};

#define NAA (sizeof(aa) / sizeof(aa[0]))
#define NHARM (sizeof(harms) / sizeof(harms[0]))

/* Step 1 can be exposed within the hour (as test_sim's reachable(), on measured figures). */
static bool reachable(const struct sim2_result *r)
{
	return r->pps * 0.01 * 3600 >= 2 * 10000 &&
	       (r->pps * 0.01 * 1800 * r->drop_rate >= 800 || r->drop_rate <= 0.0005);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static __u64 quant(__u64 *v, int n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(int)(q * (n - 1))];
}

static void verbose(const char *what, int seed, const struct sim2_result *r)
{
	if (!getenv("SIM_VERBOSE"))
		return;
	printf("  %s seed %d pps %.0f flows %.0f drops %.4f %s after %llu s: %s\n    evidence: %s\n",
	       what, seed, r->pps, r->flows, r->drop_rate, rollout_phase__name(r->phase),
	       (unsigned long long)r->secs, r->reason, r->evidence);
}

static void test_aa(void **state)
{
	int failed = 0;
	size_t f;

	(void)state;
	printf("A/A (sim2), default plan 1,5,25,50,100, 60 s steps, max 1 h, min_packets 10000\n");
	printf("%-15s %5s %9s %9s %8s %6s %11s %9s  %s\n", "family", "runs", "rollback",
	       "promoted", "paused", "reach", "prom|reach", "median s", "traffic");
	for (f = 0; f < NAA; f++) {
		int i, back = 0, prom = 0, paused = 0, reach = 0, reach_prom = 0;
		__u64 *secs = calloc(aa_runs, sizeof(*secs));

		if (only && strcmp(only, aa[f].name)) {
			free(secs);
			continue;
		}
		for (i = 0; i < aa_runs; i++) {
			struct sim2_result r;

			sim2_run(&aa[f], 3000017ULL * (f + 1) + i, &r);
			back += r.phase == ROLLOUT_ROLLED_BACK;
			prom += r.phase == ROLLOUT_PROMOTED;
			paused += r.paused;
			secs[i] = r.secs;
			if (reachable(&r)) {
				reach++;
				reach_prom += r.phase == ROLLOUT_PROMOTED;
			}
			if (r.phase != ROLLOUT_PROMOTED)
				verbose(r.phase == ROLLOUT_ROLLED_BACK ? "ROLLBACK" : "not promoted",
					i, &r);
		}
		printf("%-15s %5d %8.2f%% %8.2f%% %7.2f%% %6d %10.1f%% %9llu  %s\n", aa[f].name,
		       aa_runs, 100.0 * back / aa_runs, 100.0 * prom / aa_runs,
		       100.0 * paused / aa_runs, reach, reach ? 100.0 * reach_prom / reach : 0.0,
		       (unsigned long long)quant(secs, aa_runs, 0.5), aa[f].what);
		fflush(stdout);
		free(secs);
		if (!assert_on)
			continue;
		if (back > max_false * aa_runs ||
		    (reach && !aa[f].no_promotion && reach_prom < min_promoted * reach)) {
			printf("  FAIL %s: false rollbacks above %.1f %% or promoted below %.0f %%\n",
			       aa[f].name, 100 * max_false, 100 * min_promoted);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void test_power(void **state)
{
	int failed = 0;
	size_t f;

	(void)state;
	printf("Power (sim2), unattended (pause = miss)\n");
	printf("%-15s %5s %9s %21s %21s  %s\n", "harm", "runs", "detected", "cand pkts med/p95",
	       "harmed med/p95", "harm");
	for (f = 0; f < NHARM; f++) {
		__u64 *cp = calloc(power_runs, sizeof(*cp)), *hp = calloc(power_runs, sizeof(*hp));
		int i, hit = 0;

		if (only && strcmp(only, harms[f].name)) {
			free(cp);
			free(hp);
			continue;
		}
		for (i = 0; i < power_runs; i++) {
			struct sim2_result r;

			sim2_run(&harms[f], 9000011ULL * (f + 1) + i, &r);
			if (r.phase == ROLLOUT_ROLLED_BACK) {
				cp[hit] = r.cand_packets;
				hp[hit] = r.harmed_packets;
				hit++;
			} else {
				verbose("MISS", i, &r);
			}
		}
		printf("%-15s %5d %8.1f%% %10llu/%-10llu %10llu/%-10llu  %s\n", harms[f].name,
		       power_runs, 100.0 * hit / power_runs, (unsigned long long)quant(cp, hit, 0.5),
		       (unsigned long long)quant(cp, hit, 0.95),
		       (unsigned long long)quant(hp, hit, 0.5),
		       (unsigned long long)quant(hp, hit, 0.95), harms[f].what);
		fflush(stdout);
		free(cp);
		free(hp);
		if (assert_on && hit < min_power * power_runs) {
			printf("  FAIL %s: detected below %.0f %%\n", harms[f].name, 100 * min_power);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aa),
		cmocka_unit_test(test_power),
	};
	int i;

	/* Under valgrind (tests/valgrind.sh): a few rollouts, no bounds. */
	if (getenv("CANARY_AA_RUNS")) {
		aa_runs = power_runs = 2;
		assert_on = false;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full") || !strcmp(argv[i], "--tables")) {
			aa_runs = 200;
			power_runs = 50;
			max_false = 0.01;
			min_promoted = 0.95;
			min_power = 0.95;
			assert_on = !strcmp(argv[i], "--full");
		} else if (!strcmp(argv[i], "--assert")) {
			assert_on = true;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			aa_runs = power_runs = atoi(argv[++i]);
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
