/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet rates for status and metrics, over a window of about a second.
 *
 * One read interval is a poor rate: at a 200 ms interval a traffic source
 * that sends in batches shows 30 % more or less from one read to the next.
 * The rate is taken over the reads of the last CANARY_RATE_WINDOW_MS (at
 * least one interval), and it is unknown (not 0) until two reads exist, so
 * a script can tell "no traffic" from "not measured yet".
 */
#ifndef CANARYD_RATE_H
#define CANARYD_RATE_H

#include <stdbool.h>
#include <linux/types.h>

#define CANARY_RATE_WINDOW_MS 1000
#define CANARY_RATE_RING 64
#define CANARY_RATE_SERIES 2	/* stable, candidate */

struct canary_rate {
	struct {
		__u64 ms;
		__u64 packets[CANARY_RATE_SERIES];
	} at[CANARY_RATE_RING];
	__u32 head;	/* next slot to write */
	__u32 nr;	/* reads held, up to CANARY_RATE_RING */
};

static inline void canary_rate__reset(struct canary_rate *r)
{
	r->head = 0;
	r->nr = 0;
}

/* One read at NOW_MS: each series' running packet count. */
static inline void canary_rate__add(struct canary_rate *r, __u64 now_ms,
				    const __u64 packets[CANARY_RATE_SERIES])
{
	__u32 i;

	r->at[r->head].ms = now_ms;
	for (i = 0; i < CANARY_RATE_SERIES; i++)
		r->at[r->head].packets[i] = packets[i];
	r->head = (r->head + 1) % CANARY_RATE_RING;
	if (r->nr < CANARY_RATE_RING)
		r->nr++;
}

/*
 * Packets per second of SERIES over the window ending at the newest read,
 * in *PPS. False when there are not yet two reads, or time did not advance.
 */
static inline bool canary_rate__pps(const struct canary_rate *r, __u32 series, double *pps)
{
	__u32 newest, oldest, k, idx;

	if (r->nr < 2 || series >= CANARY_RATE_SERIES)
		return false;
	newest = (r->head + CANARY_RATE_RING - 1) % CANARY_RATE_RING;
	/* The read before the newest always counts: a window of one interval at least. */
	oldest = (newest + CANARY_RATE_RING - 1) % CANARY_RATE_RING;
	for (k = 2; k < r->nr; k++) {
		idx = (newest + CANARY_RATE_RING - k) % CANARY_RATE_RING;
		if (r->at[newest].ms - r->at[idx].ms > CANARY_RATE_WINDOW_MS)
			break;
		oldest = idx;
	}
	if (r->at[newest].ms <= r->at[oldest].ms ||
	    r->at[newest].packets[series] < r->at[oldest].packets[series])
		return false;
	*pps = (double)(r->at[newest].packets[series] - r->at[oldest].packets[series]) * 1000.0 /
	       (double)(r->at[newest].ms - r->at[oldest].ms);
	return true;
}

#endif
