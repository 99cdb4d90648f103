/* HART's residual diffusion head ("diffloss"): an MLP denoiser with AdaLN
 * residual blocks (SimpleMLPAdaLN: timestep embedding + condition embedding,
 * res blocks, AdaLN final layer predicting eps and a learned variance range)
 * and the iDDPM ancestral sampler over a respaced cosine schedule
 * (1000 base steps, `num_sampling_steps` kept), with classifier-free
 * guidance on eps inside the sampler. */
#ifndef HART_MODELS_DIFFUSION_HEAD_H
#define HART_MODELS_DIFFUSION_HEAD_H

#include "backend/backend.h"
#include "core/checkpoint.h"

typedef struct hart_diffhead hart_diffhead;

/* Source of the sampler's Gaussian draws: draw j fills out, an F32 [rows,
 * cols] tensor on the head's backend (j = 0: the initial noise, j >= 1: one
 * per denoising step), with ops (keyed randn, a copy of replayed noise), so
 * the sampler never waits for the host. */
typedef struct {
    hart_status (*normal)(void *ctx, int draw, hart_tensor *out);
    void *ctx;
} hart_noise_source;

/* Load `<prefix>net.*` from ck. target = codebook vector size (Cvae),
 * zdim = conditioning width (transformer embed_dim), width/depth of the MLP,
 * steps = the respacing string ("8", "ddim8", "5,3"). */
hart_status hart_diff_load(hart_backend *be, const hart_checkpoint *ck, const char *prefix, int target,
                           int zdim, int width, int depth, const char *steps, hart_diffhead **out);
void hart_diff_free(hart_diffhead *d);
int hart_diff_num_steps(const hart_diffhead *d);

/* Sample x0 for conditions z [n, zdim]. If cfg != 1, n is even (conditional
 * rows then unconditional rows), the initial noise has n/2 rows and is
 * shared by both halves, and eps is guided: (1+cfg)·cond − cfg·uncond.
 * out [n, target] = sample · 0.6 (the reference's vae_scale). */
hart_status hart_diff_sample(hart_diffhead *d, const hart_tensor *z, double cfg, float temperature,
                             const hart_noise_source *noise, hart_tensor *out);

/* The kept base timesteps (ascending) for a respacing spec: counts per
 * equal section ("8", "10,5", rounding half to even) or "ddimN". */
hart_status hart_diff_respace(const char *spec, int *timesteps, int max, int *n);

/* The 128 timestep-embedding frequencies (float32, as the reference has them). */
const float *hart_diff_time_freqs(void);

/* One denoiser evaluation (exposed for tests): x [n,target], t [n] timesteps
 * (original scale), c [n,zdim] -> out [n, 2·target]. */
hart_status hart_diff_net(hart_diffhead *d, const hart_tensor *x, const float *t, const hart_tensor *c,
                          hart_tensor *out);

#endif
