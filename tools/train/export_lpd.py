#!/usr/bin/env python3
"""Ship a trained LPD model folder: lpd.pth + vq.pt ({"model": state_dict}, the release layout) with
float16 (or float32) weights, and config.json. Prints the size of every file and the total.

  export_lpd.py SRC_MODEL_DIR DST_DIR [--dtype float16|float32]
SRC is train_lpd.py's OUT/model.
"""
import argparse
import json
import os
import sys

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    a = ap.parse_args()
    dt = getattr(torch, a.dtype)
    os.makedirs(a.dst, exist_ok=True)
    for name in ("lpd.pth", "vq.pt"):
        sd = torch.load(os.path.join(a.src, name), map_location="cpu")["model"]
        sd = {k: (v.to(dt) if v.is_floating_point() else v).contiguous() for k, v in sd.items()}
        torch.save({"model": sd}, os.path.join(a.dst, name))
    cfg = json.load(open(os.path.join(a.src, "config.json")))
    cfg["dtype"] = a.dtype
    with open(os.path.join(a.dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    total = 0
    for f in sorted(os.listdir(a.dst)):
        n = os.path.getsize(os.path.join(a.dst, f))
        total += n
        print(f"{f:16s} {n / 1e6:8.2f} MB")
    print(f"{'total':16s} {total / 1e6:8.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
