/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The judge: per-interval counter deltas of the stable (S) and candidate (C)
 * versions in, a verdict with its evidence out. The statistics are described
 * in JUDGE.md; judge.c explains the choices made where it leaves room.
 *
 * Pure: no system calls, no clock (time is an argument), no allocation, no
 * global state. struct judge_state is plain data (fixed arrays, no pointers):
 * a daemon may fwrite() it and fread() it back to resume exactly where it was.
 *
 * Use: judge_config__defaults(), adjust, judge__init(); then each read
 * interval judge__update_strata() with that interval's per-stratum deltas
 * (struct judge_input); judge__new_step() whenever the candidate's share
 * changes. Intervals with share 0 before the first step are the baseline
 * (each stratum's own rates under stable). judge__update() is the old entry
 * without strata: it judges the packets as if they were independent.
 * docs/JUDGE.md has the method.
 */
#ifndef CANARY_JUDGE_H
#define CANARY_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "canary_abi.h"

enum judge_verdict {
	JUDGE_INCONCLUSIVE,	/* nothing decided yet: keep waiting */
	JUDGE_HEALTHY,		/* this step is proven safe and fully exposed: may advance */
	JUDGE_HARMFUL,		/* roll back; latched until judge__init() */
	JUDGE_UNTRUSTED,	/* the split or the counters look wrong: pause and alert */
	JUDGE_TIMEOUT,		/* the step's maximum duration ran out undecided */
};

/* What is compared: events x out of opportunities n, per version. */
enum judge_metric {
	JUDGE_METRIC_DROP,	/* drops per packet */
	JUDGE_METRIC_PASS,	/* passes per packet */
	JUDGE_METRIC_ABORT,	/* aborts per packet */
	JUDGE_METRIC_SLOW,	/* cost samples above the slow threshold per cost sample */
	JUDGE_NR_METRICS,
};

/* UP: the candidate's rate being higher is the harm; DOWN: being lower. */
enum judge_dir {
	JUDGE_DIR_UP,
	JUDGE_DIR_DOWN,
	JUDGE_NR_DIRS,
	JUDGE_DIR_NONE = JUDGE_NR_DIRS,
};

/* Which test an evidence record comes from. */
enum judge_test {
	JUDGE_TEST_HARM,	/* mixture SPRT of H0: ratio <= rho0 */
	JUDGE_TEST_SAFETY,	/* mixture SPRT of H0': ratio >= rho1 (this step only) */
	JUDGE_TEST_EXACT,	/* exact conditional binomial test (aborts) */
	JUDGE_TEST_LIMIT,	/* hard limit: invalid verdicts */
	JUDGE_TEST_BUDGET,	/* excess events against an absolute budget */
	JUDGE_TEST_SRM,		/* sample-ratio mismatch of the split (this step only) */
	JUDGE_TEST_INPUT,	/* inconsistent input: share > 10000 bp, events > opportunities */
	JUDGE_TEST_EXPOSURE,	/* minimum exposure of the step not reached yet */
	JUDGE_TEST_FLOOR,	/* safety by an absolute bound: event rate below the floor */
	JUDGE_TEST_BASELINE,	/* still learning the strata's baselines (share 0) */
};

/* Number of points of each mixture grid. */
#define JUDGE_GRID 15
/* Split-check bins of the path without strata (judge__update()). */
#define JUDGE_BINS 64
/* Metrics counted per stratum: drop, pass, abort (the first three). */
#define JUDGE_SM 3
/* Snapshots of the learnt baselines kept (judge.c, JUDGE_SNAP_MIN_MS). */
#define JUDGE_SNAPS 4
#define JUDGE_STRATA CANARY_STRATA
/* Room for every evidence record judge__update() can produce. */
#define JUDGE_MAX_EVIDENCE 32
#define JUDGE_NAME_LEN 12

/* One version's hash-split counter deltas over one read interval. */
struct judge_sample {
	__u64 packets;
	__u64 drops;
	__u64 aborts;
	__u64 passes;
	__u64 invalid;		/* verdicts outside XDP_ABORTED..XDP_REDIRECT */
	__u64 cost_samples;	/* packets whose cost was sampled */
	__u64 slow;		/* unused by the judge now (kept for callers) */
	__u64 cost_ns;		/* sum of the sampled costs */
	__u64 cost_hist[CANARY_COST_BUCKETS];	/* log2 ns buckets of the sampled costs */
};

/*
 * One read interval. STRATA: CANARY_STRATA per-stratum verdict deltas of the
 * hash-split class over the interval (all versions), or NULL (then the
 * packets are judged as independent, as judge__update() does). The
 * candidate serves the strata [0, share_bp / CANARY_STRATUM_BP). STABLE and
 * CAND: the versions' aggregate hash-split deltas (invalid verdicts, cost,
 * and the packets that check the split against the strata).
 */
struct judge_input {
	const struct canary_stratum *strata;
	const struct judge_sample *stable;
	const struct judge_sample *cand;
	__u32 share_bp;
	__u64 now_ms;		/* end of the interval, ms since the rollout started */
};

struct judge_metric_cfg {
	bool up;		/* judge "candidate higher" as harm */
	bool down;		/* judge "candidate lower" as harm */
	bool prove;		/* promotion needs the safety proof in each judged direction */
	double rho0;		/* harm tolerance: a ratio up to rho0 is not harm */
	double rho1;		/* safety margin: healthy needs proof the ratio is below rho1 */
	double budget;		/* excess candidate events that roll back; 0 = no budget */
	/*
	 * Absolute bound: a direction is also proven safe when the candidate's
	 * event rate (up) or the rate stable would have had on the
	 * candidate's strata (down) is shown below this per-packet rate;
	 * 0 = none. A filter that drops nothing is promotable.
	 */
	double floor;
};

struct judge_config {
	double alpha;		/* false-harmful rate per rollout and false-healthy per step */
	double srm_alpha;	/* split check: false-untrusted rate per step (anytime-valid) */
	/*
	 * Relative departure of the candidate's packet share from the
	 * configured share that is not a mismatch (0.2: 5 % may be 4..6 %):
	 * the flow hash splits a finite set of flows, not packets.
	 */
	double srm_tolerance;
	double abort_alpha;	/* exact abort test p-value threshold (a hard limit) */
	double abort_rho0;	/* abort-rate ratio the exact test tolerates */
	bool invalid_limit;	/* any invalid verdict from the candidate is harmful */
	double deff;		/* design effect of the metrics: 0 = estimate, else >= 1 */
	double srm_deff;	/* design effect of the packet split: 0 = estimate, else >= 1 */
	__u64 min_cand_packets;	/* per step, before it can be healthy */
	__u64 min_events;	/* per step and proven metric, stable + candidate events */
	__u64 min_bake_ms;	/* per step */
	__u64 max_step_ms;	/* 0 = no limit; else JUDGE_TIMEOUT after it */
	/*
	 * Read intervals longer than this (or time running backwards) are
	 * skipped and counted: a clock jump is not evidence.
	 */
	__u64 max_gap_ms;
	struct judge_metric_cfg metric[JUDGE_NR_METRICS];
};

/*
 * The evidence of one test, stat against threshold:
 *   mixture tests: log(Lambda) (once decided, its value at the crossing)
 *     against log(1/alpha_i); p = min(1, 1/max Lambda), anytime-valid;
 *   exact abort test: -log(p) against -log(abort_alpha);
 *   split: the chi-square after the design effect against the chi-square at
 *     which the anytime-valid boundary gives 1/srm_alpha (see judge.c);
 *   budget: excess candidate events against the budget;
 *   hard limit: invalid verdicts against 0.
 * "decided" means the stat crossed (a budget or hard limit: exceeded) it.
 * p_fixed is the one-look p-value of the same counts, for reference: the
 * exact conditional binomial test, or the chi-square.
 */
struct judge_test_ev {
	char metric[JUDGE_NAME_LEN];	/* "drop", "pass", "abort", "slow", "invalid", "split" */
	enum judge_metric metric_id;
	enum judge_dir dir;
	enum judge_test test;
	__u64 x_c, x_s;		/* events (for the split: packets) */
	__u64 n_c, n_s;		/* opportunities (for the split: packets) */
	double rate_c, rate_s;	/* x / n (for the split: observed and expected share) */
	double ratio;		/* observed rate ratio in the test's direction */
	double rho;		/* the hypothesis boundary: rho0, rho1, or the share */
	double stat;
	double threshold;
	double p;		/* the decision's p: anytime-valid where the test is looked at often */
	double p_fixed;		/* one-look p for reference: exact binomial or chi-square */
	double deff;		/* design effect used */
	__u32 trimmed;		/* the candidate's outlying strata left out (stable has as many) */
	bool ready;		/* enough data to estimate deff: the test may decide */
	bool decided;
};

struct judge_evidence {
	enum judge_verdict verdict;
	struct judge_test_ev decision;	/* the test that decided, or the one furthest from it */
	__u32 step;			/* steps since judge__init() */
	__u64 step_ms;			/* time in this step */
	__u64 step_cand_packets;
	bool exposure_met;
	/*
	 * Low traffic: candidate packets per hour seen in this step, and per
	 * hour needed to reach min_cand_packets within max_step_ms. unreachable:
	 * at the rate seen the step cannot be exposed in time (it will time
	 * out; that is never harm).
	 */
	double cand_pph, need_pph;
	bool unreachable;
	__u64 bad_reads;	/* intervals skipped: inconsistent or implausible counts */
	__u64 bad_times;	/* intervals skipped: time backwards or a jump */
	__u32 nr_tests;
	struct judge_test_ev tests[JUDGE_MAX_EVIDENCE];	/* every enabled test */
};

/* Counts of one metric, summed over some span. */
struct judge_counts {
	__u64 x_c, x_s, n_c, n_s;
};

/*
 * Sums of one metric over the candidate's strata while it served them:
 * observed events X, events expected from the strata's own baselines and
 * stable's common shock E, stable's expected events over the same intervals
 * ES (for the uncertainty of the shock), and the candidate's packets N.
 */
struct judge_sums {
	double x, e, es, n;
	double v;	/* within-interval binomial variance of x: sum n r (1 - r) */
};

/* Vestigial: canaryd/state.c checks nr <= JUDGE_BINS; always 0 now. */
struct judge_bins {
	__u32 nr;
};

struct judge_metric_state {
	struct judge_counts total;		/* since judge__init(), for the record */
	struct judge_counts step;		/* since judge__new_step() */
	struct judge_sums sum;			/* candidate sums since the baseline froze */
	struct judge_sums ssum;			/* this step's */
	double phi;				/* dispersion since the freeze (>= 1) */
	double sphi;				/* dispersion over this step */
	double vr, svr;				/* the candidate's variance per expected event */
	double harm_max[JUDGE_NR_DIRS];		/* running maximum of log(Lambda) */
	double safe_max[JUDGE_NR_DIRS];		/* this step's, relative and floor */
	double floor_max[JUDGE_NR_DIRS];
	double excess;				/* x - e since the baseline froze */
	/*
	 * The part of the candidate's residual carried by its outlying strata
	 * when stable's own outliers explain them, left out of the tests, and
	 * how many strata that is: for each harm test (since the freeze) only
	 * those on its side, for the safety tests (this step's) the largest.
	 */
	double trim[JUDGE_NR_DIRS], strim;
	__u32 nr_trim[JUDGE_NR_DIRS], nr_strim;
	/*
	 * The calibration since the freeze (calibrate()): events of a stratum
	 * a + b times the model's expectation, for the shrunk strata [0] and
	 * those that kept their own rate [1], and the correction it made to
	 * the sums' expected events (since the freeze; this step's).
	 */
	double cal_a[2], cal_b[2];
	double adj, sadj;
	struct judge_bins bins;
};

/*
 * One stratum: its baseline (packets and event rates while stable served
 * it in the share-0 intervals; rates after the freeze), and, while stable
 * serves it, its residual and expected events since the freeze: the
 * placebo sample of what the candidate's strata do without a candidate.
 */
struct judge_stratum {
	/* Learning, while stable serves it: packets and events, decayed (JUDGE_BASE_TAU_MS). */
	float dn, dx[JUDGE_SM];
	/*
	 * The same as they stood at each of the last JUDGE_SNAPS snapshots,
	 * decayed since: the earlier time block of the cross-validation
	 * (dn - en[k]: the later one).
	 */
	float en[JUDGE_SNAPS], ex[JUDGE_SNAPS][JUDGE_SM];
	/* Frozen when the share last grew (its cohort's baseline if it then moved). */
	float base_n;
	float half_n;		/* scratch of the freeze */
	float half[JUDGE_SM];
	float base[JUDGE_SM];	/* shrunk rates */
	float pm[JUDGE_SM];	/* prior packets it was shrunk with (0: its own rate) */
	/* Since that freeze. */
	float r[JUDGE_SM];	/* sum of x - e */
	float sr[JUDGE_SM];	/* the same since the step began (the candidate's strata) */
	float w[JUDGE_SM];	/* sum of the within-interval binomial variance n r (1 - r) */
	float e[JUDGE_SM];	/* sum of e: the model's expectation */
	float n;		/* packets */
	__u16 cohort;		/* freeze at which it moved to the candidate; JUDGE_STABLE */
	__u16 own;		/* bit m: metric m's baseline is its own rate (not shrunk) */
};
#define JUDGE_STABLE 0xffff

/* Cost: sampled-cost sums of both versions over the same intervals. */
struct judge_cost {
	double n_c, s_c, q_c;	/* samples, sum of ns, sum of squares (from the histogram) */
	double n_s, s_s, q_s;
	double max_llr;
};

struct judge_srm_bin {
	double n_c, n;	/* candidate and all packets */
	double e_c, v;	/* expected candidate packets and their binomial variance */
	double t;	/* intervals */
};

struct judge_state {
	struct judge_config cfg;
	/* Derived from cfg by judge__init(). */
	double grid_log[JUDGE_GRID];		/* log of the grid's factors, > 0 */
	double log_w[JUDGE_GRID];		/* mixture weights */
	double harm_log_thr;	/* log(1/alpha_i) of each harm test */
	double safe_log_thr;	/* log(1/alpha_i) of each safety test */

	struct judge_metric_state m[JUDGE_NR_METRICS];
	struct judge_stratum s[JUDGE_STRATA];
	struct judge_cost cost;
	bool frozen;		/* baseline frozen: the comparison runs */
	__u32 cur_share;	/* share of the last freeze */
	__u32 cur_nc;		/* candidate strata [0, cur_nc) */
	__u32 cohort_lo;	/* the current cohort: strata [cohort_lo, cur_nc) */
	__u32 nr_freeze;	/* freezes so far: the harm test of the k-th has alpha / 2^k */
	bool strata_seen;	/* strata were given */
	__u32 snap_next;		/* the snapshot slot taken next */
	double snap_ms;			/* learning time since the last snapshot */
	double learn_ms;		/* learning time in all */
	double snap_w[JUDGE_SNAPS];	/* base_t at each snapshot, decayed since; 0: none */
	double prior_m[JUDGE_SM];	/* empirical-Bayes prior strength (packets) */
	/* Exact abort test: baseline-expected aborts of both sides, stable's aborts. */
	double abort_ac, abort_as, abort_xs, abort_xc;
	double base_t;		/* intervals learnt, decayed like the sums */
	double base_t_frozen;	/* at the last freeze */
	double pool[JUDGE_SM];		/* pooled baseline rate */
	__u64 base_packets;
	__u64 cand_invalid;
	__u64 stable_invalid;
	__u64 cand_packets;	/* since judge__init(), however judged */
	__u64 stable_packets;
	__u64 bad_reads, bad_times;
	__u64 clock_skip_ms;	/* time skipped by jumps, taken off now_ms */

	/* The current step. */
	__u32 step;
	__u64 step_start_ms;
	__u64 last_ms;
	__u64 step_cand_packets;
	__u64 step_stable_packets;
	__u64 step_strata_cand;	/* packets the strata put on the candidate's side */
	__u64 step_intervals, step_bad;
	struct judge_srm_bin srm_bin[JUDGE_BINS];
	__u32 srm_nr;
	struct judge_srm_bin srm_total;
	double srm_max_llr;	/* running maximum of the split check's log(Lambda) */
	double srm_deff_max;	/* largest packet design effect estimated in this step */

	/* A harmful verdict holds for the rollout, an untrusted one for the step. */
	enum judge_verdict latched;
	struct judge_evidence latched_ev;
};

/* The defaults that protect without tuning (see judge.c). */
void judge_config__defaults(struct judge_config *cfg);

/* Start a rollout. 0, or -EINVAL for a configuration out of range. */
int judge__init(struct judge_state *st, const struct judge_config *cfg);

/*
 * The candidate's share changed: the split check, the exposure minimums and
 * the safety proof start again. The next interval with a larger share
 * freezes the baselines again and starts the new cohort's comparison (its
 * harm test with half the previous alpha); the cost test carries on.
 */
void judge__new_step(struct judge_state *st);

/*
 * One read interval (struct judge_input). EV, if not NULL, receives the
 * evidence. Untrusted (split or counters look wrong) does not stop the harm
 * tests: harm found while untrusted is still harmful.
 */
enum judge_verdict judge__update_strata(struct judge_state *st, const struct judge_input *in,
					struct judge_evidence *ev);

/*
 * Without strata: both versions' deltas, the configured share (basis points)
 * and the time at the interval's end (ms since the rollout started).
 */
enum judge_verdict judge__update(struct judge_state *st, const struct judge_sample *stable,
				 const struct judge_sample *cand, __u32 share_bp, __u64 now_ms,
				 struct judge_evidence *ev);

/*
 * Packets the baseline holds for the strata a share of SHARE_BP will give
 * the candidate: the engine's warm-up lasts until it is enough.
 */
__u64 judge__baseline_packets(const struct judge_state *st, __u32 share_bp);

/* One line a person can check. 0, or -ENOSPC if truncated, -EINVAL. */
int judge_evidence__format(const struct judge_evidence *ev, char *buf, size_t len);
int judge_test_ev__format(const struct judge_test_ev *t, char *buf, size_t len);

const char *judge_verdict__name(enum judge_verdict v);

/* The statistics underneath, exposed for tests and reports. */
double judge_chi2_sf(double x);				/* chi-square, 1 d.o.f. */
double judge_binom_sf(__u64 k, __u64 x, double theta);	/* P(Bin(k, theta) >= x) */
double judge_log_binom_sf(__u64 k, __u64 x, double theta);
/* Lower quantile of the chi-square with k (real, >= 1) degrees of freedom. */
double judge_chi2_lower(double k, double q);

#endif
