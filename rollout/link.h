/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Interfaces that come and go: what canaryd does when a configured
 * interface appears, goes away, is renamed or loses the dispatcher to
 * another tool. A pure function: the interface's link state and what
 * canaryd observed (after an RTNETLINK link message, or on its tick) in,
 * one action out; canaryd applies it and asks again until the answer is
 * ROLLOUT_LINK_NOTHING (at most three rounds: lost, then attach).
 *
 * States:
 *   waiting   configured, no interface of that name (yet);
 *   managed   the dispatcher is attached to the ifindex canaryd follows;
 *   lost      the ifindex it followed was deleted (the kernel detached the
 *             dispatcher with it); an interface of the configured name
 *             (a new ifindex) is attached again;
 *   detached  the ifindex is there, but its XDP program in canaryd's mode
 *             is not the dispatcher (ip link set dev X xdp off, or another
 *             program); repaired when reattach = yes and nothing else is
 *             attached, else reported.
 * An attach that failed for another reason than absence (the stable does
 * not load, the driver refuses) is reported and not retried on that
 * ifindex: only on another one (the interface re-created), or a restart.
 * A rename is followed: the dispatcher stays on the ifindex (XDP belongs to
 * the device, not its name) and canaryd logs the new name. An interface that
 * later takes the configured name is not the one managed.
 */
#ifndef CANARY_ROLLOUT_LINK_H
#define CANARY_ROLLOUT_LINK_H

#include <stdbool.h>
#include <linux/types.h>

enum rollout_link_state {
	ROLLOUT_LINK_WAITING,
	ROLLOUT_LINK_MANAGED,
	ROLLOUT_LINK_LOST,
	ROLLOUT_LINK_DETACHED,
};

/* The interface as canaryd holds it. */
struct rollout_link {
	enum rollout_link_state state;
	int ifindex;		/* followed (managed, detached) or last one (lost); 0 none */
	__u32 dp_id;		/* the dispatcher's program id; 0 when none */
	bool reattach;		/* reattach = yes */
	int failed_ifindex;	/* an attach failed on it (error reported): not retried there */
	/*
	 * When a managed link was first seen without the dispatcher; 0 none.
	 * Deleting an interface detaches its XDP program before the link goes:
	 * a detachment counts once it lasts ROLLOUT_LINK_CONFIRM_MS, so a
	 * deletion in progress is "lost", not "detached".
	 */
	__u64 detach_seen_ms;
};
#define ROLLOUT_LINK_CONFIRM_MS 500

/* What canaryd observed in the kernel. */
struct rollout_link_obs {
	bool index_present;	/* link->ifindex still exists */
	bool index_renamed;	/* ... under another name than the one last seen */
	__u32 index_xdp_id;	/* XDP program attached to it in canaryd's mode; 0 none */
	int name_ifindex;	/* ifindex of an interface with the configured name; 0 none */
	__u64 now_ms;		/* when it was observed */
};

enum rollout_link_action {
	ROLLOUT_LINK_NOTHING,
	ROLLOUT_LINK_ATTACH,		/* set up on obs.name_ifindex: managed */
	ROLLOUT_LINK_FOLLOW_RENAME,	/* log the new name; still managed */
	ROLLOUT_LINK_MARK_LOST,		/* a live rollout fails through the engine; lost */
	ROLLOUT_LINK_MARK_DETACHED,	/* a live rollout fails through the engine; detached */
	ROLLOUT_LINK_REATTACH,		/* attach the dispatcher again: managed */
	ROLLOUT_LINK_MARK_MANAGED,	/* the dispatcher is back (put there by someone): managed */
	ROLLOUT_LINK_NOTE_DETACH,	/* managed, dispatcher gone: note now_ms, confirm later */
	ROLLOUT_LINK_CLEAR_DETACH,	/* it is back before that: forget the note */
};

/* The one thing to do next for LINK given OBS. */
enum rollout_link_action rollout_link__decide(const struct rollout_link *link,
					      const struct rollout_link_obs *obs);

const char *rollout_link_state__name(enum rollout_link_state s);
const char *rollout_link_action__name(enum rollout_link_action a);

#endif
