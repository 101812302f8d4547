/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Dispatcher settings reconcile: which of the configured dispatcher settings
 * (symmetric, fail = closed, cost_sample) differ from the ones the running
 * dispatcher has, and which of those can be applied now. A pure function;
 * canaryd calls it after adopting a pinned dispatcher, on SIGHUP, and on
 * each tick while a change waits, and applies what it says.
 *
 * fail and cost_sample apply at once: neither moves a flow. symmetric
 * changes the flow hash (endpoints sorted or not), so changing it while a
 * rollout has a candidate in slot 1 would move flows between the versions
 * mid-rollout: it waits until no rollout runs.
 */
#ifndef CANARY_ROLLOUT_SETTINGS_H
#define CANARY_ROLLOUT_SETTINGS_H

#include <stdbool.h>
#include <linux/types.h>

struct rollout_dp_settings {
	bool symmetric;
	bool fail_closed;
	__u32 cost_sample;	/* 1 packet in N timed, a power of two; 0 off */
};

enum {
	ROLLOUT_SET_SYMMETRIC = 1 << 0,
	ROLLOUT_SET_FAIL = 1 << 1,
	ROLLOUT_SET_COST = 1 << 2,
};

struct rollout_settings_diff {
	__u32 apply;	/* ROLLOUT_SET_* to change now */
	__u32 wait;	/* ROLLOUT_SET_* that differ but wait for the rollout to end */
};

/*
 * WANT (the config) against HAVE (read from the dispatcher); ROLLOUT_LIVE
 * when a rollout runs on the interface. cost_sample is compared rounded up
 * to a power of two, as the dispatcher holds it.
 */
void rollout_settings__diff(const struct rollout_dp_settings *want,
			    const struct rollout_dp_settings *have, bool rollout_live,
			    struct rollout_settings_diff *out);

/* N rounded up to a power of two (what the dispatcher's mask keeps); 0 stays 0. */
__u32 rollout_settings__cost_round(__u32 n);

#endif
