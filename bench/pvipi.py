#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Paravirt IPIs seen from the KVM host (the test VM, L1): boot an L2 guest
# in one IPI configuration, run bench/ipiload in it, and count the L2's VM
# exits, hypercalls, APIC accesses and the call-function IPIs KVM delivered
# in the workload's windows, from the L1's kvm tracepoints (EVENTS). The
# one parser of that trace, shared by selftests/vmf/l2_pv_ipi.sh and the
# pv-ipi scenario of make bench.
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
# The windows are found by ipiload's marks: hypercalls from the guest's
# user space, which KVM traces and then refuses with -KVM_EPERM. Tracing
# starts once the L2's init runs the command, so the L2's boot is not in
# the ring buffer. No function tracing (it patches live code, which
# QEMU's TCG races); tracepoints only.

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRACEFS = "/sys/kernel/tracing"
INSTANCE = "vmf_pvipi"
EVENTS = ("kvm/kvm_exit", "kvm/kvm_hypercall", "kvm/kvm_msr", "kvm/kvm_apic_accept_irq",
          "kvm/kvm_apic", "kvm/kvm_apic_ipi")
# bench/ipiload.c's window marks.
MARK_START, MARK_END = 0x564d4601, 0x564d4602
HC_NAMES = {10: "KVM_HC_SEND_IPI", 11: "KVM_HC_SCHED_YIELD", 16: "KVM_HC_SEND_IPI_V2"}
HC_SEND_IPI, HC_SCHED_YIELD, HC_SEND_IPI_V2 = 10, 11, 16
MSR_NAMES = {0x830: "ICR", 0x80b: "EOI", 0x6e0: "TSC_DEADLINE"}
# The guest's call-function vectors (arch/x86/include/asm/irq_vectors.h):
# CALL_FUNCTION_VECTOR for a multicast, CALL_FUNCTION_SINGLE_VECTOR for one
# target. KVM traces every interrupt a vCPU's APIC accepts.
CALL_FUNCTION_VECTOR, CALL_FUNCTION_SINGLE_VECTOR = 0xfc, 0xfb
# KVM_HC_SEND_IPI_V2's flags (a0), from the uapi asm/kvm_para.h.
V2_FLAGS = {"yield": 1 << 16, "sparse": 1 << 17}
# Per CPU; an L2 window makes about 10-15k events per second here, 64
# bytes or less each in the ring buffer.
BUFFER_KB = 65536

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


def die(msg):
    print(f"pvipi: {msg}", file=sys.stderr)
    sys.exit(1)


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


# --- The L1's trace -------------------------------------------------------

class Tracer:
    """A tracefs instance of its own, with the two KVM events, so that
    nobody else's tracing is touched and none of it lands in ours."""

    def __init__(self, buffer_kb=BUFFER_KB):
        self.dir = os.path.join(TRACEFS, "instances", INSTANCE)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.set("tracing_on", 0)
        # The trace merges the CPUs' buffers by time stamp: one clock for all.
        self.set("trace_clock", "global")
        self.set("buffer_size_kb", buffer_kb)
        for ev in EVENTS:
            self.set(f"events/{ev}/enable", 1)

    def set(self, name, value):
        write(os.path.join(self.dir, name), value)

    def start(self):
        write(os.path.join(self.dir, "trace"), "")
        self.set("tracing_on", 1)

    def stop(self):
        self.set("tracing_on", 0)

    def lost(self):
        """Events overwritten or dropped in the ring buffer, all CPUs."""
        n = 0
        pcpu = os.path.join(self.dir, "per_cpu")
        for cpu in os.listdir(pcpu):
            stats = read(os.path.join(pcpu, cpu, "stats"), "")
            for key in ("overrun", "dropped events"):
                m = re.search(rf"^{key}: (\d+)", stats, re.M)
                n += int(m.group(1)) if m else 0
        return n

    def lines(self):
        with open(os.path.join(self.dir, "trace")) as f:
            yield from f

    def close(self):
        try:
            self.stop()
            for ev in EVENTS:
                self.set(f"events/{ev}/enable", 0)
            os.rmdir(self.dir)
        except OSError:
            pass


# "  CPU 0/KVM-1234  [001] d..1.  123.456789: kvm_exit: vcpu 0 reason msr ..."
EVENT_RE = re.compile(r"\[(\d+)\]\s+(?:\S+\s+)?(\d+\.\d+): (kvm_exit|kvm_hypercall|kvm_msr|"
                      r"kvm_apic_accept_irq|kvm_apic|kvm_apic_ipi): (.*)$")
EXIT_RE = re.compile(r"vcpu (\d+) reason (\S+) rip \S+ info1 (0x[0-9a-f]+)")
HC_RE = re.compile(r"nr (0x[0-9a-f]+) a0 (0x[0-9a-f]+) a1 (0x[0-9a-f]+)")
MSR_RE = re.compile(r"msr_(write|read) ([0-9a-f]+) =")
IRQ_RE = re.compile(r"apicid ([0-9a-f]+) vec (\d+) ")
APIC_RE = re.compile(r"apic_(read|write) (\S+) =")
# "dst 2 vec 251 (Fixed|physical|de-assert|edge|dst)": the last is the shorthand.
ICR_IPI_RE = re.compile(r"dst ([0-9a-f]+) vec (\d+) \(.*\|([\w-]+)\)")
LOST_RE = re.compile(r"\[LOST (\d+) EVENTS\]")


def parse(lines, keep=None):
    """Count the exits (by reason and by vCPU), hypercalls (by number), MSR
    writes (by MSR, which says what a WRMSR exit was), APIC register
    accesses (each an exit, MMIO in xAPIC mode, an MSR in x2APIC mode), IPIs
    sent by ICR writes, and call-function interrupts accepted (by APIC ID,
    multicast and single) between each start mark and its end mark. Returns {"windows": [...], "errors": [...]}.
    keep, a file, gets the lines from the first mark to the last."""
    windows, errors = [], []
    cur, t0, seen_mark = None, None, False
    # The last exit on each L1 CPU: a hypercall's own exit.
    last_exit = {}
    for line in lines:
        m = EVENT_RE.search(line)
        if not m:
            lost = LOST_RE.search(line)
            if lost and cur is not None:
                cur["lost_events"] += int(lost.group(1))
            if keep and seen_mark and line.startswith("CPU:"):
                keep.write(line)
            continue
        cpu, ts, event, rest = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        if event == "kvm_hypercall":
            h = HC_RE.match(rest)
            if not h:
                errors.append(f"unparsed kvm_hypercall: {rest.strip()}")
                continue
            nr, a0, a1 = (int(x, 16) for x in h.groups())
            if nr == MARK_START:
                if cur is not None:
                    errors.append(f"window {cur['window']} has no end mark")
                cur = {"window": a0, "calls": None, "trace_secs": None, "exits": {},
                       "exits_by_vcpu": {}, "hypercalls": {}, "msr_writes": {},
                       "v2_flags": {k: 0 for k in V2_FLAGS}, "cf_irqs": {},
                       "cf_single_irqs": {}, "apic_accesses": {}, "icr_ipis": {},
                       "lost_events": 0}
                t0, seen_mark = ts, True
            elif nr == MARK_END:
                if cur is None or cur["window"] != a0:
                    errors.append(f"end mark of window {a0} without its start mark")
                else:
                    # The end mark's own exit is in the window (the start
                    # mark's came before it).
                    reason, vcpu = last_exit.get(cpu, (None, None))
                    if cur["exits"].get(reason):
                        cur["exits"][reason] -= 1
                        cur["exits_by_vcpu"][vcpu] -= 1
                    cur["calls"], cur["trace_secs"] = a1, ts - t0
                    windows.append(cur)
                cur = None
            elif cur is not None:
                cur["hypercalls"][nr] = cur["hypercalls"].get(nr, 0) + 1
                if nr == HC_SEND_IPI_V2:
                    for k, bit in V2_FLAGS.items():
                        cur["v2_flags"][k] += bool(a0 & bit)
        elif event == "kvm_apic_accept_irq":
            q = IRQ_RE.match(rest)
            if not q:
                errors.append(f"unparsed kvm_apic_accept_irq: {rest.strip()}")
                continue
            vec = int(q.group(2))
            key = {CALL_FUNCTION_VECTOR: "cf_irqs",
                   CALL_FUNCTION_SINGLE_VECTOR: "cf_single_irqs"}.get(vec)
            if cur is not None and key:
                apicid = str(int(q.group(1), 16))
                cur[key][apicid] = cur[key].get(apicid, 0) + 1
        elif event == "kvm_apic":
            a = APIC_RE.match(rest)
            if not a:
                errors.append(f"unparsed kvm_apic: {rest.strip()}")
                continue
            if cur is not None:
                key = f"{a.group(1)} {a.group(2)}"
                cur["apic_accesses"][key] = cur["apic_accesses"].get(key, 0) + 1
        elif event == "kvm_apic_ipi":
            i = ICR_IPI_RE.match(rest)
            if not i:
                errors.append(f"unparsed kvm_apic_ipi: {rest.strip()}")
                continue
            # By vector; a self-IPI by shorthand (irq_work) is no IPI to
            # another vCPU, and is left out.
            if cur is not None and i.group(3) == "dst":
                vec = i.group(2)
                cur["icr_ipis"][vec] = cur["icr_ipis"].get(vec, 0) + 1
        elif event == "kvm_msr":
            w = MSR_RE.match(rest)
            if not w:
                errors.append(f"unparsed kvm_msr: {rest.strip()}")
                continue
            if cur is not None and w.group(1) == "write":
                msr = MSR_NAMES.get(int(w.group(2), 16), "0x" + w.group(2))
                cur["msr_writes"][msr] = cur["msr_writes"].get(msr, 0) + 1
        else:
            e = EXIT_RE.match(rest)
            if not e:
                errors.append(f"unparsed kvm_exit: {rest.strip()}")
                continue
            vcpu, reason, info1 = int(e.group(1)), e.group(2), int(e.group(3), 16)
            # An MSR exit's info1 says which way: x2APIC ICR writes are WRMSRs.
            if reason == "msr":
                reason = "wrmsr" if info1 == 1 else "rdmsr"
            vcpu = str(vcpu)
            last_exit[cpu] = (reason, vcpu)
            if cur is not None:
                cur["exits"][reason] = cur["exits"].get(reason, 0) + 1
                cur["exits_by_vcpu"][vcpu] = cur["exits_by_vcpu"].get(vcpu, 0) + 1
        if keep and seen_mark:
            keep.write(line)
    if cur is not None:
        errors.append(f"window {cur['window']} has no end mark")
    for w in windows:
        if w["lost_events"]:
            errors.append(f"window {w['window']}: the ring buffer lost {w['lost_events']} "
                          "events (buffer_size_kb too small)")
    return {"windows": windows, "errors": errors}


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
    exits, hcs, msrs, apic = {}, {}, {}, {}
    flags = {k: sum(w["v2_flags"][k] for w in windows) for k in V2_FLAGS}
    for w in windows:
        for k, n in w["apic_accesses"].items():
            apic[k] = apic.get(k, 0) + n
        for k, n in w["exits"].items():
            exits[k] = exits.get(k, 0) + n
        for k, n in w["msr_writes"].items():
            msrs[k] = msrs.get(k, 0) + n
        for k, n in w["hypercalls"].items():
            hcs[int(k)] = hcs.get(int(k), 0) + n
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
        buffer_kb=BUFFER_KB):
    """Boot one L2, run the workload, return the result (also written to
    outdir/LAYOUT-MODE.json)."""
    lay, mo = LAYOUTS[layout], MODES[mode]
    name = f"{layout}-{mode}"
    os.makedirs(outdir, exist_ok=True)
    log = os.path.join(outdir, f"{name}-console.log")
    out = os.path.join(outdir, f"{name}.out")
    if timeout is None:
        timeout = 300 + windows * (secs + 10)
    timeout = int(timeout)
    # pre's status is its own; the workload's decides the L2's.
    guest = f'dmesg | grep -E "{DMESG_RE}" | sed "s/^/dmesg: /"; '
    if pre:
        guest += f"{pre}; "
    guest += (f"ipiload --sender {SENDER} --spin {','.join(map(str, lay['targets']))} "
              f"--secs {secs} --windows {windows} --settle {settle}")
    cmd = [os.path.join(ROOT, "scripts", "l2.sh"), "--smp", lay["smp"], "--timeout", str(timeout),
           "--log", log, "--file", os.path.join(bindir, "ipiload.static") + ":/bin/ipiload"]
    for dev in lay["qemu"]:
        cmd += ["--qemu-arg", "-device", "--qemu-arg", dev]
    if mo["cpu_flags"]:
        cmd += ["--cpu-flags", mo["cpu_flags"]]
    append = " ".join(a for a in (lay.get("append"), mo["append"]) if a)
    if append:
        cmd += ["--append", append]
    cmd += ["--", guest]

    for f in (log, out):
        if os.path.exists(f):
            os.unlink(f)
    tracer = Tracer(buffer_kb)
    try:
        started = time.monotonic()
        with open(out, "w") as o:
            proc = subprocess.Popen(cmd, stdout=o, stderr=subprocess.STDOUT)
            # Tracing on once init runs the command (ipiload settles first).
            traced = False
            while proc.poll() is None:
                if not traced and "VMF_L2_COMMAND" in (read(log, "") or ""):
                    tracer.start()
                    traced = True
                time.sleep(0.2)
        status = proc.returncode
        tracer.stop()
        secs_l2 = time.monotonic() - started
        with gzip.open(os.path.join(outdir, f"{name}.trace.gz"), "wt", compresslevel=1) as keep:
            parsed = parse(tracer.lines(), keep)
        lost_total = tracer.lost()
    finally:
        tracer.close()

    output = read(out, "")
    work = [json.loads(line) for line in output.splitlines() if line.startswith('{"ipiload"')]
    wins = [w for w in work if w["ipiload"] == "window"]
    errors = list(parsed["errors"])
    if status != 0:
        errors.append(f"l2.sh exit status {status}; see {out} and {log}")
    by_n = {w["window"]: w for w in parsed["windows"]}
    for w in wins:
        t = by_n.get(w["window"])
        if not t:
            errors.append(f"window {w['window']}: its marks are not in the trace")
        elif t["calls"] != w["calls"]:
            errors.append(f"window {w['window']}: the end mark says {t['calls']} calls, "
                          f"ipiload {w['calls']}")
        else:
            t["guest"] = w
            count_ipis(t, [g["apicid"] for g in w["targets"]])
    if len(wins) != windows:
        errors.append(f"ipiload reported {len(wins)} windows of {windows}")
    measured = [w for w in parsed["windows"] if "guest" in w]
    dmesg = [line[len("dmesg: "):] for line in output.splitlines() if line.startswith("dmesg: ")]
    res = {
        "layout": layout, "mode": mode, "smp": lay["smp"], "qemu": lay["qemu"],
        "cpu_flags": mo["cpu_flags"], "append": append, "l2_status": status,
        "l2_secs": round(secs_l2, 1), "retries": output.count("did not start the command"),
        "dmesg": dmesg,
        # Linux says so when it enables x2APIC mode; a kernel without
        # CONFIG_X86_X2APIC stays in xAPIC mode (MMIO).
        "apic_mode": "x2APIC" if any("x2apic enabled" in d or "switching to x2apic" in d
                                     for d in dmesg) else "xAPIC",
        "guest_records": [w for w in work if w["ipiload"] != "window"],
        "trace_lost_events": lost_total,
        "windows": measured, "errors": errors,
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
