#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PV TLB shootdown v2 (KVM_HC_FLUSH_TLB_V2) end to end, in overcommitted L2
# guests of this VM: 3 vCPUs on its 2 CPUs, so vCPUs get preempted while
# flushes are due. In each L2, bench/tlbload --check stresses the flushes
# that user space causes: readers on two vCPUs read pages that the third
# remaps, mprotect()s to PROT_NONE and unmaps, freeing their page table
# (see bench/tlbload.c). Two L2s:
#   v2        v2 on (the default)
#   upstream  no-kvm-pv-tlb-v2: 6.12's PV flush, the control
# Both must read nothing stale and miss no fault. With v2, the guest takes
# no TLB shootdown IPI (the "TLB" line of its /proc/interrupts stays put)
# and makes KVM_HC_FLUSH_TLB_V2 hypercalls, which bench/pvtlb.py counts
# from this VM's kvm tracepoints in the workload's window. The upstream L2
# must fail those two checks (its running targets take IPIs; no v2
# hypercall), so they can fail.
#
# Its 3-vCPU L2s ran whole in about 30 s each here (as l2_pv_ipi.sh's);
# l2.sh boots an L2 again only if its command never started.

. "$VMF_ROOT/selftests/lib/l2_pv.sh"
l2_pv_setup pv_tlb_v2 "PV TLB v2" tlbload l2_pv_tlb
fail=0
for mode in v2 upstream; do
	python3 "$VMF_ROOT/bench/pvtlb.py" run $mode --check --bin "$bin" --out "$out" \
		--secs 4 --settle 1 || fail=1
	cat "$out/$mode.out"
done

python3 - "$out" "$fail" <<'EOF'
import os, sys

sys.path.insert(0, os.path.join(os.environ["VMF_ROOT"], "bench"))
from pvl2 import Verdict, dmesg_has
from pvtlb import CHECK_ERRORS, CHECK_FAULTS, HC_FLUSH_TLB_V2

out, failed_runs = sys.argv[1], sys.argv[2] == "1"
verdict = Verdict()
check = verdict.check

res = verdict.load(out, ("v2", "upstream"))
for name, r in res.items():
    t = r["total"]
    c = t.get("check", {})
    check(t["windows"] == 1 and c, f"{name}: tlbload --check reported its window")
    if not c:
        continue
    # Stale reads and missed faults, the point of the test; each kind of
    # check must also have been made.
    for k in CHECK_ERRORS:
        check(c[k] == 0, f"{name}: {k} {c[k]} (0)")
    for checks, faults in CHECK_FAULTS:
        check(c[faults] == c[checks] > 0,
              f"{name}: {c[faults]} of {c[checks]} accesses faulted in {checks[:-7]} state")
    check(c["remaps"] > 0 and c["reads"] > 0 and c["rw_checks"] > 0 and c["r_cycles"] > 0,
          f"{name}: {c['remaps']} remaps, {c['reads']} reads of them, {c['r_cycles']} "
          f"mprotect/munmap/mmap cycles, {c['rw_checks']} reads of those mapped")
    check(t["shootdowns"] > 0, f"{name}: {t['shootdowns']} remote shootdowns")
    hc = t["hypercalls"].get(str(HC_FLUSH_TLB_V2), 0)
    print(f"  {name}: {t['tlb_irqs']} TLB IPIs, {hc} KVM_HC_FLUSH_TLB_V2, "
          f"{t['v2']['kicked']} kicks, {t['steal_flushes']} 6.12 steal-time flushes, "
          f"{t['exits']} exits for {t['shootdowns']} shootdowns; check {c}")

def dmesg(name, text):
    return dmesg_has(res.get(name), text)

def total(name):
    return res.get(name, {}).get("total", {})

# v2: not one shootdown by IPI, all by the hypercall.
name = "v2"
check(dmesg(name, "KVM setup PV TLB flush v2") and not dmesg(name, "PV TLB flush v2 failed"),
      f"{name}: the L2 says \"KVM setup PV TLB flush v2\", and no failure")
check(total(name).get("tlb_irqs") == 0,
      f"{name}: the TLB line of /proc/interrupts moved by {total(name).get('tlb_irqs')} (0)")
hc = total(name).get("hypercalls", {}).get(str(HC_FLUSH_TLB_V2), 0)
check(hc > 0, f"{name}: {hc} KVM_HC_FLUSH_TLB_V2 hypercalls (> 0)")
# The control: 6.12's PV flush IPIs the targets that run.
name = "upstream"
check(dmesg(name, "KVM setup pv remote TLB flush") and not dmesg(name, "PV TLB flush v2"),
      f"{name}: the L2 set up 6.12's PV TLB flush, not v2 (no-kvm-pv-tlb-v2)")
check(total(name).get("tlb_irqs", 0) > 0,
      f"{name}: the TLB line of /proc/interrupts moved by {total(name).get('tlb_irqs')} (> 0)")
hc = total(name).get("hypercalls", {}).get(str(HC_FLUSH_TLB_V2), 0)
check(hc == 0, f"{name}: {hc} KVM_HC_FLUSH_TLB_V2 hypercalls (0)")
verdict.exit(failed_runs)
EOF
