#!/usr/bin/env python3
"""Per-tensor table of the golden limits, from the logs of a `make test` run.

Each golden test prints one line per checked tensor and backend
(tests/support/golden_check.c: "limit NAME BACKEND E from golden, float32
stray S, limit L"). This script groups them by test and tensor name and writes
the Markdown table kept in tests/golden/LIMITS.md:

    tools/golden_limits_table.py build/test-logs > table.md

Columns: the float64 run's distance to golden (how far the original's float32
result is from exact arithmetic), the largest float32 stray of our backends
(float32 run vs float64 run), each backend's distance to golden, the limit
(GOLDEN_STRAY_MULTIPLE x stray) and the smallest margin limit / distance.
Maxima over every set and every check of the same tensor name."""
import glob
import os
import re
import sys

LINE = re.compile(r"^\s*limit (\S+)\s+(.+?)\s+([-+.\deinf]+) from golden, float32 stray\s+([-+.\de]+), limit\s+([-+.\de]+)")


def main():
    logdir = sys.argv[1] if len(sys.argv) > 1 else "build/test-logs"
    rows = {}
    for path in sorted(glob.glob(os.path.join(logdir, "*golden*.log"))):
        test = os.path.basename(path).replace("build_tests_golden_", "").replace(".log", "")
        for line in open(path, errors="replace"):
            m = LINE.match(line)
            if not m:
                continue
            name, backend, err, stray, limit = m.group(1), m.group(2), float(m.group(3)), float(m.group(4)), float(m.group(5))
            kind = "f64" if backend.startswith("float64") else "cpu" if backend.startswith("cpu") else "opencl" if backend.startswith("opencl") else "other"
            # per-scale / per-step tensors share one row (gen.si0.f_hat .. gen.siN.f_hat, lpd.stepK.*)
            key = (test, re.sub(r"\.(si|step)\d+\.", r".\1K.", name))
            r = rows.setdefault(key, {"f64": 0.0, "cpu": 0.0, "opencl": 0.0, "other": 0.0, "stray": 0.0, "limit_lo": float("inf"), "limit_hi": 0.0, "margin": float("inf"), "n": 0})
            r[kind] = max(r[kind], err)
            r["stray"] = max(r["stray"], stray)
            r["limit_lo"] = min(r["limit_lo"], limit)
            r["limit_hi"] = max(r["limit_hi"], limit)
            if err > 0:
                r["margin"] = min(r["margin"], limit / err)
            r["n"] += 1
    print("| test | tensor | float64 vs golden | float32 stray | cpu vs golden | opencl vs golden | limit | min margin |")
    print("|---|---|---|---|---|---|---|---|")
    g = lambda x: "0" if x == 0 else f"{x:.2g}"
    for (test, name), r in sorted(rows.items()):
        lim = g(r["limit_lo"]) if r["limit_lo"] == r["limit_hi"] else f"{g(r['limit_lo'])}–{g(r['limit_hi'])}"
        margin = "–" if r["margin"] == float("inf") else f"{r['margin']:.1f}×"
        print(f"| {test} | {name} | {g(r['f64'])} | {g(r['stray'])} | {g(r['cpu'])} | {g(r['opencl'])} | {lim} | {margin} |")


if __name__ == "__main__":
    main()
