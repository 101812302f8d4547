// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Interfaces that come and go (link.h): the decision, on plain data. */
#include "link.h"

enum rollout_link_action rollout_link__decide(const struct rollout_link *link,
					      const struct rollout_link_obs *obs)
{
	switch (link->state) {
	case ROLLOUT_LINK_WAITING:
	case ROLLOUT_LINK_LOST:
		return obs->name_ifindex > 0 && obs->name_ifindex != link->failed_ifindex
			       ? ROLLOUT_LINK_ATTACH
			       : ROLLOUT_LINK_NOTHING;
	case ROLLOUT_LINK_MANAGED:
		if (!obs->index_present)
			return ROLLOUT_LINK_MARK_LOST;
		if (obs->index_xdp_id != link->dp_id) {
			if (!link->detach_seen_ms)
				return ROLLOUT_LINK_NOTE_DETACH;
			return obs->now_ms >= link->detach_seen_ms + ROLLOUT_LINK_CONFIRM_MS
				       ? ROLLOUT_LINK_MARK_DETACHED
				       : ROLLOUT_LINK_NOTHING;
		}
		if (link->detach_seen_ms)
			return ROLLOUT_LINK_CLEAR_DETACH;
		return obs->index_renamed ? ROLLOUT_LINK_FOLLOW_RENAME : ROLLOUT_LINK_NOTHING;
	case ROLLOUT_LINK_DETACHED:
		if (!obs->index_present)
			return ROLLOUT_LINK_MARK_LOST;
		if (obs->index_xdp_id == link->dp_id)
			return ROLLOUT_LINK_MARK_MANAGED;
		/* Someone else's program is never replaced: only an empty hook. */
		if (link->reattach && !obs->index_xdp_id)
			return ROLLOUT_LINK_REATTACH;
		return obs->index_renamed ? ROLLOUT_LINK_FOLLOW_RENAME : ROLLOUT_LINK_NOTHING;
	}
	return ROLLOUT_LINK_NOTHING;
}

const char *rollout_link_state__name(enum rollout_link_state s)
{
	static const char *const names[] = { "waiting", "managed", "lost", "detached" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *rollout_link_action__name(enum rollout_link_action a)
{
	static const char *const names[] = {
		"nothing", "attach", "follow rename", "mark lost", "mark detached", "reattach",
		"mark managed", "note detach", "clear detach",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
