// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Counter deltas to judge samples, and the cost threshold (sample.h). */
#include <errno.h>
#include <string.h>

#include "sample.h"

void rollout_sample__split(const struct canary_counters *now, const struct canary_counters *then,
			   __u32 row, __u32 slow_bucket, struct judge_sample *s)
{
	const struct canary_counters *a = canary_counters__at(now, row, CANARY_CLASS_SPLIT);
	const struct canary_counters *b = canary_counters__at(then, row, CANARY_CLASS_SPLIT);
	__u32 i;

	memset(s, 0, sizeof(*s));
	/*
	 * Packets as the sum of the verdicts, not the packet counter: a read
	 * racing a CPU that has counted the packet but not yet its verdict
	 * would otherwise show more verdicts of one kind than packets.
	 */
	for (i = 0; i < CANARY_V_MAX; i++)
		s->packets += a->verdict[i] - b->verdict[i];
	s->drops = a->verdict[CANARY_V_DROP] - b->verdict[CANARY_V_DROP];
	s->aborts = a->verdict[CANARY_V_ABORTED] - b->verdict[CANARY_V_ABORTED];
	s->passes = a->verdict[CANARY_V_PASS] - b->verdict[CANARY_V_PASS];
	s->invalid = a->verdict[CANARY_V_INVALID] - b->verdict[CANARY_V_INVALID];
	s->cost_samples = a->cost_samples - b->cost_samples;
	s->cost_ns = a->cost_ns - b->cost_ns;
	for (i = 0; i < CANARY_COST_BUCKETS; i++)
		s->cost_hist[i] = a->cost_hist[i] - b->cost_hist[i];
	for (i = slow_bucket + 2; i < CANARY_COST_BUCKETS; i++)
		s->slow += s->cost_hist[i];
}

static void pinned_row(const struct canary_counters *now, const struct canary_counters *then,
		       __u32 row, struct judge_sample *s)
{
	const struct canary_counters *a = canary_counters__at(now, row, CANARY_CLASS_PINNED);
	const struct canary_counters *b = canary_counters__at(then, row, CANARY_CLASS_PINNED);
	__u32 i;

	for (i = 0; i < CANARY_V_MAX; i++)
		s->packets += a->verdict[i] - b->verdict[i];
	s->drops += a->verdict[CANARY_V_DROP] - b->verdict[CANARY_V_DROP];
	s->aborts += a->verdict[CANARY_V_ABORTED] - b->verdict[CANARY_V_ABORTED];
	s->passes += a->verdict[CANARY_V_PASS] - b->verdict[CANARY_V_PASS];
	s->invalid += a->verdict[CANARY_V_INVALID] - b->verdict[CANARY_V_INVALID];
}

void rollout_sample__pinned(const struct canary_counters *now, const struct canary_counters *then,
			    struct judge_sample *all, struct judge_sample *stable)
{
	__u32 row;

	memset(all, 0, sizeof(*all));
	memset(stable, 0, sizeof(*stable));
	for (row = 0; row < CANARY_MAX_SLOTS; row++)
		pinned_row(now, then, row, all);
	pinned_row(now, then, CANARY_SLOT_STABLE, stable);
}

int rollout_sample__strata(const struct canary_stratum *now, const struct canary_stratum *then,
			   struct canary_stratum *delta)
{
	__u32 s, v;

	for (s = 0; s < CANARY_STRATA; s++)
		for (v = 0; v < CANARY_V_MAX; v++) {
			if (now[s].verdict[v] < then[s].verdict[v])
				return -ERANGE;
			delta[s].verdict[v] = now[s].verdict[v] - then[s].verdict[v];
		}
	return 0;
}

/*
 * A sample is slow when it lies at least two log2 buckets above stable's
 * 75th-percentile bucket since the rollout started, i.e. above twice the
 * upper edge of that bucket: at least 2x, at most 4x stable's typical cost.
 * One bucket is not enough margin: a candidate at a small share runs with
 * colder caches and branch predictors than stable, and measured 1.7x
 * stable's cost for an equal program (1 % of 200 kpps on the test bed),
 * which one bucket turns into a false "slow" rate ratio of 10. The judge
 * then calls harm when the candidate's slow rate exceeds twice stable's.
 */
__u32 rollout_sample__slow_bucket(const struct canary_counters *now,
				  const struct canary_counters *at_start)
{
	const struct canary_counters *a = canary_counters__at(now, 0, CANARY_CLASS_SPLIT);
	const struct canary_counters *b = canary_counters__at(at_start, 0, CANARY_CLASS_SPLIT);
	__u64 total = a->cost_samples - b->cost_samples, seen = 0;
	__u32 i;

	if (!total)
		return CANARY_COST_BUCKETS - 1;
	for (i = 0; i < CANARY_COST_BUCKETS; i++) {
		seen += a->cost_hist[i] - b->cost_hist[i];
		if (seen * 4 >= total * 3)
			return i;
	}
	return CANARY_COST_BUCKETS - 1;
}
