#!/bin/sh
# CLI tests of `hart encode | decode | reconstruct` on the golden tiny HART
# tokenizer: outputs are compared with the golden PNGs (<= 1 level) and the
# error paths must fail cleanly with the documented exit codes.
HART_BIN=${HART_BIN:-bin/hart}
G=${HART_GOLDEN:-tests/data/golden}/hart-tiny-a
DIR=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$G" ]; then echo "SKIP: golden data not found"; exit 77; fi
if ! command -v python3 >/dev/null 2>&1; then echo "SKIP: python3 not found"; exit 77; fi
. "$(dirname "$0")/lib.sh" # $T, fail, expect
maxdiff() { python3 "$DIR/png_maxdiff.py" "$1" "$2"; }

# encode -> latent with the golden tensor names; decode it -> golden PNG
"$HART_BIN" encode "$G/input.png" -m "$G" -o "$T/lat.safetensors" >"$T/log" 2>&1 || fail "encode: $(cat "$T/log")"
"$HART_BIN" decode "$T/lat.safetensors" -m "$G/tokenizer" -o "$T/dec.png" >"$T/log" 2>&1 || fail "decode: $(cat "$T/log")"
grep -q "vae.enc.f," "$T/log" || fail "decode did not pick vae.enc.f: $(cat "$T/log")"
d=$(maxdiff "$T/dec.png" "$G/vae_decoded.png") || fail "compare dec.png"
[ "$d" -le 1 ] || fail "decoded image differs from vae_decoded.png by $d levels"
echo "decode(encode(input.png)) vs vae_decoded.png: max diff $d"

# the generation's final latent (batch of 2) -> gen_image_{0,1}.png
"$HART_BIN" decode "$G/golden.safetensors" -m "$G" -o "$T/gen.png" >"$T/log" 2>&1 || fail "decode gen: $(cat "$T/log")"
for i in 0 1; do
  d=$(maxdiff "$T/gen_$i.png" "$G/gen_image_$i.png") || fail "compare gen_$i.png"
  [ "$d" -le 1 ] || fail "gen_$i.png differs from gen_image_$i.png by $d levels"
  echo "decode(gen.final_f_hat)[$i] vs gen_image_$i.png: max diff $d"
done
# an explicit tensor
"$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tensor vae.enc.f_hat_discrete -o "$T/disc.png" >/dev/null 2>&1 || fail "decode --tensor"

# reconstruct prints PSNR / SSIM
"$HART_BIN" reconstruct "$G/input.png" -m "$G" -o "$T/rec.png" >"$T/log" 2>&1 || fail "reconstruct: $(cat "$T/log")"
grep -q "^PSNR .* dB  SSIM " "$T/log" || fail "reconstruct printed no metrics: $(cat "$T/log")"
d=$(maxdiff "$T/rec.png" "$G/vae_decoded.png")
[ "$d" -le 1 ] || fail "hybrid reconstruction differs from vae_decoded.png by $d levels"
"$HART_BIN" reconstruct "$G/input.png" -m "$G" -o "$T/rec2.png" --mode discrete >"$T/log" 2>&1 || fail "reconstruct discrete: $(cat "$T/log")"

# errors: usage -> 2, runtime -> 1, never a crash
expect() { want=$1; shift; "$@" >"$T/err" 2>&1; rc=$?; [ $rc -eq "$want" ] || fail "'$*' returned $rc (want $want): $(cat "$T/err")"; }
expect 0 "$HART_BIN" encode --help
expect 0 "$HART_BIN" decode --help
expect 0 "$HART_BIN" reconstruct --help
expect 2 "$HART_BIN" encode "$G/input.png" -m "$G" --bogus
expect 2 "$HART_BIN" encode "$G/input.png"
expect 2 "$HART_BIN" reconstruct "$G/input.png" -m "$G" --mode fancy
expect 2 "$HART_BIN" decode
expect 1 "$HART_BIN" encode "$T/missing.png" -m "$G" -o "$T/x.safetensors"
expect 1 "$HART_BIN" encode "$G/input.png" -m "$T/nomodel" -o "$T/x.safetensors"
grep -q "nomodel" "$T/err" || fail "missing model folder not named: $(cat "$T/err")"
expect 1 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" --tensor nope -o "$T/x.png"
expect 1 "$HART_BIN" decode "$G/input.png" -m "$G" -o "$T/x.png"
expect 1 "$HART_BIN" decode "$T/lat.safetensors" -m "$G" -o "$T/x.bmp"
# an image of the wrong size (36x36 and 30x32)
python3 - "$T" <<'PY'
import struct, sys, zlib
def png(path, w, h):
    raw = b''.join(b'\0' + bytes((x * 7 + y * 3) & 255 for x in range(w * 3)) for y in range(h))
    chunk = lambda t, b: struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
png(sys.argv[1] + '/big.png', 36, 36); png(sys.argv[1] + '/odd.png', 30, 32)
PY
expect 1 "$HART_BIN" encode "$T/big.png" -m "$G" -o "$T/x.safetensors"
grep -q "32x32" "$T/err" || fail "size error does not name the native size: $(cat "$T/err")"
expect 1 "$HART_BIN" reconstruct "$T/odd.png" -m "$G" -o "$T/x.png"
expect 0 "$HART_BIN" reconstruct "$T/big.png" -m "$G" -o "$T/big_rec.png"
echo "vae cli: all checks passed"
