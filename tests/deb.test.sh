#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Debian package: `make deb` (debhelper, in a copy of the tree; lintian
# with no error) when the .deb is missing or older than the tree, then
# dpkg --root installs it into a scratch root with its own dpkg database:
# the binaries (run from there), the unit, the man pages (rendered without
# warnings), the example config and the versions it names, the docs, the
# conffile; dpkg --purge leaves nothing behind. Negative check: the file
# check fails on a root with one file taken away.
set -u
cd "$(dirname "$0")/.."
B=${CANARY_BUILD:-build}
ROOT=$(mktemp -d /tmp/canary-deb.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

deb=$(ls "$B"/deb/canaryd_*.deb 2>/dev/null | head -1)
stale=
[ -n "$deb" ] && stale=$(find Makefile debian man canaryd canaryctl lib rollout bpf examples contrib \
	README.md docs -newer "$deb" -type f 2>/dev/null | head -1)
if [ -z "$deb" ] || [ -n "$stale" ]; then
	t0=$(date +%s)
	out=$(make -s deb O="$B" 2>&1) || fail "make deb failed: $(tail -30 <<<"$out")"
	echo "make deb: built in $(($(date +%s) - t0)) s${stale:+ ($stale changed)}," \
		"lintian: $(grep -cE '^E:' <<<"$out") errors, $(grep -cE '^W:' <<<"$out") warnings"
	deb=$(ls "$B"/deb/canaryd_*.deb | head -1)
fi
[ -f "$deb" ] || fail "no .deb in $B/deb"

R=$ROOT/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status"
# The scratch root's database is empty: the libraries the host has count.
dpkg --root="$R" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" \
	>"$ROOT/dpkg.log" 2>&1 || fail "dpkg -i into $R failed: $(cat "$ROOT/dpkg.log")"
dpkg --root="$R" -s canaryd 2>/dev/null | grep -qx 'Status: install ok installed' ||
	fail "canaryd is not 'install ok installed' in the scratch root"

want="/etc/canaryd/canaryd.ini.example
/usr/bin/canary-webhook-receiver
/usr/bin/canaryctl
/usr/sbin/canaryd
/usr/lib/systemd/system/canaryd.service
/usr/share/man/man1/canary-webhook-receiver.1.gz
/usr/share/man/man5/canaryd.ini.5.gz
/usr/share/man/man8/canaryctl.8.gz
/usr/share/man/man8/canaryd.8.gz
/usr/share/bash-completion/completions/canaryctl
/usr/share/doc/canaryd/README.md
/usr/share/doc/canaryd/DESIGN.md.gz
/usr/share/doc/canaryd/JUDGE.md.gz
/usr/share/doc/canaryd/copyright
/usr/share/doc/canaryd/changelog.gz
$(for v in bpf/versions/*.bpf.c; do echo "/usr/lib/canaryd/versions/$(basename "${v%.c}").o"; done)"

# check_files ROOT: each wanted file is there (and in dpkg's list), or its name.
check_files() {
	local f list
	list=$(dpkg --root="$1" -L canaryd)
	while read -r f; do
		[ -f "$1$f" ] && grep -qxF "$f" <<<"$list" || echo "$f"
	done <<<"$want"
}
m=$(check_files "$R")
[ -z "$m" ] || fail "missing from the installed package: $(echo $m)"

for x in usr/sbin/canaryd usr/bin/canaryctl usr/bin/canary-webhook-receiver; do
	[ -x "$R/$x" ] || fail "$x is not executable"
	"$R/$x" --help >/dev/null 2>&1 || fail "$x --help failed"
done
"$R/usr/bin/canaryctl" --help | grep -q 'preflight' || fail "the installed canaryctl has no preflight"
unit=$R/usr/lib/systemd/system/canaryd.service
grep -qx 'ExecStart=/usr/sbin/canaryd -c /etc/canaryd/canaryd.ini' "$unit" ||
	fail "unit ExecStart is not /usr/sbin/canaryd: $(grep ExecStart "$unit")"
grep -q '^Documentation=man:canaryd(8)' "$unit" || fail "unit does not name canaryd(8)"
for p in man8/canaryd.8.gz man8/canaryctl.8.gz man5/canaryd.ini.5.gz \
	man1/canary-webhook-receiver.1.gz; do
	w=$(MANWIDTH=80 man -l --warnings "$R/usr/share/man/$p" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "installed $p warns: $w"
	[ "$(MANWIDTH=80 man -l "$R/usr/share/man/$p" 2>/dev/null | wc -l)" -gt 40 ] ||
		fail "installed $p renders short"
done
for obj in $(sed -n 's/^stable = \([^:]*\).*/\1/p' "$R/etc/canaryd/canaryd.ini.example"); do
	[ -f "$R$obj" ] || fail "the example config names $obj, not in the package"
done
grep -qx /etc/canaryd/canaryd.ini.example "$R/var/lib/dpkg/info/canaryd.conffiles" ||
	fail "the example config is not a conffile"
n=$(dpkg --root="$R" -L canaryd | wc -l)

# Negative: the check sees a file taken away.
rm "$R/usr/share/man/man8/canaryctl.8.gz"
m=$(check_files "$R")
[ "$m" = /usr/share/man/man8/canaryctl.8.gz ] || fail "a removed man page: the check found '$m'"

dpkg --root="$R" --force-script-chrootless --log=/dev/null --purge canaryd >"$ROOT/dpkg.log" 2>&1 ||
	fail "dpkg --purge failed: $(cat "$ROOT/dpkg.log")"
left=$(find "$R" -path "$R/var/lib/dpkg" -prune -o -type f -print)
[ -z "$left" ] || fail "dpkg --purge left: $left"
echo "$(basename "$deb"): installed into a scratch root with dpkg --root ($n paths): binaries" \
	"run, unit, 4 man pages without warnings, example config and its versions, docs," \
	"conffile; a missing file is caught; purge leaves nothing"
