// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics renderer (canaryd/metrics.c) on made-up daemon state: the page
 * passes a strict format check (lib/promtext.c, itself checked against
 * broken pages here), label values are escaped, the cost histogram is
 * cumulative with exact bounds, rollout and judge state come out as status
 * shows them; and the listen-address parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dp.h"
#include "metrics.h"
#include "promtext.h"

static struct canary_counters counters[2][CANARY_COUNTERS_ENTRIES];
static struct canary_breaker breaker = { .bad = 3, .trips = 2, .tripped = 1 };
static struct rollout ro;

/* Two interfaces: one with a rollout, one with a name that needs escaping. */
static int make_state(struct canary_metrics_iface *m)
{
	struct canary_counters *c;
	int i;

	memset(counters, 0, sizeof(counters));
	memset(m, 0, 2 * sizeof(*m));
	for (i = 0; i < CANARY_COUNTERS_ENTRIES; i++) {
		counters[0][i].packets = 1000 + i;
		counters[0][i].bytes = 64000 + i;
		counters[0][i].verdict[CANARY_V_DROP] = 10 + i;
	}
	c = &counters[0][1 * CANARY_CLASS_MAX + CANARY_CLASS_SPLIT];	/* candidate, split */
	c->cost_hist[0] = 1;		/* 0..1 ns */
	c->cost_hist[3] = 2;		/* 8..15 ns */
	c->cost_hist[10] = 5;		/* 1024..2047 ns */
	c->cost_hist[CANARY_COST_BUCKETS - 1] = 4;	/* 2^23 ns and above */
	c->cost_samples = 12;
	c->cost_ns = 123456789;
	c->fallback = 7;
	c->diverted = 6;

	memset(&ro, 0, sizeof(ro));
	ro.phase = ROLLOUT_PROGRESSING;
	ro.plan.nr_steps = 5;
	ro.step = 1;
	ro.share_bp = 500;
	ro.last_verdict = JUDGE_INCONCLUSIVE;
	ro.last_ev.nr_tests = 3;
	snprintf(ro.last_ev.tests[0].metric, JUDGE_NAME_LEN, "split");
	ro.last_ev.tests[0].dir = JUDGE_DIR_NONE;
	ro.last_ev.tests[0].test = JUDGE_TEST_SRM;
	ro.last_ev.tests[0].stat = 1.5;
	ro.last_ev.tests[0].threshold = 20;
	snprintf(ro.last_ev.tests[1].metric, JUDGE_NAME_LEN, "drop");
	ro.last_ev.tests[1].dir = JUDGE_DIR_UP;
	ro.last_ev.tests[1].test = JUDGE_TEST_HARM;
	ro.last_ev.tests[1].stat = -0.25;
	ro.last_ev.tests[1].p = 1;
	ro.last_ev.tests[1].ratio = INFINITY;
	ro.last_ev.tests[1].rate_c = 0.3;
	ro.last_ev.tests[1].rate_s = 0.2;
	ro.last_ev.tests[1].decided = true;
	ro.last_ev.tests[2] = ro.last_ev.tests[1];	/* a repeat is shown once */

	m[0].name = "veth0";
	m[0].managed = true;
	m[0].counters = counters[0];
	m[0].breaker = &breaker;
	m[0].rollout = &ro;
	m[0].rollout_id = "veth0-1700000000000";
	m[0].candidate = "/opt/fw \"v2\".bpf.o";
	m[0].decisions[ROLLOUT_ROLLED_BACK] = 2;
	m[0].decisions[ROLLOUT_PROMOTED] = 1;
	m[0].mtu = 9000;
	m[0].dispatcher = true;
	m[0].mtu_fits = false;	/* single-buffer in native mode at MTU 9000 */

	m[1].name = "we\"ird\\x";	/* an interface name may hold both */
	m[1].managed = false;
	return 2;
}

static char *render(void)
{
	struct canary_metrics_iface m[2];
	char *text, err[4096];
	size_t len;
	int n = make_state(m);

	assert_int_equal(canary_metrics__render(m, n, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	if (canary_prom__check(text, "canary_", err, sizeof(err)))
		fail_msg("the page is not well formed:\n%s\n--- page:\n%s", err, text);
	return text;
}

static double value(const char *text, const char *series)
{
	double v;

	if (canary_prom__value(text, series, &v))
		fail_msg("no series %s in:\n%s", series, text);
	return v;
}

static void test_well_formed(void **state)
{
	char *text = render();

	(void)state;
	/* Every family has its HELP and TYPE; spot-check the types. */
	assert_non_null(strstr(text, "# TYPE canary_packets_total counter\n"));
	assert_non_null(strstr(text, "# TYPE canary_packet_cost_seconds histogram\n"));
	assert_non_null(strstr(text, "# TYPE canary_rollout_share_ratio gauge\n"));
	assert_non_null(strstr(text, "# TYPE canary_decisions_total counter\n"));
	free(text);
}

static void test_escaping(void **state)
{
	char *text = render();

	(void)state;
	assert_int_equal(value(text, "canary_interface_managed{interface=\"we\\\"ird\\\\x\"}"), 0);
	assert_int_equal(value(text, "canary_interface_managed{interface=\"veth0\"}"), 1);
	assert_int_equal(value(text, "canary_rollout_info{interface=\"veth0\",id=\"veth0-1700000000000\","
				     "candidate=\"/opt/fw \\\"v2\\\".bpf.o\"}"), 1);
	/* The MTU of each; whether the dispatcher fits it, only where there is one. */
	assert_int_equal(value(text, "canary_interface_mtu_bytes{interface=\"veth0\"}"), 9000);
	assert_int_equal(value(text, "canary_dispatcher_mtu_fits{interface=\"veth0\"}"), 0);
	assert_int_equal(value(text, "canary_interface_mtu_bytes{interface=\"we\\\"ird\\\\x\"}"), 0);
	assert_null(strstr(text, "canary_dispatcher_mtu_fits{interface=\"we"));
	/* The interface without counters has no counter series, but its decisions. */
	assert_null(strstr(text, "canary_packets_total{interface=\"we"));
	assert_int_equal(value(text, "canary_decisions_total{interface=\"we\\\"ird\\\\x\","
				     "decision=\"promoted\"}"), 0);
	free(text);
}

#define CAND_SPLIT "interface=\"veth0\",version=\"candidate\",class=\"split\""

static void test_counters(void **state)
{
	char *text = render();
	__u32 stable_pinned = 0 * CANARY_CLASS_MAX + CANARY_CLASS_PINNED;

	(void)state;
	assert_int_equal(value(text, "canary_packets_total{interface=\"veth0\",version=\"stable\","
				     "class=\"pinned\"}"), 1000 + stable_pinned);
	assert_int_equal(value(text, "canary_bytes_total{" CAND_SPLIT "}"), 64000 + 3);
	assert_int_equal(value(text, "canary_verdicts_total{" CAND_SPLIT ",verdict=\"drop\"}"), 13);
	assert_int_equal(value(text, "canary_verdicts_total{" CAND_SPLIT ",verdict=\"aborted\"}"), 0);
	assert_int_equal(value(text, "canary_fallbacks_total{" CAND_SPLIT "}"), 7);
	assert_int_equal(value(text, "canary_breaker_diversions_total{" CAND_SPLIT "}"), 6);
	assert_int_equal(value(text, "canary_unhandled_packets_total{interface=\"veth0\","
				     "class=\"split\"}"),
			 1000 + CANARY_ROW_NONE * CANARY_CLASS_MAX);
	assert_int_equal(value(text, "canary_breaker_tripped{interface=\"veth0\"}"), 1);
	assert_int_equal(value(text, "canary_breaker_bad_verdicts{interface=\"veth0\"}"), 3);
	assert_int_equal(value(text, "canary_breaker_trips_total{interface=\"veth0\"}"), 2);
	free(text);
}

/* Bucket b holds [2^b, 2^(b+1)) ns: le is 2^(b+1) - 1 ns, and counts add up. */
static void test_histogram(void **state)
{
	char *text = render();

	(void)state;
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"1e-09\"}"), 1);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"7e-09\"}"), 1);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"1.5e-08\"}"), 3);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"1.023e-06\"}"), 3);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"2.047e-06\"}"), 8);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"0.008388607\"}"), 8);
	assert_int_equal(value(text, "canary_packet_cost_seconds_bucket{" CAND_SPLIT ",le=\"+Inf\"}"), 12);
	assert_int_equal(value(text, "canary_packet_cost_seconds_count{" CAND_SPLIT "}"), 12);
	assert_float_equal(value(text, "canary_packet_cost_seconds_sum{" CAND_SPLIT "}"), 0.123456789,
			   1e-12);
	/* CANARY_COST_BUCKETS bounds: 23 finite and +Inf, per series. */
	{
		const char *p = text;
		int n = 0;

		while ((p = strstr(p, "canary_packet_cost_seconds_bucket{" CAND_SPLIT))) {
			n++;
			p++;
		}
		assert_int_equal(n, CANARY_COST_BUCKETS);
	}
	free(text);
}

static void test_rollout_and_judge(void **state)
{
	char *text = render();

	(void)state;
	assert_int_equal(value(text, "canary_rollout_phase{interface=\"veth0\",phase=\"progressing\"}"), 1);
	assert_int_equal(value(text, "canary_rollout_phase{interface=\"veth0\",phase=\"paused\"}"), 0);
	assert_int_equal(value(text, "canary_rollout_step{interface=\"veth0\"}"), 2);
	assert_int_equal(value(text, "canary_rollout_steps{interface=\"veth0\"}"), 5);
	assert_float_equal(value(text, "canary_rollout_share_ratio{interface=\"veth0\"}"), 0.05, 1e-12);
	assert_int_equal(value(text, "canary_judge_verdict{interface=\"veth0\",verdict=\"inconclusive\"}"), 1);
	assert_int_equal(value(text, "canary_judge_verdict{interface=\"veth0\",verdict=\"harmful\"}"), 0);
	assert_float_equal(value(text, "canary_judge_statistic{interface=\"veth0\",metric=\"split\","
				       "dir=\"none\",test=\"split\"}"), 1.5, 1e-12);
	assert_float_equal(value(text, "canary_judge_threshold{interface=\"veth0\",metric=\"split\","
				       "dir=\"none\",test=\"split\"}"), 20, 1e-12);
	assert_float_equal(value(text, "canary_judge_statistic{interface=\"veth0\",metric=\"drop\","
				       "dir=\"up\",test=\"harm\"}"), -0.25, 1e-12);
	assert_true(isinf(value(text, "canary_judge_rate_ratio{interface=\"veth0\",metric=\"drop\","
				      "dir=\"up\",test=\"harm\"}")));
	assert_float_equal(value(text, "canary_judge_rate{interface=\"veth0\",metric=\"drop\","
				       "dir=\"up\",test=\"harm\",version=\"candidate\"}"), 0.3, 1e-12);
	assert_int_equal(value(text, "canary_judge_decided{interface=\"veth0\",metric=\"drop\","
				     "dir=\"up\",test=\"harm\"}"), 1);
	assert_int_equal(value(text, "canary_decisions_total{interface=\"veth0\",decision=\"rolled_back\"}"), 2);
	assert_int_equal(value(text, "canary_decisions_total{interface=\"veth0\",decision=\"failed\"}"), 0);
	free(text);
}

/* The checker must catch what it claims to: each page has one mistake. */
static void test_checker_catches(void **state)
{
	static const struct {
		const char *what, *page;
	} bad[] = {
		{ "no TYPE", "# HELP canary_x_total x\ncanary_x_total 1\n" },
		{ "no HELP", "# TYPE canary_x_total counter\ncanary_x_total 1\n" },
		{ "counter without _total", "# HELP canary_x x\n# TYPE canary_x counter\ncanary_x 1\n" },
		{ "negative counter", "# HELP canary_x_total x\n# TYPE canary_x_total counter\ncanary_x_total -1\n" },
		{ "wrong prefix", "# HELP other_x x\n# TYPE other_x gauge\nother_x 1\n" },
		{ "bad escape", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x{a=\"\\q\"} 1\n" },
		{ "unescaped quote", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x{a=\"\"\"} 1\n" },
		{ "label twice", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x{a=\"1\",a=\"2\"} 1\n" },
		{ "series twice", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x{a=\"1\"} 1\ncanary_x{a=\"1\"} 2\n" },
		{ "bad value", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x 1x\n" },
		{ "no newline at the end", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x 1" },
		{ "family split", "# HELP canary_x x\n# TYPE canary_x gauge\ncanary_x{a=\"1\"} 1\n"
				  "# HELP canary_y y\n# TYPE canary_y gauge\ncanary_y 1\ncanary_x{a=\"2\"} 1\n" },
		{ "bucket not cumulative",
		  "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket{le=\"1\"} 5\n"
		  "canary_h_bucket{le=\"2\"} 4\ncanary_h_bucket{le=\"+Inf\"} 5\ncanary_h_sum 1\ncanary_h_count 5\n" },
		{ "bounds not rising",
		  "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket{le=\"2\"} 1\n"
		  "canary_h_bucket{le=\"1\"} 1\ncanary_h_bucket{le=\"+Inf\"} 1\ncanary_h_sum 1\ncanary_h_count 1\n" },
		{ "no +Inf bucket",
		  "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket{le=\"1\"} 1\n"
		  "canary_h_sum 1\ncanary_h_count 1\n" },
		{ "count differs from +Inf",
		  "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket{le=\"+Inf\"} 2\n"
		  "canary_h_sum 1\ncanary_h_count 3\n" },
		{ "no _sum", "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket{le=\"+Inf\"} 2\n"
			     "canary_h_count 2\n" },
		{ "bucket without le", "# HELP canary_h h\n# TYPE canary_h histogram\ncanary_h_bucket 2\n"
				       "canary_h_bucket{le=\"+Inf\"} 2\ncanary_h_sum 1\ncanary_h_count 2\n" },
	};
	const char *good = "# HELP canary_x_total x\n# TYPE canary_x_total counter\n"
			   "canary_x_total{a=\"q\\\"\\\\\\n\"} 1\n";
	char err[1024];
	size_t i;

	(void)state;
	assert_int_equal(canary_prom__check(good, "canary_", err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (canary_prom__check(bad[i].page, "canary_", err, sizeof(err)) < 1)
			fail_msg("the checker missed: %s", bad[i].what);
}

static void test_parse_addr(void **state)
{
	static const char *const bad[] = {
		"localhost:9464", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:94a", "::1:9464", "[::1]", "[::1]9464",
		"[127.0.0.1]:9464", "1.2.3.4.5:1", "[::1]:99999999999999999999",
	};
	struct sockaddr_storage sa;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
	bool off;
	size_t i;

	(void)state;
	assert_int_equal(canary_metrics__parse_addr("127.0.0.1:9464", &sa, &off), 0);
	assert_false(off);
	assert_int_equal(sa.ss_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 9464);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(canary_metrics__parse_addr("[::1]:65535", &sa, &off), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(ntohs(a6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	assert_int_equal(canary_metrics__parse_addr("off", &sa, &off), 0);
	assert_true(off);
	assert_int_equal(canary_metrics__parse_addr("", &sa, &off), 0);
	assert_true(off);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (canary_metrics__parse_addr(bad[i], &sa, &off) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_rollout_and_judge),
		cmocka_unit_test(test_checker_catches),
		cmocka_unit_test(test_parse_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
