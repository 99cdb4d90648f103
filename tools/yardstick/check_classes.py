#!/usr/bin/env python3
"""Class-conditional adherence: does a picture of class c (shape * 8 + colour, tools/dataset/shapes.py)
show that shape in that colour? Reads the pictures back with check.py's image analysis (standard
library only). Position, size and background are free in the class-conditional set: their spread
is reported (how many of the 9 positions / 3 sizes / 8 background colours occur), not checked.

  check_classes.py MANIFEST.jsonl [--dir D] [--json]   a `hart batch --classes` manifest
  check_classes.py IMAGE.png CLASS                      one image: exit 0 iff shape and colour match
Exit status: 0 all match, 1 a mismatch, 2 usage or file error.
"""
import argparse
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "dataset"))
import check  # noqa: E402
from grammar import COLOUR_NAMES, SHAPES  # noqa: E402


def class_of(label):
    label = int(label)
    if not 0 <= label < len(SHAPES) * len(COLOUR_NAMES):
        raise ValueError(f"class {label} out of range 0..{len(SHAPES) * len(COLOUR_NAMES) - 1}")
    return SHAPES[label // len(COLOUR_NAMES)], COLOUR_NAMES[label % len(COLOUR_NAMES)]


def read(path, label):
    shape, colour = class_of(label)
    seen = check.analyse(check.read_png(path)[2])
    return dict(shape=shape, colour=colour), seen, dict(shape=seen["shape"] == shape, colour=seen["colour"] == colour)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", help="manifest.jsonl, or an image")
    ap.add_argument("label", nargs="?", help="class of the image")
    ap.add_argument("--dir", default=None, help="folder the manifest's file names are relative to (default: its folder)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    try:
        if a.label is not None:
            want, seen, ok = read(a.first, a.label)
            for k in ("shape", "colour"):
                print(f"{k:7s} {'ok ' if ok[k] else 'BAD'} expected {want[k]!r}, seen {seen[k]!r}")
            return 0 if all(ok.values()) else 1
        base = a.dir or os.path.dirname(os.path.abspath(a.first))
        n, hit, per_class = 0, dict(shape=0, colour=0, both=0), {}
        spread = dict(position=set(), size=set(), background=set())
        with open(a.first) as f:
            for line in f:
                if not line.strip():
                    continue
                e = json.loads(line)
                if "hart_manifest" in e:
                    continue
                want, seen, ok = read(os.path.join(base, e["file"]), e["prompt"])
                n += 1
                hit["shape"] += ok["shape"]
                hit["colour"] += ok["colour"]
                both = ok["shape"] and ok["colour"]
                hit["both"] += both
                c = per_class.setdefault(int(e["prompt"]), [0, 0])
                c[0] += both
                c[1] += 1
                for k in spread:
                    if seen.get(k, "none") != "none":
                        spread[k].add(seen[k].split(" ")[0] if k == "background" else seen[k])
        if n == 0:
            print("check_classes.py: no entries", file=sys.stderr)
            return 2
        res = dict(images=n, **{k: hit[k] / n for k in hit}, classes_all_right=sum(c[0] == c[1] for c in per_class.values()),
                   classes=len(per_class), **{f"distinct_{k}": len(v) for k, v in spread.items()})
        if a.json:
            print(json.dumps(dict(summary=res, per_class={k: v[0] / v[1] for k, v in sorted(per_class.items())})))
        else:
            print(f"images {n} ({len(per_class)} classes)")
            for k in ("shape", "colour", "both"):
                print(f"{k:7s} {100 * res[k]:6.1f} %")
            print("spread: " + ", ".join(f"{len(v)} {k}s" for k, v in spread.items()))
        return 0 if hit["both"] == n else 1
    except (OSError, ValueError, KeyError, zlib.error, struct.error) as ex:
        print(f"check_classes.py: {ex}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
