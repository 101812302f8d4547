// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Side-by-side cost of the dispatcher with BPF_PROG_TEST_RUN on 64-byte
 * frames: a bare XDP_DROP program against the same program behind the
 * dispatcher, in several configurations. Variants run interleaved, round
 * after round, so a noisy neighbour hits them all alike; each figure is the
 * median over rounds, and what matters is the difference to bare measured in
 * the same run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "fixture.h"
#include "log.h"
#include "pkt.h"

#define ROUNDS 9
#define REPEAT 2000000

enum variant { BARE, DISP, DISP_CAND, DISP_PINS, BARE6, DISP6, NVARIANTS };

static const char *const names[NVARIANTS] = {
	"bare XDP_DROP (IPv4 UDP)",
	"dispatcher, stable only",
	"dispatcher, candidate at 5%",
	"dispatcher, 1000 pin prefixes",
	"bare XDP_DROP (IPv6 UDP)",
	"dispatcher, stable only (IPv6)",
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Nanoseconds per packet, from the wall clock around one long repeat run. */
static double measure(int fd, const void *pkt, size_t len)
{
	double t0 = now_ns();

	if (canary_pkt__run_repeat(fd, pkt, len, REPEAT, NULL, NULL))
		return -1;
	return (now_ns() - t0) / REPEAT;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int configure(struct fixture *f, enum variant v, struct canary_pin_rule *pins)
{
	int err;

	err = canary_dp__set_share(f->dp, 1, v == DISP_CAND ? 500 : 0);
	if (!err)
		err = canary_dp__set_pins(f->dp, pins, v == DISP_PINS ? 1000 : 0);
	return err;
}

int main(void)
{
	struct pkt_spec s4 = { .sport = 1234, .dport = 80, .payload = 22 };
	struct pkt_spec s6 = { .family = AF_INET6, .sport = 1234, .dport = 80 };
	static struct canary_pin_rule pins[1000];
	double t[NVARIANTS][ROUNDS], med[NVARIANTS];
	__u8 p4[PKT_MAX], p6[PKT_MAX];
	size_t n4, n6;
	struct fixture f;
	int r, v, i, err;

	n4 = canary_pkt__build(&s4, p4, sizeof(p4));
	n6 = canary_pkt__build(&s6, p6, sizeof(p6));
	err = fixture_open(&f);
	if (err) {
		fprintf(stderr, "bench: cannot load dispatcher and test programs: %s (run as root after make)\n",
			strerror(-err));
		return 1;
	}
	/* 1000 /24 prefixes in 198.18.0.0/15 and 198.19.0.0/16 that miss the packet's source. */
	for (i = 0; i < 1000; i++) {
		pins[i] = (struct canary_pin_rule){ .family = AF_INET, .prefixlen = 24, .slot = 1 };
		pins[i].addr[0] = 198;
		pins[i].addr[1] = 18 + (i >= 500);
		pins[i].addr[2] = 10 + i % 240;
	}
	if (canary_dp__set_slot(f.dp, 0, f.fd[CANARY_V_DROP]) ||
	    canary_dp__set_slot(f.dp, 1, f.fd[CANARY_V_DROP]))
		return 1;

	for (r = 0; r < ROUNDS; r++) {
		for (v = 0; v < NVARIANTS; v++) {
			bool bare = v == BARE || v == BARE6;
			bool six = v == BARE6 || v == DISP6;

			if (!bare && configure(&f, v, pins))
				return 1;
			t[v][r] = measure(bare ? f.fd[CANARY_V_DROP] : f.disp, six ? p6 : p4,
					  six ? n6 : n4);
			if (t[v][r] < 0) {
				fprintf(stderr, "bench: BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
				return 1;
			}
		}
	}
	for (v = 0; v < NVARIANTS; v++) {
		qsort(t[v], ROUNDS, sizeof(double), cmp_double);
		med[v] = t[v][ROUNDS / 2];
	}

	printf("BPF_PROG_TEST_RUN, %zu-byte frames, %d rounds x %d packets, median ns/packet\n",
	       n4, ROUNDS, REPEAT);
	printf("  %-34s %8s %10s %8s\n", "variant", "ns/pkt", "added ns", "ratio");
	for (v = 0; v < NVARIANTS; v++) {
		double base = v >= BARE6 ? med[BARE6] : med[BARE];

		printf("  %-34s %8.2f %+10.2f %8.2f\n", names[v], med[v], med[v] - base,
		       med[v] / base);
	}
	printf("dispatcher overhead, no pin rules: %+.2f ns/packet (target <= 8)\n",
	       med[DISP] - med[BARE]);
	printf("dispatcher overhead, 1000 pin prefixes: %+.2f ns/packet (target < 60)\n",
	       med[DISP_PINS] - med[BARE]);
	fixture_close(&f);
	return 0;
}
