#!/usr/bin/env python3
"""How far pytorch-fid's own GPU default (TF32 cuDNN convolutions) moves the features and the FID
of the golden fid-tiny sets (tests/data/golden/fid-tiny, made in float32 on the CPU): the yardstick
for the f16 limits of tests/golden/test_fid.c. Needs a CUDA GPU with TF32 (Ampere or newer),
pytorch-fid, the golden set's weights as safetensors (`make_random_models fid W.safetensors
weights.txt`) and a `hart` binary for the distance (pytorch-fid 0.3.0's own
calculate_frechet_distance calls scipy's sqrtm with an argument new scipy versions dropped; our
FID math equals pytorch-fid's within 1e-9, tests/golden/test_fid.c).

    python3 tools/fid_golden_tf32.py W.safetensors HART [GOLDEN_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_fid_bench import build_model  # noqa: E402
from pytorch_fid.fid_score import get_activations  # noqa: E402


def main():
    weights, hart = sys.argv[1], sys.argv[2]
    g = sys.argv[3] if len(sys.argv) > 3 else "tests/data/golden/fid-tiny"
    want = json.load(open(os.path.join(g, "golden.json")))["fid"]
    gold = load_file(os.path.join(g, "golden.safetensors"))
    sets = {k: sorted(os.path.join(g, k, f) for f in os.listdir(os.path.join(g, k))) for k in ("a", "b")}
    model = build_model(weights).to("cuda").eval()
    tmp = tempfile.mkdtemp()
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        paths, errs = [], []
        for k, files in sets.items():
            f = get_activations(files, model, 1, 2048, "cuda", 0).astype(np.float64)
            ref = gold["feat_" + k].astype(np.float64)
            errs.append(np.abs(f - ref).max() / np.abs(ref).max())
            p = os.path.join(tmp, "%s_%d.npz" % (k, tf32))
            np.savez(p, mu=f.mean(0), sigma=np.cov(f, rowvar=False))
            paths.append(p)
        out = subprocess.run([hart, "fid"] + paths, capture_output=True, text=True, check=True).stdout
        fid = float(out.split("FID:")[1])
        print("pytorch-fid cuda, tf32 %s: features max rel err %.3g / %.3g (sets a / b) from golden (CPU float32); "
              "FID %.10g vs golden %.10g: relative %.3g" % (tf32, errs[0], errs[1], fid, want, abs(fid - want) / abs(want)))


if __name__ == "__main__":
    main()
