/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one ABI header shared by the dispatcher (BPF) and user space.
 *
 * Every struct, enum and constant that crosses the kernel/user boundary is
 * defined here and nowhere else. Types are __u32/__u64 only so the layout is
 * the same for clang -target bpf and for the host compiler.  Bump
 * CANARY_ABI_VERSION whenever a layout below changes: a daemon refuses to
 * adopt a pinned dispatcher whose version differs.
 */
#ifndef CANARY_ABI_H
#define CANARY_ABI_H

#include <linux/types.h>

/*
 * 2: the canary_strata map, the split word (canary_mode) in the dispatcher's
 * .bss, destination pin rules (a second trie in each pin map).
 * 3: packet sampling (CANARY_F_SAMPLE, the sample_* config fields, the
 * canary_samples ring buffer and the canary_sample_state per-CPU map).
 */
#define CANARY_ABI_VERSION 3

/* Slot 0 is the stable version; slots 1..CANARY_MAX_SLOTS-1 are candidates. */
#define CANARY_MAX_SLOTS 4
#define CANARY_SLOT_STABLE 0
/*
 * Counter row for packets that no version handled: no stable program was
 * installed, so the dispatcher returned its fail-open/fail-closed verdict.
 */
#define CANARY_ROW_NONE CANARY_MAX_SLOTS
#define CANARY_ROWS (CANARY_MAX_SLOTS + 1)

/* Split resolution: weights and hash-space ranges are in basis points. */
#define CANARY_BP_MAX 10000

/* Traffic classes. The judge compares only like with like: hash-split. */
enum canary_class {
	CANARY_CLASS_SPLIT = 0,	/* parsed, sent to a version by the flow hash */
	CANARY_CLASS_PINNED = 1,	/* parsed, sent to a version by a pin rule */
	CANARY_CLASS_UNPARSED = 2,	/* not IPv4/IPv6 or truncated: always stable */
	CANARY_CLASS_MAX,
};

/* Verdict counter index; anything above XDP_REDIRECT counts as invalid. */
enum canary_verdict {
	CANARY_V_ABORTED = 0,	/* == XDP_ABORTED */
	CANARY_V_DROP = 1,	/* == XDP_DROP */
	CANARY_V_PASS = 2,	/* == XDP_PASS */
	CANARY_V_TX = 3,	/* == XDP_TX */
	CANARY_V_REDIRECT = 4,	/* == XDP_REDIRECT */
	CANARY_V_INVALID = 5,
	CANARY_V_MAX,
};

/* log2 buckets of the sampled per-packet cost: bucket b holds [2^b, 2^(b+1)) ns. */
#define CANARY_COST_BUCKETS 24

/*
 * Per-CPU counters for one (row, class). Indexed row * CANARY_CLASS_MAX + class
 * in the counters map. Add only: the dispatcher never resets them, user space
 * computes deltas. The fields touched by every packet (packets, bytes,
 * verdict) share the first cache line.
 */
struct canary_counters {
	__u64 packets;		/* packets this version handled */
	__u64 bytes;
	__u64 verdict[CANARY_V_MAX];
	/*
	 * Packets meant for this row's slot that it did not handle: slot empty,
	 * tail call failed, or (candidates) circuit breaker tripped. They are
	 * counted again, as packets, on the row that did handle them.
	 */
	__u64 fallback;
	__u64 diverted;		/* subset of fallback: due to the circuit breaker */
	__u64 cost_samples;	/* packets whose cost was sampled */
	__u64 cost_ns;		/* sum of their cost */
	__u64 cost_hist[CANARY_COST_BUCKETS];
} __attribute__((aligned(64)));

#define CANARY_COUNTERS_ENTRIES (CANARY_ROWS * CANARY_CLASS_MAX)

/* The (row, class) record of a counters array read from the map. */
static inline const struct canary_counters *
canary_counters__at(const struct canary_counters *all, __u32 row, __u32 cls)
{
	return &all[row * CANARY_CLASS_MAX + cls];
}

/*
 * Strata of the hash space, for the judge. Stratum = bucket / CANARY_STRATUM_BP
 * (1,000 strata of 10 buckets: 0.1 % of the flows each). The dispatcher counts
 * every hash-split packet's verdict in its stratum, whichever version served
 * it, so a stratum has a history under stable before it moves to a candidate,
 * and the judge can use it as that stratum's own baseline. Pinned and
 * unparsed traffic is not counted here. Candidate ranges start and end on
 * stratum boundaries (multiples of CANARY_STRATUM_BP), so a stratum is served
 * by one version at a time.
 *
 * One per-CPU array entry per stratum; packets are the sum of the verdicts
 * (no separate packet counter that a torn read could put out of step).
 */
#define CANARY_STRATUM_BP 10
#define CANARY_STRATA (CANARY_BP_MAX / CANARY_STRATUM_BP)

struct canary_stratum {
	__u64 verdict[CANARY_V_MAX];
};

/*
 * A flow's stratum from its hash: floor(bucket / CANARY_STRATUM_BP), with
 * bucket = canary_bucket(hash). floor(floor(x) / n) == floor(x / n), so this
 * is the same number as canary_bucket(hash) / CANARY_STRATUM_BP, with no
 * division on the packet path.
 */
static inline __u32 canary_stratum_of(__u32 hash)
{
	return (__u32)(((__u64)hash * CANARY_STRATA) >> 32);
}

/*
 * The split word: the one aligned 32-bit value in the dispatcher's .bss
 * (pinned as CANARY_MAP_MODE; the whole section is this struct). Every
 * packet reads it first, with a plain load (no helper call). 0: idle, no
 * rollout runs: no parse, no hash, stable handles the packet and its verdict
 * is counted. CANARY_MODE_SPLIT: classify (pin rules, flow hash, strata)
 * under the configuration in canary_cfg. User space sets it after a split
 * configuration (a candidate range or a pin rule set) is in, and clears it
 * before that configuration is removed (the update order of DESIGN.md 5).
 */
#define CANARY_MODE_SPLIT 1U

struct canary_mode {
	__u32 split;
};

/* canary_config.flags */
#define CANARY_F_SYMMETRIC (1U << 0)	/* sort endpoints before hashing */
#define CANARY_F_FAIL_CLOSED (1U << 1)	/* no stable: XDP_DROP instead of XDP_PASS */
#define CANARY_F_PIN_V4 (1U << 2)	/* an IPv4 pin rule set is installed */
#define CANARY_F_PIN_V6 (1U << 3)	/* an IPv6 pin rule set is installed */
#define CANARY_F_COST (1U << 4)	/* sample per-packet cost */
/*
 * Some candidate range is non-empty. Maintained by user space with the
 * ranges, so an idle dispatcher (no rollout under way) skips the flow hash.
 */
#define CANARY_F_SPLIT (1U << 5)
#define CANARY_F_PIN_V4_DST (1U << 6)	/* an IPv4 destination pin rule set is installed */
#define CANARY_F_PIN_V6_DST (1U << 7)	/* an IPv6 destination pin rule set is installed */
#define CANARY_F_PINS \
	(CANARY_F_PIN_V4 | CANARY_F_PIN_V6 | CANARY_F_PIN_V4_DST | CANARY_F_PIN_V6_DST)
/*
 * A rollout runs: take the split path (and count strata) even while no
 * candidate has a share, so the judge learns each stratum's baseline under
 * stable before the first flow moves. User space only: it keeps the split
 * word set; the dispatcher reads nothing new.
 */
#define CANARY_F_STRATA (1U << 8)
/*
 * Packet sampling (split path only, so only while a rollout, a shadow
 * phase or a capture runs): one packet in sample_every per CPU, at most sample_rate per
 * second per CPU, is copied with the live verdict into the canary_samples
 * ring buffer (struct canary_sample).
 */
#define CANARY_F_SAMPLE (1U << 9)
/*
 * The dispatcher program was loaded with BPF_F_XDP_HAS_FRAGS (multi-buffer,
 * for an MTU above one page's worth of frame): the kernel then takes only
 * multi-buffer versions into its ProgMap, and without it only single-buffer
 * ones. Set by user space when it opens the dispatcher and kept by every
 * config swap, so an adopted dispatcher's kind is known; the program reads
 * nothing new.
 */
#define CANARY_F_FRAGS (1U << 10)
/*
 * A live capture runs (for canaryctl capture, issue 15: the command is not
 * built yet): take the split path, where the sampler is, even with no
 * rollout; with no candidate range and no pin rule every packet still goes
 * to stable. User space only, as CANARY_F_STRATA.
 */
#define CANARY_F_CAPTURE (1U << 11)
#define CANARY_F_ALL                                                                \
	(CANARY_F_SYMMETRIC | CANARY_F_FAIL_CLOSED | CANARY_F_PINS | CANARY_F_COST | \
	 CANARY_F_SPLIT | CANARY_F_STRATA | CANARY_F_SAMPLE | CANARY_F_FRAGS |       \
	 CANARY_F_CAPTURE)

/* Hash-space range [lo, hi) of one candidate slot, in basis points. */
struct canary_range {
	__u32 lo;
	__u32 hi;
};

/*
 * Everything that must change together. It lives alone in a one-entry inner
 * array map, and user space replaces the whole inner map in the outer
 * "canary_cfg" array-of-maps with one update: a packet sees either the old or
 * the new configuration, never half of each (RCU frees the old one after the
 * last packet using it is done).
 *
 * A parsed, unpinned flow goes to candidate slot s when its bucket
 * (hash scaled to [0, 10000)) is in range[s]; otherwise to stable. Ranges
 * start at fixed ends and only grow while a share is raised, so raising a
 * share never moves a flow off a candidate (monotone ramp).
 */
struct canary_config {
	__u32 abi_version;	/* CANARY_ABI_VERSION, checked on adoption */
	__u32 flags;		/* CANARY_F_* */
	__u32 seed;		/* flow-hash seed, set per rollout */
	__u32 cost_mask;	/* sample cost when (packets & cost_mask) == 0 */
	__u64 generation;	/* bumped by user space on every swap */
	struct canary_range range[CANARY_MAX_SLOTS];	/* [0] unused */
	/*
	 * Circuit breaker: a candidate slot that returns more than this many
	 * XDP_ABORTED or invalid verdicts since its last reset gets no more
	 * flows until user space resets it. CANARY_BUDGET_OFF disables it.
	 */
	__u64 breaker_budget[CANARY_MAX_SLOTS];
	/* Sampling (CANARY_F_SAMPLE): 1 in sample_every, per CPU (>= 1). */
	__u32 sample_every;
	/* Token bucket per CPU: samples per second, and bucket depth in samples (>= 1). */
	__u32 sample_rate;
	__u32 sample_burst;
	/* Bytes of each frame copied, 1..CANARY_SNAP_MAX. */
	__u32 sample_snap;
};

#define CANARY_BUDGET_OFF (~0ULL)

/*
 * One sampled packet, as the dispatcher writes it into the canary_samples
 * ring buffer: the frame bytes as they arrived (taken before any version
 * ran), then the verdict the live version returned. A record is the header
 * plus cap_len bytes of data (data[] is the upper bound, not what is sent).
 */
#define CANARY_SNAP_MAX 1514
#define CANARY_SAMPLE_RING_BYTES (4U << 20)

struct canary_sample {
	__u64 ts_ns;		/* bpf_ktime_get_ns() when the packet arrived */
	__u32 frame_len;	/* the frame's length (linear part) */
	__u32 cap_len;		/* bytes in data[]: min(frame_len, sample_snap) */
	__u32 ifindex;		/* ingress ifindex */
	__u32 rx_queue;		/* rx queue index */
	__u32 slot;		/* the slot that handled it (0: stable) */
	__u32 verdict;		/* what that version returned (raw XDP action) */
	__u32 cls;		/* enum canary_class */
	__u32 cpu;
	__u8 data[CANARY_SNAP_MAX];
};

#define CANARY_SAMPLE_HDR_LEN ((__u32)__builtin_offsetof(struct canary_sample, data))

/*
 * Per-CPU sampler state and its counters (add only, except the three
 * state words).
 */
struct canary_sample_state {
	__u64 skip;		/* packets left before the next 1-in-N pick */
	__u64 tokens;		/* token bucket, in nano-samples */
	__u64 last_ns;		/* last refill */
	__u64 picked;		/* packets picked by 1 in N */
	__u64 limited;		/* of those, refused by the rate limit */
	__u64 lost;		/* of those, lost: ring buffer full */
	__u64 sent;		/* of those, written to the ring buffer */
	__u64 pad;
};

/* Circuit-breaker state of one slot; shared by all CPUs (atomic adds). */
struct canary_breaker {
	__u64 bad;		/* aborted + invalid verdicts since reset */
	__u64 tripped_ns;	/* bpf_ktime_get_ns() of the trip, 0 if not tripped */
	__u64 trips;		/* trips since the dispatcher was loaded */
	__u32 tripped;		/* 1: flows of this slot go to stable */
	__u32 pad;
};

/*
 * Pin rules: source or destination prefix -> slot, in LPM tries swapped
 * whole. Each pin map (canary_pin4, canary_pin6) holds two tries: index
 * CANARY_PIN_SRC matched against the source address, CANARY_PIN_DST against
 * the destination. A packet whose source matches a rule goes where that
 * rule says; only when none does is its destination looked up.
 */
#define CANARY_PIN_SRC 0
#define CANARY_PIN_DST 1
#define CANARY_PIN_DIRS 2

struct canary_pin_key_v4 {
	__u32 prefixlen;
	__u32 addr;		/* network byte order */
};

struct canary_pin_key_v6 {
	__u32 prefixlen;
	__u32 addr[4];		/* network byte order */
};

struct canary_pin_value {
	__u32 slot;
};

#define CANARY_PIN_MAX 16384	/* entries of each inner trie */

/* Map names, as pinned under a dispatcher's pin directory. */
#define CANARY_MAP_PROGS "canary_progs"
#define CANARY_MAP_COUNTERS "canary_counters"
#define CANARY_MAP_CFG "canary_cfg"
#define CANARY_MAP_BREAKER "canary_breaker"
#define CANARY_MAP_PIN4 "canary_pin4"
#define CANARY_MAP_PIN6 "canary_pin6"
#define CANARY_MAP_STRATA "canary_strata"
#define CANARY_MAP_MODE "canary_mode"
#define CANARY_MAP_SAMPLES "canary_samples"
#define CANARY_MAP_SAMPLE_STATE "canary_sample_state"
#define CANARY_PROG_DISPATCH "canary_dispatch"

/*
 * Flow hash, shared so user space can predict a flow's bucket. A multilinear
 * hash (independent 64-bit multiplies that the CPU runs in parallel) followed
 * by one multiply-xorshift finaliser: a short dependency chain, because on the
 * packet path a chain of multiplies costs more than everything else the
 * dispatcher does. Fixed length, no loops.
 */
#define CANARY_K1 0x9e3779b97f4a7c15ULL
#define CANARY_K2 0xc2b2ae3d27d4eb4fULL
#define CANARY_K3 0x165667b19e3779f9ULL
#define CANARY_K4 0x27d4eb2f165667c5ULL
#define CANARY_K5 0xff51afd7ed558ccdULL
#define CANARY_KF 0xd6e8feb86659fd93ULL

static inline __u32 canary__finish(__u64 h)
{
	h ^= h >> 32;
	h *= CANARY_KF;
	h ^= h >> 29;
	return (__u32)(h >> 32);
}

static inline __u64 canary__seed64(__u32 seed)
{
	return (__u64)seed << 32 | (seed ^ 0x5bd1e995U);
}

/* ports: (sport << 16) | dport in host order; addresses as on the wire. */
static inline __u32 canary_hash_v4(__u32 saddr, __u32 daddr, __u32 ports, __u32 proto,
				   __u32 seed)
{
	__u64 sd = canary__seed64(seed);
	__u64 a = ((__u64)saddr << 32 | daddr) ^ sd;
	__u64 b = ((__u64)ports << 8 | proto) ^ sd;

	return canary__finish(a * CANARY_K1 + b * CANARY_K2);
}

static inline __u32 canary_hash_v6(const __u32 *saddr, const __u32 *daddr, __u32 ports,
				   __u32 proto, __u32 seed)
{
	__u64 sd = canary__seed64(seed);
	__u64 s0 = ((__u64)saddr[0] << 32 | saddr[1]) ^ sd;
	__u64 s1 = ((__u64)saddr[2] << 32 | saddr[3]) ^ sd;
	__u64 d0 = ((__u64)daddr[0] << 32 | daddr[1]) ^ sd;
	__u64 d1 = ((__u64)daddr[2] << 32 | daddr[3]) ^ sd;
	__u64 b = ((__u64)ports << 8 | proto) ^ sd;

	return canary__finish(s0 * CANARY_K1 + s1 * CANARY_K3 + d0 * CANARY_K4 + d1 * CANARY_K5 +
			      b * CANARY_K2);
}

/* Scale a 32-bit hash to a bucket in [0, CANARY_BP_MAX) without a division. */
static inline __u32 canary_bucket(__u32 hash)
{
	return (__u32)(((__u64)hash * CANARY_BP_MAX) >> 32);
}

#endif /* CANARY_ABI_H */
