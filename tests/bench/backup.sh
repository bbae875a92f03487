#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Bench: what a backup costs the players, for a 1 GiB segment.
#
# 1. The restart gap (from the old server's exit to the new server's
#    start) of `nfrestart -d` with --backup to a tmpfs file, to a file on
#    the disk of the bench's directory (the copy, then fsync), and with
#    --restore, side by side with the same restart without them; and cp of
#    a 1 GiB file on tmpfs, as the floor of any copy.
# 2. The pause of `nfshm save --freeze` (the server stopped for the copy),
#    against the time of `nfshm save` of the same segment with no freeze
#    and cp.
# Medians of NF_BENCH_RUNS (default 5) interleaved runs; NF_BENCH_BYTES
# (default 1 GiB). Runs in private IPC, mount and PID namespaces (root and
# unshare(1)) on tmpfs mounts of its own; kernel.shmmax/shmall are raised in
# that IPC namespace only when too small.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${NF_BENCH_RUNS:-5} KEY=0x7e5e0002
. "$TOP/tests/bench/common.sh"	# BYTES, bench_*
bench_ns backup "$@"
for t in nfrestart nfshm; do
	[ -x "$TOP/bin/$t" ] || { echo "bench backup: build first: make" >&2; exit 1; }
done
PATH=$TOP/bin:$TOP/tests/bin:$PATH
bench_mem backup $((BYTES / 1024 * 6)) "segments, copies, backups"
notes=""
bench_shm 3

# The disk: a directory beside the tree's own temporary files; tmpfs: a
# mount of our own.
disk=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX") || exit 1
mem=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX") || exit 1
mount -t tmpfs -o size=$((BYTES * 3 + 67108864)) nfbench "$mem" || exit 1
trap 'kill -TERM $(cat "$mem/s.pid" 2> /dev/null) 2> /dev/null; cd /; sleep 0.2
	umount "$mem"; rm -rf "$disk" "$mem"' EXIT
cd "$mem" || exit 1
cc=${CC:-musl-gcc}
command -v "$cc" > /dev/null || cc=cc
$cc -O2 -static -o stamp "$TOP/tests/bench/stamp.c" || exit 1

echo "bench backup: $BYTES bytes, $RUNS runs each, interleaved ($(uname -r)," \
    "$(nproc) CPUs; the disk: $(df -P "$disk" | awk 'NR == 2 { print $1 }'))"

# One restart of a server that holds the segment; prints the gap in us.
restart() {	# NFRESTART-OPTIONS...
	rm -f stamps
	nfrestart -q -d -p s.pid --shm $KEY "$@" -- ./stamp s.pid stamps 0 \
	    $KEY $BYTES || { echo "bench backup: nfrestart $* failed" >&2; exit 1; }
	while [ "$(grep -c '^start' stamps 2> /dev/null)" -lt 1 ]; do sleep 0.01; done
	awk '$1 == "exit" { e = $2 } $1 == "start" { s = $2 } END {
		printf "%d\n", (s - e) / 1000 }' stamps
}

# The first server creates and fills the segment; a backup to restore.
(setsid ./stamp s.pid stamps 0 $KEY $BYTES > /dev/null 2>&1 &)
while [ ! -s s.pid ]; do sleep 0.01; done
restart > /dev/null
restart --backup r.nfshm > /dev/null
head -c "$BYTES" /dev/urandom > src || exit 1
for i in $(seq "$RUNS"); do
	restart >> times.plain
	restart --backup "$mem/b.nfshm" >> times.tmpfs
	rm -f "$mem/b.nfshm"
	restart --backup "$disk/b.nfshm" >> times.disk
	rm -f "$disk/b.nfshm"
	restart --restore r.nfshm >> times.restore
	t cp cp src dst
	rm dst
done

# The pause of --freeze: a fixture server (nfserver) on the segment of
# bus ID 9.1.1.1, stopped for each copy.
nfserver -S F -I 9.1.1.1 --size "$BYTES" 2> f.log & f=$!
while ! grep -q "INIT\|RECOVER" f.log; do sleep 0.05; done
fkey=$(nfshm key 9.1.1.1 | awk '$1 == "object" { print $2 }')
for i in $(seq "$RUNS"); do
	nfshm save -v --freeze $f "$fkey" fz 2> err || { cat err; exit 1; }
	sed -n 's/.* resumed: stopped for \([0-9.]*\) ms/\1/p' err |
	    awk '{ printf "%d\n", $1 * 1000 }' >> times.pause
	rm fz
	t save nfshm save -f "$fkey" sv
	rm sv
done
kill -TERM $f; wait $f 2> /dev/null

med() {	# LABEL -> median in us
	sort -n "times.$1" | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / (b > 0 ? b : 1) }'; }
gib() { awk -v u="$1" -v b="$BYTES" 'BEGIN { printf "%.0f ms", u / 1000 / (b / 1073741824) }'; }
plain=$(med plain) cp=$(med cp)
echo
echo "The restart gap (old server's exit to the new server's start), nfrestart -d:"
echo
printf '| %-40s | %10s | %12s | %8s |\n' "restart" "gap" "added" "added/cp"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "------------" "--------------" "----------"
printf '| %-40s | %10s | %12s | %8s |\n' "no backup" "$(ms "$plain")" "-" "-"
for l in tmpfs disk restore; do
	case $l in
	tmpfs) what="--backup FILE on tmpfs" ;;
	disk) what="--backup FILE on the disk (copy + fsync)" ;;
	restore) what="--restore FILE (from tmpfs)" ;;
	esac
	v=$(med $l)
	printf '| %-40s | %10s | %12s | %8s |\n' "$what" "$(ms "$v")" \
	    "$(ms $((v - plain)))" "$(x $((v - plain)) "$cp")"
done
printf '| %-40s | %10s | %12s | %8s |\n' "(cp of the same bytes, tmpfs to tmpfs)" "$(ms "$cp")" "" "1x"
pause=$(med pause) save=$(med save)
echo
echo "nfshm save --freeze: the server's pause, per GiB: $(gib "$pause")" \
    "(median $(ms "$pause") for $BYTES bytes; $(x "$pause" "$cp") of cp;" \
    "the whole save without --freeze: $(ms "$save"), $(x "$save" "$cp") of cp)"
[ -z "$notes" ] || echo "note:$notes"
exit 0
