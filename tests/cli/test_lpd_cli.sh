#!/bin/sh
# CLI tests of `hart generate` with an LPD model (the golden lpd-tiny-a set):
# replaying the golden file gives its images within one 8-bit level and its
# guided logits (dump, golden names) within the README's 1e-4; fresh
# generation is deterministic per seed with every --order kind; bad input
# fails with a one-line error and the documented exit codes (usage 2,
# runtime 1), never a crash.
HART_BIN=${HART_BIN:-bin/hart}
GROOT=${HART_GOLDEN:-tests/data/golden}
G=$GROOT/lpd-tiny-a
DIR=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$G" ]; then echo "SKIP: golden set lpd-tiny-a not found"; exit 77; fi
if ! command -v python3 >/dev/null 2>&1; then echo "SKIP: python3 not found"; exit 77; fi
. "$(dirname "$0")/lib.sh" # $T, fail, expect
maxdiff() { python3 "$DIR/png_maxdiff.py" "$1" "$2"; }
relerr() { python3 "$DIR/st_relerr.py" "$@"; }
small() { python3 -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }
expect() { want=$1; shift; "$@" >"$T/err" 2>&1; rc=$?; [ $rc -eq "$want" ] || fail "'$*' returned $rc (want $want): $(cat "$T/err")"; }
# expect_msg RC TEXT cmd...: exit code RC, one error line containing TEXT
expect_msg() {
    want=$1; text=$2; shift 2
    expect "$want" "$@"
    grep -q "$text" "$T/err" || fail "'$*': message lacks '$text': $(cat "$T/err")"
    grep -q "AddressSanitizer\|Segmentation\|Aborted" "$T/err" && fail "'$*' crashed"
    echo "  refused ($want): $(head -n 1 "$T/err")"
}
L="-m $G/lpd.pth --vq $G/vq.pt"
GS=1,2,3,4,6,8,10,12,18

# replay: images and guided logits of the golden run
"$HART_BIN" generate $L --replay "$G/golden.safetensors" --cfg 4 --dump "$T/d.safetensors" -o "$T/r.png" >"$T/log" 2>&1 ||
    fail "replay: $(cat "$T/log")"
for i in 0 1; do
    d=$(maxdiff "$T/r_$i.png" "$G/gen_image_$i.png") || fail "compare r_$i.png"
    [ "$d" -le 1 ] || fail "replayed image $i differs from gen_image_$i.png by $d levels"
    echo "replay image $i vs gen_image_$i.png: max diff $d"
done
for s in 0 4 8; do
    e=$(relerr "$T/d.safetensors" lpd.step$s.logits_cfg "$G/golden.safetensors" lpd.step$s.logits_cfg) || fail "dump: $e"
    small "$e" 1e-4 || fail "lpd.step$s.logits_cfg rel err $e > 1e-4"
    echo "dump lpd.step$s.logits_cfg vs golden: rel err $e"
done
e=$(relerr "$T/d.safetensors" lpd.image "$G/golden.safetensors" lpd.image) || fail "dump: $e"
small "$e" 1e-4 || fail "lpd.image rel err $e > 1e-4"

# fresh generation: the same seed gives the same images, for every order kind
for order in lpd random "$G/orders.json"; do
    for k in a b; do
        "$HART_BIN" generate $L --class 3 -n 2 --group-sizes $GS --order "$order" --seed 7 -o "$T/$k.png" >"$T/log" 2>&1 ||
            fail "generate --order $order: $(cat "$T/log")"
    done
    for i in 0 1; do
        d=$(maxdiff "$T/a_$i.png" "$T/b_$i.png") || fail "compare"
        [ "$d" -eq 0 ] || fail "--order $order --seed 7 is not reproducible (image $i differs by $d)"
    done
    echo "generate --order $(basename "$order"): reproducible"
done
"$HART_BIN" generate $L --class 3 --group-sizes $GS --seed 8 -o "$T/c.png" >"$T/log" 2>&1 || fail "generate: $(cat "$T/log")"
d=$(maxdiff "$T/a_0.png" "$T/c.png") || fail "compare"
[ "$d" -gt 0 ] || fail "seeds 7 and 8 gave the same image"
"$HART_BIN" generate $L --class 3 --group-sizes 64 --order random --cfg 1 --top-k 5 --top-p 0.9 --temperature 0.5 -o "$T/k.png" >"$T/log" 2>&1 ||
    fail "one-step generation without guidance: $(cat "$T/log")"

# batch: image k is `generate --seed base+k`; a rerun renders nothing; --npz holds every image
"$HART_BIN" batch $L --classes 0-1 -n 2 --group-sizes $GS --seed 10 -o "$T/b" --npz "$T/b.npz" >"$T/log" 2>&1 ||
    fail "batch: $(cat "$T/log")"
grep -q "4 rendered" "$T/log" || fail "batch: $(cat "$T/log")"
"$HART_BIN" generate $L --class 1 --group-sizes $GS --seed 13 -o "$T/g13.png" >"$T/log" 2>&1 || fail "generate: $(cat "$T/log")"
d=$(maxdiff "$T/b/00003.png" "$T/g13.png") || fail "compare"
[ "$d" -eq 0 ] || fail "batch image 3 differs from generate --class 1 --seed 13 by $d"
"$HART_BIN" batch $L --classes 0-1 -n 2 --group-sizes $GS --seed 10 -o "$T/b" >"$T/log" 2>&1 || fail "batch rerun: $(cat "$T/log")"
grep -q "0 rendered, 4 already present" "$T/log" || fail "batch rerun rendered again: $(cat "$T/log")"
python3 - "$T/b.npz" "$T/b" "$DIR" <<'PY' || fail "npz check"
import ast, struct, sys, zipfile
sys.path.insert(0, sys.argv[3])
from png_maxdiff_lib import read_png
d = zipfile.ZipFile(sys.argv[1]).read('arr_0.npy')  # checks the CRC
n = struct.unpack('<H', d[8:10])[0]
h = ast.literal_eval(d[10:10 + n].decode())
assert h['descr'] == '|u1' and h['shape'] == (4, 128, 128, 3), h
for k in range(4):
    w, hh, px = read_png('%s/%05d.png' % (sys.argv[2], k))
    flat = b"".join(bytes(p) for row in px for p in row)
    assert flat == d[10 + n + k * 49152:10 + n + (k + 1) * 49152], k
PY
echo "batch: matches generate, resumes, npz arr_0 (4,128,128,3) equals the PNGs"

# the VQ round trip of reconstruct: the golden vq_decoded.png
"$HART_BIN" reconstruct "$G/input.png" -m "$G/vq.pt" -o "$T/vq.png" >"$T/log" 2>&1 || fail "reconstruct: $(cat "$T/log")"
grep -q "LlamaGen VQ" "$T/log" || fail "reconstruct did not use the VQ: $(cat "$T/log")"
d=$(maxdiff "$T/vq.png" "$G/vq_decoded.png") || fail "compare vq.png"
[ "$d" -le 1 ] || fail "VQ reconstruction differs from vq_decoded.png by $d levels"
echo "reconstruct -m vq.pt vs vq_decoded.png: max diff $d"

# bad input
expect_msg 2 "class" "$HART_BIN" generate $L -o "$T/x.png"
expect_msg 2 "drop --class" "$HART_BIN" generate $L --replay "$G/golden.safetensors" --class 1 -o "$T/x.png"
expect_msg 1 "classes 0..9" "$HART_BIN" generate $L --class 10 --group-sizes $GS -o "$T/x.png"
expect_msg 1 "nonexistent" "$HART_BIN" generate -m "$T/nonexistent.pth" --vq "$G/vq.pt" --class 1 -o "$T/x.png"
expect_msg 1 "not an LPD checkpoint" "$HART_BIN" generate -m "$G/vq.pt" --vq "$G/vq.pt" --class 1 -o "$T/x.png"
expect_msg 1 "not a LlamaGen VQ" "$HART_BIN" generate -m "$G/lpd.pth" --vq "$G/lpd.pth" --class 1 -o "$T/x.png"
expect_msg 1 "128 px" "$HART_BIN" generate $L --class 1 --steps 20 -o "$T/x.png"
expect_msg 1 "add up to" "$HART_BIN" generate $L --class 1 --group-sizes 1,2,3 -o "$T/x.png"
expect_msg 1 "group-sizes" "$HART_BIN" generate $L --class 1 --group-sizes 1,x -o "$T/x.png"
expect_msg 1 "need more" "$HART_BIN" generate $L --class 1 -n 3 --group-sizes $GS --order "$G/orders.json" -o "$T/x.png"
expect_msg 1 "nonexistent" "$HART_BIN" generate $L --class 1 --group-sizes $GS --order "$T/nonexistent.json" -o "$T/x.png"
head -c 100000 "$G/lpd.pth" >"$T/cut.pth"
expect_msg 1 "cut.pth" "$HART_BIN" generate -m "$T/cut.pth" --vq "$G/vq.pt" --class 1 -o "$T/x.png"
printf 'not a checkpoint at all' >"$T/junk.pth"
expect_msg 1 "not a PyTorch zip" "$HART_BIN" generate -m "$T/junk.pth" --vq "$G/vq.pt" --class 1 -o "$T/x.png"
expect_msg 2 "cfg-schedule" "$HART_BIN" generate $L --class 1 --cfg-schedule cosine -o "$T/x.png"
python3 - "$T/odd.png" <<'PY'
import struct, sys, zlib
w, h = 40, 24
raw = b"".join(b"\0" + bytes((x * 5 + y) % 256 for x in range(w * 3)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                              chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
expect_msg 1 "not a multiple" "$HART_BIN" reconstruct "$T/odd.png" -m "$G/vq.pt" -o "$T/x.png"
expect_msg 1 "classes must lie" "$HART_BIN" batch $L --classes 5-20 --group-sizes $GS -o "$T/bb"
expect_msg 2 "classes" "$HART_BIN" batch $L --group-sizes $GS -o "$T/bb"
echo "PASS: LPD CLI"
