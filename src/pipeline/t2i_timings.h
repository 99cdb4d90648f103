/* Per-stage wall times of one hart_t2i_generate call (and of the text
 * encoder, for callers that encode prompts). Filled only when the caller
 * passes a hart_t2i_timings in hart_t2i_opts: the pipeline then waits for
 * the backend (its sync) before every clock reading, so on a device backend
 * each figure ends when the device work of that stage has finished, not
 * when the host has enqueued it. Without timings the pipeline never syncs. */
#ifndef HART_PIPELINE_T2I_TIMINGS_H
#define HART_PIPELINE_T2I_TIMINGS_H

#include <stdio.h>

#include "backend/backend.h"
#include "models/hart/autoencoder.h"

typedef struct {
    int images;                            /* images of the batch (B) */
    int n_scales;
    int patch_nums[HART_MAX_SCALES];
    double text_s;                         /* text encoder: set by the caller that encoded the prompts
                                              (hart_t2i_render_prompts); hart_t2i_generate keeps it */
    double begin_s;                        /* context embedding, AdaLN conditions, first input */
    double transformer_s[HART_MAX_SCALES]; /* blocks + head of each scale (guidance batch 2B) */
    double sample_s[HART_MAX_SCALES];      /* logits to host, guidance mix, top-k/top-p, draw, codes */
    double next_s[HART_MAX_SCALES];        /* tokenizer next-scale step + embedding (0 at the last scale) */
    double diffusion_s;                    /* diffusion condition, residual diffusion head, f_hat update */
    double decode_s;                       /* tokenizer decode to pixels, image on the host */
    double total_s;                        /* hart_t2i_generate from start to the host image (text excluded) */
} hart_t2i_timings;

/* Monotonic clock, seconds. */
double hart_clock(void);
/* Wait for the backend's queued work (its sync; nothing on the CPU). */
hart_status hart_backend_wait(hart_backend *be);

/* Sums over the scales. */
double hart_t2i_timings_transformer(const hart_t2i_timings *t);
double hart_t2i_timings_sampling(const hart_t2i_timings *t);
double hart_t2i_timings_next(const hart_t2i_timings *t);

/* The table `hart generate --timings` prints: text encoding, each scale
 * (transformer, sampling, next-scale step), diffusion head, decode, total. */
void hart_t2i_timings_print(FILE *f, const hart_t2i_timings *t);

#endif
