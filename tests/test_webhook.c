// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The webhook queue (canaryd/webhook.c) without a network: requests are
 * queued and never sent (canary_webhooks__run() is not called). Each
 * endpoint holds at most its share: a dead endpoint's backlog drops its own
 * oldest notifications, never another endpoint's, and never a gate.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "webhook.h"

static void hook(struct canary_webhook_cfg *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:9/%s", name);
	h->timeout_ms = 1000;
	h->backoff_ms = 1000;
}

static void notify(const struct canary_webhook_cfg *h, int n)
{
	char id[96];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%s-%d", h->name, i);
		assert_int_equal(canary_webhook__notify(h, id, "advanced", strdup("{}")), 0);
	}
}

static void test_per_endpoint(void **state)
{
	static struct canary_webhook_cfg dead, live, gates;
	static int owner;
	char id[64];

	(void)state;
	assert_int_equal(canary_webhooks__init(NULL, NULL), 0);
	hook(&dead, "dead");
	hook(&live, "live");
	hook(&gates, "gates");
	notify(&live, 5);
	assert_int_equal(canary_webhook__gate(&gates, &owner, ROLLOUT_GATE_STEP, "g-1",
					      strdup("{\"n\":1}"), 200), 0);
	/* A dead endpoint's backlog: capped at its share, the others untouched. */
	notify(&dead, 100);
	assert_int_equal(canary_webhooks__queued("dead"), 16);
	assert_int_equal(canary_webhooks__queued("live"), 5);
	assert_int_equal(canary_webhooks__queued("gates"), 1);
	/* A gate's body is replaced, its event id kept. */
	assert_int_equal(canary_webhook__gate_event_id(&owner, id, sizeof(id)), 0);
	assert_string_equal(id, "g-1");
	assert_int_equal(canary_webhook__gate_body(&owner, strdup("{\"n\":2}")), 0);
	assert_int_equal(canary_webhook__gate_event_id(&owner, id, sizeof(id)), 0);
	assert_string_equal(id, "g-1");
	canary_webhook__cancel_gate(&owner);
	assert_int_equal(canary_webhook__gate_body(&owner, strdup("{}")), -ENOENT);
	assert_int_equal(canary_webhooks__queued("gates"), 0);
	canary_webhooks__fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
