#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# contrib/bash-completion/canaryctl, sourced into bash and driven as
# readline would (COMP_WORDS, COMP_CWORD, then _canaryctl): commands and
# their prefixes, options per command, interface names from a real canaryd
# managing two interfaces (through --socket before or after the command, and
# $CANARYD_SOCKET), object and capture files; nothing from a dead socket.
# Twice: with Debian's bash-completion library loaded (_filedir) and without.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

COMPLETION=$PWD/contrib/bash-completion/canaryctl
BASH_COMPLETION_LIB=/usr/share/bash-completion/bash_completion

cb_create 50,100 60s 200ms || fail "cannot create the test bed"
GEN2="${TB_ID}g1" DUT2="${TB_ID}d1"
ip link add "$GEN2" netns "$TB_GEN" type veth peer name "$DUT2" netns "$TB_DUT" ||
	fail "cannot create the second veth pair"
ip -n "$TB_GEN" link set "$GEN2" up
ip -n "$TB_DUT" link set "$DUT2" up
printf '\n[interface %s]\nmode = native\nstable = %s\n' "$DUT2" "$B/versions/fw_v1.bpf.o" \
	>>"$CB_TMP/canaryd.ini"
cb_start_daemon || fail "canaryd did not come up"
SOCK=$CB_TMP/canaryd.sock
IF1=$TB_DUT_IF
$CTL -j status | grep -q "\"$DUT2\"" || fail "canaryd does not manage $DUT2"

# Files to complete: objects, a capture, other files, a directory.
F=$CB_TMP/files
mkdir -p "$F/dir"
touch "$F/fw_a.bpf.o" "$F/fw_b.bpf.o" "$F/notes.txt" "$F/traffic.pcap"

# The checks, run in a fresh bash (with or without the library): each
# "want WORDS... -- EXPECTED..." completes the command line WORDS (the last
# one is the word being completed, may be "") and compares the sorted
# replies with EXPECTED.
run_checks() {
	local lib=$1
	CTLBIN=$B/canaryctl SOCK=$SOCK IF1=$IF1 IF2=$DUT2 F=$F LIB=$lib COMPLETION=$COMPLETION \
		bash --norc --noprofile <<'CHECKS'
set -u
[ -n "$LIB" ] && . "$LIB"
. "$COMPLETION"
complete -p canaryctl >/dev/null || { echo "FAIL: no completion registered for canaryctl"; exit 1; }
bad=0 n=0
want() {
	local words=() exp=() got
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	exp=("$@")
	COMP_WORDS=("$CTLBIN" "${words[@]}")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_canaryctl 2>/dev/null
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
	exp=$(printf '%s\n' "${exp[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
	n=$((n + 1))
	if [ "$got" != "$exp" ]; then
		echo "FAIL: canaryctl ${words[*]}<TAB>: got '$got', want '$exp'"
		bad=$((bad + 1))
	fi
}
# Commands and prefixes; global options.
want "" -- status start pause resume promote abort revert prepare pin release capture preflight history report help
want st -- status start
want re -- resume revert report release
want h -- history help
want p -- pause promote prepare pin preflight
want --socket "$SOCK" -j "" -- status start pause resume promote abort revert prepare pin release capture preflight history report help
want - -- --socket -j --json -h --help
want bogus "" --
want help "" --
# Options per command, as canaryctl.c parses them.
want start - -- --steps --step-time --warmup --shadow --shadow-live --no-shadow-live --prepare --set --pin --wait --socket -j --json -h --help
want pin - -- --clear --socket -j --json -h --help
want start "$IF1" --pin "" --
want status --w -- --watch
want pause --w -- --wait
want revert - -- --wait --socket -j --json -h --help
want stat - -- --watch --socket -j --json -h --help
want preflight - -- --pcap --max-diff --verbose -v -j --json -h --help
want history - -- --state-dir --config -c --socket -j --json -h --help
want report - -- --output -o --state-dir --config -c --socket -j --json -h --help
want capture - -- --write -w --count -c --version --timeout --rate --snaplen -s --socket -j --json -h --help
want c -- capture
want capture --version "" -- stable candidate
want capture "$IF1" -c "" --
want start --steps "" --
want start "$IF1" --step-time "" --
want preflight --max-diff "" --
# Interfaces from the daemon: --socket before the command, after it, or
# $CANARYD_SOCKET.
want --socket "$SOCK" status "" -- "$IF1" "$IF2"
want --socket "$SOCK" start "" -- "$IF1" "$IF2"
want --socket "$SOCK" promote "${IF1%?}" -- "$IF1" "$IF2"
want --socket "$SOCK" promote "$IF1" -- "$IF1"
want -j revert --socket "$SOCK" "" -- "$IF1" "$IF2"
want --socket="$SOCK" abort "" -- "$IF1" "$IF2"
want --socket "$SOCK" rev --wait "" -- "$IF1" "$IF2"
want --socket "$SOCK" status "$IF1" "" --
want --socket "$SOCK" pause "$IF1" "" --
want --socket "$SOCK" history "" -- "$IF1" "$IF2"
want --socket "$SOCK" pin "" -- "$IF1" "$IF2"
want --socket "$SOCK" capture "" -- "$IF1" "$IF2"
want --socket "$SOCK" capture "$IF1" "" --
want --socket "$SOCK" pin "$IF1" "" --
want --socket "$SOCK" history "$IF1" "" --
CANARYD_SOCKET=$SOCK want resume "" -- "$IF1" "$IF2"
want --socket "$F/no-such.sock" status "" --
# Files: the candidate object, the capture, the pre-flight objects.
want --socket "$SOCK" start "$IF1" "$F/fw_" -- "$F/fw_a.bpf.o" "$F/fw_b.bpf.o"
want --socket "$SOCK" start "$IF1" "$F/fw_a.bpf.o" "" --
want preflight --pcap "$F/tr" -- "$F/traffic.pcap"
want capture "$IF1" -w "$F/tr" -- "$F/traffic.pcap"
want preflight --pcap "$F/traffic.pcap" "$F/fw_a" -- "$F/fw_a.bpf.o"
want preflight --pcap "$F/traffic.pcap" "$F/fw_a.bpf.o" "$F/fw_b" -- "$F/fw_b.bpf.o"
want preflight --pcap "$F/traffic.pcap" "$F/fw_a.bpf.o" "$F/fw_b.bpf.o" "" --
want --socket "$F/no" -- "$F/notes.txt"
want report x-1 --state-dir "$F/d" -- "$F/dir"
if [ -n "$LIB" ]; then
	# _filedir filters by extension and offers directories.
	want --socket "$SOCK" start "$IF1" "$F/" -- "$F/dir" "$F/fw_a.bpf.o" "$F/fw_b.bpf.o"
	want preflight --pcap "$F/" -- "$F/dir" "$F/traffic.pcap"
fi
echo "$n completions checked, $bad wrong"
[ "$bad" -eq 0 ]
CHECKS
}

# No drift from canaryctl: its usage is generated from the option tables that
# parse, so every long option and command it prints is one it parses.
help=$($B/canaryctl --help 2>&1)
opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sed 's/^--//' | sort -u)
[ "$(wc -l <<<"$opts")" -ge 8 ] || fail "cannot read canaryctl's options from its --help: $opts"
for o in $opts; do
	grep -q -- "--$o\b" "$COMPLETION" || fail "canaryctl parses --$o; the completion does not offer it"
done
cmds=$(grep -o '^\(Usage:\)\? *canaryctl \[--socket PATH\] \[-j\] [a-z]*' <<<"$help" | awk '{ print $NF }')
[ "$(wc -w <<<"$cmds")" -ge 8 ] || fail "cannot read canaryctl's commands from its --help: $cmds"
for c in $cmds; do
	grep -q "^_canaryctl_commands=.*\b$c\b" "$COMPLETION" || fail "command $c is not completed"
done
echo "completion offers canaryctl's $(wc -l <<<"$opts") long options and $(wc -w <<<"$cmds") commands"

# make install puts it where bash-completion's on-demand loader finds it
# ($XDG_DATA_DIRS/bash-completion/completions/canaryctl).
DEST=$CB_TMP/dest
make -s install DESTDIR="$DEST" PREFIX=/usr >/dev/null || fail "make install failed"
cmp -s "$COMPLETION" "$DEST/usr/share/bash-completion/completions/canaryctl" ||
	fail "make install did not install the completion"
XDG_DATA_DIRS=$DEST/usr/share bash --norc --noprofile -c ". $BASH_COMPLETION_LIB &&
	__load_completion canaryctl && complete -p canaryctl" | grep -q -- '-F _canaryctl canaryctl$' ||
	fail "bash-completion's loader does not load the installed completion"
echo "make install: \$(PREFIX)/share/bash-completion/completions/canaryctl, loaded on demand"

run_checks "$BASH_COMPLETION_LIB" || fail "completions with the bash-completion library"
echo "with $BASH_COMPLETION_LIB: ok"
run_checks "" || fail "completions without the bash-completion library"
echo "without the library (compgen -f): ok"
echo PASS
