#!/bin/sh
# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
# make dist: nfhandoff-VERSION.tar.gz, the source tree as git tracks it.
# make distcheck: that tarball, unpacked outside the tree, builds and
# passes `make check` on its own.
#
#   sh src/deb/dist.sh [-o DIR]          write the tarball into DIR (top dir)
#   sh src/deb/dist.sh --check [-o DIR]  unpack DIR's tarball in a temporary
#                                        directory and run make check there
#
# In a git checkout the tarball is `git archive HEAD` (committed files
# only: uncommitted changes are not in it) plus MANIFEST, the list of its
# files; outside one (an unpacked tarball) the files MANIFEST lists.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ME=dist.sh

die() {
	echo "$ME: $*" >&2
	exit "${rc:-2}"
}

check=0 out=$TOP
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1 ;;
	-o) [ $# -ge 2 ] || die "-o needs a directory"; out=$2; shift ;;
	*) echo "usage: sh src/deb/dist.sh [--check] [-o DIR]" >&2; exit 2 ;;
	esac
	shift
done

ver=$(sed -n 's/^#define NF_VERSION "\(.*\)"$/\1/p' "$TOP/src/lib/nf.h")
[ -n "$ver" ] || die "src/lib/nf.h: no NF_VERSION"
base=nfhandoff-$ver
tgz=$out/$base.tar.gz

if [ "$check" = 1 ]; then
	[ -f "$tgz" ] || die "$tgz: not found (make dist)"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfdistcheck.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT INT TERM
	# The suite runs the tools as another user too: they must reach the
	# tree (mktemp -d makes it 0700).
	chmod 755 "$tmp"
	tar -xzf "$tgz" -C "$tmp"
	[ -f "$tmp/$base/Makefile" ] || rc=1 die "$tgz: no $base/Makefile"
	# The unpacked tree makes the same tarball (from its MANIFEST).
	sh "$tmp/$base/src/deb/dist.sh" -o "$tmp" > /dev/null
	tar -tzf "$tgz" | grep -v '/$' | LC_ALL=C sort > "$tmp/a"
	tar -tzf "$tmp/$base.tar.gz" | grep -v '/$' | LC_ALL=C sort > "$tmp/b"
	cmp -s "$tmp/a" "$tmp/b" ||
	    rc=1 die "the unpacked tree makes another tarball: $(diff "$tmp/a" "$tmp/b")"
	rm -f "$tmp/$base.tar.gz"
	echo "$ME: make check in $tmp/$base"
	# MAKEFLAGS carries `make distcheck CC=...` down to this make.
	(cd "$tmp/$base" && make check) || rc=1 die "make check failed in $tmp/$base"
	echo "$ME: $base.tar.gz builds and passes make check on its own"
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfdist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
if git -C "$TOP" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	git -C "$TOP" ls-tree -r --name-only HEAD > "$tmp/files"
	{ cat "$tmp/files"; echo MANIFEST; } | LC_ALL=C sort > "$tmp/MANIFEST"
	chmod 0644 "$tmp/MANIFEST"
	if [ -n "$(git -C "$TOP" status --porcelain --untracked-files=no)" ]; then
		echo "$ME: note: uncommitted changes are not in the tarball" >&2
	fi
	git -C "$TOP" archive --format=tar --prefix="$base/" \
	    --add-file="$tmp/MANIFEST" HEAD > "$tmp/t.tar"
else
	[ -f "$TOP/MANIFEST" ] ||
	    die "not a git checkout and no MANIFEST: cannot tell the sources"
	while IFS= read -r f; do
		[ -e "$TOP/$f" ] || [ -L "$TOP/$f" ] || die "MANIFEST: $f: missing"
	done < "$TOP/MANIFEST"
	# The tarball's times: SOURCE_DATE_EPOCH, else MANIFEST's.
	t=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$TOP/MANIFEST")}
	(cd "$TOP" && tar -cf - --owner=0 --group=0 --numeric-owner \
	    --mtime="@$t" --sort=name --transform="s|^|$base/|SH" \
	    --no-recursion -T MANIFEST) > "$tmp/t.tar"
fi
gzip -9n < "$tmp/t.tar" > "$tmp/t.tar.gz"
mv -f "$tmp/t.tar.gz" "$tgz"
echo "$tgz"
