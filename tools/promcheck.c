// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * promcheck: check a Prometheus text exposition on stdin strictly
 * (tests/lib/promtext.h), for the tests; promtool is not in Debian 12's
 * default packages.
 *
 *   promcheck [PREFIX] < page
 *
 * Exit 0 when the page is well formed and every name starts with PREFIX
 * (default canary_), else 1 with one "line N: problem" per line on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

int main(int argc, char **argv)
{
	const char *prefix = argc > 1 ? argv[1] : "canary_";
	size_t len = 0, cap = 0, n;
	char *text = NULL, err[8192];
	int problems;

	do {
		if (len + 4096 + 1 > cap) {
			char *t = realloc(text, cap = cap ? cap * 2 : 65536);

			if (!t) {
				fprintf(stderr, "promcheck: out of memory\n");
				return 1;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len - 1, stdin);
		len += n;
	} while (n);
	if (!text || !len) {
		fprintf(stderr, "promcheck: empty input\n");
		return 1;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		fprintf(stderr, "promcheck: NUL byte in the input\n");
		return 1;
	}
	problems = canary_prom__check(text, prefix, err, sizeof(err));
	if (problems) {
		fprintf(stderr, "%s%d problem(s)\n", err, problems);
		return 1;
	}
	free(text);
	return 0;
}
