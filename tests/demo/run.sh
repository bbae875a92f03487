#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make demo: a live handoff. A fixture game server counts in shared memory;
# nfrestart replaces it three times and the count goes on.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$TOP/bin:$TOP/tests/bin:$PATH
ID=1.13.1.1
SV="-S GameServer -I $ID"
d=$(mktemp -d "${TMPDIR:-/tmp}/nfdemo.XXXXXX")
cd "$d" || exit 1
# The demo's own key would collide with a real server of bus ID 1.13.1.1 on
# this machine: refuse rather than touch it.
if ipcs -m 2> /dev/null | grep -q 0x100d0101; then
	echo "demo: segment 0x100d0101 already exists on this machine; not touching it" >&2
	exit 1
fi

cleanup() {
	for p in $(cat GameServer_$ID.pid 2> /dev/null); do
		case $p in ''|*[!0-9]*) ;; *) kill -TERM "$p" 2> /dev/null ;; esac
	done
	sleep 0.2
	ipcrm -M 0x100d0101 2> /dev/null
	cd / && rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM
exec 2>&1	# one stream, in order, also when piped

if [ -t 1 ]; then B=$(printf '\033[1m') G=$(printf '\033[32m') R=$(printf '\033[31m') N=$(printf '\033[0m')
else B= G= R= N=; fi
say() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
run() { printf '%s$ %s%s\n' "$G" "$*" "$N"; "$@"; }
counter() { nfserver --peek -I $ID | cut -d' ' -f2; }
show() { printf '   counter in shared memory: %s%s%s\n' "$B" "$(counter)" "$N"; }

say "1. Start a game server (the fixture: it counts in its SysV segment)"
run nfrestart -q -d --new -o server.log $SV -- nfserver $SV
while [ ! -s GameServer_$ID.pid ]; do sleep 0.01; done
sleep 0.3; show
run nfshm stat -S GameServer -I $ID | grep -E '^(key|bytes|nattch|init|version|verdict)'

say "2. Hot restart: signal 31, wait, start the new binary on the same memory"
c0=$(counter)
run nfrestart -v -d -o server.log $SV -- nfserver $SV
sleep 0.2
c1=$(counter)
echo "   counter before the restart $c0, after it $c1: nothing lost"

say "3. A new build whose init never completes leaves the segment in INIT state"
run nfrestart -q -d -o server.log $SV -- nfserver $SV --init
sleep 0.2; show
run nfshm stat -S GameServer -I $ID | grep verdict
say "   ...so the next restart would wipe the data. nfrestart refuses, touching nothing:"
c2=$(counter)
run nfrestart -d -o server.log $SV -- nfserver $SV
echo "   exit status $?: refused"
sleep 0.1
echo "   the old server still runs: counter $c2 -> $(counter)"

say "4. The operator accepts the loss with --force"
run nfrestart --force -d -o server.log $SV -- nfserver $SV
sleep 0.2; show
echo "   the counter starts again, as --force said it would"

say "Summary"
printf '   restart 2: %s%s -> %s, nothing lost%s\n' "$G" "$c0" "$c1" "$N"
printf '   restart 3: refused (5) before the old server was touched: %snothing lost%s\n' "$G" "$N"
printf '   restart 4: %sdata wiped, because --force asked for it%s\n' "$R" "$N"
echo
echo "The server log:"
sed 's/^/   /' server.log
