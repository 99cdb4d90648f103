#!/usr/bin/env python3
"""Captioned 64x64 shapes: a deterministic, seeded synthetic dataset.

Each image holds one (optionally two) filled shape in a named colour, at one of
nine named positions and one of three named sizes, on a solid or two-colour
gradient background; its caption comes from the grammar in docs/training.md
(section "Dataset and caption grammar"). Sample i of seed s is a pure function
of (s, i): any slice can be regenerated anywhere (the training device builds its
data from the seed instead of receiving files).

Also: class labels (shape x colour, 32 classes) for a class-conditional set.

Command line:
  python3 tools/dataset/shapes.py --seed 1 --count 16 --out DIR
      writes DIR/00000.png ... and DIR/captions.jsonl ({"file","caption","label",...})
"""
import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from grammar import (CELL_CENTRES, COLOUR_NAMES, COLOURS, POS_PHRASES, POSITIONS, SHAPE_WORDS, SHAPES,  # noqa: E402
                     SIZE, SIZE_NAMES, SIZE_WORDS, SIZES, TEMPLATES, bg_phrase)

N_CLASSES = len(SHAPES) * len(COLOUR_NAMES)


def class_label(shape, colour):
    """Class of the class-conditional set: shape-major index in 0..31."""
    return SHAPES.index(shape) * len(COLOUR_NAMES) + COLOUR_NAMES.index(colour)


def caption_of(spec, variant):
    """Caption of a sample spec; `variant` (int) picks template and paraphrases."""
    r = np.random.default_rng(variant)
    o = spec["objects"][0]
    sw = SIZE_WORDS[o["size"]][int(r.integers(3))]
    words = dict(size=(sw + " ") if sw else "", colour=o["colour"],
                 shape=SHAPE_WORDS[o["shape"]][int(r.integers(3))],
                 pos=POS_PHRASES[o["position"]][int(r.integers(3))], bg=bg_phrase(spec["bg"]))
    text = TEMPLATES[int(r.integers(len(TEMPLATES)))].format(**words)
    for o2 in spec["objects"][1:]:
        text += f" and a {o2['size']} {o2['colour']} {o2['shape']} {POS_PHRASES[o2['position']][0]}"
    return re.sub(r"\ba ([aeiou])", r"an \1", text)


def canonical_caption(shape, colour, position, size, bg):
    """The grammar's canonical form (template 0, first paraphrases)."""
    text = f"a {size} {colour} {shape} {POS_PHRASES[position][0]} on a {bg_phrase(bg)}"
    return re.sub(r"\ba ([aeiou])", r"an \1", text)


def sample_spec(seed, index, two_shapes=0.0):
    """Random description of sample `index` of `seed` (pure function)."""
    r = np.random.default_rng([seed, index])
    n = 2 if r.random() < two_shapes else 1
    cells = r.permutation(9)[:n]
    used = set()
    objs = []
    for k in range(n):
        colour = COLOUR_NAMES[int(r.integers(len(COLOUR_NAMES)))]
        used.add(colour)
        cell = (int(cells[k]) // 3, int(cells[k]) % 3)
        size = SIZE_NAMES[int(r.integers(3))] if n == 1 else "small"
        objs.append(dict(shape=SHAPES[int(r.integers(len(SHAPES)))], colour=colour, position=POSITIONS[cell],
                         size=size, cell=cell, jx=float(r.uniform(-3, 3)), jy=float(r.uniform(-3, 3)),
                         js=float(r.uniform(-2, 2))))
    free = [c for c in COLOUR_NAMES if c not in used]
    if r.random() < 0.75:
        bg = dict(kind="solid", colour=free[int(r.integers(len(free)))])
    else:
        pair = r.permutation(len(free))[:2]
        bg = dict(kind="gradient", top=free[int(pair[0])], bottom=free[int(pair[1])])
    return dict(objects=objs, bg=bg, variant=int(r.integers(1 << 30)))


def _shape_alpha(shape, cx, cy, extent, yy, xx):
    """Coverage in [0,1] of a filled shape (1-pixel soft edge from a signed distance)."""
    h = extent / 2.0
    dx, dy = xx - cx, yy - cy
    if shape == "circle":
        d = np.sqrt(dx * dx + dy * dy) - h
    elif shape == "square":
        d = np.maximum(np.abs(dx), np.abs(dy)) - h
    elif shape == "triangle":  # apex up at (cx, cy-h), base corners (cx±h, cy+h)
        side = (np.abs(dx) - (dy + h) / 2.0) * (2.0 / np.sqrt(5.0))
        d = np.maximum(dy - h, side)
    elif shape == "cross":
        w = extent / 6.0  # arm half-width: arms are a third of the extent
        a = np.maximum(np.abs(dx) - h, np.abs(dy) - w)
        b = np.maximum(np.abs(dx) - w, np.abs(dy) - h)
        d = np.minimum(a, b)
    else:
        raise ValueError(shape)
    return np.clip(0.5 - d, 0.0, 1.0)


def render(spec):
    """uint8 [64,64,3] image of a spec."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    bg = spec["bg"]
    if bg["kind"] == "solid":
        img = np.broadcast_to(np.array(COLOURS[bg["colour"]], np.float64), (SIZE, SIZE, 3)).copy()
    else:
        t = (yy[..., None] - 0.5) / (SIZE - 1)
        img = (1 - t) * np.array(COLOURS[bg["top"]], np.float64) + t * np.array(COLOURS[bg["bottom"]], np.float64)
    for o in spec["objects"]:
        cy = CELL_CENTRES[o["cell"][0]] + o["jy"]
        cx = CELL_CENTRES[o["cell"][1]] + o["jx"]
        a = _shape_alpha(o["shape"], cx, cy, SIZES[o["size"]] + o["js"], yy, xx)[..., None]
        img = img * (1 - a) + a * np.array(COLOURS[o["colour"]], np.float64)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def sample(seed, index, two_shapes=0.0):
    """(image uint8 [64,64,3], caption, spec) of sample `index`."""
    spec = sample_spec(seed, index, two_shapes)
    return render(spec), caption_of(spec, spec["variant"]), spec


def batch(seed, start, count, two_shapes=0.0):
    """Images uint8 [count,64,64,3], captions, class labels, specs."""
    imgs = np.empty((count, SIZE, SIZE, 3), np.uint8)
    caps, labels, specs = [], [], []
    for k in range(count):
        im, cap, spec = sample(seed, start + k, two_shapes)
        imgs[k] = im
        caps.append(cap)
        labels.append(class_label(spec["objects"][0]["shape"], spec["objects"][0]["colour"]))
        specs.append(spec)
    return imgs, caps, np.array(labels, np.int64), specs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--two-shapes", type=float, default=0.0, help="fraction of images with a second shape")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    from PIL import Image
    os.makedirs(a.out, exist_ok=True)
    imgs, caps, labels, specs = batch(a.seed, a.start, a.count, a.two_shapes)
    with open(os.path.join(a.out, "captions.jsonl"), "w") as f:
        for k in range(a.count):
            name = f"{a.start + k:05d}.png"
            Image.fromarray(imgs[k]).save(os.path.join(a.out, name))
            o = specs[k]["objects"][0]
            f.write(json.dumps(dict(file=name, caption=caps[k], label=int(labels[k]), shape=o["shape"],
                                    colour=o["colour"], position=o["position"], size=o["size"],
                                    background=specs[k]["bg"])) + "\n")
    print(f"wrote {a.count} images to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
