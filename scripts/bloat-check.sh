#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bloat-check: with CONFIG_SCHED_CLASS_VMF off, the series must not
# change vmlinux text or data. Builds the series with VMF=n and, unless
# BASE_VMLINUX names one, the pristine base in its own worktree, then
# compares them with the tree's scripts/bloat-o-meter.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

VMF=n "$VMF_ROOT/scripts/kernel.sh"
novmf=$OUT/build-$FLAVOUR-novmf/vmlinux

base=${BASE_VMLINUX:-}
if [ -z "$base" ]; then
	wt=$OUT/linux-base
	[ -d "$wt" ] || git -C "$LINUX" worktree add -q --detach "$wt" vmf-base
	mkdir -p "$OUT/build-base"
	cp "$OUT/build-$FLAVOUR-novmf/.config" "$OUT/build-base/.config"
	# The base does not know the option; olddefconfig drops it.
	make -s -C "$wt" O="$OUT/build-base" olddefconfig
	CCACHE_BASEDIR=$VMF_ROOT CCACHE_NOHASHDIR=1 make -s -C "$wt" O="$OUT/build-base" \
		-j"$(($(nproc) + 1))" CC="ccache gcc" LOCALVERSION= \
		KBUILD_BUILD_USER=vmf KBUILD_BUILD_HOST=vmf vmlinux
	base=$OUT/build-base/vmlinux
fi

out=$("$LINUX/scripts/bloat-o-meter" "$base" "$novmf")
echo "$out"
total=$(echo "$out" | sed -n 's/^Total: .* (\(.*\))$/\1/p')
if echo "$out" | grep -q '^add/remove: 0/0 grow/shrink: 0/0 up/down: 0/0'; then
	echo "bloat-check: no change with CONFIG_SCHED_CLASS_VMF off"
else
	die "bloat-check: vmlinux changes with CONFIG_SCHED_CLASS_VMF off (${total:-see above})"
fi
