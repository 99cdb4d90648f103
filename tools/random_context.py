#!/usr/bin/env python3
"""Writes a random text context for `hart generate --context FILE` (timing runs on random-weight
models, where no prompt encoding is wanted): gen.context F32 [B, T, D] drawn from N(0, 1) with
Python's seeded generator, gen.context_mask U8 [B, T] all ones, gen.context_position_ids I64
[B, T] = 0 … T−1 (the golden-file names; safetensors layout, 8-aligned offsets).
Standard library only.

usage: random_context.py OUT.safetensors --tokens T --dim D [--batch B] [--seed S]
"""
import argparse
import array
import json
import os
import random
import struct
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, required=True, help="T: the model's context_token")
    ap.add_argument("--dim", type=int, required=True, help="D: the model's context_dim")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if min(a.tokens, a.dim, a.batch) < 1:
        sys.exit("random_context.py: --tokens, --dim and --batch must be >= 1")
    rng = random.Random(a.seed)
    B, T, D = a.batch, a.tokens, a.dim
    ctx = array.array("f", (rng.gauss(0.0, 1.0) for _ in range(B * T * D)))
    if sys.byteorder != "little":
        ctx.byteswap()
    pos = struct.pack("<%dq" % (B * T), *(list(range(T)) * B))
    # 8-byte tensors first so that every offset is a multiple of its element size
    tensors = [("gen.context_position_ids", "I64", [B, T], pos), ("gen.context", "F32", [B, T, D], ctx.tobytes()),
               ("gen.context_mask", "U8", [B, T], bytes([1]) * (B * T))]
    header, off = {}, 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 8)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors))
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
