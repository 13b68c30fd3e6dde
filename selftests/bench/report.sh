#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench works end to end on tiny inputs: the synthetic and overcommit
# scenarios, one 1 s window per policy, then the report. Checks that
# results.json, report.md and the plots are complete and well-formed:
# every policy has its figures, the settings of every policy are recorded,
# and every table has a row per policy. It checks no timing.

[ -e /proc/sys/kernel/sched_vmf_slice_us ] || { echo "SKIP: kernel without SCHED_VMF"; exit 4; }
for tool in bpftrace stress-ng hackbench gnuplot; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 4; }
done

out=${VMF_OUT:-/tmp}/benchtest
rm -rf "$out"
for sc in synthetic overcommit; do
	python3 "$VMF_ROOT/bench/scenario.py" "$sc" --out "$out/$sc" \
		--bin "$VMF_ROOT/out/bench-bin" --reps 1 --secs 1 --settle 0.2 ||
		{ echo "FAIL: scenario $sc"; exit 1; }
done
python3 "$VMF_ROOT/bench/report.py" "$out" --command "selftests/bench/report.sh" \
	>/dev/null || { echo "FAIL: report.py"; exit 1; }

python3 - "$out" <<'EOF'
import json, os, sys

out = sys.argv[1]
errors = []
def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        errors.append(what)

with open(os.path.join(out, "results.json")) as f:
    r = json.load(f)
check(r.get("kernel") == os.uname().release, "results.json names the running kernel")
check(r.get("command") == "selftests/bench/report.sh", "results.json has the command")
for sc in ("synthetic", "overcommit"):
    s = r["scenarios"].get(sc)
    check(s is not None, f"results.json has scenario {sc}")
    if not s:
        continue
    check(set(s["policies"]) == {"eevdf", "fifo", "vmf"}, f"{sc}: all three policies")
    check(len(s["windows"]) == 3, f"{sc}: one window per policy")
    settings = s["meta"]["settings"]
    check(settings.get("fifo", {}).get("sched_rt_runtime_us") == "-1",
          f"{sc}: SCHED_FIFO ran with RT throttling off")
    check(all(any(k.startswith("fair_server_") for k in settings.get(p, {}))
              for p in ("eevdf", "fifo", "vmf")), f"{sc}: fair-server settings of every policy")
    for p, ps in s["policies"].items():
        rd = ps["run_delay_us"]
        check(rd["p50"] is not None and rd["p99"] is not None and rd["p50"] <= rd["p99"],
              f"{sc}/{p}: run delay p50 <= p99")
        check(rd["max_median"] is not None and rd["max_median"] >= rd["p99"],
              f"{sc}/{p}: run delay max >= p99")
        check(all(v is not None and v >= 0 for v in ps["host"].values()),
              f"{sc}/{p}: host throughput of every noise")
        check(sum(ps["hist_run_delay_us"].values()) > 0, f"{sc}/{p}: run-delay histogram")
        long = sum(n for b, n in ps["hist_run_delay_us"].items() if int(b) >= 1000)
        check(sum(ps["long_waits_behind"].values()) == long,
              f"{sc}/{p}: every wait of 1 ms or more is attributed ({long})")
    if sc == "overcommit":
        check(all(s["policies"][p]["vm_fairness"] is not None for p in s["policies"]),
              "overcommit: VM fairness of every policy")

with open(os.path.join(out, "report.md")) as f:
    md = f.read()
for title in ("EEVDF", "SCHED_FIFO", "VMF"):
    check(md.count(f"| {title} |") >= 6, f"report.md: a row for {title} in every table")
check("not hardware times" in md, "report.md says what TCG times mean")
for png in ("synthetic-run_delay.png", "synthetic-lateness.png", "overcommit-run_delay.png"):
    path = os.path.join(out, png)
    magic = b""
    if os.path.exists(path):
        with open(path, "rb") as f:
            magic = f.read(8)
    check(magic == b"\x89PNG\r\n\x1a\n", f"{png} is a PNG")
    check(f"]({png})" in md, f"report.md shows {png}")
sys.exit(1 if errors else 0)
EOF
