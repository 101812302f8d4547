/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * From the dispatcher's counters to the judge's samples: plain data in,
 * plain data out, no system call. canaryd reads the counters every interval
 * and hands two reads (now and the one before) to these functions.
 */
#ifndef CANARY_ROLLOUT_SAMPLE_H
#define CANARY_ROLLOUT_SAMPLE_H

#include <linux/types.h>

#include "canary_abi.h"
#include "judge.h"

/*
 * The cost threshold: the log2 bucket of stable's 75th-percentile cost since
 * AT_START (the counters when the rollout started), from NOW. A sample is
 * slow when it lies at least two buckets above it. CANARY_COST_BUCKETS - 1
 * when stable has no cost sample yet (nothing is slow then).
 */
__u32 rollout_sample__slow_bucket(const struct canary_counters *now,
				  const struct canary_counters *at_start);

/*
 * The judge sample of ROW's hash-split class between the reads THEN and NOW
 * (arrays of CANARY_COUNTERS_ENTRIES records); SLOW_BUCKET as returned by
 * rollout_sample__slow_bucket().
 */
void rollout_sample__split(const struct canary_counters *now, const struct canary_counters *then,
			   __u32 row, __u32 slow_bucket, struct judge_sample *s);

/*
 * The pinned class's verdict deltas between THEN and NOW (packets, drops,
 * aborts, passes, invalid; no cost): every slot's row summed into ALL,
 * slot 0's into STABLE. The entity steps' evidence (rollout/entity.h).
 */
void rollout_sample__pinned(const struct canary_counters *now, const struct canary_counters *then,
			    struct judge_sample *all, struct judge_sample *stable);

/*
 * The per-stratum verdict deltas between two reads of the strata
 * (CANARY_STRATA records each) into DELTA. -ERANGE when a counter went
 * backwards (another dispatcher, or a read of the wrong map): no evidence.
 */
int rollout_sample__strata(const struct canary_stratum *now, const struct canary_stratum *then,
			   struct canary_stratum *delta);

#endif
