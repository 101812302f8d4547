// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Writes valid state files with canaryd_state__save() into DIR, as seeds
 * for fuzz_state: a fresh, a progressing and a promoted rollout; each also
 * as NAME.payload, 'P' and the file without its header (fuzz_state.c makes
 * the header for those). The
 * corpus in tests/fuzz/corpus/fuzz_state/ was made with it; "make fuzz"
 * runs it again so the seeds follow any change of the layout.
 *
 *   gen_state_seeds DIR
 */
#include <stdio.h>
#include <string.h>

#include "state.h"

static int save(const char *dir, const char *name, const struct canaryd_persist *st)
{
	char path[4096];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = canaryd_state__save(path, st);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s.payload", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	err = fputc('P', f) == EOF || fwrite(st, sizeof(*st), 1, f) != 1;
	return fclose(f) || err ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct canaryd_persist st;
	struct judge_config jcfg;
	struct rollout_plan plan;
	struct rollout_actions acts;
	struct rollout_event ev = { .type = ROLLOUT_EV_START, .now_ms = 1000 };
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_state_seeds DIR\n");
		return 1;
	}
	judge_config__defaults(&jcfg);
	if (rollout_plan__parse(&plan, "1,5,25,50,100", 1000, 0, 100) ||
	    rollout__init(&st.ro, &plan, &jcfg))
		return 1;
	snprintf(st.cand_obj, sizeof(st.cand_obj), "/usr/lib/canary/fw_v2.bpf.o");
	snprintf(st.cand_prog, sizeof(st.cand_prog), "fw");
	st.rollout_id = 1700000000000ULL;
	if (save(argv[1], "idle.state", &st))
		return 1;
	rollout__handle(&st.ro, &ev, &acts);
	for (i = 0; i < 5; i++) {
		ev = (struct rollout_event){
			.type = ROLLOUT_EV_TICK, .now_ms = 2000 + 1000 * i,
			.stable = { .packets = 99000, .drops = 990, .passes = 98010 },
			.cand = { .packets = 1000, .drops = 10, .passes = 990 },
		};
		rollout__handle(&st.ro, &ev, &acts);
	}
	if (save(argv[1], "progressing.state", &st))
		return 1;
	ev = (struct rollout_event){ .type = ROLLOUT_EV_PROMOTE, .now_ms = 9000 };
	rollout__handle(&st.ro, &ev, &acts);
	return save(argv[1], "promoted.state", &st) ? 1 : 0;
}
