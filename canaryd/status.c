// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The status JSON, built here and nowhere else: the control socket's status
 * reply and the webhook bodies both start from it. One typed call per
 * field; the key names come from proto.h, which canaryctl reads them by.
 */
#include <math.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "canaryd.h"
#include "dp.h"
#include "names.h"
#include "proto.h"
#include "webhook.h"

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(v));
}

static void set_u64(json_t *o, const char *key, __u64 v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_int(json_t *o, const char *key, int v)
{
	json_object_set_new(o, key, json_integer(v));
}

static void set_real(json_t *o, const char *key, double v)
{
	json_object_set_new(o, key, json_real(v));
}

static void set_bool(json_t *o, const char *key, bool v)
{
	json_object_set_new(o, key, json_boolean(v));
}

/* The pin rule set and what it sent to each version (class pinned, since at_start). */
static json_t *pins_json(const struct iface *ifc)
{
	static const char *const roles[] = { CANARY_K_STABLE, CANARY_K_CANDIDATE };
	json_t *o = json_object(), *rules = json_array(), *pinned = json_object();
	char text[128];
	__u32 i, v, row;

	for (i = 0; i < ifc->st.nr_pins && i < CANARY_PIN_LIST_MAX; i++)
		if (!canary_pin_rule__format(&ifc->st.pins[i], text, sizeof(text)))
			json_array_append_new(rules, json_string(text));
	json_object_set_new(o, CANARY_K_RULES, rules);
	for (row = 0; ifc->have_last && row < 2; row++) {
		const struct canary_counters *c =
			canary_counters__at(ifc->last, row, CANARY_CLASS_PINNED);
		const struct canary_counters *s =
			canary_counters__at(ifc->at_start, row, CANARY_CLASS_PINNED);
		json_t *e = json_object();

		set_u64(e, CANARY_K_PACKETS, c->packets - s->packets);
		for (v = 0; v < CANARY_V_MAX; v++)
			set_u64(e, canary_verdict_name(v), c->verdict[v] - s->verdict[v]);
		json_object_set_new(pinned, roles[row], e);
	}
	json_object_set_new(o, CANARY_K_PINNED, pinned);
	return o;
}

static json_t *count_json(double packets, double drops)
{
	return json_pack("{s:I, s:I}", CANARY_K_PACKETS, (json_int_t)packets, "drop",
			 (json_int_t)drops);
}

/* The entity steps: each entity's rules, state, counters and evidence. */
static json_t *entities_json(const struct iface *ifc)
{
	const struct canaryd_persist *st = &ifc->st;
	const struct rollout *r = &st->ro;
	json_t *a = json_array();
	char text[128], ev[ROLLOUT_REASON_LEN];
	__u32 k, i;

	for (k = 0; k < r->plan.nr_entities && k < ROLLOUT_MAX_ENTITIES; k++) {
		const struct entity_judge *j = &r->ej[k];
		json_t *o = json_object(), *rules = json_array();
		bool judged = r->ent_ev[k].n_after > 0;

		set_str(o, CANARY_K_NAME, r->plan.entity[k]);
		for (i = st->ent_first[k]; i < st->ent_first[k + 1] && i < CANARY_PIN_LIST_MAX; i++)
			if (!canary_pin_match__format(&st->ent_rules[i], text, sizeof(text)))
				json_array_append_new(rules, json_string(text));
		json_object_set_new(o, CANARY_K_RULES, rules);
		set_str(o, CANARY_K_STATE, entity_state__name(r->ent_state[k]));
		json_object_set_new(o, CANARY_K_BASELINE, count_json(j->own_n, j->own_x));
		json_object_set_new(o, CANARY_K_BEFORE, count_json(j->e[0].n, j->e[0].x));
		json_object_set_new(o, CANARY_K_AFTER, count_json(j->e[1].n, j->e[1].x));
		json_object_set_new(o, CANARY_K_RATIO,
				    judged ? json_real(r->ent_ev[k].ratio) : json_null());
		ev[0] = '\0';
		if (judged)
			entity_evidence__format(r->plan.entity[k], &r->ent_ev[k], ev, sizeof(ev));
		set_str(o, CANARY_K_EVIDENCE, ev);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *canaryd_status__version(const struct canary_counters *all, __u32 row,
				const struct judge_sample *d, const struct canary_rate *rate)
{
	const struct canary_counters *c = canary_counters__at(all, row, CANARY_CLASS_SPLIT);
	double n = d->packets ? (double)d->packets : 1;
	json_t *o = json_object();
	double pps;
	__u32 v;

	set_u64(o, CANARY_K_PACKETS, c->packets);
	set_u64(o, CANARY_K_BYTES, c->bytes);
	for (v = 0; v < CANARY_V_MAX; v++)
		set_u64(o, canary_verdict_name(v), c->verdict[v]);
	set_u64(o, CANARY_K_FALLBACK, c->fallback);
	/* Over about a second of reads; null until two reads exist. */
	json_object_set_new(o, CANARY_K_PPS,
			    canary_rate__pps(rate, row, &pps) ? json_real(pps) : json_null());
	set_real(o, CANARY_K_DROP_RATE, d->drops / n);
	set_real(o, CANARY_K_PASS_RATE, d->passes / n);
	set_real(o, CANARY_K_ABORT_RATE, d->aborts / n);
	set_real(o, CANARY_K_COST_NS_AVG,
		 c->cost_samples ? (double)c->cost_ns / c->cost_samples : 0.0);
	return o;
}

/* The judge's evidence, one object per test. */
static json_t *tests_json(const struct judge_evidence *ev)
{
	json_t *arr = json_array();
	__u32 i;

	for (i = 0; i < ev->nr_tests && i < JUDGE_MAX_EVIDENCE; i++) {
		const struct judge_test_ev *t = &ev->tests[i];
		json_t *o = json_object();

		set_str(o, "metric", t->metric);
		set_str(o, "dir", rollout_judge_dir__name(t->dir) ?:
				  rollout_judge_dir__name(JUDGE_DIR_NONE));
		set_str(o, "test", rollout_judge_test__name(t->test) ?: "?");
		set_u64(o, "x_c", t->x_c);
		set_u64(o, "x_s", t->x_s);
		set_u64(o, "n_c", t->n_c);
		set_u64(o, "n_s", t->n_s);
		set_real(o, "rate_c", t->rate_c);
		set_real(o, "rate_s", t->rate_s);
		set_real(o, "ratio", isfinite(t->ratio) ? t->ratio : -1.0);
		set_real(o, "rho", t->rho);
		/* JSON has no infinities: the largest doubles, with their sign. */
		set_real(o, "stat", isfinite(t->stat) ? t->stat : t->stat < 0 ? -1e308 : 1e308);
		set_real(o, "threshold", t->threshold);
		set_real(o, "p", t->p);
		set_bool(o, "decided", t->decided);
		json_array_append_new(arr, o);
	}
	return arr;
}

/* A version by its object and program (and, in webhook bodies, its SHA-256). */
static json_t *version_id_json(const char *obj, const char *prog, const char *sha256)
{
	json_t *o = json_object();

	set_str(o, CANARY_K_OBJECT, obj);
	set_str(o, CANARY_K_PROGRAM, prog);
	if (sha256)
		set_str(o, "sha256", sha256);
	return o;
}

/* Both versions' counters, hash-split class. */
static json_t *versions_json(const struct iface *ifc)
{
	json_t *v = json_object();

	json_object_set_new(v, CANARY_K_STABLE,
			    canaryd_status__version(ifc->last, 0, &ifc->d_stable, &ifc->rate));
	json_object_set_new(v, CANARY_K_CANDIDATE,
			    canaryd_status__version(ifc->last, 1, &ifc->d_cand, &ifc->rate));
	return v;
}

static json_t *gate_json(const struct iface *ifc, __u64 now)
{
	const struct rollout *r = &ifc->st.ro;
	json_t *o;

	if (!r->gate)
		return json_null();
	o = json_object();
	set_str(o, CANARY_K_NAME, rollout_gate__name(r->gate));
	set_u64(o, CANARY_K_WAITING_MS, now - r->gate_since_ms);
	set_bool(o, CANARY_K_PASSED, r->gate_passed);
	set_bool(o, CANARY_K_ASKING, canary_webhook__gate_pending((void *)ifc));
	set_str(o, CANARY_K_LAST_ANSWER, ifc->gate_detail);
	return o;
}

static json_t *totals_json(const struct rollout *r)
{
	json_t *o = json_object();

	set_u64(o, "stable_packets", r->totals.stable_packets);
	set_u64(o, "candidate_packets", r->totals.cand_packets);
	set_u64(o, "candidate_aborted", r->totals.cand_aborted);
	set_u64(o, "candidate_invalid", r->totals.cand_invalid);
	set_u64(o, "candidate_drops", r->totals.cand_drops);
	set_u64(o, "stable_drops", r->totals.stable_drops);
	return o;
}

static json_t *cell_json(__u32 vs, __u32 vc, const struct shadow_cell *c)
{
	json_t *o = json_object(), *ex = json_array();
	__u32 k;

	set_str(o, CANARY_K_STABLE, vs < CANARY_V_MAX ? canary_verdict_name(vs) : "rewritten");
	set_str(o, CANARY_K_CANDIDATE, vc < CANARY_V_MAX ? canary_verdict_name(vc) : "rewritten");
	set_u64(o, CANARY_K_SAMPLES, c->samples);
	for (k = 0; k < c->n_examples && k < SHADOW_EXAMPLES; k++)
		json_array_append_new(ex, json_pack("{s:I, s:s}", "index", (json_int_t)c->ex[k].index,
						    "frame", c->ex[k].summary));
	json_object_set_new(o, CANARY_K_EXAMPLES, ex);
	return o;
}

static json_t *cells_json(const struct shadow_evidence *ev)
{
	json_t *cells = json_array();
	__u32 i, j;

	for (i = 0; i < CANARY_V_MAX; i++)
		for (j = 0; j < CANARY_V_MAX; j++)
			if (ev->cell[i][j].samples)
				json_array_append_new(cells, cell_json(i, j, &ev->cell[i][j]));
	return cells;
}

/* One span of live paired evidence: samples, each side's flows, fidelity. */
static void paired_fields(json_t *o, const struct canaryd_paired *p)
{
	set_u64(o, CANARY_K_SAMPLES, p->ev.samples);
	set_u64(o, CANARY_K_STABLE_FLOWS, p->stable_flows);
	set_u64(o, CANARY_K_CANDIDATE_FLOWS, p->cand_flows);
	set_real(o, CANARY_K_FIDELITY, shadow_evidence__fidelity(&p->ev));
}

/* The live steps' paired evidence (plan.shadow_live): null without. */
static json_t *live_json(const struct iface *ifc)
{
	const struct rollout *r = &ifc->st.ro;
	const struct canaryd_shadow *sh = ifc->shadow;
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	json_t *o, *st;

	if (!r->plan.shadow_live)
		return json_null();
	o = json_object();
	set_bool(o, CANARY_K_ACTIVE, r->paired);
	set_u64(o, "every", rc->shadow_live_every);
	set_u64(o, "rate", rc->shadow_live_rate);
	set_real(o, "alpha", rollout__paired_alpha(r));
	/* The engine's: this step's latest decision, persisted. */
	set_str(o, CANARY_K_DECISION, shadow_decision__name(r->paired_decision));
	if (!sh || !sh->live_begun || sh->rollout_id != ifc->st.rollout_id)
		return o;	/* not begun yet, or canaryd restarted after the rollout */
	set_bool(o, "loaded", !sh->load_failed);
	set_u64(o, CANARY_K_STEP, sh->live_steps);
	paired_fields(o, &sh->live_all);
	set_str(o, CANARY_K_HARM, sh->live_harm);
	json_object_set_new(o, CANARY_K_CELLS, cells_json(&sh->live_all.ev));
	set_u64(o, "rewritten", sh->live_all.ev.rewritten.samples);
	st = json_object();
	paired_fields(st, &sh->live_step);
	set_str(st, CANARY_K_DECISION, shadow_decision__name(sh->live_decision));
	json_object_set_new(o, CANARY_K_THIS_STEP, st);
	set_u64(o, "replay_errors", sh->replay_errors);
	set_u64(o, "budget_ticks", sh->budget_ticks);
	set_u64(o, "stale", sh->stale);
	return o;
}

/*
 * The shadow phase's evidence (kept after it ends, until the next start)
 * and the live steps' (live): null with neither.
 */
static json_t *shadow_json(const struct iface *ifc, __u64 now)
{
	const struct rollout *r = &ifc->st.ro;
	const struct canaryd_shadow *sh = ifc->shadow;
	struct canary_sample_state ss;
	json_t *o;

	if (!r->plan.shadow_ms && !r->plan.shadow_live)
		return json_null();
	o = json_object();
	json_object_set_new(o, CANARY_K_LIVE, live_json(ifc));
	if (ifc->dp && !canary_dp__read_sample_state(ifc->dp, &ss))
		json_object_set_new(o, "sampler",
				    json_pack("{s:I, s:I, s:I, s:I}", "picked", (json_int_t)ss.picked,
					      "limited", (json_int_t)ss.limited, "lost",
					      (json_int_t)ss.lost, "sent", (json_int_t)ss.sent));
	set_u64(o, "duration_ms", r->plan.shadow_ms);
	if (!r->plan.shadow_ms)
		return o;	/* no shadow phase: the live steps' evidence alone */
	set_bool(o, CANARY_K_ACTIVE, r->shadowing);
	set_u64(o, CANARY_K_ELAPSED_MS, r->shadowing ? now - r->step_start_ms : 0);
	set_str(o, CANARY_K_DECISION, shadow_decision__name(r->shadow_decision));
	if (!sh)	/* canaryd restarted after the phase: the decision alone */
		return o;
	set_u64(o, CANARY_K_SAMPLES, sh->ev.samples);
	set_real(o, CANARY_K_FIDELITY, shadow_evidence__fidelity(&sh->ev));
	set_u64(o, "replay_errors", sh->replay_errors);
	set_u64(o, "stale", sh->stale);
	set_str(o, CANARY_K_HARM, sh->harm);
	json_object_set_new(o, CANARY_K_CELLS, cells_json(&sh->ev));
	set_u64(o, "rewritten", sh->ev.rewritten.samples);
	return o;
}

void canaryd_status__rollout_id(const struct iface *ifc, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s-%llu", ifc->cfg.name,
		     (unsigned long long)ifc->st.rollout_id) >= (int)len)
		buf[0] = '\0';
}

json_t *canaryd_status__rollout(const struct iface *ifc)
{
	const struct rollout *r = &ifc->st.ro;
	__u64 now = canaryd_now_ms();
	char id[64], ev[512];
	json_t *o, *shares;
	__u32 i;

	if (!ifc->has_rollout)
		return json_null();
	shares = json_array();
	for (i = 0; i < r->plan.nr_steps; i++)
		json_array_append_new(shares, json_real(r->plan.step[i].share_bp / 100.0));
	canaryd_status__rollout_id(ifc, id, sizeof(id));
	ev[0] = '\0';
	if (r->last_ev.nr_tests || r->last_verdict != JUDGE_INCONCLUSIVE)
		judge_evidence__format(&r->last_ev, ev, sizeof(ev));

	o = json_object();
	set_str(o, CANARY_K_ID, id);
	set_u64(o, CANARY_K_SEED, ifc->st.seed);
	set_str(o, CANARY_K_PHASE, rollout_phase__name(r->phase));
	set_str(o, CANARY_K_REASON, r->reason);
	json_object_set_new(o, CANARY_K_CANDIDATE,
			    version_id_json(ifc->st.cand_obj, ifc->st.cand_prog, NULL));
	set_int(o, CANARY_K_STEP, (int)r->step + 1);
	set_int(o, CANARY_K_STEPS, (int)r->plan.nr_steps);
	set_real(o, CANARY_K_SHARE_PCT, r->share_bp / 100.0);
	json_object_set_new(o, CANARY_K_SHARES_PCT, shares);
	set_u64(o, CANARY_K_STEP_ELAPSED_MS, rollout__done(r) ? 0 : now - r->step_start_ms);
	set_u64(o, CANARY_K_STEP_MIN_MS, r->plan.step[r->step].min_bake_ms);
	set_u64(o, CANARY_K_ELAPSED_MS, (rollout__done(r) ? r->end_ms : now) - r->start_ms);
	set_str(o, CANARY_K_VERDICT, judge_verdict__name(r->last_verdict));
	set_str(o, CANARY_K_EVIDENCE, ev);
	json_object_set_new(o, CANARY_K_TESTS, tests_json(&r->last_ev));
	/* Why a step cannot finish at this traffic, and the reads the judge skipped. */
	{
		json_t *e = json_object();

		set_real(e, CANARY_K_CAND_PPH, r->last_ev.cand_pph);
		set_real(e, CANARY_K_NEED_PPH, r->last_ev.need_pph);
		set_bool(e, CANARY_K_UNREACHABLE, r->last_ev.unreachable);
		set_u64(e, CANARY_K_BAD_READS, r->last_ev.bad_reads);
		set_u64(e, CANARY_K_BAD_TIMES, r->last_ev.bad_times);
		json_object_set_new(o, CANARY_K_EXPOSURE, e);
	}
	json_object_set_new(o, CANARY_K_TOTALS, totals_json(r));
	json_object_set_new(o, CANARY_K_GATE, gate_json(ifc, now));
	json_object_set_new(o, CANARY_K_PINS, pins_json(ifc));
	json_object_set_new(o, CANARY_K_ENTITIES, entities_json(ifc));
	json_object_set_new(o, CANARY_K_SHADOW, shadow_json(ifc, now));
	return o;
}

/* Each pinned version's map dir and maps, by name. */
static json_t *maps_json(const struct iface *cifc)
{
	static const char *const roles[] = { PIN_STABLE, PIN_CANDIDATE, PIN_PREVIOUS };
	struct iface *ifc = (struct iface *)cifc;	/* reads pins only */
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		char dir[PATH_MAX], path[PATH_MAX + 256];
		json_t *v, *m;
		struct dirent *de;
		DIR *dh;

		canaryd_iface__pinned_map_dir(ifc, roles[i], dir, sizeof(dir));
		if (!dir[0])
			continue;
		v = json_object();
		m = json_object();
		set_str(v, "dir", dir);
		dh = opendir(dir);
		while (dh && (de = readdir(dh))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			set_str(m, de->d_name, path);
		}
		if (dh)
			closedir(dh);
		json_object_set_new(v, CANARY_K_MAPS, m);
		json_object_set_new(o, roles[i], v);
	}
	return o;
}

json_t *canaryd_status__iface(const struct iface *ifc)
{
	json_t *o = json_object(), *b;

	set_str(o, CANARY_K_IFACE, ifc->cfg.name);
	set_str(o, CANARY_K_MODE, ifc->cfg.native ? "native" : "skb");
	set_bool(o, CANARY_K_MANAGED, canaryd_iface__managed(ifc));
	set_bool(o, CANARY_K_FRAGS, ifc->frags);
	json_object_set_new(o, CANARY_K_MTU, json_integer(ifc->mtu));
	json_object_set_new(o, CANARY_K_MTU_FIT, ifc->dp ? json_string(rollout_frags_fit__name(
								   ifc->mtu_fit)) : json_null());
	json_object_set_new(o, CANARY_K_ERROR,
			    ifc->error[0] ? json_string(ifc->error) : json_null());
	set_str(o, CANARY_K_LINK, rollout_link_state__name(ifc->link.state));
	set_int(o, CANARY_K_IFINDEX, ifc->link.ifindex);
	set_str(o, CANARY_K_IFNAME, ifc->ifname[0] ? ifc->ifname : ifc->cfg.name);
	/* The running stable (promotions move it; a reboot keeps it), and the config's first. */
	json_object_set_new(o, CANARY_K_STABLE,
			    version_id_json(ifc->st.stable.obj, ifc->st.stable.prog,
					    ifc->st.stable.sha256[0] ? ifc->st.stable.sha256 : NULL));
	json_object_set_new(o, CANARY_K_CONFIGURED_STABLE,
			    version_id_json(ifc->cfg.stable_obj, ifc->cfg.stable_prog, NULL));
	json_object_set_new(o, CANARY_K_ROLLOUT, canaryd_status__rollout(ifc));
	set_u64(o, CANARY_K_READS, ifc->reads);
	set_u64(o, CANARY_K_MAX_READ_GAP_MS, ifc->max_read_gap_ms);
	if (ifc->dp)
		json_object_set_new(o, CANARY_K_MAPS, maps_json(ifc));
	if (!ifc->dp || !ifc->have_last)
		return o;	/* no counter read yet */
	set_u64(o, CANARY_K_READ_INTERVAL_MS, (__u64)llround(ifc->d_secs * 1000));
	b = json_object();
	set_bool(b, CANARY_K_TRIPPED, ifc->brk.tripped);
	set_u64(b, CANARY_K_BAD, ifc->brk.bad);
	set_u64(b, CANARY_K_TRIPS, ifc->brk.trips);
	json_object_set_new(o, CANARY_K_BREAKER, b);
	json_object_set_new(o, CANARY_K_VERSIONS, versions_json(ifc));
	return o;
}

#define WEBHOOK_SCHEMA_VERSION 1

/*
 * A webhook body: the rollout as the status shows it (phase, reason, step,
 * shares, verdict, evidence, tests, totals), plus what a receiver needs to
 * act on it without asking back (README.md, "Webhooks").
 */
json_t *canaryd_status__event(const struct iface *ifc, const struct canary_webhook_cfg *h,
			      const char *type, const char *event, const char *event_id)
{
	const struct canaryd_persist *st = &ifc->st;
	json_t *b = canaryd_status__rollout(ifc), *meta = json_object();
	__u32 i;

	if (!json_is_object(b)) {
		json_decref(b);
		b = json_object();
	}
	json_object_set(b, "rollout_id", json_object_get(b, CANARY_K_ID));
	json_object_del(b, CANARY_K_ID);
	set_int(b, "schema_version", WEBHOOK_SCHEMA_VERSION);
	set_str(b, "type", type);
	set_str(b, "event", event);
	set_str(b, "event_id", event_id);
	set_str(b, "webhook", h->name);
	set_str(b, "interface", ifc->cfg.name);
	set_u64(b, "time_ms", canaryd_wall_ms());
	json_object_set_new(b, CANARY_K_STABLE,
			    version_id_json(st->stable.obj, st->stable.prog, st->stable.sha256));
	if (st->previous.obj[0])
		json_object_set_new(b, "previous", version_id_json(st->previous.obj,
								   st->previous.prog,
								   st->previous.sha256));
	json_object_set_new(b, CANARY_K_CANDIDATE,
			    version_id_json(st->cand_obj, st->cand_prog, st->cand_sha256));
	if (ifc->have_last)
		json_object_set_new(b, "counters", versions_json(ifc));
	for (i = 0; i < h->nr_meta; i++)
		set_str(meta, h->meta[i].key, h->meta[i].value);
	json_object_set_new(b, "metadata", meta);
	return b;
}
