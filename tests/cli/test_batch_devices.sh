#!/bin/sh
# hart batch --devices: one worker process per device on one folder gives
# the same files, byte for byte, and the same manifest (each image once,
# sorted) as a one-device run; on CPU (cpu,cpu) always, and on OpenCL
# (opencl:0:0 twice, e.g. PoCL) where a device exists. Shards (--shard I/N)
# into one folder, then --merge: the merged manifest equals the one-device
# run's; shards in two folders merge with absolute names; a missing shard,
# a duplicate and a bad --devices list are reported. LPD batches too.
BIN=${HART_BIN:-bin/hart}
D=models/hart-tiny-demo
. "$(dirname "$0")/lib.sh" # $T, fail, expect
printf 'a red fox\na blue house\na green tree\n' > "$T/p.txt"
same_dirs() { # same_dirs A B: every file of A (images, manifest) equal in B
  for f in "$1"/*.png "$1"/manifest.jsonl; do
    cmp -s "$f" "$2/$(basename "$f")" || fail "$(basename "$f") differs between $1 and $2"
  done
  [ "$(ls "$1" | grep -c png)" = "$(ls "$2" | grep -c png)" ] || fail "$1 and $2 hold different numbers of images"
}
near_dirs() { # near_dirs A B: same manifest, images within one level (other device batches)
  cmp -s "$1/manifest.jsonl" "$2/manifest.jsonl" || fail "manifests differ: $(diff "$1/manifest.jsonl" "$2/manifest.jsonl")"
  for f in "$1"/*.png; do
    d=$(python3 tests/cli/png_maxdiff.py "$f" "$2/$(basename "$f")") || fail "maxdiff $f"
    [ "$d" -le 1 ] || fail "$(basename "$f") differs by $d levels"
  done
}

expect 2 "not a device" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/x" --devices cpu,gpu9
expect 2 "exclusive" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/x" --devices cpu,cpu --device cpu
expect 0 "6 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/one" -n 2 --seed 5 -b 2
expect 0 "6 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/two" -n 2 --seed 5 -b 2 --devices cpu,cpu
same_dirs "$T/one" "$T/two"
[ "$(grep -c '"index"' "$T/two/manifest.jsonl")" = 6 ] || fail "manifest: $(cat "$T/two/manifest.jsonl")"
# three workers, a resume after removing two images: they now share one
# device batch (1 and 4 instead of 0+1 and 4+5), which moves pixels by at
# most one level (docs/batch.md; test_generate_batch.sh measures 0-1)
rm "$T/two/00001.png" "$T/two/00004.png"
expect 0 "2 rendered, 4 already present" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/two" -n 2 --seed 5 -b 2 --devices cpu,cpu,cpu
for k in 1 4; do
  d=$(python3 tests/cli/png_maxdiff.py "$T/one/0000$k.png" "$T/two/0000$k.png") || fail "maxdiff $k"
  [ "$d" -le 1 ] || fail "resumed image $k differs by $d levels"
done
cmp -s "$T/one/manifest.jsonl" "$T/two/manifest.jsonl" || fail "manifest differs after the resume"

# OpenCL (PoCL on CI): two workers on the one device against one worker there
if "$BIN" info 2>/dev/null | grep -q "device opencl:0:0"; then
  head -n 2 "$T/p.txt" > "$T/p3.txt"
  expect 0 "2 rendered" "$BIN" batch "$T/p3.txt" -m "$D" -o "$T/cl1" --seed 5 --device opencl:0:0
  expect 0 "2 rendered" "$BIN" batch "$T/p3.txt" -m "$D" -o "$T/cl2" --seed 5 --devices opencl:0:0,opencl:0:0
  same_dirs "$T/cl1" "$T/cl2"
  expect 0 "2 rendered" "$BIN" batch "$T/p3.txt" -m "$D" -o "$T/cl3" --seed 5 --devices all
  same_dirs "$T/cl1" "$T/cl3"
  echo "  opencl: two workers on opencl:0:0 and --devices all equal one"
else
  echo "SKIP: no OpenCL device: the opencl:0:0 part (CPU workers were tested)"
fi

# LPD class-to-image batches (the golden lpd-tiny-a model): two CPU workers, same files and npz
G=${HART_GOLDEN:-tests/data/golden}/lpd-tiny-a
if [ -d "$G" ]; then
  L="-m $G/lpd.pth --vq $G/vq.pt --group-sizes 1,2,3,4,6,8,10,12,18 --classes 0-2 -n 2 --seed 10"
  expect 0 "6 rendered" "$BIN" batch $L -o "$T/lp1" --npz "$T/lp1.npz"
  expect 0 "6 rendered" "$BIN" batch $L -o "$T/lp2" --npz "$T/lp2.npz" --devices cpu,cpu
  same_dirs "$T/lp1" "$T/lp2"
  cmp -s "$T/lp1.npz" "$T/lp2.npz" || fail "LPD npz differs between one and two workers"
  expect 1 "cfg: " "$BIN" batch $L -o "$T/lp2" --cfg 2
  echo "  lpd: two workers equal one"
else
  echo "SKIP: golden set lpd-tiny-a not found: the LPD part"
fi

# shards into one folder, then merge: the one-device manifest, byte for byte
expect 0 "3 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/sh" -n 2 --seed 5 -b 2 --shard 1/2
expect 1 "3 missing" "$BIN" batch --merge "$T/sh"
grep -q "missing: image 0 " "$T/err" || fail "missing images not listed: $(cat "$T/err")"
[ ! -e "$T/sh/manifest.jsonl" ] || fail "an incomplete merge wrote a manifest"
expect 0 "3 rendered" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/sh" -n 2 --seed 5 -b 2 --shard 0/2
expect 0 "6 of 6 images" "$BIN" batch --merge "$T/sh"
near_dirs "$T/one" "$T/sh" # the shards batch 0+2, 4+6, ... where one batched 0+1, 2+3, ...
# a merged folder resumes as a one-device run
expect 0 "0 rendered, 6 already present" "$BIN" batch "$T/p.txt" -m "$D" -o "$T/sh" -n 2 --seed 5
# shards in two folders (two machines without a shared disk: the shards copied apart)
mkdir "$T/m0" "$T/m1"
cp "$T/sh/manifest.0-of-2.jsonl" "$T/sh/00000.png" "$T/sh/00002.png" "$T/sh/00004.png" "$T/m0/"
cp "$T/sh/manifest.1-of-2.jsonl" "$T/sh/00001.png" "$T/sh/00003.png" "$T/sh/00005.png" "$T/m1/"
expect 0 "6 of 6 images" "$BIN" batch --merge "$T/m0" "$T/m1" -o "$T/m0/manifest.jsonl"
grep -q "\"file\":\"00000.png\"" "$T/m0/manifest.jsonl" || fail "local names: $(cat "$T/m0/manifest.jsonl")"
grep -q "\"file\":\"/.*/m1/00001.png\"" "$T/m0/manifest.jsonl" || fail "other folder's names: $(cat "$T/m0/manifest.jsonl")"
# the same shard twice: duplicates
cp "$T/m1/manifest.1-of-2.jsonl" "$T/m0/"
expect 1 "3 duplicate" "$BIN" batch --merge "$T/m0" "$T/m1" -o "$T/m0/manifest.jsonl"
# shards of another job (here: another base seed in the header) are not mixed in
mkdir "$T/o1"
sed '1s/"seed":"5"/"seed":"6"/' "$T/m1/manifest.1-of-2.jsonl" > "$T/o1/manifest.1-of-2.jsonl"
expect 1 "not shards of one job: seed: 5 -> 6" "$BIN" batch --merge "$T/m1" "$T/o1" -o "$T/m1/manifest.jsonl"
expect 1 "no manifest" "$BIN" batch --merge "$T"
echo "test_batch_devices: ok"
