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
#include "config_parse.h"


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
	case SCOPE_ENTITY:
		return sec == SEC_ENTITY;
	}
	return false;
}

static const struct key *find_key(enum section sec, const char *name)
{
	size_t i;

	for (i = 0; i < canaryd_config_nr_keys; i++)
		if (key_in(&canaryd_config_keys[i], sec) && !strcmp(canaryd_config_keys[i].name, name))
			return &canaryd_config_keys[i];
	return NULL;
}

static int key_index(const char *name)
{
	size_t i;

	for (i = 0; i < canaryd_config_nr_keys; i++)
		if (!strcmp(canaryd_config_keys[i].name, name))
			return i;
	return -1;
}

/* The keys of SEC, for the message about an unknown one. */
static void list_keys(enum section sec, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < canaryd_config_nr_keys && used < len; i++) {
		if (canaryd_config_keys[i].hidden || !key_in(&canaryd_config_keys[i], sec))
			continue;
		if (sec == SEC_IFACE && canaryd_config_keys[i].scope != SCOPE_IFACE)
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "", canaryd_config_keys[i].name);
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
	r->shadow_rate = CANARYD_SHADOW_RATE;
	r->shadow_live_every = CANARYD_SHADOW_LIVE_EVERY;
	r->shadow_live_rate = CANARYD_SHADOW_LIVE_RATE;
	r->min_packets = 10000;
	r->on_timeout = ROLLOUT_TIMEOUT_PAUSE;
	r->breaker_budget = 100;
	r->symmetric = false;
	r->cost_sample = CANARY_COST_SAMPLE_DEFAULT;
	r->prepare_timeout_ms = 30 * 1000;
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

static void entity_start(struct parser *p, const char *name)
{
	struct canaryd_config *cfg = p->cfg;
	int i;

	if (!*name || strlen(name) >= ROLLOUT_ENTITY_LEN ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
		    strlen(name)) {
		add_error(p, p->lineno, "%s: bad entity name (allowed: [entity NAME], NAME of 1 to "
			  "%d letters, digits, '_', '-' or '.')", p->title, ROLLOUT_ENTITY_LEN - 1);
		return;
	}
	for (i = 0; i < cfg->nr_entities; i++) {
		if (strcmp(cfg->entity[i].name, name))
			continue;
		add_error(p, p->lineno, "%s: entity configured twice, first on line %d (allowed: "
			  "one section per entity)", p->title, p->ents[i].line);
		return;
	}
	if (cfg->nr_entities == CANARY_MAX_ENTITIES) {
		add_error(p, p->lineno, "%s: too many entities (allowed: at most %d)", p->title,
			  CANARY_MAX_ENTITIES);
		return;
	}
	i = cfg->nr_entities++;
	memset(&cfg->entity[i], 0, sizeof(cfg->entity[i]));
	strcpy(cfg->entity[i].name, name);
	p->ents[i].line = p->lineno;
	p->entity = &cfg->entity[i];
	p->est = &p->ents[i];
	p->sec = SEC_ENTITY;
}

const struct canary_entity_cfg *canaryd_config__entity(const struct canaryd_config *cfg,
							const char *name)
{
	int i;

	for (i = 0; i < cfg->nr_entities; i++)
		if (!strcmp(cfg->entity[i].name, name))
			return &cfg->entity[i];
	return NULL;
}

int canaryd_config__check_entities(const struct canaryd_config *cfg,
				   const struct rollout_plan *plan, char *msg, size_t len)
{
	size_t used;
	__u32 k;
	int i;

	for (k = 0; k < plan->nr_entities; k++) {
		if (canaryd_config__entity(cfg, plan->entity[k]))
			continue;
		used = snprintf(msg, len, "no [entity %s] section for step pin:%s (known: ",
				plan->entity[k], plan->entity[k]);
		for (i = 0; i < cfg->nr_entities && used < len; i++)
			used += snprintf(msg + used, len - used, "%s%s", i ? ", " : "",
					 cfg->entity[i].name);
		if (used < len)
			snprintf(msg + used, len - used, "%s)", cfg->nr_entities ? "" : "none");
		return -ENOENT;
	}
	return 0;
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
	if (!strcmp(kind, "entity")) {
		entity_start(p, name);
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
	case SCOPE_ENTITY:
		return p->entity;
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
	idx = k - canaryd_config_keys;
	set_on = p->sec == SEC_IFACE ? p->ist->key_line :
		 p->sec == SEC_WEBHOOK ? p->hst->key_line :
		 p->sec == SEC_ENTITY ? p->est->key_line : p->key_line;
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

/* Each [entity] has its rules; each interface's entity steps name one. */
static void finish_entities(struct parser *p)
{
	int rules_i = key_index("rules"), steps_i = key_index("steps");
	struct canaryd_config *cfg = p->cfg;
	struct rollout_plan plan;
	char msg[512];
	int i;

	for (i = 0; i < cfg->nr_entities; i++)
		if (!p->ents[i].key_line[rules_i])
			add_error(p, p->ents[i].line, "[entity %s] key 'rules': missing (allowed: "
				  "src|dst PREFIX rules separated by commas, required)",
				  cfg->entity[i].name);
	for (i = 0; i < cfg->nr_ifaces; i++) {
		const struct canary_iface_cfg *ifc = &cfg->iface[i];
		int line = p->ifs[i].key_line[steps_i] ? p->ifs[i].key_line[steps_i]
						       : p->key_line[steps_i];

		if (rollout_plan__parse(&plan, ifc->rollout.steps, 0, 0, 0) ||
		    !canaryd_config__check_entities(cfg, &plan, msg, sizeof(msg)))
			continue;
		add_error(p, line, "[interface %s] key 'steps': %s (allowed: pin:NAME of an "
			  "[entity NAME] section)", ifc->name, msg);
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
		for (k = 0; k < canaryd_config_nr_keys; k++) {
			const struct key *key = &canaryd_config_keys[k];

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
	finish_entities(p);
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
