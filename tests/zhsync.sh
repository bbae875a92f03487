#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# Checks that the Chinese manual keeps up with the English one.
#
#   zhsync.sh [-n] [-m MANDIR] [-r README] [PAGE ... | README | terms | headings]
#
# For each English page MANDIR/PAGE (default: every MANDIR/*.[1-9]) there
# must be MANDIR/zh_CN/PAGE with
#   - the same .Dt line, whose section is the file's;
#   - as many .Sh sections, the standard ones (NAME, SYNOPSIS, EXIT STATUS
#     ...) with the same English titles in the same places: mandoc checks
#     NAME and lays out SYNOPSIS by these names (other titles may be
#     translated);
#   - every option (Fl) and subcommand (Cm) of the English SYNOPSIS in its
#     SYNOPSIS;
#   - every option and subcommand the English page documents (.It Fl ...,
#     .It Cm ...) documented the same way;
#   - every exit code of the English EXIT STATUS in its EXIT STATUS;
#   - no mandoc -Tlint -W warning message, and where groff is installed,
#     no space beside full-width punctuation in what groff renders (a line
#     break inside a Chinese sentence without \*(zj or \*(zn; TERMS)
#     (neither with -n).
# README (default README.zh-CN.md beside MANDIR) must exist and name every
# tool. Without operands, every page and README are checked. Two more
# operands check what a copy of the English pages cannot pass:
#   terms     no page and not README uses a word MANDIR/zh_CN/TERMS bans
#             (its lines "!WORD why");
#   headings  every section title that is not a standard one is
#             translated, and the same English title the same way on
#             every page.
# Each problem is one line on standard output, naming the page and what is
# wrong; the exit status is 1 if there was any.
set -u

nolint=0 mandir= readme=
while getopts nm:r: o; do
	case $o in
	n) nolint=1 ;;
	m) mandir=$OPTARG ;;
	r) readme=$OPTARG ;;
	*) echo "usage: zhsync.sh [-n] [-m MANDIR] [-r README]" \
	       "[PAGE ... | README]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
top=$(cd "$(dirname "$0")/.." && pwd)
: "${mandir:=$top/man}"
: "${readme:=$(dirname "$mandir")/README.zh-CN.md}"
zh=$mandir/zh_CN
bad=0

say() {
	echo "zhsync: $*"
	bad=1
}

# compare ENGLISH CHINESE ED CD: one awk pass over both pages; prints a
# message per problem (ED and CD are the names the messages use).
compare() {
	awk -v ed="$3" -v cd="$4" '
	BEGIN {
		n = split("Ac Ao Ap Aq Ar At Bc Bo Bq Brc Bro Brq Bsx Bx Cm Dc " \
		    "Do Dq Dv Dx Ec Em En Eo Er Es Ev Fa Fl Fn Fr Ft Fx Ic In " \
		    "Li Lk Ms Mt Nm No Ns Nx Oc Oo Op Ot Ox Pa Pc Pf Po Pq Qc " \
		    "Ql Qo Qq Sc So Sq St Sx Sy Ta Tn Ux Va Vt Xc Xo Xr", m, " ")
		for (i = 1; i <= n; i++)
			callable[m[i]] = 1
		n = split("| , ; : . ( ) [ ] ? !", m, " ")
		for (i = 1; i <= n; i++)
			delim[m[i]] = 1
		n = split("NAME|LIBRARY|SYNOPSIS|DESCRIPTION|CONTEXT|" \
		    "IMPLEMENTATION NOTES|RETURN VALUES|ENVIRONMENT|FILES|" \
		    "EXIT STATUS|EXAMPLES|DIAGNOSTICS|ERRORS|SEE ALSO|" \
		    "STANDARDS|HISTORY|AUTHORS|CAVEATS|BUGS|" \
		    "SECURITY CONSIDERATIONS", m, "|")
		for (i = 1; i <= n; i++)
			std[m[i]] = 1
		nk = split("synfl syncm itfl itcm exit", kind, " ")
		msg["synfl"] = "SYNOPSIS lacks option %s (in the SYNOPSIS of %s)"
		msg["syncm"] = "SYNOPSIS lacks subcommand %s (in the SYNOPSIS of %s)"
		msg["itfl"] = "option %s is not documented (no .It Fl line), as in %s"
		msg["itcm"] = "subcommand %s is not documented (no .It Cm line), as in %s"
		msg["exit"] = "EXIT STATUS lacks exit code %s (listed in %s)"
	}
	function item(k, x) {
		if (!((f, k, x) in seen)) {
			seen[f, k, x] = 1
			if (f == 1)
				list[k, ++cnt[k]] = x
		}
	}
	# the arguments of every MAC on this macro line, as items of kind K
	function args(k, mac, from,    i, a, j) {
		for (i = from; i <= NF; i++) {
			if ($i != mac && $i != "." mac)
				continue
			for (j = i + 1; j <= NF && !($j in callable); j++) {
				a = $j
				if (a in delim)
					continue
				if (mac == "Cm") {
					item(k, a)
				} else if (a ~ /^-/) {
					item(k, "-" a)
				} else {
					# -dnqvw: each letter is an option
					while (a != "") {
						item(k, "-" substr(a, 1, 1))
						a = substr(a, 2)
					}
				}
			}
			i = j - 1
		}
	}
	FNR == 1 { f++; sec = "" }
	/^\.Sh / {
		sec = substr($0, 5)
		sh[f, ++nsh[f]] = sec
		next
	}
	!/^\./ { next }
	$1 == ".Dt" { dt[f] = $0; dts[f] = $3; next }
	sec == "SYNOPSIS" { args("synfl", "Fl", 1); args("syncm", "Cm", 1) }
	$1 == ".It" && $2 == "Fl" { args("itfl", "Fl", 2) }
	$1 == ".It" && $2 == "Cm" { args("itcm", "Cm", 2) }
	sec == "EXIT STATUS" && $1 == ".It" {
		for (i = 2; i <= NF; i++)
			if ($i ~ /^[0-9]+$/)
				item("exit", $i)
	}
	END {
		if (dt[1] != dt[2])
			printf "zhsync: %s: .Dt is \047%s\047, but \047%s\047 in %s\n",
			    cd, dt[2], dt[1], ed
		s = cd
		sub(/.*\./, "", s)
		if (dts[2] != s)
			printf "zhsync: %s: .Dt section \047%s\047 is not the " \
			    "file\047s section %s\n", cd, dts[2], s
		if (nsh[1] != nsh[2])
			printf "zhsync: %s: %d sections (.Sh), but %d in %s\n",
			    cd, nsh[2], nsh[1], ed
		for (i = 1; i <= nsh[1] && i <= nsh[2]; i++)
			if (sh[1, i] in std && sh[2, i] != sh[1, i])
				printf "zhsync: %s: section %d is \"%s\", but " \
				    "\"%s\" in %s (standard titles stay in " \
				    "English: mandoc checks and lays out " \
				    "the page by them)\n", cd, i, sh[2, i],
				    sh[1, i], ed
		for (t = 1; t <= nk; t++) {
			k = kind[t]
			for (i = 1; i <= cnt[k]; i++)
				if (!((2, k, list[k, i]) in seen))
					printf "zhsync: %s: " msg[k] "\n", cd,
					    list[k, i], ed
		}
	}' "$1" "$2"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zhsync.XXXXXX") || exit 3
trap 'rm -rf "$tmp"' EXIT

page() {	# PAGE
	en=$mandir/$1 cn=$zh/$1
	# Messages name the pages from the manual's directory on.
	ed=${mandir##*/}/$1 cd=${mandir##*/}/zh_CN/$1
	if [ ! -f "$en" ]; then
		say "$ed: no such English page"
		return
	fi
	if [ ! -f "$cn" ]; then
		say "$cd: missing (the Chinese page for $ed)"
		return
	fi
	compare "$en" "$cn" "$ed" "$cd" > "$tmp/msg"
	if [ -s "$tmp/msg" ]; then
		cat "$tmp/msg"
		bad=1
	fi
	if [ "$nolint" = 0 ]; then
		if ! mandoc -Tlint -W warning "$cn" > "$tmp/lint" 2>&1; then
			say "$cd: not lint-clean (mandoc -Tlint -W warning):"
			sed 's/^/  /' "$tmp/lint"
		fi
		# A space that groff (man on Linux) shows beside a full-width
		# punctuation mark, other than a line's indent.
		if command -v groff > /dev/null 2>&1; then
			LC_ALL=C.UTF-8 groff -K utf8 -mandoc -Tutf8 -P-cbou \
			    "$cn" 2> /dev/null |
			    grep -n '[，。；：、！？）] \|[^ ] [，。；：、！？（）]' \
			    > "$tmp/sp"
			if [ -s "$tmp/sp" ]; then
				say "$cd: a space beside full-width punctuation" \
				    "where groff renders it (end the line before" \
				    "it with \\*(zj or \\*(zn, TERMS):"
				sed 's/^/  /' "$tmp/sp"
			fi
		fi
	fi
}

terms() {
	t=$zh/TERMS
	[ -f "$t" ] || { say "${t##*/}: missing"; return; }
	grep '^!' "$t" | while read -r w why; do
		w=${w#!}
		for f in "$zh"/*.[1-9] "$readme"; do
			[ -f "$f" ] || continue
			grep -n -- "$w" "$f" | while IFS= read -r l; do
				echo "zhsync: ${f##*/}:${l%%:*}: \"$w\": $why"
			done
		done
	done > "$tmp/terms"
	if [ -s "$tmp/terms" ]; then
		cat "$tmp/terms"
		bad=1
	fi
}

headings() {
	for en in "$mandir"/*.[1-9]; do
		cn=$zh/${en##*/}
		[ -f "$cn" ] || continue
		for m in Sh Ss; do
			# the titles of both pages, in order: "EN<TAB>ZH"
			sed -n "s/^\.$m //p" "$en" > "$tmp/e"
			sed -n "s/^\.$m //p" "$cn" > "$tmp/c"
			[ "$(wc -l < "$tmp/e")" = "$(wc -l < "$tmp/c")" ] || {
				echo "zhsync: zh_CN/${en##*/}: $(wc -l < "$tmp/c") .$m," \
				    "but $(wc -l < "$tmp/e") in ${en##*/}"
				continue; }
			paste "$tmp/e" "$tmp/c" | sed "s|^|${en##*/}	|"
		done
	done > "$tmp/pairs"
	grep '^zhsync: ' "$tmp/pairs" > "$tmp/h"
	grep -v '^zhsync: ' "$tmp/pairs" | awk -F '\t' '
	BEGIN {
		n = split("NAME|LIBRARY|SYNOPSIS|DESCRIPTION|CONTEXT|" \
		    "IMPLEMENTATION NOTES|RETURN VALUES|ENVIRONMENT|FILES|" \
		    "EXIT STATUS|EXAMPLES|DIAGNOSTICS|ERRORS|SEE ALSO|" \
		    "STANDARDS|HISTORY|AUTHORS|CAVEATS|BUGS|" \
		    "SECURITY CONSIDERATIONS", m, "|")
		for (i = 1; i <= n; i++)
			std[m[i]] = 1
	}
	$2 in std { next }
	$3 !~ /[^ -~]/ {
		printf "zhsync: zh_CN/%s: section \"%s\" is left in English " \
		    "(only the standard titles stay: TERMS)\n", $1, $3
		next
	}
	{
		k = toupper($2)
		if (k in zh && zh[k] != $3)
			printf "zhsync: zh_CN/%s: \"%s\" is \"%s\" here but " \
			    "\"%s\" in zh_CN/%s (one title, one translation: " \
			    "TERMS)\n", $1, $2, $3, zh[k], pg[k]
		else if (!(k in zh)) {
			zh[k] = $3
			pg[k] = $1
		}
	}' >> "$tmp/h"
	if [ -s "$tmp/h" ]; then
		cat "$tmp/h"
		bad=1
	fi
}

readme() {
	rd=${readme##*/}
	if [ ! -f "$readme" ]; then
		say "$rd: missing"
		return
	fi
	for en in "$mandir"/*.[1-9]; do
		t=$(basename "$en")
		t=${t%.*}
		case $t in nfhandoff) continue ;; esac
		# nfrestart must be named on its own, not only in nfrestart.exe.
		if [ "$t" = nfrestart ]; then
			sed 's/nfrestart\.exe//g' "$readme"
		else
			cat "$readme"
		fi | grep -qF "$t" || say "$rd: does not mention $t"
	done
}

if [ $# -eq 0 ]; then
	for en in "$mandir"/*.[1-9]; do
		[ -f "$en" ] && set -- "$@" "$(basename "$en")"
	done
	set -- "$@" README
fi
for p in "$@"; do
	case $p in
	README) readme ;;
	terms) terms ;;
	headings) headings ;;
	*) page "$p" ;;
	esac
done
exit $bad
