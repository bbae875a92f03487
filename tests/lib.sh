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
# Inside a case: $TOP (the source tree), $BIN (bin/), $FIX (tests/bin/),
# PATH starts with both; helper functions come from tests/helpers.sh.

: "${NF_CASE_TIMEOUT:=60}"
npass=0 nfail=0 nskip=0 nna=0 ncase=0

_report() {	# NAME RESULT
	printf '%s: %s\n' "$2" "$1"
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
	_run "$4"
	if [ "$_rc" != "$2" ]; then
		_fail "$1" "exit $_rc, wanted $2"
	elif [ "$(cat "$_dir.out")" != "$3" ]; then
		_fail "$1" "stdout differs; wanted: $3"
	else
		_pass "$1"
	fi
}

tce() {
	_run "$5"
	if [ "$_rc" != "$2" ]; then
		_fail "$1" "exit $_rc, wanted $2"
	elif [ "$(cat "$_dir.out")" != "$3" ]; then
		_fail "$1" "stdout differs; wanted: $3"
	elif ! grep -Eq -- "$4" "$_dir.err"; then
		_fail "$1" "stderr does not match /$4/"
	else
		_pass "$1"
	fi
}

ok() {
	_run "$2"
	if [ "$_rc" != 0 ]; then
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
