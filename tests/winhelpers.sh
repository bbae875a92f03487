# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Helpers for the inside of a Windows case (tests/nfrestart-win.test):
# WINEPREFIX, WINEPATH (tests/bin) and WINEDEBUG come from the test file,
# which also runs the wineserver.

# nfr ARG...: nfrestart.exe under Wine.
nfr() {
	wine "$BIN/nfrestart.exe" "$@"
}

# peer NAME [serve options]: start winpeer.exe as an old NFShmXFrame server
# writing NAME.pid and NAME.log; wait for its PID file. Its Unix PID goes to
# NAME.upid (for stop). Short exit delay and life, so nothing lingers.
peer() {
	_pn=$1
	shift
	rm -f "$_pn.pid" "$_pn.log"
	wine winpeer.exe serve -p "$_pn.pid" --log "$_pn.log" --exit-delay 200 \
	    --life 20000 "$@" > /dev/null 2>> "$_pn.err" &
	echo $! > "$_pn.upid"
	waitfor 100 test -s "$_pn.pid" || return 1
	waitfor 100 grep -q START "$_pn.log"
}

# polling NAME: wait until the peer's event thread runs.
polling() {
	waitfor 100 grep -q POLL "$1.log"
}

# saw NAME WORD: the peer's log has WORD (KILL, STOP, ANSWER ...).
saw() {
	grep -Eq " $2( |\$)" "$1.log"
}

# started FILE: wait for what `winpeer.exe echo FILE ...` writes (nfrestart.exe
# returns once CreateProcess has, before the new process has run).
started() {
	waitfor 50 test -s "$1"
}

# wpid NAME: the Windows PID in NAME.pid.
wpid() {
	tr -d '\r\n ' < "$1.pid"
}

# newprocs WORD: the Unix PIDs of the live processes whose command line has
# WORD, nfrestart.exe's own left out: the new process it created, suspended
# or running. (The tests run in a private PID namespace.)
newprocs() {
	for _d in /proc/[0-9]*; do
		_c=$(tr '\0' ' ' < "$_d/cmdline" 2> /dev/null) || continue
		case $_c in
		*nfrestart.exe*) ;;
		*"$1"*) alive "${_d#/proc/}" && echo "${_d#/proc/}" ;;
		esac
	done
}

# unpeer NAME...: stop the peers this case started, by their Unix PIDs.
unpeer() {
	for _pn; do
		[ -s "$_pn.upid" ] && stop "$(cat "$_pn.upid")"
	done
	return 0
}

# A failing case says what it wanted and what it got (on stderr, which the
# harness prints under FAIL):
#   no WANTED GOT   one thing missed; the case goes on and fails at the end
#   exits RC        nfr's status, kept in $r, is RC (else its stderr, err)
#   says ERE        nfr's stderr (err) matches ERE
#   oldpeer NAME ARG... a peer that runs and polls, or the case ends here
#   verdict         stops every peer of the case; fails if anything was missed
no() {
	printf 'wanted: %s\n   got: %s\n' "$1" "$2" >&2
	_missed=1
}

exits() {
	[ "$r" = "$1" ] ||
	    no "exit $1" "exit $r; stderr: $(tr '\n' ' ' < err 2> /dev/null)"
}

says() {
	grep -Eq -- "$1" err 2> /dev/null ||
	    no "stderr matching /$1/" "$(tr '\n' ' ' < err 2> /dev/null)"
}

oldpeer() {
	peer "$@" && polling "$1" && return 0
	no "peer $1 running and polling" \
	    "log: $(tr '\n' ' ' < "$1.log" 2> /dev/null) $(cat "$1.err" 2> /dev/null)"
	verdict
	exit 1
}

verdict() {
	for _u in *.upid */*.upid; do
		[ -s "$_u" ] && stop "$(cat "$_u")"
	done
	[ -z "${_missed:-}" ]
}

# logof NAME: NAME.log on one line, for a "got".
logof() {
	tr '\n' ' ' < "$1.log" 2> /dev/null
}
