#!/usr/bin/env python3
"""Row ROW of a batched --dump trace against the trace of the same image
rendered alone (safetensors, pure Python). Helper of test_generate_batch.sh.
Checks that every scale's sampled indices (gen.si*.idx) are equal, and prints
max|a-b|/max|b| of the final f_hat (gen.final_f_hat) and of the image
(gen.image) over that row. Exits 1 on an index mismatch, 2 on a missing or
malformed tensor.
usage: batch_row_check.py BATCH_TRACE ROW ALONE_TRACE"""
import json, struct, sys

FMT = {'F32': ('f', 4), 'I64': ('q', 8)}

def load(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    hdr.pop('__metadata__', None)
    return data[8 + n:], hdr

def row(blob, hdr, name, r):
    if name not in hdr:
        print('no tensor %s' % name); sys.exit(2)
    t = hdr[name]
    if t['dtype'] not in FMT:
        print('%s: dtype %s' % (name, t['dtype'])); sys.exit(2)
    code, size = FMT[t['dtype']]
    a, b = t['data_offsets']
    vals = struct.unpack('<%d%s' % ((b - a) // size, code), blob[a:b])
    per = len(vals) // t['shape'][0]
    return t['shape'][1:], vals[r * per:(r + 1) * per]

bb, bh = load(sys.argv[1])
r = int(sys.argv[2])
ab, ah = load(sys.argv[3])
idx = sorted(k for k in ah if k.startswith('gen.si') and k.endswith('.idx'))
if not idx:
    print('no gen.si*.idx in %s' % sys.argv[3]); sys.exit(2)
for k in idx:
    sb, vb = row(bb, bh, k, r)
    sa, va = row(ab, ah, k, 0)
    if sb != sa or vb != va:
        diff = sum(1 for p, q in zip(vb, va) if p != q)
        print('%s: row %d differs from the image alone (%d of %d indices)' % (k, r, diff, len(va)))
        sys.exit(1)
out = []
for k in ('gen.final_f_hat', 'gen.image'):
    sb, vb = row(bb, bh, k, r)
    sa, va = row(ab, ah, k, 0)
    if sb != sa:
        print('%s: shape %s vs %s' % (k, sb, sa)); sys.exit(2)
    den = max(abs(v) for v in va)
    num = max(abs(p - q) for p, q in zip(vb, va))
    out.append('%.3g' % (num / den if den > 0 else num))
print('%d scales equal; final_f_hat %s image %s' % (len(idx), out[0], out[1]))
