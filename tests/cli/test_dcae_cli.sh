#!/bin/sh
# CLI tests of `hart encode | decode | reconstruct` with a DC-AE model (the
# golden dcae-tiny set, spatial ratio 8): latents are compared with the golden
# latent (max rel err <= 1e-5: the limit test_dcae measures for it, tests/golden/LIMITS.md), images with the golden decoded.png (<= 1 level
# of 8 bits), and the error paths must fail cleanly with the documented exit
# codes (usage 2, runtime 1).
HART_BIN=${HART_BIN:-bin/hart}
GROOT=${HART_GOLDEN:-tests/data/golden}
G=$GROOT/dcae-tiny
DIR=$(cd "$(dirname "$0")" && pwd)
DATA=$DIR/../data/dcae
if [ ! -d "$G" ]; then echo "SKIP: golden data not found"; exit 77; fi
if ! command -v python3 >/dev/null 2>&1; then echo "SKIP: python3 not found"; exit 77; fi
. "$(dirname "$0")/lib.sh" # $T, fail, expect
maxdiff() { python3 "$DIR/png_maxdiff.py" "$1" "$2"; }
relerr() { python3 "$DIR/st_relerr.py" "$@"; }
# small() X Y: 1 if X <= Y (floats)
small() { python3 -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }
expect() { want=$1; shift; "$@" >"$T/err" 2>&1; rc=$?; [ $rc -eq "$want" ] || fail "'$*' returned $rc (want $want): $(cat "$T/err")"; }

# reconstruct prints PSNR / SSIM; the image is the golden decoded one
"$HART_BIN" reconstruct "$G/input.png" -m "$G" -o "$T/rec.png" >"$T/log" 2>&1 || fail "reconstruct: $(cat "$T/log")"
grep -q "^PSNR .* dB  SSIM " "$T/log" || fail "reconstruct printed no metrics: $(cat "$T/log")"
grep -q "DC-AE" "$T/log" || fail "reconstruct did not use the DC-AE: $(cat "$T/log")"
d=$(maxdiff "$T/rec.png" "$G/decoded.png") || fail "compare rec.png"
[ "$d" -le 1 ] || fail "reconstruction differs from decoded.png by $d levels"
echo "reconstruct: $(tail -n 1 "$T/log"); vs decoded.png: max diff $d"

# encode -> latent (golden latent within 1e-5) -> decode -> golden decoded.png
"$HART_BIN" encode "$G/input.png" -m "$G" -o "$T/lat.safetensors" >"$T/log" 2>&1 || fail "encode: $(cat "$T/log")"
e=$(relerr "$T/lat.safetensors" latent "$G/golden.safetensors" latent) || fail "compare latent: $e"
small "$e" 1e-5 || fail "latent rel err $e > 1e-5"
echo "encode: latent vs golden latent: rel err $e"
"$HART_BIN" decode "$T/lat.safetensors" -m "$G" -o "$T/dec.png" >"$T/log" 2>&1 || fail "decode: $(cat "$T/log")"
grep -q "not tiled" "$T/log" || fail "a 4x4 latent should not be tiled by default: $(cat "$T/log")"
d=$(maxdiff "$T/dec.png" "$G/decoded.png") || fail "compare dec.png"
[ "$d" -le 1 ] || fail "decode(encode(input.png)) differs from decoded.png by $d levels"
echo "decode(encode(input.png)) vs decoded.png: max diff $d"
# --tile 0 = whole latent, the same image
"$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile 0 -o "$T/dec0.png" >/dev/null 2>&1 || fail "decode --tile 0"
d=$(maxdiff "$T/dec0.png" "$T/dec.png"); [ "$d" -eq 0 ] || fail "--tile 0 differs from the default by $d"
# tiled decode without overlap = each tile's plain decode, side by side: cut
# the latent into 2x2 tiles (tile_check.py), decode each through the CLI, and
# compare with `decode --tile 2 --tile-overlap 0` pixel by pixel
mkdir -p "$T/tiles"
python3 "$DIR/tile_check.py" split "$T/lat.safetensors" 2 "$T/tiles" || fail "cutting the latent into tiles"
for f in "$T"/tiles/tile_*.safetensors; do
  "$HART_BIN" decode "$f" -m "$G" -o "${f%.safetensors}.png" >/dev/null 2>&1 || fail "decode of tile $f"
done
"$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile 2 --tile-overlap 0 -o "$T/tiled0.png" >"$T/log" 2>&1 ||
  fail "tiled decode, overlap 0: $(cat "$T/log")"
d=$(python3 "$DIR/tile_check.py" compare "$T/tiled0.png" "$T/tiles") || fail "tiled decode vs its tiles: $d"
[ "$d" -eq 0 ] || fail "decode --tile 2 --tile-overlap 0 differs from its tiles' own decodes by $d levels"
echo "tiled decode (2x2 latent tiles, no overlap) = each tile's own decode (max diff $d)"
# reconstruct --tile 2 (default overlap 0) = encode, then that same tiled decode
"$HART_BIN" reconstruct "$G/input.png" -m "$G" --tile 2 -o "$T/rect.png" >"$T/log" 2>&1 || fail "tiled reconstruct: $(cat "$T/log")"
grep -q "overlap 0" "$T/log" || fail "default overlap of tile 2 should be 0: $(cat "$T/log")"
d=$(maxdiff "$T/rect.png" "$T/tiled0.png") || fail "compare rect.png"
[ "$d" -eq 0 ] || fail "reconstruct --tile 2 differs from decode --tile 2 of its latent by $d levels"
# with overlap 1 (3x3 tiles, blended): the library test checks every pixel lies
# between the decodes of the tiles covering it; here: it runs and says so
"$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile 2 --tile-overlap 1 -o "$T/tiled.png" >"$T/log" 2>&1 ||
  fail "tiled decode: $(cat "$T/log")"
grep -q "tiled: 2x2 latent tiles, overlap 1" "$T/log" || fail "tiled decode did not say so: $(cat "$T/log")"
d=$(maxdiff "$T/tiled.png" "$G/decoded.png") || fail "tiled image has the wrong size: $d"
echo "tiled decode (2x2 latent tiles, overlap 1) vs decoded.png: max diff $d levels (approximation)"

# the diffusers layout of the same weights gives the same image
if [ -d "$DATA/dcae-tiny-diffusers" ]; then
  "$HART_BIN" reconstruct "$G/input.png" -m "$DATA/dcae-tiny-diffusers" -o "$T/recd.png" >"$T/log" 2>&1 ||
    fail "reconstruct (diffusers layout): $(cat "$T/log")"
  d=$(maxdiff "$T/recd.png" "$G/decoded.png"); [ "$d" -le 1 ] || fail "diffusers layout differs by $d levels"
  echo "diffusers layout: reconstruct vs decoded.png: max diff $d"
fi

# images: 36x32 (not a multiple of 8) and 64x48 (fine)
python3 - "$T" <<'PY'
import struct, sys, zlib
def png(path, w, h):
    raw = b''.join(b'\0' + bytes((x * 7 + y * 3) & 255 for x in range(w * 3)) for y in range(h))
    chunk = lambda t, b: struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
png(sys.argv[1] + '/odd.png', 36, 32); png(sys.argv[1] + '/wide.png', 64, 48)
PY
expect 1 "$HART_BIN" reconstruct "$T/odd.png" -m "$G" -o "$T/x.png"
grep -q "36x32.*compression ratio 8" "$T/err" || fail "size error is not clear: $(cat "$T/err")"
expect 1 "$HART_BIN" encode "$T/odd.png" -m "$G" -o "$T/x.safetensors"
[ ! -e "$T/x.safetensors" ] || fail "a failed encode left a file"
expect 0 "$HART_BIN" reconstruct "$T/wide.png" -m "$G" -o "$T/wide_rec.png"
d=$(maxdiff "$T/wide_rec.png" "$T/wide.png" | head -c 4); [ "$d" != "size" ] || fail "64x48 reconstruction has the wrong size"

# --scaled: a model with a scaling factor (sana-style set, 0.41407) round-trips
# through the stored latent_scale to the same image as the unscaled latent
if [ -d "$DATA/dcae-sana-style" ]; then
  S=$DATA/dcae-sana-style
  "$HART_BIN" encode "$T/wide.png" -m "$S" --scaled -o "$T/ls.safetensors" >"$T/log" 2>&1 || fail "encode --scaled: $(cat "$T/log")"
  grep -q "latent_scale 0.41407" "$T/log" || fail "encode --scaled did not report the scale: $(cat "$T/log")"
  "$HART_BIN" encode "$T/wide.png" -m "$S" -o "$T/lu.safetensors" >/dev/null 2>&1 || fail "encode (sana-style)"
  "$HART_BIN" decode "$T/ls.safetensors" -m "$S" -o "$T/ds.png" >/dev/null 2>&1 || fail "decode scaled"
  "$HART_BIN" decode "$T/lu.safetensors" -m "$S" -o "$T/du.png" >/dev/null 2>&1 || fail "decode unscaled"
  d=$(maxdiff "$T/ds.png" "$T/du.png"); [ "$d" -le 1 ] || fail "scaled and unscaled latents decode $d levels apart"
  echo "--scaled round trip (sana-style): vs unscaled: max diff $d"
fi

# the OpenCL backend gives the same images (when an OpenCL device exists)
if command -v clinfo >/dev/null 2>&1 && clinfo -l 2>/dev/null | grep -q "Device"; then
  "$HART_BIN" reconstruct "$G/input.png" -m "$G" -d opencl --precision f32 -o "$T/rec_cl.png" >"$T/log" 2>&1 ||
    fail "reconstruct -d opencl: $(cat "$T/log")"
  d=$(maxdiff "$T/rec_cl.png" "$G/decoded.png"); [ "$d" -le 1 ] || fail "OpenCL reconstruction differs by $d levels"
  "$HART_BIN" encode "$G/input.png" -m "$G" -d opencl --precision f32 -o "$T/lat_cl.safetensors" >/dev/null 2>&1 || fail "encode -d opencl"
  e=$(relerr "$T/lat_cl.safetensors" latent "$G/golden.safetensors" latent) || fail "compare OpenCL latent: $e"
  small "$e" 1e-5 || fail "OpenCL latent rel err $e > 1e-5"
  echo "OpenCL: reconstruct vs decoded.png max diff $d, latent rel err $e"
else
  echo "SKIP: no OpenCL device (clinfo): OpenCL CLI checks"
fi

# errors: usage -> 2, runtime -> 1, never a crash
expect 0 "$HART_BIN" decode --help
grep -q -- "--tile-overlap" "$T/err" || fail "decode --help does not list --tile-overlap"
expect 0 "$HART_BIN" encode --help
grep -q -- "--scaled" "$T/err" || fail "encode --help does not list --scaled"
expect 0 "$HART_BIN" reconstruct --help
grep -q -- "--tile" "$T/err" || fail "reconstruct --help does not list --tile"
expect 2 "$HART_BIN" encode "$G/input.png" -m "$G" --bogus
expect 2 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile -3
expect 2 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile x
expect 2 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tile 2 --tile-overlap 2
expect 2 "$HART_BIN" reconstruct "$G/input.png" -m "$G" --mode discrete
expect 1 "$HART_BIN" encode "$G/input.png" -m "$G" --scaled -o "$T/x.safetensors"
grep -q "scaling factor" "$T/err" || fail "--scaled without a scaling factor: $(cat "$T/err")"
expect 1 "$HART_BIN" decode "$G/input.png" -m "$G" -o "$T/x.png"
expect 1 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tensor nope -o "$T/x.png"
grep -q "nope" "$T/err" || fail "missing tensor not named: $(cat "$T/err")"
expect 1 "$HART_BIN" decode "$G/golden.safetensors" -m "$G" --tensor input_image -o "$T/x.png"
expect 1 "$HART_BIN" decode "$T/missing.safetensors" -m "$G" -o "$T/x.png"
expect 1 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" -o "$T/x.bmp"
if [ -d "$DATA/dcae-odd-options" ]; then
  # a double-latent encoder writes 2x4 channels; decode takes the first half, as reconstruct does
  O=$DATA/dcae-odd-options
  "$HART_BIN" encode "$T/wide.png" -m "$O" -o "$T/lo.safetensors" >"$T/log" 2>&1 || fail "encode (odd-options)"
  grep -q "latent 8x6x8" "$T/log" || fail "double latent: $(cat "$T/log")"
  "$HART_BIN" decode "$T/lo.safetensors" -m "$O" -o "$T/lo.png" >/dev/null 2>&1 || fail "decode (double latent)"
  "$HART_BIN" reconstruct "$T/wide.png" -m "$O" -o "$T/lo_rec.png" >/dev/null 2>&1 || fail "reconstruct (double latent)"
  d=$(maxdiff "$T/lo.png" "$T/lo_rec.png"); [ "$d" -le 1 ] || fail "double latent: decode vs reconstruct differ by $d"
  # a 3-channel tensor is neither 4 nor 2x4 channels: the error names the expected shape
  expect 1 "$HART_BIN" decode "$G/golden.safetensors" -m "$O" --tensor input_image -o "$T/x.png"
  grep -q "expects \[B,4,h,w\]" "$T/err" || fail "wrong latent shape not explained: $(cat "$T/err")"
fi
H=$GROOT/hart-tiny-a
if [ -d "$H" ]; then  # DC-AE flags on a HART tokenizer are usage errors
  expect 2 "$HART_BIN" encode "$H/input.png" -m "$H" --scaled -o "$T/x.safetensors"
  expect 2 "$HART_BIN" reconstruct "$H/input.png" -m "$H" --tile 4 -o "$T/x.png"
fi
echo "dcae cli: all checks passed"
