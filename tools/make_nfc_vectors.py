#!/usr/bin/env python3
"""Reference ids for text containing the code points whose NFC differs between
utf8proc and the reference tokenizer (tools/nfc_reference_diff.py, table in
tokenizer/nfc_opaque_table.c) -> tests/data/tokenizer/nfc_vectors.json.

Expected ids come from the Hugging Face `tokenizers` library
(Tokenizer.encode(text, add_special_tokens=False)) on the Qwen2-VL
tokenizer the unit tests use (tests/data/tokenizer/qwen2_vl_tokenizer.json.xz),
never from hart.c. Each listed code point X is recorded in a few contexts
(alone, after a class-240 mark, between a base and an acute accent, between
a class-1 mark inside a sentence, after a class-1 mark), plus
the decomposed and precomposed forms of U+11938 and a few script samples.
For every case the file also says whether plain utf8proc NFC (without the
table) would normalise it differently from the reference ("sensitive").

Usage: python3 tools/make_nfc_vectors.py   (needs: pip install tokenizers)
"""
import json
import lzma
import os

import tokenizers
from tokenizers import Tokenizer

from nfc_reference_diff import ref_nfc, u8p_nfc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")
TABLE = os.path.join(ROOT, "tokenizer", "nfc_opaque_table.c")


def table_code_points():
    cps = []
    for line in open(TABLE):
        line = line.strip()
        if line.startswith("{0x"):
            lo, hi = (int(x.strip(" {}"), 16) for x in line.rstrip(",").split(","))
            cps.extend(range(lo, hi + 1))
    return cps


def contexts(x):
    return [x, "a\u0345" + x, "e" + x + "\u0301", "Text \u05d0" + x + "\u0334\u0301 end.", "\u0334" + x + "o"]


EXTRA = [
    "\u07ca\u07eb\u07fd \u07d3\u07fd\u07eb",          # N'Ko letters with a tone mark and U+07FD in both orders
    "\U00011d0c\U00011d44\U00011d0c\U00011d45",        # Masaram Gondi virama / halanta
    "\u4e2d\U00016ff1\u0301 \U00016ff0\u0300",        # U+16FF0/1 (Vietnamese reading marks) after a Han character
    "\U00011935\U00011930 \U00011938",                 # Dives Akuru: decomposed and precomposed O
    "\u0915\u093c\U00011d44\u094d",                    # mixed old and new marks
    "e\u0301\u07fd\u0300 \u00e9\u07fd",               # composed / decomposed accents around U+07FD
]


def main():
    tok = Tokenizer.from_str(lzma.open(os.path.join(DATA, "qwen2_vl_tokenizer.json.xz"), "rt",
                                       encoding="utf-8").read())
    cps = table_code_points()
    texts = [t for cp in cps for t in contexts(chr(cp))] + EXTRA
    cases = []
    for t in texts:
        cases.append({"text": t, "ids": tok.encode(t, add_special_tokens=False).ids,
                      "sensitive": ref_nfc(t) != u8p_nfc(t)})
    out = {"source": "HF tokenizers %s, Tokenizer.encode(text, add_special_tokens=False), "
                     "qwen2_vl_tokenizer.json.xz; tools/make_nfc_vectors.py" % tokenizers.__version__,
           "code_points": len(cps), "cases": cases}
    with open(os.path.join(DATA, "nfc_vectors.json"), "w", encoding="ascii") as f:
        head = json.dumps({k: v for k, v in out.items() if k != "cases"})
        f.write(head[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
        f.write("\n]}\n")
    print("%d code points, %d cases, %d sensitive" % (len(cps), len(cases), sum(c["sensitive"] for c in cases)))


if __name__ == "__main__":
    main()
