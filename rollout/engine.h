/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rollout engine: a deterministic state machine. Events in (a counter
 * tick, an operator command), actions out (write a share, fill or clear a
 * slot, promote, notify, persist). No system calls, no clock: time comes in
 * with the events, so the same events always give the same actions, and a
 * daemon that persists struct rollout (plain data) resumes it exactly.
 *
 *   idle -> progressing(step k) <-> paused -> promoted | rolled_back | aborted | failed
 *
 * The shadow phase (plan.shadow_ms > 0) comes first, at share 0: the
 * candidate is in slot 1 (so a later step can use it) but gets no traffic
 * and no pin rule; the shell replays sampled packets through shadow
 * instances (ROLLOUT_ACT_SHADOW on/off) and sends the paired test's
 * decision (rollout/shadow.h) as ROLLOUT_EV_SHADOW. Harmful rolls back;
 * safe (once a step's bake time, at most the shadow time, has passed: the
 * first samples may be of one kind of traffic only), or the shadow time
 * over with weak, undecided or too early safe evidence, goes on
 * to the warm-up and step 0 (the live judge then decides: weak evidence
 * never rolls back).
 *
 * Approval gates hold progress, never safety: where the plan has a gate (before
 * the start, before each share increase, before the promotion), the engine
 * stays where it is with r->gate set, asks the shell for the gate
 * (ROLLOUT_ACT_ASK_GATE) and moves on only on a ROLLOUT_EV_GATE_RESULT that
 * passes it. Meanwhile the judge keeps watching (harm still rolls back) and
 * operator commands keep working (promote and abort decide over the gate).
 */
#ifndef CANARY_ROLLOUT_ENGINE_H
#define CANARY_ROLLOUT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "entity.h"
#include "judge.h"

#define ROLLOUT_MAX_STEPS 16

enum rollout_phase {
	ROLLOUT_IDLE,
	ROLLOUT_PROGRESSING,
	ROLLOUT_PAUSED,
	ROLLOUT_PROMOTED,	/* the candidate is the stable version now */
	ROLLOUT_ROLLED_BACK,	/* by the judge or the circuit breaker */
	ROLLOUT_ABORTED,	/* by an operator: abort or revert */
	ROLLOUT_FAILED,		/* the datapath could not be driven; last good state restored */
};

/* What to do when a step's maximum duration runs out undecided. */
enum rollout_on_timeout {
	ROLLOUT_TIMEOUT_PAUSE,		/* attended: wait for an operator */
	ROLLOUT_TIMEOUT_ROLLBACK,	/* unattended: not proven safe, so back */
};

struct rollout_step {
	__u32 share_bp;		/* candidate share, basis points */
	__u64 min_bake_ms;
	__u64 max_ms;		/* 0: no limit */
	__u64 min_packets;	/* candidate packets, hash-split class */
};

/* Points where an approval gate may hold the rollout. */
enum rollout_gate {
	ROLLOUT_GATE_NONE,
	ROLLOUT_GATE_START,	/* before any traffic reaches the candidate */
	ROLLOUT_GATE_STEP,	/* before each share increase */
	ROLLOUT_GATE_PROMOTE,	/* before the promotion */
};

#define ROLLOUT_GATE_BIT(g) (1U << (g))

/* What a gate that failed (errors beyond its retries) does. */
enum rollout_gate_policy {
	ROLLOUT_GATE_HOLD,	/* pause at the gate: an operator resumes (asks again), promotes or aborts */
	ROLLOUT_GATE_ROLLBACK,	/* no approval, no candidate: roll back */
};

enum rollout_gate_result {
	ROLLOUT_GATE_PASS,	/* approved (HTTP 2xx) */
	ROLLOUT_GATE_NOT_YET,	/* not yet (HTTP 4xx): still waiting, asked again */
	ROLLOUT_GATE_FAILED,	/* errors beyond the retries (5xx, timeout, no connection) */
};

struct rollout_plan {
	__u32 nr_steps;
	struct rollout_step step[ROLLOUT_MAX_STEPS];
	enum rollout_on_timeout on_timeout;
	__u64 breaker_budget;	/* aborted + invalid verdicts before the kernel stops the slot */
	__u32 gates;		/* ROLLOUT_GATE_BIT()s of the gates configured */
	enum rollout_gate_policy on_gate_failure;
	/*
	 * Share 0 for this long after the start (the candidate loaded, no
	 * traffic), and up to twice as long until step 0's strata hold twice
	 * its min_packets: the judge's baseline. rollout_plan__parse() sets
	 * the step time; 0 = none (the judge then has no per-stratum
	 * baseline and relies on the dispersion alone: less power).
	 */
	__u64 warmup_ms;
	/* The shadow phase before the warm-up; 0: none. */
	__u64 shadow_ms;
	/*
	 * Paired evidence in the live steps (warm-up included): the shell
	 * keeps shadow instances and replays a few sampled packets each
	 * tick (ROLLOUT_ACT_SHADOW 2 at every step), and sends the paired
	 * decision as ROLLOUT_EV_SHADOW. Harmful rolls back; safe proves a
	 * step once the split judge's exposure is met, however the split
	 * test stands. rollout__init() gives the split judge and the paired
	 * tests alpha / 2 each (docs/JUDGE.md, "Paired evidence in live steps").
	 */
	bool shadow_live;
	/*
	 * Entity steps ("pin:NAME" in the step list), before the warm-up and
	 * the shares, in this order: the shell holds each entity's rules.
	 */
	__u32 nr_entities;
	char entity[ROLLOUT_MAX_ENTITIES][ROLLOUT_ENTITY_LEN];
};

enum rollout_event_type {
	ROLLOUT_EV_START,	/* begin: the candidate was loaded and checked */
	ROLLOUT_EV_TICK,	/* a counter read */
	ROLLOUT_EV_PAUSE,
	ROLLOUT_EV_RESUME,
	ROLLOUT_EV_PROMOTE,	/* operator (or a reconcile): promote now */
	ROLLOUT_EV_ABORT,	/* operator: roll back now */
	ROLLOUT_EV_REVERT,	/* operator: after a promotion, back to the previous stable */
	/*
	 * The datapath refused an action of the transition just made (a
	 * promotion or a rollback included: a promotion whose kernel write
	 * failed is not "promoted"), or the interface went away. Back to
	 * stable only (share 0, slot 1 emptied: the shell applies these
	 * without stopping at a failure), phase failed, notified, persisted.
	 * Valid in every phase but idle and failed.
	 */
	ROLLOUT_EV_FAILED,
	ROLLOUT_EV_GATE_RESULT,	/* the answer to ROLLOUT_ACT_ASK_GATE */
	/* A restart found the candidate withdrawn (a rollback not persisted). */
	ROLLOUT_EV_WITHDRAWN,
	/*
	 * An operator replaced the running rollout's pin rule set (nr_pins
	 * rules, 0: none): the shell holds the rules, the engine says when
	 * they go into the datapath. Valid while progressing or paused.
	 */
	ROLLOUT_EV_PINS,
	/*
	 * The paired test's decision now (shadow_decision, enum
	 * shadow_decision) and detail: for a harm the metric, the matrix cell
	 * and its count, else the samples and fidelity. Valid while
	 * progressing or paused; in the shadow phase it decides the phase,
	 * in the live steps of a plan with shadow_live it is the step's
	 * paired evidence (harmful rolls back, safe is kept for the ticks);
	 * otherwise ignored (0, no action).
	 */
	ROLLOUT_EV_SHADOW,
};

struct rollout_event {
	enum rollout_event_type type;
	__u64 now_ms;			/* monotonic time of the event */
	/* ROLLOUT_EV_TICK: hash-split deltas since the previous tick. */
	struct judge_sample stable, cand;
	/*
	 * ROLLOUT_EV_TICK: CANARY_STRATA per-stratum verdict deltas since the
	 * previous tick (hash-split, all versions), or NULL: the judge then
	 * treats packets as independent (struct judge_input).
	 */
	const struct canary_stratum *strata;
	bool breaker_tripped;		/* the kernel stopped the candidate slot */
	/* ROLLOUT_EV_GATE_RESULT: which gate answered, how, and a few words why
	 * ("HTTP 403", "timeout after 3 retries") for the reason line. */
	enum rollout_gate gate;
	enum rollout_gate_result result;
	/*
	 * GATE_RESULT: as above. PROMOTE, FAILED, WITHDRAWN: the reason line
	 * when not NULL (who or what decided), else the engine's own.
	 */
	const char *detail;
	/* START, PINS: how many pin rules the shell holds for this rollout. */
	__u32 nr_pins;
	/* SHADOW: enum shadow_decision. */
	__u32 shadow_decision;
	/*
	 * TICK: the pinned class's deltas, every slot summed, and slot 0's
	 * alone (the entity steps' evidence).
	 */
	struct judge_sample pinned, pinned_stable;
};

enum rollout_action_type {
	ROLLOUT_ACT_FILL_SLOT,		/* candidate into slot 1 */
	ROLLOUT_ACT_ARM_BREAKER,	/* reset slot 1's breaker with arg = budget */
	ROLLOUT_ACT_SET_SHARE,		/* arg = basis points of slot 1 */
	ROLLOUT_ACT_CLEAR_SLOT,		/* empty slot 1 */
	ROLLOUT_ACT_PROMOTE,		/* candidate into slot 0; old stable kept as previous */
	ROLLOUT_ACT_REVERT,		/* previous stable back into slot 0 */
	ROLLOUT_ACT_NOTIFY,		/* arg = enum rollout_notice */
	ROLLOUT_ACT_PERSIST,		/* write struct rollout to disk */
	ROLLOUT_ACT_ASK_GATE,		/* arg = enum rollout_gate: ask until it answers */
	/*
	 * arg = number of rules: install the shell's pin rule set whole
	 * (after slot 1 is filled and its breaker armed), and remove it
	 * (before slot 1 is emptied).
	 */
	ROLLOUT_ACT_SET_PINS,
	ROLLOUT_ACT_CLEAR_PINS,
	/*
	 * arg = 1: begin the shadow phase (sampling on, shadow instances
	 * loaded; after slot 1 is filled, its breaker armed and the share set
	 * to 0); arg = 0: end it (sampling off, instances freed; before any
	 * share or slot change of the transition that ends it); arg = 2
	 * (plan.shadow_live): a live step begins (the warm-up included, after
	 * its share is set): keep or load the instances, sampling at the live
	 * rate, this step's paired evidence anew. arg = 0 ends that too.
	 */
	ROLLOUT_ACT_SHADOW,
	/*
	 * The entity steps' pin rule set, installed whole: the rules of the
	 * first ROLLOUT_ENTITY_COUNT(arg) entities of the plan, those before
	 * the last pointing at the candidate (slot 1), the last one's at
	 * ROLLOUT_ENTITY_SLOT(arg) (0 for its baseline, 1 when it is judged).
	 * The next read interval starts at the change. CLEAR_PINS removes it.
	 */
	ROLLOUT_ACT_SET_ENTITY,
};

#define ROLLOUT_ENTITY_ARG(count, slot) ((__u64)(slot) << 32 | (count))
#define ROLLOUT_ENTITY_COUNT(arg) ((__u32)(arg))
#define ROLLOUT_ENTITY_SLOT(arg) ((__u32)((arg) >> 32))

enum rollout_notice {
	ROLLOUT_N_STARTED,
	ROLLOUT_N_ADVANCED,
	ROLLOUT_N_PAUSED,
	ROLLOUT_N_RESUMED,
	ROLLOUT_N_PROMOTED,
	ROLLOUT_N_ROLLED_BACK,
	ROLLOUT_N_ABORTED,
	ROLLOUT_N_REVERTED,
	ROLLOUT_N_FAILED,
};

struct rollout_action {
	enum rollout_action_type type;
	__u64 arg;
};

#define ROLLOUT_MAX_ACTIONS 8

struct rollout_actions {
	__u32 nr;
	struct rollout_action a[ROLLOUT_MAX_ACTIONS];
};

#define ROLLOUT_REASON_LEN 512

/* The whole state of one interface's rollout: plain data, safe to persist. */
struct rollout {
	enum rollout_phase phase;
	struct rollout_plan plan;
	__u32 step;			/* index into plan.step */
	__u32 share_bp;			/* share written to the datapath */
	__u64 start_ms, step_start_ms, end_ms, last_ms;
	bool has_previous;		/* a promoted rollout can be reverted */
	bool warming;			/* in the share-0 warm-up before step 0 */
	bool shadowing;			/* in the shadow phase before the warm-up */
	__u32 shadow_decision;		/* the last enum shadow_decision received */
	bool paired;			/* live steps with paired evidence (plan.shadow_live) */
	__u32 paired_decision;		/* this step's latest, SHADOW_UNDECIDED at its start */
	char paired_detail[160];	/* its detail, for the reason line */
	struct judge_state judge;
	enum judge_verdict last_verdict;
	struct judge_evidence last_ev;	/* evidence of the latest judgement */
	char reason[ROLLOUT_REASON_LEN];	/* why the phase is what it is, one line */
	enum rollout_gate gate;		/* the gate waited on; NONE when none */
	bool gate_passed;		/* it passed while paused: resume goes through */
	__u64 gate_since_ms;		/* when the wait began */
	__u32 nr_pins;			/* pin rules of this rollout (in the datapath once begun) */
	/*
	 * The entity steps: under way (before the warm-up), the entity being
	 * stepped, each one's state (enum entity_state), judge and last
	 * evidence, and whether entity rules are in the datapath.
	 */
	bool entities_on;
	bool ent_pins;
	__u32 ent;
	__u32 ent_state[ROLLOUT_MAX_ENTITIES];
	struct entity_judge ej[ROLLOUT_MAX_ENTITIES];
	struct entity_evidence ent_ev[ROLLOUT_MAX_ENTITIES];
	struct {
		__u64 stable_packets, cand_packets;	/* hash-split, whole rollout */
		__u64 cand_aborted, cand_invalid, cand_drops, stable_drops;
	} totals;
};

/*
 * Parse "1,5,25,50,100" (percent, fractions allowed: "0.5") into a plan with
 * the given per-step times. Shares must rise strictly and end at 100; the
 * 100 % step is the promotion, taken when the step before it is proven
 * healthy (at 100 % there is no stable traffic left to compare with).
 * Entity steps "pin:NAME" (NAME: 1 to 31 letters, digits, '_', '-' or '.',
 * each once, at most ROLLOUT_MAX_ENTITIES) may come first, before any
 * share. 0 or -EINVAL. The shell checks the names against its entities
 * (rollout_plan__entity() finds one).
 */
int rollout_plan__parse(struct rollout_plan *plan, const char *steps, __u64 min_bake_ms,
			__u64 max_ms, __u64 min_packets);

/* The index of entity NAME in PLAN's entity steps, or -1. */
int rollout_plan__entity(const struct rollout_plan *plan, const char *name);

/*
 * A rollout in idle phase. 0, or -EINVAL for a bad plan or judge config.
 * With plan->shadow_live the judge runs at jcfg->alpha / 2 (the other half
 * is the paired tests', rollout__paired_alpha()).
 */
int rollout__init(struct rollout *r, const struct rollout_plan *plan,
		  const struct judge_config *jcfg);

/*
 * Feed one event. Fills ACTS with what the shell must do, in order. Returns
 * 0, or -EINVAL when the event makes no sense in this phase (e.g. resume
 * when not paused): the state is then unchanged and no action is produced.
 */
int rollout__handle(struct rollout *r, const struct rollout_event *ev,
		    struct rollout_actions *acts);

bool rollout__done(const struct rollout *r);
/* The alpha of each paired test in the live steps: the judge's (halved) alpha. */
double rollout__paired_alpha(const struct rollout *r);
const char *rollout_phase__name(enum rollout_phase p);
const char *rollout_notice__name(enum rollout_notice n);
/* "start", "step", "promote" (config keys and status); NULL for NONE. */
const char *rollout_gate__name(enum rollout_gate g);

#endif
