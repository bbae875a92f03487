#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make demo: a live handoff. A fixture game server counts in shared memory;
# nfrestart replaces it, and the server log shows that the count the old
# server left is the count the new one recovered; then a restart that would
# wipe the data is refused, and --force accepts the loss. Every command is
# shown before it runs, with everything it prints. Exits non-zero if what
# it shows is not so.
#
# It runs in private PID and IPC namespaces of its own (unshare; as root,
# or in a user namespace where the kernel allows one), so that it never
# meets a real server's segment or process on this machine. Where it
# cannot, it runs here, and only if no segment has the demo's key.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ID=1.13.1.1 KEY=0x100d0101

if [ -z "${NF_DEMO_NS:-}" ]; then
	for u in "" "--user --map-root-user"; do
		# shellcheck disable=SC2086
		if unshare $u --pid --fork --mount-proc --ipc true 2> /dev/null; then
			NF_DEMO_NS=1 exec unshare $u --pid --fork --mount-proc \
			    --ipc sh "$0" "$@"
		fi
	done
	NF_DEMO_NS=0
	if ipcs -m 2> /dev/null | grep -q "^$KEY "; then
		cat >&2 <<-EOF
		demo: a shared memory segment with the demo's key $KEY (bus ID $ID)
		already exists on this machine, and it may be a real server's.
		The demo runs in a private IPC namespace where it cannot meet it, but
		that needs root or user namespaces (unshare), which it does not have
		here; so it stops, having touched nothing. Run it as root; or, if
		that segment is a leftover, look at it (nfshm stat $KEY) and remove
		it (nfshm rm $KEY: refused while anything has it attached).
		EOF
		exit 1
	fi
fi
export NF_DEMO_NS

PATH=$TOP/bin:$TOP/tests/bin:$PATH
SV="-S GameServer -I $ID"
ARGS="--Server=GameServer --ID=$ID --Start"
d=$(mktemp -d "${TMPDIR:-/tmp}/nfdemo.XXXXXX") || exit 1
cd "$d" || exit 1

cleanup() {
	for p in $(cat GameServer_$ID.pid 2> /dev/null); do
		case $p in ''|*[!0-9]*|0|1) ;; *) kill -TERM "$p" 2> /dev/null ;; esac
	done
	sleep 0.2
	ipcrm -M $KEY 2> /dev/null
	cd / && rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM
exec 2>&1	# one stream, in order, also when piped

# ./NFPluginLoader here is the fixture server (tests/bin/nfserver) under
# the framework's command line; ./NFPluginLoader.broken is a build whose
# init never completes. Both write "ready" to ./ready once they have
# recovered their memory.
for b in NFPluginLoader NFPluginLoader.broken; do
	case $b in *.broken) x=--init ;; *) x= ;; esac
	cat > "$b" <<-EOF
	#!/bin/sh
	for a; do
		case \$a in
		--Server=*) s=\${a#*=} ;;
		--ID=*) i=\${a#*=} ;;
		esac
	done
	exec nfserver -S "\$s" -I "\$i" --ready-file ready $x
	EOF
	chmod 755 "$b"
done

if [ -t 1 ]; then B=$(printf '\033[1m') G=$(printf '\033[32m') R=$(printf '\033[31m') N=$(printf '\033[0m')
else B= G= R= N=; fi
bad=0
say() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
# run 'COMMAND LINE': show it, then run it as sh would (pipes included).
run() { printf '%s$ %s%s\n' "$G" "$1" "$N"; eval "$1"; }
good() { printf '   %s%s%s\n' "$G" "$*" "$N"; }
wrong() { printf '   %sNOT SO: %s%s\n' "$R" "$*" "$N"; bad=1; }
counter() { nfserver --peek -I $ID | cut -d' ' -f2; }
# exited PID / recovered PID: the counter in the server log's line.
exited() { sed -n "s/^nfserver: $1 exit on signal [0-9]* counter=\([0-9]*\) .*/\1/p" server.log; }
started() { sed -n "s/^nfserver: $1 \(RECOVER\|INIT\) counter=\([0-9]*\)$/\1 \2/p" server.log; }

if [ "$NF_DEMO_NS" = 1 ]; then
	echo "In private PID and IPC namespaces: the machine's servers and segments are out of reach."
else
	echo "No private namespace here (needs root or user namespaces); no segment $KEY exists."
fi
echo "In $d: ./NFPluginLoader is the fixture server, which counts in its segment."

say "1. Start the game server: a first start (no segment yet), so --new"
run "nfrestart -d --new --ready-file ready -o server.log $SV -- ./NFPluginLoader $ARGS"
p1=$(cat GameServer_$ID.pid)
sleep 0.3	# let it count a while
run "nfshm stat $SV | grep -E '^(key|bytes|nattch|hdr_init|hdr_version|verdict)'"

say "2. Hot restart: signal 31, wait for the old server, start the new one on the same memory"
run "nfrestart -v -d --ready-file ready -o server.log $SV -- ./NFPluginLoader $ARGS"
p2=$(cat GameServer_$ID.pid)
run "grep -E '^nfserver: ($p1|$p2) ' server.log"
c_old=$(exited "$p1") c_new=$(started "$p2")
if [ -n "$c_old" ] && [ "$c_new" = "RECOVER $c_old" ]; then
	good "old server $p1 exited at counter=$c_old, new server $p2 recovered counter=$c_old: nothing lost"
else
	wrong "old server $p1 exited at counter=${c_old:-?}, new server $p2: ${c_new:-?}"
fi

say "3. A new build whose init never completes leaves the segment in INIT state"
run "nfrestart -q -d --ready-file ready -o server.log $SV -- ./NFPluginLoader.broken $ARGS"
p3=$(cat GameServer_$ID.pid)
run "nfshm stat $SV | grep '^verdict'"
say "   ...so the next restart would wipe the data. nfrestart refuses, touching nothing:"
run "nfrestart -d --ready-file ready -o server.log $SV -- ./NFPluginLoader $ARGS"
rc=$?
a=$(counter)
run "nfpid check $SV"
sleep 0.1
b=$(counter)
if [ "$rc" = 5 ] && [ "$(cat GameServer_$ID.pid)" = "$p3" ] && [ "$b" -gt "$a" ]; then
	good "exit status 5: refused; server $p3 still runs, counting: $a, then $b"
else
	wrong "exit status $rc, PID file $(cat GameServer_$ID.pid), counter $a, then $b"
fi

say "4. The operator accepts the loss with --force"
run "nfrestart --force -d --ready-file ready -o server.log $SV -- ./NFPluginLoader $ARGS"
p4=$(cat GameServer_$ID.pid)
run "grep -E '^nfserver: ($p3|$p4) ' server.log"
c3=$(exited "$p3") c4=$(started "$p4")
if [ -n "$c3" ] && [ "$c4" = "INIT 0" ]; then
	good "old server $p3 exited at counter=$c3; new server $p4 started from 0, as --force said it would"
else
	wrong "old server $p3 exited at counter=${c3:-?}, new server $p4: ${c4:-?}"
fi

say "Summary"
printf '   restart 2: %sold exited at %s, new recovered at %s: nothing lost%s\n' \
    "$G" "${c_old:-?}" "${c_new#RECOVER }" "$N"
printf '   restart 3: %srefused (5) before the old server was touched: nothing lost%s\n' "$G" "$N"
printf '   restart 4: %sdata wiped (%s -> 0), because --force asked for it%s\n' \
    "$R" "${c3:-?}" "$N"
echo
echo "The whole server log:"
sed 's/^/   /' server.log
exit $bad
