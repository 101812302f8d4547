#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# canaryctl release in skb (generic) mode: tests/release.test.sh with
# mode = skb (see there). libxdp's multiprog dispatcher cannot be used on
# this host (its freplace programs are refused with EPERM), so the
# dispatcher is attached directly, in generic mode, and replaced so.
exec env RELEASE_MODE=skb bash "$(dirname "$0")/release.test.sh"
