/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A strict checker of the Prometheus text exposition format (0.0.4), for
 * the tests and tools/promcheck: promtool is not packaged in Debian 12's default set.
 */
#ifndef CANARY_PROMTEXT_H
#define CANARY_PROMTEXT_H

#include <stddef.h>

/*
 * Check TEXT line by line: every line a HELP, a TYPE or a sample; names and
 * label names valid, label values correctly escaped, no label twice; every
 * family has one HELP and one TYPE before its samples and its lines
 * together; every name starts with PREFIX (may be ""); counters end in
 * _total and are not negative; no series twice; histograms have "le" on
 * every bucket, rising bounds ending at +Inf, cumulative counts, _count
 * equal to the +Inf bucket and a _sum. Returns the number of problems, each
 * written to ERR as "line N: what" (one per line, cut at ERRLEN).
 */
int canary_prom__check(const char *text, const char *prefix, char *err, size_t errlen);

/*
 * The value of the series SERIES, written exactly as in the text
 * ('name{a="b",c="d"}' or 'name'). 0, or -ENOENT.
 */
int canary_prom__value(const char *text, const char *series, double *v);

#endif
