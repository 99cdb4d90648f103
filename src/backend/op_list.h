/* The op list: the one place an op's signature is written. Each entry is
 * X(P, name, params), params being the op's parameters (output first). From it
 * come the front-end declarations op_<name> (ops/ops.h), the backend vtable
 * and the op ids (backend/backend.h), and each backend's declarations and
 * table (P is the backend's function prefix, e.g. hart_ref_). A backend's
 * function takes the backend first: hart_status P##name(hart_backend *, params).
 * Semantics follow PyTorch's of the same name unless stated otherwise. */
#ifndef HART_OP_LIST_H
#define HART_OP_LIST_H

#include "core/qweight.h"
#include "core/tensor.h"

/* The operand kinds of the ops below. */
typedef enum {
    HART_ACT_NONE = 0,
    HART_ACT_RELU,
    HART_ACT_SILU,
    HART_ACT_GELU_TANH, /* gelu(approximate="tanh") */
    HART_ACT_GELU_ERF,  /* exact gelu */
    HART_ACT_SIGMOID,
    HART_ACT_COUNT
} hart_act;

typedef enum { HART_BIN_ADD = 0, HART_BIN_SUB, HART_BIN_MUL, HART_BIN_DIV, HART_BIN_COUNT } hart_binop;
typedef enum { HART_RED_SUM = 0, HART_RED_MEAN, HART_RED_MAX, HART_RED_COUNT } hart_reduce;
typedef enum {
    HART_INTERP_NEAREST = 0, /* F.interpolate mode="nearest" */
    HART_INTERP_BILINEAR,    /* align_corners=False */
    HART_INTERP_BICUBIC,     /* align_corners=False, A=-0.75, border clamp */
    HART_INTERP_AREA,        /* adaptive_avg_pool2d */
    HART_INTERP_COUNT
} hart_interp;
typedef enum {
    HART_POOL_MAX = 0, /* F.max_pool2d (padding counts as -inf) */
    HART_POOL_AVG,     /* F.avg_pool2d with count_include_pad=False */
    HART_POOL_COUNT
} hart_pool;

/* One step of the iDDPM ancestral sampler (op ddpm_step), float32 as the
 * reference: eps guided as g1·cond − g0·uncond when `guided`; variance
 * interpolated between minl and maxl (log scale); x0 predicted with sra,
 * srm1 and clamped to [-1, 1]; mean c1·x0 + c2·x; noise scaled by
 * nzm·exp(lv/2)·temperature. */
typedef struct {
    int guided;
    float g1, g0, minl, maxl, sra, srm1, c1, c2, nzm, temperature;
} hart_ddpm_coef;


/* Which block mask op block_mask builds (docs/sparse.md "Masks on the device"). */
typedef enum { HART_BLOCK_MASK_QUEST = 1, HART_BLOCK_MASK_XATTN = 2 } hart_block_mask_kind;
typedef struct {
    int kind;        /* hart_block_mask_kind */
    int block;       /* query and key block size (tokens), >= 1 */
    int64_t nsink;   /* keys [0, nsink) are sinks: their blocks are always kept */
    int budget;      /* quest: pages kept per query block besides the sinks, >= 1 */
    double threshold;/* xattn: normalised mass to reach, in (0, 1] */
    float scale;     /* xattn: the attention's logit scale */
} hart_block_mask_spec;


#define HART_OP_LIST(X, P)                                                                              \
    /* y[..., N] = x[..., K] · w[N, K]^T + b[N]   (nn.Linear; w f32/f16/bf16; b may be NULL) */         \
    X(P, linear, (hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b))     \
    /* c = alpha · op(a) · op(b), batched over all leading dims (up to 2).                              \
     * a [..., M, K] (or [..., K, M] if trans_a), b [..., K, N] (or [..., N, K] if                      \
     * trans_b); b may have no leading dims (broadcast). f32 only. */                                   \
    X(P, matmul, (hart_tensor *c, const hart_tensor *a, const hart_tensor *b, int trans_a, int trans_b,  \
                  float alpha))                                                                         \
    /* NCHW conv2d. w [Co, Ci/groups, kh, kw] (f32/f16/bf16), b [Co] or NULL.                           \
     * Square stride and zero padding. */                                                               \
    X(P, conv2d, (hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b,      \
                  int stride, int pad, int groups))                                                     \
    /* x [N, C, ...]: normalise each (n, group) over C/groups · spatial. gamma/beta [C] or NULL. */     \
    X(P, group_norm, (hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,                    \
                      const hart_tensor *beta, int groups, float eps))                                  \
    /* Normalise over the last dim. gamma/beta [D] or NULL. */                                          \
    X(P, layer_norm, (hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,                    \
                      const hart_tensor *beta, float eps))                                              \
    /* y = x / sqrt(mean(x²) + eps) · gamma over the last dim. gamma [D] or NULL. */                    \
    X(P, rms_norm, (hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma, float eps))          \
    /* Softmax over the last dim. */                                                                    \
    X(P, softmax, (hart_tensor *y, const hart_tensor *x))                                               \
    X(P, act, (hart_tensor *y, const hart_tensor *x, hart_act act))                                      \
    /* y = a (op) b with numpy broadcasting of a and b to y's shape (dims aligned                       \
     * from the right; size-1 dims broadcast). y may alias a. */                                        \
    X(P, binary, (hart_tensor *y, const hart_tensor *a, const hart_tensor *b, hart_binop op))            \
    /* y = alpha · x + beta (y may alias x) */                                                          \
    X(P, scale, (hart_tensor *y, const hart_tensor *x, float alpha, float beta))                         \
    /* y = x < lo ? lo : x > hi ? hi : x (NaN stays NaN; y may alias x) */                                \
    X(P, clamp, (hart_tensor *y, const hart_tensor *x, float lo, float hi))                              \
    /* Same numel; converts f32/f16/bf16 x to y's dtype (f32 usually). */                               \
    X(P, copy, (hart_tensor *y, const hart_tensor *x))                                                  \
    /* 8-bit RGB images to floats, as torchvision's ToTensor: x U8 [N, H, W, 3] (channel last) ->       \
     * y F32 [N, 3, H, W] (channel first), y = (float)x / 255.0f, a correctly rounded float32         \
     * division on every backend (ref64 too: ToTensor's output is float32). */                          \
    X(P, rgb8_to_nchw, (hart_tensor *y, const hart_tensor *x))                                          \
    /* y.shape[i] = x.shape[perm[i]] for i < x.ndim. */                                                 \
    X(P, transpose, (hart_tensor *y, const hart_tensor *x, const int *perm))                             \
    /* Concatenate a and b along dim. */                                                                \
    X(P, concat, (hart_tensor *y, const hart_tensor *a, const hart_tensor *b, int dim))                  \
    /* y = x[..., start : start + y.shape[dim], ...] along dim. */                                      \
    X(P, slice, (hart_tensor *y, const hart_tensor *x, int dim, int64_t start))                          \
    /* y[..., start : start + x.shape[dim], ...] = x along dim (e.g. KV cache append). */               \
    X(P, slice_assign, (hart_tensor *y, const hart_tensor *x, int dim, int64_t start))                   \
    /* y[i, :] = table[ids[i], :]; ids I64 or I32 of any shape, y [numel(ids), D]                       \
     * (or ids.shape + [D]); out-of-range id is HART_EINVAL. */                                         \
    X(P, embedding, (hart_tensor *y, const hart_tensor *table, const hart_tensor *ids))                  \
    /* Scaled dot-product attention.                                                                    \
     * q [B, H, Lq, D], k/v [B, Hkv, Lk, D] with H % Hkv == 0 (grouped-query),                          \
     * mask: NULL or f32 additive, shape [Bm, Hm, Lq, Lk] with Bm ∈ {1,B}, Hm ∈ {1,H}                  \
     * (use -INFINITY to exclude; a fully masked row yields zeros). out [B, H, Lq, D]. */               \
    X(P, attention, (hart_tensor *out, const hart_tensor *q, const hart_tensor *k, const hart_tensor *v, \
                     const hart_tensor *mask, float scale))                                             \
    /* Block-sparse attention: attention() restricted to the kept tiles of a                          \
     * block mask. blocks U8 [Bb, Hb, ceil(Lq/block_q), ceil(Lk/block_k)], Bb ∈ {1,B},                 \
     * Hb ∈ {1,H}; 0 = tile skipped (its scores count as -inf), nonzero = kept. The additive          \
     * mask (NULL or as in attention) still applies inside kept tiles. All tiles kept gives            \
     * attention()'s result (bit for bit on the CPU backend with block_q = 64). */                     \
    X(P, attention_sparse, (hart_tensor *out, const hart_tensor *q, const hart_tensor *k,                \
                            const hart_tensor *v, const hart_tensor *mask, const hart_tensor *blocks,   \
                            int block_q, int block_k, float scale))                                     \
    /* The block mask of a data-dependent sparse-attention policy (quest or xattn, spec), computed  \
     * from q [B, H, Lq, D] and k [B, Hkv, Lk, D] (F32, Lq <= Lk, D <= 256) into blocks U8            \
     * [B, H, ceil(Lq/block), ceil(Lk/block)] (1 kept, 0 skipped). Query i sits at key Lk - Lq + i.  \
     * Scores are fixed-point integers (docs/sparse.md): every backend gives the same mask bit for    \
     * bit. */                                                                                          \
    X(P, block_mask, (hart_tensor *blocks, const hart_tensor *q, const hart_tensor *k,                   \
                      const hart_block_mask_spec *spec))                                                \
    /* Rotary embedding. x [B, H, L, D]; cos/sin [Bc, L, D/2] with Bc ∈ {1, B}.                        \
     * interleaved=0: rotate-half (pairs (i, i+D/2), Qwen2/HF-llama style);                             \
     * interleaved=1: pairs (2i, 2i+1). y may alias x. */                                               \
    X(P, rope, (hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t, const hart_tensor *sin_t, \
                int interleaved))                                                                       \
    /* Rotate-half rotary embedding with a table entry per element (HART's 2-D rotary gives the two   \
     * halves of a pair different angles): x, y [B, H, L, D] (D even), cos/sin [B, L, D];             \
     * y[j] = x[j]·cos[j] − x[j+D/2]·sin[j], y[j+D/2] = x[j+D/2]·cos[j+D/2] + x[j]·sin[j+D/2].       \
     * y may alias x. */                                                                                \
    X(P, rope_rows, (hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t, const hart_tensor *sin_t)) \
    /* ---- fused transformer-block ops (docs/opencl.md "Fused block ops"): one pass where the      \
     * composition named takes several; y may be F16 (stored with round to nearest even) where the   \
     * backend takes half activations (hart_backend_vt.half_activations), else F32 ---- */            \
    /* y = norm(x), then y·s1p[b] + shift[b] when s1p is given: rms_norm(x, gamma) (rms = 1, beta    \
     * NULL) or layer_norm(x, gamma, beta) (rms = 0), then binary MUL and ADD. x [B, L, D], gamma and  \
     * beta [D] or NULL, s1p and shift [B, 1, D] (both or neither). */                                 \
    X(P, norm_mod, (hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma, const hart_tensor *beta, \
                    const hart_tensor *s1p, const hart_tensor *shift, float eps, int rms))             \
    /* SwiGLU of a fused gate|up GEMM output: y[..., j] = silu(x[..., j]) · x[..., H + j];             \
     * x [..., 2H], y [..., H] (act SILU, then binary MUL). */                                         \
    X(P, swiglu, (hart_tensor *y, const hart_tensor *x))                                                \
    /* A fused q|k|v GEMM output split into heads: x [B, L, 3·H·D] -> y [3B, H, L, D], rows 0..B-1 q,  \
     * B..2B-1 k, 2B..3B-1 v (transpose of the [B, L, 3, H, D] view); q and k rotated as rope_rows     \
     * with cos/sin [B, L, D] (both NULL: no rotation). F32 only. */                                   \
    X(P, qkv_heads, (hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t, const hart_tensor *sin_t)) \
    /* NCHW resize to y's spatial size. */                                                              \
    X(P, interpolate, (hart_tensor *y, const hart_tensor *x, hart_interp mode))                          \
    /* NCHW k×k pooling, square stride and padding, ceil_mode=False:                                    \
     * y [N, C, (H+2·pad-k)/stride+1, (W+2·pad-k)/stride+1]; pad <= k/2. */                            \
    X(P, pool2d, (hart_tensor *y, const hart_tensor *x, int k, int stride, int pad, hart_pool mode))     \
    /* [N, C·r², H, W] -> [N, C, H·r, W·r] (nn.PixelShuffle) and its inverse. */                        \
    X(P, pixel_shuffle, (hart_tensor *y, const hart_tensor *x, int r))                                   \
    X(P, pixel_unshuffle, (hart_tensor *y, const hart_tensor *x, int r))                                 \
    /* Reduce over dim; y has y.shape[dim] == 1, otherwise x's shape. */                                \
    X(P, reduce, (hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r))                         \
    /* idx[i] (I64) = argmin_v ||x[i] - codebook[v]||² (first minimum on ties).                         \
     * x [N, D], codebook [V, D]. */                                                                    \
    X(P, argmin_dist, (hart_tensor *idx, const hart_tensor *x, const hart_tensor *codebook))              \
    /* ---- token sampling and the diffusion sampler (the generation loop on the device) ---- */        \
    /* Guidance: y [B, ...] = (1+t)·x[b] − t·x[B+b] for x [2B, ...], float32 products (hart_cfg_mix). */  \
    X(P, cfg_mix, (hart_tensor *y, const hart_tensor *x, double t))                                      \
    /* Each row of the last dim (V <= 2^22): top-k, then top-p, of core/sample_fixed.h; y may alias    \
     * x. k <= 0 or k >= V: no top-k; p outside (0, 1): no top-p. A NaN logit is EINVAL on the host;  \
     * device kernels cannot fail and treat it as -inf. */                                              \
    X(P, topk_topp, (hart_tensor *y, const hart_tensor *x, int k, double p))                             \
    /* idx I64 [B, L]: token of row (b, j) of x [B, L, V], drawn as core/sample_fixed.h says with the   \
     * keyed uniform hart_gen_uniform(keys[b][0], keys[b][1], site, step, j); keys I64 [B, 2] =         \
     * (seed, image index) per image. */                                                                \
    X(P, multinomial, (hart_tensor *idx, const hart_tensor *x, const hart_tensor *keys, int site, int step)) \
    /* y [B, L, V] = softmax((x·scale + g) / tau) per row, g = −log(−log(1 − u)), u the keyed uniform  \
     * of (keys[b], site, step, index j·V + v); -inf logits give 0 (hart_gumbel_softmax). */            \
    X(P, gumbel_softmax, (hart_tensor *y, const hart_tensor *x, const hart_tensor *keys, float scale,     \
                          float tau, int site, int step))                                               \
    /* y F32 [H, B, L, C]: element (h, b, l, c) = hart_gen_normal(keys[b][0], keys[b][1], site, step,   \
     * h·L·C + l·C + c). keys I64 [B, 2]. */                                                            \
    X(P, randn, (hart_tensor *y, const hart_tensor *keys, int site, int step))                           \
    /* x [n, C] one denoising step in place from model output out [n, 2C] (eps, variance) and noise     \
     * [n, C]; guided: n even, eps of rows r and r + n/2 both from rows r (cond) and r + n/2 (uncond). */ \
    X(P, ddpm_step, (hart_tensor *x, const hart_tensor *out, const hart_tensor *noise, const hart_ddpm_coef *c)) \
    /* y [N, D] = table F32 [V, D] rows idx I64 (N entries); an id outside [0, V) gives a zero row     \
     * (no error, so a device need not report back: embedding's checked twin for ids made in range,  \
     * e.g. by multinomial). */                                                                         \
    X(P, gather_rows, (hart_tensor *y, const hart_tensor *table, const hart_tensor *idx))\
    /* Quantized linear (core/qweight.h, docs/quant.md): y[..., N] = x[..., K] · deq(w)ᵀ + b[N].        \
     * W8A8/W4A8: x rows to int8 (quant_rows), int32 sums (qgemm), then                                \
     * y = (float)acc · (sx[m] · w.scale[n]) + b[n]. W4A16: float x times the dequantized                \
     * weight (q − zero) · scale. hart_op_linear on a tensor with .quant set comes here. */             \
    X(P, qlinear, (hart_tensor *y, const hart_tensor *x, const hart_qweight *w, const hart_tensor *b))   \
    /* Per-row symmetric int8 (dynamic per-token activations): a = max|x[m,:]|,                        \
     * s[m] = a / 127, q[m,k] = clamp(rint(x[m,k] · (127 / a)), −127, 127); a zero row gives s = 0, q = 0;\
     * NaN gives 0. \
     * q I8 [M, K], s F32 [M], x F32 [M, K]. */                                                        \
    X(P, quant_rows, (hart_tensor *q, hart_tensor *s, const hart_tensor *x))                             \
    /* Integer part of W8A8/W4A8: acc I32 [M, N] = Σ_k a[m,k] · w8[n,k] exactly; a I8 [M, K] with        \
     * entries in [−127, 127], w8 the weight's int8 values (qweight.h). */                              \
    X(P, qgemm, (hart_tensor *acc, const hart_tensor *a, const hart_qweight *w))

#endif
