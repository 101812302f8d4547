// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>	/* the SD_* level prefixes only: no libsystemd call */

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

static enum canary_log_level log_level = CANARY_LOG_INFO;
static canary_log_sink_fn log_sink;

void canary_log_set_sink(canary_log_sink_fn fn)
{
	log_sink = fn;
}

void canary_log_set_level(enum canary_log_level level)
{
	log_level = level;
}

enum canary_log_level canary_log_get_level(void)
{
	return log_level;
}

/*
 * Under systemd, stderr is a stream to journald, and JOURNAL_STREAM holds
 * its "device:inode" (systemd.exec(5)). Compared with stderr's, so a child
 * whose stderr was redirected elsewhere does not write prefixes to a file.
 */
static bool to_journal(void)
{
	static int journal = -1;
	unsigned long long dev, ino;
	const char *js;
	struct stat st;

	if (journal < 0) {
		js = getenv("JOURNAL_STREAM");
		journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
			  st.st_dev == dev && st.st_ino == ino;
	}
	return journal;
}

static const char *journal_prefix(enum canary_log_level level)
{
	switch (level) {
	case CANARY_LOG_WARN: return SD_WARNING;
	case CANARY_LOG_INFO: return SD_INFO;
	default: return SD_DEBUG;
	}
}

/*
 * journald reads a "<N>" priority at the start of every line: prefix each
 * line of the message, also the lines of a multi-line verifier log. A
 * message may end mid-line (libbpf sometimes prints a line in pieces); the
 * next one then continues it without a prefix.
 */
static void journal_vlog(enum canary_log_level level, const char *fmt, va_list ap)
{
	static bool at_line_start = true;
	char buf[1024], *msg = buf, *line, *nl;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf)) {
		msg = malloc(n + 1);
		if (msg)
			vsnprintf(msg, n + 1, fmt, aq);
		else
			msg = buf;	/* cut, but logged */
	}
	va_end(aq);
	if (n < 0)
		return;
	for (line = msg; *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (at_line_start)
			fputs(journal_prefix(level), stderr);
		fwrite(line, 1, nl - line, stderr);
		at_line_start = nl[-1] == '\n';
	}
	if (msg != buf)
		free(msg);
}

static void canary_vlog(enum canary_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return;
	if (log_sink) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		log_sink(level, msg);
	} else if (to_journal()) {
		journal_vlog(level, fmt, ap);
	} else {
		vfprintf(stderr, fmt, ap);
	}
}

void canary_log(enum canary_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	canary_vlog(level, fmt, ap);
	va_end(ap);
}

/* Library warnings become our info, library info our debug. */
static enum canary_log_level quieter(int lib_level, int warn, int info)
{
	if (lib_level == warn)
		return CANARY_LOG_INFO;
	if (lib_level == info)
		return CANARY_LOG_DEBUG;
	return CANARY_LOG_DEBUG + 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	canary_vlog(quieter(level, LIBBPF_WARN, LIBBPF_INFO), fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	canary_vlog(quieter(level, LIBXDP_WARN, LIBXDP_INFO), fmt, ap);
	return 0;
}

void canary_log_init_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
