/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * canaryd configuration: an INI file read with inih.
 *
 *   [daemon]              socket, pin_root, state_dir, interval, metrics, log_level
 *   [rollout]             defaults for every interface's rollouts
 *   [judge]               defaults for every interface's judge
 *   [interface NAME]      one per managed interface; may repeat any [rollout]
 *                         or [judge] key to override it for that interface;
 *                         webhook = NAME[,NAME...] sends it to [webhook NAME]s
 *   [webhook NAME]        an HTTP endpoint for notifications and approval gates
 *   [entity NAME]         a named rule set (rules = src|dst PREFIX, ...) that a
 *                         plan steps to the candidate alone: steps = pin:NAME,...
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
#include "dp.h"
#include "parse.h"

#define CANARY_MAX_IFACES 16
#define CANARY_OBJ_LEN 512
#define CANARY_PROG_LEN 64

/* How one interface's rollouts run; [rollout] keys. */
struct canary_rollout_cfg {
	char steps[128];		/* steps = 1,5,25,50,100 (percent; last must be 100) */
	__u64 step_time_ms;		/* step_time = 60s: minimum bake time per step */
	__u64 max_step_time_ms;		/* max_step_time = 1h: then on_timeout applies */
	/*
	 * warmup = 60s: share 0 before step 1 while the judge learns each
	 * stratum's baseline (docs/JUDGE.md).
	 */
	__u64 warmup_ms;
	/*
	 * shadow = 0: before the warm-up, this long at share 0 while sampled
	 * packets are replayed through shadow instances of stable and the
	 * candidate and judged by the paired test (rollout/shadow.h); 0: off.
	 */
	__u64 shadow_ms;
	/* shadow_rate = 20000: samples per second per CPU in the shadow phase. */
#define CANARYD_SHADOW_RATE 20000
	__u64 shadow_rate;
	/*
	 * shadow_live = no: paired evidence in the live steps too (warm-up
	 * included): 1 packet in shadow_live_every = 64 per CPU, at most
	 * shadow_live_rate = 2000 per second per CPU, replayed through the
	 * shadow instances (docs/JUDGE.md, "Paired evidence in live steps").
	 */
	bool shadow_live;
#define CANARYD_SHADOW_LIVE_EVERY 64
#define CANARYD_SHADOW_LIVE_RATE 2000
	__u64 shadow_live_every;
	__u64 shadow_live_rate;
	__u64 min_packets;		/* min_packets = 10000: candidate packets per step */
	enum rollout_on_timeout on_timeout;	/* on_timeout = pause|rollback */
	__u64 breaker_budget;		/* breaker_budget = 100 (aborted+invalid); off */
	bool symmetric;			/* symmetric = yes|no: both directions hash alike */
	__u32 cost_sample;		/* cost_sample = 128: 1 packet in N timed; 0 off */
	/*
	 * prepare = COMMAND: run (sh -c) after each version's load, before any
	 * traffic reaches it; non-zero refuses the version. Empty: none.
	 */
	char prepare[512];
	__u64 prepare_timeout_ms;	/* prepare_timeout = 30s (at most 60s): then it is killed */
	char copy_maps[256];		/* copy_maps = a,b: private, filled from stable's */
	char set[512];			/* set = NAME=VALUE,...: globals of every version */
	char pin[1024];			/* pin = src|dst PREFIX -> candidate|stable, ... */
};

#define CANARY_MAX_WEBHOOKS 8
#define CANARY_MAX_IFACE_HOOKS 4
#define CANARY_MAX_HOOK_META 16
#define CANARY_HOOK_NAME_LEN 32
#define CANARY_HOOK_SECRET_LEN 256

/* One [webhook NAME] section. */
struct canary_webhook_cfg {
	char name[CANARY_HOOK_NAME_LEN];
	char url[512];			/* url = http(s)://... (required) */
	__u32 events;			/* events = started,advanced,...: bits of enum rollout_notice */
	__u32 gates;			/* gates = start,step,promote: ROLLOUT_GATE_BIT()s */
	char secret[CANARY_HOOK_SECRET_LEN];	/* secret = or secret_file =; empty: unsigned */
	char secret_file[256];
	__u64 timeout_ms;		/* timeout = 2s: whole request, connect included */
	__u32 retries;			/* retries = 3: after 5xx, timeout or no connection */
	__u64 backoff_ms;		/* backoff = 1s: first retry delay, doubled each time */
	enum rollout_gate_policy on_failure;	/* on_failure = hold|rollback (gates) */
	__u32 nr_meta;			/* metadata.KEY = VALUE, sent in every body */
	struct {
		char key[32];
		char value[128];
	} meta[CANARY_MAX_HOOK_META];
};

#define CANARY_MAX_ENTITIES 16

/* One [entity NAME] section: rules without a slot (the plan's entity steps decide). */
struct canary_entity_cfg {
	char name[ROLLOUT_ENTITY_LEN];
	struct canary_pin_rule rule[CANARY_PIN_LIST_MAX];	/* rules = src|dst PREFIX, ... */
	__u32 nr_rules;
};

struct canary_iface_cfg {
	char name[IF_NAMESIZE];		/* from the section name */
	bool native;			/* mode = native|skb (default native) */
	char stable_obj[CANARY_OBJ_LEN];	/* stable = OBJECT[:PROGRAM] (required) */
	char stable_prog[CANARY_PROG_LEN];	/* empty: the object's one XDP program */
	bool fail_closed;		/* fail = open|closed (default open) */
	int frags;			/* frags = auto|yes|no (rollout/frags.h; default auto) */
	bool reattach;			/* reattach = yes|no: repair a detachment (default no) */
	char private_maps[256];		/* private_maps = a,b: state maps never shared */
	char webhooks[128];		/* webhook = a,b: names of [webhook] sections */
	int nr_hooks;			/* resolved: indices into canaryd_config.webhook */
	int hook[CANARY_MAX_IFACE_HOOKS];
	int gate_hook;			/* the one webhook with gates, or -1 */
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
	int nr_webhooks;
	struct canary_webhook_cfg webhook[CANARY_MAX_WEBHOOKS];
	int nr_entities;
	struct canary_entity_cfg entity[CANARY_MAX_ENTITIES];
};

/* The [entity NAME] section of NAME, or NULL. */
const struct canary_entity_cfg *canaryd_config__entity(const struct canaryd_config *cfg,
							const char *name);

/*
 * The first entity step of PLAN with no [entity] section in CFG: 0 when all
 * are known, else -ENOENT with MSG "no [entity NAME] section for step
 * pin:NAME (known: a, b)".
 */
int canaryd_config__check_entities(const struct canaryd_config *cfg,
				   const struct rollout_plan *plan, char *msg, size_t len);

/*
 * Load PATH into CFG (defaults first). 0, or a negative errno after one
 * "FILE:LINE: [SECTION] key 'K': what is wrong (allowed: ...)" line per error
 * written to ERR (ERRLEN bytes, cut if short; may be NULL): -EINVAL for any
 * mistake in the file (all of them reported), -ENOENT etc. when it can't be
 * opened. No [interface] section at all is valid. CFG is not to be used after
 * an error.
 */
int canaryd_config__load(struct canaryd_config *cfg, const char *path, char *err, size_t errlen);

#endif
