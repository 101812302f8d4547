// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Dispatcher settings reconcile (settings.h), on plain data. */
#include "settings.h"

__u32 rollout_settings__cost_round(__u32 n)
{
	__u64 m = 1;

	if (!n)
		return 0;
	while (m < n)
		m <<= 1;
	return m > (1U << 31) ? 1U << 31 : (__u32)m;
}

void rollout_settings__diff(const struct rollout_dp_settings *want,
			    const struct rollout_dp_settings *have, bool rollout_live,
			    struct rollout_settings_diff *out)
{
	out->apply = 0;
	out->wait = 0;
	if (want->symmetric != have->symmetric) {
		if (rollout_live)
			out->wait |= ROLLOUT_SET_SYMMETRIC;
		else
			out->apply |= ROLLOUT_SET_SYMMETRIC;
	}
	if (want->fail_closed != have->fail_closed)
		out->apply |= ROLLOUT_SET_FAIL;
	if (rollout_settings__cost_round(want->cost_sample) !=
	    rollout_settings__cost_round(have->cost_sample))
		out->apply |= ROLLOUT_SET_COST;
}
