#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# refresh-patches.sh [TREE]: write the commits vmf-base..HEAD of a working
# tree of out/linux (default out/linux) back into the series of patches/.
#
# Files listed in the manifest live in this repository as plain files and
# are added to the tree by scripts/kernel.sh with the commit of their
# patch: they are left out of the patches, and an edit made to one in TREE
# stops the refresh, as it would be lost.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

TREE=${1:-$LINUX}
git -C "$TREE" rev-parse -q --verify vmf-base >/dev/null || die "$TREE has no vmf-base tag"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exclude=()
while read -r src dst; do
	if ! git -C "$TREE" show "HEAD:$dst" 2>/dev/null | cmp -s - "$VMF_ROOT/$src"; then
		die "$dst differs between $TREE and the repository; edit $src in the repository instead"
	fi
	exclude+=(":(exclude)$dst")
done < <(awk '!/^[[:space:]]*(#|$)/ { print $2, ($3 ? $3 : $2) }' "$VMF_ROOT/manifest")

git -C "$TREE" format-patch -q -N --zero-commit --no-signature -o "$tmp" vmf-base..HEAD \
	-- . "${exclude[@]}"
# A patch stays in the series it was in; a new one joins the series of
# the patch before it.
mapfile -t dirs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$VMF_ROOT/patches/series" |
	awk '{ print $1 }')
series_of() { # patch file name
	local d
	for d in "${dirs[@]}"; do
		[ -e "$VMF_ROOT/patches/$d/$1" ] && { echo "$d"; return; }
	done
	echo "${prev:-${dirs[0]}}"
}
prev=
for p in "$tmp"/*.patch; do
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
