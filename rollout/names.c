// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The judge's evidence names (names.h). */
#include "judge.h"
#include "names.h"

const char *rollout_judge_dir__name(__u32 dir)
{
	static const char *const names[] = {
		[JUDGE_DIR_UP] = "up", [JUDGE_DIR_DOWN] = "down", [JUDGE_DIR_NONE] = "none",
	};

	return dir < sizeof(names) / sizeof(names[0]) ? names[dir] : NULL;
}

const char *rollout_judge_test__name(__u32 test)
{
	static const char *const names[] = {
		[JUDGE_TEST_HARM] = "harm",	  [JUDGE_TEST_SAFETY] = "safety",
		[JUDGE_TEST_EXACT] = "exact",	  [JUDGE_TEST_LIMIT] = "limit",
		[JUDGE_TEST_BUDGET] = "budget",	  [JUDGE_TEST_SRM] = "split",
		[JUDGE_TEST_INPUT] = "input",	  [JUDGE_TEST_EXPOSURE] = "exposure",
		[JUDGE_TEST_FLOOR] = "floor",	  [JUDGE_TEST_BASELINE] = "baseline",
	};

	return test < sizeof(names) / sizeof(names[0]) ? names[test] : NULL;
}
