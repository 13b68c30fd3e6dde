#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/check.sh when a test VM ends early. Runs on the host (shape
# "host" in selftests/TESTS), with check.sh in a scratch root whose
# scripts/vm.sh is a stand-in that plays a recorded end, per group:
# - "-": the first boot hangs with a soft lockup, and CPU 0 sits on one
#   guest instruction (as scripts/vm-cpus.py reports it); the tests left
#   without a result get a second boot, pass there, and say so;
# - "smp4": the same hang, with both CPUs in the kernel: no second boot,
#   the tests left fail with "no result";
# - "nonpt": no report at all, both CPUs on one guest instruction, and
#   vm.sh stopped it because jiffies stood still: a second boot, as in "-";
# - "smt": a clean run after all three, which must still be reported.
# check.sh must print each test once, the console's first complaint, and
# its last line "N passed, N failed, N skipped", and exit non-zero.
# Last, scripts/vm-cpus.py's verdict on canned register dumps.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
TMP=$scratch
. "$(cd "$(dirname "$0")/.." && pwd)/lib/vmf_sh.sh"

mkdir -p "$scratch/scripts" "$scratch/selftests" "$scratch/out"
cp "$root/scripts/check.sh" "$root/scripts/lib.sh" "$root/scripts/splat-check.sh" \
	"$scratch/scripts/"
cat >"$scratch/selftests/TESTS" <<'EOF'
t/a.c	10	-	correctness
t/b.c	10	-	correctness
t/c.c	10	-	correctness
t/d.c	10	smp4	correctness
t/e.c	10	smp4	correctness
t/f.c	10	smt	correctness
t/g.c	10	nonpt	correctness
t/h.c	10	nonpt	correctness
EOF

# The stand-in: vm.sh [shape args] --timeout N -- vm-run-tests.sh FLAVOUR
# TEST:TMO:KIND... in $VM_RUN. The first boot of "-" and of "smp4" pass
# their first test and hang in the second.
cat >"$scratch/scripts/vm.sh" <<'EOF'
#!/bin/bash
shape=-
while [ "$1" != -- ]; do
	case $1 in --smp) shape=smp4 ;; --smt) shape=smt ;; --append) shape=nonpt ;; esac
	shift
done
shift 3
mkdir -p "$VM_RUN/logs"
boots=$(cat "$VM_RUN/../boots-$shape" 2>/dev/null || echo 0)
echo $((boots + 1)) >"$VM_RUN/../boots-$shape"
echo "[    1.0] booted" >"$VM_RUN/console.log"
: >"$VM_RUN/results"
if [ "$shape" = smt ] || [ "$boots" -gt 0 ]; then
	for spec in "$@"; do
		echo "${spec%%:*} pass (1s)" >>"$VM_RUN/results"
	done
	echo 0 >"$VM_RUN/status"
	exit 0
fi
echo "${1%%:*} pass (1s)" >>"$VM_RUN/results"
if [ "$shape" = nonpt ]; then
	echo "no timer interrupt: jiffies stood still for 60 s; an NMI made them move again" \
		>"$VM_RUN/hang"
	for cpu in 0 1; do
		echo "CPU#$cpu: 0x40683d (not in the test kernel's text), same RIP 1 s apart, in a guest"
	done >"$VM_RUN/hang-cpus.txt"
	exit 124
fi
cat >>"$VM_RUN/console.log" <<'CONSOLE'
[  305.4] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [vmf_pv_tlb:4899]
[  305.5] Call Trace:
[  305.6]  smp_call_function_many_cond+0x10a/0x4d0
CONSOLE
echo "kernel stall or lockup reported 120 s before" >"$VM_RUN/hang"
if [ "$shape" = - ]; then
	cpu0="CPU#0: 0x40683d (not in the test kernel's text), same RIP 1 s apart, in a guest"
else
	cpu0="CPU#0: native_queued_spin_lock_slowpath+0x6c (0xffffffff81c1e31c), same RIP 1 s apart"
fi
printf '%s\n%s\n' "$cpu0" \
	"CPU#1: smp_call_function_many_cond+0x10a (0xffffffff8121a53a), moved" >"$VM_RUN/hang-cpus.txt"
exit 124
EOF
chmod +x "$scratch/scripts/vm.sh"

OUT=$scratch/out bash "$scratch/scripts/check.sh" --no-build >"$scratch/tap" 2>"$scratch/err"
rc=$?
comment "$scratch/tap"

result() {
	grep -E "^(not )?ok [0-9]+ $1( |$)" "$scratch/tap"
}
holds "check.sh exits non-zero (got $rc)" '[ $rc != 0 ]'
holds "its last line counts every test" \
	'[ "$(tail -n 1 "$scratch/tap")" = "7 passed, 1 failed, 0 skipped" ]'
holds "each of the 8 tests is reported once" \
	'[ "$(grep -cE "^(not )?ok [0-9]+ " "$scratch/tap")" = 8 ]'
holds "the test that passed before the hang keeps its result" \
	'[[ $(result t/a.c) == "ok "*" t/a.c (1s)" ]]'
holds "a hang with a CPU stuck in a guest: the tests left pass in a second boot, and say why" \
	'[[ $(result t/b.c) == "ok "*"in a second boot: the first hung with a CPU stuck on one guest instruction"* &&
	    $(result t/c.c) == "ok "*"in a second boot"* ]]'
holds "that group booted twice, no more" '[ "$(cat "$scratch/out/vm/boots--")" = 2 ]'
holds "a hang with both CPUs in the kernel: no second boot, the test left fails" \
	'[[ $(result t/d.c) == "ok "* &&
	    $(result t/e.c) == "not ok "*"no result: the VM ended early (status 124"* ]] &&
	 [ "$(cat "$scratch/out/vm/boots-smp4")" = 1 ]'
holds "a silent hang, jiffies still, both CPUs stuck in a guest: a second boot, and it says why" \
	'[[ $(result "t/h.c \\[nonpt\\]") == "ok "*"in a second boot: the first hung with a CPU stuck on one guest instruction"* ]] &&
	 [ "$(cat "$scratch/out/vm/boots-nonpt")" = 2 ]'
holds "the group after the hangs still runs" '[[ $(result t/f.c) == "ok "* ]]'
holds "the output shows the lockup and where each CPU was" \
	'grep -q "^# | .*soft lockup - CPU#1 stuck" "$scratch/tap" &&
	 grep -q "^# | CPU#0: 0x40683d" "$scratch/tap"'

# scripts/vm-cpus.py says "in a guest" only for CPL 0 at a lower-half
# address in both samples: not for the kernel, nor for user space.
dump() { # RIP CPL for CPU 0, then for CPU 1
	printf 'CPU#0\nRIP=%016x RFL=00000087 [--S--PC] CPL=%d II=0 A20=1 SMM=0 HLT=0\n' "$1" "$2"
	printf 'CPU#1\nRIP=%016x RFL=00000202 [-------] CPL=%d II=0 A20=1 SMM=0 HLT=0\n' "$3" "$4"
}
lines=$(python3 - "$root/scripts/vm-cpus.py" "$(dump 0x40683d 0 0x401000 3)" \
	"$(dump 0x40683d 0 0x401000 3)" "$(dump 0xffffffff8121a53a 0 0x40683d 0)" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("vm_cpus", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
print("\n".join(m.describe(sys.argv[2], sys.argv[3], [], [])))
print("\n".join(m.describe(sys.argv[3], sys.argv[4], [], [])))
PY
)
echo "$lines" | comment
holds "vm-cpus.py: CPL 0 at a lower-half address in both samples is in a guest; CPL 3, the kernel, or one sample is not" \
	'[ "$(echo "$lines" | grep -c ", in a guest$")" = 1 ] &&
	 echo "$lines" | sed -n 1p | grep -q "^CPU#0: 0x40683d .*same RIP 1 s apart, in a guest$"'

tap_done
