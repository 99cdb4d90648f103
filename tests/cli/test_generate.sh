#!/bin/sh
# hart generate: flag errors, bad inputs, a prompt run with the bundled demo
# model (CPU and, when available, OpenCL: same image), and a replayed golden
# run that must write both PNGs (<= 1 level from the reference's PNGs) and
# the trace, on CPU and OpenCL.
BIN=${HART_BIN:-bin/hart}
G=${HART_GOLDEN:-tests/data/golden}/hart-tiny-a
. "$(dirname "$0")/lib.sh" # $T, fail, expect
expect 0 "" "$BIN" generate --help
grep -q -- "--context" "$T/out" || fail "help lacks --context"
expect 2 "model" "$BIN" generate --context x.safetensors
expect 2 "--seed" "$BIN" generate -m m --context c --seed abc
expect 2 "--top-p" "$BIN" generate -m m --context c --top-p 2
expect 2 "unknown option" "$BIN" generate -m m --context c --bogus
# --top-k: 0 is the per-scale default (as in hart batch); bad values are one
# clear error (the sanitizer build used to read an uninitialised value here)
expect 2 "value -1 for --top-k is out of range" "$BIN" generate -m m --context c --top-k -1
expect 2 "invalid value '2.5' for --top-k (expected an integer" "$BIN" generate -m m --context c --top-k 2.5
expect 2 "invalid value 'x' for --top-k" "$BIN" generate -m m --context c --top-k x
expect 1 "$T/missing" "$BIN" generate -m m --context c --top-k 0 -o "$T/missing/a.png"
expect 2 "needs a value" "$BIN" generate -m m --context
expect 2 "exclusive" "$BIN" generate -m m --context c -p hi
# the output path is checked before anything is loaded (a model that does not
# exist proves it: the path error comes first)
expect 2 "unknown image extension" "$BIN" generate -m "$T/nomodel" --context c -o "$T/a.gif"
expect 2 "unknown image extension" "$BIN" generate -m "$T/nomodel" --context c -o "$T/noext"
expect 2 "unknown image extension" "$BIN" generate -m "$T/nomodel" --context c -o "$T/"
expect 1 "$T/missing" "$BIN" generate -m "$T/nomodel" --context c -o "$T/missing/a.png"
mkdir "$T/d.png"
expect 1 "is a folder" "$BIN" generate -m "$T/nomodel" --context c -o "$T/d.png"
touch "$T/file"
expect 1 "not a folder" "$BIN" generate -m "$T/nomodel" --context c -o "$T/file/a.png"
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ ! -w "$T/ro" ]; then # (root can write anywhere)
  expect 1 "$T/ro' is not writable" "$BIN" generate -m "$T/nomodel" --context c -o "$T/ro/a.jpg"
fi
expect 1 "--dump" "$BIN" generate -m "$T/nomodel" --context c -o "$T/a.png" --dump "$T/missing/t.safetensors"
# a missing -m folder is named as such (it used to be reported as a missing text encoder)
expect 1 "model folder '$T/nomodel' not found" "$BIN" generate -m "$T/nomodel" -p "a cat" -o "$T/a.png"
mkdir "$T/emptymodel"
expect 1 "$T/emptymodel/text_encoder' not found" "$BIN" generate -m "$T/emptymodel" -p "a cat" -o "$T/a.png"
expect 1 "$T/notext' not found" "$BIN" generate -m "$T/emptymodel" -p "a cat" --text-model "$T/notext" -o "$T/a.png"
expect 2 "--device" "$BIN" generate -m m --context c -d gpu
expect 1 "c: cannot open" "$BIN" generate -m models/hart-tiny-demo --context c -o "$T/a.JPEG" -d cpu
expect 1 "nope.safetensors" "$BIN" generate -m "$G" --context "$T/nope.safetensors" -o "$T/a.png"
printf 'not a safetensors file' > "$T/bad.safetensors"
expect 1 "bad.safetensors" "$BIN" generate -m "$G" --context "$T/bad.safetensors" -o "$T/a.png"
MAXDIFF="python3 tests/cli/png_maxdiff.py"
command -v python3 >/dev/null 2>&1 || MAXDIFF=
# OpenCL half: when `hart info -d opencl` finds a device (PoCL here)
CL=
if "$BIN" info -d opencl >/dev/null 2>&1; then CL=1; else echo "SKIP: no OpenCL device (hart info -d opencl failed): OpenCL runs"; fi
# text path with the bundled demo model (default --text-model MODEL/text_encoder)
D=models/hart-tiny-demo
if [ -d "$D/text_encoder" ]; then
  expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed 5 -o "$T/p.png"
  [ -s "$T/p.png" ] || fail "prompt image not written"
  grep -q "a photo of a cat" "$T/p.png" || fail "prompt not in the PNG metadata"
  expect 1 "tokenizer.json" "$BIN" generate -m "$D" -p "x" --text-model "$T" -o "$T/q.png"
  # the same text encoder named with --text-model: same image (0 levels)
  expect 0 "" "$BIN" generate -p "a photo of a cat" -m "$D" --text-model "$D/text_encoder" --seed 5 -o "$T/pt.png" --device cpu
  if [ -n "$MAXDIFF" ]; then
    d=$($MAXDIFF "$T/pt.png" "$T/p.png") || fail "png compare failed: $d"
    [ "$d" -eq 0 ] || fail "--text-model run differs from the default text encoder's by $d levels"
  fi
  if [ -n "$CL" ]; then
    # same seed on OpenCL: same sampled tokens, pixels within 1 level (measured 0)
    expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed 5 -o "$T/p_cl.png" --device opencl --precision f32
    # text encoder, transformer and decoder all on OpenCL, --text-model given
    expect 0 "" "$BIN" generate -p "a photo of a cat" -m "$D" --text-model "$D/text_encoder" --seed 5 -o "$T/pt_cl.png" --device opencl --precision f32
    if [ -n "$MAXDIFF" ]; then
      d=$($MAXDIFF "$T/p.png" "$T/p_cl.png") || fail "png compare failed: $d"
      [ "$d" -le 1 ] || fail "prompt run: OpenCL image differs from CPU by $d levels"
      d=$($MAXDIFF "$T/pt.png" "$T/pt_cl.png") || fail "png compare failed: $d"
      [ "$d" -le 1 ] || fail "--text-model run: OpenCL image differs from CPU by $d levels"
    fi
  fi
fi
[ -d "$G" ] || { echo "SKIP: golden set not found"; exit 77; }
expect 1 "llm" "$BIN" generate -m "$T" --context "$G/golden.safetensors" -o "$T/a.png"
expect 0 "" "$BIN" generate -m "$G" --context "$G/golden.safetensors" --replay "$G/golden.safetensors" \
  --dump "$T/trace.safetensors" -o "$T/img.png"
[ -s "$T/img_0.png" ] && [ -s "$T/img_1.png" ] || fail "images not written"
[ -s "$T/trace.safetensors" ] || fail "trace not written"
grep -q "parameters" "$T/img_0.png" || fail "no parameters text chunk"
ls "$T" | grep -q tmp && fail "temporary files left behind"
# replayed images vs the reference's 8-bit copies: <= 1 level (golden README; measured 1 and 0)
if [ -n "$MAXDIFF" ]; then
  for i in 0 1; do
    d=$($MAXDIFF "$T/img_$i.png" "$G/gen_image_$i.png") || fail "png compare failed: $d"
    [ "$d" -le 1 ] || fail "replayed img_$i.png differs from gen_image_$i.png by $d levels"
  done
fi
if [ -n "$CL" ]; then
  # replay on OpenCL: same PNGs as CPU within 1 level (measured 0)
  expect 0 "" "$BIN" generate -m "$G" --context "$G/golden.safetensors" --replay "$G/golden.safetensors" \
    -o "$T/cl.png" --device opencl --precision f32
  if [ -n "$MAXDIFF" ]; then
    for i in 0 1; do
      d=$($MAXDIFF "$T/cl_$i.png" "$T/img_$i.png") || fail "png compare failed: $d"
      [ "$d" -le 1 ] || fail "replay --device opencl: image $i differs from CPU by $d levels"
      d=$($MAXDIFF "$T/cl_$i.png" "$G/gen_image_$i.png") || fail "png compare failed: $d"
      [ "$d" -le 1 ] || fail "replay --device opencl: image $i differs from gen_image_$i.png by $d levels"
    done
  fi
fi
[ -n "$MAXDIFF" ] || echo "SKIP: python3 not found: pixel comparisons"
echo "ok"
