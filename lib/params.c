// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Command-line options from one table (params.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "params.h"

#define MAX_OPTS 32

bool canary_opts__has(const struct canary_opt *table, const char *arg)
{
	size_t n;

	if (!table || strncmp(arg, "--", 2))
		return false;
	n = strcspn(arg + 2, "=");
	for (; table->name; table++)
		if (strlen(table->name) == n && !strncmp(table->name, arg + 2, n))
			return true;
	return false;
}

static int fail(struct canary_opts_parse *p, const char *bad, const char *fmt)
{
	p->bad = bad;
	snprintf(p->msg, sizeof(p->msg), fmt, bad);
	return -EINVAL;
}

int canary_opts__parse(int argc, char **argv, struct canary_opts_parse *p)
{
	const struct canary_opt *all[MAX_OPTS], *const *t, *o;
	struct option longs[MAX_OPTS + 1] = {};
	char shorts[2 * MAX_OPTS + 3];
	int n = 0, i, k, opt;
	size_t sl;

	p->npos = 0;
	p->bad = NULL;
	p->msg[0] = '\0';
	for (t = p->tables; t && *t; t++)
		for (o = *t; o->name && n < MAX_OPTS; o++)
			all[n++] = o;
	/* "-": positional arguments in order, wherever they are; "+": stop at the first. */
	strcpy(shorts, p->stop_at_pos ? "+:" : "-:");
	for (i = 0; i < n; i++) {
		longs[i] = (struct option){ .name = all[i]->name, .val = 256 + i,
					    .has_arg = all[i]->arg ? required_argument : no_argument };
		if (!all[i]->short_opt)
			continue;
		sl = strlen(shorts);
		shorts[sl++] = (char)all[i]->short_opt;
		if (all[i]->arg)
			shorts[sl++] = ':';
		shorts[sl] = '\0';
	}
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (opt == 1) {
			if (p->npos >= p->max_pos)
				return fail(p, optarg, "unexpected argument '%s'");
			p->pos[p->npos++] = optarg;
			continue;
		}
		if (opt == ':')
			return fail(p, argv[optind - 1], "option %s needs an argument");
		k = opt >= 256 && opt < 256 + n ? opt - 256 : -1;
		for (i = 0; k < 0 && opt != '?' && i < n; i++)
			if (all[i]->short_opt == opt)
				k = i;
		if (k < 0) {
			if (optopt) {
				p->bad_short[0] = '-';
				p->bad_short[1] = (char)optopt;
				p->bad_short[2] = '\0';
				return fail(p, p->bad_short, "unknown option '%s'");
			}
			return fail(p, argv[optind - 1], "unknown option '%s'");
		}
		if (all[k]->multi) {
			struct canary_opt_strings *l = (void *)((char *)p->obj + all[k]->off);

			if (l->n >= CANARY_OPT_MULTI_MAX) {
				p->bad = argv[optind - 1];
				snprintf(p->msg, sizeof(p->msg), "option --%s given more than %d times",
					 all[k]->name, CANARY_OPT_MULTI_MAX);
				return -EINVAL;
			}
			l->v[l->n++] = optarg;
		} else if (all[k]->arg)
			*(const char **)((char *)p->obj + all[k]->off) = optarg;
		else
			*(bool *)((char *)p->obj + all[k]->off) = true;
	}
	/* After "--": all positional. */
	for (; !p->stop_at_pos && optind < argc; optind++) {
		if (p->npos >= p->max_pos)
			return fail(p, argv[optind], "unexpected argument '%s'");
		p->pos[p->npos++] = argv[optind];
	}
	return 0;
}

int canary_opts__parse_tool_pos(int argc, char **argv, const char *tool,
				const struct canary_opt *table, void *obj, const bool *help,
				const bool *verbose, void (*usage)(FILE *f), const char **pos,
				int min_pos, int max_pos, int *npos)
{
	const struct canary_opt *const tables[] = { table, NULL };
	struct canary_opts_parse p = { .tables = tables, .obj = obj, .pos = pos,
				       .max_pos = max_pos };

	if (canary_opts__parse(argc, argv, &p)) {
		pr_warn("%s: %s (see --help)\n", tool, p.msg);
		return -EINVAL;
	}
	if (*help) {
		usage(stdout);
		return 1;
	}
	if (p.npos < min_pos) {
		if (min_pos == max_pos)
			pr_warn("%s: expected %d arguments, got %d (see --help)\n", tool, min_pos,
				p.npos);
		else
			pr_warn("%s: expected %d to %d arguments, got %d (see --help)\n", tool,
				min_pos, max_pos, p.npos);
		return -EINVAL;
	}
	if (npos)
		*npos = p.npos;
	if (verbose && *verbose)
		canary_log_set_level(CANARY_LOG_DEBUG);
	return 0;
}

int canary_opts__parse_tool(int argc, char **argv, const char *tool,
			    const struct canary_opt *table, void *obj, const bool *help,
			    const bool *verbose, void (*usage)(FILE *f))
{
	return canary_opts__parse_tool_pos(argc, argv, tool, table, obj, help, verbose, usage,
					   NULL, 0, 0, NULL);
}

void canary_opts__synopsis(FILE *f, const struct canary_opt *table, int col, int indent)
{
	for (; table && table->name; table++) {
		char one[64];
		int n = snprintf(one, sizeof(one), " [--%s%s%s]%s", table->name,
				 table->arg ? " " : "", table->arg ? table->arg : "",
				 table->multi ? "..." : "");

		if (col + n > 92)	/* continued under the command */
			col = fprintf(f, "\n%*s", indent, "") - 1;
		col += fprintf(f, "%s", one);
	}
}

void canary_opts__print(FILE *f, const struct canary_opt *table)
{
	for (; table->name; table++) {
		const char *h = table->help, *nl;
		char flag[48];
		int n = 0;

		if (table->short_opt)
			n = snprintf(flag, sizeof(flag), "-%c, ", table->short_opt);
		snprintf(flag + n, sizeof(flag) - n, "--%s%s%s%s", table->name, table->arg ? " " : "",
			 table->arg ? table->arg : "", table->multi ? "..." : "");
		for (; (nl = strchr(h, '\n')); h = nl + 1) {
			fprintf(f, "    %-24s %.*s\n", flag, (int)(nl - h), h);
			flag[0] = '\0';
		}
		fprintf(f, "    %-24s %s\n", flag, h);
	}
}
