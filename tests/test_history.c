// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * History and reports (lib/history.c, lib/report.c), no daemon, no kernel:
 * history lines appended, rotated past their size to .1 and read back in
 * order (bad lines skipped and counted); records grouped by rollout with
 * their outcome and who decided; the series capped by merging adjacent
 * pairs with exact counts and its whole time span, saved and loaded, bad
 * files refused; old series files pruned; rollout ids parsed; the report is
 * self-contained and draws a polyline per version and rate from the series
 * points, the share steps, the decision and its evidence, escaped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "history.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_history.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static json_t *rec(const char *id, const char *event, const char *who, long long t)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:s}, s:s, s:i, s:i, s:f, s:s, s:s}",
			 "rollout_id", id, "event", event, "who", who, "time_ms", (json_int_t)t,
			 "interface", "eth0", "candidate", "object", "/v/fw_v2.bpf.o", "reason",
			 "because <b>&", "step", 1, "steps", 3, "share_pct", 5.0, "verdict",
			 "harmful", "evidence", "harmful (step 1): drop up harm");
}

static void test_append_rotate_load(void **state)
{
	char path[128], old[160];
	struct stat sb;
	json_t *all, *r;
	__u32 bad;
	int err, i;
	FILE *f;

	(void)state;
	assert_int_equal(canary_history__path(path, sizeof(path), dir, "eth0"), 0);
	snprintf(old, sizeof(old), "%s.1", path);
	assert_null(canary_history__load(path, &bad, &err));
	assert_int_equal(err, -ENOENT);
	/* Lines of about 250 bytes, rotated at 1000: every fourth append rotates. */
	for (i = 0; i < 10; i++) {
		r = rec("eth0-1", i ? "advanced" : "started", "judge", 1000 + i);
		assert_int_equal(canary_history__append(path, r, 1000), 0);
		json_decref(r);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_size <= 1000);
	}
	assert_int_equal(stat(old, &sb), 0);
	assert_true(sb.st_size > 0 && sb.st_size <= 1000);
	all = canary_history__load(path, &bad, &err);
	assert_non_null(all);
	assert_int_equal(bad, 0);
	/* The newest lines, oldest first, ending with the last written. */
	assert_true(json_array_size(all) >= 4 && json_array_size(all) < 10);
	for (i = 1; i < (int)json_array_size(all); i++)
		assert_true(json_integer_value(json_object_get(json_array_get(all, i), "time_ms")) ==
			    json_integer_value(json_object_get(json_array_get(all, i - 1),
							       "time_ms")) + 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(all, json_array_size(all) - 1),
							    "time_ms")), 1009);
	json_decref(all);
	/* A torn or foreign line is skipped and counted, the rest read. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"rollout_id\":\"eth0-1\",\"eve\n[1,2]\n", f);
	fclose(f);
	r = rec("eth0-2", "started", "uid=0 pid=7", 2000);
	assert_int_equal(canary_history__append(path, r, 1 << 20), 0);
	json_decref(r);
	all = canary_history__load(path, &bad, &err);
	assert_non_null(all);
	assert_int_equal(bad, 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, json_array_size(all) - 1),
							      "rollout_id")), "eth0-2");
	json_decref(all);
	/* Only the rotated file left: still read. */
	assert_int_equal(unlink(path), 0);
	all = canary_history__load(path, &bad, &err);
	assert_non_null(all);
	assert_true(json_array_size(all) > 0);
	json_decref(all);
}

static void test_rollouts(void **state)
{
	json_t *recs = json_array(), *ros, *a, *b;

	(void)state;
	json_array_append_new(recs, rec("eth0-1", "started", "uid=0 pid=10", 100));
	json_array_append_new(recs, rec("eth0-1", "advanced", "judge", 200));
	json_array_append_new(recs, rec("eth0-2", "started", "uid=1000 pid=11", 300));
	json_array_append_new(recs, rec("eth0-1", "promoted", "judge", 400));
	json_array_append_new(recs, rec("eth0-1", "reverted", "uid=0 pid=12", 500));
	json_array_append_new(recs, rec("eth0-2", "paused", "uid=0 pid=13", 600));
	ros = canary_history__rollouts(recs);
	assert_int_equal(json_array_size(ros), 2);
	a = json_array_get(ros, 0);
	b = json_array_get(ros, 1);
	assert_string_equal(json_string_value(json_object_get(a, "rollout_id")), "eth0-1");
	assert_string_equal(json_string_value(json_object_get(a, "started_by")), "uid=0 pid=10");
	assert_string_equal(json_string_value(json_object_get(a, "outcome")), "reverted");
	assert_string_equal(json_string_value(json_object_get(a, "decided_by")), "uid=0 pid=12");
	assert_int_equal(json_integer_value(json_object_get(a, "started_ms")), 100);
	assert_int_equal(json_integer_value(json_object_get(a, "ended_ms")), 500);
	assert_int_equal(json_array_size(json_object_get(a, "events")), 4);
	assert_string_equal(json_string_value(json_object_get(b, "outcome")), "running");
	assert_true(json_is_null(json_object_get(b, "decided_by")));
	json_decref(ros);
	json_decref(recs);
}

static struct canary_series_point pt(__u64 t, __u32 share, __u64 pk_s, __u64 pk_c)
{
	struct canary_series_point p = { .t0_ms = t, .t1_ms = t + 100, .share_bp = share };

	p.packets[0] = pk_s;
	p.passes[0] = pk_s * 8 / 10;
	p.drops[0] = pk_s - p.passes[0];
	p.packets[1] = pk_c;
	p.drops[1] = pk_c;
	p.aborts[1] = pk_c ? 1 : 0;
	return p;
}

static struct canary_series ser, ser2;

static void test_series_cap(void **state)
{
	__u64 sum_s = 0, sum_c = 0, n_s = 0, n_c = 0;
	struct canary_series_point p;
	__u32 i, total = 5 * CANARY_SERIES_MAX + 3;

	(void)state;
	memset(&ser, 0, sizeof(ser));
	for (i = 0; i < total; i++) {
		p = pt(1000 + 100ULL * i, i < total / 2 ? 500 : 5000, 100 + i, i % 3 ? 10 : 0);
		sum_s += p.packets[0];
		sum_c += p.packets[1];
		canary_series__add(&ser, &p);
		assert_true(ser.nr <= CANARY_SERIES_MAX);
	}
	assert_true(ser.nr > CANARY_SERIES_MAX / 2);
	/* The whole time span, contiguous, the counts exact. */
	assert_int_equal(ser.p[0].t0_ms, 1000);
	assert_int_equal(ser.p[ser.nr - 1].t1_ms, 1000 + 100ULL * total);
	for (i = 0; i < ser.nr; i++) {
		if (i)
			assert_int_equal(ser.p[i].t0_ms, ser.p[i - 1].t1_ms);
		n_s += ser.p[i].packets[0];
		n_c += ser.p[i].packets[1];
		assert_int_equal(ser.p[i].passes[0] + ser.p[i].drops[0], ser.p[i].packets[0]);
	}
	assert_int_equal(n_s, sum_s);
	assert_int_equal(n_c, sum_c);
	assert_int_equal(ser.p[ser.nr - 1].share_bp, 5000);
	assert_int_equal(ser.p[0].share_bp, 500);
}

static void test_series_save_load(void **state)
{
	char path[128], why[160];
	__u32 i;
	int v;
	FILE *f;

	(void)state;
	assert_int_equal(canary_series__path(path, sizeof(path), dir, "eth0-5"), 0);
	assert_int_equal(canary_series__load(path, &ser2, why, sizeof(why)), -ENOENT);
	assert_int_equal(canary_series__save(path, &ser), 0);
	assert_int_equal(canary_series__load(path, &ser2, why, sizeof(why)), 0);
	assert_int_equal(ser2.nr, ser.nr);
	for (i = 0; i < ser.nr; i++) {	/* field by field: the padding is not data */
		const struct canary_series_point *a = &ser.p[i], *b = &ser2.p[i];

		assert_int_equal(a->t0_ms, b->t0_ms);
		assert_int_equal(a->t1_ms, b->t1_ms);
		assert_int_equal(a->share_bp, b->share_bp);
		for (v = 0; v < CANARY_SER_VERSIONS; v++) {
			assert_int_equal(a->packets[v], b->packets[v]);
			assert_int_equal(a->passes[v], b->passes[v]);
			assert_int_equal(a->drops[v], b->drops[v]);
			assert_int_equal(a->aborts[v], b->aborts[v]);
		}
	}
	/* Not JSON, a share over 100 %, a point ending before it starts: refused. */
	f = fopen(path, "w");
	fputs("{\"points\":[", f);
	fclose(f);
	assert_int_equal(canary_series__load(path, &ser2, why, sizeof(why)), -EBADMSG);
	assert_int_equal(ser2.nr, 0);
	f = fopen(path, "w");
	fputs("{\"points\":[{\"t0_ms\":1,\"t1_ms\":2,\"share_bp\":10001,\"stable\":{\"packets\":1,"
	      "\"passes\":1,\"drops\":0,\"aborts\":0},\"candidate\":{\"packets\":1,\"passes\":1,"
	      "\"drops\":0,\"aborts\":0}}]}", f);
	fclose(f);
	assert_int_equal(canary_series__load(path, &ser2, why, sizeof(why)), -EBADMSG);
	f = fopen(path, "w");
	fputs("{\"points\":[{\"t0_ms\":3,\"t1_ms\":2,\"share_bp\":100,\"stable\":{\"packets\":1,"
	      "\"passes\":1,\"drops\":0,\"aborts\":0},\"candidate\":{\"packets\":1,\"passes\":1,"
	      "\"drops\":0,\"aborts\":0}}]}", f);
	fclose(f);
	assert_int_equal(canary_series__load(path, &ser2, why, sizeof(why)), -EBADMSG);
}

static void test_prune_and_ids(void **state)
{
	char path[128], iface[32];
	int i;

	(void)state;
	for (i = 1; i <= 5; i++) {
		snprintf(path, sizeof(path), "%s/series.eth0-%d.json", dir, i * 100);
		assert_int_equal(canary_series__save(path, &ser), 0);
	}
	snprintf(path, sizeof(path), "%s/series.eth01-1.json", dir);	/* another interface */
	assert_int_equal(canary_series__save(path, &ser), 0);
	/* eth0-5 (from the test before) and eth0-100 .. eth0-500: keep the newest 3. */
	assert_int_equal(canary_series__prune(dir, "eth0", 3), 3);
	snprintf(path, sizeof(path), "%s/series.eth0-300.json", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/series.eth0-200.json", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/series.eth01-1.json", dir);
	assert_int_equal(access(path, F_OK), 0);

	assert_int_equal(canary_rollout_id__iface("veth-a-1796276443014", iface, sizeof(iface)), 0);
	assert_string_equal(iface, "veth-a");
	assert_int_equal(canary_rollout_id__iface("eth0", iface, sizeof(iface)), -EINVAL);
	assert_int_equal(canary_rollout_id__iface("eth0-12x", iface, sizeof(iface)), -EINVAL);
	assert_int_equal(canary_rollout_id__iface("-12", iface, sizeof(iface)), -EINVAL);
	assert_int_equal(canary_rollout_id__iface("../x-12", iface, sizeof(iface)), -EINVAL);
}

/* The report of S and the records, in memory. */
static char *render(const struct canary_series *s, json_t *recs)
{
	json_t *ros = canary_history__rollouts(recs);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(canary_report__html(f, "eth0-1", json_array_get(ros, 0), s), 0);
	fclose(f);
	json_decref(ros);
	return buf;
}

/* The number of points in the polyline of class CLS. */
static int points_of(const char *html, const char *cls)
{
	char key[96];
	const char *p, *end;
	int n = 0;

	snprintf(key, sizeof(key), "<polyline class=\"series %s\"", cls);
	p = strstr(html, key);
	if (!p)
		return -1;
	p = strstr(p, "points=\"");
	assert_non_null(p);
	p += 8;
	end = strchr(p, '"');
	for (; p < end; p++)
		n += *p == ',';
	return n;
}

static void test_report(void **state)
{
	static struct canary_series s;
	json_t *recs = json_array(), *dec;
	struct canary_series_point p;
	char *html;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 20; i++) {
		/* Candidate traffic from the 6th interval on. */
		p = pt(100000 + 200ULL * i, i < 5 ? 0 : 500, 1000, i < 5 ? 0 : 50);
		canary_series__add(&s, &p);
	}
	json_array_append_new(recs, rec("eth0-1", "started", "uid=0 pid=10", 100000));
	dec = rec("eth0-1", "rolled_back", "judge", 104000);
	json_object_set_new(dec, "tests", json_pack("[{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:b}]",
						    "metric", "drop", "test", "harm", "dir", "up",
						    "x_c", 50, "n_c", 50, "stat", 31.5, "threshold",
						    6.4, "decided", 1));
	json_array_append_new(recs, dec);
	html = render(&s, recs);
	/* Self-contained: nothing fetched, nothing run. */
	assert_null(strstr(html, "http"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href="));
	assert_non_null(strstr(html, "<svg"));
	/* A point per interval with traffic; the candidate's start after the warm-up. */
	assert_int_equal(points_of(html, "stable pass"), 20);
	assert_int_equal(points_of(html, "stable drop"), 20);
	assert_int_equal(points_of(html, "stable abort"), 20);
	assert_int_equal(points_of(html, "candidate pass"), 15);
	assert_int_equal(points_of(html, "candidate drop"), 15);
	assert_int_equal(points_of(html, "candidate abort"), 15);
	/* Share: 0 then 5 %: a step (two corners) plus a point per interval and the end. */
	assert_int_equal(points_of(html, "share"), 20 + 1 + 1);
	assert_non_null(strstr(html, "class=\"decision\""));
	assert_non_null(strstr(html, "<b>rolled_back</b> by <b>judge</b>"));
	assert_non_null(strstr(html, "drop up harm"));
	assert_non_null(strstr(html, "<td>harm</td>"));
	assert_non_null(strstr(html, "this rollout had no shadow phase"));
	/* Text from the records is escaped. */
	assert_non_null(strstr(html, "because &lt;b&gt;&amp;"));
	assert_null(strstr(html, "because <b>"));
	free(html);

	/* A shadow phase's paired matrix: its cells, decision and differing examples. */
	json_object_set_new(dec, "shadow", json_pack(
		"{s:s, s:i, s:f, s:s, s:[{s:s, s:s, s:i, s:[]}, {s:s, s:s, s:i, s:[{s:i, s:s}]}]}",
		"decision", "harmful", "samples", 5111, "fidelity", 1.0, "harm",
		"drop_up: pass->drop 3053 of 5111", "cells", "stable", "drop", "candidate", "drop",
		"samples", 2058, "examples", "stable", "pass", "candidate", "drop", "samples", 3053,
		"examples", "index", 7, "frame", "udp 198.18.1.5:1000 > 198.18.2.10:53"));
	html = render(&s, recs);
	assert_non_null(strstr(html, "<h2>Shadow phase</h2>"));
	assert_non_null(strstr(html, "Decision <b>harmful</b> on 5111 samples"));
	/* Row pass, column drop: 3053, marked as differing; drop -> drop on the diagonal. */
	assert_non_null(strstr(html, "<tr><th>pass</th><td>0</td><td class=\"differ\">3053</td>"));
	assert_non_null(strstr(html, "<tr><th>drop</th><td>0</td><td>2058</td>"));
	assert_non_null(strstr(html, "<li>pass &rarr; drop: udp 198.18.1.5:1000 &gt; 198.18.2.10:53</li>"));
	assert_null(strstr(html, "this rollout had no shadow phase"));
	free(html);
	json_object_del(dec, "shadow");

	/* No series: no rate points, the share from the events, said on the page. */
	html = render(NULL, recs);
	assert_int_equal(points_of(html, "stable pass"), 0);
	assert_int_equal(points_of(html, "candidate drop"), 0);
	assert_true(points_of(html, "share") >= 2);
	assert_non_null(strstr(html, "No per-interval series"));
	free(html);
	json_decref(recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_rotate_load),
		cmocka_unit_test(test_rollouts),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_series_save_load),
		cmocka_unit_test(test_prune_and_ids),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
