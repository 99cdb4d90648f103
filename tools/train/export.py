#!/usr/bin/env python3
"""Ship a trained model folder: copy it in the release layout with float16 (or float32) weights.

  export.py SRC_MODEL_DIR DST_DIR [--dtype float16|float32]
SRC is train_hart.py's OUT/model (llm/, tokenizer/, optionally text_encoder/); the text encoder is
copied unchanged from models/hart-tiny-demo/text_encoder when SRC has none (it is frozen). Prints
the size of every file and the total.
"""
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import release_files  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    a = release_files.parse_args(__doc__)
    np_dt = np.float16 if a.dtype == "float16" else np.float32
    for sub in ("llm", "tokenizer"):
        os.makedirs(os.path.join(a.dst, sub), exist_ok=True)
        w = load_file(os.path.join(a.src, sub, "model.safetensors"))
        w = {k: (v.astype(np_dt) if v.dtype in (np.float32, np.float16) else v) for k, v in w.items()}
        save_file(w, os.path.join(a.dst, sub, "model.safetensors"), metadata={"format": "pt"})
        release_files.write_config(os.path.join(a.src, sub, "config.json"), os.path.join(a.dst, sub, "config.json"),
                                   a.dtype)
    te_src = os.path.join(a.src, "text_encoder")
    if not os.path.isdir(te_src):
        te_src = os.path.join(ROOT, "models", "hart-tiny-demo", "text_encoder")
    os.makedirs(os.path.join(a.dst, "text_encoder"), exist_ok=True)
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(os.path.join(te_src, f), os.path.join(a.dst, "text_encoder", f))
    release_files.print_sizes(a.dst, 36)
    return 0


if __name__ == "__main__":
    sys.exit(main())
