#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench works end to end on tiny inputs: the synthetic and overcommit
# scenarios, one 1 s window per policy, then the report. Checks that
# results.json, report.md and the plots are complete and well-formed:
# every policy has its figures, the settings of every policy are recorded,
# and every table has a row per policy. It checks no timing. The scx
# policy runs when make bench has built scx_simple (out/scx/).

[ -e /proc/sys/kernel/sched_vmf_slice_us ] || { echo "SKIP: kernel without SCHED_VMF"; exit 4; }
for tool in bpftrace stress-ng hackbench gnuplot; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 4; }
done

out=${VMF_OUT:-/tmp}/benchtest
rm -rf "$out"
scx=$VMF_ROOT/out/scx/build/bin/scx_simple
policies=eevdf,eevdf-slice,fifo,deadline,scx,vmf
if [ ! -x "$scx" ]; then
	echo "# $scx is not built (make bench builds it): no scx policy"
	policies=eevdf,eevdf-slice,fifo,deadline,vmf
fi
for sc in synthetic overcommit; do
	python3 "$VMF_ROOT/bench/scenario.py" "$sc" --out "$out/$sc" \
		--bin "$VMF_ROOT/out/bench-bin" --reps 1 --secs 1 --settle 0.2 \
		--policies "$policies" --scx "$scx" ||
		{ echo "FAIL: scenario $sc"; exit 1; }
done
python3 "$VMF_ROOT/bench/report.py" "$out" --command "selftests/bench/report.sh" \
	>/dev/null || { echo "FAIL: report.py"; exit 1; }

python3 - "$out" "$policies" <<'EOF'
import json, os, sys

out, policies = sys.argv[1], sys.argv[2].split(",")
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
    check(set(s["policies"]) == set(policies), f"{sc}: every policy ({len(policies)})")
    check(len(s["windows"]) == len(policies), f"{sc}: one window per policy")
    settings = s["meta"]["settings"]
    check(settings.get("fifo", {}).get("sched_rt_runtime_us") == "-1",
          f"{sc}: SCHED_FIFO ran with RT throttling off")
    check(all(any(k.startswith("fair_server_") for k in settings.get(p, {}))
              for p in policies), f"{sc}: fair-server settings of every policy")
    attr = {p: settings.get(p, {}).get("vcpu_attr", {}) for p in policies}
    check(attr["eevdf-slice"] == {"policy": 0, "nice": -20, "runtime": 100000},
          f"{sc}: eevdf-slice ran at nice -20 with a 0.1 ms slice")
    dl = settings.get("deadline", {}).get("deadline") or {}
    check(attr["deadline"].get("policy") == 6 and
          0 < dl.get("runtime_ns", 0) <= attr["deadline"].get("period", 0),
          f"{sc}: deadline ran as SCHED_DEADLINE reservations ({dl.get('runtime_ns')} ns)")
    if "scx" in policies:
        held = [w.get("held") for w in s["windows"] if w["policy"] == "scx"]
        check(attr["scx"].get("policy") == 7 and held and
              all(h and h["sched_ext_state"] == "enabled" for h in held),
              f"{sc}: scx windows ran SCHED_EXT with sched_ext enabled")
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
titles = {"eevdf": "EEVDF", "eevdf-slice": "EEVDF slice 0.1 ms, nice -20",
          "fifo": "SCHED_FIFO", "deadline": "SCHED_DEADLINE",
          "scx": "sched_ext (scx_simple)", "vmf": "VMF"}
for title in (titles[p] for p in policies):
    check(md.count(f"| {title} |") >= 6, f"report.md: a row for {title} in every table")
check("### VMF against the alternatives" in md, "report.md compares VMF with the alternatives")
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
