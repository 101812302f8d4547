// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canary_demo: a datapath-level rollout on one interface, for the demo.
 *
 *   canary_demo --dev DEV --stable OBJ --good OBJ --bad OBJ [--step-ms MS]
 *               [--budget N] [--mode native|skb]
 *
 * Attaches the dispatcher with STABLE in slot 0, then rolls out GOOD through
 * shares 1, 5, 25, 50, 100 % and promotes it (slot 0 rewritten, share 0,
 * slot 1 emptied), then rolls out BAD the same way. The kernel-side circuit
 * breaker (BUDGET aborted or invalid verdicts) stops BAD inside the
 * datapath; the demo then rolls it back in the DESIGN.md order (share 0
 * first, then the slot emptied). Every tick prints per-version rates from
 * counter deltas. The statistical judge belongs to canaryd; this tool only
 * drives the datapath library.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "dp.h"
#include "log.h"

static const __u32 steps_bp[] = { 100, 500, 2500, 5000, 10000 };
#define NSTEPS (sizeof(steps_bp) / sizeof(steps_bp[0]))
#define TICK_MS 500

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct totals {
	__u64 pkts, verdict[CANARY_V_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sum a row over every class. */
static struct totals row_totals(struct canary_counters *c, __u32 row)
{
	struct totals t = {};
	__u32 cls, v;

	for (cls = 0; cls < CANARY_CLASS_MAX; cls++) {
		const struct canary_counters *r = canary_counters__at(c, row, cls);

		t.pkts += r->packets;
		for (v = 0; v < CANARY_V_MAX; v++)
			t.verdict[v] += r->verdict[v];
	}
	return t;
}

static void print_rates(const char *who, const struct totals *now, const struct totals *then,
			double dt)
{
	__u64 n = now->pkts - then->pkts;
	double pct = n ? 100.0 / n : 0;

	printf(" | %s %7.0f pps pass %5.1f%% drop %5.1f%% abort %5.2f%%", who, n / dt,
	       (now->verdict[CANARY_V_PASS] - then->verdict[CANARY_V_PASS]) * pct,
	       (now->verdict[CANARY_V_DROP] - then->verdict[CANARY_V_DROP]) * pct,
	       (now->verdict[CANARY_V_ABORTED] - then->verdict[CANARY_V_ABORTED]) * pct);
}

struct outcome {
	const char *decision;
	double seconds;
	__u64 cand_pkts, harmed;
	struct canary_breaker brk;
};

static int rollout(struct canary_dp *dp, const char *name, int fd, int step_ms, __u64 budget,
		   struct outcome *out)
{
	static struct canary_counters c[CANARY_COUNTERS_ENTRIES];
	struct totals c0, s_prev, c_prev, s_now, c_now;
	double t_start = now_s(), t_prev;
	size_t k;
	int err, tick;

	memset(out, 0, sizeof(*out));
	/* Start: verify (done by the loader) -> slot 1 -> breaker armed -> weight. */
	err = canary_dp__set_slot(dp, 1, fd);
	if (!err)
		err = canary_dp__reset_breaker(dp, 1);
	if (!err)
		err = canary_dp__set_breaker_budget(dp, 1, budget);
	if (!err)
		err = canary_dp__read_counters(dp, c);
	if (err)
		return err;
	s_prev = row_totals(c, 0);
	c0 = c_prev = row_totals(c, 1);
	t_prev = t_start;

	printf("\n== rollout of %s: steps 1%% 5%% 25%% 50%% 100%%, %d ms each, breaker budget %llu\n",
	       name, step_ms, (unsigned long long)budget);
	for (k = 0; k < NSTEPS && !stop; k++) {
		err = canary_dp__set_share(dp, 1, steps_bp[k]);
		if (err)
			return err;
		for (tick = 0; tick < step_ms / TICK_MS && !stop; tick++) {
			char bar[21];
			double t;
			int i, fill = (int)(20 * (tick + 1) / (step_ms / TICK_MS));

			usleep(TICK_MS * 1000);
			err = canary_dp__read_counters(dp, c);
			if (!err)
				err = canary_dp__read_breaker(dp, 1, &out->brk);
			if (err)
				return err;
			t = now_s();
			s_now = row_totals(c, 0);
			c_now = row_totals(c, 1);
			for (i = 0; i < 20; i++)
				bar[i] = i < fill ? '#' : '.';
			bar[20] = '\0';
			printf("step %zu/%zu %6.2f%% [%s]", k + 1, NSTEPS, steps_bp[k] / 100.0, bar);
			print_rates("stable", &s_now, &s_prev, t - t_prev);
			print_rates("candidate", &c_now, &c_prev, t - t_prev);
			printf("\n");
			fflush(stdout);
			s_prev = s_now;
			c_prev = c_now;
			t_prev = t;
			if (out->brk.tripped)
				goto rollback;
		}
	}
	if (stop)
		goto rollback;

	/* Promote: candidate into slot 0 (one atomic update) -> share 0 -> clear slot 1. */
	err = canary_dp__set_slot(dp, 0, fd);
	if (!err)
		err = canary_dp__set_share(dp, 1, 0);
	if (!err)
		err = canary_dp__clear_slot(dp, 1);
	out->decision = "promoted";
	goto done;

rollback:
	/* Roll back: share 0 first, then empty slot 1; stragglers fall back to stable. */
	err = canary_dp__set_share(dp, 1, 0);
	if (!err)
		err = canary_dp__clear_slot(dp, 1);
	out->decision = stop ? "aborted by operator" : "rolled back (kernel circuit breaker)";
done:
	/* bpf_ktime_get_ns() and CLOCK_MONOTONIC share a time base. */
	out->seconds = (out->brk.tripped ? out->brk.tripped_ns / 1e9 : now_s()) - t_start;
	canary_dp__read_counters(dp, c);
	c_now = row_totals(c, 1);
	out->cand_pkts = c_now.pkts - c0.pkts;
	out->harmed = c_now.verdict[CANARY_V_ABORTED] - c0.verdict[CANARY_V_ABORTED] +
		      c_now.verdict[CANARY_V_INVALID] - c0.verdict[CANARY_V_INVALID];
	printf("== %s: %s after %.1f s; candidate handled %llu packets, %llu aborted/invalid\n",
	       name, out->decision, out->seconds, (unsigned long long)out->cand_pkts,
	       (unsigned long long)out->harmed);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: canary_demo --dev DEV --stable OBJ --good OBJ --bad OBJ "
		   "[--step-ms MS] [--budget N] [--mode native|skb] [-v]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },  { "stable", required_argument, NULL, 's' },
		{ "good", required_argument, NULL, 'g' }, { "bad", required_argument, NULL, 'b' },
		{ "step-ms", required_argument, NULL, 't' },
		{ "budget", required_argument, NULL, 'B' },
		{ "mode", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dev = NULL, *stable = NULL, *good = NULL, *bad = NULL;
	struct bpf_object *o_stable = NULL, *o_good = NULL, *o_bad = NULL;
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct outcome r_good, r_bad;
	int fd_stable, fd_good, fd_bad, step_ms = 3000, opt, ifindex, err;
	__u64 budget = 50;
	struct canary_dp *dp;

	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 's': stable = optarg; break;
		case 'g': good = optarg; break;
		case 'b': bad = optarg; break;
		case 't': step_ms = atoi(optarg); break;
		case 'B': budget = strtoull(optarg, NULL, 10); break;
		case 'm':
			if (!strcmp(optarg, "skb"))
				mode = XDP_MODE_SKB;
			else if (strcmp(optarg, "native")) {
				fprintf(stderr, "canary_demo: --mode takes native or skb\n");
				return 1;
			}
			break;
		case 'v': canary_log_set_level(CANARY_LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!dev || !stable || !good || !bad || step_ms < TICK_MS) {
		usage(stderr);
		return 1;
	}
	canary_log_init_libs();
	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "canary_demo: interface %s not found in this network namespace\n", dev);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	fd_stable = canary_version__load(stable, NULL, &o_stable);
	fd_good = fd_stable < 0 ? fd_stable : canary_version__load(good, NULL, &o_good);
	fd_bad = fd_good < 0 ? fd_good : canary_version__load(bad, NULL, &o_bad);
	if (fd_bad < 0) {
		err = fd_bad;
		goto out_objs;
	}
	dp = canary_dp__open();
	if (!dp) {
		err = -errno;
		goto out_objs;
	}
	err = canary_dp__set_slot(dp, 0, fd_stable);
	if (!err)
		err = canary_dp__attach(dp, ifindex, mode);
	if (err)
		goto out_dp;
	printf("dispatcher attached to %s (%s), stable %s\n", dev,
	       mode == XDP_MODE_SKB ? "skb" : "native", stable);
	fflush(stdout);

	err = rollout(dp, good, fd_good, step_ms, budget, &r_good);
	if (!err && !stop)
		err = rollout(dp, bad, fd_bad, step_ms, budget, &r_bad);

	canary_dp__detach(dp);
	if (!err && !stop) {
		printf("\n== summary\n");
		printf("  %-40s %-38s %8s %12s %10s\n", "candidate", "decision", "seconds",
		       "cand. pkts", "harmed");
		printf("  %-40s %-38s %8.1f %12llu %10llu\n", good, r_good.decision,
		       r_good.seconds, (unsigned long long)r_good.cand_pkts,
		       (unsigned long long)r_good.harmed);
		printf("  %-40s %-38s %8.1f %12llu %10llu\n", bad, r_bad.decision, r_bad.seconds,
		       (unsigned long long)r_bad.cand_pkts, (unsigned long long)r_bad.harmed);
	}
out_dp:
	canary_dp__close(dp);
out_objs:
	bpf_object__close(o_bad);
	bpf_object__close(o_good);
	bpf_object__close(o_stable);
	if (err)
		fprintf(stderr, "canary_demo: failed: %s\n", strerror(-err));
	return err ? 1 : 0;
}
