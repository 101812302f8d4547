/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A second, independent traffic simulator for the judge (issue 11: "the
 * engine will also be judged on held-out traffic from an independent
 * simulator with other parameters"). It drives rollout/engine.c the way
 * canaryd does (1 s reads, plan 1,5,25,50,100, 60 s steps, max 1 h,
 * min_packets 10,000, on_timeout pause, a new hash seed per rollout), from a
 * different model than tests/lib/flowsim.c (docs/SIM2.md):
 *
 * - sessions that arrive (Poisson, or in heavy-tailed clusters), each a few
 *   flows from one source host to one service, with lifetimes (exponential
 *   or Pareto) and rates that change over the flow's life (constant, on/off,
 *   TCP slow start; a TCP flow the serving program black-holes backs off
 *   and reconnects from a new port);
 * - real 5-tuples: IPv4 sources in 198.18.0.0/16, services in 198.19.0.0/16,
 *   IPv6 in 2001:db8::/32, TCP, UDP and ICMP echo, hashed with the
 *   dispatcher's own canary_hash_v4/v6 and canary_stratum_of (ports and
 *   protocol as canary__parse_l4 reads them);
 * - a program with a firewall rule table (deny source prefixes, deny
 *   destination ports), a per-source rate limiter (state shared by both
 *   versions), a SYN-flood filter, per-packet random drops and rare aborts;
 *   the candidate is that program or a mutation of it (the harm);
 * - cost per packet by verdict (drops cheap, passes dearer), sampled one
 *   packet in 128 as the dispatcher does, with a cold-cache factor for the
 *   candidate at small shares.
 *
 * Deterministic for a given seed. Counts per stratum are Poisson draws of
 * the summed per-flow rates, kept up to date at each flow's events (arrival,
 * end, rate change, back-off, the source's limiter, a share change).
 */
#ifndef CANARY_FLOWSIM2_H
#define CANARY_FLOWSIM2_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "engine.h"

enum sim2_life {
	SIM2_EXP,		/* exponential lifetimes */
	SIM2_PARETO,		/* Pareto lifetimes, shape life_alpha */
};

enum sim2_harm {
	SIM2_NONE,
	SIM2_BLACKHOLE,		/* drops every packet of one source /24 */
	SIM2_LEAKY,		/* passes half of what stable drops */
	SIM2_DROP_MULT,		/* drops harm_mult times stable's drop rate (per packet) */
	SIM2_ABORTS,		/* aborts harm_mult of the packets it would pass */
	SIM2_COST,		/* costs harm_mult times as much */
	SIM2_LIMIT_HALF,	/* the rate limiter's per-source limit halved */
	SIM2_DROP_PORT,		/* a rule that drops UDP port 53 (DNS) */
};

/* A family: ranges from which each rollout draws its parameters. */
struct sim2_family {
	const char *name;
	const char *what;		/* one line for the tables */
	double pps_lo, pps_hi;		/* mean total packets per second, log-uniform */
	double sess_lo, sess_hi;	/* session arrivals per second, log-uniform */
	double per_sess;		/* mean flows per session (geometric) */
	bool clustered;			/* sessions arrive in Pareto-sized clusters */
	enum sim2_life life;
	double life_lo, life_hi;	/* mean lifetime, s (Pareto: x_min * a / (a - 1)) */
	double life_alpha;		/* Pareto shape */
	double rate_sigma;		/* log-normal sigma of a flow's rate */
	double onoff;			/* fraction of flows that are on/off */
	double v6;			/* fraction of sources that are IPv6 */
	double udp, icmp;		/* fractions of sessions; the rest TCP */
	double dns;			/* fraction of UDP sessions that are DNS (port 53) */
	double hosts_lo, hosts_hi;	/* source hosts, log-uniform */
	double host_alpha;		/* host activity Pareto shape (heavy hitters) */
	double deny_frac;		/* share of host activity in denied prefixes */
	double deny_port_frac;		/* share of sessions to denied ports */
	double hostile_pps;		/* a denied flow's rate (its life: at most ~5 s) */
	double limit_frac;		/* the rate limiter's per-source limit, x the mean host */
	double elephants;		/* long-lived flows carrying this share of packets */
	double pkt_drop_lo, pkt_drop_hi;	/* per-packet random drops, both versions */
	double abort_rate;		/* per-packet aborts, both versions */
	double flood_frac;		/* SYN flood waves, share of packets when on */
	bool flood_first_step;		/* the flood only during the first step */
	double scan_frac;		/* port-scan bursts, share of packets when on */
	double diurnal_amp;		/* arrivals x (1 + amp sin(2 pi t / period)) */
	double shift;			/* mix change mid-rollout: denied/UDP share x (1 + shift) */
	bool host_move;			/* the busiest host moves to another /24 mid-rollout */
	double cold_lo, cold_hi;	/* candidate cost factor at small shares, same program */
	double bh_lo, bh_hi;		/* packet share of the black-holed /24 */
	enum sim2_harm harm;
	double harm_mult;
	bool no_promotion;		/* churn-dominated: only false rollbacks bounded */
};

struct sim2_result {
	int phase;			/* enum rollout_phase at the end */
	bool paused;
	__u32 step;
	__u64 secs;
	__u64 cand_packets;		/* hash-split, whole rollout */
	__u64 harmed_packets;		/* packets whose verdict the harm changed */
	double pps;			/* mean packets per second, measured */
	double flows;			/* flows alive at the end of the warm-up */
	double drop_rate;		/* stable's drop rate during the warm-up */
	char reason[ROLLOUT_REASON_LEN];
	char evidence[512];		/* the deciding test's evidence line */
};

/* One rollout of FAMILY with SEED (hosts, flows, hash seed, harm: all from it). */
void sim2_run(const struct sim2_family *fam, uint64_t seed, struct sim2_result *res);

#endif
