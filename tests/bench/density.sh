#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Density benchmark: nfrestart on 1000 fixture servers at once (xargs -P),
# the whole mass restart against the slowest old server's own shutdown
# time (goal <= 1.2x), and peak memory. The run and its checks are
# tests/density.sh (also `make density`); DENSITY_N, DENSITY_DELAY scale it.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
exec sh "$TOP/tests/density.sh"
