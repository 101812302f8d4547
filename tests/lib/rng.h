/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The tests' deterministic generators: splitmix64, one word of state per
 * simulation (test_engine, test_entity, flowsim), and xoshiro256** seeded
 * by it (test_judge, the held-out simulator flowsim2).
 */
#ifndef CANARY_TEST_RNG_H
#define CANARY_TEST_RNG_H

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

static inline __u64 xoshiro_rotl(__u64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline void xoshiro_seed(__u64 s[4], __u64 seed)
{
	int i;

	for (i = 0; i < 4; i++)
		s[i] = splitmix_next(&seed);
}

/* xoshiro256** (Blackman and Vigna). */
static inline __u64 xoshiro_next(__u64 s[4])
{
	__u64 r = xoshiro_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = xoshiro_rotl(s[3], 45);
	return r;
}

#endif
