#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Replays every seed (tests/fuzz/corpus/NAME) and every input that once
# crashed (tests/fuzz/regress/NAME) through its libFuzzer target, once each:
# a crash, a sanitizer report or a broken invariant fails the test.
set -eu
cd "$(dirname "$0")/.."
B=${CANARY_BUILD:-$PWD/build}

n=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$B/fuzz/$name
	[ -x "$bin" ] || { echo "$bin missing: run make"; exit 1; }
	files=()
	for d in tests/fuzz/corpus/"$name" tests/fuzz/regress/"$name"; do
		[ -d "$d" ] && files+=("$d"/*)
	done
	[ "${#files[@]}" -gt 0 ] || { echo "$name: no seeds in tests/fuzz/corpus/$name"; exit 1; }
	# Given files, a libFuzzer binary runs each once and exits non-zero on a crash.
	if ! "$bin" -runs=1 "${files[@]}" >"$B/fuzz/$name.regress.log" 2>&1; then
		grep -E 'ERROR|runtime error|SUMMARY|Running' "$B/fuzz/$name.regress.log" | tail -5
		echo "$name: an input fails (log: $B/fuzz/$name.regress.log)"
		exit 1
	fi
	n=$((n + ${#files[@]}))
done
echo "$n inputs replayed"
