#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make check-asan: the whole test suite against the tools built with
# AddressSanitizer + UndefinedBehaviorSanitizer (bin/asan/), then the
# nfpid, nfsignal and nfwait cases under valgrind's memcheck (bin/valgrind/
# runs an unstripped -g -O1 build from bin/vg/). Fails on any failed case,
# on any sanitizer or valgrind report (even one inside a case that expected
# a non-zero exit), and, with NF_REQUIRE_ALL=1, on any skip but those that
# say "(n/a ...)": release-build properties (static linking, size), the
# Windows program, and under valgrind the pidfd path.
#
#   ASAN_CC=clang   the compiler of the sanitizer build
#   VG_CC=musl-gcc  the compiler of the build under valgrind
#   NF_ASAN_PASS=0  leave out the sanitizer pass
#   NF_VALGRIND=0   leave out the valgrind pass
#   NF_ASAN_TESTS   the test files of the sanitizer pass (default: all)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CC=${ASAN_CC:-clang}
TOOLS="nfpid nfsignal nfwait nfshm nfrestart"
CFLAGS="-std=c11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
LOGS=$TOP/bin/asan/logs
rc=0

lib() {	# every library source: what libnf.a is built from
	for l in "$TOP"/src/lib/*.c; do printf ' %s' "$l"; done
}

mods() {	# TOOL: its private modules, as the Makefile links them
	case $1 in
	nfshm) printf ' %s' "$TOP/src/nfshm-copy.c" "$TOP/src/nfshm-freeze.c" ;;
	nfrestart) printf ' %s' "$TOP/src/nfrestart-hold.c" \
	    "$TOP/src/nfrestart-ready.c" "$TOP/src/nfrestart-backup.c" \
	    "$TOP/src/nfrestart-notify.c" ;;
	esac
}

build() {	# CC DIR EXTRA-FLAGS TOOL...
	_cc=$1 _dir=$2 _fl=$3
	shift 3
	mkdir -p "$_dir"
	for t; do
		echo "$_cc $CFLAGS $_fl -o $_dir/$t src/$t.c$(mods $t) src/lib/*.c"
		# shellcheck disable=SC2046
		$_cc $CFLAGS $_fl -o "$_dir/$t" "$TOP/src/$t.c" $(mods $t) $(lib) ||
		    exit 3
	done
}

# The suite's own summary line; any skip fails the run under
# NF_REQUIRE_ALL=1 (the "(n/a ...)" cases are counted apart by tests/lib.sh).
verdict() {	# NAME OUTFILE SUITE-RC
	tail -1 "$2"
	[ "$3" = 0 ] || { echo "$1: the suite failed"; rc=1; }
	skips=$(grep -c '^SKIP: ' "$2")
	if [ "$skips" -gt 0 ] && [ "${NF_REQUIRE_ALL:-0}" = 1 ]; then
		grep -A1 '^SKIP: ' "$2"
		echo "$1: $skips skips, and NF_REQUIRE_ALL=1"
		rc=1
	fi
	na=$(grep -c '^N/A: ' "$2")
	echo "$1: $na cases n/a for these builds (release build only:" \
	    "make check runs them)"
}

if ! command -v "$CC" > /dev/null 2>&1; then
	echo "check-asan: $CC not found (apt-get install clang libclang-rt-14-dev)"
	exit 3
fi
cd "$TOP" || exit 3
start=$(date +%s)

# --- ASan + UBSan ---
if [ "${NF_ASAN_PASS:-1}" = 1 ]; then
	build "$CC" "$TOP/bin/asan" "$SAN" $TOOLS
	rm -rf "$LOGS"
	mkdir -p "$LOGS"
	# Cases run tools as nobody too: their reports must land here as well.
	chmod 1777 "$LOGS"
	# The tools leave through _exit(), so LeakSanitizer (an atexit check)
	# would never run; they use no heap either. Leaks are valgrind's part.
	# A report makes the tool exit 99 and leaves a file in $LOGS, which
	# fails the run even where the case expected some non-zero exit.
	ASAN_OPTIONS=log_path=$LOGS/asan:exitcode=99:detect_leaks=0
	ASAN_OPTIONS=$ASAN_OPTIONS:strict_string_checks=1
	ASAN_OPTIONS=$ASAN_OPTIONS:detect_stack_use_after_return=1
	UBSAN_OPTIONS=log_path=$LOGS/ubsan:exitcode=99:halt_on_error=1
	UBSAN_OPTIONS=$UBSAN_OPTIONS:print_stacktrace=1
	export ASAN_OPTIONS UBSAN_OPTIONS
	out=$TOP/bin/asan/run.out
	# shellcheck disable=SC2086
	NF_ASAN=1 NF_BIN=$TOP/bin/asan NF_REQUIRE_ALL=0 NF_CC=$CC \
	    sh tests/run.sh ${NF_ASAN_TESTS:-} > "$out" 2>&1
	src=$?
	grep -E -A12 '^FAIL: ' "$out"
	verdict asan "$out" "$src"
	if [ -n "$(ls "$LOGS")" ]; then
		echo "asan: sanitizer reports:"
		for f in "$LOGS"/*; do echo "== $f"; head -40 "$f"; done
		rc=1
	else
		echo "asan: 0 sanitizer reports"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi
mid=$(date +%s)
echo "asan: $((mid - start)) s"

# --- valgrind memcheck ---
# The tools use no heap (fixed buffers, mmap), so valgrind's malloc
# replacement has nothing to watch: the build under valgrind is the shipped
# one (musl, static) with -g -O1 and not stripped, which also starts four
# times faster than a dynamic one. valgrind 3.19 does not know pidfd_open:
# there it fails with ENOSYS, the tools take their /proc fallback, and the
# cases that ask for the pidfd path are n/a (the sanitizer pass runs them).
# A log holding anything but that warning is a report: a memcheck error, a
# definite or indirect leak, or a descriptor the tool opened and left open
# at its exit (the PID file lock of nfpid lock, kept by design, aside).
vgreport() {	# LOG
	awk '
	function flush() { if (fd != "" && blk !~ /nf_pidfile_lock/) printf "%s", blk
		fd = ""; blk = "" }
	/^--[0-9]+-- / { next }
	{ sub(/^==[0-9]+== ?/, "") }
	/^FILE DESCRIPTORS: / { next }
	/^Open / { flush(); fd = $0; blk = "left open at exit: " $0 "\n"; next }
	/<inherited from parent>/ { fd = ""; blk = ""; next }
	fd != "" && /^$/ { flush(); next }
	fd != "" { blk = blk $0 "\n"; next }
	/^$/ { next }
	{ print }
	END { flush() }' "$1"
}
if [ "${NF_VALGRIND:-1}" = 1 ]; then
	if ! command -v valgrind > /dev/null 2>&1; then
		echo "valgrind: not installed (apt-get install valgrind)"
		[ "${NF_REQUIRE_ALL:-0}" = 1 ] && rc=1
	else
		VLOGS=$TOP/bin/valgrind/logs
		build "${VG_CC:-musl-gcc}" "$TOP/bin/vg" "-gdwarf-4 -static" \
		    nfpid nfsignal nfwait
		rm -rf "$VLOGS"
		mkdir -p "$VLOGS" "$TOP/bin/valgrind"
		chmod 1777 "$VLOGS"
		for t in nfpid nfsignal nfwait; do
			cat > "$TOP/bin/valgrind/$t" <<-EOF
			#!/bin/sh
			exec valgrind -q --tool=memcheck --error-exitcode=99 \\
			    --leak-check=full --errors-for-leak-kinds=definite,indirect \\
			    --track-fds=yes --log-file=$VLOGS/$t.%p "$TOP/bin/vg/$t" "\$@"
			EOF
			chmod 755 "$TOP/bin/valgrind/$t"
		done
		if "$TOP/bin/valgrind/nfwait" -v -t 0 $$ 2>&1 |
		    grep -q "pidfd_open: Function not implemented"; then
			NF_NO_PIDFD_OPEN=1
			NF_NO_PIDFD_WHY="valgrind has no pidfd_open: the sanitizer\
 pass runs the pidfd path (n/a under valgrind)"
		else
			NF_NO_PIDFD_OPEN=0 NF_NO_PIDFD_WHY=
		fi
		rm -f "$VLOGS"/*
		export NF_NO_PIDFD_OPEN NF_NO_PIDFD_WHY
		out=$TOP/bin/valgrind/run.out
		NF_ASAN=1 NF_BIN=$TOP/bin/valgrind NF_REQUIRE_ALL=0 \
		    sh tests/run.sh nfpid nfsignal nfwait > "$out" 2>&1
		src=$?
		grep -E -A12 '^FAIL: ' "$out"
		verdict valgrind "$out" "$src"
		n=0
		for f in "$VLOGS"/*; do
			[ -n "$(vgreport "$f")" ] || continue
			n=$((n + 1))
			[ $n -le 5 ] && { echo "== $f"; vgreport "$f" | head -40; }
		done
		echo "valgrind: $(ls "$VLOGS" | wc -l) runs, $n with a report"
		[ $n = 0 ] || rc=1
		echo "valgrind: $(($(date +%s) - mid)) s"
	fi
fi
echo "check-asan: $(($(date +%s) - start)) s in total"
exit $rc
