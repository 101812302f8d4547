// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl: the command-line client of canaryd.
 *
 *   canaryctl [--socket PATH] [-j] status [IFACE] [--watch]
 *   canaryctl [--socket PATH] [-j] start IFACE OBJECT[:PROGRAM]
 *             [--steps LIST] [--step-time DURATION] [--wait]
 *   canaryctl [--socket PATH] [-j] pause|resume|promote|abort|revert IFACE [--wait]
 *   canaryctl [-j] preflight --pcap FILE STABLE[:PROGRAM] CANDIDATE[:PROGRAM]
 *             [--max-diff RATE] [--verbose]
 *   canaryctl [-j] history IFACE [--state-dir DIR] [--config FILE]
 *   canaryctl report ROLLOUT_ID -o FILE.html [--state-dir DIR] [--config FILE]
 *
 * One request per connection, one JSON line each way (canaryd/proto.h). The
 * verbs follow Argo Rollouts, the shape follows bpftool: a table of commands
 * matched by unique prefix, global options before the verb (also accepted
 * after it), and -j switching every output, errors included, to JSON: the
 * daemon's own reply line is printed as received, so a script sees exactly
 * what canaryd said.
 *
 * --wait and "status IFACE --watch" end with an exit code a pipeline can gate
 * on (enum canaryctl_exit): 0 promoted, 2 rolled back, 3 aborted or reverted,
 * 1 failed or any error.
 *
 * preflight needs no daemon: it runs a capture through two versions with
 * BPF_PROG_TEST_RUN (preflight.c) and exits 0 within --max-diff, 2 beyond
 * it, 1 on any error; for that, and only that, canaryctl links libbpf and
 * libpcap. history and report need no daemon either: they read canaryd's
 * state_dir (history.c), found from canaryd's config.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"
#include "engine.h"
#include "history_cmd.h"
#include "log.h"
#include "params.h"
#include "parse.h"
#include "capfile.h"
#include "preflight.h"
#include "proto.h"

#define WATCH_INTERVAL_MS 500
#define WAIT_INTERVAL_MS 200
/*
 * Loading and verifying a candidate, and its prepare command (at most
 * prepare_timeout, 60 s), happen before canaryd answers "start".
 */
#define REPLY_TIMEOUT_S 90
/*
 * While waiting or watching, canaryd may restart (it adopts the datapath and
 * resumes the rollout from its persisted state): ride out that long an
 * outage before giving up, so a pipeline gating on --wait doesn't fail for it.
 */
#define RECONNECT_GRACE_MS 30000
/* After "start", how long a status may still show no rollout at all. */
#define NO_ROLLOUT_GRACE_MS 5000
#define PROGRESS_BAR_WIDTH 30

static const char *bin_name = "canaryctl";
static const char *socket_opt; /* --socket, wherever it was given */
static bool json_output;
static volatile sig_atomic_t interrupted;

/* The description of the last transport failure, for when we give up. */
static char call_err[1024];

static void print_raw_json_line(const char *line)
{
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static void print_json(json_t *obj)
{
	json_dumpf(obj, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Errors are one line: a daemon's message with a newline must not break that. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

/* Report an error: one line on stderr, or a JSON error object on stdout with -j. */
static void __attribute__((format(printf, 2, 3))) p_err(int err, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(msg);
	if (json_output) {
		json_t *o = json_pack("{s:b, s:s, s:i}", CANARY_K_OK, 0, CANARY_K_ERROR, msg,
				      CANARY_K_ERRNO, err);

		if (o)
			print_json(o);
		json_decref(o);
	} else {
		fprintf(stderr, "%s: %s\n", bin_name, msg);
	}
}

static const char *ctl_socket(void)
{
	const char *env;

	if (socket_opt)
		return socket_opt;
	env = getenv("CANARYD_SOCKET");
	return env && *env ? env : CANARY_DEFAULT_SOCKET;
}

/* ---- transport ---------------------------------------------------------- */

static int __attribute__((format(printf, 2, 3))) call_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call_err, sizeof(call_err), fmt, ap);
	va_end(ap);
	return -err;
}

static int ctl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = ctl_socket();
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return call_fail(ENAMETOOLONG,
				 "socket path %s is too long (at most %zu bytes; --socket PATH)",
				 path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return call_fail(errno, "cannot create a UNIX socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		if (err == EACCES || err == EPERM)
			return call_fail(
				err,
				"cannot connect to %s: %s (the socket is mode 0600: run as root)",
				path, strerror(err));
		return call_fail(err,
				 "cannot connect to %s: %s (is canaryd running? --socket PATH)",
				 path, strerror(err));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read one line (the reply); *LINE is NUL-terminated, without the newline. */
static int recv_line(int fd, char **line)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nl = NULL;
	ssize_t n;

	if (!buf)
		return call_fail(ENOMEM, "out of memory reading canaryd's reply");
	while (!nl) {
		if (len + 1 >= cap) {
			char *b;

			if (cap >= CANARY_PROTO_MAX_LINE) {
				free(buf);
				return call_fail(EMSGSIZE,
						 "reply from canaryd on %s is longer than %d bytes",
						 ctl_socket(), CANARY_PROTO_MAX_LINE);
			}
			b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return call_fail(ENOMEM, "out of memory reading canaryd's reply");
			}
			buf = b;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(buf);
			if (err == EAGAIN || err == EWOULDBLOCK)
				return call_fail(ETIMEDOUT,
						 "no reply from canaryd on %s within %d s (see "
						 "canaryd's log)",
						 ctl_socket(), REPLY_TIMEOUT_S);
			return call_fail(err, "cannot read canaryd's reply on %s: %s", ctl_socket(),
					 strerror(err));
		}
		if (n == 0)
			break;
		buf[len + n] = '\0';
		nl = memchr(buf + len, '\n', n);
		len += n;
	}
	if (nl)
		len = nl - buf;
	while (len && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (!len) {
		free(buf);
		return call_fail(
			EPROTO, "canaryd on %s closed the connection without a reply (see its log)",
			ctl_socket());
	}
	*line = buf;
	return 0;
}

struct reply {
	json_t *root; /* the parsed object */
	char *line;   /* as received, for -j */
};

static void reply__free(struct reply *r)
{
	json_decref(r->root);
	free(r->line);
	r->root = NULL;
	r->line = NULL;
}

/*
 * Send REQ and read the reply. 0: canaryd answered {"ok":true,...}, in REP.
 * -errno: the request didn't get an answer (no daemon, broken reply), the
 * message is in call_err and not printed yet, so a caller that retries stays
 * quiet. 1: canaryd answered {"ok":false}; that error was passed through.
 */
static int ctl_call(json_t *req, struct reply *rep)
{
	char *text = NULL, *line = NULL;
	json_error_t jerr;
	json_t *root, *ok;
	int fd, err;

	memset(rep, 0, sizeof(*rep));
	fd = ctl_connect();
	if (fd < 0)
		return fd;
	text = json_dumps(req, JSON_COMPACT);
	if (!text) {
		err = call_fail(ENOMEM, "cannot encode the request");
		goto out_close;
	}
	err = send_all(fd, text, strlen(text));
	if (!err)
		err = send_all(fd, "\n", 1);
	if (err) {
		err = call_fail(-err, "cannot send the request to canaryd on %s: %s", ctl_socket(),
				strerror(-err));
		goto out_close;
	}
	err = recv_line(fd, &line);
	if (err)
		goto out_close;
	root = json_loads(line, 0, &jerr);
	if (!root || !json_is_object(root) ||
	    !json_is_boolean(ok = json_object_get(root, CANARY_K_OK))) {
		err = call_fail(EPROTO,
				"malformed reply from canaryd on %s: %s (canaryd and canaryctl "
				"versions differ?)",
				ctl_socket(), root ? "not an object with \"ok\"" : jerr.text);
		json_decref(root);
		free(line);
		goto out_close;
	}
	rep->root = root;
	rep->line = line;
	if (json_is_true(ok)) {
		err = 0;
	} else {
		json_t *e = json_object_get(root, CANARY_K_ERRNO);
		const char *msg = json_string_value(json_object_get(root, CANARY_K_ERROR));

		const char *log = json_string_value(json_object_get(root, CANARY_K_LOG));

		if (json_output)
			print_raw_json_line(line);
		else
			p_err(json_is_integer(e) ? (int)json_integer_value(e) : EIO, "%s",
			      msg ? msg
				  : "canaryd refused the request without saying why (see its log)");
		/* The verifier's log of a refused candidate, for the operator to read. */
		if (!json_output && log && *log)
			fprintf(stderr, "%s%s", log, log[strlen(log) - 1] == '\n' ? "" : "\n");
		reply__free(rep);
		err = 1;
	}
out_close:
	free(text);
	close(fd);
	return err;
}

/* ---- parsing ------------------------------------------------------------ */

/* The daemon's parser (parse.h); a step lasts at least a millisecond. */
static int parse_duration_ms(const char *s, long long *ms)
{
	__u64 v;
	int err = canary_parse_duration_ms(s, &v);

	if (err)
		return err;
	if (!v || v > 1000000000000ULL)	/* nothing, or over 30 years */
		return -ERANGE;
	*ms = (long long)v;
	return 0;
}

/* "1,5,25,50,100": the daemon's step list parser (engine.h), times aside. */
static bool steps_valid(const char *s)
{
	struct rollout_plan plan;

	return !rollout_plan__parse(&plan, s, 0, 0, 0);
}

/* ---- options: one table per command; it parses and prints the usage -------- */

struct verb_args {
	const char *pos[1 + CANARY_PIN_LIST_MAX];	/* pin IFACE RULE... */
	int npos;
	const char *socket, *steps, *step_time, *warmup, *shadow, *pcap, *max_diff, *prepare;
	const char *state_dir, *config, *output;
	const char *write, *count, *version, *timeout, *rate, *snaplen;
	struct canary_opt_strings set, pin;
	bool json, help, wait, watch, verbose, clear, shadow_live, no_shadow_live;
};

/* An option (params.h): --NAME [ARG] (and -SHORT), setting one field of struct verb_args. */
#define DEFINE_OPTION(_name, _short, _arg, _field, _help)                                          \
	CANARY_OPTION(struct verb_args, _name, _short, _arg, _field, _help)

struct cmd {
	const char *name;
	const char *args;	/* positional arguments, for the synopsis */
	int max_pos;
	const struct canary_opt *opts;	/* the command's own, ended by { 0 } */
	const char *desc;
	int (*func)(const struct cmd *c, struct verb_args *a);
};

/* Accepted by every command, before or after it. */
static const struct canary_opt global_opts[] = {
	DEFINE_OPTION("socket", 0, "PATH", socket,
		      "canaryd's socket (default $CANARYD_SOCKET, else " CANARY_DEFAULT_SOCKET ")"),
	DEFINE_OPTION("json", 'j', NULL, json,
		      "JSON output: the daemon's replies, one object per line,\n"
		      "and errors as {\"ok\":false,\"error\":...,\"errno\":N}"),
	DEFINE_OPTION("help", 'h', NULL, help, "help for one command: canaryctl COMMAND -h"),
	{ 0 },
};

static const struct canary_opt status_opts[] = {
	DEFINE_OPTION("watch", 0, NULL, watch, "redraw every 0.5 s; with IFACE, end with the "
		      "rollout,\nwith the --wait exit code"),
	{ 0 },
};

static const struct canary_opt start_opts[] = {
	DEFINE_OPTION("steps", 0, "LIST", steps, "candidate shares in percent, e.g. 1,5,25,50,100;\n"
		      "entity steps first: pin:NAME,...,1,100 ([entity NAME] in canaryd.ini)"),
	DEFINE_OPTION("step-time", 0, "DURATION",
		      step_time, "minimum time per step: 250ms, 1.5s, 5m, 1h (bare: s)"),
	DEFINE_OPTION("warmup", 0, "DURATION",
		      warmup, "share-0 baseline before the first step (default: the config's)"),
	DEFINE_OPTION("shadow", 0, "DURATION",
		      shadow, "replay sampled packets through the candidate, no traffic to it,\n"
		      "before the warm-up (default: the config's shadow; 0: off)"),
	DEFINE_OPTION("shadow-live", 0, NULL, shadow_live,
		      "paired evidence in the live steps too: a few sampled packets\n"
		      "replayed through both versions (default: the config's shadow_live)"),
	DEFINE_OPTION("no-shadow-live", 0, NULL, no_shadow_live,
		      "no paired evidence in the live steps, whatever the config says"),
	DEFINE_OPTION("prepare", 0, "COMMAND", prepare,
		      "run COMMAND (sh -c) after the candidate's load, before its\n"
		      "traffic (default: the config's prepare); non-zero refuses the start"),
	CANARY_OPTION_MULTI(struct verb_args, "set", 0, "NAME=VALUE", set,
			   "set the candidate's global NAME (.rodata/.data) to VALUE;\n"
			   "repeatable; after the config's set"),
	CANARY_OPTION_MULTI(struct verb_args, "pin", 0, "RULE", pin,
			   "pin flows to a version: 'src|dst PREFIX -> candidate|stable'\n"
			   "(one rule per --pin, repeatable; after the config's pin)"),
	DEFINE_OPTION("wait", 0, NULL, wait, "wait for the end of the rollout, exit with its code"),
	{ 0 },
};

static const struct canary_opt pin_opts[] = {
	DEFINE_OPTION("clear", 0, NULL, clear, "remove every pin rule of the rollout"),
	{ 0 },
};

static const struct canary_opt op_opts[] = {
	DEFINE_OPTION("wait", 0, NULL, wait, "wait for the end of the rollout, exit with its code"),
	{ 0 },
};

static const struct canary_opt preflight_opts[] = {
	DEFINE_OPTION("pcap", 0, "FILE", pcap, "the capture (libpcap or pcapng, Ethernet)"),
	DEFINE_OPTION("max-diff", 0, "RATE", max_diff, "allowed fraction of differing packets: "
		      "0.01 or 1%\n(default 0: any difference fails)"),
	DEFINE_OPTION("verbose", 'v', NULL, verbose, "libbpf's log (verifier output) on stderr"),
	{ 0 },
};

static const struct canary_opt capture_opts[] = {
	DEFINE_OPTION("write", 'w', "FILE", write, "the capture to write: pcapng, or classic pcap "
		      "for a name\nending in .pcap"),
	DEFINE_OPTION("count", 'c', "COUNT", count, "samples to take, 1 to 100000 (default 1000)"),
	DEFINE_OPTION("version", 0, "stable|candidate", version,
		      "only the packets that version handled (default: both)"),
	DEFINE_OPTION("timeout", 0, "DURATION", timeout, "give up after DURATION (default 30s); "
		      "the file keeps\nwhat was taken, exit 1"),
	DEFINE_OPTION("rate", 0, "N", rate, "at most N samples per second per CPU (default "
		      "10000)"),
	DEFINE_OPTION("snaplen", 's', "BYTES", snaplen, "bytes of each frame kept, 14 to 1514 "
		      "(default 1514)"),
	{ 0 },
};

#define STATE_DIR_HELP "canaryd's state_dir (default: the config's)"
#define CONFIG_HELP "canaryd's config, for its state_dir\n(default " CANARYCTL_DEFAULT_CONFIG ")"

static const struct canary_opt history_opts[] = {
	DEFINE_OPTION("state-dir", 0, "DIR", state_dir, STATE_DIR_HELP),
	DEFINE_OPTION("config", 'c', "FILE", config, CONFIG_HELP),
	{ 0 },
};

static const struct canary_opt report_opts[] = {
	DEFINE_OPTION("output", 'o', "FILE", output, "the HTML page to write"),
	DEFINE_OPTION("state-dir", 0, "DIR", state_dir, STATE_DIR_HELP),
	DEFINE_OPTION("config", 'c', "FILE", config, CONFIG_HELP),
	{ 0 },
};

#define DESC_HISTORY                                                                               \
	"IFACE's past rollouts from canaryd's state_dir (works with canaryd stopped):\n"          \
	"id, start, who started it (uid/pid of the client), candidate, outcome, who\n"            \
	"decided (judge, gate, a client's uid/pid, canaryd), duration, reason.\n"                  \
	"-j: {\"ok\":true, \"interface\", \"file\", \"rollouts\":[{\"rollout_id\",\n"   \
	"    \"candidate\", \"started_ms\", \"started_by\", \"outcome\", \"decided_by\",\n" \
	"    \"ended_ms\", \"reason\", \"events\":[history lines]}]}\n"
#define DESC_REPORT                                                                                \
	"one self-contained HTML page (inline SVG, no network) of rollout ROLLOUT_ID:\n"          \
	"pass, drop and abort rates of both versions over time, the share steps, the\n"           \
	"decision and the evidence that decided, the events.\n"

#define DESC_STATUS                                                                                \
	"phase, step, candidate share and step progress, per-version rates, the judge's\n"         \
	"verdict and evidence, the circuit breaker.\n"
#define DESC_START "a rollout of the candidate OBJECT (a relative path is made absolute).\n"
#define DESC_PREFLIGHT                                                                             \
	"no daemon, no interface. Every packet of the capture FILE runs through both\n"            \
	"versions with BPF_PROG_TEST_RUN, in order; prints the verdict matrix (stable rows\n"      \
	"x candidate columns) and a few example packets (#N: N-th packet of the capture,\n"        \
	"from 1) per disagreement. Differing packets: other verdict, or same pass/tx/redirect\n"   \
	"verdict with different bytes out (\"rewritten\"); frames under 14 bytes are not\n"        \
	"runnable and not counted. Exit 0 when differing/run <= RATE, 2 beyond, 1 on error.\n"     \
	"-j: {\"ok\":true, \"capture\":{\"file\",\"linktype\",\"packets\",\"run\",\"snapped\",\n"  \
	"    \"cut_short\"}, \"stable\"/\"candidate\":{\"object\",\"program\"},\n"                 \
	"    \"verdicts\":[\"aborted\",\"drop\",\"pass\",\"tx\",\"redirect\",\"invalid\"],\n"      \
	"    \"matrix\":[[N x6] x6] (row: stable verdict), \"disagreements\":[{\"stable\",\n"      \
	"    \"candidate\",\"packets\",\"examples\":[{\"index\",\"summary\"}]}],\n"                \
	"    \"rewritten\"/\"not_runnable\":{\"packets\",\"examples\"}, \"differing\",\n"          \
	"    \"rate\", \"max_diff\", \"within\"}\n"

#define DESC_CAPTURE                                                                               \
	"packets arriving on IFACE, sampled by canaryd's dispatcher before any version ran\n"     \
	"(every packet up to --rate per second per CPU), written to FILE with each one's\n"        \
	"live verdict and version (pcapng comment \"canary: version=stable slot=0\n"              \
	"verdict=pass ...\"); preflight reads it. canaryctl writes FILE, canaryd never\n"         \
	"opens it. Exit 0 with COUNT samples, 1 otherwise (the file keeps what was taken).\n"     \
	"-j: {\"ok\":true, \"file\", \"format\", \"iface\", \"samples\", \"want\", "            \
	"\"lost\",\n    \"limited\", \"overflow\", \"skipped\"}\n"

static const char usage_tail[] =
	"Exit codes with --wait (and status IFACE --watch): 0 promoted, 2 rolled back,\n"
	"3 aborted or reverted by an operator, 1 failed or any error.\n"
	"Commands may be abbreviated to a unique prefix.\n";

static int do_status(const struct cmd *c, struct verb_args *a);
static int do_start(const struct cmd *c, struct verb_args *a);
static int do_op(const struct cmd *c, struct verb_args *a);
static int do_preflight(const struct cmd *c, struct verb_args *a);
static int do_capture(const struct cmd *c, struct verb_args *a);
static int do_pin(const struct cmd *c, struct verb_args *a);
static int do_history(const struct cmd *c, struct verb_args *a);
static int do_report(const struct cmd *c, struct verb_args *a);
static int do_help(const struct cmd *c, struct verb_args *a);

static const struct cmd cmds[] = {
	{ "status", "[IFACE]", 1, status_opts, DESC_STATUS, do_status },
	{ "start", "IFACE OBJECT[:PROGRAM]", 2, start_opts, DESC_START, do_start },
	{ "pause", "IFACE", 1, op_opts, "hold the rollout at its current step.\n", do_op },
	{ "resume", "IFACE", 1, op_opts, "go on after a pause (a held gate is asked again).\n",
	  do_op },
	{ "promote", "IFACE", 1, op_opts, "promote the candidate now.\n", do_op },
	{ "abort", "IFACE", 1, op_opts, "back to stable now.\n", do_op },
	{ "revert", "IFACE", 1, op_opts, "after a promotion, back to the previous stable.\n",
	  do_op },
	{ "prepare", "IFACE", 1, NULL, "run the loaded candidate's prepare command again (to "
	  "refill its maps).\n", do_op },
	{ "pin", "IFACE [RULE...]", 1 + CANARY_PIN_LIST_MAX, pin_opts,
	  "replace the running rollout's pin rules, swapped in whole; each RULE one\n"
	  "argument 'src|dst PREFIX -> candidate|stable' (--clear: none).\n", do_pin },
	{ "release", "IFACE", 1, NULL, "hand the interface back: its stable attached directly in "
	  "place of the dispatcher\n(one atomic replace), canaryd's pins removed; refused while a "
	  "rollout runs.\n", do_op },
	{ "capture", "IFACE", 1, capture_opts, DESC_CAPTURE, do_capture },
	{ "preflight", "STABLE_OBJECT[:PROG] CANDIDATE_OBJECT[:PROG]", 2, preflight_opts,
	  DESC_PREFLIGHT, do_preflight },
	{ "history", "IFACE", 1, history_opts, DESC_HISTORY, do_history },
	{ "report", "ROLLOUT_ID", 1, report_opts, DESC_REPORT, do_report },
	{ "help", "", 0, NULL, "", do_help },	/* also canaryctl -h */
	{ 0 },
};

/* "canaryctl [--socket PATH] [-j] start IFACE OBJECT[:PROGRAM] [--steps LIST] ..." */
static void print_synopsis(FILE *f, const struct cmd *c)
{
	int col = fprintf(f, "canaryctl [--socket PATH] [-j] %s%s%s", c->name,
			  c->args[0] ? " " : "", c->args);

	canary_opts__synopsis(f, c->opts, col, 17);
	fputc('\n', f);
}

/* "  start: a rollout of ...", continuation lines indented. */
static void print_desc(FILE *f, const struct cmd *c)
{
	const char *h = c->desc, *nl;

	fprintf(f, "  %s: ", c->name);
	for (; (nl = strchr(h, '\n')) && nl[1]; h = nl + 1)
		fprintf(f, "%.*s\n  ", (int)(nl - h), h);
	fputs(h, f);
	if (c->opts && c->opts->name)
		canary_opts__print(f, c->opts);
}

static void usage_cmd(FILE *f, const struct cmd *c)
{
	fputs("Usage: ", f);
	print_synopsis(f, c);
	print_desc(f, c);
}

static void usage_short(FILE *f)
{
	const struct cmd *c;

	for (c = cmds; c->name; c++) {
		fputs(c == cmds ? "Usage: " : "       ", f);
		print_synopsis(f, c);
	}
}

static void usage_all(FILE *f)
{
	const struct cmd *c;

	usage_short(f);
	fputc('\n', f);
	for (c = cmds; c->name; c++) {
		if (c->desc[0])
			print_desc(f, c);
	}
	fputs("Options:\n", f);
	canary_opts__print(f, global_opts);
	fputs(usage_tail, f);
}

/* A usage error: what's wrong (JSON with -j), then the command's usage on stderr. */
static int __attribute__((format(printf, 2, 3))) usage_err(const struct cmd *c, const char *fmt,
							   ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p_err(EINVAL, "%s", msg);
	if (c)
		usage_cmd(stderr, c);
	else
		usage_short(stderr);
	return CANARYCTL_EXIT_ERROR;
}

/* " (an option of status)" when another command has the unknown option ARG. */
static void other_owner(const char *arg, char *buf, size_t len)
{
	const struct cmd *c;

	buf[0] = '\0';
	for (c = cmds; c->name; c++)
		if (canary_opts__has(c->opts, arg)) {
			snprintf(buf, len, " (an option of %s)", c->name);
			return;
		}
}

/*
 * Parse ARGV (argv[0] is the command, or "canaryctl" for the options before
 * it) with the global options and the table of C (NULL: the global options
 * alone, stopping at the first positional argument: the command). 0 or an
 * exit code after a usage error.
 */
static int parse_opts(int argc, char **argv, const struct cmd *c, struct verb_args *a)
{
	const struct canary_opt *const tables[] = { global_opts, c ? c->opts : NULL, NULL };
	struct canary_opts_parse p = { .tables = tables, .obj = a, .pos = a->pos,
				       .max_pos = c ? c->max_pos : 0, .stop_at_pos = !c };
	char where[64] = "";

	if (canary_opts__parse(argc, argv, &p)) {
		if (!strncmp(p.msg, "unknown", 7))
			other_owner(p.bad, where, sizeof(where));
		return usage_err(c, "%s%s%s%s", c ? c->name : "", c ? ": " : "", p.msg, where);
	}
	a->npos = p.npos;
	if (a->socket)
		socket_opt = a->socket;
	if (a->json)
		json_output = true;
	return 0;
}

/* ---- status rendering --------------------------------------------------- */

/* The --wait exit code of a terminal phase, -1 while the rollout goes on. */
static int phase_exit_code(const char *phase)
{
	if (!phase)
		return -1;
	if (!strcmp(phase, "promoted"))
		return CANARYCTL_EXIT_PROMOTED;
	if (!strcmp(phase, "rolled_back"))
		return CANARYCTL_EXIT_ROLLED_BACK;
	if (!strcmp(phase, "aborted"))
		return CANARYCTL_EXIT_ABORTED;
	if (!strcmp(phase, "failed"))
		return CANARYCTL_EXIT_ERROR;
	return -1;
}

static double jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static unsigned long long jcount(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? 0 : (unsigned long long)json_integer_value(v);
	return json_is_real(v) && json_real_value(v) > 0 ? (unsigned long long)json_real_value(v)
							 : 0;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * "paired   safe at live step 3 (812 samples: 770 of stable's flows, 42 of the
 * candidate's, fidelity 1.000); live steps 3100 samples, fidelity 1.000"
 */
static void print_paired(json_t *s)
{
	json_t *l = json_object_get(s, CANARY_K_LIVE), *st = json_object_get(l, CANARY_K_THIS_STEP);
	const char *harm = jstr(l, CANARY_K_HARM);

	if (!json_is_object(l))
		return;
	if (!json_is_object(st)) {
		printf("  %-10s %s%s\n", "paired", jstr(l, CANARY_K_DECISION) ?: "?",
		       json_is_true(json_object_get(l, CANARY_K_ACTIVE)) ? "" : " (not begun)");
		return;
	}
	printf("  %-10s %s at live step %llu (%llu samples: %llu of stable's flows, %llu of the "
	       "candidate's, fidelity %.3f); live steps %llu samples, fidelity %.3f%s%s%s\n",
	       "paired", jstr(l, CANARY_K_DECISION) ?: "?", jcount(l, CANARY_K_STEP),
	       jcount(st, CANARY_K_SAMPLES), jcount(st, CANARY_K_STABLE_FLOWS),
	       jcount(st, CANARY_K_CANDIDATE_FLOWS), jnum(st, CANARY_K_FIDELITY),
	       jcount(l, CANARY_K_SAMPLES), jnum(l, CANARY_K_FIDELITY),
	       json_is_true(json_object_get(l, "loaded")) ? "" : " (no shadow instances)",
	       harm && *harm ? ": " : "", harm && *harm ? harm : "");
}

/* "shadow  harmful, 1234 samples, fidelity 1.000 (over): drop_up: pass->drop ..." */
static void print_shadow(json_t *ro)
{
	json_t *s = json_object_get(ro, CANARY_K_SHADOW);
	const char *harm = jstr(s, CANARY_K_HARM);

	if (!json_is_object(s))
		return;
	if (!jcount(s, "duration_ms")) {
		print_paired(s);	/* no shadow phase */
		return;
	}
	printf("  %-10s %s, %llu samples, fidelity %.3f (%s)%s%s\n", "shadow",
	       jstr(s, CANARY_K_DECISION) ? jstr(s, CANARY_K_DECISION) : "?",
	       jcount(s, CANARY_K_SAMPLES), jnum(s, CANARY_K_FIDELITY),
	       json_is_true(json_object_get(s, CANARY_K_ACTIVE)) ? "replaying, no traffic to "
								   "the candidate"
								 : "over",
	       harm && *harm ? ": " : "", harm && *harm ? harm : "");
	print_paired(s);
}

/* "waiting for gate step (4.2 s, not yet (HTTP 403))" when a gate holds the rollout. */
static void print_gate(json_t *ro)
{
	json_t *g = json_object_get(ro, CANARY_K_GATE);
	const char *last = jstr(g, CANARY_K_LAST_ANSWER);

	if (!json_is_object(g))
		return;
	printf("  %-10s waiting for gate %s (%.1f s%s%s%s)\n", "gate",
	       jstr(g, CANARY_K_NAME) ? jstr(g, CANARY_K_NAME) : "?",
	       jnum(g, CANARY_K_WAITING_MS) / 1000.0,
	       json_is_true(json_object_get(g, CANARY_K_PASSED)) ? ", passed: resume to go on" : "",
	       last && *last ? ", last answer: " : "", last ? last : "");
}

/* "obj:prog", or "obj" when the program isn't named. */
static void fmt_version_name(json_t *v, char *buf, size_t len)
{
	const char *obj = jstr(v, CANARY_K_OBJECT), *prog = jstr(v, CANARY_K_PROGRAM);

	if (!obj)
		snprintf(buf, len, "-");
	else if (prog && *prog)
		snprintf(buf, len, "%s:%s", obj, prog);
	else
		snprintf(buf, len, "%s", obj);
}

static void fmt_duration(double ms, char *buf, size_t len)
{
	unsigned long long s = ms < 0 ? 0 : (unsigned long long)(ms / 1000);

	if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms < 0 ? 0 : ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lluh%02llum", s / 3600, s / 60 % 60);
}

static void print_progress(json_t *ro)
{
	double el = jnum(ro, CANARY_K_STEP_ELAPSED_MS), min = jnum(ro, CANARY_K_STEP_MIN_MS), f;
	char bar[PROGRESS_BAR_WIDTH + 1], a[32], b[32];
	int i, fill;

	f = min > 0 ? el / min : 1;
	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	fill = (int)(f * PROGRESS_BAR_WIDTH + 0.5);
	for (i = 0; i < PROGRESS_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[PROGRESS_BAR_WIDTH] = '\0';
	fmt_duration(el, a, sizeof(a));
	fmt_duration(min, b, sizeof(b));
	printf("  %-10s [%s] %3d%%  %s of %s\n", "progress", bar, (int)(f * 100), a, b);
}

static void print_version_row(const char *name, json_t *v)
{
	char pps[32] = "-";	/* null: not measured yet */

	if (json_is_number(json_object_get(v, CANARY_K_PPS)))
		snprintf(pps, sizeof(pps), "%.1f", jnum(v, CANARY_K_PPS));
	printf("  %-10s %12s %8.2f %8.2f %8.3f %9.1f %14llu\n", name, pps,
	       100 * jnum(v, CANARY_K_DROP_RATE), 100 * jnum(v, CANARY_K_PASS_RATE),
	       100 * jnum(v, CANARY_K_ABORT_RATE), jnum(v, CANARY_K_COST_NS_AVG),
	       jcount(v, CANARY_K_PACKETS));
}

/*
 * A rule set's counters ({"stable": {...}, "candidate": {...}}) after LABEL NAME:
 * "set  net-a  stable 4000 packets (drop 0, pass 4000, aborted 0, invalid 0),
 * candidate 4100 (...)".
 */
static void print_set_counters(const char *label, const char *name, json_t *c)
{
	static const char *const roles[] = { CANARY_K_STABLE, CANARY_K_CANDIDATE };
	size_t i;

	if (!json_is_object(c))
		return;
	printf("  %-10s %s ", label, name ? name : "?");
	for (i = 0; i < 2; i++) {
		json_t *e = json_object_get(c, roles[i]);

		printf("%s%s %llu packets (drop %llu, pass %llu, aborted %llu, invalid %llu)",
		       i ? ", " : " ", roles[i], jcount(e, CANARY_K_PACKETS), jcount(e, "drop"),
		       jcount(e, "pass"), jcount(e, "aborted"), jcount(e, "invalid"));
	}
	putchar('\n');
}

/*
 * "entity  net-a  passed  src 198.18.3.0/24: baseline 4000 packets (drop 0),
 * before 4000 (drop 0), after 4100 (drop 0), ratio 1.00", one line each.
 */
static void print_entities(json_t *ents)
{
	json_t *e, *r;
	size_t i, j;

	json_array_foreach(ents, i, e) {
		json_t *b = json_object_get(e, CANARY_K_BASELINE), *be = json_object_get(e, CANARY_K_BEFORE);
		json_t *af = json_object_get(e, CANARY_K_AFTER), *ratio = json_object_get(e, CANARY_K_RATIO);
		char rules[256] = "";
		size_t off = 0;

		json_array_foreach(json_object_get(e, CANARY_K_RULES), j, r)
			if (off < sizeof(rules))
				off += snprintf(rules + off, sizeof(rules) - off, "%s%s", j ? ", " : "",
						json_string_value(r) ?: "?");
		printf("  %-10s %s  %s  %s: baseline %llu packets (drop %llu), before %llu (drop "
		       "%llu), after %llu (drop %llu)", "entity", jstr(e, CANARY_K_NAME) ?: "?",
		       jstr(e, CANARY_K_STATE) ?: "?", rules, jcount(b, CANARY_K_PACKETS),
		       jcount(b, "drop"), jcount(be, CANARY_K_PACKETS), jcount(be, "drop"),
		       jcount(af, CANARY_K_PACKETS), jcount(af, "drop"));
		if (json_is_number(ratio))
			printf(", ratio %.2f", json_number_value(ratio));
		putchar('\n');
		/* Its own rule set's verdicts per version. */
		print_set_counters("counters", jstr(e, CANARY_K_NAME),
				   json_object_get(e, CANARY_K_COUNTERS));
	}
}

/* "pin  dst 198.18.5.0/24 -> candidate", then the pinned packets per version. */
static void print_pins(json_t *pins)
{
	json_t *rules = json_object_get(pins, CANARY_K_RULES), *r;
	json_t *pinned = json_object_get(pins, CANARY_K_PINNED);
	static const char *const roles[] = { CANARY_K_STABLE, CANARY_K_CANDIDATE };
	size_t i;

	if (!json_array_size(rules))
		return;
	json_array_foreach(rules, i, r)
		printf("  %-10s %s\n", "pin", json_string_value(r) ?: "?");
	for (i = 0; i < 2; i++) {
		json_t *e = json_object_get(pinned, roles[i]);

		if (json_is_object(e))
			printf("  %-10s %s: %llu packets (drop %llu, pass %llu, aborted %llu, "
			       "invalid %llu)\n", "pinned", roles[i], jcount(e, CANARY_K_PACKETS),
			       jcount(e, "drop"), jcount(e, "pass"), jcount(e, "aborted"),
			       jcount(e, "invalid"));
	}
	/* Per rule set: "plain" (the operator's rules) or the entity's. */
	json_array_foreach(json_object_get(pinned, CANARY_K_SETS), i, r)
		print_set_counters("set", jstr(r, CANARY_K_NAME), r);
}

static void print_iface(json_t *ifc)
{
	json_t *ro = json_object_get(ifc, CANARY_K_ROLLOUT),
	       *vers = json_object_get(ifc, CANARY_K_VERSIONS);
	json_t *br = json_object_get(ifc, CANARY_K_BREAKER);
	const char *name = jstr(ifc, CANARY_K_IFACE), *mode = jstr(ifc, CANARY_K_MODE),
		   *err = jstr(ifc, CANARY_K_ERROR);
	char buf[4200];

	printf("%s (%s, %s)\n", name ? name : "?", mode ? mode : "?",
	       json_is_true(json_object_get(ifc, CANARY_K_MANAGED)) ? "managed" : "not managed");
	if (err)
		printf("  %-10s %s\n", "error", err);
	{
		const char *link = jstr(ifc, CANARY_K_LINK), *now = jstr(ifc, CANARY_K_IFNAME);
		long long idx = json_integer_value(json_object_get(ifc, CANARY_K_IFINDEX));

		if (link && idx)
			printf("  %-10s %s (ifindex %lld%s%s)\n", "link", link, idx,
			       now && name && strcmp(now, name) ? ", now named " : "",
			       now && name && strcmp(now, name) ? now : "");
		else if (link)
			printf("  %-10s %s\n", "link", link);
	}
	fmt_version_name(json_object_get(ifc, CANARY_K_STABLE), buf, sizeof(buf));
	printf("  %-10s %s\n", "stable", buf);
	fmt_version_name(json_object_get(ifc, CANARY_K_CONFIGURED_STABLE), buf, sizeof(buf));
	printf("  %-10s %s\n", "configured", buf);
	if (json_is_object(ro)) {
		json_t *shares = json_object_get(ro, CANARY_K_SHARES_PCT), *s;
		const char *v;
		size_t i, off = 0;

		fmt_version_name(json_object_get(ro, CANARY_K_CANDIDATE), buf, sizeof(buf));
		printf("  %-10s %s\n", "candidate", buf);
		buf[0] = '\0';
		json_array_foreach(shares, i, s) {
			if (off + 32 > sizeof(buf))
				break;
			off += snprintf(buf + off, sizeof(buf) - off, "%s%g", i ? "," : "",
					json_number_value(s));
		}
		printf("  %-10s %s  step %lld/%lld  candidate share %.1f%%%s%s%s\n", "phase",
		       (v = jstr(ro, CANARY_K_PHASE)) ? v : "?",
		       json_integer_value(json_object_get(ro, CANARY_K_STEP)),
		       json_integer_value(json_object_get(ro, CANARY_K_STEPS)),
		       jnum(ro, CANARY_K_SHARE_PCT), *buf ? "  (steps " : "", buf, *buf ? ")" : "");
		/* an ended rollout has no step in progress */
		if (phase_exit_code(jstr(ro, CANARY_K_PHASE)) < 0)
			print_progress(ro);
		print_gate(ro);
		print_shadow(ro);
		fmt_duration(jnum(ro, CANARY_K_ELAPSED_MS), buf, sizeof(buf));
		printf("  %-10s %s, %s elapsed\n", "rollout", (v = jstr(ro, CANARY_K_ID)) ? v : "?",
		       buf);
	} else {
		printf("  %-10s none\n", "rollout");
	}
	if (json_is_object(vers)) {
		printf("  %-10s %12s %8s %8s %8s %9s %14s\n", "version", "pps", "drop %", "pass %",
		       "abort %", "cost ns", "packets");
		print_version_row("stable", json_object_get(vers, CANARY_K_STABLE));
		print_version_row("candidate", json_object_get(vers, CANARY_K_CANDIDATE));
	}
	if (json_is_object(ro)) {
		const char *v = jstr(ro, CANARY_K_VERDICT), *ev = jstr(ro, CANARY_K_EVIDENCE);
		json_t *ex;

		printf("  %-10s %s\n", "verdict", v ? v : "-");
		printf("  %-10s %s\n", "evidence", ev && *ev ? ev : "-");
		ex = json_object_get(ro, CANARY_K_EXPOSURE);
		if (json_is_true(json_object_get(ex, CANARY_K_UNREACHABLE)))
			printf("  %-10s %.0f candidate packets/h seen, %.0f needed: this step will "
			       "time out (never a rollback)\n", "low traffic",
			       jnum(ex, CANARY_K_CAND_PPH), jnum(ex, CANARY_K_NEED_PPH));
		print_pins(json_object_get(ro, CANARY_K_PINS));
		print_entities(json_object_get(ro, CANARY_K_ENTITIES));
	}
	if (json_is_object(br))
		printf("  %-10s %s (bad %llu, trips %llu)\n", "breaker",
		       json_is_true(json_object_get(br, CANARY_K_TRIPPED)) ? "TRIPPED" : "ok",
		       jcount(br, CANARY_K_BAD), jcount(br, CANARY_K_TRIPS));
	if (json_is_object(ro)) {
		const char *r = jstr(ro, CANARY_K_REASON);

		printf("  %-10s %s\n", "reason", r && *r ? r : "-");
	}
}

static void print_status(json_t *root)
{
	json_t *ifaces = json_object_get(root, CANARY_K_INTERFACES), *ifc;
	size_t i;

	if (!json_array_size(ifaces)) {
		printf("no interfaces (canaryd manages none; see its configuration)\n");
		return;
	}
	json_array_foreach(ifaces, i, ifc) {
		if (i)
			putchar('\n');
		print_iface(ifc);
	}
	if (json_array_size(json_object_get(root, CANARY_K_WAITING))) {
		json_t *w;

		printf("\nwaiting for:");
		json_array_foreach(json_object_get(root, CANARY_K_WAITING), i, w)
			printf(" %s", json_string_value(w));
		printf(" (configured, not there yet; attached when they appear)\n");
	}
}

/* ---- waiting ------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep MS unless a signal comes first. */
static void nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (!interrupted)
		nanosleep(&ts, NULL);
}

/* The IFACE object for NAME in a status reply (the only one if NAME is NULL). */
static json_t *find_iface(json_t *root, const char *name)
{
	json_t *ifaces = json_object_get(root, CANARY_K_INTERFACES), *ifc;
	size_t i;

	json_array_foreach(ifaces, i, ifc) {
		const char *n = jstr(ifc, CANARY_K_IFACE);

		if (!name || (n && !strcmp(n, name)))
			return ifc;
	}
	return NULL;
}

/*
 * One status call that rides out a restarting canaryd: transport failures
 * are retried quietly for RECONNECT_GRACE_MS. 0 and REP, or an exit code with
 * the error already reported.
 */
static int poll_status(json_t *req, struct reply *rep, int interval_ms)
{
	long long deadline = now_ms() + RECONNECT_GRACE_MS;
	int err;

	for (;;) {
		err = ctl_call(req, rep);
		if (err == 0)
			return 0;
		if (err > 0)
			return CANARYCTL_EXIT_ERROR;
		if (now_ms() >= deadline || interrupted) {
			p_err(-err, "%s", call_err);
			return CANARYCTL_EXIT_ERROR;
		}
		nap(interval_ms);
	}
}

/*
 * Poll IFACE's status until its rollout reaches a terminal phase; print a
 * line per step or phase change (or, with -j, the final status reply). The
 * rollout followed is ID (start's reply names it), else the first one seen:
 * once the interface runs another one, this one has ended, and its end is
 * not that one's.
 */
static int wait_rollout(const char *iface, const char *id)
{
	json_t *req = json_pack("{s:s, s:s}", "cmd", "status", "iface", iface);
	long long start = now_ms();
	char last[128] = "", want[64] = "";
	bool seen = false;
	int ret;

	if (id)
		snprintf(want, sizeof(want), "%s", id);

	if (!req) {
		p_err(ENOMEM, "out of memory");
		return CANARYCTL_EXIT_ERROR;
	}
	for (;;) {
		struct reply rep;
		json_t *ro;
		const char *phase, *gate;
		char cur[128];
		int code;

		ret = poll_status(req, &rep, WAIT_INTERVAL_MS);
		if (ret)
			break;
		ro = json_object_get(find_iface(rep.root, iface), "rollout");
		if (!json_is_object(ro)) {
			reply__free(&rep);
			if (seen || now_ms() - start >= NO_ROLLOUT_GRACE_MS) {
				p_err(ENOENT,
				      "%s: no rollout to wait for (%s; see canaryctl status %s)",
				      iface, seen ? "it disappeared" : "none was started", iface);
				ret = CANARYCTL_EXIT_ERROR;
				break;
			}
		} else {
			const char *rid = jstr(ro, CANARY_K_ID);

			if (!want[0] && rid)
				snprintf(want, sizeof(want), "%s", rid);
			if (want[0] && (!rid || strcmp(rid, want))) {
				p_err(ESTALE,
				      "%s: rollout %s is no longer the interface's (now %s): its "
				      "outcome is in canaryctl history %s",
				      iface, want, rid ? rid : "none", iface);
				reply__free(&rep);
				ret = CANARYCTL_EXIT_ERROR;
				break;
			}
			seen = true;
			phase = jstr(ro, CANARY_K_PHASE);
			code = phase_exit_code(phase);
			gate = jstr(json_object_get(ro, CANARY_K_GATE), "name");
			snprintf(cur, sizeof(cur), "%s %lld %s", phase ? phase : "?",
				 json_integer_value(json_object_get(ro, CANARY_K_STEP)),
				 gate ? gate : "");
			if (!json_output && strcmp(cur, last)) {
				const char *reason = jstr(ro, CANARY_K_REASON);

				printf("%s: %s, step %lld/%lld, candidate %.1f%%%s%s%s%s\n", iface,
				       phase ? phase : "?",
				       json_integer_value(json_object_get(ro, CANARY_K_STEP)),
				       json_integer_value(json_object_get(ro, CANARY_K_STEPS)),
				       jnum(ro, CANARY_K_SHARE_PCT),
				       gate ? ", waiting for gate " : "", gate ? gate : "",
				       reason && *reason ? ": " : "", reason ? reason : "");
				fflush(stdout);
				snprintf(last, sizeof(last), "%s", cur);
			}
			if (code >= 0) {
				if (json_output)
					print_raw_json_line(rep.line);
				reply__free(&rep);
				ret = code;
				break;
			}
			reply__free(&rep);
		}
		nap(WAIT_INTERVAL_MS);
		if (interrupted) {
			p_err(EINTR,
			      "interrupted: the rollout on %s goes on in canaryd (canaryctl status "
			      "%s)",
			      iface, iface);
			ret = CANARYCTL_EXIT_ERROR;
			break;
		}
	}
	json_decref(req);
	return ret;
}

/* ---- commands ----------------------------------------------------------- */

static int do_status(const struct cmd *c, struct verb_args *a)
{
	const char *iface;
	bool tty = isatty(STDOUT_FILENO);
	json_t *req;
	int ret, frame;

	(void)c;
	iface = a->npos ? a->pos[0] : NULL;
	req = iface ? json_pack("{s:s, s:s}", "cmd", "status", "iface", iface)
		    : json_pack("{s:s}", "cmd", "status");
	if (!req) {
		p_err(ENOMEM, "out of memory");
		return CANARYCTL_EXIT_ERROR;
	}
	if (!a->watch) {
		struct reply rep;

		ret = ctl_call(req, &rep);
		if (ret < 0)
			p_err(-ret, "%s", call_err);
		if (ret) {
			ret = CANARYCTL_EXIT_ERROR;
			goto out;
		}
		if (json_output)
			print_raw_json_line(rep.line);
		else
			print_status(rep.root);
		reply__free(&rep);
		goto out;
	}

	install_signals();
	for (frame = 0;; frame++) {
		struct reply rep;
		int code = -1;

		ret = poll_status(req, &rep, WATCH_INTERVAL_MS);
		if (ret)
			break;
		if (json_output) {
			print_raw_json_line(rep.line);
		} else {
			time_t t = time(NULL);
			char ts[16];

			strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
			if (tty)
				fputs("\033[H\033[2J", stdout);
			else if (frame)
				puts("----");
			printf("canaryd %s at %s, every %.1f s (Ctrl-C to stop)\n\n", ctl_socket(),
			       ts, WATCH_INTERVAL_MS / 1000.0);
			print_status(rep.root);
			fflush(stdout);
		}
		if (iface) {
			json_t *ro = json_object_get(find_iface(rep.root, iface), "rollout");

			code = phase_exit_code(jstr(ro, CANARY_K_PHASE));
		}
		reply__free(&rep);
		if (code >= 0) {
			ret = code;
			break;
		}
		nap(WATCH_INTERVAL_MS);
		if (interrupted) {
			ret = 0;
			break;
		}
	}
out:
	json_decref(req);
	return ret;
}

/* Send a command; report it; with --wait, follow the rollout to its end. */
static int run_command(json_t *req, const char *iface, bool wait, const char *done)
{
	struct reply rep;
	int ret;

	if (!req) {
		p_err(ENOMEM, "out of memory");
		return CANARYCTL_EXIT_ERROR;
	}
	ret = ctl_call(req, &rep);
	json_decref(req);
	if (ret < 0)
		p_err(-ret, "%s", call_err);
	if (ret)
		return CANARYCTL_EXIT_ERROR;
	char id[64] = "";

	if (json_output)
		print_raw_json_line(rep.line);
	else
		printf("%s: %s\n", iface, done);
	fflush(stdout);
	if (jstr(rep.root, CANARY_K_ID))
		snprintf(id, sizeof(id), "%s", jstr(rep.root, CANARY_K_ID));
	reply__free(&rep);
	if (!wait)
		return 0;
	install_signals();
	return wait_rollout(iface, id[0] ? id : NULL);
}

/* Rules, each checked by the one rule parser, joined by commas for the request. */
static int join_pins(const struct cmd *c, const char *cmd, const char *const *v, int n,
		     char *buf, size_t len)
{
	struct canary_pin_rule r;
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strchr(v[i], ',') || canary_pin_rule__parse(v[i], &r))
			return usage_err(c, "%s: bad pin rule '%s' (src|dst PREFIX -> "
					 "candidate|stable, one rule per argument)", cmd, v[i]);
		used += snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? "," : "",
				 v[i]);
	}
	if (used >= len)
		return usage_err(c, "%s: the pin rules are longer than %zu bytes", cmd, len - 1);
	return 0;
}

static int do_pin(const struct cmd *c, struct verb_args *a)
{
	char pin[1024], done[64];
	int err;

	if (a->npos < 1)
		return usage_err(c, "pin: missing IFACE");
	if (a->npos < 2 && !a->clear)
		return usage_err(c, "pin: missing RULE (or --clear to remove every rule)");
	if (a->npos > 1 && a->clear)
		return usage_err(c, "pin: RULE and --clear together");
	err = join_pins(c, "pin", a->pos + 1, a->npos - 1, pin, sizeof(pin));
	if (err)
		return err;
	snprintf(done, sizeof(done), "%d pin rule%s set", a->npos - 1, a->npos == 2 ? "" : "s");
	return run_command(json_pack("{s:s, s:s, s:s}", "cmd", "pin", "iface", a->pos[0], "pin",
				     pin),
			   a->pos[0], false, done);
}

static int do_start(const struct cmd *c, struct verb_args *a)
{
	char cand[PATH_MAX + 256], cwd[PATH_MAX], done[PATH_MAX + 320];
	const char *iface, *obj;
	long long ms = 0, wms = 0, sms = 0;
	json_t *req;

	if (a->npos < 1)
		return usage_err(c, "start: missing IFACE");
	if (a->npos < 2)
		return usage_err(c, "start: missing the candidate OBJECT[:PROGRAM]");
	iface = a->pos[0];
	obj = a->pos[1];
	if (!*obj || *obj == ':')
		return usage_err(c, "start: empty candidate object path in '%s'", obj);
	if (a->steps && !steps_valid(a->steps))
		return usage_err(c,
				 "start: bad --steps '%s' (rising percentages in steps of 0.1, ending at 100, "
				 "e.g. 1,5,25,50,100, after at most 8 entity steps pin:NAME, e.g. "
				 "pin:customer-a,1,100)",
				 a->steps);
	if (a->step_time && parse_duration_ms(a->step_time, &ms))
		return usage_err(c,
				 "start: bad --step-time '%s' (a duration like 250ms, 10s, 5m, 1h; "
				 "bare number: seconds)",
				 a->step_time);
	/* A warm-up may be 0: no baseline (the judge then compares strata alone). */
	if (a->warmup && strcmp(a->warmup, "0") && parse_duration_ms(a->warmup, &wms))
		return usage_err(c,
				 "start: bad --warmup '%s' (a duration like 0, 10s, 1m; "
				 "bare number: seconds)",
				 a->warmup);
	if (a->shadow && strcmp(a->shadow, "0") && parse_duration_ms(a->shadow, &sms))
		return usage_err(c,
				 "start: bad --shadow '%s' (a duration like 0, 10s, 1m; "
				 "bare number: seconds)",
				 a->shadow);
	if (a->shadow_live && a->no_shadow_live)
		return usage_err(c, "start: --shadow-live and --no-shadow-live contradict each other "
				 "(give one)");
	/* canaryd doesn't share our working directory. */
	if (*obj != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			p_err(errno,
			      "cannot make '%s' absolute: getcwd: %s (give an absolute path)", obj,
			      strerror(errno));
			return CANARYCTL_EXIT_ERROR;
		}
		snprintf(cand, sizeof(cand), "%s/%s", strcmp(cwd, "/") ? cwd : "", obj);
	} else {
		snprintf(cand, sizeof(cand), "%s", obj);
	}
	req = json_pack("{s:s, s:s, s:s}", "cmd", "start", "iface", iface, "candidate", cand);
	if (req && a->steps)
		json_object_set_new(req, "steps", json_string(a->steps));
	if (req && a->step_time)
		json_object_set_new(req, "step_time_ms", json_integer(ms));
	if (req && a->warmup)
		json_object_set_new(req, "warmup_ms", json_integer(wms));
	if (req && a->shadow)
		json_object_set_new(req, "shadow_ms", json_integer(sms));
	if (req && (a->shadow_live || a->no_shadow_live))
		json_object_set_new(req, "shadow_live", json_boolean(a->shadow_live));
	if (req && a->prepare)
		json_object_set_new(req, "prepare", json_string(a->prepare));
	if (req && a->set.n) {
		char set[512] = "";
		size_t used = 0;
		int i;

		for (i = 0; i < a->set.n; i++) {
			if (!strchr(a->set.v[i], '=') || strchr(a->set.v[i], ',')) {
				json_decref(req);
				return usage_err(c, "start: bad --set '%s' (NAME=VALUE, one per --set)",
						 a->set.v[i]);
			}
			used += snprintf(set + used, used < sizeof(set) ? sizeof(set) - used : 0,
					 "%s%s", i ? "," : "", a->set.v[i]);
		}
		if (used >= sizeof(set)) {
			json_decref(req);
			return usage_err(c, "start: the --set options are longer than %zu bytes",
					 sizeof(set) - 1);
		}
		json_object_set_new(req, "set", json_string(set));
	}
	if (req && a->pin.n) {
		char pin[1024];
		int err = join_pins(c, "start", a->pin.v, a->pin.n, pin, sizeof(pin));

		if (err) {
			json_decref(req);
			return err;
		}
		json_object_set_new(req, "pin", json_string(pin));
	}
	snprintf(done, sizeof(done), "rollout of %s started (canaryctl status %s --watch)", cand,
		 iface);
	return run_command(req, iface, a->wait, done);
}

static int do_op(const struct cmd *c, struct verb_args *a)
{
	char done[64];

	if (a->npos < 1)
		return usage_err(c, "%s: missing IFACE", c->name);
	snprintf(done, sizeof(done), "%s accepted", c->name);
	return run_command(json_pack("{s:s, s:s}", "cmd", c->name, "iface", a->pos[0]), a->pos[0],
			   a->wait, done);
}

static int do_preflight(const struct cmd *c, struct verb_args *a)
{
	const char *const *pos = a->pos, *pcap = a->pcap, *max_arg = a->max_diff;
	struct canary_preflight *pf;
	bool verbose = a->verbose;
	int npos = a->npos, ret;
	double max_diff = 0;
	char err[1024];

	if (!pcap)
		return usage_err(c, "preflight: missing --pcap FILE");
	if (npos < 2)
		return usage_err(c,
				 "preflight: missing the %s OBJECT[:PROGRAM]",
				 npos ? "candidate" : "stable and candidate");
	if (max_arg && canary_preflight__parse_rate(max_arg, &max_diff))
		return usage_err(c,
				 "preflight: bad --max-diff '%s' (a fraction in [0,1] like 0.01, "
				 "or a percentage like 1%%)",
				 max_arg);

	canary_log_init_libs();
	canary_log_set_level(verbose ? CANARY_LOG_DEBUG : CANARY_LOG_WARN);
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		p_err(ENOMEM, "out of memory");
		return CANARYCTL_EXIT_ERROR;
	}
	ret = canary_preflight__run(pf, pcap, pos[0], pos[1], err, sizeof(err));
	if (ret) {
		p_err(-ret, "preflight: %s", err);
		ret = CANARYCTL_EXIT_ERROR;
		goto out;
	}
	if (json_output) {
		json_t *o = canary_preflight__json(pf, max_diff);

		if (!o) {
			p_err(ENOMEM, "out of memory");
			ret = CANARYCTL_EXIT_ERROR;
			goto out;
		}
		print_json(o);
		json_decref(o);
	} else {
		canary_preflight__print(pf, max_diff, stdout);
	}
	ret = canary_preflight__within(pf, max_diff) ? 0 : CANARY_PREFLIGHT_EXIT_BEYOND;
out:
	free(pf);
	return ret;
}

/* An unsigned decimal in [LO, HI] (no sign, no space, no suffix). */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	const char *p = s;
	__u64 v;

	if (!s || canary_parse_digits(&p, &v) || *p || v < lo || v > hi)
		return -ERANGE;
	*out = (unsigned long)v;
	return 0;
}

#define CAPTURE_COUNT_DEFAULT 1000
#define CAPTURE_TIMEOUT_DEFAULT_MS 30000
#define CAPTURE_POLL_MS 100

/* One batch of samples from a capture-read reply into F; the samples written, or -1. */
static long long capture_write_batch(struct canary_capfile *f, json_t *samples, __u32 snap)
{
	static unsigned char frame[CANARY_SNAP_MAX + 3];
	char err[512], comment[160];
	long long n = 0;
	json_t *smp;
	size_t i;

	json_array_foreach(samples, i, smp) {
		const char *b64 = json_string_value(json_object_get(smp, "data"));
		size_t blen = b64 ? strlen(b64) : 0;
		int len;

		if (!b64 || blen % 4 || blen / 4 * 3 > sizeof(frame)) {
			p_err(EPROTO, "capture: a malformed sample from canaryd (canaryd and canaryctl "
			      "versions differ?)");
			return -1;
		}
		len = EVP_DecodeBlock(frame, (const unsigned char *)b64, (int)blen);
		if (len < 0 || (blen && b64[blen - 1] == '=' && --len < 0) ||
		    (blen > 1 && b64[blen - 2] == '=' && --len < 0) || (__u32)len > snap) {
			p_err(EPROTO, "capture: a sample from canaryd is not base64 of at most %u "
			      "bytes", snap);
			return -1;
		}
		canary_capfile__comment(comment, sizeof(comment), jcount(smp, "slot"),
					jcount(smp, "verdict"), jcount(smp, "ifindex"),
					jcount(smp, "rx_queue"), jcount(smp, "cpu"));
		if (canary_capfile__write(f, jcount(smp, "ts_ns"), frame, (__u32)len,
					  (__u32)jcount(smp, "len") < (__u32)len
						  ? (__u32)len
						  : (__u32)jcount(smp, "len"),
					  comment, err, sizeof(err))) {
			p_err(EIO, "%s", err);
			return -1;
		}
		n++;
	}
	return n;
}

static int do_capture(const struct cmd *c, struct verb_args *a)
{
	const char *iface = a->pos[0], *path = a->write, *ver = a->version;
	unsigned long count = CAPTURE_COUNT_DEFAULT, rate = 0, snap = CANARY_SNAP_MAX;
	long long timeout_ms = CAPTURE_TIMEOUT_DEFAULT_MS, deadline, n = 0, got;
	json_t *req, *last = NULL;
	struct canary_capfile *f;
	struct reply rep;
	char err[512];
	json_int_t id;
	bool done = false, created;
	int ret, fd;

	if (a->npos < 1)
		return usage_err(c, "capture: missing IFACE");
	if (!path)
		return usage_err(c, "capture: missing -w FILE");
	if (a->count && parse_uint(a->count, 1, CANARY_CAPTURE_COUNT_MAX, &count))
		return usage_err(c, "capture: bad -c '%s' (a count of samples from 1 to %d)",
				 a->count, CANARY_CAPTURE_COUNT_MAX);
	if (ver && strcmp(ver, "stable") && strcmp(ver, "candidate"))
		return usage_err(c, "capture: bad --version '%s' (stable or candidate)", ver);
	if (a->timeout && parse_duration_ms(a->timeout, &timeout_ms))
		return usage_err(c, "capture: bad --timeout '%s' (a duration: 10s, 2m, 500ms)",
				 a->timeout);
	if (a->rate && parse_uint(a->rate, 1, CANARY_SAMPLE_RATE_MAX, &rate))
		return usage_err(c, "capture: bad --rate '%s' (samples per second per CPU, 1 to %d)",
				 a->rate, CANARY_SAMPLE_RATE_MAX);
	if (a->snaplen && parse_uint(a->snaplen, 14, CANARY_SNAP_MAX, &snap))
		return usage_err(c, "capture: bad --snaplen '%s' (14 to %d bytes)", a->snaplen,
				 CANARY_SNAP_MAX);

	/*
	 * The file first, as the user: nothing is asked of canaryd if it cannot
	 * be written, and nothing in it changes until canaryd takes the capture.
	 */
	ret = canary_capfile__reserve(path, &fd, &created, err, sizeof(err));
	if (ret) {
		p_err(-ret, "%s; nothing was captured", err);
		return CANARYCTL_EXIT_ERROR;
	}
	req = json_pack("{s:s, s:s, s:I, s:s}", "cmd", "capture", "iface", iface, "count",
			(json_int_t)count, "version", ver ? ver : "any");
	if (req && rate)
		json_object_set_new(req, "rate", json_integer((json_int_t)rate));
	if (req && a->snaplen)
		json_object_set_new(req, "snap", json_integer((json_int_t)snap));
	ret = req ? ctl_call(req, &rep) : -ENOMEM;
	json_decref(req);
	if (ret) {
		if (ret < 0)
			p_err(-ret, "%s", ret == -ENOMEM ? "out of memory" : call_err);
		/* A file that was there stays as it was; one made here goes. */
		canary_capfile__unreserve(path, fd, created);
		return CANARYCTL_EXIT_ERROR;
	}
	id = json_integer_value(json_object_get(rep.root, CANARY_K_ID));
	reply__free(&rep);
	ret = canary_capfile__open_fd(fd, path, (__u32)snap, iface, &f, err, sizeof(err));
	canary_capfile__unreserve(path, fd, ret && created);
	if (ret) {
		p_err(-ret, "%s; nothing was captured", err);
		req = json_pack("{s:s, s:s, s:I}", "cmd", "capture-stop", "iface", iface, "id", id);
		if (req && !ctl_call(req, &rep))
			reply__free(&rep);
		json_decref(req);
		return CANARYCTL_EXIT_ERROR;
	}

	install_signals();
	deadline = now_ms() + timeout_ms;
	while (!done) {
		req = json_pack("{s:s, s:s, s:I}", "cmd", "capture-read", "iface", iface, "id", id);
		ret = req ? ctl_call(req, &rep) : -ENOMEM;
		json_decref(req);
		if (ret) {
			if (ret < 0)
				p_err(-ret, "%s", call_err);
			break;
		}
		got = capture_write_batch(f, json_object_get(rep.root, CANARY_K_SAMPLES),
					  (__u32)snap);
		if (got < 0) {
			reply__free(&rep);
			ret = 1;
			break;
		}
		n += got;
		done = json_is_true(json_object_get(rep.root, "done"));
		json_decref(last);
		last = json_incref(rep.root);
		reply__free(&rep);
		if (done)
			break;
		if (interrupted || now_ms() >= deadline) {
			req = json_pack("{s:s, s:s, s:I}", "cmd", "capture-stop", "iface", iface,
					"id", id);
			if (req && !ctl_call(req, &rep))
				reply__free(&rep);
			json_decref(req);
			break;
		}
		if (!got)
			nap(CAPTURE_POLL_MS);
	}
	if (canary_capfile__close(f, err, sizeof(err))) {
		p_err(EIO, "%s", err);
		json_decref(last);
		return CANARYCTL_EXIT_ERROR;
	}
	if (ret) {
		json_decref(last);
		return CANARYCTL_EXIT_ERROR;
	}
	if (json_output) {
		json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
				      CANARY_K_OK, n == (long long)count, "file", path, "format",
				      canary_capfile__is_pcap(path) ? "pcap" : "pcapng", "iface",
				      iface, "samples", (json_int_t)n, "want", (json_int_t)count,
				      "lost", (json_int_t)jcount(last, "lost"), "limited",
				      (json_int_t)jcount(last, "limited"), "overflow",
				      (json_int_t)jcount(last, "overflow"), "skipped",
				      (json_int_t)jcount(last, "skipped"));

		if (o)
			print_json(o);
		json_decref(o);
	} else {
		fprintf(stderr, "%s: %lld samples of %s written to %s (%s)", bin_name, n, iface,
			path, canary_capfile__is_pcap(path) ? "pcap" : "pcapng");
		if (jcount(last, "lost") || jcount(last, "overflow"))
			fprintf(stderr, "; %llu not taken (sample ring full: %llu, canaryd's memory "
				"bound: %llu)", jcount(last, "lost") + jcount(last, "overflow"),
				jcount(last, "lost"), jcount(last, "overflow"));
		fputc('\n', stderr);
	}
	json_decref(last);
	if (n < (long long)count) {
		if (!json_output)
			p_err(ETIMEDOUT, "capture: %lld of %lu samples %s; %s keeps them (more "
			      "traffic, or a longer --timeout)", n, count,
			      interrupted ? "before the interrupt" : "within the --timeout", path);
		return CANARYCTL_EXIT_ERROR;
	}
	return 0;
}

static int do_history(const struct cmd *c, struct verb_args *a)
{
	char dir[4096], err[1024];
	int ret;

	if (a->npos < 1)
		return usage_err(c, "history: missing IFACE");
	ret = canaryctl_state_dir(a->state_dir, a->config, dir, sizeof(dir), err, sizeof(err));
	if (!ret)
		ret = canaryctl_history(dir, a->pos[0], json_output, err, sizeof(err));
	if (ret) {
		p_err(-ret, "history: %s", err);
		return CANARYCTL_EXIT_ERROR;
	}
	return 0;
}

static int do_report(const struct cmd *c, struct verb_args *a)
{
	char dir[4096], err[1024];
	int ret;

	if (a->npos < 1)
		return usage_err(c, "report: missing ROLLOUT_ID (canaryctl history IFACE lists them)");
	if (!a->output)
		return usage_err(c, "report: missing -o FILE.html");
	ret = canaryctl_state_dir(a->state_dir, a->config, dir, sizeof(dir), err, sizeof(err));
	if (!ret)
		ret = canaryctl_report(dir, a->pos[0], a->output, err, sizeof(err));
	if (ret) {
		p_err(-ret, "%s", err);
		return CANARYCTL_EXIT_ERROR;
	}
	if (json_output) {
		json_t *o = json_pack("{s:b, s:s}", "ok", 1, "file", a->output);

		print_json(o);
		json_decref(o);
	}
	return 0;
}

static int do_help(const struct cmd *c, struct verb_args *a)
{
	(void)c;
	(void)a;
	usage_all(stdout);
	return 0;
}

/*
 * bpftool's prefix matching, made strict: a prefix must name one command
 * ("re" could be resume or revert, and guessing is not for a tool that
 * promotes and aborts).
 */
/* Parse the command's options with its table, then run it. */
static int cmd_run(const struct cmd *c, int argc, char **argv)
{
	struct verb_args a = {};
	int ret = parse_opts(argc, argv, c, &a);

	if (ret)
		return ret;
	if (a.help) {
		usage_cmd(stdout, c);
		return 0;
	}
	return c->func(c, &a);
}

static int cmd_select(int argc, char **argv)
{
	const struct cmd *c, *match = NULL;
	const char *verb = argv[0];
	char names[128] = "";

	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, verb))
			return cmd_run(c, argc, argv);
		if (!strncmp(c->name, verb, strlen(verb))) {
			size_t n = strlen(names);

			snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", c->name);
			match = match ? (const struct cmd *)-1 : c;
		}
	}
	if (match == (const struct cmd *)-1 && *verb)
		return usage_err(NULL, "ambiguous command '%s': %s (see canaryctl help)", verb,
				 names);
	if (!match || !*verb)
		return usage_err(NULL, "unknown command '%s' (see canaryctl help)", verb);
	return cmd_run(match, argc, argv);
}

int main(int argc, char **argv)
{
	struct verb_args a = {};
	int ret;

	/* The global options before the command: argv[0] stands for canaryctl. */
	ret = parse_opts(argc, argv, NULL, &a);
	if (ret)
		return ret;
	if (a.help) {
		usage_all(stdout);
		return 0;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_err(NULL, "missing command");
	return cmd_select(argc, argv);
}
