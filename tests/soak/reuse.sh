#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# The PID-reuse trial (make reuse-trial; REUSE_N rounds, default 100).
#
# Each round: a fixture server runs and writes its PID file; it then ends
# (signal 31, or SIGKILL) and leaves the file naming it. Inside the private
# PID namespace the kernel is made to hand that very PID to an innocent
# process (ns_last_pid = PID - 1, then fork), which records every signal it
# receives. Then every tool that could signal is run against the stale
# file: nfpid check, nfsignal -p, nfsignal -S/-I, nfsignal -s KILL, nfwait
# with a KILL schedule, and nfrestart with a KILL schedule. The innocent
# process must receive nothing, and each tool must give the exit code its
# man page promises. Variants (in turn): the innocent has another name; has
# the server's executable name or its NFShmXFrame title (a look-alike:
# nfrestart must refuse, 5); the PID file is an hour old; it was rewritten
# just before the reuse; the server was SIGKILLed; no pidfd (NF_NO_PIDFD=1).
# Prints a table; exits 1 if an innocent was signalled or a code was wrong.
. "$(dirname "$0")/common.sh"
enter_ns reuse-trial "$@"

N=${REUSE_N:-100}
BIN=${NF_BIN:-$TOP/bin} FIX=$TOP/tests/bin
PATH=$BIN:$FIX:$PATH
export PATH
build sigrec
W=$(mktemp -d "${TMPDIR:-/tmp}/nfreuse.XXXXXX") || exit 2
chmod 755 "$W"
cd "$W" || exit 2
# A copy of the binaries: others may rebuild the tree during a run.
mkdir bin
for b in nfpid nfsignal nfwait nfrestart; do
	cp "$BIN/$b" bin/ || exit 2
done
cp "$FIX/nfserver" "$FIX/nf-sigrec" bin/ || exit 2
PATH=$W/bin:$PATH
S=Reuse I=${REUSE_ID:-2.1.1.1}
F=${S}_$I.pid
t0=$(date +%s)

# The variants: name, what the innocent is called, how the server ends,
# what is done to the file, the environment of the tools.
VARIANTS="other lookalike-exe lookalike-title mtime-old mtime-fresh killed
	nopidfd lookalike-old"
NV=8
TOOLS="check sig_p sig_SI sig_KILL wait_KILL restart"

server=	mine=
# up: make sure a server runs; SP is its PID.
up() {
	SP=$(cat "$F" 2> /dev/null)
	if [ -n "$SP" ] && alive "$SP" &&
	    [ "$(cat "/proc/$SP/comm" 2> /dev/null)" = nfserver ]; then
		return 0
	fi
	rm -f "$F" ready
	nfserver -S $S -I $I --ready-file ready > /dev/null 2>> server.log &
	mine=$!
	spin 5000 test -s ready || { echo "reuse: server did not start" >&2
	    exit 2; }
	SP=$mine
}

# down HOW: end the server and wait until its number is free again.
down() {
	kill "-$1" "$SP"
	if [ "$SP" = "$mine" ]; then
		wait "$SP" 2> /dev/null
		mine=
	fi
	spin 5000 reaped "$SP" || { echo "reuse: $SP not reaped" >&2; exit 2; }
}

# run TOOL: the tool against the stale file; sets RC.
run() {
	case $1 in
	check) nfpid check -p "$F" ;;
	sig_p) nfsignal -p "$F" ;;
	sig_SI) nfsignal -S $S -I $I ;;
	sig_KILL) nfsignal -s KILL -p "$F" ;;
	wait_KILL) nfwait -p "$F" -r TERM/0.2/KILL/1 ;;
	restart) nfrestart -S $S -I $I -d -o server.log -t 2 \
	    -r restart/0.2/KILL/1 --ready-fd 3 --ready-timeout 5 \
	    -- nfserver -S $S -I $I --ready-fd 3 ;;
	esac > out.$1 2> err.$1 < /dev/null
	RC=$?
}

# want VARIANT TOOL: WANT, the exit code the man pages promise.
want() {
	case $2 in
	check|sig_p|sig_KILL) WANT=1 ;;
	# -S/-I names the framework's title: a process with it is refused.
	sig_SI) case $1 in lookalike-title) WANT=5 ;; *) WANT=1 ;; esac ;;
	wait_KILL) WANT=0 ;;
	restart) case $1 in lookalike*) WANT=5 ;; *) WANT=0 ;; esac ;;
	esac
}

signalled=0 bad=0 rounds=0 noreuse=0
i=0
while [ $i -lt "$N" ]; do
	v=$((i % NV + 1))
	set -- $VARIANTS
	eval "var=\${$v}"
	i=$((i + 1))
	comm=innocent how=31 env=
	case $var in
	lookalike-exe|lookalike-old) comm=nfserver ;;
	lookalike-title) comm=NF${S}$I ;;
	killed) how=KILL ;;
	nopidfd) env=1 ;;
	esac
	up
	P=$SP
	case $var in
	mtime-fresh) sleep 0.1; cp "$F" f.tmp; mv f.tmp "$F" ;;
	esac
	down $how
	case $var in
	mtime-old|lookalike-old) touch -d "@$(($(date +%s) - 3600))" "$F" ;;
	esac
	# A reused PID is a later process: past the guard's 250 ms tolerance.
	sleep 0.3
	rm -f rec
	if ! decoy rec "$comm" "$P"; then
		noreuse=$((noreuse + 1))
		echo "round $i: could not hand $P to a new process" >&2
		[ -n "$D" ] && { kill -KILL "$D"; wait "$D"; } 2> /dev/null
		continue
	fi
	rounds=$((rounds + 1))
	[ "$(cat "$F")" = "$P" ] || { echo "round $i: $F changed" >&2; exit 2; }
	for t in $TOOLS; do
		if [ -n "$env" ]; then
			NF_NO_PIDFD=1; export NF_NO_PIDFD
		fi
		run $t
		unset NF_NO_PIDFD
		want $var $t
		eval "n=\${c_${v}_$t:-}"
		eval "c_${v}_$t=\"\$n $RC\""
		if [ "$RC" != "$WANT" ]; then
			bad=$((bad + 1))
			echo "round $i ($var): $t exited $RC, wanted $WANT:" \
			    "$(head -c 300 err.$t)" >&2
		fi
		if ! innocent "$D" rec; then
			signalled=$((signalled + 1))
			eval "s_$v=\$((\${s_$v:-0} + 1))"
			echo "round $i ($var): $t: innocent $D hit:" \
			    "state $(pstate "$D"; echo "$ST"), signals $(tr '\n' ' ' < rec)" >&2
			break
		fi
	done
	eval "r_$v=\$((\${r_$v:-0} + 1))"
	kill -KILL "$D" 2> /dev/null
	wait "$D" 2> /dev/null
	# A look-alike was refused: an operator clears the stale file.
	case $var in lookalike*) rm -f "$F" ;; esac
done
up
kill -KILL "$SP"
[ "$SP" = "$mine" ] && wait "$SP" 2> /dev/null

# codes "1 1 1 0": "0x1 1x3"; "-" when the tool did not run (the round
# stopped at the first innocent hit)
codes() {
	[ -n "$1" ] || { echo -; return; }
	printf '%s\n' $1 | sort -n | uniq -c |
	    awk '{ printf "%s%sx%s", (NR > 1 ? " " : ""), $2, $1 }'
}
printf '\n%-16s %6s' variant rounds
for t in $TOOLS; do printf ' %-10s' "$t"; done
printf ' %9s\n' signalled
v=0
for var in $VARIANTS; do
	v=$((v + 1))
	eval "r=\${r_$v:-0} s=\${s_$v:-0}"
	printf '%-16s %6d' "$var" "$r"
	for t in $TOOLS; do
		eval "c=\${c_${v}_$t:-}"
		printf ' %-10s' "$(codes "$c")"
	done
	printf ' %9d\n' "$s"
done
printf '%-16s %6d %s\n' total "$rounds" \
    "(codes as CODExCOUNT; wanted: check/sig 1, wait 0, restart 0 or 5 for a look-alike)"
echo
echo "rounds: $rounds of $N (PID not obtainable: $noreuse)"
echo "innocent processes signalled: $signalled"
echo "unexpected exit codes: $bad"
echo "elapsed: $(($(date +%s) - t0)) s"
[ -n "$NF_KEEP" ] || { cd /; rm -rf "$W"; }
[ "$signalled" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$noreuse" -eq 0 ]
