// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The entity judge (rollout/entity.h) on synthetic read intervals: an A/A
 * entity is proven healthy and never harmful (also with drops of 0, by the
 * floor, and with time-varying rates, over many seeds); a drop regression
 * (up) and a candidate dropping less (down) are harmful with evidence
 * naming the entity; a common shock in both the entity and the control
 * after the switch is not harm, while the same entity without a control is
 * (the control matters); a control with too few drops is left out.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "entity.h"
#include "rng.h"

/* Binomial(n, p) by its normal approximation (exact enough at these counts), clamped. */
static __u64 binom(__u64 *s, __u64 n, double p)
{
	double u1 = splitmix_unit(s) + 1e-300, u2 = splitmix_unit(s);
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
	double x = n * p + sqrt(n * p * (1 - p)) * z;

	if (p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (n * p < 30) {
		/* Few events: sum of Bernoulli draws in blocks, cheap enough here. */
		__u64 k = 0, i;

		for (i = 0; i < n; i++)
			k += splitmix_unit(s) < p;
		return k;
	}
	return x < 0 ? 0 : x > n ? n : (__u64)llround(x);
}

struct flow {
	__u64 rng;
	__u64 ent_pps, ctl_pps;		/* per read interval */
	double ent_before, ent_after;	/* the entity group's drop rate */
	double ctl_before, ctl_after;	/* the control's */
	double wobble;			/* relative rate change from interval to interval */
};

static void feed(struct entity_judge *j, struct flow *f, int half)
{
	double w = 1 + f->wobble * (2 * splitmix_unit(&f->rng) - 1);
	double re = (half ? f->ent_after : f->ent_before) * w;
	double rc = (half ? f->ctl_after : f->ctl_before) * w;
	struct judge_sample e = { .packets = f->ent_pps }, c = { .packets = f->ctl_pps };

	e.drops = binom(&f->rng, e.packets, re > 1 ? 1 : re);
	c.drops = binom(&f->rng, c.packets, rc > 1 ? 1 : rc);
	/* Alone in its baseline: slot 0's pinned traffic is the entity's. */
	entity_judge__add(j, half, &e, half ? &(struct judge_sample){ 0 } : &e, &c);
}

static void config(struct entity_config *ec, __u32 nr)
{
	struct judge_config jc;

	judge_config__defaults(&jc);
	entity_config__from_judge(ec, &jc, nr);
}

/*
 * BEFORE intervals of baseline, then up to AFTER of the candidate; returns
 * the verdict and the interval (1-based) it came at, in *AT.
 */
static enum entity_verdict run(struct flow *f, int before, int after, int exposed_after,
			       struct entity_evidence *ev, int *at)
{
	struct entity_judge j;
	struct entity_config ec;
	enum entity_verdict v = ENTITY_V_WAIT;
	int i;

	memset(&j, 0, sizeof(j));
	config(&ec, 2);
	for (i = 0; i < before; i++)
		feed(&j, f, 0);
	for (i = 1; i <= after; i++) {
		feed(&j, f, 1);
		v = entity_judge__decide(&j, &ec, i >= exposed_after, ev);
		if (v != ENTITY_V_WAIT)
			break;
	}
	if (at)
		*at = i;
	return v;
}

static void test_config(void **state)
{
	struct entity_config ec;

	(void)state;
	config(&ec, 4);
	/* Half the judge's alpha (0.01) over 4 entities. */
	assert_true(fabs(ec.harm_alpha - 0.01 / 8) < 1e-12);
	assert_true(fabs(ec.safe_alpha - 0.01) < 1e-12);
	assert_true(ec.up && ec.down);
	assert_true(ec.rho0 > 1 && ec.rho1 > ec.rho0);
}

/* A/A: the same drop rate before and after: healthy, never harmful. */
static void test_aa_healthy(void **state)
{
	struct entity_evidence ev;
	char line[512];
	int seed, healthy = 0, harmful = 0, at = 0;

	(void)state;
	for (seed = 1; seed <= 200; seed++) {
		struct flow f = { .rng = seed, .ent_pps = 2000, .ctl_pps = 20000, .ent_before = 0.05,
				  .ent_after = 0.05, .ctl_before = 0.2, .ctl_after = 0.2,
				  .wobble = 0.3 };
		enum entity_verdict v = run(&f, 50, 600, 10, &ev, &at);

		healthy += v == ENTITY_V_HEALTHY;
		harmful += v == ENTITY_V_HARMFUL;
	}
	assert_int_equal(entity_evidence__format("net-a", &ev, line, sizeof(line)), 0);
	print_message("A/A at 5%% drops, +-30%% wobble: %d of 200 healthy, %d harmful; last: %s\n",
		      healthy, harmful, line);
	assert_int_equal(harmful, 0);
	assert_int_equal(healthy, 200);
	assert_non_null(strstr(line, "entity net-a"));
}

/* An entity that drops nothing under either version: safe by the floor. */
static void test_aa_no_drops_floor(void **state)
{
	struct flow f = { .rng = 7, .ent_pps = 2000, .ctl_pps = 20000, .ctl_before = 0.2,
			  .ctl_after = 0.2 };
	struct entity_evidence ev;
	int at = 0;

	(void)state;
	assert_int_equal(run(&f, 20, 200, 5, &ev, &at), ENTITY_V_HEALTHY);
	print_message("no drops: healthy by %s after %d intervals (%llu packets)\n", ev.by, at,
		      (unsigned long long)ev.n_after);
	assert_string_equal(ev.by, "floor");
	/* Not before the exposure the caller asked for. */
	assert_true(at >= 5);
}

/* A regression on the entity's flows: 0 % -> 50 % drops, found in a few intervals. */
static void test_drop_regression(void **state)
{
	struct flow f = { .rng = 3, .ent_pps = 1000, .ctl_pps = 20000, .ent_before = 0.0,
			  .ent_after = 0.5, .ctl_before = 0.2, .ctl_after = 0.2, .wobble = 0.2 };
	struct entity_evidence ev;
	char line[512];
	int at = 0;

	(void)state;
	assert_int_equal(run(&f, 50, 100, 1000, &ev, &at), ENTITY_V_HARMFUL);
	assert_int_equal(entity_evidence__format("net-b", &ev, line, sizeof(line)), 0);
	print_message("0%% -> 50%%: harmful after %d intervals: %s\n", at, line);
	assert_true(at <= 4);
	assert_int_equal(ev.dir, JUDGE_DIR_UP);
	assert_string_equal(ev.by, "drop up");
	assert_non_null(strstr(line, "entity net-b: drop rate"));
	assert_true(ev.ratio > 100);

	/* A smaller one: 5 % -> 8 % (1.6x), still found; no exposure needed for harm. */
	f = (struct flow){ .rng = 4, .ent_pps = 2000, .ctl_pps = 20000, .ent_before = 0.05,
			   .ent_after = 0.08, .ctl_before = 0.2, .ctl_after = 0.2, .wobble = 0.1 };
	assert_int_equal(run(&f, 50, 600, 1000, &ev, &at), ENTITY_V_HARMFUL);
	print_message("5%% -> 8%%: harmful after %d intervals, ratio %.2f\n", at, ev.ratio);
}

/* The candidate lets through what stable dropped: harm downwards. */
static void test_drops_less(void **state)
{
	struct flow f = { .rng = 5, .ent_pps = 2000, .ctl_pps = 20000, .ent_before = 0.3,
			  .ent_after = 0.1, .ctl_before = 0.2, .ctl_after = 0.2, .wobble = 0.1 };
	struct entity_evidence ev;
	int at = 0;

	(void)state;
	assert_int_equal(run(&f, 50, 100, 1000, &ev, &at), ENTITY_V_HARMFUL);
	assert_int_equal(ev.dir, JUDGE_DIR_DOWN);
	assert_string_equal(ev.by, "drop down");
}

/*
 * A common shock after the switch: the entity's and the split traffic's
 * drop rates both triple. Divided out by the control: no harm (and, with
 * the exposure, healthy). The same entity without a control (the split
 * traffic drops nothing, too few events to be used) is harmful: the shock
 * is then indistinguishable from the candidate.
 */
static void test_common_shock(void **state)
{
	struct entity_evidence ev;
	int seed, harmful = 0, healthy = 0, at = 0;

	(void)state;
	for (seed = 1; seed <= 50; seed++) {
		struct flow f = { .rng = 100 + seed, .ent_pps = 5000, .ctl_pps = 50000,
				  .ent_before = 0.02, .ent_after = 0.06, .ctl_before = 0.02,
				  .ctl_after = 0.06, .wobble = 0.1 };
		enum entity_verdict v = run(&f, 100, 600, 10, &ev, &at);

		harmful += v == ENTITY_V_HARMFUL;
		healthy += v == ENTITY_V_HEALTHY;
	}
	print_message("common shock 2%% -> 6%% in both: %d of 50 harmful, %d healthy; last "
		      "ratio %.2f (control %s)\n", harmful, healthy, ev.ratio,
		      ev.control ? "used" : "not used");
	assert_int_equal(harmful, 0);
	assert_true(ev.control);

	{
		struct flow f = { .rng = 9, .ent_pps = 5000, .ctl_pps = 50000, .ent_before = 0.02,
				  .ent_after = 0.06, .wobble = 0.1 };

		assert_int_equal(run(&f, 100, 600, 10, &ev, &at), ENTITY_V_HARMFUL);
		assert_false(ev.control);
	}
}

/* Fewer than 3 bins in a period: no decision, whatever the counts. */
static void test_needs_three_bins(void **state)
{
	struct flow f = { .rng = 11, .ent_pps = 1000, .ctl_pps = 1000, .ent_after = 1.0 };
	struct entity_judge j;
	struct entity_config ec;
	struct entity_evidence ev;

	(void)state;
	memset(&j, 0, sizeof(j));
	config(&ec, 1);
	feed(&j, &f, 0);
	feed(&j, &f, 0);
	feed(&j, &f, 0);
	feed(&j, &f, 1);
	feed(&j, &f, 1);
	assert_int_equal(entity_judge__decide(&j, &ec, true, &ev), ENTITY_V_WAIT);
	feed(&j, &f, 1);
	assert_int_equal(entity_judge__decide(&j, &ec, true, &ev), ENTITY_V_HARMFUL);
	/* The entity's own baseline counts slot 0 only, in the baseline only. */
	assert_true(j.own_n == 3000);
	assert_true(fabs(entity_judge__own_after(&j) - 3000) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_aa_healthy),
		cmocka_unit_test(test_aa_no_drops_floor),
		cmocka_unit_test(test_drop_regression),
		cmocka_unit_test(test_drops_less),
		cmocka_unit_test(test_common_shock),
		cmocka_unit_test(test_needs_three_bins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
