#!/bin/sh
# The helpers of tools/scaleout_run.sh (issue 17's one- vs two-GPU run): make_random_models
# writes HART and LPD models that `hart batch` renders, and scaleout_check.py accepts two
# identical folders (here: one worker vs two CPU workers) and names what differs when an
# image byte, a manifest or an index is wrong; its rate needs every image.
BIN=${HART_BIN:-bin/hart}
GEN=${HART_RANDOM_MODELS:-build/tools/make_random_models}
CHK="python3 tools/scaleout_check.py"
. "$(dirname "$0")/lib.sh"
[ -x "$GEN" ] || fail "$GEN missing (make build/tools/make_random_models)"
expect 2 "usage" "$GEN" hart "$T/h"
expect 1 "not an llm config" "$GEN" hart "$T/h" --config "$T/none.json" --text-tokenizer models/hart-tiny-demo/text_encoder/tokenizer.json
expect 0 "" "$GEN" hart "$T/h" --config models/hart-tiny-demo/llm/config.json \
  --text-tokenizer models/hart-tiny-demo/text_encoder/tokenizer.json --tok-ch 32
grep -q '"num_hidden_layers": 2' "$T/h/text_encoder/config.json" || fail "text config: $(cat "$T/h/text_encoder/config.json")"
printf 'a red fox\na blue house\na green tree\n' >"$T/p.txt"
expect 0 "3 rendered" "$BIN" batch "$T/p.txt" -m "$T/h" -o "$T/one" -b 2 --seed 3
expect 0 "3 rendered" "$BIN" batch "$T/p.txt" -m "$T/h" -o "$T/two" -b 2 --seed 3 --devices cpu,cpu
$CHK same "$T/one" "$T/two" 3 >"$T/c" || fail "same: $(cat "$T/c")"
grep -q "3 of 3 images identical" "$T/c" || fail "same: $(cat "$T/c")"
$CHK rate "$T/one" 3 2 | grep -q "images/s steady" || fail "rate"
$CHK rate "$T/one" 4 2 | grep -q "no rate" || fail "rate with an image missing"
# one flipped byte in an image's data, then a manifest listing an index twice
cp -r "$T/two" "$T/bad"
python3 - "$T/bad/00001.png" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-20] ^= 1; open(p, 'wb').write(b)
PY
$CHK same "$T/one" "$T/bad" 3 >"$T/c" && fail "a changed image passed"
grep -q "FAILED: 1 of 3 images differ" "$T/c" || fail "changed image: $(cat "$T/c")"
cp "$T/two/00001.png" "$T/bad/"
sed -n 2p "$T/bad/manifest.jsonl" >>"$T/bad/manifest.jsonl"
$CHK same "$T/one" "$T/bad" 3 >"$T/c" && fail "a duplicated manifest entry passed"
grep -q "FAILED: the manifests differ" "$T/c" && grep -q "each of 0..2 once: False" "$T/c" || fail "duplicate: $(cat "$T/c")"
# LPD: the tiny shape renders through hart batch
expect 0 "" "$GEN" lpd "$T/l" --model tiny --size 128
expect 0 "1 rendered" "$BIN" batch -m "$T/l/lpd.safetensors" --vq "$T/l/vq.safetensors" \
  --group-sizes 1,2,3,5,7,9,11,12,14 --classes 3 -o "$T/lo"
echo "PASS"
