#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Test runner: every $CANARY_BUILD/tests/test_* binary (cmocka; default build/) and every
# tests/*.test.sh scenario. Prints PASS/FAIL per test, the captured output
# only on failure, and a closing "N passed, N failed" line.
# tests/run.sh --long runs the slow scenarios, tests/*.long.sh, instead;
# tests/run.sh --check only the unit tests that need no privileges (any user).
set -u
cd "$(dirname "$0")/.."
export CANARY_BUILD=${CANARY_BUILD:-$PWD/build}

long= check=
case "${1:-}" in
--long) long=1; shift ;;
# The unit tests that need no privileges (no BPF, no namespaces), for any user.
--check) check=1; shift ;;
esac
# The list is the Makefile's (make check): one list.
if [ -n "$check" ] && [ -z "${CHECK_TESTS:-}" ]; then
	echo "tests/run.sh --check: set CHECK_TESTS, or run make check" >&2
	exit 1
fi

if [ -z "$check" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "tests must run as root (BPF, network namespaces); 'make check' runs the" \
			"unit tests that need no privileges" >&2
		exit 1
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf ||
			{ echo "cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }
	fi
fi
filter=${1:-}
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1; shift
	local t0 t1
	t0=$(date +%s.%N)
	# A hung test fails on its own instead of eating CI's 90 minutes.
	if timeout "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1; then
		t1=$(date +%s.%N)
		printf 'PASS  %-40s %6.1fs\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
		passed=$((passed + 1))
	else
		printf 'FAIL  %s\n' "$name"
		sed 's/^/    | /' "$log"
		failed=$((failed + 1))
	fi
}

for t in "$CANARY_BUILD"/tests/test_*; do
	[ -n "$long" ] && break
	[ -x "$t" ] || continue
	name=$(basename "$t")
	[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
	[ -n "$check" ] && [[ " $CHECK_TESTS " != *" $name "* ]] && continue
	run_one "$name" "$t"
done
for t in tests/*.test.sh tests/*.long.sh; do
	[ -n "$check" ] && break
	[ -f "$t" ] || continue
	is_long=
	[[ $t == *.long.sh ]] && is_long=1
	[ "$is_long" = "$long" ] || continue
	name=$(basename "$t" .test.sh)
	name=${name%.sh}
	[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
	run_one "$name" bash "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
