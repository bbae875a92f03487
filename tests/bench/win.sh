#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Benchmark, under Wine: nfrestart.exe against NFShmXFrame's own Windows
# sender (reproduced by winpeer.exe send: SetEvent, Sleep(50), CloseHandle,
# then wait), in the same run, with winpeer.exe serve as the old server.
#
# Per scenario (the old server answers at once, or after 200 ms of shutdown
# work), medians over BENCH_RUNS (default 10) of:
#   answer -> new   the old server's SetEvent(KillSuccess) to the new server
#                   running (nfrestart.exe: the main() of the process it
#                   starts; the framework: the sender's return from its wait,
#                   since there the new server is the sender itself)
#   seen -> new     the old server seeing the kill event to the same point
#   launch -> new   the command's launch to the same point (nfrestart.exe
#                   starts one process more than the framework's sender)
# and, as a floor, what the last step costs here: ResumeThread of a process
# created suspended to its main() (nfrestart.exe creates the new process
# before it signals, and resumes it after the answer), with nfrestart.exe's
# overhead above it. The framework's sender is the new server itself: it
# has no such step, which is why it wins the first two rows when the old
# server takes more than its 50 ms sleep to answer.
# Then the late poller: the old server starts polling 300 ms (1000 ms)
# after it starts; the framework's sender closes its event after 50 ms and
# misses it (its 15 s wait is cut to 2 s here), nfrestart.exe does not.
# "failed" counts handoffs that did not complete: the framework's sender
# opens KillSuccess only after its Sleep(50), so an old server that answers
# at once and closes its event 50 ms later can lose its answer (the sender
# then waits 15 s; here 5 s, left out of the medians).
# Times are QueryPerformanceCounter stamps written by the processes
# themselves (one clock for all of them).
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${BENCH_RUNS:-10}
LATE_RUNS=${BENCH_LATE_RUNS:-5}
EXE=$TOP/bin/nfrestart.exe
PEER=$TOP/tests/bin/winpeer.exe

for f in "$EXE" "$PEER"; do
	[ -f "$f" ] || { echo "win.sh: skipped: $f not built (needs mingw-w64)"; exit 0; }
done
command -v wine > /dev/null 2>&1 && command -v wineserver > /dev/null 2>&1 ||
    { echo "win.sh: skipped: wine is not installed"; exit 0; }

W=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX")
WINEPREFIX=$W/prefix
WINEDEBUG=-all
WINEPATH="Z:$(printf %s "$TOP/tests/bin" | tr / '\\');Z:$(printf %s "$TOP/bin" | tr / '\\')"
export WINEPREFIX WINEDEBUG WINEPATH
mkdir -p "$WINEPREFIX"
wineserver -f -p > "$W/server.log" 2>&1 &
WS=$!
finish() {
	wineserver -k > /dev/null 2>&1
	n=50
	while kill -0 "$WS" 2> /dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$WS" 2> /dev/null
	rm -rf "$W"
}
trap finish EXIT
trap 'exit 1' INT TERM
echo "win.sh: creating a Wine prefix (about 10 s) ..."
wine winpeer.exe exit 0 > "$W/init.log" 2>&1 ||
    { echo "win.sh: wine cannot run programs:"; tail -5 "$W/init.log"; exit 1; }
cd "$W" || exit 1

# stamp LOG WORD: the first time stamp of WORD in LOG, in microseconds.
stamp() {
	awk -v w="$2" '$2 == w { print $1; exit }' "$1" 2> /dev/null
}

waitlog() {	# LOG WORD: up to 10 s
	_w=200
	while [ $_w -gt 0 ]; do
		[ -n "$(stamp "$1" "$2")" ] && return 0
		sleep 0.05
		_w=$((_w - 1))
	done
	return 1
}

old() {	# [serve options]: a fresh old server, polling (unless --late)
	rm -f old.pid old.log new.log send.log run.log
	wine winpeer.exe serve -p old.pid --log old.log --exit-delay 300 \
	    --life 20000 "$@" > /dev/null 2>&1 &
	OLD=$!
	waitlog old.log START && while [ ! -s old.pid ]; do sleep 0.02; done
	case " $* " in *" --late "*) ;; *) waitlog old.log POLL ;; esac
}

reap() {	# the old server's wine process, by its PID
	kill -KILL "$OLD" 2> /dev/null
	wait "$OLD" 2> /dev/null
}

# med FILE: the median of the numbers in FILE (microseconds -> ms, 3 places).
med() {
	sort -n "$1" | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.3f\n", m / 1000 }'
}

# Floor: what one process start costs here.
: > floor
i=0
while [ $i -lt "$RUNS" ]; do
	rm -f f.log
	wine winpeer.exe resume f.log winpeer.exe serve --log f.log --life 0 \
	    > /dev/null 2>&1
	l=$(stamp f.log LAUNCH) s=$(stamp f.log START)
	[ -n "$l" ] && [ -n "$s" ] && echo $((s - l)) >> floor
	i=$((i + 1))
done
FLOOR=$(med floor)

# record WHO LOG WORD: this run's times to LOG's WORD, from old.log's
# ANSWER and KILL and run.log's LAUNCH, into WHO.ans, .seen, .launch; or
# one more of WHO's failures.
record() {
	a=$(stamp old.log ANSWER) k=$(stamp old.log KILL)
	l=$(stamp run.log LAUNCH) s=$(stamp "$2" "$3")
	if [ -n "$a" ] && [ -n "$s" ]; then
		echo $((s - a)) >> "$1.ans"
		echo $((s - k)) >> "$1.seen"
		echo $((s - l)) >> "$1.launch"
	else
		eval "${1}_fail=\$((${1}_fail + 1))"
	fi
}

scenario() {	# WORK_MS
	for f in nf.ans nf.seen nf.launch fw.ans fw.seen fw.launch; do : > $f; done
	nf_fail=0 fw_fail=0 i=0
	while [ $i -lt "$RUNS" ]; do
		old --work "$1"
		wine winpeer.exe run run.log nfrestart.exe -q -p old.pid -- \
		    winpeer.exe serve --log new.log --life 0 > /dev/null 2>&1
		waitlog new.log START
		record nf new.log START
		reap

		old --work "$1"
		wine winpeer.exe run run.log winpeer.exe send -p old.pid \
		    --wait 5000 --log send.log > /dev/null 2>&1
		record fw send.log PROCEED
		reap
		i=$((i + 1))
	done
	for m in ans seen launch; do
		n=$(med nf.$m) f=$(med fw.$m)
		r=$(awk -v n="$n" -v f="$f" 'BEGIN {
			if (n + 0 > 0 && f != "-") printf "%.2f", f / n; else print "-" }')
		case $m in
		ans) what="answer -> new" ;;
		seen) what="seen -> new" ;;
		launch) what="launch -> new" ;;
		esac
		printf '%-4s %-15s %12s %14s %8s\n' "$1" "$what" "$n" "$f" "$r"
	done
	o=$(awk -v n="$(med nf.ans)" -v f="$FLOOR" 'BEGIN { printf "%.3f", n - f }')
	printf '%-4s %-15s %12s %14s %8s\n' "$1" "  above floor" "$o" "" ""
	printf '%-4s %-15s %12s %14s\n' "$1" "failed" "$nf_fail/$RUNS" \
	    "$fw_fail/$RUNS"
}

echo
echo "nfrestart.exe vs NFShmXFrame's own sender, under $(wine --version 2>/dev/null):"
echo "medians of $RUNS runs, ms; ratio = framework / nfrestart.exe (> 1: nfrestart.exe is faster)"
echo "floor (ResumeThread of a suspended process to its main()): $FLOOR ms"
printf '%-4s %-15s %12s %14s %8s\n' work measure nfrestart.exe "framework" ratio
scenario 0
scenario 200

# The late poller: polling starts LATE ms after the old server starts, and
# the sender is launched as soon as its PID file is there. How late that
# is relative to the signal depends on how long Wine takes to start the
# sender, so two delays are shown.
late() {	# LATE
	nf_ok=0 fw_ok=0 j=0
	while [ $j -lt "$LATE_RUNS" ]; do
		old --late "$1"
		wine nfrestart.exe -q -p old.pid -- winpeer.exe serve \
		    --log new.log --life 0 > /dev/null 2>&1 &&
		    [ -n "$(stamp old.log KILL)" ] && nf_ok=$((nf_ok + 1))
		reap
		old --late "$1"
		wine winpeer.exe send -p old.pid --wait 2000 --log send.log \
		    > /dev/null 2>&1 && fw_ok=$((fw_ok + 1))
		reap
		j=$((j + 1))
	done
	printf '  %4d ms   %d/%d %19d/%d\n' "$1" $nf_ok "$LATE_RUNS" $fw_ok \
	    "$LATE_RUNS"
}
echo
echo "late poller: handoffs that worked (the framework's sender waits 15 s"
echo "after a miss, then logs \"proceeding anyway\"; the old server never stopped)"
echo "  late      nfrestart.exe   framework sender"
late 300
late 1000
