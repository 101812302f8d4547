// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The entity judge (entity.h): an entity's own traffic before and after, with a control. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "entity.h"

/* Scale of the normal mixture over log ratios: effects of order e-fold. */
#define ENTITY_TAU2 1.0
/*
 * Read intervals each period needs before a decision: two tell a
 * dispersion with one degree of freedom, too easily small by chance.
 */
#define ENTITY_MIN_BINS 3

void entity_config__from_judge(struct entity_config *ec, const struct judge_config *jc,
			       __u32 nr)
{
	const struct judge_metric_cfg *m = &jc->metric[JUDGE_METRIC_DROP];

	memset(ec, 0, sizeof(*ec));
	ec->harm_alpha = jc->alpha / (2.0 * (nr ? nr : 1));
	ec->safe_alpha = jc->alpha;
	ec->rho0 = m->rho0;
	ec->rho1 = m->rho1;
	ec->floor = m->floor;
	ec->up = m->up;
	ec->down = m->down;
	ec->min_events = jc->min_events;
}

static void period_add(struct entity_period *p, __u64 n, __u64 x)
{
	if (!n)
		return;
	p->n += n;
	p->x += x;
	p->xx += (double)x * x;
	p->xn += (double)x * n;
	p->nn += (double)n * n;
	p->bins++;
}

void entity_judge__add(struct entity_judge *j, int half, const struct judge_sample *pinned,
		       const struct judge_sample *pinned_stable, const struct judge_sample *split)
{
	if (half < 0 || half > 1)
		return;
	if (!half) {
		j->own_n += pinned_stable->packets;
		j->own_x += pinned_stable->drops < pinned_stable->packets ? pinned_stable->drops
									  : pinned_stable->packets;
	}
	/* Drops can't exceed packets; a torn read is clamped, not trusted. */
	period_add(&j->e[half], pinned->packets,
		   pinned->drops < pinned->packets ? pinned->drops : pinned->packets);
	period_add(&j->c[half], split->packets,
		   split->drops < split->packets ? split->drops : split->packets);
}

double entity_judge__own_after(const struct entity_judge *j)
{
	double f = j->e[0].n > 0 ? j->own_n / j->e[0].n : 0;

	return j->e[1].n * (f < 1 ? f : 1);
}

/*
 * The variance of X over a period: the dispersion of the bins' events
 * around their share of the period's rate (the ratio estimator's), at
 * least the binomial variance of the smoothed rate.
 */
static double period_var(const struct entity_period *p)
{
	double r = p->n ? p->x / p->n : 0, rs = (p->x + 0.5) / (p->n + 1);
	double binom = p->n * rs * (1 - rs), s = 0;

	if (p->bins >= 2) {
		s = p->xx - 2 * r * p->xn + r * r * p->nn;
		s = s > 0 ? s * p->bins / (p->bins - 1) : 0;
	}
	return s > binom ? s : binom;
}

/* log of the smoothed rate and its variance (delta method: var(X) / (X + 0.5)^2). */
static void log_rate(const struct entity_period *p, double *l, double *v)
{
	*l = log((p->x + 0.5) / (p->n + 1));
	*v = period_var(p) / ((p->x + 0.5) * (p->x + 0.5));
}

/* Half-width of the normal-mixture confidence sequence for an estimate of variance V. */
static double cs_width(double v, double alpha)
{
	return sqrt(v * (v + ENTITY_TAU2) / ENTITY_TAU2 *
		    (2 * log(1 / alpha) + log(1 + ENTITY_TAU2 / v)));
}

/* log of the mixture likelihood ratio for a departure D beyond H0 (0 at D <= 0). */
static double mix_log_e(double d, double v)
{
	if (d <= 0)
		return 0;
	return -0.5 * log(1 + ENTITY_TAU2 / v) + ENTITY_TAU2 * d * d / (2 * v * (v + ENTITY_TAU2));
}

/*
 * An upper bound of a period's rate (Poisson-Chernoff, inflated by the
 * bins' dispersion), its level spread over the looks by a log-log term.
 */
static double rate_ucb(const struct entity_period *p, double alpha)
{
	double raw = p->n ? p->x * (1 - p->x / p->n) : 0, phi = 1, c;

	if (!p->n)
		return 1;
	if (raw > 0 && period_var(p) > raw)
		phi = period_var(p) / raw;
	c = phi * (log(1 / alpha) + 2 * log(2 + log2(1 + p->bins)));
	return (p->x + c + sqrt(c * c + 2 * p->x * c)) / p->n;
}

static bool control_usable(const struct entity_judge *j, const struct entity_config *ec,
			   int upto)
{
	int h;

	for (h = 0; h <= upto; h++)
		if (j->c[h].bins < ENTITY_MIN_BINS || j->c[h].x < ec->min_events)
			return false;
	return true;
}

bool entity_judge__baseline_ready(const struct entity_judge *j, const struct entity_config *ec)
{
	double l, v, cl, cv = 0;

	if (j->e[0].bins < ENTITY_MIN_BINS)
		return false;
	if (ec->floor > 0 && rate_ucb(&j->e[0], ec->safe_alpha) < ec->floor / 2)
		return true;
	log_rate(&j->e[0], &l, &v);
	if (control_usable(j, ec, 0))
		log_rate(&j->c[0], &cl, &cv);
	return cs_width(2 * (v + cv), ec->safe_alpha) < log(ec->rho1);
}

enum entity_verdict entity_judge__decide(const struct entity_judge *j,
					 const struct entity_config *ec, bool exposed,
					 struct entity_evidence *out)
{
	struct entity_evidence ev;
	double l0, v0, l1, v1, L, V, ws, harm_thr = log(1 / ec->harm_alpha);
	double e_up, e_down, lr0 = log(ec->rho0), lr1 = log(ec->rho1);
	bool up_ok, down_ok;

	memset(&ev, 0, sizeof(ev));
	ev.n_before = (__u64)j->e[0].n;
	ev.x_before = (__u64)j->e[0].x;
	ev.n_after = (__u64)j->e[1].n;
	ev.x_after = (__u64)j->e[1].x;
	ev.cn_before = (__u64)j->c[0].n;
	ev.cx_before = (__u64)j->c[0].x;
	ev.cn_after = (__u64)j->c[1].n;
	ev.cx_after = (__u64)j->c[1].x;
	ev.rate_before = j->e[0].n ? j->e[0].x / j->e[0].n : 0;
	ev.rate_after = j->e[1].n ? j->e[1].x / j->e[1].n : 0;
	ev.ctl_before = j->c[0].n ? j->c[0].x / j->c[0].n : 0;
	ev.ctl_after = j->c[1].n ? j->c[1].x / j->c[1].n : 0;
	ev.threshold = harm_thr;
	ev.dir = JUDGE_DIR_NONE;
	snprintf(ev.by, sizeof(ev.by), "waiting");
	ev.verdict = ENTITY_V_WAIT;
	if (j->e[0].bins < ENTITY_MIN_BINS || j->e[1].bins < ENTITY_MIN_BINS)
		goto out;
	log_rate(&j->e[0], &l0, &v0);
	log_rate(&j->e[1], &l1, &v1);
	L = l1 - l0;
	V = v0 + v1;
	/* The control only where it has the events to say something. */
	ev.control = control_usable(j, ec, 1);
	if (ev.control) {
		double c0, cv0, c1, cv1;

		log_rate(&j->c[0], &c0, &cv0);
		log_rate(&j->c[1], &c1, &cv1);
		L -= c1 - c0;
		V += cv0 + cv1;
	}
	ws = cs_width(V, ec->safe_alpha);
	ev.ratio = exp(L);
	ev.lo = exp(L - ws);
	ev.hi = exp(L + ws);
	e_up = ec->up ? mix_log_e(L - lr0, V) : 0;
	e_down = ec->down ? mix_log_e(-L - lr0, V) : 0;
	ev.dir = e_up >= e_down ? JUDGE_DIR_UP : JUDGE_DIR_DOWN;
	ev.log_e = e_up >= e_down ? e_up : e_down;
	if (ev.log_e >= harm_thr) {
		ev.verdict = ENTITY_V_HARMFUL;
		snprintf(ev.by, sizeof(ev.by), "drop %s", ev.dir == JUDGE_DIR_UP ? "up" : "down");
		goto out;
	}
	if (!exposed)
		goto out;
	/*
	 * Healthy: each judged direction proven within rho1 on the ratio, or
	 * absolutely (the rate that could rise, after; the rate that could
	 * fall, before) below the floor.
	 */
	up_ok = !ec->up || L + ws < lr1 ||
		(ec->floor > 0 && rate_ucb(&j->e[1], ec->safe_alpha) < ec->floor);
	down_ok = !ec->down || -L + ws < lr1 ||
		  (ec->floor > 0 && rate_ucb(&j->e[0], ec->safe_alpha) < ec->floor);
	if (up_ok && down_ok) {
		ev.verdict = ENTITY_V_HEALTHY;
		snprintf(ev.by, sizeof(ev.by), "%s",
			 fabs(L) + ws < lr1 ? "ratio" : "floor");
	}
out:
	if (out)
		*out = ev;
	return ev.verdict;
}

int entity_evidence__format(const char *name, const struct entity_evidence *ev, char *buf,
			    size_t len)
{
	char ctl[96];
	int n;

	if (!len)
		return -EINVAL;
	if (!ev->n_before || !ev->n_after) {
		n = snprintf(buf, len, "entity %s: %llu packets before, %llu after: not judged yet",
			     name, (unsigned long long)ev->n_before,
			     (unsigned long long)ev->n_after);
		return n >= (int)len ? -ENOSPC : 0;
	}
	if (ev->control)
		snprintf(ctl, sizeof(ctl), "split control %.3g%% -> %.3g%%", 100 * ev->ctl_before,
			 100 * ev->ctl_after);
	else
		snprintf(ctl, sizeof(ctl), "no control: too few split drops");
	n = snprintf(buf, len,
		     "entity %s: drop rate %.3gx its own baseline (%.3g%% of %llu packets -> "
		     "%.3g%% of %llu; %s); interval %.3g-%.3gx; log e %.1f %s %.1f (%s)",
		     name, ev->ratio, 100 * ev->rate_before, (unsigned long long)ev->n_before,
		     100 * ev->rate_after, (unsigned long long)ev->n_after, ctl, ev->lo, ev->hi,
		     ev->log_e, ev->log_e >= ev->threshold ? ">=" : "<", ev->threshold, ev->by);
	return n >= (int)len ? -ENOSPC : 0;
}

const char *entity_state__name(enum entity_state s)
{
	static const char *const names[] = { "pending", "baseline", "judging", "passed",
					      "harmful" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
