/* Layout of the LlamaGen VQ tokenizer (vq_load.c, vq_net.c). */
#ifndef HART_MODELS_VQ_INTERNAL_H
#define HART_MODELS_VQ_INTERNAL_H

#include "models/vq/vq.h"
#include "models/vqgan/blocks.h"

#define VQ_GN_GROUPS HART_VQGAN_GN_GROUPS

typedef hart_vqgan_conv vq_conv;
typedef hart_vqgan_gn vq_gn;
typedef struct { int has_nin; vq_gn n1, n2; vq_conv c1, c2, nin; } vq_res;
typedef struct { int c; vq_gn n; vq_conv q, k, v, proj; } vq_attn;
typedef struct {
    int nres, has_attn, has_resample;
    vq_res res[8];
    vq_attn attn[8];
    vq_conv resample;
} vq_level;
typedef struct {
    vq_conv conv_in, conv_out;
    vq_level lv[HART_VQ_MAX_LEVELS]; /* execution order */
    vq_res mid1, mid2;
    vq_attn mid_attn;
    vq_gn norm_out;
} vq_coder;

struct hart_vq {
    hart_backend *be;
    hart_vq_info info;
    vq_coder enc, dec;
    vq_conv quant_conv, post_quant_conv;
    hart_tensor codebook; /* [K,E] l2-normalised rows, on be */
    double *cb_host;      /* the same, host copy */
};

#endif
