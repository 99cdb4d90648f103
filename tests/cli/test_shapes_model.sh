#!/bin/sh
# The bundled trained model (models/hart-shapes) draws what fixed prompts say:
# each prompt is rendered on the CPU with a fixed seed by the CLI under test and
# read back by tools/yardstick/check.py, which knows nothing of the model (plain
# image analysis: background, shape, colour, position, size). The prompt/seed
# pairs were chosen among those the model drew right at seeds 1, 2 and 3
# (2026-11-27), so a float-rounding difference between builds does not flip
# them, but a regression in any stage (text encoder, transformer, sampler,
# diffusion head, tokenizer, decoder, weights) does. Also runs `make demo`'s
# script into a temporary file.
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}
M=models/hart-shapes
n=0
while IFS='|' read -r seed prompt; do
  n=$((n + 1))
  "$BIN" generate -m "$M" -p "$prompt" --seed "$seed" -d cpu -q -o "$T/p$n.png" || fail "generate '$prompt' failed"
  python3 tools/yardstick/check.py "$T/p$n.png" "$prompt" >"$T/check$n" 2>&1 || {
    cat "$T/check$n"; fail "picture $n (seed $seed) does not show '$prompt'"; }
done <<'EOF2'
1|a large red circle in the top left on a blue background
1|a medium green square in the center on a white background
1|a large white cross on the right on a purple background
1|a medium blue circle at the bottom on a yellow background
1|a medium purple triangle on the left on an orange background
EOF2
[ "$n" = 5 ] || fail "expected 5 prompts, ran $n"
HART_BIN=$BIN HART_DEMO_OUT=$T/demo.png HART_DEVICE=cpu sh tools/demo.sh >"$T/demo.log" 2>&1 || { cat "$T/demo.log"; fail "tools/demo.sh failed"; }
grep -q "^demo: wrote $T/demo.png" "$T/demo.log" || fail "demo: no 'wrote' line: $(cat "$T/demo.log")"
python3 tools/yardstick/check.py "$T/demo.png" "a large red circle in the top left on a blue background" >/dev/null ||
  fail "demo picture does not show its prompt"
echo "ok: 5 prompts + demo drawn as asked"
