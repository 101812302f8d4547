// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shadow phase's datapath side (issue 15): shadow instances of stable
 * and the candidate (lib/replay.h, private map copies from the versions'
 * map dirs), the dispatcher's sampling on, and each tick the ring drained
 * (without waiting, at most CANARYD_SHADOW_PER_TICK samples), every sample
 * replayed and added to the paired evidence (rollout/shadow.h), and the
 * decision fed to the engine as ROLLOUT_EV_SHADOW. The decision is
 * rollout/'s; this file only moves data.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "replay.h"
#include "shadow.h"

static int on_sample(void *ctx, const struct canary_sample *smp)
{
	struct iface *ifc = ctx;
	struct canaryd_shadow *sh = ifc->shadow;
	struct canary_shadow_pair pr;

	canaryd_capture__sample(ifc, smp);	/* a live capture's too (capture.c) */
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

int canaryd_shadow__begin(struct iface *ifc)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	const char *sobj = ifc->st.stable.obj[0] ? ifc->st.stable.obj : ifc->cfg.stable_obj;
	const char *sprog = ifc->st.stable.obj[0] ? ifc->st.stable.prog : ifc->cfg.stable_prog;
	const char *cset = ifc->cand_set[0] ? ifc->cand_set : rc->set;
	char sdir[PATH_MAX], cdir[PATH_MAX], msg[512] = "";
	struct canaryd_shadow *sh = ifc->shadow;
	int copied_s = 0, copied_c = 0, err;

	if (!sh) {
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			return -ENOMEM;
		ifc->shadow = sh;
	}
	close_instances(sh);
	memset(sh, 0, sizeof(*sh));
	sh->sfd = sh->cfd = -1;
	shadow_params__default(&sh->params);
	/*
	 * The first samples are each CPU's token-bucket burst (a tenth of a
	 * second's worth): consecutive packets on fresh map copies, which a
	 * stateful program replays faithfully whatever its state. No decision
	 * on them alone: past two CPUs' bursts at least.
	 */
	sh->params.min_samples += 2 * (rc->shadow_rate / 10);
	canaryd_iface__pinned_map_dir(ifc, PIN_STABLE, sdir, sizeof(sdir));
	canaryd_iface__pinned_map_dir(ifc, PIN_CANDIDATE, cdir, sizeof(cdir));
	sh->sfd = canary_shadow__load(sobj, sprog[0] ? sprog : NULL, rc->set, sdir, &sh->s_obj,
				      &copied_s, msg, sizeof(msg));
	if (sh->sfd < 0) {
		err = sh->sfd;
		pr_warn("iface %s: shadow phase: stable %s: %s\n", ifc->cfg.name, sobj, msg);
		goto fail;
	}
	sh->cfd = canary_shadow__load(ifc->st.cand_obj, ifc->st.cand_prog[0] ? ifc->st.cand_prog
								    : NULL,
				      cset, cdir, &sh->c_obj, &copied_c, msg, sizeof(msg));
	if (sh->cfd < 0) {
		err = sh->cfd;
		pr_warn("iface %s: shadow phase: candidate %s: %s\n", ifc->cfg.name,
			ifc->st.cand_obj, msg);
		goto fail;
	}
	sh->rd = canary_dp__sample_reader(ifc->dp, on_sample, ifc);
	if (!sh->rd) {
		err = -errno ?: -ENOMEM;
		pr_warn("iface %s: shadow phase: cannot read the sample ring: %s\n", ifc->cfg.name,
			strerror(-err));
		goto fail;
	}
	err = canary_dp__set_sampling(ifc->dp, CANARYD_SHADOW_EVERY, (__u32)rc->shadow_rate, 0);
	if (err) {
		pr_warn("iface %s: shadow phase: sampling refused: %s\n", ifc->cfg.name,
			strerror(-err));
		goto fail;
	}
	sh->active = true;
	pr_info("iface %s: shadow phase: replaying samples (1 in %u, at most %llu/s per CPU) "
		"through shadow instances of %s and %s (%d and %d maps copied from the live ones)\n",
		ifc->cfg.name, CANARYD_SHADOW_EVERY, (unsigned long long)rc->shadow_rate, sobj,
		ifc->st.cand_obj,
		copied_s, copied_c);
	return 0;
fail:
	close_instances(sh);
	return err;
}

void canaryd_shadow__end(struct iface *ifc)
{
	struct canaryd_shadow *sh = ifc->shadow;

	if (!sh || !sh->active)
		return;
	if (ifc->dp)
		canary_dp__set_sampling(ifc->dp, 0, 1, 0);
	close_instances(sh);
	sh->active = false;
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
static void harm_detail(const struct canaryd_shadow *sh, enum shadow_metric m, char *buf,
			size_t len)
{
	const struct shadow_cell *best = NULL;
	double e = shadow_test__harm_evalue(&sh->ev.test[m]);
	char ev[32];
	__u32 i, j, bi = 0, bj = 0;

	for (i = 0; i < CANARY_V_MAX; i++)
		for (j = 0; j < CANARY_V_MAX; j++)
			if (harmful_cell(m, i, j) &&
			    (!best || sh->ev.cell[i][j].samples > best->samples)) {
				best = &sh->ev.cell[i][j];
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
		 (unsigned long long)sh->ev.samples, ev, 1.0 / sh->params.alpha,
		 best && best->n_examples ? best->ex[0].summary : "no example kept");
}

void canaryd_shadow__tick(struct canaryd *d, struct iface *ifc, __u64 now)
{
	struct canaryd_shadow *sh = ifc->shadow;
	struct rollout_event ev = { .type = ROLLOUT_EV_SHADOW, .now_ms = now };
	enum shadow_metric metric = SHADOW_DROP_UP;
	char detail[ROLLOUT_REASON_LEN - 96];
	int n;

	if (!ifc->has_rollout || !ifc->st.ro.shadowing)
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
		snprintf(detail, sizeof(detail), "the shadow instances cannot be loaded (canaryd's "
			 "log says why): no evidence");
		ev.shadow_decision = SHADOW_UNDECIDED;
		ev.detail = detail;
		canaryd_iface__feed(d, ifc, &ev);
		return;
	}
	sh = ifc->shadow;
	sh->this_tick = 0;
	n = canary_sample_reader__consume(sh->rd);
	if (n < 0)
		pr_debug("iface %s: shadow phase: ring read: %s\n", ifc->cfg.name, strerror(-n));
	sh->decision = shadow_evidence__decide(&sh->ev, &sh->params, &metric);
	if (sh->decision == SHADOW_HARMFUL) {
		harm_detail(sh, metric, detail, sizeof(detail));
		snprintf(sh->harm, sizeof(sh->harm), "%s", detail);
	} else {
		snprintf(detail, sizeof(detail), "%llu samples, fidelity %.3f",
			 (unsigned long long)sh->ev.samples, shadow_evidence__fidelity(&sh->ev));
	}
	ev.shadow_decision = sh->decision;
	ev.detail = detail;
	canaryd_iface__feed(d, ifc, &ev);
}
