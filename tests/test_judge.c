// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The judge (rollout/judge.c): its distributions against known values, the
 * guards (invalid verdicts, the exact abort test, bad configuration, bad
 * reads, untrusted splits that must not blind the harm tests), and short
 * runs on strata whose rates persist (A/A, regressions both ways, the
 * absolute floor, cost, low traffic, persistence). The flow-level
 * simulation through the engine is tests/test_sim.c.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "judge.h"
#include "rng.h"

/* ---- a deterministic generator: xoshiro256**, seeded by splitmix64 ---- */

struct rng {
	__u64 s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	xoshiro_seed(r->s, seed);
}

static uint64_t rng_next(struct rng *r)
{
	return xoshiro_next(r->s);
}

/* Uniform in (0, 1). */
static double rng_unif(struct rng *r)
{
	return ((rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double rng_normal(struct rng *r)
{
	return sqrt(-2 * log(rng_unif(r))) * cos(2 * M_PI * rng_unif(r));
}

/* Binomial: inversion while the mean is small, a rounded normal beyond. */
static uint64_t rng_binom(struct rng *r, uint64_t n, double p)
{
	double mean, q, s, a, f, u;
	uint64_t x;

	if (n == 0 || p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - rng_binom(r, n, 1 - p);
	mean = n * p;
	if (mean > 40) {
		double v = llround(mean + sqrt(mean * (1 - p)) * rng_normal(r));

		return v < 0 ? 0 : v > n ? n : (uint64_t)v;
	}
	q = 1 - p;
	s = p / q;
	a = (n + 1) * s;
	f = pow(q, (double)n);
	u = rng_unif(r);
	for (x = 0; u > f && x < n;) {
		u -= f;
		x++;
		f *= a / x - s;
	}
	return x;
}

static uint64_t rng_poisson(struct rng *r, double mean)
{
	double l, p = 1;
	uint64_t k = 0;

	if (mean > 40) {
		double v = llround(mean + sqrt(mean) * rng_normal(r));

		return v < 0 ? 0 : (uint64_t)v;
	}
	l = exp(-mean);
	do {
		k++;
		p *= rng_unif(r);
	} while (p > l);
	return k - 1;
}

/* ---- helpers ---- */

static void show(const struct judge_evidence *ev)
{
	char buf[512];

	judge_evidence__format(ev, buf, sizeof(buf));
	print_message("  %s\n", buf);
}

static void show_all(const struct judge_evidence *ev)
{
	char buf[512];
	__u32 i;

	show(ev);
	for (i = 0; i < ev->nr_tests; i++) {
		judge_test_ev__format(&ev->tests[i], buf, sizeof(buf));
		print_message("    - %s\n", buf);
	}
}

static double rel_err(double a, double b)
{
	return fabs(a - b) / fabs(b);
}


/* Independent packets: R packets an interval split at share, events at the given rates. */
/* ---- distributions ---- */

/* A direct sum of lgamma-computed terms: slow, independent of the judge's recurrence. */
static double naive_binom_sf(uint64_t k, uint64_t x, double th)
{
	long double sum = 0;
	uint64_t j;

	for (j = x; j <= k; j++) {
		long double lp = lgammal(k + 1.0L) - lgammal(j + 1.0L) - lgammal(k - j + 1.0L) +
				 j * logl(th) + (k - j) * log1pl(-th);

		sum += expl(lp);
		if (j > x + 10 && expl(lp) < sum * 1e-20L)
			break;
	}
	return (double)sum;
}

static void test_binom_sf(void **state)
{
	static const struct {
		uint64_t k, x;
		double th, p;
	} known[] = {
		{ 3, 3, 0.05, 1.25e-4 },		/* 0.05^3 */
		{ 10, 8, 0.5, 56.0 / 1024 },		/* (45 + 10 + 1) / 2^10 */
		{ 5, 3, 0.05, 0.001158125 },		/* 10*.05^3*.95^2 + 5*.05^4*.95 + .05^5 */
		{ 10, 0, 0.3, 1.0 },
		{ 10, 11, 0.3, 0.0 },
		{ 4, 1, 0.5, 15.0 / 16 },
		{ 20, 10, 0.3, 0.047961897 },		/* 1 - pbinom(9, 20, 0.3) */
	};
	static const struct {
		uint64_t k, x;
		double th;
	} big[] = {
		{ 1000000, 501000, 0.5 },		/* z about 2: p about 0.023 */
		{ 1000000, 499000, 0.5 },		/* below the mode: the complement */
		{ 10000000, 10500, 0.001 },		/* K large, theta small */
		{ 100000, 400, 0.001 },			/* far tail, about 1e-80 */
		{ 50, 40, 0.05 },			/* far tail, tiny */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		double p = judge_binom_sf(known[i].k, known[i].x, known[i].th);

		print_message("  P(Bin(%llu, %g) >= %llu) = %.10g (known %.10g)\n",
			      (unsigned long long)known[i].k, known[i].th,
			      (unsigned long long)known[i].x, p, known[i].p);
		if (known[i].p == 0)
			assert_true(p == 0);
		else
			assert_true(rel_err(p, known[i].p) < 1e-8);
	}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		double lp = judge_log_binom_sf(big[i].k, big[i].x, big[i].th);
		double ref = naive_binom_sf(big[i].k, big[i].x, big[i].th);

		print_message("  P(Bin(%llu, %g) >= %llu) = %.10g, log %.6f (direct sum %.10g)\n",
			      (unsigned long long)big[i].k, big[i].th,
			      (unsigned long long)big[i].x, exp(lp), lp, ref);
		assert_true(isfinite(lp));
		assert_true(fabs(lp - log(ref)) < 1e-6);
	}
	/* Upper tail plus lower tail is one, across the mode. */
	for (i = 0; i < 40; i++) {
		double a = judge_binom_sf(200, 10 + i, 0.1);
		double b = 1 - judge_binom_sf(200, 10 + i, 0.1);

		assert_true(fabs(a + b - 1) < 1e-12);
		assert_true(i == 0 || a <= judge_binom_sf(200, 9 + i, 0.1));
	}
}

static void test_chi2_sf(void **state)
{
	static const struct {
		double x, p;
	} known[] = {
		{ 3.841458820694124, 0.05 },
		{ 6.634896601021214, 0.01 },
		{ 10.827566170662733, 0.001 },
		{ 1.0, 0.31731050786291415 },
		{ 0.0, 1.0 },
		{ 100.0, 1.5239706048320995e-23 },
	};
	size_t i;
	double t;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		double p = judge_chi2_sf(known[i].x);

		print_message("  chi2_1 sf(%g) = %.12g (known %.12g)\n", known[i].x, p, known[i].p);
		assert_true(rel_err(p, known[i].p) < 1e-9);
	}
	/* Monotone, and a chi-square of a standard normal: P(|Z| > 1.96) = 0.05. */
	for (t = 0.1; t < 50; t *= 1.3)
		assert_true(judge_chi2_sf(t * 1.3) < judge_chi2_sf(t));
	assert_true(rel_err(judge_chi2_sf(1.959963984540054 * 1.959963984540054), 0.05) < 1e-9);
}

/* ---- scenarios ---- */

static void test_exact_abort_example(void **state)
{
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	struct judge_sample s = { 0 }, c = { 0 };
	enum judge_verdict v;

	(void)state;
	assert_true(rel_err(judge_binom_sf(3, 3, 0.05), 1.25e-4) < 1e-12);

	judge_config__defaults(&cfg);
	assert_int_equal(judge__init(&st, &cfg), 0);
	/* Exactly a 5 % split; stable no aborts, candidate 3. */
	s.packets = 19000;
	s.passes = 19000;
	c.packets = 1000;
	c.passes = 997;
	c.aborts = 3;
	v = judge__update(&st, &s, &c, 500, 1000, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_EXACT);
	assert_string_equal(ev.decision.metric, "abort");
	assert_true(rel_err(ev.decision.p, 1.25e-4) < 1e-9);
	assert_int_equal(ev.decision.x_c, 3);
	assert_int_equal(ev.decision.x_s, 0);

	/* Two aborts (p = 0.0025) are not enough at this threshold. */
	assert_int_equal(judge__init(&st, &cfg), 0);
	c.aborts = 2;
	c.passes = 998;
	v = judge__update(&st, &s, &c, 500, 1000, &ev);
	assert_int_not_equal(v, JUDGE_HARMFUL);
}

/* An abort regression with no other symptom, caught by the exact test. */
static void test_invalid_at_once(void **state)
{
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	struct judge_sample s = { .packets = 19000, .passes = 19000 };
	struct judge_sample c = { .packets = 1000, .passes = 999, .invalid = 1 };
	enum judge_verdict v;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	v = judge__update(&st, &s, &c, 500, 1000, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_LIMIT);
	assert_int_equal(ev.decision.x_c, 1);
	/* Latched: clean data afterwards does not undo it. */
	c.invalid = 0;
	c.passes = 1000;
	assert_int_equal(judge__update(&st, &s, &c, 500, 2000, &ev), JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_LIMIT);
	/* A rollout that does not use the limit does not trip on it. */
	cfg.invalid_limit = false;
	judge__init(&st, &cfg);
	c.invalid = 1;
	c.passes = 999;
	assert_int_not_equal(judge__update(&st, &s, &c, 500, 1000, NULL), JUDGE_HARMFUL);
}

static void test_bad_config(void **state)
{
	struct judge_config cfg;
	struct judge_state st;
	char buf[8];

	(void)state;
	judge_config__defaults(&cfg);
	cfg.alpha = 0;
	assert_int_equal(judge__init(&st, &cfg), -EINVAL);
	judge_config__defaults(&cfg);
	cfg.deff = 0.5;
	assert_int_equal(judge__init(&st, &cfg), -EINVAL);
	judge_config__defaults(&cfg);
	cfg.metric[JUDGE_METRIC_DROP].rho0 = -1;
	assert_int_equal(judge__init(&st, &cfg), -EINVAL);
	judge_config__defaults(&cfg);
	assert_int_equal(judge__init(&st, &cfg), 0);
	{
		struct judge_evidence ev;
		struct judge_sample s = { .packets = 100 }, c = { .packets = 5 };

		judge__update(&st, &s, &c, 500, 1000, &ev);
		assert_int_equal(judge_evidence__format(&ev, buf, sizeof(buf)), -ENOSPC);
		assert_int_equal(strlen(buf), sizeof(buf) - 1);
	}
}

/* ---- strata: persistent per-stratum rates, as flows that keep their hash give ---- */

/*
 * Each stratum has a packet rate (log-normal) and a drop rate that persists:
 * most strata 0.2 %, some (those an attack flow hashed to) 5-90 %. The
 * candidate serves strata [0, share / 10); its drop rates are times MULT
 * (capped at 1), it aborts ABORT of its packets, and its sampled cost is
 * COST times stable's. AGG_SKEW scales the candidate's own packet counter
 * (a broken split: it disagrees with the strata).
 */
struct strat {
	struct rng r;
	double lam[CANARY_STRATA], rate[CANARY_STRATA];
	double mult, abort, cost, agg_skew;
	/*
	 * From tick EXTRA_FROM on: EXTRA[i] more packets a second in stratum
	 * i, all dropped by both versions (new attack flows); the candidate
	 * drops every packet of the strata with BH[i] (a harm that changes
	 * verdicts, not packets).
	 */
	double extra[CANARY_STRATA];
	bool bh[CANARY_STRATA];
	int ticks, extra_from;
	/*
	 * Every REDRAW ticks (0: never) every stratum's drop rate is drawn
	 * again: flows that live seconds (denied connection attempts), so a
	 * stratum's past says nothing of its next minute.
	 */
	int redraw;
	/*
	 * Clumps: each tick a stratum starts one with probability CLUMP_P;
	 * it brings CLUMP_PPS new packets a second for CLUMP_LEN ticks, all
	 * dropped by both versions (a denied client's connection attempts:
	 * new flows, wherever their hash falls).
	 */
	double clump_p, clump_pps;
	int clump_len;
	int clump_left[CANARY_STRATA];
	double clump_rate[CANARY_STRATA];
	struct canary_stratum k[CANARY_STRATA];
	struct judge_sample s, c;
};

static double strat_rate(struct strat *m)
{
	return rng_unif(&m->r) < 0.15 ? 0.05 + 0.85 * rng_unif(&m->r) : 0.002;
}

static void strat_init(struct strat *m, uint64_t seed, double pps)
{
	int i;

	memset(m, 0, sizeof(*m));
	rng_seed(&m->r, seed);
	m->mult = 1;
	m->cost = 1;
	m->agg_skew = 1;
	for (i = 0; i < CANARY_STRATA; i++) {
		m->lam[i] = pps / CANARY_STRATA * exp(0.7 * rng_normal(&m->r) - 0.245);
		m->rate[i] = strat_rate(m);
	}
}

static void hist_add(struct rng *r, struct judge_sample *out, uint64_t packets, double factor)
{
	uint64_t n = packets / 64, i;

	for (i = 0; i < n; i++) {
		double ns = 300 * factor * exp(0.3 * rng_normal(r));
		int b = (int)floor(log2(ns));

		out->cost_hist[b < 0 ? 0 : b > CANARY_COST_BUCKETS - 1 ? CANARY_COST_BUCKETS - 1 : b]++;
		out->cost_samples++;
		out->cost_ns += (uint64_t)ns;
	}
}

static void strat_tick(struct strat *m, __u32 share_bp)
{
	__u32 nc = share_bp / CANARY_STRATUM_BP;
	int i;

	memset(&m->s, 0, sizeof(m->s));
	memset(&m->c, 0, sizeof(m->c));
	if (m->redraw && m->ticks % m->redraw == 0)
		for (i = 0; i < CANARY_STRATA; i++)
			m->rate[i] = strat_rate(m);
	for (i = 0; i < CANARY_STRATA; i++) {
		bool cand = (__u32)i < nc;
		uint64_t n = rng_poisson(&m->r, m->lam[i]);
		double p = cand ? fmin(1, m->rate[i] * m->mult) : m->rate[i];
		uint64_t d = rng_binom(&m->r, n, cand && m->bh[i] ? 1 : p);

		if (m->ticks >= m->extra_from && m->extra[i] > 0) {
			uint64_t e = rng_poisson(&m->r, m->extra[i]);

			n += e;
			d += e;
		}
		if (m->clump_p > 0 && !m->clump_left[i] && rng_unif(&m->r) < m->clump_p) {
			/* Heavy-tailed: Pareto(1.2) rates, exponential lengths. */
			m->clump_left[i] = 1 + (int)(-m->clump_len * log(1 - rng_unif(&m->r)));
			m->clump_rate[i] = fmin(100 * m->clump_pps, m->clump_pps * 0.2 /
						pow(1 - rng_unif(&m->r), 1 / 1.2));
		}
		if (m->clump_left[i]) {
			uint64_t e = rng_poisson(&m->r, m->clump_rate[i]);

			m->clump_left[i]--;
			n += e;
			d += e;
		}
		uint64_t a = cand ? rng_binom(&m->r, n - d, m->abort) : 0;
		struct judge_sample *o = cand ? &m->c : &m->s;

		memset(&m->k[i], 0, sizeof(m->k[i]));
		m->k[i].verdict[CANARY_V_DROP] = d;
		m->k[i].verdict[CANARY_V_ABORTED] = a;
		m->k[i].verdict[CANARY_V_PASS] = n - d - a;
		o->packets += n;
		o->drops += d;
		o->aborts += a;
		o->passes += n - d - a;
	}
	m->ticks++;
	hist_add(&m->r, &m->s, m->s.packets, 1);
	hist_add(&m->r, &m->c, m->c.packets, m->cost);
	if (m->agg_skew != 1) {
		m->c.packets = (uint64_t)(m->c.packets * m->agg_skew);
		m->c.drops = (uint64_t)(m->c.drops * m->agg_skew);
		m->c.passes = (uint64_t)(m->c.passes * m->agg_skew);
		m->c.aborts = (uint64_t)(m->c.aborts * m->agg_skew);
	}
}

/*
 * WARM seconds of baseline at share 0, then up to SECS at SHARE_BP, one
 * read a second. Returns the first verdict other than inconclusive.
 */
static enum judge_verdict strat_run(struct judge_state *st, struct strat *m, int warm, int secs,
				    __u32 share_bp, struct judge_evidence *ev)
{
	struct judge_input in = { .strata = m->k, .stable = &m->s, .cand = &m->c };
	enum judge_verdict v = JUDGE_INCONCLUSIVE;
	int t;

	for (t = 1; t <= warm + secs; t++) {
		in.share_bp = t <= warm ? 0 : share_bp;
		in.now_ms = (st->last_ms + st->clock_skip_ms) + 1000;
		strat_tick(m, in.share_bp);
		if (t == warm + 1)
			judge__new_step(st);
		v = judge__update_strata(st, &in, ev);
		if (t > warm && v != JUDGE_INCONCLUSIVE)
			break;
	}
	return v;
}

static struct judge_state jst;
static struct strat sim;

static void test_chi2_lower(void **state)
{
	(void)state;
	/* qchisq(0.05, k): 3.940299 (10), 77.92947 (100); Wilson-Hilferty within 1 %. */
	assert_true(rel_err(judge_chi2_lower(10, 0.05), 3.940299) < 0.01);
	assert_true(rel_err(judge_chi2_lower(100, 0.05), 77.92947) < 0.01);
	/* Below 2 degrees of freedom it may only undershoot (a wider bound on phi). */
	assert_true(judge_chi2_lower(1, 0.05) <= 0.00393);
}

/* A/A on persistent strata: the candidate's strata differ, not by the candidate. */
static void test_strata_aa(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	int i, harm = 0, healthy = 0, runs = 150;

	(void)state;
	/* tests/valgrind.sh asks for fewer; the bounds scale with the count. */
	if (getenv("CANARY_AA_RUNS"))
		runs = atoi(getenv("CANARY_AA_RUNS"));
	judge_config__defaults(&cfg);
	for (i = 0; i < runs; i++) {
		enum judge_verdict v;

		judge__init(&jst, &cfg);
		strat_init(&sim, 100 + i, 50000);
		v = strat_run(&jst, &sim, 120, 600, 500, &ev);
		harm += v == JUDGE_HARMFUL;
		healthy += v == JUDGE_HEALTHY;
		if (v == JUDGE_HARMFUL)
			show(&ev);
	}
	print_message("  A/A strata: %d harmful, %d healthy of %d\n", harm, healthy, runs);
	assert_true(harm <= 3 * runs / 150);
	assert_true(healthy >= runs * 0.9);
}

static void test_strata_regression(void **state)
{
	static const double mults[] = { 2, 0.5 };
	struct judge_config cfg;
	struct judge_evidence ev;
	int i;

	(void)state;
	judge_config__defaults(&cfg);
	for (i = 0; i < 2; i++) {
		judge__init(&jst, &cfg);
		strat_init(&sim, 7 + i, 50000);
		sim.mult = mults[i];
		assert_int_equal(strat_run(&jst, &sim, 120, 600, 500, &ev), JUDGE_HARMFUL);
		show(&ev);
		assert_int_equal(ev.decision.test, JUDGE_TEST_HARM);
		assert_int_equal(ev.decision.dir, i ? JUDGE_DIR_DOWN : JUDGE_DIR_UP);
	}
}

/*
 * Flows that live seconds: every stratum's drop rate drawn again every 5 s.
 * Its baseline then says nothing of its next minute, and the model's
 * expectation, which trusts it, is calibrated on stable's strata: b of the
 * own-rate strata 0.33-0.55 (what is left is their packets', which still
 * predict), where rates persist 1.
 * A/A is never harmful; a doubling still is. (At 5 % for 10 min such
 * traffic, 7 % drops in clumps, mostly stays inconclusive: no healthy bound.)
 */
static void test_strata_transient(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	enum judge_verdict v;
	int i, harm = 0, healthy = 0, runs = 20;

	(void)state;
	judge_config__defaults(&cfg);
	for (i = 0; i < runs; i++) {
		judge__init(&jst, &cfg);
		strat_init(&sim, 300 + i, 50000);
		sim.redraw = 5;
		v = strat_run(&jst, &sim, 120, 600, 500, &ev);
		harm += v == JUDGE_HARMFUL;
		healthy += v == JUDGE_HEALTHY;
		if (v == JUDGE_HARMFUL)
			show(&ev);
		/* The own-rate strata's rates predicted little of their next minutes. */
		assert_true(jst.m[JUDGE_METRIC_DROP].cal_b[1] < 0.7);
	}
	print_message("  transient A/A: %d harmful, %d healthy of %d\n", harm, healthy, runs);
	assert_int_equal(harm, 0);

	/* Persistent rates: the model kept. */
	judge__init(&jst, &cfg);
	strat_init(&sim, 300, 50000);
	strat_run(&jst, &sim, 120, 300, 500, &ev);
	print_message("persist b %.3f %.3f\n", jst.m[0].cal_b[0], jst.m[0].cal_b[1]);
	assert_true(jst.m[JUDGE_METRIC_DROP].cal_b[1] > 0.9);

	judge__init(&jst, &cfg);
	strat_init(&sim, 301, 50000);
	sim.redraw = 5;
	sim.mult = 2;
	v = strat_run(&jst, &sim, 120, 600, 500, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.dir, JUDGE_DIR_UP);
}

/*
 * A low-rate host (200 packets a second over 1,000 strata, a fifth of a
 * packet per stratum) whose drops come in clumps: denied clients' attempts,
 * 5 a second for 5 s, in a random stratum. The median stratum sees no drop
 * in a minute and one clump is an outlier: the clumps are the variance.
 * A/A at 1 % for an hour: never harmful. Every packet of the candidate
 * dropped: harmful.
 */
static void test_strata_clumps(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	enum judge_verdict v;
	int i, harm = 0, runs = 12;

	(void)state;
	judge_config__defaults(&cfg);
	for (i = 0; i < runs; i++) {
		judge__init(&jst, &cfg);
		strat_init(&sim, 1200 + i, 200);
		for (int s = 0; s < CANARY_STRATA; s++)
			sim.rate[s] = 0;
		sim.clump_p = 0.02 / CANARY_STRATA;
		sim.clump_pps = 5;
		sim.clump_len = 5;
		v = strat_run(&jst, &sim, 120, 3600, 100, &ev);
		harm += v == JUDGE_HARMFUL;
		if (v == JUDGE_HARMFUL)
			show(&ev);
	}
	print_message("  clumped low-rate A/A: %d harmful of %d\n", harm, runs);
	assert_int_equal(harm, 0);

	judge__init(&jst, &cfg);
	strat_init(&sim, 1250, 200);
	for (int s = 0; s < CANARY_STRATA; s++)
		sim.rate[s] = 0;
	sim.clump_p = 0.02 / CANARY_STRATA;
	sim.clump_pps = 5;
	sim.clump_len = 5;
	for (int s = 0; s < 10; s++)
		sim.bh[s] = true;
	v = strat_run(&jst, &sim, 120, 3600, 100, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.dir, JUDGE_DIR_UP);
}

/*
 * A burst of new attack flows, each with 1 % of the traffic, mid-step: a few
 * land among the candidate's 50 strata, more among stable's. Stable's own
 * outliers explain the candidate's: left out, not harm. The same excess as
 * changed verdicts without new packets, in one of the candidate's strata
 * and nowhere else, is harm.
 */
static void test_strata_burst(void **state)
{
	static const int hit[] = { 3, 17, 120, 333, 561, 800, 950 };
	struct judge_config cfg;
	struct judge_evidence ev;
	enum judge_verdict v;
	int i, j, harm = 0, trimmed = 0, runs = 20;

	(void)state;
	judge_config__defaults(&cfg);
	for (j = 0; j < runs; j++) {
		judge__init(&jst, &cfg);
		strat_init(&sim, 900 + j, 50000);
		sim.extra_from = 120 + 20;
		for (i = 0; i < (int)(sizeof(hit) / sizeof(hit[0])); i++)
			sim.extra[hit[i]] = 500;
		v = strat_run(&jst, &sim, 120, 600, 500, &ev);
		harm += v == JUDGE_HARMFUL;
		trimmed += jst.m[JUDGE_METRIC_DROP].nr_trim[JUDGE_DIR_UP] > 0 ||
			   jst.m[JUDGE_METRIC_DROP].nr_strim > 0 || ev.decision.trimmed > 0;
		/*
		 * Each harm test leaves out only strata on its own side: the
		 * "up" test's are above expectation, the "down" test's below
		 * (leaving a burst out of the "down" test would lower the
		 * candidate's events and make evidence of a drop).
		 */
		assert_true(jst.m[JUDGE_METRIC_DROP].trim[JUDGE_DIR_UP] >= 0);
		assert_true(jst.m[JUDGE_METRIC_DROP].trim[JUDGE_DIR_DOWN] <= 0);
		assert_true(jst.m[JUDGE_METRIC_DROP].nr_trim[JUDGE_DIR_UP] > 0);
		if (v == JUDGE_HARMFUL)
			show(&ev);
	}
	print_message("  burst: %d harmful of %d, %d with strata left out\n", harm, runs, trimmed);
	assert_int_equal(harm, 0);
	assert_true(trimmed > 0);

	/* Only the candidate's stratum 3 has new flows: explained by its packets. */
	judge__init(&jst, &cfg);
	strat_init(&sim, 950, 50000);
	sim.extra_from = 120 + 20;
	sim.extra[3] = 500;
	v = strat_run(&jst, &sim, 120, 600, 500, &ev);
	show(&ev);
	assert_int_not_equal(v, JUDGE_HARMFUL);

	/* The candidate drops all of stratum 3: as many events, no new packets. */
	judge__init(&jst, &cfg);
	strat_init(&sim, 950, 50000);
	sim.lam[3] = 500;
	sim.rate[3] = 0.002;
	sim.bh[3] = true;
	v = strat_run(&jst, &sim, 120, 600, 500, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_HARM);
}

/* A filter that drops nothing is promotable: the absolute floor. */
static void test_floor_without_events(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	int i;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&jst, &cfg);
	strat_init(&sim, 3, 50000);
	for (i = 0; i < CANARY_STRATA; i++)
		sim.rate[i] = 0;
	assert_int_equal(strat_run(&jst, &sim, 120, 600, 500, &ev), JUDGE_HEALTHY);
	show_all(&ev);
	assert_true(jst.m[JUDGE_METRIC_DROP].floor_max[JUDGE_DIR_UP] >= jst.safe_log_thr);
}

/* Bad reads are skipped and counted, never evidence, never "untrusted" alone. */
static void test_bad_input(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	struct judge_input in = { .strata = sim.k, .stable = &sim.s, .cand = &sim.c };
	struct judge_state copy;
	__u64 now;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&jst, &cfg);
	strat_init(&sim, 4, 50000);
	assert_int_equal(strat_run(&jst, &sim, 120, 30, 500, &ev), JUDGE_INCONCLUSIVE);
	now = jst.last_ms;
	in.share_bp = 500;

	/* A wrapped counter in one stratum. */
	strat_tick(&sim, 500);
	sim.k[17].verdict[CANARY_V_DROP] = (__u64)-3;
	copy = jst;
	in.now_ms = now + 1000;
	assert_int_equal(judge__update_strata(&jst, &in, &ev), JUDGE_INCONCLUSIVE);
	assert_int_equal(ev.decision.test, JUDGE_TEST_INPUT);
	assert_int_equal(jst.bad_reads, 1);
	assert_true(jst.m[JUDGE_METRIC_DROP].sum.x == copy.m[JUDGE_METRIC_DROP].sum.x);

	/* The strata and the aggregate counters disagree grossly. */
	strat_tick(&sim, 500);
	sim.s.packets *= 3;
	assert_int_equal(judge__update_strata(&jst, &in, &ev), JUDGE_INCONCLUSIVE);
	assert_int_equal(jst.bad_reads, 2);

	/* A torn per-CPU read: one pass more than packets. Accepted. */
	strat_tick(&sim, 500);
	sim.c.passes = sim.c.packets + 1 - sim.c.drops - sim.c.aborts;
	in.now_ms = now + 2000;
	assert_int_not_equal(judge__update_strata(&jst, &in, &ev), JUDGE_UNTRUSTED);
	assert_int_equal(jst.bad_reads, 2);

	/* Time backwards, and a jump: skipped, and the jump's time is not step time. */
	strat_tick(&sim, 500);
	in.now_ms = now + 1500;
	judge__update_strata(&jst, &in, &ev);
	assert_int_equal(jst.bad_times, 1);
	in.now_ms = now + 2000 + 3600 * 1000;
	judge__update_strata(&jst, &in, &ev);
	assert_int_equal(jst.bad_times, 2);
	in.now_ms += 1000;
	assert_int_not_equal(judge__update_strata(&jst, &in, &ev), JUDGE_TIMEOUT);
	assert_true(jst.last_ms - jst.step_start_ms < 60 * 1000);
	assert_int_equal(ev.bad_times, 2);
	/* A share out of range. */
	in.share_bp = 10001;
	judge__update_strata(&jst, &in, &ev);
	assert_int_equal(jst.bad_reads, 3);
}

/* Untrusted never blinds the harm tests. */
static void test_untrusted_keeps_harm(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	enum judge_verdict v;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&jst, &cfg);
	strat_init(&sim, 5, 50000);
	sim.agg_skew = 0.5;
	v = strat_run(&jst, &sim, 120, 30, 500, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_UNTRUSTED);
	assert_int_equal(ev.decision.test, JUDGE_TEST_SRM);
	sim.mult = 50;
	v = strat_run(&jst, &sim, 0, 300, 500, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_HARM);
}

/* Cold caches at a small share: 1.6x is not harm; twice as slow is. */
static void test_cost(void **state)
{
	static const double factor[] = { 1.6, 2.2 };
	struct judge_config cfg;
	struct judge_evidence ev;
	int i;

	(void)state;
	judge_config__defaults(&cfg);
	for (i = 0; i < 2; i++) {
		enum judge_verdict v;

		judge__init(&jst, &cfg);
		strat_init(&sim, 6 + i, 100000);
		sim.cost = factor[i];
		v = strat_run(&jst, &sim, 120, 600, 100, &ev);
		show(&ev);
		if (i == 0) {
			assert_int_not_equal(v, JUDGE_HARMFUL);
		} else {
			assert_int_equal(v, JUDGE_HARMFUL);
			assert_int_equal(ev.decision.metric_id, JUDGE_METRIC_SLOW);
		}
	}
}

/* Low traffic: the evidence says what it would take; it is never harm. */
static void test_low_traffic(void **state)
{
	struct judge_config cfg;
	struct judge_evidence ev;
	char buf[1024];
	enum judge_verdict v;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&jst, &cfg);
	strat_init(&sim, 9, 200);
	v = strat_run(&jst, &sim, 120, 120, 100, &ev);
	assert_int_equal(v, JUDGE_INCONCLUSIVE);
	assert_true(ev.unreachable);
	assert_true(ev.need_pph == 10000.0);
	assert_true(ev.cand_pph > 0 && ev.cand_pph < 10000);
	judge_evidence__format(&ev, buf, sizeof(buf));
	print_message("  %s\n", buf);
	assert_non_null(strstr(buf, "low traffic"));
}

/* The state is plain data: written and read back, it goes on identically. */
static void test_persist_resume(void **state)
{
	static struct judge_state b;
	static struct strat sb;
	struct judge_config cfg;
	struct judge_evidence ea, eb;
	FILE *f;
	int i;

	(void)state;
	judge_config__defaults(&cfg);
	judge__init(&jst, &cfg);
	strat_init(&sim, 10, 50000);
	sim.mult = 1.3;
	strat_run(&jst, &sim, 120, 30, 500, &ea);
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(&jst, sizeof(jst), 1, f), 1);
	rewind(f);
	assert_int_equal(fread(&b, sizeof(b), 1, f), 1);
	fclose(f);
	sb = sim;
	for (i = 0; i < 300; i++) {
		enum judge_verdict va = strat_run(&jst, &sim, 0, 1, 500, &ea);
		enum judge_verdict vb = strat_run(&b, &sb, 0, 1, 500, &eb);
		char fa[512], fb[512];

		assert_int_equal(va, vb);
		judge_evidence__format(&ea, fa, sizeof(fa));
		judge_evidence__format(&eb, fb, sizeof(fb));
		assert_string_equal(fa, fb);
	}
	assert_memory_equal(&jst, &b, sizeof(b));
	print_message("  state %zu bytes\n", sizeof(jst));
	assert_true(sizeof(jst) < 256 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binom_sf),
		cmocka_unit_test(test_chi2_sf),
		cmocka_unit_test(test_chi2_lower),
		cmocka_unit_test(test_exact_abort_example),
		cmocka_unit_test(test_invalid_at_once),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_strata_aa),
		cmocka_unit_test(test_strata_regression),
		cmocka_unit_test(test_strata_burst),
		cmocka_unit_test(test_strata_transient),
		cmocka_unit_test(test_strata_clumps),
		cmocka_unit_test(test_floor_without_events),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_untrusted_keeps_harm),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_low_traffic),
		cmocka_unit_test(test_persist_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
