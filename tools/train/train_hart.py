#!/usr/bin/env python3
"""Train the bundled HART model (tokenizer + transformer + diffusion head) on the shapes dataset.

Stages (one process; each stage is bounded by a time budget so a run fits its slot):
  1. data: N images of tools/dataset/shapes.py (seed --seed, generated here, in parallel), their
     captions -> token ids (tools/train/text_ids.json) -> contexts from the frozen Qwen2 text
     encoder (models/hart-tiny-demo/text_encoder; the PyTorch mirror in hart_torch.py).
  2. tokenizer: encoder/decoder + multi-scale VQ (+ continuous residual) for --tok-seconds.
  3. latent scale: the latent is rescaled (folded into the weights) so that the diffusion target
     residual/0.6 stays inside [-1, 1] (the C sampler clips x0 there).
  4. transformer + diffusion head for --tf-seconds (teacher forcing, 10% null context).
  5. export: OUT/model/{llm,tokenizer,text_encoder} in the release layout, float32 weights
     (tools/train/export.py converts them to float16 for shipping), plus OUT/train_log.json.

  python3 tools/train/train_hart.py --out OUT [--device cuda] [--n 120000] [--smoke]
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import hart_torch as ht  # noqa: E402
import text_ids  # noqa: E402
from common import log  # noqa: E402

TEXT_MODEL = os.path.join(common.ROOT, "models", "hart-tiny-demo", "text_encoder")

TOK_CFG = {
    "architectures": ["HARTAutoEncoderWithDisc"], "beta": 0.25, "ch": 32, "ch_mult": [1, 1, 2, 2],
    "num_res_blocks": 1, "default_qresi_counts": 0, "disable_quant_resi": False, "double_decoder": False,
    "dropout": 0.0, "dtype": "float32", "freeze_codebook_for_hybrid": True, "hybrid": True,
    "model_type": "hart_autoencoder_with_disc", "quant_conv_ks": 3, "quant_resi": 0.5, "quantizer_type": "var_hybrid",
    "share_quant_resi": 4, "test_mode": True, "using_znorm": False, "v_patch_nums": [1, 2, 3, 4, 6, 8],
    "vocab_size": 512, "z_channels": 8,
}
LLM_CFG = {
    "architectures": ["HARTForT2I"], "attn_drop_rate": 0.0, "attn_l2_norm": False, "attn_type": "llama",
    "cond_drop_rate": 0.1, "context_dim": 64, "context_norm_scale": 1.0, "context_token": 80, "depth": 6,
    "diff_depth": 3, "diff_width": 128, "diffusion_batch_mul": 4, "diffusion_head_repeats": 1, "disable_aln": False,
    "drop_path_rate": 0.0, "drop_rate": 0.0, "dtype": "float32", "embed_dim": 128, "flash_if_available": False,
    "fused_if_available": False, "mlp_ratio": 4.0, "mlp_type": "llama", "model_type": "hart_transformer_t2i",
    "norm_eps": 1e-06, "num_heads": 4, "num_sampling_steps": "8", "patch_nums": [1, 2, 3, 4, 6, 8], "sampler": "iddpm",
    "sep_aln_pooling_mode": "max", "shared_aln": False, "use_context_norm": True, "use_cross_attn": False,
    "use_timestep_embed": False, "vae_path": None,
}
VAE_SCALE = 0.6


# ------------------------------------------------------------------ data
def load_text_encoder(dev):
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(TEXT_MODEL, "config.json")))
    return ht.Qwen2(cfg, load_file(os.path.join(TEXT_MODEL, "model.safetensors"))).to(dev)


def prompt_tensors(caps, T, table):
    """ids [B,T] (right padded with <|endoftext|>, right truncated), mask [B,T] uint8, pos [B,T] int64."""
    B = len(caps)
    ids = np.full((B, T), table["pad_id"], np.int64)
    for i, c in enumerate(caps):
        t = text_ids.caption_ids(c, table)[:T]
        ids[i, :len(t)] = t
    mask = (ids != table["pad_id"]).astype(np.uint8)
    pos = np.cumsum(mask.astype(np.int64), 1) - 1
    return ids, mask, pos


@torch.no_grad()
def encode_contexts(te, caps, T, table, dev, bs=512):
    """Contexts [N,T,D] (float32, on dev) and position ids [N,T] as HART's prompt encoding computes them."""
    sys_ids = torch.tensor(table["system_prompt"][:T], device=dev)  # truncated to max_len, as HART does
    ids, mask, pos = prompt_tensors(caps, T, table)
    out = []
    for s in range(0, len(caps), bs):
        i = torch.from_numpy(ids[s:s + bs]).to(dev)
        m = torch.from_numpy(mask[s:s + bs]).to(dev)
        b = i.shape[0]
        full = torch.cat([sys_ids[None].expand(b, -1), i], 1)
        fm = torch.cat([torch.ones(b, len(sys_ids), dtype=m.dtype, device=dev), m], 1)
        out.append(te(full, fm)[:, len(sys_ids):].float())
    return torch.cat(out), torch.from_numpy(pos).to(dev)


# ------------------------------------------------------------------ tokenizer
def train_tokenizer(tok, imgs, dev, seconds, bs, log_every, hist, max_steps=None, lr0=4e-4, warmup=200, amp=False):
    opt = torch.optim.AdamW(tok.parameters(), lr=lr0, betas=(0.9, 0.95), weight_decay=0.0)
    N = imgs.shape[0]
    V = tok.cfg["vocab_size"]
    usage = torch.zeros(V, device=dev)
    g = torch.Generator(device="cpu").manual_seed(1)
    stage = common.Stage("tokenizer", opt, seconds, max_steps, lr0, warmup, 0.1, log_every, hist)
    for step, lr in stage:
        idx = torch.randint(0, N, (bs,), generator=g)
        x = common.to_unit(imgs[idx.to(imgs.device)], dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            f = tok.encode(x).float()
        idxs, fhat, _, vq_loss, zins = tok.quantize.quantize(f)  # nearest codes in float32
        f_st = f + (fhat - f).detach()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            rc = tok.decode_raw(torch.cat([f, f_st])).float()
        rc, rd = rc[:bs], rc[bs:]
        rec_c = F.l1_loss(rc, x) + F.mse_loss(rc, x)
        rec_d = F.l1_loss(rd, x) + F.mse_loss(rd, x)
        loss = rec_c + 0.5 * rec_d + vq_loss + 1e-3 * f.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for i in idxs:
                usage += torch.bincount(i.flatten(), minlength=V).float()
        common.restart_dead_codes(step, usage, tok.quantize.embedding.weight, lambda: torch.cat(zins), hist)
        if stage.due(step):
            stage.record(step, lr, loss=loss.item(), rec_cont=rec_c.item(), rec_disc=rec_d.item(),
                         vq=float(vq_loss.detach()))
    return stage.steps


@torch.no_grad()
def tokenize_all(tok, imgs, dev, bs=1024):
    """Per image: indices of all scales [N,Σpn²], teacher-forcing inputs [N,L-T,z], last-scale
    residual target [N,P²,z] (x0 of the diffusion head, i.e. residual/0.6)."""
    idx_all, xin_all, res_all, fs = [], [], [], []
    S = len(tok.cfg["v_patch_nums"])
    P = tok.cfg["v_patch_nums"][-1]
    for s in range(0, imgs.shape[0], bs):
        x = common.to_unit(imgs[s:s + bs], dev)
        f = tok.encode(x)
        idxs, _, rest, _, _ = tok.quantize.quantize(f)
        nxt, _ = tok.quantize.next_inputs(idxs, P)
        xin = torch.cat([n.flatten(2).transpose(1, 2) for n in nxt], 1)
        e_last = tok.quantize.embedding(idxs[S - 1])  # [B,P²,z]
        res = rest.flatten(2).transpose(1, 2) - e_last
        idx_all.append(torch.cat(idxs, 1))
        xin_all.append(xin)
        res_all.append(res / VAE_SCALE)
        fs.append(f.flatten())
    return torch.cat(idx_all), torch.cat(xin_all), torch.cat(res_all)


@torch.no_grad()
def rescale_latent(tok, s):
    """Multiply the latent by s, keeping every image the same (folded into the weights): f' = s·f."""
    q = tok.quantize
    tok.quant_conv.weight.mul_(s)
    tok.quant_conv.bias.mul_(s)
    tok.post_quant_conv.weight.div_(s)
    q.embedding.weight.mul_(s)
    for c in q.quant_resi.qresi_ls:
        c.bias.mul_(s)


# ------------------------------------------------------------------ transformer
def train_transformer(tf, ctx, pos, idx_all, xin_all, res_all, codebook, dev, seconds, bs, log_every, hist,
                      max_steps=None, amp=False, lr0=6e-4, warmup=300):
    Z = codebook.shape[1]
    opt = common.adamw(tf, lr0, lambda n: "embed" in n)
    fin = tf.diffloss.net.final_layer.linear
    ac = torch.tensor(ht.cosine_alphas_cumprod(), dtype=torch.float32, device=dev)
    N = idx_all.shape[0]
    P2 = res_all.shape[1]
    g = torch.Generator(device="cpu").manual_seed(2)
    stage = common.Stage("transformer", opt, seconds, max_steps, lr0, warmup, 0.05, log_every, hist)
    for step, lr in stage:
        i = torch.randint(0, N, (bs,), generator=g).to(dev)
        c, p = ctx[i].float(), pos[i]
        drop = torch.rand(bs, device=dev) < 0.1  # null context: zeros, position ids 0
        c = torch.where(drop[:, None, None], torch.zeros_like(c), c)
        p = torch.where(drop[:, None], torch.zeros_like(p), p)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            hidden, logits = tf(c, p, xin_all[i].float())
            ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), idx_all[i].reshape(-1))
            last = idx_all[i][:, -P2:]
            cond = tf.diff_cond(hidden[:, -P2:], codebook[last]).reshape(-1, hidden.shape[-1])
            x0 = res_all[i].reshape(-1, Z).float()
            rep = 4
            cond, x0 = cond.repeat(rep, 1), x0.repeat(rep, 1)
            t = torch.randint(0, 1000, (x0.shape[0],), device=dev)
            eps = torch.randn_like(x0)
            a = ac[t][:, None]
            xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
            out = tf.diffloss.net(xt, t, cond)
            dl = F.mse_loss(out[:, :Z].float(), eps)
        loss = ce + dl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        fin.weight.grad[Z:] = 0  # the variance channel stays fixed (v = -1: posterior variance)
        fin.bias.grad[Z:] = 0
        torch.nn.utils.clip_grad_norm_(tf.parameters(), 2.0)
        opt.step()
        if stage.due(step):
            with torch.no_grad():
                acc = (logits.argmax(-1) == idx_all[i]).float().mean().item()
            stage.record(step, lr, loss=loss.item(), ce=ce.item(), diff=dl.item(), token_acc=acc)
    return stage.steps


def init_transformer(tf):
    for n, p in tf.named_parameters():
        if p.ndim == 2 and "lvl_embed" not in n:
            torch.nn.init.trunc_normal_(p, std=0.02)
        elif n.endswith("bias"):
            torch.nn.init.zeros_(p)
    for b in tf.blocks:  # AdaLN starts near identity: gamma small, scale/shift 0
        torch.nn.init.zeros_(b.ada_lin[1].weight)
        with torch.no_grad():
            b.ada_lin[1].bias.zero_()
            b.ada_lin[1].bias[:2 * tf.C] = 0.3
    torch.nn.init.zeros_(tf.head_nm.ada_lin[1].weight)
    torch.nn.init.zeros_(tf.head_nm.ada_lin[1].bias)
    torch.nn.init.trunc_normal_(tf.lvl_embed.weight, std=0.02)
    fin = tf.diffloss.net.final_layer
    Z = fin.linear.weight.shape[0] // 2
    with torch.no_grad():
        fin.linear.weight.zero_()
        fin.linear.bias.zero_()
        fin.linear.bias[Z:] = -1.0
        for blk in tf.diffloss.net.res_blocks:
            blk.adaLN_modulation[1].weight.zero_()
            blk.adaLN_modulation[1].bias.zero_()
        fin.adaLN_modulation[1].weight.zero_()
        fin.adaLN_modulation[1].bias.zero_()


def save_model(out, tok, tf, tok_cfg, llm_cfg, copy_text=True):
    from safetensors.torch import save_file
    for sub in ("llm", "tokenizer") + (("text_encoder",) if copy_text else ()):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    sd = {"vae." + k: v.detach().float().cpu().contiguous() for k, v in tok.state_dict().items()}
    save_file(sd, os.path.join(out, "tokenizer", "model.safetensors"))
    json.dump(tok_cfg, open(os.path.join(out, "tokenizer", "config.json"), "w"), indent=2)
    if tf is None:
        return
    sd = {k: v.detach().float().cpu().contiguous() for k, v in tf.state_dict().items()}
    save_file(sd, os.path.join(out, "llm", "model.safetensors"))
    json.dump(llm_cfg, open(os.path.join(out, "llm", "config.json"), "w"), indent=2)
    for f in () if not copy_text else ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(os.path.join(TEXT_MODEL, f), os.path.join(out, "text_encoder", f))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_common_args(ap, 120000, [("tok", 150, 128, 4e-4), ("tf", 270, 256, 6e-4)], "transformer")
    ap.add_argument("--init", help="start from this model folder (release layout, e.g. an earlier run's OUT/model)")
    ap.add_argument("--no-text-copy", action="store_true", help="do not copy the text encoder into OUT/model")
    a = ap.parse_args()
    dev, info = common.setup(a)
    tok_cfg, llm_cfg = dict(TOK_CFG), dict(LLM_CFG)
    if a.smoke:
        llm_cfg.update(depth=1, embed_dim=64, diff_depth=1, diff_width=32)
    hist, t_all = [], time.time()
    log(f"data: {a.n} images, seed {a.seed}")
    t = time.time()
    imgs, caps, _ = common.make_data(a.seed, a.n, a.workers if not a.smoke else 1)
    imgs = torch.from_numpy(imgs)
    if dev.type == "cuda":
        imgs = imgs.to(dev)
    table = json.load(open(text_ids.TABLE))
    te = load_text_encoder(dev)
    ctx, pos = encode_contexts(te, caps, llm_cfg["context_token"], table, dev)
    info["data_s"] = round(time.time() - t, 1)
    log(f"data ready in {info['data_s']} s: images {tuple(imgs.shape)}, contexts {tuple(ctx.shape)}")

    tok = ht.HartTokenizer(tok_cfg).to(dev)
    init_sd = None
    if a.init:
        from safetensors.torch import load_file
        sd = load_file(os.path.join(a.init, "tokenizer", "model.safetensors"))
        tok.load_state_dict({k[4:]: v.float() for k, v in sd.items()})
        init_sd = {k: v.float() for k, v in load_file(os.path.join(a.init, "llm", "model.safetensors")).items()}
        info["init"] = a.init
    t = time.time()
    info["tok_steps"] = train_tokenizer(tok, imgs, dev, a.tok_seconds, a.tok_bs, 100 if not a.smoke else 1, hist,
                                        a.max_steps, lr0=a.tok_lr, warmup=20 if a.init else 200,
                                        amp=dev.type == "cuda")
    info["tok_s"] = round(time.time() - t, 1)
    tok.eval()
    idx_all, xin_all, res_all = tokenize_all(tok, imgs, dev)
    q = torch.quantile(res_all.flatten()[:2_000_000].abs().float(), 0.999).item()
    info["residual_q999_before"] = q
    if q > 0.9:
        s = 0.9 / q
        rescale_latent(tok, s)
        idx_all2, xin_all, res_all = tokenize_all(tok, imgs, dev)
        info["latent_rescale"] = s
        info["rescale_index_agreement"] = (idx_all2 == idx_all).float().mean().item()
        idx_all = idx_all2
    info["residual_q999"] = torch.quantile(res_all.flatten()[:2_000_000].abs().float(), 0.999).item()
    with torch.no_grad():  # reconstruction quality on 512 images (continuous and token-only paths)
        x = common.to_unit(imgs[:512], dev)
        f = tok.encode(x)
        _, fh, _, _, _ = tok.quantize.quantize(f)
        info["recon_psnr_continuous"] = common.psnr(tok.decode(f), x)
        info["recon_psnr_tokens"] = common.psnr(tok.decode(fh), x)
        info["codes_used"] = int(torch.unique(idx_all).numel())
    log(json.dumps({k: v for k, v in info.items()}))
    for p in tok.parameters():
        p.requires_grad_(False)
    save_model(os.path.join(a.out, "model"), tok, None, tok_cfg, None, False)
    common.write_log(a.out, info, hist)
    tf_seconds = common.stage_seconds(a.tf_seconds, a.budget, t_all, 30)
    info["tf_seconds_planned"] = tf_seconds

    tf = ht.HartTransformer(llm_cfg, tok_cfg["vocab_size"], tok_cfg["z_channels"]).to(dev)
    init_transformer(tf)
    if init_sd is not None:
        tf.load_state_dict(init_sd)
    info["llm_params"] = sum(p.numel() for p in tf.parameters())
    info["tok_params"] = sum(p.numel() for p in tok.parameters())
    codebook = tok.quantize.embedding.weight.detach()
    t = time.time()
    info["tf_steps"] = train_transformer(tf, ctx, pos, idx_all, xin_all, res_all, codebook, dev, tf_seconds,
                                         a.tf_bs, 100 if not a.smoke else 1, hist, a.max_steps,
                                         amp=dev.type == "cuda", lr0=a.tf_lr, warmup=50 if a.init else 300)
    info["tf_s"] = round(time.time() - t, 1)
    save_model(os.path.join(a.out, "model"), tok, tf, tok_cfg, llm_cfg, not a.no_text_copy)
    info["total_s"] = round(time.time() - t_all, 1)
    common.write_log(a.out, info, hist)
    log("done: " + json.dumps(info))


if __name__ == "__main__":
    main()
