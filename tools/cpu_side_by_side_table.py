#!/usr/bin/env python3
"""Markdown table from tools/hart_cpu_side_by_side.sh's results.txt: per row (decoder
alone, or the whole image of one config) the median over the rounds of each side's
in-process median, and the ratio ours / original taken round by round (median, min-max).
Below 1: ours is faster.

  python3 tools/cpu_side_by_side_table.py results.txt > table.md

Lines: RESULT round=KIND-N impl=hart|torch config=NAME px=P B=B total_s=S ...; within one
round (KIND-N) and one config the hart line and the torch line are a pair.
"""
import shlex
import statistics
import sys


def main():
    rows = {}  # (kind, config) -> round -> {impl: seconds}
    order = []
    for line in open(sys.argv[1], errors="replace"):
        if not line.startswith("RESULT "):
            continue
        r = dict(t.split("=", 1) for t in shlex.split(line[7:]) if "=" in t)
        if "total_s" not in r:
            continue
        kind, rnd = r["round"].rsplit("-", 1)
        cfg = r["config"].replace("-tiny", "")
        if kind == "decode":
            cfg = "tokenizer decoder"
        key = (kind, cfg, r.get("px", "?"))
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key].setdefault(rnd, {})[r["impl"]] = float(r["total_s"])
    print("| row | px | rounds | hart.c (s, median) | original PyTorch (s, median) | ratio hart.c / original "
          "(median of rounds, min–max) |")
    print("|---|---|---|---|---|---|")
    for key in order:
        pairs = [v for v in rows[key].values() if "hart" in v and "torch" in v]
        ours = [v["hart"] for v in rows[key].values() if "hart" in v]
        orig = [v["torch"] for v in rows[key].values() if "torch" in v]
        ratios = [v["hart"] / v["torch"] for v in pairs if v["torch"] > 0]
        rs = "%.2f× (%.2f–%.2f)" % (statistics.median(ratios), min(ratios), max(ratios)) if ratios else "—"
        print("| %s %s | %s | %d | %s | %s | %s |" % (
            key[0], key[1], key[2], len(pairs), "%.3f" % statistics.median(ours) if ours else "—",
            "%.3f" % statistics.median(orig) if orig else "—", rs))


if __name__ == "__main__":
    main()
