#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make demo: a live look at nfhandoff against the fixture server.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PATH=$TOP/bin:$TOP/tests/bin:$PATH
d=$(mktemp -d "${TMPDIR:-/tmp}/nfdemo.XXXXXX")
cd "$d" || exit 1
pids=
cleanup() {
	for p in $pids; do kill -KILL "$p" 2> /dev/null; done
	ipcrm -M 0x100d0101 2> /dev/null
	rm -rf "$d"
}
trap cleanup EXIT INT TERM
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

nfserver -S GameServer -I 1.13.1.1 2> server.log &
pids=$!
while [ ! -s GameServer_1.13.1.1.pid ]; do sleep 0.01; done
say "nfpid read -S GameServer -I 1.13.1.1"
nfpid read -S GameServer -I 1.13.1.1
say "nfpid check -v -S GameServer -I 1.13.1.1; echo \$?"
nfpid check -v -S GameServer -I 1.13.1.1; echo $?
kill -TERM "$pids"; wait "$pids" 2> /dev/null
say "nfpid check -S GameServer -I 1.13.1.1; echo \$?   # after the server stopped"
nfpid check -S GameServer -I 1.13.1.1; echo $?
exit 0
