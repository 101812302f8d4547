// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Pre-flight differential check (preflight.h): a capture replayed through two
 * versions with BPF_PROG_TEST_RUN, nothing attached anywhere.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
/*
 * pcap.h would bring libpcap's classic-BPF struct bpf_insn, which clashes with
 * the kernel's (libbpf); we need neither its filters nor its struct bpf_program.
 */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "parse.h"
#include "dp.h"
#include "version.h"
#include "log.h"
#include "preflight.h"
#include "pkt.h"

#define ETH_HDR_LEN 14
/*
 * Output buffer of a test run: the largest record a capture can hold (pcap's
 * snap length is at most 262144) plus room for a program that grows the
 * packet with bpf_xdp_adjust_head/tail.
 */
#define OUT_CAP (262144 + 4096)

static void __attribute__((format(printf, 3, 4))) fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static void tally(struct canary_preflight_cell *c, __u64 index, const __u8 *pkt, __u32 caplen,
		  __u32 wirelen, const char *note)
{
	struct canary_preflight_example *ex;
	size_t n;

	c->packets++;
	if (c->n_examples >= CANARY_PREFLIGHT_EXAMPLES)
		return;
	ex = &c->ex[c->n_examples++];
	ex->index = index;
	canary_pkt__summary(pkt, caplen, wirelen, ex->summary, sizeof(ex->summary));
	n = strlen(ex->summary);
	if (note)
		snprintf(ex->summary + n, sizeof(ex->summary) - n, " (%s)", note);
}

/* ---- loading ------------------------------------------------------------- */

/* The library's last warning while loading: it names the object and the cause. */
static char last_warn[512];

static void keep_warning(enum canary_log_level level, const char *msg)
{
	size_t n;

	if (level != CANARY_LOG_WARN)
		return;
	snprintf(last_warn, sizeof(last_warn), "%s", msg);
	n = strlen(last_warn);
	while (n && (last_warn[n - 1] == '\n' || last_warn[n - 1] == '\r'))
		last_warn[--n] = '\0';
}

/*
 * FRAGS: NULL for the stable (either kind: it sets the dispatcher's), else
 * the stable's kind, which the candidate must share (one ProgMap). The
 * version's own kind goes to *IS_FRAGS.
 */
static int load_version(const char *role, const char *spec, struct canary_preflight_version *v,
			const bool *frags, bool *is_frags, struct bpf_object **obj, char *err,
			size_t errlen)
{
	struct canary_version_target t = {};
	/* --verbose (log level above warnings): libbpf's own log, verifier output and all. */
	bool quiet = canary_log_get_level() <= CANARY_LOG_WARN;
	struct bpf_program *p;
	char why[256];
	int fd, ret;

	if (canary_split_objprog(spec, v->object, sizeof(v->object), v->program,
				 sizeof(v->program))) {
		fail(err, errlen, "%s version '%s': not OBJECT[:PROGRAM]", role, spec);
		return -EINVAL;
	}
	last_warn[0] = '\0';
	if (quiet)
		canary_log_set_sink(keep_warning);
	{
		CANARY_VERSION_OPTS(vopts, .prog = v->program[0] ? v->program : NULL);

		fd = canary_version__load(v->object, &vopts, obj);
	}
	if (quiet)
		canary_log_set_sink(NULL);
	if (fd < 0) {
		fail(err, errlen, "%s version: %s%s", role,
		     last_warn[0] ? last_warn : strerror(-fd),
		     fd == -EPERM ? " (loading BPF programs needs root or CAP_BPF)"
		     : quiet	  ? " (--verbose shows libbpf's log)"
				  : "");
		return fd;
	}
	bpf_object__for_each_program(p, *obj)
		if (bpf_program__fd(p) == fd)
			*is_frags = canary_version__is_frags(p);
	t.frags = frags ? *frags : *is_frags;
	ret = canary_version__check(*obj, fd, &t, why, sizeof(why));
	if (ret) {
		fail(err, errlen, "%s version %s %s", role, v->object, why);
		return ret;
	}
	bpf_object__for_each_program(p, *obj)
		if (bpf_program__fd(p) == fd)
			snprintf(v->program, sizeof(v->program), "%s", bpf_program__name(p));
	return fd;
}

/* ---- the run ------------------------------------------------------------- */

int canary_preflight__run(struct canary_preflight *pf, const char *capture, const char *stable,
			  const char *candidate, char *err, size_t errlen)
{
	struct bpf_object *sobj = NULL, *cobj = NULL;
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	__u8 *out_s = NULL, *out_c = NULL;
	bool stable_frags = false, cand_frags = false;
	int sfd, cfd, dlt, rc, ret;
	struct pcap_pkthdr *h;
	const __u8 *pkt;
	const char *dname;
	pcap_t *pc;

	memset(pf, 0, sizeof(*pf));
	snprintf(pf->capture, sizeof(pf->capture), "%s", capture);
	pc = pcap_open_offline(capture, ebuf);
	if (!pc) {
		fail(err, errlen, "capture %s: %s (a libpcap/pcapng file, e.g. from tcpdump -w)",
		     capture, ebuf);
		return -EINVAL;
	}
	dlt = pcap_datalink(pc);
	dname = pcap_datalink_val_to_name(dlt);
	snprintf(pf->linktype, sizeof(pf->linktype), "%s", dname ? dname : "?");
	if (dlt != DLT_EN10MB) {
		fail(err, errlen,
		     "capture %s: link type %s (%d) is not Ethernet, and XDP programs see Ethernet "
		     "frames (capture with tcpdump -i IFACE on an Ethernet interface, not -i any)",
		     capture, pf->linktype, dlt);
		ret = -EPROTONOSUPPORT;
		goto out_pcap;
	}
	sfd = load_version("stable", stable, &pf->stable, NULL, &stable_frags, &sobj, err, errlen);
	if (sfd < 0) {
		ret = sfd;
		goto out_pcap;
	}
	cfd = load_version("candidate", candidate, &pf->candidate, &stable_frags, &cand_frags, &cobj,
			   err, errlen);
	if (cfd < 0) {
		ret = cfd;
		goto out_close;
	}
	out_s = malloc(OUT_CAP);
	out_c = malloc(OUT_CAP);
	if (!out_s || !out_c) {
		fail(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out_close;
	}

	ret = 0;
	while ((rc = pcap_next_ex(pc, &h, &pkt)) == 1) {
		__u32 vs, vc, ls, lc;
		__u64 idx = ++pf->packets;
		int es, ec;

		/* The kernel refuses frames shorter than an Ethernet header. */
		if (h->caplen < ETH_HDR_LEN) {
			tally(&pf->not_runnable, idx, pkt, h->caplen, h->len,
			      "shorter than an Ethernet header");
			continue;
		}
		es = canary_pkt__replay(sfd, pkt, h->caplen, out_s, OUT_CAP, &vs, &ls);
		ec = canary_pkt__replay(cfd, pkt, h->caplen, out_c, OUT_CAP, &vc, &lc);
		if (es || ec) {
			char note[96];

			snprintf(note, sizeof(note), "test run refused: %s", strerror(-(es ? es : ec)));
			tally(&pf->not_runnable, idx, pkt, h->caplen, h->len, note);
			continue;
		}
		pf->run++;
		if (h->caplen < h->len)
			pf->snapped++;
		tally(&pf->matrix[vs][vc], idx, pkt, h->caplen, h->len, NULL);
		if (canary_pkt__rewritten(vs, out_s, ls, vc, out_c, lc))
			tally(&pf->rewritten, idx, pkt, h->caplen, h->len, canary_verdict_name(vs));
	}
	if (rc == PCAP_ERROR) {
		const char *why = pcap_geterr(pc);

		/*
		 * libpcap reports a record cut short by the end of the file (a
		 * writer killed mid-record) as "truncated dump file": what came
		 * before is sound, so say so instead of failing the whole check.
		 * Anything else (a corrupt record length, say) is a broken
		 * capture: a check that skipped the rest would pass wrongly.
		 */
		if (!strstr(why, "truncated")) {
			fail(err, errlen, "capture %s: record %llu is corrupt (%s); nothing after "
			     "it can be read, fix or re-take the capture", capture,
			     (unsigned long long)pf->packets + 1, why);
			ret = -EBADMSG;
			goto out_close;
		}
		pf->cut_short = true;
	}
	if (!pf->run) {
		fail(err, errlen,
		     "capture %s: no packet could be run (%llu in the file); nothing to compare",
		     capture, (unsigned long long)pf->packets);
		ret = -ENODATA;
	}
out_close:
	free(out_s);
	free(out_c);
	bpf_object__close(cobj);
	bpf_object__close(sobj);
out_pcap:
	pcap_close(pc);
	return ret;
}

__u64 canary_preflight__differing(const struct canary_preflight *pf)
{
	__u64 n = pf->rewritten.packets;
	int s, c;

	for (s = 0; s < CANARY_V_MAX; s++)
		for (c = 0; c < CANARY_V_MAX; c++)
			if (s != c)
				n += pf->matrix[s][c].packets;
	return n;
}

double canary_preflight__rate(const struct canary_preflight *pf)
{
	return pf->run ? (double)canary_preflight__differing(pf) / pf->run : 0;
}

int canary_preflight__parse_rate(const char *s, double *rate)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return -EINVAL;
	if (*end == '%' && !end[1])
		v /= 100;
	else if (*end)
		return -EINVAL;
	if (v < 0 || v > 1)
		return -ERANGE;
	*rate = v;
	return 0;
}

/* ---- output -------------------------------------------------------------- */

bool canary_preflight__within(const struct canary_preflight *pf, double max_diff)
{
	/* Compare counts, not rounded rates: 1 of 3 is within 1/3. */
	return canary_preflight__differing(pf) <= max_diff * pf->run + 1e-9;
}

static void print_examples(const struct canary_preflight_cell *c, FILE *f)
{
	__u32 i;

	for (i = 0; i < c->n_examples; i++)
		fprintf(f, "    #%llu %s\n", (unsigned long long)c->ex[i].index, c->ex[i].summary);
}

static void print_version(const char *role, const struct canary_preflight_version *v, FILE *f)
{
	fprintf(f, "%-10s %s (program %s)\n", role, v->object, v->program);
}

void canary_preflight__print(const struct canary_preflight *pf, double max_diff, FILE *f)
{
	__u64 diff = canary_preflight__differing(pf);
	int s, c;

	fprintf(f, "capture    %s: %s, %llu packets, %llu run", pf->capture, pf->linktype,
		(unsigned long long)pf->packets, (unsigned long long)pf->run);
	if (pf->not_runnable.packets)
		fprintf(f, ", %llu not runnable", (unsigned long long)pf->not_runnable.packets);
	if (pf->snapped)
		fprintf(f, ", %llu cut by the snap length (run as captured)",
			(unsigned long long)pf->snapped);
	fputc('\n', f);
	if (pf->cut_short)
		fprintf(f, "           the file ends inside a record (writer killed?): ignored\n");
	print_version("stable", &pf->stable, f);
	print_version("candidate", &pf->candidate, f);

	fprintf(f, "\n%-18s", "stable \\ candidate");
	for (c = 0; c < CANARY_V_MAX; c++)
		fprintf(f, " %10s", canary_verdict_name(c));
	fputc('\n', f);
	for (s = 0; s < CANARY_V_MAX; s++) {
		fprintf(f, "%-18s", canary_verdict_name(s));
		for (c = 0; c < CANARY_V_MAX; c++)
			fprintf(f, " %10llu", (unsigned long long)pf->matrix[s][c].packets);
		fputc('\n', f);
	}
	fputc('\n', f);
	for (s = 0; s < CANARY_V_MAX; s++)
		for (c = 0; c < CANARY_V_MAX; c++) {
			if (s == c || !pf->matrix[s][c].packets)
				continue;
			fprintf(f, "%s -> %s: %llu packets, e.g.\n", canary_verdict_name(s),
				canary_verdict_name(c),
				(unsigned long long)pf->matrix[s][c].packets);
			print_examples(&pf->matrix[s][c], f);
		}
	if (pf->rewritten.packets) {
		fprintf(f, "same verdict, different bytes out: %llu packets, e.g.\n",
			(unsigned long long)pf->rewritten.packets);
		print_examples(&pf->rewritten, f);
	}
	if (pf->not_runnable.packets) {
		fprintf(f, "not runnable: %llu packets, e.g.\n",
			(unsigned long long)pf->not_runnable.packets);
		print_examples(&pf->not_runnable, f);
	}
	fprintf(f, "differing  %llu of %llu packets (%.4g%%), allowed %.4g%%: %s\n",
		(unsigned long long)diff, (unsigned long long)pf->run,
		100 * canary_preflight__rate(pf), 100 * max_diff,
		canary_preflight__within(pf, max_diff) ? "within (exit 0)" : "BEYOND (exit 2)");
}

static json_t *examples_json(const struct canary_preflight_cell *c)
{
	json_t *a = json_array();
	__u32 i;

	for (i = 0; i < c->n_examples; i++)
		json_array_append_new(a, json_pack("{s:I, s:s}", "index", (json_int_t)c->ex[i].index,
						   "summary", c->ex[i].summary));
	return a;
}

static json_t *tally_json(const struct canary_preflight_cell *c)
{
	return json_pack("{s:I, s:o}", "packets", (json_int_t)c->packets, "examples",
			 examples_json(c));
}

json_t *canary_preflight__json(const struct canary_preflight *pf, double max_diff)
{
	json_t *names = json_array(), *matrix = json_array(), *dis = json_array();
	int s, c;

	for (s = 0; s < CANARY_V_MAX; s++) {
		json_t *row = json_array();

		json_array_append_new(names, json_string(canary_verdict_name(s)));
		for (c = 0; c < CANARY_V_MAX; c++) {
			const struct canary_preflight_cell *cell = &pf->matrix[s][c];

			json_array_append_new(row, json_integer((json_int_t)cell->packets));
			if (s == c || !cell->packets)
				continue;
			json_array_append_new(
				dis, json_pack("{s:s, s:s, s:I, s:o}", "stable",
					       canary_verdict_name(s), "candidate",
					       canary_verdict_name(c), "packets",
					       (json_int_t)cell->packets, "examples",
					       examples_json(cell)));
		}
		json_array_append_new(matrix, row);
	}
	return json_pack("{s:b, s:{s:s, s:s, s:I, s:I, s:I, s:b}, s:{s:s, s:s}, s:{s:s, s:s},"
			 " s:o, s:o, s:o, s:o, s:o, s:I, s:f, s:f, s:b}",
			 "ok", 1,
			 "capture", "file", pf->capture, "linktype", pf->linktype,
			 "packets", (json_int_t)pf->packets, "run", (json_int_t)pf->run,
			 "snapped", (json_int_t)pf->snapped, "cut_short", pf->cut_short,
			 "stable", "object", pf->stable.object, "program", pf->stable.program,
			 "candidate", "object", pf->candidate.object, "program",
			 pf->candidate.program,
			 "verdicts", names, "matrix", matrix, "disagreements", dis,
			 "rewritten", tally_json(&pf->rewritten),
			 "not_runnable", tally_json(&pf->not_runnable),
			 "differing", (json_int_t)canary_preflight__differing(pf),
			 "rate", canary_preflight__rate(pf), "max_diff", max_diff,
			 "within", canary_preflight__within(pf, max_diff));
}
