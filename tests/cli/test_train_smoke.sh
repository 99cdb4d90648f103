#!/bin/sh
# Training code smoke test (tools/train, PyTorch): a few steps of every stage of
# train_hart.py on the CPU (16 images, tiny widths), the float16 export, and
# check_export.py: the C program (HART_BIN) must compute what the PyTorch modules
# compute on the exported model (logits at every scale, diffusion condition and
# sampler output, final latent, image, tokenizer encode), max rel. error <= 1e-4.
# PyTorch is an optional dependency (not installed by `make deps`): without it the
# test prints "SKIP-OPTIONAL: pytorch: ..." (tests/run_tests.sh, docs/testing.md).
# Then the same for the LPD model (train_lpd.py, export_lpd.py, check_export_lpd.py).
# HART_TRAIN_PYTHON selects the interpreter (default python3).
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}
PY=${HART_TRAIN_PYTHON:-python3}
if ! "$PY" -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "SKIP-OPTIONAL: pytorch: $PY cannot import torch, numpy and safetensors (pip install torch numpy safetensors pillow, or set HART_TRAIN_PYTHON)"
  exit 0
fi
# check_log TRAIN_LOG STAGE STEPS_KEY ...: every STAGE logged, every loss finite, info[STEPS_KEY] == 2
check_log() {
  "$PY" - "$@" <<'PYEOF'
import json, math, sys
log = json.load(open(sys.argv[1]))
want = sys.argv[2::2]
stages = {e.get("stage") for e in log["history"]}
assert set(want) <= stages, stages
assert all(math.isfinite(e["loss"]) for e in log["history"] if "loss" in e)
assert all(log["info"][k] == 2 for k in sys.argv[3::2]), log["info"]
PYEOF
}
"$PY" tools/train/train_hart.py --smoke --out "$T/run" >"$T/train.log" 2>&1 || { cat "$T/train.log"; fail "train_hart.py --smoke failed"; }
check_log "$T/run/train_log.json" tokenizer tok_steps transformer tf_steps || fail "training log"
"$PY" tools/train/export.py "$T/run/model" "$T/f16" >/dev/null || fail "export.py failed"
"$PY" tools/train/check_export.py "$T/f16" --hart "$BIN" || fail "C and PyTorch disagree on the exported smoke model"
# the class-conditional LPD + LlamaGen VQ (tools/train/train_lpd.py): 8x8 tokens in the smoke run,
# so the C program gets an explicit schedule (the table's schedules are for 256 tokens and more)
"$PY" tools/train/train_lpd.py --smoke --out "$T/lpd" >"$T/lpd.log" 2>&1 || { cat "$T/lpd.log"; fail "train_lpd.py --smoke failed"; }
check_log "$T/lpd/train_log.json" vq vq_steps lpd lpd_steps || fail "LPD training log"
"$PY" tools/train/export_lpd.py "$T/lpd/model" "$T/lpd16" >/dev/null || fail "export_lpd.py failed"
"$PY" tools/train/check_export_lpd.py "$T/lpd16" --hart "$BIN" --group-sizes 1,3,6,10,14,30 ||
  fail "C and PyTorch disagree on the exported LPD smoke model"
echo "ok: train_hart.py --smoke, export, check_export; train_lpd.py --smoke, export_lpd, check_export_lpd"
