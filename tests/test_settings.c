// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Dispatcher settings reconcile (rollout/settings.h): what differs, what is
 * applied now and what waits for the rollout to end (symmetric only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "settings.h"
#include "frags.h"

static void test_same(void **state)
{
	struct rollout_dp_settings a = { .symmetric = true, .fail_closed = true, .cost_sample = 128 };
	struct rollout_settings_diff d;

	(void)state;
	rollout_settings__diff(&a, &a, false, &d);
	assert_int_equal(d.apply, 0);
	assert_int_equal(d.wait, 0);
	rollout_settings__diff(&a, &a, true, &d);
	assert_int_equal(d.apply | d.wait, 0);
}

static void test_each(void **state)
{
	struct rollout_dp_settings have = { .cost_sample = 128 }, want = have;
	struct rollout_settings_diff d;

	(void)state;
	want.fail_closed = true;
	rollout_settings__diff(&want, &have, true, &d);
	assert_int_equal(d.apply, ROLLOUT_SET_FAIL);
	assert_int_equal(d.wait, 0);
	want = have;
	want.cost_sample = 0;
	rollout_settings__diff(&want, &have, true, &d);
	assert_int_equal(d.apply, ROLLOUT_SET_COST);
	want.cost_sample = 64;
	rollout_settings__diff(&want, &have, false, &d);
	assert_int_equal(d.apply, ROLLOUT_SET_COST);
	/* 100 is held as 128: no change. */
	want.cost_sample = 100;
	rollout_settings__diff(&want, &have, false, &d);
	assert_int_equal(d.apply, 0);
}

/* symmetric moves flows: it waits while a rollout runs, the rest does not. */
static void test_symmetric_waits(void **state)
{
	struct rollout_dp_settings have = { .cost_sample = 128 };
	struct rollout_dp_settings want = { .symmetric = true, .fail_closed = true, .cost_sample = 1 };
	struct rollout_settings_diff d;

	(void)state;
	rollout_settings__diff(&want, &have, true, &d);
	assert_int_equal(d.apply, ROLLOUT_SET_FAIL | ROLLOUT_SET_COST);
	assert_int_equal(d.wait, ROLLOUT_SET_SYMMETRIC);
	rollout_settings__diff(&want, &have, false, &d);
	assert_int_equal(d.apply, ROLLOUT_SET_SYMMETRIC | ROLLOUT_SET_FAIL | ROLLOUT_SET_COST);
	assert_int_equal(d.wait, 0);
	/* Turning it off waits too. */
	rollout_settings__diff(&have, &want, true, &d);
	assert_int_equal(d.wait, ROLLOUT_SET_SYMMETRIC);
}

static void test_round(void **state)
{
	(void)state;
	assert_int_equal(rollout_settings__cost_round(0), 0);
	assert_int_equal(rollout_settings__cost_round(1), 1);
	assert_int_equal(rollout_settings__cost_round(3), 4);
	assert_int_equal(rollout_settings__cost_round(128), 128);
	assert_int_equal(rollout_settings__cost_round(129), 256);
	assert_int_equal(rollout_settings__cost_round(1U << 31), 1U << 31);
	assert_int_equal(rollout_settings__cost_round((1U << 31) + 1), 1U << 31);
}

/* frags = auto|yes|no against mode and MTU (the veth limit measured: 3506 attaches, 3507 not). */
static void test_frags_decide(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_false(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, true, 1500, &why));
	assert_false(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, true, 3506, &why));
	assert_true(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, true, 3507, &why));
	assert_true(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, true, 9000, &why));
	assert_string_equal(why, "frags = auto: native mode and MTU above 3506");
	assert_false(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, false, 9000, &why));
	assert_string_equal(why, "frags = auto: skb mode takes any MTU");
	assert_false(rollout_frags__decide(ROLLOUT_FRAGS_AUTO, true, 0, NULL));
	assert_true(rollout_frags__decide(ROLLOUT_FRAGS_YES, true, 1500, &why));
	assert_true(rollout_frags__decide(ROLLOUT_FRAGS_YES, false, 1500, &why));
	assert_false(rollout_frags__decide(ROLLOUT_FRAGS_NO, true, 9000, &why));
	assert_string_equal(why, "frags = no");
	assert_true(rollout_frags__mtu_needs(true, 9000));
	assert_false(rollout_frags__mtu_needs(false, 9000));
	assert_false(rollout_frags__mtu_needs(true, 3506));
}

/* The running dispatcher against an MTU read again (an RTNETLINK link message). */
static void test_frags_fit(void **state)
{
	(void)state;
	/* Single-buffer, native: fits up to the veth limit, whatever frags says. */
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, false, 1500),
			 ROLLOUT_FRAGS_FIT_OK);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, false, 3506),
			 ROLLOUT_FRAGS_FIT_OK);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, false, 3507),
			 ROLLOUT_FRAGS_FIT_NEEDS_FRAGS);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_NO, true, false, 9000),
			 ROLLOUT_FRAGS_FIT_NEEDS_FRAGS);
	/* skb mode takes any MTU; an unknown MTU (0) is taken as small. */
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, false, false, 9000),
			 ROLLOUT_FRAGS_FIT_OK);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, false, 0),
			 ROLLOUT_FRAGS_FIT_OK);
	/* Multi-buffer: always works; only auto would have chosen otherwise. */
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, true, 9000),
			 ROLLOUT_FRAGS_FIT_OK);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_AUTO, true, true, 1500),
			 ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED);
	assert_int_equal(rollout_frags__fit(ROLLOUT_FRAGS_YES, true, true, 1500),
			 ROLLOUT_FRAGS_FIT_OK);
	assert_string_equal(rollout_frags_fit__name(ROLLOUT_FRAGS_FIT_NEEDS_FRAGS), "needs_frags");

	/* What to say: only changes, warnings on entering and leaving needs_frags. */
	assert_int_equal(rollout_frags__report(1500, ROLLOUT_FRAGS_FIT_OK, 1500,
					       ROLLOUT_FRAGS_FIT_OK), ROLLOUT_FRAGS_REPORT_NONE);
	assert_int_equal(rollout_frags__report(1500, ROLLOUT_FRAGS_FIT_OK, 3000,
					       ROLLOUT_FRAGS_FIT_OK), ROLLOUT_FRAGS_REPORT_CHANGED);
	assert_int_equal(rollout_frags__report(1500, ROLLOUT_FRAGS_FIT_OK, 9000,
					       ROLLOUT_FRAGS_FIT_NEEDS_FRAGS),
			 ROLLOUT_FRAGS_REPORT_WARN);
	assert_int_equal(rollout_frags__report(9000, ROLLOUT_FRAGS_FIT_NEEDS_FRAGS, 8000,
					       ROLLOUT_FRAGS_FIT_NEEDS_FRAGS),
			 ROLLOUT_FRAGS_REPORT_CHANGED);
	assert_int_equal(rollout_frags__report(9000, ROLLOUT_FRAGS_FIT_NEEDS_FRAGS, 1500,
					       ROLLOUT_FRAGS_FIT_OK), ROLLOUT_FRAGS_REPORT_FITS_AGAIN);
	assert_int_equal(rollout_frags__report(9000, ROLLOUT_FRAGS_FIT_OK, 1500,
					       ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED),
			 ROLLOUT_FRAGS_REPORT_UNNEEDED);
	assert_int_equal(rollout_frags__report(1500, ROLLOUT_FRAGS_FIT_FRAGS_UNNEEDED, 9000,
					       ROLLOUT_FRAGS_FIT_OK), ROLLOUT_FRAGS_REPORT_CHANGED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_frags_decide),
		cmocka_unit_test(test_frags_fit),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_symmetric_waits),
		cmocka_unit_test(test_round),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
