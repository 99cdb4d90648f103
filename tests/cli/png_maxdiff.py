#!/usr/bin/env python3
"""Max per-channel difference of two 8-bit RGB/RGBA/gray PNGs (non-interlaced).
Helper of test_vae_cli.sh; prints the max abs difference, or exits 2 on a size mismatch."""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_maxdiff_lib import read_png  # noqa: E402

wa, ha, a = read_png(sys.argv[1]); wb, hb, b = read_png(sys.argv[2])
if (wa, ha) != (wb, hb):
    print('size %dx%d vs %dx%d' % (wa, ha, wb, hb)); sys.exit(2)
print(max(abs(p - q) for ra, rb in zip(a, b) for pa, pb in zip(ra, rb) for p, q in zip(pa, pb)))
