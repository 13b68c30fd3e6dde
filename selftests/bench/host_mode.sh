#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench HOST=1: the benchmark on the running kernel, with the test VM
# standing in for a host that booted a VMF kernel. A quick synthetic run
# writes the report, records this kernel and leaves sched_rt_runtime_us as
# it was. It refuses, having changed nothing, a kernel without SCHED_VMF
# (a mount namespace hides /proc/sys/kernel from it, as such a kernel
# would lack sched_vmf_slice_us) and a user who is not root.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$VMF_ROOT/selftests/lib/vmf_sh.sh"
vmf_sh_require bpftrace stress-ng hackbench gnuplot unshare setpriv

rt=/proc/sys/kernel/sched_rt_runtime_us
before=$(cat $rt)
out=$TMP/bench
# Three policies: the others are report.sh's, and scx would need
# scx_simple, which cannot be built in the test VM (out/ is read-only).
HOST=1 QUICK=1 REPS=1 SECS=1 SCENARIOS=synthetic POLICIES=eevdf,fifo,vmf BENCH_OUT=$out \
	"$VMF_ROOT/scripts/bench.sh" >"$TMP/run.log" 2>&1
rc=$?
comment "$TMP/run.log" | tail -n 8
dir=$(readlink -f "$out/latest")
holds "HOST=1 QUICK=1 SCENARIOS=synthetic ran (exit $rc)" '[ $rc = 0 ]'
holds "it wrote report.md, results.json and the plots" \
	'[ -s "$dir/report.md" ] && [ -s "$dir/results.json" ] && ls "$dir"/*.png >/dev/null 2>&1'
holds "results.json records the running kernel, $(uname -r)" \
	'python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(json.dumps(r).find(sys.argv[2]) < 0)" "$dir/results.json" "$(uname -r)"'
holds "the report names the HOST=1 command" 'grep -q "HOST=1" "$dir/report.md"'
holds "sched_rt_runtime_us is as it was ($before)" '[ "$(cat $rt)" = "$before" ]'

n_before=$(ls "$out" | wc -l)
unshare -m sh -c "mount -t tmpfs none /proc/sys/kernel &&
	HOST=1 QUICK=1 SCENARIOS=synthetic BENCH_OUT=$out $VMF_ROOT/scripts/bench.sh" \
	>"$TMP/novmf.log" 2>&1
rc=$?
comment "$TMP/novmf.log"
holds "a kernel without SCHED_VMF is refused (exit $rc), and says why" \
	'[ $rc != 0 ] && grep -q "HOST=1 measures the running kernel, and .* has no SCHED_VMF" "$TMP/novmf.log"'
holds "nothing was written for it" '[ "$(ls "$out" | wc -l)" = "$n_before" ]'

chmod 755 "$TMP"
setpriv --reuid=65534 --regid=65534 --clear-groups env HOST=1 QUICK=1 \
	SCENARIOS=synthetic BENCH_OUT=$out "$VMF_ROOT/scripts/bench.sh" >"$TMP/user.log" 2>&1
rc=$?
comment "$TMP/user.log"
holds "a user who is not root is refused (exit $rc), and told why" \
	'[ $rc != 0 ] && grep -q "needs root" "$TMP/user.log"'
holds "sched_rt_runtime_us is still $before" '[ "$(cat $rt)" = "$before" ]'
tap_done
