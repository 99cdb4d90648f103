#!/bin/sh
# hart fid from the command line: the FID of two statistics files written by
# pytorch-fid's format (np.savez_compressed, deflated members) against
# pytorch-fid's own value (tests/data/golden/fid-tiny/golden.json, made by
# tools/fid_golden_gen.py), --save-stats round trip, and bad inputs (clear
# message, non-zero exit). The network itself is checked by tests/golden/test_fid.c.
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}
G=tests/data/golden/fid-tiny

gold=$(python3 -c "import json;print(json.load(open('$G/golden.json'))['s64_fid'])")
expect 0 "" "$BIN" fid "$G/stats64_a.npz" "$G/stats64_b.npz"
got=$(sed -n 's/^FID: //p' "$T/out")
python3 -c "import sys; g,w=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(g-w) <= 1e-9*w else 1)" "$got" "$gold" \
  || fail "FID $got, pytorch-fid $gold"

# --save-stats round trip (stored .npz, a valid zip with mu.npy and sigma.npy) gives the same FID
expect 0 "" "$BIN" fid --save-stats "$T/a.npz" "$G/stats64_a.npz"
[ ! -e "$T/a.npz.tmp."* ] 2>/dev/null || true
python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; assert sorted(z.namelist())==['mu.npy','sigma.npy']" "$T/a.npz" \
  || fail "--save-stats wrote no valid .npz"
expect 0 "" "$BIN" fid "$T/a.npz" "$G/stats64_b.npz"
[ "$(sed -n 's/^FID: //p' "$T/out")" = "$got" ] || fail "FID from the re-saved stats differs: $(cat "$T/out") vs $got"
# identical inputs: 0 up to round-off
expect 0 "" "$BIN" fid "$G/stats64_a.npz" "$G/stats64_a.npz"
python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1])) < 1e-6 else 1)" "$(sed -n 's/^FID: //p' "$T/out")" \
  || fail "FID of identical stats: $(cat "$T/out")"

# bad inputs
expect 1 "no such file or folder" "$BIN" fid "$T/missing" "$G/stats64_a.npz"
mkdir "$T/empty"
expect 1 "no PNG or JPEG images" "$BIN" fid "$T/empty" "$G/stats64_a.npz"
echo "not a zip" > "$T/bad.npz"
expect 1 "bad.npz" "$BIN" fid "$T/bad.npz" "$G/stats64_a.npz"
head -c 3000 "$G/stats64_a.npz" > "$T/trunc.npz"
expect 1 "trunc.npz" "$BIN" fid "$T/trunc.npz" "$G/stats64_a.npz"
# stats of another dimension (stdlib-only writer: d = 3)
python3 - "$T/d3.npz" <<'PY'
import struct, sys, zipfile
def npy(shape, vals):
    h = "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % d for d in shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%dd" % len(vals), *vals)
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("mu.npy", npy((3,), [0, 1, 2]))
    z.writestr("sigma.npy", npy((3, 3), [1, 0, 0, 0, 1, 0, 0, 0, 1]))
PY
expect 1 "different dimensions" "$BIN" fid "$T/d3.npz" "$G/stats64_a.npz"
python3 - "$T/noarr.npz" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("other.npy", b"x")
PY
expect 1 "neither mu and sigma nor arr_0" "$BIN" fid "$T/noarr.npz" "$G/stats64_a.npz"
# image inputs need the weights
expect 2 "FID Inception weights" env -u HART_FID_WEIGHTS "$BIN" fid "$G/a" "$G/stats64_a.npz"
expect 1 "cannot open" "$BIN" fid -m "$T/nope.pth" "$G/a" "$G/b"
expect 1 "" "$BIN" fid -m "$G/golden.safetensors" "$G/a" "$G/b"
grep -q "Conv2d_1a_3x3" "$T/err" || fail "a wrong weights file: no tensor named in: $(cat "$T/err")"
# image folders: the statistics do not depend on how images are batched (the
# decoding runs in parallel, batches are pipelined); a bad image in the folder
# is named, the lowest in sort order first, whatever the batch size
GEN=${HART_RANDOM_MODELS:-build/tools/make_random_models}
[ -x "$GEN" ] || fail "$GEN missing (make build/tools/make_random_models)"
"$GEN" fid "$T/inc.safetensors" "$G/weights.txt" >/dev/null || fail "make_random_models fid failed"
mkdir "$T/imgs"
cp "$G"/a/*.png "$T/imgs/"
for f in "$G"/b/*.png; do cp "$f" "$T/imgs/b_$(basename "$f")"; done
expect 0 "" "$BIN" fid -m "$T/inc.safetensors" -b 5 -v --save-stats "$T/s5.npz" "$T/imgs"
grep -q "images/s (read+decode" "$T/err" || fail "-v printed no phase times: $(cat "$T/err")"
# (compared element-wise: the FID of two singular 5-image covariances is only
# round-off of the square roots of their zero eigenvalues, about 1e-4)
for b in 1 2; do
  expect 0 "" "$BIN" fid -m "$T/inc.safetensors" -b $b -q --save-stats "$T/s$b.npz" "$T/imgs"
  python3 - "$T/s$b.npz" "$T/s5.npz" <<'PY' || fail "batch $b vs 5: statistics differ"
import ast, struct, sys, zipfile
def arrays(path):
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            b = z.read(name)
            hl = struct.unpack("<H", b[8:10])[0]
            h = ast.literal_eval(b[10:10 + hl].decode())
            n = 1
            for d in h["shape"]:
                n *= d
            out[name] = struct.unpack("<%dd" % n, b[10 + hl:10 + hl + 8 * n])
    return out
a, b = arrays(sys.argv[1]), arrays(sys.argv[2])
for k in a:
    scale = max(abs(v) for v in a[k])
    err = max(abs(x - y) for x, y in zip(a[k], b[k]))
    if err > 1e-12 * scale:
        sys.exit("%s: max difference %g (scale %g)" % (k, err, scale))
PY
done
printf 'not a png' > "$T/imgs/b_img00x.png"
printf 'no png either' > "$T/imgs/b_img01x.png"
for b in 1 2 5; do
  expect 1 "b_img00x.png" "$BIN" fid -m "$T/inc.safetensors" -b $b -q --save-stats "$T/badimg.npz" "$T/imgs"
  [ ! -e "$T/badimg.npz" ] || fail "stats written although an image was bad"
done

# usage errors
expect 2 "two inputs" "$BIN" fid "$G/stats64_a.npz"
expect 2 "exactly one input" "$BIN" fid --save-stats "$T/x.npz" "$G/stats64_a.npz" "$G/stats64_b.npz"
expect 2 "" "$BIN" fid --batch-size 0 "$G/stats64_a.npz" "$G/stats64_b.npz"
echo "ok test_fid"
