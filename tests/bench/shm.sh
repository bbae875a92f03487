#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Bench: nfshm save, restore and sum of a 1 GiB SysV segment, against cp and
# dd of a 1 GiB file on tmpfs, measured in the same run, interleaved, as
# ratios. Goal: save within 1.2x of cp.
#
# It runs in private IPC, mount and PID namespaces (root and unshare(1)), on
# its own tmpfs, so the machine's segments and /dev/shm are never touched;
# kernel.shmmax/shmall are per IPC namespace: where they are too small for
# the segment, they are raised in that namespace only, and the table says
# so. NF_BENCH_BYTES (default 1 GiB) and NF_BENCH_RUNS (default 7) adjust it.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BYTES=${NF_BENCH_BYTES:-1073741824}
RUNS=${NF_BENCH_RUNS:-7}
KEY=0x7e5e0001

if [ -z "${NF_BENCH_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null 2>&1 ||
	    ! unshare --ipc --mount --pid --fork --mount-proc true 2> /dev/null
	then
		echo "bench shm: skipped: needs root and unshare (private IPC" \
		    "and mount namespaces, a tmpfs of its own)"
		exit 0
	fi
	NF_BENCH_NS=1 exec unshare --ipc --mount --pid --fork --mount-proc \
	    sh "$0" "$@"
fi

PATH=$TOP/bin:$PATH
have_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
need_kb=$((BYTES / 1024 * 5))
if [ -n "$have_kb" ] && [ "$have_kb" -lt "$need_kb" ]; then
	echo "bench shm: skipped: needs $need_kb KiB of memory" \
	    "(file, copy, segment, backup, output), $have_kb KiB available"
	exit 0
fi

# The segment must fit kernel.shmmax (bytes) and kernel.shmall (pages).
notes=""
pg=$(getconf PAGESIZE)
shmmax=$(cat /proc/sys/kernel/shmmax)
shmall=$(cat /proc/sys/kernel/shmall)
if [ "${#shmmax}" -lt 19 ] && [ "$shmmax" -lt "$BYTES" ]; then
	echo "$BYTES" > /proc/sys/kernel/shmmax || exit 1
	notes="$notes kernel.shmmax raised from $shmmax to $BYTES (in the" \
	    "bench's IPC namespace only)."
fi
if [ "${#shmall}" -lt 19 ] && [ "$shmall" -lt $((BYTES / pg * 2)) ]; then
	echo $((BYTES / pg * 2)) > /proc/sys/kernel/shmall || exit 1
	notes="$notes kernel.shmall raised from $shmall to $((BYTES / pg * 2))" \
	    "(in the bench's IPC namespace only)."
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX") || exit 1
mount -t tmpfs -o size=$((BYTES * 4 + 67108864)) nfbench "$dir" || exit 1
# A private /dev/shm: the segment is made from a POSIX one.
mount -t tmpfs -o size=$((BYTES + 67108864)) nfbench /dev/shm || exit 1
trap 'cd /; umount /dev/shm "$dir"; rmdir "$dir"' EXIT
cd "$dir" || exit 1

echo "bench shm: $BYTES bytes, $RUNS runs each, interleaved, on tmpfs" \
    "($(uname -r))"
head -c "$BYTES" /dev/urandom > src || exit 1
cp src /dev/shm/nfbench && nfshm save -f /nfbench bk &&
    rm /dev/shm/nfbench && nfshm restore bk "$KEY" || exit 1
want=$(nfshm sum "$KEY")

# t LABEL CMD...: run CMD, append its wall time in microseconds to LABEL.
t() {
	_l=$1
	shift
	_s=$(date +%s%N)
	"$@" || { echo "bench shm: failed: $*" >&2; exit 1; }
	_e=$(date +%s%N)
	echo $(((_e - _s) / 1000)) >> "times.$_l"
}

# A first, untimed round: the host may back fresh pages lazily.
cp src dst && rm dst
nfshm save -f "$KEY" out && rm out
for i in $(seq "$RUNS"); do
	t cp cp src dst
	rm dst
	t dd dd if=src of=dst bs=1M status=none
	rm dst
	t save nfshm save -f "$KEY" out
	t restore nfshm restore out "$KEY"
	rm out
	t sum sh -c "nfshm sum $KEY > sum.out"
	[ "$(cat sum.out)" = "$want" ] || { echo "bench shm: sum changed"; exit 1; }
done
nfshm rm "$KEY"

# min and median of each, in ms; ratios against cp and dd.
stats() {	# LABEL -> "min median" (us)
	sort -n "times.$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print v[1], m }'
}
set -- $(stats cp); cpmin=$1 cpmed=$2
set -- $(stats dd); ddmin=$1 ddmed=$2
printf '%-26s %9s %9s %8s %8s %8s %8s\n' what "min ms" "med ms" \
    "/cp min" "/cp med" "/dd min" "/dd med"
for l in cp dd save restore sum; do
	set -- $(stats $l)
	case $l in
	cp) what="cp FILE COPY" ;;
	dd) what="dd bs=1M" ;;
	save) what="nfshm save KEY FILE" ;;
	restore) what="nfshm restore FILE KEY" ;;
	sum) what="nfshm sum KEY" ;;
	esac
	awk -v w="$what" -v a="$1" -v b="$2" -v c="$cpmin" -v d="$cpmed" \
	    -v e="$ddmin" -v f="$ddmed" 'BEGIN {
		printf "%-26s %9.1f %9.1f %8.2f %8.2f %8.2f %8.2f\n", w,
		    a / 1000, b / 1000, a / c, b / d, a / e, b / f }'
done
set -- $(stats save)
awk -v s="$1" -v c="$cpmin" -v sm="$2" -v cm="$cpmed" 'BEGIN {
	printf "goal: save within 1.2x of cp: %.2fx (min), %.2fx (median): %s\n",
	    s / c, sm / cm, s / c <= 1.2 ? "met" : "NOT met" }'
[ -z "$notes" ] || echo "note:$notes"
exit 0
