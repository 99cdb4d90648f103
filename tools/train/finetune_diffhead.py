#!/usr/bin/env python3
"""Retrain only the diffusion head of a trained model, with the transformer and tokenizer frozen.

Why it exists: the GPU runs of 2026-11-27 trained the head with a forward pass that applied
SiLU twice before the AdaLN modulations (silu(silu(t + c)) instead of the C port's
silu(t + c)); tools/train/check_export.py caught the mismatch (gen.diff.out off by 100 %).
hart_torch.py is fixed; this script re-fits the head (0.35 M parameters) on the CPU with the
corrected forward, starting from the trained weights:
  1. N dataset images (seed --seed) -> contexts (10 % null contexts, as in training),
     tokenizer indices, teacher-forcing inputs and last-scale residuals (train_hart.py helpers);
  2. the frozen transformer's last-scale hidden states -> diffusion conditions
     (decoder_norm(hidden + word_embed(codes)));
  3. the head is trained on (condition, residual/0.6) pairs with the usual eps loss.

  finetune_diffhead.py SRC_MODEL DST_MODEL [--n 3000] [--seconds 600] [--seed 5]
SRC/DST: folders with llm/ and tokenizer/ (float32 or float16); DST gets float32 weights.
"""
import argparse
import json
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_export  # noqa: E402
import common  # noqa: E402
import hart_torch as ht  # noqa: E402
import train_hart as th  # noqa: E402


@torch.no_grad()
def refit_modulations(net, cond, seed, rows=16384):
    """Warm start: each AdaLN linear L was trained on silu(silu(y)); find L' with
    L'(silu(y)) ~ L(silu(silu(y))) by least squares over y of the data (random t)."""
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, cond.shape[0], (rows,), generator=g)
    t = torch.randint(0, 1000, (rows,), generator=g)
    u = F.silu(net.time_embed(t) + net.cond_embed(cond[i]))  # what the C port feeds the linears
    A = torch.cat([u, torch.ones(rows, 1)], 1).double()
    for mod in [b.adaLN_modulation[1] for b in net.res_blocks] + [net.final_layer.adaLN_modulation[1]]:
        target = F.linear(F.silu(u), mod.weight, mod.bias).double()  # what training fed them
        sol = torch.linalg.lstsq(A, target).solution  # [W+1, out]
        err = (A @ sol - target).pow(2).mean().sqrt() / target.pow(2).mean().sqrt().clamp_min(1e-12)
        mod.weight.copy_(sol[:-1].t().float())
        mod.bias.copy_(sol[-1].float())
        print(f"refit {tuple(mod.weight.shape)}: relative rms error {err.item():.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--bs", type=int, default=2048, help="rows (tokens) per step")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-lstsq", action="store_true", help="skip the least-squares warm start of the modulations")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device("cpu")
    tok, tf, tcfg, lcfg = check_export.load_model(a.src)
    T, Z = lcfg["context_token"], tcfg["z_channels"]
    P2 = lcfg["patch_nums"][-1] ** 2
    t0 = time.time()
    imgs, caps, _ = common.make_data(a.seed, a.n, 1)
    imgs = torch.from_numpy(imgs)
    table = json.load(open(th.text_ids.TABLE))
    ctx, pos = th.encode_contexts(th.load_text_encoder(dev), caps, T, table, dev, bs=64)
    drop = torch.rand(a.n) < 0.1
    ctx[drop] = 0
    pos[drop] = 0
    idx_all, xin_all, res_all = th.tokenize_all(tok, imgs, dev, bs=128)
    codebook = tok.quantize.embedding.weight.detach()
    conds = []
    with torch.no_grad():
        for s in range(0, a.n, 64):
            hid, _ = tf(ctx[s:s + 64], pos[s:s + 64], xin_all[s:s + 64])
            if s % 640 == 0:
                print(f"conditions {s}/{a.n} ({time.time() - t0:.0f} s)", flush=True)
            conds.append(tf.diff_cond(hid[:, -P2:], codebook[idx_all[s:s + 64, -P2:]]).reshape(-1, tf.C))
    cond = torch.cat(conds)
    x0 = res_all.reshape(-1, Z)
    prep_s = time.time() - t0
    print(f"prepared {cond.shape[0]} (condition, residual) rows from {a.n} images in {prep_s:.0f} s", flush=True)

    net = tf.diffloss.net
    if not a.no_lstsq:
        refit_modulations(net, cond, a.seed)
    for p in tf.parameters():
        p.requires_grad_(False)
    for p in net.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=0.0, betas=(0.9, 0.95))
    fin = net.final_layer.linear
    ac = torch.tensor(ht.cosine_alphas_cumprod(), dtype=torch.float32)
    g = torch.Generator().manual_seed(a.seed)
    hist, step, t1 = [], 0, time.time()
    while time.time() - t1 < a.seconds and (a.max_steps is None or step < a.max_steps):
        i = torch.randint(0, x0.shape[0], (a.bs,), generator=g)
        c, x = cond[i], x0[i]
        t = torch.randint(0, 1000, (a.bs,), generator=g)
        eps = torch.randn(x.shape, generator=g)
        al = ac[t][:, None]
        out = net(al.sqrt() * x + (1 - al).sqrt() * eps, t, c)
        loss = F.mse_loss(out[:, :Z], eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        fin.weight.grad[Z:] = 0  # variance channel fixed (v = -1)
        fin.bias.grad[Z:] = 0
        opt.step()
        if step % 50 == 0:
            hist.append(dict(step=step, t=round(time.time() - t1, 1), diff=loss.item()))
            print(json.dumps(hist[-1]), flush=True)
        step += 1
    for sub in ("llm", "tokenizer", "text_encoder"):
        if os.path.isdir(os.path.join(a.src, sub)) and sub != "llm":
            shutil.copytree(os.path.join(a.src, sub), os.path.join(a.dst, sub), dirs_exist_ok=True)
    th.save_model(a.dst, tok, tf, tcfg, lcfg, copy_text=False)
    # save_model rewrote tokenizer/ from the (unchanged) module: same weights, float32
    log = dict(src=a.src, n=a.n, seed=a.seed, rows=int(cond.shape[0]), prep_s=round(prep_s, 1), steps=step,
               train_s=round(time.time() - t1, 1), bs=a.bs, lr=a.lr, history=hist)
    json.dump(log, open(os.path.join(a.dst, "finetune_diffhead_log.json"), "w"), indent=1)
    print(f"wrote {a.dst}: {step} steps, last loss {hist[-1]['diff'] if hist else float('nan'):.4f}")


if __name__ == "__main__":
    main()
