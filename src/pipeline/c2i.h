/* Class-to-image generation with LPD (the one loop every caller uses: CLI,
 * batch, golden tests): per step the transformer's logits, classifier-free
 * guidance, sampling (or replayed tokens), then raster order and the VQ
 * decoder. Reproduces LPD.sample_tokens of models/lpd.py and the image of
 * engine.evaluate(): (decode + 1) / 2, not clamped. */
#ifndef HART_PIPELINE_C2I_H
#define HART_PIPELINE_C2I_H

#include "core/rng.h"
#include "core/safetensors.h"
#include "models/lpd/lpd.h"
#include "models/vq/vq.h"

typedef enum { HART_CFG_LINEAR = 0, HART_CFG_CONSTANT } hart_cfg_schedule;

/* Called with each traced tensor under its golden name (lpd.step{i}.x,
 * .logits_cond, .logits_uncond, .cfg_scale, .logits_cfg, .tokens,
 * lpd.tokens_genorder, lpd.tokens, lpd.image, lpd.order, lpd.labels,
 * lpd.group_sizes, lpd.attn_mask); tensors may live on the model's backend. */
typedef hart_status (*hart_c2i_observe)(void *ctx, const char *name, const hart_tensor *t);

typedef struct {
    int B;
    const int64_t *labels;    /* [B] */
    const int64_t *orders;    /* [B*N] raster index of the k-th generated token */
    const int *group_sizes;   /* [K] */
    int K;
    double cfg;               /* 1 = no guidance (no unconditional half) */
    hart_cfg_schedule schedule;
    hart_sample_cfg sample;   /* temperature, top-k, top-p */
    uint64_t seed;
    uint32_t first_image;     /* global index of image 0 (its RNG stream) */
    const hart_safetensors *replay; /* NULL, or tokens from lpd.step{i}.tokens */
    hart_c2i_observe observe; /* may be NULL */
    void *observe_ctx;
} hart_c2i_params;

/* tokens_out [B*N] raster order (may be NULL); *image: new F32 [B,3,H,W] on
 * the VQ's backend (caller frees), or NULL to skip decoding. */
hart_status hart_c2i_generate(hart_lpd *m, hart_vq *vq, const hart_c2i_params *p, int64_t *tokens_out,
                              hart_tensor *image);
/* The guidance scale of the token with generation index k of N, in float32
 * as the reference computes it. */
float hart_c2i_cfg_scale(double cfg, hart_cfg_schedule s, int k, int N);

#endif
