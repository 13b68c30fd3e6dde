#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Paravirt IPIs seen from the KVM host (the test VM, L1): boot an L2 guest
# in one IPI configuration, run bench/ipiload in it, and count the L2's VM
# exits, hypercalls, APIC accesses and the call-function IPIs KVM delivered
# in the workload's windows, from the L1's kvm tracepoints (EVENTS).
# Shared by selftests/vmf/l2_pv_ipi.sh and the pv-ipi scenario of make
# bench.
#
#   pvipi.py run LAYOUT MODE --bin DIR --out DIR [--secs S] [--windows N]
#                [--guest CMD] [--timeout S]
#   pvipi.py parse TRACE[.gz] [--targets APICID,...]
#
# LAYOUT is the L2's APIC IDs: "dense" (4 vCPUs, 0-3), "sparse" (4
# vCPUs at 0, 64, 128, 192) or "sparse3" (3 vCPUs at 0, 64, 192). MODE is
# its IPI path: "native" (no PV IPI, no PV sched yield: an ICR write per
# target, and in xAPIC mode an ICR2 write and a read of the delivery
# status with each), "upstream" (6.12's KVM_HC_SEND_IPI, and
# KVM_HC_SCHED_YIELD to a preempted target) or "v2" (KVM_HC_SEND_IPI_V2).
# In every configuration the sender runs on CPU 0 and two IPI targets
# spin; in a sparse L2 they are APIC IDs 64 and 192: wider than the 128
# IDs one KVM_HC_SEND_IPI can name.
#
# "run" writes DIR/LAYOUT-MODE.json (the figures of every window and
# their sum per multicast call-function IPI, as KVM delivered them),
# DIR/LAYOUT-MODE.trace.gz (the trace of the windows) and the L2's
# console and output, and prints a summary. It fails if the L2 or the
# workload failed, or if the trace does not hold every window whole.
#
# The windows are found by ipiload's marks; booting, tracing and the
# trace's windows are bench/pvl2.py's.

import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pvl2  # noqa: E402
from pvl2 import (HC_NAMES, HC_SCHED_YIELD, HC_SEND_IPI, HC_SEND_IPI_V2,  # noqa: E402
                  bump, sum_counts)

INSTANCE = "vmf_pvipi"
EVENTS = ("kvm/kvm_exit", "kvm/kvm_hypercall", "kvm/kvm_msr", "kvm/kvm_apic_accept_irq",
          "kvm/kvm_apic", "kvm/kvm_apic_ipi")
MSR_NAMES = {0x830: "ICR", 0x80b: "EOI", 0x6e0: "TSC_DEADLINE"}
# The guest's call-function vectors (arch/x86/include/asm/irq_vectors.h):
# CALL_FUNCTION_VECTOR for a multicast, CALL_FUNCTION_SINGLE_VECTOR for one
# target. KVM traces every interrupt a vCPU's APIC accepts.
CALL_FUNCTION_VECTOR, CALL_FUNCTION_SINGLE_VECTOR = 0xfc, 0xfb
# KVM_HC_SEND_IPI_V2's flags (a0), from the uapi asm/kvm_para.h.
V2_FLAGS = {"yield": 1 << 16, "sparse": 1 << 17}

# The sender is CPU 0 in every layout; the IPI targets spin on "targets".
SENDER = 0
LAYOUTS = {
    "dense": {"smp": "4", "qemu": [], "targets": (1, 3)},
    # One vCPU at boot and three more placed by socket: with 48 cores per
    # socket (6 bits of APIC ID), socket N starts at APIC ID 64 N. QEMU's
    # -smp 4 alone would number the first four cores of socket 0. The
    # highest ID stays below 255, which Linux needs without interrupt
    # remapping.
    "sparse": {"smp": "1,sockets=4,cores=48,threads=1,maxcpus=192",
               "qemu": [f"host-x86_64-cpu,socket-id={s},core-id=0,thread-id=0"
                        for s in (1, 2, 3)],
               "targets": (1, 3)},
    # The same targets (APIC IDs 64 and 192) with one vCPU fewer, which
    # boots in about half the time under TCG, so make check can afford it.
    # Its targets are all CPUs but the sender, which Linux sends by ICR
    # shorthand, not by any PV path, unless no_ipi_broadcast is set.
    "sparse3": {"smp": "1,sockets=4,cores=48,threads=1,maxcpus=192",
                "qemu": [f"host-x86_64-cpu,socket-id={s},core-id=0,thread-id=0"
                         for s in (1, 3)],
                "targets": (1, 2), "append": "no_ipi_broadcast=1"},
}
# What make bench compares; sparse3 only repeats sparse.
BENCH_LAYOUTS = ("dense", "sparse")
MODES = {
    "native": {"cpu_flags": "kvm-pv-ipi=off,kvm-pv-sched-yield=off",
               "append": "no-kvm-pv-ipi-v2"},
    "upstream": {"cpu_flags": "", "append": "no-kvm-pv-ipi-v2"},
    "v2": {"cpu_flags": "", "append": ""},
}
# What the L2's dmesg says about its IPI path (grep -E).
DMESG_RE = "PV IPI|x2apic|PV sched yield"


MSR_RE = re.compile(r"msr_(write|read) ([0-9a-f]+) =")
IRQ_RE = re.compile(r"apicid ([0-9a-f]+) vec (\d+) ")
APIC_RE = re.compile(r"apic_(read|write) (\S+) =")
# "dst 2 vec 251 (Fixed|physical|de-assert|edge|dst)": the last is the shorthand.
ICR_IPI_RE = re.compile(r"dst ([0-9a-f]+) vec (\d+) \(.*\|([\w-]+)\)")


class IpiCounts(pvl2.Counts):
    """Besides exits and hypercalls: MSR writes (by MSR, which says what a
    WRMSR exit was), APIC register accesses (each an exit, MMIO in xAPIC
    mode, an MSR in x2APIC mode), IPIs sent by ICR writes, call-function
    interrupts accepted (by APIC ID, multicast and single), and
    KVM_HC_SEND_IPI_V2's flags."""

    EVENTS = {"kvm_msr": MSR_RE, "kvm_apic_accept_irq": IRQ_RE, "kvm_apic": APIC_RE,
              "kvm_apic_ipi": ICR_IPI_RE}
    OPS = "calls"

    def window(self):
        return {"msr_writes": {}, "v2_flags": {k: 0 for k in V2_FLAGS}, "cf_irqs": {},
                "cf_single_irqs": {}, "apic_accesses": {}, "icr_ipis": {}}

    def hypercall(self, cur, nr, a0):
        if nr == HC_SEND_IPI_V2:
            for k, bit in V2_FLAGS.items():
                cur["v2_flags"][k] += bool(a0 & bit)

    def event(self, cur, event, m):
        if cur is None:
            return
        if event == "kvm_apic_accept_irq":
            key = {CALL_FUNCTION_VECTOR: "cf_irqs",
                   CALL_FUNCTION_SINGLE_VECTOR: "cf_single_irqs"}.get(int(m.group(2)))
            if key:
                bump(cur[key], str(int(m.group(1), 16)))
        elif event == "kvm_apic":
            bump(cur["apic_accesses"], f"{m.group(1)} {m.group(2)}")
        elif event == "kvm_apic_ipi":
            # By vector; a self-IPI by shorthand (irq_work) is no IPI to
            # another vCPU, and is left out.
            if m.group(3) == "dst":
                bump(cur["icr_ipis"], m.group(2))
        elif m.group(1) == "write":
            bump(cur["msr_writes"], MSR_NAMES.get(int(m.group(2), 16), "0x" + m.group(2)))


def parse(lines, keep=None):
    """The windows of a trace, with IpiCounts (bench/pvl2.py's parse())."""
    return pvl2.parse(lines, IpiCounts(), keep)


def count_ipis(w, targets):
    """The window's multicast call-function IPIs: each reaches every target
    with CALL_FUNCTION_VECTOR, so the least served target's count. Not
    every membarrier() call is one: a call that finds no target running
    the process sends none (seen in some windows, up to a fifth of the
    calls), and one that finds a single target sends it
    CALL_FUNCTION_SINGLE_VECTOR."""
    w["ipis"] = min((w["cf_irqs"].get(str(t), 0) for t in targets), default=0)
    return w["ipis"]


def per_ipi(windows):
    """The windows' sums per multicast call-function IPI (count_ipis())."""
    ipis = sum(w["ipis"] for w in windows)
    calls = sum(w["calls"] for w in windows)
    exits, msrs = sum_counts(windows, "exits"), sum_counts(windows, "msr_writes")
    apic, hcs = sum_counts(windows, "apic_accesses"), sum_counts(windows, "hypercalls")
    flags = {k: sum(w["v2_flags"][k] for w in windows) for k in V2_FLAGS}
    if not ipis:
        return {"ipis": 0, "calls": calls}
    ipi = hcs.get(HC_SEND_IPI, 0) + hcs.get(HC_SEND_IPI_V2, 0)
    # The exits that sending IPIs takes: the IPI and yield hypercalls, and
    # the accesses to the ICR (and, in xAPIC mode, ICR2 and the reads that
    # wait for the delivery status). The rest (timer, host interrupts,
    # faults) come with the time the window took.
    icr = sum(n for k, n in apic.items() if k.split()[1] in ("APIC_ICR", "APIC_ICR2"))
    ipi_exits = ipi + hcs.get(HC_SCHED_YIELD, 0) + icr
    return {
        "ipis": ipis,
        "calls": calls,
        "exits": sum(exits.values()) / ipis,
        "ipi_exits": ipi_exits / ipis,
        "exits_by_reason": {k: n / ipis for k, n in sorted(exits.items(), key=lambda kv: -kv[1])},
        # Keys are strings, for JSON.
        "hypercalls": {str(k): n / ipis for k, n in sorted(hcs.items())},
        "msr_writes": {k: n / ipis for k, n in sorted(msrs.items(), key=lambda kv: -kv[1])},
        "apic_accesses": {k: n / ipis for k, n in sorted(apic.items(), key=lambda kv: -kv[1])},
        "icr_accesses": icr / ipis,
        # IPIs to other vCPUs that the guest sent by writing the ICR (KVM's
        # kvm_apic_ipi), whatever their vector, and all of them by vector.
        "icr_ipis": sum(sum(w["icr_ipis"].values()) for w in windows) / ipis,
        "icr_ipis_by_vector": {v: sum(w["icr_ipis"].get(v, 0) for w in windows)
                               for v in sorted({v for w in windows for v in w["icr_ipis"]})},
        "send_ipi": hcs.get(HC_SEND_IPI, 0) / ipis,
        "sched_yield": hcs.get(HC_SCHED_YIELD, 0) / ipis,
        "send_ipi_v2": hcs.get(HC_SEND_IPI_V2, 0) / ipis,
        # Those with KVM_SEND_IPI_V2_YIELD, and with KVM_SEND_IPI_V2_SPARSE.
        "send_ipi_v2_yield": flags["yield"] / ipis,
        "send_ipi_v2_sparse": flags["sparse"] / ipis,
        # The hypercalls that send an IPI, and those plus the yields: what
        # the call-function path costs in hypercalls.
        "ipi_hypercalls": ipi / ipis,
        "pv_hypercalls": (ipi + hcs.get(HC_SCHED_YIELD, 0)) / ipis,
    }


# --- One L2 ---------------------------------------------------------------

def run(layout, mode, bindir, outdir, secs=3, windows=1, settle=2, pre="", timeout=None,
        buffer_kb=pvl2.BUFFER_KB):
    """Boot one L2, run the workload, return the result (also written to
    outdir/LAYOUT-MODE.json)."""
    lay, mo = LAYOUTS[layout], MODES[mode]
    name = f"{layout}-{mode}"
    if timeout is None:
        timeout = 300 + windows * (secs + 10)
    # pre's status is its own; the workload's decides the L2's.
    guest = pvl2.dmesg_cmd(DMESG_RE) + "; "
    if pre:
        guest += f"{pre}; "
    guest += (f"ipiload --sender {SENDER} --spin {','.join(map(str, lay['targets']))} "
              f"--secs {secs} --windows {windows} --settle {settle}")
    args = ["--smp", lay["smp"], "--file", os.path.join(bindir, "ipiload.static") + ":/bin/ipiload"]
    for dev in lay["qemu"]:
        args += ["--qemu-arg", "-device", "--qemu-arg", dev]
    if mo["cpu_flags"]:
        args += ["--cpu-flags", mo["cpu_flags"]]
    append = " ".join(a for a in (lay.get("append"), mo["append"]) if a)
    if append:
        args += ["--append", append]

    r = pvl2.run(name, outdir, args, guest, "ipiload", IpiCounts(), windows, INSTANCE, EVENTS,
                 timeout, buffer_kb)
    measured = r["windows"]
    for w in measured:
        count_ipis(w, [g["apicid"] for g in w["guest"]["targets"]])
    dmesg = r["dmesg"]
    res = {
        "layout": layout, "mode": mode, "smp": lay["smp"], "qemu": lay["qemu"],
        "cpu_flags": mo["cpu_flags"], "append": append, "l2_status": r["status"],
        "l2_secs": r["l2_secs"], "retries": r["retries"],
        "dmesg": dmesg,
        # Linux says so when it enables x2APIC mode; a kernel without
        # CONFIG_X86_X2APIC stays in xAPIC mode (MMIO).
        "apic_mode": "x2APIC" if any("x2apic enabled" in d or "switching to x2apic" in d
                                     for d in dmesg) else "xAPIC",
        "guest_records": r["records"],
        "trace_lost_events": r["trace_lost_events"],
        "windows": measured, "errors": r["errors"],
        "per_ipi": per_ipi(measured),
        # The guest's clock.
        "ipis_per_s": [w["ipis"] / w["guest"]["secs"] for w in measured],
    }
    with open(os.path.join(outdir, f"{name}.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def describe(res):
    """A few lines for a log."""
    pc = res["per_ipi"]
    lines = [f"{res['layout']}/{res['mode']}: L2 status {res['l2_status']} "
             f"after {res['l2_secs']} s; dmesg: " + " | ".join(res["dmesg"])]
    for w in res["windows"]:
        g = w["guest"]
        tg = ", ".join(f"CPU {t['cpu']} (APIC {t['apicid']}) {t['cal']} CAL" for t in g["targets"])
        lines.append(f"  window {w['window']}: {w['calls']} calls in {g['secs']:.2f} s, "
                     f"{w['ipis']} multicast IPIs ({w['ipis'] / g['secs']:.0f}/s); "
                     f"sender APIC {g['sender']['apicid']}; targets {tg}")
    if pc.get("ipis"):
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(pc["exits_by_reason"].items())[:6])
        hcs = ", ".join(f"{HC_NAMES.get(int(k), 'nr ' + k)} {v:.2f}"
                        for k, v in pc["hypercalls"].items()) or "none"
        msrs = ", ".join(f"{k} {v:.2f}" for k, v in pc["msr_writes"].items()) or "none"
        lines.append(f"  per IPI: {pc['exits']:.2f} exits ({top}); hypercalls: {hcs}; "
                     f"MSR writes: {msrs}")
    for e in res["errors"]:
        lines.append(f"  error: {e}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("layout", choices=LAYOUTS)
    r.add_argument("mode", choices=MODES)
    r.add_argument("--bin", required=True, help="where ipiload.static was built")
    r.add_argument("--out", required=True)
    r.add_argument("--secs", type=float, default=3)
    r.add_argument("--windows", type=int, default=1)
    r.add_argument("--settle", type=float, default=2)
    r.add_argument("--guest", default="", help="a command run in the L2 before the workload")
    r.add_argument("--timeout", type=int)
    p = sub.add_parser("parse")
    p.add_argument("trace")
    p.add_argument("--targets", help="the IPI targets' APIC IDs (default: every APIC ID "
                   "that took a multicast call-function IPI)")
    args = ap.parse_args()

    if args.cmd == "parse":
        opener = gzip.open if args.trace.endswith(".gz") else open
        with opener(args.trace, "rt") as f:
            parsed = parse(f)
        for w in parsed["windows"]:
            targets = args.targets.split(",") if args.targets else list(w["cf_irqs"])
            count_ipis(w, targets)
            w["per_ipi"] = per_ipi([w])
        json.dump(parsed, sys.stdout, indent=1)
        print()
        sys.exit(1 if parsed["errors"] else 0)
    res = run(args.layout, args.mode, args.bin, args.out, args.secs, args.windows,
              args.settle, args.guest, args.timeout)
    print(describe(res))
    sys.exit(1 if res["errors"] else 0)


if __name__ == "__main__":
    main()
