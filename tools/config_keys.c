// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config_keys: print canaryd's configuration keys from the parser's own
 * table (canaryd/config_keys.c), one "SECTION KEY" line each, so the man page
 * test (tests/man.test.sh) checks canaryd.ini(5) against what the parser
 * accepts.
 *
 *   config_keys
 *
 * SECTION is daemon, interface, rollout, judge or webhook (rollout and judge
 * keys are also accepted in an [interface NAME] section).
 */
#include <stdbool.h>
#include <stdio.h>

#include "config_parse.h"
#include "params.h"

struct opts {
	bool help;
};

static const struct canary_opt config_keys_opts[] = {
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: config_keys\n", f);
	canary_opts__print(f, config_keys_opts);
	fputs("Prints \"SECTION KEY\" for every key canaryd's config parser accepts.\n", f);
}

int main(int argc, char **argv)
{
	static const char *const sections[] = {
		[SCOPE_DAEMON] = "daemon", [SCOPE_IFACE] = "interface",
		[SCOPE_ROLLOUT] = "rollout", [SCOPE_JUDGE] = "judge",
		[SCOPE_WEBHOOK] = "webhook",
	};
	struct opts o = {};
	size_t i;
	int err;

	err = canary_opts__parse_tool(argc, argv, "config_keys", config_keys_opts, &o, &o.help,
				      NULL, usage);
	if (err)
		return err > 0 ? 0 : 1;
	for (i = 0; i < canaryd_config_nr_keys; i++)
		printf("%s %s\n", sections[canaryd_config_keys[i].scope],
		       canaryd_config_keys[i].name);
	return 0;
}
