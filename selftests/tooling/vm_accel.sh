#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm.sh picks KVM when /dev/kvm can create a VM and TCG otherwise.
# Runs on the host (shape "host" in selftests/TESTS).
#
# 1. A bad --accel is refused before QEMU starts.
# 2. On a host without usable KVM (this project's test machines): --accel
#    kvm is refused with a reason, and the default boots with TCG.
# 3. Inside a test VM, where KVM works (nested SVM), vm.sh's probe says
#    KVM is usable, and says it is not once /dev/kvm is removed (the VM's
#    own devtmpfs): the probe
#    is not a constant.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
mkdir -p "$root/out/vm"
fail=0
check() {
	if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}
run=$(mktemp -d "$root/out/vm/accel-test.XXXXXX")

VM_RUN=$run/bad "$root/scripts/vm.sh" --accel fast -- true >"$run/bad.log" 2>&1
rc=$?
grep -q "accel takes kvm, tcg or auto" "$run/bad.log"
check $(($? || rc == 0)) "--accel fast is refused (status $rc): $(tail -n 1 "$run/bad.log")"
[ ! -e "$run/bad/console.log" ]
check $? "no VM was started for it"

probe="eval \"\$(sed -n '/^kvm_usable() {/,/^}/p' $root/scripts/vm.sh)\"
BZIMAGE=\$VMF_KERNEL
kvm_usable && echo usable >/mnt/out || echo unusable >/mnt/out
rm -f /dev/kvm
kvm_usable && echo usable >>/mnt/out || echo unusable >>/mnt/out"

if [ -e /dev/kvm ]; then
	echo "# this host has /dev/kvm: checks 2 and 3 assume a host without it"
else
	VM_RUN=$run/kvm "$root/scripts/vm.sh" --accel kvm -- true >"$run/kvm.log" 2>&1
	rc=$?
	grep -q "cannot create a VM" "$run/kvm.log"
	check $(($? || rc == 0)) "--accel kvm without /dev/kvm is refused (status $rc)"

	VM_RUN=$run/auto "$root/scripts/vm.sh" --quiet --timeout 300 -- bash -c "$probe" \
		>"$run/auto.log" 2>&1
	rc=$?
	check $rc "the default run boots (status $rc)"
	[ "$(cat "$run/auto/accel" 2>/dev/null)" = tcg ]
	check $? "and uses TCG here: $(cat "$run/auto/accel" 2>/dev/null)"
	got=$(tr '\n' ' ' <"$run/auto/out" 2>/dev/null)
	[ "$got" = "usable unusable " ]
	check $? "in the VM, the probe says KVM is usable, then not without access to /dev/kvm: $got"
fi
[ $fail = 0 ] && rm -rf "$run"
exit $fail
