// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stddef.h>

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

enum rollout_frags_fit rollout_frags__fit(enum rollout_frags_setting setting, bool native,
					  bool frags, int mtu)
{
	if (!frags)
		return rollout_frags__mtu_needs(native, mtu) ? ROLLOUT_FRAGS_FIT_NEEDS_FRAGS
							     : ROLLOUT_FRAGS_FIT_OK;
	if (setting == ROLLOUT_FRAGS_AUTO && !rollout_frags__decide(setting, native, mtu, NULL))
		return ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED;
	return ROLLOUT_FRAGS_FIT_OK;
}

const char *rollout_frags_fit__name(enum rollout_frags_fit f)
{
	static const char *const names[] = { "ok", "needs_frags", "frags_unneeded" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

enum rollout_frags_report rollout_frags__report(int old_mtu, enum rollout_frags_fit was,
						int new_mtu, enum rollout_frags_fit now)
{
	if (now == was)
		return old_mtu == new_mtu ? ROLLOUT_FRAGS_REPORT_NONE : ROLLOUT_FRAGS_REPORT_CHANGED;
	if (now == ROLLOUT_FRAGS_FIT_NEEDS_FRAGS)
		return ROLLOUT_FRAGS_REPORT_WARN;
	if (was == ROLLOUT_FRAGS_FIT_NEEDS_FRAGS)
		return ROLLOUT_FRAGS_REPORT_FITS_AGAIN;
	return now == ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED ? ROLLOUT_FRAGS_REPORT_UNNEEDED
						       : ROLLOUT_FRAGS_REPORT_CHANGED;
}
