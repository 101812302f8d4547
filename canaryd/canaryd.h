/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's state and the wires between its parts. One struct canaryd
 * is passed down from main(); nothing lives in file-scope globals.
 *
 *   main.c      main loop, signals, config reload, metrics and systemd glue
 *   iface.c     interface lifecycle: lock, adopt or create, resume, reconcile, loss
 *   prepare.c   loading a version: its map dir, copy_maps, globals, the prepare command
 *   keep.c      kept copies of the stables in state_dir, for a datapath created anew
 *   tick.c      read -> rollout -> apply: the only caller of the engine and the
 *               only place that applies its actions
 *   notify.c    webhook notifications and gates for an interface
 *   status.c    the status JSON (control socket and webhook bodies)
 *   control.c   the control protocol: one handler per command
 *   control_socket.c  the control socket: its lock, non-blocking clients, deadlines
 *   history.c   the audit trail and the per-interval series (lib/history.h)
 *   links.c     interfaces that come and go: observe, rollout_link__decide(), apply
 *   netlink.c   the RTNETLINK socket that wakes links.c up
 */
#ifndef CANARYD_CANARYD_H
#define CANARYD_CANARYD_H

#include <limits.h>
#include <stdbool.h>
#include <time.h>
#include <linux/types.h>
#include <jansson.h>

#include "canary_abi.h"
#include "config.h"
#include "engine.h"
#include "frags.h"
#include "history.h"
#include "link.h"
#include "rate.h"
#include "shadow.h"
#include "state.h"

#define PIN_STABLE "stable"
#define PIN_CANDIDATE "candidate"
#define PIN_PREVIOUS "previous"

struct canary_dp;

/*
 * The shadow phase (shadowing.c): while it runs, 1 sampled packet in
 * CANARYD_SHADOW_EVERY, at most shadow_rate (default CANARYD_SHADOW_RATE,
 * config.c) per second per CPU,
 * at most CANARYD_SHADOW_PER_TICK replayed per tick (the rest waits in the
 * ring, or is lost when it is full: counted by the dispatcher).
 */
#define CANARYD_SHADOW_EVERY 1
#define CANARYD_SHADOW_PER_TICK 50000
/*
 * In the live steps (plan.shadow_live): shadow_live_every and
 * shadow_live_rate (config.h), and the replay bounded by time: at most
 * CANARYD_SHADOW_LIVE_TICK_NS per tick (the rest waits in the ring).
 */
#define CANARYD_SHADOW_LIVE_TICK_NS (20ULL * 1000 * 1000)

/* The paired evidence of the live steps: the samples of each side's flows. */
struct canaryd_paired {
	struct shadow_evidence ev;	/* of this span */
	__u64 stable_flows, cand_flows;	/* samples served by stable, by the candidate */
};

struct canary_sample_reader;
struct bpf_object;

struct canaryd_shadow {
	bool active;			/* instances loaded, sampling on */
	bool load_failed;		/* a restart could not load them: not tried again */
	struct bpf_object *s_obj, *c_obj;
	int sfd, cfd;			/* shadow instances of stable and the candidate */
	struct canary_sample_reader *rd;
	struct shadow_params params;
	struct shadow_evidence ev;	/* kept after the phase, for status */
	enum shadow_decision decision;	/* the latest */
	char harm[ROLLOUT_REASON_LEN];			/* the harm's metric, cell and an example */
	__u64 replay_errors;		/* samples the test run refused */
	__u32 this_tick;
	/* The live steps (ROLLOUT_ACT_SHADOW 2); kept after the rollout, for status. */
	bool live;			/* sampling at the live rate, pairs into live_* */
	bool live_begun;		/* this rollout's pairing ran (status shows it) */
	__u64 rollout_id;		/* the rollout this record is of */
	struct shadow_params live_params;
	struct canaryd_paired live_all;	/* every live step since the pairing began: harm */
	struct canaryd_paired live_step;	/* this step's: safety, weakness */
	__u32 live_steps;		/* live steps begun (the warm-up is one) */
	enum shadow_decision live_decision;	/* the latest */
	char live_harm[ROLLOUT_REASON_LEN];
	__u64 budget_ticks;		/* ticks whose replay stopped at the time bound */
	/*
	 * Samples taken before (bpf_ktime_get_ns(), CLOCK_MONOTONIC) the
	 * sampling was turned on for this use, or before this step began, are
	 * left out: the ring may still hold an earlier rollout's (another
	 * candidate's live verdicts) or the previous step's. Counted.
	 */
	__u64 since_ns, step_since_ns;
	__u64 stale;
	__u64 tick_deadline_ns;
};

struct iface {
	struct canary_iface_cfg cfg;
	int ifindex;
	char ifname[16];		/* its name now (renames are followed by ifindex) */
	struct rollout_link link;	/* waiting, managed, lost, detached (rollout/link.h) */
	bool settings_wait;		/* a settings change waits for the rollout to end */
	char pin_dir[PATH_MAX - 32];
	char state_path[PATH_MAX];
	char share_dir[PATH_MAX];	/* state maps shared between versions */
	char keep_dir[PATH_MAX];	/* STATE_DIR/versions/IFACE: kept stables (keep.c) */
	int lock_fd;
	bool locked_out;		/* another canaryd holds the pin directory's lock */
	bool released;			/* canaryctl release handed it back (release.c) */
	struct canary_dp *dp;
	/*
	 * The dispatcher is (or is to be) multi-buffer: every version must be
	 * SEC("xdp.frags"); set from the adopted dispatcher, or decided before
	 * a new one is opened. MTU as read then (0: not read).
	 */
	bool frags;
	int mtu;
	/* The dispatcher against the MTU as last read (rollout/frags.h), for status and metrics. */
	enum rollout_frags_fit mtu_fit;
	char error[256];		/* why it is not managed; empty when it is */
	bool has_rollout;
	struct canaryd_persist st;	/* the rollout, as persisted */
	int cand_fd;			/* candidate program (pinned as "candidate") */
	char cand_set[sizeof(((struct canary_rollout_cfg *)0)->set) + 512 + 1];		/* the candidate's globals (config's and request's) */
	struct canaryd_shadow *shadow;	/* the shadow phase's instances and evidence */
	struct canaryd_capture *capture;	/* a live capture session (capture.c) */
	struct canary_counters last[CANARY_COUNTERS_ENTRIES];
	struct canary_counters at_start[CANARY_COUNTERS_ENTRIES];
	bool have_last;
	struct judge_sample d_stable, d_cand;	/* last interval, for status */
	double d_secs;
	struct canary_rate rate;	/* split-class packets of stable and candidate */
	struct canary_stratum strata_last[CANARY_STRATA];	/* the last read of the strata */
	bool have_strata;
	struct canary_breaker brk;
	char gate_detail[160];		/* the gate's last answer, for status */
	__u64 decisions[ROLLOUT_FAILED + 1];	/* rollouts ended per phase, for metrics */
	enum rollout_event_type feeding;	/* the event being fed, for the history's "who" */
	struct canary_series series;	/* this rollout's intervals (history.c) */
	__u64 series_id;		/* the rollout_id the series is of */
	__u64 series_saved_ms;		/* when it was last written */
	/* Counter reads since canaryd started, and the longest time between two. */
	__u64 reads, last_read_ms, max_read_gap_ms;
};

/* The control socket's clients: at most this many, each for at most this long. */
#define CANARYD_CTL_CLIENTS 16
#define CANARYD_CTL_CLIENTS_S "16"
#define CANARYD_CTL_DEADLINE_MS 5000
#define CANARYD_CTL_DEADLINE_S "5"

struct canaryd_ctl_client {
	int fd;			/* -1: a free slot */
	__u64 deadline_ms;	/* for the whole exchange: request, then reply */
	bool replying;		/* BUF holds the reply (LEN bytes, OFF written) */
	char *buf;		/* the request being read, then the reply */
	size_t len, cap, off;
};

struct canaryd_control {
	int lfd, lock_fd;
	char lock_path[PATH_MAX];
	struct canaryd_ctl_client c[CANARYD_CTL_CLIENTS];
};

struct canaryd_netlink;

struct canaryd {
	struct canaryd_config config;
	const char *config_path;
	struct canaryd_netlink *nl;	/* RTNETLINK link messages (netlink.c) */
	struct iface iface[CANARY_MAX_IFACES];
	int nr_ifaces;
	/* The client whose request is being handled ("uid=U pid=P"), else empty. */
	char who[48];
	unsigned who_uid;
	int who_pid;
	struct canaryd_control ctl;
	const char *metrics_state;	/* status "metrics": listening, unbound, off */
};

static inline __u64 canaryd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline __u64 canaryd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* shadowing.c: the shadow phase's instances, sampling and replay */
int canaryd_shadow__begin(struct iface *ifc);
void canaryd_shadow__end(struct iface *ifc);
void canaryd_shadow__free(struct iface *ifc);
void canaryd_shadow__tick(struct canaryd *d, struct iface *ifc, __u64 now);
/* A live step begins (ROLLOUT_ACT_SHADOW 2): instances kept or loaded, step evidence anew. */
int canaryd_shadow__live_step(struct iface *ifc);

/*
 * capture.c: live capture sessions (canaryctl capture). start: 0 and *ID, or
 * -errno with MSG, nothing changed; read and stop: the reply, or NULL with
 * *ERR and MSG. sample: one sample the shadow phase drained, offered to the
 * session; tick: after the shadow phase's, drains the ring when nobody else
 * does; free: at close, sampling given back.
 */
struct canaryd_capture;
struct canaryd_request;
struct canary_sample;
int canaryd_capture__start(struct canaryd *d, struct iface *ifc, const struct canaryd_request *req,
			   __u32 *id, char *msg, size_t len);
json_t *canaryd_capture__read(struct iface *ifc, const struct canaryd_request *req, int *err,
			      char *msg, size_t len);
json_t *canaryd_capture__stop(struct iface *ifc, const struct canaryd_request *req, int *err,
			      char *msg, size_t len);
void canaryd_capture__sample(struct iface *ifc, const struct canary_sample *smp);
void canaryd_capture__tick(struct iface *ifc, __u64 now);
void canaryd_capture__free(struct iface *ifc);

/* iface.c */
int canaryd_iface__setup(struct canaryd *d, struct iface *ifc);
void canaryd_iface__close(struct iface *ifc);
bool canaryd_iface__managed(const struct iface *ifc);
/* Dispatcher settings (symmetric, fail, cost_sample) from the config; WHY for the log. */
void canaryd_iface__settings(struct iface *ifc, const char *why);
void canaryd_iface__lost(struct canaryd *d, struct iface *ifc);
struct iface *canaryd__find_iface(struct canaryd *d, const char *name);
int canaryd_iface__pin(struct iface *ifc, const char *name, int fd);
int canaryd_iface__get_pinned(struct iface *ifc, const char *name);
int canaryd_iface__persist(struct iface *ifc);
int canaryd_iface__slot0_from_pin(struct iface *ifc, const char *name);
void canaryd_iface__restore_stable(struct iface *ifc);
/*
 * The state's previous stable loaded from its kept copy and pinned as
 * "previous" (a datapath created anew has none). 0 or -errno, logged.
 */
int canaryd_iface__rebuild_previous(struct iface *ifc);

/*
 * The MTU read again (after a link message and on each tick, links.c): the
 * running dispatcher's kind against it (rollout_frags__fit()), logged when
 * the MTU changes, a warning with what to do when it no longer fits.
 */
void canaryd_iface__mtu_check(struct iface *ifc);

/* links.c: interfaces that come and go, after a link message and on each tick */
void canaryd_links__check(struct canaryd *d);
/* Milliseconds until a noted detachment is to be confirmed (links.c); -1: none. */
int canaryd_links__timeout_ms(const struct canaryd *d);
/* canaryd_iface__setup() at start, leaving the link state (waiting when absent). */
int canaryd_links__setup(struct canaryd *d, struct iface *ifc);
/* Configured, and no interface of that name (waiting or lost), so not refused where it is. */
bool canaryd_links__is_waiting(const struct iface *ifc);
/* The names of the configured interfaces that do not exist (waiting or lost). */
int canaryd_links__waiting(const struct canaryd *d, char *buf, size_t len);

/* netlink.c: an RTNETLINK socket on RTMGRP_LINK */
int canaryd_netlink__open(struct canaryd *d);
int canaryd_netlink__fd(const struct canaryd *d);
/* Read what is queued; true when a link message (or an overrun) came. */
bool canaryd_netlink__read(struct canaryd *d);
void canaryd_netlink__close(struct canaryd *d);
/* prepare.c: loading a version (its maps, copy_maps, globals, prepare command) */
struct bpf_object;
struct canaryd_load {
	bool stable;			/* its role: stable (at attach) or candidate */
	const char *obj, *prog;		/* prog NULL or "": the object's one XDP program */
	const char *prepare;		/* NULL or "": none */
	__u64 timeout_ms;
	const char *copy_maps;		/* candidates only */
	const char *set;		/* NAME=VALUE,... */
	char *log;			/* the verifier's log of a refusal */
	size_t log_len;
	char prog_name[CANARY_PROG_LEN];	/* out: the program's name */
	char sha256[65];		/* out: SHA-256 of the bytes loaded ("" if unknown) */
};
/*
 * Load L's version for IFC: its maps pinned in its map dir, copy_maps from
 * stable's, then its prepare command. The program fd (owned by *OBJ), or a
 * negative errno with MSG (-ECANCELED: prepare exited non-zero) and nothing
 * left behind.
 */
int canaryd_iface__load_version(struct iface *ifc, struct canaryd_load *l,
				struct bpf_object **obj, char *msg, size_t len);
/* L's prepare command for the loaded PROG_FD (canaryctl prepare). 0 or -errno with MSG. */
int canaryd_iface__prepare(struct iface *ifc, const struct canaryd_load *l, int prog_fd,
			   char *msg, size_t len);
/*
 * sh -c CMD with the environment plus VARS (NULL-ended "K=V"), stdin
 * /dev/null, its stdout and stderr into OUT (the first OUTLEN - 1 bytes),
 * killed with its process group after TIMEOUT_MS. Its exit status (128 +
 * signal), or -ETIMEDOUT, or -errno when it cannot be run.
 */
int canaryd_prepare__run(const char *cmd, __u64 timeout_ms, char *const *vars, char *out,
			 size_t outlen);
/* PIN_ROOT/IFACE/versions/ID/maps: the maps of program ID, by name. */
void canaryd_iface__map_dir(const struct iface *ifc, __u32 id, char *buf, size_t len);
void canaryd_iface__pinned_map_dir(struct iface *ifc, const char *name, char *buf, size_t len);
/* Map dirs for adopted versions that have none (pinned by an older canaryd). */
void canaryd_iface__pin_adopted_maps(struct iface *ifc);
/*
 * release.c: canaryctl release. Refused (-EBUSY) while a rollout runs; else
 * the stable replaces the dispatcher atomically, the marker
 * STATE_DIR/IFACE.state.released is written, the pin dir removed, IFC unmanaged.
 * MSG: the line for the client.
 */
int canaryd_iface__release(struct iface *ifc, char *msg, size_t len);
/* True (IFC's error and log say so) when STATE_DIR/IFACE.state.released exists. */
bool canaryd_iface__released(struct iface *ifc);
/* Does STATE_DIR/IFACE.state.released exist? (Nothing said.) */
bool canaryd_iface__release_marked(const struct iface *ifc);
/*
 * At set-up, after the adoption was tried (IFC->dp, NULL when nothing could
 * be adopted): a release cut short by a crash is completed
 * (rollout__reconcile_release(): the marker written, the pins removed,
 * logged), never undone. True when IFC is released (left alone).
 */
bool canaryd_iface__release_reconcile(struct iface *ifc);
/* The id of program FD, 0 when none. */
__u32 canaryd_prog_id(int fd);
/* keep.c: STATE_DIR/versions/IFACE/SHA256.bpf.o, one per version that became stable */
/* SHA256's kept path into BUF; -EINVAL for a malformed hash. */
int canaryd_keep__path(const struct iface *ifc, const char *sha256, char *buf, size_t len);
/* 0 when SHA256's copy is kept intact (PATH names it); -ENOENT, -EBADMSG (hash mismatch). */
int canaryd_keep__verify(const struct iface *ifc, const char *sha256, char *path, size_t len);
/*
 * Keep OBJ as SHA256's copy (tmp, fsync, rename, fsync of the directory);
 * -ESTALE when OBJ's bytes are not SHA256's any more. Logs one line on failure.
 */
int canaryd_keep__store(struct iface *ifc, const char *obj, const char *sha256);
/* Remove the copies that are not stable, previous or a live rollout's candidate. */
void canaryd_keep__prune(struct iface *ifc);
/*
 * A datapath created anew: the state file's stable when it is not the
 * configured one and its copy is intact (L loads the copy from PATH,
 * *USE_STATE set; logged), else L unchanged (the configured stable).
 */
void canaryd_keep__choose_stable(struct iface *ifc, struct canaryd_load *l, char *path,
				 size_t len, bool *use_state);
/* Drop the map dirs of versions no longer pinned as stable, candidate or previous. */
void canaryd_iface__gc_versions(struct iface *ifc);

/* tick.c */
int canaryd_iface__feed(struct canaryd *d, struct iface *ifc, const struct rollout_event *ev);
/* A new start for the next interval's deltas: the counters and strata as they are now. */
void canaryd_iface__snapshot(struct iface *ifc);
int canaryd_iface__set_entities(struct iface *ifc, __u32 count, __u32 slot);
void canaryd_iface__tick(struct canaryd *d, struct iface *ifc, __u64 now, double secs);
void canaryd__on_gate(void *ctx, void *owner, enum rollout_gate gate,
		      enum rollout_gate_result res, const char *detail);

/* notify.c */
void canaryd_iface__notify(struct canaryd *d, struct iface *ifc, enum rollout_notice n);
void canaryd_iface__ask_gate(struct canaryd *d, struct iface *ifc, enum rollout_gate g);
/* The pending gate's body rebuilt from the rollout now, its event id kept (notify.c). */
void canaryd_iface__refresh_gate(struct canaryd *d, struct iface *ifc, enum rollout_gate g);

/* status.c */
json_t *canaryd_status__iface(const struct iface *ifc);
json_t *canaryd_status__rollout(const struct iface *ifc);
/* The rollout's id as status and webhooks give it: "IFACE-ROLLOUT_ID" ("" if too long). */
void canaryd_status__rollout_id(const struct iface *ifc, char *buf, size_t len);
json_t *canaryd_status__event(const struct iface *ifc, const struct canary_webhook_cfg *h,
			      const char *type, const char *event, const char *event_id);
json_t *canaryd_status__version(const struct canary_counters *all, __u32 row,
				const struct judge_sample *d, const struct canary_rate *rate);

/* history.c */
/* The peer of control connection CFD (SO_PEERCRED) into d->who. */
void canaryd_history__peer(struct canaryd *d, int cfd);
/* A transition's line in the history (and the series written). */
void canaryd_history__record(struct canaryd *d, struct iface *ifc, enum rollout_notice n);
/* The last interval (ifc->d_stable, d_cand over SECS) into the rollout's series. */
void canaryd_history__sample(struct canaryd *d, struct iface *ifc, double secs);
/* At exit: a running rollout's series to its file (a restart reloads it). */
void canaryd_history__flush(struct canaryd *d, struct iface *ifc);

/* control.c */
json_t *canaryd_control__reply(struct canaryd *d, const char *line);

/* control_socket.c */
/* Lock SOCKET.lock, then bind and listen; 0 or -errno (-EBUSY: another canaryd has it). */
int canaryd_control__open(struct canaryd_control *ctl, const char *path);
/* The listening socket and one slot per client into PFD (returns how many); *TIMEOUT
 * shortened to the nearest client deadline. */
struct pollfd;
int canaryd_control__pollfds(struct canaryd_control *ctl, struct pollfd *pfd, int *timeout);
/* After poll(): accept, read, answer, write, and close clients past their deadline. */
void canaryd_control__run(struct canaryd *d, const struct pollfd *pfd);
/* Close every client and the socket, unlink it and release the lock. */
void canaryd_control__close(struct canaryd_control *ctl, const char *path);

#endif
