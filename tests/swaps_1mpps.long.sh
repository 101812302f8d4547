#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scenario 3 at rate: 200 back-to-back promote/rollback cycles in a run where
# the dispatcher handles >= 1 Mpps (from its counters), zero packets lost
# per flow, none handled by no version, and >= 1 Mpps also during the swaps
# themselves (see tests/swaps_at_rate.test.sh). Up to 5 runs: other load
# on a 2-core machine slows the generator (see tests/swaps_at_rate.test.sh).
cd "$(dirname "$0")/.."
MIN_PPS=${MIN_PPS:-1000000} MIN_SWAP_PPS=${MIN_SWAP_PPS:-1000000} ATTEMPTS=${ATTEMPTS:-5} LEAD=${LEAD:-2} \
	exec bash tests/swaps_at_rate.test.sh
