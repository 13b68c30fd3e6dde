#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# refresh-patches.sh [TREE]: write the commits vmf-base..HEAD of a working
# tree of out/linux (default out/linux) back into patches/ and the series.
#
# Files listed in the manifest live in this repository as plain files and
# are added by scripts/kernel.sh; the commits in TREE must not contain
# them (they are ignored by the tree's .gitignore unless added with -f),
# so the patches carry only the edits to upstream files.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

TREE=${1:-$LINUX}
git -C "$TREE" rev-parse -q --verify vmf-base >/dev/null || die "$TREE has no vmf-base tag"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
manifest_paths=$(awk '!/^[[:space:]]*(#|$)/ { print ($3 ? $3 : $2) }' "$VMF_ROOT/manifest")
for f in $manifest_paths; do
	if [ -n "$(git -C "$TREE" log --format=%h vmf-base..HEAD -- "$f")" ]; then
		die "$f is in the manifest but committed in $TREE; edit it in the repository instead"
	fi
done

git -C "$TREE" format-patch -q -N --zero-commit --no-signature -o "$tmp" vmf-base..HEAD
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
