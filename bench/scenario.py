#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# One benchmark scenario, run inside the test VM (which plays the KVM
# host): start the vCPUs once, then measure them under each policy in
# turn, interleaved, with host noise beside them.
#
#   scenario.py SCENARIO --out DIR [--reps R] [--secs S] [--policies LIST]
#               [--scx SCHEDULER]
#
# Policies of the vCPU threads (VMM threads are SCHED_OTHER but under vmf):
#   eevdf        SCHED_OTHER, nice 0, the base slice
#   eevdf-slice  SCHED_OTHER, nice -20 and a 0.1 ms slice (sched_runtime)
#   fifo         SCHED_FIFO 1, RT throttling off (sched_rt_runtime_us -1)
#   deadline     SCHED_DEADLINE, period = deadline = 10 ms, each thread an
#                equal share of what admission control leaves (at most
#                what it leaves per CPU)
#   scx          SCHED_EXT under the sched_ext scheduler --scx (scx_simple),
#                loaded in full mode for each window: the noise runs under
#                it too
#   vmf          SCHED_VMF, vCPUs at the vm level, VMM threads at vmm
# The constants above Policies say why these settings.
#
# Scenarios:
#   synthetic   bench/vcpusim threads as vCPUs, one per CPU, periodic
#   l2          an L2 guest (scripts/l2.sh) with one vCPU fewer than CPUs,
#               whose vCPU threads are classified; vcpusim inside it
#               measures its timer latency
#   overcommit  two "VMs" of one vcpusim thread per CPU each, hogging and
#               sharing a spinlock per VM: fairness and spin-wait cost
#   l2-overcommit  an L2 guest with two vCPUs per CPU, all busy, IPIing
#               each other (membarrier): the cost of a preempted IPI
#               target, and what the guest's PV sched yield gets back
#   pv-ipi      no policies and no noise: the guest's IPI paths (native
#               x2APIC, 6.12's PV IPI, PV IPI v2), each in an L2 with
#               dense and with sparse APIC IDs, one L2 after the other
#               (bench/pvipi.py); --reps windows of --secs in each L2
#   pv-tlb      no policies and no noise: the guest's remote TLB flush
#               (native IPIs, 6.12's PV flush, PV TLB v2), each in an
#               overcommitted L2, one after the other (bench/pvtlb.py);
#               --reps windows of --secs of each page count in each L2
#   pv-timer    no policies and no noise: TSC-deadline programming with
#               and without the PV timer (no-kvm-pv-timer), in 2-vCPU L2s
#               (bench/pvtimer.py): TCP request/response, nanosleep loops
#               and nohz idle, a window of --secs each alone and one
#               beside cyclictest; --reps L2s of each, interleaved (at
#               most 2 L2s each and 3 s windows: a few minutes in all)
#
# Writes DIR/meta.json (kernel, command, settings of every policy),
# DIR/windows.jsonl (one line per measured window) and DIR/rundelay.txt
# (bench/rundelay.bt's maps); pv-ipi, pv-tlb and pv-timer write DIR/meta.json and
# DIR/runs.jsonl (one line per L2). bench/report.py turns them into tables.

import argparse
import ctypes
import errno
import importlib.machinery
import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
POLICIES = ("eevdf", "eevdf-slice", "fifo", "deadline", "scx", "vmf")
SCHED_OTHER, SCHED_FIFO, SCHED_DEADLINE, SCHED_EXT, SCHED_VMF = 0, 1, 6, 7, 8
VMF_VM, VMF_VMM = 2, 1
# The RT-KVM recipe runs vCPUs at SCHED_FIFO with RT throttling off.
FIFO_PRIO = 1
RT_RUNTIME = "/proc/sys/kernel/sched_rt_runtime_us"
HELLO_TIMEOUT = 600
# eevdf-slice: the most EEVDF gives a thread that asks for latency. For a
# SCHED_OTHER task, 6.12 takes sched_setattr()'s sched_runtime as the
# task's request (slice), clamped to 0.1-100 ms (__setparam_fair() in
# kernel/sched/syscalls.c), and keeps it (custom_slice) where others get
# the base slice, 0.7 ms times 1 + log2(CPUs): 1.4 ms on the test VM's 2
# CPUs (settings() records it). A shorter request means an earlier
# virtual deadline, and a waking task with a shorter slice than the
# running one preempts it once eligible (PREEMPT_SHORT, on by default).
# 0.1 ms is the shortest the kernel takes. Nice -20 is the largest weight,
# 88761 against nice 0's 1024: the vCPU's vruntime, and so its lag, moves
# 87 times slower than a nice-0 task's.
EEVDF_SLICE_NS, EEVDF_SLICE_NICE = 100_000, -20
# deadline: one SCHED_DEADLINE reservation per vCPU thread, deadline =
# period. 10 ms because the deadline class charges a task's runtime at the
# tick (HRTICK_DL is off by default), every 4 ms at the test kernel's
# HZ=250: a budget can be overrun by up to a tick, several times a 1 ms
# period's budget, under half of a 10 ms period's (4.5 to 9 ms here). The
# runtime is what Policies.dl_runtime() finds admission control leaves.
DL_PERIOD_NS = 10_000_000
# The fixed-point unit of the kernel's deadline bandwidths (BW_SHIFT).
DL_BW_UNIT = 1 << 20
SCHED_DEBUG = "/sys/kernel/debug/sched/debug"
BASE_SLICE = "/sys/kernel/debug/sched/base_slice_ns"
SCX_SYSFS = "/sys/kernel/sched_ext"
# How long a sched_ext scheduler may take to load, or to unload.
SCX_TIMEOUT = 120
PR_SET_PDEATHSIG = 1


def load_vmfctl():
    path = os.path.join(ROOT, "scripts", "vmfctl")
    loader = importlib.machinery.SourceFileLoader("vmfctl", path)
    spec = importlib.util.spec_from_loader("vmfctl", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


vmfctl = load_vmfctl()
sys.path.insert(0, HERE)
import pvipi  # noqa: E402
import pvtimer  # noqa: E402
import pvtlb  # noqa: E402


def die(msg):
    print(f"scenario: {msg}", file=sys.stderr)
    sys.exit(1)


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def mark(what):
    """Rename this thread: bench/rundelay.bt's window marks."""
    write("/proc/thread-self/comm", f"vmfbench-{what}")


def set_policy(tid, policy, prio=0, nice=0, runtime=0, deadline=0, period=0):
    attr = vmfctl.SchedAttr()
    attr.sched_policy, attr.sched_priority, attr.sched_nice = policy, prio, nice
    attr.sched_runtime, attr.sched_deadline, attr.sched_period = runtime, deadline, period
    try:
        vmfctl.sched_setattr(tid, attr)
    except OSError as e:
        # A thread of an L2 guest that ended needs no policy.
        if e.errno == errno.ESRCH:
            return
        what = f"sched_setattr({tid}, policy {policy}, prio {prio}, nice {nice}, " \
               f"runtime {runtime}, deadline {deadline}, period {period}): {e.strerror}"
        if policy == SCHED_DEADLINE and e.errno == errno.EBUSY:
            what += ": deadline admission control refused the reservation"
        elif policy == SCHED_DEADLINE and e.errno == errno.EPERM:
            what += " (a deadline task must be allowed on every CPU of its root domain)"
        die(what)


def parent_death_signal():
    """In a child, before exec: SIGINT when the scenario dies, however it
    dies, so that the BPF scheduler it loaded unloads as on ^C."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def settings():
    """Everything that decides who gets a CPU, for results.json."""
    s = {"sched_rt_runtime_us": read(RT_RUNTIME),
         "sched_rt_period_us": read("/proc/sys/kernel/sched_rt_period_us")}
    for name in sorted(os.listdir("/proc/sys/kernel")):
        if name.startswith("sched_vmf_"):
            s[name] = read(f"/proc/sys/kernel/{name}")
    fs = "/sys/kernel/debug/sched/fair_server"
    if os.path.isdir(fs):
        for cpu in sorted(os.listdir(fs)):
            s[f"fair_server_{cpu}"] = {
                "runtime_ns": read(f"{fs}/{cpu}/runtime"),
                "period_ns": read(f"{fs}/{cpu}/period")}
    s["base_slice_ns"] = read(BASE_SLICE)
    s["sched_ext_state"] = read(os.path.join(SCX_SYSFS, "state"))
    return s


class Policies:
    """Puts the vCPU threads (and VMM threads) under one policy. Under the
    baselines (eevdf-slice, fifo, deadline, scx) only the vCPU threads
    change; VMM threads stay SCHED_OTHER."""

    def __init__(self, vcpus, vmm=(), scx=None):
        self.vcpus, self.vmm, self.scx = list(vcpus), list(vmm), scx
        self.rt_runtime = read(RT_RUNTIME)
        self.dl = None

    def vcpu_attr(self, name):
        """sched_setattr()'s fields for a vCPU thread under policy name."""
        if name == "vmf":
            return {"policy": SCHED_VMF, "prio": VMF_VM}
        if name == "fifo":
            return {"policy": SCHED_FIFO, "prio": FIFO_PRIO}
        if name == "eevdf-slice":
            return {"policy": SCHED_OTHER, "nice": EEVDF_SLICE_NICE, "runtime": EEVDF_SLICE_NS}
        if name == "deadline":
            return {"policy": SCHED_DEADLINE, "runtime": self.dl_runtime(),
                    "deadline": DL_PERIOD_NS, "period": DL_PERIOD_NS}
        if name == "scx":
            return {"policy": SCHED_EXT}
        return {"policy": SCHED_OTHER}

    def dl_runtime(self):
        """The runtime per DL_PERIOD_NS of each vCPU thread's reservation:
        what deadline admission control leaves, split evenly between the
        vCPU threads, and no more than it leaves per CPU (a task runs on one
        CPU at a time). That is the root domain's limit, dl_bw->bw per CPU
        (sched_rt_runtime_us / sched_rt_period_us, 95%), times its CPUs, less
        what is allotted, dl_bw->total_bw: each CPU's fair server (50 ms per
        1 s, or VMF's 1 ms per 20 ms: 5% either way) and any other deadline
        task. The most the kernel admits, as fifo runs with RT throttling
        off: 0.9 CPU each for 2 vCPUs on 2 CPUs, 0.45 for 4. Found once, when
        no vCPU holds a reservation: a task that leaves SCHED_DEADLINE gives
        its bandwidth back only at its 0-lag time."""
        if self.dl is None:
            text = read(SCHED_DEBUG, "")
            bw = set(re.findall(r"\.dl_bw->bw\s*:\s*(-?\d+)", text))
            total = set(re.findall(r"\.dl_bw->total_bw\s*:\s*(-?\d+)", text))
            if len(bw) != 1 or len(total) != 1:
                die(f"deadline policy: expected one root domain's dl_bw in {SCHED_DEBUG}, "
                    f"found limits {sorted(bw)} and totals {sorted(total)}")
            bw, total = int(bw.pop()), int(total.pop())
            if bw < 0:
                die("deadline policy: admission control is off (sched_rt_runtime_us -1)")
            ncpus = os.cpu_count()
            free = bw * ncpus - total
            share = min(free // len(self.vcpus), free // ncpus)
            runtime = share * DL_PERIOD_NS // DL_BW_UNIT
            if runtime <= 0:
                die(f"deadline policy: admission control leaves nothing for the vCPUs "
                    f"(limit {bw}/{DL_BW_UNIT} per CPU on {ncpus} CPUs, {total} allotted)")
            self.dl = {"runtime_ns": runtime, "period_ns": DL_PERIOD_NS,
                       "dl_bw_per_cpu": bw, "dl_total_bw_before": total}
        return self.dl["runtime_ns"]

    def apply(self, name):
        # The BPF scheduler loads and unloads with every task under EEVDF
        # or under itself: enabling and disabling wait for RCU grace
        # periods, and the RCU kthread is SCHED_OTHER. With hogs above the
        # fair class on every CPU (overcommit) it took 82 s to load beside
        # deadline vCPUs, and beside VMF vCPUs its disable had not ended
        # 84 s later (RCU stall): until the disable moves them back,
        # SCHED_OTHER tasks are in the ext class, below the fair class and
        # out of the fair server's reach.
        if name != "scx" and self.scx and self.scx.unload():
            die(self.scx.error)
        if name == "scx" and not self.scx.proc:
            self.apply("eevdf")
            self.scx.load()
        # RT throttling's limit is also deadline admission control's: in
        # place before a reservation is asked for.
        self.set_rt_runtime(-1 if name == "fifo" else self.rt_runtime)
        for tid in self.vcpus:
            set_policy(tid, **self.vcpu_attr(name))
        for tid in self.vmm:
            if name == "vmf":
                set_policy(tid, SCHED_VMF, VMF_VMM)
            else:
                set_policy(tid, SCHED_OTHER)

    @staticmethod
    def set_rt_runtime(value):
        """Writes sched_rt_runtime_us only to change it. Any write, even of
        the value it has, fails with EBUSY while the deadline bandwidth
        allotted exceeds the new limit, and after the deadline window it
        can: a vCPU thread that leaves SCHED_DEADLINE while it sleeps, its
        inactive timer already run, keeps its bandwidth allotted
        (sched_dl_overflow() leaves the release to switched_from_dl(),
        which makes it only for a queued task or through a pending
        inactive timer). Seen in a VM: total_bw 1992292 of 1992294 after
        the VMF window that followed the deadline one."""
        if read(RT_RUNTIME) == str(value):
            return
        try:
            write(RT_RUNTIME, value)
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            text = read(SCHED_DEBUG, "")
            bw = re.findall(r"\.dl_bw->(bw|total_bw)\s*:\s*(-?\d+)", text)
            die(f"sched_rt_runtime_us {value}: EBUSY, deadline bandwidth allotted "
                f"beyond the new limit ({', '.join(f'{k} {v}' for k, v in bw[:2])})")

    def describe(self, name):
        """What the vCPU threads ran under, for results.json."""
        d = {"vcpu_attr": self.vcpu_attr(name)}
        if name == "deadline":
            d["deadline"] = self.dl
        if name == "scx":
            d["scx"] = {"cmd": " ".join(self.scx.cmd), "ops": self.scx.ops}
        return d

    def check(self, name):
        """After a window: it ran under the policy throughout."""
        if name == "scx":
            return self.scx.check()
        return None

    def restore(self):
        """Back to EEVDF, the scenario's end included: an unclean unload of
        the BPF scheduler is then reported (Scx.error) rather than fatal,
        so that the rest of the cleanup runs."""
        if self.scx and self.scx.unload():
            print(f"scenario: {self.scx.error}", file=sys.stderr)
        self.apply("eevdf")


class Scx:
    """A sched_ext scheduler, tools/sched_ext's scx_simple built by
    scripts/build-scx.sh, loaded for each scx window and unloaded (SIGINT)
    after it. It is loaded in full mode, scx_simple's only one: every
    SCHED_OTHER task then runs under it too, the noise as well as the
    vCPU threads (SCHED_EXT). Partial mode (SCX_OPS_SWITCH_PARTIAL, -p of
    scx_qmap) would leave the noise in the fair class, which ranks above
    the ext class: with CPU hogs on every CPU the vCPUs would run only
    when the fair class has nothing, so the measure would be of that
    ranking, not of the BPF scheduler. scx_simple runs in its default
    weighted-vtime mode, one global queue shared by all CPUs."""

    def __init__(self, binary, logdir):
        self.cmd, self.logdir = [binary], logdir
        self.ops = os.path.basename(binary).removeprefix("scx_")
        self.proc, self.loads, self.seq, self.error = None, 0, None, None

    def state(self):
        return read(os.path.join(SCX_SYSFS, "state"))

    def output(self):
        return read(self.log, "").strip()[-2000:]

    def load(self):
        if self.proc:
            return
        if self.state() != "disabled":
            die(f"sched_ext is '{self.state()}' before loading {self.cmd[0]}: "
                "another BPF scheduler is loaded")
        self.loads += 1
        self.log = os.path.join(self.logdir, f"scx-{self.loads}.log")
        seq_before = int(read(os.path.join(SCX_SYSFS, "enable_seq")))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=parent_death_signal)
        start = time.monotonic()
        end = start + SCX_TIMEOUT
        # scx_ops_enable() sets the state to enabled before it counts the
        # load in enable_seq: a make check run read the old count here,
        # and the window's check then saw a load it had not made.
        while not (self.state() == "enabled" and
                   read(os.path.join(SCX_SYSFS, "root", "ops")) == self.ops and
                   int(read(os.path.join(SCX_SYSFS, "enable_seq"))) > seq_before):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                die(f"{self.cmd[0]} did not load (sched_ext '{self.state()}' after "
                    f"{SCX_TIMEOUT} s or at its exit): {self.output()}")
            time.sleep(0.1)
        self.seq = read(os.path.join(SCX_SYSFS, "enable_seq"))
        self.load_secs = time.monotonic() - start

    def check(self):
        """The load of load() is the one still enabled: sched_ext's
        enable_seq counts loads, so a scheduler that the kernel threw out
        and that was loaded again shows too."""
        state, seq = self.state(), read(os.path.join(SCX_SYSFS, "enable_seq"))
        if self.proc.poll() is not None or state != "enabled" or seq != self.seq:
            die(f"{self.cmd[0]} did not stay loaded through the window: sched_ext "
                f"'{state}', enable_seq {seq} (was {self.seq}); its output: {self.output()}")
        return {"sched_ext_state": state, "enable_seq": seq, "ops": self.ops,
                "load_secs": round(self.load_secs, 2)}

    def stop(self):
        """SIGINT, as a user's ^C; returns its exit status."""
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=SCX_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def unload(self):
        """Stop the scheduler if it runs; returns an error (also kept in
        self.error) unless it unloaded cleanly."""
        if not self.proc:
            return None
        rc = self.stop()
        exits = re.findall(r"^EXIT: (.*)$", self.output(), re.M)
        if rc != 0 or self.state() != "disabled" or \
                not exits or not exits[-1].startswith("unregistered from user space"):
            self.error = (f"{self.cmd[0]} did not unload cleanly on SIGINT (exit status {rc}, "
                          f"sched_ext '{self.state()}'): {self.output()}")
            return self.error
        return None


# --- Host noise ---------------------------------------------------------

NOISE_SRC = r"""
#include <stdio.h>
#include <string.h>
struct s { int a[64]; };
static int f(struct s *p, int n) { int i, r = 0; for (i = 0; i < n; i++) r += p->a[i % 64] * i; return r; }
int main(int argc, char **argv) { struct s x; memset(&x, argc, sizeof(x)); printf("%d\n", f(&x, argc * 1000)); return 0; }
"""


class Noise:
    """Host noise, running for the whole scenario, each kind in its own
    cgroup: CPU hogs (stress-ng), hackbench in a loop, and a compile loop
    (gcc's fork and exec of cc1 and as, like a kernel build). A window's
    share of it is read from the cgroups' cpu.stat and from the loops'
    completion counts: noise started and stopped per window would stretch
    the windows whenever a policy starves it."""

    ROOT = "/sys/fs/cgroup/vmfbench"
    KINDS = ("stress", "hackbench", "compile")

    def __init__(self, ncpus, tmp):
        src = os.path.join(tmp, "noise.c")
        write(src, NOISE_SRC)
        self.done = {k: os.path.join(tmp, f"{k}.done") for k in ("hackbench", "compile")}
        loop = "while :; do {} >/dev/null 2>&1 && echo >>{}; done"
        # 1 group of 4 senders and 4 receivers, 50 messages each.
        self.cmds = {
            "stress": ["stress-ng", "--cpu", str(ncpus), "--cpu-method", "fibonacci",
                       "--timeout", "0"],
            "hackbench": ["sh", "-c", loop.format("hackbench -p -g 1 -f 4 -l 50",
                                                  self.done["hackbench"])],
            "compile": ["sh", "-c", loop.format(
                f"gcc -O2 -c {src} -o {os.path.join(tmp, 'noise.o')}", self.done["compile"])],
        }
        os.makedirs(self.ROOT, exist_ok=True)
        self.procs = []
        for kind, cmd in self.cmds.items():
            cg = os.path.join(self.ROOT, kind)
            os.makedirs(cg, exist_ok=True)
            self.procs.append(subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=lambda cg=cg: write(os.path.join(cg, "cgroup.procs"), os.getpid())))

    def sample(self):
        s = {"t": time.monotonic()}
        for kind in self.cmds:
            stat = read(os.path.join(self.ROOT, kind, "cpu.stat"), "")
            m = re.search(r"^usage_usec (\d+)", stat, re.M)
            s[kind + "_usec"] = int(m.group(1)) if m else 0
        for kind, path in self.done.items():
            # One byte, a newline, per completed run.
            s[kind + "_runs"] = os.path.getsize(path) if os.path.exists(path) else 0
        return s

    @staticmethod
    def rates(a, b):
        """What the noise got done between two samples, per second."""
        secs = b["t"] - a["t"]
        return {
            "stress_cpus": (b["stress_usec"] - a["stress_usec"]) / 1e6 / secs,
            "hackbench_cpus": (b["hackbench_usec"] - a["hackbench_usec"]) / 1e6 / secs,
            "compile_cpus": (b["compile_usec"] - a["compile_usec"]) / 1e6 / secs,
            "hackbench_runs_per_s": (b["hackbench_runs"] - a["hackbench_runs"]) / secs,
            "compiles_per_s": (b["compile_runs"] - a["compile_runs"]) / secs,
        }

    def freeze(self, frozen):
        for kind in self.cmds:
            write(os.path.join(self.ROOT, kind, "cgroup.freeze"), int(frozen))

    def stop(self):
        kill_cgroups(self.ROOT, self.cmds, wait=lambda: [p.wait() for p in self.procs])


def kill_cgroups(root, kinds, wait=None):
    """Kill every process in root/<kind>, then remove the groups and root."""
    for kind in kinds:
        try:
            write(os.path.join(root, kind, "cgroup.kill"), 1)
        except OSError:
            pass
    if wait:
        wait()
    for kind in kinds:
        for _ in range(50):
            try:
                os.rmdir(os.path.join(root, kind))
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
    try:
        os.rmdir(root)
    except OSError:
        pass


class Guard:
    """Puts the host back as it was when the scenario ends, however it
    ends: SIGKILL and the OOM killer run no finally clause. A child
    process holds the read end of a pipe whose write end only the
    scenario holds (os.pipe() fds are not inherited by what it starts);
    the kernel closes that end when the scenario dies, and the child,
    reading EOF, writes back sched_rt_runtime_us and kills the noise.
    The child leaves the process group, so a ^C meant for the scenario
    does not end it first."""

    def __init__(self, files, cgroup_root, cgroup_kinds):
        saved = {f: read(f) for f in files}
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.setsid()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            while True:
                try:
                    if not os.read(r, 1):
                        break
                except InterruptedError:
                    continue
            for f, value in saved.items():
                if value is not None and read(f) != value:
                    try:
                        write(f, value)
                    except OSError:
                        pass
            kill_cgroups(cgroup_root, cgroup_kinds)
            os._exit(0)
        os.close(r)
        self.w, self.pid = w, pid

    def release(self):
        """A normal end: let the child check, and wait for it."""
        os.close(self.w)
        os.waitpid(self.pid, 0)


# --- vCPUs ---------------------------------------------------------------

class Channel:
    """The line protocol of bench/vcpusim, over two file descriptors."""

    def __init__(self, rfd, wfd):
        self.rfd, self.wfd, self.buf = rfd, wfd, b""

    def send(self, line):
        os.write(self.wfd, (line + "\n").encode())

    def recv_json(self, timeout):
        """The next line that is a JSON object; noise before it is skipped."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.strip(b"\r\x00 ")
                if line.startswith(b"{"):
                    try:
                        return json.loads(line)
                    except ValueError:
                        pass
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                data = os.read(self.rfd, 65536)
                if not data:
                    return None
                self.buf += data


def vcpusim_args(scenario, ncpus):
    if scenario == "overcommit":
        return ["--threads", str(2 * ncpus), "--groups", "2", "--hog",
                "--run-us", "200", "--hold-us", "20"]
    return ["--threads", str(ncpus), "--period-us", "1000", "--run-us", "100",
            "--lock-every", "10", "--hold-us", "20"]


class LocalVcpus:
    def __init__(self, scenario, ncpus, out):
        cmd = [os.path.join(out["bin"], "vcpusim")] + vcpusim_args(scenario, ncpus)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.chan = Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno())
        hello = self.chan.recv_json(60)
        if not hello:
            die("vcpusim did not start")
        self.vcpus, self.vmm = hello["tids"], []

    def close(self):
        self.chan.send("q")
        self.proc.wait(timeout=60)
        return "clean"


class L2Vcpus:
    """An L2 guest; vcpusim runs in it, one thread pinned to each vCPU,
    driven over the guest's third serial port. For timer latency the
    threads run at SCHED_FIFO inside the guest, as cyclictest is run."""

    GUEST_ARGS = {
        "l2": ["--fifo", "98", "--period-us", "1000", "--run-us", "20", "--lock-every", "0"],
        "l2-overcommit": ["--membarrier", "--run-us", "200"],
    }

    def __init__(self, scenario, ncpus, out, timeout):
        self.ctl = os.path.join(out["tmp"], "ctl")
        for end in (".in", ".out"):
            os.mkfifo(self.ctl + end)
        # O_RDWR: neither open waits for QEMU, and QEMU's opens do not wait.
        rfd = os.open(self.ctl + ".out", os.O_RDWR)
        wfd = os.open(self.ctl + ".in", os.O_RDWR)
        self.chan = Channel(rfd, wfd)
        self.scenario, self.ncpus, self.out, self.timeout = scenario, ncpus, out, timeout
        self.boots = 0
        self.start()

    def start(self):
        """Boot the L2 (again) and find its vCPU and VMM threads."""
        scenario, ncpus, out, timeout = self.scenario, self.ncpus, self.out, self.timeout
        self.boots += 1
        self.log = os.path.join(out["dir"], f"l2-console-{self.boots}.log")
        # The RT-KVM recipe keeps a housekeeping CPU free of FIFO vCPUs.
        # With FIFO vCPUs on both CPUs of the test VM, its L2 stalled for
        # 6-8 s in 10 s windows (the guest's clocksource watchdog says so),
        # and twice the run never finished: once the L2 reset, once the
        # test VM stopped answering. l2-overcommit oversubscribes on
        # purpose.
        nvcpus = ncpus * 2 if scenario == "l2-overcommit" else max(ncpus - 1, 1)
        guest = ["vcpusim", "--ctl", "/dev/ttyS2", "--threads", str(nvcpus),
                 "--pin"] + self.GUEST_ARGS[scenario]
        self.cmd = [os.path.join(ROOT, "scripts", "l2.sh"), "--smp", str(nvcpus),
                    "--timeout", str(timeout), "--log", self.log,
                    "--file", os.path.join(out["bin"], "vcpusim.static") + ":/bin/vcpusim",
                    "--qemu-arg", "-serial", "--qemu-arg", f"pipe:{self.ctl}",
                    "--", " ".join(guest)]
        self.proc = subprocess.Popen(
            self.cmd, stdout=open(os.path.join(out["dir"], f"l2-{self.boots}.out"), "w"),
            stderr=subprocess.STDOUT)
        hello = self.chan.recv_json(HELLO_TIMEOUT)
        if not hello:
            self.proc.kill()
            die(f"the L2 guest never said hello; see {self.log}")
        qemu = self.find_qemu()
        tasks = {int(t): read(f"/proc/{qemu}/task/{t}/comm", "")
                 for t in os.listdir(f"/proc/{qemu}/task")}
        self.vcpus = sorted(t for t, c in tasks.items() if c.startswith("CPU "))
        self.vmm = sorted(t for t, c in tasks.items() if not c.startswith("CPU "))
        if len(self.vcpus) != nvcpus:
            die(f"QEMU {qemu} has {len(self.vcpus)} vCPU threads, expected {nvcpus}")

    def find_qemu(self):
        for pid in os.listdir("/proc"):
            if pid.isdigit() and self.ctl in (read(f"/proc/{pid}/cmdline", "") or ""):
                if "qemu-system" in read(f"/proc/{pid}/comm", ""):
                    return int(pid)
        die("cannot find the L2's QEMU process")

    def kill(self):
        """Kill the L2's QEMU and l2.sh, whatever state they are in."""
        for p in os.listdir("/proc"):
            if p.isdigit() and self.ctl in (read(f"/proc/{p}/cmdline", "") or ""):
                try:
                    os.kill(int(p), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.kill()
        self.proc.wait()
        # Both FIFOs outlive QEMU: drop what the dead guest wrote, and the
        # commands it never read, before the next guest says hello.
        self.chan.buf = b""
        for fd in (self.chan.rfd, self.chan.wfd):
            while select.select([fd], [], [], 0)[0]:
                if not os.read(fd, 65536):
                    break

    def close(self):
        """Stop the L2; returns how it ended, for results.json. Its windows
        are measured by then, so an unclean end is reported, not fatal:
        under nested TCG the L2 has shown RCU stalls of its own (timer
        softirq starved for 130 s) and then failed to power off."""
        self.chan.send("q")
        try:
            rc = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"did not power off within 120 s; killed (see {self.log})"
        if rc:
            return f"l2.sh exit status {rc} (126: a kernel splat in the L2; see {self.log})"
        return "clean"


# --- The run ----------------------------------------------------------------

def start_bpftrace(path):
    """bench/rundelay.bt, once all its probes are attached. bpftrace prints
    "Attaching N probes..." before it attaches them, and a window marked
    in between is missed."""
    log = open(path, "w")
    proc = subprocess.Popen(["bpftrace", os.path.join(HERE, "rundelay.bt")],
                            stdout=log, stderr=subprocess.STDOUT)
    end = time.monotonic() + 300
    while not re.search(r"^ready$", read(path, ""), re.M):
        if proc.poll() is not None or time.monotonic() > end:
            die(f"bpftrace did not start: {read(path, '')}")
        time.sleep(0.5)
    return proc


def check_marks(path, n):
    """Every window start was seen by bpftrace, in order."""
    seen = [int(w) for w in re.findall(r"^window (\d+)$", read(path, ""), re.M)]
    if seen != list(range(1, n + 1)):
        die(f"bpftrace saw window starts {seen} of {n} windows ({path})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=("synthetic", "l2", "overcommit", "l2-overcommit",
                                         "pv-ipi", "pv-tlb", "pv-timer"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", required=True, help="where vcpusim was built")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--settle", type=float, default=1)
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--scx", help="the sched_ext scheduler of the scx policy "
                    "(scripts/build-scx.sh builds scx_simple)")
    args = ap.parse_args()
    if args.scenario in PV_SCENARIOS:
        PV_SCENARIOS[args.scenario](args)
        return
    policies = args.policies.split(",")
    for p in policies:
        if p not in POLICIES:
            die(f"unknown policy {p}")
    if "vmf" in policies and not vmfctl.vmf_supported():
        die("this kernel has no SCHED_VMF")
    if "scx" in policies:
        if not args.scx or not os.access(args.scx, os.X_OK):
            die(f"the scx policy needs --scx, a sched_ext scheduler to run (got {args.scx}); "
                "scripts/build-scx.sh builds one")
        if not os.path.exists(os.path.join(SCX_SYSFS, "state")):
            die(f"the scx policy needs sched_ext, and this kernel has no {SCX_SYSFS} "
                "(CONFIG_SCHED_CLASS_EXT)")

    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vmfbench.")
    ncpus = os.cpu_count()
    # Before anything changes, and before this process turns SCHED_FIFO.
    guard = Guard([RT_RUNTIME], Noise.ROOT, Noise.KINDS)
    # Windows must end on time whatever the vCPUs do; the noise it starts
    # goes back to SCHED_OTHER.
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(99))
    if not os.path.ismount("/sys/kernel/debug"):
        subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"], check=False)

    bpf = start_bpftrace(os.path.join(args.out, "rundelay.txt"))
    where = {"dir": args.out, "bin": args.bin, "tmp": tmp}
    per_window = args.settle + args.secs + 2
    if "scx" in policies:
        # Each scx window loads the BPF scheduler and unloads it after.
        per_window += 2 * SCX_TIMEOUT / len(policies)
    if args.scenario.startswith("l2"):
        vcpus = L2Vcpus(args.scenario, ncpus, where,
                        timeout=int(HELLO_TIMEOUT + args.reps * len(policies) * per_window * 2))
    else:
        vcpus = LocalVcpus(args.scenario, ncpus, where)
    scx = Scx(args.scx, args.out) if "scx" in policies else None
    pol = Policies(vcpus.vcpus, vcpus.vmm, scx)
    noise = Noise(ncpus, tmp)
    meta = {"scenario": args.scenario, "kernel": os.uname().release,
            "cmdline": read("/proc/cmdline"), "cpus": ncpus,
            "reps": args.reps, "secs": args.secs, "policies": policies,
            "vcpu_cmd": vcpus.cmd, "vcpu_tids": vcpus.vcpus, "vmm_tids": vcpus.vmm,
            "noise": {k: " ".join(c) for k, c in noise.cmds.items()},
            "settings": {}}

    windows = open(os.path.join(args.out, "windows.jsonl"), "w")
    n = 0
    meta["l2_restarts"] = []
    try:
        for rep in range(args.reps):
            # Rotate the order so that no policy always follows another.
            order = policies[rep % len(policies):] + policies[:rep % len(policies)]
            for p in order:
                pol = measure(args, vcpus, pol, noise, meta, windows, rep, p, n)
                n = meta["windows"]
    finally:
        pol.restore()
        noise.stop()
        meta["vcpus_end"] = vcpus.close()
        bpf.send_signal(signal.SIGINT)
        # Printing the maps takes minutes on the DEBUG=1 kernel.
        bpf.wait(timeout=900)
        windows.close()
        with open(os.path.join(args.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        shutil.rmtree(tmp, ignore_errors=True)
        guard.release()
    if pol.scx and pol.scx.error:
        die(pol.scx.error)
    check_marks(os.path.join(args.out, "rundelay.txt"), meta.get("windows", 0))


# An L2 that fails after its command started (l2.sh retries only boots
# that never got there) is booted once more.
PV_L2_TRIES = 2


def pv_l2(args, meta, configs, describe):
    """A paravirt scenario: one L2 per configuration, configs being (name,
    run) pairs in order, run() booting the L2 and returning its result. A
    configuration whose L2 failed twice is reported without figures; the
    scenario fails only if none was measured."""
    os.makedirs(args.out, exist_ok=True)
    meta.update({"kernel": os.uname().release, "cmdline": read("/proc/cmdline"),
                 "cpus": os.cpu_count(), "reps": args.reps, "secs": args.secs,
                 "l2_restarts": []})

    def save_meta():
        # After every L2: a run that the test VM does not survive keeps
        # what it measured.
        with open(os.path.join(args.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)

    measured = 0
    save_meta()
    with open(os.path.join(args.out, "runs.jsonl"), "w") as runs:
        for config, run in configs:
            for attempt in range(1, PV_L2_TRIES + 1):
                res = run()
                print(describe(res), flush=True)
                if not res["errors"]:
                    break
                meta["l2_restarts"].append({"config": config, "attempt": attempt,
                                            "errors": res["errors"]})
                # Keep the failed L2's files for the report's reader.
                for f in os.listdir(args.out):
                    if f.startswith(f"{config}.") or f.startswith(f"{config}-"):
                        if ".failed" not in f:
                            os.rename(os.path.join(args.out, f),
                                      os.path.join(args.out, f"{f}.failed{attempt}"))
            measured += not res["errors"]
            runs.write(json.dumps(res) + "\n")
            runs.flush()
            save_meta()
    if not measured:
        die(f"no {meta['scenario']} configuration was measured")


def pv_ipi(args):
    """The pv-ipi scenario, in the order of bench/pvipi.py's LAYOUTS and
    MODES."""
    meta = {"scenario": "pv-ipi", "sender": pvipi.SENDER,
            "layouts": {k: pvipi.LAYOUTS[k] for k in pvipi.BENCH_LAYOUTS},
            "modes": pvipi.MODES}
    configs = [(f"{layout}-{mode}",
                lambda layout=layout, mode=mode: pvipi.run(
                    layout, mode, args.bin, args.out, secs=args.secs, windows=args.reps,
                    settle=max(args.settle, 2)))
               for layout in pvipi.BENCH_LAYOUTS for mode in pvipi.MODES]
    pv_l2(args, meta, configs, pvipi.describe)


def pv_tlb(args):
    """The pv-tlb scenario: one L2 per mode of bench/pvtlb.py's
    BENCH_MODES, each with --reps windows of every page count of
    BENCH_PAGES, taken in turn."""
    meta = {"scenario": "pv-tlb", "smp": pvtlb.SMP, "pages": pvtlb.BENCH_PAGES,
            "modes": {m: pvtlb.MODES[m] for m in pvtlb.BENCH_MODES}}
    configs = [(mode, lambda mode=mode: pvtlb.run(
                    mode, args.bin, args.out, secs=args.secs, windows=args.reps,
                    settle=max(args.settle, 2), pages=pvtlb.BENCH_PAGES))
               for mode in pvtlb.BENCH_MODES]
    pv_l2(args, meta, configs, pvtlb.describe)


# pv-timer's caps on --reps (L2s per mode) and --secs (the window).
PV_TIMER_RUNS, PV_TIMER_SECS = 2, 3


def pv_timer(args):
    """The pv-timer scenario: --reps L2s per mode of bench/pvtimer.py,
    taken in turn (upstream, v2, upstream, ...), so that the spread between
    two L2s of a mode shows beside the difference between the modes."""
    runs, secs = min(args.reps, PV_TIMER_RUNS), min(args.secs, PV_TIMER_SECS)
    meta = {"scenario": "pv-timer", "smp": pvtimer.SMP, "patterns": pvtimer.PATTERNS,
            "modes": pvtimer.MODES, "runs": runs, "window_secs": secs,
            "sleep_us": pvtimer.SLEEP_US, "ct_interval_us": pvtimer.CT_INTERVAL_US}
    configs = [(f"{mode}-{i}", lambda mode=mode, i=i: pvtimer.run(
                    mode, args.bin, args.out, secs=secs, settle=max(args.settle, 1),
                    name=f"{mode}-{i}"))
               for i in range(1, runs + 1) for mode in pvtimer.MODES]
    pv_l2(args, meta, configs, pvtimer.describe)


PV_SCENARIOS = {"pv-ipi": pv_ipi, "pv-tlb": pv_tlb, "pv-timer": pv_timer}


# Under QEMU's TCG, nested SVM sometimes resets an L2 guest with no message
# (QEMU exits as on a power-off, with no status from the guest): three
# times in 30-100 s runs of the l2 scenario, in FIFO and VMF windows alike.
# The L2 is booted again, noise frozen meanwhile, and the window is run
# again; results.json lists every restart.
MAX_L2_RESTARTS = 3


def measure(args, vcpus, pol, noise, meta, windows, rep, p, n):
    """One window of policy p (more if the L2 must be restarted); returns
    the Policies in use, which a restart replaces."""
    while True:
        pol.apply(p)
        meta["settings"].setdefault(p, dict(settings(), **pol.describe(p)))
        time.sleep(args.settle)
        n += 1
        meta["windows"] = n
        mark("win")
        before = noise.sample()
        vcpus.chan.send(f"w {n}")
        time.sleep(args.secs)
        vcpus.chan.send(f"e {n}")
        after = noise.sample()
        held = pol.check(p)
        mark("gap")
        host = Noise.rates(before, after)
        res = vcpus.chan.recv_json(60)
        # An L2 whose timer interrupts stopped still answers on its serial
        # port, but its threads, which wake every 1 ms (l2) or after every
        # 200 us of work (l2-overcommit), hardly woke: seen with 0 or 1
        # wakeups in a 10 s window.
        answered = bool(res) and res.get("window") == n
        frozen = (answered and isinstance(vcpus, L2Vcpus) and
                  sum(t["wakeups"] for t in res["threads"]) < args.secs * len(res["threads"]))
        if answered and not frozen:
            break
        if not (isinstance(vcpus, L2Vcpus) and len(meta["l2_restarts"]) < MAX_L2_RESTARTS):
            die(f"no result from the vCPUs for window {n}")
        if frozen:
            how = "stopped waking its threads"
        elif vcpus.proc.poll() is not None:
            how = "ended"
        else:
            how = "stopped answering"
        meta["l2_restarts"].append({"window": n, "policy": p, "log": vcpus.log, "how": how})
        print(f"window {n}: the L2 guest {how} ({vcpus.log}); booting it again", flush=True)
        pol.restore()
        noise.freeze(True)
        vcpus.kill()
        vcpus.start()
        noise.freeze(False)
        pol = Policies(vcpus.vcpus, vcpus.vmm, pol.scx)
    rec = {"window": n, "rep": rep, "policy": p, "host": host, "vcpus": res}
    if held:
        rec["held"] = held
    windows.write(json.dumps(rec) + "\n")
    windows.flush()
    print(f"window {n}: rep {rep} {p} {json.dumps(host)}", flush=True)
    return pol


if __name__ == "__main__":
    main()
