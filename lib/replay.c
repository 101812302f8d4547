// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Shadow instances and the replay of one sample through a pair (shadow.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkt.h"
#include "replay.h"
#include "version.h"

/* Output room: the largest sample plus what bpf_xdp_adjust_head/tail may add. */
#define SHADOW_OUT_CAP (CANARY_SNAP_MAX + 4096)

int canary_shadow__load(const char *path, const char *prog, const char *set,
			const char *live_maps_dir, struct bpf_object **obj, int *copied, char *msg,
			size_t msg_len)
{
	char why[256] = "", lmsg[256] = "", p[PATH_MAX];
	CANARY_VERSION_OPTS(opts, .prog = prog, .set = set, .msg = lmsg, .msg_len = sizeof(lmsg));
	struct bpf_map *m;
	int fd, live, err;

	*copied = 0;
	fd = canary_version__load(path, &opts, obj);
	if (fd < 0) {
		snprintf(msg, msg_len, "shadow of %s: cannot load: %s", path,
			 lmsg[0] ? lmsg : strerror(-fd));
		return fd;
	}
	if (!live_maps_dir)
		return fd;
	bpf_object__for_each_map(m, *obj) {
		if (bpf_map__is_internal(m))
			continue;	/* .data/.rodata/.bss: set by SET, as the live load */
		snprintf(p, sizeof(p), "%s/%s", live_maps_dir, bpf_map__name(m));
		live = bpf_obj_get(p);
		if (live < 0) {
			if (errno == ENOENT)
				continue;	/* a map the live version does not have pinned */
			err = -errno;
			snprintf(msg, msg_len, "shadow of %s: cannot open the live map %s: %s", path,
				 p, strerror(-err));
			goto err_close;
		}
		err = canary_map__copy(live, bpf_map__fd(m), why, sizeof(why));
		close(live);
		if (err) {
			snprintf(msg, msg_len, "shadow of %s: map %s: cannot copy the live contents: %s",
				 path, bpf_map__name(m), why[0] ? why : strerror(-err));
			goto err_close;
		}
		(*copied)++;
	}
	return fd;

err_close:
	bpf_object__close(*obj);
	*obj = NULL;
	return err;
}

int canary_shadow__replay(int sfd, int cfd, const struct canary_sample *smp,
			  struct canary_shadow_pair *out)
{
	static __thread __u8 out_s[SHADOW_OUT_CAP], out_c[SHADOW_OUT_CAP];
	__u32 ls, lc;
	int err;

	memset(out, 0, sizeof(*out));
	out->live = smp->verdict <= XDP_REDIRECT ? smp->verdict : CANARY_V_INVALID;
	canary_pkt__summary(smp->data, smp->cap_len, smp->frame_len, out->summary,
			    sizeof(out->summary));
	if (smp->cap_len < 14 || smp->cap_len > CANARY_SNAP_MAX)
		return -EINVAL;
	err = canary_pkt__replay(sfd, smp->data, smp->cap_len, out_s, sizeof(out_s), &out->stable,
				 &ls);
	if (!err)
		err = canary_pkt__replay(cfd, smp->data, smp->cap_len, out_c, sizeof(out_c),
					 &out->candidate, &lc);
	if (err)
		return err;
	out->rewritten = canary_pkt__rewritten(out->stable, out_s, ls, out->candidate, out_c, lc);
	return 0;
}
