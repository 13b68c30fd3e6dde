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

for shape in $(printf '%s\n' "${TESTS[@]}" | awk '{ print $3 }' | awk '!seen[$0]++'); do
	specs=() budget=120
	for t in "${TESTS[@]}"; do
		read -r name tmo s kind <<<"$t"
		[ "$s" = "$shape" ] || continue
		tmo=$((tmo * scale))
		specs+=("$name:$tmo:$kind")
		budget=$((budget + tmo + 10))
	done
	run=$OUT/vm/$(date +%Y%m%d-%H%M%S)-check-$FLAVOUR-$shape
	set +e
	VM_RUN=$run timed "vm ($shape, ${#specs[@]} tests)" "$VMF_ROOT/scripts/vm.sh" --quiet \
		$(shape_args "$shape") --timeout "$budget" -- \
		"$VMF_ROOT/scripts/vm-run-tests.sh" "$FLAVOUR" "${specs[@]}"
	vm_rc=$?
	set -e
	splat_seen=0 told_end=0
	for spec in "${specs[@]}"; do
		name=${spec%%:*}
		line=$(grep -m1 "^$name " "$run/results" 2>/dev/null || true)
		logf=$run/logs/$(echo "$name" | tr / _).log
		if [ -z "$line" ]; then
			# CI keeps only this output: say once how the VM ended.
			if [ $told_end = 0 ]; then
				echo "# the VM ended in $name; the last lines of its console:"
				tail -n 40 "$run/console.log" 2>/dev/null | sed 's/^/# | /'
				told_end=1
			fi
			report fail "$name" "no result: the VM ended early (status $vm_rc, log $run/console.log)" "$logf"
			continue
		fi
		read -r _ result reason <<<"$line"
		[[ $reason != *"kernel splat"* ]] || splat_seen=1
		report "$result" "$name" "$reason" "$logf"
	done
	# A splat outside any test (boot, shutdown) fails the run too.
	if [ $vm_rc = 126 ] && [ $splat_seen = 0 ]; then
		"$VMF_ROOT/scripts/splat-check.sh" "$run/console.log" | sed 's/^/# /' || true
		n=$((n + 1)) failed=$((failed + 1))
		echo "not ok $n vm-$shape # kernel splat outside the tests, see $run/console.log"
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
