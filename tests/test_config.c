// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryd configuration tests: the shipped example loads with the values it
 * documents, every error names the file, the line and the key, global
 * [rollout]/[judge] keys reach exactly the interfaces that did not set them
 * whatever the order, and the duration and OBJECT[:PROGRAM] parsers.
 *
 * Run from the repository root (tests/run.sh does): the example is read as
 * examples/canaryd.ini.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "canary_abi.h"
#include "config.h"
#include "dp.h"
#include "log.h"

#define EXAMPLE "examples/canaryd.ini"
#define ERR_LEN 8192

struct loaded {
	struct canaryd_config *cfg;
	char path[64];
	char err[ERR_LEN];
	int rc;
};

/* Load TEXT from a temporary file, removed again before returning. */
static void load_text(struct loaded *l, const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(l->path, sizeof(l->path), "/tmp/canary_cfg_XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	if (!l->cfg)
		l->cfg = calloc(1, sizeof(*l->cfg));
	assert_non_null(l->cfg);
	l->rc = canaryd_config__load(l->cfg, l->path, l->err, sizeof(l->err));
	unlink(l->path);
}

static struct loaded *loaded_new(void)
{
	struct loaded *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	return l;
}

static void loaded_free(struct loaded *l)
{
	free(l->cfg);
	free(l);
}

static const struct canary_iface_cfg *iface(const struct canaryd_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->nr_ifaces; i++)
		if (!strcmp(cfg->iface[i].name, name))
			return &cfg->iface[i];
	fail_msg("no interface %s", name);
	return NULL;
}

/* Does ERR have a line starting "PATH:LINE: " that contains NEEDLE? */
static bool has_error(const char *err, const char *path, int line, const char *needle)
{
	char prefix[128];
	const char *s = err;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	while (*s) {
		const char *eol = strchr(s, '\n');
		size_t n = eol ? (size_t)(eol - s) : strlen(s);
		char buf[1024];

		snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
		if (!strncmp(buf, prefix, strlen(prefix)) && strstr(buf, needle))
			return true;
		s += n;
		if (*s)
			s++;
	}
	return false;
}

static int count_lines(const char *s)
{
	int n = *s ? 1 : 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_judge_equal(const struct judge_config *a, const struct judge_config *b)
{
	int i;

	assert_true(a->alpha == b->alpha);
	assert_true(a->srm_alpha == b->srm_alpha);
	assert_true(a->abort_alpha == b->abort_alpha);
	assert_true(a->abort_rho0 == b->abort_rho0);
	assert_int_equal(a->invalid_limit, b->invalid_limit);
	assert_true(a->deff == b->deff);
	assert_true(a->srm_deff == b->srm_deff);
	assert_int_equal(a->min_cand_packets, b->min_cand_packets);
	assert_int_equal(a->min_events, b->min_events);
	assert_int_equal(a->min_bake_ms, b->min_bake_ms);
	assert_int_equal(a->max_step_ms, b->max_step_ms);
	for (i = 0; i < JUDGE_NR_METRICS; i++) {
		const struct judge_metric_cfg *x = &a->metric[i], *y = &b->metric[i];

		assert_int_equal(x->up, y->up);
		assert_int_equal(x->down, y->down);
		assert_int_equal(x->prove, y->prove);
		assert_true(x->rho0 == y->rho0);
		assert_true(x->rho1 == y->rho1);
		assert_true(x->budget == y->budget);
	}
}

static void assert_rollout_equal(const struct canary_rollout_cfg *a,
				 const struct canary_rollout_cfg *b)
{
	assert_string_equal(a->steps, b->steps);
	assert_int_equal(a->step_time_ms, b->step_time_ms);
	assert_int_equal(a->max_step_time_ms, b->max_step_time_ms);
	assert_int_equal(a->min_packets, b->min_packets);
	assert_int_equal(a->on_timeout, b->on_timeout);
	assert_int_equal(a->breaker_budget, b->breaker_budget);
	assert_int_equal(a->symmetric, b->symmetric);
	assert_int_equal(a->cost_sample, b->cost_sample);
}

static void assert_default_rollout(const struct canary_rollout_cfg *r)
{
	assert_string_equal(r->steps, "1,5,25,50,100");
	assert_int_equal(r->step_time_ms, 60 * 1000);
	assert_int_equal(r->max_step_time_ms, 3600 * 1000);
	assert_int_equal(r->min_packets, 10000);
	assert_int_equal(r->on_timeout, ROLLOUT_TIMEOUT_PAUSE);
	assert_int_equal(r->breaker_budget, 100);
	assert_false(r->symmetric);
	assert_int_equal(r->cost_sample, 128);
}

/* No file: the defaults, and nothing to manage. */
static void test_defaults(void **state)
{
	struct loaded *l = loaded_new();
	struct judge_config def;

	(void)state;
	load_text(l, "# nothing\n\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->err, "");
	assert_string_equal(l->cfg->socket, "/run/canaryd.sock");
	assert_string_equal(l->cfg->pin_root, "/sys/fs/bpf/canaryd");
	assert_string_equal(l->cfg->state_dir, "/var/lib/canaryd");
	assert_int_equal(l->cfg->interval_ms, 1000);
	assert_int_equal(l->cfg->log_level, CANARY_LOG_INFO);
	assert_int_equal(l->cfg->nr_ifaces, 0);

	load_text(l, "[interface lo]\nstable = /a.o\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->cfg->nr_ifaces, 1);
	assert_string_equal(l->cfg->iface[0].name, "lo");
	assert_true(l->cfg->iface[0].native);
	assert_false(l->cfg->iface[0].fail_closed);
	assert_string_equal(l->cfg->iface[0].stable_obj, "/a.o");
	assert_string_equal(l->cfg->iface[0].stable_prog, "");
	assert_default_rollout(&l->cfg->iface[0].rollout);
	judge_config__defaults(&def);
	assert_judge_equal(&l->cfg->iface[0].judge, &def);
	loaded_free(l);
}

/* Every key the loader knows; the example must show each one. */
static const char *const all_keys[] = {
	"socket", "pin_root", "state_dir", "interval", "metrics", "log_level",
	"steps", "step_time", "max_step_time", "min_packets", "on_timeout", "breaker_budget",
	"symmetric", "cost_sample",
	"alpha", "srm_alpha", "abort_alpha", "min_events", "deff", "invalid_limit",
	"drop", "drop_tolerance", "drop_safety", "drop_budget",
	"pass", "pass_tolerance", "pass_safety", "pass_budget",
	"abort", "abort_tolerance", "abort_safety", "abort_budget",
	"cost", "cost_tolerance", "cost_safety", "cost_budget",
	"mode", "stable", "fail", "webhook",
	"url", "events", "gates", "timeout", "retries", "backoff", "on_failure",
};

static void test_example(void **state)
{
	struct canaryd_config *cfg = calloc(1, sizeof(*cfg));
	struct loaded *l = loaded_new();
	const struct canary_iface_cfg *eth0, *eth1;
	char err[ERR_LEN], line[512];
	struct judge_config j;
	size_t i;
	FILE *f;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(canaryd_config__load(cfg, EXAMPLE, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg->socket, "/run/canaryd.sock");
	assert_string_equal(cfg->pin_root, "/sys/fs/bpf/canaryd");
	assert_string_equal(cfg->state_dir, "/var/lib/canaryd");
	assert_int_equal(cfg->interval_ms, 1000);
	assert_int_equal(cfg->log_level, CANARY_LOG_INFO);
	assert_int_equal(cfg->nr_ifaces, 2);

	eth0 = iface(cfg, "eth0");
	assert_true(eth0->native);
	assert_false(eth0->fail_closed);
	assert_string_equal(eth0->stable_obj, "/etc/canaryd/versions/fw_v1.bpf.o");
	assert_string_equal(eth0->stable_prog, "");
	/* It documents the defaults: its values are those of an empty file. */
	load_text(l, "[interface eth0]\nstable = /a.o\n");
	assert_int_equal(l->rc, 0);
	assert_rollout_equal(&eth0->rollout, &l->cfg->iface[0].rollout);
	assert_judge_equal(&eth0->judge, &l->cfg->iface[0].judge);

	eth1 = iface(cfg, "eth1");
	assert_false(eth1->native);
	assert_true(eth1->fail_closed);
	assert_string_equal(eth1->stable_obj, "/etc/canaryd/versions/fw_v1.bpf.o");
	assert_string_equal(eth1->stable_prog, "fw_v1");
	/* eth0 notifies the example webhook; it holds no gates by default. */
	assert_int_equal(cfg->nr_webhooks, 1);
	assert_int_equal(eth0->nr_hooks, 1);
	assert_int_equal(eth0->gate_hook, -1);
	assert_int_equal(eth1->nr_hooks, 0);
	assert_int_equal(cfg->webhook[0].events, (1U << (ROLLOUT_N_FAILED + 1)) - 1);
	assert_int_equal(cfg->webhook[0].retries, 3);
	assert_string_equal(cfg->webhook[0].secret, "");
	/* Its two overrides, and everything else as eth0. */
	assert_int_equal(eth1->rollout.step_time_ms, 5 * 60 * 1000);
	assert_int_equal(eth1->judge.min_bake_ms, 5 * 60 * 1000);
	assert_true(eth1->judge.metric[JUDGE_METRIC_DROP].rho0 == 1.02);
	{
		struct canary_rollout_cfg r = eth1->rollout;

		r.step_time_ms = eth0->rollout.step_time_ms;
		assert_rollout_equal(&r, &eth0->rollout);
	}
	j = eth1->judge;
	j.min_bake_ms = eth0->judge.min_bake_ms;
	j.metric[JUDGE_METRIC_DROP].rho0 = eth0->judge.metric[JUDGE_METRIC_DROP].rho0;
	assert_judge_equal(&j, &eth0->judge);

	/* Every key is shown, uncommented, for operators to copy. */
	for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		bool found = false;
		size_t n = strlen(all_keys[i]);

		f = fopen(EXAMPLE, "r");
		assert_non_null(f);
		while (!found && fgets(line, sizeof(line), f))
			found = !strncmp(line, all_keys[i], n) && !strncmp(line + n, " = ", 3);
		fclose(f);
		if (!found)
			fail_msg("%s does not show key %s", EXAMPLE, all_keys[i]);
	}
	loaded_free(l);
	free(cfg);
}

struct bad_case {
	const char *what;
	const char *text;
	int line;
	const char *needle;
};

#define IF0 "[interface eth0]\nstable = /a.o\n"
#define A10 "aaaaaaaaaa"

static const struct bad_case bad_cases[] = {
	{ "unknown section", "[daemon]\ninterval = 1s\n[bogus]\nx = 1\n", 3,
	  "[bogus]: unknown section" },
	{ "named global section", "[rollout eth0]\n", 1, "[rollout eth0]: this section takes no name" },
	{ "unknown key in [daemon]", "[daemon]\nsockt = /x\n", 2, "[daemon] key 'sockt': unknown key" },
	{ "unknown key in [rollout]", "[rollout]\nsteps = 1,100\nstep = 1\n", 3,
	  "[rollout] key 'step': unknown key" },
	{ "unknown key in [judge]", "[judge]\n\nalfa = 0.1\n", 3, "[judge] key 'alfa': unknown key" },
	{ "unknown key in [interface]", IF0 "interval = 1s\n", 3,
	  "[interface eth0] key 'interval': unknown key" },
	{ "key outside a section", "interval = 1s\n", 1, "key 'interval': outside any section" },
	{ "bad duration", "[rollout]\nstep_time = 5x\n", 2, "[rollout] key 'step_time': '5x' is not" },
	{ "negative duration", "[rollout]\nstep_time = -5s\n", 2, "key 'step_time'" },
	{ "duration overflow", "[rollout]\nmax_step_time = 99999999999999999999\n", 2,
	  "key 'max_step_time': '99999999999999999999' is too large" },
	{ "interval too short", "[daemon]\ninterval = 50ms\n", 2,
	  "[daemon] key 'interval': '50ms' is out of range (allowed: a duration from 100ms to 60s)" },
	{ "interval too long", "[daemon]\ninterval = 61s\n", 2, "key 'interval': '61s' is out of range" },
	{ "empty value", "[daemon]\ninterval =\n", 2, "key 'interval': no value" },
	{ "bad log level", "[daemon]\nlog_level = loud\n", 2, "key 'log_level'" },
	{ "socket path too long",
	  "[daemon]\nsocket = /run/" A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 "\n",
	  2, "key 'socket': longer than 107 bytes" },
	{ "bad mode", IF0 "mode = fast\n", 3,
	  "[interface eth0] key 'mode': unknown value 'fast' (allowed: native, skb)" },
	{ "bad fail", IF0 "fail = shut\n", 3, "key 'fail'" },
	{ "bad boolean", "[rollout]\nsymmetric = maybe\n", 2, "key 'symmetric': unknown value 'maybe'" },
	{ "bad boolean in interface", IF0 "symmetric = 2\n", 3, "key 'symmetric'" },
	{ "bad on_timeout", "[rollout]\non_timeout = retry\n", 2, "key 'on_timeout'" },
	{ "bad breaker budget", "[rollout]\nbreaker_budget = -1\n", 2, "key 'breaker_budget'" },
	{ "bad min_packets", "[rollout]\nmin_packets = 1e4\n", 2, "key 'min_packets'" },
	{ "cost_sample not a power of two", "[rollout]\ncost_sample = 100\n", 2,
	  "key 'cost_sample': '100' is not a power of two" },
	{ "cost_sample too large", "[rollout]\ncost_sample = 4294967296\n", 2, "key 'cost_sample'" },
	{ "probability too large", "[judge]\nalpha = 0.6\n", 2,
	  "[judge] key 'alpha': '0.6' is out of range (allowed: a probability in (0, 0.5])" },
	{ "probability zero", "[judge]\nsrm_alpha = 0\n", 2, "key 'srm_alpha'" },
	{ "probability not a number", IF0 "abort_alpha = low\n", 3,
	  "[interface eth0] key 'abort_alpha': 'low' is not a number" },
	{ "probability nan", "[judge]\nalpha = nan\n", 2, "key 'alpha'" },
	{ "tolerance of 1", "[judge]\ndrop_tolerance = 1\n", 2, "key 'drop_tolerance': '1' is out of range" },
	{ "safety below 1", "[judge]\ncost_safety = 0.9\n", 2, "key 'cost_safety'" },
	{ "negative budget", "[judge]\npass_budget = -3\n", 2, "key 'pass_budget'" },
	{ "bad direction", "[judge]\nabort = sideways\n", 2,
	  "key 'abort': unknown value 'sideways' (allowed: both, up, down, off)" },
	{ "bad deff", "[judge]\ndeff = 0.5\n", 2, "key 'deff'" },
	{ "bad invalid_limit", "[judge]\ninvalid_limit = sometimes\n", 2, "key 'invalid_limit'" },
	{ "bad min_events", "[judge]\nmin_events = many\n", 2, "key 'min_events'" },
	{ "steps not rising", "[rollout]\nsteps = 5,1,100\n", 2, "key 'steps': '5,1,100' is not" },
	{ "steps not ending at 100", IF0 "steps = 1,5,50\n", 3, "[interface eth0] key 'steps'" },
	{ "steps garbage", "[rollout]\nsteps = 1;5\n", 2, "key 'steps'" },
	{ "max_step_time below step_time", "[rollout]\nmax_step_time = 30s\n", 2,
	  "[rollout] key 'max_step_time': 30s is shorter than step_time 1m" },
	{ "step_time above max_step_time", "[rollout]\n\nstep_time = 2h\n", 3,
	  "[rollout] key 'step_time': 2h is longer than max_step_time 1h" },
	{ "interface max_step_time below global step_time",
	  "[rollout]\nstep_time = 10m\n" IF0 "max_step_time = 5m\n", 5,
	  "[interface eth0] key 'max_step_time': 5m is shorter than step_time 10m" },
	{ "duplicate interface", IF0 "\n[interface eth0]\nstable = /b.o\n", 4,
	  "[interface eth0]: interface configured twice, first on line 1" },
	{ "interface name too long", "[interface abcdefghijklmnop]\nstable = /a.o\n", 1,
	  "[interface abcdefghijklmnop]: interface name longer than 15 characters" },
	{ "interface name with a slash", "[interface a/b]\nstable = /a.o\n", 1,
	  "[interface a/b]: not an interface name" },
	{ "interface without a name", "[interface]\nstable = /a.o\n", 1, "[interface]: no interface name" },
	{ "missing stable", "[daemon]\n\n[interface eth0]\nmode = skb\n", 3,
	  "[interface eth0] key 'stable': missing" },
	{ "bad stable", IF0 "[interface eth1]\nstable = /a.o:\n", 4, "[interface eth1] key 'stable'" },
	{ "key set twice", "[daemon]\ninterval = 1s\n\ninterval = 2s\n", 4,
	  "[daemon] key 'interval': set again, first on line 2" },
	{ "line inih can't parse", "[daemon]\nthis is not a pair\n", 2,
	  "[daemon] cannot parse 'this is not a pair'" },
	{ "section without ]", "[daemon\ninterval = 1s\n", 1, "cannot parse '[daemon': no ']'" },
	{ "text after a section", "[daemon] x\n", 1, "[daemon]: text after ']'" },
	{ "webhook without url", "[webhook ops]\nretries = 2\n", 1, "[webhook ops] key 'url': missing" },
	{ "webhook url not http", "[webhook ops]\nurl = ftp://x/\n", 2,
	  "[webhook ops] key 'url': 'ftp://x/' is not an http:// or https:// URL" },
	{ "webhook unknown event", "[webhook ops]\nurl = http://x/\nevents = started,exploded\n", 3,
	  "[webhook ops] key 'events': unknown name 'exploded'" },
	{ "webhook unknown gate", "[webhook ops]\nurl = http://x/\ngates = step,later\n", 3,
	  "[webhook ops] key 'gates': unknown name 'later'" },
	{ "webhook timeout too long", "[webhook ops]\nurl = http://x/\ntimeout = 5m\n", 3,
	  "[webhook ops] key 'timeout': '5m' is out of range" },
	{ "webhook retries too many", "[webhook ops]\nurl = http://x/\nretries = 99\n", 3,
	  "[webhook ops] key 'retries'" },
	{ "webhook bad policy", "[webhook ops]\nurl = http://x/\non_failure = shrug\n", 3,
	  "[webhook ops] key 'on_failure': unknown value 'shrug'" },
	{ "webhook unknown key", "[webhook ops]\nurl = http://x/\nsecrets = x\n", 3,
	  "[webhook ops] key 'secrets': unknown key" },
	{ "webhook bad metadata key", "[webhook ops]\nurl = http://x/\nmetadata.a b = 1\n", 3,
	  "[webhook ops] key 'metadata.a b': bad metadata key" },
	{ "webhook metadata twice", "[webhook ops]\nurl = http://x/\nmetadata.a = 1\nmetadata.a = 2\n",
	  4, "[webhook ops] key 'metadata.a': set again" },
	{ "webhook secret file missing", "[webhook ops]\nurl = http://x/\nsecret_file = /nonexistent/s\n",
	  3, "[webhook ops] key 'secret_file': cannot open '/nonexistent/s'" },
	{ "webhook twice", "[webhook ops]\nurl = http://x/\n[webhook ops]\nurl = http://y/\n", 3,
	  "[webhook ops]: webhook configured twice, first on line 1" },
	{ "webhook bad name", "[webhook a/b]\nurl = http://x/\n", 1, "[webhook a/b]: bad webhook name" },
	{ "interface names an unknown webhook", IF0 "webhook = ops\n", 3,
	  "[interface eth0] key 'webhook': no [webhook ops] section" },
	{ "two gating webhooks", "[webhook a]\nurl = http://x/\ngates = step\n[webhook b]\n"
	  "url = http://y/\ngates = promote\n" IF0 "webhook = a, b\n", 9,
	  "[interface eth0] key 'webhook': webhooks a and b both have gates" },
	{ "webhook key in an interface", IF0 "url = http://x/\n", 3,
	  "[interface eth0] key 'url': unknown key" },
	{ "metrics host name", "[daemon]\nmetrics = localhost:9464\n", 2,
	  "[daemon] key 'metrics': 'localhost:9464' is not a numeric HOST:PORT (allowed: IPv4:PORT" },
	{ "metrics without port", "[daemon]\nmetrics = 127.0.0.1\n", 2, "key 'metrics'" },
	{ "metrics port 0", "[daemon]\nmetrics = 127.0.0.1:0\n", 2, "key 'metrics'" },
	{ "metrics port too large", "[daemon]\nmetrics = 127.0.0.1:65536\n", 2, "key 'metrics'" },
	{ "metrics IPv6 without brackets", "[daemon]\nmetrics = ::1:9464\n", 2, "key 'metrics'" },
	{ "metrics bad IPv6", "[daemon]\nmetrics = [::g]:9464\n", 2, "key 'metrics'" },
	{ "metrics in an interface", IF0 "metrics = 127.0.0.1:1\n", 3,
	  "[interface eth0] key 'metrics': unknown key" },
};

static void test_errors(void **state)
{
	struct loaded *l = loaded_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		load_text(l, c->text);
		if (l->rc != -EINVAL || !has_error(l->err, l->path, c->line, c->needle))
			fail_msg("%s: rc %d, wanted %s:%d: ...%s...; got:\n%s", c->what, l->rc, l->path,
				 c->line, c->needle, l->err);
		/* One mistake, one line. */
		if (count_lines(l->err) != 1)
			fail_msg("%s: more than one error:\n%s", c->what, l->err);
	}
	loaded_free(l);
}

static void test_too_many_interfaces(void **state)
{
	struct loaded *l = loaded_new();
	char text[4096];
	size_t used = 0;
	int i;

	(void)state;
	for (i = 0; i <= CANARY_MAX_IFACES; i++)
		used += snprintf(text + used, sizeof(text) - used,
				 "[interface veth%d]\nstable = /a.o\n", i);
	load_text(l, text);
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 2 * CANARY_MAX_IFACES + 1,
			      "[interface veth16]: too many interfaces (allowed: at most 16)"));
	assert_int_equal(count_lines(l->err), 1);
	/* Exactly the maximum is fine. */
	text[0] = '\0';
	for (i = 0, used = 0; i < CANARY_MAX_IFACES; i++)
		used += snprintf(text + used, sizeof(text) - used,
				 "[interface veth%d]\nstable = /a.o\n", i);
	load_text(l, text);
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->cfg->nr_ifaces, CANARY_MAX_IFACES);
	loaded_free(l);
}

static void test_missing_file(void **state)
{
	struct canaryd_config *cfg = calloc(1, sizeof(*cfg));
	const char *path = "/tmp/canary_cfg_does_not_exist.ini";
	char err[256];

	(void)state;
	assert_non_null(cfg);
	unlink(path);
	assert_int_equal(canaryd_config__load(cfg, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot open"));
	free(cfg);
}

/* Every error is reported, in file order, not just the first. */
static void test_all_errors_collected(void **state)
{
	struct loaded *l = loaded_new();
	char small[40];

	(void)state;
	load_text(l, "[daemon]\n"
		     "interval = 5ms\n"
		     "not a pair\n"
		     "[rollout]\n"
		     "steps = 100,1\n"
		     "[interface eth0]\n"
		     "mode = fast\n"
		     "[judge]\n"
		     "alpha = 2\n");
	assert_int_equal(l->rc, -EINVAL);
	/* Five where they stand, then the missing stable found at the end. */
	assert_int_equal(count_lines(l->err), 6);
	assert_true(has_error(l->err, l->path, 2, "key 'interval'"));
	assert_true(has_error(l->err, l->path, 3, "cannot parse"));
	assert_true(has_error(l->err, l->path, 5, "key 'steps'"));
	assert_true(has_error(l->err, l->path, 7, "key 'mode'"));
	assert_true(has_error(l->err, l->path, 6, "key 'stable': missing"));
	assert_true(has_error(l->err, l->path, 9, "key 'alpha'"));
	assert_true(strstr(l->err, ":2: ") < strstr(l->err, ":3: "));
	assert_true(strstr(l->err, ":3: ") < strstr(l->err, ":5: "));

	/* A short buffer is cut, still terminated; no buffer is fine too. */
	load_text(l, "[daemon]\ninterval = 5ms\nlog_level = loud\n");
	assert_int_equal(l->rc, -EINVAL);
	{
		char path[64] = "/tmp/canary_cfg_XXXXXX";
		const char *text = "[daemon]\ninterval = 5ms\nlog_level = loud\n";
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
		close(fd);
		memset(small, 'x', sizeof(small));
		assert_int_equal(canaryd_config__load(l->cfg, path, small, sizeof(small)), -EINVAL);
		assert_true(strlen(small) < sizeof(small));
		assert_int_equal(strncmp(small, path, strlen(small) < strlen(path) ? strlen(small) : strlen(path)), 0);
		assert_int_equal(canaryd_config__load(l->cfg, path, NULL, 0), -EINVAL);
		unlink(path);
	}
	loaded_free(l);
}

/* Global keys reach the interfaces that did not set them, whatever the order. */
static void test_overrides(void **state)
{
	struct loaded *l = loaded_new();
	const struct canary_iface_cfg *a, *b;

	(void)state;
	load_text(l, "[interface eth0]\n"
		     "stable = /a.o\n"
		     "step_time = 5m\n"
		     "drop = up\n"
		     "cost_sample = 0\n"
		     "[interface eth1]\n"
		     "stable = /b.o:prog_b\n"
		     "[rollout]\n"
		     "step_time = 2m\n"
		     "min_packets = 500\n"
		     "cost_sample = 64\n"
		     "breaker_budget = off\n"
		     "[judge]\n"
		     "drop = down\n"
		     "alpha = 0.05\n"
		     "cost_budget = 7\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->err, "");
	a = iface(l->cfg, "eth0");
	b = iface(l->cfg, "eth1");

	/* eth0 keeps its own values although the globals come later. */
	assert_int_equal(a->rollout.step_time_ms, 5 * 60 * 1000);
	assert_int_equal(a->judge.min_bake_ms, 5 * 60 * 1000);
	assert_true(a->judge.metric[JUDGE_METRIC_DROP].up);
	assert_false(a->judge.metric[JUDGE_METRIC_DROP].down);
	assert_int_equal(a->rollout.cost_sample, 0);
	/* ... and takes the globals it did not set. */
	assert_int_equal(a->rollout.min_packets, 500);
	assert_int_equal(a->judge.min_cand_packets, 500);
	assert_int_equal(a->rollout.breaker_budget, CANARY_BUDGET_OFF);
	assert_true(a->judge.alpha == 0.05);
	assert_true(a->judge.metric[JUDGE_METRIC_SLOW].budget == 7);

	/* eth1 set nothing: all global. */
	assert_string_equal(b->stable_obj, "/b.o");
	assert_string_equal(b->stable_prog, "prog_b");
	assert_int_equal(b->rollout.step_time_ms, 2 * 60 * 1000);
	assert_int_equal(b->judge.min_bake_ms, 2 * 60 * 1000);
	assert_int_equal(b->rollout.min_packets, 500);
	assert_int_equal(b->rollout.cost_sample, 64);
	assert_int_equal(b->rollout.breaker_budget, CANARY_BUDGET_OFF);
	assert_false(b->judge.metric[JUDGE_METRIC_DROP].up);
	assert_true(b->judge.metric[JUDGE_METRIC_DROP].down);
	assert_true(b->judge.alpha == 0.05);
	assert_true(b->judge.metric[JUDGE_METRIC_SLOW].budget == 7);
	/* Untouched keys keep their defaults. */
	assert_true(b->judge.metric[JUDGE_METRIC_DROP].rho0 == 1.05);
	assert_string_equal(b->rollout.steps, "1,5,25,50,100");
	assert_int_equal(b->rollout.max_step_time_ms, 3600 * 1000);

	/* The same with the globals first. */
	load_text(l, "[rollout]\nstep_time = 2m\n[interface eth0]\nstable = /a.o\nstep_time = 5m\n"
		     "[interface eth1]\nstable = /b.o\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(iface(l->cfg, "eth0")->rollout.step_time_ms, 5 * 60 * 1000);
	assert_int_equal(iface(l->cfg, "eth1")->rollout.step_time_ms, 2 * 60 * 1000);

	/* A global max_step_time below one interface's step_time is that interface's error. */
	load_text(l, IF0 "step_time = 2h\n[interface eth1]\nstable = /b.o\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3,
			      "[interface eth0] key 'step_time': 2h is longer than max_step_time 1h"));
	assert_int_equal(count_lines(l->err), 1);
	loaded_free(l);
}

/* What the INI syntax allows beyond plain "key = value". */
static void test_syntax(void **state)
{
	struct loaded *l = loaded_new();
	char text[1024], obj[400];

	(void)state;
	load_text(l, "\xef\xbb\xbf; a BOM, comments and CRLF\r\n"
		     "[daemon]\r\n"
		     "  interval = 250ms ; inline comment\r\n"
		     "\tlog_level: debug\r\n"
		     "# done\r\n"
		     "[ interface  eth0 ]   ; spaces\n"
		     "    stable = /x/fw.o:fw_v2\n"
		     "    mode = SKB\n"
		     "symmetric = On\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->cfg->interval_ms, 250);
	assert_int_equal(l->cfg->log_level, CANARY_LOG_DEBUG);
	assert_string_equal(l->cfg->iface[0].name, "eth0");
	assert_string_equal(l->cfg->iface[0].stable_obj, "/x/fw.o");
	assert_string_equal(l->cfg->iface[0].stable_prog, "fw_v2");
	assert_false(l->cfg->iface[0].native);
	assert_true(l->cfg->iface[0].rollout.symmetric);

	/* A line longer than inih's 200-byte buffer keeps its whole value. */
	memset(obj, 'o', sizeof(obj));
	obj[0] = '/';
	snprintf(obj + 300, sizeof(obj) - 300, ".bpf.o");
	snprintf(text, sizeof(text), "[interface eth0]\nstable = %s:prog ; why\nmode = skb\n", obj);
	load_text(l, text);
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->iface[0].stable_obj, obj);
	assert_string_equal(l->cfg->iface[0].stable_prog, "prog");
	assert_false(l->cfg->iface[0].native);
	/* ... and a long bad one still names its line. */
	snprintf(text, sizeof(text), "[interface eth0]\nstable = /a.o\nmode = %s\n", obj);
	load_text(l, text);
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3, "[interface eth0] key 'mode'"));
	loaded_free(l);
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		int err;
		__u64 ms;
	} cases[] = {
		{ "250ms", 0, 250 },
		{ "1s", 0, 1000 },
		{ "5m", 0, 5 * 60 * 1000 },
		{ "1h", 0, 3600 * 1000 },
		{ "30", 0, 30 * 1000 },
		{ "0", 0, 0 },
		{ "0ms", 0, 0 },
		{ "007s", 0, 7000 },
		{ "18446744073709551615ms", 0, UINT64_MAX },
		{ "18446744073709551s", 0, 18446744073709551000ULL },
		{ "5124095576030h", 0, 18446744073708000000ULL },
		{ "18446744073709551616ms", -ERANGE, 0 },
		{ "18446744073709552s", -ERANGE, 0 },
		{ "5124095576031h", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "+1s", -EINVAL, 0 },
		{ " 1s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 },
		{ "1.5s", 0, 1500 },
		{ "0.25s", 0, 250 },
		{ "1.5m", 0, 90000 },
		{ "2.0ms", 0, 2 },
		{ "0.5ms", -EINVAL, 0 },
		{ "1.0001s", -EINVAL, 0 },
		{ "1.s", -EINVAL, 0 },
		{ ".5s", -EINVAL, 0 },
		{ "1.5.1s", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "ms", -EINVAL, 0 },
		{ "1d", -EINVAL, 0 },
		{ "1sec", -EINVAL, 0 },
		{ "1S", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 ms = 12345;
		int err = canary_parse_duration_ms(cases[i].s, &ms);

		if (err != cases[i].err || (!err && ms != cases[i].ms))
			fail_msg("'%s': %d %llu, wanted %d %llu", cases[i].s, err,
				 (unsigned long long)ms, cases[i].err,
				 (unsigned long long)cases[i].ms);
		if (err && ms != 12345)
			fail_msg("'%s': output written on error", cases[i].s);
	}
	assert_int_equal(canary_parse_duration_ms(NULL, NULL), -EINVAL);
}

/* private_maps: the list of state maps an interface never shares. */
static void test_private_maps(void **state)
{
	struct loaded *l = loaded_new();
	char text[512];

	(void)state;
	load_text(l, "[interface eth0]\nstable = /v1.o\nprivate_maps = conn_table,nat\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(iface(l->cfg, "eth0")->private_maps, "conn_table,nat");
	memset(text, 'a', sizeof(text));
	memcpy(text, "[interface eth0]\nstable = /v1.o\nprivate_maps = ", 47);
	strcpy(text + 400, "\n");	/* a 353-byte value: too long */
	load_text(l, text);
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3, "private_maps"));
	loaded_free(l);
}

/* reattach: per interface, default no (report a detachment only). */
static void test_reattach(void **state)
{
	struct loaded *l = loaded_new();

	(void)state;
	load_text(l, "[interface eth0]\nstable = /v1.o\n[interface eth1]\nstable = /v1.o\n"
		     "reattach = yes\n");
	assert_int_equal(l->rc, 0);
	assert_false(iface(l->cfg, "eth0")->reattach);
	assert_true(iface(l->cfg, "eth1")->reattach);
	load_text(l, "[interface eth0]\nstable = /v1.o\nreattach = sometimes\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3, "reattach"));
	/* Not a daemon-wide key. */
	load_text(l, "[daemon]\nreattach = yes\n");
	assert_int_equal(l->rc, -EINVAL);
	loaded_free(l);
}

/* prepare, prepare_timeout, copy_maps and set: [rollout] keys an [interface] overrides. */
static void test_version_keys(void **state)
{
	struct loaded *l = loaded_new();
	const struct canary_rollout_cfg *r;

	(void)state;
	load_text(l, "[rollout]\nprepare = /bin/fill --all\nset = a=1\n"
		     "[interface eth0]\nstable = /v1.o\ncopy_maps = rules,acl\n"
		     "prepare_timeout = 5s\nset = debug=1, name=edge_a,x=\n");
	assert_int_equal(l->rc, 0);
	r = &iface(l->cfg, "eth0")->rollout;
	assert_string_equal(r->prepare, "/bin/fill --all");
	assert_int_equal(r->prepare_timeout_ms, 5000);
	assert_string_equal(r->copy_maps, "rules,acl");
	assert_string_equal(r->set, "debug=1, name=edge_a,x=");
	load_text(l, "[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(iface(l->cfg, "eth0")->rollout.prepare_timeout_ms, 30000);
	assert_string_equal(iface(l->cfg, "eth0")->rollout.prepare, "");
	load_text(l, "[interface eth0]\nstable = /v1.o\nset = debug\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3, "set"));
	load_text(l, "[interface eth0]\nstable = /v1.o\nset = 1x=2\n");
	assert_int_equal(l->rc, -EINVAL);
	load_text(l, "[interface eth0]\nstable = /v1.o\nprepare_timeout = 10ms\n");
	assert_int_equal(l->rc, -EINVAL);
	loaded_free(l);
}

/* pin = RULE, ...: the one rule parser (lib/parse.c) and the config key. */
static void test_pins(void **state)
{
	struct canary_pin_rule r[CANARY_PIN_LIST_MAX + 1];
	struct loaded *l = loaded_new();
	char text[128], bad[64], many[4096] = "";
	size_t n, i;

	(void)state;
	assert_int_equal(canary_pin_rule__parse("dst 198.18.5.0/24 -> candidate", r), 0);
	assert_int_equal(r[0].family, AF_INET);
	assert_int_equal(r[0].dir, CANARY_PIN_DST);
	assert_int_equal(r[0].prefixlen, 24);
	assert_int_equal(r[0].slot, 1);
	assert_int_equal(canary_pin_rule__format(r, text, sizeof(text)), 0);
	assert_string_equal(text, "dst 198.18.5.0/24 -> candidate");
	assert_int_equal(canary_pin_rule__parse("src  2001:db8:7::/48\t->  stable", r), 0);
	assert_int_equal(r[0].family, AF_INET6);
	assert_int_equal(r[0].dir, CANARY_PIN_SRC);
	assert_int_equal(r[0].slot, 0);
	assert_int_equal(canary_pin_rule__format(r, text, sizeof(text)), 0);
	assert_string_equal(text, "src 2001:db8:7::/48 -> stable");
	/* A host without /LEN; the short form still parses. */
	assert_int_equal(canary_pin_rule__parse("src 198.18.0.9 -> candidate", r), 0);
	assert_int_equal(r[0].prefixlen, 32);
	assert_int_equal(canary_pin_rule__parse("dst:2001:db8::/32=2", r), 0);
	assert_int_equal(r[0].slot, 2);
	static const char *const bad_rules[] = {
		"", "dst", "dst 198.18.5.0/24", "dst 198.18.5.0/24 ->", "dst 198.18.5.0/24 -> canary",
		"any 198.18.5.0/24 -> candidate", "dst 198.18.5.0/33 -> candidate",
		"dst 198.18.5.0/ -> candidate", "dst 198.18.5.0/2x -> candidate",
		"dst 2001:db8::/129 -> stable", "dst nonsense/8 -> stable",
		"dst 198.18.5.0/24 => candidate", "dst 198.18.5.0/24 -> candidate x",
		"198.18.0.0/24=4", "198.18.0.0=1", "198.18.0.0/24=",
	};
	for (i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++)
		assert_int_equal(canary_pin_rule__parse(bad_rules[i], r), -EINVAL);

	/* Lists: commas, spaces around items; empty items and too many refused. */
	assert_int_equal(canary_pin_rules__parse("", r, 4, &n, bad, sizeof(bad)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(canary_pin_rules__parse(" dst 198.18.5.0/24 -> candidate , src "
						 "2001:db8::1 -> stable", r, 4, &n, bad,
						 sizeof(bad)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].prefixlen, 128);
	assert_int_equal(canary_pin_rules__parse("dst 198.18.5.0/24 -> candidate,", r, 4, &n, bad,
						 sizeof(bad)), -EINVAL);
	assert_int_equal(canary_pin_rules__parse("dst 198.18.5.0/24 -> candidate,,src 198.18.0.1 "
						 "-> stable", r, 4, &n, bad, sizeof(bad)), -EINVAL);
	assert_int_equal(canary_pin_rules__parse("src 198.18.0.1 -> stable, dst 1.2.3/8 -> "
						 "candidate", r, 4, &n, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "dst 1.2.3/8 -> candidate");
	for (i = 0; i <= CANARY_PIN_LIST_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%ssrc 198.18.%zu.0/24 -> "
			 "candidate", i ? "," : "", i);
	assert_int_equal(canary_pin_rules__parse(many, r, CANARY_PIN_LIST_MAX, &n, bad,
						 sizeof(bad)), -E2BIG);

	/* The key: [rollout], overridden by [interface]; a bad rule names itself. */
	load_text(l, "[rollout]\npin = dst 198.18.5.0/24 -> candidate\n"
		     "[interface eth0]\nstable = /v1.o\n"
		     "[interface eth1]\nstable = /v1.o\npin = src 198.18.9.0/24 -> candidate, "
		     "dst 2001:db8:5::/48 -> stable\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(iface(l->cfg, "eth0")->rollout.pin, "dst 198.18.5.0/24 -> candidate");
	assert_string_equal(iface(l->cfg, "eth1")->rollout.pin,
			    "src 198.18.9.0/24 -> candidate, dst 2001:db8:5::/48 -> stable");
	load_text(l, "[interface eth0]\nstable = /v1.o\npin = dst 198.18.5.0/24 -> canary\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 3, "pin"));
	assert_non_null(strstr(l->err, "dst 198.18.5.0/24 -> canary"));
	loaded_free(l);
}

/* [entity NAME] rule sets and pin:NAME plan steps (issue 13). */
static void test_entities(void **state)
{
	struct loaded *l = loaded_new();
	const struct canary_entity_cfg *e;
	struct canary_pin_rule r;
	char text[64];

	(void)state;
	assert_int_equal(canary_pin_match__parse("dst 198.18.6.0/24", &r), 0);
	assert_int_equal(canary_pin_match__format(&r, text, sizeof(text)), 0);
	assert_string_equal(text, "dst 198.18.6.0/24");
	assert_int_equal(canary_pin_match__parse("dst 198.18.6.0/24 -> candidate", &r), -EINVAL);
	assert_int_equal(canary_pin_match__parse("any 198.18.6.0/24", &r), -EINVAL);

	load_text(l, "[entity net-a]\nrules = dst 198.18.6.0/24\n"
		     "[entity net-b]\nrules = dst 198.18.7.0/24, src 2001:db8:7::/48\n"
		     "[rollout]\nsteps = pin:net-a, pin:net-b, 50, 100\n"
		     "[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->cfg->nr_entities, 2);
	e = canaryd_config__entity(l->cfg, "net-b");
	assert_non_null(e);
	assert_int_equal(e->nr_rules, 2);
	assert_int_equal(e->rule[1].family, AF_INET6);
	assert_null(canaryd_config__entity(l->cfg, "net-c"));
	/* An unknown entity in the steps: named, with the known ones. */
	load_text(l, "[entity net-a]\nrules = dst 198.18.6.0/24\n"
		     "[interface eth0]\nstable = /v1.o\nsteps = pin:net-x,50,100\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 5, "steps"));
	assert_non_null(strstr(l->err, "no [entity net-x] section for step pin:net-x (known: net-a)"));
	/* Rules required, with no slot; a section once. */
	load_text(l, "[entity net-a]\n[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_non_null(strstr(l->err, "[entity net-a] key 'rules': missing"));
	load_text(l, "[entity net-a]\nrules = dst 198.18.6.0/24 -> candidate\n"
		     "[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 2, "rules"));
	load_text(l, "[entity net-a]\nrules = dst 198.18.6.0/24\n[entity net-a]\n"
		     "rules = dst 198.18.7.0/24\n[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_non_null(strstr(l->err, "entity configured twice, first on line 1"));
	load_text(l, "[entity bad name]\nrules = dst 198.18.6.0/24\n"
		     "[interface eth0]\nstable = /v1.o\n");
	assert_int_equal(l->rc, -EINVAL);
	assert_non_null(strstr(l->err, "bad entity name"));
	loaded_free(l);
}

/* NAME=VALUE lists and integer values for globals (lib/parse.c). */
static void test_assignments(void **state)
{
	char name[16], value[16];
	const char *s = "a=1,b_2=0x10, c=,d=x=y";
	__u64 v;

	(void)state;
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), 1);
	assert_string_equal(name, "a");
	assert_string_equal(value, "1");
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), 1);
	assert_string_equal(name, "b_2");
	assert_string_equal(value, "0x10");
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), 1);
	assert_string_equal(name, "c");
	assert_string_equal(value, "");
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), 1);
	assert_string_equal(value, "x=y");
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), 0);
	s = "=1";
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), -EINVAL);
	s = "noeq";
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), -EINVAL);
	s = "a-b=1";
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)), -EINVAL);
	s = "a_name_far_too_long=1";
	assert_int_equal(canary_assign__next(&s, name, sizeof(name), value, sizeof(value)),
			 -ENAMETOOLONG);

	assert_int_equal(canary_parse_int_value("255", 1, 0, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(canary_parse_int_value("256", 1, 0, &v), -ERANGE);
	assert_int_equal(canary_parse_int_value("-1", 4, 0, &v), -ERANGE);
	assert_int_equal(canary_parse_int_value("-1", 2, 1, &v), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(canary_parse_int_value("-128", 1, 1, &v), 0);
	assert_int_equal(v, 0x80);
	assert_int_equal(canary_parse_int_value("-129", 1, 1, &v), -ERANGE);
	assert_int_equal(canary_parse_int_value("128", 1, 1, &v), -ERANGE);
	assert_int_equal(canary_parse_int_value("0xffffffffffffffff", 8, 0, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(canary_parse_int_value("0x10000000000000000", 8, 0, &v), -ERANGE);
	assert_int_equal(canary_parse_int_value("true", 1, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(canary_parse_int_value("12a", 4, 0, &v), -EINVAL);
	assert_int_equal(canary_parse_int_value("", 4, 0, &v), -EINVAL);
	assert_int_equal(canary_parse_int_value("0x", 4, 0, &v), -EINVAL);
	assert_int_equal(canary_parse_int_value("1", 3, 0, &v), -EINVAL);
}

/* [webhook NAME] sections, referenced from interfaces in any order. */
static void test_webhooks(void **state)
{
	struct loaded *l = loaded_new();
	const struct canary_webhook_cfg *h;
	char secret[] = "/tmp/canary_secret_XXXXXX", text[2048];
	int fd;

	(void)state;
	fd = mkstemp(secret);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cr3t\n", 7), 7);
	fchmod(fd, 0600);
	snprintf(text, sizeof(text),
		 "[interface eth0]\nstable = /a.o\nwebhook = audit, gate\n"
		 "[interface eth1]\nstable = /a.o\n"
		 "[webhook gate]\nurl = https://ci.example/approve\nevents = none\n"
		 "gates = start, promote\nsecret_file = %s\ntimeout = 500ms\nretries = 0\n"
		 "backoff = 50ms\non_failure = rollback\nmetadata.team = netops\n"
		 "metadata.ticket = CHG-1\n"
		 "[webhook audit]\nurl = http://127.0.0.1:9/x\nevents = promoted,rolled_back\n"
		 "secret = inline\n", secret);
	load_text(l, text);
	if (l->rc)
		fail_msg("%s", l->err);
	assert_int_equal(l->cfg->nr_webhooks, 2);
	h = &l->cfg->webhook[0];
	assert_string_equal(h->name, "gate");
	assert_string_equal(h->url, "https://ci.example/approve");
	assert_int_equal(h->events, 0);
	assert_int_equal(h->gates, ROLLOUT_GATE_BIT(ROLLOUT_GATE_START) |
					   ROLLOUT_GATE_BIT(ROLLOUT_GATE_PROMOTE));
	assert_string_equal(h->secret, "s3cr3t");
	assert_int_equal(h->timeout_ms, 500);
	assert_int_equal(h->retries, 0);
	assert_int_equal(h->backoff_ms, 50);
	assert_int_equal(h->on_failure, ROLLOUT_GATE_ROLLBACK);
	assert_int_equal(h->nr_meta, 2);
	assert_string_equal(h->meta[1].key, "ticket");
	assert_string_equal(h->meta[1].value, "CHG-1");
	h = &l->cfg->webhook[1];
	assert_int_equal(h->events, (1U << ROLLOUT_N_PROMOTED) | (1U << ROLLOUT_N_ROLLED_BACK));
	assert_int_equal(h->gates, 0);
	assert_string_equal(h->secret, "inline");
	/* Defaults. */
	assert_int_equal(h->timeout_ms, 2000);
	assert_int_equal(h->retries, 3);
	assert_int_equal(h->backoff_ms, 1000);
	assert_int_equal(h->on_failure, ROLLOUT_GATE_HOLD);
	/* eth0 sends to both, gates through "gate"; eth1 to none. */
	assert_int_equal(iface(l->cfg, "eth0")->nr_hooks, 2);
	assert_int_equal(iface(l->cfg, "eth0")->hook[0], 1);
	assert_int_equal(iface(l->cfg, "eth0")->hook[1], 0);
	assert_int_equal(iface(l->cfg, "eth0")->gate_hook, 0);
	assert_int_equal(iface(l->cfg, "eth1")->nr_hooks, 0);
	assert_int_equal(iface(l->cfg, "eth1")->gate_hook, -1);

	/* A secret file others can read is refused, naming the line and the key. */
	fchmod(fd, 0644);
	load_text(l, text);
	assert_int_equal(l->rc, -EINVAL);
	assert_true(has_error(l->err, l->path, 10, "[webhook gate] key 'secret_file'"));
	assert_non_null(strstr(l->err, "accessible to others (mode 0644)"));
	close(fd);
	unlink(secret);
	/* secret and secret_file together: one of them. */
	load_text(l, "[webhook a]\nurl = http://x/\nsecret = x\nsecret_file = /etc/hostname\n");
	assert_int_equal(l->rc, -EINVAL);
	loaded_free(l);
}

/* [daemon] metrics: loopback by default; IPv4, [IPv6], off or empty. */
static void test_metrics_key(void **state)
{
	struct loaded *l = loaded_new();

	(void)state;
	load_text(l, "# nothing\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->metrics, "127.0.0.1:9464");
	load_text(l, "[daemon]\nmetrics = 0.0.0.0:19464\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->metrics, "0.0.0.0:19464");
	load_text(l, "[daemon]\nmetrics = [::1]:9464\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->metrics, "[::1]:9464");
	load_text(l, "[daemon]\nmetrics = off\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->metrics, "off");
	load_text(l, "[daemon]\nmetrics =\n");
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->cfg->metrics, "off");
	loaded_free(l);
}

static void test_split_objprog(void **state)
{
	static const struct {
		const char *spec;
		int err;
		const char *obj, *prog;
	} cases[] = {
		{ "/a/fw.bpf.o", 0, "/a/fw.bpf.o", "" },
		{ "/a/fw.bpf.o:fw_v1", 0, "/a/fw.bpf.o", "fw_v1" },
		{ "fw.o:_x9", 0, "fw.o", "_x9" },
		{ "/a:b/fw.o", 0, "/a:b/fw.o", "" },
		{ "/a:b/fw.o:prog", 0, "/a:b/fw.o", "prog" },
		{ "", -EINVAL, NULL, NULL },
		{ ":prog", -EINVAL, NULL, NULL },
		{ "/a/fw.o:", -EINVAL, NULL, NULL },
		{ "/a/fw.o:bad-name", -EINVAL, NULL, NULL },
		{ "/a/fw.o:9lives", -EINVAL, NULL, NULL },
		{ "/a/fw.o:p0123456789012345678901234567890123456789012345678901234567890123",
		  -ENAMETOOLONG, NULL, NULL },
	};
	char obj[CANARY_OBJ_LEN], prog[CANARY_PROG_LEN], small[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = canary_split_objprog(cases[i].spec, obj, sizeof(obj), prog, sizeof(prog));

		if (err != cases[i].err)
			fail_msg("'%s': %d, wanted %d", cases[i].spec, err, cases[i].err);
		if (!err) {
			assert_string_equal(obj, cases[i].obj);
			assert_string_equal(prog, cases[i].prog);
		}
	}
	assert_int_equal(canary_split_objprog("/a/fw.bpf.o", small, sizeof(small), prog, sizeof(prog)),
			 -ENAMETOOLONG);
	assert_int_equal(canary_split_objprog("/fw.o", small, sizeof(small), prog, sizeof(prog)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_metrics_key),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_interfaces),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_all_errors_collected),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_split_objprog),
		cmocka_unit_test(test_private_maps),
		cmocka_unit_test(test_reattach),
		cmocka_unit_test(test_version_keys),
		cmocka_unit_test(test_assignments),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_webhooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
