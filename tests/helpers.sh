# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Helpers for the inside of a test case (sourced by each case's shell).

# in_ns: true inside the tests' private PID namespace.
in_ns() {
	[ "$NF_IN_NS" = 1 ]
}

# waitfor TENTHS CMD...: run CMD until it succeeds, at most TENTHS/10 s.
waitfor() {
	_n=$1
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" 2> /dev/null && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "waitfor: gave up on: $*" >&2
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
	waitfor 50 test -s "${_s}_${_i}.pid" || return 1
	waitfor 50 grep -q "RECOVER\|INIT" "${_s}_${_i}.log" || return 1
	cat "${_s}_${_i}.pid"
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	_st=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)
	[ "$_st" != Z ] && [ "$_st" != X ]
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

# mtime_back FILE SECONDS: set FILE's mtime SECONDS into the past.
mtime_back() {
	touch -d "@$(($(date +%s) - $2))" "$1"
}
