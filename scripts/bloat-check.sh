#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bloat-check: with CONFIG_SCHED_CLASS_VMF off, the series must not
# change vmlinux text or data. Builds the series with VMF=n and, unless
# BASE_VMLINUX names one, its base (scripts/build-base.sh: the series
# before its first VMF patch), then compares them with the tree's
# scripts/bloat-o-meter.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

VMF=n "$VMF_ROOT/scripts/kernel.sh"
novmf=$OUT/build-$FLAVOUR-novmf/vmlinux

base=${BASE_VMLINUX:-$("$VMF_ROOT/scripts/build-base.sh")}

out=$("$LINUX/scripts/bloat-o-meter" "$base" "$novmf")
echo "$out"
total=$(echo "$out" | sed -n 's/^Total: .* (\(.*\))$/\1/p')
if echo "$out" | grep -q '^add/remove: 0/0 grow/shrink: 0/0 up/down: 0/0'; then
	echo "bloat-check: no change with CONFIG_SCHED_CLASS_VMF off"
else
	die "bloat-check: vmlinux changes with CONFIG_SCHED_CLASS_VMF off (${total:-see above})"
fi
