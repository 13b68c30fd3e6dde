#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# refresh-patches.sh [TREE]: write the commits vmf-base..HEAD of a working
# tree of out/linux (default out/linux) back into patches/ and the series.
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
rm -f "$VMF_ROOT"/patches/*.patch
{
	sed -n '/^#/p' "$VMF_ROOT/patches/series"
	for p in "$tmp"/*.patch; do
		name=$(basename "$p" | sed 's/^[0-9]*-//')
		cp "$p" "$VMF_ROOT/patches/$name"
		echo "$name"
	done
} >"$tmp/series"
mv "$tmp/series" "$VMF_ROOT/patches/series"
log "patches/: $(grep -vc '^#' "$VMF_ROOT/patches/series") patches"
