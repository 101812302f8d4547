// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The status JSON: one interface, its versions and its rollout. */
#include <math.h>
#include <stdio.h>

#include "canaryd.h"
#include "dp.h"
#include "webhook.h"

json_t *canaryd_status__version(const struct canary_counters *all, __u32 row,
			    const struct judge_sample *d, double secs)
{
	const struct canary_counters *c =
		canary_counters__at(all, row, CANARY_CLASS_SPLIT);
	double n = d->packets ? (double)d->packets : 1;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}",
			 "packets", (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
			 "aborted", (json_int_t)c->verdict[CANARY_V_ABORTED],
			 "drop", (json_int_t)c->verdict[CANARY_V_DROP],
			 "pass", (json_int_t)c->verdict[CANARY_V_PASS],
			 "tx", (json_int_t)c->verdict[CANARY_V_TX],
			 "redirect", (json_int_t)c->verdict[CANARY_V_REDIRECT],
			 "invalid", (json_int_t)c->verdict[CANARY_V_INVALID],
			 "fallback", (json_int_t)c->fallback,
			 "pps", secs > 0 ? d->packets / secs : 0.0, "drop_rate", d->drops / n,
			 "pass_rate", d->passes / n, "abort_rate", d->aborts / n,
			 "cost_ns_avg", c->cost_samples ? (double)c->cost_ns / c->cost_samples : 0.0);
}

static json_t *tests_json(const struct judge_evidence *ev)
{
	static const char *const dirs[] = { "up", "down", "none" };
	static const char *const tests[] = { "harm", "safety", "exact", "limit", "budget",
					     "split", "input", "exposure" };
	json_t *arr = json_array();
	__u32 i;

	for (i = 0; i < ev->nr_tests && i < JUDGE_MAX_EVIDENCE; i++) {
		const struct judge_test_ev *t = &ev->tests[i];

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
				       "s:f, s:f, s:b}",
				       "metric", t->metric, "dir", dirs[t->dir <= 2 ? t->dir : 2],
				       "test", t->test < 8 ? tests[t->test] : "?",
				       "x_c", (json_int_t)t->x_c, "x_s", (json_int_t)t->x_s,
				       "n_c", (json_int_t)t->n_c, "n_s", (json_int_t)t->n_s,
				       "rate_c", t->rate_c, "rate_s", t->rate_s,
				       "ratio", isfinite(t->ratio) ? t->ratio : -1.0, "rho", t->rho,
				       "stat", isfinite(t->stat) ? t->stat : 1e308,
				       "threshold", t->threshold, "p", t->p, "decided", t->decided));
	}
	return arr;
}

json_t *canaryd_status__rollout(const struct iface *ifc)
{
	const struct rollout *r = &ifc->st.ro;
	char id[64], ev[512];
	json_t *shares, *o, *gate = json_null();
	__u32 i;
	__u64 now = canaryd_now_ms();

	if (!ifc->has_rollout)
		return json_null();
	shares = json_array();
	for (i = 0; i < r->plan.nr_steps; i++)
		json_array_append_new(shares, json_real(r->plan.step[i].share_bp / 100.0));
	if (snprintf(id, sizeof(id), "%s-%llu", ifc->cfg.name,
		     (unsigned long long)ifc->st.rollout_id) >= (int)sizeof(id))
		id[0] = '\0';
	ev[0] = '\0';
	if (r->last_ev.nr_tests || r->last_verdict != JUDGE_INCONCLUSIVE)
		judge_evidence__format(&r->last_ev, ev, sizeof(ev));
	if (r->gate)
		gate = json_pack("{s:s, s:I, s:b, s:b, s:s}", "name", rollout_gate__name(r->gate),
				 "waiting_ms", (json_int_t)(now - r->gate_since_ms),
				 "passed", r->gate_passed,
				 "asking", canary_webhook__gate_pending((void *)ifc),
				 "last_answer", ifc->gate_detail);
	o = json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:s}, s:i, s:i, s:f, s:o, s:I, s:I, s:I, s:s, s:s, s:o, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
		"id", id, "phase", rollout_phase__name(r->phase), "reason", r->reason,
		"candidate", "object", ifc->st.cand_obj, "program", ifc->st.cand_prog,
		"step", (int)r->step + 1, "steps", (int)r->plan.nr_steps,
		"share_pct", r->share_bp / 100.0, "shares_pct", shares,
		"step_elapsed_ms", (json_int_t)(rollout__done(r) ? 0 : now - r->step_start_ms),
		"step_min_ms", (json_int_t)r->plan.step[r->step].min_bake_ms,
		"elapsed_ms", (json_int_t)((rollout__done(r) ? r->end_ms : now) - r->start_ms),
		"verdict", judge_verdict__name(r->last_verdict), "evidence", ev,
		"tests", tests_json(&r->last_ev),
		"totals", "stable_packets", (json_int_t)r->totals.stable_packets,
		"candidate_packets", (json_int_t)r->totals.cand_packets,
		"candidate_aborted", (json_int_t)r->totals.cand_aborted,
		"candidate_invalid", (json_int_t)r->totals.cand_invalid,
		"candidate_drops", (json_int_t)r->totals.cand_drops,
		"stable_drops", (json_int_t)r->totals.stable_drops);
	json_object_set_new(o, "gate", gate);
	return o;
}

json_t *canaryd_status__iface(const struct iface *ifc)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:{s:s, s:s}, s:o}", "iface", ifc->cfg.name,
			      "mode", ifc->cfg.native ? "native" : "skb", "managed",
			      canaryd_iface__managed(ifc),
			      "error", ifc->error[0] ? json_string(ifc->error) : json_null(),
			      "stable", "object", ifc->st.stable.obj, "program", ifc->st.stable.prog,
			      "rollout", canaryd_status__rollout(ifc));

	if (ifc->dp && ifc->have_last) {
		json_object_set_new(o, "read_interval_ms", json_integer((json_int_t)llround(ifc->d_secs * 1000)));
		json_object_set_new(o, "breaker",
				    json_pack("{s:b, s:I, s:I}", "tripped", ifc->brk.tripped,
					      "bad", (json_int_t)ifc->brk.bad,
					      "trips", (json_int_t)ifc->brk.trips));
		json_object_set_new(o, "versions",
				    json_pack("{s:o, s:o}", "stable",
					      canaryd_status__version(ifc->last, 0, &ifc->d_stable, ifc->d_secs),
					      "candidate",
					      canaryd_status__version(ifc->last, 1, &ifc->d_cand, ifc->d_secs)));
	}
	return o;
}
