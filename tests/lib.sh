# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Test harness, sourced by tests/run.sh; every test file uses these.
#
#   tc  NAME RC OUT CMD          run CMD (sh code) in a fresh scratch
#                                directory; pass when its exit status is RC
#                                and its stdout is OUT exactly
#   tce NAME RC OUT ERE CMD      the same, and stderr must match ERE
#   ok  NAME CMD                 pass when CMD exits 0 (for scenarios whose
#                                checks are inside CMD; it prints why not)
#   skip NAME REASON             a case this machine cannot run; a failure
#                                when NF_REQUIRE_ALL=1
#
# A case that exits 77 is skipped, with its first line of stdout as the
# reason (need_ns in tests/helpers.sh: it needs the private PID namespace).
# A case that starts the fixture server or runs nfshm makes SysV
# segments, as does every case of a file that sets NF_NEEDS_IPC=1 (or
# NF_FRESH_IPC=1): outside the private IPC namespace of tests/run.sh they
# are skipped, so that the suite never touches a segment of the machine's
# (a real server's key) that it did not make, and leaves none behind.
#
# Inside a case: $TOP (the source tree), $BIN (bin/), $FIX (tests/bin/),
# PATH starts with both; helper functions come from tests/helpers.sh.

: "${NF_CASE_TIMEOUT:=60}"
npass=0 nfail=0 nskip=0 nna=0 ncase=0

_report() {	# NAME RESULT
	printf '%s: %s\n' "$2" "$1"
}

# _isolated NAME CMD: 0 when the case may run; else it is skipped here.
_isolated() {
	[ "$NF_IN_NS" = 1 ] && return 0
	if [ "${NF_NEEDS_IPC:-0}${NF_FRESH_IPC:-0}" != 00 ] ||
	    printf '%s\n' "$2" | grep -Eq 'serve |nfserver|nfshm '; then
		skip "$1" "makes SysV segments: needs the private IPC namespace of tests/run.sh (root, unshare)"
		return 1
	fi
	return 0
}

_run() {	# CMD -> sets _dir, _rc
	ncase=$((ncase + 1))
	_dir=$SCRATCH/$ncase
	mkdir -p "$_dir"
	printf '%s\n' "$1" > "$_dir.cmd"
	# A file that sets NF_FRESH_IPC=1 starts each case without segments
	# (only inside the private IPC namespace: never on the machine's own).
	if [ "${NF_FRESH_IPC:-0}" = 1 ] && [ "$NF_IN_NS" = 1 ]; then
		ipcrm -a 2> /dev/null
	fi
	# timeout(1) kills the whole process group of a case that hangs.
	(cd "$_dir" && timeout -k 5 "$NF_CASE_TIMEOUT" sh -c \
	    '. "$TOP/tests/helpers.sh"; . "$0"' "$_dir.cmd" ) \
	    > "$_dir.out" 2> "$_dir.err" < /dev/null
	_rc=$?
}

_fail() {	# NAME WHY
	nfail=$((nfail + 1))
	_report "$1" FAIL
	printf '  %s\n' "$2"
	printf '  command: '; sed -n '1,3p' "$_dir.cmd"
	if [ -s "$_dir.out" ]; then
		printf '  stdout:\n'; sed 's/^/    /' "$_dir.out" | head -20
	fi
	if [ -s "$_dir.err" ]; then
		printf '  stderr:\n'; sed 's/^/    /' "$_dir.err" | head -20
	fi
}

_pass() {
	npass=$((npass + 1))
	_report "$1" PASS
	[ -n "$NF_KEEP" ] || rm -rf "$_dir" "$_dir.cmd" "$_dir.out" "$_dir.err"
}

tc() {
	tce "$1" "$2" "$3" "" "$4"
}

tce() {	# an empty ERE: stderr is not looked at
	_isolated "$1" "$5" || return 0
	_run "$5"
	if [ "$_rc" = 77 ] && [ "$2" != 77 ]; then
		skip "$1" "$(head -n 1 "$_dir.out")"
	elif [ "$_rc" != "$2" ]; then
		_fail "$1" "exit $_rc, wanted $2"
	elif [ "$(cat "$_dir.out")" != "$3" ]; then
		_fail "$1" "stdout differs; wanted: $3"
	elif [ -n "$4" ] && ! grep -Eq -- "$4" "$_dir.err"; then
		_fail "$1" "stderr does not match /$4/"
	else
		_pass "$1"
	fi
}

ok() {
	_isolated "$1" "$2" || return 0
	_run "$2"
	if [ "$_rc" = 77 ]; then
		skip "$1" "$(head -n 1 "$_dir.out")"
	elif [ "$_rc" != 0 ]; then
		_fail "$1" "exit $_rc"
	else
		_pass "$1"
	fi
}

skip() {
	# Under make check-asan, a case about the release build ("(n/a ...)":
	# static linking, size, the Windows program) does not apply: it is not
	# a skip, make check runs it.
	case ${NF_ASAN:-0}:$2 in
	1:*"(n/a "*)
		nna=$((nna + 1))
		_report "$1" N/A
		printf '  %s\n' "$2"
		return ;;
	esac
	if [ "${NF_REQUIRE_ALL:-0}" = 1 ]; then
		nfail=$((nfail + 1))
		_report "$1" FAIL
		printf '  skipped, and NF_REQUIRE_ALL=1: %s\n' "$2"
	else
		nskip=$((nskip + 1))
		_report "$1" SKIP
		printf '  %s\n' "$2"
	fi
}

# have CMD: is CMD on this machine?
have() {
	command -v "$1" > /dev/null 2>&1
}
