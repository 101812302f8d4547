#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs each libFuzzer target for SECONDS, one at a time in one process (one core), from the seeds in
# tests/fuzz/corpus/NAME (and regress/NAME); new inputs go to BUILD/fuzz/corpus/NAME,
# crashes to BUILD/fuzz/artifacts/. Prints executions and coverage per target.
#   tests/fuzz/run.sh BUILD SECONDS NAME...
set -u
cd "$(dirname "$0")/../.."
build=$1 secs=$2
shift 2

# -max_len per target: configs and requests are text lines, the state file is
# a header and one struct (a few KiB); a bit more than that finds truncation
# and trailing-byte bugs.
max_len() {
	case $1 in
	fuzz_config) echo 16384 ;;
	fuzz_request) echo 4096 ;;
	fuzz_history) echo 16384 ;;
	fuzz_state) echo $(( $(stat -c %s "$build/fuzz/corpus/fuzz_state/idle.state") + 64 )) ;;
	*) echo 4096 ;;
	esac
}

status=0
for name in "$@"; do
	work=$build/fuzz/corpus/$name
	mkdir -p "$work" "$build/fuzz/artifacts"
	[ "$name" = fuzz_state ] && "$build/fuzz/gen_state_seeds" "$work"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	seeds=(tests/fuzz/corpus/"$name")
	[ -d "tests/fuzz/regress/$name" ] && seeds+=(tests/fuzz/regress/"$name")
	log=$build/fuzz/$name.log
	"$build/fuzz/$name" -max_total_time="$secs" -max_len="$(max_len "$name")" \
		-print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$name-" \
		"${dict[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		printf '%-14s FAILED (exit %d): see %s and %s\n' "$name" "$rc" "$log" \
			"$build/fuzz/artifacts/"
		grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log" | sed 's/^/    /'
		status=1
	else
		printf '%-14s %s executions in %s s, %s\n' "$name" "${execs:-?}" "$secs" "${cov:-?}"
	fi
done
exit $status
