// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl history and report: read state_dir directly (lib/history.h),
 * no daemon needed: the record is there with canaryd stopped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "history.h"
#include "history_cmd.h"

int canaryctl_state_dir(const char *opt, const char *config, char *dir, size_t len, char *err,
			size_t errlen)
{
	static struct canaryd_config cfg;	/* large: not on the stack */
	const char *path = config ? config : CANARYCTL_DEFAULT_CONFIG;
	int ret;

	if (opt) {
		snprintf(dir, len, "%s", opt);
		return 0;
	}
	ret = canaryd_config__load(&cfg, path, err, errlen);
	if (ret == -ENOENT && !config) {
		/* No config where canaryd.service looks: canaryd's default. */
		snprintf(dir, len, "%s", "/var/lib/canaryd");
		return 0;
	}
	if (ret) {
		char *nl = strchr(err, '\n');

		if (nl)
			*nl = '\0';
		return ret;
	}
	snprintf(dir, len, "%s", cfg.state_dir);
	return 0;
}

static json_t *load(const char *dir, const char *iface, char *path, size_t plen, char *err,
		    size_t len, int *ret)
{
	__u32 bad;
	json_t *recs;

	*ret = canary_history__path(path, plen, dir, iface);
	if (*ret) {
		snprintf(err, len, "state dir %s: path too long", dir);
		return NULL;
	}
	recs = canary_history__load(path, &bad, ret);
	if (!recs) {
		if (*ret == -ENOENT)
			snprintf(err, len, "no history of iface %s: %s does not exist (no rollout "
				 "there yet, or another state dir: --state-dir DIR, --config FILE)",
				 iface, path);
		else
			snprintf(err, len, "cannot read the history %s: %s%s", path, strerror(-*ret),
				 *ret == -EACCES ? " (state_dir is canaryd's, mode 0700: run as root)"
						 : "");
		return NULL;
	}
	if (bad)
		fprintf(stderr, "canaryctl: %s: %u line(s) that are not JSON objects skipped\n", path,
			bad);
	return recs;
}

static void fmt_utc(char *buf, size_t len, const json_t *ms)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, len, "-");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld ms", (long long)json_integer_value(ms));
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

int canaryctl_history(const char *dir, const char *iface, bool json, char *err, size_t len)
{
	char path[4096];
	json_t *recs, *ros, *r;
	size_t i;
	int ret;

	recs = load(dir, iface, path, sizeof(path), err, len, &ret);
	if (!recs)
		return ret;
	ros = canary_history__rollouts(recs);
	json_decref(recs);
	if (json) {
		json_t *o = json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "interface", iface, "file",
				      path, "rollouts", ros);

		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
		return 0;
	}
	printf("%-28s %-19s %-16s %-22s %-12s %-16s %8s  %s\n", "ROLLOUT", "STARTED (UTC)",
	       "STARTED BY", "CANDIDATE", "OUTCOME", "DECIDED BY", "SECONDS", "REASON");
	json_array_foreach(ros, i, r) {
		const char *obj = str(json_object_get(r, "candidate"), "object"),
			   *base = strrchr(obj, '/');
		json_t *t0 = json_object_get(r, "started_ms"), *t1 = json_object_get(r, "ended_ms");
		char when[32], secs[32] = "-";

		fmt_utc(when, sizeof(when), t0);
		if (json_is_integer(t0) && json_is_integer(t1))
			snprintf(secs, sizeof(secs), "%.1f",
				 ((double)json_integer_value(t1) - (double)json_integer_value(t0)) / 1000);
		printf("%-28s %-19s %-16s %-22s %-12s %-16s %8s  %s\n", str(r, "rollout_id"), when,
		       str(r, "started_by"), base ? base + 1 : obj, str(r, "outcome"),
		       str(r, "decided_by"), secs, str(r, "reason"));
	}
	json_decref(ros);
	return 0;
}

int canaryctl_report(const char *dir, const char *id, const char *out, char *err, size_t len)
{
	static struct canary_series s;
	char iface[64], path[4096], why[160];
	json_t *recs, *ros, *r, *ro = NULL;
	size_t i;
	int ret;
	FILE *f;

	if (canary_rollout_id__iface(id, iface, sizeof(iface))) {
		snprintf(err, len, "report: '%s' is not a rollout id (IFACE-NUMBER, as canaryctl "
			 "history IFACE lists them)", id);
		return -EINVAL;
	}
	recs = load(dir, iface, path, sizeof(path), err, len, &ret);
	if (!recs)
		return ret;
	ros = canary_history__rollouts(recs);
	json_decref(recs);
	json_array_foreach(ros, i, r)
		if (!strcmp(str(r, "rollout_id"), id))
			ro = r;
	if (!ro) {
		snprintf(err, len, "report: no rollout %s in %s (canaryctl history %s lists them)",
			 id, path, iface);
		json_decref(ros);
		return -ENOENT;
	}
	if (!canary_series__path(path, sizeof(path), dir, id)) {
		ret = canary_series__load(path, &s, why, sizeof(why));
		if (ret && ret != -ENOENT)
			fprintf(stderr, "canaryctl: report: series %s: %s; the page has no rates\n",
				path, ret == -EBADMSG ? why : strerror(-ret));
	}
	f = fopen(out, "we");
	if (!f) {
		ret = -errno;
		snprintf(err, len, "report: cannot write %s: %s", out, strerror(-ret));
		json_decref(ros);
		return ret;
	}
	ret = canary_report__html(f, id, ro, s.nr ? &s : NULL);
	if (fclose(f) && !ret)
		ret = -EIO;
	json_decref(ros);
	if (ret)
		snprintf(err, len, "report: cannot write %s: %s", out, strerror(-ret));
	return ret;
}
