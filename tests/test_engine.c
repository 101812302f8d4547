// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rollout engine tests with synthetic counter series: promotions, rollbacks,
 * untrusted splits, timeouts, operator commands in every phase, and a
 * restart from persisted state reproducing the same decisions.
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

#include "canary_abi.h"
#include "engine.h"
#include "shadow.h"
#include "rng.h"

/* Poisson sample: inversion for small means, normal approximation above. */
static __u64 poisson(__u64 *s, double mean)
{
	if (mean <= 0)
		return 0;
	if (mean < 30) {
		double l = exp(-mean), p = 1;
		__u64 k = 0;

		do {
			k++;
			p *= splitmix_unit(s);
		} while (p > l);
		return k - 1;
	}
	{
		double u1 = splitmix_unit(s) + 1e-300, u2 = splitmix_unit(s);
		double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		double x = mean + sqrt(mean) * z;

		return x < 0 ? 0 : (__u64)llround(x);
	}
}

struct sim {
	__u64 rng;
	double pps;		/* packets per second over both versions */
	double stable_drop;	/* drop rate of stable */
	double cand_drop;	/* of the candidate */
	double cand_abort;	/* abort rate of the candidate */
	double share_skew;	/* the split sends share * skew to the candidate */
	bool tripped;
};

/* One second of traffic at the rollout's current share. */
static void sim_tick(struct sim *m, const struct rollout *r, struct rollout_event *ev, __u64 now)
{
	double share = r->share_bp / 10000.0 * m->share_skew;
	__u64 nc = (__u64)llround(m->pps * share), ns = (__u64)llround(m->pps) - nc;

	memset(ev, 0, sizeof(*ev));
	ev->type = ROLLOUT_EV_TICK;
	ev->now_ms = now;
	ev->stable.packets = ns;
	ev->stable.drops = poisson(&m->rng, ns * m->stable_drop);
	ev->stable.passes = ns - ev->stable.drops;
	ev->cand.packets = nc;
	ev->cand.aborts = poisson(&m->rng, nc * m->cand_abort);
	ev->cand.drops = poisson(&m->rng, nc * m->cand_drop);
	if (ev->cand.drops + ev->cand.aborts > nc)
		ev->cand.drops = nc - ev->cand.aborts;
	ev->cand.passes = nc - ev->cand.drops - ev->cand.aborts;
	ev->breaker_tripped = m->tripped;
}

static void plan_default(struct rollout_plan *plan)
{
	assert_int_equal(rollout_plan__parse(plan, "1,5,25,50,100", 10000, 600000, 5000), 0);
}

static void start(struct rollout *r, const struct rollout_plan *plan, struct rollout_actions *a)
{
	struct judge_config jc;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };

	judge_config__defaults(&jc);
	assert_int_equal(rollout__init(r, plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, a), 0);
}

/* From time T0 (ms) on, until the rollout ends or max_s seconds pass. */
static void run_sim_from(struct rollout *r, struct sim *m, __u64 t0, __u64 max_s)
{
	struct rollout_event ev;
	struct rollout_actions a;
	__u64 t;

	for (t = 1; t <= max_s && !rollout__done(r); t++) {
		sim_tick(m, r, &ev, t0 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
	}
}

/* Run until the rollout ends or max_s seconds pass; returns seconds run. */
static __u64 run_sim(struct rollout *r, struct sim *m, __u64 max_s, struct rollout_actions *last)
{
	struct rollout_event ev;
	struct rollout_actions a;
	__u64 t;

	for (t = 1; t <= max_s && !rollout__done(r); t++) {
		sim_tick(m, r, &ev, 1000 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		if (a.nr && last)
			*last = a;
	}
	return t - 1;
}

static void test_plan_parse(void **state)
{
	struct rollout_plan p;

	(void)state;
	assert_int_equal(rollout_plan__parse(&p, "1,5,25,50,100", 1, 2, 3), 0);
	assert_int_equal(p.nr_steps, 5);
	assert_int_equal(p.step[2].share_bp, 2500);
	assert_int_equal(rollout_plan__parse(&p, "0.5,100", 1, 2, 3), 0);
	assert_int_equal(p.step[0].share_bp, 50);
	assert_int_equal(rollout_plan__parse(&p, "100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,1,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,5,100", 1, 2, 3), -EINVAL);
	/* Shares move in whole strata of the hash space: 0.1 %, not 0.05 %. */
	assert_int_equal(rollout_plan__parse(&p, "0.1,100", 1, 2, 3), 0);
	assert_int_equal(rollout_plan__parse(&p, "0.05,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "1.25,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,50", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,101", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "0,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,x,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "0.001,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "5,100", 10, 5, 3), -EINVAL);
}

static void assert_actions(const struct rollout_actions *a, const enum rollout_action_type *want,
			   __u32 n)
{
	__u32 i;

	assert_int_equal(a->nr, n);
	for (i = 0; i < n; i++)
		assert_int_equal(a->a[i].type, want[i]);
}

static void test_equal_promoted(void **state)
{
	static const enum rollout_action_type start_order[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_SHARE,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type promote_order[] = {
		ROLLOUT_ACT_PROMOTE, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 1, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout_plan plan;
	struct rollout_actions a;
	struct rollout *r = calloc(1, sizeof(*r));
	__u64 secs;

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	assert_actions(&a, start_order, 5);
	/* Share 0 during the warm-up (the strata's baselines), then step 0's. */
	assert_int_equal(a.a[2].arg, 0);
	assert_true(r->warming);
	secs = run_sim(r, &m, 3000, &a);
	print_message("equal candidate: %s after %llu s: %s\n", rollout_phase__name(r->phase),
		      (unsigned long long)secs, r->reason);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_actions(&a, promote_order, 5);
	assert_int_equal(a.a[1].arg, 0);
	assert_true(r->has_previous);
	free(r);
}

static const enum rollout_action_type rollback_order[] = {
	ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
};

/*
 * Pin rules: set after slot 1 is filled and its breaker armed, removed before
 * slot 1 is emptied (rollback, abort, promote); an operator's change swaps
 * the set (or removes it) while live, only records it at the start gate.
 */
static void test_pins_order(void **state)
{
	static const enum rollout_action_type start_order[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_PINS,
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type abort_order[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_PINS, ROLLOUT_ACT_CLEAR_SLOT,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type promote_order[] = {
		ROLLOUT_ACT_PROMOTE, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_PINS,
		ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type set_order[] = { ROLLOUT_ACT_SET_PINS,
							      ROLLOUT_ACT_PERSIST };
	static const enum rollout_action_type clear_order[] = { ROLLOUT_ACT_CLEAR_PINS,
								ROLLOUT_ACT_PERSIST };
	static const enum rollout_action_type ask[] = { ROLLOUT_ACT_ASK_GATE, ROLLOUT_ACT_PERSIST };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000, .nr_pins = 2 };
	struct rollout_event pins = { .type = ROLLOUT_EV_PINS, .now_ms = 2000 };
	struct rollout_event stop = { .type = ROLLOUT_EV_ABORT, .now_ms = 3000 };
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_actions a;

	(void)state;
	judge_config__defaults(&jc);
	plan_default(&plan);
	/* Not live: refused. */
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	pins.nr_pins = 1;
	assert_int_equal(rollout__handle(r, &pins, &a), -EINVAL);
	assert_int_equal(a.nr, 0);
	/* Started with 2 rules, swapped for 3, aborted: removed before the slot. */
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, start_order, 6);
	assert_int_equal(a.a[2].arg, 2);
	pins.nr_pins = 3;
	assert_int_equal(rollout__handle(r, &pins, &a), 0);
	assert_actions(&a, set_order, 2);
	assert_int_equal(a.a[0].arg, 3);
	assert_int_equal(r->nr_pins, 3);
	assert_int_equal(rollout__handle(r, &stop, &a), 0);
	assert_actions(&a, abort_order, 5);
	assert_int_equal(r->nr_pins, 0);
	assert_int_equal(rollout__handle(r, &pins, &a), -EINVAL);

	/* Cleared by the operator: no removal left for the end. */
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	pins.nr_pins = 0;
	assert_int_equal(rollout__handle(r, &pins, &a), 0);
	assert_actions(&a, clear_order, 2);
	assert_int_equal(rollout__handle(r, &stop, &a), 0);
	assert_actions(&a, rollback_order, 4);

	/* Promoted: removed after the promotion, before slot 1 is emptied. */
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	stop.type = ROLLOUT_EV_PROMOTE;
	assert_int_equal(rollout__handle(r, &stop, &a), 0);
	assert_actions(&a, promote_order, 6);

	/* At the start gate: recorded, set only when the gate passes. */
	plan.gates = ROLLOUT_GATE_BIT(ROLLOUT_GATE_START);
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	ev.nr_pins = 0;
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, ask, 2);
	pins.nr_pins = 4;
	assert_int_equal(rollout__handle(r, &pins, &a), 0);
	assert_int_equal(a.nr, 1);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_PERSIST);
	{
		struct rollout_event g = { .type = ROLLOUT_EV_GATE_RESULT, .now_ms = 2500,
					   .gate = ROLLOUT_GATE_START,
					   .result = ROLLOUT_GATE_PASS };

		assert_int_equal(rollout__handle(r, &g, &a), 0);
		assert_int_equal(a.a[2].type, ROLLOUT_ACT_SET_PINS);
		assert_int_equal(a.a[2].arg, 4);
	}
	free(r);
}


/* Entity steps: pin:NAME before the shares, parsed by the one steps parser. */
static void test_entity_plan_parse(void **state)
{
	struct rollout_plan p;

	(void)state;
	assert_int_equal(rollout_plan__parse(&p, "pin:customer-a,pin:customer_b.eu,1,5,25,100",
					     1, 2, 3), 0);
	assert_int_equal(p.nr_entities, 2);
	assert_int_equal(p.nr_steps, 4);
	assert_string_equal(p.entity[0], "customer-a");
	assert_string_equal(p.entity[1], "customer_b.eu");
	assert_int_equal(rollout_plan__entity(&p, "customer_b.eu"), 1);
	assert_int_equal(rollout_plan__entity(&p, "customer-c"), -1);
	/* Blanks after a comma, as in a config line. */
	assert_int_equal(rollout_plan__parse(&p, "pin:net-a, pin:net-b, 50, 100", 1, 2, 3), 0);
	assert_int_equal(p.nr_entities, 2);
	assert_string_equal(p.entity[1], "net-b");
	/* Before any share only; a name once; not empty, not too long, no stray characters. */
	assert_int_equal(rollout_plan__parse(&p, "1,pin:a,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a,pin:a,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:,50,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a b,50,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:abcdefghijabcdefghijabcdefghijab,50,100", 1,
					     2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a,pin:b,pin:c,pin:d,pin:e,pin:f,pin:g,"
					     "pin:h,pin:i,50,100", 1, 2, 3), -EINVAL);
	assert_int_equal(rollout_plan__parse(&p, "pin:a,pin:b,pin:c,pin:d,pin:e,pin:f,pin:g,"
					     "pin:h,50,100", 1, 2, 3), 0);
}

/* Entity traffic of the sim: each entity's packets and drop rates per version. */
struct ent_sim {
	double pps[2];			/* per entity */
	double stable_drop[2], cand_drop[2];
};

/*
 * One second: the split traffic (sim_tick) and the pinned traffic of the
 * entities whose rules are installed: those passed on the candidate, the
 * current one where its state says.
 */
static void ent_tick(struct sim *m, const struct ent_sim *e, const struct rollout *r,
		     struct rollout_event *ev, __u64 now)
{
	__u32 k;

	sim_tick(m, r, ev, now);
	for (k = 0; k < r->plan.nr_entities && r->entities_on; k++) {
		enum entity_state st = r->ent_state[k];
		bool on_cand = st == ENTITY_PASSED || st == ENTITY_JUDGING;
		__u64 n = (__u64)e->pps[k], x;

		if (st != ENTITY_BASELINE && !on_cand)
			continue;
		x = poisson(&m->rng, n * (on_cand ? e->cand_drop[k] : e->stable_drop[k]));
		x = x > n ? n : x;
		ev->pinned.packets += n;
		ev->pinned.drops += x;
		if (!on_cand) {
			ev->pinned_stable.packets += n;
			ev->pinned_stable.drops += x;
		}
	}
}

static __u64 run_ent(struct rollout *r, struct sim *m, const struct ent_sim *e, __u64 max_s,
		     struct rollout_actions *log, __u32 *nlog)
{
	struct rollout_event ev;
	struct rollout_actions a;
	__u64 t;

	for (t = 1; t <= max_s && !rollout__done(r); t++) {
		ent_tick(m, e, r, &ev, 1000 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		if (a.nr && log && *nlog < 32)
			log[(*nlog)++] = a;
	}
	return t - 1;
}

static void plan_entities(struct rollout_plan *plan)
{
	assert_int_equal(rollout_plan__parse(plan, "pin:net-a,pin:net-b,50,100", 10000, 600000,
					     5000), 0);
}

/*
 * pin:net-a, pin:net-b, 50, 100 with an equal candidate: each entity's rules
 * installed to stable (baseline), moved to the candidate, passed; then the
 * warm-up and the shares; promoted, the entity rules removed with the slot.
 */
static void test_entity_steps_promoted(void **state)
{
	static const enum rollout_action_type start_order[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_SHARE,
		ROLLOUT_ACT_SET_ENTITY, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type promote_order[] = {
		ROLLOUT_ACT_PROMOTE, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_PINS,
		ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 21, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct ent_sim e = { .pps = { 1000, 2000 }, .stable_drop = { 0.05, 0.3 },
			     .cand_drop = { 0.05, 0.3 } };
	struct rollout_actions a, log[32];
	struct rollout_plan plan;
	struct rollout *r = calloc(1, sizeof(*r));
	__u64 want[] = { ROLLOUT_ENTITY_ARG(1, 1), ROLLOUT_ENTITY_ARG(2, 0),
			 ROLLOUT_ENTITY_ARG(2, 1) };
	__u32 nlog = 0, i, n = 0;
	__u64 secs;

	(void)state;
	plan_entities(&plan);
	start(r, &plan, &a);
	assert_actions(&a, start_order, 6);
	assert_int_equal(a.a[3].arg, ROLLOUT_ENTITY_ARG(1, CANARY_SLOT_STABLE));
	assert_true(r->entities_on);
	assert_int_equal(r->ent_state[0], ENTITY_BASELINE);
	assert_int_equal(r->ent_state[1], ENTITY_PENDING);
	secs = run_ent(r, &m, &e, 3000, log, &nlog);
	print_message("entities then shares: %s after %llu s: %s\n",
		      rollout_phase__name(r->phase), (unsigned long long)secs, r->reason);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_equal(r->ent_state[0], ENTITY_PASSED);
	assert_int_equal(r->ent_state[1], ENTITY_PASSED);
	assert_actions(&log[nlog - 1], promote_order, 6);
	/* The entity moves in order: a to the candidate, b's baseline, b to the candidate. */
	for (i = 0; i < nlog; i++) {
		__u32 j;

		for (j = 0; j < log[i].nr; j++) {
			if (log[i].a[j].type != ROLLOUT_ACT_SET_ENTITY)
				continue;
			assert_true(n < 3);
			assert_int_equal(log[i].a[j].arg, want[n]);
			n++;
			/* Each move is a step event: notified and persisted. */
			assert_int_equal(log[i].a[j + 1].type, ROLLOUT_ACT_NOTIFY);
			assert_int_equal(log[i].a[j + 1].arg, ROLLOUT_N_ADVANCED);
		}
	}
	assert_int_equal(n, 3);
	/* Each baseline lasted the step time and its own min_packets at least. */
	assert_true(r->ej[0].own_n >= 5000 && r->ej[1].own_n >= 5000);
	/* net-b's before period holds net-a's traffic too (on the candidate). */
	assert_true(r->ej[1].e[0].n > r->ej[1].own_n);
	free(r);
}

/*
 * A candidate that breaks only net-b's flows: net-a passes, net-b's step
 * rolls back (all entity rules and the candidate), the reason names net-b,
 * and no hash-split packet reached the candidate.
 */
static void test_entity_rollback_at_entity(void **state)
{
	struct sim m = { .rng = 22, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct ent_sim e = { .pps = { 1000, 1000 }, .stable_drop = { 0.05, 0.0 },
			     .cand_drop = { 0.05, 1.0 } };
	static const enum rollout_action_type rb[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_PINS, ROLLOUT_ACT_CLEAR_SLOT,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct rollout_actions a, log[32];
	struct rollout_plan plan;
	struct rollout *r = calloc(1, sizeof(*r));
	__u32 nlog = 0;
	__u64 secs;

	(void)state;
	plan_entities(&plan);
	start(r, &plan, &a);
	secs = run_ent(r, &m, &e, 3000, log, &nlog);
	print_message("net-b broken: %s after %llu s: %s\n", rollout_phase__name(r->phase),
		      (unsigned long long)secs, r->reason);

	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(r->ent_state[0], ENTITY_PASSED);
	assert_int_equal(r->ent_state[1], ENTITY_HARMFUL);
	assert_non_null(strstr(r->reason, "harmful: entity net-b: drop rate"));
	assert_actions(&log[nlog - 1], rb, 5);
	assert_false(r->ent_pins);
	assert_int_equal(r->totals.cand_packets, 0);

	/* The same candidate breaking net-a: rolled back at net-a, net-b never stepped. */
	e = (struct ent_sim){ .pps = { 1000, 1000 }, .stable_drop = { 0.0, 0.0 },
			      .cand_drop = { 1.0, 0.0 } };
	start(r, &plan, &a);
	run_ent(r, &m, &e, 3000, NULL, NULL);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(r->ent_state[0], ENTITY_HARMFUL);
	assert_int_equal(r->ent_state[1], ENTITY_PENDING);
	assert_non_null(strstr(r->reason, "entity net-a"));
	free(r);
}

/*
 * Entity steps own the pin rules: a start with other pin rules and a pin
 * replacement are refused; the breaker and the operator still apply; an
 * entity with no traffic of its own times out (paused), never passes.
 */
static void test_entity_rules_and_limits(void **state)
{
	struct sim m = { .rng = 23, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct ent_sim e = { .pps = { 1000, 0 }, .cand_drop = { 0, 0 } };
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000, .nr_pins = 1 };
	struct rollout_event pins = { .type = ROLLOUT_EV_PINS, .now_ms = 2000, .nr_pins = 1 };
	struct rollout_event stop = { .type = ROLLOUT_EV_ABORT, .now_ms = 3000 };
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_actions a;
	struct rollout *r = calloc(1, sizeof(*r));

	(void)state;
	judge_config__defaults(&jc);
	plan_entities(&plan);
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	assert_int_equal(r->phase, ROLLOUT_IDLE);
	ev.nr_pins = 0;
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(rollout__handle(r, &pins, &a), -EINVAL);
	/* Abort in the baseline: the entity rules go before the slot. */
	assert_int_equal(rollout__handle(r, &stop, &a), 0);
	assert_int_equal(a.a[1].type, ROLLOUT_ACT_CLEAR_PINS);
	assert_int_equal(r->phase, ROLLOUT_ABORTED);

	/* The breaker at an entity rolls back and says where. */
	start(r, &plan, &a);
	m.tripped = true;
	run_ent(r, &m, &e, 5, NULL, NULL);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_non_null(strstr(r->reason, "circuit breaker tripped at entity net-a"));
	m.tripped = false;

	/* net-b sends nothing: its baseline never fills; paused at the step's maximum time. */
	start(r, &plan, &a);
	run_ent(r, &m, &e, 1500, NULL, NULL);
	print_message("silent entity: %s: %s\n", rollout_phase__name(r->phase), r->reason);
	assert_int_equal(r->phase, ROLLOUT_PAUSED);
	assert_int_equal(r->ent_state[0], ENTITY_PASSED);
	assert_int_equal(r->ent_state[1], ENTITY_BASELINE);
	assert_non_null(strstr(r->reason, "entity net-b: its baseline had 0 packets"));
	free(r);
}

static void expect_rollback(struct sim *m, const char *what, __u64 max_s)
{
	struct rollout_plan plan;
	struct rollout_actions a;
	struct rollout *r = calloc(1, sizeof(*r));
	__u64 secs;

	plan_default(&plan);
	start(r, &plan, &a);
	secs = run_sim(r, m, max_s, &a);
	print_message("%s: %s after %llu s, %llu candidate packets: %s\n", what,
		      rollout_phase__name(r->phase), (unsigned long long)secs,
		      (unsigned long long)r->totals.cand_packets, r->reason);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_actions(&a, rollback_order, 4);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(a.a[2].arg, ROLLOUT_N_ROLLED_BACK);
	assert_int_equal(r->share_bp, 0);
	free(r);
}

static void test_drop_regression(void **state)
{
	struct sim m = { .rng = 2, .pps = 200000, .stable_drop = 0.001, .cand_drop = 0.002,
			 .share_skew = 1 };

	(void)state;
	expect_rollback(&m, "2x drop regression", 600);
}

static void test_abort_regression(void **state)
{
	struct sim m = { .rng = 3, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .cand_abort = 0.0005, .share_skew = 1 };

	(void)state;
	expect_rollback(&m, "abort-only regression", 600);
}

static void test_drops_less(void **state)
{
	/* A filter letting through half of what stable drops. */
	struct sim m = { .rng = 4, .pps = 200000, .stable_drop = 0.2, .cand_drop = 0.1,
			 .share_skew = 1 };

	(void)state;
	expect_rollback(&m, "candidate drops less", 600);
}

static void test_breaker_rolls_back(void **state)
{
	struct sim m = { .rng = 5, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1, .tripped = true };

	(void)state;
	expect_rollback(&m, "breaker tripped", 5);
}

static void test_srm_untrusted(void **state)
{
	struct sim m = { .rng = 6, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 2 };
	struct rollout_plan plan;
	struct rollout_actions a;
	struct rollout *r = calloc(1, sizeof(*r));

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	run_sim(r, &m, 120, NULL);
	print_message("split at twice the share: %s: %s\n", rollout_phase__name(r->phase),
		      r->reason);
	assert_int_equal(r->phase, ROLLOUT_PAUSED);
	assert_int_equal(r->last_verdict, JUDGE_UNTRUSTED);
	assert_int_equal(r->step, 0);
	free(r);
}

static void test_timeout_policy(void **state)
{
	int policy;

	(void)state;
	for (policy = 0; policy < 2; policy++) {
		/* Too little traffic to prove anything within 30 s. */
		struct sim m = { .rng = 7, .pps = 2000, .stable_drop = 0.001, .cand_drop = 0.001,
				 .share_skew = 1 };
		struct rollout_plan plan;
		struct rollout_actions a;
		struct rollout *r = calloc(1, sizeof(*r));

		assert_int_equal(rollout_plan__parse(&plan, "5,100", 10000, 30000, 5000), 0);
		/* No warm-up: the judge without baselines still times out, not more. */
		plan.warmup_ms = 0;
		plan.on_timeout = policy ? ROLLOUT_TIMEOUT_ROLLBACK : ROLLOUT_TIMEOUT_PAUSE;
		start(r, &plan, &a);
		run_sim(r, &m, 40, NULL);
		assert_int_equal(r->last_verdict, JUDGE_TIMEOUT);
		assert_int_equal(r->phase, policy ? ROLLOUT_ROLLED_BACK : ROLLOUT_PAUSED);
		free(r);
	}
}

/* Every command in every phase: allowed ones move the phase, others are refused. */
static void test_operator_commands(void **state)
{
	static const enum rollout_event_type cmds[] = {
		ROLLOUT_EV_START, ROLLOUT_EV_PAUSE, ROLLOUT_EV_RESUME, ROLLOUT_EV_PROMOTE,
		ROLLOUT_EV_ABORT, ROLLOUT_EV_REVERT, ROLLOUT_EV_FAILED,
	};
	/* Expected phase after each command from each phase; -1: refused. */
	static const int want[7][7] = {
		/* start           pause            resume               promote           abort            revert          failed */
		[ROLLOUT_IDLE] = { ROLLOUT_PROGRESSING, -1, -1, -1, -1, -1, -1 },
		[ROLLOUT_PROGRESSING] = { -1, ROLLOUT_PAUSED, -1, ROLLOUT_PROMOTED, ROLLOUT_ABORTED,
					  -1, ROLLOUT_FAILED },
		[ROLLOUT_PAUSED] = { -1, -1, ROLLOUT_PROGRESSING, ROLLOUT_PROMOTED, ROLLOUT_ABORTED,
				     -1, ROLLOUT_FAILED },
		/* failed: the actions of the transition into that phase failed. */
		[ROLLOUT_PROMOTED] = { -1, -1, -1, -1, -1, ROLLOUT_ABORTED, ROLLOUT_FAILED },
		[ROLLOUT_ROLLED_BACK] = { -1, -1, -1, -1, -1, -1, ROLLOUT_FAILED },
		[ROLLOUT_ABORTED] = { -1, -1, -1, -1, -1, -1, ROLLOUT_FAILED },
		[ROLLOUT_FAILED] = { -1, -1, -1, -1, -1, -1, -1 },
	};
	struct rollout *base = calloc(1, sizeof(*base)), *r = calloc(1, sizeof(*r));
	struct judge_config jc;
	struct rollout_plan plan;
	int phase, c;

	(void)state;
	judge_config__defaults(&jc);
	plan_default(&plan);
	for (phase = ROLLOUT_IDLE; phase <= ROLLOUT_FAILED; phase++) {
		for (c = 0; c < 7; c++) {
			struct rollout_event ev = { .type = cmds[c], .now_ms = 5000 };
			struct rollout_actions a;
			int err;

			assert_int_equal(rollout__init(base, &plan, &jc), 0);
			base->phase = phase;
			base->has_previous = phase == ROLLOUT_PROMOTED;
			*r = *base;
			err = rollout__handle(r, &ev, &a);
			if (want[phase][c] < 0) {
				if (err != -EINVAL || memcmp(r, base, sizeof(*r)) || a.nr)
					fail_msg("command %d in phase %s should be refused", c,
						 rollout_phase__name(phase));
			} else {
				if (err || (int)r->phase != want[phase][c] || !a.nr ||
				    a.a[a.nr - 1].type != ROLLOUT_ACT_PERSIST)
					fail_msg("command %d in phase %s: err %d phase %s", c,
						 rollout_phase__name(phase), err,
						 rollout_phase__name(r->phase));
			}
		}
	}
	free(base);
	free(r);
}

/* Persisting (a byte copy, as fwrite/fread do) and resuming changes nothing. */
static void test_restart_reproduces(void **state)
{
	struct sim m = { .rng = 8, .pps = 200000, .stable_drop = 0.001, .cand_drop = 0.0017,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r)), *copy = malloc(sizeof(*r));
	struct rollout_plan plan;
	struct rollout_actions a, b;
	struct rollout_event ev;
	__u64 t;
	bool diverged = false;

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	for (t = 1; t <= 30; t++) {
		sim_tick(&m, r, &ev, 1000 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
	}
	memcpy(copy, r, sizeof(*r));	/* the "restart" */
	for (; t <= 3000 && !rollout__done(r); t++) {
		sim_tick(&m, r, &ev, 1000 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		assert_int_equal(rollout__handle(copy, &ev, &b), 0);
		if (a.nr != b.nr || r->phase != copy->phase)
			diverged = true;
		for (__u32 i = 0; i < a.nr && i < b.nr; i++)
			if (a.a[i].type != b.a[i].type || a.a[i].arg != b.a[i].arg)
				diverged = true;
	}
	assert_false(diverged);
	assert_true(rollout__done(r));
	assert_int_equal(r->step, copy->step);
	assert_int_equal(r->end_ms, copy->end_ms);
	assert_int_equal(r->last_verdict, copy->last_verdict);
	assert_string_equal(r->reason, copy->reason);
	print_message("resumed rollout ended %s like the original after %llu s\n",
		      rollout_phase__name(copy->phase), (unsigned long long)t);
	free(r);
	free(copy);
}

/* While paused the judge still watches: harm rolls back even then. */
static void test_harm_while_paused(void **state)
{
	struct sim m = { .rng = 9, .pps = 200000, .stable_drop = 0.001, .cand_drop = 0.005,
			 .share_skew = 1 };
	struct rollout_plan plan;
	struct rollout_actions a;
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_event ev = { .type = ROLLOUT_EV_PAUSE, .now_ms = 1500 };

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	/* Paused once the candidate has traffic (a pause holds the warm-up). */
	while (r->warming) {
		struct rollout_event t;

		sim_tick(&m, r, &t, r->last_ms + 1000);
		assert_int_equal(rollout__handle(r, &t, &a), 0);
	}
	ev.now_ms = r->last_ms + 500;
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	run_sim_from(r, &m, r->last_ms, 600);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(r->step, 0);
	free(r);
}

/* ---- approval gates ---------------------------------------------------- */

static struct rollout_event gate_ev(enum rollout_gate g, enum rollout_gate_result res, __u64 now)
{
	return (struct rollout_event){ .type = ROLLOUT_EV_GATE_RESULT, .now_ms = now, .gate = g,
				       .result = res, .detail = "HTTP 418" };
}

/* Tick the simulation until the engine asks for a gate; returns the time. */
static __u64 run_until_gate(struct rollout *r, struct sim *m, __u64 t0, __u64 max_s)
{
	struct rollout_event ev;
	struct rollout_actions a;
	__u64 t;

	for (t = t0; t < t0 + max_s * 1000 && !rollout__done(r); t += 1000) {
		sim_tick(m, r, &ev, t);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		if (r->gate)
			return t;
	}
	fail_msg("no gate asked for within %llu s (phase %s)", (unsigned long long)max_s,
		 rollout_phase__name(r->phase));
	return 0;
}

static void start_gated(struct rollout *r, __u32 gates, enum rollout_gate_policy pol,
			struct rollout_actions *a)
{
	struct rollout_plan plan;

	plan_default(&plan);
	plan.gates = gates;
	plan.on_gate_failure = pol;
	start(r, &plan, a);
}

/* The start gate: nothing reaches the candidate until it passes. */
static void test_gate_start(void **state)
{
	static const enum rollout_action_type ask[] = { ROLLOUT_ACT_ASK_GATE, ROLLOUT_ACT_PERSIST };
	static const enum rollout_action_type begin[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_SHARE,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 21, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	struct rollout_event ev;
	__u64 t, t_pass;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_START), ROLLOUT_GATE_HOLD, &a);
	assert_actions(&a, ask, 2);
	assert_int_equal(a.a[0].arg, ROLLOUT_GATE_START);
	assert_int_equal(r->gate, ROLLOUT_GATE_START);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	assert_int_equal(r->share_bp, 0);
	/* Longer than a step may last: the wait must not count as step time. */
	for (t = 2000; t < 700000; t += 1000) {
		sim_tick(&m, r, &ev, t);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		assert_int_equal(a.nr, 0);
	}
	ev = gate_ev(ROLLOUT_GATE_START, ROLLOUT_GATE_NOT_YET, t);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(a.nr, 0);
	assert_non_null(strstr(r->reason, "not yet (HTTP 418)"));
	assert_int_equal(r->gate, ROLLOUT_GATE_START);
	/* An answer for another gate is stale: refused, nothing changes. */
	ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_PASS, t);
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	assert_int_equal(r->gate, ROLLOUT_GATE_START);
	ev = gate_ev(ROLLOUT_GATE_START, ROLLOUT_GATE_PASS, t);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, begin, 5);
	assert_int_equal(a.a[2].arg, 0);
	assert_int_equal(a.a[3].arg, ROLLOUT_N_STARTED);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	assert_true(r->warming);
	assert_int_equal(r->share_bp, 0);
	/* Answered: a second pass is stale. */
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	/* The warm-up: the strata's baselines at share 0, then step 0. */
	while (r->warming) {
		t += 1000;
		sim_tick(&m, r, &ev, t);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
	}
	assert_int_equal(r->share_bp, 100);
	/* Step 0 bakes its full minimum from the pass on, and does not time out. */
	t_pass = t;
	while (r->step == 0 && !rollout__done(r) && t < t_pass + 600000) {
		t += 1000;
		sim_tick(&m, r, &ev, t);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
	}
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	assert_int_equal(r->step, 1);
	assert_true(t - t_pass >= r->plan.step[0].min_bake_ms);
	free(r);
}

/* A healthy step holds at its share while the step gate says not yet. */
static void test_gate_step_holds(void **state)
{
	static const enum rollout_action_type adv[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 22, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	struct rollout_event ev;
	__u64 t, t_gate;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_STEP), ROLLOUT_GATE_HOLD, &a);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	t_gate = run_until_gate(r, &m, 2000, 600);
	assert_int_equal(r->gate, ROLLOUT_GATE_STEP);
	assert_int_equal(r->step, 0);
	assert_int_equal(r->share_bp, 100);
	assert_int_equal(r->gate_since_ms, t_gate);
	assert_non_null(strstr(r->reason, "waiting for gate step"));
	/* Ten minutes of healthy traffic and not-yets, past max_step_time: still held. */
	for (t = t_gate + 1000; t < t_gate + 700000; t += 1000) {
		sim_tick(&m, r, &ev, t);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		assert_int_equal(a.nr, 0);
		if (t % 10000 == 0) {
			ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_NOT_YET, t);
			assert_int_equal(rollout__handle(r, &ev, &a), 0);
			assert_int_equal(a.nr, 0);
		}
	}
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	assert_int_equal(r->share_bp, 100);
	ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_PASS, t);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, adv, 3);
	assert_int_equal(a.a[0].arg, 500);
	assert_int_equal(a.a[1].arg, ROLLOUT_N_ADVANCED);
	assert_int_equal(r->step, 1);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	/* The next step asks again. */
	run_until_gate(r, &m, t + 1000, 600);
	assert_int_equal(r->step, 1);
	assert_int_equal(r->gate, ROLLOUT_GATE_STEP);
	free(r);
}

/* The promotion gate is asked at the last compared step; step gates are not asked. */
static void test_gate_promote(void **state)
{
	static const enum rollout_action_type prom[] = {
		ROLLOUT_ACT_PROMOTE, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 23, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	struct rollout_event ev;
	__u64 t;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_PROMOTE), ROLLOUT_GATE_HOLD, &a);
	t = run_until_gate(r, &m, 2000, 3000);
	assert_int_equal(r->gate, ROLLOUT_GATE_PROMOTE);
	assert_int_equal(r->step, r->plan.nr_steps - 2);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	ev = gate_ev(ROLLOUT_GATE_PROMOTE, ROLLOUT_GATE_PASS, t + 500);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, prom, 5);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	free(r);
}

/* A failed gate: hold pauses (resume asks again), rollback rolls back. */
static void test_gate_failure_policy(void **state)
{
	static const enum rollout_action_type hold[] = { ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST };
	static const enum rollout_action_type reask[] = {
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_ASK_GATE, ROLLOUT_ACT_PERSIST,
	};
	static const enum rollout_action_type back[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 24, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	struct rollout_event ev;
	__u64 t;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_STEP), ROLLOUT_GATE_HOLD, &a);
	t = run_until_gate(r, &m, 2000, 600);
	ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_FAILED, t);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, hold, 2);
	assert_int_equal(a.a[0].arg, ROLLOUT_N_PAUSED);
	assert_int_equal(r->phase, ROLLOUT_PAUSED);
	assert_int_equal(r->gate, ROLLOUT_GATE_STEP);
	assert_int_equal(r->share_bp, 100);
	assert_non_null(strstr(r->reason, "gate step failed (HTTP 418)"));
	ev = (struct rollout_event){ .type = ROLLOUT_EV_RESUME, .now_ms = t + 1000 };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, reask, 3);
	assert_int_equal(a.a[1].arg, ROLLOUT_GATE_STEP);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	assert_int_equal(r->gate_since_ms, t + 1000);

	/* The same with the rollback policy, at the start gate. */
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_START), ROLLOUT_GATE_ROLLBACK, &a);
	ev = gate_ev(ROLLOUT_GATE_START, ROLLOUT_GATE_FAILED, 3000);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_actions(&a, back, 4);
	assert_int_equal(a.a[2].arg, ROLLOUT_N_ROLLED_BACK);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	free(r);
}

/* A gate holds progress, never safety: harm rolls back while it waits. */
static void test_gate_harm_while_waiting(void **state)
{
	struct sim m = { .rng = 25, .pps = 200000, .stable_drop = 0.001, .cand_drop = 0.001,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	__u64 t;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_STEP), ROLLOUT_GATE_HOLD, &a);
	t = run_until_gate(r, &m, 2000, 600);
	(void)t;
	m.cand_drop = 0.01;	/* the candidate turns bad while the gate holds */
	run_sim(r, &m, 600, NULL);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	assert_non_null(strstr(r->reason, "harmful"));
	free(r);
}

/* Operator commands while a gate is pending. */
static void test_gate_operator(void **state)
{
	struct sim m = { .rng = 26, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r)), *saved = calloc(1, sizeof(*r));
	struct rollout_actions a;
	struct rollout_event ev;
	__u64 t;

	(void)state;
	start_gated(r, ROLLOUT_GATE_BIT(ROLLOUT_GATE_STEP), ROLLOUT_GATE_HOLD, &a);
	t = run_until_gate(r, &m, 2000, 600);
	*saved = *r;

	/* Pause, the gate passes while paused: nothing moves until resume. */
	ev = (struct rollout_event){ .type = ROLLOUT_EV_PAUSE, .now_ms = t + 100 };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_PASS, t + 200);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(a.nr, 1);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_PERSIST);
	assert_int_equal(r->phase, ROLLOUT_PAUSED);
	assert_int_equal(r->step, 0);
	assert_true(r->gate_passed);
	ev = (struct rollout_event){ .type = ROLLOUT_EV_RESUME, .now_ms = t + 300 };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	assert_int_equal(r->step, 1);
	assert_int_equal(r->share_bp, 500);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);

	/* Promote over a pending gate. */
	*r = *saved;
	ev = (struct rollout_event){ .type = ROLLOUT_EV_PROMOTE, .now_ms = t + 100 };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);

	/* Abort over a pending gate; a late answer is then refused. */
	*r = *saved;
	ev = (struct rollout_event){ .type = ROLLOUT_EV_ABORT, .now_ms = t + 100 };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_ABORTED);
	assert_int_equal(r->gate, ROLLOUT_GATE_NONE);
	ev = gate_ev(ROLLOUT_GATE_STEP, ROLLOUT_GATE_PASS, t + 200);
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	assert_int_equal(r->phase, ROLLOUT_ABORTED);
	free(r);
	free(saved);
}

/*
 * A promotion whose kernel write failed: the shell feeds ROLLOUT_EV_FAILED
 * and the engine fails the terminal transition. Not "promoted": back to
 * stable only, the failed notification, persisted, no revert possible.
 */
static void test_failed_promotion(void **state)
{
	static const enum rollout_action_type want[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_event ev = { .type = ROLLOUT_EV_PROMOTE, .now_ms = 5000 };
	struct rollout_actions a;
	struct rollout_plan plan;

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_PROMOTE);
	/* ... which the datapath refused. */
	ev = (struct rollout_event){ .type = ROLLOUT_EV_FAILED, .now_ms = 5001,
				     .detail = "failed: promote was refused by the datapath" };
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_FAILED);
	assert_actions(&a, want, 4);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(a.a[2].arg, ROLLOUT_N_FAILED);
	assert_string_equal(r->reason, "failed: promote was refused by the datapath");
	assert_true(rollout__done(r));
	assert_false(r->has_previous);
	assert_int_equal(r->share_bp, 0);
	assert_int_equal(r->end_ms, 5001);
	/* Nothing to revert, and a failure is final. */
	ev.type = ROLLOUT_EV_REVERT;
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	ev.type = ROLLOUT_EV_FAILED;
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	assert_int_equal(a.nr, 0);
	free(r);
}

/* The interface went away: a failure event with its reason, the failed notification. */
/* One paired decision from the shadow phase at time NOW (ms). */
static int shadow_ev(struct rollout *r, enum shadow_decision d, __u64 now, const char *detail,
		     struct rollout_actions *a)
{
	struct rollout_event ev = { .type = ROLLOUT_EV_SHADOW, .now_ms = now,
				    .shadow_decision = d, .detail = detail };

	return rollout__handle(r, &ev, a);
}

static void start_shadow(struct rollout *r, __u64 shadow_ms, __u32 nr_pins,
			 struct rollout_actions *a)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_SHARE,
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000, .nr_pins = nr_pins };
	struct rollout_plan plan;
	struct judge_config jc;

	judge_config__defaults(&jc);
	plan_default(&plan);
	plan.shadow_ms = shadow_ms;
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, a), 0);
	/* Slot filled and armed, share 0, then the shadow phase; no pin rule yet. */
	assert_actions(a, order, 6);
	assert_int_equal(a->a[2].arg, 0);
	assert_int_equal(a->a[3].arg, 1);
	assert_true(r->shadowing);
	assert_false(r->warming);
	assert_int_equal(r->share_bp, 0);
}

/*
 * The shadow phase: harm rolls back (shadow off before the share and the
 * slot), with the detail in the reason; ticks meanwhile keep share 0 and
 * end nothing, whatever their counters.
 */
static void test_shadow_harmful(void **state)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_PINS,
		ROLLOUT_ACT_CLEAR_SLOT, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 7, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;

	(void)state;
	start_shadow(r, 10000, 2, &a);
	/* A minute of ticks: the shadow phase ends on its decision only. */
	run_sim_from(r, &m, 1000, 60);
	assert_true(r->shadowing);
	assert_int_equal(r->share_bp, 0);
	assert_int_equal(r->totals.cand_packets, 0);
	assert_int_equal(shadow_ev(r, SHADOW_UNDECIDED, 5000, NULL, &a), 0);
	assert_int_equal(a.nr, 0);
	/* An operator's pin change in the phase is recorded, not installed. */
	assert_int_equal(rollout__handle(r, &(struct rollout_event){ .type = ROLLOUT_EV_PINS,
								    .now_ms = 5500, .nr_pins = 3 },
					 &a), 0);
	assert_int_equal(a.nr, 1);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_PERSIST);
	assert_int_equal(r->nr_pins, 3);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 6000, "drop_up: pass->drop 212 of 230", &a), 0);
	assert_actions(&a, order, 6);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(a.a[1].arg, 0);
	assert_int_equal(a.a[4].arg, ROLLOUT_N_ROLLED_BACK);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_false(r->shadowing);
	/* The shell's rule set is emptied (never installed: the removal is a no-op). */
	assert_int_equal(r->nr_pins, 0);
	assert_non_null(strstr(r->reason, "shadow phase"));
	assert_non_null(strstr(r->reason, "pass->drop 212"));
	/* Over: a late decision is refused. */
	assert_int_equal(shadow_ev(r, SHADOW_SAFE, 7000, NULL, &a), -EINVAL);
	free(r);
}

/* Safe: shadow off, then the pin rules and the warm-up; later decisions change nothing. */
static void test_shadow_safe(void **state)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_SET_PINS, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_PERSIST,
	};
	struct sim m = { .rng = 3, .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01,
			 .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;

	(void)state;
	start_shadow(r, 20000, 1, &a);
	/* Not before step 0's bake time (10 s here): early samples may be of one kind. */
	assert_int_equal(shadow_ev(r, SHADOW_SAFE, 3000, "every metric within its tolerance", &a), 0);
	assert_int_equal(a.nr, 0);
	assert_true(r->shadowing);
	assert_int_equal(shadow_ev(r, SHADOW_SAFE, 11000, "every metric within its tolerance", &a), 0);
	assert_actions(&a, order, 4);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(a.a[1].arg, 1);
	assert_int_equal(a.a[2].arg, 0);
	assert_false(r->shadowing);
	assert_true(r->warming);
	assert_int_equal(r->start_ms, 11000);
	assert_non_null(strstr(r->reason, "shadow phase safe"));
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 12000, NULL, &a), 0);
	assert_int_equal(a.nr, 0);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	/* An equal candidate then goes through the live steps to the promotion. */
	run_sim_from(r, &m, 12000, 3000);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	free(r);
}

/*
 * Weak (low fidelity) or undecided: the shadow phase lasts its time, then
 * the live steps decide; never a rollback on it. A pause holds the end.
 */
static void test_shadow_weak_goes_live(void **state)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_PERSIST,
	};
	struct rollout_event pause = { .type = ROLLOUT_EV_PAUSE, .now_ms = 2000 };
	struct rollout_event resume = { .type = ROLLOUT_EV_RESUME, .now_ms = 12000 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	enum shadow_decision d;

	(void)state;
	for (d = SHADOW_UNDECIDED; d <= SHADOW_WEAK; d += SHADOW_WEAK) {
		start_shadow(r, 10000, 0, &a);
		assert_int_equal(shadow_ev(r, d, 10999, NULL, &a), 0);
		assert_int_equal(a.nr, 0);
		assert_true(r->shadowing);
		assert_int_equal(rollout__handle(r, &pause, &a), 0);
		assert_int_equal(shadow_ev(r, d, 11000, NULL, &a), 0);
		assert_true(r->shadowing);
		assert_int_equal(rollout__handle(r, &resume, &a), 0);
		assert_int_equal(shadow_ev(r, d, 12000, "fidelity 0.498", &a), 0);
		assert_actions(&a, order, 3);
		assert_false(r->shadowing);
		assert_true(r->warming);
		assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
		assert_non_null(strstr(r->reason, "the live steps decide"));
		assert_non_null(strstr(r->reason, shadow_decision__name(d)));
	}
	/* Harm while paused still rolls back. */
	start_shadow(r, 10000, 0, &a);
	assert_int_equal(rollout__handle(r, &pause, &a), 0);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 3000, "x", &a), 0);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	/* An operator's abort in the shadow phase: shadow off first. */
	start_shadow(r, 10000, 0, &a);
	assert_int_equal(rollout__handle(r, &(struct rollout_event){ .type = ROLLOUT_EV_ABORT,
								    .now_ms = 3000 }, &a), 0);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_SHADOW);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(r->phase, ROLLOUT_ABORTED);
	/* Without a shadow phase the event changes nothing. */
	{
		struct rollout_plan plan;

		plan_default(&plan);
		start(r, &plan, &a);
		assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 3000, "x", &a), 0);
		assert_int_equal(a.nr, 0);
		assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	}
	free(r);
}

/*
 * Live steps with paired evidence (plan.shadow_live): each second a tick,
 * then the paired decision D (the shell's order: the counters are fed
 * first). Returns the seconds run; *BY_PAIRED counts the steps proven on
 * paired evidence.
 */
static __u64 run_paired(struct rollout *r, struct sim *m, __u64 max_s, enum shadow_decision d,
			__u32 *by_paired)
{
	struct rollout_event ev;
	struct rollout_actions a;
	__u32 i, step_shadows = 0, steps = 0;
	__u64 t;

	*by_paired = 0;
	for (t = 1; t <= max_s && !rollout__done(r); t++) {
		sim_tick(m, r, &ev, 1000 + t * 1000);
		assert_int_equal(rollout__handle(r, &ev, &a), 0);
		for (i = 0; i < a.nr; i++) {
			if (a.a[i].type == ROLLOUT_ACT_SHADOW && a.a[i].arg == 2)
				step_shadows++;
			if (a.a[i].type == ROLLOUT_ACT_NOTIFY && (a.a[i].arg == ROLLOUT_N_ADVANCED ||
								  a.a[i].arg == ROLLOUT_N_PROMOTED)) {
				steps++;
				if (strstr(r->reason, "on paired evidence"))
					(*by_paired)++;
			}
		}
		if (rollout__done(r))
			break;
		assert_int_equal(shadow_ev(r, d, 1000 + t * 1000 + 1, "2000 samples, fidelity 1.000",
					   &a), 0);
	}
	/* Every live step (the warm-up's included) got its paired evidence anew. */
	if (r->phase == ROLLOUT_PROMOTED && r->plan.shadow_live)
		assert_int_equal(step_shadows, steps);
	return t;
}

static void start_live(struct rollout *r, struct sim *m, bool live, __u64 min_packets)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_FILL_SLOT, ROLLOUT_ACT_ARM_BREAKER, ROLLOUT_ACT_SET_SHARE,
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	struct rollout_actions a;
	struct rollout_plan plan;
	struct judge_config jc;

	judge_config__defaults(&jc);
	assert_int_equal(rollout_plan__parse(&plan, "1,5,25,50,100", 10000, 600000, min_packets), 0);
	plan.shadow_live = live;
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	/* Two tests of harm, two ways to a proof: alpha / 2 each. */
	assert_true(rollout__paired_alpha(r) == (live ? jc.alpha / 2 : jc.alpha));
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	if (live) {
		/* The warm-up's share 0, then its paired evidence. */
		assert_actions(&a, order, 6);
		assert_int_equal(a.a[2].arg, 0);
		assert_int_equal(a.a[3].arg, 2);
		assert_true(r->paired);
	}
	m->rng = 11;
}

/*
 * Paired safe proves a step the split test leaves undecided, once the
 * split judge's exposure is met: at 2,000 packets/s and a 2 % drop rate an
 * equal candidate's step at 1 % sees 0.4 drops a second, far too few for
 * the split test to bound the ratio below 1.25 in minutes; the paired
 * evidence (the same packets under both versions) does not need them.
 * Weak evidence proves nothing.
 */
static void test_live_paired_safe(void **state)
{
	struct sim m = { .pps = 2000, .stable_drop = 0.02, .cand_drop = 0.02, .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	__u32 by_paired;
	__u64 with, without, weak;

	(void)state;
	start_live(r, &m, false, 500);
	without = run_paired(r, &m, 120, SHADOW_SAFE, &by_paired);
	print_message("equal candidate at 2,000 packets/s, split judge alone: %s after %llu s: %s\n",
		      rollout_phase__name(r->phase), (unsigned long long)without, r->reason);
	assert_int_equal(by_paired, 0);
	assert_int_not_equal(r->phase, ROLLOUT_PROMOTED);

	start_live(r, &m, true, 500);
	with = run_paired(r, &m, 120, SHADOW_SAFE, &by_paired);
	print_message("with paired safe: %s after %llu s, %u steps on paired evidence: %s\n",
		      rollout_phase__name(r->phase), (unsigned long long)with, by_paired, r->reason);
	assert_int_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_equal(by_paired, r->plan.nr_steps - 1);
	assert_non_null(strstr(r->reason, "promoted on paired evidence"));
	/*
	 * The warm-up (20 s: twice warmup_ms, step 1's strata hold fewer
	 * than 1,000 packets before), step 1 until its 500 candidate packets
	 * (20/s: 25 s), the others at their bake time (10 s each): 75 s.
	 */
	assert_true(with >= 75);
	assert_true(with <= 77);

	/* Weak (or undecided) paired evidence never decides: as the split alone. */
	start_live(r, &m, true, 500);
	weak = run_paired(r, &m, 120, SHADOW_WEAK, &by_paired);
	print_message("with paired weak: %s after %llu s: %s\n", rollout_phase__name(r->phase),
		      (unsigned long long)weak, r->reason);
	assert_int_equal(by_paired, 0);
	assert_int_not_equal(r->phase, ROLLOUT_PROMOTED);
	assert_int_not_equal(r->phase, ROLLOUT_ROLLED_BACK);
	free(r);
}

/*
 * Paired harm rolls back (pairing off first, then the rollback order),
 * at a step or in the warm-up, paused too; the split judge's harm still
 * rolls back while the paired evidence says safe.
 */
static void test_live_paired_harm(void **state)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_CLEAR_SLOT,
		ROLLOUT_ACT_NOTIFY, ROLLOUT_ACT_PERSIST,
	};
	struct sim eq = { .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.01, .share_skew = 1 };
	struct sim bad = { .pps = 200000, .stable_drop = 0.01, .cand_drop = 0.03, .share_skew = 1 };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_actions a;
	__u32 by_paired;

	(void)state;
	/* In the warm-up (share 0): before any customer packet reaches the candidate. */
	start_live(r, &eq, true, 5000);
	run_sim_from(r, &eq, 1000, 3);
	assert_true(r->warming);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 4500, "drop_up: pass->drop 500 of 620", &a), 0);
	assert_actions(&a, order, 5);
	assert_int_equal(a.a[0].arg, 0);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_non_null(strstr(r->reason, "harmful on paired evidence in the warm-up"));
	assert_non_null(strstr(r->reason, "pass->drop 500"));
	assert_false(r->paired);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 5000, "x", &a), -EINVAL);

	/* At step 1, paused by an operator: harm still rolls back. */
	start_live(r, &eq, true, 5000);
	run_sim_from(r, &eq, 1000, 25);
	assert_false(r->warming);
	assert_int_equal(r->step, 0);
	assert_int_equal(rollout__handle(r, &(struct rollout_event){ .type = ROLLOUT_EV_PAUSE,
								    .now_ms = 26500 }, &a), 0);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 27000, "drop_up: pass->drop 9", &a), 0);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_non_null(strstr(r->reason, "harmful on paired evidence at step 1 (1.00%)"));

	/* The split judge's harm, with paired evidence saying safe all along. */
	start_live(r, &bad, true, 5000);
	run_paired(r, &bad, 600, SHADOW_SAFE, &by_paired);
	print_message("3x drops, paired safe: %s: %s\n", rollout_phase__name(r->phase), r->reason);
	assert_int_equal(r->phase, ROLLOUT_ROLLED_BACK);
	assert_int_equal(strncmp(r->reason, "harmful: ", 9), 0);

	/* Without shadow_live the event in a live step changes nothing. */
	start_live(r, &eq, false, 5000);
	assert_false(r->paired);
	assert_int_equal(shadow_ev(r, SHADOW_HARMFUL, 2000, "x", &a), 0);
	assert_int_equal(a.nr, 0);
	assert_int_equal(r->phase, ROLLOUT_PROGRESSING);
	free(r);
}

/* A shadow phase, then the live steps: the instances stay (no SHADOW 0), step evidence anew. */
static void test_live_after_shadow(void **state)
{
	static const enum rollout_action_type order[] = {
		ROLLOUT_ACT_SET_SHARE, ROLLOUT_ACT_SHADOW, ROLLOUT_ACT_PERSIST,
	};
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	struct rollout_actions a;
	struct rollout_plan plan;
	struct judge_config jc;

	(void)state;
	judge_config__defaults(&jc);
	plan_default(&plan);
	plan.shadow_ms = 10000;
	plan.shadow_live = true;
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_true(r->shadowing);
	assert_false(r->paired);
	/* Safe in the phase (its own decision, its own rule) goes live. */
	assert_int_equal(shadow_ev(r, SHADOW_SAFE, 11000, "safe", &a), 0);
	assert_actions(&a, order, 3);
	assert_int_equal(a.a[1].arg, 2);
	assert_false(r->shadowing);
	assert_true(r->paired);
	assert_true(r->warming);
	/* Safe from then on is the warm-up's evidence: no step to prove yet. */
	assert_int_equal(shadow_ev(r, SHADOW_SAFE, 11500, "safe", &a), 0);
	assert_int_equal(a.nr, 0);
	assert_true(r->warming);
	/* Abort: pairing off first. */
	assert_int_equal(rollout__handle(r, &(struct rollout_event){ .type = ROLLOUT_EV_ABORT,
								    .now_ms = 12000 }, &a), 0);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_SHADOW);
	assert_int_equal(a.a[0].arg, 0);
	free(r);
}

static void test_failed_interface_lost(void **state)
{
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_event ev = { .type = ROLLOUT_EV_FAILED, .now_ms = 5000,
				    .detail = "failed: the interface was removed during the rollout" };
	struct rollout_actions a;
	struct rollout_plan plan;

	(void)state;
	plan_default(&plan);
	start(r, &plan, &a);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->phase, ROLLOUT_FAILED);
	assert_string_equal(r->reason, ev.detail);
	assert_int_equal(a.nr, 4);
	assert_int_equal(a.a[2].type, ROLLOUT_ACT_NOTIFY);
	assert_int_equal(a.a[2].arg, ROLLOUT_N_FAILED);
	assert_int_equal(a.a[3].type, ROLLOUT_ACT_PERSIST);
	/* Without a reason: the engine's own. */
	start(r, &plan, &a);
	ev.detail = NULL;
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_non_null(strstr(r->reason, "datapath failure"));
	/* Withdrawn (reconcile) only while live. */
	ev.type = ROLLOUT_EV_WITHDRAWN;
	assert_int_equal(rollout__handle(r, &ev, &a), -EINVAL);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_parse),
		cmocka_unit_test(test_equal_promoted),
		cmocka_unit_test(test_drop_regression),
		cmocka_unit_test(test_abort_regression),
		cmocka_unit_test(test_drops_less),
		cmocka_unit_test(test_breaker_rolls_back),
		cmocka_unit_test(test_srm_untrusted),
		cmocka_unit_test(test_timeout_policy),
		cmocka_unit_test(test_operator_commands),
		cmocka_unit_test(test_failed_promotion),
		cmocka_unit_test(test_failed_interface_lost),
		cmocka_unit_test(test_restart_reproduces),
		cmocka_unit_test(test_harm_while_paused),
		cmocka_unit_test(test_gate_start),
		cmocka_unit_test(test_gate_step_holds),
		cmocka_unit_test(test_gate_promote),
		cmocka_unit_test(test_gate_failure_policy),
		cmocka_unit_test(test_gate_harm_while_waiting),
		cmocka_unit_test(test_gate_operator),
		cmocka_unit_test(test_pins_order),
		cmocka_unit_test(test_entity_plan_parse),
		cmocka_unit_test(test_entity_steps_promoted),
		cmocka_unit_test(test_entity_rollback_at_entity),
		cmocka_unit_test(test_entity_rules_and_limits),
		cmocka_unit_test(test_shadow_harmful),
		cmocka_unit_test(test_shadow_safe),
		cmocka_unit_test(test_shadow_weak_goes_live),
		cmocka_unit_test(test_live_paired_safe),
		cmocka_unit_test(test_live_paired_harm),
		cmocka_unit_test(test_live_after_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
