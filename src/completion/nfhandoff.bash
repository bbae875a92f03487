# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# bash completion for nfpid, nfsignal, nfwait, nfshm and nfrestart.
#
# Plain bash (COMP_WORDS, COMP_CWORD, compgen): nothing from the
# bash-completion package is needed. Installed as
# .../bash-completion/completions/nfpid with the other four names as
# symlinks to it, so bash-completion's loader finds it under any of them;
# without that package, source it from ~/.bashrc.
#
# Values offered:
#   -S SERVER, -I ID   from the {SERVER}_{ID}.pid files in the -C directory
#                      (or the current one); with -S given, -I offers only
#                      that server's IDs, and the other way round
#   -s SIG, -r SCHED   signal names, restart/stop/reload first
#   --shm KEY, nfshm KEY operands and ls -k
#                      the keys `nfshm ls -H` lists
#   -p, -o, --ready-file, --backup, --restore, save/restore FILE
#                      files, relative to the -C directory (the tools chdir
#                      there before they open anything)
#   -C DIR             directories
#   after `--` (or the first operand) of nfrestart and nfpid lock
#                      a command, then files

_nf_sigs='restart stop reload HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1
SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ
VTALRM PROF WINCH IO POLL PWR SYS'

# _nf_dequote WORD: WORD as the tool will see it, for the simple cases
# (quotes around it, escaped blanks, a leading ~).
_nf_dequote() {
	local w=$1
	case $w in
	\'*\') w=${w:1:${#w}-2} ;;
	\"*\") w=${w:1:${#w}-2} ;;
	*) w=${w//\\/} ;;
	esac
	case $w in
	'~') w=$HOME ;;
	'~/'*) w=$HOME/${w:2} ;;
	esac
	printf '%s' "$w"
}

# _nf_add PREFIX CUR WORD...: add to COMPREPLY each WORD starting with CUR,
# with PREFIX in front.
_nf_add() {
	local p=$1 c=$2 w
	shift 2
	for w; do
		[[ $w == "$c"* ]] && COMPREPLY+=("$p$w")
	done
}

# _nf_sig PREFIX CUR: signal names; any case, with or without SIG.
_nf_sig() {
	local p=$1 c=$2 s u
	u=${c^^}
	for s in $_nf_sigs; do
		case $s in
		restart|stop|reload)
			[[ $s == "${c,,}"* ]] && COMPREPLY+=("$p$s")
			continue ;;
		esac
		# STOP is refused (stop or SIGSTOP?): only SIGSTOP is offered.
		if [[ $u == SIG* && SIG$s == "$u"* ]]; then
			COMPREPLY+=("${p}SIG$s")
		elif [[ $s != STOP && $s == "$u"* ]]; then
			COMPREPLY+=("$p$s")
		fi
	done
}

# _nf_sched PREFIX CUR: a schedule SIG/DUR/SIG/DUR...; signals where a
# signal goes (items 0, 2, ...), nothing where a duration goes.
_nf_sched() {
	local p=$1 c=$2 head last n
	head=${c%/*}
	last=${c##*/}
	if [[ $c == */* ]]; then
		head=$head/
	else
		head=
	fi
	n=${c//[!\/]/}
	n=${#n}
	((n % 2)) && return
	_nf_sig "$p$head" "$last"
	# A bare -31/5 spelling: leave it alone.
}

# _nf_pidfiles DIR: "SERVER ID" for each DIR/SERVER_ID.pid.
_nf_pidfiles() {
	local f b
	for f in "${1:-.}"/*_*.pid; do
		[[ -e $f || -L $f ]] || continue
		b=${f##*/}
		b=${b%.pid}
		printf '%s %s\n' "${b%_*}" "${b##*_}"
	done
}

# _nf_pidfield F PREFIX CUR DIR OTHER: field F (1 the server, 2 the ID)
# of the PID files in DIR, each once; with OTHER non-empty, only those
# whose other field is OTHER.
_nf_pidfield() {
	local s i v o seen=' '
	while read -r s i; do
		if [[ $1 == 1 ]]; then v=$s o=$i; else v=$i o=$s; fi
		[[ -n $5 && $o != "$5" ]] && continue
		[[ $seen == *" $v "* ]] && continue
		seen+="$v "
		_nf_add "$2" "$3" "$v"
	done < <(_nf_pidfiles "$4")
}

# _nf_servers PREFIX CUR DIR ID: the servers with a PID file in DIR (with
# ID non-empty, only those with that ID).
_nf_servers() {
	_nf_pidfield 1 "$@"
}

# _nf_ids PREFIX CUR DIR SERVER: the IDs of PID files in DIR (of SERVER
# only, when it is given).
_nf_ids() {
	_nf_pidfield 2 "$@"
}

# _nf_keys PREFIX CUR: the segments `nfshm ls -H` lists (SysV keys and
# POSIX names), from the nfshm beside the tool being completed.
_nf_keys() {
	local t=nfshm k
	if [[ $_nf_tool == */* && -x ${_nf_tool%/*}/nfshm ]]; then
		t=${_nf_tool%/*}/nfshm
	fi
	while IFS=$'\t' read -r _ k _; do
		[[ -n $k ]] && _nf_add "$1" "$2" "$k"
	done < <("$t" ls -H 2> /dev/null)
}

# _nf_files PREFIX CUR DIR [d|x]: files (with d, directories; with x,
# programs and directories) named relative to DIR; a directory gets a
# trailing / and no space after it.
_nf_files() {
	local p=$1 c=$2 d=${3:-.} f r what=-f
	[[ $4 == d ]] && what=-d
	c=$(_nf_dequote "$c")
	[[ $c == /* ]] && d=/
	while IFS= read -r f; do
		[[ -z $f ]] && continue
		r=$f
		if [[ $f == /* ]]; then
			[[ -d $f ]] && r=$f/
		else
			[[ -d $d/$f ]] && r=$f/
		fi
		if [[ $r == */ ]]; then
			_nf_nospace=1
		elif [[ $4 == x ]]; then
			[[ $f == /* ]] || f=$d/$f
			[[ -x $f ]] || continue
		fi
		COMPREPLY+=("$p$r")
	done < <(cd "$d" 2> /dev/null && compgen $what -- "$c")
}

# _nf_command: the word at COMP_CWORD is a command (if it is the first
# after the start index _nf_cmd) or one of its arguments.
_nf_command() {
	local c=$_nf_cur
	if ((COMP_CWORD == _nf_cmd)); then
		if [[ $c == */* ]]; then
			_nf_files '' "$c" "$_nf_dir" x
		else
			_nf_add '' "$c" $(compgen -c -- "$c" | sort -u)
		fi
	else
		_nf_files '' "$c" "$_nf_dir"
	fi
}

# _nf_scan ARGOPTS STOPATOP: read COMP_WORDS[1..COMP_CWORD-1].
#   ARGOPTS   the options that take a value: " -p -S ... --pidfile ... "
#   STOPATOP  1 when the first operand starts the COMMAND (getopt "+")
# Sets _nf_dir (-C, dequoted), _nf_S, _nf_I, _nf_ops (the operands, in
# order), _nf_cmd (the index where COMMAND starts, or 0), _nf_want (the
# option whose value the current word is, or empty) and _nf_pre (the
# text before the value in the current word: "--opt=" or "").
_nf_scan() {
	local a=${1//[[:space:]]/ } stop=$2 i w o v n=$COMP_CWORD dd=0
	_nf_dir=. _nf_S= _nf_I= _nf_ops=() _nf_cmd=0 _nf_want= _nf_pre=
	_nf_dd=0
	_nf_cur=${COMP_WORDS[COMP_CWORD]}
	i=$_nf_first
	while ((i < n)); do
		w=${COMP_WORDS[i]}
		o= v=
		if ((dd)); then
			_nf_ops+=("$w")
		elif [[ $w == -- ]]; then
			dd=1 _nf_dd=1
			((stop)) && { _nf_cmd=$((i + 1)); break; }
		elif [[ $w == --?*=* ]]; then
			o=${w%%=*} v=${w#*=}
		elif [[ $w == --?* && ${COMP_WORDS[i+1]} == = ]]; then
			# COMP_WORDBREAKS split --opt=value into three words.
			o=$w
			if ((i + 2 <= n)); then
				v=${COMP_WORDS[i+2]}
			fi
			if ((i + 1 == n)); then
				_nf_want=$o _nf_cur=
				return
			fi
			if ((i + 2 == n)); then
				_nf_want=$o
				return
			fi
			i=$((i + 2))
		elif [[ -n $w && $a == *" $w "* ]]; then
			o=$w
			if ((i + 1 == n)); then
				_nf_want=$o
				return
			fi
			i=$((i + 1))
			v=${COMP_WORDS[i]}
		elif [[ $w == -[!-]* ]]; then
			# A cluster such as -dS: a value-taking letter takes the
			# rest of the word, or the next word.
			local k=1 l
			while ((k < ${#w})); do
				l=${w:k:1}
				if [[ $a == *" -$l "* ]]; then
					o=-$l
					if ((k + 1 < ${#w})); then
						v=${w:k+1}
					elif ((i + 1 == n)); then
						_nf_want=$o
						return
					else
						i=$((i + 1))
						v=${COMP_WORDS[i]}
					fi
					break
				fi
				k=$((k + 1))
			done
		else
			_nf_ops+=("$w")
			if ((stop)); then
				_nf_cmd=$i
				break
			fi
		fi
		case $o in
		-C|--chdir) _nf_dir=$(_nf_dequote "$v") ;;
		-S|--server) _nf_S=$(_nf_dequote "$v") ;;
		-I|--id) _nf_I=$(_nf_dequote "$v") ;;
		esac
		i=$((i + 1))
	done
	[[ -z $_nf_dir ]] && _nf_dir=.
	if ((_nf_cmd)); then
		return
	fi
	if ((!dd)) && [[ $_nf_cur == --?*=* ]]; then
		_nf_want=${_nf_cur%%=*}
		_nf_pre=$_nf_want=
		_nf_cur=${_nf_cur#*=}
	elif ((!dd)) && [[ $_nf_cur == -[!-]?* ]]; then
		# -SGame, -dnsTE: the value glued to its option letter.
		local k=1 l
		while ((k < ${#_nf_cur} - 1)); do
			l=${_nf_cur:k:1}
			if [[ $a == *" -$l "* ]]; then
				_nf_want=-$l
				_nf_pre=${_nf_cur:0:k+1}
				_nf_cur=${_nf_cur:k+1}
				break
			fi
			k=$((k + 1))
		done
	fi
	# Only a COMMAND after -- or the first operand for STOPATOP.
	if ((stop && dd == 0)) && [[ $_nf_cur != -* && -z $_nf_want ]] &&
	    ((_nf_first <= n)); then
		_nf_cmd=$n
	fi
}

# _nf_value: complete the value of option $_nf_want.
_nf_value() {
	local p=$_nf_pre c=$_nf_cur
	case $_nf_want in
	-C|--chdir) _nf_files "$p" "$c" . d ;;
	-p|--pidfile|-o|--log|--ready-file|--backup|--restore)
		_nf_files "$p" "$c" "$_nf_dir" ;;
	-S|--server) _nf_servers "$p" "$c" "$_nf_dir" "$_nf_I" ;;
	-I|--id) _nf_ids "$p" "$c" "$_nf_dir" "$_nf_S" ;;
	-s|--signal) _nf_sig "$p" "$c" ;;
	-r|--retry) _nf_sched "$p" "$c" ;;
	--shm|-k|--key) _nf_keys "$p" "$c" ;;
	-u|--user) _nf_add "$p" "$c" $(compgen -u -- "$c") ;;
	esac
}

# _nf_done: hand the result to readline.
_nf_done() {
	if ((_nf_nospace)); then
		compopt -o nospace 2> /dev/null
	fi
	return 0
}

# _nf_sub CUR SUBCOMMAND...: the first word of nfpid and nfshm.
_nf_sub() {
	local c=$1
	shift
	if [[ $c == -* ]]; then
		_nf_add '' "$c" -h -V --help --version
	else
		_nf_add '' "$c" "$@"
	fi
}

_nf_start() {	# TOOL FIRST: reset the state for one completion
	COMPREPLY=()
	_nf_tool=$1 _nf_first=$2 _nf_nospace=0
}

_nf_addr_opts='-p -S -I -C --pidfile --server --id --chdir --name --shm'
_nf_common='-h -V -q -v --help --version --quiet --verbose'

_nfpid() {
	local sub a opts
	_nf_start "$1" 2
	if ((COMP_CWORD == 1)); then
		_nf_sub "${COMP_WORDS[1]}" read check remove write lock
		return 0
	fi
	sub=${COMP_WORDS[1]}
	a=" $_nf_addr_opts "
	case $sub in
	read|check|remove)
		opts="-f -q -v --force --quiet --verbose --name --shm
		    --unsafe-pidfile -C -p -S -I --chdir --pidfile --server --id"
		_nf_scan "$a" 0 ;;
	write)
		opts='-q -v --quiet --verbose -C -p --chdir --pidfile'
		_nf_scan "$a" 0 ;;
	lock)
		opts='-q -v --quiet --verbose -C -p --chdir --pidfile --'
		_nf_scan "$a" 1 ;;
	*) return 0 ;;
	esac
	if ((_nf_cmd)); then
		_nf_command
	elif [[ -n $_nf_want ]]; then
		_nf_value
	elif [[ $_nf_cur == -* ]]; then
		_nf_add '' "$_nf_cur" $opts
	fi
	_nf_done
}

_nfsignal() {
	_nf_start "$1" 1
	_nf_scan " $_nf_addr_opts -s --signal " 0
	if [[ -n $_nf_want ]]; then
		_nf_value
	elif [[ $_nf_cur == -* ]] && ((!_nf_dd)); then
		_nf_add '' "$_nf_cur" -n -s --dry-run --signal --name --shm \
		    --unsafe-pidfile -C -p -S -I --chdir --pidfile --server \
		    --id $_nf_common
	fi
	_nf_done
}

_nfwait() {
	_nf_start "$1" 1
	_nf_scan " $_nf_addr_opts -t -s -r --timeout --signal --retry " 0
	if [[ -n $_nf_want ]]; then
		_nf_value
	elif [[ $_nf_cur == -* ]] && ((!_nf_dd)); then
		_nf_add '' "$_nf_cur" -t -s -r --timeout --signal --retry --any \
		    --name --shm --unsafe-pidfile -C -p -S -I --chdir \
		    --pidfile --server --id $_nf_common
	fi
	_nf_done
}

_nfshm() {
	local sub opts a=' -p -S -I -C -t -k -u --pidfile --server --id --chdir --timeout --key --user --freeze '
	local addr='-C -S -I --chdir --server --id' n
	_nf_start "$1" 2
	if ((COMP_CWORD == 1)); then
		_nf_sub "${COMP_WORDS[1]}" key ls stat sum wait save restore rm
		return 0
	fi
	sub=${COMP_WORDS[1]}
	case $sub in
	key) opts= ;;
	ls) opts='-H -q -v -k -u --no-header --quiet --verbose --key --user' ;;
	stat|sum) opts="-q -v --quiet --verbose $addr" ;;
	wait) opts="-q -v -t --quiet --verbose --timeout $addr" ;;
	save) opts="-f -q -v --force --quiet --verbose --freeze $addr" ;;
	restore|rm) opts="-f -q -v -t --force --quiet --verbose --timeout
		    -p --pidfile $addr" ;;
	*) return 0 ;;
	esac
	_nf_scan "$a" 0
	if [[ -n $_nf_want ]]; then
		_nf_value
		_nf_done
		return 0
	fi
	if [[ $_nf_cur == -* ]] && ((!_nf_dd)); then
		_nf_add '' "$_nf_cur" $opts
		_nf_done
		return 0
	fi
	# Operands: which one is this?
	n=${#_nf_ops[@]}
	case $sub in
	key) ((n == 0)) && _nf_ids '' "$_nf_cur" "$_nf_dir" "$_nf_S" ;;
	stat|sum|wait|rm)
		((n == 0)) && [[ -z $_nf_S ]] && _nf_keys '' "$_nf_cur" ;;
	save)
		if ((n == 0)) && [[ -z $_nf_S ]]; then
			_nf_keys '' "$_nf_cur"
		elif ((n <= 1)); then
			_nf_files '' "$_nf_cur" "$_nf_dir"
		fi ;;
	restore)
		if ((n == 0)); then
			_nf_files '' "$_nf_cur" "$_nf_dir"
		elif ((n == 1)) && [[ -z $_nf_S ]]; then
			_nf_keys '' "$_nf_cur"
		fi ;;
	esac
	_nf_done
}

_nfrestart() {
	_nf_start "$1" 1
	_nf_scan " $_nf_addr_opts -s -t -r -o --signal --timeout --retry --log
	    --ready-file --ready-tcp --ready-fd --ready-timeout --backup --keep
	    --restore " 1
	if ((_nf_cmd)); then
		_nf_command
	elif [[ -n $_nf_want ]]; then
		_nf_value
	elif [[ $_nf_cur == -* ]]; then
		_nf_add '' "$_nf_cur" -d -n -q -v -w -p -S -I -C -s -t -r -o \
		    --daemon --dry-run --write-pidfile --pidfile --server --id \
		    --chdir --signal --timeout --retry --log --shm --name \
		    --ready-file --ready-tcp --ready-fd --ready-timeout --new \
		    --force --backup --keep --restore \
		    --unsafe-pidfile -- -h -V --help --version --quiet --verbose
	fi
	_nf_done
}

complete -F _nfpid nfpid
complete -F _nfsignal nfsignal
complete -F _nfwait nfwait
complete -F _nfshm nfshm
complete -F _nfrestart nfrestart
