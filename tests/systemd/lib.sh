# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# A real systemd for the tests: Debian 12's systemd 252, booted as PID 1 of
# a systemd-nspawn container (no systemd is needed on the host), driven
# with nsenter. Sourced by tests/systemd/run.sh and bench.sh.
#
#   ct_root        the root file system, made once with debootstrap and
#                  cached in $NF_SYSTEMD_ROOT (CI makes it fresh each run)
#   ct_boot        boot it, read-only under a tmpfs overlay (nothing a test
#                  does survives), with the nfhandoff package built from
#                  this tree installed in it; sets CT_INIT (its PID 1)
#   ct_halt        power it off
#   C CMD...       run CMD inside; CS 'SHELL CODE' runs sh -c inside
#
# NF_SYSTEMD_ROOT   the cached root (/var/cache/nfhandoff/bookworm)
# NF_DEBIAN_MIRROR  where debootstrap gets Debian (http://deb.debian.org/debian)

: "${NF_SYSTEMD_ROOT:=/var/cache/nfhandoff/bookworm}"
: "${NF_DEBIAN_MIRROR:=http://deb.debian.org/debian}"
CT_LOG=${TMPDIR:-/tmp}/nfhandoff-nspawn.$$.log

ct_need() {
	_miss=
	[ "$(id -u)" = 0 ] || _miss="root"
	for _t in systemd-nspawn nsenter debootstrap dpkg-deb; do
		command -v $_t > /dev/null 2>&1 || _miss="$_miss $_t"
	done
	[ -z "$_miss" ] && return 0
	echo "needs$_miss (Debian: apt-get install systemd-container debootstrap)"
	return 1
}

# ct_root: the cached root, or a new one (about half a minute with a near
# mirror, 140 MB after the package caches are emptied).
ct_root() {
	if [ -x "$NF_SYSTEMD_ROOT/lib/systemd/systemd" ]; then
		echo "systemd: root $NF_SYSTEMD_ROOT (cached)"
		return 0
	fi
	_t0=$(date +%s)
	mkdir -p "$(dirname "$NF_SYSTEMD_ROOT")" || return 1
	rm -rf "$NF_SYSTEMD_ROOT.tmp"
	echo "systemd: making $NF_SYSTEMD_ROOT with debootstrap (bookworm," \
	    "minbase, systemd) from $NF_DEBIAN_MIRROR"
	if ! debootstrap --variant=minbase \
	    --include=systemd,systemd-sysv,dbus,procps bookworm \
	    "$NF_SYSTEMD_ROOT.tmp" "$NF_DEBIAN_MIRROR" \
	    > "$NF_SYSTEMD_ROOT.log" 2>&1; then
		echo "systemd: debootstrap failed; the end of $NF_SYSTEMD_ROOT.log:"
		tail -5 "$NF_SYSTEMD_ROOT.log"
		return 1
	fi
	rm -rf "$NF_SYSTEMD_ROOT.tmp"/var/cache/apt/archives/*.deb \
	    "$NF_SYSTEMD_ROOT.tmp"/var/lib/apt/lists/*
	mv "$NF_SYSTEMD_ROOT.tmp" "$NF_SYSTEMD_ROOT" || return 1
	echo "systemd: root made in $(($(date +%s) - _t0)) s," \
	    "$(du -sm "$NF_SYSTEMD_ROOT" | cut -f1) MB"
}

C() {
	nsenter -t "$CT_INIT" -a "$@"
}

CS() {
	nsenter -t "$CT_INIT" -a sh -c "$1"
}

# ct_boot DEB: boot the container with DEB (the package) installed.
ct_boot() {
	_deb=$1
	CT_NSPAWN= CT_INIT=
	systemd-nspawn -D "$NF_SYSTEMD_ROOT" -b --register=no --keep-unit \
	    --console=pipe --volatile=overlay --machine=nfhandoff$$ \
	    --bind-ro="$(dirname "$_deb")":/opt/deb \
	    --bind-ro="$TOP/tests/bin/nfserver":/usr/local/bin/nfserver \
	    > "$CT_LOG" 2>&1 < /dev/null &
	CT_NSPAWN=$!
	_n=0
	while [ -z "$CT_INIT" ] && [ $_n -lt 300 ]; do
		CT_INIT=$(ps -o pid= --ppid "$CT_NSPAWN" 2> /dev/null | tr -d ' ')
		[ -n "$CT_INIT" ] && [ "$(cat /proc/$CT_INIT/comm 2> /dev/null)" = systemd ] ||
		    CT_INIT=
		[ -n "$CT_INIT" ] || sleep 0.1
		_n=$((_n + 1))
	done
	if [ -z "$CT_INIT" ]; then
		echo "systemd: systemd-nspawn did not start systemd; its output:"
		cat "$CT_LOG"
		return 1
	fi
	export CT_INIT
	# Until its manager answers at all, then until it has booted.
	_n=0
	while _st=$(timeout 60 nsenter -t "$CT_INIT" -a systemctl \
	    is-system-running --wait 2>&1); [ $_n -lt 300 ]; do
		case $_st in *"connect to bus"*) ;; *) break ;; esac
		sleep 0.1
		_n=$((_n + 1))
	done
	case $_st in
	running|degraded) ;;
	*) echo "systemd: the container did not come up: $_st"; cat "$CT_LOG"
	   return 1 ;;
	esac
	C dpkg -i "/opt/deb/$(basename "$_deb")" > /dev/null || return 1
	echo "systemd: $(C systemctl --version | head -1), booted as PID 1 of" \
	    "a container (host PID $CT_INIT); $(C dpkg-query -W nfhandoff |
	    tr '\t' ' ') installed"
}

ct_halt() {
	[ -n "$CT_NSPAWN" ] || return 0
	C systemctl poweroff > /dev/null 2>&1
	_n=0
	while kill -0 "$CT_NSPAWN" 2> /dev/null && [ $_n -lt 300 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	kill -0 "$CT_NSPAWN" 2> /dev/null && kill -KILL "$CT_NSPAWN"
	wait "$CT_NSPAWN" 2> /dev/null
	rm -f "$CT_LOG"
	CT_NSPAWN=
}
