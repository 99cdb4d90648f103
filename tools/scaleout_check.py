#!/usr/bin/env python3
"""Checks and times the `hart batch` runs of tools/scaleout_run.sh (standard library only).

    scaleout_check.py rate DIR N FIRST      steady-state images/s of a finished batch folder
    scaleout_check.py same DIR1 DIR2 N      are two folders the same job's same output?

rate: the files' modification times (written atomically, one rename per image). FIRST =
the images of the first round (batch size x workers: every worker's first group, which
includes its model load and first kernel runs); the rate is (N - FIRST) images over the
time from the FIRST-th finished image to the last one, so start-up is excluded.
same: every image of DIR1 byte for byte in DIR2 and no other images, the manifests byte
for byte (a finished job's manifest holds no timing field), and DIR2's manifest lists
each index 0..N-1 exactly once with its file present. Where images differ, the largest
per-channel difference of the first three (tests/cli/png_maxdiff_lib.py). Exit 0 when
all holds, 1 otherwise; one line per finding."""
import json
import os
import sys


def images(d):
    out = []
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith((".png", ".jpg")):
                out.append(os.path.relpath(os.path.join(root, f), d))
    return sorted(out)


def rate(d, n, first):
    t = sorted(os.stat(os.path.join(d, f)).st_mtime_ns for f in images(d))
    if len(t) != n or n <= first or first < 1:
        print("rate: %s holds %d images (expected %d, first round %d): no rate" % (d, len(t), n, first))
        return 1
    span = (t[-1] - t[first - 1]) * 1e-9
    print("rate: %.4f images/s steady (%d images in %.2f s after the first %d; all %d from first to last file: %.2f s)"
          % ((n - first) / span if span > 0 else 0.0, n - first, span, first, n, (t[-1] - t[0]) * 1e-9))
    return 0


def maxdiff(a, b):
    sys.path.insert(0, os.path.join(os.getcwd(), "tests", "cli"))
    try:
        from png_maxdiff_lib import read_png
    except ImportError:
        return "?"
    try:
        wa, ha, pa = read_png(a)
        wb, hb, pb = read_png(b)
    except Exception as e:  # a damaged file: say so rather than stop the check
        return "unreadable (%s)" % e
    if (wa, ha) != (wb, hb):
        return "size"
    return max(abs(p - q) for ra, rb in zip(pa, pb) for xa, xb in zip(ra, rb) for p, q in zip(xa, xb))


def same(d1, d2, n):
    ok = True
    i1, i2 = images(d1), images(d2)
    if i1 != i2:
        print("same: FAILED: different file lists (%d vs %d images; only in one: %s)"
              % (len(i1), len(i2), sorted(set(i1) ^ set(i2))[:5]))
        ok = False
    diff = [f for f in i1 if f in set(i2) and
            open(os.path.join(d1, f), "rb").read() != open(os.path.join(d2, f), "rb").read()]
    if diff:
        ok = False
        md = ["%s: %s levels" % (f, maxdiff(os.path.join(d1, f), os.path.join(d2, f))) for f in diff[:3] if f.endswith(".png")]
        print("same: FAILED: %d of %d images differ (%s)" % (len(diff), len(i1), "; ".join(md)))
    else:
        print("same: %d of %d images identical byte for byte" % (len(set(i1) & set(i2)), len(i1)))
    m1, m2 = os.path.join(d1, "manifest.jsonl"), os.path.join(d2, "manifest.jsonl")
    if not (os.path.exists(m1) and os.path.exists(m2)) or open(m1, "rb").read() != open(m2, "rb").read():
        print("same: FAILED: the manifests differ")
        ok = False
    else:
        print("same: manifests identical byte for byte")
    try:
        lines = [json.loads(x) for x in open(m2)]
        idx = sorted(e["index"] for e in lines if "index" in e)
        missing = [e["file"] for e in lines if "file" in e and not os.path.exists(os.path.join(d2, e["file"]))]
        if idx != list(range(n)) or missing:
            print("same: FAILED: manifest of %s: %d entries, each of 0..%d once: %s, files missing: %d"
                  % (d2, len(idx), n - 1, idx == list(range(n)), len(missing)))
            ok = False
        else:
            print("same: manifest lists each of the %d images exactly once, every file present" % n)
    except (OSError, ValueError, KeyError) as e:
        print("same: FAILED: manifest of %s unreadable: %s" % (d2, e))
        ok = False
    return 0 if ok else 1


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "rate":
        return rate(a[1], int(a[2]), int(a[3]))
    if len(a) == 4 and a[0] == "same":
        return same(a[1], a[2], int(a[3]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
