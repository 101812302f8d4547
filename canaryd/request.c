// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "dp.h"
#include "proto.h"
#include "request.h"
#include "canary_abi.h"

static const char *const cmd_names[] = {
	[CANARYD_CMD_STATUS] = "status",   [CANARYD_CMD_START] = "start",
	[CANARYD_CMD_PAUSE] = "pause",	   [CANARYD_CMD_RESUME] = "resume",
	[CANARYD_CMD_PROMOTE] = "promote", [CANARYD_CMD_ABORT] = "abort",
	[CANARYD_CMD_REVERT] = "revert",   [CANARYD_CMD_PREPARE] = "prepare",
	[CANARYD_CMD_PIN] = "pin",
	[CANARYD_CMD_RELEASE] = "release", [CANARYD_CMD_CAPTURE] = "capture",
	[CANARYD_CMD_CAPTURE_READ] = "capture-read", [CANARYD_CMD_CAPTURE_STOP] = "capture-stop",
};

static const char *const capture_versions[] = {
	[CANARYD_CAPTURE_ANY] = "any",
	[CANARYD_CAPTURE_STABLE] = "stable",
	[CANARYD_CAPTURE_CANDIDATE] = "candidate",
};

const char *canaryd_cmd__name(enum canaryd_cmd cmd)
{
	return (unsigned int)cmd < sizeof(cmd_names) / sizeof(cmd_names[0]) ? cmd_names[cmd] : "?";
}

/*
 * What the client sent, fit to quote in a one-line message: at most 64
 * bytes, control characters (a JSON "\n" decodes to one) as '?'.
 */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

/* An optional string member KEY into BUF. */
static int copy_str(json_t *o, const char *key, char *buf, size_t size, char *msg, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= size) {
		snprintf(msg, len, "start: \"%s\" must be a string of at most %zu bytes", key,
			 size - 1);
		return -EINVAL;
	}
	strcpy(buf, json_string_value(v));
	return 0;
}

/* "pin": rules separated by commas, checked by the one rule parser. */
static int parse_pin(json_t *o, const char *cmd, struct canaryd_request *req, char *msg,
		     size_t len)
{
	struct canary_pin_rule rules[CANARY_PIN_LIST_MAX];
	char bad[128], q[64];
	size_t n;
	int err;

	if (copy_str(o, "pin", req->pin, sizeof(req->pin), msg, len))
		return -EINVAL;
	err = canary_pin_rules__parse(req->pin, rules, CANARY_PIN_LIST_MAX, &n, bad, sizeof(bad));
	if (err == -E2BIG)
		snprintf(msg, len, "%s: more than %d pin rules", cmd, CANARY_PIN_LIST_MAX);
	else if (err)
		snprintf(msg, len, "%s: bad pin rule '%s' (src|dst PREFIX -> candidate|stable)", cmd,
			 quote(bad, q, sizeof(q)));
	return err ? -EINVAL : 0;
}

static int parse_start(json_t *o, struct canaryd_request *req, char *msg, size_t len)
{
	const char *spec = json_string_value(json_object_get(o, "candidate"));
	const char *steps = json_string_value(json_object_get(o, "steps"));
	json_t *st = json_object_get(o, "step_time_ms");
	json_t *wu = json_object_get(o, "warmup_ms");
	json_t *sh = json_object_get(o, "shadow_ms");
	json_t *sl = json_object_get(o, "shadow_live");
	struct rollout_plan plan;
	char q[64];

	if (!spec || canary_split_objprog(spec, req->cand_obj, sizeof(req->cand_obj),
					  req->cand_prog, sizeof(req->cand_prog))) {
		snprintf(msg, len, "start: \"candidate\" must be OBJECT[:PROGRAM]");
		return -EINVAL;
	}
	if (st) {
		if (!json_is_integer(st) || json_integer_value(st) <= 0) {
			snprintf(msg, len, "start: step_time_ms must be a positive integer");
			return -EINVAL;
		}
		req->step_time_ms = json_integer_value(st);
	}
	req->warmup_ms = ~0ULL;
	if (wu) {
		if (!json_is_integer(wu) || json_integer_value(wu) < 0) {
			snprintf(msg, len, "start: warmup_ms must be an integer >= 0");
			return -EINVAL;
		}
		req->warmup_ms = json_integer_value(wu);
	}
	req->shadow_ms = ~0ULL;
	if (sh) {
		if (!json_is_integer(sh) || json_integer_value(sh) < 0 ||
		    json_integer_value(sh) > 3600 * 1000) {
			snprintf(msg, len, "start: shadow_ms must be an integer from 0 to 3600000");
			return -EINVAL;
		}
		req->shadow_ms = json_integer_value(sh);
	}
	req->shadow_live = -1;
	if (sl) {
		if (!json_is_boolean(sl)) {
			snprintf(msg, len, "start: shadow_live must be true or false");
			return -EINVAL;
		}
		req->shadow_live = json_is_true(sl);
	}
	/* The shares alone; the interface's times are checked when it starts. */
	if (steps && (strlen(steps) >= sizeof(req->steps) ||
		      rollout_plan__parse(&plan, steps, req->step_time_ms, 0, 0))) {
		snprintf(msg, len, "start: steps '%s' must be rising percentages in steps of 0.1, ending at 100, "
			 "e.g. 1,5,25,50,100, after at most %d entity steps pin:NAME",
			 quote(steps, q, sizeof(q)), ROLLOUT_MAX_ENTITIES);
		return -EINVAL;
	}
	if (steps)
		strcpy(req->steps, steps);
	if (copy_str(o, "prepare", req->prepare, sizeof(req->prepare), msg, len) ||
	    copy_str(o, "set", req->set, sizeof(req->set), msg, len) ||
	    parse_pin(o, "start", req, msg, len))
		return -EINVAL;
	if (req->set[0]) {
		char name[128], value[256];
		const char *s = req->set;
		int r;

		while ((r = canary_assign__next(&s, name, sizeof(name), value, sizeof(value))) > 0)
			;
		if (r < 0) {
			snprintf(msg, len, "start: set '%s' must be NAME=VALUE items separated by "
				 "commas", quote(req->set, q, sizeof(q)));
			return -EINVAL;
		}
	}
	return 0;
}

/* An optional integer member KEY in [LO, HI] into *OUT (left as it is when absent). */
static int get_u32(json_t *o, const char *cmd, const char *key, __u32 lo, __u32 hi, __u32 *out,
		   char *msg, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(msg, len, "%s: \"%s\" must be an integer from %u to %u", cmd, key, lo, hi);
		return -EINVAL;
	}
	*out = (__u32)json_integer_value(v);
	return 0;
}

static int parse_capture(json_t *o, struct canaryd_request *req, char *msg, size_t len)
{
	const char *cmd = canaryd_cmd__name(req->cmd);
	json_t *v = json_object_get(o, "version");
	char q[64];
	size_t i;

	if (req->cmd != CANARYD_CMD_CAPTURE) {
		if (!json_object_get(o, "id")) {
			snprintf(msg, len, "%s: \"id\" (the capture's, from its start) is required",
				 cmd);
			return -EINVAL;
		}
		return get_u32(o, cmd, "id", 1, UINT32_MAX, &req->id, msg, len);
	}
	if (!json_object_get(o, "count")) {
		snprintf(msg, len, "capture: \"count\" is required (1 to %d samples)",
			 CANARY_CAPTURE_COUNT_MAX);
		return -EINVAL;
	}
	req->rate = CANARY_CAPTURE_RATE_DEFAULT;
	if (get_u32(o, cmd, "count", 1, CANARY_CAPTURE_COUNT_MAX, &req->count, msg, len) ||
	    get_u32(o, cmd, "rate", 1, CANARY_SAMPLE_RATE_MAX, &req->rate, msg, len) ||
	    get_u32(o, cmd, "snap", 14, CANARY_SNAP_MAX, &req->snap, msg, len))
		return -EINVAL;
	if (!v)
		return 0;
	for (i = 0; i < sizeof(capture_versions) / sizeof(capture_versions[0]); i++)
		if (json_is_string(v) && !strcmp(json_string_value(v), capture_versions[i]))
			break;
	if (i == sizeof(capture_versions) / sizeof(capture_versions[0])) {
		snprintf(msg, len, "capture: version '%s' must be any, stable or candidate",
			 json_is_string(v) ? quote(json_string_value(v), q, sizeof(q)) : "?");
		return -EINVAL;
	}
	req->version = i;
	return 0;
}

const char *canaryd_capture_version__name(enum canaryd_capture_version v)
{
	return (unsigned int)v < sizeof(capture_versions) / sizeof(capture_versions[0])
		       ? capture_versions[v]
		       : "?";
}

static int parse_object(json_t *o, struct canaryd_request *req, char *msg, size_t len)
{
	const char *cmd = json_string_value(json_object_get(o, "cmd"));
	const char *name = json_string_value(json_object_get(o, "iface"));
	char q[64];
	size_t i;

	if (!cmd) {
		snprintf(msg, len, "request has no \"cmd\"");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (!strcmp(cmd, cmd_names[i]))
			break;
	if (i == sizeof(cmd_names) / sizeof(cmd_names[0])) {
		snprintf(msg, len, "unknown command '%s' (status, start, pause, resume, promote, "
			 "abort, revert, prepare, pin, release, capture, capture-read, capture-stop)", quote(cmd, q, sizeof(q)));
		return -EINVAL;
	}
	req->cmd = i;
	/* Linux refuses such names (dev_valid_name()): no need to look them up. */
	if (name && (!name[0] || strlen(name) >= sizeof(req->iface) ||
		     strpbrk(name, "/: \t\n\r\v\f") || strcmp(quote(name, q, sizeof(q)), name))) {
		snprintf(msg, len, "iface %s is not managed by this canaryd (no interface has "
			 "this name)", quote(name, q, sizeof(q)));
		return -ENODEV;
	}
	if (name)
		strcpy(req->iface, name);
	else if (req->cmd != CANARYD_CMD_STATUS) {
		snprintf(msg, len, "%s: \"iface\" is required", cmd);
		return -EINVAL;
	}
	if (req->cmd == CANARYD_CMD_PIN) {
		if (!json_is_string(json_object_get(o, "pin"))) {
			snprintf(msg, len, "pin: \"pin\" (the rules, \"\" for none) is required");
			return -EINVAL;
		}
		return parse_pin(o, "pin", req, msg, len);
	}
	if (req->cmd == CANARYD_CMD_CAPTURE || req->cmd == CANARYD_CMD_CAPTURE_READ ||
	    req->cmd == CANARYD_CMD_CAPTURE_STOP)
		return parse_capture(o, req, msg, len);
	return req->cmd == CANARYD_CMD_START ? parse_start(o, req, msg, len) : 0;
}

int canaryd_request__parse(const char *line, struct canaryd_request *req, char *msg, size_t len)
{
	json_error_t jerr;
	json_t *o;
	int err;

	memset(req, 0, sizeof(*req));
	if (len)
		msg[0] = '\0';
	o = json_loads(line, 0, &jerr);
	if (!o || !json_is_object(o)) {
		/* jerr is only filled in when the text is not JSON at all. */
		snprintf(msg, len, "request is not a JSON object: %s",
			 o ? "another JSON value" : jerr.text);
		json_decref(o);
		return -EINVAL;
	}
	err = parse_object(o, req, msg, len);
	json_decref(o);
	return err;
}
