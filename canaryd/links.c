// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Interfaces that come and go (canaryd.h): after an RTNETLINK link message
 * (netlink.c) and on each tick, look at every configured interface as the
 * kernel has it now (is its ifindex there, under which name, with which XDP
 * program; which ifindex has the configured name), let
 * rollout_link__decide() say what to do (rollout/link.h has the states),
 * apply it, and ask again until there is nothing to do.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "webhook.h"

static enum xdp_attach_mode iface_mode(const struct iface *ifc)
{
	return ifc->cfg.native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

static void observe(const struct iface *ifc, struct rollout_link_obs *o)
{
	char name[IF_NAMESIZE];

	memset(o, 0, sizeof(*o));
	o->now_ms = canaryd_now_ms();
	o->name_ifindex = if_nametoindex(ifc->cfg.name);
	if (ifc->link.ifindex <= 0 || !if_indextoname(ifc->link.ifindex, name))
		return;
	o->index_present = true;
	o->index_renamed = strcmp(name, ifc->ifname) != 0;
	if (ifc->dp)
		o->index_xdp_id = canary_dp__xdp_id(ifc->dp, ifc->link.ifindex, iface_mode(ifc));
}

/* A live rollout ends as failed, through the engine (webhook, metrics, state). */
static void fail_rollout(struct canaryd *d, struct iface *ifc, const char *detail)
{
	struct rollout_event ev = { .type = ROLLOUT_EV_FAILED, .now_ms = canaryd_now_ms(),
				    .detail = detail };

	if (ifc->has_rollout && !rollout__done(&ifc->st.ro))
		canaryd_iface__feed(d, ifc, &ev);
}

/* After canaryd_iface__setup(): the link state it leaves. */
static void link_after_setup(struct iface *ifc, int err)
{
	ifc->link.reattach = ifc->cfg.reattach;
	if (err == -ENODEV) {
		ifc->link.ifindex = 0;
		ifc->link.dp_id = 0;
		ifc->ifname[0] = '\0';
		return;	/* waiting (or lost) as it was */
	}
	if (err || !ifc->dp) {
		/* Reported in ifc->error; tried again on another ifindex only. */
		ifc->link.failed_ifindex = ifc->ifindex;
		return;
	}
	ifc->link.state = ROLLOUT_LINK_MANAGED;
	ifc->link.ifindex = ifc->ifindex;
	ifc->link.dp_id = canary_dp__prog_id(ifc->dp);
	ifc->link.failed_ifindex = 0;
	snprintf(ifc->ifname, sizeof(ifc->ifname), "%s", ifc->cfg.name);
}

int canaryd_links__setup(struct canaryd *d, struct iface *ifc)
{
	int err;

	ifc->link.state = ROLLOUT_LINK_WAITING;
	err = canaryd_iface__setup(d, ifc);
	link_after_setup(ifc, err);
	return err;
}

/*
 * The interface (a new ifindex, or one that was not there at start): set
 * it up from scratch as at start, adopting the pins a lost one left.
 */
static void attach(struct canaryd *d, struct iface *ifc)
{
	__u64 decisions[sizeof(ifc->decisions) / sizeof(ifc->decisions[0])];
	struct canary_iface_cfg cfg = ifc->cfg;
	struct rollout_link link = ifc->link;
	int err;

	memcpy(decisions, ifc->decisions, sizeof(decisions));
	canary_webhook__cancel_gate(ifc);
	canaryd_history__flush(d, ifc);	/* the last rollout's series, before it is reset */
	canaryd_iface__close(ifc);
	memset(ifc, 0, sizeof(*ifc));
	ifc->cfg = cfg;
	ifc->link = link;
	memcpy(ifc->decisions, decisions, sizeof(decisions));
	err = canaryd_iface__setup(d, ifc);
	link_after_setup(ifc, err);
	if (!err)
		pr_info("iface %s: appeared (ifindex %d); managed\n", ifc->cfg.name,
			ifc->link.ifindex);
}

static void apply(struct canaryd *d, struct iface *ifc, enum rollout_link_action a,
		  const struct rollout_link_obs *o)
{
	char name[IF_NAMESIZE] = "";
	int err;

	if (a != ROLLOUT_LINK_NOTE_DETACH)
		ifc->link.detach_seen_ms = 0;	/* any other step ends what it noted */
	switch (a) {
	case ROLLOUT_LINK_NOTHING:
	case ROLLOUT_LINK_CLEAR_DETACH:
		return;
	case ROLLOUT_LINK_NOTE_DETACH:
		ifc->link.detach_seen_ms = o->now_ms;	/* a deletion in progress looks so too */
		return;
	case ROLLOUT_LINK_ATTACH:
		attach(d, ifc);
		return;
	case ROLLOUT_LINK_FOLLOW_RENAME:
		if_indextoname(ifc->link.ifindex, name);
		pr_warn("iface %s: renamed %s -> %s (ifindex %d); followed: the dispatcher stays "
			"on it, managed under the configured name\n", ifc->cfg.name, ifc->ifname,
			name, ifc->link.ifindex);
		snprintf(ifc->ifname, sizeof(ifc->ifname), "%s", name);
		return;
	case ROLLOUT_LINK_MARK_LOST:
		if (ifc->link.state == ROLLOUT_LINK_DETACHED)
			ifc->error[0] = '\0';	/* canaryd_iface__lost() says why now */
		canaryd_iface__lost(d, ifc);
		ifc->link.state = ROLLOUT_LINK_LOST;
		return;
	case ROLLOUT_LINK_MARK_DETACHED:
		fail_rollout(d, ifc, "failed: the dispatcher was detached from the interface "
				     "during the rollout");
		if (o->index_xdp_id)
			snprintf(ifc->error, sizeof(ifc->error),
				 "dispatcher (program %u) detached by someone else: another XDP "
				 "program is attached (program %u); %s", ifc->link.dp_id,
				 o->index_xdp_id,
				 ifc->cfg.reattach ? "not replaced; detach it to let canaryd reattach"
						   : "detach it and set reattach = yes, or restart "
						     "canaryd");
		else
			snprintf(ifc->error, sizeof(ifc->error),
				 "dispatcher (program %u) detached by someone else: no XDP program; %s",
				 ifc->link.dp_id,
				 ifc->cfg.reattach ? "reattaching (reattach = yes)"
						   : "reattach = yes repairs it, or restart canaryd");
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		ifc->link.state = ROLLOUT_LINK_DETACHED;
		return;
	case ROLLOUT_LINK_REATTACH: {
		char msg[200] = "";
		CANARY_DP_OPTS(dopts, .msg = msg, .msg_size = sizeof(msg));

		err = canary_dp__reattach(ifc->dp, ifc->link.ifindex, iface_mode(ifc), &dopts);
		if (err) {
			snprintf(ifc->error, sizeof(ifc->error),
				 "dispatcher detached by someone else; reattach failed: %s",
				 msg[0] ? msg : strerror(-err));
			pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
			ifc->link.reattach = false;	/* reported; not tried in a loop */
			return;
		}
		pr_warn("iface %s: dispatcher reattached (reattach = yes)\n", ifc->cfg.name);
		ifc->error[0] = '\0';
		ifc->link.state = ROLLOUT_LINK_MANAGED;
		return;
	}
	case ROLLOUT_LINK_MARK_MANAGED:
		pr_warn("iface %s: the dispatcher is attached again; managed\n", ifc->cfg.name);
		ifc->error[0] = '\0';
		ifc->link.state = ROLLOUT_LINK_MANAGED;
		return;
	}
}

void canaryd_links__check(struct canaryd *d)
{
	int i, round;

	for (i = 0; i < d->nr_ifaces; i++) {
		struct iface *ifc = &d->iface[i];

		if (ifc->released)
			continue;	/* handed back by canaryctl release: not ours */
		ifc->link.reattach = ifc->link.reattach && ifc->cfg.reattach;
		/* Lost, then attached again, then a rename at most: three rounds suffice. */
		for (round = 0; round < 4; round++) {
			struct rollout_link_obs o;
			enum rollout_link_action a;

			observe(ifc, &o);
			a = rollout_link__decide(&ifc->link, &o);
			if (a == ROLLOUT_LINK_NOTHING)
				break;
			pr_debug("iface %s: link %s: %s\n", ifc->cfg.name,
				 rollout_link_state__name(ifc->link.state),
				 rollout_link_action__name(a));
			apply(d, ifc, a, &o);
		}
		/* A link message may be an MTU change: the dispatcher against it. */
		if (ifc->link.state == ROLLOUT_LINK_MANAGED)
			canaryd_iface__mtu_check(ifc);
	}
}

int canaryd_links__timeout_ms(const struct canaryd *d)
{
	__u64 now = canaryd_now_ms();
	int i, t = -1;

	for (i = 0; i < d->nr_ifaces; i++) {
		__u64 seen = d->iface[i].link.detach_seen_ms, due;

		/* Not one canaryd_links__check() looks at: never a deadline (a busy loop). */
		if (!seen || d->iface[i].released)
			continue;
		due = seen + ROLLOUT_LINK_CONFIRM_MS;
		if (t < 0 || (due > now ? (int)(due - now) : 0) < t)
			t = due > now ? (int)(due - now) : 0;
	}
	return t;
}

bool canaryd_links__is_waiting(const struct iface *ifc)
{
	enum rollout_link_state s = ifc->link.state;

	if (s != ROLLOUT_LINK_WAITING && s != ROLLOUT_LINK_LOST)
		return false;
	/* Refused where it is (its error says why): not waiting for it to appear. */
	return !ifc->link.failed_ifindex ||
	       (int)if_nametoindex(ifc->cfg.name) != ifc->link.failed_ifindex;
}

int canaryd_links__waiting(const struct canaryd *d, char *buf, size_t len)
{
	int i, n = 0, used = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < d->nr_ifaces; i++) {
		if (!canaryd_links__is_waiting(&d->iface[i]))
			continue;
		if (used < (int)len)
			used += snprintf(buf + used, len - used, "%s%s", n ? ", " : "",
					 d->iface[i].cfg.name);
		n++;
	}
	return n;
}
