#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the latency-jitter benchmarks, and the paravirt one. Builds
# the kernel and the bench programs, then boots the test VM once per
# scenario; inside it, bench/scenario.py measures the vCPU threads under
# each policy, interleaved on the same vCPUs, or (pv-ipi, pv-tlb,
# pv-timer) the guest's IPI paths, TLB flushes or TSC-deadline programming
# in one L2 each.
# bench/report.py then writes results.json, report.md and the PNG plots to
# out/bench/<date>/ (out/bench/latest points at the newest).
#
# The policies of the vCPU threads (bench/scenario.py says why these
# settings):
#   eevdf        SCHED_OTHER at nice 0: the default
#   eevdf-slice  SCHED_OTHER at nice -20 with a 0.1 ms slice (sched_runtime)
#   fifo         SCHED_FIFO 1 with RT throttling off, the RT-KVM recipe
#   deadline     SCHED_DEADLINE, 10 ms periods, each vCPU thread an equal
#                share of what admission control leaves
#   scx          sched_ext's scx_simple (tools/sched_ext, built by
#                scripts/build-scx.sh with clang-19, installed if missing),
#                loaded in full mode for each window, the vCPUs SCHED_EXT
#   vmf          SCHED_VMF
#
#   QUICK=1         2 repetitions of 3 s instead of 5 of 10 s
#   SCENARIOS=...   a comma-separated subset of synthetic,l2,overcommit,
#                   l2-overcommit,pv-ipi,pv-tlb,pv-timer,wakecost (default:
#                   synthetic,l2,overcommit,wakecost)
#   HOST=1          measure the running kernel, on this machine, not in the
#                   test VM: for a host that booted a VMF kernel (make
#                   host-kernel). Refused on a kernel without SCHED_VMF, and
#                   without root. Builds no kernel; the l2 scenarios boot the
#                   built test kernel (make kernel) as their guest, with KVM.
#   POLICIES=...    a comma-separated subset of the policies above, for
#                   the scenarios that have policies (default: all)
#   BENCH_OUT=DIR   where out/bench/<date>/ goes (default out/bench)
#   REPS=, SECS=    override the repetitions and the window length (pv-ipi:
#                   the windows in each L2; pv-tlb: those of each page
#                   count in each L2; pv-timer: the L2s of each mode, at
#                   most 2, and its windows, at most 3 s)
#
# wakecost counts the guest kernel's instructions per wakeup cycle, by
# policy and scheduler step, with QEMU's insncount plugin
# (bench/plugin/insncount.c, bench/wakecost.c and .py) in a VM of its own:
# TCG with one thread, as the plugin's counters are not atomic. REPS
# rounds of 200 * SECS wakeups per policy.
#
# l2-overcommit and pv-ipi run only when asked for: both boot 4-vCPU L2s
# on the 2-CPU test VM, whose boots under TCG took 60 to over 120 s.
# pv-tlb too: three L2s of 3 vCPUs, each with 2 REPS windows of SECS.
# pv-timer too: four 2-vCPU L2s (two per mode) of six windows, 90-110 s
# each here.
# Of l2-overcommit: its 4-vCPU L2 on the 2-CPU test
# VM is where nested SVM under TCG breaks down: of three runs, one
# finished; once the L2 did not boot again after a reset, and once the
# whole test VM stopped during the L2's first boot, with nothing on its
# console, before any policy or noise had started.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then
	REPS=${REPS:-2} SECS=${SECS:-3} SETTLE=0.5
else
	REPS=${REPS:-5} SECS=${SECS:-10} SETTLE=1
fi
SCENARIOS=${SCENARIOS:-synthetic,l2,overcommit,wakecost}
[ "${DEBUG:-0}" != 1 ] || die "benchmarks on the DEBUG=1 kernel would measure its checkers"

BENCH_OUT=${BENCH_OUT:-$OUT/bench}
DIR=$BENCH_OUT/$(date +%Y%m%d-%H%M%S)
COMMAND="make bench${HOST:+ HOST=$HOST}${QUICK:+ QUICK=$QUICK} SCENARIOS=$SCENARIOS REPS=$REPS SECS=$SECS"
COMMAND="$COMMAND${POLICIES:+ POLICIES=$POLICIES}"
# bench/scenario.py's arguments for the policies; the scx policy's
# scheduler is built (or, HOST=1, found) below.
SCX=$OUT/scx/build/bin/scx_simple
POLICY_ARGS=(${POLICIES:+--policies "$POLICIES"})
NEED_SCX=0
case ,${POLICIES:-scx}, in
*,scx,*)
	NEED_SCX=1
	POLICY_ARGS+=(--scx "$SCX")
	;;
esac
NPOLICIES=$(echo "${POLICIES:-eevdf,eevdf-slice,fifo,deadline,scx,vmf}" | tr , '\n' | wc -l)

# HOST=1: the scenarios run here, on the running kernel, so check that it
# is one they can measure before changing anything.
if [ "${HOST:-0}" = 1 ]; then
	[ -e /proc/sys/kernel/sched_vmf_slice_us ] ||
		die "HOST=1 measures the running kernel, and $(uname -r) has no SCHED_VMF (no /proc/sys/kernel/sched_vmf_slice_us): install and boot a VMF kernel first (make host-kernel)"
	[ "$(id -u)" = 0 ] ||
		die "HOST=1 needs root: the scenarios set scheduling policies and sched_rt_runtime_us"
	for sc in ${SCENARIOS//,/ }; do
		case $sc in
		synthetic | overcommit) ;;
		wakecost) die "HOST=1 SCENARIOS=wakecost: it counts instructions under QEMU's TCG, in the test VM only" ;;
		l2 | l2-overcommit | pv-*)
			[ -f "$BZIMAGE" ] || die "HOST=1 SCENARIOS=$sc boots the test kernel as its guest: run make kernel first"
			[ -c /dev/kvm ] || die "HOST=1 SCENARIOS=$sc needs KVM, and there is no /dev/kvm"
			;;
		*) die "unknown scenario $sc" ;;
		esac
	done
	[ -x "$OUT/bench-bin/vcpusim" ] || timed "bench build" "$VMF_ROOT/scripts/build-selftests.sh"
	# Against the running kernel's BTF; one built for the test kernel
	# serves as well (its BPF is CO-RE).
	if [ $NEED_SCX = 1 ] && [ ! -x "$SCX" ]; then
		VMLINUX_BTF=/sys/kernel/btf/vmlinux timed "scx build" "$VMF_ROOT/scripts/build-scx.sh"
	fi
	mkdir -p "$DIR"
	ln -sfn "$DIR" "$BENCH_OUT/latest"
	config=$DIR/config
	if [ -r "/boot/config-$(uname -r)" ]; then
		cp "/boot/config-$(uname -r)" "$config"
	else
		zcat /proc/config.gz >"$config" 2>/dev/null || : >"$config"
	fi
	for sc in ${SCENARIOS//,/ }; do
		VMF_L2_KERNEL=$BZIMAGE timed "bench $sc" python3 "$VMF_ROOT/bench/scenario.py" "$sc" \
			--out "$DIR/$sc" --bin "$OUT/bench-bin" --reps "$REPS" --secs "$SECS" \
			--settle "$SETTLE" "${POLICY_ARGS[@]}" ||
			die "scenario $sc failed; its output is in $DIR/$sc"
	done
	timed "report" python3 "$VMF_ROOT/bench/report.py" "$DIR" \
		--config "$config" --command "$COMMAND" >/dev/null
	log "report: $DIR/report.md"
	exit 0
fi

timed "kernel" "$VMF_ROOT/scripts/kernel.sh"
timed "bench build" "$VMF_ROOT/scripts/build-selftests.sh"
if [ $NEED_SCX = 1 ]; then
	timed "scx build" "$VMF_ROOT/scripts/build-scx.sh"
fi

mkdir -p "$DIR"
ln -sfn "$DIR" "$BENCH_OUT/latest"

# The wakecost scenario: the plugin's VM, then bench/wakecost.py's table.
# The host reservation is turned on first, so that every window has it
# (the first SCHED_VMF task would turn it on in the middle otherwise).
run_wakecost() {
	local run dest=$DIR/wakecost plugin

	timed "plugin build" "$VMF_ROOT/scripts/build-plugin.sh"
	run=$OUT/vm/$(date +%Y%m%d-%H%M%S)-bench-wakecost
	mkdir -p "$run" "$dest"
	# Each function from its symbol to the next one, up to _etext.
	awk '$3 == "_stext" { on = 1 } on && $2 ~ /^[tTwW]$/ { print $1, $3 }
	     $3 == "_etext" { print $1, $3; exit }' "$KBUILD/System.map" >"$run/functions"
	plugin=$OUT/bench-bin/insncount.so,syms=$run/functions
	plugin=$plugin,mark=__x64_sys_sched_rr_get_interval,out=$run/counts
	VM_RUN=$run timed "bench wakecost" "$VMF_ROOT/scripts/vm.sh" --accel tcg --quiet \
		--timeout $((300 + REPS * SECS * 3 * 4)) --plugin "$plugin" -- \
		"sysctl -qw kernel.sched_vmf_host_reserve=1 && $OUT/bench-bin/wakecost \
		--wakeups $((200 * SECS)) --rounds $REPS >/mnt/windows" ||
		die "scenario wakecost failed; console and output in $run"
	python3 "$VMF_ROOT/bench/wakecost.py" "$run/counts" "$run/windows" \
		--json "$dest/results.json" >"$dest/table.md"
	cp "$run/console.log" "$run/windows" "$dest/"
}

for sc in ${SCENARIOS//,/ }; do
	case $sc in
	synthetic | overcommit) boot=120 ;;
	l2 | l2-overcommit) boot=900 ;;
	pv-ipi | pv-tlb | pv-timer) ;;
	wakecost) run_wakecost; continue ;;
	*) die "unknown scenario $sc" ;;
	esac
	if [ "$sc" = pv-timer ]; then
		# Up to 2 L2s per mode (bench/scenario.py caps REPS and SECS),
		# each a boot, six windows of 3 s with their settling and
		# cyclictest's margins, and the trace; half again for retries.
		budget=$(awk -v r="$REPS" 'BEGIN { n = 2 * (r < 2 ? r : 2);
			printf "%d", 120 + n * (240 + 6 * 10) * 1.5 }')
	elif [ "$sc" = pv-ipi ] || [ "$sc" = pv-tlb ]; then
		# Six L2s (pv-tlb: three, with twice the windows): a boot (30-70
		# s, l2.sh tries up to 3 of 120 s), the windows and reading the
		# trace each, and half of that again for the L2s that must be
		# booted again.
		l2s=6 wins=$REPS
		[ "$sc" = pv-ipi ] || l2s=3 wins=$((2 * REPS))
		budget=$(awk -v n="$l2s" -v r="$wins" -v s="$SECS" \
			'BEGIN { printf "%d", 120 + n * (240 + r * (s + 10)) * 1.5 }')
	else
		# The policies, a window and its settling each, plus noise
		# overrun, and 30 s to load and unload scx_simple (loads took
		# 3 to 10 s).
		budget=$(awk -v r="$REPS" -v s="$SECS" -v b="$boot" -v n="$NPOLICIES" \
			'BEGIN { printf "%d", b + n * r * (s + 8) * 2 + r * 30 }')
	fi
	run=$OUT/vm/$(date +%Y%m%d-%H%M%S)-bench-$sc
	VM_RUN=$run timed "bench $sc" "$VMF_ROOT/scripts/vm.sh" --quiet --timeout "$budget" -- \
		python3 "$VMF_ROOT/bench/scenario.py" "$sc" --out /mnt/bench \
		--bin "$OUT/bench-bin" --reps "$REPS" --secs "$SECS" --settle "$SETTLE" \
		"${POLICY_ARGS[@]}" || die "scenario $sc failed; console and output in $run"
	cp -r "$run/bench" "$DIR/$sc"
	cp "$run/console.log" "$DIR/$sc/"
done

timed "report" python3 "$VMF_ROOT/bench/report.py" "$DIR" \
	--config "$KBUILD/.config" --command "$COMMAND" >/dev/null
log "report: $DIR/report.md"
