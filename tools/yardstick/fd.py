#!/usr/bin/env python3
"""Fréchet distance and kernel distance (KID) on the features of a small classifier trained on the shapes dataset.

The classifier (ShapesNet below: four stride-2 3x3 convolutions with batch norm from the full 64x64
picture to a 4x4x128 map, a linear 64-dim feature, six heads: shape, colour, position, size,
background top and bottom colour) is trained once, seeded, on dataset images (seed 31337) and stored
in tools/yardstick/shapes_classifier.safetensors (its metadata holds the held-out accuracy per head,
on 2000 images of seed 31338). Until 2026-11-28 a weaker one was used (2x2 mean to 32x32, three
convolutions, a shape x colour head; 36 % training accuracy on shape x colour): docs/training.md
labels the numbers measured with it.
The distance between two image sets is the Fréchet distance between Gaussians fitted to their
64-dim features: |mu1 - mu2|² + tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½).
KID is the squared maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³
(d = 64) on features standardised by the reference set's mean and deviation, estimated without bias (diagonal terms left out): unlike FD, its expected value is 0 for two
sets of the same distribution at any size, so a few hundred images suffice. Printed ×1000, with the
standard deviation over 50 draws of 100 vs 100 images (the spread of the estimate at that size).

  fd.py train [--n 10000] [--epochs 3]                 (re)make the classifier (shipped: these values)
  fd.py distance DIR... [--ref-seed 4242 --ref-n 1000]  FD of DIR/*.png vs held-out dataset images
  fd.py baseline [--n 200] [--sets 3]                  FD/KID of n dataset images vs the reference set
Needs numpy, Pillow and PyTorch (CPU is enough).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dataset"))
import grammar  # noqa: E402
import shapes  # noqa: E402

WEIGHTS = os.path.join(HERE, "shapes_classifier.safetensors")
TRAIN_SEED = 31337
TEST_SEED = 31338  # held-out images for the accuracy the training prints


class ShapesNet(nn.Module):
    """Four 3x3 convolutions (batch norm, ReLU) from the full 64x64 picture to a 4x4x128 map, a linear
    64-dim feature, and one head per attribute (shape, colour, position, size, background top and
    bottom colour: equal for a solid background)."""
    HEADS = dict(shape=len(grammar.SHAPES), colour=len(grammar.COLOUR_NAMES), pos=9, size=3,
                 bg_top=len(grammar.COLOUR_NAMES), bg_bottom=len(grammar.COLOUR_NAMES))

    def __init__(self):
        super().__init__()
        # (in, out, stride): 64 -> 32 -> 16 -> 8 -> 4; the first layer reads every pixel (edges, corners)
        plan = [(3, 32, 2), (32, 64, 2), (64, 128, 2), (128, 128, 2)]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, stride=st, padding=1, bias=False) for i, o, st in plan])
        self.norms = nn.ModuleList([nn.BatchNorm2d(o) for _, o, _ in plan])
        self.feat = nn.Linear(128 * 4 * 4, 64)  # the 4x4 map is kept: positions matter
        self.heads = nn.ModuleDict({k: nn.Linear(64, n) for k, n in self.HEADS.items()})

    def features(self, x):  # x uint8 [B,64,64,3]
        h = x.permute(0, 3, 1, 2).float() / 127.5 - 1
        for c, n in zip(self.convs, self.norms):
            h = F.relu(n(c(h)))
        return self.feat(h.flatten(1))

    def forward(self, x):
        f = F.relu(self.features(x))
        return {k: m(f) for k, m in self.heads.items()}


def labels(specs):
    o = [s["objects"][0] for s in specs]
    bg = [(s["bg"]["colour"], s["bg"]["colour"]) if s["bg"]["kind"] == "solid" else (s["bg"]["top"], s["bg"]["bottom"])
          for s in specs]
    ci = grammar.COLOUR_NAMES.index
    return dict(shape=torch.tensor([grammar.SHAPES.index(a["shape"]) for a in o]),
                colour=torch.tensor([ci(a["colour"]) for a in o]),
                pos=torch.tensor([grammar.POSITION_NAMES.index(a["position"]) for a in o]),
                size=torch.tensor([grammar.SIZE_NAMES.index(a["size"]) for a in o]),
                bg_top=torch.tensor([ci(t) for t, _ in bg]), bg_bottom=torch.tensor([ci(b) for _, b in bg]))


@torch.no_grad()
def accuracy(net, x, y):
    """Share of right answers per head, and for shape and colour together."""
    net.eval()
    out = {k: [] for k in y}
    for s in range(0, len(x), 500):
        o = net(x[s:s + 500])
        for k in y:
            out[k].append(o[k].argmax(1))
    hit = {k: torch.cat(out[k]) == y[k] for k in y}
    acc = {k: hit[k].float().mean().item() for k in y}
    acc["shape+colour"] = (hit["shape"] & hit["colour"]).float().mean().item()
    return acc


def train(n, epochs, test_n=2000):
    torch.manual_seed(0)
    imgs, _, _, specs = shapes.batch(TRAIN_SEED, 0, n)
    timgs, _, _, tspecs = shapes.batch(TEST_SEED, 0, test_n)
    x, y = torch.from_numpy(imgs), labels(specs)
    tx, ty = torch.from_numpy(timgs), labels(tspecs)
    net = ShapesNet()
    bs = 64
    steps = epochs * ((n + bs - 1) // bs)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(n)
        tot = 0.0
        for s in range(0, n, bs):
            i = perm[s:s + bs]
            out = net(x[i])
            loss = sum(F.cross_entropy(out[k], y[k][i]) for k in y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(i)
        acc = accuracy(net, tx, ty)
        print(f"epoch {ep}: train loss {tot / n:.3f}; held-out accuracy ({test_n} images, seed {TEST_SEED}): "
              + " ".join(f"{k} {v:.3f}" for k, v in acc.items()), flush=True)
    from safetensors.torch import save_file
    meta = {"train_seed": str(TRAIN_SEED), "n": str(n), "epochs": str(epochs), "test_seed": str(TEST_SEED),
            "test_accuracy": json.dumps({k: round(v, 4) for k, v in acc.items()})}
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, WEIGHTS, metadata=meta)
    print(f"wrote {WEIGHTS}")


def load():
    from safetensors.torch import load_file
    net = ShapesNet()
    net.load_state_dict(load_file(WEIGHTS))
    return net.eval()


@torch.no_grad()
def feats(net, imgs):
    return torch.cat([net.features(torch.from_numpy(imgs[s:s + 256])) for s in range(0, len(imgs), 256)]).double().numpy()


def frechet(f1, f2):
    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def mmd2_unbiased(f1, f2):
    d = f1.shape[1]
    k11, k22, k12 = ((a @ b.T / d + 1) ** 3 for a, b in ((f1, f1), (f2, f2), (f1, f2)))
    n, m = len(f1), len(f2)
    return float((k11.sum() - np.trace(k11)) / (n * (n - 1)) + (k22.sum() - np.trace(k22)) / (m * (m - 1))
                 - 2 * k12.mean())


def kid(f1, f2, draws=50, size=100, seed=0):
    """(KID of the whole sets, standard deviation over `draws` subsets of `size` vs `size`)."""
    mu, sd = f2.mean(0), f2.std(0) + 1e-8  # standardised by the reference set: x·y/d is O(1)
    f1, f2 = (f1 - mu) / sd, (f2 - mu) / sd
    r = np.random.default_rng(seed)
    size = min(size, len(f1), len(f2))
    sub = [mmd2_unbiased(f1[r.choice(len(f1), size, replace=False)], f2[r.choice(len(f2), size, replace=False)])
           for _ in range(draws)]
    return mmd2_unbiased(f1, f2), float(np.std(sub))


def ref_images(seed, n):
    return shapes.batch(seed, 0, n)[0]


def read_dir(d):
    from PIL import Image
    files = sorted(glob.glob(os.path.join(d, "*.png")))
    if not files:
        raise SystemExit(f"fd.py: no PNG files in {d}")
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["train", "distance", "baseline"])
    ap.add_argument("dirs", nargs="*", help="folders of generated PNGs (distance)")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--ref-seed", type=int, default=4242)
    ap.add_argument("--ref-n", type=int, default=1000)
    ap.add_argument("--sets", type=int, default=1, help="baseline: how many dataset sets (seeds ref+1, ref+2, ...)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2 if a.cmd == "train" else 1)
    if a.cmd == "train":
        return train(a.n or 10000, a.epochs)
    net = load()
    fr = feats(net, ref_images(a.ref_seed, a.ref_n))
    if a.cmd == "baseline":
        sets = [(f"dataset seed {a.ref_seed + k}", ref_images(a.ref_seed + k, a.n or 200)) for k in range(1, 1 + a.sets)]
    else:
        if not a.dirs:
            raise SystemExit("fd.py distance: give one or more folders of generated images")
        sets = [(d, read_dir(d)) for d in a.dirs]
    for name, imgs in sets:
        fg = feats(net, imgs)
        d = frechet(fg, fr)
        k, ks = kid(fg, fr)
        res = dict(set=name, fd=d, kid_x1000=1000 * k, kid_std_100_x1000=1000 * ks, images=len(imgs),
                   ref_seed=a.ref_seed, ref_n=a.ref_n)
        print(json.dumps(res) if a.json else
              f"FD {d:.3f}  KID×1000 {1000 * k:.3f} (±{1000 * ks:.3f} at 100 images)  {name} "
              f"({len(imgs)} images vs {a.ref_n} dataset images, seed {a.ref_seed})")


if __name__ == "__main__":
    main()
