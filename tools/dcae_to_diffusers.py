#!/usr/bin/env python3
"""Re-save an original-layout DC-AE folder (dcae_config.json + model.safetensors)
in the diffusers AutoencoderDC layout (config.json + diffusion_pytorch_model.safetensors),
applying the key renaming of diffusers' own conversion script, read at run time:

  python3 tools/dcae_to_diffusers.py SRC_DIR DST_DIR <diffusers>/scripts/convert_dcae_to_diffusers.py

Needs numpy only. Used to make tests/data/dcae/dcae-tiny-diffusers, which checks
that the C loader's diffusers naming agrees with diffusers' converter.
"""
import ast
import json
import os
import struct
import sys

import numpy as np


def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"])
    return out


def write_st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, a in tensors.items():
        b = np.ascontiguousarray(a.astype(np.float32)).tobytes()
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


def dict_literal(src, name):
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise SystemExit(f"{name} not found in the conversion script")


def main(src, dst, script):
    text = open(script).read()
    rename = dict_literal(text, "AE_KEYS_RENAME_DICT")
    cfg = json.load(open(os.path.join(src, "dcae_config.json")))
    if cfg["encoder"]["depth_list"][0] == 0:  # the released f32/f64/f128 models: extra keys
        rename.update(dict_literal(text, "AE_F32C32_KEYS"))
    sd = read_st(os.path.join(src, "model.safetensors"))
    out = {}
    for k, v in sd.items():
        if v.dtype != np.float32:
            continue  # num_batches_tracked
        nk = k
        for a, b in rename.items():
            nk = nk.replace(a, b)
        if nk.endswith("qkv.conv.weight"):
            parent = nk[: -len(".qkv.conv.weight")]
            q, kk, vv = np.split(v, 3, axis=0)
            out[parent + ".to_q.weight"] = q.squeeze()
            out[parent + ".to_k.weight"] = kk.squeeze()
            out[parent + ".to_v.weight"] = vv.squeeze()
        elif nk.endswith("proj.conv.weight"):
            out[nk[: -len(".proj.conv.weight")] + ".to_out.weight"] = v.squeeze()
        else:
            out[nk] = v
    e, d = cfg["encoder"], cfg["decoder"]

    def types(bt):
        return ["EfficientViTBlock" if t.startswith("EViT") else t for t in bt]

    def scales(bt):
        return [[5] if t == "EViTS5_GLU" else [] for t in bt]

    norm = {"bn2d": "batch_norm", "trms2d": "rms_norm"}
    dc = {
        "_class_name": "AutoencoderDC",
        "in_channels": cfg["in_channels"],
        "latent_channels": cfg["latent_channels"],
        "attention_head_dim": 32,
        "encoder_block_types": types(e["block_type"]),
        "decoder_block_types": types(d["block_type"]),
        "encoder_block_out_channels": e["width_list"],
        "decoder_block_out_channels": d["width_list"],
        "encoder_layers_per_block": e["depth_list"],
        "decoder_layers_per_block": d["depth_list"],
        "encoder_qkv_multiscales": scales(e["block_type"]),
        "decoder_qkv_multiscales": scales(d["block_type"]),
        "upsample_block_type": {"ConvPixelShuffle": "pixel_shuffle", "InterpolateConv": "interpolate"}[d["upsample_block_type"]],
        "downsample_block_type": {"ConvPixelUnshuffle": "pixel_unshuffle", "Conv": "conv"}[e["downsample_block_type"]],
        "decoder_norm_types": [norm[n] for n in d["norm"]] if isinstance(d["norm"], list) else norm[d["norm"]],
        "decoder_act_fns": d["act"],
        "encoder_out_shortcut": e["out_shortcut"] is not None,
        "decoder_in_shortcut": d["in_shortcut"] is not None,
        "decoder_conv_act_fn": d["out_act"],
        "scaling_factor": cfg.get("scaling_factor") or 1.0,
    }
    os.makedirs(dst, exist_ok=True)
    write_st(os.path.join(dst, "diffusion_pytorch_model.safetensors"), out)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(dc, f, indent=1)
    print(len(out), "tensors written")


if __name__ == "__main__":
    main(*sys.argv[1:4])
