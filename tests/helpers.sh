# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Helpers for the inside of a test case (sourced by each case's shell).

# in_ns: true inside the tests' private PID namespace.
in_ns() {
	[ "$NF_IN_NS" = 1 ]
}

# need_ns: a case that forces PID reuse or could signal a process it did
# not start runs only there; elsewhere it is skipped (exit 77), not passed.
need_ns() {
	in_ns && return 0
	echo "needs the private namespaces of tests/run.sh (root, unshare)"
	exit 77
}

# A case that fails says what it wanted and what it got, on stderr (the
# harness prints it under FAIL; of its own it can tell only the exit
# status):
#   no WANTED [GOT]       say so (GOT: "not so"); returns 1, the case is
#                         marked missed (winhelpers.sh's verdict)
#   is GOT WANTED [WHAT]  0 when GOT is WANTED; else says both, returns 1
#   miss RC WANTED [GOT]  say so, and r=RC (for cases that end in exit $r)
#   fail WANTED [GOT]     say so, and end the case: exit 1
#   has FILE RE           a line of FILE matches RE, or say what it holds
no() {
	printf 'wanted: %s\n   got: %s\n' "$1" "${2:-not so}" >&2
	_missed=1
	return 1
}

is() {
	[ "$1" = "$2" ] && return 0
	no "${3:+$3: }'$2'" "${3:+$3: }'$1'"
}

miss() {
	_rc=$1
	shift
	no "$@"
	r=$_rc
}

fail() {
	no "$@"
	exit 1
}

# has FILE RE: a line of FILE matches RE (grep's), or say what FILE holds.
has() {
	grep -q -- "$2" "$1" 2> /dev/null && return 0
	no "$1 matching /$2/" "$(head -c 300 "$1" 2> /dev/null | tr '\n' ' ')"
}

# waitfor TENTHS CMD...: run CMD until it succeeds, at most TENTHS/10 s
# times NF_WAIT_SCALE (default 3): a bound for a wait on an event, which
# another suite on the same cores may slow down; no case waits for what
# must not come.
waitfor() {
	_t=$(($1 * ${NF_WAIT_SCALE:-3}))
	shift
	looks 0.1 "$_t" "$@" && return 0
	printf 'wanted: within %s.%s s: %s\n   got: it never succeeded\n' \
	    $((_t / 10)) $((_t % 10)) "$*" >&2
	return 1
}

# looks DELAY N CMD...: CMD until it succeeds, N looks DELAY s apart.
looks() {
	_d=$1 _n=$2
	shift 2
	while [ "$_n" -gt 0 ]; do
		"$@" 2> /dev/null && return 0
		sleep "$_d"
		_n=$((_n - 1))
	done
	return 1
}

# serve SERVER ID [nfserver options]: start the fixture server in the
# background in the current directory, wait for its PID file and its
# segment, and print its PID. Its stderr goes to ./SERVER_ID.log.
serve() {
	_s=$1 _i=$2
	shift 2
	rm -f "${_s}_${_i}.pid"
	nfserver -S "$_s" -I "$_i" "$@" > /dev/null 2>> "${_s}_${_i}.log" &
	waitfor 50 test -s "${_s}_${_i}.pid" &&
	    waitfor 50 grep -q "RECOVER\|INIT" "${_s}_${_i}.log" || {
		no "fixture server $_s $_i running, with its segment" \
		    "log: $(tr '\n' ' ' < "${_s}_${_i}.log" 2> /dev/null)"
		return 1
	}
	cat "${_s}_${_i}.pid"
}

# alive PID: the process exists and is not a zombie.
alive() {
	case $1 in ''|*[!0-9]*) return 1 ;; esac	# /proc//stat is /proc/stat
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1)
	[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}

# execd PID NAME: PID has executed NAME (a fresh "cmd &" is the shell's
# fork until then, with the shell's name).
execd() {
	[ "$(cat "/proc/$1/comm" 2> /dev/null)" = "$2" ]
}

# gone PID: the opposite, for waitfor.
gone() {
	! alive "$1"
}

# stop PID...: SIGKILL the PIDs this test started (never by name).
stop() {
	for _p; do
		case $_p in ''|*[!0-9]*|0|1) continue ;; esac
		kill -KILL "$_p" 2> /dev/null
	done
	return 0
}

# mtime_back FILE SECONDS: set FILE's mtime SECONDS into the past, give or
# take half a second (and not on a whole second, which the guard reads as
# a filesystem that keeps only seconds).
mtime_back() {
	touch -d "@$(($(date +%s) - $2)).5" "$1"
}

# servers ID: the PIDs of live fixture servers for bus ID (any name), one
# per line. The tests run in a private PID namespace: these are ours.
servers() {
	for _d in /proc/[0-9]*; do
		[ -r "$_d/cmdline" ] || continue
		_c=$(tr '\0' ' ' < "$_d/cmdline" 2> /dev/null) || continue
		case $_c in
		*nfserver*" -I $1"*|*nfserver*" -I $1 "*)
			case $_c in *--peek*|*--hold*|*--map*) continue ;; esac
			alive "${_d#/proc/}" && echo "${_d#/proc/}" ;;
		esac
	done
}

# counter ID: the fixture's counter in the segment of bus ID.
counter() {
	nfserver --peek -I "$1" | cut -d' ' -f2
}

# peekf ID FIELD: another field of --peek (starts, stored, shmid, verdict).
peekf() {
	nfserver --peek -I "$1" | tr ' ' '\n' | sed -n "/^$2\$/{n;p;}"
}

# helpopts PAGE CMD...: CMD -h lists every option of PAGE (its .It Fl
# items) on a line of its own, as --help does elsewhere: the short form
# first, then the long one.
helpopts() {
	_page=$1
	shift
	sed -n 's/^\.It Fl //p' "$_page" | awk '{
		s = ""; l = ""
		if ($1 ~ /^-/) l = "-" $1; else s = "-" $1
		for (i = 2; i <= NF; i++)
			if ($(i - 1) == "Fl" && $i ~ /^-/ && l == "") l = "-" $i
		print (s == "" ? "-" : s) " " (l == "" ? "-" : l)
	}' > want
	[ -s want ] || { no "options read from $_page" "none"; return 1; }
	"$@" -h | tr -d '\r' | sed -n '/^options:$/,$p' > opts
	while read -r _s _l; do
		if [ "$_s" = - ]; then
			_re="^      $_l "
		elif [ "$_l" = - ]; then
			_re="^  $_s "
		else
			_re="^  $_s, $_l "
		fi
		grep -Eq -- "$_re" opts ||
		    { no "a line /$_re/ in -h" "$(cat opts)"; return 1; }
	done < want
}
