/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * splitmix64: the tests' deterministic generator, one state per simulation
 * (test_engine, test_entity, flowsim). The held-out simulator and
 * test_judge draw from xoshiro256** instead, on purpose: their draws stay
 * as their measured figures were taken.
 */
#ifndef CANARY_TEST_SPLITMIX_H
#define CANARY_TEST_SPLITMIX_H

#include <linux/types.h>

static inline __u64 splitmix_next(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform on [0, 1), 53 bits. */
static inline double splitmix_unit(__u64 *s)
{
	return (splitmix_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
