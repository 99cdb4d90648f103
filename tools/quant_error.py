#!/usr/bin/env python3
"""Error of each quantization format on the HART golden sets (docs/quant.md).

For every golden set of the hart family (tests/data/golden/hart-*, and those in
$HART_GOLDEN or ../shared/golden), in replay mode (the recorded indices and noise,
so every format follows the same path): `hart generate --quant FMT --dump` on the
set's float32 weights (round-to-nearest on load), then
  - logits: max over scales of max|a-b| / max|b| of gen.si{k}.logits_cfg vs the golden
  - image:  PSNR of gen.image vs the golden gen.image (peak 1)
and the same for the float path ("f32") as the baseline. Pure Python (no numpy).
usage: tools/quant_error.py [BIN] [--device SPEC]"""
import glob, json, math, os, struct, subprocess, sys, tempfile

def tensors(path):
    d = open(path, 'rb').read()
    n = struct.unpack('<Q', d[:8])[0]
    h = json.loads(d[8:8 + n])
    def get(name):
        t = h[name]
        a, b = t['data_offsets']
        assert t['dtype'] == 'F32', name
        return struct.unpack('<%df' % ((b - a) // 4), d[8 + n + a:8 + n + b])
    return h, get

def main():
    args = [a for a in sys.argv[1:]]
    dev = 'cpu'
    if '--device' in args:
        i = args.index('--device'); dev = args[i + 1]; del args[i:i + 2]
    binp = args[0] if args else 'bin/hart'
    roots = ['tests/data/golden', os.environ.get('HART_GOLDEN', ''), '../shared/golden']
    sets, seen = [], set()
    for r in roots:
        for s in sorted(glob.glob(os.path.join(r, 'hart-*'))) if r else []:
            key = os.path.basename(s)
            if key not in seen and os.path.exists(os.path.join(s, 'golden.safetensors')):
                seen.add(key); sets.append(s)
    print('| golden set | format | guided logits max rel err | image PSNR vs f32 golden (dB) |')
    print('|---|---|---:|---:|')
    for s in sets:
        g = os.path.join(s, 'golden.safetensors')
        gh, gget = tensors(g)
        for fmt in ['f32', 'w8a8', 'w4a16', 'w4a8']:
            with tempfile.TemporaryDirectory() as td:
                cmd = [binp, 'generate', '-m', s, '--context', g, '--replay', g, '--dump', td + '/t.safetensors',
                       '-o', td + '/i.png', '-q', '--device', dev]
                if fmt != 'f32': cmd += ['--quant', fmt]
                subprocess.run(cmd, check=True)
                th, tget = tensors(td + '/t.safetensors')
                worst = 0.0
                for k in range(64):
                    nm = 'gen.si%d.logits_cfg' % k
                    if nm not in gh: break
                    a, b = tget(nm), gget(nm)
                    worst = max(worst, max(abs(p - q) for p, q in zip(a, b)) / max(abs(q) for q in b))
                a, b = tget('gen.image'), gget('gen.image')
                mse = sum((p - q) ** 2 for p, q in zip(a, b)) / len(b)
                psnr = 10 * math.log10(1.0 / mse) if mse > 0 else float('inf')
                print('| %s | %s | %.3g | %.1f |' % (os.path.basename(s), fmt, worst, psnr))

main()
