#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make test-stress: every test of `make test` while stress-ng keeps every
# core busy, to show that no test depends on how fast or idle the machine is.
# STRESS_CPUS (default: all cores) sets how many workers load it.
set -u
cd "$(dirname "$0")/.."
command -v stress-ng >/dev/null ||
	{ echo "stress-ng is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
cpus=${STRESS_CPUS:-$(nproc)}
stress-ng --cpu "$cpus" --timeout 3600s --quiet &
load=$!
trap 'kill "$load" 2>/dev/null; wait "$load" 2>/dev/null' EXIT
echo "stress-ng --cpu $cpus running (pid $load)"
tests/run.sh "$@"
