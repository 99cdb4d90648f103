#!/bin/sh
# `make demo`: render samples/demo.png with the bundled trained model
# (models/hart-shapes: HART trained here on the synthetic shapes dataset, see
# docs/training.md) from a prompt of its caption grammar, and print where it
# went. The picture shows what the prompt says (tools/yardstick/check.py reads
# it back). Real checkpoints: see README.md.
set -e
BIN=${HART_BIN:-bin/hart}
MODEL=${HART_DEMO_MODEL:-models/hart-shapes}
OUT=${HART_DEMO_OUT:-samples/demo.png}
PROMPT=${HART_DEMO_PROMPT:-a large red circle in the top left on a blue background}
SEED=${HART_DEMO_SEED:-1}
# The 64 px model is too small to gain from threads; one thread keeps it fast on
# a busy machine too (OpenMP threads spin when cores are shared). Override freely.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$(dirname "$OUT")"
start=$(date +%s.%N)
"$BIN" generate -m "$MODEL" -p "$PROMPT" --seed "$SEED" -o "$OUT" -q ${HART_DEVICE:+--device "$HART_DEVICE"}
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v o="$OUT" -v p="$PROMPT" -v m="$MODEL" -v d="$SEED" \
  'BEGIN { printf "demo: wrote %s (prompt \"%s\", seed %s, model %s) in %.2f s\n", o, p, d, m, e - s }'
if command -v python3 >/dev/null 2>&1; then
  python3 tools/yardstick/check.py "$OUT" "$PROMPT" | sed 's/^/demo: check: /' || true
fi
