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
# 2. A VM that merely outlives its budget is stopped the same way; idle
#    all along, it is not taken for one whose jiffies stood still.
# 3. A VM whose jiffies stand still (paused through the monitor, which
#    stops its clock as an L1 CPU stuck in its L2 with no timer interrupt
#    does, and prints nothing, as that L1 did in CI) is stopped
#    STILL_AFTER seconds later, says so, and names its vCPUs.
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

# pause_when_running RUN: stop the VM's vCPUs once its command runs, and
# the watcher, reading jiffies every 10 s, has seen them move: it trusts
# the address only then.
pause_when_running() {
	local i
	for i in $(seq 300); do
		grep -qx cmd "$1/stage" 2>/dev/null && [ -S "$1/monitor.sock" ] && break
		sleep 1
	done
	sleep 25
	python3 - "$1/monitor.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"stop\n")
time.sleep(1)
PY
}

# run_vm NAME QUIET TIMEOUT CMD [pause]: boot, sets run, rc and took.
run_vm() {
	local start=$SECONDS pauser=
	run=$(mktemp -d "$root/out/vm/hang-test-$1.XXXXXX")
	if [ "$5" = pause ]; then
		pause_when_running "$run" &
		pauser=$!
	fi
	HANG_AFTER=$2 STILL_AFTER=20 VM_RUN=$run "$root/scripts/vm.sh" --quiet \
		--timeout "$3" -- "$4" >"$run/vm.log" 2>&1
	rc=$?
	[ -z "$pauser" ] || wait "$pauser"
	took=$((SECONDS - start))
}

# cpus_named RUN: a line for each vCPU, and each that was in the kernel
# names a symbol of the test kernel; one that was in user space (the
# command's own loop) has only its address, and at least one is named.
cpus_named() {
	local lines named kernel_raw
	lines=$(grep -c '^CPU#[01]: ' "$1/hang-cpus.txt" 2>/dev/null)
	named=$(grep -c '^CPU#[01]: [a-z_][a-z0-9_.]*+0x' "$1/hang-cpus.txt" 2>/dev/null)
	kernel_raw=$(grep -c '^CPU#[01]: 0xffff' "$1/hang-cpus.txt" 2>/dev/null)
	[ "${lines:-0}" = 2 ] && [ "${named:-0}" -ge 1 ] && [ "${kernel_raw:-0}" = 0 ]
}

run_vm stall 15 600 \
	'echo "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks: (vm_hang.sh)" >/dev/kmsg
	 while :; do echo "vm_hang.sh: still printing" >/dev/kmsg; sleep 5; done'
check $((rc != 124)) "a VM that reported a stall, and goes on printing, ends with status 124 (got $rc)"
check $((took > 200)) "it was stopped ${took} s after boot, not at its 600 s budget (bound 200 s)"
grep -q "kernel stall" "$run/hang" 2>/dev/null
check $? "the run says why it was stopped: $(cat "$run/hang" 2>/dev/null)"
cpus_named "$run"
check $? "both vCPUs' RIPs are given, named in the kernel: $(grep '^CPU#[0-9]*:' "$run/hang-cpus.txt" 2>/dev/null | tr '\n' ' ')"
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

run_vm still 600 600 'sleep 1000' pause
check $((rc != 124)) "a VM whose jiffies stand still ends with status 124 (got $rc)"
check $((took > 180)) "it was stopped ${took} s after boot, not at its 600 s budget (bound 180 s)"
grep -q "^no timer interrupt: jiffies stood still for 20 s; an NMI did not move them$" \
	"$run/hang" 2>/dev/null
check $? "the run says why it was stopped: $(cat "$run/hang" 2>/dev/null)"
cpus_named "$run"
check $? "both vCPUs' RIPs are named"
[ $fail = 0 ] && rm -rf "$run"
exit $fail
