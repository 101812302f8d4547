// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: canaryd_state__load() and what canaryd does with a
 * loaded state on resume and for status (log line, JSON fields, evidence).
 *
 * The file is CRC-checked, so random payloads almost never get past the
 checksum. So an input starting with 'C' (as the magic does) is the file,
 * header included; any other first byte is dropped and the harness writes a
 * valid header (magic, layout, ABI, size, CRC) in front of the rest: the
 * payload is then fuzzed behind the checks that only catch corruption, as a
 * file written by a buggy or hostile writer would be.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "canary_abi.h"
#include "log.h"
#include "state.h"

static struct canaryd_persist st;
static volatile unsigned int sink;	/* keeps the reads below */

static void use_state(const struct canaryd_persist *p)
{
	const struct rollout *r = &p->ro;
	char buf[512];
	__u32 i;

	/* iface_resume()'s log line and rollout_json()'s fields. */
	snprintf(buf, sizeof(buf), "%s %s %s %u/%u %.2f %s %s", p->cand_obj, p->cand_prog,
		 rollout_phase__name(r->phase), r->step + 1, r->plan.nr_steps, r->share_bp / 100.0,
		 r->reason, judge_verdict__name(r->last_verdict));
	for (i = 0; i < r->plan.nr_steps; i++)
		sink += r->plan.step[i].share_bp;
	sink += r->plan.step[r->step].min_bake_ms;
	judge_evidence__format(&r->last_ev, buf, sizeof(buf));
	for (i = 0; i < r->last_ev.nr_tests && i < JUDGE_MAX_EVIDENCE; i++)
		sink += strlen(r->last_ev.tests[i].metric);
	sink += strlen(buf) + rollout__done(r);
	/*
	 * Not the engine's next events: the judge's doubles (running sums,
	 * likelihood ratios) are trusted as canaryd wrote them, and a hostile
	 * writer of a CRC-valid file in canaryd's 0700 state_dir is root
	 * already. The loader promises indexes, counts, enums, the plan and the
	 * judge configuration in range; those are what this checks.
	 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	struct canaryd_state_header h = { .layout = CANARYD_STATE_LAYOUT,
					  .abi = CANARY_ABI_VERSION, .size = sizeof(st) };
	char why[128];
	int rc;

	if (fd < 0) {
		canary_log_set_level(CANARY_LOG_WARN);
		fd = memfd_create("fuzz_state", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0))
		abort();
	if (size && data[0] != 'C') {
		data++;
		size--;
		memcpy(h.magic, CANARYD_STATE_MAGIC, sizeof(h.magic));
		h.crc = size >= sizeof(st) ? crc32(0, data, sizeof(st)) : 0;
		if (pwrite(fd, &h, sizeof(h), 0) != sizeof(h) ||
		    (size && pwrite(fd, data, size, sizeof(h)) != (ssize_t)size))
			abort();
	} else if (size && pwrite(fd, data, size, 0) != (ssize_t)size) {
		abort();
	}
	rc = canaryd_state__load(path, &st, why, sizeof(why));
	if (rc == -EBADMSG && (!memchr(why, 0, sizeof(why)) || !why[0]))
		abort();
	if (rc && rc != -EBADMSG)
		abort();
	if (!rc)
		use_state(&st);
	return 0;
}
