// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control protocol's commands: one JSON request per connection
 * (proto.h), parsed by canaryd_request__parse(), answered by the command's
 * handler. The socket itself, its lock and its clients: control_socket.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "canaryd.h"
#include "log.h"
#include "proto.h"
#include "request.h"
#include "version.h"

static json_t *err_reply(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *err_reply(int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:i}", CANARY_K_OK, 0, CANARY_K_ERROR, msg, CANARY_K_ERRNO,
			 err < 0 ? -err : err);
}

/* REQ was checked by canaryd_request__parse(); steps and times may be defaults. */
static json_t *cmd_start(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	const struct canary_rollout_cfg *rc = &ifc->cfg.rollout;
	const char *steps = req->steps[0] ? req->steps : NULL;
	const char *obj = req->cand_obj, *prog = req->cand_prog;
	static char vlog[64 * 1024];	/* the verifier's log of a refused candidate */
	char msg[1024];
	struct bpf_object *bobj = NULL;
	struct canaryd_persist next;
	struct rollout_plan plan;
	struct rollout_event ev;
	__u64 step_ms = req->step_time_ms ? req->step_time_ms : rc->step_time_ms;
	struct canaryd_load l = { .obj = obj, .prog = prog, .timeout_ms = rc->prepare_timeout_ms,
				  .copy_maps = rc->copy_maps, .log = vlog, .log_len = sizeof(vlog) };
	char set[sizeof(rc->set) + sizeof(req->set) + 1];
	char pin[sizeof(rc->pin) + sizeof(req->pin) + 1];
	size_t nr_pins = 0;
	int fd, err;

	if (ifc->has_rollout && !rollout__done(&ifc->st.ro))
		return err_reply(EBUSY, "iface %s: a rollout of %s is %s; abort or promote it "
				 "first", ifc->cfg.name, ifc->st.cand_obj,
				 rollout_phase__name(ifc->st.ro.phase));
	err = rollout_plan__parse(&plan, steps ? steps : rc->steps, step_ms,
				  rc->max_step_time_ms > step_ms ? rc->max_step_time_ms : 0,
				  rc->min_packets);
	if (err)
		return err_reply(EINVAL,
				 "start: steps '%s' must be rising percentages in steps of 0.1, ending at 100, "
				 "e.g. 1,5,25,50,100, after at most %d entity steps pin:NAME, e.g. "
				 "pin:customer-a,1,5,100",
				 steps ? steps : rc->steps, ROLLOUT_MAX_ENTITIES);
	plan.on_timeout = rc->on_timeout;
	plan.breaker_budget = rc->breaker_budget;
	/* The baseline: as asked, else the config's. */
	plan.warmup_ms = req->warmup_ms != ~0ULL ? req->warmup_ms : rc->warmup_ms;
	plan.shadow_ms = req->shadow_ms != ~0ULL ? req->shadow_ms : rc->shadow_ms;
	plan.shadow_live = req->shadow_live >= 0 ? req->shadow_live : rc->shadow_live;
	if (ifc->cfg.gate_hook >= 0) {
		plan.gates = d->config.webhook[ifc->cfg.gate_hook].gates;
		plan.on_gate_failure = d->config.webhook[ifc->cfg.gate_hook].on_failure;
	}

	/* Everything is checked off to the side; the interface changes only if all pass. */
	vlog[0] = '\0';
	memset(&next, 0, sizeof(next));
	next.stable = ifc->st.stable;
	next.previous = ifc->st.previous;
	next.stable_id = ifc->st.stable_id;
	next.previous_id = ifc->st.previous_id;
	/* The request's prepare and globals for this candidate; the interface's otherwise. */
	snprintf(next.cand_prepare, sizeof(next.cand_prepare), "%s",
		 req->prepare[0] ? req->prepare : rc->prepare);
	snprintf(set, sizeof(set), "%s%s%s", rc->set, rc->set[0] && req->set[0] ? "," : "",
		 req->set);
	l.prepare = next.cand_prepare;
	l.set = set;
	/* The config's pin rules, then the request's: one set, swapped in whole. */
	snprintf(pin, sizeof(pin), "%s%s%s", rc->pin, rc->pin[0] && req->pin[0] ? "," : "",
		 req->pin);
	err = canary_pin_rules__parse(pin, next.pins, CANARY_PIN_LIST_MAX, &nr_pins, NULL, 0);
	if (err)
		return err_reply(err, "iface %s: start: the config's and the request's pin rules "
				 "together are more than %d (or one is bad)", ifc->cfg.name,
				 CANARY_PIN_LIST_MAX);
	next.nr_pins = nr_pins;
	/* The entity steps' rules, from the config's [entity] sections, fixed for the rollout. */
	if (plan.nr_entities) {
		__u32 k, n = 0;

		if (nr_pins)
			return err_reply(EINVAL, "iface %s: start: entity steps (pin:%s...) and pin "
					 "rules (the config's pin = or --pin) cannot be combined: the "
					 "entity steps own the pin rules; drop one", ifc->cfg.name,
					 plan.entity[0]);
		if (canaryd_config__check_entities(&d->config, &plan, msg, sizeof(msg)))
			return err_reply(ENOENT, "iface %s: start: %s; add the section to %s",
					 ifc->cfg.name, msg, d->config_path);
		for (k = 0; k < plan.nr_entities; k++) {
			const struct canary_entity_cfg *e =
				canaryd_config__entity(&d->config, plan.entity[k]);

			if (n + e->nr_rules > CANARY_PIN_LIST_MAX)
				return err_reply(E2BIG, "iface %s: start: the entities' rules together "
						 "are more than %d", ifc->cfg.name,
						 CANARY_PIN_LIST_MAX);
			next.ent_first[k] = n;
			memcpy(&next.ent_rules[n], e->rule, e->nr_rules * sizeof(e->rule[0]));
			n += e->nr_rules;
		}
		next.ent_first[plan.nr_entities] = n;
	}
	{
		struct canary_version_target t = { .frags = ifc->frags, .ifname = ifc->cfg.name,
						   .mtu = ifc->mtu };

		fd = canary_version__precheck(obj, prog, &t, msg, sizeof(msg));
	}
	if (fd >= 0)
		fd = canaryd_iface__load_version(ifc, &l, &bobj, msg, sizeof(msg));
	if (fd >= 0)
		snprintf(next.cand_prog, sizeof(next.cand_prog), "%s", l.prog_name);
	if (fd < 0) {
		json_t *reply = err_reply(fd, "%s", msg);

		bpf_object__close(bobj);
		pr_warn("iface %s: %s\n", ifc->cfg.name, msg);
		if (vlog[0]) {
			pr_debug("iface %s: verifier log:\n%s\n", ifc->cfg.name, vlog);
			json_object_set_new(reply, CANARY_K_LOG, json_string(vlog));
		}
		return reply;
	}
	snprintf(next.cand_obj, sizeof(next.cand_obj), "%s", obj);
	next.rollout_id = canaryd_wall_ms();
	if (getrandom(&next.seed, sizeof(next.seed), 0) != sizeof(next.seed))
		next.seed = (__u32)(next.rollout_id * 2654435761u);
	/* The hash of the very bytes loaded (read once): webhooks and the kept copy name them. */
	snprintf(next.cand_sha256, sizeof(next.cand_sha256), "%s", l.sha256);
	/* Kept now, the bytes just loaded: a promotion must survive a reboot (keep.c). */
	err = canaryd_keep__store(ifc, obj, next.cand_sha256);
	if (err) {
		bpf_object__close(bobj);
		if (err == -ESTALE)
			return err_reply(err, "iface %s: %s changed on disk while it was being "
					 "loaded; not started, traffic untouched; start it again once "
					 "it is written", ifc->cfg.name, obj);
		return err_reply(err, "iface %s: cannot keep a copy of %s in %s: %s; not started, "
				 "traffic untouched; check that state_dir is writable", ifc->cfg.name,
				 obj, ifc->keep_dir, strerror(-err));
	}
	err = rollout__init(&next.ro, &plan, &ifc->cfg.judge);
	if (!err)
		err = canaryd_iface__pin(ifc, PIN_CANDIDATE, fd);
	bpf_object__close(bobj);	/* the pin holds the program now */
	if (err)
		return err_reply(err, "iface %s: cannot prepare the rollout: %s", ifc->cfg.name,
				 strerror(-err));
	if (ifc->cand_fd >= 0)
		close(ifc->cand_fd);
	ifc->cand_fd = canaryd_iface__get_pinned(ifc, PIN_CANDIDATE);
	ifc->st = next;
	ifc->has_rollout = true;
	snprintf(ifc->cand_set, sizeof(ifc->cand_set), "%s", set);
	canaryd_iface__gc_versions(ifc);	/* the candidate pinned before, if any */
	memcpy(ifc->at_start, ifc->last, sizeof(ifc->last));
	ev = (struct rollout_event){ .type = ROLLOUT_EV_START, .now_ms = canaryd_now_ms(),
				     .nr_pins = ifc->st.nr_pins };
	err = canaryd_iface__feed(d, ifc, &ev);
	if (err)
		return err_reply(err, "iface %s: the datapath refused the candidate: %s; stable "
				 "restored", ifc->cfg.name, strerror(-err));
	/* The rollout's id: canaryctl --wait follows this one, not a later one. */
	{
		char id[64];

		canaryd_status__rollout_id(ifc, id, sizeof(id));
		return json_pack("{s:b, s:s}", CANARY_K_OK, 1, CANARY_K_ID, id);
	}
}

/* The loaded candidate's prepare command again (its agent restarted, say). */
static json_t *cmd_prepare(struct canaryd *d, struct iface *ifc,
			   const struct canaryd_request *req)
{
	struct canaryd_load l = { .obj = ifc->st.cand_obj, .prog = ifc->st.cand_prog,
				  .prepare = ifc->st.cand_prepare,
				  .timeout_ms = ifc->cfg.rollout.prepare_timeout_ms };
	char msg[1024];
	int err;

	(void)d;
	(void)req;
	if (!ifc->has_rollout || rollout__done(&ifc->st.ro) || ifc->cand_fd < 0)
		return err_reply(ENOENT, "iface %s: no candidate is loaded; start a rollout first",
				 ifc->cfg.name);
	if (!l.prepare[0])
		return err_reply(ENOENT, "iface %s: candidate %s has no prepare command (set "
				 "prepare in %s or start it with --prepare)", ifc->cfg.name,
				 ifc->st.cand_obj, d->config_path);
	snprintf(l.prog_name, sizeof(l.prog_name), "%s", ifc->st.cand_prog);
	err = canaryd_iface__prepare(ifc, &l, ifc->cand_fd, msg, sizeof(msg));
	if (err)
		return err_reply(err, "iface %s: %s", ifc->cfg.name, msg);
	return json_pack("{s:b}", CANARY_K_OK, 1);
}

static json_t *cmd_status(struct canaryd *d, struct iface *ifc,
			  const struct canaryd_request *req)
{
	json_t *arr = json_array(), *waiting;
	int k;

	if (req->iface[0] && !ifc) {
		json_decref(arr);
		return err_reply(ENODEV, "iface %s is not managed by this canaryd", req->iface);
	}
	waiting = json_array();
	for (k = 0; k < d->nr_ifaces; k++) {
		if (!ifc || ifc == &d->iface[k])
			json_array_append_new(arr, canaryd_status__iface(&d->iface[k]));
		if (canaryd_links__is_waiting(&d->iface[k]))
			json_array_append_new(waiting, json_string(d->iface[k].cfg.name));
	}
	return json_pack("{s:b, s:o, s:s, s:o}", CANARY_K_OK, 1, CANARY_K_INTERFACES, arr,
			 CANARY_K_METRICS, d->metrics_state ?: "off", CANARY_K_WAITING, waiting);
}

/* pause, resume, promote, abort, revert: one engine event each. */
static json_t *cmd_event(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req,
			 enum rollout_event_type type)
{
	const char *cmd = canaryd_cmd__name(req->cmd), *name = ifc->cfg.name;
	struct rollout_event ev = { .type = type, .now_ms = canaryd_now_ms() };
	int err;

	if (!ifc->has_rollout)
		return err_reply(ENOENT, "iface %s: no rollout to %s", name, cmd);
	err = canaryd_iface__feed(d, ifc, &ev);
	if (err == -EINVAL)
		return err_reply(EINVAL, "iface %s: cannot %s a rollout that is %s", name, cmd,
				 rollout_phase__name(ifc->st.ro.phase));
	if (err)
		return err_reply(err, "iface %s: %s failed in the datapath: %s; stable restored",
				 name, cmd, strerror(-err));
	return json_pack("{s:b}", CANARY_K_OK, 1);
}

static json_t *cmd_pause(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	return cmd_event(d, ifc, req, ROLLOUT_EV_PAUSE);
}

static json_t *cmd_resume(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	return cmd_event(d, ifc, req, ROLLOUT_EV_RESUME);
}

static json_t *cmd_promote(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	return cmd_event(d, ifc, req, ROLLOUT_EV_PROMOTE);
}

static json_t *cmd_abort(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	return cmd_event(d, ifc, req, ROLLOUT_EV_ABORT);
}

static json_t *cmd_revert(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	int fd;

	if (ifc->has_rollout && ifc->st.ro.phase == ROLLOUT_PROMOTED && ifc->st.ro.has_previous) {
		/* A datapath created anew (a reboot) pins it from its kept copy: again now. */
		fd = canaryd_iface__get_pinned(ifc, PIN_PREVIOUS);
		if (fd < 0 && canaryd_iface__rebuild_previous(ifc))
			return err_reply(ENOENT, "iface %s: no previous stable to revert to: the "
					 "datapath was created anew (a reboot) and the previous %s "
					 "could not be rebuilt from its kept copy in %s (canaryd's log "
					 "says why); put the copy back and revert again, or roll it out "
					 "again with canaryctl start", ifc->cfg.name,
					 ifc->st.previous.obj, ifc->keep_dir);
		if (fd >= 0)
			close(fd);
	}
	return cmd_event(d, ifc, req, ROLLOUT_EV_REVERT);
}

/* pin: the running rollout's whole pin rule set replaced ("" removes it). */
static json_t *cmd_pin(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	const char *name = ifc->cfg.name;
	struct canary_pin_rule rules[CANARY_PIN_LIST_MAX];
	struct rollout_event ev = { .type = ROLLOUT_EV_PINS, .now_ms = canaryd_now_ms() };
	size_t n;
	int err;

	if (!ifc->has_rollout || rollout__done(&ifc->st.ro))
		return err_reply(ENOENT, "iface %s: no running rollout to pin flows to (start one, "
				 "with --pin)", name);
	if (ifc->st.ro.plan.nr_entities)
		return err_reply(EINVAL, "iface %s: pin: this rollout's entity steps own the pin "
				 "rules; nothing changed", name);
	/* Checked by canaryd_request__parse() already. */
	err = canary_pin_rules__parse(req->pin, rules, CANARY_PIN_LIST_MAX, &n, NULL, 0);
	if (err)
		return err_reply(err, "iface %s: pin: bad rules", name);
	memcpy(ifc->st.pins, rules, n * sizeof(rules[0]));
	ifc->st.nr_pins = n;
	ev.nr_pins = n;
	err = canaryd_iface__feed(d, ifc, &ev);
	if (err)
		return err_reply(err, "iface %s: pin failed in the datapath: %s; stable restored",
				 name, strerror(-err));
	return json_pack("{s:b}", CANARY_K_OK, 1);
}

/* The interface handed back with its stable attached directly (release.c). */
static json_t *cmd_release(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	char msg[512];
	int err;

	(void)d;
	(void)req;
	err = canaryd_iface__release(ifc, msg, sizeof(msg));
	if (err)
		return err_reply(err, "%s", msg);
	return json_pack("{s:b}", CANARY_K_OK, 1);
}

/* capture: a session begins; its id for capture-read and capture-stop. */
static json_t *cmd_capture(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req)
{
	char msg[512];
	__u32 id = 0;
	int err;

	err = canaryd_capture__start(d, ifc, req, &id, msg, sizeof(msg));
	if (err)
		return err_reply(err, "%s", msg);
	return json_pack("{s:b, s:I, s:i}", CANARY_K_OK, 1, CANARY_K_ID, (json_int_t)id, "snap",
			 req->snap ? (int)req->snap : CANARY_SNAP_MAX);
}

static json_t *cmd_capture_read(struct canaryd *d, struct iface *ifc,
				const struct canaryd_request *req)
{
	char msg[512];
	int err = 0;
	json_t *o;

	(void)d;
	o = req->cmd == CANARYD_CMD_CAPTURE_STOP
		    ? canaryd_capture__stop(ifc, req, &err, msg, sizeof(msg))
		    : canaryd_capture__read(ifc, req, &err, msg, sizeof(msg));
	return o ? o : err_reply(err, "%s", msg);
}

static const struct {
	enum canaryd_cmd cmd;
	bool managed_iface;	/* needs a managed interface; else any or none */
	json_t *(*fn)(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req);
} commands[] = {
	{ CANARYD_CMD_STATUS, false, cmd_status },
	{ CANARYD_CMD_START, true, cmd_start },
	{ CANARYD_CMD_PAUSE, true, cmd_pause },
	{ CANARYD_CMD_RESUME, true, cmd_resume },
	{ CANARYD_CMD_PROMOTE, true, cmd_promote },
	{ CANARYD_CMD_ABORT, true, cmd_abort },
	{ CANARYD_CMD_REVERT, true, cmd_revert },
	{ CANARYD_CMD_PREPARE, true, cmd_prepare },
	{ CANARYD_CMD_PIN, true, cmd_pin },
	{ CANARYD_CMD_RELEASE, true, cmd_release },
	{ CANARYD_CMD_CAPTURE, true, cmd_capture },
	{ CANARYD_CMD_CAPTURE_READ, true, cmd_capture_read },
	{ CANARYD_CMD_CAPTURE_STOP, true, cmd_capture_read },
};

static json_t *handle_request(struct canaryd *d, const struct canaryd_request *req)
{
	const char *name = req->iface[0] ? req->iface : NULL;
	struct iface *ifc = canaryd__find_iface(d, name);
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].cmd != req->cmd)
			continue;
		if (commands[i].managed_iface && !ifc)
			return err_reply(ENODEV, "iface %s is not managed by this canaryd (see "
					 "[interface] sections in %s)", name, d->config_path);
		if (commands[i].managed_iface && !canaryd_iface__managed(ifc))
			return err_reply(EIO, "iface %s is not managed: %s", name, ifc->error);
		return commands[i].fn(d, ifc, req);
	}
	return err_reply(EINVAL, "command %s is not served", canaryd_cmd__name(req->cmd));
}

/* One request line (its newline removed) -> the reply, applied already. */
json_t *canaryd_control__reply(struct canaryd *d, const char *line)
{
	struct canaryd_request req;
	char msg[1024];
	int err;

	err = canaryd_request__parse(line, &req, msg, sizeof(msg));
	return err ? err_reply(err, "%s", msg) : handle_request(d, &req);
}
