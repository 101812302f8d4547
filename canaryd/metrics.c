// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus text exposition of canaryd's state (metrics.h). Pure: plain
 * data in, text out, so tests/test_metrics.c checks it line by line.
 *
 * Each family is written whole (HELP, TYPE, then its series for every
 * interface), as the format requires. Counters come straight from the
 * dispatcher's add-only per-CPU counters, summed: they only go back to zero
 * when the dispatcher itself is reloaded, which Prometheus handles as a
 * counter reset.
 */
#define _GNU_SOURCE	/* open_memstream */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "dp.h"
#include "metrics.h"
#include "names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const versions[] = { "stable", "candidate" };
static const char *const classes[] = { "split", "pinned", "unparsed" };
static const char *const verdicts[] = { "aborted", "drop", "pass", "tx", "redirect", "invalid" };
/* The same names as the control protocol's "dir" and "test" (proto.h). */
static const enum rollout_phase decisions[] = { ROLLOUT_PROMOTED, ROLLOUT_ROLLED_BACK,
						ROLLOUT_ABORTED, ROLLOUT_FAILED };

_Static_assert(ARRAY_SIZE(classes) == CANARY_CLASS_MAX, "a name per traffic class");
_Static_assert(ARRAY_SIZE(verdicts) == CANARY_V_MAX, "a name per verdict counter");

/* One series being written: its name, then labels one by one, then a value. */
struct series {
	FILE *f;
	int nr_labels;
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	/* Help texts are ours: no backslash or newline to escape. */
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void s_open(struct series *s, FILE *f, const char *name)
{
	s->f = f;
	s->nr_labels = 0;
	fputs(name, f);
}

/* Label values are escaped as the format says: backslash, quote, newline. */
static void s_label(struct series *s, const char *key, const char *val)
{
	const char *c;

	fputc(s->nr_labels++ ? ',' : '{', s->f);
	fprintf(s->f, "%s=\"", key);
	for (c = val ? val : ""; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", s->f);
		else if (*c == '"')
			fputs("\\\"", s->f);
		else if (*c == '\n')
			fputs("\\n", s->f);
		else
			fputc(*c, s->f);
	}
	fputc('"', s->f);
}

static void s_end(struct series *s)
{
	if (s->nr_labels)
		fputc('}', s->f);
	fputc(' ', s->f);
}

static void s_u64(struct series *s, __u64 v)
{
	s_end(s);
	fprintf(s->f, "%llu\n", (unsigned long long)v);
}

static void s_f64(struct series *s, double v)
{
	s_end(s);
	if (isnan(v))
		fputs("NaN\n", s->f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf\n" : "-Inf\n", s->f);
	else
		fprintf(s->f, "%.15g\n", v);
}

/* The series of one counter record: interface, version, class. */
static void s_record(struct series *s, FILE *f, const char *name, const char *ifname, __u32 row,
		     __u32 cls)
{
	s_open(s, f, name);
	s_label(s, "interface", ifname);
	s_label(s, "version", versions[row]);
	s_label(s, "class", classes[cls]);
}

enum field { F_PACKETS, F_BYTES, F_FALLBACK, F_DIVERTED };

static __u64 field_of(const struct canary_counters *c, enum field fl)
{
	switch (fl) {
	case F_PACKETS: return c->packets;
	case F_BYTES: return c->bytes;
	case F_FALLBACK: return c->fallback;
	case F_DIVERTED: return c->diverted;
	}
	return 0;
}

static void counter_family(FILE *f, const struct canary_metrics_iface *ifs, int n,
			   const char *name, const char *help, enum field fl)
{
	struct series s;
	__u32 row, cls;
	int i;

	family(f, name, "counter", help);
	for (i = 0; i < n; i++) {
		if (!ifs[i].counters)
			continue;
		for (row = 0; row < ARRAY_SIZE(versions); row++)
			for (cls = 0; cls < CANARY_CLASS_MAX; cls++) {
				s_record(&s, f, name, ifs[i].name, row, cls);
				s_u64(&s, field_of(canary_counters__at(ifs[i].counters, row, cls),
						   fl));
			}
	}
}

static void verdict_family(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	const char *name = "canary_verdicts_total";
	struct series s;
	__u32 row, cls, v;
	int i;

	family(f, name, "counter",
	       "XDP verdicts each version returned, by traffic class (invalid: any value above "
	       "XDP_REDIRECT).");
	for (i = 0; i < n; i++) {
		if (!ifs[i].counters)
			continue;
		for (row = 0; row < ARRAY_SIZE(versions); row++)
			for (cls = 0; cls < CANARY_CLASS_MAX; cls++)
				for (v = 0; v < CANARY_V_MAX; v++) {
					s_record(&s, f, name, ifs[i].name, row, cls);
					s_label(&s, "verdict", verdicts[v]);
					s_u64(&s, canary_counters__at(ifs[i].counters, row, cls)
							  ->verdict[v]);
				}
	}
}

/*
 * The dispatcher's cost histogram, as a Prometheus histogram in seconds.
 * Bucket b holds whole nanoseconds in [2^b, 2^(b+1)), i.e. up to and
 * including 2^(b+1) - 1 ns: that is its "le" bound, exactly. The last bucket
 * also holds everything above it, so it is the +Inf bucket. _count is the
 * +Inf bucket rather than the separately added cost_samples, so a scrape
 * that races the datapath still has _count equal to its +Inf bucket.
 */
static void cost_family(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	const char *name = "canary_packet_cost_seconds";
	struct series s;
	__u32 row, cls, b;
	char le[32];
	int i;

	family(f, name, "histogram",
	       "Sampled time from the dispatcher's tail call into a version to its return, "
	       "per packet.");
	for (i = 0; i < n; i++) {
		if (!ifs[i].counters)
			continue;
		for (row = 0; row < ARRAY_SIZE(versions); row++)
			for (cls = 0; cls < CANARY_CLASS_MAX; cls++) {
				const struct canary_counters *c =
					canary_counters__at(ifs[i].counters, row, cls);
				__u64 cum = 0;

				for (b = 0; b < CANARY_COST_BUCKETS; b++) {
					cum += c->cost_hist[b];
					if (b == CANARY_COST_BUCKETS - 1)
						snprintf(le, sizeof(le), "+Inf");
					else
						snprintf(le, sizeof(le), "%.9g",
							 ((1ULL << (b + 1)) - 1) * 1e-9);
					s_record(&s, f, "canary_packet_cost_seconds_bucket",
						 ifs[i].name, row, cls);
					s_label(&s, "le", le);
					s_u64(&s, cum);
				}
				s_record(&s, f, "canary_packet_cost_seconds_sum", ifs[i].name, row,
					 cls);
				s_f64(&s, c->cost_ns * 1e-9);
				s_record(&s, f, "canary_packet_cost_seconds_count", ifs[i].name, row,
					 cls);
				s_u64(&s, cum);
			}
	}
}

static void unhandled_family(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	const char *name = "canary_unhandled_packets_total";
	struct series s;
	__u32 cls;
	int i;

	family(f, name, "counter",
	       "Packets no version handled (no stable version installed): the dispatcher "
	       "passed them (fail open) or dropped them (fail closed).");
	for (i = 0; i < n; i++) {
		if (!ifs[i].counters)
			continue;
		for (cls = 0; cls < CANARY_CLASS_MAX; cls++) {
			s_open(&s, f, name);
			s_label(&s, "interface", ifs[i].name);
			s_label(&s, "class", classes[cls]);
			s_u64(&s, canary_counters__at(ifs[i].counters, CANARY_ROW_NONE, cls)->packets);
		}
	}
}

static void iface_gauge(FILE *f, const char *name, const char *ifname, double v)
{
	struct series s;

	s_open(&s, f, name);
	s_label(&s, "interface", ifname);
	s_f64(&s, v);
}

static void breaker_families(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	int i;

	family(f, "canary_breaker_tripped", "gauge",
	       "1 while the kernel circuit breaker sends the candidate's flows to stable.");
	for (i = 0; i < n; i++)
		if (ifs[i].breaker)
			iface_gauge(f, "canary_breaker_tripped", ifs[i].name, !!ifs[i].breaker->tripped);
	family(f, "canary_breaker_bad_verdicts", "gauge",
	       "Aborted plus invalid candidate verdicts since the circuit breaker was last armed.");
	for (i = 0; i < n; i++)
		if (ifs[i].breaker)
			iface_gauge(f, "canary_breaker_bad_verdicts", ifs[i].name,
				    (double)ifs[i].breaker->bad);
	family(f, "canary_breaker_trips_total", "counter",
	       "Times the kernel circuit breaker tripped on the candidate slot.");
	for (i = 0; i < n; i++) {
		struct series s;

		if (!ifs[i].breaker)
			continue;
		s_open(&s, f, "canary_breaker_trips_total");
		s_label(&s, "interface", ifs[i].name);
		s_u64(&s, ifs[i].breaker->trips);
	}
}

static void rollout_families(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	struct series s;
	int i, p;

	family(f, "canary_rollout_info", "gauge",
	       "1 for the current or last rollout of the interface, with its id and candidate.");
	for (i = 0; i < n; i++) {
		if (!ifs[i].rollout)
			continue;
		s_open(&s, f, "canary_rollout_info");
		s_label(&s, "interface", ifs[i].name);
		s_label(&s, "id", ifs[i].rollout_id);
		s_label(&s, "candidate", ifs[i].candidate);
		s_u64(&s, 1);
	}
	family(f, "canary_rollout_phase", "gauge",
	       "1 for the phase the rollout is in, 0 for the others.");
	for (i = 0; i < n; i++) {
		if (!ifs[i].rollout)
			continue;
		for (p = ROLLOUT_IDLE; p <= ROLLOUT_FAILED; p++) {
			s_open(&s, f, "canary_rollout_phase");
			s_label(&s, "interface", ifs[i].name);
			s_label(&s, "phase", rollout_phase__name(p));
			s_u64(&s, ifs[i].rollout->phase == (enum rollout_phase)p);
		}
	}
	family(f, "canary_rollout_step", "gauge",
	       "Step of the rollout, counted from 1 (status \"step\").");
	for (i = 0; i < n; i++)
		if (ifs[i].rollout)
			iface_gauge(f, "canary_rollout_step", ifs[i].name, ifs[i].rollout->step + 1);
	family(f, "canary_rollout_steps", "gauge", "Steps in the rollout's plan.");
	for (i = 0; i < n; i++)
		if (ifs[i].rollout)
			iface_gauge(f, "canary_rollout_steps", ifs[i].name,
				    ifs[i].rollout->plan.nr_steps);
	family(f, "canary_rollout_share_ratio", "gauge",
	       "Share of hash-split flows the dispatcher sends to the candidate (0 to 1).");
	for (i = 0; i < n; i++)
		if (ifs[i].rollout)
			iface_gauge(f, "canary_rollout_share_ratio", ifs[i].name,
				    ifs[i].rollout->share_bp / (double)CANARY_BP_MAX);
}

/* Each (metric, dir, test) once per interface, whatever the evidence holds. */
static bool seen_before(const struct judge_evidence *ev, __u32 k)
{
	const struct judge_test_ev *t = &ev->tests[k];
	__u32 j;

	for (j = 0; j < k; j++)
		if (!strcmp(ev->tests[j].metric, t->metric) && ev->tests[j].dir == t->dir &&
		    ev->tests[j].test == t->test)
			return true;
	return false;
}

enum judge_field { J_STAT, J_THRESHOLD, J_P, J_RATIO, J_DECIDED, J_RATE };

static void judge_family(FILE *f, const struct canary_metrics_iface *ifs, int n, const char *name,
			 const char *help, enum judge_field jf)
{
	struct series s;
	__u32 k, nv;
	int i;

	family(f, name, "gauge", help);
	for (i = 0; i < n; i++) {
		const struct judge_evidence *ev;

		if (!ifs[i].rollout)
			continue;
		ev = &ifs[i].rollout->last_ev;
		for (k = 0; k < ev->nr_tests && k < JUDGE_MAX_EVIDENCE; k++) {
			const struct judge_test_ev *t = &ev->tests[k];
			char metric[JUDGE_NAME_LEN + 1];

			if (seen_before(ev, k))
				continue;
			snprintf(metric, sizeof(metric), "%.*s", JUDGE_NAME_LEN, t->metric);
			for (nv = 0; nv < (jf == J_RATE ? 2U : 1U); nv++) {
				s_open(&s, f, name);
				s_label(&s, "interface", ifs[i].name);
				s_label(&s, "metric", metric);
				s_label(&s, "dir", rollout_judge_dir__name(t->dir) ?:
							   rollout_judge_dir__name(JUDGE_DIR_NONE));
				s_label(&s, "test", rollout_judge_test__name(t->test) ?: "unknown");
				if (jf == J_RATE)
					s_label(&s, "version", versions[nv]);
				switch (jf) {
				case J_STAT: s_f64(&s, t->stat); break;
				case J_THRESHOLD: s_f64(&s, t->threshold); break;
				case J_P: s_f64(&s, t->p); break;
				case J_RATIO: s_f64(&s, t->ratio); break;
				case J_DECIDED: s_u64(&s, t->decided); break;
				case J_RATE: s_f64(&s, nv ? t->rate_c : t->rate_s); break;
				}
			}
		}
	}
}

static void judge_families(FILE *f, const struct canary_metrics_iface *ifs, int n)
{
	struct series s;
	int i, v;

	family(f, "canary_judge_verdict", "gauge",
	       "1 for the judge's latest verdict on the rollout, 0 for the others.");
	for (i = 0; i < n; i++) {
		if (!ifs[i].rollout)
			continue;
		for (v = JUDGE_INCONCLUSIVE; v <= JUDGE_TIMEOUT; v++) {
			s_open(&s, f, "canary_judge_verdict");
			s_label(&s, "interface", ifs[i].name);
			s_label(&s, "verdict", judge_verdict__name(v));
			s_u64(&s, ifs[i].rollout->last_verdict == (enum judge_verdict)v);
		}
	}
	judge_family(f, ifs, n, "canary_judge_statistic",
		     "Statistic of each judge test at the latest judgement (status \"stat\").",
		     J_STAT);
	judge_family(f, ifs, n, "canary_judge_threshold",
		     "Threshold the statistic is decided against (status \"threshold\").",
		     J_THRESHOLD);
	judge_family(f, ifs, n, "canary_judge_p_value",
		     "p-value of each judge test, anytime-valid for the sequential tests.", J_P);
	judge_family(f, ifs, n, "canary_judge_rate",
		     "Event rate of each version in each judge test (status \"rate_s\", \"rate_c\").",
		     J_RATE);
	judge_family(f, ifs, n, "canary_judge_rate_ratio",
		     "Candidate over stable rate in the test's direction (+Inf: stable had none).",
		     J_RATIO);
	judge_family(f, ifs, n, "canary_judge_decided",
		     "1 once the test's statistic crossed its threshold.", J_DECIDED);
}

int canary_metrics__render(const struct canary_metrics_iface *ifs, int n, char **out, size_t *len)
{
	struct series s;
	size_t k;
	FILE *f;
	int i;

	*out = NULL;
	*len = 0;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;

	family(f, "canary_interface_managed", "gauge",
	       "1 if canaryd manages the interface (dispatcher attached, no error), else 0.");
	for (i = 0; i < n; i++)
		iface_gauge(f, "canary_interface_managed", ifs[i].name, ifs[i].managed);
	family(f, "canary_interface_link", "gauge",
	       "1 for the interface's link state (waiting: not there yet; managed; lost: deleted, "
	       "waiting for it again; detached: the dispatcher removed by someone else), 0 for "
	       "the others.");
	for (i = 0; i < n; i++) {
		int st;

		for (st = ROLLOUT_LINK_WAITING; st <= ROLLOUT_LINK_DETACHED; st++) {
			struct series s;

			s_open(&s, f, "canary_interface_link");
			s_label(&s, "interface", ifs[i].name);
			s_label(&s, "state", rollout_link_state__name(st));
			s_u64(&s, ifs[i].link == (enum rollout_link_state)st);
		}
	}
	family(f, "canary_interface_mtu_bytes", "gauge",
	       "The interface's MTU as canaryd last read it (after every link message); 0 not read.");
	for (i = 0; i < n; i++)
		iface_gauge(f, "canary_interface_mtu_bytes", ifs[i].name, ifs[i].mtu);
	family(f, "canary_dispatcher_mtu_fits", "gauge",
	       "0 when the single-buffer dispatcher runs in native mode at an MTU above 3506 "
	       "(it needs a multi-buffer one), else 1; interfaces with a dispatcher only.");
	for (i = 0; i < n; i++)
		if (ifs[i].dispatcher)
			iface_gauge(f, "canary_dispatcher_mtu_fits", ifs[i].name, ifs[i].mtu_fits);
	counter_family(f, ifs, n, "canary_packets_total",
		       "Packets each version handled, by traffic class.", F_PACKETS);
	counter_family(f, ifs, n, "canary_bytes_total",
		       "Bytes of the packets each version handled, by traffic class.", F_BYTES);
	verdict_family(f, ifs, n);
	counter_family(f, ifs, n, "canary_fallbacks_total",
		       "Packets meant for a version that it did not handle (empty slot, failed tail "
		       "call, circuit breaker); the version that did is counted too.", F_FALLBACK);
	counter_family(f, ifs, n, "canary_breaker_diversions_total",
		       "Fallbacks because the circuit breaker had tripped.", F_DIVERTED);
	unhandled_family(f, ifs, n);
	cost_family(f, ifs, n);
	breaker_families(f, ifs, n);
	rollout_families(f, ifs, n);
	judge_families(f, ifs, n);

	family(f, "canary_decisions_total", "counter",
	       "Rollouts that ended promoted, rolled_back (judge or breaker), aborted "
	       "(operator abort or revert) or failed, since canaryd started.");
	for (i = 0; i < n; i++)
		for (k = 0; k < ARRAY_SIZE(decisions); k++) {
			s_open(&s, f, "canary_decisions_total");
			s_label(&s, "interface", ifs[i].name);
			s_label(&s, "decision", rollout_phase__name(decisions[k]));
			s_u64(&s, ifs[i].decisions[decisions[k]]);
		}

	if (ferror(f)) {
		fclose(f);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int canary_metrics__parse_addr(const char *s, struct sockaddr_storage *sa, bool *off)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *p;
	unsigned long port = 0;
	size_t hlen;

	memset(sa, 0, sizeof(*sa));
	*off = false;
	if (!*s || !strcmp(s, "off")) {
		*off = true;
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return -EINVAL;
		port = port * 10 + (*p - '0');
	}
	if (!port || port > 65535)
		return -EINVAL;
	hlen = colon - s;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;

		if (hlen < 3 || s[hlen - 1] != ']' || hlen - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return 0;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)sa;

		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
	}
	return 0;
}
