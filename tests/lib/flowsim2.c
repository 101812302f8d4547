// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The session-level simulator (flowsim2.h, docs/SIM2.md). */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_abi.h"
#include "engine.h"
#include "flowsim2.h"
#include "judge.h"
#include "rng.h"

#define INF 1e300
#define MAX_LIFE 1e6		/* s: a cap on heavy-tailed lifetimes */
#define COST_EVERY 128		/* CANARY_COST_SAMPLE_DEFAULT (lib/dp.h) */

/* xoshiro256** seeded by splitmix64: a different generator from flowsim.c's. */
struct rng {
	__u64 s[4];
	double spare;
	bool have;
};

static uint64_t next(struct rng *g)
{
	return xoshiro_next(g->s);
}

static void rng_seed(struct rng *g, uint64_t seed)
{
	xoshiro_seed(g->s, seed);
}

static double unit(struct rng *g)
{
	return (next(g) >> 11) * (1.0 / 9007199254740992.0);
}

static double uni(struct rng *g, double lo, double hi)
{
	return lo + unit(g) * (hi - lo);
}

static double loguni(struct rng *g, double lo, double hi)
{
	return hi <= lo ? lo : exp(log(lo) + unit(g) * (log(hi) - log(lo)));
}

static double expo(struct rng *g, double mean)
{
	return -mean * log(1 - unit(g));
}

static double gauss(struct rng *g)
{
	/* Marsaglia's polar method; the second variate kept for the next call. */
	double u, v, q, f;

	if (g->have) {
		g->have = false;
		return g->spare;
	}
	do {
		u = 2 * unit(g) - 1;
		v = 2 * unit(g) - 1;
		q = u * u + v * v;
	} while (q >= 1 || q == 0);
	f = sqrt(-2 * log(q) / q);
	g->spare = v * f;
	g->have = true;
	return u * f;
}

static double pareto(struct rng *g, double xm, double alpha)
{
	return xm / pow(1 - unit(g), 1 / alpha);
}

/* Poisson: multiplication of uniforms below 30 (exact), else PTRS-free normal with continuity. */
static __u64 poisson(struct rng *g, double mean)
{
	if (mean <= 0)
		return 0;
	if (mean < 30) {
		double l = exp(-mean), p = unit(g);
		__u64 k = 0;

		while (p > l) {
			k++;
			p *= unit(g);
		}
		return k;
	}
	{
		double x = floor(mean + sqrt(mean) * gauss(g) + 0.5);

		return x < 0 ? 0 : (__u64)x;
	}
}

static __u64 binom(struct rng *g, __u64 n, double p)
{
	__u64 k;

	if (!n || p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - binom(g, n, 1 - p);
	if (n < 40) {
		__u64 i;

		for (i = k = 0; i < n; i++)
			k += unit(g) < p;
		return k;
	}
	if (n * p < 30) {
		k = poisson(g, n * p);
	} else {
		double x = floor(n * p + sqrt(n * p * (1 - p)) * gauss(g) + 0.5);

		k = x < 0 ? 0 : (__u64)x;
	}
	return k > n ? n : k;
}

/* The packet classes a stratum counts: verdicts, and those the harm changed. */
enum { K_PASS, K_DROP, K_ABORT, K_HPASS, K_HDROP, K_HABORT, NK };

enum { SH_CONST, SH_ONOFF, SH_SLOW };

struct host {
	__u32 addr[4];		/* host order */
	bool v6;
	__u32 net;		/* /24 (v4) or /48 (v6) index, 0-255 */
	double w;		/* activity weight */
	double rate;		/* its flows' current packets per second */
	double ld[2];		/* the limiter's drop fraction, stable and candidate */
	int head;		/* first of its flows, -1 */
	bool dirty;		/* rate changed this tick: the limiter is recomputed */
};

struct flow {
	__u32 host;
	int prev, next;		/* the host's flows */
	__u32 stratum;
	__u8 proto;
	__u16 sport, dport;
	__u32 daddr;		/* last word of the service address */
	__u8 shape, ss, backoff;
	bool on, alive, hostile, elephant, bh;
	double base, rate;
	double end, next_mod;
	__u32 gen;
	double c[NK];
};

struct event {
	double t;
	__u32 flow, gen;
};

struct sim {
	struct rng g;
	const struct sim2_family *fam;
	__u32 seed;
	struct host *h;
	__u32 nh;
	double *cum;		/* cumulative host weights, for drawing a source */
	bool net_denied[2][256];	/* [v6][net] */
	__u32 bh_net;		/* the black-holed v4 /24 */
	struct flow *f;
	__u32 nf, cap;
	int *free_list;
	__u32 nfree;
	struct event *heap;
	__u32 nev, evcap;
	double lam[CANARY_STRATA][NK];
	__u32 nc;		/* strata the candidate serves */
	double t;
	double sess, per_sess, life_mean, life_xm, mu_rate, pd, limit;
	double udp, deny_port, shift_at;
	bool shifted, moved;
	double move_at;
	double period, phase, cold, q;
	double flood_on_until, flood_off_until, scan_on_until, scan_off_until, scan_rate;
	double pps;
	/* Cost: per version, per verdict (0 drop/abort, 1 pass), bucket probabilities and means. */
	double mu_c[2], s_c[2];
	double pb[2][2][CANARY_COST_BUCKETS], mb[2][2][CANARY_COST_BUCKETS];
	double cost_factor;
	__u32 *dirty, ndirty;	/* hosts whose rate changed since the last tick */
	__u64 harmed;
	struct canary_stratum strata[CANARY_STRATA];
};

/* Event heap keyed by time. */
static void heap_push(struct sim *m, double t, __u32 fl)
{
	__u32 i;

	if (m->nev == m->evcap) {
		m->evcap = m->evcap ? m->evcap * 2 : 4096;
		m->heap = realloc(m->heap, m->evcap * sizeof(*m->heap));
	}
	i = m->nev++;
	while (i && m->heap[(i - 1) / 2].t > t) {
		m->heap[i] = m->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	m->heap[i] = (struct event){ t, fl, m->f[fl].gen };
}

static struct event heap_pop(struct sim *m)
{
	struct event top = m->heap[0], last = m->heap[--m->nev];
	__u32 i = 0;

	for (;;) {
		__u32 c = 2 * i + 1;

		if (c >= m->nev)
			break;
		if (c + 1 < m->nev && m->heap[c + 1].t < m->heap[c].t)
			c++;
		if (m->heap[c].t >= last.t)
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	if (m->nev)
		m->heap[i] = last;
	return top;
}

static void schedule(struct sim *m, __u32 i)
{
	struct flow *f = &m->f[i];

	f->gen++;
	heap_push(m, fmin(f->end, f->next_mod), i);
}

/* The stratum as the dispatcher computes it (canary__parse_l4's ports and protocol). */
static __u32 stratum_of(const struct sim *m, const struct flow *f)
{
	const struct host *h = &m->h[f->host];
	__u32 ports = (__u32)f->sport << 16 | f->dport, hash;

	/* Addresses as on the wire (the dispatcher loads them from the packet). */
	if (h->v6) {
		__u32 sa[4] = { htonl(h->addr[0]), htonl(h->addr[1]), htonl(h->addr[2]),
				htonl(h->addr[3]) };
		__u32 da[4] = { htonl(0x20010db8U), htonl(0xffff0000U), 0, htonl(f->daddr) };

		hash = canary_hash_v6(sa, da, ports, f->proto, m->seed);
	} else {
		hash = canary_hash_v4(htonl(h->addr[0]), htonl(0xc6130000U | f->daddr), ports,
				      f->proto, m->seed);
	}
	return canary_stratum_of(hash);
}

static bool port_denied(__u8 proto, __u16 dport)
{
	if (proto == 6)
		return dport == 23 || dport == 445 || dport == 3389;
	if (proto == 17)
		return dport == 1900 || dport == 11211;
	return false;
}

/* The flow's packet classes per second under the program serving it. */
static void verdicts(const struct sim *m, const struct flow *f, double c[NK])
{
	const struct sim2_family *fam = m->fam;
	const struct host *h = &m->h[f->host];
	bool cand = f->stratum < m->nc;
	double sp, sd, sa, ld = h->ld[0];

	memset(c, 0, NK * sizeof(*c));
	if (f->hostile) {
		sp = 0;
		sd = 1;
		sa = 0;
	} else {
		double keep = (1 - ld) * (1 - m->pd);

		sa = keep * fam->abort_rate;
		sp = keep - sa;
		sd = 1 - keep;
	}
	c[K_PASS] = sp;
	c[K_DROP] = sd;
	c[K_ABORT] = sa;
	if (cand) {
		switch (fam->harm) {
		case SIM2_BLACKHOLE:
			if (f->bh) {
				c[K_HDROP] = sp;
				c[K_PASS] = 0;
			}
			break;
		case SIM2_LEAKY:
			c[K_HPASS] = sd / 2;
			c[K_DROP] = sd / 2;
			break;
		case SIM2_DROP_MULT:
			c[K_HDROP] = sp * m->q;
			c[K_PASS] = sp * (1 - m->q);
			break;
		case SIM2_ABORTS:
			c[K_HABORT] = sp * fam->harm_mult;
			c[K_PASS] = sp * (1 - fam->harm_mult);
			break;
		case SIM2_LIMIT_HALF:
			if (!f->hostile && h->ld[1] > ld) {
				double keep = (1 - h->ld[1]) * (1 - m->pd), sp1 = keep * (1 - fam->abort_rate);

				c[K_HDROP] = sp - sp1;
				c[K_PASS] = sp1;
				c[K_ABORT] = keep * fam->abort_rate;
			}
			break;
		case SIM2_DROP_PORT:
			if (f->proto == 17 && f->dport == 53) {
				c[K_HDROP] = sp;
				c[K_PASS] = 0;
			}
			break;
		default:
			break;
		}
	}
	for (int k = 0; k < NK; k++)
		c[k] *= f->rate;
}

static void contribute(struct sim *m, __u32 i, int sign)
{
	struct flow *f = &m->f[i];
	int k;

	if (sign > 0)
		verdicts(m, f, f->c);
	for (k = 0; k < NK; k++)
		m->lam[f->stratum][k] += sign * f->c[k];
	if (sign < 0)
		for (k = 0; k < NK; k++)
			if (m->lam[f->stratum][k] < 1e-9)
				m->lam[f->stratum][k] = 0;	/* rounding: an empty class draws nothing */
}

/* Does the serving program drop all of this well-behaved flow (it backs off)? */
static bool blackholed(const struct sim *m, const struct flow *f)
{
	if (f->hostile || f->stratum >= m->nc || f->proto == 1 || f->proto == 58)
		return false;
	if (m->fam->harm == SIM2_BLACKHOLE)
		return f->bh;
	if (m->fam->harm == SIM2_DROP_PORT)
		return f->proto == 17 && f->dport == 53;
	return false;
}

static void set_rate(struct sim *m, __u32 i, double rate)
{
	struct flow *f = &m->f[i];
	struct host *h = &m->h[f->host];

	contribute(m, i, -1);
	h->rate += rate - f->rate;
	if (h->rate < 0)
		h->rate = 0;
	f->rate = rate;
	if (!h->dirty && m->limit > 0) {
		h->dirty = true;
		m->dirty[m->ndirty++] = f->host;
	}
	contribute(m, i, 1);
}

static double cur_rate(const struct flow *f)
{
	double r = f->base;

	if (f->shape == SH_ONOFF && !f->on)
		return 0;
	if (f->shape == SH_SLOW && f->ss < 5)
		r = ldexp(r, (int)f->ss - 5);
	if (f->backoff)
		r = fmin(r, ldexp(1.0, 1 - (int)f->backoff));	/* one retransmission per RTO */
	return r;
}

/* Begin backing off now (a no-op if already). */
static void check_backoff(struct sim *m, __u32 i)
{
	struct flow *f = &m->f[i];

	if (f->backoff || !blackholed(m, f))
		return;
	/* The window in flight is lost this second; retransmissions from the next. */
	f->backoff = 1;
	f->next_mod = fmin(f->next_mod, m->t + 1);
	schedule(m, i);
}

static int flow_alloc(struct sim *m)
{
	if (m->nfree)
		return m->free_list[--m->nfree];
	if (m->nf == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8192;
		m->f = realloc(m->f, m->cap * sizeof(*m->f));
		m->free_list = realloc(m->free_list, m->cap * sizeof(*m->free_list));
	}
	m->f[m->nf].gen = 0;	/* a fresh slot: no stale events yet */
	return (int)m->nf++;
}

static double lifetime(struct sim *m, bool residual)
{
	const struct sim2_family *fam = m->fam;
	double l;

	if (fam->life == SIM2_PARETO) {
		/* The flows alive at a given time are length-biased: Pareto(a - 1). */
		l = residual ? pareto(&m->g, m->life_xm, fam->life_alpha - 1) * unit(&m->g) :
			       pareto(&m->g, m->life_xm, fam->life_alpha);
	} else {
		l = expo(&m->g, m->life_mean);
	}
	return fmin(l, MAX_LIFE);
}

static void host_link(struct sim *m, __u32 i)
{
	struct flow *f = &m->f[i];
	struct host *h = &m->h[f->host];

	f->prev = -1;
	f->next = h->head;
	if (h->head >= 0)
		m->f[h->head].prev = (int)i;
	h->head = (int)i;
}

static void host_unlink(struct sim *m, __u32 i)
{
	struct flow *f = &m->f[i];
	struct host *h = &m->h[f->host];

	if (f->prev >= 0)
		m->f[f->prev].next = f->next;
	else
		h->head = f->next;
	if (f->next >= 0)
		m->f[f->next].prev = f->prev;
}

/* A new flow of HOST to a service; LIFE seconds left; BASE pps. */
static __u32 flow_new(struct sim *m, __u32 host, __u8 proto, __u16 dport, __u32 daddr,
		      double life, double base, bool elephant)
{
	__u32 i = (__u32)flow_alloc(m);
	struct flow *f = &m->f[i];
	struct host *h = &m->h[host];

	{
		/* Stale events of the slot's last flow must not match: the generation goes on. */
		__u32 gen = f->gen;

		memset(f, 0, sizeof(*f));
		f->gen = gen;
	}
	f->host = host;
	f->proto = proto == 1 && h->v6 ? 58 : proto;
	f->daddr = daddr;
	if (proto == 1) {
		/* Echo request: type 8 (v4) or 128 (v6), code 0; the identifier as sport. */
		f->dport = h->v6 ? 128 << 8 : 8 << 8;
		f->sport = (__u16)next(&m->g);
	} else {
		f->dport = dport;
		f->sport = (__u16)(32768 + next(&m->g) % 28232);
	}
	f->stratum = stratum_of(m, f);
	f->hostile = m->net_denied[h->v6][h->net] || port_denied(proto, dport);
	f->bh = !h->v6 && h->net == m->bh_net;
	if (f->hostile && !elephant) {
		/* Denied traffic: connection attempts that get no answer, a few packets a second. */
		base = fmin(base, m->fam->hostile_pps * uni(&m->g, 0.5, 1.5));
		life = fmin(life, expo(&m->g, 5));
	}
	f->elephant = elephant;
	f->alive = true;
	f->base = base;
	f->end = m->t + life;
	f->next_mod = INF;
	if (!elephant && unit(&m->g) < m->fam->onoff) {
		f->shape = SH_ONOFF;
		f->on = unit(&m->g) < 0.5;
		f->next_mod = m->t + expo(&m->g, f->on ? 3 : 5);
	} else if (proto == 6 && base > 20 && !f->hostile) {
		f->shape = SH_SLOW;
		f->next_mod = m->t + 1;
	}
	host_link(m, i);
	set_rate(m, i, cur_rate(f));
	schedule(m, i);
	check_backoff(m, i);
	return i;
}

static void flow_end(struct sim *m, __u32 i)
{
	struct flow *f = &m->f[i];

	set_rate(m, i, 0);
	host_unlink(m, i);
	f->alive = false;
	f->gen++;
	m->free_list[m->nfree++] = (int)i;
}

static double flow_base(struct sim *m)
{
	return exp(m->mu_rate + m->fam->rate_sigma * gauss(&m->g));
}

static __u32 pick_host(struct sim *m)
{
	double u = unit(&m->g) * m->cum[m->nh - 1];
	__u32 lo = 0, hi = m->nh - 1;

	while (lo < hi) {
		__u32 mid = (lo + hi) / 2;

		if (m->cum[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A session: 1 + geometric flows from one host to one service. */
static void session(struct sim *m, bool residual)
{
	const struct sim2_family *fam = m->fam;
	__u32 host = pick_host(m), daddr = 1 + next(&m->g) % 16;
	double u = unit(&m->g), life = lifetime(m, residual);
	__u8 proto;
	__u16 dport;
	int n = 1;

	if (u < fam->icmp) {
		proto = 1;
		dport = 0;
	} else if (u < fam->icmp + m->udp) {
		proto = 17;
		dport = unit(&m->g) < fam->dns ? 53 : unit(&m->g) < 0.9 ? 443 : 123;
		if (unit(&m->g) < m->deny_port)
			dport = unit(&m->g) < 0.5 ? 1900 : 11211;
	} else {
		double v = unit(&m->g);

		proto = 6;
		dport = v < 0.7 ? 443 : v < 0.9 ? 80 : v < 0.95 ? 22 : 8080;
		if (unit(&m->g) < m->deny_port)
			dport = v < 0.4 ? 23 : v < 0.7 ? 445 : 3389;
	}
	if (fam->per_sess > 1)
		while (n < 64 && unit(&m->g) > 1 / fam->per_sess)
			n++;
	/* DNS and NTP: one request-response flow, short. */
	if (proto == 17 && (dport == 53 || dport == 123)) {
		n = 1;
		life = fmin(life, expo(&m->g, 2));
	}
	while (n--)
		flow_new(m, host, proto, dport, daddr, life * uni(&m->g, 0.5, 1.5), flow_base(m),
			 false);
}

static void recompute_host(struct sim *m, struct host *h)
{
	double ld0, ld1;
	int i;

	h->dirty = false;
	if (m->limit <= 0)
		return;
	ld0 = h->rate > m->limit ? 1 - m->limit / h->rate : 0;
	ld1 = m->fam->harm == SIM2_LIMIT_HALF && h->rate > m->limit / 2 ?
		      1 - m->limit / 2 / h->rate : ld0;
	if (fabs(ld0 - h->ld[0]) < 1e-3 && fabs(ld1 - h->ld[1]) < 1e-3)
		return;
	h->ld[0] = ld0;
	h->ld[1] = ld1;
	for (i = h->head; i >= 0; i = m->f[i].next) {
		contribute(m, (__u32)i, -1);
		contribute(m, (__u32)i, 1);
	}
}

static void process_events(struct sim *m)
{
	while (m->nev && m->heap[0].t <= m->t) {
		struct event e = heap_pop(m);
		struct flow *f = &m->f[e.flow];

		if (!f->alive || e.gen != f->gen)
			continue;
		if (f->end <= f->next_mod) {
			flow_end(m, e.flow);
			continue;
		}
		if (f->backoff) {
			/* After 6 retransmissions (63 s) the connection gives up; 80 % reconnect. */
			if (f->backoff >= 6 || f->end <= m->t + 1) {
				bool retry = unit(&m->g) < 0.8;
				__u32 host = f->host, daddr = f->daddr;
				__u8 proto = f->proto == 58 ? 1 : f->proto;
				__u16 dport = f->dport;
				double left = f->end - m->t, base = f->base;

				flow_end(m, e.flow);
				if (retry && left > 1)
					flow_new(m, host, proto, dport, daddr, left, base, false);
				continue;
			}
			f->backoff++;
			f->next_mod = m->t + ldexp(1.0, f->backoff - 1);
		} else if (f->shape == SH_ONOFF) {
			f->on = !f->on;
			f->next_mod = m->t + expo(&m->g, f->on ? 3 : 5);
		} else if (f->shape == SH_SLOW) {
			f->ss++;
			f->next_mod = f->ss < 5 ? m->t + 1 : INF;
		} else {
			f->next_mod = INF;
		}
		set_rate(m, e.flow, cur_rate(f));
		schedule(m, e.flow);
	}
}

/* The candidate's strata grew to NC: flows that move change program. */
static void set_share(struct sim *m, __u32 nc)
{
	__u32 i, old = m->nc;

	if (nc == old)
		return;
	for (i = 0; i < m->nf; i++)
		if (m->f[i].alive && m->f[i].stratum < nc && m->f[i].stratum >= old)
			contribute(m, i, -1);
	m->nc = nc;
	for (i = 0; i < m->nf; i++)
		if (m->f[i].alive && m->f[i].stratum < nc && m->f[i].stratum >= old) {
			contribute(m, i, 1);
			check_backoff(m, i);
		}
}

/* The busiest clean host moves to another /24: its connections restart from there. */
static void host_move(struct sim *m)
{
	__u32 best = 0, i, k;
	struct host *h;
	int j;

	for (i = 1; i < m->nh; i++)
		if (!m->h[i].v6 && !m->net_denied[0][m->h[i].net] &&
		    (m->h[best].v6 || m->h[i].rate > m->h[best].rate))
			best = i;
	h = &m->h[best];
	for (k = 0; k < 256; k++) {
		__u32 net = (__u32)(next(&m->g) & 0xff);

		if (net != h->net && !m->net_denied[0][net] && net != m->bh_net) {
			h->net = net;
			break;
		}
	}
	h->addr[0] = 0xc6120000U | h->net << 8 | (h->addr[0] & 0xff);
	for (j = h->head; j >= 0; j = m->f[j].next) {
		struct flow *f = &m->f[j];

		contribute(m, (__u32)j, -1);
		f->sport = (__u16)(32768 + next(&m->g) % 28232);
		f->stratum = stratum_of(m, f);
		f->bh = h->net == m->bh_net;
		contribute(m, (__u32)j, 1);
		check_backoff(m, (__u32)j);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void setup(struct sim *m, const struct sim2_family *fam, uint64_t seed)
{
	double wsum = 0, netw[2][256] = { { 0 } }, duty, nflows, rbar;
	__u32 i;

	memset(m, 0, sizeof(*m));
	rng_seed(&m->g, seed ^ 0x5eed2aa55ULL);
	m->fam = fam;
	m->seed = (__u32)next(&m->g);
	m->pps = loguni(&m->g, fam->pps_lo, fam->pps_hi);
	m->sess = loguni(&m->g, fam->sess_lo, fam->sess_hi);
	m->life_mean = uni(&m->g, fam->life_lo, fam->life_hi);
	if (fam->life == SIM2_PARETO)
		m->life_xm = m->life_mean * (fam->life_alpha - 1) / fam->life_alpha;
	m->pd = uni(&m->g, fam->pkt_drop_lo, fam->pkt_drop_hi);
	m->cold = uni(&m->g, fam->cold_lo, fam->cold_hi);
	m->udp = fam->udp;
	m->deny_port = fam->deny_port_frac;
	m->period = uni(&m->g, 600, 1800);
	m->phase = uni(&m->g, 0, 2 * M_PI);
	m->shift_at = uni(&m->g, 150, 600);
	m->move_at = uni(&m->g, 150, 600);
	m->flood_off_until = uni(&m->g, 30, 300);
	m->scan_off_until = uni(&m->g, 30, 300);
	m->bh_net = 256;
	/* Hosts: Pareto activity, in /24s (/48s) of Zipf popularity. */
	m->nh = (__u32)loguni(&m->g, fam->hosts_lo, fam->hosts_hi);
	m->h = calloc(m->nh, sizeof(*m->h));
	m->cum = calloc(m->nh, sizeof(*m->cum));
	for (i = 0; i < m->nh; i++) {
		struct host *h = &m->h[i];
		double u = unit(&m->g);

		h->v6 = unit(&m->g) < fam->v6;
		/* Zipf(1) over 256 nets: rank = 256^u - 1 is log-uniform, close enough. */
		h->net = (__u32)(pow(256.0, u) - 1);
		h->w = pareto(&m->g, 1, fam->host_alpha);
		h->head = -1;
		if (h->v6) {
			h->addr[0] = 0x20010db8U;
			h->addr[1] = h->net << 16;
			h->addr[2] = (__u32)next(&m->g);
			h->addr[3] = (__u32)next(&m->g);
		} else {
			h->addr[0] = 0xc6120000U | h->net << 8 | (1 + i % 254);
		}
		netw[h->v6][h->net] += h->w;
		wsum += h->w;
	}
	/* Denied nets: random nets until their activity reaches deny_frac. */
	{
		double got = 0;
		int tries;

		for (tries = 0; got < fam->deny_frac * wsum && tries < 2000; tries++) {
			int v6 = unit(&m->g) < fam->v6, net = (int)(next(&m->g) & 0xff);

			if (m->net_denied[v6][net] || got + netw[v6][net] > 1.5 * fam->deny_frac * wsum)
				continue;
			m->net_denied[v6][net] = true;
			got += netw[v6][net];
		}
	}
	/* The black-holed /24: the clean v4 net whose share is nearest a draw from bh_lo-bh_hi. */
	if (fam->harm == SIM2_BLACKHOLE) {
		double want = uni(&m->g, fam->bh_lo, fam->bh_hi) * wsum, best = INF;

		for (i = 0; i < 256; i++)
			if (!m->net_denied[0][i] && netw[0][i] > 0 &&
			    fabs(netw[0][i] - want) < best) {
				best = fabs(netw[0][i] - want);
				m->bh_net = i;
			}
	}
	for (i = 0; i < m->nh; i++)
		m->cum[i] = (i ? m->cum[i - 1] : 0) + m->h[i].w;
	/* Rates: the flows alive carry (1 - elephants) of pps. */
	duty = 1 - fam->onoff * (1 - 3.0 / 8);
	nflows = m->sess * fmax(1, fam->per_sess) * m->life_mean;
	rbar = m->pps * (1 - fam->elephants) / (nflows * duty);
	m->mu_rate = log(rbar) - fam->rate_sigma * fam->rate_sigma / 2;
	/* The limiter: the (1 - limit_frac) quantile of the hosts' expected rates. */
	if (fam->limit_frac > 0) {
		double *w = malloc(m->nh * sizeof(*w));

		for (i = 0; i < m->nh; i++)
			w[i] = m->h[i].w;
		qsort(w, m->nh, sizeof(*w), cmp_double);
		m->limit = m->pps * w[(__u32)((1 - fam->limit_frac) * (m->nh - 1))] / wsum;
		free(w);
	}
	m->dirty = calloc(m->nh, sizeof(*m->dirty));
	/* Elephants: 3-20 long-lived TCP flows with Pareto(1.2) rates. */
	if (fam->elephants > 0) {
		__u32 ne = 3 + (__u32)(next(&m->g) % 18);
		double r[20], rs = 0;

		for (i = 0; i < ne; i++)
			rs += r[i] = pareto(&m->g, 1, 1.2);
		for (i = 0; i < ne; i++)
			flow_new(m, pick_host(m), 6, 443, 1 + i % 16, MAX_LIFE,
				 r[i] / rs * fam->elephants * m->pps, true);
	}
	/* The sessions alive at the start, with their residual lifetimes. */
	{
		__u64 k = poisson(&m->g, m->sess * m->life_mean);

		while (k--)
			session(m, true);
	}
	/* Cost by verdict: drops cheap, passes dearer. */
	m->mu_c[0] = log(uni(&m->g, 30, 150));
	m->mu_c[1] = log(uni(&m->g, 120, 1200));
	m->s_c[0] = uni(&m->g, 0.2, 0.7);
	m->s_c[1] = uni(&m->g, 0.2, 0.7);
}

static double norm_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

static void cost_model(struct sim *m, int v, double factor)
{
	int c, b;

	for (c = 0; c < 2; c++) {
		double mu = m->mu_c[c] + log(factor), s = m->s_c[c];

		for (b = 0; b < CANARY_COST_BUCKETS; b++) {
			double lo = b ? (b * M_LN2 - mu) / s : -INF;
			double hi = b + 1 < CANARY_COST_BUCKETS ? ((b + 1) * M_LN2 - mu) / s : INF;
			double p = norm_cdf(hi) - norm_cdf(lo);
			double q = norm_cdf(hi - s) - norm_cdf(lo - s);

			m->pb[v][c][b] = p;
			m->mb[v][c][b] = p > 1e-12 ? exp(mu + s * s / 2) * q / p : ldexp(1.0, b);
		}
	}
}

/* One in COST_EVERY packets sampled; its bucket and its cost. */
static void cost_sample(struct sim *m, int v, __u64 drops, __u64 passes, struct judge_sample *out)
{
	__u64 n[2] = { binom(&m->g, drops, 1.0 / COST_EVERY), binom(&m->g, passes, 1.0 / COST_EVERY) };
	int c, b;

	for (c = 0; c < 2; c++) {
		double left = 1;
		__u64 k = n[c];

		for (b = 0; b < CANARY_COST_BUCKETS && k; b++) {
			__u64 x = b + 1 == CANARY_COST_BUCKETS ? k :
				  binom(&m->g, k, fmin(1, m->pb[v][c][b] / fmax(left, 1e-300)));

			left -= m->pb[v][c][b];
			k -= x;
			out->cost_hist[b] += x;
			out->cost_samples += x;
			out->cost_ns += (__u64)(x * m->mb[v][c][b]);
		}
	}
}

static double cand_cost(const struct sim *m, __u32 share_bp)
{
	double cold = 1 + (m->cold - 1) * exp(-(share_bp / 10000.0) / 0.08);

	return cold * (m->fam->harm == SIM2_COST ? m->fam->harm_mult : 1);
}

static bool wave(struct sim *m, double *on_until, double *off_until, double on_lo, double on_hi,
		 double off_lo, double off_hi)
{
	if (m->t < *off_until)
		return false;
	if (m->t < *on_until)
		return true;
	*on_until = m->t + uni(&m->g, on_lo, on_hi);
	*off_until = *on_until + uni(&m->g, off_lo, off_hi);
	return true;
}

/* Traffic spread uniformly over the strata (each packet a new tuple): floods and scans. */
static void uniform(struct sim *m, const struct rollout *r, double u[2][NK])
{
	const struct sim2_family *fam = m->fam;
	double flood = 0, scan = 0, d, p, sld;
	int v;

	memset(u, 0, 2 * NK * sizeof(**u));
	if (fam->flood_frac > 0 &&
	    (fam->flood_first_step ? !r->warming && r->step == 0 :
				     wave(m, &m->flood_on_until, &m->flood_off_until, 20, 120, 60, 300)))
		flood = fam->flood_frac * m->pps / CANARY_STRATA;
	if (fam->scan_frac > 0 &&
	    wave(m, &m->scan_on_until, &m->scan_off_until, 10, 60, 100, 600))
		scan = fam->scan_frac * m->pps / CANARY_STRATA;
	/* The SYN filter drops 99 % of the flood; a scan is 70 % closed ports, 30 % port 22. */
	sld = m->limit > 0 && scan * CANARY_STRATA > m->limit ?
		      1 - m->limit / (scan * CANARY_STRATA) : 0;
	d = flood * 0.99 + scan * 0.7 + scan * 0.3 * sld;
	p = flood * 0.01 + scan * 0.3 * (1 - sld);
	for (v = 0; v < 2; v++) {
		u[v][K_DROP] = d + p * m->pd;
		u[v][K_PASS] = p * (1 - m->pd);
	}
	switch (fam->harm) {
	case SIM2_LEAKY:
		u[1][K_HPASS] = u[1][K_DROP] / 2;
		u[1][K_DROP] /= 2;
		break;
	case SIM2_DROP_MULT:
		u[1][K_HDROP] = u[1][K_PASS] * m->q;
		u[1][K_PASS] *= 1 - m->q;
		break;
	case SIM2_ABORTS:
		u[1][K_HABORT] = u[1][K_PASS] * fam->harm_mult;
		u[1][K_PASS] *= 1 - fam->harm_mult;
		break;
	default:
		break;
	}
}

static void tick(struct sim *m, const struct rollout *r, struct rollout_event *ev)
{
	double u[2][NK];
	__u32 s, i;
	int nk;

	memset(ev, 0, sizeof(*ev));
	ev->type = ROLLOUT_EV_TICK;
	ev->strata = m->strata;
	for (i = 0; i < m->ndirty; i++)
		recompute_host(m, &m->h[m->dirty[i]]);
	m->ndirty = 0;
	uniform(m, r, u);
	/* Without a harm or aborts the last classes are empty. */
	nk = m->fam->harm != SIM2_NONE ? NK : m->fam->abort_rate > 0 ? K_ABORT + 1 : K_DROP + 1;
	if (m->cost_factor != cand_cost(m, r->share_bp)) {
		m->cost_factor = cand_cost(m, r->share_bp);
		cost_model(m, 0, 1);
		cost_model(m, 1, m->cost_factor);
	}
	for (s = 0; s < CANARY_STRATA; s++) {
		bool cand = s < m->nc;
		const double *l = m->lam[s], *us = u[cand];
		__u64 k[NK];
		struct judge_sample *out = cand ? &ev->cand : &ev->stable;
		struct canary_stratum *st = &m->strata[s];
		int c;

		for (c = 0; c < nk; c++)
			k[c] = poisson(&m->g, l[c] + us[c]);
		for (; c < NK; c++)
			k[c] = 0;
		memset(st, 0, sizeof(*st));
		st->verdict[CANARY_V_PASS] = k[K_PASS] + k[K_HPASS];
		st->verdict[CANARY_V_DROP] = k[K_DROP] + k[K_HDROP];
		st->verdict[CANARY_V_ABORTED] = k[K_ABORT] + k[K_HABORT];
		m->harmed += k[K_HPASS] + k[K_HDROP] + k[K_HABORT];
		out->passes += st->verdict[CANARY_V_PASS];
		out->drops += st->verdict[CANARY_V_DROP];
		out->aborts += st->verdict[CANARY_V_ABORTED];
	}
	ev->stable.packets = ev->stable.passes + ev->stable.drops + ev->stable.aborts;
	ev->cand.packets = ev->cand.passes + ev->cand.drops + ev->cand.aborts;
	if (m->fam->harm == SIM2_COST)
		m->harmed += ev->cand.packets;
	cost_sample(m, 0, ev->stable.drops + ev->stable.aborts, ev->stable.passes, &ev->stable);
	cost_sample(m, 1, ev->cand.drops + ev->cand.aborts, ev->cand.passes, &ev->cand);
}

static void arrivals(struct sim *m)
{
	const struct sim2_family *fam = m->fam;
	double a = m->sess * (1 + fam->diurnal_amp * sin(2 * M_PI * m->t / m->period + m->phase));
	__u64 k;

	if (fam->clustered) {
		/* Clusters of Pareto(1.5) sessions (flash crowds), the same mean rate. */
		__u64 nclu = poisson(&m->g, a / 3);

		for (k = 0; k < nclu; k++) {
			double size = fmin(pareto(&m->g, 1, 1.5), 200);
			__u64 j;

			for (j = 0; j < (__u64)size; j++)
				session(m, false);
		}
		return;
	}
	for (k = poisson(&m->g, a); k; k--)
		session(m, false);
}

void sim2_run(const struct sim2_family *fam, uint64_t seed, struct sim2_result *res)
{
	static struct rollout r;
	static struct sim m;
	struct rollout_plan plan;
	struct judge_config jc;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	struct rollout_actions a;
	__u64 t, warm_pk = 0, warm_dr = 0, all_pk = 0;
	bool started = false;

	memset(res, 0, sizeof(*res));
	setup(&m, fam, seed);
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
		__u32 nc = r.share_bp / CANARY_STRATUM_BP;

		m.t = (double)t;
		if (nc != m.nc) {
			if (!started) {
				double dr = warm_pk ? (double)warm_dr / warm_pk : 0;

				started = true;
				res->drop_rate = dr;
				res->flows = m.nf - m.nfree;
				if (fam->harm == SIM2_DROP_MULT)
					m.q = dr < 1 ? fmin(1, (fam->harm_mult - 1) * dr / (1 - dr)) : 0;
			}
			set_share(&m, nc);
		}
		if (fam->shift > 0 && !m.shifted && m.t >= m.shift_at) {
			m.shifted = true;
			m.udp = fmin(0.9, m.udp * (1 + fam->shift));
			m.deny_port = fmin(0.5, m.deny_port * (1 + fam->shift));
		}
		if (fam->host_move && !m.moved && m.t >= m.move_at) {
			m.moved = true;
			host_move(&m);
		}
		process_events(&m);
		arrivals(&m);
		tick(&m, &r, &ev);
		if (r.warming) {
			warm_pk += ev.stable.packets;
			warm_dr += ev.stable.drops;
		}
		all_pk += ev.stable.packets + ev.cand.packets;
		ev.now_ms = 1000 + t * 1000;
		rollout__handle(&r, &ev, &a);
		if (r.phase == ROLLOUT_PAUSED) {
			res->paused = true;
			break;
		}
	}
	res->phase = r.phase;
	res->step = r.step;
	res->secs = t;
	res->pps = (double)all_pk / (double)t;
	res->cand_packets = r.totals.cand_packets;
	res->harmed_packets = m.harmed;
	snprintf(res->reason, sizeof(res->reason), "%s", r.reason);
	judge_evidence__format(&r.last_ev, res->evidence, sizeof(res->evidence));
	free(m.h);
	free(m.cum);
	free(m.f);
	free(m.free_list);
	free(m.heap);
	free(m.dirty);
}
