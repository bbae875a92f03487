#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Handoff latency: an old process gets its signal, works 50 ms and exits;
# the figure is the time from its exit to the waiter's return. Compared,
# in the same run: nfsignal+nfwait (pidfd and fallback), kill+pidwait,
# start-stop-daemon --stop --retry, a `kill -0; sleep 0.1` loop and
# NFShmXFrame's own 1-second loop, each under a prompt reaper and under a
# parent that never reaps, as medians, as ratios to pidwait, and as
# overheads above a floor (a static pidfd_open + poll waiter: what the
# shell, fork and exit cost, which no tool can go below). Then nfwait on
# 10,000 PIDs: peak RSS and time per exit.
#
# Run by `make bench`, never by `make check`. Knobs: BENCH_RUNS (20),
# BENCH_WORK_MS (50), BENCH_MANY (10000), NF_BENCH_STRICT=1 (exit 1 when a
# target is missed). Needs procps (pidwait) and dpkg (start-stop-daemon);
# a missing one is reported, not fatal.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${BENCH_RUNS:-20}
WORK=${BENCH_WORK_MS:-50}
MANY=${BENCH_MANY:-10000}
W=$(mktemp -d "${TMPDIR:-/tmp}/nfbench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

if command -v musl-gcc > /dev/null 2>&1; then
	BCC="musl-gcc -static"
else
	BCC="${CC:-cc} -static"
fi
for f in lat floor nfxloop; do
	$BCC -O2 -o "$W/$f" "$TOP/tests/bench/$f.c" || exit 1
done
for t in nfsignal nfwait; do
	[ -x "$TOP/bin/$t" ] || { echo "handoff.sh: build first: make" >&2; exit 1; }
done
PATH=$TOP/bin:$W:$PATH
export PATH

have() { command -v "$1" > /dev/null 2>&1; }

# row NAME RUNS GIVEUP TIMEOUT CMD
#	-> "NAME|median|min|p90|ok|never|timeouts|TIMEOUT"
row() {
	printf '%s|%s|%s\n' "$1" "$(lat $Z -n "$2" -N "$3" -T "$4" -w "$WORK" -- "$5" |
	    tr ' ' '|')" "$4"
}

measure() {	# -> table lines in $W/setting.$1
	Z=$2
	{
		row "floor (pidfd_open + poll)" "$RUNS" 2 5 \
		    'kill $PID && exec floor $PID'
		row "nfsignal + nfwait" "$RUNS" 2 5 \
		    'nfsignal -q -p $PIDFILE > /dev/null && exec nfwait -p $PIDFILE > /dev/null'
		row "nfsignal + nfwait, NF_NO_PIDFD=1" "$RUNS" 2 5 \
		    'export NF_NO_PIDFD=1; nfsignal -q -p $PIDFILE > /dev/null && exec nfwait -p $PIDFILE > /dev/null'
		if have pidwait; then
			row "kill + pidwait" "$RUNS" 2 5 \
			    'kill $PID && exec pidwait -F $PIDFILE'
		else
			echo "kill + pidwait|not installed (apt-get install procps)"
		fi
		if have start-stop-daemon; then
			row "start-stop-daemon --stop --retry" "$RUNS" 2 5 \
			    'exec start-stop-daemon --stop --quiet --pidfile $PIDFILE --retry TERM/10/KILL/5'
		else
			echo "start-stop-daemon --stop --retry|not installed (apt-get install dpkg)"
		fi
		row "kill -0; sleep 0.1 loop" "$RUNS" 2 3 \
		    'kill $PID; while kill -0 $PID 2> /dev/null; do sleep 0.1; done'
		row "NFShmXFrame 1-second loop" 10 1 12 'exec nfxloop $PID'
	} > "$W/setting.$1"
}

# table FILE TITLE: medians, ratio to pidwait, overhead above the floor
# and its ratio to pidwait's.
table() {
	echo
	echo "$2"
	echo
	echo "| waiter | median | min | p90 | x pidwait | above floor | x pidwait above floor |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F'|' '
	function us(v) { return v >= 10000 ? sprintf("%.1f ms", v / 1000) : sprintf("%d us", v) }
	function x(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
	NR == FNR {
		if ($1 ~ /^floor/) floor = $2
		if ($1 ~ /pidwait/ && $2 != "-") pw = $2
		next
	}
	{
		if (NF < 8) { printf "| %s | %s | | | | | |\n", $1, $2; next }
		note = ""
		if ($6 > 0 && $5 > 0) note = sprintf(" (%d of %d runs never returned)", $6, $5 + $6)
		if ($5 == 0) {
			why = "never: gave up (exit status not 0)"
			if ($7 > 0) why = sprintf("never: still waiting after %d s", $8)
			printf "| %s | %s | | | | | |\n", $1, why
			next
		}
		over = $2 - floor
		pwo = pw - floor
		printf "| %s%s | %s | %s | %s | %s | %s | %s |\n", $1, note, us($2), us($3), us($4),
		    x($2, pw), ($1 ~ /^floor/ ? "-" : us(over)),
		    ($1 ~ /^floor/ ? "-" : x(over, pwo))
	}' "$1" "$1"
}

target() {	# FILE SETTING -> prints the verdict, returns 1 when missed
	awk -F'|' -v s="$2" '
	$1 ~ /^floor/ { f = $2 }
	$1 == "nfsignal + nfwait" { n = $2 }
	$1 ~ /pidwait/ { p = $2 }
	END {
		if (p == "" || p == "-" || p - f <= 0) { printf "target (%s): no pidwait figure to compare with\n", s; exit 0 }
		r = (n - f) / (p - f)
		printf "target (%s): nfwait above the floor = %.2fx pidwait above it (<= 0.5x): %s\n",
		    s, r, r <= 0.5 ? "met" : "MISSED"
		exit r <= 0.5 ? 0 : 1
	}' "$1"
}

echo "== handoff latency ($(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "old process: works ${WORK} ms after its signal, then exits; figure: its exit -> the waiter's return"
echo "medians over $RUNS runs (NFShmXFrame's loop: 10); x pidwait above floor = (tool - floor) / (pidwait - floor)"
measure prompt ""
measure zombie -z
table "$W/setting.prompt" "Prompt reaper (the old process's parent reaps it at once):"
table "$W/setting.zombie" "A parent that never reaps (the old process stays a zombie):"
echo
miss=0
target "$W/setting.prompt" "prompt reaper" || miss=1
target "$W/setting.zombie" "never reaps" || miss=1

echo
echo "== nfwait on $MANY PIDs (killed at once; wall and CPU time per exit, from the kills to its return)"
echo
echo "| waiter | PIDs | peak RSS | wall per exit | CPU per exit |"
echo "|---|---:|---:|---:|---:|"
many() {	# NAME ARGS...
	_n=$1
	shift
	_r=$(lat -M "$MANY" "$@" 2> "$W/many.err")
	if [ -z "$_r" ]; then
		echo "| $_n | $MANY | failed: $(head -1 "$W/many.err") | | |"
		return
	fi
	echo "$_r" | awk -v n="$_n" '{
		rss = $2 >= 1024 ? sprintf("%.1f MiB", $2 / 1024) : sprintf("%d KiB", $2)
		printf "| %s | %d | %s | %.2f us | %.2f us |\n", n, $1, rss, $3, $4 }'
	echo "$_r" > "$W/many.$(echo "$_n" | tr -c 'a-z' _)"
}
many "nfwait" -- nfwait
many "nfwait, NF_NO_PIDFD=1" -e NF_NO_PIDFD=1 -- nfwait
if have pidwait; then
	many "pidwait -P (children of one parent)" -- pidwait -P %P
fi
rss=$(cut -d' ' -f2 "$W/many.nfwait" 2> /dev/null)
if [ -n "$rss" ]; then
	echo
	awk -v r="$rss" -v n="$MANY" 'BEGIN {
		printf "target: nfwait on %d PIDs <= 8 MiB RSS: %.1f MiB: %s\n", n, r / 1024,
		    r <= 8192 ? "met" : "MISSED"; exit r <= 8192 ? 0 : 1 }' || miss=1
fi
[ "${NF_BENCH_STRICT:-0}" = 1 ] && [ $miss = 1 ] && exit 1
exit 0
