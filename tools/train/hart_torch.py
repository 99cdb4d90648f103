"""PyTorch versions of the HART models as the C port computes them (our own code).

Every module's parameter names are the release checkpoint names the C loader
reads (src/models/hart/autoencoder.c, transformer.c, diffusion_head.c,
src/models/qwen2/qwen2.c), so `state_dict()` exports unchanged. The forward
passes mirror the C math:
  - Tokenizer: VQGAN-style encoder/decoder (GroupNorm(32, eps 1e-6) + SiLU,
    single-head attention at the lowest resolution, downsample = pad right/bottom
    + stride-2 conv, upsample = nearest x2 + conv), quant_conv/post_quant_conv,
    multi-scale residual VQ (area down, nearest code, bicubic up, phi blend with
    quant_resi 0.5, 4 shared phi convs picked by the linspace rule) and the
    continuous residual of the last scale (hybrid).
  - Transformer: context RMSNorm + context_embed, max-pooled AdaLN condition,
    llama attention (q_bias, v_bias, scale 0.25/sqrt(hd), 1-D rotary over the
    context, 2-D rotary over the scales), llama MLP, level embeddings, AdaLN head.
    Training uses a block-causal mask that reproduces the C inference (KV cache,
    no mask, the context attends to itself fully).
  - Diffusion head: SimpleMLPAdaLN (time MLP on the 256-dim cos|sin embedding,
    cond_embed, AdaLN residual blocks, final AdaLN layer -> eps | v).
  - Qwen2 text encoder (frozen): causal + key-padding mask, rotary theta 1e6.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ tokenizer

GN_GROUPS, GN_EPS = 32, 1e-6


def gn(c):
    return nn.GroupNorm(GN_GROUPS, c, eps=GN_EPS)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        sc = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return sc + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm, self.qkv, self.proj_out = gn(c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        qkv = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).transpose(2, 3)  # [B,3,L,C]
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        a = torch.softmax((q @ k.transpose(1, 2)) * C ** -0.5, dim=-1)
        o = (a @ v).transpose(1, 2).reshape(B, C, H, W)
        return x + self.proj_out(o)


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, ch, ch_mult, nrb, z):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down = nn.ModuleList()
        n = len(ch_mult)
        bin_ = ch
        for i in range(n):
            lv = nn.Module()
            bin_ = ch * (1 if i == 0 else ch_mult[i - 1])
            bout = ch * ch_mult[i]
            lv.block = nn.ModuleList()
            lv.attn = nn.ModuleList()
            for _ in range(nrb):
                lv.block.append(ResBlock(bin_, bout))
                bin_ = bout
                if i == n - 1:
                    lv.attn.append(AttnBlock(bin_))
            if i != n - 1:
                lv.downsample = Down(bin_)
            self.down.append(lv)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResBlock(bin_, bin_), AttnBlock(bin_), ResBlock(bin_, bin_)
        self.norm_out, self.conv_out = gn(bin_), nn.Conv2d(bin_, z, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for lv in self.down:
            for b in range(len(lv.block)):
                h = lv.block[b](h)
                if len(lv.attn):
                    h = lv.attn[b](h)
            if hasattr(lv, "downsample"):
                h = lv.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, ch, ch_mult, nrb, z):
        super().__init__()
        n = len(ch_mult)
        bin_ = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z, bin_, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResBlock(bin_, bin_), AttnBlock(bin_), ResBlock(bin_, bin_)
        ups = [None] * n
        for i in reversed(range(n)):
            lv = nn.Module()
            lv.block, lv.attn = nn.ModuleList(), nn.ModuleList()
            bout = ch * ch_mult[i]
            for _ in range(nrb + 1):
                lv.block.append(ResBlock(bin_, bout))
                bin_ = bout
                if i == n - 1:
                    lv.attn.append(AttnBlock(bin_))
            if i != 0:
                lv.upsample = Up(bin_)
            ups[i] = lv
        self.up = nn.ModuleList(ups)
        self.norm_out, self.conv_out = gn(bin_), nn.Conv2d(bin_, 3, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        for i in reversed(range(len(self.up))):
            lv = self.up[i]
            for b in range(len(lv.block)):
                h = lv.block[b](h)
                if len(lv.attn):
                    h = lv.attn[b](h)
            if hasattr(lv, "upsample"):
                h = lv.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def phi_pick(K, si, S):
    """Index of the shared phi conv used at scale si (the C hart_vae_phi_pick)."""
    if K <= 1:
        return 0
    ticks = np.linspace(1 / 3 / K, 1 - 1 / 3 / K, K) if K == 4 else np.linspace(1 / 2 / K, 1 - 1 / 2 / K, K)
    at = si / (S - 1)
    return int(np.argmin(np.abs(ticks - at)))


class Quantizer(nn.Module):
    def __init__(self, vocab, z, patch_nums, n_phi=4, resi=0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab, z)
        self.quant_resi = nn.Module()
        self.quant_resi.qresi_ls = nn.ModuleList([nn.Conv2d(z, z, 3, padding=1) for _ in range(n_phi)])
        self.patch_nums, self.resi = list(patch_nums), resi

    def phi(self, si, x):
        c = self.quant_resi.qresi_ls[phi_pick(len(self.quant_resi.qresi_ls), si, len(self.patch_nums))]
        return x * (1 - self.resi) + c(x) * self.resi

    def nearest(self, rows):
        """rows [N,z] -> indices [N] (squared distance, first minimum)."""
        e = self.embedding.weight
        d = (rows * rows).sum(1, keepdim=True) + (e * e).sum(1)[None] - 2 * rows @ e.t()
        return d.argmin(1)

    def up(self, h, HW):
        return F.interpolate(h, size=(HW, HW), mode="bicubic", align_corners=False)

    def quantize(self, f):
        """Multi-scale residual VQ of f [B,z,P,P] -> (idx list [B,pn²], f_hat_discrete (straight-through
        not applied), residual [B,z,P,P] = f minus every scale but the last, codebook/commit loss terms,
        per-scale inputs (area-downsampled residuals as rows) for codebook restarts)."""
        B, Z, P, _ = f.shape
        S = len(self.patch_nums)
        rest, fhat = f, torch.zeros_like(f)
        idxs, vq_loss, zins = [], 0.0, []
        for si, pn in enumerate(self.patch_nums):
            last = si == S - 1
            zin = rest if last else F.interpolate(rest, size=(pn, pn), mode="area")
            rows = zin.permute(0, 2, 3, 1).reshape(-1, Z)
            idx = self.nearest(rows.detach())
            e = self.embedding(idx)
            vq_loss = vq_loss + F.mse_loss(e, rows.detach()) + 0.25 * F.mse_loss(rows, e.detach())
            h = e.reshape(B, pn, pn, Z).permute(0, 3, 1, 2)
            idxs.append(idx.reshape(B, pn * pn))
            zins.append(rows.detach())
            if not last:
                ph = self.phi(si, self.up(h, P))
                fhat = fhat + ph
                rest = rest - ph
            else:
                residual = rest
                fhat = fhat + self.phi(si, h)
        return idxs, fhat, residual, vq_loss / S, zins

    def next_inputs(self, idxs, P):
        """Teacher-forcing inputs of scales 1..S-1 (area-downsampled partial f_hat) and the
        partial f_hat before the last scale; idxs from quantize()."""
        B = idxs[0].shape[0]
        Z = self.embedding.weight.shape[1]
        fhat = torch.zeros(B, Z, P, P, device=idxs[0].device)
        nxt = []
        S = len(self.patch_nums)
        for si in range(S - 1):
            pn = self.patch_nums[si]
            h = self.embedding(idxs[si]).reshape(B, pn, pn, Z).permute(0, 3, 1, 2)
            fhat = fhat + self.phi(si, self.up(h, P))
            pn1 = self.patch_nums[si + 1]
            nxt.append(fhat if pn1 == P else F.interpolate(fhat, size=(pn1, pn1), mode="area"))
        return nxt, fhat


class HartTokenizer(nn.Module):
    """State dict names = the release tokenizer file without its 'vae.' prefix."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch, mult, nrb, z = cfg["ch"], cfg["ch_mult"], cfg.get("num_res_blocks", 2), cfg["z_channels"]
        self.encoder = Encoder(ch, mult, nrb, z)
        self.decoder = Decoder(ch, mult, nrb, z)
        ks = cfg.get("quant_conv_ks", 3)
        self.quant_conv = nn.Conv2d(z, z, ks, padding=ks // 2)
        self.post_quant_conv = nn.Conv2d(z, z, ks, padding=ks // 2)
        self.quantize = Quantizer(cfg["vocab_size"], z, cfg["v_patch_nums"], cfg.get("share_quant_resi", 4),
                                  cfg.get("quant_resi", 0.5))

    def encode(self, img):
        """img in [-1,1] -> f [B,z,P,P] (encoder + quant_conv)."""
        return self.quant_conv(self.encoder(img))

    def decode(self, f):
        """f -> image in [-1,1] (clamped like the C decoder)."""
        return self.decoder(self.post_quant_conv(f)).clamp(-1, 1)

    def decode_raw(self, f):
        return self.decoder(self.post_quant_conv(f))


# ------------------------------------------------------------------ transformer

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class RMSWeight(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))


class Attn(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.qkv_proj = nn.Linear(C, 3 * C, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(C))
        self.v_bias = nn.Parameter(torch.zeros(C))
        self.register_buffer("zero_k_bias", torch.zeros(C))
        self.proj = nn.Linear(C, C)


class FFN(nn.Module):
    def __init__(self, C, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(C, hidden, bias=False)
        self.up_proj = nn.Linear(C, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, C, bias=False)


class Block(nn.Module):
    def __init__(self, C, hidden):
        super().__init__()
        self.ada_lin = nn.Sequential(nn.SiLU(), nn.Linear(C, 6 * C))
        self.attn = Attn(C)
        self.ln_wo_grad = RMSWeight(C)
        self.ffn = FFN(C, hidden)


class HeadNM(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.ln_wo_grad = RMSWeight(C)
        self.ada_lin = nn.Sequential(nn.SiLU(), nn.Linear(C, 2 * C))


FREQ_DIM = 256


def time_freqs():
    half = FREQ_DIM // 2
    return torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)


class TimeEmbed(nn.Module):
    def __init__(self, W):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(FREQ_DIM, W), nn.SiLU(), nn.Linear(W, W))
        self.register_buffer("freqs", time_freqs(), persistent=False)

    def forward(self, t):
        a = t.float()[:, None] * self.freqs[None]
        return self.mlp(torch.cat([torch.cos(a), torch.sin(a)], -1))


class ResMLP(nn.Module):
    def __init__(self, W):
        super().__init__()
        self.in_ln = nn.LayerNorm(W, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(W, W), nn.SiLU(), nn.Linear(W, W))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(W, 3 * W))

    def forward(self, h, y):
        sh, sc, g = self.adaLN_modulation(y).chunk(3, -1)
        return h + g * self.mlp(self.in_ln(h) * (1 + sc) + sh)


class FinalLayer(nn.Module):
    def __init__(self, W, out):
        super().__init__()
        self.norm_final = nn.LayerNorm(W, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(W, out)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(W, 2 * W))

    def forward(self, h, y):
        sh, sc = self.adaLN_modulation(y).chunk(2, -1)
        return self.linear(self.norm_final(h) * (1 + sc) + sh)


class DiffNet(nn.Module):
    """SimpleMLPAdaLN: x [n,target], t [n], c [n,zdim] -> [n, 2·target] (eps | v)."""

    def __init__(self, target, zdim, W, depth):
        super().__init__()
        self.time_embed = TimeEmbed(W)
        self.cond_embed = nn.Linear(zdim, W)
        self.input_proj = nn.Linear(target, W)
        self.res_blocks = nn.ModuleList([ResMLP(W) for _ in range(depth)])
        self.final_layer = FinalLayer(W, 2 * target)

    def forward(self, x, t, c):
        # y is not passed through SiLU here: every adaLN_modulation starts with its own SiLU
        # (the C code computes silu(y) once and feeds it to each modulation linear)
        y = self.time_embed(t) + self.cond_embed(c)
        h = self.input_proj(x)
        for b in self.res_blocks:
            h = b(h, y)
        return self.final_layer(h, y)


class DiffHead(nn.Module):
    def __init__(self, target, zdim, W, depth):
        super().__init__()
        self.net = DiffNet(target, zdim, W, depth)


def cosine_alphas_cumprod(T=1000):
    def ab(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = [min(1 - ab((i + 1) / T) / ab(i / T), 0.999) for i in range(T)]
    return np.cumprod(1 - np.array(betas, np.float64))


def rope_rotate(x, cos, sin):
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], -1)
    return x * cos + rot * sin


class HartTransformer(nn.Module):
    """State dict names = the release llm/model.safetensors names (AdaLN, llama attention/MLP)."""

    def __init__(self, cfg, vocab, Cvae):
        super().__init__()
        self.cfg = cfg
        C, D = cfg["embed_dim"], cfg["context_dim"]
        self.C, self.H, self.T = C, cfg["num_heads"], cfg["context_token"]
        self.hd = C // self.H
        self.patch_nums = list(cfg["patch_nums"])
        self.S = len(self.patch_nums)
        self.eps = cfg.get("norm_eps", 1e-6)
        hidden = int((C * cfg.get("mlp_ratio", 4.0) * 2) / 3 + 255) // 256 * 256
        self.context_norm = RMSWeight(D)
        self.context_embed = nn.Linear(D, C)
        self.word_embed = nn.Linear(Cvae, C)
        self.lvl_embed = nn.Embedding(self.S, C)
        self.blocks = nn.ModuleList([Block(C, hidden) for _ in range(cfg["depth"])])
        self.head_nm = HeadNM(C)
        self.head = nn.Linear(C, vocab)
        self.decoder_norm = RMSWeight(C)
        self.diffloss = DiffHead(Cvae, C, cfg["diff_width"], cfg["diff_depth"])
        # level of each position and the block-causal mask (context = group 0)
        lv = [0] * self.T
        for s in range(1, self.S):
            lv += [s] * self.patch_nums[s] ** 2
        self.L = len(lv)
        lvl = torch.tensor(lv)
        self.register_buffer("lvl_ids", lvl, persistent=False)
        self.register_buffer("attn_mask", (lvl[None, :] <= lvl[:, None]), persistent=False)

    # rotary tables [B,L,hd] for the whole sequence given context position ids [B,T]
    def rope_tables(self, ctx_pos):
        B, hd, dev = ctx_pos.shape[0], self.hd, ctx_pos.device
        h2, q = hd // 2, hd // 4
        j = torch.arange(hd, device=dev)
        inv1 = (1.0 / torch.pow(torch.tensor(10000.0, dtype=torch.float64, device=dev),
                                (2 * (j % h2)).double() / hd)).float()
        a_ctx = ctx_pos.float()[..., None] * inv1  # [B,T,hd]
        P = self.patch_nums[-1]
        inv2 = (1.0 / torch.pow(torch.tensor(10000.0, dtype=torch.float64, device=dev),
                                (4 * (j % (2 * q) % q)).double() / hd)).float()
        base = ctx_pos[:, -1].float()  # [B]
        parts = [a_ctx]
        for s in range(1, self.S):
            pn = self.patch_nums[s]
            t = torch.arange(pn * pn, device=dev)
            r, c = (t // pn).float(), (t % pn).float()
            px = (r / pn * P)[None] + base[:, None]
            py = (c / pn * P)[None] + base[:, None]
            sel = (j < 2 * q)[None, None]
            a = torch.where(sel, px[..., None] * inv2, py[..., None] * inv2)
            parts.append(a)
        ang = torch.cat(parts, 1)
        return torch.cos(ang), torch.sin(ang)

    def condition(self, ctx):
        """sos [B,T,C] and pooled SiLU condition input (max over the T tokens)."""
        sos = self.context_embed(rms_norm(ctx, self.context_norm.weight, self.eps))
        return sos, sos.max(1).values

    def forward(self, ctx, ctx_pos, x_words):
        """ctx [B,T,D], ctx_pos [B,T], x_words [B, L-T, Cvae] (teacher-forcing inputs of scales 1..S-1)
        -> hidden [B,L,C] (after the blocks), logits [B, 1 + L - T, V] (last context position + scales)."""
        B = ctx.shape[0]
        sos, pooled = self.condition(ctx)
        lvl = self.lvl_embed(self.lvl_ids)[None]
        x = torch.cat([sos, self.word_embed(x_words)], 1) + lvl
        cos, sin = self.rope_tables(ctx_pos)
        cos, sin = cos[:, None], sin[:, None]
        H, hd, C = self.H, self.hd, self.C
        for b in self.blocks:
            g1, g2, s1, s2, sh1, sh2 = b.ada_lin(pooled)[:, None].chunk(6, -1)
            xn = rms_norm(x, b.ln_wo_grad.weight, self.eps) * (1 + s1) + sh1
            bias = torch.cat([b.attn.q_bias, b.attn.zero_k_bias, b.attn.v_bias])
            qkv = F.linear(xn, b.attn.qkv_proj.weight, bias).reshape(B, -1, 3, H, hd).permute(2, 0, 3, 1, 4)
            q, k, v = rope_rotate(qkv[0], cos, sin), rope_rotate(qkv[1], cos, sin), qkv[2]
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=self.attn_mask, scale=0.25 / math.sqrt(hd))
            x = x + b.attn.proj(o.transpose(1, 2).reshape(B, -1, C)) * g1
            xn = rms_norm(x, b.ln_wo_grad.weight, self.eps) * (1 + s2) + sh2
            f = b.ffn
            x = x + f.down_proj(F.silu(f.gate_proj(xn)) * f.up_proj(xn)) * g2
        hs, hsh = self.head_nm.ada_lin(pooled)[:, None].chunk(2, -1)
        xo = x[:, self.T - 1:]
        logits = self.head(rms_norm(xo, self.head_nm.ln_wo_grad.weight, self.eps) * (1 + hs) + hsh)
        return x, logits

    def diff_cond(self, hidden_last, codes_last):
        return rms_norm(hidden_last + self.word_embed(codes_last), self.decoder_norm.weight, self.eps)


# ------------------------------------------------------------------ Qwen2 (frozen text encoder)

class Qwen2(nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.w = {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in weights.items()}
        self.H, self.KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.D = cfg["hidden_size"]
        self.hd = self.D // self.H
        rp = cfg.get("rope_parameters") or {}
        self.theta = cfg.get("rope_theta", rp.get("rope_theta", 10000.0))
        self.eps = cfg["rms_norm_eps"]
        self.nl = cfg["num_hidden_layers"]
        pre = "model." if "model.embed_tokens.weight" in self.w else ""
        self.pre = pre

    def to(self, dev):
        self.w = {k: v.to(dev) for k, v in self.w.items()}
        return self

    @torch.no_grad()
    def forward(self, ids, mask):
        """ids [B,L] int64, mask [B,L] (1 = real) -> final normed hidden states [B,L,D] (float32)."""
        w, p = self.w, self.pre
        B, L = ids.shape
        dev = ids.device
        x = w[p + "embed_tokens.weight"][ids]
        i = torch.arange(self.hd // 2, device=dev)
        inv = (1.0 / torch.pow(torch.tensor(self.theta, dtype=torch.float64, device=dev), (2 * i).double() / self.hd)).float()
        ang = torch.arange(L, device=dev).double()[:, None] * inv.double()[None]
        cos = torch.cos(ang).float().repeat(1, 2)
        sin = torch.sin(ang).float().repeat(1, 2)
        causal = torch.tril(torch.ones(L, L, dtype=torch.bool, device=dev))
        am = causal[None] & mask.bool()[:, None, :]
        am = am[:, None]
        for l in range(self.nl):
            q_ = f"{p}layers.{l}."
            h = rms_norm(x, w[q_ + "input_layernorm.weight"], self.eps)
            q = F.linear(h, w[q_ + "self_attn.q_proj.weight"], w[q_ + "self_attn.q_proj.bias"])
            k = F.linear(h, w[q_ + "self_attn.k_proj.weight"], w[q_ + "self_attn.k_proj.bias"])
            v = F.linear(h, w[q_ + "self_attn.v_proj.weight"], w[q_ + "self_attn.v_proj.bias"])
            q = q.reshape(B, L, self.H, self.hd).transpose(1, 2)
            k = k.reshape(B, L, self.KV, self.hd).transpose(1, 2)
            v = v.reshape(B, L, self.KV, self.hd).transpose(1, 2)
            q, k = rope_rotate(q, cos, sin), rope_rotate(k, cos, sin)
            rep = self.H // self.KV
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=am, scale=1.0 / math.sqrt(self.hd))
            x = x + F.linear(o.transpose(1, 2).reshape(B, L, self.D), w[q_ + "self_attn.o_proj.weight"])
            h = rms_norm(x, w[q_ + "post_attention_layernorm.weight"], self.eps)
            x = x + F.linear(F.silu(F.linear(h, w[q_ + "mlp.gate_proj.weight"])) * F.linear(h, w[q_ + "mlp.up_proj.weight"]),
                             w[q_ + "mlp.down_proj.weight"])
        return rms_norm(x, w[p + "norm.weight"], self.eps)
