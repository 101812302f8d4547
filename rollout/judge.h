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
 * interval judge__update() with that interval's deltas; judge__new_step()
 * whenever the candidate's share changes.
 */
#ifndef CANARY_JUDGE_H
#define CANARY_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

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
};

/* Number of points of each mixture grid. */
#define JUDGE_GRID 15
/* Dispersion bins kept per metric (and per step for the split). */
#define JUDGE_BINS 64
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
	__u64 slow;		/* of those, samples above the slow threshold */
};

struct judge_metric_cfg {
	bool up;		/* judge "candidate higher" as harm */
	bool down;		/* judge "candidate lower" as harm */
	bool prove;		/* promotion needs the safety proof in each judged direction */
	double rho0;		/* harm tolerance: a ratio up to rho0 is not harm */
	double rho1;		/* safety margin: healthy needs proof the ratio is below rho1 */
	double budget;		/* excess candidate events that roll back; 0 = no budget */
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
	bool ready;		/* enough bins to estimate deff: the test may decide */
	bool decided;
};

struct judge_evidence {
	enum judge_verdict verdict;
	struct judge_test_ev decision;	/* the test that decided, or the one furthest from it */
	__u32 step;			/* steps since judge__init() */
	__u64 step_ms;			/* time in this step */
	__u64 step_cand_packets;
	bool exposure_met;
	__u32 nr_tests;
	struct judge_test_ev tests[JUDGE_MAX_EVIDENCE];	/* every enabled test */
};

/* Counts of one metric, summed over some span. */
struct judge_counts {
	__u64 x_c, x_s, n_c, n_s;
};

/*
 * Dispersion bins: consecutive intervals summed until the bin holds enough
 * events, then closed; when all are used, neighbours are merged in pairs.
 */
struct judge_bins {
	struct judge_counts bin[JUDGE_BINS];
	struct judge_counts open;
	__u32 nr;
};

struct judge_metric_state {
	struct judge_counts total;		/* since judge__init() */
	struct judge_counts step;		/* since judge__new_step() */
	double harm_llr[JUDGE_NR_DIRS][JUDGE_GRID];	/* raw log likelihood ratios */
	double safe_llr[JUDGE_NR_DIRS][JUDGE_GRID];
	double harm_max[JUDGE_NR_DIRS];		/* running maximum of log(Lambda) */
	double safe_max[JUDGE_NR_DIRS];
	double excess;				/* sum of x_C - N_C * x_S / N_S */
	struct judge_bins bins;
};

struct judge_srm_bin {
	double n_c, n;	/* candidate and all packets */
	double e_c, v;	/* expected candidate packets and their binomial variance */
	double t;	/* intervals */
};

struct judge_state {
	struct judge_config cfg;
	/* Derived from cfg by judge__init(). */
	double harm_rho[JUDGE_NR_METRICS][JUDGE_GRID];
	double safe_rho[JUDGE_NR_METRICS][JUDGE_GRID];
	double harm_log_ratio[JUDGE_GRID];	/* log(rho_j / rho0) */
	double safe_log_ratio[JUDGE_GRID];	/* log(rho_j / rho1) */
	double log_w[JUDGE_GRID];		/* mixture weights */
	double harm_log_thr;	/* log(1/alpha_i) of each harm test */
	double safe_log_thr;	/* log(1/alpha_i) of each safety test */

	struct judge_metric_state m[JUDGE_NR_METRICS];
	__u64 cand_invalid;
	__u64 stable_invalid;
	__u64 cand_packets;	/* since judge__init(), however judged */
	__u64 stable_packets;

	/* The current step. */
	__u32 step;
	__u64 step_start_ms;
	__u64 last_ms;
	__u64 step_cand_packets;
	__u64 step_stable_packets;
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
 * the safety proof start again; the harm evidence carries on.
 */
void judge__new_step(struct judge_state *st);

/*
 * One read interval: both versions' deltas over it, the candidate's
 * configured share during it (basis points) and the time at its end (ms
 * since the rollout started). EV, if not NULL, receives the evidence.
 */
enum judge_verdict judge__update(struct judge_state *st, const struct judge_sample *stable,
				 const struct judge_sample *cand, __u32 share_bp, __u64 now_ms,
				 struct judge_evidence *ev);

/* One line a person can check. 0, or -ENOSPC if truncated, -EINVAL. */
int judge_evidence__format(const struct judge_evidence *ev, char *buf, size_t len);
int judge_test_ev__format(const struct judge_test_ev *t, char *buf, size_t len);

const char *judge_verdict__name(enum judge_verdict v);

/* The statistics underneath, exposed for tests and reports. */
double judge_chi2_sf(double x);				/* chi-square, 1 d.o.f. */
double judge_binom_sf(__u64 k, __u64 x, double theta);	/* P(Bin(k, theta) >= x) */
double judge_log_binom_sf(__u64 k, __u64 x, double theta);

#endif
