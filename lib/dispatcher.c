// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Datapath control: load, attach, pin and drive the dispatcher. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "canary_abi.h"	/* before the skeleton: it holds a struct canary_mode */
#include "dispatcher.skel.h"
#include "dp.h"
#include "log.h"

/* Pinned objects, in pin order; index 0 is the program. */
enum {
	DP_PROG,
	DP_PROGS,
	DP_COUNTERS,
	DP_CFG,
	DP_BREAKER,
	DP_PIN4,
	DP_PIN6,
	DP_STRATA,
	DP_MODE,
	DP_SAMPLES,
	DP_SAMPLE_STATE,
	DP_RULESETS,
	DP_NR_FDS,
};

static const char *const pin_names[DP_NR_FDS] = {
	CANARY_PROG_DISPATCH, CANARY_MAP_PROGS, CANARY_MAP_COUNTERS, CANARY_MAP_CFG,
	CANARY_MAP_BREAKER, CANARY_MAP_PIN4, CANARY_MAP_PIN6, CANARY_MAP_STRATA,
	CANARY_MAP_MODE, CANARY_MAP_SAMPLES, CANARY_MAP_SAMPLE_STATE, CANARY_MAP_RULESETS,
};

struct canary_dp {
	struct dispatcher *skel;	/* NULL when adopted from pins */
	int fd[DP_NR_FDS];		/* owned only when adopted */
	struct xdp_program *xdp;	/* set while attached */
	int ifindex;
	enum xdp_attach_mode mode;
	char pin_dir[PATH_MAX - 64];	/* empty when not pinned; leaves room for names */
	struct canary_config cfg;	/* what is installed now */
	__u32 split;			/* the split word as written last */
	int ncpus;
};

int canary_dp__prog_fd(const struct canary_dp *dp)
{
	return dp->fd[DP_PROG];
}

const char *canary_dp__pin_dir(const struct canary_dp *dp)
{
	return dp->pin_dir[0] ? dp->pin_dir : NULL;
}

/* Does CFG give the dispatcher anything to classify: a candidate range or a pin rule set? */
static bool config_splits(const struct canary_config *cfg)
{
	return cfg->flags & (CANARY_F_SPLIT | CANARY_F_PINS | CANARY_F_STRATA | CANARY_F_CAPTURE);
}

/* Write the split word that every packet reads first (canary_abi.h). */
static int write_split_word(struct canary_dp *dp, __u32 split)
{
	struct canary_mode m = { .split = split };
	__u32 zero = 0;
	int err;

	if (bpf_map_update_elem(dp->fd[DP_MODE], &zero, &m, 0)) {
		err = -errno;
		pr_warn("dispatcher: cannot %s the split path: %s\n", split ? "enable" : "disable",
			strerror(-err));
		return err;
	}
	dp->split = split;
	return 0;
}

/*
 * Create a fresh one-entry config map holding CFG and swap it in whole. The
 * split word follows the update order: cleared before a configuration that
 * has nothing to split replaces one that had, set only after a configuration
 * with something to split is in. Packets read the word first, so none takes
 * the split path without a configuration made for it, and going idle never
 * waits for the swap.
 */
static int install_config(struct canary_dp *dp, const struct canary_config *cfg)
{
	struct canary_config c = *cfg;
	__u32 zero = 0, split;
	int fd, err, i;

	c.abi_version = CANARY_ABI_VERSION;
	c.flags &= ~CANARY_F_SPLIT;
	/* What the program was loaded as, whatever the caller passed. */
	c.flags = (c.flags & ~CANARY_F_FRAGS) | (dp->cfg.flags & CANARY_F_FRAGS);
	for (i = 1; i < CANARY_MAX_SLOTS; i++)
		if (c.range[i].lo < c.range[i].hi)
			c.flags |= CANARY_F_SPLIT;
	split = config_splits(&c) ? CANARY_MODE_SPLIT : 0;
	if (!split && dp->split) {
		err = write_split_word(dp, 0);
		if (err)
			return err;
	}
	c.generation = dp->cfg.generation + 1;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "canary_cfg_in", sizeof(__u32), sizeof(c), 1,
			    NULL);
	if (fd < 0) {
		err = -errno;
		pr_warn("dispatcher: cannot create config map: %s\n", strerror(-err));
		return err;
	}
	err = bpf_map_update_elem(fd, &zero, &c, 0);
	if (!err)
		err = bpf_map_update_elem(dp->fd[DP_CFG], &zero, &fd, 0);
	if (err) {
		err = -errno;
		pr_warn("dispatcher: cannot swap in config generation %llu: %s\n",
			(unsigned long long)c.generation, strerror(-err));
	} else {
		dp->cfg = c;
	}
	close(fd);	/* the outer map holds its own reference */
	if (!err && split && !dp->split)
		err = write_split_word(dp, split);
	return err;
}

struct canary_dp *canary_dp__open(void)
{
	return canary_dp__open_opts(NULL);
}

struct canary_dp *canary_dp__open_opts(const struct canary_dp_open_opts *opts)
{
	struct canary_config cfg = { .flags = CANARY_F_COST, .cost_mask = CANARY_COST_SAMPLE_DEFAULT - 1 };
	bool frags = opts && opts->sz >= offsetof(struct canary_dp_open_opts, frags) + sizeof(bool) &&
		     opts->frags;
	struct bpf_program *p;
	struct canary_dp *dp;
	int err, i;

	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		errno = ENOMEM;
		return NULL;
	}
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus ? dp->ncpus : -EINVAL;
		pr_warn("dispatcher: cannot count possible CPUs: %s\n", strerror(-err));
		goto err_free;
	}
	dp->skel = dispatcher__open();
	if (!dp->skel) {
		err = -errno;
		pr_warn("dispatcher: cannot open the dispatcher object: %s\n", strerror(-err));
		goto err_free;
	}
	if (frags)
		bpf_object__for_each_program(p, dp->skel->obj)
			bpf_program__set_flags(p, bpf_program__flags(p) | BPF_F_XDP_HAS_FRAGS);
	err = dispatcher__load(dp->skel);
	if (err) {
		pr_warn("dispatcher: cannot load the %sdispatcher program: %s "
			"(run as root with bpffs and BTF available%s; -v shows the verifier log)\n",
			frags ? "multi-buffer (frags) " : "", strerror(-err),
			frags ? ", kernel 5.18 or later for multi-buffer XDP" : "");
		goto err_destroy;
	}
	if (frags)
		dp->cfg.flags |= CANARY_F_FRAGS;	/* install_config keeps it from here */
	dp->fd[DP_PROG] = bpf_program__fd(dp->skel->progs.canary_dispatch);
	dp->fd[DP_PROGS] = bpf_map__fd(dp->skel->maps.canary_progs);
	dp->fd[DP_COUNTERS] = bpf_map__fd(dp->skel->maps.canary_counters);
	dp->fd[DP_CFG] = bpf_map__fd(dp->skel->maps.canary_cfg);
	dp->fd[DP_BREAKER] = bpf_map__fd(dp->skel->maps.canary_breaker);
	dp->fd[DP_PIN4] = bpf_map__fd(dp->skel->maps.canary_pin4);
	dp->fd[DP_PIN6] = bpf_map__fd(dp->skel->maps.canary_pin6);
	dp->fd[DP_STRATA] = bpf_map__fd(dp->skel->maps.canary_strata);
	dp->fd[DP_MODE] = bpf_map__fd(dp->skel->maps.bss);
	dp->fd[DP_SAMPLES] = bpf_map__fd(dp->skel->maps.canary_samples);
	dp->fd[DP_SAMPLE_STATE] = bpf_map__fd(dp->skel->maps.canary_sample_state);
	dp->fd[DP_RULESETS] = bpf_map__fd(dp->skel->maps.canary_rulesets);
	if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
		cfg.seed = (__u32)getpid();
	for (i = 0; i < CANARY_MAX_SLOTS; i++)
		cfg.breaker_budget[i] = CANARY_BUDGET_OFF;
	err = install_config(dp, &cfg);
	if (err)
		goto err_destroy;
	return dp;

err_destroy:
	dispatcher__destroy(dp->skel);
err_free:
	free(dp);
	errno = -err;
	return NULL;
}

void canary_dp__close(struct canary_dp *dp)
{
	if (!dp)
		return;
	if (dp->xdp)
		xdp_program__close(dp->xdp);
	if (dp->skel) {
		dispatcher__destroy(dp->skel);
	} else {
		for (int i = 0; i < DP_NR_FDS; i++)
			if (dp->fd[i] >= 0)
				close(dp->fd[i]);
	}
	free(dp);
}

int canary_dp__pin(struct canary_dp *dp, const char *dir)
{
	char path[PATH_MAX];
	int i, err;

	if (dp->pin_dir[0])
		return -EBUSY;
	if (strlen(dir) >= sizeof(dp->pin_dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("pin dir %s: cannot create: %s (is bpffs mounted? "
			"mount -t bpf bpf /sys/fs/bpf)\n", dir, strerror(-err));
		return err;
	}
	for (i = 0; i < DP_NR_FDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		if (bpf_obj_pin(dp->fd[i], path)) {
			err = -errno;
			pr_warn("pin dir %s: cannot pin %s: %s\n", dir, pin_names[i],
				strerror(-err));
			goto err_unpin;
		}
	}
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", dir);
	return 0;

err_unpin:
	while (i-- > 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		unlink(path);
	}
	return err;
}

int canary_dp__unpin(struct canary_dp *dp)
{
	char path[PATH_MAX];
	int i;

	if (!dp->pin_dir[0])
		return 0;
	for (i = 0; i < DP_NR_FDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, pin_names[i]);
		if (unlink(path) && errno != ENOENT)
			pr_warn("pin dir %s: cannot unpin %s: %s\n", dp->pin_dir, pin_names[i],
				strerror(errno));
	}
	rmdir(dp->pin_dir);
	dp->pin_dir[0] = '\0';
	return 0;
}

/* The config in force: the inner map the outer array-of-maps points at now. */
static int read_installed_config(int cfg_outer_fd, struct canary_config *cfg)
{
	__u32 zero = 0, id;
	int fd, err = 0;

	if (bpf_map_lookup_elem(cfg_outer_fd, &zero, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, cfg))
		err = -errno;
	close(fd);
	return err;
}

/* A failure's one line: into OPTS' buffer when the caller shows it, else the log. */
static void __attribute__((format(printf, 2, 3)))
dp_msg(const struct canary_dp_opts *opts, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	if (opts && opts->sz >= offsetof(struct canary_dp_opts, msg_size) + sizeof(size_t) &&
	    opts->msg && opts->msg_size) {
		vsnprintf(opts->msg, opts->msg_size, fmt, ap);
	} else {
		vsnprintf(line, sizeof(line), fmt, ap);
		pr_warn("%s\n", line);
	}
	va_end(ap);
}

static int open_pinned(struct canary_dp *dp, const char *dir, int i,
		       const struct canary_dp_opts *opts)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
	dp->fd[i] = bpf_obj_get(path);
	if (dp->fd[i] >= 0)
		return 0;
	err = -errno;
	if (err != -ENOENT || i != DP_PROG)
		dp_msg(opts, "pin dir %s: cannot open %s: %s", dir, pin_names[i], strerror(-err));
	return err;
}

struct canary_dp *canary_dp__adopt(const char *dir, const struct canary_dp_opts *opts)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	struct canary_mode mode;
	struct canary_dp *dp;
	int i, err;

	if (strlen(dir) >= sizeof(dp->pin_dir)) {
		dp_msg(opts, "pin dir %s: path too long", dir);
		errno = ENAMETOOLONG;
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < DP_NR_FDS; i++)
		dp->fd[i] = -1;
	dp->ncpus = libbpf_num_possible_cpus();
	/*
	 * The program, then the config and its ABI version, then the rest: a
	 * dispatcher of another version may lack maps this one has, and that
	 * must read as "other ABI", not as a missing pin.
	 */
	err = open_pinned(dp, dir, DP_PROG, opts);
	if (!err)
		err = open_pinned(dp, dir, DP_CFG, opts);
	if (err)
		goto err_close;
	err = read_installed_config(dp->fd[DP_CFG], &dp->cfg);
	if (err) {
		dp_msg(opts, "pin dir %s: cannot read the dispatcher's config: %s", dir,
		       strerror(-err));
		goto err_close;
	}
	if (dp->cfg.abi_version != CANARY_ABI_VERSION) {
		dp_msg(opts, "pin dir %s: dispatcher has ABI version %u, this canaryd speaks %u; "
		       "detach it from its interface (xdp-loader unload IFACE --all) and remove "
		       "%s, then start canaryd again", dir, dp->cfg.abi_version,
		       CANARY_ABI_VERSION, dir);
		err = -EPROTO;
		goto err_close;
	}
	for (i = 0; i < DP_NR_FDS; i++) {
		if (dp->fd[i] >= 0)
			continue;
		err = open_pinned(dp, dir, i, opts);
		if (err)
			goto err_close;
	}
	if (bpf_obj_get_info_by_fd(dp->fd[DP_MODE], &info, &len) ||
	    info.value_size != sizeof(mode) || bpf_map_lookup_elem(dp->fd[DP_MODE], &zero, &mode)) {
		dp_msg(opts, "pin dir %s: %s is not the dispatcher's split word; remove %s", dir,
		       CANARY_MAP_MODE, dir);
		err = -EPROTO;
		goto err_close;
	}
	/*
	 * A daemon that died between a config swap and the word write left
	 * them out of step: bring the word in line with the config in force
	 * (either way every packet still sees one whole configuration).
	 */
	dp->split = mode.split;
	if (!!dp->split != config_splits(&dp->cfg)) {
		err = write_split_word(dp, config_splits(&dp->cfg) ? CANARY_MODE_SPLIT : 0);
		if (err) {
			dp_msg(opts, "pin dir %s: cannot bring the split word in line with the "
			       "config: %s", dir, strerror(-err));
			goto err_close;
		}
	}
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", dir);
	return dp;

err_close:
	canary_dp__close(dp);
	errno = -err;
	return NULL;
}

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

bool canary_dp__attached(const struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), id = 0;
	int flags = mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;

	if (bpf_obj_get_info_by_fd(canary_dp__prog_fd(dp), &info, &len))
		return false;
	if (bpf_xdp_query_id(ifindex, flags, &id))
		return false;
	return id == info.id;
}

int canary_dp__attach(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode,
		      const struct canary_dp_opts *opts)
{
	char name[IF_NAMESIZE];
	struct xdp_program *xp;
	int err;

	if (dp->xdp) {
		dp_msg(opts, "iface %s: the dispatcher is attached already", ifname(ifindex, name));
		return -EBUSY;
	}
	xp = xdp_program__from_fd(canary_dp__prog_fd(dp));
	err = libxdp_get_error(xp);
	if (err) {
		dp_msg(opts, "iface %s: cannot wrap dispatcher for libxdp: %s",
		       ifname(ifindex, name), strerror(-err));
		return err;
	}
	/* Adopted: already in place; keep a handle for a later detach. */
	if (canary_dp__attached(dp, ifindex, mode))
		goto done;
	err = xdp_program__attach(xp, ifindex, mode, 0);
	if (err) {
		dp_msg(opts, "iface %s: cannot attach dispatcher in %s mode: %s "
		       "(another XDP program attached? driver without native XDP? try skb mode)",
		       ifname(ifindex, name), mode == XDP_MODE_SKB ? "skb" : "native",
		       strerror(-err));
		xdp_program__close(xp);
		return err;
	}
done:
	dp->xdp = xp;
	dp->ifindex = ifindex;
	dp->mode = mode;
	return 0;
}

int canary_dp__reattach(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode,
			const struct canary_dp_opts *opts)
{
	if (dp->xdp) {
		xdp_program__close(dp->xdp);
		dp->xdp = NULL;
	}
	return canary_dp__attach(dp, ifindex, mode, opts);
}

int canary_dp__release(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode, int prog_fd,
		       const struct canary_dp_opts *opts)
{
	int flags = mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, old, err;
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
	char name[IF_NAMESIZE];
	__u32 id = 0;

	if (bpf_xdp_query_id(ifindex, flags, &id) || !id) {
		dp_msg(opts, "iface %s: no XDP program attached in %s mode; nothing to release",
		       ifname(ifindex, name), mode == XDP_MODE_SKB ? "skb" : "native");
		return -ENOENT;
	}
	if (canary_dp__xdp_id(dp, ifindex, mode) != canary_dp__prog_id(dp)) {
		dp_msg(opts, "iface %s: the XDP program attached (id %u) is not this dispatcher; "
		       "left as it is", ifname(ifindex, name), id);
		return -EBUSY;
	}
	old = bpf_prog_get_fd_by_id(id);
	if (old < 0) {
		err = -errno;
		dp_msg(opts, "iface %s: cannot open the attached XDP program %u: %s",
		       ifname(ifindex, name), id, strerror(-err));
		return err;
	}
	/* The kernel swaps only if OLD is still the one attached: one pointer write. */
	xo.old_prog_fd = old;
	err = bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_REPLACE, &xo);
	close(old);
	if (err) {
		dp_msg(opts, "iface %s: cannot replace the dispatcher with the stable program "
		       "atomically: %s; the dispatcher stays attached", ifname(ifindex, name),
		       strerror(-err));
		return err;
	}
	if (dp->xdp) {
		xdp_program__close(dp->xdp);	/* a handle only: nothing detached */
		dp->xdp = NULL;
	}
	return 0;
}

__u32 canary_dp__prog_id(const struct canary_dp *dp)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(canary_dp__prog_fd(dp), &info, &len))
		return 0;
	return info.id;
}

__u32 canary_dp__xdp_id(const struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), id = 0;
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;

	if (bpf_xdp_query_id(ifindex, mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
			     &id) || !id)
		return 0;
	if (bpf_obj_get_info_by_fd(canary_dp__prog_fd(dp), &info, &len) || id == info.id)
		return id;
	/* libxdp's multiprog dispatcher: is ours one of its programs? */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return id;
	if (!xdp_multiprog__is_legacy(mp) && xdp_multiprog__attach_mode(mp) == mode)
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (!memcmp(xdp_program__tag(p), info.tag, sizeof(info.tag))) {
				id = info.id;
				break;
			}
	xdp_multiprog__close(mp);
	return id;
}

int canary_dp__detach(struct canary_dp *dp)
{
	char name[IF_NAMESIZE];
	int err;

	if (!dp->xdp)
		return 0;
	err = xdp_program__detach(dp->xdp, dp->ifindex, dp->mode, 0);
	if (err)
		pr_warn("iface %s: cannot detach dispatcher: %s\n", ifname(dp->ifindex, name),
			strerror(-err));
	xdp_program__close(dp->xdp);
	dp->xdp = NULL;
	return err;
}

int canary_dp__set_slot(struct canary_dp *dp, __u32 slot, int prog_fd)
{
	int err;

	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	err = bpf_map_update_elem(dp->fd[DP_PROGS], &slot, &prog_fd, 0);
	if (err) {
		err = -errno;
		pr_warn("dispatcher slot %u: kernel refused the program: %s "
			"(it must be XDP with the dispatcher's attach type, JIT state and frags flag; "
			"this dispatcher is %s)\n", slot, strerror(-err),
			canary_dp__frags(dp) ? "multi-buffer: SEC(\"xdp.frags\") versions only" :
			"single-buffer: SEC(\"xdp\") versions only");
	}
	return err;
}

int canary_dp__clear_slot(struct canary_dp *dp, __u32 slot)
{
	int err;

	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	err = bpf_map_delete_elem(dp->fd[DP_PROGS], &slot);
	if (err && errno != ENOENT) {
		err = -errno;
		pr_warn("dispatcher slot %u: cannot clear: %s\n", slot, strerror(-err));
		return err;
	}
	return 0;
}

int canary_dp__slot_prog_id(const struct canary_dp *dp, __u32 slot, __u32 *id)
{
	*id = 0;
	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	/* A ProgMap lookup from user space gives the program's id. */
	if (bpf_map_lookup_elem(dp->fd[DP_PROGS], &slot, id)) {
		*id = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	return 0;
}

bool canary_dp__frags(const struct canary_dp *dp)
{
	return dp->cfg.flags & CANARY_F_FRAGS;
}

int canary_dp__get_config(const struct canary_dp *dp, struct canary_config *cfg)
{
	*cfg = dp->cfg;
	return 0;
}

static bool ranges_overlap(const struct canary_range *a, const struct canary_range *b)
{
	return a->lo < a->hi && b->lo < b->hi && a->lo < b->hi && b->lo < a->hi;
}

int canary_dp__set_config(struct canary_dp *dp, const struct canary_config *cfg)
{
	int i, j;

	if (cfg->flags & ~CANARY_F_ALL) {
		pr_warn("dispatcher config: unknown flags 0x%x\n", cfg->flags & ~CANARY_F_ALL);
		return -EINVAL;
	}
	for (i = 1; i < CANARY_MAX_SLOTS; i++) {
		const struct canary_range *r = &cfg->range[i];

		if (r->lo > r->hi || r->hi > CANARY_BP_MAX) {
			pr_warn("dispatcher config: slot %d range [%u,%u) outside [0,%u)\n", i,
				r->lo, r->hi, CANARY_BP_MAX);
			return -EINVAL;
		}
		/* A stratum is served by one version at a time: whole strata only. */
		if (r->lo < r->hi && (r->lo % CANARY_STRATUM_BP || r->hi % CANARY_STRATUM_BP)) {
			pr_warn("dispatcher config: slot %d range [%u,%u) does not start and end on "
				"a stratum boundary (a multiple of %u bp)\n", i, r->lo, r->hi,
				CANARY_STRATUM_BP);
			return -EINVAL;
		}
		for (j = 1; j < i; j++)
			if (ranges_overlap(r, &cfg->range[j])) {
				pr_warn("dispatcher config: slot %d and slot %d shares overlap\n", j,
					i);
				return -EINVAL;
			}
	}
	if ((cfg->flags & CANARY_F_SAMPLE) &&
	    (!cfg->sample_every || !cfg->sample_rate || cfg->sample_rate > CANARY_SAMPLE_RATE_MAX ||
	     !cfg->sample_burst || cfg->sample_burst > CANARY_SAMPLE_RATE_MAX ||
	     !cfg->sample_snap || cfg->sample_snap > CANARY_SNAP_MAX)) {
		pr_warn("dispatcher config: sampling 1 in %u, %u/s, burst %u, snap %u outside "
			"1 in >= 1, 1..%u/s, burst 1..%u, snap 1..%u\n", cfg->sample_every,
			cfg->sample_rate, cfg->sample_burst, cfg->sample_snap,
			CANARY_SAMPLE_RATE_MAX, CANARY_SAMPLE_RATE_MAX, CANARY_SNAP_MAX);
		return -EINVAL;
	}
	return install_config(dp, cfg);
}

int canary_dp__set_sampling(struct canary_dp *dp, __u32 every, __u32 rate, __u32 snap)
{
	struct canary_config cfg = dp->cfg;

	if (!every) {
		cfg.flags &= ~CANARY_F_SAMPLE;
		return canary_dp__set_config(dp, &cfg);
	}
	cfg.flags |= CANARY_F_SAMPLE;
	cfg.sample_every = every;
	cfg.sample_rate = rate;
	/* Bucket depth: a tenth of a second's samples, at least one. */
	cfg.sample_burst = rate / 10 ? rate / 10 : 1;
	cfg.sample_snap = snap ? snap : CANARY_SNAP_MAX;
	return canary_dp__set_config(dp, &cfg);
}

int canary_dp__read_sample_state(const struct canary_dp *dp, struct canary_sample_state *out)
{
	struct canary_sample_state *percpu;
	__u32 zero = 0;
	int cpu, err = 0;

	memset(out, 0, sizeof(*out));
	percpu = calloc(dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->fd[DP_SAMPLE_STATE], &zero, percpu)) {
		err = -errno;
		pr_warn("dispatcher: cannot read the sampler's counters: %s\n", strerror(-err));
	} else {
		for (cpu = 0; cpu < dp->ncpus; cpu++) {
			out->picked += percpu[cpu].picked;
			out->limited += percpu[cpu].limited;
			out->lost += percpu[cpu].lost;
			out->sent += percpu[cpu].sent;
		}
	}
	free(percpu);
	return err;
}

struct canary_sample_reader {
	struct ring_buffer *rb;
	canary_sample_fn fn;
	void *ctx;
};

static int sample_cb(void *ctx, void *data, size_t size)
{
	struct canary_sample_reader *r = ctx;
	const struct canary_sample *smp = data;

	/* The dispatcher writes the header and cap_len bytes: anything else is not ours. */
	if (size < CANARY_SAMPLE_HDR_LEN || smp->cap_len > CANARY_SNAP_MAX ||
	    size < CANARY_SAMPLE_HDR_LEN + smp->cap_len)
		return 0;
	return r->fn(r->ctx, smp);
}

struct canary_sample_reader *canary_dp__sample_reader(const struct canary_dp *dp,
						      canary_sample_fn fn, void *ctx)
{
	struct canary_sample_reader *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->fn = fn;
	r->ctx = ctx;
	r->rb = ring_buffer__new(dp->fd[DP_SAMPLES], sample_cb, r, NULL);
	if (!r->rb) {
		err = -errno;
		pr_warn("dispatcher: cannot map the sample ring buffer %s: %s\n",
			CANARY_MAP_SAMPLES, strerror(-err));
		free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

int canary_sample_reader__poll(struct canary_sample_reader *r, int timeout_ms)
{
	return ring_buffer__poll(r->rb, timeout_ms);
}

int canary_sample_reader__consume(struct canary_sample_reader *r)
{
	return ring_buffer__consume(r->rb);
}

int canary_sample_reader__fd(const struct canary_sample_reader *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

void canary_sample_reader__free(struct canary_sample_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

int canary_dp__set_share(struct canary_dp *dp, __u32 slot, __u32 bp)
{
	struct canary_config cfg = dp->cfg;
	struct canary_range *r;

	if (slot == CANARY_SLOT_STABLE || slot >= CANARY_MAX_SLOTS || bp > CANARY_BP_MAX) {
		pr_warn("dispatcher: share %u bp for slot %u is out of range\n", bp, slot);
		return -EINVAL;
	}
	/*
	 * Refused, not rounded: the rollout's idea of the share must be the
	 * datapath's, or the judge would weigh exposure that is not there.
	 */
	if (bp % CANARY_STRATUM_BP) {
		pr_warn("dispatcher: share %u bp (%.2f %%) for slot %u is not a multiple of %u bp "
			"(%.1f %%), the width of a stratum of the hash space; use a step such as "
			"%.1f %%\n", bp, bp / 100.0, slot, CANARY_STRATUM_BP,
			CANARY_STRATUM_BP / 100.0,
			(bp / CANARY_STRATUM_BP ? bp / CANARY_STRATUM_BP : 1) * CANARY_STRATUM_BP / 100.0);
		return -EINVAL;
	}
	r = &cfg.range[slot];
	switch (slot) {
	case 1:
		*r = (struct canary_range){ 0, bp };
		break;
	case 2:
		*r = (struct canary_range){ CANARY_BP_MAX - bp, CANARY_BP_MAX };
		break;
	default:
		if (bp > CANARY_BP_MAX / 2) {
			pr_warn("dispatcher: slot %u share is limited to %u bp\n", slot,
				CANARY_BP_MAX / 2);
			return -EINVAL;
		}
		*r = (struct canary_range){ CANARY_BP_MAX / 2, CANARY_BP_MAX / 2 + bp };
		break;
	}
	return canary_dp__set_config(dp, &cfg);
}

int canary_dp__set_rollout(struct canary_dp *dp, bool on, __u32 seed)
{
	struct canary_config cfg = dp->cfg;
	__u32 i;

	if (on) {
		/* A new draw of flows only while none is on a candidate. */
		for (i = 1; i < CANARY_MAX_SLOTS; i++)
			if (cfg.range[i].lo < cfg.range[i].hi && cfg.seed != seed) {
				pr_warn("dispatcher: the flow-hash seed can change only while no "
					"candidate has a share (slot %u has %u bp)\n", i,
					cfg.range[i].hi - cfg.range[i].lo);
				return -EBUSY;
			}
		cfg.flags |= CANARY_F_STRATA;
		cfg.seed = seed;
	} else {
		cfg.flags &= ~CANARY_F_STRATA;
	}
	return canary_dp__set_config(dp, &cfg);
}

int canary_dp__set_capture(struct canary_dp *dp, bool on)
{
	struct canary_config cfg = dp->cfg;

	if (on)
		cfg.flags |= CANARY_F_CAPTURE;
	else
		cfg.flags &= ~CANARY_F_CAPTURE;
	return canary_dp__set_config(dp, &cfg);
}

int canary_dp__set_cost_sampling(struct canary_dp *dp, __u32 n)
{
	struct canary_config cfg = dp->cfg;
	__u32 m = 1;

	if (!n) {
		cfg.flags &= ~CANARY_F_COST;
	} else {
		if (n > (1U << 31))
			return -EINVAL;
		while (m < n)
			m <<= 1;
		cfg.flags |= CANARY_F_COST;
		cfg.cost_mask = m - 1;
	}
	return canary_dp__set_config(dp, &cfg);
}

static int new_trie(int family)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	size_t ksz = family == AF_INET ? sizeof(struct canary_pin_key_v4)
				       : sizeof(struct canary_pin_key_v6);
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, family == AF_INET ? "canary_pin4_in" :
			    "canary_pin6_in", ksz, sizeof(struct canary_pin_value),
			    CANARY_PIN_MAX, &opts);
	return fd < 0 ? -errno : fd;
}

/* The config flag that enables the lookup in trie [family][dir]. */
static __u32 pin_flag(int v6, __u32 dir)
{
	static const __u32 flags[2][CANARY_PIN_DIRS] = {
		{ CANARY_F_PIN_V4, CANARY_F_PIN_V4_DST },
		{ CANARY_F_PIN_V6, CANARY_F_PIN_V6_DST },
	};

	return flags[v6][dir];
}

int canary_dp__set_pins(struct canary_dp *dp, const struct canary_pin_rule *rules, size_t n)
{
	size_t cnt[2][CANARY_PIN_DIRS] = {}, i;
	int fd[2][CANARY_PIN_DIRS] = { { -1, -1 }, { -1, -1 } }, err = 0, v6;
	struct canary_config cfg = dp->cfg;
	__u32 want = 0, dir;

	for (i = 0; i < n; i++) {
		if (rules[i].slot >= CANARY_MAX_SLOTS || rules[i].dir >= CANARY_PIN_DIRS ||
		    rules[i].set >= CANARY_MAX_RULESETS ||
		    (rules[i].family != AF_INET && rules[i].family != AF_INET6))
			return -EINVAL;
		cnt[rules[i].family == AF_INET6][rules[i].dir]++;
	}
	for (v6 = 0; v6 < 2; v6++)
		for (dir = 0; dir < CANARY_PIN_DIRS; dir++) {
			if (cnt[v6][dir] > CANARY_PIN_MAX) {
				pr_warn("dispatcher: pin rule set too large (%zu IPv%d %s rules; max %u)\n",
					cnt[v6][dir], v6 ? 6 : 4, dir ? "destination" : "source",
					CANARY_PIN_MAX);
				return -E2BIG;
			}
			if (cnt[v6][dir])
				want |= pin_flag(v6, dir);
		}

	/* Removal (or shrink to fewer tries): stop the lookups before the tries go. */
	cfg.flags &= ~(CANARY_F_PINS & ~want);
	if (cfg.flags != dp->cfg.flags) {
		err = install_config(dp, &cfg);
		if (err)
			return err;
	}

	for (v6 = 0; v6 < 2; v6++)
		for (dir = 0; dir < CANARY_PIN_DIRS; dir++)
			if (cnt[v6][dir] && (fd[v6][dir] = new_trie(v6 ? AF_INET6 : AF_INET)) < 0) {
				err = fd[v6][dir];
				goto out;
			}
	for (i = 0; i < n; i++) {
		struct canary_pin_value v = { .slot = rules[i].slot, .set = rules[i].set };
		int t = fd[rules[i].family == AF_INET6][rules[i].dir];

		if (rules[i].family == AF_INET) {
			struct canary_pin_key_v4 k = { .prefixlen = rules[i].prefixlen };

			memcpy(&k.addr, rules[i].addr, 4);
			err = bpf_map_update_elem(t, &k, &v, 0);
		} else {
			struct canary_pin_key_v6 k = { .prefixlen = rules[i].prefixlen };

			memcpy(k.addr, rules[i].addr, 16);
			err = bpf_map_update_elem(t, &k, &v, 0);
		}
		if (err) {
			err = -errno;
			goto out;
		}
	}
	/* Fill off-line, swap each trie in whole, then enable the lookups. */
	for (v6 = 0; v6 < 2; v6++)
		for (dir = 0; dir < CANARY_PIN_DIRS; dir++)
			if (cnt[v6][dir] &&
			    bpf_map_update_elem(dp->fd[v6 ? DP_PIN6 : DP_PIN4], &dir, &fd[v6][dir], 0)) {
				err = -errno;
				goto out;
			}
	cfg = dp->cfg;
	cfg.flags |= want;
	if (cfg.flags != dp->cfg.flags)
		err = install_config(dp, &cfg);
	if (!err)
		for (v6 = 0; v6 < 2; v6++)
			for (dir = 0; dir < CANARY_PIN_DIRS; dir++)
				if (!cnt[v6][dir])
					bpf_map_delete_elem(dp->fd[v6 ? DP_PIN6 : DP_PIN4], &dir);
out:
	if (err)
		pr_warn("dispatcher: cannot install pin rule set (%zu rules): %s\n", n,
			strerror(-err));
	for (v6 = 0; v6 < 2; v6++)
		for (dir = 0; dir < CANARY_PIN_DIRS; dir++)
			if (fd[v6][dir] >= 0)
				close(fd[v6][dir]);
	return err;
}

/*
 * A per-CPU array of N records of REC bytes, each only __u64 counters,
 * summed over the CPUs into OUT: one system call where the kernel has batch
 * lookups, else one per key (WHAT names the map in the warning).
 */
static int read_percpu_sums(const struct canary_dp *dp, int fd, __u32 n, size_t rec, void *out,
			    const char *what)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t words = rec / sizeof(__u64), w;
	__u32 *keys, count = n, next, key, i;
	__u64 *percpu, *sum = out;
	int cpu, err = 0;

	memset(out, 0, (size_t)n * rec);
	percpu = calloc((size_t)dp->ncpus * n, rec);
	keys = calloc(n, sizeof(*keys));
	if (!percpu || !keys) {
		err = -ENOMEM;
		goto out;
	}
	if ((!bpf_map_lookup_batch(fd, NULL, &next, keys, percpu, &count, &opts) ||
	     errno == ENOENT) && count == n) {
		for (i = 0; i < count; i++) {
			if (keys[i] >= n) {
				err = -EIO;
				goto out;
			}
			for (cpu = 0; cpu < dp->ncpus; cpu++)
				for (w = 0; w < words; w++)
					sum[(size_t)keys[i] * words + w] +=
						percpu[((size_t)i * dp->ncpus + cpu) * words + w];
		}
		goto out;
	}
	for (key = 0; key < n; key++) {
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			pr_warn("dispatcher: cannot read %s: %s\n", what, strerror(-err));
			break;
		}
		for (cpu = 0; cpu < dp->ncpus; cpu++)
			for (w = 0; w < words; w++)
				sum[(size_t)key * words + w] += percpu[(size_t)cpu * words + w];
	}
out:
	free(keys);
	free(percpu);
	return err;
}

/* Per-CPU values are packed only for records whose size is a multiple of 8. */
_Static_assert(sizeof(struct canary_counters) % 8 == 0, "per-CPU value layout");
_Static_assert(sizeof(struct canary_ruleset) % 8 == 0, "per-CPU value layout");
_Static_assert(sizeof(struct canary_stratum) % 8 == 0, "per-CPU value layout");

int canary_dp__read_counters(const struct canary_dp *dp, struct canary_counters *out)
{
	return read_percpu_sums(dp, dp->fd[DP_COUNTERS], CANARY_COUNTERS_ENTRIES, sizeof(*out), out,
				"counters");
}

int canary_dp__read_rulesets(const struct canary_dp *dp, struct canary_ruleset *out)
{
	return read_percpu_sums(dp, dp->fd[DP_RULESETS], CANARY_RULESET_ENTRIES, sizeof(*out), out,
				"the rule-set counters (" CANARY_MAP_RULESETS ")");
}

int canary_dp__read_strata(const struct canary_dp *dp, struct canary_stratum *out)
{
	return read_percpu_sums(dp, dp->fd[DP_STRATA], CANARY_STRATA, sizeof(*out), out, "strata");
}

int canary_dp__read_mode(const struct canary_dp *dp, struct canary_mode *out)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->fd[DP_MODE], &zero, out))
		return -errno;
	return 0;
}

int canary_dp__read_breaker(const struct canary_dp *dp, __u32 slot, struct canary_breaker *out)
{
	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	if (bpf_map_lookup_elem(dp->fd[DP_BREAKER], &slot, out))
		return -errno;
	return 0;
}

int canary_dp__reset_breaker(struct canary_dp *dp, __u32 slot)
{
	struct canary_breaker b;
	int fd = dp->fd[DP_BREAKER];

	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &slot, &b))
		return -errno;
	/* Keep the trip count as history; clear the rest. */
	b.bad = 0;
	b.tripped = 0;
	b.tripped_ns = 0;
	if (bpf_map_update_elem(fd, &slot, &b, 0))
		return -errno;
	return 0;
}

int canary_dp__set_breaker_budget(struct canary_dp *dp, __u32 slot, __u64 budget)
{
	struct canary_config cfg = dp->cfg;

	if (slot >= CANARY_MAX_SLOTS)
		return -EINVAL;
	cfg.breaker_budget[slot] = budget;
	return canary_dp__set_config(dp, &cfg);
}

const char *canary_row_name(__u32 row)
{
	static const char *const names[CANARY_ROWS] = {
		"stable", "candidate1", "candidate2", "candidate3", "none",
	};

	return row < CANARY_ROWS ? names[row] : "?";
}

