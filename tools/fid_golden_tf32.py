#!/usr/bin/env python3
"""How far pytorch-fid's own GPU default (TF32 cuDNN convolutions) moves the FID of the golden
fid-tiny sets (tests/data/golden/fid-tiny, float32 on the CPU): the yardstick for the f16 limit
of tests/golden/test_fid.c. Needs a CUDA GPU with TF32 (Ampere or newer), pytorch-fid and the
golden set's weights as safetensors (`make_random_models fid W.safetensors weights.txt`).

    python3 tools/fid_golden_tf32.py W.safetensors [GOLDEN_DIR]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_fid_bench import build_model  # noqa: E402
from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance  # noqa: E402


def main():
    weights = sys.argv[1]
    g = sys.argv[2] if len(sys.argv) > 2 else "tests/data/golden/fid-tiny"
    want = json.load(open(os.path.join(g, "golden.json")))["fid"]
    sets = {k: sorted(os.path.join(g, k, f) for f in os.listdir(os.path.join(g, k))) for k in ("a", "b")}
    model = build_model(weights).to("cuda").eval()
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        st = {k: calculate_activation_statistics(v, model, 1, 2048, "cuda", 0) for k, v in sets.items()}
        fid = calculate_frechet_distance(st["a"][0], st["a"][1], st["b"][0], st["b"][1])
        print("pytorch-fid cuda, tf32 %s: FID %.10g, golden (CPU float32) %.10g, relative %.3g" %
              (tf32, fid, want, abs(fid - want) / abs(want)))


if __name__ == "__main__":
    main()
