#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The man pages (man/*.scd, built by make into build/man/): each renders with
# man -l without a single warning, and has an entry for every name of the
# parsers' own tables:
#   canaryctl(8)   every command and option of canaryctl --help (generated
#                  from canaryctl's option tables);
#   canaryd(8)     every option of canaryd --help (its option table);
#   canaryd.ini(5) every key of build/config_keys (the config parser's key
#                  table, canaryd/config_keys.c);
#   canary-webhook-receiver(1)  every option of webhook_receiver --help.
# An entry is a tagged paragraph's term: "status ...", "-j, --json",
# "socket = ...". Negative checks: a page with one entry taken out, and a
# page with a bad request, must fail.
set -u
cd "$(dirname "$0")/.."
B=${CANARY_BUILD:-build}
TMP=$(mktemp -d /tmp/canary-man.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

for f in $B/man/canaryd.8 $B/man/canaryctl.8 $B/man/canaryd.ini.5 \
	$B/man/canary-webhook-receiver.1 $B/canaryctl $B/canaryd $B/config_keys $B/webhook_receiver; do
	[ -e "$f" ] || fail "$f is missing (make all tests)"
done

# The warnings of man -l (groff -ww through man-db), empty when clean.
warnings() {
	MANWIDTH=80 man -l --warnings "$1" 2>&1 >/dev/null
}

render() {
	MANWIDTH=80 MAN_KEEP_FORMATTING= man -l "$1" 2>/dev/null | col -b
}

# missing PAGE KIND NAME...: the NAMEs without an entry in PAGE, one per line.
# KIND: cmd (a line "NAME" or "NAME ..."), opt ("--NAME" or "-X, --NAME"),
# key ("NAME = ...").
missing() {
	local page=$1 kind=$2 text n re
	shift 2
	text=$(render "$page")
	[ -n "$text" ] || { echo "(page does not render)"; return; }
	for n in "$@"; do
		case $kind in
		cmd) re="^ {7}$n( |\$)" ;;
		opt) re="^ {7}(-[a-zA-Z], )?--$n( |\$)" ;;
		key) re="^ {7}$n = " ;;
		esac
		grep -Eq "$re" <<<"$text" || echo "$n"
	done
}

# The names, from the programs' generated help and the key table.
ctl_help=$($B/canaryctl --help)
ctl_cmds=$(sed -nE 's/^(Usage:| ) +canaryctl \[--socket PATH\] \[-j\] ([a-z]+).*/\2/p' <<<"$ctl_help")
ctl_opts=$(grep -E '^    -' <<<"$ctl_help" | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u)
d_opts=$($B/canaryd --help | grep -E '^    -' | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u)
keys=$($B/config_keys | awk '{ print $2 }')
r_opts=$($B/webhook_receiver --help | grep -E '^    -' | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u)
[ "$(wc -w <<<"$r_opts")" -ge 9 ] || fail "webhook_receiver --help: only options '$r_opts'"
[ "$(wc -w <<<"$ctl_cmds")" -ge 9 ] || fail "canaryctl --help: only commands '$ctl_cmds'"
[ "$(wc -w <<<"$ctl_opts")" -ge 11 ] || fail "canaryctl --help: only options '$ctl_opts'"
[ "$(wc -w <<<"$d_opts")" -ge 3 ] || fail "canaryd --help: only options '$d_opts'"
[ "$(wc -w <<<"$keys")" -ge 50 ] || fail "config_keys: only $(wc -w <<<"$keys") keys"

for p in canaryd.8 canaryctl.8 canaryd.ini.5 canary-webhook-receiver.1; do
	w=$(warnings "$B/man/$p")
	[ -z "$w" ] || fail "man -l $p warns: $w"
done

m=$(missing $B/man/canaryctl.8 cmd $ctl_cmds; missing $B/man/canaryctl.8 opt $ctl_opts)
[ -z "$m" ] || fail "canaryctl(8) has no entry for: $(echo $m)"
m=$(missing $B/man/canaryd.8 opt $d_opts)
[ -z "$m" ] || fail "canaryd(8) has no entry for: $(echo $m)"
m=$(missing $B/man/canaryd.ini.5 key $keys)
[ -z "$m" ] || fail "canaryd.ini(5) has no entry for: $(echo $m)"
m=$(missing $B/man/canary-webhook-receiver.1 opt $r_opts)
[ -z "$m" ] || fail "canary-webhook-receiver(1) has no entry for: $(echo $m)"

# Negative checks: an entry taken out is caught, by name; so is a warning.
grep -v '^\*drop_safety =\*' man/canaryd.ini.5.scd | scdoc >"$TMP/ini.5" ||
	fail "scdoc failed on the trimmed page"
m=$(missing "$TMP/ini.5" key $keys)
[ "$m" = drop_safety ] || fail "a page without drop_safety: the check found '$m'"
grep -v '^\*--warmup\* _DURATION_$' man/canaryctl.8.scd | scdoc >"$TMP/ctl.8" ||
	fail "scdoc failed on the trimmed page"
m=$(missing "$TMP/ctl.8" opt $ctl_opts)
[ "$m" = warmup ] || fail "a page without --warmup: the check found '$m'"
{ cat "$B/man/canaryd.8"; printf '.no_such_request\n'; } >"$TMP/bad.8"
[ -n "$(warnings "$TMP/bad.8")" ] || fail "man -l --warnings does not report a bad request"

echo "canaryctl(8): $(wc -w <<<"$ctl_cmds") commands, $(wc -w <<<"$ctl_opts") options;" \
	"canaryd(8): $(wc -w <<<"$d_opts") options; canaryd.ini(5): $(wc -w <<<"$keys") keys;" \
	"canary-webhook-receiver(1): $(wc -w <<<"$r_opts") options;" \
	"no warnings; a missing entry and a bad request are caught"
