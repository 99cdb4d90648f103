#!/usr/bin/env python3
"""Token ids of grammar captions without a Python BPE: a table made with the C tokenizer.

Qwen2's pre-tokenizer splits a caption of the grammar (lower-case letters,
spaces, commas) into pieces " word" / "word" / ","; the byte-level BPE merges
only inside a piece, so a caption's ids are the concatenation of its pieces'
ids. `make` writes tools/train/text_ids.json with the ids of every piece the
grammar can produce and of HART's system prompt, all from `bin/hart tokenize`,
and checks the table against `bin/hart tokenize` on whole captions.

  python3 tools/train/text_ids.py make [--hart bin/hart] [--text-model DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "dataset"))
TABLE = os.path.join(ROOT, "tools", "train", "text_ids.json")
PIECE = re.compile(r" ?[a-z]+|,")


def pieces(caption):
    if not re.fullmatch(r"[a-z ,]*", caption) or "  " in caption or ",," in caption:
        raise ValueError(f"caption outside the grammar's alphabet: {caption!r}")
    out = PIECE.findall(caption)
    if "".join(out) != caption:
        raise ValueError(f"caption does not split into pieces: {caption!r}")
    return out


def caption_ids(caption, table):
    ids = []
    for p in pieces(caption):
        ids += table["pieces"][p]
    return ids


def tokenize(hart, model, text):
    r = subprocess.run([hart, "tokenize", "--text-model", model, "-"], input=text.encode(), capture_output=True,
                       check=True)
    return [int(t) for t in r.stdout.split()]


def make(hart, model):
    import grammar
    words = set()
    for d in (grammar.SHAPE_WORDS, grammar.SIZE_WORDS, grammar.POS_PHRASES):
        for ws in d.values():
            for w in ws:
                words.update(w.split())
    for t in grammar.TEMPLATES:
        words.update(re.findall(r"[a-z]+", re.sub(r"\{[a-z]+\}", " ", t)))
    words.update(grammar.COLOUR_NAMES)
    words.update(["background", "gradient", "to", "an", "and", "a", "on", "with"])
    table = {"pieces": {}}
    for w in sorted(words):
        for p in (w, " " + w):
            table["pieces"][p] = tokenize(hart, model, p)
    table["pieces"][","] = tokenize(hart, model, ",")
    with open(os.path.join(ROOT, "src", "pipeline", "hart_system_prompt.txt"), "rb") as f:
        table["system_prompt"] = tokenize(hart, model, f.read().decode())
    tok = json.load(open(os.path.join(model, "tokenizer.json")))
    table["pad_id"] = [a["id"] for a in tok["added_tokens"] if a["content"] == "<|endoftext|>"][0]
    # check against whole captions
    import numpy as np  # noqa: F401  (shapes needs it)
    import shapes
    for i in range(40):
        _, cap, _ = shapes.sample(12345, i)
        want = tokenize(hart, model, cap)
        got = caption_ids(cap, table)
        if want != got:
            raise SystemExit(f"table mismatch on {cap!r}: {got} vs {want}")
    with open(TABLE, "w") as f:
        json.dump(table, f, indent=0, sort_keys=True)
    print(f"wrote {TABLE}: {len(table['pieces'])} pieces, system prompt {len(table['system_prompt'])} ids; "
          "40 captions checked against hart tokenize")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["make"])
    ap.add_argument("--hart", default=os.path.join(ROOT, "bin", "hart"))
    ap.add_argument("--text-model", default=os.path.join(ROOT, "models", "hart-tiny-demo", "text_encoder"))
    a = ap.parse_args()
    make(a.hart, a.text_model)


if __name__ == "__main__":
    main()
