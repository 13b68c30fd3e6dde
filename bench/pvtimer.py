#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The PV timer seen from the KVM host (the test VM, L1) and from the guest:
# boot an L2 guest with the PV timer on ("v2") or off ("upstream",
# no-kvm-pv-timer), run bench/timerload's patterns in it, and count the
# L2's writes of MSR_IA32_TSC_DEADLINE (each an exit) and its other exits
# per window, from the L1's kvm tracepoints (EVENTS). Shared by
# selftests/vmf/l2_pv_timer.sh and the pv-timer scenario of make bench.
#
#   pvtimer.py run MODE --bin DIR --out DIR [--name NAME] [--patterns LIST]
#                [--reps N] [--secs S] [--no-cyclictest] [--ct-interval US]
#                [--append WORDS] [--timeout S]
#
# Patterns (bench/timerload.c): "rr" (loopback TCP request/response between
# two processes on the L2's two vCPUs), "sleep" (nanosleep loops on both)
# and "idle" (the L2 idle, nohz). Each pattern runs --reps windows of
# --secs alone, for the counts, and then (unless --no-cyclictest) one
# window beside cyclictest (rt-tests, one SCHED_FIFO thread per vCPU,
# 1 ms interval by default, for a few seconds around the window), for the L2's timer
# latency under that pattern. cyclictest is Debian's dynamic binary: it
# goes into the L2's initramfs with the shared libraries ldd names, at
# their own paths.
#
# Three counts of the deadline writes, which must agree:
# - the guest's, around each window mark (timerload: its msr:write_msr
#   tracepoint, and the PV timer's /sys/kernel/debug/kvm_pv_timer);
# - the L1's trace (kvm:kvm_msr, MSR 0x6e0) between the window marks;
# - the L1's per-vCPU stat tsc_deadline_msr_writes, read through QEMU's
#   QMP query-stats with the L2 paused: once before the first window, when
#   the trace is emptied, and once after the last, when tracing stops. The
#   trace's writes must equal the stats' difference exactly.
#
# "run" writes DIR/NAME.json (NAME is MODE by default), DIR/NAME.trace.gz
# and the L2's console and output, and prints a summary. It fails if the
# L2 or the workload failed (a lost or early sleep) or if the trace does
# not hold every window whole; the checks of the counts are the test's.

import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pvl2  # noqa: E402
from pvl2 import bump, sum_counts  # noqa: E402

INSTANCE = "vmf_pvtimer"
EVENTS = ("kvm/kvm_exit", "kvm/kvm_hypercall", "kvm/kvm_msr", "kvm/kvm_pv_timer",
          "kvm/kvm_apic_accept_irq")
SMP = 2
MSR_TSC_DEADLINE = 0x6e0
# The guest's LOCAL_TIMER_VECTOR (arch/x86/include/asm/irq_vectors.h).
LOCAL_TIMER_VECTOR = 0xec
MODES = {
    "upstream": {"append": "no-kvm-pv-timer"},
    "v2": {"append": ""},
}
PATTERNS = ("rr", "sleep", "idle")
# What the pattern's operations are, for the tables.
OPS_TITLE = {"rr": "round trips", "sleep": "sleeps", "idle": "ms idle"}
DMESG_RE = "PV timer|kvm-guest"
SLEEP_US = 500
CYCLICTEST = "/usr/bin/cyclictest"
# 1 us buckets up to 50 ms; latencies above are counted as overflows.
CT_HIST_US = 50000
CT_INTERVAL_US = 1000
# The per-vCPU stats that QMP's query-stats reads.
STATS = ("tsc_deadline_msr_writes", "pv_timer_rearms", "pv_timer_syncs", "pv_timer_deferred",
         "pv_timer_next_arms", "pv_timer_next_hits", "exits")
# The guest's console lines around the windows (see guest_script()).
READY, DONE = "VMF_PV_TIMER_READY", "VMF_PV_TIMER_DONE"

# "msr_write 6e0 = 0x1234"
MSR_RE = re.compile(r"msr_(write|read) ([0-9a-f]+) =")
# "apicid 1 vec 236 (Fixed|edge)"
IRQ_RE = re.compile(r"apicid ([0-9a-f]+) vec (\d+) ")
# "vcpu 0 fire-arm deadline 123 armed 456"
PV_TIMER_RE = re.compile(r"vcpu (\d+) (\S+) deadline")


class TimerCounts(pvl2.Counts):
    """Besides exits and hypercalls: the deadline writes (kvm:kvm_msr), the
    timer interrupts delivered (kvm:kvm_apic_accept_irq) and the PV timer's
    decisions (kvm:kvm_pv_timer, by kind), in each window and over the
    whole trace."""

    EVENTS = {"kvm_msr": MSR_RE, "kvm_pv_timer": PV_TIMER_RE, "kvm_apic_accept_irq": IRQ_RE}

    def __init__(self):
        self.total = self.window()

    def window(self):
        return {"deadline_writes": 0, "timer_irqs": 0, "pv_timer": {}}

    def event(self, cur, event, m):
        for d in (self.total, cur):
            if d is None:
                continue
            if event == "kvm_pv_timer":
                bump(d["pv_timer"], m.group(2))
            elif event == "kvm_apic_accept_irq":
                d["timer_irqs"] += int(m.group(2)) == LOCAL_TIMER_VECTOR
            elif m.group(1) == "write" and int(m.group(2), 16) == MSR_TSC_DEADLINE:
                d["deadline_writes"] += 1


# --- QMP: pause the L2 and read its vCPUs' stats --------------------------

class Qmp:
    def __init__(self, path, timeout=60):
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)
        self.f = self.sock.makefile("rw")
        self._reply()                   # the greeting
        self.cmd("qmp_capabilities")

    def _reply(self):
        while True:
            msg = json.loads(self.f.readline())
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        r = self._reply()
        if "error" in r:
            raise RuntimeError(f"QMP {name}: {r['error']}")
        return r["return"]

    def stats(self):
        """{stat: sum over the vCPUs} and {stat: [per vCPU]}."""
        ret = self.cmd("query-stats", target="vcpu",
                       providers=[{"provider": "kvm", "names": list(STATS)}])
        per = {s: [] for s in STATS}
        for vcpu in ret:
            got = {s["name"]: s["value"] for s in vcpu["stats"]}
            for s in STATS:
                per[s].append(got.get(s))
        return per

    def close(self):
        self.sock.close()


class Pauser(threading.Thread):
    """Follows the L2's console: at READY, pauses the L2, reads its stats,
    empties the trace and lets it go on; at DONE, pauses it, reads the
    stats, stops the trace and lets it go on. The trace then holds exactly
    what the L2 did between the two readings."""

    def __init__(self, log, qmp_path, timeout):
        super().__init__(daemon=True)
        self.log, self.qmp_path, self.timeout = log, qmp_path, timeout
        self.stats, self.errors, self.quit = [], [], False
        self.tracedir = os.path.join(pvl2.TRACEFS, "instances", INSTANCE)

    def wait_for(self, text):
        end = time.monotonic() + self.timeout
        while not self.quit and time.monotonic() < end:
            if text in (pvl2.read(self.log, "") or ""):
                return True
            time.sleep(0.2)
        return False

    def paused(self, what):
        qmp = Qmp(self.qmp_path)
        try:
            qmp.cmd("stop")
            self.stats.append(qmp.stats())
            what()
            qmp.cmd("cont")
        finally:
            qmp.close()

    def run(self):
        try:
            for text, what in ((READY, lambda: pvl2.write(os.path.join(self.tracedir, "trace"),
                                                          "")),
                               (DONE, lambda: pvl2.write(os.path.join(self.tracedir,
                                                                      "tracing_on"), 0))):
                if not self.wait_for(text):
                    self.errors.append(f"the L2 never said {text}")
                    return
                self.paused(what)
        except (OSError, RuntimeError, ValueError) as e:
            self.errors.append(f"QMP: {e}")


# --- cyclictest in the L2 ---------------------------------------------------

def cyclictest_files():
    """l2.sh --file arguments: cyclictest, and the libraries ldd names,
    each at its own path, where the dynamic loader looks."""
    out = subprocess.run(["ldd", CYCLICTEST], capture_output=True, text=True,
                         check=True).stdout
    files = [CYCLICTEST]
    for line in out.splitlines():
        m = re.search(r"(?:=> )?(/\S+) \(0x", line)
        if m:
            files.append(m.group(1))
    # The L2's PATH is /bin.
    args = ["--file", f"{CYCLICTEST}:/bin/cyclictest"]
    for f in files[1:]:
        args += ["--file", f"{os.path.realpath(f)}:{f}"]
    return args


def parse_cyclictest(lines):
    """A cyclictest -h histogram file: {"hist": {us: n}, "overflows",
    "max_us", "samples"}, all threads summed."""
    hist, res = {}, {"overflows": 0, "max_us": None, "samples": 0}
    for line in lines:
        if line.startswith("# Max Latencies:"):
            res["max_us"] = max(int(x) for x in line.split(":")[1].split())
        elif line.startswith("# Histogram Overflows:"):
            res["overflows"] = sum(int(x) for x in line.split(":")[1].split())
        elif line and line[0].isdigit():
            f = line.split()
            n = sum(int(x) for x in f[1:])
            if n:
                hist[int(f[0])] = hist.get(int(f[0]), 0) + n
    res["hist"] = hist
    res["samples"] = sum(hist.values()) + res["overflows"]
    res["p99_us"] = hist_percentile(hist, res["overflows"], 0.99)
    return res


def hist_percentile(hist, overflows, q):
    """The bucket (us) under which fraction q of the samples fall; None if
    they fall among the overflows."""
    total = sum(hist.values()) + overflows
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= q * total:
            return b
    return None


# --- One L2 ---------------------------------------------------------------

def windows_plan(patterns, reps, cyclictest):
    """[(window, pattern, with cyclictest)], in order."""
    plan = []
    for p in patterns:
        plan += [(len(plan) + 1, p, False) for _ in range(reps)]
        if cyclictest:
            plan.append((len(plan) + 1, p, True))
    return plan


def guest_script(plan, secs, settle, ct_interval=CT_INTERVAL_US):
    """The L2's command: the windows in turn, between READY and DONE, each
    a pause of the L2 by the host (Pauser). The status is the windows'."""
    ct_secs = math.ceil(secs + settle) + 2
    # cyclictest keeps its statistics in POSIX shared memory.
    s = [pvl2.dmesg_cmd(DMESG_RE), "rc=0", "mkdir -p /dev/shm", "mount -t tmpfs shm /dev/shm",
         f"echo {READY} >/dev/kmsg; sleep 5"]
    for w, p, ct in plan:
        tl = f"timerload --pattern {p} --window {w} --secs {secs} --sleep-us {SLEEP_US}"
        if not ct:
            s.append(f"{tl} --settle {settle} || rc=1")
            continue
        # cyclictest a second before and after the window; its histogram
        # without the empty buckets.
        s += [f"cyclictest -q -m -p 90 -t -a -i {ct_interval} -D {ct_secs} "
              f"-h {CT_HIST_US} --histfile=/tmp/ct{w} >/tmp/ct{w}.out 2>&1 &",
              "sleep 1", f"{tl} --settle {settle} || rc=1", "wait $! || rc=1",
              f"awk '/^#/ {{ print; next }} {{ s = 0; for (i = 2; i <= NF; i++) s += $i }}"
              f" s > 0' /tmp/ct{w} | sed 's/^/ct{w}: /'",
              f"sed 's/^/ct{w}: # out: /' /tmp/ct{w}.out"]
    s += [f"echo {DONE} >/dev/kmsg; sleep 5", "exit $rc"]
    return "\n".join(s)


def run(mode, bindir, outdir, patterns=PATTERNS, reps=1, secs=3, settle=1, cyclictest=True,
        name=None, timeout=None, append=None, ct_interval=CT_INTERVAL_US,
        buffer_kb=pvl2.BUFFER_KB):
    """Boot one L2, run the windows, return the result (also written to
    outdir/NAME.json). append replaces the mode's guest parameters (the
    test's break switch)."""
    name = name or mode
    plan = windows_plan(patterns, reps, cyclictest)
    if timeout is None:
        timeout = 300 + len(plan) * (secs + settle + 15)
    append = MODES[mode]["append"] if append is None else append
    os.makedirs(outdir, exist_ok=True)
    # Not in outdir: the test VM's run directory is 9p, where no socket binds.
    qmp_dir = tempfile.mkdtemp(prefix="pvtimer.")
    qmp_path = os.path.join(qmp_dir, "qmp.sock")
    log = os.path.join(outdir, f"{name}-console.log")
    args = ["--smp", str(SMP),
            "--file", os.path.join(bindir, "timerload.static") + ":/bin/timerload",
            "--qemu-arg", "-qmp", "--qemu-arg", f"unix:{qmp_path},server=on,wait=off"]
    if cyclictest:
        args += cyclictest_files()
    if append:
        args += ["--append", append]

    # The console log of an earlier run would say READY at once.
    if os.path.exists(log):
        os.unlink(log)
    pauser = Pauser(log, qmp_path, timeout)
    pauser.start()
    counts = TimerCounts()
    try:
        r = pvl2.run(name, outdir, args, guest_script(plan, secs, settle, ct_interval),
                     "timerload", counts,
                     len(plan), INSTANCE, EVENTS, timeout, buffer_kb)
    finally:
        pauser.quit = True
        pauser.join()
        shutil.rmtree(qmp_dir, ignore_errors=True)
    errors = r["errors"] + pauser.errors
    if r["trace_lost_events"]:
        errors.append(f"the trace lost {r['trace_lost_events']} events")

    ct = {}
    for line in r["output"].splitlines():
        m = re.match(r"ct(\d+): (.*)$", line)
        if m:
            ct.setdefault(int(m.group(1)), []).append(m.group(2))
    by_w = {w: (p, c) for w, p, c in plan}
    windows = []
    for w in r["windows"]:
        g = w["guest"]
        w["pattern"], w["cyclictest"] = by_w[w["window"]][0], by_w[w["window"]][1]
        if w["cyclictest"]:
            w["ct"] = parse_cyclictest(ct.get(w["window"], []))
            if not w["ct"]["samples"]:
                errors.append(f"window {w['window']}: no cyclictest histogram: "
                              + " | ".join(ct.get(w["window"], [])[-3:]))
        # The guest's counts of what happened between the marks: at least
        # the change from after the start mark to before the end mark, at
        # most from before to after.
        for k in ("msr_writes", "pv_programs", "pv_exits"):
            if k in g["start"]:
                w[f"guest_{k}"] = [g["end"][k][0] - g["start"][k][1],
                                   g["end"][k][1] - g["start"][k][0]]
        windows.append(w)

    stats = {}
    if len(pauser.stats) == 2:
        a, b = pauser.stats
        stats = {s: {"per_vcpu": [y - x if None not in (x, y) else None
                                  for x, y in zip(a[s], b[s])]} for s in STATS}
        for s in STATS:
            v = stats[s]["per_vcpu"]
            stats[s]["total"] = sum(v) if v and None not in v else None
    elif not pauser.errors:
        errors.append("the L2 was not paused twice")

    res = {
        "mode": mode, "name": name, "smp": SMP, "append": append, "l2_status": r["status"],
        "l2_secs": r["l2_secs"], "retries": r["retries"], "dmesg": r["dmesg"],
        "workload": guest_script(plan, secs, settle, ct_interval), "secs": secs, "reps": reps,
        "ct_interval_us": ct_interval,
        "trace_lost_events": r["trace_lost_events"], "windows": windows, "errors": errors,
        # Between the two pauses: the trace's counts and the stats'.
        "trace_total": counts.total, "stats": stats,
        "patterns": {p: summary([w for w in windows if w["pattern"] == p])
                     for p in patterns},
    }
    with open(os.path.join(outdir, f"{name}.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def summary(windows):
    """A pattern's figures: from its windows alone (the counts) and from
    its window beside cyclictest (the latency)."""
    alone = [w for w in windows if not w["cyclictest"]]
    ct = [w for w in windows if w["cyclictest"]]
    s = {"windows": len(alone)}
    if alone:
        ops = sum(w["ops"] for w in alone)
        writes = sum(w["deadline_writes"] for w in alone)
        irqs = sum(w["timer_irqs"] for w in alone)
        exits = sum(sum(w["exits"].values()) for w in alone)
        by = sum_counts(alone, "exits")
        s.update({
            "ops": ops, "deadline_writes": writes, "exits": exits, "timer_irqs": irqs,
            "secs": sum(w["guest"]["secs"] for w in alone),
            # Each window's, for the spread.
            "ops_per_s": [w["guest"]["ops_per_s"] for w in alone],
            "writes_per_kop": [1000 * w["deadline_writes"] / w["ops"] if w["ops"] else None
                               for w in alone],
            "exits_per_kop": [1000 * sum(w["exits"].values()) / w["ops"] if w["ops"] else None
                              for w in alone],
            "exits_by_reason": dict(sorted(by.items(), key=lambda kv: -kv[1])),
            "pv_timer": sum_counts(alone, "pv_timer"),
        })
        if "guest_pv_programs" in alone[0]:
            s["guest_pv_programs"] = sum(w["guest_pv_programs"][0] for w in alone)
    if ct:
        c = ct[0]["ct"]
        s["cyclictest"] = {"p99_us": c["p99_us"], "max_us": c["max_us"],
                           "samples": c["samples"], "overflows": c["overflows"],
                           "deadline_writes": ct[0]["deadline_writes"], "ops": ct[0]["ops"]}
    return s


def describe(res):
    """A few lines for a log."""
    lines = [f"{res['name']} ({res['mode']}, append '{res['append']}'): L2 status "
             f"{res['l2_status']} after {res['l2_secs']} s; dmesg: " + " | ".join(res["dmesg"])]
    for w in res["windows"]:
        g = w["guest"]
        extra = ""
        if "sleep" in g:
            extra = "; sleep " + json.dumps(g["sleep"])
        if w.get("ct"):
            extra += f"; cyclictest p99 {w['ct']['p99_us']} us max {w['ct']['max_us']} us"
        lines.append(
            f"  window {w['window']} {w['pattern']}{' +cyclictest' if w['cyclictest'] else ''}"
            f": {g['ops']} {OPS_TITLE[w['pattern']]} in {g['secs']:.2f} s; deadline writes: "
            f"host {w['deadline_writes']}, guest {w['guest_msr_writes']}"
            + (f", PV programs {w['guest_pv_programs']} exits {w['guest_pv_exits']}"
               if "guest_pv_programs" in w else "")
            + f"; {w['timer_irqs']} timer IRQs; {sum(w['exits'].values())} exits; "
            f"pv_timer {json.dumps(w['pv_timer'])}{extra}")
    st = res["stats"].get("tsc_deadline_msr_writes", {})
    lines.append(f"  between the pauses: trace {res['trace_total']['deadline_writes']} deadline "
                 f"writes, stat tsc_deadline_msr_writes {st.get('per_vcpu')}; "
                 + ", ".join(f"{k} {v.get('total')}" for k, v in res["stats"].items()))
    for e in res["errors"]:
        lines.append(f"  error: {e}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=("run",))
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--bin", required=True, help="where timerload.static was built")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", help="of the output files (default: MODE)")
    ap.add_argument("--patterns", default=",".join(PATTERNS))
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--settle", type=float, default=1)
    ap.add_argument("--no-cyclictest", action="store_true")
    ap.add_argument("--ct-interval", type=int, default=CT_INTERVAL_US,
                    help="cyclictest's interval, us")
    ap.add_argument("--append", help="the guest's parameters instead of the mode's")
    ap.add_argument("--timeout", type=int)
    args = ap.parse_args()
    if not args.no_cyclictest and not shutil.which(CYCLICTEST):
        sys.exit(f"pvtimer: no {CYCLICTEST} (Debian's rt-tests)")
    pats = tuple(args.patterns.split(","))
    for p in pats:
        if p not in PATTERNS:
            sys.exit(f"pvtimer: unknown pattern {p}")
    res = run(args.mode, args.bin, args.out, pats, args.reps, args.secs, args.settle,
              not args.no_cyclictest, args.name, args.timeout, args.append, args.ct_interval)
    print(describe(res))
    sys.exit(1 if res["errors"] else 0)


if __name__ == "__main__":
    main()
