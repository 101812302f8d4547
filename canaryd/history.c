// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE	/* struct ucred */
/*
 * The audit trail (lib/history.h): a line per transition in
 * STATE_DIR/history.IFACE.jsonl, who asked included, and the rollout's
 * per-interval series in STATE_DIR/series.IFACE-ID.json. Written from the
 * tick (tick.c applies every transition's notice through here); a write that
 * fails is logged and never holds the rollout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "canaryd.h"
#include "history.h"
#include "log.h"
#include "proto.h"

/* The series is written at every transition and otherwise at most this often. */
#define SERIES_SAVE_MS 5000

void canaryd_history__peer(struct canaryd *d, int cfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	d->who[0] = '\0';
	if (!getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &len) && len == sizeof(cr)) {
		snprintf(d->who, sizeof(d->who), "uid=%u pid=%d", (unsigned)cr.uid, (int)cr.pid);
		d->who_uid = cr.uid;
		d->who_pid = cr.pid;
	}
}

static int series_path(const struct canaryd *d, const struct iface *ifc, char *buf, size_t len)
{
	char id[96];

	snprintf(id, sizeof(id), "%s-%llu", ifc->cfg.name, (unsigned long long)ifc->st.rollout_id);
	return canary_series__path(buf, len, d->config.state_dir, id);
}

/* The series in memory is this rollout's: a new one starts empty, a resumed one reloads. */
static void series_for(struct canaryd *d, struct iface *ifc)
{
	char path[PATH_MAX], why[160];
	int err;

	if (ifc->series_id == ifc->st.rollout_id)
		return;
	ifc->series_id = ifc->st.rollout_id;
	ifc->series_saved_ms = 0;
	if (series_path(d, ifc, path, sizeof(path)))
		return;
	err = canary_series__load(path, &ifc->series, why, sizeof(why));
	if (err == -ENOENT)
		canary_series__prune(d->config.state_dir, ifc->cfg.name, CANARY_SERIES_KEEP - 1);
	else if (err)
		pr_warn("iface %s: series %s: %s; starting it again\n", ifc->cfg.name, path, why);
}

static void series_save(struct canaryd *d, struct iface *ifc, __u64 now)
{
	char path[PATH_MAX];
	int err;

	ifc->series_saved_ms = now;
	if (series_path(d, ifc, path, sizeof(path)))
		return;
	err = canary_series__save(path, &ifc->series);
	if (err)
		pr_warn("iface %s: cannot write the series %s: %s (the report will miss it)\n",
			ifc->cfg.name, path, strerror(-err));
}

void canaryd_history__sample(struct canaryd *d, struct iface *ifc, double secs)
{
	struct canary_series_point p = { 0 };
	__u64 now = canaryd_wall_ms();
	const struct judge_sample *v[CANARY_SER_VERSIONS] = { &ifc->d_stable, &ifc->d_cand };
	int i;

	series_for(d, ifc);
	p.t1_ms = now;
	p.t0_ms = now - (__u64)(secs * 1000 + 0.5);
	p.share_bp = ifc->st.ro.share_bp;
	for (i = 0; i < CANARY_SER_VERSIONS; i++) {
		p.packets[i] = v[i]->packets;
		p.passes[i] = v[i]->passes;
		p.drops[i] = v[i]->drops;
		p.aborts[i] = v[i]->aborts;
	}
	canary_series__add(&ifc->series, &p);
	if (now - ifc->series_saved_ms >= SERIES_SAVE_MS)
		series_save(d, ifc, now);
}

/* "judge" on the counters or the shadow evidence, "gate" on a gate's answer, the client, or the daemon itself. */
static const char *who(const struct canaryd *d, const struct iface *ifc)
{
	if (d->who[0])
		return d->who;
	switch (ifc->feeding) {
	case ROLLOUT_EV_TICK:
	case ROLLOUT_EV_SHADOW:	/* the paired test of the shadow phase */
		return "judge";
	case ROLLOUT_EV_GATE_RESULT:
		return "gate";
	default:
		return "canaryd";
	}
}

void canaryd_history__record(struct canaryd *d, struct iface *ifc, enum rollout_notice n)
{
	json_t *rec = canaryd_status__rollout(ifc);
	__u64 now = canaryd_wall_ms();
	char path[PATH_MAX], iso[40];
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	int err;

	if (!json_is_object(rec)) {
		json_decref(rec);
		return;
	}
	series_for(d, ifc);
	/* The status's rollout object, its id as rollout_id; step counts from 1. */
	json_object_set(rec, "rollout_id", json_object_get(rec, CANARY_K_ID));
	json_object_del(rec, CANARY_K_ID);
	json_object_del(rec, CANARY_K_GATE);
	json_object_del(rec, CANARY_K_STEP_ELAPSED_MS);
	json_object_set_new(rec, "event", json_string(rollout_notice__name(n)));
	json_object_set_new(rec, "interface", json_string(ifc->cfg.name));
	json_object_set_new(rec, "time_ms", json_integer((json_int_t)now));
	gmtime_r(&secs, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(iso + strlen(iso), sizeof(iso) - strlen(iso), ".%03lluZ",
		 (unsigned long long)(now % 1000));
	json_object_set_new(rec, "time", json_string(iso));
	json_object_set_new(rec, CANARY_K_STABLE,
			    json_pack("{s:s, s:s}", CANARY_K_OBJECT, ifc->st.stable.obj,
				      CANARY_K_PROGRAM, ifc->st.stable.prog));
	json_object_set_new(rec, "who", json_string(who(d, ifc)));
	if (d->who[0]) {
		json_object_set_new(rec, "uid", json_integer(d->who_uid));
		json_object_set_new(rec, "pid", json_integer(d->who_pid));
	}
	err = canary_history__path(path, sizeof(path), d->config.state_dir, ifc->cfg.name);
	if (!err)
		err = canary_history__append(path, rec, CANARY_HISTORY_MAX_BYTES);
	if (err)
		pr_warn("iface %s: cannot append to the history %s: %s (check state_dir)\n",
			ifc->cfg.name, path, strerror(-err));
	json_decref(rec);
	series_save(d, ifc, now);
}

void canaryd_history__flush(struct canaryd *d, struct iface *ifc)
{
	/* Only a running rollout's series, and only once it is the one in memory. */
	if (ifc->has_rollout && !rollout__done(&ifc->st.ro) && ifc->series_id == ifc->st.rollout_id)
		series_save(d, ifc, canaryd_wall_ms());
}
