/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A flow-level traffic simulator that drives rollout/engine.c the way
 * canaryd does: 1 s reads, the default plan and canaryd's defaults, the
 * dispatcher's own hash and bucket functions with a new seed per rollout,
 * flows that keep their hash for their whole life, Poisson packets per flow
 * per interval, verdicts per flow (attack flows dropped by both versions)
 * and per packet (random drops), per-stratum counts as the dispatcher keeps
 * them, and cost histograms. Deterministic for a given seed.
 *
 * Speed: a stratum's packets of one class are a sum of its flows' Poisson
 * counts, so they are drawn as one Poisson of the summed rates; a flow's
 * stratum only changes when it ends (churn).
 */
#ifndef CANARY_FLOWSIM_H
#define CANARY_FLOWSIM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "engine.h"

enum flowsim_sizes {
	FLOWSIM_ZIPF,		/* rank r gets r^-s */
	FLOWSIM_LOGNORMAL,
};

enum flowsim_harm {
	FLOWSIM_NONE,
	FLOWSIM_BLACKHOLE,	/* the candidate drops every packet of a /24 */
	FLOWSIM_LEAKY,		/* passes half of what stable drops */
	FLOWSIM_DROP_MULT,	/* drop rate harm_mult times stable's */
	FLOWSIM_ABORTS,		/* aborts harm_mult of its packets */
	FLOWSIM_COST,		/* costs harm_mult times as much */
};

/* A family: ranges from which each rollout draws its parameters. */
struct flowsim_family {
	const char *name;
	double flows_lo, flows_hi;	/* log-uniform */
	double pps_lo, pps_hi;		/* log-uniform, both versions */
	enum flowsim_sizes sizes;
	double zipf_s;
	double ln_sigma_lo, ln_sigma_hi;
	double attack_pkt_frac;		/* attack flows picked until this packet share, or */
	double attack_flow_frac;	/* this fraction of the flows */
	double elephant_lo, elephant_hi;	/* one attack flow with this packet share; 0 none */
	double flood_frac;		/* random-source flood, new flows each interval */
	bool flood_first_step;		/* only during the first step (else on/off) */
	double burst_frac;		/* new attack flows with this packet share, mid-step */
	double churn_lo, churn_hi;	/* fraction of flows replaced per second */
	double diurnal_amp;		/* rate * (1 + amp sin(2 pi t / period)) */
	double pkt_drop_lo, pkt_drop_hi;	/* per-packet random drop, both versions */
	double cold_lo, cold_hi;	/* candidate cost factor at small shares, equal program */
	double bh_lo, bh_hi;		/* packet share of the /24 */
	enum flowsim_harm harm;
	double harm_mult;
	bool no_promotion;		/* a known limit: promotions are reported, not bounded */
};

/* What one rollout did. */
struct flowsim_result {
	int phase;			/* enum rollout_phase at the end */
	bool paused;			/* stopped because the engine paused */
	bool by_judge;			/* rolled back by a judge verdict */
	__u32 step;			/* plan step at the end */
	__u64 secs;
	__u64 cand_packets;		/* hash-split, whole rollout */
	__u64 harmed_packets;		/* packets the harm changed */
	double pps, flows;
	double drop_rate;		/* stable's drop rate at the start (flows and per packet) */
	char reason[ROLLOUT_REASON_LEN];
};

/* One rollout of FAMILY with SEED (flows, hash seed, rates, harm: all from it). */
void flowsim_run(const struct flowsim_family *fam, uint64_t seed, struct flowsim_result *res);

#endif
