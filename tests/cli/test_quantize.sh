#!/bin/sh
# hart quantize / generate --quant / info -m (docs/quant.md): flag errors;
# round trip (quantize without calibration = round-to-nearest, so the folder
# must render exactly the image of `generate --quant FMT` on the float model);
# calibrated folders load and report their formats; a failing quantize and a
# killed one leave no output folder.
BIN=${HART_BIN:-bin/hart}
M=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
expect 0 "" "$BIN" quantize --help
grep -q -- "--calib" "$T/out" || fail "help lacks --calib"
expect 2 "invalid value 'w3a5' for --format" "$BIN" quantize -m "$M" --format w3a5 -o "$T/q"
expect 2 "--format is required" "$BIN" quantize -m "$M" -o "$T/q"
expect 2 "-o/--output DIR is required" "$BIN" quantize -m "$M" --format w8a8
expect 2 "--alpha applies to w8a8 and w4a8" "$BIN" quantize -m "$M" --format w4a16 --alpha 0.5 -o "$T/q"
expect 2 "out of range" "$BIN" quantize -m "$M" --format w8a8 --alpha 1.5 -o "$T/q"
expect 2 "--group-size applies to w4a16 and w4a8" "$BIN" quantize -m "$M" --format w8a8 --group-size 32 -o "$T/q"
expect 2 "--group-size must be even" "$BIN" quantize -m "$M" --format w4a16 --group-size 33 -o "$T/q"
expect 2 "out of range" "$BIN" quantize -m "$M" --format w4a8 --group-size 0 -o "$T/q"
expect 2 "invalid value 'int3' for --quant" "$BIN" generate -m "$M" -p "a cat" --quant int3 -o "$T/a.png"
expect 1 "has no llm/ folder" "$BIN" quantize -m "$T" --format w8a8 -o "$T/q"
[ -e "$T/q" ] && fail "a failed quantize left $T/q"
mkdir "$T/exists"
expect 1 "already exists" "$BIN" quantize -m "$M" --format w8a8 -o "$T/exists"
[ -z "$(ls "$T/exists")" ] || fail "quantize wrote into an existing folder"

for f in w8a8 w4a16 w4a8; do
  expect 0 "" "$BIN" quantize -m "$M" --format $f -o "$T/rtn_$f" -q
  expect 0 "" "$BIN" generate -m "$T/rtn_$f" -p "a red fox" --seed 3 -o "$T/a_$f.png" -q
  expect 0 "" "$BIN" generate -m "$M" --quant $f -p "a red fox" --seed 3 -o "$T/b_$f.png" -q
  d=$(python3 tests/cli/png_maxdiff.py "$T/a_$f.png" "$T/b_$f.png")
  [ "$d" = 0 ] || fail "$f: the quantized folder renders another image than --quant $f (max diff $d)"
  expect 0 "" "$BIN" info -m "$T/rtn_$f"
  grep -q "quantization_config: $f by rtn" "$T/out" || fail "$f: info lacks the quantization_config: $(cat "$T/out")"
  grep -q "blocks.0.attn.qkv_proj  *$f " "$T/out" || fail "$f: info lacks the fused qkv layer: $(cat "$T/out")"
  grep -q "layers.0.mlp.down_proj  *$f" "$T/out" || fail "$f: info lacks the text encoder's layers"
  grep -q "head  *F32" "$T/out" || fail "$f: the output head must stay float"
done
expect 1 "is already quantized" "$BIN" quantize -m "$T/rtn_w8a8" --format w4a8 -o "$T/q"
[ -e "$T/q" ] && fail "a failed quantize left $T/q"
expect 0 "" "$BIN" generate -m "$M" -p "a red fox" --seed 3 -o "$T/f.png" -q
[ "$(python3 tests/cli/png_maxdiff.py "$T/f.png" "$T/a_w8a8.png")" = 0 ] && fail "w8a8 image identical to the float one (quantization not applied?)"

# --group-size: the groups written are those the loader reads (48 on 64-wide rows: two of 32;
# on 256-wide rows: six of 44), every weight within half a step of the float one (qgroup_check.py,
# from the float file), the config records it, the folder renders, and another image than group 128
for f in w4a16 w4a8; do
  for g in 32 48; do
    expect 0 "" "$BIN" quantize -m "$M" --format $f --group-size $g -o "$T/g${g}_$f" -q
    python3 tests/cli/qgroup_check.py "$M/llm/model.safetensors" "$T/g${g}_$f/llm/model.safetensors" $g > "$T/out" 2>&1 ||
      fail "$f group $g: $(cat "$T/out")"
    grep -q "\"group_size\":	$g," "$T/g${g}_$f/llm/config.json" || fail "$f: config lacks group_size $g"
  done
  python3 tests/cli/qgroup_check.py "$M/llm/model.safetensors" "$T/rtn_$f/llm/model.safetensors" 32 > "$T/out" 2>&1 &&
    fail "qgroup_check.py accepts group-128 weights as groups of 32"
  expect 0 "" "$BIN" generate -m "$T/g32_$f" -p "a red fox" --seed 3 -o "$T/g32_$f.png" -q
  [ "$(python3 tests/cli/png_maxdiff.py "$T/g32_$f.png" "$T/a_$f.png")" = 0 ] && fail "$f: group 32 renders the group-128 image"
done

# calibrated: SmoothQuant with a fixed alpha, AWQ search; both render
head -4 samples/calib_prompts.txt > "$T/calib.txt"
expect 0 "" "$BIN" quantize -m "$M" --format w8a8 --alpha 0.5 --calib "$T/calib.txt" -o "$T/sq"
grep -q "calibrated on 3 prompts" "$T/out" || fail "calibration not reported: $(cat "$T/out")"
grep -q '"method":	"smoothquant"' "$T/sq/llm/config.json" || fail "config lacks the method: $(cat "$T/sq/llm/config.json")"
expect 0 "" "$BIN" generate -m "$T/sq" -p "a red fox" --seed 3 -o "$T/sq.png" -q
expect 0 "" "$BIN" quantize -m "$M" --format w4a16 --calib "$T/calib.txt" -o "$T/awq" -q
grep -q '"awq_ratio"' "$T/awq/llm/config.json" || fail "AWQ ratio not recorded"
expect 0 "" "$BIN" generate -m "$T/awq" -p "a red fox" --seed 3 -o "$T/awq.png" -q
expect 1 "no prompts" "$BIN" quantize -m "$M" --format w8a8 --calib /dev/null -o "$T/q"
[ -e "$T/q" ] && fail "a failed quantize left $T/q"

# failing midway (a NaN weight is refused while the folder is being written): nothing left
cp -rL "$M" "$T/nanmodel"
python3 - "$T/nanmodel/llm/model.safetensors" <<'PY' || fail "could not prepare the NaN model"
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
e = h["blocks.1.attn.proj.weight"]
assert e["dtype"] == "F32"
o = 8 + n + e["data_offsets"][0]
b[o:o + 4] = struct.pack("<f", float("nan"))
open(p, "wb").write(b)
PY
expect 1 "not finite" "$BIN" quantize -m "$T/nanmodel" --format w8a8 -o "$T/qn"
[ -e "$T/qn" ] && fail "a failing quantize left $T/qn"
ls -a "$T" | grep -q partial && fail "a failing quantize left its partial folder: $(ls -a "$T")"

# killed during calibration: no output folder; a later run cleans up after it
i=0; : > "$T/many.txt"
while [ $i -lt 400 ]; do echo "prompt number $i" >> "$T/many.txt"; i=$((i + 1)); done
"$BIN" quantize -m "$M" --format w8a8 --calib "$T/many.txt" -o "$T/qk" -q >/dev/null 2>&1 &
pid=$!
sleep 2
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -e "$T/qk" ] && fail "a killed quantize left $T/qk"
mkdir "$T/.qk.partial-999999" # a killed run's leftover (no such process)
expect 0 "" "$BIN" quantize -m "$M" --format w8a8 -o "$T/qk" -q
ls -a "$T" | grep -q "qk.partial" && fail "stale partial folder not removed: $(ls -a "$T")"
echo "test_quantize: ok"
