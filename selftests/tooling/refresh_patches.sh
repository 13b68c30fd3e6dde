#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/refresh-patches.sh on a scratch repository and tree: a manifest
# file grows over two patches, and the series keeps the first step as a
# diff while the second patch, which completes it, leaves it out; a later
# commit that touches the completed file stops the refresh, which then
# writes nothing. Runs on the host.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$root/selftests/lib/vmf_sh.sh"

repo=$TMP/repo tree=$TMP/tree
mkdir -p "$repo/scripts" "$repo/patches/s" "$repo/kernel"
cp "$root/scripts/refresh-patches.sh" "$root/scripts/lib.sh" "$repo/scripts/"
printf 's\tbase\tPATCH\n' >"$repo/patches/series"
: >"$repo/patches/s/series"
printf 's/Complete-f.patch\tkernel/f.c\n' >"$repo/manifest"

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
g() { git -C "$tree" "$@" >/dev/null; }
commit() { # subject
	g add -A
	g commit -q -m "$1"
}
git init -q "$tree"
echo base >"$tree/README"
commit base
g tag vmf-base
mkdir -p "$tree/kernel"
printf 'one\n' >"$tree/kernel/f.c"
echo a >"$tree/README"
commit "Start f"
printf 'one\ntwo\n' >"$tree/kernel/f.c"
echo b >"$tree/README"
commit "Complete f"
cp "$tree/kernel/f.c" "$repo/kernel/f.c"

out=$("$repo/scripts/refresh-patches.sh" "$tree" 2>&1)
rc=$?
holds "a refresh of a file built over two patches succeeds" '[ $rc = 0 ]' || echo "# $out"
p=$repo/patches/s
holds "the series lists both patches" \
	'[ "$(cat "$p/series")" = "$(printf "Start-f.patch\nComplete-f.patch")" ]'
holds "the first patch keeps its step of the manifest file" \
	'grep -q "^+++ b/kernel/f.c" "$p/Start-f.patch"'
holds "the completing patch leaves the manifest file out" \
	'! grep -q "kernel/f.c" "$p/Complete-f.patch" && grep -q "^+++ b/README" "$p/Complete-f.patch"'

printf 'one\ntwo\nthree\n' >"$tree/kernel/f.c"
commit "Touch f later"
cp "$tree/kernel/f.c" "$repo/kernel/f.c"
before=$(cd "$repo/patches" && cat s/series s/*.patch | sha1sum)
out=$("$repo/scripts/refresh-patches.sh" "$tree" 2>&1)
rc=$?
holds "a later commit that touches a completed file stops the refresh" \
	'[ $rc != 0 ] && grep -q "Touch f later changes kernel/f.c, which Complete-f.patch completes" <<<"$out"' ||
	echo "# rc $rc: $out"
holds "and the refresh wrote nothing" \
	'[ "$(cd "$repo/patches" && cat s/series s/*.patch | sha1sum)" = "$before" ]'

# A second series whose first patch gets a new subject: it stays in its
# series when that series' list names the new file, as a rename does.
repo2=$TMP/repo2 tree2=$TMP/tree2
mkdir -p "$repo2/scripts" "$repo2/patches/s" "$repo2/patches/t"
cp "$root/scripts/refresh-patches.sh" "$root/scripts/lib.sh" "$repo2/scripts/"
printf 's\tbase\tPATCH\nt\tbase\tPATCH\n' >"$repo2/patches/series"
: >"$repo2/manifest"
git init -q "$tree2"
for subject in base "S one" "T one" "T two"; do
	echo "$subject" >>"$tree2/README"
	git -C "$tree2" add -A && git -C "$tree2" commit -q -m "$subject"
	[ "$subject" = base ] && git -C "$tree2" tag vmf-base
done
echo S-one.patch >"$repo2/patches/s/series"
printf 'T-one.patch\nT-two.patch\n' >"$repo2/patches/t/series"
touch "$repo2/patches/s/S-one.patch" "$repo2/patches/t/T-one.patch" "$repo2/patches/t/T-two.patch"
GIT_SEQUENCE_EDITOR="sed -i '2s/^pick/reword/'" GIT_EDITOR="sed -i '1s/.*/T first/'" \
	git -C "$tree2" rebase -q -i vmf-base >/dev/null 2>&1
sed -i 's/^T-one.patch$/T-first.patch/' "$repo2/patches/t/series"
out=$("$repo2/scripts/refresh-patches.sh" "$tree2" 2>&1)
rc=$?
holds "a renamed first patch stays in its series when its list names it" \
	'[ $rc = 0 ] && [ "$(cat "$repo2/patches/t/series")" = "$(printf "T-first.patch\nT-two.patch")" ] &&
	 [ "$(cat "$repo2/patches/s/series")" = S-one.patch ] && [ ! -e "$repo2/patches/t/T-one.patch" ]' ||
	echo "# rc $rc: $out"
tap_done
