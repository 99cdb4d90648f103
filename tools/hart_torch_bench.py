#!/usr/bin/env python3
"""Time the ORIGINAL HART PyTorch code (github mit-han-lab/hart; not part of this
repository: tools/hart_gpu_stage.sh extracts its hart/ package into build/hart-src and
carries it to the GPU machine) with random weights, built from one of our llm
config.json files, the way its latency_profile.py times generation: torch.inference_mode
and torch.autocast(cuda, float16), then HARTForT2I.autoregressive_infer_cfg (all scales,
the residual diffusion head and the tokenizer decode to pixels: the method ends with
vae.fhat_to_img), torch.cuda.synchronize() before and after. The text encoder is
excluded: the context is random [B, context_token, context_dim] with every position
valid, as tests/bench/bench_hart.c feeds ours. Warm-up runs, then the median of N.

  python3 tools/hart_torch_bench.py --src build/hart-src \\
      --config configs/hart-0.7b-1024px-llm.json --size 1024,512 --batch 1,4 \\
      [--runs 5] [--warmup 2] [--split] [--max-seconds S] [--extra qwen2,dcae]
  python3 tools/hart_torch_bench.py --device cpu --tiny     (dry run, no GPU: small shapes)
  python3 tools/hart_torch_bench.py --device cpu --dtype fp32 --kernels standin --decode-only \
      --size 256 --batch 1 --runs 3 --warmup 1     (the tokenizer decode alone; tools/hart_cpu_side_by_side.sh)

On the CPU the thread count is $HART_TORCH_THREADS (default 1).

The model: HARTForT2IConfig from the config file's fields (patch_nums replaced by the
scale list of --size, the same lists as bench_hart), HARTForT2I(config) with the
original's own init_weights(); no from_pretrained (no weights exist here, and the
device's transformers 5 need not load 4.x checkpoints). The constructor would load the
tokenizer with HARTAutoEncoderWithDisc.from_pretrained(vae_path); it gets instead a
random HARTAutoEncoder built from HARTAutoEncoderConfig's defaults (ch 160, ch_mult
1,1,2,2,4, z 32, vocab 4096) with quantizer_type var_hybrid and v_patch_nums = the
scale list, the tokenizer that bench_hart writes (tests/support/hart_random.c).
Sampling options as bench_hart's defaults: cfg 4.5, top-k 600/300 (the original's
per-scale default), top-p 0, more_smooth off (--more-smooth turns it on, as
latency_profile.py's default does), one maskgit iteration (the release's).

CUDA extension: the original imports hart_backend.fused_kernels (rms_norm; its fused
RoPE functions are not called at inference, where the naive rotary path runs).
--kernels auto (default): use an installed one; else on CUDA build it from
hart/kernels/csrc with torch.utils.cpp_extension into --kernel-dir (a child process
with --kernel-timeout; the original's nvcc flags except -std, targets the GPU's own
arch; the outcome is kept in KERNEL_DIR/STATUS so later runs reuse it); else a
plain-PyTorch stand-in with the same math (rms_norm: x * rsqrt(mean(x^2) + eps) in
float32, cast to x's dtype, times the weight; the RoPE functions as the original's
non-fused apply_rotary_pos_emb; the header gives the largest difference between the module
in use and those plain paths). --kernels standin forces the stand-in; --build-kernels
only builds (tools/hart_side_by_side.sh starts it in the background). The header line
says which was used, and which attention ran (flash_attn if importable, else PyTorch's
scaled_dot_product_attention: xformers is hard-wired off in the original).

Each configuration prints one line (or error="..."), keys as bench_hart's RESULT line:
  RESULT impl=torch config=NAME px=1024 B=1 total_s=... per_image_s=... img_per_s=...
         [tf_s= tf_last_s= diff_s= decode_s= other_s=] runs=N warmup=W dtype=fp16
         kernels=built|installed|standin attn=sdpa|flash_attn peak_mem_gib=...
--split adds the per-stage times from separate runs (--split-runs, median) with clocks
synchronized at each stage boundary: tf = the transformer blocks + logits head of
every scale, tf_last = that of the last scale, diff = the diffusion head's sampling,
decode = fhat_to_img, other = the rest of the same run (sampling, next-scale inputs).

--extra qwen2: transformers' Qwen2Model at the Qwen2-1.5B sizes (random weights, fp16,
B=2 x 439 tokens: 139 system-prompt + 300 prompt positions, as bench_qwen2), one forward.
--extra dcae: diffusers' AutoencoderDC for dc-ae-f32c32-in-1.0 (built from our
configs/dc-ae-f32c32-in-1.0.json, random weights, bf16), decode and encode at 1024².
Each is skipped with a note when the library is missing. Rows: RESULT impl=torch
config=qwen2-1.5b ... / config=dc-ae-f32c32-in-1.0 stage=decode|encode ...
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types

SCALES = {  # patch_nums per image size: bench_hart's lists (VAR/HART convention)
    256: (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
    512: (1, 2, 3, 4, 6, 9, 13, 18, 24, 32),
    1024: (1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64),
    64: (1, 2, 3, 4),  # --tiny only
    128: (1, 2, 4, 6, 8),
}
TINY_LLM = dict(depth=2, embed_dim=128, num_heads=4, context_token=16, context_dim=64, diff_width=64, diff_depth=2)
TOKENIZER = dict(vocab_size=4096, z_channels=32, ch=160, ch_mult=(1, 1, 2, 2, 4), quantizer_type="var_hybrid",
                 quant_resi=0.5, share_quant_resi=4, quant_conv_ks=3, default_qresi_counts=0)
KERNEL_SOURCES = ("csrc/rope/fused_rope.cu", "csrc/rope/fused_rope_with_pos.cu", "csrc/layernorm/layernorm_kernels.cu",
                  "csrc/pybind.cpp")
# the original's setup.py NVCC_FLAGS, less -std=c++17 (the installed torch picks its own standard) and --threads
NVCC_FLAGS = ["-O2", "-DENABLE_BF16", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
              "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math"]


def say(*a):
    print(*a, flush=True)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200].replace('"', "'")


# ---------------------------------------------------------------- the CUDA extension
def standin_kernels(torch):
    """hart_backend.fused_kernels in plain PyTorch, same math as the CUDA kernels."""
    def rms_norm(out, x, weight, epsilon, use_quant=False):
        xf = x.float()
        y = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + epsilon)).to(x.dtype) * weight.to(x.dtype)
        out.copy_(y.round().clamp(-128, 127) if use_quant else y)

    def rotate(t, cos, sin):  # the non-fused path: t * cos + rotate_half(t) * sin on the first d channels
        d = cos.shape[-1]
        r, rest = t[..., :d], t[..., d:]
        half = torch.cat((-r[..., d // 2:], r[..., :d // 2]), dim=-1)
        return torch.cat(((r.float() * cos + half.float() * sin).to(t.dtype), rest), dim=-1)

    def fused_rope_forward_func(t, freqs, transpose_output_memory=False):  # t: [s, b, h, d], freqs: [s, 1, 1, d2]
        return rotate(t, freqs.cos(), freqs.sin())

    def fused_rope_with_pos_forward_func(t, freqs, transpose_output_memory=False):  # freqs: [b, s, d2]
        f = freqs.transpose(0, 1).unsqueeze(2)  # [s, b, 1, d2]
        return rotate(t, f.cos(), f.sin())

    def fused_rope_backward_func(*_a, **_k):
        raise NotImplementedError("stand-in: inference only")

    m = types.ModuleType("hart_backend.fused_kernels")
    m.rms_norm = rms_norm
    m.fused_rope_forward_func = fused_rope_forward_func
    m.fused_rope_with_pos_forward_func = fused_rope_with_pos_forward_func
    m.fused_rope_backward_func = fused_rope_backward_func
    return m


def register_kernels(mod):
    pkg = sys.modules.get("hart_backend") or types.ModuleType("hart_backend")
    pkg.fused_kernels = mod
    sys.modules["hart_backend"], sys.modules["hart_backend.fused_kernels"] = pkg, mod


def load_built_kernels(src, kdir, verbose=False):
    import torch
    from torch.utils.cpp_extension import load
    if not os.environ.get("TORCH_CUDA_ARCH_LIST") and torch.cuda.is_available():
        os.environ["TORCH_CUDA_ARCH_LIST"] = "%d.%d" % torch.cuda.get_device_capability(0)
    kroot = os.path.join(os.path.abspath(src), "hart", "kernels")
    os.makedirs(kdir, exist_ok=True)
    return load(name="fused_kernels", sources=[os.path.join(kroot, s) for s in KERNEL_SOURCES],
                extra_cflags=["-O3", "-DENABLE_BF16"], extra_cuda_cflags=NVCC_FLAGS, build_directory=kdir,
                verbose=verbose)


def build_kernels_here(a):
    """--build-kernels: compile the extension, write KERNEL_DIR/STATUS ('ok S' or 'failed ...')."""
    t0 = time.time()
    os.makedirs(a.kernel_dir, exist_ok=True)
    status = os.path.join(a.kernel_dir, "STATUS")
    try:
        load_built_kernels(a.src, a.kernel_dir, verbose=True)
        msg = "ok %.1f" % (time.time() - t0)
    except BaseException as e:  # noqa: BLE001 (compiler errors come as several kinds)
        msg = "failed after %.1f s: %s" % (time.time() - t0, first_line(e))
    with open(status, "w") as f:
        f.write(msg + "\n")
    say("hart_torch_bench: kernel build %s" % msg)
    return 0 if msg.startswith("ok") else 1


def provide_kernels(a, torch):
    """Make `import hart_backend.fused_kernels` work; return a note for the header."""
    if a.kernels == "standin":
        register_kernels(standin_kernels(torch))
        return "standin", "fused_kernels: plain-PyTorch stand-in (--kernels standin)"
    try:
        import hart_backend.fused_kernels  # noqa: F401
        return "installed", "fused_kernels: installed hart_backend"
    except Exception as e:  # noqa: BLE001
        why = first_line(e)
    if a.device == "cuda":
        status = os.path.join(a.kernel_dir, "STATUS")
        if not os.path.exists(status):
            t0 = time.time()
            try:
                subprocess.run([sys.executable, os.path.abspath(__file__), "--build-kernels", "--src", a.src,
                                "--kernel-dir", a.kernel_dir], timeout=a.kernel_timeout, check=False,
                               stdout=subprocess.DEVNULL if not a.verbose_build else None)
            except subprocess.TimeoutExpired:
                with open(status, "w") as f:
                    f.write("failed: build timed out after %d s\n" % a.kernel_timeout)
            say("hart_torch_bench: kernel build step took %.1f s" % (time.time() - t0))
        st = open(status).read().strip() if os.path.exists(status) else "failed: no STATUS"
        if st.startswith("ok"):
            try:
                t0 = time.time()
                register_kernels(load_built_kernels(a.src, a.kernel_dir))
                return "built", "fused_kernels: built here from hart/kernels (build %s s, load %.1f s)" % (
                    st.split()[1], time.time() - t0)
            except Exception as e:  # noqa: BLE001
                st = "failed to load: " + first_line(e)
        why = "build " + st
    register_kernels(standin_kernels(torch))
    return "standin", "fused_kernels: plain-PyTorch stand-in (%s)" % why


def kernel_check(torch, dev, bh):
    """The fused module in use (built or stand-in) against the original's own plain-PyTorch
    paths: LlamaRMSNorm (the formula) and apply_rotary_pos_emb (the non-fused RoPE)."""
    g = torch.Generator(device="cpu").manual_seed(7)
    worst = []
    for dt in (torch.float32, torch.float16):
        x = torch.randn(4, 5, 256, generator=g).to(dev, dt)
        fused, plain = bh.LlamaRMSNormFused(256, eps=1e-6).to(dev), bh.LlamaRMSNorm(256, eps=1e-6).to(dev, dt)
        w = torch.rand(256, generator=g) + 0.5
        fused.weight.data.copy_(w)
        plain.weight.data.copy_(w)
        worst.append((fused(x).float() - plain(x).float()).abs().max().item())
    # RoPE: t [b, s, h, d] with freqs [s, 1, 1, d] (fused, bshd) against q*cos + rotate_half(q)*sin
    t = torch.randn(2, 6, 3, 16, generator=g).to(dev)
    freqs = torch.rand(6, 1, 1, 16, generator=g).to(dev) * 3
    got = bh.FusedRoPEFunc.apply(t, freqs, "bshd")
    cos, sin = freqs.cos()[:, 0, 0].unsqueeze(0), freqs.sin()[:, 0, 0].unsqueeze(0)  # [1, s, d]
    ref, _ = bh.apply_rotary_pos_emb(t, t, cos, sin, unsqueeze_dim=2)
    worst.append((got - ref).abs().max().item())
    return "fused_kernels vs the original's plain paths: rms_norm max |diff| f32 %.1e, f16 %.1e; rope %.1e" % tuple(
        worst)


def shim_imports(a, torch):
    notes = []
    try:
        import scipy.stats  # noqa: F401 (the constructor's MAR mask-ratio generator; training only)
    except Exception:  # noqa: BLE001
        st = types.ModuleType("scipy.stats")
        st.truncnorm = lambda *x, **k: None
        sc = types.ModuleType("scipy")
        sc.stats = st
        sys.modules["scipy"], sys.modules["scipy.stats"] = sc, st
        notes.append("scipy missing: stats.truncnorm stubbed (training-only)")
    if a.device == "cpu":  # the original calls .cuda() in many places; on the CPU dry run they stay put
        torch.Tensor.cuda = lambda self, *x, **k: self
        torch.nn.Module.cuda = lambda self, *x, **k: self
        notes.append(".cuda() is a no-op (CPU dry run)")
    return notes


# ---------------------------------------------------------------- the model
def build_hart(a, torch, cfgd, pn, dev):
    from hart.modules.models.autoencoder import HARTAutoEncoder, HARTAutoEncoderConfig
    from hart.modules.models.transformer import hart_transformer_t2i as T
    from hart.modules.models.transformer.configuration import HARTForT2IConfig

    tok = dict(TOKENIZER, v_patch_nums=tuple(pn))
    if a.tiny:
        tok["ch"] = 32

    class RandomTokenizer:  # in place of HARTAutoEncoderWithDisc.from_pretrained(vae_path): no file, random weights
        @staticmethod
        def from_pretrained(*_a, **_k):
            return types.SimpleNamespace(vae=HARTAutoEncoder(HARTAutoEncoderConfig(**tok)))

    T.HARTAutoEncoderWithDisc = RandomTokenizer
    keys = {k: v for k, v in cfgd.items() if not k.startswith("_") and k != "model_type"}
    keys["patch_nums"] = tuple(pn)
    with torch.device(dev):
        model = T.HARTForT2I(HARTForT2IConfig(**keys))
        model.init_weights()  # the original's initialisation (std 0.02, scaled AdaLN and head)
    model = model.to(dev).eval()
    vae = model.vae_proxy[0].to(dev).eval()  # held in a tuple: not a submodule
    for p in list(model.parameters()) + list(vae.parameters()):
        p.requires_grad_(False)
    return model, vae


class StageClock:
    """Per-stage clocks for --split runs: synchronize at each boundary."""

    def __init__(self, model, vae, sync):
        self.sync, self.tf, self.diff, self.dec, self.t0 = sync, [], 0.0, 0.0, 0.0
        self.hook = model.blocks[0].register_forward_pre_hook(self._start)
        self.targets = [(model, "get_logits"), (model.diffloss, "sample"), (vae, "fhat_to_img")]
        for (obj, name), kind in zip(self.targets, ("tf", "diff", "dec")):
            setattr(obj, name, self._wrap(getattr(obj, name), kind))

    def _start(self, *_):
        if not self.t0:
            self.sync()
            self.t0 = time.perf_counter()

    def _wrap(self, fn, kind):
        def timed(*x, **k):
            if kind != "tf":
                self.sync()
                t = time.perf_counter()
            r = fn(*x, **k)
            self.sync()
            if kind == "tf":
                self.tf.append(time.perf_counter() - self.t0)
                self.t0 = 0.0
            elif kind == "diff":
                self.diff += time.perf_counter() - t
            else:
                self.dec += time.perf_counter() - t
            return r
        return timed

    def remove(self):
        self.hook.remove()
        for obj, name in self.targets:
            delattr(obj, name)  # back to the class's method


def peak_gib(torch, dev):
    return torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else 0.0


def bench_hart_rows(a, torch, dev, sync, cfg_path, head):
    cfgd = json.load(open(cfg_path))
    name = os.path.basename(cfg_path)[:-5] if cfg_path.endswith(".json") else os.path.basename(cfg_path)
    if a.tiny:
        cfgd.update(TINY_LLM)
        name += "-tiny"
    dt = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.dtype]
    for px in [int(s) for s in a.size.split(",")]:
        if px not in SCALES:
            say('RESULT impl=torch config=%s px=%d error="no scale list for %d px"' % (name, px, px))
            continue
        pn = SCALES[px]
        model = vae = None
        try:
            t0 = time.time()
            model, vae = build_hart(a, torch, cfgd, pn, dev)
            sync()
            attn = "flash_attn" if getattr(model.blocks[0].attn, "using_flash", False) else "sdpa"
            say("== %s, %d px (%d scales, last %dx%d): HARTForT2I %.0fM parameters (depth %d, width %d, %s), "
                "tokenizer %.0fM; built in %.1f s; attention %s" % (
                    name, px, len(pn), pn[-1], pn[-1], sum(p.numel() for p in model.parameters()) / 1e6,
                    cfgd["depth"], cfgd["embed_dim"], "disable_aln" if cfgd.get("disable_aln") else "per-block AdaLN",
                    sum(p.numel() for p in vae.parameters()) / 1e6, time.time() - t0, attn))
        except Exception as e:  # noqa: BLE001
            say('RESULT impl=torch config=%s px=%d error="build: %s"' % (name, px, first_line(e)))
            continue
        T, Dc = cfgd["context_token"], cfgd["context_dim"]
        for B in [int(b) for b in a.batch.split(",")]:
            res, runs = {}, 0
            g = torch.Generator(device="cpu").manual_seed(B)
            ctx = torch.randn(B, T, Dc, generator=g).to(dev)
            mask = torch.ones(B, T, dtype=torch.bool, device=dev)
            pos = (torch.cumsum(mask, dim=1) - 1).long()

            def generate():
                with torch.inference_mode(), torch.autocast(dev.type, dtype=dt, enabled=(a.dtype != "fp32"),
                                                            cache_enabled=True):
                    return model.autoregressive_infer_cfg(B=B, label_B=ctx, cfg=a.cfg, g_seed=1,
                                                          more_smooth=a.more_smooth, context_position_ids=pos,
                                                          context_mask=mask)

            def timed(n, warm, clock_cb=None):
                ts = []
                for i in range(warm + n):
                    sync()
                    s = time.perf_counter()
                    img = generate()
                    sync()
                    if i == 0 and not bool(torch.isfinite(img.float()).all()):
                        raise RuntimeError("non-finite pixels in the output")
                    if i >= warm:
                        ts.append(time.perf_counter() - s)
                        if clock_cb:
                            clock_cb(ts[-1])
                        if a.max_seconds > 0 and sum(ts) >= a.max_seconds:
                            break
                return ts, tuple(img.shape)

            try:
                if dev.type == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                ts, shape = timed(a.runs, a.warmup)
                runs = len(ts)
                res["total_s"] = statistics.median(ts)
                say("  B=%d: image %s; median %.4f s (min %.4f, max %.4f, %d runs after %d warm-up), %.4f s per image"
                    % (B, shape, res["total_s"], min(ts), max(ts), runs, a.warmup, res["total_s"] / B))
                if a.split:
                    rows = []
                    clock = StageClock(model, vae, sync)
                    try:
                        def take(total):
                            rows.append((total, sum(clock.tf), clock.tf[-1], clock.diff, clock.dec))
                            clock.tf, clock.diff, clock.dec = [], 0.0, 0.0

                        clock.tf, clock.diff, clock.dec = [], 0.0, 0.0
                        timed(a.split_runs, 0, take)
                    finally:
                        clock.remove()
                    med = [statistics.median(r[i] for r in rows) for i in range(5)]
                    res.update(tf_s=med[1], tf_last_s=med[2], diff_s=med[3], decode_s=med[4],
                               other_s=statistics.median(r[0] - r[1] - r[3] - r[4] for r in rows))
                    say("  split (%d runs, synchronized at each stage): whole %.4f s; transformer %.4f s (last scale "
                        "%.4f); diffusion head %.4f s; decode %.4f s; other %.4f s" % (
                            len(rows), med[0], med[1], med[2], med[3], med[4], res["other_s"]))
            except Exception as e:  # noqa: BLE001 (out of memory etc.: report and go on)
                res["error"] = first_line(e)
                say("  B=%d FAILED: %s" % (B, res["error"]))
                for blk in model.blocks:
                    blk.attn.kv_caching(False)
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
            line = "RESULT impl=torch config=%s px=%d B=%d" % (name, px, B)
            if "total_s" in res:
                t = res["total_s"]
                line += " total_s=%.4f per_image_s=%.5f img_per_s=%.3f" % (t, t / B, B / t)
            for k in ("tf_s", "tf_last_s", "diff_s", "decode_s", "other_s"):
                if k in res:
                    line += " %s=%.4f" % (k, res[k])
            if "error" in res:
                line += ' error="%s"' % res["error"]
            line += " runs=%d warmup=%d %s peak_mem_gib=%.1f" % (runs, a.warmup, head, peak_gib(torch, dev))
            say(line)
        del model, vae
        if dev.type == "cuda":
            torch.cuda.empty_cache()


# ---------------------------------------------------------------- optional rows
def timed_median(fn, sync, runs, warm):
    ts = []
    for i in range(warm + runs):
        sync()
        s = time.perf_counter()
        fn()
        sync()
        if i >= warm:
            ts.append(time.perf_counter() - s)
    return statistics.median(ts), len(ts)


def bench_decode_rows(a, torch, dev, sync, head):
    """--decode-only: the original's tokenizer decode alone (HARTAutoEncoder.fhat_to_img:
    post_quant_conv, then the decoder, then clamp), the same random tokenizer as build_hart
    (no transformer is built), f_hat random [B, 32, px/16, px/16]; median of --runs after --warmup."""
    from hart.modules.models.autoencoder import HARTAutoEncoder, HARTAutoEncoderConfig
    dt = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.dtype]
    for px in [int(s) for s in a.size.split(",")]:
        tok = dict(TOKENIZER, v_patch_nums=SCALES.get(px, (1,)))
        if a.tiny:
            tok["ch"] = 32
        with torch.device(dev):
            vae = HARTAutoEncoder(HARTAutoEncoderConfig(**tok)).to(dev).eval()
        for p in vae.parameters():
            p.requires_grad_(False)
        for B in [int(b) for b in a.batch.split(",")]:
            g = torch.Generator(device="cpu").manual_seed(B)
            f = torch.randn(B, TOKENIZER["z_channels"], px // 16, px // 16, generator=g).to(dev)

            def dec():
                with torch.inference_mode(), torch.autocast(dev.type, dtype=dt, enabled=(a.dtype != "fp32")):
                    return vae.fhat_to_img(f)

            med, n = timed_median(dec, sync, a.runs, a.warmup)
            say("RESULT impl=torch config=hart-tokenizer stage=decode px=%d B=%d total_s=%.4f per_image_s=%.5f runs=%d "
                "warmup=%d %s threads=%d" % (px, B, med, med / B, n, a.warmup, head, torch.get_num_threads()))
        del vae


def bench_qwen2(a, torch, dev, sync):
    try:
        import transformers
        from transformers import Qwen2Config, Qwen2Model
    except Exception as e:  # noqa: BLE001
        say("qwen2: transformers' Qwen2Model not importable (%s): row skipped" % first_line(e))
        return
    small = a.tiny
    cfg = Qwen2Config(vocab_size=1000 if small else 151936, hidden_size=64 if small else 1536,
                      intermediate_size=128 if small else 8960, num_hidden_layers=2 if small else 28,
                      num_attention_heads=4 if small else 12, num_key_value_heads=2, max_position_embeddings=32768,
                      rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True)
    B, L = 2, 139 + 300
    name = "qwen2-1.5b" + ("-tiny" if small else "")
    dt = torch.float16 if dev.type == "cuda" else torch.float32
    try:
        with torch.device(dev):
            m = Qwen2Model(cfg).to(dt).eval()
        ids = torch.randint(0, cfg.vocab_size, (B, L), device=dev)
        am = torch.ones(B, L, dtype=torch.long, device=dev)

        def fwd():
            with torch.inference_mode():
                return m(input_ids=ids, attention_mask=am).last_hidden_state

        med, n = timed_median(fwd, sync, 1 if a.tiny else max(3, a.runs), 1 if a.tiny else 2)
        attn = getattr(m.config, "_attn_implementation", "?")
        say("RESULT impl=torch config=%s stage=encode B=%d tokens=%d total_s=%.4f runs=%d dtype=%s attn=%s "
            "params_m=%.1f transformers=%s" % (name, B, L, med, n, str(dt).replace("torch.", ""), attn,
                                               sum(p.numel() for p in m.parameters()) / 1e6, transformers.__version__))
        del m
    except Exception as e:  # noqa: BLE001
        say('RESULT impl=torch config=%s stage=encode B=%d error="%s"' % (name, B, first_line(e)))


def bench_dcae(a, torch, dev, sync, repo):
    try:
        import diffusers
        from diffusers import AutoencoderDC
    except Exception as e:  # noqa: BLE001
        say("dcae: diffusers' AutoencoderDC not importable (%s): rows skipped" % first_line(e))
        return
    c = json.load(open(os.path.join(repo, "configs", "dc-ae-f32c32-in-1.0.json")))
    enc, dec = c["encoder"], c["decoder"]
    blk = {"ResBlock": "ResBlock", "EViT_GLU": "EfficientViTBlock"}
    norm = {"bn2d": "batch_norm", "trms2d": "rms_norm"}
    kw = dict(in_channels=c["in_channels"], latent_channels=c["latent_channels"],
              encoder_block_types=[blk[b] for b in enc["block_type"]],
              decoder_block_types=[blk[b] for b in dec["block_type"]],
              encoder_block_out_channels=enc["width_list"], decoder_block_out_channels=dec["width_list"],
              encoder_layers_per_block=enc["depth_list"], decoder_layers_per_block=dec["depth_list"],
              encoder_qkv_multiscales=[()] * len(enc["width_list"]),
              decoder_qkv_multiscales=[()] * len(dec["width_list"]),
              upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
              decoder_norm_types=[norm[n] for n in dec["norm"]], decoder_act_fns=dec["act"],
              scaling_factor=c.get("scaling_factor", 1.0))
    S = 128 if a.tiny else 1024
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    name = "dc-ae-f32c32-in-1.0"
    try:
        with torch.device(dev):
            m = AutoencoderDC(**kw).to(dt).eval()
        x = torch.randn(1, 3, S, S, device=dev, dtype=dt)
        z = torch.randn(1, c["latent_channels"], S // 32, S // 32, device=dev, dtype=dt)
        for stage, fn in (("decode", lambda: m.decode(z).sample), ("encode", lambda: m.encode(x).latent)):
            with torch.inference_mode():
                med, n = timed_median(fn, sync, 1 if a.tiny else max(3, a.runs), 1 if a.tiny else 2)
            say("RESULT impl=torch config=%s stage=%s px=%d B=1 total_s=%.4f runs=%d dtype=%s params_m=%.0f "
                "diffusers=%s" % (name, stage, S, med, n, str(dt).replace("torch.", ""),
                                  sum(p.numel() for p in getattr(m, stage + "r").parameters()) / 1e6,
                                  diffusers.__version__))
        del m
    except Exception as e:  # noqa: BLE001
        say('RESULT impl=torch config=%s px=%d error="%s"' % (name, S, first_line(e)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="build/hart-src", help="folder holding the original's hart/ package")
    ap.add_argument("--config", default="configs/hart-0.7b-1024px-llm.json", help="comma list of llm config files")
    ap.add_argument("--size", default=None, help="comma list (default 1024,512; --tiny: 64,128)")
    ap.add_argument("--batch", default="1,4")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop a configuration's timed runs once they took this long (at least one run)")
    ap.add_argument("--split", action="store_true", help="also time the stages (separate runs)")
    ap.add_argument("--split-runs", type=int, default=3)
    ap.add_argument("--dtype", default="fp16", choices=("fp16", "bf16", "fp32"), help="autocast type (fp32: off)")
    ap.add_argument("--cfg", type=float, default=4.5)
    ap.add_argument("--more-smooth", action="store_true")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--tiny", action="store_true", help="small shapes (dry runs): width 128, depth 2, tokenizer ch 32")
    ap.add_argument("--kernels", default="auto", choices=("auto", "standin"))
    ap.add_argument("--kernel-dir", default="/tmp/hart-fused-kernels")
    ap.add_argument("--kernel-timeout", type=int, default=300)
    ap.add_argument("--build-kernels", action="store_true", help="only build the CUDA extension, then exit")
    ap.add_argument("--verbose-build", action="store_true")
    ap.add_argument("--extra", default="", help="comma list: qwen2, dcae")
    ap.add_argument("--no-hart", action="store_true", help="only the --extra rows")
    ap.add_argument("--decode-only", action="store_true",
                    help="time only the tokenizer decode (fhat_to_img) at --size and --batch, then exit")
    a = ap.parse_args()
    if a.build_kernels:
        sys.exit(build_kernels_here(a))

    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("hart_torch_bench: CUDA is not available (use --device cpu for a dry run)")
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cpu":  # dry runs on a shared machine: OpenMP threads spinning against each other cost more
        torch.set_num_threads(int(os.environ.get("HART_TORCH_THREADS", "1")))
    torch.manual_seed(0)
    notes = shim_imports(a, torch)
    kernels, knote = provide_kernels(a, torch)
    notes.append(knote)
    sys.path.insert(0, os.path.abspath(a.src))
    try:
        from hart.modules.networks import basic_hart  # the original code (imports hart_backend.fused_kernels)
    except Exception as e:  # noqa: BLE001
        sys.exit("hart_torch_bench: cannot import the original from %s: %s" % (a.src, first_line(e)))
    try:
        notes.append(kernel_check(torch, dev, basic_hart))
    except Exception as e:  # noqa: BLE001
        notes.append("fused_kernels check FAILED: %s" % first_line(e))
    attn = "flash_attn" if basic_hart.flash_attn_func is not None else "sdpa"
    notes.append("attention: %s" % ("flash_attn.flash_attn_func" if attn == "flash_attn" else
                                    "torch.nn.functional.scaled_dot_product_attention (no flash_attn)"))
    if basic_hart.memory_efficient_attention is not None:
        notes.append("xformers importable but unused (the original hard-wires it off)")
    import transformers
    say("hart_torch_bench: torch %s (CUDA %s), transformers %s, %s; autocast %s; %s" % (
        torch.__version__, torch.version.cuda, transformers.__version__,
        torch.cuda.get_device_name(0) if dev.type == "cuda" else "CPU", a.dtype, "; ".join(notes)))
    head = "dtype=%s kernels=%s attn=%s" % (a.dtype, kernels, attn)
    if a.size is None:
        a.size = "64,128" if a.tiny else "1024,512"
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    if a.decode_only:
        bench_decode_rows(a, torch, dev, sync, head)
        return
    if not a.no_hart:
        for cfg_path in a.config.split(","):
            bench_hart_rows(a, torch, dev, sync, cfg_path, head)
    extras = [x for x in a.extra.split(",") if x]
    if "qwen2" in extras:
        bench_qwen2(a, torch, dev, sync)
    if "dcae" in extras:
        bench_dcae(a, torch, dev, sync, repo)


if __name__ == "__main__":
    main()
