/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shadow evidence: sampled packets replayed through shadow instances of
 * stable and the candidate, as a paired verdict matrix (stable rows,
 * candidate columns, enum canary_verdict, as canaryctl preflight shows it),
 * the replay's fidelity, and one anytime-valid paired test per harm metric.
 * Pure: plain data in, plain data out, no system call.
 *
 * The paired test. Each replayed sample gives, per metric, X = +1 when the
 * pair moves in the harmful direction (drop up: stable did not drop, the
 * candidate did), -1 when it moves back (stable dropped, the candidate did
 * not) and 0 when the pair agrees on it; E[X] is the candidate's rate of the
 * metric minus stable's. H0 "no harm beyond the tolerance" is E[X] <= tol,
 * tested with the betting e-process K = prod(1 + l (X - tol)), averaged
 * over a fixed grid of SHADOW_LAMBDAS bets l in (0, 1/(1 + tol)): under H0
 * each K is a non-negative supermartingale, so is their average, and by
 * Ville's inequality P(sup K >= 1/alpha) <= alpha at whatever time the
 * phase looks (anytime-valid). Only the discordant pairs (X != 0) and, with
 * a tolerance, the concordant ones (a factor 1 - l tol) move it; the test
 * is exact for any sample count. "Safe" is the mirror test of H0' E[X] >=
 * tol with K' = prod(1 + l (tol - X)), l in (0, 1/(1 + tol)) too.
 */
#ifndef CANARY_ROLLOUT_SHADOW_H
#define CANARY_ROLLOUT_SHADOW_H

#include <stdbool.h>
#include <linux/types.h>

#include "canary_abi.h"

enum shadow_metric {
	SHADOW_DROP_UP,		/* the candidate drops what stable passes or sends */
	SHADOW_DROP_DOWN,	/* the candidate lets through what stable drops */
	SHADOW_PASS_DOWN,	/* the candidate passes less */
	SHADOW_ABORTED_UP,
	SHADOW_INVALID_UP,
	SHADOW_METRICS,
};

#define SHADOW_LAMBDAS 9
#define SHADOW_EXAMPLES 3
#define SHADOW_SUMMARY_LEN 160

struct shadow_example {
	__u64 index;		/* the sample's number in the phase, from 1 */
	char summary[SHADOW_SUMMARY_LEN];	/* canary_pkt__summary() of its frame */
};

struct shadow_cell {
	__u64 samples;
	__u32 n_examples;
	struct shadow_example ex[SHADOW_EXAMPLES];
};

struct shadow_params {
	double tolerance[SHADOW_METRICS];	/* absolute rate difference allowed, [0, 1) */
	double alpha;		/* error rate of each decision, (0, 1) */
	double min_fidelity;	/* below it the evidence is weak: no decision */
	__u64 min_samples;	/* no decision before this many samples */
};

struct shadow_test {
	__u64 up, down;		/* pairs with X = +1, X = -1 */
	double log_harm[SHADOW_LAMBDAS];	/* log K per bet */
	double log_safe[SHADOW_LAMBDAS];	/* log K' per bet */
};

struct shadow_evidence {
	/* [stable shadow verdict][candidate shadow verdict] */
	struct shadow_cell cell[CANARY_V_MAX][CANARY_V_MAX];
	struct shadow_cell rewritten;	/* same verdict, different bytes out */
	__u64 samples;
	__u64 faithful;		/* stable's shadow verdict == the live verdict */
	struct shadow_test test[SHADOW_METRICS];
};

enum shadow_decision {
	SHADOW_UNDECIDED,
	SHADOW_HARMFUL,		/* some metric's harm test rejected H0 */
	SHADOW_SAFE,		/* every metric proved within its tolerance */
	SHADOW_WEAK,		/* fidelity below min_fidelity: not judged */
};

/* Defaults: tolerance 0.01 for each metric, alpha 0.01, fidelity 0.99, 200 samples. */
void shadow_params__default(struct shadow_params *p);

/*
 * One replayed sample: LIVE the verdict the live version returned (enum
 * canary_verdict), VS and VC the shadow verdicts of stable and the
 * candidate, REWRITTEN when they agree but send different bytes on,
 * SUMMARY a line about the frame (kept as an example of a discordant or
 * rewritten cell, SHADOW_EXAMPLES per cell). Out-of-range verdicts count
 * as CANARY_V_INVALID.
 */
void shadow_evidence__add(struct shadow_evidence *e, const struct shadow_params *p, __u32 live,
			  __u32 vs, __u32 vc, bool rewritten, const char *summary);

/*
 * The same with the fidelity given: FAITHFUL when the shadow of the version
 * that served the sample returned its live verdict. A live step's pair is
 * (VS, VC) with the serving version's side its live verdict and the other
 * side its shadow's (shadow_live__pair()).
 */
void shadow_evidence__add_pair(struct shadow_evidence *e, const struct shadow_params *p,
			       bool faithful, __u32 vs, __u32 vc, bool rewritten,
			       const char *summary);

/*
 * A live step's sample, served by SLOT (0: stable) with verdict LIVE, and
 * replayed through the shadows of stable (SHADOW_S) and the candidate
 * (SHADOW_C): the pair (*VS, *VC) is what each version returns on these
 * bytes, the serving version's its live verdict (what the customer got),
 * the other's its shadow's; the result is whether the serving version's
 * shadow reproduced its live verdict (the fidelity of the other side's
 * counterfactual).
 */
bool shadow_live__pair(__u32 slot, __u32 live, __u32 shadow_s, __u32 shadow_c, __u32 *vs,
		       __u32 *vc);

/*
 * The live steps' decision: harm from ROLLOUT (the evidence of every live
 * step since the live pairing began: one e-process, anytime-valid across
 * steps, *METRIC the metric); else weak or safe from STEP (this step's
 * evidence alone, its own fidelity: a step is proven on its own samples);
 * else undecided. STEP's own harm test is not a decision (that would be a
 * test per step at the same alpha).
 */
enum shadow_decision shadow_live__decide(const struct shadow_evidence *rollout,
					 const struct shadow_evidence *step,
					 const struct shadow_params *p, enum shadow_metric *metric);

/* faithful / samples, 1 with no sample. */
double shadow_evidence__fidelity(const struct shadow_evidence *e);

/*
 * The decision now; *METRIC (may be NULL) the metric that decided a harm.
 * Harm wins over safety; weak evidence (enough samples, fidelity below
 * min_fidelity) is never a harm.
 */
enum shadow_decision shadow_evidence__decide(const struct shadow_evidence *e,
					     const struct shadow_params *p,
					     enum shadow_metric *metric);

/* The e-values now (the averages of K and K' over the bets). */
double shadow_test__harm_evalue(const struct shadow_test *t);
double shadow_test__safe_evalue(const struct shadow_test *t);

/* "drop_up", "drop_down", "pass_down", "aborted_up", "invalid_up"; NULL out of range. */
const char *shadow_metric__name(__u32 m);
/* "undecided", "harmful", "safe", "weak". */
const char *shadow_decision__name(__u32 d);

#endif
