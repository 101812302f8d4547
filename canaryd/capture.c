// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Live capture sessions (canaryctl capture, issue 15): the dispatcher's
 * samples of one interface, kept for a client that reads them in batches.
 *
 * canaryd is the ring's one consumer. While the shadow phase reads the ring
 * (shadowing.c, its instances loaded), every sample it drains is offered
 * here too (canaryd_capture__sample); otherwise the session drains the ring
 * itself, each tick. A session turns the split path on
 * (canary_dp__set_capture) and sampling on when it is off, with its own
 * rate and snap length, and off again when it has its samples, unless the
 * shadow phase reads then: its sampling settings are never touched.
 *
 * Memory is bounded: at most CANARY_CAPTURE_COUNT_MAX samples per session,
 * and at most CAPTURE_QUEUE_BYTES waiting for the client (more is counted
 * as overflow, not kept). A client that asks for nothing for
 * CANARY_CAPTURE_IDLE_MS loses its session. Replies carry at most
 * CAPTURE_REPLY_BYTES of base64.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "proto.h"
#include "request.h"

#define CAPTURE_QUEUE_BYTES (64U << 20)
#define CAPTURE_REPLY_BYTES (512U << 10)
/* A sample's JSON members besides its data, for the reply budget. */
#define CAPTURE_REC_OVERHEAD 160

struct cap_rec {
	struct cap_rec *next;
	__u64 ts_ns;		/* wall clock */
	__u32 frame_len, cap_len, slot, verdict, ifindex, rx_queue, cpu;
	__u8 data[];
};

struct canaryd_capture {
	bool active;
	bool done_sampling;	/* COUNT taken (or ended): sampling given back */
	__u32 id;
	__u32 want, rate, snap;
	enum canaryd_capture_version version;
	const struct canary_dp *dp;
	struct canary_sample_reader *rd;	/* its own, while the shadow phase does not read */
	__u64 taken, skipped, overflow, handed;
	__u64 wall_off_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at the start */
	__u64 since_ns;		/* CLOCK_MONOTONIC at the start: older samples are not its */
	__u64 started_ms, last_ms;
	struct canary_sample_state s0;	/* the sampler's counters at the start */
	struct cap_rec *head, *tail;
	size_t bytes;
	char who[48];
};

static __u64 clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool shadow_reads(const struct iface *ifc)
{
	return ifc->shadow && ifc->shadow->rd;
}

static void queue_free(struct canaryd_capture *c)
{
	struct cap_rec *r, *n;

	for (r = c->head; r; r = n) {
		n = r->next;
		free(r);
	}
	c->head = c->tail = NULL;
	c->bytes = 0;
}

void canaryd_capture__sample(struct iface *ifc, const struct canary_sample *smp)
{
	struct canaryd_capture *c = ifc->capture;
	struct cap_rec *r;

	if (!c || !c->active || c->taken >= c->want)
		return;
	if (smp->ts_ns < c->since_ns) {
		c->skipped++;	/* taken before the session, left in the ring */
		return;
	}
	if ((c->version == CANARYD_CAPTURE_STABLE && smp->slot != CANARY_SLOT_STABLE) ||
	    (c->version == CANARYD_CAPTURE_CANDIDATE && smp->slot == CANARY_SLOT_STABLE)) {
		c->skipped++;
		return;
	}
	if (c->bytes + sizeof(*r) + smp->cap_len > CAPTURE_QUEUE_BYTES ||
	    !(r = malloc(sizeof(*r) + smp->cap_len))) {
		c->overflow++;
		return;
	}
	r->next = NULL;
	r->ts_ns = smp->ts_ns + c->wall_off_ns;
	r->frame_len = smp->frame_len;
	r->cap_len = smp->cap_len;
	r->slot = smp->slot;
	r->verdict = smp->verdict;
	r->ifindex = smp->ifindex;
	r->rx_queue = smp->rx_queue;
	r->cpu = smp->cpu;
	memcpy(r->data, smp->data, smp->cap_len);
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->bytes += sizeof(*r) + smp->cap_len;
	c->taken++;
}

static int on_sample(void *ctx, const struct canary_sample *smp)
{
	canaryd_capture__sample(ctx, smp);
	return 0;
}

/* Sampling given back: the split path off, sampling off unless the shadow phase reads. */
static void give_back(struct iface *ifc)
{
	struct canaryd_capture *c = ifc->capture;
	struct canary_config cfg;

	if (c->done_sampling)
		return;
	c->done_sampling = true;
	canary_sample_reader__free(c->rd);
	c->rd = NULL;
	if (!ifc->dp || ifc->dp != c->dp)
		return;
	if (!shadow_reads(ifc) && !canary_dp__get_config(ifc->dp, &cfg) &&
	    (cfg.flags & CANARY_F_SAMPLE))
		canary_dp__set_sampling(ifc->dp, 0, 1, 0);
	canary_dp__set_capture(ifc->dp, false);
}

static void end(struct iface *ifc, const char *why)
{
	struct canaryd_capture *c = ifc->capture;

	if (!c || !c->active)
		return;
	give_back(ifc);
	pr_info("iface %s: capture %u over (%s): %llu samples taken of %u, %llu handed out, "
		"%llu of the other version skipped, %llu over the memory bound\n", ifc->cfg.name,
		c->id, why, (unsigned long long)c->taken, c->want, (unsigned long long)c->handed,
		(unsigned long long)c->skipped, (unsigned long long)c->overflow);
	queue_free(c);
	c->active = false;
}

/* Sampling as the session needs it, the ring drained when nobody else drains it. */
static int keep_sampling(struct iface *ifc, char *msg, size_t len)
{
	struct canaryd_capture *c = ifc->capture;
	struct canary_config cfg;
	int err;

	if (shadow_reads(ifc)) {
		/* Its samples come through canaryd_capture__sample(). */
		canary_sample_reader__free(c->rd);
		c->rd = NULL;
		return 0;
	}
	err = canary_dp__get_config(ifc->dp, &cfg);
	if (!err && !(cfg.flags & CANARY_F_CAPTURE))
		err = canary_dp__set_capture(ifc->dp, true);
	if (!err && !(cfg.flags & CANARY_F_SAMPLE))
		err = canary_dp__set_sampling(ifc->dp, 1, c->rate, c->snap);
	if (err) {
		snprintf(msg, len, "iface %s: capture: the dispatcher refused sampling: %s",
			 ifc->cfg.name, strerror(-err));
		return err;
	}
	if (!c->rd) {
		c->rd = canary_dp__sample_reader(ifc->dp, on_sample, ifc);
		if (!c->rd) {
			err = errno ? -errno : -ENOMEM;
			snprintf(msg, len, "iface %s: capture: cannot read the sample ring: %s",
				 ifc->cfg.name, strerror(-err));
			return err;
		}
	}
	err = canary_sample_reader__consume(c->rd);
	return err < 0 ? err : 0;
}

int canaryd_capture__start(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req,
			   __u32 *id, char *msg, size_t len)
{
	struct canaryd_capture *c = ifc->capture;
	__u64 now = canaryd_now_ms();
	int err;

	if (c && c->active)
		return snprintf(msg, len, "iface %s: capture %u (by %s) is running; one at a time, "
				"try again when it is over", ifc->cfg.name, c->id,
				c->who[0] ? c->who : "?"),
		       -EBUSY;
	if (req->version == CANARYD_CAPTURE_CANDIDATE &&
	    (!ifc->has_rollout || rollout__done(&ifc->st.ro)))
		return snprintf(msg, len, "iface %s: capture --version candidate: no rollout runs, "
				"no packet goes to a candidate; start one first", ifc->cfg.name),
		       -ENOENT;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return snprintf(msg, len, "iface %s: capture: out of memory", ifc->cfg.name),
			       -ENOMEM;
		ifc->capture = c;
	}
	memset(c, 0, sizeof(*c));
	if (getrandom(&c->id, sizeof(c->id), 0) != sizeof(c->id) || !c->id)
		c->id = (__u32)(canaryd_wall_ms() * 2654435761u) | 1;
	c->want = req->count;
	c->rate = req->rate;
	c->snap = req->snap ? req->snap : CANARY_SNAP_MAX;
	c->version = req->version;
	c->dp = ifc->dp;
	c->since_ns = clock_ns(CLOCK_MONOTONIC);
	c->wall_off_ns = clock_ns(CLOCK_REALTIME) - c->since_ns;
	c->started_ms = c->last_ms = now;
	snprintf(c->who, sizeof(c->who), "%s", d->who);
	canary_dp__read_sample_state(ifc->dp, &c->s0);
	c->active = true;
	err = keep_sampling(ifc, msg, len);
	if (err) {
		/* Nothing stays changed. */
		c->taken = 0;
		end(ifc, "refused");
		return err;
	}
	*id = c->id;
	pr_info("iface %s: capture %u by %s: %u samples of %s, sampling %s\n", ifc->cfg.name,
		c->id, c->who[0] ? c->who : "?", c->want,
		canaryd_capture_version__name(c->version),
		shadow_reads(ifc) ? "the shadow phase's" : "1 in 1");
	return 0;
}

static struct canaryd_capture *session(struct iface *ifc, __u32 id, char *msg, size_t len)
{
	struct canaryd_capture *c = ifc->capture;

	if (!c || !c->active || c->id != id) {
		snprintf(msg, len, "iface %s: no capture %u (over, or dropped after %d s without "
			 "a read)", ifc->cfg.name, id, CANARY_CAPTURE_IDLE_MS / 1000);
		return NULL;
	}
	return c;
}

/* The sampler's losses since the start: the ring was full, or the rate limit. */
static json_t *counts(struct iface *ifc, bool done)
{
	struct canaryd_capture *c = ifc->capture;
	struct canary_sample_state s = {};

	if (ifc->dp == c->dp)
		canary_dp__read_sample_state(ifc->dp, &s);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", CANARY_K_OK, 1,
			 "want", (json_int_t)c->want, "taken", (json_int_t)c->taken, "handed",
			 (json_int_t)c->handed, "skipped", (json_int_t)c->skipped, "overflow",
			 (json_int_t)c->overflow, "lost", (json_int_t)(s.lost - c->s0.lost),
			 "limited", (json_int_t)(s.limited - c->s0.limited), "done", done,
			 "snap", (json_int_t)c->snap);
}

json_t *canaryd_capture__read(struct iface *ifc, const struct canaryd_request *req, int *err,
			      char *msg, size_t len)
{
	struct canaryd_capture *c = session(ifc, req->id, msg, len);
	size_t budget = 0, n;
	json_t *arr, *o;
	char *b64 = NULL;
	bool done;

	if (!c) {
		*err = -ESRCH;
		return NULL;
	}
	c->last_ms = canaryd_now_ms();
	if (!c->done_sampling && ifc->dp == c->dp && keep_sampling(ifc, msg, len) == 0) {
		/* Drained now too: the client need not wait for the next tick. */
	}
	arr = json_array();
	b64 = malloc(4 * ((CANARY_SNAP_MAX + 2) / 3) + 1);
	if (!arr || !b64) {
		json_decref(arr);
		free(b64);
		*err = -ENOMEM;
		snprintf(msg, len, "iface %s: capture: out of memory", ifc->cfg.name);
		return NULL;
	}
	while (c->head) {
		struct cap_rec *r = c->head;

		n = 4 * ((r->cap_len + 2) / 3) + CAPTURE_REC_OVERHEAD;
		if (budget && budget + n > CAPTURE_REPLY_BYTES)
			break;
		budget += n;
		EVP_EncodeBlock((unsigned char *)b64, r->data, (int)r->cap_len);
		json_array_append_new(
			arr, json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "ts_ns",
				       (json_int_t)r->ts_ns, "len", (int)r->frame_len, "slot",
				       (int)r->slot, "verdict", (int)r->verdict, "ifindex",
				       (int)r->ifindex, "rx_queue", (int)r->rx_queue, "cpu",
				       (int)r->cpu, "data", b64));
		c->head = r->next;
		if (!c->head)
			c->tail = NULL;
		c->bytes -= sizeof(*r) + r->cap_len;
		c->handed++;
		free(r);
	}
	free(b64);
	if (c->taken >= c->want)
		give_back(ifc);
	done = c->taken >= c->want && !c->head;
	o = counts(ifc, done);
	json_object_set_new(o, CANARY_K_SAMPLES, arr);
	if (done)
		end(ifc, "all read");
	return o;
}

json_t *canaryd_capture__stop(struct iface *ifc, const struct canaryd_request *req, int *err,
			      char *msg, size_t len)
{
	struct canaryd_capture *c = session(ifc, req->id, msg, len);
	json_t *o;

	if (!c) {
		*err = -ESRCH;
		return NULL;
	}
	o = counts(ifc, true);
	end(ifc, "stopped by its client");
	return o;
}

void canaryd_capture__tick(struct iface *ifc, __u64 now)
{
	struct canaryd_capture *c = ifc->capture;
	char msg[256];

	if (!c || !c->active) {
		struct canary_config cfg;

		/* An earlier canaryd died in a capture: its sampling goes. */
		if (ifc->dp && canaryd_iface__managed(ifc) &&
		    !canary_dp__get_config(ifc->dp, &cfg) && (cfg.flags & CANARY_F_CAPTURE)) {
			pr_info("iface %s: a capture of an earlier canaryd left the split path "
				"and sampling on: off\n", ifc->cfg.name);
			if (!shadow_reads(ifc) && (cfg.flags & CANARY_F_SAMPLE))
				canary_dp__set_sampling(ifc->dp, 0, 1, 0);
			canary_dp__set_capture(ifc->dp, false);
		}
		return;
	}
	if (!ifc->dp || ifc->dp != c->dp || !canaryd_iface__managed(ifc)) {
		end(ifc, "the interface's datapath went away");
		return;
	}
	if (now - c->last_ms > CANARY_CAPTURE_IDLE_MS) {
		end(ifc, "no read for " "10 s");
		return;
	}
	if (c->done_sampling)
		return;
	if (keep_sampling(ifc, msg, sizeof(msg)))
		pr_debug("%s\n", msg);
	if (c->taken >= c->want)
		give_back(ifc);
}

void canaryd_capture__free(struct iface *ifc)
{
	if (ifc->capture && ifc->capture->active)
		end(ifc, "canaryd exiting");
	free(ifc->capture);
	ifc->capture = NULL;
}
