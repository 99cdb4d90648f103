#!/bin/sh
# tools/yardstick/check.py (prompt-adherence checker, stdlib only) on dataset
# images whose content is known from the generator (samples/inputs: rendered by
# tools/dataset/shapes.py, seed 2026; captions.jsonl holds their captions):
# every attribute must be read back; a wrong prompt must be reported; bad input
# must give exit 2 with a message.
set -u
. tests/cli/lib.sh
C="python3 tools/yardstick/check.py"
$C --jsonl samples/inputs/captions.jsonl >"$T/out" 2>&1 || { cat "$T/out"; fail "dataset images not read back"; }
grep -q "^all *100.0 %" "$T/out" || fail "expected 100 % on dataset images: $(cat "$T/out")"
# each attribute changed in turn must be caught (shape_3: a green box at the top right on black)
img=samples/inputs/shape_3.png
$C "$img" "a medium sized green box at the top right on a black background" >/dev/null || fail "true prompt rejected"
for wrong in "a medium sized red box at the top right on a black background:colour" \
             "a medium sized green circle at the top right on a black background:shape" \
             "a medium sized green box at the bottom left on a black background:position" \
             "a large green box at the top right on a black background:size" \
             "a medium sized green box at the top right on a white background:background"; do
  p=${wrong%:*}; attr=${wrong##*:}
  expect 1 "" $C "$img" "$p"
  grep -q "^$attr *BAD" "$T/out" || fail "wrong $attr not reported for '$p': $(cat "$T/out")"
done
printf 'not a png' >"$T/x.png"
expect 2 "not a PNG" $C "$T/x.png" "a red circle in the center on a blue background"
expect 2 "no background phrase" $C "$img" "a fox in the snow"
expect 2 "missing PROMPT" $C "$img"
echo "ok: check.py"
