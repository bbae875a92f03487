#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Mass restart (make density's, as a benchmark): 1000 fixture servers
# restarted at once (xargs -P),
# by nfrestart and, in the same run, by floordaemon (the least a detached
# restart with readiness can do: signal, pidfd wait, fork, exec, look at
# the ready file; no checks, no lock). Each run is tests/density/run.sh with
# its checks; this prints the whole mass restart against the slowest old
# server's own shutdown (the goal is <= 1.2x), each tool's overhead above
# that shutdown, the ratio of those overheads, and peak memory.
# DENSITY_N (1000) and DENSITY_DELAY (3000 ms) scale it.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
for w in floor nfrestart; do
	echo "density bench: $w ..." >&2
	DENSITY_WITH=$w sh "$TOP/tests/density/run.sh" > "$out.$w" 2>&1 || {
		cat "$out.$w"
		rm -f "$out" "$out.floor" "$out.nfrestart"
		exit 1
	}
done
val() {	# FILE LABEL: the first number after LABEL
	sed -n "s/^  $2  *\([0-9.]*\).*/\1/p" "$1" | head -1
}
f=$out.floor n=$out.nfrestart
awk -v fs="$(val "$f" "slowest old server's own shutdown")" \
    -v ft="$(val "$f" "whole mass restart (all ready)")" \
    -v ns="$(val "$n" "slowest old server's own shutdown")" \
    -v nt="$(val "$n" "whole mass restart (all ready)")" \
    -v nrss="$(val "$n" "peak RSS of all nfrestart processes")" \
    -v n1="$(val "$n" "peak RSS of one nfrestart")" \
    -v nused="$(val "$n" "peak machine memory used above start")" \
    -v np="$(val "$n" "peak nfrestart processes at once")" \
    -v cnt="${DENSITY_N:-1000}" 'BEGIN {
	printf "\ndensity: %d servers restarted at once (xargs -P %d)\n", cnt, cnt
	printf "%-12s %12s %12s %8s %12s\n", "tool", "shutdown s", "total s", "ratio", "overhead s"
	printf "%-12s %12.3f %12.3f %7.2fx %12.3f\n", "floor", fs, ft, ft / fs, ft - fs
	printf "%-12s %12.3f %12.3f %7.2fx %12.3f\n", "nfrestart", ns, nt, nt / ns, nt - ns
	printf "nfrestart overhead / floor overhead: %.2fx (%.1f ms vs %.1f ms per server)\n", \
	    (nt - ns) / (ft - fs), (nt - ns) * 1000 / cnt, (ft - fs) * 1000 / cnt
	printf "peak: %d nfrestart processes, %.1f MiB RSS in all, %d KiB the largest one; machine %.1f MiB above start\n", \
	    np, nrss, n1, nused
}'
rm -f "$out" "$out.floor" "$out.nfrestart"
