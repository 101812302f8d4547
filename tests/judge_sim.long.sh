#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The judge through the engine on flow-level traffic, full counts: 1,000 A/A
# rollouts per traffic family (false rollbacks <= 1 %, promoted >= 95 % where
# the exposure is reachable) and 200 per kind of harm (detected >= 95 %,
# unattended: a pause is a miss). tests/test_sim.c; make sim prints the same
# tables without failing.
set -eu
cd "$(dirname "$0")/.."
exec "${CANARY_BUILD:-$PWD/build}/tests/test_sim" --full
