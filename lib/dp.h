/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Datapath control: the user-space side of the dispatcher.
 *
 * Functions return 0 or a negative errno; functions returning a pointer
 * return NULL and set errno. Every failure is also logged in one line naming
 * the object it concerns.
 */
#ifndef CANARY_DP_H
#define CANARY_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xdp/libxdp.h>

#include "canary_abi.h"

struct canary_dp;

struct canary_dp *canary_dp__open(void);

/*
 * canary_dp__open() with options, libbpf-style (sz first; OPTS may be NULL).
 * FRAGS: load the dispatcher with BPF_F_XDP_HAS_FRAGS (multi-buffer), which
 * native XDP needs on an MTU above about 3,500 bytes (4 KiB pages); the
 * kernel then takes only multi-buffer versions (SEC("xdp.frags")) into its
 * slots, and a plain dispatcher only plain ones. Recorded as CANARY_F_FRAGS
 * in the config, so an adopted dispatcher reports it (canary_dp__frags).
 */
struct canary_dp_open_opts {
	size_t sz;
	bool frags;
};

#define CANARY_DP_OPEN_OPTS(name, ...)                                                             \
	struct canary_dp_open_opts name = { .sz = sizeof(struct canary_dp_open_opts), __VA_ARGS__ }

struct canary_dp *canary_dp__open_opts(const struct canary_dp_open_opts *opts);
/* Was the dispatcher loaded multi-buffer (CANARY_F_FRAGS)? */
bool canary_dp__frags(const struct canary_dp *dp);
void canary_dp__close(struct canary_dp *dp);
int canary_dp__prog_fd(const struct canary_dp *dp);

/*
 * Options of the calls whose failure the caller shows to someone (canaryd: in
 * the interface's status, to canaryctl), libbpf-style: sz first
 * (CANARY_DP_OPTS fills it). With MSG, a failure's one line (what failed,
 * naming the interface or pin, and what to do) goes there, caller-owned, and
 * is not logged; without it (or with OPTS NULL) it goes to the log.
 */
struct canary_dp_opts {
	size_t sz;
	char *msg;
	size_t msg_size;
};

#define CANARY_DP_OPTS(name, ...)                                                                  \
	struct canary_dp_opts name = { .sz = sizeof(struct canary_dp_opts), __VA_ARGS__ }

/*
 * Adopt a dispatcher pinned under DIR by an earlier canary_dp__pin(), with
 * its configuration as installed; NULL with errno ENOENT when nothing is
 * pinned there (no message), EPROTO when its ABI version differs. OPTS may
 * be NULL.
 */
struct canary_dp *canary_dp__adopt(const char *dir, const struct canary_dp_opts *opts);
const char *canary_dp__pin_dir(const struct canary_dp *dp);

/* Pin the dispatcher program and its maps under DIR (created if absent). */
int canary_dp__pin(struct canary_dp *dp, const char *dir);
int canary_dp__unpin(struct canary_dp *dp);

/* Is this dispatcher the XDP program attached to IFINDEX in MODE? */
bool canary_dp__attached(const struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode);

/*
 * Attach through libxdp: multiprog where the kernel allows it, else directly.
 * A dispatcher already attached there (adopted) is kept as it is. 0 or
 * -errno; OPTS may be NULL.
 */
int canary_dp__attach(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode,
		      const struct canary_dp_opts *opts);
int canary_dp__detach(struct canary_dp *dp);
/*
 * Attach again after someone else detached the dispatcher (ip link set dev
 * X xdp off): the stale attachment handle is dropped (nothing is detached)
 * and the dispatcher attached as canary_dp__attach does.
 */
int canary_dp__reattach(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode,
			const struct canary_dp_opts *opts);
/*
 * Hand IFINDEX back with PROG_FD attached directly in MODE in place of the
 * dispatcher (directly attached, or inside libxdp's multiprog dispatcher):
 * one XDP_FLAGS_REPLACE attach naming the attached program as the old one,
 * so no packet meets an interface without a program. The pins are left to
 * the caller (canary_dp__unpin()). 0, -ENOENT (nothing attached), -EBUSY
 * (not this dispatcher), or the kernel's -errno, with OPTS' message.
 */
int canary_dp__release(struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode, int prog_fd,
		       const struct canary_dp_opts *opts);
/* The dispatcher program's id, 0 when it cannot be read. */
__u32 canary_dp__prog_id(const struct canary_dp *dp);
/*
 * What runs as IFINDEX's XDP program in MODE: the dispatcher's id when it is
 * the program attached there, or one of the programs of a libxdp multiprog
 * dispatcher attached there (same tag); else the attached program's id, 0
 * when there is none.
 */
__u32 canary_dp__xdp_id(const struct canary_dp *dp, int ifindex, enum xdp_attach_mode mode);

/* Put a program version into a slot (one atomic ProgMap update), or empty it. */
int canary_dp__set_slot(struct canary_dp *dp, __u32 slot, int prog_fd);
int canary_dp__clear_slot(struct canary_dp *dp, __u32 slot);
/* The id of the program in SLOT, 0 when it is empty. */
int canary_dp__slot_prog_id(const struct canary_dp *dp, __u32 slot, __u32 *id);

/*
 * The whole configuration, swapped as one value: a new inner map replaces the
 * old one in the outer array-of-maps with a single update. abi_version and
 * generation are filled in by set_config.
 */
int canary_dp__get_config(const struct canary_dp *dp, struct canary_config *cfg);
int canary_dp__set_config(struct canary_dp *dp, const struct canary_config *cfg);

/*
 * Candidate share in basis points, hash space taken from a fixed end per slot
 * (slot 1 from 0 upwards, slot 2 from 10000 downwards, slot 3 from 5000
 * upwards), so raising a share keeps every flow already on that candidate.
 * -EINVAL when the new range would overlap another candidate's, and when BP
 * is not a multiple of CANARY_STRATUM_BP (10 bp = 0.1 %): ranges cover whole
 * strata. set_config refuses such ranges too.
 *
 * The idle/split switch is handled here, in set_config and in set_pins: the
 * dispatcher takes its split path (parse, pin rules, hash, strata, cost
 * samples) while a candidate range is non-empty or a pin rule set is
 * installed, and its idle path (stable, counted on (stable, split)) otherwise.
 * The split word is set after such a configuration is in and cleared before
 * it is removed; callers do nothing more.
 */
int canary_dp__set_share(struct canary_dp *dp, __u32 slot, __u32 bp);

/*
 * Cost sampling: 1 packet in n (rounded up to a power of two); 0 turns it off.
 * The default, 1 in 128, keeps the two clock reads under 0.5 ns per packet.
 */
#define CANARY_COST_SAMPLE_DEFAULT 128
int canary_dp__set_cost_sampling(struct canary_dp *dp, __u32 n);

/*
 * Packet sampling, for shadow replay: while the dispatcher takes its split
 * path (a rollout or a shadow phase runs), 1 packet in EVERY per CPU, at
 * most RATE per second per CPU (a token bucket a tenth of a second deep),
 * is copied with the live version's verdict into the canary_samples ring
 * buffer: SNAP bytes of the frame as it arrived (0: CANARY_SNAP_MAX, the
 * whole frame up to 1,514 bytes). EVERY 0 turns it off: the split path then
 * pays one flag test, the idle path nothing. -EINVAL for RATE 0 or above
 * CANARY_SAMPLE_RATE_MAX and SNAP above CANARY_SNAP_MAX.
 */
#define CANARY_SAMPLE_RATE_MAX 1000000
int canary_dp__set_sampling(struct canary_dp *dp, __u32 every, __u32 rate, __u32 snap);
/*
 * A live capture (canaryctl capture, canaryd/capture.c) begins or ends:
 * while on, the dispatcher takes the split path, where the sampler is, even with no
 * rollout (every packet to stable unless a rollout gives it elsewhere).
 * It changes nothing else: a rollout's split path stays as it was.
 */
int canary_dp__set_capture(struct canary_dp *dp, bool on);
/* The sampler's counters summed over the CPUs (picked, limited, lost, sent). */
int canary_dp__read_sample_state(const struct canary_dp *dp, struct canary_sample_state *out);

/*
 * Consume the ring buffer: FN is called once per sample, from poll (a
 * non-zero return stops the poll and is returned by it). The record is the
 * ring's memory, valid during the call only; data has cap_len bytes.
 */
typedef int (*canary_sample_fn)(void *ctx, const struct canary_sample *smp);
struct canary_sample_reader;
struct canary_sample_reader *canary_dp__sample_reader(const struct canary_dp *dp,
						      canary_sample_fn fn, void *ctx);
/*
 * consume reads what the ring holds without waiting (for a reader on a
 * timer); poll waits up to TIMEOUT_MS (-1: forever) for a sample first. The
 * dispatcher wakes a reader only with the first sample after it caught up.
 * Both return the samples consumed (>= 0) or a negative errno.
 */
int canary_sample_reader__consume(struct canary_sample_reader *r);
int canary_sample_reader__poll(struct canary_sample_reader *r, int timeout_ms);
/* An epoll fd that becomes readable when samples wait, for an event loop. */
int canary_sample_reader__fd(const struct canary_sample_reader *r);
void canary_sample_reader__free(struct canary_sample_reader *r);

/*
 * A rollout begins (ON, with its own flow-hash SEED, refused with -EBUSY
 * while a candidate has a share) or ends: while on, the dispatcher takes the
 * split path and counts strata even with no share, so the judge can learn
 * each stratum's baseline before the first flow moves.
 */
int canary_dp__set_rollout(struct canary_dp *dp, bool on, __u32 seed);

struct canary_pin_rule {
	int family;		/* AF_INET or AF_INET6 */
	__u32 prefixlen;
	__u8 addr[16];		/* network byte order; IPv4 in the first 4 bytes */
	__u32 slot;
	__u32 dir;		/* CANARY_PIN_SRC (0, the default) or CANARY_PIN_DST */
	/*
	 * The rule set it is counted in (canary_abi.h "Rule sets"): 0 for the
	 * operator's pin rules (what the parsers give), k for entity k.
	 */
	__u32 set;
};

/*
 * One pin rule (lib/parse.c, no kernel needed): "src PREFIX -> candidate",
 * "dst PREFIX -> stable" (the config's and canaryctl's form; PREFIX IPv4 or
 * IPv6, "/LEN" optional: a host), or the short form "198.18.0.0/24=1",
 * "dst:2001:db8::/32=2" (slot numbers). A source rule that matches wins
 * over any destination rule. 0 or -EINVAL.
 */
int canary_pin_rule__parse(const char *text, struct canary_pin_rule *rule);

/* Rules separated by commas into RULES (at most MAX): 0, -EINVAL (*BAD: the item), -E2BIG. */
#define CANARY_PIN_LIST_MAX 32
int canary_pin_rules__parse(const char *list, struct canary_pin_rule *rules, size_t max,
			    size_t *n, char *bad, size_t badlen);

/*
 * An entity's rule: a pin rule without its slot, "src PREFIX" or "dst
 * PREFIX" (the rollout plan decides where it points; slot 0 here), parsed
 * by the same code as canary_pin_rule__parse()'s long form. 0 or -EINVAL.
 */
int canary_pin_match__parse(const char *text, struct canary_pin_rule *rule);
/* Such rules separated by commas, as canary_pin_rules__parse(). */
int canary_pin_matches__parse(const char *list, struct canary_pin_rule *rules, size_t max,
			      size_t *n, char *bad, size_t badlen);
/* "src 198.18.1.0/24": a rule without its slot. */
int canary_pin_match__format(const struct canary_pin_rule *rule, char *buf, size_t len);

/* "dst 198.18.5.0/24 -> candidate" (slot 1), "-> stable" (slot 0), "-> slot N". */
int canary_pin_rule__format(const struct canary_pin_rule *rule, char *buf, size_t len);

/*
 * Replace the whole pin rule set with RULES (n may be 0 to remove all), each
 * rule counted in its rule set (-EINVAL for a set >= CANARY_MAX_RULESETS). New
 * tries are filled off-line, then swapped in, then the config flags that
 * enable the lookup are set; removal clears the flags first.
 */
int canary_dp__set_pins(struct canary_dp *dp, const struct canary_pin_rule *rules, size_t n);

/*
 * Sum the per-CPU rule-set counters: out has CANARY_RULESET_ENTRIES records,
 * canary_ruleset__at(out, set, row) the verdicts of the packets that set's
 * rules pinned and ROW's version handled.
 */
int canary_dp__read_rulesets(const struct canary_dp *dp, struct canary_ruleset *out);

/* Sum the per-CPU counters: out has CANARY_COUNTERS_ENTRIES records. */
int canary_dp__read_counters(const struct canary_dp *dp, struct canary_counters *out);
/*
 * Sum the per-CPU strata map: out has CANARY_STRATA records, out[s] the
 * verdicts of the hash-split packets of stratum s (canary_stratum_of(hash)),
 * whichever version served them. Counted only on the split path.
 */
int canary_dp__read_strata(const struct canary_dp *dp, struct canary_stratum *out);
/* The split word as the dispatcher reads it (canary_abi.h). */
int canary_dp__read_mode(const struct canary_dp *dp, struct canary_mode *out);
int canary_dp__read_breaker(const struct canary_dp *dp, __u32 slot, struct canary_breaker *out);
/* Close the breaker: zero its bad count and let flows reach the slot again. */
int canary_dp__reset_breaker(struct canary_dp *dp, __u32 slot);
int canary_dp__set_breaker_budget(struct canary_dp *dp, __u32 slot, __u64 budget);

/* Names used in every output: "stable", "candidate1".."candidate3", "none"; ... */
const char *canary_row_name(__u32 row);
const char *canary_class_name(__u32 cls);
const char *canary_verdict_name(__u32 verdict);

#endif
