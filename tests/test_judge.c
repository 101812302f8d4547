// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The judge (rollout/judge.c): its distributions against known values, one
 * scenario per verdict and guard, then simulated rollouts: A/A runs with
 * flow-clustered traffic for the false-harmful rate, and regressions with
 * independent packets for the power. Every simulation is seeded, so a
 * failure reproduces.
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

/* ---- a deterministic generator: xoshiro256**, seeded by splitmix64 ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Independent packets: R packets an interval split at share, events at the given rates. */
struct indep {
	uint64_t pps;
	double drop_s, drop_c;
	double abort_c;
	double slow_s, slow_c;
};

static void indep_interval(struct rng *r, const struct indep *m, __u32 share_bp,
			   struct judge_sample *s, struct judge_sample *c)
{
	uint64_t nc = rng_binom(r, m->pps, share_bp / 10000.0);

	memset(s, 0, sizeof(*s));
	memset(c, 0, sizeof(*c));
	c->packets = nc;
	s->packets = m->pps - nc;
	s->drops = rng_binom(r, s->packets, m->drop_s);
	c->drops = rng_binom(r, c->packets, m->drop_c);
	c->aborts = rng_binom(r, c->packets - c->drops, m->abort_c);
	s->passes = s->packets - s->drops;
	c->passes = c->packets - c->drops - c->aborts;
	s->cost_samples = s->packets / 128;
	c->cost_samples = c->packets / 128;
	s->slow = rng_binom(r, s->cost_samples, m->slow_s);
	c->slow = rng_binom(r, c->cost_samples, m->slow_c);
}

/*
 * Run one step at share_bp with independent packets until a verdict other
 * than inconclusive or max_intervals; returns the verdict, the candidate
 * packets seen and the interval.
 */
static enum judge_verdict run_indep(struct judge_state *st, struct rng *r, const struct indep *m,
				    __u32 share_bp, int max_intervals, uint64_t *cand_packets,
				    int *at, struct judge_evidence *ev)
{
	enum judge_verdict v = JUDGE_INCONCLUSIVE;
	struct judge_sample s, c;
	int i;

	*cand_packets = 0;
	for (i = 1; i <= max_intervals; i++) {
		indep_interval(r, m, share_bp, &s, &c);
		*cand_packets += c.packets;
		v = judge__update(st, &s, &c, share_bp, st->last_ms + 1000, ev);
		if (v != JUDGE_INCONCLUSIVE)
			break;
	}
	*at = i;
	return v;
}

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
static void test_abort_regression(void **state)
{
	struct indep m = { .pps = 20000, .drop_s = 0.001, .drop_c = 0.001, .abort_c = 1e-4 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;

	(void)state;
	rng_seed(&r, 11);
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 500, 1000, &packets, &at, &ev);
	show(&ev);
	print_message("  abort rate 1e-4 at 5 %%: harmful after %llu candidate packets\n",
		      (unsigned long long)packets);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_EXACT);
	assert_true(ev.decision.p <= cfg.abort_alpha);
	assert_true(packets < 100000);
}

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

static void test_drop_regression_2x(void **state)
{
	struct indep m = { .pps = 20000, .drop_s = 0.001, .drop_c = 0.002 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;

	(void)state;
	rng_seed(&r, 2);
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 500, 2000, &packets, &at, &ev);
	show_all(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_HARM);
	assert_int_equal(ev.decision.metric_id, JUDGE_METRIC_DROP);
	assert_int_equal(ev.decision.dir, JUDGE_DIR_UP);
	assert_true(ev.decision.decided);
	assert_true(ev.decision.p <= cfg.alpha / 3);
	assert_true(fabs(ev.decision.threshold - log(3 / cfg.alpha)) < 1e-12);
	assert_true(ev.decision.ratio > 1.3);
	assert_int_equal(ev.decision.n_c, packets);
	/* Harmful is latched for the rollout, across steps. */
	judge__new_step(&st);
	{
		struct judge_sample z = { 0 };

		assert_int_equal(judge__update(&st, &z, &z, 2500, st.last_ms + 1000, NULL),
				 JUDGE_HARMFUL);
	}
}

/* A filter that suddenly drops half as much may be letting an attack through. */
static void test_drop_less_is_harm(void **state)
{
	struct indep m = { .pps = 20000, .drop_s = 0.01, .drop_c = 0.005 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;

	(void)state;
	rng_seed(&r, 3);
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 500, 2000, &packets, &at, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_HARM);
	assert_int_equal(ev.decision.metric_id, JUDGE_METRIC_DROP);
	assert_int_equal(ev.decision.dir, JUDGE_DIR_DOWN);
	assert_true(ev.decision.ratio > 1.5);

	/* Not configured, not judged: the same candidate is not harmful upwards. */
	rng_seed(&r, 3);
	cfg.metric[JUDGE_METRIC_DROP].down = false;
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 500, 300, &packets, &at, &ev);
	assert_int_not_equal(v, JUDGE_HARMFUL);
}

/* Cost: twice stable's rate of slow samples is the tolerance, four times is harm. */
static void test_slow_regression(void **state)
{
	struct indep m = { .pps = 200000, .drop_s = 0.001, .drop_c = 0.001,
			   .slow_s = 0.02, .slow_c = 0.08 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;

	(void)state;
	rng_seed(&r, 4);
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 500, 2000, &packets, &at, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.metric_id, JUDGE_METRIC_SLOW);
	assert_int_equal(ev.decision.dir, JUDGE_DIR_UP);
}

static void test_srm_untrusted(void **state)
{
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	struct rng r;
	enum judge_verdict v = JUDGE_INCONCLUSIVE;
	int i;

	(void)state;
	rng_seed(&r, 5);
	judge_config__defaults(&cfg);
	judge__init(&st, &cfg);
	/* Configured 5 %, but the candidate gets 10 %. */
	for (i = 1; i <= 30 && v == JUDGE_INCONCLUSIVE; i++) {
		struct judge_sample s = { 0 }, c = { 0 };

		c.packets = rng_binom(&r, 20000, 0.10);
		s.packets = 20000 - c.packets;
		c.drops = rng_binom(&r, c.packets, 0.001);
		s.drops = rng_binom(&r, s.packets, 0.001);
		v = judge__update(&st, &s, &c, 500, i * 1000ULL, &ev);
	}
	show(&ev);
	print_message("  untrusted after %d intervals\n", i - 1);
	assert_int_equal(v, JUDGE_UNTRUSTED);
	assert_int_equal(ev.decision.test, JUDGE_TEST_SRM);
	assert_true(ev.decision.p < cfg.srm_alpha);
	assert_true(fabs(ev.decision.rate_c - 0.10) < 0.01);
	assert_true(fabs(ev.decision.rate_s - 0.05) < 1e-12);
	assert_true(i - 1 <= 10);
	/* Latched for the step; a new step judges the split afresh. */
	{
		struct judge_sample s = { .packets = 19000 }, c = { .packets = 1000 };

		assert_int_equal(judge__update(&st, &s, &c, 500, 40000, NULL), JUDGE_UNTRUSTED);
		judge__new_step(&st);
		assert_int_equal(judge__update(&st, &s, &c, 500, 41000, NULL),
				 JUDGE_INCONCLUSIVE);
	}
	/* A share out of range is an input error, not a statistic. */
	judge__init(&st, &cfg);
	{
		struct judge_sample s = { .packets = 19000 }, c = { .packets = 1000 };

		assert_int_equal(judge__update(&st, &s, &c, 10001, 1000, &ev), JUDGE_UNTRUSTED);
		assert_int_equal(ev.decision.test, JUDGE_TEST_INPUT);
	}
}

/* Proof of safety is not enough without the exposure; exposure is not enough without proof. */
static void test_min_exposure(void **state)
{
	struct indep m = { .pps = 400000, .drop_s = 0.01, .drop_c = 0.01 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	struct judge_sample s, c;
	struct rng r;
	enum judge_verdict v;
	__u64 proven_at = 0;
	int i;

	(void)state;
	rng_seed(&r, 6);
	judge_config__defaults(&cfg);
	cfg.min_bake_ms = 120000;
	judge__init(&st, &cfg);
	/* So much traffic that the proof comes well before the bake time. */
	for (i = 1; i <= 300; i++) {
		indep_interval(&r, &m, 5000, &s, &c);
		v = judge__update(&st, &s, &c, 5000, i * 1000ULL, &ev);
		if (!proven_at && ev.decision.test == JUDGE_TEST_EXPOSURE)
			proven_at = i * 1000ULL;
		if (v != JUDGE_INCONCLUSIVE)
			break;
	}
	show(&ev);
	print_message("  proven safe at %.0f s, healthy at %.0f s (min bake %.0f s)\n",
		      proven_at / 1000.0, ev.step_ms / 1000.0, cfg.min_bake_ms / 1000.0);
	assert_true(proven_at > 0 && proven_at < cfg.min_bake_ms);
	assert_int_equal(v, JUDGE_HEALTHY);
	assert_int_equal(ev.step_ms, cfg.min_bake_ms);
	assert_true(ev.exposure_met);

	/* Minimum candidate packets never reached: never healthy, timeout at last. */
	rng_seed(&r, 6);
	cfg.min_bake_ms = 0;
	cfg.min_cand_packets = 1000000000000ULL;
	cfg.max_step_ms = 600000;
	judge__init(&st, &cfg);
	for (i = 1; i <= 600; i++) {
		indep_interval(&r, &m, 5000, &s, &c);
		v = judge__update(&st, &s, &c, 5000, i * 1000ULL, NULL);
		assert_int_not_equal(v, JUDGE_HEALTHY);
		if (v != JUDGE_INCONCLUSIVE)
			break;
	}
	judge__update(&st, &s, &c, 5000, i * 1000ULL, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_TIMEOUT);
	assert_int_equal(ev.decision.test, JUDGE_TEST_EXPOSURE);
	assert_int_equal(i, 600);
}

/* The budget rolls back on excess events before the statistics may decide. */
static void test_harm_budget(void **state)
{
	struct indep m = { .pps = 100000, .drop_s = 0.001, .drop_c = 0.0015 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;

	(void)state;
	rng_seed(&r, 7);
	judge_config__defaults(&cfg);
	cfg.metric[JUDGE_METRIC_DROP].budget = 40;
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 5000, 100, &packets, &at, &ev);
	show(&ev);
	assert_int_equal(v, JUDGE_HARMFUL);
	assert_int_equal(ev.decision.test, JUDGE_TEST_BUDGET);
	assert_true(ev.decision.stat > 40);
	assert_true(at <= 4);
	/* The excess is what the evidence's counts say it is, within the per-interval split. */
	assert_true(fabs(ev.decision.stat - (ev.decision.x_c -
					     (double)ev.decision.n_c * ev.decision.x_s /
						     ev.decision.n_s)) < 10);
}

/* The state is plain data: written out mid-rollout and read back, it goes on identically. */
static void test_persist_resume(void **state)
{
	struct indep m = { .pps = 20000, .drop_s = 0.001, .drop_c = 0.0013 };
	struct judge_config cfg;
	static struct judge_state a, b;
	struct judge_evidence ea, eb;
	struct judge_sample s, c;
	struct rng r;
	FILE *f;
	int i;

	(void)state;
	rng_seed(&r, 8);
	judge_config__defaults(&cfg);
	judge__init(&a, &cfg);
	for (i = 1; i <= 150; i++) {
		indep_interval(&r, &m, 500, &s, &c);
		judge__update(&a, &s, &c, 500, i * 1000ULL, NULL);
	}
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(&a, sizeof(a), 1, f), 1);
	rewind(f);
	assert_int_equal(fread(&b, sizeof(b), 1, f), 1);
	fclose(f);
	for (; i <= 1500; i++) {
		enum judge_verdict va, vb;
		char fa[512], fb[512];

		if (i == 600) {
			judge__new_step(&a);
			judge__new_step(&b);
		}
		indep_interval(&r, &m, i < 600 ? 500 : 2500, &s, &c);
		va = judge__update(&a, &s, &c, i < 600 ? 500 : 2500, i * 1000ULL, &ea);
		vb = judge__update(&b, &s, &c, i < 600 ? 500 : 2500, i * 1000ULL, &eb);
		assert_int_equal(va, vb);
		judge_evidence__format(&ea, fa, sizeof(fa));
		judge_evidence__format(&eb, fb, sizeof(fb));
		assert_string_equal(fa, fb);
		if (va != JUDGE_INCONCLUSIVE)
			break;
	}
	assert_memory_equal(&a, &b, sizeof(a));
	show(&ea);
}

/* The harm evidence carries across steps; the safety proof starts again. */
static void test_new_step_scope(void **state)
{
	struct indep m = { .pps = 400000, .drop_s = 0.01, .drop_c = 0.01 };
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	uint64_t packets;
	struct rng r;
	int at;
	enum judge_verdict v;
	__u64 harm_n_c;
	int i;

	(void)state;
	rng_seed(&r, 9);
	judge_config__defaults(&cfg);
	cfg.min_bake_ms = 10000;
	judge__init(&st, &cfg);
	v = run_indep(&st, &r, &m, 1000, 600, &packets, &at, &ev);
	assert_int_equal(v, JUDGE_HEALTHY);
	harm_n_c = st.m[JUDGE_METRIC_DROP].total.n_c;
	judge__new_step(&st);
	{
		struct judge_sample z = { 0 };

		v = judge__update(&st, &z, &z, 2500, st.last_ms, &ev);
	}
	show_all(&ev);
	assert_int_equal(v, JUDGE_INCONCLUSIVE);
	assert_int_equal(ev.step, 1);
	assert_int_equal(ev.step_cand_packets, 0);
	assert_int_equal(st.m[JUDGE_METRIC_DROP].total.n_c, harm_n_c);
	assert_int_equal(st.m[JUDGE_METRIC_DROP].step.n_c, 0);
	for (i = 0; i < JUDGE_GRID; i++)
		assert_true(st.m[JUDGE_METRIC_DROP].safe_llr[JUDGE_DIR_UP][i] == 0);
	assert_true(st.m[JUDGE_METRIC_DROP].safe_max[JUDGE_DIR_UP] <= 0);
	assert_true(st.m[JUDGE_METRIC_DROP].harm_llr[JUDGE_DIR_UP][0] != 0);
	v = run_indep(&st, &r, &m, 2500, 600, &packets, &at, &ev);
	assert_int_equal(v, JUDGE_HEALTHY);
	assert_int_equal(ev.step, 1);
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

/* ---- A/A calibration with flow-clustered traffic ---- */

/*
 * Per interval, Poisson many new flows (the split is by flow: each goes to
 * the candidate with probability share), each with a Pareto(1.5) packet count
 * (mean about 30, capped at 20000) and a drop propensity from a mixture:
 * most flows 0.04 %, 3 % of them 2 %, so drops come in bunches. Both versions
 * are the same program. The design effect of drops is about 6, of packets
 * about 450.
 */
#define AA_FLOWS 400.0
#define AA_PARETO_A 1.5
#define AA_XM 10.0
#define AA_CAP 20000.0

static void flows_arm(struct rng *r, double flows, struct judge_sample *out)
{
	uint64_t nf = rng_poisson(r, flows), f;

	memset(out, 0, sizeof(*out));
	for (f = 0; f < nf; f++) {
		double sz = ceil(AA_XM * pow(rng_unif(r), -1 / AA_PARETO_A));
		double p = rng_unif(r) < 0.03 ? 0.02 : 0.0004;
		uint64_t n = sz > AA_CAP ? (uint64_t)AA_CAP : (uint64_t)sz;

		out->packets += n;
		out->drops += rng_binom(r, n, p);
	}
	out->passes = out->packets - out->drops;
	out->cost_samples = rng_binom(r, out->packets, 1.0 / 128);
	out->slow = rng_binom(r, out->cost_samples, 0.05);
}

/*
 * CANARY_AA_RUNS (default 1000) shortens this loop for valgrind
 * (tests/valgrind.sh); the bounds below scale with it.
 */
static void test_aa_false_harm(void **state)
{
	static const __u32 shares[] = { 100, 500, 2500, 5000 };
	const char *env = getenv("CANARY_AA_RUNS");
	const int runs = env && atoi(env) > 0 ? atoi(env) : 1000, step_intervals = 300;
	int harmful = 0, untrusted = 0, healthy_steps = 0, run;
	struct judge_config cfg;
	struct judge_state st;
	struct judge_evidence ev;
	double deff_sum = 0;
	int deff_n = 0;

	(void)state;
	judge_config__defaults(&cfg);
	for (run = 0; run < runs; run++) {
		struct rng r;
		unsigned int k;
		bool done = false;
		__u64 t = 0;

		rng_seed(&r, 1000 + run);
		judge__init(&st, &cfg);
		for (k = 0; k < 4 && !done; k++) {
			int i;

			if (k)
				judge__new_step(&st);
			for (i = 0; i < step_intervals; i++) {
				struct judge_sample s, c;
				enum judge_verdict v;

				flows_arm(&r, AA_FLOWS * shares[k] / 10000, &c);
				flows_arm(&r, AA_FLOWS * (10000 - shares[k]) / 10000, &s);
				t += 1000;
				v = judge__update(&st, &s, &c, shares[k], t, NULL);
				if (v == JUDGE_HARMFUL || v == JUDGE_UNTRUSTED) {
					judge__update(&st, &s, &c, shares[k], t, &ev);
					if (harmful + untrusted < 5)
						show(&ev);
					harmful += v == JUDGE_HARMFUL;
					untrusted += v == JUDGE_UNTRUSTED;
					done = true;
					break;
				}
				if (v == JUDGE_HEALTHY) {
					healthy_steps++;
					break;
				}
			}
		}
		if (!done) {
			struct judge_sample z = { 0 };

			__u32 i;

			judge__update(&st, &z, &z, shares[3], t, &ev);
			for (i = 0; i < ev.nr_tests; i++)
				if (ev.tests[i].test == JUDGE_TEST_HARM &&
				    ev.tests[i].metric_id == JUDGE_METRIC_DROP) {
					deff_sum += ev.tests[i].deff;
					deff_n++;
					break;
				}
		}
	}
	print_message("  A/A, %d rollouts of 4 steps (1, 5, 25, 50 %%) of up to %d s, "
		      "flow-clustered drops:\n", runs, step_intervals);
	print_message("  false harmful %d (%.2f %%, alpha %.2f %%), untrusted %d (%.2f %%), "
		      "healthy steps %d, mean estimated drop deff %.2f\n",
		      harmful, 100.0 * harmful / runs, 100 * cfg.alpha, untrusted,
		      100.0 * untrusted / runs, healthy_steps, deff_n ? deff_sum / deff_n : 0);
	assert_true(harmful <= cfg.alpha * runs);
	/* The split check, corrected for flows, must not cry wolf either. */
	assert_true(untrusted <= cfg.alpha * runs);
}

/* Without the correction the same traffic does raise false alarms: the test can fail. */
static void test_aa_without_correction(void **state)
{
	const int runs = 200;
	int harmful = 0, run;
	struct judge_config cfg;
	struct judge_state st;

	(void)state;
	judge_config__defaults(&cfg);
	cfg.deff = 1;
	cfg.srm_deff = 1e9;	/* only the drop statistics are of interest here */
	for (run = 0; run < runs; run++) {
		struct rng r;
		int i;

		rng_seed(&r, 5000 + run);
		judge__init(&st, &cfg);
		for (i = 1; i <= 600; i++) {
			struct judge_sample s, c;
			enum judge_verdict v;

			flows_arm(&r, AA_FLOWS * 0.05, &c);
			flows_arm(&r, AA_FLOWS * 0.95, &s);
			v = judge__update(&st, &s, &c, 500, i * 1000ULL, NULL);
			if (v == JUDGE_HARMFUL) {
				harmful++;
				break;
			}
			if (v != JUDGE_INCONCLUSIVE)
				break;
		}
	}
	print_message("  same A/A traffic with deff forced to 1: false harmful %d of %d (%.1f %%)\n",
		      harmful, runs, 100.0 * harmful / runs);
	assert_true(harmful > cfg.alpha * runs);
}

/* ---- power with independent packets ---- */

/*
 * One rollout step at 5 % of 20 kpps, stable dropping 0.1 %, the candidate
 * mult times that, 1 s intervals, until the judge says something or
 * max_intervals. Alongside, on the same counts, the oracle: a plain SPRT
 * that knows the true ratio, with the same threshold (log(3 / alpha)) and
 * tolerance, which no anytime-valid test of the same error rate can beat by
 * much; it shows what the mixture costs.
 */
static void power(double mult, int runs, int max_intervals, enum judge_verdict want,
		  uint64_t *judge_pk, uint64_t *oracle_pk)
{
	struct indep m = { .pps = 20000, .drop_s = 0.001, .drop_c = 0.001 * mult };
	struct judge_config cfg;
	static struct judge_state st;
	int run, i;

	judge_config__defaults(&cfg);
	cfg.max_step_ms = 0;
	for (run = 0; run < runs; run++) {
		double llr = 0, rho0 = cfg.metric[JUDGE_METRIC_DROP].rho0;
		double thr = log(3 / cfg.alpha);
		uint64_t packets = 0;
		struct rng r;

		rng_seed(&r, 100000 * mult + run);
		judge__init(&st, &cfg);
		judge_pk[run] = oracle_pk[run] = UINT64_MAX;
		for (i = 1; i <= max_intervals; i++) {
			struct judge_sample s, c;
			enum judge_verdict v;

			indep_interval(&r, &m, 500, &s, &c);
			packets += c.packets;
			if (oracle_pk[run] == UINT64_MAX && mult > 1) {
				double t0 = rho0 * c.packets / (rho0 * c.packets + s.packets);
				double t1 = mult * c.packets / (mult * c.packets + s.packets);

				llr += c.drops * log(t1 / t0) + s.drops * log((1 - t1) / (1 - t0));
				if (llr >= thr)
					oracle_pk[run] = packets;
			}
			v = judge__update(&st, &s, &c, 500, i * 1000ULL, NULL);
			if (v == want && judge_pk[run] == UINT64_MAX)
				judge_pk[run] = packets;
			if (v != JUDGE_INCONCLUSIVE &&
			    (oracle_pk[run] != UINT64_MAX || mult <= 1))
				break;
		}
	}
}

static void sort_u64(uint64_t *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_u64);
}

static int count_within(const uint64_t *v, int runs, uint64_t limit)
{
	int i, n = 0;

	for (i = 0; i < runs; i++)
		n += v[i] <= limit;
	return n;
}

static void print_dist(const char *what, const uint64_t *v, int runs)
{
	uint64_t med = v[runs / 2], p95 = v[(runs * 95 + 99) / 100 - 1];

	print_message("  %s: median %llu, p95 %s%llu candidate packets (min %llu)\n", what,
		      med == UINT64_MAX ? 0ULL : (unsigned long long)med,
		      p95 == UINT64_MAX ? "> " : "",
		      p95 == UINT64_MAX ? 0ULL : (unsigned long long)p95,
		      (unsigned long long)v[0]);
}

static void test_power_2x(void **state)
{
	enum { RUNS = 400 };
	static uint64_t jv[RUNS], ov[RUNS];
	int within, owithin, within200;
	struct judge_config cfg;

	(void)state;
	judge_config__defaults(&cfg);
	power(2.0, RUNS, 1000, JUDGE_HARMFUL, jv, ov);
	within200 = count_within(jv, 200, 50000);
	sort_u64(jv, RUNS);
	sort_u64(ov, RUNS);
	within = count_within(jv, RUNS, 50000);
	owithin = count_within(ov, RUNS, 50000);
	print_message("  2x drops (0.1 %% -> 0.2 %%) at 5 %% of 20 kpps, alpha 1 %%, tolerance %.3g: "
		      "harmful within 50k candidate packets in %d of %d runs (%.1f %%; first 200 "
		      "runs %.1f %%)\n", cfg.metric[JUDGE_METRIC_DROP].rho0, within, RUNS,
		      100.0 * within / RUNS, within200 / 2.0);
	print_message("  oracle SPRT (knows rho = 2) on the same counts: %d of %d (%.1f %%)\n",
		      owithin, RUNS, 100.0 * owithin / RUNS);
	print_dist("2x, candidate packets to harmful", jv, RUNS);
	print_dist("2x, oracle", ov, RUNS);
	/*
	 * The target: rolled back within 50k candidate packets in at least
	 * 95 % of runs, and no more than 2 points behind the oracle (what the
	 * mixture and the estimated design effect may cost).
	 */
	assert_true(within >= owithin - RUNS / 50);
	assert_true(within >= RUNS * 95 / 100);
	assert_true(jv[RUNS / 2] <= 30000);
}

static void test_power_1_5x_and_safety(void **state)
{
	enum { RUNS = 100 };
	static uint64_t jv[RUNS], ov[RUNS];
	int caught;

	(void)state;
	power(1.5, RUNS, 1000, JUDGE_HARMFUL, jv, ov);
	sort_u64(jv, RUNS);
	sort_u64(ov, RUNS);
	caught = count_within(jv, RUNS, UINT64_MAX - 1);
	print_message("  1.5x drops: harmful in %d of %d runs within 1M candidate packets\n",
		      caught, RUNS);
	print_dist("1.5x, candidate packets to harmful", jv, RUNS);
	print_dist("1.5x, oracle", ov, RUNS);
	assert_true(caught >= RUNS * 95 / 100);
	assert_true(jv[RUNS / 2] <= 250000);

	/* An equal candidate, proven within 1.25x both ways at 5 %. */
	power(1.0, RUNS, 3000, JUDGE_HEALTHY, jv, ov);
	sort_u64(jv, RUNS);
	caught = count_within(jv, RUNS, UINT64_MAX - 1);
	print_message("  equal candidate: healthy in %d of %d runs within 3M candidate packets\n",
		      caught, RUNS);
	print_dist("equal, candidate packets to healthy", jv, RUNS);
	assert_true(caught >= RUNS * 95 / 100);
	assert_true(jv[RUNS / 2] <= 500000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binom_sf),
		cmocka_unit_test(test_chi2_sf),
		cmocka_unit_test(test_exact_abort_example),
		cmocka_unit_test(test_abort_regression),
		cmocka_unit_test(test_invalid_at_once),
		cmocka_unit_test(test_drop_regression_2x),
		cmocka_unit_test(test_drop_less_is_harm),
		cmocka_unit_test(test_slow_regression),
		cmocka_unit_test(test_srm_untrusted),
		cmocka_unit_test(test_min_exposure),
		cmocka_unit_test(test_harm_budget),
		cmocka_unit_test(test_persist_resume),
		cmocka_unit_test(test_new_step_scope),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_aa_false_harm),
		cmocka_unit_test(test_aa_without_correction),
		cmocka_unit_test(test_power_2x),
		cmocka_unit_test(test_power_1_5x_and_safety),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
