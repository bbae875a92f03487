#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Density: nfrestart on DENSITY_N (default 1000) fixture servers on one host
# at once, through xargs -P. Checks that every server was restarted (a new
# PID, recovering its own segment, the same shmid), that each counter was
# kept (the new server starts from at least what the old one stored), and
# that no lock or PID file crossed between servers (each PID file names a
# server running in that directory on that bus ID; no restart lock is left
# held). Prints a table: the whole mass restart against the slowest old
# server's own shutdown time (the goal is <= 1.2x), and peak memory.
#
#   make density                      (CI)
#   DENSITY_N=200 DENSITY_DELAY=1000 sh tests/density/run.sh
#   DENSITY_WITH=floor ...            the same job done by floordaemon
#                                     (tests/bench), the least it can cost
#   DENSITY_V=-v DENSITY_KEEP=1 ...    nfrestart -v, the work dir kept
#
# Runs in a private PID+IPC+mount namespace with tests/bin/nfinit as init:
# it sends real signals as root, and its segments must not meet the
# machine's.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
N=${DENSITY_N:-1000}
DELAY=${DENSITY_DELAY:-3000}	# each old server's shutdown, ms
WITH=${DENSITY_WITH:-nfrestart}
TICK=${DENSITY_TICK:-1000}	# counter interval of each server, ms (a thousand
				# servers ticking fast would load the host)

if [ -z "$NF_IN_NS" ]; then
	if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null 2>&1 &&
	    unshare --pid --fork --mount-proc --ipc true 2> /dev/null; then
		NF_IN_NS=1 exec unshare --pid --fork --mount-proc --ipc \
		    "$TOP/tests/bin/nfinit" sh "$0" "$@"
	fi
	echo "density: needs root and unshare(1) for a private PID namespace" >&2
	exit 2
fi

PATH=$TOP/bin:$TOP/tests/bin:$PATH
W=$(mktemp -d "${TMPDIR:-/tmp}/nfdensity.XXXXXX")
chmod 755 "$W"
fails=0
T0=$(date +%s%N)
phase() {
	echo "density: $(( ($(date +%s%N) - T0) / 1000000 )) ms: $*"
}
fail() {
	fails=$((fails + 1))
	echo "density: FAIL: $*" >&2
}
if [ "$WITH" = floor ]; then
	${NF_CC:-musl-gcc} -static -O2 -o "$W/floordaemon" "$TOP/tests/bench/floordaemon.c" ||
	    exit 1
fi
# Raise the limits a thousand processes and their descriptors need.
ulimit -n "$(ulimit -Hn)" 2> /dev/null

# Bus IDs 7.1.T.I: T = i / 200 + 1, I = i % 200 + 1 (few forks per
# server below: at a thousand servers, each fork of the script counts).
id_of() {
	id=7.1.$(($1 / 200 + 1)).$(($1 % 200 + 1))
}
# shmids KEY->SHMID, one per line, from the kernel's table.
shmids() {
	awk 'NR > 1 { printf "0x%08x %s\n", $1 < 0 ? $1 + 4294967296 : $1, $2 }' \
	    /proc/sysvipc/shm
}
# logval FILE PATTERN: the number after PATTERN in FILE's matching line.
logval() {
	while read -r _l; do
		case $_l in *"$2"*) _l=${_l#*"$2"}; echo "${_l%% *}"; return ;; esac
	done < "$1"
}

echo "density: starting $N servers (tick ${TICK} ms, shutdown ${DELAY} ms)"
i=0
while [ "$i" -lt "$N" ]; do
	id_of "$i"
	mkdir "$W/s$i"
	(cd "$W/s$i" && exec nfserver -S Game -I "$id" --tick "$TICK" \
	    --exit-delay "$DELAY" 2> old.log < /dev/null > /dev/null &)
	i=$((i + 1))
done
# Every server has its PID file and has attached its segment.
tries=0
while :; do
	missing=0
	i=0
	while [ "$i" -lt "$N" ]; do
		[ -s "$W/s$i/old.log" ] || missing=$((missing + 1))
		i=$((i + 1))
	done
	[ "$missing" = 0 ] && break
	tries=$((tries + 1))
	if [ "$tries" -gt 600 ]; then
		echo "density: $missing servers did not start" >&2
		exit 1
	fi
	sleep 0.1
done
phase "$N servers up"
# The old PIDs and shmids, for the checks afterwards.
i=0
while [ "$i" -lt "$N" ]; do
	id_of "$i"
	cp "$W/s$i/Game_$id.pid" "$W/s$i/old.pid"
	i=$((i + 1))
done
shmids > "$W/shm.old"
[ "$(wc -l < "$W/shm.old")" = "$N" ] || fail "not $N segments at the start"

# One line of arguments per server, and all of them at once.
i=0
while [ "$i" -lt "$N" ]; do
	id_of "$i"
	new="$TOP/tests/bin/nfserver -S Game -I $id --tick $TICK"
	if [ "$WITH" = floor ]; then
		echo "$W/s$i Game_$id.pid 31 $W/s$i/ready $new" \
		    "--ready-file $W/s$i/ready"
	else
		echo "-C $W/s$i -S Game -I $id --ready-file $W/s$i/ready --" \
		    "$new --ready-file $W/s$i/ready"
	fi
	i=$((i + 1))
done > "$W/args"
if [ "$WITH" = floor ]; then
	set -- "$W/floordaemon"
else
	set -- nfrestart -d ${DENSITY_V:--q} -t 60 --ready-timeout 60 -o new.log
fi
nfmem "$(basename "$1")" 20 > "$W/mem" &
mempid=$!
sleep 0.1
t0=$(date +%s%N)
xargs -P "$N" -L 1 "$@" < "$W/args" 2> "$W/xargs.err"
xrc=$?
t1=$(date +%s%N)
kill -TERM "$mempid"
wait "$mempid"
[ "$xrc" = 0 ] || fail "xargs exited $xrc (some $WITH did not exit 0):" \
    "$(sort "$W/xargs.err" | uniq -c | sort -rn | head -5)"

phase "mass restart done"
# Checks, one server at a time.
shmids > "$W/shm.new"
cmp -s "$W/shm.old" "$W/shm.new" ||
    fail "segments changed (recreated or removed): $(diff "$W/shm.old" "$W/shm.new" | head -4)"
slowest=0 restarted=0 kept=0 crossed=0
i=0
while [ "$i" -lt "$N" ]; do
	d=$W/s$i
	id_of "$i"
	read -r old < "$d/old.pid"
	new=
	read -r new < "$d/Game_$id.pid"
	# The old server's own shutdown time, as it measured it.
	us=$(logval "$d/old.log" " after ")
	grep -q "exit on signal 31 " "$d/old.log" || us=""
	if [ -z "$us" ]; then
		fail "s$i: old server $old did not report a signal-31 exit"
	elif [ "$us" -gt "$slowest" ]; then
		slowest=$us
	fi
	case $new in
	''|*[!0-9]*) fail "s$i: PID file holds '$new'"; i=$((i + 1)); continue ;;
	esac
	if [ "$new" = "$old" ] || [ ! -d "/proc/$new" ]; then
		fail "s$i: no new server (old $old, PID file $new)"
	else
		restarted=$((restarted + 1))
	fi
	# The PID file names a server of this directory and this bus ID.
	cwd=$(readlink "/proc/$new/cwd")
	cmd=$(tr '\0' ' ' < "/proc/$new/cmdline")
	case "$cwd|$cmd" in
	"$d|"*"nfserver -S Game -I $id "*) ;;
	*) crossed=$((crossed + 1))
	   fail "s$i: PID file names $new in $cwd: $cmd" ;;
	esac
	# The new server recovered this segment, with the old one's data.
	stored=$(logval "$d/old.log" "exit on signal 31 counter=")
	rec=$(logval "$d/new.log" " RECOVER counter=")
	if [ -n "$rec" ] && [ -n "$stored" ] && [ "$rec" -ge "$stored" ]; then
		kept=$((kept + 1))
	else
		fail "s$i: counter stored '$stored', recovered '$rec'"
	fi
	# No restart lock left held, and none but this server's in the dir.
	if nfpid check -q -S Game -I "$id" -C "$d"; then :; else
		fail "s$i: nfpid check exits $? after the restart"
	fi
	set -- "$d"/*.lock
	[ "$#" -le 1 ] || fail "s$i: more than one lock file: $*"
	i=$((i + 1))
done
phase "checks done"
# One server per bus ID, and no nfrestart left over.
live=$(ls /proc | grep -c '^[0-9]')
left=$(for p in /proc/[0-9]*; do cat "$p/comm" 2> /dev/null; done |
    grep -c "^$(basename "$1")\$")
[ "$left" = 0 ] || fail "$left $WITH processes still running"
n_srv=$(for p in /proc/[0-9]*; do cat "$p/comm" 2> /dev/null; done |
    grep -c '^nfserver$')
[ "$n_srv" = "$N" ] || fail "$n_srv servers running, not $N"

read -r _ procs _ rss _ single _ used _ samples < "$W/mem"
total=$(((t1 - t0) / 1000))
awk -v n="$N" -v total="$total" -v slow="$slowest" -v procs="$procs" \
    -v rss="$rss" -v single="$single" -v used="$used" -v r="$restarted" \
    -v k="$kept" -v c="$crossed" -v live="$live" -v with="$WITH" 'BEGIN {
	printf "\ndensity: %d servers restarted at once with %s (xargs -P %d)\n", n, with, n
	printf "  %-44s %10s\n", "measure", "value"
	printf "  %-44s %10d\n", "servers restarted (new PID, same segment)", r
	printf "  %-44s %10d\n", "counters kept", k
	printf "  %-44s %10d\n", "PID files or locks crossed", c
	printf "  %-44s %10.3f s\n", "slowest old server'\''s own shutdown", slow / 1e6
	printf "  %-44s %10.3f s\n", "whole mass restart (all ready)", total / 1e6
	printf "  %-44s %10.2fx (goal <= 1.2x)\n", "ratio", total / slow
	printf "  %-44s %10.3f s\n", "overhead above the slowest shutdown", (total - slow) / 1e6
	printf "  %-44s %10d\n", "peak " with " processes at once", procs
	printf "  %-44s %10.1f MiB\n", "peak RSS of all " with " processes", rss / 1024
	printf "  %-44s %10d KiB\n", "peak RSS of one " with, single
	printf "  %-44s %10.1f MiB\n", "peak machine memory used above start", used / 1024
	printf "  %-44s %10d\n", "processes in the namespace at the end", live
}'
# The servers end with the namespace; the segments with its IPC namespace.
[ -n "$DENSITY_KEEP" ] && echo "density: kept $W" || rm -rf "$W"
if [ "$fails" -gt 0 ]; then
	echo "density: $fails failures"
	exit 1
fi
echo "density: all $N restarted, every counter kept, nothing crossed"
