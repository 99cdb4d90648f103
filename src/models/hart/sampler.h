/* Token sampling for HART's scale loop: classifier-free guidance on logits,
 * top-k / top-p filtering, categorical draw, the "more smooth" Gumbel-softmax
 * path, and the random draws keyed by (seed, image index, draw site). */
#ifndef HART_MODELS_SAMPLER_H
#define HART_MODELS_SAMPLER_H

#include <stdint.h>

#include "core/status.h"

/* Guidance strength at scale si of S: cfg · si / (S − 1); the last scale
 * (and the diffusion head) use the value of scale S − 2, as the reference
 * does (its ratio variable is not updated for the final stage). */
double hart_cfg_ramp(double cfg, int si, int S);
/* out[i] = (1+t)·cond[i] − t·uncond[i] (float32 arithmetic as the reference) */
void hart_cfg_mix(float *out, const float *cond, const float *uncond, int64_t n, double t);
/* The reference's top-k: 600 for scale index < 7, 300 after; `override_k`
 * > 0 replaces it. Clamped to V. */
int hart_topk_for_scale(int si, int override_k, int V);
/* In place over one row of V logits: entries below the k-th largest become
 * -inf (k <= 0: off); then, if 0 < p < 1, the smallest entries whose
 * ascending cumulative probability is <= 1 − p become -inf (the largest is
 * always kept). Probabilities are the integer weights of core/sample_fixed.h,
 * so every backend's topk_topp op keeps exactly the same set. */
hart_status hart_filter_top_k_top_p(float *logits, int V, int k, double p);
/* Index drawn from softmax(logits) by inverse CDF with u in [0,1) (integer
 * weights and sums of core/sample_fixed.h, u taken to 32 bits; the
 * multinomial op draws the same token from the same uniform). */
int64_t hart_sample_categorical(const float *logits, int V, double u);
/* probs = softmax((logits·scale + g) / tau), g = −log(E), E = −log(1−u) ~ Exp(1)
 * from the uniforms u[V] ("more smooth" path; -inf logits get 0). */
void hart_gumbel_softmax(float *probs, const float *logits, int V, float scale, float tau, const double *u);

/* Counter-based random draws: a pure function of (seed, image, site, step,
 * index), so image `image` is identical whatever batch it is rendered in.
 * Sites: tokens of scale `step`, Gumbel noise of scale `step`, diffusion
 * sampler draw `step`; index = element within the draw. */
enum { HART_SITE_TOKENS = 1, HART_SITE_DIFF = 2, HART_SITE_SMOOTH = 17 };
double hart_gen_uniform(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index);
float hart_gen_normal(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index);

#endif
