// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Interface lifecycle (canaryd.h): lock the pin directory, adopt the pinned
 * dispatcher or create one, resume the persisted rollout, reconcile the
 * kernel with it after a crash, notice the interface going away.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "reconcile.h"
#include "settings.h"
#include "frags.h"
#include "version.h"

/*
 * The datapath library's line for IFC without its "iface NAME: " head: the
 * status and the log name the interface already.
 */
static const char *lib_msg(const struct iface *ifc, const char *msg)
{
	size_t n = strlen(ifc->cfg.name);

	if (!strncmp(msg, "iface ", 6) && !strncmp(msg + 6, ifc->cfg.name, n) &&
	    !strncmp(msg + 6 + n, ": ", 2))
		return msg + 6 + n + 2;
	return msg;
}

/* Why IFC is not managed, one line (cut to fit). */
static void set_error(struct iface *ifc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct iface *ifc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ifc->error, sizeof(ifc->error), fmt, ap);
	va_end(ap);
}

static void pin_path(const struct iface *ifc, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ifc->pin_dir, name);
}

/*
 * Pin FD as NAME in the interface's pin directory, replacing what was there
 * atomically: pinned as tmp_NAME, then renamed over NAME (bpffs renames), so
 * NAME always names one program, the old or the new, even across a crash.
 */
int canaryd_iface__pin(struct iface *ifc, const char *name, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = 0;

	pin_path(ifc, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/tmp_%s", ifc->pin_dir, name);	/* bpffs: no dots */
	unlink(tmp);	/* a crash's leftover */
	if (bpf_obj_pin(fd, tmp))
		err = -errno;
	else if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
	if (err)
		pr_warn("iface %s: cannot pin %s: %s\n", ifc->cfg.name, path, strerror(-err));
	return err;
}

int canaryd_iface__get_pinned(struct iface *ifc, const char *name)
{
	char path[PATH_MAX];

	pin_path(ifc, name, path, sizeof(path));
	return bpf_obj_get(path);
}

static enum xdp_attach_mode iface_mode(const struct iface *ifc)
{
	return ifc->cfg.native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

int canaryd_iface__persist(struct iface *ifc)
{
	return canaryd_state__save(ifc->state_path, &ifc->st);
}

/* Back to the last good state after a failed action: stable only. */
void canaryd_iface__restore_stable(struct iface *ifc)
{
	canary_dp__set_share(ifc->dp, 1, 0);
	/* No pin rule may point at the slot about to be emptied (DESIGN.md's order). */
	canary_dp__set_pins(ifc->dp, NULL, 0);
	canary_dp__clear_slot(ifc->dp, 1);
	canary_dp__set_rollout(ifc->dp, false, 0);
}

/*
 * A fresh dispatcher: stable in slot 0, configured, pinned, attached. The
 * stable is the one the state file names when its copy is kept (*USE_STATE),
 * else the configured one (keep.c).
 */
/* The interface's MTU now (SIOCGIFMTU), or 0 when it cannot be read. */
static int iface_mtu(const struct iface *ifc)
{
	struct ifreq ifr = {};
	int fd, mtu = 0;

	if (!if_indextoname(ifc->ifindex, ifr.ifr_name))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* One line for an MTU read again (canaryd_iface__mtu_check()), as rollout_frags__report() says. */
static void mtu_report(struct iface *ifc, int old_mtu, enum rollout_frags_fit was)
{
	const char *fit = rollout_frags_fit__name(ifc->mtu_fit);
	char m[40];

	if (old_mtu == ifc->mtu)
		snprintf(m, sizeof(m), "MTU %d", ifc->mtu);	/* at set-up: as found */
	else
		snprintf(m, sizeof(m), "MTU %d -> %d", old_mtu, ifc->mtu);
	switch (rollout_frags__report(old_mtu, was, ifc->mtu, ifc->mtu_fit)) {
	case ROLLOUT_FRAGS_REPORT_NONE:
		return;
	case ROLLOUT_FRAGS_REPORT_CHANGED:
		pr_info("iface %s: %s; the %s dispatcher takes it (mtu_fit %s)\n",
			ifc->cfg.name, m,
			ifc->frags ? "multi-buffer" : "single-buffer", fit);
		return;
	case ROLLOUT_FRAGS_REPORT_WARN:
		pr_warn("iface %s: %s: the single-buffer dispatcher cannot take frames "
			"above %d bytes in native mode (mtu_fit %s); canaryd cannot make it "
			"multi-buffer in place (its ProgMap takes only versions of its kind, and "
			"the running ones are single-buffer builds): lower the MTU to %d or less, "
			"or move to SEC(\"xdp.frags\") builds in a datapath created anew (README, "
			"\"The dispatcher\")\n", ifc->cfg.name, m,
			ROLLOUT_FRAGS_MTU_MAX, fit, ROLLOUT_FRAGS_MTU_MAX);
		return;
	case ROLLOUT_FRAGS_REPORT_FITS_AGAIN:
		pr_warn("iface %s: %s: the single-buffer dispatcher fits it again "
			"(mtu_fit %s)\n", ifc->cfg.name, m, fit);
		return;
	case ROLLOUT_FRAGS_REPORT_UNNEEDED:
		pr_info("iface %s: %s: the multi-buffer dispatcher keeps running "
			"(frags = auto would choose single-buffer now; it works, versions stay "
			"SEC(\"xdp.frags\")) (mtu_fit %s)\n", ifc->cfg.name, m, fit);
		return;
	}
}

void canaryd_iface__mtu_check(struct iface *ifc)
{
	enum rollout_frags_fit was = ifc->mtu_fit;
	int old_mtu = ifc->mtu, mtu;

	if (!ifc->dp || ifc->released)
		return;
	mtu = iface_mtu(ifc);
	if (mtu <= 0)
		return;	/* not readable now (going away): links.c sees to it */
	ifc->mtu = mtu;
	ifc->mtu_fit = rollout_frags__fit(ifc->cfg.frags, ifc->cfg.native, ifc->frags, mtu);
	mtu_report(ifc, old_mtu, was);
}

static int iface_create_datapath(struct iface *ifc, bool *use_state)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	struct canaryd_load l = { .stable = true, .obj = ifc->cfg.stable_obj,
				  .prog = ifc->cfg.stable_prog, .prepare = rc->prepare,
				  .timeout_ms = rc->prepare_timeout_ms, .set = rc->set };
	struct bpf_object *obj = NULL;
	struct canary_config dcfg;
	char msg[1024] = "", kept[PATH_MAX] = "";
	CANARY_DP_OPTS(dopts, .msg = msg, .msg_size = sizeof(msg));
	CANARY_DP_OPEN_OPTS(oopts);
	const char *why;
	int fd, err;

	/* Before the stable loads: its kind must be the dispatcher's. */
	ifc->mtu = iface_mtu(ifc);
	ifc->frags = rollout_frags__decide(ifc->cfg.frags, ifc->cfg.native, ifc->mtu, &why);
	oopts.frags = ifc->frags;
	pr_info("iface %s: %s dispatcher (MTU %d, %s)\n", ifc->cfg.name,
		ifc->frags ? "multi-buffer (frags)" : "single-buffer", ifc->mtu, why);
	canaryd_keep__choose_stable(ifc, &l, kept, sizeof(kept), use_state);
	/* Loaded, its maps pinned and prepared before the dispatcher can send it anything. */
	fd = canaryd_iface__load_version(ifc, &l, &obj, msg, sizeof(msg));
	if (fd < 0) {
		set_error(ifc, "%s", msg);
		return fd;
	}
	msg[0] = '\0';	/* from here on: the dispatcher library's line, if any */
	ifc->dp = canary_dp__open_opts(&oopts);
	if (!ifc->dp) {
		err = -errno;
		set_error(ifc, "dispatcher cannot be loaded: %s",
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
		err = canaryd_iface__pin(ifc, PIN_STABLE, fd);
	if (!err) {
		err = canary_dp__attach(ifc->dp, ifc->ifindex, iface_mode(ifc), &dopts);
		if (err)
			canary_dp__unpin(ifc->dp);
	}
	if (err) {
		if (!ifc->frags && rollout_frags__mtu_needs(ifc->cfg.native, ifc->mtu))
			/* The library's line guesses other causes: this one is known. */
			set_error(ifc, "MTU %d needs a multi-buffer dispatcher: set frags = yes "
				  "(or auto) and build versions as SEC(\"xdp.frags\") (native "
				  "attach: %s); traffic untouched", ifc->mtu, strerror(-err));
		else if (msg[0])	/* the library's own line: what failed and what to do */
			set_error(ifc, "%s", lib_msg(ifc, msg));
		else
			set_error(ifc, "dispatcher cannot be set up: %s", strerror(-err));
		canary_dp__close(ifc->dp);
		ifc->dp = NULL;
		goto out;
	}
	pr_info("iface %s: dispatcher attached (%s), stable %s\n", ifc->cfg.name,
		ifc->cfg.native ? "native" : "skb", l.obj);
out:
	bpf_object__close(obj);	/* the ProgMap and the pin hold the program */
	return err;
}

/* FRESH: the datapath was created anew, so no candidate is pinned. */
static void iface_resume(struct iface *ifc, bool fresh)
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
		canaryd_iface__restore_stable(ifc);
		snprintf(moved, sizeof(moved), "%s.corrupt", ifc->state_path);
		if (rename(ifc->state_path, moved)) {
			set_error(ifc,
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
	ifc->cand_fd = canaryd_iface__get_pinned(ifc, PIN_CANDIDATE);
	if (!rollout__done(&ifc->st.ro) && ifc->cand_fd < 0 && !fresh) {
		set_error(ifc, "rollout in progress but the candidate pin is missing; "
			  "traffic untouched");
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return;
	}
	pr_info("iface %s: resumed rollout of %s: %s, step %u/%u, share %.2f%%\n",
		ifc->cfg.name, ifc->st.cand_obj, rollout_phase__name(ifc->st.ro.phase),
		ifc->st.ro.step + 1, ifc->st.ro.plan.nr_steps, ifc->st.ro.share_bp / 100.0);
}

__u32 canaryd_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static __u32 pinned_prog_id(struct iface *ifc, const char *name)
{
	int fd = canaryd_iface__get_pinned(ifc, name);
	__u32 id = canaryd_prog_id(fd);

	if (fd >= 0)
		close(fd);
	return id;
}

/* Pin the program pinned as FROM as TO too. */
static int repin(struct iface *ifc, const char *from, const char *to)
{
	int fd = canaryd_iface__get_pinned(ifc, from), err;

	if (fd < 0)
		return -ENOENT;
	err = canaryd_iface__pin(ifc, to, fd);
	close(fd);
	return err;
}

/* The program pinned as NAME into slot 0. */
int canaryd_iface__slot0_from_pin(struct iface *ifc, const char *name)
{
	int fd = canaryd_iface__get_pinned(ifc, name), err;

	if (fd < 0)
		return -ENOENT;
	err = canary_dp__set_slot(ifc->dp, CANARY_SLOT_STABLE, fd);
	close(fd);
	return err;
}

static int apply_fix(struct canaryd *d, struct iface *ifc, const struct rollout_reconcile *rc,
		     const struct rollout_fix *f)
{
	switch (f->type) {
	case ROLLOUT_FIX_PIN_STABLE_FROM_PREVIOUS:
		return repin(ifc, PIN_PREVIOUS, PIN_STABLE);
	case ROLLOUT_FIX_SLOT0_FROM_STABLE_PIN:
		return canaryd_iface__slot0_from_pin(ifc, PIN_STABLE);
	case ROLLOUT_FIX_PIN_CANDIDATE_FROM_STABLE:
		repin(ifc, PIN_STABLE, PIN_CANDIDATE);
		return 0;	/* best effort, as before */
	case ROLLOUT_FIX_RESTORE_STABLE:
		canaryd_iface__restore_stable(ifc);
		return 0;
	case ROLLOUT_FIX_SET_SHARE:
		return canary_dp__set_share(ifc->dp, 1, f->arg);
	case ROLLOUT_FIX_EVENT:
		canaryd_iface__feed(d, ifc, &rc->ev);
		return 0;
	}
	return -EINVAL;
}

/*
 * After an adoption, bring the datapath in line with the persisted state:
 * observe the kernel, let rollout__reconcile() decide (reconcile.h has the
 * cases), apply its fixes in order, report.
 */
static void iface_reconcile(struct canaryd *d, struct iface *ifc)
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
	obs.want_stable = ifc->st.stable_id;
	obs.want_previous = ifc->st.previous_id;
	if (rollout__reconcile(ifc->has_rollout ? &ifc->st.ro : NULL, &obs, canaryd_now_ms(), &rc))
		return;
	for (i = 0; i < rc.nr; i++) {
		if (apply_fix(d, ifc, &rc, &rc.fix[i]))
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
	case ROLLOUT_RC_REVERT_COMPLETED:
		pr_warn("iface %s: canaryd had stopped inside a revert (slot 0 program %u, stable "
			"pin %u, previous stable %u); revert completed\n", ifc->cfg.name, obs.slot0,
			obs.stable_pin, obs.want_previous);
		break;
	case ROLLOUT_RC_ROLLBACK_COMPLETED:
		pr_warn("iface %s: canaryd had stopped inside a rollback (share %.2f%% of "
			"%.2f%%, slot 1 program %u); rollback completed\n", ifc->cfg.name,
			obs.share_bp / 100.0, want / 100.0, obs.slot1);
		break;
	}
}

/*
 * A datapath created anew from the state file (a reboot): the previous
 * stable it names loaded again from its kept copy (keep.c) as a stable is,
 * with the interface's prepare and set, and pinned as "previous", so a
 * revert works as it did before the reboot. 0, or -errno (logged).
 */
int canaryd_iface__rebuild_previous(struct iface *ifc)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	const struct canaryd_version_id *v = &ifc->st.previous;
	struct canaryd_load l = { .stable = true, .prog = v->prog, .prepare = rc->prepare,
				  .timeout_ms = rc->prepare_timeout_ms, .set = rc->set };
	char path[PATH_MAX] = "", msg[1024] = "";
	struct bpf_object *obj = NULL;
	int fd, err;

	err = canaryd_keep__verify(ifc, v->sha256, path, sizeof(path));
	if (err) {
		snprintf(msg, sizeof(msg), "its kept copy %s: %s", path[0] ? path : "?",
			 err == -EBADMSG ? "corrupt (hash mismatch)" : strerror(-err));
		goto fail;
	}
	l.obj = path;
	fd = canaryd_iface__load_version(ifc, &l, &obj, msg, sizeof(msg));
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	err = canaryd_iface__pin(ifc, PIN_PREVIOUS, fd);
	if (!err)
		ifc->st.previous_id = canaryd_prog_id(fd);
	bpf_object__close(obj);	/* the pin holds the program, its map dir the maps */
	if (err) {
		/* canaryd_iface__pin() logged the path. */
		snprintf(msg, sizeof(msg), "it cannot be pinned as %s: %s", PIN_PREVIOUS,
			 strerror(-err));
		goto fail;
	}
	pr_info("iface %s: previous stable %s (sha256 %s) rebuilt from its kept copy %s "
		"(program %u): canaryctl revert goes back to it\n", ifc->cfg.name, v->obj,
		v->sha256, path, ifc->st.previous_id);
	return 0;
fail:
	pr_warn("iface %s: previous stable %s (sha256 %s) cannot be rebuilt after the datapath "
		"was created anew: %s; canaryctl revert is refused\n", ifc->cfg.name, v->obj,
		v->sha256, msg);
	return err;
}

/* Lock, adopt or create, resume. Failures are per interface. */
int canaryd_iface__setup(struct canaryd *d, struct iface *ifc)
{
	char msg[256] = "";
	CANARY_DP_OPTS(dopts, .msg = msg, .msg_size = sizeof(msg));
	bool adopted = false, use_state = false;
	int err;

	ifc->lock_fd = -1;
	ifc->cand_fd = -1;
	if (snprintf(ifc->pin_dir, sizeof(ifc->pin_dir), "%s/%s", d->config.pin_root,
		     ifc->cfg.name) >= (int)sizeof(ifc->pin_dir) ||
	    snprintf(ifc->state_path, sizeof(ifc->state_path), "%s/%s.state", d->config.state_dir,
		     ifc->cfg.name) >= (int)sizeof(ifc->state_path)) {
		set_error(ifc, "pin_root or state_dir path too long");
		return -ENAMETOOLONG;
	}
	snprintf(ifc->share_dir, sizeof(ifc->share_dir), "%s/maps", ifc->pin_dir);
	/* Handed back by canaryctl release: left alone (pins left by a crash: below). */
	if (canaryd_iface__release_marked(ifc) && access(ifc->pin_dir, F_OK)) {
		canaryd_iface__released(ifc);
		return -EALREADY;
	}
	if (snprintf(ifc->keep_dir, sizeof(ifc->keep_dir), "%s/versions/%s", d->config.state_dir,
		     ifc->cfg.name) >= (int)sizeof(ifc->keep_dir)) {
		set_error(ifc, "state_dir path too long");
		return -ENAMETOOLONG;
	}
	ifc->ifindex = if_nametoindex(ifc->cfg.name);
	if (!ifc->ifindex) {
		set_error(ifc, "interface %s not found; waiting for it to appear (attached then); "
			  "traffic untouched", ifc->cfg.name);
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return -ENODEV;
	}
	if (mkdir(ifc->pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		set_error(ifc, "cannot create pin dir %s: %s",
			  ifc->pin_dir, strerror(-err));
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return err;
	}
	/* One writer per interface, as libxdp does: flock on the pin directory. */
	ifc->lock_fd = open(ifc->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ifc->lock_fd < 0 || flock(ifc->lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		ifc->locked_out = err == -EBUSY;
		pr_warn("iface %s: another canaryd manages it (lock on %s is held); "
			"stop that one first\n", ifc->cfg.name, ifc->pin_dir);
		return err;
	}
	ifc->dp = canary_dp__adopt(ifc->pin_dir, &dopts);
	/* A release cut short is completed, before anything could attach the dispatcher. */
	if ((ifc->dp || canaryd_iface__release_marked(ifc)) &&
	    canaryd_iface__release_reconcile(ifc))
		return -EALREADY;
	if (ifc->dp) {
		ifc->frags = canary_dp__frags(ifc->dp);
		ifc->mtu = iface_mtu(ifc);
		err = canary_dp__attach(ifc->dp, ifc->ifindex, iface_mode(ifc), &dopts);
		if (err) {
			set_error(ifc, "adopted dispatcher cannot be attached: %s",
				  msg[0] ? lib_msg(ifc, msg) : strerror(-err));
			pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
			return err;
		}
		pr_info("iface %s: adopted the pinned dispatcher without detaching it\n",
			ifc->cfg.name);
		adopted = true;
	} else if (errno == ENOENT) {
		err = iface_create_datapath(ifc, &use_state);
		if (err) {
			pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
			return err;
		}
		/* A new datapath has no rollout to resume, only the stable it names. */
		if (!use_state)
			unlink(ifc->state_path);
	} else {
		err = -errno;
		if (msg[0])
			set_error(ifc, "pinned dispatcher cannot be adopted: %s; traffic untouched",
				  msg);
		else
			set_error(ifc,
				  "pinned dispatcher in %s cannot be adopted: %s; traffic untouched",
				  ifc->pin_dir, strerror(-err));
		pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
		return err;
	}
	/* The dispatcher against the MTU now: an adopted one may predate a change. */
	ifc->mtu_fit = rollout_frags__fit(ifc->cfg.frags, ifc->cfg.native, ifc->frags, ifc->mtu);
	if (ifc->dp && ifc->mtu_fit != ROLLOUT_FRAGS_FIT_OK)
		mtu_report(ifc, ifc->mtu, ROLLOUT_FRAGS_FIT_OK);
	if (adopted || use_state)
		iface_resume(ifc, !adopted);
	/* Without a state naming it, the stable is the configured one. */
	if (!ifc->st.stable.obj[0]) {
		struct canaryd_version_id *v = &ifc->st.stable;

		snprintf(v->obj, sizeof(v->obj), "%s", ifc->cfg.stable_obj);
		snprintf(v->prog, sizeof(v->prog), "%s", ifc->cfg.stable_prog);
		if (canary_sha256_file(v->obj, v->sha256))
			v->sha256[0] = '\0';
	}
	/* The first version is kept too: a revert to it after a reboot finds it. */
	if (!use_state && ifc->st.stable.sha256[0])
		canaryd_keep__store(ifc, ifc->st.stable.obj, ifc->st.stable.sha256);
	/*
	 * A datapath created anew: new program ids; the "previous" pin rebuilt
	 * from its kept copy when a revert is possible (when that fails, the
	 * revert tries again: the copy may be put back).
	 */
	if (use_state) {
		ifc->st.previous_id = 0;
		ifc->st.stable_id = 0;
		if (ifc->has_rollout && ifc->st.ro.phase == ROLLOUT_PROMOTED &&
		    ifc->st.ro.has_previous)
			canaryd_iface__rebuild_previous(ifc);
	}
	if (!ifc->st.stable_id && ifc->dp)
		canary_dp__slot_prog_id(ifc->dp, CANARY_SLOT_STABLE, &ifc->st.stable_id);
	if (use_state)
		canaryd_iface__persist(ifc);
	/* The reboot took the candidate: the rollout ends as failed, stable only. */
	if (use_state && ifc->has_rollout && !rollout__done(&ifc->st.ro)) {
		struct rollout_event ev = { .type = ROLLOUT_EV_FAILED, .now_ms = canaryd_now_ms(),
					    .detail = "failed: the datapath was created anew (a "
						      "reboot) during the rollout; stable only" };

		canaryd_iface__feed(d, ifc, &ev);
	}
	if (adopted && !ifc->error[0])
		iface_reconcile(d, ifc);
	/* An adopted dispatcher keeps the settings it was made with: the config's now. */
	if (adopted && !ifc->error[0])
		canaryd_iface__settings(ifc, "adopted dispatcher");
	if (adopted)
		canaryd_iface__pin_adopted_maps(ifc);
	canaryd_iface__gc_versions(ifc);
	canaryd_keep__prune(ifc);
	/* A gate waited on before the restart is asked again (a new event). */
	if (ifc->has_rollout && ifc->st.ro.gate && !ifc->st.ro.gate_passed &&
	    ifc->st.ro.phase == ROLLOUT_PROGRESSING && !ifc->error[0]) {
		canaryd_iface__ask_gate(d, ifc, ifc->st.ro.gate);
		canaryd_iface__persist(ifc);
	}
	return 0;
}

bool canaryd_iface__managed(const struct iface *ifc)
{
	return ifc->dp && !ifc->error[0];
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* The dispatcher's settings as the config has them now (rollout/settings.h decides). */
void canaryd_iface__settings(struct iface *ifc, const char *why)
{
	struct rollout_dp_settings want = { .symmetric = ifc->cfg.rollout.symmetric,
					    .fail_closed = ifc->cfg.fail_closed,
					    .cost_sample = ifc->cfg.rollout.cost_sample };
	struct rollout_dp_settings have;
	struct rollout_settings_diff df;
	struct canary_config c;
	bool was_waiting = ifc->settings_wait;
	int err = 0;

	if (!ifc->dp || canary_dp__get_config(ifc->dp, &c))
		return;
	have.symmetric = c.flags & CANARY_F_SYMMETRIC;
	have.fail_closed = c.flags & CANARY_F_FAIL_CLOSED;
	have.cost_sample = c.flags & CANARY_F_COST ? c.cost_mask + 1 : 0;
	rollout_settings__diff(&want, &have, ifc->has_rollout && !rollout__done(&ifc->st.ro),
			       &df);
	ifc->settings_wait = df.wait;
	if (df.wait && !was_waiting)
		pr_info("iface %s: symmetric %s -> %s waits for the rollout to end (it would move "
			"flows between the versions) (%s)\n", ifc->cfg.name, yes_no(have.symmetric),
			yes_no(want.symmetric), why);
	if (df.apply & (ROLLOUT_SET_SYMMETRIC | ROLLOUT_SET_FAIL)) {
		if (df.apply & ROLLOUT_SET_SYMMETRIC)
			c.flags ^= CANARY_F_SYMMETRIC;
		if (df.apply & ROLLOUT_SET_FAIL)
			c.flags ^= CANARY_F_FAIL_CLOSED;
		err = canary_dp__set_config(ifc->dp, &c);
	}
	if (!err && (df.apply & ROLLOUT_SET_COST))
		err = canary_dp__set_cost_sampling(ifc->dp, want.cost_sample);
	if (err) {
		pr_warn("iface %s: dispatcher settings not changed (%s): %s; they stay as they "
			"were\n", ifc->cfg.name, why, strerror(-err));
		return;
	}
	if (df.apply & ROLLOUT_SET_SYMMETRIC)
		pr_info("iface %s: symmetric %s -> %s (%s)\n", ifc->cfg.name,
			yes_no(have.symmetric), yes_no(want.symmetric), why);
	if (df.apply & ROLLOUT_SET_FAIL)
		pr_info("iface %s: fail %s -> %s (%s)\n", ifc->cfg.name,
			have.fail_closed ? "closed" : "open", want.fail_closed ? "closed" : "open",
			why);
	if (df.apply & ROLLOUT_SET_COST)
		pr_info("iface %s: cost_sample %u -> %u (%s)\n", ifc->cfg.name, have.cost_sample,
			rollout_settings__cost_round(want.cost_sample), why);
}

/*
 * The interface was deleted under a running canaryd (links.c saw it). The
 * kernel detached the dispatcher with it; the pins stay, consistent with
 * stable only, and are adopted again when an interface of that name comes
 * back. The rollout ends as failed.
 */
void canaryd_iface__lost(struct canaryd *d, struct iface *ifc)
{
	struct rollout_event ev = {.type = ROLLOUT_EV_FAILED,
				   .now_ms = canaryd_now_ms(),
				   .detail =
				       "failed: the interface was removed during the rollout"};

	/* Through the engine: stable only, the failed webhook, counted, persisted. */
	if (ifc->has_rollout && !rollout__done(&ifc->st.ro))
		canaryd_iface__feed(d, ifc, &ev);
	else
		canaryd_iface__restore_stable(ifc);
	set_error(ifc, "interface %.*s (ifindex %d) was removed; not managed until it is back "
		  "(attached again then)", IF_NAMESIZE, ifc->cfg.name, ifc->ifindex);
	pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
}

struct iface *canaryd__find_iface(struct canaryd *d, const char *name)
{
	int i;

	for (i = 0; name && i < d->nr_ifaces; i++)
		if (!strcmp(d->iface[i].cfg.name, name))
			return &d->iface[i];
	return NULL;
}

/* Handles only: the datapath keeps running, pinned, with its last weights. */
void canaryd_iface__close(struct iface *ifc)
{
	if (ifc->cand_fd >= 0)
		close(ifc->cand_fd);
	canaryd_capture__free(ifc);	/* before the shadow's: it looks whether the phase reads */
	canaryd_shadow__free(ifc);	/* sampling off; a restart takes the phase up again */
	canary_dp__close(ifc->dp);	/* closes handles only: no detach */
	if (ifc->lock_fd >= 0)
		close(ifc->lock_fd);
}
