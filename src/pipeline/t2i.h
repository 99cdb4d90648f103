/* Text-to-image generation pipeline (HART): context -> scale loop
 * (transformer, guidance, sampling, tokenizer next-scale input) -> last
 * scale discrete tokens + diffusion residual -> tokenizer decode -> image.
 * The text encoder is not part of this file: callers pass the context
 * tensor it produced (or one read from a file), so every text path plugs
 * in through hart_t2i_generate. */
#ifndef HART_PIPELINE_T2I_H
#define HART_PIPELINE_T2I_H

#include <stdint.h>

#include "backend/backend.h"
#include "core/safetensors.h"
#include "models/hart/autoencoder.h"
#include "models/hart/sparse_attn.h"
#include "pipeline/t2i_timings.h"

typedef struct hart_t2i hart_t2i;

typedef struct {
    double cfg;              /* guidance scale (reference default 4.5) */
    int top_k;               /* 0: the reference schedule (600 for scale < 7, 300 after) */
    double top_p;            /* 0: off */
    int more_smooth;         /* Gumbel-softmax codes instead of hard codebook lookup */
    float temperature;       /* diffusion sampler temperature (reference: 1.0) */
    uint64_t seed;
    uint32_t image_index;    /* global index of the batch's first image (RNG key) */
    const uint64_t *seeds;   /* NULL: image b is keyed (seed, image_index + b); else one seed per image,
                                image b keyed (seeds[b], image_index), so each image of the batch is
                                the one rendered alone with its seed */
    const hart_safetensors *replay; /* inject gen.si{k}.idx and gen.diff.noise.j */
    hart_st_writer *dump;    /* record intermediates under the golden names */
    int verbose;             /* per-scale progress on stderr */
    hart_t2i_timings *timings; /* non-NULL: wait for the device at every stage boundary and record the times */
    int skip_decode;         /* stop before the tokenizer decode: image = final f_hat [B,Z,P,P] (benchmarks) */
    /* Unconditional half of guidance: NULL = the null context (zeros, mask 1 at
     * position 0); else context F32 [B,T,D], mask [B,T], position ids I64 [B,T]
     * (hart_t2i_render_prompts fills these from negative_prompt). */
    const hart_tensor *uncond_context, *uncond_mask, *uncond_pos;
    const char *negative_prompt; /* hart_t2i_render_prompts: NULL or "" = the null context */
    /* Sparse attention (models/hart/sparse_attn.h); NULL = dense. With verbose,
     * the density used is printed per scale; sparse_density (non-NULL,
     * n_scales entries) receives it (-1: the scale ran dense). */
    const hart_sparse_cfg *sparse;
    double *sparse_density;
    /* Called after each scale (done = 1..total) and after the decode
     * (done = total = scales + 1); NULL: none. */
    void (*progress)(void *arg, int done, int total);
    void *progress_arg;
} hart_t2i_opts;

void hart_t2i_default_opts(hart_t2i_opts *o);

/* Load `<model_dir>/llm` and the tokenizer (config vae_path, default
 * `<model_dir>/tokenizer`). */
hart_status hart_t2i_load(hart_backend *be, const char *model_dir, hart_t2i **out);
void hart_t2i_free(hart_t2i *p);

/* Context shape the transformer expects: tokens and width. */
void hart_t2i_context_shape(const hart_t2i *p, int *tokens, int *dim);
/* Image size produced (pixels per side). */
int hart_t2i_image_size(const hart_t2i *p);
/* Denoising steps of the diffusion head; the tokenizer (benchmarks count its FLOPs). */
int hart_t2i_diffusion_steps(const hart_t2i *p);
const hart_vae *hart_t2i_tokenizer(const hart_t2i *p);

/* context F32 [B,T,D], mask [B,T] (U8/I64/F32, 1 = real token), pos I64
 * [B,T] or NULL (derived from the mask). image: output, allocated here as a
 * host F32 tensor [B,3,H,W] in [0,1]. */
hart_status hart_t2i_generate(hart_t2i *p, const hart_tensor *context, const hart_tensor *mask,
                              const hart_tensor *pos, const hart_t2i_opts *opts, hart_tensor *image);

#endif
