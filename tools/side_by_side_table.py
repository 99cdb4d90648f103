#!/usr/bin/env python3
"""Markdown tables from a tools/hart_side_by_side.sh log: hart.c (bench_hart RESULT lines,
tensor cores on and off) against the original PyTorch HART (hart_torch_bench.py RESULT
lines), with the ratio ours / original (below 1: ours is faster).

  python3 tools/side_by_side_table.py $OUT/sbs.log [more logs...] > table.md

Reads RESULT lines anywhere in the files; the text-encoder and DC-AE rows of our side
come from bench_qwen2 / bench_dcae output inside the log's '=== ours_qwen2_tc' (or _def)
and '=== ours_dcae_tc' (_def) sections. When a key occurs twice (a rerun), the last wins.
"""
import re
import shlex
import sys


def parse_result(line):
    out = {}
    for tok in shlex.split(line[len("RESULT "):]):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def fmt(x, nd=3):
    return "—" if x is None else ("%.*f" % (nd, x))


def ratio(a, b):
    return "—" if a is None or b is None or b <= 0 else "%.2f×" % (a / b)


def read(paths):
    hart, torch, extra_torch, extra_ours = {}, {}, {}, {}
    for p in paths:
        section = ""
        for line in open(p, errors="replace"):
            line = line.rstrip("\n")
            m = re.match(r"=== (\S+)", line)
            if m:
                section = m.group(1)
                continue
            if line.startswith("RESULT "):
                r = parse_result(line)
                if "stage" in r:  # text encoder / DC-AE, the original's side
                    extra_torch[(r.get("config"), r["stage"])] = r
                elif r.get("impl") == "hart":
                    hart[(r.get("config"), r.get("px"), r.get("B"), r.get("tc"))] = r
                elif r.get("impl") == "torch":
                    torch[(r.get("config"), r.get("px"), r.get("B"))] = r
                continue
            tc = "1" if section.endswith("_tc") else "0"
            m = re.search(r"full model, 28 layers \(measured\): ([0-9.]+) s per pass", line)
            if m and section.startswith("ours_qwen2"):
                extra_ours[("qwen2", "encode", tc)] = float(m.group(1))
            m = re.match(r"\s+(\d+)x(\d+)\s+(encode|decode)\s+([0-9.]+) s", line)
            if m and section.startswith("ours_dcae"):
                extra_ours[("dcae%s" % m.group(1), m.group(3), tc)] = float(m.group(4))
    return hart, torch, extra_torch, extra_ours


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hart, torch, extra_torch, extra_ours = read(sys.argv[1:])
    info = sorted({"dtype=%s kernels=%s attn=%s" % (r.get("dtype"), r.get("kernels"), r.get("attn")) for r in torch.values()})
    if info:
        print("Original (PyTorch HART): %s. Times: medians, seconds.\n" % "; ".join(info))
    keys = sorted({k[:3] for k in hart} | set(torch), key=lambda k: (k[0] or "", -int(k[1] or 0), int(k[2] or 0)))
    print("| config | px | B | original (PyTorch fp16) s/image | ours, tensor cores s/image | ratio | "
          "ours, default s/image | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in keys:
        t = torch.get(k, {})
        o1, o0 = hart.get(k + ("1",), {}), hart.get(k + ("0",), {})
        tp, p1, p0 = num(t, "per_image_s"), num(o1, "per_image_s"), num(o0, "per_image_s")
        err = " (original: %s)" % t["error"] if "error" in t else ""
        print("| %s | %s | %s | %s%s | %s | %s | %s | %s |" % (k[0], k[1], k[2], fmt(tp), err, fmt(p1), ratio(p1, tp),
                                                             fmt(p0), ratio(p0, tp)))
    stages = (("tf_s", "transformer"), ("tf_last_s", "of which last scale"), ("diff_s", "diffusion head"),
              ("decode_s", "decode"), ("other_s", "other (sampling, next-scale input, host)"),
              ("total_s", "whole batch"))
    for k in keys:
        t, o1 = torch.get(k, {}), hart.get(k + ("1",), {})
        if num(t, "tf_s") is None and num(o1, "tf_s") is None:
            continue
        print("\nStages, %s, %s px, B=%s (seconds for the batch; original / ours with tensor cores):\n" % k)
        print("| stage | original | ours | ratio |")
        print("| --- | ---: | ---: | ---: |")
        for key, label in stages:
            a, b = num(t, key), num(o1, key)
            print("| %s | %s | %s | %s |" % (label, fmt(a), fmt(b), ratio(b, a)))
    if extra_torch or extra_ours:
        lines = []
        rows = (("qwen2-1.5b", "encode", "qwen2", "Qwen2-1.5B text encoder, B=2 × 439 tokens (transformers fp16)"),
                ("dc-ae-f32c32-in-1.0", "decode", "dcae1024", "DC-AE f32c32 decode 1024² (diffusers bf16)"),
                ("dc-ae-f32c32-in-1.0", "encode", "dcae1024", "DC-AE f32c32 encode 1024² (diffusers bf16)"))
        for cfg, stage, ours_key, label in rows:
            a = num(extra_torch.get((cfg, stage), {}), "total_s")
            b1, b0 = extra_ours.get((ours_key, stage, "1")), extra_ours.get((ours_key, stage, "0"))
            if a is None and b1 is None and b0 is None:
                continue
            lines.append("| %s | %s | %s | %s | %s | %s |" % (label, fmt(a), fmt(b1), ratio(b1, a), fmt(b0),
                                                             ratio(b0, a)))
        if lines:
            print("\n| stage | original s | ours, tensor cores s | ratio | ours, default s | ratio |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            print("\n".join(lines))


if __name__ == "__main__":
    main()
