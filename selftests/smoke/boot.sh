#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test VM booted the kernel that was just built, with the settings the
# other tests rely on.

fail=0
check() {
	if eval "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1"
		fail=1
	fi
}

build=$(dirname "$VMF_KERNEL")/../../..
expected=$(cat "$build/kernelrelease")
echo "running $(uname -r), built $expected"
check "running the kernel that was built" '[ "$(uname -r)" = "$expected" ]'
check "both CPUs online" '[ "$(cat /sys/devices/system/cpu/online)" = 0-1 ]'
check "preempt=full" 'grep -q "(full)" /sys/kernel/debug/sched/preempt'
check "no live code patching: CONFIG_JUMP_LABEL off" \
	'! zgrep -q "^CONFIG_JUMP_LABEL=y" /proc/config.gz'
check "BTF available" '[ -s /sys/kernel/btf/vmlinux ]'
check "cgroup2 with the cpu controller" 'grep -qw cpu /sys/fs/cgroup/cgroup.controllers'
check "sched tracepoints" '[ -d /sys/kernel/tracing/events/sched/sched_switch ]'
check "KVM (nested SVM)" '[ -c /dev/kvm ] && [ "$(cat /sys/module/kvm_amd/parameters/nested)" = 1 ]'
exit $fail
