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

#endif
