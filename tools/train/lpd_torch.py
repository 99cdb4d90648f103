"""PyTorch versions of the LPD transformer and the LlamaGen VQ as the C port computes them (our own code).

Parameter names are the release checkpoint names the C loaders read
(src/models/lpd/lpd_load.c, src/models/vq/vq_load.c), so `{"model": state_dict()}` saved with
torch.save is a release-layout file. The math mirrors the C code:
  - VQ: taming-style encoder/decoder (GroupNorm(32, eps 1e-6) + SiLU, residual blocks with a 1x1
    nin_shortcut when widths change, single-head attention with separate q/k/v/proj_out 1x1 convs at
    the deepest level and in the middle, downsample = pad right/bottom + stride-2 3x3 conv,
    upsample = nearest x2 + 3x3 conv), quant_conv / post_quant_conv (1x1), and a codebook whose rows
    and the latent are l2-normalised before the nearest-codeword search; the decoder reads the
    normalised codeword.
  - LPD: input = embedding + pos_embed (slot 0: class_emb or, unconditional, fake_latent; a token:
    token_emb; a position query: mask_token; position 1 + raster index of the token), z_proj_ln,
    pre-norm ViT blocks (LayerNorm eps 1e-6, qkv with bias, heads of 64, softmax(qk^T/sqrt(hd)),
    proj, GELU(erf) MLP), final norm, head without bias.
    Training runs the whole sequence at once: [class, the N tokens in generation order, N position
    queries]; a token of group b sees the class and the tokens of groups <= b, a query of group i sees
    the class, the tokens of groups < i and the queries of group i. That is exactly what the C KV-cache
    loop computes step by step (the queries' cache slots are overwritten by the real tokens).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from hart_torch import Down, ResBlock, Up, gn

# ------------------------------------------------------------------ VQ


class VQAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        B, C, H, W = x.shape
        n = self.norm(x)
        q, k, v = (m(n).reshape(B, C, H * W).transpose(1, 2) for m in (self.q, self.k, self.v))
        o = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=C ** -0.5)[:, 0]
        return x + self.proj_out(o.transpose(1, 2).reshape(B, C, H, W))


class _Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.m = nn.ModuleList([ResBlock(c, c), VQAttn(c), ResBlock(c, c)])

    def forward(self, x):
        for b in self.m:
            x = b(x)
        return x


def _level(cin, cout, nres, attn, resample):
    lv = nn.Module()
    lv.res = nn.ModuleList()
    lv.attn = nn.ModuleList()
    for _ in range(nres):
        lv.res.append(ResBlock(cin, cout))
        cin = cout
        if attn:
            lv.attn.append(VQAttn(cout))
    if resample == "down":
        lv.downsample = Down(cout)
    elif resample == "up":
        lv.upsample = Up(cout)
    return lv


def _run_level(lv, h):
    for b in range(len(lv.res)):
        h = lv.res[b](h)
        if len(lv.attn):
            h = lv.attn[b](h)
    if hasattr(lv, "downsample"):
        h = lv.downsample(h)
    if hasattr(lv, "upsample"):
        h = lv.upsample(h)
    return h


class VQEncoder(nn.Module):
    def __init__(self, ch, ch_mult, nrb, z):
        super().__init__()
        n = len(ch_mult)
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.conv_blocks = nn.ModuleList()
        cin = ch
        for i in range(n):
            cout = ch * ch_mult[i]
            self.conv_blocks.append(_level(cin, cout, nrb, i == n - 1, "down" if i != n - 1 else None))
            cin = cout
        self.mid = _Mid(cin).m
        self.norm_out, self.conv_out = gn(cin), nn.Conv2d(cin, z, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for lv in self.conv_blocks:
            h = _run_level(lv, h)
        for b in self.mid:
            h = b(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VQDecoder(nn.Module):
    def __init__(self, ch, ch_mult, nrb, z):
        super().__init__()
        n = len(ch_mult)
        cin = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z, cin, 3, padding=1)
        self.mid = _Mid(cin).m
        self.conv_blocks = nn.ModuleList()
        for i in range(n):  # conv_blocks.0 is the deepest level
            cout = ch * ch_mult[n - 1 - i]
            self.conv_blocks.append(_level(cin, cout, nrb + 1, i == 0, "up" if i != n - 1 else None))
            cin = cout
        self.norm_out, self.conv_out = gn(cin), nn.Conv2d(cin, 3, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        for b in self.mid:
            h = b(h)
        for lv in self.conv_blocks:
            h = _run_level(lv, h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VQModel(nn.Module):
    """LlamaGen VQModel: encoder, quant_conv, l2-normalised codebook, post_quant_conv, decoder."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch, cm, nrb, z = cfg["ch"], cfg["ch_mult"], cfg["num_res_blocks"], cfg["z_channels"]
        E, K = cfg["codebook_embed_dim"], cfg["codebook_size"]
        self.encoder = VQEncoder(ch, cm, nrb, z)
        self.decoder = VQDecoder(ch, cm, nrb, z)
        self.quant_conv = nn.Conv2d(z, E, 1)
        self.post_quant_conv = nn.Conv2d(E, z, 1)
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(K, E)
        nn.init.uniform_(self.quantize.embedding.weight, -1.0 / K, 1.0 / K)

    def encode(self, x):
        """Latent [B,E,h,w] before quantization (hart_vq_encode)."""
        return self.quant_conv(self.encoder(x))

    def codebook(self):
        return F.normalize(self.quantize.embedding.weight, dim=1)

    def quantize_latent(self, z):
        """(indices [B,h*w], normalised latent [B,E,h,w], normalised codewords [B,E,h,w])."""
        B, E, h, w = z.shape
        zn = F.normalize(z, dim=1)
        flat = zn.permute(0, 2, 3, 1).reshape(-1, E)
        cb = self.codebook()
        d = (flat * flat).sum(1, keepdim=True) + (cb * cb).sum(1)[None] - 2 * flat @ cb.t()
        idx = d.argmin(1)
        zq = cb[idx].reshape(B, h, w, E).permute(0, 3, 1, 2)
        return idx.reshape(B, h * w), zn, zq

    def decode_latent(self, zq):
        return self.decoder(self.post_quant_conv(zq))

    def decode_codes(self, idx, h, w):
        """idx [B,h*w] -> image [B,3,H,W] (hart_vq_decode_codes)."""
        B = idx.shape[0]
        zq = self.codebook()[idx].reshape(B, h, w, -1).permute(0, 3, 1, 2)
        return self.decode_latent(zq)


# ------------------------------------------------------------------ LPD


class Attention(nn.Module):
    def __init__(self, D, H):
        super().__init__()
        self.H = H
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x, mask):
        B, L, D = x.shape
        q, k, v = self.qkv(x).reshape(B, L, 3, self.H, D // self.H).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # scale 1/sqrt(hd)
        return self.proj(o.transpose(1, 2).reshape(B, L, D))


class Mlp(nn.Module):
    def __init__(self, D, M):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(D, M), nn.Linear(M, D)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, D, H, M):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(D, eps=1e-6), Attention(D, H)
        self.norm2, self.mlp = nn.LayerNorm(D, eps=1e-6), Mlp(D, M)

    def forward(self, x, mask):
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


def train_mask(groups, device=None):
    """Bool [1+2N, 1+2N] (True = may attend) over [class, N tokens in generation order, N queries]."""
    N = sum(groups)
    blk = torch.empty(N, dtype=torch.long)
    s = 0
    for i, g in enumerate(groups):
        blk[s:s + g] = i
        s += g
    real = torch.cat([torch.tensor([-1]), blk])  # block of each real slot (class = -1)
    rr = real[:, None] >= real[None, :]  # token of block b sees real slots of blocks <= b
    qr = (blk[:, None] - 1) >= real[None, :]  # query of block i sees real slots of blocks < i
    qq = blk[:, None] == blk[None, :]  # and the queries of its own block
    L = 1 + 2 * N
    m = torch.zeros(L, L, dtype=torch.bool)
    m[:1 + N, :1 + N] = rr
    m[1 + N:, :1 + N] = qr
    m[1 + N:, 1 + N:] = qq
    return m.to(device)


class LPD(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, depth, V, C, N = cfg["decoder_embed_dim"], cfg["decoder_depth"], cfg["vqgan_vocab_size"], \
            cfg["class_num"], cfg["seq_len"]
        H, M = cfg["decoder_num_heads"], cfg["mlp_hidden"]
        self.class_emb = nn.Embedding(C, D)
        self.token_emb = nn.Embedding(V, D)
        self.fake_latent = nn.Parameter(torch.zeros(1, D))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, N + 1, D))
        self.z_proj_ln = nn.LayerNorm(D, eps=1e-6)
        self.blocks = nn.ModuleList([Block(D, H, M) for _ in range(depth)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, V, bias=False)
        for p in (self.fake_latent, self.mask_token, self.pos_embed):
            nn.init.normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, labels, uncond, orders, tokens_gen, mask, return_x=False):
        """labels [B], uncond [B] bool (null class: fake_latent), orders [B,N] (raster index of the k-th
        generated token), tokens_gen [B,N] (tokens in generation order), mask from train_mask.
        Returns the logits of the N queries [B,N,V] (query k predicts tokens_gen[:, k])."""
        B, N = orders.shape
        pe = self.pos_embed[0]
        cls = torch.where(uncond[:, None], self.fake_latent.expand(B, -1), self.class_emb(labels)) + pe[0]
        pos = pe[1 + orders]  # [B,N,D]
        x = torch.cat([cls[:, None], self.token_emb(tokens_gen) + pos, self.mask_token + pos], 1)
        x = self.z_proj_ln(x)
        x0 = x
        for b in self.blocks:
            x = b(x, mask)
        logits = self.head(self.norm(x[:, 1 + N:]))
        return (logits, x0) if return_x else logits
