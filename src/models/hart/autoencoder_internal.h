/* Internal layout of the HART autoencoder (shared by autoencoder.c, autoencoder_net.c,
 * autoencoder_quant.c). Not part of the public API. */
#ifndef HART_MODELS_HART_AUTOENCODER_INTERNAL_H
#define HART_MODELS_HART_AUTOENCODER_INTERNAL_H

#include "models/hart/autoencoder.h"
#include "models/vqgan/blocks.h"

#define VAE_MAX_LEVELS 8
#define VAE_GN_GROUPS HART_VQGAN_GN_GROUPS /* the reference's Normalize(): GroupNorm(32, C, eps=1e-6) */

typedef hart_vqgan_conv vae_conv;
typedef hart_vqgan_gn vae_gn;
typedef struct {
    int cin, cout, has_nin;
    vae_gn n1, n2;
    vae_conv c1, c2, nin;
} vae_res;
typedef struct { int c; vae_gn n; vae_conv qkv, proj; } vae_attn;
typedef struct {
    int nblk, nattn, has_resample;
    vae_res *blk;
    vae_attn *attn;
    vae_conv resample; /* downsample (encoder) / upsample (decoder) conv */
} vae_level;
typedef struct {
    vae_conv conv_in, conv_out;
    int nlv;
    vae_level lv[VAE_MAX_LEVELS];
    vae_res mid1, mid2;
    vae_attn mid_attn;
    vae_gn norm_out;
} vae_coder;

struct hart_vae {
    hart_backend *be;
    hart_vae_info info;
    int ch, n_mult, ch_mult[VAE_MAX_LEVELS], num_res_blocks, quant_ks;
    int hybrid;      /* quantizer_type var_hybrid: last scale without phi in AR / residual */
    int znorm;       /* using_znorm: cosine-similarity codebook lookup */
    vae_coder enc, dec;
    vae_conv quant_conv, post_quant_conv;
    hart_tensor codebook; /* [V, z] F32 on be */
    float *cb_host;       /* [V, z] host copy */
    float *cb_sq;         /* [V] sum of squares (float, as torch computes it) */
    int n_phi;
    vae_conv *phi;
    float resi_ratio;     /* |quant_resi| */
    int phi_of_scale[HART_MAX_SCALES]; /* index into phi, -1 = identity */
};

/* autoencoder_net.c */
/* 1 if t can be used directly as an op input on v's backend */
int hart_vae_on_backend(const hart_vae *v, const hart_tensor *t);
/* dst (any backend, same dtype/numel) = src (on v's backend) */
hart_status hart_vae_store(hart_vae *v, hart_tensor *dst, const hart_tensor *src);
hart_status hart_vae_conv_fwd(hart_vae *v, const vae_conv *cv, const hart_tensor *x, int stride, int pad,
                         hart_tensor *y);
/* Floating-point operations (multiply-add = 2) of hart_vae_decode /
 * hart_vae_encode for one image whose latent is h x w (convs + attention). */
double hart_vae_decode_flops(const hart_vae *v, int64_t h, int64_t w);
double hart_vae_encode_flops(const hart_vae *v, int64_t h, int64_t w);
/* autoencoder_quant.c */
hart_status hart_vae_phi_apply(hart_vae *v, int si, const hart_tensor *x, hart_tensor *y);
/* Phi index for scale si of S, as PhiPartiallyShared/PhiNonShared pick it. */
int hart_vae_phi_pick(int K, int share, int si, int S);

#endif
