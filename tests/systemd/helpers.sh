# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Inside a case of tests/systemd/run.sh: helpers that look at the container
# (its PID 1 is $CT_INIT). Each prints "wanted ..., got ..." when a check
# fails, and returns non-zero.

C() {
	nsenter -t "$CT_INIT" -a "$@"
}

CS() {
	nsenter -t "$CT_INIT" -a sh -c "$1"
}

# inst NAME ID [SERVER ARGS] [OPTS]: the instance nfserver@NAME, the
# fixture server Game with bus ID in /srv/NAME, nfrestart options OPTS.
inst() {
	CS "mkdir -p /etc/nfhandoff /srv/$1 && cat > /etc/nfhandoff/$1.conf" <<-EOF
	DIR=/srv/$1
	SERVER=Game
	ID=$2
	COMMAND=/usr/local/bin/nfserver -S Game -I $2 ${3:-}
	OPTS=${4:-}
	EOF
}

# dropin NAME LINE...: [Service] lines for nfserver@NAME only.
dropin() {
	_u=$1
	shift
	CS "mkdir -p /run/systemd/system/nfserver@$_u.service.d && cat > /run/systemd/system/nfserver@$_u.service.d/test.conf && systemctl daemon-reload" <<-EOF
	[Service]
	$(printf '%s\n' "$@")
	EOF
}

# prop NAME PROPERTY: systemctl show's value for nfserver@NAME.
prop() {
	C systemctl show -p "$2" --value "nfserver@$1"
}

# cgsrv NAME: the live fixture servers in the unit's cgroup.
cgsrv() {
	_cg=$(prop "$1" ControlGroup)
	[ -n "$_cg" ] || return 0
	CS "for f in /sys/fs/cgroup$_cg/cgroup.procs /sys/fs/cgroup/unified$_cg/cgroup.procs /sys/fs/cgroup/systemd$_cg/cgroup.procs; do
		[ -r \$f ] || continue
		for p in \$(cat \$f); do
			[ \"\$(cat /proc/\$p/comm 2> /dev/null)\" = nfserver ] &&
			    ! grep -q '^State:.*Z' /proc/\$p/status 2> /dev/null && echo \$p
		done
		break
	done"
}

# allsrv ID: every live fixture server of bus ID in the container.
allsrv() {
	CS "for d in /proc/[0-9]*; do
		[ \"\$(cat \$d/comm 2> /dev/null)\" = nfserver ] || continue
		grep -q '^State:.*Z' \$d/status 2> /dev/null && continue
		tr '\0' ' ' < \$d/cmdline | grep -q -- '-I $1 ' && echo \${d#/proc/}
	done; true"
}

# peek ID FIELD: a field of the fixture's segment (counter, starts, stored).
peek() {
	C nfserver --peek -I "$1" | tr ' ' '\n' | sed -n "/^$2\$/{n;p;}"
}

# up NAME ID: the unit is active, exactly one server runs (in the unit's
# cgroup, and of that ID anywhere), it is the main PID, and its PID file
# names it. Sets MAIN.
up() {
	MAIN=$(prop "$1" MainPID)
	_a=$(prop "$1" ActiveState)
	_cg=$(cgsrv "$1" | tr '\n' ' ')
	_all=$(allsrv "$2" | tr '\n' ' ')
	_pf=$(C cat "/srv/$1/Game_$2.pid" 2> /dev/null)
	[ "$_a" = active ] && [ "$_cg" = "$MAIN " ] && [ "$_all" = "$MAIN " ] &&
	    [ "$_pf" = "$MAIN" ] && return 0
	echo "wanted: active, one server, the main PID, named by the PID file;" \
	    "got: $_a, main $MAIN, in the cgroup: ${_cg:-none}, of $2:" \
	    "${_all:-none}, PID file: ${_pf:-none}"
	return 1
}

# reloadrc NAME: the exit status of the last ExecReload (nfrestart's).
reloadrc() {
	prop "$1" ExecReload | sed -n 's/.*status=\([0-9]*\).*/\1/p'
}

# sc VERB NAME: systemctl VERB nfserver@NAME succeeds, or say how not.
sc() {
	C systemctl "$1" "nfserver@$2" && return 0
	echo "wanted systemctl $1 nfserver@$2 to succeed; got $?;" \
	    "journal: $(journal "$2" | tail -3 | tr '\n' ' ')"
	return 1
}

# started NAME ID: systemctl start succeeds and the unit is up (up below).
started() {
	sc start "$1" && up "$1" "$2"
}

# norestarts NAME: systemd has not restarted the unit, or say how often.
norestarts() {
	_nr=$(prop "$1" NRestarts)
	[ "$_nr" = 0 ] && return 0
	echo "wanted NRestarts=0 for $1; got $_nr"
	return 1
}

# reload_fails NAME RC: systemctl reload fails, nfrestart having said RC.
reload_fails() {
	C systemctl reload "nfserver@$1" &&
	    { echo "wanted the reload of $1 to fail"; return 1; }
	_rc=$(reloadrc "$1")
	[ "$_rc" = "$2" ] && return 0
	echo "wanted nfrestart $2; got $_rc"
	return 1
}

# journal NAME: the unit's journal, messages only.
journal() {
	C journalctl -q -u "nfserver@$1" -o cat --no-pager
}

# until TENTHS CMD...: poll CMD (a helper above) until it succeeds.
until_() {
	_n=$1
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@"
}

# gone NAME ID: the unit is inactive and no server of ID runs.
down() {
	_a=$(prop "$1" ActiveState)
	_all=$(allsrv "$2" | tr '\n' ' ')
	[ "$_a" = inactive ] && [ -z "$_all" ] && return 0
	echo "wanted: inactive, no server; got: $_a, servers: ${_all:-none}"
	return 1
}
