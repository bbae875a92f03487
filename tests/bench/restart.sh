#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Benchmark: a whole restart, nfrestart against what an operator would use
# instead, in the same run. The old server works 50 ms after its signal,
# then exits; the figures are the gap from its exit to the new server's
# start (what the restart adds beyond the old server's own shutdown), and
# the whole time from the command to the new server's start (what it
# spends judging before its first signal, too).
# Medians over N runs (NF_BENCH_RUNS, default 10; the framework's own
# algorithm costs about a second a run).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
N=${NF_BENCH_RUNS:-10}
if [ -z "${NF_IN_NS:-}" ] && [ "$(id -u)" = 0 ] &&
    unshare --pid --fork --mount-proc true 2> /dev/null; then
	NF_IN_NS=1 exec unshare --pid --fork --mount-proc \
	    "$TOP/tests/bin/nfinit" sh "$0" "$@"
fi
PATH=$TOP/bin:$PATH
d=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX")
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
cc=${CC:-musl-gcc}
command -v "$cc" > /dev/null || cc=cc
$cc -O2 -static -o stamp "$TOP/tests/bench/stamp.c" &&
    $cc -O2 -static -o fwrestart "$TOP/tests/bench/fwrestart.c" &&
    $cc -O2 -static -o floorrestart "$TOP/tests/bench/floorrestart.c" || exit 1
have_ssd=0
command -v start-stop-daemon > /dev/null && have_ssd=1

# old: an orphan server, so that init reaps it at once (a prompt reaper).
old() {
	rm -f s.pid stamps
	(setsid ./stamp s.pid stamps 50 > /dev/null 2>&1 &)
	while [ ! -s s.pid ]; do sleep 0.005; done
}
# gap: microseconds from the old server's exit to the new one's start,
# and from the command (t0) to the new one's start.
gap() {
	# Poll slowly: a busy loop of forks here would slow what it measures.
	sleep 0.2
	while [ "$(grep -c '^start' stamps 2> /dev/null)" -lt 2 ]; do sleep 0.05; done
	awk -v t0="$(cat t0)" '$1 == "exit" { e = $2 } $1 == "start" { s = $2 }
	    END { printf "%d %d\n", (s - e) / 1000, (s - t0) / 1000 }' stamps
}
finish() {
	p=$(cat s.pid 2> /dev/null)
	case $p in ''|*[!0-9]*) ;; *) kill -TERM "$p" 2> /dev/null
		while kill -0 "$p" 2> /dev/null; do sleep 0.005; done ;;
	esac
	wait 2> /dev/null
}
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

measure() {	# NAME COMMAND...
	name=$1
	shift
	: > "$d/$name.us"
	i=0
	while [ $i -lt "$N" ]; do
		old
		rm -f t0
		sh -c "./stamp now > t0; $*" > /dev/null 2>&1 &
		gap >> "$d/$name.us"
		finish
		i=$((i + 1))
	done
	cut -d' ' -f1 "$d/$name.us" | median
	cut -d' ' -f2 "$d/$name.us" | median > "$d/$name.total"
}
total() { cat "$d/$1.total"; }

floor=$(measure floor "./floorrestart s.pid 15 ./stamp s.pid stamps 50")
nf=$(measure nfrestart "nfrestart -q -p s.pid -- ./stamp s.pid stamps 50")
nfd=$(measure nfrestart-d "nfrestart -q -d -p s.pid -- ./stamp s.pid stamps 50")
nfdw=$(measure nfrestart-dw "nfrestart -q -d -w -p s.pid -- ./stamp s.pid stamps 50")
if [ $have_ssd = 1 ]; then
	# start-stop-daemon reads 31/10 as two timeouts: -31/10 is its way.
	ssd=$(measure ssd "start-stop-daemon --stop --quiet --retry -31/10 \
	    --pidfile $d/s.pid --remove-pidfile && start-stop-daemon --start \
	    --quiet --background --pidfile $d/s.pid --exec $d/stamp -- \
	    $d/s.pid $d/stamps 50")
fi
fw=$(measure framework "./fwrestart s.pid ./stamp s.pid stamps 50")

# Overhead above the floor. Below 50 us it is within the noise of this
# harness: it is shown as such, and ratios use 50 us (in nfrestart's
# disfavour).
over() {
	awk -v a="$1" -v f="$floor" 'BEGIN { d = a - f; if (d < 50) d = 50; print d }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 1; printf "%.0fx", a / b }'
}
ms() {
	awk -v u="$1" 'BEGIN { printf "%.3f ms", u / 1000 }'
}
row() {	# NAME GAP TOTAL
	o=$(over "$2")
	os=$(ms "$o"); [ "$o" -le 50 ] && os="<= 0.050 ms"
	to=$(awk -v a="$3" -v f="$(total floor)" 'BEGIN { d = a - f; if (d < 50) d = 50; print d }')
	tos=$(ms "$to"); [ "$to" -le 50 ] && tos="<= 0.050 ms"
	printf '| %-44s | %11s | %11s | %12s | %11s | %11s |\n' "$1" "$(ms "$2")" "$os" "$(ratio "$o" "$nfo")" "$(ms "$3")" "$tos"
}
nfo=$(over "$nf")
echo
echo "Restart: gap from the old server's exit to the new server's start, and"
echo "the overhead above the floor (a bare pidfd + poll + exec restarter)."
echo "The old server works 50 ms after its signal; median of $N runs."
echo
printf '| %-44s | %11s | %11s | %12s | %11s | %11s |\n' "method" "gap" "overhead" "vs nfrestart" "command to new" "overhead"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "-------------" "-------------" "--------------" "-------------" "-------------"
printf '| %-44s | %11s | %11s | %12s | %11s | %11s |\n' "floor: pidfd_open + poll + exec" "$(ms "$floor")" "-" "-" "$(ms "$(total floor)")" "-"
row "nfrestart (becomes the server)" "$nf" "$(total nfrestart)"
row "nfrestart -d (daemonizes it)" "$nfd" "$(total nfrestart-d)"
row "nfrestart -d -w (and writes its PID, fsync)" "$nfdw" "$(total nfrestart-dw)"
[ $have_ssd = 1 ] && row "start-stop-daemon --stop --retry, --start" "$ssd" "$(total ssd)"
row "NFShmXFrame's own --Restart loop" "$fw" "$(total framework)"
echo
awk -v u="$nfo" 'BEGIN { exit !(u < 1000) }' &&
    echo "nfrestart's overhead above the floor under 1 ms: yes" ||
    echo "nfrestart's overhead above the floor under 1 ms: NO"
awk -v a="$(total nfrestart)" -v f="$(total floor)" 'BEGIN { exit !(a - f < 1000) }' &&
    echo "command to new server, nfrestart above the floor under 1 ms: yes" ||
    echo "command to new server, nfrestart above the floor under 1 ms: NO"
awk -v a="$(over "$fw")" -v b="$nfo" 'BEGIN { exit !(a >= 1000 * b) }' &&
    echo "at least 1,000x below the framework's own algorithm: yes" ||
    echo "at least 1,000x below the framework's own algorithm: NO"
