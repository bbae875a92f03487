#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make fuzz: builds the libFuzzer targets tests/fuzz/TARGET.c with clang
# (-fsanitize=fuzzer,address,undefined) against the sources in src/ into
# tests/fuzz/bin/, then runs each for FUZZTIME seconds (default 60), one
# after another, on a copy of its seed corpus tests/fuzz/corpus/TARGET/.
# Prints a table (target, executions, executions/s, corpus size, result)
# and exits 1 when a target crashed or broke one of its properties (the
# input is kept as tests/fuzz/bin/TARGET/crash-*; replay it with
# `tests/fuzz/bin/TARGET.fz FILE`), 2 when it cannot build.
#
#   FUZZ_TARGETS="dur sig"   run only these
#   FUZZ_MERGE=1             add the new inputs that cover more to the
#                            committed corpus (libFuzzer -merge=1)
#   FUZZ_CC=clang-14         another clang
set -u
cd "$(dirname "$0")" || exit 2
FUZZTIME=${FUZZTIME:-60}
CC=${FUZZ_CC:-clang}
ALL="pidfile pidlist dur sched sig addr backup winquote shmhdr"
TARGETS=${FUZZ_TARGETS:-$ALL}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined \
-fno-sanitize-recover=undefined -Wall -Wextra"

# The sources each target is built from, besides its own file: src/lib/
# NAME.c, or a path from here.
srcs() {
	case $1 in
	pidfile) echo parse pidfile pidrules files fmt msg opt backoff ;;
	pidlist) echo addr parse pidfile pidrules files fmt msg opt backoff ;;
	dur | addr) echo parse ;;
	sched | sig) echo parse sig fmt opt msg ;;
	winquote) echo fmt ;;
	shmhdr) echo shmhdr ../fixtures/nfxhdr ;;
	backup) echo backup sum segio files shm shmhdr proc msg fmt parse opt \
		    backoff ;;
	*) return 1 ;;
	esac
}

if ! command -v "$CC" > /dev/null 2>&1; then
	echo "fuzz: $CC not found (apt-get install clang)" >&2
	exit 2
fi
mkdir -p bin
for t in $TARGETS; do
	if ! lib=$(srcs "$t"); then
		echo "fuzz: $t: no such target (targets: $ALL)" >&2
		exit 2
	fi
	files=$t.c
	for s in $lib; do
		case $s in
		*/*) files="$files $s.c" ;;	# beside tests/fuzz
		*) files="$files ../../src/lib/$s.c" ;;
		esac
	done
	out=bin/$t.fz
	# Rebuilt when any of its sources or headers is newer.
	# shellcheck disable=SC2086
	if [ -x "$out" ] && [ -z "$(find $files fuzz.h ../../src/lib/*.h \
	    -newer "$out" 2> /dev/null)" ]; then
		continue
	fi
	extra=
	[ "$t" = pidlist ] && extra=-Wl,--wrap=nf_die,--wrap=mmap
	echo "fuzz: building $t"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS $extra -o "$out" $files; then
		echo "fuzz: $t: build failed (libFuzzer: apt-get install" \
		    "clang libclang-rt-dev)" >&2
		exit 2
	fi
done

fail=0
table=
for t in $TARGETS; do
	w=bin/$t
	rm -rf "$w"
	mkdir -p "$w/corpus" "$w/tmp"
	cp corpus/"$t"/* "$w/corpus/" 2> /dev/null
	seeds=$(ls "$w/corpus" | wc -l)
	echo "fuzz: $t for ${FUZZTIME}s ($seeds seeds)"
	TMPDIR=$PWD/$w/tmp "./bin/$t.fz" -max_total_time="$FUZZTIME" \
	    -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
	    -artifact_prefix="$w/" "$w/corpus" > "$w/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log")
	size=$(ls "$w/corpus" | wc -l)
	bytes=$(cat "$w/corpus"/* 2> /dev/null | wc -c)
	crash=$(ls "$w"/crash-* "$w"/leak-* "$w"/timeout-* "$w"/oom-* \
	    2> /dev/null | head -1)
	if [ "$rc" = 0 ] && [ -z "$crash" ]; then
		result=ok
	else
		fail=1
		why=$(grep -m1 -E '^property failed|^SUMMARY|ERROR: libFuzzer' \
		    "$w/log")
		result="FAILED (exit $rc) ${crash:+tests/fuzz/$crash}: ${why:-see tests/fuzz/$w/log}"
		echo "fuzz: $t: $result" >&2
		grep -m1 -B2 -A12 -E '^property failed|ERROR: ' "$w/log" >&2
	fi
	table="$table$(printf '%-9s %12s %8s %6s %8s  %s' "$t" "${execs:-?}" \
	    "${rate:-?}" "$size" "$bytes" "$result")
"
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$result" = ok ]; then
		"./bin/$t.fz" -merge=1 "corpus/$t" "$w/corpus" \
		    > "$w/merge.log" 2>&1 || echo "fuzz: $t: merge failed" >&2
	fi
	rm -rf "$w/tmp"
done

echo
echo "fuzz: ${FUZZTIME}s per target, one at a time"
printf '%-9s %12s %8s %6s %8s  %s\n' target execs exec/s inputs bytes result
printf '%s' "$table"
exit $fail
