// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryctl preflight on captures this test writes with libpcap
 * (pcap_open_dead + pcap_dump) from lib/pkt.c packets: IPv4 and IPv6
 * flows between the example firewall's subnets, whose verdict under each
 * version is known from bpf/versions/fw_common.h. build/canaryctl runs as a
 * subprocess; -j output is checked with jansson.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>

/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>

#include "capfile.h"
#include "fixture.h"
#include "pkt.h"

#define ROUNDS 3 /* each flow of the mix this many times, other source ports */
#define RUN_TIMEOUT_S 60

enum { P = 2, D = 1 }; /* XDP_PASS, XDP_DROP */

/* One flow of the mix and its verdict under v1, blackhole and v2. */
struct flow {
	int src, dst; /* subnet numbers: 1 = A, 2 = B, 3 = C, 4 = D */
	__u8 proto;
	__u16 dport;
	int v1, blackhole, v2;
};

static const struct flow mix[] = {
	{ 1, 2, IPPROTO_UDP, 53, P, D, P },   /* rule 1: A always passes */
	{ 1, 2, IPPROTO_TCP, 80, P, D, P },
	{ 1, 4, IPPROTO_TCP, 22, P, D, P },
	{ 1, 2, IPPROTO_UDP, 443, P, D, P },  /* rule 1 before v2's QUIC rule */
	{ 3, 2, IPPROTO_TCP, 443, P, P, P },  /* rule 2 */
	{ 3, 2, IPPROTO_TCP, 8443, P, P, P },
	{ 3, 2, IPPROTO_TCP, 22, D, D, D },
	{ 3, 2, IPPROTO_UDP, 443, D, D, P },  /* v2: QUIC for everyone, C too */
	{ 4, 2, IPPROTO_TCP, 80, P, P, P },   /* rule 3 */
	{ 4, 2, IPPROTO_UDP, 443, D, D, P },
	{ 4, 2, IPPROTO_TCP, 8443, D, D, D },
	{ 4, 3, IPPROTO_TCP, 80, D, D, D },   /* rule 4 */
};
#define NMIX (sizeof(mix) / sizeof(mix[0]))
#define NPKTS (ROUNDS * 2 * NMIX)

static char dir[64], cap_path[128], out_path[128], err_path[128];

struct run {
	int code;
	char out[262144], err[65536];
	json_t *json; /* stdout parsed, when it is one JSON object */
};

/* A path in the build directory; each result lives for the next 15 calls. */
static const char *build_path(const char *rel)
{
	static char buf[16][512];
	static int i;
	const char *b = getenv("CANARY_BUILD");

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", b ? b : "build", rel);
	return buf[i];
}

/* The packet at capture position IDX (from 0): mix[IDX % NMIX], v4 then v6 per round. */
static size_t mix_packet(size_t idx, __u8 *buf)
{
	const struct flow *fl = &mix[idx % NMIX];
	int v6 = idx / NMIX % 2, round = idx / (2 * NMIX);
	char src[64], dst[64];
	struct pkt_spec s = {
		.family = v6 ? AF_INET6 : AF_INET,
		.src = src,
		.dst = dst,
		.proto = fl->proto,
		.sport = (__u16)(40000 + round * 100 + idx % NMIX),
		.dport = fl->dport,
		.payload = 16,
	};

	if (v6) {
		snprintf(src, sizeof(src), "2001:db8:%d::%d", fl->src, 10 + round);
		snprintf(dst, sizeof(dst), "2001:db8:%d::%d", fl->dst, 20 + round);
	} else {
		snprintf(src, sizeof(src), "198.18.%d.%d", fl->src, 10 + round);
		snprintf(dst, sizeof(dst), "198.18.%d.%d", fl->dst, 20 + round);
	}
	return canary_pkt__build(&s, buf, PKT_MAX);
}

/* Verdict of version column COL (0 v1, 1 blackhole, 2 v2) for capture position IDX. */
static int mix_verdict(size_t idx, int col)
{
	const struct flow *fl = &mix[idx % NMIX];

	return col == 0 ? fl->v1 : col == 1 ? fl->blackhole : fl->v2;
}

struct rec {
	const __u8 *data;
	__u32 caplen, len;
};

static void write_pcap(const char *path, int dlt, const struct rec *recs, size_t n)
{
	pcap_t *pd = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d;
	size_t i;

	assert_non_null(pd);
	d = pcap_dump_open(pd, path);
	if (!d)
		fail_msg("pcap_dump_open %s: %s", path, pcap_geterr(pd));
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h = { .caplen = recs[i].caplen, .len = recs[i].len };

		h.ts.tv_sec = 1700000000 + (long)i;
		pcap_dump((u_char *)d, &h, recs[i].data);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

/* The mix, NPKTS packets, to PATH. */
static void write_mix(const char *path)
{
	static __u8 bufs[NPKTS][PKT_MAX];
	struct rec recs[NPKTS];
	size_t i;

	for (i = 0; i < NPKTS; i++) {
		recs[i].data = bufs[i];
		recs[i].caplen = recs[i].len = mix_packet(i, bufs[i]);
		assert_true(recs[i].caplen > 0);
	}
	write_pcap(path, DLT_EN10MB, recs, NPKTS);
}

/* The mix written by canaryctl capture's writer (lib/capfile.c): pcapng or, for .pcap, classic. */
static void write_mix_capfile(const char *path)
{
	static __u8 buf[PKT_MAX];
	struct canary_capfile *cf;
	char err[256] = "", comment[160];
	size_t i, len;

	assert_int_equal(canary_capfile__open(path, CANARY_SNAP_MAX, "veth0", &cf, err,
					      sizeof(err)), 0);
	for (i = 0; i < NPKTS; i++) {
		len = mix_packet(i, buf);
		canary_capfile__comment(comment, sizeof(comment), 0, mix_verdict(i, 0), 5, 0, 0);
		assert_int_equal(canary_capfile__write(cf, 1700000000000000000ULL + i * 1000, buf,
						       len, len, comment, err, sizeof(err)), 0);
	}
	assert_int_equal(canary_capfile__close(cf, err, sizeof(err)), 0);
}

static void run_ctl(struct run *r, const char *const *args)
{
	static char bin[512];
	const char *argv[24];
	int i, status;
	pid_t pid;

	if (!bin[0])
		snprintf(bin, sizeof(bin), "%s", build_path("canaryctl"));
	argv[0] = bin;
	for (i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		alarm(RUN_TIMEOUT_S);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	fixture_read_file(out_path, r->out, sizeof(r->out));
	fixture_read_file(err_path, r->err, sizeof(r->err));
	if (r->code == 127)
		fail_msg("cannot run %s (build it first: make)", bin);
	r->json = json_loads(r->out, 0, NULL);
}

#define RUN(r, ...) run_ctl(r, (const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static long long jint(json_t *o, const char *path)
{
	char buf[128], *key, *save = NULL;
	json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = strtok_r(buf, ".", &save); key; key = strtok_r(NULL, ".", &save))
		v = json_object_get(v, key);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static long long cell(json_t *o, int s, int c)
{
	json_t *v = json_array_get(json_array_get(json_object_get(o, "matrix"), s), c);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Every cell of the JSON matrix equals the one predicted from the mix for columns A, B. */
static void assert_matrix(json_t *o, int col_s, int col_c)
{
	long long want[6][6] = { { 0 } };
	size_t i;
	int s, c;

	for (i = 0; i < NPKTS; i++)
		want[mix_verdict(i, col_s)][mix_verdict(i, col_c)]++;
	for (s = 0; s < 6; s++)
		for (c = 0; c < 6; c++)
			if (cell(o, s, c) != want[s][c])
				fail_msg("matrix[%d][%d] = %lld, want %lld", s, c, cell(o, s, c),
					 want[s][c]);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/canary-preflight.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cap_path, sizeof(cap_path), "%s/mix.pcap", dir);
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_identical(void **state)
{
	struct run r;
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	char want[64];

	(void)state;
	write_mix(cap_path);
	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 0);
	assert_non_null(r.json);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r.json, "capture"), "linktype")),
			    "EN10MB");
	assert_int_equal(jint(r.json, "capture.packets"), NPKTS);
	assert_int_equal(jint(r.json, "capture.run"), NPKTS);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "stable"),
							       "program")),
			    "fw_v1");
	assert_matrix(r.json, 0, 0);
	assert_int_equal(jint(r.json, "differing"), 0);
	assert_int_equal(json_array_size(json_object_get(r.json, "disagreements")), 0);
	assert_true(json_is_true(json_object_get(r.json, "within")));
	run_free(&r);

	/* The human output says the same. */
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 0);
	snprintf(want, sizeof(want), "differing  0 of %zu packets", NPKTS);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "within (exit 0)"));
	run_free(&r);
}

static void test_blackhole(void **state)
{
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	const char *bh = build_path("versions/fw_blackhole.bpf.o");
	long long n_a = 0;
	json_t *dis, *ex, *e;
	struct run r;
	char rate[32], want[64];
	size_t i;

	(void)state;
	write_mix(cap_path);
	for (i = 0; i < NPKTS; i++)
		n_a += mix[i % NMIX].src == 1;
	assert_true(n_a > 0);

	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, bh);
	assert_int_equal(r.code, 2);
	assert_non_null(r.json);
	assert_matrix(r.json, 0, 1);
	assert_int_equal(cell(r.json, P, D), n_a);
	assert_int_equal(jint(r.json, "differing"), n_a);
	assert_false(json_is_true(json_object_get(r.json, "within")));
	/* One off-diagonal cell, pass -> drop, whose examples are subnet A packets. */
	dis = json_object_get(r.json, "disagreements");
	assert_int_equal(json_array_size(dis), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(dis, 0), "stable")),
			    "pass");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(dis, 0), "candidate")), "drop");
	ex = json_object_get(json_array_get(dis, 0), "examples");
	assert_int_equal(json_array_size(ex), 3);
	json_array_foreach(ex, i, e) {
		long long idx = jint(e, "index");
		const char *sum = json_string_value(json_object_get(e, "summary"));

		assert_true(idx >= 1 && idx <= (long long)NPKTS);
		assert_int_equal(mix[(idx - 1) % NMIX].src, 1);
		assert_non_null(sum);
		if (!strstr(sum, " 198.18.1.") && !strstr(sum, " [2001:db8:1::"))
			fail_msg("example #%lld '%s' is not from subnet A", idx, sum);
	}
	/* The first example is the first packet: udp A -> B port 53, as in the issue. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 0), "summary")),
			    "udp 198.18.1.10:40000 > 198.18.2.20:53 len 58");
	run_free(&r);

	/* Human output: the cell and an example line. */
	RUN(&r, "preflight", "--pcap", cap_path, v1, bh);
	assert_int_equal(r.code, 2);
	snprintf(want, sizeof(want), "pass -> drop: %lld packets", n_a);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "    #1 udp 198.18.1.10:40000 > 198.18.2.20:53 len 58\n"));
	assert_non_null(strstr(r.out, "BEYOND (exit 2)"));
	run_free(&r);

	/* --max-diff: at the rate is within, just under it is not. */
	snprintf(rate, sizeof(rate), "%.17g", (double)n_a / NPKTS);
	RUN(&r, "preflight", "--pcap", cap_path, v1, bh, "--max-diff", rate);
	assert_int_equal(r.code, 0);
	run_free(&r);
	RUN(&r, "preflight", "--pcap", cap_path, v1, bh, "--max-diff", "70%");
	assert_int_equal(r.code, 0);
	run_free(&r);
	snprintf(rate, sizeof(rate), "%.6f%%", 100.0 * n_a / NPKTS - 0.01);
	RUN(&r, "preflight", "--max-diff", rate, "--pcap", cap_path, v1, bh);
	assert_int_equal(r.code, 2);
	run_free(&r);
}

/* What canaryctl capture writes, pcapng and classic pcap: the same matrix as tcpdump's files. */
static void test_capfile(void **state)
{
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	const char *bh = build_path("versions/fw_blackhole.bpf.o");
	const char *names[] = { "mix.pcapng", "mix2.pcap" };
	char path[160];
	struct run r;
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		write_mix_capfile(path);
		RUN(&r, "-j", "preflight", "--pcap", path, v1, bh);
		assert_int_equal(r.code, 2);
		assert_non_null(r.json);
		assert_int_equal(jint(r.json, "capture.packets"), NPKTS);
		assert_int_equal(jint(r.json, "capture.run"), NPKTS);
		assert_int_equal(jint(r.json, "capture.snapped"), 0);
		assert_matrix(r.json, 0, 1);
		run_free(&r);
	}
}

static void test_v2(void **state)
{
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	const char *v2 = build_path("versions/fw_v2.bpf.o");
	long long want = 0;
	struct run r;
	size_t i;

	(void)state;
	write_mix(cap_path);
	for (i = 0; i < NPKTS; i++)
		want += mix_verdict(i, 0) == D && mix_verdict(i, 2) == P;
	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, v2 /* OBJECT:PROGRAM below */);
	assert_int_equal(r.code, 2);
	assert_matrix(r.json, 0, 2);
	assert_int_equal(cell(r.json, D, P), want);
	assert_int_equal(cell(r.json, P, D), 0);
	assert_int_equal(jint(r.json, "differing"), want);
	run_free(&r);

	/* Naming the program gives the same; candidate stable order flips the cell. */
	RUN(&r, "-j", "preflight", "--pcap", cap_path, build_path("versions/fw_v2.bpf.o:fw_v2"),
	    v1);
	assert_int_equal(r.code, 2);
	assert_matrix(r.json, 2, 0);
	assert_int_equal(cell(r.json, P, D), want);
	run_free(&r);
}

/* Short frames, snapped records, a file cut mid-record: counted, never a crash. */
static void test_short_and_cut(void **state)
{
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	__u8 a[PKT_MAX], b[PKT_MAX];
	struct pkt_spec s = { .src = "198.18.1.5", .dst = "198.18.2.10", .sport = 1234,
			      .dport = 443, .payload = 64 };
	size_t len = canary_pkt__build(&s, a, sizeof(a));
	struct rec recs[] = {
		{ a, (__u32)len, (__u32)len }, /* whole */
		{ a, 10, 10 },		       /* a 10-byte frame */
		{ a, 0, 60 },		       /* an empty record */
		{ a, 42, (__u32)len },	       /* snapped after the UDP header */
		{ b, 14, 14 },		       /* just an Ethernet header */
	};
	struct stat st;
	json_t *nr;
	struct run r;

	(void)state;
	memcpy(b, a, 14);
	write_pcap(cap_path, DLT_EN10MB, recs, sizeof(recs) / sizeof(recs[0]));
	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 0);
	assert_int_equal(jint(r.json, "capture.packets"), 5);
	assert_int_equal(jint(r.json, "capture.run"), 3);
	assert_int_equal(jint(r.json, "capture.snapped"), 1);
	nr = json_object_get(r.json, "not_runnable");
	assert_int_equal(jint(nr, "packets"), 2);
	assert_int_equal(jint(json_array_get(json_object_get(nr, "examples"), 0), "index"), 2);
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_array_get(json_object_get(nr, "examples"), 0), "summary")),
			       "short frame len 10"));
	assert_true(json_is_false(json_object_get(json_object_get(r.json, "capture"),
						  "cut_short")));
	/* v1 passes the A packet, whole or snapped, and drops the bare Ethernet header. */
	assert_int_equal(cell(r.json, P, P), 2);
	assert_int_equal(cell(r.json, D, D), 1);
	run_free(&r);

	/* The file ends inside the last record, as when tcpdump is killed. */
	write_mix(cap_path);
	assert_int_equal(stat(cap_path, &st), 0);
	assert_int_equal(truncate(cap_path, st.st_size - 5), 0);
	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 0);
	assert_int_equal(jint(r.json, "capture.packets"), NPKTS - 1);
	assert_true(json_is_true(json_object_get(json_object_get(r.json, "capture"),
						 "cut_short")));
	run_free(&r);

	/* A corrupt record length mid-file is an error, not a shorter pass. */
	write_mix(cap_path);
	{
		FILE *f = fopen(cap_path, "r+b");
		__u32 caplen, bogus = 0x7fffffff;
		long off = 24;	/* the global header */
		int i;

		assert_non_null(f);
		for (i = 0; i < 2; i++) {	/* skip records 1 and 2 */
			assert_int_equal(fseek(f, off + 8, SEEK_SET), 0);
			assert_int_equal(fread(&caplen, sizeof(caplen), 1, f), 1);
			off += 16 + caplen;
		}
		assert_int_equal(fseek(f, off + 8, SEEK_SET), 0);
		assert_int_equal(fwrite(&bogus, sizeof(bogus), 1, f), 1);
		fclose(f);
	}
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "record 3 is corrupt"));
	run_free(&r);

	/* Nothing runnable is an error, not a pass. */
	write_pcap(cap_path, DLT_EN10MB, &recs[1], 2);
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "no packet could be run"));
	run_free(&r);
}

/* Same verdict, other bytes out; invalid verdicts get their own row. */
static void test_rewritten_and_invalid(void **state)
{
	char tx[512], inv[512], pass[512], swap[512];
	struct run r;
	json_t *rw;

	(void)state;
	snprintf(tx, sizeof(tx), "%s:ret_tx", build_path("tests/verdicts.bpf.o"));
	snprintf(inv, sizeof(inv), "%s:ret_invalid", build_path("tests/verdicts.bpf.o"));
	snprintf(pass, sizeof(pass), "%s:ret_pass", build_path("tests/verdicts.bpf.o"));
	snprintf(swap, sizeof(swap), "%s:swap_macs", build_path("tests/preflight.bpf.o"));
	write_mix(cap_path);

	RUN(&r, "-j", "preflight", "--pcap", cap_path, tx, tx);
	assert_int_equal(r.code, 0);
	assert_int_equal(jint(r.json, "rewritten.packets"), 0);
	run_free(&r);

	RUN(&r, "-j", "preflight", "--pcap", cap_path, tx, swap);
	assert_int_equal(r.code, 2);
	assert_int_equal(cell(r.json, 3, 3), NPKTS);
	rw = json_object_get(r.json, "rewritten");
	assert_int_equal(jint(rw, "packets"), NPKTS);
	assert_int_equal(json_array_size(json_object_get(rw, "examples")), 3);
	assert_int_equal(jint(r.json, "differing"), NPKTS);
	run_free(&r);

	RUN(&r, "-j", "preflight", "--pcap", cap_path, pass, inv);
	assert_int_equal(r.code, 2);
	assert_int_equal(cell(r.json, 2, 5), NPKTS);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "verdicts"), 5)),
			    "invalid");
	run_free(&r);
}

/* Exactly one line on stderr, naming WHAT, and exit 1; with -j a JSON error. */
static void assert_one_line_error(struct run *r, const char *what)
{
	char *nl = strchr(r->err, '\n');

	if (r->code != 1 || !nl || nl[1] || !strstr(r->err, what))
		fail_msg("want exit 1 and one line with '%s', got %d: %s", what, r->code, r->err);
	assert_int_equal(strncmp(r->err, "canaryctl: preflight: ", 22), 0);
	assert_string_equal(r->out, "");
}

static void test_errors(void **state)
{
	const char *v1 = build_path("versions/fw_v1.bpf.o");
	char rejected[512], frags[512], multi[512], missing[512], raw[160];
	__u8 p[PKT_MAX];
	struct pkt_spec s = { .payload = 8 };
	struct rec rec;
	struct run r;

	(void)state;
	snprintf(rejected, sizeof(rejected), "%s", build_path("tests/rejected.bpf.o"));
	snprintf(frags, sizeof(frags), "%s:frags_pass", build_path("tests/preflight.bpf.o"));
	snprintf(multi, sizeof(multi), "%s", build_path("tests/verdicts.bpf.o"));
	snprintf(missing, sizeof(missing), "%s/nonexistent.bpf.o", dir);
	write_mix(cap_path);

	RUN(&r, "preflight", "--pcap", cap_path, missing, v1);
	assert_one_line_error(&r, "stable version: object");
	assert_non_null(strstr(r.err, missing));
	run_free(&r);

	RUN(&r, "preflight", "--pcap", cap_path, v1, rejected);
	assert_one_line_error(&r, "candidate version: object");
	assert_non_null(strstr(r.err, "verifier"));
	run_free(&r);

	RUN(&r, "preflight", "--pcap", cap_path, v1, frags);
	assert_one_line_error(&r, "multi-buffer");
	run_free(&r);

	/* Both multi-buffer: one frags dispatcher would take them both. */
	RUN(&r, "preflight", "--pcap", cap_path, build_path("versions/fw_v1.frags.bpf.o"),
	    build_path("versions/fw_v1.frags.bpf.o"));
	assert_int_equal(r.code, 0);
	run_free(&r);
	RUN(&r, "preflight", "--pcap", cap_path, build_path("versions/fw_v1.frags.bpf.o"), v1);
	assert_one_line_error(&r, "rebuild it as SEC(\"xdp.frags\")");
	run_free(&r);

	snprintf(frags, sizeof(frags), "%s:devmap_pass", build_path("tests/preflight.bpf.o"));
	RUN(&r, "preflight", "--pcap", cap_path, v1, frags);
	assert_one_line_error(&r, "attach type");
	run_free(&r);

	snprintf(frags, sizeof(frags), "%s:not_xdp", build_path("tests/preflight.bpf.o"));
	RUN(&r, "preflight", "--pcap", cap_path, frags, v1);
	assert_one_line_error(&r, "not an XDP program");
	run_free(&r);

	RUN(&r, "preflight", "--pcap", cap_path, v1, multi);
	assert_one_line_error(&r, "OBJECT:PROGRAM");
	run_free(&r);

	RUN(&r, "preflight", "--pcap", missing, v1, v1);
	assert_one_line_error(&r, "capture");
	run_free(&r);

	/* A capture without Ethernet headers (DLT_RAW: IP first). */
	snprintf(raw, sizeof(raw), "%s/raw.pcap", dir);
	rec.data = p + 14;
	rec.caplen = rec.len = canary_pkt__build(&s, p, sizeof(p)) - 14;
	write_pcap(raw, DLT_RAW, &rec, 1);
	RUN(&r, "preflight", "--pcap", raw, v1, v1);
	assert_one_line_error(&r, "is not Ethernet");
	run_free(&r);

	/* -j: the error is a JSON object on stdout. */
	RUN(&r, "-j", "preflight", "--pcap", cap_path, v1, rejected);
	assert_int_equal(r.code, 1);
	assert_non_null(r.json);
	assert_true(json_is_false(json_object_get(r.json, "ok")));
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "error")), rejected));
	assert_true(jint(r.json, "errno") > 0);
	run_free(&r);

	/* Usage errors. */
	RUN(&r, "preflight", v1, v1);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "missing --pcap FILE"));
	RUN(&r, "preflight", "--pcap", cap_path, v1);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "missing the candidate"));
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1, "--max-diff", "150%");
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "bad --max-diff"));
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1, "--max-diff", "2");
	assert_int_equal(r.code, 1);
	RUN(&r, "preflight", "--pcap", cap_path, v1, v1, "--wait");
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "unknown option"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_blackhole),
		cmocka_unit_test(test_capfile),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_short_and_cut),
		cmocka_unit_test(test_rewritten_and_invalid),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
