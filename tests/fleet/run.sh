#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make fleet: tests/fleet/playbook.yml restarts a fleet of three hosts
# through a real orchestrator. The hosts are three sshd on 127.0.0.2-4, each
# with its own host key, directory and fixture server (its own bus ID, so its
# own segment), driven by ansible-playbook over ssh with a key made here.
#
# Everything runs in private PID, mount, IPC and network namespaces with
# tests/bin/nfinit as init: no process, segment, port or mount outlives the
# run, and nothing is written to the machine's ~/.ssh or ~/.ansible.
# Ends with "N passed, N failed"; exits non-zero on a failure. A machine
# without what it needs skips (exit 0), or fails when NF_REQUIRE_ALL=1.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export TOP

if [ -z "$NF_FLEET_NS" ]; then
	why=
	[ "$(id -u)" = 0 ] || why="needs root"
	for c in unshare ip ansible-playbook ssh ssh-keygen; do
		command -v "$c" > /dev/null 2>&1 || why="${why:+$why; }no $c"
	done
	[ -x /usr/sbin/sshd ] || why="${why:+$why; }no /usr/sbin/sshd"
	[ -x "$TOP/bin/nfrestart" ] && [ -x "$TOP/tests/bin/nfserver" ] &&
	    [ -x "$TOP/tests/bin/nfinit" ] || why="${why:+$why; }run make all"
	if [ -z "$why" ] && ! unshare --pid --fork --mount-proc --ipc --net \
	    true 2> /dev/null; then
		why="no private PID/IPC/network namespace"
	fi
	if [ -n "$why" ]; then
		echo "fleet: skipped: $why (apt-get install ansible-core" \
		    "openssh-server openssh-client iproute2)"
		[ "${NF_REQUIRE_ALL:-0}" != 1 ]
		exit
	fi
	NF_FLEET_NS=1 exec unshare --pid --fork --mount-proc --ipc --net \
	    "$TOP/tests/bin/nfinit" sh "$0" "$@"
fi

# From here on, inside the namespaces.
PATH=$TOP/bin:$TOP/tests/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
ip link set lo up || exit 1
# sshd needs its privilege separation directory, which only a booted
# system has: make it on a /run of our own.
if [ ! -d /run/sshd ]; then
	mount -t tmpfs -o mode=755 nffleet /run && mkdir -m 755 /run/sshd ||
	    exit 1
fi
# Without PAM, sshd refuses an account whose password is locked ("!"):
# give our mount namespace a copy of /etc/shadow where root's is not.
if grep -q '^root:!' /etc/shadow; then
	sed 's/^root:![^:]*:/root:*:/' /etc/shadow > /run/nffleet.shadow &&
	    mount --bind /run/nffleet.shadow /etc/shadow || exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/nffleet.XXXXXX") || exit 1
chmod 755 "$T"
HOSTS="127.0.0.2 127.0.0.3 127.0.0.4"
npass=0 nfail=0 sshd_pids=

cleanup() {
	for p in $sshd_pids; do
		kill "$p" 2> /dev/null
	done
	for f in "$T"/host*/*/GameServer_*.pid; do
		p=$(cat "$f" 2> /dev/null)
		case $p in ''|*[!0-9]*|0|1) ;; *) kill -KILL "$p" 2> /dev/null ;; esac
	done
	[ -n "$NF_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
	npass=$((npass + 1))
	echo "PASS: $1"
}

fail() {	# NAME WHY
	nfail=$((nfail + 1))
	echo "FAIL: $1"
	echo "  $2"
}

# A host's number (2-4), bus ID, directory, PID file, ready port.
hn() { echo "${1##*.}"; }
hid() { echo "1.11.1.$(hn "$1")"; }
hdir() { echo "$T/host$(hn "$1")/srv"; }
hpidf() { echo "$(hdir "$1")/GameServer_$(hid "$1").pid"; }
hport() { echo "700$(hn "$1")"; }

alive() {
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1)
	[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}
counter() { nfserver --peek -I "$1" | cut -d' ' -f2; }
starts() { nfserver --peek -I "$1" | cut -d' ' -f4; }
# The PID file's identity: inode, mtime and contents.
pidstamp() { echo "$(stat -c '%i %Y.%y' "$1") $(cat "$1")"; }

# loader HOST [good|crash|stuck|slow] [DIR PORT]: the host's
# ./NFPluginLoader (in DIR, listening on PORT), which stands in for the
# framework's: it takes NFShmXFrame's command line, notes the start in
# $T/order, and becomes the fixture server (same PID). A "crash" build
# recovers the segment but dies 200 ms later without ever listening; a
# "stuck" one works but ignores the restart signal; a "slow" one takes 3 s
# to exit after it.
loader() {
	_h=$1 _d=${3:-$(hdir "$1")} _port=${4:-$(hport "$1")}
	case $2 in
	crash) _x="--die-after 200" ;;
	stuck) _x="--ready-tcp $_port --ignore" ;;
	slow) _x="--ready-tcp $_port --exit-delay 3000" ;;
	*) _x="--ready-tcp $_port" ;;
	esac
	cat > "$_d/NFPluginLoader.new" << EOF
#!/bin/sh
for a; do
	case \$a in
	--Server=*) s=\${a#*=} ;;
	--ID=*) i=\${a#*=} ;;
	esac
done
echo "$_h \$\$" >> "$T/order"
exec $TOP/tests/bin/nfserver -S "\$s" -I "\$i" --tick 10 $_x
EOF
	chmod 755 "$_d/NFPluginLoader.new"
	mv "$_d/NFPluginLoader.new" "$_d/NFPluginLoader"
}

# --- the hosts ---------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C nffleet -f "$T/id" || exit 1
cp "$T/id.pub" "$T/authorized_keys"
: > "$T/known_hosts"
for h in $HOSTS; do
	d=$T/host$(hn "$h")
	mkdir -p "$d/srv" "$d/ssh"
	ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/ssh/host_key" || exit 1
	echo "$h $(cut -d' ' -f1,2 "$d/ssh/host_key.pub")" >> "$T/known_hosts"
	cat > "$d/ssh/sshd_config" << EOF
ListenAddress $h:22
HostKey $d/ssh/host_key
PidFile none
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
EOF
	/usr/sbin/sshd -D -f "$d/ssh/sshd_config" -E "$d/ssh/sshd.log" &
	sshd_pids="$sshd_pids $!"
done
cat > "$T/ssh_config" << EOF
Host *
	User root
	IdentityFile $T/id
	IdentitiesOnly yes
	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 30
EOF
for h in $HOSTS; do
	n=0
	until ssh -F "$T/ssh_config" "$h" true 2> "$T/ssh.err"; do
		n=$((n + 1))
		if [ "$n" -ge 100 ]; then
			echo "fleet: cannot log in to $h over ssh:"
			cat "$T/ssh.err" "$T/host$(hn "$h")/ssh/sshd.log"
			exit 1
		fi
		sleep 0.1
	done
done

# --- ansible, kept inside $T --------------------------------------------------
mkdir -p "$T/home" "$T/ansible/tmp" "$T/ansible/cp"
HOME=$T/home ANSIBLE_HOME=$T/ansible ANSIBLE_CONFIG=$T/ansible.cfg
ANSIBLE_LOCAL_TEMP=$T/ansible/tmp ANSIBLE_REMOTE_TEMP=$T/ansible/remote
ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export HOME ANSIBLE_HOME ANSIBLE_CONFIG ANSIBLE_LOCAL_TEMP ANSIBLE_REMOTE_TEMP
export ANSIBLE_NOCOLOR ANSIBLE_FORCE_COLOR
cat > "$T/ansible.cfg" << EOF
[defaults]
inventory = $T/inventory
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
forks = 1
timeout = 30

[ssh_connection]
ssh_args = -F $T/ssh_config -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $T/ansible/cp
pipelining = True
EOF
{
	echo "[game]"
	for h in $HOSTS; do
		echo "$h nf_id=$(hid "$h") nf_dir=$(hdir "$h")" \
		    "nf_ready_tcp=127.0.0.1:$(hport "$h")"
	done
	echo
	echo "[game:vars]"
	echo "ansible_user=root"
	echo "nf_bin=$TOP/bin"
	echo "nf_ready_timeout=30s"
} > "$T/inventory"

# play NAME [ARG...]: run the playbook; its output goes to $T/NAME.out.
play() {
	_p=$1
	shift
	: > "$T/order"
	ansible-playbook "$@" "$TOP/tests/fleet/playbook.yml" > "$T/$_p.out" 2>&1
	prc=$?
}

show() {	# the playbook's output, for a failed case
	sed 's/^/    /' "$T/$1.out" | tail -40
}

# snap: each host's server PID, PID file stamp, counter and starts.
snap() {
	for h in $HOSTS; do
		n=$(hn "$h")
		eval "pid$n=\$(cat \"\$(hpidf $h)\" 2> /dev/null)"
		eval "stamp$n=\$(pidstamp \"\$(hpidf $h)\" 2> /dev/null)"
		eval "cnt$n=\$(counter $(hid "$h") 2> /dev/null)"
		eval "st$n=\$(starts $(hid "$h") 2> /dev/null)"
	done
}

# restarted NAME HOST: the host's server is a new, live process that
# recovered the segment of the one in the last snap.
restarted() {
	n=$(hn "$2")
	eval "_op=\$pid$n _oc=\$cnt$n _os=\$st$n"
	_np=$(cat "$(hpidf "$2")" 2> /dev/null)
	if [ -z "$_np" ] || [ "$_np" = "$_op" ]; then
		fail "$1" "$2: PID file names $_np, before $_op"
	elif ! alive "$_np"; then
		fail "$1" "$2: new server $_np is not running"
	elif alive "$_op"; then
		fail "$1" "$2: old server $_op still runs"
	elif [ "$(counter "$(hid "$2")")" -lt "$_oc" ]; then
		fail "$1" "$2: counter $(counter "$(hid "$2")") < $_oc"
	elif [ "$(starts "$(hid "$2")")" -ne $((_os + 1)) ]; then
		fail "$1" "$2: starts $(starts "$(hid "$2")"), wanted $((_os + 1))"
	else
		pass "$1"
	fi
}

# untouched NAME HOST: the same server, PID file unchanged.
untouched() {
	n=$(hn "$2")
	eval "_op=\$pid$n _ostamp=\$stamp$n _os=\$st$n"
	if ! alive "$_op"; then
		fail "$1" "$2: server $_op is gone"
	elif [ "$(pidstamp "$(hpidf "$2")")" != "$_ostamp" ]; then
		fail "$1" "$2: PID file changed: $(pidstamp "$(hpidf "$2")")," \
		    "was $_ostamp"
	elif [ "$(starts "$(hid "$2")")" != "$_os" ]; then
		fail "$1" "$2: segment has starts $(starts "$(hid "$2")"), was $_os"
	else
		pass "$1"
	fi
}

# --- the servers, started as an operator would the first time -----------------
for h in $HOSTS; do
	loader "$h" good
	nfrestart -q -d --new -C "$(hdir "$h")" -S GameServer -I "$(hid "$h")" \
	    -o server.log --ready-tcp "127.0.0.1:$(hport "$h")" -- \
	    ./NFPluginLoader --Server=GameServer --ID="$(hid "$h")" --Start ||
	    { echo "fleet: cannot start the server on $h"; exit 1; }
done
sleep 0.2		# let the counters move
echo "== fleet: 3 hosts, ansible-core $(ansible-playbook --version |
    sed -n '1s/.*core \([0-9.]*\).*/\1/p'), $(ssh -V 2>&1 | cut -d, -f1)"

# Case 1: the whole fleet, in order, each counter kept.
snap
play all
if [ "$prc" = 0 ]; then
	pass "all: ansible-playbook exits 0"
else
	fail "all: ansible-playbook exits 0" "exit $prc"
	show all
fi
for h in $HOSTS; do
	restarted "all: $h restarted, its counter kept" "$h"
done
got=$(cut -d' ' -f1 "$T/order" | tr '\n' ' ')
if [ "$got" = "$HOSTS " ]; then
	pass "all: restarted one after another, in order"
else
	fail "all: restarted one after another, in order" "order: $got"
fi
if [ "$(grep -c ' : ok=.* changed=1 .* failed=0 ' "$T/all.out")" = 3 ]; then
	pass "all: each host reported changed"
else
	fail "all: each host reported changed" "see the recap"
	show all
fi

# Case 2: the new build crashes on the second host: the rollout stops there
# with DOWN, after the first host is restarted; the third is not touched.
loader 127.0.0.3 crash
snap
play crash
if [ "$prc" != 0 ]; then
	pass "crash: ansible-playbook fails"
else
	fail "crash: ansible-playbook fails" "exit 0"
fi
restarted "crash: 127.0.0.2 restarted first" 127.0.0.2
if grep -q '127\.0\.0\.3.*nfrestart exit 6: DOWN: the old server is gone' \
    "$T/crash.out"; then
	pass "crash: 127.0.0.3 failed with exit 6, DOWN"
else
	fail "crash: 127.0.0.3 failed with exit 6, DOWN" "no such message"
	show crash
fi
untouched "crash: 127.0.0.4 untouched" 127.0.0.4
got=$(cut -d' ' -f1 "$T/order" | tr '\n' ' ')
if [ "$got" = "127.0.0.2 127.0.0.3 " ]; then
	pass "crash: nothing started on 127.0.0.4"
else
	fail "crash: nothing started on 127.0.0.4" "order: $got"
fi
if grep -q '127\.0\.0\.4' "$T/crash.out"; then
	fail "crash: ansible never ran a task on 127.0.0.4" "it did"
	show crash
else
	pass "crash: ansible never ran a task on 127.0.0.4"
fi

# Case 3: the build fixed, the playbook run again brings the host back up
# with its data: the crashed build left the segment as it was.
loader 127.0.0.3 good
snap
play fixed
if [ "$prc" = 0 ]; then
	pass "fixed: ansible-playbook exits 0"
else
	fail "fixed: ansible-playbook exits 0" "exit $prc"
	show fixed
fi
for h in $HOSTS; do
	restarted "fixed: $h restarted, its counter kept" "$h"
done

# Case 4: the new binary missing on the third host: the pre-check stops the
# rollout there before its server is touched.
rm "$(hdir 127.0.0.4)/NFPluginLoader"
snap
play missing
if [ "$prc" != 0 ] &&
    grep -q '127\.0\.0\.4.*NFPluginLoader is missing' "$T/missing.out"; then
	pass "missing: 127.0.0.4 fails its pre-check"
else
	fail "missing: 127.0.0.4 fails its pre-check" "exit $prc"
	show missing
fi
restarted "missing: 127.0.0.3 restarted before it" 127.0.0.3
untouched "missing: 127.0.0.4 untouched" 127.0.0.4

# start_on HOST WHAT: start HOST's server (as its loader now is) outside
# the playbook, ready on its port, or end the run.
start_on() {
	nfrestart -q -d -C "$(hdir "$1")" -S GameServer -I "$(hid "$1")" \
	    -o server.log --ready-tcp "127.0.0.1:$(hport "$1")" -- \
	    ./NFPluginLoader --Server=GameServer --ID="$(hid "$1")" --Start ||
	    { echo "fleet: cannot start the $2 server on $1"; exit 1; }
}

# Case 5: the first host's server does not stop (it ignores the restart
# signal): nfrestart gives up with 124, leaving it running and starting
# nothing; the playbook waits for it once more, says that it still runs,
# and the rollout stops there.
loader 127.0.0.4 good
loader 127.0.0.2 stuck
start_on 127.0.0.2 stuck
snap
play stuck -e nf_stop_timeout=2s
if [ "$prc" != 0 ] && grep -q \
    '127\.0\.0\.2.*nfrestart exit 124: the old server was sent its signal and was still running' \
    "$T/stuck.out"; then
	pass "stuck: 127.0.0.2 fails with exit 124"
else
	fail "stuck: 127.0.0.2 fails with exit 124" "exit $prc"
	show stuck
fi
if grep -q '127\.0\.0\.2.*-- the old server still runs 2s later; .*-r restart/10/KILL/5' \
    "$T/stuck.out"; then
	pass "stuck: the message says it still runs, and how to escalate"
else
	fail "stuck: the message says it still runs, and how to escalate" \
	    "no such message"
	show stuck
fi
for h in $HOSTS; do
	untouched "stuck: $h untouched" "$h"
done
if [ -s "$T/order" ]; then
	fail "stuck: nothing started anywhere" "order: $(cat "$T/order")"
else
	pass "stuck: nothing started anywhere"
fi

# Case 6: the first host's server takes 3 s to exit after its signal, the
# stop timeout is 2 s: 124, and the old server exits a second later. The
# playbook starts nothing (not on that host, not after it) and says that
# nothing runs there now.
loader 127.0.0.2 slow
p=$(cat "$(hpidf 127.0.0.2)")
kill -KILL "$p"
while alive "$p"; do sleep 0.01; done
start_on 127.0.0.2 slow
loader 127.0.0.2 good
snap
play slow -e nf_stop_timeout=2s
if [ "$prc" != 0 ] && grep -q \
    '127\.0\.0\.2.*nfrestart exit 124: .*-- the old server exited since: NOTHING RUNS on this host' \
    "$T/slow.out"; then
	pass "slow: 124, then the message says that nothing runs there"
else
	fail "slow: 124, then the message says that nothing runs there" \
	    "exit $prc"
	show slow
fi
if alive "$pid2"; then
	fail "slow: the old server has exited" "$pid2 still runs"
else
	pass "slow: the old server has exited"
fi
if [ -s "$T/order" ]; then
	fail "slow: nothing started anywhere" "order: $(cat "$T/order")"
else
	pass "slow: nothing started anywhere"
fi
untouched "slow: 127.0.0.3 untouched" 127.0.0.3

# Case 7: the playbook run again, as that message says, starts the new
# build on that host from the data the old one left, and goes on.
snap
play again
if [ "$prc" = 0 ]; then
	pass "again: ansible-playbook exits 0"
else
	fail "again: ansible-playbook exits 0" "exit $prc"
	show again
fi
if [ "$(starts "$(hid 127.0.0.2)")" = $((st2 + 1)) ] &&
    alive "$(cat "$(hpidf 127.0.0.2)")"; then
	pass "again: 127.0.0.2 started on its segment"
else
	fail "again: 127.0.0.2 started on its segment" \
	    "starts $(starts "$(hid 127.0.0.2)"), was $st2"
fi
restarted "again: 127.0.0.3 restarted, its counter kept" 127.0.0.3

# Case 8: a first start. On a host with no server and no segment for the
# ID (a mistyped nf_id looks the same), the restart starts nothing and
# says so (1); with nf_new=true it starts the server.
nd=$T/host4/new
mkdir -p "$nd"
loader 127.0.0.4 good "$nd" 7009
first="--limit 127.0.0.4 -e nf_dir=$nd -e nf_id=1.11.1.9
    -e nf_ready_tcp=127.0.0.1:7009"
play mistyped $first
if [ "$prc" != 0 ] && grep -q \
    '127\.0\.0\.4.*nfrestart exit 1: nothing to restart: .*A first start needs nf_new=true' \
    "$T/mistyped.out" && [ ! -s "$T/order" ]; then
	pass "first: without nf_new, exit 1 and nothing started"
else
	fail "first: without nf_new, exit 1 and nothing started" \
	    "exit $prc, order: $(cat "$T/order")"
	show mistyped
fi
play first $first -e nf_new=true
if [ "$prc" = 0 ] && alive "$(cat "$nd/GameServer_1.11.1.9.pid")" &&
    [ "$(starts 1.11.1.9)" = 1 ]; then
	pass "first: with nf_new=true, the server starts"
else
	fail "first: with nf_new=true, the server starts" "exit $prc"
	show first
fi

# Nothing of ansible's or ssh's outside $T.
if [ -n "$(find "$T/home" -mindepth 1 -maxdepth 1 2> /dev/null)" ]; then
	echo "note: HOME was written: $(ls -A "$T/home")"
fi

echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
