#!/usr/bin/env python3
"""Write tests/data/pth/legacy_small.pth with torch's LEGACY serializer
(torch.save(..., _use_new_zipfile_serialization=False): the pre-1.6 stream
pytorch-fid's pt_inception-2015-12-05-*.pth uses), for the .pth reader's
tests. Contents (values chosen so the C test can state them by hand):
  w      float32 [2,3] = 0..5
  w_t    float32 [3,2] = w.t() (a strided view of w's storage)
  tail   float32 [2]   = w.flatten()[4:6] (offset 4 into w's storage)
  bn.running_var float32 [3] = 0.5, 1.5, 2.5
  steps  int64   []    = 7
  half   float16 [2]   = 1.5, -2
usage: make_pth_legacy_fixture.py [OUT.pth]   (needs torch)"""
import collections
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/pth/legacy_small.pth"
w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
sd = collections.OrderedDict([
    ("w", w),
    ("w_t", w.t()),
    ("tail", w.flatten()[4:6]),
    ("bn.running_var", torch.tensor([0.5, 1.5, 2.5])),
    ("steps", torch.tensor(7, dtype=torch.int64)),
    ("half", torch.tensor([1.5, -2.0], dtype=torch.float16)),
])
torch.save(sd, out, _use_new_zipfile_serialization=False)
back = torch.load(out, weights_only=True)
assert all(torch.equal(back[k], v) for k, v in sd.items())
print("wrote", out)
