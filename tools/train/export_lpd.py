#!/usr/bin/env python3
"""Ship a trained LPD model folder: lpd.pth + vq.pt ({"model": state_dict}, the release layout) with
float16 (or float32) weights, and config.json. Prints the size of every file and the total.

  export_lpd.py SRC_MODEL_DIR DST_DIR [--dtype float16|float32]
SRC is train_lpd.py's OUT/model.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import release_files  # noqa: E402


def main():
    a = release_files.parse_args(__doc__)
    dt = getattr(torch, a.dtype)
    os.makedirs(a.dst, exist_ok=True)
    for name in ("lpd.pth", "vq.pt"):
        sd = torch.load(os.path.join(a.src, name), map_location="cpu")["model"]
        sd = {k: (v.to(dt) if v.is_floating_point() else v).contiguous() for k, v in sd.items()}
        torch.save({"model": sd}, os.path.join(a.dst, name))
    release_files.write_config(os.path.join(a.src, "config.json"), os.path.join(a.dst, "config.json"), a.dtype)
    release_files.print_sizes(a.dst, 16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
