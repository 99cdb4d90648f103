/* Test/bench helper: a HART release folder (<dir>/llm + <dir>/tokenizer)
 * with random weights for any llm config.json (llama attention and MLP or
 * gpt2 MLP; per-block AdaLN, disable_aln, disable_aln + shared_aln), the
 * tensors named and shaped as the reference's modules. */
#ifndef HART_TEST_HART_RANDOM_H
#define HART_TEST_HART_RANDOM_H

#include <cjson/cJSON.h>

#include "models/hart/autoencoder.h"

typedef struct {
    int C, depth, H, T, Dc, DW, DD, llama_mlp, Hd, use_ctx_norm;
    int disable_aln, shared_aln;
    int S, pn[HART_MAX_SCALES];
    int full_depth; /* the config's depth; `depth` blocks are written */
} hart_random_llm;

/* Sizes from an llm config (depth = full_depth; patch_nums when present). 0 on success. */
int hart_random_llm_from_config(const cJSON *cfg, hart_random_llm *z);

/* llm/model.safetensors weights for z (V: vocab, Z: codebook width). 0 on success. */
int hart_random_llm_write(const char *path, const hart_random_llm *z, int V, int Z, unsigned seed);

/* The whole folder: llm/config.json (cfg with depth and patch_nums set from
 * z), llm/model.safetensors, and a tokenizer (HART autoencoder, channels
 * tok_ch, ch_mult 1,1,2,2,4, vocab V, z Z, scales z->pn). Written by a child
 * process, so its buffers never count in the caller's peak RSS. 0 on success. */
int hart_random_model_write(const char *dir, cJSON *cfg, const hart_random_llm *z, int V, int Z, int tok_ch);
/* Remove what hart_random_model_write wrote. */
void hart_random_model_remove(const char *dir);

#endif
