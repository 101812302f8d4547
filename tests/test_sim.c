// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The judge through the engine on flow-level traffic (tests/lib/flowsim.c):
 * A/A false rollbacks and promotions per traffic family, and the power to
 * catch each kind of harm unattended (a pause is a miss).
 *
 *   test_sim            reduced counts (60 A/A per family, 30 per harm), loose
 *                       bounds (make test)
 *   test_sim --full     1,000 A/A rollouts per family, 200 per harm, the
 *                       bounds of issue 11 (make test-long)
 *   test_sim --tables   the full counts, tables only, no assertions (make sim)
 *   test_sim --only NAME  one family or harm
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
#include "flowsim.h"

/*
 * Reduced mode: bounds loose enough for 100-rollout noise, tight enough to
 * fail a judge that is broken (the judge before issue 11 rolled back 20-100 %
 * of these A/A families; one that never rolls back catches nothing).
 */
static int aa_runs = 60, power_runs = 30;
static double max_false = 0.05, min_promoted = 0.5, min_power = 0.5;
static bool assert_on = true;
static const char *only;


/* A/A: the candidate is the stable program; harm none. */
static const struct flowsim_family aa[] = {
	{ .name = "zipf_attack20", .flows_lo = 1000, .flows_hi = 100000, .pps_lo = 10000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "lognormal_att10", .flows_lo = 5000, .flows_hi = 50000, .pps_lo = 20000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 1, .ln_sigma_hi = 2,
	  .attack_flow_frac = 0.1, .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "elephant", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .elephant_lo = 0.2, .elephant_hi = 0.4, .pkt_drop_lo = 0.0005, .pkt_drop_hi = 0.002,
	  .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "flood10", .flows_lo = 5000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .flood_frac = 0.1, .pkt_drop_lo = 0.0005, .pkt_drop_hi = 0.002, .cold_lo = 1.0,
	  .cold_hi = 1.7 },
	{ .name = "burst", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.1,
	  .burst_frac = 0.1, .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "churn", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 1, .ln_sigma_hi = 2,
	  .attack_flow_frac = 0.1, .churn_lo = 0.005, .churn_hi = 0.02, .cold_lo = 1.0,
	  .cold_hi = 1.7, .no_promotion = true },
	{ .name = "diurnal", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .diurnal_amp = 0.5, .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "lowrate200", .flows_lo = 500, .flows_hi = 2000, .pps_lo = 200, .pps_hi = 200,
	  .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .attack_flow_frac = 0.1, .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "random_drops", .flows_lo = 1000, .flows_hi = 100000, .pps_lo = 5000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 2,
	  .pkt_drop_lo = 0.005, .pkt_drop_hi = 0.02, .cold_lo = 1.0, .cold_hi = 1.7 },
	{ .name = "cold_cache", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .attack_flow_frac = 0.05, .cold_lo = 1.5, .cold_hi = 1.7 },
	{ .name = "mixed", .flows_lo = 1000, .flows_hi = 100000, .pps_lo = 5000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.15,
	  .flood_frac = 0.1, .burst_frac = 0.05, .churn_lo = 0, .churn_hi = 0.01,
	  .diurnal_amp = 0.3, .pkt_drop_lo = 0, .pkt_drop_hi = 0.005, .cold_lo = 1.0,
	  .cold_hi = 1.7, .no_promotion = true },
};

static const struct flowsim_family harms[] = {
	{ .name = "blackhole24", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .pkt_drop_lo = 0.0005, .pkt_drop_hi = 0.002, .bh_lo = 0.03, .bh_hi = 0.1,
	  .cold_lo = 1.0, .cold_hi = 1.7, .harm = FLOWSIM_BLACKHOLE },
	{ .name = "blackhole24_zipf", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .bh_lo = 0.05, .bh_hi = 0.1, .cold_lo = 1.0, .cold_hi = 1.7,
	  .harm = FLOWSIM_BLACKHOLE },
	{ .name = "blackhole24_flood", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .flood_frac = 0.1, .flood_first_step = true, .pkt_drop_lo = 0.0005,
	  .pkt_drop_hi = 0.002, .bh_lo = 0.03, .bh_hi = 0.1, .cold_lo = 1.0, .cold_hi = 1.7,
	  .harm = FLOWSIM_BLACKHOLE },
	{ .name = "leaky", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .cold_lo = 1.0, .cold_hi = 1.7, .harm = FLOWSIM_LEAKY },
	{ .name = "drop1.3x", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .cold_lo = 1.0, .cold_hi = 1.7, .harm = FLOWSIM_DROP_MULT, .harm_mult = 1.3 },
	{ .name = "drop1.3x_flood", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_ZIPF, .zipf_s = 1.1, .attack_pkt_frac = 0.2,
	  .flood_frac = 0.1, .flood_first_step = true, .cold_lo = 1.0, .cold_hi = 1.7,
	  .harm = FLOWSIM_DROP_MULT, .harm_mult = 1.3 },
	{ .name = "drop2x", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .attack_flow_frac = 0.05, .pkt_drop_lo = 0.001, .pkt_drop_hi = 0.01,
	  .cold_lo = 1.0, .cold_hi = 1.7, .harm = FLOWSIM_DROP_MULT, .harm_mult = 2 },
	{ .name = "drop2x_flood", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 500000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .attack_flow_frac = 0.05, .flood_frac = 0.1, .flood_first_step = true,
	  .pkt_drop_lo = 0.001, .pkt_drop_hi = 0.01, .cold_lo = 1.0, .cold_hi = 1.7,
	  .harm = FLOWSIM_DROP_MULT, .harm_mult = 2 },
	{ .name = "aborts1e-5", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 100000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .pkt_drop_lo = 0.0005, .pkt_drop_hi = 0.002, .cold_lo = 1.0, .cold_hi = 1.7,
	  .harm = FLOWSIM_ABORTS, .harm_mult = 1e-5 },
	{ .name = "cost2x", .flows_lo = 2000, .flows_hi = 50000, .pps_lo = 10000,
	  .pps_hi = 1000000, .sizes = FLOWSIM_LOGNORMAL, .ln_sigma_lo = 0.5, .ln_sigma_hi = 1.5,
	  .attack_flow_frac = 0.05, .cold_lo = 1.0, .cold_hi = 1.7, .harm = FLOWSIM_COST,
	  .harm_mult = 2 },
};

#define NAA (sizeof(aa) / sizeof(aa[0]))
#define NHARM (sizeof(harms) / sizeof(harms[0]))

/*
 * Exposure reachable: at 1 % the traffic gives twice min_packets within
 * max_step_time, and enough drops to prove a ratio below 1.25 (about 800
 * expected in half an hour), or a drop rate below half the 0.1 % floor.
 * Below that no test can prove safety at 1 % in time: those rollouts time
 * out (a pause, never a rollback) and are reported, not counted here.
 */
static bool reachable(const struct flowsim_result *r)
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

static void test_aa(void **state)
{
	int failed = 0;
	size_t f;

	(void)state;
	printf("A/A, default plan 1,5,25,50,100, 60 s steps, max 1 h, min_packets 10000\n");
	printf("%-16s %6s %9s %9s %8s %6s %11s %9s\n", "family", "runs", "rollback", "promoted",
	       "paused", "reach", "prom|reach", "median s");
	for (f = 0; f < NAA; f++) {
		int i, back = 0, prom = 0, paused = 0, reach = 0, reach_prom = 0;
		__u64 *secs = calloc(aa_runs, sizeof(*secs));

		if (only && strcmp(only, aa[f].name))
			continue;
		for (i = 0; i < aa_runs; i++) {
			struct flowsim_result r;

			flowsim_run(&aa[f], 1000003ULL * (f + 1) + i, &r);
			back += r.phase == ROLLOUT_ROLLED_BACK;
			prom += r.phase == ROLLOUT_PROMOTED;
			paused += r.paused;
			secs[i] = r.secs;
			if (reachable(&r)) {
				reach++;
				reach_prom += r.phase == ROLLOUT_PROMOTED;
			}
			if (r.phase != ROLLOUT_PROMOTED && getenv("SIM_VERBOSE"))
				printf("  rollback seed %d pps %.0f flows %.0f: %s\n", i, r.pps,
				       r.flows, r.reason);
		}
		printf("%-16s %6d %8.2f%% %8.2f%% %7.2f%% %6d %10.1f%% %9llu\n", aa[f].name,
		       aa_runs, 100.0 * back / aa_runs, 100.0 * prom / aa_runs,
		       100.0 * paused / aa_runs, reach, reach ? 100.0 * reach_prom / reach : 0.0,
		       (unsigned long long)quant(secs, aa_runs, 0.5));
		fflush(stdout);
		free(secs);
		if (!assert_on)
			continue;
		/*
		 * Churn (also in "mixed"): a known limit (docs/JUDGE.md): only the
		 * false rollbacks are bounded.
		 */
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
	printf("Power, unattended (pause = miss)\n");
	printf("%-18s %5s %9s %20s %20s\n", "harm", "runs", "detected", "cand pkts med/p95",
	       "harmed med/p95");
	for (f = 0; f < NHARM; f++) {
		__u64 *cp = calloc(power_runs, sizeof(*cp)), *hp = calloc(power_runs, sizeof(*hp));
		int i, hit = 0;

		if (only && strcmp(only, harms[f].name))
			continue;
		for (i = 0; i < power_runs; i++) {
			struct flowsim_result r;

			flowsim_run(&harms[f], 7000003ULL * (f + 1) + i, &r);
			if (r.phase == ROLLOUT_ROLLED_BACK) {
				cp[hit] = r.cand_packets;
				hp[hit] = r.harmed_packets;
				hit++;
			} else if (getenv("SIM_VERBOSE")) {
				printf("  miss seed %d pps %.0f flows %.0f: %s\n", i, r.pps, r.flows,
				       r.reason);
			}
		}
		printf("%-18s %5d %8.1f%% %9llu/%-10llu %9llu/%-10llu\n", harms[f].name, power_runs,
		       100.0 * hit / power_runs, (unsigned long long)quant(cp, hit, 0.5),
		       (unsigned long long)quant(cp, hit, 0.95),
		       (unsigned long long)quant(hp, hit, 0.5),
		       (unsigned long long)quant(hp, hit, 0.95));
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
			aa_runs = 1000;
			power_runs = 200;
			max_false = 0.01;
			min_promoted = 0.95;
			min_power = 0.95;
			assert_on = !strcmp(argv[i], "--full");
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			aa_runs = power_runs = atoi(argv[++i]);
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
