/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared set-up for datapath tests: a loaded dispatcher and stand-in versions. */
#ifndef CANARY_TEST_FIXTURE_H
#define CANARY_TEST_FIXTURE_H

#include <bpf/libbpf.h>

#include "canary_abi.h"
#include "dp.h"
#include "version.h"

struct fixture {
	struct canary_dp *dp;
	struct bpf_object *verdicts;	/* tests/bpf/verdicts.bpf.c */
	int fd[CANARY_V_MAX];		/* program returning each verdict */
	int disp;			/* dispatcher program fd */
	struct canary_counters c[CANARY_COUNTERS_ENTRIES];
};

/* Path of a built object, relative to the build directory. */
const char *fixture_path(const char *rel);
int fixture_open(struct fixture *f);
void fixture_close(struct fixture *f);
/* Read all counters into f->c and return the (row, class) record. */
const struct canary_counters *fixture_counters(struct fixture *f, __u32 row, __u32 cls);
/* PATH's text into BUF (LEN bytes, NUL-terminated, cut if longer; "" if unreadable). */
void fixture_read_file(const char *path, char *buf, size_t len);

#endif
