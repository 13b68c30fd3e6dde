#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make export: the series as 'git format-patch' mails with a cover letter
# (patches/cover-letter: subject line, blank line, body) in out/export/,
# checked with checkpatch.pl --strict and with 'git am' on a clean base.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

SERIES_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"
dest=$OUT/export
rm -rf "$dest"
git -C "$LINUX" format-patch -q --cover-letter --thread=shallow -o "$dest" vmf-base..vmf

cover=$(ls "$dest"/0000-cover-letter.patch)
subject=$(head -n 1 "$VMF_ROOT/patches/cover-letter")
python3 - "$cover" "$subject" "$VMF_ROOT/patches/cover-letter" <<'PY'
import sys
path, subject, body_file = sys.argv[1:]
body = open(body_file).read().split('\n', 1)[1].strip('\n') + '\n'
s = open(path).read()
s = s.replace('*** SUBJECT HERE ***', subject).replace('*** BLURB HERE ***', body)
open(path, 'w').write(s)
PY

"$VMF_ROOT/scripts/checkpatch.sh" >/dev/null

# git am on a throw-away worktree of the base.
wt=$OUT/export-check
git -C "$LINUX" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
git -C "$LINUX" worktree add -q --detach "$wt" vmf-base
trap 'git -C "$LINUX" worktree remove --force "$wt"' EXIT
mapfile -t mails < <(ls "$dest"/*.patch | grep -v '/0000-cover-letter.patch$')
git -C "$wt" -c user.name=check -c user.email=check@localhost am -q "${mails[@]}"
git -C "$wt" diff --quiet vmf -- || die "git am result differs from the series"
echo "out/export: $(ls "$dest" | wc -l) mails (cover letter included), applied with git am"
