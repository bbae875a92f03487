#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Runs every tests/*.test (or those named) and ends with
# "N passed, N failed[, N skipped]"; exits non-zero on any failure.
#
# The tests send real signals as root. So that a bug can never reach a
# process outside the tests, the whole run moves into a private PID (and
# IPC, mount) namespace with tests/bin/nfinit as its init, where it can.
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
# Run by a systemd unit (a CI runner), the tools would talk to its systemd:
# only the cases that say so do.
unset NOTIFY_SOCKET MAINPID

if [ -z "$NF_IN_NS" ]; then
	if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null 2>&1 &&
	    unshare --pid --fork --mount-proc --ipc true 2> /dev/null; then
		NF_IN_NS=1 exec unshare --pid --fork --mount-proc --ipc \
		    "$TOP/tests/bin/nfinit" sh "$0" "$@"
	fi
	NF_IN_NS=0
	echo "run.sh: no private PID namespace (needs root and unshare):" \
	    "cases that could signal a wrong process are skipped"
fi
export NF_IN_NS

# NF_BIN: another build of the tools (make check-asan); fixtures stay.
BIN=${NF_BIN:-$TOP/bin} FIX=$TOP/tests/bin
PATH=$BIN:$FIX:$PATH
export BIN FIX PATH
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/nftest.XXXXXX")
chmod 755 "$SCRATCH"
export SCRATCH
. "$TOP/tests/lib.sh"

if [ $# -gt 0 ]; then
	files=$*
else
	files=$(ls "$TOP"/tests/*.test)
fi
for f in $files; do
	case $f in */*) ;; *) f=$TOP/tests/$f ;; esac
	case $f in *.test) ;; *) f=$f.test ;; esac
	echo "== $(basename "$f")"
	NF_FRESH_IPC=0 NF_NEEDS_IPC=0
	. "$f"
done

[ -n "$NF_KEEP" ] || rm -rf "$SCRATCH"
sum="$npass passed, $nfail failed"
[ "$nskip" -gt 0 ] && sum="$sum, $nskip skipped"
[ "$nna" -gt 0 ] && sum="$sum, $nna n/a"
echo "$sum"
[ "$nfail" -eq 0 ]
