#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make host-kernel, end to end: packages built from a user's config hold an
# installable VMF kernel, and that kernel, booted in the test VM, loads KVM
# from its own modules and runs the VMF smoke tests.
#
# The "user's config" is the test kernel's (make kernel) turned into a
# host's: modules on, KVM, KVM_AMD and KVM_INTEL as modules, JUMP_LABEL on,
# no LOCALVERSION of its own, and the VMF options off, so that host-kernel
# must turn them on. A distribution config takes hours on 2 cores; this one
# takes about as long as make kernel from cold. Not in selftests/TESTS:
# CI's budget has no room for a second kernel build.
#
# Runs on the host: selftests/tooling/host_kernel.sh (TAP on stdout).

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$root/selftests/lib/vmf_sh.sh"

out=$root/out
host=$out/host
lean=$out/build-lean/.config
[ -f "$lean" ] || { echo "1..0 # SKIP run make kernel first"; exit 4; }

cfg=$TMP/user.config
cp "$lean" "$cfg"
"$out/linux/scripts/config" --file "$cfg" --enable MODULES --enable MODULE_UNLOAD \
	--module KVM --module KVM_AMD --module KVM_INTEL --enable JUMP_LABEL \
	--set-str LOCALVERSION "" --disable SCHED_CLASS_VMF --disable KVM_PV_V2 \
	--disable KVM_GUEST_PV_V2

# LOCALMODCONFIG=1 with another host's lsmod, config only: the modules
# listed stay, and VMF is on.
printf 'Module Size Used by\nkvm_amd 200000 0\nkvm 1300000 1 kvm_amd\n' >"$TMP/lsmod"
CONFIG=$cfg LOCALMODCONFIG=1 LSMOD=$TMP/lsmod CONFIG_ONLY=1 "$root/scripts/host-kernel.sh" \
	>"$TMP/lmc.log" 2>&1
rc=$?
holds "LOCALMODCONFIG=1 LSMOD=... CONFIG_ONLY=1 succeeded (exit $rc)" \
	'[ $rc = 0 ] && grep -q "after olddefconfig and localmodconfig" "$TMP/lmc.log"'
holds "it kept the listed KVM modules and turned VMF on" \
	'grep -qx CONFIG_KVM_AMD=m "$out/build-host/.config" &&
	 grep -qx CONFIG_SCHED_CLASS_VMF=y "$out/build-host/.config"'

start=$SECONDS
CONFIG=$cfg "$root/scripts/host-kernel.sh" >"$TMP/build.log" 2>&1
rc=$?
took=$((SECONDS - start))
tail -n 40 "$TMP/build.log" | comment
holds "make host-kernel succeeded (exit $rc, $took s)" '[ $rc = 0 ]'
holds "it printed the config diff, VMF on" \
	'grep -q "SCHED_CLASS_VMF n -> y" "$TMP/build.log" && grep -q "KVM_PV_V2 n -> y" "$TMP/build.log"'
[ $rc = 0 ] || { tap_done; exit 1; }

image=$(ls "$host"/linux-image-*.deb 2>/dev/null | grep -v -- -dbg_ | head -n 1)
headers=$(ls "$host"/linux-headers-*.deb 2>/dev/null | head -n 1)
holds "out/host has an image and a headers package" '[ -f "$image" ] && [ -f "$headers" ]'
rel=$(sed -n 's/^release: //p' "$host/vmf-build-info")
pkgver=$(sed -n 's/^package version: //p' "$host/vmf-build-info")
holds "the release ends in -vmf ($rel)" '[[ $rel == 6.12.*-vmf ]]'
holds "the package version names the series ($pkgver)" \
	'[ "$(dpkg-deb -f "$image" Version)" = "$pkgver" ] && [[ $pkgver == *-vmf[0-9]*+g* ]]'

dpkg-deb -c "$image" | awk '{ print $NF }' | sed 's,^\./,,' >"$TMP/contents"
for f in "boot/vmlinuz-$rel" "boot/System.map-$rel" "boot/config-$rel" \
	"lib/modules/$rel/kernel/arch/x86/kvm/kvm.ko" \
	"lib/modules/$rel/kernel/arch/x86/kvm/kvm-amd.ko" \
	"lib/modules/$rel/kernel/arch/x86/kvm/kvm-intel.ko"; do
	holds "the image package has $f" 'grep -qxF "$f" "$TMP/contents"'
done

rm -rf "$host/root"
dpkg-deb -x "$image" "$host/root"
pcfg=$host/root/boot/config-$rel
for opt in SCHED_CLASS_VMF=y KVM_PV_V2=y KVM_GUEST_PV_V2=y JUMP_LABEL=y KVM=m KVM_AMD=m KVM_INTEL=m; do
	holds "its config has CONFIG_$opt" 'grep -qx "CONFIG_$opt" "$pcfg"'
done
depmod -b "$host/root" "$rel"

# In the VM: the packaged kernel, KVM from its modules, then the smoke
# tests that need nothing but the kernel: a KVM guest runs, the class API
# works, and the paravirt hypercalls and MSR answer with their error codes.
# One vCPU: this kernel has JUMP_LABEL on, as hosts do, and QEMU's
# multi-threaded TCG races text_poke_bp() against another vCPU running the
# patched code ("Oops: int3" in about one boot in five, configs/lean.config).
smoke="smoke/kvm_run_guest vmf/api kvm/pv_ipi_v2_errors_test kvm/pv_timer_errors_test"
run=$(mktemp -d "$out/vm/host-kernel.XXXXXX")
VM_RUN=$run "$root/scripts/vm.sh" --quiet --smp 1 --timeout 900 \
	--kernel "$host/root/boot/vmlinuz-$rel" -- "
	echo release: \$(uname -r)
	modprobe -d $host/root kvm_amd nested=1 && echo kvm_amd: loaded
	[ -c /dev/kvm ] && echo /dev/kvm: present
	grep -q '^CONFIG_SCHED_CLASS_VMF=y' $pcfg && [ -d /sys/kernel/debug/sched ] && echo vmf: config
	cd $out/selftests || exit 1
	for t in $smoke; do
		timeout 300 ./\$t >/tmp/t.log 2>&1
		echo \"smoke \$t: exit \$?\"
		grep -E \"^not ok|Assertion|Failure\" /tmp/t.log | head -n 5
		tail -n 3 /tmp/t.log
	done
" >"$TMP/vm.log" 2>&1
vm_rc=$?
grep -E "^(release|kvm_amd|/dev/kvm|vmf|smoke)" "$run/console.log" | comment
holds "the VM ran (exit $vm_rc, no kernel splat)" '[ $vm_rc = 0 ]'
holds "it booted the packaged kernel" 'grep -q "^release: $rel" "$run/console.log"'
holds "kvm_amd loaded from the package's modules, /dev/kvm present" \
	'grep -q "^kvm_amd: loaded" "$run/console.log" && grep -q "^/dev/kvm: present" "$run/console.log"'
for t in $smoke; do
	holds "smoke test $t passes on it" 'grep -q "^smoke $t: exit 0" "$run/console.log"'
done
tap_done
