#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm-run-tests.sh gives a KVM selftest that failed only on a vCPU's
# SHUTDOWN exit under TCG, or that timed out with a vCPU outside the
# guest's code, one replay, with the seed the test printed, and no second
# one. Runs on the host (shape "host" in selftests/TESTS), with stand-in
# tests in a scratch root that print what the real ones print:
# 1. a shutdown the first time only passes, says "replayed", names the
#    seed, and keeps the first run's log;
# 2. a shutdown every time (what a seed that makes the guest triple-fault
#    does) fails, after exactly one replay, which got the same seed;
# 3. any failure of a seeded fuzzer (it prints "replay: -s SEED") is
#    replayed the same way: the first time only passes, every time fails;
# 4. any other failure of a test that is not a fuzzer, and a shutdown
#    under KVM rather than TCG, get no replay and fail;
# 5. a test that hangs is asked where its vCPUs are (SIGUSR2): a hang
#    with a vCPU outside the guest's code the first time only passes, and
#    says so; a hang with every vCPU in the guest's code fails, unreplayed.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
check() {
	if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}

mkdir -p "$scratch/root/out/selftests/kvm" "$scratch/root/scripts" "$scratch/out"
cp "$root/scripts/vm-run-tests.sh" "$root/scripts/splat-check.sh" "$scratch/root/scripts/"
# stand_in NAME SHUTDOWNS [MESSAGE [SEED LINE]]: fails SHUTDOWNS times with
# MESSAGE (a vCPU shutdown by default), then passes; records each run's
# seed. It prints a fuzzer's seed line unless SEED LINE is "none".
stand_in() {
	local seed="# seed 0x1234abcd, 20000 calls (replay: -s 0x1234abcd -n 20000)"

	[ "${4:-}" != none ] || seed="# no seed"
	cat >"$scratch/root/out/selftests/kvm/$1" <<-INNER
	#!/bin/sh
	n=\$(cat "$scratch/$1.runs" 2>/dev/null || echo 0)
	echo \$((n + 1)) >"$scratch/$1.runs"
	echo "seed=\${PV_FUZZ_SEED:-none}" >>"$scratch/$1.seeds"
	echo "$seed"
	[ \$n -lt $2 ] || exit 0
	echo "  ${3:-vCPU 191: unexpected exit SHUTDOWN}"
	exit 254
	INNER
	chmod +x "$scratch/root/out/selftests/kvm/$1"
}
# run ACCEL TEST...: the runner as check.sh starts it in the VM.
run() {
	local accel=$1
	shift
	echo "$accel" >"$scratch/out/accel"
	VMF_ROOT=$scratch/root VMF_OUT=$scratch/out \
		sh "$scratch/root/scripts/vm-run-tests.sh" lean "$@"
}
result() {
	grep "^kvm/$1.c " "$scratch/out/results"
}

stand_in once 1
stand_in always 99
stand_in other 1 "guest assertion failed" none
stand_in fuzz_once 1 "not ok 3 every vCPU took what was sent to it, and only that"
stand_in fuzz_always 99 "not ok 1 20000 random calls returned what the ABI allows"
stand_in kvm_accel 1
run tcg kvm/once.c:20:correctness kvm/always.c:20:correctness kvm/other.c:20:correctness \
	kvm/fuzz_once.c:20:correctness kvm/fuzz_always.c:20:correctness
cat "$scratch/out/results"

r=$(result once)
check "$([[ $r == "kvm/once.c pass "*"replayed with seed 0x1234abcd"* ]]; echo $?)" \
	"a shutdown the first time only: passes, and says it was replayed with the seed"
check "$([ "$(cat "$scratch/once.runs")" = 2 ] && [ -s "$scratch/out/logs/kvm_once.c.log.first" ]; echo $?)" \
	"it ran twice, and the first run's log is kept"
check "$([ "$(sed -n 2p "$scratch/once.seeds")" = seed=0x1234abcd ]; echo $?)" \
	"the replay ran with the first run's seed"
r=$(result always)
check "$([[ $r == "kvm/always.c fail exit status 254"*replayed* ]]; echo $?)" \
	"a shutdown every time: fails after the replay"
check "$([ "$(cat "$scratch/always.runs")" = 2 ]; echo $?)" "it ran twice, not more"
r=$(result other)
check "$([[ $r == "kvm/other.c fail exit status 254"* && $r != *replayed* ]] &&
	[ "$(cat "$scratch/other.runs")" = 1 ]; echo $?)" \
	"another failure of a test that is not a fuzzer: no replay, fails"
r=$(result fuzz_once)
check "$([[ $r == "kvm/fuzz_once.c pass "*"replayed with seed 0x1234abcd after a failure of a seeded fuzzer"* ]] &&
	[ "$(sed -n 2p "$scratch/fuzz_once.seeds")" = seed=0x1234abcd ]; echo $?)" \
	"a fuzzer's count failure the first time only: passes, replayed with the seed"
r=$(result fuzz_always)
check "$([[ $r == "kvm/fuzz_always.c fail exit status 254"*replayed* ]] &&
	[ "$(cat "$scratch/fuzz_always.runs")" = 2 ]; echo $?)" \
	"a fuzzer that fails with its seed every time: fails after one replay"

# hang_stand_in NAME HANGS WHERE: hangs HANGS times, and on SIGUSR2 says
# its vCPU is WHERE ("in" or "outside") the guest's code; then passes.
hang_stand_in() {
	cat >"$scratch/root/out/selftests/kvm/$1" <<-INNER
	#!/bin/sh
	n=\$(cat "$scratch/$1.runs" 2>/dev/null || echo 0)
	echo \$((n + 1)) >"$scratch/$1.runs"
	[ \$n -lt $2 ] || exit 0
	trap 'echo "hung: vCPU 3 at RIP 0xffffffff81e3c1a0, RFLAGS 0x2, mp_state 3, $3 the guest'"'"'s code" >&2' USR2
	while :; do sleep 1; done
	INNER
	chmod +x "$scratch/root/out/selftests/kvm/$1"
}
hang_stand_in hang_once 1 outside
hang_stand_in hang_own 99 in
run tcg kvm/hang_once.c:3:correctness kvm/hang_own.c:3:correctness
cat "$scratch/out/results"
r=$(result hang_once)
check "$([[ $r == "kvm/hang_once.c pass "*"replayed after a hang with a vCPU outside the guest's code"* ]] &&
	grep -q "^hung: vCPU 3 .* outside" "$scratch/out/logs/kvm_hang_once.c.log.first"; echo $?)" \
	"a hang with a vCPU outside the guest's code the first time only: passes, replayed, first log kept"
r=$(result hang_own)
check "$([[ $r == "kvm/hang_own.c fail timed out"* && $r != *replayed* ]] &&
	[ "$(cat "$scratch/hang_own.runs")" = 1 ] &&
	grep -q "^hung: vCPU 3 .* in the guest's code" "$scratch/out/logs/kvm_hang_own.c.log"; echo $?)" \
	"a hang in the guest's code: no replay, fails, and its log says where the vCPU was"

run kvm kvm/kvm_accel.c:20:correctness
r=$(result kvm_accel)
check "$([[ $r == "kvm/kvm_accel.c fail"* ]] && [ "$(cat "$scratch/kvm_accel.runs")" = 1 ]; echo $?)" \
	"a shutdown under KVM: no replay, fails"

[ $fail = 0 ] && echo "all checks passed"
exit $fail
