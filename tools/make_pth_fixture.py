#!/usr/bin/env python3
"""Write a training-style PyTorch checkpoint without PyTorch, for the .pth
reader's tests: {'model': state dict, 'optimizer': ..., 'epoch', 'scaler',
'args': argparse.Namespace} pickled (protocol 2) as torch.save lays it out,
with stand-ins for torch's rebuild function and storage types so the pickle
names the same globals. usage: make_pth_fixture.py OUT.pth"""
import argparse, collections, io, pickle, struct, sys, types, zipfile

torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils

def _rebuild_tensor_v2(*a): pass
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
_rebuild_tensor_v2.__module__ = 'torch._utils'
class FloatStorage: pass
class LongStorage: pass
for c in (FloatStorage, LongStorage): c.__module__ = 'torch'; setattr(torch, c.__name__, c)

class Storage:
    def __init__(self, key, typ, data): self.key, self.typ, self.data = key, typ, data
class Tensor:
    def __init__(self, st, off, shape, stride): self.st, self.off, self.shape, self.stride = st, off, shape, stride
    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.st, self.off, self.shape, self.stride, False, collections.OrderedDict()))

class P(pickle.Pickler):
    def persistent_id(self, o):
        if isinstance(o, Storage):
            n = len(o.data) // (8 if o.typ is LongStorage else 4)
            return ('storage', o.typ, o.key, 'cpu', n)
        return None

s0 = Storage('0', FloatStorage, struct.pack('<6f', *range(6)))
s1 = Storage('1', FloatStorage, struct.pack('<2f', 0.5, -0.5))
s2 = Storage('2', LongStorage, struct.pack('<q', 7))
sd = collections.OrderedDict([('lin.weight', Tensor(s0, 0, (2, 3), (3, 1))),
                              ('lin.weight_t', Tensor(s0, 0, (3, 2), (1, 3))),
                              ('lin.bias', Tensor(s1, 0, (2,), (1,))),
                              ('steps', Tensor(s2, 0, (), ()))])
sd._metadata = collections.OrderedDict([('', {'version': 1})])
ck = {'model': sd,
      'optimizer': {'state': {0: {'step': Tensor(s2, 0, (), ()), 'exp_avg': Tensor(s0, 0, (2, 3), (3, 1))}},
                    'param_groups': [{'lr': 1e-4, 'betas': (0.9, 0.95), 'params': [0, 1], 'amsgrad': False, 'x': None}]},
      'epoch': 399, 'scaler': {'scale': 65536.0, 'growth_factor': 2.0, '_growth_tracker': 1234},
      'args': argparse.Namespace(model='lpd_xl', img_size=256, cfg=4.9, group_sizes=[1, 2], bf16=True, x=None)}
buf = io.BytesIO(); P(buf, protocol=2).dump(ck)
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('train_ckpt/data.pkl', buf.getvalue())
    z.writestr('train_ckpt/byteorder', 'little')
    for st in (s0, s1, s2): z.writestr('train_ckpt/data/' + st.key, st.data)
    z.writestr('train_ckpt/version', '3\n')
