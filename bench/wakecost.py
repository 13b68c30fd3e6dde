#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The cost of a wakeup, in guest kernel instructions, per policy and step.

    wakecost.py COUNTS WINDOWS [--json FILE] [--top N]

COUNTS is the output of the insncount QEMU plugin (bench/plugin/), WINDOWS
the stdout of bench/wakecost in the same VM. Each window of wakecost is N
wakeup cycles of one policy against the same hogs; its counts divided by N
give instructions per cycle. The table gives, per policy, the mean over
the rounds (and the range), first in all of the kernel, then in each
scheduler step: the class's own hook (select_task_rq_*, enqueue_task_*,
...), counted exclusively, so that a helper that is not inlined counts as
itself. The last table lists the functions whose count per cycle differs
most between VMF and FIFO: where VMF's extra instructions are.
"""
import argparse
import json
import re
import statistics
import sys

# The scheduler steps of a wakeup and of the switch that follows it, by the
# hooks that each class implements.
STEPS = [
    ("select_task_rq", r"select_task_rq_\w+|vmf_find_free_cpu|select_idle_\w+"),
    ("enqueue", r"enqueue_task(_\w+)?|enqueue_rt_entity|__enqueue_rt_entity|"
                r"enqueue_entity|activate_task|ttwu_do_activate"),
    ("wakeup_preempt", r"wakeup_preempt(_\w+)?|resched_curr|check_preempt_\w+"),
    ("task_woken", r"task_woken_\w+"),
    ("update_curr", r"update_curr(_\w+)?|(vmf_)?update_min_vruntime"),
    ("pick", r"__pick_next_task|pick_next_task(_\w+)?|pick_task_\w+|pick_eevdf|"
             r"pick_next_entity|__pick_first_entity"),
    ("put_prev", r"put_prev_task_\w+|put_prev_entity"),
    ("set_next", r"set_next_task_\w+|set_next_entity"),
    ("balance", r"balance_(fair|rt|dl|vmf|idle|stop)|prev_balance|"
                r"(__|do_)?balance_callbacks|(push|pull)_(rt|vmf)_tasks?"),
    ("dequeue", r"dequeue_task(_\w+)?|dequeue_rt_entity|__dequeue_rt_entity|"
                r"dequeue_entity|dequeue_entities|block_task"),
    ("pelt", r"update_(\w+_)?load_avg|update_other_load_avgs|__update_load_avg_\w+|"
             r"___update_load_\w+"),
    ("tracepoints", r"trace_event_raw_event_\w+|__traceiter_\w+|perf_trace_\w+"),
    ("schedstats", r"__update_stats_\w+|update_stats_\w+"),
    ("__schedule", r"__schedule|schedule|context_switch|finish_task_switch\S*|"
                   r"__switch_to\S*"),
    ("try_to_wake_up", r"try_to_wake_up|ttwu_\w+|hrtimer_wakeup|wake_up_process"),
]
STEP_RE = [(name, re.compile(r"^(%s)$" % pat)) for name, pat in STEPS]
POLICIES = ["other", "fifo", "vmf"]


def read_counts(path):
    """Per mark index, {function: instructions} since the mark before."""
    marks, cur = {}, None
    with open(path) as f:
        for line in f:
            a, b = line.split()
            if a == "mark":
                cur = marks.setdefault(int(b), {})
            else:
                cur[b] = cur.get(b, 0) + int(a)
    return marks


def read_windows(path):
    """wakecost's windows, and what it said of the kernel it ran on."""
    wins, meta = [], {}
    with open(path) as f:
        for line in f:
            w = line.split(maxsplit=1)
            if w and w[0] in ("kernel", "cmdline"):
                meta[w[0]] = w[1].strip()
                continue
            w = line.split()
            if len(w) == 5 and w[0] == "window":
                wins.append({"mark": int(w[1]), "policy": w[2],
                             "wakeups": int(w[3]), "late_p50_ns": int(w[4])})
    return wins, meta


def step_of(func):
    for name, rx in STEP_RE:
        if rx.match(func):
            return name
    return None


def per_cycle(counts, wakeups):
    return {fn: n / wakeups for fn, n in counts.items()}


def summarise(marks, wins):
    """Per policy: the per-cycle totals and steps of each round, and the
    mean per-cycle count of each function."""
    out = {}
    for w in wins:
        counts = marks.get(w["mark"])
        if counts is None:
            sys.exit("wakecost.py: no counts for mark %d" % w["mark"])
        pc = per_cycle(counts, w["wakeups"])
        steps = {name: 0.0 for name, _ in STEPS}
        for fn, n in pc.items():
            s = step_of(fn)
            if s:
                steps[s] += n
        p = out.setdefault(w["policy"], {"rounds": [], "funcs": {}})
        p["rounds"].append({"total": sum(pc.values()), "steps": steps,
                            "late_p50_ns": w["late_p50_ns"]})
        for fn, n in pc.items():
            p["funcs"].setdefault(fn, []).append(n)
    for p in out.values():
        k = len(p["rounds"])
        p["funcs"] = {fn: sum(v) / k for fn, v in p["funcs"].items()}
    return out


def rng(vals):
    m = statistics.mean(vals)
    return "%.0f [%.0f-%.0f]" % (m, min(vals), max(vals))


def table(summary, top):
    pols = [p for p in POLICIES if p in summary]
    lines = ["| instructions per wakeup cycle | " + " | ".join(pols) + " |",
             "| --- |" + " ---: |" * len(pols)]
    lines.append("| whole kernel | " + " | ".join(
        rng([r["total"] for r in summary[p]["rounds"]]) for p in pols) + " |")
    for name, _ in STEPS:
        vals = [[r["steps"][name] for r in summary[p]["rounds"]] for p in pols]
        if all(max(v) < 0.5 for v in vals):
            continue
        lines.append("| %s | " % name + " | ".join(rng(v) for v in vals) + " |")
    lines.append("| wake lateness p50 under the plugin, us | " + " | ".join(
        "%.0f" % (statistics.median(r["late_p50_ns"] for r in summary[p]["rounds"]) / 1000)
        for p in pols) + " |")
    if "vmf" in summary and "fifo" in summary:
        v, f = summary["vmf"]["funcs"], summary["fifo"]["funcs"]
        diff = sorted(((v.get(fn, 0) - f.get(fn, 0), fn) for fn in set(v) | set(f)),
                      key=lambda d: -abs(d[0]))[:top]
        lines += ["", "| function | fifo | vmf | vmf - fifo |", "| --- | ---: | ---: | ---: |"]
        for d, fn in diff:
            lines.append("| %s | %.0f | %.0f | %+.0f |" % (fn, f.get(fn, 0), v.get(fn, 0), d))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("counts")
    ap.add_argument("windows")
    ap.add_argument("--json")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    wins, meta = read_windows(a.windows)
    if not wins:
        sys.exit("wakecost.py: no windows in %s" % a.windows)
    summary = summarise(read_counts(a.counts), wins)
    print(table(summary, a.top))
    if a.json:
        meta.update({"scenario": "wakecost", "wakeups": wins[0]["wakeups"],
                     "rounds": max(len(p["rounds"]) for p in summary.values())})
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "policies": summary}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
