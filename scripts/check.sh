#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build the kernel and the selftests, run every test of
# selftests/TESTS inside the test VM, print TAP and a last line
# "N passed, N failed, N skipped". Exits non-zero if anything failed.
#
#   --tests REGEX   only the tests whose name matches
#   --no-build      use the kernel and selftests as they are

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

FILTER="" BUILD=1
while [ $# -gt 0 ]; do
	case $1 in
	--tests) FILTER=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	*) die "unknown option $1" ;;
	esac
done

if [ $BUILD = 1 ]; then
	timed "kernel" "$VMF_ROOT/scripts/kernel.sh"
	timed "selftests build" "$VMF_ROOT/scripts/build-selftests.sh"
fi

# name timeout shape kind
mapfile -t TESTS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$VMF_ROOT/selftests/TESTS" |
	awk -v f="$FILTER" 'f == "" || $1 ~ f { print $1, $2, $3, $4 }')
[ ${#TESTS[@]} -gt 0 ] || die "no test matches '$FILTER'"

shape_args() {
	case $1 in
	-) ;;
	smp4) echo --smp 4 ;;
	smt) echo --smt ;;
	nohz) echo --append nohz_full=1 ;;
	nonpt) echo --append kvm_amd.npt=0 ;;
	host) die "shape host runs outside the VM" ;;
	*) die "unknown VM shape $1 in selftests/TESTS" ;;
	esac
}

echo "TAP version 13"
echo "1..${#TESTS[@]}"
n=0 passed=0 failed=0 skipped=0
report() { # result name reason logfile
	n=$((n + 1))
	[ -z "$4" ] || [ ! -f "$4" ] || sed 's/^/# /' "$4"
	case $1 in
	pass) echo "ok $n $2 $3"; passed=$((passed + 1)) ;;
	skip) echo "ok $n $2 # SKIP $3"; skipped=$((skipped + 1)) ;;
	*) echo "not ok $n $2 # $3"; failed=$((failed + 1)) ;;
	esac
}

# Under KASAN and lockdep in TCG, user space runs several times slower
# (vmf/vmfctl.sh: 25 of its 56 checks in 400 s).
scale=1
[ "${DEBUG:-0}" != 1 ] || scale=3

# One VM boot per group of tests: a shape, with the nested tests (kind
# "nested") in a boot of their own. Nested SVM under QEMU's TCG is the
# least reliable part of the platform (see scripts/l2.sh); a test VM that
# dies under an L2 then takes no other test with it.
groups=$(printf '%s\n' "${TESTS[@]}" |
	awk '{ print $3 ($4 == "nested" ? "/nested" : "") }' | awk '!seen[$0]++')

# boot_group GROUP RUN SPEC...: run the tests in one VM; sets vm_rc.
boot_group() {
	local group=$1 run=$2 budget=120 spec rest
	shift 2
	for spec in "$@"; do
		rest=${spec#*:}
		budget=$((budget + ${rest%%:*} + 10))
	done
	set +e
	VM_RUN=$run timed "vm ($group, $# tests)" "$VMF_ROOT/scripts/vm.sh" --quiet \
		$(shape_args "${group%/nested}") --timeout "$budget" -- \
		"$VMF_ROOT/scripts/vm-run-tests.sh" "$FLAVOUR" "$@"
	vm_rc=$?
	set -e
}

# console_tail RUN WHAT: CI keeps only this output, not out/vm/. So say
# where the kernel first complained (a stall report's head names the
# stalled CPU, its tail does not), how it ended, and where each vCPU was
# when a hung VM was stopped.
console_tail() {
	local first
	echo "# $2"
	# splat-check.sh fails when it finds one: that is what we look for.
	first=$({ "$VMF_ROOT/scripts/splat-check.sh" "$1/console.log" || true; } |
		head -n 1 | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "# its first kernel complaint, from line $first of the console:"
		sed -n "$((first > 5 ? first - 5 : 1)),$((first + 34))p" "$1/console.log" | sed 's/^/# | /'
	fi
	echo "# the last lines of its console:"
	tail -n 40 "$1/console.log" 2>/dev/null | sed 's/^/# | /'
	if [ -f "$1/hang" ]; then
		echo "# stopped by scripts/vm.sh ($(cat "$1/hang")); its vCPUs then:"
		sed -n '/^CPU#[0-9]*:/p' "$1/hang-cpus.txt" 2>/dev/null | sed 's/^/# | /'
	fi
}

# Tests of the tooling itself (shape "host") run here, outside any VM,
# one process each, with their timeout.
run_host_group() {
	local dir spec name tmo log rc start
	dir=$OUT/vm/$(date +%Y%m%d-%H%M%S)-check-host
	mkdir -p "$dir"
	for spec in "$@"; do
		name=${spec%%:*}
		tmo=${spec#*:}
		tmo=${tmo%%:*}
		log=$dir/$(echo "$name" | tr / _).log
		# As in the VM: the benchmarks refuse the debug kernel.
		if [ "$FLAVOUR" = debug ] && [ "${spec##*:}" = bench ]; then
			report skip "$name" "bench test: the benchmarks do not run on the debug kernel" "$log"
			continue
		fi
		start=$SECONDS
		rc=0
		VMF_ROOT=$VMF_ROOT timeout -k 10 "$tmo" "$VMF_ROOT/selftests/$name" >"$log" 2>&1 || rc=$?
		case $rc in
		0) report pass "$name" "($((SECONDS - start))s)" "$log" ;;
		4) report skip "$name" "$(tail -n 1 "$log")" "$log" ;;
		124) report fail "$name" "timed out after $tmo s" "$log" ;;
		*) report fail "$name" "exit status $rc" "$log" ;;
		esac
	done
}

for group in $groups; do
	specs=()
	for t in "${TESTS[@]}"; do
		read -r name tmo s kind <<<"$t"
		[ "$kind" != nested ] || s=$s/nested
		[ "$s" = "$group" ] || continue
		specs+=("$name:$((tmo * scale)):$kind")
	done
	if [ "$group" = host ]; then
		run_host_group "${specs[@]}"
		continue
	fi
	run=$OUT/vm/$(date +%Y%m%d-%H%M%S)-check-$FLAVOUR-${group/\//-}
	boot_group "$group" "$run" "${specs[@]}"
	# Two ways the emulator, not a kernel, ends a test VM; the tests that
	# had no result then get one more boot, and the TAP output says so.
	# A second loss, or any other end, fails them.
	# - A nested group's VM that ended without a status and without a
	#   kernel splat in its console: QEMU exits when the L1 resets.
	# - A VM that scripts/vm.sh stopped as hung, with a CPU that sat on
	#   one guest instruction (same RIP, CPL 0 at a lower-half address,
	#   scripts/vm-cpus.py) while the kernel reported a lockup, or while
	#   its jiffies stood still: the L1's interrupts never made it leave
	#   the guest, which hardware cannot do. Seen under QEMU 7.2's TCG in
	#   kvm/pv_tlb_v2_test.c, its other CPU waiting in
	#   smp_call_function_many_cond() for the IPI to be taken, and in CI
	#   with both CPUs on one L2 instruction and nothing printed.
	lost=
	if [ "${group#*/}" = nested ] && [ $vm_rc = 125 ] &&
	   "$VMF_ROOT/scripts/splat-check.sh" "$run/console.log" >/dev/null; then
		lost="ended without a status and without a kernel splat"
	elif grep -Eq "stall or lockup|no timer interrupt" "$run/hang" 2>/dev/null &&
	     grep -Eq '^CPU#[0-9]+: .*, same RIP 1 s apart.*, in a guest' "$run/hang-cpus.txt"; then
		lost="hung with a CPU stuck on one guest instruction"
	fi
	reruns=()
	if [ -n "$lost" ]; then
		for spec in "${specs[@]}"; do
			grep -q "^${spec%%:*} " "$run/results" 2>/dev/null || reruns+=("$spec")
		done
	fi
	first=$run
	if [ ${#reruns[@]} -gt 0 ]; then
		console_tail "$first" "the VM of $group $lost"
		echo "# booting it once more for: ${reruns[*]%%:*}"
		run=$first-again
		boot_group "$group" "$run" "${reruns[@]}"
	fi
	splat_seen=0 told_end=0
	# A test can run in more than one shape (kvm/pv_tlb_v2_test.c in "-" and
	# "nonpt"): its TAP line names the shape unless it is the default.
	where=
	[ "${group%/nested}" = - ] || where=" [${group%/nested}]"
	for spec in "${specs[@]}"; do
		name=${spec%%:*}
		# A test has its result from the last boot of the group or the first.
		line= dir=$run
		for d in "$run" "$first"; do
			line=$(grep -m1 "^$name " "$d/results" 2>/dev/null) && dir=$d && break
		done
		logf=$dir/logs/$(echo "$name" | tr / _).log
		if [ -z "$line" ]; then
			# Say once how the VM ended.
			[ $told_end = 1 ] || console_tail "$run" "the VM ended in $name"
			told_end=1
			report fail "$name$where" "no result: the VM ended early (status $vm_rc, log $run/console.log)" "$logf"
			continue
		fi
		read -r _ result reason <<<"$line"
		[ "$dir" = "$first" ] || reason="$reason, in a second boot: the first $lost"
		[[ $reason != *"kernel splat"* ]] || splat_seen=1
		report "$result" "$name$where" "$reason" "$logf"
	done
	# A splat outside any test (boot, shutdown) fails the run too.
	if [ $vm_rc = 126 ] && [ $splat_seen = 0 ]; then
		"$VMF_ROOT/scripts/splat-check.sh" "$run/console.log" | sed 's/^/# /' || true
		n=$((n + 1)) failed=$((failed + 1))
		echo "not ok $n vm-$group # kernel splat outside the tests, see $run/console.log"
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
