// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * webhook_receiver: a small HTTP endpoint for canaryd's webhooks, to try
 * gates by hand and for the tests. It logs every request (headers, body,
 * whether the signature is valid) as one JSON line, and answers with a
 * script per event: by default 200 for everything, which approves every gate.
 *
 *   webhook_receiver --port 8080 [--addr 127.0.0.1] [--log FILE]
 *                    [--secret S | --secret-file F]
 *                    [--answer KEY=SCRIPT]... [--control FILE]
 *   webhook_receiver --port 8080 --blackhole
 *
 * KEY is an X-Canary-Event value ("gate.step", "gate.start", "promoted") or
 * "gate" (every gate) or "notify" (every notification); SCRIPT is a comma
 * list of STATUS or STATUSxCOUNT, the last repeated forever: "403x3,200"
 * answers 403 three times, then 200. A --control FILE, read on every
 * request when it exists, holds KEY=STATUS lines that override the scripts,
 * so a test can release a gate when it chooses.
 *
 * --blackhole listens and never accepts: a connection that never answers.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "params.h"

#define MAX_SCRIPTS 16
#define MAX_STEPS 8
#define MAX_BODY (1 << 20)

struct script {
	char key[32];
	int nr;
	int status[MAX_STEPS], count[MAX_STEPS];	/* count 0: forever */
	unsigned long served;
};

static struct script scripts[MAX_SCRIPTS];
static int nr_scripts;
static const char *control_path, *secret;
static FILE *log_f;
static unsigned long seq;
static volatile sig_atomic_t stop;

struct req {
	char *body;
	size_t len;
	bool too_big;
};

static int parse_script(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct script *s;
	char buf[256], *tok, *save;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(s->key) || nr_scripts == MAX_SCRIPTS ||
	    strlen(eq + 1) >= sizeof(buf))
		return -EINVAL;
	s = &scripts[nr_scripts];
	memset(s, 0, sizeof(*s));
	memcpy(s->key, arg, eq - arg);
	strcpy(buf, eq + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *x = strchr(tok, 'x');

		if (s->nr == MAX_STEPS)
			return -EINVAL;
		s->status[s->nr] = atoi(tok);
		s->count[s->nr] = x ? atoi(x + 1) : 0;
		if (s->status[s->nr] < 100 || s->status[s->nr] > 599 || (x && s->count[s->nr] <= 0))
			return -EINVAL;
		s->nr++;
	}
	if (!s->nr)
		return -EINVAL;
	nr_scripts++;
	return 0;
}

/* KEY=STATUS from the control file, or 0. */
static int control_status(const char *key)
{
	char line[128];
	int status = 0;
	FILE *f;

	if (!control_path || !(f = fopen(control_path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(key);

		if (!strncmp(line, key, n) && line[n] == '=')
			status = atoi(line + n + 1);
	}
	fclose(f);
	return status;
}

static struct script *find_script(const char *key)
{
	int i;

	for (i = 0; i < nr_scripts; i++)
		if (!strcmp(scripts[i].key, key))
			return &scripts[i];
	return NULL;
}

static int script_next(struct script *s)
{
	unsigned long n = s->served++, at = 0;
	int i;

	for (i = 0; i < s->nr; i++) {
		if (!s->count[i] || n < at + s->count[i])
			return s->status[i];
		at += s->count[i];
	}
	return s->status[s->nr - 1];
}

/* The answer for EVENT: control file, then the most specific script, then 200. */
static int answer_for(const char *event)
{
	const char *group = !strncmp(event, "gate.", 5) ? "gate" : "notify";
	struct script *s;
	int status;

	if ((status = control_status(event)) || (status = control_status(group)))
		return status;
	s = find_script(event);
	if (!s)
		s = find_script(group);
	return s ? script_next(s) : 200;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	(void)kind;
	json_object_set_new(cls, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* true, false, or JSON null when there is no secret to check against. */
static json_t *check_signature(const char *sig, const struct req *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char want[7 + 65] = "sha256=";
	unsigned int n = 0, i;

	if (!secret)
		return json_null();
	if (!sig)
		return json_false();
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)r->body, r->len, md,
	     &n);
	for (i = 0; i < n && i < 32; i++)
		sprintf(want + 7 + 2 * i, "%02x", md[i]);
	return json_boolean(strlen(sig) == strlen(want) && !CRYPTO_memcmp(sig, want, strlen(want)));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	struct MHD_Response *resp;
	json_t *hdrs, *line, *body;
	const char *event;
	struct timespec ts;
	char text[64];
	int status;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->len + *upload_size > MAX_BODY) {
			r->too_big = true;
		} else {
			char *nb = realloc(r->body, r->len + *upload_size + 1);

			if (!nb)
				return MHD_NO;
			r->body = nb;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	hdrs = json_object();
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, hdrs);
	event = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Canary-Event");
	status = r->too_big ? 413 : answer_for(event ? event : "");
	body = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	line = json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:i, s:o, s:s}", "n", (json_int_t)++seq,
			 "time_ms", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			 "method", method, "path", url, "event", event ? event : "",
			 "signature_ok",
			 check_signature(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								     "X-Canary-Signature"), r),
			 "headers", hdrs, "status", status, "body", body ? body : json_null(),
			 "raw", r->body ? r->body : "");
	if (log_f && line) {
		json_dumpf(line, log_f, JSON_COMPACT);
		fputc('\n', log_f);
		fflush(log_f);
	}
	json_decref(line);
	snprintf(text, sizeof(text), "{\"status\":%d}\n", status);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int read_secret_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "webhook_receiver: cannot read secret file %s\n", path);
		if (f)
			fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	secret = buf;
	return 0;
}

struct opts {
	const char *port, *addr, *log, *secret, *secret_file, *control;
	struct canary_opt_strings answer;
	bool blackhole, help;
};

static const struct canary_opt receiver_opts[] = {
	CANARY_OPTION(struct opts, "port", 0, "PORT", port, "TCP port to listen on (required)"),
	CANARY_OPTION(struct opts, "addr", 0, "IP", addr, "IPv4 address to listen on (default 127.0.0.1)"),
	CANARY_OPTION(struct opts, "log", 0, "FILE", log, "append one JSON line per request"),
	CANARY_OPTION(struct opts, "secret", 0, "S", secret, "check X-Canary-Signature with S"),
	CANARY_OPTION(struct opts, "secret-file", 0, "F", secret_file,
		      "the same, the secret in the file's first line"),
	CANARY_OPTION_MULTI(struct opts, "answer", 0, "KEY=SCRIPT", answer,
			    "answers for KEY: gate.start, gate.step, gate.promote, gate,\n"
			    "an event name, notify; SCRIPT: STATUS[xCOUNT],... e.g.\n"
			    "403x3,200 (the last repeats); default 200"),
	CANARY_OPTION(struct opts, "control", 0, "FILE", control,
		      "KEY=STATUS lines read on every request, overriding the scripts"),
	CANARY_OPTION(struct opts, "blackhole", 0, NULL, blackhole,
		      "listen and never accept: a connection that never answers"),
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: webhook_receiver --port PORT [--addr IP] [--log FILE]\n"
	      "         [--secret S | --secret-file F] [--answer KEY=SCRIPT]... [--control FILE]\n"
	      "       webhook_receiver --port PORT [--addr IP] --blackhole\n", f);
	canary_opts__print(f, receiver_opts);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct MHD_Daemon *d;
	struct opts o = {};
	char *end;
	long port;
	int i, err;

	err = canary_opts__parse_tool(argc, argv, "webhook_receiver", receiver_opts, &o, &o.help,
				      NULL, usage);
	if (err)
		return err > 0 ? 0 : 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (o.addr && inet_pton(AF_INET, o.addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "webhook_receiver: --addr %s is not an IPv4 address\n", o.addr);
		return 1;
	}
	if (o.log) {
		log_f = fopen(o.log, "ae");
		if (!log_f) {
			fprintf(stderr, "webhook_receiver: cannot open log %s: %s\n", o.log,
				strerror(errno));
			return 1;
		}
	}
	if (o.secret)
		secret = o.secret;
	if (o.secret_file && read_secret_file(o.secret_file))
		return 1;
	for (i = 0; i < o.answer.n; i++)
		if (parse_script(o.answer.v[i])) {
			fprintf(stderr, "webhook_receiver: bad --answer %s (see --help)\n",
				o.answer.v[i]);
			return 1;
		}
	control_path = o.control;
	errno = 0;
	port = o.port ? strtol(o.port, &end, 10) : 0;
	if (!o.port || errno || end == o.port || *end || port <= 0 || port > 65535) {
		fprintf(stderr, "webhook_receiver: --port PORT, 1 to 65535, is required (see --help)\n");
		return 1;
	}
	sa.sin_port = htons(port);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (o.blackhole) {
		/* Connections complete in the kernel's backlog and are never served. */
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
			fprintf(stderr, "webhook_receiver: cannot listen on port %ld: %s\n", port,
				strerror(errno));
			return 1;
		}
		printf("blackhole listening on port %ld\n", port);
		fflush(stdout);
		while (!stop)
			pause();
		close(fd);
		return 0;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
			     NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "webhook_receiver: cannot listen on port %ld\n", port);
		return 1;
	}
	printf("listening on port %ld\n", port);
	fflush(stdout);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	if (log_f)
		fclose(log_f);
	return 0;
}
