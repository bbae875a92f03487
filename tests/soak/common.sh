# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Shared by tests/soak/soak.sh and tests/soak/reuse.sh (sourced).
#
# Both send real signals, many of them at random: the whole run moves into a
# private PID, IPC and mount namespace with tests/bin/nfinit as its init (it
# reaps the orphans), so nothing outside can ever be hit. Outside such a
# namespace (no root, no unshare) they refuse to run.

TOP=$(cd "$(dirname "$0")/../.." && pwd)
export TOP
# waitfor and the rest of the cases' helpers; alive is redefined below
# without a fork, as the soak calls it thousands of times.
. "$TOP/tests/helpers.sh"

# enter_ns NAME ARGS...: re-run this script inside the namespace.
enter_ns() {
	_name=$1
	shift
	[ "${NF_IN_NS:-0}" = 1 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null 2>&1 ||
	    ! unshare --pid --fork --mount-proc --ipc true 2> /dev/null; then
		echo "$_name: needs root and unshare (a private PID" \
		    "namespace): not run" >&2
		exit 2
	fi
	NF_IN_NS=1 exec unshare --pid --fork --mount-proc --ipc \
	    "$TOP/tests/bin/nfinit" sh "$0" "$@"
}

# build NAME: tests/soak/NAME.c -> tests/bin/nf-NAME, with the Makefile's
# compiler (musl-gcc, static) where there is one, else cc.
build() {
	_src=$TOP/tests/soak/$1.c _out=$TOP/tests/bin/nf-$1
	[ -x "$_out" ] && [ ! "$_src" -nt "$_out" ] && return 0
	_cc=${CC:-musl-gcc} _st=
	command -v "$_cc" > /dev/null 2>&1 || _cc=cc
	case $_cc in *musl*) _st=-static ;; esac
	mkdir -p "$TOP/tests/bin"
	$_cc -std=c11 -O2 -Wall -Wextra -Werror $_st -o "$_out" "$_src" ||
	    { echo "build: $_src failed" >&2; exit 2; }
}

# A reproducible random stream: SEED=$((...)) once, then rnd N sets R to
# 0..N-1 (a 64-bit LCG, in the shell's own arithmetic: no fork).
rnd() {
	SEED=$(((SEED * 6364136223846793005 + 1442695040888963407) &
	    0x7fffffffffffffff))
	R=$(((SEED >> 33) % $1))
}

# pstate PID: ST = its state letter (R S D T Z ...), empty when gone.
pstate() {
	ST= _l=
	read -r _l 2> /dev/null < "/proc/$1/stat" || [ -n "$_l" ] || return 0
	_l=${_l##*) }
	ST=${_l%% *}
}

# alive PID: exists and is neither a zombie nor dead.
alive() {
	pstate "$1"
	[ -n "$ST" ] && [ "$ST" != Z ] && [ "$ST" != X ]
}

# reaped PID: no /proc entry at all (the number is free again).
reaped() {
	[ ! -e "/proc/$1" ]
}

# spin MS CMD...: as waitfor, polling every 10 ms, at most MS, and a last
# look then.
spin() {
	_m=$1
	shift
	looks 0.01 $((_m / 10)) "$@" || "$@" 2> /dev/null
}

# decoy FILE COMM PID: start tests/bin/nf-sigrec as COMM on exactly PID
# (the kernel hands out ns_last_pid + 1 next). Sets D to its PID; returns 1
# (and leaves nothing running) when the number could not be had.
decoy() {
	D=
	for _try in 1 2 3 4 5; do
		reaped "$3" || return 1
		echo $(($3 - 1)) > /proc/sys/kernel/ns_last_pid || return 1
		nf-sigrec "$1" "$2" < /dev/null > /dev/null &
		D=$!
		[ "$D" = "$3" ] && break
		kill -KILL "$D" 2> /dev/null
		wait "$D" 2> /dev/null
		D=
	done
	[ -n "$D" ] || return 1
	spin 5000 test -e "$1" || return 1
	return 0
}

# innocent PID FILE: the decoy is running, not stopped, and caught nothing.
innocent() {
	pstate "$1"
	[ -n "$ST" ] && [ "$ST" != Z ] && [ "$ST" != T ] && [ ! -s "$2" ]
}
