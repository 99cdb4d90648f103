#!/usr/bin/env python3
"""Check the 4-bit groups `hart quantize --group-size G` wrote, against the float model (stdlib only).

  qgroup_check.py FLOAT_MODEL.safetensors QUANT_MODEL.safetensors G

For every round-to-nearest 4-bit weight P (P.qweight U8 [N, ceil(K/2)], P.wzero U8 [N, groups]; no
P.insmooth) the float P.weight [N, K] must be there; the number of groups must be ceil(K / G), and
every weight must dequantize — with the groups the loader reads, ceil(K / groups) rounded up to
even — to within half a step of the float weight (w4a16: (q - zero) * scale; w4a8: int8 level
((q * gscale) mod 256) - ((zero * gscale) mod 256), times the row scale: two roundings, so half of
scale * (1 + gscale)). w4a16's scale is rounded to f16 (relative error <= 2^-11) after
(max - min) / 15 was taken, so the top of a group may sit up to 15 * scale * 2^-11 beyond the last
level: that much is added to its bound. Prints how many weights it checked; exit 1 on the first violation.
"""
import json
import math
import struct
import sys

FMT = {"F32": ("f", 4), "F16": ("e", 2), "U8": ("B", 1)}


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    head.pop("__metadata__", None)

    def get(name):
        e = head[name]
        c, size = FMT[e["dtype"]]
        o0, o1 = e["data_offsets"]
        vals = struct.unpack(f"<{(o1 - o0) // size}{c}", b[8 + n + o0:8 + n + o1])
        return e["shape"], vals
    return head, get


def main():
    fpath, qpath, group = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fhead, fget = read(fpath)
    qhead, qget = read(qpath)
    checked = 0
    for name in sorted(qhead):
        if not name.endswith(".wzero"):
            continue
        base = name[:-len(".wzero")]
        if base + ".insmooth" in qhead:
            continue
        (N, K), w = fget(base + ".weight")
        (_, ng), zero = qget(name)
        _, q = qget(base + ".qweight")
        _, scale = qget(base + ".wscale")
        gs = qget(base + ".wgscale")[1] if base + ".wgscale" in qhead else None
        if ng != math.ceil(K / group) and not (K <= group and ng == 1):
            sys.exit(f"{base}: {ng} groups for K = {K}, group size {group} (expected {math.ceil(K / group)})")
        g = math.ceil(K / ng)
        g += g % 2
        rb = (K + 1) // 2
        for r in range(N):
            for k in range(K):
                byte = q[r * rb + k // 2]
                v = byte >> 4 if k % 2 else byte & 15
                z = zero[r * ng + k // g]
                if gs is None:
                    step = scale[r * ng + k // g]
                    d = (v - z) * step
                    slack = 15 * step * 2 ** -11
                else:
                    s = gs[r * ng + k // g]
                    d = (((v * s) & 255) - ((z * s) & 255)) * scale[r]
                    step = scale[r] * (1 + s)
                    slack = 0
                if abs(d - w[r * K + k]) > (0.5 * step + slack) * (1 + 1e-5) + 1e-7:
                    sys.exit(f"{base}[{r},{k}] = {w[r * K + k]:g} dequantizes to {d:g} (step {step:g}, groups of {g})")
        checked += 1
    if not checked:
        sys.exit("no round-to-nearest 4-bit weights found")
    print(f"qgroup_check: {checked} weights within half a step, group size {group}")


if __name__ == "__main__":
    main()
