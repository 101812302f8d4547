// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Interfaces that come and go (rollout/link.h), on plain data: every state
 * against every observation that matters, and the sequences canaryd walks
 * (deleted and re-created in one message batch, detached then repaired).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "link.h"

enum { IDX = 7, NEW_IDX = 9, DP = 42, OTHER = 43 };

static struct rollout_link link_in(enum rollout_link_state s, bool reattach)
{
	return (struct rollout_link){ .state = s, .ifindex = s == ROLLOUT_LINK_WAITING ? 0 : IDX,
				      .dp_id = DP, .reattach = reattach };
}

static enum rollout_link_action decide(enum rollout_link_state s, bool reattach,
				       struct rollout_link_obs o)
{
	struct rollout_link l = link_in(s, reattach);

	return rollout_link__decide(&l, &o);
}

static void test_waiting(void **state)
{
	(void)state;
	assert_int_equal(decide(ROLLOUT_LINK_WAITING, false, (struct rollout_link_obs){}),
			 ROLLOUT_LINK_NOTHING);
	assert_int_equal(decide(ROLLOUT_LINK_WAITING, false,
				(struct rollout_link_obs){ .name_ifindex = NEW_IDX }),
			 ROLLOUT_LINK_ATTACH);
}

static void test_managed(void **state)
{
	struct rollout_link_obs ok = { .index_present = true, .index_xdp_id = DP,
				       .name_ifindex = IDX };

	(void)state;
	assert_int_equal(decide(ROLLOUT_LINK_MANAGED, false, ok), ROLLOUT_LINK_NOTHING);
	/* Deleted: lost, whatever has the name now. */
	assert_int_equal(decide(ROLLOUT_LINK_MANAGED, false, (struct rollout_link_obs){}),
			 ROLLOUT_LINK_MARK_LOST);
	assert_int_equal(decide(ROLLOUT_LINK_MANAGED, true,
				(struct rollout_link_obs){ .name_ifindex = NEW_IDX }),
			 ROLLOUT_LINK_MARK_LOST);
	/* Renamed: followed, by ifindex. */
	ok.index_renamed = true;
	ok.name_ifindex = 0;
	assert_int_equal(decide(ROLLOUT_LINK_MANAGED, false, ok), ROLLOUT_LINK_FOLLOW_RENAME);
	/*
	 * XDP off, or another program: noted first, detached once it lasts
	 * ROLLOUT_LINK_CONFIRM_MS (a deletion detaches the program before the
	 * link goes: lost, not detached), with reattach or without.
	 */
	ok.index_renamed = false;
	ok.index_xdp_id = 0;
	ok.now_ms = 10000;
	assert_int_equal(decide(ROLLOUT_LINK_MANAGED, false, ok), ROLLOUT_LINK_NOTE_DETACH);
	{
		struct rollout_link l = link_in(ROLLOUT_LINK_MANAGED, false);
		struct rollout_link_obs gone = {};

		l.detach_seen_ms = 10000;
		ok.now_ms = 10000 + ROLLOUT_LINK_CONFIRM_MS - 1;
		assert_int_equal(rollout_link__decide(&l, &ok), ROLLOUT_LINK_NOTHING);
		/* The deletion completes within the window: lost. */
		assert_int_equal(rollout_link__decide(&l, &gone), ROLLOUT_LINK_MARK_LOST);
		ok.now_ms = 10000 + ROLLOUT_LINK_CONFIRM_MS;
		assert_int_equal(rollout_link__decide(&l, &ok), ROLLOUT_LINK_MARK_DETACHED);
		l.reattach = true;
		ok.index_xdp_id = OTHER;
		assert_int_equal(rollout_link__decide(&l, &ok), ROLLOUT_LINK_MARK_DETACHED);
		/* Back before that: the note is forgotten. */
		ok.index_xdp_id = DP;
		assert_int_equal(rollout_link__decide(&l, &ok), ROLLOUT_LINK_CLEAR_DETACH);
	}
}

static void test_detached(void **state)
{
	struct rollout_link_obs off = { .index_present = true, .name_ifindex = IDX };
	struct rollout_link_obs other = off, back = off;

	(void)state;
	other.index_xdp_id = OTHER;
	back.index_xdp_id = DP;
	/* Report only (the default), or repaired when nothing is attached. */
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, false, off), ROLLOUT_LINK_NOTHING);
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, true, off), ROLLOUT_LINK_REATTACH);
	/* Another tool's program is never replaced. */
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, true, other), ROLLOUT_LINK_NOTHING);
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, false, other), ROLLOUT_LINK_NOTHING);
	/* Put back by someone: managed again. */
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, false, back), ROLLOUT_LINK_MARK_MANAGED);
	/* Renamed while detached: followed, still detached. */
	other.index_renamed = true;
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, true, other), ROLLOUT_LINK_FOLLOW_RENAME);
	/* Deleted while detached. */
	assert_int_equal(decide(ROLLOUT_LINK_DETACHED, true, (struct rollout_link_obs){}),
			 ROLLOUT_LINK_MARK_LOST);
}

/* A failed attach is not retried on the same ifindex, only on a new one. */
static void test_failed_attach(void **state)
{
	struct rollout_link l = link_in(ROLLOUT_LINK_WAITING, false);
	struct rollout_link_obs o = { .name_ifindex = IDX };

	(void)state;
	l.failed_ifindex = IDX;
	assert_int_equal(rollout_link__decide(&l, &o), ROLLOUT_LINK_NOTHING);
	o.name_ifindex = NEW_IDX;
	assert_int_equal(rollout_link__decide(&l, &o), ROLLOUT_LINK_ATTACH);
}

static void test_lost(void **state)
{
	(void)state;
	assert_int_equal(decide(ROLLOUT_LINK_LOST, false, (struct rollout_link_obs){}),
			 ROLLOUT_LINK_NOTHING);
	assert_int_equal(decide(ROLLOUT_LINK_LOST, false,
				(struct rollout_link_obs){ .name_ifindex = NEW_IDX }),
			 ROLLOUT_LINK_ATTACH);
}

/* Deleted and re-created between two looks: lost first (the rollout fails), then attached. */
static void test_recreated_sequence(void **state)
{
	struct rollout_link l = link_in(ROLLOUT_LINK_MANAGED, false);
	struct rollout_link_obs o = { .name_ifindex = NEW_IDX };
	enum rollout_link_action seq[3];
	int n = 0;

	(void)state;
	for (;;) {
		enum rollout_link_action a = rollout_link__decide(&l, &o);

		if (a == ROLLOUT_LINK_NOTHING)
			break;
		assert_true(n < 3);
		seq[n++] = a;
		/* What canaryd does on each. */
		if (a == ROLLOUT_LINK_MARK_LOST) {
			l.state = ROLLOUT_LINK_LOST;
		} else if (a == ROLLOUT_LINK_ATTACH) {
			l.state = ROLLOUT_LINK_MANAGED;
			l.ifindex = o.name_ifindex;
			o.index_present = true;
			o.index_xdp_id = DP;
		}
	}
	assert_int_equal(n, 2);
	assert_int_equal(seq[0], ROLLOUT_LINK_MARK_LOST);
	assert_int_equal(seq[1], ROLLOUT_LINK_ATTACH);
	assert_int_equal(l.ifindex, NEW_IDX);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rollout_link_state__name(ROLLOUT_LINK_WAITING), "waiting");
	assert_string_equal(rollout_link_state__name(ROLLOUT_LINK_DETACHED), "detached");
	assert_string_equal(rollout_link_state__name((enum rollout_link_state)99), "?");
	assert_string_equal(rollout_link_action__name(ROLLOUT_LINK_REATTACH), "reattach");
	assert_string_equal(rollout_link_action__name(ROLLOUT_LINK_MARK_MANAGED), "mark managed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waiting),   cmocka_unit_test(test_managed),
		cmocka_unit_test(test_detached),  cmocka_unit_test(test_lost),
		cmocka_unit_test(test_failed_attach),
		cmocka_unit_test(test_recreated_sequence), cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
