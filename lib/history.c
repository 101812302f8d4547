// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The history file and the per-rollout series (history.h). */
#define _GNU_SOURCE	/* O_CLOEXEC in fopen's "e" */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"

int canary_history__path(char *buf, size_t len, const char *dir, const char *iface)
{
	return snprintf(buf, len, "%s/history.%s.jsonl", dir, iface) >= (int)len ? -ENAMETOOLONG
										  : 0;
}

int canary_series__path(char *buf, size_t len, const char *dir, const char *rollout_id)
{
	return snprintf(buf, len, "%s/series.%s.json", dir, rollout_id) >= (int)len ? -ENAMETOOLONG
										    : 0;
}

int canary_rollout_id__iface(const char *id, char *iface, size_t len)
{
	const char *dash = strrchr(id, '-'), *p;

	if (!dash || dash == id || !dash[1] || (size_t)(dash - id) >= len)
		return -EINVAL;
	for (p = dash + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	/* No path in an interface name: the id becomes a file name. */
	for (p = id; p < dash; p++)
		if (*p == '/')
			return -EINVAL;
	memcpy(iface, id, dash - id);
	iface[dash - id] = '\0';
	return 0;
}

/* ---- series -------------------------------------------------------------- */

static void merge(struct canary_series_point *a, const struct canary_series_point *b)
{
	int v;

	a->t1_ms = b->t1_ms;
	a->share_bp = b->share_bp;
	for (v = 0; v < CANARY_SER_VERSIONS; v++) {
		a->packets[v] += b->packets[v];
		a->passes[v] += b->passes[v];
		a->drops[v] += b->drops[v];
		a->aborts[v] += b->aborts[v];
	}
}

void canary_series__add(struct canary_series *s, const struct canary_series_point *pt)
{
	__u32 i;

	if (s->nr >= CANARY_SERIES_MAX) {
		for (i = 0; i + 1 < s->nr; i += 2) {
			s->p[i / 2] = s->p[i];
			merge(&s->p[i / 2], &s->p[i + 1]);
		}
		if (s->nr % 2)
			s->p[i / 2] = s->p[i];
		s->nr = (s->nr + 1) / 2;
	}
	s->p[s->nr++] = *pt;
}

static const char *const ver_key[CANARY_SER_VERSIONS] = { "stable", "candidate" };

json_t *canary_series__json(const struct canary_series *s)
{
	json_t *arr = json_array();
	__u32 i;
	int v;

	for (i = 0; i < s->nr; i++) {
		const struct canary_series_point *p = &s->p[i];
		json_t *o = json_pack("{s:I, s:I, s:I}", "t0_ms", (json_int_t)p->t0_ms, "t1_ms",
				      (json_int_t)p->t1_ms, "share_bp", (json_int_t)p->share_bp);

		for (v = 0; v < CANARY_SER_VERSIONS; v++)
			json_object_set_new(o, ver_key[v],
					    json_pack("{s:I, s:I, s:I, s:I}", "packets",
						      (json_int_t)p->packets[v], "passes",
						      (json_int_t)p->passes[v], "drops",
						      (json_int_t)p->drops[v], "aborts",
						      (json_int_t)p->aborts[v]));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:i, s:o}", "max_points", CANARY_SERIES_MAX, "points", arr);
}

static int get_u64(const json_t *o, const char *key, __u64 *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -EBADMSG;
	*v = (__u64)json_integer_value(j);
	return 0;
}

int canary_series__from_json(struct canary_series *s, const json_t *j, char *why, size_t len)
{
	const json_t *pts = json_object_get(j, "points");
	size_t i;
	int v;

	s->nr = 0;
	if (!json_is_array(pts) || json_array_size(pts) > CANARY_SERIES_MAX) {
		snprintf(why, len, "no \"points\" array of at most %d", CANARY_SERIES_MAX);
		return -EBADMSG;
	}
	for (i = 0; i < json_array_size(pts); i++) {
		const json_t *o = json_array_get(pts, i);
		struct canary_series_point *p = &s->p[i];
		__u64 share = 0;
		int err = get_u64(o, "t0_ms", &p->t0_ms) | get_u64(o, "t1_ms", &p->t1_ms) |
			  get_u64(o, "share_bp", &share);

		for (v = 0; v < CANARY_SER_VERSIONS; v++) {
			const json_t *c = json_object_get(o, ver_key[v]);

			err |= get_u64(c, "packets", &p->packets[v]) |
			       get_u64(c, "passes", &p->passes[v]) |
			       get_u64(c, "drops", &p->drops[v]) |
			       get_u64(c, "aborts", &p->aborts[v]);
		}
		if (err || share > 10000 || p->t1_ms < p->t0_ms) {
			snprintf(why, len, "point %zu is not {t0_ms, t1_ms, share_bp, stable, "
				 "candidate} with counts", i);
			s->nr = 0;
			return -EBADMSG;
		}
		p->share_bp = (__u32)share;
	}
	s->nr = (__u32)i;
	return 0;
}

int canary_series__save(const char *path, const struct canary_series *s)
{
	char tmp[4096];
	json_t *j;
	int err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	j = canary_series__json(s);
	if (!j)
		return -ENOMEM;
	err = json_dump_file(j, tmp, JSON_COMPACT) ? -EIO : 0;
	json_decref(j);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int canary_series__load(const char *path, struct canary_series *s, char *why, size_t len)
{
	json_error_t je;
	json_t *j;
	int err;

	s->nr = 0;
	if (access(path, F_OK))
		return -errno;
	j = json_load_file(path, 0, &je);
	if (!j) {
		snprintf(why, len, "not JSON: %s (line %d)", je.text, je.line);
		return -EBADMSG;
	}
	err = canary_series__from_json(s, j, why, len);
	json_decref(j);
	return err;
}

/* Series files of IFACE: "series.IFACE-DIGITS.json". */
static bool series_of(const char *name, const char *iface, __u64 *id)
{
	size_t n = strlen(iface);
	char *end;

	if (strncmp(name, "series.", 7) || strncmp(name + 7, iface, n) || name[7 + n] != '-')
		return false;
	*id = strtoull(name + 8 + n, &end, 10);
	return end != name + 8 + n && !strcmp(end, ".json");
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

int canary_series__prune(const char *dir, const char *iface, int keep)
{
	__u64 ids[1024], id;
	struct dirent *de;
	char path[4096];
	int n = 0, i, removed = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0;
	while ((de = readdir(dp)) && n < (int)(sizeof(ids) / sizeof(ids[0])))
		if (series_of(de->d_name, iface, &id))
			ids[n++] = id;
	closedir(dp);
	qsort(ids, n, sizeof(ids[0]), cmp_u64);
	for (i = 0; i < n - keep; i++)
		if (snprintf(path, sizeof(path), "%s/series.%s-%llu.json", dir, iface,
			     (unsigned long long)ids[i]) < (int)sizeof(path) &&
		    !unlink(path))
			removed++;
	return removed;
}

/* ---- history ------------------------------------------------------------- */

int canary_history__append(const char *path, const json_t *rec, size_t max_bytes)
{
	char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS), old[4096];
	struct stat sb;
	size_t len;
	int fd, err = 0;

	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps' NUL becomes the newline */
	if (!stat(path, &sb) && sb.st_size > 0 && (size_t)sb.st_size + len > max_bytes) {
		if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old))
			err = -ENAMETOOLONG;
		else if (rename(path, old))
			err = -errno;
	}
	fd = err ? -1 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (!err && fd < 0)
		err = -errno;
	/* One write(2) of the whole line: O_APPEND keeps lines whole. */
	if (fd >= 0 && write(fd, line, len) != (ssize_t)len)
		err = -(errno ?: EIO);
	if (fd >= 0 && fdatasync(fd) && !err)
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(line);
	return err;
}

static int load_one(const char *path, json_t *arr, __u32 *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loadb(line, n, 0, NULL);

		if (json_is_object(o))
			json_array_append_new(arr, o);
		else {
			json_decref(o);
			(*bad)++;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

json_t *canary_history__load(const char *path, __u32 *bad, int *err)
{
	json_t *arr = json_array();
	char old[4096];
	int e0, e1;

	*bad = 0;
	if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old)) {
		*err = -ENAMETOOLONG;
		json_decref(arr);
		return NULL;
	}
	e0 = load_one(old, arr, bad);
	e1 = load_one(path, arr, bad);
	if (e1 && (e1 != -ENOENT || e0)) {
		*err = e1 == -ENOENT ? e0 : e1;
		json_decref(arr);
		return NULL;
	}
	*err = 0;
	return arr;
}

static bool is_end(const char *ev)
{
	static const char *const ends[] = { "promoted", "rolled_back", "aborted", "reverted",
					    "failed" };
	size_t i;

	for (i = 0; ev && i < sizeof(ends) / sizeof(ends[0]); i++)
		if (!strcmp(ev, ends[i]))
			return true;
	return false;
}

json_t *canary_history__rollouts(const json_t *records)
{
	json_t *out = json_array(), *rec;
	size_t i, k;

	json_array_foreach(records, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "rollout_id"));
		const char *ev = json_string_value(json_object_get(rec, "event"));
		json_t *r = NULL, *x;

		if (!id)
			continue;
		json_array_foreach(out, k, x)
			if (!strcmp(json_string_value(json_object_get(x, "rollout_id")), id))
				r = x;
		if (!r) {
			r = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:s, s:n, s:n, s:n, s:[]}",
				      "rollout_id", id, "interface", json_object_get(rec, "interface"),
				      "candidate", json_object_get(rec, "candidate"), "started_ms",
				      json_object_get(rec, "time_ms"), "started_by",
				      json_object_get(rec, "who"), "outcome", "running", "decided_by",
				      "ended_ms", "reason", "events");
			if (!r)
				continue;
			json_array_append_new(out, r);
		}
		json_array_append(json_object_get(r, "events"), rec);
		if (is_end(ev)) {
			json_object_set_new(r, "outcome", json_string(ev));
			json_object_set(r, "decided_by", json_object_get(rec, "who"));
			json_object_set(r, "ended_ms", json_object_get(rec, "time_ms"));
			json_object_set(r, "reason", json_object_get(rec, "reason"));
		}
	}
	return out;
}
