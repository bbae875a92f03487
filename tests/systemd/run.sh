#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make check-systemd: hot restarts under a real systemd (nfhandoff(7),
# SYSTEMD). Debian 12's systemd 252 boots as PID 1 of a systemd-nspawn
# container (tests/systemd/lib.sh) with the package of this tree installed;
# the shipped template unit nfserver@.service runs the fixture server, and
# each case says what it wanted and what it got. The last line is
# "N passed, N failed" as in make check; NF_REQUIRE_ALL=1 makes a machine
# that cannot boot the container a failure instead of a skip.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export TOP
# nsenter passes our environment into the container: not the host's systemd.
unset NOTIFY_SOCKET MAINPID
BIN=$TOP/bin FIX=$TOP/tests/bin
PATH=$BIN:$FIX:$PATH
# Every case works inside the container, in its own PID and IPC
# namespaces (nsenter -a): tests/lib.sh may run those that make segments.
NF_IN_NS=1
export NF_IN_NS
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/nfsystemd.XXXXXX")
export BIN FIX PATH SCRATCH
. "$TOP/tests/lib.sh"
. "$TOP/tests/systemd/lib.sh"
SDH=$TOP/tests/systemd/helpers.sh
export SDH
t0=$(date +%s)

finish() {
	ct_halt
	[ -n "$NF_KEEP" ] || rm -rf "$SCRATCH"
	echo "systemd: $(($(date +%s) - t0)) s in all"
	sum="$npass passed, $nfail failed"
	[ "$nskip" -gt 0 ] && sum="$sum, $nskip skipped"
	echo "$sum"
	[ "$nfail" -eq 0 ]
	exit
}
trap 'ct_halt; exit 2' INT TERM

echo "== systemd"
if ! why=$(ct_need); then
	skip "systemd: every case" "$why"
	finish
fi
if ! ct_root || ! deb=$(sh "$TOP/src/deb/build.sh" -o "$SCRATCH/deb") ||
    ! ct_boot "$deb"; then
	nfail=$((nfail + 1))
	echo "FAIL: systemd: the container (above)"
	finish
fi
t1=$(date +%s)

# The unit as shipped: the tests do not change it, only add instances.
ok "the package's template unit is the one systemd loads" '
	. "$SDH"
	C systemctl cat nfserver@x.service > unit 2>&1
	head -1 unit | grep -q "^# /lib/systemd/system/nfserver@.service" &&
	grep -qx "ExecReload=/usr/bin/nfrestart -d -C \${DIR} -S \${SERVER} -I \${ID} \$OPTS -- \$COMMAND" unit &&
	grep -qx "Type=notify" unit && grep -qx "NotifyAccess=all" unit || {
		echo "wanted the template from the package; got:"; cat unit; exit 1; }'

ok "start: systemctl start returns once the server is ready (READY=1 from the holder), and it is the main PID" '
	. "$SDH"
	inst st 1.30.1.1 "--ready-delay 300 --ready-file ready" "--ready-file ready"
	C systemctl start nfserver@st || { echo "wanted start to succeed"; exit 1; }
	# Type=notify: systemd said "started" only after READY=1, which the
	# holder sends when the ready file exists.
	C test -s /srv/st/ready || { echo "wanted the ready file at the end of start; got none"; exit 1; }
	up st 1.30.1.1 || exit 1
	[ "$(C cat /proc/$MAIN/comm)" = nfserver ] || { echo "wanted the main PID to be the server; got $(C cat /proc/$MAIN/comm)"; exit 1; }
	norestarts st || exit 1
	C systemctl stop nfserver@st'

ok "start: a server not ready in --ready-timeout: no READY=1, the journal says so, TimeoutStartSec= decides" '
	. "$SDH"
	I=1.30.1.25
	inst nrs $I "" "--ready-file ready --ready-timeout 1"
	dropin nrs "TimeoutStartSec=3" "Restart=no"
	C systemctl start nfserver@nrs && { echo "wanted the start to fail"; exit 1; }
	journal nrs | grep -q "not ready after --ready-timeout" || { echo "wanted the holder'"'"'s word in the journal"; journal nrs | tail -5; exit 1; }
	journal nrs | grep -q "start operation timed out" || { echo "wanted systemd'"'"'s timeout"; journal nrs | tail -5; exit 1; }
	[ "$(prop nrs ActiveState)" != active ] ||
	    { echo "wanted nrs not active after its failed start; got active"; exit 1; }'

ok "20 reloads in a row: counter never goes back, one server after each, NRestarts=0, the unit active throughout" '
	. "$SDH"
	I=1.30.1.2
	inst r20 $I "--ready-tcp 7102" "--ready-tcp 7102"
	started r20 $I || exit 1
	# ActiveState and NRestarts sampled all along, from inside.
	CS "rm -f /run/samples.stop; while [ ! -e /run/samples.stop ]; do
		systemctl show -p ActiveState -p NRestarts --value nfserver@r20 | tr \"\\n\" \" \"; echo
	done > /run/samples" &
	sampler=$!
	prev=$(peek $I counter) pids=$MAIN r=0
	for i in $(seq 20); do
		C systemctl reload nfserver@r20 || { echo "reload $i: wanted 0, got $? (nfrestart: $(reloadrc r20))"; r=1; break; }
		up r20 $I || { echo "after reload $i"; r=1; break; }
		c=$(peek $I counter)
		[ "$c" -ge "$prev" ] || { echo "after reload $i: wanted counter >= $prev, got $c"; r=1; break; }
		case " $pids " in *" $MAIN "*) echo "after reload $i: wanted a new main PID, got $MAIN again"; r=1; break ;; esac
		prev=$c pids="$pids $MAIN"
	done
	C touch /run/samples.stop; wait $sampler
	n=$(CS "wc -l < /run/samples")
	bad=$(CS "sort -u /run/samples" | grep -v "^0 active *\$" | grep -v "^0 reloading *\$")
	[ -z "$bad" ] || { echo "wanted only active/reloading with NRestarts=0 in $n samples; got: $bad"; r=1; }
	[ "$(peek $I starts)" = 21 ] || { echo "wanted 21 starts of the segment; got $(peek $I starts)"; r=1; }
	[ $r = 1 ] || echo "$n samples of ActiveState during 20 reloads:" \
	    "$(CS "grep -c active /run/samples") active, $(CS "grep -c reloading /run/samples") reloading, NRestarts=0"
	C systemctl stop nfserver@r20
	exit $r'

ok "--ready-fd in ExecReload= (a drop-in): reload returns once the new server wrote its line; 20 reloads, each ready" '
	. "$SDH"
	I=1.30.1.24
	inst rfd $I "--ready-fd 3 --ready-delay 200"
	# ExecStart= runs without -d: --ready-fd is not for it (READY=1 at
	# the exec); the reload gives it.
	dropin rfd "ExecReload=" "ExecReload=/usr/bin/nfrestart -d --ready-fd 3 --ready-timeout 10 -C \${DIR} -S \${SERVER} -I \${ID} -- \$COMMAND"
	sc start rfd || exit 1
	for i in $(seq 20); do
		C systemctl reload nfserver@rfd || { echo "reload $i: wanted 0, got nfrestart $(reloadrc rfd)"; journal rfd | tail -5; exit 1; }
		up rfd $I || exit 1
	done
	norestarts rfd || exit 1
	C systemctl stop nfserver@rfd'

ok "a reload whose old server ignores its signal: 124, the unit stays active on the old server" '
	. "$SDH"
	I=1.30.1.3
	inst ign $I --ignore "-t 1"
	dropin ign "TimeoutStopSec=1"
	started ign $I || exit 1
	old=$MAIN
	reload_fails ign 124 || exit 1
	up ign $I || exit 1
	[ "$MAIN" = "$old" ] || { echo "wanted main PID $old (the old server); got $MAIN"; exit 1; }
	[ "$(prop ign NRestarts)" = 0 ] || { echo "wanted NRestarts=0"; exit 1; }
	journal ign | grep -q "old server $old was sent restart(31) and is still running" || { echo "wanted the 124 message in the journal"; journal ign | tail -5; exit 1; }
	prop ign StatusText | grep -q "reload failed (124)" || { echo "wanted StatusText to say so; got $(prop ign StatusText)"; exit 1; }
	C systemctl stop nfserver@ign'

ok "a reload whose new build is missing: 127, nothing touched, the unit stays active on the old server" '
	. "$SDH"
	I=1.30.1.4
	inst miss $I
	started miss $I || exit 1
	old=$MAIN s0=$(peek $I starts)
	# The operator points the instance at a build that is not there.
	CS "sed -i s,^COMMAND=.*,COMMAND=/srv/miss/NFPluginLoader.new, /etc/nfhandoff/miss.conf"
	reload_fails miss 127 || exit 1
	up miss $I || exit 1
	[ "$MAIN" = "$old" ] && [ "$(peek $I starts)" = "$s0" ] || { echo "wanted the old server $old untouched; got main $MAIN, starts $(peek $I starts)"; exit 1; }
	norestarts miss || exit 1
	C systemctl stop nfserver@miss'

ok "a reload whose new server never becomes ready: 6, the unit stays active on the new server, nothing killed" '
	. "$SDH"
	I=1.30.1.5
	inst nr $I "--ready-file ready" "--ready-file ready --ready-timeout 1"
	started nr $I || exit 1
	old=$MAIN
	# The new build never writes its ready file.
	CS "sed -i \"s,^COMMAND=.*,COMMAND=/usr/local/bin/nfserver -S Game -I $I,\" /etc/nfhandoff/nr.conf"
	reload_fails nr 6 || exit 1
	up nr $I || exit 1
	[ "$MAIN" != "$old" ] || { echo "wanted the new server as the main PID; got the old $old"; exit 1; }
	norestarts nr || exit 1
	prop nr StatusText | grep -q "reload failed (6)" || { echo "wanted StatusText to say so; got $(prop nr StatusText)"; exit 1; }
	C systemctl stop nfserver@nr'

ok "a reload whose new server dies before it is ready: 6, systemd restarts the unit, which recovers the data" '
	. "$SDH"
	I=1.30.1.6
	inst die $I "--ready-file ready" "--ready-file ready --ready-timeout 10"
	dropin die "RestartSec=2"
	started die $I || exit 1
	old=$MAIN
	CS "cp /etc/nfhandoff/die.conf /run/die.good; sed -i \"s,^COMMAND=.*,COMMAND=/usr/local/bin/nfserver -S Game -I $I --die-after 200,\" /etc/nfhandoff/die.conf"
	reload_fails die 6 || exit 1
	c=$(peek $I counter)
	# The operator puts the good build back; systemd restarts the unit.
	C cp /run/die.good /etc/nfhandoff/die.conf
	until_ 100 up die $I || exit 1
	[ "$(prop die NRestarts)" = 1 ] || { echo "wanted NRestarts=1; got $(prop die NRestarts)"; exit 1; }
	[ "$(peek $I counter)" -ge "$c" ] || { echo "wanted the counter recovered ($c)"; exit 1; }
	C systemctl stop nfserver@die'

# SIGKILL of the reload's nfrestart (the control process) at each step.
# Before the new main PID is told, or while the old server still runs, the
# unit stays on the old server; once the old server is gone and no new one
# was started, systemd sees a failure and restarts the unit, which
# recovers; once the new server was let go, it is the main PID.
n=6
for step in locked:0 judged:0 notified:0 exited:1 removed:1 forked:0; do
	s=${step%:*} want=${step#*:}
	n=$((n + 1))
	ok "SIGKILL of the reload's nfrestart after step $s: the unit active, one server, NRestarts=$want" "
	. \"\$SDH\"
	I=1.30.1.$n u=k$s
	inst \$u \$I '' -v
	dropin \$u 'Environment=NF_TEST_PAUSE=$s:1500'
	sc start \$u || exit 1
	up \$u \$I || exit 1
	old=\$MAIN c=\$(peek \$I counter)
	# The start paused there too (the drop-in is the unit's): one more.
	paused() { [ \$(journal \$u | grep -c \"test pause after $s\") -gt \$n0 ]; }
	n0=\$(journal \$u | grep -c \"test pause after $s\")
	C systemctl reload nfserver@\$u > /dev/null 2>&1 &
	until_ 100 paused || { echo \"wanted the reload to reach $s\"; exit 1; }
	f=\$(prop \$u ControlPID)
	[ \"\$f\" -gt 1 ] && C kill -KILL \$f || { echo \"wanted a control process; got \$f\"; exit 1; }
	wait
	until_ 100 up \$u \$I || exit 1
	[ \"\$(prop \$u NRestarts)\" = $want ] || { echo \"wanted NRestarts=$want; got \$(prop \$u NRestarts)\"; exit 1; }
	[ $want = 1 ] || [ $s = forked ] || [ \"\$MAIN\" = \"\$old\" ] || { echo \"wanted the old server \$old; got \$MAIN\"; exit 1; }
	[ $s != forked ] || [ \"\$MAIN\" != \"\$old\" ] || { echo \"wanted the new server; got the old \$old\"; exit 1; }
	[ \"\$(peek \$I counter)\" -ge \"\$c\" ] || { echo \"wanted the counter kept (\$c)\"; exit 1; }
	C systemctl stop nfserver@\$u"
done

ok "SIGKILL of the reload's nfrestart while the old server saves: not put back on it, systemd restarts the unit, the data recovered" '
	. "$SDH"
	I=1.30.1.14
	inst ksave $I "--exit-delay 1500" -v
	started ksave $I || exit 1
	old=$MAIN
	sent() { journal ksave | grep -q "old $old: sending restart"; }
	C systemctl reload nfserver@ksave > /dev/null 2>&1 &
	until_ 100 sent || exit 1
	f=$(prop ksave ControlPID)
	[ "$f" -gt 1 ] && C kill -KILL $f || { echo "wanted a control process; got $f"; exit 1; }
	wait
	restarted() { [ "$(prop ksave NRestarts)" = 1 ]; }
	until_ 100 restarted || { echo "wanted NRestarts=1; got $(prop ksave NRestarts), $(prop ksave ActiveState)"; exit 1; }
	until_ 100 up ksave $I || exit 1
	s=$(peek $I stored)
	journal ksave | grep -q "$old exit on signal" && journal ksave | grep -q "$MAIN RECOVER counter=$s\$" ||
	    { echo "wanted the old server to finish its save ($s) and the new one to recover it"; journal ksave | tail -8; exit 1; }
	C systemctl stop nfserver@ksave'

ok "a crash: systemd restarts the unit, the new server recovers the data" '
	. "$SDH"
	I=1.30.1.20
	inst crash $I
	sc start crash || exit 1
	sc reload crash || exit 1
	up crash $I || exit 1
	old=$MAIN
	sleep 0.1
	C kill -KILL $old
	restarted() { [ "$(prop crash NRestarts)" = 1 ]; }
	until_ 100 restarted || { echo "wanted NRestarts=1; got $(prop crash NRestarts)"; exit 1; }
	until_ 50 up crash $I || exit 1
	c=$(peek $I counter) s=$(peek $I starts)
	[ "$s" = 3 ] && journal crash | grep -q "$MAIN RECOVER" || { echo "wanted a third start that recovered; got starts $s"; journal crash | tail -3; exit 1; }
	C systemctl stop nfserver@crash'

ok "stop after a reload: systemctl stop sends USR1, waits for the save, keeps the segment" '
	. "$SDH"
	I=1.30.1.21
	inst stop $I "--exit-delay 300"
	sc start stop || exit 1
	sc reload stop || exit 1
	up stop $I || exit 1
	sc stop stop || exit 1
	down stop $I || exit 1
	journal stop | grep -q "$MAIN exit on signal 10 .*after [0-9]* us" || { echo "wanted the server to exit on USR1 after its save"; journal stop | tail -4; exit 1; }
	! journal stop | grep -q SIGKILL || { echo "wanted no SIGKILL"; journal stop | grep SIGKILL; exit 1; }
	[ "$(peek $I stored)" = "$(peek $I counter)" ] && [ "$(C nfshm stat -S Game -I $I | sed -n "s/^verdict\t//p")" = RECOVER ] ||
	    { echo "wanted the segment kept and saved; got $(C nfserver --peek -I $I)"; exit 1; }'

ok "output: the new server and nfrestart write to the journal; with -o the server writes to LOG" '
	. "$SDH"
	I=1.30.1.22
	inst out $I
	sc start out && sc reload out || exit 1
	up out $I || exit 1
	journal out | grep -q "nfserver: $MAIN RECOVER" || { echo "wanted the new server in the journal"; exit 1; }
	inst out $I "" "-o server.log -v"
	sc reload out || exit 1
	up out $I || exit 1
	C grep -q "nfserver: $MAIN RECOVER" /srv/out/server.log || { echo "wanted the server in server.log"; exit 1; }
	journal out | grep -q "systemd: RELOADING=1 MAINPID=$MAIN" || { echo "wanted nfrestart -v in the journal"; exit 1; }
	C systemctl stop nfserver@out'

ok "a concurrent systemctl reload and nfrestart from a shell: one waits for the restart lock, then is refused (5), one server" '
	. "$SDH"
	I=1.30.1.23
	inst conc $I "" -v
	dropin conc "Environment=NF_TEST_PAUSE=exited:1500"
	started conc $I || exit 1
	C systemctl reload nfserver@conc > /dev/null 2>&1 &
	paused() { [ $(journal conc | grep -c "test pause after exited") -ge 2 ]; }
	until_ 100 paused || exit 1
	# An operator, from a shell (not the unit): waits for the lock the reload holds.
	C nfrestart -d -t 10 -C /srv/conc -S Game -I $I -- nfserver -S Game -I $I > out 2> err
	rc=$?
	wait
	cat err
	[ $rc = 5 ] && grep -q "runs under systemd (nfserver@conc.service): use systemctl reload" err ||
	    { echo "wanted 5 and the unit named; got $rc"; exit 1; }
	up conc $I || exit 1
	[ "$(reloadrc conc)" = 0 ] && [ "$(prop conc NRestarts)" = 0 ] || { echo "wanted the reload done, NRestarts=0"; exit 1; }
	# And the other way round: the shell first; the reload, which waits
	# for nothing then, goes on.
	C nfrestart -d -C /srv/conc -S Game -I $I -- nfserver -S Game -I $I 2> err; rc=$?
	[ $rc = 5 ] || { echo "wanted 5; got $rc"; cat err; exit 1; }
	C systemctl reload nfserver@conc && up conc $I || exit 1
	C systemctl stop nfserver@conc'

# The unit of nfhandoff(7), SYSTEMD, as the page prints it, around a
# stand-in ./NFPluginLoader that becomes the fixture server.
# The fourth review: what was found under systemd, and must hold now.
ok "-o LOG in OPTS works for ExecStart= too (no -d): the unit starts, and comes back after a crash" '
	. "$SDH"
	I=1.30.1.40
	inst olog $I "" "-o server.log"
	C systemctl start nfserver@olog || { echo "wanted start to work; got:"; journal olog | tail -3; exit 1; }
	up olog $I || exit 1
	C grep -q "nfserver: $MAIN " /srv/olog/server.log || { echo "wanted the server in server.log"; exit 1; }
	C kill -SEGV $MAIN
	restarted() { [ "$(prop olog NRestarts)" = 1 ]; }
	until_ 100 restarted || { echo "wanted NRestarts=1; got $(prop olog NRestarts), $(prop olog ActiveState)"; journal olog | tail -3; exit 1; }
	until_ 50 up olog $I || exit 1
	C systemctl stop nfserver@olog'
ok "SIGKILL of the reload with --ready-fd whose server never writes its line: the unit leaves reloading, the reload returns" '
	. "$SDH"
	I=1.30.1.41
	inst rfdk $I "--ready-fd 3 --ready-delay 600000"
	dropin rfdk "ExecReload=" "ExecReload=/usr/bin/nfrestart -d --ready-fd 3 --ready-timeout 60 -v -C \${DIR} -S \${SERVER} -I \${ID} -- \$COMMAND"
	inst rfdk $I
	C systemctl start nfserver@rfdk || exit 1
	inst rfdk $I "--ready-fd 3 --ready-delay 600000"
	C systemctl reload nfserver@rfdk > /dev/null 2>&1 & r=$!
	ctl() { [ "$(prop rfdk ControlPID)" -gt 1 ]; }
	until_ 100 ctl || exit 1
	sleep 0.5; C kill -KILL $(prop rfdk ControlPID)
	wait $r
	active() { [ "$(prop rfdk ActiveState)" = active ]; }
	until_ 100 active || { echo "wanted active; got $(prop rfdk ActiveState)/$(prop rfdk SubState)"; journal rfdk | tail -5; exit 1; }
	C systemctl stop nfserver@rfdk'
ok "stop after a reload: the holder does not take the server's exit 0 for a daemonization (no ready timeout waited)" '
	. "$SDH"
	I=1.30.1.42
	inst sstop $I "" "-v"
	C systemctl start nfserver@sstop && C systemctl reload nfserver@sstop || exit 1
	up sstop $I || exit 1
	C systemctl stop nfserver@sstop || exit 1
	down sstop $I || exit 1
	! journal sstop | grep -q "exited 0 (daemonized)\|ready timeout" || { echo "wanted no daemonization, no ready timeout; got:"; journal sstop | grep "exited 0 (daemonized)\|ready timeout"; exit 1; }'
ok "start with --ready-tcp: a listener that is not the new server's does not make it ready" '
	. "$SDH"
	I=1.30.1.43
	CS "cd /tmp && setsid nfserver -S Other -I 1.30.9.43 --no-shm --ready-tcp 7443 > /dev/null 2>&1 < /dev/null &"
	inst rtcp $I "" "--ready-tcp 7443 --ready-timeout 1"
	dropin rtcp "TimeoutStartSec=4"
	C systemctl start nfserver@rtcp > /dev/null 2>&1; r=$?
	s=$(prop rtcp ActiveState)
	C systemctl stop nfserver@rtcp; CS "for d in /proc/[0-9]*; do tr \"\\0\" \" \" < \$d/cmdline 2>/dev/null | grep -q \"^nfserver -S Other\" && kill \${d#/proc/}; done; true"
	[ $r != 0 ] || { echo "wanted start to fail (never READY=1); got 0, $s"; exit 1; }'
ok "a reload whose backup fails: the status says so, not \"not ready\"" '
	. "$SDH"
	I=1.30.1.44
	inst bkf $I "" "--backup /srv/bkf/full"
	CS "mkdir -p /srv/bkf/full && mount -t tmpfs -o size=4k bkf /srv/bkf/full && head -c 4096 /dev/zero > /srv/bkf/full/fill 2>/dev/null; true"
	C systemctl start nfserver@bkf || exit 1
	C systemctl reload nfserver@bkf; r=$?
	st=$(prop bkf StatusText)
	CS "umount /srv/bkf/full"; C systemctl stop nfserver@bkf
	[ $r != 0 ] && ! echo "$st" | grep -q "not ready" && echo "$st" | grep -q "ended with 3" ||
	    { echo "wanted a failed reload (3) whose status is not \"not ready\"; got $r, status: $st"; exit 1; }'

ok "nfhandoff(7)'s unit, as written: start, reloads, a crash, stop" '
	. "$SDH"
	awk "/^\\.Sh SYSTEMD/ { s = 1 } s && /^\\.Bd -literal/ { l = 1; next } l && /^\\.Ed/ { exit } l" \
	    "$TOP/man/nfhandoff.7" | sed "s/\\\\e/\\\\/g" > unit
	grep -q "^\\[Service\\]" unit && grep -q "^ExecReload=/usr/bin/nfrestart -d" unit || { echo "wanted the unit from nfhandoff.7; got:"; cat unit; exit 1; }
	C sh -c "cat > /etc/systemd/system/game.service" < unit
	CS "mkdir -p /srv/game && printf \"#!/bin/sh\\nfor a; do case \\\$a in --Server=*) s=\\\${a#*=} ;; --ID=*) i=\\\${a#*=} ;; esac; done\\nexec nfserver -S \\\$s -I \\\$i\\n\" > /srv/game/NFPluginLoader && chmod 755 /srv/game/NFPluginLoader && systemctl daemon-reload"
	C systemctl start game || { echo "wanted the start of game to succeed"; exit 1; }
	pidf() { C test -s /srv/game/GameServer_1.11.1.1.pid; }
	until_ 50 pidf || { echo "wanted the server to write its pid file"; exit 1; }
	for i in 1 2 3; do
		C systemctl reload game || { echo "reload $i failed"; exit 1; }
	done
	m=$(C systemctl show -p MainPID --value game)
	[ "$(C cat /proc/$m/comm)" = nfserver ] && [ "$(C systemctl show -p ActiveState --value game)" = active ] ||
	    { echo "wanted game active, its main PID the server; got $m ($(C cat /proc/$m/comm)), $(C systemctl show -p ActiveState --value game)"; exit 1; }
	C kill -KILL $m
	back() { [ "$(C systemctl show -p NRestarts --value game)" = 1 ] && [ "$(C systemctl show -p ActiveState --value game)" = active ]; }
	until_ 100 back || { echo "wanted systemd to restart game after the crash; got NRestarts $(C systemctl show -p NRestarts --value game)"; exit 1; }
	C systemctl stop game && [ "$(C systemctl show -p ActiveState --value game)" = inactive ] ||
	    { echo "wanted game inactive after its stop; got $(C systemctl show -p ActiveState --value game)"; exit 1; }
	# The first start, 3 reloads, the restart after the crash.
	[ "$(C nfserver --peek -I 1.11.1.1 | cut -d" " -f4)" = 5 ] || { echo "wanted 5 starts: $(C nfserver --peek -I 1.11.1.1)"; exit 1; }'

echo "systemd: booted and installed in $((t1 - t0)) s, the cases took $(($(date +%s) - t1)) s"
finish
