#!/bin/sh
# tools/yardstick/sparse_quality.py (docs/sparse.md, "Quality on the trained model")
# on 8 prompts of samples/eval200.jsonl with the bundled models/hart-shapes:
# - with 64-token tiles at 64 px, local:1 keeps every tile (density 1 on the
#   three sparse scales), which is the dense op bit for bit: all 8 images must be
#   reported identical to dense and the density read from -v must be 1;
# - quest:1 at 8-token tiles keeps fewer tiles (density < 1 on the last scale):
#   each image's PSNR must equal tests/cli/png_psnr.py's (an independent
#   implementation) to its 2 printed decimals, and the minimum must be theirs.
# Then tools/random_context.py (the random context of the whole-image timing runs):
# its file must be what `hart generate --context` reads for models/hart-tiny-demo
# (8 tokens × 64, two images), and the same seed must give the same bytes.
set -u
BIN=${HART_BIN:-bin/hart}
M=models/hart-shapes
. tests/cli/lib.sh
[ -d "$M" ] || { echo "SKIP: $M not found"; exit 77; }
python3 tools/yardstick/sparse_quality.py --bin "$BIN" --model "$M" --count 8 --blocks 64 --specs local:1 \
  --out "$T/a" >"$T/out" 2>"$T/err" || fail "sparse_quality.py (local:1): $(cat "$T/err")"
grep -q "^| 64 | local:1 | 1.00 / 1.00 / 1.00 | 8 / 8 |" "$T/out" || fail "local:1 at 64-token tiles: $(cat "$T/out")"
python3 tools/yardstick/sparse_quality.py --bin "$BIN" --model "$M" --count 8 --blocks 8 --specs quest:1 \
  --out "$T/b" >"$T/out" 2>"$T/err" || fail "sparse_quality.py (quest:1): $(cat "$T/err")"
python3 - "$T/b" <<'PY' || fail "PSNR differs from png_psnr.py"
import json, subprocess, sys
out = sys.argv[1]
r = json.load(open(out + "/sparse_quality.json"))["results"][1]
assert r["spec"] == "quest:1" and r["block"] == 8, r
assert 0 < r["density"]["8"] < 1, r["density"]
mine, theirs = r["psnr_per_image"], []
for i in range(8):
    name = "p%05d.png" % i
    v = subprocess.run(["python3", "tests/cli/png_psnr.py", out + "/b8_quest_1/" + name, out + "/dense/" + name],
                       capture_output=True, text=True, check=True).stdout.strip()
    theirs.append(None if v == "inf" else float(v))
for m, t in zip(mine, theirs):
    assert (m is None) == (t is None) and (m is None or abs(m - t) <= 0.005 + 1e-9), (mine, theirs)
finite = [t for t in theirs if t is not None]
assert finite and abs(r["min_psnr"] - min(finite)) <= 0.005 + 1e-9, (r["min_psnr"], theirs)
print("ok: quest:1 PSNR", mine)
PY
D=models/hart-tiny-demo
python3 tools/random_context.py "$T/c.safetensors" --tokens 8 --dim 64 --batch 2 --seed 3 || fail "random_context.py"
python3 tools/random_context.py "$T/c2.safetensors" --tokens 8 --dim 64 --batch 2 --seed 3 || fail "random_context.py"
cmp -s "$T/c.safetensors" "$T/c2.safetensors" || fail "random_context.py: same seed, different bytes"
expect 0 "" "$BIN" generate -m "$D" --context "$T/c.safetensors" -s 1 -o "$T/ctx.png"
[ -s "$T/ctx_0.png" ] && [ -s "$T/ctx_1.png" ] || fail "generate --context with random_context.py's file: no images"
expect 1 "" python3 tools/random_context.py "$T/bad.safetensors" --tokens 0 --dim 64
echo "ok: sparse_quality.py, random_context.py"
