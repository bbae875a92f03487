#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make bench-systemd: `systemctl reload` RUNS times (BENCH_RELOADS, 20) on
# each of these units, under a real systemd 252 (tests/systemd/lib.sh), and
# how many reloads kept the unit up: after the reload the unit is active,
# NRestarts has not moved, exactly one server runs, it is a new one, and
# the fixture's counter has not gone back. A unit that was lost is started
# again before the next reload.
#
#   nfrestart   the shipped template nfserver@.service (nfhandoff(7), SYSTEMD)
#   naive       ExecStart= runs the server itself,
#               ExecReload=/bin/kill -31 $MAINPID (the framework's restart
#               signal), KillSignal=SIGUSR1, Restart=on-failure
#   no-notify   ExecStart=nfrestart --new, ExecReload=nfrestart -d, without
#               NotifyAccess= (the unit of issue 16; nfrestart refuses that
#               with 5, --force makes it go on; --ready-timeout 2, or the
#               stop that systemd makes of it waits 30 s for the lock
#               holder, which takes the server's exit 0 on USR1 for a
#               daemonization)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export TOP
unset NOTIFY_SOCKET MAINPID
. "$TOP/tests/systemd/lib.sh"
RUNS=${BENCH_RELOADS:-20}
W=$(mktemp -d "${TMPDIR:-/tmp}/nfsdbench.XXXXXX")
trap 'ct_halt; rm -rf "$W"' EXIT
trap 'exit 2' INT TERM

why=$(ct_need) || { echo "bench-systemd: $why" >&2; exit 1; }
ct_root > /dev/null || exit 1
deb=$(sh "$TOP/src/deb/build.sh" -o "$W") || exit 1
ct_boot "$deb" || exit 1

CS 'mkdir -p /etc/nfhandoff /srv/b1 /srv/b2 /srv/b3
cat > /etc/nfhandoff/b1.conf <<EOF
DIR=/srv/b1
SERVER=Game
ID=1.40.1.1
COMMAND=/usr/local/bin/nfserver -S Game -I 1.40.1.1
OPTS=
EOF
cat > /etc/systemd/system/naive.service <<EOF
[Service]
WorkingDirectory=/srv/b2
ExecStart=/usr/local/bin/nfserver -S Game -I 1.40.1.2
ExecReload=/bin/kill -31 \$MAINPID
KillSignal=SIGUSR1
Restart=on-failure
EOF
cat > /etc/systemd/system/nonotify.service <<EOF
[Service]
WorkingDirectory=/srv/b3
ExecStart=/usr/bin/nfrestart --new -S Game -I 1.40.1.3 -- /usr/local/bin/nfserver -S Game -I 1.40.1.3
ExecReload=/usr/bin/nfrestart -d --force --ready-timeout 2 -S Game -I 1.40.1.3 -- /usr/local/bin/nfserver -S Game -I 1.40.1.3
KillSignal=SIGUSR1
Restart=on-failure
EOF
systemctl daemon-reload'

show() {	# UNIT PROP
	C systemctl show -p "$2" --value "$1"
}

# servers ID: live fixture servers of bus ID in the container.
servers() {
	CS "for d in /proc/[0-9]*; do
		[ \"\$(cat \$d/comm 2> /dev/null)\" = nfserver ] || continue
		grep -q '^State:.*Z' \$d/status 2> /dev/null && continue
		tr '\0' ' ' < \$d/cmdline | grep -q -- '-I $1 ' && echo \${d#/proc/}
	done; true" | wc -l
}

counter() {
	C nfserver --peek -I "$1" 2> /dev/null | cut -d' ' -f2
}

# bench UNIT ID: RUNS reloads; prints "kept lost".
bench() {
	kept=0 lost=0 i=0
	C systemctl start "$1" || return 1
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		m0=$(show "$1" MainPID) r0=$(show "$1" NRestarts) c0=$(counter "$2")
		C systemctl reload "$1" > /dev/null 2>&1
		# Settled: no job left, and the main PID is no longer the old
		# one (or 5 s have passed).
		n=0
		while [ $n -lt 50 ]; do
			[ "$(show "$1" Job)" = "" ] || [ "$(show "$1" Job)" = 0 ] &&
			    [ "$(show "$1" MainPID)" != "$m0" ] && break
			sleep 0.1
			n=$((n + 1))
		done
		m=$(show "$1" MainPID)
		if [ "$(show "$1" ActiveState)" = active ] &&
		    [ "$(show "$1" NRestarts)" = "$r0" ] &&
		    [ "$(servers "$2")" = 1 ] && [ "$m" != "$m0" ] && [ "$m" != 0 ] &&
		    [ "$(counter "$2")" -ge "$c0" ]; then
			kept=$((kept + 1))
		else
			lost=$((lost + 1))
			echo "  $1, reload $i: $(show "$1" ActiveState)," \
			    "main $m0 -> $m, $(servers "$2") server(s)," \
			    "NRestarts $r0 -> $(show "$1" NRestarts)" >&2
			C systemctl stop "$1" > /dev/null 2>&1
			C systemctl reset-failed "$1" > /dev/null 2>&1
			C systemctl start "$1" || return 1
		fi
	done
	C systemctl stop "$1"
	echo "$kept $lost"
}

echo "bench-systemd: $RUNS reloads per unit; lost reloads below, then the table" >&2
a=$(bench nfserver@b1 1.40.1.1) || exit 1
b=$(bench naive 1.40.1.2) || exit 1
c=$(bench nonotify 1.40.1.3) || exit 1
echo
echo "systemctl reload, $RUNS times per unit, under $(C systemctl --version | head -1 | cut -d' ' -f1-2):"
echo "reloads that kept the unit up (active, NRestarts unchanged, one new server, counter kept)"
printf '%-64s %9s\n' unit "kept up"
printf '%-64s %9s\n' "nfserver@.service (nfrestart, NotifyAccess=all)" "${a% *}/$RUNS"
printf '%-64s %9s\n' "naive: ExecStart=the server, ExecReload=/bin/kill -31 \$MAINPID" "${b% *}/$RUNS"
printf '%-64s %9s\n' "ExecReload=nfrestart -d without NotifyAccess= (--force)" "${c% *}/$RUNS"
