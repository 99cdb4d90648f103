#!/bin/sh
# hart batch on benchmark prompt sets: MJHQ-30K's meta_data.json (images
# DIR/<category>/<id>.png, --category filters, an id's image the same with
# or without the filter) and GenEval's evaluation_metadata.jsonl
# (--layout geneval: DIR/<prompt %05d>/samples/<copy %04d>.png and the
# prompt's line as DIR/<prompt %05d>/metadata.jsonl), and bad files.
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
cat > "$T/meta_data.json" <<'J'
{"3c0b8f": {"prompt": "a fox in the snow", "category": "animals"},
 "9a11d2": {"prompt": "portrait of an old sailor", "category": "people"},
 "77e0aa": {"prompt": "a lighthouse at dusk", "category": "landscape"},
 "05bb41": {"prompt": "a child with a kite", "category": "people"}}
J
expect 0 "2 rendered" "$BIN" batch "$T/meta_data.json" -m "$D" -o "$T/mj" --category people
[ -s "$T/mj/people/9a11d2.png" ] && [ -s "$T/mj/people/05bb41.png" ] || fail "category layout: $(find "$T/mj")"
[ ! -e "$T/mj/animals" ] || fail "a filtered-out category was created"
grep -q '"file":"people/05bb41.png","seed":3,' "$T/mj/manifest.jsonl" || fail "seed of entry 3: $(cat "$T/mj/manifest.jsonl")"
# another filter on the same folder is another job: refused
expect 1 "categories: people -> people,animals" "$BIN" batch "$T/meta_data.json" -m "$D" -o "$T/mj" --category people,animals
expect 1 "no prompt has category 'plants'" "$BIN" batch "$T/meta_data.json" -m "$D" -o "$T/x" --category plants
grep -q "animals,people,landscape" "$T/err" || fail "categories not listed: $(cat "$T/err")"
# everything: the people images are the filtered run's (seeds follow the file, not the filter)
expect 0 "4 rendered" "$BIN" batch "$T/meta_data.json" -m "$D" -o "$T/all"
for f in people/9a11d2.png people/05bb41.png; do cmp -s "$T/mj/$f" "$T/all/$f" || fail "$f depends on the filter"; done
[ -s "$T/all/landscape/77e0aa.png" ] || fail "landscape image missing"
expect 0 "" "$BIN" generate -m "$D" -p "a lighthouse at dusk" --seed 2 -o "$T/g.png"
[ "$(python3 tests/cli/png_maxdiff.py "$T/g.png" "$T/all/landscape/77e0aa.png")" = 0 ] || fail "MJHQ image 2 is not generate --seed 2"
# --layout flat: ids as names in one folder
expect 0 "4 rendered" "$BIN" batch "$T/meta_data.json" -m "$D" -o "$T/flat" --layout flat
[ -s "$T/flat/3c0b8f.png" ] || fail "flat layout: $(ls "$T/flat")"
printf '{"x": {"prompt": 5}}' > "$T/bad.json"
expect 1 "entry \"x\"" "$BIN" batch "$T/bad.json" -m "$D" -o "$T/x"
printf '{"x": {"prompt": "p", "category": "../up"}}' > "$T/bad.json"
expect 1 "folder name" "$BIN" batch "$T/bad.json" -m "$D" -o "$T/x"

# GenEval
printf '%s\n' '{"tag": "single_object", "include": [{"class": "bench", "count": 1}], "prompt": "a photo of a bench"}' \
  '{"tag": "counting", "include": [{"class": "cat", "count": 2}], "exclude": [{"class": "cat", "count": 3}], "prompt": "a photo of two cats"}' \
  > "$T/evaluation_metadata.jsonl"
expect 0 "4 rendered" "$BIN" batch "$T/evaluation_metadata.jsonl" -m "$D" -o "$T/ge" --layout geneval -n 2
for p in 00000 00001; do
  for s in 0000 0001; do [ -s "$T/ge/$p/samples/$s.png" ] || fail "geneval: $(find "$T/ge")"; done
done
sed -n 2p "$T/evaluation_metadata.jsonl" | cmp -s - "$T/ge/00001/metadata.jsonl" || fail "metadata.jsonl: $(cat "$T/ge/00001/metadata.jsonl")"
# only the counting prompts (GenEval's tag is a category), numbered as in the file
expect 0 "2 rendered" "$BIN" batch "$T/evaluation_metadata.jsonl" -m "$D" -o "$T/gc" --layout geneval -n 2 --category counting
[ -s "$T/gc/00001/samples/0001.png" ] && [ ! -e "$T/gc/00000" ] || fail "geneval filter: $(find "$T/gc")"
cmp -s "$T/ge/00001/samples/0001.png" "$T/gc/00001/samples/0001.png" || fail "geneval image depends on the filter"
printf '{"prompt": "x"}\n' > "$T/nocat.jsonl"
expect 1 "has no category" "$BIN" batch "$T/nocat.jsonl" -m "$D" -o "$T/x" --layout category
echo "test_batch_sets: ok"
