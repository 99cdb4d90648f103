#!/usr/bin/env python3
"""Tiled decoding checked through the CLI (helper of test_dcae_cli.sh, pure Python).

  tile_check.py split LATENT.safetensors TILE OUTDIR
      writes OUTDIR/tile_Y_X.safetensors: the F32 tensor "latent" [B,C,h,w] of LATENT cut into
      TILE x TILE latent tiles without overlap (h and w must be multiples of TILE)
  tile_check.py compare TILED.png OUTDIR
      places every OUTDIR/tile_Y_X.png (the plain decode of tile Y,X) at its pixel offset and
      prints the max per-channel difference from TILED.png (exit 2 on a size mismatch or a
      pixel no tile covers)

A tiled decode without overlap is, by definition, each tile's plain decode side by side."""
import glob, json, os, re, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_maxdiff_lib import read_png  # noqa: E402


def read_latent(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    t = json.loads(data[8:8 + n])['latent']
    assert t['dtype'] == 'F32', path + ': latent is not F32'
    a, b = t['data_offsets']
    return t['shape'], struct.unpack('<%df' % ((b - a) // 4), data[8 + n + a:8 + n + b])


def write_latent(path, shape, vals):
    body = struct.pack('<%df' % len(vals), *vals)
    hdr = json.dumps({'latent': {'dtype': 'F32', 'shape': shape, 'data_offsets': [0, len(body)]}}).encode()
    hdr += b' ' * (-len(hdr) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(hdr)) + hdr + body)


def split(latent, tile, outdir):
    (B, C, h, w), v = read_latent(latent)
    if h % tile or w % tile:
        sys.exit('latent %dx%d is not a multiple of tile %d' % (h, w, tile))
    for ty in range(h // tile):
        for tx in range(w // tile):
            sub = [v[((b * C + c) * h + ty * tile + y) * w + tx * tile + x]
                   for b in range(B) for c in range(C) for y in range(tile) for x in range(tile)]
            write_latent(os.path.join(outdir, 'tile_%d_%d.safetensors' % (ty, tx)), [B, C, tile, tile], sub)


def compare(tiled_png, outdir):
    W, H, img = read_png(tiled_png)
    seen = [[False] * W for _ in range(H)]
    worst = 0
    for p in glob.glob(os.path.join(outdir, 'tile_*_*.png')):
        ty, tx = map(int, re.search(r'tile_(\d+)_(\d+)\.png$', p).groups())
        tw, th, t = read_png(p)
        for y in range(th):
            for x in range(tw):
                gy, gx = ty * th + y, tx * tw + x
                if gy >= H or gx >= W:
                    print('tile %s falls outside %dx%d' % (p, W, H)); sys.exit(2)
                seen[gy][gx] = True
                worst = max(worst, max(abs(a - b) for a, b in zip(img[gy][gx], t[y][x])))
    if not all(all(r) for r in seen):
        print('pixels no tile covers'); sys.exit(2)
    print(worst)


if __name__ == '__main__':
    if len(sys.argv) == 5 and sys.argv[1] == 'split':
        split(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == 'compare':
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
