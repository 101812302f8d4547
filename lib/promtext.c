// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A strict Prometheus text-format checker (promtext.h). */
#define _GNU_SOURCE	/* asprintf */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

#define MAX_NAME 128
#define MAX_LABELS 16
#define MAX_FAMILIES 256
#define MAX_SERIES 8192

struct family {
	char name[MAX_NAME];
	char type[16];
	bool help, closed;
};

/* A histogram series group being followed: labels other than le. */
struct hist {
	char key[1024];
	double last_le, last_count, inf_count;
	bool has_inf, has_sum, has_count;
	int line;
};

struct checker {
	const char *prefix;
	char *err;
	size_t errlen, used;
	int problems, lineno;
	struct family fam[MAX_FAMILIES];
	int nr_fam;
	int cur;		/* family of the previous line, -1 none */
	char **series;
	int nr_series;
	struct hist hist[MAX_SERIES / 8];
	int nr_hist;
};

static void problem(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	c->problems++;
	if (!c->err || c->used + 1 >= c->errlen)
		return;
	n = snprintf(c->err + c->used, c->errlen - c->used, "line %d: ", c->lineno);
	if (n > 0 && (size_t)n < c->errlen - c->used)
		c->used += n;
	va_start(ap, fmt);
	n = vsnprintf(c->err + c->used, c->errlen - c->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->used += (size_t)n < c->errlen - c->used ? (size_t)n : c->errlen - c->used - 1;
	if (c->used + 1 < c->errlen) {
		c->err[c->used++] = '\n';
		c->err[c->used] = '\0';
	}
}

/* Length of a metric name at S (0: none). */
static size_t name_len(const char *s, bool label)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*s) || *s == '_' || (!label && *s == ':')))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_' || (!label && s[n] == ':'))
		n++;
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int find_family(struct checker *c, const char *name)
{
	int i;

	for (i = 0; i < c->nr_fam; i++)
		if (!strcmp(c->fam[i].name, name))
			return i;
	return -1;
}

/* The family a line about NAME belongs to, created if new; -1 on overflow. */
static int enter_family(struct checker *c, const char *name)
{
	int f = find_family(c, name);

	if (f < 0) {
		if (c->nr_fam == MAX_FAMILIES) {
			problem(c, "too many families");
			return -1;
		}
		f = c->nr_fam++;
		snprintf(c->fam[f].name, MAX_NAME, "%s", name);
	}
	if (f != c->cur) {
		if (c->fam[f].closed)
			problem(c, "family %s continues after other families' lines", name);
		if (c->cur >= 0)
			c->fam[c->cur].closed = true;
		c->cur = f;
	}
	return f;
}

static bool parse_value(const char *s, double *v)
{
	char *end;

	if (!strcmp(s, "+Inf")) {
		*v = INFINITY;
		return true;
	}
	if (!strcmp(s, "-Inf")) {
		*v = -INFINITY;
		return true;
	}
	if (!strcmp(s, "NaN")) {
		*v = NAN;
		return true;
	}
	if (!*s || isspace((unsigned char)*s))
		return false;
	*v = strtod(s, &end);
	return !*end && !isinf(*v) && !isnan(*v);
}

static void comment(struct checker *c, const char *line)
{
	char name[MAX_NAME];
	const char *p = line + 1, *rest;
	bool help;
	size_t n;
	int f;

	if (strncmp(p, " HELP ", 6) && strncmp(p, " TYPE ", 6))
		return;	/* a plain comment */
	help = p[1] == 'H';
	p += 6;
	n = name_len(p, false);
	if (!n || n >= MAX_NAME || (p[n] != ' ' && p[n] != '\0')) {
		problem(c, "%s without a valid metric name", help ? "HELP" : "TYPE");
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)n, p);
	rest = p[n] ? p + n + 1 : p + n;
	if (strncmp(name, c->prefix, strlen(c->prefix)))
		problem(c, "%s does not start with %s", name, c->prefix);
	f = enter_family(c, name);
	if (f < 0)
		return;
	if (help) {
		if (c->fam[f].help)
			problem(c, "second HELP for %s", name);
		if (!*rest)
			problem(c, "empty HELP for %s", name);
		for (; *rest; rest++)
			if (*rest == '\\' && rest[1] != '\\' && rest[1] != 'n')
				problem(c, "bad escape in HELP of %s", name);
			else if (*rest == '\\')
				rest++;
		c->fam[f].help = true;
		return;
	}
	if (c->fam[f].type[0])
		problem(c, "second TYPE for %s", name);
	if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
	    strcmp(rest, "summary") && strcmp(rest, "untyped")) {
		problem(c, "unknown type '%s' for %s", rest, name);
		return;
	}
	if (!strcmp(rest, "counter") && !ends_with(name, "_total"))
		problem(c, "counter %s does not end in _total", name);
	snprintf(c->fam[f].type, sizeof(c->fam[f].type), "%s", rest);
}

/* The histogram family NAME belongs to (NAME minus _bucket/_sum/_count), or -1. */
static int histogram_of(struct checker *c, const char *name, const char **suffix)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	char base[MAX_NAME];
	size_t i, n = strlen(name);
	int f;

	for (i = 0; i < 3; i++) {
		size_t k = strlen(sfx[i]);

		if (n <= k || !ends_with(name, sfx[i]))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
		f = find_family(c, base);
		if (f >= 0 && !strcmp(c->fam[f].type, "histogram")) {
			*suffix = sfx[i];
			return f;
		}
	}
	return -1;
}

static struct hist *hist_group(struct checker *c, const char *key)
{
	int i;

	for (i = 0; i < c->nr_hist; i++)
		if (!strcmp(c->hist[i].key, key))
			return &c->hist[i];
	if (c->nr_hist == (int)(sizeof(c->hist) / sizeof(c->hist[0])))
		return NULL;
	memset(&c->hist[c->nr_hist], 0, sizeof(c->hist[0]));
	snprintf(c->hist[c->nr_hist].key, sizeof(c->hist[0].key), "%s", key);
	c->hist[c->nr_hist].last_le = -INFINITY;
	c->hist[c->nr_hist].line = c->lineno;
	return &c->hist[c->nr_hist++];
}

static void sample(struct checker *c, const char *line)
{
	char name[MAX_NAME], lnames[MAX_LABELS][MAX_NAME], key[1024], le[64] = "";
	const char *p = line, *suffix = NULL;
	size_t n, klen = 0;
	int nl = 0, f, i, hf;
	double v, lev = 0;

	n = name_len(p, false);
	if (!n || n >= MAX_NAME) {
		problem(c, "not a sample: '%.40s'", line);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)n, p);
	p += n;
	key[0] = '\0';
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = name_len(p, true);

			if (!ln || ln >= MAX_NAME || p[ln] != '=' || p[ln + 1] != '"') {
				problem(c, "bad label in %s", name);
				return;
			}
			if (nl == MAX_LABELS) {
				problem(c, "too many labels in %s", name);
				return;
			}
			snprintf(lnames[nl], MAX_NAME, "%.*s", (int)ln, p);
			for (i = 0; i < nl; i++)
				if (!strcmp(lnames[i], lnames[nl]))
					problem(c, "label %s twice in %s", lnames[nl], name);
			bool is_le = !strcmp(lnames[nl], "le");
			size_t vstart;

			if (!is_le)
				klen += snprintf(key + klen, sizeof(key) - klen, "%s=", lnames[nl]);
			nl++;
			p += ln + 2;
			vstart = 0;
			while (*p != '"') {
				char ch = *p;

				if (!*p) {
					problem(c, "unterminated label value in %s", name);
					return;
				}
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
						problem(c, "bad escape in a label value of %s",
							name);
						return;
					}
					ch = p[1] == 'n' ? '\n' : p[1];
					p++;
				}
				if (is_le && vstart + 1 < sizeof(le))
					le[vstart++] = ch;
				else if (!is_le && klen + 1 < sizeof(key))
					key[klen++] = ch, key[klen] = '\0';
				p++;
			}
			if (is_le)
				le[vstart] = '\0';
			if (!is_le && klen + 1 < sizeof(key))
				key[klen++] = '\x1f', key[klen] = '\0';
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}') {
				problem(c, "expected ',' or '}' in the labels of %s", name);
				return;
			}
		}
		p++;
	}
	if (*p != ' ') {
		problem(c, "no space before the value of %s", name);
		return;
	}
	p++;
	{
		char val[64];
		const char *sp = strchr(p, ' ');

		/* An optional timestamp follows; ours has none. */
		snprintf(val, sizeof(val), "%.*s", sp ? (int)(sp - p) : (int)strlen(p), p);
		if (!parse_value(val, &v)) {
			problem(c, "bad value '%s' of %s", val, name);
			return;
		}
	}

	/* Its family, and the series' identity. */
	hf = histogram_of(c, name, &suffix);
	f = hf >= 0 ? hf : find_family(c, name);
	if (f < 0 || !c->fam[f].type[0]) {
		problem(c, "sample of %s before (or without) its TYPE", name);
		return;
	}
	if (!c->fam[f].help)
		problem(c, "sample of %s before (or without) its HELP", name);
	enter_family(c, c->fam[f].name);
	{
		char *id;

		if (asprintf(&id, "%s\x1e%s\x1e%s", name, key, le) < 0)
			return;
		for (i = 0; i < c->nr_series; i++)
			if (!strcmp(c->series[i], id)) {
				problem(c, "series %s{%s} twice", name, key);
				break;
			}
		if (i < c->nr_series || c->nr_series == MAX_SERIES) {
			free(id);
		} else {
			c->series[c->nr_series++] = id;
		}
	}
	if (!strcmp(c->fam[f].type, "counter") && !(v >= 0))
		problem(c, "counter %s is negative or NaN", name);
	if (hf < 0) {
		if (le[0] && strcmp(c->fam[f].type, "summary"))
			problem(c, "le label on %s, not a histogram bucket", name);
		return;
	}

	/* Histogram rules. */
	{
		struct hist *h = hist_group(c, key[0] ? key : "-");

		if (!h) {
			problem(c, "too many histogram series");
			return;
		}
		if (!strcmp(suffix, "_bucket")) {
			if (!le[0] || !parse_value(le, &lev) || isnan(lev)) {
				problem(c, "bucket of %s without a valid le", name);
				return;
			}
			if (h->has_inf)
				problem(c, "bucket of %s after its +Inf bucket", name);
			if (!(lev > h->last_le))
				problem(c, "bucket le=%s of %s does not rise", le, name);
			if (v < h->last_count)
				problem(c, "bucket le=%s of %s is not cumulative (%g < %g)", le,
					name, v, h->last_count);
			h->last_le = lev;
			h->last_count = v;
			if (isinf(lev)) {
				h->has_inf = true;
				h->inf_count = v;
			}
		} else if (!strcmp(suffix, "_sum")) {
			h->has_sum = true;
		} else {
			h->has_count = true;
			if (!h->has_inf)
				problem(c, "%s before its +Inf bucket", name);
			else if (v != h->inf_count)
				problem(c, "%s %g differs from its +Inf bucket %g", name, v,
					h->inf_count);
		}
	}
}

int canary_prom__check(const char *text, const char *prefix, char *err, size_t errlen)
{
	struct checker *c = calloc(1, sizeof(*c));
	const char *line = text;
	int i, problems;

	if (!c)
		return -ENOMEM;
	c->prefix = prefix ? prefix : "";
	c->err = err;
	c->errlen = errlen;
	c->cur = -1;
	c->series = calloc(MAX_SERIES, sizeof(char *));
	if (err && errlen)
		err[0] = '\0';
	if (*text && text[strlen(text) - 1] != '\n')
		problem(c, "the text does not end with a newline");
	while (c->series && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *l = strndup(line, n);

		c->lineno++;
		if (!l)
			break;
		if (!n)
			problem(c, "empty line");
		else if (l[0] == '#')
			comment(c, l);
		else
			sample(c, l);
		free(l);
		line += n + (nl ? 1 : 0);
	}
	c->lineno = 0;
	for (i = 0; i < c->nr_hist; i++) {
		c->lineno = c->hist[i].line;
		if (!c->hist[i].has_inf || !c->hist[i].has_sum || !c->hist[i].has_count)
			problem(c, "histogram series lacks its +Inf bucket, _sum or _count");
	}
	for (i = 0; i < c->nr_fam; i++) {
		c->lineno = 0;
		if (!c->fam[i].type[0])
			problem(c, "family %s has no TYPE", c->fam[i].name);
	}
	for (i = 0; i < c->nr_series; i++)
		free(c->series[i]);
	free(c->series);
	problems = c->problems;
	free(c);
	return problems;
}

int canary_prom__value(const char *text, const char *series, double *v)
{
	size_t n = strlen(series);
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');

		if (!strncmp(line, series, n) && line[n] == ' ') {
			char val[64];
			size_t k = nl ? (size_t)(nl - line - n - 1) : strlen(line + n + 1);

			snprintf(val, sizeof(val), "%.*s", (int)k, line + n + 1);
			if (!parse_value(val, v))
				return -EINVAL;
			return 0;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return -ENOENT;
}
