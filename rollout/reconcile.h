/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crash reconciliation: after canaryd adopts a pinned dispatcher, bring the
 * datapath in line with the persisted rollout. A pure function: the state
 * file's rollout and what canaryd observed in the kernel (program ids in
 * the slots and the pins, the installed share) in, fixes out; canaryd
 * applies them. Program ids are 0 where nothing is there.
 *
 * canaryd writes the kernel first and persists after, so one killed in
 * between leaves the datapath one transition ahead of its state file:
 *  - a start not persisted (slot 1 filled or a share with no live rollout
 *    in the file): stable only again, as if the start had not happened;
 *  - an advance not persisted (share above the persisted step's): back to
 *    the persisted step's share; flows only move back to stable;
 *  - a promotion not persisted (slot 0 or the stable pin is the candidate):
 *    the promotion is completed (an engine event), as it had been decided;
 *  - a rollback not persisted (share below the step's, or slot 1 not the
 *    candidate): the rollback is completed (an engine event), never
 *    re-exposing flows;
 *  - a revert not persisted (the state file names the promoted version, and
 *    slot 0 or the stable pin already holds the previous stable's program
 *    id that the file persisted): the revert is completed (an engine event),
 *    never undone, so the rejected version is not put back at 100 %;
 *  - otherwise slot 0 not holding the stable pin: slot 0 is put back to the
 *    stable pin.
 */
#ifndef CANARY_ROLLOUT_RECONCILE_H
#define CANARY_ROLLOUT_RECONCILE_H

#include <stdbool.h>
#include <linux/types.h>

#include "engine.h"

/* What canaryd found in the kernel after the adoption. */
struct rollout_observed {
	__u32 slot0, slot1;	/* program ids in the ProgMap's slots 0 and 1 */
	__u32 share_bp;		/* slot 1's installed share */
	__u32 stable_pin;	/* program pinned as "stable" */
	__u32 cand_pin;		/* program pinned as "candidate" */
	/*
	 * Not observed: the program ids the state file persisted for the
	 * stable and the previous stable (0: unknown, a file of an older layout).
	 */
	__u32 want_stable, want_previous;
};

enum rollout_fix_type {
	ROLLOUT_FIX_PIN_STABLE_FROM_PREVIOUS,	/* pin "previous" as "stable" again */
	ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN,	/* the "stable" pin back into slot 0 */
	ROLLOUT_FIX_PIN_CANDIDATE_FROM_STABLE,	/* pin "stable" as "candidate" too */
	ROLLOUT_FIX_RESTORE_STABLE,		/* share 0, slot 1 emptied */
	ROLLOUT_FIX_SET_SHARE,			/* arg: the persisted step's share */
	ROLLOUT_FIX_EVENT,			/* feed the outcome's event to the engine */
};

/* Why, as the shell reports it; a revert can come with any of the others. */
enum rollout_outcome {
	ROLLOUT_RC_CONSISTENT,		/* nothing to do */
	ROLLOUT_RC_START_UNDONE,
	ROLLOUT_RC_ADVANCE_UNDONE,
	ROLLOUT_RC_PROMOTION_COMPLETED,
	ROLLOUT_RC_ROLLBACK_COMPLETED,
	ROLLOUT_RC_REVERT_COMPLETED,
};

struct rollout_fix {
	enum rollout_fix_type type;
	__u32 arg;
};

#define ROLLOUT_MAX_FIXES 4

struct rollout_reconcile {
	enum rollout_outcome outcome;
	bool revert_completed;		/* slot 0 was not the stable pin */
	__u32 nr;
	struct rollout_fix fix[ROLLOUT_MAX_FIXES];	/* in order; stop at the first failure */
	struct rollout_event ev;	/* for ROLLOUT_FIX_EVENT; now_ms from the caller */
};

/*
 * R is the persisted rollout, NULL when the state file has none. The fixes
 * are applied in order; a failed one stops the rest (the next restart tries
 * again). 0, or -EINVAL for a NULL argument.
 */
int rollout__reconcile(const struct rollout *r, const struct rollout_observed *obs, __u64 now_ms,
		       struct rollout_reconcile *out);

/*
 * A release cut short. canaryctl release does, in order: the stable
 * replaces the dispatcher (XDP_FLAGS_REPLACE), the marker
 * STATE_DIR/IFACE.released is written, the pins are removed. A canaryd
 * killed between these finds, at its start:
 */
struct rollout_release_obs {
	bool marker;		/* STATE_DIR/IFACE.released exists */
	bool pinned;		/* the dispatcher is still pinned (adopted from the pins) */
	__u32 xdp_id;		/* the XDP program attached in canaryd's mode (0: none); the
				 * dispatcher's id when it runs inside libxdp's multiprog */
	__u32 dp_id;		/* the pinned dispatcher's program id */
	__u32 stable_pin;	/* the program pinned as "stable" */
};

enum rollout_release_outcome {
	ROLLOUT_RELEASE_NONE,		/* no release: set up as usual */
	ROLLOUT_RELEASE_DONE,		/* released, nothing pinned: left alone */
	/*
	 * The pinned stable attached directly in place of the dispatcher, no
	 * marker: the replace was done, canaryd stopped before the marker.
	 * Completed: the marker written, the pins removed, left alone. The
	 * dispatcher is never attached again over the hand-back.
	 */
	ROLLOUT_RELEASE_FINISH_MARKER,
	/* The marker, the pins still there, the dispatcher not attached: the pins removed. */
	ROLLOUT_RELEASE_FINISH_PINS,
	/*
	 * The marker while the dispatcher is still attached (not canaryd's
	 * order: written by hand): left alone, pins kept, reported.
	 */
	ROLLOUT_RELEASE_MARKED_ATTACHED,
};

enum rollout_release_outcome rollout__reconcile_release(const struct rollout_release_obs *obs);

#endif
