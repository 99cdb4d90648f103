#!/usr/bin/env python3
"""max|a-b| / max|b| between F32 tensor NAME_A of FILE_A and NAME_B of FILE_B
(safetensors, pure Python). Helper of test_dcae_cli.sh; prints the error, or
exits 2 when a tensor is missing, not F32, or the shapes differ.
usage: st_relerr.py FILE_A NAME_A FILE_B NAME_B"""
import json, struct, sys

def read(path, name):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    if name not in hdr:
        print('%s: no tensor %s' % (path, name)); sys.exit(2)
    t = hdr[name]
    if t['dtype'] != 'F32':
        print('%s: %s is %s, not F32' % (path, name, t['dtype'])); sys.exit(2)
    a, b = t['data_offsets']
    raw = data[8 + n + a:8 + n + b]
    return t['shape'], struct.unpack('<%df' % (len(raw) // 4), raw)

sa, a = read(sys.argv[1], sys.argv[2])
sb, b = read(sys.argv[3], sys.argv[4])
if sa != sb:
    print('shape %s vs %s' % (sa, sb)); sys.exit(2)
den = max(abs(v) for v in b) if b else 0.0
num = max((abs(p - q) for p, q in zip(a, b)), default=0.0)
print('%.3g' % (num / den if den > 0 else num))
