#!/bin/sh
# hart batch: numbered files + manifest, resume after a kill (missing files
# only are rendered), equality with `hart generate --seed`, JSONL names and
# seeds, sharding, and the error paths (bad prompt file, unwritable folder,
# missing flags).
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
MAXDIFF="python3 tests/cli/png_maxdiff.py"
. "$(dirname "$0")/lib.sh" # $T, fail, expect
printf 'a red fox\n# a comment\n\na blue house\n' > "$T/p.txt"

expect 0 "" "$BIN" batch --help
grep -q -- "--per-prompt" "$T/out" || fail "help lacks --per-prompt"
expect 2 "model" "$BIN" batch "$T/p.txt" -o "$T/o"
expect 2 "output" "$BIN" batch "$T/p.txt" -m "$D"
expect 2 "--shard" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/o" --shard 3/2
# out-of-range numbers were undefined behaviour in sscanf's %d
for bad in 0/99999999999 99999999999/1 1/ /2 1/2x -1/2 " 1/2" 0/0; do
  expect 2 "invalid value '$bad' for --shard" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/o" --shard "$bad"
done
expect 1 "nope.txt" "$BIN" batch "$T/nope.txt" -m "$D" -o "$T/o"
printf '{"prompt": "ok"}\n{"prompt": 5}\n' > "$T/bad.jsonl"
expect 1 "bad.jsonl:2" "$BIN" batch "$T/bad.jsonl" -m "$D" -o "$T/o"
printf 'ok\n\377\376 not utf-8\n' > "$T/bad.txt"
expect 1 "UTF-8" "$BIN" batch "$T/bad.txt" -m "$D" -o "$T/o"
mkdir "$T/ro" && chmod a-w "$T/ro"
if [ "$(id -u)" != 0 ]; then expect 1 "not writable" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/ro"; fi
expect 1 "cannot create" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/p.txt/sub"

# 2 prompts x 2 copies -> 00000..00003, seeds 7..10
expect 0 "4 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/o" -n 2 --seed 7
for i in 0 1 2 3; do [ -s "$T/o/0000$i.png" ] || fail "missing 0000$i.png"; done
[ "$(grep -c "\"index\"" "$T/o/manifest.jsonl")" = 4 ] || fail "manifest should have 4 entries"
grep -q '"file":"00003.png","seed":10,"prompt":"a blue house"' "$T/o/manifest.jsonl" || fail "manifest line 4: $(cat "$T/o/manifest.jsonl")"
# image 3 is `hart generate` of its prompt with its seed
expect 0 "" "$BIN" generate -m "$D" -p "a blue house" --seed 10 -o "$T/g.png"
[ "$($MAXDIFF "$T/g.png" "$T/o/00003.png")" = 0 ] || fail "batch image 3 differs from hart generate --seed 10"
[ "$($MAXDIFF "$T/o/00002.png" "$T/o/00003.png")" != 0 ] || fail "copies with different seeds are identical"
# resume: a killed run leaves complete files only; rerun renders what is missing
cp "$T/o/00001.png" "$T/keep.png"
rm "$T/o/00001.png"
expect 0 "1 rendered, 3 already present" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/o" -n 2 --seed 7
[ "$($MAXDIFF "$T/keep.png" "$T/o/00001.png")" = 0 ] || fail "re-rendered image differs"
[ "$(grep -c "\"index\"" "$T/o/manifest.jsonl")" = 4 ] || fail "manifest grew on resume: $(cat "$T/o/manifest.jsonl")"
ls "$T/o" | grep -q tmp && fail "temporary files left behind"

# JSONL: names and per-prompt seeds; duplicate names refused
printf '{"prompt": "a cat", "name": "cat", "seed": 42}\n{"prompt": "a dog"}\n' > "$T/p.jsonl"
expect 0 "2 rendered" "$BIN" batch "$T/p.jsonl" -m "$D" -o "$T/j" -f jpg
[ -s "$T/j/cat.jpg" ] && [ -s "$T/j/00001.jpg" ] || fail "jsonl names: $(ls "$T/j")"
grep -q '"file":"cat.jpg","seed":42' "$T/j/manifest.jsonl" || fail "jsonl seed not used"
printf '{"prompt": "a", "name": "x"}\n{"prompt": "b", "name": "x"}\n' > "$T/dup.jsonl"
expect 1 "also used on line 1" "$BIN" batch "$T/dup.jsonl" -m "$D" -o "$T/d"

# shards: 1/2 renders the odd indices only, into its own manifest
expect 0 "2 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/s" -n 2 --seed 7 --shard 1/2
[ -s "$T/s/00001.png" ] && [ -s "$T/s/00003.png" ] && [ ! -e "$T/s/00000.png" ] || fail "shard files: $(ls "$T/s")"
[ -s "$T/s/manifest.1-of-2.jsonl" ] || fail "shard manifest missing"
[ "$($MAXDIFF "$T/s/00003.png" "$T/o/00003.png")" = 0 ] || fail "sharded image differs from the unsharded one"
echo "test_batch: ok"
