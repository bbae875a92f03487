#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# The soak (make soak; SOAK_N restarts, default 1000; SOAK_SEED to replay).
#
# One fixture server increments its counter in its SysV segment every
# millisecond while nfrestart replaces it SOAK_N times: at random moments,
# sometimes several nfrestart at once (a burst), sometimes SIGKILLed at a
# chosen step (NF_TEST_PAUSE holds it there) or at a random moment, with new
# servers that are sometimes slow to exit (--exit-delay) or ignore the
# restart signal (--ignore) and so meet a KILL schedule; and now and then
# the server crashes and the kernel gives its PID to an innocent process
# (ns_last_pid) before the next restart. tests/soak/monitor.c watches all
# along. Checked throughout and at the end:
# - never two servers alive (the monitor, every 2 ms; the driver after
#   every restart), and one after every restart that succeeded;
# - the PID file never torn (absent, empty or a whole PID, always a
#   server's), never naming a dead process after a restart that was not
#   interrupted;
# - the counter: every new server recovers at least what the old one
#   reported it stored on its way out, and never goes back;
# - the segment never recreated (its shmid constant) nor removed;
# - no innocent process signalled; exit codes only those the scenario allows;
# - at the end: no process left but the server (and init), the server's
#   fds exactly 0, 1, 2, one segment.
# Prints a table; exits 1 on any violation.
. "$(dirname "$0")/common.sh"
enter_ns soak "$@"

N=${SOAK_N:-1000}
SEED=${SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
seed0=$SEED
BIN=${NF_BIN:-$TOP/bin} FIX=$TOP/tests/bin
PATH=$BIN:$FIX:$PATH
export PATH
build sigrec
build monitor
W=$(mktemp -d "${TMPDIR:-/tmp}/nfsoak.XXXXXX") || exit 2
chmod 755 "$W"
cd "$W" || exit 2
# A copy of the binaries: others may rebuild the tree during a long run.
mkdir bin
for b in nfpid nfsignal nfwait nfshm nfrestart; do
	cp "$BIN/$b" bin/ || exit 2
done
cp "$FIX/nfserver" "$FIX/nf-monitor" "$FIX/nf-sigrec" bin/ || exit 2
PATH=$W/bin:$PATH
S=Soak I=1.1.1.1
F=${S}_$I.pid LOG=$W/server.log
KEY=$(nfshm key $I | awk '$1 == "object" { print $2 }')
t0=$(date +%s)
echo "soak: $N restarts, SOAK_SEED=$seed0, in $W"

nf-monitor "$F" "$KEY" "$W/monitor.out" &
MON=$!
# nfds PID N: PID has N open fds (NFD: how many).
nfds() {
	set -- "$1" "$2" /proc/$1/fd/*
	NFD=$(($# - 2))
	[ $NFD = "$2" ]
}

execd() {
	_c=
	read -r _c 2> /dev/null < "/proc/$1/comm"
	[ "$_c" = "$2" ]
}
# What every child of this script inherits (0, 1, 2, and whatever the
# caller left open): a sleep shows it. The server must have no more; the
# monitor has one more, its events file.
sleep 5 &
p=$!
spin 5000 execd $p sleep
set -- /proc/$p/fd/*
FDS=$#
kill $p
wait $p 2> /dev/null
spin 5000 execd $MON nf-monitor

nres=0 nkill=0 nmiss=0 nburst=0 ncrash=0 nviol=0 down=0 it=0
decoys= ndecoy=0 lastc=0 shmid0= prevsrv=
V=$W/violations

viol() {
	nviol=$((nviol + 1))
	echo "violation (round $it, restarts$ks): $*" | tee -a "$V" >&2
}

# has FILE TEXT: a line of FILE contains TEXT (no fork).
has() {
	[ -f "$1" ] || return 1
	while IFS= read -r _l; do
		case $_l in *"$2"*) return 0 ;; esac
	done < "$1"
	return 1
}

# msleep MS
msleep() {
	[ "$1" -gt 0 ] && sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"
}

# launch K [OPT...]: nfrestart #K in the background, LP its PID. The new
# server is normal, slow to exit or deaf to the restart signal; the schedule
# escalates to KILL, or (sometimes) there is only -t and no escalation.
launch() {
	_k=$1
	shift
	rnd 100
	if [ $R -lt 70 ]; then _srv=
	elif [ $R -lt 85 ]; then rnd 280; _srv="--exit-delay $((R + 20))"
	else _srv=--ignore
	fi
	rnd 100
	if [ $R -lt 85 ]; then rnd 370; _sch="-r restart/$((R + 30))ms/KILL/3"
	else _sch="-t 500ms"
	fi
	nfrestart -v -d -S $S -I $I -o "$LOG" --ready-fd 3 --ready-timeout 10 \
	    $_sch "$@" -- nfserver -S $S -I $I --ready-fd 3 $_srv \
	    > /dev/null 2> "$W/e.$_k" < /dev/null &
	LP=$!
	nres=$((nres + 1))
}

# done_rc RC: count an outcome.
count() {
	eval "rc_$1=\$((\${rc_$1:-0} + 1))"
	case " $codes " in *" $1 "*) ;; *) codes="$codes $1" ;; esac
}

# servers: NSRV live fixture servers (comm nfserver, not a decoy), SRV one.
servers() {
	NSRV=0 SRV=
	for _d in /proc/[0-9]*; do
		_l=
		read -r _l 2> /dev/null < "$_d/stat" || [ -n "$_l" ] || continue
		case $_l in *" (nfserver) "[!ZXx]*) ;; *) continue ;; esac
		_p=${_d#/proc/}
		case " $decoys " in *" $_p "*) continue ;; esac
		NSRV=$((NSRV + 1)) SRV=$_p
	done
}

# check ALLOWED INTERRUPTED: after a round. ALLOWED: the exit codes its
# scenario allows; INTERRUPTED: 1 when a kill or crash was injected.
check() {
	_ok=0 _to=0
	for _c in $rcs; do
		count $_c
		case " $1 " in *" $_c "*) ;; *)
			viol "nfrestart exited $_c (allowed: $1)"
			for _k in $ks; do sed 's/^/    /' "$W/e.$_k" >&2; done ;;
		esac
		[ $_c = 0 ] && _ok=1
		[ $_c = 124 ] && _to=1
	done
	servers
	[ $NSRV -gt 1 ] && viol "$NSRV servers alive"
	# Success means a new server: not the one that ran before.
	[ $_ok = 1 ] && [ -n "$prevsrv" ] && [ "$SRV" = "$prevsrv" ] &&
	    viol "exit 0, but $SRV is still the server"
	prevsrv=$SRV
	if [ $NSRV = 0 ]; then
		if [ "$2" = 0 ] && [ $_ok = 1 ]; then
			viol "no server alive after a restart that succeeded"
		fi
		# Down: after an interruption, or a timed-out restart whose
		# old server obeyed late; the next restart brings one up.
		[ "$2" = 1 ] || [ $_to = 1 ] || [ $_ok = 1 ] ||
		    viol "no server alive"
		down=$((down + 1))
		return
	fi
	[ "$2" = 1 ] && return
	_pf=
	read -r _pf 2> /dev/null < "$F"
	[ "$_pf" = "$SRV" ] ||
	    viol "$F names '$_pf', the server is $SRV"
	# Just ready, it may not have closed its --ready-fd yet.
	spin 2000 nfds $SRV $FDS ||
	    viol "server $SRV has $NFD fds: $(ls -l /proc/$SRV/fd)"
}

peek() {
	set -- $(nfserver --peek -I $I 2> /dev/null)
	[ "$1" = counter ] || { viol "no segment to peek at"; return; }
	[ "$2" -ge "$lastc" ] || viol "counter went back: $2 < $lastc"
	lastc=$2
	[ -n "$shmid0" ] || shmid0=${10}
	[ "${10}" = "$shmid0" ] || viol "segment recreated: shmid ${10}, was $shmid0"
	[ "${12}" = RECOVER ] || viol "verdict ${12}"
}

# The first start: nothing to stop.
ks=0 rcs=
launch 0 --new
wait $LP 2> /dev/null
rcs=$?
check 0 0
[ $NSRV = 1 ] || { echo "soak: the first server did not start" >&2; exit 2; }
peek

while [ $nres -lt "$N" ]; do
	it=$((it + 1))
	# The server runs a random while (often not at all) before the next.
	rnd 3
	if [ $R != 0 ]; then rnd 60; msleep $R; fi
	rnd 100
	ks=" $nres" rcs= allowed="0 124" intr=0 scen=plain
	if [ $R -lt 10 ]; then
		scen=burst
		# A burst: 2-4 at once; one proceeds, the others wait for the
		# lock (-t 3) and restart in turn, or give up on it (-t 30ms).
		nburst=$((nburst + 1))
		rnd 3
		m=$((R + 2)) pids= ks=
		while [ $m -gt 0 ]; do
			rnd 2
			if [ $R = 0 ]; then t="-t 30ms"; else t="-t 3"; fi
			ks="$ks $nres"
			launch $nres $t
			pids="$pids $LP"
			m=$((m - 1))
		done
		for p in $pids; do wait $p 2> /dev/null; rcs="$rcs $?"; done
		allowed="0 4 124"
	elif [ $R -lt 20 ]; then
		# SIGKILL nfrestart: held at a step, or at a random moment.
		rnd 6
		set -- locked judged exited removed forked random
		shift $R
		step=$1 intr=1 scen="kill at $1"
		if [ $step = random ]; then
			launch $nres
			rnd 40; msleep $R
		else
			NF_TEST_PAUSE=$step:1500
			export NF_TEST_PAUSE
			launch $nres
			unset NF_TEST_PAUSE
			k=$((nres - 1)) hit=
			# Wait until it is held there (or has finished).
			while alive $LP; do
				if [ $step = forked ]; then
					has "$W/e.$k" "old server handled in" && hit=1
				else
					has "$W/e.$k" "test pause after $step" && hit=1
				fi
				[ -n "$hit" ] && break
				sleep 0.01
			done
		fi
		victim=$LP
		if [ "$step" = forked ] && [ -n "$hit" ]; then
			# The process about to exec the server: an nfrestart
			# that is not the foreground one, nor a lock holder
			# (those lead their own session).
			victim= n=0
			while [ -z "$victim" ] && [ $n -lt 200 ]; do
				for d in /proc/[0-9]*; do
					l=
					read -r l 2> /dev/null < "$d/stat" ||
					    [ -n "$l" ] || continue
					case $l in *" (nfrestart) "[!ZX]*) ;;
					*) continue ;; esac
					p=${d#/proc/}
					[ $p = $LP ] && continue
					set -- ${l##*) }
					[ "$4" != "$p" ] && victim=$p
				done
				[ -n "$victim" ] || sleep 0.01
				n=$((n + 1))
			done
		fi
		if [ -n "$victim" ] && alive "$victim" &&
		    { [ $step = random ] || [ -n "$hit" ]; }; then
			kill -KILL "$victim" && nkill=$((nkill + 1))
			eval "kill_$step=\$((\${kill_$step:-0} + 1))"
		else
			nmiss=$((nmiss + 1))
		fi
		wait $LP 2> /dev/null
		rcs=$?
		allowed="0 6 124 137"
	elif [ $R -lt 23 ]; then
		# The server crashes; its PID goes to an innocent process, and
		# the PID file still names it. Then a restart.
		intr=1 allowed="0 124" scen=crash
		p=
		read -r p 2> /dev/null < "$F"
		if [ -n "$p" ] && alive "$p" && servers && [ "$SRV" = "$p" ]; then
			ncrash=$((ncrash + 1)) allowed=0
			kill -KILL "$p"
			spin 5000 reaped "$p" || viol "server $p not reaped"
			rnd 3
			set -- innocent nfserver NF$S$I
			shift $R
			sleep 0.1	# later than the guard's 50 ms tolerance
			ndecoy=$((ndecoy + 1))
			if decoy "$W/d.$ndecoy" "$1" "$p"; then
				decoys="$decoys $D"
				eval "dfile_$D=$W/d.$ndecoy"
				[ "$1" = innocent ] || allowed="5"
				scen="crash, PID $p to $1 $D"
			else
				viol "could not give $p to a new process"
			fi
		fi
		launch $nres
		wait $LP 2> /dev/null
		rcs=$?
		if [ "$allowed" = 5 ]; then
			# A look-alike: refused. The operator looks, and
			# removes the stale file.
			count 5
			nfpid remove -S $S -I $I 2> "$W/rm.$nres" ||
			    viol "nfpid remove: $(cat "$W/rm.$nres")"
			[ "$rcs" = 5 ] || viol "look-alike: nfrestart exited $rcs"
			ks=$nres
			launch $nres
			wait $LP 2> /dev/null
			rcs=$?
			allowed="0"
		fi
		intr=0
	else
		launch $nres
		wait $LP 2> /dev/null
		rcs=$?
	fi
	echo "round $it: ${scen:-?} restarts$ks exits $rcs" >> "$W/trace"
	check "$allowed" $intr
	[ $((it % 10)) = 0 ] && [ $NSRV = 1 ] && peek
done

# At the end: one last clean restart so that a server runs, then the
# books.
ks=$nres
launch $nres -r restart/3/KILL/3
wait $LP 2> /dev/null
rcs=$?
check 0 0
peek
# Lock holders leave once the new server is visible: a moment's grace.
n=0
while [ $n -lt 50 ]; do
	left=
	for d in /proc/[0-9]*; do
		read -r l 2> /dev/null < "$d/stat" || continue
		case $l in *" (nfrestart) "*) left=1 ;; esac
	done
	[ -z "$left" ] && break
	sleep 0.1
	n=$((n + 1))
done
# (It may be between an open and a close.)
spin 1000 nfds $MON $((FDS + 1)) ||
    viol "the monitor has $NFD fds, not $((FDS + 1))"
kill -TERM $MON
wait $MON

# Monitor's findings.
while read -r k v; do eval "mon_$k=\"\$v\""; done < "$W/monitor.out"
[ "$mon_max_servers" -le 1 ] ||
    viol "monitor: $mon_max_servers servers at once ($mon_multi_pids)"
[ "$mon_torn" = 0 ] || viol "monitor: torn pid file ($mon_torn_text)"
[ "$mon_shm_changes" = 0 ] && [ "$mon_shm_gone" = 0 ] ||
    viol "monitor: segment changed $mon_shm_changes, gone $mon_shm_gone times"
[ "$mon_shmid" = "$shmid0" ] || viol "monitor: shmid $mon_shmid, not $shmid0"

# Counter: what each server recovered against what the one before stored.
awk '
/^nfserver: [0-9]+ (RECOVER|INIT) counter=/ {
	split($4, a, "="); n = a[2] + 0; starts++
	if ($3 == "INIT") inits++
	if (n < stored) { lost++; lostn += stored - n }
	if (n < last) back++
	last = n; reported = 0
}
/^nfserver: [0-9]+ exit on signal [0-9]+ counter=/ {
	split($7, a, "="); stored = a[2] + 0; nrep++
}
/REFUSE/ { refused++ }
END {
	printf "starts %d\ninits %d\nreports %d\nlost %d\nlostn %d\nback %d\nrefused %d\n",
	    starts, inits, nrep, lost, lostn, back, refused
}' "$LOG" > "$W/counter.out"
while read -r k v; do eval "cnt_$k=\$v"; done < "$W/counter.out"
[ "$cnt_lost" = 0 ] || viol "$cnt_lost starts lost $cnt_lostn increments"
[ "$cnt_back" = 0 ] || viol "the counter went back $cnt_back times"
[ "$cnt_inits" = 1 ] || viol "$cnt_inits servers initialised the segment"
[ "$cnt_refused" = 0 ] || viol "$cnt_refused servers refused the segment"

# Every PID the file ever named that the monitor could not see as a server
# must have been one (its start is in the log).
for p in $mon_unverified; do
	has "$LOG" "nfserver: $p " || viol "$F named $p, never a server"
done

# Innocents.
signalled=0
for d in $decoys; do
	eval "f=\$dfile_$d"
	if ! innocent "$d" "$f"; then
		signalled=$((signalled + 1))
		viol "innocent $d was hit: state $(pstate "$d"; echo "$ST"), signals $(cat "$f")"
	fi
	kill -KILL "$d"
	wait "$d" 2> /dev/null
done

# Leaks: processes, fds, segments.
servers
leaks=0
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	case $p in 1|$$|$SRV) continue ;; esac
	read -r l 2> /dev/null < "$d/stat" || continue
	leaks=$((leaks + 1))
	viol "left running: $l"
done
nfds $SRV $FDS || { leaks=$((leaks + 1)); viol "server fds: $NFD, not $FDS"; }
nseg=0
{ read -r l; while read -r l; do nseg=$((nseg + 1)); done; } < /proc/sysvipc/shm
[ $nseg = 1 ] || { leaks=$((leaks + 1)); viol "$nseg segments"; }
kill -KILL "$SRV"

el=$(($(date +%s) - t0))
echo
printf '%-44s %s\n' "restarts (nfrestart runs)" "$nres"
for c in $(printf '%s\n' $codes | sort -n); do
	eval "n=\$rc_$c"
	case $c in
	0) w="done" ;; 4) w="busy (lock held)" ;; 5) w="refused (look-alike)" ;;
	6) w="down (its exec was killed)" ;; 124) w="timed out (old kept)" ;;
	137) w="SIGKILLed by the soak" ;; *) w="?" ;;
	esac
	printf '  %-42s %s\n' "exit $c: $w" "$n"
done
printf '%-44s %s\n' "concurrent bursts" "$nburst"
printf '%-44s %s\n' "SIGKILLs of nfrestart injected" "$nkill"
for s in locked judged exited removed forked random; do
	eval "n=\${kill_$s:-0}"
	printf '  %-42s %s\n' "at $s" "$n"
done
printf '%-44s %s\n' "  held, but finished before the kill" "$nmiss"
printf '%-44s %s\n' "server crashes, PID given to an innocent" "$ndecoy"
printf '%-44s %s\n' "rounds ending with no server (then restored)" "$down"
printf '%-44s %s\n' "servers started / stores reported" "$cnt_starts / $cnt_reports"
printf '%-44s %s\n' "lost increments" "${cnt_lostn:-0}"
printf '%-44s %s\n' "counter at the end" "$lastc"
printf '%-44s %s\n' "max servers alive at once (monitor)" "$mon_max_servers"
printf '%-44s %s\n' "monitor samples / full scans" "$mon_samples / $mon_scans"
printf '%-44s %s\n' "pid file: torn / seen empty / values" "$mon_torn / $mon_empty / $mon_pidfile_values"
printf '%-44s %s\n' "pid file naming a dead process, longest" "$mon_max_dead_ms ms"
printf '%-44s %s\n' "segment recreated" "$mon_shm_changes"
printf '%-44s %s\n' "wrong processes signalled" "$signalled"
printf '%-44s %s\n' "leaks (processes, fds, segments)" "$leaks"
printf '%-44s %s\n' "violations" "$nviol"
printf '%-44s %s\n' "elapsed" "$el s"
printf '%-44s %s\n' "seed" "$seed0"
[ -n "$NF_KEEP" ] || [ "$nviol" != 0 ] || { cd /; rm -rf "$W"; }
[ "$nviol" = 0 ]
