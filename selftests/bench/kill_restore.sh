#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A benchmark scenario killed with SIGKILL leaves the host as it found
# it. The fifo policy sets sched_rt_runtime_us to -1 (RT throttling off)
# and the scenario runs host noise (stress-ng, hackbench, gcc loops) in
# /sys/fs/cgroup/vmfbench; SIGKILL runs no finally clause, and before
# bench/scenario.py's guard process both stayed behind: RT throttling off
# for good on a real host, and the noise running on.
#
# Runs in the test VM. Checks that the scenario did change the setting
# (else this test would prove nothing), then that within 20 s of the kill
# the setting is back and the noise is gone.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$VMF_ROOT/selftests/lib/vmf_sh.sh"
vmf_sh_require bpftrace stress-ng hackbench

rt=/proc/sys/kernel/sched_rt_runtime_us
before=$(cat $rt)
python3 "$VMF_ROOT/bench/scenario.py" synthetic --out "$TMP/out" \
	--bin "$VMF_ROOT/out/bench-bin" --reps 20 --secs 5 --settle 0.2 \
	--policies fifo >"$TMP/scenario.log" 2>&1 &
pid=$!

changed=0
for _ in $(seq 240); do
	[ "$(cat $rt)" = -1 ] && [ -d /sys/fs/cgroup/vmfbench/stress ] && changed=1 && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.5
done
holds "the fifo window turned RT throttling off (was $before) and started the noise" \
	'[ $changed = 1 ]'
kill -KILL $pid
wait $pid 2>/dev/null

restored=0
for _ in $(seq 40); do
	if [ "$(cat $rt)" = "$before" ] && [ ! -d /sys/fs/cgroup/vmfbench ] &&
	   ! pgrep -x stress-ng >/dev/null && ! pgrep -x hackbench >/dev/null; then
		restored=1
		break
	fi
	sleep 0.5
done
holds "after SIGKILL, sched_rt_runtime_us is back to $before (is $(cat $rt))" \
	'[ "$(cat $rt)" = "$before" ]'
holds "after SIGKILL, the noise's cgroups are gone" '[ ! -d /sys/fs/cgroup/vmfbench ]'
holds "after SIGKILL, no stress-ng or hackbench runs" \
	'! pgrep -x stress-ng >/dev/null && ! pgrep -x hackbench >/dev/null'

# Not the guard's: the scenario's own vCPU stand-ins and bpftrace, which
# the next test must not meet.
pkill -KILL -x vcpusim 2>/dev/null
pkill -KILL -x bpftrace 2>/dev/null
# And the state a failed run leaves, so that later tests start clean.
[ $restored = 1 ] || {
	echo "$before" >$rt
	for g in /sys/fs/cgroup/vmfbench/*/; do echo 1 >"$g/cgroup.kill" 2>/dev/null; done
	sleep 1
	rmdir /sys/fs/cgroup/vmfbench/* /sys/fs/cgroup/vmfbench 2>/dev/null
}
tap_done
