// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsers shared by the daemon's config, its control protocol and canaryctl. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "canary_abi.h"
#include "dp.h"
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

int canary_assign__next(const char **spec, char *name, size_t nlen, char *value, size_t vlen)
{
	const char *s = *spec, *eq, *end;
	size_t n;

	while (*s == ',' || *s == ' ')
		s++;
	if (!*s) {
		*spec = s;
		return 0;
	}
	end = s + strcspn(s, ",");
	eq = memchr(s, '=', end - s);
	if (!eq || eq == s || (!isalpha((unsigned char)*s) && *s != '_'))
		return -EINVAL;
	for (n = 0; s + n < eq; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '.')
			return -EINVAL;
	if (n >= nlen || (size_t)(end - eq - 1) >= vlen)
		return -ENAMETOOLONG;
	memcpy(name, s, n);
	name[n] = '\0';
	memcpy(value, eq + 1, end - eq - 1);
	value[end - eq - 1] = '\0';
	*spec = end;
	return 1;
}

int canary_parse_int_value(const char *value, unsigned int size, int is_signed, __u64 *out)
{
	const char *s = value;
	bool neg = false, hex;
	__u64 v = 0, max;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (!strcmp(value, "true")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(value, "false")) {
		*out = 0;
		return 0;
	}
	if (*s == '-') {
		if (!is_signed)
			return -ERANGE;
		neg = true;
		s++;
	}
	hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (hex)
		s += 2;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;

		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (hex && isxdigit((unsigned char)*s))
			d = (tolower((unsigned char)*s) - 'a') + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
			return -ERANGE;
		v = v * (hex ? 16 : 10) + d;
	}
	max = size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
	if (is_signed)
		max >>= 1;
	if (neg ? v > max + 1 : v > max)
		return -ERANGE;
	*out = neg ? (~v + 1) & (size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1) : v;
	return 0;
}

/* Pin rules: see lib/dp.h. */
static int pin_prefix(char *p, struct canary_pin_rule *rule)
{
	char *slash = strchr(p, '/'), *end;
	unsigned long plen;

	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, p, rule->addr) == 1)
		rule->family = AF_INET;
	else if (inet_pton(AF_INET6, p, rule->addr) == 1)
		rule->family = AF_INET6;
	else
		return -EINVAL;
	if (!slash) {
		rule->prefixlen = rule->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end || plen > (rule->family == AF_INET ? 32U : 128U))
		return -EINVAL;
	rule->prefixlen = plen;
	return 0;
}

/* "src|dst PREFIX" in two words W into RULE (its slot left alone). */
static int pin_match(char *const *w, struct canary_pin_rule *rule)
{
	if (!strcmp(w[0], "dst"))
		rule->dir = CANARY_PIN_DST;
	else if (!strcmp(w[0], "src"))
		rule->dir = CANARY_PIN_SRC;
	else
		return -EINVAL;
	return pin_prefix(w[1], rule);
}

int canary_pin_match__parse(const char *text, struct canary_pin_rule *rule)
{
	char buf[INET6_ADDRSTRLEN + 64], *w[3], *save = NULL;
	int nw = 0;

	memset(rule, 0, sizeof(*rule));
	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -EINVAL;
	for (char *t = strtok_r(buf, " \t", &save); t && nw < 3; t = strtok_r(NULL, " \t", &save))
		w[nw++] = t;
	if (nw != 2 || pin_match(w, rule)) {
		memset(rule, 0, sizeof(*rule));
		return -EINVAL;
	}
	return 0;
}

int canary_pin_rule__parse(const char *text, struct canary_pin_rule *rule)
{
	char buf[INET6_ADDRSTRLEN + 64], *w[4], *save = NULL, *eq, *end;
	unsigned long slot;
	int nw = 0;

	memset(rule, 0, sizeof(*rule));
	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -EINVAL;
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (nw == 4)
			return -EINVAL;
		w[nw++] = t;
	}
	if (nw == 4) {
		/* src|dst PREFIX -> candidate|stable */
		if (strcmp(w[2], "->"))
			return -EINVAL;
		if (!strcmp(w[3], "candidate"))
			rule->slot = 1;
		else if (!strcmp(w[3], "stable"))
			rule->slot = CANARY_SLOT_STABLE;
		else
			return -EINVAL;
		return pin_match(w, rule) ? (memset(rule, 0, sizeof(*rule)), -EINVAL) : 0;
	}
	if (nw != 1)
		return -EINVAL;
	/* The short form: [src:|dst:]PREFIX/LEN=SLOT */
	text = w[0];
	if (!strncmp(text, "dst:", 4)) {
		rule->dir = CANARY_PIN_DST;
		text += 4;
	} else if (!strncmp(text, "src:", 4)) {
		text += 4;
	}
	memmove(buf, text, strlen(text) + 1);
	eq = strchr(buf, '=');
	if (!eq || !strchr(buf, '/') || strchr(buf, '/') > eq)
		return -EINVAL;
	*eq = '\0';
	if (!isdigit((unsigned char)eq[1]))
		return -EINVAL;
	errno = 0;
	slot = strtoul(eq + 1, &end, 10);
	if (errno || *end || slot >= CANARY_MAX_SLOTS || pin_prefix(buf, rule)) {
		memset(rule, 0, sizeof(*rule));
		return -EINVAL;
	}
	rule->slot = slot;
	return 0;
}

static int rule_list(const char *list, int (*one)(const char *, struct canary_pin_rule *),
		     struct canary_pin_rule *rules, size_t max, size_t *n, char *bad,
		     size_t badlen)
{
	const char *s = list;

	*n = 0;
	for (;;) {
		size_t len = strcspn(s, ","), a = 0, b = len;
		struct canary_pin_rule r;
		char item[INET6_ADDRSTRLEN + 64];

		while (a < b && isspace((unsigned char)s[a]))
			a++;
		while (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		/* An empty list is no rule; an empty item between commas is an error. */
		if (a == b && !s[len] && s == list)
			return 0;
		if (b - a >= sizeof(item) ||
		    (snprintf(item, sizeof(item), "%.*s", (int)(b - a), s + a),
		     one(item, &r))) {
			if (bad)
				snprintf(bad, badlen, "%.*s", (int)(b - a), s + a);
			return -EINVAL;
		}
		if (*n == max)
			return -E2BIG;
		rules[(*n)++] = r;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

int canary_pin_rules__parse(const char *list, struct canary_pin_rule *rules, size_t max,
			    size_t *n, char *bad, size_t badlen)
{
	return rule_list(list, canary_pin_rule__parse, rules, max, n, bad, badlen);
}

int canary_pin_matches__parse(const char *list, struct canary_pin_rule *rules, size_t max,
			      size_t *n, char *bad, size_t badlen)
{
	return rule_list(list, canary_pin_match__parse, rules, max, n, bad, badlen);
}

int canary_pin_match__format(const struct canary_pin_rule *rule, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(rule->family, rule->addr, addr, sizeof(addr)))
		return -EINVAL;
	return snprintf(buf, len, "%s %s/%u", rule->dir == CANARY_PIN_DST ? "dst" : "src", addr,
			rule->prefixlen) >= (int)len ? -ENOSPC : 0;
}

int canary_pin_rule__format(const struct canary_pin_rule *rule, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN], to[16];

	if (!inet_ntop(rule->family, rule->addr, addr, sizeof(addr)))
		return -EINVAL;
	if (rule->slot == CANARY_SLOT_STABLE)
		snprintf(to, sizeof(to), "stable");
	else if (rule->slot == 1)
		snprintf(to, sizeof(to), "candidate");
	else
		snprintf(to, sizeof(to), "slot %u", rule->slot);
	return snprintf(buf, len, "%s %s/%u -> %s", rule->dir == CANARY_PIN_DST ? "dst" : "src",
			addr, rule->prefixlen, to) >= (int)len ? -ENOSPC : 0;
}

/*
 * The dispatcher's class and verdict names (declared in dp.h), here with the
 * parsers so that users without libbpf (the report, the fuzz builds) share
 * the one table.
 */
const char *canary_class_name(__u32 cls)
{
	static const char *const names[CANARY_CLASS_MAX] = { "split", "pinned", "unparsed" };

	return cls < CANARY_CLASS_MAX ? names[cls] : "?";
}

const char *canary_verdict_name(__u32 verdict)
{
	static const char *const names[CANARY_V_MAX] = {
		"aborted", "drop", "pass", "tx", "redirect", "invalid",
	};

	return verdict < CANARY_V_MAX ? names[verdict] : "?";
}
