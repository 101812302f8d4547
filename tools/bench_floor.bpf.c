// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference programs for build/bench_dispatch, the two floors the
 * dispatcher's cost is read against:
 *
 * bench_root: Katran's xdp_root shape, one tail call from the main program
 * into slot 0 of a ProgMap. It cannot see the verdict: the tail call never
 * returns.
 *
 * bench_floor: the least a dispatcher that counts verdicts can do: a
 * __noinline subprogram tail-calls slot 0 (the target's return value comes
 * back as the subprogram's), then one per-CPU counter is incremented by
 * verdict. The dispatcher's idle path is this plus one load and a branch.
 *
 * bench_call: the floor plus one more subprogram call and return (where
 * the kernel's return thunks make a return costly, this is most of the
 * floor).
 *
 * bench_drop: XDP_DROP and nothing else, the bare program every figure is
 * the difference to, and the version behind the dispatchers.
 *
 * bench_parse, bench_hash, bench_strata: the floor plus the split path's
 * stages one at a time (the dispatcher's parser; then its flow hash and
 * bucket; then a per-stratum count), for the stage-by-stage breakdown of
 * the split path's cost.
 */
#include "canary_abi.h"
#include "canary_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} floor_progs SEC(".maps");

struct floor_counts {
	__u64 verdict[8];
	__u64 sum;		/* keeps a stage's result alive */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_counts);
} floor_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CANARY_STRATA);
	__type(key, __u32);
	__type(value, struct canary_stratum);
} floor_strata SEC(".maps");

/* A configuration behind an array-of-maps, as the dispatcher's canary_cfg. */
struct floor_cfg_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct canary_config));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct floor_cfg_inner);
} floor_cfg SEC(".maps");

#define FLOOR_EMPTY 0x7fffffff

static __noinline int floor_slot0(struct xdp_md *ctx)
{
	int r = FLOOR_EMPTY;

	bpf_tail_call_static(ctx, &floor_progs, 0);
	/* Keeps clang from folding the fallback value into the caller. */
	asm volatile("" : "+r"(r));
	return r;
}

static __always_inline int floor_run(struct xdp_md *ctx, __u64 sum)
{
	struct floor_counts *c;
	__u32 zero = 0;
	int verdict = floor_slot0(ctx);

	if (verdict == FLOOR_EMPTY)
		verdict = XDP_PASS;
	c = bpf_map_lookup_elem(&floor_counts, &zero);
	if (c) {
		c->verdict[verdict & 7]++;
		c->sum += sum;
	}
	return verdict;
}

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	return floor_run(ctx, 0);
}

/* One more BPF-to-BPF call and return, the unit cost of a subprogram. */
static __noinline __u32 stage_call(struct xdp_md *ctx)
{
	__u32 r = ctx->ingress_ifindex;

	asm volatile("" : "+r"(r));
	return r;
}

SEC("xdp")
int bench_call(struct xdp_md *ctx)
{
	return floor_run(ctx, stage_call(ctx));
}

SEC("xdp")
int bench_parse(struct xdp_md *ctx)
{
	struct canary_flow fl;

	if (canary_parse(ctx, &fl) < 0)
		return floor_run(ctx, 0);
	return floor_run(ctx, fl.saddr[0] ^ fl.daddr[0] ^ fl.sport ^ fl.dport ^ fl.proto);
}

static __noinline __u32 stage_hash_v6(const struct canary_flow *fl)
{
	return canary_hash_v6(fl->saddr, fl->daddr, (__u32)fl->sport << 16 | fl->dport, fl->proto,
			      0x2545f491u);
}

static __always_inline __u32 stage_bucket(const struct canary_flow *fl)
{
	if (fl->is_v6)
		return canary_bucket(stage_hash_v6(fl));
	return canary_bucket(canary_hash_v4(fl->saddr[0], fl->daddr[0],
					    (__u32)fl->sport << 16 | fl->dport, fl->proto,
					    0x2545f491u));
}

SEC("xdp")
int bench_hash(struct xdp_md *ctx)
{
	struct canary_flow fl;

	if (canary_parse(ctx, &fl) < 0)
		return floor_run(ctx, 0);
	return floor_run(ctx, stage_bucket(&fl));
}

SEC("xdp")
int bench_strata(struct xdp_md *ctx)
{
	struct canary_stratum *st;
	struct canary_flow fl;
	__u32 b, stratum;
	int verdict;

	if (canary_parse(ctx, &fl) < 0)
		return floor_run(ctx, 0);
	b = stage_bucket(&fl);
	verdict = floor_run(ctx, b);
	stratum = (b * 52429) >> 19;
	st = bpf_map_lookup_elem(&floor_strata, &stratum);
	if (st)
		st->verdict[verdict & 3]++;
	return verdict;
}

SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bench_root(struct xdp_md *ctx)
{
	bpf_tail_call_static(ctx, &floor_progs, 0);
	return XDP_PASS;
}

/* bench_strata plus the configuration lookup and the candidate range compares. */
SEC("xdp")
int bench_config(struct xdp_md *ctx)
{
	struct canary_config *cfg = NULL;
	struct canary_stratum *st;
	struct canary_flow fl;
	__u32 b, stratum, zero = 0, slot = 0;
	void *inner;
	int verdict;

	inner = bpf_map_lookup_elem(&floor_cfg, &zero);
	if (inner)
		cfg = bpf_map_lookup_elem(inner, &zero);
	if (!cfg || canary_parse(ctx, &fl) < 0)
		return floor_run(ctx, 0);
	b = fl.is_v6 ? canary_bucket(stage_hash_v6(&fl))
		     : canary_bucket(canary_hash_v4(fl.saddr[0], fl.daddr[0],
						    (__u32)fl.sport << 16 | fl.dport, fl.proto,
						    cfg->seed));
	if (b >= cfg->range[1].lo && b < cfg->range[1].hi)
		slot = 1;
	else if (b >= cfg->range[2].lo && b < cfg->range[2].hi)
		slot = 2;
	else if (b >= cfg->range[3].lo && b < cfg->range[3].hi)
		slot = 3;
	verdict = floor_run(ctx, b + slot);
	stratum = (b * 52429) >> 19;
	st = bpf_map_lookup_elem(&floor_strata, &stratum);
	if (st)
		st->verdict[verdict & 3]++;
	return verdict;
}
