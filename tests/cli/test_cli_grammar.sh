#!/bin/sh
# One grammar for every command (issue 19): --flag=value and "--" in generate
# and tokenize, -s for --seed, --seed -1 / no seed (random, printed), checks
# before any work (unwritable output, missing -m folder, invalid UTF-8 line),
# batch from stdin, --negative-prompt ("" = the golden null context exactly;
# a prompt changes the image, deterministically), --grid (sheet size), -d auto
# naming its choice, the progress line only when asked for / on a terminal.
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
[ -d "$D/text_encoder" ] || { echo "SKIP: $D not found"; exit 77; }
same() { # a.png b.png: 0 levels apart
  d=$(python3 tests/cli/png_maxdiff.py "$1" "$2") || fail "png compare failed: $d"
  [ "$d" -eq 0 ] || fail "$1 and $2 differ by $d levels"
}
differ() {
  d=$(python3 tests/cli/png_maxdiff.py "$1" "$2") || fail "png compare failed: $d"
  [ "$d" -gt 0 ] || fail "$1 and $2 are the same image"
}
png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1"; }

# --- grammar: --flag=value, --, -s, one help style ---
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed 5 -o "$T/base.png"
grep -q "^wrote $T/base.png (seed 5)$" "$T/out" || fail "generate does not say what it wrote: $(cat "$T/out")"
grep -q "^1 image in [0-9.]* s$" "$T/out" || fail "generate does not print the time taken: $(cat "$T/out")"
expect 0 "" "$BIN" generate --model="$D" --prompt="a photo of a cat" --seed=5 --output="$T/eq.png"
same "$T/base.png" "$T/eq.png"
expect 0 "" "$BIN" generate -m "$D" -s 5 -o "$T/s.png" -- "a photo of a cat"
same "$T/base.png" "$T/s.png"
expect 0 "" "$BIN" generate -m "$D" -s5 -o "$T/dash.png" -- "-v is a prompt here"
grep -q -- "-v is a prompt here" "$T/dash.png" || fail "prompt after -- not used"
expect 2 "give the prompt once" "$BIN" generate -m "$D" -p x y
expect 2 "unknown option '--bogus'" "$BIN" generate -m "$D" --bogus=1 x
expect 2 "invalid value 'x' for --seed" "$BIN" generate -m "$D" -s x y
expect 2 "invalid value '-2' for --seed" "$BIN" generate -m "$D" --seed=-2 y
expect 0 "" "$BIN" generate --help
grep -q -- "-s, --seed N" "$T/out" || fail "generate --help lacks -s, --seed"
grep -q "^usage: hart generate" "$T/out" || fail "generate --help not in the args.c style"
for c in generate batch; do
  "$BIN" $c --help > "$T/h_$c" || fail "$c --help"
  grep -- "--top-k N" "$T/h_$c" | sed 's/^ *//' > "$T/k_$c"
done
cmp -s "$T/k_generate" "$T/k_batch" || fail "--top-k help differs: $(cat "$T/k_generate" "$T/k_batch")"
grep -q "0: 600 below scale 7" "$T/k_generate" || fail "--top-k 0 not documented as the reference schedule"
for f in "-d, --device" "-m, --model" "-o, --output" "-v, --verbose" "-q, --quiet"; do
  a=$(grep -- "$f" "$T/h_generate" | sed 's/\[default.*//'); b=$(grep -- "$f" "$T/h_batch" | sed 's/\[default.*//')
  [ -n "$a" ] || fail "generate --help lacks $f"
  [ "${f#-o}" != "$f" ] || [ "$a" = "$b" ] || fail "'$f' differs between generate and batch: '$a' vs '$b'"
done
# tokenize: --flag=value and -- (a text that looks like an option)
expect 0 "" "$BIN" tokenize --text-model="$D/text_encoder" --max-len=4 --hart a cat
grep -q "^ids: [0-9]* [0-9]* [0-9]* [0-9]*$" "$T/out" || fail "tokenize --max-len=4: $(cat "$T/out")"
expect 0 "" "$BIN" tokenize --text-model "$D/text_encoder" -- --count
n=$(wc -w < "$T/out"); [ "$n" -gt 1 ] || fail "tokenize -- --count: '--count' was taken as an option"
expect 2 "--max-len" "$BIN" tokenize --text-model "$D/text_encoder" --max-len=0 x

# --- seeds: -1 and no seed pick a random one and print it; it repeats the run ---
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed -1 -o "$T/r.png"
seed=$(sed -n 's/.*seed \([0-9]*\) (random.*/\1/p' "$T/err")
[ -n "$seed" ] || fail "--seed -1 printed no seed: $(cat "$T/err")"
grep -q "seed: $seed" "$T/r.png" || fail "random seed $seed not in the PNG metadata"
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" --seed "$seed" -o "$T/r2.png"
same "$T/r.png" "$T/r2.png"
expect 0 "(random" "$BIN" generate -m "$D" -p "a photo of a cat" -o "$T/r3.png"
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -q -o "$T/q.png"
[ ! -s "$T/err" ] && [ ! -s "$T/out" ] || fail "-q printed: $(cat "$T/out" "$T/err")"

# --- checks before work ---
mkdir -p "$T/fake/text_encoder" "$T/fake/llm"  # loading this would fail: the path error must come first
expect 1 "folder '$T/missing' does not exist" "$BIN" generate -m "$T/fake" -p x -o "$T/missing/a.png"
expect 1 "--grid $T/missing/g.png" "$BIN" generate -m "$T/fake" -p x -o "$T/a.png" --grid "$T/missing/g.png"
expect 1 "cannot create output folder" "$BIN" batch "$T/p.txt" -m "$T/fake" -o "$T/missing/sub"
expect 1 "model folder '$T/nomodel' not found" "$BIN" generate -m "$T/nomodel" -p x -o "$T/a.png"
expect 1 "model folder '$T/nomodel' not found" "$BIN" batch "$T/p.txt" -m "$T/nomodel" -o "$T/o"
touch "$T/afile"
expect 1 "model folder '$T/afile' is not a folder" "$BIN" generate -m "$T/afile" -p x -o "$T/a.png"
printf 'a red fox\n# comment\n\377 not utf-8\n' > "$T/bad.txt"
expect 1 "bad.txt:3: not valid UTF-8" "$BIN" batch "$T/bad.txt" -m "$D" -o "$T/o"
printf 'a red fox\n\300\200\n' | "$BIN" batch - -m "$D" -o "$T/o" 2>"$T/err" && fail "stdin with invalid UTF-8 accepted"
grep -q "(stdin):2: not valid UTF-8" "$T/err" || fail "stdin UTF-8 error: $(cat "$T/err")"

# --- batch from stdin: same images as generate --seed ---
printf 'a red fox\na blue house\n' | "$BIN" batch - -m "$D" -o "$T/sb" --seed=7 2>"$T/err" || fail "batch -: $(cat "$T/err")"
grep -q "2 rendered" "$T/err" || fail "batch - did not render 2: $(cat "$T/err")"
expect 0 "" "$BIN" generate -m "$D" -p "a blue house" -s 8 -o "$T/house.png"
same "$T/sb/00001.png" "$T/house.png"
expect 0 "base seed" "$BIN" batch "$T/sb/manifest.jsonl" -m "$D" -o "$T/sr" --seed -1 -n 1 --digits 2
rm -f "$T/sb/manifest.jsonl"

# --- --negative-prompt ---
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -s 5 --negative-prompt "" -o "$T/n0.png"
same "$T/base.png" "$T/n0.png"   # "" = the null context: today's (golden) path exactly
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -s 5 --negative-prompt "blurry, dark" -o "$T/n1.png"
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -s 5 --negative-prompt="blurry, dark" -o "$T/n2.png"
differ "$T/base.png" "$T/n1.png"
same "$T/n1.png" "$T/n2.png"
grep -q "negative_prompt: blurry, dark" "$T/n1.png" || fail "negative prompt not in the PNG metadata"
printf 'a photo of a cat\n' | "$BIN" batch - -m "$D" -o "$T/nb" -s 5 --negative-prompt "blurry, dark" -b 2 2>"$T/err" ||
  fail "batch --negative-prompt: $(cat "$T/err")"
same "$T/nb/00000.png" "$T/n1.png"
expect 2 "--negative-prompt needs -p" "$BIN" generate -m "$D" --context c.safetensors --negative-prompt x

# --- --grid: 3 images of 32x32 -> 2 x 2 cells of 32 x (32 + 7) ---
expect 0 "" "$BIN" generate -m "$D" -p "a photo of a cat" -s 7 -n 3 -o "$T/g.png" --grid "$T/sheet.png"
[ "$(png_size "$T/sheet.png")" = "64x78" ] || fail "grid size $(png_size "$T/sheet.png"), expected 64x78"
[ "$(png_size "$T/g_0.png")" = "32x32" ] || fail "image size $(png_size "$T/g_0.png")"
grep -q "^wrote $T/sheet.png (grid of 3 images)$" "$T/out" || fail "grid not reported: $(cat "$T/out")"
printf 'a red fox\na blue house\n' > "$T/p2.txt"
expect 0 "" "$BIN" batch "$T/p2.txt" -m "$D" -o "$T/gb" -n 2 --seed 10 --grid "$T/bsheet.png"
[ "$(png_size "$T/bsheet.png")" = "64x78" ] || fail "batch grid size $(png_size "$T/bsheet.png"), expected 64x78"
expect 2 "--grid" "$BIN" generate -m "$D" -p x --grid "$T/sheet.gif"

# --- -d auto names its choice; progress only on a terminal (HART_PROGRESS=1 forces it) ---
expect 0 "device: " "$BIN" generate -m "$D" -p x -s 1 -d auto -o "$T/auto.png"
if grep -q "$(printf '\r')" "$T/err"; then fail "progress drawn while stderr is not a terminal"; fi
HART_PROGRESS=1 "$BIN" generate -m "$D" -p x -s 1 -o "$T/pr.png" >/dev/null 2>"$T/err" || fail "progress run"
grep -q "scale 1/" "$T/err" || fail "no progress line with HART_PROGRESS=1: $(cat "$T/err")"
echo "ok"
