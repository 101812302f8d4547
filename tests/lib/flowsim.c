// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow-level simulator (flowsim.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_abi.h"
#include "engine.h"
#include "flowsim.h"
#include "rng.h"

static double normal(__u64 *s)
{
	double u1 = splitmix_unit(s) + 1e-300, u2 = splitmix_unit(s);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Inversion (one uniform) below 15, a rounded normal above: fast, and fine for counts. */
static __u64 poisson(__u64 *s, double mean)
{
	if (mean <= 0)
		return 0;
	if (mean < 15) {
		double p = exp(-mean), f = p, u = splitmix_unit(s);
		__u64 k = 0;

		while (u > f && k < 200) {
			k++;
			p *= mean / k;
			f += p;
		}
		return k;
	}
	{
		double x = mean + sqrt(mean) * normal(s) + 0.5;

		return x < 0 ? 0 : (__u64)x;
	}
}

/* Binomial(n, p) by its Poisson or normal approximation, capped at n. */
static __u64 binom(__u64 *s, __u64 n, double p)
{
	__u64 k;

	if (!n || p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (n * p < 20 || n * (1 - p) < 20) {
		if (p > 0.5)
			return n - binom(s, n, 1 - p);
		k = poisson(s, n * p);
	} else {
		double x = n * p + sqrt(n * p * (1 - p)) * normal(s) + 0.5;

		k = x < 0 ? 0 : (__u64)x;
	}
	return k > n ? n : k;
}

static double loguni(__u64 *s, double lo, double hi)
{
	if (hi <= lo)
		return lo;
	return exp(log(lo) + splitmix_unit(s) * (log(hi) - log(lo)));
}

static double uni(__u64 *s, double lo, double hi)
{
	return lo + splitmix_unit(s) * (hi - lo);
}

enum { C_CLEAN, C_ATTACK, C_BH, NR_CLASSES };

struct flow {
	__u32 saddr, daddr, ports;
	double rate;	/* packets per second at rate multiplier 1 */
	__u32 stratum;
	__u8 cls;
};

struct sim {
	__u64 rng;
	const struct flowsim_family *fam;
	__u32 seed;		/* the dispatcher's hash seed, new per rollout */
	struct flow *fl;
	__u32 nr, cap;
	double lam[CANARY_STRATA][NR_CLASSES];
	double pps, pkt_drop, cold, q_mult, sigma, mu, phase, period;
	double flood_on_until, flood_off_until;
	double burst_at;
	bool burst_done;
	/* Cost: probability and conditional mean of each log2 bucket, per version. */
	double pb[2][CANARY_COST_BUCKETS], mb[2][CANARY_COST_BUCKETS];
	__u32 cost_share;
	__u64 harmed;
	struct canary_stratum strata[CANARY_STRATA];
};

static void flow_hash(struct sim *m, struct flow *f)
{
	f->stratum = canary_bucket(canary_hash_v4(f->saddr, f->daddr, f->ports, 6, m->seed)) /
		     CANARY_STRATUM_BP;
}

static void flow_add(struct sim *m, struct flow *f, double sign)
{
	m->lam[f->stratum][f->cls] += sign * f->rate;
}

/* A flow's size before scaling: Zipf by rank, or log-normal. */
static double flow_size(struct sim *m, __u32 rank)
{
	if (m->fam->sizes == FLOWSIM_ZIPF)
		return pow(rank + 1.0, -m->fam->zipf_s);
	return exp(m->sigma * normal(&m->rng));
}

static void new_tuple(struct sim *m, struct flow *f, bool bh)
{
	/* The /24 is 198.51.100.0/24; the others anywhere in 10/8. */
	f->saddr = bh ? (0xc6336400U | (splitmix_next(&m->rng) & 0xff)) :
		   (0x0a000000U | (splitmix_next(&m->rng) & 0xffffff));
	f->daddr = 0xcb007100U | (splitmix_next(&m->rng) & 0xff);
	f->ports = (__u32)(splitmix_next(&m->rng) & 0xffffffffU);
	flow_hash(m, f);
}

static void grow(struct sim *m, __u32 need)
{
	if (need <= m->cap)
		return;
	m->cap = need * 2;
	m->fl = realloc(m->fl, m->cap * sizeof(*m->fl));
}

/* Mark random flows of class C_CLEAN as CLS until they carry FRAC of the rate. */
static void mark_share(struct sim *m, double total, double frac, __u8 cls, bool retuple)
{
	double got = 0;
	__u32 tries;

	for (tries = 0; got < frac * total && tries < m->nr * 4; tries++) {
		struct flow *f = &m->fl[splitmix_next(&m->rng) % m->nr];

		if (f->cls != C_CLEAN || got + f->rate > 1.5 * frac * total + 1e-9)
			continue;
		f->cls = cls;
		if (retuple)
			new_tuple(m, f, cls == C_BH);
		got += f->rate;
	}
}

static void setup(struct sim *m, const struct flowsim_family *fam, uint64_t seed,
		  struct flowsim_result *res)
{
	double total = 0, scale, nf;
	__u32 i;

	memset(m, 0, sizeof(*m));
	m->rng = seed * 0x9e3779b97f4a7c15ULL + 12345;
	m->fam = fam;
	m->seed = (__u32)splitmix_next(&m->rng);
	nf = loguni(&m->rng, fam->flows_lo, fam->flows_hi);
	m->pps = loguni(&m->rng, fam->pps_lo, fam->pps_hi);
	m->sigma = uni(&m->rng, fam->ln_sigma_lo, fam->ln_sigma_hi);
	m->pkt_drop = uni(&m->rng, fam->pkt_drop_lo, fam->pkt_drop_hi);
	m->cold = uni(&m->rng, fam->cold_lo, fam->cold_hi);
	m->period = uni(&m->rng, 600, 1800);
	m->phase = uni(&m->rng, 0, 2 * M_PI);
	m->nr = (__u32)nf;
	grow(m, m->nr + 1);
	for (i = 0; i < m->nr; i++) {
		struct flow *f = &m->fl[i];

		f->rate = flow_size(m, i);
		f->cls = C_CLEAN;
		total += f->rate;
	}
	if (fam->attack_pkt_frac > 0)
		mark_share(m, total, fam->attack_pkt_frac, C_ATTACK, false);
	for (i = 0; fam->attack_flow_frac > 0 && i < m->nr; i++)
		if (splitmix_unit(&m->rng) < fam->attack_flow_frac)
			m->fl[i].cls = C_ATTACK;
	if (fam->bh_hi > 0)
		mark_share(m, total, uni(&m->rng, fam->bh_lo, fam->bh_hi), C_BH, true);
	for (i = 0; i < m->nr; i++)
		if (m->fl[i].cls != C_BH)
			new_tuple(m, &m->fl[i], false);
	if (fam->elephant_hi > 0) {
		double share = uni(&m->rng, fam->elephant_lo, fam->elephant_hi);
		struct flow *f = &m->fl[m->nr++];

		/* share of the total after adding it. */
		f->rate = total * share / (1 - share);
		f->cls = C_ATTACK;
		new_tuple(m, f, false);
		total += f->rate;
	}
	/* The flood's packets are counted on top of the flows'. */
	scale = m->pps * (1 - fam->flood_frac) / total;
	for (i = 0; i < m->nr; i++) {
		m->fl[i].rate *= scale;
		flow_add(m, &m->fl[i], 1);
	}
	/* Stable's drop rate, for a regression "harm_mult times" it. */
	{
		double att = 0;

		for (i = 0; i < m->nr; i++)
			if (m->fl[i].cls == C_ATTACK)
				att += m->fl[i].rate;
		att /= m->pps * (1 - fam->flood_frac);
		{
			double r = att + (1 - att) * m->pkt_drop;

			m->q_mult = fam->harm == FLOWSIM_DROP_MULT ?
				fmin(1, (fam->harm_mult - 1) * r / (1 - r)) : 0;
			res->drop_rate = r;
		}
	}
	m->mu = log(uni(&m->rng, 80, 1500));
	m->flood_off_until = uni(&m->rng, 0, 240);
	m->burst_at = uni(&m->rng, 60, 360);
	res->pps = m->pps;
	res->flows = nf;
}

static double norm_cdf(double x)
{
	return 0.5 * erfc(-x / sqrt(2));
}

/* Bucket probabilities of a log-normal cost times FACTOR, for version V. */
static void cost_model(struct sim *m, int v, double factor)
{
	double mu = m->mu + log(factor), s = m->sigma * 0.5 + 0.15;
	int b;

	for (b = 0; b < CANARY_COST_BUCKETS; b++) {
		double lo = b * M_LN2, hi = (b + 1) * M_LN2;
		double p = norm_cdf((hi - mu) / s) - norm_cdf((lo - mu) / s);
		double q = norm_cdf((hi - mu - s * s) / s) - norm_cdf((lo - mu - s * s) / s);

		if (b == 0)
			p += norm_cdf((lo - mu) / s);
		m->pb[v][b] = p;
		m->mb[v][b] = p > 1e-12 ? exp(mu + s * s / 2) * q / p : exp(hi);
	}
}

static void cost_sample(struct sim *m, int v, __u64 packets, struct judge_sample *out)
{
	double n = packets / 128.0;
	int b;

	for (b = 0; b < CANARY_COST_BUCKETS; b++) {
		__u64 k = m->pb[v][b] > 1e-9 ? poisson(&m->rng, n * m->pb[v][b]) : 0;

		out->cost_hist[b] = k;
		out->cost_samples += k;
		out->cost_ns += (__u64)(k * m->mb[v][b]);
	}
}

/* The candidate's cost factor: cold caches at small shares, times the harm. */
static double cand_cost(const struct sim *m, __u32 share_bp)
{
	double s = share_bp / 10000.0, cold = 1 + (m->cold - 1) * fmax(0, 1 - s / 0.5);

	return cold * (m->fam->harm == FLOWSIM_COST ? m->fam->harm_mult : 1);
}

static void churn(struct sim *m, double frac)
{
	__u64 k = poisson(&m->rng, m->nr * frac), i;

	for (i = 0; i < k; i++) {
		struct flow *f = &m->fl[splitmix_next(&m->rng) % m->nr];

		flow_add(m, f, -1);
		new_tuple(m, f, f->cls == C_BH);
		flow_add(m, f, 1);
	}
}

/* New attack flows carrying FRAC of the packets, from now on. */
static void burst(struct sim *m, double frac)
{
	double want = frac * m->pps, got = 0;

	while (got < want) {
		struct flow *f;
		double r = fmin(want - got, m->pps * 0.01 * exp(normal(&m->rng)));

		grow(m, m->nr + 1);
		f = &m->fl[m->nr++];
		f->rate = fmax(r, 0.1);
		f->cls = C_ATTACK;
		new_tuple(m, f, false);
		flow_add(m, f, 1);
		got += f->rate;
	}
}

static bool flood_on(struct sim *m, double t, __u32 plan_step, bool warming)
{
	const struct flowsim_family *fam = m->fam;

	if (fam->flood_frac <= 0)
		return false;
	if (fam->flood_first_step)
		return !warming && plan_step == 0;
	if (t < m->flood_off_until)
		return false;
	if (t < m->flood_on_until)
		return true;
	/* An attack of 20-100 s, then 30-200 s of quiet. */
	m->flood_on_until = t + uni(&m->rng, 20, 100);
	m->flood_off_until = m->flood_on_until + uni(&m->rng, 30, 200);
	return true;
}

/* One second of traffic at the rollout's current share. */
static void tick(struct sim *m, const struct rollout *r, double t, struct rollout_event *ev)
{
	const struct flowsim_family *fam = m->fam;
	double mult = 1 + fam->diurnal_amp * sin(2 * M_PI * t / m->period + m->phase);
	__u32 nc = r->share_bp / CANARY_STRATUM_BP, s;
	double flood = flood_on(m, t, r->step, r->warming) ? fam->flood_frac * m->pps * mult : 0;
	double p = m->pkt_drop;

	memset(ev, 0, sizeof(*ev));
	ev->type = ROLLOUT_EV_TICK;
	ev->strata = m->strata;
	if (m->cost_share != r->share_bp + 1) {
		cost_model(m, 0, 1);
		cost_model(m, 1, cand_cost(m, r->share_bp));
		m->cost_share = r->share_bp + 1;
	}
	for (s = 0; s < CANARY_STRATA; s++) {
		const double *l = m->lam[s];
		__u64 cd = poisson(&m->rng, l[C_CLEAN] * mult * p);
		__u64 cp = poisson(&m->rng, l[C_CLEAN] * mult * (1 - p));
		__u64 a = poisson(&m->rng, l[C_ATTACK] * mult);
		__u64 bd = l[C_BH] > 0 ? poisson(&m->rng, l[C_BH] * mult * p) : 0;
		__u64 bp = l[C_BH] > 0 ? poisson(&m->rng, l[C_BH] * mult * (1 - p)) : 0;
		__u64 f = 0, drop, pass, ab = 0, x;
		struct judge_sample *out;

		if (flood > 0) {
			/* Flood flows of 1 to a few packets, new every second. */
			__u64 nfl = poisson(&m->rng, flood / CANARY_STRATA / 2.5);

			f = nfl + poisson(&m->rng, nfl * 1.5);
		}
		drop = cd + a + bd + f;
		pass = cp + bp;
		if (s < nc) {
			switch (fam->harm) {
			case FLOWSIM_BLACKHOLE:
				drop += bp;
				pass -= bp;
				m->harmed += bp;
				break;
			case FLOWSIM_LEAKY:
				x = binom(&m->rng, drop, 0.5);
				drop -= x;
				pass += x;
				m->harmed += x;
				break;
			case FLOWSIM_DROP_MULT:
				x = binom(&m->rng, pass, m->q_mult);
				drop += x;
				pass -= x;
				m->harmed += x;
				break;
			case FLOWSIM_ABORTS:
				ab = binom(&m->rng, pass, fam->harm_mult);
				pass -= ab;
				m->harmed += ab;
				break;
			default:
				break;
			}
			out = &ev->cand;
		} else {
			out = &ev->stable;
		}
		m->strata[s] = (struct canary_stratum){ 0 };
		m->strata[s].verdict[CANARY_V_DROP] = drop;
		m->strata[s].verdict[CANARY_V_PASS] = pass;
		m->strata[s].verdict[CANARY_V_ABORTED] = ab;
		out->packets += drop + pass + ab;
		out->drops += drop;
		out->passes += pass;
		out->aborts += ab;
	}
	if (fam->harm == FLOWSIM_COST)
		m->harmed += ev->cand.packets;
	cost_sample(m, 0, ev->stable.packets, &ev->stable);
	cost_sample(m, 1, ev->cand.packets, &ev->cand);
}

void flowsim_run(const struct flowsim_family *fam, uint64_t seed, struct flowsim_result *res)
{
	static struct rollout r;
	static struct sim m;
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	struct rollout_actions a;
	double churn_rate;
	__u64 t;

	memset(res, 0, sizeof(*res));
	setup(&m, fam, seed, res);
	churn_rate = uni(&m.rng, fam->churn_lo, fam->churn_hi);
	/* canaryd's defaults: config.c rollout_defaults() and judge_config__defaults(). */
	rollout_plan__parse(&plan, "1,5,25,50,100", 60 * 1000, 3600 * 1000, 10000);
	plan.on_timeout = ROLLOUT_TIMEOUT_PAUSE;
	judge_config__defaults(&jc);
	jc.min_bake_ms = 60 * 1000;
	jc.max_step_ms = 3600 * 1000;
	jc.min_cand_packets = 10000;
	rollout__init(&r, &plan, &jc);
	rollout__handle(&r, &ev, &a);
	for (t = 1; !rollout__done(&r) && t < 6 * 3600; t++) {
		if (churn_rate > 0)
			churn(&m, churn_rate);
		if (fam->burst_frac > 0 && !m.burst_done && t >= m.burst_at) {
			burst(&m, fam->burst_frac);
			m.burst_done = true;
		}
		tick(&m, &r, (double)t, &ev);
		ev.now_ms = 1000 + t * 1000;
		rollout__handle(&r, &ev, &a);
		if (r.phase == ROLLOUT_PAUSED) {
			res->paused = true;
			break;
		}
	}
	res->phase = r.phase;
	res->by_judge = r.phase == ROLLOUT_ROLLED_BACK;
	res->step = r.step;
	res->secs = t;
	res->cand_packets = r.totals.cand_packets;
	res->harmed_packets = m.harmed;
	snprintf(res->reason, sizeof(res->reason), "%s", r.reason);
	free(m.fl);
	m.fl = NULL;
}
