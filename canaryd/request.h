/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pure half of the control protocol (proto.h): one request line to a
 * checked request, with no daemon state involved. canaryd then looks up the
 * interface and applies it; everything here can be fuzzed on its own.
 */
#ifndef CANARYD_REQUEST_H
#define CANARYD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <net/if.h>

#include "config.h"

enum canaryd_cmd {
	CANARYD_CMD_STATUS,
	CANARYD_CMD_START,
	CANARYD_CMD_PAUSE,
	CANARYD_CMD_RESUME,
	CANARYD_CMD_PROMOTE,
	CANARYD_CMD_ABORT,
	CANARYD_CMD_REVERT,
	CANARYD_CMD_PREPARE,
	CANARYD_CMD_PIN,
	CANARYD_CMD_RELEASE,
	CANARYD_CMD_CAPTURE,		/* a live capture session begins (capture.c) */
	CANARYD_CMD_CAPTURE_READ,	/* the next batch of its samples */
	CANARYD_CMD_CAPTURE_STOP,	/* it ends */
};

/* capture "version": which version's live packets are kept. */
enum canaryd_capture_version {
	CANARYD_CAPTURE_ANY,
	CANARYD_CAPTURE_STABLE,
	CANARYD_CAPTURE_CANDIDATE,
};

struct canaryd_request {
	enum canaryd_cmd cmd;
	char iface[IF_NAMESIZE];	/* empty: none given (status: every interface) */
	/* start only */
	char cand_obj[CANARY_OBJ_LEN];
	char cand_prog[CANARY_PROG_LEN];	/* empty: the object's one XDP program */
	char steps[128];		/* empty: the interface's default */
	__u64 step_time_ms;		/* 0: the interface's default */
	__u64 warmup_ms;		/* the share-0 baseline before step 1; ~0: the default */
	__u64 shadow_ms;		/* the shadow phase before the warm-up; ~0: the default */
	int shadow_live;		/* paired evidence in the live steps: 1, 0, -1: the default */
	char prepare[512];		/* the candidate's prepare command; empty: the config's */
	char set[512];			/* NAME=VALUE,...: after the config's set */
	/* start: rules after the config's pin; pin: the new whole set ("": none) */
	char pin[1024];
	/* capture: COUNT samples (1..CANARY_CAPTURE_COUNT_MAX) of VERSION, at most RATE/s
	 * per CPU, SNAP bytes each (0: CANARY_SNAP_MAX); capture-read, capture-stop: ID */
	__u32 count;
	enum canaryd_capture_version version;
	__u32 rate;
	__u32 snap;
	__u32 id;
};

/* "any", "stable", "candidate". */
const char *canaryd_capture_version__name(enum canaryd_capture_version v);

/* "status", "start", ...: the wire name of CMD. */
const char *canaryd_cmd__name(enum canaryd_cmd cmd);

/*
 * Parse one request LINE (NUL-terminated, without its newline) into REQ.
 * 0, or a negative errno (-EINVAL: malformed; -ENODEV: an interface name no
 * interface can have) with the one-line reply message in MSG (LEN bytes).
 */
int canaryd_request__parse(const char *line, struct canaryd_request *req, char *msg, size_t len);

#endif
