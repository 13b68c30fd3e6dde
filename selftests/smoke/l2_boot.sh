#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# An L2 guest boots the built kernel (the lean one under a debug L1) under
# KVM inside the test VM and reports its kernel version and the paravirt
# features it enabled.

out=$("$VMF_ROOT/scripts/l2.sh" --timeout 300 -- \
	'echo "release $(uname -r)"; dmesg | grep -E "kvm-clock: Using|pv remote TLB|PV TLB flush|PV sched yield|PV IPIs|PV spinlocks"')
rc=$?
echo "$out"
if [ $rc != 0 ]; then
	echo "FAIL: the L2 guest exited with status $rc"
	exit 1
fi

fail=0
want() {
	if echo "$out" | grep -q "$2"; then
		echo "ok: L2 reports $1"
	else
		echo "FAIL: L2 does not report $1"
		fail=1
	fi
}
l2_release=$(cat "$(dirname "${VMF_L2_KERNEL:-$VMF_KERNEL}")/../../../kernelrelease")
want "the kernel release that was built ($l2_release)" "^release $l2_release\$"
want "kvm-clock" "kvm-clock: Using"
# l2.sh passes the KVM feature bits QEMU has no name for: PV TLB flush
# v2 replaces upstream's PV flush, and PV IPI v2 upstream's PV IPIs and
# its call-function yield.
want "PV TLB flush v2" "KVM setup PV TLB flush v2\$"
want "PV IPIs v2" "KVM setup PV IPIs v2\$"
want "PV IPIs v2 for call-function IPIs, with directed yield" \
	"KVM setup PV IPIs v2 for call-function IPIs, with directed yield"
want "PV spinlocks" "PV spinlocks enabled"
exit $fail
