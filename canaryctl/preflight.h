/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pre-flight differential check: every packet of a capture (libpcap, Ethernet)
 * through a stable and a candidate XDP program with BPF_PROG_TEST_RUN, one
 * packet at a time in capture order (so stateful programs see the same
 * sequence a live interface would give them), and the confusion matrix of
 * their verdicts. No interface is touched: a CI job can run it on every
 * commit.
 *
 * Functions return 0 or a negative errno, with a one-line message naming the
 * file or object in ERR.
 */
#ifndef CANARY_PREFLIGHT_H
#define CANARY_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include <linux/types.h>

#include "canary_abi.h"

/* Example packets kept per cell of the matrix (and per other tally). */
#define CANARY_PREFLIGHT_EXAMPLES 3
#define CANARY_PREFLIGHT_SUMMARY_LEN 160

struct canary_preflight_example {
	__u64 index;		/* packet number in the capture, from 1 (as Wireshark) */
	char summary[CANARY_PREFLIGHT_SUMMARY_LEN];	/* "udp 198.18.1.5:1234 > ... len 64" */
};

struct canary_preflight_cell {
	__u64 packets;
	__u32 n_examples;
	struct canary_preflight_example ex[CANARY_PREFLIGHT_EXAMPLES];
};

struct canary_preflight_version {
	char object[512];
	char program[64];	/* as loaded (the object's only XDP program if none was named) */
};

struct canary_preflight {
	char capture[512];
	char linktype[32];	/* pcap's name, "EN10MB" for Ethernet */
	struct canary_preflight_version stable, candidate;
	__u64 packets;		/* records in the capture */
	__u64 run;		/* records run through both versions */
	__u64 snapped;		/* of run: cut by the capture's snap length, run as captured */
	bool cut_short;		/* the file ends inside a record (tcpdump killed): ignored */
	/* [stable verdict][candidate verdict], enum canary_verdict */
	struct canary_preflight_cell matrix[CANARY_V_MAX][CANARY_V_MAX];
	/*
	 * Same verdict, pass/tx/redirect, but the packets leave with different
	 * bytes (a load balancer that rewrites headers differently). They count
	 * as differences: the packet goes somewhere else.
	 */
	struct canary_preflight_cell rewritten;
	/* Shorter than an Ethernet header, or refused by the kernel's test run. */
	struct canary_preflight_cell not_runnable;
};

/*
 * Run the capture CAPTURE through STABLE and CANDIDATE (each OBJECT[:PROGRAM]).
 * The versions are loaded with canary_version__load() and checked with
 * canary_version__check(), as canaryd does before a rollout.
 */
int canary_preflight__run(struct canary_preflight *pf, const char *capture, const char *stable,
			  const char *candidate, char *err, size_t errlen);

/* Packets that behave differently: off-diagonal cells plus rewritten. */
__u64 canary_preflight__differing(const struct canary_preflight *pf);
/* differing / run (0 when nothing ran). */
double canary_preflight__rate(const struct canary_preflight *pf);
/* Differing packets at most MAX_DIFF of those run (counts compared, not rounded rates). */
bool canary_preflight__within(const struct canary_preflight *pf, double max_diff);
/* canaryctl preflight's exit code beyond --max-diff (0 within, 1 error). */
#define CANARY_PREFLIGHT_EXIT_BEYOND 2
/* "0.01", "1%", "0.5%": a fraction in [0, 1]. */
int canary_preflight__parse_rate(const char *s, double *rate);

void canary_preflight__print(const struct canary_preflight *pf, double max_diff, FILE *f);
/* The -j object; its shape is documented in canaryctl's usage and README.md. */
json_t *canary_preflight__json(const struct canary_preflight *pf, double max_diff);

#endif
