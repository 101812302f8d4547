// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* canaryd configuration: error messages, text helpers and the value parsers the key table (config_keys.c) names. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <ini.h>

#include "canary_abi.h"
#include "config.h"
#include "dp.h"
#include "log.h"
#include "parse.h"
#include "metrics.h"
#include "config_parse.h"

void __attribute__((format(printf, 3, 4)))
add_error(struct parser *p, int line, const char *fmt, ...)
{
	size_t room;
	va_list ap;
	int n;

	p->nr_errors++;
	if (!p->err || p->errused + 1 >= p->errlen)
		return;
	room = p->errlen - p->errused;
	if (line > 0)
		n = snprintf(p->err + p->errused, room, "%s%s:%d: ", p->errused ? "\n" : "",
			     p->path, line);
	else
		n = snprintf(p->err + p->errused, room, "%s%s: ", p->errused ? "\n" : "", p->path);
	if (n < 0 || (size_t)n >= room) {
		p->errused = p->errlen - 1;
		return;
	}
	p->errused += n;
	room -= n;
	va_start(ap, fmt);
	n = vsnprintf(p->err + p->errused, room, fmt, ap);
	va_end(ap);
	p->errused += (n < 0 || (size_t)n >= room) ? room - 1 : (size_t)n;
}

void bad_key(struct parser *p, const char *name, const char *what, const char *allowed)
{
	add_error(p, p->lineno, "%s key '%s': %s (allowed: %s)", p->title, name, what, allowed);
}

char *skip_space(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

char *trim(char *s)
{
	char *e;

	s = skip_space(s);
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * The first of CHARS in S, or the start of an inline comment (';' after
 * whitespace), or the end: what inih looks for, so that the lines this file
 * accepts and the ones inih accepts are the same.
 */
char *find_chars_or_comment(char *s, const char *chars)
{
	bool was_space = false;

	while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

void fmt_duration(__u64 ms, char *buf, size_t len)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

int parse_double(const char *v, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(v, &end);
	if (end == v || *end || errno == ERANGE || !isfinite(*d))
		return -EINVAL;
	return 0;
}

int why_not(struct parser *p, const char *v, int err, const char *what)
{
	if (err == -ERANGE)
		snprintf(p->why, sizeof(p->why), "'%.80s' is too large", v);
	else
		snprintf(p->why, sizeof(p->why), "'%.80s' is not %s", v, what);
	return -EINVAL;
}

int out_of_range(struct parser *p, const char *v)
{
	snprintf(p->why, sizeof(p->why), "'%.80s' is out of range", v);
	return -EINVAL;
}

bool in_range(const struct key *k, __u64 n)
{
	return n >= k->lo && (!k->hi || n <= k->hi);
}

int parse_path(struct parser *p, const struct key *k, const char *v, void *field)
{
	size_t max = k->hi ? k->hi : k->size - 1;

	if (strlen(v) > max) {
		snprintf(p->why, sizeof(p->why), "longer than %zu bytes", max);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

/* set = NAME=VALUE,...: the syntax here; names and types at each version's load. */
int parse_assignments(struct parser *p, const struct key *k, const char *v, void *field)
{
	char name[128], value[256];
	const char *s = v;
	int r;

	while ((r = canary_assign__next(&s, name, sizeof(name), value, sizeof(value))) > 0)
		;
	if (r < 0) {
		snprintf(p->why, sizeof(p->why), "items must be NAME=VALUE (NAME a C identifier, "
			 "VALUE without commas)");
		return -EINVAL;
	}
	return parse_path(p, k, v, field);
}

/* [entity NAME] rules = src|dst PREFIX, ...: the pin rule parser's rules without a slot. */
int parse_entity_rules(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct canary_entity_cfg *e = (struct canary_entity_cfg *)((char *)field - k->off);
	char bad[128];
	size_t n;
	int err;

	err = canary_pin_matches__parse(v, e->rule, CANARY_PIN_LIST_MAX, &n, bad, sizeof(bad));
	if (err == -E2BIG) {
		snprintf(p->why, sizeof(p->why), "more than %d rules", CANARY_PIN_LIST_MAX);
		return err;
	}
	if (err) {
		snprintf(p->why, sizeof(p->why), "bad rule '%.60s'", bad);
		return err;
	}
	if (!n) {
		snprintf(p->why, sizeof(p->why), "no rule");
		return -EINVAL;
	}
	e->nr_rules = n;
	return 0;
}

/* pin = RULE, RULE...: the one rule parser (lib/parse.c); applied at each rollout's start. */
int parse_pins(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct canary_pin_rule rules[CANARY_PIN_LIST_MAX];
	char bad[128];
	size_t n;
	int err;

	err = canary_pin_rules__parse(v, rules, CANARY_PIN_LIST_MAX, &n, bad, sizeof(bad));
	if (err == -E2BIG) {
		snprintf(p->why, sizeof(p->why), "more than %d rules", CANARY_PIN_LIST_MAX);
		return err;
	}
	if (err) {
		snprintf(p->why, sizeof(p->why), "bad rule '%s' (src|dst PREFIX -> candidate|stable)",
			 bad);
		return err;
	}
	return parse_path(p, k, v, field);
}

int parse_metrics(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct sockaddr_storage sa;
	bool off;

	if (strlen(v) >= k->size) {
		snprintf(p->why, sizeof(p->why), "longer than %zu bytes", k->size - 1);
		return -EINVAL;
	}
	if (canary_metrics__parse_addr(v, &sa, &off))
		return why_not(p, v, 0, "a numeric HOST:PORT");
	strcpy(field, off ? "off" : v);
	return 0;
}

int parse_duration(struct parser *p, const struct key *k, const char *v, void *field)
{
	__u64 ms;
	int err;

	err = canary_parse_duration_ms(v, &ms);
	if (err)
		return why_not(p, v, err, "a duration");
	if (!in_range(k, ms))
		return out_of_range(p, v);
	*(__u64 *)field = ms;
	return 0;
}

int parse_count(struct parser *p, const struct key *k, const char *v, void *field)
{
	const char *s = v;
	__u64 n;
	int err;

	err = canary_parse_digits(&s, &n);
	if (!err && *s)
		err = -EINVAL;
	if (err)
		return why_not(p, v, err, "a whole number");
	if (!in_range(k, n))
		return out_of_range(p, v);
	*(__u64 *)field = n;
	return 0;
}

int parse_breaker(struct parser *p, const struct key *k, const char *v, void *field)
{
	if (!strcasecmp(v, "off")) {
		*(__u64 *)field = CANARY_BUDGET_OFF;
		return 0;
	}
	return parse_count(p, k, v, field);
}

/* The datapath samples when (packets & (n - 1)) == 0: say so, don't round. */
int parse_cost_sample(struct parser *p, const struct key *k, const char *v, void *field)
{
	__u64 n;
	int err;

	err = parse_count(p, k, v, &n);
	if (err)
		return err;
	if (n & (n - 1))
		return why_not(p, v, 0, "a power of two");
	*(__u32 *)field = (__u32)n;
	return 0;
}

int find_choice(struct parser *p, const struct key *k, const char *v, int *val)
{
	const struct choice *c;

	for (c = k->choices; c->name; c++) {
		if (!strcasecmp(v, c->name)) {
			*val = c->val;
			return 0;
		}
	}
	snprintf(p->why, sizeof(p->why), "unknown value '%.80s'", v);
	return -EINVAL;
}

/* Into a bool or an int-sized enum, by the field's size. */
int parse_choice(struct parser *p, const struct key *k, const char *v, void *field)
{
	int val;

	if (find_choice(p, k, v, &val))
		return -EINVAL;
	if (k->size == sizeof(bool))
		*(bool *)field = val;
	else
		*(int *)field = val;
	return 0;
}

int parse_dir(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct judge_metric_cfg *mc;
	int dir;

	mc = (void *)((char *)field - offsetof(struct judge_metric_cfg, up));
	if (find_choice(p, k, v, &dir))
		return -EINVAL;
	mc->up = dir & DIR_UP;
	mc->down = dir & DIR_DOWN;
	return 0;
}

int parse_prob(struct parser *p, const struct key *k, const char *v, void *field)
{
	double d;

	(void)k;
	if (parse_double(v, &d))
		return why_not(p, v, 0, "a number");
	if (!(d > 0 && d <= 0.5))
		return out_of_range(p, v);
	*(double *)field = d;
	return 0;
}

int parse_ratio(struct parser *p, const struct key *k, const char *v, void *field)
{
	double d;

	(void)k;
	if (parse_double(v, &d))
		return why_not(p, v, 0, "a number");
	if (!(d > 1))
		return out_of_range(p, v);
	*(double *)field = d;
	return 0;
}

int parse_budget(struct parser *p, const struct key *k, const char *v, void *field)
{
	double d;

	(void)k;
	if (parse_double(v, &d))
		return why_not(p, v, 0, "a number");
	if (!(d >= 0))
		return out_of_range(p, v);
	*(double *)field = d;
	return 0;
}

int parse_deff(struct parser *p, const struct key *k, const char *v, void *field)
{
	double d;

	(void)k;
	if (parse_double(v, &d))
		return why_not(p, v, 0, "a number");
	if (d != 0 && !(d >= 1))
		return out_of_range(p, v);
	*(double *)field = d;
	return 0;
}

int parse_steps(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct rollout_plan plan;

	if (strlen(v) >= k->size) {
		snprintf(p->why, sizeof(p->why), "longer than %zu characters", k->size - 1);
		return -EINVAL;
	}
	/* The times are checked once all keys are known (check_times()). */
	if (rollout_plan__parse(&plan, v, 0, 0, 0))
		return why_not(p, v, 0, "a valid step list");
	strcpy(field, v);
	return 0;
}

int parse_stable(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct canary_iface_cfg *ifc = field;
	int err;

	(void)k;
	err = canary_split_objprog(v, ifc->stable_obj, sizeof(ifc->stable_obj), ifc->stable_prog,
				   sizeof(ifc->stable_prog));
	if (err == -ENAMETOOLONG) {
		snprintf(p->why, sizeof(p->why),
			 "object longer than %zu or program longer than %zu bytes",
			 sizeof(ifc->stable_obj) - 1, sizeof(ifc->stable_prog) - 1);
		return err;
	}
	if (err)
		return why_not(p, v, 0, "OBJECT or OBJECT:PROGRAM");
	return 0;
}

/* "a,b,c" of NAMES (index = bit) into a bit mask; "none" is 0, "all" every name. */
int parse_names(struct parser *p, const char *v, const char *const *names, size_t nr,
		       __u32 *mask)
{
	char buf[256], *tok, *save;
	size_t i;

	if (strlen(v) >= sizeof(buf))
		return why_not(p, v, 0, "a short list");
	if (!strcasecmp(v, "none")) {
		*mask = 0;
		return 0;
	}
	*mask = 0;
	if (!strcasecmp(v, "all")) {
		for (i = 0; i < nr; i++)
			if (names[i])
				*mask |= 1U << i;
		return 0;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		for (i = 0; i < nr; i++)
			if (names[i] && !strcmp(tok, names[i]))
				break;
		if (i == nr) {
			snprintf(p->why, sizeof(p->why), "unknown name '%.60s'", tok);
			return -EINVAL;
		}
		*mask |= 1U << i;
	}
	return 0;
}

int parse_events(struct parser *p, const struct key *k, const char *v, void *field)
{
	const char *names[ROLLOUT_N_FAILED + 1];
	size_t i;

	(void)k;
	for (i = 0; i <= ROLLOUT_N_FAILED; i++)
		names[i] = rollout_notice__name(i);
	return parse_names(p, v, names, ROLLOUT_N_FAILED + 1, field);
}

int parse_gates(struct parser *p, const struct key *k, const char *v, void *field)
{
	const char *names[ROLLOUT_GATE_PROMOTE + 1];
	size_t i;

	(void)k;
	for (i = 0; i <= ROLLOUT_GATE_PROMOTE; i++)
		names[i] = rollout_gate__name(i);
	return parse_names(p, v, names, ROLLOUT_GATE_PROMOTE + 1, field);
}

int parse_url(struct parser *p, const struct key *k, const char *v, void *field)
{
	if (strncasecmp(v, "http://", 7) && strncasecmp(v, "https://", 8))
		return why_not(p, v, 0, "an http:// or https:// URL");
	if (strlen(v) >= k->size) {
		snprintf(p->why, sizeof(p->why), "longer than %zu bytes", k->size - 1);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

int parse_secret(struct parser *p, const struct key *k, const char *v, void *field)
{
	(void)k;
	if (strlen(v) >= CANARY_HOOK_SECRET_LEN) {
		snprintf(p->why, sizeof(p->why), "longer than %d bytes", CANARY_HOOK_SECRET_LEN - 1);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

/*
 * The secret's first line, read now (and again on SIGHUP). A secret others
 * can read is no secret: such a file is refused.
 */
int parse_secret_file(struct parser *p, const struct key *k, const char *v, void *field)
{
	struct canary_webhook_cfg *h = field;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	ssize_t n;
	FILE *f;

	(void)k;
	if (strlen(v) >= sizeof(h->secret_file)) {
		snprintf(p->why, sizeof(p->why), "longer than %zu bytes", sizeof(h->secret_file) - 1);
		return -EINVAL;
	}
	f = fopen(v, "re");
	if (!f) {
		snprintf(p->why, sizeof(p->why), "cannot open '%.80s': %s", v, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fileno(f), &st) || (st.st_mode & S_IRWXO)) {
		snprintf(p->why, sizeof(p->why), "'%.80s' is accessible to others (mode %04o); "
			 "chmod o= it", v, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -EINVAL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	if (n <= 0 || n >= CANARY_HOOK_SECRET_LEN) {
		snprintf(p->why, sizeof(p->why), "'%.80s' %s", v,
			 n <= 0 ? "has no secret on its first line" : "has a secret longer than 255 bytes");
		free(line);
		return -EINVAL;
	}
	strcpy(h->secret_file, v);
	strcpy(h->secret, line);
	memset(line, 0, cap);
	free(line);
	return 0;
}
