// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl release IFACE (canaryd.h): the interface handed back with its
 * stable attached directly in place of the dispatcher (one atomic replace,
 * lib/dp.h canary_dp__release()), canaryd's pins for it removed, and a
 * marker STATE_DIR/IFACE.state.released so no canaryd attaches to it again while
 * the config still lists it.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "reconcile.h"

/* A line into BUF, cut to fit (the status error has 256 bytes). */
static void cut(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cut(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int marker_path(const struct iface *ifc, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s.released", ifc->state_path) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

bool canaryd_iface__released(struct iface *ifc)
{
	char path[PATH_MAX + 16], line[sizeof(ifc->error) - 96] = "";
	FILE *f;

	if (marker_path(ifc, path, sizeof(path)))
		return false;
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	ifc->released = true;
	cut(ifc->error, sizeof(ifc->error), "released (%s); remove it from the config, or "
	    "delete %s to manage it again", line, path);
	pr_warn("iface %s: %s\n", ifc->cfg.name, ifc->error);
	return true;
}

static int write_marker(const struct iface *ifc, const char *line)
{
	char path[PATH_MAX + 16];

	if (marker_path(ifc, path, sizeof(path)))
		return -ENAMETOOLONG;
	return canaryd_write_file(path, line, strlen(line), "\n", 1);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT)
		pr_warn("cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* The interface handed back: handles closed, the pins removed, not managed any more. */
static void hand_back(struct iface *ifc, const char *line)
{
	/* The attached program and its maps live on by the attachment, not the pins. */
	if (ifc->cand_fd >= 0)
		close(ifc->cand_fd);
	ifc->cand_fd = -1;
	canary_dp__close(ifc->dp);
	ifc->dp = NULL;
	nftw(ifc->pin_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ifc->released = true;
	cut(ifc->error, sizeof(ifc->error), "released (%s); remove it from the config", line);
}

bool canaryd_iface__release_marked(const struct iface *ifc)
{
	char path[PATH_MAX + 16];

	return !marker_path(ifc, path, sizeof(path)) && !access(path, F_OK);
}

bool canaryd_iface__release_reconcile(struct iface *ifc)
{
	enum xdp_attach_mode mode = ifc->cfg.native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
	struct rollout_release_obs o = { .marker = canaryd_iface__release_marked(ifc),
					 .pinned = ifc->dp != NULL };
	char line[sizeof(ifc->error) - 96], why[128];
	static struct canaryd_persist st;
	const char *obj = "the pinned stable";
	int fd, err;

	if (ifc->dp) {
		o.dp_id = canary_dp__prog_id(ifc->dp);
		o.xdp_id = canary_dp__xdp_id(ifc->dp, ifc->ifindex, mode);
		fd = canaryd_iface__get_pinned(ifc, PIN_STABLE);
		o.stable_pin = canaryd_prog_id(fd);
		if (fd >= 0)
			close(fd);
	}
	switch (rollout__reconcile_release(&o)) {
	case ROLLOUT_RELEASE_NONE:
		return false;
	case ROLLOUT_RELEASE_DONE:
		/* A removal of the pins cut short leaves what the dispatcher could not be adopted from. */
		if (!access(ifc->pin_dir, F_OK)) {
			nftw(ifc->pin_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			pr_warn("iface %s: canaryd had stopped inside a release (marker written, pins "
				"partly removed); the rest of %s removed\n", ifc->cfg.name,
				ifc->pin_dir);
		}
		canaryd_iface__released(ifc);
		return true;
	case ROLLOUT_RELEASE_MARKED_ATTACHED:
		canary_dp__close(ifc->dp);	/* handles only: nothing detached */
		ifc->dp = NULL;
		canaryd_iface__released(ifc);
		pr_warn("iface %s: the release marker is there but the dispatcher (program %u) is "
			"still attached: left as it is, pins kept\n", ifc->cfg.name, o.dp_id);
		return true;
	case ROLLOUT_RELEASE_FINISH_PINS:
		hand_back(ifc, "completed after a restart");
		canaryd_iface__released(ifc);	/* the marker's line into the error */
		pr_warn("iface %s: canaryd had stopped inside a release (marker written, the "
			"dispatcher replaced, pins left); release completed: %s removed\n",
			ifc->cfg.name, ifc->pin_dir);
		return true;
	case ROLLOUT_RELEASE_FINISH_MARKER:
		break;
	}
	/* The state file names the stable the release attached. */
	if (!canaryd_state__load(ifc->state_path, &st, why, sizeof(why)) && st.stable.obj[0])
		obj = st.stable.obj;
	cut(line, sizeof(line), "stable %s%s%s (program %u) attached directly by canaryctl "
	    "release; completed after a restart", obj, obj == st.stable.obj && st.stable.prog[0] ?
	    ":" : "", obj == st.stable.obj ? st.stable.prog : "", o.xdp_id);
	err = write_marker(ifc, line);
	if (err)
		pr_warn("iface %s: the marker %s.released cannot be written: %s; remove the "
			"interface from the config before canaryd restarts\n", ifc->cfg.name,
			ifc->state_path, strerror(-err));
	hand_back(ifc, line);
	pr_warn("iface %s: canaryd had stopped inside a release (the stable, program %u, "
		"attached directly in place of the dispatcher %u; no marker); release "
		"completed: marker written, %s removed, the dispatcher not attached again\n",
		ifc->cfg.name, o.xdp_id, o.dp_id, ifc->pin_dir);
	return true;
}

int canaryd_iface__release(struct iface *ifc, char *msg, size_t len)
{
	char dmsg[256] = "", line[sizeof(ifc->error) - 96];
	CANARY_DP_OPTS(dopts, .msg = dmsg, .msg_size = sizeof(dmsg));
	const struct canaryd_version_id *v = &ifc->st.stable;
	__u32 id;
	int fd, err;

	if (ifc->has_rollout && !rollout__done(&ifc->st.ro)) {
		snprintf(msg, len, "iface %s: the rollout of %s is %s; abort or promote it first, "
			 "then release", ifc->cfg.name, ifc->st.cand_obj,
			 rollout_phase__name(ifc->st.ro.phase));
		return -EBUSY;
	}
	fd = canaryd_iface__get_pinned(ifc, PIN_STABLE);
	if (fd < 0) {
		err = -errno;
		snprintf(msg, len, "iface %s: the stable pin in %s cannot be opened: %s; nothing "
			 "changed", ifc->cfg.name, ifc->pin_dir, strerror(-err));
		return err;
	}
	id = canaryd_prog_id(fd);
	err = canary_dp__release(ifc->dp, ifc->ifindex,
				 ifc->cfg.native ? XDP_MODE_NATIVE : XDP_MODE_SKB, fd, &dopts);
	close(fd);
	if (err) {
		snprintf(msg, len, "%s", dmsg[0] ? dmsg : strerror(-err));
		return err;
	}
	cut(line, sizeof(line), "stable %s%s%s (program %u) attached directly by canaryctl "
	    "release", v->obj, v->prog[0] ? ":" : "", v->prog, id);
	err = write_marker(ifc, line);
	if (err)
		pr_warn("iface %s: released, but the marker %s.released cannot be written: %s; "
			"remove the interface from the config before canaryd restarts\n",
			ifc->cfg.name, ifc->state_path, strerror(-err));
	hand_back(ifc, line);
	pr_info("iface %s: released: %s; canaryd's pins in %s removed; not managed any more\n",
		ifc->cfg.name, line, ifc->pin_dir);
	cut(msg, len, "iface %s: released: %s", ifc->cfg.name, line);
	return 0;
}
