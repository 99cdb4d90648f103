#!/bin/sh
# `make demo`: render one image with the bundled model (models/hart-tiny-demo:
# random weights in the release layout, so the picture is structured noise,
# not a fox) and print where it went. Real checkpoints: see README.md.
set -e
BIN=${HART_BIN:-bin/hart}
MODEL=${HART_DEMO_MODEL:-models/hart-tiny-demo}
OUT=${HART_DEMO_OUT:-out/demo.png}
PROMPT=${HART_DEMO_PROMPT:-a red fox sitting in the snow, golden hour}
mkdir -p "$(dirname "$OUT")"
start=$(date +%s.%N)
"$BIN" generate -m "$MODEL" -p "$PROMPT" --seed 1 -o "$OUT" ${HART_DEVICE:+--device "$HART_DEVICE"}
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v o="$OUT" -v p="$PROMPT" -v m="$MODEL" \
  'BEGIN { printf "demo: wrote %s (prompt \"%s\", seed 1, model %s) in %.2f s\n", o, p, m, e - s }'
