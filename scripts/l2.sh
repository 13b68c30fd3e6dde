#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run inside the test VM (L1): boot the same kernel as a second-level (L2)
# guest with qemu -accel kvm, run CMD there and return its exit status.
#
#   l2.sh [--smp N] [--mem MB] [--timeout S] [--file SRC[:DST]]...
#         [--cpu-flags F,...] [--append WORDS]... [--qemu-arg ARG]...
#         [--log FILE] -- CMD...
#
# The L2 root is an initramfs with busybox-static; --file copies static
# binaries or data into it. The console goes to --log (default
# l2-console.log in the run directory of vm.sh) and is checked for kernel
# splats like the L1's. --smp takes anything QEMU's -smp does (a topology
# too); --cpu-flags are added to the -cpu value (kvm-pv-ipi=off, say) and
# --append words to the L2 kernel's command line.
# QEMU's vCPU threads are named "CPU N/KVM" (debug-threads=on), so host
# tools can find and classify them while CMD runs.

set -eu -o pipefail

# No XSAVE for the L2: under nested SVM on QEMU's TCG, CPUID leaf 0xD
# reports a legacy-only XSAVE area while XCR0 features are advertised, and
# the L2 kernel WARNs in fpu__init_system_xstate() ("XSAVE consistency
# problem: size 2696 != kernel_size 576") on every boot.
# migratable=off: QEMU 7.2 passes only the KVM feature bits it has names
# for to a migratable CPU model, and -cpu host is one by default, so the
# L2 would not see the bits KVM adds (CPUID 0x40000001 EAX bit 19, PV IPI
# v2). No SVM for the L2 either: its KVM would turn SVM on at boot and
# off (STGI, EFER.SVME) at power-off, and under QEMU 7.2's TCG that
# nesting hangs L2 boots and L1 CPUs (l2.sh's retries, README.md). In
# one test VM, 2 of 10 L2 boots with SVM hung before init, and 0 of 10
# without, interleaved. L2_CPU overrides the whole -cpu value.
SMP=2 MEM=512 TIMEOUT=300 CPU=${L2_CPU:-host,-xsave,-svm,migratable=off}
LOG=${VMF_OUT:-/tmp}/l2-console.log APPEND=""
FILES=() QEMU_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--smp) SMP=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--file) FILES+=("$2"); shift 2 ;;
	--cpu-flags) CPU="$CPU,$2"; shift 2 ;;
	--append) APPEND="$APPEND $2"; shift 2 ;;
	--qemu-arg) QEMU_ARGS+=("$2"); shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "l2.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: l2.sh [options] -- CMD..." >&2; exit 2; }
# The lean kernel when the L1 runs the debug one (scripts/lib.sh).
KERNEL=${VMF_L2_KERNEL:-${VMF_KERNEL:-}}
[ -f "$KERNEL" ] || { echo "l2.sh: VMF_L2_KERNEL is not set; run me inside 'make vm'" >&2; exit 2; }
[ -c /dev/kvm ] || { echo "l2.sh: /dev/kvm missing: KVM is not available in this VM" >&2; exit 2; }

# Give the L2 the L1's TSC rate as it is now. KVM takes its default guest
# TSC rate from the L1's early calibration; under TCG that reads up to
# 0.13% below the refined rate (1997.453 and 1998.017 MHz against 2000.000
# MHz), outside KVM's 250 ppm tolerance, and with no TSC scaling in nested
# SVM KVM warns "user requested TSC rate below hardware speed" and keeps a
# guest rate that the TSC does not run at. Of 16 test VMs here that
# started L2s, the 2 with that warning had their L2s' kvm-clock stall (the
# log's timestamps stand still) and their timers stop; none of the 14
# others did.
if [[ "$CPU" != *tsc-frequency* ]]; then
	tsc_mhz=$(dmesg | sed -n -e 's/.*tsc: Refined TSC clocksource calibration: \([0-9]*\.[0-9]*\) MHz.*/\1/p' \
		-e 's/.*tsc: Detected \([0-9]*\.[0-9]*\) MHz processor.*/\1/p' | tail -n 1)
	# One kHz above it: when the early rate was more than 250 ppm off,
	# KVM scales, and without TSC scaling it takes only a rate above its
	# own (tsc_khz, the refined one); the same rate fails the vCPU's
	# creation ("user requested TSC rate below hardware speed"), as it did
	# in one test VM whose early calibration read 2094.535 MHz.
	[ -z "$tsc_mhz" ] || CPU="$CPU,tsc-frequency=$((${tsc_mhz/./} * 1000 + 1000))"
	# But QEMU 7.2 sets a rate only within 250 ppm of KVM's current one
	# (KVM_GET_TSC_KHZ: the early calibration) when KVM has no TSC scaling,
	# and otherwise refuses to start ("TSC frequency mismatch ... and TSC
	# scaling unavailable"), one kHz above or not: seen in 3 of about 15
	# test VMs whose early calibration failed ("Fast TSC calibration
	# failed": 2094.2, 2094.4 and 2094.7 MHz against 2096.0), and with
	# tsc_early_khz=2094500 on the test VM's command line. Without the
	# refined rate the L2's clock stalls: say so at once. scripts/vm.sh gives
	# the test VM the host's rate (tsc_early_khz), so this should not be
	# seen where the host's dmesg still holds its TSC rate. The early rate is
	# the last "Detected" line: "MHz TSC" follows "MHz processor" when the
	# two differ.
	early=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\.[0-9]*\) MHz \(processor\|TSC\).*/\1/p' |
		tail -n 1)
	if [ -n "$early" ] && [ -n "$tsc_mhz" ] && awk -v e="$early" -v r="$tsc_mhz" \
		'BEGIN { d = (r - e) / r * 1e6; exit !(d > 250 || d < -250) }'; then
		echo "l2.sh: this VM's early TSC calibration ($early MHz) is more than 250 ppm" \
			"off the refined one ($tsc_mhz MHz): KVM here cannot give an L2 the TSC" \
			"rate it runs at (no TSC scaling), and QEMU would not start one" >&2
		exit 125
	fi
fi

ROOT=$(mktemp -d /tmp/l2root.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$ROOT/bin/busybox"
for f in "${FILES[@]}"; do
	src=${f%%:*}
	dst=${f#*:}
	[ "$dst" != "$f" ] || dst=/bin/$(basename "$src")
	mkdir -p "$ROOT/$(dirname "$dst")"
	cp "$src" "$ROOT/$dst"
done
printf '%s\n' "$*" >"$ROOT/cmd.sh"
cat >"$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
cd /tmp
echo "VMF_L2_COMMAND" >/dev/console
# The command's output goes out on the second serial port: on the console
# it would interleave with kernel messages. Through a file first, because
# background jobs of the command must not hold a pipe open.
sh /cmd.sh >/tmp/out 2>&1
rc=$?
# Through printk, whose console writes poll the UART: l2.sh can then tell
# a command that hung from output that never came out of the tty layer.
echo "VMF_L2_DONE=$rc" >/dev/kmsg
# clocal: without it a carrier drop hangs the port up and the status is lost.
stty -F /dev/ttyS1 raw -echo clocal
{ cat /tmp/out; echo "VMF_L2_STATUS=$rc"; } >/dev/ttyS1
poweroff -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$ROOT.cpio.gz"
trap 'rm -rf "$ROOT" "$ROOT.cpio.gz" "$ROOT.out"' EXIT

# One boot; sets QEMU_RC. BOOT_HUNG=1 if the command never started: the
# L2 hung for BOOT_TIMEOUT, and then QEMU is stopped, or it reset before.
boot() {
	local start=$SECONDS pid

	BOOT_HUNG=0
	rm -f "$ROOT.out"
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -name l2,debug-threads=on \
		-accel kvm -cpu "$CPU" -smp "$SMP" -m "$MEM" \
		-kernel "$KERNEL" -initrd "$ROOT.cpio.gz" \
		-append "console=ttyS0 panic=-1 preempt=full rdinit=/init$APPEND" \
		-nographic -no-reboot -nodefaults -serial stdio -serial "file:$ROOT.out" \
		"${QEMU_ARGS[@]}" </dev/null >"$LOG" 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null && ! grep -q "$INIT_MARK" "$LOG" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$BOOT_TIMEOUT" ]; then
			BOOT_HUNG=1
			kill -TERM $pid 2>/dev/null
			break
		fi
		sleep 1
	done
	wait $pid
	QEMU_RC=$?
	# With -no-reboot, an L2 that resets itself makes QEMU exit 0.
	if [ $QEMU_RC = 0 ] && ! grep -q "$INIT_MARK" "$LOG" 2>/dev/null; then
		BOOT_HUNG=1
	fi
}

# Under QEMU's TCG, nested SVM lost events in about one L2 boot in
# three to ten while the L2 had SVM (see CPU above): the L2 hangs in early SMP bring-up or in an initcall that
# waits for an IPI, with a stock 6.12 kernel as L1 and L2 as well (3 of
# 10 boots in one measurement) as with this one. It also resets now and
# then, once 7 s into the kernel's boot and once 0.6 s after "Run /init",
# while busybox installed its links (QEMU then exits 0). A boot whose
# init does not start the command within BOOT_TIMEOUT, or that resets
# before, is retried, up to BOOT_TRIES times, and said so; anything after
# the command started (its output, its status, kernel splats) is never
# retried. The log of a hung attempt is kept next to LOG. Rarer, and
# seen once each: an L2 that hung after the command had started (not
# retried: the test fails), and an L1 CPU that stopped answering even
# NMIs during an L2 boot (an RCU stall in the L1; QEMU could not be
# killed, and the test VM's own timeout ended the run).
INIT_MARK="VMF_L2_COMMAND"
BOOT_TIMEOUT=${L2_BOOT_TIMEOUT:-120}
[ "$BOOT_TIMEOUT" -le "$TIMEOUT" ] || BOOT_TIMEOUT=$TIMEOUT
BOOT_TRIES=${L2_BOOT_TRIES:-3}
set +e
for try in $(seq 1 "$BOOT_TRIES"); do
	boot
	[ $BOOT_HUNG = 1 ] || break
	cp "$LOG" "$LOG.hung-$try"
	echo "l2.sh: L2 boot $try of $BOOT_TRIES did not start the command: it hung for" \
		"$BOOT_TIMEOUT s or reset (nested SVM under TCG, see l2.sh); log in $LOG.hung-$try" >&2
done
set -e

STATUS=$(sed -n 's/^VMF_L2_STATUS=\([0-9]*\)$/\1/p' "$ROOT.out" 2>/dev/null | tail -n 1)
grep -v '^VMF_L2_STATUS=' "$ROOT.out" 2>/dev/null || true
if [ -z "$STATUS" ]; then
	if [ $BOOT_HUNG = 1 ]; then
		echo "l2.sh: no L2 boot of $BOOT_TRIES started the command; last console lines:" >&2
	elif [ $QEMU_RC = 124 ] || [ $QEMU_RC = 137 ]; then
		done_rc=$(sed -n 's/.*VMF_L2_DONE=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1)
		if [ -n "$done_rc" ]; then
			echo "l2.sh: L2 timed out after $TIMEOUT s: the command ended (status" \
				"$done_rc) but its output never arrived; last console lines:" >&2
		else
			echo "l2.sh: L2 timed out after $TIMEOUT s, in the command; last console lines:" >&2
		fi
	else
		echo "l2.sh: L2 ended without a status (qemu exit $QEMU_RC):" >&2
	fi
	tail -n 20 "$LOG" >&2
	exit 124
fi
if ! "$(dirname "$0")/splat-check.sh" "$LOG" >&2; then
	echo "l2.sh: kernel splat in the L2 console log $LOG" >&2
	exit 126
fi
exit "$STATUS"
