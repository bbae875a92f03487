# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# What the bench scripts of a segment share (sourced): their own IPC,
# mount and PID namespaces, enough memory, kernel.shmmax/shmall for BYTES
# (NF_BENCH_BYTES, default 1 GiB).
set -u
BYTES=${NF_BENCH_BYTES:-1073741824}

# bench_ns NAME ARGS...: re-run the script in private IPC, mount and PID
# namespaces (tests/bin/nfinit their init), or say why not and exit 0.
bench_ns() {
	_bn=$1 BENCH=$1
	shift
	[ -n "${NF_BENCH_NS:-}" ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null 2>&1 ||
	    ! unshare --ipc --mount --pid --fork --mount-proc true 2> /dev/null
	then
		echo "bench $_bn: skipped: needs root and unshare (private IPC," \
		    "mount and PID namespaces)"
		exit 0
	fi
	NF_BENCH_NS=1 exec unshare --ipc --mount --pid --fork --mount-proc \
	    "$TOP/tests/bin/nfinit" sh "$0" "$@"
}

# bench_mem NAME KIB WHAT: KIB of memory available, or say so and exit 0.
bench_mem() {
	_have=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	if [ -n "$_have" ] && [ "$_have" -lt "$2" ]; then
		echo "bench $1: skipped: needs $2 KiB of memory ($3), $_have KiB" \
		    "available"
		exit 0
	fi
}

# bench_shm TIMES: a segment of BYTES, TIMES over in pages, fits
# kernel.shmmax and kernel.shmall: raised in this IPC namespace only, and
# said in $notes.
bench_shm() {
	_pg=$(getconf PAGESIZE)
	_max=$(cat /proc/sys/kernel/shmmax)
	_all=$(cat /proc/sys/kernel/shmall)
	if [ "${#_max}" -lt 19 ] && [ "$_max" -lt "$BYTES" ]; then
		echo "$BYTES" > /proc/sys/kernel/shmmax || exit 1
		notes="$notes kernel.shmmax raised from $_max to $BYTES (in the" \
		    "bench's IPC namespace only)."
	fi
	if [ "${#_all}" -lt 19 ] && [ "$_all" -lt $((BYTES / _pg * $1)) ]; then
		echo $((BYTES / _pg * $1)) > /proc/sys/kernel/shmall || exit 1
		notes="$notes kernel.shmall raised from $_all to" \
		    "$((BYTES / _pg * $1)) (in the bench's IPC namespace only)."
	fi
}

# t LABEL CMD...: run CMD, append its wall time in microseconds to
# times.LABEL; a CMD that fails ends the bench.
t() {
	_l=$1
	shift
	_s=$(date +%s%N)
	"$@" || { echo "bench $BENCH: failed: $*" >&2; exit 1; }
	_e=$(date +%s%N)
	echo $(((_e - _s) / 1000)) >> "times.$_l"
}
