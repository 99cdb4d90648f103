#!/usr/bin/env python3
"""PSNR in dB of two 8-bit PNGs of the same size over every channel value,
10·log10(255² / mean squared difference) ("inf" when equal). Helper of
test_precision.sh; exits 2 on a size mismatch.
usage: png_psnr.py A.png B.png"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_maxdiff_lib import read_png  # noqa: E402

wa, ha, a = read_png(sys.argv[1]); wb, hb, b = read_png(sys.argv[2])
if (wa, ha) != (wb, hb) or len(a[0][0]) != len(b[0][0]):
    print('size %dx%d vs %dx%d' % (wa, ha, wb, hb)); sys.exit(2)
se = n = 0
for ra, rb in zip(a, b):
    for pa, pb in zip(ra, rb):
        for p, q in zip(pa, pb):
            se += (p - q) ** 2
            n += 1
print('inf' if se == 0 else '%.2f' % (10 * math.log10(255.0 ** 2 * n / se)))
