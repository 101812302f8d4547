// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Crash reconciliation (reconcile.h): persisted state + observed kernel state -> fixes. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "reconcile.h"

static void fix(struct rollout_reconcile *out, enum rollout_fix_type type, __u32 arg)
{
	/* ROLLOUT_MAX_FIXES covers the longest sequence below. */
	if (out->nr < ROLLOUT_MAX_FIXES)
		out->fix[out->nr++] = (struct rollout_fix){ type, arg };
}

static void event(struct rollout_reconcile *out, enum rollout_event_type type, __u64 now,
		  const char *reason)
{
	out->ev = (struct rollout_event){ .type = type, .now_ms = now, .detail = reason };
	fix(out, ROLLOUT_FIX_EVENT, 0);
}

int rollout__reconcile(const struct rollout *r, const struct rollout_observed *obs, __u64 now_ms,
		       struct rollout_reconcile *out)
{
	bool live = r && !rollout__done(r);
	__u32 cand;

	if (!obs || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	cand = live ? obs->cand_pin : 0;

	if (cand && (obs->slot0 == cand || obs->stable_pin == cand)) {
		/* The promotion pinned the old stable as "previous" first. */
		if (obs->stable_pin == cand)
			fix(out, ROLLOUT_FIX_PIN_STABLE_FROM_PREVIOUS, 0);
		out->outcome = ROLLOUT_RC_PROMOTION_COMPLETED;
		event(out, ROLLOUT_EV_PROMOTE, now_ms,
		      "promoted: promotion completed after a restart (canaryd stopped inside it)");
		return 0;
	}
	/*
	 * A revert's writes (slot 0, then the stable pin) ahead of the file: it
	 * was decided, so it is completed; putting the stable pin back into slot
	 * 0 would undo it and bring the rejected version back at 100 %.
	 */
	if (r && r->phase == ROLLOUT_PROMOTED && r->has_previous && obs->want_previous &&
	    obs->want_previous != obs->want_stable &&
	    (obs->slot0 == obs->want_previous || obs->stable_pin == obs->want_previous)) {
		out->outcome = ROLLOUT_RC_REVERT_COMPLETED;
		event(out, ROLLOUT_EV_REVERT, now_ms,
		      "reverted to the previous stable by operator; revert completed after a "
		      "restart (canaryd stopped inside it)");
		return 0;
	}
	if (obs->stable_pin && obs->slot0 != obs->stable_pin) {
		out->revert_completed = true;
		fix(out, ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN, 0);
	}
	if (!live) {
		/*
		 * A start that was not persisted may have pinned its candidate over
		 * the promoted one this state names: that one is the stable now.
		 */
		if (r && r->phase == ROLLOUT_PROMOTED && obs->stable_pin &&
		    obs->cand_pin != obs->stable_pin)
			fix(out, ROLLOUT_FIX_PIN_CANDIDATE_FROM_STABLE, 0);
		if (obs->share_bp || obs->slot1) {
			out->outcome = ROLLOUT_RC_START_UNDONE;
			fix(out, ROLLOUT_FIX_RESTORE_STABLE, 0);
		}
		return 0;
	}
	/*
	 * Waiting at its start gate: no traffic reaches the candidate yet (the
	 * engine fills slot 1 when the gate passes), so an empty slot 1 at
	 * share 0 is the rollout as persisted, not a withdrawal; the gate is
	 * asked again.
	 */
	if (r->gate == ROLLOUT_GATE_START && !obs->share_bp && (!obs->slot1 || obs->slot1 == cand))
		return 0;
	if (obs->slot1 != cand || obs->share_bp < r->share_bp) {
		out->outcome = ROLLOUT_RC_ROLLBACK_COMPLETED;
		event(out, ROLLOUT_EV_WITHDRAWN, now_ms,
		      "rolled back: canaryd stopped while withdrawing the candidate; withdrawal "
		      "completed after a restart");
		return 0;
	}
	if (obs->share_bp > r->share_bp) {
		out->outcome = ROLLOUT_RC_ADVANCE_UNDONE;
		fix(out, ROLLOUT_FIX_SET_SHARE, r->share_bp);
	}
	return 0;
}

enum rollout_release_outcome rollout__reconcile_release(const struct rollout_release_obs *obs)
{
	bool dp_attached = obs->dp_id && obs->xdp_id == obs->dp_id;

	if (obs->marker) {
		if (!obs->pinned)
			return ROLLOUT_RELEASE_DONE;
		return dp_attached ? ROLLOUT_RELEASE_MARKED_ATTACHED : ROLLOUT_RELEASE_FINISH_PINS;
	}
	/* Only the release attaches canaryd's own pinned stable directly. */
	if (obs->pinned && !dp_attached && obs->stable_pin && obs->xdp_id == obs->stable_pin)
		return ROLLOUT_RELEASE_FINISH_MARKER;
	return ROLLOUT_RELEASE_NONE;
}
