# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Drives the bash completion as readline would, without a terminal:
#   bash tests/complete.bash WORD... CUR [';' WORD... CUR]...
# For each command line (lines separated by a ';' argument) it sets
# COMP_WORDS to the words (the last is the one being completed), calls the
# function registered for the first word, and prints COMPREPLY sorted, one
# per line. NF_COMPLETION names the file to load.
. "${NF_COMPLETION:-$TOP/src/completion/nfhandoff.bash}" || exit 3

# comp WORD...: one command line.
comp() {
	local fn=_${1##*/}
	complete -p "${1##*/}" > /dev/null 2>&1 && declare -F "$fn" > /dev/null || {
		echo "complete.bash: no completion for ${1##*/}" >&2
		exit 3
	}
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" ||
	    exit 3
	((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}

line=()
for w; do
	if [[ $w == ';' ]]; then
		comp "${line[@]}"
		line=()
	else
		line+=("$w")
	fi
done
comp "${line[@]}"
exit 0
