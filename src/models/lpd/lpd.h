/* LPD transformer (Locality-aware Parallel Decoding, github mit-han-lab/lpd,
 * models/lpd.py and models/block.py at f447b83): class-conditional, one
 * forward per generation step over [the previous group's tokens; the
 * current group's position queries], a KV cache of N+1 slots in generation
 * order whose query entries are overwritten by the real tokens next step,
 * and a block-causal mask over the groups.
 *
 * Architecture from the tensors' shapes (width, depth, vocabulary, classes,
 * grid from pos_embed, MLP width); heads = width / 64 as in every release,
 * unless a config object (the "lpd" section of config.json: decoder_num_heads
 * or num_heads) says otherwise. Other config keys, when present, are checked
 * against the shapes.
 *
 * Use per batch of B images (rows: B conditional, then B unconditional when
 * guidance is on):
 *   hart_lpd_begin(m, B, labels, orders, group_sizes, K, guided)
 *   for i in 0..K-1: hart_lpd_step(m, i, prev_tokens, x_out, logits)
 *   (prev_tokens [B, g_{i-1}]: the tokens sampled at step i-1; NULL at 0) */
#ifndef HART_MODELS_LPD_H
#define HART_MODELS_LPD_H

#include <cjson/cJSON.h>

#include "backend/backend.h"

typedef struct {
    int D, depth, H, hd, mlp; /* width, blocks, heads, head dim, MLP hidden */
    int V, n_classes;         /* vocabulary, classes */
    int N, grid;              /* tokens per image (grid x grid) */
    float eps;                /* LayerNorm eps (1e-6 everywhere) */
} hart_lpd_config;

typedef struct hart_lpd hart_lpd;

/* Load a release .pth (the `model` entry) or a safetensors copy; cfg may be NULL. */
hart_status hart_lpd_load(hart_backend *be, const char *path, const cJSON *cfg, hart_lpd **out);
void hart_lpd_free(hart_lpd *m);
const hart_lpd_config *hart_lpd_get_config(const hart_lpd *m);
hart_backend *hart_lpd_backend(const hart_lpd *m);

/* Start a batch: labels [B] (class ids), orders [B*N] (raster index of the
 * k-th generated token of image b at b*N+k, a permutation per image), group
 * sizes g[0..K-1] (sum N), guided: 1 runs the unconditional half too. */
hart_status hart_lpd_begin(hart_lpd *m, int B, const int64_t *labels, const int64_t *orders, const int *group_sizes,
                           int K, int guided);
/* Step i. prev [B*g_{i-1}] (row-major; NULL when i = 0). x_out (may be NULL):
 * F32 [R, n_i, D], the input after z_proj_ln, R = 2B guided or B. logits:
 * F32 [R, g_i, V]. Both on the model's backend (host tensors for the CPU). */
hart_status hart_lpd_step(hart_lpd *m, int i, const int64_t *prev, hart_tensor *x_out, hart_tensor *logits);
/* The block-causal mask of blocks [1, g_0, ..., g_{K-1}]: U8 [(N+1)*(N+1)], 1 = may attend. */
void hart_lpd_block_mask(const int *group_sizes, int K, uint8_t *mask);

#endif
