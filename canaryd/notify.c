// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Webhook notifications and approval gates of an interface's rollout. */
#include <stdio.h>
#include <string.h>

#include "canaryd.h"
#include "log.h"
#include "webhook.h"


/* A new event id: the rollout's id and a sequence number kept in its state. */
static void next_event_id(struct iface *ifc, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%llu-%u", ifc->cfg.name, (unsigned long long)ifc->st.rollout_id,
		 ++ifc->st.event_seq);
}

/* A webhook body (status.c builds it), as sent: compact, keys sorted. */
static char *hook_body(struct iface *ifc, const struct canary_webhook_cfg *h, const char *type,
		       const char *event, const char *event_id)
{
	json_t *b = canaryd_status__event(ifc, h, type, event, event_id);
	char *out = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(b);
	return out;
}

/* Notifications never hold the rollout: queued, sent from the poll loop. */
void canaryd_iface__notify(struct canaryd *d, struct iface *ifc, enum rollout_notice n)
{
	char id[128];
	int i;

	if (!ifc->cfg.nr_hooks)
		return;
	next_event_id(ifc, id, sizeof(id));
	for (i = 0; i < ifc->cfg.nr_hooks; i++) {
		const struct canary_webhook_cfg *h = &d->config.webhook[ifc->cfg.hook[i]];
		const char *name = rollout_notice__name(n);

		if (!(h->events & (1U << n)))
			continue;
		if (canary_webhook__notify(h, id, name,
					   hook_body(ifc, h, "notification", name, id)))
			pr_warn("iface %s: webhook %s: cannot queue %s\n", ifc->cfg.name, h->name,
				name);
	}
}

void canaryd_iface__ask_gate(struct canaryd *d, struct iface *ifc, enum rollout_gate g)
{
	const struct canary_webhook_cfg *h;
	char id[128];

	if (ifc->cfg.gate_hook < 0 ||
	    !(d->config.webhook[ifc->cfg.gate_hook].gates & ROLLOUT_GATE_BIT(g))) {
		pr_warn("iface %s: waiting for gate %s but no webhook has that gate any more "
			"(config reloaded?); promote, abort or resume after fixing the config\n",
			ifc->cfg.name, rollout_gate__name(g));
		return;
	}
	h = &d->config.webhook[ifc->cfg.gate_hook];
	next_event_id(ifc, id, sizeof(id));
	ifc->gate_detail[0] = '\0';
	pr_info("iface %s: waiting for gate %s (webhook %s, event %s)\n", ifc->cfg.name,
		rollout_gate__name(g), h->name, id);
	if (canary_webhook__gate(h, ifc, g, id,
				 hook_body(ifc, h, "gate", rollout_gate__name(g), id),
				 d->config.interval_ms))
		pr_warn("iface %s: webhook %s: cannot queue gate %s\n", ifc->cfg.name, h->name,
			rollout_gate__name(g));
}

/*
 * The gate still waited on is asked again with the rollout as it is now
 * (counters, evidence, time), under the same event id: one event for the
 * endpoint, never a stale body.
 */
void canaryd_iface__refresh_gate(struct canaryd *d, struct iface *ifc, enum rollout_gate g)
{
	const struct canary_webhook_cfg *h;
	char id[128];

	if (ifc->cfg.gate_hook < 0 || canary_webhook__gate_event_id(ifc, id, sizeof(id)))
		return;
	h = &d->config.webhook[ifc->cfg.gate_hook];
	canary_webhook__gate_body(ifc, hook_body(ifc, h, "gate", rollout_gate__name(g), id));
}
