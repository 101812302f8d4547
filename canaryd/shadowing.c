// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shadow phase's datapath side (issue 15): shadow instances of stable
 * and the candidate (lib/replay.h, private map copies from the versions'
 * map dirs), the dispatcher's sampling on, and each tick the ring drained
 * (without waiting, at most CANARYD_SHADOW_PER_TICK samples), every sample
 * replayed and added to the paired evidence (rollout/shadow.h), and the
 * decision fed to the engine as ROLLOUT_EV_SHADOW. The decision is
 * rollout/'s; this file only moves data.
 *
 * The live steps (plan.shadow_live, ROLLOUT_ACT_SHADOW 2 at each): the
 * same instances (kept from the phase, or loaded at the first live step),
 * sampling at the live rate, the replay bounded by time per tick, each
 * sample paired by shadow_live__pair() (the serving version's live
 * verdict, the other's shadow) into the live steps' evidence and the
 * step's, and shadow_live__decide()'s decision fed as ROLLOUT_EV_SHADOW.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "replay.h"
#include "shadow.h"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void paired_add(struct canaryd_paired *p, const struct shadow_params *prm, __u32 slot,
		       bool faithful, __u32 vs, __u32 vc, const struct canary_shadow_pair *pr)
{
	shadow_evidence__add_pair(&p->ev, prm, faithful, vs, vc, pr->rewritten, pr->summary);
	if (slot == CANARY_SLOT_STABLE)
		p->stable_flows++;
	else
		p->cand_flows++;
}

/* A live step's sample: paired with the live verdict of the version that served it. */
static int on_live_sample(struct canaryd_shadow *sh, const struct canary_sample *smp)
{
	struct canary_shadow_pair pr;
	__u32 vs, vc;
	bool faithful;

	if (smp->ts_ns < sh->since_ns) {
		sh->stale++;
	} else if (canary_shadow__replay(sh->sfd, sh->cfd, smp, &pr)) {
		sh->replay_errors++;
	} else {
		faithful = shadow_live__pair(smp->slot, pr.live, pr.stable, pr.candidate, &vs, &vc);
		paired_add(&sh->live_all, &sh->live_params, smp->slot, faithful, vs, vc, &pr);
		/* The previous step's last samples count for the rollout, not for this step. */
		if (smp->ts_ns >= sh->step_since_ns)
			paired_add(&sh->live_step, &sh->live_params, smp->slot, faithful, vs, vc,
				   &pr);
	}
	/* Bounded by time: the rest waits in the ring (lost when it is full, counted). */
	if (mono_ns() >= sh->tick_deadline_ns) {
		sh->budget_ticks++;
		return 1;
	}
	return 0;
}

static int on_sample(void *ctx, const struct canary_sample *smp)
{
	struct iface *ifc = ctx;
	struct canaryd_shadow *sh = ifc->shadow;
	struct canary_shadow_pair pr;

	canaryd_capture__sample(ifc, smp);	/* a live capture's too (capture.c) */
	if (sh->live)
		return on_live_sample(sh, smp);
	if (smp->ts_ns < sh->since_ns) {
		sh->stale++;	/* an earlier rollout's, left in the ring */
		return 0;
	}
	if (canary_shadow__replay(sh->sfd, sh->cfd, smp, &pr)) {
		sh->replay_errors++;
	} else {
		shadow_evidence__add(&sh->ev, &sh->params, pr.live, pr.stable, pr.candidate,
				     pr.rewritten, pr.summary);
	}
	/* Bounded work per tick: the rest waits in the ring for the next one. */
	return ++sh->this_tick >= CANARYD_SHADOW_PER_TICK ? 1 : 0;
}

static void close_instances(struct canaryd_shadow *sh)
{
	canary_sample_reader__free(sh->rd);
	sh->rd = NULL;
	bpf_object__close(sh->s_obj);
	bpf_object__close(sh->c_obj);
	sh->s_obj = sh->c_obj = NULL;
	sh->sfd = sh->cfd = -1;
}

/*
 * Shadow instances of stable and the candidate, the ring's reader, and
 * sampling on at 1 in EVERY, at most RATE per second per CPU; WHAT names
 * the use in the log ("shadow phase", "paired evidence").
 */
static int load_instances(struct iface *ifc, __u32 every, __u64 rate, const char *what)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	const char *sobj = ifc->st.stable.obj[0] ? ifc->st.stable.obj : ifc->cfg.stable_obj;
	const char *sprog = ifc->st.stable.obj[0] ? ifc->st.stable.prog : ifc->cfg.stable_prog;
	const char *cset = ifc->cand_set[0] ? ifc->cand_set : rc->set;
	char sdir[PATH_MAX], cdir[PATH_MAX], msg[512] = "";
	struct canaryd_shadow *sh = ifc->shadow;
	int copied_s = 0, copied_c = 0, err;

	canaryd_iface__pinned_map_dir(ifc, PIN_STABLE, sdir, sizeof(sdir));
	canaryd_iface__pinned_map_dir(ifc, PIN_CANDIDATE, cdir, sizeof(cdir));
	sh->sfd = canary_shadow__load(sobj, sprog[0] ? sprog : NULL, rc->set, sdir, &sh->s_obj,
				      &copied_s, msg, sizeof(msg));
	if (sh->sfd < 0) {
		err = sh->sfd;
		pr_warn("iface %s: %s: stable %s: %s\n", ifc->cfg.name, what, sobj, msg);
		goto fail;
	}
	sh->cfd = canary_shadow__load(ifc->st.cand_obj, ifc->st.cand_prog[0] ? ifc->st.cand_prog
								    : NULL,
				      cset, cdir, &sh->c_obj, &copied_c, msg, sizeof(msg));
	if (sh->cfd < 0) {
		err = sh->cfd;
		pr_warn("iface %s: %s: candidate %s: %s\n", ifc->cfg.name, what,
			ifc->st.cand_obj, msg);
		goto fail;
	}
	sh->rd = canary_dp__sample_reader(ifc->dp, on_sample, ifc);
	if (!sh->rd) {
		err = -errno ?: -ENOMEM;
		pr_warn("iface %s: %s: cannot read the sample ring: %s\n", ifc->cfg.name, what,
			strerror(-err));
		goto fail;
	}
	sh->since_ns = mono_ns();
	err = canary_dp__set_sampling(ifc->dp, every, (__u32)rate, 0);
	if (err) {
		pr_warn("iface %s: %s: sampling refused: %s\n", ifc->cfg.name, what,
			strerror(-err));
		goto fail;
	}
	sh->active = true;
	pr_info("iface %s: %s: replaying samples (1 in %u, at most %llu/s per CPU) "
		"through shadow instances of %s and %s (%d and %d maps copied from the live ones)\n",
		ifc->cfg.name, what, every, (unsigned long long)rate, sobj, ifc->st.cand_obj,
		copied_s, copied_c);
	return 0;
fail:
	close_instances(sh);
	return err;
}

/* A fresh record for this rollout (the last one's evidence goes). */
static struct canaryd_shadow *fresh(struct iface *ifc)
{
	struct canaryd_shadow *sh = ifc->shadow;

	if (!sh) {
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			return NULL;
		ifc->shadow = sh;
	}
	close_instances(sh);
	memset(sh, 0, sizeof(*sh));
	sh->sfd = sh->cfd = -1;
	sh->rollout_id = ifc->st.rollout_id;
	return sh;
}

int canaryd_shadow__begin(struct iface *ifc)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	struct canaryd_shadow *sh = fresh(ifc);

	if (!sh)
		return -ENOMEM;
	shadow_params__default(&sh->params);
	/*
	 * The first samples are each CPU's token-bucket burst (a tenth of a
	 * second's worth): consecutive packets on fresh map copies, which a
	 * stateful program replays faithfully whatever its state. No decision
	 * on them alone: past two CPUs' bursts at least.
	 */
	sh->params.min_samples += 2 * (rc->shadow_rate / 10);
	return load_instances(ifc, CANARYD_SHADOW_EVERY, rc->shadow_rate, "shadow phase");
}

int canaryd_shadow__live_step(struct iface *ifc)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	struct canaryd_shadow *sh = ifc->shadow;
	int err;

	if (!sh || !sh->live_begun || sh->rollout_id != ifc->st.rollout_id) {
		/* The first live step: from the shadow phase's instances, or new ones. */
		bool from_phase = sh && sh->active && sh->rollout_id == ifc->st.rollout_id;

		if (!from_phase) {
			sh = fresh(ifc);
			if (!sh)
				return 0;	/* no evidence: the split judge decides */
		}
		shadow_params__default(&sh->live_params);
		/* The other half of alpha is the split judge's (rollout/engine.c). */
		sh->live_params.alpha = rollout__paired_alpha(&ifc->st.ro);
		/* Past two CPUs' token-bucket bursts, as in the phase. */
		sh->live_params.min_samples += 2 * (rc->shadow_live_rate / 10);
		sh->live_begun = true;
		if (from_phase) {
			sh->since_ns = mono_ns();
			err = canary_dp__set_sampling(ifc->dp, (__u32)rc->shadow_live_every,
						      (__u32)rc->shadow_live_rate, 0);
			if (err) {
				/* Not a datapath failure of the rollout: no paired evidence. */
				pr_warn("iface %s: paired evidence: live sampling refused: %s; the "
					"split judge decides alone\n", ifc->cfg.name, strerror(-err));
				canary_dp__set_sampling(ifc->dp, 0, 1, 0);
				close_instances(sh);
				sh->active = false;
				sh->load_failed = true;
			} else {
				pr_info("iface %s: paired evidence: the shadow phase's instances kept, "
					"sampling 1 in %llu, at most %llu/s per CPU\n", ifc->cfg.name,
					(unsigned long long)rc->shadow_live_every,
					(unsigned long long)rc->shadow_live_rate);
			}
		} else if (load_instances(ifc, (__u32)rc->shadow_live_every, rc->shadow_live_rate,
					  "paired evidence")) {
			pr_warn("iface %s: paired evidence: no shadow instances; the split judge "
				"decides alone\n", ifc->cfg.name);
			sh->load_failed = true;
		}
		sh->live = sh->active;
	}
	memset(&sh->live_step, 0, sizeof(sh->live_step));
	sh->step_since_ns = mono_ns();
	sh->live_steps++;
	sh->live_decision = SHADOW_UNDECIDED;
	return 0;
}

void canaryd_shadow__end(struct iface *ifc)
{
	struct canaryd_shadow *sh = ifc->shadow;
	bool live;

	if (!sh || !sh->active)
		return;
	if (ifc->dp)
		canary_dp__set_sampling(ifc->dp, 0, 1, 0);
	close_instances(sh);
	sh->active = false;
	live = sh->live;
	sh->live = false;
	if (live)
		pr_info("iface %s: paired evidence over after %u live steps: %llu samples "
			"(%llu of stable's flows, %llu of the candidate's), fidelity %.3f, %s\n",
			ifc->cfg.name, sh->live_steps, (unsigned long long)sh->live_all.ev.samples,
			(unsigned long long)sh->live_all.stable_flows,
			(unsigned long long)sh->live_all.cand_flows,
			shadow_evidence__fidelity(&sh->live_all.ev),
			shadow_decision__name(sh->live_decision));
	else
		pr_info("iface %s: shadow phase over: %llu samples replayed, fidelity %.3f, %s\n",
			ifc->cfg.name, (unsigned long long)sh->ev.samples,
			shadow_evidence__fidelity(&sh->ev), shadow_decision__name(sh->decision));
}

void canaryd_shadow__free(struct iface *ifc)
{
	/* canaryd exiting: sampling off, the phase itself goes on after a restart. */
	if (ifc->shadow && ifc->shadow->active && ifc->dp)
		canary_dp__set_sampling(ifc->dp, 0, 1, 0);
	if (ifc->shadow)
		close_instances(ifc->shadow);
	free(ifc->shadow);
	ifc->shadow = NULL;
}

/* Columns of the harmful moves of metric M for a stable verdict ROW. */
static bool harmful_cell(enum shadow_metric m, __u32 vs, __u32 vc)
{
	switch (m) {
	case SHADOW_DROP_UP:
		return vs != CANARY_V_DROP && vc == CANARY_V_DROP;
	case SHADOW_DROP_DOWN:
		return vs == CANARY_V_DROP && vc != CANARY_V_DROP;
	case SHADOW_PASS_DOWN:
		return vs == CANARY_V_PASS && vc != CANARY_V_PASS;
	case SHADOW_ABORTED_UP:
		return vs != CANARY_V_ABORTED && vc == CANARY_V_ABORTED;
	case SHADOW_INVALID_UP:
		return vs != CANARY_V_INVALID && vc == CANARY_V_INVALID;
	default:
		return false;
	}
}

/* "drop_up: pass->drop 212 of 230 samples (e-value 1.2e+05), e.g. udp ..." */
static void harm_detail(const struct shadow_evidence *sev, const struct shadow_params *prm,
			enum shadow_metric m, char *buf, size_t len)
{
	const struct shadow_cell *best = NULL;
	double e = shadow_test__harm_evalue(&sev->test[m]);
	char ev[32];
	__u32 i, j, bi = 0, bj = 0;

	for (i = 0; i < CANARY_V_MAX; i++)
		for (j = 0; j < CANARY_V_MAX; j++)
			if (harmful_cell(m, i, j) &&
			    (!best || sev->cell[i][j].samples > best->samples)) {
				best = &sev->cell[i][j];
				bi = i;
				bj = j;
			}
	/* Past a double's range the average of the bets reads "inf". */
	if (isinf(e))
		snprintf(ev, sizeof(ev), "> 1e308");
	else
		snprintf(ev, sizeof(ev), "%.3g", e);
	snprintf(buf, len, "%s: %s->%s %llu of %llu samples (e-value %s >= %.0f), e.g. %s",
		 shadow_metric__name(m), canary_verdict_name(bi), canary_verdict_name(bj),
		 (unsigned long long)(best ? best->samples : 0),
		 (unsigned long long)sev->samples, ev, 1.0 / prm->alpha,
		 best && best->n_examples ? best->ex[0].summary : "no example kept");
}

/* The shadow instances could not be loaded: an undecided event, WHAT it leaves. */
static void feed_unloadable(struct canaryd *d, struct iface *ifc, __u64 now, const char *what)
{
	struct rollout_event ev = { .type = ROLLOUT_EV_SHADOW, .now_ms = now,
				    .shadow_decision = SHADOW_UNDECIDED };
	char detail[ROLLOUT_REASON_LEN - 96];

	snprintf(detail, sizeof(detail),
		 "the shadow instances cannot be loaded (canaryd's log says why): %s", what);
	ev.detail = detail;
	canaryd_iface__feed(d, ifc, &ev);
}

/*
 * A live step's tick: the ring drained within the time bound, the live
 * steps' decision fed. A restart in a live step loads the instances again
 * (evidence anew); instances that cannot be loaded give no evidence.
 */
static void live_tick(struct canaryd *d, struct iface *ifc, __u64 now)
{
	struct canaryd_shadow *sh = ifc->shadow;
	struct rollout_event ev = { .type = ROLLOUT_EV_SHADOW, .now_ms = now };
	enum shadow_metric metric = SHADOW_DROP_UP;
	char detail[ROLLOUT_REASON_LEN - 160];
	const struct canaryd_paired *st, *all;
	int n;

	if (!sh || !sh->live_begun || sh->rollout_id != ifc->st.rollout_id)
		canaryd_shadow__live_step(ifc);
	sh = ifc->shadow;
	if (!sh || !sh->live) {
		feed_unloadable(d, ifc, now, "no paired evidence");
		return;
	}
	sh->tick_deadline_ns = mono_ns() + CANARYD_SHADOW_LIVE_TICK_NS;
	n = canary_sample_reader__consume(sh->rd);
	if (n < 0)
		pr_debug("iface %s: paired evidence: ring read: %s\n", ifc->cfg.name, strerror(-n));
	st = &sh->live_step;
	all = &sh->live_all;
	sh->live_decision = shadow_live__decide(&all->ev, &st->ev, &sh->live_params, &metric);
	if (sh->live_decision == SHADOW_HARMFUL) {
		int k = snprintf(detail, sizeof(detail), "over %llu samples of the live steps "
				 "(%llu of stable's flows, %llu of the candidate's), fidelity %.3f: ",
				 (unsigned long long)all->ev.samples,
				 (unsigned long long)all->stable_flows,
				 (unsigned long long)all->cand_flows,
				 shadow_evidence__fidelity(&all->ev));

		if (k > 0 && (size_t)k < sizeof(detail))
			harm_detail(&all->ev, &sh->live_params, metric, detail + k,
				    sizeof(detail) - k);
		snprintf(sh->live_harm, sizeof(sh->live_harm), "%s", detail);
	} else {
		snprintf(detail, sizeof(detail), "%llu samples this step (%llu of stable's flows, "
			 "%llu of the candidate's), fidelity %.3f",
			 (unsigned long long)st->ev.samples, (unsigned long long)st->stable_flows,
			 (unsigned long long)st->cand_flows, shadow_evidence__fidelity(&st->ev));
	}
	ev.shadow_decision = sh->live_decision;
	ev.detail = detail;
	canaryd_iface__feed(d, ifc, &ev);
}

void canaryd_shadow__tick(struct canaryd *d, struct iface *ifc, __u64 now)
{
	struct canaryd_shadow *sh = ifc->shadow;
	struct rollout_event ev = { .type = ROLLOUT_EV_SHADOW, .now_ms = now };
	enum shadow_metric metric = SHADOW_DROP_UP;
	char detail[ROLLOUT_REASON_LEN - 96];
	int n;

	if (!ifc->has_rollout)
		return;
	if (ifc->st.ro.paired) {
		live_tick(d, ifc, now);
		return;
	}
	if (!ifc->st.ro.shadowing)
		return;
	/*
	 * A restart in the shadow phase: the instances again, evidence anew,
	 * tried once (a failure is logged once; the phase then runs out
	 * undecided and the live steps decide).
	 */
	if (!(sh && sh->load_failed) && (!sh || !sh->active) && canaryd_shadow__begin(ifc) &&
	    ifc->shadow)
		ifc->shadow->load_failed = true;
	if (!ifc->shadow || ifc->shadow->load_failed) {
		feed_unloadable(d, ifc, now, "no evidence");
		return;
	}
	sh = ifc->shadow;
	sh->this_tick = 0;
	n = canary_sample_reader__consume(sh->rd);
	if (n < 0)
		pr_debug("iface %s: shadow phase: ring read: %s\n", ifc->cfg.name, strerror(-n));
	sh->decision = shadow_evidence__decide(&sh->ev, &sh->params, &metric);
	if (sh->decision == SHADOW_HARMFUL) {
		harm_detail(&sh->ev, &sh->params, metric, detail, sizeof(detail));
		snprintf(sh->harm, sizeof(sh->harm), "%s", detail);
	} else {
		snprintf(detail, sizeof(detail), "%llu samples, fidelity %.3f",
			 (unsigned long long)sh->ev.samples, shadow_evidence__fidelity(&sh->ev));
	}
	ev.shadow_decision = sh->decision;
	ev.detail = detail;
	canaryd_iface__feed(d, ifc, &ev);
}
