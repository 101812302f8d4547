// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rollout state machine (engine.h): events in, actions out. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_abi.h"
#include "engine.h"

int rollout_plan__parse(struct rollout_plan *plan, const char *steps, __u64 min_bake_ms,
			__u64 max_ms, __u64 min_packets)
{
	const char *p = steps;
	__u32 prev = 0;

	memset(plan, 0, sizeof(*plan));
	plan->breaker_budget = CANARY_BUDGET_OFF;
	if (max_ms && max_ms < min_bake_ms)
		return -EINVAL;
	while (*p) {
		char *end;
		double pct = strtod(p, &end);
		__u32 bp;

		if (end == p || pct <= 0 || pct > 100 || plan->nr_steps == ROLLOUT_MAX_STEPS)
			return -EINVAL;
		bp = (__u32)llround(pct * 100);
		if (bp <= prev || fabs(pct * 100 - bp) > 1e-6)
			return -EINVAL;	/* not rising, or finer than 0.01 % */
		plan->step[plan->nr_steps++] = (struct rollout_step){
			.share_bp = bp, .min_bake_ms = min_bake_ms, .max_ms = max_ms,
			.min_packets = min_packets,
		};
		prev = bp;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	/* At least one compared step, and the last, 100 %, is the promotion. */
	return plan->nr_steps >= 2 && prev == CANARY_BP_MAX ? 0 : -EINVAL;
}

int rollout__init(struct rollout *r, const struct rollout_plan *plan,
		  const struct judge_config *jcfg)
{
	__u32 i;
	int err;

	if (plan->nr_steps < 2 || plan->nr_steps > ROLLOUT_MAX_STEPS ||
	    plan->step[plan->nr_steps - 1].share_bp != CANARY_BP_MAX)
		return -EINVAL;
	for (i = 0; i < plan->nr_steps; i++)
		if (plan->step[i].share_bp == 0 || plan->step[i].share_bp > CANARY_BP_MAX ||
		    (i && plan->step[i].share_bp <= plan->step[i - 1].share_bp))
			return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->plan = *plan;
	err = judge__init(&r->judge, jcfg);
	if (err)
		return err;
	snprintf(r->reason, sizeof(r->reason), "not started");
	return 0;
}

bool rollout__done(const struct rollout *r)
{
	return r->phase >= ROLLOUT_PROMOTED;
}

static void act(struct rollout_actions *acts, enum rollout_action_type type, __u64 arg)
{
	/* ROLLOUT_MAX_ACTIONS covers the longest sequence below. */
	if (acts->nr < ROLLOUT_MAX_ACTIONS)
		acts->a[acts->nr++] = (struct rollout_action){ type, arg };
}

/* The judge's exposure rules follow the plan's current step. */
static void enter_step(struct rollout *r, __u32 k, __u64 now, struct rollout_actions *acts)
{
	const struct rollout_step *s = &r->plan.step[k];

	r->step = k;
	r->step_start_ms = now;
	r->share_bp = s->share_bp;
	r->judge.cfg.min_bake_ms = s->min_bake_ms;
	r->judge.cfg.max_step_ms = s->max_ms;
	r->judge.cfg.min_cand_packets = s->min_packets;
	if (k)
		judge__new_step(&r->judge);
	act(acts, ROLLOUT_ACT_SET_SHARE, s->share_bp);
}

/* Roll back in the DESIGN.md order: share 0 first, then empty the slot. */
static void roll_back(struct rollout *r, enum rollout_phase phase, enum rollout_notice n,
		      __u64 now, struct rollout_actions *acts)
{
	r->phase = phase;
	r->share_bp = 0;
	r->end_ms = now;
	act(acts, ROLLOUT_ACT_SET_SHARE, 0);
	act(acts, ROLLOUT_ACT_CLEAR_SLOT, 0);
	act(acts, ROLLOUT_ACT_NOTIFY, n);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/* Promote: candidate into slot 0 (one atomic update), share 0, empty slot 1. */
static void promote(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	r->phase = ROLLOUT_PROMOTED;
	r->share_bp = 0;
	r->end_ms = now;
	r->has_previous = true;
	act(acts, ROLLOUT_ACT_PROMOTE, 0);
	act(acts, ROLLOUT_ACT_SET_SHARE, 0);
	act(acts, ROLLOUT_ACT_CLEAR_SLOT, 0);
	act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PROMOTED);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

static void set_reason_ev(struct rollout *r, const char *what)
{
	int n = snprintf(r->reason, sizeof(r->reason), "%s: ", what);

	/* Truncated evidence still reads well; the full record is in last_ev. */
	if (n > 0 && (size_t)n < sizeof(r->reason))
		judge_evidence__format(&r->last_ev, r->reason + n, sizeof(r->reason) - n);
}

static void add_totals(struct rollout *r, const struct rollout_event *ev)
{
	r->totals.stable_packets += ev->stable.packets;
	r->totals.cand_packets += ev->cand.packets;
	r->totals.cand_aborted += ev->cand.aborts;
	r->totals.cand_invalid += ev->cand.invalid;
	r->totals.cand_drops += ev->cand.drops;
	r->totals.stable_drops += ev->stable.drops;
}

static int handle_tick(struct rollout *r, const struct rollout_event *ev,
		       struct rollout_actions *acts)
{
	enum judge_verdict v;

	if (r->phase != ROLLOUT_PROGRESSING && r->phase != ROLLOUT_PAUSED)
		return 0;	/* nothing to judge; not an error */
	add_totals(r, ev);
	r->last_ms = ev->now_ms;
	v = judge__update(&r->judge, &ev->stable, &ev->cand, r->share_bp,
			  ev->now_ms - r->start_ms, &r->last_ev);
	r->last_verdict = v;

	/* The kernel already stopped the slot; make it final. */
	if (ev->breaker_tripped) {
		snprintf(r->reason, sizeof(r->reason),
			 "circuit breaker tripped: candidate returned %llu aborted/invalid verdicts "
			 "(budget %llu)", (unsigned long long)(r->totals.cand_aborted +
							       r->totals.cand_invalid),
			 (unsigned long long)r->plan.breaker_budget);
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	}

	switch (v) {
	case JUDGE_HARMFUL:
		/* Harm rolls back in any live phase, paused included. */
		set_reason_ev(r, "harmful");
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		break;
	case JUDGE_UNTRUSTED:
		if (r->phase == ROLLOUT_PROGRESSING) {
			set_reason_ev(r, "paused, split untrusted");
			r->phase = ROLLOUT_PAUSED;
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		break;
	case JUDGE_TIMEOUT:
		if (r->phase != ROLLOUT_PROGRESSING)
			break;
		if (r->plan.on_timeout == ROLLOUT_TIMEOUT_ROLLBACK) {
			set_reason_ev(r, "step timed out undecided, rolled back");
			roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		} else {
			set_reason_ev(r, "step timed out undecided, paused");
			r->phase = ROLLOUT_PAUSED;
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		break;
	case JUDGE_HEALTHY:
		if (r->phase != ROLLOUT_PROGRESSING)
			break;
		/*
		 * At 100 % nothing is left to compare against: the last step of
		 * a plan is the promotion itself, taken once the one before it
		 * is proven.
		 */
		if (r->step + 2 >= r->plan.nr_steps) {
			set_reason_ev(r, "promoted");
			promote(r, ev->now_ms, acts);
		} else {
			set_reason_ev(r, "advanced");
			enter_step(r, r->step + 1, ev->now_ms, acts);
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_ADVANCED);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		break;
	default:
		break;
	}
	return 0;
}

int rollout__handle(struct rollout *r, const struct rollout_event *ev,
		    struct rollout_actions *acts)
{
	bool live = r->phase == ROLLOUT_PROGRESSING || r->phase == ROLLOUT_PAUSED;

	acts->nr = 0;
	switch (ev->type) {
	case ROLLOUT_EV_START:
		if (r->phase != ROLLOUT_IDLE)
			return -EINVAL;
		r->phase = ROLLOUT_PROGRESSING;
		r->start_ms = r->last_ms = ev->now_ms;
		snprintf(r->reason, sizeof(r->reason), "started");
		/* Start order: candidate into slot 1, breaker armed, then the share. */
		act(acts, ROLLOUT_ACT_FILL_SLOT, 0);
		act(acts, ROLLOUT_ACT_ARM_BREAKER, r->plan.breaker_budget);
		enter_step(r, 0, ev->now_ms, acts);
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_STARTED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ROLLOUT_EV_TICK:
		return handle_tick(r, ev, acts);
	case ROLLOUT_EV_PAUSE:
		if (r->phase != ROLLOUT_PROGRESSING)
			return -EINVAL;
		r->phase = ROLLOUT_PAUSED;
		snprintf(r->reason, sizeof(r->reason), "paused by operator");
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ROLLOUT_EV_RESUME:
		if (r->phase != ROLLOUT_PAUSED)
			return -EINVAL;
		r->phase = ROLLOUT_PROGRESSING;
		snprintf(r->reason, sizeof(r->reason), "resumed by operator");
		/* A timed-out step gets a fresh maximum duration. */
		if (r->last_verdict == JUDGE_TIMEOUT || r->last_verdict == JUDGE_UNTRUSTED) {
			r->step_start_ms = ev->now_ms;
			judge__new_step(&r->judge);
		}
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_RESUMED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ROLLOUT_EV_PROMOTE:
		if (!live)
			return -EINVAL;
		snprintf(r->reason, sizeof(r->reason), "promoted by operator at %.2f%%",
			 r->share_bp / 100.0);
		promote(r, ev->now_ms, acts);
		return 0;
	case ROLLOUT_EV_ABORT:
		if (!live)
			return -EINVAL;
		snprintf(r->reason, sizeof(r->reason), "aborted by operator at %.2f%%",
			 r->share_bp / 100.0);
		roll_back(r, ROLLOUT_ABORTED, ROLLOUT_N_ABORTED, ev->now_ms, acts);
		return 0;
	case ROLLOUT_EV_REVERT:
		if (r->phase != ROLLOUT_PROMOTED || !r->has_previous)
			return -EINVAL;
		r->phase = ROLLOUT_ABORTED;
		r->has_previous = false;
		r->end_ms = ev->now_ms;
		snprintf(r->reason, sizeof(r->reason), "reverted to the previous stable by operator");
		act(acts, ROLLOUT_ACT_REVERT, 0);
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_REVERTED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ROLLOUT_EV_FAILED:
		if (!live)
			return -EINVAL;
		r->phase = ROLLOUT_FAILED;
		r->share_bp = 0;
		r->end_ms = ev->now_ms;
		snprintf(r->reason, sizeof(r->reason), "datapath failure; last good state restored");
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_FAILED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	}
	return -EINVAL;
}

const char *rollout_phase__name(enum rollout_phase p)
{
	static const char *const names[] = {
		"idle", "progressing", "paused", "promoted", "rolled_back", "aborted", "failed",
	};

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

const char *rollout_notice__name(enum rollout_notice n)
{
	static const char *const names[] = {
		"started", "advanced", "paused", "resumed", "promoted", "rolled_back", "aborted",
		"reverted", "failed",
	};

	return (unsigned)n < sizeof(names) / sizeof(names[0]) ? names[n] : "?";
}
