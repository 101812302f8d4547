// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl release IFACE (canaryd.h): the interface handed back with its
 * stable attached directly in place of the dispatcher (one atomic replace,
 * lib/dp.h canary_dp__release()), canaryd's pins for it removed, and a
 * marker STATE_DIR/IFACE.released so no canaryd attaches to it again while
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
	/* The attached program and its maps live on by the attachment, not the pins. */
	if (ifc->cand_fd >= 0)
		close(ifc->cand_fd);
	ifc->cand_fd = -1;
	canary_dp__close(ifc->dp);
	ifc->dp = NULL;
	nftw(ifc->pin_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ifc->released = true;
	cut(ifc->error, sizeof(ifc->error), "released (%s); remove it from the config", line);
	pr_info("iface %s: released: %s; canaryd's pins in %s removed; not managed any more\n",
		ifc->cfg.name, line, ifc->pin_dir);
	cut(msg, len, "iface %s: released: %s", ifc->cfg.name, line);
	return 0;
}
