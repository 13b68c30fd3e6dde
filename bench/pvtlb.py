#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Paravirt TLB shootdowns seen from the KVM host (the test VM, L1) and from
# the guest: boot an overcommitted L2 guest (more vCPUs than the L1 has
# CPUs) in one TLB flush mode, run bench/tlbload in it, and count, per
# shootdown, the guest's TLB IPIs and the L2's VM exits and hypercalls in
# the workload's windows, from the L1's kvm tracepoints (EVENTS). Shared by
# selftests/vmf/l2_pv_tlb.sh and the pv-tlb scenario of make bench.
#
#   pvtlb.py run MODE --bin DIR --out DIR [--name NAME] [--smp N]
#                [--pages N,...] [--passes P] [--secs S] [--windows N]
#                [--settle S] [--check] [--break KIND] [--timeout S]
#   pvtlb.py parse TRACE[.gz]
#
# MODE is the guest's remote TLB flush: "native" (IPIs to every target
# that runs the mm: QEMU's kvm-pv-tlb-flush=off, and no-kvm-pv-tlb-v2),
# "upstream" (6.12's PV flush: no IPI to a target that steal time says is
# preempted, which flushes its whole TLB when it runs again;
# no-kvm-pv-tlb-v2) or "v2" (KVM_HC_FLUSH_TLB_V2, no IPI at all). The IPIs
# themselves go by PV IPI v2 (KVM_HC_SEND_IPI_V2) in every mode, so that
# only the flush differs.
#
# A shootdown is one flush_tlb_multi() call in the guest: its tlb:tlb_flush
# tracepoint with the reason "remote ipi send", which native's, 6.12's PV
# and v2's flush all emit once per call (counted by tlbload, in the L2).
# tlbload's load makes one per munmap() (a thread on every vCPU), its
# --check one per mutator call that drops a mapping.
#
# "run" writes DIR/NAME.json (NAME is MODE by default: the figures of
# every window and their sums, per page count, per shootdown),
# DIR/NAME.trace.gz and the L2's console and output, and prints a
# summary. It fails if the L2 or the workload failed (in --check, a stale
# read or a missed fault), or if the trace does not hold every window
# whole.

import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pvl2  # noqa: E402
from pvl2 import (HC_FLUSH_TLB_V2, HC_NAMES, HC_SCHED_YIELD, HC_SEND_IPI,  # noqa: E402
                  HC_SEND_IPI_V2, bump, sum_counts)

INSTANCE = "vmf_pvtlb"
EVENTS = ("kvm/kvm_exit", "kvm/kvm_hypercall", "kvm/kvm_pv_flush_tlb_v2",
          "kvm/kvm_pv_tlb_service", "kvm/kvm_pv_tlb_flush")
# 3 vCPUs on the test VM's 2 CPUs: each L2 boot took about 30 s here,
# where 4-vCPU L2s often took longer than l2.sh's 120 s (l2_pv_ipi.sh).
SMP = 3
MODES = {
    "native": {"cpu_flags": "kvm-pv-tlb-flush=off", "append": "no-kvm-pv-tlb-v2"},
    "upstream": {"cpu_flags": "", "append": "no-kvm-pv-tlb-v2"},
    "v2": {"cpu_flags": "", "append": ""},
}
# What make bench compares, and its page counts per munmap(): 8 pages, a
# ranged flush; 128 (512 KiB, ebizzy's chunk), more than the 64 pages v2
# names in one range, a flush of everything.
BENCH_MODES = ("native", "upstream", "v2")
BENCH_PAGES = (8, 128)
# What the L2's dmesg says about its flush (grep -E).
DMESG_RE = "TLB flush|PV IPI"
# KVM_HC_FLUSH_TLB_V2's a0 flags, from the uapi asm/kvm_para.h.
V2_FLAGS = {"freed_tables": 1 << 8, "global": 1 << 9, "all": 1 << 10}
# tlbload --check's counts that are errors, and those that must be equal.
CHECK_ERRORS = ("poison", "stale", "w_faults", "r_stale", "rw_faults")
CHECK_FAULTS = (("none_checks", "none_faults"), ("unmapped_checks", "unmapped_faults"))

# "vcpu 1 a0 0x7f0000001007 count 2 kicked 1"
FLUSH_V2_RE = re.compile(r"vcpu (\d+) a0 (0x[0-9a-f]+) count (\d+) kicked (\d+)")
# "vcpu 2 entries 3 pages 24" or "vcpu 2 entries 16 pages 0 (full flush)"
DRAIN_RE = re.compile(r"vcpu (\d+) entries (\d+) pages (\d+)( \(full flush\))?")
# 6.12's flush of a vCPU that was preempted when a flush was due.
STEAL_FLUSH_RE = re.compile(r"vcpu (\d+) need_flush_tlb (\w+)")


class TlbCounts(pvl2.Counts):
    """Besides exits and hypercalls: KVM_HC_FLUSH_TLB_V2 calls as KVM took
    them (targets queued and kicked, flags), the targets' drains of their
    queues, and 6.12's deferred flushes of preempted vCPUs."""

    EVENTS = {"kvm_pv_flush_tlb_v2": FLUSH_V2_RE, "kvm_pv_tlb_service": DRAIN_RE,
              "kvm_pv_tlb_flush": STEAL_FLUSH_RE}

    def window(self):
        return {"v2": dict({"flushes": 0, "targets": 0, "kicked": 0},
                           **{k: 0 for k in V2_FLAGS}),
                "drains": {"drains": 0, "entries": 0, "full": 0}, "steal_flushes": 0}

    def event(self, cur, event, m):
        if cur is None:
            return
        if event == "kvm_pv_flush_tlb_v2":
            v2, a0 = cur["v2"], int(m.group(2), 16)
            v2["flushes"] += 1
            v2["targets"] += int(m.group(3))
            v2["kicked"] += int(m.group(4))
            for k, bit in V2_FLAGS.items():
                v2[k] += bool(a0 & bit)
        elif event == "kvm_pv_tlb_service":
            d = cur["drains"]
            d["drains"] += 1
            d["entries"] += int(m.group(2))
            d["full"] += bool(m.group(4))
        elif m.group(2) == "true":
            cur["steal_flushes"] += 1


def parse(lines, keep=None):
    """The windows of a trace, with TlbCounts (bench/pvl2.py's parse())."""
    return pvl2.parse(lines, TlbCounts(), keep)


def merge_hist(hists):
    out = {}
    for h in hists:
        for b, n in h.items():
            bump(out, int(b), n)
    return dict(sorted(out.items()))


def summary(windows):
    """The windows' sums, and per shootdown."""
    g = [w["guest"] for w in windows]
    sd = sum(x["shootdowns"] for x in g)
    ops = sum(x["ops"] for x in g)
    tlb = sum(x["tlb_irqs"] for x in g)
    exits, hcs = sum_counts(windows, "exits"), sum_counts(windows, "hypercalls")
    v2 = {k: sum(w["v2"][k] for w in windows) for k in windows[0]["v2"]} if windows else {}
    drains = {k: sum(w["drains"][k] for w in windows)
              for k in windows[0]["drains"]} if windows else {}
    s = {
        "windows": len(windows), "ops": ops, "secs": sum(x["secs"] for x in g),
        "shootdowns": sd, "tlb_irqs": tlb, "exits": sum(exits.values()),
        # Keys are strings, for JSON.
        "hypercalls": {str(k): n for k, n in sorted(hcs.items())},
        "v2": v2, "drains": drains, "steal_flushes": sum(w["steal_flushes"] for w in windows),
        # The guest's clock.
        "ops_per_s": [x["ops"] / x["secs"] for x in g],
        "munmap_ns": merge_hist(x["munmap_ns"] for x in g),
    }
    if g and "check" in g[0]:
        s["check"] = {k: sum(x["check"][k] for x in g)
                      for k, v in g[0]["check"].items() if isinstance(v, int)}
    if sd:
        s["per_shootdown"] = {
            "ops": ops / sd,
            "tlb_irqs": tlb / sd,
            "exits": s["exits"] / sd,
            "exits_by_reason": {k: n / sd for k, n in
                                sorted(exits.items(), key=lambda kv: -kv[1])},
            "hypercalls": {str(k): n / sd for k, n in sorted(hcs.items())},
            "flush_tlb_v2": hcs.get(HC_FLUSH_TLB_V2, 0) / sd,
            "send_ipi_v2": hcs.get(HC_SEND_IPI_V2, 0) / sd,
            "send_ipi": hcs.get(HC_SEND_IPI, 0) / sd,
            "sched_yield": hcs.get(HC_SCHED_YIELD, 0) / sd,
            "v2_targets": v2.get("targets", 0) / sd,
            "v2_kicked": v2.get("kicked", 0) / sd,
            "v2_drains": drains.get("drains", 0) / sd,
            "steal_flushes": s["steal_flushes"] / sd,
        }
    return s


def percentile(hist, q):
    """The bucket floor under which fraction q of the events fall."""
    total = sum(hist.values())
    if not total:
        return None
    seen = 0
    for b in sorted(hist, key=int):
        seen += hist[b]
        if seen >= q * total:
            return int(b)
    return None


# --- One L2 ---------------------------------------------------------------

def run(mode, bindir, outdir, secs=3, windows=1, settle=2, pages=(8,), passes=0, check=False,
        brk=None, smp=SMP, name=None, timeout=None, buffer_kb=pvl2.BUFFER_KB):
    """Boot one L2, run the workload (--windows windows of each page
    count; --check: windows of the stress), return the result (also
    written to outdir/NAME.json)."""
    mo = MODES[mode]
    name = name or mode
    nwin = windows if check else windows * len(pages)
    if timeout is None:
        timeout = 300 + nwin * (secs + 10)
    work = (f"tlbload --secs {secs} --windows {nwin} --settle {settle}"
            + (" --check" if check else
               f" --pages {','.join(map(str, pages))} --passes {passes}")
            + (f" --break {brk}" if brk else ""))
    args = ["--smp", str(smp), "--file", os.path.join(bindir, "tlbload.static") + ":/bin/tlbload"]
    if mo["cpu_flags"]:
        args += ["--cpu-flags", mo["cpu_flags"]]
    if mo["append"]:
        args += ["--append", mo["append"]]

    r = pvl2.run(name, outdir, args, f"{pvl2.dmesg_cmd(DMESG_RE)}; {work}", "tlbload",
                 TlbCounts(), nwin, INSTANCE, EVENTS, timeout, buffer_kb)
    measured = r["windows"]
    sizes = sorted({w["guest"]["pages"] for w in measured})
    res = {
        "mode": mode, "name": name, "smp": smp, "cpu_flags": mo["cpu_flags"],
        "append": mo["append"], "workload": work, "l2_status": r["status"],
        "l2_secs": r["l2_secs"], "retries": r["retries"], "dmesg": r["dmesg"],
        "trace_lost_events": r["trace_lost_events"],
        "windows": measured, "errors": r["errors"],
        "total": summary(measured),
        "pages": {str(p): summary([w for w in measured if w["guest"]["pages"] == p])
                  for p in sizes},
    }
    with open(os.path.join(outdir, f"{name}.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def describe(res):
    """A few lines for a log."""
    lines = [f"{res['name']} ({res['mode']}): L2 status {res['l2_status']} after "
             f"{res['l2_secs']} s; dmesg: " + " | ".join(res["dmesg"])]
    for w in res["windows"]:
        g = w["guest"]
        lines.append(f"  window {w['window']}: {g['pages']} pages, {g['ops']} ops in "
                     f"{g['secs']:.2f} s ({g['ops_per_s']:.0f}/s), {g['shootdowns']} "
                     f"shootdowns, {g['tlb_irqs']} TLB IPIs"
                     + (f"; check {json.dumps(g['check'])}" if "check" in g else ""))
    for p, s in res["pages"].items():
        ps = s.get("per_shootdown")
        if not ps:
            continue
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(ps["exits_by_reason"].items())[:5])
        hcs = ", ".join(f"{HC_NAMES.get(int(k), 'nr ' + k)} {v:.2f}"
                        for k, v in ps["hypercalls"].items()) or "none"
        p50 = percentile(s["munmap_ns"], 0.5)
        lines.append(f"  {p} pages, per shootdown: {ps['tlb_irqs']:.2f} TLB IPIs, "
                     f"{ps['exits']:.2f} exits ({top}); hypercalls: {hcs}; "
                     f"v2 kicks {ps['v2_kicked']:.2f}"
                     + (f"; munmap p50 {p50} ns" if p50 is not None else ""))
    for e in res["errors"]:
        lines.append(f"  error: {e}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("mode", choices=MODES)
    r.add_argument("--bin", required=True, help="where tlbload.static was built")
    r.add_argument("--out", required=True)
    r.add_argument("--name", help="of the output files (default: MODE)")
    r.add_argument("--smp", type=int, default=SMP)
    r.add_argument("--pages", default=",".join(map(str, BENCH_PAGES[:1])))
    r.add_argument("--passes", type=int, default=0, help="tlbload's reading passes")
    r.add_argument("--secs", type=float, default=3)
    r.add_argument("--windows", type=int, default=1)
    r.add_argument("--settle", type=float, default=2)
    r.add_argument("--check", action="store_true", help="tlbload --check: the stress")
    r.add_argument("--break", dest="brk", choices=("wrong-version", "skip-mprotect"),
                   help="tlbload --check --break: what the checker must catch")
    r.add_argument("--timeout", type=int)
    p = sub.add_parser("parse")
    p.add_argument("trace")
    args = ap.parse_args()

    if args.cmd == "parse":
        opener = gzip.open if args.trace.endswith(".gz") else open
        with opener(args.trace, "rt") as f:
            parsed = parse(f)
        json.dump(parsed, sys.stdout, indent=1)
        print()
        sys.exit(1 if parsed["errors"] else 0)
    res = run(args.mode, args.bin, args.out, args.secs, args.windows, args.settle,
              tuple(int(x) for x in args.pages.split(",")), args.passes,
              args.check or bool(args.brk),
              args.brk, args.smp, args.name, args.timeout)
    print(describe(res))
    sys.exit(1 if res["errors"] else 0)


if __name__ == "__main__":
    main()
