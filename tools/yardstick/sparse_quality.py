#!/usr/bin/env python3
"""Quality of sparse attention on a trained text-to-image model (docs/sparse.md, issue 14).

For a fixed prompt set (JSON Lines with seeds, e.g. samples/eval200.jsonl) it renders the dense
images once and then every (block size, policy) pair with `hart batch` under the same seeds, and
reports per pair:
  - the density `-v` prints for each sparse scale (averaged over the batches),
  - PSNR of each image against the dense image of the same prompt and seed: the PSNR of the
    pooled squared error of all images, the mean and median over the images that differ, the
    minimum, and how many images are identical to dense (PSNR = inf),
  - prompt adherence (tools/yardstick/check.py: share of images with all five attributes right;
    64x64 pictures of the shapes grammar only: --no-adherence for any other model).
Standard library only. Output: a Markdown table on stdout and OUT/sparse_quality.json.

usage: sparse_quality.py [--bin bin/hart] [--model models/hart-shapes] [--prompts FILE]
                         [--count N] [--blocks 8,16,64] [--specs local:0,...] [--out DIR]
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402  (the adherence checker; also its PNG reader)

DEFAULT_SPECS = "local:0,local:1,local:2,xattn:0.5,xattn:0.9,quest:1,quest:2,quest:4"
DENSITY_RE = re.compile(r"scale (\d+)/(\d+) \((\d+)x\d+\) done, sparse attention (\S+): density ([0-9.]+)")


def render(a, prompts, out, extra):
    """Runs `hart batch` into out (skipped when its manifest lists every image); returns
    {scale: mean density} from its -v lines and the wall time."""
    man = os.path.join(out, "manifest.jsonl")
    log = os.path.join(out, "stderr.log")
    if os.path.exists(man) and os.path.exists(log):
        with open(man) as f:
            done = sum(1 for line in f if '"file"' in line)
        if done == a.count:
            return parse_density(open(log).read()), None
    os.makedirs(out, exist_ok=True)
    cmd = [a.bin, "batch", prompts, "-m", a.model, "-o", out, "-b", str(a.batch), "--force", "-v"] + extra
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    with open(log, "w") as f:
        f.write(r.stderr)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr[-2000:]))
    return parse_density(r.stderr), wall


def parse_density(text):
    per = {}
    for m in DENSITY_RE.finditer(text):
        per.setdefault(int(m.group(3)), []).append(float(m.group(5)))
    return {k: sum(v) / len(v) for k, v in sorted(per.items())}


def manifest(out):
    rows = []
    with open(os.path.join(out, "manifest.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if "file" in d:
                rows.append(d)
    return sorted(rows, key=lambda d: d["index"])


def pixels(path):
    w, h, rows = check.read_png(path)
    return [c for row in rows for px in row for c in px]


def compare(dense_dir, dense_px, out):
    sq_sum, n_sum, psnrs, identical, per_image = 0, 0, [], 0, []
    for d in manifest(out):
        px = pixels(os.path.join(out, d["file"]))
        ref = dense_px[d["index"]]
        se = sum((p - q) * (p - q) for p, q in zip(px, ref))
        sq_sum += se
        n_sum += len(px)
        if se == 0:
            identical += 1
            per_image.append(None)  # identical: PSNR = inf
        else:
            psnrs.append(10 * math.log10(255.0 ** 2 * len(px) / se))
            per_image.append(psnrs[-1])
    psnrs.sort()
    pooled = math.inf if sq_sum == 0 else 10 * math.log10(255.0 ** 2 * n_sum / sq_sum)
    return dict(images=identical + len(psnrs), identical=identical, pooled_psnr=pooled,
                mean_psnr=(sum(psnrs) / len(psnrs)) if psnrs else math.inf,
                median_psnr=psnrs[len(psnrs) // 2] if psnrs else math.inf,
                min_psnr=psnrs[0] if psnrs else math.inf,
                share_below_30=sum(p < 30 for p in psnrs) / (identical + len(psnrs)),
                psnr_per_image=per_image)


def adherence(a, out):
    """share of the images with all five attributes right, None with --no-adherence"""
    if a.no_adherence:
        return None
    rows = manifest(out)
    ok = 0
    for d in rows:
        ok += all(check.check(os.path.join(out, d["file"]), d["prompt"])[2].values())
    return ok / len(rows)


def pct(x):
    return "–" if x is None else "%.1f %%" % (100 * x)


def fmt(x, digits=1):
    return "inf" if x == math.inf else ("%.*f" % (digits, x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="bin/hart")
    ap.add_argument("--model", default="models/hart-shapes")
    ap.add_argument("--prompts", default="samples/eval200.jsonl")
    ap.add_argument("--count", type=int, default=200, help="first N prompts of the file")
    ap.add_argument("--blocks", default="8,16,64")
    ap.add_argument("--specs", default=DEFAULT_SPECS)
    ap.add_argument("--batch", type=int, default=8, help="hart batch -b (the same for every run)")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each run")
    ap.add_argument("--out", default="build/sparse_quality")
    ap.add_argument("--no-adherence", action="store_true", help="skip check.py (models other than hart-shapes)")
    ap.add_argument("--other-seed", type=int, default=0, metavar="K",
                    help="also render the dense set with every seed + K: the PSNR of an unrelated sample of the "
                         "same prompt, a floor for reading the others (0 = off)")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    prompts = os.path.join(a.out, "prompts.jsonl")
    with open(a.prompts) as f:
        lines = [line for line in f if line.strip()][:a.count]
    if len(lines) < a.count:
        sys.exit("%s has only %d prompts" % (a.prompts, len(lines)))
    with open(prompts, "w") as f:
        f.writelines(lines)

    dense_dir = os.path.join(a.out, "dense")
    render(a, prompts, dense_dir, [])
    dense_px = {d["index"]: pixels(os.path.join(dense_dir, d["file"])) for d in manifest(dense_dir)}
    results = [dict(block=None, spec="none", density={}, adherence_all=adherence(a, dense_dir))]
    print("dense: all five attributes right %s" % pct(results[0]["adherence_all"]), file=sys.stderr)
    if a.other_seed:
        other = os.path.join(a.out, "prompts_seed%+d.jsonl" % a.other_seed)
        with open(other, "w") as f:
            for line in lines:
                d = json.loads(line)
                if "seed" not in d:
                    sys.exit("--other-seed needs a JSON Lines prompt file with a seed per prompt")
                d["seed"] += a.other_seed
                f.write(json.dumps(d) + "\n")
        out = os.path.join(a.out, "dense_seed%+d" % a.other_seed)
        render(a, other, out, [])
        r = dict(block=None, spec="dense, seed %+d" % a.other_seed, density={},
                 **compare(dense_dir, dense_px, out), adherence_all=adherence(a, out))
        results.append(r)
        print("%s: pooled PSNR %s dB, mean %s, min %s" % (r["spec"], fmt(r["pooled_psnr"]), fmt(r["mean_psnr"]),
                                                         fmt(r["min_psnr"])), file=sys.stderr)
    for block in [int(b) for b in a.blocks.split(",")]:
        for spec in a.specs.split(","):
            out = os.path.join(a.out, "b%d_%s" % (block, spec.replace(":", "_")))
            dens, wall = render(a, prompts, out, ["--sparse-attn", spec, "--sparse-block", str(block)])
            r = dict(block=block, spec=spec, density=dens, **compare(dense_dir, dense_px, out),
                     adherence_all=adherence(a, out))
            results.append(r)
            print("block %d %s: density %s, pooled PSNR %s dB, min %s, identical %d/%d, all right %s"
                  % (block, spec, " ".join("%.2f" % v for v in dens.values()), fmt(r["pooled_psnr"]),
                     fmt(r["min_psnr"]), r["identical"], r["images"], pct(r["adherence_all"])),
                  file=sys.stderr)

    with open(os.path.join(a.out, "sparse_quality.json"), "w") as f:
        # inf (identical images) is written as null: JSON has no infinity
        finite = [{k: (None if v == math.inf else v) for k, v in r.items()} for r in results]
        json.dump(dict(model=a.model, prompts=a.prompts, count=a.count, batch=a.batch, results=finite), f, indent=1)
    print("| block | policy | density (last three scales) | identical to dense | PSNR pooled / mean / median / min (dB) "
          "| images < 30 dB | all five right |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        if r["spec"] != "none" and r["block"] is None:
            print("| – | %s | 1 | %d / %d | %s / %s / %s / %s | %.0f %% | %s |" % (
                r["spec"], r["identical"], r["images"], fmt(r["pooled_psnr"]), fmt(r["mean_psnr"]),
                fmt(r["median_psnr"]), fmt(r["min_psnr"]), 100 * r["share_below_30"], pct(r["adherence_all"])))
            continue
        if r["block"] is None:
            print("| – | dense | 1 | %d / %d | – | – | %s |" % (a.count, a.count, pct(r["adherence_all"])))
            continue
        print("| %d | %s | %s | %d / %d | %s / %s / %s / %s | %.0f %% | %s |" % (
            r["block"], r["spec"], " / ".join("%.2f" % v for v in r["density"].values()),
            r["identical"], r["images"], fmt(r["pooled_psnr"]), fmt(r["mean_psnr"]), fmt(r["median_psnr"]),
            fmt(r["min_psnr"]), 100 * r["share_below_30"], pct(r["adherence_all"])))


if __name__ == "__main__":
    main()
