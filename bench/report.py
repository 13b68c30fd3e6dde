#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Turn the raw output of bench/scenario.py into results.json, report.md
# and gnuplot PNGs.
#
#   report.py DIR [--config KCONFIG] [--command CMD] [--no-plots]
#
# DIR holds one directory per scenario (meta.json, windows.jsonl,
# rundelay.txt). Every figure is per window first; a policy's figure is
# the median over its windows, and for maxima the median of the per-window
# maxima with their range, since one maximum under TCG is noise. The
# pv-ipi, pv-tlb and pv-timer scenarios have no policies: their directories
# hold meta.json and runs.jsonl, one L2 per configuration, summed by
# bench/pvipi.py, bench/pvtlb.py and bench/pvtimer.py.

import argparse
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

BASELINE = "eevdf"
POLICY_TITLE = {"eevdf": "EEVDF", "eevdf-slice": "EEVDF slice 0.1 ms, nice -20",
                "fifo": "SCHED_FIFO", "deadline": "SCHED_DEADLINE",
                "scx": "sched_ext (scx_simple)", "vmf": "VMF"}
SCENARIO_TITLE = {
    "synthetic": "Synthetic vCPUs (one per CPU, 1 ms period) beside host noise",
    "l2": "Real vCPUs: an L2 guest under KVM (one vCPU fewer than CPUs) beside host noise",
    "overcommit": "Overcommit: two VMs of one hogging vCPU per CPU each, beside host noise",
    "l2-overcommit": "Real vCPUs overcommitted: an L2 guest with two vCPUs per CPU, "
                     "all busy and IPIing each other, beside host noise",
    "pv-ipi": "Paravirt IPIs: multicast call-function IPIs in 4-vCPU L2 guests, "
              "native APIC, 6.12's PV IPI and PV IPI v2",
    "pv-tlb": "Paravirt TLB shootdowns: munmap() on every vCPU of an overcommitted L2 "
              "guest, native IPIs, 6.12's PV flush and PV TLB v2",
    "pv-timer": "PV timer: TSC-deadline programming in 2-vCPU L2 guests, every deadline "
                "through the MSR (6.12) and through the PV timer area",
    "wakecost": "The cost of a wakeup: guest kernel instructions per wakeup cycle of a "
                "periodic thread against two hogs, by policy and scheduler step",
}
# What vcpusim's own histogram measures in each scenario (none: hogs).
LATENESS_TITLE = {
    "synthetic": "vCPU wake lateness",
    "l2": "in-guest timer latency",
    "overcommit": None,
    "l2-overcommit": "in-guest IPI round trip (membarrier)",
    "pv-ipi": None,
    "pv-tlb": None,
    "pv-timer": None,
}
PV_IPI_MODE_TITLE = {"native": "native", "upstream": "6.12 PV IPI", "v2": "PV IPI v2"}
PV_TLB_MODE_TITLE = {"native": "native IPIs", "upstream": "6.12 PV flush", "v2": "PV TLB v2"}
PV_TIMER_MODE_TITLE = {"upstream": "6.12 (no-kvm-pv-timer)", "v2": "PV timer"}
PV_TIMER_OPS = {"rr": "round trips", "sleep": "sleeps", "idle": "ms idle"}
PV_TIMER_PATTERN_TITLE = {"rr": "TCP RR", "sleep": "nanosleep", "idle": "nohz idle"}
# The goal for the PV timer: this many fewer deadline writes than
# 6.12 on TCP RR, with cyclictest's p99 and max no worse within the spread.
PV_TIMER_GOAL = 0.9
# The issue's goal for PV TLB v2: this much of 6.12's PV flush's throughput.
PV_TLB_GOAL = 1.3
PLOT_BINS_PER_DECADE = 10
LONG_WAIT_TASKS = 5
CONFIG_KEYS = ("CONFIG_LOCALVERSION", "CONFIG_JUMP_LABEL", "CONFIG_HZ",
               "CONFIG_PREEMPT_DYNAMIC", "CONFIG_SCHED_CLASS_VMF",
               "CONFIG_NO_HZ_FULL", "CONFIG_SCHEDSTATS", "CONFIG_KASAN",
               "CONFIG_PROVE_LOCKING")


def die(msg):
    print(f"report: {msg}", file=sys.stderr)
    sys.exit(1)


# --- Histograms: {bucket floor in us: count} ------------------------------

def percentile(hist, q):
    total = sum(hist.values())
    if not total:
        return None
    rank, seen = q * total, 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return b
    return max(hist)


def merge(hists):
    out = {}
    for h in hists:
        for b, n in h.items():
            out[b] = out.get(b, 0) + n
    return out


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


# --- Raw input ----------------------------------------------------------

# The second key is a number (a histogram bucket) or a task's comm.
MAP_LINE = re.compile(r"^@(\w+)\[(\d+)(?:, (.*))?\]:\s*(\d+)\s*$")


def read_rundelay(path):
    """bench/rundelay.bt's maps: {map: {window: value or {key: n}}}."""
    maps = {}
    with open(path) as f:
        for line in f:
            m = MAP_LINE.match(line)
            if not m:
                continue
            name, w, key, value = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            per_window = maps.setdefault(name, {})
            if key is None:
                per_window[w] = value
            else:
                per_window.setdefault(w, {})[int(key) if key.isdigit() else key] = value
    return maps


def task_kind(comm):
    """A comm with its numbers folded: 'kworker/1:2' -> 'kworker/N:N'."""
    return re.sub(r"\d+", "N", comm)


def window_summary(rec, maps, scenario):
    w, v = rec["window"], rec["vcpus"]
    secs = v["elapsed_ns"] / 1e9
    run_delay = maps.get("vcpu", {}).get(w, {})
    host_delay = maps.get("host", {}).get(w, {})
    lateness = merge({int(b): n for b, n in t["hist_us"].items()} for t in v["threads"])
    s = {
        "window": w, "rep": rec["rep"], "policy": rec["policy"], "secs": secs,
        "run_delay_us": {
            "events": sum(run_delay.values()),
            "p50": percentile(run_delay, 0.5), "p95": percentile(run_delay, 0.95),
            "p99": percentile(run_delay, 0.99), "p99.9": percentile(run_delay, 0.999),
            "max": maps.get("vcpu_max", {}).get(w, 0) / 1000 if run_delay else None,
        },
        "host_run_delay_us": {
            "events": sum(host_delay.values()), "p99": percentile(host_delay, 0.99),
            "max": maps.get("host_max", {}).get(w, 0) / 1000 if host_delay else None,
        },
        "lateness_us": {
            "wakeups": sum(t["wakeups"] for t in v["threads"]),
            "p50": percentile(lateness, 0.5), "p95": percentile(lateness, 0.95),
            "p99": percentile(lateness, 0.99),
            "max": max((t["max_ns"] for t in v["threads"]), default=0) / 1000
            if lateness else None,
        },
        "steal_pct": 100 * v["steal_ticks"] / v["total_ticks"] if v["total_ticks"] else 0,
        "host": rec["host"],
        "switches_per_s": maps.get("switches", {}).get(w, 0) / secs,
        "vcpu_switches_per_s": maps.get("vcpu_switches", {}).get(w, 0) / secs,
        "migrations_per_s": maps.get("migrations", {}).get(w, 0) / secs,
        "vcpu_migrations_per_s": maps.get("vcpu_migrations", {}).get(w, 0) / secs,
        "pv_yields_per_s": maps.get("pv_yields", {}).get(w, 0) / secs,
        "pv_v2_yields_per_s": maps.get("pv_v2_yields", {}).get(w, 0) / secs,
        "long_waits_behind": merge({task_kind(c): n}
                                   for c, n in maps.get("vcpu_behind", {}).get(w, {}).items()),
        "hist_run_delay_us": run_delay,
        "hist_lateness_us": lateness,
        # What scenario.py checked after the window (scx: sched_ext's state).
        "held": rec.get("held"),
    }
    vcpu_runs = [t["run_ns"] for t in v["threads"]]
    s["vcpu_fairness"] = min(vcpu_runs) / max(vcpu_runs) if max(vcpu_runs) else None
    s["rounds_per_s"] = sum(t["wakeups"] for t in v["threads"]) / secs
    if scenario == "overcommit":
        groups = {}
        for t in v["threads"]:
            g = groups.setdefault(t["group"], {"run_ns": 0, "spin_ns": 0, "locks": 0})
            for k in g:
                g[k] += t[k]
        runs = [g["run_ns"] for g in groups.values()]
        s["vm_cpu_share"] = [r / 1e9 / secs for r in runs]
        s["vm_fairness"] = min(runs) / max(runs) if max(runs) else None
        total_run = sum(runs)
        s["spin_pct"] = 100 * sum(g["spin_ns"] for g in groups.values()) / total_run \
            if total_run else None
        s["locks_per_s"] = sum(g["locks"] for g in groups.values()) / secs
    return s


HOST_METRICS = ("stress_cpus", "hackbench_cpus", "compile_cpus", "hackbench_runs_per_s",
                "compiles_per_s")


def policy_summary(windows):
    def col(path):
        out = []
        for w in windows:
            v = w
            for k in path:
                v = v.get(k) if isinstance(v, dict) else None
            out.append(v)
        return out

    s = {"windows": len(windows)}
    for group, keys in (("run_delay_us", ("p50", "p95", "p99", "p99.9")),
                        ("host_run_delay_us", ("p99",)),
                        ("lateness_us", ("p50", "p95", "p99"))):
        s[group] = {k: median(col((group, k))) for k in keys}
        s[group]["max_median"] = median(col((group, "max")))
        s[group]["max_range"] = spread(col((group, "max")))
    s["host"] = {k: median(col(("host", k))) for k in HOST_METRICS}
    for k in ("steal_pct", "switches_per_s", "vcpu_switches_per_s", "migrations_per_s",
              "vcpu_migrations_per_s", "vm_fairness", "vcpu_fairness", "spin_pct",
              "locks_per_s", "pv_yields_per_s", "pv_v2_yields_per_s", "rounds_per_s"):
        s[k] = median(col((k,)))
    s["long_waits_behind"] = merge(w["long_waits_behind"] for w in windows)
    s["long_waits_per_s"] = sum(s["long_waits_behind"].values()) / sum(w["secs"] for w in windows)
    s["hist_run_delay_us"] = merge(w["hist_run_delay_us"] for w in windows)
    s["hist_lateness_us"] = merge(w["hist_lateness_us"] for w in windows)
    return s


def load_scenario(path, name):
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(path, "windows.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if not recs:
        die(f"{path}: no windows")
    maps = read_rundelay(os.path.join(path, "rundelay.txt"))
    windows = [window_summary(r, maps, name) for r in recs]
    policies = {}
    for p in meta["policies"]:
        mine = [w for w in windows if w["policy"] == p]
        if mine:
            policies[p] = policy_summary(mine)
    return {"meta": meta, "windows": windows, "policies": policies}


def read_pv_runs(path):
    """A paravirt scenario's meta.json, and runs.jsonl's L2s."""
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(path, "runs.jsonl")) as f:
        return meta, [json.loads(line) for line in f if line.strip()]


def load_pv_ipi(path):
    meta, runs = read_pv_runs(path)
    configs = {}
    for r in runs:
        rates = r["ipis_per_s"]
        configs[f"{r['layout']}-{r['mode']}"] = {
            "layout": r["layout"], "mode": r["mode"], "errors": r["errors"],
            "dmesg": r["dmesg"], "per_ipi": r["per_ipi"], "windows": len(r["windows"]),
            "target_apicids": sorted({t["apicid"] for w in r["windows"]
                                      for t in w["guest"]["targets"]}),
            "ipis_per_s": median(rates), "ipis_per_s_range": spread(rates),
            "l2_secs": r["l2_secs"], "apic_mode": r.get("apic_mode"),
        }
    return {"meta": meta, "configs": configs}


def pv_ipi_tables(sc):
    meta, configs = sc["meta"], sc["configs"]
    lines = [f"### {SCENARIO_TITLE['pv-ipi']}", "",
             f"{meta['reps']} windows of {meta['secs']:g} s in each L2, one L2 per "
             f"configuration, on {meta['cpus']} CPUs: 4 vCPUs per L2, so the host "
             "preempts them. The L2's CPU {s} calls membarrier(PRIVATE_EXPEDITED) in a "
             "loop while threads of the same process spin on CPUs {t}: each call IPIs "
             "both, one multicast call-function IPI, unless it finds neither running. "
             "Exits, hypercalls, APIC accesses and IPIs are the host's (kvm:kvm_exit, "
             "kvm:kvm_hypercall, kvm:kvm_msr, kvm:kvm_apic, kvm:kvm_apic_ipi, "
             "kvm:kvm_apic_accept_irq) between the "
             "workload's marks, all vCPUs, per multicast IPI delivered; IPIs per second "
             "are over the guest's time (median of the windows [range]). Dense: APIC "
             "IDs 0-3; sparse: 0, 64, 128, 192.".format(
                 s=meta["sender"], t=" and ".join(map(str, meta["targets"]))), ""]
    restarts = meta.get("l2_restarts") or []
    if restarts:
        lines += ["L2s booted again after a failure: "
                  + "; ".join(f"{r['config']} ({'; '.join(r['errors'])})" for r in restarts)
                  + ".", ""]
    modes = sorted({c["apic_mode"] for c in configs.values() if c.get("apic_mode")})
    if modes:
        lines += [f"The L2s ran their APICs in {' and '.join(modes)} mode."
                  + (" Their kernel has no CONFIG_X86_X2APIC: a native IPI is, per "
                     "target, MMIO writes of ICR2 and the ICR and a read of the ICR "
                     "until the delivery is done, each an exit." if modes == ["xAPIC"]
                     else ""), ""]
    lines += ["| L2 APIC IDs | IPI path | exits / IPI | the most frequent | IPI exits / IPI | "
              "ICR IPIs / IPI | KVM_HC_SEND_IPI / IPI | KVM_HC_SCHED_YIELD / IPI | "
              "KVM_HC_SEND_IPI_V2 / IPI | hypercalls / IPI | IPIs/s | / native |",
              "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for layout in meta["layouts"]:
        native = configs.get(f"{layout}-native", {}).get("ipis_per_s")
        for mode in meta["modes"]:
            c = configs.get(f"{layout}-{mode}")
            title = PV_IPI_MODE_TITLE.get(mode, mode)
            if not c or c["errors"] or not c["per_ipi"].get("ipis"):
                why = "; ".join(c["errors"]) if c else "not run"
                lines.append(f"| {layout} | {title} | - | {why} |" + " - |" * 8)
                continue
            p = c["per_ipi"]
            top = ", ".join(f"{k} {v:.1f}" for k, v in list(p["exits_by_reason"].items())[:3])
            r = c["ipis_per_s_range"]
            lines.append(
                f"| {layout} | {title} | {fmt(p['exits'], 1)} | {top} | "
                # Older results traced no APIC accesses: no ICR figures.
                f"{fmt(p['ipi_exits'] if 'icr_ipis' in p else None, 2)} | "
                f"{fmt(p.get('icr_ipis'), 2)} | "
                f"{fmt(p['send_ipi'], 2)} | {fmt(p['sched_yield'], 2)} | "
                f"{fmt(p['send_ipi_v2'], 2)} | {fmt(p['pv_hypercalls'], 2)} | "
                f"{fmt(c['ipis_per_s'])} [{r[0]:.0f}-{r[1]:.0f}] | "
                f"{ratio(c['ipis_per_s'], native)} |")
    lines += ["", "\"IPI exits\" are the hypercall exits and the ICR accesses: what "
              "sending takes; \"ICR IPIs\" are the IPIs sent by ICR writes. The other exits (the guest's timer, host interrupts, nested page "
              "faults) come with the time a window took, so a slower configuration shows "
              "more of them per IPI. \"hypercalls / IPI\" counts the three hypercalls. "
              "A 6.12 PV IPI names at most "
              "128 APIC IDs from a base, so the sparse L2's targets (64 and 192) take two "
              "KVM_HC_SEND_IPI; its call-function IPI adds a KVM_HC_SCHED_YIELD when a "
              "target's vCPU is preempted. PV IPI v2 sends to any set in one hypercall and "
              "asks for the directed yield in the same one."]
    return lines


def plot_pv_ipi(outdir, sc):
    """Three panels of bars, dense and sparse side by side, one bar per
    IPI path: exits, hypercalls and IPIs per second."""
    meta, configs = sc["meta"], sc["configs"]
    png = "pv-ipi.png"
    dat = os.path.join(outdir, ".pv-ipi.dat")
    modes = list(meta["modes"])
    panels = (("exits per multicast IPI", lambda c: c["per_ipi"]["exits"]),
              ("hypercalls per multicast IPI", lambda c: c["per_ipi"]["pv_hypercalls"]),
              ("multicast call-function IPIs per second", lambda c: c["ipis_per_s"]))
    with open(dat, "w") as f:
        for i, (_, get) in enumerate(panels):
            f.write(f"# {panels[i][0]}: layout " + " ".join(modes) + "\n")
            for layout in meta["layouts"]:
                vals = []
                for m in modes:
                    c = configs.get(f"{layout}-{m}")
                    ok = c and not c["errors"] and c["per_ipi"].get("ipis")
                    vals.append(f"{get(c):.3f}" if ok else "?")
                f.write(f"{layout} " + " ".join(vals) + "\n")
            f.write("\n\n")
    script = ["set terminal png size 1200,420 noenhanced", "set datafile missing '?'",
              f"set output '{os.path.join(outdir, png)}'",
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.8 border -1", "set key below", "set grid ytics",
              f"set xrange [-0.5:{len(meta['layouts']) - 0.5}]", "set yrange [0:*]",
              "set multiplot layout 1,3"]
    for i, (title, _) in enumerate(panels):
        cols = ", ".join(
            f"'{dat}' index {i} using {j + 2}" + (":xtic(1)" if j == 0 else "")
            + f" title '{PV_IPI_MODE_TITLE.get(m, m)}'" for j, m in enumerate(modes))
        script += [f"set title '{title}'", f"plot {cols}"]
    script.append("unset multiplot")
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, stderr=subprocess.PIPE)
    os.unlink(dat)
    if r.returncode:
        die(f"gnuplot failed: {r.stderr}")
    return png


def load_pv_tlb(path):
    meta, runs = read_pv_runs(path)
    configs = {}
    for r in runs:
        sizes = {}
        for p, s in r["pages"].items():
            sizes[p] = dict(s, ops_per_s_median=median(s["ops_per_s"]),
                            ops_per_s_range=spread(s["ops_per_s"]))
        configs[r["mode"]] = {"mode": r["mode"], "errors": r["errors"], "dmesg": r["dmesg"],
                              "l2_secs": r["l2_secs"], "workload": r["workload"],
                              "pages": sizes}
    return {"meta": meta, "configs": configs}


def fmt_ns(ns):
    """Three significant digits: the buckets are powers of two."""
    if ns >= 1000000:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1000:
        return f"{ns / 1e3:.3g} us"
    return f"{ns} ns"


def pv_tlb_sizes(sc):
    """[(pages, {mode: that L2's figures for those pages})], measured only."""
    out = []
    for p in sc["meta"]["pages"]:
        got = {}
        for mode, c in sc["configs"].items():
            s = c["pages"].get(str(p))
            if not c["errors"] and s and s.get("per_shootdown"):
                got[mode] = s
        out.append((p, got))
    return out


def pv_tlb_tables(sc):
    meta, configs = sc["meta"], sc["configs"]
    modes = list(meta["modes"])
    title = PV_TLB_MODE_TITLE
    lines = [f"### {SCENARIO_TITLE['pv-tlb']}", "",
             f"{meta['reps']} windows of {meta['secs']:g} s per page count in each L2, one L2 "
             f"per flush mode, on {meta['cpus']} CPUs: {meta['smp']} vCPUs per L2, so the host "
             "preempts them, and while the sender runs, at most one target can. A thread "
             "pinned to every vCPU loops: mmap() N pages, fill them, munmap() "
             "(bench/tlbload.c; the page counts take the windows in turn); up to 64 pages, v2 "
             "flushes a range, above, everything. A "
             "shootdown is one flush_tlb_multi() call in the guest, counted there by its "
             "tlb:tlb_flush tracepoint with the reason \"remote ipi send\", which every mode "
             "emits once per call: one per munmap(). TLB IPIs are the moves of the \"TLB\" "
             "line of the guest's /proc/interrupts. Exits and hypercalls are the host's "
             "(kvm:kvm_exit, kvm:kvm_hypercall) between the workload's marks, all vCPUs (each "
             "is a sender and a target), per shootdown; v2 kicks are the targets that were in "
             "guest mode when a KVM_HC_FLUSH_TLB_V2 queued their flush "
             "(kvm:kvm_pv_flush_tlb_v2), each an exit; 6.12 deferred flushes are its "
             "preempted targets' whole-TLB flushes on their next entry (kvm:kvm_pv_tlb_flush). "
             "IPIs go by PV IPI v2 (KVM_HC_SEND_IPI_V2) in every mode. Ops/s are over the "
             "guest's time, the median of the windows [range]; munmap() times are the "
             "sender's wait, bucket floors in microseconds over all windows and threads.", ""]
    restarts = meta.get("l2_restarts") or []
    if restarts:
        lines += ["L2s booted again after a failure: "
                  + "; ".join(f"{r['config']} ({'; '.join(r['errors'])})" for r in restarts)
                  + ".", ""]
    lines += ["| pages | flush | ops/s | / 6.12 PV | shootdowns / op | TLB IPIs / shootdown | "
              "exits / shootdown | the most frequent | KVM_HC_FLUSH_TLB_V2 | "
              "KVM_HC_SEND_IPI_V2 | KVM_HC_SCHED_YIELD | v2 kicks | 6.12 deferred flushes | "
              "munmap p50 | p99 |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | "
              "---: | ---: | ---: | ---: |"]
    goal = []
    for p, got in pv_tlb_sizes(sc):
        base = got.get("upstream", {}).get("ops_per_s_median")
        for mode in modes:
            s = got.get(mode)
            if not s:
                c = configs.get(mode)
                why = "; ".join(c["errors"]) if c and c["errors"] else "not run"
                lines.append(f"| {p} | {title.get(mode, mode)} | - | {why} |" + " - |" * 11)
                continue
            ps, r = s["per_shootdown"], s["ops_per_s_range"]
            top = ", ".join(f"{k} {v:.1f}" for k, v in list(ps["exits_by_reason"].items())[:3])
            p50, p99 = (percentile({int(b): n for b, n in s["munmap_ns"].items()}, q)
                        for q in (0.5, 0.99))
            lines.append(
                f"| {p} | {title.get(mode, mode)} | {fmt(s['ops_per_s_median'])} "
                f"[{r[0]:.0f}-{r[1]:.0f}] | {ratio(s['ops_per_s_median'], base)} | "
                f"{fmt(1 / ps['ops'], 2)} | {fmt(ps['tlb_irqs'], 2)} | {fmt(ps['exits'], 1)} | "
                f"{top} | {fmt(ps['flush_tlb_v2'], 2)} | {fmt(ps['send_ipi_v2'], 2)} | "
                f"{fmt(ps['sched_yield'], 2)} | {fmt(ps['v2_kicked'], 2)} | "
                f"{fmt(ps['steal_flushes'], 2)} | {fmt(p50 and p50 / 1000, 1)} | "
                f"{fmt(p99 and p99 / 1000, 1)} |")
        v2 = got.get("v2")
        if v2 and base:
            r = v2["ops_per_s_median"] / base
            goal.append(f"{p} pages: {r:.2f}x ({'meets' if r >= PV_TLB_GOAL else 'misses'} the "
                        f"goal), with {v2['tlb_irqs']} guest TLB IPIs in "
                        f"{v2['shootdowns']} shootdowns")
    if goal:
        lines += ["", f"PV TLB v2 against 6.12's PV flush, ops/s (the goal is "
                  f"{PV_TLB_GOAL:g}x with no guest TLB IPI): " + "; ".join(goal) + "."]
    # The sender's wait, as text: one column per page count and mode.
    cols = [(p, m, s) for p, got in pv_tlb_sizes(sc) for m, s in got.items()]
    hists = [{int(b): n for b, n in s["munmap_ns"].items()} for _, _, s in cols]
    buckets = sorted({b for h in hists for b in h})
    if buckets:
        lines += ["", "munmap() time (the sender's wait), % of the calls per power-of-two "
                  "bucket:", "",
                  "| munmap() time | " + " | ".join(f"{p} pages, {title.get(m, m)}"
                                                   for p, m, _ in cols) + " |",
                  "| --- |" + " ---: |" * len(cols)]
        for b in range(min(buckets).bit_length() - 1, max(buckets).bit_length()):
            cells = []
            for h in hists:
                total = sum(h.values())
                n = h.get(1 << b, 0)
                cells.append(f"{100 * n / total:.1f}" if n else "")
            lines.append(f"| {fmt_ns(1 << b)} - {fmt_ns(2 << b)} | " + " | ".join(cells) + " |")
    return lines


def plot_pv_tlb(outdir, sc):
    """Ops/s bars by page count, one bar per mode; and per page count, the
    distribution of munmap() times, one line per mode."""
    meta = sc["meta"]
    png = "pv-tlb.png"
    modes = list(meta["modes"])
    sizes = pv_tlb_sizes(sc)
    dats = []
    bars = os.path.join(outdir, ".pv-tlb-ops.dat")
    with open(bars, "w") as f:
        f.write("# pages " + " ".join(modes) + "\n")
        for p, got in sizes:
            f.write(f"{p} " + " ".join(f"{got[m]['ops_per_s_median']:.3f}" if m in got else "?"
                                       for m in modes) + "\n")
    dats.append(bars)
    script = ["set terminal png size 1200,420 noenhanced", "set datafile missing '?'",
              f"set output '{os.path.join(outdir, png)}'", "set key below", "set grid",
              f"set multiplot layout 1,{1 + len(sizes)}",
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.8 border -1", "set yrange [0:*]",
              f"set xrange [-0.5:{len(sizes) - 0.5}]", "set title 'munmap() calls per second'",
              "plot " + ", ".join(f"'{bars}' using {j + 2}" + (":xtic(1)" if j == 0 else "")
                                  + f" title '{PV_TLB_MODE_TITLE.get(m, m)}'"
                                  for j, m in enumerate(modes)),
              "unset style", "set style data steps", "set style fill empty", "set logscale x",
              "set autoscale x", "set yrange [0:*]", "set xlabel 'microseconds'",
              "set ylabel 'fraction of munmap() calls'"]
    for p, got in sizes:
        plots = []
        for m, s in got.items():
            h = {int(b): n for b, n in s["munmap_ns"].items()}
            total = sum(h.values())
            dat = os.path.join(outdir, f".pv-tlb-{p}-{m}.dat")
            with open(dat, "w") as f:
                for b in range(min(h).bit_length() - 1, max(h).bit_length() + 1):
                    f.write(f"{(1 << b) / 1000:.3f} {h.get(1 << b, 0) / total}\n")
            dats.append(dat)
            plots.append(f"'{dat}' using 1:2 lw 2 title '{PV_TLB_MODE_TITLE.get(m, m)}'")
        script += [f"set title 'munmap() time, {p} pages'",
                   "plot " + (", ".join(plots) if plots else "NaN notitle")]
    script.append("unset multiplot")
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, stderr=subprocess.PIPE)
    for d in dats:
        os.unlink(d)
    if r.returncode:
        die(f"gnuplot failed: {r.stderr}")
    return png


def load_pv_timer(path):
    """Per mode and pattern, each figure over the mode's L2s: their values
    in run order, the median and the range."""
    meta, runs = read_pv_runs(path)
    modes = {}
    for r in runs:
        m = modes.setdefault(r["mode"], {"runs": [], "failed": [], "patterns": {}})
        if r["errors"]:
            m["failed"].append(f"{r['name']}: " + "; ".join(r["errors"]))
            continue
        m["runs"].append({"name": r["name"], "l2_secs": r["l2_secs"],
                          "trace_writes": r["trace_total"]["deadline_writes"],
                          "stat_writes": r["stats"].get("tsc_deadline_msr_writes", {})
                          .get("total"),
                          "next_arms": r["stats"].get("pv_timer_next_arms", {}).get("total"),
                          "next_hits": r["stats"].get("pv_timer_next_hits", {}).get("total")})
        for p, s in r["patterns"].items():
            if not s.get("ops"):
                continue
            got = m["patterns"].setdefault(p, {})
            ct = s.get("cyclictest", {})
            pv = s.get("pv_timer", {})
            per_kop = 1000 / s["ops"]
            vals = {"ops_per_s": median(s["ops_per_s"]),
                    "writes_per_kop": s["deadline_writes"] * per_kop,
                    "exits_per_kop": s["exits"] * per_kop,
                    "irqs_per_kop": (s["timer_irqs"] * per_kop if "timer_irqs" in s
                                     else None),
                    "writes_per_s": s["deadline_writes"] / s["secs"],
                    "programs_per_kop": (s["guest_pv_programs"] * per_kop
                                         if "guest_pv_programs" in s else None),
                    "rearms_per_kop": pv.get("fire-arm", 0) * per_kop if pv else None,
                    "ct_p99_us": ct.get("p99_us"), "ct_max_us": ct.get("max_us"),
                    "ct_overflows": ct.get("overflows")}
            for k, v in vals.items():
                got.setdefault(k, []).append(v)
    for m in modes.values():
        for got in m["patterns"].values():
            for k in list(got):
                got[k] = {"values": got[k], "median": median(got[k]),
                          "range": spread(got[k])}
    return {"meta": meta, "modes": modes}


def fmt_spread(f, digits=0):
    """A median [range] over the L2s; the range only with two or more."""
    if not f or f["median"] is None:
        return "-"
    out = f"{f['median']:.{digits}f}"
    if len([v for v in f["values"] if v is not None]) > 1:
        out += f" [{f['range'][0]:.{digits}f}-{f['range'][1]:.{digits}f}]"
    return out


def pv_timer_tables(sc):
    meta, modes = sc["meta"], sc["modes"]
    lines = [f"### {SCENARIO_TITLE['pv-timer']}", "",
             f"{meta['runs']} L2s per mode, taken in turn, on {meta['cpus']} CPUs: "
             f"{meta['smp']} vCPUs per L2. In each, bench/timerload.c runs each pattern "
             f"for a window of {meta['window_secs']:g} s alone (the counts), then once more "
             f"beside cyclictest (the latency): TCP RR, 1-byte request/response on loopback "
             f"between two processes pinned to the two vCPUs; nanosleep, a thread per vCPU "
             f"looping clock_nanosleep({meta['sleep_us']} us); nohz idle, the L2 idle. "
             "Deadline writes are the L2's WRMSRs of MSR_IA32_TSC_DEADLINE, each an exit, "
             "from the host's kvm:kvm_msr between the window's marks; exits are all the "
             "L2's (kvm:kvm_exit); both per 1000 operations (round trips, sleeps, ms idle). "
             "'Programmed' is the guest's own count of the deadlines it programmed "
             "(/sys/kernel/debug/kvm_pv_timer), 're-arms' the host's timer expiries that "
             "found a later deadline and re-armed without injecting (kvm:kvm_pv_timer "
             "fire-arm); timer IRQs the local timer interrupts the host delivered "
             "(kvm:kvm_apic_accept_irq, vector 0xec). Ops/s are over the guest's time. "
             "cyclictest (rt-tests, one "
             f"SCHED_FIFO thread per vCPU, {meta['ct_interval_us']} us interval) runs from a "
             "second before its window to a second after; its p99 is over both threads' "
             "samples, its max the larger thread's. Each cell is the median over the L2s "
             "[range]. Latencies under nested TCG are far above bare metal's: compare the "
             "two modes only.", ""]
    for m in modes.values():
        for f in m["failed"]:
            lines += [f"L2 that failed: {f}.", ""]
    lines += ["| pattern | timer | ops/s | deadline writes / 1000 ops | / 6.12 | "
              "programmed / 1000 ops | re-arms / 1000 ops | timer IRQs / 1000 ops | "
              "exits / 1000 ops | deadline writes / s | cyclictest p99 us | "
              "cyclictest max us |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
              "---: |"]
    goal = []
    for p in meta["patterns"]:
        base = modes.get("upstream", {}).get("patterns", {}).get(p)
        for mode in meta["modes"]:
            got = modes.get(mode, {}).get("patterns", {}).get(p)
            title = PV_TIMER_MODE_TITLE.get(mode, mode)
            ptitle = f"{PV_TIMER_PATTERN_TITLE.get(p, p)} ({PV_TIMER_OPS.get(p, 'ops')})"
            if not got:
                lines.append(f"| {ptitle} | {title} | - | not measured |" + " - |" * 8)
                continue
            w, bw = got["writes_per_kop"]["median"], base and base["writes_per_kop"]["median"]
            lines.append(
                f"| {ptitle} | {title} | {fmt_spread(got['ops_per_s'])} | "
                f"{fmt_spread(got['writes_per_kop'], 1)} | {ratio(w, bw)} | "
                f"{fmt_spread(got['programs_per_kop'], 1)} | "
                f"{fmt_spread(got['rearms_per_kop'], 1)} | {fmt_spread(got['irqs_per_kop'], 1)} | "
                f"{fmt_spread(got['exits_per_kop'], 0)} | "
                f"{fmt_spread(got['writes_per_s'])} | {fmt_spread(got['ct_p99_us'])} | "
                f"{fmt_spread(got['ct_max_us'])} |")
        v2 = modes.get("v2", {}).get("patterns", {}).get(p)
        if v2 and base and base["writes_per_kop"]["median"]:
            cut = 1 - v2["writes_per_kop"]["median"] / base["writes_per_kop"]["median"]
            ct = []
            for k, what in (("ct_p99_us", "p99"), ("ct_max_us", "max")):
                a, b = v2[k]["range"], base[k]["range"]
                if a and b:
                    ct.append(f"cyclictest {what} {v2[k]['median']:.0f} us against "
                              f"{base[k]['median']:.0f} us ("
                              + ("no worse within the spread" if a[0] <= b[1] else "worse")
                              + ")")
            goal.append(f"{PV_TIMER_PATTERN_TITLE.get(p, p)}: {100 * abs(cut):.0f}% "
                        f"{'fewer' if cut >= 0 else 'more'} deadline writes per operation"
                        + (f" ({'meets' if cut >= PV_TIMER_GOAL else 'misses'} the goal of "
                           f"{100 * PV_TIMER_GOAL:.0f}%)" if p == "rr" else "")
                        + (", " + ", ".join(ct) if ct else ""))
    if goal:
        lines += ["", "The PV timer against 6.12: " + "; ".join(goal) + "."]
    checks = [f"{r['name']} {r['trace_writes']} = {r['stat_writes']}"
              for m in modes.values() for r in m["runs"]]
    if checks:
        lines += ["", "Deadline writes of each whole L2 run, the host's trace against its "
                  "stat tsc_deadline_msr_writes (read with the L2 paused): "
                  + ", ".join(checks) + "."]
    nexts = [f"{r['name']} {r['next_hits']} of {r['next_arms']}"
             for m in modes.values() for r in m["runs"] if r.get("next_arms")]
    if nexts:
        lines += ["", "Next ticks the host armed as it delivered a deadline, and the "
                  "deadlines delivered from them, over each whole L2 run (stats "
                  "pv_timer_next_hits of pv_timer_next_arms): " + ", ".join(nexts) + "."]
    return lines


def plot_pv_timer(outdir, sc):
    """Bars per pattern, one per mode: deadline writes per 1000 operations."""
    meta, modes = sc["meta"], sc["modes"]
    png = "pv-timer.png"
    dat = os.path.join(outdir, ".pv-timer.dat")
    mlist = list(meta["modes"])
    with open(dat, "w") as f:
        for p in meta["patterns"]:
            vals = []
            for m in mlist:
                got = modes.get(m, {}).get("patterns", {}).get(p)
                vals.append(f"{got['writes_per_kop']['median']:.3f}" if got else "?")
            f.write(f"{PV_TIMER_PATTERN_TITLE.get(p, p)}\t" + "\t".join(vals) + "\n")
    script = ["set terminal png size 800,420 noenhanced", "set datafile missing '?'",
              f"set output '{os.path.join(outdir, png)}'", "set datafile separator '\\t'",
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.8 border -1", "set key below", "set grid ytics",
              "set yrange [0:*]", "set title 'TSC deadline writes (exits) per 1000 operations'",
              "plot " + ", ".join(f"'{dat}' using {j + 2}" + (":xtic(1)" if j == 0 else "")
                                  + f" title '{PV_TIMER_MODE_TITLE.get(m, m)}'"
                                  for j, m in enumerate(mlist))]
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, stderr=subprocess.PIPE)
    os.unlink(dat)
    if r.returncode:
        die(f"gnuplot failed: {r.stderr}")
    return png


def load_wakecost(path):
    """bench/wakecost.py's summary, and the table it printed."""
    with open(os.path.join(path, "results.json")) as f:
        sc = json.load(f)
    with open(os.path.join(path, "table.md")) as f:
        sc["table"] = f.read()
    return sc


def wakecost_tables(sc):
    meta = sc["meta"]
    return [f"### {SCENARIO_TITLE['wakecost']}", "",
            f"Counted by QEMU's insncount plugin (bench/plugin/), {meta['rounds']} rounds "
            f"of {meta['wakeups']} wakeups per policy, interleaved, in one boot; each "
            "function's own instructions, so a step is its hooks' code and the helpers "
            "inlined into them. Mean per cycle [range over the rounds]. Counts are exact "
            "under TCG; the lateness under the plugin is a sanity check only.", "",
            sc["table"], ""]


# Each paravirt (or counting) scenario's loader, tables and plot.
PV_SCENARIOS = {"pv-ipi": (load_pv_ipi, pv_ipi_tables, plot_pv_ipi),
                "pv-tlb": (load_pv_tlb, pv_tlb_tables, plot_pv_tlb),
                "pv-timer": (load_pv_timer, pv_timer_tables, plot_pv_timer),
                "wakecost": (load_wakecost, wakecost_tables, None)}


# --- Output -------------------------------------------------------------

def vmf_against_fifo(pols, late):
    """VMF's run delay and lateness percentiles over FIFO's, where the
    class promises FIFO's wakeup latency (not under overcommit, where FIFO
    starves the vCPUs it does not run)."""
    if "vmf" not in pols or "fifo" not in pols:
        return []
    groups = [("run delay", "run_delay_us")] + ([(late, "lateness_us")] if late else [])
    keys = ("p50", "p95", "p99")
    head = " | ".join(f"{title} {k}" for title, _ in groups for k in keys)
    lines = ["", "VMF against SCHED_FIFO, medians of the per-window percentiles:", "",
             f"| Policy | {head} |", "| --- |" + " ---: |" * (len(groups) * len(keys))]
    for p in ("fifo", "vmf"):
        cells = [fmt(pols[p][g][k]) for _, g in groups for k in keys]
        lines.append(f"| {POLICY_TITLE[p]} | " + " | ".join(cells) + " |")
    cells = [ratio(pols["vmf"][g][k], pols["fifo"][g][k]) for _, g in groups for k in keys]
    lines.append("| VMF / SCHED_FIFO | " + " | ".join(cells) + " |")
    return lines


def policy_notes(sc):
    """How the baselines were set, from what scenario.py recorded."""
    settings, notes = sc["meta"]["settings"], []
    dl = settings.get("deadline", {}).get("deadline")
    if dl:
        notes.append(f"SCHED_DEADLINE: each vCPU thread a runtime of "
                     f"{dl['runtime_ns'] / 1000:.0f} us every {dl['period_ns'] / 1e6:g} ms "
                     "(deadline = period), an equal share of what admission control left "
                     f"({dl['dl_bw_per_cpu'] / 2 ** 20:.0%} per CPU, "
                     f"{dl['dl_total_bw_before'] / 2 ** 20:.2f} CPU allotted before).")
    attr = settings.get("eevdf-slice", {}).get("vcpu_attr")
    if attr:
        base = settings["eevdf-slice"].get("base_slice_ns")
        notes.append(f"EEVDF slice: nice {attr['nice']}, sched_runtime "
                     f"{attr['runtime'] / 1000:g} us"
                     + (f" (the base slice was {int(base) / 1000:g} us)." if base else "."))
    scx = settings.get("scx", {}).get("scx")
    if scx:
        held = [w.get("held") or {} for w in sc["windows"] if w["policy"] == "scx"]
        enabled = sum(h.get("sched_ext_state") == "enabled" for h in held)
        notes.append(f"sched_ext: `{scx['cmd']}` (ops \"{scx['ops']}\") loaded before each of "
                     f"its {len(held)} windows, in full mode (the noise ran under it too), "
                     f"and found enabled, by the same load (enable_seq), after {enabled} "
                     "of them.")
    return ["Baselines: " + " ".join(notes), ""] if notes else []


def vmf_against_alternatives(scenarios):
    """One table for all scenarios with policies: each policy's run delay
    percentiles and VM fairness, and their ratio to VMF's."""
    rows = []
    for name, sc in scenarios.items():
        if name in PV_SCENARIOS:
            continue
        pols = sc["policies"]
        vmf = pols.get("vmf")
        if not vmf or len(pols) < 2:
            continue
        def cell(v, base, digits=0):
            return f"{fmt(v, digits)} ({ratio(v, base)})" if v is not None else "-"

        for p, s in pols.items():
            rd, base = s["run_delay_us"], vmf["run_delay_us"]
            cells = [cell(rd[k], base[k]) for k in ("p50", "p95", "p99")]
            cells += [cell(s[k], vmf[k], 2) for k in ("vm_fairness", "vcpu_fairness")]
            rows.append(f"| {name} | {POLICY_TITLE[p]} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["### VMF against the alternatives", "",
            "vCPU run delay in microseconds, medians of the per-window percentiles; VM "
            "fairness (overcommit only) and vCPU fairness, the CPU time of the least "
            "served VM or vCPU over the most served one's, 1.00 fair; in brackets, the "
            "policy's figure over VMF's in the same run.", "",
            "| Scenario | Policy | run delay p50 | p95 | p99 | VM fairness | vCPU fairness |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"] + rows + [""]


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:.{digits}f}"


def ratio(v, base):
    if v is None or not base:
        return "-"
    return f"{v / base:.2f}"


def fmt_max(group):
    r = group["max_range"]
    if group["max_median"] is None:
        return "-"
    return f"{group['max_median']:.0f} [{r[0]:.0f}-{r[1]:.0f}]"


def scenario_tables(name, sc):
    pols = sc["policies"]
    base = pols.get(BASELINE)
    meta = sc["meta"]
    lines = [f"### {SCENARIO_TITLE[name]}", "",
             f"{meta['reps']} repetitions of {meta['secs']:g} s per policy, interleaved; "
             f"{meta['cpus']} CPUs. Latencies in microseconds; max is the median of "
             "the per-window maxima [their range]. Ratios are against EEVDF.", ""]
    lines += policy_notes(sc)
    if meta.get("vcpus_end", "clean") != "clean":
        lines += [f"At the end of the run, the L2 guest {meta['vcpus_end']}; every window "
                  "had been measured by then.", ""]
    restarts = meta.get("l2_restarts") or []
    if restarts:
        lines += [f"The L2 guest was lost {len(restarts)} time(s) under nested SVM on TCG, "
                  "with no message from it: in the windows of "
                  + ", ".join(f"{r['policy']} (window {r['window']}: "
                              f"{r.get('how', 'ended')})" for r in restarts)
                  + ". It was booted again and those windows were run again.", ""]
    late = LATENESS_TITLE[name]
    late_head = f" {late} p99 | max |" if late else ""
    lines += [f"| Policy | run delay p50 | p99 | p99.9 | max | p99 / EEVDF |{late_head} steal % |",
              "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if late else "") +
              " ---: |"]
    for p, s in pols.items():
        rd, lt = s["run_delay_us"], s["lateness_us"]
        late_cells = f" {fmt(lt['p99'])} | {fmt_max(lt)} |" if late else ""
        lines.append(f"| {POLICY_TITLE[p]} | {fmt(rd['p50'])} | {fmt(rd['p99'])} | "
                     f"{fmt(rd['p99.9'])} | {fmt_max(rd)} | "
                     f"{ratio(rd['p99'], base and base['run_delay_us']['p99'])} |"
                     f"{late_cells} {fmt(s['steal_pct'], 1)} |")
    if name in ("synthetic", "l2"):
        lines += vmf_against_fifo(pols, late)
    lines += ["", "What the host still got done: the CPUs' worth of time each kind of "
              "noise ran, and runs completed per second (ratio against EEVDF in brackets); "
              "and what the scheduler did, per second:", "",
              "| Policy | stress-ng CPUs | hackbench CPUs | compile CPUs | hackbench runs/s | "
              "compiles/s | host run delay p99 | host max | "
              "switches | vCPU switches | migrations | vCPU migrations |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for p, s in pols.items():
        h = s["host"]
        cells = []
        for k in HOST_METRICS:
            b = base and base["host"][k]
            cells.append(f"{fmt(h[k], 2)} ({ratio(h[k], b)})")
        hd = s["host_run_delay_us"]
        lines.append(f"| {POLICY_TITLE[p]} | " + " | ".join(cells) +
                     f" | {fmt(hd['p99'])} | {fmt_max(hd)} | {fmt(s['switches_per_s'])} | "
                     f"{fmt(s['vcpu_switches_per_s'])} | {fmt(s['migrations_per_s'], 1)} | "
                     f"{fmt(s['vcpu_migrations_per_s'], 1)} |")
    lines += ["", "vCPU waits of 1 ms or more, by the task the vCPU took its CPU from "
              "(numbers in names folded to N; all windows):", "",
              "| Policy | waits >= 1 ms per s | the tasks, most frequent first |",
              "| --- | ---: | --- |"]
    for p, s in pols.items():
        behind = sorted(s["long_waits_behind"].items(), key=lambda kv: -kv[1])
        top = ", ".join(f"{k} {n}" for k, n in behind[:LONG_WAIT_TASKS]) or "-"
        if len(behind) > LONG_WAIT_TASKS:
            top += f", {len(behind) - LONG_WAIT_TASKS} more"
        lines.append(f"| {POLICY_TITLE[p]} | {fmt(s['long_waits_per_s'], 1)} | {top} |")
    if name == "overcommit":
        lines += ["", "Fairness is the CPU time of the least served VM (or vCPU) over the "
                  "most served one: 1.00 is fair.", "",
                  "| Policy | VM fairness | vCPU fairness | spin % of vCPU time | lock rounds/s |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for p, s in pols.items():
            lines.append(f"| {POLICY_TITLE[p]} | {fmt(s['vm_fairness'], 2)} | "
                         f"{fmt(s['vcpu_fairness'], 2)} | "
                         f"{fmt(s['spin_pct'], 1)} | {fmt(s['locks_per_s'])} |")
        lines += ["", "These vCPUs are threads: nothing here can take a directed yield. "
                  "The l2-overcommit scenario measures it on real vCPUs."]
    if name == "l2-overcommit":
        lines += ["", "Each guest thread, pinned to its vCPU, IPIs the others with "
                  "membarrier() after every 200 us of work. A guest whose IPI targets a "
                  "preempted vCPU makes a KVM_HC_SCHED_YIELD hypercall to it (PV sched "
                  "yield); a guest with PV IPI v2 (scripts/l2.sh passes it) instead sets "
                  "the yield flag of every KVM_HC_SEND_IPI_V2 that sends a call-function "
                  "IPI, and the host yields when a target is preempted. The host's "
                  "yield_to() then helps only if the policy supports "
                  "it (EEVDF and VMF do, SCHED_FIFO does not). Under TCG the test VM has "
                  "no pause-loop exiting, so these hypercalls are the only directed-yield "
                  "path measured here.", "",
                  "| Policy | membarrier rounds/s | / EEVDF | PV sched yields/s | "
                  "v2 IPIs with the yield flag/s | vCPU fairness |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for p, s in pols.items():
            lines.append(f"| {POLICY_TITLE[p]} | {fmt(s['rounds_per_s'])} | "
                         f"{ratio(s['rounds_per_s'], base and base['rounds_per_s'])} | "
                         f"{fmt(s['pv_yields_per_s'], 1)} | {fmt(s['pv_v2_yields_per_s'], 1)} | "
                         f"{fmt(s['vcpu_fairness'], 2)} |")
    return lines


def plot(outdir, name, sc, key, title):
    """A log-log histogram, one line per policy; returns the PNG's name."""
    png = f"{name}-{key.replace('hist_', '').replace('_us', '')}.png"
    datas = []
    for p, s in sc["policies"].items():
        h = s[key]
        total = sum(h.values())
        if not total:
            continue
        # Re-binned into PLOT_BINS_PER_DECADE equal bins per decade: the
        # raw buckets widen tenfold at every decade.
        bins = {}
        for b, n in h.items():
            k = math.floor(math.log10(max(b, 1)) * PLOT_BINS_PER_DECADE)
            bins[k] = bins.get(k, 0) + n
        dat = os.path.join(outdir, f".{name}-{key}-{p}.dat")
        with open(dat, "w") as f:
            for k in range(min(bins), max(bins) + 2):
                edge = 10 ** (k / PLOT_BINS_PER_DECADE)
                f.write(f"{edge:.3f} {bins.get(k, 0) / total}\n")
        datas.append((dat, POLICY_TITLE[p]))
    if not datas:
        return None
    script = [
        "set terminal png size 900,540 noenhanced",
        f"set output '{os.path.join(outdir, png)}'",
        f"set title '{title}'",
        "set logscale xy", "set xlabel 'microseconds'",
        f"set ylabel 'fraction of events (bins of 1/{PLOT_BINS_PER_DECADE} decade)'",
        "set grid", "set key top right",
        "plot " + ", ".join(f"'{d}' using 1:2 with steps lw 2 title '{t}'" for d, t in datas),
    ]
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True,
                       stderr=subprocess.PIPE)
    for d, _ in datas:
        os.unlink(d)
    if r.returncode:
        die(f"gnuplot failed: {r.stderr}")
    return png


def kernel_config(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    keys = {}
    for line in data.decode(errors="replace").splitlines():
        for k in CONFIG_KEYS:
            if line.startswith(k + "=") or line == f"# {k} is not set":
                keys[k] = line.split("=", 1)[1] if "=" in line else "n"
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "options": keys}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--config")
    ap.add_argument("--command")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args()

    scenarios = {}
    for name in SCENARIO_TITLE:
        path = os.path.join(args.dir, name)
        if name in PV_SCENARIOS:
            if os.path.exists(os.path.join(path, "runs.jsonl")) or \
               os.path.exists(os.path.join(path, "table.md")):
                scenarios[name] = PV_SCENARIOS[name][0](path)
        elif os.path.exists(os.path.join(path, "windows.jsonl")):
            scenarios[name] = load_scenario(path, name)
    if not scenarios:
        die(f"no scenario results under {args.dir}")
    first = next(iter(scenarios.values()))["meta"]
    results = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": args.command, "kernel": first["kernel"], "cmdline": first["cmdline"],
        "config": kernel_config(args.config), "scenarios": scenarios,
    }
    with open(os.path.join(args.dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)

    md = ["# VMF latency-jitter benchmark", "",
          f"Kernel `{first['kernel']}`"
          + (f", produced by `{args.command}`" if args.command else "") + ".",
          "",
          "The host is the test VM under QEMU TCG: absolute times are not hardware "
          "times; ratios measured in the same run, and counts, are the meaningful "
          "figures. The kernels run with CONFIG_JUMP_LABEL off. Run delay is wakeup "
          "(or preemption) to on-CPU of the vCPU threads, from the sched tracepoints "
          "(bench/rundelay.bt); percentiles are bucket floors with two significant "
          "digits. Every policy ran on the same boot and the same workload, "
          "interleaved; `results.json` has each policy's RT-throttling and "
          "fair-server settings.", ""]
    md += vmf_against_alternatives(scenarios)
    for name, sc in scenarios.items():
        if name in PV_SCENARIOS:
            md += PV_SCENARIOS[name][1](sc)
            if PV_SCENARIOS[name][2] and not args.no_plots and shutil.which("gnuplot"):
                png = PV_SCENARIOS[name][2](args.dir, sc)
                md += ["", f"![{name}]({png})", ""]
            continue
        md += scenario_tables(name, sc)
        if not args.no_plots and shutil.which("gnuplot"):
            for key, what in (("hist_run_delay_us", "vCPU run delay"),
                              ("hist_lateness_us", LATENESS_TITLE[name])):
                if not what:
                    continue
                png = plot(args.dir, name, sc, key, f"{name}: {what}")
                if png:
                    md += ["", f"![{name}: {what}]({png})"]
        md.append("")
    with open(os.path.join(args.dir, "report.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
