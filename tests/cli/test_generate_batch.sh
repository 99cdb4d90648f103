#!/bin/sh
# Device batches: `hart generate -n N` renders N images of one prompt in one
# pass (seeds S..S+N-1) and each equals the image rendered alone with its
# seed: same sampled indices at every scale (--dump traces), final f_hat and
# image within float rounding (1e-4 relative; measured <= 1.6e-5), PNGs
# within 1 level (measured 0). `hart batch --batch-size K` writes the files
# K = 1 writes (<= 1 level; measured 0-1), resumes after lost files, and
# `--timings` prints every stage. Uses the bundled demo model.
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found (trace and pixel comparisons)"; exit 77; }
[ -d "$D/text_encoder" ] || { echo "SKIP: $D not found"; exit 77; }
MAXDIFF="python3 tests/cli/png_maxdiff.py"
within_1e4() { # "... final_f_hat X image Y": both <= 1e-4
  python3 -c 'import sys; w = sys.argv[1].split(); sys.exit(0 if float(w[-3]) <= 1e-4 and float(w[-1]) <= 1e-4 else 1)' "$1"
}
ROWS="python3 tests/cli/batch_row_check.py"

expect 0 "" "$BIN" generate --help
grep -q -- "--images" "$T/out" && grep -q -- "--timings" "$T/out" || fail "help lacks -n/--images or --timings"
expect 2 "--images" "$BIN" generate -m "$D" -p x -n 0
expect 2 "integer" "$BIN" generate -m "$D" -p x -n 1.5
expect 2 "-n applies to -p" "$BIN" generate -m "$D" --context c.safetensors -n 2

# -n 3: one batch, names out_0..out_2, seed S+i in each file's metadata
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed 5 -n 3 -o "$T/n.png" --dump "$T/n.st"
for i in 0 1 2; do
  [ -s "$T/n_$i.png" ] || fail "n_$i.png not written"
  grep -a -q "^seed: $((5 + i))\$" "$T/n_$i.png" || fail "n_$i.png: seed $((5 + i)) not in its metadata"
done
ls "$T" | grep -q tmp && fail "temporary files left behind"
for i in 0 1 2; do
  expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed $((5 + i)) -o "$T/a$i.png" --dump "$T/a$i.st"
  r=$($ROWS "$T/n.st" $i "$T/a$i.st") || fail "-n 3 image $i vs alone: $r"
  echo "  -n 3 image $i vs alone: $r"
  within_1e4 "$r" || fail "-n 3 image $i: $r (limit 1e-4)"
  d=$($MAXDIFF "$T/n_$i.png" "$T/a$i.png") || fail "png compare failed: $d"
  [ "$d" -le 1 ] || fail "-n 3 image $i differs from the image alone by $d levels"
done

# the same on OpenCL when a device opens (PoCL here; measured: equal to the bit), with --timings
if "$BIN" info -d opencl >/dev/null 2>&1; then
  expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed 5 -n 2 -o "$T/cl.png" --dump "$T/cl.st" -d opencl --precision f32 --timings
  grep -q "diffusion head" "$T/err" || fail "--timings on OpenCL printed nothing: $(cat "$T/err")"
  for i in 0 1; do
    expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed $((5 + i)) -o "$T/cl$i.png" --dump "$T/cl$i.st" -d opencl --precision f32
    r=$($ROWS "$T/cl.st" $i "$T/cl$i.st") || fail "OpenCL -n 2 image $i vs alone: $r"
    echo "  OpenCL -n 2 image $i vs alone: $r"
    within_1e4 "$r" || fail "OpenCL -n 2 image $i: $r (limit 1e-4)"
    d=$($MAXDIFF "$T/cl_$i.png" "$T/cl$i.png") || fail "png compare failed: $d"
    [ "$d" -le 1 ] || fail "OpenCL -n 2 image $i differs from the image alone by $d levels"
  done
else
  echo "SKIP: no OpenCL device (hart info -d opencl failed): OpenCL batch runs"
fi

# --timings: every stage, on stderr
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -o "$T/t.png" --timings
for s in "text encoding" "begin" "5    8x8" "diffusion head" "decode" "total"; do
  grep -q -- "$s" "$T/err" || fail "--timings output lacks '$s': $(cat "$T/err")"
done

# batch --batch-size 4 vs 1: same files, same manifest
printf 'a red fox\na blue house\na green tree\n' > "$T/p.txt"
expect 2 "--batch-size" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/o" --batch-size 0
expect 0 "6 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/b1" -n 2 --seed 7
expect 0 "6 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/b4" -n 2 --seed 7 --batch-size 4
cmp -s "$T/b1/manifest.jsonl" "$T/b4/manifest.jsonl" || fail "manifests differ: $(cat "$T/b4/manifest.jsonl")"
for i in 0 1 2 3 4 5; do
  d=$($MAXDIFF "$T/b1/0000$i.png" "$T/b4/0000$i.png") || fail "png compare failed: $d"
  [ "$d" -le 1 ] || fail "--batch-size 4 image $i differs from --batch-size 1 by $d levels"
done
# resume: lost files are rendered again (in one batch here), nothing else
rm "$T/b4/00001.png" "$T/b4/00004.png"
expect 0 "2 rendered, 4 already present" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/b4" -n 2 --seed 7 --batch-size 4
[ "$(wc -l < "$T/b4/manifest.jsonl")" = 6 ] || fail "manifest grew on resume: $(cat "$T/b4/manifest.jsonl")"
for i in 1 4; do
  d=$($MAXDIFF "$T/b1/0000$i.png" "$T/b4/0000$i.png") || fail "png compare failed: $d"
  [ "$d" -le 1 ] || fail "resumed image $i differs by $d levels"
done
ls "$T/b4" | grep -q tmp && fail "temporary files left behind"
echo "ok"
