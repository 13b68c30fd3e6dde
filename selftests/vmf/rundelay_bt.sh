#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vmf-rundelay.bt works on this kernel: two vm hogs share CPU 1,
# so each waits for the other's slice, and the script, run with a 1 us
# threshold, must list waits of class vm by the hogs' PIDs, behind the
# other hog, and print a vm run-delay histogram at the end.

[ -e /proc/sys/kernel/sched_vmf_slice_us ] || { echo "SKIP: kernel without SCHED_VMF"; exit 4; }
command -v bpftrace >/dev/null || { echo "SKIP: bpftrace is not installed"; exit 4; }
# The script reads the trace events of tools/vmf_tp, which vm-run-tests.sh loads.
[ -d /sys/kernel/tracing/events/vmf ] ||
	{ echo "FAIL: no events/vmf in tracefs: tools/vmf_tp's module is not loaded"; exit 1; }

vmfctl="$VMF_ROOT/scripts/vmfctl"
out=/tmp/rundelay_bt.out
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

for i in 1 2; do
	taskset -c 1 sh -c 'while :; do :; done' &
	pids="$pids $!"
done
for p in $pids; do
	"$vmfctl" set vm --tid "$p" >/dev/null || { echo "FAIL: vmfctl set vm --tid $p"; exit 1; }
done

# bpftrace needs a while to start under TCG (minutes on the debug kernel):
# trace for 10 s once it is tracing. SIGINT (Ctrl-C) prints the maps.
bpftrace "$VMF_ROOT/scripts/vmf-rundelay.bt" 1 >"$out" 2>&1 &
bpf=$!
i=0
while [ $i -lt 300 ] && kill -0 $bpf 2>/dev/null && ! grep -q "^Tracing" "$out"; do
	sleep 1
	i=$((i + 1))
done
sleep 10
kill -INT $bpf 2>/dev/null
wait $bpf
rc=$?
cleanup
pids=""
head -n 8 "$out"
echo "..."
tail -n 25 "$out"

fail=0
check() {
	if grep -Eq "$2" "$out"; then
		echo "ok: $1"
	else
		echo "FAIL: $1"
		fail=1
	fi
}
# bpftrace exits 0 after SIGINT.
[ $rc = 0 ] || { echo "FAIL: bpftrace exited with $rc"; fail=1; }
check "a wait of a vm hog is listed" "^[0-9]+ +vm +sh +[0-9]+ +1 +[0-9]+ +sh "
check "the vm run-delay histogram is printed" "^@run_delay_us\[vm\]:"
check "no errors from bpftrace" "^Attaching [0-9]+ probes"
exit $fail
