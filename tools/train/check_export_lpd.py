#!/usr/bin/env python3
"""Check an exported LPD model against the C port: the C program must compute what PyTorch computes.

For a model folder (lpd.pth + vq.pt, release layout):
  1. `hart generate --class C --seed S --steps K --dump D` renders one image and records every step
     (order, group sizes, the step inputs, conditional and unconditional logits, tokens, image).
  2. PyTorch (lpd_torch.py, the training modules: one full-sequence forward with the two-stream
     block-causal mask) recomputes, from the same class, order, group sizes and the C program's
     tokens, the step inputs and the logits of every query, conditional and with the null class,
     and the VQ decode of the final tokens.
  3. `hart reconstruct` of a dataset image against PyTorch's VQ round trip (indices and 8-bit image).
Prints max|a-b|/max|b| per tensor and exits 1 if one is above --limit (default 1e-4, the golden sets'
limit), an index differs, or the reconstructed PNGs differ by more than one level.

  python3 tools/train/check_export_lpd.py MODEL_DIR [--hart bin/hart] [--class 5] [--steps 16] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "dataset"))
import lpd_torch as lt  # noqa: E402
import shapes  # noqa: E402


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    vq = lt.VQModel(cfg["vq"])
    vq.load_state_dict({k: v.float() for k, v in torch.load(os.path.join(d, "vq.pt"), map_location="cpu")["model"].items()})
    m = lt.LPD(cfg["lpd"])
    m.load_state_dict({k: v.float() for k, v in torch.load(os.path.join(d, "lpd.pth"), map_location="cpu")["model"].items()})
    return vq.eval(), m.eval(), cfg


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def read_png(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), np.int16)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--hart", default=os.path.join(ROOT, "bin", "hart"))
    ap.add_argument("--class", dest="cls", type=int, default=5)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="--steps for hart (default: its own)")
    ap.add_argument("--group-sizes", default=None, help="--group-sizes for hart (models without a table schedule)")
    ap.add_argument("--cfg", type=float, default=3.0)
    ap.add_argument("--limit", type=float, default=1e-4)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    vq, m, cfg = load(a.model)
    lpd, vqp = os.path.join(a.model, "lpd.pth"), os.path.join(a.model, "vq.pt")
    res, bad = {}, []
    with tempfile.TemporaryDirectory() as td:
        dump = os.path.join(td, "d.safetensors")
        cmd = [a.hart, "generate", "-m", lpd, "--vq", vqp, "--class", str(a.cls), "--seed", str(a.seed),
               "--cfg", str(a.cfg), "--dump", dump, "-o", os.path.join(td, "g.png"), "-d", "cpu"]
        if a.steps:
            cmd += ["--steps", str(a.steps)]
        if a.group_sizes:
            cmd += ["--group-sizes", a.group_sizes]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        from safetensors.numpy import load_file
        D = load_file(dump)
        groups = [int(x) for x in D["lpd.group_sizes"]]
        order = torch.from_numpy(D["lpd.order"].astype(np.int64))  # [1,N]
        gen = torch.from_numpy(D["lpd.tokens_genorder"].astype(np.int64))
        label = torch.from_numpy(D["lpd.labels"].astype(np.int64))
        mask = lt.train_mask(groups)
        N = order.shape[1]
        with torch.no_grad():
            outs = {}
            for kind, unc in (("cond", False), ("uncond", True)):
                outs[kind] = m(label, torch.tensor([unc]), order, gen, mask, return_x=True)
        xs = {"cond": [], "uncond": []}
        s = 0
        for i, g in enumerate(groups):
            for kind in ("cond", "uncond"):
                name = f"lpd.step{i}.logits_{kind}"
                if name not in D:
                    continue
                r = rel(D[name][0], outs[kind][0][0, s:s + g])
                res[name] = r
            # the step input: [previous group's tokens (or the class slot); this group's queries]
            if f"lpd.step{i}.x" in D:
                x0c, x0u = outs["cond"][1][0], outs["uncond"][1][0]
                prev = [0] if i == 0 else list(range(1 + s - groups[i - 1], 1 + s))
                q = list(range(1 + N + s, 1 + N + s + g))
                want = torch.stack([x0c[prev + q], x0u[prev + q]])
                got = D[f"lpd.step{i}.x"]
                res[f"lpd.step{i}.x"] = rel(got, want[:got.shape[0]])
            s += g
        grid = int(round(N ** 0.5))
        with torch.no_grad():
            img = vq.decode_codes(torch.from_numpy(D["lpd.tokens"].astype(np.int64)), grid, grid)
        res["lpd.image"] = rel(D["lpd.image"], (img.numpy() + 1) / 2)  # the C image is decode * 0.5 + 0.5
        # VQ round trip of a dataset image
        im, _, _ = shapes.sample(7, 0)
        from PIL import Image
        src = os.path.join(td, "in.png")
        Image.fromarray(im).save(src)
        rec_png = os.path.join(td, "rec.png")
        subprocess.run([a.hart, "reconstruct", src, "-m", vqp, "-o", rec_png, "-d", "cpu"], check=True,
                       stdout=subprocess.DEVNULL)
        with torch.no_grad():
            x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255 * 2 - 1  # (x/255 - 0.5)/0.5
            y = vq.decode_codes(vq.quantize_latent(vq.encode(x))[0], grid, grid)
        want = np.clip(np.round((y[0].permute(1, 2, 0).numpy() + 1) / 2 * 255), 0, 255)
        res["vq.reconstruct_levels"] = float(np.abs(read_png(rec_png) - want).max())
    for k, v in res.items():
        lim = 1.0 if k == "vq.reconstruct_levels" else a.limit
        ok = v <= lim
        if not ok:
            bad.append(k)
        print(f"{k:32s} {v:.3e} {'ok' if ok else 'FAIL'} (limit {lim:g})")
    print(f"{len(res)} tensors compared, {len(bad)} over the limit; groups {groups}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(model=a.model, cls=a.cls, seed=a.seed, groups=groups, rel=res, failed=bad), f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
