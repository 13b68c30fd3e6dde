# SPDX-License-Identifier: GPL-2.0
#
# What bench/pvipi.py (IPIs) and bench/pvtlb.py (TLB shootdowns) share:
# boot an L2 guest with scripts/l2.sh, trace the L1's kvm tracepoints
# while a workload in the L2 runs its measured windows, and sum the L2's
# VM exits (by reason and by vCPU) and hypercalls (by number) between each
# window's marks, with whatever else the caller counts (a Counts).
#
# The windows are found by the workload's marks: hypercalls from the
# guest's user space (bench/l2load.h), which KVM traces and then refuses
# with -KVM_EPERM. Tracing starts once the L2's init runs the command, so
# the L2's boot is not in the ring buffer. No function tracing (it patches
# live code, which QEMU's TCG races); tracepoints only.

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
# bench/l2load.h's window marks.
MARK_START, MARK_END = 0x564d4601, 0x564d4602
HC_SEND_IPI, HC_SCHED_YIELD, HC_SEND_IPI_V2, HC_FLUSH_TLB_V2 = 10, 11, 16, 17
HC_NAMES = {5: "KVM_HC_KICK_CPU", HC_SEND_IPI: "KVM_HC_SEND_IPI",
            HC_SCHED_YIELD: "KVM_HC_SCHED_YIELD", HC_SEND_IPI_V2: "KVM_HC_SEND_IPI_V2",
            HC_FLUSH_TLB_V2: "KVM_HC_FLUSH_TLB_V2"}
# Per CPU; an L2 window makes about 10-15k events per second here, 64
# bytes or less each in the ring buffer.
BUFFER_KB = 65536


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
    """A tracefs instance of its own, with the KVM events, so that nobody
    else's tracing is touched and none of it lands in ours."""

    def __init__(self, instance, events, buffer_kb=BUFFER_KB):
        self.events = events
        self.dir = os.path.join(TRACEFS, "instances", instance)
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.set("tracing_on", 0)
        # The trace merges the CPUs' buffers by time stamp: one clock for all.
        self.set("trace_clock", "global")
        self.set("buffer_size_kb", buffer_kb)
        for ev in events:
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
            for ev in self.events:
                self.set(f"events/{ev}/enable", 0)
            os.rmdir(self.dir)
        except OSError:
            pass


# "  CPU 0/KVM-1234  [001] d..1.  123.456789: kvm_exit: vcpu 0 reason msr ..."
EVENT_RE = re.compile(r"\[(\d+)\]\s+(?:\S+\s+)?(\d+\.\d+): (kvm_\w+): (.*)$")
EXIT_RE = re.compile(r"vcpu (\d+) reason (\S+) rip \S+ info1 (0x[0-9a-f]+)")
HC_RE = re.compile(r"nr (0x[0-9a-f]+) a0 (0x[0-9a-f]+) a1 (0x[0-9a-f]+)")
LOST_RE = re.compile(r"\[LOST (\d+) EVENTS\]")


class Counts:
    """What a window counts besides exits and hypercalls: a subclass names
    its events (EVENTS, event: the regex of its fields) and counts them."""

    EVENTS = {}
    # The key of the operations that the end mark carries (its RCX).
    OPS = "ops"

    def window(self):
        """The window's own keys, zeroed."""
        return {}

    def hypercall(self, cur, nr, a0):
        """A hypercall in the window, other than the marks."""

    def event(self, cur, event, m):
        """One of EVENTS; cur is None outside the windows."""


def parse(lines, counts, keep=None):
    """Count the exits (by reason and by vCPU), hypercalls (by number) and
    whatever counts counts between each start mark and its end mark.
    Returns {"windows": [...], "errors": [...]}. keep, a file, gets the
    lines from the first mark to the last."""
    windows, errors = [], []
    cur, t0, seen_mark = None, None, False
    # The last exit on each L1 CPU: a hypercall's own exit.
    last_exit = {}
    for line in lines:
        m = EVENT_RE.search(line)
        if not m or (m.group(3) not in ("kvm_exit", "kvm_hypercall") and
                     m.group(3) not in counts.EVENTS):
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
                cur = {"window": a0, counts.OPS: None, "trace_secs": None, "exits": {},
                       "exits_by_vcpu": {}, "hypercalls": {}}
                cur.update(counts.window())
                cur["lost_events"] = 0
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
                    cur[counts.OPS], cur["trace_secs"] = a1, ts - t0
                    windows.append(cur)
                cur = None
            elif cur is not None:
                cur["hypercalls"][nr] = cur["hypercalls"].get(nr, 0) + 1
                counts.hypercall(cur, nr, a0)
        elif event == "kvm_exit":
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
        else:
            f = counts.EVENTS[event].match(rest)
            if not f:
                errors.append(f"unparsed {event}: {rest.strip()}")
                continue
            counts.event(cur, event, f)
        if keep and seen_mark:
            keep.write(line)
    if cur is not None:
        errors.append(f"window {cur['window']} has no end mark")
    for w in windows:
        if w["lost_events"]:
            errors.append(f"window {w['window']}: the ring buffer lost {w['lost_events']} "
                          "events (buffer_size_kb too small)")
    return {"windows": windows, "errors": errors}


def bump(d, key, n=1):
    d[key] = d.get(key, 0) + n


def sum_counts(windows, key):
    """The windows' {key: n} dicts, summed."""
    out = {}
    for w in windows:
        for k, n in w[key].items():
            bump(out, k, n)
    return out


# --- One L2 ---------------------------------------------------------------

def dmesg_cmd(regex):
    """A guest command that prints the L2's dmesg lines that match (grep
    -E), each after "dmesg: "; see run()."""
    return f'dmesg | grep -E "{regex}" | sed "s/^/dmesg: /"'


def run(name, outdir, l2_args, guest, workload, counts, windows, instance, events,
        timeout, buffer_kb=BUFFER_KB):
    """Boot one L2: scripts/l2.sh with l2_args (its options, a list) and
    the guest command guest; trace the L1's events (a tracefs instance
    of its own) while the command runs, and parse the trace with counts.
    The workload prints one JSON line per window, {"WORKLOAD": "window",
    "window": N, OPS: n, ...}, and others of its own.

    Writes outdir/NAME.out (the command's output), NAME-console.log and
    NAME.trace.gz (the windows). Returns {"status", "l2_secs", "retries",
    "output", "dmesg" (the guest's lines of dmesg_cmd()), "records" (the
    workload's other JSON lines), "windows" (the trace's windows that the
    workload reported, in order, each with its line as "guest"),
    "trace_lost_events", "errors"}."""
    os.makedirs(outdir, exist_ok=True)
    log = os.path.join(outdir, f"{name}-console.log")
    out = os.path.join(outdir, f"{name}.out")
    cmd = [os.path.join(ROOT, "scripts", "l2.sh"), "--timeout", str(int(timeout)),
           "--log", log] + l2_args + ["--", guest]
    for f in (log, out):
        if os.path.exists(f):
            os.unlink(f)
    tracer = Tracer(instance, events, buffer_kb)
    try:
        started = time.monotonic()
        with open(out, "w") as o:
            proc = subprocess.Popen(cmd, stdout=o, stderr=subprocess.STDOUT)
            # Tracing on once init runs the command (the workload settles first).
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
            parsed = parse(tracer.lines(), counts, keep)
        lost_total = tracer.lost()
    finally:
        tracer.close()

    output = read(out, "")
    work = [json.loads(line) for line in output.splitlines()
            if line.startswith('{"%s"' % workload)]
    wins = [w for w in work if w[workload] == "window"]
    errors = list(parsed["errors"])
    if status != 0:
        errors.append(f"l2.sh exit status {status}; see {out} and {log}")
    by_n = {w["window"]: w for w in parsed["windows"]}
    key = counts.OPS
    for w in wins:
        t = by_n.get(w["window"])
        if not t:
            errors.append(f"window {w['window']}: its marks are not in the trace")
        elif t[key] != w[key]:
            errors.append(f"window {w['window']}: the end mark says {t[key]} {key}, "
                          f"{workload} {w[key]}")
        else:
            t["guest"] = w
    if len(wins) != windows:
        errors.append(f"{workload} reported {len(wins)} windows of {windows}")
    return {
        "status": status, "l2_secs": round(secs_l2, 1),
        "retries": output.count("did not start the command"), "output": output,
        "dmesg": [line[len("dmesg: "):] for line in output.splitlines()
                  if line.startswith("dmesg: ")],
        "records": [w for w in work if w[workload] != "window"],
        "windows": [w for w in parsed["windows"] if "guest" in w],
        "trace_lost_events": lost_total, "errors": errors,
    }


# --- A test's verdict -------------------------------------------------------

class Verdict:
    """The checks of a test over results of run() (in NAME.json files):
    each printed "ok: ..." or "FAIL: ...", and the test fails if one did."""

    def __init__(self):
        self.errors = []

    def check(self, ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            self.errors.append(what)
        return ok

    def load(self, out, names):
        """{NAME: out/NAME.json} for the names that have one; each must
        have run its workload with no error."""
        res = {}
        for name in names:
            try:
                with open(os.path.join(out, name + ".json")) as f:
                    res[name] = json.load(f)
            except OSError:
                self.check(False, f"{name}: no result")
                continue
            self.check(not res[name]["errors"],
                       f"{name}: the L2 ran the workload and the trace holds its window"
                       + "".join(f"; {e}" for e in res[name]["errors"]))
        return res

    def exit(self, failed_runs):
        sys.exit(1 if self.errors or failed_runs else 0)


def dmesg_has(res, text):
    """Whether a result's lines of the L2's dmesg (dmesg_cmd()) hold text."""
    return any(text in line for line in (res or {}).get("dmesg", []))
