/* Sampling helpers (host code). */
#include "models/hart/sampler.h"

#include "core/sample_fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double hart_cfg_ramp(double cfg, int si, int S) {
    if (S < 2) return 0.0;
    if (si > S - 2) si = S - 2; /* the reference's last scale reuses the ratio of scale S-2 */
    return cfg * ((double)si / (double)(S - 1));
}

void hart_cfg_mix(float *out, const float *cond, const float *uncond, int64_t n, double t) {
    float a = (float)(1.0 + t), b = (float)t;
    for (int64_t i = 0; i < n; i++) out[i] = a * cond[i] - b * uncond[i];
}

int hart_topk_for_scale(int si, int override_k, int V) {
    int k = override_k > 0 ? override_k : (si < 7 ? 600 : 300);
    return k > V ? V : k;
}

hart_status hart_filter_top_k_top_p(float *logits, int V, int k, double p) {
    return hart_sample_filter_row(logits, V, k, p);
}

int64_t hart_sample_categorical(const float *logits, int V, double u) {
    uint64_t U = u <= 0 ? 0 : u >= 1 ? 0xffffffffu : (uint64_t)(u * 4294967296.0);
    return hart_sample_draw_row(logits, V, U);
}

void hart_gumbel_softmax(float *probs, const float *logits, int V, float scale, float tau, const double *u) {
    hart_sample_gumbel_row(probs, logits, V, scale, tau, u);
}

/* ---- random draws ----
 * Everything random goes through these two functions: the project's
 * counter-based Philox (core/rng.h), stream = (image, site, step), index =
 * element, so a draw depends only on its key, never on batch or backend. */
#include "core/rng.h"

double hart_gen_uniform(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index) {
    return hart_rng_uniform_at(seed, hart_rng_stream(image, site & 0xffff, step & 0xffff), index);
}

float hart_gen_normal(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index) {
    return hart_rng_normal_at(seed, hart_rng_stream(image, site & 0xffff, step & 0xffff), index);
}
