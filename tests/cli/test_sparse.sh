#!/bin/sh
# --sparse-attn / --sparse-from-scale / --sparse-block (docs/sparse.md):
# bad specs are usage errors (exit 2) before anything is loaded; replayed
# golden runs complete with every policy on CPU and OpenCL and print the
# density of each sparse scale (-v), the same on both backends, with the
# same image up to the backends' dense difference; full budgets give the dense run's
# intermediate tensors bit for bit (CPU, 64-token blocks: the dense path);
# `hart batch` takes the same flags.
BIN=${HART_BIN:-bin/hart}
G=${HART_GOLDEN:-tests/data/golden}/hart-tiny-a
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect

expect 0 "" "$BIN" generate --help
grep -q -- "--sparse-attn" "$T/out" || fail "generate --help lacks --sparse-attn"
expect 0 "" "$BIN" batch --help
grep -q -- "--sparse-from-scale" "$T/out" || fail "batch --help lacks --sparse-from-scale"
for bad in dense local local: local:-1 local:x xattn:0 xattn:1.5 quest:0 quest:2.5 "quest:2 " LOCAL:1; do
  expect 2 "invalid value for --sparse-attn" "$BIN" generate -m "$T/nomodel" --context c --sparse-attn "$bad"
  expect 2 "invalid value for --sparse-attn" "$BIN" batch "$T/p.txt" -m "$T/nomodel" -o "$T/o" --sparse-attn "$bad"
done
expect 2 "--sparse-from-scale needs --sparse-attn" "$BIN" generate -m "$T/nomodel" --context c --sparse-from-scale 3
expect 2 "--sparse-block needs --sparse-attn" "$BIN" generate -m "$T/nomodel" --context c --sparse-block 8
expect 2 "--sparse-from-scale" "$BIN" generate -m "$T/nomodel" --context c --sparse-attn local:1 --sparse-from-scale 0
expect 2 "--sparse-block" "$BIN" generate -m "$T/nomodel" --context c --sparse-attn local:1 --sparse-block 0

[ -d "$G" ] || { echo "SKIP: golden set not found"; exit 77; }
R="--context $G/golden.safetensors --replay $G/golden.safetensors"
# a scale the model does not have
expect 1 "this model has scales 0..5" "$BIN" generate -m "$G" $R --sparse-attn local:1 --sparse-from-scale 6 -o "$T/x.png"
# dense reference trace
expect 0 "" "$BIN" generate -m "$G" $R --dump "$T/dense.safetensors" -o "$T/dense.png"
CL=
if "$BIN" info -d opencl >/dev/null 2>&1; then CL=1; else echo "SKIP: no OpenCL device (hart info -d opencl failed): OpenCL runs"; fi
for spec in local:1 xattn:0.5 quest:1; do
  for dev in cpu ${CL:+opencl}; do
    expect 0 "" "$BIN" generate -m "$G" $R --sparse-attn "$spec" --sparse-block 8 -v -d "$dev" -o "$T/s.png"
    [ -s "$T/s_0.png" ] && [ -s "$T/s_1.png" ] || fail "$spec on $dev: images not written"
    # the last three scales (3, 4, 5) report a density in (0, 1]; the others run dense
    n=$(grep -c "sparse attention $spec: density [01]\.[0-9]*" "$T/err")
    [ "$n" = 3 ] || fail "$spec on $dev: expected 3 density lines, got $n: $(cat "$T/err")"
    grep -q "scale 3/6 (3x3) done, dense attention" "$T/err" || fail "$spec on $dev: scale 2 should be dense"
    grep "density" "$T/err" | sed "s/^/  $dev /"
    grep -q "sparse_attn" "$T/s_0.png" || fail "$spec: the PNG metadata lacks sparse_attn"
    grep -o "density.*" "$T/err" > "$T/dens_$dev"
    cp "$T/s_0.png" "$T/img0_$dev.png"; cp "$T/s_1.png" "$T/img1_$dev.png"
  done
  # quest/xattn masks are made on the device on OpenCL (op block_mask, fixed-point scores):
  # the same masks as the CPU's, so the same densities, and images as close as the dense
  # runs of the two backends are (max pixel difference 1 measured, dense and sparse; a
  # different mask moves pixels by 59-79 on this set)
  if [ -n "$CL" ]; then
    cmp -s "$T/dens_cpu" "$T/dens_opencl" || fail "$spec: densities differ between CPU and OpenCL: $(cat "$T/dens_cpu" "$T/dens_opencl")"
    for i in 0 1; do
      d=$(python3 "$(dirname "$0")/png_maxdiff.py" "$T/img${i}_cpu.png" "$T/img${i}_opencl.png" | tail -1)
      [ "$d" -le 1 ] || fail "$spec: image $i differs between CPU and OpenCL by $d"
    done
  fi
done
# --sparse-from-scale 4: scales 4 and 5 only
expect 0 "" "$BIN" generate -m "$G" $R --sparse-attn local:1 --sparse-block 8 --sparse-from-scale 4 -v -o "$T/f.png"
n=$(grep -c "density" "$T/err")
[ "$n" = 2 ] || fail "--sparse-from-scale 4: expected 2 density lines, got $n"
# full budgets keep every tile: the dense run's tensors, bit for bit
for spec in local:100 xattn:1 quest:1000; do
  expect 0 "" "$BIN" generate -m "$G" $R --sparse-attn "$spec" --sparse-from-scale 1 --dump "$T/full.safetensors" \
    -v -o "$T/full.png"
  grep -q "density 1.0000" "$T/err" || fail "$spec: density is not 1"
  cmp -s "$T/dense.safetensors" "$T/full.safetensors" || fail "$spec: full budget differs from dense"
done
# hart batch takes the same flags and prints the density with -v
if [ -d "$D" ]; then
  printf 'a red fox\n' > "$T/p.txt"
  expect 0 "" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/b" --sparse-attn local:1 --sparse-block 16 -v
  grep -q "sparse attention local:1: density" "$T/err" || fail "batch -v: no density: $(cat "$T/err")"
  [ -s "$T/b/00000.png" ] || fail "batch: image not written"
else
  echo "SKIP: $D not found: batch run"
fi
echo "ok"
