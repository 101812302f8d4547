/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Persisted rollout state of one interface: written atomically after every
 * transition (temp file, fsync, rename, fsync of the directory), checked on
 * load (magic, layout version, size, ABI version, CRC32) so a truncated or
 * corrupt file is refused with a clear error instead of being half-used.
 */
#ifndef CANARYD_STATE_H
#define CANARYD_STATE_H

#include <stddef.h>

#include "config.h"
#include "dp.h"
#include "engine.h"

#define CANARYD_STATE_MAGIC "CNRYSTAT"
/*
 * 2: approval gates in struct rollout; 3: version ids; 4: seed per rollout,
 * stratum judge; 5: the candidate's prepare command; 6: pin rules, and the
 * program ids of stable and previous; 7: the shadow phase (plan and state);
 * 8: paired evidence in the live steps (plan.shadow_live, the step's paired decision);
 * 9: the judge's baselines split by time-block snapshots, not odd intervals;
 *    the calibration (per-stratum expected events, the own-rate bit);
 * 10: entity steps (plan, state, the entity judges, and the entities' rules)
 * 11: the outlying strata left out per harm direction (judge_metric_state)
 */
#define CANARYD_STATE_LAYOUT 11

/* The file: this header, then struct canaryd_persist. */
struct canaryd_state_header {
	char magic[8];			/* CANARYD_STATE_MAGIC, no NUL */
	__u32 layout;			/* CANARYD_STATE_LAYOUT */
	__u32 abi;			/* CANARY_ABI_VERSION */
	__u64 size;			/* sizeof(struct canaryd_persist) */
	__u32 crc;			/* CRC32 of the payload */
	__u32 pad;
};

/* A version as operators name it: object file, program, SHA-256 of the file. */
struct canaryd_version_id {
	char obj[CANARY_OBJ_LEN];
	char prog[CANARY_PROG_LEN];
	char sha256[65];
};

struct canaryd_persist {
	struct canaryd_version_id stable;	/* in slot 0 now (promotions move it) */
	struct canaryd_version_id previous;	/* pinned as "previous", for a revert */
	char cand_obj[CANARY_OBJ_LEN];
	char cand_prog[CANARY_PROG_LEN];
	__u64 rollout_id;		/* wall-clock ms at start: names the rollout */
	char cand_sha256[65];		/* of the candidate's object file, at start */
	__u32 event_seq;		/* webhook events so far: event ids never repeat */
	/*
	 * The flow-hash seed of this rollout, drawn at its start and set while
	 * no flow is on the candidate: each rollout exposes another draw of
	 * flows (customers), not the same ones every time.
	 */
	__u32 seed;
	/* The candidate's prepare command (canaryctl prepare runs it again); "": none. */
	char cand_prepare[512];
	/* The rollout's pin rule set (config, start --pin, canaryctl pin): ro.nr_pins of them. */
	struct canary_pin_rule pins[CANARY_PIN_LIST_MAX];
	__u32 nr_pins;
	struct rollout ro;
	/*
	 * The program ids of stable (slot 0, pinned as "stable") and previous
	 * (pinned as "previous") when this was written, so a restart tells a
	 * revert ahead of this file from slot 0 to be put back (reconcile.h).
	 * 0: unknown.
	 */
	__u32 stable_id;
	__u32 previous_id;
	/*
	 * The rules of the plan's entity steps, resolved from the config at
	 * the start (a reload does not change a running rollout's): entity k's
	 * are ent_rules[ent_first[k] .. ent_first[k + 1]), slots as installed.
	 */
	struct canary_pin_rule ent_rules[CANARY_PIN_LIST_MAX];
	__u32 ent_first[ROLLOUT_MAX_ENTITIES + 1];
};

/* Write all of BUF to FD (EINTR retried): 0 or -errno. */
int canaryd_write_all(int fd, const void *buf, size_t len);
/* fsync the directory DIR (a rename in it made durable): 0 or -errno. */
int canaryd_fsync_dir(const char *dir);
/*
 * PATH replaced atomically by A then B (ALEN, BLEN bytes; either may be 0):
 * written to PATH.tmp, fsynced, renamed over PATH, the directory fsynced.
 * 0 or -errno, PATH.tmp removed on failure.
 */
int canaryd_write_file(const char *path, const void *a, size_t alen, const void *b, size_t blen);

/* 0, or a negative errno after logging one line naming PATH. */
int canaryd_state__save(const char *path, const struct canaryd_persist *st);

/*
 * 0; -ENOENT when there is no file (nothing to resume); -EBADMSG for a
 * corrupt, truncated or foreign file (WHY says what is wrong).
 */
int canaryd_state__load(const char *path, struct canaryd_persist *st, char *why, size_t len);

#endif
