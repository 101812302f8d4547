/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A levelled logger that also owns libbpf's and libxdp's output. */
#ifndef CANARY_LOG_H
#define CANARY_LOG_H

enum canary_log_level {
	CANARY_LOG_WARN = 0,
	CANARY_LOG_INFO = 1,
	CANARY_LOG_DEBUG = 2,
};

void canary_log_set_level(enum canary_log_level level);
enum canary_log_level canary_log_get_level(void);
/* Route libbpf and libxdp messages into our logger, one level quieter. */
void canary_log_init_libs(void);
void canary_log(enum canary_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Hand every message that passes the level to FN instead of writing it to
 * stderr (NULL: stderr again). For tools that report errors their own way.
 */
typedef void (*canary_log_sink_fn)(enum canary_log_level level, const char *msg);
void canary_log_set_sink(canary_log_sink_fn fn);

#define pr_warn(...) canary_log(CANARY_LOG_WARN, __VA_ARGS__)
#define pr_info(...) canary_log(CANARY_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) canary_log(CANARY_LOG_DEBUG, __VA_ARGS__)

#endif
