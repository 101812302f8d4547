/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The audit trail and the picture of a rollout (README.md, "History and
 * reports"), read and written here only: canaryd writes, canaryctl reads
 * state_dir directly, so the history is there with canaryd stopped.
 *
 *   STATE_DIR/history.IFACE.jsonl      one JSON object a line per transition
 *   STATE_DIR/history.IFACE.jsonl.1    the previous one, once the file passed
 *                                      CANARY_HISTORY_MAX_BYTES
 *   STATE_DIR/series.ROLLOUT_ID.json   the rollout's per-interval counts,
 *                                      at most CANARY_SERIES_MAX points
 *
 * A history line: time_ms (wall clock), time (ISO 8601, UTC), interface,
 * rollout_id, event (the webhook notice names), phase, step, steps,
 * share_pct, verdict, evidence, tests, reason, candidate, stable, who
 * ("uid=U pid=P" of the canaryctl client, with uid and pid as numbers too;
 * "judge" for a decision on the counters; "gate" for a gate's answer;
 * "canaryd" for the daemon's own: the interface lost, a restart's repair).
 */
#ifndef CANARY_HISTORY_H
#define CANARY_HISTORY_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include <linux/types.h>

#define CANARY_HISTORY_MAX_BYTES (1024 * 1024)
/* Series files kept per interface: the newest rollouts'. */
#define CANARY_SERIES_KEEP 32
#define CANARY_SERIES_MAX 512

/* Series index of the two versions. */
enum { CANARY_SER_STABLE, CANARY_SER_CAND, CANARY_SER_VERSIONS };

/* One interval (or several adjacent ones merged): counts, so merges are exact. */
struct canary_series_point {
	__u64 t0_ms, t1_ms;		/* wall clock, start and end */
	__u32 share_bp;			/* candidate share during it (the last one's, merged) */
	__u64 packets[CANARY_SER_VERSIONS];
	__u64 passes[CANARY_SER_VERSIONS];
	__u64 drops[CANARY_SER_VERSIONS];
	__u64 aborts[CANARY_SER_VERSIONS];
};

struct canary_series {
	__u32 nr;
	struct canary_series_point p[CANARY_SERIES_MAX];
};

/*
 * Append PT; when the series is full, adjacent pairs are merged first (half
 * the points, each twice as long), so a rollout of any length keeps its
 * whole time span in CANARY_SERIES_MAX points.
 */
void canary_series__add(struct canary_series *s, const struct canary_series_point *pt);
json_t *canary_series__json(const struct canary_series *s);
/* 0, or -EBADMSG with WHY. */
int canary_series__from_json(struct canary_series *s, const json_t *j, char *why, size_t len);
/* Written atomically (temp file, rename). 0 or a negative errno. */
int canary_series__save(const char *path, const struct canary_series *s);
/* 0, -ENOENT, or -EBADMSG / another negative errno with WHY. */
int canary_series__load(const char *path, struct canary_series *s, char *why, size_t len);

/* "DIR/history.IFACE.jsonl", "DIR/series.ID.json": 0 or -ENAMETOOLONG. */
int canary_history__path(char *buf, size_t len, const char *dir, const char *iface);
int canary_series__path(char *buf, size_t len, const char *dir, const char *rollout_id);

/*
 * Append REC as one line to PATH, first renaming PATH to PATH.1 (replacing
 * it) when the line would take PATH past MAX_BYTES. 0 or a negative errno.
 */
int canary_history__append(const char *path, const json_t *rec, size_t max_bytes);

/*
 * The records of PATH.1 then PATH, oldest first, as a JSON array; lines that
 * are not JSON objects are skipped and counted in *BAD. NULL with *ERR
 * (-ENOENT when neither file exists, else a negative errno).
 */
json_t *canary_history__load(const char *path, __u32 *bad, int *err);

/*
 * Group records by rollout, in order of their first record:
 * [{"rollout_id", "interface", "candidate", "started_ms", "started_by",
 *   "outcome" (the last ending event: promoted, rolled_back, aborted,
 *   reverted, failed; else "running"), "decided_by", "ended_ms", "reason",
 *   "events": [records]}].
 */
json_t *canary_history__rollouts(const json_t *records);

/* The interface part of a rollout id "IFACE-MS": 0, or -EINVAL. */
int canary_rollout_id__iface(const char *id, char *iface, size_t len);

/* Remove the oldest series files of IFACE in DIR beyond KEEP. Files removed. */
int canary_series__prune(const char *dir, const char *iface, int keep);

/*
 * The report: one self-contained HTML page (inline SVG and CSS, no script,
 * no external reference) of rollout ROLLOUT (an element of
 * canary_history__rollouts(), or NULL) and its series S (or NULL): rates per
 * version over time, the share steps, the decision and its evidence.
 * 0 or -EIO.
 */
int canary_report__html(FILE *f, const char *rollout_id, const json_t *rollout,
			const struct canary_series *s);

#endif
