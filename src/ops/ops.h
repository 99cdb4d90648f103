/* The op interface every model uses. All activations are float32 and dense
 * row-major. Each op dispatches on the backend of its output tensor `y`
 * (NULL backend = CPU); all inputs must live on that same backend (host
 * tensors count as CPU). Weights may be f32, f16 or bf16 where noted.
 * Shapes are validated; a mismatch is HART_EINVAL with a message naming the
 * op and both shapes. `y` is always preallocated by the caller with the
 * result shape; ops never allocate their output.
 *
 * Semantics follow PyTorch's of the same name unless stated otherwise. */
#ifndef HART_OPS_H
#define HART_OPS_H

#include "core/tensor.h"

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

/* y[..., N] = x[..., K] · w[N, K]^T + b[N]   (nn.Linear; w f32/f16/bf16; b may be NULL) */
hart_status op_linear(hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                      const hart_tensor *b);

/* c = alpha · op(a) · op(b), batched over all leading dims (up to 2).
 * a [..., M, K] (or [..., K, M] if trans_a), b [..., K, N] (or [..., N, K] if
 * trans_b); b may have no leading dims (broadcast). f32 only. */
hart_status op_matmul(hart_tensor *c, const hart_tensor *a, const hart_tensor *b,
                      int trans_a, int trans_b, float alpha);

/* NCHW conv2d. w [Co, Ci/groups, kh, kw] (f32/f16/bf16), b [Co] or NULL.
 * Square stride and zero padding. */
hart_status op_conv2d(hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                      const hart_tensor *b, int stride, int pad, int groups);

/* x [N, C, ...]: normalise each (n, group) over C/groups · spatial. gamma/beta [C] or NULL. */
hart_status op_group_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                          const hart_tensor *beta, int groups, float eps);
/* Normalise over the last dim. gamma/beta [D] or NULL. */
hart_status op_layer_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                          const hart_tensor *beta, float eps);
/* y = x / sqrt(mean(x²) + eps) · gamma over the last dim. gamma [D] or NULL. */
hart_status op_rms_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                        float eps);
/* Softmax over the last dim. */
hart_status op_softmax(hart_tensor *y, const hart_tensor *x);
hart_status op_act(hart_tensor *y, const hart_tensor *x, hart_act act);
/* y = a (op) b with numpy broadcasting of a and b to y's shape (dims aligned
 * from the right; size-1 dims broadcast). y may alias a. */
hart_status op_binary(hart_tensor *y, const hart_tensor *a, const hart_tensor *b,
                      hart_binop op);
/* y = alpha · x + beta (y may alias x) */
hart_status op_scale(hart_tensor *y, const hart_tensor *x, float alpha, float beta);
/* Same numel; converts f32/f16/bf16 x to y's dtype (f32 usually). */
hart_status op_copy(hart_tensor *y, const hart_tensor *x);
/* y.shape[i] = x.shape[perm[i]] for i < x.ndim. */
hart_status op_transpose(hart_tensor *y, const hart_tensor *x, const int *perm);
/* Concatenate a and b along dim. */
hart_status op_concat(hart_tensor *y, const hart_tensor *a, const hart_tensor *b, int dim);
/* y = x[..., start : start + y.shape[dim], ...] along dim. */
hart_status op_slice(hart_tensor *y, const hart_tensor *x, int dim, int64_t start);
/* y[..., start : start + x.shape[dim], ...] = x along dim (e.g. KV cache append). */
hart_status op_slice_assign(hart_tensor *y, const hart_tensor *x, int dim, int64_t start);
/* y[i, :] = table[ids[i], :]; ids I64 or I32 of any shape, y [numel(ids), D]
 * (or ids.shape + [D]); out-of-range id is HART_EINVAL. */
hart_status op_embedding(hart_tensor *y, const hart_tensor *table, const hart_tensor *ids);

/* Scaled dot-product attention.
 * q [B, H, Lq, D], k/v [B, Hkv, Lk, D] with H % Hkv == 0 (grouped-query),
 * mask: NULL or f32 additive, shape [Bm, Hm, Lq, Lk] with Bm ∈ {1,B}, Hm ∈ {1,H}
 * (use -INFINITY to exclude; a fully masked row yields zeros). out [B, H, Lq, D]. */
hart_status op_attention(hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                         const hart_tensor *v, const hart_tensor *mask, float scale);

/* Rotary embedding. x [B, H, L, D]; cos/sin [Bc, L, D/2] with Bc ∈ {1, B}.
 * interleaved=0: rotate-half (pairs (i, i+D/2), Qwen2/HF-llama style);
 * interleaved=1: pairs (2i, 2i+1). y may alias x. */
hart_status op_rope(hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t,
                    const hart_tensor *sin_t, int interleaved);

/* NCHW resize to y's spatial size. */
hart_status op_interpolate(hart_tensor *y, const hart_tensor *x, hart_interp mode);
/* [N, C·r², H, W] -> [N, C, H·r, W·r] (nn.PixelShuffle) and its inverse. */
hart_status op_pixel_shuffle(hart_tensor *y, const hart_tensor *x, int r);
hart_status op_pixel_unshuffle(hart_tensor *y, const hart_tensor *x, int r);
/* Reduce over dim; y has y.shape[dim] == 1, otherwise x's shape. */
hart_status op_reduce(hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r);
/* idx[i] (I64) = argmin_v ||x[i] - codebook[v]||² (first minimum on ties).
 * x [N, D], codebook [V, D]. */
hart_status op_argmin_dist(hart_tensor *idx, const hart_tensor *x, const hart_tensor *codebook);

#endif
