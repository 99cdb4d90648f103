#!/usr/bin/env python3
"""Grammar prompts for the yardstick: the captions of held-out dataset samples (one shape each).

  make_prompts.py [--seed 777] [--count 200] [--canonical] > prompts.jsonl
Each line: {"prompt": caption, "seed": i, "name": "p00000"} (the `hart batch` JSON Lines form).
The dataset trains on seed 20261127; the default seed 777 gives other samples (the grammar is
small, so some prompts may equal training captions; the images are drawn fresh by the model).
Standard library + numpy (tools/dataset/shapes.py).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dataset"))
import shapes  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--canonical", action="store_true", help="canonical wording instead of paraphrases")
    a = ap.parse_args()
    for i in range(a.count):
        spec = shapes.sample_spec(a.seed, i)
        if a.canonical:
            o = spec["objects"][0]
            cap = shapes.canonical_caption(o["shape"], o["colour"], o["position"], o["size"], spec["bg"])
        else:
            cap = shapes.caption_of(spec, spec["variant"])
        print(json.dumps({"prompt": cap, "seed": i, "name": f"p{i:05d}"}))


if __name__ == "__main__":
    main()
