/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The names of the judge's evidence in every output (status JSON, metrics
 * labels), defined once. NULL for a value without a name: each output says
 * what it shows then.
 */
#ifndef CANARY_ROLLOUT_NAMES_H
#define CANARY_ROLLOUT_NAMES_H

#include <linux/types.h>

/* "up", "down", "none" (enum judge_dir). */
const char *rollout_judge_dir__name(__u32 dir);
/* "harm", "safety", "exact", "limit", "budget", "split", "input", "exposure" (enum judge_test). */
const char *rollout_judge_test__name(__u32 test);

#endif
