// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

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

static void canary_vlog(enum canary_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return;
	if (!log_sink) {
		vfprintf(stderr, fmt, ap);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_sink(level, msg);
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
