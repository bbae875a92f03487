#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make deb: bin/nfhandoff_VERSION_ARCH.deb, built with dpkg-deb from the
# static tools in bin/, the manual pages in English and Chinese, the bash
# completion and the copyright. `make all` first.
#
#   sh src/deb/build.sh [-o DIR]     write the package into DIR (bin/)
#
# The maintainer is $DEBFULLNAME <$DEBEMAIL>, or git's user.name and
# user.email, or the last commit's author; file times and the changelog date are $SOURCE_DATE_EPOCH, or
# the last commit's time, so the same tree gives the same package.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ME=build.sh
TOOLS="nfpid nfsignal nfwait nfshm nfrestart"

die() {
	echo "$ME: $*" >&2
	exit "${rc:-2}"
}

out=$TOP/bin
while getopts o: c; do
	case $c in
	o) out=$OPTARG ;;
	*) echo "usage: sh src/deb/build.sh [-o DIR]" >&2; exit 2 ;;
	esac
done
command -v dpkg-deb > /dev/null 2>&1 ||
    rc=3 die "dpkg-deb: not found (apt-get install dpkg)"
for t in $TOOLS; do
	[ -x "$TOP/bin/$t" ] || die "bin/$t: not built (make all)"
done

ver=$(sed -n 's/^#define NF_VERSION "\(.*\)"$/\1/p' "$TOP/src/lib/nf.h")
[ -n "$ver" ] || die "src/lib/nf.h: no NF_VERSION"
arch=$(dpkg --print-architecture 2> /dev/null || echo amd64)

git_() {
	git -C "$TOP" "$@" 2> /dev/null
}
name=${DEBFULLNAME:-$(git_ config user.name || :)}
mail=${DEBEMAIL:-$(git_ config user.email || :)}
if [ -n "$name" ] && [ -n "$mail" ]; then
	maint="$name <$mail>"
else
	# A fresh clone (CI) has no identity: the last commit's author; an
	# unpacked tarball has no history: the copyright holder, at an
	# address that says none is known.
	maint=$(git_ log -1 --format='%an <%ae>' || :)
	[ -n "$maint" ] || maint="The nfhandoff authors <authors@nfhandoff.invalid>"
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git_ log -1 --format=%ct ||
	    stat -c %Y "$TOP/src/lib/nf.h")
	[ -n "$SOURCE_DATE_EPOCH" ] ||
	    SOURCE_DATE_EPOCH=$(stat -c %Y "$TOP/src/lib/nf.h")
fi
export SOURCE_DATE_EPOCH
date=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")

# Static binaries carry the libc they were linked with: name its source
# package, as Debian's policy asks of statically linked packages.
built=
if ! grep -aq 'GLIBC' "$TOP/bin/nfpid" &&
    src=$(dpkg-query -W -f='${source:Package} (= ${source:Version})' \
    musl-dev 2> /dev/null) && [ -n "$src" ]; then
	built="Built-Using: $src"
fi

umask 022
stage=$(mktemp -d "${TMPDIR:-/tmp}/nfdeb.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
R=$stage/root
doc=$R/usr/share/doc/nfhandoff
mkdir -p "$R/DEBIAN" "$R/usr/bin" "$R/usr/share/man/man1" \
    "$R/usr/share/man/man7" "$doc" \
    "$R/usr/share/bash-completion/completions" \
    "$R/usr/share/lintian/overrides"

for t in $TOOLS; do
	cp "$TOP/bin/$t" "$R/usr/bin/$t"
	# The linker's .comment (compiler versions) is of no use at run time.
	if command -v objcopy > /dev/null 2>&1; then
		objcopy -R .comment "$R/usr/bin/$t"
	fi
	chmod 0755 "$R/usr/bin/$t"
done

# The systemd template unit (nfhandoff(7), SYSTEMD), and an instance's
# file as an example.
unitdir=$R/lib/systemd/system
mkdir -p "$unitdir" "$doc/examples"
sed -e 's|@BINDIR@|/usr/bin|g' -e 's|@CONFDIR@|/etc/nfhandoff|g' \
    "$TOP/src/systemd/nfserver@.service.in" > "$unitdir/nfserver@.service"
sed -e 's|@CONFDIR@|/etc/nfhandoff|g' "$TOP/src/systemd/example.conf" \
    > "$doc/examples/nfserver.conf"
chmod 0644 "$unitdir/nfserver@.service" "$doc/examples/nfserver.conf"

# man/X.S -> DIR/manS/X.S.gz, for the shipped tools and nfhandoff.7 (not
# nfrestart.exe.1: the Windows program is not in the package).
manpages() {	# SRCDIR DESTDIR
	for m in "$1"/*.1 "$1"/*.7; do
		[ -f "$m" ] || continue
		b=${m##*/}
		case $b in *.exe.*) continue ;; esac
		s=${b##*.}
		mkdir -p "$2/man$s"
		gzip -9n < "$m" > "$2/man$s/$b.gz"
		chmod 0644 "$2/man$s/$b.gz"
	done
}
manpages "$TOP/man" "$R/usr/share/man"
[ -d "$TOP/man/zh_CN" ] && manpages "$TOP/man/zh_CN" "$R/usr/share/man/zh_CN"

# One completion file, found by bash-completion under each tool's name.
comp=$R/usr/share/bash-completion/completions
cp "$TOP/src/completion/nfhandoff.bash" "$comp/nfpid"
chmod 0644 "$comp/nfpid"
for t in $TOOLS; do
	[ "$t" = nfpid ] || ln -s nfpid "$comp/$t"
done

# debian/copyright in the machine-readable format, from LICENSE.
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: nfhandoff"
	echo
	echo "Files: *"
	sed -n 's/^Copyright (c) /Copyright: /p' "$TOP/LICENSE"
	echo "License: ISC"
	echo
	echo "License: ISC"
	sed -e '1,/^Copyright/d' -e '/./,$!d' -e 's/^$/./' -e 's/^/ /' \
	    "$TOP/LICENSE"
} > "$doc/copyright"

subst() {
	sed -e "s|@VERSION@|$ver|g" -e "s|@ARCH@|$arch|g" \
	    -e "s|@MAINTAINER@|$maint|g" -e "s|@DATE@|$date|g" \
	    -e "s|@SIZE@|${size:-0}|g" "$@"
}
# The project packages itself (a native package): changelog.gz, not
# changelog.Debian.gz.
subst "$TOP/src/deb/changelog.in" | gzip -9n > "$doc/changelog.gz"
cp "$TOP/src/deb/lintian-overrides" "$R/usr/share/lintian/overrides/nfhandoff"
chmod 0644 "$doc/copyright" "$doc/changelog.gz" \
    "$R/usr/share/lintian/overrides/nfhandoff"

(cd "$R" && find usr lib -type f | LC_ALL=C sort | xargs md5sum) \
    > "$R/DEBIAN/md5sums"
size=$(du -sk "$R/usr" "$R/lib" | awk '{ s += $1 } END { print s }')
if [ -n "$built" ]; then
	subst -e "s|^@BUILTUSING@|$built\\n|" "$TOP/src/deb/control.in"
else
	subst -e "s|^@BUILTUSING@||" "$TOP/src/deb/control.in"
fi > "$R/DEBIAN/control"
chmod 0644 "$R/DEBIAN/control" "$R/DEBIAN/md5sums"
find "$R" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/nfhandoff_${ver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$R" "$deb" > /dev/null
echo "$deb"
