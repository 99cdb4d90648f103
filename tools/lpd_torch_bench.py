#!/usr/bin/env python3
"""Time the ORIGINAL LPD PyTorch code (github mit-han-lab/lpd at f447b83, not part of
this repository: fetched into build/lpd-src and carried to the GPU machine by
tools/lpd_gpu_stage.sh) with random weights at the release shapes, the same way its
engine.evaluate() times an evaluation batch: torch.cuda.synchronize(), then
LPD.sample_tokens (guidance 4.9, linear schedule, temperature 1, no top-k/top-p, the
group sizes of orders/group_sizes_lookup.json, the block-causal mask) followed by
VQModel.decode_code, then synchronize again. Warm-up runs first, then the median of N.

  python3 tools/lpd_torch_bench.py --src build/lpd-src --model xl --size 256 \
      --steps 20,32 --batch 1,64 --dtype bf16,fp32 [--runs 5] [--warmup 2] [--split]

--dtype bf16: torch.autocast(cuda, bfloat16), as the release's --bf16 evaluation (the
README's latency/throughput table). fp32: autocast off (true float32; TF32 matmuls off,
PyTorch's default; cuDNN convolutions may use TF32, also PyTorch's default). Note that
the original's evaluation without --bf16 runs autocast with dtype=None, i.e. float16.
--split also times sample_tokens alone and decode_code alone.

Each configuration prints one line
  RESULT impl=torch dtype=bf16 model=LPD-XL px=256 steps=20 B=1 total_s=... per_image_s=...
         img_per_s=... [tokens_s=... decode_s=...]
(or error="..."), the same keys as tests/bench/bench_lpd.c. Orders are random
permutations (the compute does not depend on them), precomputed outside the clock as
the original's evaluation does with its order files.

If timm is not importable (the offline GPU machine may lack it, and timm needs
torchvision), the run script installs the carried wheel; if that fails too, a minimal
stand-in for the three names models/block.py imports from timm.layers (Mlp: fc1, GELU,
fc2 with dropout; DropPath, unused at inference; use_fused_attn) is registered, and the
header line says so. torch.nn.attention.flex_attention (torch >= 2.5, used only for the
training mask) is stubbed the same way when missing.
"""
import argparse
import json
import os
import statistics
import sys
import time
import types


def shim_imports(torch, nn):
    notes = []
    try:
        import timm.layers  # noqa: F401
        import timm
        notes.append("timm %s" % getattr(timm, "__version__", "?"))
    except Exception as e:  # noqa: BLE001
        # stand-ins with the same computation as the layers the original uses at inference
        class Mlp(nn.Module):
            def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU,
                         norm_layer=None, bias=True, drop=0.0, **_):
                super().__init__()
                hidden_features = hidden_features or in_features
                out_features = out_features or in_features
                self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
                self.act = act_layer()
                self.drop1 = nn.Dropout(drop)
                self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
                self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)
                self.drop2 = nn.Dropout(drop)

            def forward(self, x):
                return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))

        class DropPath(nn.Module):
            def __init__(self, drop_prob=0.0, **_):
                super().__init__()

            def forward(self, x):
                return x

        layers = types.ModuleType("timm.layers")
        layers.Mlp, layers.DropPath = Mlp, DropPath
        layers.use_fused_attn = lambda *a, **k: hasattr(torch.nn.functional, "scaled_dot_product_attention")
        pkg = types.ModuleType("timm")
        pkg.layers = layers
        sys.modules["timm"], sys.modules["timm.layers"] = pkg, layers
        notes.append("timm NOT importable (%s): stand-in Mlp/DropPath used" % str(e).splitlines()[0][:120])
    try:
        import torch.nn.attention.flex_attention as fa
    except Exception:  # noqa: BLE001
        fa = types.ModuleType("torch.nn.attention.flex_attention")
        sys.modules["torch.nn.attention.flex_attention"] = fa
        if "torch.nn.attention" not in sys.modules:
            sys.modules["torch.nn.attention"] = types.ModuleType("torch.nn.attention")
        notes.append("flex_attention missing (torch < 2.5): stubbed, training-only")
    for nm in ("create_mask", "_mask_mod_signature"):  # imported by models/lpd.py, mask.py; training only
        if not hasattr(fa, nm):
            setattr(fa, nm, object)
            notes.append("flex_attention.%s stubbed (training-only)" % nm)
    if not hasattr(torch, "get_autocast_gpu_dtype"):  # models/lpd.py enable_kv_cache (deprecated in torch 2.4)
        torch.get_autocast_gpu_dtype = lambda: torch.get_autocast_dtype("cuda")
        notes.append("torch.get_autocast_gpu_dtype added as get_autocast_dtype('cuda')")
    return notes


SHAPES = {  # width, depth, heads (models/lpd.py: lpd_l, lpd_xl, lpd_xxl)
    "l": ("LPD-L", 1024, 24, 16),
    "xl": ("LPD-XL", 1280, 36, 20),
    "xxl": ("LPD-XXL", 1536, 48, 24),
    "tiny": ("tiny", 128, 2, 2),
}


def block_causal(block_sizes, device, torch):
    """Additive mask [n, n]: a row of block b sees every column up to the end of block b."""
    n = sum(block_sizes)
    ends = torch.repeat_interleave(torch.cumsum(torch.tensor(block_sizes), 0), torch.tensor(block_sizes))
    cols = torch.arange(n)
    allowed = cols[None, :] < ends[:, None]
    mask = torch.zeros(n, n)
    mask[~allowed] = float("-inf")
    return mask.to(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="build/lpd-src", help="checkout of mit-han-lab/lpd")
    ap.add_argument("--model", default="xl", choices=sorted(SHAPES))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--depth", type=int, default=0, help="override the number of blocks (smoke tests)")
    ap.add_argument("--steps", default=None, help="comma list (default 20 at 256 px, 48 at 512 px)")
    ap.add_argument("--group-sizes", default=None, help="explicit schedule instead of --steps (e.g. for tiny)")
    ap.add_argument("--batch", default="1")
    ap.add_argument("--dtype", default="bf16", help="comma list of bf16, fp32")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop a configuration's timed runs once they took this long (at least one run)")
    ap.add_argument("--cfg", type=float, default=4.9)
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--no-decode", action="store_true")
    ap.add_argument("--dry-run", action="store_true",
                    help="no GPU: import the original, build the models on the CPU, check the schedules and "
                         "the mask, decode one batch of random tokens, stop (sample_tokens itself is CUDA-only)")
    a = ap.parse_args()

    import numpy as np
    import torch
    import torch.nn as nn
    from functools import partial

    notes = shim_imports(torch, nn)
    sys.path.insert(0, os.path.abspath(a.src))
    from models.lpd import LPD  # the original code
    from models.vqgan import VQModel

    if not torch.cuda.is_available() and not a.dry_run:
        sys.exit("lpd_torch_bench: CUDA is not available (the original's sample_tokens is CUDA-only)")
    name, D, depth, H = SHAPES[a.model]
    depth = a.depth or depth
    dev = torch.device("cpu" if a.dry_run else "cuda")
    sync = (lambda: None) if a.dry_run else torch.cuda.synchronize
    torch.manual_seed(0)
    np.random.seed(0)
    t0 = time.time()
    with torch.device(dev):  # parameters created (and randomly initialised) on the device: fast
        model = LPD(img_size=a.size, vqgan_stride=16, decoder_embed_dim=D, decoder_depth=depth, decoder_num_heads=H,
                    mlp_ratio=4, norm_layer=partial(nn.LayerNorm, eps=1e-6), class_num=1000,
                    vqgan_vocab_size=16384).to(dev).eval()
        vq = VQModel(codebook_size=16384).to(dev).eval()
    for p in list(model.parameters()) + list(vq.parameters()):
        p.requires_grad = False
    sync()
    nparam = sum(p.numel() for p in model.parameters()) / 1e6
    print("lpd_torch_bench: %s width %d depth %d heads %d (%.0fM parameters, random init), VQ %.0fM; %d px; "
          "torch %s, %s, %s; %s; built in %.1f s" % (
              name, D, depth, H, nparam, sum(p.numel() for p in vq.parameters()) / 1e6, a.size, torch.__version__,
              "CPU dry run" if a.dry_run else torch.cuda.get_device_name(0), "CUDA " + str(torch.version.cuda), "; ".join(notes), time.time() - t0),
          flush=True)

    lookup = json.load(open(os.path.join(a.src, "orders", "group_sizes_lookup.json")))
    grid = a.size // 16
    N = grid * grid
    if a.group_sizes:
        schedules = [[int(x) for x in a.group_sizes.split(",")]]
    else:
        steps = [int(s) for s in (a.steps or ("48" if a.size > 256 else "20")).split(",")]
        schedules = [lookup["%d resolution" % a.size]["%d steps" % s] for s in steps]
    batches = [int(b) for b in a.batch.split(",")]
    dtypes = a.dtype.split(",")
    if a.dry_run:
        for gs in schedules:
            assert sum(gs) == N, "group sizes sum to %d, not %d" % (sum(gs), N)
            m = block_causal([1] + list(gs), dev, torch)
            assert m.shape == (N + 1, N + 1) and bool(torch.isinf(m[0, 1:]).all()) and m[-1].eq(0).all()
        B = batches[0]
        with torch.no_grad():
            img = vq.decode_code(torch.randint(0, 16384, (B, N)), shape=(B, -1, grid, grid))
        print("dry run: schedules %s, mask ok, decode_code -> %s" % ([len(g) for g in schedules], tuple(img.shape)))
        return
    for gs in schedules:
        assert sum(gs) == N, "group sizes sum to %d, not %d" % (sum(gs), N)
        mask = block_causal([1] + list(gs), dev, torch)
        for B in batches:
            for dt in dtypes:
                head = "impl=torch device=cuda dtype=%s model=%s px=%d steps=%d B=%d" % (dt, name, a.size, len(gs), B)
                labels = torch.arange(B, device=dev, dtype=torch.long) * 97 % 1000
                orders = torch.stack([torch.randperm(N) for _ in range(B)]).to(dev)

                def tokens_fn():
                    return model.sample_tokens(bsz=B, cfg=a.cfg, cfg_schedule="linear", labels=labels,
                                               temperature=1.0, attn_mask=mask, top_k=0, top_p=1.0,
                                               group_sizes=list(gs), orders=orders)

                def decode_fn(tok):
                    return vq.decode_code(tok, shape=(B, -1, grid, grid))

                def timed(fn, runs, warm):
                    ts = []
                    for i in range(warm + runs):
                        torch.cuda.synchronize()
                        s = time.time()
                        with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16,
                                                             enabled=(dt == "bf16")):
                            fn()
                        torch.cuda.synchronize()
                        if i >= warm:
                            ts.append(time.time() - s)
                            if a.max_seconds > 0 and sum(ts) >= a.max_seconds:
                                break
                    res["runs"] = len(ts)
                    return statistics.median(ts), min(ts), max(ts)

                res = {"runs": 0}
                try:
                    print("== %s %d px, %d steps, batch %d, %s" % (name, a.size, len(gs), B, dt), flush=True)
                    if not a.no_decode:
                        med, lo, hi = timed(lambda: decode_fn(tokens_fn()), a.runs, a.warmup)
                        res["total_s"] = med
                        print("  sample_tokens + decode_code: median %.4f s (min %.4f, max %.4f, %d runs), %.4f s "
                              "per image, %.2f images/s" % (med, lo, hi, res["runs"], med / B, B / med), flush=True)
                    if a.split or a.no_decode:
                        med, lo, hi = timed(tokens_fn, a.runs, 0 if not a.no_decode else a.warmup)
                        res["tokens_s"] = med
                        print("  sample_tokens only: median %.4f s (min %.4f, max %.4f)" % (med, lo, hi), flush=True)
                        if not a.no_decode:
                            with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16,
                                                                 enabled=(dt == "bf16")):
                                tok = tokens_fn()
                            med, lo, hi = timed(lambda: decode_fn(tok), a.runs, 1)
                            res["decode_s"] = med
                            print("  decode_code only: median %.4f s (min %.4f, max %.4f)" % (med, lo, hi), flush=True)
                except Exception as e:  # noqa: BLE001 (e.g. out of memory: report and go on)
                    res["error"] = str(e).splitlines()[0][:200].replace('"', "'")
                    print("  FAILED: %s" % res["error"], flush=True)
                    model.disable_kv_cache()
                    torch.cuda.empty_cache()
                line = "RESULT " + head
                if "total_s" in res:
                    t = res["total_s"]
                    line += " total_s=%.4f per_image_s=%.5f img_per_s=%.2f" % (t, t / B, B / t)
                for k in ("tokens_s", "decode_s"):
                    if k in res:
                        line += " %s=%.4f" % (k, res[k])
                if "error" in res:
                    line += ' error="%s"' % res["error"]
                line += " runs=%d warmup=%d peak_mem_gib=%.1f" % (res["runs"], a.warmup,
                                                                  torch.cuda.max_memory_allocated() / 2**30)
                print(line, flush=True)
                torch.cuda.reset_peak_memory_stats()


if __name__ == "__main__":
    main()
