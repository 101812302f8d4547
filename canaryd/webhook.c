// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Webhook transport (webhook.h): libcurl multi, bounded queue, retries, HMAC. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "webhook.h"

/* Room for every interface's gate plus a backlog of notifications. */
#define MAX_REQS 64
/*
 * One endpoint's share of it: a dead or slow endpoint drops its own oldest
 * notifications, never another endpoint's.
 */
#define MAX_REQS_PER_HOOK 16
#define MAX_BACKOFF_MS (10 * 60 * 1000ULL)

struct hook_req {
	bool used;
	bool gate;			/* a gate, else a notification */
	__u64 seq;			/* queue order: the oldest is dropped first */
	char hook[CANARY_HOOK_NAME_LEN];
	char url[512];
	char event_id[96];
	char event[32];
	char sig[80];			/* "sha256=HEX", empty when unsigned */
	char secret[CANARY_HOOK_SECRET_LEN];	/* to sign a gate's fresh body again */
	__u64 timeout_ms, backoff_ms, interval_ms;
	__u32 retries;
	__u32 failures;			/* consecutive errors (5xx, timeout, connection) */
	__u32 attempt;			/* tries so far */
	__u64 due_ms;			/* when to send (again); in flight when easy is set */
	char *body;
	size_t body_len;
	void *owner;
	enum rollout_gate gate_id;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
};

static CURLM *multi;
static canary_gate_cb gate_cb;
static void *gate_ctx;
static struct hook_req reqs[MAX_REQS];
static __u64 next_seq;

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void canary_hmac_sha256_hex(const char *key, const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	HMAC(EVP_sha256(), key, (int)strlen(key), data, len, md, &n);
	for (i = 0; i < n && i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
}

int canary_webhooks__init(canary_gate_cb cb, void *ctx)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	multi = curl_multi_init();
	if (!multi)
		return -ENOMEM;
	gate_cb = cb;
	gate_ctx = ctx;
	return 0;
}

static void req_stop(struct hook_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
}

static void req_free(struct hook_req *r)
{
	req_stop(r);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void canary_webhooks__fini(void)
{
	int i;

	for (i = 0; i < MAX_REQS; i++)
		if (reqs[i].used)
			req_free(&reqs[i]);
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

/*
 * A slot for a request to HOOK. When HOOK has its share queued already, its
 * own oldest notification makes room; when the queue is full, the oldest
 * notification of the endpoint with the most queued does (logged). Gates
 * are never dropped.
 */
static struct hook_req *req_slot(const char *hook)
{
	struct hook_req *free_slot = NULL, *own = NULL, *oldest = NULL;
	int i, j, mine = 0, most = 0;

	for (i = 0; i < MAX_REQS; i++) {
		int n = 0;

		if (!reqs[i].used) {
			free_slot = free_slot ?: &reqs[i];
			continue;
		}
		if (!strcmp(reqs[i].hook, hook)) {
			mine++;
			if (!reqs[i].gate && (!own || reqs[i].seq < own->seq))
				own = &reqs[i];
		}
		if (reqs[i].gate)
			continue;
		for (j = 0; j < MAX_REQS; j++)
			n += reqs[j].used && !strcmp(reqs[j].hook, reqs[i].hook);
		if (n > most || (n == most && oldest && reqs[i].seq < oldest->seq)) {
			most = n;
			oldest = &reqs[i];
		}
	}
	if (mine >= MAX_REQS_PER_HOOK && own)
		oldest = own;
	else if (free_slot)
		return free_slot;
	if (!oldest)
		return NULL;
	pr_warn("webhook %s: queue full (%d requests, %d per endpoint): dropped %s event %s\n",
		oldest->hook, MAX_REQS, MAX_REQS_PER_HOOK, oldest->event, oldest->event_id);
	req_free(oldest);
	return oldest;
}

static void req_sign(struct hook_req *r, const char *secret);

static struct hook_req *req_new(const struct canary_webhook_cfg *h, const char *event_id,
				const char *event, char *body)
{
	struct hook_req *r = req_slot(h->name);

	if (!r) {
		free(body);
		return NULL;
	}
	r->used = true;
	r->seq = next_seq++;
	snprintf(r->hook, sizeof(r->hook), "%s", h->name);
	snprintf(r->url, sizeof(r->url), "%s", h->url);
	snprintf(r->event_id, sizeof(r->event_id), "%s", event_id);
	snprintf(r->event, sizeof(r->event), "%s", event);
	r->timeout_ms = h->timeout_ms;
	r->backoff_ms = h->backoff_ms;
	r->retries = h->retries;
	r->body = body;
	r->body_len = strlen(body);
	r->due_ms = mono_ms();
	snprintf(r->secret, sizeof(r->secret), "%s", h->secret);
	req_sign(r, r->secret);
	return r;
}

int canary_webhook__notify(const struct canary_webhook_cfg *h, const char *event_id,
			   const char *event, char *body)
{
	if (!body)
		return -ENOMEM;
	return req_new(h, event_id, event, body) ? 0 : -ENOMEM;
}

static struct hook_req *find_gate(void *owner)
{
	int i;

	for (i = 0; i < MAX_REQS; i++)
		if (reqs[i].used && reqs[i].gate && reqs[i].owner == owner)
			return &reqs[i];
	return NULL;
}

void canary_webhook__cancel_gate(void *owner)
{
	struct hook_req *r = find_gate(owner);

	if (r) {
		pr_debug("webhook %s: stopped asking %s (%s)\n", r->hook, r->event, r->event_id);
		req_free(r);
	}
}

int canary_webhooks__queued(const char *hook)
{
	int i, n = 0;

	for (i = 0; i < MAX_REQS; i++)
		n += reqs[i].used && !strcmp(reqs[i].hook, hook);
	return n;
}

static void req_sign(struct hook_req *r, const char *secret)
{
	char hex[65];

	r->sig[0] = '\0';
	if (!secret[0])
		return;
	canary_hmac_sha256_hex(secret, r->body, r->body_len, hex);
	snprintf(r->sig, sizeof(r->sig), "sha256=%s", hex);
}

int canary_webhook__gate_body(void *owner, char *body)
{
	struct hook_req *r = find_gate(owner);

	if (!body)
		return -ENOMEM;
	if (!r || r->easy) {	/* none, or in flight: the next answer asks again */
		free(body);
		return -ENOENT;
	}
	free(r->body);
	r->body = body;
	r->body_len = strlen(body);
	req_sign(r, r->secret);
	return 0;
}

int canary_webhook__gate_event_id(void *owner, char *id, size_t len)
{
	struct hook_req *r = find_gate(owner);

	if (!r)
		return -ENOENT;
	snprintf(id, len, "%s", r->event_id);
	return 0;
}

bool canary_webhook__gate_pending(void *owner)
{
	return find_gate(owner) != NULL;
}

int canary_webhook__gate(const struct canary_webhook_cfg *h, void *owner, enum rollout_gate gate,
			 const char *event_id, char *body, __u64 interval_ms)
{
	char event[32];
	struct hook_req *r;

	if (!body)
		return -ENOMEM;
	canary_webhook__cancel_gate(owner);
	snprintf(event, sizeof(event), "gate.%s", rollout_gate__name(gate));
	r = req_new(h, event_id, event, body);
	if (!r)
		return -ENOMEM;
	r->gate = true;
	r->owner = owner;
	r->gate_id = gate;
	r->interval_ms = interval_ms;
	return 0;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;	/* answers are read for their status only */
}

static int req_send(struct hook_req *r)
{
	char line[256];
	CURL *e;

	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	r->attempt++;
	snprintf(line, sizeof(line), "Idempotency-Key: %s", r->event_id);
	r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");	/* no 100-continue round trip */
	r->hdrs = curl_slist_append(r->hdrs, line);
	snprintf(line, sizeof(line), "X-Canary-Event: %s", r->event);
	r->hdrs = curl_slist_append(r->hdrs, line);
	snprintf(line, sizeof(line), "X-Canary-Attempt: %u", r->attempt);
	r->hdrs = curl_slist_append(r->hdrs, line);
	if (r->sig[0]) {
		snprintf(line, sizeof(line), "X-Canary-Signature: %s", r->sig);
		r->hdrs = curl_slist_append(r->hdrs, line);
	}
	r->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "canaryd");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(multi, e)) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	r->easy = e;
	return 0;
}

/* An error (5xx, timeout, connection): retry after backoff, or give up. */
static bool retry_later(struct hook_req *r, __u64 now)
{
	__u64 delay = r->backoff_ms;
	__u32 i;

	if (++r->failures > r->retries)
		return false;
	for (i = 1; i < r->failures && delay < MAX_BACKOFF_MS; i++)
		delay *= 2;
	r->due_ms = now + (delay < MAX_BACKOFF_MS ? delay : MAX_BACKOFF_MS);
	return true;
}

static void req_done(struct hook_req *r, CURLcode rc)
{
	enum rollout_gate_result res;
	enum rollout_gate gate = r->gate_id;
	void *owner = r->owner;
	char detail[160];
	long status = 0;
	__u64 now = mono_ms();
	bool gate_req = r->gate;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	req_stop(r);
	if (rc == CURLE_OK)
		snprintf(detail, sizeof(detail), "HTTP %ld", status);
	else
		snprintf(detail, sizeof(detail), "%.120s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));

	if (rc == CURLE_OK && status >= 200 && status < 300) {
		pr_debug("webhook %s: %s %s: %s\n", r->hook, r->event, r->event_id, detail);
		res = ROLLOUT_GATE_PASS;
		req_free(r);
	} else if (rc == CURLE_OK && status >= 400 && status < 500) {
		if (!gate_req) {
			pr_warn("webhook %s: %s event %s refused (%s); not retried\n", r->hook, r->event,
				r->event_id, detail);
			req_free(r);
			return;
		}
		/* An answer, not an error: ask again next interval. */
		r->failures = 0;
		r->due_ms = now + r->interval_ms;
		res = ROLLOUT_GATE_NOT_YET;
	} else if (retry_later(r, now)) {
		pr_info("webhook %s: %s %s: %s; retry %u of %u in %llu ms\n", r->hook, r->event,
			r->event_id, detail, r->failures, r->retries,
			(unsigned long long)(r->due_ms - now));
		return;
	} else {
		char more[sizeof(detail)];

		snprintf(more, sizeof(more), "%.120s after %u retr%s", detail, r->retries,
			 r->retries == 1 ? "y" : "ies");
		memcpy(detail, more, sizeof(detail));
		pr_warn("webhook %s: %s event %s failed: %s%s\n", r->hook, r->event, r->event_id,
			detail, gate_req ? "" : "; dropped");
		req_free(r);
		res = ROLLOUT_GATE_FAILED;
	}
	/* Last: the callback may queue or cancel requests. */
	if (gate_req && gate_cb)
		gate_cb(gate_ctx, owner, gate, res, detail);
}

int canary_webhooks__pollfds(struct pollfd *pfd, int max, int *timeout_ms)
{
	fd_set rd, wr, ex;
	int maxfd = -1, fd, n = 0, i;
	long t = -1;
	__u64 now = mono_ms();

	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	if (!multi)
		return 0;
	curl_multi_fdset(multi, &rd, &wr, &ex, &maxfd);
	for (fd = 0; fd <= maxfd && n < max; fd++) {
		short ev = (FD_ISSET(fd, &rd) ? POLLIN : 0) | (FD_ISSET(fd, &wr) ? POLLOUT : 0) |
			   (FD_ISSET(fd, &ex) ? POLLPRI : 0);

		if (ev)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	curl_multi_timeout(multi, &t);
	/* libcurl may hold sockets we cannot see (the resolver): look again soon. */
	if (maxfd < 0 && t < 0)
		for (i = 0; i < MAX_REQS; i++)
			if (reqs[i].used && reqs[i].easy)
				t = 50;
	for (i = 0; i < MAX_REQS; i++) {
		if (!reqs[i].used || reqs[i].easy)
			continue;
		long due = reqs[i].due_ms > now ? (long)(reqs[i].due_ms - now) : 0;

		if (t < 0 || due < t)
			t = due;
	}
	if (t >= 0 && (*timeout_ms < 0 || t < *timeout_ms))
		*timeout_ms = (int)t;
	return n;
}

void canary_webhooks__run(void)
{
	struct CURLMsg *m;
	int running, left, i;
	__u64 now = mono_ms();

	if (!multi)
		return;
	for (i = 0; i < MAX_REQS; i++) {
		struct hook_req *r = &reqs[i];

		if (r->used && !r->easy && r->due_ms <= now && req_send(r)) {
			pr_warn("webhook %s: cannot start a request; dropped %s\n", r->hook,
				r->event_id);
			req_free(r);
		}
	}
	curl_multi_perform(multi, &running);
	while ((m = curl_multi_info_read(multi, &left))) {
		struct hook_req *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r && r->easy == m->easy_handle)
			req_done(r, m->data.result);
	}
}
