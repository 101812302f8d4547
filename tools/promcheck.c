// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * promcheck: check a Prometheus text exposition on stdin strictly
 * (lib/promtext.h), for the tests; promtool is not in Debian 12's
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

#include "params.h"
#include "promtext.h"

struct opts {
	bool help;
};

static const struct canary_opt promcheck_opts[] = {
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: promcheck [PREFIX] < page\n", f);
	canary_opts__print(f, promcheck_opts);
	fputs("Exit 0 when the page is well formed and every name starts with PREFIX\n"
	      "(default canary_), else 1 with one \"line N: problem\" per line on stderr.\n", f);
}

int main(int argc, char **argv)
{
	const char *pos[1] = { "canary_" }, *prefix;
	struct opts o = {};
	size_t len = 0, cap = 0, n;
	char *text = NULL, err[8192];
	int problems, rc;

	rc = canary_opts__parse_tool_pos(argc, argv, "promcheck", promcheck_opts, &o, &o.help,
					  NULL, usage, pos, 0, 1, NULL);
	if (rc)
		return rc > 0 ? 0 : 1;
	prefix = pos[0];
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
