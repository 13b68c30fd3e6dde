#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# refresh-patches.sh [TREE]: write the commits vmf-base..HEAD of a working
# tree of out/linux (default out/linux) back into the series of patches/.
#
# A file listed in the manifest lives in this repository as a plain file,
# in the form that the patch the manifest names gives it; scripts/kernel.sh
# writes it into the tree with that patch. Earlier patches may build it up
# step by step: their diffs to it stay in the series. Its own patch's diff
# to it is left out, as the repository holds the result, and so is any
# later change, which would be lost: an edit to the file in TREE that the
# repository lacks, or a later patch that touches it, stops the refresh.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

TREE=${1:-$LINUX}
git -C "$TREE" rev-parse -q --verify vmf-base >/dev/null || die "$TREE has no vmf-base tag"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A owner=()	# kernel path -> the patch that completes it
while read -r patch src dst; do
	if ! git -C "$TREE" show "HEAD:$dst" 2>/dev/null | cmp -s - "$VMF_ROOT/$src"; then
		die "$dst differs between $TREE and the repository; edit $src in the repository instead"
	fi
	owner[$dst]=${patch#*/}
done < <(awk '!/^[[:space:]]*(#|$)/ { print $1, $2, ($3 ? $3 : $2) }' "$VMF_ROOT/manifest")

# One commit at a time: which manifest files its diff leaves out depends
# on where it stands in the series.
declare -A completed=()	# kernel paths whose patch has been written
n=0
for c in $(git -C "$TREE" rev-list --reverse vmf-base..HEAD); do
	n=$((n + 1))
	git -C "$TREE" format-patch -q -1 -N --zero-commit --no-signature -o "$tmp/one" "$c"
	p=$(ls "$tmp/one"/*.patch)
	name=$(basename "$p" | sed 's/^[0-9]*-//')
	rm -rf "$tmp/one"
	exclude=()
	for dst in "${!completed[@]}"; do
		git -C "$TREE" diff --quiet "$c^" "$c" -- "$dst" ||
			die "$(git -C "$TREE" log -1 --format=%s "$c") changes $dst, which" \
				"${completed[$dst]} completes: fold the change into that patch"
		exclude+=(":(exclude)$dst")
	done
	for dst in "${!owner[@]}"; do
		[ "${owner[$dst]}" = "$name" ] || continue
		exclude+=(":(exclude)$dst")
		completed[$dst]=$name
	done
	git -C "$TREE" format-patch -q -1 -N --zero-commit --no-signature -o "$tmp/one" "$c" \
		-- . "${exclude[@]}"
	mv "$tmp/one"/*.patch "$tmp/$(printf %04d $n)-$name"
	rm -rf "$tmp/one"
done
for dst in "${!owner[@]}"; do
	[ -n "${completed[$dst]:-}" ] ||
		die "manifest: no commit of $TREE is ${owner[$dst]}, which completes $dst"
done

# A patch stays in the series whose list or files name it; a new one
# joins the series of the patch before it. A patch whose subject changed
# is new unless its series list already names its new file.
mapfile -t dirs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$VMF_ROOT/patches/series" |
	awk '{ print $1 }')
series_of() { # patch file name
	local d
	for d in "${dirs[@]}"; do
		if [ -e "$VMF_ROOT/patches/$d/$1" ] || grep -qxF "$1" "$VMF_ROOT/patches/$d/series"; then
			echo "$d"
			return
		fi
	done
	echo "${prev:-${dirs[0]}}"
}
prev=
for p in "$tmp"/[0-9]*.patch; do
	[ -e "$p" ] || continue
	name=$(basename "$p" | sed 's/^[0-9]*-//')
	prev=$(series_of "$name")
	echo "$name" >>"$tmp/$prev.series"
	mv "$p" "$tmp/$prev.$name"
done
for d in "${dirs[@]}"; do
	rm -f "$VMF_ROOT/patches/$d"/*.patch
	{
		sed -n '/^#/p' "$VMF_ROOT/patches/$d/series"
		cat "$tmp/$d.series" 2>/dev/null || true
	} >"$tmp/series"
	mv "$tmp/series" "$VMF_ROOT/patches/$d/series"
	for name in $(cat "$tmp/$d.series" 2>/dev/null); do
		mv "$tmp/$d.$name" "$VMF_ROOT/patches/$d/$name"
	done
	log "patches/$d: $(grep -vc '^#' "$VMF_ROOT/patches/$d/series") patches"
done
