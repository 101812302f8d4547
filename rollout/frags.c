// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "frags.h"

bool rollout_frags__mtu_needs(bool native, int mtu)
{
	return native && mtu > ROLLOUT_FRAGS_MTU_MAX;
}

bool rollout_frags__decide(enum rollout_frags_setting setting, bool native, int mtu,
			   const char **why)
{
	const char *w;
	bool frags;

	switch (setting) {
	case ROLLOUT_FRAGS_YES:
		frags = true;
		w = "frags = yes";
		break;
	case ROLLOUT_FRAGS_NO:
		frags = false;
		w = "frags = no";
		break;
	default:
		frags = rollout_frags__mtu_needs(native, mtu);
		w = frags ? "frags = auto: native mode and MTU above 3506"
			  : native ? "frags = auto: MTU at most 3506"
				   : "frags = auto: skb mode takes any MTU";
		break;
	}
	if (why)
		*why = w;
	return frags;
}
