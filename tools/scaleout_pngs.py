#!/usr/bin/env python3
"""Writes N distinct RGB PNGs (SIZE x SIZE, smooth colour patterns) into DIR, fast and
with the standard library only (zlib, struct, multiprocessing): the image set that
tools/scaleout_run.sh times `hart fid` on (its pixels do not matter for throughput).

    python3 tools/scaleout_pngs.py DIR N [SIZE]     (SIZE default 256)
"""
import multiprocessing
import os
import random
import struct
import sys
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(i, size):
    r = random.Random(i)
    a = [r.randrange(1, 7) for _ in range(3)]
    p = [r.randrange(256) for _ in range(3)]
    # one row of 2*size pixels, each channel a triangle wave of its own period and phase
    base = bytes(abs(((x * a[c] + p[c]) % 512) - 256) % 256 for x in range(2 * size) for c in range(3))
    step = r.randrange(1, 5)
    rows = b"".join(b"\x00" + base[3 * ((y * step) % size):3 * ((y * step) % size + size)] for y in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


def write(args):
    d, i, size = args
    path = os.path.join(d, "%05d.png" % i)
    with open(path + ".tmp", "wb") as f:
        f.write(png(i, size))
    os.replace(path + ".tmp", path)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    d, n = sys.argv[1], int(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) == 4 else 256
    os.makedirs(d, exist_ok=True)
    with multiprocessing.Pool() as pool:
        pool.map(write, [(d, i, size) for i in range(n)], chunksize=64)
    print("scaleout_pngs: %d images of %dx%d in %s" % (n, size, size, d))


if __name__ == "__main__":
    main()
