#!/usr/bin/env python3
"""Make extra DC-AE golden sets with the ORIGINAL efficientvit DC-AE modules.

Usage: PYTHONPATH=<dir holding efficientvit/ (dc_ae.py, nn/, utils/)> \
       python3 tools/dcae_golden_gen.py OUTDIR
Needs torch (+ triton on CUDA for trms2d). Runs in float32 with TF32 off.
Every parameter/buffer is overwritten with random values (fixed seed), as in
../shared/golden/dcae-tiny. Each set: OUTDIR/<name>/{model.safetensors,
dcae_config.json, golden.safetensors (input_image [0,1], latent, decoded)}.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

from efficientvit.models.efficientvit.dc_ae import DCAE, DCAEConfig, DecoderConfig, EncoderConfig

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda" if torch.cuda.is_available() else "cpu"


def save_st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, v in tensors.items():
        a = np.ascontiguousarray(v.detach().cpu().numpy().astype(np.float32))
        b = a.tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


SETS = {
    # the "other" style: Conv down, InterpolateConv up, EViTS5_GLU, trms2d everywhere, scaling factor
    "dcae-sana-style": dict(
        image=(1, 3, 48, 64),
        cfg=dict(in_channels=3, latent_channels=8, scaling_factor=0.41407,
                 encoder=dict(width_list=[16, 32, 64, 64], depth_list=[1, 1, 1, 2],
                              block_type=["ResBlock", "ResBlock", "EViTS5_GLU", "EViTS5_GLU"],
                              norm="trms2d", act="silu", downsample_block_type="Conv",
                              downsample_match_channel=True, downsample_shortcut="averaging",
                              out_norm=None, out_act=None, out_shortcut="averaging", double_latent=False),
                 decoder=dict(in_shortcut="duplicating", width_list=[16, 32, 64, 64], depth_list=[1, 1, 2, 1],
                              block_type=["ResBlock", "ResBlock", "EViTS5_GLU", "EViTS5_GLU"],
                              norm="trms2d", act="silu", upsample_block_type="InterpolateConv",
                              upsample_match_channel=True, upsample_shortcut="duplicating",
                              out_norm="trms2d", out_act="relu"))),
    # in-1.0 style at another size with the rarer options: per-depth block lists,
    # bn2d/ln2d, relu6/hswish/gelu, no shortcuts, double latent
    "dcae-odd-options": dict(
        image=(2, 3, 40, 56),
        cfg=dict(in_channels=3, latent_channels=4, scaling_factor=None,
                 encoder=dict(width_list=[16, 32, 32, 64], depth_list=[0, 2, 1, 2],
                              block_type=["ResBlock", ["ResBlock", "EViT_GLU"], "EViTS5_GLU", ["EViT_GLU", "EViTS5_GLU"]],
                              norm="ln2d", act="hswish", downsample_block_type="ConvPixelUnshuffle",
                              downsample_match_channel=True, downsample_shortcut=None,
                              out_norm=None, out_act=None, out_shortcut=None, double_latent=True),
                 decoder=dict(in_shortcut=None, width_list=[16, 32, 32, 64], depth_list=[0, 1, 2, 1],
                              block_type=["ResBlock", "ResBlock", "EViTS5_GLU", "EViT_GLU"],
                              norm=["bn2d", "bn2d", "ln2d", "trms2d"], act=["relu6", "relu6", "gelu", "silu"],
                              upsample_block_type="ConvPixelShuffle", upsample_match_channel=True,
                              upsample_shortcut=None, out_norm="bn2d", out_act="silu"))),
}


def build(c):
    enc = EncoderConfig(in_channels=c["in_channels"], latent_channels=c["latent_channels"], **c["encoder"])
    dec = DecoderConfig(in_channels=c["in_channels"], latent_channels=c["latent_channels"], **c["decoder"])
    return DCAE(DCAEConfig(in_channels=c["in_channels"], latent_channels=c["latent_channels"], encoder=enc,
                           decoder=dec, scaling_factor=c["scaling_factor"]))


def randomise(model, g):
    sd = model.state_dict()
    for k, v in sd.items():
        if not v.is_floating_point():
            continue
        if k.endswith("running_var"):
            v.copy_(torch.rand(v.shape, generator=g) + 0.5)
        elif k.endswith("running_mean"):
            v.copy_(torch.randn(v.shape, generator=g) * 0.1)
        elif v.ndim == 1 and k.endswith("weight"):
            v.copy_(1 + 0.1 * torch.randn(v.shape, generator=g))
        elif v.ndim == 1:
            v.copy_(0.08 * torch.randn(v.shape, generator=g))
        else:
            fan_in = v[0].numel()
            v.copy_(torch.randn(v.shape, generator=g) / math.sqrt(fan_in))


def main(out):
    for name, s in SETS.items():
        g = torch.Generator().manual_seed(1234)
        model = build(s["cfg"]).eval()
        randomise(model, g)
        model = model.to(dev)
        img = torch.rand(s["image"], generator=g)
        img = (img * 255).round() / 255
        with torch.no_grad():
            lat = model.encode((2 * img - 1).to(dev))
            dec_in = lat[:, : s["cfg"]["latent_channels"]]  # double latent: decode the first half
            decoded = model.decode(dec_in)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        save_st(os.path.join(d, "model.safetensors"), {k: v for k, v in model.state_dict().items()
                                                       if v.is_floating_point()})
        save_st(os.path.join(d, "golden.safetensors"), {"input_image": img, "latent": lat, "decoded": decoded})
        c = dict(s["cfg"])
        c["use_quant_conv"] = False
        with open(os.path.join(d, "dcae_config.json"), "w") as f:
            json.dump(c, f, indent=1)
        print(name, "latent", tuple(lat.shape), "decoded", tuple(decoded.shape), "absmax", float(decoded.abs().max()))


if __name__ == "__main__":
    main(sys.argv[1])
