#!/usr/bin/env python3
"""Golden data for `hart fid` from pytorch-fid's own code (PyPI pytorch-fid)
with RANDOM deterministic weights.

Writes tests/data/golden/fid-tiny/:
  a/*.png, b/*.png   small image sets of odd sizes (random pixels + ramps)
  weights.txt        one line per weight tensor, in the model's state_dict
                     order: "name lo hi d0 d1 ..." - tensor k (0-based line
                     number) holds lo + (hi-lo)*u_i, u_i = (splitmix64((k<<32)+i)
                     >> 40) / 2^24, computed in double and rounded to float32.
                     The C test (tests/support/fid_random.c) regenerates them.
  golden.safetensors prep_sub (the network input, every 7th row/column),
                     feat_a / feat_b (2048-d pool features), mu_a, mu_b,
                     small_in [1,3,83,91] (uniform [0,1)) and feat_small: its
                     features without the resize (resize_input=False)
  golden.json        fid (pytorch-fid's calculate_frechet_distance of the two
                     sets) and s64_fid (the FID math alone, full-rank 64-d case)
  stats64_a.npz, stats64_b.npz  the 64-d stats as np.savez_compressed writes
                     them (pytorch-fid --save-stats format, deflated members)

Run: /work/venv-fid/bin/python tools/fid_golden_gen.py  (torch, pytorch-fid, numpy, scipy, pillow)
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

import pytorch_fid.inception as pfi
from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden/fid-tiny"
M64 = (1 << 64) - 1


def splitmix_uniform(k, n):
    x = (np.uint64(k) << np.uint64(32)) + np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def weight_range(name, shape):
    if name.endswith("conv.weight"):  # He-like: keeps activations O(1) through the ReLUs
        fan_in = int(np.prod(shape[1:]))
        a = float(np.sqrt(6.0 / fan_in))
        return -a, a
    if name.endswith("bn.weight") or name.endswith("bn.running_var"):
        return 0.5, 1.5
    if name.endswith("bn.bias") or name.endswith("bn.running_mean"):
        return -0.1, 0.1
    return None  # fc.*, num_batches_tracked: unused by the features


def random_state_dict(model):
    sd = model.state_dict()
    lines, out = [], {}
    k = 0
    for name, t in sd.items():
        r = weight_range(name, tuple(t.shape))
        if r is None:
            out[name] = torch.zeros_like(t)
            continue
        lo, hi = r
        n = t.numel()
        v = (lo + (hi - lo) * splitmix_uniform(k, n)).astype(np.float32).reshape(t.shape)
        out[name] = torch.from_numpy(v)
        lines.append("%s %r %r %s" % (name, lo, hi, " ".join(str(d) for d in t.shape)))
        k += 1
    return out, lines


WEIGHT_LINES = []


def fake_download(url, progress=True):
    # pytorch-fid's fid_inception_v3() builds the network, then loads the
    # release weights: hand it random ones for the model it just built.
    model = sys._getframe(1).f_locals["inception"]
    sd, lines = random_state_dict(model)
    WEIGHT_LINES[:] = lines
    return sd


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = {np.float32: "F32"}[a.dtype.type]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_images(folder, sizes, seed):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for i, (w, h) in enumerate(sizes):
        yy, xx = np.mgrid[0:h, 0:w]
        ramp = np.stack([xx * 255.0 / max(w - 1, 1), yy * 255.0 / max(h - 1, 1), (xx + yy) * 127.0 / (w + h)], -1)
        img = np.clip(0.5 * ramp + rng.integers(0, 128, (h, w, 3)), 0, 255).astype(np.uint8)
        p = os.path.join(folder, "img%02d.png" % i)
        Image.fromarray(img, "RGB").save(p)
        files.append(p)
    return files


def main():
    torch.manual_seed(0)
    pfi.load_state_dict_from_url = fake_download
    model = pfi.InceptionV3([3]).eval()
    with open(os.path.join(OUT, "weights.txt"), "w") as f:
        f.write("\n".join(WEIGHT_LINES) + "\n")

    files_a = make_images(os.path.join(OUT, "a"), [(37, 53), (300, 299), (96, 61)], 1)
    files_b = make_images(os.path.join(OUT, "b"), [(64, 41), (123, 97)], 2)

    # the network input as pytorch-fid makes it (ToTensor, resize, 2x-1): the input of block 0
    preps = []
    model.blocks[0].register_forward_pre_hook(lambda mod, inp: preps.append(inp[0].detach().numpy().copy()))
    mu_a, sigma_a = calculate_activation_statistics(files_a, model, batch_size=1, dims=2048, device="cpu")
    mu_b, sigma_b = calculate_activation_statistics(files_b, model, batch_size=1, dims=2048, device="cpu")
    from pytorch_fid.fid_score import get_activations
    feat_a = get_activations(files_a, model, batch_size=1, dims=2048, device="cpu")
    feat_b = get_activations(files_b, model, batch_size=1, dims=2048, device="cpu")
    fid = calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b)

    # a small input straight into the network (pytorch-fid's resize_input=False;
    # 2x-1 still applied): cheap enough for the C test's float64 oracle
    small_in = np.random.default_rng(4).random((1, 3, 83, 91)).astype(np.float32)
    small = pfi.InceptionV3([3], resize_input=False).eval()
    with torch.no_grad():
        feat_small = small(torch.from_numpy(small_in))[0].squeeze(3).squeeze(2).numpy()
    prep = np.concatenate(preps[: len(files_a) + len(files_b)], 0)

    # the FID math alone: full-rank 64-d stats from 400 samples each
    rng = np.random.default_rng(3)
    x1 = rng.standard_normal((400, 64)) @ rng.standard_normal((64, 64)) * 0.3 + 1.0
    x2 = rng.standard_normal((400, 64)) @ rng.standard_normal((64, 64)) * 0.25 + 0.5
    m1, s1 = np.mean(x1, 0), np.cov(x1, rowvar=False)
    m2, s2 = np.mean(x2, 0), np.cov(x2, rowvar=False)
    fid64 = calculate_frechet_distance(m1, s1, m2, s2)
    for name, m, s in (("stats64_a.npz", m1, s1), ("stats64_b.npz", m2, s2)):
        np.savez_compressed(os.path.join(OUT, name), mu=m, sigma=s)

    g = {
        "prep_sub": prep[:, :, ::7, ::7].astype(np.float32),
        "feat_a": feat_a.astype(np.float32),
        "small_in": small_in,
        "feat_small": feat_small.astype(np.float32),
        "feat_b": feat_b.astype(np.float32),
        "mu_a": mu_a.astype(np.float32),
        "mu_b": mu_b.astype(np.float32),
    }
    save_safetensors(os.path.join(OUT, "golden.safetensors"), g)
    # the scalars in full double precision
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"fid": float(fid), "s64_fid": float(fid64), "n_a": len(files_a), "n_b": len(files_b)}, f, indent=1)
        f.write("\n")
    print("features: |a| max %.4g mean %.4g; fid %.10g; fid64 %.10g" % (
        np.abs(feat_a).max(), np.abs(feat_a).mean(), fid, fid64))
    print("torch", torch.__version__, "numpy", np.__version__)


if __name__ == "__main__":
    main()
