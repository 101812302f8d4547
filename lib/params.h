/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Command-line options declared once, as xdp-tools' params.h does: a table
 * of options parses the command line, checks it and prints the usage, so
 * the help text cannot drift from the parser. canaryctl and the tools use
 * it.
 *
 * An option sets one field of the caller's struct: a const char * for an
 * option with an argument (its text: the caller converts and checks it),
 * a struct canary_opt_strings for one that may be given several times
 * (CANARY_OPTION_MULTI), else a bool.
 */
#ifndef CANARY_PARAMS_H
#define CANARY_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CANARY_OPT_MULTI_MAX 32

/* The arguments of an option given several times, in order. */
struct canary_opt_strings {
	const char *v[CANARY_OPT_MULTI_MAX];
	int n;
};

struct canary_opt {
	const char *name;	/* --NAME */
	int short_opt;		/* -C; 0: long only */
	const char *arg;	/* the argument's name in the usage; NULL: a flag */
	size_t off;		/* offset of the field it sets */
	const char *help;	/* lines separated by '\n' */
	bool multi;		/* the field is a struct canary_opt_strings */
};

#define CANARY_OPTION(_type, _name, _short, _arg, _field, _help)                                   \
	{ .name = (_name), .short_opt = (_short), .arg = (_arg),                                   \
	  .off = offsetof(_type, _field), .help = (_help) }

/* An option with an argument that may be given up to CANARY_OPT_MULTI_MAX times. */
#define CANARY_OPTION_MULTI(_type, _name, _short, _arg, _field, _help)                             \
	{ .name = (_name), .short_opt = (_short), .arg = (_arg),                                   \
	  .off = offsetof(_type, _field), .help = (_help), .multi = true }

struct canary_opts_parse {
	const struct canary_opt *const *tables;	/* NULL-ended list of { 0 }-ended tables */
	void *obj;				/* the struct the offsets are in */
	const char **pos;			/* positional arguments, at most max_pos */
	int max_pos;
	int npos;				/* out: how many */
	bool stop_at_pos;			/* end at the first positional argument */
	const char *bad;			/* out, on error: the offending argument */
	char bad_short[3];			/* "-x", where bad points for a short one */
	char msg[160];				/* out, on error: what is wrong */
};

/*
 * Parse ARGV (argv[0] is the program or command) with P's tables. Options
 * may come anywhere among the positional arguments (unless stop_at_pos:
 * optind is then the first positional one); "--" ends the options. 0, or
 * -EINVAL with p->msg ("unknown option '--x'", "option --x needs an
 * argument", "unexpected argument 'y'") and p->bad set.
 */
int canary_opts__parse(int argc, char **argv, struct canary_opts_parse *p);

/*
 * A tool's whole command line, no positional argument: TABLE's options into
 * OBJ. HELP and VERBOSE are OBJ's fields for --help and --verbose (VERBOSE
 * may be NULL): help prints USAGE on stdout, verbose turns the logger to
 * debug. 0, 1 after the help (the tool exits 0), or -EINVAL after one line
 * "TOOL: what is wrong (see --help)".
 */
int canary_opts__parse_tool(int argc, char **argv, const char *tool,
			    const struct canary_opt *table, void *obj, const bool *help,
			    const bool *verbose, void (*usage)(FILE *f));

/*
 * The same with positional arguments: from MIN_POS to MAX_POS of them into
 * POS, their count into *NPOS; "TOOL: expected ... arguments" otherwise.
 */
int canary_opts__parse_tool_pos(int argc, char **argv, const char *tool,
				const struct canary_opt *table, void *obj, const bool *help,
				const bool *verbose, void (*usage)(FILE *f), const char **pos,
				int min_pos, int max_pos, int *npos);

/* Does TABLE have an option of this name ("--name" or "--name=...")? */
bool canary_opts__has(const struct canary_opt *table, const char *arg);

/* " [--name ARG]..." after a synopsis that ended at column COL, wrapped under INDENT. */
void canary_opts__synopsis(FILE *f, const struct canary_opt *table, int col, int indent);

/* One line per option (more for a help of several lines): "    -j, --json   ...". */
void canary_opts__print(FILE *f, const struct canary_opt *table);

#endif
