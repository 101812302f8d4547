// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The canary dispatcher: classifies every packet into a flow, sends each flow
 * to the stable version (slot 0) or a candidate (slots 1..3) by tail call
 * through a ProgMap, and counts every version's verdicts.
 */
#include "canary_abi.h"
#include "canary_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The ProgMap: one program version per slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, CANARY_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} canary_progs SEC(".maps");

/* Per-CPU counters per (row, class); row CANARY_ROW_NONE = handled by no version. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CANARY_COUNTERS_ENTRIES);
	__type(key, __u32);
	__type(value, struct canary_counters);
} canary_counters SEC(".maps");

/*
 * Inner map templates give sizes, not BTF types: clang 14 emits only forward
 * declarations for structs reached through a map-in-map template.
 */

/* The configuration, swapped whole: a one-entry array inside an array-of-maps. */
struct canary_cfg_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct canary_config));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct canary_cfg_inner);
} canary_cfg SEC(".maps");

/* Circuit-breaker state per slot, shared across CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CANARY_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct canary_breaker);
} canary_breaker SEC(".maps");

/* Pin rules: LPM tries replaced whole through array-of-maps (strategy #2). */
struct canary_pin4_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CANARY_PIN_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct canary_pin_key_v4));
	__uint(value_size, sizeof(struct canary_pin_value));
};

struct canary_pin6_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CANARY_PIN_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct canary_pin_key_v6));
	__uint(value_size, sizeof(struct canary_pin_value));
};

/* [CANARY_PIN_SRC]: source prefixes, [CANARY_PIN_DST]: destination prefixes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, CANARY_PIN_DIRS);
	__type(key, __u32);
	__array(values, struct canary_pin4_inner);
} canary_pin4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, CANARY_PIN_DIRS);
	__type(key, __u32);
	__array(values, struct canary_pin6_inner);
} canary_pin6 SEC(".maps");

/*
 * Per-CPU verdict counts per stratum of the hash space (canary_abi.h), for
 * the judge: every hash-split packet, whichever version served it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CANARY_STRATA);
	__type(key, __u32);
	__type(value, struct canary_stratum);
} canary_strata SEC(".maps");

/*
 * The split word, alone in .bss (user space pins and writes that map as
 * CANARY_MAP_MODE). A global is a direct load from the map value, no helper
 * call: the idle path costs one load and a branch on top of the tail call.
 * The configuration itself stays behind the array-of-maps swap; this word
 * only says whether there is anything to split. User space sets it after
 * the split configuration is in and clears it before that is removed, so a
 * packet that sees the word set finds a configuration it may use, and one
 * that sees it clear goes to stable, as every configuration agrees it may.
 */
struct canary_mode canary_mode;

/* Sampled packets with their live verdicts (CANARY_F_SAMPLE), for replay. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CANARY_SAMPLE_RING_BYTES);
} canary_samples SEC(".maps");

/* The per-CPU sampler: 1-in-N countdown, token bucket, counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct canary_sample_state);
} canary_sample_state SEC(".maps");

/* Per-CPU verdicts of pinned packets per (rule set, row): canary_abi.h "Rule sets". */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CANARY_RULESET_ENTRIES);
	__type(key, __u32);
	__type(value, struct canary_ruleset);
} canary_rulesets SEC(".maps");

/* Per-CPU scratch record: the frame is copied here before the version runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct canary_sample);
} canary_sample_buf SEC(".maps");

/* Returned by a run_slot subprogram when its tail call did not happen. */
#define SLOT_EMPTY 0x7fffffff

/*
 * Why a subprogram per slot: a tail call from the main program would never
 * return, so the dispatcher could not see the version's verdict. From inside a
 * __noinline subprogram the tail call replaces only the subprogram's frame:
 * the target's return value comes back as the subprogram's return value.
 * When the slot is empty, bpf_tail_call falls through and we return
 * SLOT_EMPTY; the empty asm hides that constant from clang, which would
 * otherwise fold it into the caller and drop the check of the real return.
 * The slot index is a constant so the JIT patches a direct jump.
 */
#define CANARY_RUN_SLOT(n)                                          \
	static __noinline int run_slot##n(struct xdp_md *ctx)       \
	{                                                           \
		int r = SLOT_EMPTY;                                 \
                                                                    \
		bpf_tail_call_static(ctx, &canary_progs, n);        \
		asm volatile("" : "+r"(r));                         \
		return r;                                           \
	}

CANARY_RUN_SLOT(0)
CANARY_RUN_SLOT(1)
CANARY_RUN_SLOT(2)
CANARY_RUN_SLOT(3)

static __always_inline int run_slot(struct xdp_md *ctx, __u32 slot)
{
	switch (slot) {
	case 1:
		return run_slot1(ctx);
	case 2:
		return run_slot2(ctx);
	case 3:
		return run_slot3(ctx);
	default:
		return run_slot0(ctx);
	}
}

static __always_inline __u32 cost_bucket(__u64 ns)
{
	__u32 b = 0;

	/* floor(log2(ns)), clamped to the histogram. */
	if (ns >= (1ULL << 16)) { ns >>= 16; b += 16; }
	if (ns >= (1ULL << 8)) { ns >>= 8; b += 8; }
	if (ns >= (1ULL << 4)) { ns >>= 4; b += 4; }
	if (ns >= (1ULL << 2)) { ns >>= 2; b += 2; }
	if (ns >= (1ULL << 1)) b += 1;
	return b < CANARY_COST_BUCKETS ? b : CANARY_COST_BUCKETS - 1;
}

static __always_inline __u32 flow_bucket_v6(const struct canary_flow *fl, __u32 flags, __u32 seed)
{
	__u16 sport = fl->sport, dport = fl->dport;
	const __u32 *sa = fl->saddr, *da = fl->daddr;

	if (flags & CANARY_F_SYMMETRIC) {
		int swap = 0, i;

#pragma unroll
		for (i = 0; i < 4; i++) {
			__u32 x = bpf_ntohl(sa[i]), y = bpf_ntohl(da[i]);

			if (x != y) {
				swap = x > y;
				break;
			}
			if (i == 3)
				swap = sport > dport;
		}
		if (swap) {
			__u16 tp = sport;

			sa = fl->daddr;
			da = fl->saddr;
			sport = dport;
			dport = tp;
		}
	}
	return canary_bucket(canary_hash_v6(sa, da, (__u32)sport << 16 | dport, fl->proto, seed));
}

static __always_inline __u32 flow_bucket(const struct canary_flow *fl, __u32 flags, __u32 seed)
{
	__u16 sport = fl->sport, dport = fl->dport;
	__u32 s = fl->saddr[0], d = fl->daddr[0];

	if (fl->is_v6)
		return flow_bucket_v6(fl, flags, seed);

	/* Symmetric: sort the endpoints so both directions hash alike. */
	if ((flags & CANARY_F_SYMMETRIC) && (s > d || (s == d && sport > dport))) {
		__u32 t = s;
		__u16 tp = sport;

		s = d;
		d = t;
		sport = dport;
		dport = tp;
	}
	return canary_bucket(canary_hash_v4(s, d, (__u32)sport << 16 | dport, fl->proto, seed));
}

#define PIN_SET_SHIFT 8
#define PIN_SLOT_MASK 0xff

/*
 * The rule's slot | its rule set << PIN_SET_SHIFT for a pin rule's match, or
 * -1 (one int: no pointer to the caller's stratum, which would leave the
 * registers). Only called when a rule set is installed.
 * Inlined: a subprogram call costs a return, and where the kernel mitigates
 * return-stack attacks with a return thunk (SRSO "Safe RET") one return costs
 * as much as all the rest of the split path. The keys are copies, so the
 * parsed flow's address never escapes and the flow stays in registers.
 */
static __always_inline int pin_lookup4(__u32 addr, __u32 dir)
{
	struct canary_pin_key_v4 k4 = { .prefixlen = 32, .addr = addr };
	struct canary_pin_value *v = NULL;
	void *trie;

	trie = bpf_map_lookup_elem(&canary_pin4, &dir);
	if (trie)
		v = bpf_map_lookup_elem(trie, &k4);
	if (!v || v->slot >= CANARY_MAX_SLOTS || v->set >= CANARY_MAX_RULESETS)
		return -1;
	return (int)(v->slot | v->set << PIN_SET_SHIFT);
}

static __always_inline int pin_lookup6(const struct canary_pin_key_v6 *k6, __u32 dir)
{
	struct canary_pin_value *v = NULL;
	void *trie;

	trie = bpf_map_lookup_elem(&canary_pin6, &dir);
	if (trie)
		v = bpf_map_lookup_elem(trie, k6);
	if (!v || v->slot >= CANARY_MAX_SLOTS || v->set >= CANARY_MAX_RULESETS)
		return -1;
	return (int)(v->slot | v->set << PIN_SET_SHIFT);
}

/* A source rule first; the destination only when no source rule matches. */
static __always_inline int pin_lookup(const struct canary_flow *fl, __u32 flags)
{
	int slot = -1;

	if (!fl->is_v6) {
		if (flags & CANARY_F_PIN_V4)
			slot = pin_lookup4(fl->saddr[0], CANARY_PIN_SRC);
		if (slot < 0 && (flags & CANARY_F_PIN_V4_DST))
			slot = pin_lookup4(fl->daddr[0], CANARY_PIN_DST);
		return slot;
	}
	if (flags & CANARY_F_PIN_V6) {
		struct canary_pin_key_v6 k6 = {
			.prefixlen = 128,
			.addr = { fl->saddr[0], fl->saddr[1], fl->saddr[2], fl->saddr[3] },
		};

		slot = pin_lookup6(&k6, CANARY_PIN_SRC);
	}
	if (slot < 0 && (flags & CANARY_F_PIN_V6_DST)) {
		struct canary_pin_key_v6 k6 = {
			.prefixlen = 128,
			.addr = { fl->daddr[0], fl->daddr[1], fl->daddr[2], fl->daddr[3] },
		};

		slot = pin_lookup6(&k6, CANARY_PIN_DST);
	}
	return slot;
}

static __always_inline struct canary_counters *counters(__u32 row, __u32 cls)
{
	__u32 key = row * CANARY_CLASS_MAX + cls;

	return bpf_map_lookup_elem(&canary_counters, &key);
}

/*
 * A pinned packet's verdict in its rule set's record on ROW. The rule set
 * rides in the stratum word, which pinned packets do not otherwise use:
 * stratum = CANARY_STRATA + set (split packets have stratum < CANARY_STRATA,
 * unparsed ones CANARY_STRATA), so the split path carries nothing new.
 */
static __always_inline void ruleset_count(__u32 stratum, __u32 row, __u64 vi)
{
	__u32 key = (stratum - CANARY_STRATA) * CANARY_ROWS + row;
	struct canary_ruleset *rs = bpf_map_lookup_elem(&canary_rulesets, &key);

	if (rs)
		rs->verdict[vi]++;
}

static __always_inline __u64 verdict_index(int verdict)
{
	__u64 vi = (__u32)verdict;

	/*
	 * Clamp in one 64-bit register the verifier can follow: clang otherwise
	 * compares a zero-extended copy and indexes with the original, which
	 * leaves the index unbounded for the verifier.
	 */
	asm volatile("" : "+r"(vi));
	if (vi > CANARY_V_INVALID)
		vi = CANARY_V_INVALID;
	return vi;
}

/* Fail-open/closed verdict when no stable version is installed. */
static __noinline int no_stable_verdict(void)
{
	struct canary_config *cfg = NULL;
	__u32 zero = 0;
	void *inner;

	inner = bpf_map_lookup_elem(&canary_cfg, &zero);
	if (inner)
		cfg = bpf_map_lookup_elem(inner, &zero);
	return cfg && (cfg->flags & CANARY_F_FAIL_CLOSED) ? XDP_DROP : XDP_PASS;
}

/*
 * Idle: no rollout runs, so there is nothing to classify. Stable handles
 * every packet; its verdict is counted on (stable, split): unclassified
 * traffic, all of it on the version that serves the hash split. No cost
 * sampling: that is for comparing versions, and only one runs.
 */
static __always_inline int dispatch_idle(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	struct canary_counters *rec;
	__u32 row = CANARY_SLOT_STABLE;
	int verdict;

	verdict = run_slot0(ctx);
	rec = counters(CANARY_SLOT_STABLE, CANARY_CLASS_SPLIT);
	if (verdict == SLOT_EMPTY) {
		if (rec)
			rec->fallback++;
		row = CANARY_ROW_NONE;
		verdict = no_stable_verdict();
		rec = counters(row, CANARY_CLASS_SPLIT);
	}
	if (!rec)
		return verdict;	/* unreachable: the key is in range */
	rec->packets++;
	rec->bytes += len;
	rec->verdict[verdict_index(verdict)]++;
	return verdict;
}

/*
 * The split path's rare ends, out of line so that the common path keeps few
 * values alive across the tail call (every value kept is a stack spill and
 * a reload): the slot it meant to run was empty (or failed), so stable
 * runs it, or nobody. want_rec had the packet counted already; the count
 * moves to the row that handled it. The tail call did not happen, so the
 * packet and ctx are as they were.
 */
static __noinline int split_fallback(struct xdp_md *ctx, struct canary_counters *want_rec,
				     __u32 info)
{
	__u32 slot = info & 0xff, cls = (info >> 8) & 0xff, stratum = info >> 16;
	__u64 len = ctx->data_end - ctx->data;
	struct canary_counters *rec;
	struct canary_stratum *st;
	__u32 row = CANARY_SLOT_STABLE;
	int verdict = SLOT_EMPTY;
	__u64 vi;

	want_rec->fallback++;
	want_rec->packets--;
	want_rec->bytes -= len;
	if (slot != CANARY_SLOT_STABLE) {
		verdict = run_slot0(ctx);
		if (verdict == SLOT_EMPTY) {
			rec = counters(CANARY_SLOT_STABLE, cls);
			if (rec)
				rec->fallback++;
		}
	}
	if (verdict == SLOT_EMPTY) {
		/* No stable version: fail open, or closed if configured. */
		row = CANARY_ROW_NONE;
		verdict = no_stable_verdict();
	}
	rec = counters(row, cls);
	if (!rec)
		return verdict;
	vi = verdict_index(verdict);
	rec->packets++;
	rec->bytes += len;
	rec->verdict[vi]++;
	if (stratum < CANARY_STRATA) {
		st = bpf_map_lookup_elem(&canary_strata, &stratum);
		if (st)
			st->verdict[vi]++;
	} else if (cls == CANARY_CLASS_PINNED) {
		ruleset_count(stratum, row, vi);
	}
	return verdict;
}

/* Kernel-side circuit breaker: guards traffic even with no daemon. */
static __noinline void breaker_count(struct canary_breaker *brk, __u32 slot)
{
	struct canary_config *cfg = NULL;
	__u32 zero = 0;
	__u64 bad = __sync_fetch_and_add(&brk->bad, 1) + 1;
	void *inner;

	inner = bpf_map_lookup_elem(&canary_cfg, &zero);
	if (inner)
		cfg = bpf_map_lookup_elem(inner, &zero);
	if (cfg && bad > cfg->breaker_budget[slot & (CANARY_MAX_SLOTS - 1)] && !brk->tripped) {
		brk->tripped = 1;
		brk->tripped_ns = bpf_ktime_get_ns();
		__sync_fetch_and_add(&brk->trips, 1);
	}
}

/* One packet in 2^n: the slot's run timed into the histogram. */
static __noinline int run_sampled(struct xdp_md *ctx, __u32 slot, struct canary_counters *rec)
{
	__u64 t0 = bpf_ktime_get_ns(), dt;
	int verdict = run_slot(ctx, slot);

	if (verdict == SLOT_EMPTY)
		return verdict;	/* not this slot's cost */
	dt = bpf_ktime_get_ns() - t0;
	rec->cost_samples++;
	rec->cost_ns += dt;
	rec->cost_hist[cost_bucket(dt)]++;
	return verdict;
}

#define NSEC_PER_SEC 1000000000ULL

/*
 * 1 in sample_every per CPU: inline, so a packet that is not picked pays an
 * (inlined) per-CPU lookup and a decrement, not a subprogram call.
 */
static __always_inline int sample_due(void)
{
	struct canary_sample_state *ss;
	__u32 zero = 0;

	ss = bpf_map_lookup_elem(&canary_sample_state, &zero);
	if (!ss)
		return 0;
	if (ss->skip > 1) {
		ss->skip--;
		return 0;
	}
	return 1;
}

/* A packet picked by 1 in N: the token bucket decides. */
static __always_inline int sample_pick(struct canary_sample_state *ss,
				       const struct canary_config *cfg)
{
	__u64 now, elapsed, cap, tokens;

	ss->skip = cfg->sample_every;
	ss->picked++;
	now = bpf_ktime_get_ns();
	elapsed = now - ss->last_ns;
	ss->last_ns = now;
	/* Clamped so that elapsed * rate (rate <= 10^6, lib/dispatcher.c) fits. */
	if (elapsed > 10 * NSEC_PER_SEC)
		elapsed = 10 * NSEC_PER_SEC;
	cap = (__u64)cfg->sample_burst * NSEC_PER_SEC;
	tokens = ss->tokens + elapsed * cfg->sample_rate;
	if (tokens > cap)
		tokens = cap;
	if (tokens < NSEC_PER_SEC) {
		ss->tokens = tokens;
		ss->limited++;
		return 0;
	}
	ss->tokens = tokens - NSEC_PER_SEC;
	return 1;
}

/*
 * Sampling on (CANARY_F_SAMPLE): the frame is copied as it arrived into the
 * per-CPU scratch record before the version runs, and the record goes into
 * the ring buffer with the verdict that version returned. Out of line, so
 * the split path with sampling off pays one flag test, and a packet that
 * 1 in N does not pick a lookup and a decrement.
 */
static __noinline int run_with_sample(struct xdp_md *ctx, __u32 info, struct canary_counters *rec,
				      const struct canary_config *cfg)
{
	__u32 zero = 0, slot = info & 0xff;
	struct canary_sample_state *ss;
	struct canary_sample *smp = NULL;
	__u64 cap, n;
	int verdict;

	ss = bpf_map_lookup_elem(&canary_sample_state, &zero);
	if (ss && sample_pick(ss, cfg))
		smp = bpf_map_lookup_elem(&canary_sample_buf, &zero);
	if (smp) {
		cap = ctx->data_end - ctx->data;
		smp->frame_len = cap;
		if (cap > cfg->sample_snap)
			cap = cfg->sample_snap;
		asm volatile("" : "+r"(cap));
		if (cap > CANARY_SNAP_MAX)
			cap = CANARY_SNAP_MAX;
		if (cap == 0 || bpf_xdp_load_bytes(ctx, 0, smp->data, cap) < 0) {
			ss->lost++;
			smp = NULL;
		} else {
			smp->cap_len = cap;
			smp->ts_ns = ss->last_ns;
			smp->ifindex = ctx->ingress_ifindex;
			smp->rx_queue = ctx->rx_queue_index;
			smp->cls = (info >> 8) & 0xff;
			smp->cpu = bpf_get_smp_processor_id();
		}
	}
	if ((cfg->flags & CANARY_F_COST) && !((rec->packets - 1) & cfg->cost_mask))
		verdict = run_sampled(ctx, slot, rec);
	else
		verdict = run_slot(ctx, slot);
	if (!smp)
		return verdict;
	if (verdict == SLOT_EMPTY) {
		ss->lost++;	/* not handled by this slot: split_fallback's case */
		return verdict;
	}
	smp->slot = slot;
	smp->verdict = (__u32)verdict;
	n = smp->cap_len;
	asm volatile("" : "+r"(n));
	if (n > CANARY_SNAP_MAX)
		n = CANARY_SNAP_MAX;
	/*
	 * Adaptive wakeup: only the first record after the reader caught up
	 * wakes it, so a reader that drains on a timer costs one wakeup per
	 * drain, not one per sample.
	 */
	if (bpf_ringbuf_output(&canary_samples, smp, CANARY_SAMPLE_HDR_LEN + n, 0))
		ss->lost++;
	else
		ss->sent++;
	return verdict;
}

/*
 * A rollout runs: pin rules, flow hash, per-stratum counts, cost samples.
 * The packet is counted on the row it is meant for before the tail call
 * (moved by split_fallback in the rare case that row does not handle it),
 * so that after the call only the verdict is left to count.
 */
static __always_inline int dispatch_split(struct xdp_md *ctx)
{
	struct canary_flow fl;
	struct canary_config *cfg = NULL;
	struct canary_breaker *brk = NULL;
	struct canary_counters *rec;
	__u32 zero = 0, cls, slot = CANARY_SLOT_STABLE, flags, stratum = CANARY_STRATA;
	struct canary_stratum *st;
	int verdict;
	__u64 vi;
	void *inner;

	inner = bpf_map_lookup_elem(&canary_cfg, &zero);
	if (inner)
		cfg = bpf_map_lookup_elem(inner, &zero);
	if (!cfg)
		return dispatch_idle(ctx);	/* unreachable: user space installs one first */
	flags = cfg->flags;

	if (canary_parse(ctx, &fl) < 0) {
		cls = CANARY_CLASS_UNPARSED;
	} else {
		int pinned = -1;

		cls = CANARY_CLASS_SPLIT;
		if (flags & CANARY_F_PINS)
			pinned = pin_lookup(&fl, flags);
		if (pinned >= 0) {
			cls = CANARY_CLASS_PINNED;
			slot = pinned & PIN_SLOT_MASK;
			stratum = CANARY_STRATA + (pinned >> PIN_SET_SHIFT);
		} else {
			/* Hashed even with no candidate range: the strata need it. */
			__u32 b = flow_bucket(&fl, flags, cfg->seed);

			/* b / CANARY_STRATUM_BP, exact for b < 43690, without a division. */
			stratum = (b * 52429) >> 19;
			if (b >= cfg->range[1].lo && b < cfg->range[1].hi)
				slot = 1;
			else if (b >= cfg->range[2].lo && b < cfg->range[2].hi)
				slot = 2;
			else if (b >= cfg->range[3].lo && b < cfg->range[3].hi)
				slot = 3;
		}
	}

	rec = counters(slot, cls);
	if (!rec)
		return XDP_PASS;	/* unreachable: the key is in range */
	if (slot != CANARY_SLOT_STABLE) {
		brk = bpf_map_lookup_elem(&canary_breaker, &slot);
		if (brk && brk->tripped) {
			rec->fallback++;
			rec->diverted++;
			slot = CANARY_SLOT_STABLE;
			rec = counters(slot, cls);
			if (!rec)
				return XDP_PASS;
			brk = NULL;
		}
	}
	rec->packets++;
	rec->bytes += ctx->data_end - ctx->data;

	if ((flags & CANARY_F_SAMPLE) && sample_due())
		verdict = run_with_sample(ctx, slot | cls << 8, rec, cfg);
	else if ((flags & CANARY_F_COST) && !((rec->packets - 1) & cfg->cost_mask))
		verdict = run_sampled(ctx, slot, rec);
	else
		verdict = run_slot(ctx, slot);
	if (verdict == SLOT_EMPTY)
		return split_fallback(ctx, rec, slot | cls << 8 | stratum << 16);

	vi = verdict_index(verdict);
	rec->verdict[vi]++;
	/* The verdict returned, in the flow's stratum. */
	if (stratum < CANARY_STRATA) {
		st = bpf_map_lookup_elem(&canary_strata, &stratum);
		if (st)
			st->verdict[vi]++;
	} else if (cls == CANARY_CLASS_PINNED) {
		ruleset_count(stratum, slot, vi);
	}
	if (brk && ((__u32)verdict == XDP_ABORTED || (__u32)verdict > XDP_REDIRECT))
		breaker_count(brk, slot);
	return verdict;
}

SEC("xdp")
int canary_dispatch(struct xdp_md *ctx)
{
	/*
	 * One aligned word, read once: the whole packet takes one path. Only
	 * 0 or CANARY_MODE_SPLIT is ever written, so any non-zero is split.
	 */
	if (!*(volatile __u32 *)&canary_mode.split)
		return dispatch_idle(ctx);
	return dispatch_split(ctx);
}
