/* Layout of the LPD transformer (lpd_load.c, lpd_step.c). */
#ifndef HART_MODELS_LPD_INTERNAL_H
#define HART_MODELS_LPD_INTERNAL_H

#include "models/lpd/lpd.h"

#define LPD_MAX_STEPS 4096

typedef struct {
    hart_tensor n1w, n1b, wq, wk, wv, bq, bk, bv, projw, projb, n2w, n2b, fc1w, fc1b, fc2w, fc2b;
    hart_tensor kc, vc; /* [R, H, N+1, hd] */
} lpd_block;

struct hart_lpd {
    hart_backend *be;
    hart_lpd_config cfg;
    lpd_block *blocks;
    hart_tensor lnzw, lnzb, normw, normb, headw;
    /* host copies of the embeddings the step inputs are built from */
    float *class_emb, *token_emb, *fake_latent, *mask_token, *pos_embed;
    /* batch state */
    int B, R, K, guided;
    int64_t *labels, *orders;
    int *g, *cs; /* group sizes; cs[0..K+1] = 0, 1, 1+g0, ... */
};

#endif
