#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm.sh stops a hung test VM early and says where its vCPUs were.
# Runs on the host (shape "host" in selftests/TESTS).
#
# 1. The VM's kernel logs a stall report (written to /dev/kmsg, as the
#    watcher sees only the console) and then prints nothing: vm.sh must
#    stop it HANG_QUIET seconds later, not at the end of its budget, exit
#    124, and leave each vCPU's RIP as a symbol of the test kernel.
# 2. A VM that merely outlives its budget is stopped the same way.
# Before the watcher, case 1 ran to its 600 s budget and recorded nothing:
# CI lost a nested group that way, its console's tail giving no CPU.

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
	HANG_QUIET=$2 VM_RUN=$run "$root/scripts/vm.sh" --quiet --timeout "$3" -- "$4" \
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
	'echo "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks: (vm_hang.sh)" >/dev/kmsg; sleep 1000'
check $((rc != 124)) "a stalled, silent VM ends with status 124 (got $rc)"
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
