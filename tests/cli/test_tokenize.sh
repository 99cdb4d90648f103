#!/bin/sh
# hart tokenize on the bundled real Qwen2 vocabulary; expected ids are from
# tests/data/tokenizer/qwen2_vectors.json (HF tokenizers), not from hart.c.
set -u
BIN=${HART_BIN:-bin/hart}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
if ! xz -dc tests/data/tokenizer/qwen2_vl_tokenizer.json.xz > "$d/tokenizer.json"; then
  echo "test_tokenize: cannot decompress the bundled vocabulary (xz missing?)"; exit 1
fi
fail=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2' got '$3'"; fail=1; fi
}
check "ascii" "9707 1879 0 2585 525 498 30" "$("$BIN" tokenize --text-model "$d" "Hello world! How are you?")"
check "joined args" "64 6548 315 264 8251" "$("$BIN" tokenize --text-model "$d" a photo of a cat)"
check "specials" "15144 220 151644 872 198 6023 151645 323 220 151643 4766" \
  "$(printf 'special <|im_start|>user\nhi<|im_end|> and <|endoftext|> inside' | "$BIN" tokenize --tokenizer "$d/tokenizer.json" -)"
check "count" "5" "$("$BIN" tokenize --text-model "$d" --count a photo of a cat)"
check "decode" "Hello world! How are you?" "$("$BIN" tokenize --text-model "$d" --decode 9707 1879 0 2585 525 498 30)"
check "decode skip" "hi" "$("$BIN" tokenize --text-model "$d" --decode --skip-special 151644 6023 151645)"
out=$("$BIN" tokenize --text-model "$d" --hart --max-len 8 a photo of a cat)
check "hart ids" "ids: 64 6548 315 264 8251 151643 151643 151643" "$(echo "$out" | sed -n 1p)"
check "hart mask" "mask: 1 1 1 1 1 0 0 0" "$(echo "$out" | sed -n 2p)"
check "hart pos" "position_ids: 0 1 2 3 4 4 4 4" "$(echo "$out" | sed -n 3p)"
# errors: clear message, non-zero exit, no crash
"$BIN" tokenize --text-model "$d" "$(printf 'bad \377 byte')" 2>"$d/err"; rc=$?
check "invalid utf-8 exit" "1" "$rc"
grep -q "not valid UTF-8" "$d/err" || { echo "FAIL invalid utf-8 message: $(cat "$d/err")"; fail=1; }
"$BIN" tokenize --text-model /nonexistent "x" 2>"$d/err"; rc=$?
check "missing model exit" "1" "$rc"
grep -q "/nonexistent/tokenizer.json" "$d/err" || { echo "FAIL missing model message: $(cat "$d/err")"; fail=1; }
"$BIN" tokenize "x" 2>/dev/null; check "no model exit" "2" "$?"
"$BIN" tokenize --text-model "$d" --decode 12 abc 2>/dev/null; check "bad id exit" "2" "$?"
"$BIN" tokenize --text-model "$d" --decode 999999999 2>/dev/null; check "unknown id exit" "1" "$?"
"$BIN" tokenize --text-model "$d" --max-len 0 x 2>/dev/null; check "bad max-len exit" "2" "$?"
exit $fail
