// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: what canaryctl report reads from state_dir (a file any
 * crash, disk error or hand edit may have broken). The input is a series file
 * (canary_series__from_json, on the whole input) and history lines (each line
 * that is a JSON object, as canary_history__load keeps them), grouped by
 * canary_history__rollouts and rendered by canary_report__html: a series
 * accepted holds its invariants, and the renderer takes any records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static struct canary_series s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL), *recs = json_array(), *ros;
	const uint8_t *p = data, *end = data + size, *nl;
	char why[160];
	bool have_series;
	size_t i;
	FILE *f;

	s.nr = 0;
	have_series = j && !canary_series__from_json(&s, j, why, sizeof(why));
	json_decref(j);
	if (have_series) {
		if (s.nr > CANARY_SERIES_MAX)
			abort();
		for (i = 0; i < s.nr; i++)
			if (s.p[i].t1_ms < s.p[i].t0_ms || s.p[i].share_bp > 10000)
				abort();
	} else if (s.nr) {
		abort();	/* a refused file leaves no points */
	}
	for (; p < end; p = nl + 1) {
		json_t *o;

		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		o = json_loadb((const char *)p, nl - p, 0, NULL);
		if (json_is_object(o))
			json_array_append(recs, o);
		json_decref(o);
	}
	ros = canary_history__rollouts(recs);
	f = fopen("/dev/null", "w");
	if (!f)
		abort();
	if (canary_report__html(f, "fuzz-1", json_array_get(ros, 0), have_series ? &s : NULL))
		abort();
	fclose(f);
	json_decref(ros);
	json_decref(recs);
	return 0;
}
