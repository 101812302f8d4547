// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: canaryd_config__load() on arbitrary bytes. The loader
 * takes a path, so the input goes into one memfd per process and is loaded
 * through /proc/self/fd/N: no file system writes, no per-run file creation.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "log.h"

static struct canaryd_config cfg;
static struct rollout_plan plan;
static struct rollout ro;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	char err[4096];
	int i, rc;

	if (fd < 0) {
		canary_log_set_level(CANARY_LOG_WARN);
		fd = memfd_create("fuzz_config", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("memfd write");
		abort();
	}
	rc = canaryd_config__load(&cfg, path, err, sizeof(err));
	/* The contract: 0 or -EINVAL, the message always terminated. */
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (!memchr(err, 0, sizeof(err)) || (rc && !err[0]))
		abort();
	if (rc)
		return 0;
	/* A loaded config holds only terminated strings and bounded counts. */
	if (cfg.nr_ifaces < 0 || cfg.nr_ifaces > CANARY_MAX_IFACES ||
	    !memchr(cfg.socket, 0, sizeof(cfg.socket)) ||
	    !memchr(cfg.pin_root, 0, sizeof(cfg.pin_root)) ||
	    !memchr(cfg.state_dir, 0, sizeof(cfg.state_dir)))
		abort();
	for (i = 0; i < cfg.nr_ifaces; i++) {
		const struct canary_iface_cfg *ifc = &cfg.iface[i];

		if (!memchr(ifc->name, 0, sizeof(ifc->name)) || !ifc->name[0] ||
		    !memchr(ifc->stable_obj, 0, sizeof(ifc->stable_obj)) || !ifc->stable_obj[0] ||
		    !memchr(ifc->stable_prog, 0, sizeof(ifc->stable_prog)) ||
		    !memchr(ifc->private_maps, 0, sizeof(ifc->private_maps)) ||
		    !memchr(ifc->rollout.steps, 0, sizeof(ifc->rollout.steps)))
			abort();
		/* What the daemon does with it on "start": accepted means usable. */
		if (rollout_plan__parse(&plan, ifc->rollout.steps, ifc->rollout.step_time_ms,
					ifc->rollout.max_step_time_ms, ifc->rollout.min_packets) ||
		    rollout__init(&ro, &plan, &ifc->judge))
			abort();
	}
	return 0;
}
