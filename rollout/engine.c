// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rollout state machine (engine.h): events in, actions out. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_abi.h"
#include "engine.h"
#include "shadow.h"

int rollout_plan__parse(struct rollout_plan *plan, const char *steps, __u64 min_bake_ms,
			__u64 max_ms, __u64 min_packets)
{
	const char *p = steps;
	__u32 prev = 0;

	memset(plan, 0, sizeof(*plan));
	plan->breaker_budget = CANARY_BUDGET_OFF;
	/* The warm-up is a step long: the operator's time scale. */
	plan->warmup_ms = min_bake_ms;
	if (max_ms && max_ms < min_bake_ms)
		return -EINVAL;
	while (*p) {
		char *end;
		double pct;
		__u32 bp;

		/* Entity steps first: "pin:NAME", before any share ("1, 5": blanks after a comma). */
		p += strspn(p, " \t");
		if (!strncmp(p, "pin:", 4)) {
			size_t len = strspn(p + 4, "abcdefghijklmnopqrstuvwxyz"
						   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
			char *name;

			if (plan->nr_steps || !len || len >= ROLLOUT_ENTITY_LEN ||
			    plan->nr_entities == ROLLOUT_MAX_ENTITIES)
				return -EINVAL;
			name = plan->entity[plan->nr_entities];
			memcpy(name, p + 4, len);
			name[len] = '\0';
			if (rollout_plan__entity(plan, name) >= 0)
				return -EINVAL;
			plan->nr_entities++;
			p += 4 + len;
			if (*p == ',')
				p++;
			else if (*p)
				return -EINVAL;
			continue;
		}
		pct = strtod(p, &end);

		if (end == p || pct <= 0 || pct > 100 || plan->nr_steps == ROLLOUT_MAX_STEPS)
			return -EINVAL;
		bp = (__u32)llround(pct * 100);
		/*
		 * Rising, and in whole strata of the hash space (0.1 %): the
		 * datapath refuses any other share, and the judge compares
		 * strata served by one version at a time.
		 */
		if (bp <= prev || fabs(pct * 100 - bp) > 1e-6 || bp % CANARY_STRATUM_BP)
			return -EINVAL;
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

int rollout_plan__entity(const struct rollout_plan *plan, const char *name)
{
	__u32 i;

	for (i = 0; i < plan->nr_entities && i < ROLLOUT_MAX_ENTITIES; i++)
		if (!strncmp(plan->entity[i], name, ROLLOUT_ENTITY_LEN))
			return (int)i;
	return -1;
}

int rollout__init(struct rollout *r, const struct rollout_plan *plan,
		  const struct judge_config *jcfg)
{
	__u32 i;
	int err;

	if (plan->nr_steps < 2 || plan->nr_steps > ROLLOUT_MAX_STEPS ||
	    plan->step[plan->nr_steps - 1].share_bp != CANARY_BP_MAX ||
	    plan->nr_entities > ROLLOUT_MAX_ENTITIES)
		return -EINVAL;
	for (i = 0; i < plan->nr_entities; i++)
		if (!plan->entity[i][0] || !memchr(plan->entity[i], 0, ROLLOUT_ENTITY_LEN))
			return -EINVAL;
	for (i = 0; i < plan->nr_steps; i++)
		if (plan->step[i].share_bp == 0 || plan->step[i].share_bp > CANARY_BP_MAX ||
		    (i && plan->step[i].share_bp <= plan->step[i - 1].share_bp))
			return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->plan = *plan;
	{
		/*
		 * Paired evidence in the live steps is a second test of harm and a
		 * second way to prove a step: each of the two gets half of alpha,
		 * so the rollout's false-harmful rate and each step's
		 * false-healthy rate stay within alpha (docs/JUDGE.md).
		 */
		struct judge_config jc = *jcfg;

		if (plan->shadow_live)
			jc.alpha /= 2;
		err = judge__init(&r->judge, &jc);
	}
	if (err)
		return err;
	snprintf(r->reason, sizeof(r->reason), "not started");
	return 0;
}

bool rollout__done(const struct rollout *r)
{
	return r->phase >= ROLLOUT_PROMOTED;
}

double rollout__paired_alpha(const struct rollout *r)
{
	return r->judge.cfg.alpha;
}

static void act(struct rollout_actions *acts, enum rollout_action_type type, __u64 arg)
{
	/* ROLLOUT_MAX_ACTIONS covers the longest sequence below. */
	if (acts->nr < ROLLOUT_MAX_ACTIONS)
		acts->a[acts->nr++] = (struct rollout_action){ type, arg };
}

/* A live step (the warm-up too) begins: its paired evidence anew. */
static void paired_step(struct rollout *r, struct rollout_actions *acts)
{
	if (!r->paired)
		return;
	r->paired_decision = SHADOW_UNDECIDED;
	r->paired_detail[0] = '\0';
	act(acts, ROLLOUT_ACT_SHADOW, 2);
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
	paired_step(r, acts);
}

/* Roll back in the DESIGN.md order: share 0 first, then empty the slot. */
static void clear_gate(struct rollout *r)
{
	r->gate = ROLLOUT_GATE_NONE;
	r->gate_passed = false;
	r->gate_since_ms = 0;
}

static bool gated(const struct rollout *r, enum rollout_gate g)
{
	return r->plan.gates & ROLLOUT_GATE_BIT(g);
}

/* Hold where we are and ask the shell for gate G until it answers. */
static void wait_gate(struct rollout *r, enum rollout_gate g, __u64 now,
		      struct rollout_actions *acts)
{
	r->gate = g;
	r->gate_passed = false;
	r->gate_since_ms = now;
	act(acts, ROLLOUT_ACT_ASK_GATE, g);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/* Pin rules go before slot 1 is emptied (no rule may point at an empty slot). */
static void clear_pins(struct rollout *r, struct rollout_actions *acts)
{
	if (r->nr_pins || r->ent_pins)
		act(acts, ROLLOUT_ACT_CLEAR_PINS, 0);
	r->nr_pins = 0;
	r->ent_pins = false;
	r->entities_on = false;
}

/* The shadow phase, or the live pairing, ends before any share or slot change of the transition. */
static void end_shadow(struct rollout *r, struct rollout_actions *acts)
{
	if (r->shadowing || r->paired)
		act(acts, ROLLOUT_ACT_SHADOW, 0);
	r->shadowing = false;
	r->paired = false;
}


static void roll_back(struct rollout *r, enum rollout_phase phase, enum rollout_notice n,
		      __u64 now, struct rollout_actions *acts)
{
	end_shadow(r, acts);
	clear_gate(r);
	r->phase = phase;
	r->share_bp = 0;
	r->end_ms = now;
	act(acts, ROLLOUT_ACT_SET_SHARE, 0);
	clear_pins(r, acts);
	act(acts, ROLLOUT_ACT_CLEAR_SLOT, 0);
	act(acts, ROLLOUT_ACT_NOTIFY, n);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/* Promote: candidate into slot 0 (one atomic update), share 0, empty slot 1. */
static void promote(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	end_shadow(r, acts);
	clear_gate(r);
	r->phase = ROLLOUT_PROMOTED;
	r->share_bp = 0;
	r->end_ms = now;
	r->has_previous = true;
	act(acts, ROLLOUT_ACT_PROMOTE, 0);
	act(acts, ROLLOUT_ACT_SET_SHARE, 0);
	clear_pins(r, acts);
	act(acts, ROLLOUT_ACT_CLEAR_SLOT, 0);
	act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PROMOTED);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/*
 * Start order: candidate into slot 1, breaker armed, then the share: 0 for
 * the warm-up (the judge learns each stratum's baseline under stable; the
 * shell sets this rollout's new hash seed with the slot, while no flow is
 * on the candidate), else step 0's.
 */
/* The warm-up or step 0: the hash-split steps. */
static void go_shares(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	/* Paired evidence in the live steps: the hash-split ones (not the entity steps). */
	r->paired = r->plan.shadow_live;
	if (r->plan.warmup_ms) {
		r->warming = true;
		r->step = 0;
		r->step_start_ms = now;
		r->share_bp = 0;
		act(acts, ROLLOUT_ACT_SET_SHARE, 0);
		paired_step(r, acts);
	} else {
		enter_step(r, 0, now, acts);
	}
}

/*
 * Entity K's step: its rules installed pointing at stable (its baseline),
 * those of the entities before it at the candidate.
 */
static void enter_entity(struct rollout *r, __u32 k, __u64 now, struct rollout_actions *acts)
{
	r->ent = k;
	r->ent_state[k] = ENTITY_BASELINE;
	memset(&r->ej[k], 0, sizeof(r->ej[k]));
	r->step_start_ms = now;
	r->last_verdict = JUDGE_INCONCLUSIVE;
	r->ent_pins = true;
	act(acts, ROLLOUT_ACT_SET_ENTITY, ROLLOUT_ENTITY_ARG(k + 1, CANARY_SLOT_STABLE));
}

/* After the shadow phase (or without one): pins or entity steps, then the shares. */
static void go_live(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	if (r->plan.nr_entities) {
		r->entities_on = true;
		r->step = 0;
		r->share_bp = 0;
		act(acts, ROLLOUT_ACT_SET_SHARE, 0);
		enter_entity(r, 0, now, acts);
		return;
	}
	/* Pinned flows reach the candidate only once its slot and breaker are set. */
	if (r->nr_pins)
		act(acts, ROLLOUT_ACT_SET_PINS, r->nr_pins);
	go_shares(r, now, acts);
}

static void begin(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	act(acts, ROLLOUT_ACT_FILL_SLOT, 0);
	act(acts, ROLLOUT_ACT_ARM_BREAKER, r->plan.breaker_budget);
	if (r->plan.shadow_ms) {
		/* No traffic and no pin rule reach the candidate while shadowing. */
		r->shadowing = true;
		r->shadow_decision = SHADOW_UNDECIDED;
		r->step = 0;
		r->step_start_ms = now;
		r->share_bp = 0;
		act(acts, ROLLOUT_ACT_SET_SHARE, 0);
		act(acts, ROLLOUT_ACT_SHADOW, 1);
	} else {
		go_live(r, now, acts);
	}
	act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_STARTED);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/*
 * A live step's paired decision. Harm (the shell's test over the rollout's
 * live steps, fidelity checked) rolls back in any live phase, paused
 * included, warm-up included; safe and weak are kept for the ticks: safe
 * proves the step with the split judge's exposure (handle_tick()), weak
 * decides nothing.
 */
static int handle_paired(struct rollout *r, const struct rollout_event *ev,
			 struct rollout_actions *acts)
{
	const char *detail = ev->detail && ev->detail[0] ? ev->detail : "no detail";

	r->last_ms = ev->now_ms;
	r->paired_decision = ev->shadow_decision;
	snprintf(r->paired_detail, sizeof(r->paired_detail), "%s", detail);
	if (ev->shadow_decision != SHADOW_HARMFUL)
		return 0;
	if (r->warming)
		snprintf(r->reason, sizeof(r->reason),
			 "harmful on paired evidence in the warm-up (share 0): %s", detail);
	else
		snprintf(r->reason, sizeof(r->reason),
			 "harmful on paired evidence at step %u (%.2f%%): %s", r->step + 1,
			 r->share_bp / 100.0, detail);
	roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
	return 0;
}

/*
 * The paired test's decision. Harm rolls back in any live phase (paused
 * included); leaving the shadow phase is progress, held by a pause.
 */
static int handle_shadow(struct rollout *r, const struct rollout_event *ev,
			 struct rollout_actions *acts)
{
	const char *detail = ev->detail && ev->detail[0] ? ev->detail : "no detail";
	__u64 el;

	if (r->phase != ROLLOUT_PROGRESSING && r->phase != ROLLOUT_PAUSED)
		return -EINVAL;
	if (!r->shadowing && !r->paired)
		return 0;
	if (ev->shadow_decision > SHADOW_WEAK)
		return -EINVAL;
	if (!r->shadowing)
		return handle_paired(r, ev, acts);
	r->shadow_decision = ev->shadow_decision;
	r->last_ms = ev->now_ms;
	el = ev->now_ms - r->step_start_ms;
	if (ev->shadow_decision == SHADOW_HARMFUL) {
		snprintf(r->reason, sizeof(r->reason),
			 "harmful in the shadow phase (no customer packet reached the candidate): %s",
			 detail);
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	}
	if (r->phase != ROLLOUT_PROGRESSING)
		return 0;
	/*
	 * Safety needs the evidence of a step's bake time (at most the
	 * shadow time): the first samples of a phase may all come from one
	 * kind of traffic (one CPU, one burst), and are proof of nothing
	 * about the rest. Harm needs no such wait.
	 */
	if (ev->shadow_decision == SHADOW_SAFE &&
	    el >= (r->plan.step[0].min_bake_ms < r->plan.shadow_ms ? r->plan.step[0].min_bake_ms
								   : r->plan.shadow_ms))
		snprintf(r->reason, sizeof(r->reason),
			 "shadow phase safe after %.1f s (%s); going live", el / 1000.0, detail);
	else if (el >= r->plan.shadow_ms)
		snprintf(r->reason, sizeof(r->reason),
			 "shadow phase over after %.1f s, %s (%s): the live steps decide",
			 el / 1000.0, shadow_decision__name(ev->shadow_decision), detail);
	else
		return 0;
	/* With live pairing the instances stay: go_live() turns them to the live steps. */
	if (r->plan.shadow_live)
		r->shadowing = false;
	else
		end_shadow(r, acts);
	/* The warm-up's and the judge's clocks start when the traffic can. */
	r->start_ms = ev->now_ms;
	go_live(r, ev->now_ms, acts);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
	return 0;
}

static void advance(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	enter_step(r, r->step + 1, now, acts);
	act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_ADVANCED);
	act(acts, ROLLOUT_ACT_PERSIST, 0);
}

/* The gate waited on passed: take the transition it held. */
static void open_gate(struct rollout *r, __u64 now, struct rollout_actions *acts)
{
	enum rollout_gate g = r->gate;

	clear_gate(r);
	switch (g) {
	case ROLLOUT_GATE_START:
		snprintf(r->reason, sizeof(r->reason), "started: gate start passed");
		/*
		 * The judge's clock runs from the rollout's start: restart it
		 * here, or the wait would count as step 0's bake and time.
		 */
		r->start_ms = now;
		begin(r, now, acts);
		break;
	case ROLLOUT_GATE_STEP:
		snprintf(r->reason, sizeof(r->reason), "advanced to %.2f%%: gate step passed",
			 r->plan.step[r->step + 1].share_bp / 100.0);
		advance(r, now, acts);
		break;
	case ROLLOUT_GATE_PROMOTE:
		snprintf(r->reason, sizeof(r->reason), "promoted: gate promote passed");
		promote(r, now, acts);
		break;
	case ROLLOUT_GATE_NONE:
		break;
	}
}

static void set_reason_ev(struct rollout *r, const char *what)
{
	int n = snprintf(r->reason, sizeof(r->reason), "%s: ", what);

	/* Truncated evidence still reads well; the full record is in last_ev. */
	if (n > 0 && (size_t)n < sizeof(r->reason))
		judge_evidence__format(&r->last_ev, r->reason + n, sizeof(r->reason) - n);
}

/*
 * A step proven: by the split judge (its evidence), or by the paired
 * evidence with the split judge's exposure ("paired safe (...)", then the
 * split judge's evidence, undecided).
 */
static void set_reason_healthy(struct rollout *r, const char *what, bool by_paired)
{
	char w[ROLLOUT_REASON_LEN];

	if (!by_paired) {
		set_reason_ev(r, what);
		return;
	}
	snprintf(w, sizeof(w), "%s on paired evidence, step %u: paired safe (%s), split exposure met, "
		 "split test undecided", what, r->step + 1, r->paired_detail);
	set_reason_ev(r, w);
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

/* An entity step ran out of its maximum time: on_timeout decides. */
static void entity_timeout(struct rollout *r, const char *what, __u64 now,
			   struct rollout_actions *acts)
{
	const char *name = r->plan.entity[r->ent];

	r->last_verdict = JUDGE_TIMEOUT;	/* a resume gives the step a fresh maximum time */
	if (r->plan.on_timeout == ROLLOUT_TIMEOUT_ROLLBACK) {
		snprintf(r->reason, sizeof(r->reason), "entity %s: %s; rolled back", name, what);
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, now, acts);
	} else if (r->phase == ROLLOUT_PROGRESSING) {
		snprintf(r->reason, sizeof(r->reason), "entity %s: %s; paused", name, what);
		r->phase = ROLLOUT_PAUSED;
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
	}
}

static void reason_entity(struct rollout *r, const char *what)
{
	int n = snprintf(r->reason, sizeof(r->reason), "%s: ", what);

	if (n > 0 && (size_t)n < sizeof(r->reason))
		entity_evidence__format(r->plan.entity[r->ent], &r->ent_ev[r->ent],
					r->reason + n, sizeof(r->reason) - n);
}

/*
 * A read interval in the entity steps (entity.h): the current entity's
 * baseline under stable until its bake time and minimum packets, then its
 * rules on the candidate, judged against that baseline with the split
 * traffic as the control. Harm rolls back (paused too); passing, the
 * next entity or the shares (progress, held by a pause).
 */
static int handle_entity_tick(struct rollout *r, const struct rollout_event *ev,
			      struct rollout_actions *acts)
{
	const struct rollout_step *s = &r->plan.step[0];
	__u32 k = r->ent;
	const char *name = r->plan.entity[k];
	struct judge_sample split = ev->stable;
	struct entity_config ec;
	bool judging = r->ent_state[k] == ENTITY_JUDGING;
	__u64 el = ev->now_ms - r->step_start_ms;
	struct entity_period *cur;
	char what[160];

	if (ev->breaker_tripped) {
		snprintf(r->reason, sizeof(r->reason),
			 "circuit breaker tripped at entity %s (%s): the candidate returned more "
			 "than %llu aborted/invalid verdicts (the budget) on pinned flows",
			 name, judging ? "its rules on the candidate" : "its baseline",
			 (unsigned long long)r->plan.breaker_budget);
		if (judging)
			r->ent_state[k] = ENTITY_HARMFUL;
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	}
	/* The control: every hash-split packet (all on stable at share 0). */
	split.packets += ev->cand.packets;
	split.drops += ev->cand.drops;
	entity_judge__add(&r->ej[k], judging, &ev->pinned, &ev->pinned_stable, &split);
	cur = &r->ej[k].e[judging];
	entity_config__from_judge(&ec, &r->judge.cfg, r->plan.nr_entities);
	if (!judging) {
		if (r->phase != ROLLOUT_PROGRESSING)
			return 0;
		/*
		 * Its own traffic makes the baseline, not that of the entities
		 * before it; and it lasts until it is precise enough to prove
		 * the candidate no worse (entity_judge__baseline_ready()), at
		 * most four step times (then harm can still be found, safety
		 * may time out).
		 */
		if (el >= s->min_bake_ms && r->ej[k].own_n >= s->min_packets &&
		    (entity_judge__baseline_ready(&r->ej[k], &ec) || el >= 4 * s->min_bake_ms)) {
			r->ent_state[k] = ENTITY_JUDGING;
			r->step_start_ms = ev->now_ms;
			snprintf(r->reason, sizeof(r->reason),
				 "entity %s: baseline of %.0f packets (drop rate %.3g%%) over %.1f s "
				 "under stable; its rules now on the candidate", name, r->ej[k].own_n,
				 r->ej[k].own_n ? 100 * r->ej[k].own_x / r->ej[k].own_n : 0,
				 el / 1000.0);
			act(acts, ROLLOUT_ACT_SET_ENTITY, ROLLOUT_ENTITY_ARG(k + 1, 1));
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_ADVANCED);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		} else if (s->max_ms && el >= s->max_ms) {
			snprintf(what, sizeof(what),
				 "its baseline had %.0f packets of the %llu needed within the step's "
				 "maximum time", r->ej[k].own_n, (unsigned long long)s->min_packets);
			entity_timeout(r, what, ev->now_ms, acts);
		}
		return 0;
	}
	switch (entity_judge__decide(&r->ej[k], &ec,
				     el >= s->min_bake_ms &&
					     entity_judge__own_after(&r->ej[k]) >= s->min_packets,
				     &r->ent_ev[k])) {
	case ENTITY_V_HARMFUL:
		r->ent_state[k] = ENTITY_HARMFUL;
		reason_entity(r, "harmful");
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	case ENTITY_V_HEALTHY:
		if (r->phase != ROLLOUT_PROGRESSING)
			return 0;
		r->ent_state[k] = ENTITY_PASSED;
		reason_entity(r, "passed");
		if (k + 1 < r->plan.nr_entities) {
			enter_entity(r, k + 1, ev->now_ms, acts);
		} else {
			/* The shares next; the judge's clock starts with them. */
			r->entities_on = false;
			r->start_ms = ev->now_ms;
			go_shares(r, ev->now_ms, acts);
		}
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_ADVANCED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ENTITY_V_WAIT:
		break;
	}
	if (r->phase == ROLLOUT_PROGRESSING && s->max_ms && el >= s->max_ms) {
		snprintf(what, sizeof(what), "undecided within the step's maximum time (%.0f "
			 "packets on the candidate)", cur->n);
		entity_timeout(r, what, ev->now_ms, acts);
	}
	return 0;
}

static int handle_tick(struct rollout *r, const struct rollout_event *ev,
		       struct rollout_actions *acts)
{
	enum judge_verdict v;
	bool by_paired = false;

	if (r->phase != ROLLOUT_PROGRESSING && r->phase != ROLLOUT_PAUSED)
		return 0;	/* nothing to judge; not an error */
	if (r->gate == ROLLOUT_GATE_START) {
		r->last_ms = ev->now_ms;
		return 0;	/* no traffic reaches the candidate before the start gate */
	}
	add_totals(r, ev);
	r->last_ms = ev->now_ms;
	/* The entity steps have their own judge; the split one starts after them. */
	if (r->entities_on)
		return handle_entity_tick(r, ev, acts);
	{
		struct judge_input in = {
			.strata = ev->strata, .stable = &ev->stable, .cand = &ev->cand,
			.share_bp = r->share_bp, .now_ms = ev->now_ms - r->start_ms,
		};

		v = judge__update_strata(&r->judge, &in, &r->last_ev);
	}
	r->last_verdict = v;


	/* The kernel already stopped the slot; make it final. */
	if (ev->breaker_tripped) {
		__u64 split_bad = r->totals.cand_aborted + r->totals.cand_invalid;

		/* The kernel counts every class; the totals are hash-split only. */
		if (r->nr_pins && split_bad <= r->plan.breaker_budget)
			snprintf(r->reason, sizeof(r->reason),
				 "circuit breaker tripped: candidate returned more than %llu "
				 "aborted/invalid verdicts (the budget), %llu of them on hash-split "
				 "traffic, the rest on the flows of its %u pin rules",
				 (unsigned long long)r->plan.breaker_budget,
				 (unsigned long long)split_bad, r->nr_pins);
		else
			snprintf(r->reason, sizeof(r->reason),
				 "circuit breaker tripped: candidate returned %llu aborted/invalid "
				 "verdicts (budget %llu)", (unsigned long long)split_bad,
				 (unsigned long long)r->plan.breaker_budget);
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	}

	/* The shadow phase ends on ROLLOUT_EV_SHADOW only. */
	if (r->shadowing)
		return 0;

	/*
	 * Warm-up over: step 0 (a pause holds it, as it holds any progress).
	 * It lasts until the strata step 0 will move hold twice the step's
	 * minimum packets in their baseline (the comparison of a stratum with
	 * its own past is only as precise as that past), at most twice
	 * warmup_ms (low traffic: the judge then says so in the step).
	 */
	if (r->warming) {
		__u64 el = ev->now_ms - r->step_start_ms;
		const struct rollout_step *s0 = &r->plan.step[0];

		if (r->phase == ROLLOUT_PROGRESSING && el >= r->plan.warmup_ms &&
		    (judge__baseline_packets(&r->judge, s0->share_bp) >= 2 * s0->min_packets ||
		     el >= 2 * r->plan.warmup_ms)) {
			r->warming = false;
			snprintf(r->reason, sizeof(r->reason),
				 "baseline learned over %.0f s; step 1 at %.2f%%",
				 (ev->now_ms - r->step_start_ms) / 1000.0,
				 r->plan.step[0].share_bp / 100.0);
			enter_step(r, 0, ev->now_ms, acts);
			judge__new_step(&r->judge);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		return 0;
	}

	/*
	 * Paired evidence proves the step where the split test has not (yet):
	 * the same packets under both versions, safe at alpha / 2, and the
	 * split judge's exposure (bake time, candidate packets, events) met.
	 * Harm, untrusted and weak evidence are never overridden.
	 */
	if (r->paired && r->paired_decision == SHADOW_SAFE && r->last_ev.exposure_met &&
	    (v == JUDGE_INCONCLUSIVE || v == JUDGE_TIMEOUT)) {
		v = JUDGE_HEALTHY;
		by_paired = true;
	}

	switch (v) {
	case JUDGE_HARMFUL:
		/* Harm rolls back in any live phase, paused included. */
		set_reason_ev(r, "harmful");
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		break;
	case JUDGE_UNTRUSTED:
		/*
		 * The judge keeps its harm tests running while untrusted (harm
		 * still rolls back above); and the step's maximum time runs on:
		 * a candidate that cannot be judged is not left in place past
		 * it.
		 */
		if (r->plan.step[r->step].max_ms &&
		    ev->now_ms - r->step_start_ms >= r->plan.step[r->step].max_ms) {
			set_reason_ev(r, "withdrawn: untrusted beyond the step's maximum time");
			roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		} else if (r->phase == ROLLOUT_PROGRESSING) {
			set_reason_ev(r, "paused, split untrusted");
			r->phase = ROLLOUT_PAUSED;
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		break;
	case JUDGE_TIMEOUT:
		/* A step proven healthy and held by a gate waits for the gate. */
		if (r->phase != ROLLOUT_PROGRESSING || r->gate)
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
		if (r->phase != ROLLOUT_PROGRESSING || r->gate)
			break;
		/*
		 * At 100 % nothing is left to compare against: the last step of
		 * a plan is the promotion itself, taken once the one before it
		 * is proven.
		 */
		if (r->step + 2 >= r->plan.nr_steps) {
			if (gated(r, ROLLOUT_GATE_PROMOTE)) {
				set_reason_healthy(r, "healthy, waiting for gate promote", by_paired);
				wait_gate(r, ROLLOUT_GATE_PROMOTE, ev->now_ms, acts);
			} else {
				set_reason_healthy(r, "promoted", by_paired);
				promote(r, ev->now_ms, acts);
			}
		} else if (gated(r, ROLLOUT_GATE_STEP)) {
			set_reason_healthy(r, "healthy, waiting for gate step", by_paired);
			wait_gate(r, ROLLOUT_GATE_STEP, ev->now_ms, acts);
		} else {
			set_reason_healthy(r, "advanced", by_paired);
			advance(r, ev->now_ms, acts);
		}
		break;
	default:
		break;
	}
	return 0;
}

static int handle_gate_result(struct rollout *r, const struct rollout_event *ev,
			      struct rollout_actions *acts)
{
	const char *name = rollout_gate__name(ev->gate);
	const char *detail = ev->detail && ev->detail[0] ? ev->detail : "no detail";

	/* A late answer for a gate no longer waited on changes nothing. */
	if ((r->phase != ROLLOUT_PROGRESSING && r->phase != ROLLOUT_PAUSED) ||
	    r->gate == ROLLOUT_GATE_NONE || ev->gate != r->gate || r->gate_passed)
		return -EINVAL;
	switch (ev->result) {
	case ROLLOUT_GATE_PASS:
		if (r->phase == ROLLOUT_PAUSED) {
			/* Paused by an operator or the judge: the pass waits for resume. */
			r->gate_passed = true;
			snprintf(r->reason, sizeof(r->reason),
				 "gate %s passed while paused; resume to go on", name);
			act(acts, ROLLOUT_ACT_PERSIST, 0);
			return 0;
		}
		open_gate(r, ev->now_ms, acts);
		return 0;
	case ROLLOUT_GATE_NOT_YET:
		snprintf(r->reason, sizeof(r->reason), "waiting for gate %s: not yet (%s)", name,
			 detail);
		return 0;
	case ROLLOUT_GATE_FAILED:
		if (r->plan.on_gate_failure == ROLLOUT_GATE_ROLLBACK) {
			snprintf(r->reason, sizeof(r->reason), "gate %s failed (%s); rolled back",
				 name, detail);
			roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
			return 0;
		}
		snprintf(r->reason, sizeof(r->reason),
			 "gate %s failed (%s); held: resume asks again, promote or abort decide",
			 name, detail);
		if (r->phase == ROLLOUT_PROGRESSING) {
			r->phase = ROLLOUT_PAUSED;
			act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_PAUSED);
		}
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	}
	return -EINVAL;
}

int rollout__handle(struct rollout *r, const struct rollout_event *ev,
		    struct rollout_actions *acts)
{
	bool live = r->phase == ROLLOUT_PROGRESSING || r->phase == ROLLOUT_PAUSED;

	acts->nr = 0;
	switch (ev->type) {
	case ROLLOUT_EV_START:
		/* Entity steps own the pin rules: no other set with them. */
		if (r->phase != ROLLOUT_IDLE || (ev->nr_pins && r->plan.nr_entities))
			return -EINVAL;
		r->phase = ROLLOUT_PROGRESSING;
		r->start_ms = r->last_ms = r->step_start_ms = ev->now_ms;
		r->nr_pins = ev->nr_pins;
		if (gated(r, ROLLOUT_GATE_START)) {
			/* Loaded and checked, but no traffic until the gate passes. */
			snprintf(r->reason, sizeof(r->reason), "waiting for gate start");
			wait_gate(r, ROLLOUT_GATE_START, ev->now_ms, acts);
			return 0;
		}
		snprintf(r->reason, sizeof(r->reason), "started");
		begin(r, ev->now_ms, acts);
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
		if (r->gate && r->gate_passed) {
			open_gate(r, ev->now_ms, acts);
		} else if (r->gate) {
			/* Held at a gate (failed, or paused while waiting): ask again. */
			snprintf(r->reason, sizeof(r->reason),
				 "resumed by operator, waiting for gate %s", rollout_gate__name(r->gate));
			wait_gate(r, r->gate, ev->now_ms, acts);
		} else {
			act(acts, ROLLOUT_ACT_PERSIST, 0);
		}
		return 0;
	case ROLLOUT_EV_PROMOTE:
		if (!live)
			return -EINVAL;
		if (ev->detail)
			snprintf(r->reason, sizeof(r->reason), "%s", ev->detail);
		else
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
		snprintf(r->reason, sizeof(r->reason), "%s",
			 ev->detail ? ev->detail : "reverted to the previous stable by operator");
		act(acts, ROLLOUT_ACT_REVERT, 0);
		act(acts, ROLLOUT_ACT_NOTIFY, ROLLOUT_N_REVERTED);
		act(acts, ROLLOUT_ACT_PERSIST, 0);
		return 0;
	case ROLLOUT_EV_FAILED:
		if (r->phase == ROLLOUT_IDLE || r->phase == ROLLOUT_FAILED)
			return -EINVAL;
		/* A promotion that failed left the old stable in place: no revert. */
		r->has_previous = false;
		snprintf(r->reason, sizeof(r->reason), "%s",
			 ev->detail ? ev->detail : "datapath failure; last good state restored");
		roll_back(r, ROLLOUT_FAILED, ROLLOUT_N_FAILED, ev->now_ms, acts);
		return 0;
	case ROLLOUT_EV_WITHDRAWN:
		if (!live)
			return -EINVAL;
		snprintf(r->reason, sizeof(r->reason), "%s",
			 ev->detail ? ev->detail : "rolled back: the candidate was found withdrawn");
		roll_back(r, ROLLOUT_ROLLED_BACK, ROLLOUT_N_ROLLED_BACK, ev->now_ms, acts);
		return 0;
	case ROLLOUT_EV_GATE_RESULT:
		return handle_gate_result(r, ev, acts);
	case ROLLOUT_EV_SHADOW:
		return handle_shadow(r, ev, acts);
	case ROLLOUT_EV_PINS:
		if (!live || r->plan.nr_entities)
			return -EINVAL;
		/*
		 * Held at the start gate or shadowing: nothing is in the
		 * datapath yet; go_live() sets them.
		 */
		if (r->gate == ROLLOUT_GATE_START || r->shadowing) {
			r->nr_pins = ev->nr_pins;
		} else if (ev->nr_pins) {
			r->nr_pins = ev->nr_pins;
			act(acts, ROLLOUT_ACT_SET_PINS, ev->nr_pins);
		} else {
			clear_pins(r, acts);
		}
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

const char *rollout_gate__name(enum rollout_gate g)
{
	static const char *const names[] = { NULL, "start", "step", "promote" };

	return (unsigned)g < sizeof(names) / sizeof(names[0]) ? names[g] : NULL;
}
