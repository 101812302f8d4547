/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus metrics of canaryd: the text exposition (format 0.0.4) rendered
 * from the daemon's per-interface state by a pure function, and the HTTP
 * endpoint (libmicrohttpd) that serves it from canaryd's own poll loop.
 *
 * Every family is prefixed canary_; counters end in _total; labels are
 * interface, version (stable, candidate), class (split, pinned, unparsed),
 * verdict, phase, decision, and metric/dir/test for the judge's evidence.
 * The list with help texts is canary_metrics__render() in metrics.c and
 * README.md ("Metrics").
 */
#ifndef CANARYD_METRICS_H
#define CANARYD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "canary_abi.h"
#include "engine.h"
#include "link.h"

#define CANARY_METRICS_DEFAULT "127.0.0.1:9464"
#define CANARY_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What the renderer needs of one interface; canaryd fills it from its state. */
struct canary_metrics_iface {
	const char *name;
	bool managed;
	enum rollout_link_state link;	/* waiting, managed, lost, detached (rollout/link.h) */
	int mtu;			/* as canaryd last read it; 0 not read */
	bool dispatcher;		/* a dispatcher is held: MTU_FITS means something */
	bool mtu_fits;			/* its kind takes that MTU (rollout_frags__fit() not needs_frags) */
	/* CANARY_COUNTERS_ENTRIES records as last read, or NULL before the first read. */
	const struct canary_counters *counters;
	/* The candidate slot's breaker as last read; NULL with counters NULL. */
	const struct canary_breaker *breaker;
	/* The current or last rollout, NULL if none. */
	const struct rollout *rollout;
	const char *rollout_id;		/* "eth0-1700000000000", with rollout */
	const char *candidate;		/* the candidate's object, with rollout */
	/* Rollouts that ended in each terminal phase since canaryd started. */
	__u64 decisions[ROLLOUT_FAILED + 1];
};

/*
 * Render the exposition for N interfaces into a malloc()ed, NUL-terminated
 * buffer: *OUT (free() it), *LEN bytes without the NUL. 0 or -ENOMEM.
 */
int canary_metrics__render(const struct canary_metrics_iface *ifs, int n, char **out,
			   size_t *len);

/*
 * Parse a listen address: "HOST:PORT" with a numeric IPv4 host, "[IPv6]:PORT",
 * or "" / "off" for no endpoint (*OFF set). SA gets room for either family.
 * 0 or -EINVAL.
 */
struct sockaddr_storage;
int canary_metrics__parse_addr(const char *s, struct sockaddr_storage *sa, bool *off);

/*
 * The HTTP endpoint. It never runs a thread of its own: canaryd polls
 * canary_metrics__fd() with its other descriptors, waits at most
 * canary_metrics__timeout_ms(), and calls canary_metrics__run() after every
 * wake-up; a GET of /metrics calls RENDER(CTX) and serves its buffer, so a
 * scrape sees exactly what "status" sees, with no locks. Sockets are
 * non-blocking and connections limited in number, memory and idle time, so
 * a slow or stuck scraper cannot stall the loop.
 */
typedef int (*canary_metrics_render_fn)(void *ctx, char **out, size_t *len);
struct canary_metrics_server;

/* NULL with errno set; the message names ADDR. */
struct canary_metrics_server *canary_metrics__listen(const char *addr,
						     canary_metrics_render_fn render, void *ctx);
int canary_metrics__fd(const struct canary_metrics_server *srv);
int canary_metrics__timeout_ms(const struct canary_metrics_server *srv);
void canary_metrics__run(struct canary_metrics_server *srv);
void canary_metrics__close(struct canary_metrics_server *srv);

#endif
