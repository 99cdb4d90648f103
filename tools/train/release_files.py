"""What export.py and export_lpd.py share: the command line, a model's config.json rewritten with
the shipped dtype, and the size listing of the exported folder."""
import argparse
import json
import os


def parse_args(doc):
    """SRC DST [--dtype float16|float32] (default float16); doc: the exporter's help text."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    return ap.parse_args()


def write_config(src, dst, dtype):
    """config.json at src -> dst with "dtype" set to dtype (indented, newline-terminated)."""
    cfg = json.load(open(src))
    cfg["dtype"] = dtype
    with open(dst, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def print_sizes(root, width):
    """Every file below root (path relative to root, in a column of width characters) with its size
    in MB, then the total."""
    total = 0
    for dp, _, fs in sorted(os.walk(root)):
        for f in sorted(fs):
            n = os.path.getsize(os.path.join(dp, f))
            total += n
            print(f"{os.path.relpath(os.path.join(dp, f), root):{width}s} {n / 1e6:8.2f} MB")
    print(f"{'total':{width}s} {total / 1e6:8.2f} MB")
