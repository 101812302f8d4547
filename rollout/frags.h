/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Multi-buffer (frags) dispatcher or not: the [interface] frags = auto|yes|no
 * setting, the attach mode and the interface's MTU decide. A pure function;
 * canaryd reads the MTU before it creates the datapath and opens the
 * dispatcher as this says.
 *
 * A native XDP program without multi-buffer support cannot be attached to
 * veth when the (peer's) MTU is above ROLLOUT_FRAGS_MTU_MAX: measured on
 * kernel 6.18 with 4 KiB pages, MTU 3506 attaches and 3507 is refused
 * ("veth: Peer MTU is too large to set XDP"). NIC drivers have limits of
 * their own, about the same size; auto takes veth's. skb (generic) mode
 * takes any MTU, so auto means plain there.
 */
#ifndef CANARY_ROLLOUT_FRAGS_H
#define CANARY_ROLLOUT_FRAGS_H

#include <stdbool.h>

#define ROLLOUT_FRAGS_MTU_MAX 3506

enum rollout_frags_setting {
	ROLLOUT_FRAGS_AUTO = 0,	/* default */
	ROLLOUT_FRAGS_YES,
	ROLLOUT_FRAGS_NO,
};

/*
 * Should the dispatcher be multi-buffer? SETTING from the config, NATIVE
 * when attached in native (driver) mode, MTU the interface's (<= 0: not
 * known, taken as small). *WHY gets a static phrase for the log and status.
 */
bool rollout_frags__decide(enum rollout_frags_setting setting, bool native, int mtu,
			   const char **why);

/* Would a plain dispatcher's native attach fail on MTU? */
bool rollout_frags__mtu_needs(bool native, int mtu);

/*
 * The running dispatcher against the interface's MTU as it is now (canaryd
 * reads it again after every link message and on its tick):
 *   ok           its kind is the one SETTING would choose, or takes the MTU;
 *   needs_frags  single-buffer, native mode, MTU above ROLLOUT_FRAGS_MTU_MAX:
 *                it cannot take such frames (whatever frags says);
 *   frags_unneeded  multi-buffer where frags = auto would choose
 *                single-buffer now: it works (SEC("xdp.frags") versions only).
 * A dispatcher cannot change kind in place: the kernel binds its ProgMap to
 * the kind of the programs it holds, and the running versions are of that
 * kind; canaryd knows no other build of them, so it reports (status mtu_fit,
 * the log, canary_dispatcher_mtu_fits) and the operator moves (README).
 */
enum rollout_frags_fit {
	ROLLOUT_FRAGS_FIT_OK,
	ROLLOUT_FRAGS_FIT_NEEDS_FRAGS,
	ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED,
};

enum rollout_frags_fit rollout_frags__fit(enum rollout_frags_setting setting, bool native,
					  bool frags, int mtu);
const char *rollout_frags_fit__name(enum rollout_frags_fit f);

/* What to say after the MTU was read again: WAS before (as last reported), NOW after. */
enum rollout_frags_report {
	ROLLOUT_FRAGS_REPORT_NONE,	/* the MTU did not change */
	ROLLOUT_FRAGS_REPORT_CHANGED,	/* it did, the fit did not: one info line */
	ROLLOUT_FRAGS_REPORT_WARN,	/* it no longer fits (needs_frags): a warning, what to do */
	ROLLOUT_FRAGS_REPORT_FITS_AGAIN,	/* needs_frags no more: a warning that it is over */
	ROLLOUT_FRAGS_REPORT_UNNEEDED,	/* frags_unneeded now: info, nothing to do */
};

enum rollout_frags_report rollout_frags__report(int old_mtu, enum rollout_frags_fit was,
						int new_mtu, enum rollout_frags_fit now);

#endif
