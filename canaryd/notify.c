// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Webhook notifications and approval gates of an interface's rollout. */
#include <stdio.h>
#include <string.h>

#include "canaryd.h"
#include "log.h"
#include "webhook.h"

#define WEBHOOK_SCHEMA_VERSION 1

/* A new event id: the rollout's id and a sequence number kept in its state. */
static void next_event_id(struct iface *ifc, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%llu-%u", ifc->cfg.name, (unsigned long long)ifc->st.rollout_id,
		 ++ifc->st.event_seq);
}

/*
 * A webhook body: the rollout as the status shows it (phase, reason, step,
 * shares, verdict, evidence, tests, totals), plus what a receiver needs to
 * act on it without asking back (README.md, "Webhooks").
 */
static char *hook_body(struct iface *ifc, const struct canary_webhook_cfg *h, const char *type,
		       const char *event, const char *event_id)
{
	json_t *b = canaryd_status__rollout(ifc), *meta = json_object();
	char *out;
	__u32 i;

	if (!json_is_object(b)) {
		json_decref(b);
		b = json_object();
	}
	json_object_set(b, "rollout_id", json_object_get(b, "id"));
	json_object_del(b, "id");
	json_object_set_new(b, "schema_version", json_integer(WEBHOOK_SCHEMA_VERSION));
	json_object_set_new(b, "type", json_string(type));
	json_object_set_new(b, "event", json_string(event));
	json_object_set_new(b, "event_id", json_string(event_id));
	json_object_set_new(b, "webhook", json_string(h->name));
	json_object_set_new(b, "interface", json_string(ifc->cfg.name));
	json_object_set_new(b, "time_ms", json_integer((json_int_t)canaryd_wall_ms()));
	json_object_set_new(b, "stable", json_pack("{s:s, s:s, s:s}", "object", ifc->st.stable.obj,
						   "program", ifc->st.stable.prog,
						   "sha256", ifc->st.stable.sha256));
	if (ifc->st.previous.obj[0])
		json_object_set_new(b, "previous",
				    json_pack("{s:s, s:s, s:s}", "object", ifc->st.previous.obj,
					      "program", ifc->st.previous.prog, "sha256",
					      ifc->st.previous.sha256));
	json_object_set_new(b, "candidate", json_pack("{s:s, s:s, s:s}", "object",
						      ifc->st.cand_obj, "program",
						      ifc->st.cand_prog, "sha256",
						      ifc->st.cand_sha256));
	if (ifc->have_last)
		json_object_set_new(b, "counters",
				    json_pack("{s:o, s:o}", "stable",
					      canaryd_status__version(ifc->last, 0, &ifc->d_stable, ifc->d_secs),
					      "candidate",
					      canaryd_status__version(ifc->last, 1, &ifc->d_cand, ifc->d_secs)));
	for (i = 0; i < h->nr_meta; i++)
		json_object_set_new(meta, h->meta[i].key, json_string(h->meta[i].value));
	json_object_set_new(b, "metadata", meta);
	out = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
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
		if (canary_webhook__notify(h, id, name, hook_body(ifc, h, "notification", name, id)))
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
	if (canary_webhook__gate(h, ifc, g, id, hook_body(ifc, h, "gate", rollout_gate__name(g), id),
				 d->config.interval_ms))
		pr_warn("iface %s: webhook %s: cannot queue gate %s\n", ifc->cfg.name, h->name,
			rollout_gate__name(g));
}
