#!/bin/sh
# The bundled class-conditional LPD model (models/lpd-shapes: LPD transformer +
# LlamaGen-style VQ, docs/training.md) draws the classes it is asked for: each
# class is rendered on the CPU with a fixed seed (16 steps, guidance 3) by the CLI
# under test and read back by tools/yardstick/check_classes.py, which knows nothing
# of the model (check.py's plain image analysis: shape and colour). The class/seed
# pairs (one image k of `hart batch --classes 0-31 -n 8 --steps 16 --cfg 3` each:
# class k/8, seed k; 2026-11-27) are among those the model drew right, chosen in
# runs of right seeds, so a rounding difference between builds does not flip them,
# but a regression in any stage (order, steps, KV cache, guidance, sampler, VQ
# decoder, checkpoint reader, weights) does. Then the VQ round trip of a dataset
# image must keep what it shows.
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}
M=models/lpd-shapes
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
n=0
while read -r class seed what; do
  n=$((n + 1))
  "$BIN" generate -m "$M/lpd.pth" --vq "$M/vq.pt" --class "$class" --seed "$seed" --steps 16 --cfg 3 -d cpu -q \
    -o "$T/c$n.png" || fail "generate class $class failed"
  python3 tools/yardstick/check_classes.py "$T/c$n.png" "$class" >"$T/check$n" 2>&1 || {
    cat "$T/check$n"; fail "picture $n (class $class = $what, seed $seed) does not show its class"; }
done <<'EOF2'
2 17 yellow circle
5 41 purple circle
15 126 black square
20 163 blue triangle
27 217 green cross
30 242 white cross
EOF2
[ "$n" = 6 ] || fail "expected 6 classes, ran $n"
"$BIN" reconstruct samples/inputs/shape_0.png -m "$M/vq.pt" -o "$T/rec.png" -d cpu >"$T/rec.log" 2>&1 ||
  { cat "$T/rec.log"; fail "reconstruct with the LPD model's VQ failed"; }
python3 tools/yardstick/check.py "$T/rec.png" "a picture of a huge purple triangle at the top on a yellow to green gradient background" >"$T/rc" 2>&1 ||
  { cat "$T/rc"; fail "the VQ round trip of samples/inputs/shape_0.png does not show its caption"; }
echo "ok: 6 classes drawn as asked, VQ round trip keeps the picture"
