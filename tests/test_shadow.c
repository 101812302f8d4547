// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shadow evidence and its paired test (rollout/shadow.h), no kernel:
 * the matrix and its examples, fidelity, weak evidence, the decisions for
 * a black-holing, a leaky and an equal candidate, and the test's error rate
 * and power measured over seeded simulated phases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shadow.h"

static uint64_t rng = 88172645463325252ULL;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static struct shadow_evidence ev;

/* One phase: stable passes all; the candidate drops with probability PD. */
static enum shadow_decision phase(double pd, __u64 n, const struct shadow_params *p,
				  __u64 *at)
{
	enum shadow_decision d = SHADOW_UNDECIDED;
	__u64 i;

	memset(&ev, 0, sizeof(ev));
	for (i = 1; i <= n; i++) {
		__u32 vc = uniform() < pd ? CANARY_V_DROP : CANARY_V_PASS;

		shadow_evidence__add(&ev, p, CANARY_V_PASS, CANARY_V_PASS, vc, false, "pkt");
		d = shadow_evidence__decide(&ev, p, NULL);
		if (d != SHADOW_UNDECIDED)
			break;
	}
	if (at)
		*at = i;
	return d;
}

static void test_blackhole(void **state)
{
	struct shadow_params p;
	enum shadow_metric m = SHADOW_METRICS;
	char s[32];
	int i;

	(void)state;
	shadow_params__default(&p);
	memset(&ev, 0, sizeof(ev));
	for (i = 1; i <= 199; i++) {
		snprintf(s, sizeof(s), "udp #%d", i);
		shadow_evidence__add(&ev, &p, CANARY_V_PASS, CANARY_V_PASS, CANARY_V_DROP, false, s);
		/* Never before min_samples, however strong. */
		assert_int_equal(shadow_evidence__decide(&ev, &p, &m), SHADOW_UNDECIDED);
	}
	shadow_evidence__add(&ev, &p, CANARY_V_PASS, CANARY_V_PASS, CANARY_V_DROP, false, "last");
	assert_int_equal(shadow_evidence__decide(&ev, &p, &m), SHADOW_HARMFUL);
	assert_int_equal(m, SHADOW_DROP_UP);
	assert_int_equal(ev.cell[CANARY_V_PASS][CANARY_V_DROP].samples, 200);
	assert_int_equal(ev.cell[CANARY_V_PASS][CANARY_V_DROP].n_examples, SHADOW_EXAMPLES);
	assert_int_equal(ev.cell[CANARY_V_PASS][CANARY_V_DROP].ex[0].index, 1);
	assert_string_equal(ev.cell[CANARY_V_PASS][CANARY_V_DROP].ex[2].summary, "udp #3");
	assert_int_equal(ev.test[SHADOW_DROP_UP].up, 200);
	assert_int_equal(ev.test[SHADOW_PASS_DOWN].up, 200);
	assert_true(shadow_evidence__fidelity(&ev) == 1.0);
	assert_string_equal(shadow_metric__name(m), "drop_up");
	assert_string_equal(shadow_decision__name(SHADOW_HARMFUL), "harmful");
}

/* Stable drops half (an attack), the candidate drops nothing: drop down. */
static void test_leaky(void **state)
{
	struct shadow_params p;
	enum shadow_metric m = SHADOW_METRICS;
	int i;

	(void)state;
	shadow_params__default(&p);
	memset(&ev, 0, sizeof(ev));
	for (i = 0; i < 200; i++) {
		__u32 vs = i % 2 ? CANARY_V_DROP : CANARY_V_PASS;

		shadow_evidence__add(&ev, &p, vs, vs, CANARY_V_PASS, false, "x");
	}
	assert_int_equal(shadow_evidence__decide(&ev, &p, &m), SHADOW_HARMFUL);
	assert_int_equal(m, SHADOW_DROP_DOWN);
	assert_int_equal(ev.cell[CANARY_V_DROP][CANARY_V_PASS].samples, 100);
	assert_int_equal(ev.cell[CANARY_V_PASS][CANARY_V_PASS].samples, 100);
	assert_int_equal(ev.cell[CANARY_V_PASS][CANARY_V_PASS].n_examples, 0);
}

/* An equal candidate is proved safe, once there are enough samples to bound the harm. */
static void test_equal_safe(void **state)
{
	struct shadow_params p;
	__u64 at;

	(void)state;
	shadow_params__default(&p);
	assert_int_equal(phase(0, 100000, &p, &at), SHADOW_SAFE);
	/* ln(100) / ln(1 + 0.9 * 0.01 / 1.01) = 519 for the best bet; the grid's average needs more. */
	assert_in_range(at, 520, 1000);
	print_message("equal candidate proved safe after %llu samples\n", (unsigned long long)at);
}

/* Live verdicts that stable's shadow does not reproduce: weak, never harmful. */
static void test_weak(void **state)
{
	struct shadow_params p;
	int i;

	(void)state;
	shadow_params__default(&p);
	memset(&ev, 0, sizeof(ev));
	for (i = 0; i < 1000; i++) {
		/* stateful: live dropped every 2nd packet, the fresh shadow drops none */
		__u32 live = i % 2 ? CANARY_V_DROP : CANARY_V_PASS;

		shadow_evidence__add(&ev, &p, live, CANARY_V_PASS, CANARY_V_DROP, false, "s");
		assert_int_not_equal(shadow_evidence__decide(&ev, &p, NULL), SHADOW_HARMFUL);
	}
	assert_int_equal(shadow_evidence__decide(&ev, &p, NULL), SHADOW_WEAK);
	assert_true(shadow_evidence__fidelity(&ev) == 0.5);
	/* Rewritten bytes are kept apart from the matrix. */
	shadow_evidence__add(&ev, &p, CANARY_V_PASS, CANARY_V_PASS, CANARY_V_PASS, true, "rw");
	assert_int_equal(ev.rewritten.samples, 1);
	assert_string_equal(ev.rewritten.ex[0].summary, "rw");
}

/*
 * Error rate and power over seeded phases of up to 10,000 samples: a candidate
 * that drops 1 % more (at the 1 % tolerance: the worst case) is called harmful in at
 * most alpha of them (anytime: the phase stops at the first decision); one
 * that drops 5 % more is called harmful in every one (100 phases).
 */
static void test_error_rate_power(void **state)
{
	struct shadow_params p;
	int runs = 500, harm_in = 0, harm_out = 0, safe_in = 0, r;
	__u64 at, at_sum = 0;

	(void)state;
	shadow_params__default(&p);
	for (r = 0; r < runs; r++) {
		enum shadow_decision d = phase(0.01, 10000, &p, NULL);

		harm_in += d == SHADOW_HARMFUL;
		safe_in += d == SHADOW_SAFE;
	}
	for (r = 0; r < runs / 5; r++) {
		harm_out += phase(0.05, 10000, &p, &at) == SHADOW_HARMFUL;
		at_sum += at;
	}
	print_message("at the tolerance: %d/%d harmful, %d safe; 5 %% more drops: %d/%d harmful "
		      "after %.0f samples on average\n", harm_in, runs, safe_in, harm_out, runs / 5,
		      (double)at_sum / (runs / 5));
	/* Bin(500, 0.01) reaches 13 with probability 0.0019. */
	assert_true(harm_in <= 12);
	assert_int_equal(harm_out, runs / 5);
}

/*
 * Live steps: the serving version's side of a pair is its live verdict,
 * fidelity is its own shadow's agreement; harm over the rollout's evidence,
 * safety and weakness from the step's alone.
 */
static struct shadow_evidence ro_ev, step_ev;

static void test_live_pairs(void **state)
{
	struct shadow_params p;
	enum shadow_metric m = SHADOW_METRICS;
	__u32 vs, vc;
	int i;

	(void)state;
	shadow_params__default(&p);
	/* Stable's flow: live stable verdict, the candidate's shadow. */
	assert_true(shadow_live__pair(0, CANARY_V_PASS, CANARY_V_PASS, CANARY_V_DROP, &vs, &vc));
	assert_int_equal(vs, CANARY_V_PASS);
	assert_int_equal(vc, CANARY_V_DROP);
	/* Stable's shadow disagreed with the live verdict: the pair still counts, unfaithful. */
	assert_false(shadow_live__pair(0, CANARY_V_DROP, CANARY_V_PASS, CANARY_V_PASS, &vs, &vc));
	assert_int_equal(vs, CANARY_V_DROP);
	assert_int_equal(vc, CANARY_V_PASS);
	/* The candidate's flow: stable's shadow, the live candidate verdict. */
	assert_true(shadow_live__pair(1, CANARY_V_DROP, CANARY_V_PASS, CANARY_V_DROP, &vs, &vc));
	assert_int_equal(vs, CANARY_V_PASS);
	assert_int_equal(vc, CANARY_V_DROP);
	assert_false(shadow_live__pair(1, 99, CANARY_V_PASS, CANARY_V_DROP, &vs, &vc));
	assert_int_equal(vc, CANARY_V_INVALID);

	/* An equal candidate: step 1 safe on its own samples; a fresh step starts undecided. */
	memset(&ro_ev, 0, sizeof(ro_ev));
	memset(&step_ev, 0, sizeof(step_ev));
	for (i = 0; i < 2000; i++) {
		shadow_evidence__add_pair(&ro_ev, &p, true, CANARY_V_PASS, CANARY_V_PASS, false, "a");
		shadow_evidence__add_pair(&step_ev, &p, true, CANARY_V_PASS, CANARY_V_PASS, false, "a");
	}
	assert_int_equal(shadow_live__decide(&ro_ev, &step_ev, &p, &m), SHADOW_SAFE);
	memset(&step_ev, 0, sizeof(step_ev));
	assert_int_equal(shadow_live__decide(&ro_ev, &step_ev, &p, &m), SHADOW_UNDECIDED);
	/*
	 * Then the candidate drops 3 % of what stable passes: the rollout's
	 * e-process finds the harm, whatever the step's says.
	 */
	for (i = 0; i < 3000 && shadow_live__decide(&ro_ev, &step_ev, &p, &m) != SHADOW_HARMFUL;
	     i++) {
		__u32 c = uniform() < 0.03 ? CANARY_V_DROP : CANARY_V_PASS;

		shadow_evidence__add_pair(&ro_ev, &p, true, CANARY_V_PASS, c, false, "b");
		shadow_evidence__add_pair(&step_ev, &p, true, CANARY_V_PASS, c, false, "b");
	}
	assert_int_equal(shadow_live__decide(&ro_ev, &step_ev, &p, &m), SHADOW_HARMFUL);
	assert_int_equal(m, SHADOW_DROP_UP);
	print_message("live: 3 %% more drops harmful after %d samples of the step\n", i);
	/* A black hole with an unfaithful replay (fidelity 0.5): weak, never harmful. */
	memset(&ro_ev, 0, sizeof(ro_ev));
	memset(&step_ev, 0, sizeof(step_ev));
	for (i = 0; i < 1000; i++) {
		shadow_evidence__add_pair(&ro_ev, &p, i & 1, CANARY_V_PASS, CANARY_V_DROP, false, "c");
		shadow_evidence__add_pair(&step_ev, &p, i & 1, CANARY_V_PASS, CANARY_V_DROP, false, "c");
	}
	assert_int_equal(shadow_live__decide(&ro_ev, &step_ev, &p, &m), SHADOW_WEAK);
	/*
	 * A step's own harm alone is no decision: 300 black-holed samples in
	 * this step after 100,000 concordant ones are 0.3 % of the rollout's,
	 * within its tolerance (the step's own test would be a second test).
	 */
	memset(&ro_ev, 0, sizeof(ro_ev));
	memset(&step_ev, 0, sizeof(step_ev));
	for (i = 0; i < 100000; i++)
		shadow_evidence__add_pair(&ro_ev, &p, true, CANARY_V_PASS, CANARY_V_PASS, false, "d");
	for (i = 0; i < 300; i++) {
		shadow_evidence__add_pair(&ro_ev, &p, true, CANARY_V_PASS, CANARY_V_DROP, false, "e");
		shadow_evidence__add_pair(&step_ev, &p, true, CANARY_V_PASS, CANARY_V_DROP, false, "e");
	}
	assert_int_equal(shadow_evidence__decide(&step_ev, &p, NULL), SHADOW_HARMFUL);
	assert_int_equal(shadow_live__decide(&ro_ev, &step_ev, &p, &m), SHADOW_UNDECIDED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole),
		cmocka_unit_test(test_leaky),
		cmocka_unit_test(test_equal_safe),
		cmocka_unit_test(test_weak),
		cmocka_unit_test(test_error_rate_power),
		cmocka_unit_test(test_live_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
