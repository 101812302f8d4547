// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration parser's own types (config.c, config_values.c,
 * config_keys.c): the key table, the parser state and the value parsers.
 * Private to canaryd/config*.c; config.h is the interface.
 */
#ifndef CANARYD_CONFIG_PARSE_H
#define CANARYD_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Room in the per-section "which line set this key" records. */
#define MAX_KEYS 80
#define WHY_LEN 256
#define SECTIONS "[daemon], [rollout], [judge], [interface NAME], [webhook NAME], [entity NAME]"

enum scope {
	SCOPE_DAEMON,	/* struct canaryd_config */
	SCOPE_IFACE,	/* struct canary_iface_cfg */
	SCOPE_ROLLOUT,	/* struct canary_rollout_cfg: global or one interface's */
	SCOPE_JUDGE,	/* struct judge_config: global or one interface's */
	SCOPE_WEBHOOK,	/* struct canary_webhook_cfg */
	SCOPE_ENTITY,	/* struct canary_entity_cfg */
};

enum section {
	SEC_NONE,	/* before the first section header */
	SEC_DAEMON,
	SEC_ROLLOUT,
	SEC_JUDGE,
	SEC_IFACE,
	SEC_WEBHOOK,
	SEC_ENTITY,
	SEC_SKIP,	/* a header already reported as wrong: its keys are ignored */
};

/* A direction key's bits (parse_dir). */
#define DIR_UP 1
#define DIR_DOWN 2

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
	struct canary_entity_cfg *entity;	/* SEC_ENTITY */
	struct iface_state *est;

	/* [rollout] and [judge] as given outside any interface. */
	struct canary_rollout_cfg rollout;
	struct judge_config judge;
	int key_line[MAX_KEYS];		/* where the global sections set each key */
	struct iface_state ifs[CANARY_MAX_IFACES];
	struct iface_state hooks[CANARY_MAX_WEBHOOKS];
	struct iface_state ents[CANARY_MAX_ENTITIES];
};

extern const struct key canaryd_config_keys[];
extern const size_t canaryd_config_nr_keys;

/* config_values.c: messages, text helpers and one parser per kind of value. */
void __attribute__((format(printf, 3, 4)))
add_error(struct parser *p, int line, const char *fmt, ...);
void bad_key(struct parser *p, const char *name, const char *what, const char *allowed);
char *skip_space(char *s);
char *trim(char *s);
char *find_chars_or_comment(char *s, const char *chars);
void fmt_duration(__u64 ms, char *buf, size_t len);
int parse_double(const char *v, double *d);
int why_not(struct parser *p, const char *v, int err, const char *what);
int out_of_range(struct parser *p, const char *v);
bool in_range(const struct key *k, __u64 n);
int parse_path(struct parser *p, const struct key *k, const char *v, void *field);
int parse_assignments(struct parser *p, const struct key *k, const char *v, void *field);
int parse_pins(struct parser *p, const struct key *k, const char *v, void *field);
int parse_entity_rules(struct parser *p, const struct key *k, const char *v, void *field);
int parse_metrics(struct parser *p, const struct key *k, const char *v, void *field);
int parse_duration(struct parser *p, const struct key *k, const char *v, void *field);
int parse_count(struct parser *p, const struct key *k, const char *v, void *field);
int parse_breaker(struct parser *p, const struct key *k, const char *v, void *field);
int parse_cost_sample(struct parser *p, const struct key *k, const char *v, void *field);
int find_choice(struct parser *p, const struct key *k, const char *v, int *val);
int parse_choice(struct parser *p, const struct key *k, const char *v, void *field);
int parse_dir(struct parser *p, const struct key *k, const char *v, void *field);
int parse_prob(struct parser *p, const struct key *k, const char *v, void *field);
int parse_ratio(struct parser *p, const struct key *k, const char *v, void *field);
int parse_budget(struct parser *p, const struct key *k, const char *v, void *field);
int parse_deff(struct parser *p, const struct key *k, const char *v, void *field);
int parse_steps(struct parser *p, const struct key *k, const char *v, void *field);
int parse_stable(struct parser *p, const struct key *k, const char *v, void *field);
int parse_names(struct parser *p, const char *v, const char *const *names, size_t nr,
		__u32 *mask);
int parse_events(struct parser *p, const struct key *k, const char *v, void *field);
int parse_gates(struct parser *p, const struct key *k, const char *v, void *field);
int parse_url(struct parser *p, const struct key *k, const char *v, void *field);
int parse_secret(struct parser *p, const struct key *k, const char *v, void *field);
int parse_secret_file(struct parser *p, const struct key *k, const char *v, void *field);

#endif
