// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* canaryd configuration: the key table, one entry per key, and the names each choice accepts. */
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
#include "frags.h"

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
static const struct choice frags_choices[] = {
	{ "auto", ROLLOUT_FRAGS_AUTO }, { "yes", ROLLOUT_FRAGS_YES }, { "no", ROLLOUT_FRAGS_NO },
	{ NULL, 0 },
};
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
#define ENTITY(f) .scope = SCOPE_ENTITY, FIELD(struct canary_entity_cfg, f)
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

const struct key canaryd_config_keys[] = {
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
	{ .name = "frags", IFACE(frags), .parse = parse_choice, .choices = frags_choices,
	  .allowed = "auto, yes, no" },
	{ .name = "reattach", IFACE(reattach), BOOL },
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
	  .allowed = "rising percentages in steps of 0.1, ending at 100, at most 16, e.g. "
		     "1,5,25,50,100, after at most 8 entity steps pin:NAME of [entity NAME] "
		     "sections" },
	{ .name = "step_time", ROLLOUT(step_time_ms), .parse = parse_duration,
	  .allowed = "a duration: 250ms, 1s, 5m, 1h" },
	{ .name = "max_step_time", ROLLOUT(max_step_time_ms), .parse = parse_duration,
	  .allowed = "a duration of at least step_time, 0 for no limit" },
	{ .name = "warmup", ROLLOUT(warmup_ms), .parse = parse_duration, .hi = 3600 * 1000,
	  .allowed = "a duration up to 1h (the share-0 baseline before step 1; 0: none)" },
	{ .name = "shadow", ROLLOUT(shadow_ms), .parse = parse_duration, .hi = 3600 * 1000,
	  .allowed = "a duration up to 1h (the shadow phase before the warm-up; 0: none)" },
	{ .name = "shadow_rate", ROLLOUT(shadow_rate), .parse = parse_count, .lo = 1,
	  .hi = CANARY_SAMPLE_RATE_MAX,
	  .allowed = "a whole number from 1 to 1000000 (samples per second per CPU)" },
	{ .name = "shadow_live", ROLLOUT(shadow_live), BOOL },
	{ .name = "shadow_live_every", ROLLOUT(shadow_live_every), .parse = parse_count, .lo = 1,
	  .hi = 1U << 20,
	  .allowed = "a whole number from 1 to 1048576 (1 packet in N per CPU in the live steps)" },
	{ .name = "shadow_live_rate", ROLLOUT(shadow_live_rate), .parse = parse_count, .lo = 1,
	  .hi = CANARY_SAMPLE_RATE_MAX,
	  .allowed = "a whole number from 1 to 1000000 (samples per second per CPU in the live steps)" },
	{ .name = "min_packets", ROLLOUT(min_packets), .parse = parse_count,
	  .allowed = "a whole number" },
	{ .name = "on_timeout", ROLLOUT(on_timeout), .parse = parse_choice, .choices = timeouts,
	  .allowed = "pause, rollback" },
	{ .name = "breaker_budget", ROLLOUT(breaker_budget), .parse = parse_breaker,
	  .allowed = "a whole number, off" },
	{ .name = "symmetric", ROLLOUT(symmetric), BOOL },
	{ .name = "cost_sample", ROLLOUT(cost_sample), .parse = parse_cost_sample, .hi = 1U << 31,
	  .allowed = "0 for off, or a power of two up to 2147483648" },

	{ .name = "prepare", ROLLOUT(prepare), .parse = parse_path,
	  .allowed = "a shell command run after each version's load, before its traffic" },
	{ .name = "prepare_timeout", ROLLOUT(prepare_timeout_ms), .parse = parse_duration,
	  .lo = 100, .hi = 60 * 1000, .allowed = "a duration from 100ms to 60s (canaryd waits for it)" },
	{ .name = "copy_maps", ROLLOUT(copy_maps), .parse = parse_path,
	  .allowed = "map names separated by commas" },
	{ .name = "set", ROLLOUT(set), .parse = parse_assignments,
	  .allowed = "NAME=VALUE items separated by commas (globals in .rodata/.data)" },
	{ .name = "pin", ROLLOUT(pin), .parse = parse_pins,
	  .allowed = "pin rules separated by commas, each src|dst PREFIX -> candidate|stable, "
		     "e.g. dst 198.18.5.0/24 -> candidate (at most 32)" },

	{ .name = "rules", ENTITY(rule), .parse = parse_entity_rules,
	  .allowed = "rules separated by commas, each src|dst PREFIX, e.g. src 198.18.1.0/24 "
		     "(at most 32; the plan's pin:NAME step points them at the candidate)" },

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

const size_t canaryd_config_nr_keys = ARRAY_SIZE(canaryd_config_keys);
_Static_assert(ARRAY_SIZE(canaryd_config_keys) <= MAX_KEYS, "raise MAX_KEYS");
