#!/usr/bin/env python3
"""Times pytorch-fid's own feature path (PyPI pytorch-fid: `calculate_activation_statistics`,
what `python -m pytorch_fid --save-stats` runs) on a folder of images, with the FID Inception
weights of a safetensors file in pytorch-fid's state-dict names (the random-weight file that
`make_random_models fid` writes; the release file cannot be downloaded on an offline machine).
The baseline of `hart fid` in tools/fid_side_by_side.sh.

    python3 tools/pytorch_fid_bench.py WEIGHTS.safetensors DIR OUT.npz [--device cuda|cpu]
                                       [--batch 64] [--workers W] [--limit N] [--no-tf32]

Prints one line "pytorch-fid: N images in S s = R images/s (device ..., workers W, batch B)";
the time covers what the package's command covers after the model is built: the file list,
decoding (DataLoader workers), the network, the statistics and the .npz write.
"""
import argparse
import os
import pathlib
import sys
import time

import numpy as np
import torch
from safetensors.torch import load_file

import pytorch_fid.inception as pfi
from pytorch_fid.fid_score import calculate_activation_statistics

IMAGE_EXTENSIONS = {"png", "jpg", "jpeg"}


def build_model(weights):
    given = load_file(weights)

    def offline_weights(url, progress=True):
        # pytorch-fid's fid_inception_v3() builds the network, then asks for the release
        # weights: hand it the file's tensors (keys it lacks, e.g. fc, keep the built values)
        built = sys._getframe(1).f_locals["inception"].state_dict()
        missing = [k for k in given if k not in built]
        if missing:
            raise SystemExit("pytorch_fid_bench: names not in pytorch-fid's model: %s" % missing[:3])
        built.update(given)
        return built

    pfi.load_state_dict_from_url = offline_weights
    return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=None, help="default: pytorch-fid's own, min(CPUs, 8)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (sorted)")
    ap.add_argument("--no-tf32", action="store_true",
                    help="float32 convolutions (PyTorch's default on a GPU is TF32 for cuDNN convolutions)")
    a = ap.parse_args()
    if a.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    workers = a.workers if a.workers is not None else min(len(os.sched_getaffinity(0)), 8)
    model = build_model(a.weights).to(a.device).eval()
    t0 = time.perf_counter()
    path = pathlib.Path(a.folder)
    files = sorted(f for ext in IMAGE_EXTENSIONS for f in path.glob("*.{}".format(ext)))
    if a.limit:
        files = files[:a.limit]
    mu, sigma = calculate_activation_statistics(files, model, a.batch, 2048, a.device, workers)
    np.savez_compressed(a.out, mu=mu, sigma=sigma)
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print("pytorch-fid: %d images in %.2f s = %.1f images/s (device %s, workers %d, batch %d, torch %s, "
          "cudnn.allow_tf32 %s)" % (len(files), dt, len(files) / dt, a.device, workers, a.batch, torch.__version__,
                                    torch.backends.cudnn.allow_tf32))


if __name__ == "__main__":
    main()
