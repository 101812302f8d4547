#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs each unit test binary under valgrind (memcheck; fair scheduling, or a
# thread spinning on a flag can starve the one that would set it): a memory error or a
# definite leak fails it. test_judge's 150-rollout A/A calibration runs
# CANARY_AA_RUNS (20) rollouts instead: the bound scales with the count, and
# the rollouts are seeded, so the result is the same on every run; test_sim
# runs two rollouts per family without bounds.
#   tests/valgrind.sh BIN...
set -u
cd "$(dirname "$0")/.."
export CANARY_BUILD=${CANARY_BUILD:-$PWD/build}
export CANARY_AA_RUNS=${CANARY_AA_RUNS:-20}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests must run as root (BPF, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
failed=0
for t in "$@"; do
	log=$(mktemp)
	t0=$(date +%s)
	if valgrind -q --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions=tests/valgrind.supp \
		"$t" >"$log" 2>&1; then
		printf 'PASS  %-40s %4ds\n' "$(basename "$t")" $(($(date +%s) - t0))
	else
		printf 'FAIL  %s\n' "$(basename "$t")"
		sed 's/^/    | /' "$log"
		failed=$((failed + 1))
	fi
	rm -f "$log"
done
[ "$failed" -eq 0 ]
