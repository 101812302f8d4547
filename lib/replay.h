/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shadow instances for replay (issue 15): a version loaded again, apart
 * from the live one, with private copies of its maps, never the live maps,
 * so replaying samples through it cannot touch live state. The evidence
 * itself is rollout/shadow.h's; this is the datapath side.
 */
#ifndef CANARY_REPLAY_H
#define CANARY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "canary_abi.h"

struct bpf_object;

/*
 * Load PATH (program PROG, NULL for the object's one XDP program; globals
 * SET as for the live load, may be NULL) as a shadow instance: every map is
 * the instance's own (nothing shared or pinned). With LIVE_MAPS_DIR (a
 * version's map dir, canaryd's versions/ID/maps), each of its maps whose
 * name is pinned there is filled with the live map's contents
 * (canary_map__copy: same type, key, value and size only). Returns the
 * program fd (owned by *obj, closed with bpf_object__close()) or a negative
 * errno with one line in MSG. *copied gets the number of maps copied.
 */
int canary_shadow__load(const char *path, const char *prog, const char *set,
			const char *live_maps_dir, struct bpf_object **obj, int *copied, char *msg,
			size_t msg_len);

/* One sample replayed through two shadow instances. */
struct canary_shadow_pair {
	__u32 live;		/* the live verdict recorded with the sample (enum canary_verdict) */
	__u32 stable;		/* stable's shadow verdict */
	__u32 candidate;	/* the candidate's shadow verdict */
	bool rewritten;		/* same verdict, sent on with other bytes */
	char summary[160];	/* canary_pkt__summary() of the frame */
};

/*
 * Replay SMP through the shadow instances SFD and CFD with
 * BPF_PROG_TEST_RUN. 0, -EINVAL for a frame shorter than an Ethernet
 * header (the kernel refuses it), or the test run's -errno.
 */
int canary_shadow__replay(int sfd, int cfd, const struct canary_sample *smp,
			  struct canary_shadow_pair *out);

#endif
