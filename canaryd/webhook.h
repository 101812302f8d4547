/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Webhooks: HTTP POSTs of JSON bodies, built by canaryd, sent with libcurl's
 * multi interface from canaryd's own poll loop. Nothing here ever blocks:
 * transfers progress when their sockets are ready, every request is bounded
 * by its webhook's timeout, and the queue is bounded (the oldest notification
 * is dropped, with a log line, when it is full). A dead or slow endpoint thus
 * never delays a counter read.
 *
 * Every request carries
 *   Content-Type: application/json
 *   Idempotency-Key: EVENT_ID        the same on every retry of one event
 *   X-Canary-Event: started|...|gate.step
 *   X-Canary-Attempt: N              1 for the first try
 *   X-Canary-Signature: sha256=HEX   when a secret is set: HMAC-SHA256 of the
 *                                    exact body bytes, keyed with the secret
 *
 * Notifications: 2xx done; 4xx dropped (the receiver refuses it, a retry would
 * not help); 5xx, timeout or connection error retried after backoff, doubled
 * each time, up to the webhook's retries, then dropped.
 * Gates: 2xx pass; 4xx not yet (asked again after the daemon's interval, with
 * the same event id); 5xx, timeout or connection error retried like a
 * notification, then the gate fails. Results go to the callback.
 */
#ifndef CANARYD_WEBHOOK_H
#define CANARYD_WEBHOOK_H

#include <poll.h>
#include <linux/types.h>

#include "config.h"
#include "engine.h"

/*
 * A gate's answer for OWNER (an interface), called from canary_webhooks__run()
 * with the CTX given to canary_webhooks__init().
 */
typedef void (*canary_gate_cb)(void *ctx, void *owner, enum rollout_gate gate,
			       enum rollout_gate_result res, const char *detail);

/* 0 or a negative errno (libcurl could not be set up). */
int canary_webhooks__init(canary_gate_cb cb, void *ctx);
void canary_webhooks__fini(void);

/*
 * Queue a notification of EVENT with BODY (a malloc'd string, taken over
 * whatever the result). 0, or -ENOMEM.
 */
int canary_webhook__notify(const struct canary_webhook_cfg *h, const char *event_id,
			   const char *event, char *body);

/*
 * Ask gate GATE for OWNER until it answers, re-asking every INTERVAL_MS after
 * a "not yet"; replaces any gate OWNER asked before. BODY as above.
 */
int canary_webhook__gate(const struct canary_webhook_cfg *h, void *owner, enum rollout_gate gate,
			 const char *event_id, char *body, __u64 interval_ms);

/*
 * The body OWNER's pending gate is asked with next (BODY as above, its
 * signature computed again), the event id unchanged: a re-ask carries the
 * rollout as it is now, and the endpoint still sees one event. The event
 * id asked with into ID (LEN bytes). 0, or -ENOENT when no gate is pending.
 */
int canary_webhook__gate_body(void *owner, char *body);
int canary_webhook__gate_event_id(void *owner, char *id, size_t len);

/* Requests queued or in flight for the endpoint named HOOK (status, tests). */
int canary_webhooks__queued(const char *hook);

/* Stop asking OWNER's gate, if any (an operator or the judge decided). */
void canary_webhook__cancel_gate(void *owner);

/* Is a gate request for OWNER queued or in flight? */
bool canary_webhook__gate_pending(void *owner);

/*
 * For the poll loop: fills up to MAX pollfds with libcurl's sockets and
 * lowers *TIMEOUT_MS (-1: none) to when the next transfer or retry is due.
 * Returns the number of pollfds filled.
 */
int canary_webhooks__pollfds(struct pollfd *pfd, int max, int *timeout_ms);

/* After poll: move transfers on, start due retries, report gate answers. */
void canary_webhooks__run(void);

/* HMAC-SHA256 of DATA keyed with KEY, as 64 hex digits. */
void canary_hmac_sha256_hex(const char *key, const void *data, size_t len, char hex[65]);

#endif
