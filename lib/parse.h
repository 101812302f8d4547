/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Parsers shared by the daemon's config, its control protocol and canaryctl. */
#ifndef CANARY_PARSE_H
#define CANARY_PARSE_H

#include <stddef.h>
#include <linux/types.h>

/* Leading decimal digits of *S into N, moving *S past them. 0, -EINVAL, -ERANGE. */
int canary_parse_digits(const char **s, __u64 *n);

/*
 * Parse a duration: "250ms", "1s", "1.5s", "5m", "1h"; a bare number is
 * seconds. A fraction must come to whole milliseconds ("0.5ms" does not).
 * The one duration parser: canaryd's config and canaryctl both use it.
 * 0, -EINVAL (empty, sign, space, unknown unit, finer than 1 ms) or -ERANGE
 * (more milliseconds than a __u64 holds).
 */
int canary_parse_duration_ms(const char *s, __u64 *ms);

/*
 * Split "OBJECT[:PROGRAM]" into its parts; PROGRAM is a C identifier, so a
 * ':' followed by a '/' is part of the object's path. 0 or
 * -EINVAL/-ENAMETOOLONG.
 */
int canary_split_objprog(const char *spec, char *obj, size_t objlen, char *prog, size_t proglen);

/*
 * The next "NAME=VALUE" of a comma-separated list at *SPEC (config `set`,
 * canaryctl start --set), moving *SPEC past it: NAME a C identifier, VALUE
 * anything but a comma (may be empty). 1 with NAME and VALUE filled, 0 at
 * the end of the list, -EINVAL for a malformed item, -ENAMETOOLONG when a
 * part does not fit.
 */
int canary_assign__next(const char **spec, char *name, size_t nlen, char *value, size_t vlen);

/*
 * An integer VALUE for a variable of SIZE bytes (1, 2, 4, 8): decimal or
 * 0x hex, a '-' only when SIGNED; true/false (1/0) too. Into *OUT as the
 * variable's bit pattern. 0, -EINVAL (not a number) or -ERANGE (does not
 * fit SIZE bytes).
 */
int canary_parse_int_value(const char *value, unsigned int size, int is_signed, __u64 *out);

#endif
