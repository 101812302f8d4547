// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryd: runs staged rollouts of XDP program versions, one per managed
 * interface. The imperative shell around rollout/: it moves counter samples
 * from the dispatcher into the engine, and the engine's actions back into
 * the dispatcher, the state files, the log and the control socket.
 *
 *   canaryd [-c FILE] [-v]
 *
 * On exit (SIGTERM, SIGINT) the datapath keeps running with its last
 * weights, and a restarted canaryd adopts it from the pins; SIGHUP reloads
 * the rollout and judge defaults from the config file.
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>
#include <linux/magic.h>

#include "config.h"
#include "dp.h"
#include "version.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "reconcile.h"
#include "request.h"
#include "sample.h"
#include "state.h"
#include "webhook.h"

#define PIN_STABLE "stable"
#define PIN_CANDIDATE "candidate"
#define PIN_PREVIOUS "previous"

struct iface {
	struct canary_iface_cfg cfg;
	int ifindex;
	char pin_dir[PATH_MAX - 32];
	char state_path[PATH_MAX];
	char share_dir[PATH_MAX];	/* state maps shared between versions */
	int lock_fd;
	struct canary_dp *dp;
	char error[256];		/* why it is not managed; empty when it is */
	bool has_rollout;
	struct canaryd_persist st;	/* the rollout, as persisted */
	int cand_fd;			/* candidate program (pinned as "candidate") */
	struct canary_counters last[CANARY_COUNTERS_ENTRIES];
	struct canary_counters at_start[CANARY_COUNTERS_ENTRIES];
	bool have_last;
	struct judge_sample d_stable, d_cand;	/* last interval, for status */
	double d_secs;
	struct canary_breaker brk;
	char gate_detail[160];		/* the gate's last answer, for status */
	__u64 decisions[ROLLOUT_FAILED + 1];	/* rollouts ended per phase, for metrics */
};

static struct canaryd_config config;
static const char *config_path = "/etc/canaryd/canaryd.ini";
static struct iface ifaces[CANARY_MAX_IFACES];
static int nr_ifaces;

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __u64 wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pin_path(const struct iface *ifc, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ifc->pin_dir, name);
}

/* Pin FD as NAME in the interface's pin directory, replacing what was there. */
static int pin_prog(struct iface *ifc, const char *name, int fd)
{
	char path[PATH_MAX];

	pin_path(ifc, name, path, sizeof(path));
	unlink(path);
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		pr_warn("iface %s: cannot pin %s: %s\n", ifc->cfg.name, path, strerror(-err));
		return err;
	}
	return 0;
}

static int get_pinned_prog(struct iface *ifc, const char *name)
{
	char path[PATH_MAX];

	pin_path(ifc, name, path, sizeof(path));
	return bpf_obj_get(path);
}

static enum xdp_attach_mode iface_mode(const struct iface *ifc)
{
	return ifc->cfg.native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

static void ask_gate(struct iface *ifc, enum rollout_gate g);

static int persist(struct iface *ifc)
{
	return canaryd_state__save(ifc->state_path, &ifc->st);
}

/* Back to the last good state after a failed action: stable only. */
static void restore_stable(struct iface *ifc)
{
	canary_dp__set_share(ifc->dp, 1, 0);
	canary_dp__clear_slot(ifc->dp, 1);
}

/* A fresh dispatcher: stable in slot 0, configured, pinned, attached. */
static int iface_create_datapath(struct iface *ifc)
{
	struct bpf_object *obj = NULL;
	struct canary_config dcfg;
	int fd, err;

	fd = canary_version__load_shared(ifc->cfg.stable_obj,
					 ifc->cfg.stable_prog[0] ? ifc->cfg.stable_prog : NULL,
					 ifc->share_dir, ifc->cfg.private_maps, &obj);
	if (fd < 0) {
		snprintf(ifc->error, sizeof(ifc->error), "stable %s cannot be loaded: %s",
			 ifc->cfg.stable_obj, strerror(-fd));
		return fd;
	}
	ifc->dp = canary_dp__open();
	if (!ifc->dp) {
		err = -errno;
		snprintf(ifc->error, sizeof(ifc->error), "dispatcher cannot be loaded: %s",
			 strerror(-err));
		goto out;
	}
	canary_dp__get_config(ifc->dp, &dcfg);
	if (ifc->cfg.rollout.symmetric)
		dcfg.flags |= CANARY_F_SYMMETRIC;
	if (ifc->cfg.fail_closed)
		dcfg.flags |= CANARY_F_FAIL_CLOSED;
	err = canary_dp__set_config(ifc->dp, &dcfg);
	if (!err)
		err = canary_dp__set_cost_sampling(ifc->dp, ifc->cfg.rollout.cost_sample);
	if (!err)
		err = canary_dp__set_slot(ifc->dp, CANARY_SLOT_STABLE, fd);
	if (!err)
		err = canary_dp__pin(ifc->dp, ifc->pin_dir);
	if (!err)
		err = pin_prog(ifc, PIN_STABLE, fd);
	if (!err) {
		err = canary_dp__attach(ifc->dp, ifc->ifindex, iface_mode(ifc));
		if (err)
			canary_dp__unpin(ifc->dp);
	}
	if (err) {
		snprintf(ifc->error, sizeof(ifc->error), "dispatcher cannot be set up: %s",
			 strerror(-err));
		canary_dp__close(ifc->dp);
		ifc->dp = NULL;
		goto out;
	}
	pr_info("iface %s: dispatcher attached (%s), stable %s\n", ifc->cfg.name,
		ifc->cfg.native ? "native" : "skb", ifc->cfg.stable_obj);
out:
	bpf_object__close(obj);	/* the ProgMap and the pin hold the program */
	return err;
}

static void iface_resume(struct iface *ifc)
{
	char why[128];
	int err;

	err = canaryd_state__load(ifc->state_path, &ifc->st, why, sizeof(why));
	if (err == -ENOENT)
		return;
	if (err) {
		char moved[PATH_MAX + 16];

		/*
		 * Nothing says where the rollout was: the safe state is stable
		 * alone (the pinned slot 0 is kept). The file is kept for a
		 * person to look at, and the interface is managed again.
		 */
		restore_stable(ifc);
		snprintf(moved, sizeof(moved), "%s.corrupt", ifc->state_path);
		if (rename(ifc->state_path, moved)) {
			snprintf(ifc->error, sizeof(ifc->error),
				 "state file %s is %s and cannot be moved away (%s); stable only; "
				 "remove it to manage this interface again", ifc->state_path,
				 err == -EBADMSG ? why : strerror(-err), strerror(errno));
			pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
			return;
		}
		pr_warn("iface %s: state file %s refused (%s); moved to %s; candidate share "
			"cleared, stable only; start a new rollout when ready\n", ifc->cfg.name,
			ifc->state_path, err == -EBADMSG ? why : strerror(-err), moved);
		return;
	}
	ifc->has_rollout = true;
	ifc->cand_fd = get_pinned_prog(ifc, PIN_CANDIDATE);
	if (!rollout__done(&ifc->st.ro) && ifc->cand_fd < 0) {
		snprintf(ifc->error, sizeof(ifc->error),
			 "rollout in progress but the candidate pin is missing; traffic untouched");
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return;
	}
	pr_info("iface %s: resumed rollout of %s: %s, step %u/%u, share %.2f%%\n",
		ifc->cfg.name, ifc->st.cand_obj, rollout_phase__name(ifc->st.ro.phase),
		ifc->st.ro.step + 1, ifc->st.ro.plan.nr_steps, ifc->st.ro.share_bp / 100.0);
}

static int feed(struct iface *ifc, const struct rollout_event *ev);

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static __u32 pinned_prog_id(struct iface *ifc, const char *name)
{
	int fd = get_pinned_prog(ifc, name);
	__u32 id = prog_id(fd);

	if (fd >= 0)
		close(fd);
	return id;
}

/* End a live rollout in PHASE with REASON, persisted, without more kernel writes. */
static void end_rollout(struct iface *ifc, enum rollout_phase phase, const char *reason)
{
	struct rollout_event ev = { .type = ROLLOUT_EV_FAILED, .now_ms = now_ms() };
	struct rollout_actions acts;

	if (rollout__handle(&ifc->st.ro, &ev, &acts))
		return;
	/* The engine has no event for these; only the phase and reason differ. */
	ifc->st.ro.phase = phase;
	snprintf(ifc->st.ro.reason, sizeof(ifc->st.ro.reason), "%s", reason);
	persist(ifc);
}

/* Pin the program pinned as FROM as TO too. */
static int repin(struct iface *ifc, const char *from, const char *to)
{
	int fd = get_pinned_prog(ifc, from), err;

	if (fd < 0)
		return -ENOENT;
	err = pin_prog(ifc, to, fd);
	close(fd);
	return err;
}

static int apply_fix(struct iface *ifc, const struct rollout_reconcile *rc,
		     const struct rollout_fix *f)
{
	int fd, err;

	switch (f->type) {
	case ROLLOUT_FIX_PIN_STABLE_FROM_PREVIOUS:
		return repin(ifc, PIN_PREVIOUS, PIN_STABLE);
	case ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN:
		fd = get_pinned_prog(ifc, PIN_STABLE);
		if (fd < 0)
			return -ENOENT;
		err = canary_dp__set_slot(ifc->dp, CANARY_SLOT_STABLE, fd);
		close(fd);
		return err;
	case ROLLOUT_FIX_PIN_CANDIDATE_FROM_STABLE:
		repin(ifc, PIN_STABLE, PIN_CANDIDATE);
		return 0;	/* best effort, as before */
	case ROLLOUT_FIX_RESTORE_STABLE:
		restore_stable(ifc);
		return 0;
	case ROLLOUT_FIX_SET_SHARE:
		return canary_dp__set_share(ifc->dp, 1, f->arg);
	case ROLLOUT_FIX_EVENT:
		feed(ifc, &rc->ev);
		return 0;
	}
	return -EINVAL;
}

/*
 * After an adoption, bring the datapath in line with the persisted state:
 * observe the kernel, let rollout__reconcile() decide (reconcile.h has the
 * cases), apply its fixes in order, report.
 */
static void iface_reconcile(struct iface *ifc)
{
	struct rollout_observed obs = {};
	struct rollout_reconcile rc;
	struct canary_config dcfg;
	__u32 i, want = ifc->st.ro.share_bp;

	canary_dp__get_config(ifc->dp, &dcfg);
	obs.share_bp = dcfg.range[1].hi - dcfg.range[1].lo;
	if (canary_dp__slot_prog_id(ifc->dp, CANARY_SLOT_STABLE, &obs.slot0) ||
	    canary_dp__slot_prog_id(ifc->dp, 1, &obs.slot1))
		return;
	obs.stable_pin = pinned_prog_id(ifc, PIN_STABLE);
	obs.cand_pin = pinned_prog_id(ifc, PIN_CANDIDATE);
	if (rollout__reconcile(ifc->has_rollout ? &ifc->st.ro : NULL, &obs, now_ms(), &rc))
		return;
	for (i = 0; i < rc.nr; i++) {
		if (apply_fix(ifc, &rc, &rc.fix[i]))
			return;
		if (rc.fix[i].type == ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN)
			pr_warn("iface %s: slot 0 held program %u, not the pinned stable %u; "
				"stable put back\n", ifc->cfg.name, obs.slot0, obs.stable_pin);
	}
	switch (rc.outcome) {
	case ROLLOUT_RC_CONSISTENT:
		break;
	case ROLLOUT_RC_START_UNDONE:
		pr_warn("iface %s: candidate at %.2f%% (slot 1 program %u) with no live "
			"rollout in %s (a start that was not persisted); stable only again\n",
			ifc->cfg.name, obs.share_bp / 100.0, obs.slot1, ifc->state_path);
		break;
	case ROLLOUT_RC_ADVANCE_UNDONE:
		pr_warn("iface %s: share %.2f%% was ahead of the persisted step's %.2f%%; "
			"back to the persisted step\n", ifc->cfg.name, obs.share_bp / 100.0,
			want / 100.0);
		break;
	case ROLLOUT_RC_PROMOTION_COMPLETED:
		pr_warn("iface %s: canaryd had stopped inside a promotion; promotion completed\n",
			ifc->cfg.name);
		break;
	case ROLLOUT_RC_ROLLBACK_COMPLETED:
		pr_warn("iface %s: canaryd had stopped inside a rollback (share %.2f%% of "
			"%.2f%%, slot 1 program %u); rollback completed\n", ifc->cfg.name,
			obs.share_bp / 100.0, want / 100.0, obs.slot1);
		break;
	}
}

/* Lock, adopt or create, resume. Failures are per interface. */
static int iface_setup(struct iface *ifc)
{
	bool adopted = false;
	int err;

	ifc->lock_fd = -1;
	ifc->cand_fd = -1;
	if (snprintf(ifc->pin_dir, sizeof(ifc->pin_dir), "%s/%s", config.pin_root,
		     ifc->cfg.name) >= (int)sizeof(ifc->pin_dir) ||
	    snprintf(ifc->state_path, sizeof(ifc->state_path), "%s/%s.state", config.state_dir,
		     ifc->cfg.name) >= (int)sizeof(ifc->state_path)) {
		snprintf(ifc->error, sizeof(ifc->error), "pin_root or state_dir path too long");
		return -ENAMETOOLONG;
	}
	snprintf(ifc->share_dir, sizeof(ifc->share_dir), "%s/maps", ifc->pin_dir);
	ifc->ifindex = if_nametoindex(ifc->cfg.name);
	if (!ifc->ifindex) {
		snprintf(ifc->error, sizeof(ifc->error),
			 "interface %s not found; traffic untouched", ifc->cfg.name);
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return -ENODEV;
	}
	if (mkdir(ifc->pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		snprintf(ifc->error, sizeof(ifc->error), "cannot create pin dir %s: %s",
			 ifc->pin_dir, strerror(-err));
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return err;
	}
	/* One writer per interface, as libxdp does: flock on the pin directory. */
	ifc->lock_fd = open(ifc->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ifc->lock_fd < 0 || flock(ifc->lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pr_warn("iface %s: another canaryd manages it (lock on %s is held); "
			"stop that one first\n", ifc->cfg.name, ifc->pin_dir);
		return err;
	}
	ifc->dp = canary_dp__adopt(ifc->pin_dir);
	if (ifc->dp) {
		err = canary_dp__attach(ifc->dp, ifc->ifindex, iface_mode(ifc));
		if (err) {
			snprintf(ifc->error, sizeof(ifc->error),
				 "adopted dispatcher cannot be attached: %s", strerror(-err));
			return err;
		}
		pr_info("iface %s: adopted the pinned dispatcher without detaching it\n",
			ifc->cfg.name);
		adopted = true;
	} else if (errno == ENOENT) {
		err = iface_create_datapath(ifc);
		if (err) {
			pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
			return err;
		}
		unlink(ifc->state_path);	/* a new datapath has no rollout to resume */
	} else {
		err = -errno;
		snprintf(ifc->error, sizeof(ifc->error),
			 "pinned dispatcher in %s cannot be adopted: %s; traffic untouched",
			 ifc->pin_dir, strerror(-err));
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return err;
	}
	iface_resume(ifc);
	/* Without a state naming it, the stable is the configured one. */
	if (!ifc->st.stable.obj[0]) {
		struct canaryd_version_id *v = &ifc->st.stable;

		snprintf(v->obj, sizeof(v->obj), "%s", ifc->cfg.stable_obj);
		snprintf(v->prog, sizeof(v->prog), "%s", ifc->cfg.stable_prog);
		if (canary_sha256_file(v->obj, v->sha256))
			v->sha256[0] = '\0';
	}
	if (adopted && !ifc->error[0])
		iface_reconcile(ifc);
	/* A gate waited on before the restart is asked again (a new event). */
	if (ifc->has_rollout && ifc->st.ro.gate && !ifc->st.ro.gate_passed &&
	    ifc->st.ro.phase == ROLLOUT_PROGRESSING && !ifc->error[0]) {
		ask_gate(ifc, ifc->st.ro.gate);
		persist(ifc);
	}
	return 0;
}

static bool iface_managed(const struct iface *ifc)
{
	return ifc->dp && !ifc->error[0];
}

static void log_notice(struct iface *ifc, enum rollout_notice n)
{
	pr_info("iface %s: rollout %s: %s\n", ifc->cfg.name, rollout_notice__name(n),
		ifc->st.ro.reason);
}

static json_t *rollout_json(const struct iface *ifc);
static json_t *version_json(const struct canary_counters *all, __u32 row,
			    const struct judge_sample *d, double secs);

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
	json_t *b = rollout_json(ifc), *meta = json_object();
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
	json_object_set_new(b, "time_ms", json_integer((json_int_t)wall_ms()));
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
					      version_json(ifc->last, 0, &ifc->d_stable, ifc->d_secs),
					      "candidate",
					      version_json(ifc->last, 1, &ifc->d_cand, ifc->d_secs)));
	for (i = 0; i < h->nr_meta; i++)
		json_object_set_new(meta, h->meta[i].key, json_string(h->meta[i].value));
	json_object_set_new(b, "metadata", meta);
	out = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(b);
	return out;
}

/* Notifications never hold the rollout: queued, sent from the poll loop. */
static void send_notice(struct iface *ifc, enum rollout_notice n)
{
	char id[128];
	int i;

	if (!ifc->cfg.nr_hooks)
		return;
	next_event_id(ifc, id, sizeof(id));
	for (i = 0; i < ifc->cfg.nr_hooks; i++) {
		const struct canary_webhook_cfg *h = &config.webhook[ifc->cfg.hook[i]];
		const char *name = rollout_notice__name(n);

		if (!(h->events & (1U << n)))
			continue;
		if (canary_webhook__notify(h, id, name, hook_body(ifc, h, "notification", name, id)))
			pr_warn("iface %s: webhook %s: cannot queue %s\n", ifc->cfg.name, h->name,
				name);
	}
}

static void ask_gate(struct iface *ifc, enum rollout_gate g)
{
	const struct canary_webhook_cfg *h;
	char id[128];

	if (ifc->cfg.gate_hook < 0 ||
	    !(config.webhook[ifc->cfg.gate_hook].gates & ROLLOUT_GATE_BIT(g))) {
		pr_warn("iface %s: waiting for gate %s but no webhook has that gate any more "
			"(config reloaded?); promote, abort or resume after fixing the config\n",
			ifc->cfg.name, rollout_gate__name(g));
		return;
	}
	h = &config.webhook[ifc->cfg.gate_hook];
	next_event_id(ifc, id, sizeof(id));
	ifc->gate_detail[0] = '\0';
	pr_info("iface %s: waiting for gate %s (webhook %s, event %s)\n", ifc->cfg.name,
		rollout_gate__name(g), h->name, id);
	if (canary_webhook__gate(h, ifc, g, id, hook_body(ifc, h, "gate", rollout_gate__name(g), id),
				 config.interval_ms))
		pr_warn("iface %s: webhook %s: cannot queue gate %s\n", ifc->cfg.name, h->name,
			rollout_gate__name(g));
}

static int apply_one(struct iface *ifc, const struct rollout_action *a)
{
	struct canary_dp *dp = ifc->dp;
	int err = 0, prev;

	switch (a->type) {
	case ROLLOUT_ACT_FILL_SLOT:
		return canary_dp__set_slot(dp, 1, ifc->cand_fd);
	case ROLLOUT_ACT_ARM_BREAKER:
		err = canary_dp__reset_breaker(dp, 1);
		return err ? err : canary_dp__set_breaker_budget(dp, 1, a->arg);
	case ROLLOUT_ACT_SET_SHARE:
		return canary_dp__set_share(dp, 1, (__u32)a->arg);
	case ROLLOUT_ACT_CLEAR_SLOT:
		return canary_dp__clear_slot(dp, 1);
	case ROLLOUT_ACT_PROMOTE:
		/* Keep the old stable as "previous" for an instant revert. */
		prev = get_pinned_prog(ifc, PIN_STABLE);
		if (prev >= 0) {
			err = pin_prog(ifc, PIN_PREVIOUS, prev);
			close(prev);
			if (err)
				return err;
		}
		err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, ifc->cand_fd);
		if (!err)
			err = pin_prog(ifc, PIN_STABLE, ifc->cand_fd);
		if (!err) {
			struct canaryd_version_id *v = &ifc->st.stable;

			ifc->st.previous = *v;
			snprintf(v->obj, sizeof(v->obj), "%s", ifc->st.cand_obj);
			snprintf(v->prog, sizeof(v->prog), "%s", ifc->st.cand_prog);
			snprintf(v->sha256, sizeof(v->sha256), "%s", ifc->st.cand_sha256);
		}
		return err;
	case ROLLOUT_ACT_REVERT:
		prev = get_pinned_prog(ifc, PIN_PREVIOUS);
		if (prev < 0)
			return -ENOENT;
		err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, prev);
		if (!err)
			err = pin_prog(ifc, PIN_STABLE, prev);
		close(prev);
		if (!err && ifc->st.previous.obj[0])
			ifc->st.stable = ifc->st.previous;
		return err;
	case ROLLOUT_ACT_NOTIFY:
		log_notice(ifc, (enum rollout_notice)a->arg);
		send_notice(ifc, (enum rollout_notice)a->arg);
		return 0;
	case ROLLOUT_ACT_PERSIST:
		return persist(ifc);
	case ROLLOUT_ACT_ASK_GATE:
		ask_gate(ifc, (enum rollout_gate)a->arg);
		return 0;
	}
	return -EINVAL;
}

static int feed_actions(struct iface *ifc, const struct rollout_event *ev)
{
	struct rollout_actions acts;
	__u32 i;
	int err;

	err = rollout__handle(&ifc->st.ro, ev, &acts);
	if (err)
		return err;
	for (i = 0; i < acts.nr; i++) {
		err = apply_one(ifc, &acts.a[i]);
		if (err) {
			struct rollout_event fail = { .type = ROLLOUT_EV_FAILED, .now_ms = ev->now_ms };

			pr_warn("iface %s: action %u failed (%s); restoring stable only\n",
				ifc->cfg.name, acts.a[i].type, strerror(-err));
			restore_stable(ifc);
			if (!rollout__handle(&ifc->st.ro, &fail, &acts))
				persist(ifc);
			break;
		}
	}
	/* No gate waited on any more (passed, or decided over): stop asking. */
	if (!ifc->st.ro.gate)
		canary_webhook__cancel_gate(ifc);
	return err;
}

/* Every phase change goes through here: count the rollouts that end. */
static int feed(struct iface *ifc, const struct rollout_event *ev)
{
	enum rollout_phase before = ifc->st.ro.phase;
	int err = feed_actions(ifc, ev);

	if (ifc->st.ro.phase != before && rollout__done(&ifc->st.ro))
		ifc->decisions[ifc->st.ro.phase]++;
	return err;
}

/* A gate's answer from the webhook transport. */
static void on_gate(void *owner, enum rollout_gate gate, enum rollout_gate_result res,
		    const char *detail)
{
	static const char *const what[] = { "passed", "not yet", "failed" };
	struct iface *ifc = owner;
	char now[sizeof(ifc->gate_detail)];
	struct rollout_event ev = { .type = ROLLOUT_EV_GATE_RESULT, .now_ms = now_ms(),
				    .gate = gate, .result = res, .detail = detail };

	snprintf(now, sizeof(now), "%s (%s)", what[res], detail);
	/* "Not yet" is logged when it starts or its answer changes, not every interval. */
	if (res != ROLLOUT_GATE_NOT_YET || strcmp(now, ifc->gate_detail))
		pr_info("iface %s: gate %s %s (%s)%s\n", ifc->cfg.name, rollout_gate__name(gate),
			what[res], detail,
			res == ROLLOUT_GATE_NOT_YET && (strstr(detail, "401") || strstr(detail, "404"))
				? "; a 401 or 404 usually means a wrong secret or URL" : "");
	snprintf(ifc->gate_detail, sizeof(ifc->gate_detail), "%s", now);
	if (feed(ifc, &ev) == -EINVAL)
		canary_webhook__cancel_gate(ifc);	/* nobody waits for it any more */
}

static bool iface_present(const struct iface *ifc)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifc->ifindex, name) && !strcmp(name, ifc->cfg.name);
}

/*
 * The interface went away (deleted, or renamed) under a running canaryd.
 * The kernel detached the dispatcher with it; the pins stay, consistent with
 * stable only, so a canaryd restarted once the interface is back adopts them.
 * The rollout ends as failed; the interface is reported and left alone.
 */
static void iface_lost(struct iface *ifc)
{
	restore_stable(ifc);
	if (ifc->has_rollout && !rollout__done(&ifc->st.ro))
		end_rollout(ifc, ROLLOUT_FAILED,
			    "failed: the interface was removed during the rollout");
	snprintf(ifc->error, sizeof(ifc->error),
		 "interface %.*s (ifindex %d) was removed; not managed any more; restart canaryd "
		 "once it is back", IF_NAMESIZE, ifc->cfg.name, ifc->ifindex);
	pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
}

static void iface_tick(struct iface *ifc, __u64 now, double secs)
{
	static struct canary_counters c[CANARY_COUNTERS_ENTRIES];
	struct rollout_event ev = { .type = ROLLOUT_EV_TICK, .now_ms = now };
	__u32 thr;

	if (!iface_managed(ifc))
		return;
	if (!iface_present(ifc)) {
		iface_lost(ifc);
		return;
	}
	if (canary_dp__read_counters(ifc->dp, c))
		return;
	canary_dp__read_breaker(ifc->dp, 1, &ifc->brk);
	if (!ifc->have_last) {
		memcpy(ifc->last, c, sizeof(c));
		memcpy(ifc->at_start, c, sizeof(c));
		ifc->have_last = true;
		return;
	}
	thr = rollout_sample__slow_bucket(c, ifc->at_start);
	rollout_sample__split(c, ifc->last, 0, thr, &ev.stable);
	rollout_sample__split(c, ifc->last, 1, thr, &ev.cand);
	ifc->d_stable = ev.stable;
	ifc->d_cand = ev.cand;
	ifc->d_secs = secs;
	memcpy(ifc->last, c, sizeof(c));
	if (!ifc->has_rollout || rollout__done(&ifc->st.ro))
		return;
	ev.breaker_tripped = ifc->brk.tripped;
	feed(ifc, &ev);
}

/* ---- control socket ---------------------------------------------------- */

static json_t *err_reply(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *err_reply(int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "errno", err < 0 ? -err : err);
}

static struct iface *find_iface(const char *name)
{
	int i;

	for (i = 0; name && i < nr_ifaces; i++)
		if (!strcmp(ifaces[i].cfg.name, name))
			return &ifaces[i];
	return NULL;
}

static json_t *version_json(const struct canary_counters *all, __u32 row,
			    const struct judge_sample *d, double secs)
{
	const struct canary_counters *c =
		canary_counters__at(all, row, CANARY_CLASS_SPLIT);
	double n = d->packets ? (double)d->packets : 1;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}",
			 "packets", (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
			 "aborted", (json_int_t)c->verdict[CANARY_V_ABORTED],
			 "drop", (json_int_t)c->verdict[CANARY_V_DROP],
			 "pass", (json_int_t)c->verdict[CANARY_V_PASS],
			 "tx", (json_int_t)c->verdict[CANARY_V_TX],
			 "redirect", (json_int_t)c->verdict[CANARY_V_REDIRECT],
			 "invalid", (json_int_t)c->verdict[CANARY_V_INVALID],
			 "fallback", (json_int_t)c->fallback,
			 "pps", secs > 0 ? d->packets / secs : 0.0, "drop_rate", d->drops / n,
			 "pass_rate", d->passes / n, "abort_rate", d->aborts / n,
			 "cost_ns_avg", c->cost_samples ? (double)c->cost_ns / c->cost_samples : 0.0);
}

static json_t *tests_json(const struct judge_evidence *ev)
{
	static const char *const dirs[] = { "up", "down", "none" };
	static const char *const tests[] = { "harm", "safety", "exact", "limit", "budget",
					     "split", "input", "exposure" };
	json_t *arr = json_array();
	__u32 i;

	for (i = 0; i < ev->nr_tests && i < JUDGE_MAX_EVIDENCE; i++) {
		const struct judge_test_ev *t = &ev->tests[i];

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
				       "s:f, s:f, s:b}",
				       "metric", t->metric, "dir", dirs[t->dir <= 2 ? t->dir : 2],
				       "test", t->test < 8 ? tests[t->test] : "?",
				       "x_c", (json_int_t)t->x_c, "x_s", (json_int_t)t->x_s,
				       "n_c", (json_int_t)t->n_c, "n_s", (json_int_t)t->n_s,
				       "rate_c", t->rate_c, "rate_s", t->rate_s,
				       "ratio", isfinite(t->ratio) ? t->ratio : -1.0, "rho", t->rho,
				       "stat", isfinite(t->stat) ? t->stat : 1e308,
				       "threshold", t->threshold, "p", t->p, "decided", t->decided));
	}
	return arr;
}

static json_t *rollout_json(const struct iface *ifc)
{
	const struct rollout *r = &ifc->st.ro;
	char id[64], ev[512];
	json_t *shares, *o, *gate = json_null();
	__u32 i;
	__u64 now = now_ms();

	if (!ifc->has_rollout)
		return json_null();
	shares = json_array();
	for (i = 0; i < r->plan.nr_steps; i++)
		json_array_append_new(shares, json_real(r->plan.step[i].share_bp / 100.0));
	if (snprintf(id, sizeof(id), "%s-%llu", ifc->cfg.name,
		     (unsigned long long)ifc->st.rollout_id) >= (int)sizeof(id))
		id[0] = '\0';
	ev[0] = '\0';
	if (r->last_ev.nr_tests || r->last_verdict != JUDGE_INCONCLUSIVE)
		judge_evidence__format(&r->last_ev, ev, sizeof(ev));
	if (r->gate)
		gate = json_pack("{s:s, s:I, s:b, s:b, s:s}", "name", rollout_gate__name(r->gate),
				 "waiting_ms", (json_int_t)(now - r->gate_since_ms),
				 "passed", r->gate_passed,
				 "asking", canary_webhook__gate_pending((void *)ifc),
				 "last_answer", ifc->gate_detail);
	o = json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:s}, s:i, s:i, s:f, s:o, s:I, s:I, s:I, s:s, s:s, s:o, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
		"id", id, "phase", rollout_phase__name(r->phase), "reason", r->reason,
		"candidate", "object", ifc->st.cand_obj, "program", ifc->st.cand_prog,
		"step", (int)r->step + 1, "steps", (int)r->plan.nr_steps,
		"share_pct", r->share_bp / 100.0, "shares_pct", shares,
		"step_elapsed_ms", (json_int_t)(rollout__done(r) ? 0 : now - r->step_start_ms),
		"step_min_ms", (json_int_t)r->plan.step[r->step].min_bake_ms,
		"elapsed_ms", (json_int_t)((rollout__done(r) ? r->end_ms : now) - r->start_ms),
		"verdict", judge_verdict__name(r->last_verdict), "evidence", ev,
		"tests", tests_json(&r->last_ev),
		"totals", "stable_packets", (json_int_t)r->totals.stable_packets,
		"candidate_packets", (json_int_t)r->totals.cand_packets,
		"candidate_aborted", (json_int_t)r->totals.cand_aborted,
		"candidate_invalid", (json_int_t)r->totals.cand_invalid,
		"candidate_drops", (json_int_t)r->totals.cand_drops,
		"stable_drops", (json_int_t)r->totals.stable_drops);
	json_object_set_new(o, "gate", gate);
	return o;
}

static json_t *iface_json(const struct iface *ifc)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:{s:s, s:s}, s:o}", "iface", ifc->cfg.name,
			      "mode", ifc->cfg.native ? "native" : "skb", "managed",
			      iface_managed(ifc),
			      "error", ifc->error[0] ? json_string(ifc->error) : json_null(),
			      "stable", "object", ifc->st.stable.obj, "program", ifc->st.stable.prog,
			      "rollout", rollout_json(ifc));

	if (ifc->dp && ifc->have_last) {
		json_object_set_new(o, "read_interval_ms", json_integer((json_int_t)llround(ifc->d_secs * 1000)));
		json_object_set_new(o, "breaker",
				    json_pack("{s:b, s:I, s:I}", "tripped", ifc->brk.tripped,
					      "bad", (json_int_t)ifc->brk.bad,
					      "trips", (json_int_t)ifc->brk.trips));
		json_object_set_new(o, "versions",
				    json_pack("{s:o, s:o}", "stable",
					      version_json(ifc->last, 0, &ifc->d_stable, ifc->d_secs),
					      "candidate",
					      version_json(ifc->last, 1, &ifc->d_cand, ifc->d_secs)));
	}
	return o;
}

/*
 * Look at a candidate object before loading it, so each kind of bad input
 * gets its own one-line answer: missing, not a regular readable file, not
 * ELF, no such program, not XDP, multi-buffer (frags), another attach type.
 * Root reads files whatever their mode, so "unreadable" is seen here as a
 * directory or a file that is not a BPF object. 0 or -errno with MSG set.
 */
static int check_candidate_file(const char *obj, const char *prog, char *msg, size_t len)
{
	struct bpf_program *p, *found = NULL;
	struct bpf_object *bobj;
	unsigned char magic[4] = {};
	char what[256] = "";
	struct stat sb;
	int fd, n = 0, err = 0;

	if (stat(obj, &sb)) {
		err = -errno;
		snprintf(msg, len, "candidate %s: %s; give the path of a compiled BPF object "
			 "(clang -target bpf)", obj, strerror(-err));
		return err;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(msg, len, "candidate %s is not a regular file (%s); give the path of a "
			 "compiled BPF object (.bpf.o)", obj, S_ISDIR(sb.st_mode) ? "a directory" :
			 "a special file");
		return -EISDIR;
	}
	fd = open(obj, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, magic, sizeof(magic)) != sizeof(magic) ||
	    memcmp(magic, "\177ELF", 4)) {
		err = fd < 0 ? -errno : -ENOEXEC;
		if (fd >= 0)
			close(fd);
		snprintf(msg, len, "candidate %s %s; build it with clang -target bpf -O2 -g", obj,
			 err == -ENOEXEC ? "is not an ELF BPF object" : "cannot be read");
		return err;
	}
	close(fd);
	bobj = bpf_object__open_file(obj, NULL);
	if (!bobj) {
		char lerr[128];

		err = -errno;
		libbpf_strerror(err, lerr, sizeof(lerr));
		snprintf(msg, len, "candidate %s: libbpf cannot open it: %s; build it with clang "
			 "-target bpf -O2 -g", obj, lerr);
		return err;
	}
	bpf_object__for_each_program(p, bobj) {
		bool xdp = bpf_program__type(p) == BPF_PROG_TYPE_XDP;

		if (prog[0] ? !strcmp(bpf_program__name(p), prog) : xdp) {
			found = p;
			n++;
		}
		if (!xdp && !what[0])
			snprintf(what, sizeof(what), "%s is %s, SEC(\"%s\")", bpf_program__name(p),
				 libbpf_bpf_prog_type_str(bpf_program__type(p)) ?: "?",
				 bpf_program__section_name(p));
	}
	if (!found) {
		err = -ENOENT;
		if (prog[0])
			snprintf(msg, len, "candidate %s has no program named %s", obj, prog);
		else
			snprintf(msg, len, "candidate %s holds no XDP program%s%s%s; the dispatcher "
				 "runs XDP versions only, SEC(\"xdp\")", obj, what[0] ? " (" : "",
				 what, what[0] ? ")" : "");
	} else if (n > 1) {
		err = -EINVAL;
		snprintf(msg, len, "candidate %s holds %d XDP programs; name one as OBJECT:PROGRAM",
			 obj, n);
	} else if (bpf_program__type(found) != BPF_PROG_TYPE_XDP) {
		err = -EINVAL;
		snprintf(msg, len, "candidate %s program %s is %s, SEC(\"%s\"), not XDP; the "
			 "dispatcher runs XDP versions only, SEC(\"xdp\")", obj, prog,
			 libbpf_bpf_prog_type_str(bpf_program__type(found)) ?: "?",
			 bpf_program__section_name(found));
	} else {
		/* The checks every version gets (dp.h), here before anything loads. */
		err = canary_version__check_prog(found, what, sizeof(what));
		if (err)
			snprintf(msg, len, "candidate %s %s", obj, what);
	}
	bpf_object__close(bobj);
	return err;
}

/* Load and check a candidate before any traffic can reach it. */
static int load_candidate(const char *obj, const char *prog, const char *share_dir,
			  const char *private, struct bpf_object **objp, char *prog_name,
			  size_t name_len, char *msg, size_t len)
{
	struct bpf_program *p;
	int fd;

	fd = check_candidate_file(obj, prog, msg, len);
	if (fd < 0)
		return fd;
	fd = canary_version__load_shared(obj, prog[0] ? prog : NULL, share_dir, private, objp);
	if (fd < 0) {
		snprintf(msg, len, "candidate %s%s%s refused by the kernel: %s; canaryd's log has "
			 "the verifier output (canaryd -v for all of it)", obj, prog[0] ? ":" : "",
			 prog, strerror(-fd));
		return fd;
	}
	/* check_candidate_file() checked this program's XDP properties before the load. */
	bpf_object__for_each_program(p, *objp)
		if (bpf_program__fd(p) == fd)
			snprintf(prog_name, name_len, "%s", bpf_program__name(p));
	return fd;
}

/* REQ was checked by canaryd_request__parse(); steps and times may be defaults. */
static json_t *cmd_start(struct iface *ifc, const struct canaryd_request *req)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	const char *steps = req->steps[0] ? req->steps : NULL;
	const char *obj = req->cand_obj, *prog = req->cand_prog;
	char msg[1024];
	struct bpf_object *bobj = NULL;
	struct canaryd_persist next;
	struct rollout_plan plan;
	struct rollout_event ev;
	__u64 step_ms = req->step_time_ms ? req->step_time_ms : rc->step_time_ms;
	int fd, err;

	if (ifc->has_rollout && !rollout__done(&ifc->st.ro))
		return err_reply(EBUSY, "iface %s: a rollout of %s is %s; abort or promote it first",
				 ifc->cfg.name, ifc->st.cand_obj,
				 rollout_phase__name(ifc->st.ro.phase));
	err = rollout_plan__parse(&plan, steps ? steps : rc->steps, step_ms,
				  rc->max_step_time_ms > step_ms ? rc->max_step_time_ms : 0,
				  rc->min_packets);
	if (err)
		return err_reply(EINVAL, "start: steps '%s' must be rising percentages ending at 100, "
				 "e.g. 1,5,25,50,100", steps ? steps : rc->steps);
	plan.on_timeout = rc->on_timeout;
	plan.breaker_budget = rc->breaker_budget;
	if (ifc->cfg.gate_hook >= 0) {
		plan.gates = config.webhook[ifc->cfg.gate_hook].gates;
		plan.on_gate_failure = config.webhook[ifc->cfg.gate_hook].on_failure;
	}

	/* Everything is checked off to the side; the interface changes only if all pass. */
	memset(&next, 0, sizeof(next));
	next.stable = ifc->st.stable;
	next.previous = ifc->st.previous;
	fd = load_candidate(obj, prog, ifc->share_dir, ifc->cfg.private_maps, &bobj, next.cand_prog,
			    sizeof(next.cand_prog), msg, sizeof(msg));
	if (fd < 0) {
		bpf_object__close(bobj);
		pr_warn("iface %s: %s\n", ifc->cfg.name, msg);
		return err_reply(fd, "%s", msg);
	}
	snprintf(next.cand_obj, sizeof(next.cand_obj), "%s", obj);
	next.rollout_id = wall_ms();
	/* Once, here: webhooks name exactly the bytes that were loaded. */
	if (canary_sha256_file(obj, next.cand_sha256))
		next.cand_sha256[0] = '\0';
	err = rollout__init(&next.ro, &plan, &ifc->cfg.judge);
	if (!err)
		err = pin_prog(ifc, PIN_CANDIDATE, fd);
	bpf_object__close(bobj);	/* the pin holds the program now */
	if (err)
		return err_reply(err, "iface %s: cannot prepare the rollout: %s", ifc->cfg.name,
				 strerror(-err));
	if (ifc->cand_fd >= 0)
		close(ifc->cand_fd);
	ifc->cand_fd = get_pinned_prog(ifc, PIN_CANDIDATE);
	ifc->st = next;
	ifc->has_rollout = true;
	memcpy(ifc->at_start, ifc->last, sizeof(ifc->last));
	ev = (struct rollout_event){ .type = ROLLOUT_EV_START, .now_ms = now_ms() };
	err = feed(ifc, &ev);
	if (err)
		return err_reply(err, "iface %s: the datapath refused the candidate: %s; stable "
				 "restored", ifc->cfg.name, strerror(-err));
	return json_pack("{s:b}", "ok", 1);
}

static json_t *handle_request(const struct canaryd_request *req)
{
	static const enum rollout_event_type verbs[] = {
		[CANARYD_CMD_PAUSE] = ROLLOUT_EV_PAUSE,	    [CANARYD_CMD_RESUME] = ROLLOUT_EV_RESUME,
		[CANARYD_CMD_PROMOTE] = ROLLOUT_EV_PROMOTE, [CANARYD_CMD_ABORT] = ROLLOUT_EV_ABORT,
		[CANARYD_CMD_REVERT] = ROLLOUT_EV_REVERT,
	};
	const char *cmd = canaryd_cmd__name(req->cmd);
	const char *name = req->iface[0] ? req->iface : NULL;
	struct iface *ifc = find_iface(name);
	struct rollout_event ev = { .now_ms = now_ms() };
	int err;

	if (req->cmd == CANARYD_CMD_STATUS) {
		json_t *arr = json_array();
		int k;

		if (name && !ifc)
			return err_reply(ENODEV, "iface %s is not managed by this canaryd", name);
		for (k = 0; k < nr_ifaces; k++)
			if (!ifc || ifc == &ifaces[k])
				json_array_append_new(arr, iface_json(&ifaces[k]));
		return json_pack("{s:b, s:o}", "ok", 1, "interfaces", arr);
	}
	if (!ifc)
		return err_reply(ENODEV, "iface %s is not managed by this canaryd (see [interface] "
				 "sections in %s)", name, config_path);
	if (!iface_managed(ifc))
		return err_reply(EIO, "iface %s is not managed: %s", name, ifc->error);
	if (req->cmd == CANARYD_CMD_START)
		return cmd_start(ifc, req);
	if (!ifc->has_rollout)
		return err_reply(ENOENT, "iface %s: no rollout to %s", name, cmd);
	ev.type = verbs[req->cmd];
	err = feed(ifc, &ev);
	if (err == -EINVAL)
		return err_reply(EINVAL, "iface %s: cannot %s a rollout that is %s", name, cmd,
				 rollout_phase__name(ifc->st.ro.phase));
	if (err)
		return err_reply(err, "iface %s: %s failed in the datapath: %s; stable restored",
				 name, cmd, strerror(-err));
	return json_pack("{s:b}", "ok", 1);
}

static void serve_client(int lfd)
{
	char *buf = NULL, *nl, msg[1024];
	size_t len = 0, cap = 0;
	struct timeval tv = { .tv_sec = 2 };
	struct canaryd_request req;
	json_t *reply;
	int cfd, err;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			char *nb;

			if (cap >= CANARY_PROTO_MAX_LINE)
				goto out;
			nb = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!nb)
				goto out;
			buf = nb;
		}
		n = read(cfd, buf + len, cap - len - 1);
		if (n <= 0)
			goto out;
		len += n;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			break;
		}
	}
	err = canaryd_request__parse(buf, &req, msg, sizeof(msg));
	reply = err ? err_reply(err, "%s", msg) : handle_request(&req);
	if (reply) {
		char *out = json_dumps(reply, JSON_COMPACT);

		if (out) {
			if (write(cfd, out, strlen(out)) >= 0 && write(cfd, "\n", 1) < 0)
				pr_debug("control: client went away\n");
			free(out);
		}
		json_decref(reply);
	}
out:
	free(buf);
	close(cfd);
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_warn("control socket %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);	/* our lock on every interface says no other canaryd uses it */
	old = umask(0177);	/* mode 0600 from the start: no window for others */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err || listen(fd, 16)) {
		err = -errno;
		pr_warn("control socket %s: cannot listen: %s\n", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

static int reload_config(void)
{
	static struct canaryd_config fresh;
	char err[4096] = "";
	int i, j;

	if (canaryd_config__load(&fresh, config_path, err, sizeof(err))) {
		pr_warn("SIGHUP: config %s not reloaded, keeping the old one:\n%s\n", config_path, err);
		return -EINVAL;
	}
	for (i = 0; i < nr_ifaces; i++) {
		for (j = 0; j < fresh.nr_ifaces; j++)
			if (!strcmp(fresh.iface[j].name, ifaces[i].cfg.name))
				break;
		if (j == fresh.nr_ifaces) {
			pr_warn("SIGHUP: iface %s left the config; it stays as it is until restart\n",
				ifaces[i].cfg.name);
			/* Its webhook indices point into the old table: send nothing. */
			ifaces[i].cfg.nr_hooks = 0;
			ifaces[i].cfg.gate_hook = -1;
			continue;
		}
		/* Rollout and judge defaults apply from the next rollout on. */
		ifaces[i].cfg.rollout = fresh.iface[j].rollout;
		ifaces[i].cfg.judge = fresh.iface[j].judge;
		/* Webhooks too: requests already queued keep what they were made with. */
		memcpy(ifaces[i].cfg.webhooks, fresh.iface[j].webhooks, sizeof(fresh.iface[j].webhooks));
		ifaces[i].cfg.nr_hooks = fresh.iface[j].nr_hooks;
		memcpy(ifaces[i].cfg.hook, fresh.iface[j].hook, sizeof(fresh.iface[j].hook));
		ifaces[i].cfg.gate_hook = fresh.iface[j].gate_hook;
	}
	config.nr_webhooks = fresh.nr_webhooks;
	memcpy(config.webhook, fresh.webhook, sizeof(fresh.webhook));
	/* A gate being asked is asked again with the new URL and secret. */
	for (i = 0; i < nr_ifaces; i++)
		if (ifaces[i].has_rollout && ifaces[i].st.ro.gate &&
		    canary_webhook__gate_pending(&ifaces[i])) {
			canary_webhook__cancel_gate(&ifaces[i]);
			ask_gate(&ifaces[i], ifaces[i].st.ro.gate);
		}
	for (j = 0; j < fresh.nr_ifaces; j++)
		if (!find_iface(fresh.iface[j].name))
			pr_warn("SIGHUP: new iface %s needs a restart of canaryd\n", fresh.iface[j].name);
	canary_log_set_level(fresh.log_level);
	pr_info("SIGHUP: config %s reloaded\n", config_path);
	return 0;
}

/* ---- metrics and systemd --------------------------------------------- */

/* The metrics page, from the same state "status" reads (metrics.h). */
static int render_metrics(void *ctx, char **out, size_t *len)
{
	static char ids[CANARY_MAX_IFACES][64];
	struct canary_metrics_iface m[CANARY_MAX_IFACES];
	int i;

	(void)ctx;
	memset(m, 0, sizeof(m));
	for (i = 0; i < nr_ifaces; i++) {
		const struct iface *ifc = &ifaces[i];

		m[i].name = ifc->cfg.name;
		m[i].managed = iface_managed(ifc);
		if (ifc->dp && ifc->have_last) {
			m[i].counters = ifc->last;
			m[i].breaker = &ifc->brk;
		}
		if (ifc->has_rollout) {
			snprintf(ids[i], sizeof(ids[i]), "%s-%llu", ifc->cfg.name,
				 (unsigned long long)ifc->st.rollout_id);
			m[i].rollout = &ifc->st.ro;
			m[i].rollout_id = ids[i];
			m[i].candidate = ifc->st.cand_obj;
		}
		memcpy(m[i].decisions, ifc->decisions, sizeof(m[i].decisions));
	}
	return canary_metrics__render(m, nr_ifaces, out, len);
}

/* systemd's STATUS=: one line, sent when it changes. */
static void notify_status(bool ready)
{
	static char last[512];
	char line[512];
	int i, n, managed = 0;

	for (i = 0; i < nr_ifaces; i++)
		managed += iface_managed(&ifaces[i]);
	n = snprintf(line, sizeof(line), "managing %d of %d interfaces", managed, nr_ifaces);
	for (i = 0; i < nr_ifaces && n < (int)sizeof(line); i++) {
		const struct rollout *r = &ifaces[i].st.ro;

		if (ifaces[i].has_rollout && !rollout__done(r))
			n += snprintf(line + n, sizeof(line) - n, "; %s: %s step %u/%u at %.2f%%",
				      ifaces[i].cfg.name, rollout_phase__name(r->phase), r->step + 1,
				      r->plan.nr_steps, r->share_bp / 100.0);
	}
	if (!ready && !strcmp(line, last))
		return;
	snprintf(last, sizeof(last), "%s", line);
	sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "", line);
}

/*
 * Everything canaryd owns is pinned under pin_root so the datapath outlives
 * it: that must be a bpffs. 0, or -errno after one line that says what to do.
 */
static int pin_root_check(const char *dir)
{
	bool made = !mkdir(dir, 0700);
	struct statfs sfs;

	if (!made && errno != EEXIST) {
		pr_warn("pin_root %s: cannot create: %s; is bpffs mounted? mount -t bpf bpf "
			"/sys/fs/bpf (or set pin_root under a mounted bpffs)\n", dir,
			strerror(errno));
		return -errno;
	}
	if (statfs(dir, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		pr_warn("pin_root %s is not on a bpffs, so nothing can be pinned there; mount "
			"one (mount -t bpf bpf /sys/fs/bpf) or set pin_root under a mounted bpffs; "
			"nothing was changed\n", dir);
		if (made)
			rmdir(dir);
		return -ENOTSUP;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: canaryd [-c CONFIG] [-v]\n"
		   "  -c CONFIG  INI configuration (default /etc/canaryd/canaryd.ini)\n"
		   "  -v         debug logging (libbpf, libxdp and the verifier included)\n");
}

int main(int argc, char **argv)
{
	char err_text[8192] = "";
	struct itimerspec its = {};
	struct canary_metrics_server *msrv = NULL;
	struct pollfd pfd[4 + 2 * 64];	/* ours, the metrics server's, then libcurl's (2 per request) */
	sigset_t sigs;
	int opt, i, lfd, sfd, tfd, err, managed = 0;
	bool verbose = false;
	__u64 last_tick;

	while ((opt = getopt(argc, argv, "c:vh")) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	canary_log_init_libs();
	if (canary_webhooks__init(on_gate)) {
		fprintf(stderr, "canaryd: libcurl cannot be initialised\n");
		return 1;
	}
	err = canaryd_config__load(&config, config_path, err_text, sizeof(err_text));
	if (err) {
		fprintf(stderr, "%s", err_text);
		if (err_text[0] && err_text[strlen(err_text) - 1] != '\n')
			fputc('\n', stderr);
		fprintf(stderr, "canaryd: config %s refused; nothing was changed\n", config_path);
		return 1;
	}
	canary_log_set_level(verbose ? CANARY_LOG_DEBUG : (enum canary_log_level)config.log_level);
	if (pin_root_check(config.pin_root))
		return 1;
	if (mkdir(config.state_dir, 0700) && errno != EEXIST) {
		pr_warn("state dir %s: cannot create: %s\n", config.state_dir, strerror(errno));
		return 1;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	nr_ifaces = config.nr_ifaces;
	for (i = 0; i < nr_ifaces; i++) {
		ifaces[i].cfg = config.iface[i];
		err = iface_setup(&ifaces[i]);
		if (err == -EBUSY)
			return 1;	/* another canaryd: touch nothing at all */
		managed += !err;
	}
	lfd = listen_socket(config.socket);
	if (lfd < 0)
		return 1;
	if (strcmp(config.metrics, "off")) {
		msrv = canary_metrics__listen(config.metrics, render_metrics, NULL);
		if (!msrv)
			return 1;
	}
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	its.it_interval.tv_sec = config.interval_ms / 1000;
	its.it_interval.tv_nsec = (config.interval_ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		pr_warn("canaryd: cannot set up signals or timer: %s\n", strerror(errno));
		return 1;
	}
	pr_info("canaryd: managing %d of %d interfaces, control socket %s, metrics %s, "
		"interval %llu ms\n", managed, nr_ifaces, config.socket,
		msrv ? config.metrics : "off", (unsigned long long)config.interval_ms);
	notify_status(true);	/* every interface is set up and the socket answers */
	printf("ready\n");
	fflush(stdout);

	last_tick = now_ms();
	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = canary_metrics__fd(msrv), .events = POLLIN };
	for (;;) {
		int timeout = canary_metrics__timeout_ms(msrv), n;

		/* libcurl's sockets and timers too: webhooks progress without blocking us. */
		n = canary_webhooks__pollfds(pfd + 4, sizeof(pfd) / sizeof(pfd[0]) - 4, &timeout);
		if (poll(pfd, 4 + n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					reload_config();
					notify_status(true);
				} else {
					pr_info("canaryd: signal %u: exiting; the datapath keeps "
						"running with its last weights\n", si.ssi_signo);
					break;
				}
			}
		}
		if (pfd[2].revents & POLLIN) {
			__u64 expirations, now = now_ms();

			if (read(tfd, &expirations, sizeof(expirations)) > 0) {
				for (i = 0; i < nr_ifaces; i++)
					iface_tick(&ifaces[i], now, (now - last_tick) / 1000.0);
				last_tick = now;
				notify_status(false);
			}
		}
		if (pfd[0].revents & POLLIN)
			serve_client(lfd);
		canary_webhooks__run();
		canary_metrics__run(msrv);	/* never blocks; also expires idle scrapers */
	}
	sd_notify(0, "STOPPING=1");
	canary_metrics__close(msrv);
	close(lfd);
	unlink(config.socket);
	for (i = 0; i < nr_ifaces; i++) {
		if (ifaces[i].cand_fd >= 0)
			close(ifaces[i].cand_fd);
		canary_dp__close(ifaces[i].dp);	/* closes handles only: no detach */
		if (ifaces[i].lock_fd >= 0)
			close(ifaces[i].lock_fd);
	}
	canary_webhooks__fini();
	return 0;
}
