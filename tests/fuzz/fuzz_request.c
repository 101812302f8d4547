// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: canaryd_request__parse(), the control-socket request
 * parser, on what canaryd's serve_client() hands it: the bytes up to the
 * first newline (or NUL), as one C string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canaryd_request req;
	struct rollout_plan plan;
	char msg[1024], *line;
	int rc;

	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	line[strcspn(line, "\n")] = '\0';
	rc = canaryd_request__parse(line, &req, msg, sizeof(msg));
	free(line);
	/* Errors: one non-empty line, an errno the protocol knows. */
	if (rc) {
		if ((rc != -EINVAL && rc != -ENODEV) || !msg[0] || strchr(msg, '\n'))
			abort();
		return 0;
	}
	/* A parsed request is what canaryd's handlers assume it is. */
	if (!strcmp(canaryd_cmd__name(req.cmd), "?") ||
	    !memchr(req.iface, 0, sizeof(req.iface)) ||
	    (req.cmd != CANARYD_CMD_STATUS && !req.iface[0]) ||
	    !memchr(req.cand_obj, 0, sizeof(req.cand_obj)) ||
	    !memchr(req.cand_prog, 0, sizeof(req.cand_prog)) ||
	    !memchr(req.steps, 0, sizeof(req.steps)))
		abort();
	if (req.cmd == CANARYD_CMD_START) {
		if (!req.cand_obj[0] || (__s64)req.step_time_ms < 0)
			abort();
		if (req.steps[0] && rollout_plan__parse(&plan, req.steps, req.step_time_ms, 0, 0))
			abort();
	} else if (req.cand_obj[0] || req.steps[0] || req.step_time_ms) {
		abort();
	}
	return 0;
}
