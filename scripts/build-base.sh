#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel VMF is compared against, in out/build-base: the series
# up to the first patch that mentions CONFIG_SCHED_CLASS_VMF. The fixes to
# upstream code before it (the fair server's) apply with the option off,
# as they should, and are not VMF's cost. Same config as the VMF=n build.
# Prints the path of its vmlinux; its bzImage is next to it.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

VMF=n "$VMF_ROOT/scripts/kernel.sh" >&2
first=$(git -C "$LINUX" log --reverse --format=%H -S SCHED_CLASS_VMF vmf-base..vmf | sed -n 1p)
[ -n "$first" ] || die "no patch of the series mentions CONFIG_SCHED_CLASS_VMF"
log "base: $(git -C "$LINUX" log -1 --format='%h %s' "$first^")"
wt=$OUT/linux-base
[ -d "$wt" ] || git -C "$LINUX" worktree add -q --detach "$wt" "$first^"
git -C "$wt" checkout -q --detach "$first^"
mkdir -p "$OUT/build-base"
cp "$OUT/build-$FLAVOUR-novmf/.config" "$OUT/build-base/.config"
# The base does not know the option; olddefconfig drops it.
make -s -C "$wt" O="$OUT/build-base" olddefconfig >&2
kbuild "$wt" "$OUT/build-base" -s -j"$(($(nproc) + 1))" vmlinux bzImage >&2
echo "$OUT/build-base/vmlinux"
