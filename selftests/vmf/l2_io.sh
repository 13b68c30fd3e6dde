#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# An L2 guest whose vCPUs hog every CPU of this VM still completes virtio
# I/O: its vCPU threads are classified "vm" and the rest of QEMU "vmm",
# so the QEMU threads that do the I/O only run through SCHED_VMF's vmm
# reservation, and the host's kworkers through the fair server. Also a
# long run of vm hogs, so the runner's dmesg check catches hung tasks,
# RCU stalls and soft lockups.

[ -e /proc/sys/kernel/sched_vmf_slice_us ] || { echo "SKIP: kernel without SCHED_VMF"; exit 4; }
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 4; }

vmfctl="$VMF_ROOT/scripts/vmfctl"
disk=/tmp/l2_io.img
mb=4
head -c $((mb * 1024 * 1024)) /dev/urandom >"$disk"
sum=$(md5sum <"$disk" | cut -d' ' -f1)

# The guest spins on both vCPUs and reads its disk meanwhile. The sleep
# leaves time to classify QEMU's threads once the guest has booted (a few
# seconds under TCG; the test fails if it did not happen).
guest='
for i in 1 2; do (while :; do :; done) & done
sleep 30
start=$(date +%s)
sum=$(dd if=/dev/vda bs=64k 2>/dev/null | md5sum | cut -d" " -f1)
echo "read '$mb' MiB in $(($(date +%s) - start)) s, md5 $sum"
'

# A console log of its own: an older L2's log would say VMF_L2_COMMAND too.
log=${VMF_OUT:-/tmp}/l2_io-console.log
rm -f "$log"
"$VMF_ROOT/scripts/l2.sh" --timeout 400 --smp 2 --log "$log" \
	--qemu-arg -drive --qemu-arg "file=$disk,if=virtio,format=raw" \
	-- "$guest" >/tmp/l2_io.out 2>&1 &
l2=$!

# Classify QEMU's threads once the guest runs its command: the scenario is
# I/O under vCPU hogs, not a boot whose vCPUs wait on QEMU's main loop
# (QEMU's big lock is no PI mutex, so a vm vCPU can wait behind a vmm
# thread that only gets the vmm reservation). auto's own report says
# whether it did: once the vCPUs hog both CPUs as vm, a second vmfctl run
# gets only the host's reservation and can outlast the guest.
classified=0
for i in $(seq 1 240); do
	kill -0 $l2 2>/dev/null || break
	if grep -q "VMF_L2_COMMAND" "$log" 2>/dev/null &&
	   "$vmfctl" auto >/tmp/l2_io.auto 2>&1 &&
	   grep -Eq "CPU 1/KVM +(.*-> vm|unchanged: already vm) " /tmp/l2_io.auto; then
		classified=1
		break
	fi
	sleep 1
done
cat /tmp/l2_io.auto

wait $l2
rc=$?
cat /tmp/l2_io.out
rm -f "$disk"

fail=0
if [ $classified = 1 ]; then
	echo "ok: the L2's vCPU threads were classified vm"
else
	echo "FAIL: could not classify the L2's vCPU threads"
	fail=1
fi
if [ $rc = 0 ] && grep -q "md5 $sum" /tmp/l2_io.out; then
	echo "ok: the L2 read its whole disk, contents intact, with its vCPUs hogging"
else
	echo "FAIL: the L2 guest's I/O did not complete (l2.sh status $rc)"
	fail=1
fi
exit $fail
