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
    /* Same numel; converts f32/f16/bf16 x to y's dtype (f32 usually). */                               \
    X(P, copy, (hart_tensor *y, const hart_tensor *x))                                                  \
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
    /* Rotary embedding. x [B, H, L, D]; cos/sin [Bc, L, D/2] with Bc ∈ {1, B}.                        \
     * interleaved=0: rotate-half (pairs (i, i+D/2), Qwen2/HF-llama style);                             \
     * interleaved=1: pairs (2i, 2i+1). y may alias x. */                                               \
    X(P, rope, (hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t, const hart_tensor *sin_t, \
                int interleaved))                                                                       \
    /* NCHW resize to y's spatial size. */                                                              \
    X(P, interpolate, (hart_tensor *y, const hart_tensor *x, hart_interp mode))                          \
    /* [N, C·r², H, W] -> [N, C, H·r, W·r] (nn.PixelShuffle) and its inverse. */                        \
    X(P, pixel_shuffle, (hart_tensor *y, const hart_tensor *x, int r))                                   \
    X(P, pixel_unshuffle, (hart_tensor *y, const hart_tensor *x, int r))                                 \
    /* Reduce over dim; y has y.shape[dim] == 1, otherwise x's shape. */                                \
    X(P, reduce, (hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r))                         \
    /* idx[i] (I64) = argmin_v ||x[i] - codebook[v]||² (first minimum on ties).                         \
     * x [N, D], codebook [V, D]. */                                                                    \
    X(P, argmin_dist, (hart_tensor *idx, const hart_tensor *x, const hart_tensor *codebook))              \
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
