#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench SCENARIOS=wakecost end to end, tiny: one round of 200 wakeups
# per policy in a VM with QEMU's insncount plugin, then the table and the
# report. The counts must be attributed to the right windows, which is what
# can go wrong with marks: each policy's own class hooks ran in its window
# (enqueue_task_rt for fifo, enqueue_task_vmf for vmf) and hardly in
# another's, and every policy's window has the hrtimer wakeups it asked
# for, the same in each. It bounds no count: counts move with the kernel.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# On the host (its shape in selftests/TESTS): the TAP helpers of
# vmf_sh.sh, without its check for a VMF kernel, which the VM boots.
. "$VMF_ROOT/selftests/lib/vmf_sh.sh"
for tool in qemu-system-x86_64 gcc python3 apt-get; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 4; }
done

out=$TMP/bench
REPS=1 SECS=1 SCENARIOS=wakecost BENCH_OUT=$out \
	"$VMF_ROOT/scripts/bench.sh" >"$TMP/run.log" 2>&1
rc=$?
comment "$TMP/run.log" | tail -n 8
dir=$(readlink -f "$out/latest")
holds "SCENARIOS=wakecost REPS=1 SECS=1 ran (exit $rc)" '[ $rc = 0 ]'
holds "it wrote the table, results.json and report.md" \
	'[ -s "$dir/wakecost/table.md" ] && [ -s "$dir/wakecost/results.json" ] && [ -s "$dir/report.md" ]'
comment "$dir/wakecost/table.md" | head -n 20

# Per policy, the instructions per cycle of a function (0 if it never ran).
per_cycle() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["policies"]
print("%.1f" % r[sys.argv[2]]["funcs"].get(sys.argv[3], 0))' "$dir/wakecost/results.json" "$1" "$2"
}
# A policy's own enqueue must dominate its window. Another class's may
# show up a little (a kernel thread of that class waking now and then),
# never at a tenth of what its own window has: shifted marks give all.
rt_fifo=$(per_cycle fifo enqueue_task_rt)
vmf_vmf=$(per_cycle vmf enqueue_task_vmf)
wakes=""
for pol in other fifo vmf; do
	rt=$(per_cycle $pol enqueue_task_rt)
	vmf=$(per_cycle $pol enqueue_task_vmf)
	wake=$(per_cycle $pol hrtimer_wakeup)
	wakes="$wakes $wake"
	echo "# $pol: instructions per cycle in enqueue_task_rt $rt, enqueue_task_vmf $vmf, hrtimer_wakeup $wake"
	rt_small=$(awk -v a="$rt" -v b="$rt_fifo" 'BEGIN { print (a * 10 < b) }')
	vmf_small=$(awk -v a="$vmf" -v b="$vmf_vmf" 'BEGIN { print (a * 10 < b) }')
	case $pol in
	other) holds "other's window ran next to none of RT's and VMF's enqueue" \
		'[ "$rt_small" = 1 ] && [ "$vmf_small" = 1 ]' ;;
	fifo) holds "fifo's window ran RT's enqueue, and next to none of VMF's" \
		'[ "$rt" != 0.0 ] && [ "$vmf_small" = 1 ]' ;;
	vmf) holds "vmf's window ran VMF's enqueue, and next to none of RT's" \
		'[ "$vmf" != 0.0 ] && [ "$rt_small" = 1 ]' ;;
	esac
done
# One hrtimer wakeup per cycle in each window: the same instructions.
holds "each window's cycles took the same hrtimer wakeups (instructions per cycle:$wakes)" \
	'echo $wakes | awk "{ lo = hi = \$1; for (i = 2; i <= NF; i++) { if (\$i < lo) lo = \$i; if (\$i > hi) hi = \$i }
		exit !(lo > 0 && hi <= 1.2 * lo) }"'
holds "the report has the wakecost section" 'grep -q "The cost of a wakeup" "$dir/report.md"'
tap_done
