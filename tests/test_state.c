// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The state file (canaryd/state.c) without a kernel: layout 6 keeps the
 * program ids of stable and previous; other layouts, and a layout 6 header
 * over a payload of another size, are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "canary_abi.h"
#include "state.h"

static char path[64];

static void fill(struct canaryd_persist *st)
{
	struct rollout_plan plan;
	struct judge_config jc;

	memset(st, 0, sizeof(*st));
	judge_config__defaults(&jc);
	assert_int_equal(rollout_plan__parse(&plan, "5,100", 1000, 0, 100), 0);
	assert_int_equal(rollout__init(&st->ro, &plan, &jc), 0);
	snprintf(st->stable.obj, sizeof(st->stable.obj), "/v/fw_v2.bpf.o");
	snprintf(st->stable.prog, sizeof(st->stable.prog), "fw_v2");
	memset(st->stable.sha256, 'a', 64);
	st->stable_id = 42;
	st->previous_id = 41;
}

/* A file with header LAYOUT and SIZE over the first SIZE bytes of ST. */
static void write_raw(const struct canaryd_persist *st, __u32 layout, size_t size)
{
	struct canaryd_state_header h = { .layout = layout, .abi = CANARY_ABI_VERSION,
					  .size = size };
	int fd;

	memcpy(h.magic, CANARYD_STATE_MAGIC, sizeof(h.magic));
	h.crc = crc32(0, (const Bytef *)st, size);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &h, sizeof(h)), sizeof(h));
	assert_int_equal(write(fd, st, size), (ssize_t)size);
	close(fd);
}

static void test_ids_kept(void **state)
{
	static struct canaryd_persist st, got;
	char why[128];

	(void)state;
	fill(&st);
	assert_int_equal(canaryd_state__save(path, &st), 0);
	assert_int_equal(canaryd_state__load(path, &got, why, sizeof(why)), 0);
	assert_int_equal(got.stable_id, 42);
	assert_int_equal(got.previous_id, 41);
	assert_string_equal(got.stable.prog, "fw_v2");
}

static void test_other_layouts_refused(void **state)
{
	static struct canaryd_persist st, got;
	char why[128] = "";

	(void)state;
	fill(&st);
	write_raw(&st, 4, sizeof(st));
	assert_int_equal(canaryd_state__load(path, &got, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "layout 4"));
	/* The right layout over a payload of another size (a truncated file). */
	write_raw(&st, CANARYD_STATE_LAYOUT, offsetof(struct canaryd_persist, stable_id));
	assert_int_equal(canaryd_state__load(path, &got, why, sizeof(why)), -EBADMSG);
	write_raw(&st, 5, sizeof(st));
	assert_int_equal(canaryd_state__load(path, &got, why, sizeof(why)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_kept),
		cmocka_unit_test(test_other_layouts_refused),
	};
	int fd, rc;

	snprintf(path, sizeof(path), "/tmp/test_state.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
