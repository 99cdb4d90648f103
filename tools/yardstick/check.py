#!/usr/bin/env python3
"""Prompt-adherence checker: reads back what a 64x64 shapes picture shows.

Plain image analysis, independent of any model code (standard library only, so
`make test` needs nothing extra):
  1. background: per image row, the pixels at x=0 and x=63 agree unless the shape
     touches one side (a shape is at most ~34 px wide, so never both); a straight
     line per channel fitted over the agreeing rows gives the background of every
     row (exact for solid and top-to-bottom gradient backgrounds). Its colour at
     the top and bottom rows, named by the nearest palette colour, gives "X
     background" (same name) or "X to Y gradient background".
  2. shape pixels: farther than 60 (RGB distance) from the row's background.
  3. colour: nearest palette colour to the median of the shape pixels that are
     farther than 1 px from the shape's edge.
  4. position: centroid in the 3x3 grid (boundaries at 24 and 40 px).
  5. size: larger side of the bounding box (small < 18 <= medium < 26 <= large).
  6. shape: fill ratio of the bounding box (square ~1, circle ~0.79, cross ~0.56,
     triangle ~0.5); triangle vs cross by the width of the bottom quarter rows
     against the top quarter.

Usage:
  check.py IMAGE.png "prompt"                one image: prints what it reads, exit 0 iff all match
  check.py --jsonl FILE [--dir D]            lines {"file"/"image", "prompt"/"caption"}: accuracy table
  check.py ... --json                        machine-readable output
Exit status: 0 all checked attributes match, 1 a mismatch, 2 usage or file error.
"""
import argparse
import json
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dataset"))
from grammar import COLOURS, SHAPES, parse  # noqa: E402

ATTRS = ("background", "colour", "shape", "position", "size")
SHAPE_THRESH = 60.0


# ---------------------------------------------------------------- PNG reading
def read_png(path):
    """(width, height, rows) with rows[y][x] = (r, g, b); 8-bit grey/RGB/RGBA, no interlace."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, hdr = 8, [], None
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if not hdr:
        raise ValueError(f"{path}: no IHDR")
    w, h, depth, ctype, _, _, interlace = hdr
    chans = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or chans is None or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported")
    raw = zlib.decompress(b"".join(idat))
    stride = w * chans
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - chans] if i >= chans else 0
            b = prev[i]
            c = prev[i - chans] if i >= chans else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        prev = line
        if chans >= 3:
            rows.append([(line[x * chans], line[x * chans + 1], line[x * chans + 2]) for x in range(w)])
        else:
            rows.append([(line[x * chans],) * 3 for x in range(w)])
    return w, h, rows


# ---------------------------------------------------------------- analysis
def _dist(p, q):
    return sum((a - b) ** 2 for a, b in zip(p, q)) ** 0.5


def nearest_colour(p):
    return min(COLOURS, key=lambda k: _dist(p, COLOURS[k]))


def _fit_line(ys, vals):
    n = len(ys)
    my, mv = sum(ys) / n, sum(vals) / n
    vy = sum((y - my) ** 2 for y in ys)
    b = sum((y - my) * (v - mv) for y, v in zip(ys, vals)) / vy if vy > 0 else 0.0
    return mv - b * my, b


def analyse(rows):
    """What the picture shows: dict(background, colour, shape, position, size) (strings;
    "none" where no shape is found) plus measurements under "measure"."""
    h, w = len(rows), len(rows[0])
    agree = [y for y in range(h) if _dist(rows[y][0], rows[y][w - 1]) < 40]
    if len(agree) < 4:  # no usable rows: take the left column
        agree = list(range(h))
    lines = []
    for c in range(3):
        vals = [(rows[y][0][c] + rows[y][w - 1][c]) / 2 for y in agree]
        lines.append(_fit_line(agree, vals))

    def bg_at(y):
        return tuple(a + b * y for a, b in lines)

    top, bottom = nearest_colour(bg_at(0)), nearest_colour(bg_at(h - 1))
    background = f"{top} background" if top == bottom else f"{top} to {bottom} gradient background"
    mask = [[_dist(rows[y][x], bg_at(y)) > SHAPE_THRESH for x in range(w)] for y in range(h)]
    pts = [(x, y) for y in range(h) for x in range(w) if mask[y][x]]
    out = dict(background=background, measure=dict(pixels=len(pts)))
    if len(pts) < 12:
        out.update(colour="none", shape="none", position="none", size="none")
        return out
    inner = [rows[y][x] for (x, y) in pts
             if 0 < x < w - 1 and 0 < y < h - 1 and mask[y - 1][x] and mask[y + 1][x] and mask[y][x - 1] and mask[y][x + 1]]
    src = inner if len(inner) >= 6 else [rows[y][x] for (x, y) in pts]
    med = tuple(sorted(p[c] for p in src)[len(src) // 2] for c in range(3))
    out["colour"] = nearest_colour(med)
    cx = sum(p[0] for p in pts) / len(pts) + 0.5
    cy = sum(p[1] for p in pts) / len(pts) + 0.5
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    col = 0 if cx < 24 else (1 if cx < 40 else 2)
    row = 0 if cy < 24 else (1 if cy < 40 else 2)
    names = {(0, 0): "top left", (0, 1): "top", (0, 2): "top right", (1, 0): "left", (1, 1): "center",
             (1, 2): "right", (2, 0): "bottom left", (2, 1): "bottom", (2, 2): "bottom right"}
    out["position"] = names[(row, col)]
    # extent: a side clipped by the border is measured from the centroid to the far edge
    ew = bw if 0 < x0 and x1 < w - 1 else 2 * max(cx - x0, x1 + 1 - cx)
    eh = bh if 0 < y0 and y1 < h - 1 else 2 * max(cy - y0, y1 + 1 - cy)
    ext = max(ew, eh)
    out["size"] = "small" if ext < 18 else ("medium" if ext < 26 else "large")
    fill = len(pts) / float(bw * bh)
    q = max(1, bh // 4)
    wtop = sum(1 for (x, y) in pts if y < y0 + q) / q
    wbot = sum(1 for (x, y) in pts if y > y1 - q) / q
    if fill > 0.89:
        shape = "square"
    elif fill > 0.67:
        shape = "circle"
    else:
        shape = "triangle" if wbot > 1.6 * max(wtop, 1) else "cross"
    out["shape"] = shape
    out["measure"].update(centroid=[round(cx, 2), round(cy, 2)], bbox=[x0, y0, bw, bh], extent=round(ext, 2),
                          fill=round(fill, 3), width_top=round(wtop, 2), width_bottom=round(wbot, 2),
                          colour_median=list(med))
    return out


def expected(prompt):
    a = parse(prompt)
    bg = a["bg"]
    background = (f"{bg['colour']} background" if bg["kind"] == "solid"
                  else f"{bg['top']} to {bg['bottom']} gradient background")
    return dict(background=background, colour=a["colour"], shape=a["shape"], position=a["position"], size=a["size"])


def check(path, prompt):
    """(expected, seen, {attr: bool})"""
    want = expected(prompt)
    _, _, rows = read_png(path)
    seen = analyse(rows)
    return want, seen, {k: want[k] == seen[k] for k in ATTRS}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", nargs="?")
    ap.add_argument("prompt", nargs="?")
    ap.add_argument("--jsonl", help="file of {file|image, prompt|caption} lines")
    ap.add_argument("--dir", default=None, help="folder the --jsonl file names are relative to (default: its folder)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    a = ap.parse_args(argv)
    if bool(a.jsonl) == bool(a.image):
        ap.print_usage(sys.stderr)
        print("check.py: give IMAGE PROMPT or --jsonl FILE", file=sys.stderr)
        return 2
    try:
        if a.image:
            if a.prompt is None:
                print("check.py: missing PROMPT", file=sys.stderr)
                return 2
            want, seen, ok = check(a.image, a.prompt)
            if a.json:
                print(json.dumps(dict(expected=want, seen=seen, ok=ok)))
            else:
                for k in ATTRS:
                    print(f"{k:10s} {'ok ' if ok[k] else 'BAD'} expected {want[k]!r}, seen {seen[k]!r}")
            return 0 if all(ok.values()) else 1
        base = a.dir or os.path.dirname(os.path.abspath(a.jsonl))
        n, hits, allok, per = 0, {k: 0 for k in ATTRS}, 0, []
        with open(a.jsonl) as f:
            for line in f:
                if not line.strip():
                    continue
                e = json.loads(line)
                if "hart_manifest" in e:  # a batch manifest's header line (docs/batch.md)
                    continue
                img = os.path.join(base, e.get("file") or e["image"])
                want, seen, ok = check(img, e.get("prompt") or e["caption"])
                n += 1
                allok += all(ok.values())
                for k in ATTRS:
                    hits[k] += ok[k]
                per.append(dict(image=img, ok=ok, seen={k: seen[k] for k in ATTRS}))
        if n == 0:
            print("check.py: no entries", file=sys.stderr)
            return 2
        res = dict(images=n, all=allok / n, **{k: hits[k] / n for k in ATTRS})
        if a.json:
            print(json.dumps(dict(summary=res, images=per)))
        else:
            print(f"images {n}")
            for k in ATTRS:
                print(f"{k:10s} {100 * res[k]:6.1f} %")
            print(f"{'all':10s} {100 * res['all']:6.1f} %")
        return 0 if allok == n else 1
    except (OSError, ValueError, KeyError, zlib.error, struct.error) as ex:
        print(f"check.py: {ex}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
