#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm.sh stops a hung test VM early and says where its vCPUs were.
# Runs on the host (shape "host" in selftests/TESTS).
#
# 1. The VM's kernel logs a stall report (written to /dev/kmsg, as the
#    watcher sees only the console) and goes on printing, as a kernel
#    that re-reports its stall does: vm.sh must stop it HANG_AFTER seconds
#    later, not at the end of its budget, exit 124, and leave each vCPU's
#    RIP as a symbol of the test kernel.
# 2. A VM that merely outlives its budget is stopped the same way.
# Before the watcher, case 1 ran to its 600 s budget and recorded nothing:
# CI lost a nested group that way, its console's tail giving no CPU. A
# watcher that waited for the console to fall silent ran to the budget
# too: an L1 stalled here re-reported every 63 s for 10 minutes.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
mkdir -p "$root/out/vm"
fail=0
check() {
	if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}

# run_vm NAME QUIET TIMEOUT CMD: boot, sets run, rc and took.
run_vm() {
	local start=$SECONDS
	run=$(mktemp -d "$root/out/vm/hang-test-$1.XXXXXX")
	HANG_AFTER=$2 VM_RUN=$run "$root/scripts/vm.sh" --quiet --timeout "$3" -- "$4" \
		>"$run/vm.log" 2>&1
	rc=$?
	took=$((SECONDS - start))
}

# cpus_named RUN: every vCPU line names a symbol of the test kernel.
cpus_named() {
	local lines
	lines=$(grep -c '^CPU#[01]: [a-z_][a-z0-9_.]*+0x' "$1/hang-cpus.txt" 2>/dev/null)
	[ "${lines:-0}" = 2 ]
}

run_vm stall 15 600 \
	'echo "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks: (vm_hang.sh)" >/dev/kmsg
	 while :; do echo "vm_hang.sh: still printing" >/dev/kmsg; sleep 5; done'
check $((rc != 124)) "a VM that reported a stall, and goes on printing, ends with status 124 (got $rc)"
check $((took > 200)) "it was stopped ${took} s after boot, not at its 600 s budget (bound 200 s)"
grep -q "kernel stall" "$run/hang" 2>/dev/null
check $? "the run says why it was stopped: $(cat "$run/hang" 2>/dev/null)"
cpus_named "$run"
check $? "both vCPUs' RIPs are named: $(grep '^CPU#[0-9]*:' "$run/hang-cpus.txt" 2>/dev/null | tr '\n' ' ')"
grep -q "hung in: cmd" "$run/vm.log"
check $? "vm.sh says what the VM was doing: $(grep -m1 '^vm: ' "$run/vm.log")"
[ $fail = 0 ] && rm -rf "$run"

run_vm budget 600 40 'sleep 1000'
check $((rc != 124)) "a VM past its budget ends with status 124 (got $rc)"
grep -q "timeout after 40 s" "$run/hang" 2>/dev/null
check $? "the run says why it was stopped: $(cat "$run/hang" 2>/dev/null)"
cpus_named "$run"
check $? "both vCPUs' RIPs are named"
[ $fail = 0 ] && rm -rf "$run"
exit $fail
