/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * canaryd configuration: an INI file read with inih.
 *
 *   [daemon]              socket, pin_root, state_dir, interval, metrics, log_level
 *   [rollout]             defaults for every interface's rollouts
 *   [judge]               defaults for every interface's judge
 *   [interface NAME]      one per managed interface; may repeat any [rollout]
 *                         or [judge] key to override it for that interface
 *
 * Unknown sections and keys, bad values and missing required keys are errors
 * that name the file, the line and the key.
 */
#ifndef CANARYD_CONFIG_H
#define CANARYD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>
#include <net/if.h>

#include "engine.h"
#include "judge.h"

#define CANARY_MAX_IFACES 16
#define CANARY_OBJ_LEN 512
#define CANARY_PROG_LEN 64

/* How one interface's rollouts run; [rollout] keys. */
struct canary_rollout_cfg {
	char steps[128];		/* steps = 1,5,25,50,100 (percent; last must be 100) */
	__u64 step_time_ms;		/* step_time = 60s: minimum bake time per step */
	__u64 max_step_time_ms;		/* max_step_time = 1h: then on_timeout applies */
	__u64 min_packets;		/* min_packets = 10000: candidate packets per step */
	enum rollout_on_timeout on_timeout;	/* on_timeout = pause|rollback */
	__u64 breaker_budget;		/* breaker_budget = 100 (aborted+invalid); off */
	bool symmetric;			/* symmetric = yes|no: both directions hash alike */
	__u32 cost_sample;		/* cost_sample = 128: 1 packet in N timed; 0 off */
};

struct canary_iface_cfg {
	char name[IF_NAMESIZE];		/* from the section name */
	bool native;			/* mode = native|skb (default native) */
	char stable_obj[CANARY_OBJ_LEN];	/* stable = OBJECT[:PROGRAM] (required) */
	char stable_prog[CANARY_PROG_LEN];	/* empty: the object's one XDP program */
	bool fail_closed;		/* fail = open|closed (default open) */
	char private_maps[256];		/* private_maps = a,b: state maps never shared */
	struct canary_rollout_cfg rollout;
	struct judge_config judge;
};

struct canaryd_config {
	char socket[PATH_MAX];		/* default /run/canaryd.sock */
	char pin_root[PATH_MAX];	/* default /sys/fs/bpf/canaryd */
	char state_dir[PATH_MAX];	/* default /var/lib/canaryd */
	__u64 interval_ms;		/* interval = 1s; 100ms .. 60s */
	char metrics[64];		/* metrics = 127.0.0.1:9464; "off": no endpoint */
	int log_level;			/* log_level = warn|info|debug */
	int nr_ifaces;
	struct canary_iface_cfg iface[CANARY_MAX_IFACES];
};

/*
 * Load PATH into CFG (defaults first). 0, or a negative errno after one
 * "FILE:LINE: [SECTION] key 'K': what is wrong (allowed: ...)" line per error
 * written to ERR (ERRLEN bytes, cut if short; may be NULL): -EINVAL for any
 * mistake in the file (all of them reported), -ENOENT etc. when it can't be
 * opened. No [interface] section at all is valid. CFG is not to be used after
 * an error.
 */
int canaryd_config__load(struct canaryd_config *cfg, const char *path, char *err, size_t errlen);

/*
 * Parse a duration: "250ms", "1s", "5m", "1h", a bare number is seconds;
 * whole numbers only. 0, -EINVAL (empty, sign, space, fraction, unknown
 * unit) or -ERANGE (more milliseconds than a __u64 holds).
 */
int canary_parse_duration_ms(const char *s, __u64 *ms);

/*
 * Split "OBJECT[:PROGRAM]" into its parts; PROGRAM is a C identifier, so a
 * ':' followed by a '/' is part of the object's path. 0 or
 * -EINVAL/-ENAMETOOLONG.
 */
int canary_split_objprog(const char *spec, char *obj, size_t objlen, char *prog, size_t proglen);

#endif
