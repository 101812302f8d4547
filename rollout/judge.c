// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The judge (JUDGE.md). Choices JUDGE.md leaves open, and why:
 *
 * Scope of the evidence. Harm evidence (the mixture SPRT accumulators, the
 * excess events of the budgets, the abort and invalid counts) runs from
 * judge__init() to the end of the rollout, across steps: every interval's
 * likelihood ratio uses that interval's own packet counts, so a change of
 * share is already accounted for, and one supermartingale per test over the
 * whole rollout keeps the false-harmful rate at alpha per rollout however
 * many steps there are. Safety evidence, the split check and the exposure
 * minimums restart at judge__new_step(): every share has to prove itself
 * (a fault may only show under more load), and the false-healthy rate is
 * alpha per step.
 *
 * Order of the checks, first match wins: a latched harmful verdict; inputs
 * that cannot be right (untrusted); invalid verdicts from the candidate
 * (harmful: that needs no comparison, so even a broken split cannot excuse
 * it); the split check (untrusted: nothing comparative can be concluded, and
 * the interval's counts are not added to any comparison); the exact abort
 * test, the harm mixtures and the budgets (harmful); the safety mixtures and
 * the exposure minimums (healthy); the step's maximum duration (timeout).
 *
 * Error rates. alpha is split equally (Bonferroni) across the enabled harm
 * tests (one per metric and direction), and separately across the safety
 * tests: they guard against different mistakes. The exact abort test is a
 * hard limit with its own threshold: it is meant for stable having no aborts,
 * where a handful from the candidate settles the matter; applied to running
 * totals at every look its false-alarm rate can exceed abort_alpha by the
 * number of distinct counts seen, which is tiny at that threshold.
 *
 * Clustering (the design effect). The test treats events as independent,
 * but packets come in flows and the split is by flow, so one odd flow puts
 * many correlated events in one version: the binomial variance is too small
 * and the likelihood ratios too confident. We estimate how much too small
 * as a quasi-likelihood dispersion phi (variance seen / binomial variance)
 * and divide every interval's log-likelihood increment by deff = phi >= 1.
 * We keep the raw sums and divide at each look, so a later, larger estimate
 * also deflates the evidence gathered before it.
 *
 * The per-interval counts are summed into bins of at least JUDGE_BIN_EVENTS
 * events (and when all JUDGE_BINS are used neighbours merge in pairs, so the
 * bins grow with the rollout and catch longer-lived correlation too). Two
 * Pearson estimates over the bins, each shrunk towards 1 with JUDGE_PRIOR_DF
 * pseudo degrees of freedom, the larger one wins:
 *
 *   - serial: stable's rate in successive bins,
 *	sum_b (r_b - r_b+1)^2 / (r*(1 - r)*(1/N_S,b + 1/N_S,b+1)) / 2 / (B - 1):
 *     stable sees most of the flows, and successive differences leave out
 *     slow changes of the traffic mix (which are the same for both
 *     versions and cancel in the comparison anyway);
 *   - paired: the candidate's share of each bin's events, against the rate
 *     ratio fitted to the *other* bins,
 *	sum_b (x_C,b - K_b*theta_b)^2 / (K_b*theta_b*(1 - theta_b)) / (B - 1):
 *     this sees a burst on the candidate's side, which matters most when the
 *     candidate has a small share and few events; leaving the bin out keeps
 *     the fit from absorbing that very burst, and a real difference between
 *     the versions does not inflate it. It counts only beyond two standard
 *     errors of its own noise under independence.
 *
 * With fewer than JUDGE_MIN_BINS bins the mixtures gather evidence but do
 * not decide (hard limits and budgets still act at once). A configured
 * deff >= 1 replaces the estimate. The split check has its own estimate,
 * described there. This follows the delta-method design effect of Deng,
 * Knoblich and Lu (KDD 2018) with the read interval as the unit we can see,
 * not the flow.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "judge.h"

/*
 * Smallest combined event count of a dispersion bin: with fewer, the
 * Pearson terms are too skewed to average well (smaller bins measured worse
 * in the A/A runs of tests/test_judge.c).
 */
#define JUDGE_BIN_EVENTS 32
/* Bins needed before a mixture test may decide on an estimated design effect. */
#define JUDGE_MIN_BINS 8
/* Weight, in degrees of freedom, of the prior guess "no clustering". */
#define JUDGE_PRIOR_DF 2.0
/* The mixture grids span a factor of 20 from the hypothesis boundary. */
#define JUDGE_GRID_SPAN 20.0
/*
 * Mixture weights: a half-normal on log(rho / boundary), with this scale as
 * a fraction of the grid's log span (0.2 of log 20: a factor of 1.8). Effects
 * a few times the tolerance are the ones that need the weight; a tenfold
 * one crosses the threshold within an interval or two whatever its weight.
 */
#define JUDGE_PRIOR_SCALE 0.2

static const char *const metric_names[JUDGE_NR_METRICS] = {
	[JUDGE_METRIC_DROP] = "drop",
	[JUDGE_METRIC_PASS] = "pass",
	[JUDGE_METRIC_ABORT] = "abort",
	[JUDGE_METRIC_SLOW] = "slow",
};

/* ---- distributions ---- */

double judge_chi2_sf(double x)
{
	if (!(x > 0))
		return 1.0;
	return erfc(sqrt(x / 2));
}

static double log_binom_pmf(__u64 k, __u64 j, double theta)
{
	return lgamma((double)k + 1) - lgamma((double)j + 1) - lgamma((double)(k - j) + 1) +
	       j * log(theta) + (k - j) * log1p(-theta);
}

double judge_log_binom_sf(__u64 k, __u64 x, double theta)
{
	double mode, sum = 1, t = 1, odds;
	__u64 j;

	if (x == 0)
		return 0;
	if (x > k || theta <= 0)
		return -INFINITY;
	if (theta >= 1)
		return 0;
	/*
	 * Sum the pmf away from the mode, relative to the term nearest to it,
	 * so each added term is <= 1 and the sum cannot overflow; stop when
	 * terms no longer change it. Above the mode this is the upper tail
	 * itself; at or below it the complement, which is then at most about
	 * one half, so 1 - lower loses nothing that matters.
	 */
	mode = floor((k + 1) * theta);
	if ((double)x > mode) {
		odds = theta / (1 - theta);
		for (j = x; j < k; j++) {
			t *= (double)(k - j) / (double)(j + 1) * odds;
			sum += t;
			if (t < sum * 1e-17)
				break;
		}
		return log_binom_pmf(k, x, theta) + log(sum);
	}
	odds = (1 - theta) / theta;
	for (j = x - 1; j > 0; j--) {
		t *= (double)j / (double)(k - j + 1) * odds;
		sum += t;
		if (t < sum * 1e-17)
			break;
	}
	return log1p(-exp(log_binom_pmf(k, x - 1, theta)) * sum);
}

double judge_binom_sf(__u64 k, __u64 x, double theta)
{
	return exp(judge_log_binom_sf(k, x, theta));
}

/* ---- configuration ---- */

void judge_config__defaults(struct judge_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->alpha = 0.01;
	cfg->srm_alpha = 0.001;
	cfg->srm_tolerance = 0.2;
	/* Stable 0 aborts, candidate 3 at a 5 % share: p = 1.25e-4, caught. */
	cfg->abort_alpha = 0.001;
	cfg->abort_rho0 = 1.0;
	cfg->invalid_limit = true;
	cfg->deff = 0;
	cfg->srm_deff = 0;
	cfg->min_cand_packets = 10000;
	cfg->min_events = 20;
	cfg->min_bake_ms = 60 * 1000;
	cfg->max_step_ms = 60 * 60 * 1000;

	/*
	 * A filter that drops more than stable hurts good traffic; one that
	 * drops less may be letting an attack through: both are harm, and a
	 * step is healthy only once both are ruled out. A tolerance of 1.05
	 * catches a doubled drop rate at a 5 % share within 50k candidate
	 * packets in 96 % of runs (1.1: 94 %); the A/A false-rollback rate
	 * stays under alpha (tests/test_judge.c).
	 */
	cfg->metric[JUDGE_METRIC_DROP] = (struct judge_metric_cfg){
		.up = true, .down = true, .prove = true, .rho0 = 1.05, .rho1 = 1.25,
	};
	/* With verdicts mostly drop or pass, the drop rate already says it. */
	cfg->metric[JUDGE_METRIC_PASS] = (struct judge_metric_cfg){ .rho0 = 1.1, .rho1 = 1.25 };
	/* Aborts are judged by the exact hard-limit test, not the mixture. */
	cfg->metric[JUDGE_METRIC_ABORT] = (struct judge_metric_cfg){ .rho0 = 1.1, .rho1 = 1.25 };
	/*
	 * Cost: more than twice stable's rate of samples above the slow
	 * threshold is harm. No safety proof by default: the threshold and the
	 * sampling rate are the daemon's, and rare slow samples would stall
	 * every promotion.
	 */
	cfg->metric[JUDGE_METRIC_SLOW] = (struct judge_metric_cfg){
		.up = true, .rho0 = 2.0, .rho1 = 1.5,
	};
}

static bool positive(double v)
{
	return isfinite(v) && v > 0;
}

static int config_check(const struct judge_config *cfg)
{
	int i;

	if (!positive(cfg->alpha) || cfg->alpha >= 1 || !positive(cfg->srm_alpha) ||
	    cfg->srm_alpha >= 1 || !isfinite(cfg->abort_alpha) || cfg->abort_alpha < 0 ||
	    cfg->abort_alpha >= 1 || !positive(cfg->abort_rho0))
		return -EINVAL;
	if (!isfinite(cfg->deff) || (cfg->deff != 0 && cfg->deff < 1))
		return -EINVAL;
	if (!isfinite(cfg->srm_tolerance) || cfg->srm_tolerance < 0 || cfg->srm_tolerance >= 1)
		return -EINVAL;
	if (!isfinite(cfg->srm_deff) || (cfg->srm_deff != 0 && cfg->srm_deff < 1))
		return -EINVAL;
	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		const struct judge_metric_cfg *mc = &cfg->metric[i];

		if (!mc->up && !mc->down)
			continue;
		if (!positive(mc->rho0) || !positive(mc->rho1) || !isfinite(mc->budget) ||
		    mc->budget < 0)
			return -EINVAL;
	}
	return 0;
}

static bool dir_on(const struct judge_metric_cfg *mc, int d)
{
	return d == JUDGE_DIR_UP ? mc->up : mc->down;
}

static void step_reset(struct judge_state *st)
{
	int i, d;

	st->step_start_ms = st->last_ms;
	st->step_cand_packets = 0;
	st->step_stable_packets = 0;
	memset(st->srm_bin, 0, sizeof(st->srm_bin));
	st->srm_nr = 0;
	memset(&st->srm_total, 0, sizeof(st->srm_total));
	st->srm_max_llr = -INFINITY;
	st->srm_deff_max = 1;
	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		struct judge_metric_state *ms = &st->m[i];

		memset(&ms->step, 0, sizeof(ms->step));
		memset(ms->safe_llr, 0, sizeof(ms->safe_llr));
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			ms->safe_max[d] = -INFINITY;
	}
	if (st->latched != JUDGE_HARMFUL)
		st->latched = JUDGE_INCONCLUSIVE;
}

int judge__init(struct judge_state *st, const struct judge_config *cfg)
{
	int nr_harm = 0, nr_safe = 0, i, j, d;

	if (!st || !cfg || config_check(cfg))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;
	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		const struct judge_metric_cfg *mc = &cfg->metric[i];

		for (d = 0; d < JUDGE_NR_DIRS; d++) {
			if (!dir_on(mc, d))
				continue;
			nr_harm++;
			nr_safe += mc->prove;
		}
		/* Log-spaced: effects are multiplicative, and small ones need the points. */
		for (j = 0; j < JUDGE_GRID; j++) {
			double f = pow(JUDGE_GRID_SPAN, (j + 1.0) / JUDGE_GRID);

			st->harm_rho[i][j] = mc->rho0 * f;
			st->safe_rho[i][j] = mc->rho1 / f;
		}
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			st->m[i].harm_max[d] = -INFINITY;
	}
	{
		double wsum = 0;

		for (j = 0; j < JUDGE_GRID; j++) {
			double x = (j + 1.0) / JUDGE_GRID;

			st->harm_log_ratio[j] = log(JUDGE_GRID_SPAN) * x;
			st->safe_log_ratio[j] = -st->harm_log_ratio[j];
			st->log_w[j] = -x * x / (2 * JUDGE_PRIOR_SCALE * JUDGE_PRIOR_SCALE);
			wsum += exp(st->log_w[j]);
		}
		for (j = 0; j < JUDGE_GRID; j++)
			st->log_w[j] -= log(wsum);
	}
	st->harm_log_thr = log((nr_harm ? nr_harm : 1) / cfg->alpha);
	st->safe_log_thr = log((nr_safe ? nr_safe : 1) / cfg->alpha);
	st->latched = JUDGE_INCONCLUSIVE;
	step_reset(st);
	return 0;
}

void judge__new_step(struct judge_state *st)
{
	if (!st)
		return;
	st->step++;
	step_reset(st);
}

/* ---- accumulation ---- */

static void counts_add(struct judge_counts *a, const struct judge_counts *b)
{
	a->x_c += b->x_c;
	a->x_s += b->x_s;
	a->n_c += b->n_c;
	a->n_s += b->n_s;
}

static void metric_counts(int m, const struct judge_sample *s, const struct judge_sample *c,
			  struct judge_counts *out)
{
	switch (m) {
	case JUDGE_METRIC_DROP:
		*out = (struct judge_counts){ c->drops, s->drops, c->packets, s->packets };
		break;
	case JUDGE_METRIC_PASS:
		*out = (struct judge_counts){ c->passes, s->passes, c->packets, s->packets };
		break;
	case JUDGE_METRIC_ABORT:
		*out = (struct judge_counts){ c->aborts, s->aborts, c->packets, s->packets };
		break;
	default:
		*out = (struct judge_counts){ c->slow, s->slow, c->cost_samples, s->cost_samples };
		break;
	}
}

static void bins_push(struct judge_bins *b)
{
	__u32 i;

	if (b->nr == JUDGE_BINS) {
		for (i = 0; i < JUDGE_BINS / 2; i++) {
			b->bin[i] = b->bin[2 * i];
			counts_add(&b->bin[i], &b->bin[2 * i + 1]);
		}
		memset(&b->bin[JUDGE_BINS / 2], 0, sizeof(b->bin[0]) * (JUDGE_BINS / 2));
		b->nr = JUDGE_BINS / 2;
	}
	b->bin[b->nr++] = b->open;
	memset(&b->open, 0, sizeof(b->open));
}

/*
 * Log likelihood ratio of one interval, the arm in the ratio's numerator
 * being (xa, na): X_a | K ~ Bin(K, theta(rho)), theta(rho) = rho*na / (rho*na + nb),
 * at rho against rho_ref. Written as xa*log(rho/rho_ref) - K*log(...) to
 * need one logarithm per point.
 */
static void llr_add(double *llr, const double *rho, const double *log_ratio, double rho_ref,
		    double xa, double na, double nb, double k)
{
	double base = rho_ref * na + nb;
	int j;

	for (j = 0; j < JUDGE_GRID; j++)
		llr[j] += xa * log_ratio[j] - k * log1p((rho[j] - rho_ref) * na / base);
}

static void metric_update(struct judge_state *st, int m, const struct judge_counts *c)
{
	const struct judge_metric_cfg *mc = &st->cfg.metric[m];
	struct judge_metric_state *ms = &st->m[m];
	double k = (double)c->x_c + (double)c->x_s;
	int d;

	counts_add(&ms->total, c);
	counts_add(&ms->step, c);
	if (!mc->up && !mc->down)
		return;
	/* No comparison without both versions seeing traffic. */
	if (!c->n_c || !c->n_s)
		return;
	ms->excess += c->x_c - (double)c->n_c * c->x_s / c->n_s;
	if (k == 0)
		return;
	counts_add(&ms->bins.open, c);
	if (ms->bins.open.x_c + ms->bins.open.x_s >= JUDGE_BIN_EVENTS)
		bins_push(&ms->bins);
	for (d = 0; d < JUDGE_NR_DIRS; d++) {
		double xa, na, nb;

		if (!dir_on(mc, d))
			continue;
		if (d == JUDGE_DIR_UP) {
			xa = c->x_c, na = c->n_c, nb = c->n_s;
		} else {
			xa = c->x_s, na = c->n_s, nb = c->n_c;
		}
		llr_add(ms->harm_llr[d], st->harm_rho[m], st->harm_log_ratio, mc->rho0, xa, na, nb,
			k);
		if (mc->prove)
			llr_add(ms->safe_llr[d], st->safe_rho[m], st->safe_log_ratio, mc->rho1, xa,
				na, nb, k);
	}
}

static double shrink(double sum, double df)
{
	return (JUDGE_PRIOR_DF + sum) / (JUDGE_PRIOR_DF + df);
}

/* Design effect of a metric; false while too few bins to estimate it. */
static bool metric_deff(const struct judge_state *st, int m, double *deff)
{
	const struct judge_bins *b = &st->m[m].bins;
	struct judge_counts bin[JUDGE_BINS + 1], all = { 0 };
	double rs, paired = 0, serial = 0;
	__u32 i, nr = b->nr, used = 0;

	if (st->cfg.deff >= 1) {
		*deff = st->cfg.deff;
		return true;
	}
	*deff = 1;
	memcpy(bin, b->bin, nr * sizeof(bin[0]));
	if (b->open.x_c + b->open.x_s)
		bin[nr++] = b->open;
	if (nr < 3)
		return false;
	for (i = 0; i < nr; i++)
		counts_add(&all, &bin[i]);
	rs = (all.x_s + 0.5) / (all.n_s + 1.0);
	for (i = 0; i < nr; i++) {
		const struct judge_counts *c = &bin[i];
		double kb = (double)c->x_c + (double)c->x_s, rho, th, r;

		/*
		 * The ratio from the other bins: fitted to all of them, it would
		 * absorb the very cluster we are looking for whenever the
		 * candidate has few events.
		 */
		rho = ((all.x_c - c->x_c + 0.5) / (all.n_c - c->n_c)) /
		      ((all.x_s - c->x_s + 0.5) / (all.n_s - c->n_s));
		th = rho * c->n_c / (rho * c->n_c + c->n_s);
		r = c->x_c - kb * th;
		paired += r * r / (kb * th * (1 - th));
		used++;
		if (i + 1 < nr) {
			const struct judge_counts *e = &bin[i + 1];

			r = (double)c->x_s / c->n_s - (double)e->x_s / e->n_s;
			serial += r * r / (rs * (1 - rs) * (1.0 / c->n_s + 1.0 / e->n_s));
		}
	}
	/*
	 * The paired estimate counts only beyond its own noise under
	 * independence (two standard errors of a mean of chi-squares,
	 * sqrt(2 / df)): it is there for the burst on the candidate's side that
	 * the stable one cannot see, and its noise alone would deflate good
	 * evidence for nothing.
	 */
	*deff = fmax(1, shrink(serial / 2, nr - 1));
	*deff = fmax(*deff, shrink(paired, used - 1) - 2 * sqrt(2.0 / (used - 1)));
	return nr >= JUDGE_MIN_BINS;
}

/* log of sum_j w_j * exp(llr_j / deff), without overflow. */
static double mixture(const struct judge_state *st, const double *llr, double deff)
{
	double v[JUDGE_GRID], top = -INFINITY, sum = 0;
	int j;

	for (j = 0; j < JUDGE_GRID; j++) {
		v[j] = st->log_w[j] + llr[j] / deff;
		top = fmax(top, v[j]);
	}
	for (j = 0; j < JUDGE_GRID; j++)
		sum += exp(v[j] - top);
	return top + log(sum);
}

static void srm_update(struct judge_state *st, __u32 share_bp, const struct judge_sample *s,
		       const struct judge_sample *c)
{
	double p = share_bp / 10000.0, n = (double)c->packets + (double)s->packets;
	struct judge_srm_bin bin = { (double)c->packets, n, n * p, n * p * (1 - p), 1 };
	__u32 i;

	if (n == 0)
		return;
	st->srm_total.n_c += bin.n_c;
	st->srm_total.n += bin.n;
	st->srm_total.e_c += bin.e_c;
	st->srm_total.v += bin.v;
	st->srm_total.t += bin.t;
	if (st->srm_nr == JUDGE_BINS) {
		for (i = 0; i < JUDGE_BINS / 2; i++) {
			struct judge_srm_bin *a = &st->srm_bin[2 * i], *b = a + 1;

			st->srm_bin[i] = (struct judge_srm_bin){
				a->n_c + b->n_c, a->n + b->n, a->e_c + b->e_c, a->v + b->v,
				a->t + b->t,
			};
		}
		memset(&st->srm_bin[JUDGE_BINS / 2], 0, sizeof(bin) * (JUDGE_BINS / 2));
		st->srm_nr = JUDGE_BINS / 2;
	}
	st->srm_bin[st->srm_nr++] = bin;
}

/*
 * The split check: a chi-square of the candidate's packets against the
 * configured share, after the packet design effect, read against Robbins'
 * normal-mixture boundary instead of a fixed quantile: the chi-square is
 * looked at every interval, and at a fixed 0.001 that many looks raise false
 * alarms in several per cent of steps. With the log-odds of the share given
 * a N(0, JUDGE_SRM_PRIOR^2) prior under the alternative and r = prior variance /
 * estimate variance, log(Lambda) = chi2 * r / (2 * (1 + r)) - log(1 + r) / 2,
 * and P(ever Lambda >= 1/srm_alpha) <= srm_alpha.
 */
#define JUDGE_SRM_PRIOR 0.5

struct srm {
	double chi2;	/* after the design effect */
	double deff;
	double llr;	/* log(Lambda) */
	double crit;	/* the chi-square at which Lambda = 1/srm_alpha */
	bool ready;
};

static void srm_test(const struct judge_state *st, struct srm *o)
{
	const struct judge_srm_bin *t = &st->srm_total;
	double diff = t->n_c - t->e_c, k, own = 0, serial = 0, mu, r;
	__u32 i, used = 0;

	*o = (struct srm){ .deff = 1, .crit = INFINITY };
	if (t->n == 0)
		return;
	if (t->v == 0) {
		/* Share 0 or 100 %: any packet on the wrong side is a broken split. */
		if (fabs(diff) > 0.5) {
			o->chi2 = o->llr = INFINITY;
			o->crit = 0;
			o->ready = true;
		}
		return;
	}
	if (st->cfg.srm_deff >= 1) {
		o->deff = st->cfg.srm_deff;
		o->ready = true;
	} else {
		/*
		 * Two estimates, the larger wins: the candidate's own scatter
		 * around the observed share (so a real mismatch does not hide
		 * itself), and the scatter of all packets between successive
		 * intervals, which sees a hundred times more flows when the
		 * candidate has few, and is little moved by slow changes of rate.
		 */
		k = t->e_c > 0 ? t->n_c / t->e_c : 1;
		mu = t->n / t->t;
		for (i = 0; i < st->srm_nr; i++) {
			const struct judge_srm_bin *b = &st->srm_bin[i];

			if (b->v == 0)
				continue;
			r = b->n_c - k * b->e_c;
			own += r * r / b->v;
			used++;
			if (i + 1 < st->srm_nr) {
				const struct judge_srm_bin *e = b + 1;

				r = b->n / b->t - e->n / e->t;
				serial += r * r / (mu * (1 / b->t + 1 / e->t));
			}
		}
		if (used < 2)
			return;
		/*
		 * Within a step the estimate only ratchets up: with heavy-tailed
		 * flows the sample variance is usually below the true one, and
		 * a burst seen once can come again.
		 */
		o->deff = fmax(st->srm_deff_max, fmax(own, serial / 2) / (used - 1));
		o->ready = used >= JUDGE_MIN_BINS;
	}
	/*
	 * The split is decided per flow by a hash, so with a finite set of
	 * flows the share of flows that land in the candidate's range differs
	 * from the configured share by a fixed amount that more packets do not
	 * shrink: a packet-level test would call any long run of a few thousand
	 * flows broken. Only a departure beyond srm_tolerance (relative) counts.
	 */
	if (fabs(diff) <= st->cfg.srm_tolerance * t->e_c)
		diff = 0;
	else
		diff -= copysign(st->cfg.srm_tolerance * t->e_c, diff);
	o->chi2 = diff * diff / t->v / o->deff;
	r = JUDGE_SRM_PRIOR * JUDGE_SRM_PRIOR * t->v / o->deff;
	o->llr = o->chi2 * r / (2 * (1 + r)) - log1p(r) / 2;
	o->crit = (1 + r) / r * (2 * log(1 / st->cfg.srm_alpha) + log1p(r));
}

/* ---- evidence ---- */

static void ev_counts(struct judge_test_ev *t, const struct judge_counts *c, int dir)
{
	t->x_c = c->x_c;
	t->x_s = c->x_s;
	t->n_c = c->n_c;
	t->n_s = c->n_s;
	t->rate_c = c->n_c ? (double)c->x_c / c->n_c : 0;
	t->rate_s = c->n_s ? (double)c->x_s / c->n_s : 0;
	if (dir == JUDGE_DIR_DOWN)
		t->ratio = t->rate_c > 0 ? t->rate_s / t->rate_c : (t->rate_s > 0 ? INFINITY : NAN);
	else
		t->ratio = t->rate_s > 0 ? t->rate_c / t->rate_s : (t->rate_c > 0 ? INFINITY : NAN);
}

static void ev_name(struct judge_test_ev *t, const char *name, int metric, int dir,
		    enum judge_test test)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->metric, sizeof(t->metric), "%s", name);
	t->metric_id = metric;
	t->dir = dir;
	t->test = test;
	t->deff = 1;
	t->p = NAN;
	t->p_fixed = NAN;
	t->ready = true;
}

/*
 * The one-look exact conditional test on the summed counts, for the record:
 * no correction for looks or clusters, and across steps the shares are
 * pooled. Harm: P(X_a >= x_a), safety: P(X_a <= x_a), X_a ~ Bin(K, theta(rho)).
 */
static double fixed_p(const struct judge_counts *c, int dir, double rho, bool lower)
{
	__u64 xa = dir == JUDGE_DIR_UP ? c->x_c : c->x_s, k = c->x_c + c->x_s;
	double na = dir == JUDGE_DIR_UP ? c->n_c : c->n_s;
	double nb = dir == JUDGE_DIR_UP ? c->n_s : c->n_c;
	double th;

	if (!na || !nb)
		return 1;
	th = rho * na / (rho * na + nb);
	/* P(X <= x) = P(K - X >= K - x), K - X ~ Bin(K, 1 - theta): no cancellation. */
	return lower ? judge_binom_sf(k, k - xa, 1 - th) : judge_binom_sf(k, xa, th);
}

static void ev_mixture(const struct judge_state *st, struct judge_test_ev *t, int m, int d,
		       bool safety)
{
	const struct judge_metric_state *ms = &st->m[m];
	double deff, best;

	ev_name(t, metric_names[m], m, d, safety ? JUDGE_TEST_SAFETY : JUDGE_TEST_HARM);
	ev_counts(t, safety ? &ms->step : &ms->total, d);
	t->ready = metric_deff(st, m, &deff);
	t->deff = deff;
	if (safety) {
		t->rho = st->cfg.metric[m].rho1;
		t->stat = mixture(st, ms->safe_llr[d], deff);
		t->threshold = st->safe_log_thr;
		best = ms->safe_max[d];
	} else {
		t->rho = st->cfg.metric[m].rho0;
		t->stat = mixture(st, ms->harm_llr[d], deff);
		t->threshold = st->harm_log_thr;
		best = ms->harm_max[d];
	}
	t->p = fmin(1, exp(-best));
	t->p_fixed = fixed_p(safety ? &ms->step : &ms->total, d, t->rho, safety);
	t->decided = best >= t->threshold;
	/* Once crossed, the crossing is the statistic that decided. */
	if (t->decided)
		t->stat = best;
}

/* The exact abort test on the rollout's totals: -log p and p. */
static double exact_abort(const struct judge_state *st, double *p)
{
	const struct judge_counts *c = &st->m[JUDGE_METRIC_ABORT].total;
	double r = st->cfg.abort_rho0, th;
	double lp;

	if (!c->x_c || !c->n_c) {
		*p = 1;
		return 0;
	}
	th = c->n_s ? r * c->n_c / (r * c->n_c + c->n_s) : 1;
	lp = judge_log_binom_sf(c->x_c + c->x_s, c->x_c, th);
	*p = exp(lp);
	return -lp;
}

static void ev_exact(const struct judge_state *st, struct judge_test_ev *t)
{
	ev_name(t, metric_names[JUDGE_METRIC_ABORT], JUDGE_METRIC_ABORT, JUDGE_DIR_UP,
		JUDGE_TEST_EXACT);
	ev_counts(t, &st->m[JUDGE_METRIC_ABORT].total, JUDGE_DIR_UP);
	t->rho = st->cfg.abort_rho0;
	t->stat = exact_abort(st, &t->p);
	t->p_fixed = t->p;
	t->threshold = -log(st->cfg.abort_alpha);
	t->decided = t->p <= st->cfg.abort_alpha;
}

static void ev_invalid(const struct judge_state *st, struct judge_test_ev *t)
{
	ev_name(t, "invalid", JUDGE_METRIC_DROP, JUDGE_DIR_UP, JUDGE_TEST_LIMIT);
	t->x_c = st->cand_invalid;
	t->x_s = st->stable_invalid;
	t->n_c = st->cand_packets;
	t->n_s = st->stable_packets;
	t->rate_c = t->n_c ? (double)t->x_c / t->n_c : 0;
	t->rate_s = t->n_s ? (double)t->x_s / t->n_s : 0;
	t->ratio = NAN;
	t->stat = st->cand_invalid;
	t->threshold = 0;
	t->decided = st->cand_invalid > 0;
}

static double budget_excess(const struct judge_state *st, int m, int d)
{
	return d == JUDGE_DIR_UP ? st->m[m].excess : -st->m[m].excess;
}

static void ev_budget(const struct judge_state *st, struct judge_test_ev *t, int m, int d)
{
	ev_name(t, metric_names[m], m, d, JUDGE_TEST_BUDGET);
	ev_counts(t, &st->m[m].total, d);
	t->rho = 1;
	t->stat = budget_excess(st, m, d);
	t->threshold = st->cfg.metric[m].budget;
	t->decided = t->stat > t->threshold;
}

static void ev_srm(const struct judge_state *st, struct judge_test_ev *t)
{
	struct srm o;

	ev_name(t, "split", JUDGE_METRIC_DROP, JUDGE_DIR_NONE, JUDGE_TEST_SRM);
	srm_test(st, &o);
	t->x_c = (__u64)st->srm_total.n_c;
	t->x_s = (__u64)(st->srm_total.n - st->srm_total.n_c);
	t->n_c = t->n_s = (__u64)st->srm_total.n;
	t->rate_c = st->srm_total.n ? st->srm_total.n_c / st->srm_total.n : 0;
	t->rate_s = st->srm_total.n ? st->srm_total.e_c / st->srm_total.n : 0;
	t->ratio = t->rate_s > 0 ? t->rate_c / t->rate_s : NAN;
	t->rho = t->rate_s;
	t->stat = o.chi2;
	t->threshold = o.crit;
	t->p = fmin(1, exp(-st->srm_max_llr));
	t->p_fixed = judge_chi2_sf(o.chi2);
	t->deff = o.deff;
	t->ready = o.ready;
	t->decided = st->srm_max_llr >= log(1 / st->cfg.srm_alpha);
}

static void ev_input(struct judge_test_ev *t, const char *what, __u64 x, __u64 n)
{
	ev_name(t, what, JUDGE_METRIC_DROP, JUDGE_DIR_NONE, JUDGE_TEST_INPUT);
	t->x_c = x;
	t->n_c = n;
	t->decided = true;
}

/* Minimum step events over the metrics whose safety is proven. */
static __u64 step_min_events(const struct judge_state *st)
{
	__u64 least = UINT64_MAX;
	int i;

	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		const struct judge_metric_cfg *mc = &st->cfg.metric[i];
		const struct judge_counts *c = &st->m[i].step;

		if ((mc->up || mc->down) && mc->prove && c->x_c + c->x_s < least)
			least = c->x_c + c->x_s;
	}
	return least;
}

static bool exposure_met(const struct judge_state *st)
{
	return st->step_cand_packets >= st->cfg.min_cand_packets &&
	       step_min_events(st) >= st->cfg.min_events &&
	       st->last_ms - st->step_start_ms >= st->cfg.min_bake_ms;
}

static void ev_exposure(const struct judge_state *st, struct judge_test_ev *t)
{
	__u64 least = step_min_events(st);

	ev_name(t, "exposure", JUDGE_METRIC_DROP, JUDGE_DIR_NONE, JUDGE_TEST_EXPOSURE);
	t->x_c = st->step_cand_packets;
	t->n_c = st->cfg.min_cand_packets;
	t->x_s = least == UINT64_MAX ? 0 : least;
	t->n_s = st->cfg.min_events;
	t->stat = st->last_ms - st->step_start_ms;
	t->threshold = st->cfg.min_bake_ms;
	t->decided = exposure_met(st);
}

/* Every enabled test, in the order the decision looks at them. */
static void ev_collect(const struct judge_state *st, struct judge_evidence *ev)
{
	const struct judge_config *cfg = &st->cfg;
	__u32 n = 0;
	int i, d;

	ev_srm(st, &ev->tests[n++]);
	if (cfg->invalid_limit)
		ev_invalid(st, &ev->tests[n++]);
	if (cfg->abort_alpha > 0)
		ev_exact(st, &ev->tests[n++]);
	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			if (dir_on(&cfg->metric[i], d))
				ev_mixture(st, &ev->tests[n++], i, d, false);
	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			if (dir_on(&cfg->metric[i], d) && cfg->metric[i].budget > 0)
				ev_budget(st, &ev->tests[n++], i, d);
	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			if (dir_on(&cfg->metric[i], d) && cfg->metric[i].prove)
				ev_mixture(st, &ev->tests[n++], i, d, true);
	ev->nr_tests = n;
	ev->step = st->step;
	ev->step_ms = st->last_ms - st->step_start_ms;
	ev->step_cand_packets = st->step_cand_packets;
	ev->exposure_met = exposure_met(st);
}

/* The safety test nearest to deciding, or the furthest from it. */
static bool weakest_safety(const struct judge_state *st, struct judge_test_ev *t)
{
	const struct judge_config *cfg = &st->cfg;
	double worst = INFINITY;
	int i, d, bm = -1, bd = 0;

	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++) {
			const struct judge_metric_state *ms = &st->m[i];
			double margin;

			if (!dir_on(&cfg->metric[i], d) || !cfg->metric[i].prove)
				continue;
			margin = ms->safe_max[d] - st->safe_log_thr;
			if (margin < worst || bm < 0) {
				worst = margin;
				bm = i;
				bd = d;
			}
		}
	if (bm < 0)
		return false;
	ev_mixture(st, t, bm, bd, true);
	return true;
}

static enum judge_verdict finish(struct judge_state *st, enum judge_verdict v,
				 const struct judge_test_ev *decision, struct judge_evidence *ev)
{
	bool latch = v == JUDGE_HARMFUL || v == JUDGE_UNTRUSTED;

	if (latch) {
		st->latched = v;
		memset(&st->latched_ev, 0, sizeof(st->latched_ev));
		ev_collect(st, &st->latched_ev);
		st->latched_ev.verdict = v;
		st->latched_ev.decision = *decision;
	}
	if (ev) {
		if (latch) {
			*ev = st->latched_ev;
		} else {
			memset(ev, 0, sizeof(*ev));
			ev_collect(st, ev);
			ev->verdict = v;
			ev->decision = *decision;
		}
	}
	return v;
}

static bool sample_bad(const struct judge_sample *s, const char **what, __u64 *x, __u64 *n)
{
	if (s->drops > s->packets || s->aborts > s->packets || s->passes > s->packets ||
	    s->invalid > s->packets) {
		*what = "packets";
		*x = s->drops + s->aborts + s->passes + s->invalid;
		*n = s->packets;
		return true;
	}
	if (s->slow > s->cost_samples) {
		*what = "slow";
		*x = s->slow;
		*n = s->cost_samples;
		return true;
	}
	return false;
}

enum judge_verdict judge__update(struct judge_state *st, const struct judge_sample *stable,
				 const struct judge_sample *cand, __u32 share_bp, __u64 now_ms,
				 struct judge_evidence *ev)
{
	const struct judge_config *cfg;
	struct judge_test_ev t;
	double deff[JUDGE_NR_METRICS], best = -INFINITY, p;
	struct srm srm;
	bool ready[JUDGE_NR_METRICS], proven = true;
	int i, d, bm = -1, bd = 0;
	const char *what;
	__u64 x, n;

	if (!st || !stable || !cand)
		return JUDGE_UNTRUSTED;
	cfg = &st->cfg;
	if (st->latched == JUDGE_HARMFUL) {
		if (ev)
			*ev = st->latched_ev;
		return JUDGE_HARMFUL;
	}
	/* Time is the caller's; it may not run backwards. */
	if (now_ms > st->last_ms)
		st->last_ms = now_ms;

	if (share_bp > 10000 || sample_bad(stable, &what, &x, &n) ||
	    sample_bad(cand, &what, &x, &n)) {
		if (share_bp > 10000)
			ev_input(&t, "share", share_bp, 10000);
		else
			ev_input(&t, what, x, n);
		return finish(st, JUDGE_UNTRUSTED, &t, ev);
	}

	st->cand_invalid += cand->invalid;
	st->stable_invalid += stable->invalid;
	st->cand_packets += cand->packets;
	st->stable_packets += stable->packets;
	if (cfg->invalid_limit && st->cand_invalid) {
		ev_invalid(st, &t);
		return finish(st, JUDGE_HARMFUL, &t, ev);
	}
	if (st->latched == JUDGE_UNTRUSTED) {
		if (ev)
			*ev = st->latched_ev;
		return JUDGE_UNTRUSTED;
	}

	srm_update(st, share_bp, stable, cand);
	st->step_cand_packets += cand->packets;
	st->step_stable_packets += stable->packets;
	srm_test(st, &srm);
	if (srm.ready) {
		st->srm_deff_max = srm.deff;
		st->srm_max_llr = fmax(st->srm_max_llr, srm.llr);
	}
	if (st->srm_max_llr >= log(1 / cfg->srm_alpha)) {
		ev_srm(st, &t);
		return finish(st, JUDGE_UNTRUSTED, &t, ev);
	}

	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		struct judge_counts c;

		metric_counts(i, stable, cand, &c);
		metric_update(st, i, &c);
	}

	if (cfg->abort_alpha > 0) {
		exact_abort(st, &p);
		if (p <= cfg->abort_alpha) {
			ev_exact(st, &t);
			return finish(st, JUDGE_HARMFUL, &t, ev);
		}
	}

	/* Every look moves the running maxima, whatever is decided. */
	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		const struct judge_metric_cfg *mc = &cfg->metric[i];
		struct judge_metric_state *ms = &st->m[i];

		ready[i] = metric_deff(st, i, &deff[i]);
		if (!ready[i])
			continue;
		for (d = 0; d < JUDGE_NR_DIRS; d++) {
			if (!dir_on(mc, d))
				continue;
			ms->harm_max[d] = fmax(ms->harm_max[d], mixture(st, ms->harm_llr[d], deff[i]));
			if (mc->prove)
				ms->safe_max[d] =
					fmax(ms->safe_max[d], mixture(st, ms->safe_llr[d], deff[i]));
		}
	}

	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++) {
			double margin = st->m[i].harm_max[d] - st->harm_log_thr;

			if (dir_on(&cfg->metric[i], d) && margin >= 0 && margin > best) {
				best = margin;
				bm = i;
				bd = d;
			}
		}
	if (bm >= 0) {
		ev_mixture(st, &t, bm, bd, false);
		return finish(st, JUDGE_HARMFUL, &t, ev);
	}

	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			if (dir_on(&cfg->metric[i], d) && cfg->metric[i].budget > 0 &&
			    budget_excess(st, i, d) > cfg->metric[i].budget) {
				ev_budget(st, &t, i, d);
				return finish(st, JUDGE_HARMFUL, &t, ev);
			}

	for (i = 0; i < JUDGE_NR_METRICS; i++)
		for (d = 0; d < JUDGE_NR_DIRS; d++)
			if (dir_on(&cfg->metric[i], d) && cfg->metric[i].prove &&
			    st->m[i].safe_max[d] < st->safe_log_thr)
				proven = false;
	if (proven && exposure_met(st)) {
		if (!weakest_safety(st, &t))
			ev_exposure(st, &t);
		return finish(st, JUDGE_HEALTHY, &t, ev);
	}
	if (proven || !weakest_safety(st, &t))
		ev_exposure(st, &t);
	if (cfg->max_step_ms && st->last_ms - st->step_start_ms >= cfg->max_step_ms)
		return finish(st, JUDGE_TIMEOUT, &t, ev);
	return finish(st, JUDGE_INCONCLUSIVE, &t, ev);
}

/* ---- formatting ---- */

const char *judge_verdict__name(enum judge_verdict v)
{
	switch (v) {
	case JUDGE_INCONCLUSIVE: return "inconclusive";
	case JUDGE_HEALTHY: return "healthy";
	case JUDGE_HARMFUL: return "harmful";
	case JUDGE_UNTRUSTED: return "untrusted";
	case JUDGE_TIMEOUT: return "timeout";
	}
	return "?";
}

static const char *dir_name(enum judge_dir d)
{
	return d == JUDGE_DIR_UP ? "up" : d == JUDGE_DIR_DOWN ? "down" : "";
}

static int test_format(const struct judge_test_ev *t, char *buf, size_t len)
{
	const char *dn = dir_name(t->dir);

	switch (t->test) {
	case JUDGE_TEST_HARM:
	case JUDGE_TEST_SAFETY:
		return snprintf(buf, len,
				"%s %s %s: cand %llu/%llu (%.3g) stable %llu/%llu (%.3g) ratio %.3g "
				"vs %s %.3g: log(Lambda) %.2f %s %.2f, p %.3g (one look %.3g), "
				"deff %.2f%s",
				t->metric, dn, t->test == JUDGE_TEST_HARM ? "harm" : "safety",
				(unsigned long long)t->x_c, (unsigned long long)t->n_c, t->rate_c,
				(unsigned long long)t->x_s, (unsigned long long)t->n_s, t->rate_s,
				t->ratio, t->test == JUDGE_TEST_HARM ? "rho0" : "rho1", t->rho,
				t->stat, t->decided ? ">=" : "<", t->threshold, t->p, t->p_fixed,
				t->deff, t->ready ? "" : " (too few bins to decide)");
	case JUDGE_TEST_EXACT:
		return snprintf(buf, len,
				"%s exact: cand %llu/%llu stable %llu/%llu, rho0 %.3g: p %.3g %s %.3g",
				t->metric, (unsigned long long)t->x_c, (unsigned long long)t->n_c,
				(unsigned long long)t->x_s, (unsigned long long)t->n_s, t->rho, t->p,
				t->decided ? "<=" : ">", exp(-t->threshold));
	case JUDGE_TEST_LIMIT:
		return snprintf(buf, len, "%s: cand %llu in %llu packets (stable %llu): %s",
				t->metric, (unsigned long long)t->x_c, (unsigned long long)t->n_c,
				(unsigned long long)t->x_s,
				t->decided ? "any is harmful" : "none");
	case JUDGE_TEST_BUDGET:
		return snprintf(buf, len,
				"%s %s budget: cand %llu/%llu stable %llu/%llu: excess %.1f %s %.1f",
				t->metric, dn, (unsigned long long)t->x_c, (unsigned long long)t->n_c,
				(unsigned long long)t->x_s, (unsigned long long)t->n_s, t->stat,
				t->decided ? ">" : "<=", t->threshold);
	case JUDGE_TEST_SRM:
		return snprintf(buf, len,
				"split: cand %llu of %llu packets (%.3f%%) vs configured %.3f%%: "
				"chi2 %.2f %s %.2f (deff %.2f), p %.3g (one look %.3g)%s",
				(unsigned long long)t->x_c, (unsigned long long)t->n_c,
				100 * t->rate_c, 100 * t->rate_s, t->stat,
				t->decided ? ">=" : "<", t->threshold, t->deff, t->p, t->p_fixed,
				t->ready ? "" : " (too few intervals to decide)");
	case JUDGE_TEST_INPUT:
		return snprintf(buf, len, "input: %s %llu out of range (max %llu)", t->metric,
				(unsigned long long)t->x_c, (unsigned long long)t->n_c);
	case JUDGE_TEST_EXPOSURE:
		return snprintf(buf, len,
				"exposure: cand packets %llu/%llu, events %llu/%llu, bake %.1f/%.1f s",
				(unsigned long long)t->x_c, (unsigned long long)t->n_c,
				(unsigned long long)t->x_s, (unsigned long long)t->n_s,
				t->stat / 1000, t->threshold / 1000);
	}
	return snprintf(buf, len, "?");
}

int judge_test_ev__format(const struct judge_test_ev *t, char *buf, size_t len)
{
	int n;

	if (!t || !buf || !len)
		return -EINVAL;
	n = test_format(t, buf, len);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : 0;
}

int judge_evidence__format(const struct judge_evidence *ev, char *buf, size_t len)
{
	int n;

	if (!ev || !buf || !len)
		return -EINVAL;
	n = snprintf(buf, len, "%s (step %u, %.1f s): ", judge_verdict__name(ev->verdict),
		     ev->step, ev->step_ms / 1000.0);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return judge_test_ev__format(&ev->decision, buf + n, len - n);
}
