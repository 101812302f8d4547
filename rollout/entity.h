/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The entity judge: one named rule set's (an entity's) own pinned traffic
 * before and after its rules move from stable to the candidate, with the
 * hash-split traffic (all on stable at share 0) as the concurrent control.
 * Pure: plain data in, plain data out, no system call; persisted as is.
 *
 * Why this comparison is fair: an entity's rules select the same flows in
 * both periods (its customers' persistent flows), so its rate under stable
 * in the baseline period is the rate the same flows have without the
 * candidate; pinned flows are not a random draw of the hash space, so
 * comparing them with stable's other traffic at the same time would not be.
 * The split traffic stays on stable through both periods: a change of its
 * rate is a common shock (time of day, an attack on everyone), divided out
 * (difference in differences on the log scale):
 *
 *   L = log(r_after / r_before) - log(c_after / c_before)
 *
 * r: the entity group's drop rate (entity.c smooths each rate by half an
 * event), c: the control's. The variance of each log rate comes from the
 * dispersion across read-interval bins of its own counts (the flows are the
 * same in both periods, so time is the one source of variation left), at
 * least the binomial one. L's interval is anytime-valid: a normal-mixture
 * (Robbins) boundary, so reading it at every interval keeps the level.
 *
 * Measured on the dispatcher's pinned class summed over every slot: while
 * an entity is judged, the entities passed before it stay on the
 * candidate, in both periods; so "before" and "after" are the same flow set
 * (those entities and this one) and only this entity's move differs.
 */
#ifndef CANARY_ROLLOUT_ENTITY_H
#define CANARY_ROLLOUT_ENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "judge.h"

#define ROLLOUT_MAX_ENTITIES 8
#define ROLLOUT_ENTITY_LEN 32

enum entity_state {
	ENTITY_PENDING,		/* its step not reached */
	ENTITY_BASELINE,	/* its rules point at stable: its own baseline */
	ENTITY_JUDGING,		/* its rules point at the candidate: compared */
	ENTITY_PASSED,		/* proven no worse: its rules stay on the candidate */
	ENTITY_HARMFUL,		/* rolled back at this entity */
};

/* Counts of one period: events X of opportunities N, and their bins' sums. */
struct entity_period {
	double n, x;
	double xx, xn, nn;	/* sums over read intervals of x^2, x n, n^2 */
	__u32 bins;		/* read intervals with packets */
	__u32 pad;
};

struct entity_judge {
	struct entity_period e[2];	/* the entity group: [0] before, [1] after */
	struct entity_period c[2];	/* the control (hash-split) */
	/*
	 * The entity's own baseline: its packets and drops under stable (the
	 * pinned class of slot 0, where only its rules point then).
	 */
	double own_n, own_x;
};

struct entity_config {
	double harm_alpha;	/* this entity's harm test (a share of the judge's alpha) */
	double safe_alpha;	/* its safety proof */
	double rho0;		/* a ratio up to rho0 is not harm */
	double rho1;		/* healthy needs the ratio proven below rho1 */
	double floor;		/* or the rate proven below this absolute per-packet rate */
	bool up, down;		/* directions judged */
	__u64 min_events;	/* control events per period before it is used */
};

enum entity_verdict {
	ENTITY_V_WAIT,
	ENTITY_V_HEALTHY,
	ENTITY_V_HARMFUL,
};

struct entity_evidence {
	enum entity_verdict verdict;
	__u64 n_before, x_before, n_after, x_after;	/* the entity group */
	__u64 cn_before, cx_before, cn_after, cx_after;	/* the control */
	double rate_before, rate_after;	/* x / n (0 without packets) */
	double ctl_before, ctl_after;
	bool control;			/* the control was used (enough events) */
	double ratio;			/* exp(L): after/before, control divided out */
	double lo, hi;			/* its anytime-valid interval at safe_alpha */
	enum judge_dir dir;		/* the direction of the harm or the nearest one */
	double log_e, threshold;	/* its harm test: log mixture LR against log(1/alpha) */
	char by[24];			/* what decided: "drop up", "drop down", "ratio", "floor" */
};

/*
 * The entity configuration for entity K of NR from the judge's: drop-rate
 * tolerances and directions; the harm alpha is alpha / (2 NR) (Bonferroni
 * over the entities, half the judge's alpha for them all), the safety
 * alpha the judge's per-step alpha.
 */
void entity_config__from_judge(struct entity_config *ec, const struct judge_config *jc,
			       __u32 nr);

/*
 * One read interval into period HALF (0 before, 1 after): the entity
 * group's pinned deltas (every slot), the pinned deltas of slot 0 (the
 * entity alone in its baseline) and the control's (hash-split, all
 * versions).
 */
void entity_judge__add(struct entity_judge *j, int half, const struct judge_sample *pinned,
		       const struct judge_sample *pinned_stable, const struct judge_sample *split);

/*
 * The baseline (period 0) is precise enough for a proof: the interval its
 * own variance (the entity's and the control's) would give with an after
 * period as precise is narrower than rho1, or its rate is shown below
 * half the floor. Until then the baseline goes on (at most a few step
 * times: the engine decides).
 */
bool entity_judge__baseline_ready(const struct entity_judge *j, const struct entity_config *ec);

/*
 * Packets of the after period that, at the group's composition in the
 * baseline, are the entity's own: the after period's exposure.
 */
double entity_judge__own_after(const struct entity_judge *j);

/*
 * The verdict now. EXPOSED: the after period has had its bake time and
 * minimum packets (healthy waits for it; harm does not). EV receives the
 * evidence (may be NULL).
 */
enum entity_verdict entity_judge__decide(const struct entity_judge *j,
					 const struct entity_config *ec, bool exposed,
					 struct entity_evidence *ev);

/*
 * "entity NAME: drop rate 3.2x its own baseline (0.01% -> 49.8% of 5000 ->
 * 4900 packets; split control 1.00x); log e 25.3 >= 7.6". 0 or -ENOSPC.
 */
int entity_evidence__format(const char *name, const struct entity_evidence *ev, char *buf,
			    size_t len);

const char *entity_state__name(enum entity_state s);

#endif
