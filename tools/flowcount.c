// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowcount: count received packets per flow at TC ingress of a device.
 *
 *   flowcount --dev DEV [--out FILE] [--keep] [-j] [-v]
 *
 * Attaches tools/flowcount.bpf.c at TC ingress (clsact; the qdisc is made if
 * absent and removed again only if made here), prints "ready" and counts
 * until SIGINT/SIGTERM. Then it detaches and prints a summary, and writes one
 * line per flow to FILE:
 *
 *   FAMILY PROTO SRC SPORT DPORT PACKETS      e.g. "4 udp 198.18.1.1 1024 9 977"
 *
 * the same key columns as trafficgen --flow-log, so the two files join on
 * the first five columns. TC ingress runs after XDP, so on a device with an
 * XDP program this counts exactly what that program passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flowcount.h"
#include "log.h"
#include "params.h"
#include "flowcount.skel.h"

struct opts {
	const char *dev, *out;
	bool keep, json, verbose, help;
};

static const struct canary_opt flowcount_opts[] = {
	CANARY_OPTION(struct opts, "dev", 0, "DEV", dev,
		      "count at TC ingress of DEV (in the current network namespace)"),
	CANARY_OPTION(struct opts, "out", 0, "FILE", out,
		      "write FAMILY PROTO SRC SPORT DPORT PACKETS per flow"),
	CANARY_OPTION(struct opts, "keep", 0, NULL, keep,
		      "let counted packets go on into the stack (default: drop them)"),
	CANARY_OPTION(struct opts, "json", 'j', NULL, json, "JSON summary"),
	CANARY_OPTION(struct opts, "verbose", 'v', NULL, verbose, "libbpf's messages"),
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: flowcount", f);
	canary_opts__synopsis(f, flowcount_opts, 16, 16);
	fputc('\n', f);
	canary_opts__print(f, flowcount_opts);
	fputs("Prints \"ready\" once attached; SIGINT or SIGTERM stops and prints the counts.\n", f);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int err;

	*o = (struct opts){};
	err = canary_opts__parse_tool(argc, argv, "flowcount", flowcount_opts, o, &o->help, &o->verbose,
				      usage);
	if (err > 0)
		exit(0);
	if (err)
		return err;
	if (!o->dev) {
		pr_warn("flowcount: --dev DEV is required (the receiving interface)\n");
		return -EINVAL;
	}
	return 0;
}

static const char *proto_name(__u8 proto, char *buf, size_t len)
{
	if (proto == IPPROTO_UDP)
		return "udp";
	if (proto == IPPROTO_TCP)
		return "tcp";
	snprintf(buf, len, "%u", proto);
	return buf;
}

static __u64 sum_percpu(const __u64 *v, int ncpus)
{
	__u64 s = 0;
	int i;

	for (i = 0; i < ncpus; i++)
		s += v[i];
	return s;
}

/* Sum every flow over CPUs, write the lines to F (may be NULL). */
static int dump_flows(int map_fd, int ncpus, FILE *f, __u64 *flows, __u64 *packets)
{
	struct flowcount_key key, next;
	__u64 *vals = calloc(ncpus, sizeof(*vals));
	char addr[INET6_ADDRSTRLEN], pbuf[8];
	void *prev = NULL;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	*flows = *packets = 0;
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, vals))
			continue;	/* cannot vanish: nothing deletes; be safe anyway */
		(*flows)++;
		*packets += sum_percpu(vals, ncpus);
		if (!f)
			continue;
		inet_ntop(key.family == 6 ? AF_INET6 : AF_INET, key.saddr, addr, sizeof(addr));
		fprintf(f, "%u %s %s %u %u %llu\n", key.family, proto_name(key.proto, pbuf,
			sizeof(pbuf)), addr, key.sport, key.dport,
			(unsigned long long)sum_percpu(vals, ncpus));
	}
	if (errno != ENOENT)
		err = -errno;
	free(vals);
	return err;
}

int main(int argc, char **argv)
{
	struct flowcount_bpf *skel = NULL;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tco);
	__u64 flows = 0, packets = 0, other[2] = {}, *vals = NULL;
	bool made_qdisc = false, attached = false;
	int ifindex, ncpus, err, sig, i;
	FILE *out = NULL;
	struct opts o;
	sigset_t sigs;

	canary_log_set_level(CANARY_LOG_WARN);
	canary_log_init_libs();
	if (parse_opts(argc, argv, &o))
		return 1;
	ifindex = if_nametoindex(o.dev);
	if (!ifindex) {
		pr_warn("flowcount: device %s: not found in this network namespace "
			"(run inside it, e.g. nsenter --net=/run/netns/NAME)\n", o.dev);
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1) {
		pr_warn("flowcount: cannot count possible CPUs: %s\n", strerror(-ncpus));
		return 1;
	}
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return 1;

	/* As in dpctl: stop signals are taken only once we are attached. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	skel = flowcount_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("flowcount: cannot open the counter program: %s\n", strerror(-err));
		goto out;
	}
	skel->rodata->fc.keep = o.keep;
	err = flowcount_bpf__load(skel);
	if (err) {
		pr_warn("flowcount: the kernel refused the counter program: %s "
			"(run as root; -v shows the verifier log)\n", strerror(-err));
		goto out;
	}
	hook.ifindex = ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("flowcount: device %s: cannot add the clsact qdisc: %s\n", o.dev,
			strerror(-err));
		goto out;
	}
	made_qdisc = !err;
	tco.prog_fd = bpf_program__fd(skel->progs.fc_ingress);
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		pr_warn("flowcount: device %s: cannot attach at TC ingress: %s "
			"(a filter with the same handle there?)\n", o.dev, strerror(-err));
		goto err_qdisc;
	}
	attached = true;

	printf("ready\n");
	fflush(stdout);
	while (sigwait(&sigs, &sig))
		;

err_qdisc:
	if (attached) {
		tco.flags = tco.prog_fd = tco.prog_id = 0;
		if (bpf_tc_detach(&hook, &tco))
			pr_warn("flowcount: device %s: cannot detach the TC filter (remove it with "
				"tc filter del dev %s ingress)\n", o.dev, o.dev);
	}
	if (made_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	if (!attached)
		goto out;

	if (o.out) {
		out = fopen(o.out, "w");
		if (!out) {
			err = -errno;
			pr_warn("flowcount: cannot write %s: %s\n", o.out, strerror(-err));
			goto out;
		}
	}
	err = dump_flows(bpf_map__fd(skel->maps.fc_flows), ncpus, out, &flows, &packets);
	if (out && fclose(out) && !err) {
		err = -errno;
		pr_warn("flowcount: cannot write %s: %s\n", o.out, strerror(-err));
	}
	if (err) {
		pr_warn("flowcount: cannot read the flow counters: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		__u32 k = i;

		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.fc_other), &k, vals))
			other[i] = sum_percpu(vals, ncpus);
	}
	if (o.json)
		printf("{\"dev\": \"%s\", \"flows\": %llu, \"packets\": %llu, \"other\": %llu, "
		       "\"overflow\": %llu}\n", o.dev, (unsigned long long)flows,
		       (unsigned long long)packets, (unsigned long long)other[0],
		       (unsigned long long)other[1]);
	else
		printf("%llu packets in %llu flows, %llu other packets, %llu in no slot of the "
		       "flow table\n", (unsigned long long)packets, (unsigned long long)flows,
		       (unsigned long long)other[0], (unsigned long long)other[1]);
	if (other[1]) {
		pr_warn("flowcount: %llu packets found the flow table full\n",
			(unsigned long long)other[1]);
		err = -E2BIG;
	}
out:
	fflush(stdout);
	flowcount_bpf__destroy(skel);
	free(vals);
	return err ? 1 : 0;
}
