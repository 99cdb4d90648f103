#!/usr/bin/env python3
"""Train the bundled class-conditional LPD model (LlamaGen-style VQ + LPD transformer) on the shapes set.

Stages (one process; each stage is bounded by a time budget so a run fits its slot):
  1. data: N images of tools/dataset/shapes.py (seed --seed, generated here, in parallel) and their
     class labels (shape * 8 + colour, 32 classes).
  2. VQ: encoder/decoder + l2-normalised codebook (64 px <-> 16x16 tokens) for --vq-seconds.
  3. tokens: every image -> 256 codebook indices.
  4. LPD transformer for --lpd-seconds: teacher forcing over [class, tokens in a random order, position
     queries] with the block-causal two-stream mask (lpd_torch.train_mask); the step schedule of each
     batch is one of the original's 256-token schedules (configs/lpd-group-sizes.json), so the model
     sees exactly the group structure `hart generate --steps K` uses; 10 % of the rows get the null
     class (fake_latent), as classifier-free guidance uses.
  5. OUT/model/{lpd.pth, vq.pt} ({"model": state_dict}, float32; tools/train/export_lpd.py makes the
     float16 release folder) and OUT/train_log.json.

  python3 tools/train/train_lpd.py --out OUT [--device cuda] [--n 100000] [--budget 520] [--smoke]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "dataset"))
import lpd_torch as lt  # noqa: E402
import shapes  # noqa: E402

SCHEDULES = os.path.join(ROOT, "configs", "lpd-group-sizes.json")
VQ_CFG = {"ch": 32, "ch_mult": [1, 2, 2], "num_res_blocks": 1, "z_channels": 32, "codebook_size": 1024,
          "codebook_embed_dim": 8}
LPD_CFG = {"decoder_embed_dim": 192, "decoder_depth": 8, "decoder_num_heads": 3, "mlp_hidden": 768,
           "vqgan_vocab_size": 1024, "class_num": 32, "seq_len": 256, "grid": 16}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _chunk(args):
    seed, start, count = args
    imgs, _, labels, _ = shapes.batch(seed, start, count)
    return imgs, np.asarray(labels, np.int64)


def make_data(seed, n, workers):
    chunks = [(seed, s, min(2000, n - s)) for s in range(0, n, 2000)]
    if workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_chunk, chunks)
    else:
        parts = [_chunk(c) for c in chunks]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def schedules(N):
    """The original's schedules for N tokens (keyed by the release image size 16 * sqrt(N))."""
    tab = json.load(open(SCHEDULES))["schedules"]
    key = str(int(round(math.sqrt(N))) * 16)
    if key in tab:
        return [v for v in tab[key].values()]
    out = [[1] * N]  # smoke sizes: one token per step, and halves
    g, rest = [1], N - 1
    while rest:
        s = min(rest, max(1, g[-1] * 2))
        g.append(s)
        rest -= s
    return out + [g]


# ------------------------------------------------------------------ VQ
def train_vq(vq, imgs, dev, seconds, bs, log_every, hist, max_steps=None, lr0=4e-4, warmup=200, amp=False):
    opt = torch.optim.AdamW(vq.parameters(), lr=lr0, betas=(0.9, 0.95), weight_decay=0.0)
    N, K = imgs.shape[0], vq.cfg["codebook_size"]
    usage = torch.zeros(K, device=dev)
    g = torch.Generator(device="cpu").manual_seed(1)
    t0, step = time.time(), 0
    while True:
        el = time.time() - t0
        if el > seconds or (max_steps and step >= max_steps):
            break
        lr = lr0 * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(el / seconds, 1.0))))
        for pg in opt.param_groups:
            pg["lr"] = lr
        i = torch.randint(0, N, (bs,), generator=g)
        x = imgs[i.to(imgs.device)].to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            z = vq.encode(x).float()
        idx, zn, zq = vq.quantize_latent(z)
        vq_loss = F.mse_loss(zq, zn.detach()) + 0.25 * F.mse_loss(zn, zq.detach())
        zst = zn + (zq - zn).detach()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            rec = vq.decode_latent(zst).float()
        rl = F.l1_loss(rec, x) + F.mse_loss(rec, x)
        loss = rl + vq_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            usage += torch.bincount(idx.flatten(), minlength=K).float()
            if step % 100 == 99:  # restart codes unused in the last 100 steps from recent latents
                dead = (usage == 0).nonzero().flatten()
                if len(dead):
                    rows = zn.permute(0, 2, 3, 1).reshape(-1, zn.shape[1])
                    pick = rows[torch.randint(0, rows.shape[0], (len(dead),), device=rows.device)]
                    vq.quantize.embedding.weight.data[dead] = pick + 0.01 * torch.randn_like(pick)
                hist.append(dict(step=step + 1, dead_codes=int(len(dead))))
                usage.zero_()
        if step % log_every == 0:
            e = dict(stage="vq", step=step, t=round(time.time() - t0, 1), lr=lr, loss=loss.item(), rec=rl.item(),
                     vq=vq_loss.item(), psnr=(10 * torch.log10(4 / F.mse_loss(rec, x))).item())
            hist.append(e)
            log(json.dumps(e))
        step += 1
    return step


@torch.no_grad()
def tokenize_all(vq, imgs, dev, bs=1024):
    out = []
    for s in range(0, imgs.shape[0], bs):
        x = imgs[s:s + bs].to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
        out.append(vq.quantize_latent(vq.encode(x))[0])
    return torch.cat(out)


# ------------------------------------------------------------------ LPD
def train_lpd(m, tokens, labels, dev, seconds, bs, log_every, hist, max_steps=None, amp=False, lr0=6e-4, warmup=300):
    decay, no_decay = [], []
    for n, p in m.named_parameters():
        (no_decay if p.ndim < 2 or "emb" in n or n in ("fake_latent", "mask_token", "pos_embed") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr0, betas=(0.9, 0.95))
    Nimg, N = tokens.shape
    scheds = schedules(N)
    masks = [lt.train_mask(s, dev) for s in scheds]
    g = torch.Generator(device="cpu").manual_seed(2)
    t0, step = time.time(), 0
    while True:
        el = time.time() - t0
        if el > seconds or (max_steps and step >= max_steps):
            break
        lr = lr0 * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(el / seconds, 1.0))))
        for pg in opt.param_groups:
            pg["lr"] = lr
        i = torch.randint(0, Nimg, (bs,), generator=g).to(dev)
        si = int(torch.randint(0, len(scheds), (1,), generator=g))
        orders = torch.argsort(torch.rand(bs, N, device=dev), 1)  # a uniform random order per image
        tg = torch.gather(tokens[i], 1, orders)
        uncond = torch.rand(bs, device=dev) < 0.1
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            logits = m(labels[i], uncond, orders, tg, masks[si])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tg.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 2.0)
        opt.step()
        if step % log_every == 0:
            with torch.no_grad():
                acc = (logits.argmax(-1) == tg).float().mean().item()
            e = dict(stage="lpd", step=step, t=round(time.time() - t0, 1), lr=lr, steps_sched=len(scheds[si]),
                     loss=loss.item(), token_acc=acc)
            hist.append(e)
            log(json.dumps(e))
        step += 1
    return step


def save_model(out, vq, lpd, vq_cfg, lpd_cfg, dtype=torch.float32):
    os.makedirs(out, exist_ok=True)
    for name, mod, cfg in (("vq.pt", vq, vq_cfg), ("lpd.pth", lpd, lpd_cfg)):
        if mod is None:
            continue
        sd = {k: v.detach().to(dtype).cpu().contiguous() for k, v in mod.state_dict().items()}
        torch.save({"model": sd}, os.path.join(out, name))
    cfg = {"lpd": dict(lpd_cfg), "vq": dict(vq_cfg), "dtype": str(dtype).replace("torch.", "")}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--n", type=int, default=100000, help="training images")
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    ap.add_argument("--vq-seconds", type=float, default=150)
    ap.add_argument("--lpd-seconds", type=float, default=300)
    ap.add_argument("--vq-bs", type=int, default=128)
    ap.add_argument("--lpd-bs", type=int, default=256)
    ap.add_argument("--vq-lr", type=float, default=4e-4)
    ap.add_argument("--lpd-lr", type=float, default=6e-4)
    ap.add_argument("--budget", type=float, default=None, help="whole run in seconds: the LPD stage is cut to fit")
    ap.add_argument("--max-steps", type=int, default=None, help="stop each stage after this many steps")
    ap.add_argument("--smoke", action="store_true", help="tiny run: 16 images, 2 steps per stage, small widths")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed % (1 << 31))
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    vq_cfg, lpd_cfg = dict(VQ_CFG), dict(LPD_CFG)
    max_steps = a.max_steps
    if a.smoke:
        torch.set_num_threads(min(2, torch.get_num_threads()))
        a.n, a.vq_bs, a.lpd_bs, max_steps = 16, 2, 2, 2
        vq_cfg.update(ch_mult=[1, 1, 1, 2], codebook_size=64)  # 8x8 tokens
        lpd_cfg.update(decoder_embed_dim=64, decoder_depth=1, decoder_num_heads=1, mlp_hidden=128,
                       vqgan_vocab_size=64, seq_len=64, grid=8)
    os.makedirs(a.out, exist_ok=True)
    hist, t_all = [], time.time()
    info = dict(seed=a.seed, n=a.n, device=str(dev), torch=torch.__version__,
                gpu=torch.cuda.get_device_name(0) if dev.type == "cuda" else None)
    log(f"data: {a.n} images, seed {a.seed}")
    t = time.time()
    imgs, labels = make_data(a.seed, a.n, a.workers if not a.smoke else 1)
    imgs, labels = torch.from_numpy(imgs), torch.from_numpy(labels).to(dev)
    if dev.type == "cuda":
        imgs = imgs.to(dev)
    info["data_s"] = round(time.time() - t, 1)
    log(f"data ready in {info['data_s']} s: images {tuple(imgs.shape)}")

    vq = lt.VQModel(vq_cfg).to(dev)
    info["vq_params"] = sum(p.numel() for p in vq.parameters())
    t = time.time()
    info["vq_steps"] = train_vq(vq, imgs, dev, a.vq_seconds, a.vq_bs, 100 if not a.smoke else 1, hist, max_steps,
                                lr0=a.vq_lr, amp=dev.type == "cuda")
    info["vq_s"] = round(time.time() - t, 1)
    vq.eval()
    for p in vq.parameters():
        p.requires_grad_(False)
    tokens = tokenize_all(vq, imgs, dev)
    with torch.no_grad():
        x = imgs[:512].to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
        g = vq_cfg and int(round(math.sqrt(tokens.shape[1])))
        rec = vq.decode_codes(tokens[:512], g, g)
        info["recon_psnr_tokens"] = (10 * torch.log10(4 / F.mse_loss(rec, x))).item()
        info["codes_used"] = int(torch.unique(tokens).numel())
    log(json.dumps(info))
    save_model(os.path.join(a.out, "model"), vq, None, vq_cfg, lpd_cfg)
    json.dump(dict(info=info, history=hist), open(os.path.join(a.out, "train_log.json"), "w"), indent=1)
    lpd_seconds = a.lpd_seconds
    if a.budget:
        lpd_seconds = max(10.0, min(lpd_seconds, a.budget - (time.time() - t_all) - 20))
    info["lpd_seconds_planned"] = lpd_seconds

    m = lt.LPD(lpd_cfg).to(dev)
    info["lpd_params"] = sum(p.numel() for p in m.parameters())
    t = time.time()
    info["lpd_steps"] = train_lpd(m, tokens, labels, dev, lpd_seconds, a.lpd_bs, 100 if not a.smoke else 1, hist,
                                  max_steps, amp=dev.type == "cuda", lr0=a.lpd_lr)
    info["lpd_s"] = round(time.time() - t, 1)
    m.eval()
    save_model(os.path.join(a.out, "model"), vq, m, vq_cfg, lpd_cfg)
    info["total_s"] = round(time.time() - t_all, 1)
    json.dump(dict(info=info, history=hist), open(os.path.join(a.out, "train_log.json"), "w"), indent=1)
    log("done: " + json.dumps(info))


if __name__ == "__main__":
    main()
