#!/bin/sh
# Training code smoke test (tools/train, PyTorch): a few steps of every stage of
# train_hart.py on the CPU (16 images, tiny widths), the float16 export, and
# check_export.py: the C program (HART_BIN) must compute what the PyTorch modules
# compute on the exported model (logits at every scale, diffusion condition and
# sampler output, final latent, image, tokenizer encode), max rel. error <= 1e-4.
# PyTorch is an optional dependency (not installed by `make deps`): without it the
# test prints "SKIP-OPTIONAL: pytorch: ..." (tests/run_tests.sh, docs/testing.md).
# HART_TRAIN_PYTHON selects the interpreter (default python3).
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}
PY=${HART_TRAIN_PYTHON:-python3}
if ! "$PY" -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "SKIP-OPTIONAL: pytorch: $PY cannot import torch, numpy and safetensors (pip install torch numpy safetensors pillow, or set HART_TRAIN_PYTHON)"
  exit 0
fi
"$PY" tools/train/train_hart.py --smoke --out "$T/run" >"$T/train.log" 2>&1 || { cat "$T/train.log"; fail "train_hart.py --smoke failed"; }
"$PY" - "$T/run/train_log.json" <<'PYEOF' || fail "training log"
import json, math, sys
log = json.load(open(sys.argv[1]))
stages = {e.get("stage") for e in log["history"]}
assert {"tokenizer", "transformer"} <= stages, stages
assert all(math.isfinite(e["loss"]) for e in log["history"] if "loss" in e)
assert log["info"]["tok_steps"] == 2 and log["info"]["tf_steps"] == 2, log["info"]
PYEOF
"$PY" tools/train/export.py "$T/run/model" "$T/f16" >/dev/null || fail "export.py failed"
"$PY" tools/train/check_export.py "$T/f16" --hart "$BIN" || fail "C and PyTorch disagree on the exported smoke model"
echo "ok: train_hart.py --smoke, export, check_export"
