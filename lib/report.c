// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The report of one rollout (history.h): a pure function of the history
 * records and the series, one HTML page with inline SVG and CSS. No script,
 * no external reference: it opens offline, from a mail attachment, anywhere.
 *
 * Panels over the rollout's time (seconds from its start): pass, drop and
 * abort rates of stable and candidate (one polyline per version, a point
 * per interval of the series: its counts over its packets), the candidate
 * share as steps, a dashed line at every recorded event, a thick one at the
 * decision; then the decision's evidence and the event list.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "dp.h"
#include "history.h"
#include "proto.h"

#define COL_STABLE "#1f77b4"
#define COL_CAND "#ff7f0e"
#define COL_SHARE "#2ca02c"
#define COL_DECISION "#d62728"
#define COL_EVENT "#999999"

#define SVG_W 1100
#define PLOT_L 70
#define PLOT_R 20
#define PLOT_W (SVG_W - PLOT_L - PLOT_R)
#define PANEL_H 190
#define PLOT_T 28
#define PLOT_H (PANEL_H - PLOT_T - 32)

struct span {
	double t0, t1;		/* ms, wall clock */
};

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static double jnum(const json_t *o, const char *key, double dflt)
{
	json_t *j = json_object_get(o, key);

	return json_is_number(j) ? json_number_value(j) : dflt;
}

static double xpos(const struct span *sp, double t)
{
	double w = sp->t1 > sp->t0 ? sp->t1 - sp->t0 : 1;

	return PLOT_L + (t - sp->t0) / w * PLOT_W;
}

static double ypos(double v, double ymax)
{
	return PLOT_T + PLOT_H - (ymax > 0 ? v / ymax : 0) * PLOT_H;
}

/* "2026-12-03 05:40:01 UTC" */
static void fmt_time(char *buf, size_t len, double ms)
{
	struct tm tm;
	time_t t;

	/* Files are data: a time beyond year 9999 is printed as it is. */
	if (!(ms >= 0 && ms < 253402300800000.0)) {
		snprintf(buf, len, "%g ms", ms);
		return;
	}
	t = (time_t)(ms / 1000);
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%.0f ms", ms);
}

/* The decision: the last ending event, or NULL while the rollout runs. */
static const json_t *decision_of(const json_t *events)
{
	const json_t *rec, *dec = NULL;
	size_t i;

	json_array_foreach(events, i, rec) {
		const char *ev = jstr(rec, "event");

		if (!strcmp(ev, "promoted") || !strcmp(ev, "rolled_back") ||
		    !strcmp(ev, "aborted") || !strcmp(ev, "failed"))
			dec = rec;
	}
	return dec;
}

/* Time axis, grid and event lines of one panel. */
static void frame(FILE *f, const struct span *sp, const json_t *events, const json_t *dec,
		  const char *title, double ymax, const char *yfmt)
{
	double secs = (sp->t1 - sp->t0) / 1000, step = 1;
	const json_t *rec;
	size_t i;
	int k;

	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", SVG_W,
		PANEL_H, SVG_W, PANEL_H);
	fprintf(f, "<text x=\"%d\" y=\"18\" class=\"title\">", PLOT_L);
	esc(f, title);
	fputs("</text>\n", f);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"plot\"/>\n", PLOT_L,
		PLOT_T, PLOT_W, PLOT_H);
	for (k = 0; k <= 4; k++) {
		double v = ymax * k / 4, y = ypos(v, ymax);
		char lab[32];

		snprintf(lab, sizeof(lab), yfmt, v);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ylab\">%s</text>\n",
			PLOT_L, y, PLOT_L + PLOT_W, y, PLOT_L - 6, y + 4, lab);
	}
	while (secs / step > 10)
		step *= secs / step > 50 ? 10 : secs / step > 20 ? 5 : 2;
	for (k = 0; k * step <= secs + 1e-9; k++) {
		double x = xpos(sp, sp->t0 + k * step * 1000);

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlab\">%g s</text>\n", x,
			PLOT_T + PLOT_H + 16, k * step);
	}
	json_array_foreach(events, i, rec) {
		double x = xpos(sp, jnum(rec, "time_ms", sp->t0));

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"%s\"/>\n", x,
			PLOT_T, x, PLOT_T + PLOT_H, rec == dec ? "decision" : "event");
	}
}

/* One version's rate (WHAT: 0 pass, 1 drop, 2 abort) as a polyline. */
static void rate_line(FILE *f, const struct span *sp, const struct canary_series *s, int v,
		      int what, double ymax)
{
	static const char *const names[] = { "pass", "drop", "abort" };
	__u32 i, n = 0;

	fprintf(f, "<polyline class=\"series %s %s\" stroke=\"%s\" points=\"",
		v == CANARY_SER_STABLE ? "stable" : "candidate", names[what],
		v == CANARY_SER_STABLE ? COL_STABLE : COL_CAND);
	for (i = 0; s && i < s->nr; i++) {
		const struct canary_series_point *p = &s->p[i];
		__u64 x = what == 0 ? p->passes[v] : what == 1 ? p->drops[v] : p->aborts[v];

		if (!p->packets[v])
			continue;	/* no traffic on it: no rate (the candidate in the warm-up) */
		fprintf(f, "%s%.1f,%.1f", n++ ? " " : "", xpos(sp, (p->t0_ms + p->t1_ms) / 2.0),
			ypos((double)x / p->packets[v], ymax));
	}
	fputs("\"/>\n", f);
	/* A line of one or two points hardly shows (a rollback within an interval): dots too. */
	for (i = 0; n < 3 && s && i < s->nr; i++) {
		const struct canary_series_point *p = &s->p[i];
		__u64 x = what == 0 ? p->passes[v] : what == 1 ? p->drops[v] : p->aborts[v];

		if (p->packets[v])
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n",
				xpos(sp, (p->t0_ms + p->t1_ms) / 2.0),
				ypos((double)x / p->packets[v], ymax),
				v == CANARY_SER_STABLE ? COL_STABLE : COL_CAND);
	}
}

static double max_rate(const struct canary_series *s, int what)
{
	double m = 0;
	__u32 i;
	int v;

	for (i = 0; s && i < s->nr; i++)
		for (v = 0; v < CANARY_SER_VERSIONS; v++) {
			const struct canary_series_point *p = &s->p[i];
			__u64 x = what == 0 ? p->passes[v] : what == 1 ? p->drops[v] : p->aborts[v];

			if (p->packets[v] && (double)x / p->packets[v] > m)
				m = (double)x / p->packets[v];
		}
	return m;
}

/* A y range from 0 to a round value above M. */
static double nice_max(double m)
{
	double p;

	if (m <= 0)
		return 0.001;
	p = pow(10, floor(log10(m)));
	return m <= p ? p : m <= 2 * p ? 2 * p : m <= 5 * p ? 5 * p : 10 * p;
}

static void rate_panel(FILE *f, const struct span *sp, const json_t *events, const json_t *dec,
		       const struct canary_series *s, int what)
{
	static const char *const titles[] = { "Pass rate (XDP_PASS / packets)",
					      "Drop rate (XDP_DROP / packets)",
					      "Abort rate (XDP_ABORTED / packets)" };
	double ymax = nice_max(max_rate(s, what));

	frame(f, sp, events, dec, titles[what], ymax, "%.3g");
	rate_line(f, sp, s, CANARY_SER_STABLE, what, ymax);
	rate_line(f, sp, s, CANARY_SER_CAND, what, ymax);
	fputs("</svg>\n", f);
}

/*
 * The share steps: from the series (the share of each interval), else from
 * the events' share_pct; a step holds until the next change.
 */
static void share_panel(FILE *f, const struct span *sp, const json_t *events, const json_t *dec,
			const struct canary_series *s)
{
	const json_t *rec;
	double last = -1, y;
	size_t i;
	int n = 0;

	frame(f, sp, events, dec, "Candidate share (%)", 100, "%.0f");
	fprintf(f, "<polyline class=\"series share\" stroke=\"%s\" points=\"", COL_SHARE);
	if (s && s->nr) {
		for (i = 0; i < s->nr; i++) {
			double v = s->p[i].share_bp / 100.0;

			y = ypos(v, 100);
			if (v != last && last >= 0)	/* the corner of a step */
				fprintf(f, " %.1f,%.1f", xpos(sp, s->p[i].t0_ms), ypos(last, 100));
			fprintf(f, "%s%.1f,%.1f", n++ ? " " : "", xpos(sp, s->p[i].t0_ms), y);
			last = v;
		}
		fprintf(f, " %.1f,%.1f", xpos(sp, s->p[s->nr - 1].t1_ms), ypos(last, 100));
	} else {
		json_array_foreach(events, i, rec) {
			double v = jnum(rec, "share_pct", 0), x = xpos(sp, jnum(rec, "time_ms", 0));

			if (last >= 0)
				fprintf(f, " %.1f,%.1f", x, ypos(last, 100));
			fprintf(f, "%s%.1f,%.1f", n++ ? " " : "", x, ypos(v, 100));
			last = v;
		}
	}
	fputs("\"/>\n", f);
	/* The events, named along the top of the share panel. */
	json_array_foreach(events, i, rec)
	{
		double x = xpos(sp, jnum(rec, "time_ms", sp->t0));

		/* Near the right edge, the name goes left of its line. */
		bool left = x > PLOT_L + PLOT_W - 90;

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"evlab%s\"%s>", left ? x - 3 : x + 3,
			PLOT_T + 12 + (int)(i % 4) * 12, rec == dec ? " dec" : "",
			left ? " text-anchor=\"end\"" : "");
		esc(f, jstr(rec, "event"));
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

static void legend(FILE *f)
{
	fprintf(f, "<p class=\"legend\"><span style=\"color:%s\">&#9632; stable</span> "
		"<span style=\"color:%s\">&#9632; candidate</span> "
		"<span style=\"color:%s\">&#9632; share</span> "
		"<span style=\"color:%s\">&#9475; decision</span> "
		"<span style=\"color:%s\">&#9478; other events</span></p>\n",
		COL_STABLE, COL_CAND, COL_SHARE, COL_DECISION, COL_EVENT);
}

/* The shares_pct index of a 1-based step; out of range (none) for anything else. */
static size_t step_index(double step)
{
	return step >= 1 && step <= 1024 ? (size_t)step - 1 : (size_t)-1;
}

static void evidence(FILE *f, const json_t *dec)
{
	const json_t *t;
	size_t i;

	fputs("<h2>Decision</h2>\n", f);
	if (!dec) {
		fputs("<p>No decision recorded: the rollout is still running (or its end is not in "
		      "the history).</p>\n", f);
		return;
	}
	fputs("<p class=\"decision-text\"><b>", f);
	esc(f, jstr(dec, "event"));
	fputs("</b> by <b>", f);
	esc(f, jstr(dec, "who"));
	fputs("</b> at step ", f);
	fprintf(f, "%.0f of %.0f (the plan's share there: %g %%; now %g %%): ",
		jnum(dec, "step", 0), jnum(dec, "steps", 0),
		json_number_value(json_array_get(json_object_get(dec, "shares_pct"),
						 step_index(jnum(dec, "step", 0)))),
		jnum(dec, "share_pct", 0));
	esc(f, jstr(dec, "reason"));
	fputs("</p>\n<p>Verdict: <b>", f);
	esc(f, jstr(dec, "verdict"));
	fputs("</b>. Evidence: ", f);
	esc(f, jstr(dec, "evidence")[0] ? jstr(dec, "evidence") : "none (an operator's decision)");
	fputs("</p>\n", f);
	if (!json_array_size(json_object_get(dec, "tests")))
		return;
	fputs("<table><tr><th>metric</th><th>test</th><th>dir</th><th>candidate</th><th>stable"
	      "</th><th>ratio</th><th>stat</th><th>threshold</th><th>p</th><th>decided</th></tr>\n",
	      f);
	json_array_foreach(json_object_get(dec, "tests"), i, t) {
		fputs("<tr><td>", f);
		esc(f, jstr(t, "metric"));
		fputs("</td><td>", f);
		esc(f, jstr(t, "test"));
		fputs("</td><td>", f);
		esc(f, jstr(t, "dir"));
		fprintf(f, "</td><td>%.0f / %.0f = %.3g</td><td>%.0f / %.0f = %.3g</td><td>%.3g</td>"
			"<td>%.3g</td><td>%.3g</td><td>%.3g</td><td>%s</td></tr>\n",
			jnum(t, "x_c", 0), jnum(t, "n_c", 0), jnum(t, "rate_c", 0), jnum(t, "x_s", 0),
			jnum(t, "n_s", 0), jnum(t, "rate_s", 0), jnum(t, "ratio", 0),
			jnum(t, "stat", 0), jnum(t, "threshold", 0), jnum(t, "p", 0),
			json_is_true(json_object_get(t, "decided")) ? "yes" : "no");
	}
	fputs("</table>\n", f);
}

static void event_table(FILE *f, const json_t *events, double t0)
{
	const json_t *rec;
	size_t i;

	fputs("<h2>Events</h2>\n<table><tr><th>+s</th><th>time</th><th>event</th><th>who</th>"
	      "<th>step</th><th>share %</th><th>verdict</th><th>reason</th></tr>\n", f);
	json_array_foreach(events, i, rec) {
		char when[64];

		fmt_time(when, sizeof(when), jnum(rec, "time_ms", 0));
		fprintf(f, "<tr><td>%.1f</td><td>%s</td><td>", (jnum(rec, "time_ms", 0) - t0) / 1000,
			when);
		esc(f, jstr(rec, "event"));
		fputs("</td><td>", f);
		esc(f, jstr(rec, "who"));
		fprintf(f, "</td><td>%.0f/%.0f</td><td>%g</td><td>", jnum(rec, "step", 0),
			jnum(rec, "steps", 0), jnum(rec, "share_pct", 0));
		esc(f, jstr(rec, "verdict"));
		fputs("</td><td>", f);
		esc(f, jstr(rec, "reason"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static const char css[] =
	"body{font-family:sans-serif;margin:20px;color:#222;background:#fff}"
	"h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
	"svg{display:block;margin:4px 0}"
	".plot{fill:#fafafa;stroke:#ccc}.grid{stroke:#e4e4e4}"
	".title{font-size:13px;font-weight:bold}"
	".ylab{font-size:11px;text-anchor:end;fill:#555}.xlab{font-size:11px;text-anchor:middle;"
	"fill:#555}"
	".series{fill:none;stroke-width:3;stroke-linejoin:round}"
	/* Wider, under the candidate's: where both rates agree, stable shows at its edges. */
	".series.stable{stroke-width:6}"
	".event{stroke:" COL_EVENT ";stroke-dasharray:4 3}"
	".decision{stroke:" COL_DECISION ";stroke-width:3}"
	".evlab{font-size:10px;fill:#555}.evlab.dec{fill:" COL_DECISION ";font-weight:bold}"
	"table{border-collapse:collapse;font-size:12px}"
	"td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}"
	".legend span{margin-right:16px;font-size:13px}";

/*
 * The shadow phase's paired matrix (stable's verdict by row, the
 * candidate's by column, samples replayed through both), from the last
 * event whose rollout carried one, with its decision, fidelity and the
 * examples of the cells where the two differ.
 */
static void shadow_matrix(FILE *f, const json_t *events)
{
	const json_t *sh = NULL, *rec, *cells, *c, *ex;
	__u64 n[CANARY_V_MAX + 1][CANARY_V_MAX + 1] = {};
	size_t i, k;
	__u32 a, b;

	fputs("<h2>Shadow phase</h2>\n", f);
	json_array_foreach(events, i, rec) {
		const json_t *o = json_object_get(rec, CANARY_K_SHADOW);

		if (json_is_object(o) && json_is_array(json_object_get(o, CANARY_K_CELLS)))
			sh = o;
	}
	if (!sh) {
		fputs("<p>None: this rollout had no shadow phase (<code>shadow =</code>, "
		      "<code>canaryctl start --shadow</code>).</p>\n", f);
		return;
	}
	cells = json_object_get(sh, CANARY_K_CELLS);
	json_array_foreach(cells, i, c)
		for (a = 0; a <= CANARY_V_MAX; a++)
			for (b = 0; b <= CANARY_V_MAX; b++)
				if (!strcmp(jstr(c, CANARY_K_STABLE), a < CANARY_V_MAX ?
					    canary_verdict_name(a) : "rewritten") &&
				    !strcmp(jstr(c, CANARY_K_CANDIDATE), b < CANARY_V_MAX ?
					    canary_verdict_name(b) : "rewritten"))
					n[a][b] += (__u64)jnum(c, CANARY_K_SAMPLES, 0);
	fputs("<p>Decision <b>", f);
	esc(f, jstr(sh, CANARY_K_DECISION));
	fprintf(f, "</b> on %.0f samples replayed through both versions, fidelity %.3f "
		"(stable's replayed verdict equal to its live one).",
		jnum(sh, CANARY_K_SAMPLES, 0), jnum(sh, CANARY_K_FIDELITY, NAN));
	if (jstr(sh, CANARY_K_HARM)[0]) {
		fputs(" ", f);
		esc(f, jstr(sh, CANARY_K_HARM));
	}
	fputs("</p>\n<table class=\"matrix\"><tr><th>stable \\ candidate</th>", f);
	for (b = 0; b < CANARY_V_MAX; b++)
		fprintf(f, "<th>%s</th>", canary_verdict_name(b));
	fputs("</tr>\n", f);
	for (a = 0; a < CANARY_V_MAX; a++) {
		fprintf(f, "<tr><th>%s</th>", canary_verdict_name(a));
		for (b = 0; b < CANARY_V_MAX; b++)
			fprintf(f, "<td%s>%llu</td>", a != b && n[a][b] ? " class=\"differ\"" : "",
				(unsigned long long)n[a][b]);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<ul>\n", f);
	json_array_foreach(cells, i, c) {
		if (!strcmp(jstr(c, CANARY_K_STABLE), jstr(c, CANARY_K_CANDIDATE)))
			continue;
		ex = json_object_get(c, CANARY_K_EXAMPLES);
		json_array_foreach(ex, k, rec) {
			fputs("<li>", f);
			esc(f, jstr(c, CANARY_K_STABLE));
			fputs(" &rarr; ", f);
			esc(f, jstr(c, CANARY_K_CANDIDATE));
			fputs(": ", f);
			esc(f, jstr(rec, "frame"));
			fputs("</li>\n", f);
		}
	}
	fputs("</ul>\n", f);
}

int canary_report__html(FILE *f, const char *rollout_id, const json_t *rollout,
			const struct canary_series *s)
{
	const json_t *events = json_object_get(rollout, "events"), *rec, *dec, *cand;
	struct span sp = { INFINITY, -INFINITY };
	char when[64];
	size_t i;
	int what;

	dec = decision_of(events);
	json_array_foreach(events, i, rec) {
		double t = jnum(rec, "time_ms", NAN);

		if (isfinite(t)) {
			sp.t0 = fmin(sp.t0, t);
			sp.t1 = fmax(sp.t1, t);
		}
	}
	if (s && s->nr) {
		sp.t0 = fmin(sp.t0, (double)s->p[0].t0_ms);
		sp.t1 = fmax(sp.t1, (double)s->p[s->nr - 1].t1_ms);
	}
	if (!isfinite(sp.t0))
		sp.t0 = sp.t1 = 0;
	if (sp.t1 - sp.t0 < 1000)
		sp.t1 = sp.t0 + 1000;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
	      "Rollout ", f);
	esc(f, rollout_id);
	fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>Rollout ", css);
	esc(f, rollout_id);
	fputs("</h1>\n<p>", f);
	cand = json_object_get(rollout, "candidate");
	fputs("Candidate <b>", f);
	esc(f, jstr(cand, "object"));
	if (jstr(cand, "program")[0]) {
		fputc(':', f);
		esc(f, jstr(cand, "program"));
	}
	fmt_time(when, sizeof(when), sp.t0);
	fprintf(f, "</b> on <b>");
	esc(f, jstr(rollout, "interface"));
	fprintf(f, "</b>, from %s, %.1f s; started by ", when, (sp.t1 - sp.t0) / 1000);
	esc(f, jstr(rollout, "started_by"));
	fputs("; outcome <b>", f);
	esc(f, rollout ? jstr(rollout, "outcome") : "unknown (no history)");
	fputs("</b>.</p>\n", f);
	legend(f);
	if (!s || !s->nr)
		fputs("<p><b>No per-interval series for this rollout</b> (its series file is "
		      "missing): rates are not drawn; the share comes from the events.</p>\n", f);
	else
		fprintf(f, "<p>%u points of the series (intervals; adjacent ones merged beyond "
			"%d), each at its interval's middle. Where the rates agree, the "
			"candidate's line runs inside the stable one.</p>\n", s->nr, CANARY_SERIES_MAX);
	share_panel(f, &sp, events, dec, s);
	for (what = 0; what < 3; what++)
		rate_panel(f, &sp, events, dec, s, what);
	evidence(f, dec);
	shadow_matrix(f, events);
	event_table(f, events, sp.t0);
	fputs("</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
