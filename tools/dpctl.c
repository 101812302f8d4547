// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dpctl: run the dispatcher on one interface until SIGINT/SIGTERM, for
 * developers and live tests.
 *
 *   dpctl --dev DEV [--mode native|skb] --stable OBJ[:PROG]
 *         [--candidate OBJ[:PROG] --share BP [--swaps N]] [--bare] [-j] [-v]
 *   dpctl --adopt DIR [-j]
 *
 * Loads a fresh dispatcher, puts the stable version in slot 0 (and a
 * candidate in slot 1 with a share in basis points), attaches, prints "ready"
 * on stdout and waits. On SIGINT/SIGTERM it detaches and prints the counters
 * summed over CPUs per row (stable, candidate1..3, none) and class (split,
 * pinned, unparsed), as JSON with -j.
 *
 * --bare attaches the stable program alone through libxdp, no dispatcher, as
 * a baseline for benchmarks; it counts nothing and prints only how long it was
 * attached.
 *
 * --swaps N leaves slot 1 empty and, on each SIGUSR1, runs N rollout cycles
 * back to back, as fast as the datapath library goes, in the DESIGN.md
 * section 5 order: the version not in slot 0 goes into slot 1, gets the
 * share, then even cycles promote it (slot 0, share 0, clear slot 1) and odd
 * cycles roll it back (share 0, clear slot 1). The counters then carry a
 * "swaps" summary: cycles, ProgMap and config updates, how long they took and
 * how many packets the dispatcher handled meanwhile. "swapped CYCLES" on
 * stdout marks the end of each burst.
 *
 * --adopt DIR prints the counters of the dispatcher pinned under DIR (by
 * canaryd: pin_root/IFACE) and exits, touching nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <jansson.h>
#include <xdp/libxdp.h>

#include "canary_abi.h"
#include "dp.h"
#include "version.h"
#include "log.h"
#include "params.h"

struct opts {
	const char *dev;
	enum xdp_attach_mode mode;
	char *stable, *candidate;	/* OBJ[:PROG], split in place */
	const char *stable_prog, *candidate_prog;
	long share;			/* -1: not given */
	long swaps;			/* cycles per SIGUSR1; 0: none */
	const char *adopt;
	bool bare, json, verbose, help;
	const char *mode_arg, *share_arg, *swaps_arg;	/* as given, checked after */
};

struct swap_stats {
	__u64 cycles, promotions, rollbacks, progmap_updates, config_updates, packets;
	double seconds;
	int stable;			/* 0: --stable in slot 0 at the end, 1: --candidate */
};

static const struct canary_opt dpctl_opts[] = {
	CANARY_OPTION(struct opts, "dev", 0, "DEV", dev,
		      "interface to attach to (in the current network namespace)"),
	CANARY_OPTION(struct opts, "mode", 0, "MODE", mode_arg, "native (default) or skb"),
	CANARY_OPTION(struct opts, "stable", 0, "OBJ[:PROG]", stable,
		      "stable version, slot 0 (PROG may be left out when OBJ has\n"
		      "one XDP program)"),
	CANARY_OPTION(struct opts, "candidate", 0, "OBJ[:PROG]", candidate,
		      "candidate in slot 1, with --share"),
	CANARY_OPTION(struct opts, "share", 0, "BP", share_arg,
		      "the candidate's share of the flows, in basis points"),
	CANARY_OPTION(struct opts, "bare", 0, NULL, bare,
		      "attach the stable program alone, without the dispatcher"),
	CANARY_OPTION(struct opts, "swaps", 0, "N", swaps_arg,
		      "slot 1 starts empty; each SIGUSR1 runs N cycles of\n"
		      "fill slot 1, share, promote (even) or roll back (odd)"),
	CANARY_OPTION(struct opts, "adopt", 0, "DIR", adopt,
		      "print the counters of the dispatcher pinned under DIR"),
	CANARY_OPTION(struct opts, "json", 'j', NULL, json, "JSON output"),
	CANARY_OPTION(struct opts, "verbose", 'v', NULL, verbose, "libbpf's messages"),
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: dpctl --dev DEV [--mode native|skb] --stable OBJ[:PROG]\n"
	      "             [--candidate OBJ[:PROG] --share BP [--swaps N]] [--bare] [-j] [-v]\n"
	      "       dpctl --adopt DIR [-j]\n", f);
	canary_opts__print(f, dpctl_opts);
	fputs("Prints \"ready\" once attached; SIGINT or SIGTERM detaches and prints the\n"
	      "counters.\n", f);
}

/* "OBJ:PROG" -> OBJ and PROG (NULL when there is no ':' after the last '/'). */
static const char *split_spec(char *spec)
{
	char *colon = strrchr(spec, ':');

	if (!colon || strchr(colon, '/'))
		return NULL;
	*colon = '\0';
	return colon[1] ? colon + 1 : NULL;
}

/* A whole number from MIN to MAX, or -EINVAL after saying what was expected. */
static int parse_long(const char *opt, const char *s, long min, long max, const char *what,
		      long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || end == s || *end || *out < min || *out > max) {
		pr_warn("dpctl: --%s '%s': expected %s, %ld to %ld\n", opt, s, what, min, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int err;

	*o = (struct opts){ .mode = XDP_MODE_NATIVE, .share = -1 };
	err = canary_opts__parse_tool(argc, argv, "dpctl", dpctl_opts, o, &o->help, &o->verbose,
				      usage);
	if (err > 0)
		exit(0);
	if (err)
		return err;
	if (o->mode_arg && !strcmp(o->mode_arg, "skb")) {
		o->mode = XDP_MODE_SKB;
	} else if (o->mode_arg && strcmp(o->mode_arg, "native")) {
		pr_warn("dpctl: --mode '%s': use native or skb\n", o->mode_arg);
		return -EINVAL;
	}
	if (o->share_arg &&
	    parse_long("share", o->share_arg, 0, CANARY_BP_MAX, "basis points", &o->share))
		return -EINVAL;
	if (o->swaps_arg && parse_long("swaps", o->swaps_arg, 1, 1000000, "cycles", &o->swaps))
		return -EINVAL;
	if (o->adopt) {
		if (o->dev || o->stable || o->candidate || o->bare || o->swaps) {
			pr_warn("dpctl: --adopt DIR only reads counters; it takes no other option "
				"but -j\n");
			return -EINVAL;
		}
		return 0;
	}
	if (!o->dev || !o->stable) {
		pr_warn("dpctl: --dev DEV and --stable OBJ[:PROG] are required (see --help)\n");
		return -EINVAL;
	}
	if (!o->candidate != (o->share < 0)) {
		pr_warn("dpctl: --candidate and --share go together\n");
		return -EINVAL;
	}
	if (o->swaps && !o->candidate) {
		pr_warn("dpctl: --swaps needs --candidate OBJ[:PROG] --share BP\n");
		return -EINVAL;
	}
	if (o->bare && o->candidate) {
		pr_warn("dpctl: --bare runs the stable program alone; drop --candidate\n");
		return -EINVAL;
	}
	o->stable_prog = split_spec(o->stable);
	if (o->candidate)
		o->candidate_prog = split_spec(o->candidate);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int wait_signal(const sigset_t *sigs)
{
	int sig;

	while (sigwait(sigs, &sig))
		;
	return sig;
}

static int ready_and_wait(const sigset_t *sigs)
{
	printf("ready\n");
	fflush(stdout);
	return wait_signal(sigs);
}

static json_t *counters_json(const struct canary_counters *c)
{
	json_t *o = json_object(), *v = json_object();
	int i;

	json_object_set_new(o, "packets", json_integer(c->packets));
	json_object_set_new(o, "bytes", json_integer(c->bytes));
	for (i = 0; i < CANARY_V_MAX; i++)
		json_object_set_new(v, canary_verdict_name(i), json_integer(c->verdict[i]));
	json_object_set_new(o, "verdict", v);
	json_object_set_new(o, "fallback", json_integer(c->fallback));
	json_object_set_new(o, "diverted", json_integer(c->diverted));
	return o;
}

static json_t *swaps_json(const struct opts *o, const struct swap_stats *sw)
{
	json_t *j = json_object();

	json_object_set_new(j, "cycles", json_integer(sw->cycles));
	json_object_set_new(j, "promotions", json_integer(sw->promotions));
	json_object_set_new(j, "rollbacks", json_integer(sw->rollbacks));
	json_object_set_new(j, "progmap_updates", json_integer(sw->progmap_updates));
	json_object_set_new(j, "config_updates", json_integer(sw->config_updates));
	json_object_set_new(j, "seconds", json_real(sw->seconds));
	json_object_set_new(j, "packets_during", json_integer(sw->packets));
	json_object_set_new(j, "stable_at_end", json_string(sw->stable ? o->candidate : o->stable));
	return j;
}

static void print_counters(const struct opts *o, struct canary_counters *all, double secs,
			   const struct swap_stats *sw)
{
	__u32 row, cls;
	int i;

	if (o->json) {
		json_t *root = json_object(), *rows = json_object();

		if (o->adopt) {
			json_object_set_new(root, "pin_dir", json_string(o->adopt));
		} else {
			json_object_set_new(root, "dev", json_string(o->dev));
			json_object_set_new(root, "mode",
					    json_string(o->mode == XDP_MODE_SKB ? "skb" : "native"));
			json_object_set_new(root, "seconds", json_real(secs));
		}
		if (sw)
			json_object_set_new(root, "swaps", swaps_json(o, sw));
		for (row = 0; row < CANARY_ROWS; row++) {
			json_t *r = json_object();

			for (cls = 0; cls < CANARY_CLASS_MAX; cls++)
				json_object_set_new(r, canary_class_name(cls),
						    counters_json(canary_counters__at(all, row, cls)));
			json_object_set_new(rows, canary_row_name(row), r);
		}
		json_object_set_new(root, "rows", rows);
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(root);
		return;
	}
	if (sw)
		printf("swaps: %llu cycles (%llu promotions, %llu rollbacks), %llu ProgMap and %llu "
		       "config updates in %.3f s, %llu packets meanwhile\n",
		       (unsigned long long)sw->cycles, (unsigned long long)sw->promotions,
		       (unsigned long long)sw->rollbacks, (unsigned long long)sw->progmap_updates,
		       (unsigned long long)sw->config_updates, sw->seconds,
		       (unsigned long long)sw->packets);
	if (!o->adopt)
		printf("attached %.3f s\n", secs);
	printf("%-10s %-8s %12s %14s", "row", "class", "packets", "bytes");
	for (i = 0; i < CANARY_V_MAX; i++)
		printf(" %10s", canary_verdict_name(i));
	printf(" %10s %10s\n", "fallback", "diverted");
	for (row = 0; row < CANARY_ROWS; row++) {
		for (cls = 0; cls < CANARY_CLASS_MAX; cls++) {
			const struct canary_counters *c = canary_counters__at(all, row, cls);

			printf("%-10s %-8s %12llu %14llu", canary_row_name(row), canary_class_name(cls),
			       (unsigned long long)c->packets, (unsigned long long)c->bytes);
			for (i = 0; i < CANARY_V_MAX; i++)
				printf(" %10llu", (unsigned long long)c->verdict[i]);
			printf(" %10llu %10llu\n", (unsigned long long)c->fallback,
			       (unsigned long long)c->diverted);
		}
	}
}

/* The baseline: the stable program attached directly, no dispatcher, no counters. */
static int run_bare(const struct opts *o, int ifindex, int prog_fd, const sigset_t *sigs)
{
	struct xdp_program *xp;
	double t0, secs;
	int err;

	xp = xdp_program__from_fd(prog_fd);
	err = libxdp_get_error(xp);
	if (err) {
		pr_warn("dpctl: device %s: cannot wrap %s for libxdp: %s\n", o->dev, o->stable,
			strerror(-err));
		return err;
	}
	err = xdp_program__attach(xp, ifindex, o->mode, 0);
	if (err) {
		pr_warn("dpctl: device %s: cannot attach %s in %s mode: %s "
			"(another XDP program attached? try --mode skb)\n", o->dev, o->stable,
			o->mode == XDP_MODE_SKB ? "skb" : "native", strerror(-err));
		xdp_program__close(xp);
		return err;
	}
	t0 = now_s();
	ready_and_wait(sigs);
	secs = now_s() - t0;
	err = xdp_program__detach(xp, ifindex, o->mode, 0);
	if (err)
		pr_warn("dpctl: device %s: cannot detach %s: %s (remove it with "
			"ip link set dev %s xdp off)\n", o->dev, o->stable, strerror(-err), o->dev);
	xdp_program__close(xp);
	if (o->json)
		printf("{\"dev\": \"%s\", \"mode\": \"%s\", \"bare\": true, \"seconds\": %.6f}\n",
		       o->dev, o->mode == XDP_MODE_SKB ? "skb" : "native", secs);
	else
		printf("attached %.3f s\n", secs);
	return err;
}

static __u64 total_packets(const struct canary_counters *all)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < CANARY_COUNTERS_ENTRIES; i++)
		n += all[i].packets;
	return n;
}

/*
 * N rollout cycles back to back, each in the DESIGN.md section 5 order. FD
 * holds the two versions; sw->stable says which one is in slot 0. Slot 0 is
 * never empty, so no packet can be left to no version; a packet that read
 * the old share just before slot 1 was cleared falls back to stable, counted.
 */
static int run_swaps(const struct opts *o, struct canary_dp *dp, const int fd[2],
		     struct swap_stats *sw)
{
	struct canary_counters all[CANARY_COUNTERS_ENTRIES];
	__u64 before;
	double t0;
	long i;
	int err, cand;

	err = canary_dp__read_counters(dp, all);
	if (err)
		return err;
	before = total_packets(all);
	t0 = now_s();
	for (i = 0; i < o->swaps; i++) {
		cand = !sw->stable;
		/* Start: candidate into slot 1, then the share. */
		err = canary_dp__set_slot(dp, 1, fd[cand]);
		if (!err)
			err = canary_dp__set_share(dp, 1, o->share);
		if (err)
			return err;
		sw->progmap_updates++;
		sw->config_updates++;
		if (!(i & 1)) {
			/* Promote: slot 0 first, then share 0, then clear slot 1. */
			err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, fd[cand]);
			if (err)
				return err;
			sw->progmap_updates++;
			sw->stable = cand;
			sw->promotions++;
		} else {
			sw->rollbacks++;
		}
		/* Both end the same way: share 0 first, then clear slot 1. */
		err = canary_dp__set_share(dp, 1, 0);
		if (!err)
			err = canary_dp__clear_slot(dp, 1);
		if (err)
			return err;
		sw->config_updates++;
		sw->progmap_updates++;
		sw->cycles++;
	}
	sw->seconds += now_s() - t0;
	err = canary_dp__read_counters(dp, all);
	if (err)
		return err;
	sw->packets += total_packets(all) - before;
	return 0;
}

static int run_dispatcher(const struct opts *o, int ifindex, int stable_fd, int cand_fd,
			  const sigset_t *sigs)
{
	struct canary_counters all[CANARY_COUNTERS_ENTRIES];
	struct swap_stats sw = {};
	const int fd[2] = { stable_fd, cand_fd };
	struct canary_dp *dp;
	double t0, secs;
	int err, derr;

	dp = canary_dp__open();
	if (!dp)
		return -errno;
	err = canary_dp__set_slot(dp, CANARY_SLOT_STABLE, stable_fd);
	if (!err && cand_fd >= 0 && !o->swaps)
		err = canary_dp__set_slot(dp, 1, cand_fd);
	if (!err && cand_fd >= 0 && !o->swaps)
		err = canary_dp__set_share(dp, 1, o->share);
	if (!err)
		err = canary_dp__attach(dp, ifindex, o->mode, NULL);
	if (err)
		goto out;

	t0 = now_s();
	/* With --swaps, "swapped CYCLES" after each burst tells a script it is done. */
	for (int sig = ready_and_wait(sigs); sig == SIGUSR1; sig = wait_signal(sigs)) {
		err = run_swaps(o, dp, fd, &sw);
		if (err) {
			pr_warn("dpctl: device %s: swap cycle %llu failed: %s\n", o->dev,
				(unsigned long long)sw.cycles + 1, strerror(-err));
			break;
		}
		printf("swapped %llu\n", (unsigned long long)sw.cycles);
		fflush(stdout);
	}
	secs = now_s() - t0;

	derr = canary_dp__detach(dp);
	if (!err)
		err = canary_dp__read_counters(dp, all);
	if (!err)
		print_counters(o, all, secs, o->swaps ? &sw : NULL);
	if (derr)
		err = derr;
out:
	canary_dp__close(dp);
	return err;
}

/* Counters of a pinned dispatcher (canaryd's), read without changing anything. */
static int run_adopt(const struct opts *o)
{
	struct canary_counters all[CANARY_COUNTERS_ENTRIES];
	struct canary_dp *dp;
	int err;

	dp = canary_dp__adopt(o->adopt, NULL);
	if (!dp) {
		err = -errno;
		pr_warn("dpctl: pin dir %s: no dispatcher to read: %s (is canaryd running with "
			"this pin_root?)\n", o->adopt, strerror(-err));
		return err;
	}
	err = canary_dp__read_counters(dp, all);
	if (!err)
		print_counters(o, all, 0, NULL);
	canary_dp__close(dp);
	return err;
}

static int load_version(const char *path, const char *prog, struct bpf_object **obj)
{
	CANARY_VERSION_OPTS(opts, .prog = prog);

	return canary_version__load(path, &opts, obj);
}

int main(int argc, char **argv)
{
	struct bpf_object *stable_obj = NULL, *cand_obj = NULL;
	int ifindex, stable_fd, cand_fd = -1, err;
	struct opts o;
	sigset_t sigs;

	/* Library chatter (libxdp's multiprog attempt) only with -v. */
	canary_log_set_level(CANARY_LOG_WARN);
	canary_log_init_libs();
	if (parse_opts(argc, argv, &o))
		return 1;
	if (o.adopt)
		return run_adopt(&o) ? 1 : 0;
	ifindex = if_nametoindex(o.dev);
	if (!ifindex) {
		pr_warn("dpctl: device %s: not found in this network namespace "
			"(run inside it, e.g. nsenter --net=/run/netns/NAME)\n", o.dev);
		return 1;
	}

	/*
	 * Block the stop signals from the start: one that arrives while loading
	 * waits until we are attached, then detaches cleanly. Reset their
	 * disposition first: a shell without job control starts background
	 * commands with SIGINT ignored, and an ignored signal is discarded even
	 * while blocked, so sigwait would never see it.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (o.swaps)
		sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	stable_fd = load_version(o.stable, o.stable_prog, &stable_obj);
	if (stable_fd < 0) {
		err = stable_fd;
		goto out;
	}
	if (o.candidate) {
		cand_fd = load_version(o.candidate, o.candidate_prog, &cand_obj);
		if (cand_fd < 0) {
			err = cand_fd;
			goto out;
		}
	}
	if (o.bare)
		err = run_bare(&o, ifindex, stable_fd, &sigs);
	else
		err = run_dispatcher(&o, ifindex, stable_fd, cand_fd, &sigs);
out:
	fflush(stdout);
	bpf_object__close(cand_obj);
	bpf_object__close(stable_obj);
	return err ? 1 : 0;
}
