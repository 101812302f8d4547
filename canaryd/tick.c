// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tick: read the counters -> the rollout engine -> apply its actions.
 * canaryd_iface__feed() is the only caller of rollout__handle() and the
 * only place its actions are applied: operator commands, gate answers,
 * reconcile outcomes and interface loss all come through it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "sample.h"
#include "webhook.h"

static void log_notice(struct iface *ifc, enum rollout_notice n)
{
	pr_info("iface %s: rollout %s: %s\n", ifc->cfg.name, rollout_notice__name(n),
		ifc->st.ro.reason);
}

static int apply_one(struct canaryd *d, struct iface *ifc, const struct rollout_action *a)
{
	struct canary_dp *dp = ifc->dp;
	int err = 0, prev;

	switch (a->type) {
	case ROLLOUT_ACT_FILL_SLOT:
		/* This rollout's seed and strata counting first: no flow is on slot 1 yet. */
		err = canary_dp__set_rollout(dp, true, ifc->st.seed);
		return err ? err : canary_dp__set_slot(dp, 1, ifc->cand_fd);
	case ROLLOUT_ACT_ARM_BREAKER:
		err = canary_dp__reset_breaker(dp, 1);
		return err ? err : canary_dp__set_breaker_budget(dp, 1, a->arg);
	case ROLLOUT_ACT_SET_SHARE:
		err = canary_dp__set_share(dp, 1, (__u32)a->arg);
		/*
		 * The next interval starts at the change: a share changed between
		 * two reads (a gate's answer, an operator) would otherwise leave
		 * an interval whose strata were served by both versions.
		 */
		if (!err)
			canaryd_iface__snapshot(ifc);
		return err;
	case ROLLOUT_ACT_CLEAR_SLOT:
		err = canary_dp__clear_slot(dp, 1);
		/* The rollout is over: back to the idle path (the seed stays). */
		return err ? err : canary_dp__set_rollout(dp, false, 0);
	case ROLLOUT_ACT_PROMOTE:
		/* Its copy kept first: the promotion survives a reboot (keep.c). */
		err = canaryd_keep__store(ifc, ifc->st.cand_obj, ifc->st.cand_sha256);
		if (err)
			return err;
		/* Keep the old stable as "previous" for an instant revert. */
		prev = canaryd_iface__get_pinned(ifc, PIN_STABLE);
		if (prev >= 0) {
			err = canaryd_iface__pin(ifc, PIN_PREVIOUS, prev);
			close(prev);
			if (err)
				return err;
		}
		err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, ifc->cand_fd);
		if (!err) {
			err = canaryd_iface__pin(ifc, PIN_STABLE, ifc->cand_fd);
			/* Not promoted after all: the old stable back into slot 0. */
			if (err && canaryd_iface__slot0_from_pin(ifc, PIN_PREVIOUS))
				pr_warn("iface %s: the old stable cannot be put back into slot 0\n",
					ifc->cfg.name);
		}
		if (!err) {
			struct canaryd_version_id *v = &ifc->st.stable;

			ifc->st.previous = *v;
			ifc->st.previous_id = ifc->st.stable_id;
			ifc->st.stable_id = canaryd_prog_id(ifc->cand_fd);
			snprintf(v->obj, sizeof(v->obj), "%s", ifc->st.cand_obj);
			snprintf(v->prog, sizeof(v->prog), "%s", ifc->st.cand_prog);
			snprintf(v->sha256, sizeof(v->sha256), "%s", ifc->st.cand_sha256);
		}
		return err;
	case ROLLOUT_ACT_REVERT:
		prev = canaryd_iface__get_pinned(ifc, PIN_PREVIOUS);
		if (prev < 0)
			return -ENOENT;
		err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, prev);
		if (!err)
			err = canaryd_iface__pin(ifc, PIN_STABLE, prev);
		if (!err)
			ifc->st.stable_id = canaryd_prog_id(prev);
		close(prev);
		if (!err && ifc->st.previous.obj[0])
			ifc->st.stable = ifc->st.previous;
		return err;
	case ROLLOUT_ACT_NOTIFY:
		log_notice(ifc, (enum rollout_notice)a->arg);
		canaryd_history__record(d, ifc, (enum rollout_notice)a->arg);
		canaryd_iface__notify(d, ifc, (enum rollout_notice)a->arg);
		return 0;
	case ROLLOUT_ACT_PERSIST:
		return canaryd_iface__persist(ifc);
	case ROLLOUT_ACT_ASK_GATE:
		canaryd_iface__ask_gate(d, ifc, (enum rollout_gate)a->arg);
		return 0;
	case ROLLOUT_ACT_SET_PINS:
		if (a->arg != ifc->st.nr_pins)
			return -EINVAL;
		return canary_dp__set_pins(dp, ifc->st.pins, ifc->st.nr_pins);
	case ROLLOUT_ACT_CLEAR_PINS:
		err = canary_dp__set_pins(dp, NULL, 0);
		if (!err)
			ifc->st.nr_pins = 0;
		return err;
	case ROLLOUT_ACT_SET_ENTITY:
		return canaryd_iface__set_entities(ifc, ROLLOUT_ENTITY_COUNT(a->arg),
						   ROLLOUT_ENTITY_SLOT(a->arg));
	case ROLLOUT_ACT_SHADOW:
		/* Paired evidence in a live step: never a datapath failure of the rollout. */
		if (a->arg == 2)
			return canaryd_shadow__live_step(ifc);
		if (a->arg)
			return canaryd_shadow__begin(ifc);
		canaryd_shadow__end(ifc);
		return 0;
	}
	return -EINVAL;
}

static const char *action_name(enum rollout_action_type t)
{
	static const char *const names[] = {
		"fill slot 1", "arm the breaker", "set the share", "clear slot 1", "promote",
		"revert", "notify", "persist", "ask the gate", "set the pin rules",
		"remove the pin rules", "the shadow phase", "set the entity rules",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/*
 * Apply ACTS in order. A transition's actions stop at the first failure
 * (*FAILED says which); a failure transition's (ALL) are all tried, each
 * failure logged: it is the way back to stable only. 0 or the first error.
 */
static int apply(struct canaryd *d, struct iface *ifc, const struct rollout_actions *acts,
		 bool all, __u32 *failed)
{
	int err, first = 0;
	__u32 i;

	for (i = 0; i < acts->nr; i++) {
		err = apply_one(d, ifc, &acts->a[i]);
		if (!err)
			continue;
		if (!all) {
			*failed = i;
			return err;
		}
		pr_warn("iface %s: %s failed too (%s)\n", ifc->cfg.name,
			action_name(acts->a[i].type), strerror(-err));
		first = first ?: err;
	}
	return first;
}

static int feed_actions(struct canaryd *d, struct iface *ifc, const struct rollout_event *ev)
{
	struct rollout_actions acts;
	char reason[ROLLOUT_REASON_LEN];
	__u32 at = 0;
	int err;

	err = rollout__handle(&ifc->st.ro, ev, &acts);
	if (err)
		return err;
	/* A failure transition (interface lost) is applied as far as it goes. */
	err = apply(d, ifc, &acts, ev->type == ROLLOUT_EV_FAILED, &at);
	if (err && ev->type != ROLLOUT_EV_FAILED) {
		/* Through the engine too: notified, counted, persisted, never "promoted". */
		struct rollout_event fail = { .type = ROLLOUT_EV_FAILED, .now_ms = ev->now_ms,
					      .detail = reason };
		enum rollout_phase was = ifc->st.ro.phase;

		snprintf(reason, sizeof(reason), "failed: %s (%s) was refused by the datapath: %s; "
			 "stable only", action_name(acts.a[at].type), rollout_phase__name(was),
			 strerror(-err));
		pr_warn("iface %s: %s\n", ifc->cfg.name, reason);
		if (!rollout__handle(&ifc->st.ro, &fail, &acts))
			apply(d, ifc, &acts, true, NULL);
		else
			canaryd_iface__restore_stable(ifc);
	}
	/* No gate waited on any more (passed, or decided over): stop asking. */
	if (!ifc->st.ro.gate)
		canary_webhook__cancel_gate(ifc);
	return err;
}

/* Every phase change goes through here: count the rollouts that end. */
int canaryd_iface__feed(struct canaryd *d, struct iface *ifc, const struct rollout_event *ev)
{
	enum rollout_phase before = ifc->st.ro.phase;
	int err;

	ifc->feeding = ev->type;
	err = feed_actions(d, ifc, ev);

	canaryd_iface__gc_versions(ifc);	/* a promotion or revert unpins a version */
	canaryd_keep__prune(ifc);

	if (ifc->st.ro.phase != before && rollout__done(&ifc->st.ro))
		ifc->decisions[ifc->st.ro.phase]++;
	return err;
}

/* A gate's answer from the webhook transport. */
void canaryd__on_gate(void *ctx, void *owner, enum rollout_gate gate,
		      enum rollout_gate_result res, const char *detail)
{
	static const char *const what[] = { "passed", "not yet", "failed" };
	struct canaryd *d = ctx;
	struct iface *ifc = owner;
	char now[sizeof(ifc->gate_detail)];
	struct rollout_event ev = { .type = ROLLOUT_EV_GATE_RESULT, .now_ms = canaryd_now_ms(),
				    .gate = gate, .result = res, .detail = detail };

	snprintf(now, sizeof(now), "%s (%s)", what[res], detail);
	/* "Not yet" is logged when it starts or its answer changes, not every interval. */
	if (res != ROLLOUT_GATE_NOT_YET || strcmp(now, ifc->gate_detail))
		pr_info("iface %s: gate %s %s (%s)%s\n", ifc->cfg.name, rollout_gate__name(gate),
			what[res], detail,
			res == ROLLOUT_GATE_NOT_YET &&
				(strstr(detail, "401") || strstr(detail, "404"))
			    ? "; a 401 or 404 usually means a wrong secret or URL"
			    : "");
	snprintf(ifc->gate_detail, sizeof(ifc->gate_detail), "%s", now);
	if (canaryd_iface__feed(d, ifc, &ev) == -EINVAL)
		canary_webhook__cancel_gate(ifc);	/* nobody waits for it any more */
	else if (res == ROLLOUT_GATE_NOT_YET)
		canaryd_iface__refresh_gate(d, ifc, gate);	/* asked again with today's body */
}

/*
 * The entity steps' rule set (ROLLOUT_ACT_SET_ENTITY): the first COUNT
 * entities' rules, the last one's at SLOT, the others' at the candidate;
 * installed whole, and the next read interval starts at the change.
 */
int canaryd_iface__set_entities(struct iface *ifc, __u32 count, __u32 slot)
{
	struct canaryd_persist *st = &ifc->st;
	__u32 k, i, n = 0;
	int err;

	if (!count || count > st->ro.plan.nr_entities || slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	for (k = 0; k < count; k++)
		for (i = st->ent_first[k]; i < st->ent_first[k + 1]; i++) {
			st->pins[n] = st->ent_rules[i];
			st->pins[n].set = k + 1;	/* entity k's own counters */
			st->pins[n++].slot = k + 1 == count ? slot : 1;
		}
	err = canary_dp__set_pins(ifc->dp, st->pins, n);
	if (err)
		return err;
	st->nr_pins = n;
	canaryd_iface__snapshot(ifc);
	return 0;
}

void canaryd_iface__snapshot(struct iface *ifc)
{
	static struct canary_counters c[CANARY_COUNTERS_ENTRIES];

	if (!ifc->have_last || canary_dp__read_counters(ifc->dp, c))
		return;
	memcpy(ifc->last, c, sizeof(c));
	ifc->have_strata = !canary_dp__read_strata(ifc->dp, ifc->strata_last);
	ifc->have_sets = !canary_dp__read_rulesets(ifc->dp, ifc->sets_last);
}

static void iface_tick(struct canaryd *d, struct iface *ifc, __u64 now, double secs)
{
	static struct canary_counters c[CANARY_COUNTERS_ENTRIES];
	static struct canary_stratum strata[CANARY_STRATA], delta[CANARY_STRATA];
	static struct canary_ruleset sets[CANARY_RULESET_ENTRIES], sets_delta[CANARY_RULESET_ENTRIES];
	struct rollout_event ev = { .type = ROLLOUT_EV_TICK, .now_ms = now };
	bool have_strata, strata_ok, have_sets, sets_ok;
	__u32 thr;

	/* links.c has looked at the interface just before. */
	if (!canaryd_iface__managed(ifc))
		return;
	/* A symmetric change waited for the rollout to end. */
	if (ifc->settings_wait && (!ifc->has_rollout || rollout__done(&ifc->st.ro)))
		canaryd_iface__settings(ifc, "the rollout ended");
	if (canary_dp__read_counters(ifc->dp, c))
		return;
	/* For status: how regularly the loop reads (nothing may stall it). */
	if (ifc->reads++ && now - ifc->last_read_ms > ifc->max_read_gap_ms)
		ifc->max_read_gap_ms = now - ifc->last_read_ms;
	ifc->last_read_ms = now;
	canary_dp__read_breaker(ifc->dp, 1, &ifc->brk);
	/* The strata: the judge's evidence by groups of flows (docs/JUDGE.md). */
	have_strata = !canary_dp__read_strata(ifc->dp, strata);
	strata_ok = have_strata && ifc->have_strata &&
		    !rollout_sample__strata(strata, ifc->strata_last, delta);
	if (have_strata)
		memcpy(ifc->strata_last, strata, sizeof(strata));
	ifc->have_strata = have_strata;
	/* The rule sets: each entity's own pinned traffic (rollout/entity.h). */
	have_sets = !canary_dp__read_rulesets(ifc->dp, sets);
	sets_ok = have_sets && ifc->have_sets && ifc->have_last &&
		  !rollout_sample__rulesets(sets, ifc->sets_last, sets_delta);
	if (have_sets) {
		if (!ifc->have_last)
			memcpy(ifc->sets_start, sets, sizeof(sets));
		memcpy(ifc->sets_last, sets, sizeof(sets));
	}
	ifc->have_sets = have_sets;
	{
		__u64 pk[CANARY_RATE_SERIES] = {
			canary_counters__at(c, 0, CANARY_CLASS_SPLIT)->packets,
			canary_counters__at(c, 1, CANARY_CLASS_SPLIT)->packets,
		};

		canary_rate__add(&ifc->rate, now, pk);
	}
	if (!ifc->have_last) {
		memcpy(ifc->last, c, sizeof(c));
		memcpy(ifc->at_start, c, sizeof(c));
		ifc->have_last = true;
		return;
	}
	thr = rollout_sample__slow_bucket(c, ifc->at_start);
	rollout_sample__split(c, ifc->last, 0, thr, &ev.stable);
	rollout_sample__split(c, ifc->last, 1, thr, &ev.cand);
	ev.sets = sets_ok ? sets_delta : NULL;
	ifc->d_stable = ev.stable;
	ifc->d_cand = ev.cand;
	ifc->d_secs = secs;
	memcpy(ifc->last, c, sizeof(c));
	if (!ifc->has_rollout || rollout__done(&ifc->st.ro))
		return;
	canaryd_history__sample(d, ifc, secs);
	/* A read without strata, or with one that went backwards, is no evidence. */
	if (!strata_ok) {
		pr_debug("iface %s: strata not read this interval; not judged\n", ifc->cfg.name);
	} else {
		ev.strata = delta;
		ev.breaker_tripped = ifc->brk.tripped;
		canaryd_iface__feed(d, ifc, &ev);
	}
	/* The shadow phase's samples of this interval, replayed and decided. */
	canaryd_shadow__tick(d, ifc, now);
}

void canaryd_iface__tick(struct canaryd *d, struct iface *ifc, __u64 now, double secs)
{
	iface_tick(d, ifc, now, secs);
	/*
	 * A live capture's samples, when the shadow phase did not drain them,
	 * and its end when its client went away: every tick, with or without
	 * a rollout (iface_tick returns early without one).
	 */
	canaryd_capture__tick(ifc, now);
}
