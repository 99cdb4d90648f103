#!/bin/sh
# hart generate: flag errors, bad inputs, and (when the tokenizer is in the
# build) a replayed golden run that must write both PNGs and the trace.
BIN=${HART_BIN:-bin/hart}
G=${HART_GOLDEN:-../shared/golden}/hart-tiny-a
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expected-rc message-substring command...
  want=$1; sub=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  [ $rc = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err")"
  [ -z "$sub" ] || grep -q -- "$sub" "$T/err" || fail "'$*': no '$sub' in: $(cat "$T/err")"
}
expect 0 "" "$BIN" generate --help
grep -q -- "--context" "$T/out" || fail "help lacks --context"
expect 2 "model" "$BIN" generate --context x.safetensors
expect 2 "--seed" "$BIN" generate -m m --context c --seed abc
expect 2 "--top-p" "$BIN" generate -m m --context c --top-p 2
expect 2 "unknown option" "$BIN" generate -m m --context c --bogus
expect 2 "needs a value" "$BIN" generate -m m --context
expect 2 "exclusive" "$BIN" generate -m m --context c -p hi
expect 1 "nope.safetensors" "$BIN" generate -m "$G" --context "$T/nope.safetensors" -o "$T/a.png"
printf 'not a safetensors file' > "$T/bad.safetensors"
expect 1 "bad.safetensors" "$BIN" generate -m "$G" --context "$T/bad.safetensors" -o "$T/a.png"
# text path with the bundled demo model (when the text encoder is in the build)
D=models/hart-tiny-demo
if [ -d "$D/text_encoder" ]; then
  "$BIN" generate -m "$D" -p "a red cube on a table" --seed 5 -o "$T/p.png" 2>"$T/err"; rc=$?
  if [ $rc != 0 ] && grep -q "not in this build" "$T/err"; then
    echo "text encoder not in this build; skipping the prompt run"
  else
    [ $rc = 0 ] || fail "prompt run failed: $(cat "$T/err")"
    [ -s "$T/p.png" ] || fail "prompt image not written"
    grep -q "a red cube on a table" "$T/p.png" || fail "prompt not in the PNG metadata"
    expect 1 "tokenizer.json" "$BIN" generate -m "$D" -p "x" --text-model "$T" -o "$T/q.png"
  fi
fi
[ -d "$G" ] || { echo "golden set not found; skipping runs"; exit 0; }
expect 1 "llm" "$BIN" generate -m "$T" --context "$G/golden.safetensors" -o "$T/a.png"
"$BIN" generate -m "$G" --context "$G/golden.safetensors" --replay "$G/golden.safetensors" \
  --dump "$T/trace.safetensors" -o "$T/img.png" 2>"$T/err"; rc=$?
if [ $rc != 0 ] && grep -q "not in this build" "$T/err"; then
  echo "tokenizer not in this build; skipping the replayed run"; exit 0
fi
[ $rc = 0 ] || fail "replayed run failed: $(cat "$T/err")"
[ -s "$T/img_0.png" ] && [ -s "$T/img_1.png" ] || fail "images not written"
[ -s "$T/trace.safetensors" ] || fail "trace not written"
grep -q "parameters" "$T/img_0.png" || fail "no parameters text chunk"
ls "$T" | grep -q tmp && fail "temporary files left behind"
echo "ok"
