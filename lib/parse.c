// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsers shared by the daemon's config, its control protocol and canaryctl. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Leading decimal digits of *S into N, moving *S past them. */
int canary_parse_digits(const char **s, __u64 *n)
{
	const char *c = *s;
	__u64 v = 0;

	if (!isdigit((unsigned char)*c))
		return -EINVAL;
	for (; isdigit((unsigned char)*c); c++) {
		unsigned int d = *c - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*s = c;
	*n = v;
	return 0;
}

int canary_parse_duration_ms(const char *s, __u64 *ms)
{
	static const struct {
		const char *suffix;
		__u64 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 3600 * 1000 },
	};
	__u64 n, frac = 0, scale = 1;
	size_t i;
	int err;

	if (!s)
		return -EINVAL;
	err = canary_parse_digits(&s, &n);
	if (err)
		return err;
	/* A fraction must give whole milliseconds: "1.5s" is 1500 ms, "0.5ms" is refused. */
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++) {
			if (scale >= 1000000000ULL)
				return -EINVAL;
			frac = frac * 10 + (*s - '0');
			scale *= 10;
		}
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(s, units[i].suffix))
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return -ERANGE;
		if ((frac * units[i].ms) % scale)
			return -EINVAL;
		if (n * units[i].ms > UINT64_MAX - frac * units[i].ms / scale)
			return -ERANGE;
		*ms = n * units[i].ms + frac * units[i].ms / scale;
		return 0;
	}
	return -EINVAL;
}

static bool prog_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

int canary_split_objprog(const char *spec, char *obj, size_t objlen, char *prog, size_t proglen)
{
	const char *colon = strrchr(spec, ':'), *name = "";
	size_t olen = strlen(spec);

	/*
	 * A program name is a C identifier, so a ':' followed by a '/' belongs
	 * to a directory name of the object's path, not to a program.
	 */
	if (colon && !strchr(colon + 1, '/')) {
		name = colon + 1;
		olen = colon - spec;
		if (!prog_name_ok(name))
			return -EINVAL;
	}
	if (!olen)
		return -EINVAL;
	if (olen >= objlen || strlen(name) >= proglen)
		return -ENAMETOOLONG;
	memcpy(obj, spec, olen);
	obj[olen] = '\0';
	strcpy(prog, name);
	return 0;
}
