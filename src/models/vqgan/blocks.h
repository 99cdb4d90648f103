/* The convolutional building blocks that HART's autoencoder (models/hart/)
 * and LlamaGen's VQ (models/vq/) share, both taken from taming-transformers'
 * VQGAN: 2-D conv, GroupNorm(32, eps 1e-6) + SiLU, ResnetBlock, Downsample
 * (pad right/bottom by one, 3x3 stride-2 conv) and Upsample (nearest x2, 3x3
 * conv). Built from ops only; every output is a new F32 tensor on `be`.
 * `tag` names the model in error messages. */
#ifndef HART_MODELS_VQGAN_BLOCKS_H
#define HART_MODELS_VQGAN_BLOCKS_H

#include "backend/backend.h"

#define HART_VQGAN_GN_GROUPS 32
#define HART_VQGAN_GN_EPS 1e-6f

typedef struct { hart_tensor w, b; int k; } hart_vqgan_conv; /* w [Co,Ci,k,k] stored dtype, b F32 */
typedef struct { hart_tensor g, b; } hart_vqgan_gn;          /* F32 [C] */

hart_status hart_vqgan_conv_fwd(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                int stride, int pad, hart_tensor *y);
/* y = silu(groupnorm(x)), or the norm alone when silu == 0 */
hart_status hart_vqgan_norm(hart_backend *be, const hart_vqgan_gn *g, const hart_tensor *x, int silu, hart_tensor *y);
/* y = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x)))))); shortcut: the
 * 1x1 conv nin, or identity when nin is NULL */
hart_status hart_vqgan_resblock(hart_backend *be, const char *tag, const hart_vqgan_gn *n1, const hart_vqgan_conv *c1,
                                const hart_vqgan_gn *n2, const hart_vqgan_conv *c2, const hart_vqgan_conv *nin,
                                const hart_tensor *x, hart_tensor *y);
/* y = conv(pad(x, right 1, bottom 1), stride 2) */
hart_status hart_vqgan_downsample(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                  hart_tensor *y);
/* y = conv(nearest x2 upsampling of x) */
hart_status hart_vqgan_upsample(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                hart_tensor *y);
/* Attention block tail: y = x + proj(o), o [B,1,H·W,C] the attention output. */
hart_status hart_vqgan_attn_out(hart_backend *be, const char *tag, const hart_vqgan_conv *proj, const hart_tensor *o,
                                const hart_tensor *x, hart_tensor *y);

#endif
