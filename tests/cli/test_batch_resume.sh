#!/bin/sh
# hart batch resume that can be trusted: a run killed with SIGKILL mid-way,
# then a torn manifest line, a truncated image and a stale temporary file
# added by hand; the rerun repairs them and the folder ends up byte for byte
# the same as an uninterrupted run's (images and manifest). Other settings
# or an edited prompt file are refused (with the differences named) unless
# --force; a second run on a busy folder is refused.
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
entries() { c=$(grep -c '"index"' "$1" 2>/dev/null); echo "${c:-0}"; }
i=0
while [ $i -lt 10 ]; do echo "prompt number $i, a small house" >> "$T/p.txt"; i=$((i + 1)); done

expect 0 "10 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/ref" --seed 3

# kill -9 once the first image is listed
"$BIN" batch "$T/p.txt" -m "$D" -o "$T/run" --seed 3 -q 2>"$T/bg.err" &
pid=$!
n=0
while [ "$(entries "$T/run/manifest.jsonl")" -lt 1 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
done_before=$(entries "$T/run/manifest.jsonl")
[ "$done_before" -ge 1 ] && [ "$done_before" -lt 10 ] || fail "kill came too late or too early: $done_before entries"
# every image there is whole: the writes are atomic
for f in "$T"/run/*.png; do python3 tests/cli/png_maxdiff.py "$f" "$f" >/dev/null || fail "$f is damaged after the kill"; done

# damage by hand: a torn last line, a truncated image, a stale temporary
printf '{"index":7,"file":"000' >> "$T/run/manifest.jsonl"
head -c 100 "$T/ref/00000.png" > "$T/run/00000.png"
echo half > "$T/run/00004.png.tmp.99999"
expect 0 "rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/run" --seed 3
grep -q "dropped 1 damaged line" "$T/err" || fail "torn line not reported: $(cat "$T/err")"
grep -q "00000.png: .*rendering it again" "$T/err" || fail "truncated image not reported: $(cat "$T/err")"
grep -q "removed 1 temporary file" "$T/err" || fail "stale temporary not reported: $(cat "$T/err")"
[ ! -e "$T/run/00004.png.tmp.99999" ] || fail "stale temporary left"
for k in 0 1 2 3 4 5 6 7 8 9; do
  cmp -s "$T/ref/0000$k.png" "$T/run/0000$k.png" || fail "image $k differs from the uninterrupted run"
done
cmp -s "$T/ref/manifest.jsonl" "$T/run/manifest.jsonl" || fail "manifest differs: $(diff "$T/ref/manifest.jsonl" "$T/run/manifest.jsonl")"
expect 0 "0 rendered, 10 already present" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/run" --seed 3

# other settings, another seed, an edited prompt file: refused, named
expect 1 "cfg: 4.5 -> 3" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/run" --seed 3 --cfg 3
grep -q -- "--force" "$T/err" || fail "no hint at --force: $(cat "$T/err")"
expect 1 "seed: 3 -> 4" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/run" --seed 4
sed 's/number 5,/number five,/' "$T/p.txt" > "$T/p2.txt"
expect 1 "prompt set" "$BIN" batch "$T/p2.txt" -m "$D" -o "$T/run" --seed 3
# --force: only the changed prompt's image is rendered again
expect 0 "1 rendered, 9 already present" "$BIN" batch "$T/p2.txt" -m "$D" -o "$T/run" --seed 3 --force
grep -q '"prompt":"prompt number five, a small house"' "$T/run/manifest.jsonl" || fail "manifest not updated"
cmp -s "$T/ref/00005.png" "$T/run/00005.png" && fail "image 5 was kept although its prompt changed"
# images without a manifest are not taken as this job's
rm "$T/run/manifest.jsonl"
expect 1 "no manifest" "$BIN" batch "$T/p2.txt" -m "$D" -o "$T/run" --seed 3

# one run per folder: a second one is refused while the first holds the lock
"$BIN" batch "$T/p.txt" -m "$D" -o "$T/busy" --seed 3 -q 2>/dev/null &
pid=$!
n=0
while [ ! -e "$T/busy/manifest.jsonl" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
expect 1 "another hart batch is running" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/busy" --seed 3
kill $pid 2>/dev/null
wait $pid 2>/dev/null
echo "test_batch_resume: ok"
