// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The daemon's decisions that live in rollout/, on plain data, no kernel:
 * crash reconciliation (every case tests/crash.test.sh reaches, and the ones
 * it cannot: a revert cut in half, a start that repinned the candidate over
 * a promoted one, a foreign program in slot 1), and the counter -> judge
 * sample conversion with its cost threshold.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canary_abi.h"
#include "engine.h"
#include "reconcile.h"
#include "sample.h"

enum { STABLE = 11, CAND = 22, OTHER = 33 };

/* A live rollout at its second step (5 %), as persisted. */
static void live_rollout(struct rollout *r)
{
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_actions a;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };

	judge_config__defaults(&jc);
	assert_int_equal(rollout_plan__parse(&plan, "1,5,25,100", 10000, 0, 100), 0);
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	r->step = 1;
	r->share_bp = 500;
}

static void assert_fixes(const struct rollout_reconcile *rc, const enum rollout_fix_type *want,
			 __u32 n)
{
	__u32 i;

	assert_int_equal(rc->nr, n);
	for (i = 0; i < n; i++)
		assert_int_equal(rc->fix[i].type, want[i]);
}

/* Feed the outcome's event and return the phase it leads to. */
static enum rollout_phase feed(struct rollout *r, const struct rollout_reconcile *rc,
			       struct rollout_actions *a)
{
	assert_int_equal(rollout__handle(r, &rc->ev, a), 0);
	return r->phase;
}

/*
 * A rollout waiting at its start gate has slot 1 empty and share 0, as
 * persisted: consistent after a restart, not a completed withdrawal (which
 * made it a false "rolled back"). Past the gate, an empty slot 1 still is.
 */
static void test_start_gate(void **state)
{
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_observed obs = { .slot0 = STABLE, .stable_pin = STABLE, .cand_pin = CAND };
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_actions a;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	struct rollout_reconcile rc;

	(void)state;
	judge_config__defaults(&jc);
	assert_int_equal(rollout_plan__parse(&plan, "1,5,25,100", 10000, 0, 100), 0);
	plan.gates = ROLLOUT_GATE_BIT(ROLLOUT_GATE_START);
	assert_int_equal(rollout__init(r, &plan, &jc), 0);
	assert_int_equal(rollout__handle(r, &ev, &a), 0);
	assert_int_equal(r->gate, ROLLOUT_GATE_START);
	assert_int_equal(r->share_bp, 0);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_CONSISTENT);
	assert_int_equal(rc.nr, 0);
	/* The same observation for a rollout past its gate is a withdrawal. */
	live_rollout(r);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_ROLLBACK_COMPLETED);
	free(r);
}

static void test_consistent(void **state)
{
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_observed obs = { .slot0 = STABLE, .slot1 = CAND, .share_bp = 500,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout_reconcile rc;

	(void)state;
	live_rollout(r);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_CONSISTENT);
	assert_false(rc.revert_completed);
	assert_int_equal(rc.nr, 0);
	/* No rollout and stable only: nothing either. */
	obs.slot1 = obs.share_bp = 0;
	assert_int_equal(rollout__reconcile(NULL, &obs, 5000, &rc), 0);
	assert_int_equal(rc.nr, 0);
	assert_int_equal(rollout__reconcile(r, NULL, 5000, &rc), -EINVAL);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, NULL), -EINVAL);
	free(r);
}

/* crash.test.sh "window start": slot 1 filled and a share, no rollout persisted. */
static void test_start_undone(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_RESTORE_STABLE };
	struct rollout_observed obs = { .slot0 = STABLE, .slot1 = CAND, .share_bp = 100,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;

	(void)state;
	assert_int_equal(rollout__reconcile(NULL, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_START_UNDONE);
	assert_fixes(&rc, want, 1);
	/* Slot 1 filled, share not yet raised: the same. */
	obs.share_bp = 0;
	assert_int_equal(rollout__reconcile(NULL, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_START_UNDONE);
	assert_fixes(&rc, want, 1);
	/* Over a rollout that ended (rolled back): the same. */
	live_rollout(r);
	r->phase = ROLLOUT_ROLLED_BACK;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_START_UNDONE);
	assert_fixes(&rc, want, 1);
	free(r);
}

/* Not reachable by crash.test.sh: the start repinned "candidate" over a promoted one. */
static void test_start_over_promoted(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_PIN_CANDIDATE_FROM_STABLE,
						      ROLLOUT_FIX_RESTORE_STABLE };
	struct rollout_observed obs = { .slot0 = CAND, .slot1 = OTHER, .share_bp = 100,
					.stable_pin = CAND, .cand_pin = OTHER };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;

	(void)state;
	live_rollout(r);
	r->phase = ROLLOUT_PROMOTED;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_START_UNDONE);
	assert_fixes(&rc, want, 2);
	free(r);
}

/* crash.test.sh "window advance": the share ran ahead of the persisted step's. */
static void test_advance_undone(void **state)
{
	struct rollout_observed obs = { .slot0 = STABLE, .slot1 = CAND, .share_bp = 2500,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;

	(void)state;
	live_rollout(r);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_ADVANCE_UNDONE);
	assert_int_equal(rc.nr, 1);
	assert_int_equal(rc.fix[0].type, ROLLOUT_FIX_SET_SHARE);
	assert_int_equal(rc.fix[0].arg, 500);
	free(r);
}

/* crash.test.sh "window promotion": both writes (slot 0 and the stable pin) made. */
static void test_promotion_whole(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_PIN_STABLE_FROM_PREVIOUS,
						      ROLLOUT_FIX_EVENT };
	struct rollout_observed obs = { .slot0 = CAND, .slot1 = 0, .share_bp = 0,
					.stable_pin = CAND, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;
	struct rollout_actions a;

	(void)state;
	live_rollout(r);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_PROMOTION_COMPLETED);
	assert_fixes(&rc, want, 2);
	/* Through the engine: promoted, announced, persisted, with the reason given. */
	assert_int_equal(feed(r, &rc, &a), ROLLOUT_PROMOTED);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_PROMOTE);
	assert_int_equal(a.a[a.nr - 2].type, ROLLOUT_ACT_NOTIFY);
	assert_int_equal(a.a[a.nr - 2].arg, ROLLOUT_N_PROMOTED);
	assert_int_equal(a.a[a.nr - 1].type, ROLLOUT_ACT_PERSIST);
	assert_non_null(strstr(r->reason, "promotion completed after a restart"));
	free(r);
}

/* crash.test.sh "window promotion, first write only": slot 0 is the candidate. */
static void test_promotion_first_write(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_EVENT };
	struct rollout_observed obs = { .slot0 = CAND, .slot1 = CAND, .share_bp = 500,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;
	struct rollout_actions a;

	(void)state;
	live_rollout(r);
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_PROMOTION_COMPLETED);
	assert_false(rc.revert_completed);
	assert_fixes(&rc, want, 1);
	assert_int_equal(feed(r, &rc, &a), ROLLOUT_PROMOTED);
	free(r);
}

/* crash.test.sh "window rollback": share 0 written, slot 1 maybe emptied. */
static void test_rollback_completed(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_EVENT };
	struct rollout_observed obs = { .slot0 = STABLE, .slot1 = CAND, .share_bp = 0,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;
	struct rollout_actions a;
	int i;

	(void)state;
	/* Share 0; then slot 1 emptied too; then (unreachable) another program there. */
	for (i = 0; i < 3; i++) {
		live_rollout(r);
		obs.slot1 = i == 0 ? CAND : i == 1 ? 0 : OTHER;
		obs.share_bp = i == 2 ? 500 : 0;
		assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
		assert_int_equal(rc.outcome, ROLLOUT_RC_ROLLBACK_COMPLETED);
		assert_fixes(&rc, want, 1);
		/* Through the engine: withdrawn in order, announced, persisted. */
		assert_int_equal(feed(r, &rc, &a), ROLLOUT_ROLLED_BACK);
		assert_int_equal(a.nr, 4);
		assert_int_equal(a.a[0].type, ROLLOUT_ACT_SET_SHARE);
		assert_int_equal(a.a[0].arg, 0);
		assert_int_equal(a.a[1].type, ROLLOUT_ACT_CLEAR_SLOT);
		assert_int_equal(a.a[2].type, ROLLOUT_ACT_NOTIFY);
		assert_int_equal(a.a[2].arg, ROLLOUT_N_ROLLED_BACK);
		assert_int_equal(a.a[3].type, ROLLOUT_ACT_PERSIST);
		assert_non_null(strstr(r->reason, "withdrawal completed after a restart"));
	}
	free(r);
}

/* Not reachable by crash.test.sh: slot 0 is not the stable pin (a revert cut in half). */
static void test_slot0_restored(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN };
	static const enum rollout_fix_type want_live[] = { ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN,
							   ROLLOUT_FIX_SET_SHARE };
	struct rollout_observed obs = { .slot0 = OTHER, .slot1 = 0, .share_bp = 0,
					.stable_pin = STABLE, .cand_pin = CAND };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout_reconcile rc;

	(void)state;
	live_rollout(r);
	r->phase = ROLLOUT_ABORTED;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_true(rc.revert_completed);
	assert_int_equal(rc.outcome, ROLLOUT_RC_CONSISTENT);
	assert_fixes(&rc, want, 1);
	/* With a live rollout ahead of its step as well: both fixes. */
	live_rollout(r);
	obs.slot1 = CAND;
	obs.share_bp = 2500;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_true(rc.revert_completed);
	assert_int_equal(rc.outcome, ROLLOUT_RC_ADVANCE_UNDONE);
	assert_fixes(&rc, want_live, 2);
	/* No stable pin at all: nothing to put back. */
	obs.stable_pin = 0;
	obs.share_bp = 500;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_false(rc.revert_completed);
	assert_int_equal(rc.nr, 0);
	free(r);
}

/*
 * A revert ahead of the state file (it still says promoted, stable CAND,
 * previous STABLE, ids persisted): slot 0 written only, or slot 0 and the
 * stable pin. Either way completed through the engine, never undone: the
 * rejected CAND does not go back into slot 0. Without persisted ids (an
 * older layout) the old rule stands; a consistent promoted state is left.
 */
static void test_revert_completed(void **state)
{
	static const enum rollout_fix_type want[] = { ROLLOUT_FIX_EVENT };
	static const enum rollout_fix_type old_rule[] = { ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN };
	struct rollout_observed obs = { .slot0 = STABLE, .slot1 = 0, .share_bp = 0,
					.stable_pin = CAND, .cand_pin = CAND,
					.want_stable = CAND, .want_previous = STABLE };
	struct rollout *r = calloc(1, sizeof(*r));
	struct rollout *p = calloc(1, sizeof(*p));
	struct rollout_reconcile rc;
	struct rollout_actions a;
	__u32 i;

	(void)state;
	live_rollout(r);
	r->phase = ROLLOUT_PROMOTED;
	r->has_previous = true;
	*p = *r;
	/* Slot 0 written, the stable pin not yet. */
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_REVERT_COMPLETED);
	assert_false(rc.revert_completed);
	assert_fixes(&rc, want, 1);
	assert_int_equal(rc.ev.type, ROLLOUT_EV_REVERT);
	assert_int_equal(feed(r, &rc, &a), ROLLOUT_ABORTED);
	assert_int_equal(a.a[0].type, ROLLOUT_ACT_REVERT);
	assert_int_equal(a.a[a.nr - 1].type, ROLLOUT_ACT_PERSIST);
	assert_non_null(strstr(r->reason, "revert completed after a restart"));
	for (i = 0; i < rc.nr; i++)
		assert_int_not_equal(rc.fix[i].type, ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN);
	/* Both writes done. */
	*r = *p;
	obs.stable_pin = STABLE;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_REVERT_COMPLETED);
	assert_fixes(&rc, want, 1);
	/* Negative: the promotion as persisted, kernel agreeing: nothing to do. */
	obs.slot0 = CAND;
	obs.stable_pin = CAND;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_int_equal(rc.outcome, ROLLOUT_RC_CONSISTENT);
	assert_int_equal(rc.nr, 0);
	/* Without persisted ids: slot 0 back to the stable pin, as before. */
	obs.slot0 = STABLE;
	obs.want_stable = obs.want_previous = 0;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_true(rc.revert_completed);
	assert_fixes(&rc, old_rule, 1);
	/* After a revert was persisted (aborted, no previous), a foreign slot 0 is fixed. */
	r->phase = ROLLOUT_ABORTED;
	r->has_previous = false;
	obs.want_stable = obs.want_previous = STABLE;
	obs.slot0 = CAND;
	obs.stable_pin = STABLE;
	assert_int_equal(rollout__reconcile(r, &obs, 5000, &rc), 0);
	assert_true(rc.revert_completed);
	assert_fixes(&rc, old_rule, 1);
	free(r);
	free(p);
}

/* ---- samples ---------------------------------------------------------- */

static struct canary_counters *split(struct canary_counters *all, __u32 row)
{
	return &all[row * CANARY_CLASS_MAX + CANARY_CLASS_SPLIT];
}

static void test_split_sample(void **state)
{
	static struct canary_counters now[CANARY_COUNTERS_ENTRIES], then[CANARY_COUNTERS_ENTRIES];
	struct judge_sample s;

	(void)state;
	split(then, 1)->packets = 100;
	split(then, 1)->verdict[CANARY_V_DROP] = 10;
	split(then, 1)->verdict[CANARY_V_PASS] = 90;
	split(then, 1)->cost_hist[9] = 4;
	/* A torn read: a packet counted, its verdict not yet; packets follow the verdicts. */
	split(now, 1)->packets = 1101;
	split(now, 1)->verdict[CANARY_V_DROP] = 60;
	split(now, 1)->verdict[CANARY_V_ABORTED] = 2;
	split(now, 1)->verdict[CANARY_V_PASS] = 1037;
	split(now, 1)->verdict[CANARY_V_INVALID] = 1;
	split(now, 1)->cost_samples = 9;
	split(now, 1)->cost_hist[4] = 3;	/* at the threshold + 1: not slow */
	split(now, 1)->cost_hist[5] = 5;	/* threshold + 2: slow */
	split(now, 1)->cost_hist[9] = 5;	/* one more since then */
	/* Other classes and rows do not leak in. */
	now[1 * CANARY_CLASS_MAX + CANARY_CLASS_PINNED].packets = 777;
	split(now, 0)->packets = 5000;
	split(now, 0)->verdict[CANARY_V_PASS] = 5000;
	rollout_sample__split(now, then, 1, 3, &s);
	assert_int_equal(s.packets, 1000);
	assert_int_equal(s.drops, 50);
	assert_int_equal(s.aborts, 2);
	assert_int_equal(s.passes, 947);
	assert_int_equal(s.invalid, 1);
	assert_int_equal(s.cost_samples, 9);
	assert_int_equal(s.slow, 6);
	assert_int_equal(s.cost_hist[4], 3);
	assert_int_equal(s.cost_hist[9], 1);
	rollout_sample__split(now, then, 0, 3, &s);
	assert_int_equal(s.packets, 5000);
	/* The top bucket as threshold: nothing is slow. */
	rollout_sample__split(now, then, 1, CANARY_COST_BUCKETS - 1, &s);
	assert_int_equal(s.slow, 0);
}

static void test_strata_sample(void **state)
{
	static struct canary_stratum now[CANARY_STRATA], then[CANARY_STRATA], d[CANARY_STRATA];

	(void)state;
	then[7].verdict[CANARY_V_DROP] = 5;
	now[7].verdict[CANARY_V_DROP] = 12;
	now[999].verdict[CANARY_V_PASS] = 40;
	assert_int_equal(rollout_sample__strata(now, then, d), 0);
	assert_int_equal(d[7].verdict[CANARY_V_DROP], 7);
	assert_int_equal(d[999].verdict[CANARY_V_PASS], 40);
	assert_int_equal(d[0].verdict[CANARY_V_PASS], 0);
	/* A counter that went backwards (another dispatcher): no evidence. */
	then[500].verdict[CANARY_V_ABORTED] = 1;
	assert_int_equal(rollout_sample__strata(now, then, d), -ERANGE);
}

static void test_slow_bucket(void **state)
{
	static struct canary_counters now[CANARY_COUNTERS_ENTRIES], start[CANARY_COUNTERS_ENTRIES];

	(void)state;
	/* No stable cost sample: nothing is slow. */
	assert_int_equal(rollout_sample__slow_bucket(now, start), CANARY_COST_BUCKETS - 1);
	/* 100 samples since the start: 70 in bucket 6, 10 in 7, 20 in 9: p75 is 7. */
	split(start, 0)->cost_samples = 50;
	split(start, 0)->cost_hist[3] = 50;
	split(now, 0)->cost_samples = 150;
	split(now, 0)->cost_hist[3] = 50;
	split(now, 0)->cost_hist[6] = 70;
	split(now, 0)->cost_hist[7] = 10;
	split(now, 0)->cost_hist[9] = 20;
	assert_int_equal(rollout_sample__slow_bucket(now, start), 7);
	/* Exactly three quarters in bucket 6 reaches the percentile there. */
	split(now, 0)->cost_hist[6] = 75;
	split(now, 0)->cost_hist[7] = 5;
	assert_int_equal(rollout_sample__slow_bucket(now, start), 6);
	/* The candidate's row does not count. */
	split(now, 1)->cost_samples = 1000;
	split(now, 1)->cost_hist[0] = 1000;
	assert_int_equal(rollout_sample__slow_bucket(now, start), 6);
}

/* A release cut short: completed, never undone; anything else set up as usual. */
static void test_release_cut(void **state)
{
	struct rollout_release_obs o = { .pinned = true, .xdp_id = 7, .dp_id = 7, .stable_pin = 9 };

	(void)state;
	/* The dispatcher attached, no marker: no release. */
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_NONE);
	/* The replace done (the stable pin attached directly), no marker: finished. */
	o.xdp_id = 9;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_FINISH_MARKER);
	/* Nothing attached, or someone else's program: not a release (links.c's business). */
	o.xdp_id = 0;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_NONE);
	o.xdp_id = 12;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_NONE);
	/* No stable pin to compare with: not taken for a release. */
	o.xdp_id = 0;
	o.stable_pin = 0;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_NONE);
	/* The marker written, the pins left: removed, whatever replaced the dispatcher. */
	o = (struct rollout_release_obs){ .marker = true, .pinned = true, .xdp_id = 9,
					  .dp_id = 7, .stable_pin = 9 };
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_FINISH_PINS);
	o.xdp_id = 0;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_FINISH_PINS);
	/* The marker while the dispatcher runs: left alone, pins kept. */
	o.xdp_id = 7;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_MARKED_ATTACHED);
	/* Released and done. */
	o.pinned = false;
	assert_int_equal(rollout__reconcile_release(&o), ROLLOUT_RELEASE_DONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consistent),
		cmocka_unit_test(test_start_gate),
		cmocka_unit_test(test_start_undone),
		cmocka_unit_test(test_start_over_promoted),
		cmocka_unit_test(test_advance_undone),
		cmocka_unit_test(test_promotion_whole),
		cmocka_unit_test(test_promotion_first_write),
		cmocka_unit_test(test_rollback_completed),
		cmocka_unit_test(test_slot0_restored),
		cmocka_unit_test(test_revert_completed),
		cmocka_unit_test(test_release_cut),
		cmocka_unit_test(test_split_sample),
		cmocka_unit_test(test_strata_sample),
		cmocka_unit_test(test_slow_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
