#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 4 in full (make test-long): 20 kill -9 trials, the five chosen
# points then random moments (about 2.5 min); make test runs the five.
exec env CRASH_TRIALS="${CRASH_TRIALS:-20}" bash "$(dirname "$0")/crash.test.sh"
