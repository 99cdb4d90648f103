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

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import lpd_torch as lt  # noqa: E402
from common import log  # noqa: E402

SCHEDULES = os.path.join(common.ROOT, "configs", "lpd-group-sizes.json")
VQ_CFG = {"ch": 32, "ch_mult": [1, 2, 2], "num_res_blocks": 1, "z_channels": 32, "codebook_size": 1024,
          "codebook_embed_dim": 8}
LPD_CFG = {"decoder_embed_dim": 192, "decoder_depth": 8, "decoder_num_heads": 3, "mlp_hidden": 768,
           "vqgan_vocab_size": 1024, "class_num": 32, "seq_len": 256, "grid": 16}


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
    stage = common.Stage("vq", opt, seconds, max_steps, lr0, warmup, 0.1, log_every, hist)
    for step, lr in stage:
        i = torch.randint(0, N, (bs,), generator=g)
        x = common.to_unit(imgs[i.to(imgs.device)], dev)
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
        common.restart_dead_codes(step, usage, vq.quantize.embedding.weight,
                                  lambda: zn.permute(0, 2, 3, 1).reshape(-1, zn.shape[1]), hist)
        if stage.due(step):
            stage.record(step, lr, loss=loss.item(), rec=rl.item(), vq=vq_loss.item(), psnr=common.psnr(rec, x))
    return stage.steps


@torch.no_grad()
def tokenize_all(vq, imgs, dev, bs=1024):
    out = []
    for s in range(0, imgs.shape[0], bs):
        x = common.to_unit(imgs[s:s + bs], dev)
        out.append(vq.quantize_latent(vq.encode(x))[0])
    return torch.cat(out)


# ------------------------------------------------------------------ LPD
def train_lpd(m, tokens, labels, dev, seconds, bs, log_every, hist, max_steps=None, amp=False, lr0=6e-4, warmup=300):
    opt = common.adamw(m, lr0, lambda n: "emb" in n or n in ("fake_latent", "mask_token", "pos_embed"))
    Nimg, N = tokens.shape
    scheds = schedules(N)
    masks = [lt.train_mask(s, dev) for s in scheds]
    g = torch.Generator(device="cpu").manual_seed(2)
    stage = common.Stage("lpd", opt, seconds, max_steps, lr0, warmup, 0.05, log_every, hist)
    for step, lr in stage:
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
        if stage.due(step):
            with torch.no_grad():
                acc = (logits.argmax(-1) == tg).float().mean().item()
            stage.record(step, lr, steps_sched=len(scheds[si]), loss=loss.item(), token_acc=acc)
    return stage.steps


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
    common.add_common_args(ap, 100000, [("vq", 150, 128, 4e-4), ("lpd", 300, 256, 6e-4)], "LPD")
    a = ap.parse_args()
    dev, info = common.setup(a)
    vq_cfg, lpd_cfg = dict(VQ_CFG), dict(LPD_CFG)
    if a.smoke:
        vq_cfg.update(ch_mult=[1, 1, 1, 2], codebook_size=64)  # 8x8 tokens
        lpd_cfg.update(decoder_embed_dim=64, decoder_depth=1, decoder_num_heads=1, mlp_hidden=128,
                       vqgan_vocab_size=64, seq_len=64, grid=8)
    hist, t_all = [], time.time()
    log(f"data: {a.n} images, seed {a.seed}")
    t = time.time()
    imgs, _, labels = common.make_data(a.seed, a.n, a.workers if not a.smoke else 1)
    imgs, labels = torch.from_numpy(imgs), torch.from_numpy(labels).to(dev)
    if dev.type == "cuda":
        imgs = imgs.to(dev)
    info["data_s"] = round(time.time() - t, 1)
    log(f"data ready in {info['data_s']} s: images {tuple(imgs.shape)}")

    vq = lt.VQModel(vq_cfg).to(dev)
    info["vq_params"] = sum(p.numel() for p in vq.parameters())
    t = time.time()
    info["vq_steps"] = train_vq(vq, imgs, dev, a.vq_seconds, a.vq_bs, 100 if not a.smoke else 1, hist, a.max_steps,
                                lr0=a.vq_lr, amp=dev.type == "cuda")
    info["vq_s"] = round(time.time() - t, 1)
    vq.eval()
    for p in vq.parameters():
        p.requires_grad_(False)
    tokens = tokenize_all(vq, imgs, dev)
    with torch.no_grad():
        x = common.to_unit(imgs[:512], dev)
        g = vq_cfg and int(round(math.sqrt(tokens.shape[1])))
        rec = vq.decode_codes(tokens[:512], g, g)
        info["recon_psnr_tokens"] = common.psnr(rec, x)
        info["codes_used"] = int(torch.unique(tokens).numel())
    log(json.dumps(info))
    save_model(os.path.join(a.out, "model"), vq, None, vq_cfg, lpd_cfg)
    common.write_log(a.out, info, hist)
    lpd_seconds = common.stage_seconds(a.lpd_seconds, a.budget, t_all, 20)
    info["lpd_seconds_planned"] = lpd_seconds

    m = lt.LPD(lpd_cfg).to(dev)
    info["lpd_params"] = sum(p.numel() for p in m.parameters())
    t = time.time()
    info["lpd_steps"] = train_lpd(m, tokens, labels, dev, lpd_seconds, a.lpd_bs, 100 if not a.smoke else 1, hist,
                                  a.max_steps, amp=dev.type == "cuda", lr0=a.lpd_lr)
    info["lpd_s"] = round(time.time() - t, 1)
    m.eval()
    save_model(os.path.join(a.out, "model"), vq, m, vq_cfg, lpd_cfg)
    info["total_s"] = round(time.time() - t_all, 1)
    common.write_log(a.out, info, hist)
    log("done: " + json.dumps(info))


if __name__ == "__main__":
    main()
