/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* canaryctl history and report (history.c), on state_dir's files, without canaryd. */
#ifndef CANARYCTL_HISTORY_CMD_H
#define CANARYCTL_HISTORY_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* Where canaryd.service's canaryd reads its config. */
#define CANARYCTL_DEFAULT_CONFIG "/etc/canaryd/canaryd.ini"

/*
 * The state dir: OPT (--state-dir) if given, else CONFIG's state_dir (NULL:
 * CANARYCTL_DEFAULT_CONFIG, and canaryd's default when that file does not
 * exist). 0, or a negative errno with ERR (the config's first error).
 */
int canaryctl_state_dir(const char *opt, const char *config, char *dir, size_t len, char *err,
			size_t errlen);

/* Print IFACE's rollouts (a table, or one JSON object). 0, or a negative errno with ERR. */
int canaryctl_history(const char *dir, const char *iface, bool json, char *err, size_t len);

/* Write the report of rollout ID to OUT. 0, or a negative errno with ERR. */
int canaryctl_report(const char *dir, const char *id, const char *out, char *err, size_t len);

#endif
