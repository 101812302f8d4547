// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl against a fake canaryd: a thread serving a UNIX socket in a
 * mkdtemp directory with canned replies (lib/proto.h), recording every
 * request. build/canaryctl runs as a subprocess; we check the requests it
 * sends, its output (-j is valid JSON), its exit codes (--wait, --watch) and
 * its errors (no daemon, daemon error, usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs these first */
#include <setjmp.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture.h"
#include "proto.h"

#define MAX_REQS 64
#define RUN_TIMEOUT_MS 8000
#define DAEMON_ERROR "iface eth9: no such interface (check the name with ip link)"

extern char **environ;

enum fake_mode {
	FAKE_OK,       /* commands: ok; status: a progressing rollout */
	FAKE_SEQUENCE, /* status: progressing twice, then FAKE.terminal */
	FAKE_ERROR,    /* everything: {"ok":false,...} */
};

struct fake {
	char dir[64], sock[128], out[128], err[128];
	int lfd;
	pthread_t thr;
	atomic_bool stop;
	pthread_mutex_t lock;
	enum fake_mode mode;
	const char *terminal;
	const char *start_id;	/* the id a start's reply names (NULL: none) */
	int nstatus;
	json_t *reqs[MAX_REQS];
	int nreq;
};

static struct fake F;

/* A status reply with one interface, eth0, whose rollout is in PHASE. */
static json_t *status_reply(const char *phase, int step)
{
	json_t *ver_s = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}",
	    CANARY_K_PACKETS, (json_int_t)12345678, CANARY_K_BYTES, (json_int_t)987654321,
	    "aborted", (json_int_t)0, "drop", (json_int_t)148148, "pass", (json_int_t)12197530,
	    "tx", (json_int_t)0, "redirect", (json_int_t)0, "invalid", (json_int_t)0,
	    CANARY_K_FALLBACK, (json_int_t)0, CANARY_K_PPS, 12345.0, CANARY_K_DROP_RATE, 0.012,
	    CANARY_K_PASS_RATE, 0.988, CANARY_K_ABORT_RATE, 0.0, CANARY_K_COST_NS_AVG, 45.2);
	json_t *ver_c = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}",
	    CANARY_K_PACKETS, (json_int_t)650123, CANARY_K_BYTES, (json_int_t)52009840, "aborted",
	    (json_int_t)0, "drop", (json_int_t)8126, "pass", (json_int_t)641997, "tx",
	    (json_int_t)0, "redirect", (json_int_t)0, "invalid", (json_int_t)0, CANARY_K_FALLBACK,
	    (json_int_t)0, CANARY_K_PPS, 650.0, CANARY_K_DROP_RATE, 0.0125, CANARY_K_PASS_RATE,
	    0.9875, CANARY_K_ABORT_RATE, 0.0, CANARY_K_COST_NS_AVG, 47.9);
	json_t *rollout = json_pack(
	    "{s:s, s:s, s:s, s:{s:s, s:s}, s:i, s:i, s:f, s:[i,i,i,i,i], s:i, s:i, s:i,"
	    " s:s, s:s, s:[], s:{s:i, s:i, s:i}}",
	    CANARY_K_ID, "eth0-1700000000000", CANARY_K_PHASE, phase, CANARY_K_REASON,
	    "step 2 baking: 18.0 s of 60.0 s", CANARY_K_CANDIDATE, "object", "/opt/fw/fw_v2.bpf.o",
	    CANARY_K_PROGRAM, "xdp_fw", CANARY_K_STEP, step, CANARY_K_STEPS, 5, CANARY_K_SHARE_PCT,
	    5.0, CANARY_K_SHARES_PCT, 1, 5, 25, 50, 100, CANARY_K_STEP_ELAPSED_MS, 18000,
	    CANARY_K_STEP_MIN_MS, 60000, CANARY_K_ELAPSED_MS, 100000, CANARY_K_VERDICT,
	    "inconclusive", CANARY_K_EVIDENCE,
	    "drop up harm: cand 8126/650123 (0.0125) stable 148148/12345678 (0.012)",
	    CANARY_K_TESTS, "totals", "stable_packets", 1234567, "candidate_packets", 65012,
	    "candidate_aborted", 0);

	/* A low-traffic host: the step cannot reach its minimum in time. */
	json_object_set_new(rollout, CANARY_K_EXPOSURE,
			    json_pack("{s:f, s:f, s:b, s:i, s:i}", CANARY_K_CAND_PPH, 7200.0,
				      CANARY_K_NEED_PPH, 20000.0, CANARY_K_UNREACHABLE, 1,
				      CANARY_K_BAD_READS, 0, CANARY_K_BAD_TIMES, 0));

	return json_pack("{s:b, s:[{s:s, s:s, s:b, s:n, s:{s:s, s:s}, s:o, s:{s:b, s:i, s:i},"
			 " s:{s:o, s:o}}]}",
			 CANARY_K_OK, 1, CANARY_K_INTERFACES, "iface", "eth0", "mode", "native",
			 "managed", 1, CANARY_K_ERROR, "stable", CANARY_K_OBJECT,
			 "/opt/fw/fw_v1.bpf.o", CANARY_K_PROGRAM, "xdp_fw", CANARY_K_ROLLOUT,
			 rollout, CANARY_K_BREAKER, "tripped", 0, CANARY_K_BAD, 0, CANARY_K_TRIPS,
			 0, CANARY_K_VERSIONS, "stable", ver_s, CANARY_K_CANDIDATE, ver_c);
}

static json_t *make_reply(json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (F.mode == FAKE_ERROR)
		return json_pack("{s:b, s:s, s:i}", CANARY_K_OK, 0, CANARY_K_ERROR, DAEMON_ERROR,
				 CANARY_K_ERRNO, ENODEV);
	if (cmd && !strcmp(cmd, "start") && F.start_id)
		return json_pack("{s:b, s:s}", CANARY_K_OK, 1, CANARY_K_ID, F.start_id);
	if (!cmd || strcmp(cmd, "status"))
		return json_pack("{s:b}", CANARY_K_OK, 1);
	F.nstatus++;
	if (F.mode == FAKE_SEQUENCE && F.nstatus > 2)
		return status_reply(F.terminal, 2);
	return status_reply("progressing", F.mode == FAKE_SEQUENCE ? F.nstatus : 2);
}

static void serve_one(int fd)
{
	char buf[65536];
	size_t len = 0;
	json_t *req, *rep;
	char *text;

	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	req = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	pthread_mutex_lock(&F.lock);
	if (F.nreq < MAX_REQS)
		F.reqs[F.nreq++] = req ? json_incref(req) : json_string(buf);
	rep = make_reply(req);
	pthread_mutex_unlock(&F.lock);
	text = json_dumps(rep, JSON_COMPACT);
	if (text) {
		if (write(fd, text, strlen(text)) < 0 || write(fd, "\n", 1) < 0)
			perror("fake canaryd: write");
	}
	free(text);
	json_decref(rep);
	json_decref(req);
}

static void *fake_thread(void *arg)
{
	struct pollfd p = { .fd = F.lfd, .events = POLLIN };

	(void)arg;
	while (!atomic_load(&F.stop)) {
		int fd;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept4(F.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

static void fake_start_id(const char *id)
{
	pthread_mutex_lock(&F.lock);
	F.start_id = id;
	pthread_mutex_unlock(&F.lock);
}

static void fake_reset(enum fake_mode mode, const char *terminal)
{
	int i;

	pthread_mutex_lock(&F.lock);
	for (i = 0; i < F.nreq; i++)
		json_decref(F.reqs[i]);
	F.nreq = 0;
	F.nstatus = 0;
	F.mode = mode;
	F.terminal = terminal;
	pthread_mutex_unlock(&F.lock);
}

static int nreqs(void)
{
	int n;

	pthread_mutex_lock(&F.lock);
	n = F.nreq;
	pthread_mutex_unlock(&F.lock);
	return n;
}

static int group_setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	snprintf(F.dir, sizeof(F.dir), "/tmp/canaryctl-test.XXXXXX");
	if (!mkdtemp(F.dir))
		return -1;
	snprintf(F.sock, sizeof(F.sock), "%s/canaryd.sock", F.dir);
	snprintf(F.out, sizeof(F.out), "%s/stdout", F.dir);
	snprintf(F.err, sizeof(F.err), "%s/stderr", F.dir);
	if (strlen(F.sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, F.sock, strlen(F.sock) + 1);
	F.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (F.lfd < 0 || bind(F.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(F.lfd, 16))
		return -1;
	pthread_mutex_init(&F.lock, NULL);
	atomic_store(&F.stop, false);
	return pthread_create(&F.thr, NULL, fake_thread, NULL) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	atomic_store(&F.stop, true);
	pthread_join(F.thr, NULL);
	close(F.lfd);
	fake_reset(FAKE_OK, NULL);
	unlink(F.sock);
	unlink(F.out);
	unlink(F.err);
	return rmdir(F.dir);
}

struct run {
	int code; /* exit code, -1 killed */
	char out[65536], err[65536];
};

/*
 * Run build/canaryctl with ARGS (NULL-terminated). ENV_SOCK: the value of
 * CANARYD_SOCKET, NULL to leave it unset. The environment is built before
 * fork: the fake daemon's thread may hold malloc's lock at that moment.
 */
static void run_ctl(struct run *r, const char *env_sock, const char *const *args)
{
	const char *build = getenv("CANARY_BUILD");
	char bin[512], envsock[256];
	const char *argv[32];
	char *envp[256];
	int i, n = 0, status;
	long waited = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/canaryctl", build ? build : "build");
	argv[0] = bin;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	for (i = 0; environ[i] && n < 250; i++)
		if (strncmp(environ[i], "CANARYD_SOCKET=", 15))
			envp[n++] = environ[i];
	if (env_sock) {
		snprintf(envsock, sizeof(envsock), "CANARYD_SOCKET=%s", env_sock);
		envp[n++] = envsock;
	}
	envp[n] = NULL;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(F.out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(F.err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execve(bin, (char *const *)argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		struct timespec ts = { 0, 10 * 1000000L };

		if (waited >= RUN_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		nanosleep(&ts, NULL);
		waited += 10;
	}
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	fixture_read_file(F.out, r->out, sizeof(r->out));
	fixture_read_file(F.err, r->err, sizeof(r->err));
	if (r->code == 127)
		fail_msg("cannot run %s (build it first: make)", bin);
}

#define RUN(r, ...) run_ctl(r, NULL, (const char *const[]){ "--socket", F.sock, __VA_ARGS__, NULL })

/* The Nth request the fake daemon received (negative: from the end). */
static json_t *req_at(int i)
{
	json_t *r;

	pthread_mutex_lock(&F.lock);
	if (i < 0)
		i += F.nreq;
	r = i >= 0 && i < F.nreq ? F.reqs[i] : NULL;
	pthread_mutex_unlock(&F.lock);
	return r;
}

/*
 * The last request must equal EXPECTED field by field: a JSON text written
 * with single quotes for readability (no value here contains one).
 */
static void assert_last_request(const char *expected)
{
	char text[1024], *p;
	json_t *want, *got = req_at(-1);

	snprintf(text, sizeof(text), "%s", expected);
	for (p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	want = json_loads(text, 0, NULL);
	assert_non_null(want);
	if (!got || !json_equal(want, got)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		print_error("request: got %s, want %s\n", g ? g : "(none)", text);
		free(g);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

/* Every line of OUT is a JSON object; returns how many, the last in *LAST. */
static int json_lines(const char *out, json_t **last)
{
	const char *p = out;
	int n = 0;

	*last = NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		json_error_t e;
		json_t *o;

		assert_non_null(nl);
		o = json_loadb(p, nl - p, 0, &e);
		if (!o)
			fail_msg("not JSON: %.*s (%s)", (int)(nl - p), p, e.text);
		assert_true(json_is_object(o));
		json_decref(*last);
		*last = o;
		n++;
		p = nl + 1;
	}
	return n;
}

static void test_requests(void **state)
{
	static const struct {
		const char *args[8];
		const char *want;
	} cases[] = {
		{ { "status" }, "{'cmd':'status'}" },
		{ { "status", "eth0" }, "{'cmd':'status','iface':'eth0'}" },
		{ { "start", "eth0", "/opt/fw/fw_v2.bpf.o:xdp_fw", "--steps", "1,5,25,50,100",
		    "--step-time", "250ms" },
		  "{'cmd':'start','iface':'eth0','candidate':'/opt/fw/fw_v2.bpf.o:xdp_fw',"
		  "'steps':'1,5,25,50,100','step_time_ms':250}" },
		{ { "start", "eth0", "/opt/fw/fw_v2.bpf.o" },
		  "{'cmd':'start','iface':'eth0','candidate':'/opt/fw/fw_v2.bpf.o'}" },
		{ { "start", "--step-time", "10s", "eth0", "/o.bpf.o" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','step_time_ms':10000}" },
		{ { "start", "eth0", "/o.bpf.o", "--step-time", "5m" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','step_time_ms':300000}" },
		{ { "start", "eth0", "/o.bpf.o", "--step-time", "1h" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','step_time_ms':3600000}" },
		{ { "start", "eth0", "/o.bpf.o", "--step-time", "7" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','step_time_ms':7000}" },
		{ { "start", "eth0", "/o.bpf.o", "--step-time", "1.5s", "--steps", "0.5,10,100" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','step_time_ms':1500,"
		  "'steps':'0.5,10,100'}" },
		{ { "start", "eth0", "/o.bpf.o", "--set", "debug=1", "--set", "label=edge" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','set':'debug=1,label=edge'}" },
		{ { "start", "eth0", "/o.bpf.o", "--prepare", "/bin/fill --all" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','prepare':'/bin/fill --all'}" },
		{ { "start", "eth0", "/o.bpf.o", "--shadow", "10s" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','shadow_ms':10000}" },
		{ { "start", "eth0", "/o.bpf.o", "--shadow", "0" },
		  "{'cmd':'start','iface':'eth0','candidate':'/o.bpf.o','shadow_ms':0}" },
		{ { "prepare", "eth0" }, "{'cmd':'prepare','iface':'eth0'}" },
		{ { "pause", "eth0" }, "{'cmd':'pause','iface':'eth0'}" },
		{ { "resume", "eth0" }, "{'cmd':'resume','iface':'eth0'}" },
		{ { "promote", "eth0" }, "{'cmd':'promote','iface':'eth0'}" },
		{ { "abort", "eth0" }, "{'cmd':'abort','iface':'eth0'}" },
		{ { "revert", "eth0" }, "{'cmd':'revert','iface':'eth0'}" },
		/* bpftool-style unique prefixes */
		{ { "prom", "eth1" }, "{'cmd':'promote','iface':'eth1'}" },
		{ { "stat" }, "{'cmd':'status'}" },
		{ { "ab", "eth0" }, "{'cmd':'abort','iface':'eth0'}" },
	};
	struct run *r = malloc(sizeof(*r));
	unsigned i;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_OK, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[12] = { "--socket", F.sock };
		int j;

		for (j = 0; cases[i].args[j]; j++)
			args[2 + j] = cases[i].args[j];
		run_ctl(r, NULL, args);
		if (r->code != 0)
			fail_msg("case %u (%s): exit %d, stderr: %s", i, cases[i].args[0], r->code,
				 r->err);
		assert_int_equal(nreqs(), (int)i + 1);
		assert_last_request(cases[i].want);
	}
	free(r);
}

/* A relative object path is sent absolute: canaryd has its own cwd. */
static void test_relative_candidate(void **state)
{
	struct run *r = malloc(sizeof(*r));
	char cwd[1024], want[1400];

	(void)state;
	assert_non_null(r);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	fake_reset(FAKE_OK, NULL);
	RUN(r, "start", "eth0", "fw_v2.bpf.o:xdp_fw");
	assert_int_equal(r->code, 0);
	snprintf(want, sizeof(want),
		 "{'cmd':'start','iface':'eth0','candidate':'%s/fw_v2.bpf.o:xdp_fw'}", cwd);
	assert_last_request(want);
	free(r);
}

/* Global options before the verb or after it; CANARYD_SOCKET; --socket wins. */
static void test_socket_selection(void **state)
{
	struct run *r = malloc(sizeof(*r));
	char bad[256];

	(void)state;
	assert_non_null(r);
	snprintf(bad, sizeof(bad), "%s/nonexistent.sock", F.dir);
	fake_reset(FAKE_OK, NULL);

	run_ctl(r, F.sock, (const char *const[]){ "pause", "eth0", NULL });
	assert_int_equal(r->code, 0);
	assert_int_equal(nreqs(), 1);

	run_ctl(r, bad, (const char *const[]){ "--socket", F.sock, "-j", "resume", "eth0", NULL });
	assert_int_equal(r->code, 0);
	assert_int_equal(nreqs(), 2);

	run_ctl(r, bad, (const char *const[]){ "resume", "eth0", "-j", "--socket", F.sock, NULL });
	assert_int_equal(r->code, 0);
	assert_int_equal(nreqs(), 3);
	assert_last_request("{'cmd':'resume','iface':'eth0'}");

	run_ctl(r, bad, (const char *const[]){ "resume", "eth0", NULL });
	assert_int_equal(r->code, 1);
	assert_non_null(strstr(r->err, bad));
	assert_int_equal(nreqs(), 3);
	free(r);
}

static void test_json_output(void **state)
{
	struct run *r = malloc(sizeof(*r));
	json_t *o, *want;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_OK, NULL);

	RUN(r, "-j", "status");
	assert_int_equal(r->code, 0);
	assert_int_equal(json_lines(r->out, &o), 1);
	want = status_reply("progressing", 2);
	assert_true(json_equal(o, want));
	json_decref(want);
	json_decref(o);

	RUN(r, "pause", "eth0", "-j");
	assert_int_equal(r->code, 0);
	assert_int_equal(json_lines(r->out, &o), 1);
	assert_true(json_is_true(json_object_get(o, CANARY_K_OK)));
	json_decref(o);
	free(r);
}

static void test_human_status(void **state)
{
	static const char *const want[] = {
		"eth0 (native, managed)",
		"/opt/fw/fw_v1.bpf.o:xdp_fw",
		"/opt/fw/fw_v2.bpf.o:xdp_fw",
		"progressing  step 2/5  candidate share 5.0%  (steps 1,5,25,50,100)",
		"[#########---------------------]  30%  18.0s of 1m00s",
		"eth0-1700000000000, 1m40s elapsed",
		"pps   drop %   pass %  abort %   cost ns        packets",
		"stable          12345.0     1.20    98.80    0.000      45.2       12345678",
		"candidate         650.0     1.25    98.75    0.000      47.9         650123",
		"verdict    inconclusive",
		"evidence   drop up harm: cand 8126/650123",
		"low traffic 7200 candidate packets/h seen, 20000 needed",
		"breaker    ok (bad 0, trips 0)",
		"reason     step 2 baking",
	};
	struct run *r = malloc(sizeof(*r));
	unsigned i;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_OK, NULL);
	RUN(r, "status", "eth0");
	assert_int_equal(r->code, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(r->out, want[i]))
			fail_msg("status output lacks \"%s\":\n%s", want[i], r->out);
	free(r);
}

/* --wait: progressing twice, then the terminal phase decides the exit code. */
static void test_wait_exit_codes(void **state)
{
	static const struct {
		const char *phase;
		int code;
	} cases[] = {
		{ "promoted", CANARYCTL_EXIT_PROMOTED },
		{ "rolled_back", CANARYCTL_EXIT_ROLLED_BACK },
		{ "aborted", CANARYCTL_EXIT_ABORTED },
		{ "failed", CANARYCTL_EXIT_ERROR },
	};
	struct run *r = malloc(sizeof(*r));
	json_t *o;
	unsigned i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_reset(FAKE_SEQUENCE, cases[i].phase);
		RUN(r, "start", "eth0", "/opt/fw/fw_v2.bpf.o", "--wait");
		if (r->code != cases[i].code)
			fail_msg("%s: exit %d, want %d; stderr: %s", cases[i].phase, r->code,
				 cases[i].code, r->err);
		assert_int_equal(nreqs(), 4); /* start, then three status polls */
		assert_last_request("{'cmd':'status','iface':'eth0'}");
		/* a line per step/phase change: started, steps 1, 2, then the end */
		assert_non_null(strstr(r->out, "eth0: progressing, step 1/5"));
		assert_non_null(strstr(r->out, "eth0: progressing, step 2/5"));
		assert_non_null(strstr(r->out, cases[i].phase));
	}

	/*
	 * --wait follows the rollout its start named: the interface running
	 * another one (promoted here) is not this one's outcome.
	 */
	fake_reset(FAKE_SEQUENCE, "promoted");
	fake_start_id("eth0-1690000000000");
	RUN(r, "start", "eth0", "/opt/fw/fw_v2.bpf.o", "--wait");
	fake_start_id(NULL);
	if (r->code != CANARYCTL_EXIT_ERROR || !strstr(r->err, "no longer the interface's"))
		fail_msg("another rollout: exit %d, want %d; stderr: %s", r->code,
			 CANARYCTL_EXIT_ERROR, r->err);
	assert_non_null(strstr(r->err, "eth0-1690000000000"));
	/* the id it names is the one it follows: the same id ends as usual */
	fake_reset(FAKE_SEQUENCE, "promoted");
	fake_start_id("eth0-1700000000000");
	RUN(r, "start", "eth0", "/opt/fw/fw_v2.bpf.o", "--wait");
	fake_start_id(NULL);
	assert_int_equal(r->code, CANARYCTL_EXIT_PROMOTED);

	/* the operator verbs wait the same way */
	fake_reset(FAKE_SEQUENCE, "aborted");
	RUN(r, "abort", "eth0", "--wait");
	assert_int_equal(r->code, CANARYCTL_EXIT_ABORTED);
	assert_int_equal(nreqs(), 4);

	/* -j: the command's reply, then the final status, each a JSON line */
	fake_reset(FAKE_SEQUENCE, "rolled_back");
	RUN(r, "-j", "start", "eth0", "/opt/fw/fw_v2.bpf.o", "--wait");
	assert_int_equal(r->code, CANARYCTL_EXIT_ROLLED_BACK);
	assert_int_equal(json_lines(r->out, &o), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(o, CANARY_K_INTERFACES), 0),
					CANARY_K_ROLLOUT),
			CANARY_K_PHASE)),
		"rolled_back");
	json_decref(o);
	free(r);
}

/* status IFACE --watch ends with the rollout, with --wait's exit code. */
static void test_watch(void **state)
{
	struct run *r = malloc(sizeof(*r));
	json_t *o;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_SEQUENCE, "promoted");
	RUN(r, "status", "eth0", "--watch");
	assert_int_equal(r->code, CANARYCTL_EXIT_PROMOTED);
	assert_int_equal(nreqs(), 3);
	/* not a tty: frames separated by a line, not by clearing the screen */
	assert_null(strstr(r->out, "\033[H"));
	assert_non_null(strstr(r->out, "\n----\n"));
	assert_non_null(strstr(r->out, "promoted  step 2/5"));

	fake_reset(FAKE_SEQUENCE, "rolled_back");
	RUN(r, "-j", "status", "eth0", "--watch");
	assert_int_equal(r->code, CANARYCTL_EXIT_ROLLED_BACK);
	assert_int_equal(json_lines(r->out, &o), 3);
	json_decref(o);
	free(r);
}

static void test_no_daemon(void **state)
{
	struct run *r = malloc(sizeof(*r));
	char bad[256];
	json_t *o;

	(void)state;
	assert_non_null(r);
	snprintf(bad, sizeof(bad), "%s/nonexistent.sock", F.dir);

	run_ctl(r, NULL, (const char *const[]){ "--socket", bad, "status", NULL });
	assert_int_equal(r->code, 1);
	assert_non_null(strstr(r->err, bad));
	assert_non_null(strstr(r->err, "canaryd"));
	assert_string_equal(r->out, "");
	assert_null(strchr(strchr(r->err, '\n') + 1, '\n')); /* one line */

	run_ctl(r, NULL,
		(const char *const[]){ "--socket", bad, "-j", "start", "eth0", "/o.bpf.o", "--wait",
				       NULL });
	assert_int_equal(r->code, 1);
	assert_int_equal(json_lines(r->out, &o), 1);
	assert_true(json_is_false(json_object_get(o, CANARY_K_OK)));
	assert_int_equal(json_integer_value(json_object_get(o, CANARY_K_ERRNO)), ENOENT);
	assert_non_null(strstr(json_string_value(json_object_get(o, CANARY_K_ERROR)), bad));
	json_decref(o);
	free(r);
}

static void test_daemon_error(void **state)
{
	struct run *r = malloc(sizeof(*r));
	json_t *o, *want;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_ERROR, NULL);

	RUN(r, "pause", "eth9");
	assert_int_equal(r->code, 1);
	assert_string_equal(r->err, "canaryctl: " DAEMON_ERROR "\n");

	RUN(r, "-j", "status", "eth9", "--watch");
	assert_int_equal(r->code, 1);
	assert_int_equal(json_lines(r->out, &o), 1);
	want = json_pack("{s:b, s:s, s:i}", CANARY_K_OK, 0, CANARY_K_ERROR, DAEMON_ERROR,
			 CANARY_K_ERRNO, ENODEV);
	assert_true(json_equal(o, want));
	json_decref(want);
	json_decref(o);

	RUN(r, "start", "eth9", "/o.bpf.o", "--wait");
	assert_int_equal(r->code, 1);
	assert_int_equal(nreqs(), 3); /* no status poll after a refused start */
	free(r);
}

static void test_usage_errors(void **state)
{
	static const char *const cases[][8] = {
		{ "start", "eth0", "/o.bpf.o", "--step-time", "10x" },
		{ "start", "eth0", "/o.bpf.o", "--step-time", "-5s" },
		{ "start", "eth0", "/o.bpf.o", "--step-time", "" },
		{ "start", "eth0", "/o.bpf.o", "--step-time", "0.1ms" },
		{ "start", "eth0", "/o.bpf.o", "--steps", "1,200" },
		{ "start", "eth0", "/o.bpf.o", "--steps", "1,,5" },
		{ "start", "eth0", "/o.bpf.o", "--step-time" },
		{ "start", "eth0", "/o.bpf.o", "--set", "debug" },
		{ "start", "eth0", "/o.bpf.o", "--set", "a=1,b=2" },
		{ "pre", "eth0" }, /* preflight or prepare */
		{ "prepare" },
		{ "start", "eth0" },
		{ "start" },
		{ "pause" },
		{ "revert", "eth0", "eth1" },
		{ "status", "--wait" },
		{ "pause", "eth0", "--watch" },
		{ "pause", "eth0", "--steps", "1,100" },
		{ "status", "--bogus" },
		{ "re", "eth0" }, /* resume or revert */
		{ "frobnicate" },
		{ "-x", "status" },
		{ NULL },
	};
	struct run *r = malloc(sizeof(*r));
	unsigned i;
	json_t *o;

	(void)state;
	assert_non_null(r);
	fake_reset(FAKE_OK, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[12] = { "--socket", F.sock };
		int j;

		for (j = 0; cases[i][j]; j++)
			args[2 + j] = cases[i][j];
		run_ctl(r, NULL, args);
		if (r->code != 1 || !strstr(r->err, "Usage: canaryctl"))
			fail_msg("case %u (%s %s): exit %d, stderr: %s", i,
				 cases[i][0] ? cases[i][0] : "",
				 cases[i][0] && cases[i][1] ? cases[i][1] : "", r->code, r->err);
		assert_string_equal(r->out, "");
	}
	assert_int_equal(nreqs(), 0);

	/* the message names what's wrong; with -j it's a JSON error object */
	RUN(r, "-j", "start", "eth0", "/o.bpf.o", "--step-time", "10x");
	assert_int_equal(r->code, 1);
	assert_int_equal(json_lines(r->out, &o), 1);
	assert_true(json_is_false(json_object_get(o, CANARY_K_OK)));
	assert_int_equal(json_integer_value(json_object_get(o, CANARY_K_ERRNO)), EINVAL);
	assert_non_null(strstr(json_string_value(json_object_get(o, CANARY_K_ERROR)), "10x"));
	json_decref(o);

	/* -h is not an error */
	RUN(r, "start", "-h");
	assert_int_equal(r->code, 0);
	assert_non_null(strstr(r->out, "Usage: canaryctl"));
	assert_non_null(strstr(r->out, "--step-time"));
	assert_int_equal(nreqs(), 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_relative_candidate),
		cmocka_unit_test(test_socket_selection),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_human_status),
		cmocka_unit_test(test_wait_exit_codes),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_no_daemon),
		cmocka_unit_test(test_daemon_error),
		cmocka_unit_test(test_usage_errors),
	};

	/* canaryctl's socket writes must not kill us if it exits early. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
