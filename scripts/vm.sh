#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make vm CMD=...: boot the built kernel under qemu-system-x86_64 (TCG,
# multi-threaded, -cpu max so nested SVM and therefore KVM work inside),
# run CMD in it and return CMD's exit status.
#
#   --smp N | --smt       CPUs (default 2); --smt gives 2 SMT siblings
#   --mem MB              memory (default 4096)
#   --timeout S           bound on the whole run (default 600)
#   --accel kvm|tcg|auto  QEMU's accelerator (default auto, or VMF_ACCEL):
#                         KVM when /dev/kvm can create a VM and the test
#                         kernel can run KVM on the CPU that KVM gives it,
#                         else TCG
#   --append "..."        extra kernel command-line words
#   --kernel BZIMAGE      boot this kernel instead of the built one, as L1
#                         and L2 (for comparisons with a stock kernel)
#   --quiet               do not echo the console
#   --plugin SO[,ARGS]    load this QEMU TCG plugin; QEMU then runs TCG with
#                         one thread (a plugin's inline counters are not
#                         atomic)
#
# The console log lands in out/vm/<run>/console.log (out/vm/last points
# at the newest run; VM_RUN=DIR chooses the directory). The run fails if
# the log shows a kernel splat.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

SMP=2 MEM=4096 TIMEOUT=600 APPEND="" QUIET=0 TOPO="" PLUGIN="" ACCEL=${VMF_ACCEL:-auto}
while [ $# -gt 0 ]; do
	case $1 in
	--smp) SMP=$2; shift 2 ;;
	--smt) TOPO=",sockets=1,cores=1,threads=2"; SMP=2; shift ;;
	--mem) MEM=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--accel) ACCEL=$2; shift 2 ;;
	--append) APPEND="$APPEND $2"; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	--plugin) PLUGIN=$2; shift 2 ;;
	--kernel) BZIMAGE=$(realpath "$2"); L2_BZIMAGE=$BZIMAGE; shift 2 ;;
	--) shift; break ;;
	*) die "unknown option $1" ;;
	esac
done
[ $# -gt 0 ] || die "usage: vm.sh [options] -- CMD..."
[ -f "$BZIMAGE" ] || die "no kernel at $BZIMAGE; run 'make kernel' first"

# KVM when /dev/kvm can create a VM: a node without hardware behind it, or
# without permission, cannot. With -cpu max the test VM then gets the host
# CPU's own virtualization, which its KVM must drive for the nested tests:
# SVM always (kvm_amd), VMX only if the test kernel has KVM_INTEL.
kvm_usable() {
	python3 - 2>/dev/null <<-'EOF' || return 1
	import fcntl, os
	fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
	assert fcntl.ioctl(fd, 0xAE00) == 12    # KVM_GET_API_VERSION
	os.close(fcntl.ioctl(fd, 0xAE01, 0))    # KVM_CREATE_VM
	EOF
	grep -qw svm /proc/cpuinfo ||
		grep -q '^CONFIG_KVM_INTEL=y' "$(dirname "$BZIMAGE")/../../../.config" 2>/dev/null
}
case $ACCEL in
auto) if kvm_usable; then ACCEL=kvm; else ACCEL=tcg; fi ;;
kvm) kvm_usable || die "--accel kvm: /dev/kvm cannot create a VM here, or the test kernel cannot run KVM on this CPU" ;;
tcg) ;;
*) die "--accel takes kvm, tcg or auto, not '$ACCEL'" ;;
esac
QEMU_ACCEL=tcg,thread=multi
[ "$ACCEL" = tcg ] || QEMU_ACCEL=kvm
PLUGIN_ARGS=()
if [ -n "$PLUGIN" ]; then
	[ "$ACCEL" = tcg ] || die "--plugin needs TCG (--accel tcg)"
	QEMU_ACCEL=tcg,thread=single
	PLUGIN_ARGS=(-plugin "$PLUGIN")
fi

# VM_RUN names the run directory for callers that read it afterwards:
# out/vm/last may already point at another run by then.
RUN=${VM_RUN:-$OUT/vm/$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$RUN"
ln -sfn "$RUN" "$OUT/vm/last"
echo "$ACCEL" >"$RUN/accel"
# One argument is a command line for the VM's shell, as make vm passes it;
# several are one command and its arguments, quoted here for that shell.
if [ $# -eq 1 ]; then
	printf '%s\n' "$1" >"$RUN/cmd.sh"
else
	q="'\\''"
	for arg; do printf "'%s' " "${arg//\'/$q}"; done >"$RUN/cmd.sh"
	echo >>"$RUN/cmd.sh"
fi
LOG=$RUN/console.log

# Words of the form NAME=value reach init's environment.
CMDLINE="console=ttyS0 root=/dev/root rootfstype=9p ro"
CMDLINE="$CMDLINE rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144"
# nokaslr: scripts/vm-cpus.py reads a hung VM's RIPs against System.map.
CMDLINE="$CMDLINE init=$VMF_ROOT/scripts/vm-init.sh panic=-1 preempt=full mitigations=off nokaslr"
CMDLINE="$CMDLINE vmf_root=$VMF_ROOT vmf_kernel=$BZIMAGE vmf_l2_kernel=$L2_BZIMAGE"
# The debug kernel boots with 4-level paging: KASAN asks
# pgtable_l5_enabled(), which reads boot_cpu_data's feature bits, whether
# an address has shadow, and identify_cpu() clears those bits with
# interrupts on. An interrupt in that window reports a wild-memory-access
# on the 5-level direct map (rcu_is_watching() from irqentry_enter()),
# before any VMF code runs: 2 of 2 boots of the smt shape, 0 of 3 others.
[ "${FLAVOUR%-novmf}" != debug ] || CMDLINE="$CMDLINE no5lvl"
# TCG's guest TSC is the host's TSC, so give the test VM the host's rate:
# its own early calibration was more than 250 ppm low in about one boot
# in five here, and KVM in it then takes that rate as the default for L2
# guests, which QEMU cannot start without TSC scaling (see scripts/l2.sh).
# The host's last word on its rate is its refined calibration, else the
# "Detected ... MHz" line (TSC, or processor when the two are the same).
host_tsc=$(dmesg 2>/dev/null | sed -n \
	-e 's/.*tsc: Refined TSC clocksource calibration: \([0-9]*\)\.\([0-9]\{3\}\) MHz.*/\1\2/p' \
	-e 's/.*tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\) MHz \(processor\|TSC\).*/\1\2/p' | tail -n 1)
[ -z "$host_tsc" ] || CMDLINE="$CMDLINE tsc_early_khz=$host_tsc"
# For the same reason the test VM's TSC is as stable as the host's, but its
# clocksource watchdog compares it with an emulated HPET that a busy host
# serves late, and marked it unstable in 9 of 101 boots kept in out/vm.
# KVM in the test VM then has no master clock: it re-bases an L2's TSC at
# every vcpu_load(), so TSC deadlines fire early, and kvmclock_update_fn()
# wakes halted vCPUs every 100 ms. tsc=reliable skips the watchdog.
CMDLINE="$CMDLINE tsc=reliable"
CMDLINE="$CMDLINE $APPEND"

# A stall or lockup report fails the run, and a kernel that made one
# seldom recovers: here an L1 CPU that ran its L2 without taking the L1's
# interrupts or NMIs, reported again every 63 s until the budget ran out.
# So HANG_AFTER seconds after the first such report (time for the rest of
# it), or when the budget is spent, record where every vCPU is
# (scripts/vm-cpus.py through the monitor) and stop the VM. CI keeps only
# what check.sh prints, not this directory.
#
# When every CPU is stuck that way, no CPU is left to report a stall and
# the console just falls silent (CI: both CPUs of a kvm/pv_tlb_v2_test.c run
# on one L2 instruction for 13 minutes). The kernel's jiffies tell: the
# softlockup watchdog wakes each CPU every 4 s even when idle, so jiffies
# that stand still for STILL_AFTER seconds, once they were seen to move,
# mean that no CPU took a timer interrupt. Before stopping such a VM, send
# it an NMI and record whether jiffies moved again: the stuck CPUs seen
# here left their L2 on an NMI only.
HANG_RE='detected stalls on CPUs|self-detected stall|soft lockup|hard LOCKUP'
HANG_AFTER=${HANG_AFTER:-120}
STILL_AFTER=${STILL_AFTER:-60}
SYSTEM_MAP=$(dirname "$BZIMAGE")/../../../System.map
# Empty while the monitor is not up yet: never an error, as the watcher
# runs under set -e.
jiffies() {
	"$VMF_ROOT/scripts/vm-cpus.py" --jiffies "$RUN/monitor.sock" "$SYSTEM_MAP" 2>/dev/null || true
}
watch_vm() {
	local start=$SECONDS deadline=$((SECONDS + TIMEOUT)) stall_since= why=
	local jif= jif_moved=0 jif_since=$SECONDS jif_read=0 j
	while sleep 2; do
		# QEMU writes its pid file within seconds; gone after that, it ended.
		[ -f "$RUN/qemu.pid" ] && kill -0 "$(cat "$RUN/qemu.pid")" 2>/dev/null ||
			[ $((SECONDS - start)) -lt 30 ] || return 0
		[ -n "$stall_since" ] || ! grep -qE "$HANG_RE" "$LOG" 2>/dev/null ||
			stall_since=$SECONDS
		if [ $((SECONDS - jif_read)) -ge 10 ]; then
			jif_read=$SECONDS
			j=$(jiffies)
			if [ -n "$j" ] && [ "$j" != "$jif" ]; then
				[ -z "$jif" ] || jif_moved=1
				jif=$j jif_since=$SECONDS
			fi
		fi
		if [ $SECONDS -ge $deadline ]; then
			why="timeout after $TIMEOUT s"
		elif [ -n "$stall_since" ] && [ $((SECONDS - stall_since)) -ge "$HANG_AFTER" ]; then
			why="kernel stall or lockup reported $HANG_AFTER s before"
		elif [ $jif_moved = 1 ] && [ $((SECONDS - jif_since)) -ge "$STILL_AFTER" ]; then
			why="no timer interrupt: jiffies stood still for $STILL_AFTER s"
		else
			continue
		fi
		"$VMF_ROOT/scripts/vm-cpus.py" "$RUN/monitor.sock" "$SYSTEM_MAP" \
			>"$RUN/hang-cpus.txt" 2>&1
		if [[ $why = "no timer interrupt"* ]]; then
			"$VMF_ROOT/scripts/vm-cpus.py" --nmi "$RUN/monitor.sock" "$SYSTEM_MAP" >/dev/null 2>&1 || true
			sleep 10
			if [ "$(jiffies)" != "$jif" ]; then
				why="$why; an NMI made them move again"
			else
				why="$why; an NMI did not move them"
			fi
		fi
		echo "$why" >"$RUN/hang"
		kill "$(cat "$RUN/qemu.pid")" 2>/dev/null
		return 0
	done
}

rm -f "$RUN/hang" "$RUN/hang-cpus.txt" "$RUN/qemu.pid"
watch_vm &
WATCH_PID=$!
set +e
# The watcher stops QEMU; timeout(1) is only the last resort behind it.
timeout -k 10 $((TIMEOUT + 120)) qemu-system-x86_64 \
	-accel "$QEMU_ACCEL" "${PLUGIN_ARGS[@]}" -cpu max -smp "$SMP$TOPO" -m "$MEM" \
	-kernel "$BZIMAGE" -append "$CMDLINE" \
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
	-fsdev local,id=out,path="$RUN",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=out,mount_tag=vmfout \
	-pidfile "$RUN/qemu.pid" -monitor "unix:$RUN/monitor.sock,server=on,wait=off" \
	-nographic -no-reboot -nodefaults -serial stdio </dev/null 2>&1 |
	if [ $QUIET = 1 ]; then cat >"$LOG"; else tee "$LOG"; fi
QEMU_RC=${PIPESTATUS[0]}
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
set -e

if [ -f "$RUN/status" ]; then
	RC=$(cat "$RUN/status")
elif [ -f "$RUN/hang" ] || [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
	why=$(cat "$RUN/hang" 2>/dev/null || echo "timeout after $TIMEOUT s")
	if [ -f "$RUN/stage" ]; then
		echo "vm: $why, hung in: $(tail -n 1 "$RUN/stage")" >&2
	else
		echo "vm: $why, hung in: kernel boot (init never ran)" >&2
	fi
	RC=124
else
	echo "vm: the VM ended without an exit status (qemu exit $QEMU_RC); see $LOG" >&2
	RC=125
fi

if ! "$VMF_ROOT/scripts/splat-check.sh" "$LOG"; then
	echo "vm: kernel splat in $LOG" >&2
	[ "$RC" != 0 ] || RC=126
fi
exit "$RC"
