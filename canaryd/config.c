// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryd configuration (config.h): an INI file read with inih.
 *
 * inih splits each "key = value" line and calls on_pair(). The line reader
 * handed to it, next_line(), does what the library's handler interface
 * cannot: it counts lines (the packaged library is built without
 * INI_HANDLER_LINENO), sees section headers (the handler only hears about
 * keys, yet an [interface] section without keys must still be checked) and
 * reports every malformed line, where inih returns only the first.
 *
 * The [rollout] and [judge] sections are parsed into values of their own and
 * merged into each interface at the end, key by key, for the keys that
 * interface did not set itself: a global key thus reaches every interface
 * that left it alone, whether it comes before or after that interface's
 * section in the file.
 */
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Room in the per-section "which line set this key" records. */
#define MAX_KEYS 64
#define WHY_LEN 256
#define SECTIONS "[daemon], [rollout], [judge], [interface NAME], [webhook NAME]"

enum scope {
	SCOPE_DAEMON,	/* struct canaryd_config */
	SCOPE_IFACE,	/* struct canary_iface_cfg */
	SCOPE_ROLLOUT,	/* struct canary_rollout_cfg: global or one interface's */
	SCOPE_JUDGE,	/* struct judge_config: global or one interface's */
	SCOPE_WEBHOOK,	/* struct canary_webhook_cfg */
};

enum section {
	SEC_NONE,	/* before the first section header */
	SEC_DAEMON,
	SEC_ROLLOUT,
	SEC_JUDGE,
	SEC_IFACE,
	SEC_WEBHOOK,
	SEC_SKIP,	/* a header already reported as wrong: its keys are ignored */
};

struct parser;
struct key;

typedef int (*parse_fn)(struct parser *p, const struct key *k, const char *v, void *field);

struct choice {
	const char *name;
	int val;
};

struct key {
	const char *name;
	enum scope scope;
	parse_fn parse;
	/* The bytes the key sets in its scope's struct, copied from the global
	 * value into the interfaces that leave the key alone. */
	size_t off, size;
	__u64 lo, hi;			/* numbers and durations; hi 0: no upper bound */
	const struct choice *choices;
	const char *allowed;		/* for the error messages */
	bool hidden;			/* summarised, not listed, after an unknown key */
	bool empty_ok;			/* "key =" is a value */
};

struct iface_state {
	int line;			/* of the section header */
	int key_line[MAX_KEYS];		/* where each key was set; 0: not set */
};

struct parser {
	struct canaryd_config *cfg;
	const char *path;
	FILE *f;
	char *line;			/* the physical line being parsed */
	size_t cap;
	int lineno;
	const char *long_value;		/* the value of a line too long for inih */

	char *err;
	size_t errlen, errused;
	int nr_errors;
	char why[WHY_LEN];		/* what a parse function found wrong */

	enum section sec;
	char title[64];			/* "[interface eth0]" */
	struct canary_iface_cfg *iface;	/* SEC_IFACE */
	struct iface_state *ist;
	struct canary_webhook_cfg *hook;	/* SEC_WEBHOOK */
	struct iface_state *hst;

	/* [rollout] and [judge] as given outside any interface. */
	struct canary_rollout_cfg rollout;
	struct judge_config judge;
	int key_line[MAX_KEYS];		/* where the global sections set each key */
	struct iface_state ifs[CANARY_MAX_IFACES];
	struct iface_state hooks[CANARY_MAX_WEBHOOKS];
};

static void __attribute__((format(printf, 3, 4)))
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

static void bad_key(struct parser *p, const char *name, const char *what, const char *allowed)
{
	add_error(p, p->lineno, "%s key '%s': %s (allowed: %s)", p->title, name, what, allowed);
}

static char *skip_space(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static char *trim(char *s)
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
static char *find_chars_or_comment(char *s, const char *chars)
{
	bool was_space = false;

	while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static void fmt_duration(__u64 ms, char *buf, size_t len)
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

static int parse_double(const char *v, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(v, &end);
	if (end == v || *end || errno == ERANGE || !isfinite(*d))
		return -EINVAL;
	return 0;
}

static int why_not(struct parser *p, const char *v, int err, const char *what)
{
	if (err == -ERANGE)
		snprintf(p->why, sizeof(p->why), "'%.80s' is too large", v);
	else
		snprintf(p->why, sizeof(p->why), "'%.80s' is not %s", v, what);
	return -EINVAL;
}

static int out_of_range(struct parser *p, const char *v)
{
	snprintf(p->why, sizeof(p->why), "'%.80s' is out of range", v);
	return -EINVAL;
}

static bool in_range(const struct key *k, __u64 n)
{
	return n >= k->lo && (!k->hi || n <= k->hi);
}

static int parse_path(struct parser *p, const struct key *k, const char *v, void *field)
{
	size_t max = k->hi ? k->hi : k->size - 1;

	if (strlen(v) > max) {
		snprintf(p->why, sizeof(p->why), "longer than %zu bytes", max);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

static int parse_metrics(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_duration(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_count(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_breaker(struct parser *p, const struct key *k, const char *v, void *field)
{
	if (!strcasecmp(v, "off")) {
		*(__u64 *)field = CANARY_BUDGET_OFF;
		return 0;
	}
	return parse_count(p, k, v, field);
}

/* The datapath samples when (packets & (n - 1)) == 0: say so, don't round. */
static int parse_cost_sample(struct parser *p, const struct key *k, const char *v, void *field)
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

static int find_choice(struct parser *p, const struct key *k, const char *v, int *val)
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
static int parse_choice(struct parser *p, const struct key *k, const char *v, void *field)
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

#define DIR_UP 1
#define DIR_DOWN 2

static int parse_dir(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_prob(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_ratio(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_budget(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_deff(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_steps(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_stable(struct parser *p, const struct key *k, const char *v, void *field)
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
static int parse_names(struct parser *p, const char *v, const char *const *names, size_t nr,
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

static int parse_events(struct parser *p, const struct key *k, const char *v, void *field)
{
	const char *names[ROLLOUT_N_FAILED + 1];
	size_t i;

	(void)k;
	for (i = 0; i <= ROLLOUT_N_FAILED; i++)
		names[i] = rollout_notice__name(i);
	return parse_names(p, v, names, ROLLOUT_N_FAILED + 1, field);
}

static int parse_gates(struct parser *p, const struct key *k, const char *v, void *field)
{
	const char *names[ROLLOUT_GATE_PROMOTE + 1];
	size_t i;

	(void)k;
	for (i = 0; i <= ROLLOUT_GATE_PROMOTE; i++)
		names[i] = rollout_gate__name(i);
	return parse_names(p, v, names, ROLLOUT_GATE_PROMOTE + 1, field);
}

static int parse_url(struct parser *p, const struct key *k, const char *v, void *field)
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

static int parse_secret(struct parser *p, const struct key *k, const char *v, void *field)
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
static int parse_secret_file(struct parser *p, const struct key *k, const char *v, void *field)
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

static const struct choice bools[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "1", 1 }, { "0", 0 }, { "on", 1 }, { "off", 0 }, { NULL, 0 },
};
static const struct choice log_levels[] = {
	{ "warn", CANARY_LOG_WARN }, { "info", CANARY_LOG_INFO }, { "debug", CANARY_LOG_DEBUG },
	{ NULL, 0 },
};
static const struct choice timeouts[] = {
	{ "pause", ROLLOUT_TIMEOUT_PAUSE }, { "rollback", ROLLOUT_TIMEOUT_ROLLBACK }, { NULL, 0 },
};
static const struct choice modes[] = { { "native", 1 }, { "skb", 0 }, { NULL, 0 } };
static const struct choice fails[] = { { "open", 0 }, { "closed", 1 }, { NULL, 0 } };
static const struct choice gate_policies[] = {
	{ "hold", ROLLOUT_GATE_HOLD }, { "rollback", ROLLOUT_GATE_ROLLBACK }, { NULL, 0 },
};
static const struct choice dirs[] = {
	{ "both", DIR_UP | DIR_DOWN }, { "up", DIR_UP }, { "down", DIR_DOWN }, { "off", 0 },
	{ NULL, 0 },
};

_Static_assert(sizeof(enum rollout_on_timeout) == sizeof(int), "choices write an int");

#define FIELD(type, f) .off = offsetof(type, f), .size = sizeof(((type *)0)->f)
#define DAEMON(f) .scope = SCOPE_DAEMON, FIELD(struct canaryd_config, f)
#define IFACE(f) .scope = SCOPE_IFACE, FIELD(struct canary_iface_cfg, f)
#define ROLLOUT(f) .scope = SCOPE_ROLLOUT, FIELD(struct canary_rollout_cfg, f)
#define JUDGE(f) .scope = SCOPE_JUDGE, FIELD(struct judge_config, f)
#define HOOK(f) .scope = SCOPE_WEBHOOK, FIELD(struct canary_webhook_cfg, f)
#define BOOL .parse = parse_choice, .choices = bools, \
	     .allowed = "yes, no, true, false, 1, 0, on, off"
#define PROB .parse = parse_prob, .allowed = "a probability in (0, 0.5]"

/* A direction sets the metric's up and down flags, adjacent bools. */
#define DIR_SIZE (offsetof(struct judge_metric_cfg, down) + sizeof(bool) - \
		  offsetof(struct judge_metric_cfg, up))

#define METRIC_KEYS(n, m)                                                                        \
	{ .name = n, .scope = SCOPE_JUDGE, .parse = parse_dir, .choices = dirs,                  \
	  .off = offsetof(struct judge_config, metric[m].up), .size = DIR_SIZE, .hidden = true,  \
	  .allowed = "both, up, down, off" },                                                    \
	{ .name = n "_tolerance", JUDGE(metric[m].rho0), .parse = parse_ratio,                   \
	  .allowed = "a rate ratio > 1", .hidden = true },                                       \
	{ .name = n "_safety", JUDGE(metric[m].rho1), .parse = parse_ratio,                      \
	  .allowed = "a rate ratio > 1", .hidden = true },                                       \
	{ .name = n "_budget", JUDGE(metric[m].budget), .parse = parse_budget,                   \
	  .allowed = "excess events >= 0, 0 for no budget", .hidden = true },                     \
	{ .name = n "_floor", JUDGE(metric[m].floor), .parse = parse_prob,                       \
	  .allowed = "a per-packet rate in (0, 0.5] proven safe when neither version has events", \
	  .hidden = true }

static const struct key keys[] = {
	{ .name = "socket", DAEMON(socket), .parse = parse_path,
	  .hi = sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
	  .allowed = "a path of at most 107 bytes" },
	{ .name = "pin_root", DAEMON(pin_root), .parse = parse_path, .allowed = "a path" },
	{ .name = "state_dir", DAEMON(state_dir), .parse = parse_path, .allowed = "a path" },
	{ .name = "interval", DAEMON(interval_ms), .parse = parse_duration, .lo = 100, .hi = 60000,
	  .allowed = "a duration from 100ms to 60s" },
	{ .name = "metrics", DAEMON(metrics), .parse = parse_metrics, .empty_ok = true,
	  .allowed = "IPv4:PORT or [IPv6]:PORT (numeric, port 1-65535), or off or empty for none" },
	{ .name = "log_level", DAEMON(log_level), .parse = parse_choice, .choices = log_levels,
	  .allowed = "warn, info, debug" },

	{ .name = "mode", IFACE(native), .parse = parse_choice, .choices = modes,
	  .allowed = "native, skb" },
	{ .name = "stable", .scope = SCOPE_IFACE, .off = 0, .size = sizeof(struct canary_iface_cfg),
	  .parse = parse_stable, .allowed = "OBJECT or OBJECT:PROGRAM" },
	{ .name = "fail", IFACE(fail_closed), .parse = parse_choice, .choices = fails,
	  .allowed = "open, closed" },
	{ .name = "private_maps", IFACE(private_maps), .parse = parse_path,
	  .allowed = "map names separated by commas" },
	{ .name = "webhook", IFACE(webhooks), .parse = parse_path,
	  .allowed = "names of [webhook NAME] sections separated by commas" },

	{ .name = "url", HOOK(url), .parse = parse_url, .allowed = "an http:// or https:// URL" },
	{ .name = "events", HOOK(events), .parse = parse_events,
	  .allowed = "all, none, or started, advanced, paused, resumed, promoted, rolled_back, "
		     "aborted, reverted, failed separated by commas" },
	{ .name = "gates", HOOK(gates), .parse = parse_gates,
	  .allowed = "none, all, or start, step, promote separated by commas" },
	{ .name = "secret", HOOK(secret), .parse = parse_secret,
	  .allowed = "a string of at most 255 bytes; better secret_file" },
	{ .name = "secret_file", .scope = SCOPE_WEBHOOK, .off = 0,
	  .size = sizeof(struct canary_webhook_cfg), .parse = parse_secret_file,
	  .allowed = "a file others cannot read, the secret on its first line" },
	{ .name = "timeout", HOOK(timeout_ms), .parse = parse_duration, .lo = 100, .hi = 60000,
	  .allowed = "a duration from 100ms to 60s" },
	{ .name = "retries", HOOK(retries), .parse = parse_count, .hi = 20,
	  .allowed = "a whole number from 0 to 20" },
	{ .name = "backoff", HOOK(backoff_ms), .parse = parse_duration, .lo = 10, .hi = 600000,
	  .allowed = "a duration from 10ms to 10m" },
	{ .name = "on_failure", HOOK(on_failure), .parse = parse_choice, .choices = gate_policies,
	  .allowed = "hold, rollback" },

	{ .name = "steps", ROLLOUT(steps), .parse = parse_steps,
	  .allowed = "rising percentages in steps of 0.1, ending at 100, at most 16, e.g. 1,5,25,50,100" },
	{ .name = "step_time", ROLLOUT(step_time_ms), .parse = parse_duration,
	  .allowed = "a duration: 250ms, 1s, 5m, 1h" },
	{ .name = "max_step_time", ROLLOUT(max_step_time_ms), .parse = parse_duration,
	  .allowed = "a duration of at least step_time, 0 for no limit" },
	{ .name = "warmup", ROLLOUT(warmup_ms), .parse = parse_duration, .hi = 3600 * 1000,
	  .allowed = "a duration up to 1h (the share-0 baseline before step 1; 0: none)" },
	{ .name = "min_packets", ROLLOUT(min_packets), .parse = parse_count,
	  .allowed = "a whole number" },
	{ .name = "on_timeout", ROLLOUT(on_timeout), .parse = parse_choice, .choices = timeouts,
	  .allowed = "pause, rollback" },
	{ .name = "breaker_budget", ROLLOUT(breaker_budget), .parse = parse_breaker,
	  .allowed = "a whole number, off" },
	{ .name = "symmetric", ROLLOUT(symmetric), BOOL },
	{ .name = "cost_sample", ROLLOUT(cost_sample), .parse = parse_cost_sample, .hi = 1U << 31,
	  .allowed = "0 for off, or a power of two up to 2147483648" },

	{ .name = "alpha", JUDGE(alpha), PROB },
	{ .name = "srm_alpha", JUDGE(srm_alpha), PROB },
	{ .name = "srm_tolerance", JUDGE(srm_tolerance), .parse = parse_prob,
	  .allowed = "a relative departure of the share in (0, 0.5]" },
	{ .name = "abort_alpha", JUDGE(abort_alpha), PROB },
	{ .name = "min_events", JUDGE(min_events), .parse = parse_count,
	  .allowed = "a whole number" },
	{ .name = "deff", JUDGE(deff), .parse = parse_deff,
	  .allowed = "0 to estimate, or a number >= 1" },
	{ .name = "invalid_limit", JUDGE(invalid_limit), BOOL },
	METRIC_KEYS("drop", JUDGE_METRIC_DROP),
	METRIC_KEYS("pass", JUDGE_METRIC_PASS),
	METRIC_KEYS("abort", JUDGE_METRIC_ABORT),
	METRIC_KEYS("cost", JUDGE_METRIC_SLOW),
};

_Static_assert(ARRAY_SIZE(keys) <= MAX_KEYS, "raise MAX_KEYS");

static bool key_in(const struct key *k, enum section sec)
{
	switch (k->scope) {
	case SCOPE_DAEMON:
		return sec == SEC_DAEMON;
	case SCOPE_IFACE:
		return sec == SEC_IFACE;
	case SCOPE_ROLLOUT:
		return sec == SEC_ROLLOUT || sec == SEC_IFACE;
	case SCOPE_JUDGE:
		return sec == SEC_JUDGE || sec == SEC_IFACE;
	case SCOPE_WEBHOOK:
		return sec == SEC_WEBHOOK;
	}
	return false;
}

static const struct key *find_key(enum section sec, const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (key_in(&keys[i], sec) && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int key_index(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].name, name))
			return i;
	return -1;
}

/* The keys of SEC, for the message about an unknown one. */
static void list_keys(enum section sec, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(keys) && used < len; i++) {
		if (keys[i].hidden || !key_in(&keys[i], sec))
			continue;
		if (sec == SEC_IFACE && keys[i].scope != SCOPE_IFACE)
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].name);
	}
	if (sec == SEC_JUDGE && used < len)
		snprintf(buf + used, len - used,
			 ", drop, pass, abort, cost, each also with _tolerance, _safety, _budget");
	else if (sec == SEC_IFACE && used < len)
		snprintf(buf + used, len - used, ", any [rollout] or [judge] key");
	else if (sec == SEC_WEBHOOK && used < len)
		snprintf(buf + used, len - used, ", metadata.KEY");
}

static void rollout_defaults(struct canary_rollout_cfg *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->steps, "1,5,25,50,100");
	r->step_time_ms = 60 * 1000;
	r->max_step_time_ms = 3600 * 1000;
	r->warmup_ms = 60 * 1000;
	r->min_packets = 10000;
	r->on_timeout = ROLLOUT_TIMEOUT_PAUSE;
	r->breaker_budget = 100;
	r->symmetric = false;
	r->cost_sample = CANARY_COST_SAMPLE_DEFAULT;
}

static bool ifname_ok(const char *name)
{
	/* The kernel's dev_valid_name(), less the length checked before. */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (*name == '/' || *name == ':' || isspace((unsigned char)*name))
			return false;
	return true;
}

static void interface_start(struct parser *p, const char *name)
{
	struct canaryd_config *cfg = p->cfg;
	struct canary_iface_cfg *ifc;
	int i;

	if (!*name) {
		add_error(p, p->lineno, "%s: no interface name (allowed: [interface NAME])", p->title);
		return;
	}
	if (strlen(name) >= IF_NAMESIZE) {
		add_error(p, p->lineno, "%s: interface name longer than %d characters (allowed: 1 to %d)",
			  p->title, IF_NAMESIZE - 1, IF_NAMESIZE - 1);
		return;
	}
	if (!ifname_ok(name)) {
		add_error(p, p->lineno,
			  "%s: not an interface name (allowed: no '/', ':' or space; not . or ..)",
			  p->title);
		return;
	}
	for (i = 0; i < cfg->nr_ifaces; i++) {
		if (strcmp(cfg->iface[i].name, name))
			continue;
		add_error(p, p->lineno,
			  "%s: interface configured twice, first on line %d (allowed: one section per interface)",
			  p->title, p->ifs[i].line);
		return;
	}
	if (cfg->nr_ifaces == CANARY_MAX_IFACES) {
		add_error(p, p->lineno, "%s: too many interfaces (allowed: at most %d)", p->title,
			  CANARY_MAX_IFACES);
		return;
	}
	i = cfg->nr_ifaces++;
	ifc = &cfg->iface[i];
	memset(ifc, 0, sizeof(*ifc));
	strcpy(ifc->name, name);
	ifc->native = true;
	ifc->fail_closed = false;
	rollout_defaults(&ifc->rollout);
	judge_config__defaults(&ifc->judge);
	p->ifs[i].line = p->lineno;
	p->iface = ifc;
	p->ist = &p->ifs[i];
	p->sec = SEC_IFACE;
}

static bool hook_name_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static void webhook_start(struct parser *p, const char *name)
{
	struct canaryd_config *cfg = p->cfg;
	struct canary_webhook_cfg *h;
	int i;

	if (!*name || strlen(name) >= CANARY_HOOK_NAME_LEN || !hook_name_ok(name)) {
		add_error(p, p->lineno, "%s: bad webhook name (allowed: [webhook NAME], NAME of 1 to %d "
			  "letters, digits, '_' or '-')", p->title, CANARY_HOOK_NAME_LEN - 1);
		return;
	}
	for (i = 0; i < cfg->nr_webhooks; i++) {
		if (strcmp(cfg->webhook[i].name, name))
			continue;
		add_error(p, p->lineno, "%s: webhook configured twice, first on line %d (allowed: one "
			  "section per webhook)", p->title, p->hooks[i].line);
		return;
	}
	if (cfg->nr_webhooks == CANARY_MAX_WEBHOOKS) {
		add_error(p, p->lineno, "%s: too many webhooks (allowed: at most %d)", p->title,
			  CANARY_MAX_WEBHOOKS);
		return;
	}
	i = cfg->nr_webhooks++;
	h = &cfg->webhook[i];
	memset(h, 0, sizeof(*h));
	strcpy(h->name, name);
	h->events = (1U << (ROLLOUT_N_FAILED + 1)) - 1;	/* every notice */
	h->gates = 0;
	h->timeout_ms = 2000;
	h->retries = 3;
	h->backoff_ms = 1000;
	h->on_failure = ROLLOUT_GATE_HOLD;
	p->hooks[i].line = p->lineno;
	p->hook = h;
	p->hst = &p->hooks[i];
	p->sec = SEC_WEBHOOK;
}

/* metadata.KEY = VALUE: free strings sent with every request of the webhook. */
static int on_metadata(struct parser *p, const char *name, const char *value)
{
	struct canary_webhook_cfg *h = p->hook;
	const char *key = name + strlen("metadata.");
	const char *allowed = "metadata.KEY = VALUE, KEY of 1 to 31 letters, digits, '_' or '-', "
			      "VALUE of at most 127 bytes, at most 16 keys";
	__u32 i;

	if (!*key || strlen(key) >= sizeof(h->meta[0].key) || !hook_name_ok(key)) {
		bad_key(p, name, "bad metadata key", allowed);
		return 0;
	}
	for (i = 0; i < h->nr_meta; i++) {
		if (!strcmp(h->meta[i].key, key)) {
			bad_key(p, name, "set again", allowed);
			return 0;
		}
	}
	if (h->nr_meta == CANARY_MAX_HOOK_META) {
		bad_key(p, name, "too many metadata keys", allowed);
		return 0;
	}
	if (strlen(value) >= sizeof(h->meta[0].value)) {
		bad_key(p, name, "value too long", allowed);
		return 0;
	}
	strcpy(h->meta[h->nr_meta].key, key);
	strcpy(h->meta[h->nr_meta].value, value);
	h->nr_meta++;
	return 1;
}

/* S is a trimmed line starting with '['. */
static void section_start(struct parser *p, char *s)
{
	char *end = find_chars_or_comment(s + 1, "]"), *rest, *kind, *name;

	p->sec = SEC_SKIP;
	snprintf(p->title, sizeof(p->title), "%s", s);
	if (*end != ']') {
		add_error(p, p->lineno, "cannot parse '%.60s': no ']' (allowed: %s)", s, SECTIONS);
		return;
	}
	*end = '\0';
	rest = skip_space(end + 1);
	kind = trim(s + 1);
	name = kind + strcspn(kind, " \t");
	if (*name) {
		*name = '\0';
		name = skip_space(name + 1);
	}
	snprintf(p->title, sizeof(p->title), "[%s%s%s]", kind, *name ? " " : "", name);
	if (*rest && *rest != ';' && *rest != '#') {
		add_error(p, p->lineno, "%s: text after ']' (allowed: a comment)", p->title);
		return;
	}
	if (!strcmp(kind, "interface")) {
		interface_start(p, name);
		return;
	}
	if (!strcmp(kind, "webhook")) {
		webhook_start(p, name);
		return;
	}
	if (!strcmp(kind, "daemon"))
		p->sec = SEC_DAEMON;
	else if (!strcmp(kind, "rollout"))
		p->sec = SEC_ROLLOUT;
	else if (!strcmp(kind, "judge"))
		p->sec = SEC_JUDGE;
	else
		add_error(p, p->lineno, "%s: unknown section (allowed: %s)", p->title, SECTIONS);
	if (p->sec != SEC_SKIP && *name) {
		p->sec = SEC_SKIP;
		add_error(p, p->lineno, "%s: this section takes no name (allowed: %s)", p->title,
			  SECTIONS);
	}
}

static char *hand_over(char *str, int num, const char *s)
{
	snprintf(str, num, "%s\n", s);
	return str;
}

/*
 * inih's line reader: one physical line per call, so inih's line count and
 * ours agree. Comments, section headers and malformed lines are handled here
 * and handed over blank; key lines are handed over as they are.
 */
static char *next_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	char *s, *end, *name, *value;

	p->long_value = NULL;
	if (num < 3 || getline(&p->line, &p->cap, p->f) < 0)
		return NULL;
	p->lineno++;
	s = p->line;
	if (p->lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	/* Trimmed, so inih never takes an indented line for a continuation. */
	s = trim(s);
	if (!*s || *s == ';' || *s == '#')
		return hand_over(str, num, "");
	if (*s == '[') {
		section_start(p, s);
		return hand_over(str, num, "");
	}
	end = find_chars_or_comment(s, "=:");
	if (*end != '=' && *end != ':') {
		add_error(p, p->lineno, "%s%scannot parse '%.60s' (allowed: [SECTION], KEY = VALUE, ; comment)",
			  p->title, *p->title ? " " : "", s);
		return hand_over(str, num, "");
	}
	if (strlen(s) + 2 <= (size_t)num)
		return hand_over(str, num, s);
	/*
	 * Longer than inih's line buffer (200 bytes as packaged): hand over
	 * the key alone and keep the value for on_pair(), so a long object path
	 * is not cut.
	 */
	*end = '\0';
	name = trim(s);
	value = end + 1;
	*find_chars_or_comment(value, NULL) = '\0';
	value = trim(value);
	if (strlen(name) + 3 > (size_t)num) {
		add_error(p, p->lineno, "%s%skey '%.40s...': unknown key", p->title,
			  *p->title ? " " : "", name);
		return hand_over(str, num, "");
	}
	p->long_value = value;
	snprintf(str, num, "%s=\n", name);
	return str;
}

static void *key_base(struct parser *p, const struct key *k)
{
	bool in_iface = p->sec == SEC_IFACE;

	switch (k->scope) {
	case SCOPE_DAEMON:
		return p->cfg;
	case SCOPE_IFACE:
		return p->iface;
	case SCOPE_ROLLOUT:
		return in_iface ? (void *)&p->iface->rollout : (void *)&p->rollout;
	case SCOPE_JUDGE:
		return in_iface ? (void *)&p->iface->judge : (void *)&p->judge;
	case SCOPE_WEBHOOK:
		return p->hook;
	}
	return NULL;
}

/* inih's handler: one "name = value" line of the current section. */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	const struct key *k;
	char allowed[512];
	int *set_on;
	int idx;

	(void)section;	/* next_line() tracks the sections, with their lines */
	if (p->long_value)
		value = p->long_value;
	if (p->sec == SEC_SKIP)
		return 1;	/* its header was reported */
	if (p->sec == SEC_NONE) {
		add_error(p, p->lineno, "key '%s': outside any section (allowed: %s)", name, SECTIONS);
		return 0;
	}
	if (p->sec == SEC_WEBHOOK && !strncmp(name, "metadata.", 9))
		return on_metadata(p, name, value);
	k = find_key(p->sec, name);
	if (!k) {
		list_keys(p->sec, allowed, sizeof(allowed));
		bad_key(p, name, "unknown key", allowed);
		return 0;
	}
	idx = k - keys;
	set_on = p->sec == SEC_IFACE ? p->ist->key_line :
		 p->sec == SEC_WEBHOOK ? p->hst->key_line : p->key_line;
	if (set_on[idx]) {
		/* Two values for one key is a mistake whichever one was meant. */
		snprintf(p->why, sizeof(p->why), "set again, first on line %d", set_on[idx]);
		bad_key(p, name, p->why, "each key once");
		return 0;
	}
	set_on[idx] = p->lineno;
	if (!*value && !k->empty_ok) {
		bad_key(p, name, "no value", k->allowed);
		return 0;
	}
	p->why[0] = '\0';
	if (k->parse(p, k, value, (char *)key_base(p, k) + k->off)) {
		bad_key(p, name, p->why[0] ? p->why : "bad value", k->allowed);
		return 0;
	}
	return 1;
}

/* A step's maximum time can't be shorter than its minimum bake time. */
static void check_times(struct parser *p, const struct canary_rollout_cfg *r, const int *set_on,
			const char *title)
{
	int min_i = key_index("step_time"), max_i = key_index("max_step_time");
	char min[32], max[32];

	if (!r->max_step_time_ms || r->max_step_time_ms >= r->step_time_ms)
		return;
	fmt_duration(r->step_time_ms, min, sizeof(min));
	fmt_duration(r->max_step_time_ms, max, sizeof(max));
	if (set_on[max_i])
		add_error(p, set_on[max_i],
			  "%s key 'max_step_time': %s is shorter than step_time %s (allowed: 0 for no limit, or at least step_time)",
			  title, max, min);
	else
		add_error(p, set_on[min_i],
			  "%s key 'step_time': %s is longer than max_step_time %s (allowed: at most max_step_time)",
			  title, min, max);
}

static int find_webhook(const struct canaryd_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->nr_webhooks; i++)
		if (!strcmp(cfg->webhook[i].name, name))
			return i;
	return -1;
}

/* Required keys of the webhooks, then each interface's webhook = list. */
static void finish_webhooks(struct parser *p)
{
	int url_i = key_index("url"), sec_i = key_index("secret"), file_i = key_index("secret_file");
	int hook_i = key_index("webhook");
	struct canaryd_config *cfg = p->cfg;
	int i;

	for (i = 0; i < cfg->nr_webhooks; i++) {
		const struct iface_state *st = &p->hooks[i];

		if (!st->key_line[url_i])
			add_error(p, st->line, "[webhook %s] key 'url': missing (allowed: an http:// or "
				  "https:// URL, required)", cfg->webhook[i].name);
		if (st->key_line[sec_i] && st->key_line[file_i])
			add_error(p, st->key_line[file_i], "[webhook %s] key 'secret_file': secret "
				  "already set on line %d (allowed: one of secret, secret_file)",
				  cfg->webhook[i].name, st->key_line[sec_i]);
	}
	for (i = 0; i < cfg->nr_ifaces; i++) {
		struct canary_iface_cfg *ifc = &cfg->iface[i];
		int line = p->ifs[i].key_line[hook_i];
		char buf[sizeof(ifc->webhooks)], *tok, *save;

		ifc->nr_hooks = 0;
		ifc->gate_hook = -1;
		if (!line)
			continue;
		strcpy(buf, ifc->webhooks);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int h, k;

			tok = trim(tok);
			h = find_webhook(cfg, tok);
			if (h < 0) {
				add_error(p, line, "[interface %s] key 'webhook': no [webhook %.40s] section "
					  "(allowed: names of [webhook NAME] sections)", ifc->name, tok);
				continue;
			}
			for (k = 0; k < ifc->nr_hooks && ifc->hook[k] != h; k++)
				;
			if (k < ifc->nr_hooks)
				continue;	/* named twice: one is enough */
			if (ifc->nr_hooks == CANARY_MAX_IFACE_HOOKS) {
				add_error(p, line, "[interface %s] key 'webhook': too many webhooks "
					  "(allowed: at most %d)", ifc->name, CANARY_MAX_IFACE_HOOKS);
				break;
			}
			if (cfg->webhook[h].gates && ifc->gate_hook >= 0) {
				add_error(p, line, "[interface %s] key 'webhook': webhooks %s and %s both "
					  "have gates (allowed: one webhook with gates per interface)",
					  ifc->name, cfg->webhook[ifc->gate_hook].name, tok);
				continue;
			}
			if (cfg->webhook[h].gates)
				ifc->gate_hook = h;
			ifc->hook[ifc->nr_hooks++] = h;
		}
	}
}

static void finish(struct parser *p)
{
	int min_i = key_index("step_time"), max_i = key_index("max_step_time");
	int stable_i = key_index("stable");
	struct canaryd_config *cfg = p->cfg;
	char title[IF_NAMESIZE + 16];
	int i;
	size_t k;

	if (p->key_line[min_i] || p->key_line[max_i])
		check_times(p, &p->rollout, p->key_line, "[rollout]");
	for (i = 0; i < cfg->nr_ifaces; i++) {
		struct canary_iface_cfg *ifc = &cfg->iface[i];
		struct iface_state *st = &p->ifs[i];

		snprintf(title, sizeof(title), "[interface %s]", ifc->name);
		/* A bad value was reported where it stands. */
		if (!st->key_line[stable_i])
			add_error(p, st->line, "%s key 'stable': missing (allowed: OBJECT or OBJECT:PROGRAM, required)",
				  title);
		for (k = 0; k < ARRAY_SIZE(keys); k++) {
			const struct key *key = &keys[k];

			if (st->key_line[k])
				continue;
			if (key->scope == SCOPE_ROLLOUT)
				memcpy((char *)&ifc->rollout + key->off,
				       (char *)&p->rollout + key->off, key->size);
			else if (key->scope == SCOPE_JUDGE)
				memcpy((char *)&ifc->judge + key->off, (char *)&p->judge + key->off,
				       key->size);
		}
		/* A conflict of the global values was reported above, once. */
		if (st->key_line[min_i] || st->key_line[max_i])
			check_times(p, &ifc->rollout, st->key_line, title);
		/* The engine sets these per step from the plan; keep them agreeing. */
		ifc->judge.min_bake_ms = ifc->rollout.step_time_ms;
		ifc->judge.max_step_ms = ifc->rollout.max_step_time_ms;
		ifc->judge.min_cand_packets = ifc->rollout.min_packets;
	}
	finish_webhooks(p);
}

static void defaults(struct canaryd_config *cfg, struct parser *p)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->socket, "/run/canaryd.sock");
	strcpy(cfg->pin_root, "/sys/fs/bpf/canaryd");
	strcpy(cfg->state_dir, "/var/lib/canaryd");
	cfg->interval_ms = 1000;
	strcpy(cfg->metrics, CANARY_METRICS_DEFAULT);
	cfg->log_level = CANARY_LOG_INFO;
	rollout_defaults(&p->rollout);
	judge_config__defaults(&p->judge);
}

int canaryd_config__load(struct canaryd_config *cfg, const char *path, char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };
	int rc, ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg || !path)
		return -EINVAL;
	defaults(cfg, &p);
	p.f = fopen(path, "re");
	if (!p.f) {
		ret = -errno;
		add_error(&p, 0, "cannot open: %s", strerror(-ret));
		return ret;
	}
	rc = ini_parse_stream(next_line, &p, on_pair, &p);
	if (ferror(p.f)) {
		ret = -EIO;
		add_error(&p, 0, "read error after line %d", p.lineno);
	} else if (rc < 0) {
		ret = -ENOMEM;
		add_error(&p, 0, "inih could not allocate its line buffer");
	} else if (rc > 0 && !p.nr_errors) {
		/* Should not happen: next_line() reports every line inih rejects. */
		add_error(&p, rc, "cannot parse this line");
	}
	fclose(p.f);
	free(p.line);
	if (ret)
		return ret;
	finish(&p);
	return p.nr_errors ? -EINVAL : 0;
}
