#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 3 as the issue states it: 200 back-to-back promote/rollback cycles
# while the dispatcher handles >= 1 Mpps (from its counters), zero packets
# lost per flow, none handled by no version. Up to 5 runs: other load
# on a 2-core machine slows the generator (see tests/swaps_at_rate.test.sh).
cd "$(dirname "$0")/.."
MIN_PPS=${MIN_PPS:-1000000} ATTEMPTS=${ATTEMPTS:-5} LEAD=${LEAD:-2} \
	exec bash tests/swaps_at_rate.test.sh
