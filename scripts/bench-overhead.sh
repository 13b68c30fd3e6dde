#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-overhead: the cost of CONFIG_SCHED_CLASS_VMF when no task
# uses it. Boots the kernel without VMF (scripts/build-base.sh, or
# BASE_BZIMAGE=) and the VMF kernel alternately (ROUNDS times each,
# default 5), runs 'perf bench sched pipe' and hackbench in each boot and
# prints the medians, their spread and the VMF/stock ratio. Timings under
# TCG are not hardware timings; only the ratio means something.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

if [ -n "${BASE_BZIMAGE:-}" ]; then
	BASE=$BASE_BZIMAGE
else
	BASE=$(dirname "$("$VMF_ROOT/scripts/build-base.sh")")/arch/x86/boot/bzImage
fi
ROUNDS=${ROUNDS:-5}
[ -f "$BZIMAGE" ] || die "no VMF kernel at $BZIMAGE; run 'make kernel' first"
dest=$OUT/bench-overhead
rm -rf "$dest"
mkdir -p "$dest"
: >"$dest/samples"

# One boot: 3 pipe runs and 3 hackbench runs, one "name value" line each,
# in the run directory (the console is not echoed).
RUNS=3
run='
for i in $(seq '$RUNS'); do
	perf bench sched pipe -l 20000 |
		awk "/usecs\/op/ { print \"pipe_us_per_op\", \$1 }" >>"$VMF_OUT/samples"
	hackbench -g 4 -l 50 2>&1 |
		awk "/^Time:/ { print \"hackbench_s\", \$2 }" >>"$VMF_OUT/samples"
done'

for r in $(seq 1 "$ROUNDS"); do
	for k in stock vmf; do
		img=$BZIMAGE
		[ $k = vmf ] || img=$BASE
		vm=$dest/$r-$k
		VM_RUN=$vm "$VMF_ROOT/scripts/vm.sh" --quiet --kernel "$img" --timeout 600 -- "$run" ||
			die "benchmark boot of the $k kernel failed, see $vm/console.log"
		[ "$(wc -l <"$vm/samples" 2>/dev/null)" = $((2 * RUNS)) ] ||
			die "the $k kernel's boot gave no complete samples, see $vm/console.log"
		sed "s/^/$k /" "$vm/samples" >>"$dest/samples"
	done
done

python3 - "$dest/samples" <<'PY'
import statistics, sys
data = {}
for line in open(sys.argv[1]):
    k, name, v = line.split()
    data.setdefault((name, k), []).append(float(v))
print(f"{'metric':<16} {'stock median':>13} {'vmf median':>11} {'vmf/stock':>10}  spread (min-max)")
for name in sorted({n for n, _ in data}):
    s, v = data[(name, 'stock')], data[(name, 'vmf')]
    ms, mv = statistics.median(s), statistics.median(v)
    print(f"{name:<16} {ms:>13.3f} {mv:>11.3f} {mv / ms:>10.3f}  "
          f"stock {min(s):.3f}-{max(s):.3f}, vmf {min(v):.3f}-{max(v):.3f} (n={len(s)})")
PY
