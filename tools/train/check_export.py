#!/usr/bin/env python3
"""Check an exported model against the C port: the C program must compute what PyTorch computes.

For a model folder (release layout) and a prompt:
  1. PyTorch encodes the prompt (Qwen2 mirror) and writes it as a --context file.
  2. `hart generate --context` samples indices (seed 3); a replay file is built from those
     indices plus Gaussian noise drawn here (numpy, seed 4) for the diffusion sampler.
  3. `hart generate --context ctx --replay R --dump D` and `hart generate -p PROMPT --replay R
     --dump D2` record every intermediate; PyTorch recomputes them from the same indices and
     noise with the training modules (hart_torch.py: full-sequence forward with the
     block-causal mask, against the C KV-cache loop) and the iDDPM sampler below.
  4. `hart encode` of a dataset image against the PyTorch tokenizer (f, indices, residual),
     and `hart reconstruct` against PyTorch's decode of f.
Prints max|a-b|/max|b| per tensor and exits 1 if one is above its limit (--limit, default
1e-4 as for the golden sets) or an index differs.

  python3 tools/train/check_export.py MODEL_DIR [--hart bin/hart] [--prompt TEXT] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "dataset"))
import hart_torch as ht  # noqa: E402
import text_ids  # noqa: E402


def load_model(d):
    from safetensors.torch import load_file
    tcfg = json.load(open(os.path.join(d, "tokenizer", "config.json")))
    lcfg = json.load(open(os.path.join(d, "llm", "config.json")))
    tok = ht.HartTokenizer(tcfg)
    sd = {k[4:] if k.startswith("vae.") else k: v.float() for k, v in
          load_file(os.path.join(d, "tokenizer", "model.safetensors")).items()}
    tok.load_state_dict(sd)
    tf = ht.HartTransformer(lcfg, tcfg["vocab_size"], tcfg["z_channels"])
    sd = {k: v.float() for k, v in load_file(os.path.join(d, "llm", "model.safetensors")).items()}
    tf.load_state_dict(sd)
    return tok.eval(), tf.eval(), tcfg, lcfg


def text_context(d, prompt, T):
    from safetensors.numpy import load_file
    te_dir = os.path.join(d, "text_encoder")
    te = ht.Qwen2(json.load(open(os.path.join(te_dir, "config.json"))), load_file(os.path.join(te_dir, "model.safetensors")))
    table = json.load(open(text_ids.TABLE))
    ids = np.full((1, T), table["pad_id"], np.int64)
    t = text_ids.caption_ids(prompt, table)[:T]
    ids[0, :len(t)] = t
    mask = (ids != table["pad_id"]).astype(np.uint8)
    pos = np.cumsum(mask.astype(np.int64), 1) - 1
    sys_ids = torch.tensor(table["system_prompt"][:T])[None]  # HART truncates it to max_len too
    full = torch.cat([sys_ids, torch.from_numpy(ids)], 1)
    fm = torch.cat([torch.ones_like(sys_ids), torch.from_numpy(mask).long()], 1)
    ctx = te(full, fm)[:, sys_ids.shape[1]:]
    return ctx, torch.from_numpy(mask), torch.from_numpy(pos)


# iDDPM sampler exactly as src/models/hart/diffusion_head.c (respaced cosine schedule)
def schedule(spec):
    n = int(spec)
    stride = (1000 - 1) / (n - 1)
    keep = sorted({int(round(k * stride)) for k in range(n)})
    ac_full = ht.cosine_alphas_cumprod()
    last, betas = 1.0, []
    for i in keep:
        betas.append(1 - ac_full[i] / last)
        last = ac_full[i]
    betas = np.array(betas)
    ac = np.cumprod(1 - betas)
    prev = np.concatenate([[1.0], ac[:-1]])
    pv = betas * (1 - prev) / (1 - ac)
    return dict(tmap=keep, sra=np.sqrt(1 / ac), srm1=np.sqrt(1 / ac - 1), c1=betas * np.sqrt(prev) / (1 - ac),
                c2=(1 - prev) * np.sqrt(1 - betas) / (1 - ac), logb=np.log(betas),
                plvc=np.log(np.concatenate([[pv[1]], pv[1:]])))


@torch.no_grad()
def sample_diffusion(net, cond, cfg, noises, spec, Z):
    sc = schedule(spec)
    n = cond.shape[0]
    h = n // 2
    x = torch.from_numpy(noises[0]).reshape(h, Z)
    x = torch.cat([x, x])
    K = len(sc["tmap"])
    for draw, i in enumerate(range(K - 1, -1, -1), start=1):
        xin = torch.cat([x[:h], x[:h]])
        t = torch.full((n,), float(sc["tmap"][i]))
        o = net(xin, t, cond)
        e, v = o[:, :Z], o[:, Z:]
        eg = e[:h] * np.float32(1 + cfg) - np.float32(cfg) * e[h:]
        e = torch.cat([eg, eg])
        frac = (v + 1) / 2
        lv = frac * np.float32(sc["logb"][i]) + (1 - frac) * np.float32(sc["plvc"][i])
        px = (np.float32(sc["sra"][i]) * x - np.float32(sc["srm1"][i]) * e).clamp(-1, 1)
        mean = np.float32(sc["c1"][i]) * px + np.float32(sc["c2"][i]) * x
        nz = torch.from_numpy(noises[draw]).reshape(n, Z)
        x = mean + (1.0 if i != 0 else 0.0) * torch.exp(0.5 * lv) * nz
    return x * np.float32(0.6)


def relerr(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--hart", default=os.path.join(ROOT, "bin", "hart"))
    ap.add_argument("--prompt", default="a large red circle in the top left on a blue background")
    ap.add_argument("--cfg", type=float, default=4.5)
    ap.add_argument("--limit", type=float, default=1e-4)
    ap.add_argument("--json", help="write the measured errors here")
    a = ap.parse_args()
    from safetensors.numpy import load_file, save_file
    torch.set_num_threads(2)
    tok, tf, tcfg, lcfg = load_model(a.model)
    T, S, Z = lcfg["context_token"], len(lcfg["patch_nums"]), tcfg["z_channels"]
    P = lcfg["patch_nums"][-1]
    res, bad = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        ctx, mask, pos = text_context(a.model, a.prompt, T)
        cf = os.path.join(tmp, "ctx.safetensors")
        save_file({"gen.context": ctx.numpy().astype(np.float32), "gen.context_mask": mask.numpy(),
                   "gen.context_position_ids": pos.numpy()}, cf)
        def run(*args):
            r = subprocess.run([a.hart, *args], capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"check_export: hart {args[0]} failed ({r.returncode}): {r.stderr.strip()}")
        d1 = os.path.join(tmp, "d1.safetensors")
        run("generate", "--context", cf, "-m", a.model, "--seed", "3", "--cfg", str(a.cfg), "--dump", d1, "-q",
            "-o", os.path.join(tmp, "a.png"))
        g1 = load_file(d1)
        K = int(lcfg["num_sampling_steps"])
        rng = np.random.default_rng(4)
        rp = {f"gen.si{k}.idx": g1[f"gen.si{k}.idx"] for k in range(S)}
        rp["gen.diff.noise.0"] = rng.standard_normal((P * P, Z)).astype(np.float32)
        for j in range(1, K + 1):
            rp[f"gen.diff.noise.{j}"] = rng.standard_normal((2 * P * P, Z)).astype(np.float32)
        rf = os.path.join(tmp, "replay.safetensors")
        save_file(rp, rf)
        d2, d3 = os.path.join(tmp, "d2.safetensors"), os.path.join(tmp, "d3.safetensors")
        run("generate", "--context", cf, "-m", a.model, "--cfg", str(a.cfg), "--replay", rf, "--dump", d2, "-q",
            "-o", os.path.join(tmp, "b.png"))
        run("generate", "-p", a.prompt, "-m", a.model, "--cfg", str(a.cfg), "--replay", rf, "--dump", d3, "-q",
            "-o", os.path.join(tmp, "c.png"))
        g2, g3 = load_file(d2), load_file(d3)
        # PyTorch: conditional and null rows, teacher forcing with the replayed indices
        with torch.no_grad():
            idxs = [torch.from_numpy(rp[f"gen.si{k}.idx"]) for k in range(S)]
            nxt, fhat_pre = tok.quantize.next_inputs(idxs, P)
            xin = torch.cat([n_.flatten(2).transpose(1, 2) for n_ in nxt], 1)
            nctx = torch.zeros_like(ctx)
            npos = torch.zeros_like(pos)
            hid, lg = tf(torch.cat([ctx, nctx]), torch.cat([pos, npos]), torch.cat([xin, xin]))
            off = 0
            for k in range(S):
                n_ = 1 if k == 0 else lcfg["patch_nums"][k] ** 2
                t = a.cfg * min(k, S - 2) / (S - 1)
                mixed = (1 + t) * lg[0, off:off + n_] - t * lg[1, off:off + n_]
                res[f"gen.si{k}.logits_cfg"] = relerr(g2[f"gen.si{k}.logits_cfg"][0], mixed.numpy())
                off += n_
            codes = tok.quantize.embedding(idxs[-1])  # [1,P²,Z]
            cond = tf.diff_cond(hid[:, -P * P:], torch.cat([codes, codes])).reshape(-1, tf.C)
            res["gen.diff.cond"] = relerr(g2["gen.diff.cond"], cond.numpy())
            tdiff = a.cfg * (S - 2) / (S - 1)
            noises = [rp[f"gen.diff.noise.{j}"] for j in range(K + 1)]
            out = sample_diffusion(tf.diffloss.net, cond, tdiff, noises, lcfg["num_sampling_steps"], Z)
            res["gen.diff.out"] = relerr(g2["gen.diff.out"], out.numpy())
            fin = fhat_pre + (codes + out[:P * P][None]).transpose(1, 2).reshape(1, Z, P, P)
            res["gen.final_f_hat"] = relerr(g2["gen.final_f_hat"], fin.numpy())
            img = (tok.decode(fin) + 1) / 2
            res["gen.image"] = relerr(g2["gen.image"], img.numpy())
            # the C text encoder against the PyTorch mirror: same logits from -p as from --context
            for k in range(S):
                res[f"text: gen.si{k}.logits_cfg (-p vs --context)"] = relerr(g3[f"gen.si{k}.logits_cfg"],
                                                                              g2[f"gen.si{k}.logits_cfg"])
        # tokenizer: encode / reconstruct a dataset image
        import shapes
        from PIL import Image
        im, _, _ = shapes.sample(99, 0)
        ip = os.path.join(tmp, "in.png")
        Image.fromarray(im).save(ip)
        ef = os.path.join(tmp, "enc.safetensors")
        run("encode", "-m", a.model, "-o", ef, ip)
        ge = load_file(ef)
        with torch.no_grad():
            x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255 * 2 - 1
            f = tok.encode(x)
            eidx, fh, rest, _, _ = tok.quantize.quantize(f)
        res["vae.enc.f"] = relerr(ge["vae.enc.f"], f.numpy())
        res["vae.enc.f_hat_discrete"] = relerr(ge["vae.enc.f_hat_discrete"], fh.numpy())
        res["vae.enc.residual"] = relerr(ge["vae.enc.residual"], rest.flatten(2).transpose(1, 2).numpy())
        idx_ok = all(np.array_equal(ge[f"vae.enc.idx.{k}"], eidx[k].numpy()) for k in range(S))
    for k, v in res.items():
        flag = "" if v <= a.limit else "  ABOVE LIMIT"
        if flag:
            bad.append(k)
        print(f"{k:48s} {v:.3g}{flag}")
    print(f"{'vae.enc.idx (all scales)':48s} {'equal' if idx_ok else 'DIFFER'}")
    if a.json:
        json.dump(dict(model=a.model, prompt=a.prompt, limit=a.limit, relerr=res, indices_equal=idx_ok), open(a.json, "w"),
                  indent=1)
    if bad or not idx_ok:
        print(f"check_export: FAILED ({', '.join(bad) or 'indices'})")
        return 1
    print(f"check_export: C and PyTorch agree (all ≤ {a.limit:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
