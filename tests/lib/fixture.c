// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "log.h"

const char *fixture_path(const char *rel)
{
	static char buf[4096];
	const char *dir = getenv("CANARY_BUILD");

	snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : "build", rel);
	return buf;
}

int fixture_open(struct fixture *f)
{
	static const char *const names[CANARY_V_MAX] = {
		"ret_aborted", "ret_drop", "ret_pass", "ret_tx", "ret_redirect", "ret_invalid",
	};
	int i, err;

	memset(f, 0, sizeof(*f));
	canary_log_init_libs();
	f->dp = canary_dp__open();
	if (!f->dp)
		return -errno;
	f->disp = canary_dp__prog_fd(f->dp);
	f->verdicts = bpf_object__open_file(fixture_path("tests/verdicts.bpf.o"), NULL);
	if (!f->verdicts) {
		err = -errno;
		goto err_close;
	}
	err = bpf_object__load(f->verdicts);
	if (err)
		goto err_close;
	for (i = 0; i < CANARY_V_MAX; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(f->verdicts, names[i]);

		if (!p) {
			err = -ENOENT;
			goto err_close;
		}
		f->fd[i] = bpf_program__fd(p);
	}
	return 0;

err_close:
	fixture_close(f);
	return err;
}

void fixture_close(struct fixture *f)
{
	bpf_object__close(f->verdicts);
	canary_dp__close(f->dp);
	memset(f, 0, sizeof(*f));
}

const struct canary_counters *fixture_counters(struct fixture *f, __u32 row, __u32 cls)
{
	if (canary_dp__read_counters(f->dp, f->c))
		return NULL;
	return canary_counters__at(f->c, row, cls);
}

void fixture_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}
