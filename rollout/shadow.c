// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Shadow evidence and its paired, anytime-valid test (shadow.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shadow.h"

void shadow_params__default(struct shadow_params *p)
{
	int m;

	memset(p, 0, sizeof(*p));
	for (m = 0; m < SHADOW_METRICS; m++)
		p->tolerance[m] = 0.01;
	p->alpha = 0.01;
	p->min_fidelity = 0.99;
	p->min_samples = 200;
}

/* Does verdict V count for metric M? */
static bool counts(enum shadow_metric m, __u32 v)
{
	switch (m) {
	case SHADOW_DROP_UP:
	case SHADOW_DROP_DOWN:
		return v == CANARY_V_DROP;
	case SHADOW_PASS_DOWN:
		return v == CANARY_V_PASS;
	case SHADOW_ABORTED_UP:
		return v == CANARY_V_ABORTED;
	case SHADOW_INVALID_UP:
		return v == CANARY_V_INVALID;
	default:
		return false;
	}
}

/* X for metric M: +1 harmful move, -1 the other way, 0 agreement. */
static int move(enum shadow_metric m, __u32 vs, __u32 vc)
{
	int d = (int)counts(m, vc) - (int)counts(m, vs);

	/* "down" metrics are harmful when the candidate has less of it. */
	return m == SHADOW_DROP_DOWN || m == SHADOW_PASS_DOWN ? -d : d;
}

/* Bet k of the grid: (k + 1) / (SHADOW_LAMBDAS + 1) of the largest allowed, 1/(1 + tol). */
static double bet(int k, double tol)
{
	return (k + 1.0) / (SHADOW_LAMBDAS + 1.0) / (1.0 + tol);
}

static void keep(struct shadow_cell *c, __u64 index, const char *summary)
{
	c->samples++;
	if (c->n_examples < SHADOW_EXAMPLES) {
		c->ex[c->n_examples].index = index;
		snprintf(c->ex[c->n_examples].summary, sizeof(c->ex[0].summary), "%s",
			 summary ? summary : "");
		c->n_examples++;
	}
}

static __u32 clamp_verdict(__u32 v)
{
	return v > CANARY_V_INVALID ? CANARY_V_INVALID : v;
}

void shadow_evidence__add(struct shadow_evidence *e, const struct shadow_params *p, __u32 live,
			  __u32 vs, __u32 vc, bool rewritten, const char *summary)
{
	shadow_evidence__add_pair(e, p, clamp_verdict(vs) == clamp_verdict(live), vs, vc,
				  rewritten, summary);
}

bool shadow_live__pair(__u32 slot, __u32 live, __u32 shadow_s, __u32 shadow_c, __u32 *vs,
		       __u32 *vc)
{
	live = clamp_verdict(live);
	if (slot == CANARY_SLOT_STABLE) {
		*vs = live;
		*vc = clamp_verdict(shadow_c);
		return clamp_verdict(shadow_s) == live;
	}
	*vs = clamp_verdict(shadow_s);
	*vc = live;
	return clamp_verdict(shadow_c) == live;
}

enum shadow_decision shadow_live__decide(const struct shadow_evidence *rollout,
					 const struct shadow_evidence *step,
					 const struct shadow_params *p, enum shadow_metric *metric)
{
	enum shadow_decision d;

	if (shadow_evidence__decide(rollout, p, metric) == SHADOW_HARMFUL)
		return SHADOW_HARMFUL;
	d = shadow_evidence__decide(step, p, NULL);
	return d == SHADOW_HARMFUL ? SHADOW_UNDECIDED : d;
}

void shadow_evidence__add_pair(struct shadow_evidence *e, const struct shadow_params *p,
			       bool faithful, __u32 vs, __u32 vc, bool rewritten,
			       const char *summary)
{
	int m, k;

	vs = clamp_verdict(vs);
	vc = clamp_verdict(vc);
	e->samples++;
	if (faithful)
		e->faithful++;
	if (vs != vc)
		keep(&e->cell[vs][vc], e->samples, summary);
	else
		e->cell[vs][vc].samples++;
	if (rewritten)
		keep(&e->rewritten, e->samples, summary);
	for (m = 0; m < SHADOW_METRICS; m++) {
		struct shadow_test *t = &e->test[m];
		double tol = p->tolerance[m];
		int x = move(m, vs, vc);

		if (x > 0)
			t->up++;
		else if (x < 0)
			t->down++;
		for (k = 0; k < SHADOW_LAMBDAS; k++) {
			double l = bet(k, tol);

			t->log_harm[k] += log1p(l * (x - tol));
			t->log_safe[k] += log1p(l * (tol - x));
		}
	}
}

double shadow_evidence__fidelity(const struct shadow_evidence *e)
{
	return e->samples ? (double)e->faithful / (double)e->samples : 1.0;
}

/* The average of exp(v[k]), computed without overflow. */
static double mean_exp(const double *v)
{
	double mx = v[0], s = 0;
	int k;

	for (k = 1; k < SHADOW_LAMBDAS; k++)
		if (v[k] > mx)
			mx = v[k];
	for (k = 0; k < SHADOW_LAMBDAS; k++)
		s += exp(v[k] - mx);
	return exp(mx) * s / SHADOW_LAMBDAS;
}

double shadow_test__harm_evalue(const struct shadow_test *t)
{
	return mean_exp(t->log_harm);
}

double shadow_test__safe_evalue(const struct shadow_test *t)
{
	return mean_exp(t->log_safe);
}

enum shadow_decision shadow_evidence__decide(const struct shadow_evidence *e,
					     const struct shadow_params *p,
					     enum shadow_metric *metric)
{
	bool all_safe = true;
	int m;

	if (e->samples < p->min_samples || !e->samples)
		return SHADOW_UNDECIDED;
	if (shadow_evidence__fidelity(e) < p->min_fidelity)
		return SHADOW_WEAK;
	for (m = 0; m < SHADOW_METRICS; m++) {
		if (shadow_test__harm_evalue(&e->test[m]) >= 1.0 / p->alpha) {
			if (metric)
				*metric = m;
			return SHADOW_HARMFUL;
		}
		if (shadow_test__safe_evalue(&e->test[m]) < 1.0 / p->alpha)
			all_safe = false;
	}
	return all_safe ? SHADOW_SAFE : SHADOW_UNDECIDED;
}

const char *shadow_metric__name(__u32 m)
{
	static const char *const names[SHADOW_METRICS] = {
		"drop_up", "drop_down", "pass_down", "aborted_up", "invalid_up",
	};

	return m < SHADOW_METRICS ? names[m] : NULL;
}

const char *shadow_decision__name(__u32 d)
{
	static const char *const names[] = { "undecided", "harmful", "safe", "weak" };

	return d < sizeof(names) / sizeof(names[0]) ? names[d] : NULL;
}
